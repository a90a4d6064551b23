#include "support/paho_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/gateway.hpp"

namespace fieldgate::test {
namespace {

using Clock = std::chrono::steady_clock;

Millis remaining(Clock::time_point deadline) {
    return std::max(std::chrono::duration_cast<Millis>(deadline - Clock::now()), Millis{0});
}

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string driver_script() { return source_dir() + "/tests/integration/peers/paho_client.py"; }

std::string kind_of(const json::object& event) {
    const auto* k = event.if_contains("event");
    return k != nullptr && k->is_string() ? std::string(k->as_string()) : std::string();
}

}  // namespace

std::string_view paho_version(mqtt::ProtocolVersion version) {
    switch (version) {
        case mqtt::ProtocolVersion::v3_1: return "3.1";
        case mqtt::ProtocolVersion::v3_1_1: return "3.1.1";
        case mqtt::ProtocolVersion::v5: return "5";
    }
    return "3.1.1";
}

PahoClient::PahoClient(std::string name) : name_(std::move(name)) {
    std::signal(SIGPIPE, SIG_IGN);
    std::array<int, 2> in{-1, -1};
    std::array<int, 2> out{-1, -1};
    std::array<int, 2> err{-1, -1};
    if (::pipe2(in.data(), O_CLOEXEC) != 0 || ::pipe2(out.data(), O_CLOEXEC) != 0 ||
        ::pipe2(err.data(), O_CLOEXEC) != 0) {
        fail_errno("pipe2");
    }
    std::string python = "/usr/bin/python3";
    std::string script = driver_script();
    std::array<char*, 3> argv{python.data(), script.data(), nullptr};
    pid_ = ::fork();
    if (pid_ < 0) fail_errno("fork");
    if (pid_ == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        std::signal(SIGPIPE, SIG_DFL);
        if (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) _exit(127);
        ::execv(argv[0], argv.data());
        _exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_fd_ = in[1];
    out_fd_ = out[0];
    err_fd_ = err[0];
    ::fcntl(out_fd_, F_SETFL, ::fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, ::fcntl(err_fd_, F_GETFL) | O_NONBLOCK);
}

PahoClient::~PahoClient() {
    if (in_fd_ >= 0) {
        const std::string bye = "{\"cmd\":\"exit\"}\n";
        [[maybe_unused]] auto ignored = ::write(in_fd_, bye.data(), bye.size());
        close_fd(in_fd_);
    }
    const auto deadline = Clock::now() + Millis{1000};
    int raw = 0;
    bool reaped = false;
    while (!reaped && Clock::now() < deadline) {
        if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
            reaped = true;
        } else {
            std::this_thread::sleep_for(Millis{5});
        }
    }
    if (!reaped) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
        }
    }
    close_fd(out_fd_);
    close_fd(err_fd_);
}

void PahoClient::send(const json::object& command) {
    const std::string line = json::serialize(command) + "\n";
    std::size_t written = 0;
    while (written < line.size()) {
        const ssize_t n = ::write(in_fd_, line.data() + written, line.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(name_ + ": the driver does not take commands (" + driver_stderr() + ")");
        written += static_cast<std::size_t>(n);
    }
}

bool PahoClient::pump(Millis timeout) {
    std::array<pollfd, 2> fds{{{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}}};
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR) fail_errno("poll");
    std::array<char, 8192> buffer{};
    if (err_fd_ >= 0 && fds[1].revents != 0) {
        const ssize_t n = ::read(err_fd_, buffer.data(), buffer.size());
        if (n > 0) err_.append(buffer.data(), static_cast<std::size_t>(n));
        if (n == 0) close_fd(err_fd_);
    }
    if (out_fd_ >= 0 && fds[0].revents != 0) {
        const ssize_t n = ::read(out_fd_, buffer.data(), buffer.size());
        if (n > 0) out_buffer_.append(buffer.data(), static_cast<std::size_t>(n));
        if (n == 0) close_fd(out_fd_);
    }
    for (std::size_t eol = out_buffer_.find('\n'); eol != std::string::npos; eol = out_buffer_.find('\n')) {
        const std::string line = out_buffer_.substr(0, eol);
        out_buffer_.erase(0, eol + 1);
        if (line.empty()) continue;
        seen_.push_back(line);
        boost::system::error_code ec;
        json::value value = json::parse(line, ec);
        if (ec || !value.is_object()) throw std::runtime_error(name_ + ": driver wrote a line that is not JSON: " + line);
        if (kind_of(value.as_object()) == "error") {
            throw std::runtime_error(name_ + ": driver error: " + line);
        }
        events_.push_back(std::move(value.as_object()));
    }
    return out_fd_ >= 0;
}

