//! Peer groups: `group G [internal|external]`, `peer X group G`, `peer G ...` in the BGP
//! view, the family views and the VPN instance family views; what members inherit; the
//! printout; undo; the rules; and the change sets a group edit makes.

use std::net::IpAddr;

use tern_config::{
    AfField, AfKey, Config, Delta, PeerKey, PolicyUse, Session, SessionField, diff, parse_file,
};

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

/// A line that must be refused with `msg`, leaving the model as it was.
fn refused(s: &mut Session, line: &str, msg: &str) {
    let before: Config = s.config().clone();
    let e = s.apply_line(line).expect_err(line);
    assert_eq!(e.message(), msg, "{line}");
    assert_eq!(*s.config(), before, "model changed by refused `{line}`");
}

fn pk(a: &str) -> PeerKey {
    PeerKey {
        vrf: None,
        addr: ip(a),
    }
}

const RR: &str = "\
#
route-policy MED permit node 10
 apply cost 77
#
route-policy LP permit node 10
 apply cost 5
#
bgp 100
 group clients internal
 peer clients connect-interface LoopBack0
 group ebgp external
 peer ebgp as-number 200
 peer ebgp ebgp-max-hop 3
 peer 10.0.0.2 group clients
 peer 10.0.0.3 as-number 100
 peer 10.0.0.3 group clients
 peer 10.0.0.3 timer keepalive 10 hold 30
 peer 10.0.1.2 group ebgp
 peer 10.0.1.3 as-number 300
 peer 10.0.1.3 group ebgp
 #
 ipv4-family unicast
  peer clients enable
  peer clients route-policy MED export
  peer clients reflect-client
  peer ebgp enable
  peer 10.0.0.2 enable
  peer 10.0.0.2 group clients
  peer 10.0.0.3 enable
  peer 10.0.0.3 group clients
  peer 10.0.0.3 route-policy LP export
  peer 10.0.1.2 enable
  peer 10.0.1.2 group ebgp
  peer 10.0.1.3 enable
  peer 10.0.1.3 group ebgp
 #
 ipv4-family vpnv4
  policy vpn-target
  peer clients enable
  peer clients next-hop-local
  peer 10.0.0.2 enable
  peer 10.0.0.2 group clients
  peer 10.0.0.3 enable
  peer 10.0.0.3 group clients
#
interface LoopBack0
 ip address 1.1.1.1 255.255.255.255
#
return
";

#[test]
fn parse_and_print_round_trip() {
    let c = parse_file(RR).unwrap();
    let bgp = c.bgp.as_ref().unwrap();
    assert_eq!(bgp.groups.len(), 2);
    assert!(bgp.groups["ebgp"].external);
    assert!(!bgp.groups["clients"].external);
    let m = &bgp.peers[&ip("10.0.0.2")];
    assert_eq!(m.group.as_deref(), Some("clients"));
    assert!(m.asn_inherited);
    assert_eq!(m.asn.value.0, 100);
    let e = &bgp.peers[&ip("10.0.1.2")];
    assert_eq!(
        e.asn.value.0, 200,
        "an external member takes the group's AS"
    );
    assert!(!bgp.peers[&ip("10.0.1.3")].asn_inherited);
    // Printed as read, groups before their members.
    let printed = c.to_vrp();
    let again = parse_file(&printed).unwrap();
    assert_eq!(again, c);
    assert_eq!(again.to_vrp(), printed);
    let bgp_block: Vec<&str> = printed
        .lines()
        .skip_while(|l| !l.starts_with("bgp "))
        .take_while(|l| !l.starts_with(" #"))
        .collect();
    assert_eq!(
        bgp_block,
        [
            "bgp 100",
            " group clients internal",
            " peer clients connect-interface LoopBack0",
            " group ebgp external",
            " peer ebgp as-number 200",
            " peer ebgp ebgp-max-hop 3",
            " peer 10.0.0.2 group clients",
            " peer 10.0.0.3 as-number 100",
            " peer 10.0.0.3 group clients",
            " peer 10.0.0.3 timer keepalive 10 hold 30",
            " peer 10.0.1.2 group ebgp",
            " peer 10.0.1.3 as-number 300",
            " peer 10.0.1.3 group ebgp",
        ]
    );
    assert!(printed.contains(
        "  peer clients enable\n  peer clients route-policy MED export\n  peer clients reflect-client\n"
    ));
    assert!(printed.contains("  peer 10.0.0.2 enable\n  peer 10.0.0.2 group clients\n"));
}

