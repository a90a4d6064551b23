// Abuse limits on every transport: slow openings (silence, half a TLS
// handshake, half an HTTP upgrade, a byte at a time, a handshake done but no
// CONNECT) closed at connect_timeout, which bounds the whole opening rather
// than each step; per-listener and global max_connections (the connection
// over the limit is closed at once, those within it keep working, a flood
// over the limit does not hold up anyone else); and packets over
// max_packet_size refused from their header over TLS and WebSocket (plain
// TCP with whole packets is in test_broker_malformed.cpp; here the header
// alone must be enough).

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "support/certs.hpp"
#include "support/scenario.hpp"
#include "support/ws_client.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;
using mqtt::ReasonCode;

// connect_timeout in these tests, and the window a slow opening must be closed in.
constexpr auto connect_timeout = 1000ms;
constexpr double closed_not_before = 0.8;
constexpr double closed_by = 2.0;

Millis left_until(Clock::time_point deadline) {
    return std::max(std::chrono::duration_cast<Millis>(deadline - Clock::now()), 0ms);
}

// A client socket watched until the server closes it; it may send a
// request one byte at a time meanwhile (a trickle).
struct Watched {
    std::string name;
    int fd = -1;
    std::string trickle;  // sent one byte every trickle_every, from the start of the watch
    Millis trickle_every{100};
    std::size_t trickled = 0;
    double closed_after = -1;  // seconds from the watch's start; -1 while open
    std::string received;
};

// Polls every socket until the server has closed each, or `timeout`.
void watch(std::vector<Watched>& sockets, Clock::time_point since, Millis timeout) {
    const auto deadline = since + timeout;
    while (Clock::now() < deadline) {
        std::vector<pollfd> fds;
        std::vector<Watched*> open;
        auto wait = left_until(deadline);
        for (auto& s : sockets) {
            if (s.closed_after >= 0) continue;
            if (s.trickled < s.trickle.size()) {
                const auto due = since + s.trickle_every * static_cast<int>(s.trickled + 1);
                if (Clock::now() >= due) {
                    const ssize_t n = ::send(s.fd, s.trickle.data() + s.trickled, 1, MSG_NOSIGNAL);
                    if (n == 1) {
                        ++s.trickled;
                    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        s.closed_after = seconds_since(since);
                        continue;
                    }
                }
                wait = std::min(wait, left_until(since + s.trickle_every * static_cast<int>(s.trickled + 1)));
            }
            fds.push_back({s.fd, POLLIN, 0});
            open.push_back(&s);
        }
        if (open.empty()) return;
        const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max(wait, 1ms).count()));
        if (ready <= 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            char buffer[4096];
            const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
            if (n > 0) {
                open[i]->received.append(buffer, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                open[i]->closed_after = seconds_since(since);
            }
        }
    }
}

// An s_client exchange run on its own thread: the time until the server closed it.
class TlsPeer {
public:
    TlsPeer(std::string name, std::uint16_t port, TlsProbeOptions options, Bytes request, Clock::time_point since)
        : name_(std::move(name)) {
        thread_ = std::thread([=, this] {
            result_ = tls_exchange(port, options, request, 5000ms);
            closed_after_ = result_.closed ? seconds_since(since) : -1;
        });
    }
    ~TlsPeer() {
        if (thread_.joinable()) thread_.join();
    }
    const TlsExchange& result() {
        if (thread_.joinable()) thread_.join();
        return result_;
    }
    double closed_after() {
        result();
        return closed_after_;
    }
    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::thread thread_;
    TlsExchange result_;
    double closed_after_ = -1;
};

void expect_closed_in_window(const std::string& name, double closed_after, const std::string& detail = {}) {
    EXPECT_GE(closed_after, 0) << name << ": still open " << closed_by + 1 << " s after it opened " << detail;
    if (closed_after < 0) return;
    EXPECT_GE(closed_after, closed_not_before) << name << ": closed before connect_timeout " << detail;
    EXPECT_LE(closed_after, closed_by) << name << ": closed too late " << detail;
}

// The first bytes of a TLS ClientHello: a handshake record announcing 512
// bytes, of which only these arrive.
const Bytes half_client_hello = hex("16 03 01 02 00 01 00 01 fc 03 03 5a 17 c3 09 88 21 4e 6b 90 aa 01 02 03 04");

