//! Typed lines through a [`Session`]: the seed's commands, abbreviations, VRP's error messages
//! with their carets, and the rules checked when a line is entered.

use std::net::IpAddr;

use tern_config::{
    AfKey, Config, ConfigError, ErrorKind, Outcome, Session, SessionCmd, ViewId, parse_file,
};
use tern_types::Asn;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn session(lines: &[&str]) -> Session {
    let mut s = Session::new();
    for l in lines {
        s.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
    s
}

/// Applies a line that must fail; checks the model did not change.
fn fails(s: &mut Session, line: &str) -> ConfigError {
    let before: Config = s.config().clone();
    let view = s.view();
    let e = s.apply_line(line).expect_err(line);
    assert_eq!(*s.config(), before, "model changed by rejected `{line}`");
    assert_eq!(s.view(), view, "view changed by rejected `{line}`");
    e
}

/// The caret line and message as VRP prints them under the typed line.
fn vrp(e: &ConfigError) -> String {
    format!("{}\n{}", e.caret_line().unwrap_or_default(), e.message())
}

const SEED: &[&str] = &[
    "bgp 100",
    "peer 4.4.4.9 as-number 200",
    "peer 4.4.4.9 connect-interface LoopBack1",
    "peer 4.4.4.9 ebgp-max-hop 10",
    "ipv6-family vpnv6",
    "peer 4.4.4.9 enable",
];

#[test]
fn seed_commands_typed_equal_file() {
    let s = session(SEED);
    assert_eq!(s.view(), ViewId::BgpVpnv6);
    assert_eq!(s.prompt(), "[~HUAWEI-bgp-af-vpnv6]");
    let file = parse_file(
        "#\nbgp 100\n peer 4.4.4.9 as-number 200\n peer 4.4.4.9 connect-interface LoopBack1\n \
         peer 4.4.4.9 ebgp-max-hop 10\n #\n ipv6-family vpnv6\n  peer 4.4.4.9 enable\n#\nreturn\n",
    )
    .unwrap();
    assert_eq!(*s.config(), file);

    // The same peer as in the vendor's PE1.
    let pe1 = parse_file(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/reference/huawei/ipv6-option-c-s1/PE1.cfg"),
        )
        .unwrap(),
    )
    .unwrap();
    let (a, b) = (s.config().bgp.as_ref().unwrap(), pe1.bgp.as_ref().unwrap());
    assert_eq!(a.peer(ip("4.4.4.9")), b.peer(ip("4.4.4.9")));
    assert_eq!(
        a.family(&AfKey::Vpnv6).unwrap().peer(ip("4.4.4.9")),
        b.family(&AfKey::Vpnv6).unwrap().peer(ip("4.4.4.9"))
    );
}

#[test]
fn views_walk_like_vrp() {
    let mut s = session(SEED);
    // A system-view command typed in a BGP family view leaves to the system view.
    s.apply_line("interface LoopBack1").unwrap();
    assert_eq!(s.prompt(), "[~HUAWEI-LoopBack1]");
    s.apply_line("ip address 1.1.1.9 32").unwrap();
    s.apply_line("quit").unwrap();
    assert_eq!(s.view(), ViewId::System);
    s.apply_line("bgp 100").unwrap();
    s.apply_line("ipv4-family vpnv4").unwrap();
    // A BGP-view command from a family view goes up one level.
    s.apply_line("peer 4.4.4.9 description to PE2 via ASBRs")
        .unwrap();
    assert_eq!(s.view(), ViewId::Bgp);
    let p = s.config().bgp_peer(ip("4.4.4.9")).unwrap();
    assert_eq!(p.description.as_deref(), Some("to PE2 via ASBRs"));
    assert_eq!(
        s.config().interface("loopback1").unwrap().ipv4,
        vec!["1.1.1.9/32".parse().unwrap()]
    );
    assert_eq!(s.apply_line("return").unwrap(), Outcome::ViewChanged);
    assert_eq!(s.prompt(), "<HUAWEI>");
    s.apply_line("system-view").unwrap();
    assert_eq!(s.view(), ViewId::System);
}

#[test]
fn keywords_by_unique_prefix() {
    let mut s = session(&[
        "sysn PE1",
        "bg 100",
        "pe 1.1.1.1 as-n 100",
        "pe 1.1.1.1 conn LoopBack1",
    ]);
    assert_eq!(s.config().sysname, "PE1");
    assert_eq!(
        s.apply_line("dis cur").unwrap(),
        Outcome::Display(SessionCmd::DisplayCurrent)
    );
    assert_eq!(
        s.apply_line("DISPLAY THIS").unwrap(),
        Outcome::Display(SessionCmd::DisplayThis)
    );
    s.apply_line("ipv4-family un").unwrap();
    assert_eq!(s.view(), ViewId::BgpIpv4Unicast);
    s.apply_line("un syn").unwrap();
    let uni = s
        .config()
        .bgp
        .as_ref()
        .unwrap()
        .family(&AfKey::Ipv4Unicast)
        .unwrap();
    assert_eq!(uni.synchronization, Some(false));
    let p = s.config().bgp_peer(ip("1.1.1.1")).unwrap();
    assert_eq!(
        p.connect_interface.as_ref().unwrap().interface.as_deref(),
        Some("LoopBack1")
    );
}

