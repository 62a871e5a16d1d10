//! Applying real encoded UPDATEs: announcements, implicit and explicit withdrawals, RFC 7606
//! outcomes, loop checks, import policy and re-import, next-hop reachability, peer down.

#![allow(missing_docs)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::*;
use tern_rib::{
    AcceptAll, AllReachable, AttrId, BestChange, PeerId, PeerInfo, RibError, RouteKey, Verdict,
};
use tern_types::{Family, Label, LabelStack};
use tern_wire::attr::{AsPath, ClusterList, Origin, flag};
use tern_wire::{AddPathSet, AttrValue, NextHop, Nlri, PathAttribute};

fn apply(
    rib: &mut tern_rib::Rib,
    peer: u32,
    msgs: &[Vec<u8>],
    ctx: &tern_wire::Ctx,
) -> Vec<BestChange> {
    let mut out = Vec::new();
    for m in msgs {
        let u = parse(m, ctx);
        rib.apply_update(PeerId(peer), &u, &AcceptAll, &AllReachable, &mut out)
            .unwrap();
    }
    out
}

fn key(n: &Nlri) -> RouteKey {
    RouteKey::of_nlri(n)
}

#[test]
fn vpnv4_select_withdraw_and_peer_down() {
    let mut rib = rib_with_peers(&[(1, ibgp(1)), (2, ibgp(2))]);
    let c = ctx(false);
    let r = vpn4("100:1", "10.1.0.0/16", 1001);
    let lp = |v| with(with(base_attrs(&[]), AttrValue::LocalPref(v)), rt(1));
    let ch = apply(
        &mut rib,
        1,
        &reach(Family::VPNV4, nh4([1, 1, 1, 1]), &lp(100), &[r], &c),
        &c,
    );
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].key.to_string(), "100:1:10.1.0.0/16");
    assert_eq!((ch[0].old, ch[0].new.unwrap().peer), (None, PeerId(1)));
    assert_eq!(ch[0].new.unwrap().labels.top(), Some(Label(1001)));

    // Peer 2 with a higher LOCAL_PREF takes over.
    let r2 = vpn4("100:1", "10.1.0.0/16", 2002);
    let ch = apply(
        &mut rib,
        2,
        &reach(Family::VPNV4, nh4([2, 2, 2, 2]), &lp(200), &[r2], &c),
        &c,
    );
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].old.unwrap().peer, PeerId(1));
    let new = ch[0].new.unwrap();
    assert_eq!((new.peer, new.labels.top()), (PeerId(2), Some(Label(2002))));
    let a = rib.attrs(new.attrs);
    assert_eq!(a.local_pref, Some(200));
    assert_eq!(a.next_hop, nh4([2, 2, 2, 2]));
    assert_eq!(rib.paths(Family::VPNV4, &key(&r)).len(), 2);
    assert_eq!(rib.adj_rib_in(PeerId(1), Family::VPNV4).len(), 1);

    // Withdrawing the best falls back to peer 1.
    let ch = apply(&mut rib, 2, &withdraw(Family::VPNV4, &[r2], &c), &c);
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].new.unwrap().peer, PeerId(1));
    // A withdrawal of a route the peer does not have changes nothing.
    assert!(apply(&mut rib, 2, &withdraw(Family::VPNV4, &[r2], &c), &c).is_empty());

    let mut out = Vec::new();
    assert_eq!(rib.peer_down(PeerId(1), &AllReachable, &mut out), 1);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].old.unwrap().peer, out[0].new), (PeerId(1), None));
    assert_eq!(rib.counts(Family::VPNV4), (0, 0));
    assert!(rib.peer(PeerId(1)).is_none());
    // Every attribute set and part is freed once the deferred references go.
    rib.collect();
    let st = rib.store().stats();
    assert_eq!(
        (st.sets, st.as_paths, st.ext_communities),
        (0, 0, 0),
        "{st:?}"
    );
}