class Abuse : public testing::TestWithParam<BrokerParam> {
protected:
    // The gateway with, after the plain MQTT listener, mqtts (0), ws (1) and wss (2).
    void start(const std::string& extra_toml, std::vector<ListenerOptions> more = {}) {
        std::vector<ListenerOptions> listeners{
            {.type = "mqtts", .cert = pki_.server().cert, .key = pki_.server().key},
            {.type = "ws"},
            {.type = "wss", .cert = pki_.server().cert, .key = pki_.server().key}};
        listeners.insert(listeners.end(), more.begin(), more.end());
        gateway_ = std::make_unique<GatewayProcess>(
            GatewayOptions{.workers = GetParam().workers, .extra_toml = extra_toml, .listeners = listeners});
    }
    void start_with_connect_timeout() { start("[limits]\nconnect_timeout = \"1s\"\n"); }
    void TearDown() override {
        if (gateway_) expect_clean_stop(*gateway_);
    }

    std::uint16_t mqtts_port() const { return gateway_->listener_port(0); }
    std::uint16_t ws_port() const { return gateway_->listener_port(1); }
    std::uint16_t wss_port() const { return gateway_->listener_port(2); }

    // paho options for `type` ("mqtt", "mqtts", "ws", "wss").
    ConnectOptions options_for(const std::string& type, const std::string& id,
                               ProtocolVersion v = ProtocolVersion::v5) const {
        ConnectOptions o{.version = v, .client_id = id};
        if (type == "ws" || type == "wss") o.transport = "websockets";
        if (type == "mqtts" || type == "wss") o.tls = TlsOptions{.ca_file = pki_.ca_file()};
        return o;
    }
    std::uint16_t port_for(const std::string& type) const {
        if (type == "mqtts") return mqtts_port();
        if (type == "ws") return ws_port();
        if (type == "wss") return wss_port();
        return gateway_->port();
    }

    // A client on `type` that completed CONNECT at once: it must outlive the slow ones.
    std::unique_ptr<PahoClient> prompt_client(const std::string& type) {
        auto c = std::make_unique<PahoClient>("prompt-" + type);
        c->connect_ok(port_for(type), options_for(type, "prompt-" + type));
        return c;
    }

    // The prompt client still works after the slow ones were closed.
    void expect_still_served(PahoClient& prompt, const std::string& type) {
        PahoClient watcher("watcher");
        watcher.connect_ok(gateway_->port(), {.version = ProtocolVersion::v5, .client_id = "watcher-" + type});
        ASSERT_EQ(watcher.subscribe("prompt/#", 1), std::vector<int>{1});
        EXPECT_FALSE(prompt.next("disconnect", 0ms)) << "the prompt " << type << " client was disconnected";
        prompt.publish("prompt/" + type, "still here", 1);
        EXPECT_EQ(to_string(watcher.message()), "prompt/" + type + " 'still here' qos 1");
    }

    TestPki pki_;
    std::unique_ptr<GatewayProcess> gateway_;
};

INSTANTIATE_TEST_SUITE_P(Workers, Abuse, testing::ValuesIn(matrix({ProtocolVersion::v5})), workers_name);

// ---- slowloris ----

// TCP: a CONNECT sent a byte every 100 ms would take 2 s; each byte does
// not restart the clock. (Silence and half a CONNECT on TCP are in
// test_broker_connect.cpp.)
TEST_P(Abuse, ConnectTrickledOverTcpIsClosedAtConnectTimeout) {
    start_with_connect_timeout();
    RawClient trickler(gateway_->port());
    const Bytes connect = raw::connect({.client_id = "trickler-with-a-long-client-id"});
    ASSERT_GT(connect.size() * 100, 2000u);
    std::vector<Watched> sockets{{.name = "tcp trickle", .fd = trickler.fd(), .trickle = std::string(connect.begin(), connect.end())}};
    const auto since = Clock::now();
    auto prompt = prompt_client("mqtt");
    watch(sockets, since, Millis{static_cast<int>(closed_by * 1000) + 1000});
    expect_closed_in_window(sockets[0].name, sockets[0].closed_after,
                            "after " + std::to_string(sockets[0].trickled) + " bytes");
    EXPECT_EQ(sockets[0].received, "") << "no CONNACK for a CONNECT that never completed";
    expect_still_served(*prompt, "mqtt");
}

