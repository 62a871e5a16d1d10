//! ternd as a PE against FRR as a PE, over VPNv4 and VPNv6: the routes of ternd's VPN instance
//! `vpn1` (`import-route direct` of its interface bound to vpn1) appear in FRR's VRF `red` with
//! ternd's RD, route target, label and next hop, and FRR's VRF routes appear in vpn1; when FRR
//! drops a route, it leaves vpn1.
//!
//! Topology: T (ternd, AS 100) 10.0.0.1/30 ── 10.0.0.2/30 F (FRR, AS 200), one directly
//! connected EBGP session with VPNv4 and VPNv6 over IPv4; IPv6 is disabled on the link, so
//! both sides send VPNv6 next hops as `::ffff:a.b.c.d`. T's vpn1 interface (192.0.2.1/24,
//! 2001:db8:100::1/64) is a veth into a namespace of its own, standing for a CE link.
//! vpn1: RD 100:1, vpn-target 65000:1 both; red: RD 200:1, rt vpn both 65000:1, label auto,
//! routes 198.51.100.0/24 and 2001:db8:200::/48 (kernel blackholes, `redistribute kernel`).
//! FRR runs with the harness in `common/frr.rs` (zebra, netns VRFs, `mpls bgp forwarding` on
//! the link; docs/interop.md). Needs root (network namespaces) and FRR.

mod common;

use std::net::Ipv6Addr;
use std::time::Duration;

use common::frr::{Frr, Vrf, pe_config};
use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

/// T's vpn1 subnets, exported by ternd.
const T4: &str = "192.0.2.0/24";
const T6: &str = "2001:db8:100::/64";
/// F's VRF red routes, exported by FRR.
const F4: &str = "198.51.100.0/24";
const F6: &str = "2001:db8:200::/48";

const T_CFG: &str = "sysname T
#
ip vpn-instance vpn1
 ipv4-family
  route-distinguisher 100:1
  vpn-target 65000:1 both
 ipv6-family
  route-distinguisher 100:1
  vpn-target 65000:1 both
#
interface GigabitEthernet0/0/0
 undo shutdown
 ip address 10.0.0.1 255.255.255.252
#
interface GigabitEthernet0/0/1
 undo shutdown
 ip binding vpn-instance vpn1
 ip address 192.0.2.1 255.255.255.0
 ipv6 enable
 ipv6 address 2001:db8:100::1/64
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  undo peer 10.0.0.2 enable
 #
 ipv4-family vpnv4
  policy vpn-target
  peer 10.0.0.2 enable
 #
 ipv6-family vpnv6
  policy vpn-target
  peer 10.0.0.2 enable
 #
 ipv4-family vpn-instance vpn1
  import-route direct
 #
 ipv6-family vpn-instance vpn1
  import-route direct
#
return
";

const VPN4: &str = "display bgp vpnv4 all routing-table";
const VPN6: &str = "display bgp vpnv6 all routing-table";
const VPN4_LABEL: &str = "display bgp vpnv4 all routing-table label";
const VPN6_LABEL: &str = "display bgp vpnv6 all routing-table label";
const INST4: &str = "display bgp vpnv4 vpn-instance vpn1 routing-table";
const INST6: &str = "display bgp vpnv6 vpn-instance vpn1 routing-table";

/// Declared in drop order: the daemons go before their namespaces and directory.
struct Lab {
    t: Ternd,
    f: Frr,
    dir: TempDir,
    namespaces: [Netns; 3],
}

fn lab() -> Lab {
    let t_ns = Netns::new("pvt");
    let f_ns = Netns::new("pvf");
    let ce_ns = Netns::new("pvc");
    let (et, ef) = link(&t_ns, &["10.0.0.1/30"], &f_ns, &["10.0.0.2/30"]);
    t_ns.sh(&format!("sysctl -qw net.ipv6.conf.{et}.disable_ipv6=1"));
    f_ns.sh(&format!("sysctl -qw net.ipv6.conf.{ef}.disable_ipv6=1"));
    // vpn1's interface (GigabitEthernet0/0/1 in the configuration; ternd takes the instance's
    // direct routes from the configuration, the kernel device only mirrors it).
    link(
        &t_ns,
        &["192.0.2.1/24", "2001:db8:100::1/64"],
        &ce_ns,
        &["192.0.2.2/24", "2001:db8:100::2/64"],
    );
    let dir = TempDir::new("pv");
    let t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let conf = pe_config(
        "f",
        200,
        "10.0.0.2",
        &[("10.0.0.1", 100)],
        &[&ef],
        &[Vrf {
            name: "red",
            rd: "200:1",
            rt: "65000:1",
            label4: None,
            label6: None,
        }],
    );
    let f = Frr::start(&f_ns, &dir, "f", &conf, &["red"]);
    f.blackhole("red", F4);
    f.blackhole("red", F6);
    Lab {
        t,
        f,
        dir,
        namespaces: [t_ns, f_ns, ce_ns],
    }
}

