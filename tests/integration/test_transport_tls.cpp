// MQTT over TLS (mqtts listeners): Debian's mosquitto_pub/mosquitto_sub and
// paho with a CA made by the test; client certificates verified against
// client_ca, required or not; the TLS versions let in (1.2, 1.3) and kept
// out (1.0, 1.1); a certificate chain in the cert file; the certificate
// reloaded on SIGHUP while connections stay up; and the certificate's CN as
// the identity for the ACL.
//
// Each test runs against fieldgate (1 and 2 workers) and, as the reference
// that keeps the tests honest, against Debian's mosquitto with the same
// certificates; where mosquitto differs by design the test says so and
// skips it.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include "support/certs.hpp"
#include "support/mosquitto.hpp"
#include "support/scenario.hpp"

namespace fieldgate::test {
namespace {

enum class Server { fieldgate, mosquitto };

struct TlsParam {
    Server server = Server::fieldgate;
    int workers = 1;
};

void PrintTo(const TlsParam& p, std::ostream* os) {
    *os << (p.server == Server::fieldgate ? "fieldgate, " + std::to_string(p.workers) + " worker(s)" : "mosquitto");
}

std::string tls_param_name(const testing::TestParamInfo<TlsParam>& info) {
    return info.param.server == Server::fieldgate ? "fieldgate_workers" + std::to_string(info.param.workers)
                                                  : "mosquitto";
}

struct TlsListener {
    CertKey server;
    std::string client_ca;
    bool require_client_cert = false;
    bool cert_cn_as_username = false;
};

// The broker under test: plain MQTT on port(), and the TLS listeners asked for.
class Broker {
public:
    virtual ~Broker() = default;
    virtual std::uint16_t port() const = 0;
    virtual std::uint16_t tls_port(std::size_t index = 0) const = 0;
    // SIGHUP: re-read the certificate files.
    virtual void reload() = 0;
    virtual bool running() = 0;
    virtual std::string log() const = 0;
    // At the end of a test: still up, and stops cleanly.
    virtual void expect_clean_stop() = 0;
};

class Fieldgate final : public Broker {
public:
    Fieldgate(int workers, const std::vector<TlsListener>& listeners, const std::string& acl_file) {
        GatewayOptions options{.workers = workers};
        for (const auto& l : listeners) {
            ListenerOptions o{.type = "mqtts", .cert = l.server.cert, .key = l.server.key, .client_ca = l.client_ca};
            if (l.require_client_cert) o.require_client_cert = true;
            if (l.cert_cn_as_username) o.use_cert_cn_as_username = true;
            options.listeners.push_back(o);
        }
        if (!acl_file.empty()) options.extra_toml = "[auth]\nacl_file = \"" + acl_file + "\"\n";
        // Started means SIGHUP is caught: the signal set exists before "running with".
        gateway_ = std::make_unique<GatewayProcess>(options);
    }
    std::uint16_t port() const override { return gateway_->port(); }
    std::uint16_t tls_port(std::size_t index) const override { return gateway_->listener_port(index); }
    void reload() override { ::kill(gateway_->pid(), SIGHUP); }
    bool running() override { return gateway_->running(); }
    std::string log() const override { return gateway_->log(); }
    void expect_clean_stop() override { test::expect_clean_stop(*gateway_); }

private:
    std::unique_ptr<GatewayProcess> gateway_;
};

class Mosquitto final : public Broker {
public:
    Mosquitto(const std::vector<TlsListener>& listeners, const std::string& acl_file) {
        tls_ports_ = free_tcp_ports(listeners.size());
        MosquittoOptions options{.acl_file = acl_file};
        for (std::size_t i = 0; i < listeners.size(); ++i) {
            const auto& l = listeners[i];
            options.extra_config += "listener " + std::to_string(tls_ports_[i]) + " 127.0.0.1\n";
            options.extra_config += "certfile " + l.server.cert + "\nkeyfile " + l.server.key + "\n";
            if (!l.client_ca.empty()) options.extra_config += "cafile " + l.client_ca + "\n";
            if (l.require_client_cert) options.extra_config += "require_certificate true\n";
            if (l.cert_cn_as_username) options.extra_config += "use_identity_as_username true\n";
        }
        mosquitto_ = std::make_unique<MosquittoProcess>(options);
    }
    std::uint16_t port() const override { return mosquitto_->port(); }
    std::uint16_t tls_port(std::size_t index) const override { return tls_ports_.at(index); }
    void reload() override { ::kill(mosquitto_->pid(), SIGHUP); }
    bool running() override { return mosquitto_->running(); }
    std::string log() const override { return mosquitto_->log(); }
    void expect_clean_stop() override {
        ASSERT_TRUE(running()) << "mosquitto died during the test:\n" << log();
        const auto status = mosquitto_->stop();
        EXPECT_EQ(status, (ExitStatus{true, 0, 0})) << to_string(status);
    }

private:
    std::vector<std::uint16_t> tls_ports_;
    std::unique_ptr<MosquittoProcess> mosquitto_;
};

const std::string mosquitto_pub_bin = "/usr/bin/mosquitto_pub";
const std::string mosquitto_sub_bin = "/usr/bin/mosquitto_sub";

struct MosqTls {
    std::string ca_file;
    std::optional<CertKey> client;
    std::string tls_version;  // "", "tlsv1.2", "tlsv1.3"
};

std::vector<std::string> mosq_tls_args(const MosqTls& tls) {
    std::vector<std::string> args{"--cafile", tls.ca_file};
    if (tls.client) {
        args.insert(args.end(), {"--cert", tls.client->cert, "--key", tls.client->key});
    }
    if (!tls.tls_version.empty()) args.insert(args.end(), {"--tls-version", tls.tls_version});
    return args;
}

// mosquitto_pub over TLS, QoS 1 (so that success means the broker took it).
RunResult mosquitto_pub(std::uint16_t port, const MosqTls& tls, const std::string& client_id, const std::string& topic,
                        const std::string& payload, const std::string& version = "mqttv311") {
    std::vector<std::string> argv{mosquitto_pub_bin, "-h", "127.0.0.1", "-p", std::to_string(port), "-V", version,
                                  "-i", client_id, "-q", "1", "-t", topic, "-m", payload};
    const auto tls_args = mosq_tls_args(tls);
    argv.insert(argv.end(), tls_args.begin(), tls_args.end());
    return run(argv, {}, Millis{10000});
}

// mosquitto_sub over TLS waiting for `count` messages (at most 10 s), printing
// "topic|payload" lines; its stdout goes to its stderr so that the test can
// wait for its SUBACK there.
std::unique_ptr<Process> mosquitto_sub(std::uint16_t port, const MosqTls& tls, const std::string& client_id,
                                       const std::string& filter, int count, const std::string& version = "mqttv5") {
    std::string command = "exec /usr/bin/stdbuf -oL " + mosquitto_sub_bin + " -h 127.0.0.1 -p " + std::to_string(port) +
                          " -V " + version + " -i " + client_id + " -q 1 -t '" + filter + "' -C " +
                          std::to_string(count) + " -W 10 -d -F 'MSG %t|%p'";
    for (const auto& a : mosq_tls_args(tls)) command += " '" + a + "'";
    return std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", command + " 1>&2"});
}

std::vector<std::string> message_lines(const std::string& output) {
    std::vector<std::string> lines;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("MSG ")) lines.push_back(line.substr(4));
    }
    return lines;
}

