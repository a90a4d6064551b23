// Authentication and ACLs side by side: one password file (users made by
// Debian's mosquitto_passwd, by `fieldgate passwd`, and an old `$6$` entry)
// and one acl_file, given as they are to Debian's mosquitto 2.0 and to
// fieldgate, in MQTT 3.1.1 and 5. Every scenario asserts the same outcome for
// both brokers, except where they answer differently by design or by
// contract; those few places are in `Expected` below, each with the reason.
// Clients are raw sockets (support/raw_client.hpp), so the exact CONNACK,
// PUBACK, PUBREC and SUBACK codes are read from the bytes on the wire.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/mqtt/version.hpp"
#include "support/gateway.hpp"
#include "support/mosquitto.hpp"
#include "support/process.hpp"
#include "support/raw_client.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// The shared files.

constexpr const char* alice_password = "alice-Secret-1";  // mosquitto_passwd -b ($7$)
constexpr const char* bob_password = "bob-Secret-2";      // fieldgate passwd, from stdin ($7$)
constexpr const char* carol_password = "carol-Secret-3";  // a $6$ line (below)
constexpr const char* sysop_password = "sysop-Secret-4";  // mosquitto_passwd -b ($7$)
constexpr const char* wrong_password = "wrong-Secret-5";  // nobody's
// None of these may appear in a broker's log.
constexpr const char* all_passwords[] = {alice_password, bob_password, carol_password, sysop_password, wrong_password};

// A `$6$` entry as mosquitto 1.x's mosquitto_passwd wrote them (mosquitto 2.0
// still reads them): base64(salt) and base64(SHA-512(password || salt)), here
// for carol-Secret-3 and the 12-byte salt 5f1e9a0c33d2b7481c6e0f2a.
constexpr const char* carol_sha512_line =
    "carol:$6$Xx6aDDPSt0gcbg8q$xRnPP6bYjVAC4estonbKDy2bqsyck6rqExdPuNqyfaqxCfAwzOwr0Ukfi5NUY+2cksmAoHBuuDzY4Tcrs2Pxaw==\n";

// Anonymous rules come before the first `user`; patterns apply to everyone.
constexpr const char* acl_text = R"(# fieldgate integration test: the same file for mosquitto and fieldgate
topic read public/#

user alice
topic readwrite alice/#
topic write public/#
topic write plant/cmd
topic read plant/data

user bob
topic read alice/#
topic deny alice/private/#
topic read plant/cmd
topic write plant/data

user carol
topic read public/#

user sysop
topic read $SYS/#

pattern readwrite users/%u/#
pattern readwrite clients/%c/#
)";

void append_to(const std::string& path, const std::string& text) {
    std::ofstream out{path, std::ios::app};
    out << text;
    if (!out) throw std::runtime_error("cannot append to " + path);
}

void must_succeed(const RunResult& result, const std::string& what) {
    if (result.exit_code() != 0) {
        throw std::runtime_error(what + " failed (" + to_string(result.status) + "): " + result.out + result.err);
    }
}

// mosquitto_passwd makes the file (alice, sysop), a $6$ line is added (carol),
// and `fieldgate passwd` adds bob to that same file, reading the password from stdin.
std::string make_password_file(const TempDir& dir) {
    const std::string file = dir.path() + "/passwd";
    must_succeed(run({mosquitto_passwd_binary(), "-b", "-c", file, "alice", alice_password}), "mosquitto_passwd alice");
    must_succeed(run({mosquitto_passwd_binary(), "-b", file, "sysop", sysop_password}), "mosquitto_passwd sysop");
    append_to(file, carol_sha512_line);
    must_succeed(run({binary_path(), "passwd", file, "bob"}, {.stdin_text = std::string(bob_password) + "\n"}),
                 "fieldgate passwd bob");
    return file;
}

// ---------------------------------------------------------------------------
// The two brokers behind one face.

enum class BrokerKind { mosquitto, fieldgate };

struct AuthParam {
    BrokerKind broker = BrokerKind::fieldgate;
    ProtocolVersion version = ProtocolVersion::v3_1_1;
};

