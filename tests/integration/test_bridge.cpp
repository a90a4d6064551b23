// The bridge end to end: the real fieldgate binary with [[bridge]] sections,
// Debian's mosquitto as the cloud broker, paho clients on both sides. Topic
// mapping out/in/both (no echo loop), order over 500 messages, a cloud outage
// with a backlog, a gateway SIGKILL with a backlog, an uplink that drops in
// the middle of a stream, the retained $SYS/bridge/NAME/state JSON, failover,
// a topic rule that cannot map (exit 2), a TLS uplink, the queue's bounds
// (when_full, max_age), drain_rate and priority after an outage, refused
// credentials and a rotated secret, and commands for a device that was
// offline. Every wait is bounded; everything is on 127.0.0.1.
//
// The cloud keeps its sessions across its restarts (persistence in a
// directory of the test's): the cloud subscriber is a persistent session
// (3.1.1, clean session off) subscribed before the outage, so what the bridge
// delivers while it is away is queued for it there.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/certs.hpp"
#include "support/gateway.hpp"
#include "support/mosquitto.hpp"
#include "support/paho_client.hpp"
#include "support/process.hpp"

namespace fieldgate::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using mqtt::ProtocolVersion;

std::string tcp_url(std::uint16_t port, const std::string& scheme = "mqtt", const std::string& host = "127.0.0.1") {
    return scheme + "://" + host + ":" + std::to_string(port);
}

// One [[bridge.topic]].
struct Rule {
    std::string pattern;
    std::string direction = "out";
    int qos = 1;
    std::string local_prefix;
    std::string remote_prefix;
    std::string remote;
    std::string priority;  // empty: the default
};

struct BridgeSpec {
    std::string name = "cloud";
    std::vector<std::string> addresses;
    std::string protocol = "mqtt5";
    std::vector<Rule> rules;
    std::string extra;  // more keys of the [[bridge]] table
};

std::string bridge_toml(const BridgeSpec& b) {
    std::string t = "[[bridge]]\nname = \"" + b.name + "\"\naddresses = [";
    for (std::size_t i = 0; i < b.addresses.size(); ++i) t += (i ? ", \"" : "\"") + b.addresses[i] + "\"";
    t += "]\nprotocol = \"" + b.protocol + "\"\nreconnect_min = \"100ms\"\nreconnect_max = \"500ms\"\nkeepalive = \"5s\"\n" +
         b.extra;
    for (const auto& r : b.rules) {
        t += "\n[[bridge.topic]]\npattern = \"" + r.pattern + "\"\ndirection = \"" + r.direction +
             "\"\nqos = " + std::to_string(r.qos) + "\n";
        if (!r.local_prefix.empty()) t += "local_prefix = \"" + r.local_prefix + "\"\n";
        if (!r.remote_prefix.empty()) t += "remote_prefix = \"" + r.remote_prefix + "\"\n";
        if (!r.remote.empty()) t += "remote = \"" + r.remote + "\"\n";
        if (!r.priority.empty()) t += "priority = \"" + r.priority + "\"\n";
    }
    return t + "\n";
}

// Debian's mosquitto as the cloud, on a port of its own that stays the same
// across restarts, keeping its sessions in a directory that outlives each run
// (saved on SIGTERM; a SIGKILL keeps what the last save held).
//
// mosquitto logs every packet (log_type all) to its stderr, a pipe that
// MosquittoProcess reads only while the test waits on the log: after 64 KiB
// (about 230 bridged messages) mosquitto blocks in its log write and stops
// serving everyone. A thread of the Cloud reads the log all along while it
// runs; the test touches the process only when that thread is stopped.
class Cloud {
public:
    explicit Cloud(std::string extra = {}, std::optional<std::uint16_t> port = std::nullopt)
        : port_(port ? *port : free_tcp_ports(1)[0]), extra_(std::move(extra)) {}
    ~Cloud() { stop_reading(); }

    std::uint16_t port() const { return port_; }
    std::string url() const { return tcp_url(port_); }
    // Only while not started, or after kill()/stop().
    const std::string& log() { return process_->log(); }

    void start() {
        process_ = std::make_unique<MosquittoProcess>(MosquittoOptions{
            .extra_config = "persistence true\npersistence_location " + data_.path() +
                            "/\nmax_queued_messages 100000\nlistener " + std::to_string(port_) + " 127.0.0.1\n" +
                            extra_});
        ASSERT_TRUE(tcp_listening("127.0.0.1", port_)) << process_->log();
        reading_ = true;
        reader_ = std::thread([this] {
            while (reading_) {
                const auto from = process_->log().size();
                if (!process_->running()) break;
                process_->wait_for_log("\x01(never)", 50ms, from);
            }
        });
    }
    void kill() {
        stop_reading();
        process_->kill();
    }
    void stop() {
        stop_reading();
        process_->stop();
    }

private:
    void stop_reading() {
        reading_ = false;
        if (reader_.joinable()) reader_.join();
    }

    TempDir data_;
    std::uint16_t port_;
    std::string extra_;
    std::unique_ptr<MosquittoProcess> process_;
    std::atomic<bool> reading_{false};
    std::thread reader_;
};

ConnectOptions clean(const std::string& id, ProtocolVersion v = ProtocolVersion::v3_1_1) {
    return ConnectOptions{.version = v, .client_id = id};
}

ConnectOptions persistent(const std::string& id) {
    return ConnectOptions{.version = ProtocolVersion::v3_1_1, .client_id = id, .clean = false};
}

std::string payload(int i) {
    char text[16];
    std::snprintf(text, sizeof text, "m%05d", i);
    return text;
}

std::vector<std::string> expected_payloads(int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) out.push_back(payload(i));
    return out;
}

// The first difference between what arrived and what was expected, for failure messages.
std::string first_difference(const std::vector<std::string>& got, const std::vector<std::string>& want) {
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        if (got[i] != want[i]) return "at " + std::to_string(i) + ": got " + got[i] + ", expected " + want[i];
    }
    return "sizes " + std::to_string(got.size()) + " and " + std::to_string(want.size());
}

