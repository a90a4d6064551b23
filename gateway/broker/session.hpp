#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/broker/auth/acl.hpp"
#include "gateway/broker/connection_port.hpp"
#include "gateway/broker/executor.hpp"
#include "gateway/broker/message.hpp"
#include "gateway/broker/session_queue.hpp"
#include "gateway/broker/store.hpp"
#include "gateway/mqtt/packets.hpp"

namespace fieldgate::broker {

class Broker;

// What the client asked for in CONNECT that shapes what the broker sends it.
struct ClientLimits {
    std::uint16_t receive_maximum = 65535;  // its in-flight window for our QoS 1/2 PUBLISHes
    std::uint32_t maximum_packet_size = 0;  // 0 = no limit beyond the protocol's
    std::uint16_t topic_alias_maximum = 0;  // aliases we may assign
};

// A client's session: its subscriptions, the messages in flight and queued for
// it, its will, and the protocol exchange with its current connection. Pure
// logic: packets in, encoded packets out through a ConnectionPort.
//
// Owned by one worker (SessionRegistry's owner) and used only there; it moves
// to another worker only between connections.
class Session {
public:
    Session(Broker& broker, SessionId id, std::string client_id, std::size_t worker);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    SessionId id() const { return id_; }
    const std::string& client_id() const { return client_id_; }
    std::size_t worker() const { return worker_; }
    void moved_to(std::size_t worker);
    bool connected() const { return port_ != nullptr; }
    // True when the session must be kept while no connection is attached.
    bool persistent() const { return expiry_interval_ != std::chrono::seconds::zero(); }

    // The identity a CONNECT was accepted with (nullopt: anonymous) and the ACL
    // in force (null: no acl_file, nothing checked); before attach(). What
    // waits for the session and the identity may not read is dropped: the
    // client id may have been someone else's.
    void set_identity(std::optional<std::string> username, const auth::Acl* acl);
    // A reloaded ACL (null: none) for the same identity; drops queued
    // messages it no longer lets the client read. A session restored from the
    // store has no identity until its client returns (usernames are not
    // stored): it keeps what is routed to it, and set_identity() filters.
    void rebind(const auth::Acl* acl);

    // Attaches an accepted connection: sends CONNACK, then resends what was in
    // flight and what was queued [MQTT-4.4.0-1].
    void attach(std::shared_ptr<ConnectionPort> port, const mqtt::Connect& connect, bool session_present,
                std::string_view assigned_client_id);

    // A packet from the connection (anything after CONNECT).
    void handle(const mqtt::Packet& packet);

    // The connection ended without a DISCONNECT, or the session ends it with a
    // reason (v5 DISCONNECT first). The will is published unless the client
    // disconnected normally [MQTT-3.1.2-8, 3.14.4-3].
    void connection_lost();
    void disconnect(mqtt::ReasonCode reason, std::string_view reason_string = {});
    // The broker stops: DISCONNECT 0x8B for MQTT 5, no will [MQTT 5.0, 3.14.2.1].
    void close_for_shutdown();

    // Routed messages for this session.
    void deliver(Delivery delivery);

    // Removes the session's subscriptions and gives up its will (session end).
    void end();

    // State found in the store at start-up; the session is offline until its client returns.
    void restore(const store::LoadedSession& loaded);

    // The store finished what an acknowledgement or a PUBLISH waited for
    // (`connection` tells which connection asked; a later one ignores it).
    void stored(std::uint64_t connection, std::uint64_t ack, bool ok);
    void publish_stored(std::uint64_t connection, std::uint16_t packet_id);
    // Drops a queued message that could not be stored (its publisher was refused).
    void retract(std::uint64_t message);

    std::size_t queued() const { return queue_.size(); }
    const SessionQueue& queue() const { return queue_; }
    // Drops what waited longer than the queue's max_age (also while detached).
    void trim_queue();
    std::size_t inflight() const { return inflight_.size(); }
    // A packet id no QoS 1/2 PUBLISH of ours holds, for another packet the
    // client side sends in the same space [MQTT-2.2.1-3] (the bridge's
    // SUBSCRIBE to the cloud before it attaches this session).
    std::uint16_t unused_packet_id() const;

private:
    struct Subscription {
        mqtt::SubscriptionOptions options;
        std::uint32_t subscription_id = 0;
    };
    struct Inflight {
        Delivery delivery;
        std::uint16_t packet_id = 0;
        bool released = false;  // QoS 2: PUBREC received, PUBREL sent, awaiting PUBCOMP
        // QoS 2 under sync durability: sent once its packet id is stored, so a
        // restart resends it with the same id and it is received once.
        bool awaiting_store = false;
        bool stored = false;  // its store answer came, but an earlier one is still waiting
    };
    // An acknowledgement waiting for the store; sent in the order the packets came.
    struct PendingAck {
        std::uint64_t seq = 0;
        mqtt::Packet packet;
        bool ready = false;
        bool failed = false;
        std::vector<Delivery> after;  // retained messages that follow a SUBACK
    };
    struct Will {
        MessagePtr message;
        std::chrono::seconds delay{0};
    };
    // What most sessions never use, allocated on first use so that an idle
    // connection's session stays small (issue 4); freed again at the next
    // attach() when nothing in it is left.
    struct Rare {
        std::vector<std::uint16_t> inbound_qos2;  // QoS 2 received and routed, awaiting PUBREL
        std::vector<std::string> inbound_aliases;  // MQTT 5; index = alias - 1
        std::unordered_map<std::string, std::uint16_t> outbound_aliases;
        std::unique_ptr<Executor::Timer> drain_timer;  // a drain rate holds the backlog back
        std::unique_ptr<Executor::Timer> will_timer;
        std::unique_ptr<Executor::Timer> expiry_timer;

