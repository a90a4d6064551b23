#!/usr/bin/env bash
# bench/bridge_compare.sh: fieldgate's bridge against a Mosquitto bridge, same
# scenarios, same machine, same run, on 127.0.0.1 only. In each scenario a
# publisher sends QoS 1 messages with sequence numbers to the LOCAL broker
# (fieldgate with a [[bridge]], or Debian's mosquitto with a `connection`
# bridge), which forwards sensors/# to an UPSTREAM ("cloud") mosquitto as
# site/sensors/#, where a persistent-session QoS 1 subscriber counts them. The
# clients are bench/bridge_clients.py (paho-mqtt, /usr/bin/python3).
#
#   bench/bridge_compare.sh                    # or: make bench-bridge
#   FIELDGATE=/work/build-bench/bin/fieldgate bench/bridge_compare.sh
#   SCENARIOS="sigkill" PROTOCOL=mqtt5 bench/bridge_compare.sh
#
# Scenarios:
#   throughput  COUNT messages of SIZE bytes published as fast as the local
#               broker acknowledges them (WINDOW unacknowledged at most);
#               figure: messages per second arriving upstream (first to last
#               arrival at the upstream subscriber).
#   outage      a steady publisher at RATE msg/s; after LEAD s the upstream is
#               stopped (SIGTERM, so its persistence file keeps the
#               subscriber's and the bridge's sessions), OUTAGE s later it
#               starts again on the same port with the same persistence
#               directory; the publisher goes on for TAIL s more. Figures,
#               counted from the upstream's restart (its launch): the first
#               arrival; "backlog", when everything acknowledged to the
#               publisher before the restart has arrived; "caught up", when
#               a message published after the restart and every message
#               published before it have arrived within CATCHUP_LAG s of its
#               publication. Plus acknowledged messages missing and
#               duplicates.
#   sigkill     KILL_COUNT messages at KILL_RATE msg/s; halfway the local
#               broker gets SIGKILL and is started again at once with the same
#               configuration and state; the publisher reconnects and sends
#               again what had no PUBACK. Figures: messages the publisher got a
#               PUBACK for that never arrived upstream, and duplicates.
#   backlog     the upstream is down while BACKLOG messages of SIZE bytes are
#               published as fast as the local broker acknowledges them
#               (they all wait in the bridge's queue); then it returns and the
#               backlog drains. Figures: the local broker's acknowledged
#               rate into the queue, its RSS per queued message, the time until
#               the whole backlog is upstream (the Python subscriber may be the
#               bottleneck: the same for both brokers), and a local probe
#               client's QoS 1 round trips (one every 50 ms, on a topic that is
#               not bridged) before and during the drain: are local clients
#               still served while the backlog leaves?
#
# The brokers, as a user would set them up for a durable bridge:
#   fieldgate   [persistence] durability = "sync" (stored before PUBACK), one
#               worker (mosquitto has one thread), [[bridge]] protocol =
#               PROTOCOL, clean_start = false, reconnect_min/max =
#               RECONNECT_MIN/RECONNECT_MAX s, topic sensors/# out qos 1
#               remote_prefix "site/"; the bridge queue's defaults.
#   mosquitto   persistence true with its default autosave (autosave_interval
#               1800 s: the file is written then and at a clean shutdown, not
#               on SIGKILL), max_queued_messages 1000000, max_queued_bytes 0,
#               connection with topic sensors/# out 1 "" site/, cleansession
#               false, bridge_protocol_version as PROTOCOL, restart_timeout
#               RECONNECT_MIN RECONNECT_MAX; the rest its defaults.
#   upstream    mosquitto, persistence true in the run's directory,
#               max_queued_messages 1000000, max_queued_bytes 0.
# Started as root, mosquitto is told `user root` so that it can write its
# persistence files in the run's temporary directory.
#
# Settings (environment, defaults in brackets):
#   FIELDGATE [$ROOT/build/release/bin/fieldgate]  the binary (not built here)
#   SCENARIOS ["throughput outage sigkill"]
#   PROTOCOL [mqtt311]      both bridges' protocol towards upstream: mqtt311 or mqtt5
#   COUNT [50000], SIZE [100], WINDOW [64]          throughput
#   RATE [1000], LEAD [5], OUTAGE [30], TAIL [15], CATCHUP_LAG [0.5]   outage
#   KILL_COUNT [5000], KILL_RATE [1000]              sigkill
#   BACKLOG [200000]                                 backlog (1000000 for the
#                           issue's figure: about 12 minutes for both brokers,
#                           the Python clients being the slow part)
#   RECONNECT_MIN [1], RECONNECT_MAX [5]             seconds, both bridges
#   IDLE [5]                the subscriber stops when nothing came for IDLE s
#                           after the publisher finished (and had not all)
#   KEEP [0]                1: keep the temporary directory (logs, raw files)
#   KINDS ["fieldgate mosquitto"]  which local brokers to run
#
# Every process runs under `timeout`, every wait loop has a fixed number of
# turns; about 3 minutes in all with the defaults.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIELDGATE=${FIELDGATE:-$ROOT/build/release/bin/fieldgate}
PY=/usr/bin/python3
CLIENTS=$ROOT/bench/bridge_clients.py
SCENARIOS=${SCENARIOS:-"throughput outage sigkill"}
PROTOCOL=${PROTOCOL:-mqtt311}
COUNT=${COUNT:-50000}
SIZE=${SIZE:-100}
WINDOW=${WINDOW:-64}
RATE=${RATE:-1000}
LEAD=${LEAD:-5}
OUTAGE=${OUTAGE:-30}
TAIL=${TAIL:-15}
CATCHUP_LAG=${CATCHUP_LAG:-0.5}
KILL_COUNT=${KILL_COUNT:-5000}
KILL_RATE=${KILL_RATE:-1000}
BACKLOG=${BACKLOG:-200000}
RECONNECT_MIN=${RECONNECT_MIN:-1}
RECONNECT_MAX=${RECONNECT_MAX:-5}
IDLE=${IDLE:-5}
KEEP=${KEEP:-0}
KINDS=${KINDS:-"fieldgate mosquitto"}
# Seconds any broker may live; the backlog scenario's clients get their
# deadlines from the backlog's size (2000 msg/s at the slowest, each way).
BACKLOG_LIMIT=$((120 + BACKLOG / 1000))
BROKER_LIMIT=$((600 > BACKLOG_LIMIT + 120 ? 600 : BACKLOG_LIMIT + 120))

