//! ADD-PATH (RFC 7911) configuration: `peer X capability-advertise add-path`, `peer X
//! advertise add-path path-number N`, `bestroute add-path path-number N` in the public
//! families and the BGP view; ranges, prerequisites, printing, undo and the change set.

use tern_config::{
    AfField, AfKey, Config, Delta, Effect, PeerKey, Running, diff, model::AddPathMode, parse_file,
};

const BASE: &str = "\
sysname RR
#
bgp 100
 peer 10.0.0.2 as-number 100
 peer 10.0.0.3 as-number 100
 peer 10.0.0.4 as-number 200
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
  peer 10.0.0.3 enable
  peer 10.0.0.4 enable
 #
 ipv4-family vpnv4
  peer 10.0.0.2 enable
#
";

fn base() -> Config {
    parse_file(BASE).unwrap()
}

fn run(running: &mut Running, ls: &[&str]) -> Result<(), String> {
    let mut c = running.candidate("root");
    for l in ls {
        c.apply_line(l).map_err(|e| e.message())?;
    }
    c.commit(running, "").map_err(|e| e.message())?;
    Ok(())
}

#[test]
fn lines_parse_print_and_undo() {
    let mut running = Running::new(base());
    run(
        &mut running,
        &[
            "bgp 100",
            "bestroute add-path path-number 3",
            "peer 10.0.0.2 capability-advertise add-path both",
            "peer 10.0.0.2 advertise add-path path-number 2",
            "ipv4-family vpnv4",
            "bestroute add-path path-number 64",
            "peer 10.0.0.2 capability-advertise add-path receive",
        ],
    )
    .unwrap();
    let c = running.config().clone();
    let bgp = c.bgp.as_ref().unwrap();
    let v4 = &bgp.families[&AfKey::Ipv4Unicast];
    let a2 = "10.0.0.2".parse().unwrap();
    assert_eq!(v4.bestroute_add_path, Some(3));
    assert_eq!(v4.peers[&a2].add_path, Some(AddPathMode::Both));
    assert_eq!(v4.peers[&a2].advertise_add_path, Some(2));
    assert_eq!(v4.add_path_count(a2), 2);
    assert_eq!(v4.add_path_count("10.0.0.3".parse().unwrap()), 1);
    let vpn = &bgp.families[&AfKey::Vpnv4];
    assert_eq!(vpn.bestroute_add_path, Some(64));
    assert_eq!(vpn.peers[&a2].add_path, Some(AddPathMode::Receive));

    // Printed in the family views, and read back to the same model.
    let text = running.candidate("root").display_candidate();
    for l in [
        "  bestroute add-path path-number 3",
        "  peer 10.0.0.2 capability-advertise add-path both",
        "  peer 10.0.0.2 advertise add-path path-number 2",
        "  bestroute add-path path-number 64",
        "  peer 10.0.0.2 capability-advertise add-path receive",
    ] {
        assert!(text.lines().any(|x| x == l), "{l:?} in\n{text}");
    }
    assert_eq!(parse_file(&text).unwrap(), c);

    // Undo of one direction leaves the other.
    run(
        &mut running,
        &[
            "bgp 100",
            "ipv4-family vpnv4",
            "undo peer 10.0.0.2 capability-advertise add-path receive",
            "undo bestroute add-path",
            "quit",
            "ipv4-family unicast",
            "undo peer 10.0.0.2 advertise add-path",
            "undo peer 10.0.0.2 capability-advertise add-path receive",
        ],
    )
    .unwrap();
    let bgp = running.config().bgp.clone().unwrap();
    assert_eq!(
        bgp.families[&AfKey::Ipv4Unicast].peers[&a2].add_path,
        Some(AddPathMode::Send)
    );
    assert_eq!(bgp.families[&AfKey::Vpnv4].peers[&a2].add_path, None);
    assert_eq!(bgp.families[&AfKey::Vpnv4].bestroute_add_path, None);
}