std::string broker_name(BrokerKind kind) { return kind == BrokerKind::mosquitto ? "mosquitto" : "fieldgate"; }

void PrintTo(const AuthParam& p, std::ostream* os) {
    *os << broker_name(p.broker) << ", MQTT " << mqtt::to_string(p.version);
}

std::string auth_param_name(const testing::TestParamInfo<AuthParam>& info) {
    return broker_name(info.param.broker) + (info.param.version == ProtocolVersion::v5 ? "_v5" : "_v311");
}

class BrokerUnderTest {
public:
    virtual ~BrokerUnderTest() = default;
    virtual std::uint16_t port() const = 0;
    virtual const std::string& log() const = 0;
    virtual bool running() = 0;
    virtual ExitStatus stop() = 0;
};

class Mosquitto final : public BrokerUnderTest {
public:
    Mosquitto(const std::string& password_file, const std::string& acl_file, bool allow_anonymous)
        : process_(MosquittoOptions{.password_file = password_file,
                                    .acl_file = acl_file,
                                    .allow_anonymous = allow_anonymous}) {}
    std::uint16_t port() const override { return process_.port(); }
    const std::string& log() const override { return process_.log(); }
    bool running() override { return process_.running(); }
    ExitStatus stop() override { return process_.stop(); }

private:
    MosquittoProcess process_;
};

// fieldgate with a configuration of its own: GatewayProcess writes its one
// [[listener]] without allow_anonymous, which these tests need to set.
class Fieldgate final : public BrokerUnderTest {
public:
    Fieldgate(const std::string& password_file, const std::string& acl_file, bool allow_anonymous) {
        std::string failure;
        for (int attempt = 0; attempt < 3; ++attempt) {
            if (start_once(password_file, acl_file, allow_anonymous, failure)) return;
        }
        throw std::runtime_error("fieldgate did not start: " + failure);
    }
    ~Fieldgate() override {
        if (process_ && process_->running()) process_->stop(Millis{1000});
    }
    std::uint16_t port() const override { return port_; }
    const std::string& log() const override { return process_->err(); }
    bool running() override { return !process_->wait(Millis{0}).has_value(); }
    ExitStatus stop() override { return process_->stop(); }

private:
    bool start_once(const std::string& password_file, const std::string& acl_file, bool allow_anonymous,
                    std::string& failure) {
        const auto ports = free_tcp_ports(2);
        port_ = ports[0];
        const std::string address = "127.0.0.1:" + std::to_string(port_);
        const std::string config =
            "[gateway]\n"
            "name = \"auth-it\"\n"
            "state_dir = \"" + dir_.path() + "/state\"\n"
            "workers = 2\n"
            "log_level = \"debug\"\n"
            "\n[[listener]]\n"
            "type = \"mqtt\"\n"
            "bind = \"" + address + "\"\n"
            "allow_anonymous = " + (allow_anonymous ? "true" : "false") + "\n"
            "\n[http]\n"
            "bind = \"127.0.0.1:" + std::to_string(ports[1]) + "\"\n"
            "\n[auth]\n"
            "password_file = \"" + password_file + "\"\n"
            "acl_file = \"" + acl_file + "\"\n"
            "\n[persistence]\n"
            "durability = \"none\"\n";
        const std::string path = dir_.write("fieldgate.toml", config);
        if (process_ && process_->running()) process_->stop();
        process_ = std::make_unique<Process>(std::vector<std::string>{binary_path(), "-c", path});
        if (process_->wait_for_stderr("listening for MQTT on " + address, Millis{10000}) &&
            process_->wait_for_stderr("running with", Millis{10000})) {
            return true;
        }
        const auto status = process_->running() ? process_->stop() : *process_->wait(Millis{1000});
        failure = "(" + to_string(status) + ") log:\n" + process_->err() + "\nconfig:\n" + config;
        return false;
    }

    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Process> process_;
};

