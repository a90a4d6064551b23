// Connect: CONNACK answers, client identifiers, session present, takeover,
// connect timeout, keep-alive, Server Keep Alive; the real binary against
// paho-mqtt and a raw socket, with 1 and 2 workers.

#include <gtest/gtest.h>

#include "support/scenario.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;

// Keep-alive and connect-timeout checks allow this much scheduling slack
// either side of the time the spec gives.
constexpr double slack_before = 0.15;
constexpr double slack_after = 1.0;

class Connect : public BrokerTest {};
INSTANTIATE_TEST_SUITE_P(AllVersions, Connect, testing::ValuesIn(matrix(all_versions())), param_name);

class ConnectMqtt5 : public BrokerTest {};
INSTANTIATE_TEST_SUITE_P(V5, ConnectMqtt5, testing::ValuesIn(matrix({ProtocolVersion::v5})), param_name);

// Sockets that never get as far as a CONNECT: no version applies.
class ConnectTimeout : public BrokerTest {};
INSTANTIATE_TEST_SUITE_P(Workers, ConnectTimeout, testing::ValuesIn(matrix({ProtocolVersion::v3_1_1})),
                         workers_name);

TEST_P(Connect, CleanConnectIsAcceptedWithoutSessionPresent) {
    start();
    PahoClient client("client");
    const auto connack = client.connect(port(), clean("fresh"));
    EXPECT_EQ(code(connack), 0) << json::serialize(connack);
    EXPECT_FALSE(connack.at("session_present").as_bool());
    // The connection works: a subscription of its own receives its publish.
    EXPECT_EQ(client.subscribe("connect/echo", 1), std::vector<int>{1});
    client.publish("connect/echo", "ping", 1);
    const auto m = client.message();
    EXPECT_EQ(m.topic, "connect/echo");
    EXPECT_EQ(m.payload, "ping");
    EXPECT_EQ(m.qos, 1);
}

// [MQTT-3.2.2-2] session present 1 when a session is resumed; [MQTT-3.2.2-1]
// 0 with a clean session. MQTT 3.1 has no session present flag (the byte is
// reserved and stays 0), but the session is kept all the same.
TEST_P(Connect, SessionPresentAfterReconnectWithoutCleanSessionAndNotAfterCleanOne) {
    start();
    {
        PahoClient first("first");
        const auto connack = first.connect_ok(port(), persistent("keeper"));
        EXPECT_FALSE(connack.at("session_present").as_bool()) << "no session existed yet";
        EXPECT_EQ(first.subscribe("connect/kept", 1), std::vector<int>{1});
        first.disconnect();
    }
    PahoClient again("again");
    auto connack = again.connect_ok(port(), persistent("keeper"));
    EXPECT_EQ(connack.at("session_present").as_bool(), version() != ProtocolVersion::v3_1) << json::serialize(connack);
    // The resumed session still has its subscription.
    auto pub = publisher();
    pub->publish("connect/kept", "still here", 1);
    EXPECT_EQ(again.message().payload, "still here");
    again.disconnect();

    PahoClient cleaned("cleaned");
    connack = cleaned.connect_ok(port(), clean("keeper"));
    EXPECT_FALSE(connack.at("session_present").as_bool()) << json::serialize(connack);
}

// [MQTT-3.1.4-3] (v5: 3.1.4-3 with DISCONNECT 0x8E Session taken over).
TEST_P(Connect, SecondConnectionWithSameClientIdClosesTheFirstAndWorks) {
    start();
    PahoClient first("first");
    first.connect_ok(port(), clean("twin"));
    PahoClient second("second");
    const auto connack = second.connect(port(), clean("twin"));
    EXPECT_EQ(code(connack), 0) << json::serialize(connack);

    const auto gone = first.expect("disconnect", 5s);
    if (v5()) {
        EXPECT_TRUE(gone.at("server_disconnect").as_bool()) << json::serialize(gone);
        EXPECT_EQ(code(gone), 0x8E) << json::serialize(gone);
    } else {
        // 3.1/3.1.1 have no server DISCONNECT: the connection is closed.
        EXPECT_FALSE(gone.at("server_disconnect").as_bool()) << json::serialize(gone);
    }

    EXPECT_EQ(second.subscribe("connect/twin", 1), std::vector<int>{1});
    auto pub = publisher();
    pub->publish("connect/twin", "to the second", 1);
    const auto m = second.message();
    EXPECT_EQ(m.payload, "to the second");
    EXPECT_EQ(first.count_within("message", 300ms), 0u);
}

