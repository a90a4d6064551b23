// The SQLite store on its own (what goes in comes back after a restart, damaged
// files, a full store) and the broker's acknowledgements waiting for it.
#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include <sqlite3.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>

#include "broker_fakes.hpp"
#include "gateway/broker/sqlite_store.hpp"

using namespace fieldgate::broker;
using namespace fieldgate::mqtt;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Runs tasks at once on whichever thread posts them (the persistence thread).
class InlineExecutor final : public Executor {
public:
    std::size_t worker_count() const override { return 1; }
    void post(std::size_t, Task task) override { task(); }
    std::unique_ptr<Timer> run_after(std::size_t, std::chrono::milliseconds, Task) override { return nullptr; }
    std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
};

using fieldgate::unit::TempDir;

MessagePtr message(std::uint64_t id, std::string topic, std::string payload, QoS qos = QoS::at_least_once) {
    auto m = std::make_shared<Message>();
    m->id = id;
    m->topic = std::move(topic);
    m->payload = std::move(payload);
    m->qos = qos;
    auto props = std::make_shared<Message::Properties>();
    props->content_type = "text/plain";
    props->user_properties.emplace_back("line", "3");
    m->properties = std::move(props);
    return m;
}

// Submits and waits for the commit; returns whether it was stored.
bool submit_and_wait(SqliteStore& store, std::vector<store::Op> ops) {
    std::promise<bool> stored;
    store.submit(std::move(ops), 0, [&](bool ok) { stored.set_value(ok); });
    return stored.get_future().get();
}

std::int64_t count_rows(const std::string& db, const std::string& table) {
    sqlite3* handle = nullptr;
    sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(handle, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &stmt, nullptr);
    std::int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(handle);
    return n;
}

// Whether `text` is anywhere in the file's bytes (free pages and WAL frames included).
bool file_contains(const std::string& path, const std::string& text) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return bytes.find(text) != std::string::npos;
}

}  // namespace

TEST(Persistence, EverythingStoredComesBackAfterARestart) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    {
        SqliteStore store{{path}, executor};
        store.load();
        store.start();
        SubscriptionOptions options;
        options.qos = QoS::exactly_once;
        options.no_local = true;
        const auto a = message(store.next_message_id(), "a/1", "first");
        const auto b = message(store.next_message_id(), "a/2", "second", QoS::exactly_once);
        const auto r = message(store.next_message_id(), "state", "on", QoS::at_most_once);
        std::vector<store::Op> ops;
        ops.push_back(store::PutSession{7, "dev7", 3600});
        ops.push_back(store::PutSubscription{7, "a/#", options, 42});
        ops.push_back(store::PutMessage{a, {{7, QoS::at_least_once, false, {42}}}});
        ops.push_back(store::PutMessage{b, {{7, QoS::exactly_once, false, {42}}}});
        ops.push_back(store::MessageSent{7, b->id, 9, true});
        ops.push_back(store::PutInboundQos2{7, 300});
        ops.push_back(store::PutRetained{r});
        ASSERT_TRUE(submit_and_wait(store, std::move(ops)));
    }
    SqliteStore store{{path}, executor};
    const auto state = store.load();
    ASSERT_EQ(state.sessions.size(), 1u);
    const auto& s = state.sessions[0];
    EXPECT_EQ(s.session, 7u);
    EXPECT_EQ(s.client_id, "dev7");
    EXPECT_EQ(s.expiry_interval, 3600u);
    ASSERT_EQ(s.subscriptions.size(), 1u);
    EXPECT_EQ(s.subscriptions[0].filter, "a/#");
    EXPECT_EQ(s.subscriptions[0].options.qos, QoS::exactly_once);
    EXPECT_TRUE(s.subscriptions[0].options.no_local);
    EXPECT_EQ(s.subscriptions[0].subscription_id, 42u);
    ASSERT_EQ(s.messages.size(), 2u);
    EXPECT_EQ(s.messages[0].message->payload, "first");
    EXPECT_EQ(s.messages[0].packet_id, 0);  // still queued
    ASSERT_TRUE(s.messages[0].message->properties);
    EXPECT_EQ(s.messages[0].message->properties->content_type, "text/plain");
    ASSERT_EQ(s.messages[0].message->properties->user_properties.size(), 1u);
    EXPECT_EQ(s.messages[0].subscription_ids, std::vector<std::uint32_t>{42});
    EXPECT_EQ(s.messages[1].packet_id, 9);
    EXPECT_TRUE(s.messages[1].released);
    EXPECT_EQ(s.inbound_qos2, std::vector<std::uint16_t>{300});
    ASSERT_EQ(state.retained.size(), 1u);
    EXPECT_EQ(state.retained[0]->payload, "on");
    EXPECT_GE(state.next_session, 8u);
    EXPECT_GT(store.next_message_id(), s.messages[1].message->id);
}

