// fieldgate: wiring only. Parses the command line, loads the configuration,
// starts the components and handles signals.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <CLI/CLI.hpp>

#include <csignal>
#include <filesystem>
#include <cstdio>
#include <string>

#include "bridge/bridge.hpp"
#include "config/address.hpp"
#include "config/loader.hpp"
#include "config/schema.hpp"
#include "gateway/cli/passwd_command.hpp"
#include "config/reload.hpp"
#include "gateway/broker/null_store.hpp"
#include "gateway/broker/sqlite_store.hpp"
#include "gateway/broker/sys_publisher.hpp"
#include "gateway/log/log.hpp"
#include "gateway/transport/listener.hpp"
#include "gateway/transport/worker_pool.hpp"

namespace {

namespace cfg = fieldgate::config;

// Exit code for configuration and start-up errors (DESIGN.md, Errors).
constexpr int exit_config_error = 2;

// The bridges' topic rules are checked by the bridge's own mapping (config/
// cannot depend on it) as part of loading, so `check` and start-up agree.
void check_bridge_topics(const std::string& file, cfg::LoadResult& result) {
    for (std::size_t b = 0; b < result.config.bridges.size(); ++b) {
        const auto map = fieldgate::bridge::TopicMap::from(result.config.bridges[b].topics);
        for (const auto& e : map.errors) {
            const std::string rule = "bridge[" + std::to_string(b + 1) + "].topic[" + std::to_string(e.rule + 1) + "]";
            const std::string key = rule + "." + e.key;
            auto at = result.positions.find(key);
            if (at == result.positions.end()) at = result.positions.find(rule);
            result.errors.push_back(
                {file, at == result.positions.end() ? cfg::SourcePosition{} : at->second, key, e.message});
        }
    }
}

// `file` empty: the built-in defaults (no -c given; an empty -c is refused by the CLI).
cfg::LoadResult load(const std::string& file, cfg::LoadOptions options = {}) {
    if (file.empty()) return {cfg::default_config(), {}, {}};
    auto result = cfg::load_config_file(file, options);
    if (result.ok()) check_bridge_topics(file, result);
    return result;
}

bool report_errors(const cfg::LoadResult& result) {
    for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return result.ok();
}

std::string join(const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out;
}

// SIGHUP: a valid file replaces what can change while running; an invalid one
// changes nothing. Each reload is numbered, so that its answer is never held
// back as a repeat of the last one.
void reload(const std::string& file, cfg::Config& running, unsigned number) {
    auto log = fieldgate::log::get("config");
    if (file.empty()) {
        log->warn("reload {}: fieldgate runs on built-in defaults (no -c FILE): nothing to reload", number);
        return;
    }
    // An empty file is most likely one being rewritten in place, not a wish for the defaults.
    std::error_code ec;
    if (std::filesystem::file_size(file, ec) == 0 && !ec) {
        log->error("reload {} refused: {} is empty; the running configuration stays", number, file);
        return;
    }
    const auto next = load(file);
    if (!next.ok()) {
        log->error("reload {} refused: {} has {} error(s); the running configuration stays", number, file,
                   next.errors.size());
        // Numbered too, so that a second reload of the same broken file shows its errors again.
        for (const auto& e : next.errors) log->error("reload {}: {}", number, e.to_string());
        return;
    }
    const auto plan = cfg::plan_reload(running, next.config);
    // Told at the more verbose of the old and the new level, so that neither hides the answer.
    fieldgate::log::set_level(std::min(running.gateway.log_level, next.config.gateway.log_level));
    if (plan.applied.empty() && plan.needs_restart.empty()) log->info("reload {}: {} has no changes", number, file);
    if (!plan.applied.empty()) log->info("reload {}: applied {}", number, join(plan.applied));
    if (!plan.needs_restart.empty()) {
        log->warn("reload {}: changed {}; these take effect after a restart", number, join(plan.needs_restart));
    }
    running.gateway.log_level = next.config.gateway.log_level;
    fieldgate::log::set_level(running.gateway.log_level);
    running.auth = next.config.auth;
}

// The users and ACL of [auth]; nullptr (and the errors logged) when a file is broken.
std::shared_ptr<const fieldgate::auth::Authenticator> load_authenticator(const cfg::AuthConfig& auth,
                                                                        const std::string& context) {
    auto log = fieldgate::log::get("broker");
    auto loaded = fieldgate::auth::Authenticator::load(auth);
    for (const auto& w : loaded.warnings) log->warn("{}{}", context, w);
    for (const auto& e : loaded.errors) log->error("{}{}", context, e);
    return loaded.authenticator;
}

// SIGHUP reads the password and ACL files again whether or not the
// configuration changed (mosquitto does the same): a user added with
// `fieldgate passwd` takes effect without a restart. A broken file changes nothing.
void reload_authenticator(fieldgate::broker::Broker& broker, const cfg::AuthConfig& auth, unsigned number) {
    const std::string context = "reload " + std::to_string(number) + ": ";
    auto log = fieldgate::log::get("broker");
    if (auto authenticator = load_authenticator(auth, context)) {
        broker.set_authenticator(std::move(authenticator));
        if (!auth.password_file.empty() || !auth.acl_file.empty()) log->info("{}password and ACL files read again", context);
    } else {
        log->error("{}the previous users and access rules stay in use", context);
    }
}

fieldgate::broker::BrokerLimits broker_limits(const cfg::LimitsConfig& limits) {
    fieldgate::broker::BrokerLimits b;
    b.max_packet_size = static_cast<std::uint32_t>(limits.max_packet_size.bytes);
    b.receive_maximum = static_cast<std::uint16_t>(limits.max_inflight);
    b.max_queued_messages = limits.max_queued_messages;
    b.max_keepalive = std::chrono::duration_cast<std::chrono::seconds>(limits.max_keepalive);
    return b;
}

// Sections this build checks but does not run yet.
void warn_unenforced(const cfg::Config& config) {
    auto log = fieldgate::log::get("broker");
    if (!config.modbus.empty() || !config.serial.empty()) {
        log->warn("[[modbus]] and [[serial]] sections are checked but not run by this build yet");
    }
}

// Binds every listener and loads its TLS files; either failing is a start-up error.
std::vector<std::unique_ptr<fieldgate::transport::Listener>> bind_listeners(
    const cfg::Config& config, fieldgate::transport::WorkerPool& pool, fieldgate::broker::Broker& broker) {
    const fieldgate::transport::ConnectionSettings settings{
        std::chrono::duration_cast<std::chrono::milliseconds>(config.limits.connect_timeout),
        static_cast<std::uint32_t>(config.limits.max_packet_size.bytes)};
    const fieldgate::transport::Listener::Limits limits{
        .gateway_connections = std::make_shared<std::atomic<std::size_t>>(0),
        .gateway_max = config.limits.max_connections};
    std::vector<std::unique_ptr<fieldgate::transport::Listener>> listeners;
    for (const auto& l : config.listeners) {
        listeners.push_back(std::make_unique<fieldgate::transport::Listener>(pool, broker, l, settings, limits));
    }
    return listeners;
}

void log_listening(const cfg::ListenerConfig& l) {
    auto log = fieldgate::log::get("broker");
    switch (l.type) {
        case cfg::ListenerType::mqtt: return log->info("listening for MQTT on {}", l.bind);
        case cfg::ListenerType::mqtts: return log->info("listening for MQTT over TLS on {}", l.bind);
        case cfg::ListenerType::ws: return log->info("listening for MQTT over WebSocket on {} path {}", l.bind, l.path);
        case cfg::ListenerType::wss:
            return log->info("listening for MQTT over secure WebSocket on {} path {}", l.bind, l.path);
    }
}

// SIGHUP re-reads the TLS files whether or not the configuration changed:
// renewed certificates are the usual reason for a reload.
void reload_certificates(const std::vector<std::unique_ptr<fieldgate::transport::Listener>>& listeners,
                         unsigned number) {
    auto log = fieldgate::log::get("main");
    for (const auto& l : listeners) {
        if (!l->uses_tls()) continue;
        if (const auto error = l->reload_tls()) {
            log->error("reload {}: {}: {}; the previous certificate stays in use", number, l->name(), *error);
        } else {
            log->info("reload {}: {}: certificate files read again", number, l->name());
        }
    }
}

// The state database under state_dir, or nothing stored (durability = none).
std::unique_ptr<fieldgate::broker::Store> open_store(const cfg::Config& config, fieldgate::transport::WorkerPool& pool) {
    const auto& p = config.persistence;
    if (p.durability == cfg::Durability::none) return std::make_unique<fieldgate::broker::NullStore>(pool);
    std::error_code ec;
    std::filesystem::create_directories(config.gateway.state_dir, ec);
    if (ec) throw std::runtime_error("cannot create state_dir " + config.gateway.state_dir + ": " + ec.message());
    fieldgate::broker::SqliteStore::Options options;
    options.path = (std::filesystem::path(config.gateway.state_dir) / "fieldgate.db").string();
    options.wait_for_commit = p.durability == cfg::Durability::sync;
    options.commit_interval = std::chrono::duration_cast<std::chrono::milliseconds>(p.commit_interval);
    options.max_size = p.max_size.bytes;
    return std::make_unique<fieldgate::broker::SqliteStore>(options, pool);
}

int run(const std::string& file) {
    // Signals are caught from here on: a SIGTERM during start-up stops cleanly.
    boost::asio::io_context io;
    boost::asio::signal_set signals{io, SIGINT, SIGTERM, SIGHUP};

    auto loaded = load(file);
    if (!report_errors(loaded)) return exit_config_error;
    cfg::Config running = std::move(loaded.config);
    fieldgate::log::init(running.gateway.log_level);
    auto log = fieldgate::log::get("main");
    log->info("fieldgate {} starting{}", FIELDGATE_VERSION, file.empty() ? " on built-in defaults" : " with " + file);

    warn_unenforced(running);
    fieldgate::transport::WorkerPool pool{running.gateway.workers};
    std::unique_ptr<fieldgate::broker::Store> store;
    try {
        store = open_store(running, pool);
    } catch (const std::exception& e) {
        log->critical("{}", e.what());
        return exit_config_error;
    }
    fieldgate::broker::Broker broker{broker_limits(running.limits), pool, *store};
    auto authenticator = load_authenticator(running.auth, "");
    if (!authenticator) {
        log->critical("cannot start: [auth] files have errors");
        return exit_config_error;
    }
    broker.set_authenticator(std::move(authenticator));
    auto state = store->load();
    if (running.persistence.durability != cfg::Durability::none) {
        log->info("state loaded from {}: {} persistent session(s), {} retained message(s)",
                  running.gateway.state_dir, state.sessions.size(), state.retained.size());
    }
    broker.restore(std::move(state));
    store->start();
    std::vector<std::unique_ptr<fieldgate::transport::Listener>> listeners;
    try {
        listeners = bind_listeners(running, pool, broker);
    } catch (const std::exception& e) {
        log->critical("{}", e.what());
        return exit_config_error;
    }
    // Bridges are dealt out over the workers; each runs on its own.
    std::vector<std::unique_ptr<fieldgate::bridge::Bridge>> bridges;
    try {
        for (std::size_t i = 0; i < running.bridges.size(); ++i) {
            const std::size_t worker = i % pool.worker_count();
            bridges.push_back(std::make_unique<fieldgate::bridge::Bridge>(broker, pool.io(worker), worker,
                                                                         running.bridges[i], running.gateway.name));
        }
    } catch (const std::exception& e) {
        log->critical("{}", e.what());
        return exit_config_error;
    }
    fieldgate::broker::SysPublisher sys{broker, FIELDGATE_VERSION, std::chrono::seconds{10}};
    for (auto& l : listeners) l->start();
    for (std::size_t i = 0; i < bridges.size(); ++i) {
        pool.post(i % pool.worker_count(), [b = bridges[i].get()] { b->start(); });
    }
    for (const auto& l : running.listeners) log_listening(l);
    pool.start();
    sys.start();
    log->info("running with {} worker(s)", pool.worker_count());

    boost::asio::steady_timer grace{io};
    unsigned reloads = 0;
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                               int signal) {
        if (ec) return;
        if (signal == SIGHUP) {
            reload(file, running, ++reloads);
            reload_certificates(listeners, reloads);
            reload_authenticator(broker, running.auth, reloads);
            signals.async_wait(on_signal);
            return;
        }
        log->info("signal {} received, stopping", signal);
        pool.post(0, [&] {
            for (auto& l : listeners) l->stop();
        });
        for (std::size_t i = 0; i < bridges.size(); ++i) {
            pool.post(i % pool.worker_count(), [b = bridges[i].get()] { b->stop(); });
        }
        broker.shutdown();
        // Time for the DISCONNECTs to be written before the workers stop.
        grace.expires_after(std::chrono::milliseconds{300});
        grace.async_wait([&](const boost::system::error_code&) { io.stop(); });
    };
    signals.async_wait(on_signal);
    io.run();
    pool.stop();
    store.reset();  // commits what is queued
    log->info("stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"fieldgate: an MQTT edge gateway (local broker, cloud bridge, Modbus and serial adapters)",
                 "fieldgate"};
    app.set_version_flag("--version", "fieldgate " FIELDGATE_VERSION);
    std::string file;
    const auto nonempty = CLI::Validator(
        [](const std::string& value) { return value.empty() ? std::string("an empty path") : std::string(); },
        "FILE", "a non-empty path");
    app.add_option("-c,--config", file, "Configuration file (TOML); built-in defaults without one")->check(nonempty);

