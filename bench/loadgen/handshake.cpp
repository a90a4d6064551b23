// The handshake scenario: how many new connections a broker opens (and closes)
// per second, and its CPU time for each: over TLS, mostly the handshake.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/histogram.hpp"
#include "bench/loadgen/net.hpp"
#include "bench/loadgen/packets.hpp"
#include "bench/loadgen/proc_stats.hpp"
#include "bench/loadgen/scenarios.hpp"

namespace fieldgate::bench {

namespace {

using namespace std::chrono_literals;

std::int64_t to_ns(double seconds) { return static_cast<std::int64_t>(seconds * 1e9); }

// One connector: opens a connection, says DISCONNECT, waits for the broker to
// close it, and starts again.
struct Slot {
    std::unique_ptr<Opening> opening;
    bool closing = false;  // DISCONNECT sent
    std::int64_t started_ns = 0;
};

class HandshakeRun {
public:
    explicit HandshakeRun(const HandshakeOptions& o)
        : o_(o), disconnect_(disconnect_packet(o.version)), tag_(std::to_string(getpid())) {}

    int run();

private:
    void start(std::size_t i);
    void on_event(std::size_t i, std::uint32_t events);
    void failed(std::size_t i, const std::string& why, bool again = true);
    bool measuring(std::int64_t now) const { return now >= window_begin_ns_ && now < window_end_ns_; }

    HandshakeOptions o_;
    std::vector<std::uint8_t> disconnect_;
    std::string tag_;
    Poller poller_;
    std::vector<Slot> slots_;
    std::uint64_t attempts_ = 0;
    std::int64_t window_begin_ns_ = 0;
    std::int64_t window_end_ns_ = 0;

