#!/usr/bin/env bash
# bench/compare.sh: fieldgate against Debian's mosquitto, same scenarios, same
# machine, on 127.0.0.1 only. Each run starts a fresh broker pinned to one core
# (taskset) with the generator (fg_loadgen) on another, alternating the two
# brokers run by run; the table gives medians and fieldgate/mosquitto ratios.
#
#   bench/compare.sh                      # or: make bench
#   RUNS=5 DURATION=10 bench/compare.sh   # longer, steadier
#   SCENARIOS="qos0 latency" bench/compare.sh
#   SCENARIOS="tls-handshake tls-qos0" bench/compare.sh   # TLS only, ~2 minutes
#
# Scenarios: qos0 qos1 fanout latency idle (fg_loadgen's), handshake (new
# connections per second: connect, CONNECT, CONNACK, DISCONNECT, the broker's
# close; 16 at a time), and any of them over TLS as tls-NAME (TLS 1.3) or
# tls12-NAME (TLS 1.2): the broker then has only an mqtts listener (fieldgate
# type = "mqtts"; mosquitto certfile/keyfile), with a throwaway CA and server
# certificate made with openssl in the run's temporary directory. Each broker
# keeps its own TLS defaults (ciphers, groups, session tickets); the generator
# offers OpenSSL's defaults for the one version, verifies the certificate
# against the CA and never resumes a session, so every handshake is a full
# one. The table says what was negotiated.
#
# Durability (not in the default SCENARIOS; ~3 minutes):
#   SCENARIOS="persist-sync persist-batched persist-none" bench/compare.sh
# QoS 1, 1 publisher -> 1 persistent subscriber (clean session 0, fixed client
# id; fg_loadgen --persistent), 64 B, flat out with 64 in flight. fieldgate
# runs with a state_dir in the run's temporary directory (fresh each run) and
# [persistence] durability = "sync", "batched" or "none"; mosquitto, run
# alongside each, with persistence true and persistence_location there too
# (mosquitto writes its database only every autosave_interval, default 30
# minutes, and at exit: it does not store per message). A table of its own
# puts the three fieldgate modes and mosquitto side by side, with the bytes
# the broker process wrote to storage over the window (/proc/PID/io
# write_bytes: page cache pages it dirtied, WAL and database) per delivered
# message and as a multiple of the 64 B payload.
#
# Settings (environment, defaults in brackets):
#   RUNS [3]            runs per broker and scenario, alternating the brokers
#   DURATION [5]        seconds measured per throughput run, after WARMUP [1]
#   IDLE_CONNECTIONS [10000]
#   BROKER_CORE [0], GEN_CORE [1]
#   SCENARIOS ["qos0 qos1 fanout latency idle tls-handshake tls-qos0"]
#   TLS_KEY [rsa2048]   the certificates' keys: rsa2048 or p256 (ECDSA P-256)
#   NULL_CHECK [1]      also run each traffic scenario once against
#                       fg_null_forwarder: the ceiling the generator can measure
#   QUIET_PCT [15], QUIET_WAIT [6]  before a run, wait up to QUIET_WAIT half
#                       seconds for other processes to leave the two cores
#                       (at most QUIET_PCT % busy): they skew every figure
#   NOISE_PCT [25], RETRIES [1]  run again when other processes took more
#                       than NOISE_PCT % of a core during the measured window
#   EXTRA_BUDGET [150]  seconds that waiting for quiet and runs done again may
#                       add in all (the whole script stays under ~9 minutes,
#                       a TLS-only run as above under ~4)
#   BUILD [build/release]  the build directory: fieldgate, fg_loadgen and
#                       fg_null_forwarder are built there (the release preset
#                       when it is the default, else `cmake --build BUILD`)
#   BIN [BUILD/bin]     where the binaries are taken from
#   BUILD_FIRST [1]     0: no build step, the binaries in BIN as they are
#   OUT                 raw results file [BUILD/bench/compare-DATE.txt]
#
# Broker CPU is utime+stime from /proc/PID/stat over the measured window; RSS
# per idle connection is VmRSS with the connections open minus VmRSS before,
# divided by their number. Every run is bounded by `timeout`; every wait loop
# has a fixed number of turns.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
BIN=${BIN:-$BUILD/bin}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
BROKER_CORE=${BROKER_CORE:-0}
GEN_CORE=${GEN_CORE:-1}
SCENARIOS=${SCENARIOS:-"qos0 qos1 fanout latency idle tls-handshake tls-qos0"}
TLS_KEY=${TLS_KEY:-rsa2048}
NULL_CHECK=${NULL_CHECK:-1}
QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-6}
NOISE_PCT=${NOISE_PCT:-25}
RETRIES=${RETRIES:-1}
EXTRA_BUDGET=${EXTRA_BUDGET:-150}
OUT=${OUT:-$BUILD/bench/compare-$(date +%Y%m%d-%H%M%S).txt}

