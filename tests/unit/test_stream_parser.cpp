// StreamParser: the same packets come out however the reads split the bytes,
// oversized packets are refused from their fixed header, and an error ends the
// stream for good.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/mqtt/codec.hpp"
#include "gateway/mqtt/stream_parser.hpp"

using namespace fieldgate::mqtt;
using namespace std::string_view_literals;

namespace {

constexpr auto V5 = ProtocolVersion::v5;
constexpr auto V311 = ProtocolVersion::v3_1_1;

using Bytes = std::vector<std::uint8_t>;

std::string hex_of(unsigned v) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return {'0', 'x', digits[(v >> 4) & 0xF], digits[v & 0xF]};
}

std::string describe(ReasonCode rc) {
    return hex_of(static_cast<unsigned>(rc)) + " " + std::string(reason_name(rc));
}

// A stream of valid packets in one version, opened by a CONNECT, and the
// version the parser starts in (the other one, so the CONNECT must switch it).
struct Scenario {
    std::string_view name;
    ProtocolVersion version;
    ProtocolVersion parser_starts_in;
    std::vector<Packet> packets;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

Scenario v5_scenario() {
    Connect connect;
    connect.version = V5;
    connect.clean_start = false;
    connect.keep_alive = 30;
    connect.client_id = "sensor-7";
    Will will;
    will.topic = "dev/sensor-7/status";
    will.payload = "offline";
    will.qos = QoS::at_least_once;
    will.retain = true;
    will.properties.will_delay_interval = 5;
    will.properties.payload_format_indicator = 1;
    connect.will = will;
    connect.username = "user"sv;
    connect.password = "s\0cret"sv;
    connect.properties.session_expiry_interval = 3600;
    connect.properties.receive_maximum = 20;
    connect.properties.maximum_packet_size = 65536;
    connect.properties.user_properties = {{"site", "north"}, {"site", "south"}};

    Connack connack;
    connack.properties.topic_alias_maximum = 10;
    connack.properties.maximum_qos = 1;
    connack.properties.assigned_client_identifier = "auto-1";

    Publish plain;
    plain.topic = "a/b";
    plain.payload = "hello";

    Publish rich;
    rich.dup = true;
    rich.qos = QoS::at_least_once;
    rich.retain = true;
    rich.topic = "plant/line1/temp";
    rich.packet_id = 7;
    rich.properties.payload_format_indicator = 1;
    rich.properties.message_expiry_interval = 60;
    rich.properties.content_type = "text/plain";
    rich.properties.response_topic = "reply/1";
    // Binary properties hold text here: this test is about splits, and binary
    // property values are covered by the near-miss table in test_codec_malformed.cpp.
    rich.properties.correlation_data = "corr-17";
    rich.properties.topic_alias = 3;
    rich.properties.user_properties = {{"unit", "C"}};
    rich.payload = "21.5";

    Publish aliased;
    aliased.qos = QoS::exactly_once;
    aliased.packet_id = 8;
    aliased.properties.topic_alias = 3;
    aliased.properties.subscription_identifiers = {1, 300};
    aliased.payload = "\x00\xFF\x00"sv;

    Puback puback;
    puback.packet_id = 7;
    Pubrec pubrec;
    pubrec.packet_id = 8;
    pubrec.reason_code = ReasonCode::no_matching_subscribers;
    pubrec.properties.reason_string = "nobody";
    Pubrel pubrel;
    pubrel.packet_id = 8;
    Pubcomp pubcomp;
    pubcomp.packet_id = 8;
    pubcomp.reason_code = ReasonCode::packet_identifier_not_found;

    Subscribe subscribe;
    subscribe.packet_id = 9;
    subscribe.properties.subscription_identifiers = {42};
    subscribe.subscriptions = {
        {"plant/+/temp", {QoS::at_least_once, true, true, RetainHandling::send_if_new_subscription}},
        {"$share/g/alarms/#", {QoS::exactly_once, false, false, RetainHandling::do_not_send}},
    };
    Suback suback;
    suback.packet_id = 9;
    suback.reason_codes = {ReasonCode::granted_qos_1, ReasonCode::not_authorized};

    Unsubscribe unsubscribe;
    unsubscribe.packet_id = 10;
    unsubscribe.filters = {"plant/+/temp", "$share/g/alarms/#"};
    Unsuback unsuback;
    unsuback.packet_id = 10;
    unsuback.reason_codes = {ReasonCode::success, ReasonCode::no_subscription_existed};

    Auth auth;
    auth.reason_code = ReasonCode::continue_authentication;
    auth.properties.authentication_method = "SCRAM-SHA-256";
    auth.properties.authentication_data = "n=u,r=abc";

    Disconnect disconnect;
    disconnect.reason_code = ReasonCode::disconnect_with_will;
    disconnect.properties.session_expiry_interval = 0;
    disconnect.properties.reason_string = "bye";

    return {"v5", V5, V311,
            {connect, connack, plain, rich, aliased, puback, pubrec, pubrel, pubcomp, subscribe, suback,
             unsubscribe, unsuback, Pingreq{}, Pingresp{}, auth, disconnect}};
}

Scenario v311_scenario() {
    Connect connect;
    connect.version = V311;
    connect.clean_start = true;
    connect.keep_alive = 60;
    connect.client_id = "plc-2";
    Will will;
    will.topic = "w/plc-2";
    will.payload = "gone";
    will.qos = QoS::exactly_once;
    connect.will = will;
    connect.username = "u"sv;
    connect.password = "p"sv;

    Connack connack;
    connack.session_present = true;

    Publish plain;
    plain.topic = "a/b";
    plain.payload = "x";
    Publish retained;
    retained.qos = QoS::at_least_once;
    retained.retain = true;
    retained.topic = "state/valve";
    retained.packet_id = 1;
    retained.payload = "open";
    Publish duplicate;
    duplicate.dup = true;
    duplicate.qos = QoS::exactly_once;
    duplicate.topic = "cmd/valve";
    duplicate.packet_id = 2;  // empty payload

    Puback puback;
    puback.packet_id = 1;
    Pubrec pubrec;
    pubrec.packet_id = 2;
    Pubrel pubrel;
    pubrel.packet_id = 2;
    Pubcomp pubcomp;
    pubcomp.packet_id = 2;

    Subscribe subscribe;
    subscribe.packet_id = 3;
    subscribe.subscriptions = {{"a/#", {QoS::at_least_once}}, {"+/b", {QoS::at_most_once}}};
    Suback suback;
    suback.packet_id = 3;
    suback.reason_codes = {ReasonCode::granted_qos_1, ReasonCode::unspecified_error};
    Unsubscribe unsubscribe;
    unsubscribe.packet_id = 4;
    unsubscribe.filters = {"a/#"};
    Unsuback unsuback;
    unsuback.packet_id = 4;

    return {"v311", V311, V5,
            {connect, connack, plain, retained, duplicate, puback, pubrec, pubrel, pubcomp, subscribe,
             suback, unsubscribe, unsuback, Pingreq{}, Pingresp{}, Disconnect{}}};
}

Bytes encode_all(const std::vector<Packet>& packets, ProtocolVersion version,
                 std::vector<std::size_t>* sizes = nullptr) {
    Bytes out;
    for (const Packet& p : packets) {
        const std::size_t n = encode(p, version, out);
        if (sizes != nullptr) sizes->push_back(n);
    }
    return out;
}

Bytes encode_one(const Packet& packet, ProtocolVersion version) {
    Bytes out;
    encode(packet, version, out);
    return out;
}

// Drains a parser after each feed and checks every packet against the next
// expected one while its views are still valid.
class Checker {
public:
    Checker(const std::vector<Packet>& expected, const std::vector<std::size_t>& sizes)
        : expected_(expected), sizes_(sizes) {}

