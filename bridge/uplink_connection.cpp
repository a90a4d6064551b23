#include "bridge/uplink_connection.hpp"

#include <boost/asio/post.hpp>

#include <cstdio>

#include "gateway/mqtt/codec.hpp"

namespace fieldgate::bridge {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t read_chunk = 4096;

std::string code_text(mqtt::ReasonCode rc) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(rc));
    return std::string(hex) + " " + std::string(mqtt::reason_name(rc));
}

}  // namespace

UplinkConnection::UplinkConnection(std::shared_ptr<UplinkStream> stream,
                                   boost::asio::steady_timer::executor_type executor, Settings settings, Owner& owner)
    : stream_(std::move(stream)),
      settings_(settings),
      owner_(&owner),
      parser_(settings.max_packet_size, settings.version),
      keepalive_(settings.keepalive),
      connack_timer_(executor),
      keepalive_timer_(executor),
      linger_timer_(executor) {}

void UplinkConnection::start(std::vector<std::uint8_t> connect) {
    output_ = std::move(connect);
    stream_->async_open([self = shared_from_this()](const std::string& error) { self->on_open(error); });
}

void UplinkConnection::on_open(const std::string& error) {
    if (state_ != State::opening) return;
    if (!error.empty()) return fail({.error = error});
    state_ = State::awaiting_connack;
    last_send_ = last_receive_ = Clock::now();
    connack_timer_.expires_after(settings_.step_timeout);
    connack_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->state_ != State::awaiting_connack) return;
        self->fail({.error = "timeout: no CONNACK within " + describe_duration(self->settings_.step_timeout)});
    });
    write();  // the CONNECT
    read();
}

void UplinkConnection::read() {
    if (reading_ || state_ == State::closed) return;
    reading_ = true;
    // Nothing else touches the parser until this read completes: packets are
    // taken out of it only in on_read.
    const auto buffer = parser_.prepare(read_chunk);
    stream_->async_read_some(buffer, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->on_read(ec, n);
    });
}

void UplinkConnection::on_read(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (state_ == State::closed) return;
    parser_.commit(n);
    if (n > 0) {
        // Any byte counts as a sign of life, even a large packet still arriving.
        last_receive_ = Clock::now();
        ping_outstanding_ = false;
    }
    process();  // what arrived before an error still counts (a DISCONNECT, say)
    if (state_ == State::closed) return;
    if (ec) return fail({.error = io_error(UplinkStep::read, ec)});
    read();
}

std::string UplinkConnection::io_error(UplinkStep step, const boost::system::error_code& ec) const {
    std::string error = stream_->describe(step, ec);
    // A broker that hangs up before CONNACK: over TLS 1.3 this is also how a
    // refused client certificate looks when the alert is lost to the RST.
    if (state_ == State::awaiting_connack) error += " before CONNACK";
    return error;
}

void UplinkConnection::process() {
    const bool v5 = mqtt::is_v5(settings_.version);
    while (state_ == State::awaiting_connack || state_ == State::up) {
        auto result = parser_.next();
        if (result.status == mqtt::DecodeStatus::need_more) break;
        if (result.status == mqtt::DecodeStatus::error) {
            // [MQTT-4.13.1-1]: DISCONNECT with the reason, then close (MQTT 5).
            fail({.error = "bad packet from the broker: " + std::string(result.error.message) + " (" +
                           code_text(result.error.code) + ")"},
                 v5 ? std::optional(result.error.code) : std::nullopt);
            break;
        }
        const mqtt::Packet& packet = result.packet;
        if (state_ == State::awaiting_connack) {
            if (const auto* connack = std::get_if<mqtt::Connack>(&packet)) {
                on_connack(*connack);
                continue;
            }
            // The server's first packet is CONNACK [MQTT-3.2.0-1].
            fail({.error = "protocol error: the broker sent " + std::string(mqtt::to_string(mqtt::type_of(packet))) +
                           " before CONNACK"},
                 v5 ? std::optional(mqtt::ReasonCode::protocol_error) : std::nullopt);
            break;
        }
        if (std::holds_alternative<mqtt::Pingresp>(packet)) continue;  // last_receive_ already moved
        if (const auto* disconnect = std::get_if<mqtt::Disconnect>(&packet)) {
            fail({.error = describe_disconnect(*disconnect), .reason_code = disconnect->reason_code});
            break;
        }
        if (std::holds_alternative<mqtt::Connack>(packet)) {
            fail({.error = "protocol error: a second CONNACK"},
                 v5 ? std::optional(mqtt::ReasonCode::protocol_error) : std::nullopt);
            break;
        }
        if (owner_ != nullptr) owner_->connection_packet(packet);
    }
}

void UplinkConnection::on_connack(const mqtt::Connack& connack) {
    connack_timer_.cancel();
    if (mqtt::is_error(connack.reason_code)) {
        // The server closes after a refusing CONNACK [MQTT-3.2.2-7]; so do we.
        return fail({.error = describe_connack(connack, settings_.version), .reason_code = connack.reason_code});
    }
    state_ = State::up;
    if (mqtt::is_v5(settings_.version) && connack.properties.server_keep_alive) {
        // The client must use the server's value [MQTT-3.2.2-22]; 0 switches keep-alive off.
        keepalive_ = std::chrono::seconds{*connack.properties.server_keep_alive};
    }
    arm_keepalive();
    if (owner_ != nullptr) owner_->connection_up(connack);
}

