//! The peer AS options: `allow-as-loop`, `substitute-as`, `public-as-only`, `fake-as` —
//! parsed, printed back, undone, refused where VRP has no such command, and their change
//! sets.

use tern_config::diff::{AfField, Delta, SessionField, diff};
use tern_config::model::{PrivateAsMode, PublicAsOnly};
use tern_config::{AfKey, Config, Session, parse_file};

fn session(lines: &[&str]) -> Session {
    let mut s = Session::new();
    for l in lines {
        s.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
    s
}

const BASE: &[&str] = &[
    "bgp 100",
    "peer 10.0.0.2 as-number 65001",
    "peer 2.2.2.9 as-number 100",
];

fn af_peer<'a>(c: &'a Config, af: &AfKey, a: &str) -> &'a tern_config::model::AfPeer {
    &c.bgp.as_ref().unwrap().families[af].peers[&a.parse().unwrap()]
}

#[test]
fn options_parse_print_and_load_back() {
    let mut lines = BASE.to_vec();
    lines.extend([
        "peer 10.0.0.2 allow-as-loop",
        "peer 10.0.0.2 substitute-as",
        "peer 10.0.0.2 public-as-only force replace include-peer-as",
        "peer 10.0.0.2 fake-as 65535.1 prepend-global-as prepend-fake-as",
        "peer 10.0.0.2 default-route-advertise route-policy DR",
        "ipv4-family vpnv4",
        "peer 2.2.2.9 enable",
        "peer 2.2.2.9 allow-as-loop 3",
        "peer 2.2.2.9 public-as-only limited",
    ]);
    let s = session(&lines);
    let c = s.config();
    let v4 = af_peer(c, &AfKey::Ipv4Unicast, "10.0.0.2");
    assert_eq!(v4.allow_as_loop, Some(1));
    assert!(v4.substitute_as);
    assert_eq!(
        v4.public_as_only,
        Some(PublicAsOnly {
            mode: PrivateAsMode::Force,
            replace: true,
            include_peer_as: true
        })
    );
    let vpn = af_peer(c, &AfKey::Vpnv4, "2.2.2.9");
    assert_eq!(vpn.allow_as_loop, Some(3));
    assert_eq!(vpn.public_as_only.unwrap().mode, PrivateAsMode::Limited);
    let fake = c.bgp.as_ref().unwrap().peers[&"10.0.0.2".parse().unwrap()]
        .fake_as
        .unwrap();
    assert_eq!(fake.asn.value.0, 65535 * 65536 + 1);
    assert!(fake.prepend_global_as && fake.prepend_fake_as);

    let text = c.to_vrp();
    for l in [
        " peer 10.0.0.2 fake-as 65535.1 prepend-global-as prepend-fake-as",
        "  peer 10.0.0.2 allow-as-loop\n",
        "  peer 10.0.0.2 substitute-as",
        "  peer 10.0.0.2 public-as-only force replace include-peer-as",
        "  peer 2.2.2.9 allow-as-loop 3",
        "  peer 2.2.2.9 public-as-only limited",
        "  peer 10.0.0.2 default-route-advertise route-policy DR",
    ] {
        assert!(text.contains(l), "{l:?} not in\n{text}");
    }
    assert_eq!(parse_file(&text).unwrap(), *c, "loads back the same");
}

#[test]
fn undo_forms_clear_each_option() {
    let mut lines = BASE.to_vec();
    lines.extend([
        "peer 10.0.0.2 allow-as-loop 2",
        "peer 10.0.0.2 substitute-as",
        "peer 10.0.0.2 public-as-only",
        "peer 10.0.0.2 fake-as 300",
    ]);
    let mut s = session(&lines);
    for l in [
        "undo peer 10.0.0.2 allow-as-loop",
        "undo peer 10.0.0.2 substitute-as",
        "undo peer 10.0.0.2 public-as-only",
        "undo peer 10.0.0.2 fake-as",
    ] {
        s.apply_line(l).unwrap_or_else(|e| panic!("{l}: {e}"));
    }
    let v4 = af_peer(s.config(), &AfKey::Ipv4Unicast, "10.0.0.2");
    assert_eq!(v4.allow_as_loop, None);
    assert!(!v4.substitute_as);
    assert_eq!(v4.public_as_only, None);
    let text = s.config().to_vrp();
    for w in [
        "allow-as-loop",
        "substitute-as",
        "public-as-only",
        "fake-as",
    ] {
        assert!(!text.contains(w), "{w} still printed:\n{text}");
    }
}

