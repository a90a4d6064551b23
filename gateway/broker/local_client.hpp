#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/message.hpp"
#include "gateway/mqtt/packets.hpp"

namespace fieldgate::broker {

class Broker;

// The in-process client API (DESIGN.md): how the bridge, the adapters and the
// $SYS publisher talk to the broker, with the same routing and retained rules
// as a network client and an identity of their own ("bridge:cloud",
// "adapter:plc1"), never through a socket.
//
// Not subject to the acl_file yet: the bridge and adapter rules are the
// gateway's own configuration, and their identities have no ACL section.
//
// Lives on one worker. publish() may be called from any thread (it posts);
// subscribe(), unsubscribe() and the destructor only on that worker, where the
// message handler runs too.
class LocalClient {
public:
    struct Received {
        MessagePtr message;
        mqtt::QoS qos;  // as granted to this subscription
        bool retain;    // true for retained messages sent on subscribe
    };
    using Handler = std::function<void(const Received&)>;

    LocalClient(Broker& broker, std::string identity, std::size_t worker);
    ~LocalClient();
    LocalClient(const LocalClient&) = delete;
    LocalClient& operator=(const LocalClient&) = delete;

    const std::string& identity() const { return identity_; }
    SessionId id() const { return id_; }
    std::size_t worker() const { return worker_; }

    void on_message(Handler handler) { handler_ = std::move(handler); }

    // Thread-safe: routed on the client's worker, in the order of the calls.
    void publish(std::string topic, std::string payload, mqtt::QoS qos = mqtt::QoS::at_most_once,
                 bool retain = false);
    void publish(MessagePtr message);

    // Retained messages that match are handed to the handler at once.
    void subscribe(std::string_view filter, mqtt::SubscriptionOptions options = {});
    void unsubscribe(std::string_view filter);

    // Called by the broker on the client's worker.
    void deliver(const Delivery& delivery);

private:
    Broker& broker_;
    std::string identity_;
    SessionId id_;
    std::size_t worker_;
    Handler handler_;
    std::vector<std::string> filters_;
};

}  // namespace fieldgate::broker
