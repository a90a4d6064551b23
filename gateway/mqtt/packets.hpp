#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/mqtt/packet_type.hpp"
#include "gateway/mqtt/properties.hpp"
#include "gateway/mqtt/reason_code.hpp"
#include "gateway/mqtt/version.hpp"

namespace fieldgate::mqtt {

// The control packets as plain structs. Strings and binary fields are views:
// a decoded packet points into the parser's buffer and is valid until the
// parser is fed again; a packet to encode points at storage its caller owns.
// Properties are carried only by MQTT 5 and ignored when encoding for 3.1/3.1.1.

struct Will {
    std::string_view topic;
    BinaryView payload;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    Properties properties;  // the will properties (MQTT 5)
    bool operator==(const Will&) const = default;
};

struct Connect {
    ProtocolVersion version = ProtocolVersion::v5;
    bool clean_start = true;  // "clean session" before MQTT 5
    std::uint16_t keep_alive = 0;  // seconds
    std::string_view client_id;
    std::optional<Will> will;
    std::optional<std::string_view> username;
    std::optional<BinaryView> password;
    Properties properties;
    bool operator==(const Connect&) const = default;
};

struct Connack {
    bool session_present = false;
    // 3.1/3.1.1 return codes are mapped onto reason codes (from_connect_return_code).
    ReasonCode reason_code = ReasonCode::success;
    Properties properties;
    bool operator==(const Connack&) const = default;
};

struct Publish {
    bool dup = false;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    std::string_view topic;  // may be empty in MQTT 5 when a topic alias is set
    std::uint16_t packet_id = 0;  // QoS 1 and 2 only
    Properties properties;
    BinaryView payload;
    bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape; the tag keeps them
// distinct types in the Packet variant.
template <PacketType Type>
struct Ack {
    static constexpr PacketType type = Type;
    std::uint16_t packet_id = 0;
    ReasonCode reason_code = ReasonCode::success;
    Properties properties;
    bool operator==(const Ack&) const = default;
};
using Puback = Ack<PacketType::puback>;
using Pubrec = Ack<PacketType::pubrec>;
using Pubrel = Ack<PacketType::pubrel>;
using Pubcomp = Ack<PacketType::pubcomp>;

enum class RetainHandling : std::uint8_t {
    send_on_subscribe = 0,
    send_if_new_subscription = 1,
    do_not_send = 2,
};

struct SubscriptionOptions {
    QoS qos = QoS::at_most_once;
    bool no_local = false;  // MQTT 5 options below
    bool retain_as_published = false;
    RetainHandling retain_handling = RetainHandling::send_on_subscribe;
    bool operator==(const SubscriptionOptions&) const = default;
};

struct Subscription {
    std::string_view filter;
    SubscriptionOptions options;
    bool operator==(const Subscription&) const = default;
};

struct Subscribe {
    std::uint16_t packet_id = 0;
    Properties properties;
    std::vector<Subscription> subscriptions;
    bool operator==(const Subscribe&) const = default;
};

struct Suback {
    std::uint16_t packet_id = 0;
    Properties properties;
    // 3.1.1 return codes 0x00-0x02 and 0x80 are the same values as reason codes.
    std::vector<ReasonCode> reason_codes;
    bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
    std::uint16_t packet_id = 0;
    Properties properties;
    std::vector<std::string_view> filters;
    bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
    std::uint16_t packet_id = 0;
    Properties properties;
    std::vector<ReasonCode> reason_codes;  // MQTT 5 only; empty before
    bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
    bool operator==(const Pingreq&) const = default;
};

struct Pingresp {
    bool operator==(const Pingresp&) const = default;
};

struct Disconnect {
    ReasonCode reason_code = ReasonCode::success;  // MQTT 5 only
    Properties properties;
    bool operator==(const Disconnect&) const = default;
};

struct Auth {  // MQTT 5 only
    ReasonCode reason_code = ReasonCode::success;
    Properties properties;
    bool operator==(const Auth&) const = default;
};

// Alternatives in packet type order: index() + 1 is the packet type.
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe,
                            Suback, Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

inline PacketType type_of(const Packet& p) {
    return static_cast<PacketType>(p.index() + 1);
}

}  // namespace fieldgate::mqtt
