#pragma once

#include <netinet/in.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gateway/mqtt/stream_parser.hpp"

// Plain epoll and non-blocking sockets: the generator and the null forwarder
// spend their time in read/write and the codec, nothing in between.
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

// One MQTT connection: a non-blocking socket, the codec's stream parser for
// what arrives (reads go straight into its buffer) and an output buffer that
// goes out in as few writes as the socket allows. Owned by one thread.
class Connection {
public:
    enum class ReadResult : std::uint8_t { data, would_block, closed };

    explicit Connection(int fd, std::uint32_t max_packet_size = 1u << 20);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    int fd() const { return fd_; }
    // Packets are appended here and sent by flush().
    std::vector<std::uint8_t>& output() { return out_; }
    std::size_t unsent() const { return out_.size() - out_begin_; }

    // One read of up to `chunk` bytes into the parser.
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
    mqtt::StreamParser parser_;
    std::vector<std::uint8_t> out_;
    std::size_t out_begin_ = 0;
};

// Nanoseconds on the monotonic clock; payload timestamps use it too.
inline std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace fieldgate::bench