// mosquitto_sub on the cloud (3.1.1, QoS 1), for long streams: paho's
// driver stops reporting messages after a couple of hundred in a burst
// (see the report of this suite), mosquitto_sub does not. It prints each
// payload as "MSG <payload>" on stderr (with -d, so that the SUBACK can be
// awaited) and ends after `count` messages or `seconds` without one.
class CloudSub {
public:
    CloudSub(std::uint16_t port, const std::string& id, bool persistent_session, int count, int seconds)
        : process_({"/bin/sh", "-c",
                    "exec /usr/bin/stdbuf -oL /usr/bin/mosquitto_sub -h 127.0.0.1 -p " + std::to_string(port) +
                        " -V mqttv311 -i " + id + (persistent_session ? " -c" : "") + " -q 1 -t 'site/#' -C " +
                        std::to_string(count) + " -W " + std::to_string(seconds) + " -d -F 'MSG %p' 1>&2"}) {}

    bool subscribed(Millis timeout = 5000ms) { return process_.wait_for_stderr("received SUBACK", timeout); }
    // Waits for the end (bounded) and returns the payloads in arrival order.
    std::vector<std::string> payloads(Millis timeout) {
        process_.wait(timeout);
        std::vector<std::string> out;
        std::size_t at = 0;
        const auto& err = process_.err();
        for (std::size_t pos = err.find("MSG ", at); pos != std::string::npos; pos = err.find("MSG ", at)) {
            const auto eol = err.find('\n', pos);
            if (eol == std::string::npos) break;
            if (pos == 0 || err[pos - 1] == '\n') out.push_back(err.substr(pos + 4, eol - pos - 4));
            at = eol;
        }
        return out;
    }
    Process& process() { return process_; }

private:
    Process process_;
};

// A local subscriber to $SYS/bridge/NAME/state, reading its retained and live JSON.
class StateWatch {
public:
    StateWatch(std::uint16_t gateway_port, const std::string& bridge = "cloud") : client_("state-watch") {
        client_.connect_ok(gateway_port, clean("state-watch"));
        client_.subscribe("$SYS/bridge/" + bridge + "/state", 0);
    }

    // The first state (latest first: the retained one, then live ones) for
    // which `pred` holds; nullopt at the deadline. `last()` has the latest seen.
    template <class Pred>
    std::optional<boost::json::object> until(Pred pred, Millis timeout) {
        const auto deadline = Clock::now() + timeout;
        if (last_ && pred(*last_)) return last_;
        for (;;) {
            const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
            if (left <= Millis{0}) return std::nullopt;
            const auto event = client_.next("message", left);
            if (!event) return std::nullopt;
            const auto m = to_message(*event);
            last_ = boost::json::parse(m.payload).as_object();
            seen_ += m.payload + "\n";
            if (pred(*last_)) return last_;
        }
    }
    const std::string& seen() const { return seen_; }

private:
    PahoClient client_;
    std::optional<boost::json::object> last_;
    std::string seen_;
};

bool is_connected(const boost::json::object& s) { return s.at("connected").as_bool(); }

// fieldgate started by the test itself, so that a second run can use the same
// state_dir and port (GatewayProcess makes a fresh directory for each).
class OwnGateway {
public:
    OwnGateway(const std::string& bridge_section) {
        const auto ports = free_tcp_ports(2);
        port_ = ports[0];
        const std::string text = "[gateway]\nname = \"it\"\nstate_dir = \"" + dir_.path() +
                                 "/state\"\nworkers = 1\nlog_level = \"info\"\n\n[[listener]]\ntype = \"mqtt\"\n"
                                 "bind = \"127.0.0.1:" + std::to_string(port_) + "\"\n\n[http]\nbind = \"127.0.0.1:" +
                                 std::to_string(ports[1]) + "\"\n\n[persistence]\ndurability = \"sync\"\n\n" +
                                 bridge_section;
        config_ = dir_.write("fieldgate.toml", text);
    }
    std::uint16_t port() const { return port_; }
    Process& process() { return *process_; }

    void start() {
        process_ = std::make_unique<Process>(std::vector<std::string>{binary_path(), "-c", config_});
        ASSERT_TRUE(process_->wait_for_stderr("running with", 10000ms)) << process_->err();
    }
    void kill9() {
        process_->send_signal(SIGKILL);
        const auto status = process_->wait(5000ms);
        ASSERT_TRUE(status);
        EXPECT_TRUE(!status->exited && status->signal == SIGKILL) << to_string(*status);
    }
    ExitStatus stop() { return process_->stop(); }

private:
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::string config_;
    std::unique_ptr<Process> process_;
};

void expect_clean_stop(GatewayProcess& gateway) {
    ASSERT_TRUE(gateway.running()) << "the gateway died during the test; log:\n" << gateway.log();
    const ExitStatus status = gateway.stop();
    EXPECT_EQ(status, (ExitStatus{true, 0, 0})) << to_string(status) << "; log:\n" << gateway.log();
}

// Out, in and both rules; the cloud subscriber watches up/# and mirror/#.
BridgeSpec mapping_bridge(const std::string& address, const std::string& protocol) {
    return BridgeSpec{.addresses = {address},
                      .protocol = protocol,
                      .rules = {Rule{.pattern = "sensors/#", .direction = "out", .qos = 1, .remote_prefix = "up/line3/"},
                                Rule{.pattern = "cmd/#", .direction = "in", .qos = 1, .local_prefix = "devices/",
                                     .remote_prefix = "down/line3/"},
                                Rule{.pattern = "sync/+/#", .direction = "both", .qos = 1,
                                     .remote = "mirror/{1}/x/{2}"}}};
}

// ---- 1. Mapping both ways; no echo for `both` ----

class BridgeE2EMapping : public testing::TestWithParam<std::string> {};

