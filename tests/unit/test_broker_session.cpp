// The broker's protocol logic, bytes in and packets out: no socket, no sleep
// (STYLE.md 2, 10). Integration tests cover the same behaviour with real clients.
#include <gtest/gtest.h>

#include "broker_fakes.hpp"
#include "gateway/broker/local_client.hpp"
#include "gateway/broker/null_store.hpp"
#include "gateway/broker/session.hpp"

using namespace fieldgate::broker;
using namespace fieldgate::broker::testing;
using namespace fieldgate::mqtt;
using namespace std::chrono_literals;

namespace {

class BrokerTest : public ::testing::Test {
protected:
    explicit BrokerTest(std::size_t workers = 1) : executor(workers), store(executor), broker(limits(), executor, store) {}

    static BrokerLimits limits() {
        BrokerLimits l;
        l.receive_maximum = 10;
        l.max_queued_messages = 5;
        l.max_keepalive = 120s;
        l.topic_alias_maximum = 4;
        return l;
    }

    // Connects a client on `worker` and returns its port, CONNACK taken.
    std::shared_ptr<FakePort> connect(Connect c, std::size_t worker = 0, Connack* connack = nullptr) {
        auto port = std::make_shared<FakePort>(c.version);
        broker.connect(port, worker, bytes_of(c, c.version));
        executor.run();
        auto first = port->next();  // the CONNACK; what follows stays for the test
        EXPECT_TRUE(first && std::holds_alternative<Connack>(*first));
        if (first && connack != nullptr) *connack = std::get<Connack>(*first);
        return port;
    }

    static Connect connect_packet(std::string_view id, ProtocolVersion v = ProtocolVersion::v5, bool clean = true) {
        Connect c;
        c.version = v;
        c.client_id = id;
        c.clean_start = clean;
        c.keep_alive = 60;
        return c;
    }

    void send(FakePort& port, const Packet& packet) {
        ASSERT_NE(port.session(), nullptr) << "no session attached";
        port.session()->handle(packet);
        executor.run();
    }

    // Subscribes and returns the retained messages that came with the SUBACK.
    std::vector<std::pair<std::string, std::string>> subscribe(FakePort& port, std::string_view filter, QoS qos,
                                                               std::uint32_t id = 0, SubscriptionOptions options = {}) {
        Subscribe s;
        s.packet_id = 1;
        options.qos = qos;
        s.subscriptions.push_back({filter, options});
        if (id != 0) s.properties.subscription_identifiers.push_back(id);
        send(port, s);
        auto packets = port.take();
        EXPECT_FALSE(packets.empty());
        EXPECT_TRUE(!packets.empty() && std::holds_alternative<Suback>(packets.front()));
        return messages(packets);
    }

    static Publish publish(std::string_view topic, std::string_view payload, QoS qos = QoS::at_most_once,
                           std::uint16_t id = 0, bool retain = false) {
        Publish p;
        p.topic = topic;
        p.payload = payload;
        p.qos = qos;
        p.packet_id = id;
        p.retain = retain;
        return p;
    }

    // PUBLISHes among `packets`, as (topic, payload) copies.
    static std::vector<std::pair<std::string, std::string>> messages(const std::vector<Packet>& packets) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& p : packets) {
            if (const auto* pub = std::get_if<Publish>(&p)) out.emplace_back(pub->topic, pub->payload);
        }
        return out;
    }

    FakeExecutor executor;
    NullStore store;
    Broker broker;
};

using Connect_ = BrokerTest;
using SubPub = BrokerTest;
using Session_ = BrokerTest;
using Will_ = BrokerTest;
using V5 = BrokerTest;

}  // namespace

TEST_F(Connect_, ConnackCarriesTheBrokersLimitsInMqtt5) {
    Connack connack;
    connect(connect_packet("dev1"), 0, &connack);
    EXPECT_EQ(connack.reason_code, ReasonCode::success);
    EXPECT_FALSE(connack.session_present);
    EXPECT_EQ(connack.properties.receive_maximum, 10);
    EXPECT_EQ(connack.properties.topic_alias_maximum, 4);
    EXPECT_EQ(connack.properties.maximum_packet_size, 1u << 20);
    EXPECT_FALSE(connack.properties.server_keep_alive);
}

