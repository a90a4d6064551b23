// Malformed: bytes a conforming client never sends, over a real socket. The
// offending connection gets the protocol's answer (MQTT 5 DISCONNECT or a
// CONNACK with the exact reason code; 3.1.1 a plain close, or a CONNACK where
// the spec gives one) and is closed, while a subscriber connected at the same
// time keeps receiving messages.

#include <gtest/gtest.h>

#include <functional>
#include <ostream>

#include "support/scenario.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;
using mqtt::ReasonCode;

enum class Answer {
    close,                       // closed with no bytes sent
    disconnect,                  // v5 DISCONNECT with `reason`, then closed
    connack_unsupported_version, // CONNACK 0x01 (3.1.1 form) or 0x84 (5.0 form), then closed
    close_or_connack_unsupported // the spec lets the server choose: either of the above
};

struct MalformedCase {
    std::string name;
    std::optional<ProtocolVersion> connect_first;  // a valid CONNECT in this version before the bytes
    std::function<Bytes()> bytes;
    Answer answer = Answer::close;
    ReasonCode reason = ReasonCode::success;
    bool limit_check = false;  // the packet-size case: check the limit's edges too
};

struct MalformedParam {
    int workers = 1;
    MalformedCase c;
};

void PrintTo(const MalformedParam& p, std::ostream* os) { *os << p.c.name << " with " << p.workers << " worker(s)"; }

// CONNECT with a chosen protocol name and level and a 3.1.1-shaped body
// (plus an empty property list when asked), client id "odd".
Bytes connect_named(std::string_view name, std::uint8_t level, bool properties) {
    Bytes body = raw::str(name);
    body.push_back(level);
    body.push_back(0x02);  // clean session
    body.push_back(0x00);
    body.push_back(0x3c);  // keep-alive 60
    if (properties) body.push_back(0x00);
    const Bytes id = raw::str("odd");
    body.insert(body.end(), id.begin(), id.end());
    return raw::packet(0x10, body);
}

// A QoS 0 PUBLISH on "big/x" of exactly `total` bytes (130 to 16386).
Bytes publish_of_size(ProtocolVersion v, std::size_t total) {
    const std::size_t remaining = total - 3;  // 1 header byte, 2 length bytes
    const std::size_t overhead = 2 + 5 + (v == ProtocolVersion::v5 ? 1 : 0);
    return raw::publish(v, "big/x", std::string(remaining - overhead, 'x'));
}