die() { echo "bridge_compare.sh: $*" >&2; exit 2; }
say() { echo "bridge_compare.sh: $*" >&2; }

# --- prerequisites ----------------------------------------------------------
command -v mosquitto >/dev/null || die "mosquitto is not installed (apt-get install mosquitto)"
command -v ss >/dev/null || die "ss is not installed (iproute2)"
[[ -x $PY ]] || die "$PY is missing"
"$PY" -c 'import paho.mqtt.client' 2>/dev/null || die "paho-mqtt is missing (apt-get install python3-paho-mqtt)"
[[ -x $FIELDGATE ]] || die "no fieldgate binary at $FIELDGATE (build it, or set FIELDGATE=...)"
[[ -f $CLIENTS ]] || die "$CLIENTS is missing"
[[ -n ${EPOCHREALTIME:-} ]] || die "needs bash 5 (EPOCHREALTIME)"
case $PROTOCOL in
    mqtt311) MQ_PROTOCOL=mqttv311 ;;
    mqtt5) MQ_PROTOCOL=mqttv50 ;;
    *) die "PROTOCOL must be mqtt311 or mqtt5" ;;
esac
for scenario in $SCENARIOS; do
    case $scenario in throughput | outage | sigkill | backlog) ;; *) die "unknown scenario $scenario" ;; esac
done

