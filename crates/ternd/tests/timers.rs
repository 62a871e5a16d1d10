//! The BGP view's timers against FRR, configured and changed by commits (RFC 4271 §4.2: the
//! hold time is the smaller of the two offered in OPEN; §8.2.2: ConnectRetry is the wait
//! before the next connection attempt).
//!
//! - Hold time: ternd T's BGP view `timer keepalive 10 hold 30` is what FRR F (offering 180)
//!   negotiates; a committed `peer X timer keepalive 15 hold 45` wins over it (the session is
//!   reset and comes back with 45); a new BGP view timer leaves that peer's session alone;
//!   `undo peer X timer keepalive hold` gives it the BGP view's timer again.
//! - ConnectRetry: F is passive (never connects), so only T's attempts bring the session up.
//!   T starts with the default 32 s; after its first attempt fails, `timer connect-retry 2`
//!   is committed, F starts 5 s later, and the session is Established within 15 s of F's
//!   start, well before the 32 s default would have tried again. A later `peer X timer
//!   connect-retry 7` is applied in place: the Established session is not reset.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root (network namespaces) and FRR.

mod common;

use std::time::{Duration, Instant};

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, tern_cli, wait_for};
use serde_json::Value;

fn t_cfg(bgp_extra: &str) -> String {
    format!(
        "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
{bgp_extra} peer 10.0.0.2 as-number 200
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
"
    )
}

fn frr_cfg(extra: &str) -> String {
    format!(
        "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
{extra} !
 address-family ipv4 unicast
  neighbor 10.0.0.1 activate
 exit-address-family
!
"
    )
}

/// Commits `lines` typed in T's BGP view.
fn commit_bgp(t: &Ternd, lines: &[&str]) {
    let mut all = vec!["system-view", "bgp 100"];
    all.extend_from_slice(lines);
    all.push("commit");
    tern_cli(&t.control, &all);
}

/// F's view of its neighbor T.
fn frr_neighbor(f: &Frr) -> Value {
    f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone()
}

/// Waits until both ends run the session with hold time `hold` (and T's keepalive `ka`).
fn negotiated(t: &Ternd, f: &Frr, hold: u64, ka: u64) {
    let ok = wait_for(Duration::from_secs(60), || {
        let p = t.peer("10.0.0.2");
        let n = frr_neighbor(f);
        p["state"] == "Established"
            && p["negotiated"]["hold_time"] == hold
            && p["negotiated"]["keepalive"] == ka
            && n["bgpState"] == "Established"
            && n["bgpTimerHoldTimeMsecs"] == hold * 1000
    });
    assert!(
        ok,
        "hold {hold} not negotiated:\nT: {}\nF: {}\n{}",
        t.peer("10.0.0.2"),
        frr_neighbor(f),
        t.log_text()
    );
    let text = t
        .display("display bgp peer 10.0.0.2 verbose", false)
        .unwrap();
    assert!(
        text.contains(&format!(
            "Negotiated: Active Hold Time: {hold} sec   Keepalive Time:{ka} sec"
        )),
        "{text}"
    );
}

