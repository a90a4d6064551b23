#include "gateway/mqtt/utf8.hpp"

#include <cstdint>

namespace fieldgate::mqtt {

namespace {

// Follows the well-formed byte sequences of Unicode 15, Table 3-7, which rules
// out overlong forms, surrogates and values above U+10FFFF by the ranges
// allowed for the second byte.
bool check_utf8(std::string_view s, bool allow_nul) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const std::uint8_t b0 = *p;
        if (b0 < 0x80) {
            if (b0 == 0 && !allow_nul) return false;
            ++p;
            continue;
        }
        std::size_t len;
        std::uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            len = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            len = 3;
            if (b0 == 0xE0) lo = 0xA0;  // overlong
            if (b0 == 0xED) hi = 0x9F;  // surrogates
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            len = 4;
            if (b0 == 0xF0) lo = 0x90;  // overlong
            if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
        } else {
            return false;  // continuation byte, C0/C1 overlong, or F5..FF
        }
        if (static_cast<std::size_t>(end - p) < len) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (std::size_t i = 2; i < len; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
        }
        p += len;
    }
    return true;
}

}  // namespace

bool is_well_formed_utf8(std::string_view s) { return check_utf8(s, true); }

bool is_valid_utf8(std::string_view s) { return check_utf8(s, false); }

}  // namespace fieldgate::mqtt
