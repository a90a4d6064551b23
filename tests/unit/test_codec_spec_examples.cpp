// Byte-exact examples built by hand from the specifications: the non-normative
// examples of MQTT 3.1.1 (OASIS, 29 October 2014) and MQTT 5.0 (OASIS, 7 March
// 2019), the Remaining Length boundaries of their Variable Byte Integer table,
// and the short forms MQTT 5 allows. Each example is encoded and compared byte
// for byte, and decoded and compared field by field.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/mqtt/codec.hpp"

using namespace fieldgate::mqtt;

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr auto v3_1 = ProtocolVersion::v3_1;
constexpr auto v3_1_1 = ProtocolVersion::v3_1_1;
constexpr auto v5 = ProtocolVersion::v5;

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string s;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i != 0) s += ' ';
        s += digits[bytes[i] >> 4];
        s += digits[bytes[i] & 0x0F];
    }
    return s;
}

void expect_encodes_to(const Packet& packet, ProtocolVersion v, const Bytes& expected) {
    Bytes out;
    EXPECT_EQ(encode(packet, v, out), expected.size());
    EXPECT_EQ(encoded_size(packet, v), expected.size());
    EXPECT_EQ(hex(out), hex(expected));
}

// The decoded packet views into `bytes`, so it is compared before returning.
void expect_decodes_to(const Bytes& bytes, ProtocolVersion v, const Packet& expected) {
    const DecodeResult r = decode(bytes, v);
    ASSERT_EQ(r.status, DecodeStatus::packet) << r.error.message;
    EXPECT_EQ(r.size, bytes.size());
    ASSERT_EQ(type_of(r.packet), type_of(expected));
    Bytes again;
    encode(r.packet, v, again);
    EXPECT_TRUE(r.packet == expected) << "decoded packet differs; it re-encodes as " << hex(again);
}

// Encode gives exactly these bytes, and decoding them gives the packet back.
void expect_example(const Packet& packet, ProtocolVersion v, const Bytes& bytes) {
    SCOPED_TRACE(std::string(to_string(type_of(packet))) + " in MQTT " + std::string(to_string(v)) +
                 ": " + hex(bytes));
    expect_encodes_to(packet, v, bytes);
    expect_decodes_to(bytes, v, packet);
}

void expect_refused(const Bytes& bytes, ProtocolVersion v) {
    SCOPED_TRACE(hex(bytes));
    const DecodeResult r = decode(bytes, v);
    EXPECT_EQ(r.status, DecodeStatus::error);
}

void expect_refused(const Bytes& bytes, ProtocolVersion v, ReasonCode code) {
    SCOPED_TRACE(hex(bytes));
    const DecodeResult r = decode(bytes, v);
    ASSERT_EQ(r.status, DecodeStatus::error);
    EXPECT_EQ(r.error.code, code) << reason_name(r.error.code) << ": " << r.error.message;
}

template <class A>
A ack(std::uint16_t packet_id, ReasonCode rc = ReasonCode::success) {
    A a;
    a.packet_id = packet_id;
    a.reason_code = rc;
    return a;
}

Subscription subscription(std::string_view filter, QoS qos) {
    Subscription s;
    s.filter = filter;
    s.options.qos = qos;
    return s;
}

// The CONNECT of the examples below: the flags of Figure 3.6 (user name,
// password, will QoS 1, will flag, clean session) and Keep Alive 10, with a
// payload in the order [MQTT-3.1.3-1] fixes: Client Identifier, Will Topic,
// Will Message, User Name, Password.
Connect figure_3_6_connect(ProtocolVersion v) {
    Connect c;
    c.version = v;
    c.clean_start = true;
    c.keep_alive = 10;
    c.client_id = "c1";
    Will w;
    w.topic = "w";
    w.payload = "bye";
    w.qos = QoS::at_least_once;
    w.retain = false;
    c.will = w;
    c.username = "u";
    c.password = "p";
    return c;
}

// ---------------------------------------------------------------------------
// CONNECT

