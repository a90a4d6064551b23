#include "gateway/broker/broker.hpp"

#include <algorithm>
#include <random>

#include "gateway/broker/auth/file_io.hpp"
#include "gateway/broker/local_client.hpp"
#include "gateway/log/log.hpp"
#include "gateway/mqtt/codec.hpp"

namespace fieldgate::broker {
namespace {

using mqtt::ReasonCode;

// Why a CONNECT is refused before any session is touched, or success.
ReasonCode check_client_id(const mqtt::Connect& c) {
    if (c.client_id.empty()) {
        // 3.1 needs an identifier; 3.1.1 accepts none only with a clean session [MQTT-3.1.3-8].
        if (c.version == mqtt::ProtocolVersion::v3_1) return ReasonCode::client_identifier_not_valid;
        if (c.version == mqtt::ProtocolVersion::v3_1_1 && !c.clean_start) return ReasonCode::client_identifier_not_valid;
    }
    if (c.version == mqtt::ProtocolVersion::v3_1 && c.client_id.size() > 23) {
        return ReasonCode::client_identifier_not_valid;  // MQTT 3.1: 1 to 23 characters
    }
    if (c.properties.authentication_method) return ReasonCode::bad_authentication_method;  // [MQTT 5.0, 4.12]
    return ReasonCode::success;
}

auth::LoginRequest login_request(const mqtt::Connect& c, const PeerInfo& peer) {
    auth::LoginRequest r;
    r.username = c.username;
    r.password = c.password;
    r.allow_anonymous = peer.allow_anonymous;
    r.use_cert_cn_as_username = peer.use_cert_cn_as_username;
    if (peer.certificate_cn) r.certificate_cn = *peer.certificate_cn;
    return r;
}

// The sessions of in-process clients: a network client may not take them over.
bool is_reserved_client_id(std::string_view id) { return id.starts_with("bridge:") || id.starts_with("adapter:"); }

}  // namespace

struct Broker::Worker {
    // Owner thread only.
    std::unordered_map<SessionId, std::unique_ptr<Session>> sessions;
    std::vector<Subscriber> matches;  // scratch for publish()
    std::vector<std::pair<std::size_t, Delivery>> routed;  // scratch for publish(): worker, delivery
    std::vector<Delivery> draining;

    // In-process clients; registered from any thread, hence the lock.
    std::mutex locals_mutex;
    std::unordered_map<SessionId, LocalClient*> locals;  // guarded by locals_mutex

