#include "gateway/transport/tcp_listener.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "gateway/log/log.hpp"

namespace fieldgate::transport {

using boost::asio::ip::tcp;

TcpListener::TcpListener(WorkerPool& pool, broker::Broker& broker, const tcp::endpoint& endpoint,
                         ConnectionSettings settings, std::size_t max_connections)
    : pool_(pool), broker_(broker), settings_(settings), max_connections_(max_connections), acceptor_(pool.io(0)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    if (endpoint.address().is_v6()) acceptor_.set_option(boost::asio::ip::v6_only(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
}

void TcpListener::start() { accept(); }

void TcpListener::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

void TcpListener::accept() {
    const std::size_t worker = next_worker_;
    next_worker_ = (next_worker_ + 1) % pool_.worker_count();
    acceptor_.async_accept(pool_.io(worker), [this, worker](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted) return;
        if (!ec) {
            if (broker_.stats().connections_open.load(std::memory_order_relaxed) >= max_connections_) {
                log::get("broker")->warn("max_connections ({}) reached, refusing a connection", max_connections_);
            } else {
                boost::system::error_code ignored;
                socket.set_option(tcp::no_delay(true), ignored);
                // The connection starts on its own worker.
                boost::asio::post(pool_.io(worker), [this, worker, s = std::make_shared<tcp::socket>(std::move(socket))]() mutable {
                    std::make_shared<Connection<tcp::socket>>(std::move(*s), broker_, worker, settings_)->start();
                });
            }
        } else {
            log::get("broker")->warn("accept failed: {}", ec.message());
        }
        accept();
    });
}

}  // namespace fieldgate::transport
