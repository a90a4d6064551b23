#pragma once

// A real MQTT client for the integration tests: Debian's python3-paho-mqtt
// driven through tests/integration/peers/paho_client.py, one JSON command per
// line in, one JSON event per line out. Every wait is bounded; a wait that
// runs out throws std::runtime_error naming what was awaited and what came
// instead, which GoogleTest reports as the test's failure.

#include <sys/types.h>

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/mqtt/version.hpp"
#include "support/process.hpp"

namespace fieldgate::test {

namespace json = boost::json;

// "3.1", "3.1.1" or "5" as the driver expects it.
std::string_view paho_version(mqtt::ProtocolVersion version);

struct WillOptions {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    json::object properties;  // v5 will properties, e.g. {"will_delay_interval": 2}
};

// TLS for mqtts and wss: the server is verified against `ca_file` (and its
// certificate must name the host connected to).
struct TlsOptions {
    std::string ca_file;
    std::string cert_file;  // a client certificate to present, with its key
    std::string key_file;
};

struct ConnectOptions {
    mqtt::ProtocolVersion version = mqtt::ProtocolVersion::v3_1_1;
    std::string client_id;
    bool clean = true;  // clean session (3.x) / clean start (5)
    int keepalive = 60;
    std::optional<WillOptions> will;
    json::object properties;  // v5 CONNECT properties, e.g. {"session_expiry_interval": 60}
    std::optional<std::string> username;
    std::optional<std::string> password;  // sent only with a username (paho's rule)
    std::optional<TlsOptions> tls;
    std::string transport = "tcp";  // "tcp" | "websockets"
    std::string ws_path = "/mqtt";  // websockets
    std::string host = "127.0.0.1";  // or "::1"
};

struct Message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    bool dup = false;
    json::object properties;
};

class PahoClient {
public:
    // Starts the driver; `name` labels it in failure messages.
    explicit PahoClient(std::string name = "paho");
    ~PahoClient();
    PahoClient(const PahoClient&) = delete;
    PahoClient& operator=(const PahoClient&) = delete;

    const std::string& name() const { return name_; }

    // Sends one command object (it must have "cmd").
    void send(const json::object& command);

    // The next event of `kind` (earlier events of other kinds stay queued for
    // their own expect). Throws at the deadline.
    json::object expect(std::string_view kind, Millis timeout = Millis{5000});
    // The same, or nullopt at the deadline.
    std::optional<json::object> next(std::string_view kind, Millis timeout);
    // The "sent" event of a command ("connect", "publish", ...).
    json::object expect_sent(std::string_view command);
    // Waits `window` and returns how many events of `kind` arrived (they are consumed).
    std::size_t count_within(std::string_view kind, Millis window);

    // Commands, each waiting (bounded) for its answer where it has one.
    // connect: returns the CONNACK event (reason_code, session_present, properties).
    json::object connect(std::uint16_t port, const ConnectOptions& options, Millis timeout = Millis{5000});
    // Connects and asserts (throws) that the CONNACK is a success; returns it.
    json::object connect_ok(std::uint16_t port, const ConnectOptions& options);
    // subscribe: returns the SUBACK reason codes.
    std::vector<int> subscribe(const std::string& filter, int qos, json::object options = {},
                               std::optional<std::uint32_t> subscription_id = std::nullopt);
    std::vector<int> unsubscribe(const std::string& filter);
    // publish: returns the message id; with `wait`, waits for its completion
    // (PUBACK / PUBCOMP, or the write of a QoS 0 message) and checks its reason code is a success.
    int publish(const std::string& topic, const std::string& payload, int qos = 0, bool retain = false,
                json::object properties = {}, bool wait = true);
    // Waits until no outgoing QoS 1/2 publish awaits its acknowledgement.
    void wait_published(Millis timeout = Millis{5000});
    void disconnect(std::optional<int> reason_code = std::nullopt);
    // Closes the socket without DISCONNECT.
    void drop();

    // The next `count` messages, in arrival order.
    std::vector<Message> messages(std::size_t count, Millis timeout = Millis{5000});
    Message message(Millis timeout = Millis{5000});

    // Everything the driver wrote to stderr (Python tracebacks) so far.
    std::string driver_stderr();

private:
    // Reads what the driver has written, waiting at most `timeout`; false once its stdout closed.
    bool pump(Millis timeout);
    std::string describe_pending() const;
    std::optional<json::object> next_matching(std::string_view kind, std::string_view command, Millis timeout);
    [[noreturn]] void throw_timeout(std::string_view kind, Millis timeout);

    std::string name_;
    pid_t pid_ = -1;
    int in_fd_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_buffer_;
    std::string err_;
    std::deque<json::object> events_;
    std::vector<std::string> seen_;  // every event line, for failure messages
};

Message to_message(const json::object& event);
std::string to_string(const Message& message);

}  // namespace fieldgate::test
