#!/bin/bash
# Regenerate the golden BGP message vectors in testdata/golden/ from real
# daemons (Debian packages frr, gobgpd, exabgp, bird2).  Run by hand as root:
#
#   bash testdata/capture/capture.sh [frr|gobgp|exabgp|bird ...]
#
# Topology (two network namespaces, created and deleted by this script):
#
#   tern-dut (daemon)                    tern-rec (recorder.py)
#   dut0 10.0.0.1/24 fd00::1/64  <---->  rec0 10.0.0.2-4/24 fd00::2-3/64
#        fe80::ff:fe00:1                      fe80::ff:fe00:2
#   dut1 10.0.1.1/24 (no IPv6)   <---->  rec1 10.0.1.2-4/24 (no IPv6)
#
# Every daemon is passive; recorder.py connects to it, mirrors its
# capabilities and writes every message the daemon sends, verbatim, to
# testdata/golden/<daemon>-<what>.bgp.  Only traffic inside the namespaces.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
GOLDEN=$(cd "$HERE/../golden" && pwd)
REC="python3 $HERE/recorder.py"
WORK=/tmp/tern-capture
DUT="ip netns exec tern-dut"
RNS="ip netns exec tern-rec"

PIDS=()

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    PIDS=()
    ip netns del tern-dut 2>/dev/null
    ip netns del tern-rec 2>/dev/null
}

setup_ns() {
    cleanup
    set -e
    ip netns add tern-dut
    ip netns add tern-rec
    ip link add dut0 type veth peer name rec0
    ip link add dut1 type veth peer name rec1
    ip link set dut0 netns tern-dut
    ip link set dut1 netns tern-dut
    ip link set rec0 netns tern-rec
    ip link set rec1 netns tern-rec
    for ns in tern-dut tern-rec; do
        ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0
        ip netns exec $ns ip link set lo up
    done
    $DUT sysctl -qw net.ipv6.conf.dut0.accept_dad=0 net.ipv6.conf.dut1.disable_ipv6=1
    $RNS sysctl -qw net.ipv6.conf.rec0.accept_dad=0 net.ipv6.conf.rec1.disable_ipv6=1
    # fixed MACs -> fixed link-local addresses fe80::ff:fe00:1 / fe80::ff:fe00:2
    $DUT ip link set dut0 address 02:00:00:00:00:01
    $RNS ip link set rec0 address 02:00:00:00:00:02
    $DUT ip link set dut1 address 02:00:00:00:01:01
    $RNS ip link set rec1 address 02:00:00:00:01:02
    $DUT ip addr add 10.0.0.1/24 dev dut0
    $DUT ip addr add fd00::1/64 dev dut0 nodad
    $DUT ip addr add 10.0.1.1/24 dev dut1
    for i in 2 3 4; do
        $RNS ip addr add 10.0.0.$i/24 dev rec0
        $RNS ip addr add 10.0.1.$i/24 dev rec1
    done
    $RNS ip addr add fd00::2/64 dev rec0 nodad
    $RNS ip addr add fd00::3/64 dev rec0 nodad
    for l in dut0 dut1; do $DUT ip link set $l up; done
    for l in rec0 rec1; do $RNS ip link set $l up; done
    # daemons pick their IPv6 next hops (global + link-local) from the
    # interface: wait until both link-locals are there and usable
    for _ in $(seq 1 50); do
        if $DUT ip -6 addr show dev dut0 scope link | grep -q "fe80::ff:fe00:1" &&
           $RNS ip -6 addr show dev rec0 scope link | grep -q "fe80::ff:fe00:2" &&
           ! $DUT ip -6 addr show tentative | grep -q . &&
           ! $RNS ip -6 addr show tentative | grep -q .; then
            break
        fi
        sleep 0.2
    done
    sleep 1
}

wait_port() { # ns addr
    for _ in $(seq 1 50); do
        if ip netns exec "$1" ss -Hltn "sport = :179" | grep -q .; then return 0; fi
        sleep 0.2
    done
    echo "daemon in $1 does not listen on 179" >&2
    return 1
}

record() { # name args...   (runs in background; collect with wait)
    local name=$1; shift
    $RNS $REC "$@" --out "$GOLDEN/$name.bgp" 2> >(sed "s/^/[$name] /" >&2) &
    RECS+=($!)
}

wait_recs() {
    local rc=0
    for p in "${RECS[@]}"; do wait "$p" || rc=1; done
    RECS=()
    return $rc
}

stop_daemons() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    PIDS=()
}

