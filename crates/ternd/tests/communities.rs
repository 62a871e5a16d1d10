//! Well-known communities (RFC 1997) on export, against FRR: FRR I (AS 100, IBGP) announces
//! two routes to ternd T (AS 100), one of them tagged NO_EXPORT by I's export route-map. T
//! holds both and sends FRR E (AS 200, EBGP) only the untagged one: E's table must never hold
//! the NO_EXPORT route.
//!
//! Communities go to a peer only with `peer X advertise-community` (VRP's default sends
//! none): E first gets the untagged route without its community 100:7; after a commit of
//! `peer 10.0.1.2 advertise-community` on T, E gets it again with 100:7, without a reset.
//!
//! Topology: I 10.0.0.2/24 ── 10.0.0.1/24 T 10.0.1.1/24 ── 10.0.1.2/24 E.
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
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 100
 peer 10.0.0.2 timer keepalive 10 hold 30
 peer 10.0.1.2 as-number 200
 peer 10.0.1.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
  peer 10.0.1.2 enable
#
return
";

const I_CFG: &str = "frr defaults traditional
hostname i
!
ip prefix-list TAG seq 5 permit 198.51.100.0/24
!
route-map OUT permit 10
 match ip address prefix-list TAG
 set community no-export
route-map OUT permit 20
 set community 100:7
!
router bgp 100
 bgp router-id 10.0.0.2
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 unicast
  network 192.0.2.0/24
  network 198.51.100.0/24
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.1 send-community
  neighbor 10.0.0.1 route-map OUT out
 exit-address-family
!
";

const E_CFG: &str = "frr defaults traditional
hostname e
!
router bgp 200
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

fn t_route(t: &Ternd, prefix: &str) -> Option<Value> {
    let text = t.display("display bgp routing-table", true).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["routes"]
        .as_array()?
        .iter()
        .find(|r| r["prefix"] == prefix)
        .cloned()
}

fn frr_has(f: &Frr, prefix: &str) -> bool {
    let v = f.json(&format!("show bgp ipv4 unicast {prefix} json"));
    v["paths"].as_array().is_some_and(|p| !p.is_empty())
}

