// Well-formed UTF-8 strings [MQTT 5.0, 1.5.4; RFC 3629].
#include <gtest/gtest.h>

#include <cstdint>
#include <iomanip>
#include <ostream>
#include <string>
#include <vector>

#include "gateway/mqtt/utf8.hpp"

namespace fieldgate::mqtt {
namespace {

// One row: raw bytes and whether they form a well-formed MQTT UTF-8 string.
// `name` states the behaviour and becomes the test name.
struct Utf8Case {
    const char* name;
    std::vector<std::uint8_t> bytes;
    bool valid;

    std::string str() const {
        std::string s;
        for (std::uint8_t b : bytes) s.push_back(static_cast<char>(b));
        return s;
    }
};

std::ostream& operator<<(std::ostream& os, const Utf8Case& c) {
    os << std::hex << std::uppercase << std::setfill('0');
    for (std::uint8_t b : c.bytes) os << std::setw(2) << unsigned{b} << ' ';
    return os << "-> " << (c.valid ? "valid" : "invalid");
}

std::string utf8_case_name(const testing::TestParamInfo<Utf8Case>& p) { return p.param.name; }

class Utf8 : public testing::TestWithParam<Utf8Case> {};

TEST_P(Utf8, ValidityIsAsExpected) {
    EXPECT_EQ(is_valid_utf8(GetParam().str()), GetParam().valid);
}

// Every invalid sequence must also be refused when surrounded by valid text:
// a validator that stops early or resynchronises wrongly fails here.
TEST_P(Utf8, ValidityIsTheSameInsideText) {
    EXPECT_EQ(is_valid_utf8("ab" + GetParam().str() + "cd"), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Utf8,
    testing::Values(
        // ASCII
        Utf8Case{"EmptyIsValid", {}, true},
        Utf8Case{"AsciiIsValid", {'h', 'e', 'l', 'l', 'o'}, true},
        Utf8Case{"U0001IsValid", {0x01}, true},  // discouraged, not forbidden [MQTT 5.0, 1.5.4]
        Utf8Case{"U007FIsValid", {0x7F}, true},
        // Two bytes
        Utf8Case{"U0080IsValid", {0xC2, 0x80}, true},
        Utf8Case{"U00E9IsValid", {0xC3, 0xA9}, true},
        Utf8Case{"U07FFIsValid", {0xDF, 0xBF}, true},
        // Three bytes
        Utf8Case{"U0800IsValid", {0xE0, 0xA0, 0x80}, true},
        Utf8Case{"U20ACIsValid", {0xE2, 0x82, 0xAC}, true},
        Utf8Case{"UD7FFIsValid", {0xED, 0x9F, 0xBF}, true},
        Utf8Case{"UE000IsValid", {0xEE, 0x80, 0x80}, true},
        Utf8Case{"UFEFFByteOrderMarkIsValid", {0xEF, 0xBB, 0xBF}, true},  // [MQTT-1.5.4-3]
        Utf8Case{"UFFFFIsValid", {0xEF, 0xBF, 0xBF}, true},
        // Four bytes
        Utf8Case{"U10000IsValid", {0xF0, 0x90, 0x80, 0x80}, true},
        Utf8Case{"U1F600IsValid", {0xF0, 0x9F, 0x98, 0x80}, true},
        Utf8Case{"U10FFFFIsValid", {0xF4, 0x8F, 0xBF, 0xBF}, true},
        Utf8Case{"MixedWidthsAreValid",
                 {'a', 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 'z'},
                 true},
        // U+0000 [MQTT-1.5.4-2]
        Utf8Case{"NulIsInvalid", {0x00}, false},
        Utf8Case{"NulBetweenLettersIsInvalid", {'a', 0x00, 'b'}, false},
        // Overlong forms [MQTT-1.5.4-1]
        Utf8Case{"OverlongNulC080IsInvalid", {0xC0, 0x80}, false},
        Utf8Case{"OverlongC0AFIsInvalid", {0xC0, 0xAF}, false},
        Utf8Case{"OverlongC1BFIsInvalid", {0xC1, 0xBF}, false},
        Utf8Case{"OverlongNulE08080IsInvalid", {0xE0, 0x80, 0x80}, false},
        Utf8Case{"OverlongU07FFInThreeIsInvalid", {0xE0, 0x9F, 0xBF}, false},
        Utf8Case{"OverlongNulF0808080IsInvalid", {0xF0, 0x80, 0x80, 0x80}, false},
        Utf8Case{"OverlongUFFFFInFourIsInvalid", {0xF0, 0x8F, 0xBF, 0xBF}, false},
        // Surrogates U+D800..U+DFFF [MQTT-1.5.4-1]
        Utf8Case{"SurrogateUD800IsInvalid", {0xED, 0xA0, 0x80}, false},
        Utf8Case{"SurrogateUDBFFIsInvalid", {0xED, 0xAF, 0xBF}, false},
        Utf8Case{"SurrogateUDC00IsInvalid", {0xED, 0xB0, 0x80}, false},
        Utf8Case{"SurrogateUDFFFIsInvalid", {0xED, 0xBF, 0xBF}, false},
        Utf8Case{"SurrogatePairCesu8IsInvalid", {0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80}, false},
        // Above U+10FFFF
        Utf8Case{"U110000IsInvalid", {0xF4, 0x90, 0x80, 0x80}, false},
        Utf8Case{"U13FFFFIsInvalid", {0xF4, 0xBF, 0xBF, 0xBF}, false},
        Utf8Case{"LeadF5IsInvalid", {0xF5, 0x80, 0x80, 0x80}, false},
        Utf8Case{"LeadF7IsInvalid", {0xF7, 0xBF, 0xBF, 0xBF}, false},
        Utf8Case{"LeadF8FiveByteFormIsInvalid", {0xF8, 0x88, 0x80, 0x80, 0x80}, false},
        Utf8Case{"LeadFCSixByteFormIsInvalid", {0xFC, 0x84, 0x80, 0x80, 0x80, 0x80}, false},
        Utf8Case{"LeadFEIsInvalid", {0xFE}, false},
        Utf8Case{"LeadFFIsInvalid", {0xFF}, false},
        // Truncated sequences
        Utf8Case{"TruncatedTwoByteIsInvalid", {0xC2}, false},
        Utf8Case{"TruncatedThreeByteAfterOneIsInvalid", {0xE2}, false},
        Utf8Case{"TruncatedThreeByteAfterTwoIsInvalid", {0xE2, 0x82}, false},
        Utf8Case{"TruncatedFourByteAfterOneIsInvalid", {0xF0}, false},
        Utf8Case{"TruncatedFourByteAfterTwoIsInvalid", {0xF0, 0x9F}, false},
        Utf8Case{"TruncatedFourByteAfterThreeIsInvalid", {0xF0, 0x9F, 0x98}, false},
        Utf8Case{"TruncatedAtEndOfTextIsInvalid", {'a', 'b', 0xE2, 0x82}, false},
        // Lead byte followed by something other than a continuation byte
        Utf8Case{"TwoByteLeadThenAsciiIsInvalid", {0xC2, 'A'}, false},
        Utf8Case{"ThreeByteLeadThenAsciiIsInvalid", {0xE2, 0x82, 'A'}, false},
        Utf8Case{"FourByteLeadThenAsciiIsInvalid", {0xF0, 0x9F, 0x98, 'A'}, false},
        Utf8Case{"LeadThenLeadIsInvalid", {0xC2, 0xC2, 0x80}, false},
        Utf8Case{"LeadThenNulIsInvalid", {0xC2, 0x00}, false},
        // Stray continuation bytes
        Utf8Case{"Stray80IsInvalid", {0x80}, false},
        Utf8Case{"StrayBFIsInvalid", {0xBF}, false},
        Utf8Case{"StrayBetweenLettersIsInvalid", {'a', 0x80, 'b'}, false},
        Utf8Case{"ExtraContinuationAfterTwoByteIsInvalid", {0xC3, 0xA9, 0xA9}, false},
        Utf8Case{"ExtraContinuationAfterFourByteIsInvalid", {0xF0, 0x9F, 0x98, 0x80, 0x80}, false}),
    utf8_case_name);

// Every code point from U+0001 to U+10FFFF except the surrogates, encoded by
// hand, is accepted; the surrogates are refused.
std::string encode_code_point(std::uint32_t cp) {
    std::string s;
    auto put = [&](std::uint32_t b) { s.push_back(static_cast<char>(static_cast<std::uint8_t>(b))); };
    if (cp < 0x80) {
        put(cp);
    } else if (cp < 0x800) {
        put(0xC0 | (cp >> 6));
        put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        put(0xE0 | (cp >> 12));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    } else {
        put(0xF0 | (cp >> 18));
        put(0x80 | ((cp >> 12) & 0x3F));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    }
    return s;
}

TEST(Utf8, AcceptsEveryScalarValueAndRefusesEverySurrogate) {
    int wrong = 0;
    for (std::uint32_t cp = 1; cp <= 0x10FFFF; ++cp) {
        const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        if (is_valid_utf8(encode_code_point(cp)) == surrogate) {
            if (++wrong <= 5) ADD_FAILURE() << "U+" << std::hex << cp;
        }
    }
    EXPECT_EQ(wrong, 0);
}

TEST(Utf8, RefusesEveryOverlongTwoByteForm) {
    for (unsigned lead = 0xC0; lead <= 0xC1; ++lead) {
        for (unsigned cont = 0x80; cont <= 0xBF; ++cont) {
            const std::string s{static_cast<char>(lead), static_cast<char>(cont)};
            EXPECT_FALSE(is_valid_utf8(s)) << std::hex << lead << ' ' << cont;
        }
    }
}

}  // namespace
}  // namespace fieldgate::mqtt