#[test]
fn members_inherit_and_override() {
    let c = parse_file(RR).unwrap().effective();
    let bgp = c.bgp.as_ref().unwrap();
    assert!(bgp.groups.is_empty());
    let v4 = &bgp.families[&AfKey::Ipv4Unicast];
    assert!(v4.group_peers.is_empty());
    let m2 = &v4.peers[&ip("10.0.0.2")];
    assert_eq!(m2.route_policy_export.as_deref(), Some("MED"));
    assert!(m2.reflect_client);
    // The member's own export policy wins.
    let m3 = &v4.peers[&ip("10.0.0.3")];
    assert_eq!(m3.route_policy_export.as_deref(), Some("LP"));
    assert!(m3.reflect_client);
    // Session settings: the group's, the member's own timers.
    let p2 = &bgp.peers[&ip("10.0.0.2")];
    assert_eq!(
        p2.connect_interface.as_ref().unwrap().interface.as_deref(),
        Some("LoopBack0")
    );
    assert_eq!(p2.timers, None);
    assert_eq!(bgp.peers[&ip("10.0.0.3")].timers.unwrap().hold, 30);
    assert_eq!(bgp.peers[&ip("10.0.1.2")].ebgp_max_hop, Some(3));
    // VPNv4: the group's next-hop-local.
    let vpn = &bgp.families[&AfKey::Vpnv4];
    assert!(vpn.peers[&ip("10.0.0.2")].next_hop_local);
    assert!(vpn.peers[&ip("10.0.0.2")].enable);
}

#[test]
fn undo_on_the_member_falls_back_to_the_group() {
    let mut s = Session::new();
    for l in RR
        .lines()
        .filter(|l| !l.trim().starts_with('#') && *l != "return")
    {
        s.apply_line(l.trim())
            .unwrap_or_else(|e| panic!("{l}: {e}"));
    }
    // The lines above leave the session in the interface view; back to the family.
    for l in ["quit", "bgp 100", "ipv4-family unicast"] {
        s.apply_line(l).unwrap();
    }
    s.apply_line("undo peer 10.0.0.3 route-policy LP export")
        .unwrap();
    let e = s.config().effective();
    let v4 = &e.bgp.as_ref().unwrap().families[&AfKey::Ipv4Unicast];
    assert_eq!(
        v4.peers[&ip("10.0.0.3")].route_policy_export.as_deref(),
        Some("MED")
    );
    // `undo peer X as-number` on a member of an internal group: the local AS, inherited.
    s.apply_line("quit").unwrap();
    s.apply_line("undo peer 10.0.0.3 as-number").unwrap();
    let p = &s.config().bgp.as_ref().unwrap().peers[&ip("10.0.0.3")];
    assert!(p.asn_inherited);
    assert_eq!(p.asn.value.0, 100);
    // ... and of an external group: the group's AS.
    s.apply_line("undo peer 10.0.1.3 as-number").unwrap();
    let p = &s.config().bgp.as_ref().unwrap().peers[&ip("10.0.1.3")];
    assert_eq!(p.asn.value.0, 200);
    // The group's AS follows into the members using it.
    s.apply_line("peer ebgp as-number 65001").unwrap();
    let bgp = s.config().bgp.as_ref().unwrap();
    assert_eq!(bgp.peers[&ip("10.0.1.2")].asn.value.0, 65001);
    assert_eq!(bgp.peers[&ip("10.0.1.3")].asn.value.0, 65001);
}

