#include "bridge/uplink_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <type_traits>

#include "bridge/uplink_tls.hpp"
#include "config/address.hpp"

namespace fieldgate::bridge {
namespace {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

using TcpStream = tcp::socket;
using TlsStream = asio::ssl::stream<tcp::socket>;
using WsStream = websocket::stream<tcp::socket>;
using WssStream = websocket::stream<TlsStream>;

template <class S>
inline constexpr bool is_ws = std::is_same_v<S, WsStream> || std::is_same_v<S, WssStream>;
template <class S>
inline constexpr bool is_tls = std::is_same_v<S, TlsStream> || std::is_same_v<S, WssStream>;

std::string_view step_name(UplinkStep step) {
    switch (step) {
        case UplinkStep::resolve: return "DNS lookup";
        case UplinkStep::connect: return "TCP connection";
        case UplinkStep::tls: return "TLS handshake";
        case UplinkStep::websocket: return "WebSocket upgrade";
        case UplinkStep::read: return "read";
        case UplinkStep::write: return "write";
    }
    return "step";
}

// One stream type's steps. Each step arms the step timer; when it fires
// first, the socket (or the resolver) is closed, the step's operation ends
// with operation_aborted, and the step reports a timeout instead.
template <class S>
class StreamImpl final : public UplinkStream, public std::enable_shared_from_this<StreamImpl<S>> {
public:
    StreamImpl(asio::io_context& io, const UplinkTarget& target, const UplinkStreamSettings& settings)
        : target_(target), settings_(settings), resolver_(io), timer_(io) {
        if constexpr (std::is_same_v<S, TlsStream> || std::is_same_v<S, WssStream>) {
            stream_.emplace(io, *settings.tls);
        } else {
            stream_.emplace(io);
        }
    }

    void async_open(OpenHandler handler) override {
        handler_ = std::move(handler);
        begin_step(UplinkStep::resolve);
        resolver_.async_resolve(target_.host, std::to_string(target_.port),
                                [self = this->shared_from_this()](const error_code& ec, tcp::resolver::results_type r) {
                                    if (!self->end_step(ec)) return;
                                    self->connect(r);
                                });
    }

    void async_read_some(std::span<std::uint8_t> buffer, IoHandler handler) override {
        if constexpr (is_ws<S>) {
            stream_->async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                     [self = this->shared_from_this(), handler = std::move(handler)](
                                         const error_code& ec, std::size_t n) {
                                         // MQTT travels in binary frames only; a text frame ends the
                                         // connection [MQTT-6.0.0-1].
                                         if (!ec && self->stream_->got_text()) {
                                             self->text_frame_ = true;
                                             return handler(asio::error::operation_not_supported, 0);
                                         }
                                         handler(ec, n);
                                     });
        } else {
            stream_->async_read_some(asio::buffer(buffer.data(), buffer.size()), std::move(handler));
        }
    }

    void async_write(std::span<const std::uint8_t> bytes, IoHandler handler) override {
        if constexpr (is_ws<S>) {
            stream_->async_write(asio::buffer(bytes.data(), bytes.size()), std::move(handler));
        } else {
            asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
        }
    }

    void async_close(std::chrono::milliseconds limit, std::function<void()> done) override {
        if constexpr (is_ws<S>) {
            if (stream_->is_open()) {
                ++step_seq_;  // a pending step's timer must not act on this
                timer_.expires_after(limit);
                timer_.async_wait([self = this->shared_from_this()](const error_code& ec) {
                    if (!ec) self->close_socket();
                });
                stream_->async_close(websocket::close_code::normal,
                                     [self = this->shared_from_this(), done = std::move(done)](const error_code&) {
                                         self->close();
                                         done();
                                     });
                return;
            }
        }
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_send, ignored);
        close();
        asio::post(timer_.get_executor(), std::move(done));
    }

    void close() override {
        handler_ = nullptr;  // whoever closes wants no report of the open
        ++step_seq_;
        timer_.cancel();
        resolver_.cancel();
        close_socket();
    }

    std::string describe(UplinkStep step, const error_code& ec) const override {
        if (text_frame_) return "WebSocket text frame from the broker (MQTT needs binary frames)";
        long verify = X509_V_OK;
        if constexpr (is_tls<S>) verify = SSL_get_verify_result(ssl());
        return describe_io_error(step, ec, verify, target_.host);
    }

    std::string negotiated() const override {
        if constexpr (is_tls<S>) {
            std::string text = SSL_get_version(ssl());
            const unsigned char* alpn = nullptr;
            unsigned length = 0;
            SSL_get0_alpn_selected(ssl(), &alpn, &length);
            if (length > 0) text += ", ALPN " + std::string(reinterpret_cast<const char*>(alpn), length);
            return text;
        } else {
            return {};
        }
    }

private:
    tcp::socket& socket() { return boost::beast::get_lowest_layer(*stream_); }

    SSL* ssl() const {
        if constexpr (std::is_same_v<S, TlsStream>) {
            return const_cast<S&>(*stream_).native_handle();
        } else if constexpr (std::is_same_v<S, WssStream>) {
            return const_cast<S&>(*stream_).next_layer().native_handle();
        } else {
            return nullptr;
        }
    }

    void close_socket() {
        error_code ignored;
        socket().close(ignored);
    }

