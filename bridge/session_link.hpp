#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/broker/connection_port.hpp"

namespace fieldgate::bridge {

// The bridge's side of its broker session: a ConnectionPort with no socket.
// The session's encoded packets are handed to the owner in batches (once per
// turn of the worker's loop); the owner hands packets to the session
// directly. One link per attachment: a new uplink connection gets a new one.
class SessionLink final : public broker::ConnectionPort, public std::enable_shared_from_this<SessionLink> {
public:
    struct Owner {
        virtual ~Owner() = default;
        virtual void session_attached(SessionLink& link) = 0;
        // Encoded packets the session wrote (MQTT 5).
        virtual void from_session(SessionLink& link, const std::vector<std::uint8_t>& bytes) = 0;
    };

    SessionLink(boost::asio::any_io_executor executor, Owner& owner, broker::PeerInfo info, std::string name);

    broker::Session* session() const { return session_; }
    // The bridge lets go: the session is told its connection was lost and
    // keeps queueing; nothing more reaches the owner.
    void detach();

    // broker::ConnectionPort
    std::vector<std::uint8_t>& output() override { return output_; }
    void flush_soon() override;
    std::size_t pending_output() const override { return output_.size(); }
    void close() override;
    void close_after(std::chrono::milliseconds) override { close(); }
    void set_receive_timeout(std::chrono::milliseconds) override {}  // the uplink keeps its own time
    void attach_session(broker::Session& session) override;
    bool is_open() const override { return !closed_; }
    const std::string& peer() const override { return name_; }
    const broker::PeerInfo& peer_info() const override { return info_; }

private:
    void deliver_output();

    boost::asio::any_io_executor executor_;
    Owner* owner_;  // null once detached
    broker::PeerInfo info_;
    std::string name_;
    broker::Session* session_ = nullptr;
    std::vector<std::uint8_t> output_;
    bool flush_posted_ = false;
    bool closed_ = false;
};

}  // namespace fieldgate::bridge
