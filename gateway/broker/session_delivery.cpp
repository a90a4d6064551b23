// Outbound messages: QoS 0 sent or dropped, QoS 1/2 through the client's
// window (Receive Maximum) with a bounded queue behind it, the acknowledgement
// flows, topic aliases and the client's maximum packet size.
#include <algorithm>

#include "gateway/broker/broker.hpp"
#include "gateway/broker/session.hpp"
#include "gateway/mqtt/codec.hpp"

namespace fieldgate::broker {

using mqtt::ReasonCode;

std::uint16_t Session::window() const {
    return std::min(client_.receive_maximum, broker_.limits().receive_maximum);
}

// True while a QoS 2 PUBLISH waits for its packet id to be stored: whatever
// comes after it waits too, so the client gets messages in the order published.
bool Session::holding() const {
    return std::any_of(inflight_.begin(), inflight_.end(), [](const Inflight& i) { return i.awaiting_store; });
}

// Whether `d` may go out now rather than wait in the queue. QoS 2 under sync
// durability may join the waiting QoS 2 messages (their commits are grouped).
bool Session::may_send_now(const Delivery& d) const {
    if (!port_ || !queue_.empty()) return false;
    if (d.qos == mqtt::QoS::at_most_once) return !holding();
    if (inflight_.size() >= window()) return false;
    return !holding() || needs_stored_packet_id(d);
}

bool Session::needs_stored_packet_id(const Delivery& d) const {
    return d.qos == mqtt::QoS::exactly_once && persistent() && waits_for_store();
}

// Every message a client receives comes through here (routed, retained on
// subscribe, wills, $SYS), so this is where the ACL's read rules apply.
void Session::deliver(Delivery delivery) {
    if (delivery.message->expired(broker_.executor().now())) return;
    if (!readable(delivery)) {
        message_done(delivery);  // it was stored for this session
        return;
    }
    auto& stats = broker_.stats();
    if (delivery.qos == mqtt::QoS::at_most_once) {
        // QoS 0 is not kept for an absent client (unless its queue's policy
        // says so), nor piled up for a slow one.
        if (port_ ? port_->pending_output() > broker_.limits().max_output_bytes : !queue_.keeps_qos0_offline()) {
            stats.messages_dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    if (may_send_now(delivery)) {
        if (delivery.qos == mqtt::QoS::at_most_once) {
            send_qos0(delivery);
        } else {
            start_inflight(std::move(delivery));
        }
        return;
    }
    std::vector<Delivery> dropped;
    queue_.push(std::move(delivery), broker_.limits().max_queued_messages, port_ != nullptr, dropped);
    drop_from_queue(dropped);
}

std::uint16_t Session::unused_packet_id() const {
    for (std::uint16_t id = 1; id != 0; ++id) {
        if (std::none_of(inflight_.begin(), inflight_.end(), [id](const Inflight& i) { return i.packet_id == id; })) {
            return id;
        }
    }
    return 1;  // unreachable: at most 65535 in flight, and the window is smaller
}

void Session::drop_from_queue(std::vector<Delivery>& dropped) {
    broker_.stats().messages_dropped.fetch_add(dropped.size(), std::memory_order_relaxed);
    for (const auto& d : dropped) message_done(d);
}

void Session::trim_queue() {
    std::vector<Delivery> dropped;
    queue_.drop_aged(broker_.executor().now(), dropped);
    drop_from_queue(dropped);
}

void Session::pump() {
    const auto now = broker_.executor().now();
    if (queue_.shaped()) trim_queue();
    while (port_ && !queue_.empty()) {
        const Delivery* front = queue_.next(now);
        if (front == nullptr) {
            // The drain rate holds the backlog back: come back when it lets go.
            const auto at = queue_.wake_at();
            if (at && !(rare_ && rare_->drain_timer)) {
                const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*at - now);
                rare().drain_timer =
                    broker_.executor().run_after(worker_, std::max(wait, std::chrono::milliseconds{1}), [this] {
                        rare_->drain_timer.reset();
                        pump();
                    });
            }
            break;
        }
        if (front->message->expired(now)) {  // [MQTT-3.3.2-5]
            message_done(queue_.take(now));
            continue;
        }
        const bool qos0 = front->qos == mqtt::QoS::at_most_once;
        if (holding() && (qos0 || !needs_stored_packet_id(*front))) break;
        if (!qos0 && inflight_.size() >= window()) break;
        Delivery d = queue_.take(now);
        if (qos0) {
            send_qos0(d);
        } else {
            start_inflight(std::move(d));
        }
    }
}

void Session::start_inflight(Delivery d) {
    inflight_.push_back(Inflight{std::move(d), next_packet_id()});
    Inflight& e = inflight_.back();
    if (persistent()) {
        std::vector<store::Op> ops;
        ops.push_back(store::MessageSent{id_, e.delivery.message->id, e.packet_id, false});
        if (needs_stored_packet_id(e.delivery)) {
            e.awaiting_store = true;
            broker_.store().submit(std::move(ops), worker_,
                                   [&broker = broker_, worker = worker_, id = id_, connection = connection_,
                                    packet_id = e.packet_id](bool) {
                                       if (Session* s = broker.find_session(worker, id)) s->publish_stored(connection, packet_id);
                                   });
            return;
        }
        broker_.store().submit(std::move(ops), worker_, nullptr);
    }
    if (!send_publish(e, false)) {
        message_done(e.delivery);
        inflight_.pop_back();
    }
}

void Session::publish_stored(std::uint64_t connection, std::uint16_t packet_id) {
    if (connection != connection_ || !port_) return;
    const auto it = std::find_if(inflight_.begin(), inflight_.end(),
                                 [&](const Inflight& i) { return i.packet_id == packet_id && i.awaiting_store; });
    if (it == inflight_.end()) return;
    it->stored = true;
    // Sent in order: this one and those stored after it, up to one still waiting.
    for (auto e = inflight_.begin(); e != inflight_.end() && (!e->awaiting_store || e->stored);) {
        if (!e->awaiting_store) {
            ++e;
            continue;
        }
        e->awaiting_store = false;
        if (!send_publish(*e, false)) {
            message_done(e->delivery);
            e = inflight_.erase(e);
            continue;
        }
        ++e;
    }
    pump();
}

void Session::retract(std::uint64_t message) {
    queue_.erase_if([&](const Delivery& d) { return d.message->id == message; });
}

void Session::message_done(const Delivery& d) {
    if (persistent() && d.qos != mqtt::QoS::at_most_once) store_async(store::MessageDone{id_, d.message->id});
}

std::uint16_t Session::next_packet_id() {
    // Skip identifiers still in flight [MQTT-2.2.1-3]; the window is far below 65535.
    while (true) {
        last_packet_id_ = static_cast<std::uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
        const bool in_use = std::any_of(inflight_.begin(), inflight_.end(),
                                        [&](const Inflight& i) { return i.packet_id == last_packet_id_; });
        if (!in_use) return last_packet_id_;
    }
}

void Session::send_qos0(const Delivery& delivery) {
    auto publish = to_publish(*delivery.message, mqtt::QoS::at_most_once, delivery.retain, 0,
                              delivery.subscription_ids, broker_.executor().now());
    send_publish_packet(publish);
}

bool Session::send_publish(Inflight& entry, bool dup) {
    const auto& d = entry.delivery;
    auto publish = to_publish(*d.message, d.qos, d.retain, entry.packet_id, d.subscription_ids, broker_.executor().now());
    publish.dup = dup;
    return send_publish_packet(publish);
}

// Returns false when the packet is larger than the client accepts: it is then
// dropped as if delivered [MQTT-3.1.2-25].
bool Session::send_publish_packet(mqtt::Publish& publish) {
    std::string new_alias;
    if (mqtt::is_v5(version_) && client_.topic_alias_maximum > 0) {
        // An alias is assigned to each new topic while the client allows more.
        auto& aliases = rare().outbound_aliases;
        const auto it = aliases.find(std::string(publish.topic));
        if (it != aliases.end()) {
            publish.properties.topic_alias = it->second;
            publish.topic = {};
        } else if (aliases.size() < client_.topic_alias_maximum) {
            const auto alias = static_cast<std::uint16_t>(aliases.size() + 1);
            new_alias = std::string(publish.topic);
            aliases.emplace(new_alias, alias);
            publish.properties.topic_alias = alias;
        }
    }
    auto& out = port_->output();
    const std::size_t before = out.size();
    const std::size_t size = mqtt::encode(publish, version_, out);
    if (client_.maximum_packet_size != 0 && size > client_.maximum_packet_size) {
        out.resize(before);
        if (!new_alias.empty()) rare_->outbound_aliases.erase(new_alias);  // the client never saw it
        broker_.stats().messages_dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    broker_.stats().messages_sent.fetch_add(1, std::memory_order_relaxed);
    port_->flush_soon();
    return true;
}

void Session::on_puback(std::uint16_t packet_id) {
    const auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const Inflight& i) {
        return i.packet_id == packet_id && i.delivery.qos == mqtt::QoS::at_least_once;
    });
    if (it == inflight_.end()) return;  // not ours (or a late duplicate): nothing to do
    message_done(it->delivery);
    inflight_.erase(it);
    pump();
}

void Session::on_pubrec(const mqtt::Pubrec& pubrec) {
    const auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const Inflight& i) {
        return i.packet_id == pubrec.packet_id && i.delivery.qos == mqtt::QoS::exactly_once;
    });
    if (it == inflight_.end()) {
        mqtt::Pubrel pubrel{pubrec.packet_id};
        if (mqtt::is_v5(version_)) pubrel.reason_code = ReasonCode::packet_identifier_not_found;
        send(pubrel);
        return;
    }
    if (mqtt::is_error(pubrec.reason_code)) {
        // The receiver refused it: the exchange ends here [MQTT 5.0, 4.3.3].
        message_done(it->delivery);
        inflight_.erase(it);
        pump();
        return;
    }
    it->released = true;
    if (persistent()) store_async(store::MessageSent{id_, it->delivery.message->id, pubrec.packet_id, true});
    send(mqtt::Pubrel{pubrec.packet_id});
}

void Session::on_pubcomp(std::uint16_t packet_id) {
    const auto it = std::find_if(inflight_.begin(), inflight_.end(),
                                 [&](const Inflight& i) { return i.packet_id == packet_id && i.released; });
    if (it == inflight_.end()) return;
    message_done(it->delivery);
    inflight_.erase(it);
    pump();
}

}  // namespace fieldgate::broker
