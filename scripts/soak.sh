#!/usr/bin/env bash
# Soak probes for tern. Each probe is a function `probe_NAME` that runs against real
# binaries and prints one result row:
#
#   PROBE LOAD FAULTS INPUTS LOSSES
#
# (LOAD: what the probe ran against, FAULTS: faults injected, INPUTS: operations
# acknowledged, LOSSES: acknowledged operations missing afterwards). A probe returns non-zero
# when it finds a loss or an inconsistency.
#
# Usage: scripts/soak.sh [PROBE ...]      (default: every probe)
# Environment:
#   TERND, TERN     the binaries (default: $CARGO_TARGET_DIR or target, debug)
#   SOAK_ROUNDS     rounds per probe (default 50)
#   SOAK_LINES      size of the configuration in prefix-list lines (default 2000)
#   SOAK_CONNS      idle connections per flood round of conn_flood (default 1100)
# Needs root (a network namespace per probe); conn_flood needs python3 and prlimit.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
TERND=${TERND:-$target/debug/ternd}
TERN=${TERN:-$target/debug/tern}
ROUNDS=${SOAK_ROUNDS:-50}
LINES=${SOAK_LINES:-2000}
CONNS=${SOAK_CONNS:-1100}

# Scratch state of the running probe, removed on exit.
ns=""
work=""
daemon=""
cleanup() {
    if [[ -n $daemon ]]; then kill -9 "$daemon" 2>/dev/null || true; fi
    if [[ -n $ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi
    if [[ -n $work ]]; then rm -rf "$work"; fi
    ns="" work="" daemon=""
}
trap cleanup EXIT

# A scratch directory and a network namespace for a probe.
setup() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/tern-soak.XXXXXX")
    ns="soak$$x$RANDOM"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
}

# Starts ternd on $work/t.cfg; waits until its control socket answers.
start_ternd() {
    ip netns exec "$ns" "$TERND" --config "$work/t.cfg" --control "$work/t.sock" \
        --listen 127.0.0.1:179 --no-fib --log info >>"$work/ternd.log" 2>&1 &
    daemon=$!
    for _ in $(seq 100); do
        if "$TERN" --socket "$work/t.sock" -c "display bgp peer" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "ternd did not start:" >&2
    tail -20 "$work/ternd.log" >&2
    return 1
}

t() { "$TERN" --socket "$work/t.sock" "$@"; }

# ---------------------------------------------------------------------------------------
# commit_kill: commits while the daemon is killed (kill -9) at random points. Each commit
# adds a prefix-list node and carries its number as description. After each restart the
# newest rollback point is made running again (the startup file wins at start) and checked:
# every acknowledged commit is in it, nothing is that was not attempted, and the newest
# acknowledged commit is in the list.
probe_commit_kill() {
    setup
    {
        printf '#\nsysname SOAK\n#\n'
        for ((i = 1; i <= LINES; i++)); do
            printf 'ip ip-prefix load index %d permit 172.%d.%d.0 24\n' "$i" $((16 + i / 65536 % 16)) $((i / 256 % 256))
        done
        printf '#\nbgp 100\n router-id 1.1.1.9\n peer 10.0.0.2 as-number 200\n#\nreturn\n'
    } >"$work/t.cfg"
    local acked=0 faults=0 losses=0 next=1
    # acked: commits acknowledged; maybe: commits in flight when the daemon died.
    : >"$work/acked"
    : >"$work/maybe"
    check() {
        local newest cur n
        newest=$(t -c "display configuration commit list" | sed -n 's/^1) CommitId: //p')
        if [[ -n $newest ]]; then
            t -c "rollback configuration to commit-id $newest" >/dev/null
        fi
        cur=$(t -c "display current-configuration")
        while read -r n; do
            if ! grep -q "^ip ip-prefix soak index $n permit" <<<"$cur"; then
                echo "commit_kill: acknowledged commit soak-$n lost" >&2
                losses=$((losses + 1))
            fi
        done <"$work/acked"
        for n in $(sed -n 's/^ip ip-prefix soak index \([0-9]*\) .*/\1/p' <<<"$cur"); do
            if ! grep -qx "$n" "$work/acked" "$work/maybe"; then
                echo "commit_kill: soak-$n is running but was never committed" >&2
                losses=$((losses + 1))
            fi
        done
        n=$(tail -1 "$work/acked")
        if [[ -n $n ]] && ! t -c "display configuration commit list verbose" | grep -q "Description: soak-$n\$"; then
            echo "commit_kill: soak-$n missing from the commit list" >&2
            losses=$((losses + 1))
        fi
    }
    for ((round = 1; round <= ROUNDS; round++)); do
        start_ternd
        check
        # Commits until the daemon dies.
        (
            n=$next
            while echo "$n" >"$work/trying" && t -c system-view \
                -c "ip ip-prefix soak index $n permit 10.$((n / 256 % 256)).$((n % 256)).0 24" \
                -c "commit description soak-$n" >/dev/null 2>&1; do
                echo "$n" >>"$work/acked"
                n=$((n + 1))
            done
        ) &
        local loop=$!
        sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
        kill -9 "$daemon"
        wait "$daemon" 2>/dev/null || true
        daemon=""
        wait "$loop" || true
        faults=$((faults + 1))
        # The commit in flight when the daemon died may or may not have been recorded.
        local tried
        tried=$(cat "$work/trying" 2>/dev/null || echo 0)
        if ! grep -qx "$tried" "$work/acked"; then echo "$tried" >>"$work/maybe"; fi
        next=$((tried + 1))
    done
    start_ternd
    check
    acked=$(wc -l <"$work/acked")
    local load
    load=$(t -c "display current-configuration" | wc -l)
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=""
    cleanup
    echo "probe load faults inputs losses"
    echo "commit_kill $load $faults $acked $losses"
    [[ $losses -eq 0 ]]
}

# ---------------------------------------------------------------------------------------
# conn_flood: floods of idle TCP connections against a ternd limited to 512 descriptors. Each
# round opens SOAK_CONNS connections from a configured peer's address (127.0.0.2) and 200
# from an unconfigured one (127.0.0.3), holds them, and checks that ternd has kept no more
# than a few of them open, answers the control API within 10 s and uses less than half a
# core; a round that fails a check is a loss. At the end the log must hold at most a few
# lines a second about connections (refused, accepted, up, closed).

# Opens argv[2] non-blocking connections from argv[1] to 127.0.0.1:179, prints how many
# completed within argv[3] s, then holds them until killed.
FLOOD_PY='
import resource, selectors, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
src, n, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
socks = []
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    s.connect_ex(("127.0.0.1", 179))
    sel.register(s, selectors.EVENT_WRITE)
    socks.append(s)
ok, left, deadline = 0, n, time.time() + wait
while left and time.time() < deadline:
    for key, _ in sel.select(timeout=0.2):
        sel.unregister(key.fileobj)
        left -= 1
        if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            ok += 1
print(ok, flush=True)
time.sleep(3600)
'

# CPU time of a process in clock ticks (utime + stime).
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

probe_conn_flood() {
    setup
    printf '#\nsysname SOAK\n#\nbgp 100\n router-id 1.1.1.9\n peer 127.0.0.2 as-number 200\n#\nreturn\n' >"$work/t.cfg"
    start_ternd
    prlimit --pid "$daemon" --nofile=512:512
    local base hz inputs=0 faults=0 losses=0 started
    base=$(ls "/proc/$daemon/fd" | wc -l)
    hz=$(getconf CLK_TCK)
    started=$(date +%s)
    for ((round = 1; round <= ROUNDS; round++)); do
        ip netns exec "$ns" python3 -c "$FLOOD_PY" 127.0.0.2 "$CONNS" 30 >"$work/flood1" &
        local f1=$!
        ip netns exec "$ns" python3 -c "$FLOOD_PY" 127.0.0.3 200 30 >"$work/flood2" &
        local f2=$!
        faults=$((faults + 1))
        for _ in $(seq 400); do
            [[ -s $work/flood1 && -s $work/flood2 ]] && break
            sleep 0.1
        done
        inputs=$((inputs + $(cat "$work/flood1" 2>/dev/null || echo 0) + $(cat "$work/flood2" 2>/dev/null || echo 0)))
        sleep 1
        local fds t0 t1
        fds=$(ls "/proc/$daemon/fd" | wc -l)
        if ((fds > base + 8)); then
            echo "conn_flood: round $round: ternd holds $fds descriptors (at start $base)" >&2
            losses=$((losses + 1))
        fi
        if ! timeout 10 "$TERN" --socket "$work/t.sock" -c "display bgp peer" >/dev/null 2>&1; then
            echo "conn_flood: round $round: control API does not answer" >&2
            losses=$((losses + 1))
        fi
        t0=$(cpu_ticks "$daemon")
        sleep 2
        t1=$(cpu_ticks "$daemon")
        if (((t1 - t0) * 100 > hz * 2 * 50)); then
            echo "conn_flood: round $round: ternd used $(((t1 - t0) * 100 / (hz * 2))) % of a core" >&2
            losses=$((losses + 1))
        fi
        kill "$f1" "$f2" 2>/dev/null || true
        wait "$f1" "$f2" 2>/dev/null || true
    done
    local lines elapsed
    elapsed=$(($(date +%s) - started))
    lines=$(grep -c -e refused -e accept -e 'connection [0-9]* up' -e 'connection [0-9]* closed' "$work/ternd.log" || true)
    if ((lines > 4 * elapsed + 50)); then
        echo "conn_flood: $lines log lines about connections in $elapsed s" >&2
        losses=$((losses + 1))
    fi
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=""
    cleanup
    echo "probe load faults inputs losses"
    echo "conn_flood $((CONNS + 200)) $faults $inputs $losses"
    [[ $losses -eq 0 ]]
}

probes=("$@")
if [[ ${#probes[@]} -eq 0 ]]; then
    mapfile -t probes < <(declare -F | sed -n 's/^declare -f probe_//p')
fi
status=0
for p in "${probes[@]}"; do
    if ! declare -F "probe_$p" >/dev/null; then
        echo "soak.sh: no probe $p" >&2
        exit 2
    fi
    "probe_$p" || status=1
done
exit $status