// mqtts: silence, half a ClientHello, a handshake completed but no
// CONNECT, and a handshake then half a CONNECT.
TEST_P(Abuse, SlowOpeningsOverTlsAreClosedAtConnectTimeout) {
    start_with_connect_timeout();
    RawClient silent(mqtts_port());
    RawClient half_hello(mqtts_port());
    const auto since = Clock::now();
    ASSERT_TRUE(half_hello.send(half_client_hello));
    TlsPeer no_connect("tls done, no CONNECT", mqtts_port(), {.ca_file = pki_.ca_file()}, {}, since);
    TlsPeer half_connect("tls done, half a CONNECT", mqtts_port(), {.ca_file = pki_.ca_file()},
                         hex("10 0d 00 04 4d 51"), since);
    std::vector<Watched> sockets{{.name = "mqtts silent", .fd = silent.fd()},
                                 {.name = "mqtts half ClientHello", .fd = half_hello.fd()}};
    auto prompt = prompt_client("mqtts");
    watch(sockets, since, Millis{static_cast<int>(closed_by * 1000) + 1000});
    for (const auto& s : sockets) expect_closed_in_window(s.name, s.closed_after);
    for (TlsPeer* p : {&no_connect, &half_connect}) {
        expect_closed_in_window(p->name(), p->closed_after(), p->result().log);
        EXPECT_EQ(p->result().received, "") << p->name() << ": an MQTT answer to no CONNECT";
    }
    expect_still_served(*prompt, "mqtts");
}

// ws: silence, half an upgrade request, an upgrade request a byte every
// 100 ms, an upgrade completed but no CONNECT, and an upgrade then half a
// CONNECT in a frame.
TEST_P(Abuse, SlowOpeningsOverWebSocketAreClosedAtConnectTimeout) {
    start_with_connect_timeout();
    WsClient silent(ws_port());
    WsClient half_request(ws_port());
    WsClient trickler(ws_port());
    WsClient upgraded(ws_port());
    WsClient half_connect(ws_port());
    const auto since = Clock::now();
    ASSERT_TRUE(half_request.send_raw("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"));
    upgraded.open();
    half_connect.open();
    ASSERT_TRUE(half_connect.send_frame(ws::binary, hex("10 0d 00 04 4d 51")));
    std::vector<Watched> sockets{
        {.name = "ws silent", .fd = silent.fd()},
        {.name = "ws half upgrade request", .fd = half_request.fd()},
        {.name = "ws upgrade request trickled",
         .fd = trickler.fd(),
         .trickle = ws::upgrade_request("/mqtt", "127.0.0.1", trickler.key(), {"mqtt"})},
        {.name = "ws upgraded, no CONNECT", .fd = upgraded.fd()},
        {.name = "ws upgraded, half a CONNECT", .fd = half_connect.fd()}};
    auto prompt = prompt_client("ws");
    watch(sockets, since, Millis{static_cast<int>(closed_by * 1000) + 1000});
    for (const auto& s : sockets) expect_closed_in_window(s.name, s.closed_after, "received " + std::to_string(s.received.size()) + " bytes");
    EXPECT_LT(sockets[2].trickled, sockets[2].trickle.size()) << "the trickled request completed: the test is too slow";
    // After the upgrade, at most a close frame: never an MQTT packet.
    for (auto* s : {&sockets[3], &sockets[4]}) {
        EXPECT_TRUE(s->received.empty() || static_cast<std::uint8_t>(s->received[0]) == 0x88)
            << s->name << ": " << to_hex(Bytes(s->received.begin(), s->received.end()));
    }
    expect_still_served(*prompt, "ws");
}

