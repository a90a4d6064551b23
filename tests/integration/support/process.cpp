#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fieldgate::test {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

Millis remaining(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    return std::max(left, Millis{0});
}

int poll_timeout(Millis timeout) {
    return static_cast<int>(std::min<Millis::rep>(timeout.count(), 60'000));
}

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) fail("fcntl");
}

// Reads what the pipe has now into `out`; closes `fd` at end of file.
void drain(int& fd, std::string& out) {
    std::array<char, 4096> buffer{};
    while (fd >= 0) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n > 0) {
            out.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n == 0) {
            close_fd(fd);
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK) close_fd(fd);
            return;
        }
    }
}

ExitStatus decode(int raw) {
    if (WIFEXITED(raw)) return {true, WEXITSTATUS(raw), 0};
    if (WIFSIGNALED(raw)) return {false, -1, WTERMSIG(raw)};
    return {};
}

struct Spawned {
    pid_t pid = -1;
    int in_fd = -1;  // write end of the child's stdin, or -1 when it reads /dev/null
    int out_fd = -1;
    int err_fd = -1;
};

std::vector<std::string> child_environment(const ProcessOptions& options, const std::string& journal_stream) {
    std::vector<std::pair<std::string, std::optional<std::string>>> changes;
    changes.emplace_back("JOURNAL_STREAM", std::nullopt);
    for (const auto& change : options.env) changes.push_back(change);
    if (!journal_stream.empty()) changes.emplace_back("JOURNAL_STREAM", journal_stream);

    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    for (const auto& change : changes) {
        // Not a structured binding: clang 14 cannot capture those in a lambda.
        const std::string& name = change.first;
        const auto& value = change.second;
        std::erase_if(env, [&](const std::string& entry) {
            return entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 && entry[name.size()] == '=';
        });
        if (value) env.push_back(name + "=" + *value);
    }
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

Spawned spawn(const std::vector<std::string>& argv_in, const ProcessOptions& options) {
    if (argv_in.empty()) throw std::invalid_argument("spawn: empty argv");
    // A child that closes its stdin early must not kill the test with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);

    std::array<int, 2> in{-1, -1};
    std::array<int, 2> out{-1, -1};
    std::array<int, 2> err{-1, -1};
    if (!options.stdin_text.empty() && ::pipe2(in.data(), O_CLOEXEC) != 0) fail("pipe2");
    if (::pipe2(out.data(), O_CLOEXEC) != 0) fail("pipe2");
    if (::pipe2(err.data(), O_CLOEXEC) != 0) fail("pipe2");

    std::string journal_stream;
    if (options.journal_stream_is_stderr) {
        struct stat st {};
        if (::fstat(err[1], &st) != 0) fail("fstat");
        journal_stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }

    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls.
    std::vector<std::string> args = argv_in;
    std::vector<std::string> env = child_environment(options, journal_stream);
    std::vector<char*> argv = pointers(args);
    std::vector<char*> envp = pointers(env);
    const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();

    const pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int s : {SIGPIPE, SIGHUP, SIGTERM, SIGINT}) std::signal(s, SIG_DFL);
        const int stdin_fd = in[0] >= 0 ? in[0] : ::open("/dev/null", O_RDONLY);
        if (stdin_fd < 0 || ::dup2(stdin_fd, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) _exit(127);
        if (cwd != nullptr && ::chdir(cwd) != 0) {
            constexpr char message[] = "spawn: cannot change to the working directory\n";
            [[maybe_unused]] auto ignored = ::write(2, message, sizeof message - 1);
            _exit(127);
        }
        ::execve(argv[0], argv.data(), envp.data());
        // "spawn: execve failed, errno N", with no allocation after fork.
        char message[64] = "spawn: execve failed, errno ";
        std::size_t length = std::strlen(message);
        char digits[16];
        std::size_t n = 0;
        for (int e = errno; n == 0 || e > 0; e /= 10) digits[n++] = static_cast<char>('0' + e % 10);
        while (n > 0) message[length++] = digits[--n];
        message[length++] = '\n';
        [[maybe_unused]] auto ignored = ::write(2, message, length);
        _exit(127);
    }

    Spawned s;
    s.pid = pid;
    if (in[0] >= 0) {
        ::close(in[0]);
        s.in_fd = in[1];
        set_nonblocking(s.in_fd);
    }
    ::close(out[1]);
    ::close(err[1]);
    s.out_fd = out[0];
    s.err_fd = err[0];
    set_nonblocking(s.out_fd);
    set_nonblocking(s.err_fd);
    return s;
}

