//! Route refresh (RFC 2918) and enhanced route refresh (RFC 7313) against FRR: ternd T
//! (AS 100) originates two IPv4 routes and sends them to FRR F (AS 200), which sends T one
//! (in the second test).
//! F's `clear bgp … soft in` sends T a ROUTE-REFRESH; T must send the routes again, framed by
//! BoRR and EoRR, on the same session (F's UPDATE counter grows, its connection count does
//! not, its table keeps both routes: an EoRR before them would have purged them).
//!
//! The operator's side: `refresh bgp X export` sends F the routes again, `refresh bgp X
//! import` sends F a ROUTE-REFRESH, `reset bgp X` closes the session with Cease /
//! Administrative Reset (RFC 4486) and it comes back.
//!
//! Receiving an enhanced refresh, against BIRD (FRR 8.4 answers a request without BoRR and
//! EoRR): T's `refresh bgp X import` makes BIRD send BoRR, its routes, EoRR, and T keeps them;
//! a BIRD export filter that stops one route, applied by `birdc configure`, re-feeds the
//! routes the same way, and T no longer holds the one left out.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root (network namespaces), FRR and BIRD.

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
  redistribute kernel
  neighbor 10.0.0.1 activate
 exit-address-family
!
";

/// Runs a user-view line on T; the VRP error text when refused.
fn run(t: &Ternd, line: &str) -> Result<String, String> {
    let mut c = tern_api::Blocking::connect(&t.control).map_err(|e| e.to_string())?;
    let id = c.open_session("test").map_err(|e| e.to_string())?.session;
    let r = c.execute(id, line, false).map_err(|e| e.to_string())?;
    let _ = c.close_session(id);
    match r.error {
        None => Ok(r.output),
        Some(e) => Err(e.text),
    }
}

/// Runs lines on T in one management session, in order; panics on a refused one.
fn run_all(t: &Ternd, lines: &[&str]) {
    let mut c = tern_api::Blocking::connect(&t.control).expect("control");
    let id = c.open_session("test").expect("session").session;
    for line in lines {
        let r = c.execute(id, line, false).expect("execute");
        assert!(r.error.is_none(), "{line}: {r:?}");
    }
    let _ = c.close_session(id);
}

