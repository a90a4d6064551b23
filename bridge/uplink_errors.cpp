#include "bridge/uplink_errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstdio>

namespace fieldgate::bridge {
namespace {

namespace asio_error = boost::asio::error;

std::string hex(std::uint8_t code) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%02X", code);
    return text;
}

std::string with_reason_string(std::string text, const mqtt::Properties& properties) {
    if (properties.reason_string) text += " (reason string: " + std::string(*properties.reason_string) + ")";
    if (properties.server_reference) text += " (server reference: " + std::string(*properties.server_reference) + ")";
    return text;
}

bool is_tls_error(const boost::system::error_code& ec) {
    return ec.category() == asio_error::get_ssl_category() ||
           ec.category() == boost::asio::ssl::error::get_stream_category();
}

std::string describe_tls(const boost::system::error_code& ec, long verify_result) {
    if (ec == boost::asio::ssl::error::stream_truncated) return "TLS: connection closed without close_notify";
    std::string reason;
    if (ec.category() == asio_error::get_ssl_category()) {
        // Asio's message adds the library in brackets ("... (SSL routines)"); the reason alone reads better.
        if (const char* text = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) reason = text;
    }
    if (reason.empty()) reason = ec.message();
    if (verify_result != X509_V_OK) reason += std::string(": ") + X509_verify_cert_error_string(verify_result);
    return "TLS: " + reason;
}

// Errors every step can see once the socket is open.
std::string describe_socket(const boost::system::error_code& ec, std::string_view step) {
    if (ec == asio_error::eof) return "connection closed by the broker";
    if (ec == asio_error::connection_reset) return "connection reset by the broker";
    if (ec == asio_error::broken_pipe) return "connection broken (the broker closed it)";
    if (ec == boost::beast::websocket::error::closed) return "WebSocket closed by the broker";
    return std::string(step) + ": " + ec.message();
}

}  // namespace

std::string describe_io_error(UplinkStep step, const boost::system::error_code& ec, long verify_result,
                              std::string_view host) {
    if (is_tls_error(ec)) return describe_tls(ec, verify_result);
    switch (step) {
        case UplinkStep::resolve:
            return "DNS: cannot resolve " + std::string(host) + ": " + ec.message();
        case UplinkStep::connect:
            if (ec == asio_error::connection_refused) return "connection refused";
            if (ec == asio_error::host_unreachable) return "host unreachable";
            if (ec == asio_error::network_unreachable) return "network unreachable";
            return "TCP connect: " + ec.message();
        case UplinkStep::tls:
            // A peer that is no TLS server, or that hung up on our ClientHello.
            if (ec == asio_error::eof) return "TLS: connection closed during the handshake";
            return describe_socket(ec, "TLS");
        case UplinkStep::websocket:
            return describe_socket(ec, "WebSocket upgrade");
        case UplinkStep::read:
            return describe_socket(ec, "read");
        case UplinkStep::write:
            return describe_socket(ec, "write");
    }
    return ec.message();
}

std::string describe_connack(const mqtt::Connack& connack, mqtt::ProtocolVersion version) {
    if (!mqtt::is_v5(version)) {
        const auto code = mqtt::to_connect_return_code(connack.reason_code);
        return "CONNACK return code " + std::to_string(static_cast<int>(code)) + " (" +
               std::string(mqtt::reason_name(connack.reason_code)) + ")";
    }
    const auto code = static_cast<std::uint8_t>(connack.reason_code);
    return with_reason_string("CONNACK " + hex(code) + " " + std::string(mqtt::reason_name(connack.reason_code)),
                              connack.properties);
}

std::string describe_disconnect(const mqtt::Disconnect& disconnect) {
    const auto code = static_cast<std::uint8_t>(disconnect.reason_code);
    return with_reason_string(
        "DISCONNECT " + hex(code) + " " + std::string(mqtt::reason_name(disconnect.reason_code)),
        disconnect.properties);
}

std::string describe_duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms < 1000) return std::to_string(ms) + " ms";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
    return text;
}

}  // namespace fieldgate::bridge
