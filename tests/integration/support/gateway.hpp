#pragma once

// The real fieldgate binary as a broker under test: a configuration written
// to a fresh temporary directory (MQTT listener and [http] on free loopback
// ports, `workers`, state_dir inside the directory, extra TOML appended), the
// process started and awaited until its log says it listens. Every wait is
// bounded.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "support/process.hpp"

namespace fieldgate::test {

struct GatewayOptions {
    int workers = 1;
    // Appended to the generated file, e.g. "[limits]\nconnect_timeout = \"1s\"\n".
    // The generated file has [gateway], one [[listener]] and [http]; do not repeat them.
    std::string extra_toml;
    std::string log_level = "info";
    Millis start_timeout{10000};
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
    std::string config_path_;
    std::string config_text_;
    std::unique_ptr<Process> process_;
};

std::string binary_path();
std::string source_dir();

}  // namespace fieldgate::test