/// T holds `prefix` from F.
fn t_has(t: &Ternd, prefix: &str) -> bool {
    let Ok(text) = t.display("display bgp routing-table", true) else {
        return false;
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v["routes"].as_array().is_some_and(|r| {
        r.iter()
            .any(|r| r["prefix"] == prefix && r["from"] == "10.0.0.2")
    })
}

/// T's route to `prefix` from F is selected.
fn t_best(t: &Ternd, prefix: &str) -> bool {
    let Ok(text) = t.display("display bgp routing-table", true) else {
        return false;
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v["routes"].as_array().is_some_and(|r| {
        r.iter()
            .any(|r| r["prefix"] == prefix && r["from"] == "10.0.0.2" && r["best"] == true)
    })
}

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
        caps["enhancedRouteRefresh"]
            .as_str()
            .is_some_and(|s| s.to_lowercase().contains("received")),
        "enhanced route refresh: {caps}"
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

/// Waits until F's count of UPDATEs from T stops moving; returns it.
fn settled_updates(f: &Frr) -> u64 {
    let mut before = updates_received(f);
    wait_for(Duration::from_secs(3), || {
        let now = updates_received(f);
        let same = now == before;
        before = now;
        same && now > 0
    });
    before
}

#[test]
fn the_operator_refreshes_and_resets_sessions() {
    let dir = TempDir::new("reset");
    let t_ns = Netns::new("rst");
    let f_ns = Netns::new("rsf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    // F announces a kernel route (`redistribute kernel`).
    f_ns.sh("ip route add blackhole 203.0.113.0/24");
    let show = || {
        format!(
            "--- FRR neighbor ---\n{}\n--- T table ---\n{}\n--- T log ---\n{}\n--- FRR log ---\n{}",
            neighbor(&f),
            t.display("display bgp routing-table", true)
                .unwrap_or_default(),
            t.log_text(),
            f.logs()
        )
    };
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || frr_has(&f, "192.0.2.0/24")),
        "{}",
        show()
    );
    let before = settled_updates(&f);
    let connections = neighbor(&f)["connectionsEstablished"].as_u64().unwrap_or(0);

    // Unknown peers are refused; a refresh keeps the session.
    assert_eq!(
        run(&t, "reset bgp 10.9.9.9").unwrap_err(),
        "Error: The peer does not exist."
    );
    run(&t, "refresh bgp 10.0.0.2 export").unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || updates_received(&f) > before),
        "refresh export sent nothing:\n{}",
        show()
    );
    assert!(
        wait_for(Duration::from_secs(20), || t_has(&t, "203.0.113.0/24")),
        "{}",
        show()
    );
    run(&t, "refresh bgp all import").unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || {
            neighbor(&f)["messageStats"]["routeRefreshRecv"]
                .as_u64()
                .is_some_and(|n| n >= 1)
        }),
        "no ROUTE-REFRESH reached F:\n{}",
        show()
    );

    assert_eq!(
        neighbor(&f)["connectionsEstablished"].as_u64().unwrap_or(0),
        connections
    );

    let text = t
        .display("display bgp peer 10.0.0.2 verbose", false)
        .unwrap();
    assert!(text.contains(" Last update received: "), "{text}");
    assert!(
        text.contains("Peer supports bgp enhanced route refresh capability"),
        "{text}"
    );

    // An import policy committed on T applies to what F sent, kept as received: no reset,
    // no refresh asked of F. Then taken back.
    let refreshes = neighbor(&f)["messageStats"]["routeRefreshRecv"].as_u64();
    assert!(t_best(&t, "203.0.113.0/24"), "{}", show());
    run_all(
        &t,
        &[
            "system-view",
            "route-policy IN deny node 10",
            "bgp 100",
            "ipv4-family unicast",
            "peer 10.0.0.2 route-policy IN import",
            "commit",
        ],
    );
    assert!(
        wait_for(Duration::from_secs(20), || !t_best(&t, "203.0.113.0/24")),
        "import policy not applied:\n{}",
        show()
    );
    run_all(
        &t,
        &[
            "system-view",
            "bgp 100",
            "ipv4-family unicast",
            "undo peer 10.0.0.2 route-policy IN import",
            "commit",
        ],
    );
    assert!(
        wait_for(Duration::from_secs(20), || t_best(&t, "203.0.113.0/24")),
        "import policy not taken back:\n{}",
        show()
    );
    let n = neighbor(&f);
    assert_eq!(
        n["connectionsEstablished"].as_u64().unwrap_or(0),
        connections,
        "{n}"
    );
    assert_eq!(
        n["messageStats"]["routeRefreshRecv"].as_u64(),
        refreshes,
        "{n}"
    );

    // A reset: F reads Cease / Administrative Reset, and the session comes back.
    let dropped = neighbor(&f)["connectionsDropped"].as_u64().unwrap_or(0);
    run(&t, "reset bgp external").unwrap();
    // F keeps the last NOTIFICATION's reason only: read it as soon as the session drops.
    let mut reason = String::new();
    wait_for(Duration::from_secs(10), || {
        let n = neighbor(&f);
        reason = n["lastNotificationReason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        n["connectionsDropped"].as_u64().unwrap_or(0) > dropped
    });
    assert_eq!(reason, "Cease/Administrative Reset", "{}", show());
    let back = wait_for(Duration::from_secs(60), || {
        let n = neighbor(&f);
        n["connectionsEstablished"].as_u64().unwrap_or(0) > connections
            && n["bgpState"] == "Established"
    });
    assert!(back, "the session did not come back:\n{}", show());
    // Both sides reconnect at once: a collision, resolved by RFC 4271 §6.8, never an FSM error
    // (our UPDATEs overtaking our KEEPALIVE would be one).
    let n = neighbor(&f);
    assert!(
        !n["lastErrorCodeSubcode"]
            .as_str()
            .is_some_and(|c| c.starts_with("05")),
        "{n}"
    );
    assert!(
        wait_for(Duration::from_secs(30), || frr_has(&f, "192.0.2.0/24")),
        "{}",
        show()
    );
}

