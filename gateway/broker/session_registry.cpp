#include "gateway/broker/session_registry.hpp"

#include <algorithm>

namespace fieldgate::broker {

SessionRegistry::Claim SessionRegistry::find_or_create(std::string_view client_id, std::size_t worker) {
    const std::lock_guard lock{mutex_};
    if (const auto it = entries_.find(client_id); it != entries_.end()) return {it->second, false};
    const Entry entry{next_id_++, worker};
    entries_.emplace(std::string(client_id), entry);
    owners_.emplace(entry.id, worker);
    return {entry, true};
}

std::optional<SessionRegistry::Entry> SessionRegistry::find(std::string_view client_id) const {
    const std::lock_guard lock{mutex_};
    const auto it = entries_.find(client_id);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
}

void SessionRegistry::set_owner(std::string_view client_id, SessionId id, std::size_t owner) {
    const std::lock_guard lock{mutex_};
    const auto it = entries_.find(client_id);
    if (it != entries_.end() && it->second.id == id) {
        it->second.owner = owner;
        owners_[id] = owner;
    }
}

std::optional<std::size_t> SessionRegistry::owner_of(SessionId id) const {
    const std::lock_guard lock{mutex_};
    const auto it = owners_.find(id);
    if (it == owners_.end()) return std::nullopt;
    return it->second;
}

void SessionRegistry::erase(std::string_view client_id, SessionId id) {
    const std::lock_guard lock{mutex_};
    const auto it = entries_.find(client_id);
    if (it != entries_.end() && it->second.id == id) {
        entries_.erase(it);
        owners_.erase(id);
    }
}

void SessionRegistry::restore(std::string_view client_id, SessionId id, std::size_t owner) {
    const std::lock_guard lock{mutex_};
    entries_[std::string(client_id)] = Entry{id, owner};
    owners_[id] = owner;
    next_id_ = std::max(next_id_, id + 1);
}

void SessionRegistry::reserve_ids_below(SessionId next) {
    const std::lock_guard lock{mutex_};
    next_id_ = std::max(next_id_, next);
}

SessionId SessionRegistry::allocate_id() {
    const std::lock_guard lock{mutex_};
    return next_id_++;
}

std::size_t SessionRegistry::size() const {
    const std::lock_guard lock{mutex_};
    return entries_.size();
}

}  // namespace fieldgate::broker
