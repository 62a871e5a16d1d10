//! Route refresh (RFC 2918) against FRR: ternd T (AS 100) originates two IPv4 routes and
//! sends them to FRR F (AS 200). F's `clear bgp … soft in` sends T a ROUTE-REFRESH; T must
//! send the routes again, on the same session (F's UPDATE counter grows, its
//! connection count does not, its table keeps both routes). T's OPEN carries route refresh
//! and not enhanced route refresh, whose receiving side tern does not implement.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root (network namespaces) and FRR.

mod common;

use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
ip route-static 192.0.2.0 255.255.255.0 NULL0
ip route-static 198.51.100.0 255.255.255.0 NULL0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  network 192.0.2.0 255.255.255.0
  network 198.51.100.0 255.255.255.0
  peer 10.0.0.2 enable
#
return
";

const FRR_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 unicast
  neighbor 10.0.0.1 activate
 exit-address-family
!
";

fn neighbor(f: &Frr) -> Value {
    f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone()
}

fn updates_received(f: &Frr) -> u64 {
    neighbor(f)["messageStats"]["updatesRecv"]
        .as_u64()
        .unwrap_or(0)
}

fn frr_has(f: &Frr, prefix: &str) -> bool {
    let v = f.json(&format!("show bgp ipv4 unicast {prefix} json"));
    v["paths"].as_array().is_some_and(|p| !p.is_empty())
}

#[test]
fn a_route_refresh_from_frr_is_answered_with_the_routes_again() {
    let dir = TempDir::new("refresh");
    let t_ns = Netns::new("rft");
    let f_ns = Netns::new("rff");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    let show = || {
        format!(
            "--- FRR neighbor ---\n{}\n--- FRR table ---\n{}\n--- T log ---\n{}\n--- FRR log ---\n{}",
            neighbor(&f),
            f.vtysh("show bgp ipv4 unicast"),
            t.log_text(),
            f.logs()
        )
    };
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    let arrived = wait_for(Duration::from_secs(30), || {
        frr_has(&f, "192.0.2.0/24") && frr_has(&f, "198.51.100.0/24")
    });
    assert!(arrived, "routes did not reach FRR:\n{}", show());

    // What T's OPEN said, as FRR read it.
    let n = neighbor(&f);
    let caps = &n["neighborCapabilities"];
    assert!(
        caps["routeRefresh"]
            .as_str()
            .is_some_and(|s| s.to_lowercase().contains("received")),
        "route refresh: {caps}"
    );
    assert!(
        !caps["enhancedRouteRefresh"]
            .as_str()
            .is_some_and(|s| s.to_lowercase().contains("received")),
        "enhanced route refresh must not be advertised: {caps}"
    );
    let connections = n["connectionsEstablished"].as_u64();
    // Everything T sends at start has arrived (End-of-RIB included) before counting.
    let mut before = updates_received(&f);
    wait_for(Duration::from_secs(3), || {
        let now = updates_received(&f);
        let same = now == before;
        before = now;
        same && now > 0
    });

    let out = f.vtysh("clear bgp ipv4 unicast 10.0.0.1 soft in");
    let refreshed = wait_for(Duration::from_secs(20), || updates_received(&f) > before);
    assert!(
        refreshed,
        "no UPDATE after the refresh ({out}):\n{}",
        show()
    );
    let n = neighbor(&f);
    assert_eq!(
        n["connectionsEstablished"].as_u64(),
        connections,
        "same session"
    );
    assert_eq!(n["bgpState"], "Established", "{n}");
    assert!(
        n["messageStats"]["routeRefreshSent"]
            .as_u64()
            .is_some_and(|x| x >= 1),
        "{n}"
    );
    assert!(frr_has(&f, "192.0.2.0/24") && frr_has(&f, "198.51.100.0/24"));
    assert!(
        t.log_text().contains("route refresh requested"),
        "{}",
        show()
    );
}
