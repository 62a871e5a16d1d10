//! Route policies, prefix lists and static routes: typed, with their `undo`, VRP's checks,
//! printing, the change set, and `display this`.

use tern_config::{
    Apply, AsPathMode, CommunityValue, Config, Delta, DeltaKind, EFFECTS, Effect, ErrorKind, Match,
    MatchMode, PeerKey, Session, Written, diff, parse_file,
};
use tern_types::{Asn, ExtCommunity, TargetKind};

fn session(lines: &[&str]) -> Session {
    let mut s = Session::new();
    for l in lines {
        s.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
    s
}

fn fails(s: &mut Session, line: &str) -> String {
    let before = s.config().clone();
    let e = s.apply_line(line).expect_err(line).to_string();
    assert_eq!(
        *s.config(),
        before,
        "a rejected line changed the model: {line}"
    );
    e
}

fn round_trips(cfg: &Config) -> String {
    let printed = cfg.to_vrp();
    let again = parse_file(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(&again, cfg, "\n{printed}");
    assert_eq!(again.to_vrp(), printed);
    printed
}

#[test]
fn route_policy_nodes_and_clauses() {
    let mut s = session(&[
        "route-policy rp deny node 20",
        "if-match tag 7",
        "route-policy rp permit node 10",
        "apply local-preference 200",
        "if-match ip-prefix p1",
        "apply cost 5",
        "if-match community-filter c1",
        "if-match community-filter c2",
        "apply community 100:1 no-export additive",
        "apply extcommunity rt 1:1",
        "apply as-path 65000 65000 additive",
        "apply preferred-value 10",
        "apply ip-address next-hop 10.0.0.1",
        "apply mpls-label",
        "if-match mpls-label",
        "if-match ipv6 address prefix-list p6",
        "if-match as-path-filter a1",
        "if-match extcommunity-filter e1",
        "if-match cost 3",
        "apply tag 9",
    ]);
    assert_eq!(s.prompt(), "[~HUAWEI-route-policy]");
    let rp = &s.config().route_policies["rp"];
    let n10 = &rp.nodes[&10];
    assert_eq!(n10.mode, MatchMode::Permit);
    assert_eq!(
        n10.matches,
        vec![
            Match::IpPrefix("p1".into()),
            Match::Ipv6PrefixList("p6".into()),
            Match::MplsLabel,
            Match::CommunityFilter("c1".into()),
            Match::CommunityFilter("c2".into()),
            Match::AsPathFilter("a1".into()),
            Match::ExtcommunityFilter("e1".into()),
            Match::Cost(3),
        ]
    );
    assert_eq!(n10.applies[0], Apply::Cost(5));
    assert!(n10.applies.contains(&Apply::LocalPreference(200)));
    assert!(n10.applies.contains(&Apply::Community {
        values: vec![CommunityValue::Pair(100, 1), CommunityValue::NoExport],
        additive: true
    }));
    assert_eq!(*n10.applies.last().unwrap(), Apply::MplsLabel);
    assert_eq!(rp.nodes[&20].mode, MatchMode::Deny);

    // One clause per single kind: a second replaces the first.
    s.apply_line("apply local-preference 300").unwrap();
    s.apply_line("if-match ip-prefix p2").unwrap();
    let n10 = &s.config().route_policies["rp"].nodes[&10];
    assert!(n10.applies.contains(&Apply::LocalPreference(300)));
    assert!(!n10.applies.contains(&Apply::LocalPreference(200)));
    assert_eq!(n10.matches[0], Match::IpPrefix("p2".into()));

    // Printed in VRP's order: nodes ascending, if-match before apply.
    let printed = round_trips(s.config());
    assert!(printed.contains(
        "#\nroute-policy rp permit node 10\n if-match ip-prefix p2\n if-match ipv6 address prefix-list p6\n if-match mpls-label\n if-match community-filter c1\n if-match community-filter c2\n if-match as-path-filter a1\n if-match extcommunity-filter e1\n if-match cost 3\n apply cost 5\n apply tag 9\n apply local-preference 300\n apply preferred-value 10\n apply community 100:1 no-export additive\n apply extcommunity rt 1:1\n apply as-path 65000 65000 additive\n apply ip-address next-hop 10.0.0.1\n apply mpls-label\n#\nroute-policy rp deny node 20\n if-match tag 7\n#\n"
    ), "{printed}");

    // undo: by kind, or by name where the clause names something.
    let e = fails(&mut s, "undo if-match ip-prefix p1");
    assert!(e.contains("does not exist"), "{e}");
    s.apply_line("undo if-match ip-prefix p2").unwrap();
    s.apply_line("undo if-match community-filter c1").unwrap();
    s.apply_line("undo apply cost").unwrap();
    s.apply_line("undo apply local-preference 1").unwrap();
    fails(&mut s, "undo apply cost");
    fails(&mut s, "undo apply ip-address next-hop 10.9.9.9");
    s.apply_line("undo apply ip-address next-hop 10.0.0.1")
        .unwrap();
    let n10 = &s.config().route_policies["rp"].nodes[&10];
    assert_eq!(n10.matches[0], Match::Ipv6PrefixList("p6".into()));
    assert!(n10.matches.contains(&Match::CommunityFilter("c2".into())));
    assert!(!n10.matches.contains(&Match::CommunityFilter("c1".into())));
    assert!(!n10.applies.iter().any(|a| matches!(
        a,
        Apply::Cost(_) | Apply::LocalPreference(_) | Apply::IpNextHop(_)
    )));
    s.apply_line("undo if-match community-filter").unwrap();
    round_trips(s.config());

    // Nodes and policies.
    s.apply_line("undo route-policy rp node 20").unwrap();
    assert_eq!(s.view(), tern_config::ViewId::System);
    fails(&mut s, "undo route-policy rp node 20");
    fails(&mut s, "undo route-policy nope");
    s.apply_line("undo route-policy rp").unwrap();
    assert!(s.config().route_policies.is_empty());
    // Range of node numbers.
    let e = fails(&mut s, "route-policy rp permit node 65536");
    assert!(e.contains("Wrong parameter"), "{e}");
    fails(&mut s, "route-policy rp permit");
}

#[test]
fn prefix_lists() {
    let mut s = session(&[
        "ip ip-prefix p1 permit 10.0.0.0 8 greater-equal 16 less-equal 24",
        "ip ip-prefix p1 deny 10.1.2.3 16",
        "ip ip-prefix p1 index 5 permit 0.0.0.0 0 less-equal 32",
        "ip ip-prefix p1 permit 10.0.0.0 8 greater-equal 16 less-equal 24",
        "ip ipv6-prefix p6 permit 2001:db8:: 32 less-equal 64",
        "ip ipv6-prefix p6 index 15 deny :: 0 greater-equal 128",
    ]);
    let p1 = &s.config().ip_prefixes["p1"];
    // Indexes from 10 in steps of 10; the same entry typed again is not added twice; host
    // bits are cleared.
    assert_eq!(
        p1.entries.keys().copied().collect::<Vec<_>>(),
        vec![5, 10, 20]
    );
    assert_eq!(p1.entries[&20].prefix, "10.1.0.0/16".parse().unwrap());
    assert_eq!(p1.entries[&10].len_range(), (16, 24));
    assert_eq!(p1.entries[&5].len_range(), (0, 32));
    assert_eq!(p1.entries[&20].len_range(), (16, 16));
    let printed = round_trips(s.config());
    assert!(printed.contains(
        "#\nip ip-prefix p1 index 5 permit 0.0.0.0 0 less-equal 32\nip ip-prefix p1 index 10 permit 10.0.0.0 8 greater-equal 16 less-equal 24\nip ip-prefix p1 index 20 deny 10.1.0.0 16\n#\nip ipv6-prefix p6 index 10 permit 2001:db8:: 32 less-equal 64\nip ipv6-prefix p6 index 15 deny :: 0 greater-equal 128\n#\n"
    ), "{printed}");
    s.apply_line("ip ipv6-prefix p6 permit 2001:db8:1:: 48")
        .unwrap();
    assert!(s.config().ipv6_prefixes["p6"].entries.contains_key(&20));

    // len <= greater-equal <= less-equal <= 32 / 128.
    for bad in [
        "ip ip-prefix p1 permit 10.0.0.0 16 greater-equal 8",
        "ip ip-prefix p1 permit 10.0.0.0 8 greater-equal 24 less-equal 16",
        "ip ip-prefix p1 permit 10.0.0.0 16 less-equal 8",
        "ip ipv6-prefix p6 permit 2001:db8:: 64 greater-equal 32",
    ] {
        let e = fails(&mut s, bad);
        assert!(e.contains("mask length range"), "{bad}: {e}");
    }
    let e = fails(&mut s, "ip ip-prefix p1 permit 10.0.0.0 33");
    assert!(e.contains("Wrong parameter"), "{e}");

    // undo: an entry by index or by its text, or the whole list.
    s.apply_line("undo ip ip-prefix p1 index 5").unwrap();
    s.apply_line("undo ip ip-prefix p1 deny 10.1.0.0 16")
        .unwrap();
    fails(&mut s, "undo ip ip-prefix p1 index 5");
    assert_eq!(s.config().ip_prefixes["p1"].entries.len(), 1);
    s.apply_line("undo ip ip-prefix p1").unwrap();
    s.apply_line("undo ip ipv6-prefix p6").unwrap();
    fails(&mut s, "undo ip ip-prefix p1");
    assert!(s.config().ip_prefixes.is_empty() && s.config().ipv6_prefixes.is_empty());
}

#[test]
fn static_routes() {
    let mut s = session(&[
        "ip vpn-instance blue",
        "ipv4-family",
        "quit",
        "quit",
        "ip route-static 10.8.0.0 255.255.0.0 10.0.0.2 preference 20 tag 5",
        "ip route-static 0.0.0.0 0 10.0.0.254",
        "ip route-static 10.8.0.0 16 10.0.0.2 preference 30",
        "ip route-static vpn-instance blue 192.168.1.1 24 GigabitEthernet0/1/0 10.9.0.2 description to ce",
        "ipv6 route-static 2001:db8:5:: 64 2001:db8::1",
    ]);
    let r = &s.config().static_routes;
    assert_eq!(r.len(), 4);
    // Same destination and next hop: the options are replaced.
    assert_eq!(r[1].preference, Some(30));
    assert_eq!(r[1].tag, None);
    assert_eq!(r[2].prefix, "192.168.1.0/24".parse().unwrap());
    assert_eq!(r[2].interface.as_deref(), Some("GigabitEthernet0/1/0"));
    let printed = round_trips(s.config());
    assert!(printed.contains(
        "#\nip route-static 0.0.0.0 0.0.0.0 10.0.0.254\nip route-static 10.8.0.0 255.255.0.0 10.0.0.2 preference 30\nip route-static vpn-instance blue 192.168.1.0 255.255.255.0 GigabitEthernet0/1/0 10.9.0.2 description to ce\n#\nipv6 route-static 2001:db8:5:: 64 2001:db8::1\n#\nreturn\n"
    ), "{printed}");

    let e = fails(
        &mut s,
        "ip route-static vpn-instance nope 10.0.0.0 8 10.0.0.1",
    );
    assert!(e.contains("VPN instance does not exist"), "{e}");
    let e = fails(
        &mut s,
        "ipv6 route-static vpn-instance blue 2001:db8:: 32 2001:db8::1",
    );
    assert!(e.contains("address family"), "{e}");
    fails(&mut s, "ip route-static 10.0.0.0 8 0.0.0.0");
    fails(&mut s, "undo ip route-static 10.9.0.0 16 10.0.0.2");

    s.apply_line("undo ip route-static 10.8.0.0 255.255.0.0 10.0.0.2")
        .unwrap();
    s.apply_line("undo ipv6 route-static 2001:db8:5:: 64")
        .unwrap();
    assert_eq!(s.config().static_routes.len(), 2);
    // Deleting the VPN instance deletes its static routes.
    s.apply_line("undo ip vpn-instance blue").unwrap();
    assert_eq!(s.config().static_routes.len(), 1);
}

#[test]
fn policy_changes_refresh_without_reset() {
    let base = parse_file(
        "bgp 100\n peer 1.1.1.1 as-number 200\n peer 2.2.2.2 as-number 100\n #\n ipv4-family unicast\n  peer 1.1.1.1 enable\n  peer 1.1.1.1 route-policy in import\n  peer 2.2.2.2 enable\n  peer 2.2.2.2 route-policy out export\n#\nroute-policy in permit node 10\n if-match ip-prefix p1\n#\nroute-policy out permit node 10\n apply local-preference 50\n#\nip ip-prefix p1 index 10 permit 10.0.0.0 8\n#\nreturn\n",
    )
    .unwrap();
    let mut s = Session::with_config(base.clone());
    s.apply_line("ip ip-prefix p1 permit 11.0.0.0 8").unwrap();
    s.apply_line("route-policy out permit node 10").unwrap();
    s.apply_line("apply local-preference 60").unwrap();
    s.apply_line("ip route-static 0.0.0.0 0 10.0.0.1").unwrap();
    let cs = diff(&base, s.config());
    let pk = |a: &str| PeerKey {
        vrf: None,
        addr: a.parse().unwrap(),
    };
    use tern_config::AfField::{RoutePolicyExport, RoutePolicyImport};
    use tern_config::AfKey::Ipv4Unicast;
    for want in [
        Delta::PrefixList {
            v6: false,
            name: "p1".into(),
        },
        Delta::RoutePolicy("in".into()),
        Delta::RoutePolicy("out".into()),
        Delta::PeerFamilyOption(pk("1.1.1.1"), Ipv4Unicast, RoutePolicyImport),
        Delta::PeerFamilyOption(pk("2.2.2.2"), Ipv4Unicast, RoutePolicyExport),
        Delta::StaticRoutes(None),
    ] {
        assert!(cs.deltas.contains(&want), "{want:?} missing in {cs:?}");
    }
    assert!(cs.sessions_to_reset().is_empty());
    assert!(!cs.resets_all());
    let effect = |k: DeltaKind| EFFECTS.iter().find(|(x, _, _)| *x == k).unwrap().1;
    assert_eq!(effect(DeltaKind::StaticRoutes), Effect::Reevaluate);
    assert_eq!(
        Delta::PeerFamilyOption(pk("1.1.1.1"), Ipv4Unicast, RoutePolicyImport).effect(),
        Effect::RouteRefresh
    );
    assert_eq!(
        Delta::PeerFamilyOption(pk("2.2.2.2"), Ipv4Unicast, RoutePolicyExport).effect(),
        Effect::Readvertise
    );
    // Kept configuration no longer holds any of it.
    assert!(s.config().kept.is_empty());
}

#[test]
fn display_this_shows_the_current_view() {
    let mut s = session(&[
        "sysname PE1",
        "bgp 100",
        "peer 1.1.1.1 as-number 100",
        "ipv4-family vpnv4",
        "peer 1.1.1.1 enable",
    ]);
    assert_eq!(
        s.display_this(),
        "#\n ipv4-family vpnv4\n  peer 1.1.1.1 enable\n#\nreturn\n"
    );
    s.apply_line("quit").unwrap();
    let bgp = s.display_this();
    assert!(
        bgp.starts_with("#\nbgp 100\n peer 1.1.1.1 as-number 100\n"),
        "{bgp}"
    );
    assert!(bgp.ends_with("  peer 1.1.1.1 enable\n#\nreturn\n"), "{bgp}");
    s.apply_line("route-policy rp permit node 10").unwrap();
    assert_eq!(
        s.display_this(),
        "#\nroute-policy rp permit node 10\n#\nreturn\n"
    );
    s.apply_line("apply mpls-label").unwrap();
    assert_eq!(
        s.display_this(),
        "#\nroute-policy rp permit node 10\n apply mpls-label\n#\nreturn\n"
    );
    s.apply_line("quit").unwrap();
    assert_eq!(s.display_this(), s.config().to_vrp());
}

/// A route-policy node's view, with `lines` entered.
fn in_node(lines: &[&str]) -> Session {
    let mut all = vec!["route-policy rp permit node 10"];
    all.extend_from_slice(lines);
    session(&all)
}

/// Enters a line that must be refused with `kind` and the caret under column `column` of
/// the line; checks the candidate and the view did not change.
fn refused(s: &mut Session, line: &str, kind: ErrorKind, column: usize) {
    let before = s.config().clone();
    let view = s.view();
    let e = s.apply_line(line).expect_err(line);
    assert_eq!(
        *s.config(),
        before,
        "a rejected line changed the model: {line}"
    );
    assert_eq!(s.view(), view, "a rejected line changed the view: {line}");
    assert_eq!((&e.kind, e.column), (&kind, Some(column)), "{line}\n{e}");
    assert_eq!(
        e.caret_line().unwrap(),
        format!("{}^", " ".repeat(column)),
        "{line}"
    );
}

/// The column of the `n`th (0-based) token of `line`.
fn col(line: &str, n: usize) -> usize {
    let mut at = 0;
    for (i, t) in line.split(' ').enumerate() {
        if i == n {
            return at;
        }
        at += t.len() + 1;
    }
    panic!("{line} has no token {n}")
}

/// The `apply` lines of node 10 of `rp` as printed.
fn printed_applies(s: &Session) -> Vec<String> {
    let printed = round_trips(s.config());
    printed
        .lines()
        .filter_map(|l| l.strip_prefix(" apply "))
        .map(|l| format!("apply {l}"))
        .collect()
}

#[test]
fn apply_community_values_are_typed_at_entry() {
    use CommunityValue::*;
    let all = "apply community 100:1 0:0 65535:65535 4294967295 0 6553601 internet no-advertise \
               no-export no-export-subconfed";
    let mut s = in_node(&[all]);
    assert_eq!(
        s.config().route_policies["rp"].nodes[&10].applies,
        vec![Apply::Community {
            values: vec![
                Pair(100, 1),
                Pair(0, 0),
                Pair(65535, 65535),
                Number(u32::MAX),
                Number(0),
                Number(6553601),
                Internet,
                NoAdvertise,
                NoExport,
                NoExportSubconfed
            ],
            additive: false
        }]
    );
    assert_eq!(printed_applies(&s), [all]);
    assert_eq!(Pair(100, 1).value(), Number(6553601).value());

    // Order as entered, duplicates kept; names in any case or abbreviated; one clause per
    // node, the last one entered.
    for (line, print) in [
        (
            "apply community 300:1 100:1 no-export 100:1 additive",
            "apply community 300:1 100:1 no-export 100:1 additive",
        ),
        (
            "apply community No-Export INTER no-a no-export-s add",
            "apply community no-export internet no-advertise no-export-subconfed additive",
        ),
        ("apply community none", "apply community none"),
        ("apply community non", "apply community none"),
    ] {
        s.apply_line(line).unwrap();
        assert_eq!(printed_applies(&s), [print], "{line}");
    }
    let max = format!("apply community {}", vec!["1:1"; 32].join(" "));
    s.apply_line(&max).unwrap();
    assert_eq!(printed_applies(&s), [max.as_str()]);

    let before = s.config().clone();
    for bad in [
        "apply community 100:99999",
        "apply community 65536:1",
        "apply community abc",
        "apply community 4294967296",
        "apply community -1",
        "apply community 1:2:3",
        "apply community additive",
    ] {
        refused(&mut s, bad, ErrorKind::WrongParameter, col(bad, 2));
    }
    let bad = "apply community 100:1 no-export 100:x additive";
    refused(&mut s, bad, ErrorKind::WrongParameter, col(bad, 4));
    // `no` and `no-exp` abbreviate several words.
    refused(&mut s, "apply community no", ErrorKind::Ambiguous, 16);
    let bad = "apply community 1:1 no-exp";
    refused(&mut s, bad, ErrorKind::Ambiguous, col(bad, 3));
    let bad = "apply community none additive";
    refused(&mut s, bad, ErrorKind::TooManyParameters, col(bad, 3));
    let bad = format!("{max} 1:1");
    refused(&mut s, &bad, ErrorKind::TooManyParameters, col(&bad, 34));
    refused(&mut s, "apply community", ErrorKind::Incomplete, 16);
    assert_eq!(*s.config(), before);

    // In a file: the line and the caret.
    let e = parse_file("route-policy rp permit node 10\n apply community 100:1 70000:1\n#\n")
        .unwrap_err();
    assert_eq!((e.line_no, e.column), (2, Some(23)), "{e}");
    assert_eq!(e.kind, ErrorKind::WrongParameter);

    // `?` lists the names with the value and `none`.
    let h: Vec<String> = s
        .help("apply community no")
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    assert_eq!(
        h,
        ["no-advertise", "no-export", "no-export-subconfed", "none"]
    );
    let h = s.help("apply community 1:1 ");
    assert!(h.iter().any(|(w, _)| w == "AA:NN|<0-4294967295>"), "{h:?}");
    assert!(h.iter().any(|(w, _)| w == "internet"), "{h:?}");
    assert!(h.iter().any(|(w, _)| w == "additive"), "{h:?}");
    assert!(!h.iter().any(|(w, _)| w == "none"), "{h:?}");

    s.apply_line("undo apply community").unwrap();
    assert!(
        s.config().route_policies["rp"].nodes[&10]
            .applies
            .is_empty()
    );
}

#[test]
fn apply_extcommunity_route_targets_are_typed_at_entry() {
    let rt = |s: &str| Written::plain(s.parse::<ExtCommunity>().unwrap());
    let all = "apply extcommunity rt 100:1 rt 0:4294967295 rt 1.1.1.1:22 rt 255.255.255.255:65535 \
               rt 65536:7 rt 4294967295:65535 rt 100:1 additive";
    let mut s = in_node(&[all]);
    assert_eq!(
        s.config().route_policies["rp"].nodes[&10].applies,
        vec![Apply::Extcommunity {
            rts: vec![
                rt("100:1"),
                rt("0:4294967295"),
                rt("1.1.1.1:22"),
                rt("255.255.255.255:65535"),
                rt("65536:7"),
                rt("4294967295:65535"),
                rt("100:1"),
            ],
            additive: true
        }]
    );
    assert_eq!(printed_applies(&s), [all]);

    // The dotted 4-octet AS form is the same route target as the plain one, printed as it
    // was written (as `vpn-target` prints it).
    for (line, print) in [
        (
            "apply extcommunity rt 100.100:100",
            "apply extcommunity rt 100.100:100",
        ),
        (
            "apply extcommunity rt 6553700:100",
            "apply extcommunity rt 6553700:100",
        ),
        (
            "apply extcommunity rt 1:1 a",
            "apply extcommunity rt 1:1 additive",
        ),
    ] {
        s.apply_line(line).unwrap();
        assert_eq!(printed_applies(&s), [print], "{line}");
    }
    assert_eq!(
        s.config().route_policies["rp"].nodes[&10].applies,
        vec![Apply::Extcommunity {
            rts: vec![ExtCommunity::as2(TargetKind::RouteTarget, 1, 1).into()],
            additive: true
        }]
    );
    let max = format!("apply extcommunity {}", vec!["rt 1:1"; 16].join(" "));
    s.apply_line(&max).unwrap();
    assert_eq!(printed_applies(&s), [max.as_str()]);

    let before = s.config().clone();
    for bad in [
        "apply extcommunity rt 1.1.1.1:65536",
        "apply extcommunity rt 65536:65536",
        "apply extcommunity rt 65536.1:1",
        "apply extcommunity rt 4294967296:1",
        "apply extcommunity rt 1.1.1:1",
        "apply extcommunity rt abc",
        "apply extcommunity rt 100",
    ] {
        refused(&mut s, bad, ErrorKind::WrongParameter, col(bad, 3));
    }
    let bad = "apply extcommunity rt 100:1 rt 100:x additive";
    refused(&mut s, bad, ErrorKind::WrongParameter, col(bad, 5));
    let bad = "apply extcommunity 100:1";
    refused(&mut s, bad, ErrorKind::Unrecognized, col(bad, 2));
    let bad = format!("{max} rt 1:1");
    refused(&mut s, &bad, ErrorKind::TooManyParameters, col(&bad, 34));
    refused(&mut s, "apply extcommunity rt", ErrorKind::Incomplete, 22);
    assert_eq!(*s.config(), before);

    s.apply_line("undo apply extcommunity rt").unwrap();
    assert!(
        s.config().route_policies["rp"].nodes[&10]
            .applies
            .is_empty()
    );
    s.apply_line("apply extcommunity rt 1:1").unwrap();
    s.apply_line("undo apply extcommunity").unwrap();
    assert!(
        s.config().route_policies["rp"].nodes[&10]
            .applies
            .is_empty()
    );
}

#[test]
fn apply_as_path_numbers_are_typed_at_entry() {
    let mut s = in_node(&["apply as-path 65001 65002 additive"]);
    assert_eq!(
        s.config().route_policies["rp"].nodes[&10].applies,
        vec![Apply::AsPath {
            asns: vec![Asn(65001).into(), Asn(65002).into()],
            mode: AsPathMode::Additive
        }]
    );
    let quoted: Vec<String> = (1..=129).map(|n| n.to_string()).collect();
    let quoted = format!("apply as-path \"{}\" delete", quoted.join(" "));
    let max = format!(
        "apply as-path {} additive",
        vec!["4294967295"; 128].join(" ")
    );
    for (line, print) in [
        (
            "apply as-path 65001 65001 1 additive",
            "apply as-path 65001 65001 1 additive",
        ),
        (
            "apply as-path 4294967295 200 overwrite",
            "apply as-path 4294967295 200 overwrite",
        ),
        // Dotted AS numbers are the plain ones (RFC 5396), printed as written like `peer X
        // as-number`.
        (
            "apply as-path 200 10.10 1.5 delete",
            "apply as-path 200 10.10 1.5 delete",
        ),
        (
            "apply as-path 200 655370 65541 delete",
            "apply as-path 200 655370 65541 delete",
        ),
        ("apply as-path 65001 over", "apply as-path 65001 overwrite"),
        (
            "apply as-path none overwrite",
            "apply as-path none overwrite",
        ),
        (
            "apply as-path \"65001\" additive",
            "apply as-path 65001 additive",
        ),
        (&quoted, &quoted),
        (&max, &max),
    ] {
        s.apply_line(line).unwrap();
        assert_eq!(printed_applies(&s), [print], "{line}");
    }
    assert_eq!(
        s.config().route_policies["rp"].nodes[&10].applies,
        vec![Apply::AsPath {
            asns: vec![Written::plain(Asn(u32::MAX)); 128],
            mode: AsPathMode::Additive
        }]
    );
    s.apply_line("apply as-path none overwrite").unwrap();
    assert_eq!(
        s.config().route_policies["rp"].nodes[&10].applies,
        vec![Apply::AsPathNone]
    );

    let before = s.config().clone();
    let short: Vec<String> = (1..=128).map(|n| n.to_string()).collect();
    let short = format!("apply as-path \"{}\" overwrite", short.join(" "));
    let long: Vec<String> = (1..=257).map(|n| n.to_string()).collect();
    let long = format!("apply as-path \"{}\" overwrite", long.join(" "));
    let zero: Vec<String> = (0..=129).map(|n| n.to_string()).collect();
    let zero = format!("apply as-path \"{}\" overwrite", zero.join(" "));
    for bad in [
        "apply as-path 0 additive",
        "apply as-path 4294967296 additive",
        "apply as-path 65536.1 additive",
        "apply as-path abc additive",
        "apply as-path -1 additive",
        &short,
        &long,
        &zero,
    ] {
        refused(&mut s, bad, ErrorKind::WrongParameter, 14);
    }
    let bad = "apply as-path 65001 65002 x additive";
    refused(&mut s, bad, ErrorKind::WrongParameter, col(bad, 4));
    let bad = "apply as-path 65001 1.70000 overwrite";
    refused(&mut s, bad, ErrorKind::WrongParameter, col(bad, 3));
    // The mode is required.
    refused(&mut s, "apply as-path 200 300", ErrorKind::Incomplete, 22);
    refused(&mut s, "apply as-path none", ErrorKind::Incomplete, 19);
    let bad = "apply as-path none additive";
    refused(&mut s, bad, ErrorKind::Unrecognized, col(bad, 3));
    let bad = format!("apply as-path {} 1 additive", vec!["1"; 128].join(" "));
    refused(&mut s, &bad, ErrorKind::Unrecognized, col(&bad, 130));
    assert_eq!(*s.config(), before);

    s.apply_line("undo apply as-path").unwrap();
    assert!(
        s.config().route_policies["rp"].nodes[&10]
            .applies
            .is_empty()
    );
}
