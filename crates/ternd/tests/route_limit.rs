//! `peer X route-limit` against FRR: FRR F (AS 200) announces 101 routes (kernel routes it
//! redistributes) to ternd T (AS 100), which allows 100.
//!
//! - No keyword: T closes the session with Cease / Maximum Number of Prefixes Reached
//!   (RFC 4486, with AFI, SAFI and the limit as data), withdraws F's routes, and stays down
//!   for 30 s before connecting again.
//! - `idle-forever`: the same, and T stays down (F's attempts refused) until `reset bgp`.
//! - `alert-only`: the session stays up and routes for new destinations past the limit are
//!   not taken.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root (network namespaces) and FRR.

mod common;

use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

fn t_cfg(limit: &str) -> String {
    format!(
        "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
  peer 10.0.0.2 route-limit {limit}
#
return
"
    )
}

const FRR_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 2
 !
 address-family ipv4 unicast
  redistribute kernel
  neighbor 10.0.0.1 activate
 exit-address-family
!
";

/// Adds kernel routes 198.18.X.0/24 for X in `from..to` in F's namespace.
fn add_routes(ns: &Netns, from: u32, to: u32) {
    let script: String = (from..to)
        .map(|i| format!("ip route add blackhole 198.18.{i}.0/24; "))
        .collect();
    ns.sh(&script);
}

fn held(t: &Ternd) -> u64 {
    t.peer("10.0.0.2")["prefixes"]["ipv4-unicast"]
        .as_u64()
        .unwrap_or(0)
}

struct Lab {
    t: Ternd,
    f: Frr,
    f_ns: Netns,
    _t_ns: Netns,
    _dir: TempDir,
}

fn lab(tag: &str, limit: &str, routes: u32) -> Lab {
    let dir = TempDir::new(tag);
    let t_ns = Netns::new(&format!("{tag}t"));
    let f_ns = Netns::new(&format!("{tag}f"));
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    add_routes(&f_ns, 0, routes);
    let t = Ternd::start(&t_ns, &dir, "t", &t_cfg(limit), &["0.0.0.0:179"]);
    let f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    Lab {
        t,
        f,
        f_ns,
        _t_ns: t_ns,
        _dir: dir,
    }
}

fn frr_neighbor(f: &Frr) -> Value {
    f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone()
}

/// Waits for the session to close on the limit; checks F read Cease/1.
fn closed_on_the_limit(l: &Lab) {
    let closed = wait_for(Duration::from_secs(60), || {
        l.t.log_text().contains("route limit exceeded")
    });
    assert!(closed, "no close:\n{}", l.t.log_text());
    let mut reason = String::new();
    let told = wait_for(Duration::from_secs(10), || {
        reason = frr_neighbor(&l.f)["lastNotificationReason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        reason.contains("Maximum Number of Prefixes Reached")
    });
    assert!(told, "F's last NOTIFICATION: {reason:?}");
    assert!(
        wait_for(Duration::from_secs(10), || held(&l.t) == 0),
        "F's routes not withdrawn: {}",
        l.t.peer("10.0.0.2")
    );
}

#[test]
fn past_the_limit_the_session_closes_and_waits_before_connecting_again() {
    let l = lab("rla", "100", 101);
    closed_on_the_limit(&l);
    let p = l.t.peer("10.0.0.2");
    assert_eq!(p["state"], "Idle", "{p}");
    assert!(
        p["reason"]
            .as_str()
            .is_some_and(|r| r.contains("connects again in 30 s")),
        "{p}"
    );
    // Still down a few seconds later although F keeps trying every 2 s.
    std::thread::sleep(Duration::from_secs(5));
    assert_ne!(l.t.state("10.0.0.2"), "Established");
    let text =
        l.t.display("display bgp peer 10.0.0.2 verbose", false)
            .unwrap();
    assert!(
        text.contains(" Maximum allowed route limit (IPv4 Unicast): 100\n Threshold: 75%\n"),
        "{text}"
    );
}

#[test]
fn idle_forever_stays_down_until_reset() {
    let l = lab("rlb", "100 idle-forever", 101);
    closed_on_the_limit(&l);
    std::thread::sleep(Duration::from_secs(6));
    let p = l.t.peer("10.0.0.2");
    assert_eq!(p["state"], "Idle", "{p}");
    // Fewer routes now: a reset brings the session back, and it stays.
    l.f_ns.sh("ip route del blackhole 198.18.100.0/24");
    let mut c = tern_api::Blocking::connect(&l.t.control).unwrap();
    let id = c.open_session("test").unwrap().session;
    let r = c.execute(id, "reset bgp 10.0.0.2", false).unwrap();
    assert!(r.error.is_none(), "{r:?}");
    l.t.wait_established("10.0.0.2", Duration::from_secs(30));
    assert!(
        wait_for(Duration::from_secs(20), || held(&l.t) == 100),
        "{}",
        l.t.peer("10.0.0.2")
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(l.t.state("10.0.0.2"), "Established");
}

#[test]
fn alert_only_keeps_the_session_and_refuses_new_routes_past_the_limit() {
    let l = lab("rlc", "100 alert-only", 100);
    l.t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || held(&l.t) == 100),
        "{}",
        l.t.peer("10.0.0.2")
    );
    assert!(
        wait_for(Duration::from_secs(10), || l
            .t
            .log_text()
            .contains("route limit reached")),
        "{}",
        l.t.log_text()
    );
    // Twenty more: none taken, the session stays.
    add_routes(&l.f_ns, 100, 120);
    let sent = wait_for(Duration::from_secs(20), || {
        frr_neighbor(&l.f)["addressFamilyInfo"]["ipv4Unicast"]["sentPrefixCounter"]
            .as_u64()
            .is_some_and(|n| n >= 120)
    });
    assert!(sent, "{}", frr_neighbor(&l.f));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(held(&l.t), 100, "{}", l.t.peer("10.0.0.2"));
    assert_eq!(l.t.state("10.0.0.2"), "Established");
}
