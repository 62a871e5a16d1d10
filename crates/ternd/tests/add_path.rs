//! ADD-PATH (RFC 7911) against FRR and ExaBGP: ternd T (AS 100) reflects to clients.
//!
//! - Send: FRR S1 and FRR S2 both announce 192.0.2.0/24 (next hops 10.0.1.2 and 10.0.2.2).
//!   T has `bestroute add-path path-number 2` and, for FRR R, `peer 10.0.3.2
//!   capability-advertise add-path both` and `peer 10.0.3.2 advertise add-path path-number 2`.
//!   FRR advertises ADD-PATH receive by default: R's own table holds both paths, each with
//!   its path ID; when S1 withdraws, R is left with S2's path only. S1 and S2, without
//!   ADD-PATH, are sent one path as before.
//! - Receive: ExaBGP X sends 198.51.100.0/24 twice over ADD-PATH (path IDs 1 and 2, next hops
//!   10.0.4.2 and 10.0.4.3); T (`capability-advertise add-path receive` for X) holds both
//!   paths (`display bgp routing-table`), and reflects both to R.
//!
//! - MRT (RFC 8050): a dump of T's table read back with bgpdump holds X's two paths of
//!   198.51.100.0/24 (an IPV4_UNICAST_ADDPATH record), and the message log both of X's
//!   announcements (BGP4MP_MESSAGE_AS4_ADDPATH).
//!
//! Topology: S1 10.0.1.2 ── 10.0.1.1 T; S2 10.0.2.2 ── 10.0.2.1 T; R 10.0.3.2 ── 10.0.3.1 T;
//! X 10.0.4.2 ── 10.0.4.1 T. Needs root (network namespaces), FRR, ExaBGP and bgpdump.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
interface GigabitEthernet0/0/2
 ip address 10.0.2.1 255.255.255.0
#
interface GigabitEthernet0/0/3
 ip address 10.0.3.1 255.255.255.0
#
interface GigabitEthernet0/0/4
 ip address 10.0.4.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.1.2 as-number 100
 peer 10.0.1.2 timer keepalive 10 hold 30
 peer 10.0.2.2 as-number 100
 peer 10.0.2.2 timer keepalive 10 hold 30
 peer 10.0.3.2 as-number 100
 peer 10.0.3.2 timer keepalive 10 hold 30
 peer 10.0.4.2 as-number 100
 peer 10.0.4.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  bestroute add-path path-number 2
  peer 10.0.1.2 enable
  peer 10.0.1.2 reflect-client
  peer 10.0.2.2 enable
  peer 10.0.2.2 reflect-client
  peer 10.0.3.2 enable
  peer 10.0.3.2 reflect-client
  peer 10.0.3.2 capability-advertise add-path both
  peer 10.0.3.2 advertise add-path path-number 2
  peer 10.0.4.2 enable
  peer 10.0.4.2 reflect-client
  peer 10.0.4.2 capability-advertise add-path receive
#
return
";

/// An FRR speaker of AS 100 peering with T at `t`, announcing `networks`.
fn frr_cfg(name: &str, me: &str, t: &str, networks: &[&str]) -> String {
    let nets: String = networks
        .iter()
        .map(|n| format!("  network {n}\n"))
        .collect();
    format!(
        "frr defaults traditional
hostname {name}
!
router bgp 100
 bgp router-id {me}
 no bgp network import-check
 neighbor {t} remote-as 100
 neighbor {t} timers 10 30
 neighbor {t} timers connect 5
 !
 address-family ipv4 unicast
{nets}  neighbor {t} activate
 exit-address-family
!
"
    )
}

const X_CFG: &str = r#"neighbor 10.0.4.1 {
	router-id 10.0.4.2;
	local-address 10.0.4.2;
	local-as 100;
	peer-as 100;
	hold-time 30;
	capability {
		add-path send;
	}
	family {
		ipv4 unicast;
	}
	static {
		route 198.51.100.0/24 next-hop 10.0.4.2 path-information 1;
		route 198.51.100.0/24 next-hop 10.0.4.3 path-information 2;
	}
}
"#;

