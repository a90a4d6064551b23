#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/broker/topic_index.hpp"
#include "gateway/mqtt/packets.hpp"

namespace fieldgate::broker {

using Clock = std::chrono::steady_clock;

// An application message as the broker keeps it: owned copies of what the
// publisher sent, immutable once made and shared (shared_ptr<const Message>)
// by every session it is queued for, so it is stored once.
struct Message {
    std::uint64_t id = 0;  // the store's key for it (Store::next_message_id)
    std::string topic;
    std::string payload;
    mqtt::QoS qos = mqtt::QoS::at_most_once;
    bool retain = false;

    // MQTT 5 properties passed through unchanged [MQTT 5.0, 3.3.2.3]: the format
    // indicator, content type, response topic, correlation data, user properties.
    // Behind a pointer, null when the publisher sent none: most messages have
    // none, and a bridge queue may hold a million of them.
    struct Properties {
        std::optional<std::uint8_t> payload_format_indicator;
        std::optional<std::string> content_type;
        std::optional<std::string> response_topic;
        std::optional<std::string> correlation_data;
        std::vector<std::pair<std::string, std::string>> user_properties;
    };
    std::shared_ptr<const Properties> properties;

    // Message Expiry Interval, as a deadline [MQTT 5.0, 3.3.2.3.3].
    std::optional<Clock::time_point> expires_at;
    // When the broker took it: a queue's max_age counts from here, also
    // across restarts (stored as wall-clock time).
    Clock::time_point received_at{};

    SessionId origin = 0;  // for No Local; 0 for the broker's own messages

    bool expired(Clock::time_point now) const { return expires_at && now >= *expires_at; }
};

using MessagePtr = std::shared_ptr<const Message>;

// One message on its way to one session, with what its subscriptions made of it.
struct Delivery {
    SessionId session = 0;
    MessagePtr message;
    mqtt::QoS qos = mqtt::QoS::at_most_once;  // min(message QoS, granted QoS) [MQTT-3.8.4-8]
    bool retain = false;                      // as the subscriber sees it [MQTT-3.3.1-12, 3.3.1-13]
    std::vector<std::uint32_t> subscription_ids;
};

// Copies a decoded PUBLISH (whose views die with the read buffer).
MessagePtr make_message(const mqtt::Publish& publish, std::string_view topic, SessionId origin, Clock::time_point now,
                        std::uint64_t id);

// A PUBLISH for one subscriber: views into `message`, with the remaining
// expiry interval [MQTT-3.3.2-6], the subscription identifiers, and DUP/QoS/
// retain as given. Valid while `message` and `subscription_ids` live.
mqtt::Publish to_publish(const Message& message, mqtt::QoS qos, bool retain, std::uint16_t packet_id,
                         const std::vector<std::uint32_t>& subscription_ids, Clock::time_point now);

}  // namespace fieldgate::broker
