#pragma once

// The byte stream under one uplink connection, whatever the URL's scheme:
// mqtt:// (TCP), mqtts:// (TLS), ws:// and wss:// (WebSocket, Beast's
// client). Opening it runs every step before MQTT: resolve, TCP connect, TLS
// handshake, WebSocket upgrade, each bounded by the same step timeout, and
// ends in an error text an operator can act on. Afterwards it carries bytes;
// WebSocket message boundaries are invisible to the caller (an MQTT packet
// may span frames, a frame may hold several packets).
//
// Owned by one UplinkConnection, used only on its io_context's thread. The
// Asio/Beast stream types stay in the .cpp.

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bridge/uplink_errors.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace fieldgate::bridge {

enum class UplinkScheme { mqtt, mqtts, ws, wss };

inline constexpr bool uses_tls(UplinkScheme s) { return s == UplinkScheme::mqtts || s == UplinkScheme::wss; }

// One entry of a bridge's `addresses`.
struct UplinkTarget {
    std::string url;  // as configured: the name in status and logs
    UplinkScheme scheme = UplinkScheme::mqtt;
    std::string host;  // a name or an IP literal, without brackets
    std::uint16_t port = 0;
    std::string path;  // ws, wss: the request target, "/mqtt" when the URL has none
};

// nullopt for a URL that is not mqtt://, mqtts://, ws:// or wss://.
std::optional<UplinkTarget> parse_uplink_target(std::string_view url);

struct UplinkStreamSettings {
    std::chrono::milliseconds step_timeout{10000};
    std::shared_ptr<boost::asio::ssl::context> tls;  // required for mqtts and wss
    std::string sni;  // the TLS server name and the name verified; empty: the URL's host
    bool verify_hostname = true;
};

class UplinkStream {
public:
    // Empty on success, else what went wrong ("connection refused", "timeout: ...").
    using OpenHandler = std::function<void(const std::string& error)>;
    using IoHandler = std::function<void(const boost::system::error_code&, std::size_t)>;

    static std::shared_ptr<UplinkStream> create(boost::asio::io_context& io, const UplinkTarget& target,
                                                const UplinkStreamSettings& settings);
    virtual ~UplinkStream() = default;

    // Resolve, connect, and the TLS and WebSocket handshakes. Called once.
    virtual void async_open(OpenHandler handler) = 0;
    // After a successful open. One read and one write may be in flight at a time.
    virtual void async_read_some(std::span<std::uint8_t> buffer, IoHandler handler) = 0;
    // Writes all of `bytes` (one binary message over WebSocket); they must
    // stay valid until the handler runs.
    virtual void async_write(std::span<const std::uint8_t> bytes, IoHandler handler) = 0;
    // Ends the stream politely (the WebSocket closing handshake), waiting at
    // most `limit`, then closes the socket and calls `done`.
    virtual void async_close(std::chrono::milliseconds limit, std::function<void()> done) = 0;
    // Closes the socket at once; pending operations end with operation_aborted.
    virtual void close() = 0;

    // An I/O error in words, with the TLS verdict on the server's certificate when there is one.
    virtual std::string describe(UplinkStep step, const boost::system::error_code& ec) const = 0;
    // "TLSv1.3, ALPN x-amzn-mqtt-ca" once open over TLS; empty otherwise. For logs.
    virtual std::string negotiated() const = 0;
};

}  // namespace fieldgate::bridge
