//! Interop: ternd peers with FRR, BIRD, GoBGP and ExaBGP for IPv4 unicast, VPNv4, VPNv6 and
//! IPv4 labeled unicast (EBGP, single hop, AS 100 against AS 200).
//!
//! For every (daemon, family) pair the test asserts that the session is Established, that ternd
//! and the daemon both report the family as negotiated (each read from its own display), and
//! that the route the daemon announces in that family reached ternd. The results are
//! summarised in `docs/interop.md`.
//!
//! Topology, one pair of namespaces per test: link `i` joins ternd (10.0.i.1/24, fd00:i::1/64)
//! and the daemon (10.0.i.2/24, fd00:i::2/64). Needs root; the daemons' own sockets (FRR vty,
//! BIRD control, GoBGP gRPC on 127.0.0.1 inside the daemon's namespace, ExaBGP named pipes)
//! are private to each test, so the tests run in parallel.

mod common;

use std::collections::BTreeSet;
use std::process::Child;
use std::time::Duration;

use common::{Netns, TempDir, Ternd, families, link, sh, sh_ok, unique, wait_for};

/// Upper bound for a session to come up, and then for both sides to agree.
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
const AGREE_TIMEOUT: Duration = Duration::from_secs(30);

const V4: &str = "ipv4-unicast";
const VPNV4: &str = "vpnv4";
const VPNV6: &str = "vpnv6";
const LU: &str = "ipv4-labeled-unicast";
const ALL: &[&str] = &[V4, VPNV4, VPNV6, LU];

/// One BGP session of a test: on link `link`, carrying `families`.
struct Session {
    link: u8,
    families: &'static [&'static str],
}

impl Session {
    /// The daemon's address, as ternd's peer.
    fn daemon_addr(&self) -> String {
        format!("10.0.{}.2", self.link)
    }

    /// ternd's address, as the daemon's neighbor.
    fn tern_addr(&self) -> String {
        format!("10.0.{}.1", self.link)
    }
}

/// Two namespaces (ternd, daemon) joined by `links` veth links, and a scratch directory.
/// Fields drop in order: processes in the namespaces die before the directory goes.
struct Lab {
    tern_ns: Netns,
    peer_ns: Netns,
    dir: TempDir,
}

impl Lab {
    fn new(tag: &str, links: u8) -> Lab {
        let tern_ns = Netns::new(&format!("{tag}t"));
        let peer_ns = Netns::new(&format!("{tag}p"));
        for i in 0..links {
            link(
                &tern_ns,
                &[&format!("10.0.{i}.1/24"), &format!("fd00:{i}::1/64")],
                &peer_ns,
                &[&format!("10.0.{i}.2/24"), &format!("fd00:{i}::2/64")],
            );
        }
        Lab {
            tern_ns,
            peer_ns,
            dir: TempDir::new(tag),
        }
    }

    /// Starts ternd (AS 100) with one peer per session.
    fn ternd(&self, sessions: &[Session]) -> Ternd {
        Ternd::start(
            &self.tern_ns,
            &self.dir,
            "ternd",
            &tern_config(sessions),
            &["0.0.0.0:179"],
        )
    }
}

/// A peer daemon's process, killed and reaped on drop (the namespace's drop kills whatever
/// it forked).
struct Daemon(Child);

