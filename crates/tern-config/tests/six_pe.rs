//! 6PE (RFC 4798) in the configuration: `peer ipv4-address label-route-capability` in
//! `ipv6-family unicast` (VRP's "peer label-route-capability (BGP-IPv6 unicast address family
//! view)"): parsed, printed, undone, refused for an IPv6 peer, and a session-resetting change
//! (the capability is renegotiated, as VRP does).

use std::net::IpAddr;

use tern_config::{AfField, AfKey, Delta, PeerKey, Running, Session, parse_file};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The vendor reference's example, with an IPv6 peer beside.
const LINES: &[&str] = &[
    "bgp 100",
    "peer 10.1.1.2 as-number 100",
    "peer 2001:db8::2 as-number 200",
    "ipv6-family unicast",
    "peer 10.1.1.2 enable",
    "peer 10.1.1.2 label-route-capability",
    "peer 2001:db8::2 enable",
];

fn session(lines: &[&str]) -> Session {
    let mut s = Session::new();
    for l in lines {
        s.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
    s
}

#[test]
fn parsed_printed_and_undone() {
    let mut s = session(LINES);
    let bgp = s.config().bgp.as_ref().unwrap();
    let af = bgp.family(&AfKey::Ipv6Unicast).unwrap();
    let p = af.peer(ip("10.1.1.2")).unwrap();
    assert!(p.enable && p.label_route_capability);
    assert!(!af.peer(ip("2001:db8::2")).unwrap().label_route_capability);
    // Not in IPv4 unicast: the two families' options are apart.
    assert!(
        bgp.family(&AfKey::Ipv4Unicast)
            .and_then(|f| f.peer(ip("10.1.1.2")))
            .is_none_or(|p| !p.label_route_capability)
    );

    let text = s.config().to_vrp();
    assert!(
        text.contains(
            " ipv6-family unicast\n  peer 10.1.1.2 enable\n  \
             peer 10.1.1.2 label-route-capability\n  peer 2001:db8::2 enable\n"
        ),
        "{text}"
    );
    // Printed, read back: the same model.
    assert_eq!(parse_file(&text).unwrap(), *s.config());

    s.apply_line("undo peer 10.1.1.2 label-route-capability")
        .unwrap();
    let af = s
        .config()
        .bgp
        .as_ref()
        .unwrap()
        .family(&AfKey::Ipv6Unicast)
        .unwrap();
    let p = af.peer(ip("10.1.1.2")).unwrap();
    assert!(p.enable && !p.label_route_capability);
    assert!(
        !s.config()
            .to_vrp()
            .contains("peer 10.1.1.2 label-route-capability")
    );
}

#[test]
fn an_ipv6_peer_is_refused() {
    let mut s = session(LINES);
    let before = s.config().clone();
    let e = s
        .apply_line("peer 2001:db8::2 label-route-capability")
        .expect_err("IPv6 peer");
    assert_eq!(e.message(), "Error: Wrong parameter found at '^' position.");
    assert_eq!(*s.config(), before, "nothing kept");
    // Its undo is harmless (nothing to undo), and an IPv4 peer is still accepted.
    s.apply_line("peer 10.1.1.2 label-route-capability")
        .unwrap();
}

#[test]
fn the_capability_change_resets_the_session() {
    let old = parse_file(
        "bgp 100\n peer 10.1.1.2 as-number 100\n peer 10.1.1.3 as-number 100\n \
         ipv6-family unicast\n  peer 10.1.1.2 enable\n  peer 10.1.1.3 enable\n",
    )
    .unwrap();
    let mut running = Running::new(old);
    let pk = |a: &str| PeerKey {
        vrf: None,
        addr: a.parse().unwrap(),
    };
    for (line, undo) in [
        ("peer 10.1.1.2 label-route-capability", false),
        ("undo peer 10.1.1.2 label-route-capability", true),
    ] {
        let mut c = running.candidate("root");
        for l in ["bgp 100", "ipv6-family unicast", line] {
            c.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
        }
        let id = c.commit(&mut running, "").unwrap().unwrap();
        let cs = running.commit_change_set(id).unwrap();
        assert_eq!(
            cs.deltas,
            vec![Delta::PeerFamilyOption(
                pk("10.1.1.2"),
                AfKey::Ipv6Unicast,
                AfField::LabelRouteCapability
            )],
            "undo: {undo}"
        );
        assert_eq!(
            cs.sessions_to_reset(),
            vec![&pk("10.1.1.2")],
            "undo: {undo}"
        );
    }
}

/// Elsewhere the line is refused, not kept and ignored: VPN instance peers' labeled routes are
/// not implemented, and the VPN views have no such command.
#[test]
fn other_views_refuse_it() {
    for (view, peer) in [
        ("ipv4-family vpnv4", "peer 10.1.1.2 enable"),
        ("ipv6-family vpnv6", "peer 10.1.1.2 enable"),
        (
            "ipv6-family vpn-instance v",
            "peer 2001:db8:1::2 as-number 300",
        ),
        ("ipv4-family vpn-instance v", "peer 10.9.0.2 as-number 300"),
    ] {
        let mut s = session(&[
            "ip vpn-instance v",
            "ipv4-family",
            "route-distinguisher 100:1",
            "quit",
            "ipv6-family",
            "route-distinguisher 100:1",
            "quit",
            "quit",
            "bgp 100",
            "peer 10.1.1.2 as-number 100",
            view,
            peer,
        ]);
        let addr = peer.split_whitespace().nth(1).unwrap();
        let before = s.config().clone();
        let e = s
            .apply_line(&format!("peer {addr} label-route-capability"))
            .expect_err(view);
        assert!(
            e.message().contains("only in ipv4-family unicast"),
            "{view}: {}",
            e.message()
        );
        assert_eq!(*s.config(), before, "{view}: nothing kept");
    }
}
