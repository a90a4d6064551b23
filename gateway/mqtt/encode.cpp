// Encoding of every control packet. Each body is written by one function that
// runs twice: first into a counter (to learn the remaining length), then into
// the output buffer, so sizes are never computed by a second, parallel code path.
#include "gateway/mqtt/codec.hpp"

namespace fieldgate::mqtt {
namespace {

// Appends to a buffer, or only counts when it has none.
class Writer {
public:
    explicit Writer(std::vector<std::uint8_t>* out = nullptr) : out_(out) {}

    std::size_t size() const { return size_; }

    void u8(std::uint8_t v) {
        ++size_;
        if (out_) out_->push_back(v);
    }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void varint(std::uint32_t v) {
        do {
            auto b = static_cast<std::uint8_t>(v & 0x7F);
            v >>= 7;
            if (v != 0) b |= 0x80;
            u8(b);
        } while (v != 0);
    }
    void raw(std::string_view v) {
        size_ += v.size();
        if (out_) out_->insert(out_->end(), v.begin(), v.end());
    }
    // Strings and binary data longer than 65,535 bytes cannot be encoded; the
    // callers (config, broker) bound them before they reach the codec.
    void prefixed(std::string_view v) {
        u16(static_cast<std::uint16_t>(v.size()));
        raw(v.substr(0, 0xFFFF));
    }

private:
    std::vector<std::uint8_t>* out_;
    std::size_t size_ = 0;
};

// One property's identifier and value; the member's type selects the wire type.
void put(Writer& w, PropertyId id, const std::optional<std::uint8_t>& v) {
    if (v) { w.u8(static_cast<std::uint8_t>(id)); w.u8(*v); }
}
void put(Writer& w, PropertyId id, const std::optional<std::uint16_t>& v) {
    if (v) { w.u8(static_cast<std::uint8_t>(id)); w.u16(*v); }
}
void put(Writer& w, PropertyId id, const std::optional<std::uint32_t>& v) {
    if (v) { w.u8(static_cast<std::uint8_t>(id)); w.u32(*v); }
}
void put(Writer& w, PropertyId id, const std::optional<std::string_view>& v) {
    if (v) { w.u8(static_cast<std::uint8_t>(id)); w.prefixed(*v); }
}
void put(Writer& w, PropertyId id, const std::vector<std::uint32_t>& values) {
    for (auto v : values) { w.u8(static_cast<std::uint8_t>(id)); w.varint(v); }
}
void put(Writer& w, PropertyId id, const std::vector<UserProperty>& users) {
    for (const auto& u : users) {
        w.u8(static_cast<std::uint8_t>(id));
        w.prefixed(u.name);
        w.prefixed(u.value);
    }
}

void put_property_list(Writer& w, const Properties& props) {
    for_each_property(props, [&](PropertyId id, const auto& field) { put(w, id, field); });
}

// Property Length, then the properties [MQTT 5.0, 2.2.2].
void put_properties(Writer& w, const Properties& props) {
    Writer counter;
    put_property_list(counter, props);
    w.varint(static_cast<std::uint32_t>(counter.size()));
    put_property_list(w, props);
}

bool has_properties(const Properties& props) {
    bool any = false;
    for_each_property(props, [&](PropertyId, const auto& field) {
        if constexpr (requires { field.has_value(); }) {
            any = any || field.has_value();
        } else {
            any = any || !field.empty();
        }
    });
    return any;
}

struct Body {
    Writer& w;
    ProtocolVersion version;

    bool v5() const { return is_v5(version); }

    void operator()(const Connect& c) const {
        w.prefixed(protocol_name(version));
        w.u8(static_cast<std::uint8_t>(version));
        std::uint8_t flags = c.clean_start ? 0x02 : 0x00;
        if (c.will) {
            flags |= static_cast<std::uint8_t>(0x04 | (static_cast<unsigned>(c.will->qos) << 3));
            if (c.will->retain) flags |= 0x20;
        }
        if (c.password) flags |= 0x40;
        if (c.username) flags |= 0x80;
        w.u8(flags);
        w.u16(c.keep_alive);
        if (v5()) put_properties(w, c.properties);
        w.prefixed(c.client_id);
        if (c.will) {
            if (v5()) put_properties(w, c.will->properties);
            w.prefixed(c.will->topic);
            w.prefixed(c.will->payload);
        }
        if (c.username) w.prefixed(*c.username);
        if (c.password) w.prefixed(*c.password);
    }

    void operator()(const Connack& c) const {
        // MQTT 3.1 has no session present flag; the byte is reserved.
        w.u8(c.session_present && version != ProtocolVersion::v3_1 ? 0x01 : 0x00);
        if (v5()) {
            w.u8(static_cast<std::uint8_t>(c.reason_code));
            put_properties(w, c.properties);
        } else {
            w.u8(static_cast<std::uint8_t>(to_connect_return_code(c.reason_code)));
        }
    }

