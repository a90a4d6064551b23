#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace fieldgate::bench {

// Latencies in nanoseconds, log-linear buckets (HdrHistogram's layout): 128
// buckets per power of two, so any percentile is within 0.8% of the true
// value, recording is a few instructions and the memory is fixed (58 KiB) however
// long the run.
class LatencyHistogram {
public:
    void record(std::int64_t ns) {
        const auto v = static_cast<std::uint64_t>(ns < 0 ? 0 : ns);
        ++counts_[index_of(v)];
        ++total_;
        if (v > max_) max_ = v;
    }

    std::uint64_t count() const { return total_; }
    std::uint64_t max() const { return max_; }

    // The value below which the fraction `q` (0..1) of the samples lie: the
    // middle of the bucket holding the sample of that rank; 0 when empty.
    std::uint64_t percentile(double q) const {
        if (total_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.5);
        if (rank < 1) rank = 1;
        if (rank > total_) rank = total_;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return middle_of(i);
        }
        return max_;
    }

private:
    static constexpr int sub_bits = 7;
    static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;

    static std::size_t index_of(std::uint64_t v) {
        if (v < sub_count) return static_cast<std::size_t>(v);
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - sub_bits;
        return static_cast<std::size_t>((static_cast<std::uint64_t>(shift + 1) << sub_bits) +
                                        ((v >> shift) - sub_count));
    }

    static std::uint64_t middle_of(std::size_t index) {
        if (index < sub_count) return index;
        const auto shift = static_cast<int>(index >> sub_bits) - 1;
        const std::uint64_t low = (sub_count + (index & (sub_count - 1))) << shift;
        return low + ((std::uint64_t{1} << shift) >> 1);
    }

    std::array<std::uint64_t, (64 - sub_bits + 1) * sub_count> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace fieldgate::bench
