// Mosquitto's acl_file: parsing (exact errors), evaluation tables (user,
// anonymous and pattern rules, deny precedence, $SYS, read vs write,
// wildcards), subscription checks and filter coverage. The same decisions are
// compared with Debian's mosquitto in test_auth_mosquitto.cpp.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/auth/acl.hpp"
#include "gateway/mqtt/topic.hpp"

namespace fieldgate::auth {
namespace {

Acl parse_ok(std::string_view text) {
    auto result = Acl::parse(text, "acl");
    EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors.front().to_string());
    return std::move(result.acl);
}

std::vector<std::string> filters(const std::vector<AclRule>& rules) {
    std::vector<std::string> out;
    for (const auto& r : rules) out.push_back(r.filter);
    return out;
}

// ---------------------------------------------------------------------------
// Parsing

TEST(AclParse, SortsRulesIntoAnonymousUserAndPatternSections) {
    const auto acl = parse_ok(
        "# anonymous clients\n"
        "topic read public/#\n"
        "pattern write devices/%c/#\n"
        "user alice\n"
        "topic readwrite alice/#\n"
        "topic deny alice/secret\n"
        "pattern read users/%u/#\n"
        "user bob\n"
        "topic write bob/out\n");
    ASSERT_EQ(acl.anonymous_rules().size(), 1u);
    EXPECT_EQ(acl.anonymous_rules()[0].filter, "public/#");
    EXPECT_EQ(acl.anonymous_rules()[0].access, RuleAccess::read);
    EXPECT_EQ(acl.anonymous_rules()[0].line, 2u);

    ASSERT_NE(acl.user_rules("alice"), nullptr);
    EXPECT_EQ(filters(*acl.user_rules("alice")), (std::vector<std::string>{"alice/#", "alice/secret"}));
    EXPECT_EQ((*acl.user_rules("alice"))[1].access, RuleAccess::deny);
    ASSERT_NE(acl.user_rules("bob"), nullptr);
    EXPECT_EQ((*acl.user_rules("bob"))[0].access, RuleAccess::write);
    EXPECT_EQ(acl.user_rules("carol"), nullptr);

    // Patterns apply to everyone wherever they are written.
    EXPECT_EQ(filters(acl.patterns()), (std::vector<std::string>{"devices/%c/#", "users/%u/#"}));
}

TEST(AclParse, AccessDefaultsToReadwrite) {
    const auto acl = parse_ok("topic a/b\npattern c/%c\n");
    EXPECT_EQ(acl.anonymous_rules()[0].access, RuleAccess::readwrite);
    EXPECT_EQ(acl.patterns()[0].access, RuleAccess::readwrite);
}

TEST(AclParse, FilterIsTheRestOfTheLineSpacesIncluded) {
    const auto acl = parse_ok("topic read  plant floor/line 3/#  \n");
    EXPECT_EQ(acl.anonymous_rules()[0].filter, "plant floor/line 3/#");
}

TEST(AclParse, OneWordAfterTopicIsTheFilterEvenWhenItIsAnAccessWord) {
    const auto result = Acl::parse("topic read\n", "acl");
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result.acl.anonymous_rules().size(), 1u);
    EXPECT_EQ(result.acl.anonymous_rules()[0].filter, "read");
    EXPECT_EQ(result.acl.anonymous_rules()[0].access, RuleAccess::readwrite);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(result.warnings[0].to_string(),
              "acl:1: `topic read` grants readwrite on the topic \"read\"; is the topic filter missing?");
}

