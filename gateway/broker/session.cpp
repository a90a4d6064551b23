// The session's life with its connections: CONNACK, the packets a client may
// send after CONNECT, will and expiry. Outbound delivery is in session_delivery.cpp.
#include "gateway/broker/session.hpp"

#include <algorithm>

#include "gateway/broker/broker.hpp"
#include "gateway/mqtt/codec.hpp"
#include "gateway/mqtt/topic.hpp"

namespace fieldgate::broker {
namespace {

using mqtt::ReasonCode;

// MQTT 5's "never expires" [MQTT 5.0, 3.1.2.11.2]; also 3.1.1's persistent sessions.
constexpr std::chrono::seconds never{0xFFFFFFFFu};

}  // namespace

Session::Session(Broker& broker, SessionId id, std::string client_id, std::size_t worker)
    : broker_(broker), id_(id), client_id_(std::move(client_id)), worker_(worker) {}

Session::~Session() = default;

void Session::moved_to(std::size_t worker) {
    if (worker == worker_) return;
    worker_ = worker;
    // Routing finds sessions through their subscriptions' worker.
    for (const auto& [filter, sub] : subscriptions_) {
        bool is_new = false;
        broker_.subscribe(*this, filter, sub.options, sub.subscription_id, is_new);
    }
}

void Session::attach(std::shared_ptr<ConnectionPort> port, const mqtt::Connect& connect, bool session_present,
                     std::string_view assigned_client_id) {
    port_ = std::move(port);
    version_ = connect.version;
    disconnect_normal_ = false;
    will_timer_.reset();  // a new connection before the will delay cancels the will [MQTT-3.1.3-9]
    expiry_timer_.reset();
    inbound_aliases_.clear();  // topic aliases live as long as one connection [MQTT-3.3.2-10]
    outbound_aliases_.clear();

    const auto& props = connect.properties;
    client_ = ClientLimits{};
    if (mqtt::is_v5(version_)) {
        client_.receive_maximum = props.receive_maximum.value_or(65535);
        client_.maximum_packet_size = props.maximum_packet_size.value_or(0);
        client_.topic_alias_maximum = props.topic_alias_maximum.value_or(0);
        client_.problem_information = props.request_problem_information.value_or(1) == 1;
        expiry_interval_ = std::chrono::seconds{props.session_expiry_interval.value_or(0)};
    } else {
        expiry_interval_ = connect.clean_start ? std::chrono::seconds{0} : never;
    }

    will_.reset();
    if (connect.will) {
        mqtt::Publish p;
        p.topic = connect.will->topic;
        p.payload = connect.will->payload;
        p.qos = connect.will->qos;
        p.retain = connect.will->retain;
        p.properties = connect.will->properties;
        const auto delay = connect.will->properties.will_delay_interval.value_or(0);
        will_ = Will{make_message(p, p.topic, id_, broker_.executor().now()), std::chrono::seconds{delay}};
    }

    // Keep alive: enforced at one and a half times the interval [MQTT-3.1.2-22]; an
    // MQTT 5 client asking for more than the maximum is told the maximum (Server Keep Alive).
    mqtt::Connack connack;
    connack.session_present = session_present;
    std::chrono::seconds keep_alive{connect.keep_alive};
    const auto max_keepalive = broker_.limits().max_keepalive;
    if (mqtt::is_v5(version_)) {
        if (keep_alive > max_keepalive || keep_alive == std::chrono::seconds::zero()) {
            keep_alive = max_keepalive;
            connack.properties.server_keep_alive = static_cast<std::uint16_t>(max_keepalive.count());
        }
        connack.properties.receive_maximum = broker_.limits().receive_maximum;
        connack.properties.maximum_packet_size = broker_.limits().max_packet_size;
        connack.properties.topic_alias_maximum = broker_.limits().topic_alias_maximum;
        if (!assigned_client_id.empty()) connack.properties.assigned_client_identifier = assigned_client_id;
    }
    port_->set_receive_timeout(std::chrono::duration_cast<std::chrono::milliseconds>(keep_alive) * 3 / 2);
    send(connack);
    broker_.stats().clients_connected.fetch_add(1, std::memory_order_relaxed);

    // Resume: unacknowledged PUBLISHes again with DUP, PUBRELs again [MQTT-4.4.0-1].
    const auto now = broker_.executor().now();
    for (auto it = inflight_.begin(); it != inflight_.end();) {
        if (it->released) {
            send(mqtt::Pubrel{it->packet_id});
        } else if (it->delivery.message->expired(now) || !send_publish(*it, true)) {
            it = inflight_.erase(it);
            continue;
        }
        ++it;
    }
    pump();
}

void Session::handle(const mqtt::Packet& packet) {
    std::visit(
        [this](const auto& p) {
            using P = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<P, mqtt::Publish>) {
                on_publish(p);
            } else if constexpr (std::is_same_v<P, mqtt::Puback>) {
                on_puback(p.packet_id);
            } else if constexpr (std::is_same_v<P, mqtt::Pubrec>) {
                on_pubrec(p);
            } else if constexpr (std::is_same_v<P, mqtt::Pubrel>) {
                on_pubrel(p);
            } else if constexpr (std::is_same_v<P, mqtt::Pubcomp>) {
                on_pubcomp(p.packet_id);
            } else if constexpr (std::is_same_v<P, mqtt::Subscribe>) {
                on_subscribe(p);
            } else if constexpr (std::is_same_v<P, mqtt::Unsubscribe>) {
                on_unsubscribe(p);
            } else if constexpr (std::is_same_v<P, mqtt::Pingreq>) {
                send(mqtt::Pingresp{});
            } else if constexpr (std::is_same_v<P, mqtt::Disconnect>) {
                on_disconnect(p);
            } else if constexpr (std::is_same_v<P, mqtt::Connect>) {
                disconnect(ReasonCode::protocol_error, "second CONNECT");  // [MQTT-3.1.0-2]
            } else if constexpr (std::is_same_v<P, mqtt::Auth>) {
                // Enhanced authentication is never accepted at CONNECT, so AUTH cannot follow.
                disconnect(ReasonCode::protocol_error, "AUTH without an authentication method");
            } else {
                // CONNACK, SUBACK, UNSUBACK, PINGRESP: only a server sends these.
                disconnect(ReasonCode::protocol_error, "packet a client may not send");
            }
        },
        packet);
}

