#include "gateway/broker/auth/acl.hpp"

#include <limits>
#include <utility>

#include "gateway/mqtt/topic.hpp"

namespace fieldgate::auth {
namespace {

constexpr std::size_t max_filter_size = 65535;
constexpr std::string_view separators = " \t";

// A remote mosquitto bridge publishes its connection state here; mosquitto
// lets a client write it when the ACL grants it, and no other $SYS topic.
constexpr std::string_view bridge_state_filter = "$SYS/broker/connection/+/state";

// Walks a topic or filter level by level without allocating.
class Levels {
public:
    explicit Levels(std::string_view text) : text_(text) {}

    std::optional<std::string_view> next() {
        if (done_) return std::nullopt;
        const std::size_t slash = text_.find('/', pos_);
        if (slash == std::string_view::npos) {
            done_ = true;
            return text_.substr(pos_);
        }
        const auto level = text_.substr(pos_, slash - pos_);
        pos_ = slash + 1;
        return level;
    }
    bool done() const { return done_; }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    bool done_ = false;
};

// Why `filter` is not a valid topic filter (the structure mosquitto's
// mosquitto_sub_topic_check enforces), or nullopt [MQTT-4.7.1-1, 4.7.1-2].
std::optional<std::string> filter_problem(std::string_view filter) {
    if (filter.empty()) return "it is empty";
    if (filter.size() > max_filter_size) return "it is longer than 65535 bytes";
    Levels levels{filter};
    while (auto level = levels.next()) {
        if (level->find('#') != std::string_view::npos && (*level != "#" || !levels.done())) {
            return "'#' must be a whole level and the last one";
        }
        if (level->find('+') != std::string_view::npos && *level != "+") return "'+' must be a whole level";
    }
    return std::nullopt;
}

std::optional<RuleAccess> parse_access(std::string_view word) {
    if (word == "read") return RuleAccess::read;
    if (word == "write") return RuleAccess::write;
    if (word == "readwrite") return RuleAccess::readwrite;
    if (word == "deny") return RuleAccess::deny;
    return std::nullopt;
}

bool grants(RuleAccess rule, Access access) {
    return (static_cast<unsigned>(rule) & static_cast<unsigned>(access)) != 0;
}

// The first word and the trimmed rest of the line.
std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
    const std::size_t end = s.find_first_of(separators);
    if (end == std::string_view::npos) return {s, {}};
    return {s.substr(0, end), trim_blanks(s.substr(end))};
}

bool has_wildcard(std::string_view s) { return s.find_first_of("+#") != std::string_view::npos; }

// %c -> client id, %u -> username (only when there is one), as mosquitto
// substitutes: any other '%' stays as it is.
std::string substitute(std::string_view pattern, std::optional<std::string_view> username,
                       std::string_view client_id) {
    std::string out;
    out.reserve(pattern.size() + client_id.size());
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '%' && i + 1 < pattern.size()) {
            if (pattern[i + 1] == 'c') {
                out += client_id;
                ++i;
                continue;
            }
            if (pattern[i + 1] == 'u' && username) {
                out += *username;
                ++i;
                continue;
            }
        }
        out += pattern[i];
    }
    return out;
}

// One stage of the evaluation over `rules`: a matching deny refuses, else a
// matching grant of the access grants, else no decision.
template <typename RuleRange, typename Matches>
std::optional<bool> decide(const RuleRange& rules, Access access, Matches matches) {
    bool granted = false;
    for (const auto& rule : rules) {
        if (!matches(rule.filter)) continue;
        if (rule.access == RuleAccess::deny) return false;
        if (grants(rule.access, access)) granted = true;
    }
    if (granted) return true;
    return std::nullopt;
}

std::uint32_t line_number(std::size_t index) {
    return index >= std::numeric_limits<std::uint32_t>::max() ? std::numeric_limits<std::uint32_t>::max()
                                                              : static_cast<std::uint32_t>(index + 1);
}

}  // namespace

bool filter_covers(std::string_view rule, std::string_view filter) {
    Levels r{rule};
    Levels f{filter};
    bool first = true;
    while (true) {
        const auto f_level = f.next();
        const auto r_level = r.next();
        if (!f_level) {
            // The filter ended: covered when the rule did too, or only "/#"
            // remains of it ("a/#" matches "a").
            return !r_level || (*r_level == "#" && r.done());
        }
        if (!r_level) return false;
        // A wildcard first level does not match '$' topics [MQTT-4.7.2-1].
        const bool dollar = first && f_level->starts_with('$');
        if (*r_level == "#") return !dollar;
        if (*f_level == "#") {
            // Only "+/#" matches everything "#" does, and only as the whole
            // filter: topics are never empty, so there is no parent level.
            if (!first || *r_level != "+") return false;
            const auto r_next = r.next();
            return r_next && *r_next == "#" && r.done();
        }
        if (*f_level == "+") {
            if (*r_level != "+") return false;
        } else if (*r_level == "+") {
            if (dollar) return false;
        } else if (*r_level != *f_level) {
            return false;
        }
        first = false;
    }
}

