//! The seed's inter-AS VPN option C with route reflectors, VPNv6, every router a ternd:
//!
//! ```text
//!            PE3 (AS 100, 5.5.5.9)
//!             │
//! PE1 ─────── RR1 ─────────── RR2 ─────── PE2
//! AS 100      AS 100          AS 200      AS 200
//! 1.1.1.9     2.2.2.9         3.3.3.9     4.4.4.9
//!  │ vpn1                                  │ vpn1
//! 2001:db8:1::2/64                        2001:db8:2::2/64
//! ```
//!
//! One namespace per router; loopbacks reach each other through static routes and kernel
//! forwarding (standing in for the IGP and the labeled routes of option C). PE1 and PE3 are
//! IBGP `reflect-client`s of RR1, PE2 of RR2, all between loopbacks; RR1 and RR2 run
//! MP-EBGP between loopbacks (`ebgp-max-hop`), VPNv6 only, and hold every VPN route
//! (`undo policy vpn-target`). As the seed's RR procedure says, each RR has
//! `next-hop-invariable` toward the other RR and toward its clients.
//!
//! PE1 and PE2 have `ip vpn-instance vpn1` (RD 100:1 / 200:1, route target 1:1, a label per
//! instance) with an interface bound to it (a veth toward a CE namespace) and `import-route
//! direct`. PE3 has vpn1 (RD 100:3) without a site. PE1's vpn1 link is dual-stack: the
//! IPv4 family takes PE1's first label, so PE1's VPNv6 label is not the first label RR2
//! allocates, and a label RR2 gives the route can be told from PE1's.
//!
//! Checked, in one topology:
//! 1. Each PE's vpn1 holds the other PE's connected prefix with the remote PE's loopback as
//!    next hop (`::ffff:a.b.c.d`), the label the remote PE allocated, AS path of the remote
//!    AS only. PE3 gets PE1's route reflected by RR1 with ORIGINATOR_ID 1.1.1.9 and
//!    CLUSTER_LIST [2.2.2.9]; the copies that crossed the RR1–RR2 EBGP session (RR2's, PE2's)
//!    carry neither (RFC 4456 §8: not sent to EBGP peers).
//! 2. `undo peer 4.4.4.9 next-hop-invariable` typed into RR2 and committed: PE2 now gets
//!    PE1's route with RR2 as next hop (`::ffff:3.3.3.9`) and a label RR2 allocated, without a
//!    session reset (re-advertised); `peer 4.4.4.9 next-hop-invariable` brings PE1's next hop
//!    and label back.
//!
//! A second test adds a ternd CE (AS 65001) on PE1's vpn1 interface: its prefix reaches PE2's
//! vpn1 with AS path `100 65001`, and PE2's prefix reaches the CE.
//!
//! Needs root (network namespaces).

mod common;

use std::time::Duration;

use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;
use tern_api::Blocking;

/// Session set-up and route propagation are watched this long.
const LONG: Duration = Duration::from_secs(60);

const VPN6: &str = "display bgp vpnv6 all routing-table";
const VRF6: &str = "display bgp vpnv6 vpn-instance vpn1 routing-table";

/// `ip vpn-instance vpn1`, IPv6 (and IPv4 when `v4`), route target 1:1, label per instance.
fn vpn_instance(rd: &str, v4: bool) -> String {
    let af = |name: &str| {
        format!(
            " {name}\n  route-distinguisher {rd}\n  apply-label per-instance\n  \
             vpn-target 1:1 export-extcommunity\n  vpn-target 1:1 import-extcommunity\n"
        )
    };
    let mut t = "ip vpn-instance vpn1\n".to_string();
    if v4 {
        t.push_str(&af("ipv4-family"));
    }
    t.push_str(&af("ipv6-family"));
    t.push_str("#\n");
    t
}

/// A PE: IBGP to its RR between loopbacks, VPNv6, vpn1 with `import-route direct`.
struct Pe<'a> {
    name: &'a str,
    asn: u32,
    lo: &'a str,
    /// The address on the link toward the RR.
    uplink: &'a str,
    rr: &'a str,
    rd: &'a str,
    /// The vpn1 interface's IPv6 address and, on a dual-stack link, IPv4 address.
    site: Option<(&'a str, Option<&'a str>)>,
    /// A CE peer in vpn1 (address, AS).
    ce: Option<(&'a str, u32)>,
}

