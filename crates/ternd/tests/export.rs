//! Export of best paths: FRR A (AS 200) announces a VPNv4 and a VPNv6 route to ternd T
//! (AS 100) over EBGP; T advertises them to ternd B (AS 300) over EBGP. B must see AS path
//! "100 200", the same RD and label, and next hop T's address on the T–B link (VPNv6 over IPv4:
//! `::ffff:a.b.c.d`), or A's next hop unchanged when T has `peer B next-hop-invariable` in the
//! VPN families. When A goes away, B's routes are withdrawn.
//!
//! The same with FRR as B checks that another implementation accepts ternd's UPDATEs.
//!
//! Topology: FRR A 10.0.0.2/24 ── 10.0.0.1/24 T 10.0.1.1/24 ── 10.0.1.2/24 B.
//! Needs root (network namespaces) and FRR.

mod common;

use std::process::Child;
use std::time::Duration;

use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

fn t_cfg(nhi: bool) -> String {
    let line = if nhi {
        "  peer 10.0.1.2 next-hop-invariable\n"
    } else {
        ""
    };
    format!(
        "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 peer 10.0.1.2 as-number 300
 peer 10.0.1.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  undo peer 10.0.0.2 enable
  undo peer 10.0.1.2 enable
 #
 ipv4-family vpnv4
  undo policy vpn-target
  peer 10.0.0.2 enable
  peer 10.0.1.2 enable
{} #
 ipv6-family vpnv6
  undo policy vpn-target
  peer 10.0.0.2 enable
  peer 10.0.1.2 enable
{}#
return
",
        line, line
    )
}

const B_CFG: &str = "sysname B
#
interface GigabitEthernet0/0/0
 ip address 10.0.1.2 255.255.255.0
#
bgp 300
 router-id 10.0.1.2
 peer 10.0.1.1 as-number 100
 peer 10.0.1.1 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  undo peer 10.0.1.1 enable
 #
 ipv4-family vpnv4
  undo policy vpn-target
  peer 10.0.1.1 enable
 #
 ipv6-family vpnv6
  undo policy vpn-target
  peer 10.0.1.1 enable
#
return
";

const FRR_CFG: &str = "frr defaults traditional
hostname a
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 vpn
  network 10.1.0.0/16 rd 200:1 label 100
  neighbor 10.0.0.1 activate
 exit-address-family
 !
 address-family ipv6 vpn
  network 2001:db8:a::/48 rd 200:1 label 1000
  neighbor 10.0.0.1 activate
 exit-address-family
exit
!
";

/// FRR's bgpd, killed and reaped on drop.
struct Bgpd(Child);

impl Drop for Bgpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_frr(ns: &Netns, dir: &TempDir, name: &str, text: &str) -> Bgpd {
    let cfg = dir.write(&format!("{name}.conf"), text);
    let vty = dir.path(&format!("{name}.vty"));
    std::fs::create_dir_all(&vty).expect("vty dir");
    let log_opt = format!("file:{}", dir.path(&format!("{name}.log")).display());
    let (cfg_s, vty_s, pid_s) = (
        cfg.display().to_string(),
        vty.display().to_string(),
        dir.path(&format!("{name}.pid")).display().to_string(),
    );
    // -Z: no zebra; -S: stay root; -P 0: no TCP vty.
    Bgpd(ns.spawn(
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
        ],
        &dir.path(&format!("{name}.out")),
    ))
}

fn table(ternd: &Ternd, command: &str) -> Value {
    let text = ternd
        .display(command, true)
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
}

fn routes(t: &Value) -> Vec<Value> {
    t["routes"].as_array().cloned().unwrap_or_default()
}

fn find(t: &Value, prefix: &str) -> Option<Value> {
    routes(t).into_iter().find(|r| r["prefix"] == prefix)
}

