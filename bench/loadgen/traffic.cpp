// The throughput and latency scenarios: one thread, one epoll, every
// connection non-blocking. Publishers append many messages per write;
// subscribers parse every packet of a read and acknowledge in one write.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <unistd.h>

#include "bench/loadgen/histogram.hpp"
#include "bench/loadgen/net.hpp"
#include "bench/loadgen/packets.hpp"
#include "bench/loadgen/proc_stats.hpp"
#include "bench/loadgen/scenarios.hpp"

namespace fieldgate::bench {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t read_chunk = 256 * 1024;
constexpr std::size_t max_unsent = 256 * 1024;    // a publisher stops appending beyond this
constexpr std::size_t max_batch = 1024;           // messages appended per publisher per turn
constexpr std::int64_t stall_ns = 1'000'000'000;  // no delivery this long: the window is written off
constexpr double max_drain_seconds = 30;

// The first bytes of what could not be decoded, for the error message.
std::string hex_prefix(std::span<const std::uint8_t> bytes) {
    std::string s;
    char buf[4];
    for (std::size_t i = 0; i < bytes.size() && i < 48; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
        s += buf;
    }
    return s;
}

std::int64_t to_ns(double seconds) { return static_cast<std::int64_t>(seconds * 1e9); }

struct Publisher {
    std::size_t conn = 0;
    PacketTemplate publish;
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;    // deliveries of its messages, all subscribers
    std::uint64_t written_off = 0;  // deliveries given up on after a stall
    // QoS 1: which packet ids await a PUBACK.
    std::vector<bool> in_use;
    std::uint16_t next_id = 1;
    std::size_t inflight = 0;
};

struct Subscriber {
    std::size_t conn = 0;
    std::vector<std::uint64_t> expected;  // next sequence number from each publisher
};

struct Counters {
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;
};

class TrafficRun {
public:
    explicit TrafficRun(const TrafficOptions& o) : o_(o), puback_(puback_template(o.version)) {}

    int run();

private:
    enum class Role : std::uint8_t { publisher, subscriber };
    struct Conn {
        std::unique_ptr<Connection> socket;
        Role role;
        std::size_t index;  // into publishers_ or subscribers_
        bool connected = false;
        bool subscribed = false;
    };

    void open_connections();
    // Runs the loop until `done` holds or `deadline`; false on a timeout.
    template <class Done>
    bool handshake(Done done, std::int64_t deadline);
    void poll_once(std::chrono::nanoseconds timeout);
    void on_readable(std::size_t c);
    void on_publish(std::size_t c, const mqtt::Publish& p, std::int64_t now);
    void on_puback(std::size_t c, std::uint16_t id);
    void pump(std::int64_t now);
    std::size_t budget(const Publisher& p, std::int64_t now) const;
    std::uint64_t outstanding(const Publisher& p) const {
        return p.sent * o_.subscribers - std::min(p.sent * o_.subscribers, p.delivered + p.written_off);
    }
    std::uint64_t outstanding_total() const;
    void flush_all();
    void fail(const std::string& why) {
        if (error_.empty()) error_ = why;
    }
    Counters counters() const;
    std::uint64_t due(std::int64_t now) const {
        if (o_.rate <= 0 || now < start_ns_) return 0;
        return static_cast<std::uint64_t>(static_cast<double>(now - start_ns_) * o_.rate / 1e9) + 1;
    }

    // When message `k` (0-based) of a publisher is due at a fixed rate.
    std::int64_t due_time(std::uint64_t k) const {
        return start_ns_ + static_cast<std::int64_t>(static_cast<double>(k) * 1e9 / o_.rate);
    }

    TrafficOptions o_;
    PacketTemplate puback_;
    Poller poller_;
    std::vector<Conn> conns_;
    std::vector<Publisher> publishers_;
    std::vector<Subscriber> subscribers_;
    std::vector<std::size_t> dirty_;  // connections with output to flush

    std::int64_t start_ns_ = 0;  // publishing began
    std::int64_t window_begin_ns_ = 0;
    std::int64_t window_end_ns_ = 0;
    bool measuring_ = false;
    bool stopped_ = false;
    std::int64_t last_delivery_ns_ = 0;