    void drain(StreamParser& parser) {
        for (;;) {
            const DecodeResult result = parser.next();
            if (result.status == DecodeStatus::need_more) return;
            if (result.status == DecodeStatus::error) {
                fail("error " + describe(result.error.code) + " (" + std::string(result.error.message) +
                     ") before packet " + std::to_string(seen_));
                return;
            }
            if (seen_ >= expected_.size()) {
                fail("an extra " + std::string(to_string(type_of(result.packet))) + " packet");
                return;
            }
            if (!(result.packet == expected_[seen_])) {
                fail("packet " + std::to_string(seen_) + " (" + std::string(to_string(type_of(result.packet))) +
                     ") differs from the " + std::string(to_string(type_of(expected_[seen_]))) + " sent");
            }
            if (result.size != sizes_[seen_]) {
                fail("packet " + std::to_string(seen_) + " took " + std::to_string(result.size) +
                     " bytes, encoded as " + std::to_string(sizes_[seen_]));
            }
            ++seen_;
        }
    }

    ::testing::AssertionResult all_seen() const {
        if (!failure_.empty()) return ::testing::AssertionFailure() << failure_;
        if (seen_ != expected_.size()) {
            return ::testing::AssertionFailure()
                   << "got " << seen_ << " of " << expected_.size() << " packets";
        }
        return ::testing::AssertionSuccess();
    }

private:
    void fail(const std::string& what) {
        if (failure_.empty()) failure_ = what;
    }