    // Deliveries from other workers; a drain is posted when the inbox goes
    // from empty to non-empty, so one post carries a whole batch.
    std::mutex inbox_mutex;
    std::vector<Delivery> inbox;  // guarded by inbox_mutex
    bool drain_posted = false;    // guarded by inbox_mutex
};

Broker::Broker(BrokerLimits limits, Executor& executor, Store& store)
    : limits_(limits), executor_(executor), store_(store) {
    for (std::size_t i = 0; i < executor_.worker_count(); ++i) workers_.push_back(std::make_unique<Worker>());
    std::random_device seed;
    assigned_id_prefix_ = "fg-" + std::to_string(seed() % 1'000'000) + "-";
}

Broker::~Broker() = default;

void Broker::connect(std::shared_ptr<ConnectionPort> port, std::size_t worker, std::vector<std::uint8_t> packet) {
    auto request = std::make_shared<ConnectRequest>();
    request->port = std::move(port);
    request->worker = worker;
    request->packet = std::move(packet);
    auto decoded = mqtt::decode(request->packet, mqtt::ProtocolVersion::v5, mqtt::max_packet_size_limit);
    request->connect = std::get<mqtt::Connect>(std::move(decoded.packet));
    const auto& c = request->connect;

    if (const auto refusal = check_client_id(c); refusal != ReasonCode::success) {
        refuse(*request->port, c.version, refusal);
        return;
    }
    if (c.client_id.empty()) {
        request->client_id = assigned_id_prefix_ + std::to_string(next_assigned_id_.fetch_add(1));
        request->assigned = true;
    } else {
        request->client_id = std::string(c.client_id);
    }
    const auto& peer = request->port->peer_info();
    if (peer.internal_identity) {
        request->username = *peer.internal_identity;
    } else if (is_reserved_client_id(request->client_id)) {
        refuse(*request->port, c.version, ReasonCode::client_identifier_not_valid);
        return;
    } else {
        auto login = authenticator()->login(login_request(c, peer));
        if (login.outcome != auth::LoginOutcome::accepted) {
            refuse_login(*request, login);
            return;
        }
        request->username = std::move(login.username);
    }

    const auto claim = registry_.find_or_create(request->client_id, worker);
    if (claim.created) {
        auto session = std::make_unique<Session>(*this, claim.entry.id, request->client_id, worker);
        attach_on(worker, std::move(session), std::move(request), false);
    } else if (claim.entry.owner == worker) {
        connect_on_owner(worker, std::move(request));
    } else {
        executor_.post(claim.entry.owner, [this, owner = claim.entry.owner, request = std::move(request)]() mutable {
            connect_on_owner(owner, std::move(request));
        });
    }
}

void Broker::refuse(ConnectionPort& port, mqtt::ProtocolVersion version, ReasonCode reason) {
    mqtt::Connack connack;
    connack.reason_code = reason;
    mqtt::encode(connack, version, port.output());
    port.flush_soon();
    port.close();
}

// A failed login is answered late, the later the more logins failed from that
// address recently, so guessing passwords is slow there and nowhere else.
void Broker::refuse_login(const ConnectRequest& request, const auth::LoginResult& login) {
    const auto reason = login.outcome == auth::LoginOutcome::bad_credentials ? ReasonCode::bad_user_name_or_password
                                                                             : ReasonCode::not_authorized;
    auto& port = *request.port;
    const auto delay = throttle_.failed(port.peer_info().address, executor_.now());
    // Names as the client sent them (an assigned id never came to be), quoted:
    // they are the peer's bytes. Never the password.
    const auto& username = request.connect.username;
    log::get("broker")->info("{}: login refused ({}: {}): client id {}, username {}; answered after {} ms", port.peer(),
                             mqtt::reason_name(reason), login.why, auth::quoted(request.connect.client_id),
                             username ? auth::quoted(*username) : std::string{"none"}, delay.count());
    mqtt::Connack connack;
    connack.reason_code = reason;
    mqtt::encode(connack, request.connect.version, port.output());
    port.close_after(delay);
}

void Broker::set_authenticator(std::shared_ptr<const auth::Authenticator> authenticator) {
    {
        const std::lock_guard lock{authenticator_mutex_};
        authenticator_ = std::move(authenticator);
    }
    for (std::size_t worker = 0; worker < workers_.size(); ++worker) {
        executor_.post(worker, [this, worker] { rebind_sessions(worker); });
    }
}

std::shared_ptr<const auth::Authenticator> Broker::authenticator() const {
    const std::lock_guard lock{authenticator_mutex_};
    return authenticator_;
}

// Offline sessions too: their queues fill while they are away.
void Broker::rebind_sessions(std::size_t worker) {
    const auto current = authenticator();
    for (auto& [id, session] : workers_[worker]->sessions) session->rebind(current->acl());
}

// Runs on the worker that owns the client id's session, so takeover and clean
// start are decided on one thread.
void Broker::connect_on_owner(std::size_t owner, std::shared_ptr<ConnectRequest> request) {
    const auto entry = registry_.find(request->client_id);
    if (!entry || entry->owner != owner) {
        // The session ended or moved meanwhile: start over from the registry.
        const auto claim = registry_.find_or_create(request->client_id, request->worker);
        if (claim.created) {
            auto session = std::make_unique<Session>(*this, claim.entry.id, request->client_id, request->worker);
            attach_later(std::move(session), std::move(request), false);
        } else {
            executor_.post(claim.entry.owner, [this, next = claim.entry.owner, request = std::move(request)]() mutable {
                connect_on_owner(next, std::move(request));
            });
        }
        return;
    }

    auto& sessions = workers_[owner]->sessions;
    auto it = sessions.find(entry->id);
    if (it == sessions.end()) return;  // cannot happen: the owner holds its sessions
    Session& old = *it->second;
    if (old.connected()) old.disconnect(ReasonCode::session_taken_over);  // [MQTT-3.1.4-3]

    std::unique_ptr<Session> session;
    bool present = false;
    if (request->connect.clean_start || !old.persistent()) {
        // A clean start discards the old session [MQTT-3.1.2-4]. It may already be
        // ending (it was not persistent); either way the new one gets a new id.
        if (sessions.contains(entry->id)) {
            old.end();
            registry_.erase(request->client_id, entry->id);
            sessions.erase(entry->id);
        }
        const auto claim = registry_.find_or_create(request->client_id, request->worker);
        session = std::make_unique<Session>(*this, claim.entry.id, request->client_id, request->worker);
    } else {
        present = true;  // [MQTT-3.2.2-2]
        session = std::move(it->second);
        sessions.erase(it);
        registry_.set_owner(request->client_id, session->id(), request->worker);
    }

    if (request->worker == owner) {
        attach_on(owner, std::move(session), std::move(request), present);
    } else {
        attach_later(std::move(session), std::move(request), present);
    }
}

void Broker::attach_later(std::unique_ptr<Session> session, std::shared_ptr<ConnectRequest> request,
                          bool session_present) {
    // Tasks are copyable, so the session travels in a shared holder.
    auto holder = std::make_shared<std::unique_ptr<Session>>(std::move(session));
    const std::size_t target = request->worker;
    executor_.post(target, [this, target, holder, request = std::move(request), session_present]() mutable {
        attach_on(target, std::move(*holder), std::move(request), session_present);
    });
}

void Broker::attach_on(std::size_t worker, std::unique_ptr<Session> session, std::shared_ptr<ConnectRequest> request,
                       bool session_present) {
    Session& s = *session;
    workers_[worker]->sessions[s.id()] = std::move(session);
    s.moved_to(worker);
    if (!request->port->is_open()) {
        // The client left while its CONNECT was decided: the session stays as it was.
        if (!s.persistent()) end_session(s);
        return;
    }
    // The ACL in force now, not at CONNECT: a reload meanwhile rebound only the sessions it found.
    s.set_identity(std::move(request->username), authenticator()->acl());
    request->port->attach_session(s);
    s.attach(request->port, request->connect, session_present, request->assigned ? request->client_id : "");
}

Broker::PublishResult Broker::publish(std::size_t worker, const MessagePtr& message, std::vector<store::Op> ops,
                                      Store::Done done) {
    Worker& w = *workers_[worker];
    auto& matches = w.matches;
    matches.clear();
    topics_.match(message->topic, matches);
    std::sort(matches.begin(), matches.end(),
              [](const Subscriber& a, const Subscriber& b) { return a.session < b.session; });

    auto& routed = w.routed;
    routed.clear();
    store::PutMessage stored{message, {}};
    for (auto first = matches.begin(); first != matches.end();) {
        const auto last = std::find_if(first, matches.end(), [&](const Subscriber& s) { return s.session != first->session; });
        // One copy per session however many of its subscriptions match, at the
        // highest QoS, with every subscription identifier [MQTT-3.3.4-2, 3.3.4-3].
        Delivery d;
        d.session = first->session;
        d.message = message;
        bool any = false;
        bool persistent = false;
        for (auto s = first; s != last; ++s) {
            if (s->options.no_local && s->session == message->origin) continue;  // [MQTT-3.8.3-3]
            const auto qos = std::min(message->qos, s->options.qos);
            d.qos = any ? std::max(d.qos, qos) : qos;
            any = true;
            persistent = persistent || s->persistent;
            if (s->options.retain_as_published) d.retain = message->retain;  // [MQTT-3.3.1-13]
            if (s->subscription_id != 0) d.subscription_ids.push_back(s->subscription_id);
        }
        const std::size_t target = first->worker;
        first = last;
        if (!any) continue;
        // Stored before the publisher is told, for sessions that outlive their connection.
        if (persistent && d.qos != mqtt::QoS::at_most_once) {
            stored.targets.push_back({d.session, d.qos, d.retain, d.subscription_ids});
        }
        routed.emplace_back(target, std::move(d));
    }
    // $SYS figures are made afresh after a restart: never written to disk.
    const bool durable_retain = message->retain && !message->topic.starts_with("$SYS/");
    const bool needs_store = durable_retain || !stored.targets.empty() || !ops.empty();
    if (done && needs_store && store_.full()) return {0, false, true};  // refused before anyone sees it

    if (message->retain && retained_.update(message) && durable_retain) {  // [MQTT-3.3.1-5]
        if (message->payload.empty()) {
            ops.push_back(store::DeleteRetained{message->topic});
        } else {
            ops.push_back(store::PutRetained{message});
        }
    }
    if (!stored.targets.empty()) {
        if (done) {
            // A message the publisher is told was refused must not reach an absent session later.
            std::vector<std::pair<std::size_t, SessionId>> queued_for;
            for (const auto& [target, d] : routed) queued_for.emplace_back(target, d.session);
            done = [this, id = message->id, queued_for = std::move(queued_for), inner = std::move(done)](bool ok) {
                if (!ok) {
                    for (const auto& [target, session] : queued_for) retract(target, session, id);
                }
                inner(ok);
            };
        }
        ops.push_back(std::move(stored));
    }

    PublishResult result{routed.size(), false, false};
    if (!ops.empty()) {
        result.stored = static_cast<bool>(done);
        store_.submit(std::move(ops), worker, std::move(done));
    }
    // Delivered after the store has the message, so that what the sessions
    // store about it (sent, acknowledged) comes after it.
    for (auto& [target, d] : routed) {
        if (target == worker) {
            deliver_on(worker, std::move(d));
        } else {
            push_inbox(target, std::move(d));
        }
    }
    return result;
}

void Broker::push_inbox(std::size_t worker, Delivery delivery) {
    Worker& w = *workers_[worker];
    bool post = false;
    {
        const std::lock_guard lock{w.inbox_mutex};
        w.inbox.push_back(std::move(delivery));
        post = !w.drain_posted;
        w.drain_posted = true;
    }
    if (post) executor_.post(worker, [this, worker] { drain_inbox(worker); });
}

void Broker::retract(std::size_t worker, SessionId session, std::uint64_t message) {
    executor_.post(worker, [this, worker, session, message] {
        if (Session* s = find_local(worker, session)) s->retract(message);
    });
}

void Broker::drain_inbox(std::size_t worker) {
    Worker& w = *workers_[worker];
    w.draining.clear();
    {
        const std::lock_guard lock{w.inbox_mutex};
        std::swap(w.draining, w.inbox);
        w.drain_posted = false;
    }
    for (auto& d : w.draining) deliver_on(worker, std::move(d));
}

void Broker::deliver_on(std::size_t worker, Delivery delivery) {
    if (Session* s = find_local(worker, delivery.session)) {
        s->deliver(std::move(delivery));
        return;
    }
    {
        Worker& w = *workers_[worker];
        const std::lock_guard lock{w.locals_mutex};
        if (const auto it = w.locals.find(delivery.session); it != w.locals.end()) {
            it->second->deliver(delivery);
            return;
        }
    }
    // The session left this worker after the message was routed: follow it.
    const auto owner = registry_.owner_of(delivery.session);
    if (owner && *owner != worker) push_inbox(*owner, std::move(delivery));
}

Session* Broker::find_local(std::size_t worker, SessionId id) {
    auto& sessions = workers_[worker]->sessions;
    const auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second.get();
}

void Broker::subscribe(Session& session, std::string_view filter, const mqtt::SubscriptionOptions& options,
                       std::uint32_t subscription_id, bool& is_new) {
    Subscriber s;
    s.session = session.id();
    s.worker = static_cast<std::uint32_t>(session.worker());
    s.options = options;
    s.subscription_id = subscription_id;
    s.persistent = session.persistent();
    is_new = topics_.subscribe(filter, s);
}

bool Broker::unsubscribe(Session& session, std::string_view filter) { return topics_.unsubscribe(filter, session.id()); }

void Broker::end_session(Session& session) {
    session.end();
    registry_.erase(session.client_id(), session.id());
    // Destroyed after the current handler, which may be one of its own methods.
    executor_.post(session.worker(), [this, worker = session.worker(), id = session.id()] {
        workers_[worker]->sessions.erase(id);
    });
}

void Broker::restore(store::LoadedState state) {
    registry_.reserve_ids_below(state.next_session);
    for (const auto& loaded : state.sessions) {
        const std::size_t worker = std::hash<std::string>{}(loaded.client_id) % workers_.size();
        registry_.restore(loaded.client_id, loaded.session, worker);
        auto session = std::make_unique<Session>(*this, loaded.session, loaded.client_id, worker);
        session->restore(loaded);
        workers_[worker]->sessions[loaded.session] = std::move(session);
    }
    for (const auto& message : state.retained) retained_.update(message);
}

SessionId Broker::register_local(LocalClient& client, std::size_t worker) {
    const SessionId id = registry_.allocate_id();
    Worker& w = *workers_[worker];
    const std::lock_guard lock{w.locals_mutex};
    w.locals[id] = &client;
    return id;
}

void Broker::unregister_local(LocalClient& client) {
    Worker& w = *workers_[client.worker()];
    const std::lock_guard lock{w.locals_mutex};
    w.locals.erase(client.id());
}

void Broker::shutdown() {
    for (std::size_t worker = 0; worker < workers_.size(); ++worker) {
        executor_.post(worker, [this, worker] {
            for (auto& [id, session] : workers_[worker]->sessions) {
                if (session->connected()) session->close_for_shutdown();
            }
        });
    }
}

}  // namespace fieldgate::broker