TEST(SpecExamples, V311ConnectMatchesFigure3_6) {
    // [MQTT 3.1.1, 3.1.2.11, Figure 3.6]
    expect_example(figure_3_6_connect(v3_1_1), v3_1_1,
                   {0x10, 0x1C,                                // CONNECT, remaining length 28
                    0x00, 0x04, 'M', 'Q', 'T', 'T',            // protocol name
                    0x04,                                      // protocol level 4
                    0xCE,                                      // user, password, will QoS 1, will, clean
                    0x00, 0x0A,                                // keep alive 10
                    0x00, 0x02, 'c', '1',                      // client identifier
                    0x00, 0x01, 'w',                           // will topic
                    0x00, 0x03, 'b', 'y', 'e',                 // will message
                    0x00, 0x01, 'u',                           // user name
                    0x00, 0x01, 'p'});                         // password
}

TEST(SpecExamples, V5ConnectWithSessionExpiryMatchesVariableHeaderExample) {
    // [MQTT 5.0, 3.1.2.12]: the same flags and keep alive, then properties of
    // length 5: Session Expiry Interval (0x11) = 10.
    Connect c = figure_3_6_connect(v5);
    c.properties.session_expiry_interval = 10;
    expect_example(c, v5,
                   {0x10, 0x23,                                // CONNECT, remaining length 35
                    0x00, 0x04, 'M', 'Q', 'T', 'T',            // protocol name
                    0x05,                                      // protocol version 5
                    0xCE,                                      // connect flags
                    0x00, 0x0A,                                // keep alive 10
                    0x05, 0x11, 0x00, 0x00, 0x00, 0x0A,        // properties
                    0x00, 0x02, 'c', '1',                      // client identifier
                    0x00,                                      // will properties: none [MQTT 5.0, 3.1.3.2]
                    0x00, 0x01, 'w',                           // will topic
                    0x00, 0x03, 'b', 'y', 'e',                 // will payload
                    0x00, 0x01, 'u',                           // user name
                    0x00, 0x01, 'p'});                         // password
}

TEST(SpecExamples, V31ConnectNamesMQIsdpLevel3) {
    // [MQTT 3.1, 3.1]: protocol name "MQIsdp", protocol version 3.
    Connect c;
    c.version = v3_1;
    c.keep_alive = 10;
    c.client_id = "c1";
    expect_example(c, v3_1,
                   {0x10, 0x10,                                        // remaining length 16
                    0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03,    // name, version
                    0x02,                                              // clean session
                    0x00, 0x0A,                                        // keep alive 10
                    0x00, 0x02, 'c', '1'});
}

TEST(SpecExamples, V311ConnectWithPasswordButNoUserNameIsRefused) {
    // "If the User Name Flag is set to 0, the Password Flag MUST be set to 0"
    // [MQTT-3.1.2-22].
    expect_refused({0x10, 0x11, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x42, 0x00, 0x0A,  //
                    0x00, 0x02, 'c', '1', 0x00, 0x01, 'p'},
                   v3_1_1);
}

TEST(SpecExamples, V5ConnectWithPasswordButNoUserNameIsAccepted) {
    // MQTT 5 lets a password come without a user name [MQTT 5.0, 3.1.2.9].
    Connect c;
    c.version = v5;
    c.keep_alive = 10;
    c.client_id = "c1";
    c.password = "p";
    expect_example(c, v5,
                   {0x10, 0x12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x42, 0x00, 0x0A, 0x00,  //
                    0x00, 0x02, 'c', '1', 0x00, 0x01, 'p'});
}

TEST(SpecExamples, V5ConnectWithReservedFlagSetIsMalformed) {
    // The reserved flag must be 0, else it is a Malformed Packet [MQTT-3.1.2-3].
    expect_refused({0x10, 0x0F, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x03, 0x00, 0x0A, 0x00,  //
                    0x00, 0x02, 'c', '1'},
                   v5, ReasonCode::malformed_packet);
}

// ---------------------------------------------------------------------------
// CONNACK

TEST(SpecExamples, V311ConnackCarriesSessionPresentAndReturnCode) {
    // [MQTT 3.1.1, 3.2.2.2 and 3.2.2.3]
    Connack accepted;
    expect_example(accepted, v3_1_1, {0x20, 0x02, 0x00, 0x00});
    Connack resumed;
    resumed.session_present = true;
    expect_example(resumed, v3_1_1, {0x20, 0x02, 0x01, 0x00});
}