#[test]
fn ipv4_unicast_implicit_withdraw_replaces_attributes() {
    let mut rib = rib_with_peers(&[(1, ebgp(1, 200))]);
    let c = ctx(true);
    let routes = [v4("192.0.2.0/24"), v4("198.51.100.0/24")];
    let ch = apply(
        &mut rib,
        1,
        &reach(
            Family::IPV4_UNICAST,
            nh4([10, 0, 0, 1]),
            &base_attrs(&[200]),
            &routes,
            &c,
        ),
        &c,
    );
    assert_eq!(ch.len(), 2);
    let first = ch[0].new.unwrap().attrs;
    assert_eq!(
        rib.store().refs(first),
        4,
        "two routes, received and accepted"
    );
    let med = with(base_attrs(&[200]), AttrValue::Med(5));
    let ch = apply(
        &mut rib,
        1,
        &reach(
            Family::IPV4_UNICAST,
            nh4([10, 0, 0, 1]),
            &med,
            &routes[..1],
            &c,
        ),
        &c,
    );
    assert_eq!(ch.len(), 1);
    assert_eq!(
        ch[0].old.unwrap().attrs,
        first,
        "old ids stay valid until the next call"
    );
    assert_eq!(rib.attrs(ch[0].new.unwrap().attrs).med, Some(5));
    // The same announcement again: no change.
    assert!(
        apply(
            &mut rib,
            1,
            &reach(
                Family::IPV4_UNICAST,
                nh4([10, 0, 0, 1]),
                &med,
                &routes[..1],
                &c
            ),
            &c
        )
        .is_empty()
    );
    assert_eq!(rib.counts(Family::IPV4_UNICAST), (2, 2));
}

#[test]
fn treat_as_withdraw_withdraws_the_routes() {
    let mut rib = rib_with_peers(&[(1, ibgp(1))]);
    let c = ctx(false);
    let r = vpn4("100:1", "10.9.0.0/16", 16);
    apply(
        &mut rib,
        1,
        &reach(Family::VPNV4, nh4([1, 1, 1, 1]), &base_attrs(&[]), &[r], &c),
        &c,
    );
    // The same route again with ORIGIN 5: malformed, treat-as-withdraw (RFC 7606 §7.1).
    let mut msgs = reach(Family::VPNV4, nh4([1, 1, 1, 1]), &base_attrs(&[]), &[r], &c);
    let m = &mut msgs[0];
    let at = m
        .windows(4)
        .position(|w| w == [flag::TRANSITIVE, 1, 1, 0])
        .unwrap();
    m[at + 3] = 5;
    let u = parse(m, &c);
    let mut out = Vec::new();
    let s = rib
        .apply_update(PeerId(1), &u, &AcceptAll, &AllReachable, &mut out)
        .unwrap();
    assert!(s.treat_as_withdraw);
    assert_eq!((s.announced, s.withdrawn), (0, 1));
    assert_eq!(out[0].new, None);
    assert_eq!(rib.counts(Family::VPNV4), (0, 0));
}

#[test]
fn attribute_discard_keeps_the_routes() {
    let mut rib = rib_with_peers(&[(1, ibgp(1))]);
    let c = ctx(false);
    // ATOMIC_AGGREGATE with the Optional bit: flags conflict, attribute discard (RFC 7606 §7.6).
    let mut attrs = base_attrs(&[]);
    attrs.push(PathAttribute {
        flags: flag::OPTIONAL | flag::TRANSITIVE,
        value: AttrValue::AtomicAggregate,
    });
    let r = vpn4("100:1", "10.9.0.0/16", 16);
    let msgs = reach(Family::VPNV4, nh4([1, 1, 1, 1]), &attrs, &[r], &c);
    let u = parse(&msgs[0], &c);
    assert_eq!(u.action(), Some(tern_wire::Action::AttributeDiscard));
    let mut out = Vec::new();
    let s = rib
        .apply_update(PeerId(1), &u, &AcceptAll, &AllReachable, &mut out)
        .unwrap();
    assert_eq!((s.announced, s.treat_as_withdraw), (1, false));
    assert!(!rib.attrs(out[0].new.unwrap().attrs).atomic_aggregate);
}