    std::uint64_t opened_ = 0;  // CONNACKs in the window
    std::uint64_t failed_ = 0;  // in the window
    std::uint64_t opened_total_ = 0;
    std::uint64_t failed_total_ = 0;
    std::uint64_t resumed_ = 0;
    std::string first_error_;
    std::string tls_;  // what the first connection negotiated
    LatencyHistogram latency_;
};

void HandshakeRun::start(std::size_t i) {
    Slot& s = slots_[i];
    s.closing = false;
    s.started_ns = now_ns();
    s.opening = std::make_unique<Opening>(
        o_.endpoint, connect_packet(o_.version, "fgbench-" + tag_ + "-hs-" + std::to_string(attempts_++), 60),
        o_.version, o_.tls);
    if (s.opening->state() == Opening::State::failed) return failed(i, s.opening->error(), false);
    poller_.add(s.opening->fd(), i, s.opening->events());
}

// Counts the failure and, when `again`, starts the slot again. A connector
// that could not even start a connect (no ports, no descriptors) stops.
void HandshakeRun::failed(std::size_t i, const std::string& why, bool again) {
    Slot& s = slots_[i];
    if (first_error_.empty()) first_error_ = why;
    ++failed_total_;
    if (measuring(now_ns())) ++failed_;
    if (s.opening && s.opening->fd() >= 0) poller_.remove(s.opening->fd());
    s.opening.reset();
    if (again) start(i);
}

void HandshakeRun::on_event(std::size_t i, std::uint32_t events) {
    Slot& s = slots_[i];
    if (!s.opening) return;
    Opening& op = *s.opening;
    if (s.closing) {
        // Whatever comes now is read and dropped until the broker closes.
        Connection& c = *op.connection();
        if (c.read(4096) != Connection::ReadResult::closed) {
            for (mqtt::DecodeResult r = c.next(); r.status == mqtt::DecodeStatus::packet; r = c.next()) {
            }
            return;
        }
        poller_.remove(op.fd());
        s.opening.reset();
        return start(i);
    }
    const int fd = op.fd();
    op.on_event(events);
    if (op.state() == Opening::State::failed) return failed(i, op.error());  // its socket left the poller on closing
    if (op.state() != Opening::State::open) {
        poller_.modify(fd, i, op.events());
        return;
    }
    const std::int64_t now = now_ns();
    Connection& c = *op.connection();
    ++opened_total_;
    if (tls_.empty()) tls_ = c.tls_summary();
    if (c.tls_resumed()) ++resumed_;
    if (measuring(now)) {
        ++opened_;
        latency_.record(now - s.started_ns);
    }
    c.output().assign(disconnect_.begin(), disconnect_.end());
    if (!c.flush()) return failed(i, "cannot send DISCONNECT");
    s.closing = true;
    poller_.modify(fd, i, EPOLLIN);
}

int HandshakeRun::run() {
    if (raise_open_file_limit() < o_.concurrency + 16) {
        std::fprintf(stderr, "fg_loadgen: handshake: too few open files for %zu connections\n", o_.concurrency);
        return 1;
    }
    const std::int64_t begin = now_ns();
    window_begin_ns_ = begin + to_ns(o_.warmup);
    window_end_ns_ = window_begin_ns_ + to_ns(o_.duration);
    slots_.resize(o_.concurrency);
    for (std::size_t i = 0; i < slots_.size(); ++i) start(i);

    WindowSample sample_begin;
    WindowSample sample_end;
    bool sampled_begin = false;
    std::uint64_t sessions_begin = 0;
    std::uint64_t sessions_end = 0;
    const std::int64_t timeout = to_ns(o_.timeout);
    // Bounded by window_end_ns_: every wait is at most 10 ms.
    for (std::int64_t now = now_ns(); now < window_end_ns_; now = now_ns()) {
        if (!sampled_begin && now >= window_begin_ns_) {
            sampled_begin = true;
            sample_begin = sample_window(o_.broker_pid);
            sessions_begin = o_.tls != nullptr ? o_.tls->sessions_offered() : 0;
        }
        std::size_t active = 0;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (!slots_[i].opening) continue;
            ++active;
            if (now - slots_[i].started_ns > timeout) failed(i, "no CONNACK and close within the timeout");
        }
        if (active == 0) break;  // every connector failed to start a connect
        for (const auto& ev : poller_.wait(10ms)) on_event(static_cast<std::size_t>(ev.data.u64), ev.events);
    }
    sample_end = sample_window(o_.broker_pid);
    sessions_end = o_.tls != nullptr ? o_.tls->sessions_offered() : 0;
    const double seconds = static_cast<double>(now_ns() - window_begin_ns_) / 1e9;
    if (!sampled_begin || opened_ == 0) {
        std::fprintf(stderr, "fg_loadgen: handshake: no connection opened in the window%s%s\n",
                     first_error_.empty() ? "" : ": ", first_error_.c_str());
        return 1;
    }
    if (!first_error_.empty()) {
        std::fprintf(stderr, "fg_loadgen: handshake: %" PRIu64 " connections failed, the first: %s\n", failed_total_,
                     first_error_.c_str());
    }

    const WindowUsage usage = usage_between(sample_begin, sample_end);
    const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e3; };
    const auto pct = [seconds](double s) { return s >= 0 ? 100 * s / seconds : -1; };
    std::printf(
        "scenario=handshake tls=%s concurrency=%zu seconds=%.3f handshakes=%" PRIu64
        " handshakes_per_s=%.0f failed=%" PRIu64 " resumed=%" PRIu64
        " sessions_per_handshake=%.2f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f broker_cpu_s=%.3f"
        " broker_cpu_pct=%.1f cpu_us_per_handshake=%.1f broker_rss_kib=%" PRIu64
        " gen_cpu_pct=%.1f others_cpu_pct=%.1f steal_pct=%.1f\n",
        tls_.c_str(), o_.concurrency, seconds, opened_, static_cast<double>(opened_) / seconds, failed_, resumed_,
        static_cast<double>(sessions_end - sessions_begin) / static_cast<double>(opened_),
        us(latency_.percentile(0.50)),
        us(latency_.percentile(0.90)), us(latency_.percentile(0.99)), us(latency_.max()), usage.broker_cpu_seconds,
        pct(usage.broker_cpu_seconds),
        usage.broker_cpu_seconds >= 0 ? usage.broker_cpu_seconds * 1e6 / static_cast<double>(opened_) : -1.0,
        usage.broker_rss_kib, pct(usage.own_cpu_seconds), pct(usage.others_cpu_seconds), pct(usage.steal_seconds));
    return 0;
}

}  // namespace

int run_handshake(const HandshakeOptions& options) {
    HandshakeRun run(options);
    return run.run();
}

}  // namespace fieldgate::bench
