// Every control packet through encode and back through decode, in every protocol
// version. For MQTT 5 the fixtures carry every property their packet may carry;
// before MQTT 5 the expected packet is the sent one without what the version
// cannot carry (codec.hpp: properties left out, reason codes mapped or dropped).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "gateway/mqtt/codec.hpp"

using namespace fieldgate::mqtt;

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr ProtocolVersion all_versions[] = {ProtocolVersion::v3_1, ProtocolVersion::v3_1_1,
                                            ProtocolVersion::v5};

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    constexpr std::size_t shown = 96;
    std::string s;
    for (std::size_t i = 0; i < bytes.size() && i < shown; ++i) {
        if (i != 0) s += ' ';
        s += digits[bytes[i] >> 4];
        s += digits[bytes[i] & 0x0F];
    }
    if (bytes.size() > shown) s += " ... (" + std::to_string(bytes.size()) + " bytes)";
    return s;
}

// ---------------------------------------------------------------------------
// Property fixtures: a valid value for every property each scope allows
// [MQTT 5.0, 2.2.2.2, Table 2-4]. Values respect the per-property rules the
// decoder may enforce (0/1 bytes, non-zero maxima, Subscription Identifier
// 1..268,435,455), and Authentication Data always comes with its Method
// [MQTT 5.0, 3.1.2.11.10].

const std::string_view correlation_bytes{"\x00\x01\xFE\xFF", 4};
const std::string_view auth_bytes{"\x00\x9C\x7F\x80\xFF", 5};

