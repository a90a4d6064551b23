#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "gateway/broker/broker.hpp"
#include "gateway/transport/connection.hpp"
#include "gateway/transport/connection_slot.hpp"
#include "gateway/transport/opening.hpp"
#include "gateway/transport/worker_pool.hpp"

namespace boost::asio::ssl {
class context;
}

namespace fieldgate::transport {

// Accepts clients on one [[listener]] address and deals them out to the
// workers in turn (accepting runs on worker 0). Each socket is opened on its
// worker as the listener's type needs (opening.hpp) and becomes a Connection.
// Sockets over the listener's or the gateway's max_connections are closed as
// soon as they are accepted.
class Listener {
public:
    struct Limits {
        ConnectionSlot::Counter gateway_connections;  // shared by every listener
        std::size_t gateway_max = 0;
    };

    // Binds at once and loads the TLS files; throws std::runtime_error saying
    // what failed (a start-up error).
    Listener(WorkerPool& pool, broker::Broker& broker, const config::ListenerConfig& listener, ConnectionSettings settings,
             Limits limits);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void start();
    // On worker 0.
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    // "mqtts listener on 0.0.0.0:8883", for logs.
    std::string name() const;
    bool uses_tls() const;

    // Reads the certificate, key and CA files again (SIGHUP): new handshakes
    // use them, open connections keep theirs. When they cannot be loaded the
    // previous ones stay in use and the reason is returned.
    std::optional<std::string> reload_tls();

private:
    void accept();
    void accepted(AcceptedSocket socket, std::size_t worker);
    std::shared_ptr<boost::asio::ssl::context> tls() const;

    WorkerPool& pool_;
    broker::Broker& broker_;
    config::ListenerConfig config_;
    ConnectionSettings settings_;
    Limits limits_;
    std::shared_ptr<ConnectionSlot::Counters> connections_;  // this listener's and the gateway's
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;  // accepting again after running out of descriptors
    std::size_t next_worker_ = 0;

    mutable std::mutex tls_mutex_;
    std::shared_ptr<boost::asio::ssl::context> tls_;  // guarded by tls_mutex_
};

}  // namespace fieldgate::transport
