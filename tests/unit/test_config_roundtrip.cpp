// The built-in defaults (DESIGN.md, "User-facing contract"), print-config
// output that loads back to the same configuration, and what a reload changes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/reload.hpp"

using namespace fieldgate::config;
using namespace std::chrono_literals;
using testing::Contains;
using testing::ElementsAre;
using testing::IsEmpty;

namespace {

// Sets or unsets $STATE_DIRECTORY for one test and restores it afterwards.
class StateDirectoryEnv {
public:
    explicit StateDirectoryEnv(const char* value) {
        if (const char* old = std::getenv(name)) saved_ = old;
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~StateDirectoryEnv() {
        if (saved_) {
            ::setenv(name, saved_->c_str(), 1);
        } else {
            ::unsetenv(name);
        }
    }
    StateDirectoryEnv(const StateDirectoryEnv&) = delete;
    StateDirectoryEnv& operator=(const StateDirectoryEnv&) = delete;

private:
    static constexpr const char* name = "STATE_DIRECTORY";
    std::optional<std::string> saved_;
};

std::string errors_of(const LoadResult& result) {
    std::string out;
    for (const auto& e : result.errors) out += e.to_string() + "\n";
    return out;
}

// Loads text that must be valid (files not checked: they are on the gateway).
Config load_valid(const std::string& text) {
    const auto result = load_config_text(text, "test.toml", {.check_files = false});
    EXPECT_TRUE(result.ok()) << errors_of(result) << "config:\n" << text;
    return result.config;
}

// Every section and nearly every key set to something other than its default.
const std::string rich_config = R"([gateway]
name = "line3-pi"
state_dir = "/var/lib/fieldgate"
workers = 4
log_level = "debug"

[[listener]]
type = "mqtt"
bind = "0.0.0.0:1883"
allow_anonymous = false

[[listener]]
type = "mqtts"
bind = "[::]:8883"
cert = "/etc/fieldgate/tls/server.crt"
key = "/etc/fieldgate/tls/server.key"
client_ca = "/etc/fieldgate/tls/ca.crt"
require_client_cert = true
use_cert_cn_as_username = true

[[listener]]
type = "ws"
bind = "0.0.0.0:8080"

[[listener]]
type = "wss"
path = "/ws"
cert = "/etc/fieldgate/tls/server.crt"
key = "/etc/fieldgate/tls/server.key"

[auth]
password_file = "/etc/fieldgate/passwd"
acl_file = "/etc/fieldgate/acl"

[limits]
max_connections = 500
max_packet_size = "256KiB"
max_inflight = 16
max_queued_messages = 2000
max_keepalive = "1h"
connect_timeout = "5s"

[persistence]
durability = "batched"
commit_interval = "50ms"

[http]
bind = "127.0.0.1:9090"

[[bridge]]
name = "aws"
addresses = ["mqtts://abc-ats.iot.eu-west-1.amazonaws.com:8883", "wss://abc-ats.iot.eu-west-1.amazonaws.com/mqtt"]
protocol = "mqtt311"
client_id = "line3"
clean_start = true
session_expiry = "1h"
keepalive = "30s"
username = "device \"3\""
password_file = "/etc/fieldgate/bridge.secret"
ca = "/etc/fieldgate/AmazonRootCA1.pem"
cert = "/etc/fieldgate/device.crt"
key = "/etc/fieldgate/device.key"
alpn = ["x-amzn-mqtt-ca", "mqtt"]
sni = "abc-ats.iot.eu-west-1.amazonaws.com"
reconnect_min = "500ms"
reconnect_max = "5m"
return_to_first = "15m"
preset = "aws-iot"
  [bridge.queue]
  max_messages = 5000
  max_bytes = "64MiB"
  max_age = "2d"
  when_full = "drop_new"
  drain = "newest_first"
  drain_rate = 100
  [[bridge.topic]]
  pattern = "sensors/#"
  direction = "out"
  qos = 2
  local_prefix = "plant/"
  remote_prefix = "site/line3/"
  priority = "high"
  [[bridge.topic]]
  pattern = "plant/+/temp/#"
  direction = "both"
  qos = 0
  remote = "site/line3/{1}/temperature/{2}"

[[bridge]]
name = "azure"
addresses = ["mqtts://myhub.azure-devices.net"]
protocol = "mqtt311"
preset = "azure-iot-hub"
  [bridge.azure]
  hub = "myhub.azure-devices.net"
  device_id = "line3-pi"
  device_key_file = "/etc/fieldgate/azure.key"
  token_ttl = "2h"
  [bridge.queue]
  drain = "oldest_first"
  [[bridge.topic]]
  pattern = "devices/line3-pi/messages/devicebound/#"
  direction = "in"

[[modbus]]
name = "plc1"
url = "tcp://10.0.0.5:502"
unit_id = 3
poll_interval = "2s"
timeout = "250ms"
retries = 5
max_registers_per_request = 60
topic = "plant/line3/plc1"
  [[modbus.point]]
  name = "pump_on"
  table = "coil"
  address = 0
  type = "bool"
  writable = true
  [[modbus.point]]
  name = "door_open"
  table = "discrete"
  address = 1
  type = "bool"
  [[modbus.point]]
  name = "setpoint"
  address = 10
  type = "int16"
  writable = true
  [[modbus.point]]
  name = "status"
  table = "input"
  address = 11
  type = "uint16"
  [[modbus.point]]
  name = "counter"
  address = 20
  type = "int32"
  byte_order = "DCBA"
  [[modbus.point]]
  name = "hours"
  address = 22
  type = "uint32"
  byte_order = "BADC"
  [[modbus.point]]
  name = "energy"
  address = 30
  type = "int64"
  byte_order = "CDAB"
  [[modbus.point]]
  name = "total"
  address = 34
  type = "uint64"
  [[modbus.point]]
  name = "temperature"
  address = 100
  type = "float32"
  scale = 0.1
  offset = -40.5
  unit = "°C"
  deadband = 0.25
  poll_interval = "10s"
  [[modbus.point]]
  name = "flow"
  table = "input"
  address = 200
  type = "float64"
  scale = 1e-6
  [[modbus.point]]
  name = "batch"
  address = 300
  type = "string"
  length = 16

[[modbus]]
name = "meter"
url = "rtu:///dev/ttyUSB0"
baud = 9600
parity = "E"
data_bits = 7
stop_bits = 2
unit_id = 255
address_base = 1
payload = "raw"
  [[modbus.point]]
  name = "energy"
  table = "input"
  address = 1
  type = "float32"

[[serial]]
name = "scale"
device = "/dev/ttyUSB1"
baud = 115200
topic = "plant/line3/scale"
pattern = '^W:\s*(?<weight>[0-9.]+)\tkg$'
)";

// ---------------------------------------------------------------------------
// Built-in defaults

TEST(ConfigRoundTrip, DefaultsListenForMqttAndWebSocketOnAllAddresses) {
    const auto config = default_config();
    ASSERT_EQ(config.listeners.size(), 2u);
    EXPECT_EQ(config.listeners[0].type, ListenerType::mqtt);
    EXPECT_EQ(config.listeners[0].bind, "0.0.0.0:1883");
    EXPECT_EQ(config.listeners[1].type, ListenerType::ws);
    EXPECT_EQ(config.listeners[1].bind, "0.0.0.0:8080");
    EXPECT_EQ(config.listeners[1].path, "/mqtt");
    for (const auto& l : config.listeners) {
        EXPECT_TRUE(l.allow_anonymous);
        EXPECT_TRUE(l.cert.empty());
    }
}

TEST(ConfigRoundTrip, DefaultsServeHttpOnLoopback8081) {
    EXPECT_EQ(default_config().http.bind, "127.0.0.1:8081");
}

TEST(ConfigRoundTrip, DefaultsAllowAnonymousWithoutPasswordOrAclFile) {
    const auto config = default_config();
    EXPECT_TRUE(config.auth.password_file.empty());
    EXPECT_TRUE(config.auth.acl_file.empty());
}

TEST(ConfigRoundTrip, DefaultsMatchTheDocumentedValues) {
    const auto c = default_config();
    EXPECT_FALSE(c.gateway.name.empty());
    EXPECT_EQ(c.gateway.workers, 0u);
    EXPECT_EQ(c.gateway.log_level, LogLevel::info);
    EXPECT_EQ(c.limits.max_connections, 10000u);
    EXPECT_EQ(c.limits.max_packet_size, ByteSize{1u << 20});
    EXPECT_EQ(c.limits.max_inflight, 32u);
    EXPECT_EQ(c.limits.max_queued_messages, 10000u);
    EXPECT_EQ(c.limits.max_keepalive, 65535s);
    EXPECT_EQ(c.limits.connect_timeout, 10s);
    EXPECT_EQ(c.persistence.durability, Durability::sync);
    EXPECT_EQ(c.persistence.commit_interval, 20ms);
    EXPECT_TRUE(c.bridges.empty());
    EXPECT_TRUE(c.modbus.empty());
    EXPECT_TRUE(c.serial.empty());
}

TEST(ConfigRoundTrip, StateDirIsTheFirstEntryOfStateDirectory) {
    const StateDirectoryEnv env{"/var/lib/fieldgate:/var/lib/other"};
    EXPECT_EQ(default_config().gateway.state_dir, "/var/lib/fieldgate");
}

TEST(ConfigRoundTrip, StateDirIsStateDirectoryWhenItHasOneEntry) {
    const StateDirectoryEnv env{"/var/lib/fieldgate"};
    EXPECT_EQ(default_config().gateway.state_dir, "/var/lib/fieldgate");
}

TEST(ConfigRoundTrip, StateDirFallsBackToWorkingDirectoryWithoutStateDirectory) {
    const StateDirectoryEnv env{nullptr};
    EXPECT_EQ(default_config().gateway.state_dir, "./fieldgate-state");
}

TEST(ConfigRoundTrip, StateDirFallsBackToWorkingDirectoryWhenStateDirectoryIsEmpty) {
    const StateDirectoryEnv env{""};
    EXPECT_EQ(default_config().gateway.state_dir, "./fieldgate-state");
}

TEST(ConfigRoundTrip, StateDirInTheFileWinsOverStateDirectory) {
    const StateDirectoryEnv env{"/var/lib/fieldgate"};
    EXPECT_EQ(load_valid("[gateway]\nstate_dir = \"/data/fg\"\n").gateway.state_dir, "/data/fg");
}

TEST(ConfigRoundTrip, FileWithoutListenersKeepsTheDefaultListeners) {
    const auto config = load_valid("[limits]\nmax_inflight = 5\n");
    ASSERT_EQ(config.listeners.size(), 2u);
    EXPECT_EQ(config.listeners[0].bind, "0.0.0.0:1883");
    EXPECT_EQ(config.listeners[1].bind, "0.0.0.0:8080");
    EXPECT_EQ(config.limits.max_inflight, 5u);
}

TEST(ConfigRoundTrip, FileWithAListenerReplacesTheDefaultListeners) {
    const auto config = load_valid("[[listener]]\ntype = \"ws\"\nbind = \"0.0.0.0:9001\"\n");
    ASSERT_EQ(config.listeners.size(), 1u);
    EXPECT_EQ(config.listeners[0].type, ListenerType::ws);
    EXPECT_EQ(config.listeners[0].bind, "0.0.0.0:9001");
    EXPECT_EQ(config.listeners[0].path, "/mqtt");
}

TEST(ConfigRoundTrip, FileWithHttpReplacesTheDefaultHttpBind) {
    EXPECT_EQ(load_valid("[http]\nbind = \"0.0.0.0:9090\"\n").http.bind, "0.0.0.0:9090");
}

TEST(ConfigRoundTrip, ListenerWithoutBindGetsTheDefaultPortOfItsType) {
    const auto config = load_valid(R"([[listener]]
type = "mqtt"
[[listener]]
type = "mqtts"
cert = "/c.crt"
key = "/c.key"
[[listener]]
type = "ws"
[[listener]]
type = "wss"
cert = "/c.crt"
key = "/c.key"
)");
    ASSERT_EQ(config.listeners.size(), 4u);
    EXPECT_EQ(config.listeners[0].bind, "0.0.0.0:1883");
    EXPECT_EQ(config.listeners[1].bind, "0.0.0.0:8883");
    EXPECT_EQ(config.listeners[2].bind, "0.0.0.0:8080");
    EXPECT_EQ(config.listeners[3].bind, "0.0.0.0:8443");
}

TEST(ConfigRoundTrip, NamesFillInBridgeClientIdAndAdapterTopics) {
    const auto config = load_valid(R"([gateway]
name = "line3-pi"
[[bridge]]
name = "cloud"
addresses = ["mqtts://broker.example.com"]
[[bridge.topic]]
pattern = "sensors/#"
[[modbus]]
name = "plc1"
url = "tcp://10.0.0.5"
[[modbus.point]]
name = "t"
address = 1
[[serial]]
name = "scale"
device = "/dev/ttyUSB1"
)");
    ASSERT_EQ(config.bridges.size(), 1u);
    EXPECT_EQ(config.bridges[0].client_id, "line3-pi");
    ASSERT_EQ(config.modbus.size(), 1u);
    EXPECT_EQ(config.modbus[0].topic, "modbus/plc1");
    ASSERT_EQ(config.serial.size(), 1u);
    EXPECT_EQ(config.serial[0].topic, "serial/scale");
}

// [[bridge]] return_to_first: a duration, 5 minutes by default, "0s" to
// stay on whichever address works; printed and loaded back unchanged.
TEST(ConfigRoundTrip, BridgeReturnToFirstDefaultsToFiveMinutesAndZeroMeansStay) {
    const std::string head = R"([[bridge]]
name = "cloud"
addresses = ["mqtts://a.example.com", "mqtts://b.example.com"]
)";
    const std::string topic = "[[bridge.topic]]\npattern = \"sensors/#\"\n";
    EXPECT_EQ(BridgeConfig{}.return_to_first, 5min);
    const auto defaulted = load_valid(head + topic);
    ASSERT_EQ(defaulted.bridges.size(), 1u);
    EXPECT_EQ(defaulted.bridges[0].return_to_first, 5min);
    EXPECT_NE(print_config(defaulted).find("\nreturn_to_first = \"5m\"\n"), std::string::npos)
        << print_config(defaulted);