Properties fixture_properties(PropertyScope scope) {
    Properties p;
    // Every scope may carry User Properties; names may repeat and the order is
    // kept [MQTT 5.0, 3.1.2.11.8].
    p.user_properties = {{"site", "line3"}, {"site", "line4"}, {"empty", ""}};
    switch (scope) {
        case PropertyScope::will:
            p.payload_format_indicator = 1;
            p.message_expiry_interval = 3600;
            p.content_type = "text/plain";
            p.response_topic = "plant/line3/reply";
            p.correlation_data = correlation_bytes;
            p.will_delay_interval = 30;
            break;
        case PropertyScope::connect:
            p.session_expiry_interval = 0xFFFF'FFFF;  // never expires
            p.authentication_method = "SCRAM-SHA-256";
            p.authentication_data = auth_bytes;
            p.request_problem_information = 0;
            p.request_response_information = 1;
            p.receive_maximum = 20;
            p.topic_alias_maximum = 10;
            p.maximum_packet_size = 1'048'576;
            break;
        case PropertyScope::connack:
            p.session_expiry_interval = 7200;
            p.assigned_client_identifier = "auto-3f2a9c";
            p.server_keep_alive = 120;
            p.authentication_method = "SCRAM-SHA-256";
            p.authentication_data = auth_bytes;
            p.response_information = "reply/line3";
            p.server_reference = "broker2.example.com:1883";
            p.reason_string = "welcome";
            p.receive_maximum = 100;
            p.topic_alias_maximum = 5;
            p.maximum_qos = 1;
            p.retain_available = 0;
            p.maximum_packet_size = 65'536;
            p.wildcard_subscription_available = 1;
            p.subscription_identifier_available = 0;
            p.shared_subscription_available = 1;
            break;
        case PropertyScope::publish:
            p.payload_format_indicator = 1;
            p.message_expiry_interval = 60;
            p.content_type = "application/json";
            p.response_topic = "plant/line3/reply";
            p.correlation_data = correlation_bytes;
            // Several in a PUBLISH to a client [MQTT-3.3.4-3]; the extremes of the range.
            p.subscription_identifiers = {1, 268'435'455};
            p.topic_alias = 3;
            break;
        case PropertyScope::puback:
        case PropertyScope::pubrec:
        case PropertyScope::pubrel:
        case PropertyScope::pubcomp:
        case PropertyScope::suback:
        case PropertyScope::unsuback:
            p.reason_string = "see the broker log";
            break;
        case PropertyScope::subscribe:
            p.subscription_identifiers = {16'384};  // a three-byte Variable Byte Integer
            break;
        case PropertyScope::unsubscribe:
            break;
        case PropertyScope::disconnect:
            p.session_expiry_interval = 0;
            p.server_reference = "broker2.example.com:1883";
            p.reason_string = "moving to broker2";
            break;
        case PropertyScope::auth:
            p.authentication_method = "SCRAM-SHA-256";
            p.authentication_data = auth_bytes;
            p.reason_string = "continue";
            break;
    }
    return p;
}

constexpr PropertyScope all_scopes[] = {
    PropertyScope::will,      PropertyScope::connect,     PropertyScope::connack,
    PropertyScope::publish,   PropertyScope::puback,      PropertyScope::pubrec,
    PropertyScope::pubrel,    PropertyScope::pubcomp,     PropertyScope::subscribe,
    PropertyScope::suback,    PropertyScope::unsubscribe, PropertyScope::unsuback,
    PropertyScope::disconnect, PropertyScope::auth,
};

bool is_set(const Properties& p, PropertyId id) {
    bool set = false;
    for_each_property(p, [&](PropertyId each, const auto& member) {
        if (each != id) return;
        if constexpr (requires { member.has_value(); }) {
            set = member.has_value();
        } else {
            set = !member.empty();
        }
    });
    return set;
}

// ---------------------------------------------------------------------------
// Packet fixtures. Strings are literals, so the packets stay valid.

Connect minimal_connect(ProtocolVersion v) {
    Connect c;
    c.version = v;
    c.keep_alive = 60;
    c.client_id = "sensor-17";  // 1..23 characters, which MQTT 3.1 requires
    return c;
}

Will fixture_will(QoS qos, bool retain) {
    Will w;
    w.topic = "plant/line3/sensor-17/state";
    w.payload = "offline";
    w.qos = qos;
    w.retain = retain;
    w.properties = fixture_properties(PropertyScope::will);
    return w;
}

Connect full_connect(ProtocolVersion v) {
    Connect c = minimal_connect(v);
    c.clean_start = false;
    c.keep_alive = 65535;
    c.will = fixture_will(QoS::exactly_once, true);
    c.username = "line3";
    c.password = auth_bytes;  // binary, with a zero byte
    c.properties = fixture_properties(PropertyScope::connect);
    return c;
}

Connack full_connack(ProtocolVersion v) {
    Connack c;
    // MQTT 3.1 has no Session Present flag: byte 1 of its CONNACK is reserved.
    c.session_present = v != ProtocolVersion::v3_1;
    c.properties = fixture_properties(PropertyScope::connack);
    return c;
}

Publish fixture_publish(QoS qos) {
    Publish p;
    p.qos = qos;
    p.topic = "plant/zone-\xC3\xBC/temp";  // valid UTF-8, not only ASCII
    p.packet_id = qos == QoS::at_most_once ? 0 : 4711;
    p.properties = fixture_properties(PropertyScope::publish);
    p.payload = R"({"value":21.5,"unit":"degC"})";  // UTF-8, as Payload Format Indicator 1 says
    return p;
}

template <class A>
A fixture_ack(std::uint16_t packet_id, ReasonCode rc) {
    A a;
    a.packet_id = packet_id;
    a.reason_code = rc;
    a.properties = fixture_properties(scope_of(A::type));
    return a;
}

Subscribe fixture_subscribe() {
    Subscribe s;
    s.packet_id = 10;
    s.properties = fixture_properties(PropertyScope::subscribe);
    Subscription a;
    a.filter = "plant/+/temp";
    a.options.qos = QoS::at_least_once;
    a.options.no_local = true;
    a.options.retain_as_published = true;
    a.options.retain_handling = RetainHandling::do_not_send;
    Subscription b;
    b.filter = "plant/#";
    b.options.qos = QoS::exactly_once;
    b.options.retain_handling = RetainHandling::send_if_new_subscription;
    Subscription c;
    c.filter = "alarms";
    s.subscriptions = {a, b, c};
    return s;
}

Suback fixture_suback(ProtocolVersion v) {
    Suback s;
    s.packet_id = 10;
    s.properties = fixture_properties(PropertyScope::suback);
    s.reason_codes = {ReasonCode::granted_qos_2, ReasonCode::success, ReasonCode::granted_qos_1};
    // 0x80 Failure exists from 3.1.1 on [MQTT 3.1.1, 3.9.3]; MQTT 3.1 only grants QoS.
    if (v != ProtocolVersion::v3_1) s.reason_codes.push_back(ReasonCode::unspecified_error);
    if (is_v5(v)) {
        for (auto rc : {ReasonCode::implementation_specific_error, ReasonCode::not_authorized,
                        ReasonCode::topic_filter_invalid, ReasonCode::packet_identifier_in_use,
                        ReasonCode::quota_exceeded, ReasonCode::shared_subscriptions_not_supported,
                        ReasonCode::subscription_identifiers_not_supported,
                        ReasonCode::wildcard_subscriptions_not_supported}) {
            s.reason_codes.push_back(rc);
        }
    }
    return s;
}

Unsubscribe fixture_unsubscribe() {
    Unsubscribe u;
    u.packet_id = 11;
    u.properties = fixture_properties(PropertyScope::unsubscribe);
    u.filters = {"plant/+/temp", "plant/#", "alarms"};
    return u;
}

Unsuback fixture_unsuback() {
    Unsuback u;
    u.packet_id = 11;
    u.properties = fixture_properties(PropertyScope::unsuback);
    u.reason_codes = {ReasonCode::success,
                      ReasonCode::no_subscription_existed,
                      ReasonCode::unspecified_error,
                      ReasonCode::implementation_specific_error,
                      ReasonCode::not_authorized,
                      ReasonCode::topic_filter_invalid,
                      ReasonCode::packet_identifier_in_use};
    return u;
}

Disconnect fixture_disconnect() {
    Disconnect d;
    d.reason_code = ReasonCode::server_moved;
    d.properties = fixture_properties(PropertyScope::disconnect);
    return d;
}

Auth fixture_auth() {
    Auth a;
    a.reason_code = ReasonCode::continue_authentication;
    a.properties = fixture_properties(PropertyScope::auth);
    return a;
}

// One of each packet type the version can encode, each with all its fields set.
std::vector<Packet> all_fixtures(ProtocolVersion v) {
    std::vector<Packet> packets{
        full_connect(v),
        full_connack(v),
        fixture_publish(QoS::at_least_once),
        fixture_ack<Puback>(1, ReasonCode::no_matching_subscribers),
        fixture_ack<Pubrec>(2, ReasonCode::quota_exceeded),
        fixture_ack<Pubrel>(3, ReasonCode::packet_identifier_not_found),
        fixture_ack<Pubcomp>(4, ReasonCode::packet_identifier_not_found),
        fixture_subscribe(),
        fixture_suback(v),
        fixture_unsubscribe(),
        fixture_unsuback(),
        Pingreq{},
        Pingresp{},
        fixture_disconnect(),
    };
    if (is_v5(v)) packets.push_back(fixture_auth());
    return packets;
}

// ---------------------------------------------------------------------------
// What a packet looks like after a trip through version `v`.

Packet as_carried_by(Packet packet, ProtocolVersion v) {
    if (is_v5(v)) return packet;
    std::visit(
        []([[maybe_unused]] auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (requires { p.properties; }) p.properties = Properties{};
            if constexpr (std::is_same_v<T, Connect>) {
                if (p.will) p.will->properties = Properties{};
            } else if constexpr (std::is_same_v<T, Connack>) {
                p.reason_code = from_connect_return_code(to_connect_return_code(p.reason_code));
            } else if constexpr (requires { T::type; }) {  // PUBACK, PUBREC, PUBREL, PUBCOMP
                p.reason_code = ReasonCode::success;
            } else if constexpr (std::is_same_v<T, Subscribe>) {
                // Before MQTT 5 the options byte holds only the QoS; its upper
                // bits are reserved [MQTT-3.8.3-4].
                for (auto& s : p.subscriptions) {
                    SubscriptionOptions qos_only;
                    qos_only.qos = s.options.qos;
                    s.options = qos_only;
                }
            } else if constexpr (std::is_same_v<T, Unsuback>) {
                p.reason_codes.clear();  // MQTT 5 only; empty before (packets.hpp)
            } else if constexpr (std::is_same_v<T, Disconnect>) {
                p.reason_code = ReasonCode::success;  // MQTT 5 only (packets.hpp)
            }
        },
        packet);
    return packet;
}

// Encodes after bytes already in the buffer (encode appends) and checks the
// returned size against the growth and against encoded_size().
Bytes encode_checked(const Packet& packet, ProtocolVersion v) {
    Bytes out{0xA5, 0x5A};
    const std::size_t n = encode(packet, v, out);
    EXPECT_EQ(n, out.size() - 2) << "encode must return the bytes it appended";
    EXPECT_EQ(encoded_size(packet, v), n) << "encoded_size must match encode";
    EXPECT_EQ(out[0], 0xA5);
    EXPECT_EQ(out[1], 0x5A);
    return Bytes(out.begin() + 2, out.end());
}

void expect_round_trip(const Packet& sent, const Packet& expected, ProtocolVersion v) {
    SCOPED_TRACE(std::string(to_string(type_of(sent))) + " in MQTT " + std::string(to_string(v)));
    const Bytes wire = encode_checked(sent, v);
    ASSERT_FALSE(wire.empty());
    SCOPED_TRACE("wire: " + hex(wire));

    // Another packet follows in the buffer: decode must stop at this one's end.
    Bytes buffer = wire;
    buffer.push_back(0xC0);
    buffer.push_back(0x00);
    const DecodeResult r = decode(buffer, v);
    ASSERT_EQ(r.status, DecodeStatus::packet) << r.error.message;
    EXPECT_EQ(r.size, wire.size());
    ASSERT_EQ(type_of(r.packet), type_of(expected));
    Bytes again;
    encode(r.packet, v, again);
    EXPECT_TRUE(r.packet == expected) << "decoded packet differs; it re-encodes as " << hex(again);
    EXPECT_EQ(hex(again), hex(wire)) << "re-encoding the decoded packet must give the same bytes";

    // Every proper prefix is an incomplete packet, never an error.
    if (wire.size() <= 1024) {
        for (std::size_t len = 0; len < wire.size(); ++len) {
            const DecodeResult part = decode(std::span(wire.data(), len), v);
            if (part.status != DecodeStatus::need_more) {
                ADD_FAILURE() << "a prefix of " << len << " bytes gave status "
                              << static_cast<int>(part.status) << " (" << part.error.message
                              << "), not need_more";
                break;
            }
        }
    }
}

void expect_round_trip(const Packet& sent, ProtocolVersion v) {
    expect_round_trip(sent, as_carried_by(sent, v), v);
}

std::string version_name(const ::testing::TestParamInfo<ProtocolVersion>& info) {
    switch (info.param) {
        case ProtocolVersion::v3_1: return "Mqtt31";
        case ProtocolVersion::v3_1_1: return "Mqtt311";
        case ProtocolVersion::v5: return "Mqtt5";
    }
    return "Unknown";
}

class CodecRoundTrip : public ::testing::TestWithParam<ProtocolVersion> {};

// ---------------------------------------------------------------------------
// CONNECT

TEST_P(CodecRoundTrip, ConnectWithOnlyClientIdRoundTrips) {
    expect_round_trip(minimal_connect(GetParam()), GetParam());
}

TEST_P(CodecRoundTrip, ConnectKeepsCleanStartEitherWay) {
    for (bool clean : {true, false}) {
        Connect c = minimal_connect(GetParam());
        c.clean_start = clean;
        SCOPED_TRACE(clean ? "clean start" : "resume session");
        expect_round_trip(c, GetParam());
    }
}

TEST_P(CodecRoundTrip, ConnectKeepsWillQosAndRetain) {
    for (QoS qos : {QoS::at_most_once, QoS::at_least_once, QoS::exactly_once}) {
        for (bool retain : {false, true}) {
            Connect c = minimal_connect(GetParam());
            c.will = fixture_will(qos, retain);
            SCOPED_TRACE("will QoS " + std::to_string(static_cast<int>(qos)) +
                         (retain ? " retained" : ""));
            expect_round_trip(c, GetParam());
        }
    }
}

TEST_P(CodecRoundTrip, ConnectKeepsUsernameAndPassword) {
    Connect c = minimal_connect(GetParam());
    c.username = "line3";
    c.password = auth_bytes;
    expect_round_trip(c, GetParam());
}

TEST_P(CodecRoundTrip, ConnectKeepsUsernameWithoutPassword) {
    Connect c = minimal_connect(GetParam());
    c.username = "line3";
    expect_round_trip(c, GetParam());
}

TEST_P(CodecRoundTrip, ConnectKeepsEmptyUsernameAndPassword) {
    Connect c = minimal_connect(GetParam());
    c.username = "";
    c.password = "";
    expect_round_trip(c, GetParam());
}

TEST_P(CodecRoundTrip, ConnectWithEverythingSetRoundTrips) {
    expect_round_trip(full_connect(GetParam()), GetParam());
}

TEST_P(CodecRoundTrip, ConnectNamesProtocolAndLevelOfItsVersion) {
    const Bytes wire = encode_checked(minimal_connect(GetParam()), GetParam());
    ASSERT_GE(wire.size(), 2u);
    EXPECT_EQ(wire[0], 0x10);
    EXPECT_EQ(std::size_t{wire[1]}, wire.size() - 2);  // one-byte remaining length
    // MQTT 3.1: "MQIsdp", version 3 [MQTT 3.1, CONNECT variable header].
    // 3.1.1: "MQTT", level 4 [MQTT-3.1.2-1, MQTT 3.1.1 3.1.2.2]. 5.0: "MQTT", 5 [MQTT 5.0, 3.1.2.1-2].
    Bytes header;
    switch (GetParam()) {
        case ProtocolVersion::v3_1:
            header = {0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03};
            break;
        case ProtocolVersion::v3_1_1:
            header = {0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04};
            break;
        case ProtocolVersion::v5:
            header = {0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05};
            break;
    }
    ASSERT_GE(wire.size(), 2 + header.size());
    EXPECT_EQ(hex(std::span(wire).subspan(2, header.size())), hex(header));
}

TEST_P(CodecRoundTrip, ConnectIsDecodedInTheVersionItNames) {
    const Connect sent = full_connect(GetParam());
    const Bytes wire = encode_checked(sent, GetParam());
    for (ProtocolVersion parser_version : all_versions) {
        SCOPED_TRACE("parser in MQTT " + std::string(to_string(parser_version)));
        const DecodeResult r = decode(wire, parser_version);
        ASSERT_EQ(r.status, DecodeStatus::packet) << r.error.message;
        EXPECT_EQ(r.size, wire.size());
        EXPECT_TRUE(r.packet == as_carried_by(sent, GetParam()));
    }
}

// ---------------------------------------------------------------------------
// CONNACK

TEST_P(CodecRoundTrip, ConnackAcceptedRoundTrips) {
    expect_round_trip(full_connack(GetParam()), GetParam());
    expect_round_trip(Connack{}, GetParam());
}

TEST_P(CodecRoundTrip, ConnackRefusalsKeepTheirMeaning) {
    for (ReasonCode rc : {ReasonCode::unsupported_protocol_version, ReasonCode::client_identifier_not_valid,
                          ReasonCode::server_unavailable, ReasonCode::bad_user_name_or_password,
                          ReasonCode::not_authorized}) {
        Connack c;
        c.reason_code = rc;
        c.properties = fixture_properties(PropertyScope::connack);
        SCOPED_TRACE(std::string(reason_name(rc)));
        // These five have a 3.1.1 return code of their own [MQTT 3.1.1, 3.2.2.3,
        // Table 3.1], so they survive every version unchanged.
        Packet expected = as_carried_by(c, GetParam());
        std::get<Connack>(expected).reason_code = rc;
        expect_round_trip(c, expected, GetParam());
    }
}

// ---------------------------------------------------------------------------
// PUBLISH

TEST_P(CodecRoundTrip, PublishQos0HasNoPacketId) {
    const Publish p = fixture_publish(QoS::at_most_once);
    expect_round_trip(p, GetParam());
    // No Packet Identifier for QoS 0 [MQTT-2.3.1-5]: before MQTT 5 the body is the
    // topic (2 + length) and the payload, nothing else.
    if (!is_v5(GetParam())) {
        const Bytes wire = encode_checked(p, GetParam());
        EXPECT_EQ(wire.size(), 2 + 2 + p.topic.size() + p.payload.size());
    }
}

TEST_P(CodecRoundTrip, PublishQos1KeepsPacketId) {
    Publish p = fixture_publish(QoS::at_least_once);
    p.packet_id = 1;
    expect_round_trip(p, GetParam());
    p.packet_id = 65535;
    expect_round_trip(p, GetParam());
}

TEST_P(CodecRoundTrip, PublishQos2KeepsPacketIdAndDup) {
    Publish p = fixture_publish(QoS::exactly_once);
    p.dup = true;
    p.packet_id = 0x1234;
    expect_round_trip(p, GetParam());
    const Bytes wire = encode_checked(p, GetParam());
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire[0], 0x3C);  // PUBLISH, DUP 1, QoS 2, RETAIN 0 [MQTT 3.1.1, 3.3.1]
}

