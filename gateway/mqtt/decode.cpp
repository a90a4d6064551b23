// Decoding of every control packet of MQTT 3.1, 3.1.1 and 5.0. Every read is
// bounds-checked against the packet's declared length, and every rule the specs
// give for a receiver is checked here, each failure mapped to the reason code
// the spec names (0x81 for structure, 0x82 for protocol rules, ...).
#include "gateway/mqtt/codec.hpp"
#include "gateway/mqtt/topic.hpp"
#include "gateway/mqtt/utf8.hpp"

namespace fieldgate::mqtt {
namespace {

using Bytes = std::span<const std::uint8_t>;
using RC = ReasonCode;

// Reads fields from the front of a byte span; every read fails, consuming
// nothing, when the span is too short.
class Reader {
public:
    explicit Reader(Bytes bytes) : bytes_(bytes) {}

    std::size_t remaining() const { return bytes_.size(); }
    bool empty() const { return bytes_.empty(); }

    bool u8(std::uint8_t& v) {
        if (bytes_.empty()) return false;
        v = bytes_[0];
        bytes_ = bytes_.subspan(1);
        return true;
    }
    bool u16(std::uint16_t& v) {
        if (bytes_.size() < 2) return false;
        v = static_cast<std::uint16_t>((bytes_[0] << 8) | bytes_[1]);
        bytes_ = bytes_.subspan(2);
        return true;
    }
    bool u32(std::uint32_t& v) {
        if (bytes_.size() < 4) return false;
        v = (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
            (std::uint32_t{bytes_[2]} << 8) | std::uint32_t{bytes_[3]};
        bytes_ = bytes_.subspan(4);
        return true;
    }
    bool raw(std::size_t n, std::string_view& v) {
        if (bytes_.size() < n) return false;
        v = {reinterpret_cast<const char*>(bytes_.data()), n};
        bytes_ = bytes_.subspan(n);
        return true;
    }
    // Two-byte length, then that many bytes [MQTT 5.0, 1.5.4, 1.5.6].
    bool prefixed(std::string_view& v) {
        Reader copy = *this;
        std::uint16_t n = 0;
        if (!copy.u16(n) || !copy.raw(n, v)) return false;
        *this = copy;
        return true;
    }
    Bytes bytes() const { return bytes_; }
    void skip(std::size_t n) { bytes_ = bytes_.subspan(n); }
    std::string_view rest() {
        std::string_view v{reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
        bytes_ = {};
        return v;
    }
    Reader split(std::size_t n) {
        Reader front{bytes_.first(n)};
        bytes_ = bytes_.subspan(n);
        return front;
    }

private:
    Bytes bytes_;
};

enum class VarIntStatus { ok, need_more, malformed };

// Variable Byte Integer [MQTT 5.0, 1.5.5]: at most four bytes, and in the
// fewest bytes that hold the value [MQTT-1.5.5-1].
VarIntStatus read_varint(Bytes bytes, std::uint32_t& value, std::size_t& length) {
    value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        if (i >= bytes.size()) return VarIntStatus::need_more;
        const std::uint8_t b = bytes[i];
        value |= std::uint32_t{b & 0x7Fu} << (7 * i);
        if ((b & 0x80) == 0) {
            if (i > 0 && b == 0) return VarIntStatus::malformed;  // not the shortest form
            length = i + 1;
            return VarIntStatus::ok;
        }
    }
    return VarIntStatus::malformed;
}

// The state of one decode: the body being read, the version, and the first error.
class Decoder {
public:
    Decoder(Bytes body, ProtocolVersion v) : in(body), version(v) {}

    Reader in;
    ProtocolVersion version;
    DecodeError error;

    bool v5() const { return is_v5(version); }

    bool fail(ReasonCode code, std::string_view message) {
        error = {code, message, version};
        return false;
    }
    bool truncated() { return fail(RC::malformed_packet, "a field runs past the end of the packet"); }

