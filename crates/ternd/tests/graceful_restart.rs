//! Graceful restart (RFC 4724), ternd helping a restarting FRR: ternd T (AS 100,
//! `graceful-restart`) learns a route from FRR F (AS 200, `bgp graceful-restart` with
//! `preserve-fw-state`, restart time 8 s) and installs it in its kernel.
//!
//! - F's bgpd killed with SIGKILL (no NOTIFICATION, its TCP connection just closes): T keeps
//!   the route, marked stale (`S` in the display), still selected and still in the kernel.
//! - F's bgpd started again: the session comes back, F announces the route and End-of-RIB,
//!   and T holds it, no longer stale.
//! - F killed again and left down: after F's restart time T purges the route, from its table
//!   and its kernel.
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
bgp 100
 router-id 10.0.0.1
 graceful-restart
 graceful-restart timer wait-for-rib 30
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
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
 bgp graceful-restart
 bgp graceful-restart preserve-fw-state
 bgp graceful-restart restart-time 8
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 unicast
  redistribute kernel
  neighbor 10.0.0.1 activate
 exit-address-family
!
";

const PREFIX: &str = "203.0.113.0/24";

fn route(t: &Ternd) -> Option<Value> {
    let text = t.display("display bgp routing-table", true).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["routes"]
        .as_array()?
        .iter()
        .find(|r| r["prefix"] == PREFIX && r["from"] == "10.0.0.2")
        .cloned()
}

fn installed(ns: &Netns) -> bool {
    ns.sh("ip route show proto 186").contains(PREFIX)
}

#[test]
fn a_restarting_frr_keeps_its_routes_on_ternd_until_end_of_rib_or_its_restart_time() {
    let dir = TempDir::new("gr");
    let t_ns = Netns::new("grt");
    let f_ns = Netns::new("grf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    f_ns.sh(&format!("ip route add blackhole {PREFIX}"));
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let mut f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    let show = |t: &Ternd| {
        format!(
            "{}\nkernel:\n{}\n--- T log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            t_ns.sh("ip route"),
            t.log_text()
        )
    };
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || route(&t).is_some()
            && installed(&t_ns)),
        "{}",
        show(&t)
    );
    let n = f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone();
    assert!(
        n["neighborCapabilities"]["gracefulRestart"]
            .as_str()
            .is_some_and(|s| s.contains("Received")),
        "F did not see T's graceful restart capability: {}",
        n["neighborCapabilities"]
    );

    // What T read of F's capability: its restart time and forwarding state kept.
    let p = t.peer("10.0.0.2");
    let g = &p["negotiated"]["graceful_restart"];
    assert_eq!(g["restart_time"], 8, "{p}");
    assert_eq!(
        g["families"],
        serde_json::json!([["ipv4-unicast", true]]),
        "{p}"
    );
    let text = t
        .display("display bgp peer 10.0.0.2 verbose", false)
        .unwrap();
    assert!(
        text.contains("Restart Timer Value received from Peer: 8 seconds"),
        "{text}"
    );

    // F restarts: the route stays, stale, selected, installed.
    f.kill_bgpd();
    assert!(
        wait_for(Duration::from_secs(20), || t.state("10.0.0.2")
            != "Established"),
        "{}",
        show(&t)
    );
    let r = route(&t).unwrap_or_else(|| panic!("route dropped at the restart:\n{}", show(&t)));
    assert_eq!(r["stale"], true, "{r}");
    assert_eq!(r["best"], true, "{r}");
    assert!(installed(&t_ns), "{}", show(&t));
    let text = t.display("display bgp routing-table", false).unwrap();
    assert!(
        text.lines().any(|l| l.contains(" *> S 203.0.113.0/24")),
        "{text}"
    );

    // F is back: End-of-RIB, the route is fresh again.
    f.start_bgpd();
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || route(&t)
            .is_some_and(|r| r["stale"] == false)),
        "still stale after F's End-of-RIB:\n{}",
        show(&t)
    );
    assert!(t.log_text().contains("End-of-RIB after a restart"));
    assert!(installed(&t_ns));

    // F restarts and never comes back: after its restart time (8 s) the route goes.
    f.kill_bgpd();
    assert!(
        wait_for(Duration::from_secs(20), || t.state("10.0.0.2")
            != "Established"),
        "{}",
        show(&t)
    );
    assert!(
        route(&t).is_some_and(|r| r["stale"] == true),
        "{}",
        show(&t)
    );
    assert!(
        wait_for(Duration::from_secs(20), || route(&t).is_none()
            && !installed(&t_ns)),
        "stale route not purged after the restart time:\n{}",
        show(&t)
    );
    assert!(t.log_text().contains("restart time over"));
}

const T_RESTARTING_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
ip route-static 192.0.2.0 255.255.255.0 NULL0
#
bgp 100
 router-id 10.0.0.1
 graceful-restart
 graceful-restart timer wait-for-rib 20
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  network 192.0.2.0 255.255.255.0
  peer 10.0.0.2 enable
#
return
";

const FRR_HELPER_CFG: &str = "frr defaults traditional
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

