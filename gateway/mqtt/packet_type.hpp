#pragma once

#include <cstdint>
#include <string_view>

namespace fieldgate::mqtt {

// Control packet types, the high nibble of the fixed header [MQTT 5.0, 2.1.2].
enum class PacketType : std::uint8_t {
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
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
    auth = 15,  // MQTT 5 only
};

std::string_view to_string(PacketType type);

}  // namespace fieldgate::mqtt
