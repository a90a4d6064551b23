#include "support/ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
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

// SHA-1 [RFC 3174], only for Sec-WebSocket-Accept.
std::array<std::uint8_t, 20> sha1(std::string_view text) {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    Bytes message(text.begin(), text.end());
    const std::uint64_t bits = static_cast<std::uint64_t>(message.size()) * 8;
    message.push_back(0x80);
    while (message.size() % 64 != 56) message.push_back(0);
    for (int i = 7; i >= 0; --i) message.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
    const auto rotl = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
    for (std::size_t block = 0; block < message.size(); block += 64) {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i) {
            const std::uint8_t* p = &message[block + 4 * static_cast<std::size_t>(i)];
            w[i] = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
        }
        for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f = 0, k = 0;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            const std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rotl(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    std::array<std::uint8_t, 20> out{};
    for (int i = 0; i < 20; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(h[i / 4] >> (24 - 8 * (i % 4)));
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return std::string(s);
}

// A key per client: 16 bytes, base64 [RFC 6455 4.1]; varied so that a
// server answering with a fixed accept value is caught.
std::string make_key() {
    static unsigned counter = 0;
    Bytes raw(16);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        raw[i] = static_cast<std::uint8_t>((counter * 131 + i * 29 + static_cast<unsigned>(::getpid())) & 0xFF);
    }
    ++counter;
    return ws::base64(raw);
}

}  // namespace

namespace ws {

std::string describe(const Frame& f) {
    static const char* const names[16] = {"continuation", "text", "binary", "0x3", "0x4", "0x5", "0x6", "0x7",
                                          "close",        "ping", "pong",   "0xb", "0xc", "0xd", "0xe", "0xf"};
    std::string out = std::string(names[f.opcode & 0xF]) + (f.fin ? "" : " (not fin)") + (f.masked ? " masked" : "") +
                      (f.rsv != 0 ? " rsv" : "") + " [" + std::to_string(f.payload.size()) + "]";
    if (f.opcode == close && f.payload.size() >= 2) out += " code " + std::to_string(f.close_code());
    if (!f.payload.empty() && f.payload.size() <= 32) out += " " + to_hex(f.payload);
    return out;
}

Bytes frame(std::uint8_t opcode, const Bytes& payload, bool fin, bool mask) {
    Bytes out;
    out.push_back(static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | (opcode & 0x0F)));
    const std::uint8_t mask_bit = mask ? 0x80 : 0x00;
    const std::size_t n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<std::uint8_t>(mask_bit | n));
    } else if (n <= 0xFFFF) {
        out.push_back(mask_bit | 126);
        out.push_back(static_cast<std::uint8_t>(n >> 8));
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        out.push_back(mask_bit | 127);
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(n) >> (8 * i)));
    }
    static constexpr std::array<std::uint8_t, 4> key{0x37, 0xfa, 0x21, 0x3d};
    if (mask) out.insert(out.end(), key.begin(), key.end());
    for (std::size_t i = 0; i < n; ++i) out.push_back(mask ? static_cast<std::uint8_t>(payload[i] ^ key[i % 4]) : payload[i]);
    return out;
}

Bytes close_frame(std::uint16_t code) {
    return frame(close, Bytes{static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)});
}

std::string base64(const Bytes& bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::uint32_t b0 = bytes[i];
        const std::uint32_t b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0;
        const std::uint32_t b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
        const std::uint32_t v = (b0 << 16) | (b1 << 8) | b2;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? alphabet[v & 63] : '=';
    }
    return out;
}

std::string accept_key(std::string_view key) {
    const auto digest = sha1(std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    return base64(Bytes(digest.begin(), digest.end()));
}

std::string upgrade_request(const std::string& path, const std::string& host, const std::string& key,
                            const std::vector<std::string>& protocols, const std::string& extra_headers) {
    std::string r = "GET " + path + " HTTP/1.1\r\n"
                    "Host: " + host + "\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    "Sec-WebSocket-Key: " + key + "\r\n"
                    "Sec-WebSocket-Version: 13\r\n";
    if (!protocols.empty()) {
        std::string list;
        for (const auto& p : protocols) list += (list.empty() ? "" : ", ") + p;
        r += "Sec-WebSocket-Protocol: " + list + "\r\n";
    }
    return r + extra_headers + "\r\n";
}

}  // namespace ws

std::optional<std::string> HttpResponse::header(std::string_view name) const {
    const std::string wanted = lower(name);
    for (const auto& [n, v] : headers) {
        if (lower(n) == wanted) return v;
    }
    return std::nullopt;
}

WsClient::WsClient(std::uint16_t port, std::string host) : key_(make_key()) {
    std::signal(SIGPIPE, SIG_IGN);
    const bool v6 = host.find(':') != std::string::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int rc = -1;
    if (v6) {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_port = htons(port);
        if (::inet_pton(AF_INET6, host.c_str(), &address.sin6_addr) != 1) throw std::invalid_argument("bad address " + host);
        rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    } else {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) throw std::invalid_argument("bad address " + host);
        rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    }
    if (rc != 0) {
        const std::string error = std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + ": " + error);
    }
    // Each send is its own segment, so frames sent apart arrive apart.
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

WsClient::~WsClient() { close(); }

void WsClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool WsClient::send_raw(std::string_view bytes) {
    if (fd_ < 0) return false;
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + written, bytes.size() - written, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        written += static_cast<std::size_t>(n);
    }
    return true;
}

