#include "bridge/bridge.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <stdexcept>

#include "config/units.hpp"
#include "gateway/broker/session.hpp"
#include "gateway/log/log.hpp"
#include "gateway/mqtt/codec.hpp"

namespace fieldgate::bridge {
namespace {

using mqtt::ProtocolVersion;

// The packet id of the bridge's one SUBSCRIBE on each side: sent before the
// session is attached (so no PUBLISH of ours is in flight locally), answered
// before anything else is sent upstream.
constexpr std::uint16_t local_subscribe_id = 1;  // to our own session
constexpr std::uint16_t max_window = 256;
constexpr std::uint16_t window_311 = 64;  // MQTT 3.1.1 brokers announce none
constexpr auto state_interval = std::chrono::seconds{10};
constexpr auto echo_window = std::chrono::seconds{30};
constexpr std::size_t max_echoes = 10000;

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += escaped;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string iso_time(std::chrono::system_clock::time_point t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

// QoS 0 is kept for the cloud while the uplink is down, in memory only, up
// to this many (or max_messages, if smaller).
constexpr std::uint64_t max_qos0_queued = 10000;

std::shared_ptr<const broker::QueuePolicy> make_queue_policy(const config::BridgeQueueConfig& q,
                                                             const TopicMap& map) {
    auto policy = std::make_shared<broker::QueuePolicy>();
    policy->max_messages = q.max_messages;
    policy->max_bytes = q.max_bytes.bytes;
    policy->max_age = std::chrono::duration_cast<std::chrono::milliseconds>(q.max_age);
    policy->drop_oldest = q.when_full == config::QueueFullPolicy::drop_oldest;
    switch (q.drain) {
        case config::DrainOrder::oldest_first: policy->drain = broker::QueuePolicy::Drain::oldest_first; break;
        case config::DrainOrder::interleaved: policy->drain = broker::QueuePolicy::Drain::interleaved; break;
        case config::DrainOrder::newest_first: policy->drain = broker::QueuePolicy::Drain::newest_first; break;
    }
    policy->drain_rate = q.drain_rate;
    policy->max_qos0 = std::min(q.max_messages, max_qos0_queued);
    if (map.has_high_priority()) {
        // The rule that forwards a topic decides its priority; the policy
        // keeps its own copy of the rules, as the session may outlive the bridge.
        policy->high_priority = [map = std::make_shared<const TopicMap>(map)](std::string_view topic) {
            const auto mapped = map->to_remote(topic);
            return mapped && mapped->priority == config::TopicPriority::high;
        };
    }
    return policy;
}

TopicMap make_map(const config::BridgeConfig& config) {
    auto result = TopicMap::from(config.topics);
    if (!result.ok()) {
        std::string text = "bridge " + config.name + ": ";
        for (const auto& e : result.errors) text += "topic[" + std::to_string(e.rule) + "]." + e.key + ": " + e.message + "; ";
        throw std::runtime_error(text.substr(0, text.size() - 2));
    }
    return std::move(result.map);
}

}  // namespace

Bridge::Bridge(broker::Broker& broker, boost::asio::io_context& io, std::size_t worker,
               const config::BridgeConfig& config, const std::string& gateway_name)
    : broker_(broker),
      io_(io),
      worker_(worker),
      config_(config),
      identity_("bridge:" + config.name),
      map_(make_map(config)),
      queue_policy_(make_queue_policy(config.queue, map_)),
      state_timer_(io) {
    UplinkCallbacks callbacks;
    callbacks.on_connected = [this](const mqtt::Connack& connack, bool, const std::string&) { uplink_connected(connack); };
    callbacks.on_packet = [this](const mqtt::Packet& packet) { uplink_packet(packet); };
    callbacks.on_disconnected = [this](const UplinkFailure& failure) { uplink_lost(failure); };
    uplink_ = Uplink::create(io, config, gateway_name, std::move(callbacks));
}

Bridge::~Bridge() = default;

void Bridge::start() {
    // The session exists and holds the out-rules' subscriptions from the
    // start, so messages are kept for the cloud even if it is never reached.
    attach_session(false);
    uplink_->start();
    publish_state();
}

void Bridge::stop() {
    if (stopped_) return;
    stopped_ = true;
    state_timer_.cancel();
    uplink_->stop();
    if (link_) link_->detach();
    link_.reset();
    live_ = false;
}

void Bridge::attach_session(bool live) {
    if (link_) link_->detach();
    broker::PeerInfo info;
    info.address = "in-process";
    info.internal_identity = identity_;
    info.queue_policy = queue_policy_;
    link_ = std::make_shared<SessionLink>(io_.get_executor(), static_cast<SessionLink::Owner&>(*this), std::move(info),
                                          identity_);
    live_ = live;

    mqtt::Connect connect;
    connect.version = ProtocolVersion::v5;
    connect.clean_start = false;
    connect.client_id = identity_;
    connect.properties.session_expiry_interval = 0xFFFFFFFF;  // never expires
    connect.properties.receive_maximum = window_;  // the session sends no more than the cloud takes
    if (cloud_max_packet_ != 0) connect.properties.maximum_packet_size = cloud_max_packet_;
    std::vector<std::uint8_t> bytes;
    mqtt::encode(mqtt::Packet{connect}, ProtocolVersion::v5, bytes);
    broker_.connect(link_, worker_, std::move(bytes));
}

void Bridge::session_attached(SessionLink& link) {
    if (&link != link_.get()) return;
    if (!subscribed_locally_) return subscribe_locally();
    if (!live_) {
        link_->detach();
        link_.reset();
        return;
    }
    auto early = std::move(early_);
    early_.clear();
    for (const auto& bytes : early) {
        const auto decoded = mqtt::decode(bytes, uplink_->version());
        if (decoded.status == mqtt::DecodeStatus::packet) uplink_packet(decoded.packet);
    }
}

void Bridge::subscribe_locally() {
    const auto subscriptions = map_.local_subscriptions();
    if (subscriptions.empty()) {
        subscribed_locally_ = true;
        return session_attached(*link_);
    }
    mqtt::Subscribe subscribe;
    subscribe.packet_id = local_subscribe_id;
    for (const auto& s : subscriptions) {
        mqtt::SubscriptionOptions options;
        options.qos = static_cast<mqtt::QoS>(s.qos);
        options.no_local = true;  // what came down from the cloud does not go back up
        options.retain_as_published = true;
        options.retain_handling = mqtt::RetainHandling::send_if_new_subscription;
        subscribe.subscriptions.push_back({s.filter, options});
    }
    to_session(subscribe);
}

void Bridge::from_session(SessionLink& link, const std::vector<std::uint8_t>& bytes) {
    if (&link != link_.get()) return;
    auto log = log::get("bridge");
    std::span<const std::uint8_t> rest(bytes);
    while (!rest.empty()) {
        auto decoded = mqtt::decode(rest, ProtocolVersion::v5);
        if (decoded.status != mqtt::DecodeStatus::packet) break;  // the broker's own encoding: cannot happen
        rest = rest.subspan(decoded.size);
        const auto& packet = decoded.packet;
        if (const auto* connack = std::get_if<mqtt::Connack>(&packet)) {
            if (connack->reason_code != mqtt::ReasonCode::success) {
                log->error("bridge {}: the local broker refused its session: {}", config_.name,
                           mqtt::reason_name(connack->reason_code));
            }
        } else if (const auto* suback = std::get_if<mqtt::Suback>(&packet)) {
            if (suback->packet_id != local_subscribe_id || subscribed_locally_) continue;
            subscribed_locally_ = true;
            const auto subscriptions = map_.local_subscriptions();
            for (std::size_t i = 0; i < suback->reason_codes.size() && i < subscriptions.size(); ++i) {
                if (static_cast<std::uint8_t>(suback->reason_codes[i]) >= 0x80) {
                    log->error("bridge {}: local subscription {} refused: {}", config_.name, subscriptions[i].filter,
                               mqtt::reason_name(suback->reason_codes[i]));
                }
            }
            session_attached(*link_);
            if (!link_) return;
        } else if (const auto* publish = std::get_if<mqtt::Publish>(&packet)) {
            // Not live (an attachment at start-up, before the cloud answers):
            // the session keeps QoS 1/2 in flight and resends them on the next
            // attachment; QoS 0 is gone.
            if (live_) {
                to_cloud(*publish);
            } else if (publish->qos == mqtt::QoS::at_most_once) {
                ++dropped_;
            }
        } else if (const auto* pubrel = std::get_if<mqtt::Pubrel>(&packet)) {
            if (answered_for_session_.erase(pubrel->packet_id) != 0) {
                mqtt::Pubcomp pubcomp;
                pubcomp.packet_id = pubrel->packet_id;
                to_session(pubcomp);
            } else if (live_) {
                send_up(packet);
            }
        } else if (std::holds_alternative<mqtt::Puback>(packet) || std::holds_alternative<mqtt::Pubrec>(packet) ||
                   std::holds_alternative<mqtt::Pubcomp>(packet)) {
            if (live_) send_up(packet);  // the session acknowledges what the cloud sent
        } else if (const auto* disconnect = std::get_if<mqtt::Disconnect>(&packet)) {
            log->info("bridge {}: the local broker ended its session's attachment: {}", config_.name,
                      mqtt::reason_name(disconnect->reason_code));
        }
    }
}

void Bridge::to_cloud(const mqtt::Publish& publish) {
    const auto mapped = map_.to_remote(publish.topic);
    if (!mapped || !mapped->ok()) {
        // A subscription from an older configuration, or a topic the cloud
        // cannot take: acknowledged to the session so it is not kept forever.
        ++dropped_;
        log::get("bridge")->warn("bridge {}: not forwarding {}: {}", config_.name, publish.topic,
                                 mapped ? mapped->refused : std::string_view("no out rule matches"));
        if (publish.qos == mqtt::QoS::at_least_once) {
            mqtt::Puback puback;
            puback.packet_id = publish.packet_id;
            to_session(puback);
        } else if (publish.qos == mqtt::QoS::exactly_once) {
            answered_for_session_.insert(publish.packet_id);
            mqtt::Pubrec pubrec;
            pubrec.packet_id = publish.packet_id;
            to_session(pubrec);
        }
        return;
    }
    mqtt::Publish up = publish;
    up.topic = mapped->topic;
    if (uplink_->version() != ProtocolVersion::v5 && map_.to_local(up.topic)) {
        if (echoes_.size() == max_echoes) echoes_.pop_front();
        echoes_.push_back({mapped->topic, std::hash<std::string_view>{}(up.payload), std::chrono::steady_clock::now()});
    }
    send_up(up);
    ++forwarded_out_;
}

void Bridge::uplink_connected(const mqtt::Connack& connack) {
    if (uplink_->version() == ProtocolVersion::v5) {
        window_ = std::min(connack.properties.receive_maximum.value_or(65535), max_window);
        cloud_max_packet_ = connack.properties.maximum_packet_size.value_or(0);
    } else {
        window_ = window_311;
        cloud_max_packet_ = 0;
    }
    early_.clear();
    const auto subscriptions = map_.remote_subscriptions();
    if (subscriptions.empty()) {
        attach_session(true);
    } else {
        mqtt::Subscribe subscribe;
        // The cloud may still hold our in-flight PUBLISHes from the last
        // connection; their ids are not free for the SUBSCRIBE [MQTT-2.2.1-3].
        remote_subscribe_id_ = 1;
        if (const auto* session = own_session()) remote_subscribe_id_ = session->unused_packet_id();
        subscribe.packet_id = remote_subscribe_id_;
        for (const auto& s : subscriptions) {
            mqtt::SubscriptionOptions options;
            options.qos = static_cast<mqtt::QoS>(s.qos);
            options.no_local = true;  // MQTT 5: our own publishes do not come back down
            options.retain_as_published = true;
            subscribe.subscriptions.push_back({s.filter, options});
        }
        awaiting_remote_suback_ = true;
        send_up(subscribe);
    }
    publish_state();
}

void Bridge::uplink_packet(const mqtt::Packet& packet) {
    if (const auto* suback = std::get_if<mqtt::Suback>(&packet)) {
        if (!awaiting_remote_suback_ || suback->packet_id != remote_subscribe_id_) return;
        awaiting_remote_suback_ = false;
        const auto subscriptions = map_.remote_subscriptions();
        for (std::size_t i = 0; i < suback->reason_codes.size() && i < subscriptions.size(); ++i) {
            if (static_cast<std::uint8_t>(suback->reason_codes[i]) >= 0x80) {
                log::get("bridge")->error("bridge {}: the cloud refused the subscription {}: {}", config_.name,
                                          subscriptions[i].filter, mqtt::reason_name(suback->reason_codes[i]));
            }
        }
        attach_session(true);
        return;
    }
    const bool for_session = std::holds_alternative<mqtt::Publish>(packet) ||
                             std::holds_alternative<mqtt::Puback>(packet) ||
                             std::holds_alternative<mqtt::Pubrec>(packet) ||
                             std::holds_alternative<mqtt::Pubrel>(packet) ||
                             std::holds_alternative<mqtt::Pubcomp>(packet);
    if (!for_session) return;
    if (!live_ || !link_ || link_->session() == nullptr) {
        std::vector<std::uint8_t> bytes;  // kept until the session is attached, in order
        mqtt::encode(packet, uplink_->version(), bytes);
        early_.push_back(std::move(bytes));
        return;
    }
    if (const auto* publish = std::get_if<mqtt::Publish>(&packet)) return from_cloud(*publish);
    if (const auto* ack = std::get_if<mqtt::Puback>(&packet); ack && static_cast<std::uint8_t>(ack->reason_code) >= 0x80) {
        ++dropped_;
        log::get("bridge")->warn("bridge {}: the cloud refused a message: PUBACK {}", config_.name,
                                 mqtt::reason_name(ack->reason_code));
    }
    to_session(packet);
}

// Takes a cloud PUBLISH that is not passed on off the cloud's hands.
void Bridge::acknowledge_up(const mqtt::Publish& publish) {
    if (publish.qos == mqtt::QoS::at_least_once) {
        mqtt::Puback puback;
        puback.packet_id = publish.packet_id;
        send_up(puback);
    } else if (publish.qos == mqtt::QoS::exactly_once) {
        // Its PUBREL goes to the session, which answers PUBCOMP (0x92 in MQTT 5).
        mqtt::Pubrec pubrec;
        pubrec.packet_id = publish.packet_id;
        send_up(pubrec);
    }
}

bool Bridge::is_echo(const mqtt::Publish& publish) {
    const auto now = std::chrono::steady_clock::now();
    while (!echoes_.empty() && now - echoes_.front().at > echo_window) echoes_.pop_front();
    const auto hash = std::hash<std::string_view>{}(publish.payload);
    for (auto it = echoes_.begin(); it != echoes_.end(); ++it) {
        if (it->payload_hash == hash && it->topic == publish.topic) {
            echoes_.erase(it);
            return true;
        }
    }
    return false;
}

void Bridge::from_cloud(const mqtt::Publish& publish) {
    if (!echoes_.empty() && is_echo(publish)) return acknowledge_up(publish);
    const auto mapped = map_.to_local(publish.topic);
    if (!mapped || !mapped->ok()) {
        ++dropped_;
        log::get("bridge")->warn("bridge {}: not delivering {} from the cloud: {}", config_.name, publish.topic,
                                 mapped ? mapped->refused : std::string_view("no in rule matches"));
        return acknowledge_up(publish);
    }
    mqtt::Publish local = publish;
    local.topic = mapped->topic;
    local.properties.subscription_identifiers.clear();  // the cloud's, meaningless here
    to_session(local);
    ++forwarded_in_;
}

void Bridge::uplink_lost(const UplinkFailure& failure) {
    awaiting_remote_suback_ = false;
    early_.clear();
    if (failure.was_connected && live_ && link_) {
        link_->detach();  // the session keeps its messages for the next connection
        link_.reset();
    }
    live_ = false;
    publish_state();
}

void Bridge::to_session(const mqtt::Packet& packet) {
    if (link_ && link_->session() != nullptr) link_->session()->handle(packet);
}

void Bridge::send_up(const mqtt::Packet& packet) {
    uplink_->send(packet);
}

broker::Session* Bridge::own_session() {
    const auto entry = broker_.registry().find(identity_);
    return entry ? broker_.find_session(worker_, entry->id) : nullptr;
}

// $SYS/bridge/NAME/state, retained, on every change and every 10 s. Also
// the queue's upkeep while the uplink is down: messages past max_age leave,
// and what the queue dropped since the last time is logged.
void Bridge::publish_state() {
    if (stopped_) return;
    const auto& s = uplink_->status();
    std::size_t queued = 0;
    std::size_t inflight = 0;
    std::uint64_t queued_bytes = 0;
    double oldest_age = 0;
    broker::SessionQueue::Drops drops;
    if (auto* session = own_session()) {
        session->trim_queue();
        const auto& queue = session->queue();
        queued = queue.size();
        queued_bytes = queue.bytes();
        drops = queue.drops();
        if (const auto oldest = queue.oldest()) {
            oldest_age = std::chrono::duration<double>(broker_.executor().now() - *oldest).count();
        }
        inflight = session->inflight();
    }
    log_queue_drops(drops);
    std::string json = "{\"connected\":" + std::string(s.connected ? "true" : "false");
    json += ",\"address\":" + json_string(s.address);
    json += ",\"since\":" + json_string(iso_time(s.since));
    json += ",\"last_error\":" + json_string(s.last_error);
    if (!s.last_error.empty()) json += ",\"last_error_at\":" + json_string(iso_time(s.last_error_at));
    json += ",\"connections\":" + std::to_string(s.connections);
    json += ",\"reconnects\":" + std::to_string(s.reconnects);
    json += ",\"failed_attempts\":" + std::to_string(s.failed_attempts);
    json += ",\"queued_messages\":" + std::to_string(queued);
    json += ",\"queued_bytes\":" + std::to_string(queued_bytes);
    char age[32];
    std::snprintf(age, sizeof age, "%.3f", oldest_age);
    json += ",\"oldest_queued_age_s\":" + std::string(age);
    json += ",\"inflight_messages\":" + std::to_string(inflight);
    json += ",\"forwarded_out\":" + std::to_string(forwarded_out_);
    json += ",\"forwarded_in\":" + std::to_string(forwarded_in_);
    json += ",\"dropped_queue_full\":" + std::to_string(drops.full);
    json += ",\"dropped_max_age\":" + std::to_string(drops.aged);
    json += ",\"dropped\":" + std::to_string(dropped_) + "}";

    auto m = std::make_shared<broker::Message>();
    m->id = broker_.new_message_id();
    m->received_at = broker_.executor().now();
    m->topic = "$SYS/bridge/" + config_.name + "/state";
    m->payload = std::move(json);
    m->retain = true;
    broker_.publish(worker_, m);

    state_timer_.expires_after(state_interval);
    state_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) publish_state();
    });
}

// Drops are counted in the state topic; the log says so at most once per
// state publication, not once per message.
void Bridge::log_queue_drops(const broker::SessionQueue::Drops& drops) {
    const auto full = drops.full - logged_drops_.full;
    const auto aged = drops.aged - logged_drops_.aged;
    logged_drops_ = drops;
    const auto log = log::get("bridge");
    if (full > 0) {
        log->warn("bridge {}: the queue dropped {} message(s) because it was full (when_full = {})", config_.name, full,
                  config_.queue.when_full == config::QueueFullPolicy::drop_oldest ? "drop_oldest" : "drop_new");
    }
    if (aged > 0) {
        log->warn("bridge {}: the queue dropped {} message(s) older than max_age {}", config_.name, aged,
                  config::format_duration(config_.queue.max_age));
    }
}

}  // namespace fieldgate::bridge
