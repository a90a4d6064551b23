#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

namespace fieldgate::transport {

// A socket counted against its listener's and the gateway's max_connections,
// from accept until it closes. The counters are shared, so a slot released
// while the worker pool is torn down, after its listener is gone, touches
// nothing freed.
class ConnectionSlot {
public:
    using Counter = std::shared_ptr<std::atomic<std::size_t>>;
    // A listener's count and the gateway's, in one block its slots share (one
    // pointer per connection).
    struct Counters {
        explicit Counters(Counter g) : gateway(std::move(g)) {}
        std::atomic<std::size_t> listener{0};
        Counter gateway;
    };

    ConnectionSlot() = default;
    explicit ConnectionSlot(std::shared_ptr<Counters> counters) : counters_(std::move(counters)) {
        counters_->listener.fetch_add(1, std::memory_order_relaxed);
        counters_->gateway->fetch_add(1, std::memory_order_relaxed);
    }
    ConnectionSlot(ConnectionSlot&& other) noexcept = default;
    ConnectionSlot& operator=(ConnectionSlot&& other) noexcept {
        if (this != &other) {
            release();
            counters_ = std::move(other.counters_);
        }
        return *this;
    }
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    ~ConnectionSlot() { release(); }

    void release() {
        if (!counters_) return;
        counters_->listener.fetch_sub(1, std::memory_order_relaxed);
        counters_->gateway->fetch_sub(1, std::memory_order_relaxed);
        counters_.reset();
    }

private:
    std::shared_ptr<Counters> counters_;
};

}  // namespace fieldgate::transport
