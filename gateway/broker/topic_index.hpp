#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/mqtt/packets.hpp"

namespace fieldgate::broker {

using SessionId = std::uint64_t;

// One subscription as the index keeps it.
struct Subscriber {
    SessionId session = 0;
    std::uint32_t worker = 0;  // the worker that owns the session (SessionRegistry)
    mqtt::SubscriptionOptions options;
    std::uint32_t subscription_id = 0;  // MQTT 5; 0 = none
    bool persistent = false;  // the session outlives its connections: its QoS 1/2 messages are stored
    bool operator==(const Subscriber&) const = default;
};

// Which sessions a topic reaches. Shared by all workers: matching takes a
// shared lock and never allocates once the caller's vector has grown;
// subscribe/unsubscribe take the exclusive lock. Thread-safe.
class TopicIndex {
public:
    TopicIndex();
    ~TopicIndex();
    TopicIndex(const TopicIndex&) = delete;
    TopicIndex& operator=(const TopicIndex&) = delete;

    // Adds or replaces (same session, same filter) a subscription; `filter` may
    // be a $share/{group}/{filter}. Returns true when it was new [MQTT-3.8.4-3].
    bool subscribe(std::string_view filter, const Subscriber& subscriber);
    // Returns true when the session had that subscription.
    bool unsubscribe(std::string_view filter, SessionId session);
    // Removes every subscription of a session (clean session end).
    void remove_session(SessionId session, const std::vector<std::string>& filters);

    // Appends the subscribers `topic` reaches: every plain subscription that
    // matches, and one member per matching shared-subscription group, chosen
    // round-robin. A session may appear more than once (overlapping filters);
    // the router merges those.
    void match(std::string_view topic, std::vector<Subscriber>& out) const;

    std::size_t subscription_count() const;

private:
    struct Node;
    struct SharedGroup;
    Node* find_or_create(std::string_view filter);
    void prune(std::string_view filter);

    mutable std::shared_mutex mutex_;  // guards root_ and count_
    std::unique_ptr<Node> root_;
    std::size_t count_ = 0;
};

}  // namespace fieldgate::broker
