#pragma once

// The TLS client side of an uplink (mqtts://, wss://): what is trusted,
// what we present, and what we ask for. Only declarations of Asio's SSL
// types here; the context is built once per bridge, the per-connection
// settings (SNI, the name to verify) once per attempt.

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;

namespace fieldgate::bridge {

// TLS 1.2 or later; the server's certificate verified against `ca` (a PEM
// file), or the system's trust store when `ca` is empty; `cert`/`key` as our
// client certificate (mTLS) when set; `alpn` offered in order (AWS IoT on port
// 443 wants "x-amzn-mqtt-ca"). Throws std::runtime_error naming the file and
// OpenSSL's reason: a bridge that cannot load its files fails at start-up.
std::shared_ptr<boost::asio::ssl::context> make_client_context(const config::BridgeConfig& bridge);

// Per connection: SNI `server_name` (not sent for an IP literal, which RFC
// 6066 forbids), and, with `verify_hostname`, the certificate must be for
// `verify_name` (a DNS name, or an IP address matched against IP SANs).
// OpenSSL's own check is used rather than a verify callback so that a
// mismatch is reported as "hostname mismatch", not as a bare verify failure.
// Returns false when OpenSSL refuses the names.
bool prepare_client_ssl(ssl_st* ssl, const std::string& server_name, const std::string& verify_name,
                        bool verify_hostname);

// The ALPN wire format: each protocol prefixed by its length.
std::vector<unsigned char> alpn_wire_format(const std::vector<std::string>& protocols);

}  // namespace fieldgate::bridge
