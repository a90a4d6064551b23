#include "bridge/uplink.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "bridge/uplink_tls.hpp"
#include "gateway/log/log.hpp"
#include "gateway/mqtt/codec.hpp"

namespace fieldgate::bridge {
namespace {

using Clock = std::chrono::steady_clock;

struct PasswordRead {
    std::string secret;
    std::string error;  // why the file could not be read ("No such file or directory"); empty when it was
};

// The secret is the file's content; one trailing newline (as editors and
// `echo` leave it, "\n" or "\r\n") is not part of it.
PasswordRead read_password_file(const std::string& path) {
    PasswordRead out;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        out.error = std::generic_category().message(errno);
        return out;
    }
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) out.secret.append(buffer, n);
    const int read_errno = errno;
    const bool failed = std::ferror(file) != 0;  // e.g. EISDIR: fopen opens a directory, fread fails
    std::fclose(file);
    if (failed) {
        out.secret.clear();
        out.error = std::generic_category().message(read_errno);
        return out;
    }
    if (out.secret.ends_with('\n')) out.secret.pop_back();
    if (out.secret.ends_with('\r')) out.secret.pop_back();
    return out;
}

std::uint16_t keepalive_seconds(std::chrono::milliseconds keepalive) {
    if (keepalive.count() <= 0) return 0;
    // Rounded up: the broker then allows a little more than we use.
    const auto seconds = (keepalive.count() + 999) / 1000;
    return static_cast<std::uint16_t>(std::min<std::int64_t>(seconds, 65535));
}

}  // namespace

class Uplink::Events final : public UplinkConnection::Owner {
public:
    explicit Events(Uplink& uplink) : uplink_(uplink) {}
    virtual ~Events() = default;
    void connection_up(const mqtt::Connack& connack) override { uplink_.connection_up(connack); }
    void connection_packet(const mqtt::Packet& packet) override { uplink_.connection_packet(packet); }
    void connection_down(const UplinkFailure& failure) override { uplink_.connection_down(failure); }

private:
    Uplink& uplink_;
};

std::shared_ptr<Uplink> Uplink::create(boost::asio::io_context& io, const config::BridgeConfig& config,
                                       const std::string& default_client_id, UplinkCallbacks callbacks,
                                       UplinkOptions options) {
    return std::shared_ptr<Uplink>(new Uplink(io, config, default_client_id, std::move(callbacks), options));
}

Uplink::Uplink(boost::asio::io_context& io, const config::BridgeConfig& config, const std::string& default_client_id,
               UplinkCallbacks callbacks, UplinkOptions options)
    : io_(io),
      config_(config),
      client_id_(config.client_id.empty() ? default_client_id : config.client_id),
      callbacks_(std::move(callbacks)),
      options_(options),
      version_(config.protocol == config::BridgeProtocol::mqtt311 ? mqtt::ProtocolVersion::v3_1_1
                                                                   : mqtt::ProtocolVersion::v5),
      backoff_(config.reconnect_min, config.reconnect_max, options.backoff_seed),
      events_(std::make_unique<Events>(*this)),
      retry_timer_(io),
      return_timer_(io) {
    if (config.addresses.empty()) throw std::runtime_error("bridge " + config.name + ": no addresses");
    bool tls = false;
    for (const auto& url : config.addresses) {
        auto target = parse_uplink_target(url);
        if (!target) {
            throw std::runtime_error("bridge " + config.name + ": address " + url +
                                     " is not mqtt://, mqtts://, ws:// or wss://HOST[:PORT][/PATH]");
        }
        tls = tls || uses_tls(target->scheme);
        targets_.push_back(std::move(*target));
    }
    if (!options_.return_to_first) options_.return_to_first = config.return_to_first;
    if (!config.password_file.empty()) {
        // Read again at every attempt; read here too so that a file that is
        // unreadable at start-up is a start-up error.
        auto read = read_password_file(config.password_file);
        if (!read.error.empty()) {
            throw std::runtime_error("bridge " + config.name + ": cannot read password_file " + config.password_file +
                                     ": " + read.error);
        }
        password_ = std::move(read.secret);
    }
    stream_settings_.step_timeout = options.step_timeout;
    stream_settings_.sni = config.sni;
    stream_settings_.verify_hostname = options.verify_hostname;
    if (tls) stream_settings_.tls = make_client_context(config);
    status_.since = std::chrono::system_clock::now();
}