void UplinkConnection::flush() {
    if (writing_active_ || flush_posted_ || stream_closed_) return;
    flush_posted_ = true;
    // Deferred, so that everything appended by the current handler goes in one write.
    boost::asio::post(connack_timer_.get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        self->write();
    });
}

void UplinkConnection::write() {
    // Before the stream is open only the CONNECT is waiting; it goes once open.
    if (writing_active_ || stream_closed_ || state_ == State::opening) return;
    if (output_.empty()) {
        if (closing_) finish_close();
        return;
    }
    writing_active_ = true;
    std::swap(writing_, output_);
    last_send_ = Clock::now();
    stream_->async_write(writing_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
        self->on_write(ec);
    });
}

void UplinkConnection::on_write(const boost::system::error_code& ec) {
    writing_active_ = false;
    writing_.clear();
    if (ec) {
        if (state_ != State::closed) return fail({.error = io_error(UplinkStep::write, ec)});
        stream_closed_ = true;
        stream_->close();
        return;
    }
    write();
}

void UplinkConnection::arm_keepalive() {
    if (keepalive_.count() == 0 || state_ != State::up) return;
    auto ping_at = last_send_ + keepalive_;
    if (!ping_outstanding_) ping_at = std::min(ping_at, last_receive_ + keepalive_);
    const auto dead_at = last_receive_ + keepalive_ * 3 / 2;
    keepalive_timer_.expires_at(std::min(ping_at, dead_at));
    keepalive_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->on_keepalive_timer();
    });
}

// A PINGREQ when nothing was sent for the keep-alive (the broker must hear
// from us [MQTT-3.1.2-23]) and also when nothing was received for it, so that
// a link carrying only our QoS 0 traffic still gets an answer to judge it by.
// Silence for 1.5 times the keep-alive means the path is dead, whether or not
// a RST ever comes (a stopped broker, a NAT that forgot us).
void UplinkConnection::on_keepalive_timer() {
    if (state_ != State::up) return;
    const auto now = Clock::now();
    const auto limit = keepalive_ * 3 / 2;
    if (now - last_receive_ >= limit) {
        return fail({.error = "no packet for " + describe_duration(limit) + " (keep-alive " +
                              describe_duration(keepalive_) + ")"});
    }
    if (now - last_send_ >= keepalive_ || (!ping_outstanding_ && now - last_receive_ >= keepalive_)) {
        mqtt::encode(mqtt::Packet{mqtt::Pingreq{}}, settings_.version, output_);
        ping_outstanding_ = true;
        // Counts as sent now even if a long write holds it back, so the timer does not spin.
        last_send_ = now;
        write();
    }
    arm_keepalive();
}

void UplinkConnection::drop(const std::string& error, mqtt::ReasonCode reason) {
    if (state_ == State::closed) return;
    fail({.error = error}, mqtt::is_v5(settings_.version) ? std::optional(reason) : std::nullopt);
}

void UplinkConnection::shutdown(mqtt::ReasonCode reason) {
    owner_ = nullptr;
    if (state_ == State::closed) return;
    const bool was_up = state_ == State::up;
    state_ = State::closed;
    connack_timer_.cancel();
    keepalive_timer_.cancel();
    // 3.1.1 has no "disconnect with will": the will is sent when the
    // connection ends without DISCONNECT [MQTT-3.1.2-8], so none goes out.
    const bool send_disconnect =
        was_up && (mqtt::is_v5(settings_.version) || reason != mqtt::ReasonCode::disconnect_with_will);
    close_gracefully(send_disconnect ? std::optional(reason) : std::nullopt);
}

void UplinkConnection::fail(UplinkFailure failure, std::optional<mqtt::ReasonCode> disconnect) {
    if (state_ == State::closed) return;
    failure.was_connected = state_ == State::up;
    const bool stream_open = state_ != State::opening;
    state_ = State::closed;
    connack_timer_.cancel();
    keepalive_timer_.cancel();
    Owner* owner = owner_;
    owner_ = nullptr;
    close_gracefully(stream_open ? disconnect : std::nullopt);
    if (owner != nullptr) owner->connection_down(failure);
}

void UplinkConnection::close_gracefully(std::optional<mqtt::ReasonCode> disconnect) {
    if (!disconnect || stream_closed_) {
        stream_closed_ = true;
        stream_->close();
        return;
    }
    // What the caller queued goes first, then the DISCONNECT, all bounded by the linger.
    mqtt::encode(mqtt::Packet{mqtt::Disconnect{.reason_code = *disconnect}}, settings_.version, output_);
    closing_ = true;
    linger_timer_.expires_after(settings_.close_linger);
    linger_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->stream_closed_) return;
        self->stream_closed_ = true;
        self->stream_->close();
    });
    write();
}

void UplinkConnection::finish_close() {
    closing_ = false;
    stream_closed_ = true;
    linger_timer_.cancel();
    stream_->async_close(settings_.close_linger, [self = shared_from_this()] {});
}

}  // namespace fieldgate::bridge
