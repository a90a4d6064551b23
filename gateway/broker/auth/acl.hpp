#pragma once

// Mosquitto's acl_file (DESIGN.md [auth]), read and evaluated the way
// mosquitto 2.0 does, so an existing file grants and refuses the same things:
//
//   # comment
//   topic [read|write|readwrite|deny] FILTER     before any `user`: anonymous clients
//   user NAME                                    the `topic` lines after it: that user
//   topic [read|write|readwrite|deny] FILTER
//   pattern [read|write|readwrite|deny] FILTER   anywhere: every client, %u and %c substituted
//
// Access defaults to readwrite. FILTER is the rest of the line (it may hold
// spaces); with one word after `topic`, that word is the filter ("topic read"
// grants readwrite on the topic "read": a warning). Several `user` sections
// for one name add up. Whitespace is spaces or tabs (mosquitto takes only
// spaces) and an indented '#' starts a comment (mosquitto: only in column 1).
//
// Evaluation, for a client (username or anonymous, client id), a topic and
// read or write — mosquitto 2.0's order:
//  1. `$SYS...`: never written (except `$SYS/broker/connection/+/state`, a
//     remote mosquitto bridge's status, where a rule grants it); `$share...`
//     is never a topic to read or write.
//  2. The client's own rules (its `user` section, or the anonymous ones when
//     it has no username): a matching deny refuses; else a matching rule with
//     the access grants.
//  3. If the file has patterns and the username or client id holds '+' or '#'
//     (which would turn %u/%c into wildcards): refused.
//  4. Patterns (%u patterns skipped for anonymous clients): a matching deny
//     refuses; else a matching rule with the access grants.
//  5. Otherwise refused: with an ACL file, what is not granted is denied.
// So a deny wins over grants of its own stage, but a `pattern deny` does not
// undo a grant in the client's own `topic` rules (mosquitto 2.0.11 behaves
// so; checked against Debian's broker). Wildcards at a rule's first level do
// not match `$` topics [MQTT-4.7.2-1], so `$SYS/...` is readable only through a
// rule that names `$SYS` (or `$...`) literally.
//
// Subscribing (mosquitto 2.0 accepts every subscription and filters at
// delivery; fieldgate answers SUBACK 0x87 instead): a filter is allowed when,
// in the stage order above, no deny rule *covers* it and a read rule covers
// it, where rule R covers filter F when every topic F matches, R matches too
// (so `a/#` covers `a/+/b`, `a/+` does not cover `a/#`). A deny rule that only
// overlaps the filter does not refuse the subscription; delivery checks
// (allowed(topic, read) per message) keep those topics out. For
// `$share/GROUP/F` the check is on F.
//
// Pure logic plus file reading: no Asio, no broker.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/auth/file_io.hpp"

namespace fieldgate::auth {

enum class Access : std::uint8_t {
    read = 1,   // receive a message on the topic (delivery, retained, subscribe)
    write = 2,  // publish to the topic (incl. a will)
};

enum class RuleAccess : std::uint8_t {
    deny = 0,
    read = 1,
    write = 2,
    readwrite = 3,
};

struct AclRule {
    RuleAccess access = RuleAccess::readwrite;
    std::string filter;      // as written; patterns still hold %u / %c
    std::uint32_t line = 0;  // where it was read
};

class ClientAcl;
struct AclResult;

// Thread-safety: immutable once parsed; any number of threads may call the
// const members. bind() copies what a client needs, so a ClientAcl outlives
// the Acl it came from (reloads swap the Acl and rebind).
class Acl {
public:
    // Never throws on bad input: each bad line becomes a FileDiagnostic
    // `FILE:LINE: ...` and is left out; the rest of the file is still read.
    static AclResult parse(std::string_view text, std::string_view file_name);
    static AclResult load(const std::string& path);

    // The rules for one client, with %u/%c substituted once: what a session
    // keeps from CONNECT on. `username` nullopt = anonymous (an empty
    // username is a username, not anonymous, as in mosquitto).
    ClientAcl bind(std::optional<std::string_view> username, std::string_view client_id) const;

    // One-off forms of bind(...).allowed / .subscribe_allowed.
    bool allowed(std::optional<std::string_view> username, std::string_view client_id, std::string_view topic,
                 Access access) const;
    bool subscribe_allowed(std::optional<std::string_view> username, std::string_view client_id,
                           std::string_view filter) const;

    const std::vector<AclRule>& anonymous_rules() const { return *anonymous_; }
    const std::vector<AclRule>* user_rules(std::string_view username) const;  // nullptr: no section
    const std::vector<AclRule>& patterns() const { return patterns_; }

private:
    using Rules = std::shared_ptr<std::vector<AclRule>>;

    Rules anonymous_ = std::make_shared<std::vector<AclRule>>();
    std::map<std::string, Rules, std::less<>> users_;
    std::vector<AclRule> patterns_;
};

// One client's view of the ACL. A value owned by the session that bound it;
// checks do not allocate.
class ClientAcl {
public:
    // Whether the client may publish to (write) or receive from (read) `topic`,
    // a topic name (no wildcards).
    bool allowed(std::string_view topic, Access access) const;
    // Whether the client may subscribe to `filter` (see the file comment).
    bool subscribe_allowed(std::string_view filter) const;

private:
    friend class Acl;
    struct Rule {
        RuleAccess access;
        std::string filter;  // substituted, valid
    };

    std::shared_ptr<const std::vector<AclRule>> own_;  // null: no rules of its own
    std::vector<Rule> patterns_;
    bool has_patterns_ = false;       // the file has patterns (stage 3 applies)
    bool dangerous_identity_ = false;  // '+' or '#' in username or client id
};

struct AclResult {
    Acl acl;
    std::vector<FileDiagnostic> errors;    // lines left out, in file order
    std::vector<FileDiagnostic> warnings;  // accepted but probably not meant

    bool ok() const { return errors.empty(); }
};

// Whether every topic `filter` matches is also matched by `rule` (both valid
// filters without $share). Exposed for tests.
bool filter_covers(std::string_view rule, std::string_view filter);

}  // namespace fieldgate::auth
