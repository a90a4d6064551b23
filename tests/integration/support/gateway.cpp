#include "support/gateway.hpp"

#include <csignal>
#include <stdexcept>

namespace fieldgate::test {

std::string binary_path() { return FIELDGATE_BINARY; }
std::string source_dir() { return FIELDGATE_SOURCE_DIR; }

GatewayProcess::GatewayProcess(GatewayOptions options) {
    // A port found free can be taken by someone else before the gateway binds
    // it; such a start fails with "cannot listen" and is retried on new ports.
    std::string failure;
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (start_once(options, failure)) return;
    }
    throw std::runtime_error("fieldgate did not start: " + failure);
}

GatewayProcess::~GatewayProcess() {
    if (process_ && process_->running()) kill();
}

bool GatewayProcess::start_once(const GatewayOptions& options, std::string& failure) {
    const auto ports = free_tcp_ports(2);
    port_ = ports[0];
    http_port_ = ports[1];
    const std::string address = "127.0.0.1:" + std::to_string(port_);
    config_text_ = "[gateway]\n"
                   "name = \"it\"\n"
                   "state_dir = \"" + dir_.path() + "/state\"\n"
                   "workers = " + std::to_string(options.workers) + "\n"
                   "log_level = \"" + options.log_level + "\"\n"
                   "\n[[listener]]\n"
                   "type = \"mqtt\"\n"
                   "bind = \"" + address + "\"\n"
                   "\n[http]\n"
                   "bind = \"127.0.0.1:" + std::to_string(http_port_) + "\"\n\n" +
                   options.extra_toml + "\n";
    config_path_ = dir_.write("fieldgate.toml", config_text_);
    if (process_ && process_->running()) process_->stop();
    process_ = std::make_unique<Process>(std::vector<std::string>{binary_path(), "-c", config_path_});
    const std::string ready = "listening for MQTT on " + address;
    if (process_->wait_for_stderr(ready, options.start_timeout) &&
        process_->wait_for_stderr("running with", options.start_timeout)) {
        return true;
    }
    const auto status = process_->running() ? process_->stop() : *process_->wait(Millis{1000});
    failure = "(" + to_string(status) + ") log:\n" + process_->err() + "\nconfig:\n" + config_text_;
    return false;
}

bool GatewayProcess::wait_for_log(std::string_view needle, Millis timeout, std::size_t from) {
    return process_->wait_for_stderr(needle, timeout, from);
}

ExitStatus GatewayProcess::stop(Millis timeout) { return process_->stop(timeout); }

ExitStatus GatewayProcess::kill() {
    process_->send_signal(SIGKILL);
    if (auto status = process_->wait(Millis{5000})) return *status;
    return process_->stop(Millis{1000});
}

}  // namespace fieldgate::test