    const std::vector<Packet>& expected_;
    const std::vector<std::size_t>& sizes_;
    std::size_t seen_ = 0;
    std::string failure_;
};

// Feeds `bytes` cut at the ascending offsets in `cuts`, draining after each feed.
::testing::AssertionResult parses_when_cut(const Scenario& s, const Bytes& bytes,
                                           const std::vector<std::size_t>& sizes,
                                           const std::vector<std::size_t>& cuts) {
    StreamParser parser(max_packet_size_limit, s.parser_starts_in);
    Checker checker(s.packets, sizes);
    std::size_t from = 0;
    auto feed_to = [&](std::size_t to) {
        parser.feed(std::span(bytes).subspan(from, to - from));
        from = to;
        checker.drain(parser);
    };
    for (std::size_t cut : cuts) feed_to(cut);
    feed_to(bytes.size());

    auto result = checker.all_seen();
    if (!result) return result;
    if (parser.buffered() != 0) return ::testing::AssertionFailure() << parser.buffered() << " bytes left over";
    if (parser.version() != s.version) {
        return ::testing::AssertionFailure() << "parser ended in " << to_string(parser.version());
    }
    return ::testing::AssertionSuccess();
}

class StreamParserSplit : public ::testing::TestWithParam<Scenario> {
protected:
    void SetUp() override {
        bytes_ = encode_all(GetParam().packets, GetParam().version, &sizes_);
        ASSERT_EQ(bytes_.size(), std::accumulate(sizes_.begin(), sizes_.end(), std::size_t{0}));
    }

