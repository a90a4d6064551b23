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
    reindex_subscriptions();  // routing finds sessions through their subscriptions' worker
}

// The topic index keeps a copy of what routing needs (worker, persistence);
// subscribing again replaces it.
void Session::reindex_subscriptions() {
    for (const auto& [filter, sub] : subscriptions_) {
        bool is_new = false;
        broker_.subscribe(*this, filter, sub.options, sub.subscription_id, is_new);
    }
}

void Session::attach(std::shared_ptr<ConnectionPort> port, const mqtt::Connect& connect, bool session_present,
                     std::string_view assigned_client_id) {
    port_ = std::move(port);
    ++connection_;
    acks_.clear();  // answers owed to an earlier connection are moot
    version_ = connect.version;
    disconnect_normal_ = false;
    if (rare_) {
        rare_->will_timer.reset();  // a new connection before the will delay cancels the will [MQTT-3.1.3-9]
        rare_->expiry_timer.reset();
        rare_->drain_timer.reset();
        rare_->inbound_aliases.clear();  // topic aliases live as long as one connection [MQTT-3.3.2-10]
        rare_->outbound_aliases.clear();
        if (rare_->empty()) rare_.reset();
    }

    const auto& props = connect.properties;
    client_ = ClientLimits{};
    queue_.set_policy(port_->peer_info().queue_policy);
    queue_.to_backlog();  // what waited for this connection, e.g. restored from the store
    if (mqtt::is_v5(version_)) {
        client_.receive_maximum = props.receive_maximum.value_or(65535);
        client_.maximum_packet_size = props.maximum_packet_size.value_or(0);
        client_.topic_alias_maximum = props.topic_alias_maximum.value_or(0);
        expiry_interval_ = std::chrono::seconds{props.session_expiry_interval.value_or(0)};
    } else {
        expiry_interval_ = connect.clean_start ? std::chrono::seconds{0} : never;
    }
    record_persistence();

    will_.reset();
    if (connect.will) {
        mqtt::Publish p;
        p.topic = connect.will->topic;
        p.payload = connect.will->payload;
        p.qos = connect.will->qos;
        p.retain = connect.will->retain;
        p.properties = connect.will->properties;
        const auto delay = connect.will->properties.will_delay_interval.value_or(0);
        will_ = std::make_unique<Will>(
            Will{make_message(p, p.topic, id_, broker_.executor().now(), broker_.new_message_id()),
                 std::chrono::seconds{delay}});
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
        it->awaiting_store = false;  // stored by now, or the store's answer went to the old connection
        it->stored = false;
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
            auto& aliases = rare().inbound_aliases;
            if (aliases.size() < *alias) aliases.resize(*alias);
            auto& known = aliases[*alias - 1u];
            if (topic.empty()) {
                if (known.empty()) return disconnect(ReasonCode::protocol_error, "unknown topic alias");
                topic = known;
            } else {
                known = std::string(topic);
            }
        }
    }
    if (publish.qos == mqtt::QoS::exactly_once) {
        if (has_inbound_qos2(publish.packet_id)) {
            // Routed already: a resend is only acknowledged, so it is delivered once [MQTT 5.0, 4.3.3].
            send(mqtt::Pubrec{publish.packet_id});
            return;
        }
        if (rare_ && rare_->inbound_qos2.size() >= broker_.limits().receive_maximum) {
            return disconnect(ReasonCode::receive_maximum_exceeded, "more QoS 2 messages in flight than Receive Maximum");
        }
    }

    broker_.stats().messages_received.fetch_add(1, std::memory_order_relaxed);
    if (acl_ && !acl_->allowed(topic, auth::Access::write)) return refuse_publish(publish);
    const auto message = make_message(publish, topic, id_, broker_.executor().now(), broker_.new_message_id());
    if (publish.qos == mqtt::QoS::at_most_once) {
        broker_.publish(worker_, message);
        return;
    }
    // The acknowledgement goes out once what must be stored is: the message for
    // persistent subscribers, a retained change, the QoS 2 packet id.
    std::vector<store::Op> ops;
    mqtt::Packet ack = mqtt::Puback{publish.packet_id};
    if (publish.qos == mqtt::QoS::exactly_once) {
        rare().inbound_qos2.push_back(publish.packet_id);
        if (persistent()) ops.push_back(store::PutInboundQos2{id_, publish.packet_id});
        ack = mqtt::Pubrec{publish.packet_id};
    }
    const auto seq = queue_ack(std::move(ack), {});
    const auto result = broker_.publish(worker_, message, std::move(ops), waits_for_store() ? when_stored(seq) : nullptr);
    for (auto& a : acks_) {
        if (a.seq != seq) continue;
        if (result.reached == 0 && mqtt::is_v5(version_)) {
            std::visit([](auto& p) {
                if constexpr (requires { p.reason_code; }) p.reason_code = ReasonCode::no_matching_subscribers;
            }, a.packet);
        }
        a.ready = !result.stored;
        a.failed = result.refused;
    }
    flush_acks();
}