std::vector<MalformedCase> cases() {
    const auto v311 = ProtocolVersion::v3_1_1;
    const auto v5 = ProtocolVersion::v5;
    std::vector<MalformedCase> out;
    // [MQTT-3.8.1-1] SUBSCRIBE flags must be 0010.
    out.push_back({"SubscribeWithReservedFlags0000_v311", v311, [] { return hex("80 08 00 01 00 03 61 2f 62 00"); },
                   Answer::close});
    out.push_back({"SubscribeWithReservedFlags0000_v5", v5, [] { return hex("80 09 00 01 00 00 03 61 2f 62 00"); },
                   Answer::disconnect, ReasonCode::malformed_packet});
    // [MQTT-3.3.1-4] both QoS bits set.
    out.push_back({"PublishWithQos3_v311", v311, [] { return hex("36 07 00 03 61 2f 62 00 01"); }, Answer::close});
    out.push_back({"PublishWithQos3_v5", v5, [] { return hex("36 08 00 03 61 2f 62 00 01 00"); }, Answer::disconnect,
                   ReasonCode::malformed_packet});
    // [MQTT-1.5.4-1] ill-formed UTF-8 (0xFF) in the topic name.
    out.push_back({"PublishTopicNotUtf8_v311", v311, [] { return hex("30 06 00 03 61 ff 62 78"); }, Answer::close});
    out.push_back({"PublishTopicNotUtf8_v5", v5, [] { return hex("30 07 00 03 61 ff 62 00 78"); }, Answer::disconnect,
                   ReasonCode::malformed_packet});
    // [MQTT-1.5.4-2] U+0000 in the topic name.
    out.push_back({"PublishTopicWithNul_v311", v311, [] { return hex("30 06 00 03 61 00 62 78"); }, Answer::close});
    out.push_back({"PublishTopicWithNul_v5", v5, [] { return hex("30 07 00 03 61 00 62 00 78"); }, Answer::disconnect,
                   ReasonCode::malformed_packet});
    // limits.max_packet_size = 1KiB; [MQTT-3.2.2.3.6] / 4.13: 0x95 Packet too large.
    out.push_back({"PacketLargerThanMaxPacketSize_v311", v311, [v311] { return publish_of_size(v311, 2000); },
                   Answer::close, ReasonCode::success, true});
    out.push_back({"PacketLargerThanMaxPacketSize_v5", v5, [v5] { return publish_of_size(v5, 2000); },
                   Answer::disconnect, ReasonCode::packet_too_large, true});
    // [MQTT-3.1.0-1] the first packet must be CONNECT.
    out.push_back({"PingreqBeforeConnect", std::nullopt, [] { return hex("c0 00"); }, Answer::close});
    out.push_back({"PublishBeforeConnect", std::nullopt, [] { return hex("30 06 00 03 61 2f 62 78"); }, Answer::close});
    // [MQTT-3.1.2-1] a protocol name other than "MQTT": the server may close, or
    // answer CONNACK 0x84 (5.0) / 0x01 (3.1.1).
    out.push_back({"WrongProtocolName_v311", std::nullopt, [] { return connect_named("MQTX", 4, false); },
                   Answer::close_or_connack_unsupported});
    out.push_back({"WrongProtocolName_v5", std::nullopt, [] { return connect_named("MQTX", 5, true); },
                   Answer::close_or_connack_unsupported});
    // [MQTT-3.1.2-2] an unsupported protocol level: CONNACK 0x01 (3.1.1) / 0x84 (5.0), then close.
    out.push_back({"UnknownProtocolLevel6", std::nullopt, [] { return connect_named("MQTT", 6, false); },
                   Answer::connack_unsupported_version});
    out.push_back({"UnknownProtocolLevel2", std::nullopt, [] { return connect_named("MQTT", 2, false); },
                   Answer::connack_unsupported_version});
    return out;
}

std::vector<MalformedParam> params() {
    std::vector<MalformedParam> out;
    for (int workers : {1, 2}) {
        for (auto& c : cases()) out.push_back({workers, c});
    }
    return out;
}

class Malformed : public testing::TestWithParam<MalformedParam> {
protected:
    void SetUp() override {
        gateway_ = std::make_unique<GatewayProcess>(
            GatewayOptions{.workers = GetParam().workers, .extra_toml = "[limits]\nmax_packet_size = \"1KiB\"\n"});
        bystander_ = std::make_unique<PahoClient>("bystander");
        bystander_->connect_ok(gateway_->port(), {.version = ProtocolVersion::v5, .client_id = "bystander"});
        ASSERT_EQ(bystander_->subscribe("m/#", 1), std::vector<int>{1});
        publisher_ = std::make_unique<PahoClient>("publisher");
        publisher_->connect_ok(gateway_->port(), {.version = ProtocolVersion::v3_1_1, .client_id = "publisher"});
        publisher_->publish("m/before", "before", 1);
        ASSERT_EQ(bystander_->message().payload, "before");
    }

    void TearDown() override {
        if (gateway_) expect_clean_stop(*gateway_);
    }

    std::unique_ptr<GatewayProcess> gateway_;
    std::unique_ptr<PahoClient> bystander_;
    std::unique_ptr<PahoClient> publisher_;
};

std::string malformed_name(const testing::TestParamInfo<MalformedParam>& info) {
    return info.param.c.name + "_workers" + std::to_string(info.param.workers);
}

INSTANTIATE_TEST_SUITE_P(Cases, Malformed, testing::ValuesIn(params()), malformed_name);

