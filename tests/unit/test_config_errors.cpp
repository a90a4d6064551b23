// Broken configuration files and the exact errors `fieldgate check` prints for
// them (`FILE:LINE:COL: error: KEY: what is wrong (expected ...)`), every error
// of a file at once, in file order.

#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/loader.hpp"

using namespace fieldgate::config;

namespace {

using fieldgate::unit::TempDir;

// "$DIR" in a row stands for the test's temporary directory.
std::string with_dir(std::string_view text, const std::string& dir) {
    std::string out(text);
    for (auto at = out.find("$DIR"); at != std::string::npos; at = out.find("$DIR", at + dir.size())) {
        out.replace(at, 4, dir);
    }
    return out;
}

std::vector<std::string> error_lines(const LoadResult& result) {
    std::vector<std::string> lines;
    for (const auto& e : result.errors) lines.push_back(e.to_string());
    return lines;
}

bool sorted_by_position(const std::vector<ConfigError>& errors) {
    return std::is_sorted(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::tie(a.position.line, a.position.column) < std::tie(b.position.line, b.position.column);
    });
}

// One broken file: its text, and every error line expected for it, in order.
struct ErrorCase {
    std::string name;
    std::string toml;
    std::vector<std::string> expected;
    bool check_files = false;
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.name; }

const std::string duration_expectation = R"(a duration with a unit (ms, s, m, h, d), like "10s")";
const std::string size_expectation = R"(a size with a unit (B, KiB, MiB, GiB), like "256KiB")";

// A valid bridge for rows that break one thing in it (lines 1-5).
const std::string bridge_head = R"([[bridge]]
name = "cloud"
addresses = ["mqtts://broker.example.com:8883"]
[[bridge.topic]]
pattern = "sensors/#"
)";

// A valid Modbus device for rows that break one thing in it (lines 1-6).
const std::string modbus_head = R"([[modbus]]
name = "plc1"
url = "tcp://10.0.0.5:502"
[[modbus.point]]
name = "temperature"
address = 100
)";

std::vector<ErrorCase> syntax_and_key_cases() {
    return {
        {"TomlSyntaxErrorIsReportedAtTheTomlPosition",
         "[gateway]\nname = \n",
         {"test.toml:2:8: error: TOML syntax: Error while parsing key-value pair: expected value, saw '\\n'"}},
        {"UnclosedTableHeaderIsASyntaxError",
         "[limits\nmax_inflight = 5\n",
         {"test.toml:1:8: error: TOML syntax: Error while parsing table header: expected ']', saw '\\n'"}},
        {"UnknownKeyCloseToAKnownOneSuggestsIt",
         "[limits]\nmax_infligt = 5\n",
         {"test.toml:2:1: error: limits.max_infligt: unknown key (did you mean 'max_inflight'?)"}},
        {"UnknownKeyInAnArrayOfTablesSuggestsTheKey",
         bridge_head + "patern = \"a/b\"\n",
         {"test.toml:6:1: error: bridge[1].topic[1].patern: unknown key (did you mean 'pattern'?)"}},
        {"UnknownKeyFarFromAllListsTheKeysOfItsTable",
         "[auth]\nusers = \"/etc/users\"\n",
         {"test.toml:2:1: error: auth.users: unknown key (expected one of: password_file, acl_file)"}},
        {"UnknownTopLevelKeyListsTheSections",
         "foo = 1\n",
         {"test.toml:1:1: error: foo: unknown key (expected one of: gateway, listener, auth, limits, persistence, "
          "http, bridge, modbus, serial)"}},
        {"UnknownTopLevelTableSuggestsListener",
         "[listeners]\ntype = \"mqtt\"\n",
         {"test.toml:1:2: error: listeners: unknown key (did you mean 'listener'?)"}},
    };
}

std::vector<ErrorCase> type_cases() {
    return {
        {"StringForIntegerIsAWrongType",
         "[limits]\nmax_inflight = \"32\"\n",
         {"test.toml:2:16: error: limits.max_inflight: wrong type (expected an integer, got a string)"}},
        {"IntegerForDurationIsAWrongType",
         "[limits]\nconnect_timeout = 10\n",
         {"test.toml:2:19: error: limits.connect_timeout: wrong type (expected " + duration_expectation +
          ", got an integer)"}},
        {"StringForBooleanIsAWrongType",
         "[[listener]]\nallow_anonymous = \"yes\"\n",
         {"test.toml:2:19: error: listener[1].allow_anonymous: wrong type (expected true or false, got a string)"}},
        {"NumberForEnumIsAWrongType",
         "[gateway]\nlog_level = 3\n",
         {"test.toml:2:13: error: gateway.log_level: wrong type (expected one of: \"trace\", \"debug\", \"info\", "
          "\"warn\", \"error\", \"critical\", \"off\", got an integer)"}},
        {"StringForArrayOfStringsIsAWrongType",
         "[[bridge]]\nname = \"cloud\"\naddresses = \"mqtts://broker.example.com\"\n[[bridge.topic]]\n"
         "pattern = \"a/#\"\n",
         // One error per problem: the rejected value is not also reported as empty.
         {"test.toml:3:13: error: bridge[1].addresses: wrong type (expected an array of strings, got a string)"}},
        {"SingleTableWhereArrayOfTablesExpectedIsAWrongType",
         "[bridge]\nname = \"cloud\"\n",
         {"test.toml:1:1: error: bridge: wrong type (expected an array of tables [[bridge]], got a table)"}},
        {"ArrayOfTablesWhereTableExpectedIsAWrongType",
         "[[limits]]\nmax_inflight = 5\n",
         {"test.toml:1:1: error: limits: wrong type (expected a table [limits], got an array)"}},
        {"NegativeSizeIsAWrongType",
         "[limits]\nmax_packet_size = -1\n",
         {"test.toml:2:19: error: limits.max_packet_size: wrong type (expected " + size_expectation +
          ", got an integer)"}},
    };
}

