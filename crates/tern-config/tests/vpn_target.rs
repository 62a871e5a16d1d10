//! The BGP-VPN-Target address family view (route target constraint, RFC 4684): `ipv4-family
//! vpn-target`, `peer X enable` and `peer X default-route-advertise` there; what it prints,
//! what it refuses, and the change set of a commit.

use std::net::IpAddr;

use tern_config::{
    AfField, AfKey, Config, Delta, Effect, PeerKey, Running, Session, ViewId, diff, parse_file,
};
use tern_types::Family;

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

const BASE: &[&str] = &[
    "bgp 100",
    "peer 10.2.2.2 as-number 100",
    "peer 10.1.1.1 as-number 100",
    "ipv4-family vpn-target",
];

#[test]
fn the_view_takes_enable_and_default_route_advertise() {
    let s = session(
        &[
            BASE,
            &[
                "peer 10.2.2.2 enable",
                "peer 10.1.1.1 enable",
                "peer 10.1.1.1 default-route-advertise",
            ],
        ]
        .concat(),
    );
    assert_eq!(s.view(), ViewId::BgpVpnTarget);
    assert_eq!(s.prompt(), "[~HUAWEI-bgp-af-vpn-target]");
    let bgp = s.config().bgp.as_ref().unwrap();
    let fam = bgp.family(&AfKey::VpnTarget).unwrap();
    assert!(fam.peer(ip("10.2.2.2")).unwrap().enable);
    assert!(!fam.peer(ip("10.2.2.2")).unwrap().rtc_default_route);
    assert!(fam.peer(ip("10.1.1.1")).unwrap().rtc_default_route);
    assert_eq!(AfKey::VpnTarget.family(), Family::RTC);
    assert_eq!(AfKey::VpnTarget.header(), "ipv4-family vpn-target");

    // Printed as VRP prints it, and read back the same.
    let text = s.config().to_vrp();
    assert!(
        text.contains(
            " ipv4-family vpn-target\n  peer 10.1.1.1 enable\n  peer 10.1.1.1 default-route-advertise\n  peer 10.2.2.2 enable\n"
        ),
        "{text}"
    );
    assert_eq!(parse_file(&text).unwrap(), *s.config());
}

#[test]
fn undo_forms_remove_what_they_name() {
    let mut s = session(
        &[
            BASE,
            &[
                "peer 10.1.1.1 enable",
                "peer 10.1.1.1 default-route-advertise",
            ],
        ]
        .concat(),
    );
    s.apply_line("undo peer 10.1.1.1 default-route-advertise")
        .unwrap();
    let fam = |s: &Session| {
        s.config()
            .bgp
            .as_ref()
            .unwrap()
            .family(&AfKey::VpnTarget)
            .cloned()
    };
    let p = fam(&s).unwrap().peer(ip("10.1.1.1")).cloned().unwrap();
    assert!(p.enable && !p.rtc_default_route);
    s.apply_line("undo peer 10.1.1.1 enable").unwrap();
    assert!(!fam(&s).unwrap().peer(ip("10.1.1.1")).unwrap().enable);
    let text = s.config().to_vrp();
    let block = text.split("ipv4-family vpn-target").nth(1).unwrap();
    assert!(!block.contains("peer"), "{text}");
    s.apply_line("quit").unwrap();
    s.apply_line("undo ipv4-family vpn-target").unwrap();
    assert!(fam(&s).is_none());
    assert!(!s.config().to_vrp().contains("vpn-target"));
}

#[test]
fn what_is_not_built_is_refused() {
    let mut s = session(BASE);
    let before: Config = s.config().clone();
    for line in [
        // Commands of the reference's view that tern does not build.
        "peer 10.2.2.2 reflect-client",
        "peer 10.2.2.2 route-policy P import",
        "peer 10.2.2.2 advertise-community",
        "peer 10.2.2.2 route-limit 100",
        "peer 10.2.2.2 preferred-value 10",
        "peer 10.2.2.2 allow-as-loop",
        "peer 10.2.2.2 group G",
        "peer 10.2.2.2 public-as-only force replace",
        "peer G enable",
        "constraint-rt-filter enable",
        "reflect between-clients",
        "reflector cluster-id 1.1.1.1",
        "default local-preference 200",
        "network 10.0.0.0 8",
        "import-route direct",
        "undo peer 10.2.2.2 reflect-client",
        // IPv4 peers only (the reference's parameter is an IPv4 address).
        "peer 2001:db8::1 enable",
    ] {
        assert!(s.apply_line(line).is_err(), "{line} accepted");
        assert_eq!(*s.config(), before, "{line} changed the model");
        assert_eq!(s.view(), ViewId::BgpVpnTarget, "{line} left the view");
    }
    for line in ["timer wait-for-eor 2", "timer wait-for-eor 3001"] {
        assert!(s.apply_line(line).is_err(), "{line} accepted");
        assert_eq!(*s.config(), before, "{line} changed the model");
    }
    let e = s.apply_line("peer 10.2.2.2 reflect-client").unwrap_err();
    assert!(e.message().contains("BGP-VPN-Target"), "{}", e.message());
    // A peer that does not exist.
    let e = s.apply_line("peer 10.9.9.9 enable").unwrap_err();
    assert!(e.message().contains("peer"), "{}", e.message());
    assert_eq!(*s.config(), before);
}

