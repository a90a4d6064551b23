// Persistence: the real binary is SIGKILLed in the middle of QoS 1 and QoS 2
// streams and restarted on the same state_dir. With durability "sync" every
// message the broker acknowledged reaches its persistent subscriber, in order,
// QoS 2 exactly once (inbound QoS 2 packet ids survive too); retained
// messages, subscriptions and expiry survive; "none" starts clean; a damaged
// database is moved aside; a full store refuses what it cannot keep (0x97 /
// closed connection), lets QoS 0 through, and stores again once space returns.

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "support/scenario.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;
using mqtt::ReasonCode;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// A gateway that can be killed and started again on the same state_dir
// (GatewayProcess makes a fresh directory per process). Fresh ports on every
// start; the configuration is otherwise the same.
class DurableGateway {
public:
    DurableGateway(int workers, std::string extra_toml) : workers_(workers), extra_toml_(std::move(extra_toml)) {}
    ~DurableGateway() {
        if (process_ && process_->running()) {
            process_->send_signal(SIGKILL);
            process_->wait(Millis{5000});
        }
    }
    DurableGateway(const DurableGateway&) = delete;
    DurableGateway& operator=(const DurableGateway&) = delete;

    void start() {
        std::string failure;
        for (int attempt = 0; attempt < 3; ++attempt) {
            if (start_once(failure)) return;
        }
        throw std::runtime_error("fieldgate did not start: " + failure);
    }

    // SIGKILL and reap.
    ExitStatus kill() {
        process_->send_signal(SIGKILL);
        if (auto status = process_->wait(Millis{5000})) return *status;
        return process_->stop(Millis{1000});
    }
    ExitStatus stop(Millis timeout = Millis{5000}) { return process_->stop(timeout); }
    bool running() { return process_ && !process_->wait(Millis{0}).has_value(); }

    std::uint16_t port() const { return port_; }
    const TempDir& dir() const { return dir_; }
    std::string state_dir() const { return dir_.path() + "/state"; }
    std::string db_path() const { return state_dir() + "/fieldgate.db"; }
    // The log of the current run (read up to now).
    const std::string& log() {
        process_->wait_for_stderr("\x01 never logged", Millis{100}, process_->err().size());
        return process_->err();
    }
    // The logs of every run so far, for failure messages.
    std::string logs() const { return previous_logs_ + (process_ ? "--- current run ---\n" + process_->err() : ""); }

private:
    bool start_once(std::string& failure) {
        if (process_) {
            if (process_->running()) process_->stop();
            previous_logs_ += "--- earlier run ---\n" + process_->err();
            process_.reset();
        }
        const auto ports = free_tcp_ports(2);
        port_ = ports[0];
        const std::string address = "127.0.0.1:" + std::to_string(port_);
        const std::string config = "[gateway]\nname = \"it\"\nstate_dir = \"" + state_dir() + "\"\nworkers = " +
                                   std::to_string(workers_) + "\nlog_level = \"info\"\n\n[[listener]]\ntype = \"mqtt\"\n" +
                                   "bind = \"" + address + "\"\n\n[http]\nbind = \"127.0.0.1:" +
                                   std::to_string(ports[1]) + "\"\n\n" + extra_toml_ + "\n";
        const auto path = dir_.write("fieldgate.toml", config);
        process_ = std::make_unique<Process>(std::vector<std::string>{binary_path(), "-c", path});
        if (process_->wait_for_stderr("listening for MQTT on " + address, Millis{10000}) &&
            process_->wait_for_stderr("running with", Millis{10000})) {
            return true;
        }
        const auto status = process_->running() ? process_->stop() : *process_->wait(Millis{1000});
        failure = "(" + to_string(status) + ") log:\n" + process_->err() + "\nconfig:\n" + config;
        return false;
    }

    int workers_;
    std::string extra_toml_;
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Process> process_;
    std::string previous_logs_;
};

constexpr const char* sync_toml = "[persistence]\ndurability = \"sync\"\n";

// ---------------------------------------------------------------------------
// Clients.

ConnectOptions paho_session(ProtocolVersion v, std::string client_id, bool clean, std::uint32_t expiry = 300) {
    ConnectOptions o;
    o.version = v;
    o.client_id = std::move(client_id);
    o.clean = clean;
    if (v == ProtocolVersion::v5 && !clean) o.properties["session_expiry_interval"] = expiry;
    return o;
}

raw::Connect raw_session(ProtocolVersion v, std::string client_id, bool clean) {
    raw::Connect c{.version = v, .client_id = std::move(client_id), .clean = clean};
    if (v == ProtocolVersion::v5 && !clean) c.properties = raw::prop_u32(0x11, 300);  // Session Expiry Interval
    return c;
}

// Connects and checks the CONNACK; returns session present.
bool raw_connect(RawClient& raw, ProtocolVersion v, const raw::Connect& c) {
    raw.send(raw::connect(c));
    const auto connack = raw.read_packet(v, 3s);
    if (!connack || connack->type() != PacketType::connack) {
        throw std::runtime_error("no CONNACK; got " + to_hex(raw.pending()));
    }
    const auto& ack = connack->as<mqtt::Connack>();
    if (ack.reason_code != ReasonCode::success) throw std::runtime_error("CONNECT refused: " + to_hex(connack->bytes));
    return ack.session_present;
}

Bytes raw_pubrel(std::uint16_t packet_id) { return raw::packet(0x62, raw::u16(packet_id)); }

Bytes raw_publish_dup(ProtocolVersion v, std::string_view topic, std::string_view payload, int qos,
                      std::uint16_t packet_id) {
    Bytes bytes = raw::publish(v, topic, payload, qos, packet_id);
    bytes[0] |= 0x08;  // DUP
    return bytes;
}

// A persistent paho subscriber that subscribes and goes away (DISCONNECT).
void subscribe_and_leave(std::uint16_t port, const ConnectOptions& options, const std::string& filter, int qos) {
    PahoClient c(options.client_id);
    c.connect_ok(port, options);
    const auto codes = c.subscribe(filter, qos);
    if (codes != std::vector<int>{qos}) throw std::runtime_error("subscription to " + filter + " not granted");
    c.disconnect();
    c.expect("disconnect");
}

// Messages until none arrives for `quiet` (bounded by `total`).
std::vector<Message> drain(PahoClient& client, Millis quiet, Millis total = Millis{20000}) {
    std::vector<Message> out;
    const auto deadline = Clock::now() + total;
    while (Clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        auto event = client.next("message", std::min(quiet, left));
        if (!event) break;
        out.push_back(to_message(*event));
    }
    return out;
}

