//! The filters (`ip as-path-filter`, `ip community-filter`, `ip extcommunity-filter`,
//! `ip rd-filter`), the route-policy clauses naming them, and the peers' `as-path-filter`
//! and `ip-prefix` bindings: typed, printed, undone, refused, and their change sets.

use tern_config::diff::{AfField, RouteEvent};
use tern_config::filter::{FilterKind, Rule};
use tern_config::{
    AfKey, Apply, CommunityValue, Config, Delta, DeltaKind, EFFECTS, Effect, Match, MatchMode,
    PeerKey, Session, diff, parse_file,
};

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

fn lines_with<'a>(printed: &'a str, start: &str) -> Vec<&'a str> {
    printed
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(start))
        .collect()
}

#[test]
fn as_path_filters_typed_printed_undone() {
    let mut s = session(&[
        "ip as-path-filter 1 permit ^10_",
        "ip as-path-filter 1 deny _30_",
        "ip as-path-filter 3 index 5 permit .*",
        "ip as-path-filter abc permit ^(100|200) 300$",
        "ip as-path-filter 20 permit _1.10_",
    ]);
    let f = &s.config().filters.as_path["1"];
    assert_eq!(f.entries.keys().copied().collect::<Vec<_>>(), vec![10, 20]);
    assert_eq!(f.entries[&20].mode, MatchMode::Deny);
    assert_eq!(f.entries[&20].rule, Rule::Regex("_30_".into()));
    let printed = round_trips(s.config());
    assert_eq!(
        lines_with(&printed, "ip as-path-filter"),
        vec![
            "ip as-path-filter 1 index 10 permit ^10_",
            "ip as-path-filter 1 index 20 deny _30_",
            "ip as-path-filter 3 index 5 permit .*",
            "ip as-path-filter 20 index 10 permit _1.10_",
            "ip as-path-filter abc index 10 permit ^(100|200) 300$",
        ]
    );
    // The same entry again without an index is not added twice.
    s.apply_line("ip as-path-filter 1 permit ^10_").unwrap();
    assert_eq!(s.config().filters.as_path["1"].entries.len(), 2);
    // undo of an entry by its text, by index, and of a whole filter.
    s.apply_line("undo ip as-path-filter 1 deny _30_").unwrap();
    assert_eq!(s.config().filters.as_path["1"].entries.len(), 1);
    s.apply_line("undo ip as-path-filter 3 index 5").unwrap();
    assert!(!s.config().filters.as_path.contains_key("3"));
    s.apply_line("undo ip as-path-filter abc").unwrap();
    assert!(!s.config().filters.as_path.contains_key("abc"));
    // Refusals: a number out of range, a bad regular expression, no expression, an undo of
    // nothing.
    assert!(fails(&mut s, "ip as-path-filter 257 permit .*").contains("Wrong parameter"));
    assert!(fails(&mut s, "ip as-path-filter 2 permit ^(10").contains("regular expression"));
    assert!(fails(&mut s, "ip as-path-filter 2 permit").contains("Incomplete"));
    assert!(fails(&mut s, "undo ip as-path-filter 9").contains("does not exist"));
}

