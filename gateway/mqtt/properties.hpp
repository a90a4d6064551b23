#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "gateway/mqtt/packet_type.hpp"

namespace fieldgate::mqtt {

// Binary data on the wire (payloads, passwords, correlation data). A view, like
// the strings: decoded packets point into the parser's buffer.
using BinaryView = std::string_view;

// MQTT 5 property identifiers [MQTT 5.0, 2.2.2.2].
enum class PropertyId : std::uint8_t {
    payload_format_indicator = 0x01,
    message_expiry_interval = 0x02,
    content_type = 0x03,
    response_topic = 0x08,
    correlation_data = 0x09,
    subscription_identifier = 0x0B,
    session_expiry_interval = 0x11,
    assigned_client_identifier = 0x12,
    server_keep_alive = 0x13,
    authentication_method = 0x15,
    authentication_data = 0x16,
    request_problem_information = 0x17,
    will_delay_interval = 0x18,
    request_response_information = 0x19,
    response_information = 0x1A,
    server_reference = 0x1C,
    reason_string = 0x1F,
    receive_maximum = 0x21,
    topic_alias_maximum = 0x22,
    topic_alias = 0x23,
    maximum_qos = 0x24,
    retain_available = 0x25,
    user_property = 0x26,
    maximum_packet_size = 0x27,
    wildcard_subscription_available = 0x28,
    subscription_identifier_available = 0x29,
    shared_subscription_available = 0x2A,
};

enum class PropertyType : std::uint8_t {
    byte,
    two_byte_integer,
    four_byte_integer,
    variable_byte_integer,
    utf8_string,
    binary_data,
    utf8_string_pair,
};

// Where a property list sits: a packet type, or the will properties of CONNECT.
enum class PropertyScope : std::uint8_t {
    will = 0,  // packet type 0 is reserved, so the value is free
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    disconnect = 14,
    auth = 15,
};

inline constexpr PropertyScope scope_of(PacketType type) {
    return static_cast<PropertyScope>(static_cast<std::uint8_t>(type));
}

struct PropertyInfo {
    PropertyId id;
    PropertyType type;
    std::uint16_t scopes;  // bit (1 << PropertyScope) for each scope that may carry it
    std::string_view name;

    constexpr bool allowed_in(PropertyScope s) const {
        return (scopes & (1u << static_cast<unsigned>(s))) != 0;
    }
};

// The spec's table entry for an identifier, or nullptr when the identifier is unknown.
const PropertyInfo* find_property(std::uint8_t id);

struct UserProperty {
    std::string_view name;
    std::string_view value;
    bool operator==(const UserProperty&) const = default;
};

// The properties of one packet (or of a will). Unset optionals are absent on
// the wire. The member type fixes the wire type: uint8_t Byte, uint16_t Two Byte
// Integer, uint32_t Four Byte Integer, vector<uint32_t> Variable Byte Integers,
// string_view UTF-8 string, BinaryView binary data, UserProperty string pair.
struct Properties {
    std::optional<std::uint8_t> payload_format_indicator;
    std::optional<std::uint32_t> message_expiry_interval;
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> response_topic;
    std::optional<BinaryView> correlation_data;
    // Once in SUBSCRIBE; possibly several in a PUBLISH to a client [MQTT-3.3.4-3].
    std::vector<std::uint32_t> subscription_identifiers;
    std::optional<std::uint32_t> session_expiry_interval;
    std::optional<std::string_view> assigned_client_identifier;
    std::optional<std::uint16_t> server_keep_alive;
    std::optional<std::string_view> authentication_method;
    std::optional<BinaryView> authentication_data;
    std::optional<std::uint8_t> request_problem_information;
    std::optional<std::uint32_t> will_delay_interval;
    std::optional<std::uint8_t> request_response_information;
    std::optional<std::string_view> response_information;
    std::optional<std::string_view> server_reference;
    std::optional<std::string_view> reason_string;
    std::optional<std::uint16_t> receive_maximum;
    std::optional<std::uint16_t> topic_alias_maximum;
    std::optional<std::uint16_t> topic_alias;
    std::optional<std::uint8_t> maximum_qos;
    std::optional<std::uint8_t> retain_available;
    std::vector<UserProperty> user_properties;
    std::optional<std::uint32_t> maximum_packet_size;
    std::optional<std::uint8_t> wildcard_subscription_available;
    std::optional<std::uint8_t> subscription_identifier_available;
    std::optional<std::uint8_t> shared_subscription_available;

    bool operator==(const Properties&) const = default;
};

// Calls f(PropertyId, member) for every member, in identifier order. The one
// place that ties identifiers to members; the decoder and encoder both use it.
template <class Props, class F>
constexpr void for_each_property(Props& p, F&& f) {
    f(PropertyId::payload_format_indicator, p.payload_format_indicator);
    f(PropertyId::message_expiry_interval, p.message_expiry_interval);
    f(PropertyId::content_type, p.content_type);
    f(PropertyId::response_topic, p.response_topic);
    f(PropertyId::correlation_data, p.correlation_data);
    f(PropertyId::subscription_identifier, p.subscription_identifiers);
    f(PropertyId::session_expiry_interval, p.session_expiry_interval);
    f(PropertyId::assigned_client_identifier, p.assigned_client_identifier);
    f(PropertyId::server_keep_alive, p.server_keep_alive);
    f(PropertyId::authentication_method, p.authentication_method);
    f(PropertyId::authentication_data, p.authentication_data);
    f(PropertyId::request_problem_information, p.request_problem_information);
    f(PropertyId::will_delay_interval, p.will_delay_interval);
    f(PropertyId::request_response_information, p.request_response_information);
    f(PropertyId::response_information, p.response_information);
    f(PropertyId::server_reference, p.server_reference);
    f(PropertyId::reason_string, p.reason_string);
    f(PropertyId::receive_maximum, p.receive_maximum);
    f(PropertyId::topic_alias_maximum, p.topic_alias_maximum);
    f(PropertyId::topic_alias, p.topic_alias);
    f(PropertyId::maximum_qos, p.maximum_qos);
    f(PropertyId::retain_available, p.retain_available);
    f(PropertyId::user_property, p.user_properties);
    f(PropertyId::maximum_packet_size, p.maximum_packet_size);
    f(PropertyId::wildcard_subscription_available, p.wildcard_subscription_available);
    f(PropertyId::subscription_identifier_available, p.subscription_identifier_available);
    f(PropertyId::shared_subscription_available, p.shared_subscription_available);
}

}  // namespace fieldgate::mqtt
