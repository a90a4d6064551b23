#include "config/diagnostics.hpp"

#include <algorithm>

namespace fieldgate::config {

SourcePosition Diagnostics::position_of(std::string_view key) const {
    while (true) {
        if (auto it = positions_.find(key); it != positions_.end()) return it->second;
        const auto cut = key.find_last_of(".[");
        if (cut == std::string_view::npos) return {};
        key = key.substr(0, cut);
    }
}

std::vector<ConfigError> Diagnostics::take() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::tie(a.position.line, a.position.column) < std::tie(b.position.line, b.position.column);
    });
    return std::move(errors_);
}

}  // namespace fieldgate::config