/// F's paths to `prefix` (JSON).
fn frr_paths(f: &Frr, prefix: &str) -> Vec<Value> {
    f.json(&format!("show bgp ipv4 unicast {prefix} json"))["paths"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn ternd_killed_and_started_again_restarts_gracefully() {
    let dir = TempDir::new("grs");
    let t_ns = Netns::new("grst");
    let f_ns = Netns::new("grsf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    f_ns.sh("ip route add blackhole 203.0.113.0/24; ip route add blackhole 198.51.100.0/24");
    let mut t = Ternd::start(&t_ns, &dir, "t", T_RESTARTING_CFG, &["0.0.0.0:179"]);
    let f = Frr::start(&f_ns, &dir, "f", FRR_HELPER_CFG, &[]);
    let kernel = || t_ns.sh("ip route show proto 186");
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || {
            let k = kernel();
            k.contains("203.0.113.0/24") && k.contains("198.51.100.0/24")
        }),
        "{}\n{}",
        kernel(),
        t.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(30), || !frr_paths(&f, "192.0.2.0/24")
            .is_empty()),
        "F did not get T's route"
    );
    let n = f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone();
    assert_eq!(
        n["neighborCapabilities"]["gracefulRestart"], "advertisedAndReceived",
        "{n}"
    );
    assert_eq!(n["gracefulRestartInfo"]["remoteGrMode"], "Restart", "{n}");
    assert_eq!(
        n["gracefulRestartInfo"]["rBit"], false,
        "a fresh start: {n}"
    );

    // T dies without a word.
    let _ = t.child.kill();
    let _ = t.child.wait();
    assert!(
        wait_for(Duration::from_secs(20), || f
            .json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"]["bgpState"]
            != "Established"),
        "F did not see T go"
    );
    // F keeps T's route, stale; T's kernel keeps F's routes.
    let p = frr_paths(&f, "192.0.2.0/24");
    assert!(
        p.first().is_some_and(|p| p["stale"] == true),
        "F dropped T's route or did not mark it stale: {p:?}"
    );
    let k = kernel();
    assert!(
        k.contains("203.0.113.0/24") && k.contains("198.51.100.0/24"),
        "{k}"
    );
    // While T is down, F stops announcing one of its routes.
    f_ns.sh("ip route del blackhole 198.51.100.0/24");

    // T again, with the same configuration: a graceful restart.
    let t2 = Ternd::start(&t_ns, &dir, "t2", T_RESTARTING_CFG, &["0.0.0.0:179"]);
    assert!(
        t2.log_text().contains("this router restarts"),
        "{}",
        t2.log_text()
    );
    assert!(
        kernel().contains("203.0.113.0/24"),
        "kept through the start"
    );
    t2.wait_established("10.0.0.2", Duration::from_secs(60));
    let n = f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone();
    assert!(
        n["gracefulRestartInfo"]["rBit"] == true
            || n["gracefulRestartInfo"]["remoteGrMode"] == "Restart",
        "F did not read T's Restart State: {}",
        n["gracefulRestartInfo"]
    );
    // After the End-of-RIBs: F's route fresh at F, the one F dropped gone from T's kernel,
    // the other still there (never removed).
    assert!(
        wait_for(Duration::from_secs(30), || !kernel()
            .contains("198.51.100.0/24")),
        "not reconciled:\n{}\n{}",
        kernel(),
        t2.log_text()
    );
    assert!(kernel().contains("203.0.113.0/24"), "{}", kernel());
    assert!(
        t2.log_text()
            .contains("kernel routes from before the restart reconciled")
    );
    assert!(
        wait_for(Duration::from_secs(30), || frr_paths(&f, "192.0.2.0/24")
            .first()
            .is_some_and(|p| p["stale"] != true)),
        "T's route still stale at F: {:?}",
        frr_paths(&f, "192.0.2.0/24")
    );
}

#[test]
fn a_graceful_reset_keeps_the_routes_at_the_peer() {
    let dir = TempDir::new("grr");
    let t_ns = Netns::new("grrt");
    let f_ns = Netns::new("grrf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_RESTARTING_CFG, &["0.0.0.0:179"]);
    let f = Frr::start(&f_ns, &dir, "f", FRR_HELPER_CFG, &[]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || !frr_paths(&f, "192.0.2.0/24")
            .is_empty()),
        "F did not get T's route"
    );
    let n = f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone();
    let notes = n["messageStats"]["notificationsRecv"].as_u64();
    let dropped = n["connectionsDropped"].as_u64().unwrap_or(0);
    let mut c = tern_api::Blocking::connect(&t.control).unwrap();
    let id = c.open_session("test").unwrap().session;
    let r = c.execute(id, "reset bgp 10.0.0.2 graceful", false).unwrap();
    assert!(r.error.is_none(), "{r:?}");
    // F saw the connection go without a NOTIFICATION and kept T's route, stale.
    let mut stale_seen = false;
    let back = wait_for(Duration::from_secs(60), || {
        stale_seen |= frr_paths(&f, "192.0.2.0/24")
            .first()
            .is_some_and(|p| p["stale"] == true);
        let n = f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone();
        n["connectionsDropped"].as_u64().unwrap_or(0) > dropped && n["bgpState"] == "Established"
    });
    assert!(back, "the session did not come back:\n{}", t.log_text());
    let n = f.json("show bgp neighbors 10.0.0.1 json")["10.0.0.1"].clone();
    assert_eq!(
        n["messageStats"]["notificationsRecv"].as_u64(),
        notes,
        "{n}"
    );
    assert!(stale_seen, "F did not keep T's route as stale meanwhile");
    assert!(
        wait_for(Duration::from_secs(30), || frr_paths(&f, "192.0.2.0/24")
            .first()
            .is_some_and(|p| p["stale"] != true)),
        "T's route still stale at F"
    );
}
