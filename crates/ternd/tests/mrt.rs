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
//! - Against GoBGP G announcing IPv4 unicast, labeled unicast and VPNv4 routes: the labeled
//!   and VPNv4 routes are RIB_GENERIC records (which Debian's bgpdump 1.6 does not decode, so
//!   the test reads them) with the labels, route distinguishers, next hops and AS paths of
//!   ternd's displays.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F (or G). Needs root (network namespaces), FRR,
//! GoBGP and bgpdump.

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
    // One chain of changes from Idle: each starts where the one before ended.
    assert_eq!(states[0].0, "1", "{states:?}");
    for w in states.windows(2) {
        assert_eq!(w[1].0, w[0].1, "{states:?}");
    }
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

/// gobgpd, stopped on drop.
struct Gobgpd(std::process::Child);

impl Drop for Gobgpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const VPN_T_CFG: &str = "sysname T
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
 ipv4-family vpnv4
  undo policy vpn-target
  peer 10.0.0.2 enable
 #
 ipv4-family labeled-unicast
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
"#;

/// One RIB_GENERIC record (RFC 6396 §4.3.3) as read back from the file.
#[derive(Debug)]
struct Generic {
    afi: u16,
    safi: u8,
    labels: Vec<u32>,
    rd: Option<(u16, u32, u32)>,
    prefix: String,
    /// Per entry: the MP_REACH_NLRI next hop (after any RD) and the AS path.
    entries: Vec<(std::net::Ipv4Addr, Vec<u32>)>,
}

/// The RIB_GENERIC records of a TABLE_DUMP_V2 file (IPv4 prefixes only).
fn rib_generic(file: &Path) -> Vec<Generic> {
    let b = std::fs::read(file).unwrap();
    let be16 = |x: &[u8]| u16::from_be_bytes([x[0], x[1]]);
    let be32 = |x: &[u8]| u32::from_be_bytes([x[0], x[1], x[2], x[3]]);
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let (typ, sub, len) = (
            be16(&b[at + 4..]),
            be16(&b[at + 6..]),
            be32(&b[at + 8..]) as usize,
        );
        let body = &b[at + 12..at + 12 + len];
        at += 12 + len;
        if typ != 13 || sub != 6 {
            continue;
        }
        let (afi, safi) = (be16(&body[4..]), body[6]);
        let bits = usize::from(body[7]);
        let nlri = &body[8..8 + bits.div_ceil(8)];
        let mut p = 0;
        let mut labels = Vec::new();
        loop {
            let l = u32::from(nlri[p]) << 16 | u32::from(nlri[p + 1]) << 8 | u32::from(nlri[p + 2]);
            p += 3;
            labels.push(l >> 4);
            if l & 1 == 1 {
                break;
            }
        }
        // Type 0: a 2-octet administrator and a 4-octet number.
        let rd = (safi == 128).then(|| {
            let r = (
                be16(&nlri[p..]),
                u32::from(be16(&nlri[p + 2..])),
                be32(&nlri[p + 4..]),
            );
            p += 8;
            r
        });
        let plen = bits - p * 8;
        let mut a = [0u8; 4];
        a[..nlri.len() - p].copy_from_slice(&nlri[p..]);
        let prefix = format!("{}/{plen}", std::net::Ipv4Addr::from(a));
        let mut q = 8 + bits.div_ceil(8);
        let count = be16(&body[q..]);
        q += 2;
        let mut entries = Vec::new();
        for _ in 0..count {
            let alen = usize::from(be16(&body[q + 6..]));
            let attrs = &body[q + 8..q + 8 + alen];
            q += 8 + alen;
            let (mut nh, mut path) = (std::net::Ipv4Addr::UNSPECIFIED, Vec::new());
            let mut i = 0;
            while i < attrs.len() {
                let (flags, tc) = (attrs[i], attrs[i + 1]);
                let (vlen, h) = if flags & 0x10 != 0 {
                    (usize::from(be16(&attrs[i + 2..])), 4)
                } else {
                    (usize::from(attrs[i + 2]), 3)
                };
                let v = &attrs[i + h..i + h + vlen];
                i += h + vlen;
                match tc {
                    // Only the next hop's length and address (§4.3.4).
                    14 => {
                        let n = usize::from(v[0]);
                        let addr = &v[1 + n - 4..1 + n];
                        nh = std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]);
                    }
                    2 => {
                        let mut s = 0;
                        while s < v.len() {
                            let n = usize::from(v[s + 1]);
                            for k in 0..n {
                                path.push(be32(&v[s + 2 + 4 * k..]));
                            }
                            s += 2 + 4 * n;
                        }
                    }
                    _ => {}
                }
            }
            entries.push((nh, path));
        }
        out.push(Generic {
            afi,
            safi,
            labels,
            rd,
            prefix,
            entries,
        });
    }
    out
}

