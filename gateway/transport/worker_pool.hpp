#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "gateway/broker/executor.hpp"
#include "gateway/transport/deadlines.hpp"

namespace fieldgate::transport {

// The broker's worker threads: one io_context each (DESIGN.md, Threading).
// A connection and its session live on one of them. post() and the timers
// implement broker::Executor with Asio.
class WorkerPool final : public broker::Executor {
public:
    // `count` 0 means one per core.
    explicit WorkerPool(std::size_t count);
    ~WorkerPool() override;

    void start();
    // Lets the io_contexts run out of work and joins the threads.
    void stop();

    boost::asio::io_context& io(std::size_t worker) { return *contexts_[worker]; }
    // The connections' deadlines on `worker`; used only on that worker.
    Deadlines& deadlines(std::size_t worker) { return *deadlines_[worker]; }

    std::size_t worker_count() const override { return contexts_.size(); }
    void post(std::size_t worker, Task task) override;
    std::unique_ptr<Timer> run_after(std::size_t worker, std::chrono::milliseconds delay, Task task) override;
    std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }

private:
    using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<Guard> guards_;
    std::vector<std::thread> threads_;
    // After contexts_, so destroyed before them: a wheel cancels its timer on
    // its io_context and lets go of the connections still on it, which the
    // io_contexts then destroy.
    std::vector<std::unique_ptr<Deadlines>> deadlines_;
};

}  // namespace fieldgate::transport
