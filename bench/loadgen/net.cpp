#include "bench/loadgen/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <variant>

#include "gateway/mqtt/codec.hpp"

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

TlsContext::TlsContext(const std::string& ca_file, TlsVersion version) : ctx_(SSL_CTX_new(TLS_client_method())) {
    if (ctx_ == nullptr) throw std::runtime_error("SSL_CTX_new: " + Connection::tls_error());
    const int v = version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx_, v);
    SSL_CTX_set_max_proto_version(ctx_, v);
    if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
        const std::string why = Connection::tls_error();
        SSL_CTX_free(ctx_);
        throw std::runtime_error("cannot load the CA file " + ca_file + ": " + why);
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    // Sessions reach the callback, which counts and drops them; none is ever
    // offered back, so every handshake is a full one.
    SSL_CTX_set_app_data(ctx_, this);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, &TlsContext::on_new_session);
    // Writes go out as the socket takes them, from a buffer that may move.
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

int TlsContext::on_new_session(SSL* ssl, SSL_SESSION*) {
    ++static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)))->sessions_offered_;
    return 0;  // not kept: OpenSSL frees it
}

Connection::Connection(int fd, std::uint32_t max_packet_size, const TlsContext* tls)
    : fd_(fd), parser_(max_packet_size) {
    if (tls == nullptr) return;
    ssl_ = SSL_new(tls->native());
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd) != 1) {
        const std::string why = tls_error();
        SSL_free(ssl_);
        close(fd_);
        throw std::runtime_error("SSL_new: " + why);
    }
    SSL_set_connect_state(ssl_);
}

Connection::~Connection() {
    if (ssl_ != nullptr) {
        // close_notify, so that brokers do not log an unexpected end of the
        // stream; one try, without waiting for the answer.
        if (SSL_is_init_finished(ssl_) == 1) {
            ERR_clear_error();
            SSL_shutdown(ssl_);
        }
        SSL_free(ssl_);
    }
    if (fd_ >= 0) close(fd_);
}

std::string Connection::tls_error() {
    std::string s;
    char buf[256];
    while (const unsigned long e = ERR_get_error()) {
        ERR_error_string_n(e, buf, sizeof buf);
        if (!s.empty()) s += "; ";
        s += buf;
    }
    return s.empty() ? std::string(std::strerror(errno)) : s;
}

Connection::Progress Connection::handshake() {
    if (ssl_ == nullptr) return Progress::done;
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) return Progress::done;
    switch (SSL_get_error(ssl_, r)) {
        case SSL_ERROR_WANT_READ: return Progress::want_read;
        case SSL_ERROR_WANT_WRITE: return Progress::want_write;
        default: return Progress::failed;
    }
}

bool Connection::handshake_blocking(std::chrono::milliseconds timeout, std::string& error) {
    const std::int64_t deadline = now_ns() + std::chrono::nanoseconds(timeout).count();
    for (;;) {
        const Progress p = handshake();
        if (p == Progress::done) return true;
        if (p == Progress::failed) {
            error = "TLS handshake failed: " + tls_error();
            return false;
        }
        const std::int64_t left_ms = (deadline - now_ns()) / 1'000'000;
        if (left_ms <= 0) {
            error = "TLS handshake timed out";
            return false;
        }
        pollfd pfd{fd_, static_cast<short>(p == Progress::want_read ? POLLIN : POLLOUT), 0};
        poll(&pfd, 1, static_cast<int>(left_ms));
    }
}

std::string Connection::tls_summary() const {
    if (ssl_ == nullptr) return "tcp";
    std::string s = SSL_get_version(ssl_);
    s += '/';
    s += SSL_get_cipher_name(ssl_);
    const auto group = static_cast<int>(SSL_get_negotiated_group(ssl_));
    if (group != 0) {
        const char* name = SSL_group_to_name(ssl_, group);
        s += '/';
        s += name != nullptr ? name : std::to_string(group);
    }
    return s;
}

bool Connection::tls_resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