TEST(Persistence, MessageStoredOnceForManySessionsAndCollectedWhenDone) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    SqliteStore store{{path}, executor};
    store.load();
    store.start();
    const auto m = message(store.next_message_id(), "t", std::string(100, 'x'));
    std::vector<store::Op> ops;
    for (SessionId id = 1; id <= 3; ++id) ops.push_back(store::PutSession{id, "c" + std::to_string(id), 60});
    ops.push_back(store::PutMessage{m, {{1, QoS::at_least_once, false, {}}, {2, QoS::at_least_once, false, {}},
                                        {3, QoS::at_least_once, false, {}}}});
    ASSERT_TRUE(submit_and_wait(store, std::move(ops)));
    EXPECT_EQ(count_rows(path, "messages"), 1);
    EXPECT_EQ(count_rows(path, "session_messages"), 3);
    ASSERT_TRUE(submit_and_wait(store, {store::MessageDone{1, m->id}, store::MessageDone{2, m->id}}));
    EXPECT_EQ(count_rows(path, "messages"), 1);
    ASSERT_TRUE(submit_and_wait(store, {store::DeleteSession{3}}));
    EXPECT_EQ(count_rows(path, "messages"), 0);
    EXPECT_EQ(count_rows(path, "session_messages"), 0);
}

// Batches queued before start() go in one transaction: a copy put by one and
// acknowledged (MessageDone) by a later one is never written, not even into
// the WAL; the batches' acknowledgements still come after the commit, and the
// copies not yet done are stored as ever.
TEST(Persistence, CopyDoneBeforeItsCommitIsNeverWrittenAndTheRestAre) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    std::uint64_t kept_id = 0;
    {
        SqliteStore store{{path}, executor};
        store.load();
        const auto acked = message(store.next_message_id(), "t", "acked-before-its-commit");
        const auto shared = message(store.next_message_id(), "t", "done-by-one-of-two");
        const auto kept = message(store.next_message_id(), "t", "still-queued");
        kept_id = kept->id;
        std::promise<bool> put;
        std::promise<bool> done;
        store.submit({store::PutSession{1, "one", 60}, store::PutSession{2, "two", 60},
                      store::PutMessage{acked, {{1, QoS::at_least_once, false, {}}}},
                      store::PutMessage{shared, {{1, QoS::at_least_once, false, {}}, {2, QoS::at_least_once, false, {}}}},
                      store::PutMessage{kept, {{1, QoS::at_least_once, false, {}}}}},
                     0, [&](bool ok) { put.set_value(ok); });
        store.submit({store::MessageSent{1, acked->id, 1, false}, store::MessageDone{1, acked->id},
                      store::MessageSent{1, shared->id, 2, false}, store::MessageDone{1, shared->id},
                      store::MessageSent{1, kept->id, 3, false}},
                     0, [&](bool ok) { done.set_value(ok); });
        store.start();
        EXPECT_TRUE(put.get_future().get());
        EXPECT_TRUE(done.get_future().get());
        EXPECT_EQ(store.unwritten_copies(), 2u);  // acked, and shared's copy for session 1
        EXPECT_EQ(count_rows(path, "messages"), 2);
        EXPECT_EQ(count_rows(path, "session_messages"), 2);
        for (const auto& file : {path, path + "-wal"}) {
            EXPECT_FALSE(file_contains(file, "acked-before-its-commit")) << file;
        }
        EXPECT_TRUE(file_contains(path + "-wal", "still-queued"));  // the search finds what is there
    }
    SqliteStore store{{path}, executor};
    const auto state = store.load();
    ASSERT_EQ(state.sessions.size(), 2u);
    ASSERT_EQ(state.sessions[0].messages.size(), 1u);
    EXPECT_EQ(state.sessions[0].messages[0].message->id, kept_id);
    EXPECT_EQ(state.sessions[0].messages[0].packet_id, 3);
    ASSERT_EQ(state.sessions[1].messages.size(), 1u);
    EXPECT_EQ(state.sessions[1].messages[0].message->payload, "done-by-one-of-two");
    EXPECT_EQ(state.sessions[1].messages[0].packet_id, 0);
}

