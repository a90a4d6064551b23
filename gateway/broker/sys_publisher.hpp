#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gateway/broker/executor.hpp"
#include "gateway/broker/message.hpp"

namespace fieldgate::broker {

class Broker;

// Publishes the broker's figures as retained $SYS topics in the Mosquitto
// style ($SYS/broker/uptime, clients/connected, messages/received, load/...)
// every interval. Wildcards at the first level never match them [MQTT-4.7.2-1].
// Lives on worker 0, publishing straight into the router (its messages are
// not counted as received ones); subscribers get them through the same
// delivery check as any message, so the acl_file decides who reads $SYS.
class SysPublisher {
public:
    SysPublisher(Broker& broker, std::string version, std::chrono::seconds interval);

    void start();
    // Publishes every figure now (also called by the timer).
    void publish_now();

private:
    void schedule();
    void put(const std::string& topic, const std::string& value);

    Broker& broker_;
    std::string version_;
    std::chrono::seconds interval_;
    std::chrono::steady_clock::time_point started_;
    std::unique_ptr<Executor::Timer> timer_;

    // Per-minute moving averages, as Mosquitto's load/.../1min.
    struct Load {
        std::uint64_t last_total = 0;
        double per_minute = 0;
    };
    Load received_, sent_, bytes_received_, bytes_sent_;
    void update(Load& load, std::uint64_t total, const std::string& topic);
};

}  // namespace fieldgate::broker