TEST_P(CodecRoundTrip, PublishQos1KeepsDupAndRetain) {
    Publish p = fixture_publish(QoS::at_least_once);
    p.dup = true;
    p.retain = true;
    expect_round_trip(p, GetParam());
}

TEST_P(CodecRoundTrip, PublishKeepsRetainFlag) {
    for (QoS qos : {QoS::at_most_once, QoS::at_least_once, QoS::exactly_once}) {
        Publish p = fixture_publish(qos);
        p.retain = true;
        SCOPED_TRACE("QoS " + std::to_string(static_cast<int>(qos)));
        expect_round_trip(p, GetParam());
        const Bytes wire = encode_checked(p, GetParam());
        ASSERT_FALSE(wire.empty());
        EXPECT_EQ(wire[0], 0x31 | (static_cast<int>(qos) << 1));
    }
}

TEST_P(CodecRoundTrip, PublishWithEmptyPayloadRoundTrips) {
    Publish p = fixture_publish(QoS::at_least_once);
    p.retain = true;  // a retained empty payload clears the retained message
    p.payload = {};
    expect_round_trip(p, GetParam());
}

TEST_P(CodecRoundTrip, PublishWithBinaryPayloadRoundTrips) {
    static const std::string binary = [] {
        std::string s;
        for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
        return s;
    }();
    Publish p = fixture_publish(QoS::exactly_once);
    p.properties.payload_format_indicator = 0;  // unspecified bytes
    p.payload = binary;
    expect_round_trip(p, GetParam());
}