TEST_P(BridgeE2EMapping, OutInAndBothRulesMapTopicsWithoutEchoLoops) {
    Cloud cloud;
    cloud.start();
    PahoClient cloud_sub("cloud-sub");
    cloud_sub.connect_ok(cloud.port(), clean("cloud-sub"));
    cloud_sub.subscribe("up/#", 1);
    cloud_sub.subscribe("mirror/#", 1);

    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(mapping_bridge(cloud.url(), GetParam()))});
    StateWatch state(gateway.port());
    ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.log();

    PahoClient local_sub("local-sub");
    local_sub.connect_ok(gateway.port(), clean("local-sub"));
    local_sub.subscribe("devices/#", 1);
    local_sub.subscribe("sync/#", 1);
    PahoClient local_pub("local-pub");
    local_pub.connect_ok(gateway.port(), clean("local-pub"));

    // out, QoS 1 and QoS 0.
    local_pub.publish("sensors/boiler/temp", "21.5", 1);
    local_pub.publish("sensors/boiler/pressure", "1.2", 0);
    auto got = cloud_sub.messages(2, 5000ms);
    EXPECT_EQ(to_string(got[0]), "up/line3/sensors/boiler/temp '21.5' qos 1");
    EXPECT_EQ(to_string(got[1]), "up/line3/sensors/boiler/pressure '1.2' qos 0");

    // in: the cloud publishes a command.
    PahoClient cloud_pub("cloud-pub");
    cloud_pub.connect_ok(cloud.port(), clean("cloud-pub"));
    cloud_pub.publish("down/line3/cmd/valve7", "open", 1);
    EXPECT_EQ(to_string(local_sub.message(5000ms)), "devices/cmd/valve7 'open' qos 1");

    // both, from the local side: once locally, once in the cloud, never back.
    local_pub.publish("sync/a/b/c", "from-local", 1);
    EXPECT_EQ(to_string(cloud_sub.message(5000ms)), "mirror/a/x/b/c 'from-local' qos 1");
    EXPECT_EQ(to_string(local_sub.message(5000ms)), "sync/a/b/c 'from-local' qos 1");
    // both, from the cloud: once locally, and the cloud sees only the cloud publisher's own.
    cloud_pub.publish("mirror/k/x/z", "from-cloud", 1);
    EXPECT_EQ(to_string(local_sub.message(5000ms)), "sync/k/z 'from-cloud' qos 1");
    EXPECT_EQ(to_string(cloud_sub.message(5000ms)), "mirror/k/x/z 'from-cloud' qos 1");

    // Nothing more on either side: no echo, no duplicate.
    EXPECT_EQ(local_sub.count_within("message", 1500ms), 0u);
    EXPECT_EQ(cloud_sub.count_within("message", 0ms), 0u);

    expect_clean_stop(gateway);
}

INSTANTIATE_TEST_SUITE_P(Protocols, BridgeE2EMapping, testing::Values("mqtt5", "mqtt311"),
                         [](const auto& param_info) { return param_info.param; });

BridgeSpec out_bridge(const std::vector<std::string>& addresses) {
    return BridgeSpec{.addresses = addresses,
                      .rules = {Rule{.pattern = "data/#", .direction = "out", .qos = 1, .remote_prefix = "site/"}}};
}

// ---- 2. Order ----

TEST(BridgeE2E, FiveHundredQos1MessagesArriveCompleteAndInOrder) {
    Cloud cloud;
    cloud.start();
    CloudSub cloud_sub(cloud.port(), "cloud-sub", false, 500, 20);
    ASSERT_TRUE(cloud_sub.subscribed()) << cloud_sub.process().err();
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(out_bridge({cloud.url()}))});
    StateWatch state(gateway.port());
    ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.log();

    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    const auto start = Clock::now();
    for (int i = 0; i < 500; ++i) pub.publish("data/seq", payload(i), 1);
    const auto got = cloud_sub.payloads(25000ms);
    const auto ms = std::chrono::duration_cast<Millis>(Clock::now() - start).count();
    std::printf("[ measure  ] 500 QoS 1 messages, each acknowledged before the next, through the bridge in %lld ms\n",
                static_cast<long long>(ms));
    const auto want = expected_payloads(500);
    EXPECT_EQ(got, want) << first_difference(got, want) << "\ngateway log:\n" << gateway.log();
    expect_clean_stop(gateway);
}

// ---- 3. Cloud outage ----

// The cloud subscriber's persistent session exists in the cloud's saved state
// (SIGTERM saves it), and the cloud runs again from that state.
void prepare_cloud_subscriber(Cloud& cloud, const std::string& id, const std::string& filter) {
    cloud.start();
    {
        PahoClient sub(id);
        sub.connect_ok(cloud.port(), persistent(id));
        sub.subscribe(filter, 1);
        sub.disconnect();
    }
    cloud.stop();
}

TEST(BridgeE2E, CloudOutageBacklogOfTwoHundredArrivesInOrder) {
    Cloud cloud;
    prepare_cloud_subscriber(cloud, "cloud-sub", "site/#");
    cloud.start();
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(out_bridge({cloud.url()}))});
    StateWatch state(gateway.port());
    ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.log();

    cloud.kill();  // SIGKILL: the subscriber's session is in the state saved before
    ASSERT_TRUE(state.until([](const auto& j) { return !is_connected(j); }, 5000ms)) << state.seen();

    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    for (int i = 0; i < 200; ++i) pub.publish("data/outage", payload(i), 1);  // each PUBACKed

    cloud.start();
    ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.log();
    CloudSub sub(cloud.port(), "cloud-sub", true, 201, 3);  // 201: ends 3 s after the last, to see extra ones
    const auto got = sub.payloads(25000ms);
    const auto want = expected_payloads(200);
    EXPECT_EQ(got, want) << first_difference(got, want) << "\nlog:\n" << gateway.log();
    expect_clean_stop(gateway);
}

// ---- 4. Gateway SIGKILL with a backlog; uplink drop mid-stream ----