// wss: silence, half a ClientHello, TLS done but no HTTP request, TLS and
// half a request, TLS and the upgrade but no CONNECT.
TEST_P(Abuse, SlowOpeningsOverSecureWebSocketAreClosedAtConnectTimeout) {
    start_with_connect_timeout();
    RawClient silent(wss_port());
    RawClient half_hello(wss_port());
    const auto since = Clock::now();
    ASSERT_TRUE(half_hello.send(half_client_hello));
    const std::string half_request = "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    const std::string request = ws::upgrade_request("/mqtt", "127.0.0.1", "dGhlIHNhbXBsZSBub25jZQ==", {"mqtt"});
    TlsPeer no_request("wss tls done, no request", wss_port(), {.ca_file = pki_.ca_file()}, {}, since);
    TlsPeer partial("wss tls done, half a request", wss_port(), {.ca_file = pki_.ca_file()},
                    Bytes(half_request.begin(), half_request.end()), since);
    TlsPeer upgraded("wss upgraded, no CONNECT", wss_port(), {.ca_file = pki_.ca_file()},
                     Bytes(request.begin(), request.end()), since);
    std::vector<Watched> sockets{{.name = "wss silent", .fd = silent.fd()},
                                 {.name = "wss half ClientHello", .fd = half_hello.fd()}};
    auto prompt = prompt_client("wss");
    watch(sockets, since, Millis{static_cast<int>(closed_by * 1000) + 1000});
    for (const auto& s : sockets) expect_closed_in_window(s.name, s.closed_after);
    for (TlsPeer* p : {&no_request, &partial, &upgraded}) {
        expect_closed_in_window(p->name(), p->closed_after(), p->result().log);
    }
    EXPECT_TRUE(upgraded.result().received.starts_with("HTTP/1.1 101 Switching Protocols\r\n"))
        << upgraded.result().received;
    expect_still_served(*prompt, "wss");
}

// ---- max_connections ----

class AbuseListenerLimit : public Abuse {};

// For each transport (mqtt: a second plain listener, so that the first
// keeps no limit of its own): max_connections = 3 lets three clients in;
// the fourth socket is closed at once (long before connect_timeout, 10 s
// by default), with nothing sent; the three keep working; other listeners
// are not limited by it; and a slot freed by a client that leaves is
// taken by the next one.
TEST_P(AbuseListenerLimit, FourthConnectionIsClosedAtOnceOnEveryTransport) {
    start({}, {{.type = "mqtt", .max_connections = 3},
               {.type = "mqtts", .cert = pki_.server().cert, .key = pki_.server().key, .max_connections = 3},
               {.type = "ws", .max_connections = 3},
               {.type = "wss", .cert = pki_.server().cert, .key = pki_.server().key, .max_connections = 3}});
    PahoClient watcher("watcher");
    watcher.connect_ok(gateway_->port(), {.version = ProtocolVersion::v5, .client_id = "watcher"});
    ASSERT_EQ(watcher.subscribe("limited/#", 1), std::vector<int>{1});
    const std::vector<std::string> types{"mqtt", "mqtts", "ws", "wss"};
    for (std::size_t t = 0; t < types.size(); ++t) {
        const std::string& type = types[t];
        SCOPED_TRACE(type);
        const std::uint16_t port = gateway_->listener_port(3 + t);
        const std::size_t log_from = gateway_->log().size();
        std::vector<std::unique_ptr<PahoClient>> in;
        for (int i = 0; i < 3; ++i) {
            const std::string id = type + "-" + std::to_string(i);
            in.push_back(std::make_unique<PahoClient>(id));
            in.back()->connect_ok(port, options_for(type, id));
        }
        const auto since = Clock::now();
        RawClient fourth(port);
        ASSERT_TRUE(fourth.wait_closed(1000ms)) << "the connection over max_connections is still open after 1 s";
        EXPECT_LT(seconds_since(since), 0.5);
        EXPECT_TRUE(fourth.pending().empty()) << to_hex(fourth.pending());
        EXPECT_TRUE(gateway_->wait_for_log("max_connections", 2000ms, log_from))
            << "no log line naming max_connections:\n" << gateway_->log().substr(log_from);

        for (int i = 0; i < 3; ++i) {
            in[static_cast<std::size_t>(i)]->publish("limited/" + type + "/" + std::to_string(i), "in", 1);
            EXPECT_EQ(to_string(watcher.message()), "limited/" + type + "/" + std::to_string(i) + " 'in' qos 1");
        }
        // The same transport on the unlimited listener (or the plain one) is not affected.
        PahoClient other("other-" + type);
        other.connect_ok(type == "mqtt" ? gateway_->port() : port_for(type), options_for(type, "other-" + type));
        other.disconnect();

        // A client leaves; within a bounded time its slot serves a new client.
        in.front()->disconnect();
        ASSERT_TRUE(in.front()->next("disconnect", 3000ms));
        bool admitted = false;
        const auto deadline = Clock::now() + 3s;
        while (!admitted && Clock::now() < deadline) {
            RawClient next(port);
            if (!next.wait_closed(300ms)) admitted = true;
        }
        EXPECT_TRUE(admitted) << "the freed slot was not given to a new connection within 3 s";
    }
}

INSTANTIATE_TEST_SUITE_P(Workers, AbuseListenerLimit, testing::ValuesIn(matrix({ProtocolVersion::v5})), workers_name);

