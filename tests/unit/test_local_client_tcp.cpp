// The in-process client API against a real TCP client: a LocalClient and a
// socket exchange messages through a broker running on a worker pool.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>

#include "gateway/broker/broker.hpp"
#include "gateway/broker/local_client.hpp"
#include "gateway/broker/null_store.hpp"
#include "gateway/mqtt/codec.hpp"
#include "gateway/mqtt/stream_parser.hpp"
#include "gateway/transport/listener.hpp"
#include "gateway/transport/worker_pool.hpp"

using namespace fieldgate;
using namespace std::chrono_literals;

namespace {

// A blocking MQTT client over a loopback socket, every wait bounded.
class TcpClient {
public:
    explicit TcpClient(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~TcpClient() { ::close(fd_); }

    bool connected() const { return connected_; }

    void send(const mqtt::Packet& packet) {
        std::vector<std::uint8_t> bytes;
        mqtt::encode(packet, mqtt::ProtocolVersion::v3_1_1, bytes);
        ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    }

    // The next packet within `timeout`, or nullopt.
    std::optional<mqtt::Packet> receive(std::chrono::milliseconds timeout = 2000ms) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            auto r = parser_.next();
            if (r.status == mqtt::DecodeStatus::packet) return std::move(r.packet);
            if (r.status == mqtt::DecodeStatus::error) return std::nullopt;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            auto area = parser_.prepare(4096);
            const auto n = ::read(fd_, area.data(), area.size());
            if (n <= 0) return std::nullopt;
            parser_.commit(static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
    bool connected_ = false;
    mqtt::StreamParser parser_;
};

}  // namespace

TEST(LocalClient, ExchangesMessagesWithATcpClient) {
    transport::WorkerPool pool{2};
    broker::NullStore store{pool};
    broker::Broker broker{broker::BrokerLimits{}, pool, store};
    config::ListenerConfig free_port;
    {
        boost::asio::ip::tcp::acceptor probe{pool.io(0), {boost::asio::ip::make_address("127.0.0.1"), 0}};
        free_port.bind = "127.0.0.1:" + std::to_string(probe.local_endpoint().port());
    }
    transport::Listener listener{pool, broker, free_port, transport::ConnectionSettings{},
                                 {std::make_shared<std::atomic<std::size_t>>(0), 100}};
    listener.start();
    pool.start();

    // The adapter's side lives on worker 1; its handler runs there.
    std::promise<std::string> command;
    std::unique_ptr<broker::LocalClient> adapter;
    std::promise<void> subscribed;
    pool.post(1, [&] {
        adapter = std::make_unique<broker::LocalClient>(broker, "adapter:test", 1);
        adapter->on_message([&](const broker::LocalClient::Received& r) { command.set_value(r.message->payload); });
        adapter->subscribe("cmd/#");
        subscribed.set_value();
    });
    ASSERT_EQ(subscribed.get_future().wait_for(2s), std::future_status::ready);

    TcpClient device{listener.local_endpoint().port()};
    ASSERT_TRUE(device.connected());
    mqtt::Connect connect;
    connect.version = mqtt::ProtocolVersion::v3_1_1;
    connect.client_id = "device";
    device.send(connect);
    auto connack = device.receive();
    ASSERT_TRUE(connack && std::holds_alternative<mqtt::Connack>(*connack));
    mqtt::Subscribe subscribe;
    subscribe.packet_id = 1;
    subscribe.subscriptions.push_back({"readings/#", {mqtt::QoS::at_least_once}});
    device.send(subscribe);
    auto suback = device.receive();
    ASSERT_TRUE(suback && std::holds_alternative<mqtt::Suback>(*suback));

    // Adapter -> device
    adapter->publish("readings/temperature", "21.5", mqtt::QoS::at_least_once);
    auto reading = device.receive();
    ASSERT_TRUE(reading && std::holds_alternative<mqtt::Publish>(*reading));
    const auto& p = std::get<mqtt::Publish>(*reading);
    EXPECT_EQ(p.topic, "readings/temperature");
    EXPECT_EQ(p.payload, "21.5");
    EXPECT_EQ(p.qos, mqtt::QoS::at_least_once);

    // Device -> adapter
    mqtt::Publish valve;
    valve.topic = "cmd/valve";
    valve.payload = "open";
    device.send(valve);
    auto got = command.get_future();
    ASSERT_EQ(got.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(got.get(), "open");

    std::promise<void> gone;
    pool.post(1, [&] {
        adapter.reset();
        gone.set_value();
    });
    gone.get_future().wait_for(2s);
    pool.post(0, [&] { listener.stop(); });
    pool.stop();
}