#[test]
fn error_messages_and_carets() {
    let mut s = session(&["bgp 100", "peer 1.1.1.1 as-number 200"]);

    let e = fails(&mut s, "peer 1.1.1.1 ebgp-max-hop 300");
    assert_eq!(e.kind, ErrorKind::WrongParameter);
    assert_eq!(
        vrp(&e),
        "                          ^\nError: Wrong parameter found at '^' position."
    );

    let e = fails(&mut s, "peer 1.1.1.1 ebgp-max-hop 0");
    assert_eq!(e.kind, ErrorKind::WrongParameter);

    let e = fails(&mut s, "peer 1.1.1.1 frobnicate");
    assert_eq!(
        vrp(&e),
        "             ^\nError: Unrecognized command found at '^' position."
    );

    let e = fails(&mut s, "peer 1.1.1.1 as-number");
    assert_eq!(e.kind, ErrorKind::Incomplete);
    assert_eq!(
        vrp(&e),
        "                       ^\nError: Incomplete command found at '^' position."
    );

    let e = fails(&mut s, "peer 1.1.1.1 as-number 200 300");
    assert_eq!(
        vrp(&e),
        "                           ^\nError: Too many parameters found at '^' position."
    );

    let e = fails(&mut s, "peer 1.1.1.1 next-hop");
    assert_eq!(
        vrp(&e),
        "             ^\nError: Ambiguous command found at '^' position."
    );

    let e = fails(&mut s, "peer 1.1.1.1 as-number 4294967296");
    assert_eq!(e.kind, ErrorKind::WrongParameter);
    assert_eq!(e.column, Some(23));
    let e = fails(&mut s, "peer 1.1.1.1 as-number 0");
    assert_eq!(e.kind, ErrorKind::WrongParameter);
    let e = fails(&mut s, "peer 1.1.1.256 as-number 10");
    assert_eq!(e.kind, ErrorKind::WrongParameter);
    assert_eq!(e.column, Some(5));

    let mut sys = Session::new();
    let e = fails(&mut sys, "i");
    assert_eq!(e.kind, ErrorKind::Ambiguous);
    let e = fails(&mut sys, "bogus 1");
    assert_eq!(
        vrp(&e),
        "^\nError: Unrecognized command found at '^' position."
    );
    let e = fails(&mut sys, "undo");
    assert_eq!(e.kind, ErrorKind::Incomplete);
}

#[test]
fn file_errors_carry_line_and_caret() {
    let e = parse_file("#\nsysname PE1\n#\nbgp 100\n peer 1.1.1.1 as-number 100\n peer 1.1.1.1 ebgp-max-hop 256\n#\nreturn\n")
        .unwrap_err();
    assert_eq!(e.line_no, 6);
    assert_eq!(e.line, " peer 1.1.1.1 ebgp-max-hop 256");
    assert_eq!(e.column, Some(27));
    assert_eq!(
        e.to_string(),
        "line 6:\n peer 1.1.1.1 ebgp-max-hop 256\n                           ^\nError: Wrong parameter found at '^' position."
    );

    // Lines outside the grammar are errors, in any view.
    let e = parse_file("bgp 100\n frobnicate on\n").unwrap_err();
    assert_eq!(
        (e.line_no, e.kind.clone(), e.column),
        (2, ErrorKind::Unrecognized, Some(1))
    );
    let e = parse_file("ospf 1\n area 0.0.0.0\n  frobnicate\n").unwrap_err();
    assert_eq!((e.line_no, e.column), (3, Some(2)));
    // Indentation deeper than the open views.
    let e = parse_file("sysname A\n  bgp 100\n").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unrecognized);
    // A rule violation has no caret.
    let e = parse_file("bgp 100\n peer 1.1.1.1 ebgp-max-hop 2\n").unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected("Error: The peer does not exist.".into())
    );
    assert_eq!(e.column, None);
}

