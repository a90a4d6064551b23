#include "bridge/topic_map.hpp"

#include <algorithm>
#include <utility>

#include "gateway/mqtt/topic.hpp"

namespace fieldgate::bridge {
namespace {

using config::TopicDirection;
using detail::TopicRule;
using detail::TopicSide;

constexpr std::size_t npos = std::string::npos;
constexpr std::size_t max_topic_length = 65535;  // [MQTT-1.5.4]

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }
std::string slot_name(std::size_t wildcard) { return "{" + std::to_string(wildcard + 1) + "}"; }

bool sends_out(TopicDirection d) { return d != TopicDirection::in; }
bool sends_in(TopicDirection d) { return d != TopicDirection::out; }

// Per wildcard of a valid filter, in order: whether it is '#'.
std::vector<bool> wildcards_of(std::string_view pattern) {
    std::vector<bool> multi;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = pattern.find('/', start);
        const auto level = pattern.substr(start, slash == npos ? npos : slash - start);
        if (level == "+" || level == "#") multi.push_back(level == "#");
        if (slash == npos) return multi;
        start = slash + 1;
    }
}

void add_literal(TopicSide& side, std::string_view text) {
    if (text.empty()) return;
    if (!side.pieces.empty() && side.pieces.back().wildcard < 0) {
        side.pieces.back().text += text;
    } else {
        side.pieces.push_back({std::string(text)});
    }
}

// Marks the slots that are levels of their own, and whether the side's own
// text makes it a '$' topic.
void finish(TopicSide& side) {
    auto& pieces = side.pieces;
    for (std::size_t p = 0; p < pieces.size(); ++p) {
        if (pieces[p].wildcard < 0) continue;
        const bool starts = p == 0 || (pieces[p - 1].wildcard < 0 && pieces[p - 1].text.ends_with('/'));
        const bool ends = p + 1 == pieces.size() || (pieces[p + 1].wildcard < 0 && pieces[p + 1].text.starts_with('/'));
        pieces[p].whole_level = starts && ends;
    }
    side.literal_dollar = !pieces.empty() && pieces.front().wildcard < 0 && pieces.front().text.starts_with('$');
}

// PREFIX + pattern, the pattern's wildcards as slots in their own places.
TopicSide prefix_side(std::string_view prefix, std::string_view pattern) {
    TopicSide side;
    add_literal(side, prefix);
    int wildcard = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = pattern.find('/', start);
        const auto level = pattern.substr(start, slash == npos ? npos : slash - start);
        if (level == "+" || level == "#") {
            side.pieces.push_back({{}, wildcard++});
        } else {
            add_literal(side, level);
        }
        if (slash == npos) break;
        add_literal(side, "/");
        start = slash + 1;
    }
    finish(side);
    return side;
}

// A template such as "site/{1}/temperature/{2}"; the error message (for the
// key holding it) when it is not one. Every '{' opens a placeholder.
std::optional<std::string> template_side(std::string_view text, std::size_t wildcards, TopicSide& side) {
    std::size_t literal_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+' || text[i] == '#') {
            return "wildcard '" + std::string(1, text[i]) + "' in " + quoted(text) +
                   " (expected a topic with {N} standing for the pattern's wildcards)";
        }
        if (text[i] != '{') continue;
        add_literal(side, text.substr(literal_start, i - literal_start));
        const std::size_t close = text.find('}', i);
        const auto index = text.substr(i + 1, close == npos ? 0 : close - i - 1);
        const bool digits = !index.empty() && index.size() < 6 && index.find_first_not_of("0123456789") == npos;
        const std::size_t n = digits ? std::stoul(std::string(index)) : 0;
        if (n < 1 || n > wildcards) {
            const std::string expected =
                wildcards == 0 ? "no placeholders: the pattern has no wildcards"
                               : "{1} to {" + std::to_string(wildcards) + "}, one per wildcard of the pattern";
            return "placeholder {" + std::string(index) + "} in " + quoted(text) + " (expected " + expected + ")";
        }
        side.pieces.push_back({{}, static_cast<int>(n - 1)});
        i = close;
        literal_start = close + 1;
    }
    add_literal(side, text.substr(std::min(literal_start, text.size())));
    finish(side);
    return std::nullopt;
}

enum class SourceProblem { none, part_of_level, repeated, hash_not_last, invalid_filter, shared };