WORK=$(mktemp -d /tmp/fg-bridge-compare.XXXXXX)
[[ -n $WORK && $WORK == /tmp/fg-bridge-compare.* && -d $WORK ]] || die "no work directory"
PIDS=()  # every background process started (timeout's pids)
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        # The process itself and then its child (the broker or the client).
        pkill -KILL -P "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ $KEEP == 1 ]]; then
        say "kept $WORK"
    elif [[ -n $WORK && $WORK == /tmp/fg-bridge-compare.* && -d $WORK ]]; then
        rm -rf -- "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers ------------------------------------------------------------------
listening() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

free_port() {
    local _ p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! listening "$p" && [[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] &&
            [[ " ${USED_PORTS:-} " != *" $p "* ]]; then
            USED_PORTS="${USED_PORTS:-} $p"
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# Established client connections to 127.0.0.1:PORT.
clients_of() { ss -Htn state established "dport = :$1" 2>/dev/null | wc -l; }

# The broker under a timeout process: its pid (the child's).
child_of() {
    local _ c
    for _ in $(seq 1 50); do
        c=$(ps -o pid= --ppid "$1" 2>/dev/null | awk 'NR == 1 { print $1 }')
        [[ -n $c ]] && { echo "$c"; return 0; }
        sleep 0.02
    done
    return 1
}

wait_listening() {  # PORT TIMEOUT_PID NAME
    local _
    for _ in $(seq 1 250); do
        listening "$1" && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.02
    done
    say "$3 did not start listening on 127.0.0.1:$1"
    tail -5 "$WORK/$3.log" >&2 || true
    return 1
}

wait_gone() {  # PID, up to 10 s
    local _
    for _ in $(seq 1 200); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    return 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

field() {  # field NAME LINE
    local kv
    for kv in $2; do [[ $kv == "$1="* ]] && { echo "${kv#*=}"; return 0; }; done
    return 0
}

# upstream_conf DIR PORT: a persistent mosquitto for the "cloud".
write_upstream_conf() {
    mkdir -p "$1/db"
    cat >"$1/upstream.conf" <<EOF
listener $2 127.0.0.1
allow_anonymous true
user root
persistence true
persistence_location $1/db/
max_queued_messages 1000000
max_queued_bytes 0
log_dest stderr
log_type error
log_type warning
EOF
}

# start_upstream DIR PORT: sets UP_TPID, UP_PID.
start_upstream() {
    timeout "$BROKER_LIMIT" mosquitto -c "$1/upstream.conf" >>"$WORK/upstream.log" 2>&1 &
    UP_TPID=$!
    PIDS+=("$UP_TPID")
    wait_listening "$2" "$UP_TPID" upstream || return 1
    UP_PID=$(child_of "$UP_TPID") || return 1
}

# stop_broker PID TIMEOUT_PID: SIGTERM (mosquitto writes its persistence
# file, fieldgate closes its database), SIGKILL after 10 s.
stop_broker() {
    [[ -n $1 ]] || return 0
    kill -TERM "$1" 2>/dev/null || true
    wait_gone "$1" || kill -KILL "$1" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
}

stop_upstream() { stop_broker "${UP_PID:-}" "${UP_TPID:-}"; UP_PID=; }

# write_local_conf KIND DIR LOCAL_PORT UPSTREAM_PORT
write_local_conf() {
    local kind=$1 dir=$2 lp=$3 up=$4 http
    mkdir -p "$dir/state"
    case $kind in
        fieldgate)
            http=$(free_port)
            cat >"$dir/fieldgate.toml" <<EOF
[gateway]
name = "bench"
state_dir = "$dir/state"
workers = 1
log_level = "warn"

[[listener]]
bind = "127.0.0.1:$lp"

[http]
bind = "127.0.0.1:$http"

[limits]
max_queued_messages = 1000000

[persistence]
durability = "sync"

[[bridge]]
name = "cloud"
addresses = ["mqtt://127.0.0.1:$up"]
protocol = "$PROTOCOL"
client_id = "fg-bench-bridge"
clean_start = false
reconnect_min = "${RECONNECT_MIN}s"
reconnect_max = "${RECONNECT_MAX}s"

  [[bridge.topic]]
  pattern = "sensors/#"
  direction = "out"
  qos = 1
  remote_prefix = "site/"
EOF
            local out
            out=$(timeout 20 "$FIELDGATE" check -c "$dir/fieldgate.toml" 2>&1) ||
                die "fieldgate check refused $dir/fieldgate.toml: $out"
            [[ $out == ok ]] || die "fieldgate check said: $out"
            ;;
        mosquitto)
            cat >"$dir/mosquitto.conf" <<EOF
listener $lp 127.0.0.1
allow_anonymous true
user root
persistence true
persistence_location $dir/state/
max_queued_messages 1000000
max_queued_bytes 0
log_dest stderr
log_type error
log_type warning

connection cloud
address 127.0.0.1:$up
topic sensors/# out 1 "" site/
cleansession false
remote_clientid mq-bench-bridge
bridge_protocol_version $MQ_PROTOCOL
restart_timeout $RECONNECT_MIN $RECONNECT_MAX
EOF
            ;;
    esac
}

# start_local KIND DIR PORT: sets LO_TPID, LO_PID.
start_local() {
    local kind=$1 dir=$2 port=$3
    if [[ $kind == fieldgate ]]; then
        timeout "$BROKER_LIMIT" "$FIELDGATE" -c "$dir/fieldgate.toml" >>"$WORK/$kind.log" 2>&1 &
    else
        timeout "$BROKER_LIMIT" mosquitto -c "$dir/mosquitto.conf" >>"$WORK/$kind.log" 2>&1 &
    fi
    LO_TPID=$!
    PIDS+=("$LO_TPID")
    wait_listening "$port" "$LO_TPID" "$kind" || return 1
    LO_PID=$(child_of "$LO_TPID") || return 1
}

stop_local() { stop_broker "${LO_PID:-}" "${LO_TPID:-}"; LO_PID=; }

# wait_bridge UPSTREAM_PORT N: until N client connections are up at the
# upstream (the subscriber and the bridge), then half a second for the
# bridge's subscriptions.
wait_bridge() {
    local _
    for _ in $(seq 1 300); do
        if (( $(clients_of "$1") >= $2 )); then
            sleep 0.5
            return 0
        fi
        sleep 0.05
    done
    say "the bridge did not connect to the upstream on port $1"
    return 1
}

# start_sub DIR UPSTREAM_PORT DEADLINE [IDLE_S]: the upstream subscriber; sets SUB_PID.
start_sub() {
    local dir=$1 _
    timeout "$(($3 + 30))" "$PY" "$CLIENTS" sub --port "$2" --protocol "$PROTOCOL" --client-id bench-sub \
        --filter 'site/sensors/#' --ready "$dir/sub.ready" --stop-file "$dir/acked" --idle "${4:-$IDLE}" \
        --arrivals "$dir/arrivals" --deadline "$3" >"$dir/sub.out" 2>>"$WORK/clients.log" &
    SUB_PID=$!
    PIDS+=("$SUB_PID")
    for _ in $(seq 1 200); do
        [[ -f $dir/sub.ready ]] && return 0
        kill -0 "$SUB_PID" 2>/dev/null || break
        sleep 0.05
    done
    say "the subscriber did not subscribe at the upstream"
    return 1
}

# start_pub DIR PORT DEADLINE ARGS...: sets PUB_PID.
start_pub() {
    local dir=$1 port=$2 deadline=$3
    shift 3
    timeout "$((deadline + 10))" "$PY" "$CLIENTS" pub --port "$port" --protocol "$PROTOCOL" \
        --client-id bench-pub --topic sensors/bench/seq --size "$SIZE" --acked "$dir/acked" \
        --deadline "$deadline" "$@" >"$dir/pub.out" 2>>"$WORK/clients.log" &
    PUB_PID=$!
    PIDS+=("$PUB_PID")
}

# finish_clients DIR: waits for the publisher, then the subscriber (which stops
# once it has all, or IDLE s after the last arrival); false when one failed.
finish_clients() {
    local dir=$1 rc=0
    wait "$PUB_PID" || rc=$?
    if (( rc != 0 )); then say "publisher exited with $rc"; fi
    [[ -f $dir/acked ]] || : >"$dir/acked"
    local src=0
    wait "$SUB_PID" || src=$?
    if (( src != 0 )); then say "subscriber exited with $src"; rc=1; fi
    [[ -f $dir/arrivals ]] || : >"$dir/arrivals"
    return "$rc"
}

# Results: "KIND SCENARIO key=value ..." lines.
RESULTS=$WORK/results
: >"$RESULTS"
record() { echo "$1 $2 $3" >>"$RESULTS"; printf '  %-9s %-10s %s\n' "$1" "$2" "$3" >&2; }

# bridged KIND DIR SUB_DEADLINE [SUB_IDLE]: the upstream, its subscriber and
# the local broker KIND bridged to it, in DIR; sets LP and UP (the ports).
bridged() {
    local kind=$1 dir=$2
    mkdir -p "$dir"
    LP=$(free_port); UP=$(free_port)
    write_upstream_conf "$dir" "$UP"
    write_local_conf "$kind" "$dir" "$LP" "$UP"
    start_upstream "$dir" "$UP" || return 1
    start_sub "$dir" "$UP" "$3" ${4:+"$4"} || return 1
    start_local "$kind" "$dir" "$LP" || return 1
    wait_bridge "$UP" 2
}

# --- scenarios ----------------------------------------------------------------
run_throughput() {
    local kind=$1
    local dir=$WORK/throughput-$kind c0 c1 line
    bridged "$kind" "$dir" 120 || return 1
    c0=$(cpu_ticks "$LO_PID")
    start_pub "$dir" "$LP" 100 --count "$COUNT" --window "$WINDOW"
    finish_clients "$dir" || true
    c1=$(cpu_ticks "$LO_PID")
    line="$(cat "$dir/pub.out") $("$PY" "$CLIENTS" analyse --acked "$dir/acked" --arrivals "$dir/arrivals")"
    line+=" local_cpu_ms_per_1k=$(awk -v a="$c0" -v b="$c1" -v n="$COUNT" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", (b - a) * 1000 / hz / n * 1000 }')"
    record "$kind" throughput "$line"
    stop_local
    stop_upstream
}

