// The bridge's uplink (bridge/uplink.hpp) driven directly, on its own
// io_context thread as a broker worker would run it, against real brokers:
// Debian's mosquitto for mqtt:// and mqtts:// (Debian builds it without
// WebSocket support), and fieldgate's own ws/wss listeners for ws:// and
// wss://. Transports in both protocol versions with a publish round trip
// each way, client certificates, certificate and password refusals in words,
// failover, return_to_first from the config, backoff, a password file read
// again at every attempt, a dead path (SIGSTOP) found within 1.5 x keep-alive,
// reconnection after a broker restart, session take-over, stop(). Every
// wait is bounded; everything is on 127.0.0.1.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "bridge/backoff.hpp"
#include "bridge/uplink.hpp"
#include "config/loader.hpp"
#include "gateway/mqtt/codec.hpp"
#include "support/certs.hpp"
#include "support/gateway.hpp"
#include "support/mosquitto.hpp"
#include "support/scenario.hpp"

namespace fieldgate::test {
namespace {

using bridge::Backoff;
using bridge::Uplink;
using bridge::UplinkFailure;
using bridge::UplinkOptions;
using bridge::UplinkScheme;
using Clock = std::chrono::steady_clock;
using mqtt::ReasonCode;

// ---- Backoff: pure arithmetic, no clock ----

TEST(BridgeBackoff, DoublesFromMinToMaxWithinTwentyPercent) {
    Backoff backoff(Millis{100}, Millis{1000}, 42);
    const std::vector<long> nominal{100, 200, 400, 800, 1000, 1000, 1000};
    for (const long n : nominal) {
        EXPECT_EQ(backoff.nominal().count(), n);
        const auto wait = backoff.next().count();
        EXPECT_GE(wait, std::max(100L, n * 8 / 10)) << "nominal " << n;
        EXPECT_LE(wait, std::min(1000L, n * 12 / 10)) << "nominal " << n;
    }
}

TEST(BridgeBackoff, NeverExceedsMaxAndResetStartsAgainFromMin) {
    Backoff backoff(Millis{1000}, Millis{120000}, 7);
    for (int i = 0; i < 100; ++i) EXPECT_LE(backoff.next(), Millis{120000});
    EXPECT_EQ(backoff.nominal(), Millis{120000});
    backoff.reset();
    EXPECT_EQ(backoff.nominal(), Millis{1000});
    const auto wait = backoff.next();
    EXPECT_GE(wait, Millis{1000});
    EXPECT_LE(wait, Millis{1200});
}

TEST(BridgeBackoff, JitterSpreadsTheWaits) {
    Backoff backoff(Millis{1000}, Millis{10000}, 1);
    for (int i = 0; i < 5; ++i) backoff.next();  // at the cap: 8 to 10 s
    std::set<long> seen;
    for (int i = 0; i < 50; ++i) seen.insert(backoff.next().count());
    EXPECT_GT(seen.size(), 10u) << "the waits should differ, so that many gateways do not reconnect in step";
    EXPECT_GE(*seen.begin(), 8000);
    EXPECT_LE(*seen.rbegin(), 10000);
}

// ---- A running uplink and what it reported ----

struct Event {
    enum class Kind { connected, disconnected, packet };
    Kind kind = Kind::packet;
    Clock::time_point at;
    std::string address;
    std::string error;
    std::optional<ReasonCode> reason_code;
    bool session_present = false;
    bool was_connected = false;
    mqtt::PacketType type = mqtt::PacketType::connack;
    std::string topic;
    std::string payload;
    std::uint16_t packet_id = 0;
};

std::string describe(const Event& e) {
    switch (e.kind) {
        case Event::Kind::connected: return "connected to " + e.address;
        case Event::Kind::disconnected: return "disconnected from " + e.address + ": " + e.error;
        case Event::Kind::packet: return std::string(mqtt::to_string(e.type)) + " " + e.topic;
    }
    return "?";
}

// The uplink on an io_context thread of its own, as on a broker worker. Its
// members are called on that thread (call()); its callbacks are recorded.
class UplinkRun {
public:
    explicit UplinkRun(const config::BridgeConfig& config, UplinkOptions options = {},
                       std::function<void(mqtt::Connect&)> prepare_connect = {})
        : work_(boost::asio::make_work_guard(io_)) {
        thread_ = std::thread([this] {
            io_.run();
            done_.set_value();
        });
        bridge::UplinkCallbacks callbacks;
        callbacks.prepare_connect = std::move(prepare_connect);
        callbacks.on_connected = [this](const mqtt::Connack& c, bool session_present, const std::string& address) {
            record({.kind = Event::Kind::connected, .address = address, .reason_code = c.reason_code,
                    .session_present = session_present});
        };
        callbacks.on_packet = [this](const mqtt::Packet& p) {
            Event e{.kind = Event::Kind::packet, .type = mqtt::type_of(p)};
            if (const auto* publish = std::get_if<mqtt::Publish>(&p)) {
                e.topic = publish->topic;
                e.payload = publish->payload;
                e.packet_id = publish->packet_id;
            } else if (const auto* puback = std::get_if<mqtt::Puback>(&p)) {
                e.packet_id = puback->packet_id;
            } else if (const auto* suback = std::get_if<mqtt::Suback>(&p)) {
                e.packet_id = suback->packet_id;
            }
            record(e);
        };
        callbacks.on_disconnected = [this](const UplinkFailure& f) {
            record({.kind = Event::Kind::disconnected, .address = f.address, .error = f.error,
                    .reason_code = f.reason_code, .was_connected = f.was_connected});
        };
        call([&] {
            uplink_ = Uplink::create(io_, config, "fieldgate-test", callbacks, options);
            uplink_->start();
        });
    }

    ~UplinkRun() {
        try {
            stop();
        } catch (...) {
        }
        work_.reset();
        // The last handlers (DISCONNECT written, WebSocket close) end within the linger.
        if (done_future_.wait_for(Millis{5000}) != std::future_status::ready) io_.stop();
        thread_.join();
    }

