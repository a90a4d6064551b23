#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace fieldgate::broker {

// What the broker needs from the threads it runs on, so that its logic has no
// Asio in it and its tests can run on a fake clock. Implemented by the
// transport's worker pool (Asio) and by the unit tests.
class Executor {
public:
    using Task = std::function<void()>;

    virtual ~Executor() = default;

    virtual std::size_t worker_count() const = 0;
    // Runs `task` on worker `worker`, after tasks posted there before it. Thread-safe.
    virtual void post(std::size_t worker, Task task) = 0;

    // A one-shot timer on the calling worker; destroying the handle cancels it.
    class Timer {
    public:
        virtual ~Timer() = default;
    };
    virtual std::unique_ptr<Timer> run_after(std::size_t worker, std::chrono::milliseconds delay, Task task) = 0;

    virtual std::chrono::steady_clock::time_point now() const = 0;
};

}  // namespace fieldgate::broker
