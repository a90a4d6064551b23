#pragma once
// The four byte streams a client connection runs over. Heavy headers: include
// only in the transport's .cpp files.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <type_traits>

namespace fieldgate::transport {

// Plain MQTT runs on the bare socket (the lightest idle connection), bound to
// its worker's io_context rather than a type-erased executor: the socket and
// the wait pending on it while idle are the smaller for it. The others sit on
// Beast's tcp_stream, whose expiry bounds their handshakes.
using TcpStream = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using TcpSocket = boost::asio::ip::tcp::socket;  // the lowest layer of the others
using TimedTcpStream = boost::beast::tcp_stream;
using TlsStream = boost::asio::ssl::stream<TimedTcpStream>;
using WsStream = boost::beast::websocket::stream<TimedTcpStream>;
using WssStream = boost::beast::websocket::stream<TlsStream>;

inline TcpStream& socket_of(TcpStream& s) { return s; }
inline TcpSocket& socket_of(TimedTcpStream& s) { return s.socket(); }
inline const TcpStream& socket_of(const TcpStream& s) { return s; }
inline const TcpSocket& socket_of(const TimedTcpStream& s) { return s.socket(); }

template <class Stream>
inline constexpr bool is_websocket = std::is_same_v<Stream, WsStream> || std::is_same_v<Stream, WssStream>;

}  // namespace fieldgate::transport