// [limits] max_connections counts every listener together.
TEST_P(Abuse, GlobalMaxConnectionsCountsEveryListener) {
    start("[limits]\nmax_connections = 4\n");
    PahoClient tcp("tcp");
    tcp.connect_ok(gateway_->port(), options_for("mqtt", "tcp"));
    ASSERT_EQ(tcp.subscribe("global/#", 1), std::vector<int>{1});
    PahoClient tls("tls");
    tls.connect_ok(mqtts_port(), options_for("mqtts", "tls"));
    PahoClient ws("ws");
    ws.connect_ok(ws_port(), options_for("ws", "ws"));
    PahoClient wss("wss");
    wss.connect_ok(wss_port(), options_for("wss", "wss"));

    for (const std::string type : {"mqtt", "mqtts", "ws", "wss"}) {
        const auto since = Clock::now();
        RawClient over(port_for(type));
        EXPECT_TRUE(over.wait_closed(1000ms)) << type << ": a fifth connection is still open after 1 s";
        EXPECT_LT(seconds_since(since), 0.5) << type;
        EXPECT_TRUE(over.pending().empty()) << type << ": " << to_hex(over.pending());
    }
    EXPECT_TRUE(gateway_->wait_for_log("max_connections", 2000ms)) << gateway_->log();
    tls.publish("global/tls", "1", 1);
    ws.publish("global/ws", "2", 1);
    wss.publish("global/wss", "3", 1);
    const auto got = tcp.messages(3);
    EXPECT_EQ(to_string(got[0]), "global/tls '1' qos 1");
    EXPECT_EQ(to_string(got[1]), "global/ws '2' qos 1");
    EXPECT_EQ(to_string(got[2]), "global/wss '3' qos 1");
}

// A burst of connections over a listener's limit is shed without holding
// up the clients already in: their round trips stay under a second.
TEST_P(Abuse, FloodOverTheLimitDoesNotStarveConnectedClients) {
    start({}, {{.type = "mqtt", .max_connections = 1}});
    const std::uint16_t limited = gateway_->listener_port(3);
    RawClient occupant(limited);  // takes the one slot
    PahoClient sub("sub");
    sub.connect_ok(gateway_->port(), options_for("mqtt", "sub"));
    ASSERT_EQ(sub.subscribe("flood/#", 1), std::vector<int>{1});
    PahoClient pub("pub");
    pub.connect_ok(gateway_->port(), options_for("mqtt", "pub"));

    constexpr int flood_size = 1000;
    std::atomic<bool> flooding{true};
    std::atomic<int> opened{0};
    std::thread flood([&] {
        const auto until = Clock::now() + 8s;
        while (opened < flood_size && Clock::now() < until) {
            // Connect and close at once; bounded even when the backlog is full.
            if (tcp_exchange("127.0.0.1", limited, "", 0, 200ms)) ++opened;
        }
        flooding = false;
    });
    // Round trips for as long as the flood lasts (and at least ten).
    double worst = 0;
    int trips = 0;
    std::string failure;
    try {
        while (flooding || trips < 10) {
            const auto t0 = Clock::now();
            const std::string n = std::to_string(trips++);
            pub.publish("flood/" + n, n, 1);
            const auto m = sub.message(3000ms);
            worst = std::max(worst, seconds_since(t0));
            EXPECT_EQ(to_string(m), "flood/" + n + " '" + n + "' qos 1");
            if (trips > 1000) break;  // bounded whatever happens
        }
    } catch (const std::exception& e) {
        failure = e.what();
    }
    flood.join();
    ASSERT_EQ(failure, "") << "round trip " << trips << " during the flood";
    EXPECT_LT(worst, 1.0) << "a round trip took " << worst << " s during the flood of " << opened << " connections";
    EXPECT_EQ(opened, flood_size) << "the flood did not get through in 8 s";
    EXPECT_TRUE(gateway_->wait_for_log("max_connections", 2000ms));
    EXPECT_FALSE(occupant.wait_closed(0ms)) << "the connection within the limit was closed";
}

// ---- max_packet_size (1 KiB) ----

struct OversizeParam {
    std::string transport;  // "mqtt", "mqtts" or "ws"
    ProtocolVersion version = ProtocolVersion::v5;
    int workers = 1;
};