std::vector<ErrorCase> range_cases() {
    return {
        {"IntegerBelowMinimumIsOutOfRange",
         "[limits]\nmax_inflight = 0\n",
         {"test.toml:2:16: error: limits.max_inflight: 0 is out of range (expected 1 to 65535)"}},
        {"IntegerAboveMaximumIsOutOfRange",
         "[gateway]\nworkers = 257\n",
         {"test.toml:2:11: error: gateway.workers: 257 is out of range (expected 0 to 256)"}},
        {"NegativeIntegerForUnsignedKeyIsOutOfRange",
         "[gateway]\nworkers = -1\n",
         {"test.toml:2:11: error: gateway.workers: -1 is out of range (expected 0 to 256)"}},
        {"IntegerWithOnlyAMinimumSaysAtLeast",
         bridge_head + "[bridge.queue]\nmax_messages = 0\n",
         {"test.toml:7:16: error: bridge[1].queue.max_messages: 0 is out of range (expected at least 1)"}},
        {"DurationBelowMinimumIsOutOfRange",
         "[limits]\nconnect_timeout = \"50ms\"\n",
         {"test.toml:2:19: error: limits.connect_timeout: 50ms is out of range (expected 100ms to 1h)"}},
        {"DurationAboveMaximumIsOutOfRange",
         "[limits]\nmax_keepalive = \"65536s\"\n",
         {"test.toml:2:17: error: limits.max_keepalive: 65536s is out of range (expected 1s to 65535s)"}},
        {"SizeAboveMaximumIsOutOfRange",
         "[limits]\nmax_packet_size = \"1GiB\"\n",
         {"test.toml:2:19: error: limits.max_packet_size: 1GiB is out of range (expected 64B to 268435460B)"}},
        {"SizeBelowMinimumIsOutOfRange",
         "[limits]\nmax_packet_size = 63\n",
         {"test.toml:2:19: error: limits.max_packet_size: 63B is out of range (expected 64B to 268435460B)"}},
        {"QosAboveTwoIsOutOfRange",
         bridge_head + "qos = 3\n",
         {"test.toml:6:7: error: bridge[1].topic[1].qos: 3 is out of range (expected 0 to 2)"}},
        {"UnitIdAbove255IsOutOfRange",
         modbus_head + "[[modbus]]\nname = \"plc2\"\nurl = \"tcp://10.0.0.6\"\nunit_id = 256\n"
                       "[[modbus.point]]\nname = \"t\"\naddress = 1\n",
         {"test.toml:10:11: error: modbus[2].unit_id: 256 is out of range (expected 0 to 255)"}},
    };
}

std::vector<ErrorCase> enum_and_unit_cases() {
    std::vector<ErrorCase> cases = {
        {"UnknownLogLevelListsTheLevels",
         "[gateway]\nlog_level = \"verbose\"\n",
         {"test.toml:2:13: error: gateway.log_level: unknown value \"verbose\" (expected one of: \"trace\", "
          "\"debug\", \"info\", \"warn\", \"error\", \"critical\", \"off\")"}},
        {"UnknownDurabilityListsTheModes",
         "[persistence]\ndurability = \"fast\"\n",
         {"test.toml:2:14: error: persistence.durability: unknown value \"fast\" (expected one of: \"sync\", "
          "\"batched\", \"none\")"}},
        {"EnumValuesAreCaseSensitive",
         "[[listener]]\ntype = \"MQTT\"\n",
         {"test.toml:2:8: error: listener[1].type: unknown value \"MQTT\" (expected one of: \"mqtt\", \"mqtts\", "
          "\"ws\", \"wss\")"}},
        {"UnknownParityListsTheLetters",
         modbus_head.substr(0, modbus_head.find("[[modbus.point]]")) + "parity = \"none\"\n[[modbus.point]]\n"
                                                                       "name = \"t\"\naddress = 1\n",
         {"test.toml:4:10: error: modbus[1].parity: unknown value \"none\" (expected one of: \"N\", \"E\", \"O\")"}},
    };
    // Durations are an unsigned integer and exactly one unit, nothing else.
    const std::pair<const char*, const char*> durations[] = {
        {"DurationWithoutUnitIsInvalid", "10"},         {"FractionalDurationIsInvalid", "1.5s"},
        {"NegativeDurationIsInvalid", "-1s"},           {"DurationWithSpaceBeforeUnitIsInvalid", "10 s"},
        {"DurationWithSpelledOutUnitIsInvalid", "10sec"},
    };
    for (const auto& [name, text] : durations) {
        cases.push_back({name,
                         "[limits]\nconnect_timeout = \"" + std::string(text) + "\"\n",
                         {"test.toml:2:19: error: limits.connect_timeout: invalid duration \"" + std::string(text) +
                          "\" (expected " + duration_expectation + ")"}});
    }
    const std::pair<const char*, const char*> sizes[] = {
        {"DecimalSizeUnitIsInvalid", "1MB"},
        {"FractionalSizeIsInvalid", "1.5MiB"},
        {"LowerCaseSizeUnitIsInvalid", "1mib"},
    };
    for (const auto& [name, text] : sizes) {
        cases.push_back({name,
                         "[limits]\nmax_packet_size = \"" + std::string(text) + "\"\n",
                         {"test.toml:2:19: error: limits.max_packet_size: invalid size \"" + std::string(text) +
                          "\" (expected " + size_expectation + ")"}});
    }
    return cases;
}

