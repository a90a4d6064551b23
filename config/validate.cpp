// The checks that need more than one key: one validator per section.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "config/address.hpp"
#include "config/diagnostics.hpp"
#include "config/schema.hpp"
#include "config/serial_pattern.hpp"
#include "gateway/mqtt/topic.hpp"

namespace fieldgate::config {
namespace {

std::string numbered(std::string_view section, std::size_t index) {
    return std::string(section) + "[" + std::to_string(index + 1) + "]";
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A file the config names must exist, be a file (or a device), and be
// readable by this process.
void check_readable(Diagnostics& d, const std::string& key, const std::string& path, std::string_view what) {
    if (path.empty() || !d.check_files()) return;
    struct stat st {};
    const char* problem = nullptr;
    if (::stat(path.c_str(), &st) != 0 || ::access(path.c_str(), R_OK) != 0) {
        problem = std::strerror(errno);
    } else if (S_ISDIR(st.st_mode)) {
        problem = "is a directory";
    }
    if (problem != nullptr) {
        d.error(key, "cannot read " + quoted(path) + ": " + problem + " (expected a readable " + std::string(what) + ")");
    }
}

// Names appear in topics, client ids and log lines: keep them simple.
void check_name(Diagnostics& d, const std::string& key, const std::string& name, std::set<std::string>& seen) {
    if (name.empty()) return;  // reported as missing by the reader
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.';
        if (!ok) {
            d.error(key, "invalid name " + quoted(name) + " (expected letters, digits, '-', '_' or '.')");
            return;
        }
    }
    if (!seen.insert(name).second) d.error(key, "duplicate name " + quoted(name) + " (expected a unique name)");
}

void check_topic(Diagnostics& d, const std::string& key, const std::string& topic) {
    if (!topic.empty() && !mqtt::is_valid_topic_name(topic)) {
        d.error(key, "invalid topic " + quoted(topic) + " (expected a topic name without '+' or '#')");
    }
}

void validate_gateway(const GatewayConfig& g, Diagnostics& d) {
    std::set<std::string> unused;
    check_name(d, "gateway.name", g.name, unused);
}

// Returns the ports in use, by key, for the HTTP check.
std::map<std::uint16_t, std::string> validate_listeners(const std::vector<ListenerConfig>& listeners, Diagnostics& d) {
    std::map<std::uint16_t, std::string> ports;
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        const auto& l = listeners[i];
        const std::string key = numbered("listener", i);
        const auto type = std::string(name_of(l.type));
        const std::string a_type = (type.starts_with('m') ? "an " : "a ") + type;  // "an mqtts", "a ws"
        if (const auto bind = parse_bind_address(l.bind); !bind) {
            d.error(key + ".bind", "invalid address " + quoted(l.bind) +
                                       " (expected IP:PORT, like \"0.0.0.0:1883\" or \"[::]:1883\")");
        } else if (auto [it, inserted] = ports.emplace(bind->port, key); !inserted) {
            d.error(key + ".bind", "port " + std::to_string(bind->port) + " is already used by " + it->second +
                                       " (expected one listener per port)");
        }
        if (is_tls(l.type)) {
            if (l.cert.empty()) d.error(key + ".cert", "missing for " + a_type + " listener (expected a certificate file)");
            if (l.key.empty()) d.error(key + ".key", "missing for " + a_type + " listener (expected a private key file)");
        } else {
            for (const auto& [name, value] : {std::pair{"cert", &l.cert}, {"key", &l.key}, {"client_ca", &l.client_ca}}) {
                if (!value->empty()) {
                    d.error(key + "." + name, "set on " + a_type + " listener (expected only with mqtts or wss)");
                }
            }
        }
        if (l.require_client_cert || l.use_cert_cn_as_username) {
            const std::string flag = l.require_client_cert ? ".require_client_cert" : ".use_cert_cn_as_username";
            if (!is_tls(l.type)) {
                d.error(key + flag, "set on " + a_type + " listener (expected only with mqtts or wss)");
            } else if (l.client_ca.empty()) {
                d.error(key + ".client_ca", "missing (expected a CA file when client certificates are required or used)");
            }
        }
        // Checked for every type, so that an empty path never reaches print-config.
        if (!l.path.starts_with('/')) {
            d.error(key + ".path", "invalid path " + quoted(l.path) + " (expected a path starting with '/')");
        }
        check_readable(d, key + ".cert", l.cert, "certificate file");
        check_readable(d, key + ".key", l.key, "private key file");
        check_readable(d, key + ".client_ca", l.client_ca, "CA file");
    }
    return ports;
}

void validate_http(const HttpConfig& h, const std::map<std::uint16_t, std::string>& listener_ports, Diagnostics& d) {
    const auto bind = parse_bind_address(h.bind);
    if (!bind) {
        d.error("http.bind", "invalid address " + quoted(h.bind) + " (expected IP:PORT, like \"127.0.0.1:8081\")");
    } else if (auto it = listener_ports.find(bind->port); it != listener_ports.end()) {
        d.error("http.bind", "port " + std::to_string(bind->port) + " is already used by " + it->second +
                                 " (expected a port of its own)");
    }
}

void validate_auth(const AuthConfig& a, Diagnostics& d) {
    check_readable(d, "auth.password_file", a.password_file, "password file");
    check_readable(d, "auth.acl_file", a.acl_file, "ACL file");
}

void validate_bridge_topic(const BridgeTopicConfig& t, const std::string& key, Diagnostics& d) {
    if (!t.pattern.empty() && !mqtt::is_valid_topic_filter(t.pattern)) {
        d.error(key + ".pattern", "invalid topic filter " + quoted(t.pattern) +
                                      " (expected '+' and '#' only as whole levels, '#' last)");
    }
    for (const auto& [name, prefix] : {std::pair{"local_prefix", &t.local_prefix}, {"remote_prefix", &t.remote_prefix}}) {
        if (prefix->find_first_of("+#") != std::string::npos) {
            d.error(key + "." + name, "wildcard in prefix " + quoted(*prefix) + " (expected a plain topic prefix)");
        }
    }
    if (t.remote.empty()) return;
    if (!t.remote_prefix.empty()) {
        d.error(key + ".remote", "set together with remote_prefix (expected one of remote or remote_prefix)");
    }
    // {N} refers to the N-th wildcard of the pattern.
    std::size_t wildcards = 0;
    for (char c : t.pattern) wildcards += (c == '+' || c == '#') ? 1 : 0;
    for (std::size_t open = t.remote.find('{'); open != std::string::npos; open = t.remote.find('{', open + 1)) {
        const std::size_t close = t.remote.find('}', open);
        const std::string index = t.remote.substr(open + 1, close == std::string::npos ? 0 : close - open - 1);
        const bool digits = !index.empty() && index.size() < 4 && index.find_first_not_of("0123456789") == std::string::npos;
        const std::size_t n = digits ? std::stoul(index) : 0;
        if (n < 1 || n > wildcards) {
            d.error(key + ".remote", "placeholder {" + index + "} in " + quoted(t.remote) + " (expected {1} to {" +
                                         std::to_string(wildcards) + "}, one per wildcard of the pattern)");
            return;
        }
    }
}

void validate_bridges(const std::vector<BridgeConfig>& bridges, Diagnostics& d) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < bridges.size(); ++i) {
        const auto& b = bridges[i];
        const std::string key = numbered("bridge", i);
        check_name(d, key + ".name", b.name, names);
        if (b.addresses.empty()) {
            d.error(key + ".addresses", "empty (expected at least one address, like \"mqtts://broker.example.com:8883\")");
        }
        bool all_tls = !b.addresses.empty();
        for (const auto& address : b.addresses) {
            const auto url = parse_url(address);
            const bool scheme_ok = url && (url->scheme == "mqtt" || url->scheme == "mqtts" || url->scheme == "ws" ||
                                          url->scheme == "wss");
            if (!scheme_ok) {
                d.error(key + ".addresses", "invalid address " + quoted(address) +
                                                " (expected mqtt://, mqtts://, ws:// or wss:// with a host)");
                continue;
            }
            all_tls = all_tls && (url->scheme == "mqtts" || url->scheme == "wss");
        }
        if (b.reconnect_min > b.reconnect_max) {
            d.error(key + ".reconnect_min", "longer than reconnect_max (expected reconnect_min <= reconnect_max)");
        }
        if (b.cert.empty() != b.key.empty()) {
            d.error(key + (b.cert.empty() ? ".cert" : ".key"), "missing (expected cert and key together)");
        }
        if (b.preset == BridgePreset::aws_iot) {
            if (!all_tls) d.error(key + ".addresses", "not TLS (expected mqtts:// or wss:// for preset \"aws-iot\")");
            if (b.cert.empty()) d.error(key + ".cert", "missing (expected a device certificate for preset \"aws-iot\")");
        }
        if (b.preset == BridgePreset::azure_iot_hub) {
            if (!b.azure) d.error(key + ".azure", "missing (expected a [bridge.azure] table for preset \"azure-iot-hub\")");
            if (b.protocol != BridgeProtocol::mqtt311) {
                // IoT Hub's MQTT endpoint speaks 3.1.1 only.
                d.error(key + ".protocol", "\"mqtt5\" with preset \"azure-iot-hub\" (expected \"mqtt311\")");
            }
            if (!all_tls) d.error(key + ".addresses", "not TLS (expected mqtts:// or wss:// for preset \"azure-iot-hub\")");
        } else if (b.azure) {
            d.error(key + ".azure", "set without preset \"azure-iot-hub\" (expected only with that preset)");
        }
        check_readable(d, key + ".password_file", b.password_file, "password file");
        check_readable(d, key + ".ca", b.ca, "CA file");
        check_readable(d, key + ".cert", b.cert, "certificate file");
        check_readable(d, key + ".key", b.key, "private key file");
        if (b.azure) check_readable(d, key + ".azure.device_key_file", b.azure->device_key_file, "device key file");
        if (b.topics.empty()) d.error(key + ".topic", "missing (expected at least one [[bridge.topic]])");
        for (std::size_t t = 0; t < b.topics.size(); ++t) {
            validate_bridge_topic(b.topics[t], key + "." + numbered("topic", t), d);
        }
    }
}

