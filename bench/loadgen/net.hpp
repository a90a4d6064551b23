#pragma once

#include <netinet/in.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gateway/mqtt/stream_parser.hpp"

struct ssl_ctx_st;
struct ssl_st;
struct ssl_session_st;

// Plain epoll and non-blocking sockets: the generator and the null forwarder
// spend their time in read/write and the codec, nothing in between. With a
// TlsContext, a connection's reads and writes go through OpenSSL instead of
// recv/send; nothing else changes.
namespace fieldgate::bench {

// An IPv4 address and port ("127.0.0.1", 1883). Throws std::invalid_argument.
sockaddr_in make_endpoint(const std::string& host, std::uint16_t port);

// A connected TCP socket with TCP_NODELAY, blocking for the connect itself,
// non-blocking after; -errno on failure.
int connect_blocking(const sockaddr_in& endpoint);
// A non-blocking socket whose connect is under way (or done); -errno on failure.
int connect_nonblocking(const sockaddr_in& endpoint);
// A listening non-blocking socket; -errno on failure.
int listen_on(const sockaddr_in& endpoint);
void set_nonblocking(int fd);
void set_nodelay(int fd);

// Level-triggered epoll; each fd carries a caller-chosen 64-bit key.
// Owned by one thread.
class Poller {
public:
    Poller();
    ~Poller();
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;

    void add(int fd, std::uint64_t key, std::uint32_t events);
    void modify(int fd, std::uint64_t key, std::uint32_t events);
    void remove(int fd);
    // Waits up to `timeout` (nanosecond precision; 0 polls) for ready fds.
    std::span<const epoll_event> wait(std::chrono::nanoseconds timeout);

private:
    int fd_;
    std::vector<epoll_event> events_;
};

enum class TlsVersion : std::uint8_t { tls1_2, tls1_3 };

// The generator's side of TLS (OpenSSL): trusts only the CA file, verifies the
// broker's certificate chain against it (not the host name: the generator
// connects by address), offers exactly one TLS version with OpenSSL's default
// ciphers and groups, and never resumes a session: every handshake is a full
// one. Sessions (TLS 1.3 tickets) the broker hands out are counted and
// dropped. Owned by one thread.
class TlsContext {
public:
    TlsContext(const std::string& ca_file, TlsVersion version);  // throws std::runtime_error
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    ssl_ctx_st* native() const { return ctx_; }
    // Sessions offered by brokers so far (never used).
    std::uint64_t sessions_offered() const { return sessions_offered_; }

private:
    static int on_new_session(ssl_st* ssl, ssl_session_st* session);
    ssl_ctx_st* ctx_;
    std::uint64_t sessions_offered_ = 0;
};

// One MQTT connection: a non-blocking socket, the codec's stream parser for
// what arrives (reads go straight into its buffer) and an output buffer that
// goes out in as few writes as the socket allows. Owned by one thread.
class Connection {
public:
    enum class ReadResult : std::uint8_t { data, would_block, closed };

    enum class Progress : std::uint8_t { done, want_read, want_write, failed };

    // Takes `fd`; with `tls`, the connection is a TLS client on it whose
    // handshake runs in handshake() (or, failing that, in the first read or
    // flush). Throws std::runtime_error when OpenSSL cannot make the session.
    explicit Connection(int fd, std::uint32_t max_packet_size = 1u << 20, const TlsContext* tls = nullptr);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    int fd() const { return fd_; }
    // Packets are appended here and sent by flush().
    std::vector<std::uint8_t>& output() { return out_; }
    std::size_t unsent() const { return out_.size() - out_begin_; }

    // One step of the TLS handshake on a non-blocking socket: done, or the
    // readiness to wait for before the next step. Done at once without TLS.
    Progress handshake();
    // The handshake with poll(), for the set-up of a run; false (with the
    // reason in `error`) on failure or after `timeout`.
    bool handshake_blocking(std::chrono::milliseconds timeout, std::string& error);
    bool uses_tls() const { return ssl_ != nullptr; }
    // "TLSv1.3/TLS_AES_256_GCM_SHA384/X25519" after the handshake; "tcp" without TLS.
    std::string tls_summary() const;
    bool tls_resumed() const;
    // OpenSSL's reason for the last failure ("" when none).
    static std::string tls_error();

    // One read of up to `chunk` bytes into the parser (with TLS: records until
    // `chunk` bytes, or until the socket has no more).
    ReadResult read(std::size_t chunk);
    mqtt::DecodeResult next() { return parser_.next(); }
    std::span<const std::uint8_t> last_packet() const { return parser_.last_packet(); }
    std::span<const std::uint8_t> pending() const { return parser_.pending_bytes(); }
    // A client's parser must be told the version: only a CONNECT sets it.
    void set_version(mqtt::ProtocolVersion v) { parser_.set_version(v); }

    // Writes until the buffer is empty or the socket is full; false when the
    // peer is gone.
    bool flush();
    // Whether the poller is watching for writability (kept by the owner).
    bool watching_write = false;

private:
    int fd_;
    ssl_st* ssl_ = nullptr;
    mqtt::StreamParser parser_;
    std::vector<std::uint8_t> out_;
    std::size_t out_begin_ = 0;
};

// Opens one MQTT connection without blocking, one poller event at a time: TCP
// connect, the TLS handshake when there is a TlsContext, CONNECT, CONNACK.
// The owner registers fd() with events() and, after each on_event(), sets the
// registration to events() again; what comes after CONNACK is the owner's.
class Opening {
public:
    enum class State : std::uint8_t { connecting, tls_handshake, awaiting_connack, open, failed };

    // Starts the connect; the state is `failed` at once when it cannot.
    Opening(const sockaddr_in& endpoint, std::vector<std::uint8_t> connect_packet, mqtt::ProtocolVersion version,
            const TlsContext* tls, std::uint32_t max_packet_size = 1024);

    State state() const { return state_; }
    bool in_progress() const { return state_ != State::open && state_ != State::failed; }
    // Null only when the socket could not be made.
    Connection* connection() const { return socket_.get(); }
    int fd() const { return socket_ ? socket_->fd() : -1; }
    std::uint32_t events() const { return events_; }
    // Why it failed.
    const std::string& error() const { return error_; }

    void on_event(std::uint32_t events);
    // Gives up (e.g. at a deadline) and closes the socket.
    void fail(std::string why);

private:
    void send_connect();
    void await(Connection::Progress p);

    std::unique_ptr<Connection> socket_;
    std::vector<std::uint8_t> connect_;
    State state_ = State::connecting;
    std::uint32_t events_ = EPOLLOUT;
    std::string error_;
};

// Nanoseconds on the monotonic clock; payload timestamps use it too.
inline std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace fieldgate::bench