Connection::ReadResult Connection::read(std::size_t chunk) {
    if (ssl_ == nullptr) {
        const auto area = parser_.prepare(chunk);
        const ssize_t n = recv(fd_, area.data(), area.size(), 0);
        if (n > 0) {
            parser_.commit(static_cast<std::size_t>(n));
            return ReadResult::data;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return ReadResult::would_block;
        return ReadResult::closed;
    }
    // A record is decrypted whole and handed out in pieces: whatever OpenSSL
    // still holds would not wake the poller, so it is all taken here.
    std::size_t total = 0;
    for (;;) {
        const auto area = parser_.prepare(chunk);
        ERR_clear_error();
        const int n = SSL_read(ssl_, area.data(), static_cast<int>(area.size()));
        if (n > 0) {
            parser_.commit(static_cast<std::size_t>(n));
            total += static_cast<std::size_t>(n);
            if (total >= chunk && SSL_pending(ssl_) == 0) break;
            continue;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        if (total > 0) break;  // the end shows again on the next read
        return ReadResult::closed;
    }
    return total > 0 ? ReadResult::data : ReadResult::would_block;
}

bool Connection::flush() {
    while (out_begin_ < out_.size()) {
        const std::size_t left = out_.size() - out_begin_;
        if (ssl_ != nullptr) {
            ERR_clear_error();
            const auto size = static_cast<int>(std::min<std::size_t>(left, 1u << 30));
            const int n = SSL_write(ssl_, out_.data() + out_begin_, size);
            if (n > 0) {
                out_begin_ += static_cast<std::size_t>(n);
                continue;
            }
            const int err = SSL_get_error(ssl_, n);
            if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) break;
            return false;
        }
        const ssize_t n = send(fd_, out_.data() + out_begin_, left, MSG_NOSIGNAL);
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

Opening::Opening(const sockaddr_in& endpoint, std::vector<std::uint8_t> connect_packet, mqtt::ProtocolVersion version,
                 const TlsContext* tls, std::uint32_t max_packet_size)
    : connect_(std::move(connect_packet)) {
    const int fd = connect_nonblocking(endpoint);
    if (fd < 0) {
        state_ = State::failed;
        error_ = "connect: " + std::string(std::strerror(-fd));
        return;
    }
    socket_ = std::make_unique<Connection>(fd, max_packet_size, tls);
    socket_->set_version(version);
}

void Opening::fail(std::string why) {
    if (state_ == State::failed) return;
    state_ = State::failed;
    error_ = std::move(why);
    socket_.reset();
}

void Opening::await(Connection::Progress p) {
    events_ = p == Connection::Progress::want_write ? EPOLLOUT : EPOLLIN;
}

void Opening::send_connect() {
    socket_->output().assign(connect_.begin(), connect_.end());
    // A CONNECT fits any socket (or TLS record) buffer: it goes out whole.
    if (!socket_->flush() || socket_->unsent() > 0) return fail("cannot send CONNECT");
    state_ = State::awaiting_connack;
    events_ = EPOLLIN;
}

void Opening::on_event(std::uint32_t events) {
    switch (state_) {
        case State::connecting: {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(socket_->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) return fail("connect: " + std::string(std::strerror(err)));
            if ((events & (EPOLLERR | EPOLLHUP)) != 0) return fail("connect: the connection was closed");
            if (!socket_->uses_tls()) return send_connect();
            state_ = State::tls_handshake;
            [[fallthrough]];
        }
        case State::tls_handshake: {
            const auto p = socket_->handshake();
            if (p == Connection::Progress::failed) return fail("TLS handshake failed: " + Connection::tls_error());
            if (p != Connection::Progress::done) return await(p);
            return send_connect();
        }
        case State::awaiting_connack: {
            if (socket_->read(1024) == Connection::ReadResult::closed) {
                return fail("closed before CONNACK" + (socket_->uses_tls() ? ": " + Connection::tls_error() : ""));
            }
            const mqtt::DecodeResult r = socket_->next();
            if (r.status == mqtt::DecodeStatus::need_more) return;
            if (r.status == mqtt::DecodeStatus::error) return fail("undecodable packet instead of CONNACK");
            const auto* connack = std::get_if<mqtt::Connack>(&r.packet);
            if (connack == nullptr) return fail("a packet other than CONNACK came first");
            if (connack->reason_code != mqtt::ReasonCode::success) {
                return fail("CONNACK refused the connection (" +
                            std::to_string(static_cast<unsigned>(connack->reason_code)) + ")");
            }
            state_ = State::open;
            return;
        }
        case State::open:
        case State::failed: return;
    }
}

}  // namespace fieldgate::bench