TEST(AclParse, RepeatedUserSectionsAddUp) {
    const auto acl = parse_ok("user alice\ntopic a\nuser bob\ntopic b\nuser alice\ntopic c\n");
    EXPECT_EQ(filters(*acl.user_rules("alice")), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(filters(*acl.user_rules("bob")), (std::vector<std::string>{"b"}));
}

TEST(AclParse, UsernameIsTheTrimmedRestOfTheLine) {
    const auto acl = parse_ok("user   line 3 plc  \ntopic x\n");
    EXPECT_NE(acl.user_rules("line 3 plc"), nullptr);
}

TEST(AclParse, AcceptsTabsCrlfIndentedCommentsAndBlankLines) {
    const auto acl = parse_ok("\r\n  # indented comment\r\n\ttopic\tread\ta/#\r\n\n   \nuser\talice\r\ntopic\tb\r\n");
    ASSERT_EQ(acl.anonymous_rules().size(), 1u);
    EXPECT_EQ(acl.anonymous_rules()[0].filter, "a/#");
    EXPECT_EQ(acl.anonymous_rules()[0].line, 3u);
    ASSERT_NE(acl.user_rules("alice"), nullptr);
    EXPECT_EQ(filters(*acl.user_rules("alice")), (std::vector<std::string>{"b"}));
}

TEST(AclParse, WarnsAboutPatternWithoutSubstitution) {
    const auto result = Acl::parse("pattern read everyone/#\n", "acl");
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(result.warnings[0].to_string(),
              "acl:1: pattern \"everyone/#\" has neither %u nor %c: it applies to every client the same way");
}

struct AclErrorCase {
    const char* name;
    std::string line;  // written as line 3
    std::string error;
};

std::ostream& operator<<(std::ostream& os, const AclErrorCase& c) { return os << c.line; }

class AclParseError : public testing::TestWithParam<AclErrorCase> {};

TEST_P(AclParseError, ReportsFileLineAndProblem) {
    const auto& c = GetParam();
    const auto result = Acl::parse("# rules\ntopic read ok/#\n" + c.line + "\ntopic write fine\n", "/etc/fieldgate/acl");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), "/etc/fieldgate/acl:3: " + c.error);
    // The lines around it still count.
    EXPECT_EQ(filters(result.acl.anonymous_rules()), (std::vector<std::string>{"ok/#", "fine"}));
}

INSTANTIATE_TEST_SUITE_P(
    Table, AclParseError,
    testing::Values(
        AclErrorCase{"UnknownKeyword", "topics read a", "unknown keyword \"topics\" (expected topic, pattern or user)"},
        AclErrorCase{"UppercaseKeyword", "Topic read a", "unknown keyword \"Topic\" (expected topic, pattern or user)"},
        AclErrorCase{"TopicWithoutFilter", "topic", "`topic` needs a topic filter"},
        AclErrorCase{"PatternWithoutFilter", "pattern   ", "`pattern` needs a topic filter"},
        AclErrorCase{"UnknownAccess", "topic rw a/b", "unknown access \"rw\" (expected read, write, readwrite or deny)"},
        AclErrorCase{"FilterWithSpaceNeedsAccess", "topic a b",
                     "unknown access \"a\" (expected read, write, readwrite or deny)"},
        AclErrorCase{"HashNotLast", "topic read a/#/b",
                     "invalid topic filter \"a/#/b\": '#' must be a whole level and the last one"},
        AclErrorCase{"HashInsideLevel", "topic read a/b#",
                     "invalid topic filter \"a/b#\": '#' must be a whole level and the last one"},
        AclErrorCase{"PlusInsideLevel", "pattern read +foo/%c", "invalid topic filter \"+foo/%c\": '+' must be a whole level"},
        AclErrorCase{"PatternHashAfterSubstitution", "pattern read %c#",
                     "invalid topic filter \"%c#\": '#' must be a whole level and the last one"},
        AclErrorCase{"ControlCharactersAreEscaped", "bad\x01word x", "unknown keyword \"bad\\x01word\" (expected topic, pattern or user)"}),
    [](const testing::TestParamInfo<AclErrorCase>& p) { return p.param.name; });

TEST(AclParse, UserWithoutNameIsAnErrorAndItsRulesGoNowhere) {
    // Were they kept, they would land in the anonymous section.
    const auto result = Acl::parse("user\ntopic readwrite #\nuser bob\ntopic b\n", "acl");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), "acl:1: `user` needs a username");
    EXPECT_TRUE(result.acl.anonymous_rules().empty());
    EXPECT_FALSE(result.acl.allowed(std::nullopt, "c", "anything", Access::write));
    EXPECT_EQ(filters(*result.acl.user_rules("bob")), (std::vector<std::string>{"b"}));
}

TEST(AclParse, ReportsEveryBadLine) {
    const auto result = Acl::parse("foo\ntopic\nuser\ntopic read a/#/b\n", "acl");
    ASSERT_EQ(result.errors.size(), 4u);
    EXPECT_EQ(result.errors[0].line, 1u);
    EXPECT_EQ(result.errors[3].line, 4u);
}

