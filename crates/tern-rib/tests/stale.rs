//! Stale paths (RFC 4724 §4.2, RFC 7313 §4): a peer's paths marked stale stay selected until
//! announced again (then no longer stale) or purged (the rest withdrawn).

#![allow(missing_docs)]

mod common;

use common::*;
use tern_rib::{AcceptAll, AllReachable, BestChange, PeerId, RouteKey};
use tern_types::Family;
use tern_wire::AttrValue;

fn apply(rib: &mut tern_rib::Rib, peer: u32, msgs: &[Vec<u8>]) -> Vec<BestChange> {
    let c = ctx(false);
    let mut out = Vec::new();
    for m in msgs {
        let u = parse(m, &c);
        rib.apply_update(PeerId(peer), &u, &AcceptAll, &AllReachable, &mut out)
            .unwrap();
    }
    out
}

#[test]
fn stale_paths_stay_until_announced_again_or_purged() {
    let mut rib = rib_with_peers(&[(1, ibgp(1)), (2, ibgp(2))]);
    let c = ctx(false);
    let f = Family::IPV4_UNICAST;
    let lp = |v| with(base_attrs(&[]), AttrValue::LocalPref(v));
    let routes = [v4("10.0.0.0/24"), v4("10.0.1.0/24"), v4("10.0.2.0/24")];
    apply(
        &mut rib,
        1,
        &reach(f, nh4([1, 1, 1, 1]), &lp(100), &routes, &c),
    );
    // Peer 2 has the third one too, less preferred.
    apply(
        &mut rib,
        2,
        &reach(f, nh4([2, 2, 2, 2]), &lp(50), &routes[2..], &c),
    );
    assert_eq!(rib.mark_stale(PeerId(1), f), 3);
    assert_eq!(rib.mark_stale(PeerId(1), f), 0, "already stale");
    assert_eq!(rib.stale_count(PeerId(1), f), 3);
    // Still selected while stale.
    let k = |r: &tern_wire::Nlri| RouteKey::of_nlri(r);
    assert_eq!(rib.best(f, &k(&routes[2])).unwrap().peer, PeerId(1));
    let p = rib.paths(f, &k(&routes[0]));
    assert!(p.iter().any(|p| p.peer == PeerId(1) && p.stale && p.best));

    // The first announced again unchanged: no best-path change, no longer stale. The second
    // with new attributes.
    assert!(
        apply(
            &mut rib,
            1,
            &reach(f, nh4([1, 1, 1, 1]), &lp(100), &routes[..1], &c)
        )
        .is_empty()
    );
    assert_eq!(
        apply(
            &mut rib,
            1,
            &reach(f, nh4([1, 1, 1, 1]), &lp(120), &routes[1..2], &c)
        )
        .len(),
        1
    );
    assert_eq!(rib.stale_count(PeerId(1), f), 1);
    assert!(rib.paths(f, &k(&routes[0])).iter().all(|p| !p.stale));

    // Purge: the third goes, peer 2's path takes over; the others stay.
    let mut out = Vec::new();
    assert_eq!(rib.accepted(PeerId(1)), vec![(f, 3)]);
    assert_eq!(rib.purge_stale(PeerId(1), f, &AllReachable, &mut out), 1);
    assert_eq!(rib.accepted(PeerId(1)), vec![(f, 2)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].new.unwrap().peer, PeerId(2));
    assert_eq!(rib.best(f, &k(&routes[0])).unwrap().peer, PeerId(1));
    assert_eq!(rib.best(f, &k(&routes[1])).unwrap().peer, PeerId(1));
    assert_eq!(rib.stale_count(PeerId(1), f), 0);
    assert_eq!(rib.adj_rib_in(PeerId(1), f).len(), 2);
    // Nothing left to purge.
    assert_eq!(rib.purge_stale(PeerId(1), f, &AllReachable, &mut out), 0);
}
