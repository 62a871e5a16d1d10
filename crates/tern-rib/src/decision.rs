//! The decision process (RFC 4271 §9.1), in VRP's order of tie-breakers.
//!
//! A path is eligible when import accepted it (not refused by policy or by the loop checks of
//! RFC 4271 §9.1.2 and RFC 4456 §8) and its next hop resolves ([`NextHopResolver`],
//! RFC 4271 §9.1.2.1). Eligible paths are ranked by, in order ([`Step`]):
//!
//! 1. preferred value, higher first (VRP, local to the router);
//! 2. LOCAL_PREF, higher first, 100 when absent (RFC 4271 §9.1.1; VRP's default);
//! 3. locally originated over learned;
//! 4. AS_PATH length, shorter first; an AS_SET counts 1, confederation segments 0
//!    (RFC 4271 §9.1.2.2 a, RFC 5065 §5.3);
//! 5. ORIGIN, IGP < EGP < INCOMPLETE (§9.1.2.2 b);
//! 6. MED, lower first, a missing MED counting as 0 (VRP's default), compared only between
//!    paths with the same neighbour AS (§9.1.2.2 c);
//! 7. EBGP over IBGP (§9.1.2.2 d);
//! 8. IGP cost to the next hop, lower first (§9.1.2.2 e);
//! 9. CLUSTER_LIST length, shorter first (RFC 4456 §9);
//! 10. ORIGINATOR_ID, or the peer's router ID when absent, lower first (§9.1.2.2 f,
//!     RFC 4456 §9);
//! 11. peer address, lower first (§9.1.2.2 g);
//! 12. then, so that the order is total, the ADD-PATH path ID and the peer's local id.
//!
//! ## MED and a deterministic result
//!
//! Because MED is compared only within one neighbour AS, the pairwise "better than" of
//! RFC 4271 is not transitive (A beats B on MED, B beats C on IGP cost, C beats A on router
//! ID), so a pairwise scan depends on the order paths arrived in. [`select`] avoids that the
//! way `deterministic-med` does: paths are grouped by neighbour AS; inside a group
//! [`compare_within_as`] (all steps) picks the group's best; the group winners are then ranked
//! by [`compare_across_as`] (all steps but MED). Each comparator is a lexicographic order on a
//! [`Rank`] and therefore total, so the winner depends only on the set of paths.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use tern_types::{Asn, Family};
use tern_wire::attr::Origin;

/// A peer's local id. [`PeerId::LOCAL`] stands for routes this router originates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PeerId(pub u32);

impl PeerId {
    /// Locally originated routes (`network`, `import-route`, aggregates).
    pub const LOCAL: PeerId = PeerId(0);
}

/// What the RIB knows about a peer: the facts the decision process and route reflection use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PeerInfo {
    /// The peer's address.
    pub addr: IpAddr,
    /// The peer's BGP identifier (from its OPEN).
    pub router_id: Ipv4Addr,
    /// The peer's AS.
    pub asn: Asn,
    /// External session.
    pub ebgp: bool,
    /// The peer is a route-reflector client (`peer X reflect-client`).
    pub rr_client: bool,
    /// VRP `peer X preferred-value N`: given to every route from the peer.
    pub preferred_value: u32,
}

impl PeerInfo {
    /// The pseudo-peer of locally originated routes.
    pub fn local(router_id: Ipv4Addr, asn: Asn) -> PeerInfo {
        PeerInfo {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            router_id,
            asn,
            ebgp: false,
            rr_client: false,
            preferred_value: 0,
        }
    }
}

/// Reachability and IGP cost of next hops (RFC 4271 §9.1.2.1).
pub trait NextHopResolver {
    /// The IGP cost to reach `next_hop` for a route of `family`; `None` when unreachable
    /// (the route is then not eligible).
    fn igp_cost(&self, family: Family, next_hop: IpAddr) -> Option<u32>;
}

/// Every next hop reachable at cost 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllReachable;

impl NextHopResolver for AllReachable {
    fn igp_cost(&self, _: Family, _: IpAddr) -> Option<u32> {
        Some(0)
    }
}

impl<F: Fn(Family, IpAddr) -> Option<u32>> NextHopResolver for F {
    fn igp_cost(&self, family: Family, next_hop: IpAddr) -> Option<u32> {
        self(family, next_hop)
    }
}

/// LOCAL_PREF when the attribute is absent (VRP `default local-preference`, 100).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Everything the decision process looks at for one eligible path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rank {
    /// Preferred value.
    pub preferred_value: u32,
    /// LOCAL_PREF, defaulted.
    pub local_pref: u32,
    /// Locally originated.
    pub local: bool,
    /// AS path length as counted for the decision.
    pub as_path_len: u32,
    /// ORIGIN.
    pub origin: Origin,
    /// MED, 0 when absent.
    pub med: u32,
    /// The neighbour AS that scopes MED comparison.
    pub neighbour_as: Option<u32>,
    /// Learned over EBGP.
    pub ebgp: bool,
    /// IGP cost to the next hop.
    pub igp_cost: u32,
    /// CLUSTER_LIST length.
    pub cluster_len: u32,
    /// ORIGINATOR_ID, else the peer's router ID.
    pub router_id: Ipv4Addr,
    /// Peer address.
    pub peer_addr: IpAddr,
    /// ADD-PATH path ID (0 without ADD-PATH).
    pub path_id: u32,
    /// The peer's local id.
    pub peer: PeerId,
}