    Bytes bytes_;
    std::vector<std::size_t> sizes_;
};

TEST_P(StreamParserSplit, YieldsSamePacketsInOneFeed) {
    EXPECT_TRUE(parses_when_cut(GetParam(), bytes_, sizes_, {}));
}

TEST_P(StreamParserSplit, YieldsSamePacketsWhenSplitAtEveryOffset) {
    for (std::size_t cut = 0; cut <= bytes_.size(); ++cut) {
        EXPECT_TRUE(parses_when_cut(GetParam(), bytes_, sizes_, {cut})) << "split at byte " << cut;
    }
}

TEST_P(StreamParserSplit, YieldsSamePacketsFedByteByByte) {
    std::vector<std::size_t> cuts(bytes_.size());
    std::iota(cuts.begin(), cuts.end(), std::size_t{0});
    EXPECT_TRUE(parses_when_cut(GetParam(), bytes_, sizes_, cuts));
}

TEST_P(StreamParserSplit, YieldsSamePacketsThroughPrepareAndCommit) {
    const Scenario& s = GetParam();
    // Reads of an awkward size into a larger prepared area, as a socket would fill it.
    for (std::size_t read_size : {1u, 3u, 7u, 64u, 1000u}) {
        StreamParser parser(max_packet_size_limit, s.parser_starts_in);
        Checker checker(s.packets, sizes_);
        for (std::size_t from = 0; from < bytes_.size(); from += read_size) {
            const std::size_t n = std::min(read_size, bytes_.size() - from);
            const std::size_t wanted = std::max(n, std::size_t{256});
            const std::span<std::uint8_t> area = parser.prepare(wanted);
            ASSERT_GE(area.size(), wanted);
            std::memcpy(area.data(), bytes_.data() + from, n);
            parser.commit(n);
            checker.drain(parser);
        }
        EXPECT_TRUE(checker.all_seen()) << "reads of " << read_size << " bytes";
        EXPECT_EQ(parser.buffered(), 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(StreamParser, StreamParserSplit, ::testing::Values(v5_scenario(), v311_scenario()),
                         [](const ::testing::TestParamInfo<Scenario>& param_info) {
                             return std::string(param_info.param.name);
                         });

Packet small_publish(std::string_view topic, std::string_view payload) {
    Publish p;
    p.topic = topic;
    p.payload = payload;
    return p;
}

TEST(StreamParser, YieldsManyPacketsFromOneFeed) {
    std::vector<Packet> packets;
    const std::vector<std::string> topics = [] {
        std::vector<std::string> t;
        for (int i = 0; i < 500; ++i) t.push_back("t/" + std::to_string(i));
        return t;
    }();
    for (const std::string& topic : topics) {
        packets.push_back(small_publish(topic, topic));
        packets.push_back(Pingreq{});
    }
    std::vector<std::size_t> sizes;
    const Bytes bytes = encode_all(packets, V311, &sizes);

    StreamParser parser;
    parser.feed(bytes);
    EXPECT_EQ(parser.buffered(), bytes.size());
    Checker checker(packets, sizes);
    checker.drain(parser);

    EXPECT_TRUE(checker.all_seen());
    EXPECT_EQ(parser.buffered(), 0u);
}

TEST(StreamParser, ReturnsNeedMoreWhenEmpty) {
    StreamParser parser;
    EXPECT_EQ(parser.next().status, DecodeStatus::need_more);
    EXPECT_EQ(parser.buffered(), 0u);
}

TEST(StreamParser, CountsBufferedBytesUntilPacketsAreReturned) {
    const Bytes ping = encode_one(Pingreq{}, V311);
    const Bytes publish = encode_one(small_publish("a/b", "payload"), V311);
    ASSERT_EQ(ping.size(), 2u);

    StreamParser parser;
    parser.feed(ping);
    parser.feed(std::span(publish).first(3));
    EXPECT_EQ(parser.buffered(), ping.size() + 3);

    EXPECT_EQ(parser.next().status, DecodeStatus::packet);
    EXPECT_EQ(parser.buffered(), 3u);
    EXPECT_EQ(parser.next().status, DecodeStatus::need_more);
    EXPECT_EQ(parser.buffered(), 3u);

    parser.feed(std::span(publish).subspan(3));
    EXPECT_EQ(parser.buffered(), publish.size());
    const DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::packet);
    EXPECT_EQ(std::get<Publish>(result.packet).payload, "payload");
    EXPECT_EQ(parser.buffered(), 0u);
}

TEST(StreamParser, RefusesOversizedPacketFromFixedHeader) {
    // PUBLISH fixed headers of 2 to 5 bytes, each announcing more than 100 bytes.
    const std::vector<Bytes> headers = {
        {0x30, 0x7F},                    // 127-byte body
        {0x30, 0x80, 0x01},              // 128
        {0x30, 0x80, 0x80, 0x01},        // 16,384
        {0x30, 0x80, 0x80, 0x80, 0x01},  // 2,097,152
    };
    for (const Bytes& header : headers) {
        SCOPED_TRACE(::testing::Message() << header.size() << "-byte fixed header");
        StreamParser parser(100);
        // The header arrives a byte at a time; the limit applies once it is whole.
        for (std::size_t i = 0; i + 1 < header.size(); ++i) {
            parser.feed(std::span(header).subspan(i, 1));
            EXPECT_EQ(parser.next().status, DecodeStatus::need_more) << "after " << i + 1 << " bytes";
        }
        parser.feed(std::span(header).last(1));

        const DecodeResult result = parser.next();
        ASSERT_EQ(result.status, DecodeStatus::error);
        EXPECT_EQ(describe(result.error.code), describe(ReasonCode::packet_too_large));
        EXPECT_FALSE(result.error.message.empty());
    }
}

TEST(StreamParser, StaysFailedAfterOversizedPacket) {
    StreamParser parser(100);
    parser.feed(Bytes{0x30, 0x80, 0x01});
    ASSERT_EQ(parser.next().status, DecodeStatus::error);

    // Whatever follows, valid or not, the stream is over.
    parser.feed(Bytes(128, 0x00));
    parser.feed(encode_one(Pingreq{}, V311));
    for (int i = 0; i < 3; ++i) {
        const DecodeResult result = parser.next();
        ASSERT_EQ(result.status, DecodeStatus::error) << "call " << i;
        EXPECT_EQ(result.error.code, ReasonCode::packet_too_large);
    }
}

TEST(StreamParser, YieldsEarlierPacketsBeforeMalformedOne) {
    Bytes bytes = encode_one(Pingreq{}, V311);
    const Bytes publish = encode_one(small_publish("a/b", "x"), V311);
    bytes.insert(bytes.end(), publish.begin(), publish.end());
    const Bytes malformed = {0xC0, 0x01, 0x00};  // PINGREQ with a body
    bytes.insert(bytes.end(), malformed.begin(), malformed.end());
    const Bytes ping = encode_one(Pingreq{}, V311);
    bytes.insert(bytes.end(), ping.begin(), ping.end());

    StreamParser parser;
    parser.feed(bytes);

    DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::packet);
    EXPECT_TRUE(std::holds_alternative<Pingreq>(result.packet));
    result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::packet);
    EXPECT_EQ(std::get<Publish>(result.packet).topic, "a/b");
    for (int i = 0; i < 3; ++i) {
        result = parser.next();
        ASSERT_EQ(result.status, DecodeStatus::error) << "call " << i;
        EXPECT_EQ(describe(result.error.code), describe(ReasonCode::malformed_packet));
    }
}

TEST(StreamParser, AssemblesOneMebibytePublishFromFourKibChunks) {
    std::string payload(std::size_t{1} << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
    Publish publish;
    publish.qos = QoS::at_least_once;
    publish.packet_id = 77;
    publish.topic = "bulk/firmware";
    publish.properties.content_type = "application/octet-stream";
    publish.payload = payload;
    const Bytes bytes = encode_one(publish, V5);
    ASSERT_GT(bytes.size(), payload.size());

    StreamParser parser(max_packet_size_limit, V5);
    constexpr std::size_t chunk = 4096;
    for (std::size_t from = 0; from < bytes.size(); from += chunk) {
        const std::size_t n = std::min(chunk, bytes.size() - from);
        parser.feed(std::span(bytes).subspan(from, n));
        if (from + n < bytes.size()) {
            ASSERT_EQ(parser.next().status, DecodeStatus::need_more) << "after " << from + n << " bytes";
            ASSERT_EQ(parser.buffered(), from + n);
        }
    }

    const DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::packet) << result.error.message;
    EXPECT_EQ(result.size, bytes.size());
    EXPECT_TRUE(result.packet == Packet{publish});
    EXPECT_TRUE(std::get<Publish>(result.packet).payload == payload);
    EXPECT_EQ(parser.buffered(), 0u);
    EXPECT_EQ(parser.next().status, DecodeStatus::need_more);
}

TEST(StreamParser, RefusesOneMebibytePublishOverLimitFromFirstChunk) {
    Publish publish;
    publish.topic = "bulk/firmware";
    const std::string payload(std::size_t{1} << 20, 'x');
    publish.payload = payload;
    const Bytes bytes = encode_one(publish, V5);

    StreamParser parser(std::uint32_t{1} << 20, V5);
    parser.feed(std::span(bytes).first(4096));

    const DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::error);
    EXPECT_EQ(result.error.code, ReasonCode::packet_too_large);
}

