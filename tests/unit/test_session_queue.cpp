// SessionQueue: the broker's plain FIFO, and a bridge's queue under a
// QueuePolicy ([bridge.queue]): bounds by count, bytes, age and the QoS 0
// bound with drop_oldest / drop_new, the three drain orders, high-priority
// backlog first, and the drain rate. Pure: no broker, no clock but the
// time points the test passes.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/broker/session_queue.hpp"

using namespace fieldgate::broker;
using fieldgate::mqtt::QoS;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 24h;

// Message ids grow with arrival, as the store hands them out.
Delivery delivery(std::uint64_t id, std::string topic = "data/t", std::string payload = "0123456789",
                  QoS qos = QoS::at_least_once, Clock::time_point received = t0) {
    auto m = std::make_shared<Message>();
    m->id = id;
    m->topic = std::move(topic);
    m->payload = std::move(payload);
    m->qos = qos;
    m->received_at = received;
    return Delivery{1, std::move(m), qos, false, {}};
}

std::shared_ptr<QueuePolicy> policy(QueuePolicy::Drain drain = QueuePolicy::Drain::oldest_first) {
    auto p = std::make_shared<QueuePolicy>();
    p->drain = drain;
    p->max_qos0 = 100;
    return p;
}

std::vector<std::uint64_t> ids(const std::vector<Delivery>& ds) {
    std::vector<std::uint64_t> out;
    for (const auto& d : ds) out.push_back(d.message->id);
    return out;
}

// Takes everything the queue releases at `now`, in order.
std::vector<std::uint64_t> drain(SessionQueue& q, Clock::time_point now = t0) {
    std::vector<std::uint64_t> out;
    for (int guard = 0; guard < 1000 && q.next(now) != nullptr; ++guard) out.push_back(q.take(now).message->id);
    return out;
}

// Queues ids [from, to) as backlog (no connection) or live.
void push_range(SessionQueue& q, std::uint64_t from, std::uint64_t to, bool attached, std::vector<Delivery>& dropped,
                std::string topic = "data/t") {
    for (auto id = from; id < to; ++id) q.push(delivery(id, topic), 1000, attached, dropped);
}

}  // namespace

TEST(SessionQueue, WithoutAPolicyItIsOneFifoThatDropsNewMessagesBeyondTheBrokersLimit) {
    SessionQueue q;
    std::vector<Delivery> dropped;
    for (std::uint64_t id = 1; id <= 5; ++id) q.push(delivery(id), 3, false, dropped);
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{4, 5}));
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(q.bytes(), 3u * (6 + 10));
    EXPECT_FALSE(q.keeps_qos0_offline());
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_EQ(q.drops().full, 0u) << "the broker counts its own drops";
}

TEST(SessionQueue, DropOldestMakesRoomByCountAndCountsEachDrop) {
    SessionQueue q;
    auto p = policy();
    p->max_messages = 3;
    q.set_policy(p);
    std::vector<Delivery> dropped;
    push_range(q, 1, 6, false, dropped);
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(q.drops().full, 2u);
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{3, 4, 5}));
}

TEST(SessionQueue, DropNewKeepsTheOldestAndRefusesTheNewcomer) {
    SessionQueue q;
    auto p = policy();
    p->max_messages = 3;
    p->drop_oldest = false;
    q.set_policy(p);
    std::vector<Delivery> dropped;
    push_range(q, 1, 6, false, dropped);
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{4, 5}));
    EXPECT_EQ(q.drops().full, 2u);
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(SessionQueue, MaxBytesCountsTopicAndPayloadAndAMessageLargerThanItIsDroppedAlone) {
    SessionQueue q;
    auto p = policy();
    p->max_bytes = 40;  // two messages of 16 bytes fit, three do not
    q.set_policy(p);
    std::vector<Delivery> dropped;
    push_range(q, 1, 4, false, dropped);
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(q.bytes(), 32u);
    // 6 + 50 bytes can never fit: it goes, and nothing queued goes for it.
    q.push(delivery(9, "data/t", std::string(50, 'x')), 1000, false, dropped);
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{1, 9}));
    EXPECT_EQ(q.drops().full, 2u);
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{2, 3}));
}

TEST(SessionQueue, MessagesOlderThanMaxAgeLeaveAndAreCountedApart) {
    SessionQueue q;
    auto p = policy();
    p->max_age = 10s;
    q.set_policy(p);
    std::vector<Delivery> dropped;
    q.push(delivery(1, "data/t", "a", QoS::at_least_once, t0 - 11s), 1000, false, dropped);
    q.push(delivery(2, "data/t", "b", QoS::at_least_once, t0 - 9s), 1000, false, dropped);
    q.push(delivery(3, "data/t", "c", QoS::at_least_once, t0), 1000, true, dropped);
    ASSERT_TRUE(dropped.empty());
    EXPECT_EQ(q.oldest(), t0 - 11s);
    q.drop_aged(t0, dropped);
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(q.drops().aged, 1u);
    EXPECT_EQ(q.drops().full, 0u);
    EXPECT_EQ(q.oldest(), t0 - 9s);
    q.drop_aged(t0 + 2s, dropped);
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(drain(q, t0 + 2s), (std::vector<std::uint64_t>{3}));
    EXPECT_FALSE(q.oldest());
}

