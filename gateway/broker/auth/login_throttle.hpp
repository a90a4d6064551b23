#pragma once

// Slows password guessing (issue 6): a refused login is answered after a delay
// that doubles with each recent failure from the same source, up to a cap, so
// a brute-force run from one address gets a trickle of answers while clients
// elsewhere, and every successful login, are never delayed.
//
// Pure logic; the caller passes the time (the broker's clock, a fake one in tests).

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fieldgate::auth {

class LoginThrottle {
public:
    using Clock = std::chrono::steady_clock;

    struct Settings {
        std::chrono::milliseconds first_delay{100};
        std::chrono::milliseconds max_delay{5000};
        // A source with no failure for this long starts again from first_delay.
        std::chrono::milliseconds forget_after{60'000};
        // Sources remembered at most; beyond it the quiet ones, then the least
        // recent, are forgotten, so a spray of addresses cannot grow memory.
        std::size_t max_sources = 4096;
    };

    LoginThrottle() = default;
    explicit LoginThrottle(Settings settings) : settings_(settings) {}

    // Counts a failed login from `address` (an IP address as text) and
    // returns how long its refusal waits. Thread-safe.
    std::chrono::milliseconds failed(std::string_view address, Clock::time_point now);

    // Sources remembered now (for tests). Thread-safe.
    std::size_t sources() const;

    // The key failures are counted under: an IPv4 address as it is (also when
    // written IPv4-mapped, ::ffff:a.b.c.d), an IPv6 address by its /64, which
    // one host usually owns whole and could otherwise walk through. Exposed for tests.
    static std::string source_of(std::string_view address);

private:
    struct Entry {
        unsigned failures = 0;
        Clock::time_point last;
    };

    void make_room(Clock::time_point now);  // mutex_ held

    Settings settings_;
    mutable std::mutex mutex_;  // guards sources_
    std::unordered_map<std::string, Entry> sources_;
};

}  // namespace fieldgate::auth