#[test]
fn peer_needs_as_number_first() {
    let mut s = session(&["bgp 100"]);
    for line in [
        "peer 9.9.9.9 ebgp-max-hop 10",
        "peer 9.9.9.9 connect-interface LoopBack1",
        "peer 9.9.9.9 password cipher secret",
        "peer 9.9.9.9 enable",
        "undo peer 9.9.9.9",
    ] {
        let e = fails(&mut s, line);
        assert_eq!(e.message(), "Error: The peer does not exist.", "{line}");
    }
    // In a VPN instance family, the peer must exist there, not in the public BGP view.
    let mut s = session(&[
        "ip vpn-instance vpn1",
        "ipv4-family",
        "route-distinguisher 100:1",
        "bgp 100",
        "peer 10.1.1.1 as-number 65001",
        "ipv4-family vpn-instance vpn1",
    ]);
    let e = fails(&mut s, "peer 10.1.1.1 route-policy p1 import");
    assert_eq!(e.message(), "Error: The peer does not exist.");
    s.apply_line("peer 10.1.1.2 as-number 65001").unwrap();
    s.apply_line("peer 10.1.1.2 route-policy p1 import")
        .unwrap();
    let bgp = s.config().bgp.as_ref().unwrap();
    assert!(bgp.peer(ip("10.1.1.2")).is_none());
    let vrf = bgp
        .family(&AfKey::Vrf {
            afi: tern_types::Afi::IPV4,
            name: "vpn1".into(),
        })
        .unwrap();
    assert_eq!(vrf.vrf_peers[&ip("10.1.1.2")].asn, Asn(65001));
    assert_eq!(
        vrf.peer(ip("10.1.1.2"))
            .unwrap()
            .route_policy_import
            .as_deref(),
        Some("p1")
    );
}

#[test]
fn vrp_rules_reject_and_keep_the_model() {
    let mut s = session(&[
        "bgp 100",
        "peer 4.4.4.9 as-number 200",
        "peer 2.2.2.9 as-number 100",
        "peer 4.4.4.9 ebgp-max-hop",
        "peer 2.2.2.9 valid-ttl-hops 2",
    ]);
    let bgp = s.config().bgp.as_ref().unwrap();
    assert_eq!(bgp.peer(ip("4.4.4.9")).unwrap().ebgp_max_hop, Some(255));
    assert_eq!(bgp.peer(ip("2.2.2.9")).unwrap().valid_ttl_hops, Some(2));

    let e = fails(&mut s, "peer 4.4.4.9 valid-ttl-hops 1");
    assert!(
        e.message().contains("mutually exclusive"),
        "{}",
        e.message()
    );
    let e = fails(&mut s, "peer 2.2.2.9 ebgp-max-hop 3");
    assert!(e.message().contains("mutually exclusive"));
    // After undo the other one is accepted.
    s.apply_line("undo peer 4.4.4.9 ebgp-max-hop").unwrap();
    s.apply_line("peer 4.4.4.9 valid-ttl-hops 1").unwrap();

    s.apply_line("ipv4-family vpnv4").unwrap();
    let e = fails(&mut s, "peer 4.4.4.9 reflect-client");
    assert_eq!(
        e.message(),
        "Error: The peer reflect-client command can be used only for IBGP peers."
    );
    s.apply_line("peer 2.2.2.9 reflect-client").unwrap();
    // A client cannot become external.
    let e = fails(&mut s, "peer 2.2.2.9 as-number 300");
    assert!(matches!(e.kind, ErrorKind::Rejected(_)));

    s.apply_line("peer 2.2.2.9 next-hop-invariable").unwrap();
    let e = fails(&mut s, "peer 2.2.2.9 next-hop-local");
    assert!(e.message().contains("mutually exclusive"));
    s.apply_line("undo peer 2.2.2.9 next-hop-invariable")
        .unwrap();
    s.apply_line("peer 2.2.2.9 next-hop-local").unwrap();
    let e = fails(&mut s, "peer 2.2.2.9 next-hop-invariable");
    assert!(e.message().contains("mutually exclusive"));

    // One BGP instance.
    let e = fails(&mut s, "bgp 200");
    assert!(matches!(e.kind, ErrorKind::Rejected(_)));

    // Timers: hold 0 or >= 3 and >= 3 x keepalive.
    s.apply_line("quit").unwrap();
    s.apply_line("peer 4.4.4.9 timer keepalive 30 hold 90")
        .unwrap();
    fails(&mut s, "peer 4.4.4.9 timer keepalive 30 hold 60");
    fails(&mut s, "peer 4.4.4.9 timer keepalive 0 hold 2");
    let t = s.config().bgp_peer(ip("4.4.4.9")).unwrap().timers.unwrap();
    assert_eq!((t.keepalive, t.hold), (30, 90));

    // Deleting a peer removes its family settings.
    s.apply_line("undo peer 2.2.2.9").unwrap();
    let bgp = s.config().bgp.as_ref().unwrap();
    assert!(bgp.peer(ip("2.2.2.9")).is_none());
    assert!(
        bgp.family(&AfKey::Vpnv4)
            .unwrap()
            .peer(ip("2.2.2.9"))
            .is_none()
    );
}

#[test]
fn dotted_and_four_octet_as() {
    let s = session(&[
        "bgp 1.10",
        "peer 1.1.1.1 as-number 1.10",
        "peer 2.2.2.2 as-number 4294967295",
        "peer 2001:db8::2 as-number 65001",
    ]);
    let bgp = s.config().bgp.as_ref().unwrap();
    assert_eq!(bgp.asn, Asn(65546));
    assert_eq!(bgp.peer(ip("1.1.1.1")).unwrap().asn, Asn(65546));
    assert!(bgp.is_ibgp(bgp.peer(ip("1.1.1.1")).unwrap()));
    assert_eq!(bgp.peer(ip("2.2.2.2")).unwrap().asn, Asn(u32::MAX));
    assert_eq!(bgp.peer(ip("2001:db8::2")).unwrap().asn, Asn(65001));
}

