// Abuse of the login: 200 failed logins (wrong password, unknown user; MQTT
// 3.1.1 and 5 alternately), 20 at a time from 127.0.0.1, while a legitimate
// client keeps publish -> receive round trips under a second, and a fresh
// legitimate login in the middle of the attack gets in at once. Run against
// Debian's mosquitto (the reference: it answers every refusal at once) and
// fieldgate (which answers refusals after a delay that grows per source
// address, so the attacker slows down and nobody else does). Asserted: every
// attempt is answered, within 8 s, with the refusal code (see refusal_code)
// and then closed; none is left waiting, none gets anything else. Neither
// broker's log holds a password, even at its most verbose level.

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gateway/mqtt/version.hpp"
#include "support/gateway.hpp"
#include "support/mosquitto.hpp"
#include "support/process.hpp"
#include "support/raw_client.hpp"

namespace fieldgate::test {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* legit_password = "Legit-Pa55word-Xy7";
// Every guess starts with this, so the log can be searched for all of them at once.
constexpr const char* guess_prefix = "Brute-Force-Guess-";

constexpr int total_attempts = 200;
constexpr std::size_t concurrency = 20;
constexpr int midpoint = total_attempts / 2;
// An attempt without any answer by then counts as still waiting and is
// closed. fieldgate's refusal delay is capped at 5 s (a few seconds by
// contract), mosquitto answers at once: every attempt must be answered by then.
constexpr Millis attempt_give_up{8000};
// The whole attack; every attempt must have been made and settled by then.
constexpr Millis attack_deadline{100000};
constexpr Millis round_trip_limit{1000};

enum class BrokerKind { mosquitto, fieldgate };

std::string broker_name(const testing::TestParamInfo<BrokerKind>& info) {
    return info.param == BrokerKind::mosquitto ? "mosquitto" : "fieldgate";
}

// CONNACK code each broker gives a wrong password or an unknown user: the
// contract for fieldgate (3.1.1 4 "bad user name or password", v5 0x86); what
// Debian's mosquitto 2.0.11 answers (5 / 0x87 "not authorized").
int refusal_code(BrokerKind broker, ProtocolVersion version) {
    const bool v5 = version == ProtocolVersion::v5;
    if (broker == BrokerKind::fieldgate) return v5 ? 0x86 : 4;
    return v5 ? 0x87 : 5;
}

double millis_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// ---------------------------------------------------------------------------

// A logged-in client subscribed to its own topic, timing publish -> receive.
class LegitClient {
public:
    LegitClient(std::uint16_t port, std::string client_id) : client_(port), topic_("alice/rtt/" + client_id) {
        raw::Connect c;
        c.version = ProtocolVersion::v5;
        c.client_id = std::move(client_id);
        c.username = "alice";
        c.password = legit_password;
        const auto sent = Clock::now();
        client_.send(raw::connect(c));
        const auto connack = client_.read_packet(ProtocolVersion::v5, Millis{5000});
        if (!connack || connack->type() != PacketType::connack) throw std::runtime_error("legit client: no CONNACK");
        connack_code_ = connack->bytes.at(3);
        connect_ms_ = millis_since(sent);
        if (connack_code_ != 0) return;
        client_.send(raw::subscribe(ProtocolVersion::v5, 1, topic_, 0));
        const auto suback = client_.read_packet(ProtocolVersion::v5, Millis{5000});
        if (!suback || suback->type() != PacketType::suback || suback->bytes.back() != 0) {
            throw std::runtime_error("legit client: subscription not granted");
        }
    }

    int connack_code() const { return connack_code_; }
    double connect_ms() const { return connect_ms_; }

