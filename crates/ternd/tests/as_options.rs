//! The peer AS options against FRR: `allow-as-loop`, `substitute-as`, `public-as-only` and
//! `fake-as` (RFC 4271 §9.1.2 loop detection, RFC 6793 for a 4-octet fake AS).
//!
//! S (FRR, AS 65001) announces three routes to ternd T (AS 100): 192.0.2.0/24 as it is,
//! 198.51.100.0/24 with T's own AS prepended (a loop for T), 203.0.113.0/24 with 65002
//! prepended. T sends them on to R (FRR, AS 65002, `substitute-as`) and to P (FRR, AS 300,
//! which peers with T's fake AS 4200000001; `public-as-only`).
//!
//! - R gets 203.0.113.0/24 with its own AS replaced by T's (otherwise R's loop detection
//!   would drop it);
//! - P's session comes up with the fake AS (AS_TRANS in the OPEN, the 4-octet AS in the
//!   capability), and P sees paths starting with the fake AS, private AS numbers removed;
//! - 198.51.100.0/24 reaches nobody until `peer 10.0.0.2 allow-as-loop` is committed on T,
//!   which re-checks S's routes without resetting the session.
//!
//! Topology: S 10.0.0.2 ── 10.0.0.1 T 10.0.1.1 ── 10.0.1.2 R; T 10.0.2.1 ── 10.0.2.2 P.
//! Needs root (network namespaces) and FRR.

mod common;

use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
interface GigabitEthernet0/0/2
 ip address 10.0.2.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 65001
 peer 10.0.0.2 timer keepalive 10 hold 30
 peer 10.0.1.2 as-number 65002
 peer 10.0.1.2 timer keepalive 10 hold 30
 peer 10.0.2.2 as-number 300
 peer 10.0.2.2 timer keepalive 10 hold 30
 peer 10.0.2.2 fake-as 64086.59905
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
  peer 10.0.1.2 enable
  peer 10.0.1.2 substitute-as
  peer 10.0.1.2 route-policy MED export
  peer 10.0.2.2 enable
  peer 10.0.2.2 public-as-only
#
route-policy MED permit node 10
 apply cost 33
#
return
";

const S_CFG: &str = "frr defaults traditional
hostname s
!
ip prefix-list LOOP seq 5 permit 198.51.100.0/24
ip prefix-list SUB seq 5 permit 203.0.113.0/24
!
route-map OUT permit 10
 match ip address prefix-list LOOP
 set as-path prepend 100
route-map OUT permit 20
 match ip address prefix-list SUB
 set as-path prepend 65002
route-map OUT permit 30
!
router bgp 65001
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 unicast
  network 192.0.2.0/24
  network 198.51.100.0/24
  network 203.0.113.0/24
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.1 route-map OUT out
 exit-address-family
!
";

fn receiver(name: &str, asn: u32, id: &str, remote_as: &str) -> String {
    format!(
        "frr defaults traditional
hostname {name}
!
router bgp {asn}
 bgp router-id {id}
 no bgp ebgp-requires-policy
 neighbor {peer} remote-as {remote_as}
 neighbor {peer} timers 10 30
 neighbor {peer} timers connect 5
 !
 address-family ipv4 unicast
  neighbor {peer} activate
 exit-address-family
!
",
        peer = id.rsplit_once('.').map(|(n, _)| format!("{n}.1")).unwrap()
    )
}

/// The AS path of FRR's best path to `prefix` (None while it has none).
fn path(f: &Frr, prefix: &str) -> Option<String> {
    let v = f.json(&format!("show bgp ipv4 unicast {prefix} json"));
    let paths = v["paths"].as_array()?;
    let best = paths
        .iter()
        .find(|p| p["bestpath"]["overall"] == true)
        .or(paths.first())?;
    Some(best["aspath"]["string"].as_str()?.to_owned())
}

