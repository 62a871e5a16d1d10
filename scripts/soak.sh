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
#   SOAK_ROUTES     routes the injector of stuck_receiver announces (default 20000)
#   SOAK_FLAP_ROUTES routes of the session flaps resets (default 100000)
#   SOAK_FLAPS      resets of flaps (default 200)
# Needs root (a network namespace per probe); conn_flood and stuck_receiver need python3,
# conn_flood prlimit.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
TERND=${TERND:-$target/debug/ternd}
TERN=${TERN:-$target/debug/tern}
ROUNDS=${SOAK_ROUNDS:-50}
LINES=${SOAK_LINES:-2000}
CONNS=${SOAK_CONNS:-1100}
ROUTES=${SOAK_ROUTES:-20000}

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

# Starts ternd on $work/t.cfg, listening on $1 (default 127.0.0.1:179); waits until its
# control socket answers.
start_ternd() {
    ip netns exec "$ns" "$TERND" --config "$work/t.cfg" --control "$work/t.sock" \
        --listen "${1:-127.0.0.1:179}" --no-fib --log info >>"$work/ternd.log" 2>&1 &
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
    echo "socket_user 1-daemon mode-0666 $attempts $losses"
    [[ $losses -eq 0 ]]
}

# ---------------------------------------------------------------------------------------
# flaps: a session carrying SOAK_FLAP_ROUTES routes (default 100000) reset SOAK_FLAPS times
# (default 200): ternd S originates them (static routes to NULL0, import-route static), ternd
# T receives them. After every reset T must hold all of them again; T's RSS after the last
# flap must stay within 25 % (+ 16 MB) of its RSS after the first. LOSSES: flaps after which
# the count did not come back, plus one for an RSS that grew past the bound.
probe_flaps() {
    setup
    local routes=${SOAK_FLAP_ROUTES:-100000} flaps=${SOAK_FLAPS:-200}
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
    echo "disk_full tmpfs-1MiB $ROUNDS $tried $losses"
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
    # IBGP: the peer's connections are taken up to the limit (an EBGP peer on no connected
    # subnet would refuse them all).
    printf '#\nsysname SOAK\n#\nbgp 100\n router-id 1.1.1.9\n peer 127.0.0.2 as-number 100\n#\nreturn\n' >"$work/t.cfg"
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
    echo "conn_flood $((CONNS + 200)) $faults $inputs $losses"
    [[ $losses -eq 0 ]]
}

# ---------------------------------------------------------------------------------------
# stuck_receiver: receivers that complete the BGP handshake, keep sending KEEPALIVEs and never
# read (64 KB receive window), while an injector has announced SOAK_ROUTES routes with an AS
# path each, so that ternd has far more for them than its send buffer (capped at 256 KB in
# the namespace) holds. Each round brings one up (hold time 3 s) and waits until its data
# backs up; in odd rounds ternd must close it on its own (send hold timer, RFC 9687), in even
# ones after `undo peer` (then configured again). A receiver whose connection is still open
# 15 s after the send hold time, or 5 s after the commit, is a loss, as is an injector session
# that went down or descriptors that pile up.

# A raw BGP speaker: inject|stuck SRC AS HOLD [ROUTES] (see crates/ternd/tests/send_hold.rs).
SPEAKER_PY='
import socket, struct, sys, time
def msg(t, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), t) + body
KEEPALIVE = msg(4, b"")
def read_msg(s, buf):
    while True:
        if len(buf) >= 19:
            n = struct.unpack("!H", buf[16:18])[0]
            if len(buf) >= n:
                return buf[18], buf[n:]
        d = s.recv(65536)
        if not d:
            sys.exit("closed during the handshake")
        buf += d
mode, src, asn, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket()
if mode == "stuck":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.bind((src, 0))
s.connect(("10.9.0.1", 179))
caps = bytes([1, 4, 0, 1, 0, 1, 65, 4]) + struct.pack("!I", asn)
opt = bytes([2, len(caps)]) + caps
s.sendall(msg(1, struct.pack("!BHH4sB", 4, asn, hold, socket.inet_aton(src), len(opt)) + opt))
kind, buf = read_msg(s, b"")
s.sendall(KEEPALIVE)
kind, buf = read_msg(s, buf)
print("established", flush=True)
if mode == "inject":
    nh = socket.inet_aton(src)
    out = bytearray()
    for i in range(int(sys.argv[5])):
        path = bytes([2, 2]) + struct.pack("!II", asn, 100000 + i)
        attrs = bytes([0x40, 1, 1, 0, 0x40, 2, len(path)]) + path + bytes([0x40, 3, 4]) + nh
        nlri = bytes([24]) + struct.pack("!I", (20 << 24) | (i << 8))[:3]
        out += msg(2, struct.pack("!HH", 0, len(attrs)) + attrs + nlri)
    s.sendall(out)
    s.setblocking(False)
while True:
    time.sleep(1)
    try:
        if mode == "inject":
            try:
                while s.recv(65536):
                    pass
            except BlockingIOError:
                pass
        s.sendall(KEEPALIVE)
    except BlockingIOError:
        pass
    except OSError:
        while True:
            time.sleep(60)
'

