#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "gateway/broker/executor.hpp"
#include "gateway/broker/store.hpp"

namespace fieldgate::broker {

namespace sqlite {
class Database;
}

// The durable store: one SQLite database in WAL mode, written by one
// persistence thread that commits whatever has queued up in one transaction
// (group commit), so many messages share one fsync.
//
// Thread-safe: submit() from any worker; the database is touched only by the
// persistence thread (and by the constructor and load(), before start()).
class SqliteStore final : public Store {
public:
    struct Options {
        std::string path;                            // the database file
        bool wait_for_commit = true;                 // durability = sync; false = batched
        std::chrono::milliseconds commit_interval{20};  // batched: how often to commit
        std::uint64_t max_size = 0;                  // bytes; 0 = as much as the disk takes
        // sync: how long a commit may wait for the subscribers to acknowledge
        // the messages it would store (then they are not written at all).
        std::chrono::microseconds group_delay{1000};
    };

    // Opens the database. One that cannot be opened or fails its integrity
    // check is moved aside (renamed, never deleted) and a new one started;
    // recovered_from() then names where the old one went.
    SqliteStore(Options options, Executor& executor);
    ~SqliteStore() override;

    // Everything stored, with sessions whose expiry passed while the gateway
    // was down left out. Call once, before start().
    store::LoadedState load() override;
    void start() override;
    // Commits what is queued and stops the thread.
    void stop();

    bool acknowledgements_wait() const override { return options_.wait_for_commit; }
    void submit(std::vector<store::Op> ops, std::size_t worker, Done done) override;
    std::uint64_t next_message_id() override { return next_message_.fetch_add(1, std::memory_order_relaxed); }

    const std::string& recovered_from() const { return recovered_from_; }
    // True after a commit failed for lack of space, until one succeeds.
    bool full() const override { return full_.load(std::memory_order_relaxed); }
    // Session copies of messages that were done (acknowledged by the
    // subscriber) before the commit that would have stored them, and so were
    // never written. For tests and figures.
    std::uint64_t unwritten_copies() const { return unwritten_copies_.load(std::memory_order_relaxed); }

private:
    struct Batch {
        std::vector<store::Op> ops;
        std::size_t worker;
        Done done;
    };
    struct Statements;
    // A session's copy of a message.
    struct Copy {
        SessionId session;
        std::uint64_t message;
        bool operator==(const Copy&) const = default;
    };
    struct CopyHash {
        std::size_t operator()(const Copy& c) const noexcept {
            return std::hash<std::uint64_t>{}(c.message * 0x9E3779B97F4A7C15ull ^ c.session);
        }
    };

    void open();
    void run();
    // Whether each batch was stored.
    std::vector<bool> commit(std::vector<Batch>& batches);
    bool transaction(std::vector<Batch>& batches, std::size_t first, std::size_t last);
    // Fills skipped_ with the copies that batches [first, last) both put and finish.
    void find_unwritten(const std::vector<Batch>& batches, std::size_t first, std::size_t last);
    bool skipped(SessionId session, std::uint64_t message) const {
        return !skipped_.empty() && skipped_.contains(Copy{session, message});
    }
    void apply(const store::Op& op);
    static std::int64_t put_message(Statements& s, const Message& message);

    Options options_;
    Executor& executor_;
    std::unique_ptr<sqlite::Database> db_;
    std::unique_ptr<Statements> statements_;
    std::string recovered_from_;
    std::atomic<std::uint64_t> next_message_{1};
    std::atomic<bool> full_{false};
    std::atomic<std::uint64_t> unwritten_copies_{0};
    // Persistence thread only: scratch sets of the transaction being written.
    std::unordered_set<Copy, CopyHash> put_;
    std::unordered_set<Copy, CopyHash> skipped_;
    std::uint64_t unwritten_in_transaction_ = 0;

    std::mutex mutex_;  // guards pending_, open_ and stopping_
    std::condition_variable wake_;
    std::vector<Batch> pending_;
    // sync: the copies pending_ puts and does not yet finish.
    std::unordered_set<Copy, CopyHash> open_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace fieldgate::broker
