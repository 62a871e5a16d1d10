//! The injector's routes, encoded once per case before any daemon starts.
//!
//! Routes are packed the way a real peer packs them: 10 prefixes per attribute set, one
//! UPDATE per set. Every set is distinct: its MED is the set's number. Each set carries
//! ORIGIN, an AS_PATH of 1 to 4 ASNs, MED, LOCAL_PREF 100 and, for VPN routes, one route
//! target. The next hop is one of 100 addresses (the PEs) in 198.18.3.0/24.
//!
//! Route `i` is recognisable on the way back, which is how receivers count distinct routes:
//! an IPv4 route is `32.0.0.0 + i·256 /24`; a VPN route has the type-0 RD `65000:i` (and a
//! prefix of /24../32 or /48../64 made from `i` and noise).
//!
//! A VPN route's label is its own (`16 + i`, a label per route, as a PE allocates by default)
//! or, in a per-instance case, that of its VPN instance: `16 + t` for route target `65000:1+t`,
//! so every route of one route target carries the same label (`apply-label per-instance`).

use std::net::{Ipv4Addr, Ipv6Addr};

use tern_types::{
    ExtCommunity, IpNet, Ipv4Net, Ipv6Net, Label, LabelStack, RouteDistinguisher, TargetKind,
};
use tern_wire::attr::{AsPath, ExtCommunities, Origin, SegmentType};
use tern_wire::{AttrValue, Ctx, NextHop, Nlri, PathAttribute, UpdateBuilder};

use crate::case::{Case, Kind};

/// Routes per attribute set.
pub const PER_SET: usize = 10;
/// First IPv4 unicast prefix (route 0): 32.0.0.0/24.
pub const IPV4_BASE: u32 = 0x2000_0000;
/// The ASN of the type-0 RDs.
pub const RD_ASN: u16 = 65000;
/// Next hops (PE addresses) the sets cycle through.
pub const NEXT_HOPS: u32 = 100;

/// A small deterministic generator (xorshift64*), so every run sends the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A case's messages, each stream a run of whole UPDATEs.
pub struct Streams {
    /// The announcements.
    pub announce: Vec<u8>,
    /// UPDATEs in `announce`.
    pub announce_msgs: usize,
    /// Withdrawals of every route (MP_UNREACH or the withdrawn-routes field, packed full),
    /// for withdraw cases.
    pub withdraw: Option<Vec<u8>>,
}

/// The next hop of set `s`: PE `s % NEXT_HOPS`, `198.18.3.1` on (RFC 2544's benchmarking
/// range; nothing is sent to these addresses, they are attribute values).
pub fn pe_addr(s: usize) -> Ipv4Addr {
    let i = (s % NEXT_HOPS as usize) as u8;
    Ipv4Addr::new(198, 18, 3, 1 + i)
}

/// The route target number (`65000:rt`) of set `set`: 1 to the kind's route targets.
fn route_target(kind: Kind, set: usize) -> u32 {
    1 + (set as u32) % kind.route_targets().max(1)
}

/// The label of route `i` in set `set`.
fn label(case: &Case, set: usize, i: usize) -> LabelStack {
    let n = if case.per_instance {
        route_target(case.kind, set) - 1
    } else {
        i as u32
    };
    LabelStack::single(Label(16 + n % (Label::MAX - 16)))
}

fn attrs(rng: &mut Rng, kind: Kind, set: usize) -> Vec<PathAttribute<'static>> {
    let neighbor_as = 64_512 + (set % 64) as u32;
    let path_len = 1 + rng.below(4) as usize;
    let asns: Vec<u32> = std::iter::once(neighbor_as)
        // Public ASNs from 1000 on: never the reflector's own AS (a loop) nor AS_TRANS.
        .chain(
            (1..path_len).map(|_| match 1000 + rng.below(400_000) as u32 {
                23456 => 23457,
                a => a,
            }),
        )
        .collect();
    let mut v = vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::from_segments(
            [(SegmentType::Sequence, asns.as_slice())],
            true,
        ))),
        PathAttribute::new(AttrValue::Med(set as u32)),
        PathAttribute::new(AttrValue::LocalPref(100)),
    ];
    if kind.route_targets() > 0 {
        let rt = route_target(kind, set);
        v.push(PathAttribute::new(AttrValue::ExtCommunities(
            ExtCommunities::from_items([ExtCommunity::as2(TargetKind::RouteTarget, RD_ASN, rt)]),
        )));
    }
    v
}