    void begin_step(UplinkStep step) {
        step_ = step;
        timed_out_ = false;
        const auto id = ++step_seq_;
        timer_.expires_after(settings_.step_timeout);
        timer_.async_wait([self = this->shared_from_this(), id](const error_code& ec) {
            if (ec || id != self->step_seq_) return;  // the step ended first
            self->timed_out_ = true;
            self->resolver_.cancel();
            self->close_socket();
        });
    }

    // False when the step failed; the open handler has been told why.
    bool end_step(const error_code& ec, const std::string& refusal = {}) {
        ++step_seq_;
        timer_.cancel();
        std::string error;
        if (timed_out_) {
            error = "timeout: no " + std::string(step_name(step_)) + " within " +
                    describe_duration(settings_.step_timeout);
            if (step_ == UplinkStep::resolve) error = "timeout: DNS lookup of " + target_.host + " took over " +
                                                      describe_duration(settings_.step_timeout);
        } else if (!refusal.empty()) {
            error = refusal;
        } else if (ec) {
            error = describe(step_, ec);
        } else {
            return true;
        }
        close_socket();
        finish(error);
        return false;
    }

    void finish(const std::string& error) {
        auto handler = std::move(handler_);
        handler_ = nullptr;
        if (handler) handler(error);
    }

    void connect(const tcp::resolver::results_type& endpoints) {
        begin_step(UplinkStep::connect);
        // Every address the name has, in order, within one step timeout.
        asio::async_connect(socket(), endpoints,
                            [self = this->shared_from_this()](const error_code& ec, const tcp::endpoint&) {
                                if (!self->end_step(ec)) return;
                                error_code ignored;
                                self->socket().set_option(tcp::no_delay(true), ignored);
                                self->tls_handshake();
                            });
    }

    void tls_handshake() {
        if constexpr (is_tls<S>) {
            const std::string& name = settings_.sni.empty() ? target_.host : settings_.sni;
            if (!prepare_client_ssl(ssl(), name, name, settings_.verify_hostname)) {
                close_socket();
                return finish("TLS: OpenSSL refused the server name " + name);
            }
            begin_step(UplinkStep::tls);
            auto& tls = [this]() -> TlsStream& {
                if constexpr (std::is_same_v<S, TlsStream>) return *stream_;
                else return stream_->next_layer();
            }();
            tls.async_handshake(asio::ssl::stream_base::client, [self = this->shared_from_this()](const error_code& ec) {
                if (!self->end_step(ec)) return;
                self->websocket_upgrade();
            });
        } else {
            websocket_upgrade();
        }
    }

    void websocket_upgrade() {
        if constexpr (is_ws<S>) {
            // The subprotocol MQTT over WebSocket requires [MQTT-6.0.0-3]; binary frames [MQTT-6.0.0-1].
            stream_->set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
                request.set(boost::beast::http::field::sec_websocket_protocol, "mqtt");
            }));
            stream_->binary(true);
            begin_step(UplinkStep::websocket);
            const bool v6 = target_.host.find(':') != std::string::npos;
            const std::string host = (v6 ? "[" + target_.host + "]" : target_.host) + ":" + std::to_string(target_.port);
            stream_->async_handshake(response_, host, target_.path, [self = this->shared_from_this()](const error_code& ec) {
                std::string refusal;
                if (ec == websocket::error::upgrade_declined) {
                    refusal = "WebSocket upgrade refused: HTTP " + std::to_string(self->response_.result_int()) +
                              " " + std::string(self->response_.reason());
                }
                if (!self->end_step(ec, refusal)) return;
                self->finish({});
            });
        } else {
            finish({});
        }
    }

    UplinkTarget target_;
    UplinkStreamSettings settings_;
    tcp::resolver resolver_;
    asio::steady_timer timer_;
    std::optional<S> stream_;
    websocket::response_type response_;
    OpenHandler handler_;
    UplinkStep step_ = UplinkStep::resolve;
    std::uint64_t step_seq_ = 0;
    bool timed_out_ = false;
    bool text_frame_ = false;
};

}  // namespace

std::optional<UplinkTarget> parse_uplink_target(std::string_view url) {
    const auto parsed = config::parse_url(url);
    if (!parsed) return std::nullopt;
    UplinkTarget target{.url = std::string(url), .host = parsed->host, .port = parsed->port, .path = parsed->path};
    if (parsed->scheme == "mqtt") {
        target.scheme = UplinkScheme::mqtt;
    } else if (parsed->scheme == "mqtts") {
        target.scheme = UplinkScheme::mqtts;
    } else if (parsed->scheme == "ws") {
        target.scheme = UplinkScheme::ws;
    } else if (parsed->scheme == "wss") {
        target.scheme = UplinkScheme::wss;
    } else {
        return std::nullopt;
    }
    if (target.path.empty()) target.path = "/mqtt";
    return target;
}

std::shared_ptr<UplinkStream> UplinkStream::create(asio::io_context& io, const UplinkTarget& target,
                                                   const UplinkStreamSettings& settings) {
    switch (target.scheme) {
        case UplinkScheme::mqtt: return std::make_shared<StreamImpl<TcpStream>>(io, target, settings);
        case UplinkScheme::mqtts: return std::make_shared<StreamImpl<TlsStream>>(io, target, settings);
        case UplinkScheme::ws: return std::make_shared<StreamImpl<WsStream>>(io, target, settings);
        case UplinkScheme::wss: return std::make_shared<StreamImpl<WssStream>>(io, target, settings);
    }
    return nullptr;
}

}  // namespace fieldgate::bridge