#[test]
fn rules_refuse_with_vrp_texts() {
    let mut s = session(&["bgp 100", "group in internal", "group ex external"]);
    // An external member needs an AS: its own or the group's.
    refused(
        &mut s,
        "peer 10.0.0.9 group ex",
        "Error: Configure the AS number of the peer or of the peer group first.",
    );
    refused(
        &mut s,
        "peer ex as-number 100",
        "Error: The AS number of an external peer group or its members cannot be the local AS number.",
    );
    refused(
        &mut s,
        "peer in as-number 200",
        "Error: The AS number of an internal peer group or its members must be the local AS number.",
    );
    refused(
        &mut s,
        "peer nosuch as-number 200",
        "Error: The peer group does not exist.",
    );
    refused(
        &mut s,
        "peer 10.0.0.1 group nosuch",
        "Error: The peer group does not exist.",
    );
    refused(
        &mut s,
        "group in external",
        "Error: The type of an existing peer group cannot be changed.",
    );
    // A peer's AS against the group's type.
    s.apply_line("peer 10.0.0.5 as-number 200").unwrap();
    refused(
        &mut s,
        "peer 10.0.0.5 group in",
        "Error: The AS number of an internal peer group or its members must be the local AS number.",
    );
    s.apply_line("peer 10.0.0.5 group ex").unwrap();
    refused(
        &mut s,
        "peer 10.0.0.5 as-number 100",
        "Error: The AS number of an external peer group or its members cannot be the local AS number.",
    );
    refused(
        &mut s,
        "peer 10.0.0.5 group in",
        "Error: The peer already belongs to another peer group.",
    );
    // reflect-client on an external group, next-hop-local with next-hop-invariable.
    refused(
        &mut s,
        "peer ex reflect-client",
        "Error: The peer reflect-client command can be used only for IBGP peers.",
    );
    s.apply_line("peer in next-hop-local").unwrap();
    refused(
        &mut s,
        "peer in next-hop-invariable",
        "Error: The peer next-hop-invariable and peer next-hop-local commands are mutually exclusive.",
    );
    s.apply_line("peer in valid-ttl-hops 2").unwrap();
    refused(
        &mut s,
        "peer in ebgp-max-hop 3",
        "Error: The ebgp-max-hop and valid-ttl-hops (GTSM) configurations are mutually exclusive.",
    );
    // The group's AS is kept while members use it.
    s.apply_line("peer ex as-number 300").unwrap();
    s.apply_line("peer 10.0.0.6 group ex").unwrap();
    refused(
        &mut s,
        "undo peer ex as-number",
        "Error: Members of the peer group use its AS number; configure their own AS numbers or delete them first.",
    );
    refused(
        &mut s,
        "undo peer 10.0.0.6 group in",
        "Error: The peer is not a member of the peer group.",
    );
    // A group name is at most 47 characters.
    assert!(
        s.apply_line(&format!("group {} internal", "g".repeat(48)))
            .is_err()
    );
}

#[test]
fn undo_group_and_membership() {
    let mut s = session(&[
        "bgp 100",
        "group in internal",
        "peer 10.0.0.1 group in",
        "peer 10.0.0.2 as-number 100",
        "peer 10.0.0.2 group in",
        "peer 10.0.0.3 as-number 100",
        "ipv4-family vpnv4",
        "peer in enable",
        "peer 10.0.0.3 group in",
    ]);
    let bgp = s.config().bgp.clone().unwrap();
    let vpn = &bgp.families[&AfKey::Vpnv4];
    // `peer G enable` enabled the members; `peer X group G` in the family joined and
    // enabled 10.0.0.3.
    for a in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        assert!(vpn.peers[&ip(a)].enable, "{a}");
    }
    assert_eq!(bgp.peers[&ip("10.0.0.3")].group.as_deref(), Some("in"));
    // In a family, `undo peer X group G` is `undo peer X enable`.
    s.apply_line("undo peer 10.0.0.3 group in").unwrap();
    let bgp = s.config().bgp.clone().unwrap();
    assert!(!bgp.families[&AfKey::Vpnv4].peers[&ip("10.0.0.3")].enable);
    assert!(bgp.peers.contains_key(&ip("10.0.0.3")));
    // In the BGP view it deletes the peer.
    s.apply_line("quit").unwrap();
    s.apply_line("undo peer 10.0.0.2 group in").unwrap();
    assert!(
        !s.config()
            .bgp
            .as_ref()
            .unwrap()
            .peers
            .contains_key(&ip("10.0.0.2"))
    );
    // `undo group` deletes the group and its members.
    s.apply_line("undo group in").unwrap();
    let bgp = s.config().bgp.clone().unwrap();
    assert!(bgp.groups.is_empty());
    assert!(!bgp.peers.contains_key(&ip("10.0.0.1")));
    assert!(!bgp.peers.contains_key(&ip("10.0.0.3")));
    assert!(
        bgp.families
            .values()
            .all(|f| f.group_peers.is_empty() && !f.peers.contains_key(&ip("10.0.0.1")))
    );
    refused(
        &mut s,
        "undo group in",
        "Error: The peer group does not exist.",
    );
}

