#include "gateway/mqtt/reason_code.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace fieldgate::mqtt {
namespace {

struct ReasonEntry {
    std::uint8_t code;
    std::string_view name;
};

// [MQTT 5.0, 2.4, Table 2-6]
constexpr std::array<ReasonEntry, 43> reason_names{{
    {0x00, "Success"},
    {0x01, "Granted QoS 1"},
    {0x02, "Granted QoS 2"},
    {0x04, "Disconnect with Will Message"},
    {0x10, "No matching subscribers"},
    {0x11, "No subscription existed"},
    {0x18, "Continue authentication"},
    {0x19, "Re-authenticate"},
    {0x80, "Unspecified error"},
    {0x81, "Malformed Packet"},
    {0x82, "Protocol Error"},
    {0x83, "Implementation specific error"},
    {0x84, "Unsupported Protocol Version"},
    {0x85, "Client Identifier not valid"},
    {0x86, "Bad User Name or Password"},
    {0x87, "Not authorized"},
    {0x88, "Server unavailable"},
    {0x89, "Server busy"},
    {0x8A, "Banned"},
    {0x8B, "Server shutting down"},
    {0x8C, "Bad authentication method"},
    {0x8D, "Keep Alive timeout"},
    {0x8E, "Session taken over"},
    {0x8F, "Topic Filter invalid"},
    {0x90, "Topic Name invalid"},
    {0x91, "Packet Identifier in use"},
    {0x92, "Packet Identifier not found"},
    {0x93, "Receive Maximum exceeded"},
    {0x94, "Topic Alias invalid"},
    {0x95, "Packet too large"},
    {0x96, "Message rate too high"},
    {0x97, "Quota exceeded"},
    {0x98, "Administrative action"},
    {0x99, "Payload format invalid"},
    {0x9A, "Retain not supported"},
    {0x9B, "QoS not supported"},
    {0x9C, "Use another server"},
    {0x9D, "Server moved"},
    {0x9E, "Shared Subscriptions not supported"},
    {0x9F, "Connection rate exceeded"},
    {0xA0, "Maximum connect time"},
    {0xA1, "Subscription Identifiers not supported"},
    {0xA2, "Wildcard Subscriptions not supported"},
}};

// The codes each packet may carry [MQTT 5.0, 2.4, Table 2-6 "Packets" column].
constexpr std::uint8_t connack_codes[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
                                          0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A,
                                          0x9B, 0x9C, 0x9D, 0x9F};
constexpr std::uint8_t puback_codes[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
constexpr std::uint8_t pubrel_codes[] = {0x00, 0x92};
constexpr std::uint8_t suback_codes[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                         0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr std::uint8_t unsuback_codes[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr std::uint8_t disconnect_codes[] = {
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr std::uint8_t auth_codes[] = {0x00, 0x18, 0x19};

template <std::size_t N>
bool contains(const std::uint8_t (&codes)[N], std::uint8_t rc) {
    return std::find(std::begin(codes), std::end(codes), rc) != std::end(codes);
}

class ReasonCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "mqtt"; }
    std::string message(int value) const override {
        return std::string(reason_name(static_cast<ReasonCode>(value)));
    }
};

}  // namespace

std::string_view reason_name(ReasonCode rc) {
    const auto code = static_cast<std::uint8_t>(rc);
    for (const auto& e : reason_names) {
        if (e.code == code) return e.name;
    }
    return "Unknown reason code";
}

bool is_valid_reason_code(PacketType type, std::uint8_t rc) {
    switch (type) {
        case PacketType::connack: return contains(connack_codes, rc);
        case PacketType::puback:
        case PacketType::pubrec: return contains(puback_codes, rc);
        case PacketType::pubrel:
        case PacketType::pubcomp: return contains(pubrel_codes, rc);
        case PacketType::suback: return contains(suback_codes, rc);
        case PacketType::unsuback: return contains(unsuback_codes, rc);
        case PacketType::disconnect: return contains(disconnect_codes, rc);
        case PacketType::auth: return contains(auth_codes, rc);
        default: return false;
    }
}

ConnectReturnCode to_connect_return_code(ReasonCode rc) {
    switch (rc) {
        case ReasonCode::success: return ConnectReturnCode::accepted;
        case ReasonCode::unsupported_protocol_version: return ConnectReturnCode::unacceptable_protocol_version;
        case ReasonCode::client_identifier_not_valid: return ConnectReturnCode::identifier_rejected;
        case ReasonCode::bad_user_name_or_password:
        case ReasonCode::bad_authentication_method: return ConnectReturnCode::bad_user_name_or_password;
        case ReasonCode::not_authorized:
        case ReasonCode::banned: return ConnectReturnCode::not_authorized;
        default: return ConnectReturnCode::server_unavailable;
    }
}

ReasonCode from_connect_return_code(ConnectReturnCode rc) {
    switch (rc) {
        case ConnectReturnCode::accepted: return ReasonCode::success;
        case ConnectReturnCode::unacceptable_protocol_version: return ReasonCode::unsupported_protocol_version;
        case ConnectReturnCode::identifier_rejected: return ReasonCode::client_identifier_not_valid;
        case ConnectReturnCode::server_unavailable: return ReasonCode::server_unavailable;
        case ConnectReturnCode::bad_user_name_or_password: return ReasonCode::bad_user_name_or_password;
        case ConnectReturnCode::not_authorized: return ReasonCode::not_authorized;
    }
    return ReasonCode::unspecified_error;
}

const std::error_category& reason_category() {
    static const ReasonCategory category;
    return category;
}

}  // namespace fieldgate::mqtt