#[test]
fn community_filters_basic_and_advanced() {
    let mut s = session(&[
        "ip community-filter 1 permit 100:1 200:1 no-export",
        "ip community-filter 1 deny internet strict-match",
        "ip community-filter 2 permit",
        "ip community-filter basic cust permit 65537",
        "ip community-filter 100 permit ^10",
        "ip community-filter advanced adv index 30 permit ^1:1$",
    ]);
    let f = &s.config().filters.community;
    assert_eq!(
        f["1"].entries[&10].rule,
        Rule::Communities {
            values: vec![
                CommunityValue::Pair(100, 1),
                CommunityValue::Pair(200, 1),
                CommunityValue::NoExport
            ],
            strict: false
        }
    );
    assert_eq!(
        f["1"].entries[&20].rule,
        Rule::Communities {
            values: vec![CommunityValue::Internet],
            strict: true
        }
    );
    assert!(!f["1"].advanced && f["100"].advanced && f["adv"].advanced && !f["cust"].advanced);
    let printed = round_trips(s.config());
    assert_eq!(
        lines_with(&printed, "ip community-filter"),
        vec![
            "ip community-filter 1 index 10 permit 100:1 200:1 no-export",
            "ip community-filter 1 index 20 deny internet strict-match",
            "ip community-filter 2 index 10 permit",
            "ip community-filter 100 index 10 permit ^10",
            "ip community-filter advanced adv index 30 permit ^1:1$",
            "ip community-filter basic cust index 10 permit 65537",
        ]
    );
    // A named filter is not all digits; a basic name cannot become advanced.
    assert!(fails(&mut s, "ip community-filter basic 12 permit 1:1").contains("Wrong"));
    assert!(fails(&mut s, "ip community-filter advanced cust permit ^1").contains("type"));
    assert!(fails(&mut s, "ip community-filter 1 permit 100:1 bogus").contains("Wrong"));
    assert!(fails(&mut s, "ip community-filter 200 permit 1:1").contains("Wrong"));
    assert!(fails(&mut s, "ip community-filter 100 permit").contains("Incomplete"));
    s.apply_line("undo ip community-filter 1 index 20").unwrap();
    s.apply_line("undo ip community-filter basic cust").unwrap();
    assert_eq!(s.config().filters.community.len(), 4);
}

#[test]
fn extcommunity_and_rd_filters() {
    let mut s = session(&[
        "ip extcommunity-filter 1 permit rt 100:1 rt 1.1.1.1:2",
        "ip extcommunity-filter basic rts deny rt 1.10:3",
        "ip extcommunity-filter 200 permit ^100:",
        "ip extcommunity-filter advanced aa permit 200:*",
        "ip rd-filter 1 permit 100:1 200:* *:3 1.1.1.1:*",
        "ip rd-filter 1 index 5 deny 100:1",
    ]);
    let printed = round_trips(s.config());
    assert_eq!(
        lines_with(&printed, "ip extcommunity-filter"),
        vec![
            "ip extcommunity-filter 1 index 10 permit rt 100:1 rt 1.1.1.1:2",
            "ip extcommunity-filter 200 index 10 permit ^100:",
            "ip extcommunity-filter advanced aa index 10 permit 200:*",
            "ip extcommunity-filter basic rts index 10 deny rt 1.10:3",
        ]
    );
    assert_eq!(
        lines_with(&printed, "ip rd-filter"),
        vec![
            "ip rd-filter 1 index 5 deny 100:1",
            "ip rd-filter 1 index 10 permit 100:1 200:* *:3 1.1.1.1:*",
        ]
    );
    assert!(fails(&mut s, "ip extcommunity-filter 1 permit 100:1").contains("Incomplete"));
    assert!(fails(&mut s, "ip extcommunity-filter 1 permit soo 100:1").contains("Wrong"));
    assert!(fails(&mut s, "ip extcommunity-filter 400 permit ^1").contains("Wrong"));
    assert!(fails(&mut s, "ip rd-filter 1 permit 100").contains("Wrong"));
    assert!(fails(&mut s, "ip rd-filter 1025 permit 100:1").contains("Wrong"));
    assert!(fails(&mut s, "ip rd-filter 2 permit 1.1.1.1:70000").contains("Wrong"));
}