ConnectOptions tcp_client(const std::string& id, ProtocolVersion v = ProtocolVersion::v5) {
    return {.version = v, .client_id = id};
}

ConnectOptions tls_client(const std::string& id, const std::string& ca_file, ProtocolVersion v = ProtocolVersion::v5,
                          const CertKey* client = nullptr) {
    ConnectOptions o{.version = v, .client_id = id};
    o.tls = TlsOptions{.ca_file = ca_file};
    if (client != nullptr) {
        o.tls->cert_file = client->cert;
        o.tls->key_file = client->key;
    }
    return o;
}

class Tls : public testing::TestWithParam<TlsParam> {
protected:
    void start(std::vector<TlsListener> listeners, const std::string& acl_file = {}) {
        if (GetParam().server == Server::fieldgate) {
            broker_ = std::make_unique<Fieldgate>(GetParam().workers, listeners, acl_file);
        } else {
            broker_ = std::make_unique<Mosquitto>(listeners, acl_file);
        }
    }
    void TearDown() override {
        if (broker_) broker_->expect_clean_stop();
    }
    bool mosquitto() const { return GetParam().server == Server::mosquitto; }

    // A TCP subscriber (MQTT 5) to `filter`, QoS 1.
    std::unique_ptr<PahoClient> watcher(const std::string& filter, const std::string& id = "watcher") {
        auto client = std::make_unique<PahoClient>(id);
        client->connect_ok(broker_->port(), tcp_client(id));
        if (client->subscribe(filter, 1) != std::vector<int>{1}) throw std::runtime_error("watcher not subscribed");
        return client;
    }

