//! The two-stage commit: candidates, commit IDs, failed commits, discard, rollback, the
//! store across a restart, `save`, and the typed change set.

use std::path::PathBuf;

use tern_config::{
    AfField, AfKey, Config, Delta, Effect, PeerKey, Running, SessionField, Store, diff, parse_file,
};

fn pe1() -> Config {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/huawei/ipv6-option-c-s1/PE1.cfg");
    parse_file(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn lines(c: &mut tern_config::Candidate, ls: &[&str]) {
    for l in ls {
        c.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
}

/// A fresh directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tern-config-{tag}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn commit_applies_and_numbers_from_1000000001() {
    let mut running = Running::new(pe1());
    let mut c = running.candidate("root");
    assert_eq!(c.prompt(), "[~PE1]");
    lines(&mut c, &["bgp 100", "peer 4.4.4.9 description to PE2"]);
    assert_eq!(c.prompt(), "[*PE1-bgp]");
    // Entering the existing `bgp 100` view is not a change.
    assert_eq!(c.changes().len(), 1);
    // Not visible in running before the commit.
    assert_eq!(
        running
            .config()
            .bgp_peer("4.4.4.9".parse().unwrap())
            .unwrap()
            .description,
        None
    );

    let id = c
        .commit_at(&mut running, "describe PE2", 1_341_346_840)
        .unwrap();
    assert_eq!(id, Some(1_000_000_001));
    assert_eq!(c.prompt(), "[~PE1-bgp]");
    assert!(!c.is_dirty());
    let p = running
        .config()
        .bgp_peer("4.4.4.9".parse().unwrap())
        .unwrap();
    assert_eq!(p.description.as_deref(), Some("to PE2"));

    lines(&mut c, &["router-id 1.1.1.9"]);
    assert_eq!(c.commit(&mut running, "").unwrap(), Some(1_000_000_002));
    // Nothing to commit: no rollback point.
    assert_eq!(c.commit(&mut running, "").unwrap(), None);
    lines(&mut c, &["undo router-id", "router-id 1.1.1.9"]);
    assert_eq!(c.commit(&mut running, "").unwrap(), None);
    assert_eq!(running.history().len(), 2);

    let list = running.display_commit_list(true);
    assert!(list.starts_with("1) CommitId: 1000000002\n"), "{list}");
    assert!(list.contains(
        "2) CommitId: 1000000001\n        Label: -\n        User: root\n        User-Intf: \n        Type: CLI\n        TimeStamp: 2012-07-03 20:20:40\n        Description: describe PE2\n"
    ), "{list}");
    assert!(!running.display_commit_list(false).contains("Description"));

    assert_eq!(
        running.display_commit_changes_at(1_000_000_001).unwrap(),
        "Building configuration\n  #\n  bgp 100\n+  peer 4.4.4.9 description to PE2\n  #\n"
    );
    assert!(running.display_commit_changes_at(1).is_err());
}

#[test]
fn failed_commit_leaves_running_untouched() {
    let mut running = Running::new(pe1());
    let before = running.config().to_vrp();
    let mut c = running.candidate("root");
    // Accepted on entry (the interface may be created later in the same candidate) ...
    lines(
        &mut c,
        &[
            "sysname PE1-new",
            "bgp 100",
            "peer 2.2.2.9 connect-interface LoopBack9",
        ],
    );
    // ... but checked at commit: all or nothing, the sysname does not change either.
    let e = c.commit(&mut running, "").unwrap_err();
    assert_eq!(
        e.message(),
        "Error: Peer 2.2.2.9 uses connect-interface LoopBack9, which does not exist."
    );
    assert_eq!(running.config().to_vrp(), before);
    assert!(running.history().is_empty());
    assert!(c.is_dirty(), "the candidate keeps its changes");
    assert_eq!(c.config().sysname, "PE1-new");

    // Creating the interface in the same candidate makes the commit valid.
    lines(&mut c, &["interface LoopBack9", "ip address 9.9.9.9 32"]);
    assert_eq!(c.commit(&mut running, "").unwrap(), Some(1_000_000_001));
    assert_eq!(running.config().sysname, "PE1-new");
}

#[test]
fn commit_time_rules() {
    let running0 = Running::new(pe1());
    for (ls, msg) in [
        (
            &["interface LoopBack2", "ip address 1.1.1.9 32"][..],
            "Error: The address 1.1.1.9 is configured on both LoopBack1 and LoopBack2.",
        ),
        (
            &["bgp 100", "ipv4-family vpn-instance vpn1"][..],
            "Error: The address family of the VPN instance is not enabled.",
        ),
    ] {
        let mut running = running0.clone();
        let mut c = running.candidate("root");
        let mut err = None;
        for l in ls {
            if let Err(e) = c.apply_line(l) {
                err = Some(e);
                break;
            }
        }
        let e = match err {
            Some(e) => e,
            None => c.commit(&mut running, "").unwrap_err(),
        };
        assert_eq!(e.message(), msg);
        assert_eq!(running.config(), running0.config());
    }

    // Another session removes the VPN instance's RD after this candidate's entry check.
    let mut running = Running::new(pe1());
    let mut a = running.candidate("a");
    let mut b = running.candidate("b");
    lines(
        &mut a,
        &[
            "ip vpn-instance vpn2",
            "ipv4-family",
            "route-distinguisher 100:2",
        ],
    );
    a.commit(&mut running, "").unwrap();
    lines(&mut b, &["bgp 100"]);
    let mut b2 = running.candidate("b");
    lines(
        &mut b2,
        &[
            "bgp 100",
            "ipv4-family vpn-instance vpn2",
            "peer 10.9.9.9 as-number 65009",
        ],
    );
    lines(
        &mut a,
        &[
            "ip vpn-instance vpn2",
            "ipv4-family",
            "undo route-distinguisher 100:2",
        ],
    );
    a.commit(&mut running, "").unwrap();
    let e = b2.commit(&mut running, "").unwrap_err();
    assert_eq!(
        e.message(),
        "Error: ipv4-family vpn-instance vpn2 needs a route-distinguisher in the ipv4-family of VPN instance vpn2."
    );
}

#[test]
fn two_sessions_merge_and_conflict() {
    let mut running = Running::new(pe1());
    let mut a = running.candidate("a");
    let mut b = running.candidate("b");
    lines(&mut a, &["bgp 100", "peer 2.2.2.9 description RR"]);
    lines(&mut b, &["bgp 100", "peer 4.4.4.9 description ASBR"]);
    a.commit(&mut running, "").unwrap();
    // B's changes are replayed on the running configuration A committed.
    b.commit(&mut running, "").unwrap();
    let bgp = running.config().bgp.as_ref().unwrap();
    assert_eq!(
        bgp.peer("2.2.2.9".parse().unwrap())
            .unwrap()
            .description
            .as_deref(),
        Some("RR")
    );
    assert_eq!(
        bgp.peer("4.4.4.9".parse().unwrap())
            .unwrap()
            .description
            .as_deref(),
        Some("ASBR")
    );

    // A conflict: B's change needs a peer A deleted meanwhile.
    lines(&mut b, &["peer 2.2.2.9 timer keepalive 10 hold 30"]);
    lines(&mut a, &["undo peer 2.2.2.9"]);
    a.commit(&mut running, "").unwrap();
    let before = running.config().clone();
    let e = b.commit(&mut running, "").unwrap_err();
    assert_eq!(
        e.message(),
        "Error: The candidate conflicts with a configuration committed meanwhile: The peer does not exist."
    );
    assert_eq!(*running.config(), before);
}

#[test]
fn discard_and_candidate_displays() {
    let mut running = Running::new(pe1());
    let mut c = running.candidate("root");
    lines(
        &mut c,
        &[
            "bgp 100",
            "ipv6-family vpnv6",
            "undo peer 4.4.4.9 enable",
            "quit",
            "peer 5.5.5.9 as-number 100",
            "interface LoopBack2",
        ],
    );
    assert_eq!(
        c.display_candidate_changes(&running),
        "Building configuration
  #
+ interface LoopBack2
  #
  bgp 100
+  peer 5.5.5.9 as-number 100
  ipv4-family unicast
+   peer 5.5.5.9 enable
  ipv6-family vpnv6
-   peer 4.4.4.9 enable
  #
"
        .replace("  ipv4-family unicast\n", "   ipv4-family unicast\n")
        .replace("  ipv6-family vpnv6\n", "   ipv6-family vpnv6\n")
    );
    assert!(
        c.display_candidate()
            .contains("\ninterface LoopBack2\n#\nbgp 100\n")
    );
    c.clear(&running);
    assert!(!c.is_dirty());
    assert_eq!(c.prompt(), "[~PE1]");
    assert_eq!(c.config(), running.config());
    assert_eq!(
        c.display_candidate_changes(&running),
        "Building configuration\n"
    );
    assert_eq!(c.commit(&mut running, "").unwrap(), None);
}

#[test]
fn rollback_restores_the_printed_configuration_exactly() {
    let mut running = Running::new(pe1());
    let original = running.config().to_vrp();
    let mut c = running.candidate("root");
    lines(&mut c, &["bgp 100", "peer 4.4.4.9 description one"]);
    let first = c.commit(&mut running, "one").unwrap().unwrap();
    let after_first = running.config().to_vrp();
    lines(
        &mut c,
        &[
            "undo peer 2.2.2.9",
            "undo ipv6-family vpn-instance vpn1",
            "quit",
            "undo ip vpn-instance vpn1",
            "sysname X",
        ],
    );
    c.commit(&mut running, "two").unwrap().unwrap();
    assert_ne!(running.config().to_vrp(), after_first);

    let rb = running.rollback_to(first, "root").unwrap().unwrap();
    assert_eq!(rb, 1_000_000_003);
    assert_eq!(running.config().to_vrp(), after_first);
    assert!(
        running
            .display_commit_list(false)
            .starts_with("1) CommitId: 1000000003\n")
    );
    assert!(
        running
            .display_commit_list(false)
            .contains("Type: Rollback")
    );

    // `last 3` undoes the rollback and both commits: the original configuration.
    running.rollback_last(3, "root").unwrap().unwrap();
    assert_eq!(running.config().to_vrp(), original);
    assert!(running.rollback_last(99, "root").is_err());
    assert!(running.rollback_to(42, "root").is_err());

    // An open candidate catches up with the rollback and keeps its own changes.
    lines(&mut c, &["bgp 100", "peer 4.4.4.9 description mine"]);
    c.refresh(&running).unwrap();
    assert_eq!(c.config().sysname, "PE1");
    c.commit(&mut running, "").unwrap().unwrap();
    let p = running
        .config()
        .bgp_peer("4.4.4.9".parse().unwrap())
        .unwrap();
    assert_eq!(p.description.as_deref(), Some("mine"));
}

#[test]
fn store_keeps_ids_and_history_across_a_restart() {
    let dir = temp_dir("store");
    let (mut running, opened) = Store::open(&dir, pe1(), 50).unwrap();
    assert_eq!(opened.last_commit, None);
    let mut c = running.candidate("root");
    lines(&mut c, &["sysname PE1a"]);
    c.commit_at(&mut running, "rename", 1_000).unwrap();
    lines(&mut c, &["sysname PE1b"]);
    c.commit_at(&mut running, "again", 2_000).unwrap();
    assert!(running.unsaved());
    let printed = running.config().to_vrp();
    drop(running);

    // The startup file wins; the history stays, and says the last commit was not saved.
    let (mut running, opened) = Store::open(&dir, pe1(), 50).unwrap();
    assert_eq!(opened.last_commit, Some(1_000_000_002));
    assert!(opened.unsaved);
    assert_eq!(running.config().sysname, "PE1");
    assert!(!running.unsaved());
    assert_eq!(running.next_id(), 1_000_000_003);
    assert_eq!(running.history().len(), 2);
    assert_eq!(running.history()[0].description, "rename");
    assert_eq!(running.history()[1].time, 2_000);
    assert_eq!(running.text_after(1_000_000_002).unwrap(), printed);
    // Rollback across the restart reaches the last committed configuration.
    running.rollback_to(1_000_000_002, "root").unwrap();
    assert_eq!(running.config().to_vrp(), printed);
    assert_eq!(running.history().last().unwrap().id, 1_000_000_003);
    // `last 3` goes back before the first commit, across the start that differed.
    running.rollback_last(3, "root").unwrap();
    assert_eq!(running.config().to_vrp(), pe1().to_vrp());
    let after = running.config().to_vrp();
    drop(running);
    let (again, opened) = Store::open(&dir, parse_file(&after).unwrap(), 50).unwrap();
    assert!(!opened.unsaved);
    assert_eq!(again.next_id(), 1_000_000_005);
    assert_eq!(again.text_after(1_000_000_002).unwrap(), printed);

    // `save`: the startup file, written atomically (no temporary file left behind).
    let startup = dir.join("vrpcfg.cfg");
    std::fs::write(&startup, "old").unwrap();
    Store::save(&again, &startup).unwrap();
    assert_eq!(
        std::fs::read_to_string(&startup).unwrap(),
        again.config().to_vrp()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty());
    assert_eq!(
        parse_file(&std::fs::read_to_string(&startup).unwrap()).unwrap(),
        *again.config()
    );
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn change_set_and_session_resets() {
    let old = pe1();
    let mut running = Running::new(old.clone());
    let mut c = running.candidate("root");
    lines(
        &mut c,
        &[
            "interface LoopBack2",
            "bgp 100",
            "peer 4.4.4.9 connect-interface LoopBack2",
            "peer 2.2.2.9 description RR",
            "peer 6.6.6.9 as-number 100",
            "ipv4-family unicast",
            "peer 2.2.2.9 route-policy p1 import",
            "quit",
            "ipv4-family vpnv4",
            "peer 2.2.2.9 enable",
            "quit",
            "quit",
            "ip vpn-instance vpn2",
        ],
    );
    let id = c.commit(&mut running, "").unwrap().unwrap();
    let cs = running.commit_change_set(id).unwrap();
    assert_eq!(cs, diff(&old, running.config()));
    let pk = |a: &str| PeerKey {
        vrf: None,
        addr: a.parse().unwrap(),
    };
    let has = |d: Delta| assert!(cs.deltas.contains(&d), "{d:?} in {:#?}", cs.deltas);
    has(Delta::PeerSession(
        pk("4.4.4.9"),
        SessionField::ConnectInterface,
    ));
    has(Delta::PeerSession(pk("2.2.2.9"), SessionField::Description));
    has(Delta::PeerAdded(pk("6.6.6.9")));
    has(Delta::FamilyEnabled(pk("6.6.6.9"), AfKey::Ipv4Unicast));
    has(Delta::FamilyEnabled(pk("2.2.2.9"), AfKey::Vpnv4));
    has(Delta::PeerFamilyOption(
        pk("2.2.2.9"),
        AfKey::Ipv4Unicast,
        AfField::RoutePolicyImport,
    ));
    has(Delta::VpnInstanceAdded("vpn2".into()));
    has(Delta::Interface("LoopBack2".into()));
    assert!(!cs.resets_all());
    // connect-interface and a new family reset; a description and an import policy do not.
    assert_eq!(
        cs.sessions_to_reset(),
        vec![&pk("2.2.2.9"), &pk("4.4.4.9"), &pk("6.6.6.9")]
    );
    assert_eq!(
        Delta::PeerFamilyOption(
            pk("2.2.2.9"),
            AfKey::Ipv4Unicast,
            AfField::RoutePolicyImport
        )
        .effect(),
        Effect::RouteRefresh
    );
    assert_eq!(
        Delta::PeerSession(pk("2.2.2.9"), SessionField::Description).effect(),
        Effect::InPlace
    );
    assert!(diff(&old, &old).is_empty());

    // Removing the VPN instance peer of vpn1 and vpn1 itself.
    let mut c = running.candidate("root");
    lines(
        &mut c,
        &[
            "bgp 100",
            "undo ipv6-family vpn-instance vpn1",
            "quit",
            "undo ip vpn-instance vpn1",
        ],
    );
    let id = c.commit(&mut running, "").unwrap().unwrap();
    let cs = running.commit_change_set(id).unwrap();
    let ce = PeerKey {
        vrf: Some("vpn1".into()),
        addr: "2001:db8:1::1".parse().unwrap(),
    };
    assert!(cs.deltas.contains(&Delta::PeerRemoved(ce)));
    assert!(
        cs.deltas
            .contains(&Delta::VpnInstanceRemoved("vpn1".into()))
    );
}

/// The BGP view's timers reach the peers that follow them: a keepalive/hold change resets
/// those sessions (renegotiated in OPEN), not a peer with its own `peer X timer`; a
/// connect-retry change applies in place.
#[test]
fn bgp_view_timers_in_the_change_set() {
    let old = parse_file(
        "bgp 100\n peer 1.1.1.1 as-number 200\n peer 2.2.2.2 as-number 200\n \
         peer 2.2.2.2 timer keepalive 20 hold 60\n peer 2.2.2.2 timer connect-retry 7\n",
    )
    .unwrap();
    let mut running = Running::new(old.clone());
    let mut c = running.candidate("root");
    lines(
        &mut c,
        &[
            "bgp 100",
            "timer keepalive 10 hold 30",
            "timer connect-retry 2",
        ],
    );
    let id = c.commit(&mut running, "").unwrap().unwrap();
    let cs = running.commit_change_set(id).unwrap();
    let pk = |a: &str| PeerKey {
        vrf: None,
        addr: a.parse().unwrap(),
    };
    assert_eq!(
        cs.deltas,
        vec![
            Delta::PeerSession(pk("1.1.1.1"), SessionField::Timers),
            Delta::PeerSession(pk("1.1.1.1"), SessionField::ConnectRetry),
        ]
    );
    assert_eq!(cs.sessions_to_reset(), vec![&pk("1.1.1.1")]);
    assert_eq!(
        Delta::PeerSession(pk("1.1.1.1"), SessionField::ConnectRetry).effect(),
        Effect::InPlace
    );
}

/// Every kind of change has exactly one row in the effects table.
#[test]
fn effects_table_is_complete() {
    use tern_config::{DeltaKind, EFFECTS};
    for (i, (k, _, _)) in EFFECTS.iter().enumerate() {
        assert!(
            !EFFECTS[i + 1..].iter().any(|(k2, _, _)| k2 == k),
            "{k:?} twice"
        );
    }
    let sf = [
        SessionField::AsNumber,
        SessionField::ConnectInterface,
        SessionField::EbgpMaxHop,
        SessionField::ValidTtlHops,
        SessionField::Password,
        SessionField::Timers,
        SessionField::ConnectRetry,
        SessionField::Description,
        SessionField::Ignore,
        SessionField::FakeAs,
        SessionField::RouterId,
    ];
    let af = [
        AfField::RoutePolicyImport,
        AfField::RoutePolicyExport,
        AfField::ReflectClient,
        AfField::NextHopInvariable,
        AfField::NextHopLocal,
        AfField::LabelRouteCapability,
        AfField::RouteLimit,
        AfField::AdvertiseCommunity,
        AfField::AdvertiseExtCommunity,
        AfField::KeepAllRoutes,
        AfField::AllowAsLoop,
        AfField::SubstituteAs,
        AfField::PublicAsOnly,
        AfField::DefaultRouteAdvertise,
        AfField::AsPathFilterImport,
        AfField::AsPathFilterExport,
        AfField::PrefixImport,
        AfField::PrefixExport,
        AfField::RtcDefaultRoute,
        AfField::WaitForEor,
        AfField::AddPath,
        AfField::AdvertiseAddPath,
    ];
    let kinds: Vec<DeltaKind> = [
        DeltaKind::BgpAdded,
        DeltaKind::BgpRemoved,
        DeltaKind::RouterId,
        DeltaKind::GracefulRestart,
        DeltaKind::PeerAdded,
        DeltaKind::PeerRemoved,
        DeltaKind::FamilyEnabled,
        DeltaKind::FamilyDisabled,
        DeltaKind::FamilySettings,
        DeltaKind::VpnInstance,
        DeltaKind::Interface,
        DeltaKind::RoutePolicy,
        DeltaKind::PrefixList,
        DeltaKind::Filter,
        DeltaKind::StaticRoutes,
        DeltaKind::Kept,
    ]
    .into_iter()
    .chain(sf.map(DeltaKind::PeerSession))
    .chain(af.map(DeltaKind::PeerFamilyOption))
    .collect();
    assert_eq!(kinds.len(), EFFECTS.len());
    for k in kinds {
        assert!(EFFECTS.iter().any(|(x, _, _)| *x == k), "{k:?} missing");
    }
}