TEST_F(Connect_, KeepAliveIsEnforcedAtOneAndAHalfTimes) {
    auto port = connect(connect_packet("dev1", ProtocolVersion::v3_1_1));
    EXPECT_EQ(port->receive_timeout(), 90s);
}

TEST_F(Connect_, KeepAliveAboveTheMaximumGetsServerKeepAlive) {
    auto c = connect_packet("dev1");
    c.keep_alive = 600;
    Connack connack;
    auto port = connect(c, 0, &connack);
    EXPECT_EQ(connack.properties.server_keep_alive, 120);
    EXPECT_EQ(port->receive_timeout(), 180s);
}

TEST_F(Connect_, EmptyClientIdIsAssignedInMqtt5) {
    Connack connack;
    connect(connect_packet(""), 0, &connack);
    EXPECT_EQ(connack.reason_code, ReasonCode::success);
    ASSERT_TRUE(connack.properties.assigned_client_identifier);
    EXPECT_FALSE(connack.properties.assigned_client_identifier->empty());
}

TEST_F(Connect_, EmptyClientIdWithoutCleanSessionIsRefusedIn311) {
    Connack connack;
    auto port = connect(connect_packet("", ProtocolVersion::v3_1_1, false), 0, &connack);
    EXPECT_EQ(connack.reason_code, ReasonCode::client_identifier_not_valid);  // return code 2 on the wire
    EXPECT_TRUE(port->closed());
}

TEST_F(Connect_, AuthenticationMethodIsRefusedWithBadAuthenticationMethod) {
    auto c = connect_packet("dev1");
    c.properties.authentication_method = "SCRAM-SHA-1";
    Connack connack;
    auto port = connect(c, 0, &connack);
    EXPECT_EQ(connack.reason_code, ReasonCode::bad_authentication_method);
    EXPECT_TRUE(port->closed());
}

TEST_F(Connect_, SecondConnectionTakesOverTheSessionWithSessionTakenOver) {
    auto c = connect_packet("dev1", ProtocolVersion::v5, false);
    c.properties.session_expiry_interval = 60;  // with 0 the session would end with the first connection
    auto first = connect(c);
    Connack connack;
    auto second = connect(c, 0, &connack);
    auto old = first->take();
    ASSERT_EQ(old.size(), 1u);
    EXPECT_EQ(std::get<Disconnect>(old[0]).reason_code, ReasonCode::session_taken_over);
    EXPECT_TRUE(first->closed());
    EXPECT_TRUE(connack.session_present);
    EXPECT_EQ(broker.session_count(), 1u);
}

TEST_F(SubPub, Qos1IsAcknowledgedAndDeliveredWithAPacketId) {
    auto sub = connect(connect_packet("sub"));
    subscribe(*sub, "a/#", QoS::at_least_once);
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("a/b", "hello", QoS::at_least_once, 7));
    auto acks = pub->take();
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(std::get<Puback>(acks[0]).packet_id, 7);
    EXPECT_EQ(std::get<Puback>(acks[0]).reason_code, ReasonCode::success);
    auto got = sub->take();
    ASSERT_EQ(got.size(), 1u);
    const auto& p = std::get<Publish>(got[0]);
    EXPECT_EQ(p.qos, QoS::at_least_once);
    EXPECT_NE(p.packet_id, 0);
    EXPECT_EQ(p.payload, "hello");
    EXPECT_FALSE(p.retain);
}

TEST_F(SubPub, DeliveryQosIsTheLowerOfPublishAndSubscription) {
    auto sub = connect(connect_packet("sub"));
    subscribe(*sub, "a", QoS::at_most_once);
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("a", "x", QoS::exactly_once, 1));
    auto got = sub->take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(std::get<Publish>(got[0]).qos, QoS::at_most_once);
}

TEST_F(SubPub, NoSubscriberGetsNoMatchingSubscribersInMqtt5) {
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("nobody", "x", QoS::at_least_once, 3));
    auto acks = pub->take();
    EXPECT_EQ(std::get<Puback>(acks.at(0)).reason_code, ReasonCode::no_matching_subscribers);
}

