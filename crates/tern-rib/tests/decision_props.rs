//! Properties of the decision process: both comparators are total orders, and the selected
//! path does not depend on the order paths arrived in (in `select` and through the RIB).

#![allow(missing_docs)]

mod common;

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use common::*;
use proptest::prelude::*;
use tern_rib::decision::{compare_across_as, compare_within_as, select};
use tern_rib::{AcceptAll, PeerId, Rank, RouteKey};
use tern_types::Family;
use tern_wire::AttrValue;
use tern_wire::attr::Origin;

/// Ranks drawn from small domains, so that ties at every step are common.
fn rank() -> impl Strategy<Value = Rank> {
    (
        (
            0u32..2,
            prop::sample::select(vec![90u32, 100, 110]),
            any::<bool>(),
            0u32..3,
        ),
        (0u8..3, 0u32..3, prop::option::of(0u32..3), any::<bool>()),
        (0u32..3, 0u32..2, 0u8..3, 0u8..3),
    )
        .prop_map(
            |((pv, lp, local, len), (origin, med, nas, ebgp), (igp, cl, rid, addr))| Rank {
                preferred_value: pv,
                local_pref: lp,
                local,
                as_path_len: len,
                origin: [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(origin)],
                med,
                neighbour_as: nas,
                ebgp,
                igp_cost: igp,
                cluster_len: cl,
                router_id: Ipv4Addr::new(1, 1, 1, rid),
                peer_addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, addr)),
                path_id: 0,
                peer: PeerId(0),
            },
        )
}

/// Up to 8 ranks with distinct identities (peer ids), as a table holds them.
fn ranks() -> impl Strategy<Value = Vec<Rank>> {
    prop::collection::vec(rank(), 1..8).prop_map(|mut v| {
        for (i, r) in v.iter_mut().enumerate() {
            r.peer = PeerId(u32::try_from(i).unwrap() + 1);
        }
        v
    })
}

fn check_total(cmp: fn(&Rank, &Rank) -> Ordering, v: &[Rank]) -> Result<(), TestCaseError> {
    for a in v {
        prop_assert_eq!(cmp(a, a), Ordering::Equal);
        for b in v {
            // Antisymmetric, and distinct paths never tie.
            prop_assert_eq!(cmp(a, b), cmp(b, a).reverse());
            if a.peer != b.peer {
                prop_assert_ne!(cmp(a, b), Ordering::Equal);
            }
            for c in v {
                if cmp(a, b) == Ordering::Less && cmp(b, c) == Ordering::Less {
                    prop_assert_eq!(cmp(a, c), Ordering::Less, "{:?} {:?} {:?}", a, b, c);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn across_as_comparator_is_a_total_order(v in ranks()) {
        check_total(compare_across_as, &v)?;
    }

    #[test]
    fn within_as_comparator_is_a_total_order_inside_one_as(mut v in ranks()) {
        for r in &mut v {
            r.neighbour_as = Some(65001);
        }
        check_total(compare_within_as, &v)?;
    }

    #[test]
    fn selection_is_independent_of_order(
        (v, shuffled) in ranks().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle()))
    ) {
        let a = v[select(&v).unwrap()].peer;
        let b = shuffled[select(&shuffled).unwrap()].peer;
        prop_assert_eq!(a, b);
    }

    #[test]
    fn the_winner_is_unbeaten(v in ranks()) {
        let w = v[select(&v).unwrap()];
        for r in &v {
            // No path of its own neighbour AS beats it with MED, and no other AS's group
            // winner beats it without.
            if r.neighbour_as == w.neighbour_as {
                prop_assert_ne!(compare_within_as(r, &w), Ordering::Less);
            } else {
                let group_best = v
                    .iter()
                    .filter(|x| x.neighbour_as == r.neighbour_as)
                    .min_by(|a, b| compare_within_as(a, b))
                    .unwrap();
                prop_assert_ne!(compare_across_as(group_best, &w), Ordering::Less);
            }
        }
    }

    /// Through the RIB: the same announcements from several peers, applied in any order,
    /// give the same best path.
    #[test]
    fn rib_best_is_independent_of_arrival_order(
        (routes, order) in prop::collection::vec((0u32..3, 200u32..203, 1u32..3, any::<bool>()), 2..6)
            .prop_flat_map(|v| {
                let n = v.len();
                (Just(v), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
            })
    ) {
        let best = |order: &[usize]| {
            let peers: Vec<(u32, tern_rib::PeerInfo)> = (0..routes.len())
                .map(|i| {
                    let n = u8::try_from(i).unwrap() + 1;
                    (n.into(), if routes[i].3 { ebgp(n, routes[i].1) } else { ibgp(n) })
                })
                .collect();
            let mut rib = rib_with_peers(&peers);
            let nlri = vpn4("100:1", "10.0.0.0/8", 16);
            // IGP cost by next hop: peer n's next hop 1.1.1.n costs n % 3.
            let igp = |_: Family, a: IpAddr| match a {
                IpAddr::V4(v) => Some(u32::from(v.octets()[3] % 3)),
                IpAddr::V6(_) => None,
            };
            let mut out = Vec::new();
            for &i in order {
                let (med, nas, len, ebgp) = routes[i];
                let c = ctx(ebgp);
                let mut path = vec![nas];
                path.extend(std::iter::repeat_n(65000, len as usize - 1));
                let attrs = with(base_attrs(&path), AttrValue::Med(med));
                let n = u8::try_from(i).unwrap() + 1;
                let msgs = reach(Family::VPNV4, nh4([1, 1, 1, n]), &attrs, &[nlri], &c);
                rib.apply_update(PeerId(n.into()), &parse(&msgs[0], &c), &AcceptAll, &igp, &mut out).unwrap();
            }
            rib.best(Family::VPNV4, &RouteKey::of_nlri(&nlri)).map(|b| b.peer)
        };
        let identity: Vec<usize> = (0..routes.len()).collect();
        prop_assert_eq!(best(&identity), best(&order));
    }
}