    TestPki pki_;
    std::unique_ptr<Broker> broker_;
};

INSTANTIATE_TEST_SUITE_P(Servers, Tls,
                         testing::Values(TlsParam{Server::fieldgate, 1}, TlsParam{Server::fieldgate, 2},
                                         TlsParam{Server::mosquitto, 0}),
                         tls_param_name);

// mosquitto_sub and mosquitto_pub over mqtts, trusting only the test's CA,
// exchange messages with each other and with a plain TCP client.
TEST_P(Tls, MosquittoPubAndSubRoundTripOverTls) {
    start({{.server = pki_.server()}});
    const MosqTls tls{.ca_file = pki_.ca_file()};
    auto tcp = watcher("tls/#", "tcp-sub");
    auto sub = mosquitto_sub(broker_->tls_port(), tls, "tls-sub", "tls/#", 2);
    ASSERT_TRUE(sub->wait_for_stderr("received SUBACK", Millis{5000})) << sub->err();

    const auto pub = mosquitto_pub(broker_->tls_port(), tls, "tls-pub", "tls/a", "over tls");
    ASSERT_EQ(pub.exit_code(), 0) << pub.out << pub.err;
    PahoClient device("device");
    device.connect_ok(broker_->port(), tcp_client("device", ProtocolVersion::v3_1_1));
    device.publish("tls/b", "from tcp", 1);

    const auto status = sub->wait(Millis{10000});
    ASSERT_TRUE(status) << "mosquitto_sub did not get 2 messages:\n" << sub->err();
    EXPECT_EQ(*status, (ExitStatus{true, 0, 0})) << sub->err();
    EXPECT_EQ(message_lines(sub->err()), (std::vector<std::string>{"tls/a|over tls", "tls/b|from tcp"})) << sub->err();
    const auto got = tcp->messages(2);
    EXPECT_EQ(to_string(got[0]), "tls/a 'over tls' qos 1");
    EXPECT_EQ(to_string(got[1]), "tls/b 'from tcp' qos 1");
}

// client_ca set, a certificate not required: a client presenting a
// certificate from that CA is let in, and so is one presenting none.
TEST_P(Tls, ClientCertificateFromClientCaIsAccepted) {
    start({{.server = pki_.server(), .client_ca = pki_.ca_file()}});
    auto tcp = watcher("cert/#");
    const auto with = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file(), .client = pki_.client("device-1")},
                                    "with-cert", "cert/with", "signed");
    EXPECT_EQ(with.exit_code(), 0) << with.out << with.err;
    const auto without = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file()}, "no-cert", "cert/without",
                                       "anonymous");
    EXPECT_EQ(without.exit_code(), 0) << without.out << without.err;
    const auto got = tcp->messages(2);
    EXPECT_EQ(to_string(got[0]), "cert/with 'signed' qos 1");
    EXPECT_EQ(to_string(got[1]), "cert/without 'anonymous' qos 1");
}

// require_client_cert: a client without a certificate, and one with a
// certificate from another CA, fail the handshake and deliver nothing; one
// with a certificate from client_ca gets through.
TEST_P(Tls, RequireClientCertRefusesClientsWithoutOneOrFromAnotherCa) {
    start({{.server = pki_.server(), .client_ca = pki_.ca_file(), .require_client_cert = true}});
    auto tcp = watcher("req/#");
    const auto none = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file()}, "no-cert", "req/none", "x");
    EXPECT_NE(none.exit_code(), 0) << "published without a client certificate:\n" << none.out << none.err;
    const auto foreign = mosquitto_pub(broker_->tls_port(),
                                       {.ca_file = pki_.ca_file(), .client = pki_.foreign_client("intruder")},
                                       "foreign", "req/foreign", "x");
    EXPECT_NE(foreign.exit_code(), 0) << "published with a certificate from another CA:\n"
                                      << foreign.out << foreign.err;
    // The same refusals at the TLS level, whatever the client library makes of them.
    EXPECT_FALSE(tls_exchange(broker_->tls_port(), {.ca_file = pki_.ca_file()},
                              raw::connect({.client_id = "raw-no-cert"}), Millis{5000})
                     .received.starts_with("\x20\x02"))
        << "CONNACK over a TLS connection without a client certificate";
    EXPECT_FALSE(tls_exchange(broker_->tls_port(), {.ca_file = pki_.ca_file(), .client = pki_.foreign_client("intruder")},
                              raw::connect({.client_id = "raw-foreign"}), Millis{5000})
                     .received.starts_with("\x20\x02"))
        << "CONNACK over a TLS connection with a certificate from another CA";

    const auto good = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file(), .client = pki_.client("device-1")},
                                    "good", "req/good", "let in");
    EXPECT_EQ(good.exit_code(), 0) << good.out << good.err;
    // The first message the watcher sees is the good one: the refused ones never arrived.
    EXPECT_EQ(to_string(tcp->message()), "req/good 'let in' qos 1");
    EXPECT_EQ(tcp->count_within("message", Millis{300}), 0u);
}