void Session::on_publish(const mqtt::Publish& publish) {
    std::string_view topic = publish.topic;
    if (mqtt::is_v5(version_)) {
        if (!publish.properties.subscription_identifiers.empty()) {
            return disconnect(ReasonCode::protocol_error, "subscription identifier in PUBLISH");  // [MQTT-3.3.4-6]
        }
        if (const auto alias = publish.properties.topic_alias) {
            if (*alias > broker_.limits().topic_alias_maximum) {
                return disconnect(ReasonCode::topic_alias_invalid, "topic alias above the maximum");  // [MQTT-3.3.2-9]
            }
            if (inbound_aliases_.size() < *alias) inbound_aliases_.resize(*alias);
            auto& known = inbound_aliases_[*alias - 1u];
            if (topic.empty()) {
                if (known.empty()) return disconnect(ReasonCode::protocol_error, "unknown topic alias");
                topic = known;
            } else {
                known = std::string(topic);
            }
        }
    }
    if (publish.qos == mqtt::QoS::exactly_once) {
        const bool duplicate = std::find(inbound_qos2_.begin(), inbound_qos2_.end(), publish.packet_id) !=
                               inbound_qos2_.end();
        if (duplicate) {
            // Routed already: a resend is only acknowledged, so it is delivered once [MQTT 5.0, 4.3.3].
            send(mqtt::Pubrec{publish.packet_id});
            return;
        }
        if (inbound_qos2_.size() >= broker_.limits().receive_maximum) {
            return disconnect(ReasonCode::receive_maximum_exceeded, "more QoS 2 messages in flight than Receive Maximum");
        }
    }

    broker_.stats().messages_received.fetch_add(1, std::memory_order_relaxed);
    const auto message = make_message(publish, topic, id_, broker_.executor().now());
    const std::size_t reached = broker_.publish(worker_, message);
    const auto reason = reached == 0 && mqtt::is_v5(version_) ? ReasonCode::no_matching_subscribers
                                                               : ReasonCode::success;
    if (publish.qos == mqtt::QoS::at_least_once) {
        send(mqtt::Puback{publish.packet_id, reason, {}});
    } else if (publish.qos == mqtt::QoS::exactly_once) {
        inbound_qos2_.push_back(publish.packet_id);
        send(mqtt::Pubrec{publish.packet_id, reason, {}});
    }
}

void Session::on_pubrel(const mqtt::Pubrel& pubrel) {
    const auto it = std::find(inbound_qos2_.begin(), inbound_qos2_.end(), pubrel.packet_id);
    mqtt::Pubcomp pubcomp{pubrel.packet_id};
    if (it != inbound_qos2_.end()) {
        inbound_qos2_.erase(it);
    } else if (mqtt::is_v5(version_)) {
        pubcomp.reason_code = ReasonCode::packet_identifier_not_found;
    }
    send(pubcomp);
}

