#include "gateway/broker/retained_store.hpp"

#include "gateway/mqtt/topic.hpp"

namespace fieldgate::broker {

bool RetainedStore::update(const MessagePtr& message) {
    const std::lock_guard lock{mutex_};
    if (message->payload.empty()) return messages_.erase(message->topic) > 0;
    messages_[message->topic] = message;
    return true;
}

void RetainedStore::match(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out) {
    const std::lock_guard lock{mutex_};
    for (auto it = messages_.begin(); it != messages_.end();) {
        if (it->second->expired(now)) {
            it = messages_.erase(it);
            continue;
        }
        if (mqtt::topic_matches(filter, it->first)) out.push_back(it->second);
        ++it;
    }
}

std::size_t RetainedStore::size() const {
    const std::lock_guard lock{mutex_};
    return messages_.size();
}

}  // namespace fieldgate::broker