// Where the brokers answer differently. Everything else is asserted alike.
struct Expected {
    // CONNACK code for a wrong password, an unknown user, and a user name
    // without a password. fieldgate: 3.1.1 4 "bad user name or password", v5 0x86
    // "Bad User Name or Password" (the contract; MQTT 5 3.2.2.2 gives 0x86 for
    // credentials the server does not accept). mosquitto 2.0.11 answers 5 "not
    // authorised" / 0x87 "Not authorized" instead (seen on Debian's build).
    int bad_credentials = 0;
    // CONNACK code for an anonymous client where allow_anonymous = false:
    // 5 / 0x87 from both.
    int anonymous_refused = 0;
    // SUBACK code for a filter the client may not read. fieldgate refuses it
    // (3.1.1 0x80, v5 0x87 "Not authorized"); mosquitto 2.0 grants every
    // subscription (the requested QoS) and filters at delivery. nullopt: granted.
    std::optional<int> read_denied_subscription;
};

Expected expected_for(const AuthParam& p) {
    const bool v5 = p.version == ProtocolVersion::v5;
    if (p.broker == BrokerKind::fieldgate) return {v5 ? 0x86 : 4, v5 ? 0x87 : 5, v5 ? 0x87 : 0x80};
    return {v5 ? 0x87 : 5, v5 ? 0x87 : 5, std::nullopt};
}

// ---------------------------------------------------------------------------
// A raw client that keeps PUBLISHes it receives apart from the answers it awaits.

struct Msg {
    std::string topic;
    std::string payload;
    bool retain = false;

    bool operator==(const Msg&) const = default;
    bool operator<(const Msg& o) const { return std::tie(topic, payload, retain) < std::tie(o.topic, o.payload, o.retain); }
};

void PrintTo(const Msg& m, std::ostream* os) {
    *os << "{" << m.topic << " \"" << m.payload << "\"" << (m.retain ? " retained" : "") << "}";
}

using Msgs = std::vector<Msg>;
using Codes = std::vector<int>;

Msgs sorted(Msgs m) {
    std::sort(m.begin(), m.end());
    return m;
}

// How long an awaited answer may take: refusals are delayed by fieldgate (a
// few seconds at most), everything else comes at once.
constexpr Millis answer_timeout{10000};
// How long a client listens for messages that must not come, once the ones
// that must come have arrived.
constexpr Millis quiet_window{600};

class Peer {
public:
    Peer(std::string name, std::uint16_t port, ProtocolVersion version)
        : name_(std::move(name)), version_(version), client_(port) {}

    ProtocolVersion version() const { return version_; }
    bool v5() const { return version_ == ProtocolVersion::v5; }

    // Sends CONNECT; returns the CONNACK's return code (3.1.1) or reason code
    // (5), or -1 when none came in time.
    int connect(raw::Connect c) {
        c.version = version_;
        if (!client_.send(raw::connect(c))) return -1;
        const auto connack = await(PacketType::connack, answer_timeout);
        if (!connack) return -1;
        return connack->bytes.at(3);
    }
    // Connects and throws unless accepted.
    void connect_ok(raw::Connect c) {
        const std::string id = c.client_id;
        const int code = connect(std::move(c));
        if (code != 0) throw std::runtime_error(name_ + ": CONNECT as " + id + " answered " + std::to_string(code));
    }

    // The SUBACK's codes.
    Codes subscribe(const std::string& filter, int qos) {
        const auto id = next_id();
        send(raw::subscribe(version_, id, filter, qos));
        const auto suback = await_or_throw(PacketType::suback, "SUBACK for " + filter);
        // 90 LEN id id [v5: properties] codes...
        const Bytes& b = suback.bytes;
        std::size_t at = 1;
        while (b.at(at) & 0x80) ++at;
        at += 3;  // last length byte, packet id
        if (v5()) {
            std::uint32_t length = 0;
            int shift = 0;
            while (true) {
                const auto byte = b.at(at++);
                length |= static_cast<std::uint32_t>(byte & 0x7F) << shift;
                shift += 7;
                if (!(byte & 0x80)) break;
            }
            at += length;
        }
        Codes codes;
        for (; at < b.size(); ++at) codes.push_back(b[at]);
        return codes;
    }