// sync: a commit that would store a copy not yet done waits (up to
// group_delay) for its subscriber's acknowledgement and goes as soon as it
// comes; a commit with nothing open goes at once; a copy never done is
// stored once group_delay has passed.
TEST(Persistence, CommitWaitsForOpenCopiesUpToTheGroupDelay) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    SqliteStore::Options options{path};
    options.group_delay = 30s;
    auto store = std::make_unique<SqliteStore>(options, executor);
    store->load();
    store->start();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(submit_and_wait(*store, {store::PutSession{1, "one", 60}}));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "nothing open, yet the commit waited";

    const auto m = message(store->next_message_id(), "t", "acked-while-the-commit-waits");
    std::promise<bool> put;
    store->submit({store::PutMessage{m, {{1, QoS::at_least_once, false, {}}}}}, 0, [&](bool ok) { put.set_value(ok); });
    auto stored = put.get_future();
    EXPECT_EQ(stored.wait_for(200ms), std::future_status::timeout) << "committed while its copy was open";
    const auto t1 = std::chrono::steady_clock::now();
    store->submit({store::MessageSent{1, m->id, 1, false}, store::MessageDone{1, m->id}}, 0, nullptr);
    ASSERT_EQ(stored.wait_for(5s), std::future_status::ready) << "the done did not end the wait";
    EXPECT_TRUE(stored.get());
    EXPECT_LT(std::chrono::steady_clock::now() - t1, 5s);
    EXPECT_EQ(store->unwritten_copies(), 1u);
    store.reset();
    EXPECT_EQ(count_rows(path, "messages"), 0);

    options.group_delay = 100ms;
    SqliteStore short_wait{options, executor};
    short_wait.load();
    short_wait.start();
    const auto never = message(short_wait.next_message_id(), "t", "never-acknowledged");
    EXPECT_TRUE(submit_and_wait(short_wait, {store::PutMessage{never, {{1, QoS::at_least_once, false, {}}}}}));
    EXPECT_EQ(count_rows(path, "session_messages"), 1);
    EXPECT_EQ(short_wait.unwritten_copies(), 0u);
}

// Done in a later commit than its put: deleted as before; and a done that
// comes before the put in one transaction (never sent so) cancels nothing.
TEST(Persistence, CopyDoneAfterItsCommitIsDeletedAndADoneBeforeItsPutCancelsNothing) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    SqliteStore store{{path}, executor};
    store.load();
    store.start();
    const auto m = message(store.next_message_id(), "t", "first");
    ASSERT_TRUE(submit_and_wait(store, {store::PutSession{1, "one", 60}, store::PutMessage{m, {{1, QoS::at_least_once, false, {}}}}}));
    EXPECT_EQ(count_rows(path, "session_messages"), 1);
    ASSERT_TRUE(submit_and_wait(store, {store::MessageDone{1, m->id}}));
    EXPECT_EQ(count_rows(path, "session_messages"), 0);
    EXPECT_EQ(count_rows(path, "messages"), 0);
    const auto n = message(store.next_message_id(), "t", "second");
    ASSERT_TRUE(submit_and_wait(store, {store::MessageDone{1, n->id}, store::PutMessage{n, {{1, QoS::at_least_once, false, {}}}}}));
    EXPECT_EQ(count_rows(path, "session_messages"), 1);
    EXPECT_EQ(store.unwritten_copies(), 0u);
}

