#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gateway/mqtt/codec.hpp"

// The packets the generator sends, encoded once with fieldgate's codec; on the
// hot path a packet is a copy of its template with the packet id (and the
// payload's stamp) written in place.
namespace fieldgate::bench {

// An encoded packet with the position of its 2-byte packet id.
struct PacketTemplate {
    std::vector<std::uint8_t> bytes;
    std::size_t packet_id_offset = 0;
    std::size_t payload_offset = 0;  // PUBLISH only

    // Appends a copy with `packet_id`; returns where the copy starts in `out`.
    std::size_t append_to(std::vector<std::uint8_t>& out, std::uint16_t packet_id) const {
        const std::size_t at = out.size();
        out.insert(out.end(), bytes.begin(), bytes.end());
        out[at + packet_id_offset] = static_cast<std::uint8_t>(packet_id >> 8);
        out[at + packet_id_offset + 1] = static_cast<std::uint8_t>(packet_id & 0xFF);
        return at;
    }
};

// What the generator writes at the front of every payload: which publisher
// sent it, its sequence number there, and when it was (due to be) sent, for
// loss, order and latency at the subscriber.
struct Stamp {
    std::uint64_t sequence = 0;
    std::int64_t sent_ns = 0;  // steady clock
    std::uint32_t publisher = 0;

    static constexpr std::size_t size = 20;

    void write(std::uint8_t* at) const {
        std::memcpy(at, &sequence, 8);
        std::memcpy(at + 8, &sent_ns, 8);
        std::memcpy(at + 16, &publisher, 4);
    }
    static Stamp read(const char* at) {
        Stamp s;
        std::memcpy(&s.sequence, at, 8);
        std::memcpy(&s.sent_ns, at + 8, 8);
        std::memcpy(&s.publisher, at + 16, 4);
        return s;
    }
};

// PUBLISH of `payload_size` bytes (at least Stamp::size) to `topic`.
PacketTemplate publish_template(mqtt::ProtocolVersion version, const std::string& topic, mqtt::QoS qos,
                                std::size_t payload_size);
PacketTemplate puback_template(mqtt::ProtocolVersion version);
// clean = false asks for a persistent session: clean session 0 (3.1.1), or
// clean start 0 with `session_expiry` seconds (MQTT 5).
std::vector<std::uint8_t> connect_packet(mqtt::ProtocolVersion version, const std::string& client_id,
                                         std::uint16_t keep_alive, bool clean = true, std::uint32_t session_expiry = 0);
std::vector<std::uint8_t> subscribe_packet(mqtt::ProtocolVersion version, std::uint16_t packet_id,
                                           const std::string& filter, mqtt::QoS qos);
std::vector<std::uint8_t> disconnect_packet(mqtt::ProtocolVersion version);

}  // namespace fieldgate::bench
