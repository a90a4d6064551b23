#include "support/gateway.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fieldgate::test {
namespace {

std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// "127.0.0.1:1883" or "[::1]:1883".
std::string bind_address(const std::string& host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// The address as /proc/net/tcp{,6} prints it: each 32-bit word of the
// address in host byte order, as %08X.
std::string proc_address(const std::string& host) {
    unsigned char bytes[16] = {};
    const bool v6 = host.find(':') != std::string::npos;
    if (::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), bytes) != 1) {
        throw std::invalid_argument("not an IP address: " + host);
    }
    std::string out;
    for (int word = 0; word < (v6 ? 4 : 1); ++word) {
        std::uint32_t value = 0;
        std::memcpy(&value, bytes + 4 * word, 4);
        char text[9];
        std::snprintf(text, sizeof text, "%08X", value);
        out += text;
    }
    return out;
}

}  // namespace

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
    const auto ports = free_tcp_ports(2 + options.listeners.size());
    port_ = ports[0];
    http_port_ = ports[1];
    listener_ports_.assign(ports.begin() + 2, ports.end());
    const std::string address = "127.0.0.1:" + std::to_string(port_);
    std::string listeners;
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        listeners += "\n" + listener_toml(options.listeners[i], listener_ports_[i]);
    }
    config_text_ = "[gateway]\n"
                   "name = \"it\"\n"
                   "state_dir = \"" + dir_.path() + "/state\"\n"
                   "workers = " + std::to_string(options.workers) + "\n"
                   "log_level = \"" + options.log_level + "\"\n"
                   "\n[[listener]]\n"
                   "type = \"mqtt\"\n"
                   "bind = \"" + address + "\"\n" +
                   listeners +
                   "\n[http]\n"
                   "bind = \"127.0.0.1:" + std::to_string(http_port_) + "\"\n\n" +
                   options.extra_toml + "\n";
    config_path_ = dir_.write("fieldgate.toml", config_text_);
    if (process_ && process_->running()) process_->stop();
    process_ = std::make_unique<Process>(std::vector<std::string>{binary_path(), "-c", config_path_});
    const std::string ready = "listening for MQTT on " + address;
    if (process_->wait_for_stderr(ready, options.start_timeout) &&
        process_->wait_for_stderr("running with", options.start_timeout)) {
        // "running with" comes after every listener is bound, but a listener
        // of a type this build does not run is skipped with a warning.
        std::string missing;
        for (std::size_t i = 0; i < options.listeners.size(); ++i) {
            if (!tcp_listening(options.listeners[i].host, listener_ports_[i])) {
                missing += " " + options.listeners[i].type + "@" +
                           bind_address(options.listeners[i].host, listener_ports_[i]);
            }
        }
        if (missing.empty()) return true;
        process_->stop();
        // Not a port race: retrying would not help.
        throw std::runtime_error("fieldgate started without listening on" + missing + "; log:\n" + process_->err() +
                                 "\nconfig:\n" + config_text_);
    }
    const auto status = process_->running() ? process_->stop() : *process_->wait(Millis{1000});
    failure = "(" + to_string(status) + ") log:\n" + process_->err() + "\nconfig:\n" + config_text_;
    return false;
}

std::string listener_toml(const ListenerOptions& o, std::uint16_t port) {
    std::string t = "[[listener]]\ntype = " + quoted(o.type) + "\nbind = " + quoted(bind_address(o.host, port)) + "\n";
    const auto text = [&](const char* key, const std::string& value) {
        if (!value.empty()) t += std::string(key) + " = " + quoted(value) + "\n";
    };
    const auto flag = [&](const char* key, std::optional<bool> value) {
        if (value) t += std::string(key) + " = " + (*value ? "true" : "false") + "\n";
    };
    text("path", o.path);
    text("cert", o.cert);
    text("key", o.key);
    text("client_ca", o.client_ca);
    flag("require_client_cert", o.require_client_cert);
    flag("use_cert_cn_as_username", o.use_cert_cn_as_username);
    flag("allow_anonymous", o.allow_anonymous);
    if (o.max_connections) t += "max_connections = " + std::to_string(*o.max_connections) + "\n";
    t += o.extra_toml;
    if (!t.ends_with('\n')) t += '\n';
    return t;
}

bool tcp_listening(const std::string& host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    char port_text[6];
    std::snprintf(port_text, sizeof port_text, "%04X", port);
    const std::string wanted = proc_address(host) + ":" + port_text;
    const std::string any = std::string(v6 ? 32 : 8, '0') + ":" + port_text;
    std::ifstream in(v6 ? "/proc/net/tcp6" : "/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        // "  sl  local_address rem_address   st ..."
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        if (state == "0A" && (local == wanted || local == any)) return true;
    }
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