AclResult Acl::parse(std::string_view text, std::string_view file_name) {
    AclResult result;
    Acl& acl = result.acl;
    const std::string file{file_name};
    // Where `topic` lines go: the anonymous rules until the first `user`.
    // Null after a bad `user` line, so its rules go nowhere rather than to
    // the previous section.
    std::vector<AclRule>* section = acl.anonymous_.get();

    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::uint32_t number = line_number(i);
        auto error = [&](std::string message) {
            result.errors.push_back(FileDiagnostic{file, number, std::move(message)});
        };
        auto warning = [&](std::string message) {
            result.warnings.push_back(FileDiagnostic{file, number, std::move(message)});
        };

        const std::string_view body = trim_blanks(lines[i]);
        if (body.empty() || body.front() == '#') continue;
        const auto [keyword, rest] = split_word(body);

        if (keyword == "user") {
            if (rest.empty()) {
                error("`user` needs a username");
                section = nullptr;
                continue;
            }
            auto& rules = acl.users_[std::string{rest}];
            if (!rules) rules = std::make_shared<std::vector<AclRule>>();
            section = rules.get();
            continue;
        }
        if (keyword != "topic" && keyword != "pattern") {
            error("unknown keyword " + quoted(keyword) + " (expected topic, pattern or user)");
            continue;
        }

        const bool is_pattern = keyword == "pattern";
        if (rest.empty()) {
            error("`" + std::string{keyword} + "` needs a topic filter");
            continue;
        }
        const auto [first, after] = split_word(rest);
        AclRule rule;
        rule.line = number;
        if (after.empty()) {
            // One word: the filter, with readwrite access (mosquitto's reading).
            rule.filter = std::string{first};
            if (parse_access(first)) {
                warning("`" + std::string{keyword} + " " + std::string{first} + "` grants readwrite on the topic " +
                        quoted(first) + "; is the topic filter missing?");
            }
        } else {
            const auto access = parse_access(first);
            if (!access) {
                error("unknown access " + quoted(first) + " (expected read, write, readwrite or deny)");
                continue;
            }
            rule.access = *access;
            rule.filter = std::string{after};
        }
        if (auto why = filter_problem(rule.filter)) {
            error("invalid topic filter " + quoted(rule.filter) + ": " + *why);
            continue;
        }

        if (is_pattern) {
            if (rule.filter.find("%u") == std::string::npos && rule.filter.find("%c") == std::string::npos) {
                warning("pattern " + quoted(rule.filter) +
                        " has neither %u nor %c: it applies to every client the same way");
            }
            acl.patterns_.push_back(std::move(rule));
        } else if (section != nullptr) {
            section->push_back(std::move(rule));
        }
    }
    return result;
}

AclResult Acl::load(const std::string& path) {
    std::string text;
    if (const auto ec = read_text_file(path, text)) {
        AclResult result;
        result.errors.push_back(FileDiagnostic{path, 0, "cannot read the ACL file: " + ec.message()});
        return result;
    }
    return parse(text, path);
}

const std::vector<AclRule>* Acl::user_rules(std::string_view username) const {
    const auto it = users_.find(username);
    return it == users_.end() ? nullptr : it->second.get();
}

ClientAcl Acl::bind(std::optional<std::string_view> username, std::string_view client_id) const {
    ClientAcl client;
    if (username) {
        if (const auto it = users_.find(*username); it != users_.end()) client.own_ = it->second;
    } else {
        client.own_ = anonymous_;
    }
    client.has_patterns_ = !patterns_.empty();
    client.dangerous_identity_ = (username && has_wildcard(*username)) || has_wildcard(client_id);
    if (client.has_patterns_ && !client.dangerous_identity_) {
        client.patterns_.reserve(patterns_.size());
        for (const auto& pattern : patterns_) {
            // %u patterns do not apply to anonymous clients.
            if (!username && pattern.filter.find("%u") != std::string::npos) continue;
            std::string filter = substitute(pattern.filter, username, client_id);
            // An empty client id can leave "" or "a//b"-style holes; a filter
            // that is not valid any more matches nothing, as in mosquitto.
            if (filter_problem(filter)) continue;
            client.patterns_.push_back(ClientAcl::Rule{pattern.access, std::move(filter)});
        }
    }
    return client;
}

bool Acl::allowed(std::optional<std::string_view> username, std::string_view client_id, std::string_view topic,
                  Access access) const {
    return bind(username, client_id).allowed(topic, access);
}

bool Acl::subscribe_allowed(std::optional<std::string_view> username, std::string_view client_id,
                            std::string_view filter) const {
    return bind(username, client_id).subscribe_allowed(filter);
}

bool ClientAcl::allowed(std::string_view topic, Access access) const {
    if (topic.empty()) return false;
    if (topic.starts_with("$share")) return false;  // a subscription form, never a topic
    if (access == Access::write && topic.starts_with("$SYS") && !mqtt::topic_matches(bridge_state_filter, topic)) {
        return false;
    }
    auto matches = [topic](std::string_view filter) { return mqtt::topic_matches(filter, topic); };
    if (own_) {
        if (auto decision = decide(*own_, access, matches)) return *decision;
    }
    if (has_patterns_ && dangerous_identity_) return false;
    return decide(patterns_, access, matches).value_or(false);
}

bool ClientAcl::subscribe_allowed(std::string_view filter) const {
    if (mqtt::is_shared_filter(filter)) {
        const auto shared = mqtt::parse_shared_subscription(filter);
        if (!shared) return false;
        filter = shared->filter;
    }
    if (filter_problem(filter)) return false;
    auto covers = [filter](std::string_view rule) { return filter_covers(rule, filter); };
    if (own_) {
        if (auto decision = decide(*own_, Access::read, covers)) return *decision;
    }
    if (has_patterns_ && dangerous_identity_) return false;
    return decide(patterns_, Access::read, covers).value_or(false);
}

}  // namespace fieldgate::auth