std::string numbered(int i) {
    std::string digits = std::to_string(i);
    return "m" + std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits;
}

// "m0042" (and "m0042" + padding) -> 42; anything else -> -1.
int number_of(const std::string& payload) {
    if (payload.size() < 5 || payload[0] != 'm') return -1;
    try {
        return std::stoi(payload.substr(1, 4));
    } catch (...) {
        return -1;
    }
}

std::string join(const std::vector<int>& values, std::size_t limit = 40) {
    std::string out;
    for (std::size_t i = 0; i < values.size() && i < limit; ++i) out += (i ? " " : "") + std::to_string(values[i]);
    if (values.size() > limit) out += " ... (" + std::to_string(values.size()) + " in all)";
    return out.empty() ? "(none)" : out;
}

std::vector<int> numbers_of(const std::vector<Message>& messages) {
    std::vector<int> out;
    for (const auto& m : messages) out.push_back(number_of(m.payload));
    return out;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> damaged_files(const std::string& state_dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(state_dir, ec)) {
        const auto name = e.path().filename().string();
        if (name.starts_with("fieldgate.db.damaged-") && name.find("-wal") == std::string::npos &&
            name.find("-shm") == std::string::npos) {
            out.push_back(e.path().string());
        }
    }
    return out;
}

// The log line that names `text`, or empty.
std::string line_with(const std::string& log, const std::string& text) {
    const auto at = log.find(text);
    if (at == std::string::npos) return {};
    const auto begin = log.rfind('\n', at);
    const auto end = log.find('\n', at);
    return log.substr(begin == std::string::npos ? 0 : begin + 1,
                      (end == std::string::npos ? log.size() : end) - (begin == std::string::npos ? 0 : begin + 1));
}

// ---------------------------------------------------------------------------
// Fixtures.

class PersistenceBase : public testing::TestWithParam<BrokerParam> {
protected:
    DurableGateway& gateway(std::string extra_toml = sync_toml) {
        gateway_ = std::make_unique<DurableGateway>(GetParam().workers, std::move(extra_toml));
        return *gateway_;
    }
    void TearDown() override {
        if (!gateway_) return;
        ASSERT_TRUE(gateway_->running()) << "the gateway died during the test; logs:\n" << gateway_->logs();
        const ExitStatus status = gateway_->stop();
        EXPECT_EQ(status, (ExitStatus{true, 0, 0})) << to_string(status) << "; logs:\n" << gateway_->logs();
    }
    std::unique_ptr<DurableGateway> gateway_;
};

// Over workers 1 and 2 and the persistent subscriber's (and publisher's) protocol version.
class PersistenceStream : public PersistenceBase {
protected:
    ProtocolVersion version() const { return GetParam().version; }
    bool v5() const { return version() == ProtocolVersion::v5; }
};
INSTANTIATE_TEST_SUITE_P(Versions, PersistenceStream,
                         testing::ValuesIn(matrix({ProtocolVersion::v3_1_1, ProtocolVersion::v5})), param_name);

// Over workers 1 and 2, MQTT 5 clients unless a test says otherwise.
class PersistenceState : public PersistenceBase {};
INSTANTIATE_TEST_SUITE_P(Workers, PersistenceState, testing::ValuesIn(matrix({ProtocolVersion::v5})), workers_name);

// ---------------------------------------------------------------------------
// 1. QoS 1: SIGKILL mid-stream; every PUBACKed message reaches the persistent
// subscriber after the restart, in publish order, with session present 1.
TEST_P(PersistenceStream, Qos1EveryAcknowledgedMessageSurvivesSigkillMidStreamInOrder) {
    auto& gw = gateway();
    gw.start();
    const auto sub_options = paho_session(version(), "q1-sub", false);
    subscribe_and_leave(gw.port(), sub_options, "dur/q1", 1);

    constexpr int total = 200;   // messages the publisher has
    constexpr int window = 24;   // unacknowledged at once (below Receive Maximum 32)
    constexpr int kill_after = 60;
    enum State { unsent, sent, acked };
    std::vector<State> state(total + 1, unsent);
    std::vector<std::string> problems;
    int next = 1;
    int outstanding = 0;
    int acks = 0;

    RawClient pub(gw.port());
    raw_connect(pub, version(), raw_session(version(), "q1-pub", true));
    const auto send_more = [&] {
        while (next <= total && outstanding < window) {
            pub.send(raw::publish(version(), "dur/q1", numbered(next), 1, static_cast<std::uint16_t>(next)));
            state[static_cast<std::size_t>(next)] = sent;
            ++next;
            ++outstanding;
        }
    };
    const auto on_packet = [&](const RawPacket& p) {
        if (p.type() != PacketType::puback) return problems.push_back("not a PUBACK: " + to_hex(p.bytes));
        const auto& a = p.as<mqtt::Puback>();
        if (a.packet_id < 1 || a.packet_id > total || state[a.packet_id] != sent) {
            return problems.push_back("PUBACK for packet id " + std::to_string(a.packet_id) + " not awaited");
        }
        --outstanding;
        if (a.reason_code != ReasonCode::success) {
            return problems.push_back("PUBACK " + std::to_string(a.packet_id) + " with reason " + to_hex(p.bytes));
        }
        state[a.packet_id] = acked;
        ++acks;
    };

    send_more();
    while (acks < kill_after) {
        const auto p = pub.read_packet(version(), 5s);
        ASSERT_TRUE(p) << "no PUBACK within 5 s after " << acks << " acks; log:\n" << gw.log();
        on_packet(*p);
        send_more();
    }
    const int in_flight_at_kill = outstanding;
    const int sent_at_kill = next - 1;
    EXPECT_EQ(gw.kill(), (ExitStatus{false, -1, SIGKILL}));
    // Acknowledgements already on their way when the gateway died count too.
    while (auto p = pub.read_packet(version(), 500ms)) on_packet(*p);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(problems);
    ASSERT_GT(in_flight_at_kill, 0);
    ASSERT_LT(sent_at_kill, total) << "killed mid-stream";

    gw.start();
    PahoClient back("q1-back");
    const auto connack = back.connect_ok(gw.port(), sub_options);
    EXPECT_TRUE(connack.at("session_present").as_bool()) << json::serialize(connack);
    const auto got = drain(back, 1000ms);
    const auto numbers = numbers_of(got);

    std::vector<int> missing;
    std::vector<int> foreign;
    const std::set<int> received(numbers.begin(), numbers.end());
    for (int i = 1; i <= total; ++i) {
        if (state[static_cast<std::size_t>(i)] == acked && !received.contains(i)) missing.push_back(i);
    }
    for (int n : numbers) {
        if (n < 1 || n > sent_at_kill) foreign.push_back(n);
    }
    EXPECT_TRUE(missing.empty()) << "acknowledged (PUBACK) but lost in the SIGKILL: " << join(missing)
                                 << "\nacked " << acks << ", sent " << sent_at_kill << "; received " << join(numbers, 250);
    EXPECT_TRUE(foreign.empty()) << "received messages never sent: " << join(foreign);
    EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end()) &&
                std::adjacent_find(numbers.begin(), numbers.end()) == numbers.end())
        << "not in publish order, or repeated: " << join(numbers, 250);
    for (const auto& m : got) {
        EXPECT_EQ(m.topic, "dur/q1");
        EXPECT_EQ(m.qos, 1);
    }

    // The subscription survived too: a new message follows the queued ones.
    PahoClient live("q1-live");
    live.connect_ok(gw.port(), paho_session(version(), "q1-live", true));
    live.publish("dur/q1", "live", 1);
    const auto after = back.message();
    EXPECT_EQ(after.payload, "live");
}

