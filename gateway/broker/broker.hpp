#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/broker/auth/authenticator.hpp"
#include "gateway/broker/auth/login_throttle.hpp"
#include "gateway/broker/connection_port.hpp"
#include "gateway/broker/executor.hpp"
#include "gateway/broker/message.hpp"
#include "gateway/broker/retained_store.hpp"
#include "gateway/broker/session.hpp"
#include "gateway/broker/session_registry.hpp"
#include "gateway/broker/store.hpp"
#include "gateway/broker/topic_index.hpp"
#include "gateway/mqtt/packets.hpp"

namespace fieldgate::broker {

class LocalClient;

struct BrokerLimits {
    std::uint32_t max_packet_size = 1u << 20;
    std::uint16_t receive_maximum = 32;  // our window for the client's QoS 1/2 (max_inflight)
    std::uint32_t max_queued_messages = 10000;
    std::chrono::seconds max_keepalive{65535};
    std::uint16_t topic_alias_maximum = 64;  // aliases a client may set on us
    // Unwritten bytes a connection may hold before its QoS 0 messages are dropped.
    std::size_t max_output_bytes = 4u << 20;
};

// Counters for $SYS and metrics; relaxed atomics, written from every worker.
struct BrokerStats {
    std::atomic<std::uint64_t> messages_received{0};
    std::atomic<std::uint64_t> messages_sent{0};
    std::atomic<std::uint64_t> messages_dropped{0};
    std::atomic<std::uint64_t> clients_connected{0};  // sessions with a connection
    std::atomic<std::uint64_t> connections_open{0};   // sockets, CONNECT or not
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> bytes_sent{0};
};

// A CONNECT accepted by the codec, with owned copies of what outlives the read
// buffer (it may travel to another worker while a session changes hands).
struct ConnectRequest {
    std::shared_ptr<ConnectionPort> port;
    std::size_t worker = 0;  // the connection's
    std::vector<std::uint8_t> packet;  // the CONNECT's bytes; `connect` views into them
    mqtt::Connect connect;
    std::string client_id;  // the effective one (assigned when the client sent none)
    bool assigned = false;
    std::optional<std::string> username;  // the identity accepted; nullopt: anonymous
};

// The broker: state shared by all workers (topic index, retained messages,
// session registry, counters) and the per-worker session tables and inboxes.
// Thread-safe as documented per member; sessions are touched only on their
// owner worker.
class Broker {
public:
    Broker(BrokerLimits limits, Executor& executor, Store& store);
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    const BrokerLimits& limits() const { return limits_; }
    Executor& executor() { return executor_; }
    Store& store() { return store_; }
    std::uint64_t new_message_id() { return store_.next_message_id(); }
    TopicIndex& topics() { return topics_; }
    RetainedStore& retained() { return retained_; }
    SessionRegistry& registry() { return registry_; }
    BrokerStats& stats() { return stats_; }

    // A CONNECT from a connection on `packet_worker`. Checks the client
    // identifier and the login (Authenticator), finds or creates the session
    // (taking it over from another connection if need be) and attaches the
    // connection, on its worker. A refused CONNECT is answered with CONNACK and
    // the connection closed; a refused login answers late (LoginThrottle).
    // `packet` holds the CONNECT's bytes, `connect` views into it.
    void connect(std::shared_ptr<ConnectionPort> port, std::size_t worker, std::vector<std::uint8_t> packet);

    // The password file and ACL in force; not null (a default-made
    // Authenticator configures neither). Thread-safe: new CONNECTs use it at
    // once, and every session rebinds its ACL to it on its own worker soon after.
    void set_authenticator(std::shared_ptr<const auth::Authenticator> authenticator);
    std::shared_ptr<const auth::Authenticator> authenticator() const;

    // Routes a message from `worker` to every matching session and updates the
    // retained store. The changes to store (the message for persistent
    // sessions, the retained topic) are submitted with `ops`; `done` runs once
    // they are stored, if there were any (PublishResult::stored).
    struct PublishResult {
        std::size_t reached = 0;  // sessions it was delivered to
        bool stored = false;      // `done` will run
        bool refused = false;     // not routed: it had to be stored and the store is full
    };
    PublishResult publish(std::size_t worker, const MessagePtr& message, std::vector<store::Op> ops = {},
                          Store::Done done = nullptr);

    // Rebuilds sessions, subscriptions, queued and in-flight messages and
    // retained messages from the store. Before the workers start.
    void restore(store::LoadedState state);

    // Session bookkeeping for Session (owner worker only).
    void subscribe(Session& session, std::string_view filter, const mqtt::SubscriptionOptions& options,
                   std::uint32_t subscription_id, bool& is_new);
    bool unsubscribe(Session& session, std::string_view filter);
    void end_session(Session& session);

    // Ends every connection: v5 clients get DISCONNECT 0x8B [MQTT 5.0, 3.14.2.1].
    void shutdown();

    std::size_t session_count() const { return registry_.size(); }
    // The session `id` if it lives on `worker` (owner thread only).
    Session* find_session(std::size_t worker, SessionId id) { return find_local(worker, id); }

    // In-process clients (LocalClient registers itself). Thread-safe.
    SessionId register_local(LocalClient& client, std::size_t worker);
    void unregister_local(LocalClient& client);

private:
    struct Worker;

    void refuse(ConnectionPort& port, mqtt::ProtocolVersion version, mqtt::ReasonCode reason);
    void refuse_login(const ConnectRequest& request, const auth::LoginResult& login);
    void rebind_sessions(std::size_t worker);
    void connect_on_owner(std::size_t owner, std::shared_ptr<ConnectRequest> request);
    void attach_later(std::unique_ptr<Session> session, std::shared_ptr<ConnectRequest> request,
                      bool session_present);
    void push_inbox(std::size_t worker, Delivery delivery);
    // Takes back queued copies of a message whose storing failed.
    void retract(std::size_t worker, SessionId session, std::uint64_t message);
    void attach_on(std::size_t worker, std::unique_ptr<Session> session, std::shared_ptr<ConnectRequest> request,
                   bool session_present);
    void deliver_on(std::size_t worker, Delivery delivery);
    void drain_inbox(std::size_t worker);
    Session* find_local(std::size_t worker, SessionId id);

    BrokerLimits limits_;
    Executor& executor_;
    Store& store_;
    TopicIndex topics_;
    RetainedStore retained_;
    SessionRegistry registry_;
    BrokerStats stats_;
    std::vector<std::unique_ptr<Worker>> workers_;
    mutable std::mutex authenticator_mutex_;  // guards authenticator_ (swapped on reload)
    std::shared_ptr<const auth::Authenticator> authenticator_ = std::make_shared<const auth::Authenticator>();
    auth::LoginThrottle throttle_;  // outlives reloads: a reload must not forget a brute-force run
    std::string assigned_id_prefix_;
    std::atomic<std::uint64_t> next_assigned_id_{1};
};

}  // namespace fieldgate::broker
