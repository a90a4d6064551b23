#include "config/units.hpp"

#include <array>
#include <charconv>
#include <limits>

namespace fieldgate::config {
namespace {

struct Unit {
    std::string_view name;
    std::uint64_t factor;
};

// Largest first, so formatting picks the largest exact unit.
constexpr std::array<Unit, 5> duration_units{{
    {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};
constexpr std::array<Unit, 4> size_units{{
    {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1}}};

// Digits, then exactly one of the units; nothing else (no sign, no spaces, no fractions).
template <std::size_t N>
std::optional<std::uint64_t> parse_with_units(std::string_view text, const std::array<Unit, N>& units) {
    std::uint64_t number = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, number);
    if (ec != std::errc{} || ptr == text.data()) return std::nullopt;
    const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    for (const auto& u : units) {
        if (u.name != unit) continue;
        if (number > std::numeric_limits<std::int64_t>::max() / u.factor) return std::nullopt;
        return number * u.factor;
    }
    return std::nullopt;
}

template <std::size_t N>
std::string format_with_units(std::uint64_t value, const std::array<Unit, N>& units) {
    for (const auto& u : units) {
        if (value % u.factor == 0 && (value != 0 || u.factor == 1)) {
            return std::to_string(value / u.factor) + std::string(u.name);
        }
    }
    return std::to_string(value) + std::string(units.back().name);
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
    const auto ms = parse_with_units(text, duration_units);
    if (!ms) return std::nullopt;
    return Duration{static_cast<Duration::rep>(*ms)};
}

std::optional<ByteSize> parse_size(std::string_view text) {
    const auto bytes = parse_with_units(text, size_units);
    if (!bytes) return std::nullopt;
    return ByteSize{*bytes};
}

std::string format_duration(Duration d) {
    const auto ms = d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count());
    if (ms == 0) return "0s";
    return format_with_units(ms, duration_units);
}

std::string format_size(ByteSize s) { return format_with_units(s.bytes, size_units); }

}  // namespace fieldgate::config