run_outage() {
    local kind=$1
    local dir=$WORK/outage-$kind t_restart line total
    total=$((LEAD + OUTAGE + TAIL))
    bridged "$kind" "$dir" $((total + 60)) || return 1
    start_pub "$dir" "$LP" $((total + 60)) --duration "$total" --rate "$RATE" --window "$WINDOW"
    sleep "$LEAD"
    local t_down=$EPOCHREALTIME
    stop_upstream
    sleep "$(awk -v d="$OUTAGE" -v t0="$t_down" -v t1="$EPOCHREALTIME" 'BEGIN { s = d - (t1 - t0); print (s > 0 ? s : 0) }')"
    t_restart=$EPOCHREALTIME
    start_upstream "$dir" "$UP" || return 1
    finish_clients "$dir" || true
    line="$(cat "$dir/pub.out") $("$PY" "$CLIENTS" analyse --acked "$dir/acked" --arrivals "$dir/arrivals" \
        --restart "$t_restart" --lag "$CATCHUP_LAG")"
    line+=" outage_s=$(awk -v a="$t_down" -v b="$t_restart" 'BEGIN { printf "%.1f", b - a }')"
    record "$kind" outage "$line"
    stop_local
    stop_upstream
}

run_sigkill() {
    local kind=$1
    local dir=$WORK/sigkill-$kind line half t_kill t_back
    bridged "$kind" "$dir" 120 || return 1
    start_pub "$dir" "$LP" 90 --count "$KILL_COUNT" --rate "$KILL_RATE" --window "$WINDOW"
    half=$(awk -v n="$KILL_COUNT" -v r="$KILL_RATE" 'BEGIN { printf "%.3f", n / r / 2 }')
    sleep "$half"
    t_kill=$EPOCHREALTIME
    kill -KILL "$LO_PID"
    wait "$LO_TPID" 2>/dev/null || true
    start_local "$kind" "$dir" "$LP" || return 1
    t_back=$EPOCHREALTIME
    finish_clients "$dir" || true
    line="$(cat "$dir/pub.out") $("$PY" "$CLIENTS" analyse --acked "$dir/acked" --arrivals "$dir/arrivals")"
    line+=" down_s=$(awk -v a="$t_kill" -v b="$t_back" 'BEGIN { printf "%.2f", b - a }')"
    record "$kind" sigkill "$line"
    stop_local
    stop_upstream
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

run_backlog() {
    local kind=$1
    local dir=$WORK/backlog-$kind rss0 rss1 t_restart t_drained line probe_pid
    # The subscriber reconnects on its own after the outage, and waits for the
    # bridge's reconnect backoff (up to RECONNECT_MAX, jittered) before it calls the end.
    bridged "$kind" "$dir" "$BACKLOG_LIMIT" $((IDLE + 2 * RECONNECT_MAX)) || return 1
    stop_upstream
    sleep 1
    rss0=$(rss_kib "$LO_PID")
    start_pub "$dir" "$LP" $((BACKLOG_LIMIT / 2)) --count "$BACKLOG" --window "$WINDOW"
    wait "$PUB_PID" || say "publisher exited with $?"
    sleep 1
    rss1=$(rss_kib "$LO_PID")
    timeout "$((BACKLOG_LIMIT + 10))" "$PY" "$CLIENTS" probe --port "$LP" --protocol "$PROTOCOL" --stop-file "$dir/drained" \
        --samples "$dir/probe" --deadline "$BACKLOG_LIMIT" 2>>"$WORK/clients.log" &
    probe_pid=$!
    PIDS+=("$probe_pid")
    sleep 3  # the probe's baseline, with the backlog queued and no uplink
    t_restart=$EPOCHREALTIME
    start_upstream "$dir" "$UP" || return 1
    local src=0
    wait "$SUB_PID" || src=$?
    (( src == 0 )) || say "subscriber exited with $src"
    t_drained=$EPOCHREALTIME
    touch "$dir/drained"
    wait "$probe_pid" || say "probe exited with $?"
    [[ -f $dir/arrivals ]] || : >"$dir/arrivals"
    line="$(cat "$dir/pub.out") $("$PY" "$CLIENTS" analyse --acked "$dir/acked" --arrivals "$dir/arrivals" \
        --restart "$t_restart")"
    line+=" rss_queued_mib=$(awk -v a="$rss0" -v b="$rss1" 'BEGIN { printf "%.1f", (b - a) / 1024 }')"
    line+=" rss_bytes_per_msg=$(awk -v a="$rss0" -v b="$rss1" -v n="$BACKLOG" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
    line+=" $("$PY" "$CLIENTS" rtt --samples "$dir/probe" --to "$t_restart" --prefix idle)"
    line+=" $("$PY" "$CLIENTS" rtt --samples "$dir/probe" --from "$t_restart" --to "$t_drained" --prefix drain)"
    record "$kind" backlog "$line"
    stop_local
    stop_upstream
}

# --- the runs -----------------------------------------------------------------
T0=$SECONDS
say "fieldgate $("$FIELDGATE" --version 2>/dev/null | awk '{ print $NF }') at $FIELDGATE;" \
    "$(mosquitto -h 2>/dev/null | head -1 || true); bridges over $PROTOCOL; work dir $WORK"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for scenario in $SCENARIOS; do
    for kind in $KINDS; do
        say "$scenario: $kind"
        if ! "run_$scenario" "$kind"; then
            record "$kind" "$scenario" "run_failed=1"
            stop_local 2>/dev/null || true
            stop_upstream 2>/dev/null || true
        fi
    done
done
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg); $((SECONDS - T0)) s"