TEST_P(CodecRoundTrip, PublishWithLargePayloadRoundTrips) {
    static const std::string large(70'000, 'x');  // a three-byte remaining length
    Publish p = fixture_publish(QoS::at_least_once);
    p.payload = large;
    expect_round_trip(p, GetParam());
}

TEST_P(CodecRoundTrip, PublishOverloadEncodesLikePacket) {
    for (QoS qos : {QoS::at_most_once, QoS::at_least_once, QoS::exactly_once}) {
        const Publish p = fixture_publish(qos);
        Bytes via_publish{0x01};
        const std::size_t n = encode(p, GetParam(), via_publish);
        EXPECT_EQ(n, via_publish.size() - 1);
        EXPECT_EQ(encoded_size(Packet{p}, GetParam()), n);
        const Bytes via_packet = encode_checked(p, GetParam());
        EXPECT_EQ(hex(std::span(via_publish).subspan(1)), hex(via_packet));
    }
}

// ---------------------------------------------------------------------------
// PUBACK, PUBREC, PUBREL, PUBCOMP

template <class A>
void check_ack(ProtocolVersion v, ReasonCode error) {
    // Success without properties: the short form of MQTT 5 [MQTT 5.0, 3.4.2.1].
    A plain;
    plain.packet_id = 1;
    expect_round_trip(plain, v);
    // Success with properties.
    expect_round_trip(fixture_ack<A>(0x8001, ReasonCode::success), v);
    // A reason code, with and without properties.
    A refused;
    refused.packet_id = 65535;
    refused.reason_code = error;
    expect_round_trip(refused, v);
    expect_round_trip(fixture_ack<A>(65535, error), v);
}

TEST_P(CodecRoundTrip, PubackKeepsPacketIdAndReason) {
    check_ack<Puback>(GetParam(), ReasonCode::no_matching_subscribers);
    check_ack<Puback>(GetParam(), ReasonCode::payload_format_invalid);
}

TEST_P(CodecRoundTrip, PubrecKeepsPacketIdAndReason) {
    check_ack<Pubrec>(GetParam(), ReasonCode::quota_exceeded);
    check_ack<Pubrec>(GetParam(), ReasonCode::not_authorized);
}

TEST_P(CodecRoundTrip, PubrelKeepsPacketIdAndReason) {
    check_ack<Pubrel>(GetParam(), ReasonCode::packet_identifier_not_found);
    // PUBREL's fixed header flags are 0010 [MQTT-3.6.1-1].
    Pubrel r;
    r.packet_id = 10;
    const Bytes wire = encode_checked(r, GetParam());
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire[0], 0x62);
}

