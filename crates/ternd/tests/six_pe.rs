//! 6PE (RFC 4798): ternd and FRR exchange IPv6 routes as labeled IPv6 (AFI 2, SAFI 4) over an
//! IPv4 IBGP session, with IPv4-mapped next hops (`::ffff:a.b.c.d`) resolved over IPv4.
//!
//! Topology: T (ternd, AS 100, loopback 1.1.1.1) 10.0.0.1/30 ── 10.0.0.2/30 F (FRR 8.4 with
//! zebra, AS 100, loopback 2.2.2.2), one IBGP session between the loopbacks (kernel routes to
//! each other's loopback stand for the IGP; the link has IPv6 link-local addresses only).
//! T has `peer 2.2.2.2 label-route-capability` in `ipv6-family unicast`; F activates 1.1.1.1
//! in `address-family ipv6 labeled-unicast`. T also has a plain IPv6 EBGP peer, C (FRR, AS
//! 300) on 2001:db8:100::/64 (a veth into C's namespace). Routes: T's subnet
//! 2001:db8:100::/64 (`import-route direct`), F's 2001:db8:200::/48 and C's
//! 2001:db8:300::/48 (`network`, blackholes in their kernels).
//!
//! Checked: the families both sides negotiated; F's route on the wire as an IPv6 labeled
//! NLRI (T's MRT message log, decoded by tern-wire); F's route at T as a labeled IPv6 route
//! with F's label and `::ffff:2.2.2.2`, resolved over IPv4 (relay next hop 10.0.0.2), installed in
//! T's kernel out of the IPv4 path's interface, sent on to C unlabeled with next hop self;
//! T's and C's routes at F as labeled IPv6 routes with `::ffff:1.1.1.1` and a label of T's
//! per route (also in `peer 2.2.2.2 advertised-routes`); F's route unusable while the IPv4
//! route to 2.2.2.2 is gone from T's main table, and back after; F's withdrawal.
//! Needs root (network namespaces) and FRR.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, families, link, wait_for};
use serde_json::Value;
use tern_types::{Family, Label};
use tern_wire::message::frames;
use tern_wire::mrt::{bgp4mp, mrt_type};
use tern_wire::{Ctx, Message, Nlri};

const T6: &str = "2001:db8:100::/64";
const F6: &str = "2001:db8:200::/48";
const C6: &str = "2001:db8:300::/48";

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 undo shutdown
 ip address 10.0.0.1 255.255.255.252
#
interface GigabitEthernet0/0/1
 undo shutdown
 ipv6 enable
 ipv6 address 2001:db8:100::1/64
#
interface LoopBack0
 ip address 1.1.1.1 255.255.255.255
#
bgp 100
 router-id 1.1.1.1
 peer 2.2.2.2 as-number 100
 peer 2.2.2.2 connect-interface LoopBack0
 peer 2.2.2.2 timer keepalive 10 hold 30
 peer 2001:db8:100::2 as-number 300
 peer 2001:db8:100::2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  undo peer 2.2.2.2 enable
 #
 ipv6-family unicast
  import-route direct
  peer 2.2.2.2 enable
  peer 2.2.2.2 label-route-capability
  peer 2001:db8:100::2 enable
#
return
";

/// F: a 6PE PE in FRR, peering from its loopback.
const F_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 100
 bgp router-id 2.2.2.2
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 neighbor 1.1.1.1 remote-as 100
 neighbor 1.1.1.1 update-source 2.2.2.2
 neighbor 1.1.1.1 timers 10 30
 neighbor 1.1.1.1 timers connect 5
 !
 address-family ipv6 unicast
  network 2001:db8:200::/48
 exit-address-family
 !
 address-family ipv6 labeled-unicast
  neighbor 1.1.1.1 activate
 exit-address-family
exit
!
";