# --- the table ----------------------------------------------------------------
get() {  # get KIND SCENARIO FIELD
    local line
    line=$(awk -v k="$1" -v s="$2" '$1 == k && $2 == s' "$RESULTS" | tail -1)
    if [[ -z $line ]]; then echo "-"; return; fi
    if [[ $line == *run_failed=* ]]; then echo "failed"; return; fi
    local v
    v=$(field "$3" "$line")
    echo "${v:--}"
}
row() {  # row LABEL SCENARIO FIELD [SUFFIX]
    [[ " $SCENARIOS " == *" $2 "* ]] || return 0
    printf '| %s | %s | %s |\n' "$1" "$(get fieldgate "$2" "$3")${4:-}" "$(get mosquitto "$2" "$3")${4:-}"
}
both() {  # both SCENARIO FIELD1 FIELD2: "a / b" per kind
    local k out=()
    for k in fieldgate mosquitto; do out+=("$(get "$k" "$1" "$2") / $(get "$k" "$1" "$3")"); done
    printf '%s|%s' "${out[0]}" "${out[1]}"
}
row2() {  # row2 LABEL SCENARIO FIELD1 FIELD2
    [[ " $SCENARIOS " == *" $2 "* ]] || return 0
    local b
    b=$(both "$2" "$3" "$4")
    printf '| %s | %s | %s |\n' "$1" "${b%%|*}" "${b#*|}"
}

