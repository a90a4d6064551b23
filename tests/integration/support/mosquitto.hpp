#pragma once

// Debian's mosquitto (/usr/sbin/mosquitto) as a peer of the integration
// tests: the reference broker that auth/ACL suites run side by side with
// fieldgate, and a remote broker for bridge tests. A configuration is written
// to a fresh temporary directory (one listener on a free 127.0.0.1 port,
// per_listener_settings false, optional password_file / acl_file,
// allow_anonymous, persistence off, everything logged to stderr, extra text
// appended), the process started and awaited until it listens. Every wait is
// bounded; the destructor kills a broker that is still running.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "support/process.hpp"

namespace fieldgate::test {

struct MosquittoOptions {
    std::string password_file;  // empty: no password_file line
    std::string acl_file;       // empty: no acl_file line (everything allowed)
    bool allow_anonymous = true;
    // Appended to the generated file: more listeners, bridge sections, other
    // global options ("sys_interval 1\n", "max_connections 10\n", ...). The
    // generated file sets per_listener_settings, allow_anonymous, persistence,
    // log_dest/log_type, the files above and one listener; do not repeat them.
    std::string extra_config;
    Millis start_timeout{10000};
};

class MosquittoProcess {
public:
    // Starts mosquitto and waits until it listens; throws std::runtime_error
    // (with the log and the configuration) when it does not come up in time.
    explicit MosquittoProcess(MosquittoOptions options = {});
    // Kills a broker that is still running (SIGKILL); call stop() to check a clean exit.
    ~MosquittoProcess();
    MosquittoProcess(const MosquittoProcess&) = delete;
    MosquittoProcess& operator=(const MosquittoProcess&) = delete;

    std::uint16_t port() const { return port_; }
    const std::string& dir() const { return dir_.path(); }
    const std::string& config_path() const { return config_path_; }
    const std::string& config_text() const { return config_text_; }
    // Reaps the process if it has ended.
    bool running() { return !process_->wait(Millis{0}).has_value(); }
    pid_t pid() const { return process_->pid(); }

    // mosquitto's log (stderr, log_type all) so far.
    const std::string& log() const { return process_->err(); }
    // Waits until the log, from byte `from` on, contains `needle`.
    bool wait_for_log(std::string_view needle, Millis timeout, std::size_t from = 0);

    // SIGTERM; waits up to `timeout` (then SIGKILL). Returns the exit status.
    ExitStatus stop(Millis timeout = Millis{5000});
    // SIGKILL and reap.
    ExitStatus kill();

private:
    bool start_once(const MosquittoOptions& options, std::string& failure);

    TempDir dir_;
    std::uint16_t port_ = 0;
    std::string config_path_;
    std::string config_text_;
    std::unique_ptr<Process> process_;
};

// Where Debian puts the broker and its password tool.
std::string mosquitto_binary();
std::string mosquitto_passwd_binary();
// Whether both are installed (executable).
bool mosquitto_installed();

}  // namespace fieldgate::test