#[test]
fn afi_safi_disable_and_session_reset() {
    let mut rib = rib_with_peers(&[(1, ibgp(1))]);
    let c = ctx(false);
    let a = vpn4("100:1", "10.1.0.0/16", 16);
    let b = vpn4("100:1", "10.2.0.0/16", 17);
    apply(
        &mut rib,
        1,
        &reach(Family::VPNV4, nh4([1, 1, 1, 1]), &base_attrs(&[]), &[a], &c),
        &c,
    );
    // A VPNv4 MP_REACH_NLRI whose next-hop length (11) fits no form: AFI/SAFI disable.
    let mut msgs = reach(Family::VPNV4, nh4([1, 1, 1, 1]), &base_attrs(&[]), &[b], &c);
    let m = &mut msgs[0];
    let at = m.windows(4).position(|w| w == [0, 1, 128, 12]).unwrap();
    m[at + 3] = 11;
    let u = parse(m, &c);
    assert_eq!(
        u.action(),
        Some(tern_wire::Action::AfiSafiDisable(Family::VPNV4))
    );
    let mut out = Vec::new();
    let s = rib
        .apply_update(PeerId(1), &u, &AcceptAll, &AllReachable, &mut out)
        .unwrap();
    assert_eq!((s.announced, s.withdrawn), (0, 1));
    assert_eq!(rib.counts(Family::VPNV4), (0, 0));

    // A malformed IPv4 NLRI field is a session reset: nothing applied.
    apply(
        &mut rib,
        1,
        &reach(
            Family::IPV4_UNICAST,
            nh4([1, 1, 1, 1]),
            &base_attrs(&[]),
            &[v4("10.0.0.0/8")],
            &c,
        ),
        &c,
    );
    let mut msgs = reach(
        Family::IPV4_UNICAST,
        nh4([1, 1, 1, 1]),
        &base_attrs(&[]),
        &[v4("10.0.0.0/8")],
        &c,
    );
    let m = msgs.pop().unwrap();
    let n = m.len();
    let mut bad = m.clone();
    bad[n - 2] = 33; // prefix length 33
    let u = parse(&bad, &c);
    assert_eq!(
        rib.apply_update(PeerId(1), &u, &AcceptAll, &AllReachable, &mut out),
        Err(RibError::SessionReset)
    );
    assert_eq!(rib.counts(Family::IPV4_UNICAST), (1, 1));
    let u = parse(&m, &c);
    assert_eq!(
        rib.apply_update(PeerId(9), &u, &AcceptAll, &AllReachable, &mut out),
        Err(RibError::UnknownPeer(PeerId(9)))
    );
}

#[test]
fn end_of_rib_changes_nothing() {
    let mut rib = rib_with_peers(&[(1, ibgp(1))]);
    let m = tern_wire::UpdateBuilder::end_of_rib(Family::VPNV6);
    let u = parse(&m, &ctx(false));
    let mut out = Vec::new();
    let s = rib
        .apply_update(PeerId(1), &u, &AcceptAll, &AllReachable, &mut out)
        .unwrap();
    assert_eq!(s.end_of_rib, Some(Family::VPNV6));
    assert!(out.is_empty());
}

#[test]
fn loops_are_kept_but_not_eligible() {
    let mut rib = rib_with_peers(&[(1, ibgp(1)), (2, ebgp(2, 200))]);
    let c = ctx(false);
    let r = vpn4("100:1", "10.1.0.0/16", 16);
    // ORIGINATOR_ID = our router ID (RFC 4456 §8).
    let own = with(base_attrs(&[]), AttrValue::OriginatorId(ROUTER_ID));
    assert!(
        apply(
            &mut rib,
            1,
            &reach(Family::VPNV4, nh4([1, 1, 1, 1]), &own, &[r], &c),
            &c
        )
        .is_empty()
    );
    let p = rib.paths(Family::VPNV4, &key(&r));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].attrs, AttrId::NONE);
    assert!(p[0].in_attrs.is_some());
    // CLUSTER_LIST holding our cluster ID (the router ID by default).
    let cl = with(
        base_attrs(&[]),
        AttrValue::ClusterList(ClusterList::from_items([
            Ipv4Addr::new(7, 7, 7, 7),
            ROUTER_ID,
        ])),
    );
    assert!(
        apply(
            &mut rib,
            1,
            &reach(Family::VPNV4, nh4([1, 1, 1, 1]), &cl, &[r], &c),
            &c
        )
        .is_empty()
    );
    // The local AS in AS_PATH (RFC 4271 §9.1.2).
    let e = ctx(true);
    assert!(
        apply(
            &mut rib,
            2,
            &reach(
                Family::VPNV4,
                nh4([10, 0, 0, 2]),
                &base_attrs(&[200, LOCAL_AS]),
                &[r],
                &e
            ),
            &e
        )
        .is_empty()
    );
    assert_eq!(rib.best(Family::VPNV4, &key(&r)), None);
    // A clean route is selected.
    let ch = apply(
        &mut rib,
        1,
        &reach(Family::VPNV4, nh4([1, 1, 1, 1]), &base_attrs(&[]), &[r], &c),
        &c,
    );
    assert_eq!(ch[0].new.unwrap().peer, PeerId(1));
}

