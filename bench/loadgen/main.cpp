// fg_loadgen: drives an MQTT broker on 127.0.0.1 with one of the scenarios of
// bench/compare.sh and prints one line of key=value results.
//
//   fg_loadgen --port 1883 --scenario qos0 --broker-pid $(pidof mosquitto)
//
// Scenarios (options after --scenario override their settings):
//   qos0     1 -> 1, QoS 0, 64 B, flat out
//   qos1     1 -> 1, QoS 1, 64 messages in flight, flat out
//   fanout   10 publishers -> 10 subscribers on bench/#, QoS 0, flat out
//   latency  1 -> 1, QoS 1, 10,000 msg/s; percentiles of delivery latency
//   idle     10,000 connections that only CONNECT; broker RSS per connection
//   handshake  new connections, 16 at a time, each CONNECT, CONNACK,
//            DISCONNECT; connections per second and broker CPU per connection
//
// --persistent gives the subscribers of qos0/qos1/fanout/latency persistent
// sessions, so that a broker with persistence stores their messages; the
// broker's write_bytes (/proc/PID/io) over the window is then reported per
// delivered message.
//
// With --tls-ca FILE every connection of any scenario is TLS (1.3, or
// --tls-version 1.2), trusting only FILE and never resuming a session.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bench/loadgen/net.hpp"
#include "bench/loadgen/scenarios.hpp"

namespace {

using namespace fieldgate;

template <class T>
void override_with(T& target, const std::optional<T>& value) {
    if (value) target = *value;
}

// An option that overrides a scenario's setting only when given.
template <class T>
CLI::Option* add_override(CLI::App& app, const std::string& name, std::optional<T>& target,
                          const std::string& help = "") {
    return app.add_option_function<T>(
        name, [&target](const T& v) { target = v; }, help);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"fg_loadgen: MQTT load generator for fieldgate's benchmarks"};
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    std::string scenario;
    std::string protocol = "3.1.1";
    int broker_pid = 0;
    std::optional<std::size_t> publishers, subscribers, payload, window, connections, concurrency;
    std::optional<int> qos;
    std::optional<std::uint16_t> inflight;
    std::optional<double> rate, warmup, duration, drain, settle, hold;
    std::optional<std::string> filter;
    std::optional<bool> spin;
    bool persistent = false;
    std::string tls_ca;
    std::string tls_version = "1.3";

