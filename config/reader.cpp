// TOML text -> Config, walking the schema (schema.hpp). The only file that
// includes toml++.
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "config/diagnostics.hpp"
#include "config/schema.hpp"

namespace fieldgate::config {
namespace {

SourcePosition position(const toml::source_region& region) {
    return {region.begin.line, region.begin.column};
}

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// What an unknown key was probably meant to be, or the list of known keys.
std::string unknown_key_hint(std::string_view key, const std::vector<std::string_view>& known) {
    std::string_view best;
    std::size_t best_distance = std::max<std::size_t>(2, key.size() / 3) + 1;
    for (auto k : known) {
        const std::size_t d = edit_distance(key, k);
        if (d < best_distance) {
            best_distance = d;
            best = k;
        }
    }
    if (!best.empty()) return "did you mean '" + std::string(best) + "'?";
    std::string list = "expected one of: ";
    for (std::size_t i = 0; i < known.size(); ++i) list += (i ? ", " : "") + std::string(known[i]);
    return list;
}

std::string range_text(std::int64_t min, std::int64_t max, std::string (*format)(std::int64_t)) {
    if (max == std::numeric_limits<std::int64_t>::max()) return "at least " + format(min);
    return format(min) + " to " + format(max);
}

std::string plain_number(std::int64_t n) { return std::to_string(n); }
std::string duration_text(std::int64_t ms) { return format_duration(Duration{ms}); }
std::string size_text(std::int64_t bytes) { return format_size(ByteSize{static_cast<std::uint64_t>(bytes)}); }

// Reads the keys of one table into one struct.
class TableReader {
public:
    TableReader(const toml::table& table, std::string path, SourceMap& positions, Diagnostics& diagnostics)
        : table_(table), path_(std::move(path)), positions_(positions), diagnostics_(diagnostics) {}

    template <class T>
    void field(std::string_view key, T& member, FieldRule rule = {}) {
        known_.push_back(key);
        const std::string path = key_path(key);
        const toml::node* node = table_.get(key);
        if (node == nullptr) {
            if (rule.required) diagnostics_.error(path, "missing required key (expected " + expected(member) + ")");
            return;
        }
        read(*node, member, rule, path);
    }

    template <class S>
    void table(std::string_view key, S& member) {
        known_.push_back(key);
        const toml::node* node = table_.get(key);
        if (node == nullptr) return;
        const std::string path = key_path(key);
        if (const auto* sub = node->as_table()) {
            read_table(*sub, path, member);
        } else {
            diagnostics_.error(position(node->source()), path,
                               "wrong type (expected a table [" + path + "], got " + std::string(type_name(*node)) + ")");
        }
    }

    template <class S>
    void table(std::string_view key, std::optional<S>& member) {
        if (table_.get(key) == nullptr) {
            known_.push_back(key);
            return;
        }
        table(key, member.emplace());
    }

    template <class S>
    void tables(std::string_view key, std::vector<S>& members) {
        known_.push_back(key);
        const toml::node* node = table_.get(key);
        if (node == nullptr) return;
        const std::string path = key_path(key);
        const auto* array = node->as_array();
        if (array == nullptr || !array->is_array_of_tables()) {
            diagnostics_.error(position(node->source()), path,
                               "wrong type (expected an array of tables [[" + path + "]], got " +
                                   std::string(type_name(*node)) + ")");
            return;
        }
        positions_.emplace(path, position(node->source()));
        for (std::size_t i = 0; i < array->size(); ++i) {
            read_table(*array->get(i)->as_table(), path + "[" + std::to_string(i + 1) + "]",
                       members.emplace_back());
        }
    }

    // Reports the keys no field(), table() or tables() asked for.
    void finish() {
        for (const auto& [key, node] : table_) {
            if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
            diagnostics_.error(position(key.source()), key_path(key.str()),
                               "unknown key (" + unknown_key_hint(key.str(), known_) + ")");
        }
    }

private:
    template <class S>
    void read_table(const toml::table& sub, const std::string& path, S& member) {
        positions_.emplace(path, position(sub.source()));
        TableReader reader{sub, path, positions_, diagnostics_};
        describe(reader, member);
        reader.finish();
    }

    std::string key_path(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }

    void wrong_type(const toml::node& node, const std::string& path, const std::string& expectation) {
        diagnostics_.error(position(node.source()), path,
                           "wrong type (expected " + expectation + ", got " + std::string(type_name(node)) + ")");
    }
    void bad_value(const toml::node& node, const std::string& path, const std::string& what) {
        diagnostics_.error(position(node.source()), path, what);
    }
    template <class N>
    bool in_range(const toml::node& node, const std::string& path, N value, std::int64_t min, std::int64_t max,
                  std::string (*format)(std::int64_t)) {
        if (value >= min && value <= max) return true;
        bad_value(node, path, format(value) + " is out of range (expected " + range_text(min, max, format) + ")");
        return false;
    }

