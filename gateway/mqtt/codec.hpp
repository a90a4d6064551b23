#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "gateway/mqtt/packets.hpp"

namespace fieldgate::mqtt {

// The largest packet the remaining-length field can describe: 268,435,455 bytes
// of body plus a 5-byte fixed header [MQTT 5.0, 1.5.5].
inline constexpr std::uint32_t max_remaining_length = 268'435'455;
inline constexpr std::uint32_t max_packet_size_limit = max_remaining_length + 5;

// Why a packet was refused: the reason code the spec requires (0x81 Malformed
// Packet, 0x82 Protocol Error, ...) and a fixed English text for logs.
struct DecodeError {
    ReasonCode code = ReasonCode::malformed_packet;
    std::string_view message;
    // The version to answer in. For a CONNECT it is the version the packet asked
    // for (3.1.1 when the level is unknown), so the CONNACK can be sent in kind.
    ProtocolVersion version = ProtocolVersion::v3_1_1;
};

enum class DecodeStatus : std::uint8_t { packet, need_more, error };

struct DecodeResult {
    DecodeStatus status = DecodeStatus::need_more;
    Packet packet;          // status == packet
    std::size_t size = 0;   // status == packet: bytes the packet took
    DecodeError error;      // status == error
};

// Decodes the packet at the front of `bytes`. A CONNECT is decoded in the
// version it names; every other packet in `version`. A packet whose total size
// exceeds `max_packet_size` is refused (0x95) from its fixed header alone.
DecodeResult decode(std::span<const std::uint8_t> bytes, ProtocolVersion version,
                    std::uint32_t max_packet_size = max_packet_size_limit);

// Appends the encoded packet to `out` and returns the bytes appended. Fields the
// version cannot carry are left out (properties before MQTT 5) or mapped (reason
// codes onto 3.1.1 return codes). AUTH has no form before MQTT 5: nothing is
// appended and 0 is returned.
std::size_t encode(const Packet& packet, ProtocolVersion version, std::vector<std::uint8_t>& out);
std::size_t encode(const Publish& packet, ProtocolVersion version, std::vector<std::uint8_t>& out);

// The size encode() would append.
std::size_t encoded_size(const Packet& packet, ProtocolVersion version);

}  // namespace fieldgate::mqtt