TEST_F(SubPub, ResentQos2IsDeliveredOnceAndCompletedByPubrel) {
    auto sub = connect(connect_packet("sub"));
    subscribe(*sub, "q2", QoS::exactly_once);
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("q2", "once", QoS::exactly_once, 5));
    auto again = publish("q2", "once", QoS::exactly_once, 5);
    again.dup = true;
    send(*pub, again);
    auto acks = pub->take();
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(std::get<Pubrec>(acks[0]).packet_id, 5);
    EXPECT_EQ(std::get<Pubrec>(acks[1]).packet_id, 5);
    EXPECT_EQ(messages(sub->take()).size(), 1u);
    send(*pub, Pubrel{5});
    auto comp = pub->take();
    ASSERT_EQ(comp.size(), 1u);
    EXPECT_EQ(std::get<Pubcomp>(comp[0]).reason_code, ReasonCode::success);
    send(*pub, Pubrel{5});
    EXPECT_EQ(std::get<Pubcomp>(pub->take().at(0)).reason_code, ReasonCode::packet_identifier_not_found);
}

TEST_F(SubPub, OutboundQos2GoesThroughPubrecPubrelPubcomp) {
    auto sub = connect(connect_packet("sub"));
    subscribe(*sub, "q2", QoS::exactly_once);
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("q2", "x", QoS::exactly_once, 1));
    auto got = sub->take();
    const auto id = std::get<Publish>(got.at(0)).packet_id;
    send(*sub, Pubrec{id});
    auto rel = sub->take();
    ASSERT_EQ(rel.size(), 1u);
    EXPECT_EQ(std::get<Pubrel>(rel[0]).packet_id, id);
    send(*sub, Pubcomp{id});
    EXPECT_EQ(sub->session()->inflight(), 0u);
}

TEST_F(SubPub, ClientReceiveMaximumLimitsMessagesInFlightAndOrderHolds) {
    auto c = connect_packet("sub");
    c.properties.receive_maximum = 2;
    auto sub = connect(c);
    subscribe(*sub, "w", QoS::at_least_once);
    auto pub = connect(connect_packet("pub"));
    for (int i = 0; i < 5; ++i) send(*pub, publish("w", std::to_string(i), QoS::at_least_once, static_cast<std::uint16_t>(i + 1)));
    auto first = sub->take();
    ASSERT_EQ(messages(first).size(), 2u);
    EXPECT_EQ(sub->session()->queued(), 3u);
    send(*sub, Puback{std::get<Publish>(first[0]).packet_id});
    auto next = messages(sub->take());
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].second, "2");
}

TEST_F(SubPub, QueueBeyondMaxQueuedMessagesDropsAndCounts) {
    auto c = connect_packet("sub");
    c.properties.receive_maximum = 1;
    auto sub = connect(c);
    subscribe(*sub, "w", QoS::at_least_once);
    auto pub = connect(connect_packet("pub"));
    for (int i = 0; i < 10; ++i) send(*pub, publish("w", "x", QoS::at_least_once, static_cast<std::uint16_t>(i + 1)));
    EXPECT_EQ(sub->session()->inflight(), 1u);
    EXPECT_EQ(sub->session()->queued(), 5u);
    EXPECT_EQ(broker.stats().messages_dropped.load(), 4u);
}

TEST_F(SubPub, OverlappingSubscriptionsGiveOneCopyAtTheHighestQosWithEveryIdentifier) {
    auto sub = connect(connect_packet("sub"));
    subscribe(*sub, "a/+", QoS::at_most_once, 11);
    subscribe(*sub, "a/#", QoS::at_least_once, 22);
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("a/b", "x", QoS::exactly_once, 1));
    auto got = sub->take();
    ASSERT_EQ(got.size(), 1u);
    const auto& p = std::get<Publish>(got[0]);
    EXPECT_EQ(p.qos, QoS::at_least_once);
    auto ids = p.properties.subscription_identifiers;
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{11, 22}));
}

TEST_F(SubPub, RetainedMessageIsSentOnSubscribeWithRetainSetAndClearedByEmptyPayload) {
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("state", "on", QoS::at_most_once, 0, true));
    auto sub = connect(connect_packet("sub"));
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({"state", {}});
    send(*sub, s);
    auto got = sub->take();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<Suback>(got[0]));
    EXPECT_TRUE(std::get<Publish>(got[1]).retain);
    EXPECT_EQ(std::get<Publish>(got[1]).payload, "on");
    // A live message is forwarded with retain 0 [MQTT-3.3.1-12].
    send(*pub, publish("state", "off", QoS::at_most_once, 0, true));
    EXPECT_FALSE(std::get<Publish>(sub->take().at(0)).retain);
    send(*pub, publish("state", "", QoS::at_most_once, 0, true));
    EXPECT_EQ(broker.retained().size(), 0u);
}