/// With next-hop-invariable the route keeps A's label; with next hop self it carries one T
/// allocated (from VRP's dynamic range, 48000 up).
fn assert_label(r: &Value, received: u64, nhi: bool) {
    let labels = r["labels"].as_array().expect("labels");
    assert_eq!(labels.len(), 1, "{r}");
    let l = labels[0].as_u64().unwrap_or(0);
    if nhi {
        assert_eq!(l, received, "{r}");
    } else {
        assert!(l >= 48000 && l != received, "{r}");
    }
}

const VPN4: &str = "display bgp vpnv4 all routing-table";
const VPN6: &str = "display bgp vpnv6 all routing-table";

fn run(tag: &str, nhi: bool) {
    let a_ns = Netns::new(&format!("{tag}a"));
    let t_ns = Netns::new(&format!("{tag}t"));
    let b_ns = Netns::new(&format!("{tag}b"));
    link(&a_ns, &["10.0.0.2/24"], &t_ns, &["10.0.0.1/24"]);
    link(&t_ns, &["10.0.1.1/24"], &b_ns, &["10.0.1.2/24"]);
    // B resolves A's next hop (kept with next-hop-invariable) through T: a route B's kernel
    // must hold, or the route is not valid there (RFC 4271 §9.1.2.1).
    b_ns.sh("ip route add 10.0.0.0/24 via 10.0.1.1");
    let dir = TempDir::new(tag);
    let t = Ternd::start(&t_ns, &dir, "t", &t_cfg(nhi), &["0.0.0.0:179"]);
    let b = Ternd::start(&b_ns, &dir, "b", B_CFG, &["0.0.0.0:179"]);
    let mut frr = start_frr(&a_ns, &dir, "bgpd", FRR_CFG);
    let logs = || {
        format!(
            "--- T ---\n{}\n--- B ---\n{}\n--- bgpd ---\n{}",
            t.log_text(),
            b.log_text(),
            std::fs::read_to_string(dir.path("bgpd.log")).unwrap_or_default()
        )
    };

    t.wait_established("10.0.0.2", Duration::from_secs(60));
    t.wait_established("10.0.1.2", Duration::from_secs(60));
    let arrived = wait_for(Duration::from_secs(30), || {
        find(&table(&b, VPN4), "10.1.0.0/16").is_some()
            && find(&table(&b, VPN6), "2001:db8:a::/48").is_some()
    });
    if !arrived {
        panic!(
            "routes did not reach B:\nT: {}\n{}\nB: {}\n{}\n{}",
            table(&t, VPN4),
            table(&t, VPN6),
            table(&b, VPN4),
            table(&b, VPN6),
            logs()
        );
    }

    let r = find(&table(&b, VPN4), "10.1.0.0/16").unwrap();
    assert_eq!(r["rd"], "200:1", "{r}");
    assert_label(&r, 100, nhi);
    assert_eq!(r["as_path"], "100 200", "{r}");
    assert_eq!(r["local_pref"], Value::Null, "{r}");
    let nh4 = if nhi { "10.0.0.2" } else { "10.0.1.1" };
    assert_eq!(r["next_hop"], nh4, "{r}");
    assert_eq!(r["from"], "10.0.1.1", "{r}");
    assert_eq!(r["best"], true, "{r}");

    let r = find(&table(&b, VPN6), "2001:db8:a::/48").unwrap();
    assert_eq!(r["rd"], "200:1", "{r}");
    assert_label(&r, 1000, nhi);
    assert_eq!(r["as_path"], "100 200", "{r}");
    let nh6 = if nhi {
        "::ffff:10.0.0.2"
    } else {
        "::ffff:10.0.1.1"
    };
    assert_eq!(r["next_hop"], nh6, "{r}");
    assert_eq!(r["best"], true, "{r}");

    // A goes away: T withdraws the routes from B.
    let _ = frr.0.kill();
    let _ = frr.0.wait();
    let gone = wait_for(Duration::from_secs(40), || {
        routes(&table(&b, VPN4)).is_empty() && routes(&table(&b, VPN6)).is_empty()
    });
    assert!(
        gone,
        "routes still at B after A went down:\n{}\n{}\n{}",
        table(&b, VPN4),
        table(&b, VPN6),
        logs()
    );
}