fn pe_cfg(pe: &Pe) -> String {
    let Pe {
        name,
        asn,
        lo,
        uplink,
        rr,
        rd,
        site,
        ce,
    } = *pe;
    let v4 = site.is_some_and(|(_, v4)| v4.is_some());
    let mut t = format!("#\nsysname {name}\n#\n{}", vpn_instance(rd, v4));
    t.push_str(&format!(
        "interface GigabitEthernet0/1/0\n undo shutdown\n ip address {uplink} 255.255.255.252\n#\n"
    ));
    if let Some((v6, v4)) = site {
        t.push_str(
            "interface GigabitEthernet0/2/0\n undo shutdown\n ip binding vpn-instance vpn1\n",
        );
        if let Some(v4) = v4 {
            t.push_str(&format!(" ip address {v4} 255.255.255.0\n"));
        }
        t.push_str(&format!(" ipv6 enable\n ipv6 address {v6}\n#\n"));
    }
    t.push_str(&format!(
        "interface LoopBack1\n ip address {lo} 255.255.255.255\n#\n\
         bgp {asn}\n router-id {lo}\n \
         peer {rr} as-number {asn}\n peer {rr} connect-interface LoopBack1\n \
         peer {rr} timer keepalive 3 hold 9\n #\n \
         ipv4-family unicast\n  undo peer {rr} enable\n #\n \
         ipv6-family vpnv6\n  policy vpn-target\n  peer {rr} enable\n #\n"
    ));
    if v4 {
        t.push_str(" ipv4-family vpn-instance vpn1\n  import-route direct\n #\n");
    }
    t.push_str(" ipv6-family vpn-instance vpn1\n  import-route direct\n");
    if let Some((addr, ce_as)) = ce {
        t.push_str(&format!(
            "  peer {addr} as-number {ce_as}\n  peer {addr} timer keepalive 3 hold 9\n"
        ));
    }
    t.push_str("#\nreturn\n");
    t
}

/// An RR: its clients (IBGP, `reflect-client`, `next-hop-invariable`) and the other AS's RR
/// (MP-EBGP between loopbacks, `next-hop-invariable`), VPNv6 only, every VPN route kept.
fn rr_cfg(
    name: &str,
    asn: u32,
    lo: &str,
    links: &[&str],
    clients: &[&str],
    other: (&str, u32),
) -> String {
    let mut t = format!("#\nsysname {name}\n#\n");
    for (i, a) in links.iter().enumerate() {
        t.push_str(&format!(
            "interface GigabitEthernet0/{}/0\n undo shutdown\n ip address {a} 255.255.255.252\n#\n",
            i + 1
        ));
    }
    t.push_str(&format!(
        "interface LoopBack1\n ip address {lo} 255.255.255.255\n#\nbgp {asn}\n router-id {lo}\n"
    ));
    let (rr, rr_as) = other;
    for c in clients {
        t.push_str(&format!(
            " peer {c} as-number {asn}\n peer {c} connect-interface LoopBack1\n \
             peer {c} timer keepalive 3 hold 9\n"
        ));
    }
    t.push_str(&format!(
        " peer {rr} as-number {rr_as}\n peer {rr} connect-interface LoopBack1\n \
         peer {rr} ebgp-max-hop 10\n peer {rr} timer keepalive 3 hold 9\n #\n ipv4-family unicast\n"
    ));
    for p in clients.iter().chain([&rr]) {
        t.push_str(&format!("  undo peer {p} enable\n"));
    }
    t.push_str(" #\n ipv6-family vpnv6\n  undo policy vpn-target\n");
    for c in clients {
        t.push_str(&format!(
            "  peer {c} enable\n  peer {c} reflect-client\n  peer {c} next-hop-invariable\n"
        ));
    }
    t.push_str(&format!(
        "  peer {rr} enable\n  peer {rr} next-hop-invariable\n#\nreturn\n"
    ));
    t
}

