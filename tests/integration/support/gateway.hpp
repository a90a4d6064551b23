#pragma once

// The real fieldgate binary as a broker under test: a configuration written
// to a fresh temporary directory (MQTT listener and [http] on free loopback
// ports, `workers`, state_dir inside the directory, extra TOML appended), the
// process started and awaited until its log says it listens. Every wait is
// bounded.
//
// Tests that need more listeners (mqtts, ws, wss, or another mqtt one with
// its own limits) list them in GatewayOptions::listeners; each gets a free
// port of its own on its loopback address, and the gateway counts as
// started only once every one of them is listening.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.hpp"

namespace fieldgate::test {

// One more [[listener]]; unset options are left out of the file (the
// gateway's defaults apply).
struct ListenerOptions {
    std::string type = "mqtt";        // mqtt | mqtts | ws | wss
    std::string host = "127.0.0.1";   // or "::1"
    std::string path;                 // ws, wss
    std::string cert;                 // mqtts, wss
    std::string key;
    std::string client_ca;
    std::optional<bool> require_client_cert;
    std::optional<bool> use_cert_cn_as_username;
    std::optional<bool> allow_anonymous;
    std::optional<std::uint32_t> max_connections;
    std::string extra_toml;  // more keys of this [[listener]], one per line
};

struct GatewayOptions {
    int workers = 1;
    // Appended to the generated file, e.g. "[limits]\nconnect_timeout = \"1s\"\n".
    // The generated file has [gateway], the [[listener]]s and [http]; do not repeat them.
    std::string extra_toml;
    std::string log_level = "info";
    Millis start_timeout{10000};
    // Listeners after the first (plain MQTT on 127.0.0.1:port()), in this order.
    std::vector<ListenerOptions> listeners;
};

class GatewayProcess {
public:
    // Starts the gateway and waits until it listens; throws std::runtime_error
    // (with the log) when it does not come up in time.
    explicit GatewayProcess(GatewayOptions options = {});
    // Kills a gateway that is still running (SIGKILL); call stop() to check a clean exit.
    ~GatewayProcess();
    GatewayProcess(const GatewayProcess&) = delete;
    GatewayProcess& operator=(const GatewayProcess&) = delete;

    std::uint16_t port() const { return port_; }
    // The port of GatewayOptions::listeners[index].
    std::uint16_t listener_port(std::size_t index) const { return listener_ports_.at(index); }
    std::size_t listener_count() const { return listener_ports_.size(); }
    std::uint16_t http_port() const { return http_port_; }
    const std::string& config_path() const { return config_path_; }
    const std::string& dir() const { return dir_.path(); }
    const std::string& config_text() const { return config_text_; }
    // Reaps the process if it has ended.
    bool running() { return !process_->wait(Millis{0}).has_value(); }
    pid_t pid() const { return process_->pid(); }

    // The gateway's stderr (its log) so far.
    const std::string& log() const { return process_->err(); }
    // Waits until the log, from byte `from` on, contains `needle`.
    bool wait_for_log(std::string_view needle, Millis timeout, std::size_t from = 0);

    // SIGTERM; waits up to `timeout` (then SIGKILL). Returns the exit status.
    ExitStatus stop(Millis timeout = Millis{5000});
    // SIGKILL and reap.
    ExitStatus kill();

private:
    bool start_once(const GatewayOptions& options, std::string& failure);

    TempDir dir_;
    std::uint16_t port_ = 0;
    std::uint16_t http_port_ = 0;
    std::vector<std::uint16_t> listener_ports_;
    std::string config_path_;
    std::string config_text_;
    std::unique_ptr<Process> process_;
};

std::string binary_path();
std::string source_dir();

// The [[listener]] table for `options` bound to `port`.
std::string listener_toml(const ListenerOptions& options, std::uint16_t port);

// Whether a TCP socket listens on `port` of `host` ("127.0.0.1" or "::1")
// right now, from /proc/net/tcp and /proc/net/tcp6 (no connection is made,
// so no listener sees one).
bool tcp_listening(const std::string& host, std::uint16_t port);

}  // namespace fieldgate::test
