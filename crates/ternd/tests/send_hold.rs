//! Receivers that stop reading (RFC 9687, the send hold timer). An injector announces 20,000
//! routes to ternd, each with an AS path of its own, so that ternd has about a megabyte to send
//! each of two receivers that complete the BGP handshake with a 64 KB receive window, then
//! keep sending KEEPALIVEs every 3 s and never read again:
//!
//! - A (hold time 9 s): its connection makes no progress for the hold time; ternd sends
//!   NOTIFICATION Send Hold Timer Expired (if it can) and closes the connection: no socket to
//!   A is left ESTABLISHED, the peer is not Established, and its last error says why;
//! - B (hold time 90 s): `undo peer` for B, committed, closes its connection at once, long
//!   before its send hold time: no socket to B is left, nor its unsent megabyte.
//!
//! The injector's session stays Established throughout. ternd's namespace caps TCP send
//! buffers at 256 KB (`net.ipv4.tcp_wmem`), so that what ternd has for a receiver is always
//! more than the two buffers hold and its writer really stalls.
//!
//! Topology: ternd 10.0.0.1/24 ── 10.0.0.2 (injector, AS 200), 10.0.0.3 (A, AS 300),
//! 10.0.0.4 (B, AS 400). Needs root (network namespaces) and python3.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Netns, TempDir, Ternd, link, wait_for};

const ROUTES: u32 = 20_000;

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 30 hold 90
 peer 10.0.0.3 as-number 300
 peer 10.0.0.3 timer keepalive 3 hold 9
 peer 10.0.0.4 as-number 400
 peer 10.0.0.4 timer keepalive 30 hold 90
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
  peer 10.0.0.3 enable
  peer 10.0.0.4 enable
#
return
";

/// A raw BGP speaker: `inject|stuck SRC AS HOLD [ROUTES]`. Connects from SRC to 10.0.0.1:179,
/// sends OPEN (IPv4 unicast, four-octet AS), answers ternd's OPEN with a KEEPALIVE and waits
/// for ternd's, then prints `established`. `inject` then sends ROUTES /24s from 20.0.0.0,
/// route i with AS path (AS, 100000 + i), prints `injected`, and reads (and drops) whatever
/// comes. `stuck` (SO_RCVBUF 64 KB, set before connecting) never reads again. Both send a
/// KEEPALIVE every 3 s; when that fails the connection is gone: `gone` is printed and the
/// script idles.
const SPEAKER: &str = r#"
import socket, struct, sys, time

def msg(t, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), t) + body

KEEPALIVE = msg(4, b"")

def open_msg(asn, hold, rid):
    caps = bytes([1, 4, 0, 1, 0, 1]) + bytes([65, 4]) + struct.pack("!I", asn)
    opt = bytes([2, len(caps)]) + caps
    return msg(1, struct.pack("!BHH4sB", 4, asn if asn < 65536 else 23456, hold,
                              socket.inet_aton(rid), len(opt)) + opt)

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
s.connect(("10.0.0.1", 179))
s.sendall(open_msg(asn, hold, src))
kind, buf = read_msg(s, b"")
if kind != 1:
    sys.exit("expected an OPEN, got type %d" % kind)
s.sendall(KEEPALIVE)
kind, buf = read_msg(s, buf)
if kind != 4:
    sys.exit("expected a KEEPALIVE, got type %d" % kind)
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
    print("injected", flush=True)
    s.setblocking(False)
while True:
    time.sleep(3)
    try:
        if mode == "inject":
            try:
                while s.recv(65536):
                    pass
            except BlockingIOError:
                pass
        s.setblocking(True)
        s.sendall(KEEPALIVE)
        if mode == "inject":
            s.setblocking(False)
    except OSError as e:
        print("gone", e, flush=True)
        while True:
            time.sleep(60)
"#;

/// A speaker process, killed on drop.
struct Speaker {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Speaker {
    fn start(ns: &Netns, script: &str, args: &[&str]) -> Speaker {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "python3", script])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        Speaker { child, out }
    }

    /// Waits for the line the script prints at `what` (established, injected).
    fn expect(&mut self, what: &str) {
        let mut line = String::new();
        self.out.read_line(&mut line).expect("speaker output");
        assert_eq!(line.trim(), what, "speaker");
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ternd's TCP sockets to `addr:port` in its namespace: (state, Send-Q).
fn sockets_to(ns: &Netns, addr: &str) -> Vec<(String, u64)> {
    ns.sh(&format!("ss -tanH dst {addr}"))
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?))
        })
        .collect()
}