echo
echo "fieldgate bridge vs mosquitto bridge ($PROTOCOL upstream, QoS 1, ${SIZE} B payloads, 127.0.0.1," \
    "$(nproc) cores, Linux $(uname -r); $(mosquitto -h 2>/dev/null | head -1 || true))"
echo
echo "| figure | fieldgate | mosquitto |"
echo "|---|---:|---:|"
row "throughput: msg/s arriving upstream ($COUNT msgs, window $WINDOW)" throughput sub_rate
row "throughput: msg/s acknowledged to the publisher" throughput pub_rate
row "throughput: local broker CPU ms per 1000 msgs" throughput local_cpu_ms_per_1k
row2 "throughput: acked msgs missing / duplicates" throughput missing_acked duplicates
row "outage ${OUTAGE}s at $RATE msg/s: first arrival after upstream restart (s)" outage first_after_restart_s
row "outage: backlog (acked before restart) all upstream after (s)" outage backlog_s
row "outage: caught up (lag <= ${CATCHUP_LAG}s) after restart (s)" outage catchup_s
row2 "outage: acked msgs / missing upstream" outage acked missing_acked
row2 "outage: duplicates / out of order" outage duplicates out_of_order
row2 "sigkill at half of $KILL_COUNT: acked msgs / missing upstream" sigkill acked missing_acked
row2 "sigkill: duplicates / out of order" sigkill duplicates out_of_order
row "sigkill: local broker down (s)" sigkill down_s
row "backlog of $BACKLOG: msg/s acknowledged into the queue (uplink down)" backlog pub_rate
row "backlog: local RSS for the queued messages (MiB)" backlog rss_queued_mib
row "backlog: local RSS per queued message (bytes)" backlog rss_bytes_per_msg
row "backlog: all upstream after the upstream's restart (s; includes the reconnect backoff)" backlog backlog_s
row "backlog: first to last arrival upstream (s)" backlog sub_seconds
row2 "backlog: acked msgs / missing upstream" backlog acked missing_acked
row2 "backlog: local probe round trip p50 / p99 ms, uplink down" backlog idle_p50_ms idle_p99_ms
row2 "backlog: local probe round trip p50 / p99 ms, while draining" backlog drain_p50_ms drain_p99_ms
row2 "backlog: local probe round trip max ms / lost, while draining" backlog drain_max_ms drain_lost
echo
echo "Raw results:"
sed 's/^/  /' "$RESULTS"
echo "Total time: $((SECONDS - T0)) s"
