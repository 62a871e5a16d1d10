//! The daemons under test: their configuration as a route reflector of the harness's peers,
//! started and stopped by the harness, and what /proc says about them.
//!
//! Every daemon listens on the reflector's loopback address and a free port, is passive
//! toward its clients where it can be (tern has no passive mode: its connection attempts to
//! port 179 of the clients' addresses are refused), keeps every route it is sent, and
//! installs nothing into the kernel (ternd: `routing-table rib-only`, or `--no-fib`).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern_types::Family;

/// How ternd, as the reflector, keeps the reflected routes out of the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TernFib {
    /// `routing-table rib-only` in the family's view (what a VRP reflector configures): next
    /// hops resolve through the kernel's table, nothing is installed.
    #[default]
    RibOnly,
    /// The daemon flag `--no-fib`: no kernel access at all (every next hop reachable).
    NoFib,
}

impl std::str::FromStr for TernFib {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rib-only" => Ok(TernFib::RibOnly),
            "no-fib" => Ok(TernFib::NoFib),
            _ => Err(format!("unknown kernel mode {s:?} (rib-only, no-fib)")),
        }
    }
}

/// A daemon under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Daemon {
    /// ternd (`routing-table rib-only`, or `--no-fib`: [`TernFib`]).
    Tern,
    /// BIRD 2.
    Bird,
    /// FRR's bgpd alone (`-Z`, no zebra).
    Frr,
    /// GoBGP's gobgpd.
    Gobgp,
}

impl Daemon {
    /// Every daemon, tern first.
    pub const ALL: [Daemon; 4] = [Daemon::Tern, Daemon::Bird, Daemon::Frr, Daemon::Gobgp];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Tern => "tern",
            Daemon::Bird => "bird",
            Daemon::Frr => "frr",
            Daemon::Gobgp => "gobgp",
        }
    }
}

impl std::str::FromStr for Daemon {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Daemon::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown daemon {s:?} (tern, bird, frr, gobgp)"))
    }
}

/// Where the daemons' executables are.
#[derive(Clone, Debug)]
pub struct Paths {
    /// ternd.
    pub ternd: PathBuf,
    /// BIRD 2.
    pub bird: PathBuf,
    /// FRR's bgpd.
    pub bgpd: PathBuf,
    /// gobgpd.
    pub gobgpd: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            ternd: PathBuf::from("ternd"),
            bird: PathBuf::from("bird"),
            bgpd: PathBuf::from("/usr/lib/frr/bgpd"),
            gobgpd: PathBuf::from("gobgpd"),
        }
    }
}

impl Paths {
    /// The executable of `d`.
    pub fn of(&self, d: Daemon) -> &Path {
        match d {
            Daemon::Tern => &self.ternd,
            Daemon::Bird => &self.bird,
            Daemon::Frr => &self.bgpd,
            Daemon::Gobgp => &self.gobgpd,
        }
    }
}

/// One daemon's part in a run.
pub struct Setup<'a> {
    /// Scratch directory (configuration, logs, sockets).
    pub dir: &'a Path,
    /// The reflector's address.
    pub rr: Ipv4Addr,
    /// BGP port.
    pub port: u16,
    /// A second free port (GoBGP's gRPC API).
    pub aux_port: u16,
    /// The clients: the injector, then the receivers.
    pub clients: &'a [Ipv4Addr],
    /// The family of the case.
    pub family: Family,
    /// ternd's metrics port (`--metrics`), when metrics are on.
    pub metrics: Option<u16>,
    /// How ternd keeps routes out of the kernel.
    pub tern_fib: TernFib,
}

fn tern_config(s: &Setup) -> String {
    let mut t = format!(
        "#\nsysname bench-rr\n#\nbgp {}\n router-id {}\n",
        crate::speaker::ASN,
        s.rr
    );
    for c in s.clients {
        let _ = writeln!(t, " peer {c} as-number {}", crate::speaker::ASN);
    }
    t.push_str(" #\n ipv4-family unicast\n");
    if s.tern_fib == TernFib::RibOnly {
        t.push_str("  routing-table rib-only\n");
    }
    for c in s.clients {
        if s.family == Family::IPV4_UNICAST {
            let _ = writeln!(t, "  peer {c} enable\n  peer {c} reflect-client");
        } else {
            let _ = writeln!(t, "  undo peer {c} enable");
        }
    }
    let vpn = match s.family {
        Family::VPNV4 => Some("ipv4-family vpnv4"),
        Family::VPNV6 => Some("ipv6-family vpnv6"),
        _ => None,
    };
    if let Some(view) = vpn {
        let _ = writeln!(t, " #\n {view}\n  undo policy vpn-target");
        for c in s.clients {
            let _ = writeln!(t, "  peer {c} enable\n  peer {c} reflect-client");
        }
    }
    t.push_str("#\nreturn\n");
    t
}

