#pragma once

// Shared pieces of the broker scenario suites: the (workers, protocol
// version) parameter, its readable test names, and a fixture that starts a
// gateway per test and checks at the end that SIGTERM stops it with exit 0.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/mqtt/version.hpp"
#include "support/gateway.hpp"
#include "support/paho_client.hpp"
#include "support/raw_client.hpp"

namespace fieldgate::test {

using mqtt::ProtocolVersion;
using namespace std::chrono_literals;

struct BrokerParam {
    int workers = 1;
    ProtocolVersion version = ProtocolVersion::v3_1_1;
};

inline void PrintTo(const BrokerParam& p, std::ostream* os) {
    *os << "workers " << p.workers << ", MQTT " << mqtt::to_string(p.version);
}

inline std::string version_tag(ProtocolVersion v) {
    switch (v) {
        case ProtocolVersion::v3_1: return "v31";
        case ProtocolVersion::v3_1_1: return "v311";
        case ProtocolVersion::v5: return "v5";
    }
    return "v";
}

inline std::string param_name(const testing::TestParamInfo<BrokerParam>& info) {
    return "workers" + std::to_string(info.param.workers) + "_" + version_tag(info.param.version);
}

// For suites where no protocol version applies.
inline std::string workers_name(const testing::TestParamInfo<BrokerParam>& info) {
    return "workers" + std::to_string(info.param.workers);
}

// workers 1 and 2 over the given versions.
inline std::vector<BrokerParam> matrix(std::vector<ProtocolVersion> versions) {
    std::vector<BrokerParam> out;
    for (int workers : {1, 2}) {
        for (auto v : versions) out.push_back({workers, v});
    }
    return out;
}

inline std::vector<ProtocolVersion> all_versions() {
    return {ProtocolVersion::v3_1, ProtocolVersion::v3_1_1, ProtocolVersion::v5};
}

// The end of every scenario: whatever it did, the gateway is still up, and
// SIGTERM stops it with exit 0.
inline void expect_clean_stop(GatewayProcess& gateway) {
    ASSERT_TRUE(gateway.running()) << "the gateway died during the test; log:\n" << gateway.log();
    const ExitStatus status = gateway.stop();
    EXPECT_EQ(status, (ExitStatus{true, 0, 0})) << to_string(status) << "; log:\n" << gateway.log();
}

class BrokerTest : public testing::TestWithParam<BrokerParam> {
protected:
    void start(std::string extra_toml = {}) {
        gateway_ = std::make_unique<GatewayProcess>(GatewayOptions{.workers = GetParam().workers,
                                                                   .extra_toml = std::move(extra_toml)});
    }

    void TearDown() override {
        if (gateway_) expect_clean_stop(*gateway_);
    }

    ProtocolVersion version() const { return GetParam().version; }
    bool v5() const { return GetParam().version == ProtocolVersion::v5; }
    std::uint16_t port() const { return gateway_->port(); }

    // A clean connection in the test's version.
    ConnectOptions clean(std::string client_id) const {
        ConnectOptions o;
        o.version = version();
        o.client_id = std::move(client_id);
        return o;
    }
    // A session that outlives the connection: clean session 0, or in MQTT 5
    // clean start 0 with a session expiry interval.
    ConnectOptions persistent(std::string client_id, std::uint32_t expiry = 300) const {
        ConnectOptions o = clean(std::move(client_id));
        o.clean = false;
        if (v5()) o.properties["session_expiry_interval"] = expiry;
        return o;
    }

    // A subscriber connected cleanly (MQTT 5 unless told) and subscribed.
    std::unique_ptr<PahoClient> subscriber(const std::string& filter, int qos, std::string client_id = "watcher",
                                           ProtocolVersion v = ProtocolVersion::v5) {
        auto client = std::make_unique<PahoClient>(client_id);
        ConnectOptions o;
        o.version = v;
        o.client_id = std::move(client_id);
        client->connect_ok(port(), o);
        const auto codes = client->subscribe(filter, qos);
        if (codes != std::vector<int>{qos}) throw std::runtime_error("subscription to " + filter + " not granted");
        return client;
    }

    std::unique_ptr<PahoClient> publisher(std::string client_id = "pub", ProtocolVersion v = ProtocolVersion::v5) {
        auto client = std::make_unique<PahoClient>(client_id);
        ConnectOptions o;
        o.version = v;
        o.client_id = std::move(client_id);
        client->connect_ok(port(), o);
        return client;
    }

    std::unique_ptr<GatewayProcess> gateway_;
};

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

inline int code(const json::object& event, const char* key = "reason_code") {
    const auto& v = event.at(key);
    return v.is_null() ? -1 : v.to_number<int>();
}

}  // namespace fieldgate::test
