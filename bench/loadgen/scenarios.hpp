#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/mqtt/version.hpp"

namespace fieldgate::bench {

class TlsContext;

// Publishers -> broker -> subscribers. Publisher i sends to `bench/i`; every
// subscriber subscribes to `filter`. Flat out, each publisher keeps at most
// `window` messages on their way to the subscribers (so neither broker is
// measured queueing without bound) and, at QoS 1, at most `inflight`
// PUBLISHes unacknowledged; with a `rate`, it sends on a fixed schedule and
// stamps each message with the time it was due (no coordinated omission).
struct TrafficOptions {
    std::string name = "traffic";
    sockaddr_in endpoint{};
    mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v3_1_1;
    const TlsContext* tls = nullptr;  // every connection over TLS when set
    std::size_t publishers = 1;
    std::size_t subscribers = 1;
    std::string filter = "bench/0";
    mqtt::QoS qos = mqtt::QoS::at_most_once;
    std::size_t payload = 64;
    std::uint16_t inflight = 64;
    std::size_t window = 1000;
    // Subscribers keep persistent sessions (clean session 0; MQTT 5: clean
    // start 0, session expiry 1 h) under fixed client ids fgbench-sub-N, so a
    // broker stores their QoS 1 messages (durability figures).
    bool persistent = false;
    double rate = 0;       // messages per second per publisher; 0 = flat out
    double warmup = 1;     // seconds before the measured window
    double duration = 5;   // seconds measured
    double drain = 2;      // afterwards, seconds without a delivery that end the run
    pid_t broker_pid = 0;  // sampled at the edges of the window when set
    // Poll without sleeping. The generator has a core of its own, and its own
    // wake-ups (tens of microseconds in a VM) stay out of every round trip:
    // with QoS 1 and 64 in flight they halved what it could drive against the
    // null forwarder (0.36 vs 0.8 M msg/s) and they would add to the latency.
    bool spin = true;
};

// Opens `connections` MQTT connections (at most `concurrency` handshakes at a
// time), waits `settle` seconds and reads the broker's VmRSS against the value
// before the first connect.
struct IdleOptions {
    sockaddr_in endpoint{};
    mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v3_1_1;
    const TlsContext* tls = nullptr;
    std::size_t connections = 10'000;
    std::size_t concurrency = 64;
    std::uint16_t keep_alive = 600;
    double settle = 1;
    double hold = 0;
    double timeout = 60;  // for all connections to be accepted
    pid_t broker_pid = 0;
};

// New connections one after another, `concurrency` at a time, as fast as the
// broker takes them: TCP connect, a full TLS handshake when there is a
// TlsContext (never a resumed session), CONNECT, CONNACK, DISCONNECT, and the
// broker's close. Counts the CONNACKs in the measured window and the broker's
// CPU time over it; the latency is from connect() to CONNACK.
struct HandshakeOptions {
    sockaddr_in endpoint{};
    mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v3_1_1;
    const TlsContext* tls = nullptr;
    std::size_t concurrency = 16;
    double warmup = 1;
    double duration = 5;
    double timeout = 5;  // for one connection, from connect() to the broker's close
    pid_t broker_pid = 0;
};

// Each prints one line of key=value pairs on stdout and returns the exit code
// (0, or 1 when the run failed, with the reason on stderr).
int run_traffic(const TrafficOptions& options);
int run_idle(const IdleOptions& options);
int run_handshake(const HandshakeOptions& options);

}  // namespace fieldgate::bench