// client_ca without require_client_cert still verifies a certificate that
// is presented: one from another CA is refused.
TEST_P(Tls, ClientCaRefusesOptionalCertificateFromAnotherCa) {
    if (mosquitto()) GTEST_SKIP() << "mosquitto verifies client certificates only with require_certificate";
    start({{.server = pki_.server(), .client_ca = pki_.ca_file()}});
    auto tcp = watcher("opt/#");
    const auto foreign = mosquitto_pub(broker_->tls_port(),
                                       {.ca_file = pki_.ca_file(), .client = pki_.foreign_client("intruder")},
                                       "foreign", "opt/foreign", "x");
    EXPECT_NE(foreign.exit_code(), 0) << foreign.out << foreign.err;
    const auto without = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file()}, "no-cert", "opt/none", "ok");
    EXPECT_EQ(without.exit_code(), 0) << without.out << without.err;
    EXPECT_EQ(to_string(tcp->message()), "opt/none 'ok' qos 1");
}

// TLS 1.2 and 1.3 both carry MQTT (and are what gets negotiated when the
// client insists on one); TLS 1.0 and 1.1 are refused even to a client that
// offers them with legacy ciphers enabled.
TEST_P(Tls, Tls12And13AreAcceptedAndOlderVersionsRefused) {
    start({{.server = pki_.server()}});
    auto tcp = watcher("ver/#");
    for (const std::string version : {"tlsv1.2", "tlsv1.3"}) {
        const auto pub = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file(), .tls_version = version},
                                       "pub-" + version, "ver/" + version, "with " + version);
        EXPECT_EQ(pub.exit_code(), 0) << version << ":\n" << pub.out << pub.err;
        EXPECT_EQ(to_string(tcp->message()), "ver/" + version + " 'with " + version + "' qos 1");
    }
    const auto v12 = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file(), .version = "tls1_2"});
    EXPECT_TRUE(v12.established) << v12.output;
    EXPECT_EQ(v12.protocol, "TLSv1.2") << v12.output;
    const auto v13 = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file(), .version = "tls1_3"});
    EXPECT_TRUE(v13.established) << v13.output;
    EXPECT_EQ(v13.protocol, "TLSv1.3") << v13.output;
    const auto any = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file()});
    EXPECT_EQ(any.protocol, "TLSv1.3") << "the newest version wins when the client allows all:\n" << any.output;
    EXPECT_EQ(any.peer_subject, TestPki::server_subject) << any.output;

    for (const std::string old : {"tls1_1", "tls1"}) {
        const auto probe = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file(), .version = old, .legacy = true});
        EXPECT_FALSE(probe.established) << old << " was accepted:\n" << probe.output;
        EXPECT_EQ(probe.output.find("CONNECTION ESTABLISHED"), std::string::npos) << probe.output;
    }
    // Still serving after the refusals.
    const auto after = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file()}, "after", "ver/after", "fine");
    EXPECT_EQ(after.exit_code(), 0) << after.out << after.err;
    EXPECT_EQ(to_string(tcp->message()), "ver/after 'fine' qos 1");
}

// A cert file holding the certificate and then its intermediate CA: a
// client trusting only the root verifies the whole chain.
TEST_P(Tls, ChainInCertFileReachesClientsThatTrustOnlyTheRoot) {
    start({{.server = pki_.chained_server()}});
    const auto probe = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file()});
    EXPECT_TRUE(probe.established) << probe.output;
    auto tcp = watcher("chain/#");
    const auto pub = mosquitto_pub(broker_->tls_port(), {.ca_file = pki_.ca_file()}, "chain-pub", "chain/x", "verified");
    EXPECT_EQ(pub.exit_code(), 0) << pub.out << pub.err;
    EXPECT_EQ(to_string(tcp->message()), "chain/x 'verified' qos 1");
}