std::vector<ErrorCase> missing_key_cases() {
    return {
        {"BridgeWithoutNameAndAddressesReportsBothMissing",
         "[[bridge]]\n[[bridge.topic]]\npattern = \"a/#\"\n",
         // One error per missing key: "addresses" missing is not also reported as empty.
         {"test.toml:1:1: error: bridge[1].name: missing required key (expected a string)",
          "test.toml:1:1: error: bridge[1].addresses: missing required key (expected an array of strings)"}},
        {"BridgeTopicWithoutPatternIsReported",
         "[[bridge]]\nname = \"cloud\"\naddresses = [\"mqtt://broker\"]\n[[bridge.topic]]\ndirection = \"in\"\n",
         {"test.toml:4:1: error: bridge[1].topic[1].pattern: missing required key (expected a string)"}},
        {"ModbusDeviceWithoutUrlIsReported",
         "[[modbus]]\nname = \"plc1\"\n[[modbus.point]]\nname = \"t\"\naddress = 1\n",
         {"test.toml:1:1: error: modbus[1].url: missing required key (expected a string)"}},
        {"ModbusPointWithoutNameAndAddressIsReported",
         "[[modbus]]\nname = \"plc1\"\nurl = \"tcp://10.0.0.5\"\n[[modbus.point]]\ntype = \"int16\"\n",
         {"test.toml:4:1: error: modbus[1].point[1].name: missing required key (expected a string)",
          "test.toml:4:1: error: modbus[1].point[1].address: missing required key (expected an integer)"}},
        {"SerialInstrumentWithoutDeviceIsReported",
         "[[serial]]\nname = \"scale\"\n",
         {"test.toml:1:1: error: serial[1].device: missing required key (expected a string)"}},
        {"SerialInstrumentWithoutNameIsReported",
         "[[serial]]\ndevice = \"/dev/ttyUSB1\"\n",
         {"test.toml:1:1: error: serial[1].name: missing required key (expected a string)"}},
        {"AzureTableWithoutHubIsReported",
         "[[bridge]]\nname = \"azure\"\naddresses = [\"mqtts://myhub.azure-devices.net\"]\n"
         "protocol = \"mqtt311\"\npreset = \"azure-iot-hub\"\n[bridge.azure]\ndevice_id = \"line3-pi\"\n"
         "device_key_file = \"/etc/fieldgate/azure.key\"\n[[bridge.topic]]\npattern = \"a/#\"\n",
         {"test.toml:6:1: error: bridge[1].azure.hub: missing required key (expected a string)"}},
    };
}

std::vector<ErrorCase> listener_cases() {
    return {
        {"MqttsListenerWithoutCertAndKeyIsReported",
         "[[listener]]\ntype = \"mqtts\"\n",
         {"test.toml:1:1: error: listener[1].cert: missing for an mqtts listener (expected a certificate file)",
          "test.toml:1:1: error: listener[1].key: missing for an mqtts listener (expected a private key file)"}},
        {"CertOnAPlainMqttListenerIsReported",
         "[[listener]]\ntype = \"mqtt\"\ncert = \"/etc/fieldgate/server.crt\"\n",
         {"test.toml:3:8: error: listener[1].cert: set on an mqtt listener (expected only with mqtts or wss)"}},
        {"WssListenerWithoutCertAndKeyIsReported",
         "[[listener]]\ntype = \"wss\"\n",
         {"test.toml:1:1: error: listener[1].cert: missing for a wss listener (expected a certificate file)",
          "test.toml:1:1: error: listener[1].key: missing for a wss listener (expected a private key file)"}},
        {"KeyAndClientCaOnAWebSocketListenerAreReported",
         "[[listener]]\ntype = \"ws\"\nkey = \"/etc/fieldgate/server.key\"\nclient_ca = \"/etc/fieldgate/ca.crt\"\n",
         {"test.toml:3:7: error: listener[1].key: set on a ws listener (expected only with mqtts or wss)",
          "test.toml:4:13: error: listener[1].client_ca: set on a ws listener (expected only with mqtts or wss)"}},
        {"RequireClientCertOnAPlainMqttListenerIsReported",
         "[[listener]]\ntype = \"mqtt\"\nrequire_client_cert = true\n",
         {"test.toml:3:23: error: listener[1].require_client_cert: set on an mqtt listener (expected only with "
          "mqtts or wss)"}},
        {"TwoListenersOnOnePortAreReported",
         "[[listener]]\nbind = \"0.0.0.0:1883\"\n[[listener]]\ntype = \"ws\"\nbind = \"127.0.0.1:1883\"\n",
         {"test.toml:5:8: error: listener[2].bind: port 1883 is already used by listener[1] (expected one "
          "listener per port)"}},
        {"TwoListenersOnTheDefaultPortOfTheirTypeAreReported",
         "[[listener]]\n[[listener]]\n",
         {"test.toml:2:1: error: listener[2].bind: port 1883 is already used by listener[1] (expected one "
          "listener per port)"}},
        {"HttpOnADefaultListenerPortIsReported",
         "[http]\nbind = \"127.0.0.1:1883\"\n",
         {"test.toml:2:8: error: http.bind: port 1883 is already used by listener[1] (expected a port of its own)"}},
        {"HttpOnAConfiguredListenerPortIsReported",
         "[[listener]]\nbind = \"0.0.0.0:1883\"\n[[listener]]\ntype = \"ws\"\nbind = \"0.0.0.0:9001\"\n"
         "[http]\nbind = \"127.0.0.1:9001\"\n",
         {"test.toml:7:8: error: http.bind: port 9001 is already used by listener[2] (expected a port of its own)"}},
        {"ListenerBindWithHostNameIsReported",
         "[[listener]]\nbind = \"localhost:1883\"\n",
         {"test.toml:2:8: error: listener[1].bind: invalid address \"localhost:1883\" (expected IP:PORT, like "
          "\"0.0.0.0:1883\" or \"[::]:1883\")"}},
        {"HttpBindWithoutPortIsReported",
         "[http]\nbind = \"127.0.0.1\"\n",
         {"test.toml:2:8: error: http.bind: invalid address \"127.0.0.1\" (expected IP:PORT, like "
          "\"127.0.0.1:8081\")"}},
        {"WebSocketPathWithoutSlashIsReported",
         "[[listener]]\ntype = \"ws\"\npath = \"mqtt\"\n",
         {"test.toml:3:8: error: listener[1].path: invalid path \"mqtt\" (expected a path starting with '/')"}},
        {"RequiredClientCertWithoutClientCaIsReported",
         "[[listener]]\ntype = \"mqtts\"\ncert = \"/c.crt\"\nkey = \"/c.key\"\nrequire_client_cert = true\n",
         {"test.toml:1:1: error: listener[1].client_ca: missing (expected a CA file when client certificates are "
          "required or used)"}},
    };
}