# ---------------------------------------------------------------- FRR
run_frr() {
    echo "== FRR $(dpkg-query -W -f='${Version}' frr)"
    local d=$WORK/frr
    rm -rf "$d"; mkdir -p "$d"
    cp "$HERE"/frr/*.conf "$d"/
    chown -R frr:frr "$d"
    local common=(-z "$d/zserv.api" --vty_socket "$d" -A 127.0.0.1 -u frr -g frr)
    $DUT /usr/lib/frr/zebra -d -f "$d/zebra.conf" -i "$d/zebra.pid" "${common[@]}" \
        --log "file:$d/zebra.log"
    sleep 1
    $DUT /usr/lib/frr/bgpd -d -f "$d/bgpd.conf" -i "$d/bgpd.pid" "${common[@]}" \
        --log "file:$d/bgpd.log"
    PIDS+=("$(cat "$d/zebra.pid")")
    wait_port tern-dut
    PIDS+=("$(cat "$d/bgpd.pid")")
    sleep 4  # let bgpd learn the interfaces from zebra and originate its networks
    RECS=()
    # EBGP, IPv4 transport over dut1 (no IPv6 on the link)
    record frr-ebgp-v4 --connect 10.0.1.1 --bind 10.0.1.2 --as 65001 --id 10.0.1.2
    # IBGP, IPv4 transport over dut0 (link has global + link-local IPv6)
    record frr-ibgp-v4 --connect 10.0.0.1 --bind 10.0.0.3 --as 65000 --id 10.0.0.3
    # EBGP, IPv6 transport over dut0, extended next hop for IPv4 families
    record frr-ebgp-v6 --connect fd00::1 --bind fd00::2 --as 65001 --id 10.0.0.5
    # EBGP, IPv4 transport over dut1, labeled unicast only
    record frr-ebgp-lu --connect 10.0.1.1 --bind 10.0.1.3 --as 65001 --id 10.0.1.3
    wait_recs
    stop_daemons
}

# ---------------------------------------------------------------- GoBGP
run_gobgp() {
    echo "== GoBGP $(dpkg-query -W -f='${Version}' gobgpd)"
    local d=$WORK/gobgp
    rm -rf "$d"; mkdir -p "$d"
    $DUT gobgpd -f "$HERE/gobgp/gobgpd.toml" --api-hosts 127.0.0.1:50051 \
        >"$d/gobgpd.log" 2>&1 &
    PIDS+=($!)
    wait_port tern-dut
    sleep 1
    G="$DUT gobgp -u 127.0.0.1 -p 50051"
    . "$HERE/gobgp/routes.sh"
    sleep 1
    RECS=()
    # EBGP, IPv4 transport: v4/v6 unicast, v4/v6 labeled, VPNv4, VPNv6
    record gobgp-ebgp-v4 --connect 10.0.1.1 --bind 10.0.1.2 --as 65001 --id 10.0.1.2
    # IBGP with ADD-PATH (IPv4 + IPv6 unicast)
    record gobgp-ibgp-addpath --connect 10.0.1.1 --bind 10.0.1.3 --as 65100 --id 10.0.1.3
    # EBGP, IPv6 transport (link with link-local addresses): v6 unicast, VPNv6, VPNv4
    record gobgp-ebgp-v6 --connect fd00::1 --bind fd00::2 --as 65001 --id 10.0.0.5
    # EBGP, 2-octet AS session (recorder does not offer 4-octet AS)
    record gobgp-ebgp-as2 --connect 10.0.1.1 --bind 10.0.1.4 --as 65002 --id 10.0.1.4 --no-as4
    wait_recs
    stop_daemons
}

# ---------------------------------------------------------------- ExaBGP
run_exabgp() {
    echo "== ExaBGP $(dpkg-query -W -f='${Version}' exabgp)"
    local d=$WORK/exabgp
    rm -rf "$d"; mkdir -p "$d"
    (cd "$d" && exec $DUT env exabgp.tcp.bind=10.0.1.1 exabgp.tcp.port=179 \
        exabgp.daemon.user=root exabgp.log.destination="$d/exabgp.log" \
        exabgp "$HERE/exabgp/exabgp.conf" >"$d/out.log" 2>&1) &
    PIDS+=($!)
    wait_port tern-dut
    sleep 1
    RECS=()
    # IBGP, ADD-PATH for IPv4 unicast + VPNv4, many attributes, all families
    record exabgp-ibgp-addpath --connect 10.0.1.1 --bind 10.0.1.2 --as 65200 --id 10.0.1.2
    # EBGP, 2-octet AS (ExaBGP capability asn4 disable)
    record exabgp-ebgp-as2 --connect 10.0.1.1 --bind 10.0.1.4 --as 65002 --id 10.0.1.4
    wait_recs
    stop_daemons
}

# ---------------------------------------------------------------- BIRD
run_bird() {
    echo "== BIRD $(dpkg-query -W -f='${Version}' bird2)"
    local d=$WORK/bird
    rm -rf "$d"; mkdir -p "$d"
    $DUT bird -f -c "$HERE/bird/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid" \
        >"$d/bird.log" 2>&1 &
    PIDS+=($!)
    wait_port tern-dut
    sleep 2
    RECS=()
    # EBGP, IPv4 transport: IPv4 unicast
    record bird-ebgp-v4 --connect 10.0.1.1 --bind 10.0.1.2 --as 65001 --id 10.0.1.2
    # EBGP, IPv6 transport with link-local: IPv6 unicast, IPv4 with ext. next hop
    record bird-ebgp-v6 --connect fd00::1 --bind fd00::2 --as 65001 --id 10.0.0.5
    wait_recs
    stop_daemons
}

main() {
    [ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
    # debugging aids: "setup" leaves the namespaces up, "cleanup" removes them
    if [ "${1:-}" = setup ]; then setup_ns; exit 0; fi
    if [ "${1:-}" = cleanup ]; then cleanup; exit 0; fi
    trap cleanup EXIT
    local which=("$@")
    [ ${#which[@]} -gt 0 ] || which=(frr gobgp exabgp bird)
    mkdir -p "$WORK"
    setup_ns
    for w in "${which[@]}"; do
        "run_$w"
    done
    cleanup
    trap - EXIT
    for f in "$GOLDEN"/*.bgp; do
        python3 "$HERE/inspect.py" "$f" >/dev/null || { echo "inspect failed: $f" >&2; exit 1; }
    done
    echo "done"
}

main "$@"