TEST_F(V5, RetainHandlingAndRetainAsPublished) {
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("r", "v", QoS::at_most_once, 0, true));
    auto sub = connect(connect_packet("sub"));
    SubscriptionOptions never;
    never.retain_handling = RetainHandling::do_not_send;
    never.retain_as_published = true;
    EXPECT_TRUE(subscribe(*sub, "r", QoS::at_most_once, 0, never).empty());
    send(*pub, publish("r", "w", QoS::at_most_once, 0, true));
    EXPECT_TRUE(std::get<Publish>(sub->take().at(0)).retain);

    SubscriptionOptions if_new;
    if_new.retain_handling = RetainHandling::send_if_new_subscription;
    EXPECT_EQ(subscribe(*sub, "r/#", QoS::at_most_once, 0, if_new).size(), 1u);  // new: the retained "w" comes
    EXPECT_TRUE(subscribe(*sub, "r/#", QoS::at_most_once, 0, if_new).empty());   // not new: nothing
}

TEST_F(V5, NoLocalKeepsAClientsOwnMessagesFromIt) {
    auto c = connect(connect_packet("both"));
    SubscriptionOptions o;
    o.no_local = true;
    subscribe(*c, "echo", QoS::at_most_once, 0, o);
    send(*c, publish("echo", "mine"));
    EXPECT_TRUE(messages(c->take()).empty());
}

TEST_F(V5, InboundTopicAliasIsRememberedAndAnAliasAboveTheMaximumEndsTheConnection) {
    auto sub = connect(connect_packet("sub"));
    subscribe(*sub, "long/topic/name", QoS::at_most_once);
    auto pub = connect(connect_packet("pub"));
    auto first = publish("long/topic/name", "1");
    first.properties.topic_alias = 3;
    send(*pub, first);
    auto second = publish("", "2");
    second.properties.topic_alias = 3;
    send(*pub, second);
    auto got = messages(sub->take());
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].first, "long/topic/name");

    auto bad = publish("x", "3");
    bad.properties.topic_alias = 5;  // the broker allows 4
    send(*pub, bad);
    auto answer = pub->take();
    ASSERT_EQ(answer.size(), 1u);
    EXPECT_EQ(std::get<Disconnect>(answer[0]).reason_code, ReasonCode::topic_alias_invalid);
    EXPECT_TRUE(pub->closed());
}

TEST_F(V5, OutboundTopicAliasesAreAssignedUpToTheClientsMaximum) {
    auto c = connect_packet("sub");
    c.properties.topic_alias_maximum = 1;
    auto sub = connect(c);
    subscribe(*sub, "#", QoS::at_most_once);
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("t/1", "a"));
    send(*pub, publish("t/1", "b"));
    send(*pub, publish("t/2", "c"));
    auto got = sub->take();
    ASSERT_EQ(got.size(), 3u);
    const auto& a = std::get<Publish>(got[0]);
    const auto& b = std::get<Publish>(got[1]);
    const auto& d = std::get<Publish>(got[2]);
    EXPECT_EQ(a.topic, "t/1");
    EXPECT_EQ(a.properties.topic_alias, 1);
    EXPECT_EQ(b.topic, "");
    EXPECT_EQ(b.properties.topic_alias, 1);
    EXPECT_EQ(d.topic, "t/2");  // no alias left
    EXPECT_FALSE(d.properties.topic_alias);
}

TEST_F(V5, MessageLargerThanTheClientsMaximumPacketSizeIsNotSent) {
    auto c = connect_packet("sub");
    c.properties.maximum_packet_size = 64;
    auto sub = connect(c);
    subscribe(*sub, "big", QoS::at_least_once);
    auto pub = connect(connect_packet("pub"));
    send(*pub, publish("big", std::string(100, 'x'), QoS::at_least_once, 1));
    send(*pub, publish("big", "small", QoS::at_least_once, 2));
    auto got = messages(sub->take());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, "small");
}