#[test]
fn ebgp_routes_lose_reflection_attributes_and_get_the_preferred_value() {
    let mut info = ebgp(2, 200);
    info.preferred_value = 7;
    let mut rib = rib_with_peers(&[(2, info)]);
    let c = ctx(true);
    let attrs = with(
        with(
            base_attrs(&[200]),
            AttrValue::OriginatorId(Ipv4Addr::new(9, 9, 9, 9)),
        ),
        AttrValue::ClusterList(ClusterList::from_items([Ipv4Addr::new(8, 8, 8, 8)])),
    );
    let ch = apply(
        &mut rib,
        2,
        &reach(
            Family::IPV4_UNICAST,
            nh4([10, 0, 0, 2]),
            &attrs,
            &[v4("10.0.0.0/8")],
            &c,
        ),
        &c,
    );
    let a = rib.attrs(ch[0].new.unwrap().attrs);
    assert_eq!(
        (a.originator_id, a.cluster_list.len(), a.preferred_value),
        (None, 0, 7)
    );
}

#[test]
fn import_policy_and_reimport_without_refresh() {
    let mut rib = rib_with_peers(&[(1, ibgp(1)), (2, ibgp(2))]);
    let c = ctx(false);
    let r = vpn4("100:1", "10.1.0.0/16", 16);
    let mut out = Vec::new();
    for (peer, nh) in [(1, [1, 1, 1, 1]), (2, [2, 2, 2, 2])] {
        let msgs = reach(Family::VPNV4, nh4(nh), &base_attrs(&[]), &[r], &c);
        let u = parse(&msgs[0], &c);
        rib.apply_update(PeerId(peer), &u, &AcceptAll, &AllReachable, &mut out)
            .unwrap();
    }
    // Equal but for router ID: peer 1 wins.
    assert_eq!(rib.best(Family::VPNV4, &key(&r)).unwrap().peer, PeerId(1));
    // New policy: LOCAL_PREF 300 on peer 2's routes, deny nothing.
    let prefer2 = |p: PeerId, _: &PeerInfo, _: Family, _: &RouteKey, a: &tern_rib::PathAttrs| {
        if p == PeerId(2) {
            let mut m = a.clone();
            m.local_pref = Some(300);
            Verdict::Modify(Box::new(m))
        } else {
            Verdict::Accept
        }
    };
    out.clear();
    assert_eq!(
        rib.reimport(PeerId(2), &prefer2, &AllReachable, &mut out),
        Ok(1)
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].new.unwrap().peer, PeerId(2));
    let p2 = rib.paths(Family::VPNV4, &key(&r))[1];
    assert_eq!(
        rib.attrs(p2.in_attrs).local_pref,
        None,
        "Adj-RIB-In keeps what was sent"
    );
    assert_eq!(rib.attrs(p2.attrs).local_pref, Some(300));
    // Deny peer 2 altogether.
    let deny2 = |p: PeerId, _: &PeerInfo, _: Family, _: &RouteKey, _: &tern_rib::PathAttrs| {
        if p == PeerId(2) {
            Verdict::Deny
        } else {
            Verdict::Accept
        }
    };
    out.clear();
    rib.reimport(PeerId(2), &deny2, &AllReachable, &mut out)
        .unwrap();
    assert_eq!(out[0].new.unwrap().peer, PeerId(1));
    // Running the same policy again changes nothing.
    out.clear();
    assert_eq!(
        rib.reimport(PeerId(2), &deny2, &AllReachable, &mut out),
        Ok(0)
    );
    assert!(out.is_empty());
}