die() { echo "compare.sh: $*" >&2; exit 2; }

# A scenario's name without its TLS prefix (tls-qos0 -> qos0), and the TLS
# version it asks for (empty for none).
base_of() { local s=${1#tls12-}; echo "${s#tls-}"; }
# The fg_loadgen scenario behind a scenario (persist-sync -> qos1), and the
# durability fieldgate runs with ("none" outside the persist-* scenarios).
loadgen_of() { local b; b=$(base_of "$1"); [[ $b == persist-* ]] && echo qos1 || echo "$b"; }
durability_of() { local b; b=$(base_of "$1"); [[ $b == persist-* ]] && echo "${b#persist-}" || echo none; }
tls_of() {
    case $1 in
        tls12-*) echo 1.2 ;;
        tls-*) echo 1.3 ;;
        *) echo "" ;;
    esac
}

# --- prerequisites ----------------------------------------------------------
command -v mosquitto >/dev/null || die "mosquitto is not installed (apt-get install mosquitto)"
command -v taskset >/dev/null || die "taskset is not installed (util-linux)"
command -v ss >/dev/null || die "ss is not installed (iproute2)"
(( $(nproc) >= 2 )) || die "needs two cores: one for the broker, one for the generator"
for scenario in $SCENARIOS; do
    case $(base_of "$scenario") in
        qos0 | qos1 | fanout | latency | idle | handshake) ;;
        persist-sync | persist-batched | persist-none)
            [[ -z $(tls_of "$scenario") ]] || die "$scenario: the persist-* scenarios run without TLS" ;;
        *) die "unknown scenario $scenario" ;;
    esac
done
case $TLS_KEY in
    rsa2048) KEY_ARGS=(-newkey rsa:2048); KEY_NAME="RSA 2048" ;;
    p256) KEY_ARGS=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); KEY_NAME="ECDSA P-256" ;;
    *) die "TLS_KEY must be rsa2048 or p256" ;;
esac
USES_TLS=0
for scenario in $SCENARIOS; do [[ -n $(tls_of "$scenario") ]] && USES_TLS=1; done
if (( USES_TLS )); then command -v openssl >/dev/null || die "openssl is not installed"; fi

cd "$ROOT"
if [[ ${BUILD_FIRST:-1} == 0 ]]; then
    :
elif [[ $BUILD == "$ROOT/build/release" ]]; then
    [[ -f build/release/build.ninja ]] || cmake --preset release >/dev/null
    cmake --build --preset release --target fieldgate fg_loadgen fg_null_forwarder >/dev/null ||
        die "build failed (cmake --build --preset release)"
else
    [[ -f $BUILD/build.ninja || -f $BUILD/Makefile ]] || die "$BUILD is not a configured build directory"
    cmake --build "$BUILD" --target fieldgate fg_loadgen fg_null_forwarder >/dev/null ||
        die "build failed (cmake --build $BUILD)"
fi
for b in fieldgate fg_loadgen fg_null_forwarder; do [[ -x $BIN/$b ]] || die "no $BIN/$b"; done

# Both brokers and the generator inherit this: 10,000 idle connections need as
# many descriptors in each, plus a margin.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
if [[ $NOFILE != unlimited ]] && (( NOFILE < IDLE_CONNECTIONS + 100 )); then
    echo "compare.sh: ulimit -n is $NOFILE; idle scenario reduced to $((NOFILE - 100)) connections" >&2
    IDLE_CONNECTIONS=$((NOFILE - 100))
fi

