#include "bench/loadgen/packets.hpp"

#include <stdexcept>

namespace fieldgate::bench {

namespace {

std::vector<std::uint8_t> encoded(const mqtt::Packet& packet, mqtt::ProtocolVersion version) {
    std::vector<std::uint8_t> out;
    mqtt::encode(packet, version, out);
    return out;
}

// Where the packet id sits: encode with two ids and find the bytes that differ,
// rather than re-deriving the layout the codec already knows.
template <class Make>
std::size_t packet_id_offset(Make make) {
    const auto a = make(std::uint16_t{0x0102});
    const auto b = make(std::uint16_t{0x0304});
    if (a.size() != b.size()) throw std::logic_error("packet size depends on the packet id");
    for (std::size_t i = 0; i + 1 < a.size(); ++i) {
        if (a[i] == 0x01 && a[i + 1] == 0x02 && b[i] == 0x03 && b[i + 1] == 0x04) return i;
    }
    throw std::logic_error("packet id not found in the encoded packet");
}

}  // namespace

PacketTemplate publish_template(mqtt::ProtocolVersion version, const std::string& topic, mqtt::QoS qos,
                                std::size_t payload_size) {
    if (payload_size < Stamp::size) throw std::invalid_argument("payload must hold at least 20 bytes");
    const std::string payload(payload_size, 'x');
    auto make = [&](std::uint16_t id) {
        mqtt::Publish p;
        p.qos = qos;
        p.topic = topic;
        p.packet_id = qos == mqtt::QoS::at_most_once ? std::uint16_t{0} : id;
        p.payload = payload;
        return encoded(p, version);
    };
    PacketTemplate t;
    t.bytes = make(1);
    t.payload_offset = t.bytes.size() - payload_size;  // the payload ends the packet
    // QoS 0 has no packet id: point the patch at the first payload bytes, which
    // the stamp overwrites anyway.
    t.packet_id_offset = qos == mqtt::QoS::at_most_once ? t.payload_offset : packet_id_offset(make);
    return t;
}

PacketTemplate puback_template(mqtt::ProtocolVersion version) {
    auto make = [&](std::uint16_t id) { return encoded(mqtt::Puback{id}, version); };
    PacketTemplate t;
    t.bytes = make(1);
    t.packet_id_offset = packet_id_offset(make);
    return t;
}

std::vector<std::uint8_t> connect_packet(mqtt::ProtocolVersion version, const std::string& client_id,
                                         std::uint16_t keep_alive, bool clean, std::uint32_t session_expiry) {
    mqtt::Connect c;
    c.version = version;
    c.clean_start = clean;
    c.keep_alive = keep_alive;
    c.client_id = client_id;
    if (mqtt::is_v5(version)) {
        c.properties.receive_maximum = 65535;
        if (!clean) c.properties.session_expiry_interval = session_expiry;
    }
    return encoded(c, version);
}

std::vector<std::uint8_t> subscribe_packet(mqtt::ProtocolVersion version, std::uint16_t packet_id,
                                           const std::string& filter, mqtt::QoS qos) {
    mqtt::Subscribe s;
    s.packet_id = packet_id;
    mqtt::Subscription sub;
    sub.filter = filter;
    sub.options.qos = qos;
    s.subscriptions.push_back(sub);
    return encoded(s, version);
}

std::vector<std::uint8_t> disconnect_packet(mqtt::ProtocolVersion version) {
    return encoded(mqtt::Disconnect{}, version);
}

}  // namespace fieldgate::bench
