#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_stream_parser: byte streams of valid MQTT packets.

The bytes are built by hand here, from the spec's layouts, independently of our
encoder, so a bug in the encoder cannot hide in the seeds. Each file is a
stream as a connection would carry it: a CONNECT first (it sets the version the
parser decodes the rest in), then packets of that version. A few files hold
just one packet, or server-to-client packets.

Run once after a change; the files are committed:
    python3 tests/fuzz/make_corpus.py
"""

import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "stream_parser"


# --- data types [MQTT 5.0, 1.5] ---------------------------------------------

def vbi(n):
    """Variable Byte Integer [1.5.5]."""
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def u8(n):
    return struct.pack(">B", n)


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def s(text):
    """UTF-8 Encoded String [1.5.4]; also Binary Data [1.5.6] when given bytes."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return u16(len(raw)) + raw


def packet(first_byte, body):
    """Fixed header [2.1] + body."""
    return u8(first_byte) + vbi(len(body)) + body


def props(*items):
    """Property list [2.2.2]: length then (identifier, value) pairs already encoded."""
    body = b"".join(u8(pid) + value for pid, value in items)
    return vbi(len(body)) + body


NO_PROPS = b"\x00"


# --- CONNECT [3.1] -----------------------------------------------------------

def connect_v31():
    # "MQIsdp", level 3, clean session + username + password, keep alive 60.
    flags = 0x80 | 0x40 | 0x02
    body = s("MQIsdp") + u8(3) + u8(flags) + u16(60)
    body += s("fg-v31-client") + s("user") + s(b"secret")
    return packet(0x10, body)


def connect_v311():
    # Will (QoS 1, retained), username, password, clean session.
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02
    body = s("MQTT") + u8(4) + u8(flags) + u16(30)
    body += s("fg-v311-client") + s("status/fg-v311") + s(b"offline")
    body += s("user") + s(b"pass")
    return packet(0x10, body)


def connect_v311_minimal():
    # Empty client id with clean session [MQTT-3.1.3-7], keep alive off.
    return packet(0x10, s("MQTT") + u8(4) + u8(0x02) + u16(0) + s(""))


def connect_v5():
    # Will (QoS 2, not retained), username, password, clean start.
    flags = 0x80 | 0x40 | 0x10 | 0x04 | 0x02
    connect_props = props(
        (0x11, u32(3600)),                   # session expiry interval
        (0x21, u16(20)),                     # receive maximum
        (0x27, u32(65536)),                  # maximum packet size
        (0x22, u16(10)),                     # topic alias maximum
        (0x19, u8(1)),                       # request response information
        (0x17, u8(1)),                       # request problem information
        (0x26, s("site") + s("line3")),      # user property
        (0x26, s("site") + s("line4")),      # repeated name is allowed
        (0x15, s("SCRAM-SHA-1")),            # authentication method
        (0x16, s(b"\x01\x02\x03")),          # authentication data
    )
    will_props = props(
        (0x18, u32(5)),                      # will delay interval
        (0x01, u8(1)),                       # payload format: UTF-8
        (0x02, u32(120)),                    # message expiry interval
        (0x03, s("text/plain")),             # content type
        (0x08, s("reply/fg-v5")),            # response topic
        (0x09, s(b"corr-1")),                # correlation data
        (0x26, s("reason") + s("power")),    # user property
    )
    body = s("MQTT") + u8(5) + u8(flags) + u16(15) + connect_props
    body += s("fg-v5-client") + will_props + s("status/fg-v5") + s(b"offline")
    body += s("user") + s(b"pass")
    return packet(0x10, body)


def connect_v5_minimal():
    return packet(0x10, s("MQTT") + u8(5) + u8(0x02) + u16(60) + NO_PROPS + s("c"))


# --- packets after CONNECT, 3.1 / 3.1.1 ----------------------------------------

def publish_v3(qos, topic, payload, pid=0, dup=False, retain=False):
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = s(topic) + (u16(pid) if qos else b"") + payload
    return packet(first, body)


def ack_v3(first, pid):
    return packet(first, u16(pid))


def subscribe_v3(pid, *pairs):
    return packet(0x82, u16(pid) + b"".join(s(f) + u8(q) for f, q in pairs))


def unsubscribe_v3(pid, *filters):
    return packet(0xA2, u16(pid) + b"".join(s(f) for f in filters))


PINGREQ = packet(0xC0, b"")
PINGRESP = packet(0xD0, b"")
DISCONNECT_SHORT = packet(0xE0, b"")


def client_stream_v3():
    return b"".join([
        subscribe_v3(1, ("plant/line3/+/temp", 1), ("plant/#", 0), ("cmd/fg", 2)),
        publish_v3(0, "plant/line3/plc1/temp", b"21.5"),
        publish_v3(1, "plant/line3/plc1/temp", b"21.6", pid=2),
        publish_v3(2, "plant/line3/plc1/state", b"running", pid=3, retain=True),
        publish_v3(1, "plant/line3/plc1/temp", b"21.6", pid=2, dup=True),
        publish_v3(0, "empty/payload", b""),
        ack_v3(0x40, 10),   # PUBACK
        ack_v3(0x50, 11),   # PUBREC
        ack_v3(0x62, 11),   # PUBREL (flags 0010 [MQTT-3.6.1-1])
        ack_v3(0x70, 11),   # PUBCOMP
        unsubscribe_v3(4, "plant/#", "cmd/fg"),
        PINGREQ,
        DISCONNECT_SHORT,
    ])