// Registers a point of each type takes; a string two characters per register.
std::uint32_t register_count(const ModbusPointConfig& p) {
    switch (p.type) {
        case PointType::boolean:
        case PointType::int16:
        case PointType::uint16: return 1;
        case PointType::int32:
        case PointType::uint32:
        case PointType::float32: return 2;
        case PointType::int64:
        case PointType::uint64:
        case PointType::float64: return 4;
        case PointType::string: return (p.length + 1) / 2;
    }
    return 1;
}

void validate_point(const ModbusConfig& device, const ModbusPointConfig& p, const std::string& key, Diagnostics& d) {
    const bool bit_table = p.table == RegisterTable::coil || p.table == RegisterTable::discrete;
    if (bit_table && p.type != PointType::boolean) {
        d.error(key + ".type", "\"" + std::string(name_of(p.type)) + "\" in table \"" + std::string(name_of(p.table)) +
                                   "\" (expected \"bool\": coils and discrete inputs hold single bits)");
    }
    if (p.type == PointType::string && p.length == 0) {
        d.error(key + ".length", "missing for a string point (expected the number of characters, 1 to 246)");
    }
    if (p.type != PointType::string && p.length != 0) {
        d.error(key + ".length", "set on a " + std::string(name_of(p.type)) + " point (expected only for type \"string\")");
    }
    if (p.writable && (p.table == RegisterTable::discrete || p.table == RegisterTable::input)) {
        d.error(key + ".writable", "table \"" + std::string(name_of(p.table)) +
                                       "\" is read-only (expected writable only for coil or holding)");
    }
    if (p.address < device.address_base) {
        d.error(key + ".address", std::to_string(p.address) + " is below address_base " +
                                      std::to_string(device.address_base) + " (expected the device's numbering)");
    } else if (p.address - device.address_base + (bit_table ? 1 : register_count(p)) > 65536) {
        d.error(key + ".address", std::to_string(p.address) + " runs past the last register (expected the point to end by 65535)");
    }
    if (p.scale == 0.0) d.error(key + ".scale", "0 (expected a non-zero factor)");
    if (p.deadband < 0.0) d.error(key + ".deadband", "negative (expected 0 or more)");
}