    const auto never = load_valid(head + "return_to_first = \"0s\"\n" + topic);
    ASSERT_EQ(never.bridges.size(), 1u);
    EXPECT_EQ(never.bridges[0].return_to_first, 0ms);

    const auto custom = load_valid(head + "return_to_first = \"90s\"\n" + topic);
    ASSERT_EQ(custom.bridges.size(), 1u);
    EXPECT_EQ(custom.bridges[0].return_to_first, 90s);
    const auto reloaded = load_valid(print_config(custom));
    EXPECT_EQ(reloaded.bridges[0].return_to_first, 90s);
    EXPECT_THAT(changed_keys(custom, never), ElementsAre("bridge.return_to_first"));
}

TEST(ConfigRoundTrip, DefaultsLoadWithoutErrors) {
    const auto result = load_config_text("", "test.toml", {.check_files = false});
    EXPECT_TRUE(result.ok()) << errors_of(result);
}

// ---------------------------------------------------------------------------
// print-config

TEST(ConfigRoundTrip, PrintedDefaultsLoadBackToTheSamePrint) {
    const auto printed = print_config(default_config());
    const auto reloaded = load_valid(printed);
    EXPECT_EQ(print_config(reloaded), printed);
    EXPECT_THAT(changed_keys(default_config(), reloaded), IsEmpty());
}