/// C: a plain IPv6 EBGP peer of T (a CE).
const C_CFG: &str = "frr defaults traditional
hostname c
!
router bgp 300
 bgp router-id 3.3.3.3
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 neighbor 2001:db8:100::1 remote-as 100
 neighbor 2001:db8:100::1 timers 10 30
 neighbor 2001:db8:100::1 timers connect 5
 !
 address-family ipv6 unicast
  network 2001:db8:300::/48
  neighbor 2001:db8:100::1 activate
 exit-address-family
exit
!
";

const V6: &str = "display bgp ipv6 routing-table";

/// Declared in drop order: the daemons go before their namespaces and directory.
struct Lab {
    t: Ternd,
    f: Frr,
    c: Frr,
    dir: TempDir,
    namespaces: [Netns; 3],
    /// T's interface toward F.
    t_link: String,
}

fn lab() -> Lab {
    let t_ns = Netns::new("6pt");
    let f_ns = Netns::new("6pf");
    let c_ns = Netns::new("6pc");
    let (t_link, _) = link(&t_ns, &["10.0.0.1/30"], &f_ns, &["10.0.0.2/30"]);
    link(
        &t_ns,
        &["2001:db8:100::1/64"],
        &c_ns,
        &["2001:db8:100::2/64"],
    );
    t_ns.loopback("1.1.1.1/32");
    f_ns.loopback("2.2.2.2/32");
    // The IGP's stand-in: each loopback (an LSP endpoint) via the link.
    t_ns.sh("ip route add 2.2.2.2/32 via 10.0.0.2");
    // The session's own packets to F's loopback also find a route in table 100 (a rule
    // before the main table), so the main table's route, the one tern resolves over, can
    // go and come back without the session noticing.
    t_ns.sh(
        "ip route add 2.2.2.2/32 via 10.0.0.2 table 100 && ip rule add to 2.2.2.2/32 lookup 100 pref 100",
    );
    f_ns.sh("ip route add 1.1.1.1/32 via 10.0.0.1");
    f_ns.sh(&format!("ip -6 route add blackhole {F6}"));
    c_ns.sh(&format!("ip -6 route add blackhole {C6}"));
    let dir = TempDir::new("6p");
    // The message log (MRT BGP4MP) keeps what F sends as it came off the wire.
    let mrt = dir.path("mrt");
    std::fs::create_dir_all(&mrt).unwrap();
    let t = Ternd::start_with(
        &t_ns,
        &dir,
        "t",
        T_CFG,
        &["0.0.0.0:179", "[::]:179"],
        &["--mrt-dir", &mrt.display().to_string(), "--mrt-updates"],
    );
    let f = Frr::start(&f_ns, &dir, "f", F_CFG, &[]);
    let c = Frr::start(&c_ns, &dir, "c", C_CFG, &[]);
    Lab {
        t,
        f,
        c,
        dir,
        namespaces: [t_ns, f_ns, c_ns],
        t_link,
    }
}

fn table(t: &Ternd, command: &str) -> Value {
    let text = t
        .display(command, true)
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
}

fn dump(l: &Lab) -> String {
    let mut s = String::new();
    let out = l.t.display(V6, false).unwrap_or_else(|e| e);
    s += &format!("--- T {V6} ---\n{out}\n");
    s += &format!("--- T peer ---\n{}\n", l.t.peer("2.2.2.2"));
    for c in [
        "show bgp ipv6 labeled-unicast",
        "show bgp ipv6 unicast",
        "show bgp nexthop",
        "show bgp neighbors 1.1.1.1",
    ] {
        s += &format!("--- F {c} ---\n{}", l.f.vtysh(c));
    }
    s += &format!("--- C ---\n{}", l.c.vtysh("show bgp ipv6 unicast"));
    s += &format!(
        "--- T kernel ---\n{}",
        l.namespaces[0].sh("ip -6 route; ip -6 neigh; ip -4 neigh")
    );
    let log = l.t.log_text();
    let lines: Vec<&str> = log.lines().collect();
    s += &format!(
        "--- T log ---\n{}\n",
        lines[lines.len().saturating_sub(100)..].join("\n")
    );
    s + &l.f.logs()
}