WORK=$(mktemp -d /tmp/fg-compare.XXXXXX)
BROKER_PID=
cleanup() {
    if [[ -n $BROKER_PID ]]; then kill -KILL "$BROKER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$(dirname "$OUT")"
: >"$OUT"

# --- certificates -------------------------------------------------------------
# A CA and a server certificate for 127.0.0.1 signed by it, both with TLS_KEY
# keys; the brokers send the server certificate alone, the generator trusts
# the CA. mosquitto, started as root, drops to its own user and must still
# read them: the directory and files are readable by all (throwaway keys).
TLS_DIR=$WORK/tls
make_certificates() {
    [[ -n $WORK && -d $WORK ]] || die "no work directory"
    mkdir -p "$TLS_DIR"
    chmod 711 "$WORK"
    printf '%s\n' '[req]' 'distinguished_name = dn' 'prompt = no' '[dn]' 'CN = placeholder' \
        '[ca_ext]' 'basicConstraints = critical,CA:TRUE' 'keyUsage = critical,keyCertSign' \
        'subjectKeyIdentifier = hash' \
        '[server_ext]' 'basicConstraints = critical,CA:FALSE' 'keyUsage = critical,digitalSignature,keyEncipherment' \
        'extendedKeyUsage = serverAuth' 'subjectAltName = DNS:localhost,IP:127.0.0.1' \
        'authorityKeyIdentifier = keyid' >"$TLS_DIR/openssl.cnf"
    local cnf=$TLS_DIR/openssl.cnf
    if ! {
        timeout 60 openssl req -x509 -config "$cnf" -extensions ca_ext "${KEY_ARGS[@]}" -nodes \
            -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.crt" -days 2 -subj /CN=fieldgate-bench-ca &&
            timeout 60 openssl req -new -config "$cnf" "${KEY_ARGS[@]}" -nodes \
                -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" -subj /CN=localhost &&
            timeout 60 openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" \
                -set_serial 1 -extfile "$cnf" -extensions server_ext -days 2 -out "$TLS_DIR/server.crt"
    } >"$WORK/openssl.log" 2>&1; then
        cat "$WORK/openssl.log" >&2
        die "openssl could not make the certificates"
    fi
    chmod 755 "$TLS_DIR"
    chmod 644 "$TLS_DIR/ca.crt" "$TLS_DIR/server.crt" "$TLS_DIR/server.key"
}
if (( USES_TLS )); then make_certificates; fi

# --- brokers ----------------------------------------------------------------
listening() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

free_port() {
    local _ p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! listening "$p" && [[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]]; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# start_broker KIND [TLS] [DURABILITY]: sets PORT and BROKER_PID; the broker
# runs on BROKER_CORE with one listener: MQTT, or MQTT over TLS when TLS is 1.
# DURABILITY: fieldgate's [persistence] durability (none, the default; sync;
# batched), or for mosquitto persistence true unless it is none. Either way
# the broker's state starts empty.
start_broker() {
    local kind=$1 tls=${2:-0} durability=${3:-none} http listener tls_lines= persist_lines="persistence false"
    PORT=$(free_port)
    case $kind in
        fieldgate)
            http=$(free_port)
            rm -rf "$WORK/state"
            mkdir -p "$WORK/state"
            listener="bind = \"127.0.0.1:$PORT\""
            if (( tls )); then
                listener=$(printf 'type = "mqtts"\n%s\ncert = "%s"\nkey = "%s"' "$listener" \
                    "$TLS_DIR/server.crt" "$TLS_DIR/server.key")
            fi
            cat >"$WORK/fieldgate.toml" <<EOF
[gateway]
workers = 1
state_dir = "$WORK/state"
log_level = "warn"

[[listener]]
$listener

[http]
bind = "127.0.0.1:$http"

[limits]
max_connections = $((IDLE_CONNECTIONS + 1000))
max_inflight = 64
max_queued_messages = 1000000

[persistence]
durability = "$durability"
EOF
            taskset -c "$BROKER_CORE" "$BIN/fieldgate" -c "$WORK/fieldgate.toml" >>"$WORK/fieldgate.log" 2>&1 &
            ;;
        mosquitto)
            if (( tls )); then
                tls_lines=$(printf 'certfile %s\nkeyfile %s' "$TLS_DIR/server.crt" "$TLS_DIR/server.key")
            fi
            if [[ $durability != none ]]; then
                # mosquitto, started as root, drops to its own user and must write there.
                rm -rf "$WORK/mosquitto-state"
                mkdir -p "$WORK/mosquitto-state"
                chmod 711 "$WORK"
                chmod 777 "$WORK/mosquitto-state"
                persist_lines=$(printf 'persistence true\npersistence_location %s/' "$WORK/mosquitto-state")
            fi
            cat >"$WORK/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
$tls_lines
allow_anonymous true
$persist_lines
max_inflight_messages 64
max_queued_messages 1000000
max_queued_bytes 0
set_tcp_nodelay true
max_connections -1
log_dest stderr
log_type error
log_type warning
EOF
            taskset -c "$BROKER_CORE" mosquitto -c "$WORK/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
            ;;
        null)
            taskset -c "$BROKER_CORE" "$BIN/fg_null_forwarder" --port "$PORT" >>"$WORK/null.log" 2>&1 &
            ;;
    esac
    BROKER_PID=$!
    local _
    for _ in $(seq 1 100); do
        listening "$PORT" && return 0
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "compare.sh: $kind did not start listening on 127.0.0.1:$PORT" >&2
    tail -5 "$WORK/$kind.log" >&2 || true
    stop_broker
    return 1
}