impl Daemon {
    fn spawn(ns: &Netns, argv: &[&str], log: &std::path::Path) -> Daemon {
        Daemon(ns.spawn(argv, log))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The VRP configuration of ternd for `sessions`.
fn tern_config(sessions: &[Session]) -> String {
    let links: BTreeSet<u8> = sessions.iter().map(|s| s.link).collect();
    let mut c = String::from("sysname tern\n#\n");
    for i in &links {
        c += &format!(
            "interface GigabitEthernet0/0/{i}\n ip address 10.0.{i}.1 255.255.255.0\n ipv6 enable\n ipv6 address fd00:{i}::1/64\n#\n"
        );
    }
    c += "bgp 100\n router-id 10.0.0.1\n";
    for s in sessions {
        let p = s.daemon_addr();
        c += &format!(" peer {p} as-number 200\n peer {p} timer keepalive 10 hold 30\n");
    }
    for (view, fam) in [
        ("ipv4-family unicast", V4),
        ("ipv4-family vpnv4", VPNV4),
        ("ipv6-family vpnv6", VPNV6),
        ("ipv4-family labeled-unicast", LU),
    ] {
        let mut lines = String::new();
        for s in sessions {
            let p = s.daemon_addr();
            if s.families.contains(&fam) {
                lines += &format!("  peer {p} enable\n");
            } else if fam == V4 {
                // VRP enables a public IPv4 peer in IPv4 unicast by default.
                lines += &format!("  undo peer {p} enable\n");
            }
        }
        if !lines.is_empty() {
            c += &format!(" #\n {view}\n{lines}");
        }
    }
    c + "#\nreturn\n"
}

/// The last `n` lines of a text (for failure messages).
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The checks of one test: every session Established, every family negotiated on both sides
/// and carrying the daemon's route to ternd. `daemon` reads the families the daemon reports
/// as negotiated for a session (tern's names) or says why it cannot; `logs` returns the
/// daemon's logs for failure messages.
fn verify(
    name: &str,
    ternd: &Ternd,
    sessions: &[Session],
    daemon: impl Fn(&Session) -> Result<Vec<String>, String>,
    logs: impl Fn() -> String,
) {
    let fail = |what: String| -> ! {
        panic!(
            "{name}: {what}\n--- ternd log (tail) ---\n{}\n--- {name} ---\n{}",
            tail(&ternd.log_text(), 60),
            logs()
        )
    };
    for s in sessions {
        let peer = s.daemon_addr();
        if !wait_for(SESSION_TIMEOUT, || ternd.state(&peer) == "Established") {
            fail(format!(
                "session with {peer} not Established after {SESSION_TIMEOUT:?}: {}",
                ternd.peer(&peer)
            ));
        }
        let want: BTreeSet<String> = s.families.iter().map(|f| (*f).to_owned()).collect();
        // Both sides agree and every family carried its route.
        let done = || {
            let p = ternd.peer(&peer);
            let tern: BTreeSet<String> = families(&p).into_iter().collect();
            let routed = want
                .iter()
                .all(|f| p["prefixes"][f].as_u64().unwrap_or(0) >= 1);
            let theirs: Option<BTreeSet<String>> = daemon(s).ok().map(|v| v.into_iter().collect());
            tern == want && routed && theirs.as_ref() == Some(&want)
        };
        let agreed = wait_for(AGREE_TIMEOUT, done);
        // Report per family (the matrix of docs/interop.md), then assert.
        let p = ternd.peer(&peer);
        let tern = families(&p);
        let theirs = daemon(s);
        let mut problems = Vec::new();
        for f in s.families {
            let t = tern.iter().any(|x| x == f);
            let d = theirs.as_ref().is_ok_and(|v| v.iter().any(|x| x == f));
            let routes = p["prefixes"][*f].as_u64().unwrap_or(0);
            eprintln!(
                "interop {name} {f}: ternd negotiated {t}, {name} negotiated {d}, routes at ternd {routes}"
            );
            if !(t && d && routes >= 1) {
                problems.push(format!(
                    "{f}: ternd negotiated {t}, {name} negotiated {d}, routes at ternd {routes}"
                ));
            }
        }
        if !agreed || !problems.is_empty() {
            fail(format!(
                "session with {peer}: {}\n ternd: {p}\n {name}: {theirs:?}",
                if problems.is_empty() {
                    "the two sides disagree on the negotiated families".to_owned()
                } else {
                    problems.join("; ")
                }
            ));
        }
    }
}

// ------------------------------------------------------------------------------------ FRR

/// FRR's JSON names of address families.
fn frr_family(name: &str) -> Option<&'static str> {
    Some(match name {
        "ipv4Unicast" => V4,
        "ipv4Vpn" => VPNV4,
        "ipv6Vpn" => VPNV6,
        "ipv4LabeledUnicast" => LU,
        _ => return None,
    })
}

/// FRR 8.4 refuses to activate one neighbor in both IPv4 unicast and IPv4 labeled unicast
/// ("Cannot activate peer for both 'ipv4 unicast' and 'ipv4 labeled-unicast'"), so labeled
/// unicast runs on a second session over a second link.
#[test]
fn frr() {
    let sessions = [
        Session {
            link: 0,
            families: &[V4, VPNV4, VPNV6],
        },
        Session {
            link: 1,
            families: &[LU],
        },
    ];
    let lab = Lab::new("frr", 2);
    let ternd = lab.ternd(&sessions);
    let mut conf = String::from(
        "frr defaults traditional\nhostname frr\n!\nrouter bgp 200\n bgp router-id 10.0.0.2\n no bgp default ipv4-unicast\n no bgp ebgp-requires-policy\n no bgp network import-check\n",
    );
    for s in &sessions {
        let n = s.tern_addr();
        conf += &format!(
            " neighbor {n} remote-as 100\n neighbor {n} timers 10 30\n neighbor {n} timers connect 5\n"
        );
    }
    // Routes: VPN routes are originated statically (`network ... rd ... label ...`), no VRF;
    // labeled unicast shares the IPv4 unicast table, so 192.0.2.0/24 goes out in both.
    for (af, fam, network) in [
        ("ipv4 unicast", V4, " network 192.0.2.0/24\n"),
        ("ipv4 labeled-unicast", LU, ""),
        (
            "ipv4 vpn",
            VPNV4,
            " network 10.1.0.0/16 rd 200:1 label 100\n",
        ),
        (
            "ipv6 vpn",
            VPNV6,
            " network 2001:db8:a::/48 rd 200:1 label 1000\n",
        ),
    ] {
        conf += &format!(" !\n address-family {af}\n{network}");
        for s in sessions.iter().filter(|s| s.families.contains(&fam)) {
            conf += &format!("  neighbor {} activate\n", s.tern_addr());
        }
        conf += " exit-address-family\n";
    }
    conf += "exit\n!\n";
    let cfg = lab.dir.write("bgpd.conf", &conf);
    let vty = lab.dir.path("vty");
    std::fs::create_dir_all(&vty).expect("vty dir");
    let log = lab.dir.path("bgpd.log");
    let pid = lab.dir.path("bgpd.pid");
    let (cfg_s, vty_s, pid_s) = (
        cfg.display().to_string(),
        vty.display().to_string(),
        pid.display().to_string(),
    );
    let log_opt = format!("file:{}", log.display());
    // -Z: no zebra (no kernel routes needed); -S: stay root; -P 0: no TCP vty.
    let _bgpd = Daemon::spawn(
        &lab.peer_ns,
        &[
            "/usr/lib/frr/bgpd",
            "-Z",
            "-S",
            "-P",
            "0",
            "-f",
            &cfg_s,
            "-i",
            &pid_s,
            "--vty_socket",
            &vty_s,
            "--log",
            &log_opt,
            "--log-level",
            "debugging",
        ],
        &lab.dir.path("bgpd.out"),
    );
    let query = |s: &Session| -> Result<Vec<String>, String> {
        let n = s.tern_addr();
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &lab.peer_ns.name, "vtysh", "--vty_socket"])
            .arg(&vty)
            .args(["-c", &format!("show bgp neighbors {n} json")])
            .output()
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("vtysh: {e}: {}", String::from_utf8_lossy(&out.stdout)))?;
        let nb = &v[&n];
        if nb["bgpState"] != "Established" {
            return Err(format!("FRR state {}", nb["bgpState"]));
        }
        let mp = nb["neighborCapabilities"]["multiprotocolExtensions"]
            .as_object()
            .ok_or("no multiprotocolExtensions")?;
        Ok(mp
            .iter()
            .filter(|(_, x)| x["advertisedAndReceived"] == true)
            .filter_map(|(k, _)| frr_family(k).map(str::to_owned))
            .collect())
    };
    verify("FRR", &ternd, &sessions, query, || {
        format!(
            "{}\n{}",
            read(&lab.dir.path("bgpd.out")),
            tail(&read(&log), 80)
        )
    });
}