// ---------------------------------------------------------------------------
// 1b. QoS 1 with the persistent subscriber online, acknowledging each message
// as it comes: most copies are then done before the commit that would store
// them and are never written (SqliteStore::find_unwritten). SIGKILL
// mid-stream: every message the publisher got a PUBACK for reached the
// subscriber, acknowledged by it before the kill or delivered from the store
// after the restart. What reached the subscriber after the kill, and the
// messages it holds back unacknowledged, count only if they come again.
TEST_P(PersistenceStream, Qos1AcknowledgedByAnOnlineSubscriberBeforeItsCommitIsNotLostInSigkill) {
    auto& gw = gateway();
    gw.start();
    RawClient sub(gw.port());
    ASSERT_FALSE(raw_connect(sub, version(), raw_session(version(), "q1o-sub", false)));
    sub.send(raw::subscribe(version(), 1, "dur/q1o", 1));
    const auto suback = sub.read_packet(version(), 3s);
    ASSERT_TRUE(suback && suback->type() == PacketType::suback);

    constexpr int total = 3000;
    constexpr int window = 24;
    constexpr int kill_after = 1500;
    enum State { unsent, sent, acked };
    std::vector<State> state(total + 1, unsent);
    std::set<int> acked_by_subscriber;
    std::vector<std::string> problems;
    int next = 1;
    int outstanding = 0;
    int acks = 0;

    RawClient pub(gw.port());
    raw_connect(pub, version(), raw_session(version(), "q1o-pub", true));
    const auto send_more = [&] {
        while (next <= total && outstanding < window) {
            pub.send(raw::publish(version(), "dur/q1o", numbered(next), 1, static_cast<std::uint16_t>(next)));
            state[static_cast<std::size_t>(next)] = sent;
            ++next;
            ++outstanding;
        }
    };
    const auto on_puback = [&](const RawPacket& p) {
        if (p.type() != PacketType::puback) return problems.push_back("publisher: not a PUBACK: " + to_hex(p.bytes));
        const auto& a = p.as<mqtt::Puback>();
        if (a.packet_id < 1 || a.packet_id > total || state[a.packet_id] != sent) {
            return problems.push_back("PUBACK for packet id " + std::to_string(a.packet_id) + " not awaited");
        }
        --outstanding;
        if (a.reason_code != ReasonCode::success) return problems.push_back("PUBACK with reason " + to_hex(p.bytes));
        state[a.packet_id] = acked;
        ++acks;
    };
    // Acknowledges each PUBLISH at once, as a fast subscriber does, except
    // every 50th (20 in all, within the in-flight window): those copies stay
    // open, so their commit must store them, and they must come again.
    int withheld = 0;
    const auto on_delivery = [&](const RawPacket& p, bool answer) {
        if (p.type() != PacketType::publish) return problems.push_back("subscriber: not a PUBLISH: " + to_hex(p.bytes));
        const auto& m = p.as<mqtt::Publish>();
        if (!answer) return;
        if (number_of(std::string(m.payload)) % 50 == 0 && withheld < 20) {
            ++withheld;
            return;
        }
        sub.send(raw::puback(version(), m.packet_id));
        acked_by_subscriber.insert(number_of(std::string(m.payload)));
    };

    send_more();
    const auto deadline = Clock::now() + 30s;
    while (acks < kill_after && problems.empty()) {
        ASSERT_LT(Clock::now(), deadline) << "only " << acks << " PUBACKs in 30 s; log:\n" << gw.log();
        std::array<pollfd, 2> fds{pollfd{pub.fd(), POLLIN, 0}, pollfd{sub.fd(), POLLIN, 0}};
        ::poll(fds.data(), fds.size(), 100);
        // A read only where poll() saw bytes; then what the buffer holds.
        const auto wait = [](const pollfd& f) { return (f.revents & POLLIN) != 0 ? 20ms : 0ms; };
        for (auto p = pub.read_packet(version(), wait(fds[0])); p; p = pub.read_packet(version(), 0ms)) on_puback(*p);
        for (auto p = sub.read_packet(version(), wait(fds[1])); p; p = sub.read_packet(version(), 0ms)) {
            on_delivery(*p, true);
        }
        send_more();
    }
    const int sent_at_kill = next - 1;
    EXPECT_EQ(gw.kill(), (ExitStatus{false, -1, SIGKILL}));
    while (auto p = pub.read_packet(version(), 300ms)) on_puback(*p);
    while (auto p = sub.read_packet(version(), 300ms)) on_delivery(*p, false);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(problems);
    ASSERT_LT(sent_at_kill, total) << "killed mid-stream";

    gw.start();
    PahoClient back("q1o-back");
    const auto connack = back.connect_ok(gw.port(), paho_session(version(), "q1o-sub", false));
    EXPECT_TRUE(connack.at("session_present").as_bool()) << json::serialize(connack);
    const auto numbers = numbers_of(drain(back, 1000ms));
    std::set<int> reached = acked_by_subscriber;
    reached.insert(numbers.begin(), numbers.end());
    std::vector<int> missing;
    for (int i = 1; i <= total; ++i) {
        if (state[static_cast<std::size_t>(i)] == acked && !reached.contains(i)) missing.push_back(i);
    }
    std::vector<int> foreign;
    for (int n : numbers) {
        if (n < 1 || n > sent_at_kill) foreign.push_back(n);
    }
    EXPECT_TRUE(missing.empty()) << "acknowledged to the publisher but lost in the SIGKILL: " << join(missing)
                                 << "\nacked " << acks << ", sent " << sent_at_kill << ", acknowledged by the subscriber "
                                 << acked_by_subscriber.size() << "; after the restart " << join(numbers, 100);
    EXPECT_TRUE(foreign.empty()) << "received messages never sent: " << join(foreign);
    EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end())) << "not in publish order: " << join(numbers, 100);
    EXPECT_EQ(withheld, 20);
    EXPECT_LT(numbers.size(), static_cast<std::size_t>(sent_at_kill))
        << "the subscriber's acknowledgements before the kill were not kept";
}