stop_broker() {
    [[ -n $BROKER_PID ]] || return 0
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    local _
    for _ in $(seq 1 50); do
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
}

# The busy share (%) of the two cores over half a second, from /proc/stat.
cores_busy() {
    local busy0 total0 busy1 total1
    read -r busy0 total0 < <(core_ticks)
    sleep 0.5
    read -r busy1 total1 < <(core_ticks)
    echo $(( total1 > total0 ? 100 * (busy1 - busy0) / (total1 - total0) : 0 ))
}
core_ticks() {  # "busy total" ticks of BROKER_CORE and GEN_CORE
    awk -v a="cpu$BROKER_CORE" -v b="cpu$GEN_CORE" '$1 == a || $1 == b {
        busy += $2 + $3 + $4 + $7 + $8 + $9; total += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
        END { print busy, total }' /proc/stat
}
QUIET_MISSES=0
EXTRA_USED=0  # seconds spent waiting for quiet and on runs done again
wait_quiet() {
    local _ busy=0 t0=$SECONDS
    for _ in $(seq 1 "$QUIET_WAIT"); do
        (( EXTRA_USED + SECONDS - t0 < EXTRA_BUDGET )) || break
        busy=$(cores_busy)
        if (( busy <= QUIET_PCT )); then
            EXTRA_USED=$((EXTRA_USED + SECONDS - t0))
            return 0
        fi
    done
    EXTRA_USED=$((EXTRA_USED + SECONDS - t0))
    QUIET_MISSES=$((QUIET_MISSES + 1))
    echo "compare.sh: other processes keep ${busy}% of cores $BROKER_CORE,$GEN_CORE busy; running anyway" >&2
}

# run_one KIND SCENARIO: up to 1 + RETRIES attempts (another one when other
# processes took more than NOISE_PCT % of a core during the window), each with
# a fresh broker; appends "KIND key=value..." to OUT, or
# "KIND scenario=S run_failed=REASON".
run_one() {
    local kind=$1 scenario=$2 attempt others t0
    for attempt in $(seq 0 "$RETRIES"); do
        t0=$SECONDS
        attempt_one "$kind" "$scenario" || return 0
        (( attempt == 0 )) || EXTRA_USED=$((EXTRA_USED + SECONDS - t0))
        others=$(field others_cpu_pct "$LINE")
        if (( attempt < RETRIES && EXTRA_USED < EXTRA_BUDGET )) && [[ -n $others ]] &&
            awk -v o="$others" -v n="$NOISE_PCT" 'BEGIN { exit !(o > n) }'; then
            echo "  $kind $scenario: other processes took ${others}% of a core during the window; again" >&2
            continue
        fi
        break
    done
    echo "$kind $LINE" >>"$OUT"
    printf '  %-9s %-13s %s\n' "$kind" "$scenario" "$(summary "$LINE")" >&2
}

