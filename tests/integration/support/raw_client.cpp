#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace fieldgate::test {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

Millis remaining(Clock::time_point deadline) {
    return std::max(std::chrono::duration_cast<Millis>(deadline - Clock::now()), Millis{0});
}

int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

Bytes hex(std::string_view text) {
    Bytes out;
    int high = -1;
    for (const char c : text) {
        if (c == ' ' || c == '\n' || c == '\t') continue;
        const int v = nibble(c);
        if (v < 0) throw std::invalid_argument("hex: not a hex digit in \"" + std::string(text) + "\"");
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(high * 16 + v));
            high = -1;
        }
    }
    if (high >= 0) throw std::invalid_argument("hex: odd number of digits in \"" + std::string(text) + "\"");
    return out;
}

std::string to_hex(const Bytes& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto b : bytes) {
        if (!out.empty()) out += ' ';
        out += digits[b >> 4];
        out += digits[b & 0xF];
    }
    return out;
}

RawClient::RawClient(std::uint16_t port) {
    std::signal(SIGPIPE, SIG_IGN);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const std::string error = std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + error);
    }
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

RawClient::~RawClient() { close(); }

bool RawClient::send(const Bytes& bytes) {
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + written, bytes.size() - written, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        written += static_cast<std::size_t>(n);
    }
    return true;
}

bool fill_from_socket(int fd, Bytes& buffer, bool& closed, Millis timeout) {
    if (closed || fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) return false;
    std::array<std::uint8_t, 65536> chunk{};
    const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n > 0) {
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + n);
        return true;
    }
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) closed = true;
    return false;
}

bool RawClient::fill(Millis timeout) { return fill_from_socket(fd_, buffer_, closed_, timeout); }

Bytes RawClient::read_some(Millis timeout) {
    if (buffer_.empty()) fill(timeout);
    Bytes out;
    out.swap(buffer_);
    return out;
}

std::optional<RawPacket> take_packet(Bytes& buffer, mqtt::ProtocolVersion version, std::string_view who) {
    if (buffer.empty()) return std::nullopt;
    const auto result = mqtt::decode(buffer, version);
    if (result.status == mqtt::DecodeStatus::error) {
        throw std::runtime_error(std::string(who) + ": cannot decode what the server sent (" +
                                 std::string(result.error.message) + "): " + to_hex(buffer));
    }
    if (result.status != mqtt::DecodeStatus::packet) return std::nullopt;
    RawPacket out;
    out.bytes.assign(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(result.size));
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(result.size));
    // Decode again from the packet's own storage, so its views point there.
    out.packet = mqtt::decode(out.bytes, version).packet;
    return out;
}

std::optional<RawPacket> RawClient::read_packet(mqtt::ProtocolVersion version, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (auto packet = take_packet(buffer_, version, "raw client")) return packet;
        const Millis left = remaining(deadline);
        if (left.count() == 0 || closed_) return std::nullopt;
        fill(left);
    }
}

bool RawClient::wait_closed(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_) {
        const Millis left = remaining(deadline);
        if (left.count() == 0) break;
        fill(left);
    }
    return closed_;
}

void RawClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    closed_ = true;
}

