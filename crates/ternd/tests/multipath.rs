//! Load balancing and `routing-table rib-only`, end to end against FRR: two FRR routers A and
//! B of one neighbouring AS (two ASBRs of AS 65002, EBGP to T) announce the same prefix with
//! equal attributes.
//!
//! - With `maximum load-balancing 2`, T's kernel holds the prefix as one route over both next
//!   hops (`RTA_MULTIPATH`; `ip -j route` lists two `nexthops`), `display bgp routing-table
//!   PREFIX` says `2 select`, and `display ip routing-table` lists both next hops. FRR E, T's
//!   other EBGP neighbour, still receives one path (the best one).
//! - A withdrawing its announcement collapses the route to B's next hop; announced again, the
//!   route is over both again; `undo maximum load-balancing` returns it to one next hop.
//! - A prefix whose two paths differ in AS path length (B prepends) is never balanced.
//! - `routing-table rib-only`: the routes stay in T's BGP table and leave the kernel; `undo`
//!   installs them again.
//!
//! Topology: A 10.0.1.2/24 ── 10.0.1.1/24 T 10.0.2.1/24 ── 10.0.2.2/24 B,
//! T 10.0.3.1/24 ── 10.0.3.2/24 E. Needs root (network namespaces) and FRR.

mod common;

use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, tern_cli, wait_for};
use serde_json::Value;

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.1.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip address 10.0.2.1 255.255.255.0
#
interface GigabitEthernet0/0/2
 ip address 10.0.3.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.1.2 as-number 65002
 peer 10.0.1.2 timer keepalive 10 hold 30
 peer 10.0.2.2 as-number 65002
 peer 10.0.2.2 timer keepalive 10 hold 30
 peer 10.0.3.2 as-number 65003
 peer 10.0.3.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  maximum load-balancing 2
  peer 10.0.1.2 enable
  peer 10.0.2.2 enable
  peer 10.0.3.2 enable
#
return
";

/// An ASBR of AS 65002: announces 192.0.2.0/24 (equal from both) and 198.51.100.0/24
/// (prepended by B when `prepend`).
fn asbr(name: &str, me: &str, t: &str, prepend: bool) -> String {
    let rm = if prepend {
        "route-map OUT permit 10\n match ip address prefix-list LONG\n set as-path prepend 65002\nroute-map OUT permit 20\n!\n"
    } else {
        "route-map OUT permit 10\n!\n"
    };
    format!(
        "frr defaults traditional
hostname {name}
!
ip prefix-list LONG seq 5 permit 198.51.100.0/24
!
{rm}router bgp 65002
 bgp router-id {me}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {t} remote-as 100
 neighbor {t} timers 10 30
 neighbor {t} timers connect 5
 !
 address-family ipv4 unicast
  network 192.0.2.0/24
  network 198.51.100.0/24
  neighbor {t} activate
  neighbor {t} route-map OUT out
 exit-address-family
!
"
    )
}

const E_CFG: &str = "frr defaults traditional
hostname e
!
router bgp 65003
 bgp router-id 10.0.3.2
 no bgp ebgp-requires-policy
 neighbor 10.0.3.1 remote-as 100
 neighbor 10.0.3.1 timers 10 30
 neighbor 10.0.3.1 timers connect 5
 !
 address-family ipv4 unicast
  neighbor 10.0.3.1 activate
 exit-address-family
!
";

/// Commits `lines` typed in T's `ipv4-family unicast` view.
fn commit_af(t: &Ternd, lines: &[&str]) {
    let mut all = vec!["system-view", "bgp 100", "ipv4-family unicast"];
    all.extend_from_slice(lines);
    all.push("commit");
    tern_cli(&t.control, &all);
}