void PrintTo(const OversizeParam& p, std::ostream* os) {
    *os << p.transport << ", MQTT " << mqtt::to_string(p.version) << ", " << p.workers << " worker(s)";
}

std::string oversize_name(const testing::TestParamInfo<OversizeParam>& info) {
    return info.param.transport + "_" + version_tag(info.param.version) + "_workers" + std::to_string(info.param.workers);
}

class AbuseOversize : public testing::TestWithParam<OversizeParam> {
protected:
    void SetUp() override {
        gateway_ = std::make_unique<GatewayProcess>(GatewayOptions{
            .workers = GetParam().workers,
            .extra_toml = "[limits]\nmax_packet_size = \"1KiB\"\n",
            .listeners = {{.type = "mqtts", .cert = pki_.server().cert, .key = pki_.server().key},
                          {.type = "ws"},
                          {.type = "wss", .cert = pki_.server().cert, .key = pki_.server().key}}});
    }
    void TearDown() override {
        if (gateway_) expect_clean_stop(*gateway_);
    }
    ProtocolVersion version() const { return GetParam().version; }
    bool v5() const { return version() == ProtocolVersion::v5; }

    TestPki pki_;
    std::unique_ptr<GatewayProcess> gateway_;
};

// The fixed header of a QoS 0 PUBLISH announcing 1 MiB, and the first
// bytes of its body: all a client sends of it.
Bytes oversized_publish_start(ProtocolVersion v) {
    Bytes b = hex("30 80 80 40");  // remaining length 1048576
    const Bytes topic = raw::str("big/x");
    b.insert(b.end(), topic.begin(), topic.end());
    if (v == ProtocolVersion::v5) b.push_back(0x00);
    b.insert(b.end(), 16, 'x');
    return b;
}

// Decodes `bytes` as the packets the server sent, in order.
std::vector<RawPacket> packets_in(const Bytes& bytes, ProtocolVersion v) {
    std::vector<RawPacket> out;
    std::size_t at = 0;
    while (at < bytes.size()) {
        const Bytes rest(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end());
        const auto d = mqtt::decode(rest, v);
        if (d.status != mqtt::DecodeStatus::packet) {
            throw std::runtime_error("not a whole packet from the server at byte " + std::to_string(at) + ": " +
                                     to_hex(bytes));
        }
        RawPacket p;
        p.bytes.assign(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(d.size));
        p.packet = mqtt::decode(p.bytes, v).packet;
        out.push_back(std::move(p));
        at += d.size;
    }
    return out;
}

// After a CONNACK, what the server sent in answer to the oversized header:
// v5 DISCONNECT 0x95 Packet too large [MQTT-3.2.2-15 / 4.13]; 3.1.1 nothing, only the close.
void expect_refusal(const std::vector<RawPacket>& packets, ProtocolVersion v, const std::string& all) {
    ASSERT_GE(packets.size(), 1u) << "no CONNACK: " << all;
    ASSERT_EQ(packets[0].type(), PacketType::connack) << all;
    EXPECT_EQ(packets[0].as<mqtt::Connack>().reason_code, ReasonCode::success) << all;
    if (v == ProtocolVersion::v5) {
        EXPECT_EQ(packets[0].as<mqtt::Connack>().properties.maximum_packet_size, std::optional<std::uint32_t>{1024});
        ASSERT_EQ(packets.size(), 2u) << "expected CONNACK and DISCONNECT: " << all;
        ASSERT_EQ(packets[1].type(), PacketType::disconnect) << all;
        EXPECT_EQ(packets[1].as<mqtt::Disconnect>().reason_code, ReasonCode::packet_too_large) << all;
    } else {
        EXPECT_EQ(packets.size(), 1u) << "3.1.1 has no DISCONNECT from the server: " << all;
    }
}

