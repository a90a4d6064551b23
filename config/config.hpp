#pragma once

// The whole configuration as plain typed data (DESIGN.md, "User-facing
// contract"). Member initialisers are the built-in defaults. The keys, their
// order and their constraints are described once, in schema.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/units.hpp"

namespace fieldgate::config {

enum class LogLevel { trace, debug, info, warn, error, critical, off };

struct GatewayConfig {
    std::string name;       // default: the host name
    std::string state_dir;  // default: $STATE_DIRECTORY or ./fieldgate-state
    std::uint32_t workers = 0;  // 0 = one per core
    LogLevel log_level = LogLevel::info;
};

enum class ListenerType { mqtt, mqtts, ws, wss };
inline bool is_tls(ListenerType t) { return t == ListenerType::mqtts || t == ListenerType::wss; }

struct ListenerConfig {
    ListenerType type = ListenerType::mqtt;
    std::string bind;  // default by type: mqtt :1883, mqtts :8883, ws :8080, wss :8443
    std::string path = "/mqtt";  // ws, wss
    std::string cert;            // mqtts, wss
    std::string key;
    std::string client_ca;  // verify client certificates when set
    bool require_client_cert = false;
    bool use_cert_cn_as_username = false;
    bool allow_anonymous = true;
    std::uint32_t max_connections = 0;  // 0: only [limits] max_connections applies
};

struct AuthConfig {
    std::string password_file;  // mosquitto_passwd format; empty: no password file
    std::string acl_file;       // mosquitto acl_file format; empty: everything allowed
};

struct LimitsConfig {
    std::uint32_t max_connections = 10000;
    ByteSize max_packet_size{1u << 20};
    std::uint32_t max_inflight = 32;
    std::uint32_t max_queued_messages = 10000;
    Duration max_keepalive = std::chrono::seconds{65535};
    Duration connect_timeout = std::chrono::seconds{10};
};

enum class Durability { sync, batched, none };

struct PersistenceConfig {
    Durability durability = Durability::sync;
    Duration commit_interval{20};
    ByteSize max_size{0};  // the state database's limit; 0 = what the disk holds
};

struct HttpConfig {
    std::string bind = "127.0.0.1:8081";
};

enum class BridgeProtocol { mqtt5, mqtt311 };
enum class BridgePreset { generic, aws_iot, azure_iot_hub };
enum class QueueFullPolicy { drop_oldest, drop_new };
enum class DrainOrder { interleaved, oldest_first, newest_first };
enum class TopicDirection { out, in, both };
enum class TopicPriority { high, normal };

struct AzureConfig {
    std::string hub;
    std::string device_id;
    std::string device_key_file;
    Duration token_ttl = std::chrono::hours{1};
};

struct BridgeQueueConfig {
    std::uint64_t max_messages = 1'000'000;
    ByteSize max_bytes{256ull << 20};
    Duration max_age = std::chrono::hours{24 * 7};
    QueueFullPolicy when_full = QueueFullPolicy::drop_oldest;
    DrainOrder drain = DrainOrder::interleaved;
    std::uint32_t drain_rate = 0;  // messages per second; 0 = as fast as the uplink takes
};

struct BridgeTopicConfig {
    std::string pattern;
    TopicDirection direction = TopicDirection::out;
    std::uint32_t qos = 1;
    std::string local_prefix;
    std::string remote_prefix;
    std::string remote;  // template with {1}, {2} ... for the pattern's wildcards
    TopicPriority priority = TopicPriority::normal;
};

struct BridgeConfig {
    std::string name;
    std::vector<std::string> addresses;  // mqtt:// mqtts:// ws:// wss://
    BridgeProtocol protocol = BridgeProtocol::mqtt5;
    std::string client_id;  // default: the gateway name
    bool clean_start = false;
    Duration session_expiry = std::chrono::hours{24 * 7};
    Duration keepalive = std::chrono::seconds{60};
    std::string username;
    std::string password_file;
    std::string ca;
    std::string cert;
    std::string key;
    std::vector<std::string> alpn;
    std::string sni;
    Duration reconnect_min = std::chrono::seconds{1};
    Duration reconnect_max = std::chrono::minutes{2};
    // While connected to a later address, how often the first is checked
    // (DNS, TCP, TLS; no MQTT) and, once it answers, moved back to; 0 = never.
    Duration return_to_first = std::chrono::minutes{5};
    BridgePreset preset = BridgePreset::generic;
    std::optional<AzureConfig> azure;
    BridgeQueueConfig queue;
    std::vector<BridgeTopicConfig> topics;
};

enum class Parity { none, even, odd };
enum class PayloadFormat { json, raw };
enum class RegisterTable { coil, discrete, holding, input };
enum class PointType { boolean, int16, uint16, int32, uint32, int64, uint64, float32, float64, string };
enum class ByteOrder { abcd, dcba, badc, cdab };

struct ModbusPointConfig {
    std::string name;
    RegisterTable table = RegisterTable::holding;
    std::uint32_t address = 0;
    PointType type = PointType::uint16;
    std::uint32_t length = 0;  // string only: characters
    ByteOrder byte_order = ByteOrder::abcd;
    double scale = 1.0;
    double offset = 0.0;
    std::string unit;
    double deadband = 0.0;
    std::optional<Duration> poll_interval;  // default: the device's
    bool writable = false;
};

struct ModbusConfig {
    std::string name;
    std::string url;  // tcp://host:port or rtu:///dev/...
    std::uint32_t baud = 19200;
    Parity parity = Parity::none;
    std::uint32_t data_bits = 8;
    std::uint32_t stop_bits = 1;
    std::uint32_t unit_id = 1;
    std::uint32_t address_base = 0;
    Duration poll_interval = std::chrono::seconds{1};
    Duration timeout{500};
    std::uint32_t retries = 2;
    std::uint32_t max_registers_per_request = 125;
    std::string topic;  // default: modbus/NAME
    PayloadFormat payload = PayloadFormat::json;
    std::vector<ModbusPointConfig> points;
};

struct SerialConfig {
    std::string name;
    std::string device;
    std::uint32_t baud = 9600;
    std::string topic;    // default: serial/NAME
    std::string pattern;  // regular expression; named groups become JSON fields
};

struct Config {
    GatewayConfig gateway;
    std::vector<ListenerConfig> listeners;
    AuthConfig auth;
    LimitsConfig limits;
    PersistenceConfig persistence;
    HttpConfig http;
    std::vector<BridgeConfig> bridges;
    std::vector<ModbusConfig> modbus;
    std::vector<SerialConfig> serial;
};

// The built-in defaults: what `fieldgate` runs with when given no file
// (MQTT on 0.0.0.0:1883, WebSocket on 0.0.0.0:8080/mqtt, HTTP on 127.0.0.1:8081).
Config default_config();

}  // namespace fieldgate::config
