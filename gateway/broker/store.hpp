#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gateway/broker/message.hpp"

namespace fieldgate::broker {

// The broker's durable state as a list of changes (DESIGN.md, Durability).
// Sessions are known by their SessionId, which the store keeps across restarts.
namespace store {

struct PutSession {
    SessionId session;
    std::string client_id;
    std::uint32_t expiry_interval;  // seconds; 0xFFFFFFFF never
};
struct DeleteSession {
    SessionId session;
};
// When the client went away, for session expiry across a restart.
struct SessionDisconnected {
    SessionId session;
    std::chrono::system_clock::time_point at;
};
struct PutSubscription {
    SessionId session;
    std::string filter;
    mqtt::SubscriptionOptions options;
    std::uint32_t subscription_id;
};
struct DeleteSubscription {
    SessionId session;
    std::string filter;
};
// A QoS 1/2 message for persistent sessions, stored once however many it is for.
struct PutMessage {
    MessagePtr message;
    struct Target {
        SessionId session;
        mqtt::QoS qos;
        bool retain;
        std::vector<std::uint32_t> subscription_ids;
    };
    std::vector<Target> targets;
};
// A session's copy of a message went in flight with a packet id, or was released (PUBREC).
struct MessageSent {
    SessionId session;
    std::uint64_t message;
    std::uint16_t packet_id;
    bool released;
};
struct MessageDone {
    SessionId session;
    std::uint64_t message;
};
struct PutInboundQos2 {
    SessionId session;
    std::uint16_t packet_id;
};
struct DeleteInboundQos2 {
    SessionId session;
    std::uint16_t packet_id;
};
struct PutRetained {
    MessagePtr message;
};
struct DeleteRetained {
    std::string topic;
};

using Op = std::variant<PutSession, DeleteSession, SessionDisconnected, PutSubscription, DeleteSubscription,
                        PutMessage, MessageSent, MessageDone, PutInboundQos2, DeleteInboundQos2, PutRetained,
                        DeleteRetained>;

// What a restart finds.
struct LoadedMessage {
    MessagePtr message;
    mqtt::QoS qos;
    bool retain;
    std::vector<std::uint32_t> subscription_ids;
    std::uint16_t packet_id;  // 0: still queued
    bool released;
};
struct LoadedSession {
    SessionId session;
    std::string client_id;
    std::uint32_t expiry_interval;
    std::optional<std::chrono::system_clock::time_point> disconnected_at;
    std::vector<PutSubscription> subscriptions;
    std::vector<LoadedMessage> messages;  // in the order they were published
    std::vector<std::uint16_t> inbound_qos2;
};
struct LoadedState {
    std::vector<LoadedSession> sessions;
    std::vector<MessagePtr> retained;
    SessionId next_session = 1;
    std::uint64_t next_message = 1;
};

}  // namespace store

// Where the broker's changes go. Thread-safe.
class Store {
public:
    // ok = false: the changes could not be stored (a full disk); they are lost.
    using Done = std::function<void(bool ok)>;

    virtual ~Store() = default;

    // What was stored before this start; called once, before start().
    virtual store::LoadedState load() { return {}; }
    // Begins writing (the persistence thread, if any).
    virtual void start() {}

    // Whether acknowledgements must wait for `done` (durability = sync).
    virtual bool acknowledgements_wait() const = 0;

    // Queues changes. `done`, if given, runs on `worker` once they are stored
    // (sync), or soon (batched, none).
    virtual void submit(std::vector<store::Op> ops, std::size_t worker, Done done) = 0;

    // Message ids for PutMessage, unique across restarts. Thread-safe.
    virtual std::uint64_t next_message_id() = 0;

    // True while storing fails for lack of space: what must be stored is refused up front.
    virtual bool full() const { return false; }
};

}  // namespace fieldgate::broker
