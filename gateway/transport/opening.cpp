#include "gateway/transport/opening.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <optional>
#include <string_view>

#include "gateway/log/log.hpp"
#include "gateway/transport/streams.hpp"
#include "gateway/transport/tls_context.hpp"

namespace fieldgate::transport {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using Request = std::shared_ptr<OpenRequest>;

constexpr std::uint32_t max_http_header = 8192;

const std::string& address_of(const Request& r) { return r->info.address; }

template <class Stream>
void start_connection(Stream stream, const Request& r) {
    if constexpr (!std::is_same_v<Stream, TcpStream>) beast::get_lowest_layer(stream).expires_never();
    std::make_shared<Connection<Stream>>(std::move(stream), r->broker, r->worker, r->deadlines, r->settings,
                                         std::move(r->info), std::move(r->slot))
        ->start(r->deadline);
}

// The WebSocket subprotocol to answer with: "mqtt" [MQTT-6.0.0-3], or
// "mqttv3.1" for clients of that version; empty when the client offered none;
// nullopt when it offered only others.
std::optional<std::string> choose_subprotocol(std::string_view offered) {
    if (offered.empty()) return std::string();
    bool v31 = false;
    while (!offered.empty()) {
        const auto comma = offered.find(',');
        auto token = offered.substr(0, comma);
        offered = comma == std::string_view::npos ? std::string_view() : offered.substr(comma + 1);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
        if (token == "mqtt") return std::string("mqtt");
        if (token == "mqttv3.1") v31 = true;
    }
    if (v31) return std::string("mqttv3.1");
    return std::nullopt;
}

// An HTTP request read on the way to a WebSocket.
template <class Stream>
struct Upgrade {
    Upgrade(Stream s, Request r) : stream(std::move(s)), request(std::move(r)) {
        parser.header_limit(max_http_header);
        parser.body_limit(0);
    }
    Stream stream;
    Request request;
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
};

// Answers an HTTP request that does not become a WebSocket, then closes.
template <class Stream>
void refuse_http(const std::shared_ptr<Upgrade<Stream>>& u, http::status status, std::string body) {
    log::get("broker")->info("{}: HTTP {} {} on a WebSocket listener: {}", address_of(u->request),
                             static_cast<unsigned>(status), http::obsolete_reason(status), body);
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::server, "fieldgate");
    response->set(http::field::content_type, "text/plain; charset=utf-8");
    response->set(http::field::connection, "close");
    if (status == http::status::upgrade_required) {
        response->set(http::field::upgrade, "websocket");
        response->set(http::field::sec_websocket_protocol, "mqtt");
    }
    response->body() = std::move(body) + "\n";
    response->prepare_payload();
    http::async_write(u->stream, *response, [u, response](const boost::system::error_code&, std::size_t) {
        boost::system::error_code ignored;
        socket_of(beast::get_lowest_layer(u->stream)).shutdown(boost::asio::socket_base::shutdown_both, ignored);
        socket_of(beast::get_lowest_layer(u->stream)).close(ignored);
    });
}

template <class Stream>
void on_upgrade_request(const std::shared_ptr<Upgrade<Stream>>& u, const boost::system::error_code& ec) {
    const Request& r = u->request;
    if (ec == http::error::header_limit) {
        return refuse_http(u, http::status::request_header_fields_too_large, "request header over 8 KiB");
    }
    if (ec == beast::error::timeout) {
        log::get("broker")->info("{}: no WebSocket upgrade within the connect timeout, closing", address_of(r));
        return;
    }
    if (ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
        ec == boost::asio::error::connection_reset) {
        return;  // gone before asking anything
    }
    if (ec) return refuse_http(u, http::status::bad_request, "malformed HTTP request (" + ec.message() + ")");

    const auto& request = u->parser.get();
    std::string_view target = request.target();
    target = target.substr(0, target.find('?'));
    if (target != r->path) return refuse_http(u, http::status::not_found, "no MQTT endpoint at this path");
    if (!websocket::is_upgrade(request)) {
        return refuse_http(u, http::status::upgrade_required, "MQTT over WebSocket only: connect with a WebSocket client");
    }
    const auto subprotocol = choose_subprotocol(request[http::field::sec_websocket_protocol]);
    if (!subprotocol) {
        return refuse_http(u, http::status::bad_request, "unsupported WebSocket subprotocol (expected mqtt)");
    }

    auto ws = std::make_shared<websocket::stream<Stream>>(std::move(u->stream));
    // From here the WebSocket stream keeps time: the rest of the opening
    // deadline for the handshake (and later for a closing handshake).
    beast::get_lowest_layer(*ws).expires_never();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::max(std::chrono::steady_clock::duration{std::chrono::milliseconds{100}},
                                         r->deadline - std::chrono::steady_clock::now());
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    ws->set_option(timeout);
    ws->set_option(websocket::stream_base::decorator([answer = *subprotocol](websocket::response_type& response) {
        response.set(http::field::server, "fieldgate");
        if (!answer.empty()) response.set(http::field::sec_websocket_protocol, answer);
    }));
    ws->binary(true);
    ws->auto_fragment(false);  // one MQTT write, one frame
    ws->read_message_max(0);   // packets are bounded by max_packet_size, not by message
    ws->async_accept(request, [u, ws](const boost::system::error_code& accept_ec) {
        if (accept_ec) {
            log::get("broker")->info("{}: WebSocket handshake failed: {}", address_of(u->request), accept_ec.message());
            return;
        }
        start_connection(std::move(*ws), u->request);
    });
}

template <class Stream>
void upgrade(Stream stream, Request r) {
    auto u = std::make_shared<Upgrade<Stream>>(std::move(stream), std::move(r));
    beast::get_lowest_layer(u->stream).expires_at(u->request->deadline);
    http::async_read(u->stream, u->buffer, u->parser,
                     [u](const boost::system::error_code& ec, std::size_t) { on_upgrade_request(u, ec); });
}

void handshake_tls(TimedTcpStream tcp, Request r) {
    auto tls = std::make_shared<TlsStream>(std::move(tcp), *r->tls);
    beast::get_lowest_layer(*tls).expires_at(r->deadline);
    tls->async_handshake(boost::asio::ssl::stream_base::server, [tls, r](const boost::system::error_code& ec) {
        if (ec) {
            auto reason = ec == beast::error::timeout ? std::string("not completed within the connect timeout")
                                                      : ec.message();
            log::get("broker")->info("{}: TLS handshake failed: {}", address_of(r), reason);
            return;
        }
        r->info.certificate_cn = peer_certificate_cn(tls->native_handle());
        if (r->type == config::ListenerType::wss) {
            upgrade(std::move(*tls), r);
        } else {
            start_connection(std::move(*tls), r);
        }
    });
}

}  // namespace

void open_connection(AcceptedSocket socket, std::shared_ptr<OpenRequest> request) {
    switch (request->type) {
        case config::ListenerType::mqtt:
            return start_connection(std::move(socket), request);
        case config::ListenerType::ws:
            return upgrade(TimedTcpStream(std::move(socket)), std::move(request));
        case config::ListenerType::mqtts:
        case config::ListenerType::wss:
            return handshake_tls(TimedTcpStream(std::move(socket)), std::move(request));
    }
}

}  // namespace fieldgate::transport