// Checks that `bytes` (all the server sent before closing) are a CONNACK
// refusing the protocol version: 20 02 00 01 (3.1.1) or 20 03+ 00 84 (5.0).
void expect_connack_unsupported(const Bytes& bytes) {
    ASSERT_GE(bytes.size(), 4u) << "expected a CONNACK, got " << to_hex(bytes);
    EXPECT_EQ(bytes[0], 0x20) << to_hex(bytes);
    EXPECT_EQ(bytes[2], 0x00) << "session present must be 0 with a refusal: " << to_hex(bytes);
    if (bytes[1] == 0x02) {
        EXPECT_EQ(bytes.size(), 4u) << to_hex(bytes);
        EXPECT_EQ(bytes[3], 0x01) << "3.1.1 form: return code 0x01 unacceptable protocol version: " << to_hex(bytes);
    } else {
        EXPECT_EQ(bytes[3], 0x84) << "5.0 form: reason 0x84 Unsupported Protocol Version: " << to_hex(bytes);
        EXPECT_EQ(bytes.size(), 2u + bytes[1]) << "one CONNACK and nothing else: " << to_hex(bytes);
    }
}

TEST_P(Malformed, ConnectionClosedWithTheProtocolAnswerAndOtherClientsUnaffected) {
    const MalformedCase& c = GetParam().c;
    RawClient raw(gateway_->port());
    if (c.connect_first) {
        const ProtocolVersion v = *c.connect_first;
        raw.send(raw::connect({.version = v, .client_id = "offender"}));
        const auto connack = raw.read_packet(v, 3s);
        ASSERT_TRUE(connack) << "no CONNACK; got " << to_hex(raw.pending());
        ASSERT_EQ(connack->type(), PacketType::connack);
        ASSERT_EQ(connack->as<mqtt::Connack>().reason_code, ReasonCode::success);
        if (c.limit_check) {
            if (v == ProtocolVersion::v5) {
                // [MQTT-3.2.2.3.6] the server tells its Maximum Packet Size.
                EXPECT_EQ(connack->as<mqtt::Connack>().properties.maximum_packet_size,
                          std::optional<std::uint32_t>{1024});
            }
            // A packet of exactly the limit is accepted: the connection still answers a PINGREQ.
            ASSERT_TRUE(raw.send(publish_of_size(v, 1024)));
            ASSERT_TRUE(raw.send(raw::pingreq()));
            const auto pong = raw.read_packet(v, 3s);
            ASSERT_TRUE(pong) << "a 1024-byte packet with max_packet_size 1KiB was refused; got "
                              << to_hex(raw.pending());
            ASSERT_EQ(pong->type(), PacketType::pingresp);
        }
    }
    raw.send(c.bytes());  // may fail part-way when the server closes early
    ASSERT_TRUE(raw.wait_closed(3s)) << "the connection is still open 3 s after the malformed packet; received "
                                     << to_hex(raw.pending());
    const Bytes answer = raw.pending();
    switch (c.answer) {
        case Answer::close:
            EXPECT_TRUE(answer.empty()) << "expected a close without an answer, got " << to_hex(answer);
            break;
        case Answer::disconnect: {
            const auto d = mqtt::decode(answer, ProtocolVersion::v5);
            ASSERT_EQ(d.status, mqtt::DecodeStatus::packet) << "expected a DISCONNECT, got " << to_hex(answer);
            ASSERT_EQ(mqtt::type_of(d.packet), PacketType::disconnect) << to_hex(answer);
            EXPECT_EQ(std::get<mqtt::Disconnect>(d.packet).reason_code, c.reason)
                << "DISCONNECT reason 0x" << std::hex << static_cast<int>(std::get<mqtt::Disconnect>(d.packet).reason_code)
                << ", bytes " << to_hex(answer);
            EXPECT_EQ(d.size, answer.size()) << "bytes after the DISCONNECT: " << to_hex(answer);
            break;
        }
        case Answer::connack_unsupported_version:
            expect_connack_unsupported(answer);
            break;
        case Answer::close_or_connack_unsupported:
            if (!answer.empty()) expect_connack_unsupported(answer);
            break;
    }

    // The client connected all along is untouched.
    publisher_->publish("m/after", "after", 1);
    const auto m = bystander_->message();
    EXPECT_EQ(m.topic, "m/after");
    EXPECT_EQ(m.payload, "after");
    EXPECT_FALSE(bystander_->next("disconnect", 0ms)) << "the bystander was disconnected";
    // A new client can still connect.
    PahoClient newcomer("newcomer");
    EXPECT_EQ(code(newcomer.connect(gateway_->port(), {.version = ProtocolVersion::v3_1_1, .client_id = "newcomer"})), 0);
}

}  // namespace
}  // namespace fieldgate::test
