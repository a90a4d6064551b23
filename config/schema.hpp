#pragma once

// The configuration schema, written once: every section lists its keys in
// order, with their constraints. The TOML reader, the printer (print-config)
// and the key listing all walk these descriptions, so a key added here is
// parsed, printed and documented-checked at once.
//
// A visitor V provides:
//   v.field(key, member, FieldRule)   a scalar or an array of strings
//   v.table(key, member)              a sub-table (struct, or optional struct)
//   v.tables(key, member)             an array of tables (vector of structs)

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::config {

// Constraints on one key. Numbers are in the member's unit: plain integers as
// they are, durations in milliseconds, sizes in bytes.
struct FieldRule {
    bool required = false;
    bool reloadable = false;  // SIGHUP applies a change without a restart
    std::int64_t min = 0;
    std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

inline constexpr std::int64_t seconds(std::int64_t n) { return n * 1000; }
inline constexpr std::int64_t kib(std::int64_t n) { return n << 10; }
inline constexpr std::int64_t mib(std::int64_t n) { return n << 20; }

template <class E>
struct EnumName {
    E value;
    std::string_view name;
};

inline constexpr std::array<EnumName<LogLevel>, 7> log_level_names{{
    {LogLevel::trace, "trace"}, {LogLevel::debug, "debug"}, {LogLevel::info, "info"},
    {LogLevel::warn, "warn"}, {LogLevel::error, "error"}, {LogLevel::critical, "critical"},
    {LogLevel::off, "off"}}};
inline constexpr std::array<EnumName<ListenerType>, 4> listener_type_names{{
    {ListenerType::mqtt, "mqtt"}, {ListenerType::mqtts, "mqtts"}, {ListenerType::ws, "ws"},
    {ListenerType::wss, "wss"}}};
inline constexpr std::array<EnumName<Durability>, 3> durability_names{{
    {Durability::sync, "sync"}, {Durability::batched, "batched"}, {Durability::none, "none"}}};
inline constexpr std::array<EnumName<BridgeProtocol>, 2> bridge_protocol_names{{
    {BridgeProtocol::mqtt5, "mqtt5"}, {BridgeProtocol::mqtt311, "mqtt311"}}};
inline constexpr std::array<EnumName<BridgePreset>, 3> bridge_preset_names{{
    {BridgePreset::generic, "generic"}, {BridgePreset::aws_iot, "aws-iot"},
    {BridgePreset::azure_iot_hub, "azure-iot-hub"}}};
inline constexpr std::array<EnumName<QueueFullPolicy>, 2> queue_full_names{{
    {QueueFullPolicy::drop_oldest, "drop_oldest"}, {QueueFullPolicy::drop_new, "drop_new"}}};
inline constexpr std::array<EnumName<DrainOrder>, 3> drain_order_names{{
    {DrainOrder::interleaved, "interleaved"}, {DrainOrder::oldest_first, "oldest_first"},
    {DrainOrder::newest_first, "newest_first"}}};
inline constexpr std::array<EnumName<TopicDirection>, 3> topic_direction_names{{
    {TopicDirection::out, "out"}, {TopicDirection::in, "in"}, {TopicDirection::both, "both"}}};
inline constexpr std::array<EnumName<TopicPriority>, 2> topic_priority_names{{
    {TopicPriority::high, "high"}, {TopicPriority::normal, "normal"}}};
inline constexpr std::array<EnumName<Parity>, 3> parity_names{{
    {Parity::none, "N"}, {Parity::even, "E"}, {Parity::odd, "O"}}};
inline constexpr std::array<EnumName<PayloadFormat>, 2> payload_format_names{{
    {PayloadFormat::json, "json"}, {PayloadFormat::raw, "raw"}}};
inline constexpr std::array<EnumName<RegisterTable>, 4> register_table_names{{
    {RegisterTable::coil, "coil"}, {RegisterTable::discrete, "discrete"},
    {RegisterTable::holding, "holding"}, {RegisterTable::input, "input"}}};
inline constexpr std::array<EnumName<PointType>, 10> point_type_names{{
    {PointType::boolean, "bool"}, {PointType::int16, "int16"}, {PointType::uint16, "uint16"},
    {PointType::int32, "int32"}, {PointType::uint32, "uint32"}, {PointType::int64, "int64"},
    {PointType::uint64, "uint64"}, {PointType::float32, "float32"}, {PointType::float64, "float64"},
    {PointType::string, "string"}}};
inline constexpr std::array<EnumName<ByteOrder>, 4> byte_order_names{{
    {ByteOrder::abcd, "ABCD"}, {ByteOrder::dcba, "DCBA"}, {ByteOrder::badc, "BADC"},
    {ByteOrder::cdab, "CDAB"}}};

// names_of(E{}) finds the table for an enum type.
constexpr std::span<const EnumName<LogLevel>> names_of(LogLevel) { return log_level_names; }
constexpr std::span<const EnumName<ListenerType>> names_of(ListenerType) { return listener_type_names; }
constexpr std::span<const EnumName<Durability>> names_of(Durability) { return durability_names; }
constexpr std::span<const EnumName<BridgeProtocol>> names_of(BridgeProtocol) { return bridge_protocol_names; }
constexpr std::span<const EnumName<BridgePreset>> names_of(BridgePreset) { return bridge_preset_names; }
constexpr std::span<const EnumName<QueueFullPolicy>> names_of(QueueFullPolicy) { return queue_full_names; }
constexpr std::span<const EnumName<DrainOrder>> names_of(DrainOrder) { return drain_order_names; }
constexpr std::span<const EnumName<TopicDirection>> names_of(TopicDirection) { return topic_direction_names; }
constexpr std::span<const EnumName<TopicPriority>> names_of(TopicPriority) { return topic_priority_names; }
constexpr std::span<const EnumName<Parity>> names_of(Parity) { return parity_names; }
constexpr std::span<const EnumName<PayloadFormat>> names_of(PayloadFormat) { return payload_format_names; }
constexpr std::span<const EnumName<RegisterTable>> names_of(RegisterTable) { return register_table_names; }
constexpr std::span<const EnumName<PointType>> names_of(PointType) { return point_type_names; }
constexpr std::span<const EnumName<ByteOrder>> names_of(ByteOrder) { return byte_order_names; }

template <class E>
constexpr std::string_view name_of(E value) {
    for (const auto& n : names_of(E{})) {
        if (n.value == value) return n.name;
    }
    return {};
}

inline constexpr std::int64_t u16_max = 65535;
inline constexpr std::int64_t u32_max = std::numeric_limits<std::uint32_t>::max();

template <class V>
void describe(V& v, GatewayConfig& c) {
    v.field("name", c.name);
    v.field("state_dir", c.state_dir);
    v.field("workers", c.workers, {.max = 256});
    v.field("log_level", c.log_level, {.reloadable = true});
}

template <class V>
void describe(V& v, ListenerConfig& c) {
    v.field("type", c.type);
    v.field("bind", c.bind);
    v.field("path", c.path);
    v.field("cert", c.cert);
    v.field("key", c.key);
    v.field("client_ca", c.client_ca);
    v.field("require_client_cert", c.require_client_cert);
    v.field("use_cert_cn_as_username", c.use_cert_cn_as_username);
    v.field("allow_anonymous", c.allow_anonymous);
    v.field("max_connections", c.max_connections, {.max = 1'000'000});
}

template <class V>
void describe(V& v, AuthConfig& c) {
    v.field("password_file", c.password_file, {.reloadable = true});
    v.field("acl_file", c.acl_file, {.reloadable = true});
}

template <class V>
void describe(V& v, LimitsConfig& c) {
    v.field("max_connections", c.max_connections, {.min = 1, .max = 1'000'000});
    // 268,435,460 bytes: the largest packet MQTT can express.
    v.field("max_packet_size", c.max_packet_size, {.min = 64, .max = 268'435'460});
    v.field("max_inflight", c.max_inflight, {.min = 1, .max = u16_max});
    v.field("max_queued_messages", c.max_queued_messages, {.min = 1, .max = u32_max});
    v.field("max_keepalive", c.max_keepalive, {.min = seconds(1), .max = seconds(65535)});
    v.field("connect_timeout", c.connect_timeout, {.min = 100, .max = seconds(3600)});
}

template <class V>
void describe(V& v, PersistenceConfig& c) {
    v.field("durability", c.durability);
    v.field("commit_interval", c.commit_interval, {.min = 1, .max = seconds(60)});
    v.field("max_size", c.max_size);
}

template <class V>
void describe(V& v, HttpConfig& c) {
    v.field("bind", c.bind);
}

template <class V>
void describe(V& v, AzureConfig& c) {
    v.field("hub", c.hub, {.required = true});
    v.field("device_id", c.device_id, {.required = true});
    v.field("device_key_file", c.device_key_file, {.required = true});
    v.field("token_ttl", c.token_ttl, {.min = seconds(60), .max = seconds(86400 * 365)});
}

template <class V>
void describe(V& v, BridgeQueueConfig& c) {
    v.field("max_messages", c.max_messages, {.min = 1});
    v.field("max_bytes", c.max_bytes, {.min = kib(1)});
    v.field("max_age", c.max_age, {.min = seconds(1)});
    v.field("when_full", c.when_full);
    v.field("drain", c.drain);
    v.field("drain_rate", c.drain_rate, {.max = u32_max});
}

template <class V>
void describe(V& v, BridgeTopicConfig& c) {
    v.field("pattern", c.pattern, {.required = true});
    v.field("direction", c.direction);
    v.field("qos", c.qos, {.max = 2});
    v.field("local_prefix", c.local_prefix);
    v.field("remote_prefix", c.remote_prefix);
    v.field("remote", c.remote);
    v.field("priority", c.priority);
}

template <class V>
void describe(V& v, BridgeConfig& c) {
    v.field("name", c.name, {.required = true});
    v.field("addresses", c.addresses, {.required = true});
    v.field("protocol", c.protocol);
    v.field("client_id", c.client_id);
    v.field("clean_start", c.clean_start);
    v.field("session_expiry", c.session_expiry, {.max = seconds(u32_max)});
    v.field("keepalive", c.keepalive, {.min = seconds(1), .max = seconds(u16_max)});
    v.field("username", c.username);
    v.field("password_file", c.password_file);
    v.field("ca", c.ca);
    v.field("cert", c.cert);
    v.field("key", c.key);
    v.field("alpn", c.alpn);
    v.field("sni", c.sni);
    v.field("reconnect_min", c.reconnect_min, {.min = 100, .max = seconds(86400)});
    v.field("reconnect_max", c.reconnect_max, {.min = 100, .max = seconds(86400)});
    v.field("return_to_first", c.return_to_first, {.max = seconds(86400)});
    v.field("preset", c.preset);
    v.table("azure", c.azure);
    v.table("queue", c.queue);
    v.tables("topic", c.topics);
}

template <class V>
void describe(V& v, ModbusPointConfig& c) {
    v.field("name", c.name, {.required = true});
    v.field("table", c.table);
    v.field("address", c.address, {.required = true, .max = u16_max + 1});
    v.field("type", c.type);
    v.field("length", c.length, {.max = 246});  // 123 registers, the most one read returns
    v.field("byte_order", c.byte_order);
    v.field("scale", c.scale);
    v.field("offset", c.offset);
    v.field("unit", c.unit);
    v.field("deadband", c.deadband);
    v.field("poll_interval", c.poll_interval, {.min = 10});
    v.field("writable", c.writable);
}

template <class V>
void describe(V& v, ModbusConfig& c) {
    v.field("name", c.name, {.required = true});
    v.field("url", c.url, {.required = true});
    v.field("baud", c.baud, {.min = 50, .max = 4'000'000});
    v.field("parity", c.parity);
    v.field("data_bits", c.data_bits, {.min = 5, .max = 8});
    v.field("stop_bits", c.stop_bits, {.min = 1, .max = 2});
    v.field("unit_id", c.unit_id, {.max = 255});
    v.field("address_base", c.address_base, {.max = 1});
    v.field("poll_interval", c.poll_interval, {.min = 10});
    v.field("timeout", c.timeout, {.min = 10, .max = seconds(60)});
    v.field("retries", c.retries, {.max = 10});
    v.field("max_registers_per_request", c.max_registers_per_request, {.min = 1, .max = 125});
    v.field("topic", c.topic);
    v.field("payload", c.payload);
    v.tables("point", c.points);
}

template <class V>
void describe(V& v, SerialConfig& c) {
    v.field("name", c.name, {.required = true});
    v.field("device", c.device, {.required = true});
    v.field("baud", c.baud, {.min = 50, .max = 4'000'000});
    v.field("topic", c.topic);
    v.field("pattern", c.pattern);
}

template <class V>
void describe(V& v, Config& c) {
    v.table("gateway", c.gateway);
    v.tables("listener", c.listeners);
    v.table("auth", c.auth);
    v.table("limits", c.limits);
    v.table("persistence", c.persistence);
    v.table("http", c.http);
    v.tables("bridge", c.bridges);
    v.tables("modbus", c.modbus);
    v.tables("serial", c.serial);
}

}  // namespace fieldgate::config