// Waits for `pid` until the deadline; kills it with SIGKILL if it has not ended by then.
ExitStatus reap_by(pid_t pid, Clock::time_point deadline, bool& timed_out) {
    int raw = 0;
    while (true) {
        const pid_t r = ::waitpid(pid, &raw, WNOHANG);
        if (r == pid) return decode(raw);
        if (r < 0 && errno != EINTR) fail("waitpid");
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::min(Millis{5}, remaining(deadline)));
    }
    timed_out = true;
    ::kill(pid, SIGKILL);
    // SIGKILL to our own child: it ends promptly, so this wait is short.
    while (::waitpid(pid, &raw, 0) < 0) {
        if (errno != EINTR) fail("waitpid");
    }
    return decode(raw);
}

}  // namespace

std::string to_string(const ExitStatus& status) {
    if (status.exited) return "exit " + std::to_string(status.code);
    if (status.signal != 0) return std::string("signal ") + strsignal(status.signal);
    return "unknown";
}

RunResult run(const std::vector<std::string>& argv, const ProcessOptions& options, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    Spawned child = spawn(argv, options);
    RunResult result;
    std::size_t written = 0;

    while (child.in_fd >= 0 || child.out_fd >= 0 || child.err_fd >= 0) {
        const Millis left = remaining(deadline);
        if (left.count() == 0) {
            result.timed_out = true;
            ::kill(child.pid, SIGKILL);
            break;
        }
        std::array<pollfd, 3> fds{{{child.in_fd, POLLOUT, 0}, {child.out_fd, POLLIN, 0}, {child.err_fd, POLLIN, 0}}};
        const int ready = ::poll(fds.data(), fds.size(), poll_timeout(left));
        if (ready < 0 && errno != EINTR) fail("poll");
        if (ready <= 0) continue;
        if (child.in_fd >= 0 && fds[0].revents != 0) {
            const std::string_view rest = std::string_view(options.stdin_text).substr(written);
            const ssize_t n = (fds[0].revents & POLLOUT) != 0 ? ::write(child.in_fd, rest.data(), rest.size()) : -1;
            if (n > 0) written += static_cast<std::size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == options.stdin_text.size()) {
                close_fd(child.in_fd);
            }
        }
        if (fds[1].revents != 0) drain(child.out_fd, result.out);
        if (fds[2].revents != 0) drain(child.err_fd, result.err);
    }
    close_fd(child.in_fd);
    close_fd(child.out_fd);
    close_fd(child.err_fd);
    bool killed = false;
    result.status = reap_by(child.pid, deadline, killed);
    result.timed_out = result.timed_out || killed;
    return result;
}

Process::Process(const std::vector<std::string>& argv, const ProcessOptions& options) {
    if (!options.stdin_text.empty()) throw std::invalid_argument("Process: stdin_text is only for run()");
    const Spawned child = spawn(argv, options);
    pid_ = child.pid;
    out_fd_ = child.out_fd;
    err_fd_ = child.err_fd;
}

Process::~Process() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
    close_pipes();
}

void Process::close_pipes() {
    close_fd(out_fd_);
    close_fd(err_fd_);
}

bool Process::send_signal(int signal) {
    if (!running()) return false;
    return ::kill(pid_, signal) == 0;
}

bool Process::pump(Millis timeout) {
    if (out_fd_ < 0 && err_fd_ < 0) return false;
    std::array<pollfd, 2> fds{{{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}}};
    const int ready = ::poll(fds.data(), fds.size(), poll_timeout(timeout));
    if (ready < 0 && errno != EINTR) fail("poll");
    if (ready > 0) {
        if (fds[0].revents != 0) drain(out_fd_, out_);
        if (fds[1].revents != 0) drain(err_fd_, err_);
    }
    return out_fd_ >= 0 || err_fd_ >= 0;
}

bool Process::reap(bool block) {
    if (status_) return true;
    int raw = 0;
    pid_t r = 0;
    do {
        r = ::waitpid(pid_, &raw, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) status_ = decode(raw);
    return status_.has_value();
}

bool Process::wait_for_stderr(std::string_view needle, Millis timeout, std::size_t from) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (err_.find(needle, std::min(from, err_.size())) != std::string::npos) return true;
        const Millis left = remaining(deadline);
        if (left.count() == 0 || !pump(left)) break;
    }
    return err_.find(needle, std::min(from, err_.size())) != std::string::npos;
}