    auto* check = app.add_subcommand("check", "Validate a configuration file: print 'ok' and exit 0, or the errors and exit 2");
    check->add_option("-c,--config", file, "Configuration file (TOML)")->required()->check(nonempty);
    bool skip_files = false;
    const char* skip_files_help =
        "Do not require the files the configuration names to exist here (a configuration for another machine)";
    check->add_flag("--skip-files", skip_files, skip_files_help);
    auto* print = app.add_subcommand("print-config", "Print the effective configuration, defaults filled in, as TOML");
    print->add_option("-c,--config", file, "Configuration file (TOML); built-in defaults without one")->check(nonempty);
    print->add_flag("--skip-files", skip_files, skip_files_help);
    auto* passwd = app.add_subcommand(
        "passwd", "Add or update a user in a password file (Mosquitto's format); the password comes from stdin");
    std::string passwd_file;
    std::string passwd_user;
    bool passwd_delete = false;
    passwd->add_option("FILE", passwd_file, "Password file (created if missing)")->required();
    passwd->add_option("USER", passwd_user, "User name")->required();
    passwd->add_flag("-D,--delete", passwd_delete, "Delete the user instead");
    app.require_subcommand(0, 1);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : exit_config_error;
    }

    if (passwd->parsed()) return fieldgate::cli::passwd_command(passwd_file, passwd_user, passwd_delete);
    if (check->parsed() || print->parsed()) {
        const auto loaded = load(file, {.check_files = !skip_files});
        if (!report_errors(loaded)) return exit_config_error;
        if (check->parsed()) {
            std::puts("ok");
        } else {
            std::fputs(cfg::print_config(loaded.config).c_str(), stdout);
        }
        return 0;
    }
    return run(file);
}