    // One publish -> receive; the milliseconds it took, or nullopt when the
    // message did not come back within round_trip_limit.
    std::optional<double> round_trip() {
        const std::string payload = "rtt-" + std::to_string(++sequence_);
        const auto sent = Clock::now();
        if (!client_.send(raw::publish(ProtocolVersion::v5, topic_, payload, 0))) return std::nullopt;
        const auto deadline = sent + round_trip_limit;
        while (Clock::now() < deadline) {
            const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()) + Millis{1};
            const auto packet = client_.read_packet(ProtocolVersion::v5, left);
            if (!packet) return std::nullopt;
            if (packet->type() == PacketType::publish && packet->as<mqtt::Publish>().payload == payload) {
                return millis_since(sent);
            }
        }
        return std::nullopt;
    }

private:
    RawClient client_;
    std::string topic_;
    int connack_code_ = -1;
    double connect_ms_ = 0;
    int sequence_ = 0;
};

// ---------------------------------------------------------------------------

struct AttackResult {
    int made = 0;                        // attempts started
    int refused = 0;                     // the expected CONNACK code, then the connection closed
    int still_waiting = 0;               // no byte at all by attempt_give_up
    std::vector<std::string> wrong;      // anything else, described
    std::vector<double> answer_ms;       // how long each refusal took
    bool finished = false;               // all attempts made and settled before attack_deadline
};

// Runs the attack: at most `concurrency` attempts in flight. After starting
// attempt number `midpoint` it starts no more until `resume` is set (it keeps
// settling the ones in flight meanwhile), so the test can log in between.
class Attack {
public:
    Attack(BrokerKind broker, std::uint16_t port) : broker_(broker), port_(port) {}

    void run() {
        struct Attempt {
            std::unique_ptr<RawClient> client;
            ProtocolVersion version;
            Clock::time_point started;
            Bytes received;
            int index;
        };
        std::vector<Attempt> active;
        const auto deadline = Clock::now() + attack_deadline;
        while (Clock::now() < deadline) {
            const bool paused = result_.made == midpoint && !resume_.load();
            while (!paused && active.size() < concurrency && result_.made < total_attempts) {
                const int i = result_.made++;
                if (result_.made == midpoint) reached_midpoint_.store(true);
                const auto version = i % 2 == 0 ? ProtocolVersion::v3_1_1 : ProtocolVersion::v5;
                raw::Connect c;
                c.version = version;
                c.client_id = "attacker-" + std::to_string(i);
                // alice with a wrong password, or a user that does not exist; each in both versions.
                c.username = i % 4 < 2 ? std::string("alice") : "mallory-" + std::to_string(i);
                c.password = guess_prefix + std::to_string(i);
                try {
                    auto client = std::make_unique<RawClient>(port_);
                    if (!client->send(raw::connect(c))) {
                        result_.wrong.push_back("attempt " + std::to_string(i) + ": CONNECT could not be written");
                        continue;
                    }
                    active.push_back(Attempt{std::move(client), version, Clock::now(), {}, i});
                } catch (const std::exception& e) {
                    result_.wrong.push_back("attempt " + std::to_string(i) + ": " + e.what());
                }
                if (result_.made == midpoint) break;
            }
            if (active.empty() && (result_.made == total_attempts)) {
                result_.finished = true;
                break;
            }
            if (active.empty()) {
                std::this_thread::sleep_for(5ms);  // paused at the midpoint, nothing in flight
                continue;
            }
            std::vector<pollfd> fds;
            for (const auto& a : active) fds.push_back(pollfd{a.client->fd(), POLLIN, 0});
            ::poll(fds.data(), fds.size(), 20);
            for (auto it = active.begin(); it != active.end();) {
                auto& a = *it;
                // Reads until nothing more is there (or the peer closed).
                for (int reads = 0; reads < 4 && !a.client->closed(); ++reads) {
                    const Bytes got = a.client->read_some(Millis{0});
                    if (got.empty()) break;
                    a.received.insert(a.received.end(), got.begin(), got.end());
                }
                const bool gave_up = Clock::now() - a.started >= attempt_give_up;
                if (!a.client->closed() && !gave_up) {
                    ++it;
                    continue;
                }
                settle(a.index, a.version, a.received, a.client->closed(), millis_since(a.started));
                it = active.erase(it);
            }
        }
        done_.store(true);
    }

