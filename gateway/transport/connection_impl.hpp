#pragma once
// Connection's members, for the translation units that instantiate it for
// one stream type each (connection_tcp.cpp, connection_tls.cpp, connection_ws.cpp).

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "gateway/broker/session.hpp"
#include "gateway/log/log.hpp"
#include "gateway/mqtt/codec.hpp"
#include "gateway/transport/connection.hpp"
#include "gateway/transport/streams.hpp"

namespace fieldgate::transport {
namespace detail {

constexpr std::size_t read_chunk = 4096;
constexpr std::size_t max_read_per_wakeup = 256 * 1024;

template <class Socket>
std::string describe_peer(const Socket& socket) {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    if (ec) return "?";
    const auto address = ep.address();
    return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace detail

template <class Stream>
Connection<Stream>::Connection(Stream stream, broker::Broker& broker, std::size_t worker, Deadlines& deadlines,
                               const ConnectionSettings& settings, broker::PeerInfo info, ConnectionSlot slot)
    : stream_(std::move(stream)),
      broker_(broker),
      deadlines_(deadlines),
      peer_(detail::describe_peer(socket_of(boost::beast::get_lowest_layer(stream_)))),
      info_(std::make_unique<const broker::PeerInfo>(std::move(info))),
      slot_(std::move(slot)),
      worker_(static_cast<std::uint32_t>(worker)),
      max_packet_size_(settings.max_packet_size) {
    broker_.stats().connections_open.fetch_add(1, std::memory_order_relaxed);
}

// Touches nothing outside itself but its place on the wheel (which the
// worker pool keeps until every connection is gone, or lets go of first): it
// may run while the worker pool is torn down, after the broker is gone.
template <class Stream>
Connection<Stream>::~Connection() = default;

// After attach_session() nobody asks (connection_port.hpp); this answers if they do.
template <class Stream>
const broker::PeerInfo& Connection<Stream>::peer_info() const {
    static const broker::PeerInfo attached{};
    return info_ ? *info_ : attached;
}

template <class Stream>
void Connection<Stream>::start(std::chrono::steady_clock::time_point connect_deadline) {
    if constexpr (detail::reads_when_readable<Stream>) {
        boost::system::error_code ignored;
        stream_.non_blocking(true, ignored);
    }
    if constexpr (is_websocket<Stream>) {
        // Runs inside a read of this connection, which holds it alive.
        stream_.control_callback([this](boost::beast::websocket::frame_type kind, boost::beast::string_view) {
            if (kind == boost::beast::websocket::frame_type::close) peer_closing();
        });
    }
    last_receive_ = deadlines_.now();
    // A socket that never sends CONNECT is closed [MQTT 5.0, 4.13].
    waiting_ = Waiting::connect;
    deadlines_.schedule(*this, connect_deadline);
    read();
}

// TCP: waits for the socket to become readable without a buffer, then reads
// what is there, so an idle connection holds no read buffer (about 0.7 KiB per
// idle connection is the goal, issue 4).
template <class Stream>
void Connection<Stream>::read() {
    if (reading_ || closed_ || closing_ || connecting_) return;
    reading_ = true;
    if constexpr (detail::reads_when_readable<Stream>) {
        static_assert(detail::reads_when_readable<TcpStream>);
        stream_.async_wait(Stream::wait_read,
                           boost::asio::bind_allocator(detail::SlotAllocator<void>(read_slot_),
                                                       [self = this->shared_from_this()](const boost::system::error_code& ec) {
                                                           self->on_readable(ec);
                                                       }));
    } else {
        // Nothing else touches the parser while this read is under way: packets
        // are processed only after it completes.
        auto buffer = parser().prepare(detail::read_chunk);
        stream_.async_read_some(boost::asio::buffer(buffer.data(), buffer.size()),
                                [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }
}

template <class Stream>
void Connection<Stream>::on_read(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    parser().commit(n);
    if constexpr (is_websocket<Stream>) {
        if (!ec && stream_.got_text()) {
            // MQTT travels in binary frames only [MQTT-6.0.0-1].
            log::get("broker")->info("{}: WebSocket text frame, closing", peer_);
            return fail();
        }
    }
    if (ec) {
        process();  // what arrived before the end still counts (a DISCONNECT, say)
        return fail();
    }
    received(n);
}

template <class Stream>
void Connection<Stream>::on_readable(const boost::system::error_code& ec) {
    reading_ = false;
    if (ec) return fail();
    std::size_t total = 0;
    boost::system::error_code read_ec;
    // Bounded per wake-up, so that one busy client cannot starve the others on its worker.
    while (total < detail::max_read_per_wakeup) {
        auto buffer = parser().prepare(detail::read_chunk);
        const std::size_t n = stream_.read_some(boost::asio::buffer(buffer.data(), buffer.size()), read_ec);
        parser().commit(n);
        total += n;
        if (read_ec || n < buffer.size()) break;
    }
    if (read_ec && read_ec != boost::asio::error::would_block) {
        process();  // what arrived before the end still counts (a DISCONNECT, say)
        return fail();
    }
    received(total);
}

template <class Stream>
void Connection<Stream>::received(std::size_t n) {
    last_receive_ = deadlines_.now();  // the keep-alive deadline moves lazily (expired())
    broker_.stats().bytes_received.fetch_add(n, std::memory_order_relaxed);
    process();
}

template <class Stream>
void Connection<Stream>::process() {
    processing_ = true;
    while (parser_ && !closed_ && !closing_ && !connecting_) {
        auto result = parser_->next();
        if (result.status == mqtt::DecodeStatus::need_more) break;
        if (result.status == mqtt::DecodeStatus::error) {
            on_decode_error(result.error);
            break;
        }
        if (session_ != nullptr) {
            session_->handle(result.packet);
            continue;
        }
        if (!std::holds_alternative<mqtt::Connect>(result.packet)) {
            // The first packet must be CONNECT [MQTT-3.1.0-1].
            log::get("broker")->info("{}: first packet is not CONNECT, closing", peer_);
            fail();
            break;
        }
        connecting_ = true;
        waiting_ = Waiting::none;
        deadlines_.cancel(*this);
        const auto bytes = parser_->last_packet();
        broker_.connect(this->shared_from_this(), worker_, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    }
    processing_ = false;
    // The session has attached by now (Session::attach ran): what the CONNECT
    // was decided on is no longer asked for.
    if (session_ != nullptr) info_.reset();
    if (parser_) {
        parser_->release_if_empty();
        // A parser that failed has its connection closing: never made afresh.
        if constexpr (detail::reads_when_readable<Stream>) {
            if (parser_->buffered() == 0 && !closing_ && !closed_) {
                version_ = parser_->version();
                parser_.reset();
            }
        }
    }
    read();
}

template <class Stream>
mqtt::StreamParser& Connection<Stream>::parser() {
    if (!parser_) parser_ = std::make_unique<mqtt::StreamParser>(max_packet_size_, version_);
    return *parser_;
}

template <class Stream>
void Connection<Stream>::on_decode_error(const mqtt::DecodeError& error) {
    auto log = log::get("broker");
    log->info("{}: {} ({}), closing", peer_, error.message, mqtt::reason_name(error.code));
    if (session_ != nullptr) {
        session_->disconnect(error.code, error.message);  // v5 DISCONNECT with the reason [MQTT-4.13.1-1]
        return;
    }
    // A refused CONNECT is answered in the version it asked for when the
    // reason can be told: always for an unsupported version [MQTT-3.1.2-2],
    // otherwise only in MQTT 5.
    const bool was_connect = parser_->buffered() > 0 && (parser_->pending_bytes()[0] >> 4) == 1;
    if (was_connect && (error.code == mqtt::ReasonCode::unsupported_protocol_version || mqtt::is_v5(error.version))) {
        mqtt::Connack connack;
        const auto code = static_cast<std::uint8_t>(error.code);
        connack.reason_code = mqtt::is_valid_reason_code(mqtt::PacketType::connack, code)
                                  ? error.code
                                  : mqtt::ReasonCode::protocol_error;
        mqtt::encode(connack, error.version, output_);
        close();
        return;
    }
    fail();
}

template <class Stream>
void Connection<Stream>::attach_session(broker::Session& session) {
    session_ = &session;
    connecting_ = false;
    if (processing_) return;  // the loop that handed over the CONNECT carries on
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
        if (!self->closed_) self->process();
    });
}

template <class Stream>
void Connection<Stream>::flush_soon() {
    if (writing_active_ || flush_posted_ || closed_) return;
    flush_posted_ = true;
    // Deferred, so that everything appended by the current handler goes in one write.
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
        self->flush_posted_ = false;
        self->write();
    });
}

template <class Stream>
void Connection<Stream>::write() {
    if (writing_active_ || closed_) return;
    if (output_.empty()) {
        if (closing_) shut();
        return;
    }
    writing_active_ = true;
    std::swap(writing_, output_);
    auto on_written = [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->broker_.stats().bytes_sent.fetch_add(n, std::memory_order_relaxed);
        self->on_write(ec);
    };
    if constexpr (is_websocket<Stream>) {
        stream_.async_write(boost::asio::buffer(writing_), std::move(on_written));  // one binary message
    } else {
        boost::asio::async_write(stream_, boost::asio::buffer(writing_), std::move(on_written));
    }
}

template <class Stream>
void Connection<Stream>::on_write(const boost::system::error_code& ec) {
    writing_active_ = false;
    // Freed, not kept: a quiet connection should hold no write buffer either.
    std::vector<std::uint8_t>().swap(writing_);
    if (ec) return fail();
    write();
}

template <class Stream>
void Connection<Stream>::close() {
    session_ = nullptr;  // the session is told nothing more
    connecting_ = false;
    closing_ = true;
    write();
}

template <class Stream>
void Connection<Stream>::close_after(std::chrono::milliseconds delay) {
    session_ = nullptr;
    connecting_ = true;  // reads stay paused meanwhile
    waiting_ = Waiting::none;
    deadlines_.cancel(*this);
    after(delay, &Connection::close_now);
}

template <class Stream>
void Connection<Stream>::close_now() {
    if (!closed_) close();
}

template <class Stream>
void Connection<Stream>::after(std::chrono::milliseconds delay, void (Connection::*then)()) {
    if (!delay_timer_) delay_timer_ = std::make_unique<boost::asio::steady_timer>(stream_.get_executor());
    delay_timer_->expires_after(delay);
    // The wait holds the connection: nothing else may while reads are paused.
    delay_timer_->async_wait([self = this->shared_from_this(), then](const boost::system::error_code& ec) {
        if (!ec) ((*self).*then)();
    });
}

template <class Stream>
void Connection<Stream>::set_receive_timeout(std::chrono::milliseconds timeout) {
    const auto ms = std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, 0xFFFFFFFF);
    receive_timeout_ms_ = static_cast<std::uint32_t>(ms);
    if (closed_) return;
    if (receive_timeout_ms_ == 0) {
        if (waiting_ == Waiting::keep_alive) deadlines_.cancel(*this);
        waiting_ = Waiting::none;
        return;
    }
    waiting_ = Waiting::keep_alive;
    deadlines_.schedule(*this, last_receive_ + std::chrono::milliseconds{receive_timeout_ms_});
}

// Runs from the wheel on the worker, the connection still referenced by its
// pending read (or write) or its session.
template <class Stream>
void Connection<Stream>::expired() {
    const auto self = this->shared_from_this();  // fail() may drop the last other reference
    const Waiting what = waiting_;
    waiting_ = Waiting::none;
    if (closed_) return;
    switch (what) {
        case Waiting::none:
            return;
        case Waiting::connect: {
            if (session_ != nullptr || connecting_) return;
            const auto log = log::get("broker");
            log->info("{}: no CONNECT within the connect timeout, closing", peer_);
            fail();
            return;
        }
        case Waiting::keep_alive: {
            if (receive_timeout_ms_ == 0) return;
            const auto due = last_receive_ + std::chrono::milliseconds{receive_timeout_ms_};
            if (deadlines_.now() < due) {
                // Data came in since: wait for the rest of the interval.
                waiting_ = Waiting::keep_alive;
                deadlines_.schedule(*this, due);
                return;
            }
            const auto log = log::get("broker");
            log->info("{}: keep-alive timeout, closing", peer_);
            if (session_ != nullptr) {
                session_->disconnect(mqtt::ReasonCode::keep_alive_timeout);  // [MQTT-3.1.2-22]
            } else {
                fail();
            }
            return;
        }
    }
}

// The client began the WebSocket closing handshake. For MQTT the connection
// has ended there (without DISCONNECT: the will goes out), whether or not the
// client then closes its socket; Beast answers the close and tears down,
// which the timer bounds.
template <class Stream>
void Connection<Stream>::peer_closing() {
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
        broker::Session* session = self->session_;
        self->session_ = nullptr;
        self->receive_timeout_ms_ = 0;
        self->waiting_ = Waiting::none;
        self->deadlines_.cancel(*self);
        if (session != nullptr) session->connection_lost();
        self->after(std::chrono::seconds{2}, &Connection::shut);
    });
}