void RawClient::reset() {
    if (fd_ >= 0) {
        const linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close();
}

namespace raw {

Bytes variable_int(std::uint32_t value) {
    Bytes out;
    do {
        std::uint8_t b = value % 128;
        value /= 128;
        if (value > 0) b |= 0x80;
        out.push_back(b);
    } while (value > 0);
    return out;
}

Bytes u16(std::uint16_t value) { return {static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value & 0xFF)}; }

Bytes u32(std::uint32_t value) {
    return {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>((value >> 16) & 0xFF),
            static_cast<std::uint8_t>((value >> 8) & 0xFF), static_cast<std::uint8_t>(value & 0xFF)};
}

Bytes str(std::string_view s) {
    Bytes out;
    out.reserve(2 + s.size());
    out.push_back(static_cast<std::uint8_t>(s.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(s.size() & 0xFF));
    for (const char c : s) out.push_back(static_cast<std::uint8_t>(c));
    return out;
}

namespace {

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

void append_properties(Bytes& out, const Bytes& properties) {
    append(out, variable_int(static_cast<std::uint32_t>(properties.size())));
    append(out, properties);
}

bool v5(mqtt::ProtocolVersion version) { return version == mqtt::ProtocolVersion::v5; }

Bytes ack(std::uint8_t first_byte, mqtt::ProtocolVersion, std::uint16_t packet_id) {
    // Reason code 0 with no properties may be left out in v5 too [MQTT-3.4.2.1].
    return packet(first_byte, u16(packet_id));
}

}  // namespace

Bytes packet(std::uint8_t first_byte, const Bytes& body) {
    Bytes out{first_byte};
    append(out, variable_int(static_cast<std::uint32_t>(body.size())));
    append(out, body);
    return out;
}

Bytes connect(const Connect& c) {
    Bytes body;
    const bool is31 = c.version == mqtt::ProtocolVersion::v3_1;
    append(body, str(is31 ? "MQIsdp" : "MQTT"));
    body.push_back(static_cast<std::uint8_t>(c.version));
    std::uint8_t flags = c.clean ? 0x02 : 0x00;
    if (c.username) flags |= 0x80;
    if (c.password) flags |= 0x40;
    if (c.will) {
        flags |= 0x04;
        flags |= static_cast<std::uint8_t>((c.will->qos & 3) << 3);
        if (c.will->retain) flags |= 0x20;
    }
    body.push_back(flags);
    append(body, u16(c.keepalive));
    if (v5(c.version)) append_properties(body, c.properties);
    append(body, str(c.client_id));
    if (c.will) {
        if (v5(c.version)) append_properties(body, c.will->properties);
        append(body, str(c.will->topic));
        append(body, str(c.will->payload));
    }
    if (c.username) append(body, str(*c.username));
    if (c.password) append(body, str(*c.password));
    return packet(0x10, body);
}

Bytes subscribe(mqtt::ProtocolVersion version, std::uint16_t packet_id, std::string_view filter, int qos) {
    Bytes body = u16(packet_id);
    if (v5(version)) body.push_back(0x00);
    append(body, str(filter));
    body.push_back(static_cast<std::uint8_t>(qos));
    return packet(0x82, body);
}

Bytes publish(mqtt::ProtocolVersion version, std::string_view topic, std::string_view payload, int qos,
              std::uint16_t packet_id, bool retain) {
    Bytes body = str(topic);
    if (qos > 0) append(body, u16(packet_id));
    if (v5(version)) body.push_back(0x00);
    body.insert(body.end(), payload.begin(), payload.end());
    return packet(static_cast<std::uint8_t>(0x30 | (qos << 1) | (retain ? 1 : 0)), body);
}

Bytes puback(mqtt::ProtocolVersion version, std::uint16_t packet_id) { return ack(0x40, version, packet_id); }
Bytes pubrec(mqtt::ProtocolVersion version, std::uint16_t packet_id) { return ack(0x50, version, packet_id); }
Bytes pubrel(mqtt::ProtocolVersion version, std::uint16_t packet_id) { return ack(0x62, version, packet_id); }
Bytes pubcomp(mqtt::ProtocolVersion version, std::uint16_t packet_id) { return ack(0x70, version, packet_id); }
Bytes pingreq() { return {0xC0, 0x00}; }

Bytes disconnect(mqtt::ProtocolVersion version, std::uint8_t reason) {
    if (!v5(version) || reason == 0) return {0xE0, 0x00};
    return {0xE0, 0x01, reason};
}

Bytes prop_u32(std::uint8_t id, std::uint32_t value) {
    Bytes out{id};
    append(out, u32(value));
    return out;
}

}  // namespace raw

}  // namespace fieldgate::test