fn connections(f: &Frr, peer: &str) -> u64 {
    f.json(&format!("show bgp neighbors {peer} json"))[peer]["connectionsEstablished"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn as_options_shape_the_paths_frr_receives() {
    let dir = TempDir::new("as-options");
    let s_ns = Netns::new("aos");
    let t_ns = Netns::new("aot");
    let r_ns = Netns::new("aor");
    let p_ns = Netns::new("aop");
    link(&s_ns, &["10.0.0.2/24"], &t_ns, &["10.0.0.1/24"]);
    link(&t_ns, &["10.0.1.1/24"], &r_ns, &["10.0.1.2/24"]);
    link(&t_ns, &["10.0.2.1/24"], &p_ns, &["10.0.2.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let s = Frr::start(&s_ns, &dir, "s", S_CFG, &[]);
    let r = Frr::start(
        &r_ns,
        &dir,
        "r",
        &receiver("r", 65002, "10.0.1.2", "100"),
        &[],
    );
    let p = Frr::start(
        &p_ns,
        &dir,
        "p",
        &receiver("p", 300, "10.0.2.2", "4200000001"),
        &[],
    );
    let show = || {
        format!(
            "--- T ---\n{}\n--- R ---\n{}\n--- P ---\n{}\n--- T log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            r.vtysh("show bgp ipv4 unicast"),
            p.vtysh("show bgp ipv4 unicast"),
            t.log_text()
        )
    };
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    t.wait_established("10.0.1.2", Duration::from_secs(60));
    // P only accepts T's OPEN because it carries the fake AS.
    t.wait_established("10.0.2.2", Duration::from_secs(60));
    let p_nbr = p.json("show bgp neighbors 10.0.2.1 json");
    assert_eq!(
        p_nbr["10.0.2.1"]["remoteAs"].as_u64(),
        Some(4200000001),
        "{p_nbr}"
    );

    // substitute-as: R's AS in the path became T's.
    assert!(
        wait_for(Duration::from_secs(30), || path(&r, "203.0.113.0/24")
            .is_some()),
        "R did not get 203.0.113.0/24:\n{}",
        show()
    );
    assert_eq!(
        path(&r, "203.0.113.0/24").as_deref(),
        Some("100 65001 100"),
        "{}",
        show()
    );
    assert_eq!(path(&r, "192.0.2.0/24").as_deref(), Some("100 65001"));
    // An export policy's MED goes to an external peer (a received MED would not).
    let med = r.json("show bgp ipv4 unicast 192.0.2.0/24 json")["paths"][0]["metric"].clone();
    assert_eq!(med, 33, "{}", show());
    // fake-as and public-as-only: P sees the fake AS alone (65001 is private and not P's).
    assert!(
        wait_for(Duration::from_secs(30), || path(&p, "192.0.2.0/24")
            .is_some()),
        "P did not get 192.0.2.0/24:\n{}",
        show()
    );
    assert_eq!(
        path(&p, "192.0.2.0/24").as_deref(),
        Some("4200000001"),
        "{}",
        show()
    );
    // 65002 is private too: the whole received path goes.
    assert_eq!(
        path(&p, "203.0.113.0/24").as_deref(),
        Some("4200000001"),
        "{}",
        show()
    );
    // The looped route reached nobody.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(path(&r, "198.51.100.0/24"), None, "{}", show());
    assert_eq!(path(&p, "198.51.100.0/24"), None, "{}", show());

    // allow-as-loop, committed: S's routes are checked again, without a reset.
    let before = connections(&s, "10.0.0.1");
    t.commit_in(&["bgp 100"], &["peer 10.0.0.2 allow-as-loop"]);
    assert!(
        wait_for(Duration::from_secs(20), || path(&r, "198.51.100.0/24")
            .is_some()),
        "allow-as-loop did not let 198.51.100.0/24 in:\n{}",
        show()
    );
    assert_eq!(
        path(&r, "198.51.100.0/24").as_deref(),
        Some("100 65001 100")
    );
    // A path with a public AS keeps its private ones (basic public-as-only).
    assert_eq!(
        path(&p, "198.51.100.0/24").as_deref(),
        Some("4200000001 65001 100"),
        "{}",
        show()
    );
    assert_eq!(connections(&s, "10.0.0.1"), before, "S's session was reset");
    assert_eq!(t.state("10.0.0.2"), "Established");

    // Undone: the route is withdrawn again.
    t.commit_in(&["bgp 100"], &["undo peer 10.0.0.2 allow-as-loop"]);
    assert!(
        wait_for(Duration::from_secs(20), || path(&r, "198.51.100.0/24")
            .is_none()),
        "undo allow-as-loop left 198.51.100.0/24:\n{}",
        show()
    );
    assert_eq!(connections(&s, "10.0.0.1"), before, "S's session was reset");
}

/// `peer X default-route-advertise [route-policy P]`: FRR R gets a default route from T
/// (next hop T, path T's AS) though no table holds one; a committed policy sets its MED; undone,
/// the default is withdrawn. No reset on the way.
#[test]
fn default_route_advertise_sends_a_default_without_one_in_the_table() {
    const T: &str = "sysname T
#
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
bgp 100
 router-id 10.0.1.1
 peer 10.0.1.2 as-number 65002
 peer 10.0.1.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  peer 10.0.1.2 enable
  peer 10.0.1.2 default-route-advertise
#
route-policy DR permit node 10
 apply cost 77
#
return
";
    let dir = TempDir::new("default-route");
    let t_ns = Netns::new("drt");
    let r_ns = Netns::new("drr");
    link(&t_ns, &["10.0.1.1/24"], &r_ns, &["10.0.1.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T, &["0.0.0.0:179"]);
    let r = Frr::start(
        &r_ns,
        &dir,
        "r",
        &receiver("r", 65002, "10.0.1.2", "100"),
        &[],
    );
    let default = |r: &Frr| -> Option<serde_json::Value> {
        let v = r.json("show bgp ipv4 unicast 0.0.0.0/0 json");
        v["paths"].as_array()?.first().cloned()
    };
    t.wait_established("10.0.1.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || default(&r).is_some()),
        "no default route at R:\n{}\n{}",
        r.vtysh("show bgp ipv4 unicast"),
        t.log_text()
    );
    let p = default(&r).unwrap();
    assert_eq!(p["aspath"]["string"], "100", "{p}");
    assert_eq!(p["nexthops"][0]["ip"], "10.0.1.1", "{p}");
    assert!(
        t.display("display bgp routing-table 0.0.0.0", false)
            .unwrap()
            .contains("does not exist"),
        "T's table holds no default"
    );
    let before = connections(&r, "10.0.1.1");
    t.commit_in(
        &["bgp 100"],
        &["peer 10.0.1.2 default-route-advertise route-policy DR"],
    );
    assert!(
        wait_for(Duration::from_secs(20), || default(&r)
            .is_some_and(|p| p["metric"] == 77)),
        "the policy's MED did not arrive: {:?}",
        default(&r)
    );
    t.commit_in(
        &["bgp 100"],
        &["undo peer 10.0.1.2 default-route-advertise"],
    );
    assert!(
        wait_for(Duration::from_secs(20), || default(&r).is_none()),
        "the default stayed after undo"
    );
    assert_eq!(connections(&r, "10.0.1.1"), before, "R's session was reset");
}
