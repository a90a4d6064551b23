#pragma once

#include <atomic>

#include "gateway/broker/executor.hpp"
#include "gateway/broker/store.hpp"

namespace fieldgate::broker {

// durability = "none": nothing is written; acknowledgements never wait.
class NullStore final : public Store {
public:
    explicit NullStore(Executor& executor) : executor_(executor) {}

    bool acknowledgements_wait() const override { return false; }
    void submit(std::vector<store::Op>, std::size_t worker, Done done) override {
        if (done) executor_.post(worker, [done = std::move(done)] { done(true); });
    }
    std::uint64_t next_message_id() override { return next_.fetch_add(1, std::memory_order_relaxed); }

private:
    Executor& executor_;
    std::atomic<std::uint64_t> next_{1};
};

}  // namespace fieldgate::broker