#[test]
fn route_policy_filter_clauses() {
    let mut s = session(&[
        "route-policy P permit node 10",
        "if-match as-path-filter 1",
        "if-match as-path-filter abc",
        "if-match community-filter 1 whole-match",
        "if-match community-filter 100",
        "if-match extcommunity-filter 1",
        "if-match rd-filter 7",
        "apply comm-filter 1 delete",
        "apply community 1:1 additive",
    ]);
    let n = &s.config().route_policies["P"].nodes[&10];
    assert_eq!(
        n.matches,
        vec![
            Match::CommunityFilterWhole("1".into()),
            Match::CommunityFilter("100".into()),
            Match::AsPathFilter("1".into()),
            Match::AsPathFilter("abc".into()),
            Match::ExtcommunityFilter("1".into()),
            Match::RdFilter(7),
        ]
    );
    assert!(n.applies.contains(&Apply::CommFilterDelete("1".into())));
    let printed = round_trips(s.config());
    assert!(printed.contains(" if-match community-filter 1 whole-match\n"));
    assert!(printed.contains(" if-match rd-filter 7\n"));
    assert!(printed.contains(" apply comm-filter 1 delete\n"));
    assert!(fails(&mut s, "if-match rd-filter 1025").contains("Wrong"));
    let e = fails(&mut s, "if-match community-filter 100 sort-match");
    assert!(e.contains("Error"), "{e}");
    // Numbered filters repeat (`&<1-16>`), `whole-match` after a basic community filter.
    s.apply_line("if-match as-path-filter 2 3").unwrap();
    s.apply_line("if-match community-filter 5 whole-match 6 101")
        .unwrap();
    let n = &s.config().route_policies["P"].nodes[&10];
    for m in [
        Match::AsPathFilter("2".into()),
        Match::AsPathFilter("3".into()),
        Match::CommunityFilterWhole("5".into()),
        Match::CommunityFilter("6".into()),
        Match::CommunityFilter("101".into()),
    ] {
        assert!(n.matches.contains(&m), "{m:?}: {:?}", n.matches);
    }
    round_trips(s.config());
    // Typing a community filter again with or without whole-match replaces its clause.
    s.apply_line("if-match community-filter 6 whole-match")
        .unwrap();
    let n = &s.config().route_policies["P"].nodes[&10];
    assert!(n.matches.contains(&Match::CommunityFilterWhole("6".into())));
    assert!(!n.matches.contains(&Match::CommunityFilter("6".into())));
    s.apply_line("undo if-match as-path-filter 2 3").unwrap();
    s.apply_line("undo if-match community-filter 5 6 101")
        .unwrap();
    let n = &s.config().route_policies["P"].nodes[&10];
    assert!(!n.matches.contains(&Match::AsPathFilter("2".into())));
    assert_eq!(n.matches.len(), 6, "{:?}", n.matches);
    for bad in [
        "if-match as-path-filter abc 2",
        "if-match as-path-filter 2 abc",
        "if-match as-path-filter 257",
        "if-match community-filter 100 whole-match",
        "if-match community-filter 200",
        "if-match extcommunity-filter 400",
        "undo if-match as-path-filter 9",
    ] {
        let e = fails(&mut s, bad);
        assert!(e.contains("Error"), "{bad}: {e}");
    }
    s.apply_line("undo if-match rd-filter").unwrap();
    s.apply_line("undo apply comm-filter").unwrap();
    let n = &s.config().route_policies["P"].nodes[&10];
    assert!(!n.matches.contains(&Match::RdFilter(7)));
    assert!(!n.applies.contains(&Apply::CommFilterDelete("1".into())));
}

const BASE: &str = "\
bgp 100
 peer 10.0.0.2 as-number 200
 peer 2001:db8::2 as-number 300
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
 #
 ipv6-family unicast
  peer 2001:db8::2 enable
#
return
";