TEST(SpecExamples, V311ConnackRefusalsUseTable3_1ReturnCodes) {
    // [MQTT 3.1.1, 3.2.2.3, Table 3.1]
    const std::pair<ReasonCode, std::uint8_t> table[] = {
        {ReasonCode::unsupported_protocol_version, 0x01},  // unacceptable protocol version
        {ReasonCode::client_identifier_not_valid, 0x02},   // identifier rejected
        {ReasonCode::server_unavailable, 0x03},            // server unavailable
        {ReasonCode::bad_user_name_or_password, 0x04},     // bad user name or password
        {ReasonCode::not_authorized, 0x05},                // not authorized
    };
    for (const auto& [rc, code] : table) {
        Connack c;
        c.reason_code = rc;
        expect_example(c, v3_1_1, {0x20, 0x02, 0x00, code});
    }
}

TEST(SpecExamples, V5ConnackCarriesReasonCodeAndProperties) {
    // [MQTT 5.0, 3.2.2]: acknowledge flags, reason code, properties.
    Connack c;
    c.session_present = true;
    c.properties.session_expiry_interval = 10;
    expect_example(c, v5, {0x20, 0x08, 0x01, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x0A});
    Connack refused;
    refused.reason_code = ReasonCode::not_authorized;
    expect_example(refused, v5, {0x20, 0x03, 0x00, 0x87, 0x00});
}

// ---------------------------------------------------------------------------
// PUBLISH