// ----------------------------------------------------------------------------------- BIRD

/// BIRD's channel names.
fn bird_family(name: &str) -> Option<&'static str> {
    Some(match name {
        "ipv4" => V4,
        "vpn4-mpls" => VPNV4,
        "vpn6-mpls" => VPNV6,
        "ipv4-mpls" => LU,
        _ => return None,
    })
}

/// Families negotiated according to `birdc show protocols all`: announced by both sides
/// (Local / Neighbor capabilities, "AF announced") and the channel UP.
fn bird_negotiated(text: &str) -> Result<Vec<String>, String> {
    if !text.contains("BGP state:          Established") {
        return Err(format!("BIRD not Established:\n{text}"));
    }
    let mut section = "";
    let mut local = BTreeSet::new();
    let mut neighbor = BTreeSet::new();
    let mut up = BTreeSet::new();
    let mut channel: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line == "Local capabilities" || line == "Neighbor capabilities" {
            section = line;
        } else if let Some(afs) = line.strip_prefix("AF announced:") {
            let set = if section == "Local capabilities" {
                &mut local
            } else {
                &mut neighbor
            };
            set.extend(afs.split_whitespace().map(str::to_owned));
        } else if let Some(c) = line.strip_prefix("Channel ") {
            channel = Some(c.trim().to_owned());
        } else if line.starts_with("State:")
            && line.ends_with("UP")
            && let Some(c) = channel.take()
        {
            up.insert(c);
        }
    }
    Ok(up
        .iter()
        .filter(|c| local.contains(*c) && neighbor.contains(*c))
        .filter_map(|c| bird_family(c).map(str::to_owned))
        .collect())
}

