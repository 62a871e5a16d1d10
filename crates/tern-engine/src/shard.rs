//! Destinations sharded by prefix hash over several engines, one per core: every destination
//! has one owner, so a withdrawal and an announcement of one prefix stay in order, and
//! UPDATEs for different prefixes need no order between them (RFC 4271 §9.1.3 asks nothing
//! across prefixes).
//!
//! The owner is chosen by the IP prefix alone, ignoring the route distinguisher: a VPN
//! instance's route, the VPN route it is exported as (RFC 4364 §4.3.1) and the instance routes
//! a VPN route is imported as (§4.3.2) are one prefix, so VPN import and export never cross
//! shards; nor does a unicast route sent as labeled unicast.
//!
//! Each engine keeps its own tables, interned attributes, dirty sets, update groups and
//! encoder, and writes into the same per-peer writers. What is per peer rather than per
//! destination is shared by message or by the writer: session events and settings go to
//! every shard, UPDATEs are split ([`split`]), received-route counts are summed by whoever
//! shows them, and a peer's End-of-RIB leaves once every shard has sent its initial table
//! ([`crate::adjout::Sink::end_of_rib_turn`]). Labels: each shard allocates dynamic labels
//! from its own residue class ([`crate::labels::Labels::sharded`]), and per-instance labels
//! are allocated when the instance is configured, in the same order in every shard, from a
//! range of their own, so an instance has one label whatever the shard.

use ipnet::IpNet;
use tern_rib::{Digest, Reach};
use tern_wire::Nlri;

/// One engine's place among the shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This engine's index.
    pub index: usize,
    /// How many engines share the destinations.
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// True when this engine owns `prefix`'s destinations.
    pub fn owns(&self, prefix: &IpNet) -> bool {
        self.count <= 1 || owner(prefix, self.count) == self.index
    }
}

/// The shard that owns `prefix` among `count` (FNV-1a of the address octets and the length:
/// the same in every process).
pub fn owner(prefix: &IpNet, count: usize) -> usize {
    if count <= 1 {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    match prefix {
        IpNet::V4(p) => p.network().octets().into_iter().for_each(&mut eat),
        IpNet::V6(p) => p.network().octets().into_iter().for_each(&mut eat),
    }
    eat(prefix.prefix_len());
    // The high bits mix best.
    let c = u64::try_from(count).unwrap_or(u64::MAX);
    usize::try_from((h >> 32) % c).unwrap_or(0)
}

/// An UPDATE taken apart, split among `count` shards: each part holds the routes its shard
/// owns; what concerns the peer as a whole (End-of-RIB, the RFC 7606 outcome, families
/// disabled, route target membership) is in every part. Parts with nothing to do are `None`.
pub fn split(d: Digest, count: usize) -> Vec<Option<Digest>> {
    if count <= 1 {
        return vec![Some(d)];
    }
    let mut parts: Vec<Digest> = (0..count)
        .map(|_| Digest {
            end_of_rib: d.end_of_rib,
            session_reset: d.session_reset,
            treat_as_withdraw: d.treat_as_withdraw,
            disabled: d.disabled.clone(),
            rtc: d.rtc.clone(),
            ..Digest::default()
        })
        .collect();
    let own = |n: &Nlri| owner(&n.prefix, count);
    for (f, n) in d.withdrawn {
        if let Some(p) = parts.get_mut(own(&n)) {
            p.withdrawn.push((f, n));
        }
    }
    for r in d.reach {
        let mut by: Vec<Vec<(tern_types::Family, Nlri)>> = vec![Vec::new(); count];
        for (f, n) in r.routes {
            if let Some(v) = by.get_mut(own(&n)) {
                v.push((f, n));
            }
        }
        for (p, routes) in parts.iter_mut().zip(by) {
            if !routes.is_empty() {
                p.reach.push(Reach {
                    attrs: r.attrs.clone(),
                    routes,
                });
            }
        }
    }
    let whole = |p: &Digest| {
        p.end_of_rib.is_some()
            || p.session_reset
            || p.treat_as_withdraw
            || !p.disabled.is_empty()
            || p.rtc.is_some()
    };
    parts
        .into_iter()
        .map(|p| (whole(&p) || !p.withdrawn.is_empty() || !p.reach.is_empty()).then_some(p))
        .collect()
}

/// The part of `d` that `shard` owns (an UPDATE read whole by one engine of several).
pub fn own_part(d: Digest, shard: Shard) -> Option<Digest> {
    if shard.count <= 1 {
        return Some(d);
    }
    split(d, shard.count).into_iter().nth(shard.index).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_rib::PathAttrs;
    use tern_types::{Family, LabelStack};
    use tern_wire::NextHop;
    use tern_wire::attr::{AsPath, Origin};

    fn n(p: &str) -> Nlri {
        Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::new(),
            prefix: p.parse().unwrap(),
        }
    }

    #[test]
    fn every_prefix_has_one_owner_and_both_shards_get_some() {
        let mut seen = [0usize; 2];
        for i in 0..1000u32 {
            let p: IpNet = format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap();
            let o = owner(&p, 2);
            seen[o] += 1;
            assert!(Shard { index: o, count: 2 }.owns(&p));
            assert!(
                !Shard {
                    index: 1 - o,
                    count: 2
                }
                .owns(&p)
            );
        }
        assert!(seen[0] > 400 && seen[1] > 400, "{seen:?}");
        // The route distinguisher plays no part: a VPN route and its instance route agree.
        assert_eq!(
            owner(&"10.1.0.0/16".parse().unwrap(), 4),
            owner(&"10.1.0.0/16".parse().unwrap(), 4)
        );
    }

    #[test]
    fn a_digest_splits_by_owner_and_keeps_what_concerns_the_peer() {
        let a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::Ipv4("10.0.0.1".parse().unwrap()),
        );
        let routes: Vec<(Family, Nlri)> = (0..50u32)
            .map(|i| (Family::IPV4_UNICAST, n(&format!("10.0.{i}.0/24"))))
            .collect();
        let d = Digest {
            withdrawn: vec![(Family::IPV4_UNICAST, n("192.0.2.0/24"))],
            reach: [Reach {
                attrs: Some(a.clone()),
                routes: routes.clone(),
            }]
            .into_iter()
            .collect(),
            ..Digest::default()
        };
        let parts = split(d.clone(), 3);
        assert_eq!(parts.len(), 3);
        let mut back: Vec<Nlri> = Vec::new();
        let mut withdrawn = 0;
        for (i, p) in parts.iter().enumerate() {
            let Some(p) = p else { continue };
            for r in &p.reach {
                assert_eq!(r.attrs.as_ref(), Some(&a));
                for (_, x) in &r.routes {
                    assert_eq!(owner(&x.prefix, 3), i);
                    back.push(*x);
                }
            }
            withdrawn += p.withdrawn.len();
        }
        assert_eq!(back.len(), 50);
        assert_eq!(withdrawn, 1);
        // End-of-RIB goes to every shard.
        let eor = Digest {
            end_of_rib: Some(Family::VPNV4),
            ..Digest::default()
        };
        assert!(split(eor, 2).iter().all(Option::is_some));
        assert_eq!(
            own_part(d, Shard::default()).unwrap().reach[0].routes.len(),
            50
        );
    }
}