/// The row of `prefix` in a ternd table.
fn row(t: &Value, prefix: &str) -> Option<Value> {
    t["routes"]
        .as_array()?
        .iter()
        .find(|r| r["prefix"] == prefix)
        .cloned()
}

fn ip6(v: &Value) -> Ipv6Addr {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an IPv6 address: {v}"))
}

/// The routes announced by `peer` in the MRT message logs of `dir` (BGP4MP_MESSAGE_AS4
/// records, RFC 6396 §4.4.3), decoded by tern-wire from the bytes received: (family, NLRI,
/// next hop).
fn logged_routes(dir: &Path, peer: Ipv4Addr) -> Vec<(Family, Nlri, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let data = std::fs::read(e.path()).unwrap_or_default();
        let mut at = 0;
        while at + 12 <= data.len() {
            let kind = u16::from_be_bytes([data[at + 4], data[at + 5]]);
            let subtype = u16::from_be_bytes([data[at + 6], data[at + 7]]);
            let len = u32::from_be_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
            let Some(body) = data.get(at + 12..at + 12 + len) else {
                break;
            };
            at += 12 + len;
            // Peer AS, local AS (4 each), interface index, AFI 1 (IPv4 addresses), peer and
            // local address, then the BGP message.
            if kind != mrt_type::BGP4MP
                || subtype != bgp4mp::MESSAGE_AS4
                || body.len() < 20
                || body[10..12] != [0, 1]
                || body[12..16] != peer.octets()
            {
                continue;
            }
            let Some(Ok(frame)) = frames(&body[20..]).next() else {
                continue;
            };
            let Ok(Message::Update(u)) = Message::decode(frame) else {
                continue;
            };
            let ctx = Ctx {
                four_octet_as: true,
                ..Ctx::default()
            };
            let p = u.parse(&ctx);
            let nh = p
                .mp_reach()
                .map(|m| m.next_hop.to_string())
                .unwrap_or_default();
            out.extend(p.announced().map(|(f, n)| (f, n, nh.clone())));
        }
    }
    out
}

