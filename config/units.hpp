#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldgate::config {

// Durations are written as an integer and a unit: "500ms", "10s", "2m", "1h", "7d".
using Duration = std::chrono::milliseconds;

// Sizes are written as an integer and a unit: "512B", "64KiB", "1MiB", "2GiB".
struct ByteSize {
    std::uint64_t bytes = 0;
    auto operator<=>(const ByteSize&) const = default;
};

std::optional<Duration> parse_duration(std::string_view text);
std::optional<ByteSize> parse_size(std::string_view text);

// The shortest exact spelling: 90000ms -> "90s", 7 days -> "7d".
std::string format_duration(Duration d);
std::string format_size(ByteSize s);

}  // namespace fieldgate::config
