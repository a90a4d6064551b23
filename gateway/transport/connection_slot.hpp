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

    ConnectionSlot() = default;
    ConnectionSlot(Counter listener, Counter gateway) : listener_(std::move(listener)), gateway_(std::move(gateway)) {
        listener_->fetch_add(1, std::memory_order_relaxed);
        gateway_->fetch_add(1, std::memory_order_relaxed);
    }
    ConnectionSlot(ConnectionSlot&& other) noexcept = default;
    ConnectionSlot& operator=(ConnectionSlot&& other) noexcept {
        if (this != &other) {
            release();
            listener_ = std::move(other.listener_);
            gateway_ = std::move(other.gateway_);
        }
        return *this;
    }
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    ~ConnectionSlot() { release(); }

    void release() {
        if (listener_) listener_->fetch_sub(1, std::memory_order_relaxed);
        if (gateway_) gateway_->fetch_sub(1, std::memory_order_relaxed);
        listener_.reset();
        gateway_.reset();
    }

private:
    Counter listener_;
    Counter gateway_;
};

}  // namespace fieldgate::transport
