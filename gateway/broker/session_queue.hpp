#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <vector>

#include "gateway/broker/message.hpp"
#include "gateway/broker/queue_policy.hpp"

namespace fieldgate::broker {

// The messages waiting behind a session's in-flight window.
//
// Without a QueuePolicy it is one FIFO bounded by the broker's
// max_queued_messages (new messages beyond it are dropped). With one (a
// bridge's queue) it tells the backlog (what was queued while no connection
// was attached) from live messages, drains the two as the policy says, high
// priority backlog first, at most drain_rate backlog messages a second, and
// bounds itself by count, bytes and age, dropping the oldest or the newest.
//
// Costs an idle session an empty list, a byte count and a pointer: the
// policy's state is allocated only for sessions that have one.
class SessionQueue {
public:
    struct Drops {
        std::uint64_t full = 0;  // by max_messages, max_bytes or the QoS 0 bound
        std::uint64_t aged = 0;  // by max_age
    };

    SessionQueue();
    ~SessionQueue();
    SessionQueue(SessionQueue&&) = delete;

    // A null policy keeps the current one (a session attached by a network
    // client never gets one).
    void set_policy(std::shared_ptr<const QueuePolicy> policy);
    bool shaped() const { return shaped_ != nullptr; }
    // QoS 0 is queued for a detached session only under a policy.
    bool keeps_qos0_offline() const;

    bool empty() const { return size() == 0; }
    std::size_t size() const;
    std::uint64_t bytes() const { return bytes_; }
    // When the oldest waiting message arrived (nullopt: none waits).
    std::optional<Clock::time_point> oldest() const;
    Drops drops() const;

    // Queues `d`, bounded; what the bounds push out (the oldest messages, or
    // `d` itself) is appended to `dropped`. `attached`: a connection takes
    // messages now, so `d` is live rather than backlog.
    void push(Delivery d, std::uint64_t default_max, bool attached, std::vector<Delivery>& dropped);
    // From the store at start-up: backlog, not bounded (it was when queued).
    void push_restored(Delivery d);
    // Everything waiting now is backlog (the connection changed).
    void to_backlog();
    // Messages older than the policy's max_age leave, into `dropped`.
    void drop_aged(Clock::time_point now, std::vector<Delivery>& dropped);

    // The message to send next, or null: nothing waits, or the drain rate
    // holds the backlog back until wake_at().
    const Delivery* next(Clock::time_point now);
    // Removes and returns what next() gave.
    Delivery take(Clock::time_point now);
    std::optional<Clock::time_point> wake_at() const;

    // Removes the messages `pred` is true for.
    template <class Pred>
    void erase_if(Pred pred) {
        for (auto* list : lists()) {
            if (list == nullptr) continue;
            for (auto it = list->begin(); it != list->end();) {
                if (pred(*it)) {
                    removed(*it);
                    it = list->erase(it);
                } else {
                    ++it;
                }
            }
        }
    }
    void clear();

private:
    struct Shaped;

    // Every list that may hold messages (unused slots null): no allocation,
    // as the bridge's queue asks for them at every message it sends.
    std::array<std::list<Delivery>*, 3> lists();
    void removed(const Delivery& d);
    std::list<Delivery>* oldest_list();

    std::list<Delivery> live_;
    std::uint64_t bytes_ = 0;
    std::unique_ptr<Shaped> shaped_;
};

}  // namespace fieldgate::broker