// ---------------------------------------------------------------------------
// 2. QoS 2: SIGKILL mid-stream. The publisher (a persistent session) then
// resumes as the protocol says: PUBLISH again with DUP what got no PUBREC,
// PUBREL what did, and also resends with DUP one PUBLISH it had got a PUBREC
// for but never released. Every message arrives exactly once: the inbound
// QoS 2 packet ids survived the SIGKILL.
TEST_P(PersistenceStream, Qos2EveryMessageExactlyOnceAcrossSigkillAndPublisherResends) {
    auto& gw = gateway();
    gw.start();
    const auto sub_options = paho_session(version(), "q2-sub", false);
    subscribe_and_leave(gw.port(), sub_options, "dur/q2", 2);

    constexpr int total = 150;
    constexpr int window = 16;  // + the held one: below Receive Maximum 32
    constexpr int kill_after = 50;
    constexpr std::uint16_t held_id = 1000;
    enum State { unsent, sent, received, completed };  // received: PUBREC came
    std::vector<State> state(total + 1, unsent);
    std::vector<std::string> problems;
    int next = 1;
    int outstanding = 0;
    int recs = 0;

    auto pub = std::make_unique<RawClient>(gw.port());
    EXPECT_FALSE(raw_connect(*pub, version(), raw_session(version(), "q2-pub", false)));
    // The held message: PUBREC, then never PUBREL before the SIGKILL.
    pub->send(raw::publish(version(), "dur/q2", "held", 2, held_id));
    {
        const auto rec = pub->read_packet(version(), 3s);
        ASSERT_TRUE(rec) << "no PUBREC for the held message";
        ASSERT_EQ(rec->type(), PacketType::pubrec) << to_hex(rec->bytes);
        ASSERT_EQ(rec->as<mqtt::Pubrec>().packet_id, held_id);
        ASSERT_EQ(rec->as<mqtt::Pubrec>().reason_code, ReasonCode::success) << to_hex(rec->bytes);
    }

    bool alive = true;  // whether PUBRELs can still be sent
    const auto send_more = [&] {
        while (next <= total && outstanding < window) {
            pub->send(raw::publish(version(), "dur/q2", numbered(next), 2, static_cast<std::uint16_t>(next)));
            state[static_cast<std::size_t>(next)] = sent;
            ++next;
            ++outstanding;
        }
    };
    const auto on_packet = [&](const RawPacket& p) {
        if (p.type() == PacketType::pubrec) {
            const auto& a = p.as<mqtt::Pubrec>();
            if (a.packet_id < 1 || a.packet_id > total || state[a.packet_id] != sent) {
                return problems.push_back("PUBREC for packet id " + std::to_string(a.packet_id) + " not awaited");
            }
            if (a.reason_code != ReasonCode::success) return problems.push_back("PUBREC failed: " + to_hex(p.bytes));
            state[a.packet_id] = received;
            ++recs;
            if (alive) pub->send(raw_pubrel(a.packet_id));
        } else if (p.type() == PacketType::pubcomp) {
            const auto& a = p.as<mqtt::Pubcomp>();
            if (a.packet_id < 1 || a.packet_id > total || state[a.packet_id] != received) {
                return problems.push_back("PUBCOMP for packet id " + std::to_string(a.packet_id) + " not awaited");
            }
            state[a.packet_id] = completed;
            --outstanding;
        } else {
            problems.push_back("unexpected packet " + to_hex(p.bytes));
        }
    };

    send_more();
    while (recs < kill_after) {
        const auto p = pub->read_packet(version(), 5s);
        ASSERT_TRUE(p) << "no PUBREC/PUBCOMP within 5 s after " << recs << " PUBRECs; log:\n" << gw.log();
        on_packet(*p);
        send_more();
    }
    const int sent_at_kill = next - 1;
    EXPECT_EQ(gw.kill(), (ExitStatus{false, -1, SIGKILL}));
    alive = false;
    while (auto p = pub->read_packet(version(), 500ms)) on_packet(*p);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(problems);
    ASSERT_LT(sent_at_kill, total) << "killed mid-stream";
    std::vector<int> recd_before_restart;  // got their PUBREC: stored before the kill
    for (int i = 1; i <= sent_at_kill; ++i) {
        if (state[static_cast<std::size_t>(i)] >= received) recd_before_restart.push_back(i);
    }

    gw.start();
    pub = std::make_unique<RawClient>(gw.port());
    EXPECT_TRUE(raw_connect(*pub, version(), raw_session(version(), "q2-pub", false)))
        << "the publisher's session (with its QoS 2 packet ids) did not survive";
    // Resume: the held one with DUP (not released), every unanswered PUBLISH
    // with DUP, a PUBREL for every PUBREC'd one not yet completed.
    std::map<std::uint16_t, int> step;  // packet id -> 1 awaiting PUBREC, 2 awaiting PUBCOMP
    pub->send(raw_publish_dup(version(), "dur/q2", "held", 2, held_id));
    step[held_id] = 1;
    for (int i = 1; i <= sent_at_kill; ++i) {
        const auto id = static_cast<std::uint16_t>(i);
        if (state[id] == sent) {
            pub->send(raw_publish_dup(version(), "dur/q2", numbered(i), 2, id));
            step[id] = 1;
        } else if (state[id] == received) {
            pub->send(raw_pubrel(id));
            step[id] = 2;
        }
    }
    const auto deadline = Clock::now() + 10s;
    while (!step.empty() && Clock::now() < deadline) {
        const auto p = pub->read_packet(version(), 3s);
        ASSERT_TRUE(p) << "after the restart, no answer to the resent packets; waiting for "
                       << step.size() << "; log:\n" << gw.log();
        if (p->type() == PacketType::pubrec) {
            const auto& a = p->as<mqtt::Pubrec>();
            ASSERT_TRUE(step.contains(a.packet_id) && step[a.packet_id] == 1) << "PUBREC not awaited " << to_hex(p->bytes);
            EXPECT_EQ(a.reason_code, ReasonCode::success) << "resent PUBLISH " << a.packet_id << ": " << to_hex(p->bytes);
            step[a.packet_id] = 2;
            pub->send(raw_pubrel(a.packet_id));
        } else if (p->type() == PacketType::pubcomp) {
            const auto& a = p->as<mqtt::Pubcomp>();
            ASSERT_TRUE(step.contains(a.packet_id) && step[a.packet_id] == 2) << "PUBCOMP not awaited " << to_hex(p->bytes);
            step.erase(a.packet_id);
        } else {
            FAIL() << "unexpected packet after the restart: " << to_hex(p->bytes);
        }
    }
    ASSERT_TRUE(step.empty()) << step.size() << " QoS 2 exchanges not completed after the restart";

    PahoClient back("q2-back");
    const auto connack = back.connect_ok(gw.port(), sub_options);
    EXPECT_TRUE(connack.at("session_present").as_bool()) << json::serialize(connack);
    const auto got = drain(back, 1000ms);

    std::map<std::string, int> count;
    std::vector<std::string> order;
    for (const auto& m : got) {
        ++count[m.payload];
        order.push_back(m.payload);
        EXPECT_EQ(m.qos, 2) << to_string(m);
    }
    std::vector<int> missing;
    std::vector<std::string> repeated;
    for (int i = 1; i <= sent_at_kill; ++i) {
        if (count[numbered(i)] == 0) missing.push_back(i);
    }
    for (const auto& [payload, n] : count) {
        if (n > 1) repeated.push_back(payload + " x" + std::to_string(n));
        const int number = number_of(payload);
        if (payload != "held" && (number < 1 || number > sent_at_kill)) repeated.push_back("foreign " + payload);
    }
    EXPECT_EQ(count["held"], 1) << "the held message (PUBREC before the kill, PUBLISH resent with DUP after) "
                                   "should arrive exactly once";
    EXPECT_TRUE(missing.empty()) << "sent, never arrived: " << join(missing);
    EXPECT_TRUE(repeated.empty()) << "delivered more than once: " << testing::PrintToString(repeated);
    // The ones stored before the kill come first, in publish order.
    ASSERT_FALSE(order.empty());
    EXPECT_EQ(order.front(), "held");
    std::vector<int> stored_order;
    const std::set<int> stored(recd_before_restart.begin(), recd_before_restart.end());
    for (const auto& payload : order) {
        if (stored.contains(number_of(payload))) stored_order.push_back(number_of(payload));
    }
    EXPECT_TRUE(std::is_sorted(stored_order.begin(), stored_order.end()))
        << "PUBREC'd before the kill, delivered out of order: " << join(stored_order, 200);

    // And the exchange after that is an ordinary one.
    pub->send(raw::publish(version(), "dur/q2", "after", 2, 2000));
    const auto rec = pub->read_packet(version(), 3s);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->type(), PacketType::pubrec) << to_hex(rec->bytes);
    pub->send(raw_pubrel(2000));
    EXPECT_EQ(back.message().payload, "after");
}

