#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
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

    mqtt::StreamParser parser_;
    broker::Session* session_ = nullptr;

    std::vector<std::uint8_t> output_;   // appended by the session
    std::vector<std::uint8_t> writing_;  // in the write under way

    std::unique_ptr<boost::asio::steady_timer> delay_timer_;  // see after()
    Deadlines::Clock::time_point last_receive_;
    std::uint32_t receive_timeout_ms_ = 0;  // keep-alive x 1.5; 0 = none
    std::uint32_t worker_;
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
