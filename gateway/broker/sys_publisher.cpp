#include "gateway/broker/sys_publisher.hpp"

#include <cmath>
#include <cstdio>

#include "gateway/broker/broker.hpp"

namespace fieldgate::broker {

SysPublisher::SysPublisher(Broker& broker, std::string version, std::chrono::seconds interval)
    : broker_(broker),
      version_(std::move(version)),
      interval_(interval),
      started_(broker.executor().now()) {}

void SysPublisher::start() {
    broker_.executor().post(0, [this] {
        publish_now();
        schedule();
    });
}

void SysPublisher::schedule() {
    timer_ = broker_.executor().run_after(0, interval_, [this] {
        publish_now();
        schedule();
    });
}

void SysPublisher::put(const std::string& topic, const std::string& value) {
    auto m = std::make_shared<Message>();
    m->id = broker_.new_message_id();
    m->received_at = broker_.executor().now();
    m->topic = "$SYS/broker/" + topic;
    m->payload = value;
    m->retain = true;
    broker_.publish(0, m);
}

void SysPublisher::update(Load& load, std::uint64_t total, const std::string& topic) {
    // Exponential moving average over one minute of the rate in this interval.
    const double seconds = static_cast<double>(interval_.count());
    const double rate = static_cast<double>(total - load.last_total) * 60.0 / seconds;
    const double alpha = 1.0 - std::exp(-seconds / 60.0);
    load.per_minute += alpha * (rate - load.per_minute);
    load.last_total = total;
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", load.per_minute);
    put(topic, text);
}

void SysPublisher::publish_now() {
    const auto& s = broker_.stats();
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(broker_.executor().now() - started_);
    put("version", "fieldgate " + version_);
    put("uptime", std::to_string(uptime.count()) + " seconds");
    put("clients/connected", std::to_string(s.clients_connected.load()));
    put("clients/total", std::to_string(broker_.session_count()));
    put("messages/received", std::to_string(s.messages_received.load()));
    put("messages/sent", std::to_string(s.messages_sent.load()));
    put("messages/dropped", std::to_string(s.messages_dropped.load()));
    put("bytes/received", std::to_string(s.bytes_received.load()));
    put("bytes/sent", std::to_string(s.bytes_sent.load()));
    put("subscriptions/count", std::to_string(broker_.topics().subscription_count()));
    put("retained messages/count", std::to_string(broker_.retained().size()));
    update(received_, s.messages_received.load(), "load/messages/received/1min");
    update(sent_, s.messages_sent.load(), "load/messages/sent/1min");
    update(bytes_received_, s.bytes_received.load(), "load/bytes/received/1min");
    update(bytes_sent_, s.bytes_sent.load(), "load/bytes/sent/1min");
}

}  // namespace fieldgate::broker
