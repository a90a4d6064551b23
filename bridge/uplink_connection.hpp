#pragma once

// One attempt of an uplink to reach one address, and the MQTT connection it
// becomes: the stream opened, CONNECT sent, CONNACK awaited (bounded), then
// packets in both directions and the client's side of keep-alive. It ends
// exactly once, telling its owner why, unless the owner shut it down first.
// Reconnecting is the owner's business (Uplink): a new attempt is a new object.
//
// Lives on one io_context; every member is called on its thread. Handlers
// hold shared_from_this(), so the object outlives its last operation even
// after the owner dropped it.

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/uplink_stream.hpp"
#include "gateway/mqtt/stream_parser.hpp"

namespace fieldgate::bridge {

// Why a connection attempt or a connection ended.
struct UplinkFailure {
    std::string address;  // the URL as configured
    std::string error;    // in words: "CONNACK 0x86 Bad User Name or Password", "connection refused", ...
    // The broker's reason, when it gave one (CONNACK refusal, DISCONNECT).
    std::optional<mqtt::ReasonCode> reason_code;
    bool was_connected = false;  // a CONNACK had accepted this connection (on_connected was called)
};

class UplinkConnection : public std::enable_shared_from_this<UplinkConnection> {
public:
    struct Settings {
        mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v5;
        std::chrono::milliseconds keepalive{60000};  // 0: no PINGREQ, no dead-path check
        std::chrono::milliseconds step_timeout{10000};  // also bounds the wait for CONNACK
        std::uint32_t max_packet_size = mqtt::max_packet_size_limit;  // what we accept from the broker
        std::chrono::milliseconds close_linger{2000};  // DISCONNECT and WebSocket close on the way out
    };

    // The Uplink. Calls come from this connection's handlers; the owner may
    // call back into the connection (output, flush, drop, shutdown) from them.
    class Owner {
    public:
        virtual void connection_up(const mqtt::Connack& connack) = 0;
        // Every packet after the CONNACK except PINGRESP and DISCONNECT; its
        // views are valid during the call only.
        virtual void connection_packet(const mqtt::Packet& packet) = 0;
        virtual void connection_down(const UplinkFailure& failure) = 0;

    protected:
        ~Owner() = default;
    };

    UplinkConnection(std::shared_ptr<UplinkStream> stream, boost::asio::steady_timer::executor_type executor,
                     Settings settings, Owner& owner);

    // Opens the stream and sends `connect` (an encoded CONNECT) once it is open.
    void start(std::vector<std::uint8_t> connect);

    bool is_up() const { return state_ == State::up; }
    // The keep-alive in force: the broker's Server Keep Alive when it sent one [MQTT-3.2.2-21].
    std::chrono::milliseconds keepalive() const { return keepalive_; }
    std::string negotiated() const { return stream_->negotiated(); }

    // Encoded packets go here and out in one write after flush(); one write is
    // in flight at a time, and what is appended meanwhile goes in the next.
    std::vector<std::uint8_t>& output() { return output_; }
    void flush();
    std::size_t pending_output() const { return output_.size() + writing_.size(); }

    // Ends the connection for a fault the caller found: in MQTT 5 a
    // DISCONNECT with `reason` goes out first [MQTT-4.13.2-1]. The owner is
    // told, as for any failure.
    void drop(const std::string& error, mqtt::ReasonCode reason);
    // Ends the connection without telling the owner anything more: when up, a
    // DISCONNECT (with `reason` in MQTT 5), then the stream is closed.
    void shutdown(mqtt::ReasonCode reason);

private:
    enum class State { opening, awaiting_connack, up, closed };

    void on_open(const std::string& error);
    void read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    std::string io_error(UplinkStep step, const boost::system::error_code& ec) const;
    void process();
    void on_connack(const mqtt::Connack& connack);
    void write();
    void on_write(const boost::system::error_code& ec);
    void arm_keepalive();
    void on_keepalive_timer();
    // Reports the failure (once) and closes; a DISCONNECT with `disconnect` goes out first when set.
    void fail(UplinkFailure failure, std::optional<mqtt::ReasonCode> disconnect = std::nullopt);
    void close_gracefully(std::optional<mqtt::ReasonCode> disconnect);
    void finish_close();

    std::shared_ptr<UplinkStream> stream_;
    Settings settings_;
    Owner* owner_;  // null once the owner is no longer to be told anything
    State state_ = State::opening;
    mqtt::StreamParser parser_;
    std::vector<std::uint8_t> output_;
    std::vector<std::uint8_t> writing_;
    bool writing_active_ = false;
    bool flush_posted_ = false;
    bool reading_ = false;
    bool closing_ = false;  // the output is written, then the stream is closed
    bool stream_closed_ = false;
    std::chrono::milliseconds keepalive_;
    std::chrono::steady_clock::time_point last_send_;
    std::chrono::steady_clock::time_point last_receive_;
    bool ping_outstanding_ = false;
    boost::asio::steady_timer connack_timer_;
    boost::asio::steady_timer keepalive_timer_;
    boost::asio::steady_timer linger_timer_;
};

}  // namespace fieldgate::bridge
