#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace fieldgate::broker {

// How one session's queue is bounded and drained, instead of the broker's
// [limits]: a bridge's queue for the cloud ([bridge.queue]). A session gets
// it from the PeerInfo of the connection that attaches it and keeps it while
// detached, which is when it matters most.
struct QueuePolicy {
    enum class Drain {
        oldest_first,  // strictly in the order queued
        interleaved,   // one from the backlog, one live, in turn
        newest_first,  // live messages first, the backlog when there are none
    };

    std::uint64_t max_messages = 1'000'000;
    std::uint64_t max_bytes = 0;           // topic + payload bytes; 0 = no limit
    std::chrono::milliseconds max_age{0};  // 0 = no limit
    bool drop_oldest = true;               // when full; false: the new message is dropped
    Drain drain = Drain::interleaved;
    std::uint32_t drain_rate = 0;  // backlog messages per second; 0 = no limit
    // QoS 0 is kept while detached too, in memory only, up to this many.
    std::uint64_t max_qos0 = 0;
    // True for topics whose backlog leaves before the others' (null: none).
    // Self-contained: the session may outlive whoever made the policy.
    std::function<bool(std::string_view topic)> high_priority;
};

}  // namespace fieldgate::broker