TEST(BridgeE2E, BacklogSurvivesGatewaySigkillAndArrivesInOrder) {
    Cloud cloud;
    prepare_cloud_subscriber(cloud, "cloud-sub", "site/#");  // the cloud is down now
    OwnGateway gateway(bridge_toml(out_bridge({cloud.url()})));
    gateway.start();
    {
        PahoClient pub("pub");
        pub.connect_ok(gateway.port(), clean("pub"));
        for (int i = 0; i < 100; ++i) pub.publish("data/crash", payload(i), 1);  // each PUBACKed
    }
    gateway.kill9();
    gateway.start();  // same state_dir, same port
    cloud.start();

    CloudSub sub(cloud.port(), "cloud-sub", true, 101, 3);
    const auto got = sub.payloads(25000ms);
    const auto want = expected_payloads(100);
    EXPECT_EQ(got, want) << first_difference(got, want) << "\nlog after restart:\n" << gateway.process().err();
    EXPECT_EQ(gateway.stop(), (ExitStatus{true, 0, 0})) << gateway.process().err();
}

// SIGKILL while the stream is flowing to the cloud (the uplink up, messages
// in flight to it): every message the gateway acknowledged to the device
// arrives after the restart; the duplicates (QoS 1 resends of what was in
// flight to the cloud) are reported and stay within one in-flight window.
TEST(BridgeE2E, GatewaySigkillMidStreamLosesNothingAcknowledged) {
    constexpr int count = 600;
    Cloud cloud;
    prepare_cloud_subscriber(cloud, "cloud-sub", "site/#");
    cloud.start();
    OwnGateway gateway(bridge_toml(out_bridge({cloud.url()})));
    gateway.start();
    auto sub = std::make_unique<CloudSub>(cloud.port(), "cloud-sub", true, count * 2, 20);
    ASSERT_TRUE(sub->subscribed()) << sub->process().err();
    {
        StateWatch state(gateway.port());
        ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.process().err();
        PahoClient pub("pub");
        pub.connect_ok(gateway.port(), clean("pub"));
        for (int i = 0; i < count / 2; ++i) pub.publish("data/kill", payload(i), 1);  // each PUBACKed
        gateway.kill9();
    }
    gateway.start();  // same state_dir, same port
    {
        PahoClient pub("pub");
        pub.connect_ok(gateway.port(), clean("pub"));
        for (int i = count / 2; i < count; ++i) pub.publish("data/kill", payload(i), 1);
    }
    std::vector<std::string> got;
    std::set<std::string> distinct;
    const auto take = [&](CloudSub& s) {
        for (auto& p : s.payloads(30000ms)) {
            distinct.insert(p);
            got.push_back(std::move(p));
        }
    };
    // mosquitto_sub ends after count * 2 messages or 20 s; more rounds, 2 s quiet each, for a tail.
    take(*sub);
    sub.reset();
    for (int round = 0; round < 3 && distinct.size() < static_cast<std::size_t>(count); ++round) {
        CloudSub more(cloud.port(), "cloud-sub", true, count * 2, 2);
        take(more);
    }
    std::vector<std::string> missing;
    for (int i = 0; i < count; ++i) {
        if (!distinct.count(payload(i))) missing.push_back(payload(i));
    }
    const auto duplicates = got.size() - distinct.size();
    std::printf("[ measure  ] SIGKILL mid-stream: %zu of %d distinct arrived, %zu duplicates\n", distinct.size(), count,
                duplicates);
    EXPECT_TRUE(missing.empty()) << missing.size() << " missing, first " << (missing.empty() ? "" : missing.front())
                                 << "\nlog after restart:\n"
                                 << gateway.process().err();
    EXPECT_LE(duplicates, 20u) << "more than an in-flight window (the cloud's Receive Maximum) came twice";
    EXPECT_EQ(gateway.stop(), (ExitStatus{true, 0, 0})) << gateway.process().err();
}

TEST(BridgeE2E, UplinkDroppedMidStreamLosesNothing) {
    constexpr int count = 1000;
    Cloud cloud;
    prepare_cloud_subscriber(cloud, "cloud-sub", "site/#");
    cloud.start();
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(out_bridge({cloud.url()}))});
    StateWatch state(gateway.port());
    ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.log();

    std::vector<std::string> got;
    auto sub = std::make_unique<CloudSub>(cloud.port(), "cloud-sub", true, count, 20);
    ASSERT_TRUE(sub->subscribed()) << sub->process().err();

    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    for (int i = 0; i < count; ++i) {
        pub.publish("data/stream", payload(i), 1, false, {}, false);
        if (i == count / 3) {
            // SIGTERM: mosquitto saves what it acknowledged, so what is missing
            // afterwards was lost by the gateway, not by the cloud.
            cloud.stop();
        }
    }
    pub.wait_published(30000ms);  // all acknowledged by the gateway
    const auto before = sub->payloads(2000ms);  // mosquitto_sub ends when the cloud goes away
    got.insert(got.end(), before.begin(), before.end());
    sub.reset();
    cloud.start();
    std::set<std::string> distinct(got.begin(), got.end());
    // Rounds of mosquitto_sub until every message arrived; the last ends 2 s after its last message.
    for (int round = 0; round < 3 && distinct.size() < static_cast<std::size_t>(count); ++round) {
        CloudSub more(cloud.port(), "cloud-sub", true, count * 2, 2);
        for (auto& p : more.payloads(30000ms)) {
            distinct.insert(p);
            got.push_back(std::move(p));
        }
    }
    std::vector<std::string> missing;
    for (int i = 0; i < count; ++i) {
        if (!distinct.count(payload(i))) missing.push_back(payload(i));
    }
    std::printf("[ measure  ] uplink dropped mid-stream: %zu of %d distinct arrived, %zu duplicates\n", distinct.size(),
                count, got.size() - distinct.size());
    EXPECT_TRUE(missing.empty()) << missing.size() << " missing, first " << (missing.empty() ? "" : missing.front())
                                 << "\nlog:\n"
                                 << gateway.log();
    // Per message, the first arrival keeps publish order (duplicates are resends of an earlier window).
    std::vector<std::string> first_order;
    std::set<std::string> seen;
    for (const auto& p : got) {
        if (seen.insert(p).second) first_order.push_back(p);
    }
    EXPECT_TRUE(std::is_sorted(first_order.begin(), first_order.end())) << "first arrivals out of publish order";
    expect_clean_stop(gateway);
}