// ---------------------------------------------------------------------------
// 3. Retained messages (set and cleared by QoS 1) and subscriptions survive a
// SIGKILL; a queued message with a 2 s expiry is dropped when the gateway was
// down longer; one with a long expiry is delivered with what is left of it; a
// v5 session whose expiry passed while the gateway was down is gone.
TEST_P(PersistenceState, RetainedSubscriptionsAndExpirySurviveSigkill) {
    auto& gw = gateway();
    gw.start();
    const auto keeper = paho_session(ProtocolVersion::v5, "keeper", false, 300);
    const auto brief = paho_session(ProtocolVersion::v5, "brief", false, 1);
    subscribe_and_leave(gw.port(), keeper, "keep/#", 1);
    subscribe_and_leave(gw.port(), brief, "keep/#", 1);
    {
        PahoClient pub("pub");
        pub.connect_ok(gw.port(), paho_session(ProtocolVersion::v5, "pub", true));
        pub.publish("ret/a", "A", 1, true);
        pub.publish("ret/b", "B", 1, true);
        pub.publish("ret/b", "", 1, true);  // cleared again
        pub.publish("keep/1", "one", 1);
        pub.publish("keep/exp", "short-lived", 1, false, {{"message_expiry_interval", 2}});
        pub.publish("keep/long", "long-lived", 1, false, {{"message_expiry_interval", 60}});
        pub.publish("keep/2", "two", 1);
    }
    const auto published = Clock::now();
    EXPECT_EQ(gw.kill(), (ExitStatus{false, -1, SIGKILL}));
    std::this_thread::sleep_until(published + 2600ms);  // down longer than the 2 s expiry
    gw.start();

    {
        PahoClient gone("brief");
        const auto connack = gone.connect_ok(gw.port(), brief);
        EXPECT_FALSE(connack.at("session_present").as_bool())
            << "a session with expiry 1 s, down for > 2.5 s, was restored: " << json::serialize(connack);
    }

    PahoClient back("keeper");
    const auto connack = back.connect_ok(gw.port(), keeper);
    EXPECT_TRUE(connack.at("session_present").as_bool()) << json::serialize(connack);
    const auto got = drain(back, 700ms, 5000ms);
    std::vector<std::string> payloads;
    for (const auto& m : got) payloads.push_back(m.payload);
    EXPECT_EQ(payloads, (std::vector<std::string>{"one", "long-lived", "two"}))
        << "the 2 s message must be dropped (the gateway was down 2.6 s), the others kept in order";
    for (const auto& m : got) {
        if (m.payload != "long-lived") continue;
        const auto* left = m.properties.if_contains("message_expiry_interval");
        ASSERT_NE(left, nullptr) << to_string(m);
        EXPECT_LE(left->to_number<int>(), 58) << "the time down counts against the expiry: " << to_string(m);
        EXPECT_GE(left->to_number<int>(), 1) << to_string(m);
    }

    // The subscription is live after the restart.
    PahoClient pub("pub2");
    pub.connect_ok(gw.port(), paho_session(ProtocolVersion::v5, "pub2", true));
    pub.publish("keep/after", "after", 1);
    EXPECT_EQ(back.message().payload, "after");

    // Retained: ret/a kept, ret/b stays cleared.
    PahoClient fresh("fresh");
    fresh.connect_ok(gw.port(), paho_session(ProtocolVersion::v5, "fresh", true));
    EXPECT_EQ(fresh.subscribe("ret/#", 1), std::vector<int>{1});
    const auto retained = drain(fresh, 500ms, 3000ms);
    ASSERT_EQ(retained.size(), 1u) << (retained.empty() ? "no retained message after the restart"
                                                        : to_string(retained.back()));
    EXPECT_EQ(retained[0].topic, "ret/a");
    EXPECT_EQ(retained[0].payload, "A");
    EXPECT_TRUE(retained[0].retain);
}