void Session::on_subscribe(const mqtt::Subscribe& subscribe) {
    mqtt::Suback suback;
    suback.packet_id = subscribe.packet_id;
    const std::uint32_t subscription_id =
        subscribe.properties.subscription_identifiers.empty() ? 0 : subscribe.properties.subscription_identifiers[0];
    std::vector<Delivery> retained;
    std::vector<MessagePtr> matches;
    const auto now = broker_.executor().now();
    for (const auto& sub : subscribe.subscriptions) {
        mqtt::SubscriptionOptions options = sub.options;
        bool is_new = false;
        broker_.subscribe(*this, sub.filter, options, subscription_id, is_new);
        subscriptions_[std::string(sub.filter)] = Subscription{options, subscription_id};
        suback.reason_codes.push_back(static_cast<ReasonCode>(options.qos));

        // Retained messages per Retain Handling; never for shared subscriptions [MQTT 5.0, 4.8.2].
        const auto handling = options.retain_handling;
        const bool send_retained = handling == mqtt::RetainHandling::send_on_subscribe ||
                                   (handling == mqtt::RetainHandling::send_if_new_subscription && is_new);
        if (!send_retained || mqtt::is_shared_filter(sub.filter)) continue;
        matches.clear();
        broker_.retained().match(sub.filter, now, matches);
        for (const auto& message : matches) {
            Delivery d;
            d.session = id_;
            d.message = message;
            d.qos = std::min(message->qos, options.qos);
            d.retain = true;  // [MQTT-3.3.1-9]
            if (subscription_id != 0) d.subscription_ids.push_back(subscription_id);
            retained.push_back(std::move(d));
        }
    }
    send(suback);
    for (auto& d : retained) deliver(std::move(d));
}

void Session::on_unsubscribe(const mqtt::Unsubscribe& unsubscribe) {
    mqtt::Unsuback unsuback;
    unsuback.packet_id = unsubscribe.packet_id;
    for (const auto filter : unsubscribe.filters) {
        const bool existed = broker_.unsubscribe(*this, filter);
        if (const auto it = subscriptions_.find(filter); it != subscriptions_.end()) subscriptions_.erase(it);
        unsuback.reason_codes.push_back(existed ? ReasonCode::success : ReasonCode::no_subscription_existed);
    }
    send(unsuback);
}

void Session::on_disconnect(const mqtt::Disconnect& d) {
    if (const auto expiry = d.properties.session_expiry_interval) {
        if (expiry_interval_ == std::chrono::seconds::zero() && *expiry != 0) {
            return disconnect(ReasonCode::protocol_error, "session expiry set on DISCONNECT after 0 at CONNECT");  // [MQTT-3.14.2-2]
        }
        expiry_interval_ = std::chrono::seconds{*expiry};
    }
    // 0x04 asks for the will to be published after all [MQTT 5.0, 3.14.2.1].
    disconnect_normal_ = d.reason_code != ReasonCode::disconnect_with_will;
    port_->close();
    connection_lost();
}

void Session::disconnect(ReasonCode reason, std::string_view reason_string) {
    if (!port_) return;
    if (mqtt::is_v5(version_)) {
        mqtt::Disconnect d;
        d.reason_code = reason;
        if (!reason_string.empty()) d.properties.reason_string = reason_string;
        send(d);
    }
    port_->close();
    connection_lost();
}

void Session::close_for_shutdown() {
    disconnect_normal_ = true;
    disconnect(ReasonCode::server_shutting_down);
}

void Session::connection_lost() {
    if (!port_) return;
    detach();
    if (disconnect_normal_) {
        will_.reset();  // [MQTT-3.1.2-10]
    } else {
        schedule_will();
    }
    if (persistent()) {
        start_expiry();
    } else {
        broker_.end_session(*this);
    }
}

void Session::detach() {
    port_.reset();
    broker_.stats().clients_connected.fetch_sub(1, std::memory_order_relaxed);
}

void Session::schedule_will() {
    if (!will_) return;
    // Published after the will delay or at session end, whichever comes first [MQTT-3.1.3-9].
    const auto delay = std::min(will_->delay, expiry_interval_);
    if (delay == std::chrono::seconds::zero()) return publish_will();
    will_timer_ = broker_.executor().run_after(worker_, delay, [this] { publish_will(); });
}

void Session::publish_will() {
    if (!will_) return;
    const MessagePtr message = will_->message;
    will_.reset();
    broker_.publish(worker_, message);
}

void Session::start_expiry() {
    if (expiry_interval_ >= never) return;
    expiry_timer_ = broker_.executor().run_after(worker_, expiry_interval_, [this] { broker_.end_session(*this); });
}

void Session::end() {
    will_timer_.reset();
    publish_will();
    expiry_timer_.reset();
    for (const auto& [filter, sub] : subscriptions_) broker_.unsubscribe(*this, filter);
    subscriptions_.clear();
    queue_.clear();
    inflight_.clear();
}

void Session::send(const mqtt::Packet& packet) {
    mqtt::encode(packet, version_, port_->output());
    port_->flush_soon();
}

}  // namespace fieldgate::broker