    bool reached_midpoint() const { return reached_midpoint_.load(); }
    void resume() { resume_.store(true); }
    bool done() const { return done_.load(); }
    // Read only after the thread running run() has been joined.
    const AttackResult& result() const { return result_; }

private:
    void settle(int index, ProtocolVersion version, const Bytes& received, bool closed, double ms) {
        const int code = refusal_code(broker_, version);
        const std::string what = "attempt " + std::to_string(index) + " (MQTT " + std::string(mqtt::to_string(version)) +
                                 "): ";
        if (received.empty()) {
            if (closed) {
                result_.wrong.push_back(what + "closed without a CONNACK");
            } else {
                ++result_.still_waiting;
            }
            return;
        }
        // 20 LEN flags code [v5 properties], and nothing after it.
        const bool whole = received.size() >= 4 && received[0] == 0x20 && received[1] < 0x80 &&
                           received.size() == 2u + received[1];
        if (!whole || received[3] != code || !closed) {
            result_.wrong.push_back(what + "got " + to_hex(received) + (closed ? ", closed" : ", still open") +
                                    "; expected a CONNACK with code " + std::to_string(code) + " and a close");
            return;
        }
        ++result_.refused;
        result_.answer_ms.push_back(ms);
    }

    BrokerKind broker_;
    std::uint16_t port_;
    AttackResult result_;
    std::atomic<bool> reached_midpoint_{false};
    std::atomic<bool> resume_{false};
    std::atomic<bool> done_{false};
};

// ---------------------------------------------------------------------------

class AuthAbuse : public testing::TestWithParam<BrokerKind> {};

INSTANTIATE_TEST_SUITE_P(Brokers, AuthAbuse, testing::Values(BrokerKind::mosquitto, BrokerKind::fieldgate),
                         broker_name);

