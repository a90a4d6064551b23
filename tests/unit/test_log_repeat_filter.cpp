// The log's repeat filter: a message repeated within its window is printed once,
// then summarised with a count. Time is passed in, so nothing sleeps.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "gateway/log/repeat_filter.hpp"

using fieldgate::log::RepeatFilter;
using namespace std::chrono_literals;
using testing::IsEmpty;

namespace {

const RepeatFilter::Clock::time_point t0 = RepeatFilter::Clock::time_point{} + 1000h;

// Summaries as "key=count", sorted, for comparison regardless of map order.
std::vector<std::string> summaries(const std::vector<RepeatFilter::Summary>& list) {
    std::vector<std::string> out;
    for (const auto& s : list) out.push_back(s.key + "=" + std::to_string(s.repeats));
    std::sort(out.begin(), out.end());
    return out;
}

TEST(LogRepeatFilter, FirstMessageIsAdmitted) {
    RepeatFilter filter{60s};
    EXPECT_TRUE(filter.admit("modbus plc1 timed out", t0));
}

TEST(LogRepeatFilter, RepeatsWithinTheWindowAreHeldBack) {
    RepeatFilter filter{60s};
    ASSERT_TRUE(filter.admit("modbus plc1 timed out", t0));
    EXPECT_FALSE(filter.admit("modbus plc1 timed out", t0));
    EXPECT_FALSE(filter.admit("modbus plc1 timed out", t0 + 1s));
    EXPECT_FALSE(filter.admit("modbus plc1 timed out", t0 + 60s - 1ns));
}

TEST(LogRepeatFilter, MessageIsAdmittedAgainOnceTheWindowHasPassed) {
    RepeatFilter filter{60s};
    ASSERT_TRUE(filter.admit("k", t0));
    ASSERT_FALSE(filter.admit("k", t0 + 30s));
    EXPECT_TRUE(filter.admit("k", t0 + 60s));
    // The window restarts at the new print.
    EXPECT_FALSE(filter.admit("k", t0 + 119s));
    EXPECT_TRUE(filter.admit("k", t0 + 120s));
}

TEST(LogRepeatFilter, WindowIsConfigurable) {
    RepeatFilter filter{5s};
    EXPECT_EQ(filter.window(), 5s);
    ASSERT_TRUE(filter.admit("k", t0));
    EXPECT_FALSE(filter.admit("k", t0 + 4s));
    EXPECT_TRUE(filter.admit("k", t0 + 5s));
}

TEST(LogRepeatFilter, DefaultWindowIsOneMinute) {
    EXPECT_EQ(RepeatFilter{}.window(), 60s);
}

TEST(LogRepeatFilter, ExpireReportsHeldBackCountOnceTheWindowEnds) {
    RepeatFilter filter{60s};
    ASSERT_TRUE(filter.admit("k", t0));
    for (int i = 1; i <= 3; ++i) ASSERT_FALSE(filter.admit("k", t0 + std::chrono::seconds{i}));
    EXPECT_THAT(filter.expire(t0 + 59s), IsEmpty());
    EXPECT_EQ(summaries(filter.expire(t0 + 60s)), std::vector<std::string>{"k=3"});
}

TEST(LogRepeatFilter, ExpireResetsTheCountAndForgetsTheKey) {
    RepeatFilter filter{60s};
    ASSERT_TRUE(filter.admit("k", t0));
    ASSERT_FALSE(filter.admit("k", t0 + 1s));
    ASSERT_EQ(summaries(filter.expire(t0 + 60s)), std::vector<std::string>{"k=1"});
    EXPECT_THAT(filter.expire(t0 + 61s), IsEmpty());
    EXPECT_THAT(filter.expire(t0 + 600s), IsEmpty());
    // Counting starts over from the next print.
    EXPECT_TRUE(filter.admit("k", t0 + 61s));
    EXPECT_FALSE(filter.admit("k", t0 + 62s));
    EXPECT_FALSE(filter.admit("k", t0 + 63s));
    EXPECT_EQ(summaries(filter.expire(t0 + 121s)), std::vector<std::string>{"k=2"});
}

TEST(LogRepeatFilter, ExpireSkipsKeysThatWereNotRepeated) {
    RepeatFilter filter{60s};
    ASSERT_TRUE(filter.admit("once", t0));
    EXPECT_THAT(filter.expire(t0 + 60s), IsEmpty());
    // The key's window was closed, so it prints at once.
    EXPECT_TRUE(filter.admit("once", t0 + 61s));
}

TEST(LogRepeatFilter, DistinctKeysAreCountedIndependently) {
    RepeatFilter filter{60s};
    ASSERT_TRUE(filter.admit("a", t0));
    ASSERT_TRUE(filter.admit("b", t0 + 10s));
    EXPECT_FALSE(filter.admit("a", t0 + 11s));
    EXPECT_FALSE(filter.admit("a", t0 + 12s));
    EXPECT_FALSE(filter.admit("b", t0 + 13s));
    // a's window ends first; b's ten seconds later.
    EXPECT_EQ(summaries(filter.expire(t0 + 60s)), std::vector<std::string>{"a=2"});
    EXPECT_TRUE(filter.admit("a", t0 + 61s));
    EXPECT_FALSE(filter.admit("b", t0 + 61s));
    EXPECT_EQ(summaries(filter.expire(t0 + 70s)), std::vector<std::string>{"b=2"});
}

TEST(LogRepeatFilter, ExpireReportsEveryEndedKey) {
    RepeatFilter filter{60s};
    for (const char* key : {"a", "b", "c"}) {
        ASSERT_TRUE(filter.admit(key, t0));
        ASSERT_FALSE(filter.admit(key, t0 + 1s));
    }
    EXPECT_EQ(summaries(filter.expire(t0 + 60s)), (std::vector<std::string>{"a=1", "b=1", "c=1"}));
}

TEST(LogRepeatFilter, KeysBeyondMaxTrackedAreAlwaysAdmitted) {
    RepeatFilter filter{60s, 2};
    ASSERT_TRUE(filter.admit("a", t0));
    ASSERT_TRUE(filter.admit("b", t0));
    // The table is full: a third key is printed every time, and never counted.
    EXPECT_TRUE(filter.admit("c", t0));
    EXPECT_TRUE(filter.admit("c", t0 + 1s));
    EXPECT_TRUE(filter.admit("c", t0 + 2s));
    // Tracked keys are still held back.
    EXPECT_FALSE(filter.admit("a", t0 + 3s));
    EXPECT_FALSE(filter.admit("b", t0 + 3s));
    EXPECT_EQ(summaries(filter.expire(t0 + 60s)), (std::vector<std::string>{"a=1", "b=1"}));
}

TEST(LogRepeatFilter, ExpiredKeysFreeRoomForNewOnes) {
    RepeatFilter filter{60s, 1};
    ASSERT_TRUE(filter.admit("a", t0));
    ASSERT_TRUE(filter.admit("b", t0 + 1s));  // untracked
    ASSERT_TRUE(filter.admit("b", t0 + 2s));
    filter.expire(t0 + 60s);
    ASSERT_TRUE(filter.admit("b", t0 + 61s));  // tracked now
    EXPECT_FALSE(filter.admit("b", t0 + 62s));
}

TEST(LogRepeatFilter, ZeroMaxTrackedAdmitsEverything) {
    RepeatFilter filter{60s, 0};
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(filter.admit("k", t0 + std::chrono::seconds{i}));
    EXPECT_THAT(filter.expire(t0 + 120s), IsEmpty());
}

}  // namespace
