#!/usr/bin/env bash
# Runs every test of tern: formatting, lints, unit/property/golden/differential tests, and a
# bounded fuzz run of every decoder. Installs what it needs when missing.
#   FUZZ_SECONDS  seconds per fuzz target (default 30; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }

step() { printf '\n==> %s\n' "$*"; }

step "peer daemons for the interop tests (FRR, BIRD, GoBGP, ExaBGP), pmacct for the BMP test, bgpdump for MRT, tmux for the shell test, graphviz for tern lab graph"
need=""
command -v ip >/dev/null 2>&1 || need="$need iproute2"
[ -x /usr/lib/frr/bgpd ] || need="$need frr"
command -v bird >/dev/null 2>&1 || need="$need bird2"
command -v gobgpd >/dev/null 2>&1 || need="$need gobgpd"
command -v exabgp >/dev/null 2>&1 || need="$need exabgp"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v tmux >/dev/null 2>&1 || need="$need tmux"
command -v pmbmpd >/dev/null 2>&1 || need="$need pmacct"
command -v bgpdump >/dev/null 2>&1 || need="$need bgpdump"
command -v nsenter >/dev/null 2>&1 || need="$need util-linux" # unshare/nsenter: the full-disk test
command -v setpriv >/dev/null 2>&1 || need="$need util-linux" # setpriv: ternd as an unprivileged user
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd" # the unit file is verified
command -v dot >/dev/null 2>&1 || need="$need graphviz" # dot: tern lab graph's SVG and its test
# The metrics test: promtool and a Prometheus server (both in Debian's prometheus), curl.
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || need="$need prometheus"
command -v curl >/dev/null 2>&1 || need="$need curl"
if [ -n "$need" ]; then
    echo "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $need
fi
# The packages start their own daemons; the tests run their own copies in namespaces.
for svc in frr bird gobgpd exabgp prometheus; do
    systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "fuzz every decoder for ${FUZZ_SECONDS:-30} s"
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
    bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi

step "all tests passed"
