#include "support/mosquitto.hpp"

#include <unistd.h>

#include <csignal>
#include <stdexcept>

namespace fieldgate::test {

std::string mosquitto_binary() { return "/usr/sbin/mosquitto"; }
std::string mosquitto_passwd_binary() { return "/usr/bin/mosquitto_passwd"; }

bool mosquitto_installed() {
    return ::access(mosquitto_binary().c_str(), X_OK) == 0 && ::access(mosquitto_passwd_binary().c_str(), X_OK) == 0;
}

MosquittoProcess::MosquittoProcess(MosquittoOptions options) {
    // A port found free can be taken by someone else before mosquitto binds
    // it; such a start ends with "Address already in use" and is retried on a
    // new port.
    std::string failure;
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (start_once(options, failure)) return;
    }
    throw std::runtime_error("mosquitto did not start: " + failure);
}

MosquittoProcess::~MosquittoProcess() {
    if (process_ && process_->running()) kill();
}

bool MosquittoProcess::start_once(const MosquittoOptions& options, std::string& failure) {
    port_ = free_tcp_ports(1)[0];
    const std::string port = std::to_string(port_);
    config_text_ = "# written by the fieldgate integration tests\n"
                   "per_listener_settings false\n"
                   "allow_anonymous " + std::string(options.allow_anonymous ? "true" : "false") + "\n"
                   "persistence false\n"
                   "log_dest stderr\n"
                   "log_type all\n";
    // Run as root, mosquitto 2.0 drops to the user "mosquitto", which may not
    // read the test's files; `user root` keeps the test's own identity.
    if (::geteuid() == 0) config_text_ += "user root\n";
    if (!options.password_file.empty()) config_text_ += "password_file " + options.password_file + "\n";
    if (!options.acl_file.empty()) config_text_ += "acl_file " + options.acl_file + "\n";
    config_text_ += "\nlistener " + port + " 127.0.0.1\n\n" + options.extra_config + "\n";
    config_path_ = dir_.write("mosquitto.conf", config_text_);
    if (process_ && process_->running()) process_->stop();
    process_ = std::make_unique<Process>(std::vector<std::string>{mosquitto_binary(), "-c", config_path_},
                                         ProcessOptions{.cwd = dir_.path()});
    // mosquitto 2.0 logs "Opening ipv4 listen socket on port N." for each
    // listener, then "mosquitto version X running" once all of them are open.
    if (process_->wait_for_stderr("Opening ipv4 listen socket on port " + port + ".", options.start_timeout) &&
        process_->wait_for_stderr(" running", options.start_timeout) && process_->running()) {
        return true;
    }
    const auto status = process_->running() ? process_->stop() : *process_->wait(Millis{1000});
    failure = "(" + to_string(status) + ") log:\n" + process_->err() + "\nconfig:\n" + config_text_;
    return false;
}

bool MosquittoProcess::wait_for_log(std::string_view needle, Millis timeout, std::size_t from) {
    return process_->wait_for_stderr(needle, timeout, from);
}

ExitStatus MosquittoProcess::stop(Millis timeout) { return process_->stop(timeout); }

ExitStatus MosquittoProcess::kill() {
    process_->send_signal(SIGKILL);
    if (auto status = process_->wait(Millis{5000})) return *status;
    return process_->stop(Millis{1000});
}

}  // namespace fieldgate::test