void validate_modbus(const std::vector<ModbusConfig>& devices, Diagnostics& d) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < devices.size(); ++i) {
        const auto& m = devices[i];
        const std::string key = numbered("modbus", i);
        check_name(d, key + ".name", m.name, names);
        check_topic(d, key + ".topic", m.topic);
        if (!m.url.empty()) {
            const auto url = parse_url(m.url);
            if (!url || (url->scheme != "tcp" && url->scheme != "rtu") || (url->scheme == "tcp" && !url->path.empty())) {
                d.error(key + ".url", "invalid address " + quoted(m.url) +
                                          " (expected tcp://HOST:PORT or rtu:///dev/DEVICE)");
            } else if (url->scheme == "rtu") {
                check_readable(d, key + ".url", url->path, "serial device");
            }
        }
        if (m.unit_id > 247 && m.unit_id != 255) {
            d.error(key + ".unit_id", std::to_string(m.unit_id) + " is out of range (expected 0 to 247, or 255)");
        }
        if (m.points.empty()) d.error(key + ".point", "missing (expected at least one [[modbus.point]])");
        std::set<std::string> point_names;
        for (std::size_t p = 0; p < m.points.size(); ++p) {
            const std::string point_key = key + "." + numbered("point", p);
            check_name(d, point_key + ".name", m.points[p].name, point_names);
            validate_point(m, m.points[p], point_key, d);
        }
    }
}

void validate_serial(const std::vector<SerialConfig>& instruments, Diagnostics& d) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < instruments.size(); ++i) {
        const auto& s = instruments[i];
        const std::string key = numbered("serial", i);
        check_name(d, key + ".name", s.name, names);
        check_topic(d, key + ".topic", s.topic);
        check_readable(d, key + ".device", s.device, "serial device");
        if (auto problem = check_serial_pattern(s.pattern)) {
            d.error(key + ".pattern", "invalid regular expression: " + *problem +
                                          " (expected a Perl-style regular expression, like '^W:(?<weight>[0-9.]+)kg$')");
        }
    }
}

}  // namespace

void validate(const Config& config, const LoadOptions& options, Diagnostics& d) {
    d.set_check_files(options.check_files);
    validate_gateway(config.gateway, d);
    const auto ports = validate_listeners(config.listeners, d);
    validate_auth(config.auth, d);
    validate_http(config.http, ports, d);
    validate_bridges(config.bridges, d);
    validate_modbus(config.modbus, d);
    validate_serial(config.serial, d);
}

}  // namespace fieldgate::config