#[test]
fn hold_time_follows_the_bgp_view_timer_and_a_peer_override() {
    let dir = TempDir::new("tmh");
    let t_ns = Netns::new("tmht");
    let f_ns = Netns::new("tmhf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let t = Ternd::start(
        &t_ns,
        &dir,
        "t",
        &t_cfg(" timer keepalive 10 hold 30\n"),
        &["0.0.0.0:179"],
    );
    let f = Frr::start(
        &f_ns,
        &dir,
        "f",
        &frr_cfg(" neighbor 10.0.0.1 timers connect 2\n"),
        &[],
    );

    // The BGP view's timer: F offers 180, T 30.
    negotiated(&t, &f, 30, 10);
    let text = t
        .display("display bgp peer 10.0.0.2 verbose", false)
        .unwrap();
    assert!(
        text.contains("Configured: Active Hold Time: 30 sec   Keepalive Time:10 sec"),
        "{text}"
    );

    // The peer's own timer wins.
    commit_bgp(&t, &["peer 10.0.0.2 timer keepalive 15 hold 45"]);
    negotiated(&t, &f, 45, 15);
    let ups = t.peer("10.0.0.2")["up_count"].clone();
    let f_ups = frr_neighbor(&f)["connectionsEstablished"].clone();

    // A new BGP view timer does not concern a peer with its own: no reset. A connect-retry
    // in the same commit (applied in place) shows when the commit has reached the peer.
    commit_bgp(
        &t,
        &[
            "timer keepalive 5 hold 20",
            "peer 10.0.0.2 timer connect-retry 9",
        ],
    );
    assert!(wait_for(Duration::from_secs(10), || {
        t.peer("10.0.0.2")["configured_connect_retry"] == 9
    }));
    let p = t.peer("10.0.0.2");
    assert_eq!(p["up_count"], ups, "{p}");
    assert_eq!(p["state"], "Established", "{p}");
    assert_eq!(p["negotiated"]["hold_time"], 45, "{p}");
    assert_eq!(frr_neighbor(&f)["connectionsEstablished"], f_ups);

    // Without its own, the peer follows the BGP view again.
    commit_bgp(&t, &["undo peer 10.0.0.2 timer keepalive hold"]);
    negotiated(&t, &f, 20, 5);
    let shown = tern_cli(&t.control, &["display current-configuration"]);
    assert!(shown.contains("\n timer keepalive 5 hold 20\n"), "{shown}");
    assert!(!shown.contains("peer 10.0.0.2 timer keepalive"), "{shown}");
}

#[test]
fn connect_retry_follows_the_bgp_view_timer_applied_by_a_commit() {
    let dir = TempDir::new("tmc");
    let t_ns = Netns::new("tmct");
    let f_ns = Netns::new("tmcf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", &t_cfg(""), &["0.0.0.0:179"]);
    assert_eq!(t.peer("10.0.0.2")["configured_connect_retry"], 32);

    // T's first attempt is refused (nothing listens on F's side): the next is 32 s away.
    let refused = wait_for(Duration::from_secs(10), || {
        t.peer("10.0.0.2")["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("connect"))
    });
    assert!(refused, "{}", t.peer("10.0.0.2"));
    commit_bgp(&t, &["timer connect-retry 2"]);
    assert!(
        wait_for(
            Duration::from_secs(10),
            || t.peer("10.0.0.2")["configured_connect_retry"] == 2
        ),
        "{}",
        t.peer("10.0.0.2")
    );
    let text = t
        .display("display bgp peer 10.0.0.2 verbose", false)
        .unwrap();
    assert!(text.contains("Connect-retry Time: 2 sec"), "{text}");

    // F starts late and never connects itself.
    std::thread::sleep(Duration::from_secs(5));
    let f = Frr::start(
        &f_ns,
        &dir,
        "f",
        &frr_cfg(" neighbor 10.0.0.1 passive\n"),
        &[],
    );
    let started = Instant::now();
    t.wait_established("10.0.0.2", Duration::from_secs(15));
    f.wait_established("10.0.0.1", Duration::from_secs(5));
    let ups = t.peer("10.0.0.2")["up_count"].clone();
    let within = started.elapsed();
    assert!(within < Duration::from_secs(15), "{within:?}");

    // A peer's own connect-retry: in place, the Established session stays.
    commit_bgp(&t, &["peer 10.0.0.2 timer connect-retry 7"]);
    assert!(
        wait_for(
            Duration::from_secs(10),
            || t.peer("10.0.0.2")["configured_connect_retry"] == 7
        ),
        "{}",
        t.peer("10.0.0.2")
    );
    let p = t.peer("10.0.0.2");
    assert_eq!(p["up_count"], ups, "{p}");
    assert_eq!(p["state"], "Established", "{p}");
    assert_eq!(frr_neighbor(&f)["bgpState"], "Established");
    let shown = tern_cli(&t.control, &["display current-configuration"]);
    assert!(
        shown.contains("\n timer connect-retry 2\n")
            && shown.contains("\n peer 10.0.0.2 timer connect-retry 7\n"),
        "{shown}"
    );
}