void Session::on_pubrel(const mqtt::Pubrel& pubrel) {
    mqtt::Pubcomp pubcomp{pubrel.packet_id};
    std::vector<store::Op> ops;
    if (has_inbound_qos2(pubrel.packet_id)) {
        std::erase(rare_->inbound_qos2, pubrel.packet_id);
        // Forgotten on disk before PUBCOMP: the client may reuse the id at once.
        if (persistent()) ops.push_back(store::DeleteInboundQos2{id_, pubrel.packet_id});
    } else if (mqtt::is_v5(version_)) {
        pubcomp.reason_code = ReasonCode::packet_identifier_not_found;
    }
    acknowledge(pubcomp, std::move(ops), waits_for_store());
}

void Session::on_subscribe(const mqtt::Subscribe& subscribe) {
    mqtt::Suback suback;
    suback.packet_id = subscribe.packet_id;
    const std::uint32_t subscription_id =
        subscribe.properties.subscription_identifiers.empty() ? 0 : subscribe.properties.subscription_identifiers[0];
    std::vector<Delivery> retained;
    std::vector<MessagePtr> matches;
    std::vector<store::Op> ops;
    const auto now = broker_.executor().now();
    for (const auto& sub : subscribe.subscriptions) {
        if (acl_ && !acl_->subscribe_allowed(sub.filter)) {
            suback.reason_codes.push_back(ReasonCode::not_authorized);  // 3.1.1: 0x80 Failure
            continue;
        }
        mqtt::SubscriptionOptions options = sub.options;
        bool is_new = false;
        broker_.subscribe(*this, sub.filter, options, subscription_id, is_new);
        subscriptions_[std::string(sub.filter)] = Subscription{options, subscription_id};
        if (persistent()) ops.push_back(store::PutSubscription{id_, std::string(sub.filter), options, subscription_id});
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
    // Committed before the SUBACK; the retained messages follow it.
    acknowledge(std::move(suback), std::move(ops), waits_for_store(), std::move(retained));
}

void Session::on_unsubscribe(const mqtt::Unsubscribe& unsubscribe) {
    mqtt::Unsuback unsuback;
    unsuback.packet_id = unsubscribe.packet_id;
    std::vector<store::Op> ops;
    for (const auto filter : unsubscribe.filters) {
        const bool existed = broker_.unsubscribe(*this, filter);
        if (const auto it = subscriptions_.find(filter); it != subscriptions_.end()) subscriptions_.erase(it);
        if (existed && persistent()) ops.push_back(store::DeleteSubscription{id_, std::string(filter)});
        unsuback.reason_codes.push_back(existed ? ReasonCode::success : ReasonCode::no_subscription_existed);
    }
    acknowledge(std::move(unsuback), std::move(ops), waits_for_store());
}

void Session::on_disconnect(const mqtt::Disconnect& d) {
    if (const auto expiry = d.properties.session_expiry_interval) {
        if (expiry_interval_ == std::chrono::seconds::zero() && *expiry != 0) {
            return disconnect(ReasonCode::protocol_error, "session expiry set on DISCONNECT after 0 at CONNECT");  // [MQTT-3.14.2-2]
        }
        expiry_interval_ = std::chrono::seconds{*expiry};
        record_persistence();
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
    acks_.clear();
    if (persistent()) store_async(store::SessionDisconnected{id_, std::chrono::system_clock::now()});
    if (disconnect_normal_) {
        will_.reset();  // [MQTT-3.1.2-10]
    } else {
        schedule_will();
    }
    if (persistent()) {
        start_expiry(expiry_interval_);
    } else {
        broker_.end_session(*this);
    }
}

bool Session::has_inbound_qos2(std::uint16_t packet_id) const {
    return rare_ && std::find(rare_->inbound_qos2.begin(), rare_->inbound_qos2.end(), packet_id) != rare_->inbound_qos2.end();
}

void Session::detach() {
    port_.reset();
    if (rare_) rare_->drain_timer.reset();
    queue_.to_backlog();
    broker_.stats().clients_connected.fetch_sub(1, std::memory_order_relaxed);
}

void Session::schedule_will() {
    if (!will_) return;
    // Published after the will delay or at session end, whichever comes first [MQTT-3.1.3-9].
    const auto delay = std::min(will_->delay, expiry_interval_);
    if (delay == std::chrono::seconds::zero()) return publish_will();
    rare().will_timer = broker_.executor().run_after(worker_, delay, [this] { publish_will(); });
}

// The ACL is asked when the will fires, not at CONNECT (mosquitto 2.0.11
// accepts the CONNECT either way): a reload meanwhile decides.
void Session::publish_will() {
    if (!will_) return;
    const MessagePtr message = std::move(will_->message);
    will_.reset();
    if (acl_ && !acl_->allowed(message->topic, auth::Access::write)) return;
    broker_.publish(worker_, message);
}

void Session::start_expiry(std::chrono::seconds after) {
    if (expiry_interval_ >= never) return;
    rare().expiry_timer = broker_.executor().run_after(worker_, after, [this] { broker_.end_session(*this); });
}

void Session::end() {
    if (rare_) rare_->will_timer.reset();
    publish_will();
    if (rare_) rare_->expiry_timer.reset();
    for (const auto& [filter, sub] : subscriptions_) broker_.unsubscribe(*this, filter);
    subscriptions_.clear();
    queue_.clear();
    inflight_.clear();
    if (stored_) store_async(store::DeleteSession{id_});
    stored_ = false;
}

void Session::record_persistence() {
    if (persistent()) {
        const auto seconds = std::min<std::chrono::seconds::rep>(expiry_interval_.count(), 0xFFFFFFFF);
        store_async(store::PutSession{id_, client_id_, static_cast<std::uint32_t>(seconds)});
        if (!stored_) {
            for (const auto& [filter, sub] : subscriptions_) {
                store_async(store::PutSubscription{id_, filter, sub.options, sub.subscription_id});
            }
        }
        stored_ = true;
    } else if (stored_) {
        store_async(store::DeleteSession{id_});
        stored_ = false;
    }
    if (indexed_persistent_ != persistent()) {
        // Routing decides from the index whether a message must be stored for this session.
        indexed_persistent_ = persistent();
        reindex_subscriptions();
    }
}

void Session::restore(const store::LoadedSession& loaded) {
    expiry_interval_ = std::chrono::seconds{loaded.expiry_interval};
    stored_ = true;
    indexed_persistent_ = persistent();
    for (const auto& sub : loaded.subscriptions) {
        subscriptions_[sub.filter] = Subscription{sub.options, sub.subscription_id};
        bool is_new = false;
        broker_.subscribe(*this, sub.filter, sub.options, sub.subscription_id, is_new);
    }
    for (const auto& m : loaded.messages) {
        Delivery d{id_, m.message, m.qos, m.retain, m.subscription_ids};
        if (m.packet_id == 0) {
            queue_.push_restored(std::move(d));
        } else {
            inflight_.push_back(Inflight{std::move(d), m.packet_id, m.released});
            last_packet_id_ = std::max(last_packet_id_, m.packet_id);
        }
    }
    if (!loaded.inbound_qos2.empty()) rare().inbound_qos2 = loaded.inbound_qos2;
    // The expiry counts from when the client left; a crash hid that, so from now.
    auto left = expiry_interval_;
    if (loaded.disconnected_at) {
        const auto away = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                                          *loaded.disconnected_at);
        left = std::max(std::chrono::seconds{0}, expiry_interval_ - away);
    }
    start_expiry(left);
}

bool Session::waits_for_store() const { return broker_.store().acknowledgements_wait(); }

void Session::store_async(store::Op op) {
    std::vector<store::Op> ops;
    ops.push_back(std::move(op));
    broker_.store().submit(std::move(ops), worker_, nullptr);
}

std::uint64_t Session::queue_ack(mqtt::Packet packet, std::vector<Delivery> after) {
    const std::uint64_t seq = next_ack_++;
    acks_.push_back(PendingAck{seq, std::move(packet), false, false, std::move(after)});
    return seq;
}

void Session::acknowledge(mqtt::Packet packet, std::vector<store::Op> ops, bool wait, std::vector<Delivery> after) {
    const auto seq = queue_ack(std::move(packet), std::move(after));
    if (ops.empty() || !wait) {
        if (!ops.empty()) broker_.store().submit(std::move(ops), worker_, nullptr);
        acks_.back().ready = true;
    } else {
        broker_.store().submit(std::move(ops), worker_, when_stored(seq));
    }
    flush_acks();
}

Store::Done Session::when_stored(std::uint64_t ack) {
    // By id, not by pointer: the session may be gone or elsewhere when the store answers.
    return [&broker = broker_, worker = worker_, id = id_, connection = connection_, ack](bool ok) {
        if (Session* s = broker.find_session(worker, id)) s->stored(connection, ack, ok);
    };
}

void Session::stored(std::uint64_t connection, std::uint64_t ack, bool ok) {
    if (connection != connection_) return;
    for (auto& a : acks_) {
        if (a.seq != ack) continue;
        a.ready = true;
        a.failed = !ok;
    }
    flush_acks();
}

// Sends the acknowledgements whose turn has come: in the order their packets
// arrived [MQTT-4.6.0-2], each once what it confirms is stored.
void Session::flush_acks() {
    while (port_ && !acks_.empty() && acks_.front().ready) {
        PendingAck a = std::move(acks_.front());
        acks_.erase(acks_.begin());
        if (a.failed) {
            // Not stored (a full disk): MQTT 5 says so with Quota exceeded; 3.1.1
            // cannot, so the connection ends before anything is acknowledged.
            if (!mqtt::is_v5(version_)) return disconnect(ReasonCode::unspecified_error);
            std::visit(
                [this](auto& p) {
                    using P = std::decay_t<decltype(p)>;
                    if constexpr (std::is_same_v<P, mqtt::Puback> || std::is_same_v<P, mqtt::Pubrec>) {
                        p.reason_code = ReasonCode::quota_exceeded;
                        if constexpr (std::is_same_v<P, mqtt::Pubrec>) {
                            if (rare_) std::erase(rare_->inbound_qos2, p.packet_id);
                        }
                    } else if constexpr (std::is_same_v<P, mqtt::Suback>) {
                        for (auto& rc : p.reason_codes) rc = ReasonCode::quota_exceeded;
                    } else if constexpr (std::is_same_v<P, mqtt::Unsuback>) {
                        for (auto& rc : p.reason_codes) rc = ReasonCode::unspecified_error;
                    }
                },
                a.packet);
        }
        send(a.packet);
        for (auto& d : a.after) deliver(std::move(d));
    }
}

void Session::send(const mqtt::Packet& packet) {
    mqtt::encode(packet, version_, port_->output());
    port_->flush_soon();
}

}  // namespace fieldgate::broker