TEST_P(CodecRoundTrip, PubcompKeepsPacketIdAndReason) {
    check_ack<Pubcomp>(GetParam(), ReasonCode::packet_identifier_not_found);
}

// ---------------------------------------------------------------------------
// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK

TEST_P(CodecRoundTrip, SubscribeKeepsFiltersAndTheOptionsTheVersionCarries) {
    expect_round_trip(fixture_subscribe(), GetParam());
    const Bytes wire = encode_checked(fixture_subscribe(), GetParam());
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire[0], 0x82);  // flags 0010 [MQTT-3.8.1-1]
}

TEST_P(CodecRoundTrip, SubscribeKeepsEveryRequestedQos) {
    Subscribe s;
    s.packet_id = 1;
    for (QoS qos : {QoS::at_most_once, QoS::at_least_once, QoS::exactly_once}) {
        Subscription sub;
        sub.filter = "a/b";
        sub.options.qos = qos;
        s.subscriptions.push_back(sub);
    }
    expect_round_trip(s, GetParam());
}

TEST_P(CodecRoundTrip, SubackKeepsReturnCodesInOrder) {
    expect_round_trip(fixture_suback(GetParam()), GetParam());
}

TEST_P(CodecRoundTrip, UnsubscribeKeepsFiltersInOrder) {
    expect_round_trip(fixture_unsubscribe(), GetParam());
    const Bytes wire = encode_checked(fixture_unsubscribe(), GetParam());
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire[0], 0xA2);  // flags 0010 [MQTT-3.10.1-1]
}

