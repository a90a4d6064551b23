#pragma once

// A hand-written WebSocket client (RFC 6455) over a raw TCP socket, for the
// tests that need exact bytes: the HTTP upgrade and its answers, frames
// built here byte by byte (masked as a client must, or not, split or
// merged at will), and the server's frames read back exactly as they came.
// Written independently of fieldgate's transport (no Beast), so that the
// tests do not share its mistakes. Every read is bounded by a timeout.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/raw_client.hpp"

namespace fieldgate::test {

namespace ws {

enum Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

struct Frame {
    bool fin = true;
    std::uint8_t rsv = 0;  // RSV1-3 as the high bits of the first byte (0x70 mask)
    std::uint8_t opcode = 0;
    bool masked = false;
    Bytes payload;  // unmasked

    // The status code of a close frame (0 when it has none).
    int close_code() const { return payload.size() >= 2 ? (payload[0] << 8) | payload[1] : 0; }
};

std::string describe(const Frame& frame);

// One frame as a client sends it: masked with a fixed, non-trivial key
// unless `mask` is false [RFC 6455 5.2, 5.3]; lengths of 7, 16 or 64 bits.
Bytes frame(std::uint8_t opcode, const Bytes& payload, bool fin = true, bool mask = true);
// A close frame with a status code.
Bytes close_frame(std::uint16_t code);

// Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)) [RFC 6455 4.2.2].
std::string accept_key(std::string_view key);
std::string base64(const Bytes& bytes);

// A GET upgrade request for `path` with `key`, offering `protocols` (none:
// no Sec-WebSocket-Protocol header), with `extra_headers` ("Name: value\r\n" each) added.
std::string upgrade_request(const std::string& path, const std::string& host, const std::string& key,
                            const std::vector<std::string>& protocols, const std::string& extra_headers = {});

}  // namespace ws

struct HttpResponse {
    std::string status_line;  // "HTTP/1.1 101 Switching Protocols", without the line end
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;  // the body by Content-Length (or what came before the close)

    // The first header of that name (case-insensitive), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
};

class WsClient {
public:
    // Connects to `host`:`port` ("127.0.0.1" or "::1"); throws when it cannot.
    explicit WsClient(std::uint16_t port, std::string host = "127.0.0.1");
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // The key sent in the upgrade request (fixed per client).
    const std::string& key() const { return key_; }

    // Writes all of `bytes`; false when the peer has gone.
    bool send_raw(std::string_view bytes);
    bool send_raw(const Bytes& bytes);

    // Reads one HTTP response (head, then the body by Content-Length).
    std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout);
    // Sends an upgrade request for `path` offering `protocols`, and returns the answer, whatever it is.
    std::optional<HttpResponse> upgrade(const std::string& path = "/mqtt",
                                        const std::vector<std::string>& protocols = {"mqtt"},
                                        std::chrono::milliseconds timeout = std::chrono::milliseconds{3000});
    // The same, but throws unless the answer is 101 with the right Sec-WebSocket-Accept.
    void open(const std::string& path = "/mqtt", const std::vector<std::string>& protocols = {"mqtt"});

    // Frames.
    bool send_frame(std::uint8_t opcode, const Bytes& payload, bool fin = true, bool mask = true);
    // The next frame from the server; nullopt at the deadline or when the connection closed first.
    std::optional<ws::Frame> read_frame(std::chrono::milliseconds timeout);

    // MQTT over the WebSocket: `bytes` as one binary frame.
    bool send_mqtt(const Bytes& bytes) { return send_frame(ws::binary, bytes); }
    // The next MQTT packet from the payloads of the server's binary frames
    // (a packet may span frames; a frame may hold several). Control frames
    // that arrive meanwhile are kept (control_frames()); a text frame throws.
    std::optional<RawPacket> read_packet(mqtt::ProtocolVersion version, std::chrono::milliseconds timeout);
    // Frames of the server that read_packet set aside (ping, pong, close), oldest first.
    std::deque<ws::Frame>& control_frames() { return control_; }
    // Binary payload bytes received and not yet returned as packets.
    const Bytes& mqtt_pending() const { return stream_; }

    // Waits until the server closes the connection, keeping what arrives
    // meanwhile (read it afterwards with read_frame / read_packet).
    bool wait_closed(std::chrono::milliseconds timeout);
    bool closed() const { return closed_; }
    // The socket, for poll() over many clients (-1 once closed here).
    int fd() const { return fd_; }
    // Received bytes not yet parsed as a response or frames.
    const Bytes& pending() const { return buffer_; }

    void close();

private:
    bool fill(std::chrono::milliseconds timeout);
    // A whole frame at the front of buffer_, removed from it; nullopt when incomplete.
    std::optional<ws::Frame> take_frame();

    int fd_ = -1;
    std::string key_;
    Bytes buffer_;
    Bytes stream_;
    std::deque<ws::Frame> control_;
    bool closed_ = false;
};

}  // namespace fieldgate::test