bool WsClient::send_raw(const Bytes& bytes) {
    return send_raw(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool WsClient::fill(Millis timeout) { return fill_from_socket(fd_, buffer_, closed_, timeout); }

std::optional<HttpResponse> WsClient::read_response(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    static constexpr std::string_view end_of_head = "\r\n\r\n";
    auto head_end = buffer_.end();
    while ((head_end = std::search(buffer_.begin(), buffer_.end(), end_of_head.begin(), end_of_head.end())) ==
           buffer_.end()) {
        const Millis left = remaining(deadline);
        if (left.count() == 0 || closed_) return std::nullopt;
        fill(left);
    }
    const std::string head(buffer_.begin(), head_end);
    buffer_.erase(buffer_.begin(), head_end + static_cast<std::ptrdiff_t>(end_of_head.size()));

    HttpResponse response;
    std::size_t line_end = head.find("\r\n");
    response.status_line = head.substr(0, line_end);
    if (response.status_line.size() >= 12 && response.status_line.starts_with("HTTP/1.")) {
        response.status = std::atoi(response.status_line.substr(9, 3).c_str());
    }
    while (line_end != std::string::npos) {
        const std::size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        response.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    if (response.status == 101) return response;  // frames follow, no body
    std::size_t length = 0;
    const auto content_length = response.header("Content-Length");
    const bool has_length = content_length.has_value();
    if (has_length) length = static_cast<std::size_t>(std::stoul(*content_length));
    while ((has_length ? buffer_.size() < length : !closed_)) {
        const Millis left = remaining(deadline);
        if (left.count() == 0 || closed_) break;
        fill(left);
    }
    const std::size_t take = has_length ? std::min(length, buffer_.size()) : buffer_.size();
    response.body.assign(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(take));
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(take));
    return response;
}

std::optional<HttpResponse> WsClient::upgrade(const std::string& path, const std::vector<std::string>& protocols,
                                              Millis timeout) {
    if (!send_raw(ws::upgrade_request(path, "127.0.0.1", key_, protocols))) return std::nullopt;
    return read_response(timeout);
}

void WsClient::open(const std::string& path, const std::vector<std::string>& protocols) {
    const auto response = upgrade(path, protocols);
    if (!response) throw std::runtime_error("no answer to the WebSocket upgrade of " + path);
    if (response->status != 101 || response->header("Sec-WebSocket-Accept") != ws::accept_key(key_)) {
        throw std::runtime_error("WebSocket upgrade of " + path + " refused: " + response->status_line);
    }
}

bool WsClient::send_frame(std::uint8_t opcode, const Bytes& payload, bool fin, bool mask) {
    return send_raw(ws::frame(opcode, payload, fin, mask));
}

std::optional<ws::Frame> WsClient::take_frame() {
    if (buffer_.size() < 2) return std::nullopt;
    ws::Frame f;
    f.fin = (buffer_[0] & 0x80) != 0;
    f.rsv = buffer_[0] & 0x70;
    f.opcode = buffer_[0] & 0x0F;
    f.masked = (buffer_[1] & 0x80) != 0;
    std::uint64_t length = buffer_[1] & 0x7F;
    std::size_t at = 2;
    if (length == 126) {
        if (buffer_.size() < at + 2) return std::nullopt;
        length = (std::uint64_t{buffer_[2]} << 8) | buffer_[3];
        at += 2;
    } else if (length == 127) {
        if (buffer_.size() < at + 8) return std::nullopt;
        length = 0;
        for (int i = 0; i < 8; ++i) length = (length << 8) | buffer_[2 + static_cast<std::size_t>(i)];
        at += 8;
    }
    std::array<std::uint8_t, 4> key{};
    if (f.masked) {
        if (buffer_.size() < at + 4) return std::nullopt;
        std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(at), 4, key.begin());
        at += 4;
    }
    if (length > (1u << 26)) throw std::runtime_error("WebSocket frame of " + std::to_string(length) + " bytes from the server");
    if (buffer_.size() < at + length) return std::nullopt;
    f.payload.assign(buffer_.begin() + static_cast<std::ptrdiff_t>(at),
                     buffer_.begin() + static_cast<std::ptrdiff_t>(at + length));
    if (f.masked) {
        for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] ^= key[i % 4];
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at + length));
    return f;
}

std::optional<ws::Frame> WsClient::read_frame(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (auto f = take_frame()) return f;
        const Millis left = remaining(deadline);
        if (left.count() == 0 || closed_) return std::nullopt;
        fill(left);
    }
}

std::optional<RawPacket> WsClient::read_packet(mqtt::ProtocolVersion version, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (auto packet = take_packet(stream_, version, "ws client")) return packet;
        auto f = read_frame(remaining(deadline));
        if (!f) return std::nullopt;
        if (f->masked) throw std::runtime_error("the server sent a masked frame: " + ws::describe(*f));
        if (f->opcode == ws::binary || f->opcode == ws::continuation) {
            stream_.insert(stream_.end(), f->payload.begin(), f->payload.end());
        } else if (f->opcode == ws::text) {
            throw std::runtime_error("the server sent a text frame: " + ws::describe(*f));
        } else {
            const bool was_close = f->opcode == ws::close;
            control_.push_back(std::move(*f));
            if (was_close) return std::nullopt;
        }
    }
}

bool WsClient::wait_closed(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_) {
        const Millis left = remaining(deadline);
        if (left.count() == 0) return false;
        fill(left);
    }
    return true;
}

}  // namespace fieldgate::test
