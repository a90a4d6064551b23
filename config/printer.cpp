// Config -> TOML (print-config) and Config -> flat key/value list (reload
// diffs), both by walking the schema.
#include <charconv>
#include <map>
#include <set>

#include "config/loader.hpp"
#include "config/schema.hpp"

namespace fieldgate::config {
namespace {

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
                    char escape[8];
                    std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(c));
                    out += escape;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

// The value as TOML, or nothing for a value that is unset (empty string,
// empty array, absent optional), so the key is left out.
std::optional<std::string> value_text(const std::string& v) {
    if (v.empty()) return std::nullopt;
    return toml_string(v);
}
std::optional<std::string> value_text(bool v) { return v ? "true" : "false"; }
std::optional<std::string> value_text(std::uint32_t v) { return std::to_string(v); }
std::optional<std::string> value_text(std::uint64_t v) { return std::to_string(v); }
std::optional<std::string> value_text(double v) {
    char buffer[64];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    std::string text(buffer, end);
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // stays a TOML float
    return text;
}
std::optional<std::string> value_text(Duration v) { return toml_string(format_duration(v)); }
std::optional<std::string> value_text(const std::optional<Duration>& v) {
    if (!v) return std::nullopt;
    return value_text(*v);
}
std::optional<std::string> value_text(ByteSize v) { return toml_string(format_size(v)); }
std::optional<std::string> value_text(const std::vector<std::string>& v) {
    if (v.empty()) return std::nullopt;
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + toml_string(v[i]);
    return out + "]";
}
template <class E>
    requires std::is_enum_v<E>
std::optional<std::string> value_text(E v) {
    return toml_string(name_of(v));
}

// One key = value line; `section` is the dotted table path with array numbers.
struct Entry {
    std::string section;
    bool array_element = false;  // the section is one element of [[...]]
    std::string key;
    std::string value;
};

// Walks a config into entries: a table's own keys first, then its sub-tables,
// which is the order TOML needs.
class Flattener {
public:
    Flattener(std::vector<Entry>& entries, std::string section, bool array_element, bool scalars)
        : entries_(entries), section_(std::move(section)), array_element_(array_element), scalars_(scalars) {}

    template <class T>
    void field(std::string_view key, T& member, FieldRule = {}) {
        if (!scalars_) return;
        if (auto text = value_text(member)) entries_.push_back({section_, array_element_, std::string(key), *text});
    }
    template <class S>
    void table(std::string_view key, S& member) {
        if (!scalars_) flatten(entries_, join(key), false, member);
    }
    template <class S>
    void table(std::string_view key, std::optional<S>& member) {
        if (member) table(key, *member);
    }
    template <class S>
    void tables(std::string_view key, std::vector<S>& members) {
        if (scalars_) return;
        for (std::size_t i = 0; i < members.size(); ++i) {
            flatten(entries_, join(key) + "[" + std::to_string(i + 1) + "]", true, members[i]);
        }
    }

    template <class S>
    static void flatten(std::vector<Entry>& entries, const std::string& section, bool array_element, S& s) {
        // An empty table still gets its header, so [[listener]] with all defaults survives.
        entries.push_back({section, array_element, "", ""});
        Flattener scalars{entries, section, array_element, true};
        describe(scalars, s);
        Flattener tables{entries, section, array_element, false};
        describe(tables, s);
    }

private:
    std::string join(std::string_view key) const {
        return section_.empty() ? std::string(key) : section_ + "." + std::string(key);
    }
    std::vector<Entry>& entries_;
    std::string section_;
    bool array_element_;
    bool scalars_;
};

std::vector<Entry> flatten(const Config& config) {
    std::vector<Entry> entries;
    Config copy = config;  // the schema walks mutable members
    Flattener root{entries, "", false, false};
    describe(root, copy);
    return entries;
}

}  // namespace

std::string unnumbered(std::string_view path) {
    std::string out;
    bool in_index = false;
    for (char c : path) {
        if (c == '[') in_index = true;
        if (!in_index) out += c;
        if (c == ']') in_index = false;
    }
    return out;
}

std::string print_config(const Config& config) {
    std::string out = "# fieldgate effective configuration (defaults filled in)\n";
    for (const auto& e : flatten(config)) {
        if (e.key.empty()) {
            const std::string header = unnumbered(e.section);
            out += e.array_element ? "\n[[" + header + "]]\n" : "\n[" + header + "]\n";
        } else {
            out += e.key + " = " + e.value + "\n";
        }
    }
    return out;
}

std::vector<std::string> changed_keys(const Config& before, const Config& after) {
    std::map<std::string, std::string> old_values;
    std::map<std::string, std::string> new_values;
    for (const auto& e : flatten(before)) old_values[e.section + "." + e.key] = e.value;
    for (const auto& e : flatten(after)) new_values[e.section + "." + e.key] = e.value;

    std::set<std::string> changed;
    auto note = [&](const std::string& path) {
        std::string key = unnumbered(path);
        if (key.ends_with('.')) key.pop_back();  // a table header: the table itself appeared or went
        changed.insert(key);
    };
    for (const auto& [path, value] : old_values) {
        const auto it = new_values.find(path);
        if (it == new_values.end() || it->second != value) note(path);
    }
    for (const auto& [path, value] : new_values) {
        if (!old_values.contains(path)) note(path);
    }
    return {changed.begin(), changed.end()};
}

}  // namespace fieldgate::config
