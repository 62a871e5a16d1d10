//! Route filters against FRR: `ip as-path-filter`, `ip community-filter`, `ip ip-prefix` bound
//! to peers and named by a route-policy, and a commit that edits them.
//!
//! FRR I (AS 200) announces six routes to ternd T (AS 100), their AS paths and communities
//! set by I's export route-map:
//!
//! | prefix          | AS path (at T) | communities       | at T                              | at E      |
//! |-----------------|----------------|-------------------|-----------------------------------|-----------|
//! | 192.0.2.0/24    | 200            | 100:1             | IN node 10 (community-filter 1), `apply community 100:50 additive` | with 100:1 100:50 |
//! | 198.51.100.0/24 | 200            | 100:1             | IN node 10                        | no: ip-prefix OUT export denies it |
//! | 203.0.113.0/24  | 200 65546      | 100:2 100:3 100:9 | IN node 20 (as-path-filter `_1\.10$`, dotted), comm-filter 2 deletes 100:2 and 100:3, `apply extcommunity rt 100:77 additive` | with 100:9 only, RT 100:77 |
//! | 10.10.0.0/16    | 200 64999      | 100:1             | no: as-path-filter 1 import denies `_64999_` | no |
//! | 10.20.0.0/16    | 200            | none, RT 100:5    | IN node 30 (extcommunity-filter 1) | with RT 100:5 |
//! | 10.30.0.0/16    | 200            | none              | no: no node of IN matches          | no        |
//!
//! FRR E (AS 300) takes T's exports (`peer 10.0.1.2 ip-prefix OUT export`,
//! `advertise-community`). Then one commit on T edits the filters: the deny entry of
//! as-path-filter 1, the 100:3 entry of community-filter 2 and the deny entry of the prefix
//! list go; T evaluates its routes again without a session reset, and E gets 10.10.0.0/16,
//! 198.51.100.0/24, and 203.0.113.0/24 with 100:3 back.
//!
//! Topology: I 10.0.0.2/24 ── 10.0.0.1/24 T 10.0.1.1/24 ── 10.0.1.2/24 E.
//! Needs root (network namespaces) and FRR.

mod common;

use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

const T_CFG: &str = r"sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
ip as-path-filter 1 index 10 deny _64999_
ip as-path-filter 1 index 20 permit .*
ip as-path-filter dot index 10 permit _1\.10$
ip community-filter 1 index 10 permit 100:1
ip community-filter 2 index 10 permit 100:2
ip community-filter 2 index 20 permit 100:3
ip extcommunity-filter 1 index 10 permit rt 100:5
#
ip ip-prefix OUT index 10 deny 198.51.100.0 24
ip ip-prefix OUT index 20 permit 0.0.0.0 0 less-equal 32
#
route-policy IN permit node 10
 if-match community-filter 1
 apply community 100:50 additive
#
route-policy IN permit node 20
 if-match as-path-filter dot
 apply extcommunity rt 100:77 additive
 apply comm-filter 2 delete
#
route-policy IN permit node 30
 if-match extcommunity-filter 1
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 peer 10.0.1.2 as-number 300
 peer 10.0.1.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
  peer 10.0.0.2 as-path-filter 1 import
  peer 10.0.0.2 route-policy IN import
  peer 10.0.1.2 enable
  peer 10.0.1.2 ip-prefix OUT export
  peer 10.0.1.2 advertise-community
  peer 10.0.1.2 advertise-ext-community
#
return
";

const I_CFG: &str = "frr defaults traditional
hostname i
!
ip prefix-list A seq 5 permit 192.0.2.0/24
ip prefix-list A seq 6 permit 198.51.100.0/24
ip prefix-list C seq 5 permit 203.0.113.0/24
ip prefix-list D seq 5 permit 10.10.0.0/16
ip prefix-list F seq 5 permit 10.20.0.0/16
!
route-map OUT permit 10
 match ip address prefix-list A
 set community 100:1
route-map OUT permit 30
 match ip address prefix-list C
 set as-path prepend 65546
 set community 100:2 100:3 100:9
route-map OUT permit 40
 match ip address prefix-list D
 set as-path prepend 64999
 set community 100:1
route-map OUT permit 45
 match ip address prefix-list F
 set extcommunity rt 100:5
route-map OUT permit 50
!
router bgp 200
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
  network 10.10.0.0/16
  network 10.20.0.0/16
  network 10.30.0.0/16
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.1 send-community all
  neighbor 10.0.0.1 route-map OUT out
 exit-address-family
!
";

const E_CFG: &str = "frr defaults traditional
hostname e
!
router bgp 300
 bgp router-id 10.0.1.2
 no bgp ebgp-requires-policy
 neighbor 10.0.1.1 remote-as 100
 neighbor 10.0.1.1 timers 10 30
 neighbor 10.0.1.1 timers connect 5
 !
 address-family ipv4 unicast
  neighbor 10.0.1.1 activate
 exit-address-family
!
";

const ALL: [&str; 6] = [
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "10.10.0.0/16",
    "10.20.0.0/16",
    "10.30.0.0/16",
];