TEST(SpecExamples, V311PublishMatchesFigure3_11) {
    // [MQTT 3.1.1, 3.3.2.3, Table 3.3 and Figure 3.11]: topic "a/b", packet id 10.
    Publish p;
    p.qos = QoS::at_least_once;
    p.topic = "a/b";
    p.packet_id = 10;
    p.payload = "hi";
    expect_example(p, v3_1_1, {0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'});
}

TEST(SpecExamples, V5PublishMatchesFigure3_9) {
    // [MQTT 5.0, 3.3.2.3, Figure 3-9]: topic "a/b", packet id 10, no properties.
    Publish p;
    p.qos = QoS::at_least_once;
    p.topic = "a/b";
    p.packet_id = 10;
    p.payload = "hi";
    expect_example(p, v5, {0x32, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 0x00, 'h', 'i'});
}

TEST(SpecExamples, PublishQos0HasNoPacketIdentifier) {
    // [MQTT-2.3.1-5]
    Publish p;
    p.topic = "a/b";
    p.payload = "hi";
    expect_example(p, v3_1_1, {0x30, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'});
    expect_example(p, v3_1, {0x30, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'});
    expect_example(p, v5, {0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'i'});
}

TEST(SpecExamples, PublishFixedHeaderCarriesDupQosAndRetain) {
    // [MQTT 3.1.1, 3.3.1, Figure 3.10]: bit 3 DUP, bits 2-1 QoS, bit 0 RETAIN.
    Publish p;
    p.dup = true;
    p.qos = QoS::exactly_once;
    p.retain = true;
    p.topic = "a/b";
    p.packet_id = 10;
    expect_example(p, v3_1_1, {0x3D, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A});
}

TEST(SpecExamples, V5PublishCarriesMessageExpiryProperty) {
    // [MQTT 5.0, 3.3.2.3.3]: Message Expiry Interval (0x02), Four Byte Integer.
    Publish p;
    p.topic = "a/b";
    p.properties.message_expiry_interval = 60;
    p.payload = "hi";
    expect_example(p, v5,
                   {0x30, 0x0D, 0x00, 0x03, 'a', '/', 'b', 0x05, 0x02, 0x00, 0x00, 0x00, 0x3C, 'h',
                    'i'});
}

TEST(SpecExamples, V5CorrelationDataIsBinaryData) {
    // [MQTT 5.0, 3.3.2.3.6]: Correlation Data (0x09) is Binary Data [MQTT 5.0,
    // 1.5.6], a two-byte length and any bytes, not a UTF-8 string.
    Publish p;
    p.topic = "a/b";
    p.properties.correlation_data = std::string_view("\x00\xFF", 2);
    expect_example(p, v5, {0x30, 0x0B, 0x00, 0x03, 'a', '/', 'b', 0x05, 0x09, 0x00, 0x02, 0x00, 0xFF});
}

TEST(SpecExamples, PublishWithBothQosBitsSetIsMalformed) {
    // [MQTT-3.3.1-4]
    expect_refused({0x36, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A}, v3_1_1);
    expect_refused({0x36, 0x08, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 0x00}, v5,
                   ReasonCode::malformed_packet);
}

// ---------------------------------------------------------------------------
// PUBACK, PUBREC, PUBREL, PUBCOMP

TEST(SpecExamples, V311AcksCarryOnlyThePacketIdentifier) {
    // [MQTT 3.1.1, 3.4-3.7]; PUBREL's fixed header flags are 0010 [MQTT-3.6.1-1].
    expect_example(ack<Puback>(10), v3_1_1, {0x40, 0x02, 0x00, 0x0A});
    expect_example(ack<Pubrec>(10), v3_1_1, {0x50, 0x02, 0x00, 0x0A});
    expect_example(ack<Pubrel>(10), v3_1_1, {0x62, 0x02, 0x00, 0x0A});
    expect_example(ack<Pubcomp>(10), v3_1_1, {0x70, 0x02, 0x00, 0x0A});
}

TEST(SpecExamples, V5AckWithRemainingLength2MeansSuccess) {
    // "The Reason Code and Property Length can be omitted if the Reason Code is
    // 0x00 (Success) and there are no Properties. In this case the PUBACK has a
    // Remaining Length of 2." [MQTT 5.0, 3.4.2.1]; likewise 3.5.2.1, 3.6.2.1, 3.7.2.1.
    expect_decodes_to({0x40, 0x02, 0x00, 0x0A}, v5, ack<Puback>(10));
    expect_decodes_to({0x50, 0x02, 0x00, 0x0A}, v5, ack<Pubrec>(10));
    expect_decodes_to({0x62, 0x02, 0x00, 0x0A}, v5, ack<Pubrel>(10));
    expect_decodes_to({0x70, 0x02, 0x00, 0x0A}, v5, ack<Pubcomp>(10));
}

TEST(SpecExamples, V5AckWithRemainingLength3HasNoProperties) {
    // "If the Remaining Length is less than 4 there is no Property Length and the
    // value of 0 is used." [MQTT 5.0, 3.4.2.2]
    expect_decodes_to({0x40, 0x03, 0x00, 0x0A, 0x10}, v5,
                      ack<Puback>(10, ReasonCode::no_matching_subscribers));
    expect_decodes_to({0x50, 0x03, 0x00, 0x0A, 0x97}, v5,
                      ack<Pubrec>(10, ReasonCode::quota_exceeded));
    expect_decodes_to({0x62, 0x03, 0x00, 0x0A, 0x92}, v5,
                      ack<Pubrel>(10, ReasonCode::packet_identifier_not_found));
    expect_decodes_to({0x70, 0x03, 0x00, 0x0A, 0x92}, v5,
                      ack<Pubcomp>(10, ReasonCode::packet_identifier_not_found));
    // The full form says the same.
    expect_decodes_to({0x40, 0x04, 0x00, 0x0A, 0x10, 0x00}, v5,
                      ack<Puback>(10, ReasonCode::no_matching_subscribers));
}

TEST(SpecExamples, V5AckWithReasonStringCarriesPropertyLength) {
    // [MQTT 5.0, 3.4.2.2.2]: Reason String (0x1F), UTF-8 string.
    Puback a = ack<Puback>(10, ReasonCode::no_matching_subscribers);
    a.properties.reason_string = "no";
    expect_example(a, v5, {0x40, 0x09, 0x00, 0x0A, 0x10, 0x05, 0x1F, 0x00, 0x02, 'n', 'o'});
}

// ---------------------------------------------------------------------------
// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK

TEST(SpecExamples, V311SubscribeMatchesFigures3_21And3_23) {
    // [MQTT 3.1.1, 3.8.2 Figure 3.21 (packet id 10); 3.8.3.1 Table 3.5 and
    // Figure 3.23 ("a/b" QoS 1, "c/d" QoS 2)]; flags 0010 [MQTT-3.8.1-1].
    Subscribe s;
    s.packet_id = 10;
    s.subscriptions = {subscription("a/b", QoS::at_least_once), subscription("c/d", QoS::exactly_once)};
    expect_example(s, v3_1_1,
                   {0x82, 0x0E, 0x00, 0x0A,                   //
                    0x00, 0x03, 'a', '/', 'b', 0x01,          //
                    0x00, 0x03, 'c', '/', 'd', 0x02});
}

TEST(SpecExamples, V5SubscribeHasPropertyLengthAfterPacketId) {
    // [MQTT 5.0, 3.8.2 and 3.8.3]: the same payload, no properties.
    Subscribe s;
    s.packet_id = 10;
    s.subscriptions = {subscription("a/b", QoS::at_least_once), subscription("c/d", QoS::exactly_once)};
    expect_example(s, v5,
                   {0x82, 0x0F, 0x00, 0x0A, 0x00,             //
                    0x00, 0x03, 'a', '/', 'b', 0x01,          //
                    0x00, 0x03, 'c', '/', 'd', 0x02});
}

TEST(SpecExamples, V5SubscriptionOptionsPackIntoOneByte) {
    // [MQTT 5.0, 3.8.3.1, Figure 3-21]: bits 5-4 Retain Handling, bit 3 Retain
    // As Published, bit 2 No Local, bits 1-0 QoS: 2, 1, 1, 1 -> 0x2D.
    Subscribe s;
    s.packet_id = 10;
    Subscription sub = subscription("a/b", QoS::at_least_once);
    sub.options.no_local = true;
    sub.options.retain_as_published = true;
    sub.options.retain_handling = RetainHandling::do_not_send;
    s.subscriptions = {sub};
    s.properties.subscription_identifiers = {1};  // [MQTT 5.0, 3.8.2.1.2]
    expect_example(s, v5, {0x82, 0x0B, 0x00, 0x0A, 0x02, 0x0B, 0x01, 0x00, 0x03, 'a', '/', 'b', 0x2D});
}

TEST(SpecExamples, SubscribeWithoutFlags0010IsMalformed) {
    // [MQTT-3.8.1-1]; in MQTT 5 a Malformed Packet [MQTT 5.0, 2.1.3].
    expect_refused({0x80, 0x08, 0x00, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x01}, v3_1_1);
    expect_refused({0x80, 0x09, 0x00, 0x0A, 0x00, 0x00, 0x03, 'a', '/', 'b', 0x01}, v5,
                   ReasonCode::malformed_packet);
}

TEST(SpecExamples, V311SubackMatchesFigure3_27) {
    // [MQTT 3.1.1, 3.9.3.1, Table 3.6 and Figure 3.27]: success QoS 0, success
    // QoS 2, failure.
    Suback s;
    s.packet_id = 10;
    s.reason_codes = {ReasonCode::success, ReasonCode::granted_qos_2, ReasonCode::unspecified_error};
    expect_example(s, v3_1_1, {0x90, 0x05, 0x00, 0x0A, 0x00, 0x02, 0x80});
}

TEST(SpecExamples, V5SubackHasPropertyLengthAndReasonCodes) {
    // [MQTT 5.0, 3.9.2 and 3.9.3]
    Suback s;
    s.packet_id = 10;
    s.reason_codes = {ReasonCode::success, ReasonCode::granted_qos_2, ReasonCode::not_authorized};
    expect_example(s, v5, {0x90, 0x06, 0x00, 0x0A, 0x00, 0x00, 0x02, 0x87});
}

TEST(SpecExamples, V311UnsubscribeMatchesFigure3_31) {
    // [MQTT 3.1.1, 3.10.3.1, Table 3.7 and Figure 3.31]: "a/b", "c/d";
    // flags 0010 [MQTT-3.10.1-1].
    Unsubscribe u;
    u.packet_id = 10;
    u.filters = {"a/b", "c/d"};
    expect_example(u, v3_1_1,
                   {0xA2, 0x0C, 0x00, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x03, 'c', '/', 'd'});
}

TEST(SpecExamples, V5UnsubscribeHasPropertyLengthAfterPacketId) {
    // [MQTT 5.0, 3.10.2 and 3.10.3]
    Unsubscribe u;
    u.packet_id = 10;
    u.filters = {"a/b", "c/d"};
    expect_example(u, v5,
                   {0xA2, 0x0D, 0x00, 0x0A, 0x00, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x03, 'c', '/', 'd'});
}

TEST(SpecExamples, V311UnsubackCarriesOnlyThePacketIdentifier) {
    // [MQTT 3.1.1, 3.11]
    Unsuback u;
    u.packet_id = 10;
    expect_example(u, v3_1_1, {0xB0, 0x02, 0x00, 0x0A});
}

TEST(SpecExamples, V5UnsubackCarriesAReasonCodePerFilter) {
    // [MQTT 5.0, 3.11.3]
    Unsuback u;
    u.packet_id = 10;
    u.reason_codes = {ReasonCode::success, ReasonCode::no_subscription_existed};
    expect_example(u, v5, {0xB0, 0x05, 0x00, 0x0A, 0x00, 0x00, 0x11});
}

// ---------------------------------------------------------------------------
// PINGREQ, PINGRESP, DISCONNECT, AUTH

TEST(SpecExamples, PingsAreTwoBytesInEveryVersion) {
    // [MQTT 3.1.1, 3.12 and 3.13]; [MQTT 5.0, 3.12 and 3.13]
    for (ProtocolVersion v : {v3_1, v3_1_1, v5}) {
        expect_example(Pingreq{}, v, {0xC0, 0x00});
        expect_example(Pingresp{}, v, {0xD0, 0x00});
    }
}

TEST(SpecExamples, V311DisconnectIsTwoBytes) {
    // [MQTT 3.1.1, 3.14]
    expect_example(Disconnect{}, v3_1_1, {0xE0, 0x00});
    expect_example(Disconnect{}, v3_1, {0xE0, 0x00});
}

TEST(SpecExamples, V5DisconnectShortFormsKeepTheirMeaning) {
    // "If the Remaining Length is less than 1 the value of 0x00 (Normal
    // disconnection) is used" [MQTT 5.0, 3.14.2.1]; "If the Remaining Length is
    // less than 2, a value of 0 is used" for the Property Length [MQTT 5.0, 3.14.2.2.1].
    expect_decodes_to({0xE0, 0x00}, v5, Disconnect{});
    Disconnect shutting_down;
    shutting_down.reason_code = ReasonCode::server_shutting_down;
    expect_decodes_to({0xE0, 0x01, 0x8B}, v5, shutting_down);
    expect_decodes_to({0xE0, 0x02, 0x8B, 0x00}, v5, shutting_down);
    // Figure 3-24: reason code 0, property length 0.
    expect_decodes_to({0xE0, 0x02, 0x00, 0x00}, v5, Disconnect{});
}

TEST(SpecExamples, V5DisconnectWithReasonStringCarriesPropertyLength) {
    Disconnect d;
    d.reason_code = ReasonCode::server_shutting_down;
    d.properties.reason_string = "bye";
    expect_example(d, v5, {0xE0, 0x08, 0x8B, 0x06, 0x1F, 0x00, 0x03, 'b', 'y', 'e'});
}

TEST(SpecExamples, V5AuthCarriesMethodAndData) {
    // [MQTT 5.0, 3.15]: reason 0x18 Continue authentication, then Authentication
    // Method (0x15) and Authentication Data (0x16). The encoder writes properties
    // in identifier order (properties.hpp, for_each_property).
    Auth a;
    a.reason_code = ReasonCode::continue_authentication;
    a.properties.authentication_method = "SCRAM";
    a.properties.authentication_data = std::string_view("\x01\x02", 2);
    expect_example(a, v5,
                   {0xF0, 0x0F, 0x18, 0x0D,                                   //
                    0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M',                //
                    0x16, 0x00, 0x02, 0x01, 0x02});
    // The order of properties on the wire carries no meaning.
    expect_decodes_to({0xF0, 0x0F, 0x18, 0x0D,                                //
                       0x16, 0x00, 0x02, 0x01, 0x02,                          //
                       0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M'},
                      v5, a);
}

TEST(SpecExamples, V5AuthWithRemainingLength0MeansSuccess) {
    // [MQTT 5.0, 3.15.2.1]
    expect_decodes_to({0xF0, 0x00}, v5, Auth{});
}

TEST(SpecExamples, V311HasNoAuthPacket) {
    // Packet type 15 is Reserved in 3.1.1 [MQTT 3.1.1, 2.2.1, Table 2.1].
    expect_refused({0xF0, 0x00}, v3_1_1);
}

// ---------------------------------------------------------------------------
// Remaining Length: 1 to 4 bytes of 7 bits each, low group first
// [MQTT 3.1.1, 2.2.3, Table 2.4]; [MQTT 5.0, 1.5.5, Table 1-1]. A QoS 0
// PUBLISH to topic "a" has a body of 3 + payload bytes, so any length >= 3
// can be built.

void expect_remaining_length(std::uint32_t remaining, const Bytes& fixed_header) {
    SCOPED_TRACE("remaining length " + std::to_string(remaining));
    ASSERT_GE(remaining, 3u);
    const std::string payload(remaining - 3, 'x');
    Publish p;
    p.topic = "a";
    p.payload = payload;

    Bytes out;
    const std::size_t n = encode(p, v3_1_1, out);
    ASSERT_EQ(n, fixed_header.size() + remaining);
    ASSERT_EQ(out.size(), n);
    EXPECT_EQ(encoded_size(p, v3_1_1), n);
    const std::span<const std::uint8_t> wire(out);
    ASSERT_EQ(hex(wire.first(fixed_header.size())), hex(fixed_header));
    ASSERT_EQ(hex(wire.subspan(fixed_header.size(), 3)), "00 01 61");
    ASSERT_TRUE(std::ranges::equal(wire.subspan(fixed_header.size() + 3), payload,
                                   [](std::uint8_t b, char c) { return b == static_cast<std::uint8_t>(c); }));

    // The bytes are now known to be the hand-built ones (the header from the
    // table, then the body), so decode them in place rather than copy 256 MiB.
    const DecodeResult r = decode(wire, v3_1_1);
    ASSERT_EQ(r.status, DecodeStatus::packet) << r.error.message;
    EXPECT_EQ(r.size, n);
    ASSERT_EQ(type_of(r.packet), PacketType::publish);
    EXPECT_EQ(std::get<Publish>(r.packet).topic, "a");
    EXPECT_EQ(std::get<Publish>(r.packet).payload.size(), payload.size());
    EXPECT_TRUE(std::get<Publish>(r.packet) == p);
}

TEST(SpecExamples, RemainingLength0TakesOneByte) {
    expect_example(Pingreq{}, v3_1_1, {0xC0, 0x00});
    expect_example(Disconnect{}, v3_1_1, {0xE0, 0x00});
}

TEST(SpecExamples, RemainingLength127TakesOneByte) {
    expect_remaining_length(127, {0x30, 0x7F});
}

TEST(SpecExamples, RemainingLength128TakesTwoBytes) {
    expect_remaining_length(128, {0x30, 0x80, 0x01});
}

TEST(SpecExamples, RemainingLength16383TakesTwoBytes) {
    expect_remaining_length(16'383, {0x30, 0xFF, 0x7F});
}

TEST(SpecExamples, RemainingLength16384TakesThreeBytes) {
    expect_remaining_length(16'384, {0x30, 0x80, 0x80, 0x01});
}

TEST(SpecExamples, RemainingLength2097151TakesThreeBytes) {
    expect_remaining_length(2'097'151, {0x30, 0xFF, 0xFF, 0x7F});
}

TEST(SpecExamples, RemainingLength2097152TakesFourBytes) {
    expect_remaining_length(2'097'152, {0x30, 0x80, 0x80, 0x80, 0x01});
}

TEST(SpecExamples, RemainingLength268435455TakesFourBytes) {
    // The largest packet there is: 256 MiB of body.
    expect_remaining_length(268'435'455, {0x30, 0xFF, 0xFF, 0xFF, 0x7F});
}

TEST(SpecExamples, RemainingLengthIsKnownFromTheFixedHeaderAlone) {
    // 268,435,455 announced, no body yet: more is needed...
    const Bytes header{0x30, 0xFF, 0xFF, 0xFF, 0x7F};
    EXPECT_EQ(decode(header, v3_1_1).status, DecodeStatus::need_more);
    // ...unless the packet is over the limit, which the header already tells
    // (codec.hpp: refused with 0x95 from its fixed header alone).
    const DecodeResult r = decode(header, v5, 1'000'000);
    ASSERT_EQ(r.status, DecodeStatus::error);
    EXPECT_EQ(r.error.code, ReasonCode::packet_too_large);
    // A length cut short after a continuation bit needs more too.
    EXPECT_EQ(decode(Bytes{0x30, 0x80}, v3_1_1).status, DecodeStatus::need_more);
    EXPECT_EQ(decode(Bytes{0x30, 0xFF, 0xFF, 0xFF}, v3_1_1).status, DecodeStatus::need_more);
}

TEST(SpecExamples, RemainingLengthOfFiveBytesIsMalformed) {
    // At most four bytes [MQTT 3.1.1, 2.2.3]; [MQTT 5.0, 1.5.5].
    expect_refused({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, v3_1_1);
    expect_refused({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}, v5, ReasonCode::malformed_packet);
}

}  // namespace