    // QoS 0: -1 once written. QoS 1: the PUBACK's reason code (0 when there is
    // none, as in 3.1.1). QoS 2: the PUBREC's; below 0x80 the exchange is
    // completed with PUBREL / PUBCOMP.
    int publish(const std::string& topic, const std::string& payload, int qos, bool retain = false) {
        const std::uint16_t id = qos > 0 ? next_id() : 0;
        send(raw::publish(version_, topic, payload, qos, id, retain));
        if (qos == 0) return -1;
        const auto ack = await_or_throw(qos == 1 ? PacketType::puback : PacketType::pubrec,
                                        std::string(qos == 1 ? "PUBACK" : "PUBREC") + " for " + topic);
        const int code = ack_code(ack);
        if (qos == 2 && code < 0x80) {
            send(raw::pubrel(version_, id));
            await_or_throw(PacketType::pubcomp, "PUBCOMP for " + topic);
        }
        return code;
    }

    // Waits (up to `timeout`) until `count` messages have arrived, then listens
    // `quiet_window` longer for more; returns them all, in arrival order.
    Msgs collect(std::size_t count, Millis timeout = Millis{5000}) {
        const auto deadline = Clock::now() + timeout;
        while (messages_.size() < count && Clock::now() < deadline) {
            if (!pump(left(deadline))) break;
        }
        const auto quiet_end = Clock::now() + quiet_window;
        while (Clock::now() < quiet_end) {
            if (!pump(left(quiet_end))) break;
        }
        Msgs out(messages_.begin(), messages_.end());
        messages_.clear();
        return out;
    }

    // The next message, or nullopt when none comes in time.
    std::optional<Msg> next_message(Millis timeout) {
        const auto deadline = Clock::now() + timeout;
        while (messages_.empty() && Clock::now() < deadline) {
            if (!pump(left(deadline))) break;
        }
        if (messages_.empty()) return std::nullopt;
        Msg m = messages_.front();
        messages_.pop_front();
        return m;
    }

    bool wait_closed(Millis timeout) { return client_.wait_closed(timeout); }
    // Ends the connection without DISCONNECT, so a will is published.
    void reset() { client_.reset(); }

private:
    static Millis left(Clock::time_point deadline) {
        return std::max(std::chrono::duration_cast<Millis>(deadline - Clock::now()), Millis{1});
    }

    std::uint16_t next_id() { return next_id_++; }

    void send(const Bytes& bytes) {
        if (!client_.send(bytes)) throw std::runtime_error(name_ + ": the connection is gone");
    }

    static int ack_code(const RawPacket& ack) {
        // 40 02 id id (success, any version) or 40 LEN id id reason [properties].
        return ack.bytes.at(1) == 2 ? 0 : ack.bytes.at(4);
    }

    // Reads one packet: PUBLISHes are kept (and acknowledged), anything else
    // is queued for await(). False when nothing came in time or the
    // connection closed.
    bool pump(Millis timeout) {
        auto packet = client_.read_packet(version_, timeout);
        if (!packet) return false;
        switch (packet->type()) {
            case PacketType::publish: {
                const auto& p = packet->as<mqtt::Publish>();
                messages_.push_back(Msg{std::string(p.topic), std::string(p.payload), p.retain});
                if (p.qos == mqtt::QoS::at_least_once) send(raw::puback(version_, p.packet_id));
                if (p.qos == mqtt::QoS::exactly_once) send(raw::pubrec(version_, p.packet_id));
                break;
            }
            case PacketType::pubrel: {
                // Our PUBREC's answer, for a QoS 2 message received.
                const auto& b = packet->bytes;
                send(raw::pubcomp(version_, static_cast<std::uint16_t>(b.at(2) << 8 | b.at(3))));
                break;
            }
            default:
                others_.push_back(std::move(*packet));
        }
        return true;
    }

    std::optional<RawPacket> await(PacketType type, Millis timeout) {
        const auto deadline = Clock::now() + timeout;
        while (true) {
            for (auto it = others_.begin(); it != others_.end(); ++it) {
                if (it->type() == type) {
                    RawPacket out = std::move(*it);
                    others_.erase(it);
                    return out;
                }
            }
            if (Clock::now() >= deadline || !pump(left(deadline))) {
                if (client_.closed() || Clock::now() >= deadline) return std::nullopt;
            }
        }
    }