# attempt_one KIND SCENARIO: sets LINE; false (with the failure recorded) when
# the broker or the generator failed.
attempt_one() {
    local kind=$1 scenario=$2 rc limit base tls args=()
    base=$(loadgen_of "$scenario")
    tls=$(tls_of "$scenario")
    LINE=
    wait_quiet
    if ! start_broker "$kind" "$([[ -n $tls ]] && echo 1 || echo 0)" "$(durability_of "$scenario")"; then
        echo "$kind scenario=$scenario run_failed=start" >>"$OUT"
        return 1
    fi
    [[ -n $tls ]] && args+=(--tls-ca "$TLS_DIR/ca.crt" --tls-version "$tls")
    [[ $(base_of "$scenario") == persist-* ]] && args+=(--persistent)
    if [[ $base == idle ]]; then
        args+=(--connections "$IDLE_CONNECTIONS")
        limit=120
    else
        args+=(--duration "$DURATION" --warmup "$WARMUP")
        limit=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { printf "%d", w + d + 41 }')
    fi
    rc=0
    LINE=$(taskset -c "$GEN_CORE" timeout "$limit" "$BIN/fg_loadgen" --port "$PORT" --scenario "$base" \
        --broker-pid "$BROKER_PID" "${args[@]}" 2>>"$WORK/loadgen.log") || rc=$?
    # Filed under this script's name for the scenario (tls-qos0, not qos0).
    if [[ -n $LINE ]]; then LINE="scenario=$scenario ${LINE#scenario=* }"; fi
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        echo "$kind scenario=$scenario run_failed=broker-exited" >>"$OUT"
        echo "compare.sh: $kind exited during $scenario: $(tail -1 "$WORK/$kind.log" 2>/dev/null)" >&2
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=
        return 1
    fi
    stop_broker
    if (( rc != 0 )) || [[ -z $LINE ]]; then
        echo "$kind scenario=$scenario run_failed=loadgen-rc-$rc $LINE" >>"$OUT"
        echo "compare.sh: $kind $scenario: generator failed (rc $rc): $(tail -1 "$WORK/loadgen.log" 2>/dev/null)" >&2
        return 1
    fi
}

field() {  # field NAME LINE
    local kv
    for kv in $2; do [[ $kv == "$1="* ]] && { echo "${kv#*=}"; return 0; }; done
    return 0
}

summary() {
    local base
    base=$(base_of "$(field scenario "$1")")
    if [[ $base == idle ]]; then
        echo "connected=$(field connected "$1") rss_per_conn_kib=$(field rss_per_conn_kib "$1")"
    elif [[ $base == handshake ]]; then
        echo "handshakes/s=$(field handshakes_per_s "$1") cpu_us/handshake=$(field cpu_us_per_handshake "$1")" \
            "p50=$(field p50_us "$1")us failed=$(field failed "$1") $(field tls "$1")" \
            "broker_cpu=$(field broker_cpu_pct "$1")% gen_cpu=$(field gen_cpu_pct "$1")%" \
            "others=$(field others_cpu_pct "$1")%"
    else
        local written=
        [[ $base == persist-* ]] && written=" written/msg=$(field write_bytes_per_msg "$1")B"
        echo "msg/s=$(field msgs_per_s "$1") cpu_us/msg=$(field cpu_us_per_msg "$1")$written p50=$(field p50_us "$1")us" \
            "p99=$(field p99_us "$1")us lost=$(field lost "$1") broker_cpu=$(field broker_cpu_pct "$1")%" \
            "gen_cpu=$(field gen_cpu_pct "$1")% others=$(field others_cpu_pct "$1")%"
    fi
}

# --- the runs -----------------------------------------------------------------
echo "compare.sh: $RUNS runs per broker and scenario, ${DURATION}s measured (+${WARMUP}s warm-up)," \
    "broker on core $BROKER_CORE, generator on core $GEN_CORE, ulimit -n $(ulimit -n)" >&2
echo "compare.sh: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for scenario in $SCENARIOS; do
    for run in $(seq 1 "$RUNS"); do
        if (( run % 2 )); then order="fieldgate mosquitto"; else order="mosquitto fieldgate"; fi
        for kind in $order; do run_one "$kind" "$scenario"; done
    done
    # The null forwarder speaks no TLS, and has nothing to show for handshakes.
    case $scenario in
        qos0 | qos1 | fanout | latency) if [[ $NULL_CHECK == 1 ]]; then run_one null "$scenario"; fi ;;
    esac