#[test]
fn as_numbers_rds_and_targets_print_as_written() {
    let mut s = session(&[
        "as-notation plain",
        "ip vpn-instance vpn1",
        "ipv4-family",
        "route-distinguisher 1.100:1",
        "vpn-target 2.200:2 65636:3 export-extcommunity",
        "vpn-target 1.100:7 import-extcommunity",
        "quit",
        "quit",
        "bgp 1.100",
        "peer 1.1.1.1 as-number 2.200",
        "peer 2.2.2.2 as-number 131272",
        "peer 3.3.3.3 as-number 1.100",
        "route-policy rp permit node 10",
        "apply as-path 1.100 65636 100 additive",
    ]);
    let text = s.config().to_vrp();
    for line in [
        "as-notation plain",
        " route-distinguisher 1.100:1",
        " vpn-target 2.200:2 export-extcommunity",
        " vpn-target 65636:3 export-extcommunity",
        " vpn-target 1.100:7 import-extcommunity",
        "bgp 1.100",
        " peer 1.1.1.1 as-number 2.200",
        " peer 2.2.2.2 as-number 131272",
        " peer 3.3.3.3 as-number 1.100",
        " apply as-path 1.100 65636 100 additive",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start() == line.trim_start()),
            "{line}:\n{text}"
        );
    }
    // The numbers are the same either way.
    let bgp = s.config().bgp.as_ref().unwrap();
    assert_eq!(bgp.asn, Asn(65636));
    assert_eq!(bgp.peer(ip("1.1.1.1")).unwrap().asn, Asn(131272));
    assert!(bgp.is_ibgp(bgp.peer(ip("3.3.3.3")).unwrap()));
    assert!(!bgp.is_ibgp(bgp.peer(ip("2.2.2.2")).unwrap()));
    // The saved text loads back to the same configuration, printed the same way.
    let back = parse_file(&text).unwrap();
    assert_eq!(back, *s.config());
    assert_eq!(back.to_vrp(), text);

    // The same number written the other way enters the same BGP view; the configuration
    // keeps the form it has; `display this` finds the block.
    s.apply_line("quit").unwrap();
    s.apply_line("bgp 65636").unwrap();
    assert_eq!(s.view(), ViewId::Bgp);
    assert!(
        s.display_this().starts_with("#\nbgp 1.100\n"),
        "{}",
        s.display_this()
    );
    // A peer's AS written again the other way is the same session, printed as last written.
    let before = s.config().clone();
    s.apply_line("peer 1.1.1.1 as-number 131272").unwrap();
    assert!(
        s.config()
            .to_vrp()
            .contains(" peer 1.1.1.1 as-number 131272\n")
    );
    let changes = tern_config::diff::diff(&before, s.config());
    assert!(changes.deltas.is_empty(), "{:?}", changes.deltas);
    fails(&mut s, "bgp 2.200");

    // A route target or RD already configured, written the other way, is no new one.
    for l in [
        "ip vpn-instance vpn1",
        "ipv4-family",
        "vpn-target 131272:2 export-extcommunity",
        "route-distinguisher 65636:1",
    ] {
        s.apply_line(l).unwrap();
    }
    let af = s.config().vpn_instances["vpn1"].ipv4.clone().unwrap();
    assert_eq!(af.export_rt.len(), 2);
    assert_eq!(af.rd.unwrap().to_string(), "1.100:1");
    s.apply_line("undo vpn-target 131272:2 export-extcommunity")
        .unwrap();
    let af = s.config().vpn_instances["vpn1"].ipv4.clone().unwrap();
    assert_eq!(af.export_rt.len(), 1);
    assert_eq!(af.export_rt[0].to_string(), "65636:3");

    // `as-notation plain` is a system-view setting of its own.
    s.apply_line("quit").unwrap();
    s.apply_line("quit").unwrap();
    assert_eq!(s.config().notation(), tern_types::Notation::Plain);
    s.apply_line("undo as-notation plain").unwrap();
    assert_eq!(s.config().notation(), tern_types::Notation::Dot);
    assert!(!s.config().to_vrp().contains("as-notation"));
    // Dotted numbers start at 1.0 (VRP's range).
    fails(&mut s, "bgp 0.100");
}