    RawPacket await_or_throw(PacketType type, const std::string& what) {
        auto packet = await(type, answer_timeout);
        if (!packet) throw std::runtime_error(name_ + ": no " + what + (client_.closed() ? " (connection closed)" : ""));
        return std::move(*packet);
    }

    std::string name_;
    ProtocolVersion version_;
    RawClient client_;
    std::uint16_t next_id_ = 1;
    std::deque<Msg> messages_;
    std::deque<RawPacket> others_;
};

raw::Connect login(std::string client_id, std::optional<std::string> username = std::nullopt,
                   std::optional<std::string> password = std::nullopt) {
    raw::Connect c;
    c.client_id = std::move(client_id);
    c.username = std::move(username);
    c.password = std::move(password);
    return c;
}

raw::Connect with_will(raw::Connect c, std::string topic, std::string payload) {
    c.will = raw::Will{.topic = std::move(topic), .payload = std::move(payload)};
    return c;
}

// ---------------------------------------------------------------------------

class AuthAcl : public testing::TestWithParam<AuthParam> {
protected:
    void SetUp() override {
        ASSERT_TRUE(mosquitto_installed()) << "Debian's mosquitto and mosquitto_passwd are needed";
        password_file_ = make_password_file(files_);
        acl_file_ = files_.write("acl", acl_text);
    }

    void start(bool allow_anonymous = true) {
        if (GetParam().broker == BrokerKind::mosquitto) {
            broker_ = std::make_unique<Mosquitto>(password_file_, acl_file_, allow_anonymous);
        } else {
            broker_ = std::make_unique<Fieldgate>(password_file_, acl_file_, allow_anonymous);
        }
    }

    void TearDown() override {
        if (!broker_) return;
        ASSERT_TRUE(broker_->running()) << "the broker died during the test; log:\n" << broker_->log();
        const ExitStatus status = broker_->stop();
        EXPECT_EQ(status, (ExitStatus{true, 0, 0})) << to_string(status) << "; log:\n" << broker_->log();
        // Logged at the most verbose level (fieldgate debug, mosquitto log_type all), never a password.
        for (const char* password : all_passwords) {
            EXPECT_EQ(broker_->log().find(password), std::string::npos) << password << " in the log:\n" << broker_->log();
        }
    }

    ProtocolVersion version() const { return GetParam().version; }
    bool v5() const { return version() == ProtocolVersion::v5; }
    Expected expected() const { return expected_for(GetParam()); }
    // PUBACK / PUBREC code for a publish the ACL refuses: v5 0x87; 3.1.1 has
    // no reason codes, the message is acknowledged and dropped.
    int publish_denied() const { return v5() ? 0x87 : 0; }
    // PUBACK code for an accepted publish that no subscription matches: v5
    // 0x10 "No matching subscribers" (MQTT 5 3.4.2.1 allows it instead of 0;
    // both brokers send it).
    int accepted_unmatched() const { return v5() ? 0x10 : 0; }
    // SUBACK codes for one filter the client may not read.
    Codes read_denied_subscription(int qos) const {
        return {expected().read_denied_subscription.value_or(qos)};
    }

    std::unique_ptr<Peer> peer(const std::string& name) {
        return std::make_unique<Peer>(name, broker_->port(), version());
    }
    std::unique_ptr<Peer> connected(raw::Connect c) {
        auto p = peer(c.client_id);
        p->connect_ok(std::move(c));
        return p;
    }

    // The user logs in, and the session works: its own tree (pattern
    // users/%u/#) echoes a publish.
    void expect_login_works(const std::string& user, const std::string& password) {
        auto client = peer(user);
        ASSERT_EQ(client->connect(login(user + "-1", user, password)), 0) << "log:\n" << broker_->log();
        const std::string topic = "users/" + user + "/echo";
        ASSERT_EQ(client->subscribe(topic, 1), Codes{1});
        EXPECT_EQ(client->publish(topic, "hello " + user, 1), 0);
        EXPECT_EQ(client->collect(1), (Msgs{{topic, "hello " + user, false}}));
    }