// ---------------------------------------------------------------------------
// 4. durability = "none": nothing written; after a SIGKILL the gateway starts
// cleanly with no sessions, no queued and no retained messages.
TEST_P(PersistenceStream, DurabilityNoneStartsCleanAfterSigkill) {
    auto& gw = gateway("[persistence]\ndurability = \"none\"\n");
    gw.start();
    const auto sub_options = paho_session(version(), "none-sub", false);
    subscribe_and_leave(gw.port(), sub_options, "none/#", 1);
    {
        PahoClient pub("pub");
        pub.connect_ok(gw.port(), paho_session(version(), "pub", true));
        pub.publish("none/q", "queued", 1);
        pub.publish("none/r", "retained", 1, true);
    }
    EXPECT_EQ(gw.kill(), (ExitStatus{false, -1, SIGKILL}));
    EXPECT_FALSE(fs::exists(gw.db_path())) << "durability none wrote " << gw.db_path();

    gw.start();
    PahoClient back("none-back");
    const auto connack = back.connect_ok(gw.port(), sub_options);
    EXPECT_FALSE(connack.at("session_present").as_bool()) << json::serialize(connack);
    EXPECT_EQ(back.count_within("message", 500ms), 0u);
    // Nothing retained either, and the broker works.
    EXPECT_EQ(back.subscribe("none/#", 1), std::vector<int>{1});
    EXPECT_EQ(back.count_within("message", 300ms), 0u) << "a retained message survived durability none";
    PahoClient pub("pub2");
    pub.connect_ok(gw.port(), paho_session(version(), "pub2", true));
    pub.publish("none/x", "works", 1);
    EXPECT_EQ(back.message().payload, "works");
}

// ---------------------------------------------------------------------------
// 5. A damaged database is moved aside (same bytes, new name), a critical log
// line names it, and the gateway starts empty and works (and stores again).
class PersistenceDamaged : public PersistenceState {
protected:
    void expect_moved_aside_and_working(DurableGateway& gw, const std::string& damaged_bytes) {
        const auto moved = damaged_files(gw.state_dir());
        ASSERT_EQ(moved.size(), 1u) << "expected one fieldgate.db.damaged-UNIXTIME; log:\n" << gw.log();
        const auto name = fs::path(moved[0]).filename().string();
        const auto stamp = name.substr(std::string("fieldgate.db.damaged-").size());
        EXPECT_TRUE(!stamp.empty() && std::all_of(stamp.begin(), stamp.end(), ::isdigit)) << name;
        EXPECT_TRUE(file_bytes(moved[0]) == damaged_bytes) << "the moved file is not the damaged one, byte for byte";
        // One line (under systemd each line is a journal entry of its own): at
        // level critical, naming where the database went.
        const auto line = line_with(gw.log(), moved[0]);
        EXPECT_FALSE(line.empty()) << "no log line names " << moved[0] << "; log:\n" << gw.log();
        EXPECT_NE(line.find("critical"), std::string::npos)
            << "the line naming the moved file is not a critical line: \"" << line << "\"; log:\n" << gw.log();

        // Empty state, and the broker works: a persistent session is stored
        // in the new database and is there after another SIGKILL.
        const auto sub_options = paho_session(ProtocolVersion::v5, "after-damage", false);
        {
            PahoClient sub("after-damage");
            const auto connack = sub.connect_ok(gw.port(), sub_options);
            EXPECT_FALSE(connack.at("session_present").as_bool());
            EXPECT_EQ(sub.subscribe("dmg/#", 1), std::vector<int>{1});
            PahoClient pub("pub");
            pub.connect_ok(gw.port(), paho_session(ProtocolVersion::v5, "pub", true));
            pub.publish("dmg/1", "one", 1);
            EXPECT_EQ(sub.message().payload, "one");
            sub.disconnect();
            sub.expect("disconnect");
            pub.publish("dmg/2", "two", 1);
        }
        EXPECT_EQ(gw.kill(), (ExitStatus{false, -1, SIGKILL}));
        gw.start();
        EXPECT_EQ(line_with(gw.log(), "critical"), "") << "the new database was found damaged too";
        PahoClient back("after-damage");
        const auto connack = back.connect_ok(gw.port(), sub_options);
        EXPECT_TRUE(connack.at("session_present").as_bool());
        EXPECT_EQ(back.message().payload, "two");
    }
};
INSTANTIATE_TEST_SUITE_P(Workers, PersistenceDamaged, testing::ValuesIn(matrix({ProtocolVersion::v5})), workers_name);

TEST_P(PersistenceDamaged, GarbageInsteadOfADatabaseIsMovedAsideAndTheGatewayStartsEmpty) {
    auto& gw = gateway();
    std::string garbage;
    for (int i = 0; i < 3000; ++i) garbage += static_cast<char>((i * 7919 + 13) % 251);
    garbage.replace(0, 32, "this is not an SQLite database!!");
    gw.dir().write("state/fieldgate.db", garbage);
    gw.start();
    expect_moved_aside_and_working(gw, garbage);
}

TEST_P(PersistenceDamaged, DatabaseWithOverwrittenPagesIsMovedAsideAndTheGatewayStartsEmpty) {
    auto& gw = gateway();
    gw.start();
    subscribe_and_leave(gw.port(), paho_session(ProtocolVersion::v5, "old", false), "old/#", 1);
    {
        PahoClient pub("pub");
        pub.connect_ok(gw.port(), paho_session(ProtocolVersion::v5, "pub", true));
        for (int i = 0; i < 20; ++i) pub.publish("old/" + std::to_string(i), std::string(500, 'x'), 1, true);
    }
    ASSERT_EQ(gw.stop(), (ExitStatus{true, 0, 0})) << gw.log();
    ASSERT_FALSE(fs::exists(gw.db_path() + "-wal") && fs::file_size(gw.db_path() + "-wal") > 0)
        << "a clean stop left a WAL; the test would corrupt only part of the state";
    // Keep the header page (a valid SQLite file at first sight), overwrite every other page.
    std::string bytes = file_bytes(gw.db_path());
    ASSERT_GT(bytes.size(), 8192u);
    for (std::size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xA5 ^ (i % 97));
    std::error_code ec;
    fs::remove(gw.db_path() + "-shm", ec);
    gw.dir().write("state/fieldgate.db", bytes);

    gw.start();
    expect_moved_aside_and_working(gw, bytes);
    {
        PahoClient old("old");
        const auto connack = old.connect_ok(gw.port(), paho_session(ProtocolVersion::v5, "old", false));
        EXPECT_FALSE(connack.at("session_present").as_bool()) << "a session came back from a damaged database";
    }
}