TEST_P(CodecRoundTrip, UnsubackCarriesReasonCodesOnlyInV5) {
    const Unsuback u = fixture_unsuback();
    expect_round_trip(u, GetParam());
    if (!is_v5(GetParam())) {
        // Before MQTT 5 an UNSUBACK is the packet identifier alone [MQTT 3.1.1, 3.11].
        EXPECT_EQ(hex(encode_checked(u, GetParam())), "B0 02 00 0B");
    }
}

// ---------------------------------------------------------------------------
// PINGREQ, PINGRESP, DISCONNECT, AUTH

TEST_P(CodecRoundTrip, PingreqRoundTrips) {
    expect_round_trip(Pingreq{}, GetParam());
    EXPECT_EQ(hex(encode_checked(Pingreq{}, GetParam())), "C0 00");
}

TEST_P(CodecRoundTrip, PingrespRoundTrips) {
    expect_round_trip(Pingresp{}, GetParam());
    EXPECT_EQ(hex(encode_checked(Pingresp{}, GetParam())), "D0 00");
}

TEST_P(CodecRoundTrip, DisconnectCarriesReasonOnlyInV5) {
    expect_round_trip(fixture_disconnect(), GetParam());
    expect_round_trip(Disconnect{}, GetParam());
    Disconnect with_will;
    with_will.reason_code = ReasonCode::disconnect_with_will;
    expect_round_trip(with_will, GetParam());
    if (!is_v5(GetParam())) {
        // Before MQTT 5 a DISCONNECT has no variable header [MQTT 3.1.1, 3.14].
        EXPECT_EQ(hex(encode_checked(fixture_disconnect(), GetParam())), "E0 00");
    }
}

