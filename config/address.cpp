#include "config/address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace fieldgate::config {
namespace {

bool is_ipv4(const std::string& s) {
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
    in6_addr a{};
    return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool is_host_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '.' || c == '_';
        if (!ok) return false;
    }
    return true;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size() || value == 0 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

struct HostPort {
    std::string host;
    std::string_view port;  // empty when absent
    bool bracketed = false;
};

// "host", "host:port", "[v6]", "[v6]:port"
std::optional<HostPort> split_host_port(std::string_view s) {
    HostPort hp;
    if (s.starts_with('[')) {
        const auto close = s.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        hp.host = std::string(s.substr(1, close - 1));
        hp.bracketed = true;
        const auto rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (!rest.starts_with(':')) return std::nullopt;
            hp.port = rest.substr(1);
            if (hp.port.empty()) return std::nullopt;
        }
        return hp;
    }
    const auto colon = s.find(':');
    hp.host = std::string(s.substr(0, colon));
    if (colon != std::string_view::npos) {
        hp.port = s.substr(colon + 1);
        if (hp.port.empty()) return std::nullopt;
    }
    return hp;
}

std::uint16_t default_port(std::string_view scheme) {
    if (scheme == "mqtt") return 1883;
    if (scheme == "mqtts") return 8883;
    if (scheme == "ws") return 80;
    if (scheme == "wss") return 443;
    if (scheme == "tcp") return 502;
    return 0;
}

}  // namespace

std::optional<BindAddress> parse_bind_address(std::string_view text) {
    const auto hp = split_host_port(text);
    if (!hp || hp->port.empty()) return std::nullopt;
    if (hp->bracketed ? !is_ipv6(hp->host) : !is_ipv4(hp->host)) return std::nullopt;
    const auto port = parse_port(hp->port);
    if (!port) return std::nullopt;
    return BindAddress{hp->host, *port};
}

std::optional<Url> parse_url(std::string_view text) {
    const auto sep = text.find("://");
    if (sep == std::string_view::npos || sep == 0) return std::nullopt;
    Url url;
    url.scheme = std::string(text.substr(0, sep));
    const auto rest = text.substr(sep + 3);
    if (url.scheme == "rtu") {  // rtu:///dev/ttyUSB0: no host, the path is the device
        if (!rest.starts_with('/') || rest.size() < 2) return std::nullopt;
        url.path = std::string(rest);
        return url;
    }
    const auto slash = rest.find('/');
    const auto authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) url.path = std::string(rest.substr(slash));
    const auto hp = split_host_port(authority);
    if (!hp) return std::nullopt;
    if (hp->bracketed ? !is_ipv6(hp->host) : !is_host_name(hp->host)) return std::nullopt;
    url.host = hp->host;
    if (hp->port.empty()) {
        url.port = default_port(url.scheme);
    } else {
        const auto port = parse_port(hp->port);
        if (!port) return std::nullopt;
        url.port = *port;
    }
    return url;
}

}  // namespace fieldgate::config
