#include "gateway/mqtt/topic.hpp"

namespace fieldgate::mqtt {
namespace {

constexpr std::size_t max_topic_length = 65535;

// Filter structure without the $share rule.
bool is_valid_plain_filter(std::string_view filter) {
    if (filter.empty() || filter.size() > max_topic_length) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = filter.find('/', start);
        const bool last = slash == std::string_view::npos;
        const auto level = filter.substr(start, last ? std::string_view::npos : slash - start);
        if (level.find_first_of("+#") != std::string_view::npos) {
            if (level == "#") {
                if (!last) return false;  // [MQTT-4.7.1-1]
            } else if (level != "+") {
                return false;  // [MQTT-4.7.1-2]
            }
        }
        if (last) return true;
        start = slash + 1;
    }
}

}  // namespace

bool is_valid_topic_name(std::string_view topic) {
    return !topic.empty() && topic.size() <= max_topic_length &&
           topic.find_first_of("+#") == std::string_view::npos;
}

bool is_valid_topic_filter(std::string_view filter) {
    if (is_shared_filter(filter)) return parse_shared_subscription(filter).has_value();
    return is_valid_plain_filter(filter);
}

std::optional<SharedSubscription> parse_shared_subscription(std::string_view filter) {
    if (!is_shared_filter(filter) || filter.size() > max_topic_length) return std::nullopt;
    const auto rest = filter.substr(7);  // after "$share/"
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    SharedSubscription shared{rest.substr(0, slash), rest.substr(slash + 1)};
    // [MQTT-4.8.2-1, 4.8.2-2]
    if (shared.group.empty() || shared.group.find_first_of("+#") != std::string_view::npos) {
        return std::nullopt;
    }
    if (!is_valid_plain_filter(shared.filter)) return std::nullopt;
    return shared;
}

// Walks both level by level without allocating.
bool topic_matches(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
        (filter.front() == '+' || filter.front() == '#')) {
        return false;  // [MQTT-4.7.2-1]
    }
    std::size_t f = 0;
    std::size_t t = 0;
    while (true) {
        std::size_t f_end = filter.find('/', f);
        if (f_end == std::string_view::npos) f_end = filter.size();
        const auto f_level = filter.substr(f, f_end - f);
        if (f_level == "#") return true;  // also matches the parent level

        std::size_t t_end = topic.find('/', t);
        if (t_end == std::string_view::npos) t_end = topic.size();
        if (f_level != "+" && f_level != topic.substr(t, t_end - t)) return false;

        const bool filter_done = f_end == filter.size();
        const bool topic_done = t_end == topic.size();
        if (filter_done || topic_done) {
            // "a/#" matches "a": the only thing a filter may have left is "/#".
            return filter_done ? topic_done : filter.substr(f_end + 1) == "#";
        }
        f = f_end + 1;
        t = t_end + 1;
    }
}

}  // namespace fieldgate::mqtt