TEST_F(V5, MessageExpiryCountsDownWhileQueuedAndExpiredMessagesAreDropped) {
    auto c = connect_packet("sub", ProtocolVersion::v5, false);
    c.properties.session_expiry_interval = 3600;
    auto sub = connect(c);
    subscribe(*sub, "e", QoS::at_least_once);
    sub->session()->connection_lost();
    executor.run();
    auto pub = connect(connect_packet("pub"));
    auto p1 = publish("e", "short", QoS::at_least_once, 1);
    p1.properties.message_expiry_interval = 5;
    auto p2 = publish("e", "long", QoS::at_least_once, 2);
    p2.properties.message_expiry_interval = 60;
    send(*pub, p1);
    send(*pub, p2);
    executor.advance(10s);
    auto back = connect(c);
    auto got = back->take();
    ASSERT_EQ(got.size(), 1u);
    const auto& p = std::get<Publish>(got[0]);
    EXPECT_EQ(p.payload, "long");
    EXPECT_EQ(p.properties.message_expiry_interval, 50u);
}

TEST_F(V5, SharedSubscriptionSpreadsMessagesOverTheGroup) {
    auto a = connect(connect_packet("a"));
    auto b = connect(connect_packet("b"));
    subscribe(*a, "$share/g/jobs/+", QoS::at_most_once);
    subscribe(*b, "$share/g/jobs/+", QoS::at_most_once);
    auto pub = connect(connect_packet("pub"));
    for (int i = 0; i < 4; ++i) send(*pub, publish("jobs/x", std::to_string(i)));
    EXPECT_EQ(messages(a->take()).size(), 2u);
    EXPECT_EQ(messages(b->take()).size(), 2u);
}

TEST_F(Session_, PersistentSessionQueuesWhileAwayAndResendsUnacknowledgedWithDup) {
    const auto c = connect_packet("sub", ProtocolVersion::v3_1_1, false);
    auto sub = connect(c);
    subscribe(*sub, "s", QoS::at_least_once);
    auto pub = connect(connect_packet("pub", ProtocolVersion::v3_1_1));
    send(*pub, publish("s", "1", QoS::at_least_once, 1));
    const auto first = std::get<Publish>(sub->take().at(0));
    const auto first_id = first.packet_id;
    sub->session()->connection_lost();  // dropped without PUBACK
    executor.run();
    send(*pub, publish("s", "2", QoS::at_least_once, 2));
    send(*pub, publish("s", "3", QoS::at_most_once));  // QoS 0 is not kept for an absent client

    Connack connack;
    auto back = connect(c, 0, &connack);
    EXPECT_TRUE(connack.session_present);
    auto got = back->take();
    ASSERT_EQ(got.size(), 2u);
    const auto& again = std::get<Publish>(got[0]);
    EXPECT_TRUE(again.dup);
    EXPECT_EQ(again.packet_id, first_id);
    EXPECT_EQ(again.payload, "1");
    EXPECT_EQ(std::get<Publish>(got[1]).payload, "2");
}

TEST_F(Session_, CleanSessionDiscardsSubscriptions) {
    auto sub = connect(connect_packet("sub", ProtocolVersion::v3_1_1, false));
    subscribe(*sub, "s", QoS::at_least_once);
    sub->session()->connection_lost();
    executor.run();
    Connack connack;
    auto back = connect(connect_packet("sub", ProtocolVersion::v3_1_1, true), 0, &connack);
    EXPECT_FALSE(connack.session_present);
    EXPECT_EQ(broker.topics().subscription_count(), 0u);
}

TEST_F(Session_, SessionExpiresAfterItsInterval) {
    auto c = connect_packet("sub", ProtocolVersion::v5, false);
    c.properties.session_expiry_interval = 10;
    auto sub = connect(c);
    subscribe(*sub, "s", QoS::at_least_once);
    sub->session()->connection_lost();
    executor.advance(9s);
    EXPECT_EQ(broker.session_count(), 1u);
    executor.advance(2s);
    EXPECT_EQ(broker.session_count(), 0u);
    EXPECT_EQ(broker.topics().subscription_count(), 0u);
}

