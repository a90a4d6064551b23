#pragma once

#include <string_view>

namespace fieldgate::mqtt {

// Well-formed UTF-8 per RFC 3629: no overlong forms, no surrogates
// U+D800..U+DFFF, nothing above U+10FFFF. Used for payloads that declare
// themselves UTF-8 (Payload Format Indicator 1) [MQTT 5.0, 3.3.2.3.2].
bool is_well_formed_utf8(std::string_view s);

// An MQTT UTF-8 Encoded String [MQTT 5.0, 1.5.4]: well-formed, and without
// U+0000 [MQTT-1.5.4-1, 1.5.4-2].
bool is_valid_utf8(std::string_view s);

}  // namespace fieldgate::mqtt
