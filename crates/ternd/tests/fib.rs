//! Next-hop resolution and kernel installation, end to end: ternd B (AS 200) announces two
//! prefixes to ternd T (AS 100) over EBGP, one with B's address as next hop and one whose next
//! hop an export policy sets to an address T cannot reach.
//!
//! - T installs the first in its kernel (`proto 186`, via B) and holds the second as not
//!   valid, not installed (RFC 4271 §9.1.2.1).
//! - A static route to the second next hop, added to T's kernel, makes it valid and installed
//!   (the kernel's notification re-runs the decision process).
//! - T's `network` of a prefix its kernel holds only from a static route (an IGP stand-in) is
//!   originated while that route exists.
//! - B going away removes T's kernel routes; a clean shutdown of T leaves no tern route.
//!
//! Topology: B 10.0.0.2/24 ── 10.0.0.1/24 T. Needs root (network namespaces).

mod common;

use std::time::Duration;

use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 3 hold 9
 #
 ipv4-family unicast
  network 172.16.9.0 255.255.255.0
  peer 10.0.0.2 enable
#
return
";

const B_CFG: &str = "sysname B
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.2 255.255.255.0
#
ip ip-prefix far index 10 permit 198.51.100.0 24
#
route-policy out permit node 10
 if-match ip-prefix far
 apply ip-address next-hop 203.0.113.9
#
route-policy out permit node 20
#
ip route-static 192.0.2.0 255.255.255.0 NULL0
ip route-static 198.51.100.0 255.255.255.0 NULL0
#
bgp 200
 router-id 10.0.0.2
 peer 10.0.0.1 as-number 100
 peer 10.0.0.1 timer keepalive 3 hold 9
 #
 ipv4-family unicast
  network 192.0.2.0 255.255.255.0
  network 198.51.100.0 255.255.255.0
  peer 10.0.0.1 enable
  peer 10.0.0.1 route-policy out export
#
return
";

fn route(t: &Ternd, prefix: &str) -> Option<Value> {
    route_from(t, prefix, "10.0.0.2")
}

fn route_from(t: &Ternd, prefix: &str, from: &str) -> Option<Value> {
    let text = t.display("display bgp routing-table", true).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["routes"]
        .as_array()?
        .iter()
        .find(|r| r["prefix"] == prefix && r["from"] == from)
        .cloned()
}

fn kernel(ns: &Netns) -> String {
    ns.sh("ip route show proto 186")
}

#[test]
fn next_hops_resolve_through_the_kernel_and_best_routes_are_installed() {
    let dir = TempDir::new("fib");
    let t_ns = Netns::new("fbt");
    let b_ns = Netns::new("fbb");
    link(&b_ns, &["10.0.0.2/24"], &t_ns, &["10.0.0.1/24"]);
    let mut t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let b = Ternd::start(&b_ns, &dir, "b", B_CFG, &["0.0.0.0:179"]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    let show = |t: &Ternd| {
        format!(
            "{}\nkernel:\n{}\n--- T log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            kernel(&t_ns),
            t.log_text()
        )
    };

    // Both arrive; the one with a reachable next hop is valid, best and installed.
    let arrived = wait_for(Duration::from_secs(30), || {
        route(&t, "192.0.2.0/24").is_some() && route(&t, "198.51.100.0/24").is_some()
    });
    assert!(arrived, "routes did not arrive:\n{}", show(&t));
    let near = route(&t, "192.0.2.0/24").unwrap();
    assert_eq!(near["valid"], true, "{near}");
    assert_eq!(near["best"], true, "{near}");
    let far = route(&t, "198.51.100.0/24").unwrap();
    assert_eq!(far["next_hop"], "203.0.113.9", "{far}");
    assert_eq!(far["valid"], false, "unreachable next hop: {far}");
    assert_eq!(far["best"], false, "{far}");
    assert!(
        wait_for(Duration::from_secs(10), || kernel(&t_ns)
            .contains("192.0.2.0/24 via 10.0.0.2")),
        "not installed:\n{}",
        show(&t)
    );
    assert!(!kernel(&t_ns).contains("198.51.100.0/24"), "{}", show(&t));
    // `display ip routing-table` reads the kernel: the BGP route and the direct one.
    let ip = t.display("display ip routing-table", false).unwrap();
    assert!(ip.contains("Routing Table : _public_"), "{ip}");
    assert!(
        ip.lines()
            .any(|l| l.trim_start().starts_with("192.0.2.0/24")
                && l.contains("BGP")
                && l.contains("10.0.0.2")),
        "{ip}"
    );
    assert!(
        ip.lines()
            .any(|l| l.trim_start().starts_with("10.0.0.0/24") && l.contains("Direct")),
        "{ip}"
    );

    // The next hop becomes reachable: valid, best, installed via the resolving gateway.
    t_ns.sh("ip route add 203.0.113.0/24 via 10.0.0.2");
    let valid = wait_for(Duration::from_secs(10), || {
        route(&t, "198.51.100.0/24").is_some_and(|r| r["valid"] == true && r["best"] == true)
    });
    assert!(valid, "not valid after the static route:\n{}", show(&t));
    assert!(
        wait_for(Duration::from_secs(10), || kernel(&t_ns)
            .contains("198.51.100.0/24 via 10.0.0.2")),
        "not installed:\n{}",
        show(&t)
    );
    // And unreachable again when it goes.
    t_ns.sh("ip route del 203.0.113.0/24 via 10.0.0.2");
    assert!(
        wait_for(Duration::from_secs(10), || !kernel(&t_ns)
            .contains("198.51.100.0/24")),
        "still installed:\n{}",
        show(&t)
    );

    // `network` of a prefix T's kernel does not hold: not originated until an IGP (here a
    // static kernel route) brings it, withdrawn when it goes (VRP: exact match).
    assert!(route_from(&b, "172.16.9.0/24", "10.0.0.1").is_none());
    t_ns.sh("ip route add 172.16.9.0/24 via 10.0.0.2");
    assert!(
        wait_for(Duration::from_secs(10), || route_from(
            &b,
            "172.16.9.0/24",
            "10.0.0.1"
        )
        .is_some()),
        "network not originated:\n{}",
        show(&t)
    );
    t_ns.sh("ip route del 172.16.9.0/24 via 10.0.0.2");
    assert!(
        wait_for(Duration::from_secs(10), || route_from(
            &b,
            "172.16.9.0/24",
            "10.0.0.1"
        )
        .is_none()),
        "network not withdrawn:\n{}",
        show(&t)
    );

    // B goes away: T's kernel routes go with its routes.
    drop(b);
    assert!(
        wait_for(Duration::from_secs(30), || kernel(&t_ns).trim().is_empty()),
        "kernel routes left after the peer went:\n{}",
        show(&t)
    );

    // A clean shutdown leaves no tern route even when some are installed: bring one back
    // from a new B, then stop T.
    let _b2 = Ternd::start(&b_ns, &dir, "b2", B_CFG, &["0.0.0.0:179"]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || kernel(&t_ns)
            .contains("192.0.2.0/24")),
        "not installed again:\n{}",
        show(&t)
    );
    t.stop();
    assert!(
        kernel(&t_ns).trim().is_empty(),
        "tern routes left after shutdown: {}",
        kernel(&t_ns)
    );
}