TEST(SessionQueue, OldestFirstSendsTheWholeBacklogBeforeLiveMessages) {
    SessionQueue q;
    q.set_policy(policy(QueuePolicy::Drain::oldest_first));
    std::vector<Delivery> dropped;
    push_range(q, 1, 4, false, dropped);  // while the uplink was down
    push_range(q, 4, 7, true, dropped);   // since it came back
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(SessionQueue, NewestFirstSendsLiveMessagesWhileTheyComeAndTheBacklogBetween) {
    SessionQueue q;
    q.set_policy(policy(QueuePolicy::Drain::newest_first));
    std::vector<Delivery> dropped;
    push_range(q, 1, 4, false, dropped);
    push_range(q, 4, 6, true, dropped);
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{4, 5, 1, 2, 3}));
}

TEST(SessionQueue, InterleavedTakesBacklogAndLiveInTurnAndEachKeepsItsOrder) {
    SessionQueue q;
    q.set_policy(policy(QueuePolicy::Drain::interleaved));
    std::vector<Delivery> dropped;
    push_range(q, 1, 5, false, dropped);
    push_range(q, 5, 7, true, dropped);
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{1, 5, 2, 6, 3, 4}));
}

TEST(SessionQueue, AReconnectTurnsWhatWaitedIntoBacklog) {
    SessionQueue q;
    q.set_policy(policy(QueuePolicy::Drain::newest_first));
    std::vector<Delivery> dropped;
    push_range(q, 1, 3, true, dropped);  // live, but not sent before the uplink fell
    q.to_backlog();
    push_range(q, 3, 4, true, dropped);
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{3, 1, 2}));
}

TEST(SessionQueue, HighPriorityBacklogDrainsBeforeTheRest) {
    SessionQueue q;
    auto p = policy(QueuePolicy::Drain::oldest_first);
    p->high_priority = [](std::string_view topic) { return topic.starts_with("alarm/"); };
    q.set_policy(p);
    std::vector<Delivery> dropped;
    push_range(q, 1, 3, false, dropped, "data/t");
    push_range(q, 3, 5, false, dropped, "alarm/t");
    push_range(q, 5, 6, false, dropped, "data/t");
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{3, 4, 1, 2, 5}));
}

TEST(SessionQueue, DrainRateHoldsTheBacklogBackButNotLiveMessages) {
    SessionQueue q;
    auto p = policy(QueuePolicy::Drain::interleaved);
    p->drain_rate = 10;  // one backlog message every 100 ms
    q.set_policy(p);
    std::vector<Delivery> dropped;
    push_range(q, 1, 8, false, dropped);
    push_range(q, 10, 13, true, dropped);

    // After a quiet time the backlog may send a burst (100 ms worth) ahead
    // of the rate; live messages are never held back.
    EXPECT_EQ(drain(q, t0), (std::vector<std::uint64_t>{1, 10, 2, 11, 12}));
    ASSERT_TRUE(q.wake_at());
    EXPECT_EQ(*q.wake_at(), t0 + 100ms);
    EXPECT_EQ(q.next(t0 + 99ms), nullptr);
    EXPECT_EQ(drain(q, t0 + 100ms), (std::vector<std::uint64_t>{3}));
    // Late by far more than the burst: a burst's worth goes at once, not the whole backlog.
    EXPECT_EQ(drain(q, t0 + 10s), (std::vector<std::uint64_t>{4, 5}));
    EXPECT_EQ(drain(q, t0 + 10s + 100ms), (std::vector<std::uint64_t>{6}));
    EXPECT_EQ(*q.wake_at(), t0 + 10s + 200ms);
    EXPECT_EQ(drain(q, t0 + 10s + 200ms), (std::vector<std::uint64_t>{7}));
    EXPECT_FALSE(q.wake_at()) << "nothing left to hold back";
}

TEST(SessionQueue, Qos0IsKeptOfflineOnlyUpToItsOwnBound) {
    SessionQueue q;
    auto p = policy();
    p->max_qos0 = 2;
    q.set_policy(p);
    EXPECT_TRUE(q.keeps_qos0_offline());
    std::vector<Delivery> dropped;
    for (std::uint64_t id = 1; id <= 4; ++id) q.push(delivery(id, "data/t", "v", QoS::at_most_once), 1000, false, dropped);
    q.push(delivery(5), 1000, false, dropped);  // QoS 1 still fits
    EXPECT_EQ(ids(dropped), (std::vector<std::uint64_t>{3, 4}));
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{1, 2, 5}));
    // Room again once they left.
    q.push(delivery(6, "data/t", "v", QoS::at_most_once), 1000, false, dropped);
    EXPECT_EQ(q.size(), 1u);
}

TEST(SessionQueue, EraseIfKeepsTheCountsTrue) {
    SessionQueue q;
    q.set_policy(policy(QueuePolicy::Drain::interleaved));
    std::vector<Delivery> dropped;
    push_range(q, 1, 4, false, dropped);
    push_range(q, 4, 7, true, dropped);
    q.erase_if([](const Delivery& d) { return d.message->id % 2 == 0; });
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(q.bytes(), 3u * 16);
    EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{1, 5, 3}));
    q.clear();
    EXPECT_TRUE(q.empty());
}