    bool u8(Reader& r, std::uint8_t& v) { return r.u8(v) || truncated(); }
    bool u16(Reader& r, std::uint16_t& v) { return r.u16(v) || truncated(); }
    bool u32(Reader& r, std::uint32_t& v) { return r.u32(v) || truncated(); }
    bool binary(Reader& r, BinaryView& v) { return r.prefixed(v) || truncated(); }
    bool string(Reader& r, std::string_view& v) {
        if (!r.prefixed(v)) return truncated();
        if (!is_valid_utf8(v)) return fail(RC::malformed_packet, "ill-formed UTF-8 string");
        return true;
    }
    bool varint(Reader& r, std::uint32_t& v) {
        std::size_t length = 0;
        switch (read_varint(r.bytes(), v, length)) {
            case VarIntStatus::ok: r.skip(length); return true;
            case VarIntStatus::need_more: return truncated();
            case VarIntStatus::malformed: break;
        }
        return fail(RC::malformed_packet, "malformed variable byte integer");
    }

    bool u8(std::uint8_t& v) { return u8(in, v); }
    bool u16(std::uint16_t& v) { return u16(in, v); }
    bool string(std::string_view& v) { return string(in, v); }
    bool binary(BinaryView& v) { return binary(in, v); }

    // [MQTT-2.2.1-3] (3.1.1 [MQTT-2.3.1-1])
    bool packet_id(std::uint16_t& v) {
        if (!u16(v)) return false;
        return v != 0 || fail(RC::protocol_error, "packet identifier 0");
    }

    bool at_end() {
        return in.empty() || fail(RC::malformed_packet, "unexpected bytes after the last field");
    }

