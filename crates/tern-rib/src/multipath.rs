//! Load balancing over equal-cost paths (VRP `maximum load-balancing [ebgp|ibgp] N`): which
//! paths of a destination are installed with the best one. RFC 4271 §9.1.2 selects one path;
//! the paths balanced with it are those VRP counts as equal-cost to it:
//!
//! - learned from a peer (a locally originated best route is not balanced);
//! - the same kind of session as the best path's, EBGP or IBGP, and that kind's limit (N for
//!   `maximum load-balancing N`, else the `ebgp N` / `ibgp N` one) above 1;
//! - the same preferred value, LOCAL_PREF, ORIGIN and MED (a missing MED counting as 0);
//! - the same AS_PATH (length and content, compared by its interned id);
//! - the same IGP cost to the next hop;
//! - a next hop different from those of the paths already taken (VRP: "original next-hop
//!   addresses are different").
//!
//! The best path comes first; the others follow in the decision process's order (every step
//! but MED, which is equal here anyway), so the set is a function of the paths alone, and at
//! most the limit are taken. Only the set installed in the forwarding table is chosen here:
//! the best path is still the one advertised.

use std::cmp::Ordering;
use std::net::IpAddr;

use smallvec::SmallVec;

use crate::decision::{Rank, compare_across_as};

/// The paths installed together at most, per kind of the best path's session (1: no load
/// balancing).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct LoadBalancing {
    /// When the best path is from an EBGP peer.
    pub ebgp: u32,
    /// When the best path is from an IBGP peer.
    pub ibgp: u32,
    /// The plain form (`maximum load-balancing N`, neither `ebgp` nor `ibgp`): VRP then
    /// advertises routes learned from EBGP to IBGP peers with next hop self, balanced or not.
    pub next_hop_self: bool,
}

impl LoadBalancing {
    /// No load balancing (VRP's default).
    pub const OFF: LoadBalancing = LoadBalancing {
        ebgp: 1,
        ibgp: 1,
        next_hop_self: false,
    };

    /// True when some kind of path is balanced.
    pub fn on(&self) -> bool {
        self.ebgp > 1 || self.ibgp > 1
    }
}

impl Default for LoadBalancing {
    fn default() -> Self {
        LoadBalancing::OFF
    }
}

/// One eligible path as load balancing compares it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Candidate {
    /// What the decision process looks at.
    pub rank: Rank,
    /// The interned AS_PATH (equal ids: equal paths).
    pub as_path: u32,
    /// The BGP next hop.
    pub next_hop: IpAddr,
}

/// True when `other` is equal-cost to `best` (see the module documentation; the next hop
/// is not looked at here).
pub fn equal_cost(best: &Candidate, other: &Candidate) -> bool {
    let (a, b) = (&best.rank, &other.rank);
    !a.local
        && !b.local
        && a.ebgp == b.ebgp
        && a.preferred_value == b.preferred_value
        && a.local_pref == b.local_pref
        && a.origin == b.origin
        && a.med == b.med
        && a.as_path_len == b.as_path_len
        && best.as_path == other.as_path
        && a.igp_cost == b.igp_cost
}

