// MQTT over WebSocket (ws and wss listeners): paho-mqtt with
// transport="websockets" exchanging messages with a TCP device, in 3.1.1
// and 5, with payloads that need 7-, 16- and 64-bit frame lengths; and the
// exact bytes of the HTTP upgrade and of WebSocket framing with a
// hand-written client: subprotocol negotiation, packets split over frames
// and frames holding several packets, ping/pong, close, the frames MQTT and
// RFC 6455 forbid, and the HTTP errors for what is not an upgrade.

#include <gtest/gtest.h>

#include <cctype>
#include <csignal>
#include <filesystem>
#include <thread>

#include "support/certs.hpp"
#include "support/scenario.hpp"
#include "support/ws_client.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;
using mqtt::ReasonCode;

std::string lowercase(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct WsParam {
    bool secure = false;  // wss
    ProtocolVersion version = ProtocolVersion::v3_1_1;
    int workers = 1;
};

void PrintTo(const WsParam& p, std::ostream* os) {
    *os << (p.secure ? "wss" : "ws") << ", MQTT " << mqtt::to_string(p.version) << ", " << p.workers << " worker(s)";
}

std::string ws_param_name(const testing::TestParamInfo<WsParam>& info) {
    return std::string(info.param.secure ? "wss" : "ws") + "_" + version_tag(info.param.version) + "_workers" +
           std::to_string(info.param.workers);
}

std::vector<WsParam> ws_params() {
    std::vector<WsParam> out;
    for (const bool secure : {false, true}) {
        for (const auto v : {ProtocolVersion::v3_1_1, ProtocolVersion::v5}) {
            for (const int workers : {1, 2}) out.push_back({secure, v, workers});
        }
    }
    return out;
}

class WsPaho : public testing::TestWithParam<WsParam> {
protected:
    void SetUp() override {
        ListenerOptions listener{.type = GetParam().secure ? "wss" : "ws"};
        if (GetParam().secure) {
            listener.cert = pki_.server().cert;
            listener.key = pki_.server().key;
        }
        gateway_ = std::make_unique<GatewayProcess>(
            GatewayOptions{.workers = GetParam().workers, .listeners = {listener}});
    }
    void TearDown() override {
        if (gateway_) expect_clean_stop(*gateway_);
    }

    ConnectOptions ws_options(const std::string& id, const std::string& path = "/mqtt") const {
        ConnectOptions o{.version = GetParam().version, .client_id = id};
        o.transport = "websockets";
        o.ws_path = path;
        if (GetParam().secure) o.tls = TlsOptions{.ca_file = pki_.ca_file()};
        return o;
    }

    TestPki pki_;
    std::unique_ptr<GatewayProcess> gateway_;
};

INSTANTIATE_TEST_SUITE_P(Transports, WsPaho, testing::ValuesIn(ws_params()), ws_param_name);

// Payloads of 5, 1000 and 70000 bytes: frames with 7-, 16- and 64-bit
// lengths, in both directions, at QoS 0, 1 and 2.
TEST_P(WsPaho, ExchangesMessagesWithTcpDeviceInBothDirections) {
    PahoClient hmi("hmi");
    hmi.connect_ok(gateway_->listener_port(0), ws_options("hmi"));
    ASSERT_EQ(hmi.subscribe("plant/data/#", 2), std::vector<int>{2});
    PahoClient device("device");
    device.connect_ok(gateway_->port(), {.version = ProtocolVersion::v3_1_1, .client_id = "device"});
    ASSERT_EQ(device.subscribe("plant/cmd/#", 2), std::vector<int>{2});

    const std::string medium(1000, 'm');
    const std::string large(70000, 'L');
    device.publish("plant/data/small", "21.5C", 0);
    device.publish("plant/data/medium", medium, 1);
    device.publish("plant/data/large", large, 2);
    const auto at_hmi = hmi.messages(3);
    EXPECT_EQ(to_string(at_hmi[0]), "plant/data/small '21.5C' qos 0");
    EXPECT_EQ(at_hmi[1].topic, "plant/data/medium");
    EXPECT_EQ(at_hmi[1].payload, medium);
    EXPECT_EQ(at_hmi[1].qos, 1);
    EXPECT_EQ(at_hmi[2].topic, "plant/data/large");
    EXPECT_EQ(at_hmi[2].payload, large);
    EXPECT_EQ(at_hmi[2].qos, 2);

    hmi.publish("plant/cmd/start", "go", 0);
    hmi.publish("plant/cmd/recipe", medium, 1);
    hmi.publish("plant/cmd/blob", large, 2);
    const auto at_device = device.messages(3);
    EXPECT_EQ(to_string(at_device[0]), "plant/cmd/start 'go' qos 0");
    EXPECT_EQ(at_device[1].topic, "plant/cmd/recipe");
    EXPECT_EQ(at_device[1].payload, medium);
    EXPECT_EQ(at_device[1].qos, 1);
    EXPECT_EQ(at_device[2].topic, "plant/cmd/blob");
    EXPECT_EQ(at_device[2].payload, large);
    EXPECT_EQ(at_device[2].qos, 2);

    hmi.disconnect();
    EXPECT_TRUE(hmi.next("disconnect", 3000ms)) << "no disconnect event after DISCONNECT";
}

// Two WebSocket clients talk to each other through the gateway, and a
// configured path other than /mqtt is the one that works.
TEST_P(WsPaho, ConfiguredPathCarriesMqttBetweenWebSocketClients) {
    ListenerOptions listener{.type = GetParam().secure ? "wss" : "ws", .path = "/plant/line3"};
    if (GetParam().secure) {
        listener.cert = pki_.server().cert;
        listener.key = pki_.server().key;
    }
    GatewayProcess custom(GatewayOptions{.workers = GetParam().workers, .listeners = {listener}});
    PahoClient a("a");
    a.connect_ok(custom.listener_port(0), ws_options("a", "/plant/line3"));
    ASSERT_EQ(a.subscribe("chat/#", 1), std::vector<int>{1});
    PahoClient b("b");
    b.connect_ok(custom.listener_port(0), ws_options("b", "/plant/line3"));
    b.publish("chat/b", "hello a", 1);
    EXPECT_EQ(to_string(a.message()), "chat/b 'hello a' qos 1");
    // The default path is not served by this listener.
    PahoClient lost("lost");
    EXPECT_THROW(lost.connect(custom.listener_port(0), ws_options("lost", "/mqtt")), std::runtime_error);
    expect_clean_stop(custom);
}

// wss is TLS like mqtts: require_client_cert refuses a browser or HMI
// without a certificate from client_ca, and SIGHUP swaps the certificate
// for new handshakes while an open WebSocket keeps going.
TEST_P(WsPaho, SecureListenerVerifiesClientCertificatesAndReloadsOnSighup) {
    if (!GetParam().secure) GTEST_SKIP() << "TLS only";
    TempDir live;
    const CertKey files{live.path() + "/server.crt", live.path() + "/server.key"};
    std::filesystem::copy_file(pki_.server().cert, files.cert);
    std::filesystem::copy_file(pki_.server().key, files.key);
    GatewayProcess strict(GatewayOptions{.workers = GetParam().workers,
                                         .listeners = {{.type = "wss",
                                                        .cert = files.cert,
                                                        .key = files.key,
                                                        .client_ca = pki_.ca_file(),
                                                        .require_client_cert = true}}});
    const std::uint16_t port = strict.listener_port(0);
    ConnectOptions with_cert = ws_options("hmi");
    with_cert.tls->cert_file = pki_.client("hmi").cert;
    with_cert.tls->key_file = pki_.client("hmi").key;
    PahoClient hmi("hmi");
    hmi.connect_ok(port, with_cert);
    ASSERT_EQ(hmi.subscribe("line/#", 1), std::vector<int>{1});

    // Without a certificate, and with one from another CA: no session.
    PahoClient anonymous("anonymous");
    bool anonymous_in = false;
    try {
        anonymous_in = code(anonymous.connect(port, ws_options("anonymous"), 3000ms)) == 0;
    } catch (const std::exception&) {
    }
    EXPECT_FALSE(anonymous_in) << "a wss client without a certificate got a CONNACK";
    ConnectOptions foreign = ws_options("foreign");
    foreign.tls->cert_file = pki_.foreign_client("intruder").cert;
    foreign.tls->key_file = pki_.foreign_client("intruder").key;
    PahoClient intruder("intruder");
    bool intruder_in = false;
    try {
        intruder_in = code(intruder.connect(port, foreign, 3000ms)) == 0;
    } catch (const std::exception&) {
    }
    EXPECT_FALSE(intruder_in) << "a wss client with a certificate from another CA got a CONNACK";

    // Reload: new handshakes see the new certificate; the open WebSocket still delivers.
    std::filesystem::copy_file(pki_.server2().cert, files.cert, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(pki_.server2().key, files.key, std::filesystem::copy_options::overwrite_existing);
    ::kill(strict.pid(), SIGHUP);
    const TlsProbeOptions probe_options{.ca_file = pki_.ca_file(), .client = pki_.client("probe")};
    TlsProbe probe;
    const auto deadline = Clock::now() + 5s;
    do {
        probe = tls_probe(port, probe_options);
        if (probe.peer_subject == TestPki::server2_subject) break;
        std::this_thread::sleep_for(100ms);
    } while (Clock::now() < deadline);
    EXPECT_EQ(probe.peer_subject, TestPki::server2_subject) << probe.output;
    PahoClient device("device");
    device.connect_ok(strict.port(), {.version = ProtocolVersion::v5, .client_id = "device"});
    device.publish("line/after-reload", "ok", 1);
    EXPECT_EQ(to_string(hmi.message()), "line/after-reload 'ok' qos 1");
    EXPECT_FALSE(hmi.next("disconnect", 0ms)) << "the open WebSocket was dropped by the reload";
    expect_clean_stop(strict);
}

// ---- the exact bytes, with the hand-written client (ws listener) ----

class WsRaw : public testing::TestWithParam<BrokerParam> {
protected:
    void start(const std::string& extra_toml = {}, const std::string& host = "127.0.0.1") {
        gateway_ = std::make_unique<GatewayProcess>(GatewayOptions{
            .workers = GetParam().workers, .extra_toml = extra_toml, .listeners = {{.type = "ws", .host = host}}});
    }
    void SetUp() override { start(); }
    void TearDown() override {
        if (gateway_) expect_clean_stop(*gateway_);
    }
    std::uint16_t ws_port() const { return gateway_->listener_port(0); }

    // An upgraded client that has sent CONNECT (MQTT 5 unless told) and read a successful CONNACK.
    std::unique_ptr<WsClient> connected(const std::string& client_id, ProtocolVersion v = ProtocolVersion::v5) {
        auto c = std::make_unique<WsClient>(ws_port());
        c->open();
        c->send_mqtt(raw::connect({.version = v, .client_id = client_id}));
        expect_connack(*c, v);
        return c;
    }

    static void expect_connack(WsClient& c, ProtocolVersion v) {
        const auto connack = c.read_packet(v, 3s);
        ASSERT_TRUE(connack) << "no CONNACK; pending " << to_hex(c.mqtt_pending()) << " / " << to_hex(c.pending());
        ASSERT_EQ(connack->type(), PacketType::connack);
        EXPECT_EQ(connack->as<mqtt::Connack>().reason_code, ReasonCode::success);
    }

    std::unique_ptr<GatewayProcess> gateway_;
};

INSTANTIATE_TEST_SUITE_P(Workers, WsRaw, testing::ValuesIn(matrix({ProtocolVersion::v5})), workers_name);

void expect_switching_protocols(const HttpResponse& r, const WsClient& c, const std::string& protocol) {
    EXPECT_EQ(r.status_line, "HTTP/1.1 101 Switching Protocols");
    EXPECT_EQ(r.header("Sec-WebSocket-Accept"), ws::accept_key(c.key())) << "key " << c.key();
    EXPECT_EQ(r.header("Sec-WebSocket-Protocol"), protocol);
    ASSERT_TRUE(r.header("Upgrade"));
    EXPECT_EQ(lowercase(*r.header("Upgrade")), "websocket");
    ASSERT_TRUE(r.header("Connection"));
    EXPECT_NE(lowercase(*r.header("Connection")).find("upgrade"), std::string::npos) << *r.header("Connection");
}

// [MQTT-6.0.0-3] the subprotocol is "mqtt"; the server echoes it, and MQTT 5 flows.
TEST_P(WsRaw, UpgradeNegotiatesTheMqttSubprotocol) {
    WsClient c(ws_port());
    const auto r = c.upgrade("/mqtt", {"mqtt"});
    ASSERT_TRUE(r) << "no answer to the upgrade; got " << to_hex(c.pending());
    expect_switching_protocols(*r, c, "mqtt");
    c.send_mqtt(raw::connect({.version = ProtocolVersion::v5, .client_id = "sub-mqtt"}));
    expect_connack(c, ProtocolVersion::v5);
}

// Old MQTT 3.1 clients offer "mqttv3.1": echoed as offered, and 3.1 flows.
TEST_P(WsRaw, UpgradeEchoesMqttv31ForOldClients) {
    WsClient c(ws_port());
    const auto r = c.upgrade("/mqtt", {"mqttv3.1"});
    ASSERT_TRUE(r) << "no answer to the upgrade; got " << to_hex(c.pending());
    expect_switching_protocols(*r, c, "mqttv3.1");
    c.send_mqtt(raw::connect({.version = ProtocolVersion::v3_1, .client_id = "old-client"}));
    expect_connack(c, ProtocolVersion::v3_1);
}

// From a list, the server picks an MQTT subprotocol; a client offering
// none that it speaks is refused.
TEST_P(WsRaw, UpgradePicksMqttFromAListAndRefusesOnlyOtherSubprotocols) {
    WsClient listed(ws_port());
    const auto r = listed.upgrade("/mqtt", {"chat", "mqtt"});
    ASSERT_TRUE(r);
    expect_switching_protocols(*r, listed, "mqtt");

    WsClient other(ws_port());
    const auto refused = other.upgrade("/mqtt", {"chat", "soap"});
    ASSERT_TRUE(refused) << "no answer; got " << to_hex(other.pending());
    EXPECT_EQ(refused->status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_TRUE(other.wait_closed(2s)) << "still open after the refusal";
}

// A query string after the path is ignored.
TEST_P(WsRaw, UpgradeWithQueryStringOnThePathIsAccepted) {
    WsClient c(ws_port());
    const auto r = c.upgrade("/mqtt?client=hmi-7", {"mqtt"});
    ASSERT_TRUE(r);
    expect_switching_protocols(*r, c, "mqtt");
}

// [MQTT-6.0.0-2] a packet may span frames: one CONNECT in three binary
// messages, sent apart.
TEST_P(WsRaw, ConnectSplitOverThreeBinaryFramesIsOnePacket) {
    WsClient c(ws_port());
    c.open();
    const Bytes connect = raw::connect({.version = ProtocolVersion::v5, .client_id = "split-over-frames"});
    const auto third = static_cast<std::ptrdiff_t>(connect.size() / 3);
    ASSERT_TRUE(c.send_frame(ws::binary, Bytes(connect.begin(), connect.begin() + 1)));  // the first byte alone
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(c.send_frame(ws::binary, Bytes(connect.begin() + 1, connect.begin() + third)));
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(c.send_frame(ws::binary, Bytes(connect.begin() + third, connect.end())));
    expect_connack(c, ProtocolVersion::v5);
}

// The same as one fragmented message (binary, continuation, continuation)
// [RFC 6455 5.4], with a ping between fragments, which is answered at once
// [RFC 6455 5.4: control frames may be injected in the middle of a fragmented message].
TEST_P(WsRaw, ConnectInFragmentedMessageWithPingBetweenFragments) {
    WsClient c(ws_port());
    c.open();
    const Bytes connect = raw::connect({.version = ProtocolVersion::v5, .client_id = "fragmented"});
    ASSERT_TRUE(c.send_frame(ws::binary, Bytes(connect.begin(), connect.begin() + 4), false));
    ASSERT_TRUE(c.send_frame(ws::continuation, Bytes(connect.begin() + 4, connect.begin() + 9), false));
    ASSERT_TRUE(c.send_frame(ws::ping, Bytes{'m', 'i', 'd'}));
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(c.send_frame(ws::continuation, Bytes(connect.begin() + 9, connect.end()), true));
    expect_connack(c, ProtocolVersion::v5);
    ASSERT_EQ(c.control_frames().size(), 1u) << "expected the pong before the CONNACK";
    EXPECT_EQ(c.control_frames().front().opcode, ws::pong) << ws::describe(c.control_frames().front());
    EXPECT_EQ(c.control_frames().front().payload, (Bytes{'m', 'i', 'd'}));
}

// [MQTT-6.0.0-2] a frame may hold several packets: CONNECT, SUBSCRIBE and
// PINGREQ in one frame get CONNACK, SUBACK and PINGRESP, in that order.
TEST_P(WsRaw, ConnectSubscribeAndPingreqInOneFrameAreAllAnswered) {
    WsClient c(ws_port());
    c.open();
    Bytes all = raw::connect({.version = ProtocolVersion::v3_1_1, .client_id = "three-in-one"});
    const Bytes subscribe = raw::subscribe(ProtocolVersion::v3_1_1, 7, "line3/#", 1);
    const Bytes ping = raw::pingreq();
    all.insert(all.end(), subscribe.begin(), subscribe.end());
    all.insert(all.end(), ping.begin(), ping.end());
    ASSERT_TRUE(c.send_mqtt(all));
    expect_connack(c, ProtocolVersion::v3_1_1);
    const auto suback = c.read_packet(ProtocolVersion::v3_1_1, 3s);
    ASSERT_TRUE(suback) << to_hex(c.mqtt_pending());
    ASSERT_EQ(suback->type(), PacketType::suback);
    EXPECT_EQ(suback->as<mqtt::Suback>().packet_id, 7);
    EXPECT_EQ(suback->as<mqtt::Suback>().reason_codes, std::vector<ReasonCode>{ReasonCode::granted_qos_1});
    const auto pong = c.read_packet(ProtocolVersion::v3_1_1, 3s);
    ASSERT_TRUE(pong) << to_hex(c.mqtt_pending());
    EXPECT_EQ(pong->type(), PacketType::pingresp);

    // And the subscription is live: a TCP device's message arrives in a binary frame.
    PahoClient device("device");
    device.connect_ok(gateway_->port(), {.version = ProtocolVersion::v5, .client_id = "device"});
    device.publish("line3/temp", "22.0", 0);
    const auto publish = c.read_packet(ProtocolVersion::v3_1_1, 3s);
    ASSERT_TRUE(publish) << to_hex(c.mqtt_pending());
    ASSERT_EQ(publish->type(), PacketType::publish);
    EXPECT_EQ(publish->as<mqtt::Publish>().topic, "line3/temp");
    EXPECT_EQ(std::string(publish->as<mqtt::Publish>().payload.begin(), publish->as<mqtt::Publish>().payload.end()),
              "22.0");
}

// [RFC 6455 5.5.2, 5.5.3] a ping is answered with a pong carrying the same
// application data; the server's frames are never masked [RFC 6455 5.1].
TEST_P(WsRaw, PingIsAnsweredWithPongCarryingTheSameData) {
    auto c = connected("pinger");
    const Bytes data{'p', 'l', 'a', 'n', 't', 0x00, 0xff};
    ASSERT_TRUE(c->send_frame(ws::ping, data));
    const auto pong = c->read_frame(3s);
    ASSERT_TRUE(pong) << "no pong; pending " << to_hex(c->pending());
    EXPECT_EQ(pong->opcode, ws::pong) << ws::describe(*pong);
    EXPECT_TRUE(pong->fin);
    EXPECT_FALSE(pong->masked);
    EXPECT_EQ(pong->payload, data);
    // An empty ping too.
    ASSERT_TRUE(c->send_frame(ws::ping, {}));
    const auto empty = c->read_frame(3s);
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->opcode, ws::pong) << ws::describe(*empty);
    EXPECT_TRUE(empty->payload.empty()) << ws::describe(*empty);
    // MQTT still flows.
    ASSERT_TRUE(c->send_mqtt(raw::pingreq()));
    const auto pingresp = c->read_packet(ProtocolVersion::v5, 3s);
    ASSERT_TRUE(pingresp);
    EXPECT_EQ(pingresp->type(), PacketType::pingresp);
}

// [RFC 6455 5.5.1] a close frame is answered with a close frame (echoing
// the status code) and the TCP connection ends; without an MQTT
// DISCONNECT, that is an abnormal end: the will is published.
TEST_P(WsRaw, CloseIsAnsweredWithCloseAndTheWillIsPublished) {
    PahoClient watcher("watcher");
    watcher.connect_ok(gateway_->port(), {.version = ProtocolVersion::v5, .client_id = "watcher"});
    ASSERT_EQ(watcher.subscribe("wills/#", 1), std::vector<int>{1});

    WsClient c(ws_port());
    c.open();
    c.send_mqtt(raw::connect({.version = ProtocolVersion::v5,
                              .client_id = "closer",
                              .will = raw::Will{.topic = "wills/closer", .payload = "gone", .qos = 1}}));
    expect_connack(c, ProtocolVersion::v5);
    ASSERT_TRUE(c.send_raw(ws::close_frame(1000)));
    const auto reply = c.read_frame(3s);
    ASSERT_TRUE(reply) << "no close frame in reply; pending " << to_hex(c.pending());
    EXPECT_EQ(reply->opcode, ws::close) << ws::describe(*reply);
    EXPECT_FALSE(reply->masked);
    EXPECT_EQ(reply->close_code(), 1000) << ws::describe(*reply);
    EXPECT_TRUE(c.wait_closed(3s)) << "the TCP connection is still open after the close handshake";
    EXPECT_TRUE(c.pending().empty()) << "bytes after the close frame: " << to_hex(c.pending());
    // The client keeps its end open: after the close handshake the
    // WebSocket connection is closed for both sides [RFC 6455 5.5.1, 7.1.1],
    // whatever the client does with its socket.
    const auto will = watcher.next("message", 3000ms);
    ASSERT_TRUE(will) << "no will within 3 s of the close handshake (the client has not closed its socket)";
    EXPECT_EQ(to_string(to_message(*will)), "wills/closer 'gone' qos 1");
}

// [MQTT-6.0.0-1] MQTT travels in binary frames; a text frame closes the
// network connection (here valid UTF-8 text, so that only its type is wrong).
TEST_P(WsRaw, TextFrameClosesTheConnection) {
    auto c = connected("texter");
    ASSERT_TRUE(c->send_frame(ws::text, Bytes{'p', 'i', 'n', 'g'}));
    EXPECT_TRUE(c->wait_closed(3s)) << "still open 3 s after a text frame";
    // At most a close frame came before the end (1003: a data type it
    // cannot accept [RFC 6455 7.4.1]), and no MQTT packet.
    while (auto f = c->read_frame(0ms)) {
        EXPECT_EQ(f->opcode, ws::close) << "after a text frame: " << ws::describe(*f);
        if (f->opcode == ws::close) {
            EXPECT_EQ(f->close_code(), 1003) << ws::describe(*f);
        }
    }
    EXPECT_TRUE(c->pending().empty()) << to_hex(c->pending());
    // Others are not affected.
    auto other = connected("other");
    ASSERT_TRUE(other->send_mqtt(raw::pingreq()));
    const auto pong = other->read_packet(ProtocolVersion::v5, 3s);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->type(), PacketType::pingresp);
}

// [RFC 6455 5.1] a server closes the connection on a frame from the client
// that is not masked.
TEST_P(WsRaw, UnmaskedClientFrameClosesTheConnection) {
    auto c = connected("unmasked");
    ASSERT_TRUE(c->send_frame(ws::binary, raw::pingreq(), true, false));
    EXPECT_TRUE(c->wait_closed(3s)) << "still open 3 s after an unmasked frame";
    while (auto f = c->read_frame(0ms)) {
        EXPECT_EQ(f->opcode, ws::close) << "after an unmasked frame: " << ws::describe(*f);
    }
}

// HTTP answers to what is not an upgrade on the path, each with the exact
// status line, and the connection closed afterwards.
TEST_P(WsRaw, UpgradeOnAnotherPathGets404) {
    WsClient c(ws_port());
    const auto r = c.upgrade("/other", {"mqtt"});
    ASSERT_TRUE(r) << "no answer; got " << to_hex(c.pending());
    EXPECT_EQ(r->status_line, "HTTP/1.1 404 Not Found");
    EXPECT_TRUE(c.wait_closed(2s));
}

TEST_P(WsRaw, PlainGetOnThePathGets426) {
    WsClient c(ws_port());
    ASSERT_TRUE(c.send_raw("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n"));
    const auto r = c.read_response(3s);
    ASSERT_TRUE(r) << "no answer; got " << to_hex(c.pending());
    EXPECT_EQ(r->status_line, "HTTP/1.1 426 Upgrade Required");
    // [RFC 9110 15.5.22] a 426 names the protocol to upgrade to.
    ASSERT_TRUE(r->header("Upgrade")) << "426 without an Upgrade header";
    EXPECT_EQ(lowercase(*r->header("Upgrade")), "websocket");
    EXPECT_TRUE(c.wait_closed(2s));
}

TEST_P(WsRaw, MalformedRequestGets400) {
    WsClient garbage(ws_port());
    ASSERT_TRUE(garbage.send_raw("THIS IS NOT HTTP\r\n\r\n"));
    const auto r = garbage.read_response(3s);
    ASSERT_TRUE(r) << "no answer; got " << to_hex(garbage.pending());
    EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_TRUE(garbage.wait_closed(2s));

    // An upgrade without Sec-WebSocket-Key [RFC 6455 4.2.1].
    WsClient keyless(ws_port());
    ASSERT_TRUE(keyless.send_raw("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Protocol: mqtt\r\n\r\n"));
    const auto k = keyless.read_response(3s);
    ASSERT_TRUE(k) << "no answer; got " << to_hex(keyless.pending());
    EXPECT_EQ(k->status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_TRUE(keyless.wait_closed(2s));
}

TEST_P(WsRaw, RequestHeaderOver8KiBGets431) {
    WsClient c(ws_port());
    const std::string big = "X-Padding: " + std::string(9000, 'p') + "\r\n";
    ASSERT_TRUE(c.send_raw(ws::upgrade_request("/mqtt", "127.0.0.1", c.key(), {"mqtt"}, big)));
    const auto r = c.read_response(3s);
    ASSERT_TRUE(r) << "no answer; got " << c.pending().size() << " bytes";
    EXPECT_EQ(r->status_line, "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_TRUE(c.wait_closed(2s));
}

// A ws listener on the IPv6 loopback.
TEST_P(WsRaw, ListensOnIpv6Loopback) {
    gateway_->stop();
    start({}, "::1");
    WsClient c(ws_port(), "::1");
    const auto r = c.upgrade("/mqtt", {"mqtt"});
    ASSERT_TRUE(r);
    expect_switching_protocols(*r, c, "mqtt");
    c.send_mqtt(raw::connect({.version = ProtocolVersion::v5, .client_id = "six"}));
    expect_connack(c, ProtocolVersion::v5);
}

}  // namespace
}  // namespace fieldgate::test
