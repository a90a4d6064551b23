#include "gateway/mqtt/properties.hpp"

#include <array>

namespace fieldgate::mqtt {
namespace {

constexpr std::uint16_t in(std::initializer_list<PropertyScope> scopes) {
    std::uint16_t mask = 0;
    for (auto s : scopes) mask = static_cast<std::uint16_t>(mask | (1u << static_cast<unsigned>(s)));
    return mask;
}

using S = PropertyScope;
using T = PropertyType;
using I = PropertyId;

// [MQTT 5.0, 2.2.2.2, Table 2-4]
constexpr std::array<PropertyInfo, 27> property_table{{
    {I::payload_format_indicator, T::byte, in({S::publish, S::will}), "Payload Format Indicator"},
    {I::message_expiry_interval, T::four_byte_integer, in({S::publish, S::will}), "Message Expiry Interval"},
    {I::content_type, T::utf8_string, in({S::publish, S::will}), "Content Type"},
    {I::response_topic, T::utf8_string, in({S::publish, S::will}), "Response Topic"},
    {I::correlation_data, T::binary_data, in({S::publish, S::will}), "Correlation Data"},
    {I::subscription_identifier, T::variable_byte_integer, in({S::publish, S::subscribe}),
     "Subscription Identifier"},
    {I::session_expiry_interval, T::four_byte_integer, in({S::connect, S::connack, S::disconnect}),
     "Session Expiry Interval"},
    {I::assigned_client_identifier, T::utf8_string, in({S::connack}), "Assigned Client Identifier"},
    {I::server_keep_alive, T::two_byte_integer, in({S::connack}), "Server Keep Alive"},
    {I::authentication_method, T::utf8_string, in({S::connect, S::connack, S::auth}),
     "Authentication Method"},
    {I::authentication_data, T::binary_data, in({S::connect, S::connack, S::auth}), "Authentication Data"},
    {I::request_problem_information, T::byte, in({S::connect}), "Request Problem Information"},
    {I::will_delay_interval, T::four_byte_integer, in({S::will}), "Will Delay Interval"},
    {I::request_response_information, T::byte, in({S::connect}), "Request Response Information"},
    {I::response_information, T::utf8_string, in({S::connack}), "Response Information"},
    {I::server_reference, T::utf8_string, in({S::connack, S::disconnect}), "Server Reference"},
    {I::reason_string, T::utf8_string,
     in({S::connack, S::puback, S::pubrec, S::pubrel, S::pubcomp, S::suback, S::unsuback, S::disconnect,
         S::auth}),
     "Reason String"},
    {I::receive_maximum, T::two_byte_integer, in({S::connect, S::connack}), "Receive Maximum"},
    {I::topic_alias_maximum, T::two_byte_integer, in({S::connect, S::connack}), "Topic Alias Maximum"},
    {I::topic_alias, T::two_byte_integer, in({S::publish}), "Topic Alias"},
    {I::maximum_qos, T::byte, in({S::connack}), "Maximum QoS"},
    {I::retain_available, T::byte, in({S::connack}), "Retain Available"},
    {I::user_property, T::utf8_string_pair,
     in({S::connect, S::connack, S::publish, S::will, S::puback, S::pubrec, S::pubrel, S::pubcomp,
         S::subscribe, S::suback, S::unsubscribe, S::unsuback, S::disconnect, S::auth}),
     "User Property"},
    {I::maximum_packet_size, T::four_byte_integer, in({S::connect, S::connack}), "Maximum Packet Size"},
    {I::wildcard_subscription_available, T::byte, in({S::connack}), "Wildcard Subscription Available"},
    {I::subscription_identifier_available, T::byte, in({S::connack}),
     "Subscription Identifier Available"},
    {I::shared_subscription_available, T::byte, in({S::connack}), "Shared Subscription Available"},
}};

}  // namespace

const PropertyInfo* find_property(std::uint8_t id) {
    for (const auto& info : property_table) {
        if (static_cast<std::uint8_t>(info.id) == id) return &info;
    }
    return nullptr;
}

}  // namespace fieldgate::mqtt