/// The indexes of the paths installed for the destination, `best` first; just `[best]`
/// without load balancing for the best path's kind.
pub fn select(cands: &[Candidate], best: usize, lb: LoadBalancing) -> SmallVec<[usize; 4]> {
    let mut out: SmallVec<[usize; 4]> = SmallVec::new();
    let Some(b) = cands.get(best) else {
        return out;
    };
    out.push(best);
    let limit = usize::try_from(if b.rank.ebgp { lb.ebgp } else { lb.ibgp }).unwrap_or(1);
    if limit <= 1 {
        return out;
    }
    let mut others: SmallVec<[usize; 4]> = (0..cands.len())
        .filter(|&i| i != best && cands.get(i).is_some_and(|c| equal_cost(b, c)))
        .collect();
    others.sort_by(|&i, &j| match (cands.get(i), cands.get(j)) {
        (Some(x), Some(y)) => compare_across_as(&x.rank, &y.rank),
        _ => Ordering::Equal,
    });
    for i in others {
        if out.len() >= limit {
            break;
        }
        let Some(c) = cands.get(i) else { continue };
        if out
            .iter()
            .all(|&k| cands.get(k).is_some_and(|t| t.next_hop != c.next_hop))
        {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use tern_wire::attr::Origin;

    use super::*;
    use crate::decision::{PeerId, select as best_of};

    fn cand(peer: u32, ebgp: bool) -> Candidate {
        Candidate {
            rank: Rank {
                preferred_value: 0,
                local_pref: 100,
                local: false,
                as_path_len: 1,
                origin: Origin::Igp,
                med: 0,
                neighbour_as: Some(65000 + peer),
                ebgp,
                igp_cost: 0,
                cluster_len: 0,
                router_id: Ipv4Addr::new(10, 0, 0, peer as u8),
                peer_addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, peer as u8)),
                path_id: 0,
                peer: PeerId(peer),
            },
            as_path: 7,
            next_hop: IpAddr::V4(Ipv4Addr::new(192, 0, 2, peer as u8)),
        }
    }

    fn run(cands: &[Candidate], lb: LoadBalancing) -> Vec<u32> {
        let ranks: Vec<Rank> = cands.iter().map(|c| c.rank).collect();
        let best = best_of(&ranks).unwrap();
        select(cands, best, lb)
            .into_iter()
            .map(|i| cands[i].rank.peer.0)
            .collect()
    }

    const TWO: LoadBalancing = LoadBalancing {
        ebgp: 2,
        ibgp: 2,
        next_hop_self: false,
    };

    #[test]
    fn equal_paths_are_balanced_best_first() {
        let c = [cand(2, true), cand(1, true), cand(3, true)];
        // The best is the lowest router ID (peer 1); the next in decision order is peer 2.
        assert_eq!(run(&c, TWO), vec![1, 2]);
        assert_eq!(
            run(
                &c,
                LoadBalancing {
                    ebgp: 8,
                    ibgp: 1,
                    next_hop_self: false
                }
            ),
            vec![1, 2, 3]
        );
        assert_eq!(run(&c, LoadBalancing::OFF), vec![1]);
        // The limit of the other kind does not apply.
        assert_eq!(
            run(
                &c,
                LoadBalancing {
                    ebgp: 1,
                    ibgp: 8,
                    next_hop_self: false
                }
            ),
            vec![1]
        );
    }

    #[test]
    fn each_condition_excludes() {
        let tweaks: [fn(&mut Candidate); 9] = [
            |c| c.rank.preferred_value = 5,
            |c| c.rank.local_pref = 50,
            |c| c.rank.origin = Origin::Incomplete,
            |c| c.rank.med = 10,
            |c| c.rank.as_path_len = 2,
            |c| c.as_path = 8,
            |c| c.rank.igp_cost = 5,
            |c| c.rank.ebgp = false,
            |c| c.next_hop = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        ];
        for (i, t) in tweaks.iter().enumerate() {
            let mut other = cand(2, true);
            t(&mut other);
            let c = [cand(1, true), other];
            assert_eq!(run(&c, TWO).len(), 1, "condition {i}");
        }
        // Same AS_PATH content but another peer AS in the rank: still equal (content is
        // the interned path).
        let mut b = cand(2, true);
        b.rank.neighbour_as = Some(65001);
        assert_eq!(run(&[cand(1, true), b], TWO), vec![1, 2]);
    }

    #[test]
    fn local_best_is_not_balanced() {
        let mut a = cand(1, false);
        a.rank.local = true;
        let c = [a, cand(2, false)];
        assert_eq!(run(&c, TWO), vec![1]);
    }

    #[test]
    fn ibgp_kind_limit() {
        let c = [cand(1, false), cand(2, false), cand(3, false)];
        assert_eq!(
            run(
                &c,
                LoadBalancing {
                    ebgp: 1,
                    ibgp: 3,
                    next_hop_self: false
                }
            ),
            vec![1, 2, 3]
        );
        assert_eq!(
            run(
                &c,
                LoadBalancing {
                    ebgp: 4,
                    ibgp: 1,
                    next_hop_self: false
                }
            ),
            vec![1]
        );
    }

    #[test]
    fn the_set_does_not_depend_on_arrival_order() {
        let all = [cand(1, true), cand(2, true), cand(3, true), cand(4, true)];
        let want = run(
            &all,
            LoadBalancing {
                ebgp: 3,
                ibgp: 1,
                next_hop_self: false,
            },
        );
        let mut v = all;
        for _ in 0..4 {
            v.rotate_left(1);
            assert_eq!(
                run(
                    &v,
                    LoadBalancing {
                        ebgp: 3,
                        ibgp: 1,
                        next_hop_self: false
                    }
                ),
                want
            );
        }
        assert_eq!(want, vec![1, 2, 3]);
    }
}
