#include "gateway/broker/topic_index.hpp"

#include <algorithm>
#include <mutex>

#include "gateway/mqtt/topic.hpp"

namespace fieldgate::broker {
namespace {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The first level of `rest` and what follows it; `last` when no '/' follows.
struct Split {
    std::string_view level;
    std::string_view rest;
    bool last;
};

Split split_level(std::string_view s) {
    const auto slash = s.find('/');
    if (slash == std::string_view::npos) return {s, {}, true};
    return {s.substr(0, slash), s.substr(slash + 1), false};
}

}  // namespace

struct TopicIndex::SharedGroup {
    std::string name;
    std::vector<Subscriber> members;
    // Advanced by readers under the shared lock, hence atomic.
    mutable std::atomic<std::size_t> next{0};
};

struct TopicIndex::Node {
    // Levels of filters, including "+" and "#" as ordinary keys.
    std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
    std::vector<Subscriber> subscribers;  // filters that end at this node
    std::vector<std::unique_ptr<SharedGroup>> shared;

    bool empty() const { return children.empty() && subscribers.empty() && shared.empty(); }

    const Node* child(std::string_view level) const {
        const auto it = children.find(level);
        return it == children.end() ? nullptr : it->second.get();
    }

    void collect(std::vector<Subscriber>& out) const {
        out.insert(out.end(), subscribers.begin(), subscribers.end());
        for (const auto& group : shared) {
            if (group->members.empty()) continue;
            const std::size_t turn = group->next.fetch_add(1, std::memory_order_relaxed);
            out.push_back(group->members[turn % group->members.size()]);
        }
    }

    // Everything below this node that matches the remaining topic levels.
    void match(std::string_view rest, bool at_end, bool first_level, std::vector<Subscriber>& out) const {
        if (at_end) {
            collect(out);
            if (const Node* hash = child("#")) hash->collect(out);  // "a/#" matches "a"
            return;
        }
        const Split s = split_level(rest);
        // Wildcards in the first level do not match topics starting with '$' [MQTT-4.7.2-1].
        if (!(first_level && rest.starts_with('$'))) {
            if (const Node* hash = child("#")) hash->collect(out);
            if (const Node* plus = child("+")) plus->match(s.rest, s.last, false, out);
        }
        if (const Node* exact = child(s.level)) exact->match(s.rest, s.last, false, out);
    }
};

TopicIndex::TopicIndex() : root_(std::make_unique<Node>()) {}
TopicIndex::~TopicIndex() = default;

TopicIndex::Node* TopicIndex::find_or_create(std::string_view filter) {
    Node* node = root_.get();
    while (true) {
        const Split s = split_level(filter);
        auto it = node->children.find(s.level);
        if (it == node->children.end()) it = node->children.emplace(std::string(s.level), std::make_unique<Node>()).first;
        node = it->second.get();
        if (s.last) return node;
        filter = s.rest;
    }
}

bool TopicIndex::subscribe(std::string_view filter, const Subscriber& subscriber) {
    const auto shared = mqtt::parse_shared_subscription(filter);
    const std::unique_lock lock{mutex_};
    Node* node = find_or_create(shared ? shared->filter : filter);
    std::vector<Subscriber>* list = &node->subscribers;
    if (shared) {
        auto group = std::find_if(node->shared.begin(), node->shared.end(),
                                  [&](const auto& g) { return g->name == shared->group; });
        if (group == node->shared.end()) {
            node->shared.push_back(std::make_unique<SharedGroup>());
            node->shared.back()->name = std::string(shared->group);
            group = std::prev(node->shared.end());
        }
        list = &(*group)->members;
    }
    auto existing = std::find_if(list->begin(), list->end(),
                                 [&](const Subscriber& s) { return s.session == subscriber.session; });
    if (existing != list->end()) {
        *existing = subscriber;  // a repeated SUBSCRIBE replaces the options [MQTT-3.8.4-3]
        return false;
    }
    list->push_back(subscriber);
    ++count_;
    return true;
}

bool TopicIndex::unsubscribe(std::string_view filter, SessionId session) {
    const auto shared = mqtt::parse_shared_subscription(filter);
    const std::unique_lock lock{mutex_};
    // Walk down, remembering the path so empty nodes can be pruned bottom-up.
    std::vector<std::pair<Node*, std::string_view>> path;
    Node* node = root_.get();
    std::string_view rest = shared ? shared->filter : filter;
    while (true) {
        const Split s = split_level(rest);
        const auto it = node->children.find(s.level);
        if (it == node->children.end()) return false;
        path.emplace_back(node, s.level);
        node = it->second.get();
        if (s.last) break;
        rest = s.rest;
    }
    auto remove_from = [&](std::vector<Subscriber>& list) {
        const auto before = list.size();
        std::erase_if(list, [&](const Subscriber& s) { return s.session == session; });
        return list.size() != before;
    };
    bool removed = false;
    if (shared) {
        for (auto it = node->shared.begin(); it != node->shared.end(); ++it) {
            if ((*it)->name != shared->group) continue;
            removed = remove_from((*it)->members);
            if ((*it)->members.empty()) node->shared.erase(it);
            break;
        }
    } else {
        removed = remove_from(node->subscribers);
    }
    if (!removed) return false;
    --count_;
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
        auto child = it->first->children.find(it->second);
        if (!child->second->empty()) break;
        it->first->children.erase(child);
    }
    return true;
}

void TopicIndex::remove_session(SessionId session, const std::vector<std::string>& filters) {
    for (const auto& filter : filters) unsubscribe(filter, session);
}

void TopicIndex::match(std::string_view topic, std::vector<Subscriber>& out) const {
    const std::shared_lock lock{mutex_};
    root_->match(topic, false, true, out);
}

std::size_t TopicIndex::subscription_count() const {
    const std::shared_lock lock{mutex_};
    return count_;
}

}  // namespace fieldgate::broker