TEST(ConfigRoundTrip, RichConfigLoadsWithEveryValue) {
    const auto c = load_valid(rich_config);
    EXPECT_EQ(c.gateway.log_level, LogLevel::debug);
    ASSERT_EQ(c.listeners.size(), 4u);
    EXPECT_EQ(c.listeners[3].bind, "0.0.0.0:8443");
    EXPECT_EQ(c.limits.max_packet_size, ByteSize{256u << 10});
    ASSERT_EQ(c.bridges.size(), 2u);
    EXPECT_EQ(c.bridges[0].username, "device \"3\"");
    EXPECT_EQ(c.bridges[0].preset, BridgePreset::aws_iot);
    EXPECT_EQ(c.bridges[0].queue.max_bytes, ByteSize{64u << 20});
    EXPECT_EQ(c.bridges[0].queue.max_age, 48h);
    ASSERT_EQ(c.bridges[0].topics.size(), 2u);
    EXPECT_EQ(c.bridges[0].topics[1].remote, "site/line3/{1}/temperature/{2}");
    EXPECT_EQ(c.bridges[1].preset, BridgePreset::azure_iot_hub);
    EXPECT_EQ(c.bridges[1].protocol, BridgeProtocol::mqtt311);
    ASSERT_TRUE(c.bridges[1].azure.has_value());
    EXPECT_EQ(c.bridges[1].azure->token_ttl, 2h);
    EXPECT_EQ(c.bridges[1].client_id, "line3-pi");
    EXPECT_EQ(c.bridges[0].return_to_first, 15min);
    EXPECT_EQ(c.bridges[1].return_to_first, 5min) << "the default";
    ASSERT_EQ(c.modbus.size(), 2u);
    ASSERT_EQ(c.modbus[0].points.size(), 11u);
    EXPECT_EQ(c.modbus[0].points[8].scale, 0.1);
    EXPECT_EQ(c.modbus[0].points[8].offset, -40.5);
    EXPECT_EQ(c.modbus[0].points[8].poll_interval, 10s);
    EXPECT_EQ(c.modbus[0].points[9].scale, 1e-6);
    EXPECT_EQ(c.modbus[0].points[10].length, 16u);
    EXPECT_EQ(c.modbus[1].parity, Parity::even);
    EXPECT_EQ(c.modbus[1].topic, "modbus/meter");
    ASSERT_EQ(c.serial.size(), 1u);
    EXPECT_EQ(c.serial[0].pattern, "^W:\\s*(?<weight>[0-9.]+)\\tkg$");
}

