//! The seed's two command sequences typed into running daemons, then `commit`:
//!
//! - the PE part on PE1 (AS 100): EBGP to the remote RR/PE 3.3.3.9 in AS 200 between
//!   loopbacks, `connect-interface`, `ebgp-max-hop 10`, VPNv6 enabled;
//! - the RR part on RR1 (AS 100): the same towards RR2 in AS 200, plus PE1 as its
//!   `reflect-client` and `next-hop-invariable` towards both.
//!
//! Topology (namespaces, kernel forwarding, static routes to the loopbacks):
//! PE1 (1.1.1.9) — RR1 (2.2.2.9) — RR2 (3.3.3.9). RR2 runs from a file. The prompts are
//! VRP's, and after `commit` the sessions come up with VPNv6 negotiated.

mod common;

use std::time::Duration;

use common::{Netns, TempDir, Ternd, families, link};
use tern_api::Blocking;

fn base(name: &str, ifaces: &[(&str, &str)], lo: &str) -> String {
    let mut t = format!("#\nsysname {name}\n#\n");
    for (ifname, addr) in ifaces {
        t.push_str(&format!(
            "interface {ifname}\n ip address {addr} 255.255.255.0\n#\n"
        ));
    }
    t.push_str(&format!(
        "interface LoopBack1\n ip address {lo} 255.255.255.255\n#\nreturn\n"
    ));
    t
}

/// Types `lines` in a new session, checking the prompt after each; returns the session.
fn type_lines(c: &mut Blocking, lines: &[(&str, &str)]) -> u64 {
    let id = c.open_session("seed").unwrap().session;
    for (line, prompt) in lines {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {:?}", r.error);
        assert_eq!(&r.prompt, prompt, "after `{line}`");
    }
    id
}