    // CONNECT is refused with `code`, and the server closes the connection.
    void expect_refused(raw::Connect c, int code) {
        auto client = peer(c.client_id);
        EXPECT_EQ(client->connect(std::move(c)), code);
        EXPECT_TRUE(client->wait_closed(Millis{5000})) << "the connection stays open after a refusal";
    }

    TempDir files_;
    std::string password_file_;
    std::string acl_file_;
    std::unique_ptr<BrokerUnderTest> broker_;
};

INSTANTIATE_TEST_SUITE_P(Brokers, AuthAcl,
                         testing::Values(AuthParam{BrokerKind::mosquitto, ProtocolVersion::v3_1_1},
                                         AuthParam{BrokerKind::mosquitto, ProtocolVersion::v5},
                                         AuthParam{BrokerKind::fieldgate, ProtocolVersion::v3_1_1},
                                         AuthParam{BrokerKind::fieldgate, ProtocolVersion::v5}),
                         auth_param_name);

// --- authentication ---------------------------------------------------------

TEST_P(AuthAcl, UserMadeByMosquittoPasswdLogsIn) {
    start(false);
    expect_login_works("alice", alice_password);
}

TEST_P(AuthAcl, UserMadeByFieldgatePasswdLogsIn) {
    start(false);
    expect_login_works("bob", bob_password);
}

TEST_P(AuthAcl, Sha512EntryLogsIn) {
    start(false);
    expect_login_works("carol", carol_password);
}

TEST_P(AuthAcl, WrongPasswordIsRefused) {
    start(false);
    expect_refused(login("alice-1", "alice", wrong_password), expected().bad_credentials);
    expect_refused(login("carol-1", "carol", bob_password), expected().bad_credentials);  // a $6$ entry
}

TEST_P(AuthAcl, UnknownUserIsRefused) {
    start(false);
    expect_refused(login("mallory-1", "mallory", alice_password), expected().bad_credentials);
}

// A user name of the file, but no password field at all.
TEST_P(AuthAcl, UserNameWithoutPasswordIsRefused) {
    start(true);
    expect_refused(login("alice-1", "alice"), expected().bad_credentials);
}

TEST_P(AuthAcl, AnonymousIsRefusedWhereNotAllowedAndUsersStillLogIn) {
    start(false);
    expect_refused(login("anon-1"), expected().anonymous_refused);
    expect_login_works("alice", alice_password);
}

// Anonymous clients get the rules before the first `user`: read public/#, no write.
TEST_P(AuthAcl, AnonymousIsAllowedWhereAllowedWithTheAnonymousRules) {
    start(true);
    auto anon = connected(login("anon-1"));
    ASSERT_EQ(anon->subscribe("public/#", 0), Codes{0});
    EXPECT_EQ(anon->publish("public/from-anon", "must not pass", 1), publish_denied());
    auto alice = connected(login("alice-1", "alice", alice_password));
    EXPECT_EQ(alice->publish("public/news", "from alice", 1), 0);
    EXPECT_EQ(anon->collect(1), (Msgs{{"public/news", "from alice", false}}));
}

// --- publish -------------------------------------------------------------------

// alice may read plant/data but not write it: whatever QoS, the message is
// not delivered, not even to a subscriber that may read it.
TEST_P(AuthAcl, PublishDeniedIsNotDeliveredAtAnyQoS) {
    start();
    auto reader = connected(login("alice-r", "alice", alice_password));
    ASSERT_EQ(reader->subscribe("plant/data", 0), Codes{0});
    auto writer = connected(login("alice-w", "alice", alice_password));
    writer->publish("plant/data", "denied qos0", 0);
    EXPECT_EQ(writer->publish("plant/data", "denied qos1", 1), publish_denied());
    EXPECT_EQ(writer->publish("plant/data", "denied qos2", 2), publish_denied());
    // Allowed publishes: alice to her own tree, and the one who may write plant/data.
    EXPECT_EQ(writer->publish("alice/ok", "allowed", 1), accepted_unmatched());
    auto bob = connected(login("bob-1", "bob", bob_password));
    EXPECT_EQ(bob->publish("plant/data", "from bob", 2), 0);
    EXPECT_EQ(reader->collect(1), (Msgs{{"plant/data", "from bob", false}}));
}

