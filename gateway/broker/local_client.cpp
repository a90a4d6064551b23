#include "gateway/broker/local_client.hpp"

#include <algorithm>

#include "gateway/broker/broker.hpp"

namespace fieldgate::broker {

LocalClient::LocalClient(Broker& broker, std::string identity, std::size_t worker)
    : broker_(broker), identity_(std::move(identity)), id_(broker.register_local(*this, worker)), worker_(worker) {}

LocalClient::~LocalClient() {
    for (const auto& filter : filters_) broker_.topics().unsubscribe(filter, id_);
    broker_.unregister_local(*this);
}

void LocalClient::publish(std::string topic, std::string payload, mqtt::QoS qos, bool retain) {
    auto m = std::make_shared<Message>();
    m->topic = std::move(topic);
    m->payload = std::move(payload);
    m->qos = qos;
    m->retain = retain;
    publish(std::move(m));
}

void LocalClient::publish(MessagePtr message) {
    auto m = std::make_shared<Message>(*message);
    m->origin = id_;
    m->id = broker_.new_message_id();
    m->received_at = broker_.executor().now();
    // Captures no `this`: the client may be gone when the task runs.
    broker_.executor().post(worker_, [&broker = broker_, worker = worker_, m = MessagePtr(std::move(m))] {
        broker.stats().messages_received.fetch_add(1, std::memory_order_relaxed);
        broker.publish(worker, m);
    });
}

void LocalClient::subscribe(std::string_view filter, mqtt::SubscriptionOptions options) {
    Subscriber s;
    s.session = id_;
    s.worker = static_cast<std::uint32_t>(worker_);
    s.options = options;
    broker_.topics().subscribe(filter, s);
    if (std::find(filters_.begin(), filters_.end(), filter) == filters_.end()) filters_.emplace_back(filter);
    if (!handler_ || options.retain_handling == mqtt::RetainHandling::do_not_send) return;
    std::vector<MessagePtr> retained;
    broker_.retained().match(filter, broker_.executor().now(), retained);
    for (const auto& m : retained) handler_({m, std::min(m->qos, options.qos), true});
}

void LocalClient::unsubscribe(std::string_view filter) {
    broker_.topics().unsubscribe(filter, id_);
    std::erase(filters_, std::string(filter));
}

void LocalClient::deliver(const Delivery& delivery) {
    if (handler_) handler_({delivery.message, delivery.qos, delivery.retain});
}

}  // namespace fieldgate::broker
