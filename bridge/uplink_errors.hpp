#pragma once

// The uplink's failures in words, for the bridge's state topic and the log:
// what an operator reads to tell a wrong password from a firewall from an
// expired certificate. Pure functions; no I/O.

#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "gateway/mqtt/packets.hpp"

namespace fieldgate::bridge {

// The step of a connection an I/O error happened in.
enum class UplinkStep { resolve, connect, tls, websocket, read, write };

// "connection refused", "DNS: cannot resolve a.example.com: Host not found
// (authoritative)", "TLS: certificate verify failed: hostname mismatch",
// "connection closed by the broker", ... `verify_result` is OpenSSL's
// X509_V_* verdict on the server's certificate (0 = X509_V_OK), which says
// why a handshake failed where the error code says only that it did.
std::string describe_io_error(UplinkStep step, const boost::system::error_code& ec, long verify_result = 0,
                              std::string_view host = {});

// "CONNACK 0x86 Bad User Name or Password (reason string: ...)" in MQTT 5;
// "CONNACK return code 4 (Bad User Name or Password)" before, whose codes
// the decoder has mapped onto reason codes.
std::string describe_connack(const mqtt::Connack& connack, mqtt::ProtocolVersion version);

// "DISCONNECT 0x8E Session taken over (reason string: ...)".
std::string describe_disconnect(const mqtt::Disconnect& disconnect);

// "90 s", "1.5 s", "250 ms": durations as an operator reads them.
std::string describe_duration(std::chrono::milliseconds d);

}  // namespace fieldgate::bridge