TEST_F(Will_, WillIsPublishedOnAbnormalLossButNotAfterDisconnect) {
    auto watcher = connect(connect_packet("watcher"));
    subscribe(*watcher, "wills/#", QoS::at_most_once);
    auto c = connect_packet("dev", ProtocolVersion::v3_1_1);
    c.will = Will{"wills/dev", "gone", QoS::at_least_once, false, {}};
    auto dev = connect(c);
    dev->session()->connection_lost();
    executor.run();
    auto got = messages(watcher->take());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, "gone");

    auto again = connect(c);
    send(*again, Disconnect{});
    EXPECT_TRUE(messages(watcher->take()).empty());
}

TEST_F(Will_, WillDelayPostponesTheWillAndAReconnectCancelsIt) {
    auto watcher = connect(connect_packet("watcher"));
    subscribe(*watcher, "wills/#", QoS::at_most_once);
    auto c = connect_packet("dev", ProtocolVersion::v5, false);
    c.properties.session_expiry_interval = 100;
    c.will = Will{"wills/dev", "gone", QoS::at_most_once, false, {}};
    c.will->properties.will_delay_interval = 5;
    auto dev = connect(c);
    dev->session()->connection_lost();
    executor.advance(4s);
    EXPECT_TRUE(messages(watcher->take()).empty());
    executor.advance(2s);
    EXPECT_EQ(messages(watcher->take()).size(), 1u);

    auto back = connect(c);
    back->session()->connection_lost();
    executor.advance(3s);
    auto returned = connect(c);  // before the delay ends
    executor.advance(10s);
    EXPECT_TRUE(messages(watcher->take()).empty());
}

TEST_F(Will_, DisconnectWithWillMessagePublishesIt) {
    auto watcher = connect(connect_packet("watcher"));
    subscribe(*watcher, "wills/#", QoS::at_most_once);
    auto c = connect_packet("dev");
    c.will = Will{"wills/dev", "bye", QoS::at_most_once, false, {}};
    auto dev = connect(c);
    send(*dev, Disconnect{ReasonCode::disconnect_with_will, {}});
    EXPECT_EQ(messages(watcher->take()).size(), 1u);
}

TEST_F(SubPub, LocalClientAndNetworkClientExchangeMessages) {
    LocalClient local{broker, "adapter:test", 0};
    std::vector<std::string> received;
    local.on_message([&](const LocalClient::Received& r) { received.push_back(r.message->payload); });
    local.subscribe("cmd/#");
    auto dev = connect(connect_packet("dev"));
    subscribe(*dev, "readings/#", QoS::at_most_once);
    local.publish("readings/t", "21.5");
    executor.run();
    auto got = messages(dev->take());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, "21.5");
    send(*dev, publish("cmd/valve", "open"));
    EXPECT_EQ(received, std::vector<std::string>{"open"});
}

namespace {
class TwoWorkers : public BrokerTest {
protected:
    TwoWorkers() : BrokerTest(2) {}
};
}  // namespace

TEST_F(TwoWorkers, MessagesCrossWorkersInPublishOrder) {
    auto sub = connect(connect_packet("sub"), 1);
    subscribe(*sub, "seq", QoS::at_least_once);
    auto pub = connect(connect_packet("pub"), 0);
    for (int i = 0; i < 5; ++i) send(*pub, publish("seq", std::to_string(i), QoS::at_least_once, static_cast<std::uint16_t>(i + 1)));
    auto got = messages(sub->take());
    ASSERT_EQ(got.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)].second, std::to_string(i));
}

TEST_F(TwoWorkers, ReconnectOnAnotherWorkerMovesTheSessionWithItsQueue) {
    const auto c = connect_packet("sub", ProtocolVersion::v3_1_1, false);
    auto sub = connect(c, 0);
    subscribe(*sub, "m", QoS::at_least_once);
    sub->session()->connection_lost();
    executor.run();
    auto pub = connect(connect_packet("pub"), 0);
    send(*pub, publish("m", "while away", QoS::at_least_once, 1));
    Connack connack;
    auto back = connect(c, 1, &connack);
    EXPECT_TRUE(connack.session_present);
    EXPECT_EQ(messages(back->take()).size(), 1u);
    send(*pub, publish("m", "after", QoS::at_least_once, 2));
    auto got = messages(back->take());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, "after");
}
