// Durations, sizes, bind addresses and URLs as written in the configuration.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/address.hpp"
#include "config/units.hpp"

using namespace fieldgate::config;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------------------
// Durations

TEST(ConfigUnits, DurationsParseInEveryUnit) {
    EXPECT_EQ(parse_duration("0s"), Duration{0});
    EXPECT_EQ(parse_duration("0ms"), Duration{0});
    EXPECT_EQ(parse_duration("500ms"), 500ms);
    EXPECT_EQ(parse_duration("10s"), 10s);
    EXPECT_EQ(parse_duration("2m"), 2min);
    EXPECT_EQ(parse_duration("1h"), 1h);
    EXPECT_EQ(parse_duration("7d"), 168h);
    EXPECT_EQ(parse_duration("65535s"), 65535s);
    EXPECT_EQ(parse_duration("007s"), 7s);
}

TEST(ConfigUnits, DurationsWithoutExactlyOneUnitAreRejected) {
    for (std::string_view text : {"", "10", "s", "ms", "1.5s", "-1s", "+1s", "10 s", " 10s", "10s ", "10sec", "10S",
                                  "10Ms", "1h30m", "0x10s", "1e3ms", "10us", "1w", "\"10s\""}) {
        EXPECT_EQ(parse_duration(text), std::nullopt) << '"' << text << '"';
    }
}

TEST(ConfigUnits, DurationsThatOverflowAreRejected) {
    EXPECT_EQ(parse_duration("99999999999999999999d"), std::nullopt);
    EXPECT_EQ(parse_duration("99999999999999999999ms"), std::nullopt);
    EXPECT_EQ(parse_duration("9223372036854775808ms"), std::nullopt);  // INT64_MAX + 1
    EXPECT_EQ(parse_duration("106751991168d"), std::nullopt);          // just over INT64_MAX ms
    EXPECT_EQ(parse_duration("9223372036854775807ms"), Duration{INT64_MAX});
    EXPECT_EQ(parse_duration("106751991167d"), Duration{106751991167LL * 86'400'000LL});
}

TEST(ConfigUnits, DurationsFormatInTheLargestExactUnit) {
    EXPECT_EQ(format_duration(Duration{0}), "0s");
    EXPECT_EQ(format_duration(500ms), "500ms");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(10s), "10s");
    EXPECT_EQ(format_duration(90s), "90s");
    EXPECT_EQ(format_duration(2min), "2m");
    EXPECT_EQ(format_duration(1h), "1h");
    EXPECT_EQ(format_duration(36h), "36h");
    EXPECT_EQ(format_duration(168h), "7d");
    EXPECT_EQ(format_duration(65535s), "65535s");
}

TEST(ConfigUnits, FormattedDurationsParseBackToTheSameValue) {
    for (const Duration d : {Duration{0}, Duration{1}, Duration{999}, Duration{1000}, Duration{61'000},
                             Duration{3'600'001}, Duration{86'400'000}, Duration{90'000'000},
                             Duration{INT64_MAX}}) {
        const auto text = format_duration(d);
        EXPECT_EQ(parse_duration(text), d) << text;
    }
}

// ---------------------------------------------------------------------------
// Sizes

TEST(ConfigUnits, SizesParseInEveryBinaryUnit) {
    EXPECT_EQ(parse_size("0B"), ByteSize{0});
    EXPECT_EQ(parse_size("512B"), ByteSize{512});
    EXPECT_EQ(parse_size("64KiB"), ByteSize{64u << 10});
    EXPECT_EQ(parse_size("1MiB"), ByteSize{1u << 20});
    EXPECT_EQ(parse_size("256MiB"), ByteSize{256u << 20});
    EXPECT_EQ(parse_size("2GiB"), ByteSize{2ull << 30});
}

TEST(ConfigUnits, SizesWithoutExactlyOneBinaryUnitAreRejected) {
    for (std::string_view text : {"", "1", "B", "1MB", "1KB", "1kB", "1mib", "1MIB", "1.5MiB", "1 MiB", "-1B",
                                  "+1B", "1TiB", "1MiBB", "1Mi", "1KiB512B"}) {
        EXPECT_EQ(parse_size(text), std::nullopt) << '"' << text << '"';
    }
}

TEST(ConfigUnits, SizesThatOverflowAreRejected) {
    EXPECT_EQ(parse_size("99999999999999999999B"), std::nullopt);
    EXPECT_EQ(parse_size("8589934592GiB"), std::nullopt);  // 2^63 bytes
    EXPECT_EQ(parse_size("8589934591GiB"), ByteSize{8589934591ull << 30});
}

TEST(ConfigUnits, SizesFormatInTheLargestExactUnit) {
    EXPECT_EQ(format_size(ByteSize{0}), "0B");
    EXPECT_EQ(format_size(ByteSize{64}), "64B");
    EXPECT_EQ(format_size(ByteSize{1023}), "1023B");
    EXPECT_EQ(format_size(ByteSize{1024}), "1KiB");
    EXPECT_EQ(format_size(ByteSize{1536}), "1536B");
    EXPECT_EQ(format_size(ByteSize{1u << 20}), "1MiB");
    EXPECT_EQ(format_size(ByteSize{268'435'460}), "268435460B");
    EXPECT_EQ(format_size(ByteSize{3ull << 30}), "3GiB");
    EXPECT_EQ(format_size(ByteSize{1ull << 40}), "1024GiB");
}

TEST(ConfigUnits, FormattedSizesParseBackToTheSameValue) {
    for (const std::uint64_t bytes : {0ull, 1ull, 1023ull, 1024ull, 1025ull, 3ull << 20, (1ull << 30) + 1024,
                                      256ull << 20, 1ull << 40}) {
        const auto text = format_size(ByteSize{bytes});
        EXPECT_EQ(parse_size(text), ByteSize{bytes}) << text;
    }
}

// ---------------------------------------------------------------------------
// Bind addresses

TEST(ConfigUnits, Ipv4BindAddressParses) {
    const auto a = parse_bind_address("0.0.0.0:1883");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "0.0.0.0");
    EXPECT_EQ(a->port, 1883);

    const auto b = parse_bind_address("127.0.0.1:65535");
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->host, "127.0.0.1");
    EXPECT_EQ(b->port, 65535);
}

