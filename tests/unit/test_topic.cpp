// Topic names, topic filters, matching and shared subscriptions [MQTT 5.0, 4.7, 4.8.2].
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "gateway/mqtt/topic.hpp"

namespace fieldgate::mqtt {
namespace {

// One row of a validity table: the input and whether it is accepted. `name`
// states the behaviour and becomes the test name.
struct ValidityCase {
    const char* name;
    std::string_view input;
    bool valid;
};

std::ostream& operator<<(std::ostream& os, const ValidityCase& c) {
    return os << '"' << c.input << "\" -> " << (c.valid ? "valid" : "invalid");
}

std::string case_name(const testing::TestParamInfo<ValidityCase>& p) { return p.param.name; }

// ---------------------------------------------------------------------------
// Topic names [MQTT-3.3.2-2, 4.7.3-1]

class TopicName : public testing::TestWithParam<ValidityCase> {};

TEST_P(TopicName, ValidityIsAsExpected) {
    EXPECT_EQ(is_valid_topic_name(GetParam().input), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TopicName,
    testing::Values(
        ValidityCase{"SingleLevelIsValid", "finance", true},
        ValidityCase{"SeveralLevelsAreValid", "sport/tennis/player1", true},
        ValidityCase{"SpaceIsValid", "Accounts payable", true},
        ValidityCase{"LoneSlashIsValid", "/", true},
        ValidityCase{"LeadingSlashIsValid", "/finance", true},
        ValidityCase{"TrailingSlashIsValid", "finance/", true},
        ValidityCase{"EmptyInnerLevelIsValid", "a//b", true},
        ValidityCase{"OnlySlashesAreValid", "///", true},
        ValidityCase{"DollarTopicIsValid", "$SYS/monitor/Clients", true},
        ValidityCase{"EmptyIsInvalid", "", false},  // [MQTT-4.7.3-1]
        ValidityCase{"PlusLevelIsInvalid", "sport/+/player1", false},
        ValidityCase{"PlusInsideLevelIsInvalid", "sport/ten+nis", false},
        ValidityCase{"LonePlusIsInvalid", "+", false},
        ValidityCase{"HashLevelIsInvalid", "sport/#", false},
        ValidityCase{"HashInsideLevelIsInvalid", "sport/tennis#", false},
        ValidityCase{"LoneHashIsInvalid", "#", false}),
    case_name);

TEST(TopicName, AcceptsExactly65535Bytes) {
    EXPECT_TRUE(is_valid_topic_name(std::string(65535, 'a')));
    EXPECT_TRUE(is_valid_topic_name(std::string(32767, 'a') + "/" + std::string(32767, 'b')));
}

TEST(TopicName, Rejects65536Bytes) {
    EXPECT_FALSE(is_valid_topic_name(std::string(65536, 'a')));
}

// ---------------------------------------------------------------------------
// Topic filters [MQTT-4.7.1-1, 4.7.1-2, 4.7.3-1, 4.8.2]

class TopicFilter : public testing::TestWithParam<ValidityCase> {};

TEST_P(TopicFilter, ValidityIsAsExpected) {
    EXPECT_EQ(is_valid_topic_filter(GetParam().input), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TopicFilter,
    testing::Values(
        ValidityCase{"PlainFilterIsValid", "sport/tennis/player1", true},
        ValidityCase{"LoneHashIsValid", "#", true},
        ValidityCase{"TrailingHashIsValid", "sport/tennis/player1/#", true},
        ValidityCase{"HashAfterEmptyLevelIsValid", "/#", true},
        ValidityCase{"LonePlusIsValid", "+", true},
        ValidityCase{"PlusThenHashIsValid", "+/tennis/#", true},
        ValidityCase{"PlusInnerLevelIsValid", "sport/+/player1", true},
        ValidityCase{"PlusPlusIsValid", "+/+", true},
        ValidityCase{"LeadingSlashPlusIsValid", "/+", true},
        ValidityCase{"EmptyLevelsAreValid", "a//b", true},
        ValidityCase{"LoneSlashIsValid", "/", true},
        ValidityCase{"TrailingSlashIsValid", "a/", true},
        ValidityCase{"DollarFilterIsValid", "$SYS/#", true},
        ValidityCase{"EmptyIsInvalid", "", false},  // [MQTT-4.7.3-1]
        ValidityCase{"HashGluedToLevelIsInvalid", "sport/tennis#", false},
        ValidityCase{"HashBeforeLevelIsInvalid", "#sport", false},
        ValidityCase{"HashNotLastIsInvalid", "sport/tennis/#/ranking", false},
        ValidityCase{"HashFirstNotLastIsInvalid", "#/a", false},
        ValidityCase{"DoubleHashIsInvalid", "##", false},
        ValidityCase{"HashHashLevelsAreInvalid", "a/#/#", false},
        ValidityCase{"PlusGluedAfterLevelIsInvalid", "sport+", false},
        ValidityCase{"PlusGluedBeforeLevelIsInvalid", "sport/+tennis", false},
        ValidityCase{"DoublePlusIsInvalid", "a/++/b", false},
        ValidityCase{"PlusHashInOneLevelIsInvalid", "a/+#", false},
        // Shared subscriptions [MQTT 5.0, 4.8.2]
        ValidityCase{"SharedFilterIsValid", "$share/g/a/+", true},
        ValidityCase{"SharedHashIsValid", "$share/group1/#", true},
        ValidityCase{"SharedWithDollarFilterIsValid", "$share/g/$SYS/x", true},
        ValidityCase{"SharedLoneSlashFilterIsValid", "$share/g//", true},
        ValidityCase{"ShareWithoutSlashIsOrdinary", "$share", true},
        ValidityCase{"SharedPrefixLookalikeIsOrdinary", "$shared/g/a", true},
        ValidityCase{"SharedWithNothingIsInvalid", "$share/", false},
        ValidityCase{"SharedWithoutFilterIsInvalid", "$share/g", false},
        ValidityCase{"SharedWithEmptyFilterIsInvalid", "$share/g/", false},
        ValidityCase{"SharedWithEmptyGroupIsInvalid", "$share//a", false},
        ValidityCase{"SharedGroupWithPlusIsInvalid", "$share/g+/a", false},
        ValidityCase{"SharedGroupIsPlusIsInvalid", "$share/+/a", false},
        ValidityCase{"SharedGroupWithHashIsInvalid", "$share/g#/a", false},
        ValidityCase{"SharedGroupIsHashIsInvalid", "$share/#", false},
        ValidityCase{"SharedBadInnerFilterIsInvalid", "$share/g/a/#/b", false},
        ValidityCase{"SharedGluedPlusInnerFilterIsInvalid", "$share/g/a+", false}),
    case_name);

TEST(TopicFilter, AcceptsExactly65535Bytes) {
    EXPECT_TRUE(is_valid_topic_filter(std::string(65535, 'a')));
    EXPECT_TRUE(is_valid_topic_filter(std::string(65533, 'a') + "/#"));
}

TEST(TopicFilter, Rejects65536Bytes) {
    // A UTF-8 string on the wire cannot be longer [MQTT 5.0, 1.5.4].
    EXPECT_FALSE(is_valid_topic_filter(std::string(65536, 'a')));
    EXPECT_FALSE(is_valid_topic_filter(std::string(65534, 'a') + "/#"));
}

// ---------------------------------------------------------------------------
// Matching [MQTT 5.0, 4.7.1.2, 4.7.1.3, 4.7.2]

struct MatchCase {
    const char* name;
    std::string_view filter;
    std::string_view topic;
    bool matches;
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
    return os << '"' << c.filter << "\" vs \"" << c.topic << "\" -> "
              << (c.matches ? "match" : "no match");
}

std::string match_case_name(const testing::TestParamInfo<MatchCase>& p) { return p.param.name; }

class TopicMatch : public testing::TestWithParam<MatchCase> {};

TEST_P(TopicMatch, ResultIsAsExpected) {
    const MatchCase& c = GetParam();
    ASSERT_TRUE(is_valid_topic_filter(c.filter)) << "bad table row";
    ASSERT_TRUE(is_valid_topic_name(c.topic)) << "bad table row";
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.matches);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TopicMatch,
    testing::Values(
        // The spec's examples, 4.7.1.2 (multi-level wildcard).
        MatchCase{"SpecHashMatchesParent", "sport/tennis/player1/#", "sport/tennis/player1", true},
        MatchCase{"SpecHashMatchesChild", "sport/tennis/player1/#", "sport/tennis/player1/ranking",
                  true},
        MatchCase{"SpecHashMatchesGrandchild", "sport/tennis/player1/#",
                  "sport/tennis/player1/score/wimbledon", true},
        MatchCase{"SpecSportHashMatchesSport", "sport/#", "sport", true},
        // 4.7.1.3 (single-level wildcard).
        MatchCase{"SpecPlusMatchesOneLevel", "sport/tennis/+", "sport/tennis/player1", true},
        MatchCase{"SpecPlusMatchesOtherLevel", "sport/tennis/+", "sport/tennis/player2", true},
        MatchCase{"SpecPlusDoesNotMatchTwoLevels", "sport/tennis/+", "sport/tennis/player1/ranking",
                  false},
        MatchCase{"SpecPlusDoesNotMatchParent", "sport/+", "sport", false},
        MatchCase{"SpecPlusMatchesEmptyLastLevel", "sport/+", "sport/", true},
        MatchCase{"SpecLonePlusMatchesOneLevel", "+", "finance", true},
        MatchCase{"SpecLonePlusDoesNotMatchLeadingSlash", "+", "/finance", false},
        MatchCase{"SpecSlashPlusMatchesLeadingSlash", "/+", "/finance", true},
        MatchCase{"SpecPlusPlusMatchesLeadingSlash", "+/+", "/finance", true},
        // 4.7.2 (topics beginning with $).
        MatchCase{"SpecHashMatchesPlainTopic", "#", "finance", true},
        MatchCase{"SpecHashMatchesLeadingSlash", "#", "/finance", true},
        MatchCase{"SpecHashMatchesDeepTopic", "#", "a/b/c/d", true},
        MatchCase{"SpecHashMatchesLoneSlash", "#", "/", true},
        MatchCase{"SpecHashSkipsDollarTopic", "#", "$SYS/monitor/Clients", false},
        MatchCase{"SpecHashSkipsLoneDollar", "#", "$", false},
        MatchCase{"SpecPlusSkipsDollarFirstLevel", "+/monitor/Clients", "$SYS/monitor/Clients",
                  false},
        MatchCase{"SpecLonePlusSkipsDollarTopic", "+", "$SYS", false},
        MatchCase{"SpecDollarHashMatches", "$SYS/#", "$SYS/monitor/Clients", true},
        MatchCase{"SpecDollarHashMatchesParent", "$SYS/#", "$SYS", true},
        MatchCase{"SpecDollarPlusMatches", "$SYS/monitor/+", "$SYS/monitor/Clients", true},
        MatchCase{"DollarDeeperIsMatchedByWildcards", "a/+", "a/$b", true},
        MatchCase{"DollarDeeperIsMatchedByHash", "a/#", "a/$b/c", true},
        // Exact filters.
        MatchCase{"ExactMatches", "sport/tennis/player1", "sport/tennis/player1", true},
        MatchCase{"ExactIsCaseSensitive", "ACCOUNTS", "Accounts", false},
        MatchCase{"ExactKeepsSpaces", "Accounts payable", "Accounts payable", true},
        MatchCase{"ExactDoesNotMatchPrefix", "a/b", "a/b/c", false},
        MatchCase{"ExactDoesNotMatchLonger", "a/b/c", "a/b", false},
        MatchCase{"ExactDoesNotMatchLevelPrefix", "a/b", "a/bc", false},
        MatchCase{"ExactTrailingSlashDiffers", "a/", "a", false},
        MatchCase{"ExactLeadingSlashDiffers", "/a", "a", false},
        MatchCase{"ExactLoneSlashMatches", "/", "/", true},
        // Empty levels.
        MatchCase{"EmptyLevelMatchesExactly", "a//b", "a//b", true},
        MatchCase{"EmptyLevelDiffersFromNone", "a//b", "a/b", false},
        MatchCase{"NoLevelDiffersFromEmpty", "a/b", "a//b", false},
        MatchCase{"PlusMatchesEmptyInnerLevel", "a/+/b", "a//b", true},
        MatchCase{"PlusMatchesEmptyFirstLevel", "+/a", "/a", true},
        MatchCase{"PlusPlusMatchesLoneSlash", "+/+", "/", true},
        MatchCase{"LonePlusDoesNotMatchLoneSlash", "+", "/", false},
        MatchCase{"HashMatchesAcrossEmptyLevels", "a/#", "a//b", true},
        MatchCase{"HashMatchesEmptyLastLevel", "a/#", "a/", true},
        // '#' and the parent level.
        MatchCase{"HashMatchesParentLevel", "a/#", "a", true},
        MatchCase{"HashDoesNotMatchSiblingPrefix", "a/#", "ab", false},
        MatchCase{"HashDoesNotMatchOtherParent", "a/#", "b", false},
        MatchCase{"PlusHashMatchesOneLevel", "+/#", "a", true},
        MatchCase{"PlusHashMatchesLoneSlash", "+/#", "/", true},
        MatchCase{"SlashHashMatchesLoneSlash", "/#", "/", true},
        MatchCase{"SlashHashMatchesRootEmptyLevel", "/#", "/a/b", true},
        MatchCase{"SlashHashDoesNotMatchPlain", "/#", "a", false},
        MatchCase{"HashAfterPlusNeedsFirstLevel", "a/+/#", "a", false},
        MatchCase{"HashAfterPlusMatchesTwoLevels", "a/+/#", "a/b", true},
        // Mismatch early and late.
        MatchCase{"FirstLevelMismatch", "x/+/c", "a/b/c", false},
        MatchCase{"LastLevelMismatch", "a/+/x", "a/b/c", false},
        MatchCase{"PlusInsideDoesNotStretch", "a/+/c", "a/b/b/c", false}),
    match_case_name);

// ---------------------------------------------------------------------------
// Shared subscriptions [MQTT 5.0, 4.8.2]

TEST(SharedSubscription, SplitsGroupAndFilter) {
    const auto s = parse_shared_subscription("$share/g/a/+");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->group, "g");
    EXPECT_EQ(s->filter, "a/+");
}

TEST(SharedSubscription, KeepsEverythingAfterTheGroupAsFilter) {
    const std::optional<SharedSubscription> cases[] = {
        parse_shared_subscription("$share/consumers/sport/tennis/#"),
        parse_shared_subscription("$share/g/#"),
        parse_shared_subscription("$share/g//"),
        parse_shared_subscription("$share/g/$SYS/+"),
    };
    ASSERT_TRUE(cases[0] && cases[1] && cases[2] && cases[3]);
    EXPECT_EQ(cases[0]->group, "consumers");
    EXPECT_EQ(cases[0]->filter, "sport/tennis/#");
    EXPECT_EQ(cases[1]->filter, "#");
    EXPECT_EQ(cases[2]->filter, "/");
    EXPECT_EQ(cases[3]->filter, "$SYS/+");
}

TEST(SharedSubscription, ViewsPointIntoTheInput) {
    constexpr std::string_view input = "$share/g/a/b";
    const auto s = parse_shared_subscription(input);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->group.data(), input.data() + 7);
    EXPECT_EQ(s->filter.data(), input.data() + 9);
}

TEST(SharedSubscription, OrdinaryFiltersAreNotShared) {
    for (std::string_view f : {"a/+", "#", "$share", "$shared/g/a", "share/g/a", "$SHARE/g/a"}) {
        SCOPED_TRACE(f);
        EXPECT_FALSE(is_shared_filter(f));
        EXPECT_FALSE(parse_shared_subscription(f).has_value());
    }
}

TEST(SharedSubscription, IllFormedAreRefused) {
    for (std::string_view f : {"$share/", "$share/g", "$share/g/", "$share//a", "$share/g+/a",
                               "$share/g#/a", "$share/+/a", "$share/#/a", "$share//",
                               "$share/#"}) {
        SCOPED_TRACE(f);
        EXPECT_TRUE(is_shared_filter(f));
        EXPECT_FALSE(parse_shared_subscription(f).has_value());
        EXPECT_FALSE(is_valid_topic_filter(f));
    }
}

TEST(SharedSubscription, WellFormedAreValidFilters) {
    for (std::string_view f : {"$share/g/a/+", "$share/g/#", "$share/grp-1/x/y/z"}) {
        SCOPED_TRACE(f);
        EXPECT_TRUE(parse_shared_subscription(f).has_value());
        EXPECT_TRUE(is_valid_topic_filter(f));
    }
}

TEST(SharedSubscription, InvalidInnerFilterMakesTheFilterInvalid) {
    for (std::string_view f : {"$share/g/a/#/b", "$share/g/a#", "$share/g/+a"}) {
        SCOPED_TRACE(f);
        EXPECT_FALSE(is_valid_topic_filter(f));
    }
}

TEST(SharedSubscription, InnerFilterMatchesLikeAnOrdinaryFilter) {
    const auto s = parse_shared_subscription("$share/g/sport/+/player1");
    ASSERT_TRUE(s.has_value());
    EXPECT_TRUE(topic_matches(s->filter, "sport/tennis/player1"));
    EXPECT_FALSE(topic_matches(s->filter, "sport/tennis/player2"));
}

}  // namespace
}  // namespace fieldgate::mqtt