TEST(ConfigRoundTrip, PrintedRichConfigLoadsBackToTheSamePrint) {
    const auto original = load_valid(rich_config);
    const auto printed = print_config(original);
    const auto reloaded = load_valid(printed);
    EXPECT_EQ(print_config(reloaded), printed);
    EXPECT_THAT(changed_keys(original, reloaded), IsEmpty());
}

TEST(ConfigRoundTrip, PrintedStringsWithQuotesBackslashesAndControlCharactersSurvive) {
    auto config = default_config();
    config.gateway.state_dir = "C:\\state \"dir\"\twith\nnewline\x01";
    const auto reloaded = load_valid(print_config(config));
    EXPECT_EQ(reloaded.gateway.state_dir, config.gateway.state_dir);
}

TEST(ConfigRoundTrip, EmptyListenerPathIsRefusedSoPrintNeverDropsIt) {
    // print-config leaves empty strings out; a path that could be empty would not
    // survive the round trip, so every listener's path must start with '/'.
    const auto result = load_config_text("[[listener]]\ntype = \"mqtt\"\npath = \"\"\n", "test.toml",
                                         {.check_files = false});
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(),
              "test.toml:3:8: error: listener[1].path: invalid path \"\" (expected a path starting with '/')");
}

TEST(ConfigRoundTrip, PrintedKeysAreAllSchemaKeys) {
    std::vector<std::string> known;
    for (const auto& k : schema_keys()) known.push_back(k.path);
    std::string section;
    const auto printed = print_config(load_valid(rich_config));
    std::size_t keys = 0;
    for (std::size_t start = 0, end; start < printed.size(); start = end + 1) {
        end = printed.find('\n', start);
        if (end == std::string::npos) end = printed.size();
        const std::string line = printed.substr(start, end - start);
        if (line.empty() || line.starts_with('#')) continue;
        if (line.starts_with('[')) {
            section = line.substr(line.find_first_not_of('['));
            section = section.substr(0, section.find(']'));
            continue;
        }
        const std::string key = section + "." + line.substr(0, line.find(" = "));
        EXPECT_THAT(known, Contains(key));
        ++keys;
    }
    EXPECT_GT(keys, 100u);
}