TEST_P(CodecRoundTrip, AuthIsEncodableOnlyInV5) {
    Auth plain;  // Success without properties
    for (const Auth& a : {fixture_auth(), plain}) {
        if (is_v5(GetParam())) {
            expect_round_trip(a, GetParam());
        } else {
            // codec.hpp: AUTH has no form before MQTT 5; nothing is appended.
            Bytes out{0x42};
            EXPECT_EQ(encode(a, GetParam(), out), 0u);
            EXPECT_EQ(hex(out), "42");
            EXPECT_EQ(encoded_size(a, GetParam()), 0u);
        }
    }
}

// ---------------------------------------------------------------------------
// A stream of packets

TEST_P(CodecRoundTrip, PacketsDecodeBackToBackFromOneBuffer) {
    const std::vector<Packet> sent = all_fixtures(GetParam());
    Bytes stream;
    std::vector<std::size_t> sizes;
    for (const Packet& p : sent) {
        const std::size_t before = stream.size();
        const std::size_t n = encode(p, GetParam(), stream);
        EXPECT_EQ(n, stream.size() - before);
        sizes.push_back(n);
    }
    std::size_t offset = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE(std::string(to_string(type_of(sent[i]))));
        const DecodeResult r = decode(std::span(stream).subspan(offset), GetParam());
        ASSERT_EQ(r.status, DecodeStatus::packet) << r.error.message;
        EXPECT_EQ(r.size, sizes[i]);
        EXPECT_TRUE(r.packet == as_carried_by(sent[i], GetParam()));
        offset += r.size;
    }
    EXPECT_EQ(offset, stream.size());
    EXPECT_EQ(decode(std::span(stream).subspan(offset), GetParam()).status, DecodeStatus::need_more);
}

INSTANTIATE_TEST_SUITE_P(, CodecRoundTrip,
                         ::testing::Values(ProtocolVersion::v3_1, ProtocolVersion::v3_1_1,
                                           ProtocolVersion::v5),
                         version_name);

// ---------------------------------------------------------------------------
// The fixtures themselves: the MQTT 5 round trips above cover every property
// only if each scope's fixture sets every property that scope allows, and no
// other (a property outside its scope is a Protocol Error the decoder refuses).

TEST(CodecRoundTripFixtures, SetEveryPropertyEachScopeAllowsAndNoOther) {
    int known = 0;
    for (unsigned id = 0; id < 256; ++id) {
        if (find_property(static_cast<std::uint8_t>(id)) != nullptr) ++known;
    }
    ASSERT_EQ(known, 27) << "MQTT 5.0 defines 27 properties [MQTT 5.0, 2.2.2.2]";

    for (PropertyScope scope : all_scopes) {
        const Properties p = fixture_properties(scope);
        for (unsigned id = 0; id < 256; ++id) {
            const PropertyInfo* info = find_property(static_cast<std::uint8_t>(id));
            if (info == nullptr) continue;
            EXPECT_EQ(is_set(p, info->id), info->allowed_in(scope))
                << info->name << " in scope " << static_cast<int>(scope);
        }
    }
}

TEST(CodecRoundTripFixtures, PacketsUseThePropertiesOfTheirScope) {
    const Connect c = full_connect(ProtocolVersion::v5);
    EXPECT_EQ(c.properties, fixture_properties(PropertyScope::connect));
    ASSERT_TRUE(c.will.has_value());
    EXPECT_EQ(c.will->properties, fixture_properties(PropertyScope::will));
    for (const Packet& packet : all_fixtures(ProtocolVersion::v5)) {
        std::visit(
            [&]([[maybe_unused]] const auto& p) {
                if constexpr (requires { p.properties; }) {
                    EXPECT_EQ(p.properties, fixture_properties(scope_of(type_of(packet))))
                        << to_string(type_of(packet));
                }
            },
            packet);
    }
}

// ---------------------------------------------------------------------------
// MQTT 5 only

