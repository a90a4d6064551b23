#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace fieldgate::config {

struct SourcePosition {
    std::uint32_t line = 0;  // 1-based; 0 when unknown
    std::uint32_t column = 0;
};

// One problem in a configuration file. Printed as
// `FILE:LINE:COL: error: KEY: what is wrong (expected ...)`.
struct ConfigError {
    std::string file;
    SourcePosition position;
    std::string key;  // dotted path, arrays numbered from 1: "listener[2].cert"
    std::string message;

    std::string to_string() const;
};

// Where each key and table of the file was written, by dotted path.
using SourceMap = std::map<std::string, SourcePosition, std::less<>>;

struct LoadResult {
    Config config;
    std::vector<ConfigError> errors;  // every error found, in file order
    SourceMap positions;

    bool ok() const { return errors.empty(); }
};

struct LoadOptions {
    // Whether files the configuration names (certificates, keys, password and
    // ACL files, serial devices) must exist and be readable here. Off to check
    // a configuration on another machine than the gateway it is for.
    bool check_files = true;
};

// Reads, checks and completes a configuration (defaults filled in). Never
// throws on bad input: every problem becomes a ConfigError.
LoadResult load_config_file(const std::string& path, LoadOptions options = {});
LoadResult load_config_text(std::string_view text, std::string_view file_name, LoadOptions options = {});

// The effective configuration as TOML that load_config_text accepts.
std::string print_config(const Config& config);

// Dotted keys (arrays without numbers, e.g. "bridge.queue.max_bytes") whose
// values differ between two configurations; "listener" when the number of
// listeners differs. Used on reload to tell what changed.
std::vector<std::string> changed_keys(const Config& before, const Config& after);

// A key path without its array numbers: "bridge[2].topic[1].remote" -> "bridge.topic.remote".
std::string unnumbered(std::string_view path);

// Every key the schema knows, as a dotted path without array numbers
// ("bridge.queue.max_bytes"), and whether SIGHUP applies a change to it.
struct SchemaKey {
    std::string path;
    bool reloadable = false;
};
std::vector<SchemaKey> schema_keys();

}  // namespace fieldgate::config
