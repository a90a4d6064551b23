#pragma once

// Standard base64 (RFC 4648 section 4, '+' '/' and '=' padding), the encoding
// of salts and hashes in Mosquitto's password file.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fieldgate::auth {

std::string base64_encode(std::span<const std::uint8_t> data);

// nullopt for anything but the standard alphabet; padding may be left out,
// but when present it must be correct. No whitespace.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace fieldgate::auth