    std::uint64_t delivered_ = 0;
    std::uint64_t duplicates_ = 0;  // sequence numbers seen before (QoS 1 resends) or out of order
    std::uint64_t gaps_ = 0;        // sequence numbers skipped
    std::uint64_t stalls_ = 0;
    std::uint64_t acked_ = 0;
    LatencyHistogram latency_;
    std::string tls_;  // what the first connection negotiated
    std::string error_;
};

void TrafficRun::open_connections() {
    auto open = [&](Role role, std::size_t index, const std::string& id) {
        const int fd = connect_blocking(o_.endpoint);
        if (fd < 0) throw std::runtime_error("connect: " + std::string(std::strerror(-fd)));
        Conn conn{std::make_unique<Connection>(fd, 1u << 20, o_.tls), role, index};
        std::string error;
        if (!conn.socket->handshake_blocking(10s, error)) throw std::runtime_error(error);
        if (tls_.empty()) tls_ = conn.socket->tls_summary();
        conn.socket->set_version(o_.version);
        const bool persistent = o_.persistent && role == Role::subscriber;
        const auto connect = connect_packet(o_.version, id, 600, !persistent, persistent ? 3600 : 0);
        conn.socket->output().assign(connect.begin(), connect.end());
        poller_.add(fd, conns_.size(), EPOLLIN);
        dirty_.push_back(conns_.size());
        conns_.push_back(std::move(conn));
    };
    const auto tag = std::to_string(getpid());
    for (std::size_t s = 0; s < o_.subscribers; ++s) {
        subscribers_.push_back({conns_.size(), std::vector<std::uint64_t>(o_.publishers, 0)});
        // A persistent session under the same id in every run: each run has a fresh broker and state.
        open(Role::subscriber, s, o_.persistent ? "fgbench-sub-" + std::to_string(s) : "fgbench-" + tag + "-sub-" + std::to_string(s));
    }
    for (std::size_t p = 0; p < o_.publishers; ++p) {
        Publisher pub;
        pub.conn = conns_.size();
        pub.publish = publish_template(o_.version, "bench/" + std::to_string(p), o_.qos, o_.payload);
        if (o_.qos != mqtt::QoS::at_most_once) pub.in_use.assign(65536, false);
        publishers_.push_back(std::move(pub));
        open(Role::publisher, p, "fgbench-" + tag + "-pub-" + std::to_string(p));
    }
}

template <class Done>
bool TrafficRun::handshake(Done done, std::int64_t deadline) {
    while (!done() && error_.empty()) {
        if (now_ns() > deadline) return false;
        flush_all();
        poll_once(10ms);
    }
    return error_.empty();
}

void TrafficRun::poll_once(std::chrono::nanoseconds timeout) {
    for (const auto& ev : poller_.wait(timeout)) {
        const auto c = static_cast<std::size_t>(ev.data.u64);
        if ((ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) on_readable(c);
        if ((ev.events & EPOLLOUT) != 0) dirty_.push_back(c);
    }
}

void TrafficRun::on_readable(std::size_t c) {
    Conn& conn = conns_[c];
    switch (conn.socket->read(read_chunk)) {
        case Connection::ReadResult::would_block: return;
        case Connection::ReadResult::closed: return fail("the broker closed a connection");
        case Connection::ReadResult::data: break;
    }
    const std::int64_t now = now_ns();  // once per read: every packet in it has arrived by now
    for (;;) {
        mqtt::DecodeResult r = conn.socket->next();
        if (r.status == mqtt::DecodeStatus::need_more) break;
        if (r.status == mqtt::DecodeStatus::error) {
            return fail("undecodable packet (" + std::string(r.error.message) +
                        "): " + hex_prefix(conn.socket->pending()));
        }
        if (const auto* publish = std::get_if<mqtt::Publish>(&r.packet)) {
            on_publish(c, *publish, now);
        } else if (const auto* ack = std::get_if<mqtt::Puback>(&r.packet)) {
            on_puback(c, ack->packet_id);
        } else if (const auto* connack = std::get_if<mqtt::Connack>(&r.packet)) {
            if (connack->reason_code != mqtt::ReasonCode::success) return fail("CONNACK refused the connection");
            conn.connected = true;
        } else if (const auto* suback = std::get_if<mqtt::Suback>(&r.packet)) {
            for (auto code : suback->reason_codes) {
                if (static_cast<std::uint8_t>(code) >= 0x80) return fail("SUBACK refused the subscription");
            }
            conn.subscribed = true;
        } else if (std::holds_alternative<mqtt::Disconnect>(r.packet)) {
            return fail("the broker sent DISCONNECT");
        }
    }
}

void TrafficRun::on_publish(std::size_t c, const mqtt::Publish& p, std::int64_t now) {
    Conn& conn = conns_[c];
    if (p.qos == mqtt::QoS::at_least_once) {
        puback_.append_to(conn.socket->output(), p.packet_id);
        if (conn.socket->unsent() == puback_.bytes.size()) dirty_.push_back(c);
    }
    if (p.payload.size() < Stamp::size) return fail("a delivered payload is too short to carry the stamp");
    const Stamp stamp = Stamp::read(p.payload.data());
    if (stamp.publisher >= publishers_.size()) return fail("a delivered payload names no publisher of this run");
    auto& expected = subscribers_[conn.index].expected[stamp.publisher];
    if (stamp.sequence < expected) {
        ++duplicates_;
        return;
    }
    gaps_ += stamp.sequence - expected;
    expected = stamp.sequence + 1;
    ++delivered_;
    ++publishers_[stamp.publisher].delivered;
    last_delivery_ns_ = now;
    if (measuring_ && !stopped_) latency_.record(now - stamp.sent_ns);
}

void TrafficRun::on_puback(std::size_t c, std::uint16_t id) {
    Conn& conn = conns_[c];
    if (conn.role != Role::publisher) return;
    Publisher& pub = publishers_[conn.index];
    if (pub.in_use.empty() || !pub.in_use[id]) return fail("PUBACK for a packet id not in flight");
    pub.in_use[id] = false;
    --pub.inflight;
    ++acked_;
}

std::size_t TrafficRun::budget(const Publisher& p, std::int64_t now) const {
    const std::uint64_t limit = o_.window * o_.subscribers;
    const std::uint64_t out = outstanding(p);
    std::uint64_t n = out >= limit ? 0 : (limit - out) / o_.subscribers;
    if (o_.qos != mqtt::QoS::at_most_once) {
        n = std::min<std::uint64_t>(n, o_.inflight - std::min<std::size_t>(p.inflight, o_.inflight));
    }
    if (o_.rate > 0) {
        const std::uint64_t d = due(now);
        n = std::min<std::uint64_t>(n, d > p.sent ? d - p.sent : 0);
    }
    return static_cast<std::size_t>(std::min<std::uint64_t>(n, max_batch));
}

void TrafficRun::pump(std::int64_t now) {
    for (auto& pub : publishers_) {
        Connection& socket = *conns_[pub.conn].socket;
        if (socket.unsent() >= max_unsent) continue;
        const std::size_t n = budget(pub, now);
        if (n == 0) continue;
        auto& out = socket.output();
        if (socket.unsent() == 0) dirty_.push_back(pub.conn);
        const auto publisher = static_cast<std::uint32_t>(&pub - publishers_.data());
        for (std::size_t i = 0; i < n; ++i) {
            std::uint16_t id = 0;
            if (o_.qos != mqtt::QoS::at_most_once) {
                while (pub.in_use[pub.next_id]) pub.next_id = static_cast<std::uint16_t>(pub.next_id % 65535 + 1);
                id = pub.next_id;
                pub.in_use[id] = true;
                ++pub.inflight;
                pub.next_id = static_cast<std::uint16_t>(pub.next_id % 65535 + 1);
            }
            const std::size_t at = pub.publish.append_to(out, id);
            Stamp stamp;
            stamp.sequence = pub.sent;
            // At a fixed rate the message carries the time it was due, so a
            // late send counts against the latency instead of hiding it.
            stamp.sent_ns = o_.rate > 0 ? due_time(pub.sent) : now;
            stamp.publisher = publisher;
            stamp.write(out.data() + at + pub.publish.payload_offset);
            ++pub.sent;
        }
    }
}

std::uint64_t TrafficRun::outstanding_total() const {
    std::uint64_t n = 0;
    for (const auto& p : publishers_) n += outstanding(p);
    return n;
}

void TrafficRun::flush_all() {
    for (std::size_t c : dirty_) {
        Conn& conn = conns_[c];
        if (!conn.socket->flush()) return fail("write failed: the broker is gone");
        const bool want = conn.socket->unsent() > 0;
        if (want != conn.socket->watching_write) {
            conn.socket->watching_write = want;
            poller_.modify(conn.socket->fd(), c, want ? EPOLLIN | EPOLLOUT : EPOLLIN);
        }
    }
    dirty_.clear();
}

Counters TrafficRun::counters() const {
    Counters c;
    for (const auto& p : publishers_) c.sent += p.sent;
    c.delivered = delivered_;
    return c;
}

int TrafficRun::run() {
    open_connections();
    const auto all = [&](auto pred) {
        return [this, pred] { return std::all_of(conns_.begin(), conns_.end(), pred); };
    };
    if (!handshake(all([](const Conn& c) { return c.connected; }), now_ns() + 10'000'000'000)) {
        std::fprintf(stderr, "fg_loadgen: %s\n", error_.empty() ? "no CONNACK within 10 s" : error_.c_str());
        return 1;
    }
    for (std::size_t s = 0; s < subscribers_.size(); ++s) {
        const auto sub = subscribe_packet(o_.version, 1, o_.filter, o_.qos);
        auto& conn = conns_[subscribers_[s].conn];
        conn.socket->output().insert(conn.socket->output().end(), sub.begin(), sub.end());
        dirty_.push_back(subscribers_[s].conn);
    }
    for (auto& pub : publishers_) conns_[pub.conn].subscribed = true;
    if (!handshake(all([](const Conn& c) { return c.subscribed; }), now_ns() + 10'000'000'000)) {
        std::fprintf(stderr, "fg_loadgen: %s\n", error_.empty() ? "no SUBACK within 10 s" : error_.c_str());
        return 1;
    }

    start_ns_ = now_ns();
    last_delivery_ns_ = start_ns_;
    window_begin_ns_ = start_ns_ + to_ns(o_.warmup);
    window_end_ns_ = window_begin_ns_ + to_ns(o_.duration);
    // After the window, what is on its way may still arrive: the run ends when
    // all has, when nothing has arrived for `drain` seconds, or at a hard cap.
    const std::int64_t drain_cap = window_end_ns_ + to_ns(max_drain_seconds);
    Counters at_begin;
    Counters at_end;
    WindowSample sample_begin;
    WindowSample sample_end;
    std::uint64_t behind = 0;

    // Bounded by drain_cap: every turn either sends, waits for the socket, or
    // waits at most until the next due message or phase boundary.
    while (error_.empty()) {
        std::int64_t now = now_ns();
        if (!measuring_ && now >= window_begin_ns_) {
            measuring_ = true;
            at_begin = counters();
            sample_begin = sample_window(o_.broker_pid);
        }
        if (measuring_ && !stopped_ && now >= window_end_ns_) {
            stopped_ = true;
            at_end = counters();
            sample_end = sample_window(o_.broker_pid);
            window_end_ns_ = now;
            const std::uint64_t d = due(now) * publishers_.size();
            behind = o_.rate > 0 && d > at_end.sent ? d - at_end.sent : 0;
        }
        if (stopped_ && (outstanding_total() == 0 || now >= drain_cap ||
                         now - std::max(last_delivery_ns_, window_end_ns_) > to_ns(o_.drain))) {
            break;
        }
        if (!stopped_) {
            if (outstanding_total() > 0 && now - last_delivery_ns_ > stall_ns) {
                // The broker dropped messages (or holds them): give up on them
                // so the window reopens; they count as lost.
                ++stalls_;
                for (auto& p : publishers_) p.written_off += outstanding(p);
                last_delivery_ns_ = now;
            }
            pump(now);
        }
        flush_all();

        std::int64_t wait = stopped_ ? 10'000'000 : 5'000'000;
        if (!stopped_) {
            for (const auto& p : publishers_) {
                if (conns_[p.conn].socket->unsent() < max_unsent && budget(p, now) > 0) wait = 0;
            }
            if (o_.rate > 0 && wait > 0) {
                wait = std::min(wait, due_time(due(now)) - now);
            }
            wait = std::min(wait, (measuring_ ? window_end_ns_ : window_begin_ns_) - now);
        }
        if (o_.spin) wait = 0;
        poll_once(std::chrono::nanoseconds{std::max<std::int64_t>(wait, 0)});
    }
    if (!error_.empty()) {
        std::fprintf(stderr, "fg_loadgen: %s: %s\n", o_.name.c_str(), error_.c_str());
        return 1;
    }

    // Say goodbye so that neither broker logs an abrupt close.
    const auto bye = disconnect_packet(o_.version);
    for (std::size_t c = 0; c < conns_.size(); ++c) {
        conns_[c].socket->output().insert(conns_[c].socket->output().end(), bye.begin(), bye.end());
        conns_[c].socket->flush();
    }

    const Counters total = counters();
    const double seconds = static_cast<double>(window_end_ns_ - window_begin_ns_) / 1e9;
    const std::uint64_t delivered = at_end.delivered - at_begin.delivered;
    const std::uint64_t expected = total.sent * o_.subscribers;
    const std::uint64_t lost = expected > delivered_ ? expected - delivered_ : 0;
    const WindowUsage usage = usage_between(sample_begin, sample_end);
    const double broker_cpu = usage.broker_cpu_seconds;
    // CPU per delivered message: "inf" when the broker worked and delivered
    // nothing, -1 when it was not sampled.
    std::string per_message = "-1";
    if (broker_cpu >= 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", broker_cpu * 1e6 / static_cast<double>(delivered));
        per_message = delivered > 0 ? buf : "inf";
    }
    // Bytes the broker had written to storage (/proc/PID/io write_bytes) per
    // delivered message; -1 when /proc/PID/io could not be read.
    std::string written_per_message = "-1";
    if (usage.broker_write_bytes >= 0 && delivered > 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(usage.broker_write_bytes) / static_cast<double>(delivered));
        written_per_message = buf;
    }
    const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e3; };
    std::printf("scenario=%s publishers=%zu subscribers=%zu qos=%d payload=%zu rate=%.0f seconds=%.3f sent=%" PRIu64
                " delivered=%" PRIu64 " msgs_per_s=%.0f lost=%" PRIu64 " gaps=%" PRIu64 " duplicates=%" PRIu64
                " stalls=%" PRIu64 " behind=%" PRIu64 " samples=%" PRIu64
                " p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f broker_cpu_s=%.3f broker_cpu_pct=%.1f"
                " cpu_us_per_msg=%s broker_rss_kib=%" PRIu64 " gen_cpu_pct=%.1f others_cpu_pct=%.1f steal_pct=%.1f"
                " write_bytes=%lld write_bytes_per_msg=%s persistent=%d tls=%s\n",
                o_.name.c_str(), o_.publishers, o_.subscribers, static_cast<int>(o_.qos), o_.payload, o_.rate, seconds,
                at_end.sent - at_begin.sent, delivered, static_cast<double>(delivered) / seconds, lost, gaps_,
                duplicates_, stalls_, behind, latency_.count(), us(latency_.percentile(0.50)),
                us(latency_.percentile(0.90)), us(latency_.percentile(0.99)), us(latency_.max()), broker_cpu,
                broker_cpu >= 0 ? 100 * broker_cpu / seconds : -1,
                per_message.c_str(), usage.broker_rss_kib, 100 * usage.own_cpu_seconds / seconds,
                usage.others_cpu_seconds >= 0 ? 100 * usage.others_cpu_seconds / seconds : -1,
                usage.steal_seconds >= 0 ? 100 * usage.steal_seconds / seconds : -1,
                static_cast<long long>(usage.broker_write_bytes), written_per_message.c_str(), o_.persistent ? 1 : 0,
                tls_.c_str());
    return 0;
}

}  // namespace

int run_traffic(const TrafficOptions& options) {
    TrafficRun run(options);
    return run.run();
}

}  // namespace fieldgate::bench