template <class Stream>
void Connection<Stream>::fail() {
    if (closed_) return;
    broker::Session* session = session_;
    session_ = nullptr;
    shut();
    if (session != nullptr) session->connection_lost();
}

template <class Stream>
void Connection<Stream>::shut() {
    if (closed_) return;
    closed_ = true;
    broker_.stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
    slot_.release();
    waiting_ = Waiting::none;
    deadlines_.cancel(*this);
    if (delay_timer_) delay_timer_->cancel();
    auto& socket = socket_of(boost::beast::get_lowest_layer(stream_));
    if constexpr (is_websocket<Stream>) {
        // A close we chose (all output written): the WebSocket closing
        // handshake, bounded by the stream's timeout, then the socket.
        if (closing_ && !writing_active_ && stream_.is_open()) {
            stream_.async_close(boost::beast::websocket::close_code::normal,
                                [self = this->shared_from_this()](const boost::system::error_code&) {
                                    boost::system::error_code ignored;
                                    socket_of(boost::beast::get_lowest_layer(self->stream_)).close(ignored);
                                });
            return;
        }
    }
    boost::system::error_code ignored;
    socket.shutdown(boost::asio::socket_base::shutdown_both, ignored);
    socket.close(ignored);
}

}  // namespace fieldgate::transport