bool Process::wait_for_signal_handlers(const std::vector<int>& signals, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    const std::string status_path = "/proc/" + std::to_string(pid_) + "/status";
    while (!reap(false)) {
        std::ifstream in{status_path};
        std::string line;
        while (std::getline(in, line)) {
            if (!line.starts_with("SigCgt:")) continue;
            const unsigned long long caught = std::strtoull(line.c_str() + 7, nullptr, 16);
            const bool all = std::all_of(signals.begin(), signals.end(),
                                         [&](int s) { return ((caught >> (s - 1)) & 1ULL) != 0; });
            if (all) return true;
        }
        const Millis left = remaining(deadline);
        if (left.count() == 0) return false;
        // Keep reading output meanwhile, so a chatty child never blocks on a full pipe.
        if (!pump(std::min(Millis{5}, left))) std::this_thread::sleep_for(std::min(Millis{5}, left));
    }
    return false;
}

std::optional<ExitStatus> Process::wait(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!reap(false)) {
        const Millis left = remaining(deadline);
        if (left.count() == 0) return std::nullopt;
        if (!pump(std::min(Millis{10}, left))) std::this_thread::sleep_for(std::min(Millis{5}, left));
    }
    // The child has ended: collect what is left in the pipes (bounded, in case
    // a grandchild still holds them open).
    const auto drain_deadline = Clock::now() + Millis{500};
    while (pump(std::min(Millis{50}, remaining(drain_deadline))) && remaining(drain_deadline).count() > 0) {
    }
    return status_;
}

ExitStatus Process::stop(Millis timeout) {
    send_signal(SIGTERM);
    if (auto status = wait(timeout)) return *status;
    send_signal(SIGKILL);
    if (auto status = wait(Millis{5000})) return *status;
    reap(true);
    return *status_;
}

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fieldgate-it-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, std::string_view text) const {
    const std::filesystem::path file = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
    return file.string();
}

std::string read_file(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

namespace {

// A listening socket on ipv4:port (0: any port), or -1.
int listen_on(const std::string& ipv4, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (::inet_pton(AF_INET, ipv4.c_str(), &address.sin_addr) != 1) {
        ::close(fd);
        throw std::invalid_argument("not an IPv4 address: " + ipv4);
    }
    // As a server would bind it (SO_REUSEADDR, so TIME_WAIT leftovers do not count).
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 1) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

std::vector<std::uint16_t> free_tcp_ports(std::size_t count) {
    // All sockets stay open until every port is known, so the ports differ.
    std::vector<int> sockets;
    std::vector<std::uint16_t> ports;
    for (std::size_t i = 0; i < count; ++i) {
        const int fd = listen_on("127.0.0.1", 0);
        if (fd < 0) fail("bind");
        sockets.push_back(fd);
        sockaddr_in address{};
        socklen_t length = sizeof address;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) fail("getsockname");
        ports.push_back(ntohs(address.sin_port));
    }
    for (int fd : sockets) ::close(fd);
    return ports;
}

bool tcp_port_is_free(const std::string& ipv4, std::uint16_t port) {
    const int fd = listen_on(ipv4, port);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

std::optional<std::string> tcp_exchange(const std::string& ipv4, std::uint16_t port, std::string_view request,
                                        std::size_t reply_size, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (::inet_pton(AF_INET, ipv4.c_str(), &address.sin_addr) != 1) {
        throw std::invalid_argument("not an IPv4 address: " + ipv4);
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) fail("socket");

    // Non-blocking connect, bounded by the deadline.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        if (errno != EINPROGRESS) {
            close_fd(fd);
            return std::nullopt;
        }
        pollfd pfd{fd, POLLOUT, 0};
        int ready = 0;
        do {
            ready = ::poll(&pfd, 1, poll_timeout(remaining(deadline)));
        } while (ready < 0 && errno == EINTR);
        int error = 0;
        socklen_t length = sizeof error;
        if (ready <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
            close_fd(fd);
            return std::nullopt;
        }
    }

    std::size_t written = 0;
    std::string reply;
    while (reply.size() < reply_size) {
        const Millis left = remaining(deadline);
        if (left.count() == 0) break;
        const bool writing = written < request.size();
        pollfd pfd{fd, static_cast<short>(writing ? POLLOUT : POLLIN), 0};
        const int ready = ::poll(&pfd, 1, poll_timeout(left));
        if (ready < 0 && errno != EINTR) fail("poll");
        if (ready <= 0) continue;
        if (writing) {
            const ssize_t n = ::send(fd, request.data() + written, request.size() - written, MSG_NOSIGNAL);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                break;
            }
            continue;
        }
        std::array<char, 4096> buffer{};
        const ssize_t n = ::recv(fd, buffer.data(), std::min(buffer.size(), reply_size - reply.size()), 0);
        if (n > 0) {
            reply.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            break;  // closed by the peer, or reset
        }
    }
    close_fd(fd);
    return reply;
}

}  // namespace fieldgate::test