TEST(CodecRoundTripV5, ConnectAllowsPasswordWithoutUsername) {
    // MQTT 5 drops the 3.1.1 rule [MQTT-3.1.2-22]; see [MQTT 5.0, 3.1.2.9].
    Connect c = minimal_connect(ProtocolVersion::v5);
    c.password = "token";
    expect_round_trip(c, ProtocolVersion::v5);
    c.will = fixture_will(QoS::at_least_once, false);
    c.properties = fixture_properties(PropertyScope::connect);
    expect_round_trip(c, ProtocolVersion::v5);
}

TEST(CodecRoundTripV5, ConnectWithEmptyClientIdRoundTrips) {
    // A zero-length Client Identifier asks the server to assign one [MQTT-3.1.3-6].
    Connect c = minimal_connect(ProtocolVersion::v5);
    c.client_id = "";
    expect_round_trip(c, ProtocolVersion::v5);
}

TEST(CodecRoundTripV5, PublishWithTopicAliasMayHaveEmptyTopic) {
    Publish p = fixture_publish(QoS::at_least_once);
    p.topic = "";  // the alias stands for the topic [MQTT 5.0, 3.3.2.3.4]
    expect_round_trip(p, ProtocolVersion::v5);
}

TEST(CodecRoundTripV5, BinaryPropertiesNeedNotBeUtf8) {
    // Correlation Data and Authentication Data are Binary Data [MQTT 5.0, 1.5.6,
    // 3.3.2.3.6, 3.1.2.11.10]: any bytes, 0x00 and non-UTF-8 sequences included.
    // Only UTF-8 Encoded Strings must be well-formed [MQTT-1.5.4-1, 1.5.4-2].
    Publish p;
    p.topic = "a";
    p.properties.correlation_data = correlation_bytes;
    expect_round_trip(p, ProtocolVersion::v5);
    Auth a;
    a.reason_code = ReasonCode::continue_authentication;
    a.properties.authentication_method = "SCRAM-SHA-256";
    a.properties.authentication_data = auth_bytes;
    expect_round_trip(a, ProtocolVersion::v5);
}

TEST(CodecRoundTripV5, PropertiesWithOnlyUserPropertiesRoundTrip) {
    Publish p = fixture_publish(QoS::at_most_once);
    p.properties = Properties{};
    p.properties.user_properties = {{"a", "1"}};
    expect_round_trip(p, ProtocolVersion::v5);
}

// ---------------------------------------------------------------------------
// MQTT 3.1.1 mappings

TEST(CodecRoundTripV311, ConnectWithEmptyClientIdAndCleanSessionRoundTrips) {
    // Allowed only with Clean Session 1 [MQTT-3.1.3-7].
    Connect c = minimal_connect(ProtocolVersion::v3_1_1);
    c.client_id = "";
    expect_round_trip(c, ProtocolVersion::v3_1_1);
}

TEST(CodecRoundTripV311, AcksAreTypeLengthAndPacketId) {
    // Before MQTT 5 an acknowledgement is the packet identifier alone
    // [MQTT 3.1.1, 3.4-3.7]; the same holds for MQTT 3.1.
    for (ProtocolVersion v : {ProtocolVersion::v3_1, ProtocolVersion::v3_1_1}) {
        SCOPED_TRACE("MQTT " + std::string(to_string(v)));
        EXPECT_EQ(hex(encode_checked(fixture_ack<Puback>(10, ReasonCode::quota_exceeded), v)), "40 02 00 0A");
        EXPECT_EQ(hex(encode_checked(fixture_ack<Pubrec>(10, ReasonCode::success), v)), "50 02 00 0A");
        EXPECT_EQ(hex(encode_checked(fixture_ack<Pubrel>(10, ReasonCode::success), v)), "62 02 00 0A");
        EXPECT_EQ(hex(encode_checked(fixture_ack<Pubcomp>(10, ReasonCode::success), v)), "70 02 00 0A");
    }
}

TEST(CodecRoundTripV311, SubackRefusalsBecomeFailureCode) {
    // 3.1.1 has one failure code, 0x80; others MUST NOT be used [MQTT-3.9.3-2].
    Suback s;
    s.packet_id = 7;
    s.reason_codes = {ReasonCode::not_authorized, ReasonCode::granted_qos_1,
                      ReasonCode::quota_exceeded, ReasonCode::topic_filter_invalid};
    const Bytes wire = encode_checked(s, ProtocolVersion::v3_1_1);
    EXPECT_EQ(hex(wire), "90 06 00 07 80 01 80 80");
    Suback expected;
    expected.packet_id = 7;
    expected.reason_codes = {ReasonCode::unspecified_error, ReasonCode::granted_qos_1,
                             ReasonCode::unspecified_error, ReasonCode::unspecified_error};
    expect_round_trip(s, expected, ProtocolVersion::v3_1_1);
}

}  // namespace