/// The paths R holds for `prefix`: (next hop, ADD-PATH receive ID).
fn frr_paths(f: &Frr, prefix: &str) -> Vec<(String, u64)> {
    let v = f.json(&format!("show bgp ipv4 unicast {prefix} json"));
    let mut out: Vec<(String, u64)> = v["paths"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["nexthops"][0]["ip"].as_str().unwrap_or("").to_owned(),
                        p["addpathRxId"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn hops(paths: &[(String, u64)]) -> Vec<&str> {
    paths.iter().map(|(h, _)| h.as_str()).collect()
}

/// T's rows for `prefix` in `display bgp routing-table` (one per path).
fn t_rows(t: &Ternd, prefix: &str) -> Vec<Value> {
    let Ok(text) = t.display("display bgp routing-table", true) else {
        return vec![];
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v["routes"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter(|r| r["prefix"] == prefix)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// `bgpdump -m FILE`, split into fields.
fn bgpdump(file: &Path) -> Vec<Vec<String>> {
    let out = Command::new("bgpdump")
        .args(["-m", &file.display().to_string()])
        .output()
        .expect("bgpdump (Debian package bgpdump) runs");
    assert!(
        out.status.success(),
        "bgpdump {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

/// The files of `dir` whose names start with `prefix`.
fn mrt_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_reflector_sends_two_paths_and_takes_two_paths_over_add_path() {
    let dir = TempDir::new("addpath");
    let t_ns = Netns::new("apt");
    let s1_ns = Netns::new("aps1");
    let s2_ns = Netns::new("aps2");
    let r_ns = Netns::new("apr");
    let x_ns = Netns::new("apx");
    link(&s1_ns, &["10.0.1.2/24"], &t_ns, &["10.0.1.1/24"]);
    link(&s2_ns, &["10.0.2.2/24"], &t_ns, &["10.0.2.1/24"]);
    link(&r_ns, &["10.0.3.2/24"], &t_ns, &["10.0.3.1/24"]);
    link(&x_ns, &["10.0.4.2/24"], &t_ns, &["10.0.4.1/24"]);
    // R reaches the other links' next hops through T.
    r_ns.sh("ip route add 10.0.0.0/16 via 10.0.3.1");
    let mrt_dir = dir.path("mrt");
    let mrt_arg = mrt_dir.display().to_string();
    let t = Ternd::start_with(
        &t_ns,
        &dir,
        "t",
        T_CFG,
        &["0.0.0.0:179"],
        &["--mrt-dir", &mrt_arg, "--mrt-updates"],
    );
    let s1 = Frr::start(
        &s1_ns,
        &dir,
        "s1",
        &frr_cfg("s1", "10.0.1.2", "10.0.1.1", &["192.0.2.0/24"]),
        &[],
    );
    let s2 = Frr::start(
        &s2_ns,
        &dir,
        "s2",
        &frr_cfg("s2", "10.0.2.2", "10.0.2.1", &["192.0.2.0/24"]),
        &[],
    );
    let r = Frr::start(
        &r_ns,
        &dir,
        "r",
        &frr_cfg("r", "10.0.3.2", "10.0.3.1", &[]),
        &[],
    );
    let x_cfg = dir.write("x.conf", X_CFG);
    let x_log = dir.path("x.log");
    let x_cfg_s = x_cfg.display().to_string();
    let x_log_env = format!("exabgp.log.destination={}", x_log.display());
    let _x = Killed(x_ns.spawn(
        &[
            "env",
            "exabgp.tcp.bind=10.0.4.2",
            "exabgp.tcp.port=179",
            "exabgp.daemon.user=root",
            &x_log_env,
            "exabgp",
            &x_cfg_s,
        ],
        &dir.path("x.out"),
    ));
    let show = || {
        format!(
            "--- T ---\n{}\n--- R ---\n{}\n{}\n--- X ---\n{}\n--- T log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            r.vtysh("show bgp ipv4 unicast"),
            r.vtysh("show bgp neighbors 10.0.3.1"),
            std::fs::read_to_string(dir.path("x.out")).unwrap_or_default(),
            t.log_text()
        )
    };
    for p in ["10.0.1.2", "10.0.2.2", "10.0.3.2", "10.0.4.2"] {
        t.wait_established(p, Duration::from_secs(60));
    }

    // R negotiated ADD-PATH: T sends, R receives, in IPv4 unicast.
    let n = r.json("show bgp neighbors 10.0.3.1 json");
    let ap = &n["10.0.3.1"]["neighborCapabilities"]["addPath"]["ipv4Unicast"];
    assert!(
        ap["txReceived"] == true && ap["rxAdvertisedAndReceived"] == true,
        "{ap}\n{}",
        show()
    );

    // T's view of it, and of X: T sends to R, X sends to T.
    let v = t
        .display("display bgp peer 10.0.3.2 verbose", false)
        .unwrap();
    assert!(
        v.contains("         Add-Path for IPv4 Unicast: send\n"),
        "{v}"
    );
    let v = t
        .display("display bgp peer 10.0.4.2 verbose", false)
        .unwrap();
    assert!(
        v.contains("         Add-Path for IPv4 Unicast: receive\n"),
        "{v}"
    );
    assert_eq!(
        t.peer("10.0.1.2")["negotiated"]["add_path_send"],
        serde_json::json!([])
    );

    // Send: R holds both paths of 192.0.2.0/24, each with its own path ID.
    let two = wait_for(Duration::from_secs(30), || {
        hops(&frr_paths(&r, "192.0.2.0/24")) == ["10.0.1.2", "10.0.2.2"]
    });
    assert!(two, "R does not hold both paths:\n{}", show());
    let paths = frr_paths(&r, "192.0.2.0/24");
    assert!(
        paths[0].1 != 0 && paths[1].1 != 0 && paths[0].1 != paths[1].1,
        "{paths:?}"
    );
    // T's detailed view: the second path is an ADD-PATH path, sent to R only; the best path
    // goes to R and to the clients without ADD-PATH but its source.
    let text = t
        .display("display bgp routing-table 192.0.2.1", false)
        .unwrap();
    assert!(
        text.contains(" Paths:   2 available, 1 best, 1 select, 0 best-external, 1 add-path\n"),
        "{text}"
    );
    assert!(
        text.contains(" Advertised to such 3 peers:\n    10.0.2.2\n    10.0.3.2\n    10.0.4.2\n"),
        "{text}"
    );
    assert!(
        text.ends_with(" Advertised to such 1 peers:\n    10.0.3.2\n"),
        "{text}"
    );
    // S1 and S2 (no ADD-PATH) still get one path: the other's.
    let s1_paths = s1.json("show bgp ipv4 unicast 192.0.2.0/24 json");
    assert!(
        s1_paths["paths"].as_array().is_some_and(|p| p.len() <= 2),
        "{s1_paths}"
    );

    // Receive: T holds X's two paths, and R gets both of them too.
    let taken = wait_for(Duration::from_secs(30), || {
        t_rows(&t, "198.51.100.0/24").len() == 2
    });
    assert!(taken, "T does not hold X's two paths:\n{}", show());
    let text = t.display("display bgp routing-table", false).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("198.51.100.0/24") || l.contains("10.0.4.3"))
        .collect();
    assert!(
        text.contains("10.0.4.2") && text.contains("10.0.4.3"),
        "{rows:?}\n{text}"
    );
    let reflected = wait_for(Duration::from_secs(30), || {
        hops(&frr_paths(&r, "198.51.100.0/24")) == ["10.0.4.2", "10.0.4.3"]
    });
    assert!(reflected, "R does not hold X's two paths:\n{}", show());

    // MRT: the dump holds both of X's paths, the message log both announcements.
    let file = dir.path("rib.mrt");
    let mut c = tern_api::Blocking::connect(&t.control).unwrap();
    let dumped = c.mrt_dump(&file.display().to_string()).unwrap();
    assert!(dumped.error.is_empty(), "{dumped:?}");
    let x_lines = |lines: Vec<Vec<String>>, kind: &str| -> Vec<String> {
        let mut v: Vec<String> = lines
            .into_iter()
            .filter(|l| l.get(2).is_some_and(|k| k == kind) && l[5] == "198.51.100.0/24")
            .inspect(|l| {
                // bgpdump's ADD-PATH records (`…_AP`) have the path ID after the prefix.
                assert!(l[0].ends_with("_AP"), "{l:?}");
                assert_eq!(l[3], "10.0.4.2", "{l:?}");
            })
            .map(|l| format!("{} {}", l[6], l[9]))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        x_lines(bgpdump(&file), "B"),
        ["1 10.0.4.2", "2 10.0.4.3"],
        "{:?}",
        bgpdump(&file)
    );
    let mut log = Vec::new();
    let logged = wait_for(Duration::from_secs(10), || {
        log = mrt_files(&mrt_dir, "updates.")
            .iter()
            .flat_map(|f| bgpdump(f))
            .collect();
        x_lines(log.clone(), "A") == ["1 10.0.4.2", "2 10.0.4.3"]
    });
    assert!(logged, "{log:?}");

    // A source withdraws: R is left with the other path, without a session reset.
    s1.configure(&[
        "router bgp 100",
        "address-family ipv4 unicast",
        "no network 192.0.2.0/24",
    ]);
    let one = wait_for(Duration::from_secs(30), || {
        hops(&frr_paths(&r, "192.0.2.0/24")) == ["10.0.2.2"]
    });
    assert!(one, "R did not drop the withdrawn path:\n{}", show());
    // And it comes back with its path ID.
    s1.configure(&[
        "router bgp 100",
        "address-family ipv4 unicast",
        "network 192.0.2.0/24",
    ]);
    let back = wait_for(Duration::from_secs(30), || {
        frr_paths(&r, "192.0.2.0/24") == paths
    });
    assert!(back, "R did not get the path back:\n{}", show());
    assert_eq!(t.state("10.0.3.2"), "Established");

    drop(s2);
}

/// A child process killed and reaped when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