fn table(t: &Ternd, command: &str) -> Value {
    let text = t
        .display(command, true)
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
}

/// The row of `prefix` (with `rd`, in the VPN tables) in a ternd table.
fn row(t: &Value, rd: Option<&str>, prefix: &str) -> Option<Value> {
    t["routes"].as_array()?.iter().find_map(|r| {
        (r["prefix"] == prefix && rd.is_none_or(|rd| r["rd"] == rd)).then(|| r.clone())
    })
}

/// Every row of `prefix` under `rd` in a ternd VPN table, the best first.
fn rows(t: &Value, rd: &str, prefix: &str) -> Vec<Value> {
    t["routes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["prefix"] == prefix && r["rd"] == rd)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn valid(paths: &[Value]) -> bool {
    paths.first().is_some_and(|p| p["valid"] == true)
}

fn ip6(v: &Value) -> Ipv6Addr {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an IPv6 address: {v}"))
}

/// Both sides' tables and logs.
fn dump(l: &Lab) -> String {
    let mut s = String::new();
    for c in [VPN4, VPN6, VPN4_LABEL, VPN6_LABEL, INST4, INST6] {
        let out = l.t.display(c, false).unwrap_or_else(|e| e);
        s += &format!("--- T {c} ---\n{out}\n");
    }
    s += &format!("--- T peer ---\n{}\n", l.t.peer("10.0.0.2"));
    for c in [
        "show bgp ipv4 vpn",
        "show bgp ipv6 vpn",
        "show bgp vrf red ipv4 unicast",
        "show bgp vrf red ipv6 unicast",
        "show bgp nexthop",
        "show bgp neighbors 10.0.0.1",
    ] {
        s += &format!("--- F {c} ---\n{}", l.f.vtysh(c));
    }
    let log = l.t.log_text();
    let lines: Vec<&str> = log.lines().collect();
    s += &format!(
        "--- T log ---\n{}\n",
        lines[lines.len().saturating_sub(100)..].join("\n")
    );
    s + &l.f.logs()
}

/// The one label of a ternd row.
fn label_of(r: &Value) -> u64 {
    let labels = r["labels"].as_array().expect("labels");
    assert_eq!(labels.len(), 1, "{r}");
    labels[0].as_u64().expect("label")
}

#[test]
fn vpn_routes_cross_between_ternd_and_frr() {
    let l = lab();
    l.t.wait_established("10.0.0.2", Duration::from_secs(60));
    l.f.wait_established("10.0.0.1", Duration::from_secs(60));
    let arrived = wait_for(Duration::from_secs(60), || {
        valid(&l.f.vrf_paths("red", T4))
            && valid(&l.f.vrf_paths("red", T6))
            && row(&table(&l.t, INST4), None, F4).is_some()
            && row(&table(&l.t, INST6), None, F6).is_some()
    });
    assert!(arrived, "VPN routes did not cross:\n{}", dump(&l));

    // ternd's own routes: in its VPN tables under RD 100:1 with a label of its own (per route,
    // from 48000), which `routing-table label` shows as the in-label.
    let mut t_labels = Vec::new();
    for (all, label_cmd, prefix) in [(VPN4, VPN4_LABEL, T4), (VPN6, VPN6_LABEL, T6)] {
        let r = row(&table(&l.t, all), Some("100:1"), prefix)
            .unwrap_or_else(|| panic!("{prefix} not in {all}:\n{}", dump(&l)));
        eprintln!("T {all} {prefix}: {r}");
        assert_eq!(r["best"], true, "{r}");
        assert_eq!(r["from"], "0.0.0.0", "{r}");
        // FRR may send the route back (AS path "200 100"): ternd's AS loop check refuses it.
        for other in rows(&table(&l.t, all), "100:1", prefix).iter().skip(1) {
            assert_eq!(other["valid"], false, "{other}");
            assert_eq!(other["best"], false, "{other}");
        }
        let label = label_of(&r);
        assert!(label >= 48000, "{r}");
        let r = row(&table(&l.t, label_cmd), Some("100:1"), prefix)
            .unwrap_or_else(|| panic!("{prefix} not in {label_cmd}:\n{}", dump(&l)));
        assert_eq!(r["in_label"], label, "{r}");
        t_labels.push(label);
    }
    assert_ne!(t_labels[0], t_labels[1], "one label per route");

    // 1. FRR: ternd's routes in the VPN tables under RD 100:1, and imported into VRF red, with
    // route target 65000:1, ternd's label and next hop 10.0.0.1 (VPNv6: ::ffff:10.0.0.1).
    let t_mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
    for (prefix, label) in [(T4, t_labels[0]), (T6, t_labels[1])] {
        let p = &l.f.vpn_paths("100:1", prefix)[0];
        eprintln!("F VPN 100:1:{prefix}: {p}");
        assert_eq!(p["valid"], true, "{p}");
        assert_eq!(p["remoteLabel"], label, "{p}");
        assert_eq!(p["extendedCommunity"]["string"], "RT:65000:1", "{p}");
        assert_eq!(p["aspath"]["string"], "100", "{p}");

        let p = &l.f.vrf_paths("red", prefix)[0];
        eprintln!("F VRF red {prefix}: {p}");
        assert_eq!(p["valid"], true, "{p}");
        assert_eq!(p["bestpath"]["overall"], true, "{p}");
        assert_eq!(p["nhVrfName"], "default", "{p}");
        assert_eq!(p["remoteLabel"], label, "{p}");
        assert_eq!(p["extendedCommunity"]["string"], "RT:65000:1", "{p}");
        assert_eq!(p["aspath"]["string"], "100", "{p}");
        if prefix == T4 {
            assert_eq!(p["nexthops"][0]["ip"], "10.0.0.1", "{p}");
        } else {
            // FRR prints the IPv4-mapped address in hex (`::ffff:a00:1`).
            assert_eq!(ip6(&p["nexthops"][0]["ip"]), t_mapped, "{p}");
        }
        // The RD it was imported from is only in the text form.
        let afi = if prefix == T4 { "ipv4" } else { "ipv6" };
        let text =
            l.f.vtysh(&format!("show bgp vrf red {afi} unicast {prefix}"));
        assert!(
            text.contains(&format!("Imported from 100:1:{prefix}")),
            "{text}"
        );
    }
    assert_eq!(
        ip6(&l.f.vpn_paths("100:1", T6)[0]["nexthops"][0]["ip"]),
        t_mapped
    );

    // The counts agree with the tables: every path from all PEs, then the instance's.
    let count = |c: &str| table(&l.t, c)["routes"].as_array().map_or(0, Vec::len);
    let (all, inst) = (count(VPN4), count(INST4));
    let text =
        l.t.display("display bgp vpnv4 all routing-table statistics", false)
            .unwrap();
    assert!(
        text.contains(&format!(" Total number of routes from all PE: {all}\n"))
            && text.contains(" VPN-Instance vpn1, Router ID ")
            && text.contains(&format!(" Total Number of Routes: {inst}\n")),
        "{all} and {inst} in\n{text}"
    );
    let text =
        l.t.display(
            "display bgp vpnv4 route-distinguisher 100:1 routing-table statistics",
            false,
        )
        .unwrap();
    assert!(text.starts_with(" Route Distinguisher: 100:1\n"), "{text}");

    // 2. ternd: FRR's routes in the VPN tables under RD 200:1 and in vpn1, with FRR's label
    // (`label vpn export auto`) and next hop 10.0.0.2 (VPNv6: ::ffff:10.0.0.2).
    let f_label = |p: &str| {
        let v = l.f.vpn_paths("200:1", p)[0]["remoteLabel"].clone();
        v.as_u64()
            .unwrap_or_else(|| panic!("FRR's label for {p}: {v}"))
    };
    let (f_l4, f_l6) = (f_label(F4), f_label(F6));
    eprintln!("FRR's labels: IPv4 {f_l4}, IPv6 {f_l6}");
    for (all, inst, prefix, label, nh) in [
        (VPN4, INST4, F4, f_l4, "10.0.0.2"),
        (VPN6, INST6, F6, f_l6, "::ffff:10.0.0.2"),
    ] {
        let r = row(&table(&l.t, all), Some("200:1"), prefix)
            .unwrap_or_else(|| panic!("{prefix} not in {all}:\n{}", dump(&l)));
        eprintln!("T {all} {prefix}: {r}");
        assert_eq!(r["rd"], "200:1", "{r}");
        assert_eq!(r["next_hop"], nh, "{r}");
        assert_eq!(label_of(&r), label, "{r}");
        assert_eq!(r["as_path"], "200", "{r}");
        assert_eq!(r["from"], "10.0.0.2", "{r}");
        assert_eq!(r["valid"], true, "{r}");
        assert_eq!(r["best"], true, "{r}");

        let r = row(&table(&l.t, inst), None, prefix).unwrap();
        eprintln!("T {inst} {prefix}: {r}");
        assert_eq!(r["next_hop"], nh, "{r}");
        assert_eq!(label_of(&r), label, "{r}");
        assert_eq!(r["as_path"], "200", "{r}");
        assert_eq!(r["from"], "10.0.0.2", "{r}");
        assert_eq!(r["valid"], true, "{r}");
        assert_eq!(r["best"], true, "{r}");
    }
    // vpn1's selected IPv4 route from FRR is in vpn1's kernel table (1000, the first
    // instance's), via FRR. (The IPv6 one would go out of the link, which has IPv6 disabled
    // here; the vendor examples in tern lab show that case.)
    let t_ns = &l.namespaces[0];
    let installed = wait_for(Duration::from_secs(10), || {
        t_ns.sh("ip -4 route show table 1000 proto 186")
            .contains(&format!("{F4} via 10.0.0.2"))
    });
    assert!(
        installed,
        "vpn1's kernel table: {}{}",
        t_ns.sh("ip -4 route show table 1000"),
        t_ns.sh("ip -6 route show table 1000")
    );
    // vpn1 also holds its own direct routes, not FRR's copies of them.
    for (inst, prefix) in [(INST4, T4), (INST6, T6)] {
        let r = row(&table(&l.t, inst), None, prefix).unwrap();
        assert_eq!(r["from"], "0.0.0.0", "{r}");
    }

    // 3. FRR drops its IPv4 route (the kernel route behind `redistribute kernel`): it leaves
    // vpn1 and the VPNv4 table; the IPv6 one stays. Then the IPv6 one.
    l.f.vrf_sh("red", &format!("ip -4 route del blackhole {F4}"));
    let gone = wait_for(Duration::from_secs(30), || {
        row(&table(&l.t, INST4), None, F4).is_none()
            && row(&table(&l.t, VPN4), Some("200:1"), F4).is_none()
    });
    assert!(gone, "{F4} still at T:\n{}", dump(&l));
    assert!(row(&table(&l.t, INST6), None, F6).is_some(), "{}", dump(&l));
    l.f.vrf_sh("red", &format!("ip -6 route del blackhole {F6}"));
    let gone = wait_for(Duration::from_secs(30), || {
        row(&table(&l.t, INST6), None, F6).is_none()
            && row(&table(&l.t, VPN6), Some("200:1"), F6).is_none()
    });
    assert!(gone, "{F6} still at T:\n{}", dump(&l));
    // ternd's own routes are untouched, at both ends.
    assert!(row(&table(&l.t, INST4), None, T4).is_some());
    assert!(valid(&l.f.vrf_paths("red", T4)) && valid(&l.f.vrf_paths("red", T6)));

    // Clean-up: the daemons, the namespaces and the scratch directory go with the lab.
    let names: Vec<String> = l.namespaces.iter().map(|n| n.name.clone()).collect();
    let run = l.f.run.clone();
    let dir = l.dir.0.clone();
    drop(l);
    let list = common::sh("ip netns list");
    for n in &names {
        assert!(
            !list.lines().any(|x| x.split_whitespace().next() == Some(n)),
            "{n} left: {list}"
        );
    }
    assert!(!run.exists() && !dir.exists(), "scratch directory left");
}
