#pragma once

#include <cstdint>
#include <string_view>

namespace fieldgate::mqtt {

// The protocol level byte of CONNECT.
enum class ProtocolVersion : std::uint8_t {
    v3_1 = 3,    // protocol name "MQIsdp"
    v3_1_1 = 4,  // protocol name "MQTT"
    v5 = 5,      // protocol name "MQTT"
};

inline constexpr bool is_v5(ProtocolVersion v) { return v == ProtocolVersion::v5; }

inline constexpr std::string_view protocol_name(ProtocolVersion v) {
    return v == ProtocolVersion::v3_1 ? "MQIsdp" : "MQTT";
}

inline constexpr std::string_view to_string(ProtocolVersion v) {
    switch (v) {
        case ProtocolVersion::v3_1: return "3.1";
        case ProtocolVersion::v3_1_1: return "3.1.1";
        case ProtocolVersion::v5: return "5.0";
    }
    return "?";
}

enum class QoS : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };

}  // namespace fieldgate::mqtt
