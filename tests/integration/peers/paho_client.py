#!/usr/bin/python3
"""A line-driven MQTT client for the integration tests, on Debian's
python3-paho-mqtt (1.6.x API).

Commands arrive on stdin, one JSON object per line ({"cmd": ...}); events
leave on stdout, one JSON object per line, flushed at once. One thread: a
select() loop over stdin and the client's socket drives paho's loop_read /
loop_write / loop_misc, so nothing happens behind the test's back (no
automatic reconnect, no background thread).

Commands
  connect      host, port, version ("3.1" | "3.1.1" | "5"), client_id,
               clean (clean session / clean start), keepalive, username,
               password, properties {...} (v5 CONNECT properties),
               will {topic, payload | payload_hex, qos, retain, properties},
               tls {ca_file, cert_file, key_file} (the server is verified
               against ca_file, host name included), transport ("tcp" |
               "websockets"), ws_path (websockets, default "/mqtt")
  subscribe    topics [{topic, qos, no_local, retain_as_published,
               retain_handling}] (or topic + qos), subscription_identifier,
               properties
  unsubscribe  topics [names] (or topic), properties
  publish      topic, payload | payload_hex, qos, retain, properties
  disconnect   reason_code (v5), properties
  drop         close the socket at once, without DISCONNECT
  wait_published  timeout (s): answers "all_published" once no outgoing
               QoS 1/2 message awaits its acknowledgement
  exit

Properties (both directions) use snake_case names: payload_format_indicator,
message_expiry_interval, content_type, response_topic, correlation_data
(text), subscription_identifier (a list in messages), session_expiry_interval,
assigned_client_identifier, server_keep_alive, request_problem_information,
will_delay_interval, receive_maximum, topic_alias_maximum, topic_alias,
maximum_qos, retain_available, user_property ([[name, value], ...]),
maximum_packet_size, reason_string, ...

Events
  connack      reason_code (v5 reason code, or the 3.x return code),
               session_present, properties
  suback       mid, reason_codes
  unsuback     mid, reason_codes (v5; empty before)
  published    mid, reason_code (PUBACK / PUBREC / PUBCOMP reason, 0 for QoS 0)
  message      topic, payload, payload_hex, qos, retain, dup, mid, properties
  disconnect   reason_code (from the server's DISCONNECT packet, else null),
               server_disconnect (a DISCONNECT packet arrived), rc (paho's code)
  sent         cmd, mid, rc       (a command was handed to paho)
  dropped, all_published {outstanding, timed_out}, error {message}
"""

import json
import os
import select
import socket
import ssl
import struct
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCodes
from paho.mqtt.subscribeoptions import SubscribeOptions

