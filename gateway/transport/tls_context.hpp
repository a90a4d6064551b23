#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;

namespace fieldgate::transport {

// The TLS server side of an mqtts or wss listener: TLS 1.2 and 1.3 only,
// forward-secret AEAD ciphers for 1.2 (OpenSSL's TLS 1.3 suites are all
// such), the certificate chain and key, and client certificates verified
// against client_ca when it is set. Throws std::runtime_error naming the file
// and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const config::ListenerConfig& listener);

// The subject CN of the certificate the peer presented (verified by the
// handshake, which fails on a bad one); nullopt when it sent none.
std::optional<std::string> peer_certificate_cn(ssl_st* ssl);

}  // namespace fieldgate::transport
