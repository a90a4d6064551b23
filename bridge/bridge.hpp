#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bridge/session_link.hpp"
#include "bridge/topic_map.hpp"
#include "bridge/uplink.hpp"
#include "config/config.hpp"
#include "gateway/broker/broker.hpp"
#include "gateway/broker/queue_policy.hpp"
#include "gateway/broker/session_queue.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldgate::bridge {

// One [[bridge]]: the uplink to a cloud broker and, on the local side, a
// persistent broker session of its own (client id and ACL identity
// "bridge:NAME") that holds the out-rules' subscriptions. Everything durable
// is that session's: messages for the cloud are queued, stored (under
// durability = sync before the publisher's PUBACK), kept in flight with their
// packet ids across uplink outages and restarts, and resent with DUP, exactly
// as for a network client with a persistent session. The bridge translates:
// the session's PUBLISHes go up with their topics mapped (TopicMap) and the
// same packet ids, the cloud's acknowledgements come back to the session, and
// the cloud's PUBLISHes for in-rules enter the broker through the session.
//
// While the uplink is down the session is detached and queues. An uplink
// connection first subscribes to the in-rules' remote filters, then attaches
// the session (which resends what was in flight); packets the cloud sends
// before that wait in order.
//
// Lives on one worker: construct anywhere before the workers run, then
// start() and stop() on that worker.
class Bridge final : private SessionLink::Owner {
public:
    // Throws std::runtime_error for what cannot start (topic rules, files).
    Bridge(broker::Broker& broker, boost::asio::io_context& io, std::size_t worker, const config::BridgeConfig& config,
           const std::string& gateway_name);
    ~Bridge() override;
    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;

    void start();
    void stop();
    const std::string& name() const { return config_.name; }

private:
    // SessionLink::Owner
    void session_attached(SessionLink& link) override;
    void from_session(SessionLink& link, const std::vector<std::uint8_t>& bytes) override;

    void uplink_connected(const mqtt::Connack& connack);
    void uplink_packet(const mqtt::Packet& packet);
    void uplink_lost(const UplinkFailure& failure);

    void attach_session(bool live);
    void subscribe_locally();
    void to_cloud(const mqtt::Publish& publish);
    void from_cloud(const mqtt::Publish& publish);
    void to_session(const mqtt::Packet& packet);
    void acknowledge_up(const mqtt::Publish& publish);
    bool is_echo(const mqtt::Publish& publish);
    void send_up(const mqtt::Packet& packet);
    void publish_state();
    broker::Session* own_session();  // the bridge:NAME session, once it exists
    void log_queue_drops(const broker::SessionQueue::Drops& drops);

    broker::Broker& broker_;
    boost::asio::io_context& io_;
    std::size_t worker_;
    config::BridgeConfig config_;
    std::string identity_;  // "bridge:NAME": client id and ACL user
    TopicMap map_;
    std::shared_ptr<const broker::QueuePolicy> queue_policy_;
    broker::SessionQueue::Drops logged_drops_;
    std::shared_ptr<Uplink> uplink_;
    std::shared_ptr<SessionLink> link_;
    bool live_ = false;               // link_ is attached for the connected uplink
    bool subscribed_locally_ = false;  // this run's SUBSCRIBE to the session was answered
    bool awaiting_remote_suback_ = false;
    std::uint16_t remote_subscribe_id_ = 1;  // of the SUBSCRIBE awaiting its SUBACK
    std::uint16_t window_ = 64;            // the cloud's Receive Maximum, capped
    std::uint32_t cloud_max_packet_ = 0;   // 0: no limit announced
    std::vector<std::vector<std::uint8_t>> early_;  // cloud packets before the session was attached (uplink version)
    std::set<std::uint16_t> answered_for_session_;  // QoS 2 the bridge acknowledged itself (unmappable)
    // MQTT 3.1.1 has no No Local: the cloud sends what we publish on a topic
    // an in-rule also covers back to us. Each such message is remembered
    // (topic, payload) until its copy comes down, for at most echo_window.
    struct Echo {
        std::string topic;
        std::size_t payload_hash;
        std::chrono::steady_clock::time_point at;
    };
    std::deque<Echo> echoes_;
    std::uint64_t forwarded_out_ = 0;
    std::uint64_t forwarded_in_ = 0;
    std::uint64_t dropped_ = 0;
    boost::asio::steady_timer state_timer_;
    bool stopped_ = false;
};

}  // namespace fieldgate::bridge
