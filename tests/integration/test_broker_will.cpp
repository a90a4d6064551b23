// Will: published when the connection is lost without DISCONNECT (socket
// closed, keep-alive timeout, protocol error), not on a normal DISCONNECT;
// QoS and retain honoured; MQTT 5 DISCONNECT 0x04 and the Will Delay Interval.

#include <gtest/gtest.h>

#include "support/scenario.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;

class Will : public BrokerTest {
protected:
    ConnectOptions with_will(std::string client_id, std::string topic, std::string payload, int qos = 1,
                             bool retain = false) const {
        ConnectOptions o = clean(std::move(client_id));
        o.will = WillOptions{std::move(topic), std::move(payload), qos, retain, {}};
        return o;
    }

    // A raw client with a will on `topic`; returns once its CONNACK is in.
    std::unique_ptr<RawClient> raw_with_will(const std::string& client_id, const std::string& topic,
                                             std::uint16_t keepalive = 60) {
        auto raw = std::make_unique<RawClient>(port());
        raw->send(raw::connect({.version = version(),
                                .client_id = client_id,
                                .keepalive = keepalive,
                                .will = raw::Will{topic, "lost", 1, false, {}}}));
        const auto connack = raw->read_packet(version(), 3s);
        if (!connack || connack->type() != PacketType::connack ||
            connack->as<mqtt::Connack>().reason_code != mqtt::ReasonCode::success) {
            throw std::runtime_error("raw CONNECT with will not accepted; got " + to_hex(raw->pending()));
        }
        return raw;
    }
};
INSTANTIATE_TEST_SUITE_P(AllVersions, Will, testing::ValuesIn(matrix(all_versions())), param_name);

class WillMqtt5 : public Will {
protected:
    // A v5 client with a will delayed by `delay` s and a session that lasts `expiry` s.
    ConnectOptions delayed(std::string client_id, std::uint32_t delay, std::uint32_t expiry) const {
        ConnectOptions o = with_will(std::move(client_id), "will/delayed", "late", 1);
        o.will->properties["will_delay_interval"] = delay;
        o.clean = false;
        o.properties["session_expiry_interval"] = expiry;
        return o;
    }
};
INSTANTIATE_TEST_SUITE_P(V5, WillMqtt5, testing::ValuesIn(matrix({ProtocolVersion::v5})), param_name);

// [MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT.
TEST_P(Will, PublishedWhenConnectionDropsWithoutDisconnect) {
    start();
    auto watcher = subscriber("will/#", 2);
    PahoClient client("client");
    client.connect_ok(port(), with_will("dropper", "will/drop", "gone", 2));
    client.drop();
    const auto m = watcher->message(3s);
    EXPECT_EQ(m.topic, "will/drop");
    EXPECT_EQ(m.payload, "gone");
    EXPECT_EQ(m.qos, 2);
    EXPECT_FALSE(m.retain);
    EXPECT_EQ(watcher->count_within("message", 300ms), 0u) << "the will was published more than once";
}

// [MQTT-3.1.2-10] / [MQTT-3.14.4-3] a normal DISCONNECT discards the will.
TEST_P(Will, NotPublishedOnNormalDisconnect) {
    start();
    auto watcher = subscriber("will/#", 1);
    PahoClient client("client");
    client.connect_ok(port(), with_will("polite", "will/normal", "should not appear"));
    client.disconnect();
    client.expect("disconnect");
    auto pub = publisher();
    pub->publish("will/sentinel", "sentinel", 1);
    const auto m = watcher->message();
    EXPECT_EQ(m.topic, "will/sentinel") << "got " << to_string(m);
    EXPECT_EQ(watcher->count_within("message", 500ms), 0u) << "the will was published after a normal DISCONNECT";
}

// [MQTT-3.1.2-8] keep-alive expiry is a loss of connection: the will goes out.
TEST_P(Will, PublishedOnKeepAliveTimeout) {
    start();
    auto watcher = subscriber("will/#", 1);
    const auto since = Clock::now();
    auto raw = raw_with_will("silent", "will/keepalive", 1);
    const auto m = watcher->message(4s);
    const double elapsed = seconds_since(since);
    EXPECT_EQ(m.topic, "will/keepalive");
    EXPECT_EQ(m.payload, "lost");
    EXPECT_EQ(m.qos, 1);
    EXPECT_GE(elapsed, 1.3) << "published before 1.5 x keep-alive";
    EXPECT_TRUE(raw->wait_closed(1s));
}

// [MQTT-3.1.0-2] a second CONNECT is a protocol violation: the connection is
// closed (v5: DISCONNECT 0x82 Protocol Error) and the will is published.
TEST_P(Will, PublishedOnProtocolError) {
    start();
    auto watcher = subscriber("will/#", 1);
    auto raw = raw_with_will("violator", "will/protocol");
    raw->send(raw::connect({.version = version(), .client_id = "violator"}));
    ASSERT_TRUE(raw->wait_closed(3s)) << "a second CONNECT did not close the connection";
    if (v5()) {
        const auto d = raw->read_packet(version(), 0ms);
        ASSERT_TRUE(d) << "no DISCONNECT; got " << to_hex(raw->pending());
        ASSERT_EQ(d->type(), PacketType::disconnect);
        EXPECT_EQ(d->as<mqtt::Disconnect>().reason_code, mqtt::ReasonCode::protocol_error);
    } else {
        EXPECT_TRUE(raw->pending().empty()) << to_hex(raw->pending());
    }
    const auto m = watcher->message(3s);
    EXPECT_EQ(m.topic, "will/protocol");
    EXPECT_EQ(m.payload, "lost");
}