// A retained message that also had a persistent subscriber who acknowledged it
// before the commit: the retained copy is stored all the same.
TEST(Persistence, RetainedMessageIsStoredEvenWhenItsSessionCopyIsDoneBeforeTheCommit) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    {
        SqliteStore store{{path}, executor};
        store.load();
        auto retained = std::make_shared<Message>(*message(store.next_message_id(), "state", "on"));
        retained->retain = true;
        const MessagePtr r = retained;
        store.submit({store::PutSession{1, "one", 60}, store::PutRetained{r},
                      store::PutMessage{r, {{1, QoS::at_least_once, true, {}}}}, store::MessageDone{1, r->id}},
                     0, nullptr);
        store.start();
        store.stop();
        EXPECT_EQ(store.unwritten_copies(), 1u);
    }
    SqliteStore store{{path}, executor};
    const auto state = store.load();
    ASSERT_EQ(state.retained.size(), 1u);
    EXPECT_EQ(state.retained[0]->payload, "on");
    ASSERT_EQ(state.sessions.size(), 1u);
    EXPECT_TRUE(state.sessions[0].messages.empty());
}

TEST(Persistence, SessionThatExpiredWhileDownIsDroppedOnLoad) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    {
        SqliteStore store{{path}, executor};
        store.load();
        store.start();
        const auto long_ago = std::chrono::system_clock::now() - 1h;
        ASSERT_TRUE(submit_and_wait(store, {store::PutSession{1, "short", 60}, store::SessionDisconnected{1, long_ago},
                                            store::PutSession{2, "long", 7200}, store::SessionDisconnected{2, long_ago},
                                            store::PutSession{3, "never", 0xFFFFFFFF},
                                            store::SessionDisconnected{3, long_ago}}));
    }
    SqliteStore store{{path}, executor};
    const auto state = store.load();
    std::vector<std::string> ids;
    for (const auto& s : state.sessions) ids.push_back(s.client_id);
    EXPECT_EQ(ids, (std::vector<std::string>{"long", "never"}));
    EXPECT_EQ(count_rows(path, "sessions"), 2);
}

TEST(Persistence, DamagedDatabaseIsMovedAsideAndAFreshOneStarted) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    {
        std::ofstream garbage{path, std::ios::binary};
        garbage << std::string(8192, '\x5a');
    }
    SqliteStore store{{path}, executor};
    ASSERT_FALSE(store.recovered_from().empty());
    EXPECT_TRUE(fs::exists(store.recovered_from()));
    EXPECT_EQ(fs::file_size(store.recovered_from()), 8192u);
    EXPECT_TRUE(store.load().sessions.empty());
    store.start();
    EXPECT_TRUE(submit_and_wait(store, {store::PutSession{1, "dev", 60}}));
}

TEST(Persistence, FullStoreRefusesAndRecoversWhenSpaceReturns) {
    TempDir dir;
    InlineExecutor executor;
    const auto path = dir.file("fieldgate.db");
    SqliteStore::Options options{path};
    options.max_size = 256 * 1024;
    SqliteStore store{options, executor};
    store.load();
    store.start();
    ASSERT_TRUE(submit_and_wait(store, {store::PutSession{1, "dev", 60}}));
    std::vector<std::uint64_t> stored;
    bool refused = false;
    for (int i = 0; i < 100 && !refused; ++i) {
        const auto m = message(store.next_message_id(), "big", std::string(16 * 1024, 'y'));
        if (submit_and_wait(store, {store::PutMessage{m, {{1, QoS::at_least_once, false, {}}}}})) {
            stored.push_back(m->id);
        } else {
            refused = true;
        }
    }
    ASSERT_TRUE(refused) << "256 KiB never filled";
    EXPECT_TRUE(store.full());
    std::vector<store::Op> done;
    for (auto id : stored) done.push_back(store::MessageDone{1, id});
    ASSERT_TRUE(submit_and_wait(store, std::move(done)));
    EXPECT_EQ(count_rows(path, "messages"), 0);
    EXPECT_EQ(count_rows(path, "session_messages"), 0);
    const auto m = message(store.next_message_id(), "big", std::string(16 * 1024, 'z'));
    EXPECT_TRUE(submit_and_wait(store, {store::PutMessage{m, {{1, QoS::at_least_once, false, {}}}}}));
    EXPECT_FALSE(store.full());
}