#[test]
fn vpn_routes_exported_with_next_hop_self() {
    run("ex", false);
}

#[test]
fn vpn_routes_exported_with_next_hop_invariable() {
    run("ei", true);
}

const FRR_B_CFG: &str = "frr defaults traditional
hostname b
!
router bgp 300
 bgp router-id 10.0.1.2
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 neighbor 10.0.1.1 remote-as 100
 neighbor 10.0.1.1 timers 10 30
 neighbor 10.0.1.1 timers connect 5
 !
 address-family ipv4 vpn
  neighbor 10.0.1.1 activate
 exit-address-family
 !
 address-family ipv6 vpn
  neighbor 10.0.1.1 activate
 exit-address-family
exit
!
";

/// `vtysh -c command` against the FRR whose files are `name.*` in `dir`, as JSON.
fn vtysh(ns: &Netns, dir: &TempDir, name: &str, command: &str) -> Value {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "vtysh", "--vty_socket"])
        .arg(dir.path(&format!("{name}.vty")))
        .args(["-c", command])
        .output()
        .expect("vtysh");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The paths FRR shows for `prefix` under RD `rd` in `show bgp ipv4|ipv6 vpn json`.
fn frr_paths(v: &Value, rd: &str, prefix: &str) -> Vec<Value> {
    v["routes"]["routeDistinguishers"][rd][prefix]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// FRR as B: the UPDATEs ternd encodes are accepted by another implementation.
#[test]
fn vpn_routes_exported_to_frr() {
    let a_ns = Netns::new("efa");
    let t_ns = Netns::new("eft");
    let b_ns = Netns::new("efb");
    link(&a_ns, &["10.0.0.2/24"], &t_ns, &["10.0.0.1/24"]);
    link(&t_ns, &["10.0.1.1/24"], &b_ns, &["10.0.1.2/24"]);
    let dir = TempDir::new("exfrr");
    let t = Ternd::start(&t_ns, &dir, "t", &t_cfg(false), &["0.0.0.0:179"]);
    let _a = start_frr(&a_ns, &dir, "a", FRR_CFG);
    let _b = start_frr(&b_ns, &dir, "b", FRR_B_CFG);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    t.wait_established("10.0.1.2", Duration::from_secs(60));
    let v4 = || vtysh(&b_ns, &dir, "b", "show bgp ipv4 vpn json");
    let v6 = || vtysh(&b_ns, &dir, "b", "show bgp ipv6 vpn json");
    let arrived = wait_for(Duration::from_secs(30), || {
        !frr_paths(&v4(), "200:1", "10.1.0.0/16").is_empty()
            && !frr_paths(&v6(), "200:1", "2001:db8:a::/48").is_empty()
    });
    assert!(
        arrived,
        "routes did not reach FRR B:\n{}\n{}\n--- T ---\n{}\n--- B ---\n{}",
        v4(),
        v6(),
        t.log_text(),
        std::fs::read_to_string(dir.path("b.log")).unwrap_or_default()
    );
    let p = &frr_paths(&v4(), "200:1", "10.1.0.0/16")[0];
    eprintln!("{p}");
    assert_eq!(p["path"], "100 200", "{p}");
    assert_eq!(p["nexthops"][0]["ip"], "10.0.1.1", "{p}");
    let p = &frr_paths(&v6(), "200:1", "2001:db8:a::/48")[0];
    eprintln!("{p}");
    assert_eq!(p["path"], "100 200", "{p}");
    // FRR prints an IPv4-mapped address in hex (`::ffff:a00:101`).
    let nh: std::net::Ipv6Addr = p["nexthops"][0]["ip"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        nh,
        "::ffff:10.0.1.1".parse::<std::net::Ipv6Addr>().unwrap(),
        "{p}"
    );
}