// paho (MQTT 5) over mqtts and a TCP device (3.1.1), both directions, with
// QoS 1 and 2, and a payload larger than one TLS record (16 KiB).
TEST_P(Tls, PahoOverMqttsV5ExchangesMessagesWithTcpDevice) {
    start({{.server = pki_.server()}});
    PahoClient secure("secure");
    secure.connect_ok(broker_->tls_port(), tls_client("secure", pki_.ca_file()));
    ASSERT_EQ(secure.subscribe("plant/cmd/#", 2), std::vector<int>{2});
    PahoClient device("device");
    device.connect_ok(broker_->port(), tcp_client("device", ProtocolVersion::v3_1_1));
    ASSERT_EQ(device.subscribe("plant/data/#", 2), std::vector<int>{2});

    const std::string big(40000, 'b');
    device.publish("plant/cmd/start", "go", 1);
    device.publish("plant/cmd/big", big, 2);
    secure.publish("plant/data/t", "21.5", 2);
    secure.publish("plant/data/big", big, 1);

    const auto at_secure = secure.messages(2);
    EXPECT_EQ(to_string(at_secure[0]), "plant/cmd/start 'go' qos 1");
    EXPECT_EQ(at_secure[1].topic, "plant/cmd/big");
    EXPECT_EQ(at_secure[1].payload, big);
    EXPECT_EQ(at_secure[1].qos, 2);
    const auto at_device = device.messages(2);
    EXPECT_EQ(to_string(at_device[0]), "plant/data/t '21.5' qos 2");
    EXPECT_EQ(at_device[1].topic, "plant/data/big");
    EXPECT_EQ(at_device[1].payload, big);
    EXPECT_EQ(at_device[1].qos, 1);
    secure.disconnect();
    EXPECT_TRUE(secure.next("disconnect", Millis{3000})) << "no disconnect event after DISCONNECT";
}

// The server certificate covers ::1 too (IP SAN), and a listener there works.
TEST_P(Tls, PahoOverMqttsToIpv6Loopback) {
    if (mosquitto()) GTEST_SKIP() << "the reference setup binds 127.0.0.1 only";
    auto gateway = std::make_unique<GatewayProcess>(GatewayOptions{
        .workers = GetParam().workers,
        .listeners = {{.type = "mqtts", .host = "::1", .cert = pki_.server().cert, .key = pki_.server().key}}});
    PahoClient secure("secure6");
    ConnectOptions o = tls_client("secure6", pki_.ca_file());
    o.host = "::1";
    secure.connect_ok(gateway->listener_port(0), o);
    ASSERT_EQ(secure.subscribe("six/#", 1), std::vector<int>{1});
    PahoClient device("device");
    device.connect_ok(gateway->port(), tcp_client("device"));
    device.publish("six/x", "over ::1", 1);
    EXPECT_EQ(to_string(secure.message()), "six/x 'over ::1' qos 1");
    expect_clean_stop(*gateway);
}

// SIGHUP re-reads cert and key: a subscriber connected before keeps its
// connection and receives what is published after; new handshakes present
// the new certificate.
TEST_P(Tls, SighupReloadsCertificateWithoutDroppingConnections) {
    TempDir live;
    const CertKey files{live.path() + "/server.crt", live.path() + "/server.key"};
    const auto install = [&](const CertKey& from) {
        std::filesystem::copy_file(from.cert, files.cert, std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(from.key, files.key, std::filesystem::copy_options::overwrite_existing);
    };
    install(pki_.server());
    start({{.server = files}});
    const auto before = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file()});
    ASSERT_EQ(before.peer_subject, TestPki::server_subject) << before.output;

    PahoClient sub("kept");
    sub.connect_ok(broker_->tls_port(), tls_client("kept", pki_.ca_file()));
    ASSERT_EQ(sub.subscribe("reload/#", 1), std::vector<int>{1});
    PahoClient device("device");
    device.connect_ok(broker_->port(), tcp_client("device"));
    device.publish("reload/before", "1", 1);
    EXPECT_EQ(to_string(sub.message()), "reload/before '1' qos 1");

    install(pki_.server2());
    broker_->reload();
    // New handshakes see the new certificate (bounded wait for the reload).
    TlsProbe after;
    const auto deadline = Clock::now() + 5s;
    do {
        after = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file()});
        if (after.peer_subject == TestPki::server2_subject) break;
        std::this_thread::sleep_for(100ms);
    } while (Clock::now() < deadline);
    EXPECT_EQ(after.peer_subject, TestPki::server2_subject) << "still the old certificate 5 s after SIGHUP:\n"
                                                            << after.output << "\nlog:\n" << broker_->log();
    EXPECT_TRUE(after.established) << after.output;

    device.publish("reload/after", "2", 1);
    EXPECT_EQ(to_string(sub.message()), "reload/after '2' qos 1");
    EXPECT_FALSE(sub.next("disconnect", Millis{0})) << "the subscriber lost its connection on reload";
    PahoClient fresh("fresh");
    fresh.connect_ok(broker_->tls_port(), tls_client("fresh", pki_.ca_file()));
    fresh.publish("reload/fresh", "3", 1);
    EXPECT_EQ(to_string(sub.message()), "reload/fresh '3' qos 1");
}

