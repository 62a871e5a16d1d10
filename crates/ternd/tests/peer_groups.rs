//! Peer groups against FRR: ternd T (AS 100) learns 192.0.2.0/24 from FRR S (AS 65000) and
//! sends it to three FRR peers, A (AS 200) and B (AS 300) members of group `ebgp`, C (AS
//! 400) of group `other`. Both groups hold the members' session settings (multihop EBGP from
//! T's loopback: `connect-interface LoopBack0`, `ebgp-max-hop 2`) and export settings
//! (`route-policy SETC export`, which sets community 100:77, and `advertise-community`): A, B
//! and C hold the route with 100:77, and the three share one update group (the same
//! effective export settings, whatever the group names).
//!
//! B's own `peer 10.0.2.2 route-policy C5 export` overrides the group: B gets 100:5, A keeps
//! 100:77; undoing it brings B back to the group's 100:77, both applied without a reset. A
//! group session setting (`peer ebgp timer keepalive 15 hold 45`) resets exactly the members
//! that take it from the group: B, not A (its own timers), C or S.
//!
//! Topology: S 10.0.0.2 ── 10.0.0.1 T 10.0.1.1 ── 10.0.1.2 A; T 10.0.2.1 ── 10.0.2.2 B;
//! T 10.0.3.1 ── 10.0.3.2 C; T's loopback 1.1.1.1, reached by A, B and C through static
//! routes. Also: a reflector's clients as one internal group (`reflect-client`,
//! `next-hop-local`), and a VPN instance's CEs as one group of its family view.
//! Needs root (network namespaces) and FRR.

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
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
interface GigabitEthernet0/0/2
 ip address 10.0.2.1 255.255.255.0
#
interface GigabitEthernet0/0/3
 ip address 10.0.3.1 255.255.255.0
#
interface LoopBack0
 ip address 1.1.1.1 255.255.255.255
#
route-policy SETC permit node 10
 apply community 100:77
#
route-policy C5 permit node 10
 apply community 100:5
#
bgp 100
 router-id 10.0.0.1
 group ebgp external
 peer ebgp ebgp-max-hop 2
 peer ebgp connect-interface LoopBack0
 peer ebgp timer keepalive 10 hold 30
 group other external
 peer other ebgp-max-hop 2
 peer other connect-interface LoopBack0
 peer other timer keepalive 10 hold 30
 peer 10.0.0.2 as-number 65000
 peer 10.0.0.2 timer keepalive 10 hold 30
 peer 10.0.1.2 as-number 200
 peer 10.0.1.2 group ebgp
 peer 10.0.1.2 timer keepalive 10 hold 30
 peer 10.0.2.2 as-number 300
 peer 10.0.2.2 group ebgp
 peer 10.0.3.2 as-number 400
 peer 10.0.3.2 group other
 #
 ipv4-family unicast
  peer ebgp route-policy SETC export
  peer ebgp advertise-community
  peer other route-policy SETC export
  peer other advertise-community
#
return
";

/// An FRR speaker peering with ternd at `t` (multihop when `t` is T's loopback), announcing
/// 192.0.2.0/24 when `network`.
fn frr_cfg(name: &str, asn: u32, me: &str, t: &str, network: bool) -> String {
    let net = if network {
        "  network 192.0.2.0/24\n"
    } else {
        ""
    };
    let multihop = if t == "1.1.1.1" {
        format!(" neighbor {t} ebgp-multihop 2\n")
    } else {
        String::new()
    };
    format!(
        "frr defaults traditional
hostname {name}
!
router bgp {asn}
 bgp router-id {me}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {t} remote-as 100
 neighbor {t} timers 10 30
 neighbor {t} timers connect 5
{multihop} !
 address-family ipv4 unicast
{net}  neighbor {t} activate
 exit-address-family
!
"
    )
}