TEST(ConfigUnits, BracketedIpv6BindAddressParsesWithoutBrackets) {
    const auto any = parse_bind_address("[::]:1883");
    ASSERT_TRUE(any.has_value());
    EXPECT_EQ(any->host, "::");
    EXPECT_EQ(any->port, 1883);

    const auto local = parse_bind_address("[fe80::1]:8081");
    ASSERT_TRUE(local.has_value());
    EXPECT_EQ(local->host, "fe80::1");
    EXPECT_EQ(local->port, 8081);
}

TEST(ConfigUnits, BindAddressesThatAreNotIpAndPortAreRejected) {
    for (std::string_view text :
         {"", "0.0.0.0", "0.0.0.0:", ":1883", "localhost:1883", "example.com:1883", "::1:1883", "[::1]", "[::1]:",
          "[::1]1883", "[::1:1883", "[0.0.0.0]:1883", "[host]:1883", "0.0.0.0:0", "0.0.0.0:65536", "0.0.0.0:-1",
          "0.0.0.0:18a", "0.0.0.0: 1883", "1.2.3:80", "256.0.0.1:80", "0.0.0.0:1883:1"}) {
        EXPECT_EQ(parse_bind_address(text).has_value(), false) << '"' << text << '"';
    }
}

// ---------------------------------------------------------------------------
// URLs

struct UrlCase {
    std::string_view text;
    std::string_view scheme;
    std::string_view host;
    std::uint16_t port;
    std::string_view path;
};

TEST(ConfigUnits, UrlsParseWithDefaultPortsPerScheme) {
    const UrlCase cases[] = {
        {"mqtt://broker.example.com", "mqtt", "broker.example.com", 1883, ""},
        {"mqtts://broker.example.com", "mqtts", "broker.example.com", 8883, ""},
        {"ws://broker.example.com", "ws", "broker.example.com", 80, ""},
        {"wss://broker.example.com", "wss", "broker.example.com", 443, ""},
        {"tcp://10.0.0.5", "tcp", "10.0.0.5", 502, ""},
        {"mqtts://a.example.com:8884", "mqtts", "a.example.com", 8884, ""},
        {"tcp://10.0.0.5:1502", "tcp", "10.0.0.5", 1502, ""},
        {"wss://myhub.azure-devices.net/$iothub/websocket", "wss", "myhub.azure-devices.net", 443,
         "/$iothub/websocket"},
        {"ws://10.0.0.1:9001/mqtt", "ws", "10.0.0.1", 9001, "/mqtt"},
        {"mqtt://[::1]", "mqtt", "::1", 1883, ""},
        {"mqtts://[2001:db8::5]:8883", "mqtts", "2001:db8::5", 8883, ""},
        {"mqtt://broker", "mqtt", "broker", 1883, ""},
        {"rtu:///dev/ttyUSB0", "rtu", "", 0, "/dev/ttyUSB0"},
        {"rtu:///dev/serial/by-id/usb-FTDI_FT232R-if00-port0", "rtu", "", 0,
         "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0"},
    };
    for (const auto& c : cases) {
        const auto url = parse_url(c.text);
        ASSERT_TRUE(url.has_value()) << c.text;
        EXPECT_EQ(url->scheme, c.scheme) << c.text;
        EXPECT_EQ(url->host, c.host) << c.text;
        EXPECT_EQ(url->port, c.port) << c.text;
        EXPECT_EQ(url->path, c.path) << c.text;
    }
}

TEST(ConfigUnits, UrlWithUnknownSchemeParsesWithoutDefaultPort) {
    // Which schemes a key accepts is the validator's business; the parser only splits.
    const auto url = parse_url("http://example.com");
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(url->scheme, "http");
    EXPECT_EQ(url->port, 0);
}

TEST(ConfigUnits, MalformedUrlsAreRejected) {
    for (std::string_view text :
         {"", "broker.example.com", "broker.example.com:1883", "://broker", "mqtt:/broker", "mqtt://",
          "mqtt://:1883", "mqtt://broker:", "mqtt://broker:0", "mqtt://broker:65536", "mqtt://broker:18x3",
          "mqtt://bro ker", "mqtt://user@broker", "mqtt://[::1", "mqtt://[::1]x", "mqtt://[broker]:1883",
          "mqtt://::1:1883", "rtu://", "rtu:///", "rtu://dev/ttyUSB0"}) {
        EXPECT_EQ(parse_url(text).has_value(), false) << '"' << text << '"';
    }
}

}  // namespace