/// The largest Send-Q of an ESTABLISHED socket to `addr`.
fn stuck_bytes(ns: &Netns, addr: &str) -> u64 {
    sockets_to(ns, addr)
        .into_iter()
        .filter(|(s, _)| s == "ESTAB")
        .map(|(_, q)| q)
        .max()
        .unwrap_or(0)
}

fn held(t: &Ternd) -> u64 {
    t.peer("10.0.0.2")["prefixes"]["ipv4-unicast"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn receivers_that_stop_reading_are_closed() {
    let dir = TempDir::new("sh");
    let t_ns = Netns::new("sht");
    let p_ns = Netns::new("shp");
    link(
        &t_ns,
        &["10.0.0.1/24"],
        &p_ns,
        &["10.0.0.2/24", "10.0.0.3/24", "10.0.0.4/24"],
    );
    t_ns.sh("sysctl -qw net.ipv4.tcp_wmem=\"4096 16384 262144\"");
    let script = dir.write("speaker.py", SPEAKER).display().to_string();
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);

    let routes = ROUTES.to_string();
    let mut inj = Speaker::start(
        &p_ns,
        &script,
        &["inject", "10.0.0.2", "200", "90", &routes],
    );
    inj.expect("established");
    inj.expect("injected");
    assert!(
        wait_for(Duration::from_secs(120), || held(&t) == u64::from(ROUTES)),
        "ternd holds {} of the injector's routes\n{}",
        held(&t),
        t.log_text()
    );

    let mut a = Speaker::start(&p_ns, &script, &["stuck", "10.0.0.3", "300", "9"]);
    let mut b = Speaker::start(&p_ns, &script, &["stuck", "10.0.0.4", "400", "90"]);
    a.expect("established");
    b.expect("established");
    t.wait_established("10.0.0.3", Duration::from_secs(10));
    t.wait_established("10.0.0.4", Duration::from_secs(10));
    // Both fill their windows and ternd's send buffer: their writers stall.
    for addr in ["10.0.0.3", "10.0.0.4"] {
        assert!(
            wait_for(Duration::from_secs(60), || stuck_bytes(&t_ns, addr)
                > 100_000),
            "no data waits for {addr}: {:?}",
            sockets_to(&t_ns, addr)
        );
    }

    // B: undo peer, committed: the connection is gone at once, unsent data and all.
    let mut c = tern_api::Blocking::connect(&t.control).expect("control");
    let id = c.open_session("test").expect("session").session;
    for line in ["system-view", "bgp 100", "undo peer 10.0.0.4", "commit"] {
        let r = c.execute(id, line, false).expect(line);
        assert!(r.error.is_none(), "{line}: {:?}", r.error);
    }
    assert!(
        wait_for(Duration::from_secs(10), || sockets_to(&t_ns, "10.0.0.4")
            .is_empty()),
        "after undo peer, ternd still has {:?} to B\n{}",
        sockets_to(&t_ns, "10.0.0.4"),
        t.log_text()
    );

    // A: closed once nothing has gone out for its hold time (9 s).
    let since = Instant::now();
    assert!(
        wait_for(Duration::from_secs(40), || stuck_bytes(&t_ns, "10.0.0.3")
            == 0
            && t.state("10.0.0.3") != "Established"),
        "A still Established after {:?}: {:?}\n{}",
        since.elapsed(),
        sockets_to(&t_ns, "10.0.0.3"),
        t.log_text()
    );
    assert!(
        !sockets_to(&t_ns, "10.0.0.3")
            .iter()
            .any(|(s, q)| s == "ESTAB" || *q > 0),
        "{:?}",
        sockets_to(&t_ns, "10.0.0.3")
    );
    // The session log (`display bgp peer A log`) says why.
    let log = t.peer("10.0.0.3")["log"].to_string();
    assert!(log.contains("Send Hold Timer Expired"), "{log}");
    assert!(
        t.log_text().contains("send hold timer expired"),
        "{}",
        t.log_text()
    );
    // The injector's session was never touched.
    assert_eq!(t.state("10.0.0.2"), "Established");
    assert_eq!(t.peer("10.0.0.2")["up_count"], 1);
    drop(a);
    drop(b);
    drop(inj);
}