#[test]
fn vpn_instances_and_interfaces() {
    let mut s = session(&[
        "ip vpn-instance vpn1",
        "ipv6-family",
        "route-distinguisher 100:1",
        "vpn-target 1:1 2:2 export-extcommunity",
        "vpn-target 3:3",
        "apply-label per-instance",
        "interface GigabitEthernet0/2/0",
        "ipv6 enable",
        "ipv6 address 2001:db8:1::2 64",
        "ip address 10.1.1.2 255.255.255.0",
        "ip address 10.1.2.2 24 sub",
        "shutdown",
    ]);
    let af = s.config().vpn_instances["vpn1"].ipv6.clone().unwrap();
    assert_eq!(af.export_rt.len(), 3);
    assert_eq!(af.import_targets(), vec!["3:3".parse().unwrap()]);
    let ge = s
        .config()
        .interface("GigabitEthernet0/2/0")
        .unwrap()
        .clone();
    assert_eq!(ge.ipv4.len(), 2);
    assert!(!ge.is_enabled());
    // Binding deletes the interface's addresses, as VRP does.
    s.apply_line("ip binding vpn-instance vpn1").unwrap();
    let ge = s.config().interface("GigabitEthernet0/2/0").unwrap();
    assert!(ge.ipv4.is_empty() && ge.ipv6.is_empty());
    assert_eq!(ge.vpn_instance.as_deref(), Some("vpn1"));
    let e = fails(&mut s, "ip binding vpn-instance nope");
    assert_eq!(e.message(), "Error: The VPN instance does not exist.");

    // Route targets need the RD first; the RD changes only after undo.
    let mut s = session(&["ip vpn-instance v2", "ipv4-family"]);
    let e = fails(&mut s, "vpn-target 1:1");
    assert_eq!(e.message(), "Error: Please configure the RD first.");
    s.apply_line("route-distinguisher 1:1").unwrap();
    fails(&mut s, "route-distinguisher 1:2");
    s.apply_line("undo route-distinguisher 1:1").unwrap();
    s.apply_line("route-distinguisher 1:2").unwrap();
    // The BGP family of a VPN instance needs the instance and the family.
    s.apply_line("bgp 100").unwrap();
    fails(&mut s, "ipv4-family vpn-instance nope");
    fails(&mut s, "ipv6-family vpn-instance v2");
    s.apply_line("ipv4-family vpn-instance v2").unwrap();
    assert_eq!(s.prompt(), "[~HUAWEI-bgp-v2]");
}

#[test]
fn kept_lines_and_their_undo() {
    let mut s = session(&[
        "ospf 1",
        "area 0.0.0.0",
        "network 10.0.0.0 0.0.0.255",
        "quit",
        "quit",
        "route-policy p1 permit node 10",
        "apply mpls-label",
    ]);
    // Route policies are modelled, not kept.
    assert_eq!(
        s.config().kept_report().as_deref(),
        Some("kept, not active: ospf")
    );
    assert_eq!(s.view(), ViewId::RoutePolicy);
    s.apply_line("undo ospf 1").unwrap();
    assert!(s.config().kept_features().is_empty());
    assert!(s.config().kept.is_empty());
    assert_eq!(s.config().route_policies["p1"].nodes.len(), 1);
}

#[test]
fn help_lists_next_tokens() {
    let g = tern_config::Grammar::get();
    let h = g.help(ViewId::Bgp, "peer 1.1.1.1 ");
    let words: Vec<_> = h.iter().map(|(w, _)| w.as_str()).collect();
    for w in ["as-number", "connect-interface", "ebgp-max-hop", "enable"] {
        assert!(words.contains(&w), "{w} in {words:?}");
    }
    let h = g.help(ViewId::Bgp, "peer 1.1.1.1 ebgp-max-hop ");
    let words: Vec<_> = h.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(words, ["<1-255>", "<cr>"]);
    let h = g.help(ViewId::System, "dis");
    assert_eq!(h[0].0, "display");
}

#[test]
fn terminal_sessions_start_in_the_user_view() {
    let mut s = Session::terminal(Config::default());
    assert_eq!(s.prompt(), "<HUAWEI>");
    let e = s.apply_line("bgp 100").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unrecognized);
    s.apply_line("sys").unwrap();
    assert_eq!(s.prompt(), "[~HUAWEI]");
    s.apply_line("bgp 100").unwrap();
    assert_eq!(s.prompt(), "[~HUAWEI-bgp]");
    s.apply_line("return").unwrap();
    assert_eq!(s.prompt(), "<HUAWEI>");
}

#[test]
fn daemon_displays_are_handed_over_canonical() {
    let mut s = Session::terminal(Config::default());
    assert_eq!(
        s.apply_line("dis bgp pe 4.4.4.9 verb").unwrap(),
        Outcome::Show("display bgp peer 4.4.4.9 verbose".into())
    );
    assert_eq!(
        s.apply_line("display bgp vpnv6 all peer").unwrap(),
        Outcome::Show("display bgp vpnv6 all peer".into())
    );
    let e = s.apply_line("display bgp peer 4.4.4.300").unwrap_err();
    assert_eq!((e.kind, e.column), (ErrorKind::WrongParameter, Some(17)));
    // Any view, and the session stays where it was.
    let mut s = session(&["bgp 100"]);
    assert!(matches!(
        s.apply_line("display bgp peer").unwrap(),
        Outcome::Show(_)
    ));
    assert_eq!(s.view(), ViewId::Bgp);
}