// A reload that cannot read the new key keeps serving with the certificate it had.
TEST_P(Tls, SighupWithBrokenKeyKeepsTheOldCertificate) {
    if (mosquitto()) GTEST_SKIP() << "mosquitto's reload of a broken key is not the reference here";
    TempDir live;
    const CertKey files{live.path() + "/server.crt", live.path() + "/server.key"};
    std::filesystem::copy_file(pki_.server().cert, files.cert);
    std::filesystem::copy_file(pki_.server().key, files.key);
    start({{.server = files}});
    PahoClient sub("kept");
    sub.connect_ok(broker_->tls_port(), tls_client("kept", pki_.ca_file()));
    ASSERT_EQ(sub.subscribe("broken/#", 1), std::vector<int>{1});

    std::filesystem::copy_file(pki_.server2().cert, files.cert, std::filesystem::copy_options::overwrite_existing);
    live.write("server.key", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
    broker_->reload();
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(broker_->running()) << "a broken key on SIGHUP stopped the gateway:\n" << broker_->log();
    const auto probe = tls_probe(broker_->tls_port(), {.ca_file = pki_.ca_file()});
    EXPECT_TRUE(probe.established) << probe.output;
    EXPECT_EQ(probe.peer_subject, TestPki::server_subject) << probe.output;
    PahoClient device("device");
    device.connect_ok(broker_->port(), tcp_client("device"));
    device.publish("broken/x", "still here", 1);
    EXPECT_EQ(to_string(sub.message()), "broken/x 'still here' qos 1");
}

// use_cert_cn_as_username: the certificate's CN is the identity the ACL
// sees; a client may publish where its CN is granted, and not elsewhere.
TEST_P(Tls, CertificateCommonNameIsTheAclIdentity) {
    TempDir files;
    const std::string acl = files.write("acl", "pattern readwrite devices/%u/#\nuser watcher\ntopic read #\n");
    start({{.server = pki_.server(), .client_ca = pki_.ca_file(), .require_client_cert = true,
            .cert_cn_as_username = true}},
          acl);
    // The watcher connects over TLS too (the TCP listener has no identity to give it).
    PahoClient watch("watch");
    const CertKey& watcher_cert = pki_.client("watcher");
    watch.connect_ok(broker_->tls_port(), tls_client("watch", pki_.ca_file(), ProtocolVersion::v5, &watcher_cert));
    ASSERT_EQ(watch.subscribe("devices/#", 1), std::vector<int>{1});

    PahoClient device("dev-7");
    const CertKey& device_cert = pki_.client("dev-7");
    device.connect_ok(broker_->tls_port(), tls_client("dev-7", pki_.ca_file(), ProtocolVersion::v5, &device_cert));
    device.publish("devices/dev-7/temp", "own", 1);
    EXPECT_EQ(to_string(watch.message()), "devices/dev-7/temp 'own' qos 1");
    // Another device's topic: refused (v5 PUBACK 0x87 Not authorized) and not delivered.
    device.send({{"cmd", "publish"}, {"topic", "devices/dev-8/temp"}, {"payload", "forged"}, {"qos", 1}});
    const auto sent = device.expect_sent("publish");
    const auto done = device.expect("published");
    EXPECT_EQ(done.at("mid"), sent.at("mid"));
    EXPECT_EQ(code(done), 0x87) << json::serialize(done);
    EXPECT_EQ(watch.count_within("message", Millis{300}), 0u);
}

}  // namespace
}  // namespace fieldgate::test