// ---------------------------------------------------------------------------
// Reload

TEST(ConfigRoundTrip, SameConfigHasNoChangedKeys) {
    EXPECT_THAT(changed_keys(load_valid(rich_config), load_valid(rich_config)), IsEmpty());
    const auto plan = plan_reload(default_config(), default_config());
    EXPECT_THAT(plan.applied, IsEmpty());
    EXPECT_THAT(plan.needs_restart, IsEmpty());
}

TEST(ConfigRoundTrip, LogLevelChangeIsAppliedWithoutRestart) {
    const auto running = load_valid("[gateway]\nname = \"gw\"\nlog_level = \"info\"\n");
    const auto next = load_valid("[gateway]\nname = \"gw\"\nlog_level = \"debug\"\n");
    EXPECT_THAT(changed_keys(running, next), ElementsAre("gateway.log_level"));
    const auto plan = plan_reload(running, next);
    EXPECT_THAT(plan.applied, ElementsAre("gateway.log_level"));
    EXPECT_THAT(plan.needs_restart, IsEmpty());
}

TEST(ConfigRoundTrip, MaxInflightChangeNeedsRestart) {
    const auto running = load_valid("[gateway]\nname = \"gw\"\n[limits]\nmax_inflight = 32\n");
    const auto next = load_valid("[gateway]\nname = \"gw\"\n[limits]\nmax_inflight = 64\n");
    EXPECT_THAT(changed_keys(running, next), ElementsAre("limits.max_inflight"));
    const auto plan = plan_reload(running, next);
    EXPECT_THAT(plan.applied, IsEmpty());
    EXPECT_THAT(plan.needs_restart, ElementsAre("limits.max_inflight"));
}