#[test]
fn vpn_instance_groups() {
    let text = "\
#
ip vpn-instance A
 ipv4-family
  route-distinguisher 100:1
  vpn-target 1:1 export-extcommunity
  vpn-target 1:1 import-extcommunity
#
bgp 100
 #
 ipv4-family vpn-instance A
  group ce external
  peer ce as-number 65010
  peer ce route-policy P export
  peer 192.168.1.2 group ce
  peer 192.168.1.3 as-number 65011
  peer 192.168.1.3 group ce
#
route-policy P permit node 10
#
return
";
    let c = parse_file(text).unwrap();
    let af = AfKey::Vrf {
        afi: tern_types::Afi::IPV4,
        name: "A".into(),
    };
    let fam = &c.bgp.as_ref().unwrap().families[&af];
    assert_eq!(fam.groups.len(), 1);
    assert_eq!(fam.vrf_peers[&ip("192.168.1.2")].asn.value.0, 65010);
    let printed = c.to_vrp();
    assert!(
        printed.contains(
            "  group ce external\n  peer ce as-number 65010\n  peer ce route-policy P export\n  peer 192.168.1.2 group ce\n  peer 192.168.1.3 as-number 65011\n  peer 192.168.1.3 group ce\n"
        ),
        "{printed}"
    );
    assert_eq!(parse_file(&printed).unwrap(), c);
    let e = c.effective();
    let fam = &e.bgp.as_ref().unwrap().families[&af];
    assert_eq!(
        fam.peers[&ip("192.168.1.3")].route_policy_export.as_deref(),
        Some("P")
    );
    assert!(fam.peers[&ip("192.168.1.2")].enable);
}

/// A group edit is a change to exactly its members: the session setting resets them, the
/// export policy re-advertises to them; a group with other members is untouched.
#[test]
fn change_sets_reach_exactly_the_members() {
    let old = parse_file(RR).unwrap();
    let edit = |from: &str, to: &str| {
        assert!(RR.contains(from), "{from}");
        parse_file(&RR.replace(from, to)).unwrap()
    };
    // A session setting of the group: its members without their own value.
    let new = edit(" peer ebgp ebgp-max-hop 3\n", " peer ebgp ebgp-max-hop 4\n");
    let cs = diff(&old, &new);
    assert_eq!(
        cs.deltas,
        vec![
            Delta::PeerSession(pk("10.0.1.2"), SessionField::EbgpMaxHop),
            Delta::PeerSession(pk("10.0.1.3"), SessionField::EbgpMaxHop),
        ]
    );
    let resets: Vec<&PeerKey> = cs.sessions_to_reset();
    assert_eq!(resets, vec![&pk("10.0.1.2"), &pk("10.0.1.3")]);
    // Timers on the group: 10.0.0.3 has its own and is not touched.
    let new = edit(
        " peer clients connect-interface LoopBack0\n",
        " peer clients connect-interface LoopBack0\n peer clients timer keepalive 20 hold 60\n",
    );
    let cs = diff(&old, &new);
    assert_eq!(
        cs.deltas,
        vec![Delta::PeerSession(pk("10.0.0.2"), SessionField::Timers)]
    );
    // The group's export policy: the member with its own policy keeps it.
    let new = edit(
        "  peer clients route-policy MED export\n",
        "  peer clients route-policy LP export\n",
    );
    let cs = diff(&old, &new);
    assert_eq!(
        cs.deltas,
        vec![Delta::PeerFamilyOption(
            pk("10.0.0.2"),
            AfKey::Ipv4Unicast,
            AfField::RoutePolicyExport
        )]
    );
    assert!(cs.sessions_to_reset().is_empty());
    // A policy the group uses changes: every member using it through the group.
    let new = edit(" apply cost 77\n", " apply cost 78\n");
    let uses = diff(&old, &new).policy_uses(&new);
    assert_eq!(
        uses.uses,
        vec![PolicyUse::Peer {
            peer: pk("10.0.0.2"),
            family: tern_types::Family::IPV4_UNICAST,
            import: false,
        }]
    );
    // Membership alone with nothing inherited changes nothing a session runs with.
    let a = parse_file("bgp 100\n peer 10.0.0.9 as-number 100\n#\nreturn\n").unwrap();
    let b = parse_file(
        "bgp 100\n group g internal\n peer 10.0.0.9 as-number 100\n peer 10.0.0.9 group g\n#\nreturn\n",
    )
    .unwrap();
    assert!(diff(&a, &b).sessions_to_reset().is_empty());
}

