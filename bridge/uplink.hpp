#pragma once

// A bridge's uplink: one outbound MQTT client connection to a cloud broker,
// kept up for as long as the bridge runs. It tries the configured addresses
// in order (failover); after a round in which none of them worked it waits
// (Backoff: reconnect_min doubling to reconnect_max, +-20% jitter) and starts
// again from the first. While connected to a later address, it checks every
// return_to_first (config; 0 = never) whether the first is reachable again
// (DNS, TCP, TLS, WebSocket: no MQTT), leaving the working connection alone;
// only when that check succeeds does it end the connection and try the first,
// failing over again at once if the first then refuses.
//
// The password file is read again at every attempt, so a rotated secret is
// used from the next reconnect on; an attempt at which it cannot be read
// fails ("cannot read password_file PATH: REASON") like any other, ending the
// round, and the backoff goes on.
//
// This is the connection layer only. Above it the bridge keeps the session
// state (packet ids, in-flight QoS 1/2, the outbound queue): it learns of each
// connection from on_connected (with the CONNACK, to see session_present and
// the broker's limits), sends encoded packets through output()/flush(), gets
// every packet from the broker in on_packet, and hears of every failure in
// on_disconnected. The uplink answers keep-alive itself (PINGREQ/PINGRESP are
// never seen above it) and declares a path dead after 1.5 x keep-alive of
// silence.
//
// Every step of a connection attempt (DNS, TCP connect, TLS, WebSocket
// upgrade, CONNACK) is bounded by UplinkOptions::step_timeout (10 s).
//
// Threading: lives on one io_context (a broker worker's); every member
// function must be called on that io_context's thread, and every callback
// runs there. Handlers hold shared_from_this(): drop your pointer after
// stop() and the object goes once its last operation has ended.

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bridge/backoff.hpp"
#include "bridge/uplink_connection.hpp"
#include "bridge/uplink_stream.hpp"
#include "config/config.hpp"
#include "gateway/mqtt/packets.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldgate::bridge {

// What the bridge publishes on $SYS/bridge/NAME/state and in metrics. A
// plain copy: read it with status() on the uplink's thread.
struct UplinkStatus {
    bool connected = false;
    std::string address;  // connected to, or tried last (the URL as configured)
    // When the uplink last went up or down (the start counts as down).
    std::chrono::system_clock::time_point since{};
    std::string last_error;  // the latest failure in words; empty until one happens
    std::chrono::system_clock::time_point last_error_at{};
    std::uint64_t connections = 0;      // CONNACKs that accepted us
    std::uint64_t reconnects = 0;       // connections after the first
    std::uint64_t failed_attempts = 0;  // attempts that ended before a CONNACK accepted them
    // While waiting out a backoff: when the next round starts.
    std::optional<std::chrono::system_clock::time_point> next_attempt;
    std::string tls;  // "TLSv1.3, ALPN ..." while connected over TLS
};

struct UplinkOptions {
    // Bounds each step of an attempt: DNS, TCP connect, TLS handshake,
    // WebSocket upgrade, and the wait for CONNACK.
    std::chrono::milliseconds step_timeout{10000};
    // A connection that stays up this long resets the backoff; one that
    // drops sooner (a broker that accepts and then kicks us) keeps it growing.
    std::chrono::milliseconds stable_after{30000};
    // While connected to a later address, how often to check whether the
    // first answers again (DNS, TCP and TLS, no MQTT) and move back to it;
    // 0 = never. Unset: the config's [[bridge]] return_to_first.
    std::optional<std::chrono::milliseconds> return_to_first;
    bool verify_hostname = true;
    // The largest packet taken from the broker; in MQTT 5 also announced in
    // CONNECT (Maximum Packet Size), so the broker does not send larger ones.
    std::uint32_t max_packet_size = 1u << 20;
    // The wait for our DISCONNECT and the WebSocket close on the way out.
    std::chrono::milliseconds close_linger{2000};
    std::uint64_t backoff_seed = std::random_device{}();
};