std::vector<ErrorCase> bridge_cases() {
    const std::string head = "[[bridge]]\nname = \"cloud\"\n";
    const std::string topic = "[[bridge.topic]]\npattern = \"sensors/#\"\n";
    return {
        {"BridgeWithEmptyAddressesIsReported",
         head + "addresses = []\n" + topic,
         {"test.toml:3:13: error: bridge[1].addresses: empty (expected at least one address, like "
          "\"mqtts://broker.example.com:8883\")"}},
        {"BridgeAddressWithHttpSchemeIsReported",
         head + "addresses = [\"mqtts://a.example.com\", \"http://b.example.com\"]\n" + topic,
         {"test.toml:3:13: error: bridge[1].addresses: invalid address \"http://b.example.com\" (expected "
          "mqtt://, mqtts://, ws:// or wss:// with a host)"}},
        {"BridgeAddressWithoutHostIsReported",
         head + "addresses = [\"mqtts://\"]\n" + topic,
         {"test.toml:3:13: error: bridge[1].addresses: invalid address \"mqtts://\" (expected mqtt://, mqtts://, "
          "ws:// or wss:// with a host)"}},
        {"ReconnectMinAboveReconnectMaxIsReported",
         bridge_head.substr(0, bridge_head.find("[[bridge.topic]]")) + "reconnect_min = \"5m\"\n"
                                                                       "reconnect_max = \"1m\"\n" + topic,
         {"test.toml:4:17: error: bridge[1].reconnect_min: longer than reconnect_max (expected reconnect_min <= "
          "reconnect_max)"}},
        {"ReturnToFirstLongerThanADayIsOutOfRange",
         bridge_head.substr(0, bridge_head.find("[[bridge.topic]]")) + "return_to_first = \"2d\"\n" + topic,
         {"test.toml:4:19: error: bridge[1].return_to_first: 2d is out of range (expected 0s to 1d)"}},
        {"ReturnToFirstWithoutUnitIsReported",
         bridge_head.substr(0, bridge_head.find("[[bridge.topic]]")) + "return_to_first = \"5\"\n" + topic,
         {"test.toml:4:19: error: bridge[1].return_to_first: invalid duration \"5\" (expected " +
          duration_expectation + ")"}},
        {"BridgeCertWithoutKeyIsReported",
         bridge_head.substr(0, bridge_head.find("[[bridge.topic]]")) + "cert = \"/etc/fieldgate/dev.crt\"\n" + topic,
         {"test.toml:1:1: error: bridge[1].key: missing (expected cert and key together)"}},
        {"BridgeKeyWithoutCertIsReported",
         bridge_head.substr(0, bridge_head.find("[[bridge.topic]]")) + "key = \"/etc/fieldgate/dev.key\"\n" + topic,
         {"test.toml:1:1: error: bridge[1].cert: missing (expected cert and key together)"}},
        {"AwsIotPresetWithPlainMqttIsReported",
         head + "addresses = [\"mqtt://abc.iot.eu-west-1.amazonaws.com\"]\ncert = \"/d.crt\"\nkey = \"/d.key\"\n"
                "preset = \"aws-iot\"\n" + topic,
         {"test.toml:3:13: error: bridge[1].addresses: not TLS (expected mqtts:// or wss:// for preset "
          "\"aws-iot\")"}},
        {"AwsIotPresetWithoutCertIsReported",
         head + "addresses = [\"mqtts://abc.iot.eu-west-1.amazonaws.com\"]\npreset = \"aws-iot\"\n" + topic,
         {"test.toml:1:1: error: bridge[1].cert: missing (expected a device certificate for preset \"aws-iot\")"}},
        {"AzurePresetWithoutAzureTableIsReported",
         head + "addresses = [\"mqtts://myhub.azure-devices.net\"]\nprotocol = \"mqtt311\"\n"
                "preset = \"azure-iot-hub\"\n" + topic,
         {"test.toml:1:1: error: bridge[1].azure: missing (expected a [bridge.azure] table for preset "
          "\"azure-iot-hub\")"}},
        {"AzurePresetWithTheDefaultProtocolIsReported",
         head + "addresses = [\"mqtts://myhub.azure-devices.net\"]\npreset = \"azure-iot-hub\"\n"
                "[bridge.azure]\nhub = \"myhub.azure-devices.net\"\ndevice_id = \"d\"\ndevice_key_file = \"/k\"\n" +
             topic,
         {"test.toml:1:1: error: bridge[1].protocol: \"mqtt5\" with preset \"azure-iot-hub\" (expected "
          "\"mqtt311\")"}},
        {"AzurePresetWithMqtt5IsReported",
         head + "addresses = [\"mqtts://myhub.azure-devices.net\"]\nprotocol = \"mqtt5\"\npreset = \"azure-iot-hub\"\n"
                "[bridge.azure]\nhub = \"myhub.azure-devices.net\"\ndevice_id = \"d\"\ndevice_key_file = \"/k\"\n" +
             topic,
         {"test.toml:4:12: error: bridge[1].protocol: \"mqtt5\" with preset \"azure-iot-hub\" (expected "
          "\"mqtt311\")"}},
        {"AzureTableWithGenericPresetIsReported",
         bridge_head + "[bridge.azure]\nhub = \"myhub.azure-devices.net\"\ndevice_id = \"d\"\n"
                       "device_key_file = \"/k\"\n",
         {"test.toml:6:1: error: bridge[1].azure: set without preset \"azure-iot-hub\" (expected only with that "
          "preset)"}},
        {"BridgeWithoutTopicsIsReported",
         bridge_head.substr(0, bridge_head.find("[[bridge.topic]]")),
         {"test.toml:1:1: error: bridge[1].topic: missing (expected at least one [[bridge.topic]])"}},
        {"InvalidTopicFilterIsReported",
         head + "addresses = [\"mqtt://broker\"]\n[[bridge.topic]]\npattern = \"sensors/#/x\"\n",
         {"test.toml:5:11: error: bridge[1].topic[1].pattern: invalid topic filter \"sensors/#/x\" (expected '+' "
          "and '#' only as whole levels, '#' last)"}},
        {"WildcardInRemotePrefixIsReported",
         bridge_head + "remote_prefix = \"site/+/\"\n",
         {"test.toml:6:17: error: bridge[1].topic[1].remote_prefix: wildcard in prefix \"site/+/\" (expected a "
          "plain topic prefix)"}},
        {"WildcardInLocalPrefixIsReported",
         bridge_head + "local_prefix = \"plant/#\"\n",
         {"test.toml:6:16: error: bridge[1].topic[1].local_prefix: wildcard in prefix \"plant/#\" (expected a "
          "plain topic prefix)"}},
        {"RemoteTogetherWithRemotePrefixIsReported",
         bridge_head + "remote_prefix = \"site/\"\nremote = \"site/{1}\"\n",
         {"test.toml:7:10: error: bridge[1].topic[1].remote: set together with remote_prefix (expected one of "
          "remote or remote_prefix)"}},
        {"RemotePlaceholderBeyondTheWildcardsIsReported",
         head + "addresses = [\"mqtt://broker\"]\n[[bridge.topic]]\npattern = \"plant/+/temp/#\"\n"
                "remote = \"site/{1}/{3}\"\n",
         {"test.toml:6:10: error: bridge[1].topic[1].remote: placeholder {3} in \"site/{1}/{3}\" (expected {1} to "
          "{2}, one per wildcard of the pattern)"}},
        {"RemotePlaceholderZeroIsReported",
         head + "addresses = [\"mqtt://broker\"]\n[[bridge.topic]]\npattern = \"plant/+\"\nremote = \"site/{0}\"\n",
         {"test.toml:6:10: error: bridge[1].topic[1].remote: placeholder {0} in \"site/{0}\" (expected {1} to {1}, "
          "one per wildcard of the pattern)"}},
        {"DuplicateBridgeNamesAreReported",
         bridge_head + bridge_head,
         {"test.toml:7:8: error: bridge[2].name: duplicate name \"cloud\" (expected a unique name)"}},
        {"BridgeNameWithSpaceIsInvalid",
         "[[bridge]]\nname = \"my cloud\"\naddresses = [\"mqtt://broker\"]\n" + topic,
         {"test.toml:2:8: error: bridge[1].name: invalid name \"my cloud\" (expected letters, digits, '-', '_' or "
          "'.')"}},
        {"GatewayNameWithSlashIsInvalid",
         "[gateway]\nname = \"line/3\"\n",
         {"test.toml:2:8: error: gateway.name: invalid name \"line/3\" (expected letters, digits, '-', '_' or "
          "'.')"}},
    };
}

