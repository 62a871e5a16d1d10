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
# Needs root (a network namespace per probe).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
TERND=${TERND:-$target/debug/ternd}
TERN=${TERN:-$target/debug/tern}
ROUNDS=${SOAK_ROUNDS:-50}
LINES=${SOAK_LINES:-2000}

# Scratch state of the running probe, removed on exit.
ns=""
extra_ns=""
work=""
daemon=""
cleanup() {
    if [[ -n $daemon ]]; then kill -9 "$daemon" 2>/dev/null || true; fi
    for n in $ns $extra_ns; do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$n" 2>/dev/null || true
    done
    extra_ns=""
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
# socket_user: a user other than root (nobody) drives the control socket, even with the
# socket left open to all (mode 0666): every attempt to change the configuration or the
# sessions must be refused, and the configuration and the commit list stay as they were.
# INPUTS: attempts; LOSSES: attempts that got through.
probe_socket_user() {
    setup
    chmod 0755 "$work"
    printf '#\nsysname SOAK\n#\nbgp 100\n router-id 1.1.1.9\n peer 10.0.0.2 as-number 200\n#\nreturn\n' >"$work/t.cfg"
    start_ternd
    chmod 0666 "$work/t.sock"
    local before attempts=0 losses=0
    before=$(t -c "display current-configuration" | grep -v '^!')
    nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$TERN" --socket "$work/t.sock" "$@"; }
    for ((round = 1; round <= ROUNDS; round++)); do
        for attempt in "system-view|bgp 100|undo peer 10.0.0.2|commit" "system-view|sysname X|commit" \
            "reset bgp all" "save" "rollback configuration last 1"; do
            attempts=$((attempts + 1))
            local args=()
            IFS='|' read -ra lines <<<"$attempt"
            for l in "${lines[@]}"; do args+=(-c "$l"); done
            if nobody "${args[@]}" >/dev/null 2>&1; then
                echo "socket_user: nobody ran: $attempt" >&2
                losses=$((losses + 1))
            fi
        done
    done
    if [[ $(t -c "display current-configuration" | grep -v '^!') != "$before" ]]; then
        echo "socket_user: the configuration changed" >&2
        losses=$((losses + 1))
    fi
    if t -c "display configuration commit list" | grep -q CommitId; then
        echo "socket_user: a commit was recorded" >&2
        losses=$((losses + 1))
    fi
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=""
    cleanup
    echo "probe load faults inputs losses"
    echo "socket_user 1-daemon mode-0666 $attempts $losses"
    [[ $losses -eq 0 ]]
}

# ---------------------------------------------------------------------------------------
# flaps: a session carrying SOAK_ROUTES routes (default 100000) reset SOAK_FLAPS times
# (default 200): ternd S originates them (static routes to NULL0, import-route static), ternd
# T receives them. After every reset T must hold all of them again; T's RSS after the last
# flap must stay within 25 % (+ 16 MB) of its RSS after the first. LOSSES: flaps after which
# the count did not come back, plus one for an RSS that grew past the bound.
probe_flaps() {
    setup
    local routes=${SOAK_ROUTES:-100000} flaps=${SOAK_FLAPS:-200}
    local ns2="${ns}s" sdaemon="" losses=0 faults=0
    ip netns add "$ns2"
    ip -n "$ns2" link set lo up
    extra_ns="$ns2"
    ip link add "sv$$" netns "$ns" type veth peer name "sw$$" netns "$ns2"
    ip -n "$ns" addr add 10.0.0.1/24 dev "sv$$"
    ip -n "$ns2" addr add 10.0.0.2/24 dev "sw$$"
    ip -n "$ns" link set "sv$$" up
    ip -n "$ns2" link set "sw$$" up
    {
        printf '#\nsysname S\n#\ninterface GigabitEthernet0/0/0\n ip address 10.0.0.2 255.255.255.0\n#\n'
        for ((i = 0; i < routes; i++)); do
            printf 'ip route-static %d.%d.%d.0 255.255.255.0 NULL0\n' $((i / 65536 + 16)) $((i / 256 % 256)) $((i % 256))
        done
        printf '#\nbgp 200\n router-id 10.0.0.2\n peer 10.0.0.1 as-number 100\n #\n ipv4-family unicast\n  import-route static\n  peer 10.0.0.1 enable\n#\nreturn\n'
    } >"$work/s.cfg"
    printf '#\nsysname T\n#\ninterface GigabitEthernet0/0/0\n ip address 10.0.0.1 255.255.255.0\n#\nbgp 100\n router-id 10.0.0.1\n peer 10.0.0.2 as-number 200\n #\n ipv4-family unicast\n  peer 10.0.0.2 enable\n#\nreturn\n' >"$work/t.cfg"
    ip netns exec "$ns2" "$TERND" --config "$work/s.cfg" --control "$work/s.sock" \
        --listen 10.0.0.2:179 --no-fib --log warn >>"$work/s.log" 2>&1 &
    sdaemon=$!
    ip netns exec "$ns" "$TERND" --config "$work/t.cfg" --control "$work/t.sock" \
        --listen 10.0.0.1:179 --no-fib --log warn >>"$work/ternd.log" 2>&1 &
    daemon=$!
    held() {
        t --json -c "display bgp peer 10.0.0.2 verbose" 2>/dev/null |
            sed -n 's/.*"ipv4-unicast": *\([0-9]*\).*/\1/p' | head -1
    }
    full() {
        local n
        for _ in $(seq 600); do
            n=$(held)
            if [[ $n == "$routes" ]]; then return 0; fi
            sleep 0.2
        done
        echo "flaps: T holds ${n:-0} of $routes routes" >&2
        tail -n 5 "$work/ternd.log" "$work/s.log" >&2
        t -c "display bgp peer" >&2 || true
        return 1
    }
    rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon/status"; }
    local first=0 last=0
    if full; then
        for ((f = 1; f <= flaps; f++)); do
            t -c "reset bgp all" >/dev/null
            faults=$((faults + 1))
            # The reset closes the session at once; wait for it to come back full.
            sleep 0.3
            if ! full; then losses=$((losses + 1)); fi
            if [[ $f -eq 1 ]]; then first=$(rss); fi
        done
        last=$(rss)
        if ((last > first + first / 4 + 16384)); then
            echo "flaps: T's RSS grew from ${first} kB to ${last} kB" >&2
            losses=$((losses + 1))
        fi
    else
        losses=$((losses + 1))
    fi
    kill "$sdaemon" "$daemon" 2>/dev/null || true
    wait "$sdaemon" "$daemon" 2>/dev/null || true
    daemon=""
    cleanup
    echo "probe load faults inputs losses"
    echo "flaps ${routes}-routes,rss-${first}-${last}kB $faults $((faults * routes)) $losses"
    [[ $losses -eq 0 ]]
}

# ---------------------------------------------------------------------------------------
# disk_full: the state directory and the startup file on a 1 MiB tmpfs (a mount namespace of
# the daemon's own). Each round fills the disk and commits (the commit must fail and change
# nothing), frees it and commits again (it must succeed). At the end every acknowledged
# commit must be in the commit list and the running configuration. INPUTS: commits tried;
# LOSSES: a commit acknowledged on a full disk, a refused one that changed something, an
# acknowledged one missing.
probe_disk_full() {
    setup
    mkdir -p "$work/fs"
    printf '#\nsysname SOAK\n#\nbgp 100\n router-id 1.1.1.9\n#\nreturn\n' >"$work/src.cfg"
    ip netns exec "$ns" unshare -m --propagation private sh -c \
        "mount -t tmpfs -o size=1m tmpfs '$work/fs' && cp '$work/src.cfg' '$work/fs/t.cfg' && exec '$TERND' --config '$work/fs/t.cfg' --control '$work/t.sock' --listen 127.0.0.1:179 --no-fib --log warn" \
        >>"$work/ternd.log" 2>&1 &
    daemon=$!
    for _ in $(seq 100); do
        t -c "display bgp peer" >/dev/null 2>&1 && break
        sleep 0.1
    done
    inside() { nsenter -t "$daemon" -m sh -c "$1"; }
    local tried=0 losses=0 acked=()
    for ((round = 1; round <= ROUNDS; round++)); do
        local before
        before=$(t -c "display current-configuration" | grep -v '^!')
        inside "cat /dev/zero > '$work/fs/fill' 2>/dev/null; true"
        tried=$((tried + 1))
        # More than a page of journal: the record cannot fit in a page the file already has.
        local big=(-c system-view)
        for ((i = 1; i <= 150; i++)); do
            big+=(-c "ip ip-prefix full$round index $i permit 10.9.$i.0 24")
        done
        if t "${big[@]}" -c "commit description full-$round" >/dev/null 2>&1; then
            echo "disk_full: commit $round acknowledged on a full disk" >&2
            losses=$((losses + 1))
        fi
        if [[ $(t -c "display current-configuration" | grep -v '^!') != "$before" ]]; then
            echo "disk_full: a refused commit changed the running configuration" >&2
            losses=$((losses + 1))
        fi
        inside "rm -f '$work/fs/fill'"
        tried=$((tried + 1))
        if t -c system-view -c "ip ip-prefix room index $round permit 10.$((round / 256 % 256)).$((round % 256)).0 24" \
            -c "commit description room-$round" >/dev/null 2>&1; then
            acked+=("$round")
        fi
    done
    local cur list
    cur=$(t -c "display current-configuration")
    list=$(t -c "display configuration commit list verbose")
    for n in "${acked[@]}"; do
        if ! grep -q "^ip ip-prefix room index $n permit" <<<"$cur" || ! grep -q "Description: room-$n\$" <<<"$list"; then
            echo "disk_full: acknowledged commit room-$n lost" >&2
            losses=$((losses + 1))
        fi
    done
    if [[ ${#acked[@]} -eq 0 ]]; then
        echo "disk_full: no commit succeeded with room on the disk" >&2
        losses=$((losses + 1))
    fi
    kill "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
    daemon=""
    cleanup
    echo "probe load faults inputs losses"
    echo "disk_full tmpfs-1MiB $ROUNDS $tried $losses"
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