#[test]
fn unreachable_next_hops_are_not_eligible() {
    let mut rib = rib_with_peers(&[(1, ibgp(1)), (2, ibgp(2))]);
    let c = ctx(false);
    let r = vpn4("100:1", "10.1.0.0/16", 16);
    let only_2 = |_: Family, a: IpAddr| (a == IpAddr::V4(Ipv4Addr::new(2, 2, 2, 2))).then_some(10);
    let mut out = Vec::new();
    for (peer, nh) in [(1, [1, 1, 1, 1]), (2, [2, 2, 2, 2])] {
        let msgs = reach(Family::VPNV4, nh4(nh), &base_attrs(&[]), &[r], &c);
        rib.apply_update(
            PeerId(peer),
            &parse(&msgs[0], &c),
            &AcceptAll,
            &only_2,
            &mut out,
        )
        .unwrap();
    }
    assert_eq!(rib.best(Family::VPNV4, &key(&r)).unwrap().peer, PeerId(2));
    // 1.1.1.1 becomes reachable, cheaper: re-run the decision.
    let both = |_: Family, a: IpAddr| {
        Some(if a == IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)) {
            5
        } else {
            10
        })
    };
    out.clear();
    rib.reselect_all(Family::VPNV4, &both, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].new.unwrap().peer, PeerId(1));
    let none = |_: Family, _: IpAddr| None;
    out.clear();
    rib.reselect_all(Family::VPNV4, &none, &mut out);
    assert_eq!(out[0].new, None);
}

#[test]
fn add_path_ids_are_separate_paths() {
    let mut rib = rib_with_peers(&[(1, ibgp(1))]);
    let mut c = ctx(false);
    c.add_path = AddPathSet::of(&[Family::IPV4_UNICAST]);
    let mut a = v4("10.0.0.0/8");
    a.path_id = Some(1);
    let mut b = a;
    b.path_id = Some(2);
    let med = |m| with(base_attrs(&[]), AttrValue::Med(m));
    apply(
        &mut rib,
        1,
        &reach(Family::IPV4_UNICAST, nh4([1, 1, 1, 1]), &med(10), &[a], &c),
        &c,
    );
    let ch = apply(
        &mut rib,
        1,
        &reach(Family::IPV4_UNICAST, nh4([1, 1, 1, 2]), &med(5), &[b], &c),
        &c,
    );
    assert_eq!(ch[0].new.unwrap().path_id, 2);
    assert_eq!(rib.paths(Family::IPV4_UNICAST, &key(&a)).len(), 2);
    let mut out = Vec::new();
    assert_eq!(rib.peer_down(PeerId(1), &AllReachable, &mut out), 2);
}

/// ADD-PATH send (RFC 7911): the n best paths in the decision order, and the log of path
/// changes that are not best-path changes (a second path replaced, a path removed).
#[test]
fn ranked_paths_and_the_path_log() {
    let mut rib = rib_with_peers(&[(1, ibgp(1)), (2, ibgp(2)), (3, ibgp(3))]);
    let c = ctx(false);
    let a = v4("10.0.0.0/8");
    let med = |m| with(base_attrs(&[]), AttrValue::Med(m));
    for (peer, m) in [(1, 10), (2, 5), (3, 20)] {
        apply(
            &mut rib,
            peer,
            &reach(
                Family::IPV4_UNICAST,
                nh4([1, 1, 1, peer as u8]),
                &med(m),
                &[a],
                &c,
            ),
            &c,
        );
    }
    let order = |rib: &tern_rib::Rib, n| -> Vec<u32> {
        rib.ranked(Family::IPV4_UNICAST, &key(&a), n, &AllReachable)
            .iter()
            .map(|b| b.peer.0)
            .collect()
    };
    assert_eq!(order(&rib, 2), vec![2, 1]);
    assert_eq!(order(&rib, 64), vec![2, 1, 3]);
    assert_eq!(
        rib.ranked(Family::IPV4_UNICAST, &key(&a), 1, &AllReachable)[0],
        rib.best(Family::IPV4_UNICAST, &key(&a)).unwrap()
    );
    assert_eq!(order(&rib, 0), Vec::<u32>::new());

    // Untracked: nothing logged.
    assert!(rib.take_path_changes().is_empty());
    rib.track_paths(true);
    // The third path becomes second: not a best-path change, but logged.
    let ch = apply(
        &mut rib,
        3,
        &reach(Family::IPV4_UNICAST, nh4([1, 1, 1, 3]), &med(7), &[a], &c),
        &c,
    );
    assert!(ch.is_empty());
    assert_eq!(order(&rib, 2), vec![2, 3]);
    let log = rib.take_path_changes();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].key, log[0].gone), (key(&a), None));
    // A path withdrawn is logged with its identity, as is every path of a peer going down.
    apply(&mut rib, 1, &withdraw(Family::IPV4_UNICAST, &[a], &c), &c);
    let mut out = Vec::new();
    rib.peer_down(PeerId(3), &AllReachable, &mut out);
    let gone: Vec<_> = rib
        .take_path_changes()
        .into_iter()
        .filter_map(|p| p.gone)
        .collect();
    assert_eq!(gone, vec![(PeerId(1), 0), (PeerId(3), 0)]);
    assert_eq!(order(&rib, 2), vec![2]);
    rib.track_paths(false);
    apply(&mut rib, 2, &withdraw(Family::IPV4_UNICAST, &[a], &c), &c);
    assert!(rib.take_path_changes().is_empty());
}