TEST(AclParse, LoadReportsUnreadableFile) {
    const auto result = Acl::load("/nonexistent/fieldgate/acl");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(),
              "/nonexistent/fieldgate/acl: cannot read the ACL file: No such file or directory");
}

// ---------------------------------------------------------------------------
// Evaluation

constexpr std::string_view table_acl = R"(# Anonymous clients
topic read public/#
topic readwrite anon/#
topic read $SYS/broker/uptime

user alice
topic readwrite alice/#
topic deny alice/secret/#
topic read sensors/+/temp
topic write cmd/alice
topic read $SYS/#

user bob
topic sensors/#
topic deny sensors/private

user admin
topic readwrite #
topic readwrite $SYS/#

# Everyone
pattern readwrite devices/%c/#
pattern read users/%u/inbox
pattern deny devices/%c/locked
pattern write shared/%u/%c
)";

struct AllowCase {
    const char* name;
    std::optional<std::string> username;
    std::string client_id;
    std::string topic;
    Access access;
    bool allowed;
};

std::ostream& operator<<(std::ostream& os, const AllowCase& c) {
    return os << (c.username ? *c.username : "(anonymous)") << "/" << c.client_id << " "
              << (c.access == Access::read ? "read " : "write ") << c.topic << " -> " << c.allowed;
}

class AclAllowed : public testing::TestWithParam<AllowCase> {};

TEST_P(AclAllowed, DecisionIsAsMosquittoMakesIt) {
    static const Acl acl = parse_ok(table_acl);
    const auto& c = GetParam();
    EXPECT_EQ(acl.allowed(c.username, c.client_id, c.topic, c.access), c.allowed);
}

constexpr auto R = Access::read;
constexpr auto W = Access::write;
const std::optional<std::string> anon = std::nullopt;

