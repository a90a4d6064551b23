#include "bridge/backoff.hpp"

#include <algorithm>

namespace fieldgate::bridge {

Backoff::Backoff(Duration min, Duration max, std::uint64_t seed)
    : min_(std::max(min, Duration{1})), max_(std::max(max, min_)), random_(seed) {}

Backoff::Duration Backoff::nominal() const {
    // Doubling stops at the cap, so the shift below never overflows.
    Duration d = min_;
    for (std::uint32_t i = 0; i < doublings_ && d < max_; ++i) d *= 2;
    return std::min(d, max_);
}

Backoff::Duration Backoff::next() {
    const Duration centre = nominal();
    if (centre < max_) ++doublings_;
    std::uniform_real_distribution<double> factor(1.0 - jitter, 1.0 + jitter);
    const auto jittered = Duration{static_cast<Duration::rep>(static_cast<double>(centre.count()) * factor(random_))};
    return std::clamp(jittered, min_, max_);
}

}  // namespace fieldgate::bridge