// ---- 5. $SYS/bridge/NAME/state ----

TEST(BridgeE2E, StateTopicShowsConnectionErrorAndQueueDepth) {
    Cloud cloud;
    cloud.start();
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(out_bridge({cloud.url()}))});
    StateWatch state(gateway.port());
    const auto up = state.until(is_connected, 10000ms);
    ASSERT_TRUE(up) << state.seen() << gateway.log();
    EXPECT_EQ(up->at("address").as_string(), cloud.url());
    EXPECT_EQ(up->at("queued_messages").as_int64(), 0);
    EXPECT_EQ(up->at("connections").as_int64(), 1);
    EXPECT_EQ(up->at("reconnects").as_int64(), 0);

    // The retained copy for a late subscriber says the same.
    {
        PahoClient late("late");
        late.connect_ok(gateway.port(), clean("late"));
        late.subscribe("$SYS/bridge/cloud/state", 0);
        const auto m = late.message(5000ms);
        EXPECT_TRUE(m.retain);
        EXPECT_TRUE(boost::json::parse(m.payload).at("connected").as_bool()) << m.payload;
    }

    cloud.kill();
    const auto down = state.until([](const auto& j) { return !is_connected(j); }, 5000ms);
    ASSERT_TRUE(down) << state.seen();
    const std::string error(down->at("last_error").as_string());
    std::printf("[ measure  ] last_error after the cloud was killed: \"%s\"\n", error.c_str());
    EXPECT_FALSE(error.empty()) << state.seen();
    EXPECT_EQ(down->at("address").as_string(), cloud.url());

    // N messages while down: how soon does queued_messages say N?
    constexpr int n = 25;
    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    for (int i = 0; i < n; ++i) pub.publish("data/q", payload(i), 1);
    const auto published = Clock::now();
    const auto queued = state.until([](const auto& j) { return j.at("queued_messages").as_int64() == n; }, 12000ms);
    const auto after = std::chrono::duration_cast<Millis>(Clock::now() - published).count();
    std::printf("[ measure  ] queued_messages showed %d %lld ms after the last publish\n", n,
                static_cast<long long>(after));
    ASSERT_TRUE(queued) << "never showed " << n << "; states:\n" << state.seen();
    EXPECT_FALSE(is_connected(*queued));
    EXPECT_FALSE(std::string(queued->at("last_error").as_string()).empty());
    EXPECT_LT(after, 2000) << "queued_messages is not refreshed when the queue changes, only every 10 s";
    expect_clean_stop(gateway);
}

// ---- 6. Failover ----

TEST(BridgeE2E, FailsOverFromADeadFirstAddressToTheSecond) {
    Cloud cloud;
    cloud.start();
    const auto dead = free_tcp_ports(1)[0];
    PahoClient cloud_sub("cloud-sub");
    cloud_sub.connect_ok(cloud.port(), clean("cloud-sub"));
    cloud_sub.subscribe("site/#", 1);
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(out_bridge({tcp_url(dead), cloud.url()}))});
    StateWatch state(gateway.port());
    const auto up = state.until(is_connected, 10000ms);
    ASSERT_TRUE(up) << state.seen() << gateway.log();
    EXPECT_EQ(up->at("address").as_string(), cloud.url());

    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    pub.publish("data/failover", "ok", 1);
    EXPECT_EQ(to_string(cloud_sub.message(5000ms)), "site/data/failover 'ok' qos 1");
    expect_clean_stop(gateway);
}

// ---- 7. A rule that cannot map ----

// A config whose second rule is an in-rule with a remote template that
// cannot turn back into a filter ({1} inside a level).
std::string bad_rule_config(const TempDir& dir) {
    const auto ports = free_tcp_ports(3);
    const BridgeSpec bad{.name = "cloud",
                         .addresses = {tcp_url(ports[0])},
                         .rules = {Rule{.pattern = "data/#", .direction = "out", .qos = 1, .remote_prefix = "site/"},
                                   Rule{.pattern = "cmd/+/#", .direction = "in", .qos = 1,
                                        .remote = "down/x_{1}/{2}"}}};
    return dir.write("fieldgate.toml", "[gateway]\nname = \"it\"\nstate_dir = \"" + dir.path() +
                                           "/state\"\n\n[[listener]]\ntype = \"mqtt\"\nbind = \"127.0.0.1:" +
                                           std::to_string(ports[1]) + "\"\n\n[http]\nbind = \"127.0.0.1:" +
                                           std::to_string(ports[2]) + "\"\n\n" + bridge_toml(bad));
}

TEST(BridgeE2E, UninvertibleInRuleRefusesToStartWithExitCode2) {
    TempDir dir;
    const auto config = bad_rule_config(dir);
    const auto r = run({binary_path(), "-c", config}, {}, 10000ms);
    EXPECT_FALSE(r.timed_out) << "fieldgate started with a rule that cannot map:\n" << r.err;
    EXPECT_EQ(r.exit_code(), 2) << r.out << r.err;
    const std::string all = r.out + r.err;
    // FILE:LINE:COL of the rule's `remote` key (the generated file's line 30), the key, what and what was expected.
    const std::string message = config + ":30:10: error: bridge[1].topic[2].remote: {1} is part of a level in "
                                "\"down/x_{1}/{2}\" (expected each {N} as a whole level for direction \"in\" or "
                                "\"both\": it becomes a '+' or '#' of the subscription)\n";
    EXPECT_NE(all.find(message), std::string::npos) << all;
    EXPECT_EQ(all.find("listening for MQTT"), std::string::npos) << "it listened before refusing:\n" << all;
}

