#include "gateway/broker/session_queue.hpp"

#include <algorithm>

namespace fieldgate::broker {
namespace {

// A drain rate is kept on average: a late timer may release this much at once.
constexpr auto drain_burst = std::chrono::milliseconds{100};

std::uint64_t size_of(const Delivery& d) { return d.message->topic.size() + d.message->payload.size(); }

}  // namespace

struct SessionQueue::Shaped {
    std::shared_ptr<const QueuePolicy> policy;
    std::list<Delivery> high;     // backlog of high-priority topics
    std::list<Delivery> backlog;  // the rest of the backlog
    std::uint64_t qos0 = 0;
    Drops drops;
    std::list<Delivery>* chosen = nullptr;  // what next() gave
    bool backlog_turn = true;               // interleaved: whose turn it is
    Clock::time_point next_backlog{};       // drain_rate: when the backlog may send again

    bool is_high(const Delivery& d) const { return policy->high_priority && policy->high_priority(d.message->topic); }
    std::list<Delivery>& backlog_for(const Delivery& d) { return is_high(d) ? high : backlog; }
    std::list<Delivery>* backlog_front() { return !high.empty() ? &high : !backlog.empty() ? &backlog : nullptr; }
};

SessionQueue::SessionQueue() = default;
SessionQueue::~SessionQueue() = default;

void SessionQueue::set_policy(std::shared_ptr<const QueuePolicy> policy) {
    if (!policy) return;
    if (!shaped_) shaped_ = std::make_unique<Shaped>();
    shaped_->policy = std::move(policy);
}

bool SessionQueue::keeps_qos0_offline() const { return shaped_ && shaped_->policy->max_qos0 > 0; }

std::size_t SessionQueue::size() const {
    return live_.size() + (shaped_ ? shaped_->high.size() + shaped_->backlog.size() : 0);
}

SessionQueue::Drops SessionQueue::drops() const { return shaped_ ? shaped_->drops : Drops{}; }

std::array<std::list<Delivery>*, 3> SessionQueue::lists() {
    if (!shaped_) return {&live_, nullptr, nullptr};
    return {&shaped_->high, &shaped_->backlog, &live_};
}

// Each list is in arrival order, so the oldest message is at one of the fronts.
std::list<Delivery>* SessionQueue::oldest_list() {
    std::list<Delivery>* oldest = nullptr;
    for (auto* list : lists()) {
        if (list == nullptr || list->empty()) continue;
        if (!oldest || list->front().message->id < oldest->front().message->id) oldest = list;
    }
    return oldest;
}

std::optional<Clock::time_point> SessionQueue::oldest() const {
    auto* self = const_cast<SessionQueue*>(this);
    const auto* list = self->oldest_list();
    if (!list) return std::nullopt;
    return list->front().message->received_at;
}

void SessionQueue::removed(const Delivery& d) {
    bytes_ -= size_of(d);
    if (shaped_ && d.qos == mqtt::QoS::at_most_once) --shaped_->qos0;
}

void SessionQueue::push(Delivery d, std::uint64_t default_max, bool attached, std::vector<Delivery>& dropped) {
    if (!shaped_) {
        if (live_.size() >= default_max) return dropped.push_back(std::move(d));
        bytes_ += size_of(d);
        live_.push_back(std::move(d));
        return;
    }
    auto& s = *shaped_;
    const auto& p = *s.policy;
    const auto cost = size_of(d);
    const bool qos0 = d.qos == mqtt::QoS::at_most_once;
    const auto fits = [&] { return size() < p.max_messages && (p.max_bytes == 0 || bytes_ + cost <= p.max_bytes); };
    // Room is made by dropping the oldest only where it helps: a QoS 0
    // message over the QoS 0 bound, or one larger than max_bytes, is dropped
    // itself, and no stored message goes for it.
    const bool qos0_full = qos0 && s.qos0 >= p.max_qos0;
    const bool could_fit = p.max_messages > 0 && (p.max_bytes == 0 || cost <= p.max_bytes);
    if (p.drop_oldest && could_fit && !qos0_full) {
        while (!fits()) {
            auto* list = oldest_list();
            ++s.drops.full;
            removed(list->front());
            dropped.push_back(std::move(list->front()));
            list->pop_front();
        }
    }
    if (qos0_full || !fits()) {
        ++s.drops.full;
        return dropped.push_back(std::move(d));
    }
    bytes_ += cost;
    if (qos0) ++s.qos0;
    auto& list = attached ? live_ : s.backlog_for(d);
    list.push_back(std::move(d));
}

void SessionQueue::push_restored(Delivery d) {
    bytes_ += size_of(d);
    auto& list = shaped_ ? shaped_->backlog_for(d) : live_;
    list.push_back(std::move(d));
}

void SessionQueue::to_backlog() {
    if (!shaped_) return;
    auto& s = *shaped_;
    s.chosen = nullptr;
    while (!live_.empty()) {
        auto& list = s.backlog_for(live_.front());
        list.splice(list.end(), live_, live_.begin());
    }
}

void SessionQueue::drop_aged(Clock::time_point now, std::vector<Delivery>& dropped) {
    if (!shaped_ || shaped_->policy->max_age.count() <= 0) return;
    auto& s = *shaped_;
    const auto limit = now - s.policy->max_age;
    for (auto* list : lists()) {
        while (list != nullptr && !list->empty() && list->front().message->received_at < limit) {
            ++s.drops.aged;
            removed(list->front());
            dropped.push_back(std::move(list->front()));
            list->pop_front();
        }
    }
    s.chosen = nullptr;
}

const Delivery* SessionQueue::next(Clock::time_point now) {
    if (!shaped_) return live_.empty() ? nullptr : &live_.front();
    auto& s = *shaped_;
    auto* backlog = s.backlog_front();
    const bool backlog_ready = backlog && (s.policy->drain_rate == 0 || now >= s.next_backlog);
    auto* live = live_.empty() ? nullptr : &live_;
    switch (s.policy->drain) {
        case QueuePolicy::Drain::oldest_first:
            s.chosen = backlog ? (backlog_ready ? backlog : nullptr) : live;
            break;
        case QueuePolicy::Drain::newest_first:
            s.chosen = live ? live : backlog_ready ? backlog : nullptr;
            break;
        case QueuePolicy::Drain::interleaved:
            s.chosen = backlog_ready && (s.backlog_turn || !live) ? backlog : live;
            break;
    }
    return s.chosen ? &s.chosen->front() : nullptr;
}

Delivery SessionQueue::take(Clock::time_point now) {
    if (shaped_ && (!shaped_->chosen || shaped_->chosen->empty())) next(now);
    auto* list = shaped_ ? shaped_->chosen : &live_;
    Delivery d = std::move(list->front());
    list->pop_front();
    removed(d);
    if (!shaped_) return d;
    auto& s = *shaped_;
    s.chosen = nullptr;
    const bool from_backlog = list != &live_;
    s.backlog_turn = !from_backlog;
    if (from_backlog && s.policy->drain_rate > 0) {
        const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds{1}) / s.policy->drain_rate;
        s.next_backlog = std::max(s.next_backlog, now - drain_burst) + period;
    }
    return d;
}

std::optional<Clock::time_point> SessionQueue::wake_at() const {
    if (!shaped_ || shaped_->policy->drain_rate == 0) return std::nullopt;
    if (shaped_->high.empty() && shaped_->backlog.empty()) return std::nullopt;
    return shaped_->next_backlog;
}

void SessionQueue::clear() {
    erase_if([](const Delivery&) { return true; });
}

}  // namespace fieldgate::broker