/// The CE: EBGP to PE1 over the vpn1 link, IPv6 unicast, `import-route direct` (the link and
/// a loopback prefix of its own).
const CE_CFG: &str = "#
sysname CE1
#
interface GigabitEthernet0/1/0
 undo shutdown
 ipv6 enable
 ipv6 address 2001:db8:1::1/64
#
interface LoopBack1
 ip address 9.9.9.1 255.255.255.255
 ipv6 enable
 ipv6 address 2001:db8:c::1/128
#
bgp 65001
 router-id 9.9.9.1
 peer 2001:db8:1::2 as-number 100
 peer 2001:db8:1::2 timer keepalive 3 hold 9
 #
 ipv6-family unicast
  undo synchronization
  import-route direct
  peer 2001:db8:1::2 enable
#
return
";

/// A command connecting from `from` to port 179 of each of `to`; it succeeds when every
/// connection is refused (a RST came back) and fails on a timeout.
fn probe(from: &str, to: &[&str]) -> String {
    let to: Vec<String> = to.iter().map(|a| format!("'{a}'")).collect();
    let to = to.join(", ");
    format!(
        "python3 -c \"
import socket
for to in [{to}]:
    s = socket.socket()
    s.settimeout(5)
    s.bind(('{from}', 0))
    try:
        s.connect((to, 179))
    except ConnectionRefusedError:
        pass
    s.close()
\""
    )
}

/// The running routers; dropped before their namespaces.
struct Topology {
    pe1: Ternd,
    pe3: Ternd,
    rr1: Ternd,
    rr2: Ternd,
    pe2: Ternd,
    ce: Option<Ternd>,
    _dir: TempDir,
    _ns: Vec<Netns>,
}

