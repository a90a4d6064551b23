#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/broker/broker.hpp"
#include "gateway/broker/connection_port.hpp"
#include "gateway/mqtt/stream_parser.hpp"
#include "gateway/transport/connection_slot.hpp"
#include "gateway/transport/deadlines.hpp"

namespace fieldgate::transport {

namespace detail {

// Room inside the connection for the one operation a plain TCP connection
// keeps pending while idle: its wait for the socket to become readable.
// Without it Asio's recycling allocator hands the wait whichever cached block
// comes first (often an accept's, more than twice its size), a separate heap
// block per idle connection. Anything else, or a second operation at once,
// goes to the heap.
class HandlerSlot {
public:
    static constexpr std::size_t size = 104;  // Boost 1.81's reactive_wait_op with our handler

    void* allocate(std::size_t n, std::size_t align) {
        if (used_ || n > size || align > alignof(std::uint64_t)) return ::operator new(n);
        used_ = true;
        return bytes_;
    }
    void deallocate(void* p) noexcept {
        if (p == static_cast<void*>(bytes_)) {
            used_ = false;
        } else {
            ::operator delete(p);
        }
    }

private:
    alignas(std::uint64_t) std::byte bytes_[size];
    bool used_ = false;
};

// Asio's associated allocator for a handler using a HandlerSlot. Asio frees
// an operation's memory only after moving the handler (which holds the
// connection, hence the slot) out of it.
template <class T>
class SlotAllocator {
public:
    using value_type = T;
    explicit SlotAllocator(HandlerSlot& slot) noexcept : slot_(&slot) {}
    template <class U>
    SlotAllocator(const SlotAllocator<U>& other) noexcept : slot_(other.slot_) {}

    T* allocate(std::size_t n) { return static_cast<T*>(slot_->allocate(n * sizeof(T), alignof(T))); }
    void deallocate(T* p, std::size_t) noexcept { slot_->deallocate(p); }
    template <class U>
    bool operator==(const SlotAllocator<U>& other) const noexcept {
        return slot_ == other.slot_;
    }

private:
    template <class U>
    friend class SlotAllocator;
    HandlerSlot* slot_;
};

struct NoSlot {};

// Plain TCP is read when the socket is readable, without a buffer held while
// idle. TLS and WebSocket have their own framing to undo, so they are read
// with a buffer in place.
template <class Stream>
inline constexpr bool reads_when_readable =
    std::is_same_v<Stream, boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>>;

}  // namespace detail

struct ConnectionSettings {
    std::chrono::milliseconds connect_timeout{10'000};
    std::uint32_t max_packet_size = 1u << 20;
};

// One client connection over a byte stream: TCP, TLS, WebSocket or WebSocket
// over TLS (streams.hpp), opened (handshakes done) by the listener. Reads into
// the stream parser, hands packets to the broker (CONNECT) or the session, and
// writes what the session encodes: one writer, packets appended while a write
// is in flight go out together in the next one.
//
// Its connect timeout and keep-alive are deadlines on the worker's wheel
// (deadlines.hpp), not timers of its own: an idle connection is this object,
// its socket and the socket's pending wait (issue 4).
//
// Lives on one worker; every member is used only from that worker's thread.
template <class Stream>
class Connection final : public broker::ConnectionPort,
                         public std::enable_shared_from_this<Connection<Stream>>,
                         private Deadlines::Entry {
public:
    // `deadlines`: the wheel of the connection's worker, which outlives it.
    Connection(Stream stream, broker::Broker& broker, std::size_t worker, Deadlines& deadlines,
               const ConnectionSettings& settings, broker::PeerInfo info, ConnectionSlot slot);
    ~Connection() override;

    // `connect_deadline`: when a client that has not sent CONNECT is closed
    // (counted from accept, so that a slow handshake does not extend it).
    void start(std::chrono::steady_clock::time_point connect_deadline);

    // broker::ConnectionPort
    std::vector<std::uint8_t>& output() override { return output_; }
    void flush_soon() override;
    std::size_t pending_output() const override { return output_.size() + writing_.size(); }
    void close() override;
    void close_after(std::chrono::milliseconds delay) override;
    void set_receive_timeout(std::chrono::milliseconds timeout) override;
    void attach_session(broker::Session& session) override;
    bool is_open() const override { return !closed_; }
    const std::string& peer() const override { return peer_; }
    const broker::PeerInfo& peer_info() const override;

private:
    void read();
    void on_readable(const boost::system::error_code& ec);
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void received(std::size_t n);
    // Handles the buffered packets until one needs an answer from elsewhere.
    void process();
    void on_decode_error(const mqtt::DecodeError& error);
    void write();
    void on_write(const boost::system::error_code& ec);
    // Deadlines::Entry: the connect timeout or the keep-alive ran out.
    void expired() override;
    // A timer of its own for the rare waits that must hold the connection
    // alive (a refused login's delay, a WebSocket teardown).
    void after(std::chrono::milliseconds delay, void (Connection::*then)());
    void close_now();
    // The network side ended (EOF, error, timeout): the session hears of it.
    void fail();
    void peer_closing();
    void shut();

    // What a deadline on the wheel means.
    enum class Waiting : std::uint8_t { none, connect, keep_alive };

    Stream stream_;
    broker::Broker& broker_;
    Deadlines& deadlines_;
    std::string peer_;
    // The listener's rules and what the opening learnt: read while the CONNECT
    // is decided and the session attached, then freed (connection_port.hpp).
    std::unique_ptr<const broker::PeerInfo> info_;
    ConnectionSlot slot_;

    // Plain TCP: exists only while bytes are buffered or being handled, like
    // its buffer (the parser is most of an idle connection otherwise); the
    // others read into it and keep it. parser() makes it when needed.
    std::unique_ptr<mqtt::StreamParser> parser_;
    mqtt::StreamParser& parser();
    broker::Session* session_ = nullptr;

    std::vector<std::uint8_t> output_;   // appended by the session
    std::vector<std::uint8_t> writing_;  // in the write under way

    std::unique_ptr<boost::asio::steady_timer> delay_timer_;  // see after()
    // The read wait's memory (plain TCP only: the others read into a buffer with Beast's operations).
    [[no_unique_address]] std::conditional_t<detail::reads_when_readable<Stream>, detail::HandlerSlot, detail::NoSlot>
        read_slot_;
    Deadlines::Clock::time_point last_receive_;
    std::uint32_t receive_timeout_ms_ = 0;  // keep-alive x 1.5; 0 = none
    std::uint32_t worker_;
    std::uint32_t max_packet_size_;
    mqtt::ProtocolVersion version_ = mqtt::ProtocolVersion::v3_1_1;  // the parser's, kept while it is gone
    Waiting waiting_ = Waiting::none;
    bool connecting_ = false;  // CONNECT handed to the broker, no answer yet
    bool reading_ = false;
    bool processing_ = false;
    bool writing_active_ = false;
    bool flush_posted_ = false;
    bool closing_ = false;  // close() called: shut once the output is written
    bool closed_ = false;
};

}  // namespace fieldgate::transport