        bool empty() const {
            return inbound_qos2.empty() && inbound_aliases.empty() && outbound_aliases.empty() && !drain_timer &&
                   !will_timer && !expiry_timer;
        }
    };
    Rare& rare() {
        if (!rare_) rare_ = std::make_unique<Rare>();
        return *rare_;
    }
    bool has_inbound_qos2(std::uint16_t packet_id) const;

    void on_publish(const mqtt::Publish& publish);
    void refuse_publish(const mqtt::Publish& publish);
    void on_puback(std::uint16_t packet_id);
    void on_pubrec(const mqtt::Pubrec& pubrec);
    void on_pubrel(const mqtt::Pubrel& pubrel);
    void on_pubcomp(std::uint16_t packet_id);
    void on_subscribe(const mqtt::Subscribe& subscribe);
    void on_unsubscribe(const mqtt::Unsubscribe& unsubscribe);
    void on_disconnect(const mqtt::Disconnect& disconnect);

    // Sends what fits in the client's window from the queue.
    void pump();
    void drop_from_queue(std::vector<Delivery>& dropped);
    bool send_publish(Inflight& entry, bool dup);
    void send_qos0(const Delivery& delivery);
    std::uint16_t next_packet_id();
    void send(const mqtt::Packet& packet);
    bool send_publish_packet(mqtt::Publish& publish);
    void detach();
    void schedule_will();
    void publish_will();
    void start_expiry(std::chrono::seconds after);
    std::uint16_t window() const;

    // Acknowledgements: `wait` means it goes out once `ops` are stored.
    void acknowledge(mqtt::Packet packet, std::vector<store::Op> ops, bool wait, std::vector<Delivery> after = {});
    std::uint64_t queue_ack(mqtt::Packet packet, std::vector<Delivery> after);
    Store::Done when_stored(std::uint64_t ack);
    void flush_acks();
    void store_async(store::Op op);
    // Brings the store and the topic index in line with persistent().
    void record_persistence();
    void reindex_subscriptions();
    bool waits_for_store() const;
    void message_done(const Delivery& d);
    bool readable(const Delivery& d) const { return !acl_ || acl_->allowed(d.message->topic, auth::Access::read); }
    void drop_unreadable(bool in_flight_too);
    void start_inflight(Delivery d);
    bool holding() const;
    bool may_send_now(const Delivery& d) const;
    bool needs_stored_packet_id(const Delivery& d) const;

    Broker& broker_;
    SessionId id_;
    std::string client_id_;
    std::size_t worker_;

    std::shared_ptr<ConnectionPort> port_;
    mqtt::ProtocolVersion version_ = mqtt::ProtocolVersion::v3_1_1;
    ClientLimits client_;
    std::chrono::seconds expiry_interval_{0};

    std::optional<std::string> username_;  // kept while offline: reloads rebind by it
    bool identified_ = false;              // set_identity() has run (not only restore())
    // The client's rules when there is an acl_file; null otherwise, so the
    // checks on the hot path cost one pointer test.
    std::unique_ptr<const auth::ClientAcl> acl_;

    std::map<std::string, Subscription, std::less<>> subscriptions_;
    // Vectors, not deques: an empty std::deque allocates, and most sessions are idle.
    std::vector<Inflight> inflight_;  // in the order first sent
    SessionQueue queue_;
    std::uint16_t last_packet_id_ = 0;
    std::unique_ptr<Rare> rare_;

    std::vector<PendingAck> acks_;
    std::uint64_t next_ack_ = 0;
    std::uint64_t connection_ = 0;  // counts attaches; stale store answers are ignored
    bool stored_ = false;           // the store has this session
    bool indexed_persistent_ = false;  // what the topic index believes of persistent()

    std::unique_ptr<Will> will_;  // null: none (most clients)
    bool disconnect_normal_ = false;
};

}  // namespace fieldgate::broker