/// The AS options on a group: `allow-as-loop`, `substitute-as`, `public-as-only` (family
/// views), `fake-as` (the session): printed on the group, inherited by the members, a
/// member's own value first.
#[test]
fn as_options_on_a_group() {
    let text = "\
#
bgp 100
 group ce external
 peer ce as-number 200
 peer ce fake-as 300
 peer 10.0.0.2 group ce
 peer 10.0.0.3 group ce
 peer 10.0.0.3 fake-as 400
 #
 ipv4-family unicast
  peer ce enable
  peer ce allow-as-loop 2
  peer ce substitute-as
  peer 10.0.0.2 enable
  peer 10.0.0.2 group ce
  peer 10.0.0.3 enable
  peer 10.0.0.3 group ce
  peer 10.0.0.3 allow-as-loop 3
#
return
";
    let c = parse_file(text).unwrap();
    let printed = c.to_vrp();
    assert_eq!(parse_file(&printed).unwrap(), c);
    assert!(printed.contains(" peer ce fake-as 300\n"), "{printed}");
    assert!(
        printed.contains("  peer ce allow-as-loop 2\n  peer ce substitute-as\n"),
        "{printed}"
    );
    let e = c.effective();
    let bgp = e.bgp.as_ref().unwrap();
    assert_eq!(bgp.peers[&ip("10.0.0.2")].fake_as.unwrap().asn.value.0, 300);
    assert_eq!(bgp.peers[&ip("10.0.0.3")].fake_as.unwrap().asn.value.0, 400);
    let v4 = &bgp.families[&AfKey::Ipv4Unicast];
    assert_eq!(v4.peers[&ip("10.0.0.2")].allow_as_loop, Some(2));
    assert_eq!(v4.peers[&ip("10.0.0.3")].allow_as_loop, Some(3));
    assert!(v4.peers[&ip("10.0.0.2")].substitute_as);
}

/// Checked at commit: a group's source interface exists (with or without members), and a
/// member's inherited one too.
#[test]
fn commit_checks_the_groups_source_interface() {
    let mut running = tern_config::Running::new(Config::default());
    let mut c = running.candidate("root");
    for l in [
        "bgp 100",
        "group rr internal",
        "peer rr connect-interface LoopBack9",
    ] {
        c.apply_line(l).unwrap();
    }
    let e = c.commit(&mut running, "").unwrap_err();
    assert_eq!(
        e.message(),
        "Error: Peer group rr uses connect-interface LoopBack9, which does not exist."
    );
    for l in [
        "quit",
        "interface LoopBack9",
        "ip address 9.9.9.9 32",
        "quit",
        "bgp 100",
        "peer 10.0.0.2 group rr",
    ] {
        c.apply_line(l).unwrap();
    }
    assert!(c.commit(&mut running, "").unwrap().is_some());
    let p = &running.config().effective().bgp.unwrap().peers[&ip("10.0.0.2")];
    assert_eq!(
        p.connect_interface.as_ref().unwrap().interface.as_deref(),
        Some("LoopBack9")
    );
}