// --- subscribe -----------------------------------------------------------------

// bob may write plant/data but not read it. mosquitto grants the subscription,
// fieldgate refuses it; either way bob receives nothing, while alice, who may
// read it, gets his message.
TEST_P(AuthAcl, SubscribeDeniedDeliversNothing) {
    start();
    auto alice = connected(login("alice-1", "alice", alice_password));
    ASSERT_EQ(alice->subscribe("plant/data", 1), Codes{1});
    auto bob = connected(login("bob-1", "bob", bob_password));
    EXPECT_EQ(bob->subscribe("plant/data", 1), read_denied_subscription(1));
    EXPECT_EQ(bob->subscribe("plant/cmd", 1), Codes{1}) << "a filter bob may read";
    EXPECT_EQ(bob->publish("plant/data", "reading", 1), 0);
    EXPECT_EQ(alice->publish("plant/cmd", "command", 1), 0);
    EXPECT_EQ(alice->collect(1), (Msgs{{"plant/data", "reading", false}}));
    EXPECT_EQ(bob->collect(1), (Msgs{{"plant/cmd", "command", false}}));
}

// --- delivery ------------------------------------------------------------------

// bob may read alice/# except alice/private/#: the subscription to alice/#
// is granted by both brokers, and each message is checked on delivery.
TEST_P(AuthAcl, DeliveryIsFilteredByReadAccess) {
    start();
    auto bob = connected(login("bob-1", "bob", bob_password));
    ASSERT_EQ(bob->subscribe("alice/#", 0), Codes{0});
    auto watcher = connected(login("alice-r", "alice", alice_password));
    ASSERT_EQ(watcher->subscribe("alice/#", 0), Codes{0});
    auto alice = connected(login("alice-w", "alice", alice_password));
    EXPECT_EQ(alice->publish("alice/private/diary", "secret", 1), 0);
    EXPECT_EQ(alice->publish("alice/public/notes", "open", 1), 0);
    EXPECT_EQ(sorted(watcher->collect(2)),
              sorted({{"alice/private/diary", "secret", false}, {"alice/public/notes", "open", false}}));
    EXPECT_EQ(bob->collect(1), (Msgs{{"alice/public/notes", "open", false}}));
}

TEST_P(AuthAcl, RetainedMessageIsNotDeliveredToAClientThatMayNotReadIt) {
    start();
    {
        auto alice = connected(login("alice-w", "alice", alice_password));
        EXPECT_EQ(alice->publish("alice/private/state", "secret", 1, true), accepted_unmatched());
        EXPECT_EQ(alice->publish("alice/public/state", "open", 1, true), accepted_unmatched());
    }
    auto bob = connected(login("bob-1", "bob", bob_password));
    ASSERT_EQ(bob->subscribe("alice/#", 0), Codes{0});
    EXPECT_EQ(bob->collect(1), (Msgs{{"alice/public/state", "open", true}}));
    auto watcher = connected(login("alice-r", "alice", alice_password));
    ASSERT_EQ(watcher->subscribe("alice/#", 0), Codes{0});
    EXPECT_EQ(sorted(watcher->collect(2)),
              sorted({{"alice/private/state", "secret", true}, {"alice/public/state", "open", true}}));
}

// A will is a publish by the client that set it: checked for write when it is
// published, and for read on delivery to each subscriber.
TEST_P(AuthAcl, WillsAreCheckedForWriteAndRead) {
    start();
    auto watcher = connected(login("alice-r", "alice", alice_password));
    ASSERT_EQ(watcher->subscribe("plant/data", 0), Codes{0});
    ASSERT_EQ(watcher->subscribe("alice/#", 0), Codes{0});
    auto bob = connected(login("bob-1", "bob", bob_password));
    ASSERT_EQ(bob->subscribe("alice/#", 0), Codes{0});
    // Both brokers accept the CONNECT of a will to a topic its client may not write.
    auto denied = connected(with_will(login("alice-w1", "alice", alice_password), "plant/data", "will: not written"));
    auto secret = connected(with_will(login("alice-w2", "alice", alice_password), "alice/private/gone", "will: secret"));
    auto open = connected(with_will(login("alice-w3", "alice", alice_password), "alice/gone", "will: open"));
    denied->reset();
    secret->reset();
    open->reset();
    EXPECT_EQ(sorted(watcher->collect(2)),
              sorted({{"alice/private/gone", "will: secret", false}, {"alice/gone", "will: open", false}}));
    EXPECT_EQ(bob->collect(1), (Msgs{{"alice/gone", "will: open", false}}));
}

