#include "gateway/log/repeat_filter.hpp"

namespace fieldgate::log {

RepeatFilter::RepeatFilter(Clock::duration window, std::size_t max_tracked)
    : window_(window), max_tracked_(max_tracked) {}

bool RepeatFilter::admit(std::string_view key, Clock::time_point now) {
    auto it = entries_.find(std::string(key));
    if (it != entries_.end() && now - it->second.printed < window_) {
        ++it->second.repeats;
        return false;
    }
    if (it == entries_.end()) {
        // Bounded memory: a flood of distinct messages is printed, not tracked.
        if (entries_.size() >= max_tracked_) return true;
        it = entries_.emplace(std::string(key), Entry{}).first;
    }
    it->second = Entry{now, 0};
    return true;
}

std::vector<RepeatFilter::Summary> RepeatFilter::expire(Clock::time_point now) {
    std::vector<Summary> ended;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (now - it->second.printed < window_) {
            ++it;
            continue;
        }
        if (it->second.repeats > 0) ended.push_back({it->first, it->second.repeats});
        it = entries_.erase(it);
    }
    return ended;
}

}  // namespace fieldgate::log
