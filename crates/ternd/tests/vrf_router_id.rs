//! A VPN instance family's own router ID (`router-id` in `ipv4-family vpn-instance V`),
//! against FRR: the CE sees it as ternd's BGP identifier in the OPEN, the BGP router ID stays
//! the public sessions', and a committed change resets that instance's sessions with the new
//! identity (VRP: changing it resets the instance's sessions).
//!
//! Topology: ternd T (AS 100, router ID 1.1.1.9), GigabitEthernet0/0/1 bound to vrf1,
//! 172.16.0.1/30 ── FRR C (AS 65001, a CE) 172.16.0.2/30.
//! Needs root (network namespaces) and FRR.

mod common;

use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};

const T_CFG: &str = "sysname T
#
ip vpn-instance vrf1
 ipv4-family
  route-distinguisher 100:1
  vpn-target 65000:1 both
#
interface GigabitEthernet0/0/1
 ip binding vpn-instance vrf1
 ip address 172.16.0.1 255.255.255.252
#
bgp 100
 router-id 1.1.1.9
 #
 ipv4-family vpn-instance vrf1
  router-id 10.2.3.4
  peer 172.16.0.2 as-number 65001
  peer 172.16.0.2 timer keepalive 10 hold 30
#
return
";

const C_CFG: &str = "frr defaults traditional
hostname c
!
router bgp 65001
 bgp router-id 172.16.0.2
 no bgp ebgp-requires-policy
 neighbor 172.16.0.1 remote-as 100
 neighbor 172.16.0.1 timers 10 30
 neighbor 172.16.0.1 timers connect 5
!
";

fn remote_id(c: &Frr) -> String {
    c.json("show bgp neighbors 172.16.0.1 json")["172.16.0.1"]["remoteRouterId"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_ce_sees_the_instances_router_id() {
    let dir = TempDir::new("vrf-rid");
    let t_ns = Netns::new("vrt");
    let c_ns = Netns::new("vrc");
    link(&t_ns, &["172.16.0.1/30"], &c_ns, &["172.16.0.2/30"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let c = Frr::start(&c_ns, &dir, "c", C_CFG, &[]);
    c.wait_established("172.16.0.1", Duration::from_secs(60));
    assert_eq!(remote_id(&c), "10.2.3.4", "{}", t.log_text());

    let vrf1 = ["bgp 100", "ipv4-family vpn-instance vrf1"];
    t.commit_in(&vrf1, &["router-id 10.5.6.7"]);
    assert!(
        wait_for(Duration::from_secs(60), || remote_id(&c) == "10.5.6.7"
            && c.state("172.16.0.1") == "Established"),
        "the session did not come back with the new router ID: {}\n{}",
        remote_id(&c),
        t.log_text()
    );
    // Without its own, the instance's sessions use the BGP router ID.
    t.commit_in(&vrf1, &["undo router-id"]);
    assert!(
        wait_for(Duration::from_secs(60), || remote_id(&c) == "1.1.1.9"
            && c.state("172.16.0.1") == "Established"),
        "{}",
        remote_id(&c)
    );
}