#[test]
fn out_of_range_and_unbuilt_forms_are_refused_without_change() {
    let mut s = session(BASE);
    for l in [
        "peer 10.0.0.2 allow-as-loop 0",
        "peer 10.0.0.2 allow-as-loop 11",
        "peer 10.0.0.2 fake-as 300 dual-as",
        "peer 10.0.0.2 public-as-only replace",
        "peer 10.0.0.2 default-route-advertise conditional-route-match-all 10.0.0.0 8",
        "peer 10.0.0.9 substitute-as",
    ] {
        let before = s.config().clone();
        assert!(s.apply_line(l).is_err(), "{l} accepted");
        assert_eq!(*s.config(), before, "{l} changed the candidate");
    }
    // Not in the VPNv4 view (the reference has it for unicast and VPN instance views).
    s.apply_line("ipv4-family vpnv4").unwrap();
    s.apply_line("peer 2.2.2.9 enable").unwrap();
    let before = s.config().clone();
    assert!(s.apply_line("peer 2.2.2.9 substitute-as").is_err());
    assert!(
        s.apply_line("peer 2.2.2.9 default-route-advertise")
            .is_err()
    );
    assert_eq!(*s.config(), before);
    // Not for a labeled peer, in either order.
    s.apply_line("quit").unwrap();
    s.apply_line("peer 10.0.0.2 label-route-capability")
        .unwrap();
    let before = s.config().clone();
    assert!(
        s.apply_line("peer 10.0.0.2 default-route-advertise")
            .is_err()
    );
    assert_eq!(*s.config(), before);
    s.apply_line("undo peer 10.0.0.2 label-route-capability")
        .unwrap();
    s.apply_line("peer 10.0.0.2 default-route-advertise")
        .unwrap();
    let before = s.config().clone();
    assert!(
        s.apply_line("peer 10.0.0.2 label-route-capability")
            .is_err()
    );
    assert_eq!(*s.config(), before);
}

#[test]
fn change_sets_name_each_option() {
    let a = session(BASE).config().clone();
    let mut lines = BASE.to_vec();
    lines.extend([
        "peer 10.0.0.2 allow-as-loop",
        "peer 10.0.0.2 public-as-only",
        "peer 10.0.0.2 fake-as 300",
    ]);
    let b = session(&lines).config().clone();
    let d = diff(&a, &b);
    let has = |f: &dyn Fn(&Delta) -> bool| d.deltas.iter().any(f);
    assert!(has(&|x| matches!(
        x,
        Delta::PeerFamilyOption(_, _, AfField::AllowAsLoop)
    )));
    assert!(has(&|x| matches!(
        x,
        Delta::PeerFamilyOption(_, _, AfField::PublicAsOnly)
    )));
    assert!(has(&|x| matches!(
        x,
        Delta::PeerSession(_, SessionField::FakeAs)
    )));
}

/// `apply-label` in a VPN instance family: per-instance (dynamic or static), per-nexthop,
/// per-route; printed back; a static label is one instance's only; undo of a mode not set is
/// refused.
#[test]
fn apply_label_modes() {
    use tern_config::model::LabelMode;
    let mut s = session(&[
        "ip vpn-instance a",
        "ipv4-family",
        "route-distinguisher 100:1",
        "apply-label per-instance static 100",
        "quit",
        "quit",
        "ip vpn-instance b",
        "ipv4-family",
        "route-distinguisher 100:2",
    ]);
    let mode = |s: &Session, n: &str| {
        s.config().vpn_instances[n]
            .af(tern_types::Afi::IPV4)
            .unwrap()
            .apply_label
    };
    assert_eq!(mode(&s, "a"), LabelMode::PerInstanceStatic(100));
    for l in [
        "apply-label per-instance static 100",
        "apply-label per-instance static 15",
        "apply-label per-instance static 32784",
        "undo apply-label per-nexthop",
    ] {
        let before = s.config().clone();
        assert!(s.apply_line(l).is_err(), "{l} accepted");
        assert_eq!(*s.config(), before);
    }
    s.apply_line("apply-label per-nexthop").unwrap();
    assert_eq!(mode(&s, "b"), LabelMode::PerNextHop);
    let text = s.config().to_vrp();
    assert!(
        text.contains("  apply-label per-instance static 100\n"),
        "{text}"
    );
    assert!(text.contains("  apply-label per-nexthop\n"), "{text}");
    assert_eq!(parse_file(&text).unwrap(), *s.config());
    s.apply_line("undo apply-label per-nexthop").unwrap();
    assert_eq!(mode(&s, "b"), LabelMode::PerRoute);
    s.apply_line("apply-label per-instance").unwrap();
    s.apply_line("apply-label per-route").unwrap();
    assert_eq!(mode(&s, "b"), LabelMode::PerRoute);
}