Uplink::~Uplink() {
    // Normally stop() came first; otherwise the connection must not call back into a dead object.
    if (connection_) connection_->shutdown(mqtt::ReasonCode::success);
    if (probe_) probe_->close();
}

void Uplink::start() {
    if (started_ || stopped_) return;
    started_ = true;
    index_ = 0;
    attempt();
}

void Uplink::stop(mqtt::ReasonCode reason) {
    if (stopped_) return;
    stopped_ = true;
    retry_timer_.cancel();
    return_timer_.cancel();
    if (probe_) {
        probe_->close();
        probe_.reset();
    }
    if (connection_) {
        connection_->shutdown(reason);
        connection_.reset();
    }
    status_.connected = false;
    status_.next_attempt.reset();
    status_.tls.clear();
}

std::chrono::milliseconds Uplink::keepalive() const {
    return connection_ ? connection_->keepalive() : config_.keepalive;
}

std::vector<std::uint8_t>& Uplink::output() {
    if (connected()) return connection_->output();
    discard_.clear();
    return discard_;
}

void Uplink::flush() {
    if (connected()) connection_->flush();
}

std::size_t Uplink::pending_output() const { return connected() ? connection_->pending_output() : 0; }

bool Uplink::send(const mqtt::Packet& packet) {
    if (!connected()) return false;
    mqtt::encode(packet, version_, connection_->output());
    connection_->flush();
    return true;
}

void Uplink::drop(const std::string& error, mqtt::ReasonCode reason) {
    // Held here: the failure it reports makes connection_down() let go of it.
    if (auto connection = connection_) connection->drop(error, reason);
}

std::vector<std::uint8_t> Uplink::encode_connect() {
    mqtt::Connect connect;
    connect.version = version_;
    connect.clean_start = config_.clean_start;
    connect.keep_alive = keepalive_seconds(config_.keepalive);
    connect.client_id = client_id_;
    if (!config_.username.empty()) connect.username = config_.username;
    if (!config_.password_file.empty()) connect.password = password_;
    if (mqtt::is_v5(version_)) {
        const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(config_.session_expiry).count();
        // 0 is the default on the wire; 0xFFFFFFFF means "never expires" [MQTT-3.1.2.11.2].
        if (expiry > 0) {
            connect.properties.session_expiry_interval =
                static_cast<std::uint32_t>(std::min<std::int64_t>(expiry, std::numeric_limits<std::uint32_t>::max()));
        }
        connect.properties.maximum_packet_size = options_.max_packet_size;
    }
    if (callbacks_.prepare_connect) callbacks_.prepare_connect(connect);
    std::vector<std::uint8_t> bytes;
    mqtt::encode(mqtt::Packet{connect}, version_, bytes);
    return bytes;
}

void Uplink::attempt() {
    if (stopped_) return;
    status_.next_attempt.reset();
    const UplinkTarget& target = targets_[index_];
    status_.address = target.url;
    if (!config_.password_file.empty()) {
        // Read at every attempt, so that a rotated secret is used from the next one on.
        auto read = read_password_file(config_.password_file);
        if (!read.error.empty()) {
            // The file serves every address: the round ends here, and the
            // backoff applies as after any failed round. Posted, as a
            // connection's failure would come, so that no callback runs
            // inside start() or nests in another.
            UplinkFailure failure{.address = target.url,
                                  .error = "cannot read password_file " + config_.password_file + ": " + read.error};
            boost::asio::post(io_, [self = shared_from_this(), failure = std::move(failure)] {
                if (!self->stopped_) self->attempt_failed(failure, true);
            });
            return;
        }
        password_ = std::move(read.secret);
    }
    log::get("bridge:" + config_.name)->debug("connecting to {}", target.url);
    auto stream = UplinkStream::create(io_, target, stream_settings_);
    UplinkConnection::Settings settings{.version = version_,
                                        .keepalive = config_.keepalive,
                                        .step_timeout = options_.step_timeout,
                                        .max_packet_size = options_.max_packet_size,
                                        .close_linger = options_.close_linger};
    connection_ = std::make_shared<UplinkConnection>(std::move(stream), io_.get_executor(), settings, *events_);
    connection_->start(encode_connect());
}

void Uplink::connection_up(const mqtt::Connack& connack) {
    const auto& url = targets_[index_].url;
    up_since_ = Clock::now();
    round_errors_.clear();
    status_.connected = true;
    status_.since = std::chrono::system_clock::now();
    status_.tls = connection_->negotiated();
    if (status_.connections++ > 0) ++status_.reconnects;
    log::get("bridge:" + config_.name)
        ->info("connected to {}{}{} (MQTT {}, session present: {})", url, status_.tls.empty() ? "" : ", ",
               status_.tls, mqtt::to_string(version_), connack.session_present ? "yes" : "no");
    arm_return_to_first();
    if (callbacks_.on_connected) callbacks_.on_connected(connack, connack.session_present, url);
}