    app.add_option("--host", host, "broker address (IPv4)")->capture_default_str();
    app.add_option("--port", port, "broker port")->required();
    app.add_option("--scenario", scenario, "qos0|qos1|fanout|latency|idle|handshake")
        ->required()
        ->check(CLI::IsMember({"qos0", "qos1", "fanout", "latency", "idle", "handshake"}));
    app.add_option("--mqtt", protocol, "protocol version: 3.1.1 or 5")->check(CLI::IsMember({"3.1.1", "5"}));
    app.add_option("--broker-pid", broker_pid, "broker process to sample (/proc/PID/stat, status)");
    app.add_option("--tls-ca", tls_ca, "connect over TLS, trusting this CA (PEM)")->check(CLI::ExistingFile);
    app.add_option("--tls-version", tls_version, "with --tls-ca: 1.3 or 1.2")
        ->check(CLI::IsMember({"1.2", "1.3"}))
        ->capture_default_str();
    add_override(app, "--publishers", publishers)->check(CLI::Range(1, 1000));
    add_override(app, "--subscribers", subscribers)->check(CLI::Range(1, 1000));
    add_override(app, "--filter", filter, "subscribers' topic filter (publisher i sends to bench/i)");
    add_override(app, "--qos", qos)->check(CLI::Range(0, 1));
    add_override(app, "--payload", payload, "payload bytes, at least 20")->check(CLI::Range(20, 1 << 20));
    add_override(app, "--inflight", inflight, "QoS 1: unacknowledged PUBLISHes per publisher")
        ->check(CLI::Range(1, 65535));
    add_override(app, "--window", window, "messages per publisher not yet delivered to every subscriber")
        ->check(CLI::Range(1, 1'000'000));
    add_override(app, "--rate", rate, "messages per second per publisher, 0 = flat out")->check(CLI::Range(0.0, 1e8));
    add_override(app, "--warmup", warmup, "seconds before measuring")->check(CLI::Range(0.0, 600.0));
    add_override(app, "--duration", duration, "seconds measured")->check(CLI::Range(0.1, 3600.0));
    add_override(app, "--drain", drain, "after the window, seconds without a delivery that end the run")
        ->check(CLI::Range(0.0, 600.0));
    add_override(app, "--spin", spin, "poll without sleeping (default: on)");
    app.add_flag("--persistent", persistent,
                 "subscribers keep persistent sessions (clean session 0, client ids fgbench-sub-N)");
    add_override(app, "--connections", connections, "idle: connections to open")->check(CLI::Range(1, 1'000'000));
    add_override(app, "--concurrency", concurrency, "idle, handshake: connections opening at once")
        ->check(CLI::Range(1, 10'000));
    add_override(app, "--settle", settle, "idle: seconds between the last CONNACK and the RSS reading")
        ->check(CLI::Range(0.0, 600.0));
    add_override(app, "--hold", hold, "idle: seconds to keep the connections open afterwards")
        ->check(CLI::Range(0.0, 3600.0));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    // OpenSSL writes to its sockets without MSG_NOSIGNAL: a broker that closed
    // first must not end the generator with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        const sockaddr_in endpoint = bench::make_endpoint(host, port);
        const auto version = protocol == "5" ? mqtt::ProtocolVersion::v5 : mqtt::ProtocolVersion::v3_1_1;
        std::unique_ptr<bench::TlsContext> tls;
        if (!tls_ca.empty()) {
            tls = std::make_unique<bench::TlsContext>(
                tls_ca, tls_version == "1.2" ? bench::TlsVersion::tls1_2 : bench::TlsVersion::tls1_3);
        }
        if (scenario == "handshake") {
            bench::HandshakeOptions o;
            o.endpoint = endpoint;
            o.version = version;
            o.tls = tls.get();
            o.broker_pid = broker_pid;
            override_with(o.concurrency, concurrency);
            override_with(o.warmup, warmup);
            override_with(o.duration, duration);
            return bench::run_handshake(o);
        }
        if (scenario == "idle") {
            bench::IdleOptions o;
            o.endpoint = endpoint;
            o.version = version;
            o.tls = tls.get();
            o.broker_pid = broker_pid;
            override_with(o.connections, connections);
            override_with(o.concurrency, concurrency);
            override_with(o.settle, settle);
            override_with(o.hold, hold);
            return bench::run_idle(o);
        }
        bench::TrafficOptions o;
        o.name = scenario;
        o.endpoint = endpoint;
        o.version = version;
        o.tls = tls.get();
        o.broker_pid = broker_pid;
        if (scenario == "qos1" || scenario == "latency") o.qos = mqtt::QoS::at_least_once;
        if (scenario == "fanout") {
            o.publishers = 10;
            o.subscribers = 10;
            o.filter = "bench/#";
        }
        if (scenario == "latency") o.rate = 10'000;
        // Deep enough that the window never limits a broker (the delivery
        // round trip includes two wake-ups), shallow enough to bound queues:
        // 10,000 messages per subscriber 1 -> 1, 20,000 in the fan-out.
        o.window = scenario == "fanout" ? 2'000 : 10'000;
        override_with(o.publishers, publishers);
        override_with(o.subscribers, subscribers);
        override_with(o.filter, filter);
        if (qos) o.qos = static_cast<mqtt::QoS>(*qos);
        override_with(o.payload, payload);
        override_with(o.inflight, inflight);
        override_with(o.window, window);
        override_with(o.rate, rate);
        override_with(o.warmup, warmup);
        override_with(o.duration, duration);
        override_with(o.drain, drain);
        override_with(o.spin, spin);
        o.persistent = persistent;
        return bench::run_traffic(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fg_loadgen: %s\n", e.what());
        return 2;
    }
}