/// BIRD 2.0 runs IPv4 unicast and IPv4 labeled unicast as two channels of one session; they
/// need distinct tables (`lutab` for the labeled one). Labeled and VPN routes are static
/// routes with an MPLS label on the next hop.
#[test]
fn bird() {
    let sessions = [Session {
        link: 0,
        families: ALL,
    }];
    let lab = Lab::new("bird", 1);
    let ternd = lab.ternd(&sessions);
    let log = lab.dir.path("bird.log");
    let conf = format!(
        r#"log "{log}" all;
router id 10.0.0.2;
vpn4 table vpntab4;
vpn6 table vpntab6;
ipv4 table lutab;
protocol device {{ scan time 10; }}
protocol static s4 {{ ipv4; route 192.0.2.0/24 blackhole; }}
protocol static slu {{ ipv4 {{ table lutab; }}; route 198.51.100.0/24 via 10.0.0.2 mpls 300; }}
protocol static sv4 {{ vpn4; route 200:1 10.1.0.0/16 via 10.0.0.2 mpls 100; }}
protocol static sv6 {{ vpn6; route 200:1 2001:db8:a::/48 via fd00:0::2 mpls 1000; }}
protocol bgp tern {{
	local 10.0.0.2 as 200;
	neighbor 10.0.0.1 as 100;
	hold time 30;
	keepalive time 10;
	connect retry time 5;
	ipv4 {{ import all; export all; }};
	ipv4 mpls {{ table lutab; import all; export all; }};
	vpn4 mpls {{ import all; export all; }};
	vpn6 mpls {{ import all; export all; }};
}}
"#,
        log = log.display()
    );
    let cfg = lab.dir.write("bird.conf", &conf);
    let ctl = lab.dir.path("bird.ctl");
    let (cfg_s, ctl_s, pid_s) = (
        cfg.display().to_string(),
        ctl.display().to_string(),
        lab.dir.path("bird.pid").display().to_string(),
    );
    let _bird = Daemon::spawn(
        &lab.peer_ns,
        &["bird", "-f", "-c", &cfg_s, "-s", &ctl_s, "-P", &pid_s],
        &lab.dir.path("bird.out"),
    );
    let query = |_: &Session| -> Result<Vec<String>, String> {
        let out = std::process::Command::new("birdc")
            .arg("-s")
            .arg(&ctl)
            .args(["show", "protocols", "all", "tern"])
            .output()
            .map_err(|e| e.to_string())?;
        bird_negotiated(&String::from_utf8_lossy(&out.stdout))
    };
    verify("BIRD", &ternd, &sessions, query, || {
        format!(
            "{}\n{}",
            read(&lab.dir.path("bird.out")),
            tail(&read(&log), 80)
        )
    });
}

// ---------------------------------------------------------------------------------- GoBGP