fn bird_config(s: &Setup) -> String {
    let (table, channel) = match s.family {
        Family::VPNV4 => ("vpn4 table vpntab4;\n", "vpn4 mpls { table vpntab4;"),
        // The injector's VPNv6 next hops are IPv4-mapped (::ffff:a.b.c.d, RFC 4659 §3.2.1.2):
        // BIRD reads them as IPv4 addresses and refuses them without `extended next hop`.
        Family::VPNV6 => (
            "vpn6 table vpntab6;\n",
            "vpn6 mpls { table vpntab6; extended next hop on;",
        ),
        _ => ("", "ipv4 {"),
    };
    let mut t = format!(
        "router id {rr};\n\
         log \"{log}\" {{ info, remote, warning, error, auth, fatal, bug }};\n\
         protocol device {{ scan time 600; }}\n\
         {table}\
         template bgp rrc {{\n\
         \x20 local {rr} port {port} as {asn};\n\
         \x20 passive on;\n\
         \x20 rr client;\n\
         \x20 {channel} import all; export all; }};\n\
         }}\n",
        rr = s.rr,
        log = s.dir.join("bird.log").display(),
        port = s.port,
        asn = crate::speaker::ASN,
    );
    for (i, c) in s.clients.iter().enumerate() {
        let _ = writeln!(
            t,
            "protocol bgp c{i} from rrc {{ neighbor {c} as {}; }}",
            crate::speaker::ASN
        );
    }
    t
}

fn frr_config(s: &Setup) -> String {
    let af = match s.family {
        Family::VPNV4 => "ipv4 vpn",
        Family::VPNV6 => "ipv6 vpn",
        _ => "ipv4 unicast",
    };
    let mut t = format!(
        "frr defaults traditional\nhostname bench-rr\n!\nrouter bgp {asn}\n \
         bgp router-id {rr}\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n",
        asn = crate::speaker::ASN,
        rr = s.rr
    );
    for c in s.clients {
        let _ = writeln!(
            t,
            " neighbor {c} remote-as {}\n neighbor {c} passive\n \
             neighbor {c} advertisement-interval 0",
            crate::speaker::ASN
        );
    }
    let _ = writeln!(t, " !\n address-family {af}");
    for c in s.clients {
        let _ = writeln!(
            t,
            "  neighbor {c} activate\n  neighbor {c} route-reflector-client"
        );
    }
    t.push_str(" exit-address-family\n!\n");
    t
}

fn gobgp_config(s: &Setup) -> String {
    let afi_safi = match s.family {
        Family::VPNV4 => "l3vpn-ipv4-unicast",
        Family::VPNV6 => "l3vpn-ipv6-unicast",
        _ => "ipv4-unicast",
    };
    let mut t = format!(
        "[global.config]\n  as = {asn}\n  router-id = \"{rr}\"\n  port = {port}\n  \
         local-address-list = [\"{rr}\"]\n",
        asn = crate::speaker::ASN,
        rr = s.rr,
        port = s.port
    );
    for c in s.clients {
        let _ = write!(
            t,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{c}\"\n    \
             peer-as = {asn}\n  [neighbors.transport.config]\n    passive-mode = true\n    \
             local-address = \"{rr}\"\n  [neighbors.route-reflector.config]\n    \
             route-reflector-client = true\n    route-reflector-cluster-id = \"{rr}\"\n  \
             [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
             afi-safi-name = \"{afi_safi}\"\n",
            asn = crate::speaker::ASN,
            rr = s.rr,
        );
    }
    t
}

/// The configuration file `d` is started with.
pub fn config(d: Daemon, s: &Setup) -> String {
    match d {
        Daemon::Tern => tern_config(s),
        Daemon::Bird => bird_config(s),
        Daemon::Frr => frr_config(s),
        Daemon::Gobgp => gobgp_config(s),
    }
}

/// A started daemon.
pub struct Running {
    child: Child,
    /// Its output, then its own log file if it writes one.
    logs: Vec<PathBuf>,
}

impl Running {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Why it is no longer running, if it is not.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(format!("exited ({st}): {}", self.log_tail())),
            _ => None,
        }
    }

    /// The end of its output and of its log file.
    pub fn log_tail(&self) -> String {
        let mut tail = Vec::new();
        for p in &self.logs {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            tail.extend(
                lines[lines.len().saturating_sub(6)..]
                    .iter()
                    .map(|l| l.to_string()),
            );
        }
        tail.join(" | ")
    }

    /// Stops it: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `d`'s configuration into `s.dir` and starts it.
