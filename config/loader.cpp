#include "config/loader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/diagnostics.hpp"
#include "config/schema.hpp"

namespace fieldgate::config {
namespace {

std::string host_name() {
    char buffer[256] = {};
    if (gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "fieldgate";
    return buffer;
}

// systemd's StateDirectory= sets $STATE_DIRECTORY (a colon-separated list).
std::string default_state_dir() {
    if (const char* dir = std::getenv("STATE_DIRECTORY"); dir != nullptr && *dir != '\0') {
        const std::string_view dirs{dir};
        return std::string(dirs.substr(0, dirs.find(':')));
    }
    return "./fieldgate-state";
}

std::string default_bind(ListenerType type) {
    switch (type) {
        case ListenerType::mqtt: return "0.0.0.0:1883";
        case ListenerType::mqtts: return "0.0.0.0:8883";
        case ListenerType::ws: return "0.0.0.0:8080";
        case ListenerType::wss: return "0.0.0.0:8443";
    }
    return {};
}

// Lists every key path of the schema, arrays unnumbered.
class KeyLister {
public:
    explicit KeyLister(std::vector<SchemaKey>& keys, std::string path = {}) : keys_(keys), path_(std::move(path)) {}

    template <class T>
    void field(std::string_view key, T&, FieldRule rule = {}) {
        keys_.push_back({join(key), rule.reloadable});
    }
    template <class S>
    void table(std::string_view key, S& member) {
        KeyLister sub{keys_, join(key)};
        describe(sub, member);
    }
    template <class S>
    void table(std::string_view key, std::optional<S>&) {
        S member;
        table(key, member);
    }
    template <class S>
    void tables(std::string_view key, std::vector<S>&) {
        S member;
        table(key, member);
    }

private:
    std::string join(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }
    std::vector<SchemaKey>& keys_;
    std::string path_;
};

}  // namespace

std::string ConfigError::to_string() const {
    std::string out = file;
    if (position.line > 0) out += ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
    out += ": error: ";
    if (!key.empty()) out += key + ": ";
    return out + message;
}

void complete(Config& config, const SourceMap& positions) {
    if (config.gateway.name.empty()) config.gateway.name = host_name();
    if (config.gateway.state_dir.empty()) config.gateway.state_dir = default_state_dir();
    // A file with any [[listener]] replaces the default listeners.
    if (!positions.contains("listener")) {
        ListenerConfig mqtt;
        ListenerConfig ws;
        ws.type = ListenerType::ws;
        config.listeners = {mqtt, ws};
    }
    for (auto& listener : config.listeners) {
        if (listener.bind.empty()) listener.bind = default_bind(listener.type);
    }
    for (auto& bridge : config.bridges) {
        if (bridge.client_id.empty()) bridge.client_id = config.gateway.name;
    }
    for (auto& device : config.modbus) {
        if (device.topic.empty()) device.topic = "modbus/" + device.name;
    }
    for (auto& instrument : config.serial) {
        if (instrument.topic.empty()) instrument.topic = "serial/" + instrument.name;
    }
}

Config default_config() {
    Config config;
    complete(config, {});
    return config;
}

LoadResult load_config_text(std::string_view text, std::string_view file_name, LoadOptions options) {
    LoadResult result;
    Diagnostics diagnostics{std::string(file_name), result.positions};
    if (read_toml(text, result.config, result.positions, diagnostics)) {
        complete(result.config, result.positions);
        validate(result.config, options, diagnostics);
    }
    result.errors = diagnostics.take();
    return result;
}

LoadResult load_config_file(const std::string& path, LoadOptions options) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        LoadResult result;
        result.errors.push_back({path, {}, "", "cannot read the file: it is a directory (expected a TOML file)"});
        return result;
    }
    std::ifstream in{path, std::ios::binary};
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) {
        LoadResult result;
        result.errors.push_back({path, {}, "", std::string("cannot read the file: ") + std::strerror(errno)});
        return result;
    }
    return load_config_text(text.str(), path, options);
}

std::vector<SchemaKey> schema_keys() {
    std::vector<SchemaKey> keys;
    KeyLister lister{keys};
    Config config;
    describe(lister, config);
    return keys;
}

}  // namespace fieldgate::config