#[test]
fn the_seed_pe_and_rr_sequences() {
    let pe1 = Netns::new("pe");
    let rr1 = Netns::new("r1");
    let rr2 = Netns::new("r2");
    link(&pe1, &["10.1.0.1/24"], &rr1, &["10.1.0.2/24"]);
    link(&rr1, &["10.2.0.1/24"], &rr2, &["10.2.0.2/24"]);
    pe1.loopback("1.1.1.9/32");
    rr1.loopback("2.2.2.9/32");
    rr2.loopback("3.3.3.9/32");
    pe1.sh("ip route add 2.2.2.9/32 via 10.1.0.2 && ip route add 3.3.3.9/32 via 10.1.0.2 && ip route add 10.2.0.0/24 via 10.1.0.2");
    rr1.sh("ip route add 1.1.1.9/32 via 10.1.0.1 && ip route add 3.3.3.9/32 via 10.2.0.2");
    rr2.sh("ip route add 2.2.2.9/32 via 10.2.0.1 && ip route add 1.1.1.9/32 via 10.2.0.1 && ip route add 10.1.0.0/24 via 10.2.0.1");
    let dir = TempDir::new("seed");
    let rr2_cfg = "#\nsysname RR2\n#\ninterface GigabitEthernet0/1/0\n ip address 10.2.0.2 255.255.255.0\n#\n\
        interface LoopBack1\n ip address 3.3.3.9 255.255.255.255\n#\nbgp 200\n \
        peer 2.2.2.9 as-number 100\n peer 2.2.2.9 connect-interface LoopBack1\n peer 2.2.2.9 ebgp-max-hop 10\n \
        peer 1.1.1.9 as-number 100\n peer 1.1.1.9 connect-interface LoopBack1\n peer 1.1.1.9 ebgp-max-hop 10\n #\n \
        ipv6-family vpnv6\n  peer 2.2.2.9 enable\n  peer 1.1.1.9 enable\n#\nreturn\n";
    let t_rr2 = Ternd::start(&rr2, &dir, "rr2", rr2_cfg, &["0.0.0.0:179"]);
    let t_pe1 = Ternd::start(
        &pe1,
        &dir,
        "pe1",
        &base("PE1", &[("GigabitEthernet0/1/0", "10.1.0.1")], "1.1.1.9"),
        &["0.0.0.0:179"],
    );
    let t_rr1 = Ternd::start(
        &rr1,
        &dir,
        "rr1",
        &base(
            "RR1",
            &[
                ("GigabitEthernet0/1/0", "10.1.0.2"),
                ("GigabitEthernet0/2/0", "10.2.0.1"),
            ],
            "2.2.2.9",
        ),
        &["0.0.0.0:179"],
    );

    // The PE part, as the seed lists it, on PE1 (the remote PE here is RR2's address).
    let mut c = Blocking::connect(&t_pe1.control).unwrap();
    type_lines(
        &mut c,
        &[
            ("system-view", "[~PE1]"),
            ("bgp 100", "[*PE1-bgp]"),
            ("peer 3.3.3.9 as-number 200", "[*PE1-bgp]"),
            ("peer 3.3.3.9 connect-interface LoopBack1", "[*PE1-bgp]"),
            ("peer 3.3.3.9 ebgp-max-hop 10", "[*PE1-bgp]"),
            ("ipv6-family vpnv6", "[*PE1-bgp-af-vpnv6]"),
            ("peer 3.3.3.9 enable", "[*PE1-bgp-af-vpnv6]"),
            ("commit", "[~PE1-bgp-af-vpnv6]"),
        ],
    );

    // The RR part on RR1: the EBGP RR peer, then PE1 as a client (an IBGP peer, which needs
    // its as-number and source first).
    let mut c = Blocking::connect(&t_rr1.control).unwrap();
    type_lines(
        &mut c,
        &[
            ("system-view", "[~RR1]"),
            ("bgp 100", "[*RR1-bgp]"),
            ("peer 3.3.3.9 as-number 200", "[*RR1-bgp]"),
            ("peer 3.3.3.9 connect-interface LoopBack 1", "[*RR1-bgp]"),
            ("peer 3.3.3.9 ebgp-max-hop 10", "[*RR1-bgp]"),
            ("peer 1.1.1.9 as-number 100", "[*RR1-bgp]"),
            ("peer 1.1.1.9 connect-interface LoopBack1", "[*RR1-bgp]"),
            ("ipv6-family vpnv6", "[*RR1-bgp-af-vpnv6]"),
            ("peer 3.3.3.9 enable", "[*RR1-bgp-af-vpnv6]"),
            ("peer 1.1.1.9 enable", "[*RR1-bgp-af-vpnv6]"),
            ("peer 1.1.1.9 reflect-client", "[*RR1-bgp-af-vpnv6]"),
            ("peer 3.3.3.9 next-hop-invariable", "[*RR1-bgp-af-vpnv6]"),
            ("peer 1.1.1.9 next-hop-invariable", "[*RR1-bgp-af-vpnv6]"),
            ("commit", "[~RR1-bgp-af-vpnv6]"),
        ],
    );
    let cur = c
        .display("display current-configuration", false)
        .unwrap()
        .output;
    for l in [
        " peer 3.3.3.9 as-number 200",
        " peer 3.3.3.9 ebgp-max-hop 10",
        " peer 3.3.3.9 connect-interface LoopBack1",
        "  peer 1.1.1.9 reflect-client",
        "  peer 3.3.3.9 next-hop-invariable",
        "  peer 1.1.1.9 next-hop-invariable",
    ] {
        assert!(cur.lines().any(|x| x == l), "`{l}` missing:\n{cur}");
    }

    // The committed configuration runs: PE1 — RR2 (EBGP, 2 hops), RR1 — RR2 (EBGP), and
    // PE1 as RR1's client (RR1 has no route-free path issue: IBGP between loopbacks).
    // IPv4 unicast is on by default for an IPv4 peer, as on VRP.
    let vpnv6 = vec!["ipv4-unicast".to_string(), "vpnv6".to_string()];
    let p = t_pe1.wait_established("3.3.3.9", Duration::from_secs(60));
    assert_eq!(families(&p), vpnv6);
    let p = t_rr1.wait_established("3.3.3.9", Duration::from_secs(60));
    assert_eq!(families(&p), vpnv6);
    t_rr2.wait_established("1.1.1.9", Duration::from_secs(10));
    t_rr2.wait_established("2.2.2.9", Duration::from_secs(10));
    // PE1 has no session configured towards RR1 in the seed's PE part, so RR1's client
    // session waits; configure it on PE1 and commit: the daemon starts it.
    let mut c = Blocking::connect(&t_pe1.control).unwrap();
    type_lines(
        &mut c,
        &[
            ("system-view", "[~PE1]"),
            ("bgp 100", "[~PE1-bgp]"),
            ("peer 2.2.2.9 as-number 100", "[*PE1-bgp]"),
            ("peer 2.2.2.9 connect-interface LoopBack1", "[*PE1-bgp]"),
            ("ipv6-family vpnv6", "[*PE1-bgp-af-vpnv6]"),
            ("peer 2.2.2.9 enable", "[*PE1-bgp-af-vpnv6]"),
            ("commit", "[~PE1-bgp-af-vpnv6]"),
        ],
    );
    let p = t_rr1.wait_established("1.1.1.9", Duration::from_secs(60));
    assert!(families(&p).contains(&"vpnv6".to_string()), "{p}");
    assert_eq!(p["ebgp"], false);
}