void Uplink::connection_packet(const mqtt::Packet& packet) {
    if (callbacks_.on_packet) callbacks_.on_packet(packet);
}

void Uplink::connection_down(const UplinkFailure& reported) { attempt_failed(reported, false); }

// A failed attempt or the end of a connection: reported, then the next
// address at once, or (`round_over`, or none left) the backoff and the first.
void Uplink::attempt_failed(const UplinkFailure& reported, bool round_over) {
    UplinkFailure failure = reported;
    failure.address = targets_[index_].url;
    connection_.reset();
    return_timer_.cancel();
    const bool was_stable = failure.was_connected && Clock::now() - up_since_ >= options_.stable_after;
    if (was_stable) backoff_.reset();
    if (!failure.was_connected) ++status_.failed_attempts;
    status_.last_error = failure.error;
    status_.last_error_at = std::chrono::system_clock::now();
    if (status_.connected) status_.since = status_.last_error_at;
    status_.connected = false;
    status_.tls.clear();
    auto log = log::get("bridge:" + config_.name);
    if (failure.was_connected) {
        log->warn("connection to {} lost: {}", failure.address, failure.error);
    } else {
        log->debug("cannot connect to {}: {}", failure.address, failure.error);
    }
    round_errors_.push_back(failure.address + ": " + failure.error);

    // Told first, so that the bridge sees the failure before any later event;
    // the callback may stop the uplink.
    if (callbacks_.on_disconnected) callbacks_.on_disconnected(failure);
    if (stopped_) return;
    ++index_;
    schedule_next(round_over || index_ >= targets_.size());
}

void Uplink::schedule_next(bool round_over) {
    if (!round_over) {
        // Failover: the next address at once, posted so that no callback nests in another.
        boost::asio::post(io_, [self = shared_from_this()] { self->attempt(); });
        return;
    }
    index_ = 0;
    const auto wait = backoff_.next();
    status_.next_attempt = std::chrono::system_clock::now() + wait;
    // One line per failed round, however many addresses it tried.
    std::string errors;
    for (const auto& e : round_errors_) errors += (errors.empty() ? "" : "; ") + e;
    round_errors_.clear();
    log::get("bridge:" + config_.name)->warn("no connection ({}); next try in {}", errors, describe_duration(wait));
    retry_timer_.expires_after(wait);
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->attempt();
    });
}

void Uplink::arm_return_to_first() {
    const auto every = options_.return_to_first.value_or(std::chrono::milliseconds{0});
    if (index_ == 0 || every.count() <= 0) return;
    return_timer_.expires_after(every);
    return_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->probe_first();
    });
}

// Opens the first address's stream (DNS, TCP, TLS, WebSocket; no MQTT, so
// no session is taken over) while the current connection carries on. Only
// when that works is the current connection ended and the first tried.
void Uplink::probe_first() {
    if (stopped_ || !connected() || index_ == 0) return;
    probe_ = UplinkStream::create(io_, targets_[0], stream_settings_);
    probe_->async_open([self = shared_from_this(), probe = probe_](const std::string& error) {
        probe->close();
        if (self->probe_ != probe) return;
        self->probe_.reset();
        if (self->stopped_ || !self->connected()) return;
        if (!error.empty()) {
            log::get("bridge:" + self->config_.name)->debug("{} still unreachable: {}", self->targets_[0].url, error);
            self->arm_return_to_first();
            return;
        }
        log::get("bridge:" + self->config_.name)
            ->info("{} answers again; moving back to it from {}", self->targets_[0].url,
                   self->targets_[self->index_].url);
        UplinkFailure failure{.address = self->targets_[self->index_].url,
                              .error = "moving back to " + self->targets_[0].url,
                              .was_connected = true};
        self->connection_->shutdown(mqtt::ReasonCode::success);
        self->connection_.reset();
        self->status_.connected = false;
        self->status_.since = std::chrono::system_clock::now();
        self->status_.tls.clear();
        if (self->callbacks_.on_disconnected) self->callbacks_.on_disconnected(failure);
        if (self->stopped_) return;
        self->index_ = 0;
        self->attempt();
    });
}

}  // namespace fieldgate::bridge
