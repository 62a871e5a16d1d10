//! BMP (RFC 7854) against pmacct's collector `pmbmpd`: FRR F (AS 200) announces 1000 routes to
//! ternd T (AS 100), which reports to pmbmpd on 127.0.0.1 in T's namespace.
//!
//! - pmbmpd logs T's Initiation (sysName), F's Peer Up (address, AS), and as many distinct
//!   routes in Route Monitoring messages as `display bgp peer` counts for F;
//! - a collector that connects while F is already up gets the held table (replayed);
//! - Statistics Reports carry the Adj-RIB-In count (type 7);
//! - F stopping shows as a Peer Down; `display bmp session` shows the session Up.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root (network namespaces), FRR and pmacct.

mod common;

use std::collections::BTreeSet;
use std::process::Child;
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

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

fn t_cfg(port: u16, timer: u16) -> String {
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
#
bmp
 statistics-timer {timer}
 bmp-session 127.0.0.1
  tcp connect port {port}
  monitor public
   route-mode ipv4-family unicast adj-rib-in pre-policy
#
return
"
    )
}

/// pmbmpd, killed on drop.
struct Pmbmpd {
    child: Child,
    log: std::path::PathBuf,
    out: std::path::PathBuf,
}

impl Pmbmpd {
    fn start(ns: &Netns, dir: &TempDir, name: &str, port: u16) -> Pmbmpd {
        let out = dir.path(&format!("{name}.json"));
        let log = dir.path(&format!("{name}.log"));
        let conf = dir.write(
            &format!("{name}.conf"),
            &format!(
                "bmp_daemon_ip: 127.0.0.1\nbmp_daemon_port: {port}\nbmp_daemon_msglog_file: {}\nbmp_daemon_msglog_output: json\nlogfile: {}\n",
                out.display(),
                dir.path(&format!("{name}.daemon.log")).display()
            ),
        );
        let child = ns.spawn(&["pmbmpd", "-f", &conf.display().to_string()], &log);
        let p = Pmbmpd { child, log, out };
        let listening = wait_for(Duration::from_secs(10), || {
            ns.sh(&format!("ss -ltn 'sport = :{port}'"))
                .contains("LISTEN")
        });
        assert!(listening, "pmbmpd did not listen: {}", p.text_log());
        p
    }