#[test]
fn peer_filter_bindings() {
    let mut s = Session::with_config(parse_file(BASE).unwrap());
    for l in [
        "bgp 100",
        "peer 10.0.0.2 as-path-filter 1 import",
        "peer 10.0.0.2 ip-prefix out export",
        "ipv6-family unicast",
        "peer 2001:db8::2 as-path-filter f6 export",
        "peer 2001:db8::2 ipv6-prefix p6 import",
    ] {
        s.apply_line(l).unwrap_or_else(|e| panic!("{l}: {e}"));
    }
    let bgp = s.config().bgp.as_ref().unwrap();
    let v4 = &bgp.families[&AfKey::Ipv4Unicast].peers[&"10.0.0.2".parse().unwrap()];
    assert_eq!(v4.as_path_filter_import.as_deref(), Some("1"));
    assert_eq!(v4.prefix_export.as_deref(), Some("out"));
    let v6 = &bgp.families[&AfKey::Ipv6Unicast].peers[&"2001:db8::2".parse().unwrap()];
    assert_eq!(v6.as_path_filter_export.as_deref(), Some("f6"));
    assert_eq!(v6.prefix_import.as_deref(), Some("p6"));
    let printed = round_trips(s.config());
    assert!(printed.contains("  peer 10.0.0.2 as-path-filter 1 import\n"));
    assert!(printed.contains("  peer 10.0.0.2 ip-prefix out export\n"));
    assert!(printed.contains("  peer 2001:db8::2 as-path-filter f6 export\n"));
    assert!(printed.contains("  peer 2001:db8::2 ipv6-prefix p6 import\n"));
    // The IPv4 prefix list form is refused in an IPv6 family, and the reverse.
    assert!(fails(&mut s, "peer 2001:db8::2 ip-prefix p import").contains("Unrecognized"));
    // filter-policy needs ACLs, which tern does not have.
    assert!(fails(&mut s, "peer 2001:db8::2 filter-policy 2001 import").contains("Unrecognized"));
    s.apply_line("undo peer 2001:db8::2 ipv6-prefix p6 import")
        .unwrap();
    let bgp = s.config().bgp.as_ref().unwrap();
    let v6 = &bgp.families[&AfKey::Ipv6Unicast].peers[&"2001:db8::2".parse().unwrap()];
    assert_eq!(v6.prefix_import, None);
}

#[test]
fn filter_changes_reach_the_policies_and_peers_naming_them() {
    let old = parse_file(
        "ip ip-prefix out index 10 permit 1.0.0.0 8 less-equal 32\n\
         ip as-path-filter 1 index 10 permit ^200_\n\
         ip community-filter 1 index 10 permit 100:1\n\
         route-policy P permit node 10\n if-match community-filter 1\n#\n\
         route-policy Q permit node 10\n apply comm-filter 1 delete\n#\n\
         route-policy R permit node 10\n if-match as-path-filter 2\n#\n\
         bgp 100\n peer 10.0.0.2 as-number 200\n peer 10.0.0.3 as-number 300\n #\n \
         ipv4-family unicast\n  peer 10.0.0.2 enable\n  peer 10.0.0.2 as-path-filter 1 import\n  \
         peer 10.0.0.2 ip-prefix out export\n  peer 10.0.0.3 enable\n  \
         peer 10.0.0.3 route-policy P export\n#\nreturn\n",
    )
    .unwrap();
    let p2 = PeerKey {
        vrf: None,
        addr: "10.0.0.2".parse().unwrap(),
    };
    let p3 = PeerKey {
        vrf: None,
        addr: "10.0.0.3".parse().unwrap(),
    };
    // The community filter: the policies naming it (P by if-match, Q by apply comm-filter)
    // change, and the peer exporting through P is sent its routes again.
    let mut new = old.clone();
    let text = new.to_vrp().replace(
        "ip community-filter 1 index 10 permit 100:1",
        "ip community-filter 1 index 10 permit 100:2",
    );
    new = parse_file(&text).unwrap();
    let cs = diff(&old, &new);
    assert!(cs.deltas.contains(&Delta::Filter {
        kind: FilterKind::Community,
        name: "1".into()
    }));
    assert!(cs.deltas.contains(&Delta::RoutePolicy("P".into())));
    assert!(cs.deltas.contains(&Delta::RoutePolicy("Q".into())));
    assert!(!cs.deltas.contains(&Delta::RoutePolicy("R".into())));
    assert!(cs.deltas.contains(&Delta::PeerFamilyOption(
        p3.clone(),
        AfKey::Ipv4Unicast,
        AfField::RoutePolicyExport
    )));
    assert_eq!(
        cs.events,
        vec![RouteEvent::FilterChanged {
            kind: FilterKind::Community,
            name: "1".into()
        }]
    );
    assert_eq!(cs.policy_uses(&new).policies, vec!["P", "Q"]);
    assert!(cs.sessions_to_reset().is_empty());
    // The as-path filter a peer imports through, and the prefix list it exports through.
    let text = old
        .to_vrp()
        .replace("permit ^200_", "permit ^300_")
        .replace("less-equal 32", "less-equal 24");
    let new = parse_file(&text).unwrap();
    let cs = diff(&old, &new);
    for f in [AfField::AsPathFilterImport, AfField::PrefixExport] {
        assert!(
            cs.deltas
                .contains(&Delta::PeerFamilyOption(p2.clone(), AfKey::Ipv4Unicast, f)),
            "{f:?}: {:?}",
            cs.deltas
        );
    }
    assert!(cs.sessions_to_reset().is_empty());
    // `as-notation plain` changes what the AS_Path filters match: the policies and peers
    // using them are evaluated again.
    let text = format!("as-notation plain\n{}", old.to_vrp());
    let cs = diff(&old, &parse_file(&text).unwrap());
    assert!(cs.deltas.contains(&Delta::PeerFamilyOption(
        p2.clone(),
        AfKey::Ipv4Unicast,
        AfField::AsPathFilterImport
    )));
    assert!(!cs.deltas.contains(&Delta::RoutePolicy("P".into())));
    // Creating the filter R names (undefined until now) changes R.
    let text = format!("ip as-path-filter 2 index 10 permit .*\n{}", old.to_vrp());
    let cs = diff(&old, &parse_file(&text).unwrap());
    assert!(cs.deltas.contains(&Delta::RoutePolicy("R".into())));
}