// Empty client identifiers: MQTT 5 assigns one [MQTT-3.1.3-7, 3.2.2.3.7];
// 3.1.1 accepts one only with clean session 1 and otherwise answers return
// code 0x02 [MQTT-3.1.3-7, 3.1.3-8]; 3.1 requires 1 to 23 characters (0x02).
TEST_P(Connect, EmptyClientIdIsAcceptedOnlyWhereTheVersionAllowsIt) {
    start();
    struct Case {
        bool clean;
        bool accepted;
    };
    std::vector<Case> cases;
    switch (version()) {
        case ProtocolVersion::v3_1: cases = {{true, false}, {false, false}}; break;
        case ProtocolVersion::v3_1_1: cases = {{true, true}, {false, false}}; break;
        case ProtocolVersion::v5: cases = {{true, true}, {false, true}}; break;
    }
    std::vector<std::string> assigned;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.clean ? "clean session 1" : "clean session 0");
        PahoClient client("empty-id");
        ConnectOptions o = c.clean ? clean("") : persistent("");
        const auto connack = client.connect(port(), o);
        if (!c.accepted) {
            EXPECT_EQ(code(connack), 0x02) << json::serialize(connack);
            EXPECT_FALSE(connack.at("session_present").as_bool());
            // [MQTT-3.2.2-5]: a refusing CONNACK is followed by closing the connection.
            const auto gone = client.expect("disconnect", 3s);
            EXPECT_FALSE(gone.at("server_disconnect").as_bool()) << json::serialize(gone);
            continue;
        }
        EXPECT_EQ(code(connack), 0) << json::serialize(connack);
        EXPECT_FALSE(connack.at("session_present").as_bool());
        const auto& props = connack.at("properties").as_object();
        if (v5()) {
            ASSERT_TRUE(props.contains("assigned_client_identifier")) << json::serialize(connack);
            const std::string id(props.at("assigned_client_identifier").as_string());
            EXPECT_FALSE(id.empty());
            assigned.push_back(id);
        } else {
            EXPECT_TRUE(props.empty()) << json::serialize(connack);
        }
        EXPECT_EQ(client.subscribe("connect/anon", 0), std::vector<int>{0});
    }
    if (assigned.size() == 2) {
        EXPECT_NE(assigned[0], assigned[1]) << "assigned identifiers must be unique";
    }
}

// [MQTT-3.1.2-24]: no packet within 1.5 times the keep-alive: the server
// closes the connection (v5: DISCONNECT 0x8D Keep Alive timeout first).
TEST_P(Connect, KeepAliveTimeoutClosesSilentClientAfterOneAndAHalfPeriods) {
    start();
    RawClient raw(port());
    raw.send(raw::connect({.version = version(), .client_id = "sleepy", .keepalive = 1}));
    const auto connack = raw.read_packet(version(), 3s);
    ASSERT_TRUE(connack) << "no CONNACK; got " << to_hex(raw.pending());
    ASSERT_EQ(connack->type(), PacketType::connack);
    ASSERT_EQ(connack->as<mqtt::Connack>().reason_code, mqtt::ReasonCode::success);
    const auto since = Clock::now();
    ASSERT_TRUE(raw.wait_closed(4s)) << "still open after 4 s with keep-alive 1 s";
    const double elapsed = seconds_since(since);
    EXPECT_GE(elapsed, 1.5 - slack_before);
    EXPECT_LE(elapsed, 1.5 + slack_after);
    if (v5()) {
        const auto disconnect = raw.read_packet(version(), 0ms);
        ASSERT_TRUE(disconnect) << "no DISCONNECT before the close; got " << to_hex(raw.pending());
        ASSERT_EQ(disconnect->type(), PacketType::disconnect);
        EXPECT_EQ(disconnect->as<mqtt::Disconnect>().reason_code, mqtt::ReasonCode::keep_alive_timeout);
    } else {
        EXPECT_TRUE(raw.pending().empty()) << "3.1.1 has no server DISCONNECT; got " << to_hex(raw.pending());
    }
}

// [MQTT-3.12.4-1] PINGRESP for each PINGREQ; a client that pings within its
// keep-alive stays connected well past 1.5 times it.
TEST_P(Connect, PingreqEveryHalfKeepAliveKeepsTheConnectionOpen) {
    start();
    RawClient raw(port());
    raw.send(raw::connect({.version = version(), .client_id = "pinger", .keepalive = 1}));
    const auto connack = raw.read_packet(version(), 3s);
    ASSERT_TRUE(connack);
    ASSERT_EQ(connack->as<mqtt::Connack>().reason_code, mqtt::ReasonCode::success);
    for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(500ms);
        ASSERT_TRUE(raw.send(raw::pingreq())) << "closed at ping " << i;
        const auto pong = raw.read_packet(version(), 1s);
        ASSERT_TRUE(pong) << "no PINGRESP to ping " << i << "; closed: " << raw.closed();
        EXPECT_EQ(pong->type(), PacketType::pingresp);
    }
    EXPECT_FALSE(raw.closed());
}

