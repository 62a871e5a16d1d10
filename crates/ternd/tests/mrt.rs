//! MRT export (RFC 6396) read back with bgpdump: FRR F (AS 200) announces 40 routes (kernel
//! routes it redistributes, origin incomplete, a prepended AS path, MED 7 and community
//! 200:1) to ternd T (AS 100), which runs with `--mrt-dir`, `--mrt-updates` and
//! `--mrt-dump-interval`.
//!
//! - A dump asked through the control API (`MrtDump`, what `tern mrt dump FILE` calls) holds,
//!   as `bgpdump -m` reads it, one TABLE_DUMP2 line per route of `display bgp routing-table`
//!   (JSON), with the same AS path, next hop and origin, from peer 10.0.0.2 AS 200, and
//!   nothing is left beside it; a relative path is refused.
//! - Periodic dumps appear in the MRT directory.
//! - The message log holds, as bgpdump reads it, the session's state changes up to
//!   Established and every announcement F sent, then a withdrawal.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root (network namespaces), FRR and
//! bgpdump.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

const ROUTES: u32 = 40;

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
";

const FRR_CFG: &str = "frr defaults traditional
hostname f
!
route-map DECORATE permit 10
 set as-path prepend 65001
 set metric 7
 set community 200:1
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 2
 !
 address-family ipv4 unicast
  redistribute kernel
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.1 route-map DECORATE out
 exit-address-family
!
";

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

fn held(t: &Ternd) -> u64 {
    t.peer("10.0.0.2")["prefixes"]["ipv4-unicast"]
        .as_u64()
        .unwrap_or(0)
}

fn files(dir: &Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn dumps_and_message_log_read_back_with_bgpdump() {
    let dir = TempDir::new("mrt");
    let mrt_dir = dir.path("mrt");
    let t_ns = Netns::new("mrtt");
    let f_ns = Netns::new("mrtf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let script: String = (0..ROUTES)
        .map(|i| format!("ip route add blackhole 198.18.{i}.0/24; "))
        .collect();
    f_ns.sh(&script);
    let mrt_arg = mrt_dir.display().to_string();
    let t = Ternd::start_with(
        &t_ns,
        &dir,
        "t",
        T_CFG,
        &["0.0.0.0:179"],
        &[
            "--mrt-dir",
            &mrt_arg,
            "--mrt-updates",
            "--mrt-dump-interval",
            "2",
        ],
    );
    let _f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || held(&t) == u64::from(ROUTES)),
        "{}",
        t.peer("10.0.0.2")
    );

    // A dump on demand, compared with the routing table as ternd shows it.
    let file = dir.path("rib.mrt");
    let mut c = tern_api::Blocking::connect(&t.control).unwrap();
    let r = c.mrt_dump(&file.display().to_string()).unwrap();
    assert!(r.error.is_empty(), "{r:?}");
    assert_eq!(r.destinations, u64::from(ROUTES), "{r:?}");
    assert_eq!(r.routes, u64::from(ROUTES), "{r:?}");
    assert_eq!(r.peers, 1, "{r:?}");
    let leftovers: Vec<_> = files(&dir.0, "rib.mrt.");
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let table: Value = serde_json::from_str(
        &t.display("display bgp routing-table", true)
            .expect("routing table"),
    )
    .unwrap();
    let shown: BTreeMap<String, &Value> = table["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|r| (r["prefix"].as_str().unwrap().to_owned(), r))
        .collect();
    assert_eq!(shown.len(), ROUTES as usize, "{table}");
    let lines = bgpdump(&file);
    assert_eq!(lines.len(), ROUTES as usize, "{lines:?}");
    for l in &lines {
        // TABLE_DUMP2|time|B|peer|peer AS|prefix|AS path|origin|next hop|local pref|MED|
        // communities|...
        assert_eq!(l[0], "TABLE_DUMP2", "{l:?}");
        assert_eq!(l[2], "B", "{l:?}");
        assert_eq!(l[3], "10.0.0.2", "{l:?}");
        assert_eq!(l[4], "200", "{l:?}");
        let row = shown
            .get(&l[5])
            .unwrap_or_else(|| panic!("{} not in the routing table", l[5]));
        assert_eq!(l[6], row["as_path"].as_str().unwrap(), "{l:?} {row}");
        assert_eq!(l[6], "200 65001", "{l:?}");
        let origin = match row["origin"].as_str().unwrap() {
            "i" => "IGP",
            "e" => "EGP",
            _ => "INCOMPLETE",
        };
        assert_eq!(l[7], origin, "{l:?} {row}");
        assert_eq!(l[8], row["next_hop"].as_str().unwrap(), "{l:?} {row}");
        assert_eq!(l[10], "7", "{l:?}");
        assert_eq!(l[11], "200:1", "{l:?}");
    }

    // A relative path is refused, nothing written.
    let r = c.mrt_dump("relative.mrt").unwrap();
    assert!(r.error.contains("not an absolute path"), "{r:?}");

    // Periodic dumps, every 2 s, into the MRT directory (the first ones may predate F's
    // routes).
    let mut periodic = Vec::new();
    assert!(
        wait_for(Duration::from_secs(10), || {
            periodic = files(&mrt_dir, "rib.");
            periodic
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "mrt"))
                .any(|p| bgpdump(p).len() == ROUTES as usize)
        }),
        "no periodic dump with the routes in {}: {periodic:?}\n{}",
        mrt_dir.display(),
        t.log_text()
    );

    // The message log: the state changes up to Established, every announcement, then a
    // withdrawal.
    f_ns.sh("ip route del blackhole 198.18.0.0/24");
    assert!(wait_for(Duration::from_secs(20), || held(&t)
        == u64::from(ROUTES) - 1));
    let mut log = Vec::new();
    let ok = wait_for(Duration::from_secs(10), || {
        log = files(&mrt_dir, "updates.")
            .iter()
            .flat_map(|f| bgpdump(f))
            .collect();
        log.iter()
            .any(|l| l.get(2).is_some_and(|k| k == "W") && l[5] == "198.18.0.0/24")
    });
    assert!(ok, "no withdrawal logged: {log:?}");
    let states: Vec<(String, String)> = log
        .iter()
        .filter(|l| l[2] == "STATE")
        .map(|l| (l[5].clone(), l[6].clone()))
        .collect();
    assert!(
        states.iter().any(|(_, new)| new == "6"),
        "no change to Established: {states:?}"
    );
    for l in log.iter().filter(|l| l[2] == "STATE") {
        assert_eq!(l[0], "BGP4MP", "{l:?}");
        assert_eq!(l[3], "10.0.0.2", "{l:?}");
        assert_eq!(l[4], "200", "{l:?}");
    }
    let announced: std::collections::BTreeSet<&str> = log
        .iter()
        .filter(|l| l[2] == "A")
        .inspect(|l| {
            assert_eq!(l[3], "10.0.0.2", "{l:?}");
            assert_eq!(l[6], "200 65001", "{l:?}");
            assert_eq!(l[7], "INCOMPLETE", "{l:?}");
            assert_eq!(l[8], "10.0.0.2", "{l:?}");
        })
        .map(|l| l[5].as_str())
        .collect();
    assert_eq!(announced.len(), ROUTES as usize, "{announced:?}");
    assert!(
        !t.log_text().contains("records dropped"),
        "{}",
        t.log_text()
    );
}
