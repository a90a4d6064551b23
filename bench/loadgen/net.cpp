#include "bench/loadgen/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace fieldgate::bench {

sockaddr_in make_endpoint(const std::string& host, std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
        throw std::invalid_argument("not an IPv4 address: " + host);
    }
    return addr;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

namespace {

const sockaddr* as_sockaddr(const sockaddr_in& addr) {
    return static_cast<const sockaddr*>(static_cast<const void*>(&addr));
}

}  // namespace

int connect_blocking(const sockaddr_in& endpoint) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, as_sockaddr(endpoint), sizeof endpoint) != 0) {
        const int err = errno;
        close(fd);
        return -err;
    }
    set_nodelay(fd);
    set_nonblocking(fd);
    return fd;
}

int connect_nonblocking(const sockaddr_in& endpoint) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    set_nodelay(fd);
    if (connect(fd, as_sockaddr(endpoint), sizeof endpoint) != 0 && errno != EINPROGRESS) {
        const int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int listen_on(const sockaddr_in& endpoint) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, as_sockaddr(endpoint), sizeof endpoint) != 0 || listen(fd, 4096) != 0) {
        const int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

Poller::Poller() : fd_(epoll_create1(EPOLL_CLOEXEC)), events_(1024) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

Poller::~Poller() { close(fd_); }

void Poller::add(int fd, std::uint64_t key, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    if (epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

void Poller::modify(int fd, std::uint64_t key, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    epoll_ctl(fd_, EPOLL_CTL_MOD, fd, &ev);
}

void Poller::remove(int fd) { epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr); }

std::span<const epoll_event> Poller::wait(std::chrono::nanoseconds timeout) {
    if (timeout.count() < 0) timeout = std::chrono::nanoseconds{0};
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    // epoll_pwait2 takes a nanosecond timeout: the fixed-rate scenario sends a
    // message every 100 us, below epoll_wait's millisecond granularity.
    int n = epoll_pwait2(fd_, events_.data(), static_cast<int>(events_.size()), &ts, nullptr);
    if (n < 0 && errno == ENOSYS) {
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
        n = epoll_wait(fd_, events_.data(), static_cast<int>(events_.size()), static_cast<int>(ms));
    }
    if (n < 0) n = 0;  // EINTR
    return {events_.data(), static_cast<std::size_t>(n)};
}

Connection::Connection(int fd, std::uint32_t max_packet_size) : fd_(fd), parser_(max_packet_size) {}

Connection::~Connection() {
    if (fd_ >= 0) close(fd_);
}

Connection::ReadResult Connection::read(std::size_t chunk) {
    const auto area = parser_.prepare(chunk);
    const ssize_t n = recv(fd_, area.data(), area.size(), 0);
    if (n > 0) {
        parser_.commit(static_cast<std::size_t>(n));
        return ReadResult::data;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return ReadResult::would_block;
    return ReadResult::closed;
}

bool Connection::flush() {
    while (out_begin_ < out_.size()) {
        const ssize_t n = send(fd_, out_.data() + out_begin_, out_.size() - out_begin_, MSG_NOSIGNAL);
        if (n > 0) {
            out_begin_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
    if (out_begin_ == out_.size()) {
        out_.clear();
        out_begin_ = 0;
    } else if (out_begin_ > out_.size() / 2) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_begin_));
        out_begin_ = 0;
    }
    return true;
}

}  // namespace fieldgate::bench