// `fieldgate check` is the place to find this before a deployment (DESIGN.md:
// "validate and exit 0, or print errors and exit 2").
TEST(BridgeE2E, CheckRefusesTheUninvertibleInRuleToo) {
    TempDir dir;
    const auto config = bad_rule_config(dir);
    const auto check = run({binary_path(), "check", "-c", config}, {}, 10000ms);
    EXPECT_EQ(check.exit_code(), 2) << "fieldgate check accepted a config that fieldgate refuses to run:\n"
                                    << check.out << check.err;
    EXPECT_NE((check.out + check.err).find(config + ":30:10: error: bridge[1].topic[2].remote: {1} is part of a level"),
              std::string::npos)
        << check.out << check.err;
}

// ---- 8. TLS uplink ----

TEST(BridgeE2E, TlsUplinkVerifiesTheCloudAgainstTheConfiguredCa) {
    TestPki pki;
    const auto tls_port = free_tcp_ports(1)[0];
    Cloud cloud("listener " + std::to_string(tls_port) + " 127.0.0.1\ncertfile " + pki.server().cert + "\nkeyfile " +
                pki.server().key + "\n");
    cloud.start();
    PahoClient cloud_sub("cloud-sub");
    cloud_sub.connect_ok(cloud.port(), clean("cloud-sub"));
    cloud_sub.subscribe("site/#", 1);

    const std::string address = tcp_url(tls_port, "mqtts", "localhost");
    auto spec = out_bridge({address});
    spec.extra = "ca = \"" + pki.ca_file() + "\"\n";
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(spec)});
    StateWatch state(gateway.port());
    const auto up = state.until(is_connected, 10000ms);
    ASSERT_TRUE(up) << state.seen() << gateway.log();
    EXPECT_EQ(up->at("address").as_string(), address);

    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    pub.publish("data/tls", "secret", 1);
    EXPECT_EQ(to_string(cloud_sub.message(5000ms)), "site/data/tls 'secret' qos 1");
    expect_clean_stop(gateway);
}

// ---- 9. The queue: bounds, age, drain rate, priority ----

// What the cloud gets after an outage, and the drop counts, for
// `[bridge.queue]` settings `queue` and out rules `rules`: the cloud is
// killed, `publish` runs against the gateway, the state must satisfy
// `queued` (the queue is settled), the cloud returns, and what arrives is
// returned (up to `expect` messages, 3 s quiet after the last).
struct Outage {
    std::vector<std::string> arrived;
    boost::json::object settled;  // the state once `queued` held
    std::string log;
};

// A gateway bridged to a cloud whose subscriber "cloud-sub" (persistent,
// site/#) is prepared; connected once constructed. down() kills the cloud,
// up() brings it back; both wait for the bridge to notice.
class BridgedGateway {
public:
    explicit BridgedGateway(BridgeSpec spec) {
        prepare_cloud_subscriber(cloud_, "cloud-sub", "site/#");
        cloud_.start();
        spec.addresses = {cloud_.url()};
        gateway_ = std::make_unique<GatewayProcess>(GatewayOptions{.extra_toml = bridge_toml(spec)});
        state_ = std::make_unique<StateWatch>(gateway_->port());
        EXPECT_TRUE(state_->until(is_connected, 10000ms)) << state_->seen() << gateway_->log();
    }
    Cloud& cloud() { return cloud_; }
    GatewayProcess& gateway() { return *gateway_; }
    StateWatch& state() { return *state_; }

    void down() {
        cloud_.kill();
        EXPECT_TRUE(state_->until([](const auto& j) { return !is_connected(j); }, 5000ms)) << state_->seen();
    }
    void up() {
        cloud_.start();
        EXPECT_TRUE(state_->until(is_connected, 10000ms)) << state_->seen() << gateway_->log();
    }

private:
    Cloud cloud_;
    std::unique_ptr<GatewayProcess> gateway_;
    std::unique_ptr<StateWatch> state_;
};

template <class Publish, class Settled>
Outage through_outage(const std::string& queue, std::vector<Rule> rules, Publish publish, Settled queued, int expect) {
    Outage out;
    auto spec = out_bridge({});
    if (!rules.empty()) spec.rules = std::move(rules);
    spec.extra = "[bridge.queue]\n" + queue;
    BridgedGateway run(spec);
    run.down();
    {
        PahoClient pub("pub");
        pub.connect_ok(run.gateway().port(), clean("pub"));
        publish(pub);
    }
    // The state is published at every reconnect attempt (every 500 ms here).
    const auto settled = run.state().until(queued, 8000ms);
    EXPECT_TRUE(settled) << "states:\n" << run.state().seen();
    if (settled) out.settled = *settled;
    run.up();
    CloudSub sub(run.cloud().port(), "cloud-sub", true, expect + 1, 3);
    out.arrived = sub.payloads(30000ms);
    expect_clean_stop(run.gateway());
    out.log = run.gateway().log();  // all of it, once stopped
    return out;
}

std::vector<std::string> payload_range(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(payload(i));
    return out;
}

std::int64_t number(const boost::json::object& j, const char* key) { return j.at(key).as_int64(); }

class BridgeE2EQueueFull : public testing::TestWithParam<std::string> {};

// 80 messages for a queue of 50: drop_oldest keeps the newest 50,
// drop_new the first 50; either way 30 are counted and logged.
TEST_P(BridgeE2EQueueFull, KeepsWhatThePolicySaysAndCountsTheDrops) {
    const auto policy = GetParam();
    const auto out = through_outage(
        "max_messages = 50\nwhen_full = \"" + policy + "\"\n", {},
        [](PahoClient& pub) {
            for (int i = 0; i < 80; ++i) pub.publish("data/full", payload(i), 1);  // each PUBACKed
        },
        [](const auto& j) { return number(j, "queued_messages") == 50 && number(j, "dropped_queue_full") == 30; },
        50);
    const auto want = policy == "drop_oldest" ? payload_range(30, 80) : payload_range(0, 50);
    EXPECT_EQ(out.arrived, want) << first_difference(out.arrived, want) << "\nlog:\n" << out.log;
    EXPECT_EQ(number(out.settled, "dropped_max_age"), 0);
    EXPECT_EQ(number(out.settled, "queued_bytes"), 50 * static_cast<int>(std::string("data/full").size() + 6));
    EXPECT_NE(out.log.find("because it was full (when_full = " + policy + ")"), std::string::npos) << out.log;
}

