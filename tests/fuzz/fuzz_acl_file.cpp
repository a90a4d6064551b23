// libFuzzer target for the ACL file parser and evaluator (STYLE.md 11): any
// input must parse without a crash or a hang, each error and warning placed on
// a line of the input, and evaluating the result for a few clients must not
// crash either. Oracle: for a topic name T (no wildcards, not $share...),
// subscribing to T is allowed exactly when reading T is: a literal filter is
// covered by a rule exactly when the rule matches it.
// With FIELDGATE_FUZZ_EXPECT_VALID set (CTest's run over the seed corpus) the
// input must parse without errors.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/auth/acl.hpp"
#include "gateway/mqtt/topic.hpp"

namespace {

using namespace fieldgate::auth;

[[noreturn]] void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_acl_file: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

// A topic name from a rule's filter: each wildcard level becomes a literal.
std::string topic_from(std::string_view filter, std::string_view filler) {
    std::string out;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = filter.find('/', start);
        const auto level = filter.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        out += (level == "+" || level == "#") ? filler : level;
        if (slash == std::string_view::npos) return out;
        out += '/';
        start = slash + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    const AclResult result = Acl::parse(text, "fuzz.acl");
    const std::size_t lines = split_lines(text).size();
    for (const auto* list : {&result.errors, &result.warnings}) {
        for (const auto& d : *list) {
            if (d.file != "fuzz.acl" || d.message.empty() || d.line == 0 || d.line > lines) {
                fail("diagnostic without file, line or message", d.to_string());
            }
        }
    }
    if (!result.ok() && std::getenv("FIELDGATE_FUZZ_EXPECT_VALID") != nullptr) {
        fail("a valid seed has errors", result.errors.front().to_string());
    }

    // The filters the file names, with and without wildcards, as topics and subscriptions.
    std::vector<std::string> filters;
    auto collect = [&filters](const std::vector<AclRule>& rules) {
        for (const auto& rule : rules) {
            if (filters.size() < 16) filters.push_back(rule.filter);
        }
    };
    collect(result.acl.anonymous_rules());
    if (const auto* rules = result.acl.user_rules("alice")) collect(*rules);
    collect(result.acl.patterns());
    filters.push_back("#");
    filters.push_back("$SYS/broker/connection/c/state");

    struct Identity {
        std::optional<std::string_view> username;
        std::string_view client_id;
    };
    // Anonymous; a user with a client id of two levels; '+' in the username
    // with an empty client id.
    const Identity identities[] = {{std::nullopt, "c"}, {"alice", "x/y"}, {"a+b", ""}};
    for (const auto& who : identities) {
        const ClientAcl client = result.acl.bind(who.username, who.client_id);
        for (const auto& filter : filters) {
            (void)client.subscribe_allowed(filter);
            for (const std::string_view filler : {"x", "$x"}) {
                const std::string topic = topic_from(filter, filler);
                const bool read = client.allowed(topic, Access::read);
                (void)client.allowed(topic, Access::write);
                if (fieldgate::mqtt::is_valid_topic_name(topic) && !topic.starts_with("$share") &&
                    client.subscribe_allowed(topic) != read) {
                    fail("subscribing to a topic name and reading it disagree", topic);
                }
            }
        }
    }
    return 0;
}
