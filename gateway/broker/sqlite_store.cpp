#include "gateway/broker/sqlite_store.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "gateway/broker/sqlite.hpp"
#include "gateway/log/log.hpp"
#include "gateway/mqtt/codec.hpp"

namespace fieldgate::broker {
namespace {

using sqlite::Statement;
namespace fs = std::filesystem;

constexpr std::string_view schema = R"sql(
CREATE TABLE IF NOT EXISTS sessions(
  id INTEGER PRIMARY KEY, client_id TEXT UNIQUE NOT NULL, expiry INTEGER NOT NULL, disconnected_at INTEGER);
CREATE TABLE IF NOT EXISTS subscriptions(
  session INTEGER NOT NULL, filter TEXT NOT NULL, options INTEGER NOT NULL, subscription_id INTEGER NOT NULL,
  PRIMARY KEY(session, filter)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY, packet BLOB NOT NULL, expires_at INTEGER, received_at INTEGER);
CREATE TABLE IF NOT EXISTS session_messages(
  session INTEGER NOT NULL, message INTEGER NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
  subscription_ids TEXT NOT NULL, packet_id INTEGER NOT NULL, released INTEGER NOT NULL,
  PRIMARY KEY(session, message)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS session_messages_by_message ON session_messages(message);
CREATE TABLE IF NOT EXISTS inbound_qos2(
  session INTEGER NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY(session, packet_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retained(topic TEXT PRIMARY KEY, message INTEGER NOT NULL);
)sql";

std::int64_t to_unix_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_unix_ms(std::int64_t ms) {
    return std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
}

// A message's times are kept on the steady clock in memory and as
// wall-clock time on disk, so they mean the same after a restart.
std::int64_t on_disk(Clock::time_point t) {
    return to_unix_ms(std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(t - Clock::now()));
}

Clock::time_point from_disk(std::int64_t ms) {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(from_unix_ms(ms) - std::chrono::system_clock::now());
}

// A message on disk is the PUBLISH that carries it (MQTT 5, so every property
// survives), without its expiry, which has a column of its own.
std::string encode_message(const Message& m) {
    static const std::vector<std::uint32_t> none;
    auto publish = to_publish(m, m.qos, m.retain, 1, none, Clock::now());
    publish.properties.message_expiry_interval.reset();
    std::vector<std::uint8_t> bytes;
    mqtt::encode(publish, mqtt::ProtocolVersion::v5, bytes);
    return {bytes.begin(), bytes.end()};
}

// A row of messages: id, packet, expires_at, received_at from column `first` on.
MessagePtr decode_message(const Statement& s, int first) {
    const auto packet = s.text(first + 1);
    const auto* data = reinterpret_cast<const std::uint8_t*>(packet.data());
    auto decoded = mqtt::decode({data, packet.size()}, mqtt::ProtocolVersion::v5);
    if (decoded.status != mqtt::DecodeStatus::packet) return nullptr;
    const auto& publish = std::get<mqtt::Publish>(decoded.packet);
    auto m = std::make_shared<Message>(
        *make_message(publish, publish.topic, 0, Clock::now(), static_cast<std::uint64_t>(s.integer(first))));
    if (!s.is_null(first + 2)) m->expires_at = from_disk(s.integer(first + 2));
    if (!s.is_null(first + 3)) m->received_at = from_disk(s.integer(first + 3));  // null: stored by an older version
    return m;
}

std::uint8_t options_byte(const mqtt::SubscriptionOptions& o) {
    return static_cast<std::uint8_t>(static_cast<unsigned>(o.qos) | (o.no_local ? 0x04u : 0u) |
                                     (o.retain_as_published ? 0x08u : 0u) |
                                     (static_cast<unsigned>(o.retain_handling) << 4));
}

mqtt::SubscriptionOptions options_from(std::int64_t byte) {
    mqtt::SubscriptionOptions o;
    o.qos = static_cast<mqtt::QoS>(byte & 0x03);
    o.no_local = (byte & 0x04) != 0;
    o.retain_as_published = (byte & 0x08) != 0;
    o.retain_handling = static_cast<mqtt::RetainHandling>((byte >> 4) & 0x03);
    return o;
}

std::string ids_text(const std::vector<std::uint32_t>& ids) {
    std::string out;
    for (auto id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
    return out;
}

std::vector<std::uint32_t> ids_from(const std::string& text) {
    std::vector<std::uint32_t> ids;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto comma = text.find(',', start);
        ids.push_back(static_cast<std::uint32_t>(std::stoul(text.substr(start, comma - start))));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return ids;
}

}  // namespace

struct SqliteStore::Statements {
    explicit Statements(sqlite::Database& db)
        : put_session(db, "INSERT OR REPLACE INTO sessions(id, client_id, expiry, disconnected_at) VALUES(?1, ?2, ?3, NULL)"),
          session_disconnected(db, "UPDATE sessions SET disconnected_at = ?2 WHERE id = ?1"),
          delete_session(db, "DELETE FROM sessions WHERE id = ?1"),
          delete_session_subscriptions(db, "DELETE FROM subscriptions WHERE session = ?1"),
          delete_session_messages(db, "DELETE FROM session_messages WHERE session = ?1"),
          delete_session_inbound(db, "DELETE FROM inbound_qos2 WHERE session = ?1"),
          put_subscription(db, "INSERT OR REPLACE INTO subscriptions VALUES(?1, ?2, ?3, ?4)"),
          delete_subscription(db, "DELETE FROM subscriptions WHERE session = ?1 AND filter = ?2"),
          put_message(db, "INSERT OR IGNORE INTO messages(id, packet, expires_at, received_at) VALUES(?1, ?2, ?3, ?4)"),
          put_session_message(db, "INSERT OR REPLACE INTO session_messages VALUES(?1, ?2, ?3, ?4, ?5, 0, 0)"),
          message_sent(db, "UPDATE session_messages SET packet_id = ?3, released = ?4 WHERE session = ?1 AND message = ?2"),
          message_done(db, "DELETE FROM session_messages WHERE session = ?1 AND message = ?2"),
          collect_message(db,
                          "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM session_messages WHERE "
                          "message = ?1) AND NOT EXISTS (SELECT 1 FROM retained WHERE message = ?1)"),
          collect_all(db,
                      "DELETE FROM messages WHERE id NOT IN (SELECT message FROM session_messages) AND id NOT IN "
                      "(SELECT message FROM retained)"),
          put_inbound(db, "INSERT OR IGNORE INTO inbound_qos2 VALUES(?1, ?2)"),
          delete_inbound(db, "DELETE FROM inbound_qos2 WHERE session = ?1 AND packet_id = ?2"),
          retained_of(db, "SELECT message FROM retained WHERE topic = ?1"),
          put_retained(db, "INSERT OR REPLACE INTO retained VALUES(?1, ?2)"),
          delete_retained(db, "DELETE FROM retained WHERE topic = ?1") {}

    Statement put_session, session_disconnected, delete_session, delete_session_subscriptions, delete_session_messages,
        delete_session_inbound, put_subscription, delete_subscription, put_message, put_session_message, message_sent,
        message_done, collect_message, collect_all, put_inbound, delete_inbound, retained_of, put_retained,
        delete_retained;
};

SqliteStore::SqliteStore(Options options, Executor& executor) : options_(std::move(options)), executor_(executor) {
    try {
        open();
    } catch (const sqlite::Error& e) {
        // Damaged or not a database: keep it for inspection, start afresh.
        statements_.reset();
        db_.reset();
        const auto stamp = std::to_string(to_unix_ms(std::chrono::system_clock::now()) / 1000);
        recovered_from_ = options_.path + ".damaged-" + stamp;
        std::error_code ec;
        fs::rename(options_.path, recovered_from_, ec);
        for (const char* suffix : {"-wal", "-shm"}) fs::rename(options_.path + suffix, recovered_from_ + suffix, ec);
        // One line, whatever the integrity check printed, so the journal keeps it whole.
        std::string reason = e.what();
        std::replace(reason.begin(), reason.end(), '\n', ';');
        log::get("persistence")->critical("the state database {} could not be used ({}); it was moved to {} and "
                                          "fieldgate starts with empty state",
                                          options_.path, reason, recovered_from_);
        open();
    }
}

SqliteStore::~SqliteStore() { stop(); }

void SqliteStore::open() {
    db_ = std::make_unique<sqlite::Database>(options_.path);
    if (const auto check = db_->query_text("PRAGMA quick_check"); check != "ok") {
        throw sqlite::Error(11 /* SQLITE_CORRUPT */, "integrity check: " + check);
    }
    db_->exec("PRAGMA journal_mode = WAL");
    // FULL: a commit is on the disk before the acknowledgement goes out (power cuts).
    db_->exec(options_.wait_for_commit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    db_->exec(schema);
    // Databases made before messages had received_at (it feeds a bridge queue's max_age).
    if (db_->query_text("SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'received_at'") == "0") {
        db_->exec("ALTER TABLE messages ADD COLUMN received_at INTEGER");
    }
    if (options_.max_size > 0) {
        const auto page_size = std::stoull(db_->query_text("PRAGMA page_size"));
        db_->exec("PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(options_.max_size / page_size, 1)));
    }
    statements_ = std::make_unique<Statements>(*db_);
}

store::LoadedState SqliteStore::load() {
    store::LoadedState state;
    const auto now = std::chrono::system_clock::now();
    std::vector<SessionId> expired;
    std::map<SessionId, std::size_t> index;
    {
        Statement s{*db_, "SELECT id, client_id, expiry, disconnected_at FROM sessions ORDER BY id"};
        while (s.step()) {
            store::LoadedSession session;
            session.session = static_cast<SessionId>(s.integer(0));
            session.client_id = s.text(1);
            session.expiry_interval = static_cast<std::uint32_t>(s.integer(2));
            if (!s.is_null(3)) session.disconnected_at = from_unix_ms(s.integer(3));
            state.next_session = std::max(state.next_session, session.session + 1);
            const bool never = session.expiry_interval == 0xFFFFFFFFu;
            if (!never && session.disconnected_at &&
                *session.disconnected_at + std::chrono::seconds{session.expiry_interval} <= now) {
                expired.push_back(session.session);  // expired while the gateway was down
                continue;
            }
            index[session.session] = state.sessions.size();
            state.sessions.push_back(std::move(session));
        }
    }
    {
        Statement s{*db_, "SELECT session, filter, options, subscription_id FROM subscriptions"};
        while (s.step()) {
            const auto it = index.find(static_cast<SessionId>(s.integer(0)));
            if (it == index.end()) continue;
            state.sessions[it->second].subscriptions.push_back(
                {it->first, s.text(1), options_from(s.integer(2)), static_cast<std::uint32_t>(s.integer(3))});
        }
    }
    {
        Statement s{*db_,
                    "SELECT sm.session, m.id, m.packet, m.expires_at, m.received_at, sm.qos, sm.retain, "
                    "sm.subscription_ids, sm.packet_id, sm.released FROM session_messages sm "
                    "JOIN messages m ON m.id = sm.message ORDER BY sm.session, m.id"};
        while (s.step()) {
            const auto it = index.find(static_cast<SessionId>(s.integer(0)));
            if (it == index.end()) continue;
            auto message = decode_message(s, 1);
            if (!message || message->expired(Clock::now())) continue;
            state.sessions[it->second].messages.push_back(
                {message, static_cast<mqtt::QoS>(s.integer(5)), s.integer(6) != 0, ids_from(s.text(7)),
                 static_cast<std::uint16_t>(s.integer(8)), s.integer(9) != 0});
        }
    }
    {
        Statement s{*db_, "SELECT session, packet_id FROM inbound_qos2"};
        while (s.step()) {
            const auto it = index.find(static_cast<SessionId>(s.integer(0)));
            if (it != index.end()) {
                state.sessions[it->second].inbound_qos2.push_back(static_cast<std::uint16_t>(s.integer(1)));
            }
        }
    }
    {
        Statement s{*db_,
                    "SELECT m.id, m.packet, m.expires_at, m.received_at FROM retained r JOIN messages m ON m.id = r.message"};
        while (s.step()) {
            auto message = decode_message(s, 0);
            if (message && !message->expired(Clock::now())) state.retained.push_back(std::move(message));
        }
    }
    state.next_message = static_cast<std::uint64_t>(std::stoll("0" + db_->query_text("SELECT MAX(id) FROM messages"))) + 1;
    next_message_.store(state.next_message);

    if (!expired.empty()) {
        std::vector<Batch> cleanup(1);
        for (auto id : expired) cleanup[0].ops.push_back(store::DeleteSession{id});
        commit(cleanup);
    }
    return state;
}

void SqliteStore::start() {
    thread_ = std::thread([this] { run(); });
}

void SqliteStore::stop() {
    {
        const std::lock_guard lock{mutex_};
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void SqliteStore::submit(std::vector<store::Op> ops, std::size_t worker, Done done) {
    if (!options_.wait_for_commit && done) {
        // batched: acknowledged now, committed within commit_interval.
        executor_.post(worker, [done = std::move(done)] { done(true); });
        done = nullptr;
    }
    bool wake = false;
    {
        const std::lock_guard lock{mutex_};
        wake = pending_.empty();
        if (options_.wait_for_commit) {
            for (const auto& op : ops) {
                if (const auto* put = std::get_if<store::PutMessage>(&op)) {
                    for (const auto& t : put->targets) open_.insert(Copy{t.session, put->message->id});
                } else if (const auto* done_op = std::get_if<store::MessageDone>(&op)) {
                    wake = (open_.erase(Copy{done_op->session, done_op->message}) > 0 && open_.empty()) || wake;
                }
            }
        }
        pending_.push_back({std::move(ops), worker, std::move(done)});
    }
    // The thread waits for the first batch, then for the last open copy to be done (run()).
    if (options_.wait_for_commit && wake) wake_.notify_one();
}

void SqliteStore::run() {
    std::vector<Batch> batches;
    while (true) {
        bool stop = false;
        {
            std::unique_lock lock{mutex_};
            if (options_.wait_for_commit) {
                wake_.wait(lock, [&] { return !pending_.empty() || stopping_; });
                // Copies put but not yet done: give their subscribers up to
                // group_delay to acknowledge them, so that they need not be
                // written at all (find_unwritten), and so more go in one commit.
                // A commit with nothing open (a SUBSCRIBE, a message for no
                // one online) goes at once.
                if (!open_.empty() && !stopping_) {
                    wake_.wait_for(lock, options_.group_delay, [&] { return open_.empty() || stopping_; });
                }
            } else {
                wake_.wait_for(lock, options_.commit_interval, [&] { return stopping_; });
            }
            batches.swap(pending_);
            open_.clear();
            stop = stopping_;
        }
        if (!batches.empty()) {
            // Everything queued while the last commit was on disk goes in this one.
            const auto stored = commit(batches);
            for (std::size_t i = 0; i < batches.size(); ++i) {
                if (!batches[i].done) continue;
                executor_.post(batches[i].worker, [done = std::move(batches[i].done), ok = stored[i]] { done(ok); });
            }
            batches.clear();
        }
        if (stop) {
            const std::lock_guard lock{mutex_};
            if (pending_.empty()) return;
        }
    }
}

std::vector<bool> SqliteStore::commit(std::vector<Batch>& batches) {
    std::vector<bool> stored(batches.size(), false);
    if (transaction(batches, 0, batches.size())) {
        stored.assign(batches.size(), true);
    } else if (batches.size() > 1) {
        // One batch did not fit (a full store): the others, mostly deletions that
        // make room, must not be lost with it. Each is tried on its own.
        for (std::size_t i = 0; i < batches.size(); ++i) stored[i] = transaction(batches, i, i + 1);
    }
    if (std::find(stored.begin(), stored.end(), false) == stored.end() && full_.exchange(false)) {
        log::get("persistence")->warn("storing works again");
    }
    return stored;
}

// A session's copy of a message that is put (PutMessage) and done (MessageDone:
// the subscriber acknowledged it, PUBACK or PUBCOMP, or it expired) within
// the one transaction about to be written is not written at all: neither its
// session_messages row, nor the MessageSent update in between, nor the delete,
// nor the messages row when no other copy or retained topic keeps it. Under
// sync this is what mostly happens at steady load: the subscriber's PUBACK
// comes back while the commit before is on its way to the disk.
//
// Why that keeps the guarantee (sync: a QoS 1/2 message that must be stored is
// committed before its PUBACK/PUBREC): the store is there so that an
// acknowledged message reaches its persistent subscribers after a crash. A
// copy that is done needs nothing after a crash: its subscriber has it (and
// for QoS 2 has released it, PUBCOMP). The publisher's acknowledgement still
// waits for this transaction's commit, as its `done` runs only after it, so it
// is never sent before whatever of its batch must be on disk is, and the other
// changes of both batches (other copies, retained, inbound QoS 2 ids, session
// rows) are written as before. A crash before the commit finds the state the
// previous commit left, in which this message was never acknowledged to its
// publisher. Only pairs whose put comes first count (a done without a put in
// this transaction deletes the row an earlier commit wrote, as before), and
// when a transaction fails and its batches are tried one by one, each of those
// finds its own pairs.
void SqliteStore::find_unwritten(const std::vector<Batch>& batches, std::size_t first, std::size_t last) {
    put_.clear();
    skipped_.clear();
    unwritten_in_transaction_ = 0;
    for (std::size_t i = first; i < last; ++i) {
        for (const auto& op : batches[i].ops) {
            if (const auto* put = std::get_if<store::PutMessage>(&op)) {
                for (const auto& t : put->targets) put_.insert(Copy{t.session, put->message->id});
            } else if (const auto* done = std::get_if<store::MessageDone>(&op)) {
                if (put_.erase(Copy{done->session, done->message}) > 0) skipped_.insert(Copy{done->session, done->message});
            } else if (const auto* gone = std::get_if<store::DeleteSession>(&op)) {
                // Its rows are deleted here anyway; a later PutMessage for the id starts afresh.
                std::erase_if(put_, [&](const Copy& c) { return c.session == gone->session; });
            }
        }
    }
}

bool SqliteStore::transaction(std::vector<Batch>& batches, std::size_t first, std::size_t last) {
    find_unwritten(batches, first, last);
    try {
        db_->exec("BEGIN IMMEDIATE");
        try {
            for (std::size_t i = first; i < last; ++i) {
                for (const auto& op : batches[i].ops) apply(op);
            }
            db_->exec("COMMIT");
            unwritten_copies_.fetch_add(unwritten_in_transaction_, std::memory_order_relaxed);
        } catch (...) {
            if (db_->in_transaction()) db_->exec("ROLLBACK");
            throw;
        }
        return true;
    } catch (const sqlite::Error& e) {
        if (e.disk_full()) {
            if (!full_.exchange(true)) {
                log::get("persistence")->error("the state database is full ({}): QoS 1/2 messages for persistent "
                                               "sessions are refused until there is space",
                                               e.what());
            }
        } else {
            log::get("persistence")->error("storing failed: {}", e.what());
        }
        return false;
    }
}

// The message row, once however many sessions and retained topics refer to it.
std::int64_t SqliteStore::put_message(Statements& s, const Message& message) {
    const auto id = static_cast<std::int64_t>(message.id);
    s.put_message.bind(1, id).bind_blob(2, encode_message(message)).bind(4, on_disk(message.received_at));
    if (message.expires_at) {
        s.put_message.bind(3, on_disk(*message.expires_at));
    } else {
        s.put_message.bind_null(3);
    }
    s.put_message.run();
    return id;
}

void SqliteStore::apply(const store::Op& op) {
    auto& s = *statements_;
    std::visit(
        [&](const auto& o) {
            using O = std::decay_t<decltype(o)>;
            const auto sid = [](SessionId id) { return static_cast<std::int64_t>(id); };
            if constexpr (std::is_same_v<O, store::PutSession>) {
                s.put_session.bind(1, sid(o.session)).bind(2, o.client_id).bind(3, std::int64_t{o.expiry_interval}).run();
            } else if constexpr (std::is_same_v<O, store::DeleteSession>) {
                for (auto* st : {&s.delete_session, &s.delete_session_subscriptions, &s.delete_session_messages,
                                 &s.delete_session_inbound}) {
                    st->bind(1, sid(o.session)).run();
                }
                s.collect_all.run();
            } else if constexpr (std::is_same_v<O, store::SessionDisconnected>) {
                s.session_disconnected.bind(1, sid(o.session)).bind(2, to_unix_ms(o.at)).run();
            } else if constexpr (std::is_same_v<O, store::PutSubscription>) {
                s.put_subscription.bind(1, sid(o.session))
                    .bind(2, o.filter)
                    .bind(3, std::int64_t{options_byte(o.options)})
                    .bind(4, std::int64_t{o.subscription_id})
                    .run();
            } else if constexpr (std::is_same_v<O, store::DeleteSubscription>) {
                s.delete_subscription.bind(1, sid(o.session)).bind(2, o.filter).run();
            } else if constexpr (std::is_same_v<O, store::PutMessage>) {
                const bool kept = o.targets.empty() || std::any_of(o.targets.begin(), o.targets.end(), [&](const auto& t) {
                    return !skipped(t.session, o.message->id);
                });
                if (!kept) {
                    unwritten_in_transaction_ += o.targets.size();
                    return;  // every copy done before this commit (find_unwritten)
                }
                const auto id = put_message(s, *o.message);
                for (const auto& t : o.targets) {
                    if (skipped(t.session, o.message->id)) {
                        ++unwritten_in_transaction_;
                        continue;
                    }
                    s.put_session_message.bind(1, sid(t.session))
                        .bind(2, id)
                        .bind(3, std::int64_t{static_cast<int>(t.qos)})
                        .bind(4, std::int64_t{t.retain ? 1 : 0})
                        .bind(5, ids_text(t.subscription_ids))
                        .run();
                }
            } else if constexpr (std::is_same_v<O, store::MessageSent>) {
                if (skipped(o.session, o.message)) return;
                s.message_sent.bind(1, sid(o.session))
                    .bind(2, static_cast<std::int64_t>(o.message))
                    .bind(3, std::int64_t{o.packet_id})
                    .bind(4, std::int64_t{o.released ? 1 : 0})
                    .run();
            } else if constexpr (std::is_same_v<O, store::MessageDone>) {
                if (skipped(o.session, o.message)) return;
                s.message_done.bind(1, sid(o.session)).bind(2, static_cast<std::int64_t>(o.message)).run();
                s.collect_message.bind(1, static_cast<std::int64_t>(o.message)).run();
            } else if constexpr (std::is_same_v<O, store::PutInboundQos2>) {
                s.put_inbound.bind(1, sid(o.session)).bind(2, std::int64_t{o.packet_id}).run();
            } else if constexpr (std::is_same_v<O, store::DeleteInboundQos2>) {
                s.delete_inbound.bind(1, sid(o.session)).bind(2, std::int64_t{o.packet_id}).run();
            } else if constexpr (std::is_same_v<O, store::PutRetained> || std::is_same_v<O, store::DeleteRetained>) {
                std::string topic;
                if constexpr (std::is_same_v<O, store::PutRetained>) {
                    topic = o.message->topic;
                } else {
                    topic = o.topic;
                }
                std::optional<std::int64_t> previous;
                s.retained_of.bind(1, topic);
                if (s.retained_of.step()) previous = s.retained_of.integer(0);
                s.retained_of.reset();
                if constexpr (std::is_same_v<O, store::PutRetained>) {
                    s.put_retained.bind(1, topic).bind(2, put_message(s, *o.message)).run();
                } else {
                    s.delete_retained.bind(1, topic).run();
                }
                if (previous) s.collect_message.bind(1, *previous).run();
            }
        },
        op);
}

}  // namespace fieldgate::broker