    bool properties(PropertyScope scope, Properties& props);

private:
    // The member's type selects the wire type (properties.hpp); string_view
    // members hold UTF-8 strings or binary data, as the property table says.
    bool property_value(Reader& r, const PropertyInfo&, PropertyScope, std::optional<std::uint8_t>& v) {
        return once(v) && u8(r, v.emplace());
    }
    bool property_value(Reader& r, const PropertyInfo&, PropertyScope, std::optional<std::uint16_t>& v) {
        return once(v) && u16(r, v.emplace());
    }
    bool property_value(Reader& r, const PropertyInfo&, PropertyScope, std::optional<std::uint32_t>& v) {
        return once(v) && u32(r, v.emplace());
    }
    bool property_value(Reader& r, const PropertyInfo& info, PropertyScope, std::optional<std::string_view>& v) {
        if (!once(v)) return false;
        return info.type == PropertyType::binary_data ? binary(r, v.emplace()) : string(r, v.emplace());
    }
    bool property_value(Reader& r, const PropertyInfo&, PropertyScope scope, std::vector<std::uint32_t>& ids) {
        // Several only in a PUBLISH to a client [MQTT-3.3.4-3]; once in SUBSCRIBE.
        if (scope != PropertyScope::publish && !ids.empty()) {
            return fail(RC::protocol_error, "property appears more than once");
        }
        std::uint32_t id = 0;
        if (!varint(r, id)) return false;
        if (id == 0) return fail(RC::protocol_error, "subscription identifier 0");  // [MQTT-3.8.2.1.2]
        ids.push_back(id);
        return true;
    }
    bool property_value(Reader& r, const PropertyInfo&, PropertyScope, std::vector<UserProperty>& users) {
        UserProperty user;
        if (!string(r, user.name) || !string(r, user.value)) return false;
        users.push_back(user);
        return true;
    }
    // [MQTT 5.0, 2.2.2.2]: a property other than User Property (and Subscription
    // Identifier in PUBLISH) appearing twice is a protocol error.
    template <class T>
    bool once(const std::optional<T>& field) {
        return !field || fail(RC::protocol_error, "property appears more than once");
    }
    bool check_property_values(const Properties& p);
};

bool Decoder::properties(PropertyScope scope, Properties& props) {
    std::uint32_t length = 0;
    if (!varint(in, length)) return false;
    if (length > in.remaining()) {
        return fail(RC::malformed_packet, "property length runs past the end of the packet");
    }
    Reader r = in.split(length);
    while (!r.empty()) {
        std::uint32_t id = 0;
        if (!varint(r, id)) return false;
        const PropertyInfo* info = id <= 0xFF ? find_property(static_cast<std::uint8_t>(id)) : nullptr;
        // [MQTT 5.0, 2.2.2.2]: an identifier not valid for the packet is malformed.
        if (info == nullptr) return fail(RC::malformed_packet, "unknown property identifier");
        if (!info->allowed_in(scope)) {
            return fail(RC::malformed_packet, "property not allowed in this packet");
        }
        bool ok = true;
        for_each_property(props, [&](PropertyId pid, auto& field) {
            if (pid == info->id) ok = property_value(r, *info, scope, field);
        });
        if (!ok) return false;
    }
    return check_property_values(props);
}

bool Decoder::check_property_values(const Properties& p) {
    auto boolean = [](const std::optional<std::uint8_t>& v) { return !v || *v <= 1; };
    if (!boolean(p.payload_format_indicator)) {
        return fail(RC::protocol_error, "payload format indicator is neither 0 nor 1");
    }
    if (!boolean(p.request_problem_information) || !boolean(p.request_response_information)) {
        return fail(RC::protocol_error, "request information flag is neither 0 nor 1");  // [MQTT 5.0, 3.1.2.11.6-7]
    }
    if (!boolean(p.maximum_qos)) return fail(RC::protocol_error, "maximum QoS is neither 0 nor 1");
    if (!boolean(p.retain_available) || !boolean(p.wildcard_subscription_available) ||
        !boolean(p.subscription_identifier_available) || !boolean(p.shared_subscription_available)) {
        return fail(RC::protocol_error, "availability flag is neither 0 nor 1");
    }
    if (p.receive_maximum == 0) return fail(RC::protocol_error, "receive maximum 0");
    if (p.maximum_packet_size == 0) return fail(RC::protocol_error, "maximum packet size 0");
    if (p.topic_alias == 0) return fail(RC::topic_alias_invalid, "topic alias 0");  // [MQTT-3.3.2-8]
    if (p.response_topic && !is_valid_topic_name(*p.response_topic)) {
        return fail(RC::protocol_error, "invalid response topic");  // [MQTT-3.3.2-14]
    }
    if (p.authentication_data && !p.authentication_method) {
        return fail(RC::protocol_error, "authentication data without authentication method");
    }
    return true;
}

// The payload of a message that says it is UTF-8 must be [MQTT 5.0, 3.3.2.3.2].
bool check_payload_format(Decoder& d, const Properties& props, BinaryView payload) {
    if (props.payload_format_indicator == 1 && !is_well_formed_utf8(payload)) {
        return d.fail(RC::payload_format_invalid, "payload is not UTF-8 as its format indicator says");
    }
    return true;
}

bool decode_connect(Decoder& d, Connect& c) {
    std::string_view name;
    std::uint8_t level = 0;
    if (!d.string(name) || !d.u8(level)) return false;
    if (name == "MQTT" && (level == 4 || level == 5)) {
        c.version = static_cast<ProtocolVersion>(level);
    } else if (name == "MQIsdp" && level == 3) {
        c.version = ProtocolVersion::v3_1;
    } else {
        // Answered with CONNACK 0x84 (3.1.1 return code 1) [MQTT-3.1.2-1, 3.1.2-2].
        d.version = level == 5 ? ProtocolVersion::v5 : ProtocolVersion::v3_1_1;
        const bool known_name = name == "MQTT" || name == "MQIsdp";
        return d.fail(RC::unsupported_protocol_version,
                      known_name ? "unsupported protocol level" : "unknown protocol name");
    }
    d.version = c.version;

    std::uint8_t flags = 0;
    if (!d.u8(flags) || !d.u16(c.keep_alive)) return false;
    if (flags & 0x01) return d.fail(RC::malformed_packet, "reserved connect flag set");  // [MQTT-3.1.2-3]
    c.clean_start = (flags & 0x02) != 0;
    const bool will = (flags & 0x04) != 0;
    const std::uint8_t will_qos = (flags >> 3) & 0x03;
    const bool will_retain = (flags & 0x20) != 0;
    const bool has_password = (flags & 0x40) != 0;
    const bool has_username = (flags & 0x80) != 0;
    if (will_qos == 3) return d.fail(RC::malformed_packet, "will QoS 3");  // [MQTT-3.1.2-12]
    if (!will && (will_qos != 0 || will_retain)) {
        return d.fail(RC::malformed_packet, "will QoS or retain without a will");  // [MQTT-3.1.2-11, 3.1.2-13]
    }
    if (!d.v5() && has_password && !has_username) {
        return d.fail(RC::malformed_packet, "password without user name");  // 3.1.1 [MQTT-3.1.2-22]
    }
    if (d.v5() && !d.properties(PropertyScope::connect, c.properties)) return false;
    if (!d.string(c.client_id)) return false;
    if (will) {
        Will& w = c.will.emplace();
        w.qos = static_cast<QoS>(will_qos);
        w.retain = will_retain;
        if (d.v5() && !d.properties(PropertyScope::will, w.properties)) return false;
        if (!d.string(w.topic) || !d.binary(w.payload)) return false;
        if (!is_valid_topic_name(w.topic)) return d.fail(RC::topic_name_invalid, "invalid will topic");
        if (!check_payload_format(d, w.properties, w.payload)) return false;
    }
    if (has_username && !d.string(c.username.emplace())) return false;
    if (has_password && !d.binary(c.password.emplace())) return false;
    return d.at_end();
}

bool decode_connack(Decoder& d, Connack& c) {
    std::uint8_t flags = 0;
    std::uint8_t code = 0;
    if (!d.u8(flags) || !d.u8(code)) return false;
    // MQTT 3.1 has no session present flag: the byte is reserved and unused.
    if (d.version != ProtocolVersion::v3_1) {
        if (flags & 0xFE) return d.fail(RC::malformed_packet, "reserved CONNACK flag set");  // [MQTT-3.2.2-1]
        c.session_present = (flags & 0x01) != 0;
    }
    if (d.v5()) {
        if (!is_valid_reason_code(PacketType::connack, code)) {
            return d.fail(RC::protocol_error, "invalid CONNACK reason code");
        }
        c.reason_code = static_cast<ReasonCode>(code);
        if (!d.properties(PropertyScope::connack, c.properties)) return false;
    } else {
        if (code > 5) return d.fail(RC::protocol_error, "invalid CONNACK return code");
        c.reason_code = from_connect_return_code(static_cast<ConnectReturnCode>(code));
    }
    if (c.session_present && is_error(c.reason_code)) {
        return d.fail(RC::protocol_error, "session present with a refused connection");  // [MQTT-3.2.2-6]
    }
    return d.at_end();
}

bool decode_publish(Decoder& d, std::uint8_t flags, Publish& p) {
    p.dup = (flags & 0x08) != 0;
    p.qos = static_cast<QoS>((flags >> 1) & 0x03);
    p.retain = (flags & 0x01) != 0;
    if (!d.string(p.topic)) return false;
    if (p.qos != QoS::at_most_once && !d.packet_id(p.packet_id)) return false;
    if (d.v5() && !d.properties(PropertyScope::publish, p.properties)) return false;
    if (p.topic.empty()) {
        // MQTT 5 allows an empty topic only in place of a topic alias [MQTT-3.3.2-1].
        if (!d.v5()) return d.fail(RC::topic_name_invalid, "empty topic name");
        if (!p.properties.topic_alias) return d.fail(RC::protocol_error, "empty topic name without a topic alias");
    } else if (!is_valid_topic_name(p.topic)) {
        return d.fail(RC::topic_name_invalid, "wildcard in topic name");  // [MQTT-3.3.2-2]
    }
    p.payload = d.in.rest();
    return check_payload_format(d, p.properties, p.payload);
}

template <PacketType Type>
bool decode_ack(Decoder& d, Ack<Type>& a) {
    if (!d.packet_id(a.packet_id)) return false;
    if (!d.v5() || d.in.empty()) return d.at_end();  // 2 bytes: Success, no properties
    std::uint8_t code = 0;
    d.u8(code);
    if (!is_valid_reason_code(Type, code)) return d.fail(RC::protocol_error, "invalid reason code");
    a.reason_code = static_cast<ReasonCode>(code);
    if (d.in.empty()) return true;  // no Property Length: no properties [MQTT 5.0, 3.4.2.2.1]
    return d.properties(scope_of(Type), a.properties) && d.at_end();
}

bool decode_subscribe(Decoder& d, Subscribe& s) {
    if (!d.packet_id(s.packet_id)) return false;
    if (d.v5() && !d.properties(PropertyScope::subscribe, s.properties)) return false;
    while (!d.in.empty()) {
        Subscription& sub = s.subscriptions.emplace_back();
        std::uint8_t options = 0;
        if (!d.string(sub.filter) || !d.u8(options)) return false;
        const std::uint8_t reserved = d.v5() ? 0xC0 : 0xFC;  // [MQTT-3.8.3-5] / 3.1.1 [MQTT-3-8.3-4]
        if (options & reserved) return d.fail(RC::malformed_packet, "reserved subscription option bit set");
        if ((options & 0x03) == 3) {
            // MQTT 5 calls it a protocol error [MQTT 5.0, 3.8.3.1]; 3.1.1 malformed [MQTT-3-8.3-4].
            return d.fail(d.v5() ? RC::protocol_error : RC::malformed_packet, "subscription QoS 3");
        }
        sub.options.qos = static_cast<QoS>(options & 0x03);
        sub.options.no_local = (options & 0x04) != 0;
        sub.options.retain_as_published = (options & 0x08) != 0;
        const std::uint8_t retain_handling = (options >> 4) & 0x03;
        if (retain_handling == 3) return d.fail(RC::protocol_error, "retain handling 3");
        sub.options.retain_handling = static_cast<RetainHandling>(retain_handling);
        if (!is_valid_topic_filter(sub.filter)) return d.fail(RC::topic_filter_invalid, "invalid topic filter");
        if (sub.options.no_local && is_shared_filter(sub.filter)) {
            return d.fail(RC::protocol_error, "no local on a shared subscription");  // [MQTT-3.8.3-4]
        }
    }
    if (s.subscriptions.empty()) {
        return d.fail(RC::protocol_error, "SUBSCRIBE without a topic filter");  // [MQTT-3.8.3-2]
    }
    return true;
}

// SUBACK and UNSUBACK: a list of one-byte codes, each valid for the packet.
bool decode_reason_list(Decoder& d, PacketType type, std::vector<ReasonCode>& codes) {
    while (!d.in.empty()) {
        std::uint8_t code = 0;
        d.u8(code);
        // 3.1.1 SUBACK return codes 0x00-0x02 and 0x80 [MQTT-3.9.3-2].
        const bool valid = d.v5() ? is_valid_reason_code(type, code) : (code <= 2 || code == 0x80);
        if (!valid) return d.fail(RC::protocol_error, "invalid reason code");
        codes.push_back(static_cast<ReasonCode>(code));
    }
    return !codes.empty() || d.fail(RC::protocol_error, "acknowledgement without reason codes");
}

bool decode_suback(Decoder& d, Suback& s) {
    if (!d.packet_id(s.packet_id)) return false;
    if (d.v5() && !d.properties(PropertyScope::suback, s.properties)) return false;
    return decode_reason_list(d, PacketType::suback, s.reason_codes);
}

bool decode_unsubscribe(Decoder& d, Unsubscribe& u) {
    if (!d.packet_id(u.packet_id)) return false;
    if (d.v5() && !d.properties(PropertyScope::unsubscribe, u.properties)) return false;
    while (!d.in.empty()) {
        std::string_view& filter = u.filters.emplace_back();
        if (!d.string(filter)) return false;
        if (!is_valid_topic_filter(filter)) return d.fail(RC::topic_filter_invalid, "invalid topic filter");
    }
    if (u.filters.empty()) {
        return d.fail(RC::protocol_error, "UNSUBSCRIBE without a topic filter");  // [MQTT-3.10.3-2]
    }
    return true;
}

bool decode_unsuback(Decoder& d, Unsuback& u) {
    if (!d.packet_id(u.packet_id)) return false;
    if (!d.v5()) return d.at_end();
    if (!d.properties(PropertyScope::unsuback, u.properties)) return false;
    return decode_reason_list(d, PacketType::unsuback, u.reason_codes);
}

// DISCONNECT and AUTH in MQTT 5: an optional reason code, then optional
// properties [MQTT 5.0, 3.14.2.1, 3.15.2.1].
template <class P>
bool decode_reason_and_properties(Decoder& d, PacketType type, P& p) {
    if (d.in.empty()) return true;
    std::uint8_t code = 0;
    d.u8(code);
    if (!is_valid_reason_code(type, code)) return d.fail(RC::protocol_error, "invalid reason code");
    p.reason_code = static_cast<ReasonCode>(code);
    if (d.in.empty()) return true;
    return d.properties(scope_of(type), p.properties) && d.at_end();
}

// The flags each packet type must carry [MQTT 5.0, 2.1.3]; PUBLISH is checked
// separately. MQTT 3.1 let clients set DUP and QoS on PUBREL, SUBSCRIBE and
// UNSUBSCRIBE, so 3.1 is not held to this.
bool check_fixed_header_flags(Decoder& d, PacketType type, std::uint8_t flags) {
    if (type == PacketType::publish) {
        if (((flags >> 1) & 0x03) == 3) return d.fail(RC::malformed_packet, "PUBLISH with QoS 3");  // [MQTT-3.3.1-4]
        if ((flags & 0x08) && (flags & 0x06) == 0) {
            return d.fail(RC::malformed_packet, "PUBLISH with QoS 0 and DUP set");  // [MQTT-3.3.1-2]
        }
        return true;
    }
    if (d.version == ProtocolVersion::v3_1) return true;
    const bool needs_0010 = type == PacketType::pubrel || type == PacketType::subscribe ||
                            type == PacketType::unsubscribe;
    if (flags != (needs_0010 ? 0x02 : 0x00)) {
        return d.fail(RC::malformed_packet, "reserved fixed header flags");  // [MQTT-2.1.3-1]
    }
    return true;
}

bool decode_body(Decoder& d, PacketType type, std::uint8_t flags, Packet& packet) {
    switch (type) {
        case PacketType::connect: return decode_connect(d, packet.emplace<Connect>());
        case PacketType::connack: return decode_connack(d, packet.emplace<Connack>());
        case PacketType::publish: return decode_publish(d, flags, packet.emplace<Publish>());
        case PacketType::puback: return decode_ack(d, packet.emplace<Puback>());
        case PacketType::pubrec: return decode_ack(d, packet.emplace<Pubrec>());
        case PacketType::pubrel: return decode_ack(d, packet.emplace<Pubrel>());
        case PacketType::pubcomp: return decode_ack(d, packet.emplace<Pubcomp>());
        case PacketType::subscribe: return decode_subscribe(d, packet.emplace<Subscribe>());
        case PacketType::suback: return decode_suback(d, packet.emplace<Suback>());
        case PacketType::unsubscribe: return decode_unsubscribe(d, packet.emplace<Unsubscribe>());
        case PacketType::unsuback: return decode_unsuback(d, packet.emplace<Unsuback>());
        case PacketType::pingreq: packet.emplace<Pingreq>(); return d.at_end();
        case PacketType::pingresp: packet.emplace<Pingresp>(); return d.at_end();
        case PacketType::disconnect: {
            auto& disconnect = packet.emplace<Disconnect>();
            if (!d.v5()) return d.at_end();
            return decode_reason_and_properties(d, type, disconnect);
        }
        case PacketType::auth:
            return decode_reason_and_properties(d, type, packet.emplace<Auth>());
    }
    return false;
}

DecodeResult failure(const DecodeError& error) {
    DecodeResult result;
    result.status = DecodeStatus::error;
    result.error = error;
    return result;
}

}  // namespace

DecodeResult decode(std::span<const std::uint8_t> bytes, ProtocolVersion version,
                    std::uint32_t max_packet_size) {
    DecodeResult result;
    if (bytes.empty()) return result;

    const std::uint8_t first = bytes[0];
    const auto type_bits = static_cast<std::uint8_t>(first >> 4);
    const auto flags = static_cast<std::uint8_t>(first & 0x0F);
    if (type_bits == 0) return failure({RC::malformed_packet, "reserved packet type 0", version});
    const auto type = static_cast<PacketType>(type_bits);
    if (type == PacketType::auth && !is_v5(version)) {
        return failure({RC::malformed_packet, "AUTH before MQTT 5", version});
    }
    {
        Decoder header{{}, version};
        if (!check_fixed_header_flags(header, type, flags)) return failure(header.error);
    }

    std::uint32_t remaining = 0;
    std::size_t length_size = 0;
    switch (read_varint(bytes.subspan(1), remaining, length_size)) {
        case VarIntStatus::ok: break;
        case VarIntStatus::need_more: return result;
        case VarIntStatus::malformed:
            return failure({RC::malformed_packet, "malformed remaining length", version});
    }
    const std::size_t total = 1 + length_size + remaining;
    if (total > max_packet_size) return failure({RC::packet_too_large, "packet exceeds the maximum size", version});
    if (bytes.size() < total) {
        result.size = total;
        return result;
    }

    Decoder d{bytes.subspan(1 + length_size, remaining), version};
    if (!decode_body(d, type, flags, result.packet)) return failure(d.error);
    result.status = DecodeStatus::packet;
    result.size = total;
    return result;
}

}  // namespace fieldgate::mqtt