    // Runs `f` on the uplink's thread and returns its result.
    template <class F>
    auto call(F f) -> decltype(f()) {
        auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
        auto future = task->get_future();
        boost::asio::post(io_, [task] { (*task)(); });
        if (future.wait_for(Millis{10000}) != std::future_status::ready) throw std::runtime_error("uplink thread stuck");
        return future.get();
    }

    void stop(ReasonCode reason = ReasonCode::success) {
        call([&] {
            if (uplink_) uplink_->stop(reason);
            stopped_at_ = events_count();
        });
    }
    bool send(const mqtt::Packet& packet) {
        return call([&] { return uplink_->send(packet); });
    }
    bridge::UplinkStatus status() {
        return call([&] { return uplink_->status(); });
    }

    // The next event of `kind` after the previous one of that kind; nullopt after `timeout`.
    std::optional<Event> next(Event::Kind kind, Millis timeout) {
        std::unique_lock lock(mutex_);
        auto& cursor = cursors_[static_cast<int>(kind)];
        std::optional<Event> found;
        changed_.wait_for(lock, timeout, [&] {
            for (; cursor < events_.size(); ++cursor) {
                if (events_[cursor].kind == kind) {
                    found = events_[cursor++];
                    return true;
                }
            }
            return false;
        });
        return found;
    }
    std::optional<Event> next_packet(mqtt::PacketType type, Millis timeout) {
        const auto deadline = Clock::now() + timeout;
        while (auto e = next(Event::Kind::packet, std::chrono::duration_cast<Millis>(deadline - Clock::now()))) {
            if (e->type == type) return e;
        }
        return std::nullopt;
    }
    std::optional<Event> connected(Millis timeout = Millis{10000}) { return next(Event::Kind::connected, timeout); }
    std::optional<Event> disconnected(Millis timeout = Millis{10000}) {
        return next(Event::Kind::disconnected, timeout);
    }

    std::vector<Event> events() {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::size_t events_count() {
        std::lock_guard lock(mutex_);
        return events_.size();
    }
    std::size_t stopped_at() const { return stopped_at_; }
    std::string history() {
        std::string text;
        for (const auto& e : events()) text += "  " + describe(e) + "\n";
        return text;
    }

private:
    void record(Event e) {
        e.at = Clock::now();
        {
            std::lock_guard lock(mutex_);
            events_.push_back(std::move(e));
        }
        changed_.notify_all();
    }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::promise<void> done_;
    std::future<void> done_future_ = done_.get_future();
    std::thread thread_;
    std::shared_ptr<Uplink> uplink_;  // touched on the io thread only (and after it ended)
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Event> events_;
    std::size_t cursors_[3] = {0, 0, 0};
    std::size_t stopped_at_ = 0;
};

config::BridgeConfig bridge_config(std::vector<std::string> addresses, ProtocolVersion version = ProtocolVersion::v5) {
    config::BridgeConfig c;
    c.name = "test";
    c.addresses = std::move(addresses);
    c.protocol = version == ProtocolVersion::v5 ? config::BridgeProtocol::mqtt5 : config::BridgeProtocol::mqtt311;
    c.client_id = "uplink-test";
    c.keepalive = std::chrono::seconds{5};
    c.reconnect_min = Millis{200};
    c.reconnect_max = Millis{1000};
    return c;
}

std::string url(const std::string& scheme, std::uint16_t port, const std::string& host = "127.0.0.1") {
    return scheme + "://" + host + ":" + std::to_string(port);
}

mqtt::Publish publish(std::string_view topic, std::string_view payload, mqtt::QoS qos, std::uint16_t id = 0) {
    return {.qos = qos, .topic = topic, .packet_id = id, .payload = payload};
}

mqtt::Subscribe subscribe(std::uint16_t id, std::string_view filter) {
    return {.packet_id = id, .subscriptions = {{.filter = filter, .options = {.qos = mqtt::QoS::at_most_once}}}};
}

// mosquitto_sub on a plain TCP port, waiting for `count` messages (at most
// 10 s) and printing "topic|payload"; all its output on stderr, so that the
// test can wait for its SUBACK there.
std::unique_ptr<Process> mosquitto_sub(std::uint16_t port, const std::string& filter, int count) {
    const std::string command = "exec /usr/bin/stdbuf -oL /usr/bin/mosquitto_sub -h 127.0.0.1 -p " +
                                std::to_string(port) + " -V mqttv311 -i watcher -q 1 -t '" + filter + "' -C " +
                                std::to_string(count) + " -W 10 -d -F 'MSG %t|%p' 1>&2";
    return std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", command});
}

RunResult mosquitto_pub(std::uint16_t port, const std::string& topic, const std::string& payload) {
    return run({"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port), "-V", "mqttv311", "-i",
                "pusher", "-q", "1", "-t", topic, "-m", payload},
               {}, Millis{10000});
}

// A loopback listener that plays the cloud broker from a script (STYLE.md
// 9): the exact CONNECT the uplink sends, and answers no real broker gives
// on demand. Not accepting at all, it is a broker that hangs after the TCP
// handshake (the kernel completes that).
class ScriptedBroker {
public:
    ScriptedBroker() {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
            ::listen(listener_, 8) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            throw std::runtime_error("cannot make a listener");
        }
        port_ = ntohs(address.sin_port);
    }
    ~ScriptedBroker() {
        if (client_ >= 0) ::close(client_);
        ::close(listener_);
    }
    std::uint16_t port() const { return port_; }

