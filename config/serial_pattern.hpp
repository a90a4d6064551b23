#pragma once

#include <optional>
#include <string>

namespace fieldgate::config {

// Why a serial instrument's pattern would not compile (Boost.Regex, Perl
// syntax, named groups allowed), or nullopt when it compiles or is empty.
std::optional<std::string> check_serial_pattern(const std::string& pattern);

}  // namespace fieldgate::config