/// The tie-breakers, in order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Step {
    /// Preferred value.
    PreferredValue,
    /// LOCAL_PREF.
    LocalPref,
    /// Locally originated.
    LocallyOriginated,
    /// AS_PATH length.
    AsPathLength,
    /// ORIGIN.
    Origin,
    /// MED (same neighbour AS only).
    Med,
    /// EBGP over IBGP.
    EbgpOverIbgp,
    /// IGP cost.
    IgpCost,
    /// CLUSTER_LIST length.
    ClusterListLength,
    /// ORIGINATOR_ID / router ID.
    RouterId,
    /// Peer address.
    PeerAddress,
    /// Path ID and local peer id (only distinguishes paths no rule above tells apart).
    Identity,
}

/// Compares two paths step by step; `Less` means `a` is preferred. Returns the step that
/// decided (`None` when `a` and `b` are the same path). MED is skipped unless `med`.
pub fn compare(a: &Rank, b: &Rank, med: bool) -> (Ordering, Option<Step>) {
    let steps: [(Step, Ordering); 12] = [
        (
            Step::PreferredValue,
            b.preferred_value.cmp(&a.preferred_value),
        ),
        (Step::LocalPref, b.local_pref.cmp(&a.local_pref)),
        (Step::LocallyOriginated, b.local.cmp(&a.local)),
        (Step::AsPathLength, a.as_path_len.cmp(&b.as_path_len)),
        (Step::Origin, a.origin.cmp(&b.origin)),
        (
            Step::Med,
            if med {
                a.med.cmp(&b.med)
            } else {
                Ordering::Equal
            },
        ),
        (Step::EbgpOverIbgp, b.ebgp.cmp(&a.ebgp)),
        (Step::IgpCost, a.igp_cost.cmp(&b.igp_cost)),
        (Step::ClusterListLength, a.cluster_len.cmp(&b.cluster_len)),
        (Step::RouterId, a.router_id.cmp(&b.router_id)),
        (Step::PeerAddress, a.peer_addr.cmp(&b.peer_addr)),
        (
            Step::Identity,
            (a.path_id, a.peer).cmp(&(b.path_id, b.peer)),
        ),
    ];
    steps
        .into_iter()
        .find(|(_, o)| o.is_ne())
        .map_or((Ordering::Equal, None), |(s, o)| (o, Some(s)))
}

/// The order inside one neighbour AS: every step, MED included.
pub fn compare_within_as(a: &Rank, b: &Rank) -> Ordering {
    compare(a, b, true).0
}

/// The order between the winners of different neighbour ASes: every step but MED.
pub fn compare_across_as(a: &Rank, b: &Rank) -> Ordering {
    compare(a, b, false).0
}

