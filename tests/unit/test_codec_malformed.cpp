// Malformed and protocol-violating packets, as raw bytes, each with the reason
// code the spec requires decode() to answer with. The MQTT 5.0 spec separates a
// Malformed Packet (0x81: cannot be parsed) from a Protocol Error (0x82: parsed,
// but data the spec forbids) [MQTT 5.0, 1.2, 4.13.1]; where it names a more
// specific code (0x84, 0x8F, 0x90, 0x94, 0x95, 0x99) that code is expected.
// 3.1.1 has no reason codes; its rows use the code the same fault carries in 5.0,
// since the decoder speaks one vocabulary for every version.
//
// Every row is hand-written hex so the test does not lean on the encoder. The
// table of near misses at the end holds valid packets one change away from
// malformed rows, so a decoder that refuses everything cannot pass.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/mqtt/codec.hpp"

using namespace fieldgate::mqtt;

namespace {

constexpr auto V5 = ProtocolVersion::v5;
constexpr auto V311 = ProtocolVersion::v3_1_1;
using RC = ReasonCode;

// "10 0E 00 04" -> bytes; spaces are ignored.
std::vector<std::uint8_t> from_hex(std::string_view hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::vector<std::uint8_t> out;
    int high = -1;
    for (char c : hex) {
        if (c == ' ') continue;
        const int v = nibble(c);
        if (v < 0) ADD_FAILURE() << "bad hex digit '" << c << "' in \"" << hex << "\"";
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::uint8_t>((high << 4) | v));
            high = -1;
        }
    }
    if (high >= 0) ADD_FAILURE() << "odd number of hex digits in \"" << hex << "\"";
    return out;
}

std::string hex_of(unsigned v) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return {'0', 'x', digits[(v >> 4) & 0xF], digits[v & 0xF]};
}

std::string describe(ReasonCode rc) {
    return hex_of(static_cast<unsigned>(rc)) + " " + std::string(reason_name(rc));
}

struct MalformedCase {
    std::string_view name;  // the test's name: version, packet, fault
    ProtocolVersion version;  // the version decode() is called with
    std::string_view hex;
    ReasonCode code;
    std::string_view rule;  // where the spec says so
    // The version the error must answer in, when it is not `version`: a CONNECT
    // is answered in the version it asked for, 3.1.1 when the level is unknown.
    std::optional<ProtocolVersion> answer_in = std::nullopt;
    std::uint32_t max_packet_size = max_packet_size_limit;
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name << " [" << c.hex << "]"; }

