#pragma once

// The topic rules of one [[bridge]] ([[bridge.topic]] in DESIGN.md): which
// filters the bridge subscribes to on each side, and what a topic becomes when
// it crosses. Pure logic, no I/O.
//
// Semantics follow Mosquitto's bridge `topic pattern direction qos
// local_prefix remote_prefix`, with `remote` templates on top (issue 11):
//
// - A rule has a local side and a remote side, each a topic written with
//   {N} slots for the pattern's wildcards (N = 1 for the first '+' or '#' of
//   `pattern`). A prefix rule is the template PREFIX + pattern on both sides,
//   every wildcard in place: local_prefix + "a/+/#" is local_prefix + "a/{1}/{2}".
//   `remote` replaces the remote side (and, once the key exists, `local` the
//   local side).
// - The side a message comes from is the source: it must turn back into a
//   filter (each slot a whole level, a '#' slot last, each slot at most once,
//   every slot the other side uses present). That filter is the
//   subscription: local for out, remote for in, both for both. Prefix sides
//   must form valid filters whatever the direction, as Mosquitto checks.
// - A topic that matches the source filter is split into captures, one per
//   wildcard: a '+' capture is one level (maybe empty); a '#' capture is the
//   rest, slashes included, and is absent when the topic ends at the parent
//   level ("a/#" matches "a" [MQTT-4.7.1-2]). An absent '#' capture removes its
//   level and one separator from the result: with prefixes "a/" and "r/",
//   "a" -> "r", not "r/". (Mosquitto works on the prefixes as strings and
//   leaves such a topic unstripped: "a" -> "r/a".)
// - The destination side is the source's captures put into its template. Out
//   rules may write their destination freely: reorder ({2}/{1}), repeat, leave
//   out wildcards, or put a slot inside a level ("feeds/temp_{1}"). Those that
//   cannot be inverted are refused, at construction, for in and both.
// - Several rules match: the first, in file order, whose direction includes
//   the way the message goes decides, as in Mosquitto. A refused result is not
//   retried with later rules.
// - A result is refused (not sent, reason given) when it is empty, longer than
//   65,535 bytes, holds '+' or '#', or starts with '$' that came from a
//   capture rather than from the rule's own text: wildcard filters never match
//   '$' topics [MQTT-4.7.2-1], so the bridge does not make them up either.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace fieldgate::bridge {

// One filter to subscribe to. Identical filters of several rules are one
// subscription at the highest of their QoS; `rule` is the first of them.
struct Subscription {
    std::string filter;
    std::uint8_t qos = 0;
    std::size_t rule = 0;  // index in the rules given to TopicMap::from
};

// What a topic becomes under the first matching rule.
struct Mapped {
    std::string topic;  // the mapped topic (also when refused, for the log)
    std::uint8_t qos = 0;  // the rule's QoS: the most the bridge publishes with
    config::TopicPriority priority = config::TopicPriority::normal;
    std::size_t rule = 0;      // index in the rules given to TopicMap::from
    std::string_view refused;  // why `topic` must not be sent; empty when it may

    bool ok() const { return refused.empty(); }
};

// A rule that cannot work, for the config validator: `key` is the rule's key
// that is wrong ("pattern", "remote", ...), `message` says what and what was
// expected, in the style of config/validate.cpp.
struct TopicMapError {
    std::size_t rule = 0;
    std::string key;
    std::string message;
};

struct TopicMapResult;

namespace detail {

// One side of a rule: a topic template, literal text and slots.
struct TopicSide {
    struct Piece {
        std::string text;   // literal text (never empty), when wildcard < 0
        int wildcard = -1;  // a slot: index of the pattern's wildcard, from 0
        bool whole_level = false;  // a slot that is a level of its own
    };
    std::vector<Piece> pieces;
    bool literal_dollar = false;  // the template's own text starts with '$'
    // Set when the side can be a source: the filter, and for each wildcard the
    // level of the filter that captures it (npos: not on this side).
    std::string filter;
    std::vector<std::size_t> capture_level;
};

struct TopicRule {
    TopicSide local;
    TopicSide remote;
    std::vector<bool> multi;  // per wildcard: '#' (true) or '+'
    config::TopicDirection direction = config::TopicDirection::out;
    std::uint8_t qos = 0;
    config::TopicPriority priority = config::TopicPriority::normal;
};

}  // namespace detail

// Thread-safety: immutable once built; the const members may be called from
// any number of threads at once. Mapping allocates only the mapped topic.
class TopicMap {
public:
    // Checks every rule; errors for all bad rules at once, in rule order. With
    // any error the map in the result is empty.
    static TopicMapResult from(const std::vector<config::BridgeTopicConfig>& rules);

    // In rule order, identical filters merged.
    std::vector<Subscription> local_subscriptions() const;   // out and both
    std::vector<Subscription> remote_subscriptions() const;  // in and both

    // nullopt: no rule of that direction matches (or the topic is empty).
    std::optional<Mapped> to_remote(std::string_view local_topic) const;
    std::optional<Mapped> to_local(std::string_view remote_topic) const;

    std::size_t size() const { return rules_.size(); }
    // Some out rule has priority = "high".
    bool has_high_priority() const;

private:
    std::vector<detail::TopicRule> rules_;
};

struct TopicMapResult {
    TopicMap map;
    std::vector<TopicMapError> errors;

    bool ok() const { return errors.empty(); }
};

}  // namespace fieldgate::bridge
