#include "config/serial_pattern.hpp"

#include <boost/regex.hpp>

namespace fieldgate::config {

std::optional<std::string> check_serial_pattern(const std::string& pattern) {
    if (pattern.empty()) return std::nullopt;
    try {
        boost::regex compiled{pattern, boost::regex::perl};
    } catch (const boost::regex_error& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

}  // namespace fieldgate::config