/// BIRD in a namespace, killed on drop.
struct Bird(std::process::Child);

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bird_conf(log: &std::path::Path, keep_second: bool) -> String {
    let filter = if keep_second {
        "all"
    } else {
        "where net != 198.18.0.0/24"
    };
    format!(
        r#"log "{log}" all;
router id 10.0.0.2;
protocol device {{ scan time 10; }}
protocol static s4 {{ ipv4; route 203.0.113.0/24 blackhole; route 198.18.0.0/24 blackhole; }}
protocol bgp tern {{
	local 10.0.0.2 as 200;
	neighbor 10.0.0.1 as 100;
	hold time 30;
	keepalive time 10;
	connect retry time 5;
	ipv4 {{ import none; export {filter}; }};
}}
"#,
        log = log.display()
    )
}

#[test]
fn an_enhanced_refresh_from_bird_keeps_what_it_sends_again_and_purges_the_rest() {
    let dir = TempDir::new("eorr");
    let t_ns = Netns::new("ert");
    let b_ns = Netns::new("erb");
    link(&t_ns, &["10.0.0.1/24"], &b_ns, &["10.0.0.2/24"]);
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let log = dir.path("bird.log");
    let cfg = dir.write("bird.conf", &bird_conf(&log, true));
    let ctl = dir.path("bird.ctl");
    let (cfg_s, ctl_s, pid_s) = (
        cfg.display().to_string(),
        ctl.display().to_string(),
        dir.path("bird.pid").display().to_string(),
    );
    let _bird = Bird(b_ns.spawn(
        &["bird", "-f", "-c", &cfg_s, "-s", &ctl_s, "-P", &pid_s],
        &dir.path("bird.out"),
    ));
    let show = || {
        format!(
            "--- T table ---\n{}\n--- T log ---\n{}\n--- BIRD log ---\n{}",
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            t.log_text(),
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    };
    let p = t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert_eq!(p["negotiated"]["enhanced_route_refresh"], true, "{p}");
    assert!(
        wait_for(Duration::from_secs(30), || t_has(&t, "203.0.113.0/24")
            && t_has(&t, "198.18.0.0/24")),
        "{}",
        show()
    );

    // Our request: BIRD answers BoRR, both routes, EoRR; both stay.
    run(&t, "refresh bgp 10.0.0.2 import").unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || t
            .log_text()
            .contains("route refresh ends (EoRR)")),
        "no EoRR from BIRD:\n{}",
        show()
    );
    assert!(t.log_text().contains("route refresh begins (BoRR)"));
    assert!(t_has(&t, "203.0.113.0/24") && t_has(&t, "198.18.0.0/24"));

    // BIRD stops exporting one: it is gone from T (withdrawn, or purged at EoRR).
    std::fs::write(&cfg, bird_conf(&log, false)).unwrap();
    let out = std::process::Command::new("birdc")
        .arg("-s")
        .arg(&ctl)
        .arg("configure")
        .output()
        .expect("birdc");
    assert!(out.status.success(), "{out:?}");
    assert!(
        wait_for(Duration::from_secs(20), || !t_has(&t, "198.18.0.0/24")),
        "the route BIRD no longer exports is still held:\n{}",
        show()
    );
    assert!(t_has(&t, "203.0.113.0/24"), "{}", show());
    assert_eq!(t.state("10.0.0.2"), "Established");
    eprintln!(
        "{}",
        t.log_text()
            .lines()
            .filter(|l| l.contains("stale") || l.contains("EoRR") || l.contains("BoRR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