pub fn start(d: Daemon, paths: &Paths, s: &Setup) -> Result<Running, String> {
    let dir = s.dir;
    let cfg = dir.join(match d {
        Daemon::Tern => "ternd.cfg",
        Daemon::Bird => "bird.conf",
        Daemon::Frr => "bgpd.conf",
        Daemon::Gobgp => "gobgpd.toml",
    });
    std::fs::write(&cfg, config(d, s)).map_err(|e| format!("{}: {e}", cfg.display()))?;
    let p = |name: &str| dir.join(name).display().to_string();
    let cfgs = cfg.display().to_string();
    let listen = format!("{}:{}", s.rr, s.port);
    let args: Vec<String> = match d {
        Daemon::Tern => vec![
            "--config".into(),
            cfgs,
            "--listen".into(),
            listen,
            "--control".into(),
            p("ternd.sock"),
            "--state-dir".into(),
            p("ternd.state"),
            "--log".into(),
            "warn".into(),
        ]
        .into_iter()
        .chain((s.tern_fib == TernFib::NoFib).then(|| "--no-fib".to_string()))
        .chain(
            s.metrics
                .into_iter()
                .flat_map(|m| ["--metrics".to_string(), format!("{}:{m}", s.rr)]),
        )
        .collect(),
        Daemon::Bird => vec![
            "-f".into(),
            "-c".into(),
            cfgs,
            "-s".into(),
            p("bird.ctl"),
            "-P".into(),
            p("bird.pid"),
        ],
        Daemon::Frr => vec![
            "-Z".into(),
            "-f".into(),
            cfgs,
            "-i".into(),
            p("bgpd.pid"),
            "-p".into(),
            s.port.to_string(),
            "-l".into(),
            s.rr.to_string(),
            "-P".into(),
            "0".into(),
            "--vty_socket".into(),
            dir.display().to_string(),
            "-S".into(),
            "--log".into(),
            format!("file:{}", p("bgpd.log")),
            "--log-level".into(),
            "warnings".into(),
        ],
        Daemon::Gobgp => vec![
            "-f".into(),
            cfgs,
            "-t".into(),
            "toml".into(),
            "--api-hosts".into(),
            format!("{}:{}", s.rr, s.aux_port),
            "--pprof-disable".into(),
            "-l".into(),
            "warn".into(),
            "-p".into(),
        ],
    };
    let log = dir.join("daemon.log");
    let f = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let f2 = f.try_clone().map_err(|e| e.to_string())?;
    let exe = paths.of(d);
    let child = Command::new(exe)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(f)
        .stderr(f2)
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut logs = vec![log];
    match d {
        Daemon::Bird => logs.push(dir.join("bird.log")),
        Daemon::Frr => logs.push(dir.join("bgpd.log")),
        Daemon::Tern | Daemon::Gobgp => {}
    }
    Ok(Running { child, logs })
}

/// Copies the executable `exe` (looked up in PATH if it has no directory part) into `dir`;
/// returns the copy.
pub fn private_copy(exe: &Path, dir: &Path) -> Result<PathBuf, String> {
    let src = if exe.components().count() > 1 {
        exe.to_path_buf()
    } else {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(exe))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{} not found in PATH", exe.display()))?
    };
    let name = src.file_name().ok_or("no file name")?;
    let dst = dir.join(name);
    std::fs::copy(&src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
    Ok(dst)
}

/// Resident set now and at its peak (VmRSS, VmHWM), in octets.
pub fn memory(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Resets the process's peak resident set (VmHWM) to its current one (`5` into
/// `/proc/PID/clear_refs`); whether the kernel took it.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A thread reading a process's resident set (VmRSS) at a fixed interval, keeping the largest.
/// Dropping it stops the thread.
pub struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl RssSampler {
    /// Starts sampling `pid` every `every`.
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut max = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some((rss, _)) = memory(pid) {
                    max = max.max(rss);
                }
                std::thread::sleep(every);
            }
            max
        });
        RssSampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling; returns the largest resident set seen, in octets.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or(0)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// User plus system CPU time of the whole process (every thread), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when that fails).
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// The first line `exe` prints with `flag`, or why not.
pub fn version(exe: &Path, flag: &str) -> String {
    match Command::new(exe).arg(flag).output() {
        Ok(o) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string()
        }
        Err(e) => format!("not available ({e})"),
    }
}
