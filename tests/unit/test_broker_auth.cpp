// Authentication and ACLs enforced by the broker: CONNECT refusals and their
// codes on the wire, certificate CN identities, the failed-login throttle, and
// the acl_file on PUBLISH, SUBSCRIBE, delivery, retained, will and $SYS
// messages, and across reloads. Bytes in, packets out, on a fake clock
// (STYLE.md 2, 10). What mosquitto does in the same cases is in the comments
// of authenticator.cpp and session_acl.cpp.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "broker_fakes.hpp"
#include "gateway/broker/auth/authenticator.hpp"
#include "gateway/broker/auth/login_throttle.hpp"
#include "gateway/broker/null_store.hpp"
#include "gateway/broker/session.hpp"
#include "gateway/broker/sys_publisher.hpp"
#include "gateway/log/log.hpp"
#include "temp_dir.hpp"

using namespace fieldgate;
using namespace fieldgate::broker;
using namespace fieldgate::broker::testing;
using namespace fieldgate::mqtt;
using namespace std::chrono_literals;
using auth::Authenticator;

namespace {

// Users of the password file (one iteration: these tests are about the broker, not PBKDF2).
auth::PasswordFile passwords() {
    auth::PasswordFile file;
    file.set_password("alice", "alice-pw", 1);
    file.set_password("bob", "bob-pw", 1);
    return file;
}

auth::Acl acl(std::string_view text) {
    auto result = auth::Acl::parse(text, "acl");
    EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors.front().to_string());
    return std::move(result.acl);
}

// alice publishes under a/ and w/, reads a/ and r/ but not r/secret; bob does
// anything outside $SYS; dave reads a/ but not a/will; ops reads $SYS/broker/
// but not its version; anonymous clients read the uptime only.
constexpr std::string_view rules =
    "topic read $SYS/broker/uptime\n"
    "user alice\n"
    "topic readwrite a/#\n"
    "topic write w/#\n"
    "topic read r/#\n"
    "topic deny r/secret\n"
    "user bob\n"
    "topic readwrite #\n"
    "user dave\n"
    "topic read a/#\n"
    "topic deny a/will\n"
    "user ops\n"
    "topic read $SYS/broker/#\n"
    "topic deny $SYS/broker/version\n"
    "user eve\n"
    "topic read e/#\n";

class BrokerAuthTest : public ::testing::Test {
protected:
    BrokerAuthTest() : executor(1), store(executor), broker(BrokerLimits{}, executor, store) {}

    void use(std::optional<auth::PasswordFile> file, std::optional<auth::Acl> acl) {
        broker.set_authenticator(std::make_shared<const Authenticator>(std::move(file), std::move(acl)));
        executor.run();
    }

    static Connect login(std::string_view id, std::optional<std::string_view> username = std::nullopt,
                         std::optional<std::string_view> password = std::nullopt,
                         ProtocolVersion v = ProtocolVersion::v5) {
        Connect c;
        c.version = v;
        c.client_id = id;
        c.keep_alive = 60;
        c.username = username;
        c.password = password;
        return c;
    }

    // A CONNECT from `info`'s address and listener; the answer stays in the port.
    std::shared_ptr<FakePort> attempt(const Connect& c, PeerInfo info = {.address = "10.0.0.1"}) {
        auto port = std::make_shared<FakePort>(c.version);
        port->info() = std::move(info);
        broker.connect(port, 0, bytes_of(c, c.version));
        executor.run();
        return port;
    }

    // A CONNECT that must be accepted; CONNACK taken.
    std::shared_ptr<FakePort> connect(const Connect& c, PeerInfo info = {.address = "10.0.0.1"}) {
        auto port = attempt(c, std::move(info));
        auto connack = port->next();
        EXPECT_TRUE(connack && std::holds_alternative<Connack>(*connack));
        if (connack) {
            EXPECT_EQ(std::get<Connack>(*connack).reason_code, ReasonCode::success);
        }
        EXPECT_NE(port->session(), nullptr);
        return port;
    }
    std::shared_ptr<FakePort> connect(std::string_view user, ProtocolVersion v = ProtocolVersion::v5) {
        return connect(login(user, user, std::nullopt, v));
    }

    void send(FakePort& port, const Packet& packet) {
        ASSERT_NE(port.session(), nullptr) << "no session attached";
        port.session()->handle(packet);
        executor.run();
    }