/// Links (/30), loopbacks, static routes between the loopbacks; vpn1 interfaces as veths to a
/// CE namespace each; the daemons started in an order where every session comes up on the
/// first attempt (each daemon connects to peers already listening). `with_ce`: a ternd CE
/// on PE1's vpn1 link.
fn topology(tag: &str, with_ce: bool) -> Topology {
    let ns = |t: &str| Netns::new(&format!("{tag}{t}"));
    let (pe1, rr1, rr2, pe2, pe3, ce1, ce2) = (
        ns("p1"),
        ns("r1"),
        ns("r2"),
        ns("p2"),
        ns("p3"),
        ns("c1"),
        ns("c2"),
    );
    link(&pe1, &["10.0.1.1/30"], &rr1, &["10.0.1.2/30"]);
    link(&rr1, &["10.0.2.1/30"], &rr2, &["10.0.2.2/30"]);
    link(&rr2, &["10.0.3.1/30"], &pe2, &["10.0.3.2/30"]);
    link(&pe3, &["10.0.4.1/30"], &rr1, &["10.0.4.2/30"]);
    link(
        &pe1,
        &["2001:db8:1::2/64", "192.168.1.2/24"],
        &ce1,
        &["2001:db8:1::1/64", "192.168.1.1/24"],
    );
    link(&pe2, &["2001:db8:2::2/64"], &ce2, &["2001:db8:2::1/64"]);
    for (n, lo) in [
        (&pe1, "1.1.1.9"),
        (&rr1, "2.2.2.9"),
        (&rr2, "3.3.3.9"),
        (&pe2, "4.4.4.9"),
        (&pe3, "5.5.5.9"),
    ] {
        n.loopback(&format!("{lo}/32"));
    }
    if with_ce {
        ce1.loopback("2001:db8:c::1/128");
    }
    pe1.sh("ip route add default via 10.0.1.2");
    pe3.sh("ip route add default via 10.0.4.2");
    pe2.sh("ip route add default via 10.0.3.1");
    rr1.sh(
        "ip route add 1.1.1.9/32 via 10.0.1.1 && ip route add 5.5.5.9/32 via 10.0.4.1 && \
         ip route add 3.3.3.9/32 via 10.0.2.2 && ip route add 4.4.4.9/32 via 10.0.2.2 && \
         ip route add 10.0.3.0/30 via 10.0.2.2",
    );
    rr2.sh(
        "ip route add 4.4.4.9/32 via 10.0.3.2 && ip route add 2.2.2.9/32 via 10.0.2.1 && \
         ip route add 1.1.1.9/32 via 10.0.2.1 && ip route add 5.5.5.9/32 via 10.0.2.1 && \
         ip route add 10.0.1.0/30 via 10.0.2.1 && ip route add 10.0.4.0/30 via 10.0.2.1",
    );
    // Every PE loopback reaches every other loopback: a TCP SYN to port 179 is answered
    // (refused, no daemon yet), so a session that stays down later is not the routing's doing.
    for (n, from) in [(&pe1, "1.1.1.9"), (&pe2, "4.4.4.9"), (&pe3, "5.5.5.9")] {
        n.sh(&probe(
            from,
            &["1.1.1.9", "2.2.2.9", "3.3.3.9", "4.4.4.9", "5.5.5.9"],
        ));
    }

    let dir = TempDir::new(tag);
    let v4 = ["0.0.0.0:179"];
    let both = ["0.0.0.0:179", "[::]:179"];
    let t_pe1 = Ternd::start(
        &pe1,
        &dir,
        "pe1",
        &pe_cfg(&Pe {
            name: "PE1",
            asn: 100,
            lo: "1.1.1.9",
            uplink: "10.0.1.1",
            rr: "2.2.2.9",
            rd: "100:1",
            site: Some(("2001:db8:1::2/64", Some("192.168.1.2"))),
            ce: with_ce.then_some(("2001:db8:1::1", 65001)),
        }),
        &both,
    );
    let t_pe3 = Ternd::start(
        &pe3,
        &dir,
        "pe3",
        &pe_cfg(&Pe {
            name: "PE3",
            asn: 100,
            lo: "5.5.5.9",
            uplink: "10.0.4.1",
            rr: "2.2.2.9",
            rd: "100:3",
            site: None,
            ce: None,
        }),
        &v4,
    );
    let t_rr1 = Ternd::start(
        &rr1,
        &dir,
        "rr1",
        &rr_cfg(
            "RR1",
            100,
            "2.2.2.9",
            &["10.0.1.2", "10.0.2.1", "10.0.4.2"],
            &["1.1.1.9", "5.5.5.9"],
            ("3.3.3.9", 200),
        ),
        &v4,
    );
    let t_rr2 = Ternd::start(
        &rr2,
        &dir,
        "rr2",
        &rr_cfg(
            "RR2",
            200,
            "3.3.3.9",
            &["10.0.2.2", "10.0.3.1"],
            &["4.4.4.9"],
            ("2.2.2.9", 100),
        ),
        &v4,
    );
    let t_pe2 = Ternd::start(
        &pe2,
        &dir,
        "pe2",
        &pe_cfg(&Pe {
            name: "PE2",
            asn: 200,
            lo: "4.4.4.9",
            uplink: "10.0.3.2",
            rr: "3.3.3.9",
            rd: "200:1",
            site: Some(("2001:db8:2::2/64", None)),
            ce: None,
        }),
        &v4,
    );
    let t_ce = with_ce.then(|| Ternd::start(&ce1, &dir, "ce1", CE_CFG, &["[::]:179"]));
    Topology {
        pe1: t_pe1,
        pe3: t_pe3,
        rr1: t_rr1,
        rr2: t_rr2,
        pe2: t_pe2,
        ce: t_ce,
        _dir: dir,
        _ns: vec![pe1, rr1, rr2, pe2, pe3, ce1, ce2],
    }
}

impl Topology {
    fn routers(&self) -> Vec<(&'static str, &Ternd)> {
        let mut v = vec![
            ("PE1", &self.pe1),
            ("PE3", &self.pe3),
            ("RR1", &self.rr1),
            ("RR2", &self.rr2),
            ("PE2", &self.pe2),
        ];
        if let Some(ce) = &self.ce {
            v.push(("CE1", ce));
        }
        v
    }

