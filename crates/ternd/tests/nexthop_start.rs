//! A kernel route that appears while ternd starts (after it reads the table, before it applies
//! the table's changes) still resolves next hops: the changes are subscribed to before the
//! read and applied after it. Before, ternd subscribed after reading, and such a route was
//! missed for good and the BGP routes whose
//! next hop it resolves stayed invalid (the vendor examples' option C solution 2 test lost a
//! VPN route this way now and then, when the lab's IGP stand-in installed a PE loopback's
//! route in that window).
//!
//! `TERN_FAULT=kernel-watch-late` holds ternd 3 s after the read, before the changes are
//! applied; the test adds the route then. FRR F (IBGP) announces 198.51.100.0/24 with next hop 192.0.2.99, reachable only
//! through that route.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root and FRR.

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
 peer 10.0.0.2 as-number 100
 peer 10.0.0.2 timer keepalive 3 hold 9
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
";

const F_CFG: &str = "frr defaults traditional
hostname f
!
route-map NH permit 10
 set ip next-hop 192.0.2.99
!
router bgp 100
 bgp router-id 10.0.0.2
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 3 9
 neighbor 10.0.0.1 timers connect 2
 !
 address-family ipv4 unicast
  network 198.51.100.0/24
  neighbor 10.0.0.1 route-map NH out
 exit-address-family
!
";

#[test]
fn a_route_added_while_ternd_starts_resolves_next_hops() {
    let dir = TempDir::new("nhs");
    let t_ns = Netns::new("nhst");
    let f_ns = Netns::new("nhsf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let _f = Frr::start(&f_ns, &dir, "f", F_CFG, &[]);
    // The route goes in once ternd has read the table, while it is held before following it.
    let log = dir.path("t.log");
    let ns_name = t_ns.name.clone();
    let adder = std::thread::spawn(move || {
        let read = wait_for(Duration::from_secs(20), || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("kernel main table read")
        });
        std::process::Command::new("ip")
            .args([
                "-n",
                &ns_name,
                "route",
                "add",
                "192.0.2.0/24",
                "via",
                "10.0.0.2",
            ])
            .status()
            .unwrap();
        read
    });
    let cfg = dir.write("t.cfg", T_CFG);
    let control = dir.path("t.sock");
    let bin = common::ternd_bin().display().to_string();
    let child = t_ns.spawn(
        &[
            "env",
            "TERN_FAULT=kernel-watch-late",
            &bin,
            "--config",
            &cfg.display().to_string(),
            "--control",
            &control.display().to_string(),
            "--log",
            "debug",
            "--listen",
            "0.0.0.0:179",
        ],
        &dir.path("t.log"),
    );
    let t = Ternd {
        child,
        control,
        log: dir.path("t.log"),
    };
    assert!(
        wait_for(Duration::from_secs(20), || t.control.exists()),
        "{}",
        t.log_text()
    );
    assert!(adder.join().unwrap(), "ternd never read the table");
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    let best = wait_for(Duration::from_secs(20), || {
        let Ok(text) = t.display("display bgp routing-table", true) else {
            return false;
        };
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        v["routes"].as_array().is_some_and(|rs| {
            rs.iter().any(|r| {
                r["prefix"] == "198.51.100.0/24" && r["best"] == true && r["valid"] == true
            })
        })
    });
    assert!(
        best,
        "198.51.100.0/24 via 192.0.2.99 is not valid and best:\n{}\n{}",
        t.display("display bgp routing-table 198.51.100.1", false)
            .unwrap_or_default(),
        t_ns.sh("ip route")
    );
}
