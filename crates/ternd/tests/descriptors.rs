//! Descriptors under a connection flood: a configured peer's address opens 1,100 idle TCP
//! connections to port 179 (and an unconfigured address 300 more) against a ternd whose
//! descriptor limit is 512. ternd keeps at most two connections of the peer waiting for their
//! sessions and closes the rest, and the unconfigured ones, at once: its descriptors do not
//! pile up, it answers the control API, it does not spin, and it logs a bounded number of
//! lines about it. The soft limit it started with (256) was raised to the hard one (512).
//!
//! Then the descriptors run out for real: the limit is lowered at run time (`prlimit --pid`)
//! to what ternd has open, and more connections arrive. Accepting fails (EMFILE); ternd waits
//! between attempts instead of spinning and logs a summary line rather than one per failure.
//! Given descriptors again, it takes the waiting connections (and closes them) and answers
//! the control API. Once the flood is gone a real peer (GoBGP) establishes from that address.
//!
//! Topology: ternd 10.0.0.1/24 ── 10.0.0.2/24 (configured peer: the flood, then GoBGP) and
//! 10.0.0.9/24 (unconfigured). Needs root (network namespaces), python3 and GoBGP.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::{Netns, TempDir, Ternd, answers, cpu_share, link, open_fds, wait_for};

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 3 hold 9
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
";

const GOBGP_CFG: &str = r#"[global.config]
  as = 200
  router-id = "10.0.0.2"
  port = 179

[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 100
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 5
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#;

/// Opens argv[2] non-blocking TCP connections from argv[1] to 10.0.0.1:179, waits up to
/// argv[3] seconds for them to complete, prints how many did, then holds them all, idle,
/// until its standard input closes.
const FLOOD: &str = r"
import resource, selectors, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
src, n, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
socks = []
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    s.connect_ex(('10.0.0.1', 179))
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
sys.stdin.read()
";

/// A flood of idle connections, held until dropped.
struct Flood {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Flood {
    fn start(ns: &Netns, script: &str, src: &str, n: usize, wait_secs: u32) -> Flood {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "python3", script, src])
            .arg(n.to_string())
            .arg(wait_secs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        Flood { child, out }
    }

    /// How many connections completed (once the script has waited for them).
    fn connected(&mut self) -> usize {
        let mut line = String::new();
        self.out.read_line(&mut line).expect("flood output");
        line.trim()
            .parse()
            .unwrap_or_else(|_| panic!("flood: {line:?}"))
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// gobgpd, stopped on drop.
struct Gobgpd(Child);

impl Drop for Gobgpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of the log that speak of accepting or refusing connections.
fn accept_lines(t: &Ternd) -> usize {
    t.log_text()
        .lines()
        .filter(|l| l.contains("accept") || l.contains("refused"))
        .count()
}

fn limits_line(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_connection_flood_neither_exhausts_nor_spins_and_a_real_peer_still_comes_up() {
    let dir = TempDir::new("fd");
    let t_ns = Netns::new("fdt");
    let p_ns = Netns::new("fdp");
    link(
        &t_ns,
        &["10.0.0.1/24"],
        &p_ns,
        &["10.0.0.2/24", "10.0.0.9/24"],
    );
    let script = dir.write("flood.py", FLOOD);
    let script = script.display().to_string();
    let t = Ternd::start_under(
        &t_ns,
        &dir,
        "t",
        T_CFG,
        &["0.0.0.0:179"],
        &[],
        &["prlimit", "--nofile=256:512"],
    );
    let pid = t.child.id();

    // The soft limit was raised to the hard one, and said so.
    let limits = limits_line(pid);
    assert!(
        limits.split_whitespace().filter(|w| *w == "512").count() == 2,
        "{limits}"
    );
    assert!(
        t.log_text()
            .contains("open files limit raised from 256 to 512"),
        "{}",
        t.log_text()
    );
    assert!(answers(&t.control, Duration::from_secs(10)));
    let base = open_fds(pid);

    // 1. 1,100 idle connections from the peer's address, 300 from an unconfigured one.
    let mut peer_flood = Flood::start(&p_ns, &script, "10.0.0.2", 1100, 60);
    let mut stranger = Flood::start(&p_ns, &script, "10.0.0.9", 300, 60);
    let n = peer_flood.connected();
    let m = stranger.connected();
    assert_eq!((n, m), (1100, 300), "connections completed");
    // At most two of the peer's connections wait for their sessions; all others are closed.
    assert!(
        wait_for(Duration::from_secs(10), || open_fds(pid) <= base + 8),
        "ternd holds {} descriptors (at start {base})\n{}",
        open_fds(pid),
        t.log_text()
    );
    assert!(
        answers(&t.control, Duration::from_secs(10)),
        "control API does not answer during the flood"
    );
    let share = cpu_share(pid, Duration::from_secs(5));
    assert!(share < 0.5, "ternd uses {:.0} % of a core", share * 100.0);
    let lines = accept_lines(&t);
    assert!(
        lines < 200,
        "{lines} lines about connections:\n{}",
        t.log_text()
    );
    assert!(
        t.log_text()
            .contains("connection from unconfigured address 10.0.0.9 refused"),
        "{}",
        t.log_text()
    );

    // 2. No descriptor left: accepting fails until there are descriptors again.
    let held = open_fds(pid);
    common::sh(&format!("prlimit --pid {pid} --nofile={held}:512"));
    let before = accept_lines(&t);
    let mut more = Flood::start(&p_ns, &script, "10.0.0.2", 300, 5);
    let waiting = more.connected();
    let share = cpu_share(pid, Duration::from_secs(5));
    assert!(
        share < 0.5,
        "ternd uses {:.0} % of a core while out of descriptors ({waiting} connections wait)",
        share * 100.0
    );
    let lines = accept_lines(&t) - before;
    assert!(
        lines < 50,
        "{lines} lines about accepting:\n{}",
        t.log_text()
    );
    assert!(
        t.log_text().contains("accept failed: Too many open files"),
        "the exhaustion did not happen ({waiting} connections wait):\n{}",
        t.log_text()
    );
    common::sh(&format!("prlimit --pid {pid} --nofile=512:512"));
    assert!(
        answers(&t.control, Duration::from_secs(20)),
        "control API does not answer after the exhaustion"
    );
    assert!(
        wait_for(Duration::from_secs(10), || open_fds(pid) <= base + 8),
        "ternd holds {} descriptors (at start {base})",
        open_fds(pid)
    );
    assert!(
        wait_for(Duration::from_secs(10), || t
            .log_text()
            .contains("accepting again")),
        "{}",
        t.log_text()
    );

    // 3. The flood ends; the real peer comes up from the same address.
    drop(more);
    drop(stranger);
    drop(peer_flood);
    let cfg = dir.write("gobgpd.toml", GOBGP_CFG);
    let cfg = cfg.display().to_string();
    let _g = Gobgpd(p_ns.spawn(
        &[
            "gobgpd",
            "-f",
            &cfg,
            "--api-hosts",
            "127.0.0.1:50051",
            "--pprof-disable",
        ],
        &dir.path("gobgpd.log"),
    ));
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    let lines = accept_lines(&t);
    assert!(
        lines < 200,
        "{lines} lines about connections:\n{}",
        t.log_text()
    );
}