/// The communities of 192.0.2.0/24 in an FRR table (None: no route).
fn community(f: &Frr) -> Option<String> {
    let v = f.json("show bgp ipv4 unicast 192.0.2.0/24 json");
    let p = v["paths"].as_array()?.first()?.clone();
    Some(
        p["community"]["string"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn c(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// When the peer's session came up (a reset session comes up again later; a reset peer's
/// counters start again, so `up_count` cannot tell).
fn up_since(t: &Ternd, a: &str) -> Value {
    t.peer(a)["since"].clone()
}

/// The members of the update group holding `member`, sorted.
fn update_group_of(t: &Ternd, member: &str) -> Vec<String> {
    let groups: Value =
        serde_json::from_str(&t.display("display bgp update-peer-group", true).unwrap()).unwrap();
    let mut m: Vec<String> = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            g["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|x| x == member))
        })
        .map(|g| {
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    m.sort();
    m
}

fn commit(t: &Ternd, lines: &[&str]) {
    t.commit_in(&["bgp 100"], lines);
}

#[test]
fn members_take_the_group_settings_and_their_own_overrides() {
    let dir = TempDir::new("groups");
    let s_ns = Netns::new("wgs");
    let t_ns = Netns::new("wgt");
    let a_ns = Netns::new("wga");
    let b_ns = Netns::new("wgb");
    let c_ns = Netns::new("wgc");
    link(&s_ns, &["10.0.0.2/24"], &t_ns, &["10.0.0.1/24"]);
    link(&t_ns, &["10.0.1.1/24"], &a_ns, &["10.0.1.2/24"]);
    link(&t_ns, &["10.0.2.1/24"], &b_ns, &["10.0.2.2/24"]);
    link(&t_ns, &["10.0.3.1/24"], &c_ns, &["10.0.3.2/24"]);
    t_ns.loopback("1.1.1.1/32");
    a_ns.sh("ip route add 1.1.1.1/32 via 10.0.1.1");
    b_ns.sh("ip route add 1.1.1.1/32 via 10.0.2.1");
    c_ns.sh("ip route add 1.1.1.1/32 via 10.0.3.1");
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let _s = Frr::start(
        &s_ns,
        &dir,
        "s",
        &frr_cfg("s", 65000, "10.0.0.2", "10.0.0.1", true),
        &[],
    );
    let a = Frr::start(
        &a_ns,
        &dir,
        "a",
        &frr_cfg("a", 200, "10.0.1.2", "1.1.1.1", false),
        &[],
    );
    let b = Frr::start(
        &b_ns,
        &dir,
        "b",
        &frr_cfg("b", 300, "10.0.2.2", "1.1.1.1", false),
        &[],
    );
    let c3 = Frr::start(
        &c_ns,
        &dir,
        "c",
        &frr_cfg("c", 400, "10.0.3.2", "1.1.1.1", false),
        &[],
    );
    let show = || {
        format!(
            "--- A ---\n{}\n--- B ---\n{}\n--- update groups ---\n{}\n--- T log ---\n{}",
            a.vtysh("show bgp ipv4 unicast 192.0.2.0/24"),
            b.vtysh("show bgp ipv4 unicast 192.0.2.0/24"),
            t.display("display bgp update-peer-group", false)
                .unwrap_or_default(),
            t.log_text()
        )
    };
    let all = ["10.0.0.2", "10.0.1.2", "10.0.2.2", "10.0.3.2"];
    for p in all {
        t.wait_established(p, Duration::from_secs(60));
    }

    // The group's export policy reaches both members, and the other group's member.
    assert!(
        wait_for(Duration::from_secs(30), || {
            community(&a) == c("100:77")
                && community(&b) == c("100:77")
                && community(&c3) == c("100:77")
        }),
        "the group's community did not reach the members: {:?} {:?} {:?}\n{}",
        community(&a),
        community(&b),
        community(&c3),
        show()
    );
    // One update group for the same effective export, across group names.
    assert_eq!(
        update_group_of(&t, "10.0.1.2"),
        ["10.0.1.2", "10.0.2.2", "10.0.3.2"],
        "{}",
        show()
    );
    assert!(!update_group_of(&t, "10.0.0.2").contains(&"10.0.1.2".to_owned()));

    // The group displays.
    let text = t.display("display bgp group ebgp", false).unwrap();
    for want in [
        "BGP peer-group: ebgp\n",
        " Remote AS number isn't specified\n",
        " Type : external\n",
        " Configured hold timer value: 30\n",
        " PeerSession Members:\n   10.0.1.2\n   10.0.2.2\n",
        " Export route policy is: SETC\n",
        " Peer Members:\n",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("  10.0.2.2 ") && l.contains("Established")),
        "{text}"
    );
    let text = t.display("display bgp group", false).unwrap();
    assert!(
        text.contains("BGP peer-group: ebgp\n") && text.contains("BGP peer-group: other\n"),
        "{text}"
    );
    let e = t.display("display bgp group nosuch", false).unwrap_err();
    assert!(e.contains("The peer group does not exist"), "{e}");
    let text = t
        .display("display bgp peer 10.0.2.2 verbose", false)
        .unwrap();
    assert!(text.contains("\n         Peer group: ebgp\n"), "{text}");
    let conf = t.display("display current-configuration", false).unwrap();
    assert!(
        conf.contains(" group ebgp external\n peer ebgp ebgp-max-hop 2\n peer ebgp connect-interface LoopBack0\n peer ebgp timer keepalive 10 hold 30\n group other external\n"),
        "{conf}"
    );

    let ups: Vec<Value> = all.iter().map(|p| up_since(&t, p)).collect();

    // B's own export policy wins over the group's; A keeps the group's.
    commit(
        &t,
        &[
            "ipv4-family unicast",
            "peer 10.0.2.2 route-policy C5 export",
        ],
    );
    assert!(
        wait_for(Duration::from_secs(30), || community(&b) == c("100:5")),
        "B's own policy not applied: {:?}\n{}",
        community(&b),
        show()
    );
    assert_eq!(community(&a), c("100:77"));
    assert_eq!(
        update_group_of(&t, "10.0.1.2"),
        ["10.0.1.2", "10.0.3.2"],
        "{}",
        show()
    );
    // Undone, B falls back to the group's policy.
    commit(
        &t,
        &[
            "ipv4-family unicast",
            "undo peer 10.0.2.2 route-policy C5 export",
        ],
    );
    assert!(
        wait_for(Duration::from_secs(30), || community(&b) == c("100:77")),
        "B did not fall back to the group's policy: {:?}\n{}",
        community(&b),
        show()
    );
    assert_eq!(
        update_group_of(&t, "10.0.1.2"),
        ["10.0.1.2", "10.0.2.2", "10.0.3.2"]
    );
    // Policy changes apply in place.
    let now: Vec<Value> = all.iter().map(|p| up_since(&t, p)).collect();
    assert_eq!(now, ups, "a policy change reset a session\n{}", show());

    // A group session setting resets the members that take it from the group: B only.
    commit(&t, &["peer ebgp timer keepalive 15 hold 45"]);
    assert!(
        wait_for(Duration::from_secs(60), || {
            up_since(&t, "10.0.2.2") != ups[2] && t.state("10.0.2.2") == "Established"
        }),
        "B was not reset by the group's timers\n{}",
        show()
    );
    assert_eq!(t.peer("10.0.2.2")["configured_hold"], 45);
    assert_eq!(t.peer("10.0.1.2")["configured_hold"], 30);
    for (i, p) in all.iter().enumerate() {
        if *p != "10.0.2.2" {
            assert_eq!(up_since(&t, p), ups[i], "{p} was reset\n{}", show());
            assert_eq!(t.state(p), "Established", "{p}");
        }
    }
    let text = t.display("display bgp group ebgp", false).unwrap();
    assert!(
        text.contains(" Configured hold timer value: 45\n Keepalive timer value: 15\n"),
        "{text}"
    );
    // B has the route again, with the group's community.
    assert!(
        wait_for(Duration::from_secs(30), || community(&b) == c("100:77")),
        "{}",
        show()
    );
}

const RR_CFG: &str = "sysname RR
#
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
interface GigabitEthernet0/0/2
 ip address 10.0.2.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 group clients internal
 peer clients timer keepalive 10 hold 30
 peer 10.0.1.2 group clients
 peer 10.0.2.2 group clients
 #
 ipv4-family unicast
  peer clients reflect-client
  peer clients next-hop-local
#
return
";

fn client_cfg(name: &str, me: &str, rr: &str, network: bool) -> String {
    let net = if network {
        "  network 203.0.113.0/24\n"
    } else {
        ""
    };
    format!(
        "frr defaults traditional
hostname {name}
!
router bgp 100
 bgp router-id {me}
 no bgp network import-check
 neighbor {rr} remote-as 100
 neighbor {rr} timers 10 30
 neighbor {rr} timers connect 5
 !
 address-family ipv4 unicast
{net}  neighbor {rr} activate
 exit-address-family
!
"
    )
}

/// A reflector whose clients are one internal group: `reflect-client` and `next-hop-local`
/// on the group reach both members. B gets A's route reflected (ORIGINATOR_ID A, the
/// reflector's CLUSTER_LIST) with the reflector's own next hop; `undo peer clients
/// next-hop-local` gives B A's next hop, in place.
#[test]
fn a_reflector_s_clients_as_one_group() {
    let dir = TempDir::new("groups-rr");
    let a_ns = Netns::new("wra");
    let t_ns = Netns::new("wrt");
    let b_ns = Netns::new("wrb");
    link(&a_ns, &["10.0.1.2/24"], &t_ns, &["10.0.1.1/24"]);
    link(&t_ns, &["10.0.2.1/24"], &b_ns, &["10.0.2.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", RR_CFG, &["0.0.0.0:179"]);
    let _a = Frr::start(
        &a_ns,
        &dir,
        "a",
        &client_cfg("a", "10.0.1.2", "10.0.1.1", true),
        &[],
    );
    let b = Frr::start(
        &b_ns,
        &dir,
        "b",
        &client_cfg("b", "10.0.2.2", "10.0.2.1", false),
        &[],
    );
    for p in ["10.0.1.2", "10.0.2.2"] {
        t.wait_established(p, Duration::from_secs(60));
    }
    let path = || -> Option<Value> {
        let v = b.json("show bgp ipv4 unicast 203.0.113.0/24 json");
        v["paths"].as_array()?.first().cloned()
    };
    let next_hop = |p: &Value| {
        p["nexthops"][0]["ip"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let show = || {
        format!(
            "--- B ---\n{}\n--- T ---\n{}",
            b.vtysh("show bgp ipv4 unicast 203.0.113.0/24"),
            t.display("display bgp routing-table", false)
                .unwrap_or_default()
        )
    };
    assert!(
        wait_for(Duration::from_secs(30), || path()
            .is_some_and(|p| next_hop(&p) == "10.0.2.1")),
        "B did not get the reflected route with the reflector's next hop\n{}",
        show()
    );
    let p = path().unwrap();
    assert_eq!(p["originatorId"], "10.0.1.2", "{p}");
    assert_eq!(
        p["clusterList"]["list"],
        serde_json::json!(["10.0.0.1"]),
        "{p}"
    );
    let since = t.peer("10.0.2.2")["since"].clone();
    commit(
        &t,
        &["ipv4-family unicast", "undo peer clients next-hop-local"],
    );
    assert!(
        wait_for(Duration::from_secs(30), || path()
            .is_some_and(|p| next_hop(&p) == "10.0.1.2")),
        "B still has the reflector's next hop\n{}",
        show()
    );
    assert_eq!(t.peer("10.0.2.2")["since"], since, "B was reset");
}

const PE_CFG: &str = "sysname PE
#
ip vpn-instance A
 ipv4-family
  route-distinguisher 100:1
  vpn-target 1:1 both
#
interface GigabitEthernet0/0/1
 ip binding vpn-instance A
 ip address 192.168.1.1 255.255.255.0
#
interface GigabitEthernet0/0/2
 ip binding vpn-instance A
 ip address 192.168.2.1 255.255.255.0
#
route-policy SETC permit node 10
 apply community 100:77
#
bgp 100
 router-id 10.0.0.1
 #
 ipv4-family vpn-instance A
  group ce external
  peer ce timer keepalive 10 hold 30
  peer ce route-policy SETC export
  peer ce advertise-community
  peer 192.168.1.2 as-number 65001
  peer 192.168.1.2 group ce
  peer 192.168.2.2 as-number 65002
  peer 192.168.2.2 group ce
#
return
";

/// A VPN instance's CEs as one group of the instance's family view: the group's timers and
/// export settings reach both sessions; CE1's route reaches CE2 with the group's community.
#[test]
fn a_vpn_instance_s_ces_as_one_group() {
    let dir = TempDir::new("groups-vrf");
    let c1_ns = Netns::new("wv1");
    let t_ns = Netns::new("wvt");
    let c2_ns = Netns::new("wv2");
    link(&c1_ns, &["192.168.1.2/24"], &t_ns, &["192.168.1.1/24"]);
    link(&t_ns, &["192.168.2.1/24"], &c2_ns, &["192.168.2.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", PE_CFG, &["0.0.0.0:179"]);
    let _c1 = Frr::start(
        &c1_ns,
        &dir,
        "c1",
        &frr_cfg("c1", 65001, "192.168.1.2", "192.168.1.1", true),
        &[],
    );
    let c2 = Frr::start(
        &c2_ns,
        &dir,
        "c2",
        &frr_cfg("c2", 65002, "192.168.2.2", "192.168.2.1", false),
        &[],
    );
    for p in ["192.168.1.2", "192.168.2.2"] {
        let v = t.wait_established(p, Duration::from_secs(60));
        assert_eq!(v["vrf"], "A", "{v}");
        assert_eq!(v["configured_hold"], 30, "{v}");
    }
    assert!(
        wait_for(Duration::from_secs(30), || community(&c2) == c("100:77")),
        "CE2 did not get CE1's route with the group's community: {:?}\n{}\n{}",
        community(&c2),
        c2.vtysh("show bgp ipv4 unicast"),
        t.log_text()
    );
    let text = t
        .display("display bgp peer 192.168.2.2 verbose", false)
        .unwrap();
    assert!(text.contains("\n         Peer group: ce\n"), "{text}");
}