/// The prefixes of T's routing table.
fn t_prefixes(t: &Ternd) -> Vec<String> {
    let Ok(text) = t.display("display bgp routing-table", true) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    let mut p: Vec<String> = v["routes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["prefix"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    p.sort();
    p
}

/// T's communities of the route holding `addr`.
fn t_communities(t: &Ternd, addr: &str) -> Value {
    let text = t
        .display(&format!("display bgp routing-table {addr}"), true)
        .unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    v["routes"][0]["detail"]["communities"].clone()
}

/// The prefixes of E's table.
fn e_prefixes(e: &Frr) -> Vec<String> {
    let v = e.json("show bgp ipv4 unicast json");
    let mut p: Vec<String> = v["routes"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    p.sort();
    p
}

/// E's extended communities of `prefix`.
fn e_ext_communities(e: &Frr, prefix: &str) -> String {
    e.json(&format!("show bgp ipv4 unicast {prefix} json"))["paths"][0]["extendedCommunity"]
        ["string"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// E's communities of `prefix`.
fn e_communities(e: &Frr, prefix: &str) -> String {
    e.json(&format!("show bgp ipv4 unicast {prefix} json"))["paths"][0]["community"]["string"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn filters_select_and_strip_routes_and_follow_commits() {
    let dir = TempDir::new("filters");
    let i_ns = Netns::new("wfi");
    let t_ns = Netns::new("wft");
    let e_ns = Netns::new("wfe");
    link(&i_ns, &["10.0.0.2/24"], &t_ns, &["10.0.0.1/24"]);
    link(&t_ns, &["10.0.1.1/24"], &e_ns, &["10.0.1.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let i = Frr::start(&i_ns, &dir, "i", I_CFG, &[]);
    let e = Frr::start(&e_ns, &dir, "e", E_CFG, &[]);
    let show = || {
        format!(
            "--- T ---\n{}\n--- E ---\n{}\n--- T log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            e.vtysh("show bgp ipv4 unicast"),
            t.log_text()
        )
    };
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    t.wait_established("10.0.1.2", Duration::from_secs(60));
    // T received all six (its Adj-RIB-In) and accepted four.
    let received = wait_for(Duration::from_secs(30), || {
        let text = t
            .display(
                "display bgp routing-table peer 10.0.0.2 received-routes",
                false,
            )
            .unwrap_or_default();
        ALL.iter().all(|p| text.contains(p))
    });
    assert!(received, "T did not receive I's routes:\n{}", show());
    let accepted = sorted(&[
        "10.20.0.0/16",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
    ]);
    assert!(
        wait_for(Duration::from_secs(30), || t_prefixes(&t) == accepted),
        "T's table: {:?}\n{}",
        t_prefixes(&t),
        show()
    );
    // The dotted AS in T's display, and comm-filter 2 deleted 100:2 and 100:3.
    let text = t
        .display("display bgp routing-table 203.0.113.1", false)
        .unwrap();
    assert!(text.contains("AS-path 200 1.10,"), "{text}");
    assert_eq!(
        t_communities(&t, "203.0.113.1"),
        serde_json::json!(["100:9"])
    );
    assert_eq!(
        t_communities(&t, "192.0.2.1"),
        serde_json::json!(["100:1", "100:50"])
    );

    // E gets what ip-prefix OUT lets through, with the communities T kept.
    let exported = sorted(&["10.20.0.0/16", "192.0.2.0/24", "203.0.113.0/24"]);
    assert!(
        wait_for(Duration::from_secs(30), || e_prefixes(&e) == exported),
        "E's table: {:?}\n{}",
        e_prefixes(&e),
        show()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(e_prefixes(&e), exported, "{}", show());
    assert_eq!(e_communities(&e, "203.0.113.0/24"), "100:9");
    assert_eq!(e_communities(&e, "192.0.2.0/24"), "100:1 100:50");
    assert_eq!(e_ext_communities(&e, "203.0.113.0/24"), "RT:100:77");
    assert_eq!(e_ext_communities(&e, "192.0.2.0/24"), "");
    assert_eq!(e_ext_communities(&e, "10.20.0.0/16"), "RT:100:5");
    assert!(i.vtysh("show bgp ipv4 unicast").contains("10.10.0.0/16"));

    // The filters as configured.
    let text = t.display("display ip as-path-filter", false).unwrap();
    assert!(
        text.contains("As path filter number: 1\n")
            && text.contains("index: 10     deny      _64999_\n")
            && text.contains("As path filter name: dot\n"),
        "{text}"
    );
    let text = t.display("display ip community-filter 2", false).unwrap();
    assert!(text.contains("\n  index: 20     permit 100:3\n"), "{text}");

    // One commit edits the three filters.
    let mut c = tern_api::Blocking::connect(&t.control).unwrap();
    let id = c.open_session("test").unwrap().session;
    for line in [
        "system-view",
        "undo ip as-path-filter 1 index 10",
        "undo ip community-filter 2 index 20",
        "undo ip ip-prefix OUT index 10",
        "commit",
    ] {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {r:?}");
    }
    let accepted = sorted(&[
        "10.10.0.0/16",
        "10.20.0.0/16",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
    ]);
    assert!(
        wait_for(Duration::from_secs(30), || t_prefixes(&t) == accepted
            && t_communities(&t, "203.0.113.1")
                == serde_json::json!(["100:3", "100:9"])),
        "T after the commit: {:?} {}\n{}",
        t_prefixes(&t),
        t_communities(&t, "203.0.113.1"),
        show()
    );
    assert!(
        wait_for(Duration::from_secs(30), || e_prefixes(&e) == accepted
            && e_communities(&e, "203.0.113.0/24") == "100:3 100:9"),
        "E after the commit: {:?} {:?}\n{}",
        e_prefixes(&e),
        e_communities(&e, "203.0.113.0/24"),
        show()
    );
    // No session was reset.
    assert_eq!(t.state("10.0.0.2"), "Established");
    assert_eq!(t.state("10.0.1.2"), "Established");
}
