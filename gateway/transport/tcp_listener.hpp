#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "gateway/broker/broker.hpp"
#include "gateway/transport/connection.hpp"
#include "gateway/transport/worker_pool.hpp"

namespace fieldgate::transport {

// Accepts MQTT connections on one address and deals them out to the workers
// in turn. Accepting runs on worker 0.
class TcpListener {
public:
    // Binds at once; throws boost::system::system_error when it cannot (start-up error).
    TcpListener(WorkerPool& pool, broker::Broker& broker, const boost::asio::ip::tcp::endpoint& endpoint,
                ConnectionSettings settings, std::size_t max_connections);

    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
    void accept();

    WorkerPool& pool_;
    broker::Broker& broker_;
    ConnectionSettings settings_;
    std::size_t max_connections_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::size_t next_worker_ = 0;
};

}  // namespace fieldgate::transport