done
echo "compare.sh: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# --- the table ----------------------------------------------------------------
median() {  # values on stdin, one per line; empty when none
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# values KIND SCENARIO FIELD: FIELD of each successful run, one per line.
values() {
    local line
    { grep -E "^$1 scenario=$2 " "$OUT" || true; } | { grep -v ' run_failed=' || true; } |
        while read -r line; do field "$3" "$line"; done
}
med() { values "$@" | median; }
sum_field() { values "$@" | awk '{ s += $1 } END { print s + 0 }'; }

failures() { grep -cE "^$1 scenario=$2 .* run_failed=" "$OUT" || true; }

fmt() {  # fmt VALUE DECIMALS
    [[ -z $1 ]] && { echo "-"; return; }
    [[ $1 == inf ]] && { echo "inf"; return; }
    awk -v v="$1" -v d="$2" 'BEGIN { s = sprintf("%.*f", d, v); n = split(s, p, "."); i = p[1]; o = "";
        neg = (substr(i, 1, 1) == "-"); if (neg) i = substr(i, 2);
        while (length(i) > 3) { o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3) }
        printf "%s%s%s%s", (neg ? "-" : ""), i, o, (n > 1 ? "." p[2] : "") }'
}

# row LABEL SCENARIO FIELD DECIMALS TARGET(e.g. ">=3", "<=0.333", "<=1") [NULL]
row() {
    local label=$1 scenario=$2 f=$3 d=$4 target=$5 with_null=${6:-} fg mq ratio met nul
    [[ " $SCENARIOS " == *" $scenario "* ]] || return 0
    fg=$(med fieldgate "$scenario" "$f")
    mq=$(med mosquitto "$scenario" "$f")
    ratio=
    met=
    if [[ $fg == inf ]]; then
        ratio=inf  # the broker used CPU and delivered nothing
        [[ -n $target ]] && met="**no**"
    elif [[ -n $fg && -n $mq && $mq != inf ]] && awk -v m="$mq" 'BEGIN { exit !(m > 0) }'; then
        ratio=$(awk -v a="$fg" -v b="$mq" 'BEGIN { printf "%.2f", a / b }')
        if [[ -n $target ]]; then
            met=$(awk -v r="$ratio" -v t="$target" 'BEGIN { op = substr(t, 1, 2); x = substr(t, 3) + 0;
                ok = (op == ">=") ? (r >= x) : (r <= x); print ok ? "yes" : "**no**" }')
        fi
    fi
    nul=
    [[ -n $with_null ]] && nul=$(fmt "$(med null "$scenario" "$f")" "$d")
    printf '| %s | %s | %s | %s | %s %s | %s |\n' "$label" "$(fmt "$fg" "$d")" "$(fmt "$mq" "$d")" \
        "${ratio:--}" "${target:--}" "$met" "${nul:--}"
}

echo
echo "Medians of $RUNS alternating runs; broker on core $BROKER_CORE, generator on core $GEN_CORE; ${DURATION} s per" \
    "throughput run; MQTT 3.1.1, 64 B payloads. Ratio = fieldgate / mosquitto."
echo
echo "fieldgate $("$BIN/fieldgate" --version 2>/dev/null | awk '{ print $NF }'), $(mosquitto -h 2>/dev/null | head -1 || true)," \
    "Linux $(uname -r), $(nproc) cores."
MAIN_TABLE=0
PERSIST=()
for s in $SCENARIOS; do
    if [[ $(base_of "$s") == persist-* ]]; then PERSIST+=("$s"); else MAIN_TABLE=1; fi
