#include "gateway/transport/worker_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sched.h>

namespace fieldgate::transport {
namespace {

class AsioTimer final : public broker::Executor::Timer {
public:
    explicit AsioTimer(boost::asio::io_context& io) : timer(io) {}
    // The flag, not only cancel(), keeps a task whose wait already completed
    // (queued, not yet run) from running after the handle is gone.
    ~AsioTimer() override {
        *alive = false;
        timer.cancel();
    }

    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    boost::asio::steady_timer timer;
};

// The cores this process may run on: systemd's CPUAffinity= or taskset
// narrow them, and more workers than cores only adds hand-offs.
std::size_t usable_cores() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

WorkerPool::WorkerPool(std::size_t count) {
    if (count == 0) count = usable_cores();
    for (std::size_t i = 0; i < count; ++i) {
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
    }
    for (std::size_t i = 0; i < count; ++i) deadlines_.push_back(std::make_unique<Deadlines>(*this, i));
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start() {
    for (auto& io : contexts_) threads_.emplace_back([&io] { io->run(); });
}

void WorkerPool::stop() {
    for (auto& guard : guards_) guard.reset();
    for (auto& io : contexts_) io->stop();
    for (auto& thread : threads_) {
        if (thread.joinable()) thread.join();
    }
    threads_.clear();
}

void WorkerPool::post(std::size_t worker, Task task) { boost::asio::post(*contexts_[worker], std::move(task)); }

std::unique_ptr<broker::Executor::Timer> WorkerPool::run_after(std::size_t worker, std::chrono::milliseconds delay,
                                                               Task task) {
    auto t = std::make_unique<AsioTimer>(*contexts_[worker]);
    t->timer.expires_after(delay);
    t->timer.async_wait([alive = t->alive, task = std::move(task)](const boost::system::error_code& ec) {
        if (!ec && *alive) task();
    });
    return t;
}

}  // namespace fieldgate::transport