/// The next hops (gateway) of `prefix` in the kernel of `ns`, from `ip -j route`: one for a
/// plain route, each of `nexthops` for a multipath one; empty when absent.
fn kernel_hops(ns: &Netns, prefix: &str) -> Vec<String> {
    let text = ns.sh(&format!("ip -j route show {prefix} proto 186"));
    let v: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    let Some(r) = v.as_array().and_then(|a| a.first()) else {
        return Vec::new();
    };
    let mut hops: Vec<String> = match r.get("nexthops").and_then(Value::as_array) {
        Some(n) => n
            .iter()
            .filter_map(|h| h["gateway"].as_str().map(str::to_owned))
            .collect(),
        None => r["gateway"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect(),
    };
    hops.sort();
    hops
}

/// T's paths for `prefix` (from its BGP table, JSON rows).
fn t_paths(t: &Ternd, prefix: &str) -> Vec<Value> {
    let Ok(text) = t.display("display bgp routing-table", true) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v["routes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["prefix"] == prefix)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

const P: &str = "192.0.2.0/24";
const LONG: &str = "198.51.100.0/24";
const BOTH: [&str; 2] = ["10.0.1.2", "10.0.2.2"];

#[test]
fn equal_paths_are_installed_together_and_rib_only_keeps_them_out() {
    let dir = TempDir::new("multipath");
    let a_ns = Netns::new("mpa");
    let b_ns = Netns::new("mpb");
    let e_ns = Netns::new("mpe");
    let t_ns = Netns::new("mpt");
    link(&a_ns, &["10.0.1.2/24"], &t_ns, &["10.0.1.1/24"]);
    link(&b_ns, &["10.0.2.2/24"], &t_ns, &["10.0.2.1/24"]);
    link(&e_ns, &["10.0.3.2/24"], &t_ns, &["10.0.3.1/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let a = Frr::start(
        &a_ns,
        &dir,
        "a",
        &asbr("a", "10.0.1.2", "10.0.1.1", false),
        &[],
    );
    let _b = Frr::start(
        &b_ns,
        &dir,
        "b",
        &asbr("b", "10.0.2.2", "10.0.2.1", true),
        &[],
    );
    let e = Frr::start(&e_ns, &dir, "e", E_CFG, &[]);
    let show = || {
        format!(
            "--- T ---\n{}\n--- kernel ---\n{}\n--- T log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            t_ns.sh("ip route show"),
            t.log_text()
        )
    };
    for p in ["10.0.1.2", "10.0.2.2", "10.0.3.2"] {
        t.wait_established(p, Duration::from_secs(60));
    }

    // Both paths arrive; the kernel route goes over both next hops.
    let balanced = wait_for(Duration::from_secs(30), || kernel_hops(&t_ns, P) == BOTH);
    assert!(balanced, "not balanced:\n{}", show());
    assert_eq!(t_paths(&t, P).len(), 2);
    let detail = t
        .display(&format!("display bgp routing-table {}", "192.0.2.1"), false)
        .unwrap();
    assert!(
        detail.contains("Paths:   2 available, 1 best, 2 select"),
        "{detail}"
    );
    assert!(detail.contains("external, select"), "{detail}");
    let ip = t.display("display ip routing-table", false).unwrap();
    let rows: Vec<&str> = ip
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(P))
        .take(2)
        .collect();
    assert!(
        rows.len() == 2
            && rows[0].contains("BGP")
            && rows[1].contains("BGP")
            && BOTH.iter().all(|h| rows.iter().any(|r| r.contains(h))),
        "{ip}"
    );
    // The prefix whose paths differ in AS path length: one next hop, A's (shorter).
    assert!(
        wait_for(Duration::from_secs(30), || t_paths(&t, LONG).len() == 2),
        "{}",
        show()
    );
    assert!(
        wait_for(Duration::from_secs(30), || kernel_hops(&t_ns, LONG)
            == ["10.0.1.2"]),
        "{}",
        show()
    );
    // E (EBGP) receives one path, with T as next hop.
    assert!(
        wait_for(Duration::from_secs(30), || {
            let v = e.json(&format!("show bgp ipv4 unicast {P} json"));
            v["paths"].as_array().is_some_and(|p| p.len() == 1)
        }),
        "{}",
        e.vtysh("show bgp ipv4 unicast")
    );

    // A withdraws: one next hop left; announced again: both again.
    a.configure(&[
        "router bgp 65002",
        "address-family ipv4 unicast",
        "no network 192.0.2.0/24",
    ]);
    let one = wait_for(Duration::from_secs(30), || {
        kernel_hops(&t_ns, P) == ["10.0.2.2"]
    });
    assert!(one, "not collapsed to B:\n{}", show());
    a.configure(&[
        "router bgp 65002",
        "address-family ipv4 unicast",
        "network 192.0.2.0/24",
    ]);
    assert!(
        wait_for(Duration::from_secs(30), || kernel_hops(&t_ns, P) == BOTH),
        "not balanced again:\n{}",
        show()
    );

    // undo maximum load-balancing: one next hop (the best path's, A's: lower router ID).
    commit_af(&t, &["undo maximum load-balancing"]);
    assert!(
        wait_for(Duration::from_secs(30), || kernel_hops(&t_ns, P)
            == ["10.0.1.2"]),
        "undo did not collapse:\n{}",
        show()
    );

    // routing-table rib-only: the BGP table keeps the routes, the kernel has none of them.
    commit_af(&t, &["maximum load-balancing 2", "routing-table rib-only"]);
    assert!(
        wait_for(Duration::from_secs(30), || {
            t_ns.sh("ip route show proto 186").trim().is_empty()
        }),
        "rib-only left kernel routes:\n{}",
        show()
    );
    assert_eq!(t_paths(&t, P).len(), 2, "{}", show());
    assert_eq!(t_paths(&t, LONG).len(), 2, "{}", show());
    let cfg = tern_cli(&t.control, &["display current-configuration"]);
    assert!(cfg.contains("  routing-table rib-only\n"), "{cfg}");
    // undo: installed again, balanced.
    commit_af(&t, &["undo routing-table rib-only"]);
    assert!(
        wait_for(Duration::from_secs(30), || kernel_hops(&t_ns, P) == BOTH
            && kernel_hops(&t_ns, LONG) == ["10.0.1.2"]),
        "undo rib-only did not install:\n{}",
        show()
    );
}

/// `routing-table rib-only route-policy P`: only what P permits stays out of the kernel.
#[test]
fn rib_only_with_a_policy_keeps_out_only_what_it_permits() {
    let dir = TempDir::new("ribonly");
    let a_ns = Netns::new("roa");
    let t_ns = Netns::new("rot");
    link(&a_ns, &["10.0.1.2/24"], &t_ns, &["10.0.1.1/24"]);
    let cfg = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.1.1 255.255.255.0
#
ip ip-prefix KEEP index 10 permit 192.0.2.0 24
#
route-policy OUT permit node 10
 if-match ip-prefix KEEP
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.1.2 as-number 65002
 peer 10.0.1.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  routing-table rib-only route-policy OUT
  peer 10.0.1.2 enable
#
return
";
    let t = Ternd::start(&t_ns, &dir, "t", cfg, &["0.0.0.0:179"]);
    let _a = Frr::start(
        &a_ns,
        &dir,
        "a",
        &asbr("a", "10.0.1.2", "10.0.1.1", false),
        &[],
    );
    t.wait_established("10.0.1.2", Duration::from_secs(60));
    let show = || {
        format!(
            "{}\n--- kernel ---\n{}\n--- log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            t_ns.sh("ip route show"),
            t.log_text()
        )
    };
    // 198.51.100.0/24 is denied by the policy: installed; 192.0.2.0/24 permitted: kept out.
    assert!(
        wait_for(Duration::from_secs(30), || kernel_hops(&t_ns, LONG)
            == ["10.0.1.2"]),
        "{}",
        show()
    );
    assert_eq!(t_paths(&t, P).len(), 1, "{}", show());
    assert!(kernel_hops(&t_ns, P).is_empty(), "{}", show());
    // The prefix list now names another prefix: 192.0.2.0/24 is denied, installed too.
    tern_cli(
        &t.control,
        &[
            "system-view",
            "ip ip-prefix KEEP index 10 permit 203.0.113.0 24",
            "commit",
        ],
    );
    assert!(
        wait_for(Duration::from_secs(30), || kernel_hops(&t_ns, P)
            == ["10.0.1.2"]),
        "policy change did not install:\n{}",
        show()
    );
}