VERSIONS = {"3.1": mqtt.MQTTv31, "3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5, "5.0": mqtt.MQTTv5}

# snake_case name <-> paho's attribute name
PROPERTY_NAMES = {
    "payload_format_indicator": "PayloadFormatIndicator",
    "message_expiry_interval": "MessageExpiryInterval",
    "content_type": "ContentType",
    "response_topic": "ResponseTopic",
    "correlation_data": "CorrelationData",
    "subscription_identifier": "SubscriptionIdentifier",
    "session_expiry_interval": "SessionExpiryInterval",
    "assigned_client_identifier": "AssignedClientIdentifier",
    "server_keep_alive": "ServerKeepAlive",
    "authentication_method": "AuthenticationMethod",
    "authentication_data": "AuthenticationData",
    "request_problem_information": "RequestProblemInformation",
    "will_delay_interval": "WillDelayInterval",
    "request_response_information": "RequestResponseInformation",
    "response_information": "ResponseInformation",
    "server_reference": "ServerReference",
    "reason_string": "ReasonString",
    "receive_maximum": "ReceiveMaximum",
    "topic_alias_maximum": "TopicAliasMaximum",
    "topic_alias": "TopicAlias",
    "maximum_qos": "MaximumQoS",
    "retain_available": "RetainAvailable",
    "user_property": "UserProperty",
    "maximum_packet_size": "MaximumPacketSize",
    "wildcard_subscription_available": "WildcardSubscriptionAvailable",
    "subscription_identifier_available": "SubscriptionIdentifierAvailable",
    "shared_subscription_available": "SharedSubscriptionAvailable",
}
PAHO_TO_SNAKE = {v: k for k, v in PROPERTY_NAMES.items()}
BINARY_PROPERTIES = {"CorrelationData", "AuthenticationData"}


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def make_properties(packet_type, values):
    if not values:
        return None
    props = Properties(packet_type)
    for name, value in values.items():
        attr = PROPERTY_NAMES.get(name)
        if attr is None:
            raise ValueError("unknown property " + name)
        if attr in BINARY_PROPERTIES and isinstance(value, str):
            value = value.encode("utf-8")
        if attr == "UserProperty":
            value = [tuple(pair) for pair in value]
        setattr(props, attr, value)
    return props


def properties_json(props):
    out = {}
    if props is None:
        return out
    for attr, snake in PAHO_TO_SNAKE.items():
        if not hasattr(props, attr):
            continue
        value = getattr(props, attr)
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        elif attr == "UserProperty":
            value = [list(pair) for pair in value]
        elif attr == "SubscriptionIdentifier" and not isinstance(value, list):
            value = [value]
        out[snake] = value
    return out


def payload_of(command):
    if "payload_hex" in command:
        return bytes.fromhex(command["payload_hex"])
    return command.get("payload", "").encode("utf-8")


def reason_int(code):
    if code is None:
        return None
    if isinstance(code, ReasonCodes):
        return code.value
    return int(code)


def emit_message(msg):
    try:
        topic = msg.topic
    except UnicodeDecodeError:
        topic = None
    emit("message", topic=topic, topic_hex=bytes(msg._topic).hex(),
         payload=bytes(msg.payload).decode("utf-8", "replace"), payload_hex=bytes(msg.payload).hex(),
         qos=msg.qos, retain=bool(msg.retain), dup=bool(msg.dup), mid=msg.mid,
         properties=properties_json(getattr(msg, "properties", None)))


class DriverClient(mqtt.Client):
    """paho's client with the raw reason codes of CONNACK, DISCONNECT and the
    publish acknowledgements captured from the packets themselves (paho 1.6
    drops some of them, e.g. a one-byte DISCONNECT reason or a CONNACK it
    treats as a cue to retry). Messages are reported as their PUBLISH arrives,
    in wire order, also QoS 2 ones (paho hands those over only at PUBREL), and
    a resent PUBLISH is reported again, with its DUP flag."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fg_ack_reason = {}
        self.fg_server_disconnect = None
        self.fg_reported = {}  # mid -> QoS 2 message reported at its PUBLISH, awaiting PUBREL

    def _handle_connack(self):
        packet = bytes(self._in_packet["packet"])
        flags = packet[0] if len(packet) > 0 else 0
        result = packet[1] if len(packet) > 1 else None
        props = {}
        if self._protocol == mqtt.MQTTv5 and len(packet) > 2:
            p = Properties(PacketTypes.CONNACK)
            try:
                p.unpack(packet[2:])
                props = properties_json(p)
            except Exception as err:  # report, do not die
                props = {"unparsable": str(err)}
        emit("connack", reason_code=result, session_present=bool(flags & 1), flags=flags, properties=props)
        return super()._handle_connack()

    def _handle_disconnect(self):
        packet = bytes(self._in_packet["packet"])
        reason = packet[0] if len(packet) > 0 else 0
        props = {}
        if len(packet) > 1:
            p = Properties(PacketTypes.DISCONNECT)
            try:
                p.unpack(packet[1:])
                props = properties_json(p)
            except Exception as err:
                props = {"unparsable": str(err)}
        self.fg_server_disconnect = (reason, props)
        return super()._handle_disconnect()

    def _handle_publish(self):
        header = self._in_packet["command"]
        packet = bytes(self._in_packet["packet"])
        rc = super()._handle_publish()
        if (header & 0x06) >> 1 == 2 and len(packet) >= 2:
            topic_length = struct.unpack("!H", packet[:2])[0]
            if len(packet) >= 4 + topic_length:
                mid = struct.unpack("!H", packet[2 + topic_length:4 + topic_length])[0]
                msg = self._in_messages.get(mid)
                if msg is not None and self.fg_reported.get(mid) is not msg:
                    self.fg_reported[mid] = msg
                    emit_message(msg)
        return rc

    def _handle_on_message(self, message):
        if message.qos == 2 and self.fg_reported.get(message.mid) is message:
            del self.fg_reported[message.mid]
        else:
            emit_message(message)
        return super()._handle_on_message(message)

    def _record_ack(self):
        packet = bytes(self._in_packet["packet"])
        if len(packet) >= 2:
            mid = struct.unpack("!H", packet[:2])[0]
            reason = packet[2] if len(packet) > 2 else 0
            if mid not in self.fg_ack_reason or reason >= 0x80:
                self.fg_ack_reason[mid] = reason

    def _handle_pubackcomp(self, cmd):
        self._record_ack()
        return super()._handle_pubackcomp(cmd)

    def _handle_pubrec(self):
        self._record_ack()
        return super()._handle_pubrec()


class Driver:
    def __init__(self):
        self.client = None
        self.version = mqtt.MQTTv311
        self.waiting_published = None  # deadline of a wait_published, or None

    # --- paho callbacks ---------------------------------------------------

    def on_subscribe(self, client, userdata, mid, granted, properties=None):
        emit("suback", mid=mid, reason_codes=[reason_int(c) for c in granted])

    def on_unsubscribe(self, client, userdata, mid, properties=None, reasons=None):
        if reasons is None:
            codes = []
        elif isinstance(reasons, list):
            codes = [reason_int(c) for c in reasons]
        else:
            codes = [reason_int(reasons)]
        emit("unsuback", mid=mid, reason_codes=codes)

    def on_publish(self, client, userdata, mid):
        emit("published", mid=mid, reason_code=client.fg_ack_reason.pop(mid, 0))

    def on_disconnect(self, client, userdata, rc, properties=None):
        server = client.fg_server_disconnect
        if server is not None:
            emit("disconnect", reason_code=server[0], server_disconnect=True, properties=server[1],
                 rc=reason_int(rc))
        else:
            emit("disconnect", reason_code=None, server_disconnect=False, properties={}, rc=reason_int(rc))

    # --- commands ---------------------------------------------------------

    def cmd_connect(self, c):
        self.version = VERSIONS[str(c.get("version", "3.1.1"))]
        client_id = c.get("client_id", "")
        clean = bool(c.get("clean", True))
        v5 = self.version == mqtt.MQTTv5
        transport = c.get("transport", "tcp")
        if v5:
            client = DriverClient(client_id="x", protocol=self.version, reconnect_on_failure=False,
                                  transport=transport)
        else:
            client = DriverClient(client_id="x", clean_session=clean, protocol=self.version,
                                  reconnect_on_failure=False, transport=transport)
        if transport == "websockets":
            client.ws_set_options(path=c.get("ws_path", "/mqtt"))
        tls = c.get("tls")
        if tls:
            client.tls_set(ca_certs=tls.get("ca_file") or None, certfile=tls.get("cert_file"),
                           keyfile=tls.get("key_file"), cert_reqs=ssl.CERT_REQUIRED,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)
        # Exactly the identifier asked for, even an empty one with clean
        # session 0 or for 3.1, which paho would refuse or replace.
        client._client_id = client_id.encode("utf-8")
        client.suppress_exceptions = False
        client.on_subscribe = self.on_subscribe
        client.on_unsubscribe = self.on_unsubscribe
        client.on_publish = self.on_publish
        client.on_disconnect = self.on_disconnect
        if "username" in c:
            client.username_pw_set(c["username"], c.get("password"))
        will = c.get("will")
        if will:
            client.will_set(will["topic"], payload_of(will), int(will.get("qos", 0)), bool(will.get("retain", False)),
                            make_properties(PacketTypes.WILLMESSAGE, will.get("properties")) if v5 else None)
        self.client = client
        kwargs = {}
        if v5:
            kwargs["clean_start"] = clean
            kwargs["properties"] = make_properties(PacketTypes.CONNECT, c.get("properties"))
        rc = client.connect(c.get("host", "127.0.0.1"), int(c["port"]), int(c.get("keepalive", 60)), **kwargs)
        emit("sent", cmd="connect", mid=None, rc=rc)

    def require_client(self):
        if self.client is None:
            raise RuntimeError("not connected")
        return self.client

    def cmd_subscribe(self, c):
        client = self.require_client()
        topics = c.get("topics") or [{"topic": c["topic"], "qos": c.get("qos", 0)}]
        props = dict(c.get("properties") or {})
        if "subscription_identifier" in c:
            props["subscription_identifier"] = c["subscription_identifier"]
        if self.version == mqtt.MQTTv5:
            items = [(t["topic"], SubscribeOptions(qos=int(t.get("qos", 0)), noLocal=bool(t.get("no_local", False)),
                                                   retainAsPublished=bool(t.get("retain_as_published", False)),
                                                   retainHandling=int(t.get("retain_handling", 0))))
                     for t in topics]
            rc, mid = client.subscribe(items, properties=make_properties(PacketTypes.SUBSCRIBE, props))
        else:
            rc, mid = client.subscribe([(t["topic"], int(t.get("qos", 0))) for t in topics])
        emit("sent", cmd="subscribe", mid=mid, rc=rc)

    def cmd_unsubscribe(self, c):
        client = self.require_client()
        topics = c.get("topics") or [c["topic"]]
        if self.version == mqtt.MQTTv5:
            rc, mid = client.unsubscribe(topics, properties=make_properties(PacketTypes.UNSUBSCRIBE,
                                                                            c.get("properties")))
        else:
            rc, mid = client.unsubscribe(topics)
        emit("sent", cmd="unsubscribe", mid=mid, rc=rc)

    def cmd_publish(self, c):
        client = self.require_client()
        props = make_properties(PacketTypes.PUBLISH, c.get("properties")) if self.version == mqtt.MQTTv5 else None
        info = client.publish(c.get("topic", ""), payload_of(c), int(c.get("qos", 0)), bool(c.get("retain", False)),
                              properties=props)
        emit("sent", cmd="publish", mid=info.mid, rc=info.rc)

    def cmd_disconnect(self, c):
        client = self.require_client()
        reason = None
        if self.version == mqtt.MQTTv5 and "reason_code" in c:
            reason = ReasonCodes(PacketTypes.DISCONNECT, identifier=int(c["reason_code"]))
        props = make_properties(PacketTypes.DISCONNECT, c.get("properties")) if self.version == mqtt.MQTTv5 else None
        rc = client.disconnect(reasoncode=reason, properties=props)
        emit("sent", cmd="disconnect", mid=None, rc=rc)

    def cmd_drop(self, c):
        client = self.require_client()
        sock = client.socket()
        if sock is not None:
            # A reset, not an orderly close: the broker sees the connection
            # lost, never a DISCONNECT.
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            sock.close()
        client._sock = None
        self.client = None
        emit("dropped")

    def cmd_wait_published(self, c):
        self.waiting_published = time.monotonic() + float(c.get("timeout", 5))
        self.check_published()

    def check_published(self):
        if self.waiting_published is None:
            return
        outstanding = len(self.client._out_messages) if self.client is not None else 0
        timed_out = time.monotonic() >= self.waiting_published
        if outstanding == 0 or timed_out:
            self.waiting_published = None
            emit("all_published", outstanding=outstanding, timed_out=timed_out and outstanding > 0)

    def handle(self, line):
        line = line.strip()
        if not line:
            return True
        try:
            command = json.loads(line)
            name = command.get("cmd")
            if name == "exit":
                return False
            method = getattr(self, "cmd_" + str(name), None)
            if method is None:
                raise ValueError("unknown command " + repr(name))
            method(command)
        except Exception as err:
            emit("error", message="%s: %s" % (type(err).__name__, err), line=line)
        return True

    def run(self):
        pending = b""
        stdin = sys.stdin.fileno()
        while True:
            client = self.client
            sock = client.socket() if client is not None else None
            readers = [stdin] + ([sock] if sock is not None else [])
            writers = [sock] if sock is not None and client.want_write() else []
            # Bytes TLS has already decrypted (a record may hold several
            # packets) are not seen by select(): do not wait for more.
            buffered = sock is not None and hasattr(sock, "pending") and sock.pending() > 0
            try:
                readable, writable, _ = select.select(readers, writers, [], 0 if buffered else 0.05)
            except (OSError, ValueError):
                readable, writable = [], []
            if buffered and sock not in readable:
                readable = list(readable) + [sock]
            if sock is not None and sock in readable and self.client is client:
                client.loop_read()
            if sock is not None and sock in writable and self.client is client and client.socket() is not None:
                client.loop_write()
            if self.client is not None:
                self.client.loop_misc()
            self.check_published()
            if stdin in readable:
                data = os.read(stdin, 65536)
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if not self.handle(line.decode("utf-8")):
                        return


if __name__ == "__main__":
    try:
        Driver().run()
    except KeyboardInterrupt:
        pass