struct SourceCheck {
    SourceProblem problem = SourceProblem::none;
    std::size_t wildcard = 0;  // the slot concerned
    std::string filter;        // what the side gives as a filter so far
};

// Makes `side` a source: a filter that topics are matched against, and where
// each wildcard is captured. A slot becomes '+' or '#', so it must be a whole
// level, once, and a '#' only last [MQTT-4.7.1-1, 4.7.1-2].
SourceCheck make_source(TopicSide& side, const std::vector<bool>& multi) {
    SourceCheck check;
    std::string& filter = check.filter;
    std::vector<std::size_t> levels(multi.size(), npos);
    std::size_t level = 0;
    for (std::size_t p = 0; p < side.pieces.size(); ++p) {
        const auto& piece = side.pieces[p];
        if (piece.wildcard < 0) {
            filter += piece.text;
            level += static_cast<std::size_t>(std::count(piece.text.begin(), piece.text.end(), '/'));
            continue;
        }
        const auto w = static_cast<std::size_t>(piece.wildcard);
        check.wildcard = w;
        if (!piece.whole_level) {
            check.problem = SourceProblem::part_of_level;
            filter += multi[w] ? '#' : '+';
            return check;
        }
        if (levels[w] != npos) {
            check.problem = SourceProblem::repeated;
            return check;
        }
        if (multi[w] && p + 1 != side.pieces.size()) {
            check.problem = SourceProblem::hash_not_last;
            return check;
        }
        levels[w] = level;
        filter += multi[w] ? '#' : '+';
    }
    if (mqtt::is_shared_filter(filter)) {
        check.problem = SourceProblem::shared;
    } else if (!mqtt::is_valid_topic_filter(filter)) {
        check.problem = SourceProblem::invalid_filter;
    } else {
        side.filter = filter;
        side.capture_level = std::move(levels);
    }
    return check;
}

// The first wildcard `to` uses that `from` does not capture; npos when none.
std::size_t uncaptured(const TopicSide& from, const TopicSide& to) {
    for (const auto& piece : to.pieces) {
        if (piece.wildcard >= 0 && from.capture_level[static_cast<std::size_t>(piece.wildcard)] == npos) {
            return static_cast<std::size_t>(piece.wildcard);
        }
    }
    return npos;
}

// What a wildcard captured from `topic`, which matches the filter the level
// comes from: one level for '+', the rest for '#'; nullopt when a '#' matched
// the parent level and captured nothing.
std::optional<std::string_view> capture(std::string_view topic, std::size_t level, bool multi) {
    std::size_t start = 0;
    for (std::size_t l = 0; l < level; ++l) {
        const std::size_t slash = topic.find('/', start);
        if (slash == npos) return std::nullopt;
        start = slash + 1;
    }
    if (multi) return topic.substr(start);
    const std::size_t end = topic.find('/', start);
    return topic.substr(start, end == npos ? npos : end - start);
}

Mapped map_topic(const TopicRule& rule, std::size_t index, const TopicSide& from, const TopicSide& to,
                 std::string_view topic) {
    Mapped m;
    m.qos = rule.qos;
    m.priority = rule.priority;
    m.rule = index;

    const auto capture_of = [&](const TopicSide::Piece& piece) {
        const auto w = static_cast<std::size_t>(piece.wildcard);
        return capture(topic, from.capture_level[w], rule.multi[w]);
    };
    std::size_t size = 0;
    for (const auto& piece : to.pieces) {
        size += piece.wildcard < 0 ? piece.text.size() : capture_of(piece).value_or("").size();
    }
    m.topic.reserve(size);

    bool skip_separator = false;  // an absent first level takes the '/' after it
    for (std::size_t p = 0; p < to.pieces.size(); ++p) {
        const auto& piece = to.pieces[p];
        if (piece.wildcard < 0) {
            m.topic.append(piece.text, skip_separator ? 1 : 0);
            skip_separator = false;
            continue;
        }
        const auto captured = capture_of(piece);
        if (captured) {
            m.topic += *captured;
        } else if (piece.whole_level) {
            // "a/#" matched "a": the level goes, with one separator.
            if (!m.topic.empty() && m.topic.back() == '/') {
                m.topic.pop_back();
            } else {
                skip_separator = true;
            }
        }
    }

    if (m.topic.empty()) {
        m.refused = "the mapped topic is empty [MQTT-4.7.3-1]";
    } else if (m.topic.size() > max_topic_length) {
        m.refused = "the mapped topic is longer than 65,535 bytes [MQTT-1.5.4]";
    } else if (m.topic.find_first_of("+#") != npos) {
        m.refused = "the mapped topic contains '+' or '#' [MQTT-3.3.2-2]";
    } else if (m.topic.front() == '$' && !to.literal_dollar) {
        // Wildcards never match '$' topics [MQTT-4.7.2-1]; only the rule's
        // own text may address one (e.g. AWS IoT's "$aws/things/...").
        m.refused = "the mapped topic starts with '$' taken from the topic, not written in the rule";
    }
    return m;
}

