#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace fieldgate::config {

// What SIGHUP does with a new, valid configuration: the changed keys split
// into those applied while running and those that take effect at the next start.
struct ReloadPlan {
    std::vector<std::string> applied;
    std::vector<std::string> needs_restart;
};

ReloadPlan plan_reload(const Config& running, const Config& next);

}  // namespace fieldgate::config
