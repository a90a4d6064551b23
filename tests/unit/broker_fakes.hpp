#pragma once

// Fakes for testing the broker without sockets or sleeping: an Executor with a
// manual clock, and a ConnectionPort that decodes what the session writes.

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/broker/broker.hpp"
#include "gateway/broker/connection_port.hpp"
#include "gateway/broker/executor.hpp"
#include "gateway/mqtt/codec.hpp"
#include "gateway/mqtt/stream_parser.hpp"

namespace fieldgate::broker::testing {

// Every worker is the calling thread; posted tasks and due timers run when the
// test calls run() or advance().
class FakeExecutor final : public Executor {
public:
    explicit FakeExecutor(std::size_t workers = 1) : workers_(workers) {}

    std::size_t worker_count() const override { return workers_; }
    void post(std::size_t, Task task) override { tasks_.push_back(std::move(task)); }

    class FakeTimer final : public Timer {
    public:
        explicit FakeTimer(std::shared_ptr<bool> alive) : alive_(std::move(alive)) {}
        ~FakeTimer() override { *alive_ = false; }

    private:
        std::shared_ptr<bool> alive_;
    };
    std::unique_ptr<Timer> run_after(std::size_t, std::chrono::milliseconds delay, Task task) override {
        auto alive = std::make_shared<bool>(true);
        timers_.emplace(now_ + delay, Pending{alive, std::move(task)});
        return std::make_unique<FakeTimer>(alive);
    }
    std::chrono::steady_clock::time_point now() const override { return now_; }

    // Runs posted tasks (and the tasks they post) until none is left.
    void run() {
        for (int guard = 0; guard < 100000 && !tasks_.empty(); ++guard) {
            auto task = std::move(tasks_.front());
            tasks_.pop_front();
            task();
        }
    }

    // Moves the clock, firing due timers in order, and runs what they post.
    void advance(std::chrono::milliseconds by) {
        const auto until = now_ + by;
        run();
        while (!timers_.empty() && timers_.begin()->first <= until) {
            auto node = timers_.extract(timers_.begin());
            now_ = node.key();
            if (*node.mapped().alive) node.mapped().task();
            run();
        }
        now_ = until;
    }

private:
    struct Pending {
        std::shared_ptr<bool> alive;
        Task task;
    };
    std::size_t workers_;
    std::chrono::steady_clock::time_point now_{std::chrono::hours{1}};
    std::deque<Task> tasks_;
    std::multimap<std::chrono::steady_clock::time_point, Pending> timers_;
};

// A client's end of a connection: what the session sends is decoded into packets.
class FakePort final : public ConnectionPort {
public:
    explicit FakePort(mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v5) : parser_(mqtt::max_packet_size_limit, version) {}

    std::vector<std::uint8_t>& output() override { return output_; }
    void flush_soon() override {}
    std::size_t pending_output() const override { return output_.size(); }
    void close() override {
        closed_ = true;
        session_ = nullptr;
    }
    void close_after(std::chrono::milliseconds delay) override {
        close_delay_ = delay;
        close();
    }
    void set_receive_timeout(std::chrono::milliseconds timeout) override { receive_timeout_ = timeout; }
    void attach_session(Session& session) override { session_ = &session; }
    bool is_open() const override { return !closed_; }
    const std::string& peer() const override { return peer_; }
    const PeerInfo& peer_info() const override { return info_; }
    PeerInfo& info() { return info_; }
    // The delay a close_after() asked for (zero: closed at once or open).
    std::chrono::milliseconds close_delay() const { return close_delay_; }

    // The packets written and not yet taken, decoded in the client's version.
    // Their views stay valid until the next call of take() or next().
    std::vector<mqtt::Packet> take() {
        std::vector<mqtt::Packet> packets;
        while (auto p = next()) packets.push_back(std::move(*p));
        return packets;
    }
    std::optional<mqtt::Packet> next() {
        if (!output_.empty()) {
            parser_.feed(output_);
            output_.clear();
        }
        auto r = parser_.next();
        if (r.status != mqtt::DecodeStatus::packet) return std::nullopt;
        return std::move(r.packet);
    }

    Session* session() const { return session_; }
    bool closed() const { return closed_; }
    std::chrono::milliseconds receive_timeout() const { return receive_timeout_; }

private:
    std::vector<std::uint8_t> output_;
    mqtt::StreamParser parser_;
    Session* session_ = nullptr;
    PeerInfo info_{.address = "127.0.0.1"};
    std::chrono::milliseconds close_delay_{0};
    bool closed_ = false;
    std::chrono::milliseconds receive_timeout_{0};
    std::string peer_ = "test";
};

// Encodes a packet as a client would send it.
inline std::vector<std::uint8_t> bytes_of(const mqtt::Packet& packet, mqtt::ProtocolVersion version) {
    std::vector<std::uint8_t> out;
    mqtt::encode(packet, version, out);
    return out;
}

}  // namespace fieldgate::broker::testing