INSTANTIATE_TEST_SUITE_P(
    Table, AclAllowed,
    testing::Values(
        // Anonymous rules
        AllowCase{"AnonymousReadsPublic", anon, "c1", "public/news", R, true},
        AllowCase{"AnonymousReadsPublicParent", anon, "c1", "public", R, true},
        AllowCase{"AnonymousCannotWriteReadRule", anon, "c1", "public/news", W, false},
        AllowCase{"AnonymousWritesReadwriteRule", anon, "c1", "anon/x/y", W, true},
        AllowCase{"AnonymousDoesNotGetUserRules", anon, "c1", "alice/x", R, false},
        AllowCase{"AnonymousUnlistedTopicDenied", anon, "c1", "other", R, false},
        AllowCase{"AnonymousReadsTheGrantedSysTopic", anon, "c1", "$SYS/broker/uptime", R, true},
        AllowCase{"AnonymousCannotReadOtherSys", anon, "c1", "$SYS/broker/version", R, false},
        AllowCase{"AnonymousGetsClientIdPatterns", anon, "c1", "devices/c1/temp", W, true},
        AllowCase{"AnonymousSkipsUsernamePatterns", anon, "c1", "users//inbox", R, false},
        AllowCase{"AnonymousPercentULiteralNotMatched", anon, "c1", "users/%u/inbox", R, false},
        // A user's own section
        AllowCase{"UserWritesOwnTree", "alice", "a1", "alice/a/b", W, true},
        AllowCase{"UserDenyBeatsBroaderGrantInSameSection", "alice", "a1", "alice/secret/x", R, false},
        AllowCase{"UserDenyWithHashCoversParent", "alice", "a1", "alice/secret", W, false},
        AllowCase{"UserSiblingOfDeniedStillAllowed", "alice", "a1", "alice/secrets", W, true},
        AllowCase{"UserReadRuleWithPlusMatches", "alice", "a1", "sensors/k1/temp", R, true},
        AllowCase{"UserReadRuleRefusesWrite", "alice", "a1", "sensors/k1/temp", W, false},
        AllowCase{"UserPlusMatchesOneLevelOnly", "alice", "a1", "sensors/k1/x/temp", R, false},
        AllowCase{"UserWriteRuleRefusesRead", "alice", "a1", "cmd/alice", R, false},
        AllowCase{"UserWriteRuleAllowsWrite", "alice", "a1", "cmd/alice", W, true},
        AllowCase{"UserDoesNotGetAnonymousRules", "alice", "a1", "public/news", R, false},
        AllowCase{"UserReadsSysThroughDollarRule", "alice", "a1", "$SYS/broker/version", R, true},
        AllowCase{"DefaultAccessIsReadwrite", "bob", "b1", "sensors/a", W, true},
        AllowCase{"DenyWithoutWildcardIsExact", "bob", "b1", "sensors/private", R, false},
        AllowCase{"DenyWithoutWildcardLeavesChildren", "bob", "b1", "sensors/private/x", R, true},
        AllowCase{"UsernamesAreCaseSensitive", "Alice", "a1", "alice/x", W, false},
        AllowCase{"EmptyUsernameIsNotAnonymous", "", "c1", "public/news", R, false},
        // $SYS
        AllowCase{"HashRuleDoesNotReachSys", "bob", "b1", "$SYS/broker/version", R, false},
        AllowCase{"AdminHashRuleDoesNotReachSys", "admin", "ad", "$SYSx/whatever", R, false},
        AllowCase{"SysNeverWrittenEvenWhenGranted", "admin", "ad", "$SYS/broker/version", W, false},
        AllowCase{"SysGrantedIsRead", "admin", "ad", "$SYS/broker/version", R, true},
        AllowCase{"BridgeStateIsWritableWhenGranted", "admin", "ad", "$SYS/broker/connection/ad/state", W, true},
        AllowCase{"BridgeStateNotWritableWithoutGrant", "alice", "a1", "$SYS/broker/connection/a1/state", W, false},
        AllowCase{"ShareTopicIsNeverReadOrWritten", "admin", "ad", "$share/g/x", W, false},
        // Patterns
        AllowCase{"PatternSubstitutesClientId", "bob", "dev1", "devices/dev1/temp", W, true},
        AllowCase{"PatternOtherClientIdDenied", "bob", "dev1", "devices/dev2/temp", W, false},
        AllowCase{"PatternSubstitutesUsername", "alice", "a1", "users/alice/inbox", R, true},
        AllowCase{"PatternReadOnlyRefusesWrite", "alice", "a1", "users/alice/inbox", W, false},
        AllowCase{"PatternOtherUsernameDenied", "alice", "a1", "users/bob/inbox", R, false},
        AllowCase{"PatternSubstitutesBoth", "bob", "dev1", "shared/bob/dev1", W, true},
        AllowCase{"PatternBothWrongOrder", "bob", "dev1", "shared/dev1/bob", W, false},
        AllowCase{"PatternDenyBeatsPatternGrant", "bob", "dev1", "devices/dev1/locked", W, false},
        AllowCase{"PatternDenyDoesNotUndoOwnGrant", "admin", "dev2", "devices/dev2/locked", W, true},
        AllowCase{"UserWithoutSectionGetsPatternsOnly", "carol", "c9", "devices/c9/x", W, true},
        AllowCase{"UserWithoutSectionNotAnonymous", "carol", "c9", "public/news", R, false},
        AllowCase{"ClientIdWithSlashSpansLevels", "bob", "site/7", "devices/site/7/x", W, true},
        // Wildcards in username or client id switch patterns off (they would
        // become wildcards), but not the client's own rules.
        AllowCase{"PlusInUsernameDisablesPatterns", "ev+l", "x1", "devices/x1/a", W, false},
        AllowCase{"HashInClientIdDisablesPatterns", anon, "#", "devices/anything/a", W, false},
        AllowCase{"HashInClientIdKeepsOwnRules", "alice", "a#b", "alice/x", W, true},
        AllowCase{"EmptyTopicDenied", "admin", "ad", "", W, false}),
    [](const testing::TestParamInfo<AllowCase>& p) { return p.param.name; });

TEST(Acl, EmptyFileDeniesEverything) {
    const auto acl = parse_ok("# nothing yet\n");
    EXPECT_FALSE(acl.allowed(std::nullopt, "c", "a", Access::read));
    EXPECT_FALSE(acl.allowed("alice", "c", "a", Access::write));
    EXPECT_FALSE(acl.subscribe_allowed("alice", "c", "#"));
}

TEST(Acl, WildcardIdentityWithoutPatternsKeepsOwnRules) {
    // Stage 3 applies only when the file has patterns (mosquitto).
    const auto acl = parse_ok("user a+b\ntopic readwrite x/#\n");
    EXPECT_TRUE(acl.allowed("a+b", "c#", "x/1", Access::write));
}