TEST(StreamParser, AppliesLimitChangedAfterConstruction) {
    StreamParser parser;
    parser.set_max_packet_size(100);
    parser.feed(Bytes{0x30, 0x7F});
    const DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::error);
    EXPECT_EQ(result.error.code, ReasonCode::packet_too_large);
}

Auth scram_auth() {
    Auth auth;
    auth.reason_code = ReasonCode::continue_authentication;
    auth.properties.authentication_method = "SCRAM-SHA-1";
    auth.properties.authentication_data = "r=xyz";
    return auth;
}

TEST(StreamParser, SwitchesToV5OnConnectSoAuthDecodes) {
    Connect connect;
    connect.version = V5;
    connect.client_id = "c";
    connect.properties.authentication_method = "SCRAM-SHA-1";
    Bytes bytes = encode_one(connect, V5);
    const Bytes auth = encode_one(scram_auth(), V5);
    ASSERT_FALSE(auth.empty());
    bytes.insert(bytes.end(), auth.begin(), auth.end());

    StreamParser parser;  // starts in 3.1.1, as a listener does
    ASSERT_EQ(parser.version(), V311);
    parser.feed(bytes);

    DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::packet) << result.error.message;
    EXPECT_TRUE(result.packet == Packet{connect});
    EXPECT_EQ(parser.version(), V5);

    result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::packet) << describe(result.error.code) << ": " << result.error.message;
    EXPECT_TRUE(result.packet == Packet{scram_auth()});
}

TEST(StreamParser, RefusesAuthWithoutConnectV5) {
    StreamParser parser;  // 3.1.1: AUTH is a reserved packet type
    parser.feed(encode_one(scram_auth(), V5));
    const DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::error);
    EXPECT_EQ(describe(result.error.code), describe(ReasonCode::malformed_packet));
}

TEST(StreamParser, SwitchesToV311OnConnect) {
    Connect connect;
    connect.version = V311;
    connect.client_id = "old";
    Bytes bytes = encode_one(connect, V311);
    // A PUBACK with a reason code: valid in 5.0, but a 3.1.1 PUBACK is the packet
    // identifier alone, so after the switch it is refused.
    const Bytes puback = {0x40, 0x03, 0x00, 0x01, 0x10};
    bytes.insert(bytes.end(), puback.begin(), puback.end());

    StreamParser parser(max_packet_size_limit, V5);
    parser.feed(bytes);

    ASSERT_EQ(parser.next().status, DecodeStatus::packet);
    EXPECT_EQ(parser.version(), V311);
    const DecodeResult result = parser.next();
    ASSERT_EQ(result.status, DecodeStatus::error);
    EXPECT_EQ(describe(result.error.code), describe(ReasonCode::malformed_packet));
}

}  // namespace
