#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "gateway/broker/topic_index.hpp"
#include "gateway/mqtt/topic.hpp"

using namespace fieldgate::broker;
using fieldgate::mqtt::QoS;

namespace {

Subscriber sub(SessionId session, QoS qos = QoS::at_most_once, std::uint32_t id = 0) {
    Subscriber s;
    s.session = session;
    s.options.qos = qos;
    s.subscription_id = id;
    return s;
}

std::vector<SessionId> sessions_for(const TopicIndex& index, std::string_view topic) {
    std::vector<Subscriber> out;
    index.match(topic, out);
    std::vector<SessionId> ids;
    for (const auto& s : out) ids.push_back(s.session);
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace

TEST(TopicIndex, ExactFilterMatchesOnlyItsTopic) {
    TopicIndex index;
    index.subscribe("a/b", sub(1));
    EXPECT_EQ(sessions_for(index, "a/b"), std::vector<SessionId>{1});
    EXPECT_TRUE(sessions_for(index, "a").empty());
    EXPECT_TRUE(sessions_for(index, "a/b/c").empty());
    EXPECT_TRUE(sessions_for(index, "a/c").empty());
}

// The index must agree with topic_matches() on every pair of these.
TEST(TopicIndex, AgreesWithTopicMatchesOnEveryFilterAndTopic) {
    const std::vector<std::string> filters = {"#", "+", "+/+", "/+", "a", "a/#", "a/+", "a/+/c", "a/b/c", "+/b/#",
                                              "$SYS/#", "$SYS/+", "+/monitor/Clients", "a//c", "a/+/+/#", "/#"};
    const std::vector<std::string> topics = {"a", "a/b", "a/b/c", "a/b/c/d", "/a", "/", "a//c", "b/b/x",
                                             "$SYS/monitor/Clients", "$SYS", "x", "a/", ""};
    TopicIndex index;
    for (std::size_t i = 0; i < filters.size(); ++i) index.subscribe(filters[i], sub(i + 1));
    for (const auto& topic : topics) {
        if (topic.empty()) continue;
        std::vector<SessionId> expected;
        for (std::size_t i = 0; i < filters.size(); ++i) {
            if (fieldgate::mqtt::topic_matches(filters[i], topic)) expected.push_back(i + 1);
        }
        EXPECT_EQ(sessions_for(index, topic), expected) << "topic " << topic;
    }
}

TEST(TopicIndex, RepeatedSubscribeReplacesOptionsAndIsNotNew) {
    TopicIndex index;
    EXPECT_TRUE(index.subscribe("a/+", sub(1, QoS::at_most_once)));
    EXPECT_FALSE(index.subscribe("a/+", sub(1, QoS::exactly_once, 7)));
    std::vector<Subscriber> out;
    index.match("a/x", out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].options.qos, QoS::exactly_once);
    EXPECT_EQ(out[0].subscription_id, 7u);
    EXPECT_EQ(index.subscription_count(), 1u);
}

TEST(TopicIndex, OverlappingFiltersOfOneSessionAreAllReported) {
    TopicIndex index;
    index.subscribe("a/#", sub(1, QoS::at_most_once, 1));
    index.subscribe("a/b", sub(1, QoS::at_least_once, 2));
    std::vector<Subscriber> out;
    index.match("a/b", out);
    EXPECT_EQ(out.size(), 2u);
}

TEST(TopicIndex, UnsubscribeRemovesOnlyThatSessionAndPrunes) {
    TopicIndex index;
    index.subscribe("a/b/c", sub(1));
    index.subscribe("a/b/c", sub(2));
    EXPECT_TRUE(index.unsubscribe("a/b/c", 1));
    EXPECT_FALSE(index.unsubscribe("a/b/c", 1));
    EXPECT_FALSE(index.unsubscribe("a/b", 2));
    EXPECT_EQ(sessions_for(index, "a/b/c"), std::vector<SessionId>{2});
    EXPECT_TRUE(index.unsubscribe("a/b/c", 2));
    EXPECT_EQ(index.subscription_count(), 0u);
    EXPECT_TRUE(sessions_for(index, "a/b/c").empty());
}

TEST(TopicIndex, SharedGroupDeliversToOneMemberRoundRobin) {
    TopicIndex index;
    index.subscribe("$share/g/sensors/+", sub(1));
    index.subscribe("$share/g/sensors/+", sub(2));
    index.subscribe("$share/h/sensors/+", sub(3));
    index.subscribe("sensors/#", sub(4));
    std::vector<int> hits(5, 0);
    for (int i = 0; i < 10; ++i) {
        const auto ids = sessions_for(index, "sensors/t");
        ASSERT_EQ(ids.size(), 3u);  // one of group g, the only member of h, the plain subscriber
        for (auto id : ids) ++hits[id];
    }
    EXPECT_EQ(hits[1], 5);
    EXPECT_EQ(hits[2], 5);
    EXPECT_EQ(hits[3], 10);
    EXPECT_EQ(hits[4], 10);
    EXPECT_TRUE(index.unsubscribe("$share/g/sensors/+", 1));
    EXPECT_EQ(sessions_for(index, "sensors/t"), (std::vector<SessionId>{2, 3, 4}));
}

TEST(TopicIndex, WildcardsAtFirstLevelDoNotMatchDollarTopics) {
    TopicIndex index;
    index.subscribe("#", sub(1));
    index.subscribe("+/broker/uptime", sub(2));
    index.subscribe("$SYS/#", sub(3));
    EXPECT_EQ(sessions_for(index, "$SYS/broker/uptime"), std::vector<SessionId>{3});
}

TEST(TopicIndex, ConcurrentMatchingWhileSubscribingIsSafe) {
    TopicIndex index;
    index.subscribe("plant/#", sub(1));
    std::thread writer([&] {
        for (int i = 0; i < 2000; ++i) {
            const std::string filter = "plant/" + std::to_string(i % 50) + "/+";
            index.subscribe(filter, sub(100 + static_cast<SessionId>(i % 7)));
            index.unsubscribe(filter, 100 + static_cast<SessionId>(i % 7));
        }
    });
    std::vector<Subscriber> out;
    for (int i = 0; i < 2000; ++i) {
        out.clear();
        index.match("plant/3/x", out);
        ASSERT_GE(out.size(), 1u);
    }
    writer.join();
    EXPECT_EQ(index.subscription_count(), 1u);
}