done
if (( MAIN_TABLE )); then
echo
echo "| Metric | fieldgate | mosquitto | ratio | target (met?) | null forwarder |"
echo "|---|---:|---:|---:|---|---:|"
row "QoS 0 1->1, delivered msg/s" qos0 msgs_per_s 0 ">=3" null
row "QoS 0 1->1, broker CPU us/msg" qos0 cpu_us_per_msg 3 "<=0.333"
row "QoS 1 1->1 (64 in flight), delivered msg/s" qos1 msgs_per_s 0 ">=2" null
row "QoS 1 1->1, broker CPU us/msg" qos1 cpu_us_per_msg 3 "<=0.333"
row "Fan-out 10->10 bench/#, delivered msg/s" fanout msgs_per_s 0 ">=3" null
row "Fan-out, broker CPU us/msg" fanout cpu_us_per_msg 3 "<=0.333"
row "QoS 1 at 10k msg/s, latency p50 us" latency p50_us 1 "<=1" null
row "QoS 1 at 10k msg/s, latency p90 us" latency p90_us 1 "" null
row "QoS 1 at 10k msg/s, latency p99 us" latency p99_us 1 "" null
row "QoS 1 at 10k msg/s, broker CPU us/msg" latency cpu_us_per_msg 2 "<=0.333"
row "$(fmt "$IDLE_CONNECTIONS" 0) idle connections, RSS KiB/connection" idle rss_per_conn_kib 2 "<=1"
# New connections, and everything over TLS: figures without targets.
for s in $SCENARIOS; do
    case $(tls_of "$s") in
        1.3) over=" over TLS 1.3"; hs="TLS 1.3 full handshakes" ;;
        1.2) over=" over TLS 1.2"; hs="TLS 1.2 full handshakes" ;;
        *) [[ $s == handshake ]] || continue; over=; hs="New TCP connections" ;;
    esac
    case $(base_of "$s") in
        handshake)
            row "$hs/s (each: connect, CONNECT, CONNACK, DISCONNECT; 16 at a time)" "$s" handshakes_per_s 0 ""
            row "$hs, broker CPU us/connection" "$s" cpu_us_per_handshake 1 "" ;;
        qos0) row "QoS 0 1->1$over, delivered msg/s" "$s" msgs_per_s 0 ""
            row "QoS 0 1->1$over, broker CPU us/msg" "$s" cpu_us_per_msg 3 "" ;;
        qos1) row "QoS 1 1->1 (64 in flight)$over, delivered msg/s" "$s" msgs_per_s 0 ""
            row "QoS 1 1->1$over, broker CPU us/msg" "$s" cpu_us_per_msg 3 "" ;;
        fanout) row "Fan-out 10->10 bench/#$over, delivered msg/s" "$s" msgs_per_s 0 ""
            row "Fan-out$over, broker CPU us/msg" "$s" cpu_us_per_msg 3 "" ;;
        latency) row "QoS 1 at 10k msg/s$over, latency p50 us" "$s" p50_us 1 ""
            row "QoS 1 at 10k msg/s$over, latency p99 us" "$s" p99_us 1 ""
            row "QoS 1 at 10k msg/s$over, broker CPU us/msg" "$s" cpu_us_per_msg 2 "" ;;
        idle) row "$(fmt "$IDLE_CONNECTIONS" 0) idle connections$over, RSS KiB/connection" "$s" rss_per_conn_kib 2 "" ;;
    esac
