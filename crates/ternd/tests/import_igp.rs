//! `import-route ospf|isis|rip N` against FRR: the routes an IGP installed in the kernel's
//! main table (known by their kernel protocol number) are originated by ternd and reach its
//! peer, with MED the route's metric (or `med M`), and follow the kernel as routes come and go
//! and the configuration as it is committed.
//!
//! Topology: T (ternd, AS 100) 10.0.0.1/24 ── 10.0.0.2/24 F (FRR, AS 200); T 10.1.0.1/24 ──
//! 10.1.0.2/24 a namespace standing for T's IGP neighbour, through which the test installs
//! T's "IGP" routes (`ip route … proto ospf|isis|rip`).
//! Needs root (network namespaces) and FRR.

mod common;

use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip address 10.1.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  import-route ospf 1
  import-route isis 7 med 50
  peer 10.0.0.2 enable
#
return
";

const F_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
!
";

/// FRR's MED of its path to `prefix`, None while it has none.
fn med(f: &Frr, prefix: &str) -> Option<u64> {
    let v = f.json(&format!("show bgp ipv4 unicast {prefix} json"));
    let p = v["paths"].as_array()?.first()?.clone();
    Some(p["metric"].as_u64().unwrap_or(0))
}

#[test]
fn kernel_igp_routes_are_imported_and_followed() {
    let dir = TempDir::new("import-igp");
    let t_ns = Netns::new("iit");
    let f_ns = Netns::new("iif");
    let n_ns = Netns::new("iin");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    link(&t_ns, &["10.1.0.1/24"], &n_ns, &["10.1.0.2/24"]);
    // One route already there when ternd starts, the others added later.
    t_ns.sh("ip route add 10.50.0.0/16 via 10.1.0.2 proto ospf metric 20");
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let f = Frr::start(&f_ns, &dir, "f", F_CFG, &[]);
    let show = || {
        format!(
            "--- F ---\n{}\n--- T ---\n{}\n--- T kernel ---\n{}\n--- T log ---\n{}",
            f.vtysh("show bgp ipv4 unicast"),
            t.display("display bgp routing-table", false)
                .unwrap_or_default(),
            t_ns.sh("ip route"),
            t.log_text()
        )
    };
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || med(&f, "10.50.0.0/16")
            .is_some()),
        "the OSPF route read at start did not reach F:\n{}",
        show()
    );
    assert_eq!(med(&f, "10.50.0.0/16"), Some(20), "MED: the metric");

    // Routes installed while ternd runs: IS-IS (med 50 configured) and RIP (not imported).
    t_ns.sh("ip route add 10.60.0.0/16 via 10.1.0.2 proto isis metric 30");
    t_ns.sh("ip route add 10.70.0.0/16 via 10.1.0.2 proto rip metric 2");
    t_ns.sh("ip route add 10.80.0.0/16 via 10.1.0.2 proto static");
    assert!(
        wait_for(Duration::from_secs(30), || med(&f, "10.60.0.0/16")
            == Some(50)),
        "the IS-IS route did not reach F with MED 50:\n{}",
        show()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        med(&f, "10.70.0.0/16"),
        None,
        "RIP is not imported:\n{}",
        show()
    );
    assert_eq!(
        med(&f, "10.80.0.0/16"),
        None,
        "a static kernel route is not OSPF"
    );
    // The origin is incomplete in T's table.
    let text = t
        .display("display bgp routing-table 10.50.0.0", false)
        .unwrap();
    assert!(text.contains("origin incomplete"), "{text}");

    // The kernel route goes: the BGP route is withdrawn.
    t_ns.sh("ip route del 10.50.0.0/16 via 10.1.0.2 proto ospf metric 20");
    assert!(
        wait_for(Duration::from_secs(30), || med(&f, "10.50.0.0/16")
            .is_none()),
        "withdrawn OSPF route still at F:\n{}",
        show()
    );

    // Configuration: RIP imported on commit, IS-IS no longer.
    let mut c = tern_api::Blocking::connect(&t.control).unwrap();
    let id = c.open_session("test").unwrap().session;
    for line in [
        "system-view",
        "bgp 100",
        "ipv4-family unicast",
        "import-route rip 1",
        "undo import-route isis 7",
        "commit",
    ] {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {r:?}");
    }
    assert!(
        wait_for(Duration::from_secs(30), || med(&f, "10.70.0.0/16")
            == Some(2)
            && med(&f, "10.60.0.0/16").is_none()),
        "commit not followed:\n{}",
        show()
    );
    // One OSPF import per family: the kernel does not tell processes apart.
    let r = c.execute(id, "import-route ospf 2", false).unwrap();
    assert!(r.error.is_some(), "{r:?}");
}
