#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "gateway/broker/executor.hpp"

namespace fieldgate::transport {

// The connections' deadlines on one worker (connect timeout, keep-alive): a
// hashed timer wheel of intrusive lists that one Executor timer drives,
// instead of an Asio timer and a pending wait per connection. An idle
// connection costs a list hook and a time here (issue 4: memory per idle
// connection). A deadline is acted on at its time or up to one tick after it,
// never before. Deadlines past the wheel's span wait in their slot and are
// looked at once per turn.
//
// Owned by one worker and used only on its thread.
class Deadlines {
public:
    using Clock = std::chrono::steady_clock;

    // Something with a deadline; it leaves the wheel when destroyed.
    class Entry {
    public:
        Entry() = default;
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;

        bool scheduled() const { return pprev_ != nullptr; }
        Clock::time_point deadline() const { return deadline_; }

    protected:
        virtual ~Entry() { unlink(); }
        // On the worker, once the deadline has passed. The entry is no longer
        // scheduled; it may schedule itself again.
        virtual void expired() = 0;

    private:
        friend class Deadlines;
        void unlink() {
            if (pprev_ == nullptr) return;
            *pprev_ = next_;
            if (next_ != nullptr) next_->pprev_ = pprev_;
            next_ = nullptr;
            pprev_ = nullptr;
        }

        Entry* next_ = nullptr;
        Entry** pprev_ = nullptr;  // the pointer that points here: a slot or the previous entry's next_
        Clock::time_point deadline_{};
    };

    static constexpr std::chrono::milliseconds default_tick{100};
    static constexpr std::size_t default_slots = 512;  // 51.2 s at 100 ms

    // `slots` is rounded up to a power of two.
    Deadlines(broker::Executor& executor, std::size_t worker, std::chrono::milliseconds tick = default_tick,
              std::size_t slots = default_slots)
        : executor_(executor),
          worker_(worker),
          tick_(std::max(tick, std::chrono::milliseconds{1})),
          origin_(executor.now()),
          slots_(std::bit_ceil(std::max<std::size_t>(slots, 2)), nullptr),
          mask_(slots_.size() - 1) {}

    // Entries still scheduled are let go (their destructors then touch
    // nothing here); the timer is cancelled.
    ~Deadlines() {
        timer_.reset();
        for (Entry*& head : slots_) {
            while (head != nullptr) head->unlink();
        }
    }
    Deadlines(const Deadlines&) = delete;
    Deadlines& operator=(const Deadlines&) = delete;

    Clock::time_point now() const { return executor_.now(); }

    // (Re)schedules `entry` for `deadline`; a deadline already past is acted on at the next tick.
    void schedule(Entry& entry, Clock::time_point deadline) {
        entry.unlink();
        entry.deadline_ = deadline;
        const std::int64_t tick = std::max(ceil_tick(deadline), cursor_ + 1);
        link(entry, slots_[static_cast<std::size_t>(tick) & mask_]);
        if (!timer_ || tick < armed_) arm(tick);
    }

    void cancel(Entry& entry) { entry.unlink(); }

    // For tests: whether the wheel's timer is armed.
    bool armed() const { return timer_ != nullptr; }

private:
    static void link(Entry& entry, Entry*& head) {
        entry.next_ = head;
        if (head != nullptr) head->pprev_ = &entry.next_;
        head = &entry;
        entry.pprev_ = &head;
    }

    std::int64_t floor_tick(Clock::time_point t) const {
        if (t <= origin_) return 0;
        return static_cast<std::int64_t>((t - origin_) / tick_);
    }
    std::int64_t ceil_tick(Clock::time_point t) const {
        if (t <= origin_) return 0;
        const auto since = t - origin_;
        const auto whole = static_cast<std::int64_t>(since / tick_);
        return since % tick_ == Clock::duration::zero() ? whole : whole + 1;
    }

    void arm(std::int64_t tick) {
        armed_ = tick;
        const auto at = origin_ + tick * tick_;
        const auto delay = std::max(Clock::duration::zero(), at - executor_.now());
        timer_ = executor_.run_after(worker_, std::chrono::ceil<std::chrono::milliseconds>(delay), [this] { run(); });
    }

    void run() {
        timer_.reset();  // this task's own timer: destroying it here is allowed (executor.hpp)
        const auto now = executor_.now();
        const std::int64_t target = floor_tick(now);
        // Every slot the clock passed, once each, into one list: entries put
        // back while it is worked through land in later ticks' slots.
        Entry* due = nullptr;
        Entry** tail = &due;
        const std::int64_t passed = std::min<std::int64_t>(target - cursor_, static_cast<std::int64_t>(slots_.size()));
        for (std::int64_t k = target - passed + 1; k <= target; ++k) {
            Entry*& head = slots_[static_cast<std::size_t>(k) & mask_];
            if (head == nullptr) continue;
            *tail = head;
            head->pprev_ = tail;
            head = nullptr;
            while (*tail != nullptr) tail = &(*tail)->next_;
        }
        cursor_ = std::max(cursor_, target);
        while (due != nullptr) {
            Entry& entry = *due;
            entry.unlink();
            if (entry.deadline_ <= now) {
                entry.expired();  // may unlink or destroy others in `due`
            } else {
                schedule(entry, entry.deadline_);  // a later turn of the wheel
            }
        }
        // The next slot with something in it, unless an expiry armed earlier.
        for (std::size_t i = 1; i <= slots_.size(); ++i) {
            const std::int64_t tick = cursor_ + static_cast<std::int64_t>(i);
            if (timer_ && armed_ <= tick) break;
            if (slots_[static_cast<std::size_t>(tick) & mask_] != nullptr) {
                arm(tick);
                break;
            }
        }
    }

    broker::Executor& executor_;
    std::size_t worker_;
    Clock::duration tick_;
    Clock::time_point origin_;
    std::vector<Entry*> slots_;
    std::size_t mask_;
    std::int64_t cursor_ = 0;  // the last tick worked through
    std::int64_t armed_ = 0;   // the tick the timer is set for, while timer_ is set
    std::unique_ptr<broker::Executor::Timer> timer_;
};

}  // namespace fieldgate::transport
