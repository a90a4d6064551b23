#include "gateway/broker/auth/login_throttle.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

namespace fieldgate::auth {

std::string LoginThrottle::source_of(std::string_view address) {
    // A scope ("fe80::1%eth0") names an interface, not another host.
    const std::string text{address.substr(0, address.find('%'))};
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return text;
    std::array<char, INET6_ADDRSTRLEN> out{};
    constexpr std::array<unsigned char, 12> v4_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(v4_mapped.begin(), v4_mapped.end(), bytes.begin())) {
        inet_ntop(AF_INET, bytes.data() + 12, out.data(), out.size());
        return out.data();
    }
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    inet_ntop(AF_INET6, bytes.data(), out.data(), out.size());
    return std::string{out.data()} + "/64";
}

std::chrono::milliseconds LoginThrottle::failed(std::string_view address, Clock::time_point now) {
    const std::string source = source_of(address);
    const std::lock_guard lock{mutex_};
    auto it = sources_.find(source);
    if (it == sources_.end()) {
        if (sources_.size() >= settings_.max_sources) make_room(now);
        it = sources_.emplace(source, Entry{}).first;
    } else if (now - it->second.last >= settings_.forget_after) {
        it->second.failures = 0;
    }
    Entry& e = it->second;
    e.last = now;
    ++e.failures;
    auto delay = settings_.first_delay;
    for (unsigned i = 1; i < e.failures && delay < settings_.max_delay; ++i) delay *= 2;
    return std::min(delay, settings_.max_delay);
}

void LoginThrottle::make_room(Clock::time_point now) {
    std::erase_if(sources_, [&](const auto& s) { return now - s.second.last >= settings_.forget_after; });
    if (sources_.size() < settings_.max_sources) return;
    // Every source failed recently (many addresses at once): forget the one quiet longest.
    const auto oldest = std::min_element(sources_.begin(), sources_.end(),
                                         [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
    sources_.erase(oldest);
}

std::size_t LoginThrottle::sources() const {
    const std::lock_guard lock{mutex_};
    return sources_.size();
}

}  // namespace fieldgate::auth
