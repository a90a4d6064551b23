#!/bin/sh
# Installs the Debian (bookworm) packages fieldgate needs to build and to run its tests.
# Idempotent: when every package is already installed it does nothing, not even
# `apt-get update`. Runs apt through sudo when not root.
set -eu

# Build: toolchain and the libraries DESIGN.md names.
BUILD="build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
libboost1.81-dev libssl-dev libmodbus-dev libtomlplusplus-dev libsqlite3-dev
libsystemd-dev libcli11-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev"

# Test peers: the real programs the integration and browser tests talk to.
PEERS="mosquitto mosquitto-clients python3 python3-paho-mqtt python3-pymodbus socat
chromium"
# Node.js may come from elsewhere (nodesource ships npm inside nodejs); only ask
# Debian for it when there is no node/npm at all.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PEERS="$PEERS nodejs npm"
fi

missing=""
for pkg in $BUILD $PEERS; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