#[test]
fn enabling_resets_the_session_and_the_default_route_applies_in_place() {
    let old = parse_file("bgp 100\n peer 10.1.1.1 as-number 100\n").unwrap();
    let mut running = Running::new(old.clone());
    let mut c = running.candidate("root");
    for l in ["bgp 100", "ipv4-family vpn-target", "peer 10.1.1.1 enable"] {
        c.apply_line(l).unwrap();
    }
    let id = c.commit(&mut running, "").unwrap().unwrap();
    let cs = running.commit_change_set(id).unwrap();
    let pk = PeerKey {
        vrf: None,
        addr: ip("10.1.1.1"),
    };
    assert!(
        cs.deltas
            .contains(&Delta::FamilyEnabled(pk.clone(), AfKey::VpnTarget)),
        "{:#?}",
        cs.deltas
    );
    assert_eq!(cs.sessions_to_reset(), vec![&pk]);

    let before = running.config().clone();
    let mut c = running.candidate("root");
    for l in [
        "bgp 100",
        "ipv4-family vpn-target",
        "peer 10.1.1.1 default-route-advertise",
    ] {
        c.apply_line(l).unwrap();
    }
    let id = c.commit(&mut running, "").unwrap().unwrap();
    let cs = running.commit_change_set(id).unwrap();
    assert_eq!(cs, diff(&before, running.config()));
    let d = Delta::PeerFamilyOption(pk.clone(), AfKey::VpnTarget, AfField::RtcDefaultRoute);
    assert!(cs.deltas.contains(&d), "{:#?}", cs.deltas);
    assert_eq!(d.effect(), Effect::InPlace);
    assert!(cs.sessions_to_reset().is_empty());
}

#[test]
fn wait_for_eor_prints_undoes_and_reaches_the_enabled_peers() {
    let mut s = session(&[BASE, &["peer 10.2.2.2 enable", "timer wait-for-eor 3"]].concat());
    let wait = |s: &Session| {
        s.config()
            .bgp
            .as_ref()
            .unwrap()
            .family(&AfKey::VpnTarget)
            .unwrap()
            .wait_for_eor
    };
    assert_eq!(wait(&s), Some(3));
    let text = s.config().to_vrp();
    assert!(
        text.contains(" ipv4-family vpn-target\n  timer wait-for-eor 3\n  peer 10.2.2.2 enable\n"),
        "{text}"
    );
    assert_eq!(parse_file(&text).unwrap(), *s.config());
    s.apply_line("timer wait-for-eor 3000").unwrap();
    assert_eq!(wait(&s), Some(3000));
    s.apply_line("undo timer wait-for-eor").unwrap();
    assert_eq!(wait(&s), None);

    // A change reaches the peers enabled in the view, in place.
    let old = parse_file(
        "bgp 100\n peer 10.1.1.1 as-number 100\n peer 10.2.2.2 as-number 100\n #\n ipv4-family vpn-target\n  peer 10.1.1.1 enable\n",
    )
    .unwrap();
    let mut running = Running::new(old.clone());
    let mut c = running.candidate("root");
    for l in ["bgp 100", "ipv4-family vpn-target", "timer wait-for-eor 10"] {
        c.apply_line(l).unwrap();
    }
    let id = c.commit(&mut running, "").unwrap().unwrap();
    let cs = running.commit_change_set(id).unwrap();
    let pk = |a: &str| PeerKey {
        vrf: None,
        addr: ip(a),
    };
    let d = Delta::PeerFamilyOption(pk("10.1.1.1"), AfKey::VpnTarget, AfField::WaitForEor);
    assert!(cs.deltas.contains(&d), "{:#?}", cs.deltas);
    assert!(!cs.deltas.iter().any(
        |x| matches!(x, Delta::PeerFamilyOption(k, _, AfField::WaitForEor) if *k == pk("10.2.2.2"))
    ));
    assert_eq!(d.effect(), Effect::InPlace);
    assert!(cs.sessions_to_reset().is_empty());
}