std::string PahoClient::describe_pending() const {
    std::string text;
    const std::size_t first = seen_.size() > 12 ? seen_.size() - 12 : 0;
    for (std::size_t i = first; i < seen_.size(); ++i) text += "\n  " + seen_[i];
    return text.empty() ? " (none)" : text;
}

std::string PahoClient::driver_stderr() {
    if (err_fd_ >= 0) {
        std::array<char, 8192> buffer{};
        ssize_t n = 0;
        while ((n = ::read(err_fd_, buffer.data(), buffer.size())) > 0) err_.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return err_;
}

std::optional<json::object> PahoClient::next(std::string_view kind, Millis timeout) {
    return next_matching(kind, {}, timeout);
}

std::optional<json::object> PahoClient::next_matching(std::string_view kind, std::string_view command, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    const auto matches = [&](const json::object& e) {
        if (kind_of(e) != kind) return false;
        if (command.empty()) return true;
        const auto* c = e.if_contains("cmd");
        return c != nullptr && c->is_string() && c->as_string() == command;
    };
    while (true) {
        const auto it = std::find_if(events_.begin(), events_.end(), matches);
        if (it != events_.end()) {
            json::object event = std::move(*it);
            events_.erase(it);
            return event;
        }
        const Millis left = remaining(deadline);
        if (left.count() == 0) return std::nullopt;
        if (!pump(std::min(left, Millis{100})) && out_fd_ < 0) {
            // The driver is gone: nothing more can arrive.
            if (std::none_of(events_.begin(), events_.end(), matches)) {
                return std::nullopt;
            }
        }
    }
}

json::object PahoClient::expect(std::string_view kind, Millis timeout) {
    if (auto event = next(kind, timeout)) return std::move(*event);
    throw_timeout(kind, timeout);
}

json::object PahoClient::expect_sent(std::string_view command) {
    if (auto event = next_matching("sent", command, Millis{5000})) return std::move(*event);
    throw_timeout("sent " + std::string(command), Millis{5000});
}

void PahoClient::throw_timeout(std::string_view kind, Millis timeout) {
    throw std::runtime_error(name_ + ": no \"" + std::string(kind) + "\" event within " +
                             std::to_string(timeout.count()) + " ms; driver events so far:" + describe_pending() +
                             (driver_stderr().empty() ? std::string() : "\n  driver stderr: " + err_));
}

std::size_t PahoClient::count_within(std::string_view kind, Millis window) {
    const auto deadline = Clock::now() + window;
    std::size_t count = 0;
    while (next(kind, remaining(deadline))) ++count;
    return count;
}

json::object PahoClient::connect(std::uint16_t port, const ConnectOptions& options, Millis timeout) {
    json::object command{{"cmd", "connect"},
                         {"host", options.host},
                         {"port", port},
                         {"version", paho_version(options.version)},
                         {"client_id", options.client_id},
                         {"clean", options.clean},
                         {"keepalive", options.keepalive}};
    if (!options.properties.empty()) command["properties"] = options.properties;
    if (options.username) command["username"] = *options.username;
    if (options.password) command["password"] = *options.password;
    if (options.tls) {
        json::object tls{{"ca_file", options.tls->ca_file}};
        if (!options.tls->cert_file.empty()) tls["cert_file"] = options.tls->cert_file;
        if (!options.tls->key_file.empty()) tls["key_file"] = options.tls->key_file;
        command["tls"] = std::move(tls);
    }
    if (options.transport != "tcp") {
        command["transport"] = options.transport;
        command["ws_path"] = options.ws_path;
    }
    if (options.will) {
        json::object will{{"topic", options.will->topic},
                          {"payload", options.will->payload},
                          {"qos", options.will->qos},
                          {"retain", options.will->retain}};
        if (!options.will->properties.empty()) will["properties"] = options.will->properties;
        command["will"] = std::move(will);
    }
    send(command);
    expect_sent("connect");
    return expect("connack", timeout);
}

json::object PahoClient::connect_ok(std::uint16_t port, const ConnectOptions& options) {
    json::object connack = connect(port, options);
    if (connack.at("reason_code").to_number<int>() != 0) {
        throw std::runtime_error(name_ + ": CONNECT refused: " + json::serialize(connack));
    }
    return connack;
}

std::vector<int> PahoClient::subscribe(const std::string& filter, int qos, json::object options,
                                       std::optional<std::uint32_t> subscription_id) {
    options["topic"] = filter;
    options["qos"] = qos;
    json::object command{{"cmd", "subscribe"}, {"topics", json::array{options}}};
    if (subscription_id) command["subscription_identifier"] = *subscription_id;
    send(command);
    const auto sent = expect_sent("subscribe");
    const auto suback = expect("suback");
    if (suback.at("mid") != sent.at("mid")) {
        throw std::runtime_error(name_ + ": SUBACK for another message id: " + json::serialize(suback));
    }
    std::vector<int> codes;
    for (const auto& c : suback.at("reason_codes").as_array()) codes.push_back(c.to_number<int>());
    return codes;
}

std::vector<int> PahoClient::unsubscribe(const std::string& filter) {
    send({{"cmd", "unsubscribe"}, {"topics", json::array{json::value(filter)}}});
    expect_sent("unsubscribe");
    const auto unsuback = expect("unsuback");
    std::vector<int> codes;
    for (const auto& c : unsuback.at("reason_codes").as_array()) codes.push_back(c.to_number<int>());
    return codes;
}

int PahoClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain,
                        json::object properties, bool wait) {
    json::object command{{"cmd", "publish"}, {"topic", topic}, {"payload", payload}, {"qos", qos}, {"retain", retain}};
    if (!properties.empty()) command["properties"] = std::move(properties);
    send(command);
    const auto sent = expect_sent("publish");
    if (sent.at("rc").to_number<int>() != 0) {
        throw std::runtime_error(name_ + ": publish not sent: " + json::serialize(sent));
    }
    const int mid = sent.at("mid").to_number<int>();
    if (wait) {
        // Completions arrive in acknowledgement order; look for this one.
        const auto deadline = Clock::now() + Millis{5000};
        while (true) {
            const auto done = next("published", remaining(deadline));
            if (!done) throw std::runtime_error(name_ + ": publish " + std::to_string(mid) + " not completed:" + describe_pending());
            if (done->at("mid").to_number<int>() != mid) continue;
            if (done->at("reason_code").to_number<int>() >= 0x80) {
                throw std::runtime_error(name_ + ": publish refused: " + json::serialize(*done));
            }
            break;
        }
    }
    return mid;
}

