#include "gateway/log/log.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "gateway/log/repeat_filter.hpp"

namespace fieldgate::log {
namespace {

// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected to
// stderr; it only counts when stderr still is that stream.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    struct stat st {};
    if (fstat(fileno(stderr), &st) != 0) return false;
    unsigned long long device = 0;
    unsigned long long inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    return device == st.st_dev && inode == st.st_ino;
}

// sd-daemon(3) priorities: <7> debug ... <2> critical.
int syslog_priority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
        case spdlog::level::debug: return 7;
        case spdlog::level::info: return 6;
        case spdlog::level::warn: return 4;
        case spdlog::level::err: return 3;
        case spdlog::level::critical: return 2;
        default: return 6;
    }
}

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit StderrSink(bool journal)
        : journal_(journal),
          formatter_(journal ? "[%n] %v" : "%Y-%m-%d %H:%M:%S.%e %-5l [%n] %v", spdlog::pattern_time_type::local, "") {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const auto now = RepeatFilter::Clock::now();
        for (const auto& summary : repeats_.expire(now)) write_summary(msg, summary);
        if (msg.level >= spdlog::level::warn && !repeats_.admit(key_of(msg), now)) return;
        write(msg);
    }
    void flush_() override { std::fflush(stderr); }
    void set_pattern_(const std::string&) override {}
    void set_formatter_(std::unique_ptr<spdlog::formatter>) override {}

private:
    static std::string key_of(const spdlog::details::log_msg& msg) {
        std::string key(msg.logger_name.data(), msg.logger_name.size());
        key += '\x1f';
        key.append(msg.payload.data(), msg.payload.size());
        return key;
    }

    // "... (repeated 59 more times in the last 60s)", in the name and level of the message.
    void write_summary(const spdlog::details::log_msg& current, const RepeatFilter::Summary& summary) {
        const auto split = summary.key.find('\x1f');
        const std::string name = summary.key.substr(0, split);
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(repeats_.window()).count();
        const std::string text = summary.key.substr(split + 1) + " (repeated " + std::to_string(summary.repeats) +
                                 " more times in the last " + std::to_string(seconds) + "s)";
        spdlog::details::log_msg msg{current.time, {}, name, spdlog::level::warn, text};
        write(msg);
    }

    void write(const spdlog::details::log_msg& msg) {
        spdlog::memory_buf_t line;
        if (journal_) {
            const std::string prefix = "<" + std::to_string(syslog_priority(msg.level)) + ">";
            line.append(prefix.data(), prefix.data() + prefix.size());
        }
        formatter_.format(msg, line);
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }

    bool journal_;
    spdlog::pattern_formatter formatter_;
    RepeatFilter repeats_;
};

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::trace: return spdlog::level::trace;
        case config::LogLevel::debug: return spdlog::level::debug;
        case config::LogLevel::info: return spdlog::level::info;
        case config::LogLevel::warn: return spdlog::level::warn;
        case config::LogLevel::error: return spdlog::level::err;
        case config::LogLevel::critical: return spdlog::level::critical;
        case config::LogLevel::off: return spdlog::level::off;
    }
    return spdlog::level::info;
}

// The shared sink; the registry's mutex guards creation of loggers.
std::shared_ptr<StderrSink>& shared_sink() {
    static std::shared_ptr<StderrSink> sink = std::make_shared<StderrSink>(stderr_is_journal());
    return sink;
}

}  // namespace

void init(config::LogLevel level) {
    shared_sink();
    set_level(level);
}

void set_level(config::LogLevel level) { spdlog::set_level(to_spdlog(level)); }

std::shared_ptr<spdlog::logger> get(std::string_view component) {
    static std::mutex creation;
    const std::lock_guard lock{creation};
    const std::string name{component};
    if (auto existing = spdlog::get(name)) return existing;
    auto logger = std::make_shared<spdlog::logger>(name, shared_sink());
    spdlog::initialize_logger(logger);  // registers it, with the global level
    return logger;
}

}  // namespace fieldgate::log
