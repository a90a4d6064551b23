#pragma once

// How long the bridge waits before another round of connection attempts.
// Exponential: reconnect_min, then twice that after every further failed
// round, up to reconnect_max. Each wait is jittered by +-20% (and then held
// inside [min, max]) so that many gateways cut off by the same cloud outage
// do not all come back in the same second, while an operator can still
// predict roughly when the next try is ("about 8 s").
//
// Pure arithmetic over a seeded generator: no clock, no timer, so tests
// need no sleep. Owned by one Uplink; not thread-safe.

#include <chrono>
#include <cstdint>
#include <random>

namespace fieldgate::bridge {

class Backoff {
public:
    using Duration = std::chrono::milliseconds;

    static constexpr double jitter = 0.2;  // each wait is the nominal one times [0.8, 1.2]

    // `max` below `min` is taken as `min`; a zero `min` is taken as 1 ms.
    Backoff(Duration min, Duration max, std::uint64_t seed = std::random_device{}());

    // The wait before the next round; the one after it is centred on twice as long.
    Duration next();
    // After a connection that stayed up long enough: the next wait is `min` again.
    void reset() { doublings_ = 0; }

    // The wait next() would be centred on.
    Duration nominal() const;
    Duration min() const { return min_; }
    Duration max() const { return max_; }

private:
    Duration min_;
    Duration max_;
    std::uint32_t doublings_ = 0;  // since the last reset; stops growing at the cap
    std::mt19937_64 random_;
};

}  // namespace fieldgate::bridge