#[test]
fn tab_completes_keywords() {
    let s = Session::terminal(Config::default());
    assert_eq!(s.complete("dis"), (0, vec!["display".to_string()]));
    assert_eq!(
        s.complete("display b"),
        (8, vec!["bgp".to_string(), "bmp".to_string()])
    );
    let (start, words) = s.complete("display bgp ");
    assert_eq!(start, 12);
    assert!(words.contains(&"peer".to_string()), "{words:?}");
    // Parameters are not completed.
    assert_eq!(s.complete("display bgp peer 1"), (17, vec![]));
    let s = session(&["bgp 100"]);
    let (_, words) = s.complete("peer 1.1.1.1 e");
    assert_eq!(words, ["ebgp-max-hop", "enable"]);
}

#[test]
fn help_falls_back_to_enclosing_views() {
    let s = session(&["bgp 100", "ipv4-family vpnv4"]);
    let h = s.help("interface ");
    assert!(h.iter().any(|(w, _)| w == "INTERFACE"), "{h:?}");
    // The current view's own commands come first.
    let h = s.help("");
    assert!(h.iter().any(|(w, _)| w == "policy"), "{h:?}");
    assert!(!h.iter().any(|(w, _)| w == "interface"), "{h:?}");
}

#[test]
fn graceful_restart_lines_apply_print_and_refuse_out_of_range_timers() {
    let mut s = session(&[
        "bgp 100",
        "graceful-restart",
        "graceful-restart timer restart 200",
        "graceful-restart timer wait-for-rib 30",
    ]);
    let b = s.config().bgp.clone().unwrap();
    assert!(b.graceful_restart);
    assert_eq!(
        (b.gr_restart_time, b.gr_wait_for_rib),
        (Some(200), Some(30))
    );
    let text = s.config().to_vrp();
    assert!(
        text.contains(
            "bgp 100\n graceful-restart\n graceful-restart timer restart 200\n graceful-restart timer wait-for-rib 30\n"
        ),
        "{text}"
    );
    let back = parse_file(&text).unwrap();
    assert_eq!(back.bgp, s.config().bgp);
    fails(&mut s, "graceful-restart timer restart 2");
    fails(&mut s, "graceful-restart timer wait-for-rib 3001");
    s.apply_line("undo graceful-restart timer restart").unwrap();
    s.apply_line("undo graceful-restart").unwrap();
    let b = s.config().bgp.clone().unwrap();
    assert!(!b.graceful_restart);
    assert_eq!((b.gr_restart_time, b.gr_wait_for_rib), (None, Some(30)));
}

