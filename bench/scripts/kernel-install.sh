#!/bin/bash
# ternd's kernel installation end to end: BIRD in network namespace B announces N IPv4 /24s
# (spread over the address space, as a full table's are) over EBGP to ternd in namespace T,
# which installs them into T's main table. Prints, every poll, the seconds since ternd was
# started and the tern routes in T's kernel, then the time until all N were there.
#
#   bench/scripts/kernel-install.sh N [TERND [restart]]    (default: target/release/ternd)
#
# With `restart`, ternd is then stopped and started again with the same configuration (a
# ternd with --keep-kernel-routes is stopped with SIGTERM under it, an older one with
# SIGKILL, the only stop that left its routes), and the script prints when the control socket
# appeared, the fewest tern routes seen in the kernel meanwhile, and when the routes left were
# reconciled (or, for an older ternd, all back).
#
# Needs root, iproute2, BIRD 2 and python3. The namespaces, processes and files it makes are
# removed when it ends. A listing of 1M routes takes the kernel seconds, so the finishing time
# is known to within one poll (the last progress lines say how long one took).
set -u
N=${1:-100000}
TERND=${2:-target/release/ternd}
MODE=${3:-}
KEEP=""
if [ "$MODE" = restart ] && "$TERND" --help | grep -q -- --keep-kernel-routes; then
    KEEP=--keep-kernel-routes
fi
[ -x "$TERND" ] || { echo "no ternd at $TERND" >&2; exit 1; }
D=$(mktemp -d /tmp/kernel-install.XXXX)
T=kit$$
B=kib$$
cleanup() {
    [ -n "${TP:-}" ] && kill "$TP" 2>/dev/null
    [ -n "${BP:-}" ] && kill "$BP" 2>/dev/null
    wait 2>/dev/null
    ip netns del $T 2>/dev/null
    ip netns del $B 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT
ip netns add $T
ip netns add $B
ip -n $T link set lo up
ip -n $B link set lo up
ip link add kia$$ netns $T type veth peer name kib$$ netns $B
ip -n $T addr add 10.0.0.1/24 dev kia$$
ip -n $B addr add 10.0.0.2/24 dev kib$$
ip -n $T link set kia$$ up
ip -n $B link set kib$$ up
python3 - "$N" > "$D/bird.conf" <<'PY'
import sys
n = int(sys.argv[1])
print("router id 10.0.0.2;\nprotocol device {}\nprotocol static inj {\n ipv4;")
i = k = 0
while k < n:
    # A multiplicative hash: distinct /24s all over the space, unicast and not private.
    a = ((i * 2654435761) % (1 << 24)) << 8
    i += 1
    if (a >> 24) in (0, 10, 127) or (a >> 24) >= 224:
        continue
    k += 1
    print(f" route {a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.0/24 blackhole;")
print("}\nprotocol bgp t {\n local 10.0.0.2 as 200;\n neighbor 10.0.0.1 as 100;")
print(" ipv4 { import none; export all; };\n}")
PY
cat > "$D/t.cfg" <<'CFG'
sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
CFG
ip netns exec $B bird -f -c "$D/bird.conf" -s "$D/bird.sock" > "$D/bird.log" 2>&1 &
BP=$!
loaded=""
for _ in $(seq 1200); do
    if ip netns exec $B birdc -s "$D/bird.sock" show route count 2>/dev/null |
        grep -q "^$N of $N routes"; then
        loaded=1
        break
    fi
    sleep 0.5
done
[ -n "$loaded" ] || { echo "BIRD did not load its routes" >&2; cat "$D/bird.log" >&2; exit 1; }
start=$(date +%s.%N)
ip netns exec $T "$TERND" --config "$D/t.cfg" --control "$D/t.sock" \
    --listen 0.0.0.0:179 --log info $KEEP > "$D/t.log" 2>&1 &
TP=$!
while :; do
    c=$(ip -n $T route show proto 186 | wc -l)
    now=$(date +%s.%N)
    t=$(echo "$now - $start" | bc)
    echo "$t s: $c"
    [ "$c" -ge "$N" ] && break
    if [ "$(echo "$t > 1800" | bc)" = 1 ]; then
        echo "gave up at $c routes" >&2
        exit 1
    fi
    sleep 0.2
done
echo "N=$N: all in the kernel $t s after ternd started: $(echo "$N / $t" | bc) routes/s"
[ "$MODE" = restart ] || exit 0
if [ -n "$KEEP" ]; then kill -TERM $TP; else kill -KILL $TP; fi
wait $TP 2>/dev/null
echo "stopped; tern routes in the kernel: $(ip -n $T route show proto 186 | wc -l)"
start=$(date +%s.%N)
ip netns exec $T "$TERND" --config "$D/t.cfg" --control "$D/t2.sock" \
    --listen 0.0.0.0:179 --log info $KEEP > "$D/t2.log" 2>&1 &
TP=$!
until [ -S "$D/t2.sock" ]; do sleep 0.05; done
echo "control socket after $(echo "$(date +%s.%N) - $start" | bc) s"
low=$N
while :; do
    c=$(ip -n $T route show proto 186 | wc -l)
    [ "$c" -lt "$low" ] && low=$c
    t=$(echo "$(date +%s.%N) - $start" | bc)
    grep -q "reconciled" "$D/t2.log" && break
    [ "$c" -ge "$N" ] && [ "$low" -lt "$N" ] && break
    if [ "$(echo "$t > 1800" | bc)" = 1 ]; then
        echo "gave up at $c routes" >&2
        exit 1
    fi
    sleep 0.2
done
echo "fewest tern routes seen: $low; reconciled or all back after $t s"
sed 's/\x1b\[[0-9;]*m//g' "$D/t2.log" | grep "reconciled" || true
