//! Routes through the RIB task: FRR (AS 200) announces IPv4 unicast, VPNv4 and VPNv6 routes
//! to ternd (AS 100) over one EBGP session; they must appear in ternd's routing-table
//! displays (JSON and VRP text) with their RD, label, prefix and next hop (VPNv6 over an IPv4
//! session: `::ffff:a.b.c.d`), and be withdrawn when FRR dies and the session goes down.
//!
//! Topology: ternd 10.0.0.1/24 ── FRR 10.0.0.2/24. Needs root (network namespaces) and FRR.

mod common;

use std::process::Child;
use std::time::Duration;

use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

const TERN_CFG: &str = "sysname tern
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
 ipv4-family vpnv4
  undo policy vpn-target
  peer 10.0.0.2 enable
 #
 ipv6-family vpnv6
  undo policy vpn-target
  peer 10.0.0.2 enable
#
return
";

const FRR_CFG: &str = "frr defaults traditional
hostname frr
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 unicast
  network 192.0.2.0/24
  neighbor 10.0.0.1 activate
 exit-address-family
 !
 address-family ipv4 vpn
  network 10.1.0.0/16 rd 200:1 label 100
  neighbor 10.0.0.1 activate
 exit-address-family
 !
 address-family ipv6 vpn
  network 2001:db8:a::/48 rd 200:1 label 1000
  neighbor 10.0.0.1 activate
 exit-address-family
exit
!
";

/// FRR's bgpd, killed and reaped on drop.
struct Bgpd(Child);

impl Drop for Bgpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn table(ternd: &Ternd, command: &str) -> Value {
    let text = ternd
        .display(command, true)
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
}

fn routes(t: &Value) -> Vec<Value> {
    t["routes"].as_array().cloned().unwrap_or_default()
}

fn find(t: &Value, prefix: &str) -> Option<Value> {
    routes(t).into_iter().find(|r| r["prefix"] == prefix)
}

#[test]
fn frr_routes_in_the_tables_and_withdrawn_on_peer_down() {
    let tern_ns = Netns::new("rt");
    let frr_ns = Netns::new("rf");
    link(&tern_ns, &["10.0.0.1/24"], &frr_ns, &["10.0.0.2/24"]);
    let dir = TempDir::new("routes");
    let ternd = Ternd::start(&tern_ns, &dir, "ternd", TERN_CFG, &["0.0.0.0:179"]);

    let cfg = dir.write("bgpd.conf", FRR_CFG);
    let vty = dir.path("vty");
    std::fs::create_dir_all(&vty).expect("vty dir");
    let log = dir.path("bgpd.log");
    let pid = dir.path("bgpd.pid");
    let (cfg_s, vty_s, pid_s) = (
        cfg.display().to_string(),
        vty.display().to_string(),
        pid.display().to_string(),
    );
    let log_opt = format!("file:{}", log.display());
    // -Z: no zebra; -S: stay root; -P 0: no TCP vty.
    let mut bgpd = Bgpd(frr_ns.spawn(
        &[
            "/usr/lib/frr/bgpd",
            "-Z",
            "-S",
            "-P",
            "0",
            "-f",
            &cfg_s,
            "-i",
            &pid_s,
            "--vty_socket",
            &vty_s,
            "--log",
            &log_opt,
        ],
        &dir.path("bgpd.out"),
    ));
    let logs = || {
        format!(
            "--- ternd ---\n{}\n--- bgpd ---\n{}",
            ternd.log_text(),
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    };

    ternd.wait_established("10.0.0.2", Duration::from_secs(60));
    let v4 = "display bgp routing-table";
    let vpn4 = "display bgp vpnv4 all routing-table";
    let vpn6 = "display bgp vpnv6 all routing-table";
    let arrived = wait_for(Duration::from_secs(30), || {
        find(&table(&ternd, v4), "192.0.2.0/24").is_some()
            && find(&table(&ternd, vpn4), "10.1.0.0/16").is_some()
            && find(&table(&ternd, vpn6), "2001:db8:a::/48").is_some()
    });
    if !arrived {
        panic!(
            "routes did not arrive:\n{}\n{}\n{}\n{}",
            table(&ternd, v4),
            table(&ternd, vpn4),
            table(&ternd, vpn6),
            logs()
        );
    }

    let t = table(&ternd, v4);
    assert_eq!(t["family"], "ipv4-unicast");
    assert_eq!(t["local_as"], 100);
    let r = find(&t, "192.0.2.0/24").unwrap();
    assert_eq!(r["next_hop"], "10.0.0.2", "{r}");
    assert_eq!(r["rd"], Value::Null, "{r}");
    assert_eq!(r["as_path"], "200", "{r}");
    assert_eq!(r["origin"], "i", "{r}");
    assert_eq!(r["best"], true, "{r}");
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(r["internal"], false, "{r}");
    assert_eq!(r["from"], "10.0.0.2", "{r}");

    let r = find(&table(&ternd, vpn4), "10.1.0.0/16").unwrap();
    assert_eq!(r["rd"], "200:1", "{r}");
    assert_eq!(r["labels"], serde_json::json!([100]), "{r}");
    assert_eq!(r["next_hop"], "10.0.0.2", "{r}");
    assert_eq!(r["best"], true, "{r}");

    let r = find(&table(&ternd, vpn6), "2001:db8:a::/48").unwrap();
    assert_eq!(r["rd"], "200:1", "{r}");
    assert_eq!(r["labels"], serde_json::json!([1000]), "{r}");
    assert_eq!(r["next_hop"], "::ffff:10.0.0.2", "{r}");
    assert_eq!(r["best"], true, "{r}");

    // The same in VRP's text layout.
    let text = ternd.display(v4, false).unwrap();
    eprintln!("{text}");
    assert!(
        text.contains(" BGP Local router ID is 10.0.0.1\n"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(" *>   192.0.2.0/24       10.0.0.2") && l.ends_with("200i")),
        "{text}"
    );
    let text = ternd.display(vpn4, false).unwrap();
    eprintln!("{text}");
    assert!(text.contains(" Route Distinguisher: 200:1\n"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(" *>   10.1.0.0/16        10.0.0.2")),
        "{text}"
    );
    let text = ternd.display(vpn6, false).unwrap();
    eprintln!("{text}");
    assert!(text.contains(" Route Distinguisher: 200:1\n"), "{text}");
    assert!(text.contains(" *>  Network  : 2001:DB8:A::"), "{text}");
    assert!(text.contains("     NextHop  : ::FFFF:10.0.0.2 "), "{text}");
    assert!(text.contains("     Label    : 1000\n"), "{text}");

    // The peer display's count agrees with the RIB.
    let p = ternd.peer("10.0.0.2");
    assert_eq!(p["prefixes"]["vpnv6"], 1, "{p}");

    // FRR dies: the session goes down and every route it sent is withdrawn.
    let _ = bgpd.0.kill();
    let _ = bgpd.0.wait();
    let gone = wait_for(Duration::from_secs(40), || {
        routes(&table(&ternd, v4)).is_empty()
            && routes(&table(&ternd, vpn4)).is_empty()
            && routes(&table(&ternd, vpn6)).is_empty()
    });
    assert!(
        gone,
        "routes still present after the peer went down:\n{}\n{}\n{}\n{}",
        table(&ternd, v4),
        table(&ternd, vpn4),
        table(&ternd, vpn6),
        logs()
    );
    assert_ne!(ternd.state("10.0.0.2"), "Established");
}