/// BGP view `timer keepalive K hold H` and `timer connect-retry N`, and the peer's own
/// `peer X timer …` that wins over them: ranges, VRP's hold rule, printing, undo forms.
#[test]
fn bgp_view_timers_and_peer_overrides() {
    let mut s = session(&[
        "bgp 100",
        "peer 1.1.1.1 as-number 200",
        "peer 2.2.2.2 as-number 200",
        "timer keepalive 10 hold 30",
        "timer connect-retry 2",
        "peer 2.2.2.2 timer keepalive 20 hold 60",
        "peer 2.2.2.2 timer connect-retry 7",
    ]);
    let b = s.config().bgp.clone().unwrap();
    let t = |k, h| tern_config::Timers {
        keepalive: k,
        hold: h,
    };
    assert_eq!(b.timers, Some(t(10, 30)));
    assert_eq!(b.connect_retry, Some(2));
    let (p1, p2) = (
        b.peer(ip("1.1.1.1")).unwrap(),
        b.peer(ip("2.2.2.2")).unwrap(),
    );
    assert_eq!(b.peer_timers(p1), t(10, 30));
    assert_eq!(b.peer_timers(p2), t(20, 60));
    assert_eq!((b.peer_connect_retry(p1), b.peer_connect_retry(p2)), (2, 7));

    let text = s.config().to_vrp();
    assert!(
        text.contains(
            "bgp 100\n timer keepalive 10 hold 30\n timer connect-retry 2\n peer 1.1.1.1 as-number 200\n \
             peer 2.2.2.2 as-number 200\n peer 2.2.2.2 timer keepalive 20 hold 60\n \
             peer 2.2.2.2 timer connect-retry 7\n"
        ),
        "{text}"
    );
    assert_eq!(parse_file(&text).unwrap(), *s.config());

    // VRP's ranges and rule: keepalive 0..21845, hold 0 or 3..65535 and >= 3 keepalives,
    // connect-retry 1..65535.
    for bad in [
        "timer keepalive 30 hold 60",
        "timer keepalive 0 hold 2",
        "timer keepalive 21846 hold 65535",
        "timer keepalive 10 hold 65536",
        "timer connect-retry 0",
        "timer connect-retry 65536",
        "peer 1.1.1.1 timer connect-retry 0",
        "peer 1.1.1.1 timer connect-retry 65536",
        "timer keepalive 10",
        "timer connect-retry",
    ] {
        fails(&mut s, bad);
    }
    for good in [
        "timer keepalive 0 hold 0",
        "timer keepalive 0 hold 3",
        "timer keepalive 21845 hold 65535",
        "timer connect-retry 65535",
        "timer connect-retry 1",
        "timer keepalive 10 hold 30",
    ] {
        s.apply_line(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }

    // Undo: the BGP view's lines, then the peer's, each back to what follows.
    s.apply_line("undo timer keepalive hold").unwrap();
    s.apply_line("undo timer connect-retry").unwrap();
    let b = s.config().bgp.clone().unwrap();
    assert_eq!((b.timers, b.connect_retry), (None, None));
    let p1 = b.peer(ip("1.1.1.1")).unwrap();
    assert_eq!(b.peer_timers(p1), t(60, 180));
    assert_eq!(b.peer_connect_retry(p1), 32);
    s.apply_line("timer keepalive 10 hold 30").unwrap();
    s.apply_line("timer connect-retry 5").unwrap();
    s.apply_line("undo timer keepalive 10 hold 30").unwrap();
    s.apply_line("undo timer connect-retry 5").unwrap();
    s.apply_line("undo peer 2.2.2.2 timer keepalive hold")
        .unwrap();
    s.apply_line("undo peer 2.2.2.2 timer connect-retry")
        .unwrap();
    let b = s.config().bgp.clone().unwrap();
    assert_eq!((b.timers, b.connect_retry), (None, None));
    let p2 = b.peer(ip("2.2.2.2")).unwrap();
    assert_eq!((p2.timers, p2.connect_retry), (None, None));
    assert!(!s.config().to_vrp().contains("timer"));
}

/// `undo synchronization` (VRP's default) is accepted in the BGP view, where it configures
/// IPv4 unicast, and in the unicast family views, and prints back under the family as VRP
/// prints it; `synchronization` is refused, tern has no IGP to synchronise with.
#[test]
fn undo_synchronization_is_accepted_synchronization_refused() {
    let mut s = session(&["bgp 100", "undo synchronization"]);
    let uni = |s: &Session| {
        s.config()
            .bgp
            .as_ref()
            .unwrap()
            .family(&AfKey::Ipv4Unicast)
            .and_then(|f| f.synchronization)
    };
    assert_eq!(uni(&s), Some(false));
    let text = s.config().to_vrp();
    assert!(
        text.contains("bgp 100\n #\n ipv4-family unicast\n  undo synchronization\n#\n"),
        "{text}"
    );
    assert_eq!(parse_file(&text).unwrap(), *s.config());
    let e = fails(&mut s, "synchronization");
    assert!(
        e.message()
            .contains("does not implement BGP-IGP synchronization"),
        "{}",
        e.message()
    );
    s.apply_line("ipv4-family unicast").unwrap();
    s.apply_line("undo synchronization").unwrap();
    let e = fails(&mut s, "synchronization");
    assert!(
        e.message().contains("does not implement"),
        "{}",
        e.message()
    );
    s.apply_line("ipv6-family unicast").unwrap();
    s.apply_line("undo synchronization").unwrap();
    fails(&mut s, "synchronization");
    // A file holding `synchronization` does not load.
    assert!(parse_file("bgp 100\n ipv4-family unicast\n  synchronization\n").is_err());
}

#[test]
fn reset_and_refresh_are_operations_of_the_user_view() {
    let mut s = Session::terminal(Config::default());
    for (line, canonical) in [
        ("reset bgp 10.0.0.2", "reset bgp 10.0.0.2"),
        ("res bgp ext", "reset bgp external"),
        ("refresh bgp all export", "refresh bgp all export"),
        ("refresh bgp internal imp", "refresh bgp internal import"),
    ] {
        match s.apply_line(line) {
            Ok(Outcome::Operate(c)) => assert_eq!(c, canonical),
            other => panic!("{line}: {other:?}"),
        }
    }
    fails(&mut s, "reset bgp group g");
    fails(&mut s, "refresh bgp all");
}

#[test]
fn route_limit_takes_vrp_forms_and_prints_them_back() {
    use tern_config::model::{RouteLimit, RouteLimitAction};
    let mut s = session(&[
        "bgp 100",
        "peer 10.0.0.2 as-number 200",
        "peer 10.0.0.3 as-number 200",
        "peer 10.0.0.4 as-number 200",
        "peer 10.0.0.2 route-limit 100",
        "peer 10.0.0.3 route-limit 1000 80 alert-only",
        "peer 10.0.0.4 route-limit 50 idle-timeout 2",
    ]);
    let fam = s.config().bgp.as_ref().unwrap().families[&AfKey::Ipv4Unicast].clone();
    let limit = |a: &str| fam.peers[&ip(a)].route_limit;
    assert_eq!(
        limit("10.0.0.2"),
        Some(RouteLimit {
            limit: 100,
            percent: None,
            action: RouteLimitAction::Restart
        })
    );
    assert_eq!(
        limit("10.0.0.3"),
        Some(RouteLimit {
            limit: 1000,
            percent: Some(80),
            action: RouteLimitAction::AlertOnly
        })
    );
    assert_eq!(
        limit("10.0.0.4").unwrap().action,
        RouteLimitAction::IdleTimeout(2)
    );
    let text = s.config().to_vrp();
    for l in [
        " peer 10.0.0.2 route-limit 100\n",
        " peer 10.0.0.3 route-limit 1000 80 alert-only\n",
        " peer 10.0.0.4 route-limit 50 idle-timeout 2\n",
    ] {
        assert!(text.contains(l), "{l:?} in\n{text}");
    }
    assert_eq!(parse_file(&text).unwrap().bgp, s.config().bgp);
    s.apply_line("peer 10.0.0.2 keep-all-routes").unwrap();
    assert!(
        s.config()
            .to_vrp()
            .contains(" peer 10.0.0.2 keep-all-routes\n")
    );
    fails(&mut s, "peer 10.0.0.2 route-limit 0");
    fails(&mut s, "peer 10.0.0.2 route-limit 10 101");
    fails(&mut s, "peer 10.0.0.2 route-limit accept-prefix 10");
    fails(&mut s, "peer 10.0.0.2 route-limit 10 idle-timeout 1201");
    s.apply_line("undo peer 10.0.0.2 route-limit").unwrap();
    let fam = &s.config().bgp.as_ref().unwrap().families[&AfKey::Ipv4Unicast];
    assert_eq!(fam.peers[&ip("10.0.0.2")].route_limit, None);
}

/// `router-id` in a VPN instance's BGP view is VRP's per-instance router ID: kept in that
/// family (printed there), resolved with `auto-select` from the instance's interfaces, and it
/// never changes the BGP router ID (which would change the identity of every session).
#[test]
fn a_vpn_instance_router_id_is_the_instances_own() {
    let mut s = session(&[
        "ip vpn-instance vrf1",
        "ipv4-family",
        "route-distinguisher 100:1",
        "quit",
        "quit",
        "interface GigabitEthernet0/0/1",
        "ip binding vpn-instance vrf1",
        "ip address 10.9.0.1 24",
        "quit",
        "interface LoopBack7",
        "ip binding vpn-instance vrf1",
        "ip address 7.7.7.7 32",
        "quit",
        "bgp 100",
        "router-id 1.1.1.9",
        "ipv4-family vpn-instance vrf1",
        "router-id 10.2.3.4",
    ]);
    let af = AfKey::Vrf {
        name: "vrf1".into(),
        afi: tern_types::Afi::IPV4,
    };
    let bgp = s.config().bgp.as_ref().unwrap();
    assert_eq!(bgp.router_id, Some("1.1.1.9".parse().unwrap()));
    assert_eq!(
        s.config().vrf_router_id(&af),
        Some("10.2.3.4".parse().unwrap())
    );
    assert!(
        s.config()
            .to_vrp()
            .contains(" ipv4-family vpn-instance vrf1\n  router-id 10.2.3.4\n"),
        "{}",
        s.config().to_vrp()
    );
    // auto-select: the instance's loopback wins over its other interfaces.
    s.apply_line("router-id auto-select").unwrap();
    assert_eq!(
        s.config().vrf_router_id(&af),
        Some("7.7.7.7".parse().unwrap())
    );
    assert!(s.config().to_vrp().contains("  router-id auto-select\n"));
    fails(&mut s, "router-id 0.0.0.0");
    s.apply_line("undo router-id").unwrap();
    assert_eq!(s.config().vrf_router_id(&af), None);
    // In the BGP view itself the router ID still changes.
    s.apply_line("quit").unwrap();
    s.apply_line("router-id 2.2.2.9").unwrap();
    assert_eq!(
        s.config().bgp.as_ref().unwrap().router_id,
        Some("2.2.2.9".parse().unwrap())
    );
}

/// `import-route ospf|isis|rip N [med M] [route-policy P]`: kept per process, printed back,
/// one process per protocol, refused in a VPN instance (whose kernel table is not followed).
#[test]
fn import_route_of_an_igp() {
    let mut s = session(&[
        "ip vpn-instance v",
        "ipv4-family",
        "route-distinguisher 100:1",
        "quit",
        "quit",
        "bgp 100",
        "import-route ospf 1 med 10",
        "ipv6-family unicast",
        "import-route isis 2 route-policy P",
        "quit",
    ]);
    let text = s.config().to_vrp();
    assert!(text.contains("  import-route ospf 1 med 10\n"), "{text}");
    assert!(
        text.contains("  import-route isis 2 route-policy P\n"),
        "{text}"
    );
    assert_eq!(parse_file(&text).unwrap(), *s.config());
    fails(&mut s, "import-route ospf 3");
    fails(&mut s, "import-route rip 0");
    s.apply_line("ipv4-family vpn-instance v").unwrap();
    let e = fails(&mut s, "import-route ospf 1");
    assert!(
        e.message().contains("public instance only"),
        "{}",
        e.message()
    );
    s.apply_line("quit").unwrap();
    s.apply_line("undo import-route ospf 1").unwrap();
    assert!(!s.config().to_vrp().contains("import-route ospf"));
}