TEST_P(AuthAbuse, TwoHundredFailedLoginsSlowNobodyElseAndLeaveNoPasswordInTheLog) {
    ASSERT_TRUE(mosquitto_installed()) << "Debian's mosquitto and mosquitto_passwd are needed";
    TempDir files;
    const std::string password_file = files.path() + "/passwd";
    const auto made = run({mosquitto_passwd_binary(), "-b", "-c", password_file, "alice", legit_password});
    ASSERT_EQ(made.exit_code(), 0) << made.out << made.err;

    std::unique_ptr<MosquittoProcess> mosquitto;
    std::unique_ptr<GatewayProcess> gateway;
    std::uint16_t port = 0;
    if (GetParam() == BrokerKind::mosquitto) {
        mosquitto = std::make_unique<MosquittoProcess>(MosquittoOptions{.password_file = password_file});
        port = mosquitto->port();
    } else {
        gateway = std::make_unique<GatewayProcess>(GatewayOptions{
            .workers = 2,
            .extra_toml = "[auth]\npassword_file = \"" + password_file + "\"\n",
            .log_level = "debug"});
        port = gateway->port();
    }
    const auto log = [&]() -> const std::string& { return mosquitto ? mosquitto->log() : gateway->log(); };

    LegitClient steady(port, "steady");
    ASSERT_EQ(steady.connack_code(), 0);
    ASSERT_TRUE(steady.round_trip().has_value()) << "no round trip before the attack";

    Attack attack(GetParam(), port);
    std::thread attacker([&] { attack.run(); });

    std::vector<double> round_trips;
    int slow_round_trips = 0;
    std::optional<int> fresh_code;
    double fresh_connect_ms = 0;
    std::optional<double> fresh_round_trip;
    const auto until = Clock::now() + attack_deadline + Millis{5000};
    while (!attack.done() && Clock::now() < until) {
        if (attack.reached_midpoint() && !fresh_code) {
            // Attempt `midpoint` has been made and up to `concurrency` refusals are in flight.
            LegitClient fresh(port, "fresh");
            fresh_code = fresh.connack_code();
            fresh_connect_ms = fresh.connect_ms();
            if (*fresh_code == 0) fresh_round_trip = fresh.round_trip();
            attack.resume();
        }
        const auto rtt = steady.round_trip();
        if (rtt) {
            round_trips.push_back(*rtt);
        } else {
            ++slow_round_trips;
        }
        std::this_thread::sleep_for(50ms);
    }
    attack.resume();  // in case the loop ended before the midpoint
    attacker.join();
    const AttackResult& r = attack.result();

    // The attack.
    EXPECT_TRUE(r.finished) << "the attack did not finish in " << attack_deadline.count() << " ms";
    EXPECT_EQ(r.made, total_attempts);
    EXPECT_EQ(r.wrong, std::vector<std::string>{}) << "attempts answered otherwise than with the refusal code";
    EXPECT_EQ(r.refused, total_attempts);
    EXPECT_EQ(r.still_waiting, 0) << "attempts without any answer after " << attempt_give_up.count() << " ms";
    const double slowest = r.answer_ms.empty() ? 0 : *std::max_element(r.answer_ms.begin(), r.answer_ms.end());
    const double fastest = r.answer_ms.empty() ? 0 : *std::min_element(r.answer_ms.begin(), r.answer_ms.end());
    std::printf("[ attack   ] %d refused (answers %.0f..%.0f ms), %d still waiting after %lld ms\n", r.refused,
                fastest, slowest, r.still_waiting, static_cast<long long>(attempt_give_up.count()));
    if (GetParam() == BrokerKind::fieldgate) {
        // Refusals from one address are answered later and later (up to a cap of a few seconds).
        EXPECT_GE(slowest, 1000.0) << "refusals were not delayed";
    }

    // Nobody else slowed down.
    EXPECT_EQ(slow_round_trips, 0) << "round trips of the connected client over " << round_trip_limit.count() << " ms";
    EXPECT_FALSE(round_trips.empty());
    const double worst = round_trips.empty() ? 0 : *std::max_element(round_trips.begin(), round_trips.end());
    EXPECT_LT(worst, static_cast<double>(round_trip_limit.count()));
    std::printf("[ legit    ] %zu round trips during the attack, slowest %.1f ms; fresh login %.1f ms\n",
                round_trips.size(), worst, fresh_connect_ms);
    ASSERT_TRUE(fresh_code.has_value()) << "the attack never reached its midpoint";
    EXPECT_EQ(*fresh_code, 0) << "the fresh legitimate login was refused";
    EXPECT_LT(fresh_connect_ms, static_cast<double>(round_trip_limit.count())) << "the fresh login was delayed";
    ASSERT_TRUE(fresh_round_trip.has_value()) << "no round trip on the fresh connection within a second";
    EXPECT_LT(*fresh_round_trip, static_cast<double>(round_trip_limit.count()));
    const auto after = steady.round_trip();
    ASSERT_TRUE(after.has_value()) << "no round trip after the attack";

    // The broker is still up and stops cleanly.
    const ExitStatus status = mosquitto ? mosquitto->stop() : gateway->stop();
    EXPECT_EQ(status, (ExitStatus{true, 0, 0})) << to_string(status) << "; log:\n" << log();

    // No password in the whole log, at the most verbose level (fieldgate:
    // debug; mosquitto: log_type all), which did record the refusals.
    const char* refusal_line = mosquitto ? "disconnected, not authorised" : "login refused";
    EXPECT_NE(log().find(refusal_line), std::string::npos) << "no refusal logged:\n" << log();
    EXPECT_EQ(log().find(guess_prefix), std::string::npos) << "a guessed password in the log:\n" << log();
    EXPECT_EQ(log().find(legit_password), std::string::npos) << "the real password in the log:\n" << log();
}

}  // namespace
}  // namespace fieldgate::test
