#!/usr/bin/env bash
# The main job: the seed's scenario (inter-AS VPNv6 option C with route reflectors,
# examples/seed-option-c-rr) as a running network, one ternd per router in network namespaces,
# then the BGP sessions and each PE's VPN instance routes with next hop and label.
# Needs root (network namespaces). Installs iproute2 when missing.
#   LAB_DIR  the folder of VRP files to run (default examples/seed-option-c-rr)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
    echo "tern lab needs root (network namespaces): run this as root" >&2
    exit 1
fi
if ! command -v ip >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends iproute2
fi

cargo build --release --locked -p tern -p ternd
dir="${LAB_DIR:-examples/seed-option-c-rr}"
target/release/tern lab up "$dir"
echo
echo "The lab stays up: target/release/tern lab exec PE2 \"display bgp vpnv6 all routing-table\""
echo "Remove it with:   target/release/tern lab down"
