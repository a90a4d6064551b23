// The bridge's topic rules: subscriptions on each side and what a topic
// becomes when it crosses ([[bridge.topic]], Mosquitto's bridge `topic` plus
// `remote` templates, issue 11).
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/topic_map.hpp"

namespace fieldgate::bridge {
namespace {

using config::BridgeTopicConfig;
using config::TopicDirection;
using config::TopicPriority;
using Rules = std::vector<BridgeTopicConfig>;

std::string errors_text(const TopicMapResult& r) {
    std::string text;
    for (const auto& e : r.errors) text += "rule " + std::to_string(e.rule) + " " + e.key + ": " + e.message + "\n";
    return text;
}

TopicMap build(const Rules& rules) {
    auto result = TopicMap::from(rules);
    EXPECT_TRUE(result.ok()) << errors_text(result);
    return std::move(result.map);
}

// "(no rule)", "refused:TOPIC", or the mapped topic.
std::string describe(const std::optional<Mapped>& m) {
    if (!m) return "(no rule)";
    return m->ok() ? m->topic : "refused:" + m->topic;
}

enum class Way { out, in };

std::string map(const TopicMap& map, Way way, std::string_view topic) {
    return describe(way == Way::out ? map.to_remote(topic) : map.to_local(topic));
}

// The rule of each README example.
const BridgeTopicConfig prefix_out{.pattern = "sensors/#", .direction = TopicDirection::out, .qos = 1,
                                   .remote_prefix = "site/line3/"};
const BridgeTopicConfig prefix_in{.pattern = "cmd/#", .direction = TopicDirection::in, .qos = 1,
                                  .local_prefix = "devices/", .remote_prefix = "site/line3/"};
const BridgeTopicConfig template_both{.pattern = "plant/+/temp/#", .direction = TopicDirection::both, .qos = 1,
                                      .remote = "site/line3/{1}/temperature/{2}"};

// ---------------------------------------------------------------------------
// Mapping tables: one rule set, one topic, exactly what it becomes.

struct MapCase {
    const char* name;
    Rules rules;
    Way way;
    std::string_view topic;
    std::string_view expected;
};

std::ostream& operator<<(std::ostream& os, const MapCase& c) {
    return os << (c.way == Way::out ? "to_remote(\"" : "to_local(\"") << c.topic << "\") -> " << c.expected;
}

class BridgeTopicMapTable : public testing::TestWithParam<MapCase> {};

TEST_P(BridgeTopicMapTable, MapsAsExpected) {
    const auto& c = GetParam();
    const TopicMap m = build(c.rules);
    EXPECT_EQ(map(m, c.way, c.topic), c.expected);
}

BridgeTopicConfig out_rule(std::string pattern, std::string local_prefix, std::string remote_prefix,
                           std::string remote = "", TopicDirection direction = TopicDirection::out) {
    return {.pattern = std::move(pattern), .direction = direction, .local_prefix = std::move(local_prefix),
            .remote_prefix = std::move(remote_prefix), .remote = std::move(remote)};
}

BridgeTopicConfig template_rule(std::string pattern, std::string remote, TopicDirection direction) {
    return out_rule(std::move(pattern), "", "", std::move(remote), direction);
}

const auto both = TopicDirection::both;
const auto in = TopicDirection::in;
const auto out = TopicDirection::out;

INSTANTIATE_TEST_SUITE_P(
    Prefix, BridgeTopicMapTable,
    testing::Values(
        MapCase{"OutAddsRemotePrefix", {prefix_out}, Way::out, "sensors/t1/temp", "site/line3/sensors/t1/temp"},
        // "sensors/#" matches "sensors" [MQTT-4.7.1-2]: the remote topic is the
        // parent level of "site/line3/sensors/#" too.
        MapCase{"OutHashMatchingParentLevelMapsToParent", {prefix_out}, Way::out, "sensors", "site/line3/sensors"},
        MapCase{"OutTrailingSlashKeepsEmptyLevel", {prefix_out}, Way::out, "sensors/", "site/line3/sensors/"},
        MapCase{"OutOtherTopicHasNoRule", {prefix_out}, Way::out, "actuators/x", "(no rule)"},
        MapCase{"OutRuleDoesNotMapInbound", {prefix_out}, Way::in, "site/line3/sensors/x", "(no rule)"},
        MapCase{"OutReplacesLocalPrefix", {out_rule("+/temp", "plant/", "cloud/")}, Way::out, "plant/boiler/temp",
                "cloud/boiler/temp"},
        MapCase{"OutNeedsLocalPrefix", {out_rule("+/temp", "plant/", "cloud/")}, Way::out, "boiler/temp", "(no rule)"},
        MapCase{"OutOnlyLocalPrefixRemovesIt", {out_rule("#", "dev/", "")}, Way::out, "dev/a/b", "a/b"},
        // Mosquitto's prefixes are plain strings: they need not end in '/'.
        MapCase{"OutPrefixInsideALevel", {out_rule("shed", "temperature/", "user/feeds/temperature_")}, Way::out,
                "temperature/shed", "user/feeds/temperature_shed"},
        MapCase{"InAddsLocalPrefixForRemotePrefix", {prefix_in}, Way::in, "site/line3/cmd/plc1/setpoint",
                "devices/cmd/plc1/setpoint"},
        MapCase{"InHashMatchingParentLevelMapsToParent", {prefix_in}, Way::in, "site/line3/cmd", "devices/cmd"},
        MapCase{"InRuleDoesNotMapOutbound", {prefix_in}, Way::out, "devices/cmd/x", "(no rule)"},
        MapCase{"InNeedsRemotePrefix", {prefix_in}, Way::in, "cmd/x", "(no rule)"},
        MapCase{"BothMapsOut", {out_rule("a/+", "l/", "r/", "", both)}, Way::out, "l/a/x", "r/a/x"},
        MapCase{"BothMapsIn", {out_rule("a/+", "l/", "r/", "", both)}, Way::in, "r/a/x", "l/a/x"}),
    [](const auto& p) { return std::string(p.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Template, BridgeTopicMapTable,
    testing::Values(
        MapCase{"OutFillsPlaceholders", {template_both}, Way::out, "plant/boiler/temp/celsius",
                "site/line3/boiler/temperature/celsius"},
        MapCase{"OutHashCaptureKeepsSlashes", {template_both}, Way::out, "plant/boiler/temp/a/b/c",
                "site/line3/boiler/temperature/a/b/c"},
        // '#' matched zero levels: its level and separator go.
        MapCase{"OutHashCapturingNothingDropsItsLevel", {template_both}, Way::out, "plant/boiler/temp",
                "site/line3/boiler/temperature"},
        MapCase{"OutHashCapturingOneEmptyLevelKeepsIt", {template_both}, Way::out, "plant/boiler/temp/",
                "site/line3/boiler/temperature/"},
        MapCase{"OutPlusCapturingEmptyLevel", {template_both}, Way::out, "plant//temp/x",
                "site/line3//temperature/x"},
        MapCase{"OutNonMatchingTopicHasNoRule", {template_both}, Way::out, "plant/boiler/pressure/x", "(no rule)"},
        MapCase{"InMatchesBackToPattern", {template_both}, Way::in, "site/line3/boiler/temperature/celsius",
                "plant/boiler/temp/celsius"},
        MapCase{"InHashCaptureKeepsSlashes", {template_both}, Way::in, "site/line3/boiler/temperature/a/b",
                "plant/boiler/temp/a/b"},
        MapCase{"InHashCapturingNothingDropsItsLevel", {template_both}, Way::in, "site/line3/boiler/temperature",
                "plant/boiler/temp"},
        MapCase{"InNonMatchingTopicHasNoRule", {template_both}, Way::in, "site/line3/boiler/pressure/x", "(no rule)"},
        MapCase{"ReorderedPlusOut", {template_rule("+/+", "{2}/{1}", both)}, Way::out, "a/b", "b/a"},
        MapCase{"ReorderedPlusIn", {template_rule("+/+", "{2}/{1}", both)}, Way::in, "b/a", "a/b"},
        MapCase{"ReorderedAroundHashOut", {template_rule("+/#", "{2}/{1}", out)}, Way::out, "a/b/c", "b/c/a"},
        // An absent first-level capture takes the separator after it.
        MapCase{"ReorderedAroundHashCapturingNothingOut", {template_rule("+/#", "{2}/{1}", out)}, Way::out, "a", "a"},
        MapCase{"HashInTheMiddleOut", {template_rule("dev/+/#", "cloud/{2}/from/{1}", out)}, Way::out,
                "dev/pump/a/b", "cloud/a/b/from/pump"},
        MapCase{"HashInTheMiddleCapturingNothingOut", {template_rule("dev/+/#", "cloud/{2}/from/{1}", out)},
                Way::out, "dev/pump", "cloud/from/pump"},
        MapCase{"PlaceholderInsideALevelOut", {template_rule("dev/+", "feeds/temp_{1}", out)}, Way::out, "dev/shed",
                "feeds/temp_shed"},
        MapCase{"RepeatedPlaceholderOut", {template_rule("+/x", "{1}/{1}", out)}, Way::out, "a/x", "a/a"},
        MapCase{"UnusedWildcardOut", {template_rule("+/#", "all/{2}", out)}, Way::out, "a/b", "all/b"},
        MapCase{"NoPlaceholdersOut", {template_rule("plant/#", "site/everything", out)}, Way::out, "plant/a/b",
                "site/everything"},
        MapCase{"NoWildcardsIn", {template_rule("local/cmd", "cloud/cmd", in)}, Way::in, "cloud/cmd", "local/cmd"},
        MapCase{"LocalPrefixWithTemplateOut",
                {out_rule("+/temp", "plant/", "", "site/{1}", both)}, Way::out, "plant/boiler/temp", "site/boiler"},
        MapCase{"LocalPrefixWithTemplateIn",
                {out_rule("+/temp", "plant/", "", "site/{1}", both)}, Way::in, "site/boiler", "plant/boiler/temp"}),
    [](const auto& p) { return std::string(p.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Dollar, BridgeTopicMapTable,
    testing::Values(
        // Wildcards in the first level never match '$' topics [MQTT-4.7.2-1].
        MapCase{"HashPatternDoesNotCarrySysTopicsOut", {out_rule("#", "", "r/")}, Way::out, "$SYS/broker/uptime",
                "(no rule)"},
        MapCase{"PlusFirstLevelDoesNotMatchDollarIn", {template_rule("+/x", "{1}/x", in)}, Way::in, "$a/x",
                "(no rule)"},
        MapCase{"LiteralDollarPatternIsCarried", {out_rule("$aws/things/pump/#", "", "")}, Way::out,
                "$aws/things/pump/shadow", "$aws/things/pump/shadow"},
        MapCase{"LiteralDollarTemplateIsWritten", {template_rule("shadow/+", "$aws/things/{1}/shadow/update", out)},
                Way::out, "shadow/pump", "$aws/things/pump/shadow/update"},
        MapCase{"LiteralDollarRemotePrefixIsWritten", {out_rule("#", "", "$aws/rules/r1/")}, Way::out, "a/b",
                "$aws/rules/r1/a/b"},
        // A '$' level below the wildcard's reach of [MQTT-4.7.2-1] would turn
        // into a '$' topic on the other side: refused.
        MapCase{"DollarFromACaptureIsRefused", {out_rule("#", "dev/", "")}, Way::out, "dev/$SYS/x",
                "refused:$SYS/x"},
        MapCase{"DollarFromACaptureInsideTopicIsCarried", {out_rule("#", "dev/", "r/")}, Way::out, "dev/$SYS/x",
                "r/$SYS/x"}),
    [](const auto& p) { return std::string(p.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Refused, BridgeTopicMapTable,
    testing::Values(
        // "dev/#" matches "dev"; without the prefix nothing is left.
        MapCase{"EmptyResultIsRefused", {out_rule("#", "dev/", "")}, Way::out, "dev", "refused:"},
        MapCase{"EmptyTopicHasNoRule", {out_rule("#", "", "r/")}, Way::out, "", "(no rule)"},
        // Topics with wildcards never come from a broker; should one, it is not
        // passed on.
        MapCase{"WildcardInTopicIsRefused", {out_rule("#", "", "r/")}, Way::out, "a/+/b", "refused:r/a/+/b"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------
// Rule order, directions, what a mapping carries

TEST(BridgeTopicMap, FirstMatchingRuleInFileOrderWins) {
    const TopicMap m = build({out_rule("a/b", "", "first/"), out_rule("a/#", "", "second/")});
    const auto b = m.to_remote("a/b");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->topic, "first/a/b");
    EXPECT_EQ(b->rule, 0u);
    const auto c = m.to_remote("a/c");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->topic, "second/a/c");
    EXPECT_EQ(c->rule, 1u);

    const TopicMap reversed = build({out_rule("a/#", "", "second/"), out_rule("a/b", "", "first/")});
    EXPECT_EQ(describe(reversed.to_remote("a/b")), "second/a/b");
}

TEST(BridgeTopicMap, RulesOfTheOtherDirectionAreSkipped) {
    const TopicMap m = build({out_rule("a/#", "in/", "", "", in), out_rule("a/#", "", "out/")});
    const auto up = m.to_remote("a/x");
    ASSERT_TRUE(up);
    EXPECT_EQ(up->topic, "out/a/x");
    EXPECT_EQ(up->rule, 1u);
    const auto down = m.to_local("a/x");
    ASSERT_TRUE(down);
    EXPECT_EQ(down->topic, "in/a/x");
    EXPECT_EQ(down->rule, 0u);
}

TEST(BridgeTopicMap, RefusedResultIsNotRetriedWithLaterRules) {
    const TopicMap m = build({out_rule("#", "dev/", ""), out_rule("dev/#", "", "r/")});
    const auto dev = m.to_remote("dev");
    ASSERT_TRUE(dev);
    EXPECT_FALSE(dev->ok());
    EXPECT_EQ(dev->refused, "the mapped topic is empty [MQTT-4.7.3-1]");
    EXPECT_EQ(dev->rule, 0u);
}

TEST(BridgeTopicMap, MappedCarriesQosPriorityAndRule) {
    BridgeTopicConfig low = out_rule("a/#", "", "low/");
    low.qos = 0;
    BridgeTopicConfig high = out_rule("b/#", "", "high/", "", both);
    high.qos = 2;
    high.priority = TopicPriority::high;
    const TopicMap m = build({low, high});

    const auto a = m.to_remote("a/1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->qos, 0);
    EXPECT_EQ(a->priority, TopicPriority::normal);
    EXPECT_EQ(a->rule, 0u);
    EXPECT_TRUE(a->ok());
    EXPECT_EQ(a->refused, "");
    const auto b = m.to_local("high/b/1");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->topic, "b/1");
    EXPECT_EQ(b->qos, 2);
    EXPECT_EQ(b->priority, TopicPriority::high);
    EXPECT_EQ(b->rule, 1u);
}

TEST(BridgeTopicMap, DollarFromACaptureIsRefusedWithReason) {
    const TopicMap m = build({out_rule("#", "dev/", "")});
    const auto sys = m.to_remote("dev/$SYS/x");
    ASSERT_TRUE(sys);
    EXPECT_EQ(sys->refused, "the mapped topic starts with '$' taken from the topic, not written in the rule");
}

TEST(BridgeTopicMap, ResultOfExactly65535BytesIsAccepted) {
    const TopicMap m = build({out_rule("#", "", "r/")});
    const auto at_limit = m.to_remote(std::string(65533, 'a'));
    ASSERT_TRUE(at_limit);
    EXPECT_TRUE(at_limit->ok()) << at_limit->refused;
    EXPECT_EQ(at_limit->topic, "r/" + std::string(65533, 'a'));
}

TEST(BridgeTopicMap, ResultOver65535BytesIsRefused) {
    const TopicMap m = build({out_rule("#", "", "r/")});
    const auto over = m.to_remote(std::string(65534, 'a'));
    ASSERT_TRUE(over);
    EXPECT_FALSE(over->ok());
    EXPECT_EQ(over->refused, "the mapped topic is longer than 65,535 bytes [MQTT-1.5.4]");
}

TEST(BridgeTopicMap, NoRulesMapNothing) {
    const TopicMap m = build({});
    EXPECT_EQ(m.size(), 0u);
    EXPECT_FALSE(m.to_remote("a"));
    EXPECT_FALSE(m.to_local("a"));
    EXPECT_TRUE(m.local_subscriptions().empty());
    EXPECT_TRUE(m.remote_subscriptions().empty());
}

// ---------------------------------------------------------------------------
// Subscriptions

// "FILTER qos Q rule R" per subscription, one a line.
std::string text(const std::vector<Subscription>& subs) {
    std::string text;
    for (const auto& s : subs) {
        text += s.filter + " qos " + std::to_string(s.qos) + " rule " + std::to_string(s.rule) + "\n";
    }
    return text;
}

TEST(BridgeTopicMap, SubscribesLocallyForOutAndRemotelyForIn) {
    const TopicMap m = build({prefix_out, prefix_in, template_both});
    EXPECT_EQ(text(m.local_subscriptions()), "sensors/# qos 1 rule 0\nplant/+/temp/# qos 1 rule 2\n");
    EXPECT_EQ(text(m.remote_subscriptions()),
              "site/line3/cmd/# qos 1 rule 1\nsite/line3/+/temperature/# qos 1 rule 2\n");
}

TEST(BridgeTopicMap, PrefixesJoinPatternInSubscriptions) {
    const TopicMap m = build({out_rule("+/temp", "plant/", "cloud/", "", both)});
    EXPECT_EQ(text(m.local_subscriptions()), "plant/+/temp qos 1 rule 0\n");
    EXPECT_EQ(text(m.remote_subscriptions()), "cloud/+/temp qos 1 rule 0\n");
}

TEST(BridgeTopicMap, ReorderedTemplateSubscribesWithWildcardsInPlace) {
    const TopicMap m = build({template_rule("a/+/b/+", "x/{2}/{1}", both)});
    EXPECT_EQ(text(m.remote_subscriptions()), "x/+/+ qos 1 rule 0\n");
    EXPECT_EQ(describe(m.to_local("x/2/1")), "a/1/b/2");
    EXPECT_EQ(describe(m.to_remote("a/1/b/2")), "x/2/1");
}

TEST(BridgeTopicMap, SameFilterOfSeveralRulesIsOneSubscriptionAtHighestQos) {
    BridgeTopicConfig first = out_rule("a/#", "", "x/");
    first.qos = 0;
    BridgeTopicConfig second = out_rule("a/#", "", "y/");
    second.qos = 2;
    BridgeTopicConfig third = out_rule("a/#", "", "z/");
    third.qos = 1;
    const TopicMap m = build({first, out_rule("b", "", ""), second, third});
    EXPECT_EQ(text(m.local_subscriptions()), "a/# qos 2 rule 0\nb qos 1 rule 1\n");
    EXPECT_EQ(describe(m.to_remote("a/1")), "x/a/1");  // the first rule still decides
}

// ---------------------------------------------------------------------------
// Rules that cannot work are refused when the map is built

struct ErrorCase {
    const char* name;
    BridgeTopicConfig rule;
    std::string key;
    std::string message;
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.key << ": " << c.message; }

class BridgeTopicMapError : public testing::TestWithParam<ErrorCase> {};

TEST_P(BridgeTopicMapError, IsReportedForItsKey) {
    const auto& c = GetParam();
    // A good rule first, so the index is checked too.
    const auto result = TopicMap::from({out_rule("ok/#", "", "r/"), c.rule});
    ASSERT_EQ(result.errors.size(), 1u) << errors_text(result);
    EXPECT_EQ(result.errors[0].rule, 1u);
    EXPECT_EQ(result.errors[0].key, c.key);
    EXPECT_EQ(result.errors[0].message, c.message);
    EXPECT_EQ(result.map.size(), 0u);
    EXPECT_FALSE(result.map.to_remote("ok/x"));
}

BridgeTopicConfig with_qos(BridgeTopicConfig rule, std::uint32_t qos) {
    rule.qos = qos;
    return rule;
}

INSTANTIATE_TEST_SUITE_P(
    Rule, BridgeTopicMapError,
    testing::Values(
        ErrorCase{"QosAboveTwo", with_qos(out_rule("a", "", ""), 3), "qos", "3 (expected 0, 1 or 2)"},
        ErrorCase{"EmptyPattern", out_rule("", "", "r/"), "pattern",
                  "empty (expected a topic filter, like \"sensors/#\")"},
        ErrorCase{"HashNotLastInPattern", out_rule("a/#/b", "", ""), "pattern",
                  "invalid topic filter \"a/#/b\" (expected '+' and '#' only as whole levels, '#' last)"},
        ErrorCase{"SharedPattern", out_rule("$share/g/a", "", ""), "pattern",
                  "shared subscription \"$share/g/a\" (expected a plain topic filter)"},
        ErrorCase{"WildcardInPrefix", out_rule("a", "x/+/", ""), "local_prefix",
                  "wildcard in prefix \"x/+/\" (expected a plain topic prefix)"},
        ErrorCase{"RemoteWithRemotePrefix", out_rule("a/+", "", "r/", "x/{1}"), "remote",
                  "set together with remote_prefix (expected one of remote or remote_prefix)"},
        ErrorCase{"LocalPrefixGluedToWildcard", out_rule("+/c", "ab", "r/"), "local_prefix",
                  "\"ab\" before pattern \"+/c\" gives \"ab+/c\" (expected a valid filter: a prefix ending in '/' "
                  "where the pattern starts with a wildcard, at most 65,535 bytes, no $share/)"},
        // Checked for both sides whatever the direction, as Mosquitto does.
        ErrorCase{"RemotePrefixGluedToWildcardOnOutRule", out_rule("+/c", "", "r"), "remote_prefix",
                  "\"r\" before pattern \"+/c\" gives \"r+/c\" (expected a valid filter: a prefix ending in '/' "
                  "where the pattern starts with a wildcard, at most 65,535 bytes, no $share/)"},
        ErrorCase{"PrefixMakesFilterTooLong", out_rule("#", std::string(65534, 'a') + "/", ""), "local_prefix",
                  "\"" + std::string(65534, 'a') + "/\" before pattern \"#\" gives \"" + std::string(65534, 'a') +
                      "/#\" (expected a valid filter: a prefix ending in '/' where the pattern starts with a "
                      "wildcard, at most 65,535 bytes, no $share/)"},
        ErrorCase{"PrefixMakesSharedFilter", out_rule("g/a", "$share/", ""), "local_prefix",
                  "\"$share/\" before pattern \"g/a\" gives \"$share/g/a\" (expected a valid filter: a prefix ending "
                  "in '/' where the pattern starts with a wildcard, at most 65,535 bytes, no $share/)"},
        ErrorCase{"PlaceholderBeyondWildcards", template_rule("a/+/#", "x/{3}", out), "remote",
                  "placeholder {3} in \"x/{3}\" (expected {1} to {2}, one per wildcard of the pattern)"},
        ErrorCase{"PlaceholderZero", template_rule("a/+", "x/{0}", out), "remote",
                  "placeholder {0} in \"x/{0}\" (expected {1} to {1}, one per wildcard of the pattern)"},
        ErrorCase{"PlaceholderNotANumber", template_rule("a/+", "x/{name}", out), "remote",
                  "placeholder {name} in \"x/{name}\" (expected {1} to {1}, one per wildcard of the pattern)"},
        ErrorCase{"PlaceholderNotClosed", template_rule("a/+", "x/{1", out), "remote",
                  "placeholder {} in \"x/{1\" (expected {1} to {1}, one per wildcard of the pattern)"},
        ErrorCase{"PlaceholderWithoutWildcards", template_rule("a/b", "x/{1}", out), "remote",
                  "placeholder {1} in \"x/{1}\" (expected no placeholders: the pattern has no wildcards)"},
        ErrorCase{"WildcardInTemplate", template_rule("a/+", "x/+/{1}", out), "remote",
                  "wildcard '+' in \"x/+/{1}\" (expected a topic with {N} standing for the pattern's wildcards)"},
        // Inbound, the remote template becomes the subscription and topics are
        // matched back to the pattern: it must be invertible.
        ErrorCase{"InboundPlaceholderInsideALevel", template_rule("dev/+", "feeds/temp_{1}", in), "remote",
                  "{1} is part of a level in \"feeds/temp_{1}\" (expected each {N} as a whole level for direction "
                  "\"in\" or \"both\": it becomes a '+' or '#' of the subscription)"},
        ErrorCase{"InboundRepeatedPlaceholder", template_rule("+/x", "{1}/{1}", both), "remote",
                  "{1} appears twice in \"{1}/{1}\" (expected each {N} at most once for direction \"in\" or "
                  "\"both\": one topic could give it two values)"},
        ErrorCase{"InboundHashPlaceholderNotLast", template_rule("+/#", "{2}/{1}", both), "remote",
                  "{2} stands for '#' but is not the last level of \"{2}/{1}\" (expected it last for direction "
                  "\"in\" or \"both\": it becomes a '#' of the subscription)"},
        ErrorCase{"InboundMissingPlaceholder", template_rule("+/#", "x/{2}", in), "remote",
                  "{1} is missing from \"x/{2}\" but used by the pattern (expected every {N} the other side uses for "
                  "direction \"in\" or \"both\", to fill in the mapped topic)"},
        ErrorCase{"InboundTemplateGivesSharedFilter", template_rule("+/a", "$share/{1}/a", in), "remote",
                  "\"$share/{1}/a\" gives a shared subscription \"$share/+/a\" (expected a plain filter)"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(BridgeTopicMap, ReportsEveryBadRuleAtOnceInOrder) {
    const auto result = TopicMap::from({with_qos(out_rule("a", "", ""), 7), out_rule("ok/#", "", "r/"),
                                        out_rule("a/#/b", "x/+", "")});
    ASSERT_EQ(result.errors.size(), 3u) << errors_text(result);
    EXPECT_EQ(result.errors[0].rule, 0u);
    EXPECT_EQ(result.errors[0].key, "qos");
    EXPECT_EQ(result.errors[1].rule, 2u);
    EXPECT_EQ(result.errors[1].key, "pattern");
    EXPECT_EQ(result.errors[2].rule, 2u);
    EXPECT_EQ(result.errors[2].key, "local_prefix");
    EXPECT_EQ(result.map.size(), 0u);
}

TEST(BridgeTopicMap, TemplatesThatCannotBeInvertedAreFineOutbound) {
    const auto result = TopicMap::from({template_rule("dev/+", "feeds/temp_{1}", out),
                                        template_rule("+/x", "{1}/{1}", out), template_rule("+/#", "{2}/{1}", out),
                                        template_rule("+/#", "x/{2}", out)});
    EXPECT_TRUE(result.ok()) << errors_text(result);
    EXPECT_EQ(result.map.size(), 4u);
    EXPECT_TRUE(result.map.remote_subscriptions().empty());
}

}  // namespace
}  // namespace fieldgate::bridge
