//! Test harness: network namespaces joined by veth links, daemons started inside them, and
//! the ternd control API (tern-api over the control socket). Every namespace and process is removed on drop.
//!
//! Tests that use it need root (network namespaces); the project's test command runs as root
//! and installs the peer daemons (FRR, BIRD, GoBGP, ExaBGP).
#![allow(dead_code)]

pub mod frr;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Runs a command, panicking with its output if it fails.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command, returning whether it succeeded.
pub fn sh_ok(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A unique short prefix for names in this test process.
pub fn unique(tag: &str) -> String {
    format!(
        "t{}{}{}",
        std::process::id() % 10000,
        tag,
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

/// A network namespace with `lo` up; deleted on drop (killing what runs in it).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = unique(tag);
        sh(&format!("ip netns add {name}"));
        sh(&format!("ip -n {name} link set lo up"));
        sh(&format!(
            "ip netns exec {name} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"
        ));
        Netns { name }
    }

    /// Runs a command inside the namespace.
    pub fn sh(&self, cmd: &str) -> String {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', "'\\''")
        ))
    }

    /// Adds an address to `lo` (a loopback address, as VRP's LoopBack interfaces).
    pub fn loopback(&self, cidr: &str) {
        sh(&format!("ip -n {} addr add {cidr} dev lo", self.name));
    }

    /// Starts a process inside the namespace, output to `log`.
    pub fn spawn(&self, argv: &[&str], log: &Path) -> Child {
        let f = std::fs::File::create(log).expect("log file");
        let e = f.try_clone().expect("log file");
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .stdout(f)
            .stderr(e)
            .spawn()
            .expect("spawn")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let pids = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output();
        if let Ok(o) = pids {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Joins two namespaces with a veth pair and gives each end an address (CIDR); IPv6 duplicate
/// address detection is turned off so addresses are usable at once.
pub fn link(a: &Netns, a_cidrs: &[&str], b: &Netns, b_cidrs: &[&str]) -> (String, String) {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let (ea, eb) = (
        format!("va{}x{n}", std::process::id() % 10000),
        format!("vb{}x{n}", std::process::id() % 10000),
    );
    sh(&format!(
        "ip link add {ea} netns {} type veth peer name {eb} netns {}",
        a.name, b.name
    ));
    for (ns, dev, cidrs) in [(a, &ea, a_cidrs), (b, &eb, b_cidrs)] {
        sh(&format!(
            "ip netns exec {} sysctl -qw net.ipv6.conf.{dev}.accept_dad=0",
            ns.name
        ));
        for c in cidrs {
            let fam = if c.contains(':') { "-6" } else { "-4" };
            sh(
                &format!("ip -n {} {fam} addr add {c} dev {dev} nodad", ns.name)
                    .replace(" nodad", if fam == "-6" { " nodad" } else { "" }),
            );
        }
        sh(&format!("ip -n {} link set {dev} up", ns.name));
    }
    (ea, eb)
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ternd binary built with the tests.
pub fn ternd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ternd"))
}

/// A ternd running in a namespace.
pub struct Ternd {
    pub child: Child,
    pub control: PathBuf,
    pub log: PathBuf,
}

impl Ternd {
    /// Starts ternd in `ns` with configuration `cfg`, listening on `listen` (e.g. `0.0.0.0:179`).
    pub fn start(ns: &Netns, dir: &TempDir, name: &str, cfg: &str, listen: &[&str]) -> Ternd {
        Ternd::start_with(ns, dir, name, cfg, listen, &[])
    }

    /// Like [`Ternd::start`], with more command-line options.
    pub fn start_with(
        ns: &Netns,
        dir: &TempDir,
        name: &str,
        cfg: &str,
        listen: &[&str],
        extra: &[&str],
    ) -> Ternd {
        Ternd::start_under(ns, dir, name, cfg, listen, extra, &[])
    }

    /// Like [`Ternd::start_with`], run by a command that execs it (`prlimit --nofile=N:M`,
    /// say): the child's process ID is ternd's.
    pub fn start_under(
        ns: &Netns,
        dir: &TempDir,
        name: &str,
        cfg: &str,
        listen: &[&str],
        extra: &[&str],
        wrapper: &[&str],
    ) -> Ternd {
        let cfg_path = dir.write(&format!("{name}.cfg"), cfg);
        let control = dir.path(&format!("{name}.sock"));
        let log = dir.path(&format!("{name}.log"));
        let bin = ternd_bin();
        let mut argv: Vec<String> = wrapper.iter().map(|a| (*a).to_string()).collect();
        argv.extend([
            bin.display().to_string(),
            "--config".into(),
            cfg_path.display().to_string(),
            "--control".into(),
            control.display().to_string(),
            "--log".into(),
            "debug".into(),
        ]);
        for l in listen {
            argv.push("--listen".into());
            argv.push((*l).to_string());
        }
        argv.extend(extra.iter().map(|a| (*a).to_string()));
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let child = ns.spawn(&refs, &log);
        let t = Ternd {
            child,
            control,
            log,
        };
        if !wait_for(Duration::from_secs(10), || t.control.exists()) {
            panic!("ternd {name} did not start:\n{}", t.log_text());
        }
        t
    }

    /// Runs a display command through the control API; returns the output text.
    pub fn display(&self, command: &str, json: bool) -> Result<String, String> {
        display_at(&self.control, command, json)
    }

    /// Types `lines` in one management session over the control API (from the user view);
    /// each must succeed. Their outputs, joined.
    pub fn run_ok(&self, lines: &[&str]) -> String {
        let mut c = tern_api::Blocking::connect(&self.control).expect("control socket");
        let id = c.open_session("test").expect("session").session;
        let mut out = String::new();
        for line in lines {
            let r = c.execute(id, line, false).expect("execute");
            assert!(r.error.is_none(), "{line}: {r:?}");
            out.push_str(&r.output);
        }
        out
    }

    /// Commits `lines` typed in the view `view` enters (`["bgp 100"]`, …) from the system view.
    pub fn commit_in(&self, view: &[&str], lines: &[&str]) {
        let all: Vec<&str> = std::iter::once("system-view")
            .chain(view.iter().copied())
            .chain(lines.iter().copied())
            .chain(std::iter::once("commit"))
            .collect();
        self.run_ok(&all);
    }

    /// The JSON status of one peer.
    pub fn peer(&self, addr: &str) -> serde_json::Value {
        let text = self
            .display(&format!("display bgp peer {addr} verbose"), true)
            .unwrap_or_else(|e| panic!("{e}"));
        serde_json::from_str(&text).expect("json")
    }

    /// The peer's state name.
    pub fn state(&self, addr: &str) -> String {
        self.peer(addr)["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the peer is Established; panics with the log after `timeout`.
    pub fn wait_established(&self, addr: &str, timeout: Duration) -> serde_json::Value {
        let ok = wait_for(timeout, || self.state(addr) == "Established");
        if !ok {
            panic!(
                "peer {addr} not Established after {timeout:?}: {}\n--- ternd log ---\n{}",
                self.peer(addr),
                self.log_text()
            );
        }
        self.peer(addr)
    }

    /// Stops the daemon as an operator would (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("ternd did not stop:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Ternd {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            // Already gone (stopped or killed by the test).
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tern --socket S -c L1 -c L2 ...` (the operator tool, built beside ternd), which must
/// succeed; its output.
pub fn tern_cli(sock: &Path, lines: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ternd").replace("/ternd", "/tern"));
    cmd.arg("--socket").arg(sock);
    for l in lines {
        cmd.arg("-c").arg(l);
    }
    let out = cmd
        .output()
        .expect("tern (build it first: cargo build -p tern)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{lines:?}: {text}");
    text
}

/// Runs a display command through the control API (`Display`) of the ternd whose control
/// socket is `control`; returns the output text, or the VRP error text.
pub fn display_at(control: &Path, command: &str, json: bool) -> Result<String, String> {
    let mut c = tern_api::Blocking::connect(control).map_err(|e| e.to_string())?;
    let r = c.display(command, json).map_err(|e| e.to_string())?;
    match r.error {
        None => Ok(r.output),
        Some(e) => Err(e.text),
    }
}

/// Polls `f` every 200 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Negotiated families of a peer status (VRP names as tern prints them).
pub fn families(peer: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = peer["negotiated"]["families"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Joins test cases run in threads and fails with every case's error at once.
pub fn join_all(cases: Vec<(&str, std::thread::JoinHandle<Result<(), String>>)>) {
    let mut failures = Vec::new();
    for (name, h) in cases {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(p) => failures.push(format!(
                "{name}: panicked: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_default()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// CPU time a process has used, user and system, in clock ticks (`/proc/PID/stat`).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold blanks): state is field 3, utime 14,
    // stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// Clock ticks per second (`getconf CLK_TCK`).
pub fn clock_ticks() -> u64 {
    sh("getconf CLK_TCK").trim().parse().unwrap_or(100)
}

/// The share of one core a process used over `over` (1.0: one core all the time).
pub fn cpu_share(pid: u32, over: Duration) -> f64 {
    let t0 = cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(over);
    let used = cpu_ticks(pid).saturating_sub(t0) as f64 / clock_ticks() as f64;
    used / start.elapsed().as_secs_f64()
}

/// The number of descriptors a process has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Whether `display bgp peer` is answered on the control socket within `within` (the call
/// runs on a thread of its own, left behind if it hangs).
pub fn answers(control: &Path, within: Duration) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let c = control.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(display_at(&c, "display bgp peer", false));
    });
    matches!(rx.recv_timeout(within), Ok(Ok(_)))
}
