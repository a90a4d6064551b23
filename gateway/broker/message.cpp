#include "gateway/broker/message.hpp"

namespace fieldgate::broker {

MessagePtr make_message(const mqtt::Publish& publish, std::string_view topic, SessionId origin, Clock::time_point now,
                        std::uint64_t id) {
    auto m = std::make_shared<Message>();
    m->id = id;
    m->topic = std::string(topic);
    m->payload = std::string(publish.payload);
    m->qos = publish.qos;
    m->retain = publish.retain;
    const auto& p = publish.properties;
    if (p.payload_format_indicator || p.content_type || p.response_topic || p.correlation_data ||
        !p.user_properties.empty()) {
        auto props = std::make_shared<Message::Properties>();
        props->payload_format_indicator = p.payload_format_indicator;
        if (p.content_type) props->content_type = std::string(*p.content_type);
        if (p.response_topic) props->response_topic = std::string(*p.response_topic);
        if (p.correlation_data) props->correlation_data = std::string(*p.correlation_data);
        for (const auto& u : p.user_properties) props->user_properties.emplace_back(u.name, u.value);
        m->properties = std::move(props);
    }
    if (p.message_expiry_interval) m->expires_at = now + std::chrono::seconds{*p.message_expiry_interval};
    m->received_at = now;
    m->origin = origin;
    return m;
}

mqtt::Publish to_publish(const Message& message, mqtt::QoS qos, bool retain, std::uint16_t packet_id,
                         const std::vector<std::uint32_t>& subscription_ids, Clock::time_point now) {
    mqtt::Publish p;
    p.qos = qos;
    p.retain = retain;
    p.topic = message.topic;
    p.packet_id = qos == mqtt::QoS::at_most_once ? 0 : packet_id;
    p.payload = message.payload;
    auto& props = p.properties;
    if (const auto* app = message.properties.get()) {
        props.payload_format_indicator = app->payload_format_indicator;
        if (app->content_type) props.content_type = *app->content_type;
        if (app->response_topic) props.response_topic = *app->response_topic;
        if (app->correlation_data) props.correlation_data = *app->correlation_data;
        for (const auto& [name, value] : app->user_properties) props.user_properties.push_back({name, value});
    }
    if (message.expires_at) {
        const auto left = std::chrono::ceil<std::chrono::seconds>(*message.expires_at - now).count();
        props.message_expiry_interval = static_cast<std::uint32_t>(left > 0 ? left : 0);
    }
    props.subscription_identifiers = subscription_ids;
    return p;
}

}  // namespace fieldgate::broker