std::vector<ErrorCase> modbus_cases() {
    const std::string device = modbus_head.substr(0, modbus_head.find("[[modbus.point]]"));  // lines 1-3
    const std::string point = "[[modbus.point]]\nname = \"p\"\n";                              // lines 4-5
    return {
        {"ModbusUrlWithUnknownSchemeIsReported",
         "[[modbus]]\nname = \"plc1\"\nurl = \"udp://10.0.0.5:502\"\n" + point + "address = 1\n",
         {"test.toml:3:7: error: modbus[1].url: invalid address \"udp://10.0.0.5:502\" (expected tcp://HOST:PORT "
          "or rtu:///dev/DEVICE)"}},
        {"ModbusTcpUrlWithPathIsReported",
         "[[modbus]]\nname = \"plc1\"\nurl = \"tcp://10.0.0.5/x\"\n" + point + "address = 1\n",
         {"test.toml:3:7: error: modbus[1].url: invalid address \"tcp://10.0.0.5/x\" (expected tcp://HOST:PORT "
          "or rtu:///dev/DEVICE)"}},
        {"ModbusRtuUrlWithTwoSlashesIsReported",
         "[[modbus]]\nname = \"plc1\"\nurl = \"rtu://dev/ttyUSB0\"\n" + point + "address = 1\n",
         {"test.toml:3:7: error: modbus[1].url: invalid address \"rtu://dev/ttyUSB0\" (expected tcp://HOST:PORT "
          "or rtu:///dev/DEVICE)"}},
        {"NonBoolTypeInCoilTableIsReported",
         device + point + "address = 1\ntable = \"coil\"\ntype = \"int16\"\n",
         {"test.toml:8:8: error: modbus[1].point[1].type: \"int16\" in table \"coil\" (expected \"bool\": coils and "
          "discrete inputs hold single bits)"}},
        {"DefaultTypeInDiscreteTableIsReported",
         device + point + "address = 1\ntable = \"discrete\"\n",
         {"test.toml:4:1: error: modbus[1].point[1].type: \"uint16\" in table \"discrete\" (expected \"bool\": "
          "coils and discrete inputs hold single bits)"}},
        {"StringPointWithoutLengthIsReported",
         device + point + "address = 1\ntype = \"string\"\n",
         {"test.toml:4:1: error: modbus[1].point[1].length: missing for a string point (expected the number of "
          "characters, 1 to 246)"}},
        {"LengthOnANumericPointIsReported",
         device + point + "address = 1\ntype = \"int32\"\nlength = 4\n",
         {"test.toml:8:10: error: modbus[1].point[1].length: set on a int32 point (expected only for type "
          "\"string\")"}},
        {"StringLengthAbove246IsOutOfRange",
         device + point + "address = 1\ntype = \"string\"\nlength = 247\n",
         // One error per problem: the rejected length is not also reported as missing.
         {"test.toml:8:10: error: modbus[1].point[1].length: 247 is out of range (expected 0 to 246)"}},
        {"WritableInputRegisterIsReported",
         device + point + "address = 1\ntable = \"input\"\nwritable = true\n",
         {"test.toml:8:12: error: modbus[1].point[1].writable: table \"input\" is read-only (expected writable "
          "only for coil or holding)"}},
        {"WritableDiscreteInputIsReported",
         device + point + "address = 1\ntable = \"discrete\"\ntype = \"bool\"\nwritable = true\n",
         {"test.toml:9:12: error: modbus[1].point[1].writable: table \"discrete\" is read-only (expected "
          "writable only for coil or holding)"}},
        {"Float32AtTheLastRegisterRunsPast65535",
         device + point + "address = 65535\ntype = \"float32\"\n",
         {"test.toml:6:11: error: modbus[1].point[1].address: 65535 runs past the last register (expected the "
          "point to end by 65535)"}},
        {"Address65536WithBaseZeroRunsPast65535",
         device + point + "address = 65536\n",
         {"test.toml:6:11: error: modbus[1].point[1].address: 65536 runs past the last register (expected the "
          "point to end by 65535)"}},
        {"AddressAboveTheSchemaMaximumIsOutOfRange",
         device + point + "address = 65537\n",
         {"test.toml:6:11: error: modbus[1].point[1].address: 65537 is out of range (expected 0 to 65536)"}},
        {"AddressZeroWithAddressBaseOneIsReported",
         device + "address_base = 1\n" + "[[modbus.point]]\nname = \"p\"\naddress = 0\n",
         {"test.toml:7:11: error: modbus[1].point[1].address: 0 is below address_base 1 (expected the device's "
          "numbering)"}},
        {"UnitId250IsReported",
         device + "unit_id = 250\n" + "[[modbus.point]]\nname = \"p\"\naddress = 1\n",
         {"test.toml:4:11: error: modbus[1].unit_id: 250 is out of range (expected 0 to 247, or 255)"}},
        {"ModbusDeviceWithoutPointsIsReported",
         device,
         {"test.toml:1:1: error: modbus[1].point: missing (expected at least one [[modbus.point]])"}},
        {"DuplicatePointNamesAreReported",
         device + point + "address = 1\n" + point + "address = 2\n",
         {"test.toml:8:8: error: modbus[1].point[2].name: duplicate name \"p\" (expected a unique name)"}},
        {"SamePointNameOnTwoDevicesIsAllowedButDeviceNamesMustDiffer",
         device + point + "address = 1\n" + device + point + "address = 1\n",
         {"test.toml:8:8: error: modbus[2].name: duplicate name \"plc1\" (expected a unique name)"}},
        {"ModbusTopicWithWildcardIsReported",
         device + "topic = \"plant/#\"\n" + "[[modbus.point]]\nname = \"p\"\naddress = 1\n",
         {"test.toml:4:9: error: modbus[1].topic: invalid topic \"plant/#\" (expected a topic name without '+' or "
          "'#')"}},
        {"ZeroScaleIsReported",
         device + point + "address = 1\nscale = 0\n",
         {"test.toml:7:9: error: modbus[1].point[1].scale: 0 (expected a non-zero factor)"}},
        {"NegativeDeadbandIsReported",
         device + point + "address = 1\ndeadband = -0.5\n",
         {"test.toml:7:12: error: modbus[1].point[1].deadband: negative (expected 0 or more)"}},
    };
}

