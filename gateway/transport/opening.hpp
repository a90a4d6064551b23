#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "gateway/broker/broker.hpp"
#include "gateway/transport/connection.hpp"
#include "gateway/transport/connection_slot.hpp"
#include "gateway/transport/deadlines.hpp"

namespace boost::asio::ssl {
class context;
}

namespace fieldgate::transport {

// An accepted socket, on its worker's io_context (streams.hpp's TcpStream).
using AcceptedSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

// What it takes to turn an accepted socket into a Connection.
struct OpenRequest {
    broker::Broker& broker;
    std::size_t worker = 0;
    Deadlines& deadlines;  // the worker's
    config::ListenerType type = config::ListenerType::mqtt;
    std::string path;  // ws, wss: the HTTP path that upgrades
    ConnectionSettings settings;
    broker::PeerInfo info;
    std::shared_ptr<boost::asio::ssl::context> tls;  // mqtts, wss
    std::chrono::steady_clock::time_point deadline;  // the whole opening and the CONNECT, from accept
    ConnectionSlot slot;
};

// On the connection's worker: runs the steps the listener's type needs (TLS
// handshake, HTTP upgrade to WebSocket), each bounded by the deadline, and
// starts the Connection. A step that fails is logged and the socket closed;
// an HTTP request that cannot upgrade gets its HTTP error first.
void open_connection(AcceptedSocket socket, std::shared_ptr<OpenRequest> request);

}  // namespace fieldgate::transport
