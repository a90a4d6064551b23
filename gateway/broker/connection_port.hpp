#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldgate::broker {

class Session;
struct QueuePolicy;

// What the transport knows about a client before its CONNECT is decided: the
// listener's rules and, over TLS, the verified client certificate.
struct PeerInfo {
    std::string address;  // source IP without port: failed logins are slowed per address
    bool allow_anonymous = true;
    bool use_cert_cn_as_username = false;
    std::optional<std::string> certificate_cn;  // subject CN of a verified client certificate
    // In-process clients (a bridge, an adapter) are who they say, not who
    // they log in as: this identity is their username for the ACL. Their
    // client ids ("bridge:NAME") are reserved for them.
    std::optional<std::string> internal_identity;
    // How this client's session queues instead of [limits]
    // max_queued_messages (a bridge's queue); null: the broker's way.
    std::shared_ptr<const QueuePolicy> queue_policy;
};

// What a session asks of the network connection it is attached to. The
// transport implements it; every call happens on the connection's worker.
class ConnectionPort {
public:
    virtual ~ConnectionPort() = default;

    // Encoded packets are appended here and go out in one write soon after,
    // together with whatever else was appended in the meantime.
    virtual std::vector<std::uint8_t>& output() = 0;
    virtual void flush_soon() = 0;
    // Bytes waiting to be written; a session stops sending QoS 0 beyond a limit.
    virtual std::size_t pending_output() const = 0;

    // Ends the connection once the output has been written. The session is
    // told nothing more about this connection.
    virtual void close() = 0;
    // close(), but the output is written only after `delay`: a refused login
    // answers late, and nothing more is read from the client meanwhile.
    virtual void close_after(std::chrono::milliseconds delay) = 0;

    // The connection closes itself (and reports a keep-alive timeout) when no
    // packet arrives for this long; zero disables it.
    virtual void set_receive_timeout(std::chrono::milliseconds timeout) = 0;

    // The broker accepted the CONNECT: later packets go to `session`, and
    // reading, paused since the CONNECT, resumes.
    virtual void attach_session(Session& session) = 0;
    // False once the connection has ended (the client may go while its
    // CONNECT is still being decided on another worker).
    virtual bool is_open() const = 0;

    // "127.0.0.1:50312", for logs.
    virtual const std::string& peer() const = 0;
    // What the CONNECT is decided on, asked for until the session's attach()
    // has run. A network connection then lets it go (it would otherwise be
    // most of what an idle connection holds) and answers an empty PeerInfo.
    virtual const PeerInfo& peer_info() const = 0;
};

}  // namespace fieldgate::broker