/// GoBGP's family names.
fn gobgp_family(name: &str) -> Option<&'static str> {
    Some(match name {
        "ipv4-unicast" => V4,
        "l3vpn-ipv4-unicast" => VPNV4,
        "l3vpn-ipv6-unicast" => VPNV6,
        "ipv4-labelled-unicast" => LU,
        _ => return None,
    })
}

/// Families negotiated according to `gobgp neighbor ADDR`: the "multiprotocol" capability
/// lines that read "advertised and received".
fn gobgp_negotiated(text: &str) -> Result<Vec<String>, String> {
    if !text.contains("BGP state = ESTABLISHED") {
        return Err(format!("GoBGP not Established:\n{text}"));
    }
    Ok(text
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .filter(|(_, v)| v.trim() == "advertised and received")
        .filter_map(|(k, _)| gobgp_family(k.trim()).map(str::to_owned))
        .collect())
}

/// gobgpd's gRPC API listens on 127.0.0.1:50051 inside the daemon's namespace (private to the
/// test); routes are added with the `gobgp` client once it answers.
#[test]
fn gobgp() {
    let sessions = [Session {
        link: 0,
        families: ALL,
    }];
    let lab = Lab::new("gobgp", 1);
    let ternd = lab.ternd(&sessions);
    let conf = r#"[global.config]
  as = 200
  router-id = "10.0.0.2"
  port = 179

[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 100
  [neighbors.timers.config]
    hold-time = 30
    keepalive-interval = 10
    connect-retry = 5
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-labelled-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv6-unicast"
"#;
    let cfg = lab.dir.write("gobgpd.toml", conf);
    let cfg_s = cfg.display().to_string();
    let _gobgpd = Daemon::spawn(
        &lab.peer_ns,
        &[
            "gobgpd",
            "-f",
            &cfg_s,
            "--api-hosts",
            "127.0.0.1:50051",
            "--pprof-disable",
            "-p",
        ],
        &lab.dir.path("gobgpd.log"),
    );
    let cli = "gobgp -u 127.0.0.1 -p 50051";
    let up = wait_for(Duration::from_secs(20), || {
        sh_ok(&format!("ip netns exec {} {cli} global", lab.peer_ns.name))
    });
    assert!(
        up,
        "gobgpd API not answering:\n{}",
        read(&lab.dir.path("gobgpd.log"))
    );
    for route in [
        "-a ipv4 add 192.0.2.0/24",
        "-a ipv4-labelled add 198.51.100.0/24 300",
        "-a vpnv4 add 10.1.0.0/16 label 100 rd 200:1 rt 200:1",
        "-a vpnv6 add 2001:db8:a::/48 label 1000 rd 200:1 rt 200:1",
    ] {
        lab.peer_ns.sh(&format!("{cli} global rib {route}"));
    }
    let query = |s: &Session| -> Result<Vec<String>, String> {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &lab.peer_ns.name])
            .args(cli.split(' '))
            .args(["neighbor", &s.tern_addr()])
            .output()
            .map_err(|e| e.to_string())?;
        gobgp_negotiated(&String::from_utf8_lossy(&out.stdout))
    };
    verify("GoBGP", &ternd, &sessions, query, || {
        let mut text = tail(&read(&lab.dir.path("gobgpd.log")), 80);
        for fam in ["ipv4", "ipv4-labelled", "vpnv4", "vpnv6"] {
            for what in ["global rib", "neighbor 10.0.0.1 adj-out"] {
                let out = std::process::Command::new("ip")
                    .args(["netns", "exec", &lab.peer_ns.name])
                    .args(cli.split(' '))
                    .args(what.split(' '))
                    .args(["-a", fam])
                    .output();
                if let Ok(o) = out {
                    text += &format!(
                        "\n--- {what} -a {fam} ---\n{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
            }
        }
        text
    });
}

// --------------------------------------------------------------------------------- ExaBGP

/// ExaBGP's family names.
fn exabgp_family(name: &str) -> Option<&'static str> {
    Some(match name {
        "ipv4 unicast" => V4,
        "ipv4 mpls-vpn" => VPNV4,
        "ipv6 mpls-vpn" => VPNV6,
        "ipv4 nlri-mpls" => LU,
        _ => return None,
    })
}