#[test]
fn vpnv6_mapped_next_hop_and_label_stacks() {
    let mut rib = rib_with_peers(&[(1, ibgp(1))]);
    let c = ctx(false);
    let mut stack = LabelStack::new();
    stack.push_label(Label(16), false);
    stack.push_label(Label(2000), true);
    let r = Nlri::vpn(
        "200:1".parse().unwrap(),
        stack,
        "2001:db8:1::/64".parse().unwrap(),
    );
    let nh = NextHop::ipv4_mapped(Ipv4Addr::new(1, 1, 1, 9));
    let ch = apply(
        &mut rib,
        1,
        &reach(Family::VPNV6, nh.clone(), &base_attrs(&[]), &[r], &c),
        &c,
    );
    let best = ch[0].new.unwrap();
    assert_eq!(best.labels, stack);
    assert_eq!(rib.attrs(best.attrs).next_hop, nh);
    assert_eq!(
        rib.next_hop_addr(best.attrs),
        Some(IpAddr::V4(Ipv4Addr::new(1, 1, 1, 9)))
    );
    assert_eq!(rib.store().stats().label_stacks, 1);
    let mut out = Vec::new();
    rib.peer_down(PeerId(1), &AllReachable, &mut out);
    assert_eq!(rib.store().stats().label_stacks, 0);
}

#[test]
fn two_octet_session_path_is_rebuilt_from_as4_path() {
    let mut rib = rib_with_peers(&[(1, ebgp(1, 200))]);
    let c = tern_wire::Ctx {
        four_octet_as: false,
        ebgp: true,
        ..tern_wire::Ctx::default()
    };
    let attrs = vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(&[200, 70000], false))),
        PathAttribute::new(AttrValue::As4Path(AsPath::sequence(&[70000], true))),
    ];
    let ch = apply(
        &mut rib,
        1,
        &reach(
            Family::IPV4_UNICAST,
            nh4([10, 0, 0, 1]),
            &attrs,
            &[v4("10.0.0.0/8")],
            &c,
        ),
        &c,
    );
    let a = rib.attrs(ch[0].new.unwrap().attrs);
    assert_eq!(a.as_path.to_string(), "200 70000");
    // And back out on a 2-octet session: AS_TRANS in AS_PATH, the real path in AS4_PATH.
    let wire = a.to_wire(false);
    assert!(
        wire.iter()
            .any(|p| matches!(&p.value, AttrValue::As4Path(x) if x.to_string() == "200 70000"))
    );
}

#[test]
fn locally_originated_routes_beat_learned_ones() {
    let mut rib = rib_with_peers(&[(1, ibgp(1))]);
    let c = ctx(false);
    let r = v4("10.0.0.0/8");
    apply(
        &mut rib,
        1,
        &reach(
            Family::IPV4_UNICAST,
            nh4([1, 1, 1, 1]),
            &base_attrs(&[]),
            &[r],
            &c,
        ),
        &c,
    );
    let local =
        tern_rib::PathAttrs::new(Origin::Incomplete, AsPath::empty(true), nh4([0, 0, 0, 0]));
    let mut out = Vec::new();
    assert!(rib.originate(
        Family::IPV4_UNICAST,
        key(&r),
        &local,
        LabelStack::new(),
        &AllReachable,
        &mut out
    ));
    assert_eq!(out[0].new.unwrap().peer, PeerId::LOCAL);
    assert!(!rib.originate(
        Family::VPNV4,
        key(&r),
        &local,
        LabelStack::new(),
        &AllReachable,
        &mut out
    ));
    out.clear();
    assert!(rib.withdraw_local(Family::IPV4_UNICAST, key(&r), &AllReachable, &mut out));
    assert_eq!(out[0].new.unwrap().peer, PeerId(1));
}