// ---------------------------------------------------------------------------
// 6. A full store (max_size): QoS 1/2 messages that must be stored are refused
// (MQTT 5: 0x97 on PUBACK/PUBREC; 3.1.1: connection closed, no ack), QoS 0
// and messages that need no storing keep flowing, and once the offline
// subscriber drained its queue storing works again.
class PersistenceFull : public PersistenceState {
protected:
    static constexpr const char* full_toml = "[persistence]\ndurability = \"sync\"\nmax_size = \"64KiB\"\n";
    static std::string big(int i) { return numbered(i) + std::string(3000, static_cast<char>('a' + i % 26)); }

    // Publishes big QoS 1 messages to big/N one at a time until one is refused;
    // returns the numbers accepted (PUBACK 0x00) before that.
    std::vector<int> fill(RawClient& pub, int& next_id) {
        std::vector<int> accepted;
        for (int attempt = 0; attempt < 64; ++attempt) {
            const int i = next_id++;
            pub.send(raw::publish(ProtocolVersion::v5, "big/" + std::to_string(i), big(i), 1, static_cast<std::uint16_t>(i)));
            const auto ack = pub.read_packet(ProtocolVersion::v5, 5s);
            if (!ack) throw std::runtime_error("no PUBACK for big message " + std::to_string(i));
            if (ack->type() != PacketType::puback || ack->as<mqtt::Puback>().packet_id != i) {
                throw std::runtime_error("not the PUBACK awaited: " + to_hex(ack->bytes));
            }
            const auto reason = ack->as<mqtt::Puback>().reason_code;
            if (reason == ReasonCode::quota_exceeded) return accepted;
            if (reason != ReasonCode::success) throw std::runtime_error("PUBACK with " + to_hex(ack->bytes));
            accepted.push_back(i);
        }
        throw std::runtime_error("64 messages of 3 KB stored under max_size 64KiB; never refused");
    }

    static std::uint8_t ack_reason(const RawPacket& p) {
        if (p.type() == PacketType::puback) return static_cast<std::uint8_t>(p.as<mqtt::Puback>().reason_code);
        if (p.type() == PacketType::pubrec) return static_cast<std::uint8_t>(p.as<mqtt::Pubrec>().reason_code);
        return 0xFF;
    }
};
INSTANTIATE_TEST_SUITE_P(Workers, PersistenceFull, testing::ValuesIn(matrix({ProtocolVersion::v5})), workers_name);