#[test]
fn a_no_export_route_from_an_ibgp_peer_never_reaches_the_ebgp_peer() {
    let dir = TempDir::new("communities");
    let i_ns = Netns::new("wci");
    let t_ns = Netns::new("wct");
    let e_ns = Netns::new("wce");
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
    // T holds both (NO_EXPORT does not stop a route coming in).
    let held = wait_for(Duration::from_secs(30), || {
        t_route(&t, "192.0.2.0/24").is_some() && t_route(&t, "198.51.100.0/24").is_some()
    });
    assert!(held, "T did not get I's routes:\n{}", show());
    // E gets the untagged route; by then T has had every chance to send the other too.
    assert!(
        wait_for(Duration::from_secs(30), || frr_has(&e, "192.0.2.0/24")),
        "E did not get the untagged route:\n{}",
        show()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !frr_has(&e, "198.51.100.0/24"),
        "NO_EXPORT route reached the EBGP peer:\n{}",
        show()
    );
    assert!(i.vtysh("show bgp ipv4 unicast").contains("198.51.100.0/24"));

    // T's detailed view shows what each route carries.
    let text = t
        .display("display bgp routing-table 198.51.100.7", false)
        .unwrap();
    assert!(
        text.contains(" BGP routing table entry information of 198.51.100.0/24:\n"),
        "{text}"
    );
    assert!(text.contains(" From: 10.0.0.2 (10.0.0.2)\n"), "{text}");
    // I is on a connected network: the kernel forwards to it directly, through T's link.
    assert!(
        text.contains(" Relay IP Nexthop: 10.0.0.2\n Relay IP Out-Interface: "),
        "{text}"
    );
    assert!(text.contains(" Community: no-export\n"), "{text}");
    assert!(
        text.contains(" AS-path Nil, origin igp, MED 0, localpref 100, pref-val 0, valid, internal, best, select"),
        "{text}"
    );
    // NO_EXPORT: sent to no peer (not E, an external peer; not back to I).
    assert!(
        text.ends_with(" Not advertised to any peer yet\n"),
        "{text}"
    );
    // The untagged route goes to E only (I learned it to T).
    let text = t
        .display("display bgp routing-table 192.0.2.1", false)
        .unwrap();
    assert!(
        text.contains(" Advertised to such 1 peers:\n    10.0.1.2\n"),
        "{text}"
    );
    let json: Value = serde_json::from_str(
        &t.display("display bgp routing-table 192.0.2.1", true)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        json["routes"][0]["detail"]["communities"],
        serde_json::json!(["100:7"]),
        "{json}"
    );
    let none = t
        .display("display bgp routing-table 203.0.113.1", false)
        .unwrap();
    assert!(none.contains("Info: The network does not exist."), "{none}");

    // The routes carrying communities, VRP's community display and the counts.
    let text = t
        .display("display bgp routing-table community", false)
        .unwrap();
    assert!(text.contains(" Total Number of Routes: 2\n"), "{text}");
    assert!(text.contains("PrefVal Community\n"), "{text}");
    let line = |text: &str, prefix: &str| {
        text.lines()
            .find(|l| l.contains(prefix))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(
        line(&text, "198.51.100.0/24").ends_with(" no-export"),
        "{text}"
    );
    assert!(line(&text, "192.0.2.0/24").ends_with(" <100:7>"), "{text}");
    let text = t
        .display("display bgp routing-table community no-export", false)
        .unwrap();
    assert!(text.contains(" Total Number of Routes: 1\n"), "{text}");
    assert!(
        text.contains("198.51.100.0/24") && !text.contains("192.0.2.0/24"),
        "{text}"
    );
    let text = t
        .display(
            "display bgp routing-table community 100:7 whole-match",
            false,
        )
        .unwrap();
    assert!(
        text.contains("192.0.2.0/24") && !text.contains("198.51.100.0/24"),
        "{text}"
    );
    let text = t
        .display("display bgp routing-table community 100:7 no-export", false)
        .unwrap();
    assert!(text.contains(" Total Number of Routes: 0\n"), "{text}");
    let text = t
        .display("display bgp routing-table statistics", false)
        .unwrap();
    for want in [
        "Total Number of Routes: 2\n",
        " Total Number of Best Routes: 2\n",
        " Total Number of Community Routes: 2\n",
        // Both are class C networks of their natural length.
        " Total Number of Cidr Routes: 0\n",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }

    // The update groups: E alone in an external one, which has sent it UPDATEs.
    let text = t.display("display bgp update-peer-group", false).unwrap();
    assert!(
        text.contains(" The Public instance's update peer group number : 2\n"),
        "{text}"
    );
    let groups: Value =
        serde_json::from_str(&t.display("display bgp update-peer-group", true).unwrap()).unwrap();
    let external = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "external")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        external["members"],
        serde_json::json!(["10.0.1.2"]),
        "{groups}"
    );
    let id = external["id"].as_u64().unwrap();
    let text = t
        .display(&format!("display bgp update-peer-group index {id}"), false)
        .unwrap();
    assert!(text.contains(" Group Type : external\n"), "{text}");
    assert!(text.contains(" Peers List : 10.0.1.2\n"), "{text}");
    let sent = text
        .lines()
        .find_map(|l| l.strip_prefix(" Total send packet number : "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(sent >= 1, "{text}");

    // No community toward E without advertise-community; with it, 100:7 arrives.
    let communities = |e: &Frr| -> String {
        e.json("show bgp ipv4 unicast 192.0.2.0/24 json")["paths"][0]["community"]["string"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(communities(&e), "", "sent without advertise-community");
    let mut c = tern_api::Blocking::connect(&t.control).unwrap();
    let id = c.open_session("test").unwrap().session;
    for line in [
        "system-view",
        "bgp 100",
        "peer 10.0.1.2 advertise-community",
        "commit",
    ] {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {r:?}");
    }
    assert!(
        wait_for(Duration::from_secs(20), || communities(&e) == "100:7"),
        "community not sent after advertise-community: {:?}\n{}",
        communities(&e),
        show()
    );
    assert_eq!(t.state("10.0.1.2"), "Established");
    // NO_EXPORT still keeps the other route from E.
    assert!(!frr_has(&e, "198.51.100.0/24"));
}