    void operator()(const Publish& p) const {
        w.prefixed(p.topic);
        if (p.qos != QoS::at_most_once) w.u16(p.packet_id);
        if (v5()) put_properties(w, p.properties);
        w.raw(p.payload);
    }

    template <PacketType Type>
    void operator()(const Ack<Type>& a) const {
        w.u16(a.packet_id);
        reason_and_properties(a.reason_code, a.properties);
    }

    void operator()(const Subscribe& s) const {
        w.u16(s.packet_id);
        if (v5()) put_properties(w, s.properties);
        for (const auto& sub : s.subscriptions) {
            w.prefixed(sub.filter);
            auto options = static_cast<std::uint8_t>(sub.options.qos);
            if (v5()) {
                if (sub.options.no_local) options |= 0x04;
                if (sub.options.retain_as_published) options |= 0x08;
                options |= static_cast<std::uint8_t>(static_cast<unsigned>(sub.options.retain_handling) << 4);
            }
            w.u8(options);
        }
    }

    void operator()(const Suback& s) const {
        w.u16(s.packet_id);
        if (v5()) put_properties(w, s.properties);
        for (auto rc : s.reason_codes) {
            // 3.1.1 knows only the granted QoS and 0x80 Failure [MQTT-3.9.3-2].
            w.u8(v5() || !is_error(rc) ? static_cast<std::uint8_t>(rc) : std::uint8_t{0x80});
        }
    }

    void operator()(const Unsubscribe& u) const {
        w.u16(u.packet_id);
        if (v5()) put_properties(w, u.properties);
        for (auto filter : u.filters) w.prefixed(filter);
    }

    void operator()(const Unsuback& u) const {
        w.u16(u.packet_id);
        if (!v5()) return;
        put_properties(w, u.properties);
        for (auto rc : u.reason_codes) w.u8(static_cast<std::uint8_t>(rc));
    }

    void operator()(const Pingreq&) const {}
    void operator()(const Pingresp&) const {}

    void operator()(const Disconnect& d) const { reason_and_properties(d.reason_code, d.properties); }
    void operator()(const Auth& a) const { reason_and_properties(a.reason_code, a.properties); }

    // The reason code and properties of MQTT 5 acknowledgements, DISCONNECT and
    // AUTH, left out when they are Success and none [MQTT 5.0, 3.4.2.1].
    void reason_and_properties(ReasonCode rc, const Properties& props) const {
        if (!v5()) return;
        const bool properties = has_properties(props);
        if (rc == ReasonCode::success && !properties) return;
        w.u8(static_cast<std::uint8_t>(rc));
        if (properties) put_properties(w, props);
    }
};

std::uint8_t publish_first_byte(const Publish& p) {
    return static_cast<std::uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (static_cast<unsigned>(p.qos) << 1) |
                                     (p.retain ? 0x01 : 0));
}

std::uint8_t first_byte(const Packet& packet) {
    if (const auto* p = std::get_if<Publish>(&packet)) return publish_first_byte(*p);
    const auto type = static_cast<std::uint8_t>(static_cast<unsigned>(type_of(packet)) << 4);
    const bool needs_0010 = std::holds_alternative<Pubrel>(packet) ||
                            std::holds_alternative<Subscribe>(packet) ||
                            std::holds_alternative<Unsubscribe>(packet);
    return static_cast<std::uint8_t>(type | (needs_0010 ? 0x02 : 0x00));
}

template <class P>
std::size_t encode_packet(const P& packet, std::uint8_t first, ProtocolVersion version,
                          std::vector<std::uint8_t>* out) {
    Writer counter;
    Body{counter, version}(packet);
    const auto remaining = static_cast<std::uint32_t>(counter.size());

    // No reserve(): the buffer holds everything queued for a connection, and an
    // exact reserve per packet would copy all of it again for every packet.
    Writer w{out};
    w.u8(first);
    w.varint(remaining);
    if (out) Body{w, version}(packet);
    return w.size() + (out ? 0 : remaining);
}

std::size_t encode_any(const Packet& packet, ProtocolVersion version, std::vector<std::uint8_t>* out) {
    if (std::holds_alternative<Auth>(packet) && !is_v5(version)) return 0;
    return std::visit([&](const auto& p) { return encode_packet(p, first_byte(packet), version, out); },
                      packet);
}

}  // namespace

std::size_t encode(const Packet& packet, ProtocolVersion version, std::vector<std::uint8_t>& out) {
    return encode_any(packet, version, &out);
}

std::size_t encode(const Publish& packet, ProtocolVersion version, std::vector<std::uint8_t>& out) {
    return encode_packet(packet, publish_first_byte(packet), version, &out);
}

std::size_t encoded_size(const Packet& packet, ProtocolVersion version) {
    return encode_any(packet, version, nullptr);
}

}  // namespace fieldgate::mqtt