std::vector<ErrorCase> serial_cases() {
    return {
        {"SerialPatternThatDoesNotCompileIsReported",
         "[[serial]]\nname = \"scale\"\ndevice = \"/dev/ttyUSB1\"\npattern = '^W:(?<weight>[0-9.]+kg$'\n",
         {"test.toml:4:11: error: serial[1].pattern: invalid regular expression: Unmatched marking parenthesis ( "
          "or \\(.  The error occurred while parsing the regular expression fragment: '[0-9.]+kg$>>>HERE>>>'. "
          "(expected a Perl-style regular expression, like '^W:(?<weight>[0-9.]+)kg$')"}},
        {"DuplicateSerialNamesAreReported",
         "[[serial]]\nname = \"scale\"\ndevice = \"/dev/ttyUSB1\"\n[[serial]]\nname = \"scale\"\n"
         "device = \"/dev/ttyUSB2\"\n",
         {"test.toml:5:8: error: serial[2].name: duplicate name \"scale\" (expected a unique name)"}},
    };
}

// Files named by the configuration, checked with check_files = true; $DIR is empty.
std::vector<ErrorCase> file_cases() {
    const std::string enoent = ": No such file or directory (expected a readable ";
    return {
        {"MissingListenerCertAndKeyFilesAreReported",
         "[[listener]]\ntype = \"mqtts\"\ncert = \"$DIR/server.crt\"\nkey = \"$DIR/server.key\"\n",
         {"test.toml:3:8: error: listener[1].cert: cannot read \"$DIR/server.crt\"" + enoent + "certificate file)",
          "test.toml:4:7: error: listener[1].key: cannot read \"$DIR/server.key\"" + enoent + "private key file)"},
         true},
        {"MissingClientCaFileIsReported",
         "[[listener]]\ntype = \"wss\"\ncert = \"$DIR/s.crt\"\nkey = \"$DIR/s.key\"\nclient_ca = \"$DIR/ca.crt\"\n",
         {"test.toml:3:8: error: listener[1].cert: cannot read \"$DIR/s.crt\"" + enoent + "certificate file)",
          "test.toml:4:7: error: listener[1].key: cannot read \"$DIR/s.key\"" + enoent + "private key file)",
          "test.toml:5:13: error: listener[1].client_ca: cannot read \"$DIR/ca.crt\"" + enoent + "CA file)"},
         true},
        {"MissingAuthFilesAreReported",
         "[auth]\npassword_file = \"$DIR/passwd\"\nacl_file = \"$DIR/acl\"\n",
         {"test.toml:2:17: error: auth.password_file: cannot read \"$DIR/passwd\"" + enoent + "password file)",
          "test.toml:3:12: error: auth.acl_file: cannot read \"$DIR/acl\"" + enoent + "ACL file)"},
         true},
        {"MissingBridgeFilesAreReported",
         "[[bridge]]\nname = \"azure\"\naddresses = [\"mqtts://myhub.azure-devices.net\"]\n"
         "password_file = \"$DIR/secret\"\nca = \"$DIR/ca.pem\"\ncert = \"$DIR/dev.crt\"\nkey = \"$DIR/dev.key\"\n"
         "protocol = \"mqtt311\"\npreset = \"azure-iot-hub\"\n[bridge.azure]\nhub = \"myhub.azure-devices.net\"\n"
         "device_id = \"d\"\ndevice_key_file = \"$DIR/azure.key\"\n[[bridge.topic]]\npattern = \"a/#\"\n",
         {"test.toml:4:17: error: bridge[1].password_file: cannot read \"$DIR/secret\"" + enoent + "password file)",
          "test.toml:5:6: error: bridge[1].ca: cannot read \"$DIR/ca.pem\"" + enoent + "CA file)",
          "test.toml:6:8: error: bridge[1].cert: cannot read \"$DIR/dev.crt\"" + enoent + "certificate file)",
          "test.toml:7:7: error: bridge[1].key: cannot read \"$DIR/dev.key\"" + enoent + "private key file)",
          "test.toml:13:19: error: bridge[1].azure.device_key_file: cannot read \"$DIR/azure.key\"" + enoent +
              "device key file)"},
         true},
        {"MissingSerialDeviceIsReported",
         "[[serial]]\nname = \"scale\"\ndevice = \"$DIR/ttyUSB1\"\n",
         {"test.toml:3:10: error: serial[1].device: cannot read \"$DIR/ttyUSB1\"" + enoent + "serial device)"},
         true},
        {"MissingModbusRtuDeviceIsReported",
         "[[modbus]]\nname = \"meter\"\nurl = \"rtu://$DIR/ttyUSB0\"\n[[modbus.point]]\nname = \"p\"\naddress = 1\n",
         {"test.toml:3:7: error: modbus[1].url: cannot read \"$DIR/ttyUSB0\"" + enoent + "serial device)"},
         true},
    };
}

