// The idle-connections scenario: what a connection that has said CONNECT and
// nothing since costs the broker in resident memory.
#include <sys/socket.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bench/loadgen/net.hpp"
#include "bench/loadgen/packets.hpp"
#include "bench/loadgen/proc_stats.hpp"
#include "bench/loadgen/scenarios.hpp"

namespace fieldgate::bench {

namespace {

using namespace std::chrono_literals;

enum class State : std::uint8_t { connecting, awaiting_connack, connected, failed };

struct Slot {
    std::unique_ptr<Connection> socket;
    State state = State::connecting;
};

}  // namespace

int run_idle(const IdleOptions& o) {
    const std::uint64_t fd_limit = raise_open_file_limit();
    if (fd_limit < o.connections + 16) {
        std::fprintf(stderr, "fg_loadgen: %zu connections need %zu open files; the limit is %" PRIu64 "\n",
                     o.connections, o.connections + 16, fd_limit);
        return 1;
    }
    std::optional<ProcessSample> baseline;
    if (o.broker_pid > 0) {
        baseline = sample_process(o.broker_pid);
        if (!baseline) {
            std::fprintf(stderr, "fg_loadgen: cannot read /proc/%d\n", static_cast<int>(o.broker_pid));
            return 1;
        }
    }

    Poller poller;
    std::vector<Slot> slots;
    slots.reserve(o.connections);
    std::size_t in_progress = 0;
    std::size_t connected = 0;
    std::size_t failed = 0;
    std::size_t closed_later = 0;
    const std::string tag = std::to_string(getpid());

    auto give_up = [&](std::size_t i) {
        Slot& s = slots[i];
        if (s.state == State::connecting || s.state == State::awaiting_connack) --in_progress;
        if (s.state == State::connected)
            ++closed_later;
        else
            ++failed;
        s.state = State::failed;
        poller.remove(s.socket->fd());
        s.socket.reset();
    };

    auto on_event = [&](std::size_t i, std::uint32_t events) {
        Slot& s = slots[i];
        if (s.state == State::failed) return;
        if (s.state == State::connecting) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(s.socket->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) return give_up(i);
            const auto connect =
                connect_packet(o.version, "fgbench-" + tag + "-idle-" + std::to_string(i), o.keep_alive);
            s.socket->output().assign(connect.begin(), connect.end());
            if (!s.socket->flush() || s.socket->unsent() > 0) return give_up(i);
            s.state = State::awaiting_connack;
            poller.modify(s.socket->fd(), i, EPOLLIN);
            return;
        }
        if (s.socket->read(256) == Connection::ReadResult::closed) return give_up(i);
        for (;;) {
            mqtt::DecodeResult r = s.socket->next();
            if (r.status == mqtt::DecodeStatus::need_more) break;
            if (r.status == mqtt::DecodeStatus::error) return give_up(i);
            const auto* connack = std::get_if<mqtt::Connack>(&r.packet);
            if (s.state == State::awaiting_connack && connack != nullptr) {
                if (connack->reason_code != mqtt::ReasonCode::success) return give_up(i);
                s.state = State::connected;
                --in_progress;
                ++connected;
            }
        }
    };

    auto poll = [&](std::chrono::nanoseconds timeout) {
        for (const auto& ev : poller.wait(timeout)) on_event(static_cast<std::size_t>(ev.data.u64), ev.events);
    };

    const std::int64_t begin = now_ns();
    const std::int64_t deadline = begin + static_cast<std::int64_t>(o.timeout * 1e9);
    // Bounded by `deadline`; at most `concurrency` handshakes at once so that
    // the broker's listen backlog never overflows (a dropped SYN costs 1 s).
    while (connected + failed < o.connections && now_ns() < deadline) {
        while (slots.size() < o.connections && in_progress < o.concurrency) {
            const int fd = connect_nonblocking(o.endpoint);
            if (fd < 0) {
                std::fprintf(stderr, "fg_loadgen: connect: %s\n", std::strerror(-fd));
                return 1;
            }
            slots.push_back({std::make_unique<Connection>(fd, 1024), State::connecting});
            slots.back().socket->set_version(o.version);
            poller.add(fd, slots.size() - 1, EPOLLOUT);
            ++in_progress;
        }
        poll(10ms);
    }
    const double connect_seconds = static_cast<double>(now_ns() - begin) / 1e9;

    const std::int64_t settle_end = now_ns() + static_cast<std::int64_t>(o.settle * 1e9);
    while (now_ns() < settle_end) poll(10ms);
    std::optional<ProcessSample> after;
    if (o.broker_pid > 0) after = sample_process(o.broker_pid);
    const std::int64_t hold_end = now_ns() + static_cast<std::int64_t>(o.hold * 1e9);
    while (now_ns() < hold_end) poll(10ms);

    double per_conn_kib = -1;
    std::uint64_t base_kib = 0;
    std::uint64_t rss_kib = 0;
    const std::size_t open = connected - closed_later;
    if (baseline && after && open > 0) {
        base_kib = baseline->rss_kib;
        rss_kib = after->rss_kib;
        per_conn_kib = (static_cast<double>(rss_kib) - static_cast<double>(base_kib)) / static_cast<double>(open);
    }
    std::printf(
        "scenario=idle connections=%zu connected=%zu refused=%zu closed_by_broker=%zu connect_s=%.2f"
        " rss_base_kib=%" PRIu64 " rss_kib=%" PRIu64 " rss_per_conn_kib=%.3f\n",
        o.connections, connected, failed, closed_later, connect_seconds, base_kib, rss_kib, per_conn_kib);
    return connected == o.connections ? 0 : 1;
}

}  // namespace fieldgate::bench