// --- patterns ------------------------------------------------------------------

TEST_P(AuthAcl, UsernamePatternGrantsEachUserOnlyTheirOwnTree) {
    start();
    auto alice = connected(login("alice-1", "alice", alice_password));
    ASSERT_EQ(alice->subscribe("users/alice/#", 0), Codes{0});
    auto bob = connected(login("bob-1", "bob", bob_password));
    ASSERT_EQ(bob->subscribe("users/bob/#", 0), Codes{0});
    EXPECT_EQ(alice->publish("users/bob/inbox", "from alice", 1), publish_denied());
    EXPECT_EQ(alice->publish("users/alice/inbox", "to herself", 1), 0);
    EXPECT_EQ(bob->publish("users/bob/inbox", "to himself", 1), 0);
    EXPECT_EQ(alice->collect(1), (Msgs{{"users/alice/inbox", "to herself", false}}));
    EXPECT_EQ(bob->collect(1), (Msgs{{"users/bob/inbox", "to himself", false}}));
}

// %c is the client id, for users and anonymous clients alike.
TEST_P(AuthAcl, ClientIdPatternGrantsEachClientOnlyItsOwnTree) {
    start(true);
    auto seven = connected(login("dev-7", "alice", alice_password));
    ASSERT_EQ(seven->subscribe("clients/dev-7/#", 0), Codes{0});
    auto eight = connected(login("dev-8", "bob", bob_password));
    ASSERT_EQ(eight->subscribe("clients/dev-8/#", 0), Codes{0});
    auto nine = connected(login("dev-9"));
    ASSERT_EQ(nine->subscribe("clients/dev-9/#", 0), Codes{0});
    EXPECT_EQ(seven->publish("clients/dev-8/cmd", "from dev-7", 1), publish_denied());
    EXPECT_EQ(nine->publish("clients/dev-8/cmd", "from dev-9", 1), publish_denied());
    EXPECT_EQ(seven->publish("clients/dev-7/cmd", "own 7", 1), 0);
    EXPECT_EQ(eight->publish("clients/dev-8/cmd", "own 8", 1), 0);
    EXPECT_EQ(nine->publish("clients/dev-9/cmd", "own 9", 1), 0);
    EXPECT_EQ(seven->collect(1), (Msgs{{"clients/dev-7/cmd", "own 7", false}}));
    EXPECT_EQ(eight->collect(1), (Msgs{{"clients/dev-8/cmd", "own 8", false}}));
    EXPECT_EQ(nine->collect(1), (Msgs{{"clients/dev-9/cmd", "own 9", false}}));
}

// --- $SYS ------------------------------------------------------------------------

// Both brokers keep retained $SYS topics, so a subscription that may read
// them gets some at once.
TEST_P(AuthAcl, SysTopicsOnlyToAUserGrantedThem) {
    start();
    auto sysop = connected(login("sysop-1", "sysop", sysop_password));
    ASSERT_EQ(sysop->subscribe("$SYS/#", 0), Codes{0});
    const auto first = sysop->next_message(Millis{5000});
    ASSERT_TRUE(first.has_value()) << "no $SYS message for a user granted $SYS/#";
    EXPECT_EQ(first->topic.rfind("$SYS/", 0), 0u) << first->topic;
    auto alice = connected(login("alice-1", "alice", alice_password));
    EXPECT_EQ(alice->subscribe("$SYS/#", 0), read_denied_subscription(0));
    auto anon = connected(login("anon-1"));
    EXPECT_EQ(anon->subscribe("$SYS/#", 0), read_denied_subscription(0));
    EXPECT_EQ(alice->collect(0), Msgs{});
    EXPECT_EQ(anon->collect(0), Msgs{});
}

}  // namespace
}  // namespace fieldgate::test