void PahoClient::wait_published(Millis timeout) {
    send({{"cmd", "wait_published"}, {"timeout", static_cast<double>(timeout.count()) / 1000.0}});
    const auto done = expect("all_published", timeout + Millis{2000});
    if (done.at("outstanding").to_number<int>() != 0) {
        throw std::runtime_error(name_ + ": publishes still unacknowledged: " + json::serialize(done));
    }
}

void PahoClient::disconnect(std::optional<int> reason_code) {
    json::object command{{"cmd", "disconnect"}};
    if (reason_code) command["reason_code"] = *reason_code;
    send(command);
    expect_sent("disconnect");
}

void PahoClient::drop() {
    send({{"cmd", "drop"}});
    expect("dropped");
}

Message to_message(const json::object& event) {
    Message m;
    const auto& topic = event.at("topic");
    m.topic = topic.is_string() ? std::string(topic.as_string()) : std::string();
    m.payload = std::string(event.at("payload").as_string());
    m.qos = event.at("qos").to_number<int>();
    m.retain = event.at("retain").as_bool();
    m.dup = event.at("dup").as_bool();
    if (const auto* p = event.if_contains("properties"); p != nullptr && p->is_object()) m.properties = p->as_object();
    return m;
}

std::string to_string(const Message& m) {
    return m.topic + " '" + m.payload + "' qos " + std::to_string(m.qos) + (m.retain ? " retain" : "") +
           (m.dup ? " dup" : "") + (m.properties.empty() ? "" : " " + json::serialize(m.properties));
}

std::vector<Message> PahoClient::messages(std::size_t count, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    std::vector<Message> out;
    while (out.size() < count) {
        const auto event = next("message", remaining(deadline));
        if (!event) {
            std::string got;
            for (const auto& m : out) got += "\n  " + to_string(m);
            throw std::runtime_error(name_ + ": " + std::to_string(out.size()) + " of " + std::to_string(count) +
                                     " messages within " + std::to_string(timeout.count()) + " ms:" +
                                     (got.empty() ? " (none)" : got) + "; driver events so far:" +
                                     describe_pending() +
                                     (driver_stderr().empty() ? std::string() : "\n  driver stderr: " + err_));
        }
        out.push_back(to_message(*event));
    }
    return out;
}

Message PahoClient::message(Millis timeout) { return messages(1, timeout).front(); }

}  // namespace fieldgate::test