    static std::string expected(const std::string&) { return "a string"; }
    static std::string expected(bool) { return "true or false"; }
    static std::string expected(std::uint32_t) { return "an integer"; }
    static std::string expected(std::uint64_t) { return "an integer"; }
    static std::string expected(double) { return "a number"; }
    static std::string expected(Duration) { return "a duration with a unit (ms, s, m, h, d), like \"10s\""; }
    static std::string expected(const std::optional<Duration>&) { return expected(Duration{}); }
    static std::string expected(ByteSize) { return "a size with a unit (B, KiB, MiB, GiB), like \"256KiB\""; }
    static std::string expected(const std::vector<std::string>&) { return "an array of strings"; }
    template <class E>
        requires std::is_enum_v<E>
    static std::string expected(E) {
        std::string list = "one of: ";
        bool first = true;
        for (const auto& n : names_of(E{})) {
            list += (first ? "" : ", ") + quoted(n.name);
            first = false;
        }
        return list;
    }

    void read(const toml::node& node, std::string& out, FieldRule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        if (const auto* s = node.as_string()) {
            out = s->get();
        } else {
            wrong_type(node, path, expected(out));
        }
    }
    void read(const toml::node& node, bool& out, FieldRule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        if (const auto* b = node.as_boolean()) {
            out = b->get();
        } else {
            wrong_type(node, path, expected(out));
        }
    }
    template <class N>
        requires std::is_same_v<N, std::uint32_t> || std::is_same_v<N, std::uint64_t>
    void read(const toml::node& node, N& out, FieldRule rule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        const auto* i = node.as_integer();
        if (i == nullptr) return wrong_type(node, path, expected(out));
        const std::int64_t max = std::min<std::int64_t>(
            rule.max, static_cast<std::int64_t>(std::min<std::uint64_t>(std::numeric_limits<N>::max(),
                                                                        std::numeric_limits<std::int64_t>::max())));
        if (in_range(node, path, i->get(), rule.min, max, plain_number)) out = static_cast<N>(i->get());
    }
    void read(const toml::node& node, double& out, FieldRule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        if (const auto* f = node.as_floating_point(); f && std::isfinite(f->get())) {
            out = f->get();
        } else if (const auto* i = node.as_integer()) {
            out = static_cast<double>(i->get());
        } else {
            wrong_type(node, path, "a finite number");
        }
    }
    void read(const toml::node& node, Duration& out, FieldRule rule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        const auto* s = node.as_string();
        if (s == nullptr) return wrong_type(node, path, expected(out));
        const auto d = parse_duration(s->get());
        if (!d) return bad_value(node, path, "invalid duration " + quoted(s->get()) + " (expected " + expected(out) + ")");
        if (in_range(node, path, d->count(), rule.min, rule.max, duration_text)) out = *d;
    }
    void read(const toml::node& node, std::optional<Duration>& out, FieldRule rule, const std::string& path) {
        Duration d{};
        const std::size_t errors_before = diagnostics_count();
        read(node, d, rule, path);
        if (diagnostics_count() == errors_before) out = d;
    }
    void read(const toml::node& node, ByteSize& out, FieldRule rule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        std::optional<ByteSize> size;
        if (const auto* s = node.as_string()) {
            size = parse_size(s->get());
            if (!size) return bad_value(node, path, "invalid size " + quoted(s->get()) + " (expected " + expected(out) + ")");
        } else if (const auto* i = node.as_integer(); i && i->get() >= 0) {
            size = ByteSize{static_cast<std::uint64_t>(i->get())};
        } else {
            return wrong_type(node, path, expected(out));
        }
        const auto bytes = static_cast<std::int64_t>(std::min<std::uint64_t>(size->bytes, std::numeric_limits<std::int64_t>::max()));
        if (in_range(node, path, bytes, rule.min, rule.max, size_text)) out = *size;
    }
    template <class E>
        requires std::is_enum_v<E>
    void read(const toml::node& node, E& out, FieldRule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        const auto* s = node.as_string();
        if (s == nullptr) return wrong_type(node, path, expected(out));
        for (const auto& n : names_of(E{})) {
            if (n.name == s->get()) {
                out = n.value;
                return;
            }
        }
        bad_value(node, path, "unknown value " + quoted(s->get()) + " (expected " + expected(out) + ")");
    }
    void read(const toml::node& node, std::vector<std::string>& out, FieldRule, const std::string& path) {
        positions_.emplace(path, position(node.source()));
        const auto* array = node.as_array();
        if (array == nullptr || (!array->empty() && !array->is_homogeneous(toml::node_type::string))) {
            return wrong_type(node, path, expected(out));
        }
        out.clear();
        for (const auto& element : *array) out.push_back(element.as_string()->get());
    }

    std::size_t diagnostics_count() const { return diagnostics_.count(); }

    const toml::table& table_;
    std::string path_;
    SourceMap& positions_;
    Diagnostics& diagnostics_;
    std::vector<std::string_view> known_;
};

}  // namespace

bool read_toml(std::string_view text, Config& config, SourceMap& positions, Diagnostics& diagnostics) {
    toml::table root;
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error& e) {
        diagnostics.error(position(e.source()), "", "TOML syntax: " + std::string(e.description()));
        return false;
    }
    TableReader reader{root, "", positions, diagnostics};
    describe(reader, config);
    reader.finish();
    return true;
}

}  // namespace fieldgate::config
