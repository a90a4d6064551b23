#include "bridge/uplink_tls.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace fieldgate::bridge {
namespace {

namespace ssl = boost::asio::ssl;

[[noreturn]] void fail(const std::string& what, const std::string& file, const boost::system::error_code& ec) {
    throw std::runtime_error("bridge: cannot load " + what + " from " + file + ": " + ec.message());
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

std::vector<unsigned char> alpn_wire_format(const std::vector<std::string>& protocols) {
    std::vector<unsigned char> wire;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255) continue;  // not representable; config validation refuses it
        wire.push_back(static_cast<unsigned char>(p.size()));
        wire.insert(wire.end(), p.begin(), p.end());
    }
    return wire;
}

std::shared_ptr<ssl::context> make_client_context(const config::BridgeConfig& bridge) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* handle = context->native_handle();
    SSL_CTX_set_min_proto_version(handle, TLS1_2_VERSION);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    context->set_verify_mode(ssl::verify_peer);

    boost::system::error_code ec;
    if (bridge.ca.empty()) {
        context->set_default_verify_paths(ec);
        if (ec) fail("the system's trusted CAs", "the default verify paths", ec);
    } else {
        context->load_verify_file(bridge.ca, ec);
        if (ec) fail("the CA", bridge.ca, ec);
    }
    if (!bridge.cert.empty()) {
        context->use_certificate_chain_file(bridge.cert, ec);
        if (ec) fail("the client certificate", bridge.cert, ec);
        // Without `key`, the key is looked for in the certificate's file.
        const std::string& key = bridge.key.empty() ? bridge.cert : bridge.key;
        context->use_private_key_file(key, ssl::context::pem, ec);
        if (ec) fail("the client key", key, ec);
        if (SSL_CTX_check_private_key(handle) != 1) {
            throw std::runtime_error("bridge: the key in " + key + " does not match the certificate in " +
                                     bridge.cert);
        }
    }
    if (!bridge.alpn.empty()) {
        const auto wire = alpn_wire_format(bridge.alpn);
        // Returns 0 on success, unlike most of OpenSSL.
        if (SSL_CTX_set_alpn_protos(handle, wire.data(), static_cast<unsigned>(wire.size())) != 0) {
            throw std::runtime_error("bridge: OpenSSL refused the ALPN list");
        }
    }
    return context;
}

bool prepare_client_ssl(ssl_st* ssl, const std::string& server_name, const std::string& verify_name,
                        bool verify_hostname) {
    if (!server_name.empty() && !is_ip_literal(server_name)) {
        // SSL_set_tlsext_host_name() spelled out: the macro's C cast trips -Wold-style-cast.
        if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(server_name.c_str())) != 1) {
            return false;
        }
    }
    if (!verify_hostname) return true;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip_literal(verify_name)) return X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str()) == 1;
    // "*.example.com" matches one label, never "a.b.example.com" [RFC 6125 6.4.3].
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), verify_name.size()) == 1;
}

}  // namespace fieldgate::bridge