    std::vector<ReasonCode> subscribe(FakePort& port, std::vector<std::string_view> filters,
                                      QoS qos = QoS::at_least_once) {
        Subscribe s;
        s.packet_id = 1;
        for (const auto f : filters) s.subscriptions.push_back({f, SubscriptionOptions{.qos = qos}});
        send(port, s);
        auto packets = port.take();
        EXPECT_FALSE(packets.empty());
        if (packets.empty() || !std::holds_alternative<Suback>(packets.front())) return {};
        return std::get<Suback>(packets.front()).reason_codes;
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

    // The topics of the PUBLISHes the port holds.
    static std::vector<std::string> topics(FakePort& port) {
        std::vector<std::string> out;
        for (const auto& p : port.take()) {
            if (const auto* pub = std::get_if<Publish>(&p)) out.emplace_back(pub->topic);
        }
        return out;
    }

    FakeExecutor executor;
    NullStore store;
    Broker broker;
};

// ---------------------------------------------------------------------------
// CONNECT: every outcome in both protocol versions, checked as the bytes on the wire.

struct LoginCase {
    const char* name;
    std::optional<std::string_view> username;
    std::optional<std::string_view> password;
    bool password_file;
    PeerInfo peer;
    std::uint8_t v311;  // CONNACK return code [MQTT 3.1.1, 3.2.2.3]
    std::uint8_t v5;    // CONNACK reason code [MQTT 5.0, 3.2.2.2]
};

PeerInfo listener(bool allow_anonymous, bool cn_as_username = false, std::optional<std::string> cn = std::nullopt) {
    return PeerInfo{"10.0.0.1", allow_anonymous, cn_as_username, std::move(cn)};
}

const LoginCase login_cases[] = {
    {"RightPassword", "alice", "alice-pw", true, listener(false), 0, 0x00},
    {"WrongPassword", "alice", "bob-pw", true, listener(true), 4, 0x86},
    {"UnknownUser", "mallory", "alice-pw", true, listener(true), 4, 0x86},
    {"NoPasswordForAKnownUser", "alice", std::nullopt, true, listener(true), 4, 0x86},
    {"AnonymousWhereAllowed", std::nullopt, std::nullopt, true, listener(true), 0, 0x00},
    {"AnonymousWhereNotAllowed", std::nullopt, std::nullopt, true, listener(false), 5, 0x87},
    // Without a password file a name cannot be checked: taken on trust where
    // anonymous clients are allowed, refused where not (mosquitto 2.0.11 alike).
    {"UsernameWithoutPasswordFile", "anyone", "anything", false, listener(true), 0, 0x00},
    {"UsernameWithoutPasswordFileWhereAnonymousIsNot", "alice", "alice-pw", false, listener(false), 5, 0x87},
    // The certificate is the credential; CONNECT's username and password are not read.
    {"CertificateCn", "alice", "wrong", true, listener(false, true, "device-7"), 0, 0x00},
    {"CnListenerWithoutCertificate", "alice", "alice-pw", true, listener(true, true), 5, 0x87},
};

class LoginAnswer : public BrokerAuthTest,
                     public ::testing::WithParamInterface<std::tuple<LoginCase, ProtocolVersion>> {};

TEST_P(LoginAnswer, AnswersWithTheExpectedCode) {
    const auto& [c, version] = GetParam();
    if (c.password_file) use(passwords(), std::nullopt);
    auto port = attempt(login("dev1", c.username, c.password, version), c.peer);
    const bool v5 = is_v5(version);
    const std::uint8_t code = v5 ? c.v5 : c.v311;
    // Fixed header, flags (session present: no), the code, and for MQTT 5 properties:
    // only an accepted CONNACK carries any.
    ASSERT_GE(port->output().size(), 4u);
    EXPECT_EQ(port->output()[0], 0x20);
    EXPECT_EQ(port->output()[2], 0x00);
    EXPECT_EQ(port->output()[3], code);
    if (code == 0) {
        EXPECT_FALSE(port->closed());
        EXPECT_NE(port->session(), nullptr);
        EXPECT_EQ(broker.session_count(), 1u);
    } else {
        EXPECT_EQ(port->output().size(), v5 ? 5u : 4u);
        EXPECT_TRUE(port->closed());
        EXPECT_EQ(port->close_delay(), 100ms);  // the first failure from this address
        EXPECT_EQ(broker.session_count(), 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(Login, LoginAnswer,
                         ::testing::Combine(::testing::ValuesIn(login_cases),
                                            ::testing::Values(ProtocolVersion::v3_1_1, ProtocolVersion::v5)),
                         [](const auto& param) {
                             return std::string{std::get<0>(param.param).name} +
                                    (is_v5(std::get<1>(param.param)) ? "V5" : "V311");
                         });

using Login = BrokerAuthTest;

TEST_F(Login, CertificateCnIsTheIdentityForTheAcl) {
    use(passwords(), acl("user device-7\ntopic write d/7/#\n"));
    auto port = connect(login("dev1", "alice", "alice-pw"), listener(false, true, "device-7"));
    send(*port, publish("d/7/temp", "21", QoS::at_least_once, 1));
    send(*port, publish("a/x", "21", QoS::at_least_once, 2));  // alice's, were she the identity
    auto acks = port->take();
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(std::get<Puback>(acks[0]).reason_code, ReasonCode::no_matching_subscribers);
    EXPECT_EQ(std::get<Puback>(acks[1]).reason_code, ReasonCode::not_authorized);
}

TEST_F(Login, RefusalIsLoggedWithClientIdUsernameAndAddressButNotThePassword) {
    use(passwords(), std::nullopt);
    std::ostringstream out;
    auto logger = log::get("broker");
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    logger->sinks().push_back(sink);
    const auto level = logger->level();
    logger->set_level(spdlog::level::info);
    auto port = attempt(login("dev-42", "alice", "hunter2-secret"));
    logger->sinks().pop_back();
    logger->set_level(level);

    const auto text = out.str();
    EXPECT_NE(text.find("\"dev-42\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"alice\""), std::string::npos) << text;
    EXPECT_NE(text.find(port->peer()), std::string::npos) << text;
    EXPECT_NE(text.find("Bad User Name or Password"), std::string::npos) << text;
    EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
}

// ---------------------------------------------------------------------------
// The failed-login throttle

TEST_F(Login, RefusalsFromOneAddressAnswerLaterEachTimeAndOthersAreNotSlowed) {
    use(passwords(), std::nullopt);
    const auto wrong = login("dev1", "alice", "guess");
    EXPECT_EQ(attempt(wrong, {.address = "10.0.0.66"})->close_delay(), 100ms);
    EXPECT_EQ(attempt(wrong, {.address = "10.0.0.66"})->close_delay(), 200ms);
    EXPECT_EQ(attempt(wrong, {.address = "10.0.0.66"})->close_delay(), 400ms);
    EXPECT_EQ(attempt(wrong, {.address = "10.0.0.7"})->close_delay(), 100ms);

    // A right password from the busy address is answered at once.
    auto ok = connect(login("dev2", "alice", "alice-pw"), {.address = "10.0.0.66"});
    EXPECT_EQ(ok->close_delay(), 0ms);
    EXPECT_FALSE(ok->closed());
    EXPECT_EQ(attempt(wrong, {.address = "10.0.0.66"})->close_delay(), 800ms);
}

TEST(LoginThrottle, DelayDoublesToTheCapAndIsForgottenAfterAQuietMinute) {
    auth::LoginThrottle throttle;
    const auto t0 = auth::LoginThrottle::Clock::time_point{} + 1h;
    std::vector<std::chrono::milliseconds> delays;
    for (int i = 0; i < 9; ++i) delays.push_back(throttle.failed("192.0.2.1", t0 + i * 1s));
    EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 5000ms,
                                                              5000ms, 5000ms}));
    EXPECT_EQ(throttle.failed("192.0.2.2", t0 + 9s), 100ms);
    EXPECT_EQ(throttle.failed("192.0.2.1", t0 + 8s + 59s), 5000ms);  // not quiet long enough
    EXPECT_EQ(throttle.failed("192.0.2.1", t0 + 8s + 59s + 60s), 100ms);
}

TEST(LoginThrottle, Ipv6IsCountedPerSlash64AndMappedIpv4AsIpv4) {
    EXPECT_EQ(auth::LoginThrottle::source_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    EXPECT_EQ(auth::LoginThrottle::source_of("fe80::1%eth0"), "fe80::/64");
    EXPECT_EQ(auth::LoginThrottle::source_of("::ffff:192.0.2.9"), "192.0.2.9");
    EXPECT_EQ(auth::LoginThrottle::source_of("192.0.2.9"), "192.0.2.9");

    auth::LoginThrottle throttle;
    const auto now = auth::LoginThrottle::Clock::time_point{} + 1h;
    EXPECT_EQ(throttle.failed("2001:db8:1:2::1", now), 100ms);
    EXPECT_EQ(throttle.failed("2001:db8:1:2::2", now), 200ms);
    EXPECT_EQ(throttle.failed("2001:db8:1:3::1", now), 100ms);
    EXPECT_EQ(throttle.failed("::ffff:192.0.2.9", now), 100ms);
    EXPECT_EQ(throttle.failed("192.0.2.9", now), 200ms);
}

TEST(LoginThrottle, RemembersAtMostMaxSourcesForgettingTheLeastRecent) {
    auth::LoginThrottle throttle{{.max_sources = 3}};
    const auto t0 = auth::LoginThrottle::Clock::time_point{} + 1h;
    throttle.failed("10.0.0.1", t0);
    throttle.failed("10.0.0.1", t0);
    for (int i = 2; i <= 100; ++i) throttle.failed("10.0.0." + std::to_string(i), t0 + i * 1ms);
    EXPECT_EQ(throttle.sources(), 3u);
    EXPECT_EQ(throttle.failed("10.0.0.100", t0 + 1s), 200ms);  // recent: kept
    EXPECT_EQ(throttle.failed("10.0.0.1", t0 + 1s), 100ms);    // the oldest: forgotten
}

// ---------------------------------------------------------------------------
// Loading [auth]

TEST(AuthenticatorLoad, ReadsBothFilesAndReportsBadLinesWithFileAndLine) {
    unit::TempDir dir;
    ASSERT_FALSE(passwords().save(dir.file("passwd")));
    {
        std::ofstream(dir.file("acl")) << "user alice\ntopic read a/#\n";
        std::ofstream(dir.file("bad-acl")) << "user alice\ntopic read a/#\nbogus line\n";
    }
    auto good = Authenticator::load({dir.file("passwd"), dir.file("acl")});
    ASSERT_TRUE(good.ok());
    ASSERT_NE(good.authenticator, nullptr);
    ASSERT_NE(good.authenticator->passwords(), nullptr);
    EXPECT_TRUE(good.authenticator->passwords()->verify("alice", "alice-pw"));
    ASSERT_NE(good.authenticator->acl(), nullptr);

    auto bad = Authenticator::load({dir.file("passwd"), dir.file("bad-acl")});
    EXPECT_EQ(bad.authenticator, nullptr);
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_EQ(bad.errors[0].rfind(dir.file("bad-acl") + ":3: ", 0), 0u) << bad.errors[0];

    auto missing = Authenticator::load({dir.file("nope"), ""});
    EXPECT_EQ(missing.authenticator, nullptr);
    ASSERT_EQ(missing.errors.size(), 1u);
    EXPECT_EQ(missing.errors[0].rfind(dir.file("nope") + ": ", 0), 0u) << missing.errors[0];

    auto none = Authenticator::load({});
    ASSERT_NE(none.authenticator, nullptr);
    EXPECT_EQ(none.authenticator->passwords(), nullptr);
    EXPECT_EQ(none.authenticator->acl(), nullptr);
}

// ---------------------------------------------------------------------------
// PUBLISH

class AclPublish : public BrokerAuthTest {
protected:
    AclPublish() { use(std::nullopt, acl(rules)); }
};

TEST_F(AclPublish, DeniedQos1AndQos2AreRefusedWithNotAuthorizedInMqtt5) {
    auto bob = connect("bob");
    subscribe(*bob, {"#"});
    auto alice = connect("alice");
    send(*alice, publish("z/1", "x", QoS::at_least_once, 1));
    send(*alice, publish("r/1", "x", QoS::exactly_once, 2));  // read-only for alice
    send(*alice, publish("z/0", "x"));
    send(*alice, publish("a/1", "x", QoS::at_least_once, 3));
    auto acks = alice->take();
    ASSERT_EQ(acks.size(), 3u);
    EXPECT_EQ(std::get<Puback>(acks[0]).reason_code, ReasonCode::not_authorized);
    EXPECT_EQ(std::get<Pubrec>(acks[1]).reason_code, ReasonCode::not_authorized);
    EXPECT_EQ(std::get<Puback>(acks[2]).reason_code, ReasonCode::success);
    EXPECT_EQ(topics(*bob), std::vector<std::string>{"a/1"});
    EXPECT_EQ(broker.stats().messages_dropped.load(), 3u);
}

TEST_F(AclPublish, DeniedMessagesAreAcknowledgedAsUsualAndDroppedInMqtt311) {
    auto bob = connect("bob");
    subscribe(*bob, {"#"});
    auto alice = connect("alice", ProtocolVersion::v3_1_1);
    send(*alice, publish("z/1", "x", QoS::at_least_once, 1));
    send(*alice, publish("z/2", "x", QoS::exactly_once, 2));
    send(*alice, Pubrel{2});
    send(*alice, publish("z/0", "x"));
    auto acks = alice->take();
    ASSERT_EQ(acks.size(), 3u);
    EXPECT_EQ(std::get<Puback>(acks[0]).packet_id, 1);
    EXPECT_EQ(std::get<Pubrec>(acks[1]).packet_id, 2);
    EXPECT_EQ(std::get<Pubcomp>(acks[2]).packet_id, 2);
    EXPECT_TRUE(topics(*bob).empty());
    EXPECT_EQ(broker.stats().messages_dropped.load(), 3u);
}

TEST_F(AclPublish, WithoutAnAclFileEverythingIsAllowed) {
    use(std::nullopt, std::nullopt);
    auto bob = connect("bob");
    subscribe(*bob, {"#", "$SYS/#"});
    auto alice = connect("alice");
    send(*alice, publish("z/1", "x", QoS::at_least_once, 1));
    EXPECT_EQ(std::get<Puback>(alice->take().at(0)).reason_code, ReasonCode::success);
    EXPECT_EQ(topics(*bob), std::vector<std::string>{"z/1"});
}

// ---------------------------------------------------------------------------
// SUBSCRIBE

using AclSubscription = AclPublish;

TEST_F(AclSubscription, DeniedFiltersGetNotAuthorizedInMqtt5AndFailureInMqtt311) {
    const std::vector<std::string_view> filters{"a/#", "z/#", "r/+", "w/#", "$share/g/a/x", "$share/g/z/x", "#"};
    auto v5 = connect("alice");
    EXPECT_EQ(subscribe(*v5, filters),
              (std::vector<ReasonCode>{ReasonCode::granted_qos_1, ReasonCode::not_authorized,
                                       ReasonCode::granted_qos_1, ReasonCode::not_authorized,
                                       ReasonCode::granted_qos_1, ReasonCode::not_authorized,
                                       ReasonCode::not_authorized}));
    auto v311 = connect(login("alice-311", "alice", std::nullopt, ProtocolVersion::v3_1_1));
    Subscribe s;
    s.packet_id = 9;
    for (const auto f : filters) s.subscriptions.push_back({f, SubscriptionOptions{.qos = QoS::at_least_once}});
    send(*v311, s);
    // The bytes: packet id, then one return code per filter, 0x80 for a refusal [MQTT-3.9.3-2].
    const std::vector<std::uint8_t> expected{0x90, 9, 0x00, 9, 0x01, 0x80, 0x01, 0x80, 0x01, 0x80, 0x80};
    EXPECT_EQ(v311->output(), expected);
}

TEST_F(AclSubscription, RefusedFilterIsNotSubscribed) {
    auto alice = connect("alice");
    subscribe(*alice, {"z/#"});
    auto bob = connect("bob");
    send(*bob, publish("z/1", "x"));
    EXPECT_TRUE(topics(*alice).empty());
}

// ---------------------------------------------------------------------------
// Delivery: routed, retained, will, $SYS

using AclDelivery = AclPublish;

TEST_F(AclDelivery, MessagesTheReaderMayNotReadAreSkipped) {
    auto alice = connect("alice");
    EXPECT_EQ(subscribe(*alice, {"r/#"}), std::vector<ReasonCode>{ReasonCode::granted_qos_1});
    auto bob = connect("bob");
    send(*bob, publish("r/open", "x", QoS::at_least_once, 1));
    send(*bob, publish("r/secret", "x", QoS::at_least_once, 2));
    send(*bob, publish("r/open", "y"));
    EXPECT_EQ(topics(*alice), (std::vector<std::string>{"r/open", "r/open"}));
}

TEST_F(AclDelivery, RetainedMessagesOnSubscribeAreCheckedToo) {
    auto bob = connect("bob");
    send(*bob, publish("r/open", "x", QoS::at_most_once, 0, true));
    send(*bob, publish("r/secret", "x", QoS::at_most_once, 0, true));
    auto alice = connect("alice");
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({"r/#", SubscriptionOptions{.qos = QoS::at_least_once}});
    send(*alice, s);
    auto packets = alice->take();
    ASSERT_EQ(packets.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<Suback>(packets[0]));
    EXPECT_EQ(std::get<Publish>(packets[1]).topic, "r/open");
    EXPECT_TRUE(std::get<Publish>(packets[1]).retain);
}

TEST_F(AclDelivery, WillIsPublishedOnlyToATopicItsClientMayWrite) {
    auto bob = connect("bob");
    subscribe(*bob, {"#"});
    for (const auto topic : {"z/will", "a/gone"}) {
        auto c = login("alice-dev", "alice");
        c.will = Will{topic, "gone", QoS::at_most_once, false, {}};
        auto alice = connect(c);
        alice->session()->connection_lost();
        executor.run();
    }
    EXPECT_EQ(topics(*bob), std::vector<std::string>{"a/gone"});
}

TEST_F(AclDelivery, WillReachesOnlyReadersAllowedToReadIt) {
    auto bob = connect("bob");
    subscribe(*bob, {"a/#"});
    auto dave = connect("dave");
    EXPECT_EQ(subscribe(*dave, {"a/#"}), std::vector<ReasonCode>{ReasonCode::granted_qos_1});
    auto c = login("alice-dev", "alice", std::nullopt, ProtocolVersion::v3_1_1);
    c.will = Will{"a/will", "gone", QoS::at_least_once, false, {}};
    auto alice = connect(c);
    alice->session()->connection_lost();
    executor.run();
    EXPECT_EQ(topics(*bob), std::vector<std::string>{"a/will"});
    EXPECT_TRUE(topics(*dave).empty());
}

TEST_F(AclDelivery, SysTopicsReachOnlyReadersTheAclGrants) {
    SysPublisher sys{broker, "test", 10s};
    auto ops = connect("ops");
    EXPECT_EQ(subscribe(*ops, {"$SYS/broker/#", "$SYS/#"}),
              (std::vector<ReasonCode>{ReasonCode::granted_qos_1, ReasonCode::not_authorized}));
    auto anonymous = connect(login("anon"));
    EXPECT_EQ(subscribe(*anonymous, {"$SYS/broker/uptime", "$SYS/broker/version"}),
              (std::vector<ReasonCode>{ReasonCode::granted_qos_1, ReasonCode::not_authorized}));
    auto bob = connect("bob");
    EXPECT_EQ(subscribe(*bob, {"$SYS/broker/uptime"}), std::vector<ReasonCode>{ReasonCode::not_authorized});
    sys.publish_now();
    executor.run();

    const auto got = topics(*ops);
    EXPECT_GT(got.size(), 10u);
    EXPECT_EQ(std::count(got.begin(), got.end(), "$SYS/broker/uptime"), 1);
    EXPECT_EQ(std::count(got.begin(), got.end(), "$SYS/broker/version"), 0);
    EXPECT_EQ(topics(*anonymous), std::vector<std::string>{"$SYS/broker/uptime"});
    EXPECT_TRUE(topics(*bob).empty());

    // Retained $SYS messages on subscribe go through the same check.
    auto again = connect(login("ops-2", "ops"));
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({"$SYS/broker/+", SubscriptionOptions{}});
    send(*again, s);
    const auto retained = topics(*again);
    EXPECT_EQ(std::count(retained.begin(), retained.end(), "$SYS/broker/uptime"), 1);
    EXPECT_EQ(std::count(retained.begin(), retained.end(), "$SYS/broker/version"), 0);
}

TEST_F(AclDelivery, WhatWaitsForTheSessionIsNotHandedToAnotherUserResumingIt) {
    auto c = login("shared", "alice");
    c.clean_start = false;
    c.properties.session_expiry_interval = 600;
    auto alice = connect(c);
    subscribe(*alice, {"r/#"});
    auto bob = connect("bob");
    send(*bob, publish("r/1", "x", QoS::at_least_once, 1));
    EXPECT_EQ(topics(*alice), std::vector<std::string>{"r/1"});  // in flight: never acknowledged
    alice->session()->connection_lost();
    send(*bob, publish("r/2", "x", QoS::at_least_once, 2));  // queued

    auto eve_login = login("shared", "eve");
    eve_login.clean_start = false;
    eve_login.properties.session_expiry_interval = 600;
    auto eve = attempt(eve_login);
    auto packets = eve->take();
    ASSERT_EQ(packets.size(), 1u);  // the CONNACK alone
    EXPECT_TRUE(std::get<Connack>(packets[0]).session_present);
    EXPECT_EQ(eve->session()->inflight() + eve->session()->queued(), 0u);
}

TEST_F(AclDelivery, SessionRestoredFromTheStoreKeepsItsMessagesUntilItsClientReturns) {
    store::LoadedState state;
    store::LoadedSession restored;
    restored.session = 5;
    restored.client_id = "alice-dev";
    restored.expiry_interval = 3600;
    restored.subscriptions.push_back({5, "r/#", SubscriptionOptions{.qos = QoS::at_least_once}, 0});
    state.sessions.push_back(restored);
    state.next_session = 6;
    broker.restore(state);
    use(std::nullopt, acl(rules));  // start-up (or a reload) before the client is back: whose is it?

    auto bob = connect("bob");
    send(*bob, publish("r/open", "x", QoS::at_least_once, 1));
    send(*bob, publish("r/secret", "x", QoS::at_least_once, 2));
    auto c = login("alice-dev", "alice");
    c.clean_start = false;
    c.properties.session_expiry_interval = 3600;
    auto alice = attempt(c);
    auto packets = alice->take();
    ASSERT_EQ(packets.size(), 2u);
    EXPECT_TRUE(std::get<Connack>(packets[0]).session_present);
    EXPECT_EQ(std::get<Publish>(packets[1]).topic, "r/open");
}

// ---------------------------------------------------------------------------
// Reload

using AclReload = AclPublish;

TEST_F(AclReload, ConnectedAndOfflineSessionsRebindAndNewConnectsUseItAtOnce) {
    auto alice = connect("alice");
    subscribe(*alice, {"r/#"});
    auto c = login("alice-away", "alice");
    c.clean_start = false;
    c.properties.session_expiry_interval = 600;
    auto away = connect(c);
    subscribe(*away, {"r/#"});
    away->session()->connection_lost();
    auto bob = connect("bob");
    send(*bob, publish("r/1", "x", QoS::at_least_once, 1));
    EXPECT_EQ(topics(*alice), std::vector<std::string>{"r/1"});
    const auto away_id = broker.registry().find("alice-away")->id;
    ASSERT_NE(broker.find_session(0, away_id), nullptr);
    EXPECT_EQ(broker.find_session(0, away_id)->queued(), 1u);

    // alice loses r/ and gains z/; a password file comes in.
    broker.set_authenticator(std::make_shared<const Authenticator>(
        passwords(), acl("user alice\ntopic readwrite z/#\nuser bob\ntopic readwrite #\n")));
    // Before any worker has run its rebind:
    const auto carol = login("carol", "carol", "pw");
    auto refused = std::make_shared<FakePort>();
    broker.connect(refused, 0, bytes_of(carol, carol.version));
    EXPECT_EQ(std::get<Connack>(refused->take().at(0)).reason_code, ReasonCode::bad_user_name_or_password);
    executor.run();

    EXPECT_EQ(broker.find_session(0, away_id)->queued(), 0u);  // no longer readable: dropped
    send(*bob, publish("r/2", "x"));
    EXPECT_TRUE(topics(*alice).empty());
    send(*alice, publish("a/1", "x", QoS::at_least_once, 5));
    send(*alice, publish("z/1", "x", QoS::at_least_once, 6));
    auto acks = alice->take();
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(std::get<Puback>(acks[0]).reason_code, ReasonCode::not_authorized);
    EXPECT_EQ(std::get<Puback>(acks[1]).reason_code, ReasonCode::no_matching_subscribers);

    // Back to no ACL at all: nothing is checked.
    use(std::nullopt, std::nullopt);
    send(*bob, publish("r/3", "x"));
    EXPECT_EQ(topics(*alice), std::vector<std::string>{"r/3"});
}

}  // namespace