/// Families negotiated according to `exabgpcli show neighbor ADDR extensive`: the
/// "Families" rows enabled both locally and by the remote.
fn exabgp_negotiated(text: &str) -> Result<Vec<String>, String> {
    let established = text.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w == ["state", "ESTABLISHED"]
    });
    if !established {
        return Err(format!("ExaBGP not Established:\n{text}"));
    }
    let mut out = Vec::new();
    let mut in_families = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Families") {
            in_families = true;
        } else if t.is_empty() {
            in_families = false;
        } else if in_families && let Some((name, cols)) = t.split_once(':') {
            let cols: Vec<&str> = cols.split_whitespace().collect();
            if cols.get(..2) == Some(&["enabled", "enabled"][..])
                && let Some(f) = exabgp_family(name.trim())
            {
                out.push(f.to_owned());
            }
        }
    }
    Ok(out)
}

/// The named pipes of ExaBGP's CLI. exabgpcli only looks for them in fixed places
/// (`/run/exabgp/` first), so each test uses its own pipe name there; removed on drop.
struct ExaPipes {
    name: String,
}

impl ExaPipes {
    fn new() -> ExaPipes {
        let name = unique("exa");
        sh(&format!(
            "mkdir -p /run/exabgp && mkfifo -m 600 /run/exabgp/{name}.in /run/exabgp/{name}.out"
        ));
        ExaPipes { name }
    }
}

impl Drop for ExaPipes {
    fn drop(&mut self) {
        for end in ["in", "out"] {
            let _ = std::fs::remove_file(format!("/run/exabgp/{}.{end}", self.name));
        }
    }
}

/// ExaBGP 4.2 is configured through environment variables (`exabgp.tcp.bind`, ...); static
/// routes carry the RD and label; the VPNv6 next hop is IPv4-mapped (`::ffff:10.0.0.2`).
#[test]
fn exabgp() {
    let sessions = [Session {
        link: 0,
        families: ALL,
    }];
    let lab = Lab::new("exa", 1);
    let pipes = ExaPipes::new();
    let ternd = lab.ternd(&sessions);
    let conf = r#"neighbor 10.0.0.1 {
	router-id 10.0.0.2;
	local-address 10.0.0.2;
	local-as 200;
	peer-as 100;
	hold-time 30;
	family {
		ipv4 unicast;
		ipv4 nlri-mpls;
		ipv4 mpls-vpn;
		ipv6 mpls-vpn;
	}
	static {
		route 192.0.2.0/24 next-hop 10.0.0.2;
		route 198.51.100.0/24 next-hop 10.0.0.2 label 300;
		route 10.1.0.0/16 rd 200:1 next-hop 10.0.0.2 label 100 extended-community [ target:200:1 ];
		route 2001:db8:a::/48 rd 200:1 next-hop ::ffff:10.0.0.2 label 1000 extended-community [ target:200:1 ];
	}
}
"#;
    let cfg = lab.dir.write("exabgp.conf", conf);
    let log = lab.dir.path("exabgp.log");
    let env = [
        "exabgp.tcp.bind=10.0.0.2".to_owned(),
        "exabgp.tcp.port=179".to_owned(),
        "exabgp.daemon.user=root".to_owned(),
        format!("exabgp.api.pipename={}", pipes.name),
        format!("exabgp.log.destination={}", log.display()),
    ];
    let cfg_s = cfg.display().to_string();
    let mut argv: Vec<&str> = vec!["env"];
    argv.extend(env.iter().map(String::as_str));
    argv.extend(["exabgp", &cfg_s]);
    let _exabgp = Daemon::spawn(&lab.peer_ns, &argv, &lab.dir.path("exabgp.out"));
    let query = |s: &Session| -> Result<Vec<String>, String> {
        let out = std::process::Command::new("env")
            .arg(format!("exabgp.api.pipename={}", pipes.name))
            .args(["timeout", "10", "exabgpcli", "show", "neighbor"])
            .arg(s.tern_addr())
            .arg("extensive")
            .output()
            .map_err(|e| e.to_string())?;
        exabgp_negotiated(&String::from_utf8_lossy(&out.stdout))
    };
    verify("ExaBGP", &ternd, &sessions, query, || {
        format!(
            "{}\n{}",
            read(&lab.dir.path("exabgp.out")),
            tail(&read(&log), 80)
        )
    });
}