// The header (and a few bytes) of a PUBLISH announcing 1 MiB is refused at
// once: the server does not wait for the rest.
TEST_P(AbuseOversize, HeaderOfOversizedPacketIsRefusedAtOnce) {
    const Bytes connect = raw::connect({.version = version(), .client_id = "big-sender"});
    const Bytes big = oversized_publish_start(version());
    const auto since = Clock::now();
    if (GetParam().transport == "mqtt") {
        RawClient c(gateway_->port());
        ASSERT_TRUE(c.send(connect));
        const auto connack = c.read_packet(version(), 3s);
        ASSERT_TRUE(connack);
        c.send(big);
        ASSERT_TRUE(c.wait_closed(2s)) << "still open 2 s after the oversized header; got " << to_hex(c.pending());
        Bytes all = connack->bytes;
        all.insert(all.end(), c.pending().begin(), c.pending().end());
        expect_refusal(packets_in(all, version()), version(), to_hex(all));
    } else if (GetParam().transport == "mqtts") {
        Bytes request = connect;
        request.insert(request.end(), big.begin(), big.end());
        const auto r = tls_exchange(gateway_->listener_port(0), {.ca_file = pki_.ca_file()}, request, 3000ms);
        ASSERT_TRUE(r.closed) << "still open 3 s after the oversized header; s_client: " << r.log;
        const Bytes all(r.received.begin(), r.received.end());
        expect_refusal(packets_in(all, version()), version(), to_hex(all));
    } else {
        WsClient c(gateway_->listener_port(1));
        c.open();
        ASSERT_TRUE(c.send_mqtt(connect));
        auto connack = c.read_packet(version(), 3s);
        ASSERT_TRUE(connack);
        ASSERT_TRUE(c.send_mqtt(big));
        std::vector<RawPacket> packets;
        packets.push_back(std::move(*connack));
        while (auto p = c.read_packet(version(), 2s)) packets.push_back(std::move(*p));
        // The server may close the WebSocket first [RFC 6455 7.1.2]; a client answers with its own close frame.
        std::string frames;
        for (const auto& f : c.control_frames()) {
            frames += " " + ws::describe(f);
            EXPECT_EQ(f.opcode, ws::close) << ws::describe(f);
            if (f.opcode == ws::close) c.send_raw(ws::close_frame(static_cast<std::uint16_t>(f.close_code())));
        }
        ASSERT_TRUE(c.wait_closed(2s)) << "still open 2 s after the oversized header; control frames:" << frames;
        std::string all;
        for (const auto& p : packets) all += to_hex(p.bytes) + " | ";
        expect_refusal(packets, version(), all);
    }
    EXPECT_LT(seconds_since(since), 1.5) << "the refusal waited for more than the header";
}

std::vector<OversizeParam> oversize_params() {
    std::vector<OversizeParam> out;
    for (const std::string t : {"mqtt", "mqtts", "ws"}) {
        for (const auto v : {ProtocolVersion::v3_1_1, ProtocolVersion::v5}) {
            for (const int w : {1, 2}) out.push_back({t, v, w});
        }
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(Transports, AbuseOversize, testing::ValuesIn(oversize_params()), oversize_name);

// A real client over mqtts and wss publishing 2000 bytes gets DISCONNECT
// 0x95, and a subscriber on the same transport is not affected.
class AbuseOversizePaho : public Abuse {};
INSTANTIATE_TEST_SUITE_P(Workers, AbuseOversizePaho, testing::ValuesIn(matrix({ProtocolVersion::v5})), workers_name);

TEST_P(AbuseOversizePaho, PublishOverMaxPacketSizeOverTlsAndWssGetsDisconnect0x95) {
    start("[limits]\nmax_packet_size = \"1KiB\"\n");
    for (const std::string type : {"mqtts", "wss"}) {
        SCOPED_TRACE(type);
        PahoClient sub("sub-" + type);
        sub.connect_ok(port_for(type), options_for(type, "sub-" + type));
        ASSERT_EQ(sub.subscribe("size/#", 1), std::vector<int>{1});
        PahoClient big("big-" + type);
        big.connect_ok(port_for(type), options_for(type, "big-" + type));
        big.publish("size/ok", std::string(900, 'o'), 1);
        EXPECT_EQ(sub.message().payload, std::string(900, 'o'));
        big.send({{"cmd", "publish"}, {"topic", "size/big"}, {"payload", std::string(2000, 'b')}, {"qos", 1}});
        big.expect_sent("publish");
        const auto d = big.expect("disconnect", 3000ms);
        EXPECT_EQ(code(d), 0x95) << json::serialize(d);
        EXPECT_TRUE(d.at("server_disconnect").as_bool()) << json::serialize(d);
        EXPECT_EQ(sub.count_within("message", 300ms), 0u);
        PahoClient after("after-" + type);
        after.connect_ok(port_for(type), options_for(type, "after-" + type));
        after.publish("size/after", "fine", 1);
        EXPECT_EQ(to_string(sub.message()), "size/after 'fine' qos 1");
    }
}

}  // namespace
}  // namespace fieldgate::test