/// Route `i` of a case (`label` for a VPN route).
fn route(rng: &mut Rng, kind: Kind, i: usize, label: LabelStack) -> Nlri {
    let i32 = i as u32;
    match kind {
        Kind::Ipv4 => {
            let addr = Ipv4Addr::from(IPV4_BASE.wrapping_add(i32 << 8));
            Nlri::unicast(IpNet::V4(Ipv4Net::new(addr, 24).expect("/24")))
        }
        Kind::Vpnv4 | Kind::Vpnv4ManyRt | Kind::Vpnv6 => {
            let rd = RouteDistinguisher::type0(RD_ASN, i32);
            let prefix = if kind == Kind::Vpnv6 {
                let plen = 48 + rng.below(17) as u8;
                let hi = (0x2001_0db8u128 << 96)
                    | (u128::from(i32) << 64)
                    | (u128::from(rng.next()) << 16);
                IpNet::V6(
                    Ipv6Net::new(Ipv6Addr::from(hi), plen)
                        .expect("plen")
                        .trunc(),
                )
            } else {
                let plen = 24 + rng.below(9) as u8;
                let addr =
                    Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i32 << 8) | rng.below(256) as u32);
                IpNet::V4(Ipv4Net::new(addr, plen).expect("plen").trunc())
            };
            Nlri::vpn(rd, label, prefix)
        }
    }
}

/// Encodes a case's announcements (and withdrawals, for a withdraw case).
pub fn build(case: &Case) -> Streams {
    let family = case.kind.family();
    let mut rng = Rng(0x7e57_0000 ^ case.kind.family().safi.0 as u64);
    let b = UpdateBuilder::new(&Ctx::default());
    let mut msgs: Vec<Vec<u8>> = Vec::with_capacity(case.n.div_ceil(PER_SET));
    let mut all = Vec::new();
    let mut set = 0;
    let mut i = 0;
    while i < case.n {
        let end = (i + PER_SET).min(case.n);
        let a = attrs(&mut rng, case.kind, set);
        let pe = pe_addr(set);
        let nh = if case.kind == Kind::Vpnv6 {
            NextHop::ipv4_mapped(pe)
        } else {
            NextHop::Ipv4(pe)
        };
        let routes: Vec<Nlri> = (i..end)
            .map(|j| route(&mut rng, case.kind, j, label(case, set, j)))
            .collect();
        b.reach(family, &nh, &a, &routes, &mut msgs)
            .expect("encode UPDATE");
        if case.withdraw {
            all.extend_from_slice(&routes);
        }
        i = end;
        set += 1;
    }
    let announce_msgs = msgs.len();
    let announce = msgs.concat();
    let withdraw = case.withdraw.then(|| {
        let mut w = Vec::new();
        b.withdraw(family, &all, &mut w)
            .expect("encode withdrawals");
        w.concat()
    });
    Streams {
        announce,
        announce_msgs,
        withdraw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::Counter;

    #[test]
    fn streams_count_back() {
        let kinds = [Kind::Ipv4, Kind::Vpnv4, Kind::Vpnv6, Kind::Vpnv4ManyRt];
        let plain = kinds.map(|kind| Case::new(kind, 1234, 1).withdrawn());
        let per_instance = kinds[1..]
            .iter()
            .map(|&kind| Case::new(kind, 1234, 1).withdrawn().per_instance());
        for case in plain.into_iter().chain(per_instance) {
            let kind = case.kind;
            let s = build(&case);
            assert_eq!(s.announce_msgs, 124);
            let mut c = Counter::new(kind.family(), case.n);
            let mut buf = s.announce.clone();
            let used = c.scan(&buf).unwrap();
            assert_eq!(used, buf.len());
            assert_eq!(c.held(), 1234);
            assert_eq!(c.announced(), 1234);
            buf = s.withdraw.unwrap();
            assert!(matches!(c.scan(&buf), Ok(n) if n == buf.len()));
            assert_eq!(c.held(), 0);
            assert_eq!(c.withdrawn(), 1234);
        }
    }

    /// The distinct label stacks of a stream's routes.
    fn labels(stream: &[u8]) -> std::collections::HashSet<LabelStack> {
        let mut seen = std::collections::HashSet::new();
        for f in tern_wire::frames(stream) {
            let Ok(tern_wire::Message::Update(u)) = tern_wire::Message::decode(f.unwrap()) else {
                panic!("not an UPDATE");
            };
            let p = u.parse(&Ctx::default());
            seen.extend(p.mp_reach().unwrap().routes().map(|r| r.labels));
        }
        seen
    }

    #[test]
    fn per_instance_labels() {
        let one = |case: Case| labels(&build(&case).announce).len();
        assert_eq!(one(Case::new(Kind::Vpnv4, 1234, 1)), 1234);
        assert_eq!(one(Case::new(Kind::Vpnv4, 1234, 1).per_instance()), 1);
        assert_eq!(one(Case::new(Kind::Vpnv6, 1234, 1).per_instance()), 1);
        // 124 sets over 10,000 route targets: one label per set.
        assert_eq!(
            one(Case::new(Kind::Vpnv4ManyRt, 1234, 1).per_instance()),
            124
        );
    }
}