std::vector<Subscription> subscriptions(const std::vector<TopicRule>& rules, bool local) {
    std::vector<Subscription> subs;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& rule = rules[i];
        if (!(local ? sends_out(rule.direction) : sends_in(rule.direction))) continue;
        const std::string& filter = local ? rule.local.filter : rule.remote.filter;
        const auto same = std::find_if(subs.begin(), subs.end(), [&](const auto& s) { return s.filter == filter; });
        if (same != subs.end()) {
            same->qos = std::max(same->qos, rule.qos);
        } else {
            subs.push_back({filter, rule.qos, i});
        }
    }
    return subs;
}

// Collects the errors of one rule, in the order found.
class RuleErrors {
public:
    RuleErrors(std::size_t rule, std::vector<TopicMapError>& errors) : rule_(rule), errors_(errors) {}
    void operator()(std::string key, std::string message) {
        errors_.push_back({rule_, std::move(key), std::move(message)});
        any_ = true;
    }
    bool any() const { return any_; }

private:
    std::size_t rule_;
    std::vector<TopicMapError>& errors_;
    bool any_ = false;
};

// How the config wrote a side, for error messages.
struct SideText {
    std::string key;   // "local_prefix", "remote_prefix", "remote" (later "local")
    std::string text;  // the prefix or the template
    bool is_template = false;
};

// Checks that `side` can be the source of messages going the way `way` says
// ("out": local topics, "in": remote ones), and that `other` can be filled.
void check_source(TopicSide& side, const SideText& text, const TopicSide& other, const SideText& other_text,
                  std::string_view pattern, const std::vector<bool>& multi, std::string_view way,
                  RuleErrors& error) {
    const SourceCheck check = make_source(side, multi);
    const std::string slot = slot_name(check.wildcard);
    const std::string need = std::string("for direction \"") + std::string(way) + "\" or \"both\"";
    if (!text.is_template) {
        // Only the joint of prefix and pattern or the length can be wrong.
        if (check.problem != SourceProblem::none) {
            error(text.key, quoted(text.text) + " before pattern " + quoted(pattern) + " gives " +
                                quoted(text.text + std::string(pattern)) +
                                " (expected a valid filter: a prefix ending in '/' where the pattern starts with a "
                                "wildcard, at most 65,535 bytes, no $share/)");
        }
    } else {
        switch (check.problem) {
            case SourceProblem::none: break;
            case SourceProblem::part_of_level:
                error(text.key, slot + " is part of a level in " + quoted(text.text) + " (expected each {N} as a " +
                                    "whole level " + need + ": it becomes a '+' or '#' of the subscription)");
                break;
            case SourceProblem::repeated:
                error(text.key, slot + " appears twice in " + quoted(text.text) + " (expected each {N} at most once " +
                                    need + ": one topic could give it two values)");
                break;
            case SourceProblem::hash_not_last:
                error(text.key, slot + " stands for '#' but is not the last level of " + quoted(text.text) +
                                    " (expected it last " + need + ": it becomes a '#' of the subscription)");
                break;
            case SourceProblem::invalid_filter:
                error(text.key, quoted(text.text) + " gives the filter " + quoted(check.filter) +
                                    " (expected a valid filter of at most 65,535 bytes " + need + ")");
                break;
            case SourceProblem::shared:
                error(text.key, quoted(text.text) + " gives a shared subscription " + quoted(check.filter) +
                                    " (expected a plain filter)");
                break;
        }
    }
    if (check.problem != SourceProblem::none) return;
    const std::size_t missing = uncaptured(side, other);
    if (missing != npos) {
        const std::string user = other_text.is_template ? other_text.key + " " + quoted(other_text.text) : "the pattern";
        error(text.key, slot_name(missing) + " is missing from " + quoted(text.text) + " but used by " + user +
                            " (expected every {N} the other side uses " + need + ", to fill in the mapped topic)");
    }
}