    /// Every router's VPNv6 and vpn1 tables, peers and log, for a failure message.
    fn dump(&self) -> String {
        let mut o = String::new();
        for (name, t) in self.routers() {
            o.push_str(&format!("===== {name} =====\n"));
            for cmd in [VPN6, VRF6, "display bgp peer"] {
                let out = t.display(cmd, false).unwrap_or_else(|e| e);
                o.push_str(&format!("--- {cmd}\n{out}\n"));
            }
            // The control API's HTTP/2 chatter left out.
            let text = t.log_text();
            let log: Vec<&str> = text.lines().filter(|l| !l.contains("h2::")).collect();
            o.push_str(&format!("--- log\n{}\n", log.join("\n")));
        }
        o
    }

    /// Waits for every session; fails with everything on a timeout.
    fn wait_sessions(&self) {
        let mut pairs = vec![
            (&self.pe1, "2.2.2.9"),
            (&self.pe3, "2.2.2.9"),
            (&self.rr1, "3.3.3.9"),
            (&self.pe2, "3.3.3.9"),
            (&self.rr1, "1.1.1.9"),
            (&self.rr1, "5.5.5.9"),
            (&self.rr2, "4.4.4.9"),
        ];
        if self.ce.is_some() {
            pairs.push((&self.pe1, "2001:db8:1::1"));
        }
        for (t, peer) in pairs {
            if !wait_for(LONG, || t.state(peer) == "Established") {
                panic!("{peer} not Established:\n{}", self.dump());
            }
        }
    }

    /// Waits until `f` holds; fails with `what` and everything on a timeout.
    fn expect(&self, what: &str, f: impl FnMut() -> bool) {
        if !wait_for(LONG, f) {
            panic!("{what}\n{}", self.dump());
        }
    }

    /// Checks `cond`, failing with `what`, the route and everything.
    fn check(&self, cond: bool, what: &str, r: &Value) {
        if !cond {
            panic!("{what}: {r:#}\n{}", self.dump());
        }
    }
}

fn table(t: &Ternd, command: &str) -> Value {
    let text = t
        .display(command, true)
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
}

/// The best path for `prefix` (under `rd`, in the VPN tables) in `command`'s table.
fn best(t: &Ternd, command: &str, rd: Option<&str>, prefix: &str) -> Option<Value> {
    table(t, command)["routes"]
        .as_array()?
        .iter()
        .find(|r| r["prefix"] == prefix && r["best"] == true && rd.is_none_or(|rd| r["rd"] == rd))
        .cloned()
}