def server_stream_v3():
    return b"".join([
        packet(0x20, u8(0x01) + u8(0x00)),               # CONNACK, session present
        packet(0x90, u16(1) + bytes([0x01, 0x00, 0x80])),  # SUBACK incl. failure
        publish_v3(1, "cmd/fg", b'{"reboot":false}', pid=7),
        packet(0xB0, u16(4)),                            # UNSUBACK
        PINGRESP,
    ])


# --- packets after CONNECT, 5.0 ----------------------------------------------

def publish_v5(qos, topic, payload, properties=NO_PROPS, pid=0, dup=False, retain=False):
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = s(topic) + (u16(pid) if qos else b"") + properties + payload
    return packet(first, body)


def ack_v5(first, pid, reason=None, properties=None):
    body = u16(pid)
    if reason is not None:
        body += u8(reason)
        if properties is not None:
            body += properties
    return packet(first, body)


def client_stream_v5():
    sub_opts = 0x01 | 0x04 | 0x08 | 0x10  # QoS 1, no local, retain as published, handling 1
    return b"".join([
        packet(0x82, u16(1) + props((0x0B, vbi(300)), (0x26, s("k") + s("v")))
               + s("plant/line3/+/temp") + u8(sub_opts)
               + s("$share/dash/plant/#") + u8(0x02 | 0x20)    # QoS 2, handling 2
               + s("cmd/fg") + u8(0x00)),
        publish_v5(0, "plant/line3/plc1/temp", b"21.5"),
        publish_v5(1, "plant/line3/plc1/temp", b"21.6", pid=2, properties=props(
            (0x01, u8(1)),
            (0x02, u32(60)),
            (0x03, s("text/plain")),
            (0x26, s("unit") + s("degC")),
            (0x26, s("source") + s("plc1")),
        )),
        publish_v5(2, "plant/line3/plc1/state", b"running", pid=3, retain=True, properties=props(
            (0x23, u16(1)),                          # topic alias 1 set ...
            (0x08, s("reply/plc1")),
            (0x09, s(b"\x00\x01")),
        )),
        publish_v5(0, "", b"stopped", properties=props((0x23, u16(1)))),  # ... and used
        ack_v5(0x40, 10),                                          # PUBACK, reason omitted
        ack_v5(0x40, 12, 0x10),                                    # PUBACK, no subscribers
        ack_v5(0x50, 11, 0x00, props((0x1F, s("ok")))),            # PUBREC with reason string
        ack_v5(0x62, 11, 0x92, NO_PROPS),                          # PUBREL, id not found
        ack_v5(0x70, 11),                                          # PUBCOMP
        packet(0xA2, u16(4) + props((0x26, s("why") + s("done")))
               + s("plant/#") + s("$share/dash/plant/#")),
        packet(0xF0, u8(0x19) + props((0x15, s("SCRAM-SHA-1")), (0x16, s(b"\xAA\xBB")))),  # AUTH
        PINGREQ,
        packet(0xE0, u8(0x04) + props((0x11, u32(0)), (0x1F, s("bye")))),  # DISCONNECT with will
    ])


def server_stream_v5():
    return b"".join([
        packet(0x20, u8(0x00) + u8(0x00) + props(
            (0x11, u32(3600)), (0x21, u16(100)), (0x24, u8(1)), (0x25, u8(1)),
            (0x27, u32(1 << 20)), (0x12, s("auto-1")), (0x22, u16(5)), (0x1F, s("welcome")),
            (0x28, u8(1)), (0x29, u8(1)), (0x2A, u8(0)), (0x13, u16(30)),
            (0x1A, s("resp/")), (0x1C, s("other:1883")),
        )),
        packet(0x90, u16(1) + props((0x1F, s("partial"))) + bytes([0x01, 0x02, 0x9E])),  # SUBACK
        publish_v5(1, "cmd/fg", b"go", pid=7, properties=props((0x0B, vbi(300)), (0x0B, vbi(1)))),
        packet(0xB0, u16(4) + NO_PROPS + bytes([0x00, 0x11])),  # UNSUBACK
        PINGRESP,
        packet(0xF0, b""),                                     # AUTH, success, short form
        packet(0xE0, u8(0x8B) + NO_PROPS),                     # DISCONNECT, shutting down
    ])


def main():
    files = {
        "connect_v31": connect_v31(),
        "connect_v311": connect_v311(),
        "connect_v5": connect_v5(),
        "stream_v31": connect_v31() + client_stream_v3(),
        "stream_v311": connect_v311() + client_stream_v3(),
        "stream_v311_server": connect_v311_minimal() + server_stream_v3(),
        "stream_v5": connect_v5() + client_stream_v5(),
        "stream_v5_minimal": connect_v5_minimal() + client_stream_v5(),
        "stream_v5_server": connect_v5_minimal() + server_stream_v5(),
        # Without a CONNECT the parser decodes in 3.1.1.
        "no_connect_v311": client_stream_v3(),
        "publish_qos0": publish_v3(0, "a/b", b"x"),
        "publish_qos2_large": publish_v3(2, "a/b", bytes(range(256)) * 2, pid=65535),
        "pingreq": PINGREQ,
        "disconnect": DISCONNECT_SHORT,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(files)} files to {OUT}")


if __name__ == "__main__":
    main()