// One [[bridge.topic]], or nullopt after reporting why it cannot work.
std::optional<TopicRule> make_rule(const config::BridgeTopicConfig& t, RuleErrors& error) {
    if (t.qos > 2) error("qos", std::to_string(t.qos) + " (expected 0, 1 or 2)");
    if (t.pattern.empty()) {
        error("pattern", "empty (expected a topic filter, like \"sensors/#\")");
    } else if (mqtt::is_shared_filter(t.pattern)) {
        error("pattern", "shared subscription " + quoted(t.pattern) + " (expected a plain topic filter)");
    } else if (!mqtt::is_valid_topic_filter(t.pattern)) {
        error("pattern", "invalid topic filter " + quoted(t.pattern) +
                             " (expected '+' and '#' only as whole levels, '#' last)");
    }
    for (const auto& [key, prefix] : {std::pair{"local_prefix", &t.local_prefix}, {"remote_prefix", &t.remote_prefix}}) {
        if (prefix->find_first_of("+#") != npos) {
            error(key, "wildcard in prefix " + quoted(*prefix) + " (expected a plain topic prefix)");
        }
    }
    if (!t.remote.empty() && !t.remote_prefix.empty()) {
        error("remote", "set together with remote_prefix (expected one of remote or remote_prefix)");
    }
    if (error.any()) return std::nullopt;

    TopicRule rule;
    rule.multi = wildcards_of(t.pattern);
    rule.direction = t.direction;
    rule.qos = static_cast<std::uint8_t>(t.qos);
    rule.priority = t.priority;

    // A `local` template (issue 11) slots in here like `remote` below.
    const SideText local_text{"local_prefix", t.local_prefix, false};
    rule.local = prefix_side(t.local_prefix, t.pattern);

    const SideText remote_text = t.remote.empty() ? SideText{"remote_prefix", t.remote_prefix, false}
                                                  : SideText{"remote", t.remote, true};
    if (remote_text.is_template) {
        if (auto message = template_side(t.remote, rule.multi.size(), rule.remote)) {
            error("remote", std::move(*message));
            return std::nullopt;
        }
    } else {
        rule.remote = prefix_side(t.remote_prefix, t.pattern);
    }

    // Prefix sides must join into valid filters whatever the direction (as in
    // Mosquitto); a template only where topics are matched against it.
    if (sends_out(t.direction) || !local_text.is_template) {
        check_source(rule.local, local_text, rule.remote, remote_text, t.pattern, rule.multi, "out", error);
    }
    if (sends_in(t.direction) || !remote_text.is_template) {
        check_source(rule.remote, remote_text, rule.local, local_text, t.pattern, rule.multi, "in", error);
    }
    if (error.any()) return std::nullopt;
    return rule;
}

}  // namespace

TopicMapResult TopicMap::from(const std::vector<config::BridgeTopicConfig>& rules) {
    TopicMapResult result;
    std::vector<TopicRule> built;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        RuleErrors error(i, result.errors);
        if (auto rule = make_rule(rules[i], error)) built.push_back(std::move(*rule));
    }
    if (result.ok()) result.map.rules_ = std::move(built);
    return result;
}

std::vector<Subscription> TopicMap::local_subscriptions() const { return subscriptions(rules_, true); }
std::vector<Subscription> TopicMap::remote_subscriptions() const { return subscriptions(rules_, false); }

std::optional<Mapped> TopicMap::to_remote(std::string_view local_topic) const {
    if (local_topic.empty()) return std::nullopt;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const auto& rule = rules_[i];
        if (sends_out(rule.direction) && mqtt::topic_matches(rule.local.filter, local_topic)) {
            return map_topic(rule, i, rule.local, rule.remote, local_topic);
        }
    }
    return std::nullopt;
}

std::optional<Mapped> TopicMap::to_local(std::string_view remote_topic) const {
    if (remote_topic.empty()) return std::nullopt;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const auto& rule = rules_[i];
        if (sends_in(rule.direction) && mqtt::topic_matches(rule.remote.filter, remote_topic)) {
            return map_topic(rule, i, rule.remote, rule.local, remote_topic);
        }
    }
    return std::nullopt;
}

bool TopicMap::has_high_priority() const {
    return std::any_of(rules_.begin(), rules_.end(), [](const detail::TopicRule& r) {
        return r.priority == config::TopicPriority::high && r.direction != config::TopicDirection::in;
    });
}

}  // namespace fieldgate::bridge
