#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldgate::config {

// "0.0.0.0:1883", "[::]:1883", "127.0.0.1:8081": an IP literal and a port.
struct BindAddress {
    std::string host;  // without brackets
    std::uint16_t port = 0;
};
std::optional<BindAddress> parse_bind_address(std::string_view text);

// scheme://host[:port][/path], the host a name, an IPv4 literal or [IPv6].
// The port defaults by scheme: mqtt 1883, mqtts 8883, ws 80, wss 443, tcp 502.
struct Url {
    std::string scheme;
    std::string host;
    std::uint16_t port = 0;
    std::string path;  // with its leading '/'; for rtu:// the device path
};
std::optional<Url> parse_url(std::string_view text);

}  // namespace fieldgate::config
