#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fieldgate::log {

// Holds back repeats of one message (a dead device polled every second) so it
// is printed once per window with a count instead of every time.
// Not thread-safe: the log sink calls it under its own lock.
class RepeatFilter {
public:
    using Clock = std::chrono::steady_clock;

    explicit RepeatFilter(Clock::duration window = std::chrono::seconds{60}, std::size_t max_tracked = 256);

    // Whether to print `key` now. Within a window after it was printed it is held back and counted.
    bool admit(std::string_view key, Clock::time_point now);

    struct Summary {
        std::string key;
        std::uint64_t repeats;  // held back since the key was last printed
    };
    // The keys whose window has ended with repeats held back; their counts restart.
    std::vector<Summary> expire(Clock::time_point now);

    Clock::duration window() const { return window_; }

private:
    struct Entry {
        Clock::time_point printed;
        std::uint64_t repeats = 0;
    };
    Clock::duration window_;
    std::size_t max_tracked_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace fieldgate::log
