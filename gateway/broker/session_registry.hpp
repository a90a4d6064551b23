#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/broker/topic_index.hpp"

namespace fieldgate::broker {

// Which worker owns the session of each client identifier. A session's state
// lives on its owner worker; only the owner hands it to another worker (when
// the client reconnects there), so every decision about one client id is
// taken on one thread at a time. Thread-safe (one mutex, touched on connect,
// disconnect and session end only).
class SessionRegistry {
public:
    struct Entry {
        SessionId id = 0;
        std::size_t owner = 0;
    };

    // The entry for `client_id`, or a new one owned by `worker` (created = true).
    struct Claim {
        Entry entry;
        bool created = false;
    };
    Claim find_or_create(std::string_view client_id, std::size_t worker);

    std::optional<Entry> find(std::string_view client_id) const;
    // The owner of a session by id, for deliveries that reached a worker the
    // session has just left.
    std::optional<std::size_t> owner_of(SessionId id) const;
    void set_owner(std::string_view client_id, SessionId id, std::size_t owner);
    // Removes the entry if it still names session `id`.
    void erase(std::string_view client_id, SessionId id);
    std::size_t size() const;
    // An id for a session that has no client identifier (in-process clients).
    SessionId allocate_id();
    // A session found in the store at start-up, and the ids it already used.
    void restore(std::string_view client_id, SessionId id, std::size_t owner);
    void reserve_ids_below(SessionId next);

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    mutable std::mutex mutex_;  // guards entries_ and next_id_
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
    std::unordered_map<SessionId, std::size_t> owners_;
    SessionId next_id_ = 1;
};

}  // namespace fieldgate::broker
