//! A VPN instance's label allocation on the wire, against FRR as the VPNv4 peer
//! (RFC 4364 §4.3.2): `apply-label per-nexthop` gives the routes that share a next hop one
//! label and routes of another next hop another; `apply-label per-instance static 100`, once
//! committed, labels every route of the instance 100; `undo apply-label per-instance` goes
//! back to one label per route.
//!
//! Routes are sharded over the route engines by prefix and each engine allocates its own
//! dynamic labels, so with N engines a next hop's routes share at most N labels; T runs one
//! engine here, where VRP's one label per next hop holds exactly.
//!
//! Topology: T (ternd, AS 100) 10.0.0.1/30 ── 10.0.0.2/30 F (FRR, AS 200), VPNv4. T's vpn1
//! holds three static routes: two via 192.0.2.2, one via 192.0.2.3 (`import-route static`).
//! Needs root (network namespaces) and FRR.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};

const T_CFG: &str = "sysname T
#
ip vpn-instance vpn1
 ipv4-family
  route-distinguisher 100:1
  apply-label per-nexthop
  vpn-target 65000:1 both
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.252
#
interface GigabitEthernet0/0/1
 ip binding vpn-instance vpn1
 ip address 192.0.2.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  undo peer 10.0.0.2 enable
 #
 ipv4-family vpnv4
  policy vpn-target
  peer 10.0.0.2 enable
 #
 ipv4-family vpn-instance vpn1
  import-route static
#
ip route-static vpn-instance vpn1 198.51.100.0 255.255.255.0 192.0.2.2
ip route-static vpn-instance vpn1 203.0.113.0 255.255.255.0 192.0.2.2
ip route-static vpn-instance vpn1 10.9.0.0 255.255.0.0 192.0.2.3
#
return
";

const F_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 vpn
  neighbor 10.0.0.1 activate
 exit-address-family
!
";

const PREFIXES: [&str; 3] = ["198.51.100.0/24", "203.0.113.0/24", "10.9.0.0/16"];

/// The label FRR holds for each of T's vpn1 routes (RD 100:1).
fn labels(f: &Frr) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for p in PREFIXES {
        let paths = f.vpn_paths("100:1", p);
        if let Some(l) = paths.first().and_then(|x| x["remoteLabel"].as_u64()) {
            out.insert(p.to_owned(), l);
        }
    }
    out
}

fn commit(t: &Ternd, lines: &[&str]) {
    t.commit_in(&["ip vpn-instance vpn1", "ipv4-family"], lines);
}

#[test]
fn label_allocation_modes_reach_the_peer() {
    let dir = TempDir::new("label-modes");
    let t_ns = Netns::new("lmt");
    let f_ns = Netns::new("lmf");
    let ce_ns = Netns::new("lmc");
    link(&t_ns, &["10.0.0.1/30"], &f_ns, &["10.0.0.2/30"]);
    link(
        &t_ns,
        &["192.0.2.1/24"],
        &ce_ns,
        &["192.0.2.2/24", "192.0.2.3/24"],
    );
    let t = Ternd::start_with(
        &t_ns,
        &dir,
        "t",
        T_CFG,
        &["0.0.0.0:179"],
        &["--engine-shards", "1"],
    );
    let f = Frr::start(&f_ns, &dir, "f", F_CFG, &[]);
    let show = |f: &Frr| {
        format!(
            "--- F ---\n{}\n--- T ---\n{}\n--- T log ---\n{}",
            f.vtysh("show bgp ipv4 vpn"),
            t.display("display bgp vpnv4 all routing-table label", false)
                .unwrap_or_default(),
            t.log_text()
        )
    };
    assert!(
        wait_for(Duration::from_secs(60), || labels(&f).len() == 3),
        "F did not get vpn1's routes:\n{}",
        show(&f)
    );
    let l = labels(&f);
    let (a, b, c) = (l["198.51.100.0/24"], l["203.0.113.0/24"], l["10.9.0.0/16"]);
    assert_eq!(a, b, "one label for next hop 192.0.2.2:\n{}", show(&f));
    assert_ne!(a, c, "another for 192.0.2.3:\n{}", show(&f));

    commit(&t, &["apply-label per-instance static 100"]);
    assert!(
        wait_for(Duration::from_secs(30), || labels(&f)
            .values()
            .all(|l| *l == 100)
            && labels(&f).len() == 3),
        "not every route labeled 100: {:?}\n{}",
        labels(&f),
        show(&f)
    );
    let text = t.display("display current-configuration", false).unwrap();
    assert!(
        text.contains("  apply-label per-instance static 100\n"),
        "{text}"
    );

    commit(&t, &["undo apply-label per-instance"]);
    assert!(
        wait_for(Duration::from_secs(30), || {
            let l = labels(&f);
            let mut v: Vec<u64> = l.values().copied().collect();
            v.sort_unstable();
            v.dedup();
            l.len() == 3 && v.len() == 3 && !v.contains(&100)
        }),
        "not one label per route: {:?}\n{}",
        labels(&f),
        show(&f)
    );
}