INSTANTIATE_TEST_SUITE_P(WhenFull, BridgeE2EQueueFull, testing::Values("drop_oldest", "drop_new"),
                         [](const auto& param_info) { return param_info.param; });

// max_age = "3s": 20 messages wait longer than that and are dropped (and
// counted apart from a full queue); the 5 published later reach the cloud
// (which is back within their 3 s: about 1.5 s here, under ASan too).
TEST(BridgeE2E, QueuedMessagesOlderThanMaxAgeAreDroppedAndCounted) {
    const auto out = through_outage(
        "max_age = \"3s\"\n", {},
        [](PahoClient& pub) {
            for (int i = 0; i < 20; ++i) pub.publish("data/age", payload(i), 1);
            std::this_thread::sleep_for(3500ms);
            for (int i = 20; i < 25; ++i) pub.publish("data/age", payload(i), 1);
        },
        [](const auto& j) { return number(j, "dropped_max_age") == 20 && number(j, "queued_messages") == 5; }, 5);
    EXPECT_EQ(out.arrived, payload_range(20, 25)) << first_difference(out.arrived, payload_range(20, 25));
    EXPECT_EQ(number(out.settled, "dropped_queue_full"), 0);
    const double age = out.settled.at("oldest_queued_age_s").as_double();
    EXPECT_LT(age, 3.0) << "the oldest left is one of the later five";
    EXPECT_NE(out.log.find("older than max_age 3s"), std::string::npos) << out.log;
    EXPECT_EQ(out.log.find("because it was full"), std::string::npos) << out.log;
}

// priority = "high": after an outage the alarm backlog leaves before the
// data backlog queued ahead of it (drain = oldest_first, so nothing else reorders).
TEST(BridgeE2E, HighPriorityRuleDrainsFirstAfterAnOutage) {
    const auto out = through_outage(
        "drain = \"oldest_first\"\n",
        {Rule{.pattern = "data/#", .direction = "out", .qos = 1, .remote_prefix = "site/"},
         Rule{.pattern = "alarm/#", .direction = "out", .qos = 1, .remote_prefix = "site/", .priority = "high"}},
        [](PahoClient& pub) {
            for (int i = 0; i < 40; ++i) pub.publish("data/slow", payload(i), 1);
            for (int i = 40; i < 45; ++i) pub.publish("alarm/hot", payload(i), 1);
        },
        [](const auto& j) { return number(j, "queued_messages") == 45; }, 45);
    auto want = payload_range(40, 45);
    const auto rest = payload_range(0, 40);
    want.insert(want.end(), rest.begin(), rest.end());
    EXPECT_EQ(out.arrived, want) << first_difference(out.arrived, want);
}

// drain_rate = 100 with drain = "interleaved": a backlog of 300 takes about
// 3 s to leave, while messages published meanwhile are not held behind it.
TEST(BridgeE2E, DrainRateSpreadsTheBacklogWhileLiveMessagesKeepFlowing) {
    constexpr int backlog = 300;
    constexpr int live = 20;
    auto spec = out_bridge({});
    spec.extra = "[bridge.queue]\ndrain = \"interleaved\"\ndrain_rate = 100\n";
    BridgedGateway run(spec);
    auto& gateway = run.gateway();
    run.down();
    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    for (int i = 0; i < backlog; ++i) pub.publish("data/backlog", payload(i), 1);

    run.up();
    const auto reconnected = Clock::now();
    CloudSub sub(run.cloud().port(), "cloud-sub", true, backlog + live, 10);
    for (int i = backlog; i < backlog + live; ++i) {
        pub.publish("data/live", payload(i), 1);
        std::this_thread::sleep_for(25ms);
    }
    const auto got = sub.payloads(30000ms);
    const auto took = std::chrono::duration<double>(Clock::now() - reconnected).count();
    std::printf("[ measure  ] backlog of %d at drain_rate 100/s with %d live: all in %.2f s\n", backlog, live, took);

    std::vector<std::string> backlog_got, live_got;
    for (const auto& p : got) (p < payload(backlog) ? backlog_got : live_got).push_back(p);
    EXPECT_EQ(backlog_got, payload_range(0, backlog)) << first_difference(backlog_got, payload_range(0, backlog));
    EXPECT_EQ(live_got, payload_range(backlog, backlog + live)) << first_difference(live_got, payload_range(backlog, backlog + live));
    ASSERT_EQ(got.size(), static_cast<std::size_t>(backlog + live));
    // The live messages were through while most of the backlog still waited.
    const auto last_live = std::find(got.begin(), got.end(), payload(backlog + live - 1)) - got.begin();
    EXPECT_LT(last_live, backlog / 2 + live) << "live messages waited behind the backlog";
    EXPECT_GT(took, 2.0) << "the backlog was not held to 100 messages a second";
    expect_clean_stop(gateway);
}

// ---- 10. Refused credentials, a rotated secret ----

