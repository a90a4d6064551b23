// fieldgate: wiring only. Parses the command line, starts the components and
// waits for a signal to stop.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <string>

int main(int argc, char** argv) {
    CLI::App app{"fieldgate: an MQTT edge gateway (local broker, cloud bridge, Modbus and serial adapters)",
                 "fieldgate"};
    app.set_version_flag("--version", "fieldgate " FIELDGATE_VERSION);
    std::string config_file;
    app.add_option("-c,--config", config_file, "Configuration file (TOML); built-in defaults without one")
        ->check(CLI::ExistingFile);
    CLI11_PARSE(app, argc, argv);

    spdlog::info("fieldgate {} starting{}", FIELDGATE_VERSION,
                 config_file.empty() ? " on built-in defaults" : " with " + config_file);

    boost::asio::io_context io;
    boost::asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("signal {} received, stopping", signal);
        io.stop();
    });
    spdlog::info("running; press Ctrl-C to stop");
    io.run();
    return 0;
}