#[test]
fn ranges_and_prerequisites() {
    let running0 = Running::new(base());
    for (ls, msg) in [
        (
            &["bgp 100", "bestroute add-path path-number 1"][..],
            "Error: Wrong parameter found at '^' position.",
        ),
        (
            &["bgp 100", "bestroute add-path path-number 65"][..],
            "Error: Wrong parameter found at '^' position.",
        ),
        (
            &[
                "bgp 100",
                "bestroute add-path path-number 2",
                "peer 10.0.0.2 capability-advertise add-path send",
                "peer 10.0.0.2 advertise add-path path-number 65",
            ][..],
            "Error: Wrong parameter found at '^' position.",
        ),
        (
            &[
                "bgp 100",
                "peer 10.0.0.2 capability-advertise add-path send",
                "peer 10.0.0.2 advertise add-path path-number 2",
            ][..],
            "Error: Please configure bestroute add-path first.",
        ),
        (
            &[
                "bgp 100",
                "bestroute add-path path-number 2",
                "peer 10.0.0.2 capability-advertise add-path receive",
                "peer 10.0.0.2 advertise add-path path-number 2",
            ][..],
            "Error: Please configure peer capability-advertise add-path send or both first.",
        ),
        (
            &[
                "bgp 100",
                "peer 10.0.0.9 capability-advertise add-path send",
            ][..],
            "Error: The peer does not exist.",
        ),
        // VRP: ADD-PATH takes effect on IBGP peers only; tern refuses it for an EBGP peer
        // instead of keeping a line without effect, also when the peer's AS changes after.
        (
            &[
                "bgp 100",
                "peer 10.0.0.4 capability-advertise add-path send",
            ][..],
            "Error: ADD-PATH takes effect only on IBGP peers.",
        ),
        (
            &[
                "bgp 100",
                "peer 10.0.0.2 capability-advertise add-path send",
                "peer 10.0.0.2 as-number 300",
            ][..],
            "Error: ADD-PATH takes effect only on IBGP peers.",
        ),
        (
            &[
                "ip vpn-instance v",
                "ipv4-family",
                "route-distinguisher 100:9",
                "quit",
                "quit",
                "bgp 100",
                "ipv4-family vpn-instance v",
                "peer 10.9.9.9 as-number 100",
                "peer 10.9.9.9 capability-advertise add-path send",
            ][..],
            "Error: ADD-PATH is not available in a VPN instance address family.",
        ),
        (
            &[
                "ip vpn-instance v",
                "ipv4-family",
                "route-distinguisher 100:9",
                "quit",
                "quit",
                "bgp 100",
                "ipv4-family vpn-instance v",
                "bestroute add-path path-number 2",
            ][..],
            "Error: ADD-PATH is not available in a VPN instance address family.",
        ),
        // Taking away a prerequisite later fails the commit.
        (
            &[
                "bgp 100",
                "bestroute add-path path-number 2",
                "peer 10.0.0.2 capability-advertise add-path send",
                "peer 10.0.0.2 advertise add-path path-number 2",
                "undo bestroute add-path",
            ][..],
            "Error: Please configure bestroute add-path first.",
        ),
        (
            &[
                "bgp 100",
                "bestroute add-path path-number 2",
                "peer 10.0.0.2 capability-advertise add-path send",
                "peer 10.0.0.2 advertise add-path path-number 2",
                "undo peer 10.0.0.2 capability-advertise add-path send",
            ][..],
            "Error: Please configure peer capability-advertise add-path send or both first.",
        ),
        (
            &[
                "bgp 100",
                "undo peer 10.0.0.2 capability-advertise add-path send",
            ][..],
            "Error: The configuration does not exist.",
        ),
        // No undo without the direction.
        (
            &[
                "bgp 100",
                "undo peer 10.0.0.2 capability-advertise add-path",
            ][..],
            "Error: Incomplete command found at '^' position.",
        ),
    ] {
        let mut running = running0.clone();
        let e = run(&mut running, ls).unwrap_err();
        assert!(e.contains(msg), "{ls:?}: {e}");
        assert_eq!(running.config(), running0.config());
    }
}

#[test]
fn change_set() {
    let old = base();
    let mut running = Running::new(old.clone());
    run(
        &mut running,
        &[
            "bgp 100",
            "bestroute add-path path-number 2",
            "peer 10.0.0.2 capability-advertise add-path send",
            "peer 10.0.0.2 advertise add-path path-number 4",
        ],
    )
    .unwrap();
    let pk = |a: &str| PeerKey {
        vrf: None,
        addr: a.parse().unwrap(),
    };
    let cs = diff(&old, running.config());
    let cap = Delta::PeerFamilyOption(pk("10.0.0.2"), AfKey::Ipv4Unicast, AfField::AddPath);
    let count = Delta::PeerFamilyOption(
        pk("10.0.0.2"),
        AfKey::Ipv4Unicast,
        AfField::AdvertiseAddPath,
    );
    assert!(cs.deltas.contains(&cap), "{:#?}", cs.deltas);
    assert!(cs.deltas.contains(&count), "{:#?}", cs.deltas);
    assert_eq!(cap.effect(), Effect::Reset);
    assert_eq!(count.effect(), Effect::Readvertise);
    assert_eq!(cs.sessions_to_reset(), vec![&pk("10.0.0.2")]);

    // `bestroute add-path` alone changes what the peer is sent (min of 2 and 4): re-advertised,
    // no reset.
    let before = running.config().clone();
    run(
        &mut running,
        &["bgp 100", "bestroute add-path path-number 3"],
    )
    .unwrap();
    let cs = diff(&before, running.config());
    assert!(cs.deltas.contains(&count), "{:#?}", cs.deltas);
    assert!(cs.sessions_to_reset().is_empty());
}

/// A peer group carries ADD-PATH to its members (their own lines win).
#[test]
fn peer_groups_carry_add_path() {
    let mut running = Running::new(base());
    run(
        &mut running,
        &[
            "bgp 100",
            "group RR internal",
            "peer 10.0.0.3 group RR",
            "ipv4-family unicast",
            "bestroute add-path path-number 4",
            "peer RR capability-advertise add-path send",
            "peer RR advertise add-path path-number 3",
        ],
    )
    .unwrap();
    let text = running.candidate("root").display_candidate();
    for l in [
        "  peer RR capability-advertise add-path send",
        "  peer RR advertise add-path path-number 3",
    ] {
        assert!(text.lines().any(|x| x == l), "{l:?} in\n{text}");
    }
    let eff = running.config().effective();
    let v4 = &eff.bgp.as_ref().unwrap().families[&AfKey::Ipv4Unicast];
    let a3 = "10.0.0.3".parse().unwrap();
    assert_eq!(v4.peers[&a3].add_path, Some(AddPathMode::Send));
    assert_eq!(v4.add_path_count(a3), 3);
    // An external group is refused, as an external peer is.
    let e = run(
        &mut running,
        &[
            "bgp 100",
            "group EX external",
            "ipv4-family unicast",
            "peer EX capability-advertise add-path send",
        ],
    )
    .unwrap_err();
    assert!(
        e.contains("Error: ADD-PATH takes effect only on IBGP peers."),
        "{e}"
    );
}