#[test]
fn received_and_accepted_counts_follow_announcements_replacements_withdrawals_and_peer_down() {
    let mut rib = rib_with_peers(&[(1, ebgp(1, 200)), (2, ebgp(2, 300))]);
    let c = ctx(true);
    let routes = [
        v4("192.0.2.0/24"),
        v4("198.51.100.0/24"),
        v4("203.0.113.0/24"),
    ];
    let announce = |rib: &mut tern_rib::Rib, peer: u32, path: &[u32], r: &[Nlri]| {
        apply(
            rib,
            peer,
            &reach(
                Family::IPV4_UNICAST,
                nh4([10, 0, 0, 1]),
                &base_attrs(path),
                r,
                &c,
            ),
            &c,
        );
    };
    announce(&mut rib, 1, &[200], &routes);
    announce(&mut rib, 2, &[300], &routes[..1]);
    assert_eq!(rib.received(PeerId(1)), vec![(Family::IPV4_UNICAST, 3)]);
    assert_eq!(rib.received(PeerId(2)), vec![(Family::IPV4_UNICAST, 1)]);
    // A replacement (implicit withdraw) is not a new route; a looped one is still received.
    announce(&mut rib, 1, &[200, 201], &routes[..2]);
    assert_eq!(rib.received(PeerId(1)), vec![(Family::IPV4_UNICAST, 3)]);
    announce(&mut rib, 2, &[300, 100], &routes[1..2]);
    assert_eq!(rib.received(PeerId(2)), vec![(Family::IPV4_UNICAST, 2)]);
    // The looped one is not accepted.
    assert_eq!(rib.accepted(PeerId(2)), vec![(Family::IPV4_UNICAST, 1)]);
    assert_eq!(rib.accepted(PeerId(1)), vec![(Family::IPV4_UNICAST, 3)]);
    assert_eq!(rib.accepted_total(Family::IPV4_UNICAST), 4);
    // Replaced by a clean one: accepted again.
    announce(&mut rib, 2, &[300], &routes[1..2]);
    assert_eq!(rib.accepted(PeerId(2)), vec![(Family::IPV4_UNICAST, 2)]);
    // Withdrawals, including one of a route never received.
    apply(
        &mut rib,
        1,
        &withdraw(Family::IPV4_UNICAST, &routes[..1], &c),
        &c,
    );
    apply(
        &mut rib,
        1,
        &withdraw(Family::IPV4_UNICAST, &routes[..1], &c),
        &c,
    );
    assert_eq!(rib.received(PeerId(1)), vec![(Family::IPV4_UNICAST, 2)]);
    assert_eq!(rib.accepted(PeerId(1)), vec![(Family::IPV4_UNICAST, 2)]);
    let mut out = Vec::new();
    rib.peer_down(PeerId(1), &AllReachable, &mut out);
    assert!(rib.received(PeerId(1)).is_empty());
    assert!(rib.accepted(PeerId(1)).is_empty());
    assert_eq!(rib.accepted_total(Family::IPV4_UNICAST), 2);
    assert_eq!(rib.received(PeerId(2)), vec![(Family::IPV4_UNICAST, 2)]);
    assert!(rib.received(PeerId(9)).is_empty());
}

#[test]
fn a_digest_applies_like_its_update() {
    let c = ctx(true);
    let routes = [v4("192.0.2.0/24"), v4("198.51.100.0/24")];
    let msgs = reach(
        Family::IPV4_UNICAST,
        nh4([10, 0, 0, 1]),
        &base_attrs(&[200]),
        &routes,
        &c,
    );
    let mut a = rib_with_peers(&[(1, ebgp(1, 200))]);
    let mut b = rib_with_peers(&[(1, ebgp(1, 200))]);
    let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
    for m in &msgs {
        let u = parse(m, &c);
        let sa = a
            .apply_update(PeerId(1), &u, &AcceptAll, &AllReachable, &mut out_a)
            .unwrap();
        let d = tern_rib::Digest::of(&u);
        assert_eq!(d.reach.len(), 1);
        assert_eq!(d.reach[0].routes.len(), 2);
        let sb = b
            .apply(PeerId(1), d, &AcceptAll, &AllReachable, &mut out_b)
            .unwrap();
        assert_eq!(sa, sb);
    }
    assert_eq!(out_a, out_b);
    assert_eq!(sa_count(&a), 2);
    assert_eq!(
        a.loc_rib(Family::IPV4_UNICAST),
        b.loc_rib(Family::IPV4_UNICAST)
    );
}

fn sa_count(r: &tern_rib::Rib) -> usize {
    r.counts(Family::IPV4_UNICAST).0
}