#[test]
fn effects_of_the_peer_bindings() {
    for (f, e) in [
        (AfField::AsPathFilterImport, Effect::RouteRefresh),
        (AfField::AsPathFilterExport, Effect::Readvertise),
        (AfField::PrefixImport, Effect::RouteRefresh),
        (AfField::PrefixExport, Effect::Readvertise),
    ] {
        let row = EFFECTS
            .iter()
            .find(|(k, _, _)| *k == DeltaKind::PeerFamilyOption(f))
            .unwrap();
        assert_eq!(row.1, e);
    }
    let row = EFFECTS
        .iter()
        .find(|(k, _, _)| *k == DeltaKind::Filter)
        .unwrap();
    assert_eq!(row.1, Effect::Nothing);
}

#[test]
fn filter_displays_in_the_vendor_layout() {
    let c = parse_file(
        "ip as-path-filter 1 permit ^10_\nip as-path-filter abc deny _20_\n\
         ip community-filter 10 permit no-export\nip community-filter basic aa permit 1 internet\n\
         ip community-filter advanced bb deny ^20\n\
         ip extcommunity-filter 10 permit rt 100:10\nip extcommunity-filter advanced adv deny 1.1.1.1\n\
         ip rd-filter 2 deny 1:1 2:2\nip rd-filter 2 permit 1:* 2:*\n",
    )
    .unwrap();
    use tern_config::filter::display;
    assert_eq!(
        display(&c.filters, FilterKind::AsPath, None),
        "As path filter number: 1\n          index: 10     permit    ^10_\n\
         As path filter name: abc\n          index: 10     deny      _20_\n"
    );
    assert_eq!(
        display(&c.filters, FilterKind::Community, None),
        "Community filter Number: 10\n  index: 10     permit no-export\n\
         Named Community basic filter: aa\n  index: 10     permit 1 internet\n\
         Named Community advanced filter: bb\n  index: 10     deny ^20\n"
    );
    assert_eq!(
        display(&c.filters, FilterKind::ExtCommunity, None),
        "Extended Community filter Number: 10\n  index: 10     permit rt 100:10\n\
         Extended Community filter advanced filter: adv\n  index: 10     deny 1.1.1.1\n"
    );
    assert_eq!(
        display(&c.filters, FilterKind::Rd, Some("2")),
        "Route Distinguisher Filter 2\n        index: 10     deny 1:1 2:2\n\
         \x20       index: 20     permit 1:* 2:*\n"
    );
    assert_eq!(display(&c.filters, FilterKind::Rd, Some("3")), "");
}