# The largest Send-Q of ternd's ESTABLISHED sockets to $1 (0: none).
send_q() { ip netns exec "$ns" ss -tnH state established dst "$1" | awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }'; }

# ternd's sockets to $1 that are ESTABLISHED or hold data.
held_to() { ip netns exec "$ns" ss -tanH dst "$1" | awk '$1 == "ESTAB" || $3 > 0' | wc -l; }

probe_stuck_receiver() {
    setup
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 16384 262144"
    # A connected subnet for the EBGP sessions (a veth pair, both ends in the namespace).
    ip -n "$ns" link add s0 type veth peer name s1
    ip -n "$ns" link set s0 up
    ip -n "$ns" link set s1 up
    for a in 1 2 3; do ip -n "$ns" addr add "10.9.0.$a/24" dev s0; done
    local peer3='peer 10.9.0.3 as-number 300\n peer 10.9.0.3 timer keepalive 1 hold 3\n'
    printf "#\nsysname SOAK\n#\ninterface GigabitEthernet0/0/0\n ip address 10.9.0.1 255.255.255.0\n#\nbgp 100\n router-id 10.9.0.1\n peer 10.9.0.2 as-number 200\n $peer3 #\n ipv4-family unicast\n  peer 10.9.0.2 enable\n  peer 10.9.0.3 enable\n#\nreturn\n" >"$work/t.cfg"
    start_ternd 10.9.0.1:179
    ip netns exec "$ns" python3 -c "$SPEAKER_PY" inject 10.9.0.2 200 90 "$ROUTES" >"$work/inject" 2>&1 &
    local injector=$! inputs=0 faults=0 losses=0 base
    for _ in $(seq 1200); do
        t -c "display bgp peer 10.9.0.2 verbose" 2>/dev/null | grep -q "$ROUTES" && break
        sleep 0.1
    done
    base=$(ls "/proc/$daemon/fd" | wc -l)
    for ((round = 1; round <= ROUNDS; round++)); do
        ip netns exec "$ns" python3 -c "$SPEAKER_PY" stuck 10.9.0.3 300 3 >"$work/stuck" 2>&1 &
        local receiver=$! q=0
        for _ in $(seq 300); do
            q=$(send_q 10.9.0.3)
            ((q > 100000)) && break
            sleep 0.1
        done
        if ((q <= 100000)); then
            echo "stuck_receiver: round $round: no data backed up for the receiver" >&2
            kill "$receiver" 2>/dev/null || true
            wait "$receiver" 2>/dev/null || true
            losses=$((losses + 1))
            continue
        fi
        inputs=$((inputs + 1))
        faults=$((faults + 1))
        local wait_s=20
        if ((round % 2 == 0)); then
            t -c system-view -c "bgp 100" -c "undo peer 10.9.0.3" -c commit >/dev/null
            wait_s=5
        fi
        local left=1
        for _ in $(seq $((wait_s * 10))); do
            left=$(held_to 10.9.0.3)
            ((left == 0)) && break
            sleep 0.1
        done
        if ((round % 2 == 0)); then
            t -c system-view -c "bgp 100" -c "peer 10.9.0.3 as-number 300" \
                -c "peer 10.9.0.3 timer keepalive 1 hold 3" -c "ipv4-family unicast" \
                -c "peer 10.9.0.3 enable" -c commit >/dev/null
        fi
        if ((left > 0)); then
            echo "stuck_receiver: round $round: ternd still has $left connections to the receiver" >&2
            losses=$((losses + 1))
        fi
        kill "$receiver" 2>/dev/null || true
        wait "$receiver" 2>/dev/null || true
    done
    if ! t -c "display bgp peer" | grep -q "10.9.0.2 .*Established"; then
        echo "stuck_receiver: the injector's session went down" >&2
        losses=$((losses + 1))
    fi
    local fds
    fds=$(ls "/proc/$daemon/fd" | wc -l)
    if ((fds > base + 8)); then
        echo "stuck_receiver: ternd holds $fds descriptors (at start $base)" >&2
        losses=$((losses + 1))
    fi
    kill "$injector" 2>/dev/null || true
    wait "$injector" 2>/dev/null || true
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=""
    cleanup
    echo "stuck_receiver $ROUTES $faults $inputs $losses"
    [[ $losses -eq 0 ]]
}

probes=("$@")
if [[ ${#probes[@]} -eq 0 ]]; then
    mapfile -t probes < <(declare -F | sed -n 's/^declare -f probe_//p')
fi
for p in "${probes[@]}"; do
    if ! declare -F "probe_$p" >/dev/null; then
        echo "soak.sh: no probe $p" >&2
        exit 2
    fi
done
# One table: a row per probe (details of a loss on stderr).
status=0
printf '%-16s %-28s %8s %10s %6s\n' probe load faults inputs losses
rows=$(mktemp "${TMPDIR:-/tmp}/tern-soak-rows.XXXXXX")
for p in "${probes[@]}"; do
    # In this shell (not a subshell): a probe's cleanup trap stays armed.
    "probe_$p" >"$rows" || status=1
    # shellcheck disable=SC2046
    printf '%-16s %-28s %8s %10s %6s\n' $(tail -1 "$rows")
done
rm -f "$rows"
exit $status