TEST_P(PersistenceFull, FullStoreRefusesWhatMustBeStoredKeepsQos0FlowingAndRecovers) {
    auto& gw = gateway(full_toml);
    gw.start();
    const auto hoarder = paho_session(ProtocolVersion::v5, "hoarder", false);
    subscribe_and_leave(gw.port(), hoarder, "big/#", 1);
    PahoClient watcher("watcher");  // online, clean: nothing of its needs storing
    watcher.connect_ok(gw.port(), paho_session(ProtocolVersion::v5, "watcher", true));
    EXPECT_EQ(watcher.subscribe("small/#", 0), std::vector<int>{0});
    EXPECT_EQ(watcher.subscribe("clean/#", 1), std::vector<int>{1});

    RawClient pub5(gw.port());
    raw_connect(pub5, ProtocolVersion::v5, raw_session(ProtocolVersion::v5, "pub5", true));
    int next_id = 1;
    const auto accepted = fill(pub5, next_id);
    ASSERT_FALSE(accepted.empty()) << "not even one message fitted";

    // Still full: QoS 1 and QoS 2 from MQTT 5 get 0x97.
    {
        const int i = next_id++;
        pub5.send(raw::publish(ProtocolVersion::v5, "big/" + std::to_string(i), big(i), 1, static_cast<std::uint16_t>(i)));
        const auto ack = pub5.read_packet(ProtocolVersion::v5, 5s);
        ASSERT_TRUE(ack);
        ASSERT_EQ(ack->type(), PacketType::puback) << to_hex(ack->bytes);
        EXPECT_EQ(ack_reason(*ack), 0x97) << to_hex(ack->bytes);
    }
    {
        const int i = next_id++;
        pub5.send(raw::publish(ProtocolVersion::v5, "big/" + std::to_string(i), big(i), 2, static_cast<std::uint16_t>(i)));
        const auto rec = pub5.read_packet(ProtocolVersion::v5, 5s);
        ASSERT_TRUE(rec);
        ASSERT_EQ(rec->type(), PacketType::pubrec) << to_hex(rec->bytes);
        EXPECT_EQ(ack_reason(*rec), 0x97) << to_hex(rec->bytes);
    }
    // MQTT 3.1.1 cannot say so: closed before anything is acknowledged (QoS 1 and QoS 2).
    for (int qos : {1, 2}) {
        SCOPED_TRACE("MQTT 3.1.1 QoS " + std::to_string(qos));
        RawClient pub3(gw.port());
        raw_connect(pub3, ProtocolVersion::v3_1_1, raw_session(ProtocolVersion::v3_1_1, "pub3", true));
        pub3.send(raw::publish(ProtocolVersion::v3_1_1, "big/v3", big(0), qos, 7));
        EXPECT_TRUE(pub3.wait_closed(5s)) << "a 3.1.1 publisher whose message cannot be stored stays connected";
        EXPECT_TRUE(pub3.pending().empty()) << "sent before closing: " << to_hex(pub3.pending());
    }
    // QoS 0 keeps flowing, and QoS 1 that needs no storing is acknowledged.
    for (int i = 0; i < 5; ++i) pub5.send(raw::publish(ProtocolVersion::v5, "small/x", "s" + std::to_string(i), 0));
    pub5.send(raw::publish(ProtocolVersion::v5, "clean/x", "c", 1, 900));
    {
        const auto ack = pub5.read_packet(ProtocolVersion::v5, 5s);
        ASSERT_TRUE(ack);
        ASSERT_EQ(ack->type(), PacketType::puback) << to_hex(ack->bytes);
        EXPECT_EQ(ack_reason(*ack), 0x00) << "a QoS 1 message only for a clean session needs no storing";
    }
    const auto flowing = watcher.messages(6);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(flowing[static_cast<std::size_t>(i)].payload, "s" + std::to_string(i));
    EXPECT_EQ(flowing[5].payload, "c");

    // The offline subscriber comes back and drains its queue (paho acknowledges each).
    PahoClient back("hoarder");
    const auto connack = back.connect_ok(gw.port(), hoarder);
    EXPECT_TRUE(connack.at("session_present").as_bool());
    const auto numbers = numbers_of(drain(back, 1000ms));
    std::vector<int> in_accepted_order;
    for (int n : numbers) {
        if (std::find(accepted.begin(), accepted.end(), n) != accepted.end()) in_accepted_order.push_back(n);
    }
    EXPECT_EQ(in_accepted_order, accepted) << "every accepted message, in order; received " << join(numbers);

    // Storing works again: a new message for the persistent session is acknowledged with success.
    bool stored_again = false;
    std::string last;
    for (int attempt = 0; attempt < 20 && !stored_again; ++attempt) {
        const int i = next_id++;
        pub5.send(raw::publish(ProtocolVersion::v5, "big/" + std::to_string(i), big(i), 1, static_cast<std::uint16_t>(i)));
        const auto ack = pub5.read_packet(ProtocolVersion::v5, 5s);
        ASSERT_TRUE(ack);
        last = to_hex(ack->bytes);
        stored_again = ack->type() == PacketType::puback && ack_reason(*ack) == 0x00;
        if (!stored_again) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(stored_again) << "storing did not resume after the queue was drained; last ack " << last
                              << "; log:\n" << gw.log();
}

// A refused message (PUBACK 0x97) was not accepted: it is not delivered later
// to the persistent subscriber it could not be stored for.
TEST_P(PersistenceFull, RefusedMessagesAreNotDeliveredLater) {
    auto& gw = gateway(full_toml);
    gw.start();
    const auto hoarder = paho_session(ProtocolVersion::v5, "hoarder", false);
    subscribe_and_leave(gw.port(), hoarder, "big/#", 1);
    RawClient pub5(gw.port());
    raw_connect(pub5, ProtocolVersion::v5, raw_session(ProtocolVersion::v5, "pub5", true));
    int next_id = 1;
    const auto accepted = fill(pub5, next_id);
    const int refused = next_id - 1;

    PahoClient back("hoarder");
    back.connect_ok(gw.port(), hoarder);
    const auto numbers = numbers_of(drain(back, 1000ms));
    EXPECT_EQ(numbers, accepted) << "message " << refused << " got PUBACK 0x97 (Quota exceeded)";
}

// Storing resumes when the subscriber drains its queue while publishers keep
// being refused meanwhile; and what it acknowledged is not delivered again
// after a restart.
TEST_P(PersistenceFull, StoringResumesWhileRefusedPublishesContinueDuringTheDrain) {
    auto& gw = gateway(full_toml);
    gw.start();
    const auto hoarder = paho_session(ProtocolVersion::v5, "hoarder", false);
    subscribe_and_leave(gw.port(), hoarder, "big/#", 1);
    RawClient pub5(gw.port());
    raw_connect(pub5, ProtocolVersion::v5, raw_session(ProtocolVersion::v5, "pub5", true));
    int next_id = 1;
    const auto accepted = fill(pub5, next_id);

    // The subscriber drains while the publisher keeps trying (and is refused).
    PahoClient back("hoarder");
    json::object connect{{"cmd", "connect"}, {"host", "127.0.0.1"}, {"port", gw.port()}, {"version", "5"},
                         {"client_id", "hoarder"}, {"clean", false}, {"keepalive", 60}};
    connect["properties"] = json::object{{"session_expiry_interval", 300}};
    back.send(connect);
    std::vector<int> received;
    const auto until = Clock::now() + 1500ms;
    while (Clock::now() < until) {
        constexpr int burst = 4;
        for (int k = 0; k < burst; ++k) {
            const int i = next_id++;
            pub5.send(raw::publish(ProtocolVersion::v5, "big/" + std::to_string(i), big(i), 1,
                                   static_cast<std::uint16_t>(i)));
        }
        for (int k = 0; k < burst; ++k) {
            if (!pub5.read_packet(ProtocolVersion::v5, 3s)) FAIL() << "no PUBACK during the drain";
        }
        while (auto m = back.next("message", 5ms)) received.push_back(number_of(to_message(*m).payload));
    }
    for (const auto& m : drain(back, 500ms)) received.push_back(number_of(m.payload));
    for (int n : accepted) {
        EXPECT_NE(std::find(received.begin(), received.end(), n), received.end()) << "accepted " << n << " not delivered";
    }

    // Storing works again once nobody is refused any more.
    bool stored_again = false;
    for (int attempt = 0; attempt < 10 && !stored_again; ++attempt) {
        std::this_thread::sleep_for(100ms);
        const int i = next_id++;
        pub5.send(raw::publish(ProtocolVersion::v5, "big/" + std::to_string(i), big(i), 1, static_cast<std::uint16_t>(i)));
        const auto ack = pub5.read_packet(ProtocolVersion::v5, 5s);
        ASSERT_TRUE(ack);
        stored_again = ack->type() == PacketType::puback && ack_reason(*ack) == 0x00;
        if (stored_again) {
            EXPECT_EQ(number_of(back.message().payload), i);
        }
    }
    EXPECT_TRUE(stored_again) << "storing did not resume after the queue was drained; log:\n" << gw.log();

    // Everything was acknowledged by the subscriber: after a clean restart nothing comes again.
    back.disconnect();
    back.expect("disconnect");
    ASSERT_EQ(gw.stop(), (ExitStatus{true, 0, 0})) << gw.log();
    gw.start();
    PahoClient again("hoarder");
    const auto connack = again.connect_ok(gw.port(), hoarder);
    EXPECT_TRUE(connack.at("session_present").as_bool());
    const auto redelivered = numbers_of(drain(again, 700ms, 5000ms));
    EXPECT_TRUE(redelivered.empty()) << "acknowledged by the subscriber before the restart, delivered again: "
                                     << join(redelivered);
}

}  // namespace
}  // namespace fieldgate::test