TEST(Acl, BoundClientAclOutlivesTheAcl) {
    std::optional<ClientAcl> client;
    {
        const auto acl = parse_ok(table_acl);
        client = acl.bind("alice", "a1");
    }
    EXPECT_TRUE(client->allowed("alice/x", Access::write));
    EXPECT_FALSE(client->allowed("alice/secret/x", Access::read));
    EXPECT_TRUE(client->allowed("users/alice/inbox", Access::read));
    EXPECT_TRUE(client->subscribe_allowed("alice/#"));
}

TEST(Acl, EmptyClientIdLeavesPatternsThatWouldBeInvalid) {
    const auto acl = parse_ok("pattern readwrite %c\npattern readwrite dev/%c/x\n");
    EXPECT_FALSE(acl.allowed(std::nullopt, "", "anything", Access::write));
    EXPECT_TRUE(acl.allowed(std::nullopt, "", "dev//x", Access::write));
}

// ---------------------------------------------------------------------------
// Subscriptions

struct SubscribeCase {
    const char* name;
    std::optional<std::string> username;
    std::string client_id;
    std::string filter;
    bool allowed;
};

std::ostream& operator<<(std::ostream& os, const SubscribeCase& c) {
    return os << (c.username ? *c.username : "(anonymous)") << "/" << c.client_id << " subscribe " << c.filter
              << " -> " << c.allowed;
}

class AclSubscribe : public testing::TestWithParam<SubscribeCase> {};

TEST_P(AclSubscribe, AllowedWhenAReadRuleCoversTheFilter) {
    static const Acl acl = parse_ok(table_acl);
    const auto& c = GetParam();
    EXPECT_EQ(acl.subscribe_allowed(c.username, c.client_id, c.filter), c.allowed);
}

INSTANTIATE_TEST_SUITE_P(
    Table, AclSubscribe,
    testing::Values(
        SubscribeCase{"ExactTopicUnderHashRule", anon, "c1", "public/news", true},
        SubscribeCase{"SameFilterAsRule", anon, "c1", "public/#", true},
        SubscribeCase{"NarrowerWildcardFilter", anon, "c1", "public/+/x/#", true},
        SubscribeCase{"ParentOfHashRule", anon, "c1", "public", true},
        SubscribeCase{"WiderThanRule", anon, "c1", "#", false},
        SubscribeCase{"PlusAtRuleLevelIsWider", "alice", "a1", "sensors/#", false},
        SubscribeCase{"PlusRuleCoversPlusFilter", "alice", "a1", "sensors/+/temp", true},
        SubscribeCase{"PlusRuleCoversLiteral", "alice", "a1", "sensors/k1/temp", true},
        SubscribeCase{"WriteOnlyRuleDoesNotAllowSubscribe", "alice", "a1", "cmd/alice", false},
        SubscribeCase{"FilterCoveredByDenyRefused", "alice", "a1", "alice/secret/#", false},
        SubscribeCase{"TopicCoveredByDenyRefused", "alice", "a1", "alice/secret/x", false},
        SubscribeCase{"DenyOnlyOverlappingDoesNotRefuse", "alice", "a1", "alice/#", true},
        SubscribeCase{"PlusOverlappingDenyDoesNotRefuse", "alice", "a1", "alice/+/x", true},
        SubscribeCase{"AnonymousSysTopic", anon, "c1", "$SYS/broker/uptime", true},
        SubscribeCase{"AnonymousSysWildcardWiderThanGrant", anon, "c1", "$SYS/#", false},
        SubscribeCase{"UserSysWildcard", "alice", "a1", "$SYS/broker/+", true},
        SubscribeCase{"HashRuleDoesNotCoverSys", "bob", "b1", "$SYS/#", false},
        SubscribeCase{"HashRuleCoversHash", "admin", "ad", "#", true},
        SubscribeCase{"HashRuleCoversPlusFirstLevel", "admin", "ad", "+/x", true},
        SubscribeCase{"SharedSubscriptionChecksInnerFilter", "alice", "a1", "$share/g/alice/#", true},
        SubscribeCase{"SharedSubscriptionInnerFilterDenied", "alice", "a1", "$share/g/sensors/#", false},
        SubscribeCase{"MalformedSharedSubscription", "admin", "ad", "$share/g", false},
        SubscribeCase{"InvalidFilter", "admin", "ad", "a/#/b", false},
        SubscribeCase{"PatternCoversOwnDevice", "carol", "c9", "devices/c9/#", true},
        SubscribeCase{"PatternDoesNotCoverOtherDevices", "carol", "c9", "devices/+/#", false},
        SubscribeCase{"PatternDenyCoversLockedTopic", "carol", "c9", "devices/c9/locked", false},
        SubscribeCase{"WildcardIdentityRefusedByPatterns", "ev+l", "x1", "devices/x1/#", false}),
    [](const testing::TestParamInfo<SubscribeCase>& p) { return p.param.name; });