fn labels(r: &Value) -> Vec<u64> {
    r["labels"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The label PE `t` gave its own vpn1 route `prefix` (RD `rd`, originated locally).
fn own_label(topo: &Topology, t: &Ternd, rd: &str, prefix: &str) -> u64 {
    topo.expect(&format!("{rd} {prefix} not exported"), || {
        best(t, VPN6, Some(rd), prefix).is_some()
    });
    let r = best(t, VPN6, Some(rd), prefix).unwrap();
    let l = labels(&r);
    topo.check(
        l.len() == 1 && l[0] >= 48000 && r["from"] == "0.0.0.0",
        "a locally exported route with one label from the dynamic range",
        &r,
    );
    l[0]
}

/// Types `lines` into a management session of `t`, each without error, ending with `commit`.
fn configure(t: &Ternd, lines: &[&str]) {
    let mut c = Blocking::connect(&t.control).expect("connect");
    let id = c.open_session("rr_topology").unwrap().session;
    for line in lines.iter().chain(&["commit", "return"]) {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {:?}", r.error);
    }
    c.close_session(id).unwrap();
}

fn mapped(a: &str) -> String {
    format!("::ffff:{a}")
}

#[test]
fn vpnv6_option_c_through_route_reflectors() {
    let topo = topology("rr", false);
    topo.wait_sessions();

    // PE1's vpn1 is dual-stack: its IPv4 family takes the first label of PE1's range, so its
    // VPNv6 label differs from the first one RR2 allocates (case 2 tells them apart).
    let l1 = own_label(&topo, &topo.pe1, "100:1", "2001:db8:1::/64");
    let l2 = own_label(&topo, &topo.pe2, "200:1", "2001:db8:2::/64");
    assert_ne!(
        l1, 48000,
        "precondition: PE1's VPNv6 label is not its first label"
    );

    // 1. next-hop-invariable on both RRs: the remote PE's loopback and label, end to end.
    let at_pe2 = || best(&topo.pe2, VRF6, None, "2001:db8:1::/64");
    topo.expect("PE1's prefix not in PE2's vpn1", || at_pe2().is_some());
    let r = at_pe2().unwrap();
    topo.check(r["next_hop"] == mapped("1.1.1.9"), "next hop PE1", &r);
    topo.check(labels(&r) == [l1], "PE1's label", &r);
    topo.check(r["as_path"] == "100", "AS path 100", &r);
    topo.check(
        r["valid"] == true && r["from"] == "3.3.3.9",
        "valid, from RR2",
        &r,
    );

    let at_pe1 = || best(&topo.pe1, VRF6, None, "2001:db8:2::/64");
    topo.expect("PE2's prefix not in PE1's vpn1", || at_pe1().is_some());
    let r = at_pe1().unwrap();
    topo.check(r["next_hop"] == mapped("4.4.4.9"), "next hop PE2", &r);
    topo.check(labels(&r) == [l2], "PE2's label", &r);
    topo.check(r["as_path"] == "200", "AS path 200", &r);
    topo.check(r["from"] == "2.2.2.9", "from RR1", &r);

    // Reflection (RFC 4456 §8): PE3 gets PE1's route from RR1 with ORIGINATOR_ID PE1 and
    // CLUSTER_LIST RR1, next hop and label untouched, and imports it into its vpn1.
    topo.expect("PE1's route not reflected to PE3", || {
        best(&topo.pe3, VPN6, Some("100:1"), "2001:db8:1::/64").is_some()
    });
    let r = best(&topo.pe3, VPN6, Some("100:1"), "2001:db8:1::/64").unwrap();
    topo.check(r["originator_id"] == "1.1.1.9", "ORIGINATOR_ID PE1", &r);
    topo.check(
        r["cluster_list"] == serde_json::json!(["2.2.2.9"]),
        "CLUSTER_LIST [RR1]",
        &r,
    );
    topo.check(
        r["next_hop"] == mapped("1.1.1.9") && labels(&r) == [l1],
        "PE1's next hop and label",
        &r,
    );
    topo.check(
        r["as_path"] == "" && r["local_pref"] == 100,
        "IBGP: empty AS path",
        &r,
    );
    topo.expect("PE1's prefix not in PE3's vpn1", || {
        best(&topo.pe3, VRF6, None, "2001:db8:1::/64").is_some()
    });
    // PE2's route reaches PE3 too: learned by RR1 over EBGP, so not a reflection.
    topo.expect("PE2's route not at PE3", || {
        best(&topo.pe3, VPN6, Some("200:1"), "2001:db8:2::/64").is_some()
    });
    let r = best(&topo.pe3, VPN6, Some("200:1"), "2001:db8:2::/64").unwrap();
    topo.check(
        r["next_hop"] == mapped("4.4.4.9") && labels(&r) == [l2] && r["as_path"] == "200",
        "PE2's next hop and label, AS path 200",
        &r,
    );
    topo.check(
        r["originator_id"].is_null() && r["cluster_list"] == serde_json::json!([]),
        "no reflection attributes on a route RR1 learned over EBGP",
        &r,
    );

    // Not sent to an EBGP peer: RR2 receives PE1's route without them, and PE2's copy
    // (RR2 → client, an EBGP-learned route, not a reflection) has none either.
    for (name, t) in [("RR2", &topo.rr2), ("PE2", &topo.pe2)] {
        let r = best(t, VPN6, Some("100:1"), "2001:db8:1::/64")
            .unwrap_or_else(|| panic!("{name}: no RD 100:1 route\n{}", topo.dump()));
        topo.check(
            r["originator_id"].is_null() && r["cluster_list"] == serde_json::json!([]),
            &format!("{name}: ORIGINATOR_ID / CLUSTER_LIST stripped over EBGP"),
            &r,
        );
        topo.check(r["as_path"] == "100", &format!("{name}: AS path 100"), &r);
    }
    // RR1 and RR2 keep routes no local instance imports (they have no instances).
    for (t, rd, prefix) in [
        (&topo.rr1, "200:1", "2001:db8:2::/64"),
        (&topo.rr2, "100:1", "2001:db8:1::/64"),
    ] {
        let r = best(t, VPN6, Some(rd), prefix).expect("route at the RR");
        topo.check(r["valid"] == true, "kept and valid at the RR", &r);
    }

    // 2. RR2 changes the next hop toward PE2: next hop RR2, a label RR2 allocated; the
    // session is not reset (the change is re-advertised).
    let ups = topo.pe2.peer("3.3.3.9")["up_count"].clone();
    configure(
        &topo.rr2,
        &[
            "system-view",
            "bgp 200",
            "ipv6-family vpnv6",
            "undo peer 4.4.4.9 next-hop-invariable",
        ],
    );
    topo.expect("PE2 did not get RR2 as next hop", || {
        at_pe2().is_some_and(|r| r["next_hop"] == mapped("3.3.3.9"))
    });
    let r = at_pe2().unwrap();
    let l = labels(&r);
    topo.check(
        l.len() == 1 && l[0] >= 48000 && l[0] != l1,
        "a label of RR2's, not PE1's",
        &r,
    );
    topo.check(r["as_path"] == "100", "AS path still 100", &r);
    let v = best(&topo.pe2, VPN6, Some("100:1"), "2001:db8:1::/64").unwrap();
    topo.check(
        v["next_hop"] == mapped("3.3.3.9") && labels(&v) == l,
        "the VPNv6 table agrees",
        &v,
    );
    assert_eq!(
        topo.pe2.peer("3.3.3.9")["up_count"],
        ups,
        "session reset by the change\n{}",
        topo.dump()
    );
    // The other direction is untouched.
    let r = at_pe1().unwrap();
    topo.check(
        r["next_hop"] == mapped("4.4.4.9") && labels(&r) == [l2],
        "PE1 still sees PE2's next hop and label",
        &r,
    );

    // And back: PE1's next hop and label again.
    configure(
        &topo.rr2,
        &[
            "system-view",
            "bgp 200",
            "ipv6-family vpnv6",
            "peer 4.4.4.9 next-hop-invariable",
        ],
    );
    topo.expect("PE2 did not get PE1's next hop back", || {
        at_pe2().is_some_and(|r| r["next_hop"] == mapped("1.1.1.9") && labels(&r) == [l1])
    });
}

#[test]
fn a_ce_route_crosses_both_ases() {
    let topo = topology("rc", true);
    topo.wait_sessions();
    let ce = topo.ce.as_ref().unwrap();
    let l1 = own_label(&topo, &topo.pe1, "100:1", "2001:db8:1::/64");

    // CE → PE1's vpn1 → VPNv6 (RD 100:1, PE1's instance label) → RR1 → RR2 → PE2's vpn1.
    topo.expect("the CE's prefix not in PE1's vpn1", || {
        best(&topo.pe1, VRF6, None, "2001:db8:c::1/128").is_some()
    });
    let r = best(&topo.pe1, VRF6, None, "2001:db8:c::1/128").unwrap();
    topo.check(
        r["from"] == "2001:db8:1::1" && r["as_path"] == "65001",
        "from the CE, AS path 65001",
        &r,
    );
    let at_pe2 = || best(&topo.pe2, VRF6, None, "2001:db8:c::1/128");
    topo.expect("the CE's prefix not in PE2's vpn1", || at_pe2().is_some());
    let r = at_pe2().unwrap();
    topo.check(
        r["next_hop"] == mapped("1.1.1.9") && labels(&r) == [l1],
        "PE1's next hop and instance label",
        &r,
    );
    topo.check(r["as_path"] == "100 65001", "AS path 100 65001", &r);

    // PE1 sends the CE its vpn1 best paths but the CE's own: PE2's prefix and the link prefix
    // (PE1's direct route is preferred to the CE's copy, as a local route).
    let r = best(&topo.pe1, VRF6, None, "2001:db8:1::/64").unwrap();
    topo.check(r["from"] == "0.0.0.0", "PE1's own link route best", &r);
    topo.expect("the CE did not get PE2's and the link prefix", || {
        ce.peer("2001:db8:1::2")["prefixes"] == serde_json::json!({"ipv6-unicast": 2})
    });
}
