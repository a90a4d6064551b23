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
// Lives on one worker; every member is used only from that worker's thread.
template <class Stream>
class Connection final : public broker::ConnectionPort, public std::enable_shared_from_this<Connection<Stream>> {
public:
    Connection(Stream stream, broker::Broker& broker, std::size_t worker, const ConnectionSettings& settings,
               broker::PeerInfo info, ConnectionSlot slot);
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
    const broker::PeerInfo& peer_info() const override { return info_; }

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
    void arm_receive_timer();
    // The network side ended (EOF, error, timeout): the session hears of it.
    void fail();
    void peer_closing();
    void shut();

    Stream stream_;
    broker::Broker& broker_;
    std::size_t worker_;
    ConnectionSettings settings_;
    std::string peer_;
    broker::PeerInfo info_;
    ConnectionSlot slot_;

    mqtt::StreamParser parser_;
    broker::Session* session_ = nullptr;
    bool connecting_ = false;  // CONNECT handed to the broker, no answer yet
    bool reading_ = false;
    bool processing_ = false;

    std::vector<std::uint8_t> output_;   // appended by the session
    std::vector<std::uint8_t> writing_;  // in the write under way
    bool writing_active_ = false;
    bool flush_posted_ = false;
    bool closing_ = false;  // close() called: shut once the output is written
    bool closed_ = false;

    boost::asio::steady_timer connect_timer_;
    boost::asio::steady_timer receive_timer_;
    std::chrono::milliseconds receive_timeout_{0};
    std::chrono::steady_clock::time_point last_receive_;
};

}  // namespace fieldgate::transport