    fn text_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every message logged so far.
    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn of_type(&self, t: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["bmp_msg_type"] == t)
            .collect()
    }

    /// Distinct prefixes announced in Route Monitoring messages (pre-policy).
    fn prefixes(&self) -> BTreeSet<String> {
        self.of_type("route_monitor")
            .iter()
            .filter(|m| m["log_type"] == "update")
            .filter_map(|m| m["ip_prefix"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Pmbmpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_routes(ns: &Netns, n: u32) {
    let script: String = (0..n)
        .map(|i| format!("ip route add blackhole 198.18.{}.{}/32; ", i / 256, i % 256))
        .collect();
    ns.sh(&script);
}

fn held(t: &Ternd) -> u64 {
    t.peer("10.0.0.2")["prefixes"]["ipv4-unicast"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn peer_up_routes_statistics_and_peer_down_reach_pmbmpd() {
    let dir = TempDir::new("bmpa");
    let t_ns = Netns::new("bmpat");
    let f_ns = Netns::new("bmpaf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    add_routes(&f_ns, 1000);
    let c = Pmbmpd::start(&t_ns, &dir, "c", 5000);
    let t = Ternd::start(&t_ns, &dir, "t", &t_cfg(5000, 15), &["0.0.0.0:179"]);
    let mut f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || held(&t) == 1000),
        "{}",
        t.peer("10.0.0.2")
    );

    // Initiation and Peer Up.
    let init = wait_for(Duration::from_secs(10), || !c.of_type("init").is_empty());
    assert!(init, "no initiation: {:?}", c.messages());
    let i = &c.of_type("init")[0];
    assert_eq!(i["bmp_init_info_sysname"], "T", "{i}");
    let up = wait_for(Duration::from_secs(10), || !c.of_type("peer_up").is_empty());
    assert!(up, "no peer up: {:?}", c.messages());
    let u = &c.of_type("peer_up")[0];
    assert_eq!(u["peer_ip"], "10.0.0.2", "{u}");
    assert_eq!(u["peer_asn"], 200, "{u}");
    assert_eq!(u["local_ip"], "10.0.0.1", "{u}");
    assert_eq!(u["bgp_id"], "10.0.0.2", "{u}");
    assert!(u["local_port"] == 179 || u["remote_port"] == 179, "{u}");

    // Every route F sent, as ternd counts them.
    let routes = wait_for(Duration::from_secs(30), || c.prefixes().len() == 1000);
    assert!(routes, "pmbmpd saw {} routes", c.prefixes().len());
    assert_eq!(c.prefixes().len() as u64, held(&t));

    // A second collector that connects now gets the table held for F.
    let c2 = Pmbmpd::start(&t_ns, &dir, "c2", 5001);
    let mut ctl = tern_api::Blocking::connect(&t.control).unwrap();
    let id = ctl.open_session("test").unwrap().session;
    for l in [
        "system-view",
        "bmp",
        "bmp-session 127.0.0.1 alias second",
        "tcp connect port 5001",
        "monitor public",
        "route-mode ipv4-family unicast adj-rib-in pre-policy",
        "commit",
    ] {
        let r = ctl.execute(id, l, false).unwrap();
        assert!(r.error.is_none(), "{l}: {r:?}");
    }
    let replayed = wait_for(Duration::from_secs(30), || c2.prefixes().len() == 1000);
    assert!(
        replayed,
        "second collector saw {} routes",
        c2.prefixes().len()
    );
    assert_eq!(c2.of_type("peer_up").len(), 1);

    // Statistics: Adj-RIB-In routes (type 7).
    let stats = wait_for(Duration::from_secs(40), || {
        c.of_type("stats")
            .iter()
            .any(|s| s["counter_type"] == 7 && s["counter_value"] == 1000)
    });
    assert!(stats, "{:?}", c.of_type("stats"));

    let text = t.display("display bmp session", false).unwrap();
    assert!(text.contains("Total number of BMP session : 2"), "{text}");
    assert!(text.contains(" Session in up state : 2"), "{text}");
    let text = t
        .display("display bmp session 127.0.0.1 verbose", false)
        .unwrap();
    assert!(text.contains("BMP session 127.0.0.1, port 5000"), "{text}");
    assert!(text.contains("Current state: Up"), "{text}");
    assert!(text.contains("    10.0.0.2 (in pre-policy)"), "{text}");

    // F goes away: Peer Down.
    f.kill_bgpd();
    let down = wait_for(Duration::from_secs(60), || {
        !c.of_type("peer_down").is_empty()
    });
    assert!(down, "no peer down: {:?}", c.of_type("peer_down"));
    let d = &c.of_type("peer_down")[0];
    assert_eq!(d["peer_ip"], "10.0.0.2", "{d}");
    assert!(!c2.of_type("peer_down").is_empty());
}

#[test]
fn a_collector_that_goes_away_is_connected_again_and_gets_the_table() {
    let dir = TempDir::new("bmpb");
    let t_ns = Netns::new("bmpbt");
    let f_ns = Netns::new("bmpbf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    add_routes(&f_ns, 300);
    let t = Ternd::start(&t_ns, &dir, "t", &t_cfg(5000, 3600), &["0.0.0.0:179"]);
    let _f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(wait_for(Duration::from_secs(30), || held(&t) == 300));
    // No collector yet: the session stays down, BGP is not held up.
    let text = t.display("display bmp session", false).unwrap();
    assert!(text.contains(" Session in up state : 0"), "{text}");
    // The collector appears: within the retry time it gets the peer and its routes.
    let c = Pmbmpd::start(&t_ns, &dir, "c", 5000);
    let got = wait_for(Duration::from_secs(40), || c.prefixes().len() == 300);
    assert!(got, "collector saw {} routes", c.prefixes().len());
    drop(c);
    // Gone and back: a full report again.
    std::thread::sleep(Duration::from_secs(1));
    let c = Pmbmpd::start(&t_ns, &dir, "c3", 5000);
    let got = wait_for(Duration::from_secs(40), || c.prefixes().len() == 300);
    assert!(got, "collector saw {} routes", c.prefixes().len());
    assert_eq!(t.state("10.0.0.2"), "Established");
}

/// The routes of the Loc-RIB instance peer (RFC 9069: peer type 3) a collector holds: the
/// announcements and withdrawals it logged, in order.
fn loc_rib_prefixes(c: &Pmbmpd) -> BTreeSet<String> {
    logged_prefixes(c, |m| m["is_loc"] == 1)
}

/// The prefixes of the Route Monitoring messages `keep` selects, announcements and
/// withdrawals applied in the order they were logged.
fn logged_prefixes(c: &Pmbmpd, keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    let mut held = BTreeSet::new();
    for m in c.of_type("route_monitor").iter().filter(|m| keep(m)) {
        let Some(p) = m["ip_prefix"].as_str() else {
            continue;
        };
        match m["log_type"].as_str() {
            Some("update") => {
                held.insert(p.to_owned());
            }
            Some("withdraw") => {
                held.remove(p);
            }
            _ => {}
        }
    }
    held
}

fn routing_table_count(t: &Ternd) -> usize {
    let text = t
        .display("display bgp routing-table statistics", false)
        .unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Total Number of Routes:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
}

#[test]
fn the_loc_rib_is_reported_as_it_changes_and_whole_to_a_new_collector() {
    let dir = TempDir::new("bmpl");
    let t_ns = Netns::new("bmplt");
    let f_ns = Netns::new("bmplf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    add_routes(&f_ns, 1000);
    let c = Pmbmpd::start(&t_ns, &dir, "c", 5000);
    // The import policy refuses 198.18.3.0/24's routes: not in the Loc-RIB.
    let cfg = t_cfg(5000, 3600)
        .replace(
            "   route-mode ipv4-family unicast adj-rib-in pre-policy\n",
            "   route-mode ipv4-family unicast local-rib\n",
        )
        .replace(
            "  peer 10.0.0.2 enable\n",
            "  peer 10.0.0.2 enable\n  peer 10.0.0.2 route-policy keep import\n",
        )
        .replace(
            "bgp 100\n",
            "ip ip-prefix three index 10 permit 198.18.3.0 24 greater-equal 24 less-equal 32\n#\nroute-policy keep deny node 10\n if-match ip-prefix three\n#\nroute-policy keep permit node 20\n#\nbgp 100\n",
        );
    let t = Ternd::start(&t_ns, &dir, "t", &cfg, &["0.0.0.0:179"]);
    let _f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(wait_for(Duration::from_secs(30), || held(&t) == 1000));
    // 198.18.0.0 to 198.18.3.231: the 232 of 198.18.3.0/24 are refused.
    let best = 1000 - 232;
    assert!(
        wait_for(Duration::from_secs(30), || routing_table_count(&t) == best),
        "{}",
        routing_table_count(&t)
    );

    // The first collector was there from the start: it saw each best path come.
    let got = wait_for(Duration::from_secs(30), || {
        loc_rib_prefixes(&c).len() == best
    });
    assert!(
        got,
        "collector saw {} Loc-RIB routes: {:?}",
        loc_rib_prefixes(&c).len(),
        c.messages().iter().rev().take(3).collect::<Vec<_>>()
    );
    assert!(
        !loc_rib_prefixes(&c)
            .iter()
            .any(|p| p.starts_with("198.18.3."))
    );
    let up: Vec<Value> = c
        .of_type("peer_up")
        .into_iter()
        .filter(|m| m["is_loc"] == 1)
        .collect();
    assert_eq!(up.len(), 1, "{:?}", c.of_type("peer_up"));
    assert_eq!(up[0]["peer_asn"], 100, "{}", up[0]);
    assert_eq!(up[0]["bgp_id"], "10.0.0.1", "{}", up[0]);
    // Only the Loc-RIB is monitored: no pre-policy routes of F.
    assert!(
        c.of_type("route_monitor").iter().all(|m| m["is_loc"] == 1),
        "{:?}",
        c.of_type("route_monitor").first()
    );

    // A second collector gets the table as it stands.
    let c2 = Pmbmpd::start(&t_ns, &dir, "c2", 5001);
    let mut ctl = tern_api::Blocking::connect(&t.control).unwrap();
    let id = ctl.open_session("test").unwrap().session;
    for l in [
        "system-view",
        "bmp",
        "bmp-session 127.0.0.1 alias second",
        "tcp connect port 5001",
        "monitor public",
        "route-mode ipv4-family unicast local-rib",
        "commit",
    ] {
        let r = ctl.execute(id, l, false).unwrap();
        assert!(r.error.is_none(), "{l}: {r:?}");
    }
    let got = wait_for(Duration::from_secs(30), || {
        loc_rib_prefixes(&c2).len() == best
    });
    assert!(got, "second collector saw {}", loc_rib_prefixes(&c2).len());
    assert_eq!(loc_rib_prefixes(&c2), loc_rib_prefixes(&c));

    // Withdrawals reach both.
    let script: String = (0..100)
        .map(|i| format!("ip route del blackhole 198.18.0.{i}/32; "))
        .collect();
    f_ns.sh(&script);
    for x in [&c, &c2] {
        let gone = wait_for(Duration::from_secs(30), || {
            loc_rib_prefixes(x).len() == best - 100
        });
        assert!(gone, "{}", loc_rib_prefixes(x).len());
    }
    assert_eq!(routing_table_count(&t), best - 100);
    let text = t
        .display("display bmp session 127.0.0.1 verbose", false)
        .unwrap();
    assert!(text.contains("    global (local-rib)"), "{text}");
}

/// The prefixes a collector saw announced to `peer` (Adj-RIB-Out post-policy, RFC 8671),
/// withdrawals applied in order.
fn sent_prefixes(c: &Pmbmpd, peer: &str) -> BTreeSet<String> {
    logged_prefixes(c, |m| m["is_out"] == 1 && m["peer_ip"] == peer)
}

/// The prefixes an FRR router holds from `from`.
fn frr_prefixes_from(f: &Frr, from: &str) -> BTreeSet<String> {
    let v = f.json("show bgp ipv4 unicast json");
    v["routes"]
        .as_object()
        .map(|routes| {
            routes
                .iter()
                .filter(|(_, paths)| {
                    paths
                        .as_array()
                        .is_some_and(|ps| ps.iter().any(|p| p["peerId"] == from))
                })
                .map(|(p, _)| p.clone())
                .collect()
        })
        .unwrap_or_default()
}

const G_CFG: &str = "frr defaults traditional
hostname g
!
router bgp 300
 bgp router-id 10.0.1.2
 no bgp ebgp-requires-policy
 neighbor 10.0.1.1 remote-as 100
 neighbor 10.0.1.1 timers 10 30
 neighbor 10.0.1.1 timers connect 2
 !
 address-family ipv4 unicast
  neighbor 10.0.1.1 activate
 exit-address-family
!
";

#[test]
fn what_a_peer_is_sent_is_reported_after_export_policy() {
    let dir = TempDir::new("bmpo");
    let t_ns = Netns::new("bmpot");
    let f_ns = Netns::new("bmpof");
    let g_ns = Netns::new("bmpog");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    link(&t_ns, &["10.0.1.1/24"], &g_ns, &["10.0.1.2/24"]);
    add_routes(&f_ns, 1000);
    let c = Pmbmpd::start(&t_ns, &dir, "c", 5000);
    // F's routes go on to G, but for 198.18.3.0/24's (the export policy towards G).
    let cfg = t_cfg(5000, 3600)
        .replace(
            "   route-mode ipv4-family unicast adj-rib-in pre-policy\n",
            "   route-mode ipv4-family unicast adj-rib-out post-policy\n",
        )
        .replace(
            " peer 10.0.0.2 timer keepalive 10 hold 30\n",
            " peer 10.0.0.2 timer keepalive 10 hold 30\n peer 10.0.1.2 as-number 300\n peer 10.0.1.2 timer keepalive 10 hold 30\n",
        )
        .replace(
            "  peer 10.0.0.2 enable\n",
            "  peer 10.0.0.2 enable\n  peer 10.0.1.2 enable\n  peer 10.0.1.2 route-policy out export\n",
        )
        .replace(
            "interface GigabitEthernet0/0/0\n ip address 10.0.0.1 255.255.255.0\n",
            "interface GigabitEthernet0/0/0\n ip address 10.0.0.1 255.255.255.0\n#\ninterface GigabitEthernet0/0/1\n ip address 10.0.1.1 255.255.255.0\n",
        )
        .replace(
            "bgp 100\n",
            "ip ip-prefix three index 10 permit 198.18.3.0 24 greater-equal 24 less-equal 32\n#\nroute-policy out deny node 10\n if-match ip-prefix three\n#\nroute-policy out permit node 20\n#\nbgp 100\n",
        );
    let t = Ternd::start(&t_ns, &dir, "t", &cfg, &["0.0.0.0:179"]);
    let _f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    let g = Frr::start(&g_ns, &dir, "g", G_CFG, &[]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    t.wait_established("10.0.1.2", Duration::from_secs(60));
    // 198.18.0.0 to 198.18.3.231: the 232 of 198.18.3.0/24 are not sent to G.
    let sent = 1000 - 232;
    let g_has = wait_for(Duration::from_secs(30), || {
        frr_prefixes_from(&g, "10.0.1.1").len() == sent
    });
    assert!(g_has, "G holds {}", frr_prefixes_from(&g, "10.0.1.1").len());

    // What pmbmpd saw sent to G is what G holds: the routes after the export policy.
    let seen = wait_for(Duration::from_secs(30), || {
        sent_prefixes(&c, "10.0.1.2") == frr_prefixes_from(&g, "10.0.1.1")
    });
    assert!(
        seen,
        "collector saw {} sent to G, G holds {}",
        sent_prefixes(&c, "10.0.1.2").len(),
        frr_prefixes_from(&g, "10.0.1.1").len()
    );
    let out: Vec<Value> = c
        .of_type("route_monitor")
        .into_iter()
        .filter(|m| m["is_out"] == 1)
        .collect();
    assert!(out.iter().all(|m| m["is_post"] == 1), "{:?}", out.first());
    // Only the Adj-RIB-Out is monitored: nothing received is reported.
    assert!(
        c.of_type("route_monitor").iter().all(|m| m["is_out"] == 1),
        "{:?}",
        c.of_type("route_monitor").first()
    );
    // F is sent nothing back (its own routes): nothing reported as sent to F.
    assert!(sent_prefixes(&c, "10.0.0.2").is_empty());

    // A collector added now gets what G holds (the routes are sent again).
    let c2 = Pmbmpd::start(&t_ns, &dir, "c2", 5001);
    let mut ctl = tern_api::Blocking::connect(&t.control).unwrap();
    let id = ctl.open_session("test").unwrap().session;
    for l in [
        "system-view",
        "bmp",
        "bmp-session 127.0.0.1 alias second",
        "tcp connect port 5001",
        "monitor public",
        "route-mode ipv4-family unicast adj-rib-out post-policy",
        "commit",
    ] {
        let r = ctl.execute(id, l, false).unwrap();
        assert!(r.error.is_none(), "{l}: {r:?}");
    }
    let got = wait_for(Duration::from_secs(30), || {
        sent_prefixes(&c2, "10.0.1.2").len() == sent
    });
    assert!(
        got,
        "second collector saw {}",
        sent_prefixes(&c2, "10.0.1.2").len()
    );

    // Withdrawals: what F withdraws is withdrawn from G, and reported so.
    let script: String = (0..100)
        .map(|i| format!("ip route del blackhole 198.18.0.{i}/32; "))
        .collect();
    f_ns.sh(&script);
    for x in [&c, &c2] {
        let gone = wait_for(Duration::from_secs(30), || {
            sent_prefixes(x, "10.0.1.2").len() == sent - 100
        });
        assert!(gone, "{}", sent_prefixes(x, "10.0.1.2").len());
    }
    assert_eq!(
        sent_prefixes(&c, "10.0.1.2"),
        frr_prefixes_from(&g, "10.0.1.1")
    );
    let text = t
        .display("display bmp session 127.0.0.1 verbose", false)
        .unwrap();
    assert!(text.contains("    10.0.1.2 (out post-policy)"), "{text}");
}