    // Accepts the next connection and reads its first packet, decoded into
    // `connect` (whose views point into this object). False after `timeout`.
    bool accept_connect(Millis timeout) {
        if (!readable(listener_, timeout)) return false;
        if (client_ >= 0) ::close(client_);
        client_ = ::accept(listener_, nullptr, nullptr);
        received_.clear();
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            const auto result = mqtt::decode(received_, mqtt::ProtocolVersion::v5);
            if (result.status == mqtt::DecodeStatus::packet) {
                if (!std::holds_alternative<mqtt::Connect>(result.packet)) return false;
                connect = std::get<mqtt::Connect>(result.packet);
                return true;
            }
            if (result.status == mqtt::DecodeStatus::error || !read_more(Millis{200})) continue;
        }
        return false;
    }
    bool send(const mqtt::Packet& packet, ProtocolVersion version = ProtocolVersion::v5) {
        std::vector<std::uint8_t> bytes;
        mqtt::encode(packet, version, bytes);
        return ::send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
    // Waits for more bytes from the client; the next ones are in received().
    bool read_more(Millis timeout) {
        if (!readable(client_, timeout)) return false;
        std::uint8_t buffer[4096];
        const auto n = ::recv(client_, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        received_.insert(received_.end(), buffer, buffer + n);
        return true;
    }
    std::vector<std::uint8_t>& received() { return received_; }

    mqtt::Connect connect;

private:
    static bool readable(int fd, Millis timeout) {
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
    }

    int listener_ = -1;
    int client_ = -1;
    std::uint16_t port_ = 0;
    std::vector<std::uint8_t> received_;
};

// One PKI for the whole suite: making it takes openssl a while.
TestPki& pki() {
    static TestPki instance;
    return instance;
}

std::string tls_listener(std::uint16_t port, const CertKey& server, bool require_client_cert = false) {
    std::string text = "listener " + std::to_string(port) + " 127.0.0.1\ncertfile " + server.cert + "\nkeyfile " +
                       server.key + "\n";
    if (require_client_cert) text += "cafile " + pki().ca_file() + "\nrequire_certificate true\n";
    return text;
}

// A server certificate from the suite's CA for "other.example" only.
CertKey other_name_certificate(const TempDir& dir) {
    const std::string ext = dir.write("other.ext", "subjectAltName=DNS:other.example\n");
    const CertKey files{dir.path() + "/other.crt", dir.path() + "/other.key"};
    const std::string csr = dir.path() + "/other.csr";
    auto step = [](const std::vector<std::string>& argv) {
        const auto r = run(argv, {}, Millis{20000});
        if (r.exit_code() != 0) throw std::runtime_error("openssl: " + r.err);
    };
    step({"/usr/bin/openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", files.key, "-subj", "/O=fieldgate test/CN=other.example", "-out", csr});
    step({"/usr/bin/openssl", "x509", "-req", "-in", csr, "-CA", pki().ca().cert(), "-CAkey", pki().ca().key(),
          "-set_serial", "4242", "-days", "2", "-extfile", ext, "-out", files.cert});
    return files;
}

// ---- Every transport, both protocol versions: a round trip each way ----

struct TransportParam {
    UplinkScheme scheme = UplinkScheme::mqtt;
    ProtocolVersion version = ProtocolVersion::v5;
};

std::string transport_name(const testing::TestParamInfo<TransportParam>& info) {
    static const char* names[] = {"mqtt", "mqtts", "ws", "wss"};
    return std::string(names[static_cast<int>(info.param.scheme)]) + "_" + version_tag(info.param.version);
}

class BridgeUplinkTransport : public testing::TestWithParam<TransportParam> {
protected:
    // The broker for this transport; returns the uplink's address, and the
    // plain TCP port that mosquitto_sub/pub use on the same broker.
    std::string start_broker(std::uint16_t& tcp_port) {
        const auto scheme = GetParam().scheme;
        if (scheme == UplinkScheme::mqtt || scheme == UplinkScheme::mqtts) {
            const auto tls_port = free_tcp_ports(1)[0];
            mosquitto_ = std::make_unique<MosquittoProcess>(
                MosquittoOptions{.extra_config = tls_listener(tls_port, pki().server())});
            tcp_port = mosquitto_->port();
            return scheme == UplinkScheme::mqtt ? url("mqtt", tcp_port) : url("mqtts", tls_port);
        }
        // Debian's mosquitto has no WebSocket listener; fieldgate's own has.
        ListenerOptions listener{.type = scheme == UplinkScheme::ws ? "ws" : "wss", .path = "/mqtt"};
        if (scheme == UplinkScheme::wss) {
            listener.cert = pki().server().cert;
            listener.key = pki().server().key;
        }
        gateway_ = std::make_unique<GatewayProcess>(GatewayOptions{.listeners = {listener}});
        tcp_port = gateway_->port();
        return url(scheme == UplinkScheme::ws ? "ws" : "wss", gateway_->listener_port(0)) + "/mqtt";
    }
    void TearDown() override {
        if (gateway_) expect_clean_stop(*gateway_);
    }

    std::unique_ptr<MosquittoProcess> mosquitto_;
    std::unique_ptr<GatewayProcess> gateway_;
};

std::vector<TransportParam> transport_params() {
    std::vector<TransportParam> out;
    for (const auto s : {UplinkScheme::mqtt, UplinkScheme::mqtts, UplinkScheme::ws, UplinkScheme::wss}) {
        for (const auto v : {ProtocolVersion::v3_1_1, ProtocolVersion::v5}) out.push_back({s, v});
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(Bridge, BridgeUplinkTransport, testing::ValuesIn(transport_params()), transport_name);

TEST_P(BridgeUplinkTransport, ConnectsAndCarriesPublishesBothWays) {
    std::uint16_t tcp_port = 0;
    const std::string address = start_broker(tcp_port);
    auto config = bridge_config({address}, GetParam().version);
    config.ca = pki().ca_file();
    UplinkRun uplink(config);

    const auto up = uplink.connected();
    ASSERT_TRUE(up) << "events:\n" << uplink.history();
    EXPECT_EQ(up->address, address);
    EXPECT_FALSE(up->session_present);
    const auto status = uplink.status();
    EXPECT_TRUE(status.connected);
    EXPECT_EQ(status.address, address);
    EXPECT_EQ(status.connections, 1u);
    EXPECT_EQ(status.tls.starts_with("TLSv1."), bridge::uses_tls(GetParam().scheme)) << status.tls;

    // Up: the uplink subscribes, and receives what mosquitto_pub sends.
    ASSERT_TRUE(uplink.send(subscribe(1, "cloud/cmd/#")));
    const auto suback = uplink.next_packet(mqtt::PacketType::suback, Millis{5000});
    ASSERT_TRUE(suback) << "events:\n" << uplink.history();
    EXPECT_EQ(suback->packet_id, 1);
    ASSERT_EQ(mosquitto_pub(tcp_port, "cloud/cmd/start", "go").exit_code(), 0);
    const auto command = uplink.next_packet(mqtt::PacketType::publish, Millis{5000});
    ASSERT_TRUE(command) << "events:\n" << uplink.history();
    EXPECT_EQ(command->topic, "cloud/cmd/start");
    EXPECT_EQ(command->payload, "go");

    // Out: a QoS 1 PUBLISH reaches mosquitto_sub and is acknowledged.
    auto sub = mosquitto_sub(tcp_port, "site/#", 2);
    ASSERT_TRUE(sub->wait_for_stderr("received SUBACK", Millis{5000})) << sub->err();
    ASSERT_TRUE(uplink.send(publish("site/line3/temp", "21.5", mqtt::QoS::at_least_once, 7)));
    const std::string large(70000, 'x');  // many TLS records; a WebSocket frame with a 64-bit length
    ASSERT_TRUE(uplink.send(publish("site/line3/blob", large, mqtt::QoS::at_most_once)));
    const auto puback = uplink.next_packet(mqtt::PacketType::puback, Millis{5000});
    ASSERT_TRUE(puback) << "events:\n" << uplink.history();
    EXPECT_EQ(puback->packet_id, 7);
    const auto exit = sub->wait(Millis{10000});
    ASSERT_TRUE(exit) << sub->err().substr(0, 2000);
    EXPECT_NE(sub->err().find("MSG site/line3/temp|21.5\n"), std::string::npos) << sub->err().substr(0, 2000);
    EXPECT_NE(sub->err().find("MSG site/line3/blob|" + large + "\n"), std::string::npos) << sub->err().substr(0, 2000);

    uplink.stop();
    EXPECT_EQ(uplink.events_count(), uplink.stopped_at()) << "no callback after stop():\n" << uplink.history();
}

// ---- TLS ----

TEST(BridgeUplinkTls, PresentsClientCertificateWhenTheBrokerRequiresOne) {
    const auto port = free_tcp_ports(1)[0];
    MosquittoProcess mosquitto(MosquittoOptions{.extra_config = tls_listener(port, pki().server(), true)});
    auto config = bridge_config({url("mqtts", port)});
    config.ca = pki().ca_file();
    {
        // Without one the broker refuses the handshake (TLS 1.3: on the first read).
        UplinkRun uplink(config);
        const auto down = uplink.disconnected();
        ASSERT_TRUE(down) << "events:\n" << uplink.history();
        // The alert, or in TLS 1.3 often only the RST that follows it.
        EXPECT_TRUE(down->error.starts_with("TLS: ") ||
                    down->error == "connection reset by the broker before CONNACK")
            << down->error;
        EXPECT_FALSE(down->was_connected);
    }
    config.cert = pki().client("line3-pi").cert;
    config.key = pki().client("line3-pi").key;
    UplinkRun uplink(config);
    ASSERT_TRUE(uplink.connected()) << "events:\n" << uplink.history();
}

TEST(BridgeUplinkTls, ReportsCertificateForAnotherNameAndUnknownCaInWords) {
    TempDir dir;
    const auto other = other_name_certificate(dir);
    const auto port = free_tcp_ports(1)[0];
    MosquittoProcess mosquitto(MosquittoOptions{.extra_config = tls_listener(port, other)});
    auto config = bridge_config({url("mqtts", port, "localhost")});
    config.ca = pki().ca_file();
    {
        UplinkRun uplink(config);
        const auto down = uplink.disconnected();
        ASSERT_TRUE(down) << "events:\n" << uplink.history();
        EXPECT_EQ(down->error, "TLS: certificate verify failed: hostname mismatch");
        EXPECT_EQ(uplink.status().last_error, down->error);
    }
    {
        config.addresses = {url("mqtts", port)};  // an IP address is checked against IP SANs
        UplinkRun uplink(config);
        const auto down = uplink.disconnected();
        ASSERT_TRUE(down) << "events:\n" << uplink.history();
        EXPECT_EQ(down->error, "TLS: certificate verify failed: IP address mismatch");
    }
    {
        // `sni` names the server: sent as SNI and verified.
        config.sni = "other.example";
        UplinkRun uplink(config);
        ASSERT_TRUE(uplink.connected()) << "events:\n" << uplink.history();
    }
    {
        config.ca = pki().other_ca().cert();
        UplinkRun uplink(config);
        const auto down = uplink.disconnected();
        ASSERT_TRUE(down) << "events:\n" << uplink.history();
        EXPECT_EQ(down->error, "TLS: certificate verify failed: unable to get local issuer certificate");
    }
}

// ---- Refusals, failover, backoff ----

class BridgeUplinkVersions : public testing::TestWithParam<ProtocolVersion> {};
std::string version_name(const testing::TestParamInfo<ProtocolVersion>& param) { return version_tag(param.param); }
INSTANTIATE_TEST_SUITE_P(Bridge, BridgeUplinkVersions, testing::Values(ProtocolVersion::v3_1_1, ProtocolVersion::v5),
                         version_name);

TEST_P(BridgeUplinkVersions, RefusedPasswordIsReportedWithTheConnackReason) {
    TempDir dir;
    const std::string passwd = dir.path() + "/passwd";
    ASSERT_EQ(run({mosquitto_passwd_binary(), "-c", "-b", passwd, "bridge", "s3cret"}).exit_code(), 0);
    MosquittoProcess mosquitto(MosquittoOptions{.password_file = passwd, .allow_anonymous = false});
    auto config = bridge_config({url("mqtt", mosquitto.port())}, GetParam());
    config.username = "bridge";
    config.password_file = dir.write("wrong.secret", "guess\n");
    {
        UplinkRun uplink(config);
        const auto down = uplink.disconnected();
        ASSERT_TRUE(down) << "events:\n" << uplink.history();
        if (GetParam() == ProtocolVersion::v5) {
            // mosquitto 2.0.11 answers 0x87 where 0x86 would be more precise.
            EXPECT_TRUE(down->error == "CONNACK 0x86 Bad User Name or Password" ||
                        down->error == "CONNACK 0x87 Not authorized")
                << down->error;
            EXPECT_TRUE(down->reason_code == ReasonCode::bad_user_name_or_password ||
                        down->reason_code == ReasonCode::not_authorized);
        } else {
            // Return code 5 from mosquitto, mapped onto 0x87 by the decoder.
            EXPECT_TRUE(down->error == "CONNACK return code 4 (Bad User Name or Password)" ||
                        down->error == "CONNACK return code 5 (Not authorized)")
                << down->error;
        }
        EXPECT_EQ(uplink.status().last_error, down->error);
        EXPECT_EQ(uplink.status().failed_attempts, 1u);
        // It keeps trying, with backoff (reconnect_min 200 ms).
        EXPECT_TRUE(uplink.disconnected(Millis{3000})) << "events:\n" << uplink.history();
    }
    // The secret is the file's content less one trailing newline.
    config.password_file = dir.write("right.secret", "s3cret\n");
    UplinkRun uplink(config);
    ASSERT_TRUE(uplink.connected()) << "events:\n" << uplink.history();
}

// The password file is read at every attempt: a secret rotated while the
// bridge is being refused is used at the next attempt, without a restart; a
// file that cannot be read meanwhile fails that attempt in words, and the
// bridge keeps trying.
TEST(BridgeUplink, PasswordFileIsReadAgainAtEveryAttempt) {
    TempDir dir;
    const std::string passwd = dir.path() + "/passwd";
    ASSERT_EQ(run({mosquitto_passwd_binary(), "-c", "-b", passwd, "bridge", "n3w-s3cret"}).exit_code(), 0);
    MosquittoProcess mosquitto(MosquittoOptions{.password_file = passwd, .allow_anonymous = false});
    auto config = bridge_config({url("mqtt", mosquitto.port())});
    config.username = "bridge";
    config.password_file = dir.write("bridge.secret", "old-s3cret\n");
    UplinkRun uplink(config);

    // The old secret is refused, again and again.
    for (int i = 0; i < 2; ++i) {
        const auto down = uplink.disconnected(Millis{5000});
        ASSERT_TRUE(down) << "events:\n" << uplink.history();
        EXPECT_TRUE(down->error == "CONNACK 0x86 Bad User Name or Password" ||
                    down->error == "CONNACK 0x87 Not authorized")
            << down->error;
    }

    // The file goes away (a rotation that replaces it, caught half way): an
    // attempt fails with the reason, and the next ones follow.
    const std::string secret = config.password_file;
    ASSERT_EQ(std::rename(secret.c_str(), (secret + ".old").c_str()), 0);
    const std::string unreadable = "cannot read password_file " + secret + ": No such file or directory";
    std::optional<Event> missing;
    for (int i = 0; i < 4 && !(missing && missing->error == unreadable); ++i) missing = uplink.disconnected(Millis{5000});
    ASSERT_TRUE(missing && missing->error == unreadable) << "events:\n" << uplink.history();
    EXPECT_FALSE(missing->was_connected);
    EXPECT_EQ(missing->address, url("mqtt", mosquitto.port()));
    const auto failing = uplink.status();
    EXPECT_FALSE(failing.connected);
    EXPECT_EQ(failing.last_error, unreadable);
    const auto again = uplink.disconnected(Millis{5000});
    ASSERT_TRUE(again) << "it keeps trying; events:\n" << uplink.history();
    EXPECT_EQ(again->error, unreadable);

    // The new secret is in place: the next attempt connects, and carries messages.
    dir.write("bridge.secret", "n3w-s3cret\n");
    const auto up = uplink.connected(Millis{10000});
    ASSERT_TRUE(up) << "events:\n" << uplink.history();
    EXPECT_TRUE(uplink.status().connected);
    EXPECT_EQ(uplink.status().connections, 1u);
    ASSERT_TRUE(uplink.send(subscribe(1, "rotated/#")));
    ASSERT_TRUE(uplink.next_packet(mqtt::PacketType::suback, Millis{5000})) << "events:\n" << uplink.history();
    ASSERT_TRUE(uplink.send(publish("rotated/t1", "21.5", mqtt::QoS::at_least_once, 3)));
    // The PUBACK and our own message coming back, in whichever order the broker sends them.
    std::optional<Event> puback, echoed;
    for (int i = 0; i < 2; ++i) {
        auto e = uplink.next(Event::Kind::packet, Millis{5000});
        if (!e) break;
        (e->type == mqtt::PacketType::puback ? puback : echoed) = std::move(e);
    }
    ASSERT_TRUE(puback) << "events:\n" << uplink.history();
    EXPECT_EQ(puback->packet_id, 3);
    ASSERT_TRUE(echoed && echoed->type == mqtt::PacketType::publish) << "events:\n" << uplink.history();
    EXPECT_EQ(echoed->topic, "rotated/t1");
    EXPECT_EQ(echoed->payload, "21.5");

    // No secret in what the uplink reported.
    for (const auto& e : uplink.events()) {
        EXPECT_EQ(e.error.find("s3cret"), std::string::npos) << e.error;
    }
}

// At start-up an unreadable password file stays an error that stops the bridge
// from being made (fieldgate then exits 2), naming the file and the reason.
TEST(BridgeUplink, UnreadablePasswordFileAtStartUpIsAnError) {
    TempDir dir;
    auto config = bridge_config({url("mqtt", 1883)});
    config.password_file = dir.path() + "/missing.secret";
    boost::asio::io_context io;
    try {
        Uplink::create(io, config, "fieldgate-test", {});
        ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "bridge test: cannot read password_file " + config.password_file + ": No such file or directory");
    }
}

TEST_P(BridgeUplinkVersions, FailsOverFromADeadFirstAddressToTheSecond) {
    MosquittoProcess mosquitto;
    const auto dead = free_tcp_ports(1)[0];  // nobody listens there
    auto config = bridge_config({url("mqtt", dead), url("mqtt", mosquitto.port())}, GetParam());
    const auto started = Clock::now();
    UplinkRun uplink(config);
    const auto down = uplink.disconnected();
    ASSERT_TRUE(down) << "events:\n" << uplink.history();
    EXPECT_EQ(down->address, url("mqtt", dead));
    EXPECT_EQ(down->error, "connection refused");
    const auto up = uplink.connected();
    ASSERT_TRUE(up) << "events:\n" << uplink.history();
    EXPECT_EQ(up->address, url("mqtt", mosquitto.port()));
    EXPECT_LT(up->at - started, Millis{2000}) << "failover waits for no backoff";
    std::printf("[ measure  ] connected via the second address %lld ms after start\n",
                static_cast<long long>(std::chrono::duration_cast<Millis>(up->at - started).count()));
    const auto status = uplink.status();
    EXPECT_EQ(status.address, url("mqtt", mosquitto.port()));
    EXPECT_EQ(status.last_error, "connection refused");
    EXPECT_EQ(status.failed_attempts, 1u);
}

TEST(BridgeUplink, MovesBackToTheFirstAddressOnceItAnswersAgain) {
    const auto first_port = free_tcp_ports(1)[0];
    MosquittoProcess second;
    auto config = bridge_config({url("mqtt", first_port), url("mqtt", second.port())});
    UplinkRun uplink(config, UplinkOptions{.return_to_first = Millis{300}});
    ASSERT_TRUE(uplink.disconnected()) << "events:\n" << uplink.history();  // the first refuses
    const auto on_second = uplink.connected();
    ASSERT_TRUE(on_second) << "events:\n" << uplink.history();
    EXPECT_EQ(on_second->address, url("mqtt", second.port()));

    // Probes of the first fail quietly while it is down; the second stays in use.
    std::this_thread::sleep_for(Millis{1000});
    EXPECT_EQ(uplink.events_count(), 2u) << "events:\n" << uplink.history();

    const MosquittoProcess first(
        MosquittoOptions{.extra_config = "listener " + std::to_string(first_port) + " 127.0.0.1\n"});
    const auto from = second.log().size();
    const auto moved = uplink.disconnected(Millis{5000});
    ASSERT_TRUE(moved) << "events:\n" << uplink.history();
    EXPECT_EQ(moved->error, "moving back to " + url("mqtt", first_port));
    EXPECT_TRUE(moved->was_connected);
    const auto on_first = uplink.connected();
    ASSERT_TRUE(on_first) << "events:\n" << uplink.history();
    EXPECT_EQ(on_first->address, url("mqtt", first_port));
    EXPECT_TRUE(second.wait_for_log("Client uplink-test disconnected.", Millis{5000}, from)) << second.log();
}

// [[bridge]] return_to_first as written in a config file reaches the uplink
// (no UplinkOptions override): "300ms" moves back to the first address once
// it answers, "0s" stays on the second.
TEST(BridgeUplink, ReturnToFirstFromTheConfigFileDecidesWhetherToMoveBack) {
    const auto first_port = free_tcp_ports(1)[0];
    MosquittoProcess second;
    auto load = [&](const std::string& client_id, const std::string& return_to_first) {
        const std::string text = "[[bridge]]\nname = \"test\"\naddresses = [\"" + url("mqtt", first_port) + "\", \"" +
                                 url("mqtt", second.port()) + "\"]\nclient_id = \"" + client_id +
                                 "\"\nreturn_to_first = \"" + return_to_first +
                                 "\"\n[[bridge.topic]]\npattern = \"sensors/#\"\n";
        const auto loaded = config::load_config_text(text, "test.toml", {.check_files = false});
        for (const auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
        if (loaded.config.bridges.size() != 1) throw std::runtime_error("no bridge in:\n" + text);
        return loaded.config.bridges[0];
    };
    const auto back_config = load("uplink-back", "300ms");
    const auto stay_config = load("uplink-stay", "0s");
    ASSERT_EQ(back_config.return_to_first, Millis{300});
    ASSERT_EQ(stay_config.return_to_first, Millis{0});
    UplinkRun back(back_config);
    UplinkRun stay(stay_config);
    for (auto* uplink : {&back, &stay}) {
        ASSERT_TRUE(uplink->disconnected()) << "events:\n" << uplink->history();  // the first refuses
        const auto up = uplink->connected();
        ASSERT_TRUE(up) << "events:\n" << uplink->history();
        EXPECT_EQ(up->address, url("mqtt", second.port()));
    }

    const MosquittoProcess first(
        MosquittoOptions{.extra_config = "listener " + std::to_string(first_port) + " 127.0.0.1\n"});
    const auto moved = back.disconnected(Millis{5000});
    ASSERT_TRUE(moved) << "events:\n" << back.history();
    EXPECT_EQ(moved->error, "moving back to " + url("mqtt", first_port));
    const auto on_first = back.connected();
    ASSERT_TRUE(on_first) << "events:\n" << back.history();
    EXPECT_EQ(on_first->address, url("mqtt", first_port));

    // Several of back's 300 ms later, stay is still where it was.
    std::this_thread::sleep_for(Millis{1000});
    EXPECT_EQ(stay.events_count(), 2u) << "events:\n" << stay.history();
    EXPECT_EQ(stay.status().address, url("mqtt", second.port()));
    EXPECT_TRUE(stay.status().connected);
}

TEST(BridgeUplink, BackoffBetweenRoundsGrowsUpToReconnectMax) {
    const auto dead = free_tcp_ports(2);
    auto config = bridge_config({url("mqtt", dead[0]), url("mqtt", dead[1])});
    config.reconnect_min = Millis{100};
    config.reconnect_max = Millis{400};
    UplinkRun uplink(config, UplinkOptions{.backoff_seed = 3});
    // Rounds of two refusals each; between rounds the backoff.
    std::vector<Clock::time_point> round_start;
    for (int i = 0; i < 14; ++i) {
        const auto down = uplink.disconnected(Millis{3000});
        ASSERT_TRUE(down) << "events:\n" << uplink.history();
        EXPECT_EQ(down->error, "connection refused");
        EXPECT_EQ(down->address, url("mqtt", dead[static_cast<std::size_t>(i % 2)]));
        if (i % 2 == 0) round_start.push_back(down->at);
    }
    // Nominal waits 100, 200, 400, 400 ... each +-20% and held within [100, 400].
    std::vector<long> gaps;
    for (std::size_t i = 1; i < round_start.size(); ++i) {
        gaps.push_back(std::chrono::duration_cast<Millis>(round_start[i] - round_start[i - 1]).count());
    }
    std::ostringstream text;
    for (auto g : gaps) text << g << " ";
    std::printf("[ measure  ] waits between rounds (ms): %s\n", text.str().c_str());
    EXPECT_LT(gaps[0], 300) << text.str();
    for (std::size_t i = 2; i < gaps.size(); ++i) EXPECT_GE(gaps[i], 320) << text.str();
    for (auto g : gaps) EXPECT_LE(g, 400 + 150) << "never much over reconnect_max: " << text.str();
    const auto status = uplink.status();
    EXPECT_FALSE(status.connected);
    EXPECT_GE(status.failed_attempts, 14u);
    EXPECT_EQ(status.connections, 0u);
}

TEST(BridgeUplink, ConnackThatNeverComesEndsTheAttemptAtTheStepTimeout) {
    ScriptedBroker silent;  // never accepts
    auto config = bridge_config({url("mqtt", silent.port())});
    UplinkRun uplink(config, UplinkOptions{.step_timeout = Millis{500}});
    const auto started = Clock::now();
    const auto down = uplink.disconnected(Millis{3000});
    ASSERT_TRUE(down) << "events:\n" << uplink.history();
    EXPECT_EQ(down->error, "timeout: no CONNACK within 500 ms");
    EXPECT_LT(down->at - started, Millis{1500});
}

// ---- A live connection that ends ----

TEST(BridgeUplink, DeadPathIsFoundWithinOneAndAHalfKeepAlivesWhenTheBrokerFreezes) {
    MosquittoProcess mosquitto;
    auto config = bridge_config({url("mqtt", mosquitto.port())});
    config.keepalive = std::chrono::seconds{1};
    UplinkRun uplink(config, UplinkOptions{.step_timeout = Millis{1000}});
    ASSERT_TRUE(uplink.connected()) << "events:\n" << uplink.history();
    // Quiet for several keep-alives: PINGREQ/PINGRESP keep it up.
    std::this_thread::sleep_for(Millis{2500});
    ASSERT_EQ(uplink.events_count(), 1u) << "events:\n" << uplink.history();

    // SIGSTOP: the kernel still acknowledges, no RST ever comes.
    ASSERT_EQ(::kill(mosquitto.pid(), SIGSTOP), 0);
    const auto frozen = Clock::now();
    const auto down = uplink.disconnected(Millis{5000});
    ::kill(mosquitto.pid(), SIGCONT);
    ASSERT_TRUE(down) << "events:\n" << uplink.history();
    EXPECT_EQ(down->error, "no packet for 1.5 s (keep-alive 1 s)");
    EXPECT_TRUE(down->was_connected);
    const auto found_ms = std::chrono::duration_cast<Millis>(down->at - frozen).count();
    std::printf("[ measure  ] dead path found %lld ms after SIGSTOP (keep-alive 1 s)\n", static_cast<long long>(found_ms));
    EXPECT_LE(down->at - frozen, Millis{1500 + 400}) << "found after "
                                                     << std::chrono::duration_cast<Millis>(down->at - frozen).count()
                                                     << " ms";
    // Once the broker runs again the uplink comes back.
    const auto up = uplink.connected(Millis{10000});
    ASSERT_TRUE(up) << "events:\n" << uplink.history();
    EXPECT_EQ(uplink.status().reconnects, 1u);
}

TEST_P(BridgeUplinkVersions, ReconnectsAfterTheBrokerRestarts) {
    const auto port = free_tcp_ports(1)[0];
    const MosquittoOptions options{.extra_config = "listener " + std::to_string(port) + " 127.0.0.1\n"};
    auto mosquitto = std::make_unique<MosquittoProcess>(options);
    auto config = bridge_config({url("mqtt", port)}, GetParam());
    config.clean_start = false;
    UplinkRun uplink(config);
    ASSERT_TRUE(uplink.connected()) << "events:\n" << uplink.history();

    mosquitto->stop();
    const auto down = uplink.disconnected();
    ASSERT_TRUE(down) << "events:\n" << uplink.history();
    EXPECT_TRUE(down->was_connected);
    const auto lost = uplink.status();
    EXPECT_FALSE(lost.connected);
    EXPECT_FALSE(lost.last_error.empty());

    // While it is down, attempts are refused and backed off; then it is back.
    std::this_thread::sleep_for(Millis{1000});
    mosquitto = std::make_unique<MosquittoProcess>(options);
    const auto up = uplink.connected(Millis{10000});
    ASSERT_TRUE(up) << "events:\n" << uplink.history();
    const auto status = uplink.status();
    EXPECT_TRUE(status.connected);
    EXPECT_EQ(status.connections, 2u);
    EXPECT_EQ(status.reconnects, 1u);
    EXPECT_GE(status.failed_attempts, 1u);
}

// ---- Against a scripted broker: exact packets ----

TEST(BridgeUplinkScripted, ConnectCarriesTheConfiguredSettingsAndPingsAtTheServerKeepAlive) {
    ScriptedBroker broker;
    TempDir dir;
    auto config = bridge_config({url("mqtt", broker.port())});
    config.client_id.clear();  // the gateway's name, given by the caller
    config.clean_start = false;
    config.session_expiry = std::chrono::hours{1};
    config.keepalive = std::chrono::seconds{30};
    config.username = "line3";
    config.password_file = dir.write("secret", "pa ss\n");
    const std::string will_topic = "site/line3/$state";
    UplinkRun uplink(config, {}, [&](mqtt::Connect& connect) {
        connect.will = mqtt::Will{.topic = will_topic, .payload = "offline", .retain = true};
    });
    ASSERT_TRUE(broker.accept_connect(Millis{5000}));
    const auto& c = broker.connect;
    EXPECT_EQ(c.version, ProtocolVersion::v5);
    EXPECT_EQ(c.client_id, "fieldgate-test");
    EXPECT_FALSE(c.clean_start);
    EXPECT_EQ(c.keep_alive, 30);
    EXPECT_EQ(c.username, std::optional<std::string_view>("line3"));
    EXPECT_EQ(c.password, std::optional<std::string_view>("pa ss")) << "one trailing newline is not the secret";
    EXPECT_EQ(c.properties.session_expiry_interval, 3600u);
    EXPECT_EQ(c.properties.maximum_packet_size, 1u << 20);
    ASSERT_TRUE(c.will);
    EXPECT_EQ(c.will->topic, will_topic);
    EXPECT_TRUE(c.will->retain);

    // The broker's Server Keep Alive (1 s) replaces ours [MQTT-3.2.2-22]: a PINGREQ within about 1 s.
    mqtt::Connack connack{.session_present = true};
    connack.properties.server_keep_alive = 1;
    broker.received().clear();
    ASSERT_TRUE(broker.send(connack));
    const auto up = uplink.connected();
    ASSERT_TRUE(up) << "events:\n" << uplink.history();
    EXPECT_TRUE(up->session_present);
    const auto sent = Clock::now();
    ASSERT_TRUE(broker.read_more(Millis{2000}));
    EXPECT_EQ(broker.received(), (std::vector<std::uint8_t>{0xC0, 0x00})) << "a PINGREQ";
    EXPECT_LT(Clock::now() - sent, Millis{1500});
}

TEST(BridgeUplinkScripted, RefusingConnackIsReportedWithItsReasonString) {
    ScriptedBroker broker;
    UplinkRun uplink(bridge_config({url("mqtt", broker.port())}));
    ASSERT_TRUE(broker.accept_connect(Millis{5000}));
    mqtt::Connack connack{.reason_code = ReasonCode::bad_user_name_or_password};
    connack.properties.reason_string = "token expired";
    ASSERT_TRUE(broker.send(connack));
    const auto down = uplink.disconnected();
    ASSERT_TRUE(down) << "events:\n" << uplink.history();
    EXPECT_EQ(down->error, "CONNACK 0x86 Bad User Name or Password (reason string: token expired)");
    EXPECT_EQ(down->reason_code, ReasonCode::bad_user_name_or_password);
    EXPECT_FALSE(down->was_connected);
}

TEST(BridgeUplinkScripted, DisconnectFromTheBrokerIsReportedWithItsReason) {
    ScriptedBroker broker;
    UplinkRun uplink(bridge_config({url("mqtt", broker.port())}));
    ASSERT_TRUE(broker.accept_connect(Millis{5000}));
    ASSERT_TRUE(broker.send(mqtt::Connack{}));
    ASSERT_TRUE(uplink.connected()) << "events:\n" << uplink.history();
    mqtt::Disconnect disconnect{.reason_code = ReasonCode::session_taken_over};
    disconnect.properties.reason_string = "another client connected";
    ASSERT_TRUE(broker.send(disconnect));
    const auto down = uplink.disconnected();
    ASSERT_TRUE(down) << "events:\n" << uplink.history();
    EXPECT_EQ(down->error, "DISCONNECT 0x8E Session taken over (reason string: another client connected)");
    EXPECT_EQ(down->reason_code, ReasonCode::session_taken_over);
    EXPECT_TRUE(down->was_connected);
    EXPECT_EQ(uplink.status().last_error, down->error);
}

TEST(BridgeUplinkScripted, PacketBeforeConnackIsAProtocolError) {
    ScriptedBroker broker;
    UplinkRun uplink(bridge_config({url("mqtt", broker.port())}));
    ASSERT_TRUE(broker.accept_connect(Millis{5000}));
    broker.received().clear();
    ASSERT_TRUE(broker.send(mqtt::Pingresp{}));
    const auto down = uplink.disconnected();
    ASSERT_TRUE(down) << "events:\n" << uplink.history();
    EXPECT_EQ(down->error, "protocol error: the broker sent PINGRESP before CONNACK");
    // MQTT 5: a DISCONNECT with 0x82 Protocol Error goes out before the close.
    ASSERT_TRUE(broker.read_more(Millis{2000}));
    EXPECT_EQ(broker.received(), (std::vector<std::uint8_t>{0xE0, 0x01, 0x82}));
}

TEST(BridgeUplink, StopSendsDisconnectAndNoCallbackFollows) {
    MosquittoProcess mosquitto;
    auto config = bridge_config({url("mqtt", mosquitto.port())});
    // The caller may add to the CONNECT: here a will, which a normal DISCONNECT discards.
    const std::string will_topic = "bridge/test/state";
    UplinkRun uplink(config, {}, [&](mqtt::Connect& connect) {
        connect.will = mqtt::Will{.topic = will_topic, .payload = "offline", .qos = mqtt::QoS::at_least_once};
    });
    ASSERT_TRUE(uplink.connected()) << "events:\n" << uplink.history();
    const auto from = mosquitto.log().size();
    uplink.stop();
    EXPECT_TRUE(mosquitto.wait_for_log("Client uplink-test disconnected.", Millis{5000}, from)) << mosquitto.log();
    EXPECT_FALSE(uplink.status().connected);
    std::this_thread::sleep_for(Millis{300});
    EXPECT_EQ(uplink.events_count(), uplink.stopped_at()) << "events:\n" << uplink.history();
}

}  // namespace
}  // namespace fieldgate::test
