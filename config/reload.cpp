#include "config/reload.hpp"

#include <algorithm>

#include "config/loader.hpp"

namespace fieldgate::config {

ReloadPlan plan_reload(const Config& running, const Config& next) {
    const auto keys = schema_keys();
    ReloadPlan plan;
    for (auto& changed : changed_keys(running, next)) {
        const auto it = std::find_if(keys.begin(), keys.end(), [&](const SchemaKey& k) { return k.path == changed; });
        (it != keys.end() && it->reloadable ? plan.applied : plan.needs_restart).push_back(std::move(changed));
    }
    return plan;
}

}  // namespace fieldgate::config