// ---------------------------------------------------------------------------
// filter_covers

struct CoverCase {
    const char* rule;
    const char* filter;
    bool covers;
};

std::ostream& operator<<(std::ostream& os, const CoverCase& c) {
    return os << c.rule << " covers " << c.filter << " -> " << c.covers;
}

class AclFilterCovers : public testing::TestWithParam<CoverCase> {};

TEST_P(AclFilterCovers, IsAsExpected) { EXPECT_EQ(filter_covers(GetParam().rule, GetParam().filter), GetParam().covers); }

INSTANTIATE_TEST_SUITE_P(Table, AclFilterCovers,
                         testing::Values(CoverCase{"a/b", "a/b", true}, CoverCase{"a/b", "a/+", false},
                                         CoverCase{"a/b", "a", false}, CoverCase{"a", "a/b", false},
                                         CoverCase{"a/#", "a", true}, CoverCase{"a/#", "a/b/c", true},
                                         CoverCase{"a/#", "a/+", true}, CoverCase{"a/#", "a/#", true},
                                         CoverCase{"a/+", "a/#", false}, CoverCase{"a/+", "a/b", true},
                                         CoverCase{"a/+", "a/+", true}, CoverCase{"a/+", "a/b/c", false},
                                         CoverCase{"a", "a/#", false}, CoverCase{"a/+/#", "a/#", false},
                                         CoverCase{"a/+/#", "a/b", true}, CoverCase{"+/#", "a", true},
                                         CoverCase{"#", "#", true}, CoverCase{"#", "+/+", true},
                                         CoverCase{"+/#", "#", true}, CoverCase{"a/+/#", "a/#", false},
                                         CoverCase{"+/+/#", "#", false},
                                         CoverCase{"#", "$SYS/#", false}, CoverCase{"+/x", "$SYS/x", false},
                                         CoverCase{"+/#", "$SYS", false}, CoverCase{"$SYS/#", "$SYS/+/x", true},
                                         CoverCase{"$SYS/#", "$SYS", true}, CoverCase{"#", "a//b", true},
                                         CoverCase{"a/+/b", "a//b", true}));

// filter_covers(R, F) holds exactly when every topic F matches, R matches
// too: checked over every filter and topic of up to 3 levels from a small
// alphabet (the literals include a '$' level and one no filter names, so a
// counterexample exists whenever coverage fails).
TEST(AclFilterCovers, AgreesWithTopicMatchingOverASmallUniverse) {
    const std::array<std::string_view, 5> filter_levels{"a", "b", "$s", "+", "#"};
    const std::array<std::string_view, 4> topic_levels{"a", "b", "$s", "z"};
    auto enumerate = [](auto levels, bool filters) {
        std::vector<std::string> out;
        std::vector<std::string> current{""};
        for (int depth = 1; depth <= 3; ++depth) {
            std::vector<std::string> next;
            for (const auto& prefix : current) {
                for (auto level : levels) {
                    std::string s = depth == 1 ? std::string{level} : prefix + "/" + std::string{level};
                    next.push_back(s);
                    if (!filters || mqtt::is_valid_topic_filter(s)) out.push_back(s);
                }
            }
            current = std::move(next);
        }
        return out;
    };
    const auto all_filters = enumerate(filter_levels, true);
    const auto all_topics = enumerate(topic_levels, false);
    int covered = 0;
    for (const auto& rule : all_filters) {
        for (const auto& filter : all_filters) {
            bool implied = true;
            for (const auto& topic : all_topics) {
                if (mqtt::topic_matches(filter, topic) && !mqtt::topic_matches(rule, topic)) {
                    implied = false;
                    break;
                }
            }
            ASSERT_EQ(filter_covers(rule, filter), implied) << rule << " vs " << filter;
            covered += implied ? 1 : 0;
        }
    }
    EXPECT_GT(covered, 100);
}

}  // namespace
}  // namespace fieldgate::auth