struct UplinkCallbacks {
    // Called with each CONNECT before it is encoded, already filled in from
    // the config (version, client id, clean start, keep-alive, user name,
    // password, Session Expiry Interval, Maximum Packet Size); add a will or
    // properties here. Views set here must point at storage that outlives the
    // call: the packet is encoded right after it returns.
    std::function<void(mqtt::Connect&)> prepare_connect;
    // A CONNACK accepted us. `address` is the URL as configured.
    std::function<void(const mqtt::Connack& connack, bool session_present, const std::string& address)> on_connected;
    // Every packet from the broker after the CONNACK except PINGRESP and
    // DISCONNECT (which ends the connection: on_disconnected). Its views are
    // valid during the call only.
    std::function<void(const mqtt::Packet& packet)> on_packet;
    // Each failed attempt and each end of a connection; what was queued in
    // output() is gone, and the next attempt is already scheduled.
    std::function<void(const UplinkFailure& failure)> on_disconnected;
};

class Uplink : public std::enable_shared_from_this<Uplink> {
public:
    // Reads the password file (to refuse an unreadable one at start-up; it
    // is read again at every attempt) and loads the TLS files (when an
    // address needs them). Throws std::runtime_error, naming the file or the
    // address, when one cannot be read or an address is not mqtt://,
    // mqtts://, ws:// or wss://: a start-up error. `default_client_id` (the gateway's name)
    // applies when the config has no client_id.
    static std::shared_ptr<Uplink> create(boost::asio::io_context& io, const config::BridgeConfig& config,
                                          const std::string& default_client_id, UplinkCallbacks callbacks,
                                          UplinkOptions options = {});
    ~Uplink();
    Uplink(const Uplink&) = delete;
    Uplink& operator=(const Uplink&) = delete;

    // Starts the first attempt (on the first address). Once only.
    void start();
    // Ends the connection: DISCONNECT with `reason` when connected (MQTT 5;
    // 0x04 Disconnect with Will Message asks the broker to publish the will;
    // in 3.1.1 that request is made by closing without DISCONNECT), then
    // close. No callback runs after stop() returns. Idempotent.
    void stop(mqtt::ReasonCode reason = mqtt::ReasonCode::success);

    bool connected() const { return connection_ != nullptr && connection_->is_up(); }
    mqtt::ProtocolVersion version() const { return version_; }
    // The keep-alive in force (the broker's Server Keep Alive when it set one).
    std::chrono::milliseconds keepalive() const;

    // Encoded packets (in version()) are appended here and written after
    // flush(), together with whatever else was appended meanwhile. While not
    // connected it is a scratch buffer whose content is dropped: the bridge
    // resends from its own state after on_connected.
    std::vector<std::uint8_t>& output();
    void flush();
    std::size_t pending_output() const;
    // Encodes `packet` in version(), appends and flushes; false (and nothing
    // sent) when not connected.
    bool send(const mqtt::Packet& packet);

    // Ends the current connection for a fault the bridge found in what the
    // broker sent (MQTT 5: DISCONNECT with `reason` first); reported through
    // on_disconnected with `error`, then failover as for any failure.
    void drop(const std::string& error, mqtt::ReasonCode reason = mqtt::ReasonCode::protocol_error);

    const UplinkStatus& status() const { return status_; }
    const std::vector<UplinkTarget>& targets() const { return targets_; }

private:
    class Events;  // the connection's Owner, forwarding to this

    Uplink(boost::asio::io_context& io, const config::BridgeConfig& config, const std::string& default_client_id,
           UplinkCallbacks callbacks, UplinkOptions options);

    void attempt();
    std::vector<std::uint8_t> encode_connect();
    void connection_up(const mqtt::Connack& connack);
    void connection_packet(const mqtt::Packet& packet);
    void connection_down(const UplinkFailure& failure);
    void attempt_failed(const UplinkFailure& failure, bool round_over);
    void schedule_next(bool round_over);
    void arm_return_to_first();
    void probe_first();

    boost::asio::io_context& io_;
    config::BridgeConfig config_;
    std::string client_id_;
    std::string password_;
    UplinkCallbacks callbacks_;
    UplinkOptions options_;
    mqtt::ProtocolVersion version_;
    std::vector<UplinkTarget> targets_;
    UplinkStreamSettings stream_settings_;
    Backoff backoff_;
    std::unique_ptr<Events> events_;

    std::shared_ptr<UplinkConnection> connection_;
    std::size_t index_ = 0;  // the address being tried or in use
    bool started_ = false;
    bool stopped_ = false;
    std::chrono::steady_clock::time_point up_since_{};
    std::vector<std::string> round_errors_;  // "url: error" for the round under way, logged once when it fails
    std::vector<std::uint8_t> discard_;      // output() while not connected
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer return_timer_;
    std::shared_ptr<UplinkStream> probe_;
    UplinkStatus status_;
};

}  // namespace fieldgate::bridge