done
fi
# Durability side by side: one column per fieldgate mode, and mosquitto with
# persistence true over all its persist-* runs together.
if (( ${#PERSIST[@]} )); then
    mq_values() { local s; for s in "${PERSIST[@]}"; do values mosquitto "$s" "$1"; done; }
    prow() {  # prow LABEL FIELD DECIMALS [sum]
        local s cells="" v
        for s in "${PERSIST[@]}"; do
            if [[ ${4:-} == sum ]]; then v=$(sum_field fieldgate "$s" "$2"); else v=$(med fieldgate "$s" "$2"); fi
            cells+=" $(fmt "$v" "$3") |"
        done
        if [[ ${4:-} == sum ]]; then v=$(mq_values "$2" | awk '{ s += $1 } END { print s + 0 }'); else v=$(mq_values "$2" | median); fi
        printf '| %s |%s %s |\n' "$1" "$cells" "$(fmt "$v" "$3")"
    }
    ratio_row() {  # bytes written per message over the 64 B payload
        local s cells="" v
        for s in "${PERSIST[@]}"; do
            v=$(med fieldgate "$s" write_bytes_per_msg)
            cells+=" $([[ -n $v ]] && awk -v v="$v" 'BEGIN { printf "%.2f", v / 64 }' || echo -) |"
        done
        v=$(mq_values write_bytes_per_msg | median)
        printf '| %s |%s %s |\n' "Bytes written / 64 B payload (aim under sync: < 4)" "$cells" \
            "$([[ -n $v ]] && awk -v v="$v" 'BEGIN { printf "%.2f", v / 64 }' || echo -)"
    }
    echo
    header="| QoS 1 1->1, persistent subscriber, 64 B, 64 in flight |"
    rule="|---|"
    for s in "${PERSIST[@]}"; do header+=" fieldgate $(durability_of "$s") |"; rule+="---:|"; done
    echo "$header mosquitto, persistence true |"
    echo "$rule---:|"
    prow "Delivered msg/s" msgs_per_s 0
    prow "Broker CPU us/msg" cpu_us_per_msg 3
    prow "Bytes written per msg (/proc/PID/io write_bytes)" write_bytes_per_msg 1
    ratio_row
    prow "Latency p50 us (flat out: queueing included)" p50_us 1
    prow "Messages never delivered (sum over runs)" lost 0 sum
    echo
    echo "mosquitto (persistence true) writes its database every autosave_interval (default 30 min) and at exit, not" \
        "per message: during the window it stores nothing on disk. Its column takes all its persist-* runs together."
fi
echo
if (( USES_TLS )); then
    tls_line=
    for s in $SCENARIOS; do
        [[ -n $(tls_of "$s") ]] || continue
        # awk, not head: head would leave values writing into a closed pipe (pipefail)
        tls_line+="$s fieldgate $(values fieldgate "$s" tls | awk 'NR == 1')"
        tls_line+=" mosquitto $(values mosquitto "$s" tls | awk 'NR == 1'); "
    done
    echo "TLS: $KEY_NAME keys (a CA and a server certificate it signed; the brokers send the server certificate" \
        "alone, the generator verifies it against the CA). Negotiated (version/cipher/group): $tls_line"
    hs_line=
    for s in $SCENARIOS; do
        [[ $(base_of "$s") == handshake ]] || continue
        hs_line+="$s fieldgate $(fmt "$(med fieldgate "$s" sessions_per_handshake)" 2)"
        hs_line+=" / mosquitto $(fmt "$(med mosquitto "$s" sessions_per_handshake)" 2) sessions offered,"
        hs_line+=" failed $(sum_field fieldgate "$s" failed) / $(sum_field mosquitto "$s" failed),"
        hs_line+=" resumed $(sum_field fieldgate "$s" resumed) / $(sum_field mosquitto "$s" resumed); "
    done
    if [[ -n $hs_line ]]; then
        echo "Per handshake (fieldgate / mosquitto; sessions are tickets the broker hands out, never used):" "$hs_line"
    fi
fi
cpu_line=
others_line=
for s in $SCENARIOS; do
    [[ $(base_of "$s") == idle ]] && continue
    cpu_line+="$s fieldgate $(fmt "$(med fieldgate $s broker_cpu_pct)" 0)% mosquitto $(fmt "$(med mosquitto $s broker_cpu_pct)" 0)%; "
    others_line+="$s $(fmt "$(med fieldgate $s others_cpu_pct)" 0)% / $(fmt "$(med mosquitto $s others_cpu_pct)" 0)%; "
done
echo "Broker CPU during the window (% of its core, medians): $cpu_line"
echo "Other processes' CPU on the two cores during the window (% of a core, medians, fieldgate / mosquitto runs):" \
    "$others_line(above ~10% the figures are noisy)"
lost_line=
for s in $SCENARIOS; do
    case $(base_of "$s") in idle | handshake) continue ;; esac
    for k in fieldgate mosquitto; do
        lost_line+="$s $k $(sum_field "$k" "$s" lost); "
    done
done
if [[ -n $lost_line ]]; then
    echo "Messages never delivered (sum over runs; a run ends 2 s after the last delivery, at most 30 s after the window; none may be lost here): $lost_line"
fi
fail_line=
for s in $SCENARIOS; do
    for k in fieldgate mosquitto; do
        n=$(failures "$k" "$s")
        if (( n > 0 )); then fail_line+="$s $k $n; "; fi
    done
done
if [[ -n $fail_line ]]; then
    mkdir -p "${OUT%.txt}-logs"
    cp "$WORK"/*.log "${OUT%.txt}-logs/" 2>/dev/null || true
    echo "**Failed runs:** $fail_line(see $OUT and ${OUT%.txt}-logs/)"
fi
if (( QUIET_MISSES > 0 )); then
    echo "**$QUIET_MISSES runs started while other processes kept the cores busy** (quiet waits and reruns took ${EXTRA_USED} s)."
fi
echo "Raw results: $OUT"
