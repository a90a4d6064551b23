// Who the session's client is, and what the acl_file lets it publish and
// read. The checks themselves sit where the packets are handled (PUBLISH,
// SUBSCRIBE, delivery, will); with no acl_file acl_ is null and they cost a
// pointer test.
#include "gateway/broker/broker.hpp"
#include "gateway/broker/session.hpp"

namespace fieldgate::broker {

using mqtt::ReasonCode;

void Session::set_identity(std::optional<std::string> username, const auth::Acl* acl) {
    username_ = std::move(username);
    identified_ = true;
    rebind(acl);
    // Sent to an earlier connection but never acknowledged: resent on attach
    // unless the new identity may not read it.
    drop_unreadable(true);
}

void Session::rebind(const auth::Acl* acl) {
    if (!identified_) return;
    acl_ = acl ? std::make_unique<const auth::ClientAcl>(acl->bind(username_, client_id_)) : nullptr;
    drop_unreadable(false);
}

// Messages are checked as they are delivered to the session; these were
// checked under an identity or ACL that no longer holds. Released QoS 2
// messages stay: the client has them, only PUBREL/PUBCOMP remain.
void Session::drop_unreadable(bool in_flight_too) {
    if (!acl_) return;
    queue_.erase_if([this](const Delivery& d) {
        if (readable(d)) return false;
        message_done(d);
        return true;
    });
    if (!in_flight_too) return;
    std::erase_if(inflight_, [this](const Inflight& i) {
        if (i.released || readable(i.delivery)) return false;
        message_done(i.delivery);
        return true;
    });
}

// A PUBLISH the client may not write: dropped and counted. MQTT 5 says so in
// the acknowledgement; 3.1.1 cannot, and is acknowledged as usual, as
// mosquitto 2.0.11 does (a client would otherwise resend it for ever). A QoS 2
// refusal is not remembered as received: a 3.1.1 PUBREL still gets its
// PUBCOMP, and MQTT 5 ends the exchange at the error [MQTT 5.0, 4.3.3].
void Session::refuse_publish(const mqtt::Publish& publish) {
    broker_.stats().messages_dropped.fetch_add(1, std::memory_order_relaxed);
    const auto reason = mqtt::is_v5(version_) ? ReasonCode::not_authorized : ReasonCode::success;
    if (publish.qos == mqtt::QoS::at_least_once) {
        mqtt::Puback puback{publish.packet_id};
        puback.reason_code = reason;
        acknowledge(puback, {}, false);
    } else if (publish.qos == mqtt::QoS::exactly_once) {
        mqtt::Pubrec pubrec{publish.packet_id};
        pubrec.reason_code = reason;
        acknowledge(pubrec, {}, false);
    }
}

}  // namespace fieldgate::broker