/// The paths of `prefix` in FRR's table `table` (`show bgp ipv6 labeled-unicast|unicast P json`).
fn frr_paths(f: &Frr, table: &str, prefix: &str) -> Vec<Value> {
    f.json(&format!("show bgp ipv6 {table} {prefix} json"))["paths"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The families FRR has negotiated with `peer` (its JSON names).
fn frr_families(f: &Frr, peer: &str) -> Vec<String> {
    let v = f.json(&format!("show bgp neighbors {peer} json"));
    v[peer]["neighborCapabilities"]["multiprotocolExtensions"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, x)| x["advertisedAndReceived"] == true)
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn six_pe_routes_cross_between_ternd_and_frr() {
    let l = lab();
    l.t.wait_established("2.2.2.2", Duration::from_secs(60));
    l.f.wait_established("1.1.1.1", Duration::from_secs(60));
    l.c.wait_established("2001:db8:100::1", Duration::from_secs(60));

    // 1. The capability: labeled IPv6 (AFI 2, SAFI 4), not IPv6 unicast, on both sides.
    assert_eq!(
        families(&l.t.peer("2.2.2.2")),
        vec!["ipv6-labeled-unicast"],
        "{}",
        dump(&l)
    );
    assert_eq!(
        frr_families(&l.f, "1.1.1.1"),
        vec!["ipv6LabeledUnicast"],
        "{}",
        dump(&l)
    );

    let arrived = wait_for(Duration::from_secs(60), || {
        let t = table(&l.t, V6);
        row(&t, F6).is_some()
            && row(&t, C6).is_some()
            && !frr_paths(&l.f, "labeled-unicast", T6).is_empty()
            && !frr_paths(&l.f, "labeled-unicast", C6).is_empty()
            && !frr_paths(&l.c, "unicast", F6).is_empty()
    });
    assert!(arrived, "routes did not cross:\n{}", dump(&l));

    // 2. F's route at T: a labeled IPv6 route (FRR's label for a local route is implicit
    // null, 3) with F's IPv4-mapped loopback as next hop, in the IPv6 routing table,
    // resolved through the IPv4 table to F's loopback via 10.0.0.2.
    let r = row(&table(&l.t, V6), F6).unwrap();
    eprintln!("T {V6} {F6}: {r}");
    assert_eq!(r["next_hop"], "::ffff:2.2.2.2", "{r}");
    assert_eq!(r["labels"], serde_json::json!([3]), "{r}");
    assert_eq!(r["from"], "2.2.2.2", "{r}");
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(r["best"], true, "{r}");
    let text =
        l.t.display("display bgp ipv6 routing-table 2001:db8:200::1", false)
            .unwrap();
    eprintln!("{text}");
    for line in [
        " Label information (Received/Applied): 3/NULL\n",
        " Relay IP Nexthop: 10.0.0.2\n",
        " Original nexthop: ::FFFF:2.2.2.2\n",
        "valid, internal, best, select\n",
        " Advertised to such 1 peers:\n    2001:db8:100::2\n",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }

    let text =
        l.t.display("display bgp ipv6 routing-table label", false)
            .unwrap();
    assert!(
        text.starts_with("Total Number of Routes: 1\n")
            && text.contains("\n  2001:DB8:200::       48      ::FFFF:2.2.2.2       3\n"),
        "{text}"
    );

    // On the wire: F's UPDATE carried it as an IPv6 labeled NLRI (AFI 2, SAFI 4) with label
    // 3, next hop ::ffff:2.2.2.2 (T's message log, decoded).
    let mrt = l.dir.path("mrt");
    let f_ip: Ipv4Addr = "2.2.2.2".parse().unwrap();
    let on_wire = wait_for(Duration::from_secs(10), || {
        logged_routes(&mrt, f_ip).iter().any(|(f, n, nh)| {
            *f == Family::IPV6_LABELED
                && n.prefix.to_string() == F6
                && n.labels.labels().collect::<Vec<Label>>() == [Label(3)]
                && nh == "::ffff:2.2.2.2"
        })
    });
    assert!(
        on_wire,
        "F's UPDATEs as logged: {:?}",
        logged_routes(&mrt, f_ip)
    );

    // 3. ... installed in T's kernel out of the interface toward the IPv4 next hop (no IPv6
    // gateway: the next hop is an IPv4 LSP endpoint, and the kernel has no MPLS).
    let t_ns = &l.namespaces[0];
    let want = format!("{F6} dev {} ", l.t_link);
    let installed = wait_for(Duration::from_secs(10), || {
        t_ns.sh("ip -6 route show proto bgp").contains(&want)
    });
    assert!(
        installed,
        "{want:?} not in T's kernel:\n{}",
        t_ns.sh("ip -6 route")
    );

    // 4. ... and advertised on to the plain IPv6 EBGP peer C: IPv6 unicast, next hop T's
    // address on the link, AS path 100.
    let p = &frr_paths(&l.c, "unicast", F6)[0];
    eprintln!("C {F6}: {p}");
    assert_eq!(p["valid"], true, "{p}");
    assert_eq!(p["aspath"]["string"], "100", "{p}");
    assert_eq!(p["nexthops"][0]["ip"], "2001:db8:100::1", "{p}");
    assert!(p.get("remoteLabel").is_none(), "{p}");

    // 5. T's routes at F, as labeled IPv6 routes with T's IPv4-mapped loopback as next hop
    // and a label of T's, one per route: its own subnet (import-route direct) and C's route.
    let t_mapped: Ipv6Addr = "::ffff:1.1.1.1".parse().unwrap();
    let mut labels = Vec::new();
    // (FRR writes an empty AS path as "Local".)
    for (prefix, as_path) in [(T6, "Local"), (C6, "300")] {
        let p = &frr_paths(&l.f, "labeled-unicast", prefix)[0];
        eprintln!("F labeled-unicast {prefix}: {p}");
        assert_eq!(p["valid"], true, "{p}");
        assert_eq!(ip6(&p["nexthops"][0]["ip"]), t_mapped, "{p}");
        assert_eq!(p["aspath"]["string"], as_path, "{p}");
        let label = p["remoteLabel"]
            .as_u64()
            .unwrap_or_else(|| panic!("no label: {p}"));
        assert!(label >= 48000, "{p}");
        labels.push(label);
    }
    assert_ne!(labels[0], labels[1], "one label per route");

    // `peer 2.2.2.2 advertised-routes`: what F is sent, labels included.
    let adv = table(
        &l.t,
        "display bgp ipv6 routing-table peer 2.2.2.2 advertised-routes",
    );
    for (prefix, label) in [(T6, labels[0]), (C6, labels[1])] {
        let r = row(&adv, prefix).unwrap_or_else(|| panic!("{prefix} in {adv}"));
        assert_eq!(r["next_hop"], "::ffff:1.1.1.1", "{r}");
        assert_eq!(r["labels"], serde_json::json!([label]), "{r}");
    }
    assert!(row(&adv, F6).is_none(), "not back to F: {adv}");

    // 6. The IPv4 route to F's loopback (the LSP endpoint) leaves the main table: F's route
    // becomes unusable at T (its next hop is followed as 2.2.2.2), leaves T's kernel and C,
    // and comes back with the IPv4 route.
    t_ns.sh("ip route del 2.2.2.2/32");
    let unusable = wait_for(Duration::from_secs(30), || {
        row(&table(&l.t, V6), F6).is_some_and(|r| r["valid"] == false)
            && !t_ns.sh("ip -6 route show proto bgp").contains(F6)
            && frr_paths(&l.c, "unicast", F6).is_empty()
    });
    assert!(unusable, "{F6} still used:\n{}", dump(&l));
    t_ns.sh("ip route add 2.2.2.2/32 via 10.0.0.2");
    let back = wait_for(Duration::from_secs(30), || {
        row(&table(&l.t, V6), F6).is_some_and(|r| r["valid"] == true)
            && t_ns.sh("ip -6 route show proto bgp").contains(&want)
            && !frr_paths(&l.c, "unicast", F6).is_empty()
    });
    assert!(back, "{F6} not back:\n{}", dump(&l));

    // 7. F withdraws its route: it leaves T's table, T's kernel and C.
    l.f.configure(&[
        "router bgp 100",
        "address-family ipv6 unicast",
        "no network 2001:db8:200::/48",
    ]);
    let gone = wait_for(Duration::from_secs(30), || {
        row(&table(&l.t, V6), F6).is_none()
            && !t_ns.sh("ip -6 route show proto bgp").contains(F6)
            && frr_paths(&l.c, "unicast", F6).is_empty()
    });
    assert!(gone, "{F6} still there:\n{}", dump(&l));
    assert!(row(&table(&l.t, V6), C6).is_some(), "{}", dump(&l));

    // Clean-up: the daemons, the namespaces and the scratch directory go with the lab.
    let names: Vec<String> = l.namespaces.iter().map(|n| n.name.clone()).collect();
    let dir = l.dir.0.clone();
    drop(l);
    let list = common::sh("ip netns list");
    for n in &names {
        assert!(
            !list.lines().any(|x| x.split_whitespace().next() == Some(n)),
            "{n} left: {list}"
        );
    }
    assert!(!dir.exists(), "scratch directory left");
}