TEST(BridgeE2E, RefusedCredentialsBackOffAreReportedAndARotatedSecretIsPickedUp) {
    TempDir dir;
    const std::string passwd = dir.path() + "/passwd";
    ASSERT_EQ(run({mosquitto_passwd_binary(), "-c", "-b", passwd, "bridge", "n3w-s3cret"}).exit_code(), 0);
    MosquittoProcess cloud(MosquittoOptions{.password_file = passwd, .allow_anonymous = false});
    PahoClient cloud_sub("cloud-sub");
    cloud_sub.connect_ok(cloud.port(), ConnectOptions{.client_id = "cloud-sub", .username = "bridge",
                                                      .password = "n3w-s3cret"});
    cloud_sub.subscribe("site/#", 1);

    const auto secret = dir.write("bridge.secret", "old-s3cret\n");
    auto spec = out_bridge({tcp_url(cloud.port())});
    spec.extra = "username = \"bridge\"\npassword_file = \"" + secret + "\"\n";
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(spec)});
    StateWatch state(gateway.port());
    const auto refused = state.until([](const auto& j) { return number(j, "failed_attempts") >= 3; }, 10000ms);
    ASSERT_TRUE(refused) << state.seen() << gateway.log();
    EXPECT_FALSE(is_connected(*refused));
    const std::string error(refused->at("last_error").as_string());
    EXPECT_TRUE(error == "CONNACK 0x86 Bad User Name or Password" || error == "CONNACK 0x87 Not authorized") << error;
    EXPECT_TRUE(gateway.wait_for_log(error, 2000ms)) << gateway.log();

    // Meanwhile devices are served, and their messages wait for the cloud.
    PahoClient pub("pub");
    pub.connect_ok(gateway.port(), clean("pub"));
    pub.publish("data/rotated", "kept", 1);

    dir.write("bridge.secret", "n3w-s3cret\n");  // no restart, no SIGHUP
    const auto up = state.until(is_connected, 10000ms);
    ASSERT_TRUE(up) << state.seen() << gateway.log();
    EXPECT_EQ(to_string(cloud_sub.message(5000ms)), "site/data/rotated 'kept' qos 1");
    expect_clean_stop(gateway);
    EXPECT_EQ(gateway.log().find("s3cret"), std::string::npos) << "a secret in the log:\n" << gateway.log();
    EXPECT_NE(gateway.log().find("next try in"), std::string::npos) << "no backoff in the log:\n" << gateway.log();
}

// ---- 11. Commands for a device that is offline ----

TEST(BridgeE2E, CommandFromTheCloudReachesAPersistentDeviceThatWasOffline) {
    Cloud cloud;
    cloud.start();
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(mapping_bridge(cloud.url(), "mqtt5"))});
    StateWatch state(gateway.port());
    ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.log();
    {
        PahoClient device("device");
        device.connect_ok(gateway.port(), persistent("valve-7"));
        device.subscribe("devices/cmd/#", 1);
        device.disconnect();
    }
    // A local client online all along sees when the command has been routed
    // (to the offline session too: one routing serves both).
    PahoClient monitor("monitor");
    monitor.connect_ok(gateway.port(), clean("monitor"));
    monitor.subscribe("devices/cmd/#", 1);
    PahoClient operator_("operator");
    operator_.connect_ok(cloud.port(), clean("operator"));
    operator_.publish("down/line3/cmd/valve-7", "open", 1);
    ASSERT_EQ(to_string(monitor.message(5000ms)), "devices/cmd/valve-7 'open' qos 1") << gateway.log();

    PahoClient device("device");
    const auto connack = device.connect_ok(gateway.port(), persistent("valve-7"));
    EXPECT_TRUE(connack.at("session_present").as_bool()) << boost::json::serialize(connack);
    EXPECT_EQ(to_string(device.message(5000ms)), "devices/cmd/valve-7 'open' qos 1");
    expect_clean_stop(gateway);
}

// ---- 12. MQTT 5 properties through the bridge ----

// User properties (order and repeats), content type, payload format
// indicator, response topic, correlation data and message expiry reach the
// other side unchanged, up and down (protocol = "mqtt5" to a v5 cloud).
TEST(BridgeE2E, Mqtt5PropertiesPassThroughBothWays) {
    Cloud cloud;
    cloud.start();
    const auto v5 = [](const std::string& id) { return ConnectOptions{.version = ProtocolVersion::v5, .client_id = id}; };
    PahoClient cloud_sub("cloud-sub");
    cloud_sub.connect_ok(cloud.port(), v5("cloud-sub"));
    cloud_sub.subscribe("up/#", 1);
    GatewayProcess gateway(GatewayOptions{.extra_toml = bridge_toml(mapping_bridge(cloud.url(), "mqtt5"))});
    StateWatch state(gateway.port());
    ASSERT_TRUE(state.until(is_connected, 10000ms)) << state.seen() << gateway.log();
    PahoClient device("device");
    device.connect_ok(gateway.port(), v5("device"));
    device.subscribe("devices/cmd/#", 1);

    const boost::json::object properties{
        {"user_property", boost::json::array{boost::json::array{"b", "2"}, boost::json::array{"a", "1"},
                                             boost::json::array{"b", "3"}}},
        {"content_type", "application/json"},
        {"payload_format_indicator", 1},
        {"response_topic", "replies/7"},
        {"correlation_data", "corr-42"}};
    auto with_expiry = properties;
    with_expiry["message_expiry_interval"] = 300;
    // What arrived carries `properties` and the expiry counted down a little;
    // downstream, subscription identifiers are fieldgate's own (the device's subscription).
    const auto expect_passed_through = [&](const Message& m, const std::string& topic, bool own_subscription_ids) {
        SCOPED_TRACE(to_string(m));
        EXPECT_EQ(m.topic, topic);
        auto got = m.properties;
        ASSERT_TRUE(got.contains("message_expiry_interval"));
        const auto left = got.at("message_expiry_interval").to_number<int>();
        EXPECT_TRUE(left > 290 && left <= 300) << left;
        got.erase("message_expiry_interval");
        if (own_subscription_ids) got.erase("subscription_identifier");
        EXPECT_EQ(got, properties);
    };

    device.publish("sensors/t1", "{\"v\":1}", 1, false, with_expiry);
    expect_passed_through(cloud_sub.message(5000ms), "up/line3/sensors/t1", false);

    PahoClient operator_("operator");
    operator_.connect_ok(cloud.port(), v5("operator"));
    operator_.publish("down/line3/cmd/valve", "{\"open\":true}", 1, false, with_expiry);
    expect_passed_through(device.message(5000ms), "devices/cmd/valve", true);
    expect_clean_stop(gateway);
}

}  // namespace
}  // namespace fieldgate::test
