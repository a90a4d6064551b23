#include "gateway/transport/listener.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include "config/address.hpp"
#include "config/schema.hpp"
#include "gateway/log/log.hpp"
#include "gateway/transport/opening.hpp"
#include "gateway/transport/tls_context.hpp"

namespace fieldgate::transport {

using boost::asio::ip::tcp;

namespace {

tcp::endpoint endpoint_of(const config::ListenerConfig& listener) {
    const auto bind = config::parse_bind_address(listener.bind);
    if (!bind) throw std::runtime_error("cannot listen on " + listener.bind + ": not an IP:PORT address");
    return {boost::asio::ip::make_address(bind->host), bind->port};
}

}  // namespace

Listener::Listener(WorkerPool& pool, broker::Broker& broker, const config::ListenerConfig& listener,
                   ConnectionSettings settings, Limits limits)
    : pool_(pool),
      broker_(broker),
      config_(listener),
      settings_(settings),
      limits_(std::move(limits)),
      connections_(std::make_shared<ConnectionSlot::Counters>(limits_.gateway_connections)),
      acceptor_(pool.io(0)),
      retry_timer_(pool.io(0)) {
    if (config::is_tls(config_.type)) tls_ = make_server_context(config_);
    const auto endpoint = endpoint_of(config_);
    try {
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        if (endpoint.address().is_v6()) acceptor_.set_option(boost::asio::ip::v6_only(true));
        acceptor_.bind(endpoint);
        acceptor_.listen();
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + config_.bind + ": " + e.code().message());
    }
}

Listener::~Listener() = default;

std::string Listener::name() const { return std::string(config::name_of(config_.type)) + " listener on " + config_.bind; }

bool Listener::uses_tls() const { return config::is_tls(config_.type); }

void Listener::start() { accept(); }

void Listener::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

std::optional<std::string> Listener::reload_tls() {
    if (!uses_tls()) return std::nullopt;
    try {
        auto context = make_server_context(config_);
        std::lock_guard lock(tls_mutex_);
        tls_ = std::move(context);
    } catch (const std::exception& e) {
        return e.what();
    }
    return std::nullopt;
}

std::shared_ptr<boost::asio::ssl::context> Listener::tls() const {
    std::lock_guard lock(tls_mutex_);
    return tls_;
}

void Listener::accept() {
    const std::size_t worker = next_worker_;
    next_worker_ = (next_worker_ + 1) % pool_.worker_count();
    // Accepted onto the worker's io_context, with its executor type (AcceptedSocket).
    acceptor_.async_accept(pool_.io(worker), [this, worker](const boost::system::error_code& ec, AcceptedSocket socket) {
        if (ec == boost::asio::error::operation_aborted) return;
        if (ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
            ec == boost::asio::error::no_memory) {
            // Retrying at once would spin: the pending connection stays in the backlog.
            log::get("broker")->error("{}: cannot accept: {}; retrying in 100 ms", name(), ec.message());
            retry_timer_.expires_after(std::chrono::milliseconds{100});
            retry_timer_.async_wait([this](const boost::system::error_code& wait_ec) {
                if (!wait_ec) accept();
            });
            return;
        }
        if (ec) {
            log::get("broker")->warn("{}: accept failed: {}", name(), ec.message());
        } else {
            accepted(std::move(socket), worker);
        }
        accept();
    });
}

void Listener::accepted(AcceptedSocket socket, std::size_t worker) {
    const bool listener_full = config_.max_connections > 0 && connections_->listener.load() >= config_.max_connections;
    if (listener_full || limits_.gateway_connections->load() >= limits_.gateway_max) {
        log::get("broker")->warn("{}: max_connections ({}) reached, closing a new connection", name(),
                                 listener_full ? config_.max_connections : limits_.gateway_max);
        return;  // the socket closes here
    }
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // gone already
    socket.set_option(tcp::no_delay(true), ec);

    broker::PeerInfo info;
    info.address = remote.address().to_string();
    info.allow_anonymous = config_.allow_anonymous;
    info.use_cert_cn_as_username = config_.use_cert_cn_as_username;
    auto request = std::make_shared<OpenRequest>(OpenRequest{
        .broker = broker_,
        .worker = worker,
        .deadlines = pool_.deadlines(worker),
        .type = config_.type,
        .path = config_.path,
        .settings = settings_,
        .info = std::move(info),
        .tls = tls(),
        .deadline = std::chrono::steady_clock::now() + settings_.connect_timeout,
        .slot = ConnectionSlot(connections_),
    });
    // The opening runs on the connection's own worker.
    boost::asio::post(pool_.io(worker), [s = std::make_shared<AcceptedSocket>(std::move(socket)), request]() mutable {
        open_connection(std::move(*s), std::move(request));
    });
}

}  // namespace fieldgate::transport