// Will QoS and retain [MQTT-3.1.2-14/15/17]: live subscribers get it at
// min(will QoS, subscription QoS); a retained will is kept and delivered with
// RETAIN 1 to a later subscriber [MQTT-3.3.1-6/8].
TEST_P(Will, RetainedWillIsStoredAndDeliveredAtItsQos) {
    start();
    auto watcher = subscriber("will/#", 2);
    PahoClient client("client");
    client.connect_ok(port(), with_will("device7", "will/device7", "offline", 1, true));
    client.drop();
    const auto live = watcher->message(3s);
    EXPECT_EQ(live.topic, "will/device7");
    EXPECT_EQ(live.payload, "offline");
    EXPECT_EQ(live.qos, 1);
    // To an existing subscription without Retain As Published the flag is 0 [MQTT-3.3.1-12].
    EXPECT_FALSE(live.retain);

    auto late = subscriber("will/device7", 2, "late");
    const auto stored = late->message(3s);
    EXPECT_EQ(stored.topic, "will/device7");
    EXPECT_EQ(stored.payload, "offline");
    EXPECT_EQ(stored.qos, 1);
    EXPECT_TRUE(stored.retain);
}

// A QoS 0 will is delivered at QoS 0 even to a QoS 2 subscription.
TEST_P(Will, Qos0WillIsDeliveredAtQos0) {
    start();
    auto watcher = subscriber("will/#", 2);
    PahoClient client("client");
    client.connect_ok(port(), with_will("q0", "will/q0", "zero", 0));
    client.drop();
    const auto m = watcher->message(3s);
    EXPECT_EQ(m.payload, "zero");
    EXPECT_EQ(m.qos, 0);
}

// [MQTT-3.14.2.1] DISCONNECT with 0x04 Disconnect with Will Message: the will is published.
TEST_P(WillMqtt5, PublishedOnDisconnectWithReason0x04) {
    start();
    auto watcher = subscriber("will/#", 1);
    PahoClient client("client");
    client.connect_ok(port(), with_will("asks", "will/asked", "as asked"));
    client.disconnect(0x04);
    const auto m = watcher->message(3s);
    EXPECT_EQ(m.topic, "will/asked");
    EXPECT_EQ(m.payload, "as asked");
    EXPECT_EQ(m.qos, 1);
}

// [MQTT-3.1.3-9] the will waits for the Will Delay Interval.
TEST_P(WillMqtt5, DelayedByWillDelayInterval) {
    start();
    auto watcher = subscriber("will/#", 1);
    PahoClient client("client");
    client.connect_ok(port(), delayed("slow", 2, 60));
    client.drop();
    const auto since = Clock::now();
    const auto m = watcher->message(5s);
    const double elapsed = seconds_since(since);
    EXPECT_EQ(m.topic, "will/delayed");
    EXPECT_EQ(m.payload, "late");
    EXPECT_GE(elapsed, 1.8) << "published before the 2 s will delay";
    EXPECT_LE(elapsed, 3.5) << "published long after the 2 s will delay";
}

// [MQTT-3.1.3-9] a new connection to the session before the delay has passed
// cancels the will.
TEST_P(WillMqtt5, CancelledByReconnectWithinWillDelay) {
    start();
    auto watcher = subscriber("will/#", 1);
    PahoClient client("client");
    PahoClient again("again");  // started first, so that the reconnect is quick
    client.connect_ok(port(), delayed("back-soon", 2, 60));
    client.drop();
    const auto since = Clock::now();
    ConnectOptions o = clean("back-soon");
    o.clean = false;
    o.properties["session_expiry_interval"] = 60;
    const auto connack = again.connect_ok(port(), o);
    EXPECT_TRUE(connack.at("session_present").as_bool());
    ASSERT_LT(seconds_since(since), 1.5) << "reconnected too late for this test to mean anything";
    EXPECT_EQ(watcher->count_within("message", 3000ms), 0u) << "the will was published despite the reconnect";
}

// The will goes out when the session ends, if that is before the will delay
// [MQTT-3.1.2.5 Will Delay Interval: "or the Session ends, whichever happens first"].
TEST_P(WillMqtt5, PublishedAtSessionEndWhenThatComesBeforeWillDelay) {
    start();
    auto watcher = subscriber("will/#", 1);
    PahoClient client("client");
    client.connect_ok(port(), delayed("expiring", 30, 1));
    client.drop();
    const auto since = Clock::now();
    const auto m = watcher->message(4s);
    const double elapsed = seconds_since(since);
    EXPECT_EQ(m.topic, "will/delayed");
    EXPECT_GE(elapsed, 0.8) << "published before the 1 s session expiry";
    EXPECT_LE(elapsed, 2.5);
}

}  // namespace
}  // namespace fieldgate::test
