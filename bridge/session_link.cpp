#include "bridge/session_link.hpp"

#include <boost/asio/post.hpp>

#include "gateway/broker/session.hpp"

namespace fieldgate::bridge {

SessionLink::SessionLink(boost::asio::any_io_executor executor, Owner& owner, broker::PeerInfo info, std::string name)
    : executor_(std::move(executor)), owner_(&owner), info_(std::move(info)), name_(std::move(name)) {}

void SessionLink::detach() {
    owner_ = nullptr;
    closed_ = true;
    output_.clear();
    if (auto* session = std::exchange(session_, nullptr)) session->connection_lost();
}

void SessionLink::flush_soon() {
    if (flush_posted_ || owner_ == nullptr) return;
    flush_posted_ = true;
    boost::asio::post(executor_, [self = shared_from_this()] {
        self->flush_posted_ = false;
        self->deliver_output();
    });
}

void SessionLink::deliver_output() {
    if (owner_ == nullptr || output_.empty()) return;
    std::vector<std::uint8_t> bytes;
    bytes.swap(output_);
    owner_->from_session(*this, bytes);
}

void SessionLink::close() {
    // The session ended this attachment (taken over, or the broker is
    // stopping); what it wrote last still reaches the owner.
    session_ = nullptr;
    closed_ = true;
    flush_soon();
}

void SessionLink::attach_session(broker::Session& session) {
    session_ = &session;
    boost::asio::post(executor_, [self = shared_from_this()] {
        if (self->owner_ != nullptr && self->session_ != nullptr) self->owner_->session_attached(*self);
    });
}

}  // namespace fieldgate::bridge
