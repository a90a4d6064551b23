#!/usr/bin/python3
# bench/bridge_clients.py: the MQTT clients of bench/bridge_compare.sh (paho-mqtt
# 1.6, Debian's python3-paho-mqtt; run with /usr/bin/python3).
#
#   pub      QoS 1 publisher with sequence numbers. Publishes seq 0..COUNT-1
#            (payload: the seq as 10 digits, a space, padding to --size bytes)
#            on TOPIC, at most WINDOW unacknowledged, as fast as the broker
#            acknowledges or at --rate messages per second, for --count
#            messages or --duration seconds. When the connection drops it
#            reconnects (every 50 ms) and publishes again, first, every
#            message that had no PUBACK yet (what a QoS 1 client does; the
#            broker may then get one twice). Writes --acked FILE at the end
#            (atomically): one line "seq sent acked" per acknowledged message
#            (wall-clock seconds of its first send and of its PUBACK).
#   sub      Persistent-session (clean session false) QoS 1 subscriber to
#            FILTER that reconnects (every 50 ms) when the connection drops.
#            Writes --ready FILE after its first SUBACK. Stops when --stop-file
#            exists (the publisher's --acked file) and it has every seq listed
#            there, or nothing came for --idle seconds after that, or at
#            --deadline, or on SIGTERM; then writes --arrivals FILE (one line
#            "seq time" per PUBLISH received, duplicates included).
#   analyse  Reads an --acked file and an --arrivals file and prints one line
#            of key=value figures (see analyse() below).
#   probe    A local client's view of the broker while it works: every
#            --interval seconds a QoS 1 PUBLISH on a probe topic it subscribes
#            to (not bridged), and the time until it comes back. Runs until
#            --stop-file exists or --deadline; writes --samples FILE (one line
#            "sent rtt" per probe, rtt -1 for one not back within 5 s).
#   rtt      Reads a --samples file and prints the probes' p50/p99/max round
#            trip in ms and the lost ones, for those sent in [--from, --to].
#
# All times are time.time() (wall clock, seconds): the shell script marks
# events with bash's $EPOCHREALTIME on the same clock.
import argparse
import os
import signal
import sys
import time

import paho.mqtt.client as mqtt

PROTOCOLS = {"mqtt311": mqtt.MQTTv311, "mqtt5": mqtt.MQTTv5}


def log(*args):
    print("bridge_clients:", *args, file=sys.stderr, flush=True)


def write_atomically(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(lines))
    os.replace(tmp, path)


def make_client(client_id, protocol, clean):
    if protocol == mqtt.MQTTv5:
        c = mqtt.Client(client_id=client_id, protocol=protocol)
    else:
        c = mqtt.Client(client_id=client_id, clean_session=clean, protocol=protocol)
    return c


def connect(c, args, clean):
    """Connects (blocking until CONNACK or failure); True when connected."""
    try:
        if c._protocol == mqtt.MQTTv5:
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            props = Properties(PacketTypes.CONNECT)
            if not clean:
                props.SessionExpiryInterval = 3600
            c.connect("127.0.0.1", args.port, keepalive=30, clean_start=clean, properties=props)
        else:
            c.connect("127.0.0.1", args.port, keepalive=30)
    except OSError:
        return False
    t_end = time.time() + 5
    while time.time() < t_end:
        if c.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
            return False
        if c.is_connected():
            return True
    return False