// ------------------------------------------------------------------------- regression

/// A scripted peer (AS 200, IPv4 unicast) that answers ternd's OPEN with a KEEPALIVE and an
/// UPDATE in one segment, as GoBGP often does: ternd reads both in one go, and the UPDATE is
/// processed before the session's "up" is.
const EAGER_PEER: &str = r#"
import socket, struct, time
def msg(t, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), t) + body
caps = bytes([1, 4, 0, 1, 0, 1]) + bytes([65, 4]) + struct.pack("!I", 200)
opt = bytes([2, len(caps)]) + caps
hdr = struct.pack("!BHH4sB", 4, 200, 30, socket.inet_aton("10.0.0.2"), len(opt))
attrs = bytes([0x40, 1, 1, 0]) + bytes([0x40, 2, 6, 2, 1]) + struct.pack("!I", 200)
attrs += bytes([0x40, 3, 4]) + socket.inet_aton("10.0.0.2")
update = msg(2, struct.pack("!HH", 0, len(attrs)) + attrs + bytes([24, 192, 0, 2]))
s = socket.create_connection(("10.0.0.1", 179), timeout=20, source_address=("10.0.0.2", 0))
s.sendall(msg(1, hdr + opt))
buf = b""
while len(buf) < 19 or len(buf) < struct.unpack("!H", buf[16:18])[0]:
    buf += s.recv(4096)
s.sendall(msg(4, b"") + update)
time.sleep(60)
"#;

/// Routes that arrive in the same read as the KEEPALIVE completing the OPEN exchange are
/// counted (they were once wiped when the session came up).
#[test]
fn update_read_with_the_establishing_keepalive_is_counted() {
    let sessions = [Session {
        link: 0,
        families: &[V4],
    }];
    let lab = Lab::new("eager", 1);
    let ternd = lab.ternd(&sessions);
    let script = lab.dir.write("peer.py", EAGER_PEER);
    let script_s = script.display().to_string();
    let _peer = Daemon::spawn(
        &lab.peer_ns,
        &["python3", &script_s],
        &lab.dir.path("peer.log"),
    );
    let counted = wait_for(Duration::from_secs(20), || {
        let p = ternd.peer("10.0.0.2");
        p["state"] == "Established" && p["prefixes"][V4].as_u64() == Some(1)
    });
    assert!(
        counted,
        "{}\n--- ternd log ---\n{}\n--- peer ---\n{}",
        ternd.peer("10.0.0.2"),
        ternd.log_text(),
        read(&lab.dir.path("peer.log"))
    );
}

#[test]
fn parsers_read_the_daemons_displays() {
    let bird = "tern       BGP        ---        up     11:38:08.638  Established   
  BGP state:          Established
    Local capabilities
      Multiprotocol
        AF announced: ipv4 ipv4-mpls vpn4-mpls vpn6-mpls
    Neighbor capabilities
      Multiprotocol
        AF announced: ipv4 vpn4-mpls ipv4-mpls
  Channel ipv4
    State:          UP
  Channel ipv4-mpls
    State:          UP
  Channel vpn4-mpls
    State:          DOWN
  Channel vpn6-mpls
    State:          UP
";
    assert_eq!(bird_negotiated(bird).unwrap(), vec![V4, LU]);
    let gobgp = "  BGP state = ESTABLISHED, up for 00:00:05
  Neighbor capabilities:
    multiprotocol:
        ipv4-unicast:\tadvertised and received
        ipv4-labelled-unicast:\tadvertised and received
        l3vpn-ipv4-unicast:\tadvertised
    route-refresh:\tadvertised and received
";
    assert_eq!(gobgp_negotiated(gobgp).unwrap(), vec![V4, LU]);
    let exa = "Neighbor 10.0.0.1

  Session                         Local
   state                    ESTABLISHED

  Families                        Local          Remote        Add-Path
   ipv4 unicast:                enabled         enabled        disabled
   ipv4 nlri-mpls:              enabled        disabled        disabled
   ipv6 mpls-vpn:               enabled         enabled        disabled

  Message Statistic                Sent        Received
   update:                            8               4
";
    assert_eq!(exabgp_negotiated(exa).unwrap(), vec![V4, VPNV6]);
}
