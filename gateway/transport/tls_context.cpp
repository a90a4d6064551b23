#include "gateway/transport/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace fieldgate::transport {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" TLS 1.2 list: ECDHE key exchange, AEAD ciphers.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

[[noreturn]] void fail(const std::string& what, const std::string& file, const boost::system::error_code& ec) {
    throw std::runtime_error("cannot load " + what + " from " + file + ": " + ec.message());
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const config::ListenerConfig& listener) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* handle = context->native_handle();
    SSL_CTX_set_min_proto_version(handle, TLS1_2_VERSION);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                         ssl::context::single_dh_use);
    SSL_CTX_set_cipher_list(handle, tls12_ciphers);
    // OpenSSL frees a connection's record buffers while it is idle (mosquitto
    // does the same): most TLS devices are quiet most of the time.
    SSL_CTX_set_mode(handle, SSL_MODE_RELEASE_BUFFERS);

    boost::system::error_code ec;
    context->use_certificate_chain_file(listener.cert, ec);
    if (ec) fail("the certificate", listener.cert, ec);
    context->use_private_key_file(listener.key, ssl::context::pem, ec);
    if (ec) fail("the private key", listener.key, ec);
    if (SSL_CTX_check_private_key(handle) != 1) {
        throw std::runtime_error("the private key in " + listener.key + " does not match the certificate in " +
                                 listener.cert);
    }
    if (!listener.client_ca.empty()) {
        context->load_verify_file(listener.client_ca, ec);
        if (ec) fail("the client CA", listener.client_ca, ec);
        // Tells clients which CAs are accepted, so they pick the right certificate.
        if (auto* names = SSL_load_client_CA_file(listener.client_ca.c_str())) SSL_CTX_set_client_CA_list(handle, names);
        context->set_verify_mode(ssl::verify_peer |
                                 (listener.require_client_cert ? ssl::verify_fail_if_no_peer_cert : 0));
        // Sessions resumed with a verified client certificate need an id context.
        static constexpr unsigned char id[] = "fieldgate";
        SSL_CTX_set_session_id_context(handle, id, sizeof id - 1);
    }
    return context;
}

std::optional<std::string> peer_certificate_cn(ssl_st* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return std::nullopt;
    std::optional<std::string> cn;
    const X509_NAME* subject = X509_get_subject_name(cert);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index >= 0) {
        unsigned char* utf8 = nullptr;
        const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
        if (length >= 0) cn = std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
        OPENSSL_free(utf8);
    }
    X509_free(cert);
    return cn;
}

}  // namespace fieldgate::transport
