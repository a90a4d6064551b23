// fg_null_forwarder: the least an MQTT broker can do, as a yardstick for the
// generator. It answers CONNECT, SUBSCRIBE, PINGREQ and QoS 1 PUBLISH, and
// copies every PUBLISH as received to every subscriber of any filter (no
// matching, no sessions, no queues). Whatever rate the generator reaches
// against it is the ceiling of what the generator can measure.
//
//   fg_null_forwarder --port 18830      (runs until SIGINT or SIGTERM)
//
// All clients must speak one protocol version: PUBLISH bytes are forwarded
// unchanged, packet id included.
#include <CLI/CLI.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>
#include <unordered_map>
#include <variant>
#include <vector>

#include "bench/loadgen/net.hpp"
#include "gateway/mqtt/codec.hpp"

namespace {

using namespace fieldgate;
using namespace std::chrono_literals;

volatile std::sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

constexpr std::size_t read_chunk = 256 * 1024;
constexpr std::size_t max_unsent = 64u << 20;  // a subscriber this far behind is dropped

// Owned by the forwarder's one thread.
class Forwarder {
public:
    explicit Forwarder(int listen_fd) : listen_fd_(listen_fd) { poller_.add(listen_fd_, listen_key, EPOLLIN); }

    void run() {
        while (stop_requested == 0) {  // SIGTERM ends it; each wait is bounded
            for (const auto& ev : poller_.wait(100ms)) {
                if (ev.data.u64 == listen_key) {
                    accept_all();
                    continue;
                }
                const int fd = static_cast<int>(ev.data.u64);
                if ((ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) on_readable(fd);
                if ((ev.events & EPOLLOUT) != 0) dirty_.push_back(fd);
            }
            flush_dirty();
        }
    }

private:
    static constexpr std::uint64_t listen_key = ~std::uint64_t{0};

    struct Client {
        std::unique_ptr<bench::Connection> socket;
        mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v3_1_1;
        bool subscriber = false;
    };

    void accept_all() {
        for (int i = 0; i < 1024; ++i) {
            const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            bench::set_nodelay(fd);
            clients_[fd] = Client{std::make_unique<bench::Connection>(fd), mqtt::ProtocolVersion::v3_1_1, false};
            poller_.add(fd, static_cast<std::uint64_t>(fd), EPOLLIN);
        }
    }

    void queue(int fd, Client& c, std::span<const std::uint8_t> bytes) {
        auto& out = c.socket->output();
        if (c.socket->unsent() == 0) dirty_.push_back(fd);
        out.insert(out.end(), bytes.begin(), bytes.end());
    }

    void queue(int fd, Client& c, const mqtt::Packet& packet) {
        scratch_.clear();
        mqtt::encode(packet, c.version, scratch_);
        queue(fd, c, scratch_);
    }

    void on_readable(int fd) {
        auto it = clients_.find(fd);
        if (it == clients_.end()) return;
        Client& c = it->second;
        if (c.socket->read(read_chunk) == bench::Connection::ReadResult::closed) return drop(fd);
        for (;;) {
            mqtt::DecodeResult r = c.socket->next();
            if (r.status == mqtt::DecodeStatus::need_more) break;
            if (r.status == mqtt::DecodeStatus::error) return drop(fd);
            if (const auto* p = std::get_if<mqtt::Publish>(&r.packet)) {
                if (p->qos == mqtt::QoS::at_least_once) queue(fd, c, mqtt::Puback{p->packet_id});
                const auto bytes = c.socket->last_packet();
                for (int s : subscribers_) queue(s, clients_[s], bytes);
            } else if (const auto* connect = std::get_if<mqtt::Connect>(&r.packet)) {
                c.version = connect->version;
                queue(fd, c, mqtt::Connack{});
            } else if (const auto* sub = std::get_if<mqtt::Subscribe>(&r.packet)) {
                mqtt::Suback ack;
                ack.packet_id = sub->packet_id;
                for (const auto& s : sub->subscriptions) {
                    ack.reason_codes.push_back(
                        static_cast<mqtt::ReasonCode>(std::min<int>(static_cast<int>(s.options.qos), 1)));
                }
                queue(fd, c, ack);
                if (!c.subscriber) subscribers_.push_back(fd);
                c.subscriber = true;
            } else if (const auto* unsub = std::get_if<mqtt::Unsubscribe>(&r.packet)) {
                mqtt::Unsuback ack;
                ack.packet_id = unsub->packet_id;
                ack.reason_codes.assign(unsub->filters.size(), mqtt::ReasonCode::success);
                queue(fd, c, ack);
            } else if (std::holds_alternative<mqtt::Pingreq>(r.packet)) {
                queue(fd, c, mqtt::Pingresp{});
            } else if (std::holds_alternative<mqtt::Disconnect>(r.packet)) {
                return drop(fd);
            }
        }
    }

    void flush_dirty() {
        for (int fd : dirty_) {
            auto it = clients_.find(fd);
            if (it == clients_.end()) continue;
            auto& socket = *it->second.socket;
            if (!socket.flush() || socket.unsent() > max_unsent) {
                drop(fd);
                continue;
            }
            const bool want = socket.unsent() > 0;
            if (want != socket.watching_write) {
                socket.watching_write = want;
                poller_.modify(fd, static_cast<std::uint64_t>(fd), want ? EPOLLIN | EPOLLOUT : EPOLLIN);
            }
        }
        dirty_.clear();
    }

    void drop(int fd) {
        poller_.remove(fd);
        std::erase(subscribers_, fd);
        clients_.erase(fd);  // closes the socket
    }

    int listen_fd_;
    bench::Poller poller_;
    std::unordered_map<int, Client> clients_;
    std::vector<int> subscribers_;
    std::vector<int> dirty_;
    std::vector<std::uint8_t> scratch_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"fg_null_forwarder: a do-nothing MQTT forwarder, the generator's yardstick"};
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    app.add_option("--host", host, "address to listen on (IPv4)")->capture_default_str();
    app.add_option("--port", port, "port to listen on")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        const int fd = bench::listen_on(bench::make_endpoint(host, port));
        if (fd < 0) {
            std::fprintf(stderr, "fg_null_forwarder: listen: %s\n", std::strerror(-fd));
            return 2;
        }
        Forwarder forwarder(fd);
        forwarder.run();
        close(fd);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fg_null_forwarder: %s\n", e.what());
        return 2;
    }
    return 0;
}