std::vector<ErrorCase> all_cases() {
    std::vector<ErrorCase> all;
    for (auto group : {syntax_and_key_cases(), type_cases(), range_cases(), enum_and_unit_cases(),
                       missing_key_cases(), listener_cases(), bridge_cases(), modbus_cases(), serial_cases(),
                       file_cases()}) {
        all.insert(all.end(), group.begin(), group.end());
    }
    return all;
}

class BrokenFile : public testing::TestWithParam<ErrorCase> {};

TEST_P(BrokenFile, ReportsExactlyTheExpectedErrorsInFileOrder) {
    const auto& c = GetParam();
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const auto result = load_config_text(with_dir(c.toml, dir.path()), "test.toml", {.check_files = c.check_files});
    std::vector<std::string> expected;
    for (const auto& line : c.expected) expected.push_back(with_dir(line, dir.path()));

    EXPECT_EQ(error_lines(result), expected) << "config:\n" << with_dir(c.toml, dir.path());
    EXPECT_FALSE(result.ok());
    EXPECT_TRUE(sorted_by_position(result.errors));
}

INSTANTIATE_TEST_SUITE_P(Config, BrokenFile, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<ErrorCase>& p) { return p.param.name; });

// ---------------------------------------------------------------------------

TEST(Config, ReportsEveryErrorOfAFileAtOnceSortedByLine) {
    const auto result = load_config_text(R"([gateway]
workers = 1000
log_level = "loud"
[[listener]]
type = "mqtts"
[limits]
maxinflight = 3
connect_timeout = "10"
[[bridge]]
addresses = ["http://x"]
[[modbus]]
name = "plc1"
url = "tcp://10.0.0.5"
unit_id = 250
)",
                                         "test.toml", {.check_files = false});
    const std::vector<std::string> expected = {
        "test.toml:2:11: error: gateway.workers: 1000 is out of range (expected 0 to 256)",
        "test.toml:3:13: error: gateway.log_level: unknown value \"loud\" (expected one of: \"trace\", \"debug\", "
        "\"info\", \"warn\", \"error\", \"critical\", \"off\")",
        "test.toml:4:1: error: listener[1].cert: missing for an mqtts listener (expected a certificate file)",
        "test.toml:4:1: error: listener[1].key: missing for an mqtts listener (expected a private key file)",
        "test.toml:7:1: error: limits.maxinflight: unknown key (did you mean 'max_inflight'?)",
        "test.toml:8:19: error: limits.connect_timeout: invalid duration \"10\" (expected " + duration_expectation +
            ")",
        "test.toml:9:1: error: bridge[1].name: missing required key (expected a string)",
        "test.toml:9:1: error: bridge[1].topic: missing (expected at least one [[bridge.topic]])",
        "test.toml:10:13: error: bridge[1].addresses: invalid address \"http://x\" (expected mqtt://, mqtts://, "
        "ws:// or wss:// with a host)",
        "test.toml:11:1: error: modbus[1].point: missing (expected at least one [[modbus.point]])",
        "test.toml:14:11: error: modbus[1].unit_id: 250 is out of range (expected 0 to 247, or 255)",
    };
    EXPECT_EQ(error_lines(result), expected);
    EXPECT_TRUE(sorted_by_position(result.errors));
}

