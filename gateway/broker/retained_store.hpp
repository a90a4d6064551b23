#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/broker/message.hpp"

namespace fieldgate::broker {

// The last retained message of each topic [MQTT 5.0, 3.3.1.3]. Shared by all
// workers; thread-safe (one mutex; matching copies pointers out under it).
class RetainedStore {
public:
    // Stores `message` for its topic, or clears the topic when the payload is
    // empty [MQTT-3.3.1-6, 3.3.1-7]. Returns true when the topic's entry changed.
    bool update(const MessagePtr& message);

    // The retained messages whose topics match `filter`, expired ones dropped.
    void match(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out);

    std::size_t size() const;

private:
    mutable std::mutex mutex_;  // guards messages_
    std::unordered_map<std::string, MessagePtr> messages_;
};

}  // namespace fieldgate::broker