# --- publisher ----------------------------------------------------------------
def publish(args):
    proto = PROTOCOLS[args.protocol]
    pad = max(0, args.size - 11)
    filler = b"x" * pad
    sent = {}       # seq -> first send time
    acked = {}      # seq -> PUBACK time
    inflight = {}   # mid -> seq, for the current connection
    resend = []     # seqs to publish again first after a reconnect
    state = {"lost": False}
    t_stop = time.time() + args.deadline

    def on_publish(client, userdata, mid):
        seq = inflight.pop(mid, None)
        if seq is not None and seq not in acked:
            acked[seq] = time.time()

    def on_disconnect(client, userdata, rc, *rest):
        state["lost"] = True

    def new_client():
        c = make_client(args.client_id, proto, True)
        c.max_inflight_messages_set(args.window + 1)  # the window is kept below
        c.on_publish = on_publish
        c.on_disconnect = on_disconnect
        return c

    def send(c, seq):
        info = c.publish(args.topic, b"%010d " % seq + filler, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        inflight[info.mid] = seq
        sent.setdefault(seq, time.time())
        return True

    c = new_client()
    reconnects = 0
    while not connect(c, args, True):
        if time.time() > t_stop:
            log("pub: could not connect to port %d" % args.port)
            return 1
        time.sleep(0.05)
    t0 = time.time()
    t_end = t0 + args.duration if args.duration > 0 else None
    next_seq = 0

    def more():
        if t_end is not None:
            return time.time() < t_end
        return next_seq < args.count

    while True:
        now = time.time()
        if now > t_stop:
            log("pub: deadline reached with %d unacknowledged" % (len(inflight) + len(resend)))
            break
        if state["lost"]:
            # The connection dropped: everything unacknowledged is sent again.
            resend = sorted(set(resend) | set(inflight.values()))
            inflight.clear()
            try:
                c.socket() and c.socket().close()
            except OSError:
                pass
            c = new_client()
            state["lost"] = False
            while not connect(c, args, True):
                if time.time() > t_stop:
                    break
                time.sleep(0.05)
            reconnects += 1
            continue
        while resend and len(inflight) < args.window:
            if not send(c, resend[0]):
                break
            resend.pop(0)
        while not resend and len(inflight) < args.window and more():
            if args.rate > 0 and now < t0 + next_seq / args.rate:
                break
            if not send(c, next_seq):
                break
            next_seq += 1
        if not more() and not inflight and not resend:
            break
        wait = 0.01
        if args.rate > 0 and more():
            wait = max(0.0, min(wait, t0 + next_seq / args.rate - time.time()))
        if c.loop(timeout=wait) != mqtt.MQTT_ERR_SUCCESS:
            state["lost"] = True
    t1 = time.time()
    try:
        c.disconnect()
        c.loop(timeout=0.1)
    except OSError:
        pass
    write_atomically(args.acked, ["%d %.6f %.6f\n" % (s, sent[s], acked[s]) for s in sorted(acked)])
    n = len(acked)
    print("published=%d acked=%d unacked=%d reconnects=%d pub_seconds=%.3f pub_rate=%.0f" %
          (next_seq, n, next_seq - n, reconnects, t1 - t0, n / (t1 - t0) if t1 > t0 else 0))
    return 0


# --- subscriber -----------------------------------------------------------------
def subscribe(args):
    proto = PROTOCOLS[args.protocol]
    arrivals = []   # (seq, time)
    seen = set()
    state = {"lost": False, "subscribed": False, "stop": False}
    t_stop = time.time() + args.deadline

    def on_message(client, userdata, msg):
        try:
            seq = int(msg.payload[:10])
        except ValueError:
            return
        arrivals.append((seq, time.time()))
        seen.add(seq)

    def on_subscribe(client, userdata, mid, *rest):
        if not state["subscribed"]:
            state["subscribed"] = True
            if args.ready:
                write_atomically(args.ready, ["%.6f\n" % time.time()])

    def on_connect(client, userdata, flags, rc, *rest):
        if rc == 0:
            client.subscribe(args.filter, qos=1)

    def on_disconnect(client, userdata, rc, *rest):
        state["lost"] = True

    def on_term(signum, frame):
        state["stop"] = True

    signal.signal(signal.SIGTERM, on_term)

    def new_client():
        c = make_client(args.client_id, proto, False)
        c.max_inflight_messages_set(100)
        c.on_message = on_message
        c.on_subscribe = on_subscribe
        c.on_connect = on_connect
        c.on_disconnect = on_disconnect
        return c

    c = new_client()
    connects = 0
    connected = False
    expected = None
    last_count = 0
    last_change = time.time()
    reason = "deadline"
    while not state["stop"]:
        now = time.time()
        if now > t_stop:
            break
        if not connected:
            if connect(c, args, False):
                connected = True
                connects += 1
            else:
                c = new_client()
                time.sleep(0.05)
                continue
        if c.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS or state["lost"]:
            state["lost"] = False
            connected = False
            try:
                c.socket() and c.socket().close()
            except OSError:
                pass
            c = new_client()
            continue
        if len(arrivals) != last_count:
            last_count = len(arrivals)
            last_change = now
        if expected is None and args.stop_file and os.path.exists(args.stop_file):
            with open(args.stop_file) as f:
                expected = {int(line.split()[0]) for line in f if line.strip()}
            last_change = max(last_change, now)
        if expected is not None:
            if expected <= seen:
                reason = "complete"
                break
            if now - last_change > args.idle:
                reason = "idle"
                break
    if state["stop"]:
        reason = "sigterm"
    try:
        c.disconnect()
    except OSError:
        pass
    write_atomically(args.arrivals, ["%d %.6f\n" % a for a in arrivals])
    print("received=%d distinct=%d connects=%d stopped=%s" % (len(arrivals), len(seen), connects, reason))
    return 0


# --- analysis -------------------------------------------------------------------
def analyse(args):
    acked = {}
    with open(args.acked) as f:
        for line in f:
            s, sent, ack = line.split()
            acked[int(s)] = (float(sent), float(ack))
    first = {}  # seq -> first arrival time
    received = 0
    dups = 0
    out_of_order = 0
    max_seq = -1
    with open(args.arrivals) as f:
        for line in f:
            s, t = line.split()
            s, t = int(s), float(t)
            received += 1
            if s in first:
                dups += 1
                continue
            first[s] = t
            if s < max_seq:
                out_of_order += 1
            max_seq = max(max_seq, s)
    missing = sorted(s for s in acked if s not in first)
    out = {
        "acked": len(acked),
        "received": received,
        "distinct": len(first),
        "missing_acked": len(missing),
        "duplicates": dups,
        "out_of_order": out_of_order,
    }
    if missing:
        shown = missing[:20]
        out["missing_seqs"] = ",".join(str(s) for s in shown) + ("..." if len(missing) > len(shown) else "")
    if first:
        times = sorted(first.values())
        t_first, t_last = times[0], times[-1]
        out["sub_seconds"] = "%.3f" % (t_last - t_first)
        if len(times) > 1 and t_last > t_first:
            out["sub_rate"] = "%.0f" % ((len(times) - 1) / (t_last - t_first))
        if acked:
            t_pub0 = min(v[0] for v in acked.values())
            if t_last > t_pub0:
                out["end_to_end_rate"] = "%.0f" % (len(first) / (t_last - t_pub0))
    if args.restart is not None and acked:
        r = args.restart
        # Backlog: everything acknowledged before the restart is upstream.
        before = [s for s in acked if acked[s][1] <= r]
        if before and all(s in first for s in before):
            out["backlog_s"] = "%.3f" % (max(first[s] for s in before) - r)
        else:
            out["backlog_s"] = "never"
        after = [t for t in first.values() if t >= r]
        out["first_after_restart_s"] = "%.3f" % (min(after) - r) if after else "never"
        # Caught up: the first message published after the restart such that
        # it and every message published before it are upstream within LAG
        # seconds of its publication; the time is when the last of them came.
        order = sorted(acked, key=lambda s: acked[s][0])
        have_all = -1.0  # when every message so far (in publish order) had arrived
        caught = None
        for s in order:
            t = first.get(s)
            if t is None:
                continue  # lost: counted in missing_acked
            have_all = max(have_all, t)
            sent = acked[s][0]
            if sent >= r and have_all - sent <= args.lag:
                caught = have_all
                break
        out["catchup_s"] = "%.3f" % (caught - r) if caught is not None else "never"
    print(" ".join("%s=%s" % kv for kv in out.items()))
    return 0


# --- probe ------------------------------------------------------------------------
def probe(args):
    proto = PROTOCOLS[args.protocol]
    pending = {}   # seq -> send time
    samples = []   # (sent, rtt)
    t_stop = time.time() + args.deadline
    topic = "probe/%s/rtt" % args.client_id

    def on_message(client, userdata, msg):
        try:
            seq = int(msg.payload)
        except ValueError:
            return
        sent = pending.pop(seq, None)
        if sent is not None:
            samples.append((sent, time.time() - sent))

    c = make_client(args.client_id, proto, True)
    c.on_message = on_message
    while not connect(c, args, True):
        if time.time() > t_stop:
            log("probe: could not connect to port %d" % args.port)
            return 1
        time.sleep(0.05)
    c.subscribe(topic, qos=1)
    seq = 0
    next_send = time.time() + 0.5  # after the SUBACK
    while time.time() < t_stop and not (args.stop_file and os.path.exists(args.stop_file)):
        now = time.time()
        if now >= next_send:
            pending[seq] = now
            c.publish(topic, b"%d" % seq, qos=1)
            seq += 1
            next_send += args.interval
        for s in [s for s, t in pending.items() if now - t > 5]:
            samples.append((pending.pop(s), -1.0))
        if c.loop(timeout=max(0.0, min(0.01, next_send - time.time()))) != mqtt.MQTT_ERR_SUCCESS:
            log("probe: connection lost")
            break
    for s, t in pending.items():
        samples.append((t, -1.0))
    write_atomically(args.samples, ["%.6f %.6f\n" % st for st in sorted(samples)])
    return 0


def rtt(args):
    rtts, lost = [], 0
    with open(args.samples) as f:
        for line in f:
            sent, r = (float(x) for x in line.split())
            if args.frm is not None and sent < args.frm or args.to is not None and sent > args.to:
                continue
            if r < 0:
                lost += 1
            else:
                rtts.append(r * 1000)
    rtts.sort()

    def pct(q):
        return "%.1f" % rtts[min(len(rtts) - 1, int(q * len(rtts)))] if rtts else "-"
    p = args.prefix
    print("%s_n=%d %s_p50_ms=%s %s_p99_ms=%s %s_max_ms=%s %s_lost=%d" %
          (p, len(rtts), p, pct(0.5), p, pct(0.99), p, "%.1f" % rtts[-1] if rtts else "-", p, lost))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    pp = sub.add_parser("pub")
    pp.add_argument("--port", type=int, required=True)
    pp.add_argument("--topic", default="sensors/bench/seq")
    pp.add_argument("--client-id", default="bench-pub")
    pp.add_argument("--protocol", choices=PROTOCOLS, default="mqtt311")
    pp.add_argument("--count", type=int, default=10000)
    pp.add_argument("--duration", type=float, default=0, help="seconds; overrides --count")
    pp.add_argument("--rate", type=float, default=0, help="messages per second, 0: as fast as acknowledged")
    pp.add_argument("--size", type=int, default=100)
    pp.add_argument("--window", type=int, default=64)
    pp.add_argument("--acked", required=True)
    pp.add_argument("--deadline", type=float, default=120)

    sp = sub.add_parser("sub")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--filter", default="site/sensors/#")
    sp.add_argument("--client-id", default="bench-sub")
    sp.add_argument("--protocol", choices=PROTOCOLS, default="mqtt311")
    sp.add_argument("--ready")
    sp.add_argument("--stop-file")
    sp.add_argument("--idle", type=float, default=5)
    sp.add_argument("--arrivals", required=True)
    sp.add_argument("--deadline", type=float, default=120)

    ap = sub.add_parser("analyse")
    ap.add_argument("--acked", required=True)
    ap.add_argument("--arrivals", required=True)
    ap.add_argument("--restart", type=float)
    ap.add_argument("--lag", type=float, default=0.5)

    pr = sub.add_parser("probe")
    pr.add_argument("--port", type=int, required=True)
    pr.add_argument("--client-id", default="bench-probe")
    pr.add_argument("--protocol", choices=PROTOCOLS, default="mqtt311")
    pr.add_argument("--interval", type=float, default=0.05)
    pr.add_argument("--stop-file")
    pr.add_argument("--samples", required=True)
    pr.add_argument("--deadline", type=float, default=300)

    rp = sub.add_parser("rtt")
    rp.add_argument("--samples", required=True)
    rp.add_argument("--from", dest="frm", type=float)
    rp.add_argument("--to", type=float)
    rp.add_argument("--prefix", default="probe")

    args = p.parse_args()
    return {"pub": publish, "sub": subscribe, "analyse": analyse, "probe": probe, "rtt": rtt}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
