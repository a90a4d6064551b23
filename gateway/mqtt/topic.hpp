#pragma once

#include <optional>
#include <string_view>

namespace fieldgate::mqtt {

// Topic names and filters [MQTT 5.0, 4.7]. UTF-8 validity is checked by the
// decoder; these check the structure.

// Non-empty, at most 65,535 bytes, no '+' or '#' [MQTT-3.3.2-2].
bool is_valid_topic_name(std::string_view topic);

// Non-empty; '+' and '#' only as a whole level, '#' only as the last level
// [MQTT-4.7.1-1, 4.7.1-2]; a $share filter must be well-formed (below).
bool is_valid_topic_filter(std::string_view filter);

// Whether `filter` matches `topic`. Wildcards in the first level do not match a
// topic that starts with '$' [MQTT-4.7.2-1]. Both are assumed valid.
bool topic_matches(std::string_view filter, std::string_view topic);

// $share/{group}/{filter} [MQTT 5.0, 4.8.2]
struct SharedSubscription {
    std::string_view group;
    std::string_view filter;
};

inline bool is_shared_filter(std::string_view filter) { return filter.starts_with("$share/"); }

// The group and filter of a shared subscription; nullopt when `filter` is not
// one or is ill-formed (empty group, a group with '+', '#' or '/', no filter).
std::optional<SharedSubscription> parse_shared_subscription(std::string_view filter);

}  // namespace fieldgate::mqtt