namespace {

// A store that holds every `done` until the test releases it.
class HoldingStore final : public Store {
public:
    explicit HoldingStore(Executor& executor) : executor_(executor) {}
    bool acknowledgements_wait() const override { return true; }
    void submit(std::vector<store::Op> ops, std::size_t worker, Done done) override {
        submitted.insert(submitted.end(), ops.begin(), ops.end());
        if (done) held.push_back({worker, std::move(done)});
    }
    std::uint64_t next_message_id() override { return next_++; }
    void release_all(bool ok) {
        auto pending = std::move(held);
        held.clear();
        for (auto& entry : pending) {  // not a structured binding: clang 14 cannot capture those
            executor_.post(entry.first, [done = entry.second, ok] { done(ok); });
        }
    }

    std::vector<store::Op> submitted;
    std::vector<std::pair<std::size_t, Done>> held;

private:
    Executor& executor_;
    std::uint64_t next_ = 1;
};

class Durable : public ::testing::Test {
protected:
    Durable() : store(executor), broker(BrokerLimits{}, executor, store) {}

    std::shared_ptr<fieldgate::broker::testing::FakePort> connect(std::string_view id, ProtocolVersion v, bool persistent) {
        Connect c;
        c.version = v;
        c.client_id = id;
        c.clean_start = !persistent;
        if (persistent && is_v5(v)) c.properties.session_expiry_interval = 3600;
        auto port = std::make_shared<fieldgate::broker::testing::FakePort>(v);
        broker.connect(port, 0, fieldgate::broker::testing::bytes_of(c, v));
        executor.run();
        port->take();
        return port;
    }
    void send(fieldgate::broker::testing::FakePort& port, const Packet& p) {
        port.session()->handle(p);
        executor.run();
    }

    fieldgate::broker::testing::FakeExecutor executor;
    HoldingStore store;
    Broker broker;
};

Publish qos1(std::string_view topic, std::uint16_t id) {
    Publish p;
    p.topic = topic;
    p.payload = "x";
    p.qos = QoS::at_least_once;
    p.packet_id = id;
    return p;
}

}  // namespace

TEST_F(Durable, PubackWaitsUntilTheMessageForAPersistentSubscriberIsStored) {
    auto sub = connect("sub", ProtocolVersion::v5, true);
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({"d", {QoS::at_least_once}});
    send(*sub, s);
    EXPECT_TRUE(sub->take().empty()) << "SUBACK before the subscription is stored";
    store.release_all(true);
    executor.run();
    EXPECT_TRUE(std::holds_alternative<Suback>(sub->take().at(0)));

    auto pub = connect("pub", ProtocolVersion::v5, false);
    send(*pub, qos1("d", 5));
    send(*pub, qos1("nobody/listens", 6));  // needs nothing stored, but must not overtake
    EXPECT_TRUE(pub->take().empty());
    bool message_stored = false;
    for (const auto& op : store.submitted) message_stored |= std::holds_alternative<store::PutMessage>(op);
    EXPECT_TRUE(message_stored);
    store.release_all(true);
    executor.run();
    auto acks = pub->take();
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(std::get<Puback>(acks[0]).packet_id, 5);  // in the order the PUBLISHes came [MQTT-4.6.0-2]
    EXPECT_EQ(std::get<Puback>(acks[1]).packet_id, 6);
}

