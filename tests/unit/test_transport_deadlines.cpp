// The worker's deadline wheel on the fake clock, and a real TCP connection's
// connect timeout and keep-alive driven by it: no sleeping for the timeouts.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "broker_fakes.hpp"
#include "gateway/broker/null_store.hpp"
#include "gateway/transport/connection.hpp"
#include "gateway/transport/deadlines.hpp"
#include "gateway/transport/streams.hpp"

using namespace fieldgate;
using namespace fieldgate::transport;
using namespace std::chrono_literals;
using broker::testing::FakeExecutor;

namespace {

using Clock = Deadlines::Clock;

// Records when it expired; `then` runs inside expired().
class Probe final : public Deadlines::Entry {
public:
    explicit Probe(FakeExecutor& executor) : executor_(executor) {}
    ~Probe() override = default;

    std::vector<Clock::time_point> fired;
    std::function<void()> then;

private:
    void expired() override {
        fired.push_back(executor_.now());
        if (then) then();
    }
    FakeExecutor& executor_;
};

class DeadlinesTest : public ::testing::Test {
protected:
    FakeExecutor executor;
    Clock::time_point start = executor.now();
};

TEST_F(DeadlinesTest, FiresAtItsTimeOrUpToOneTickLaterNeverBefore) {
    Deadlines wheel{executor, 0, 100ms, 16};
    Probe probe{executor};
    wheel.schedule(probe, start + 250ms);
    EXPECT_TRUE(probe.scheduled());
    executor.advance(249ms);
    EXPECT_TRUE(probe.fired.empty());
    executor.advance(200ms);
    ASSERT_EQ(probe.fired.size(), 1u);
    EXPECT_GE(probe.fired[0], start + 250ms);
    EXPECT_LE(probe.fired[0], start + 350ms);
    EXPECT_FALSE(probe.scheduled());
    EXPECT_FALSE(wheel.armed()) << "an empty wheel keeps no timer";
    executor.advance(10s);
    EXPECT_EQ(probe.fired.size(), 1u) << "a deadline fires once";
}

TEST_F(DeadlinesTest, DeadlineBeyondTheWheelSpanWaitsForItsTurn) {
    Deadlines wheel{executor, 0, 100ms, 8};  // spans 800 ms
    Probe probe{executor};
    wheel.schedule(probe, start + 5s + 30ms);
    executor.advance(5s);
    EXPECT_TRUE(probe.fired.empty());
    executor.advance(1s);
    ASSERT_EQ(probe.fired.size(), 1u);
    EXPECT_GE(probe.fired[0], start + 5s + 30ms);
    EXPECT_LE(probe.fired[0], start + 5s + 130ms);
}

TEST_F(DeadlinesTest, RescheduleMovesAndCancelRemoves) {
    Deadlines wheel{executor, 0, 100ms, 16};
    Probe moved{executor};
    Probe cancelled{executor};
    wheel.schedule(moved, start + 200ms);
    wheel.schedule(cancelled, start + 200ms);
    wheel.schedule(moved, start + 3s);  // later: keep-alive after a packet came in
    wheel.cancel(cancelled);
    EXPECT_FALSE(cancelled.scheduled());
    executor.advance(2900ms);
    EXPECT_TRUE(moved.fired.empty());
    executor.advance(300ms);
    EXPECT_EQ(moved.fired.size(), 1u);
    EXPECT_TRUE(cancelled.fired.empty());

    Probe earlier{executor};  // scheduled for later, then earlier: the timer follows
    wheel.schedule(earlier, executor.now() + 10s);
    wheel.schedule(earlier, executor.now() + 150ms);
    executor.advance(300ms);
    EXPECT_EQ(earlier.fired.size(), 1u);
}

TEST_F(DeadlinesTest, ExpiredMayScheduleItselfAgain) {
    Deadlines wheel{executor, 0, 100ms, 16};
    Probe probe{executor};
    int turns = 0;
    probe.then = [&] {
        if (++turns < 3) wheel.schedule(probe, executor.now() + 1s);
    };
    wheel.schedule(probe, start + 1s);
    executor.advance(10s);
    ASSERT_EQ(probe.fired.size(), 3u);
    for (std::size_t i = 1; i < probe.fired.size(); ++i) EXPECT_GE(probe.fired[i] - probe.fired[i - 1], 1s);
    // A deadline already past when scheduled fires at the next tick, not in a loop.
    Probe past{executor};
    wheel.schedule(past, executor.now() - 5s);
    executor.advance(100ms);
    EXPECT_EQ(past.fired.size(), 1u);
}

TEST_F(DeadlinesTest, EntriesDueTogetherMayEndEachOther) {
    Deadlines wheel{executor, 0, 100ms, 16};
    // Whichever fires first destroys the other two, though they are due too.
    std::vector<std::unique_ptr<Probe>> probes;
    for (int i = 0; i < 3; ++i) probes.push_back(std::make_unique<Probe>(executor));
    int expiries = 0;
    for (auto& p : probes) {
        Probe* self = p.get();
        p->then = [&, self] {
            ++expiries;
            for (auto& other : probes) {
                if (other.get() != self) other.reset();
            }
        };
        wheel.schedule(*p, start + 100ms);
    }
    executor.advance(150ms);
    EXPECT_EQ(expiries, 1);
    EXPECT_EQ(std::count(probes.begin(), probes.end(), nullptr), 2);

    // Or puts the other one back for later.
    Probe x{executor};
    Probe y{executor};
    x.then = [&] { if (y.fired.empty()) wheel.schedule(y, executor.now() + 1s); };
    y.then = [&] { if (x.fired.empty()) wheel.schedule(x, executor.now() + 1s); };
    wheel.schedule(x, executor.now() + 100ms);
    wheel.schedule(y, executor.now() + 100ms);
    executor.advance(150ms);
    EXPECT_EQ(x.fired.size() + y.fired.size(), 1u);
    executor.advance(1s);
    EXPECT_EQ(x.fired.size(), 1u);
    EXPECT_EQ(y.fired.size(), 1u);
}

TEST_F(DeadlinesTest, ManyEntriesEachFireOnceInTime) {
    Deadlines wheel{executor, 0, 100ms, 64};
    std::vector<std::unique_ptr<Probe>> probes;
    for (int i = 0; i < 1000; ++i) {
        probes.push_back(std::make_unique<Probe>(executor));
        wheel.schedule(*probes.back(), start + std::chrono::milliseconds{(i * 37) % 20'000});
    }
    for (int step = 0; step < 250; ++step) executor.advance(100ms);
    for (std::size_t i = 0; i < probes.size(); ++i) {
        const auto deadline = start + std::chrono::milliseconds{(static_cast<int>(i) * 37) % 20'000};
        ASSERT_EQ(probes[i]->fired.size(), 1u) << i;
        EXPECT_GE(probes[i]->fired[0], deadline) << i;
        EXPECT_LE(probes[i]->fired[0], deadline + 100ms) << i;
    }
}

TEST_F(DeadlinesTest, AWheelDestroyedFirstLetsItsEntriesGo) {
    Probe probe{executor};
    {
        Deadlines wheel{executor, 0};
        wheel.schedule(probe, start + 1s);
    }
    EXPECT_FALSE(probe.scheduled());
    executor.advance(2s);
    EXPECT_TRUE(probe.fired.empty());
}

// A real connection over 127.0.0.1 whose deadlines run on the fake clock.
class ConnectionDeadlines : public ::testing::Test {
protected:
    ConnectionDeadlines() : store(executor), broker(limits(), executor, store), wheel(executor, 0) {
        boost::asio::ip::tcp::acceptor acceptor{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
        client.connect(acceptor.local_endpoint());
        TcpStream server = acceptor.accept(io);
        connection = std::make_shared<Connection<TcpStream>>(std::move(server), broker, 0, wheel, ConnectionSettings{},
                                                             broker::PeerInfo{.address = "127.0.0.1"}, ConnectionSlot{});
        client.non_blocking(true);
    }
    ~ConnectionDeadlines() override {
        connection.reset();
        client.close();
        io.poll();
    }

    static broker::BrokerLimits limits() {
        broker::BrokerLimits l;
        l.max_keepalive = 600s;
        return l;
    }

    // Runs both sides' pending work, then reads what the client has: nullopt
    // when the server closed the connection.
    std::optional<std::vector<std::uint8_t>> pump() {
        std::vector<std::uint8_t> got;
        for (int i = 0; i < 50; ++i) {
            io.poll();
            io.restart();
            executor.run();
            std::uint8_t buffer[512];
            boost::system::error_code ec;
            const std::size_t n = client.read_some(boost::asio::buffer(buffer), ec);
            if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset) return std::nullopt;
            got.insert(got.end(), buffer, buffer + n);
            if (ec == boost::asio::error::would_block && !got.empty()) break;
            if (ec == boost::asio::error::would_block) std::this_thread::sleep_for(1ms);  // the socket, not a timeout
        }
        return got;
    }

    void send(const mqtt::Packet& packet, mqtt::ProtocolVersion version) {
        const auto bytes = broker::testing::bytes_of(packet, version);
        client.non_blocking(false);
        boost::asio::write(client, boost::asio::buffer(bytes));
        client.non_blocking(true);
    }

    void connect_with_keep_alive(std::uint16_t seconds) {
        mqtt::Connect c;
        c.version = mqtt::ProtocolVersion::v3_1_1;
        c.client_id = "sleepy";
        c.keep_alive = seconds;
        send(c, c.version);
        const auto connack = pump();
        ASSERT_TRUE(connack);
        ASSERT_GE(connack->size(), 4u);
        EXPECT_EQ((*connack)[0], 0x20) << "CONNACK";
        EXPECT_EQ((*connack)[3], 0x00) << "accepted";
    }

    boost::asio::io_context io;
    FakeExecutor executor;
    broker::NullStore store;
    broker::Broker broker;
    Deadlines wheel;
    boost::asio::ip::tcp::socket client{io};
    std::shared_ptr<Connection<TcpStream>> connection;
};

// [MQTT-3.1.2-24]: closed once 1.5 times the keep-alive passes without a packet.
TEST_F(ConnectionDeadlines, KeepAliveClosesASilentClientAtOneAndAHalfPeriods) {
    connection->start(executor.now() + 10s);
    connect_with_keep_alive(2);
    executor.advance(2900ms);
    EXPECT_TRUE(pump()) << "closed before 1.5 x 2 s";
    executor.advance(250ms);  // 3.15 s: past 3 s by more than one tick
    EXPECT_FALSE(pump()) << "still open 3.15 s after the last packet with keep-alive 2 s";
}

TEST_F(ConnectionDeadlines, EachPacketMovesTheKeepAliveDeadline) {
    connection->start(executor.now() + 10s);
    connect_with_keep_alive(2);
    for (int i = 0; i < 4; ++i) {
        executor.advance(2s);
        send(mqtt::Pingreq{}, mqtt::ProtocolVersion::v3_1_1);
        const auto pong = pump();
        ASSERT_TRUE(pong) << "closed at ping " << i;
        EXPECT_EQ(pong->size(), 2u) << "PINGRESP";
    }
    executor.advance(2900ms);
    EXPECT_TRUE(pump()) << "closed within 1.5 x the keep-alive of the last PINGREQ";
    executor.advance(250ms);
    EXPECT_FALSE(pump());
}

TEST_F(ConnectionDeadlines, ConnectTimeoutClosesASocketThatSendsNoConnect) {
    connection->start(executor.now() + 1s);
    executor.advance(900ms);
    EXPECT_TRUE(pump());
    executor.advance(250ms);
    EXPECT_FALSE(pump()) << "no CONNECT, still open past the connect timeout";
}

TEST_F(ConnectionDeadlines, ConnectTimeoutSparesAConnectedClient) {
    connection->start(executor.now() + 1s);
    connect_with_keep_alive(60);
    executor.advance(5s);
    EXPECT_TRUE(pump()) << "closed by the connect timeout after its CONNECT";
}

}  // namespace
