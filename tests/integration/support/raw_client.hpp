#pragma once

// A raw TCP client on 127.0.0.1 for tests that need exact bytes on the wire:
// malformed packets, a client that stops talking, a client that never
// acknowledges. Packets are written by hand (hex, or the small builders
// below, written independently of fieldgate's encoder); answers may be decoded
// with fieldgate's codec. Every read is bounded by a timeout.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/mqtt/codec.hpp"

namespace fieldgate::test {

using Bytes = std::vector<std::uint8_t>;

// "10 0c 00 04" -> bytes; spaces and newlines are ignored.
Bytes hex(std::string_view text);
std::string to_hex(const Bytes& bytes);

// A decoded packet with the bytes it points into (so it is movable, not copyable).
struct RawPacket {
    Bytes bytes;
    mqtt::Packet packet;

    RawPacket() = default;
    RawPacket(RawPacket&&) = default;
    RawPacket& operator=(RawPacket&&) = default;
    RawPacket(const RawPacket&) = delete;
    RawPacket& operator=(const RawPacket&) = delete;

    mqtt::PacketType type() const { return mqtt::type_of(packet); }
    template <class T>
    const T& as() const { return std::get<T>(packet); }
};

// One read of what `fd` has, within `timeout`, appended to `buffer`; false
// when nothing came. End of file or an error sets `closed`.
bool fill_from_socket(int fd, Bytes& buffer, bool& closed, std::chrono::milliseconds timeout);

// The next whole packet at the front of `buffer`, taken out of it; nullopt
// when it holds only part of one. A packet fieldgate's decoder refuses throws
// std::runtime_error naming `who`.
std::optional<RawPacket> take_packet(Bytes& buffer, mqtt::ProtocolVersion version, std::string_view who);

class RawClient {
public:
    // Connects to 127.0.0.1:port; throws when it cannot.
    explicit RawClient(std::uint16_t port);
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    // Writes all of `bytes`; false when the peer has gone (EPIPE, ECONNRESET).
    bool send(const Bytes& bytes);
    bool send_hex(std::string_view text) { return send(hex(text)); }

    // Bytes that arrive within `timeout` (at least one read's worth, or none).
    Bytes read_some(std::chrono::milliseconds timeout);

    // The next whole packet, decoded as `version` would send it; nullopt when
    // none arrives in time or the connection closed first. A packet that
    // fieldgate's decoder refuses throws std::runtime_error.
    std::optional<RawPacket> read_packet(mqtt::ProtocolVersion version, std::chrono::milliseconds timeout);

    // Waits until the server closes the connection (end of file or reset),
    // collecting bytes that arrive meanwhile (see pending()). True when closed
    // within `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout);
    bool closed() const { return closed_; }
    // The socket, for poll() over many clients (-1 once closed here).
    int fd() const { return fd_; }

    // Received bytes not yet returned as packets.
    const Bytes& pending() const { return buffer_; }

    // Closes the socket (FIN), or resets it (RST, SO_LINGER 0): either way without DISCONNECT.
    void close();
    void reset();

private:
    // One read into buffer_, waiting at most `timeout`; false when nothing came.
    bool fill(std::chrono::milliseconds timeout);

    int fd_ = -1;
    Bytes buffer_;
    bool closed_ = false;
};

// Packet builders for well-formed packets (written here byte by byte, not
// with fieldgate's encoder, so that the tests do not share its mistakes).
namespace raw {

struct Will {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    Bytes properties;  // v5 will properties, already encoded (without the length)
};

struct Connect {
    mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v3_1_1;
    std::string client_id;
    bool clean = true;
    std::uint16_t keepalive = 60;
    std::optional<Will> will;
    Bytes properties;  // v5 CONNECT properties, already encoded (without the length)
    // Set the User Name / Password flags and add the fields after the will
    // [MQTT-3.1.2-18..22]; the password is binary data (2-byte length + bytes).
    // A password without a user name is a protocol error in 3.1.1, left to the
    // caller to send on purpose.
    std::optional<std::string> username;
    std::optional<std::string> password;
};

Bytes variable_int(std::uint32_t value);
Bytes str(std::string_view s);
Bytes u16(std::uint16_t value);
Bytes u32(std::uint32_t value);
// Fixed header byte + remaining length + body.
Bytes packet(std::uint8_t first_byte, const Bytes& body);

Bytes connect(const Connect& c);
Bytes subscribe(mqtt::ProtocolVersion version, std::uint16_t packet_id, std::string_view filter, int qos);
Bytes publish(mqtt::ProtocolVersion version, std::string_view topic, std::string_view payload, int qos = 0,
              std::uint16_t packet_id = 0, bool retain = false);
Bytes puback(mqtt::ProtocolVersion version, std::uint16_t packet_id);
Bytes pubrec(mqtt::ProtocolVersion version, std::uint16_t packet_id);
Bytes pubrel(mqtt::ProtocolVersion version, std::uint16_t packet_id);
Bytes pubcomp(mqtt::ProtocolVersion version, std::uint16_t packet_id);
Bytes pingreq();
Bytes disconnect(mqtt::ProtocolVersion version, std::uint8_t reason = 0);

// Property helpers: id byte + value.
Bytes prop_u32(std::uint8_t id, std::uint32_t value);

}  // namespace raw

}  // namespace fieldgate::test