TEST(Config, ErrorsCarryFileKeyAndPositionSeparately) {
    const auto result = load_config_text("[limits]\nmax_inflight = 0\n", "/etc/fieldgate/fieldgate.toml",
                                         {.check_files = false});
    ASSERT_EQ(result.errors.size(), 1u);
    const auto& e = result.errors[0];
    EXPECT_EQ(e.file, "/etc/fieldgate/fieldgate.toml");
    EXPECT_EQ(e.position.line, 2u);
    EXPECT_EQ(e.position.column, 16u);
    EXPECT_EQ(e.key, "limits.max_inflight");
    EXPECT_EQ(e.message, "0 is out of range (expected 1 to 65535)");
}

TEST(Config, HttpClashWithADefaultListenerNamesThatListener) {
    const auto result = load_config_text("[http]\nbind = \"0.0.0.0:8080\"\n", "test.toml", {.check_files = false});
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(),
              "test.toml:2:8: error: http.bind: port 8080 is already used by listener[2] (expected a port of its own)");
}

TEST(Config, EmptyFileIsValid) {
    const auto result = load_config_text("", "test.toml", {.check_files = true});
    EXPECT_TRUE(result.ok()) << result.errors.front().to_string();
}

TEST(Config, AzurePresetWithMqtt311IsValid) {
    const auto result = load_config_text(R"([[bridge]]
name = "cloud"
addresses = ["mqtts://myhub.azure-devices.net", "wss://myhub.azure-devices.net/$iothub/websocket"]
protocol = "mqtt311"
preset = "azure-iot-hub"
[bridge.azure]
hub = "myhub.azure-devices.net"
device_id = "d"
device_key_file = "/k"
[[bridge.topic]]
pattern = "sensors/#"
)",
                                         "test.toml", {.check_files = false});
    EXPECT_EQ(error_lines(result), std::vector<std::string>{});
    EXPECT_TRUE(result.ok());
}

TEST(Config, CheckFilesOffSkipsEveryFileCheck) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    for (const auto& c : file_cases()) {
        const auto result = load_config_text(with_dir(c.toml, dir.path()), "test.toml", {.check_files = false});
        EXPECT_EQ(error_lines(result), std::vector<std::string>{}) << c.name;
    }
}

TEST(Config, FilesThatExistAndAreReadableAreAccepted) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    for (const char* name : {"server.crt", "server.key", "passwd", "acl"}) {
        std::ofstream{dir.path() + "/" + name} << "x\n";
    }
    const auto text = with_dir(
        "[[listener]]\ntype = \"mqtts\"\ncert = \"$DIR/server.crt\"\nkey = \"$DIR/server.key\"\n"
        "[auth]\npassword_file = \"$DIR/passwd\"\nacl_file = \"$DIR/acl\"\n",
        dir.path());
    const auto result = load_config_text(text, "test.toml", {.check_files = true});
    EXPECT_EQ(error_lines(result), std::vector<std::string>{});
}

TEST(Config, FileThatExistsButIsUnreadableIsReported) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read a file with mode 000";
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const std::string file = dir.path() + "/passwd";
    std::ofstream{file} << "user:$7$...\n";
    ASSERT_EQ(::chmod(file.c_str(), 0), 0);
    const auto result = load_config_text("[auth]\npassword_file = \"" + file + "\"\n", "test.toml",
                                         {.check_files = true});
    EXPECT_EQ(error_lines(result),
              std::vector<std::string>{"test.toml:2:17: error: auth.password_file: cannot read \"" + file +
                                       "\": Permission denied (expected a readable password file)"});
}

TEST(Config, DirectoryNamedAsCertificateIsReported) {
    // access(R_OK) succeeds on a directory, but a directory is no certificate file.
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const auto text = with_dir(
        "[[listener]]\ntype = \"mqtts\"\ncert = \"$DIR\"\nkey = \"$DIR\"\n", dir.path());
    const auto result = load_config_text(text, "test.toml", {.check_files = true});
    ASSERT_EQ(result.errors.size(), 2u) << testing::PrintToString(error_lines(result));
    EXPECT_EQ(result.errors[0].key, "listener[1].cert");
    EXPECT_EQ(result.errors[1].key, "listener[1].key");
}

TEST(Config, ConfigFileThatIsADirectoryIsReported) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const auto result = load_config_file(dir.path());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].file, dir.path());
    EXPECT_EQ(result.errors[0].position.line, 0u);
    EXPECT_TRUE(result.errors[0].message.starts_with("cannot read the file: ")) << result.errors[0].message;
}

TEST(Config, MissingConfigFileIsReportedWithoutPosition) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const std::string path = dir.path() + "/fieldgate.toml";
    const auto result = load_config_file(path);
    EXPECT_EQ(error_lines(result),
              std::vector<std::string>{path + ": error: cannot read the file: No such file or directory"});
}

TEST(Config, ConfigFileIsReadWithItsPathInErrors) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const std::string path = dir.path() + "/fieldgate.toml";
    std::ofstream{path} << "[limits]\nmax_inflight = 0\n";
    const auto result = load_config_file(path, {.check_files = false});
    EXPECT_EQ(error_lines(result),
              std::vector<std::string>{path + ":2:16: error: limits.max_inflight: 0 is out of range (expected 1 to "
                                              "65535)"});
}

}  // namespace