#[test]
fn vpnv4_and_labeled_routes_are_rib_generic_records() {
    let dir = TempDir::new("mrtv");
    let t_ns = Netns::new("mrtvt");
    let g_ns = Netns::new("mrtvg");
    link(&t_ns, &["10.0.0.1/24"], &g_ns, &["10.0.0.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", VPN_T_CFG, &["0.0.0.0:179"]);
    let cfg = dir.write("gobgpd.toml", GOBGP_CFG);
    let cfg_s = cfg.display().to_string();
    let _g = Gobgpd(g_ns.spawn(
        &[
            "gobgpd",
            "-f",
            &cfg_s,
            "--api-hosts",
            "127.0.0.1:50051",
            "--pprof-disable",
            "-p",
        ],
        &dir.path("gobgpd.log"),
    ));
    let cli = "gobgp -u 127.0.0.1 -p 50051";
    assert!(
        wait_for(Duration::from_secs(20), || common::sh_ok(&format!(
            "ip netns exec {} {cli} global",
            g_ns.name
        ))),
        "gobgpd API not answering"
    );
    for route in [
        "-a ipv4 add 192.0.2.0/24",
        "-a ipv4-labelled add 198.51.100.0/24 300",
        "-a vpnv4 add 10.1.0.0/16 label 100 rd 200:1 rt 200:1",
        "-a vpnv4 add 10.2.0.0/16 label 101 rd 200:2 rt 200:1",
    ] {
        g_ns.sh(&format!("{cli} global rib {route}"));
    }
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    let vpn = || -> Value {
        serde_json::from_str(
            &t.display("display bgp vpnv4 all routing-table", true)
                .unwrap(),
        )
        .unwrap()
    };
    assert!(
        wait_for(Duration::from_secs(30), || vpn()["routes"]
            .as_array()
            .is_some_and(|r| r.len() == 2)),
        "{}",
        vpn()
    );
    let file = dir.path("rib.mrt");
    let mut c = tern_api::Blocking::connect(&t.control).unwrap();
    let r = c.mrt_dump(&file.display().to_string()).unwrap();
    assert!(r.error.is_empty(), "{r:?}");
    assert_eq!((r.destinations, r.routes, r.peers), (4, 4, 1), "{r:?}");
    // bgpdump reads the file: the IPv4 unicast route.
    let lines = bgpdump(&file);
    let unicast: Vec<_> = lines.iter().filter(|l| l[0] == "TABLE_DUMP2").collect();
    assert_eq!(unicast.len(), 1, "{lines:?}");
    assert_eq!(unicast[0][5], "192.0.2.0/24", "{lines:?}");
    assert_eq!(unicast[0][6], "200", "{lines:?}");
    // The VPNv4 and labeled routes, as RIB_GENERIC records, against the displays.
    let generic = rib_generic(&file);
    assert_eq!(generic.len(), 3, "{generic:?}");
    for row in vpn()["routes"].as_array().unwrap() {
        let rd = row["rd"].as_str().unwrap();
        let g = generic
            .iter()
            .find(|g| {
                g.prefix == row["prefix"].as_str().unwrap()
                    && g.rd.is_some_and(|(_, a, n)| format!("{a}:{n}") == rd)
            })
            .unwrap_or_else(|| panic!("{row} not dumped: {generic:?}"));
        assert_eq!((g.afi, g.safi), (1, 128), "{g:?}");
        assert_eq!(serde_json::json!(g.labels), row["labels"], "{g:?} {row}");
        assert_eq!(g.entries.len(), 1, "{g:?}");
        assert_eq!(
            g.entries[0].0.to_string(),
            row["next_hop"].as_str().unwrap(),
            "{g:?} {row}"
        );
        assert_eq!(g.entries[0].1, vec![200], "{g:?}");
    }
    let lu = generic
        .iter()
        .find(|g| g.safi == 4)
        .unwrap_or_else(|| panic!("no labeled route: {generic:?}"));
    assert_eq!(
        (lu.afi, lu.prefix.as_str(), lu.labels.as_slice(), lu.rd),
        (1, "198.51.100.0/24", &[300][..], None),
        "{lu:?}"
    );
    assert_eq!(lu.entries[0].0.to_string(), "10.0.0.2", "{lu:?}");
}
