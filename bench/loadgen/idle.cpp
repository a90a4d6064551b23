// The idle-connections scenario: what a connection that has said CONNECT and
// nothing since costs the broker in resident memory.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/loadgen/net.hpp"
#include "bench/loadgen/packets.hpp"
#include "bench/loadgen/proc_stats.hpp"
#include "bench/loadgen/scenarios.hpp"

namespace fieldgate::bench {

using namespace std::chrono_literals;

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
    std::vector<std::unique_ptr<Opening>> slots;  // a failed one has no socket left
    slots.reserve(o.connections);
    std::size_t in_progress = 0;
    std::size_t connected = 0;
    std::size_t failed = 0;
    std::size_t closed_later = 0;
    std::string first_error;
    std::string tls;  // what the first connection negotiated
    const std::string tag = std::to_string(getpid());

    auto give_up = [&](std::size_t i, std::string why) {
        Opening& s = *slots[i];
        if (s.state() == Opening::State::open) {
            ++closed_later;
        } else {
            ++failed;
            if (s.in_progress()) --in_progress;
        }
        if (s.fd() >= 0) poller.remove(s.fd());
        s.fail(std::move(why));
        if (first_error.empty()) first_error = s.error();
    };

    auto on_event = [&](std::size_t i, std::uint32_t events) {
        Opening& s = *slots[i];
        if (s.state() == Opening::State::failed) return;
        if (s.state() == Opening::State::open) {
            Connection& c = *s.connection();
            if (c.read(256) == Connection::ReadResult::closed) return give_up(i, "closed by the broker");
            for (mqtt::DecodeResult r = c.next(); r.status != mqtt::DecodeStatus::need_more; r = c.next()) {
                if (r.status == mqtt::DecodeStatus::error) return give_up(i, "undecodable packet");
            }
            return;
        }
        const int fd = s.fd();
        s.on_event(events);
        if (s.state() == Opening::State::failed) {  // its socket is closed, which leaves the poller too
            --in_progress;
            ++failed;
            if (first_error.empty()) first_error = s.error();
            return;
        }
        if (s.state() == Opening::State::open) {
            --in_progress;
            ++connected;
            if (tls.empty()) tls = s.connection()->tls_summary();
        }
        poller.modify(fd, i, s.events());
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
            const std::size_t i = slots.size();
            slots.push_back(std::make_unique<Opening>(
                o.endpoint, connect_packet(o.version, "fgbench-" + tag + "-idle-" + std::to_string(i), o.keep_alive),
                o.version, o.tls));
            Opening& s = *slots.back();
            if (s.state() == Opening::State::failed) {
                std::fprintf(stderr, "fg_loadgen: %s\n", s.error().c_str());
                return 1;
            }
            poller.add(s.fd(), i, s.events());
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
        " rss_base_kib=%" PRIu64 " rss_kib=%" PRIu64 " rss_per_conn_kib=%.3f tls=%s\n",
        o.connections, connected, failed, closed_later, connect_seconds, base_kib, rss_kib, per_conn_kib, tls.c_str());
    if (!first_error.empty()) std::fprintf(stderr, "fg_loadgen: idle: first failure: %s\n", first_error.c_str());
    return connected == o.connections ? 0 : 1;
}

}  // namespace fieldgate::bench