TEST_F(Durable, FailedStoreGivesQuotaExceededInMqtt5AndClosesIn311) {
    auto sub = connect("sub", ProtocolVersion::v5, true);
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({"d", {QoS::at_least_once}});
    send(*sub, s);
    store.release_all(true);
    executor.run();

    auto v5 = connect("pub5", ProtocolVersion::v5, false);
    send(*v5, qos1("d", 1));
    store.release_all(false);
    executor.run();
    EXPECT_EQ(std::get<Puback>(v5->take().at(0)).reason_code, ReasonCode::quota_exceeded);

    auto v311 = connect("pub311", ProtocolVersion::v3_1_1, false);
    send(*v311, qos1("d", 2));
    store.release_all(false);
    executor.run();
    EXPECT_TRUE(v311->take().empty());
    EXPECT_TRUE(v311->closed());
}

TEST_F(Durable, RestoredSessionResendsInFlightWithDupAndQueuedAfterIt) {
    store::LoadedState state;
    store::LoadedSession s;
    s.session = 5;
    s.client_id = "dev";
    s.expiry_interval = 3600;
    s.subscriptions.push_back({5, "d/#", SubscriptionOptions{QoS::at_least_once}, 0});
    s.messages.push_back({message(1, "d/1", "in flight"), QoS::at_least_once, false, {}, 17, false});
    s.messages.push_back({message(2, "d/2", "queued"), QoS::at_least_once, false, {}, 0, false});
    s.inbound_qos2 = {99};
    state.sessions.push_back(s);
    state.next_session = 6;
    broker.restore(state);

    Connect c;
    c.version = ProtocolVersion::v5;
    c.client_id = "dev";
    c.clean_start = false;
    c.properties.session_expiry_interval = 3600;
    auto port = std::make_shared<fieldgate::broker::testing::FakePort>(ProtocolVersion::v5);
    broker.connect(port, 0, fieldgate::broker::testing::bytes_of(c, ProtocolVersion::v5));
    executor.run();
    auto packets = port->take();
    ASSERT_EQ(packets.size(), 3u);
    EXPECT_TRUE(std::get<Connack>(packets[0]).session_present);
    const auto& again = std::get<Publish>(packets[1]);
    EXPECT_TRUE(again.dup);
    EXPECT_EQ(again.packet_id, 17);
    EXPECT_EQ(std::get<Publish>(packets[2]).payload, "queued");
    EXPECT_NE(std::get<Publish>(packets[2]).packet_id, 17);

    // The QoS 2 packet id awaiting PUBREL survived: a resend is not routed again.
    Publish resent;
    resent.topic = "d/x";
    resent.qos = QoS::exactly_once;
    resent.packet_id = 99;
    resent.dup = true;
    send(*port, resent);
    auto answer = port->take();
    ASSERT_EQ(answer.size(), 1u);
    EXPECT_EQ(std::get<Pubrec>(answer[0]).packet_id, 99);
}

TEST_F(Durable, Qos2WaitingForItsPacketIdHoldsBackLaterMessagesSoOrderHolds) {
    auto sub = connect("sub", ProtocolVersion::v5, true);
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({"d", {QoS::exactly_once}});
    send(*sub, s);
    store.release_all(true);
    executor.run();
    sub->take();

    auto pub = connect("pub", ProtocolVersion::v5, false);
    Publish first = qos1("d", 1);
    first.qos = QoS::exactly_once;
    first.payload = "first";
    send(*pub, first);
    Publish second = qos1("d", 2);
    second.payload = "second";
    send(*pub, second);
    Publish third;
    third.topic = "d";
    third.payload = "third";
    send(*pub, third);
    EXPECT_TRUE(sub->take().empty()) << "sent before the QoS 2 packet id was stored";
    store.release_all(true);
    executor.run();
    std::vector<std::string> order;
    for (const auto& p : sub->take()) {
        if (const auto* publish = std::get_if<Publish>(&p)) order.emplace_back(publish->payload);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "third"}));
}