// CONNECT variable headers, for reading the rows:
//   3.1.1: 00 04 4D 51 54 54 04 <flags> 00 3C              then the payload
//   5.0:   00 04 4D 51 54 54 05 <flags> 00 3C <properties> then the payload
// A minimal valid one has client id "a" (00 01 61).
const MalformedCase malformed_cases[] = {
    // --- Fixed header flags: PUBREL, SUBSCRIBE and UNSUBSCRIBE carry 0010, every
    // other type but PUBLISH carries 0000; anything else is malformed [MQTT-2.1.3-1].
    {"v5_connect_flags_1", V5, "11 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 61", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_connack_flags_1", V5, "21 03 00 00 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_puback_flags_2", V5, "42 02 00 01", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_pubrec_flags_8", V5, "58 02 00 01", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_pubrel_flags_0", V5, "60 02 00 01", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_pubrel_flags_3", V5, "63 02 00 01", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_pubcomp_flags_4", V5, "74 02 00 01", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_subscribe_flags_0", V5, "80 07 00 01 00 00 01 61 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_subscribe_flags_A", V5, "8A 07 00 01 00 00 01 61 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_suback_flags_2", V5, "92 04 00 01 00 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_unsubscribe_flags_0", V5, "A0 06 00 01 00 00 01 61", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_unsuback_flags_1", V5, "B1 04 00 01 00 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_pingreq_flags_1", V5, "C1 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_pingresp_flags_8", V5, "D8 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_disconnect_flags_2", V5, "E2 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v5_auth_flags_1", V5, "F1 00", RC::malformed_packet, "MQTT-2.1.3-1"},
    {"v311_connect_flags_2", V311, "12 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 61", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_connack_flags_4", V311, "24 02 00 00", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_puback_flags_1", V311, "41 02 00 01", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_pubrec_flags_2", V311, "52 02 00 01", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_pubrel_flags_0", V311, "60 02 00 01", RC::malformed_packet, "3.1.1 MQTT-3.6.1-1"},
    {"v311_pubcomp_flags_8", V311, "78 02 00 01", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_subscribe_flags_0", V311, "80 06 00 01 00 01 61 00", RC::malformed_packet, "3.1.1 MQTT-3.8.1-1"},
    {"v311_suback_flags_1", V311, "91 03 00 01 00", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_unsubscribe_flags_3", V311, "A3 05 00 01 00 01 61", RC::malformed_packet, "3.1.1 MQTT-3.10.1-1"},
    {"v311_unsuback_flags_2", V311, "B2 02 00 01", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_pingreq_flags_2", V311, "C2 00", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_pingresp_flags_1", V311, "D1 00", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},
    {"v311_disconnect_flags_8", V311, "E8 00", RC::malformed_packet, "3.1.1 MQTT-2.2.2-1"},

    // --- Packet types. 0 is reserved in every version; 15 (AUTH) only exists in 5.0.
    {"v5_packet_type_0", V5, "00 00", RC::malformed_packet, "MQTT 5.0 2.1.2 (type 0 reserved)"},
    {"v311_packet_type_0", V311, "00 00", RC::malformed_packet, "3.1.1 2.2.1 (type 0 reserved)"},
    {"v311_auth", V311, "F0 00", RC::malformed_packet, "3.1.1 2.2.1 (type 15 reserved)"},
    {"v311_auth_with_reason_code", V311, "F0 02 18 00", RC::malformed_packet, "3.1.1 2.2.1 (type 15 reserved)"},

    // --- PUBLISH fixed header flags.
    {"v5_publish_qos_3", V5, "36 06 00 01 61 00 01 00", RC::malformed_packet, "MQTT-3.3.1-4"},
    {"v311_publish_qos_3", V311, "36 05 00 01 61 00 01", RC::malformed_packet, "3.1.1 MQTT-3.3.1-4"},
    {"v5_publish_qos_0_with_dup", V5, "38 04 00 01 61 00", RC::malformed_packet, "MQTT-3.3.1-2"},
    {"v311_publish_qos_0_with_dup", V311, "38 03 00 01 61", RC::malformed_packet, "3.1.1 MQTT-3.3.1-2"},

    // --- Remaining length: at most four bytes, and the shortest form [MQTT-1.5.5-1].
    {"v5_remaining_length_5_bytes", V5, "30 FF FF FF FF 7F", RC::malformed_packet, "MQTT 5.0 1.5.5 (at most 4 bytes)"},
    {"v311_pingreq_remaining_length_5_bytes", V311, "C0 80 80 80 80 00", RC::malformed_packet, "3.1.1 2.2.3 (at most 4 bytes)"},
    {"v311_pingreq_remaining_length_not_minimal", V311, "C0 80 00", RC::malformed_packet, "MQTT-1.5.5-1"},
    {"v311_publish_remaining_length_not_minimal", V311, "30 83 00 00 01 61", RC::malformed_packet, "MQTT-1.5.5-1"},
    {"v5_publish_remaining_length_3_bytes_for_4", V5, "30 84 80 00 00 01 61 00", RC::malformed_packet, "MQTT-1.5.5-1"},

    // --- A field that runs past the end the remaining length declares.
    {"v311_publish_topic_past_end", V311, "30 03 00 05 61", RC::malformed_packet, "MQTT 5.0 1.5.4, 2.1.4"},
    {"v311_publish_qos_1_without_packet_id", V311, "32 03 00 01 61", RC::malformed_packet, "3.1.1 3.3.2"},
    {"v5_publish_without_property_length", V5, "30 03 00 01 61", RC::malformed_packet, "MQTT 5.0 3.3.2.3"},
    {"v311_puback_1_byte", V311, "40 01 00", RC::malformed_packet, "3.1.1 3.4.1"},
    {"v5_pubrel_1_byte", V5, "62 01 00", RC::malformed_packet, "MQTT 5.0 3.6.2"},
    {"v5_connack_1_byte", V5, "20 01 00", RC::malformed_packet, "MQTT 5.0 3.2.2"},
    {"v5_suback_without_property_length", V5, "90 02 00 01", RC::malformed_packet, "MQTT 5.0 3.9.2"},
    {"v311_subscribe_without_options", V311, "82 05 00 01 00 01 61", RC::malformed_packet, "3.1.1 3.8.3"},
    {"v311_unsubscribe_filter_past_end", V311, "A2 05 00 01 00 05 61", RC::malformed_packet, "3.1.1 3.10.3"},
    {"v311_connect_protocol_name_past_end", V311, "10 05 00 04 4D 51 54", RC::malformed_packet, "3.1.1 3.1.2.1"},
    {"v311_connect_client_id_past_end", V311, "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 05 61", RC::malformed_packet, "3.1.1 3.1.3.1"},
    {"v311_connect_user_name_flag_without_user_name", V311, "10 0D 00 04 4D 51 54 54 04 82 00 3C 00 01 61", RC::malformed_packet, "3.1.1 MQTT-3.1.2-19"},
    {"v5_connect_will_flag_without_will_topic", V5, "10 0F 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 00", RC::malformed_packet, "MQTT-3.1.2-9"},

    // --- Bytes after the last field of a packet with a fixed shape.
    {"v5_pingreq_remaining_length_1", V5, "C0 01 00", RC::malformed_packet, "MQTT 5.0 3.12 (no body)"},
    {"v311_pingresp_remaining_length_1", V311, "D0 01 00", RC::malformed_packet, "3.1.1 3.13 (no body)"},
    {"v311_disconnect_remaining_length_1", V311, "E0 01 00", RC::malformed_packet, "3.1.1 3.14 (no body)"},
    {"v311_puback_3_bytes", V311, "40 03 00 01 00", RC::malformed_packet, "3.1.1 3.4.1 (length 2)"},
    {"v311_pubcomp_4_bytes", V311, "70 04 00 01 00 00", RC::malformed_packet, "3.1.1 3.7.1 (length 2)"},
    {"v311_connack_3_bytes", V311, "20 03 00 00 00", RC::malformed_packet, "3.1.1 3.2.1 (length 2)"},
    {"v311_unsuback_3_bytes", V311, "B0 03 00 01 00", RC::malformed_packet, "3.1.1 3.11.1 (length 2)"},
    {"v311_connect_byte_after_client_id", V311, "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 01 61 00", RC::malformed_packet, "3.1.1 3.1.3"},
    {"v5_puback_byte_after_properties", V5, "40 05 00 01 00 00 FF", RC::malformed_packet, "MQTT 5.0 3.4.2"},
    {"v5_connack_byte_after_properties", V5, "20 04 00 00 00 FF", RC::malformed_packet, "MQTT 5.0 3.2.3 (no payload)"},
    {"v5_disconnect_byte_after_properties", V5, "E0 03 00 00 FF", RC::malformed_packet, "MQTT 5.0 3.14.3 (no payload)"},

    // --- Packet identifier 0 [MQTT-2.2.1-3]; acknowledgements echo a non-zero one.
    {"v5_publish_qos_1_packet_id_0", V5, "32 06 00 01 61 00 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v5_publish_qos_2_packet_id_0", V5, "34 06 00 01 61 00 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v311_publish_qos_1_packet_id_0", V311, "32 05 00 01 61 00 00", RC::protocol_error, "3.1.1 MQTT-2.3.1-1"},
    {"v5_puback_packet_id_0", V5, "40 02 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v311_puback_packet_id_0", V311, "40 02 00 00", RC::protocol_error, "3.1.1 MQTT-2.3.1-1"},
    {"v5_pubrec_packet_id_0", V5, "50 02 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v5_pubrel_packet_id_0", V5, "62 02 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v311_pubrel_packet_id_0", V311, "62 02 00 00", RC::protocol_error, "3.1.1 MQTT-2.3.1-1"},
    {"v5_pubcomp_packet_id_0", V5, "70 02 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v5_subscribe_packet_id_0", V5, "82 07 00 00 00 00 01 61 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v311_subscribe_packet_id_0", V311, "82 06 00 00 00 01 61 00", RC::protocol_error, "3.1.1 MQTT-2.3.1-1"},
    {"v5_suback_packet_id_0", V5, "90 04 00 00 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v5_unsubscribe_packet_id_0", V5, "A2 06 00 00 00 00 01 61", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v311_unsubscribe_packet_id_0", V311, "A2 05 00 00 00 01 61", RC::protocol_error, "3.1.1 MQTT-2.3.1-1"},
    {"v5_unsuback_packet_id_0", V5, "B0 04 00 00 00 00", RC::protocol_error, "MQTT-2.2.1-3"},
    {"v311_unsuback_packet_id_0", V311, "B0 02 00 00", RC::protocol_error, "3.1.1 MQTT-2.3.1-1"},

    // --- Ill-formed UTF-8 and U+0000 in strings are malformed [MQTT-1.5.4-1, 1.5.4-2].
    {"v5_topic_overlong_C0AF", V5, "30 05 00 02 C0 AF 00", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_topic_surrogate_EDA080", V5, "30 06 00 03 ED A0 80 00", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_topic_above_U10FFFF", V5, "30 07 00 04 F4 90 80 80 00", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_topic_truncated_sequence_at_end", V5, "30 06 00 03 61 E2 82 00", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_topic_lone_continuation_byte", V5, "30 05 00 02 61 80 00", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_topic_U0000", V5, "30 05 00 02 61 00 00", RC::malformed_packet, "MQTT-1.5.4-2"},
    {"v311_topic_overlong_C0AF", V311, "30 04 00 02 C0 AF", RC::malformed_packet, "3.1.1 MQTT-1.5.3-1"},
    {"v311_topic_truncated_sequence_before_ascii", V311, "30 05 00 03 E2 82 61", RC::malformed_packet, "3.1.1 MQTT-1.5.3-1"},
    {"v311_topic_byte_FF", V311, "30 04 00 02 61 FF", RC::malformed_packet, "3.1.1 MQTT-1.5.3-1"},
    {"v311_client_id_overlong_C0AF", V311, "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 C0 AF", RC::malformed_packet, "3.1.1 MQTT-1.5.3-1"},
    {"v311_client_id_surrogate", V311, "10 0F 00 04 4D 51 54 54 04 02 00 3C 00 03 ED A0 80", RC::malformed_packet, "3.1.1 MQTT-1.5.3-1"},
    {"v311_client_id_U0000", V311, "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 61 00", RC::malformed_packet, "3.1.1 MQTT-1.5.3-2"},
    {"v5_client_id_above_U10FFFF", V5, "10 11 00 04 4D 51 54 54 05 02 00 3C 00 00 04 F4 90 80 80", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_client_id_lone_continuation_byte", V5, "10 0F 00 04 4D 51 54 54 05 02 00 3C 00 00 02 61 BF", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_user_name_surrogate", V5, "10 13 00 04 4D 51 54 54 05 82 00 3C 00 00 01 61 00 03 ED A0 80", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_subscribe_filter_overlong_C0AF", V5, "82 08 00 01 00 00 02 C0 AF 00", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_unsubscribe_filter_U0000", V5, "A2 07 00 01 00 00 02 61 00", RC::malformed_packet, "MQTT-1.5.4-2"},
    {"v5_content_type_surrogate", V5, "30 0A 00 01 61 06 03 00 03 ED A0 80", RC::malformed_packet, "MQTT-1.5.4-1"},
    {"v5_user_property_name_overlong", V5, "30 0C 00 01 61 08 26 00 02 C0 AF 00 01 76", RC::malformed_packet, "MQTT-1.5.4-1"},

    // --- Topic names: no wildcards [MQTT-3.3.2-2], at least one character [MQTT-4.7.3-1].
    {"v5_publish_topic_with_plus", V5, "30 06 00 03 61 2F 2B 00", RC::topic_name_invalid, "MQTT-3.3.2-2"},
    {"v5_publish_topic_hash", V5, "30 04 00 01 23 00", RC::topic_name_invalid, "MQTT-3.3.2-2"},
    {"v311_publish_topic_plus", V311, "30 03 00 01 2B", RC::topic_name_invalid, "3.1.1 MQTT-3.3.2-2"},
    {"v311_publish_topic_with_hash_inside", V311, "30 05 00 03 61 23 62", RC::topic_name_invalid, "3.1.1 MQTT-3.3.2-2"},
    {"v311_publish_empty_topic", V311, "30 02 00 00", RC::topic_name_invalid, "3.1.1 MQTT-4.7.3-1"},
    // 5.0 allows an empty topic only with a Topic Alias [MQTT 5.0, 3.3.2.3.4].
    {"v5_publish_empty_topic_without_alias", V5, "30 03 00 00 00", RC::protocol_error, "MQTT 5.0 3.3.2.3.4"},

    // --- Topic filters: '+' and '#' fill a whole level, '#' only last [MQTT-4.7.1-1,
    // 4.7.1-2]; $share/{name}/{filter} with a non-empty name free of / + # [MQTT-4.8.2-1, 4.8.2-2].
    {"v5_filter_hash_not_last", V5, "82 0B 00 01 00 00 05 61 2F 23 2F 62 00", RC::topic_filter_invalid, "MQTT-4.7.1-1"},
    {"v5_filter_plus_inside_level", V5, "82 08 00 01 00 00 02 61 2B 00", RC::topic_filter_invalid, "MQTT-4.7.1-2"},
    {"v5_filter_hash_then_character", V5, "82 08 00 01 00 00 02 23 61 00", RC::topic_filter_invalid, "MQTT-4.7.1-1"},
    {"v5_filter_empty", V5, "82 06 00 01 00 00 00 00", RC::topic_filter_invalid, "MQTT-4.7.3-1"},
    {"v5_filter_share_without_filter", V5, "82 0E 00 01 00 00 08 24 73 68 61 72 65 2F 67 00", RC::topic_filter_invalid, "MQTT-4.8.2-2"},
    {"v5_filter_share_with_empty_filter", V5, "82 0F 00 01 00 00 09 24 73 68 61 72 65 2F 67 2F 00", RC::topic_filter_invalid, "MQTT-4.8.2-2"},
    {"v5_filter_share_empty_name", V5, "82 0F 00 01 00 00 09 24 73 68 61 72 65 2F 2F 78 00", RC::topic_filter_invalid, "MQTT-4.8.2-1"},
    {"v5_filter_share_name_with_plus", V5, "82 11 00 01 00 00 0B 24 73 68 61 72 65 2F 67 2B 2F 78 00", RC::topic_filter_invalid, "MQTT-4.8.2-2"},
    {"v5_filter_share_name_hash", V5, "82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 23 2F 78 00", RC::topic_filter_invalid, "MQTT-4.8.2-2"},
    {"v5_subscribe_second_filter_invalid", V5, "82 0C 00 01 00 00 01 61 00 00 02 61 2B 00", RC::topic_filter_invalid, "MQTT-4.7.1-2"},
    {"v311_filter_hash_not_last", V311, "82 0A 00 01 00 05 61 2F 23 2F 62 00", RC::topic_filter_invalid, "3.1.1 MQTT-4.7.1-2"},
    {"v311_filter_plus_then_character", V311, "82 07 00 01 00 02 2B 61 00", RC::topic_filter_invalid, "3.1.1 MQTT-4.7.1-3"},
    {"v5_unsubscribe_filter_plus_inside_level", V5, "A2 07 00 01 00 00 02 61 2B", RC::topic_filter_invalid, "MQTT-4.7.1-2"},
    {"v311_unsubscribe_filter_hash_not_last", V311, "A2 08 00 01 00 04 23 2F 61 62", RC::topic_filter_invalid, "3.1.1 MQTT-4.7.1-2"},

    // --- SUBSCRIBE and UNSUBSCRIBE need at least one filter.
    {"v5_subscribe_without_filters", V5, "82 03 00 01 00", RC::protocol_error, "MQTT-3.8.3-2"},
    {"v311_subscribe_without_filters", V311, "82 02 00 01", RC::protocol_error, "3.1.1 MQTT-3.8.3-3"},
    {"v5_unsubscribe_without_filters", V5, "A2 03 00 01 00", RC::protocol_error, "MQTT-3.10.3-2"},
    {"v311_unsubscribe_without_filters", V311, "A2 02 00 01", RC::protocol_error, "3.1.1 MQTT-3.10.3-2"},

    // --- Subscription options. Reserved bits are malformed in both versions
    // (3.1.1 bits 2-7, 5.0 bits 6-7); 3.1.1 also calls QoS 3 malformed, while 5.0
    // calls QoS 3 and Retain Handling 3 Protocol Errors [MQTT 5.0, 3.8.3.1].
    {"v311_options_bit_2", V311, "82 06 00 01 00 01 61 04", RC::malformed_packet, "3.1.1 MQTT-3.8.3-4"},
    {"v311_options_bit_7", V311, "82 06 00 01 00 01 61 80", RC::malformed_packet, "3.1.1 MQTT-3.8.3-4"},
    {"v311_options_qos_3", V311, "82 06 00 01 00 01 61 03", RC::malformed_packet, "3.1.1 MQTT-3.8.3-4"},
    {"v5_options_bit_6", V5, "82 07 00 01 00 00 01 61 40", RC::malformed_packet, "MQTT-3.8.3-5"},
    {"v5_options_bit_7", V5, "82 07 00 01 00 00 01 61 80", RC::malformed_packet, "MQTT-3.8.3-5"},
    {"v5_options_qos_3", V5, "82 07 00 01 00 00 01 61 03", RC::protocol_error, "MQTT 5.0 3.8.3.1 (Maximum QoS 3 is a Protocol Error)"},
    {"v5_options_retain_handling_3", V5, "82 07 00 01 00 00 01 61 30", RC::protocol_error, "MQTT 5.0 3.8.3.1 (Retain Handling 3 is a Protocol Error)"},
    {"v5_no_local_on_shared_subscription", V5, "82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 78 04", RC::protocol_error, "MQTT-3.8.3-4"},

    // --- Properties that appear twice [MQTT 5.0, 2.2.2.2 and each property's section].
    {"v5_publish_message_expiry_twice", V5, "30 0E 00 01 61 0A 02 00 00 00 0A 02 00 00 00 0A", RC::protocol_error, "MQTT 5.0 3.3.2.3.3"},
    {"v5_publish_topic_alias_twice", V5, "30 0A 00 01 61 06 23 00 01 23 00 02", RC::protocol_error, "MQTT 5.0 3.3.2.3.4"},
    {"v5_subscribe_subscription_identifier_twice", V5, "82 0B 00 01 04 0B 01 0B 02 00 01 61 00", RC::protocol_error, "MQTT 5.0 3.8.2.1.2"},
    {"v5_connect_session_expiry_twice", V5, "10 18 00 04 4D 51 54 54 05 02 00 3C 0A 11 00 00 00 0A 11 00 00 00 0A 00 01 61", RC::protocol_error, "MQTT 5.0 3.1.2.11.2"},

    // --- An identifier not valid for the packet, or unknown, is malformed [MQTT 5.0, 2.2.2.2].
    {"v5_publish_session_expiry", V5, "30 09 00 01 61 05 11 00 00 00 0A", RC::malformed_packet, "MQTT 5.0 2.2.2.2"},
    {"v5_will_properties_topic_alias", V5, "10 17 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 03 23 00 01 00 01 74 00 00", RC::malformed_packet, "MQTT 5.0 2.2.2.2, 3.1.3.2"},
    {"v5_connect_will_delay_interval", V5, "10 13 00 04 4D 51 54 54 05 02 00 3C 05 18 00 00 00 0A 00 01 61", RC::malformed_packet, "MQTT 5.0 2.2.2.2, 3.1.2.11"},
    {"v5_puback_topic_alias", V5, "40 07 00 01 00 03 23 00 01", RC::malformed_packet, "MQTT 5.0 2.2.2.2, 3.4.2.2"},
    {"v5_subscribe_message_expiry", V5, "82 0C 00 01 05 02 00 00 00 0A 00 01 61 00", RC::malformed_packet, "MQTT 5.0 2.2.2.2, 3.8.2.1"},
    {"v5_publish_unknown_property_7F", V5, "30 06 00 01 61 02 7F 00", RC::malformed_packet, "MQTT 5.0 2.2.2.2"},
    {"v5_disconnect_unknown_property_7F", V5, "E0 04 00 02 7F 00", RC::malformed_packet, "MQTT 5.0 2.2.2.2"},

    // --- Property lengths and values cut short.
    {"v5_property_length_past_packet", V5, "30 05 00 01 61 05 01", RC::malformed_packet, "MQTT 5.0 2.2.2.1"},
    {"v5_property_value_past_property_length", V5, "30 09 00 01 61 03 02 00 00 00 00", RC::malformed_packet, "MQTT 5.0 2.2.2.1"},
    {"v5_property_length_5_bytes", V5, "30 08 00 01 61 FF FF FF FF 01", RC::malformed_packet, "MQTT 5.0 1.5.5"},
    {"v5_user_property_without_value", V5, "30 08 00 01 61 04 26 00 01 6E", RC::malformed_packet, "MQTT 5.0 1.5.7"},

    // --- Property values the spec forbids.
    {"v5_connect_receive_maximum_0", V5, "10 11 00 04 4D 51 54 54 05 02 00 3C 03 21 00 00 00 01 61", RC::protocol_error, "MQTT 5.0 3.1.2.11.3"},
    {"v5_connack_receive_maximum_0", V5, "20 06 00 00 03 21 00 00", RC::protocol_error, "MQTT 5.0 3.2.2.3.3"},
    {"v5_connect_maximum_packet_size_0", V5, "10 13 00 04 4D 51 54 54 05 02 00 3C 05 27 00 00 00 00 00 01 61", RC::protocol_error, "MQTT 5.0 3.1.2.11.4"},
    {"v5_publish_topic_alias_0", V5, "30 07 00 01 61 03 23 00 00", RC::topic_alias_invalid, "MQTT-3.3.2-8, MQTT 5.0 3.3.4 (0x94)"},
    {"v5_subscribe_subscription_identifier_0", V5, "82 09 00 01 02 0B 00 00 01 61 00", RC::protocol_error, "MQTT 5.0 3.8.2.1.2"},
    {"v5_connect_request_problem_information_2", V5, "10 10 00 04 4D 51 54 54 05 02 00 3C 02 17 02 00 01 61", RC::protocol_error, "MQTT 5.0 3.1.2.11.7"},
    {"v5_connect_request_response_information_2", V5, "10 10 00 04 4D 51 54 54 05 02 00 3C 02 19 02 00 01 61", RC::protocol_error, "MQTT 5.0 3.1.2.11.6"},
    {"v5_connack_maximum_qos_2", V5, "20 05 00 00 02 24 02", RC::protocol_error, "MQTT 5.0 3.2.2.3.4"},
    {"v5_connack_retain_available_2", V5, "20 05 00 00 02 25 02", RC::protocol_error, "MQTT 5.0 3.2.2.3.5"},
    {"v5_publish_payload_format_indicator_2", V5, "30 06 00 01 61 02 01 02", RC::protocol_error, "MQTT 5.0 3.3.2.3.2 (0 or 1)"},
    {"v5_connect_authentication_data_without_method", V5, "10 12 00 04 4D 51 54 54 05 02 00 3C 04 16 00 01 78 00 01 61", RC::protocol_error, "MQTT 5.0 3.1.2.11.10"},

    // --- A payload that says it is UTF-8 and is not [MQTT 5.0, 3.3.2.3.2, 3.1.3.2.3].
    {"v5_publish_utf8_payload_overlong", V5, "30 08 00 01 61 02 01 01 C0 AF", RC::payload_format_invalid, "MQTT-3.3.2-4 (0x99)"},
    {"v5_publish_utf8_payload_surrogate", V5, "30 09 00 01 61 02 01 01 ED A0 80", RC::payload_format_invalid, "MQTT-3.3.2-4 (0x99)"},
    {"v5_will_utf8_payload_overlong", V5, "10 18 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 02 01 01 00 01 74 00 02 C0 AF", RC::payload_format_invalid, "MQTT 5.0 3.1.3.2.3 (0x99)"},

    // --- CONNECT protocol name and level. The answer goes out in the version asked
    // for, 3.1.1 when the level is unknown.
    {"v311_connect_protocol_name_MQTX", V311, "10 0D 00 04 4D 51 54 58 04 02 00 3C 00 01 61", RC::unsupported_protocol_version, "MQTT-3.1.2-1 (0x84)", V311},
    {"v311_connect_protocol_name_lowercase", V311, "10 0D 00 04 6D 71 74 74 04 02 00 3C 00 01 61", RC::unsupported_protocol_version, "MQTT-3.1.2-1 (0x84)", V311},
    {"v311_connect_level_6", V311, "10 0D 00 04 4D 51 54 54 06 02 00 3C 00 01 61", RC::unsupported_protocol_version, "MQTT-3.1.2-2", V311},
    {"v5_connect_level_6_answers_in_v311", V5, "10 0D 00 04 4D 51 54 54 06 02 00 3C 00 01 61", RC::unsupported_protocol_version, "MQTT-3.1.2-2", V311},
    {"v311_connect_MQTT_level_3", V311, "10 0D 00 04 4D 51 54 54 03 02 00 3C 00 01 61", RC::unsupported_protocol_version, "MQTT-3.1.2-2", V311},
    {"v311_connect_MQIsdp_level_4", V311, "10 0F 00 06 4D 51 49 73 64 70 04 02 00 3C 00 01 61", RC::unsupported_protocol_version, "MQTT-3.1.2-2", V311},
    {"v311_connect_MQIsdp_level_5_answers_in_v5", V311, "10 10 00 06 4D 51 49 73 64 70 05 02 00 3C 00 00 01 61", RC::unsupported_protocol_version, "MQTT-3.1.2-2", V5},

    // --- CONNECT flags. The version decode() is called with does not matter for a
    // CONNECT: rows decoded "in" 5.0 with a 3.1.1 body still answer in 3.1.1.
    {"v311_connect_reserved_flag", V311, "10 0D 00 04 4D 51 54 54 04 03 00 3C 00 01 61", RC::malformed_packet, "3.1.1 MQTT-3.1.2-3", V311},
    {"v5_connect_reserved_flag", V5, "10 0E 00 04 4D 51 54 54 05 03 00 3C 00 00 01 61", RC::malformed_packet, "MQTT-3.1.2-3", V5},
    {"v311_connect_will_qos_3", V5, "10 12 00 04 4D 51 54 54 04 1E 00 3C 00 01 61 00 01 74 00 00", RC::malformed_packet, "3.1.1 MQTT-3.1.2-14", V311},
    {"v5_connect_will_qos_3", V5, "10 14 00 04 4D 51 54 54 05 1E 00 3C 00 00 01 61 00 00 01 74 00 00", RC::malformed_packet, "MQTT-3.1.2-12", V5},
    {"v5_connect_will_qos_without_will", V5, "10 0E 00 04 4D 51 54 54 05 0A 00 3C 00 00 01 61", RC::malformed_packet, "MQTT-3.1.2-11", V5},
    {"v311_connect_will_retain_without_will", V311, "10 0D 00 04 4D 51 54 54 04 22 00 3C 00 01 61", RC::malformed_packet, "3.1.1 MQTT-3.1.2-15", V311},
    {"v311_connect_password_without_user_name", V311, "10 0F 00 04 4D 51 54 54 04 42 00 3C 00 01 61 00 00", RC::malformed_packet, "3.1.1 MQTT-3.1.2-22", V311},
    {"v5_connect_empty_will_topic", V5, "10 13 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 00 00 00 00 00", RC::topic_name_invalid, "MQTT-4.7.3-1", V5},
    {"v5_connect_will_topic_with_hash", V5, "10 16 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 00 00 03 61 2F 23 00 00", RC::topic_name_invalid, "MQTT-3.3.2-2", V5},
    {"v311_connect_will_topic_plus", V311, "10 12 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 01 2B 00 00", RC::topic_name_invalid, "3.1.1 MQTT-3.3.2-2", V311},

    // --- Reason codes the packet may not carry. The spec names no category for
    // these; a value that parses but is not allowed is a Protocol Error [MQTT 5.0, 4.13.1].
    {"v5_puback_reason_05", V5, "40 03 00 01 05", RC::protocol_error, "MQTT-3.4.2-1"},
    {"v5_pubrec_reason_92", V5, "50 03 00 01 92", RC::protocol_error, "MQTT-3.5.2-1"},
    {"v5_pubrel_reason_10", V5, "62 03 00 01 10", RC::protocol_error, "MQTT-3.6.2-1"},
    {"v5_pubcomp_reason_10", V5, "70 03 00 01 10", RC::protocol_error, "MQTT-3.7.2-1"},
    {"v5_connack_reason_10", V5, "20 03 00 10 00", RC::protocol_error, "MQTT 5.0 3.2.2.2"},
    {"v5_suback_reason_03", V5, "90 04 00 01 00 03", RC::protocol_error, "MQTT-3.9.3-2"},
    {"v5_unsuback_reason_01", V5, "B0 04 00 01 00 01", RC::protocol_error, "MQTT-3.11.3-2"},
    {"v5_disconnect_reason_01", V5, "E0 01 01", RC::protocol_error, "MQTT-3.14.2-1"},
    {"v5_auth_reason_01", V5, "F0 01 01", RC::protocol_error, "MQTT-3.15.2-1"},
    {"v311_connack_return_code_6", V311, "20 02 00 06", RC::protocol_error, "3.1.1 3.2.2.3 (6-255 reserved)"},
    {"v311_suback_return_code_03", V311, "90 03 00 01 03", RC::protocol_error, "3.1.1 MQTT-3.9.3-2"},
    {"v5_suback_without_reason_codes", V5, "90 03 00 01 00", RC::protocol_error, "MQTT 5.0 3.9.3"},
    {"v311_suback_without_return_codes", V311, "90 02 00 01", RC::protocol_error, "3.1.1 3.9.3"},

    // --- CONNACK acknowledge flags: bits 7-1 reserved; no session with a refusal.
    {"v5_connack_flags_bit_1", V5, "20 03 02 00 00", RC::malformed_packet, "MQTT 5.0 3.2.2.1"},
    {"v311_connack_flags_bit_7", V311, "20 02 80 00", RC::malformed_packet, "3.1.1 3.2.2.1"},
    {"v5_connack_session_present_with_refusal", V5, "20 03 01 80 00", RC::protocol_error, "MQTT-3.2.2-6"},
    {"v311_connack_session_present_with_refusal", V311, "20 02 01 05", RC::protocol_error, "3.1.1 MQTT-3.2.2-4"},

    // --- Maximum Packet Size: refused from the fixed header alone, no body supplied.
    {"v5_publish_over_limit_from_3_header_bytes", V5, "30 80 01", RC::packet_too_large, "MQTT 5.0 3.1.2.11.4 (0x95)", std::nullopt, 100},
    {"v311_publish_over_limit_from_2_header_bytes", V311, "30 7F", RC::packet_too_large, "MQTT 5.0 3.1.2.11.4 (0x95)", std::nullopt, 100},
    {"v5_publish_over_limit_from_5_header_bytes", V5, "30 80 80 80 01", RC::packet_too_large, "MQTT 5.0 3.1.2.11.4 (0x95)", std::nullopt, 1024 * 1024},
    {"v5_publish_one_byte_over_limit", V5, "30 05", RC::packet_too_large, "MQTT 5.0 3.1.2.11.4 (0x95)", std::nullopt, 6},
};

class Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(Malformed, DecodeRefusesWithSpecReasonCode) {
    const MalformedCase& c = GetParam();
    SCOPED_TRACE(::testing::Message() << "input " << c.hex << ", decoded in " << to_string(c.version)
                                      << ", rule " << c.rule);
    const std::vector<std::uint8_t> bytes = from_hex(c.hex);

    const DecodeResult result = decode(bytes, c.version, c.max_packet_size);

    ASSERT_EQ(result.status, DecodeStatus::error)
        << (result.status == DecodeStatus::packet ? "decoded as a packet" : "asked for more bytes");
    EXPECT_EQ(describe(result.error.code), describe(c.code)) << "message: " << result.error.message;
    EXPECT_EQ(to_string(result.error.version), to_string(c.answer_in.value_or(c.version)));
    EXPECT_FALSE(result.error.message.empty());
}

INSTANTIATE_TEST_SUITE_P(Malformed, Malformed, ::testing::ValuesIn(malformed_cases),
                         [](const ::testing::TestParamInfo<MalformedCase>& param_info) {
                             return std::string(param_info.param.name);
                         });

// Valid packets one change away from rows above.
struct NearMissCase {
    std::string_view name;
    ProtocolVersion version;
    std::string_view hex;
    PacketType type;
    std::uint32_t max_packet_size = max_packet_size_limit;
};

void PrintTo(const NearMissCase& c, std::ostream* os) { *os << c.name << " [" << c.hex << "]"; }

const NearMissCase near_miss_cases[] = {
    // The baselines the flag rows alter.
    {"v5_connect", V5, "10 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 61", PacketType::connect},
    {"v5_connack", V5, "20 03 00 00 00", PacketType::connack},
    {"v5_puback", V5, "40 02 00 01", PacketType::puback},
    {"v5_pubrec", V5, "50 02 00 01", PacketType::pubrec},
    {"v5_pubrel", V5, "62 02 00 01", PacketType::pubrel},
    {"v5_pubcomp", V5, "70 02 00 01", PacketType::pubcomp},
    {"v5_subscribe", V5, "82 07 00 01 00 00 01 61 00", PacketType::subscribe},
    {"v5_suback", V5, "90 04 00 01 00 00", PacketType::suback},
    {"v5_unsubscribe", V5, "A2 06 00 01 00 00 01 61", PacketType::unsubscribe},
    {"v5_unsuback", V5, "B0 04 00 01 00 00", PacketType::unsuback},
    {"v5_pingreq", V5, "C0 00", PacketType::pingreq},
    {"v5_pingresp", V5, "D0 00", PacketType::pingresp},
    {"v5_disconnect", V5, "E0 00", PacketType::disconnect},
    {"v5_auth", V5, "F0 00", PacketType::auth},
    {"v311_connect", V311, "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 61", PacketType::connect},
    {"v311_connack", V311, "20 02 00 00", PacketType::connack},
    {"v311_puback", V311, "40 02 00 01", PacketType::puback},
    {"v311_pubrec", V311, "50 02 00 01", PacketType::pubrec},
    {"v311_pubrel", V311, "62 02 00 01", PacketType::pubrel},
    {"v311_pubcomp", V311, "70 02 00 01", PacketType::pubcomp},
    {"v311_subscribe", V311, "82 06 00 01 00 01 61 00", PacketType::subscribe},
    {"v311_suback", V311, "90 03 00 01 00", PacketType::suback},
    {"v311_unsubscribe", V311, "A2 05 00 01 00 01 61", PacketType::unsubscribe},
    {"v311_unsuback", V311, "B0 02 00 01", PacketType::unsuback},
    {"v311_pingreq", V311, "C0 00", PacketType::pingreq},
    {"v311_pingresp", V311, "D0 00", PacketType::pingresp},
    {"v311_disconnect", V311, "E0 00", PacketType::disconnect},
    {"v31_connect_MQIsdp_level_3", V311, "10 0F 00 06 4D 51 49 73 64 70 03 02 00 3C 00 01 61", PacketType::connect},
    // PUBLISH with every legal flag combination nearby.
    {"v5_publish_qos_0", V5, "30 04 00 01 61 00", PacketType::publish},
    {"v5_publish_qos_2_dup_retain", V5, "3D 06 00 01 61 00 01 00", PacketType::publish},
    {"v311_publish_qos_1_dup", V311, "3A 05 00 01 61 00 01", PacketType::publish},
    {"v5_publish_empty_topic_with_alias", V5, "30 06 00 00 03 23 00 01", PacketType::publish},
    {"v5_publish_user_property_twice", V5, "30 12 00 01 61 0E 26 00 01 6B 00 01 76 26 00 01 6B 00 01 76", PacketType::publish},
    // A client may get several Subscription Identifiers in one PUBLISH [MQTT-3.3.4-3].
    {"v5_publish_two_subscription_identifiers", V5, "30 08 00 01 61 04 0B 01 0B 02", PacketType::publish},
    // U+0000 is fine in a UTF-8 payload: only strings exclude it [MQTT-1.5.4-2].
    {"v5_publish_utf8_payload_with_U0000", V5, "30 08 00 01 61 02 01 01 61 00", PacketType::publish},
    {"v5_publish_binary_payload_not_utf8", V5, "30 06 00 01 61 00 C0 AF", PacketType::publish},
    {"v5_publish_multibyte_topic", V5, "30 08 00 05 F0 9F 98 80 61 00", PacketType::publish},
    {"v5_publish_at_limit", V5, "30 05 00 01 61 00 78", PacketType::publish, 7},
    // Wildcards where they may stand.
    {"v5_filter_plus_levels_and_hash", V5, "82 0B 00 01 00 00 05 2B 2F 61 2F 23 00", PacketType::subscribe},
    {"v5_filter_hash_alone", V5, "82 07 00 01 00 00 01 23 00", PacketType::subscribe},
    {"v5_filter_shared", V5, "82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 78 00", PacketType::subscribe},
    {"v5_options_every_legal_bit", V5, "82 07 00 01 00 00 01 61 2E", PacketType::subscribe},
    {"v311_options_qos_2", V311, "82 06 00 01 00 01 61 02", PacketType::subscribe},
    {"v5_subscribe_subscription_identifier_once", V5, "82 09 00 01 02 0B 01 00 01 61 00", PacketType::subscribe},
    // Acknowledgements with reason codes they may carry.
    {"v5_puback_reason_10_without_properties", V5, "40 03 00 01 10", PacketType::puback},
    {"v5_puback_reason_string", V5, "40 08 00 01 10 04 1F 00 01 78", PacketType::puback},
    {"v5_pubrel_reason_92", V5, "62 03 00 01 92", PacketType::pubrel},
    {"v5_suback_reasons_02_and_8F", V5, "90 05 00 01 00 02 8F", PacketType::suback},
    {"v311_suback_return_code_80", V311, "90 03 00 01 80", PacketType::suback},
    {"v311_connack_return_code_5", V311, "20 02 00 05", PacketType::connack},
    {"v5_connack_maximum_qos_1", V5, "20 05 00 00 02 24 01", PacketType::connack},
    {"v5_disconnect_with_session_expiry", V5, "E0 07 00 05 11 00 00 00 0A", PacketType::disconnect},
    {"v5_auth_continue_with_method", V5, "F0 07 18 05 15 00 02 6D 31", PacketType::auth},
    // CONNECT variants.
    {"v5_connect_password_without_user_name", V5, "10 10 00 04 4D 51 54 54 05 42 00 3C 00 00 01 61 00 00", PacketType::connect},
    {"v5_connect_will_qos_2_retain", V5, "10 14 00 04 4D 51 54 54 05 36 00 3C 00 00 01 61 00 00 01 74 00 00", PacketType::connect},
    // Binary Data may hold any bytes, U+0000 and non-UTF-8 included [MQTT 5.0, 1.5.6].
    {"v5_publish_binary_correlation_data", V5, "30 09 00 01 61 05 09 00 02 00 FF", PacketType::publish},
    {"v5_connect_binary_authentication_data", V5, "10 17 00 04 4D 51 54 54 05 02 00 3C 09 15 00 02 6D 31 16 00 01 FF 00 01 61", PacketType::connect},
    {"v5_auth_binary_authentication_data", V5, "F0 0B 18 09 15 00 02 6D 31 16 00 01 00", PacketType::auth},
    {"v5_connect_authentication_method_and_data", V5, "10 17 00 04 4D 51 54 54 05 02 00 3C 09 15 00 02 6D 31 16 00 01 78 00 01 61", PacketType::connect},
    {"v311_connect_empty_client_id", V311, "10 0C 00 04 4D 51 54 54 04 02 00 3C 00 00", PacketType::connect},
};

class MalformedNearMiss : public ::testing::TestWithParam<NearMissCase> {};

TEST_P(MalformedNearMiss, DecodesAsPacket) {
    const NearMissCase& c = GetParam();
    SCOPED_TRACE(::testing::Message() << "input " << c.hex << ", decoded in " << to_string(c.version));
    const std::vector<std::uint8_t> bytes = from_hex(c.hex);

    const DecodeResult result = decode(bytes, c.version, c.max_packet_size);

    ASSERT_EQ(result.status, DecodeStatus::packet)
        << "error " << describe(result.error.code) << ": " << result.error.message;
    EXPECT_EQ(to_string(type_of(result.packet)), to_string(c.type));
    EXPECT_EQ(result.size, bytes.size());
}

INSTANTIATE_TEST_SUITE_P(Malformed, MalformedNearMiss, ::testing::ValuesIn(near_miss_cases),
                         [](const ::testing::TestParamInfo<NearMissCase>& param_info) {
                             return std::string(param_info.param.name);
                         });

// MQTT 5 dropped the rule that a password needs a user name [MQTT 5.0, 3.1.2.9],
// which 3.1.1 had [MQTT-3.1.2-22].
TEST(MalformedConnect, AcceptsPasswordWithoutUserNameInV5) {
    const auto bytes = from_hex("10 12 00 04 4D 51 54 54 05 42 00 3C 00 00 01 61 00 02 70 77");

    const DecodeResult result = decode(bytes, V5);

    ASSERT_EQ(result.status, DecodeStatus::packet) << result.error.message;
    const auto& connect = std::get<Connect>(result.packet);
    EXPECT_EQ(connect.version, V5);
    EXPECT_EQ(connect.client_id, "a");
    EXPECT_FALSE(connect.username.has_value());
    ASSERT_TRUE(connect.password.has_value());
    EXPECT_EQ(*connect.password, "pw");
}

TEST(MalformedConnect, RefusesPasswordWithoutUserNameInV311) {
    const auto bytes = from_hex("10 11 00 04 4D 51 54 54 04 42 00 3C 00 01 61 00 02 70 77");

    const DecodeResult result = decode(bytes, V311);

    ASSERT_EQ(result.status, DecodeStatus::error);
    EXPECT_EQ(result.error.version, V311);
}

// The limit is applied before the body is needed: the same header with the
// limit one byte larger asks for more instead.
TEST(MalformedLimit, AsksForBodyWhenHeaderFitsLimit) {
    const auto header = from_hex("30 80 01");  // 128-byte body: 131 bytes in all

    EXPECT_EQ(decode(header, V5, 131).status, DecodeStatus::need_more);
    EXPECT_EQ(decode(header, V5, 130).status, DecodeStatus::error);
    EXPECT_EQ(decode(header, V5, 130).error.code, ReasonCode::packet_too_large);
}

// A short buffer is not an error: decode() waits for the rest.
TEST(MalformedLimit, AsksForMoreWhenBufferEndsInsidePacket) {
    const auto whole = from_hex("30 06 00 01 61 00 68 69");
    for (std::size_t n = 0; n < whole.size(); ++n) {
        const DecodeResult result = decode(std::span(whole).first(n), V5);
        EXPECT_EQ(result.status, DecodeStatus::need_more) << "after " << n << " bytes";
    }
    EXPECT_EQ(decode(whole, V5).status, DecodeStatus::packet);
}

}  // namespace