TEST(ConfigRoundTrip, AddedListenerNeedsRestart) {
    const auto running = load_valid("[gateway]\nname = \"gw\"\n[[listener]]\nbind = \"0.0.0.0:1883\"\n");
    const auto next = load_valid(
        "[gateway]\nname = \"gw\"\n[[listener]]\nbind = \"0.0.0.0:1883\"\n[[listener]]\ntype = \"ws\"\n");
    EXPECT_THAT(changed_keys(running, next), Contains("listener"));
    const auto plan = plan_reload(running, next);
    EXPECT_THAT(plan.applied, IsEmpty());
    EXPECT_THAT(plan.needs_restart, Contains("listener"));
}

TEST(ConfigRoundTrip, LogLevelAndBridgeChangesAreSplitIntoAppliedAndRestart) {
    const auto running = load_valid(rich_config);
    auto next = running;
    next.gateway.log_level = LogLevel::warn;
    next.bridges[0].topics[0].qos = 1;
    next.modbus[0].points[8].deadband = 1.0;
    const auto plan = plan_reload(running, next);
    EXPECT_THAT(plan.applied, ElementsAre("gateway.log_level"));
    EXPECT_THAT(plan.needs_restart, ElementsAre("bridge.topic.qos", "modbus.point.deadband"));
}

TEST(ConfigRoundTrip, RemovedBridgeIsAChangedKey) {
    const auto running = load_valid(rich_config);
    auto next = running;
    next.bridges.pop_back();
    EXPECT_THAT(changed_keys(running, next), Contains("bridge"));
    EXPECT_THAT(plan_reload(running, next).applied, IsEmpty());
}

// ---------------------------------------------------------------------------
// Schema

TEST(ConfigRoundTrip, SchemaListsNestedKeysWithoutArrayNumbers) {
    std::vector<std::string> paths;
    for (const auto& k : schema_keys()) paths.push_back(k.path);
    for (const char* key : {"gateway.name", "listener.bind", "limits.max_inflight", "http.bind",
                            "bridge.queue.max_bytes", "bridge.azure.hub", "bridge.topic.remote",
                            "modbus.point.byte_order", "serial.pattern"}) {
        EXPECT_THAT(paths, Contains(key));
    }
    auto sorted = paths;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "duplicate schema key";
}

TEST(ConfigRoundTrip, SchemaMarksLogLevelReloadableAndLimitsNot) {
    const auto keys = schema_keys();
    auto find = [&](const std::string& path) {
        return std::find_if(keys.begin(), keys.end(), [&](const SchemaKey& k) { return k.path == path; });
    };
    ASSERT_NE(find("gateway.log_level"), keys.end());
    EXPECT_TRUE(find("gateway.log_level")->reloadable);
    ASSERT_NE(find("limits.max_inflight"), keys.end());
    EXPECT_FALSE(find("limits.max_inflight")->reloadable);
    ASSERT_NE(find("listener.bind"), keys.end());
    EXPECT_FALSE(find("listener.bind")->reloadable);
}

}  // namespace