// connect_timeout: a socket that sends no CONNECT (or only part of one) is
// closed; one that sent its CONNECT is not.
TEST_P(ConnectTimeout, SocketWithoutCompleteConnectIsClosedAfterConnectTimeout) {
    start("[limits]\nconnect_timeout = \"1s\"\n");
    const auto since = Clock::now();
    RawClient silent(port());
    RawClient partial(port());
    RawClient connected(port());
    partial.send(hex("10 0d 00 04 4d 51"));  // the first bytes of a CONNECT, then nothing
    connected.send(raw::connect({.client_id = "in-time"}));
    const auto connack = connected.read_packet(ProtocolVersion::v3_1_1, 3s);
    ASSERT_TRUE(connack);
    ASSERT_EQ(connack->as<mqtt::Connack>().reason_code, mqtt::ReasonCode::success);

    ASSERT_TRUE(silent.wait_closed(4s)) << "a silent socket is still open after 4 s (connect_timeout 1 s)";
    const double elapsed = seconds_since(since);
    EXPECT_GE(elapsed, 1.0 - slack_before);
    EXPECT_LE(elapsed, 1.0 + slack_after);
    EXPECT_TRUE(silent.pending().empty()) << to_hex(silent.pending());
    EXPECT_TRUE(partial.wait_closed(2s)) << "a socket with half a CONNECT is still open";
    EXPECT_TRUE(partial.pending().empty()) << to_hex(partial.pending());

    // Past the connect timeout the connected client is still served.
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(connected.send(raw::pingreq()));
    const auto pong = connected.read_packet(ProtocolVersion::v3_1_1, 2s);
    ASSERT_TRUE(pong) << "the connected client was closed too";
    EXPECT_EQ(pong->type(), PacketType::pingresp);
}

// max_keepalive: a v5 client asking for more gets Server Keep Alive = the
// maximum [MQTT-3.2.2-21]; one asking for less is left alone.
TEST_P(ConnectMqtt5, ServerKeepAliveAnswersKeepAliveAboveMaximum) {
    start("[limits]\nmax_keepalive = \"30s\"\n");
    PahoClient above("above");
    ConnectOptions o = clean("above");
    o.keepalive = 120;
    const auto connack = above.connect_ok(port(), o);
    const auto& props = connack.at("properties").as_object();
    ASSERT_TRUE(props.contains("server_keep_alive")) << json::serialize(connack);
    EXPECT_EQ(props.at("server_keep_alive").to_number<int>(), 30);

    PahoClient below("below");
    o = clean("below");
    o.keepalive = 20;
    const auto connack2 = below.connect_ok(port(), o);
    const auto& props2 = connack2.at("properties").as_object();
    if (props2.contains("server_keep_alive")) {
        EXPECT_EQ(props2.at("server_keep_alive").to_number<int>(), 20) << json::serialize(connack2);
    }
}

// The keep-alive the server imposes is the one enforced: 1.5 x Server Keep Alive.
TEST_P(ConnectMqtt5, ServerKeepAliveIsTheKeepAliveEnforced) {
    start("[limits]\nmax_keepalive = \"1s\"\n");
    RawClient raw(port());
    raw.send(raw::connect({.version = ProtocolVersion::v5, .client_id = "greedy", .keepalive = 600}));
    const auto connack = raw.read_packet(ProtocolVersion::v5, 3s);
    ASSERT_TRUE(connack);
    const auto& c = connack->as<mqtt::Connack>();
    ASSERT_EQ(c.reason_code, mqtt::ReasonCode::success);
    ASSERT_EQ(c.properties.server_keep_alive, std::optional<std::uint16_t>{1});
    const auto since = Clock::now();
    ASSERT_TRUE(raw.wait_closed(4s)) << "keep-alive 600 s asked, Server Keep Alive 1 s: still open after 4 s";
    const double elapsed = seconds_since(since);
    EXPECT_GE(elapsed, 1.5 - slack_before);
    EXPECT_LE(elapsed, 1.5 + slack_after);
    const auto disconnect = raw.read_packet(ProtocolVersion::v5, 0ms);
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->as<mqtt::Disconnect>().reason_code, mqtt::ReasonCode::keep_alive_timeout);
}

}  // namespace
}  // namespace fieldgate::test