/// The index of the best of `ranks` (see the module documentation); `None` when empty.
pub fn select(ranks: &[Rank]) -> Option<usize> {
    // Group winners, one per neighbour AS: (neighbour AS, index). Tables hold a handful of
    // paths per prefix, so a linear scan beats a map.
    let mut winners: smallvec::SmallVec<[(Option<u32>, usize); 4]> = smallvec::SmallVec::new();
    for (i, r) in ranks.iter().enumerate() {
        match winners.iter_mut().find(|(asn, _)| *asn == r.neighbour_as) {
            Some((_, w)) => {
                if let Some(cur) = ranks.get(*w)
                    && compare_within_as(r, cur) == Ordering::Less
                {
                    *w = i;
                }
            }
            None => winners.push((r.neighbour_as, i)),
        }
    }
    winners
        .iter()
        .map(|(_, i)| *i)
        .reduce(|best, i| match (ranks.get(i), ranks.get(best)) {
            (Some(r), Some(b)) if compare_across_as(r, b) == Ordering::Less => i,
            _ => best,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn base(peer: u32) -> Rank {
        Rank {
            preferred_value: 0,
            local_pref: 100,
            local: false,
            as_path_len: 2,
            origin: Origin::Igp,
            med: 0,
            neighbour_as: Some(65001),
            ebgp: false,
            igp_cost: 10,
            cluster_len: 0,
            router_id: Ipv4Addr::new(9, 9, 9, 9),
            peer_addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
            path_id: 0,
            peer: PeerId(peer),
        }
    }

    /// `better` wins over `worse` at exactly `step`, in both argument orders, and `select`
    /// picks it whatever the order.
    fn wins_at(better: Rank, worse: Rank, step: Step) {
        assert_eq!(compare(&better, &worse, true), (Ordering::Less, Some(step)));
        assert_eq!(
            compare(&worse, &better, true),
            (Ordering::Greater, Some(step))
        );
        assert_eq!(select(&[better, worse]), Some(0));
        assert_eq!(select(&[worse, better]), Some(1));
    }

    #[test]
    fn preferred_value_higher_wins() {
        let (mut a, mut b) = (base(1), base(2));
        a.preferred_value = 10;
        b.local_pref = 500; // a later step in favour of b does not matter
        wins_at(a, b, Step::PreferredValue);
    }

    #[test]
    fn local_pref_higher_wins() {
        let (mut a, mut b) = (base(1), base(2));
        a.local_pref = 200;
        b.local = true;
        wins_at(a, b, Step::LocalPref);
    }

    #[test]
    fn locally_originated_wins() {
        let (mut a, mut b) = (base(1), base(2));
        a.local = true;
        a.as_path_len = 5;
        wins_at(a, b, Step::LocallyOriginated);
        b.local = true;
        assert_ne!(compare(&a, &b, true).1, Some(Step::LocallyOriginated));
    }

    #[test]
    fn shorter_as_path_wins() {
        let (mut a, mut b) = (base(1), base(2));
        a.as_path_len = 1;
        b.origin = Origin::Igp;
        a.origin = Origin::Incomplete;
        wins_at(a, b, Step::AsPathLength);
    }

    #[test]
    fn lower_origin_wins() {
        let (mut a, mut b) = (base(1), base(2));
        a.origin = Origin::Egp;
        b.origin = Origin::Incomplete;
        a.med = 50;
        wins_at(a, b, Step::Origin);
        a.origin = Origin::Igp;
        b.origin = Origin::Egp;
        wins_at(a, b, Step::Origin);
    }

    #[test]
    fn lower_med_wins_within_one_neighbour_as_only() {
        let (mut a, mut b) = (base(1), base(2));
        a.med = 5;
        b.med = 10;
        b.ebgp = true;
        wins_at(a, b, Step::Med);
        // From different neighbour ASes MED is not compared: EBGP decides.
        b.neighbour_as = Some(65002);
        assert_eq!(compare_across_as(&b, &a), Ordering::Less);
        assert_eq!(select(&[a, b]), Some(1));
    }

    #[test]
    fn ebgp_over_ibgp() {
        let (mut a, mut b) = (base(1), base(2));
        a.ebgp = true;
        a.igp_cost = 1000;
        b.igp_cost = 1;
        wins_at(a, b, Step::EbgpOverIbgp);
    }

    #[test]
    fn lower_igp_cost_wins() {
        let (mut a, mut b) = (base(1), base(2));
        a.igp_cost = 5;
        b.cluster_len = 0;
        a.cluster_len = 3;
        wins_at(a, b, Step::IgpCost);
    }

    #[test]
    fn shorter_cluster_list_wins() {
        let (mut a, mut b) = (base(1), base(2));
        b.cluster_len = 2;
        a.cluster_len = 1;
        a.router_id = Ipv4Addr::new(200, 0, 0, 1);
        wins_at(a, b, Step::ClusterListLength);
    }

    #[test]
    fn lower_router_id_wins() {
        let (mut a, mut b) = (base(1), base(2));
        a.router_id = Ipv4Addr::new(1, 1, 1, 1);
        a.peer_addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 200));
        b.router_id = Ipv4Addr::new(2, 2, 2, 2);
        wins_at(a, b, Step::RouterId);
    }

    #[test]
    fn lower_peer_address_wins() {
        let (mut a, b) = (base(1), base(2));
        a.peer_addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        wins_at(a, b, Step::PeerAddress);
    }

    #[test]
    fn identity_breaks_the_last_tie() {
        let (a, b) = (base(1), base(2));
        wins_at(a, b, Step::Identity);
        assert_eq!(compare(&a, &a, true), (Ordering::Equal, None));
        assert_eq!(select(&[]), None);
    }

    #[test]
    fn med_cycle_is_resolved_independently_of_order() {
        // a beats b on MED (same AS), b beats c on IGP cost, c beats a on router ID.
        let (mut a, mut b, mut c) = (base(1), base(2), base(3));
        a.med = 1;
        a.igp_cost = 20;
        a.router_id = Ipv4Addr::new(5, 5, 5, 5);
        b.med = 2;
        b.igp_cost = 10;
        c.neighbour_as = Some(65002);
        c.igp_cost = 20;
        c.router_id = Ipv4Addr::new(1, 1, 1, 1);
        assert_eq!(compare_within_as(&a, &b), Ordering::Less);
        assert_eq!(compare_across_as(&b, &c), Ordering::Less);
        assert_eq!(compare_across_as(&c, &a), Ordering::Less);
        // Group 65001: a (MED); then a vs c across ASes: c (router ID).
        let all = [a, b, c];
        let perms = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for p in perms {
            let v: Vec<Rank> = p.iter().map(|&i| all[i]).collect();
            let w = select(&v).unwrap();
            assert_eq!(v[w].peer, PeerId(3), "{p:?}");
        }
    }
}
