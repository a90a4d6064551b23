#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace fieldgate::config {

// Collects the errors of one load. Errors about a key are placed where the key
// was written, or, for a key left out, where its table starts.
class Diagnostics {
public:
    Diagnostics(std::string file, const SourceMap& positions) : file_(std::move(file)), positions_(positions) {}

    // One error per key: a value the reader refused is not judged again by the
    // validators (which see the default in its place).
    void error(SourcePosition at, std::string key, std::string message) {
        if (!key.empty() && has_error(key)) return;
        errors_.push_back({file_, at, std::move(key), std::move(message)});
    }
    bool has_error(std::string_view key) const {
        for (const auto& e : errors_) {
            if (e.key == key) return true;
        }
        return false;
    }
    // At the position recorded for `key`, or for its nearest enclosing table.
    void error(const std::string& key, std::string message) { error(position_of(key), key, std::move(message)); }

    SourcePosition position_of(std::string_view key) const;
    std::size_t count() const { return errors_.size(); }
    bool check_files() const { return check_files_; }
    void set_check_files(bool on) { check_files_ = on; }
    // Sorted by position, in the order found within one position.
    std::vector<ConfigError> take();

private:
    std::string file_;
    const SourceMap& positions_;
    std::vector<ConfigError> errors_;
    bool check_files_ = true;
};

// Fills `config` from TOML text, recording positions and errors. Returns false
// when the text is not TOML at all (the syntax error is recorded).
bool read_toml(std::string_view text, Config& config, SourceMap& positions, Diagnostics& diagnostics);

// Fills in the defaults that depend on other values (host name, listeners,
// binds by listener type, bridge client ids, adapter topics).
void complete(Config& config, const SourceMap& positions);

// The cross-key checks of each section: contradictions, names, addresses, and
// files that must exist and be readable.
void validate(const Config& config, const LoadOptions& options, Diagnostics& diagnostics);

}  // namespace fieldgate::config
