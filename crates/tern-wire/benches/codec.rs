//! Codec throughput on full-table-sized VPN streams.
//!
//! The streams hold 1M VPNv4 or 1M VPNv6 routes packed the way a real peer packs them: about
//! ten prefixes per attribute set, one UPDATE per attribute set, each with ORIGIN, AS_PATH,
//! MED or LOCAL_PREF, one or two route targets and MP_REACH_NLRI with a VPN next hop (12
//! octets for VPNv4, 24 octets `::ffff:a.b.c.d` for VPNv6). Every route has its own RD, label
//! and prefix; prefix lengths run /24../32 (VPNv4) and /48../64 (VPNv6).
//!
//! - `decode`: frame the stream, decode and parse each UPDATE, consume every announced route.
//! - `encode`: [`UpdateBuilder::reach`] for 100k attribute sets of 10 routes each.
//! - `withdraw_decode`: the same routes withdrawn in MP_UNREACH_NLRI, packed into full
//!   messages.
//!
//! Throughput is in routes (elements) per second. Run with
//! `cargo bench -p tern-wire --bench codec`.

#![allow(missing_docs)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tern_types::{
    ExtCommunity, Family, IpNet, Ipv4Net, Ipv6Net, Label, LabelStack, RouteDistinguisher,
    TargetKind,
};
use tern_wire::attr::{AsPath, ExtCommunities, Origin, SegmentType};
use tern_wire::{AttrValue, Ctx, Message, NextHop, Nlri, PathAttribute, UpdateBuilder, frames};

/// Routes per stream.
const ROUTES: usize = 1_000_000;
/// Routes per attribute set (and per UPDATE).
const PER_SET: usize = 10;
/// Attribute sets per stream.
const SETS: usize = ROUTES / PER_SET;

/// A small deterministic generator (xorshift64*), so runs are comparable.
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

/// One attribute set: the attributes without MP_REACH, the next hop and its routes.
struct Set {
    attrs: Vec<PathAttribute<'static>>,
    next_hop: NextHop,
    routes: Vec<Nlri>,
}

fn attrs(rng: &mut Rng, set: usize) -> Vec<PathAttribute<'static>> {
    let neighbor_as = 64_512 + (set % 64) as u32;
    let path_len = 1 + rng.below(4) as usize;
    let asns: Vec<u32> = std::iter::once(neighbor_as)
        .chain((1..path_len).map(|_| 1 + rng.below(400_000) as u32))
        .collect();
    let mut v = vec![
        PathAttribute::new(AttrValue::Origin(if set.is_multiple_of(7) {
            Origin::Incomplete
        } else {
            Origin::Igp
        })),
        PathAttribute::new(AttrValue::AsPath(AsPath::from_segments(
            [(SegmentType::Sequence, asns.as_slice())],
            true,
        ))),
    ];
    if set.is_multiple_of(2) {
        v.push(PathAttribute::new(AttrValue::Med(rng.below(1000) as u32)));
    } else {
        v.push(PathAttribute::new(AttrValue::LocalPref(
            100 + rng.below(100) as u32,
        )));
    }
    let vrf = (set % 2000) as u32;
    let mut rts = vec![ExtCommunity::as2(TargetKind::RouteTarget, 65000, 1 + vrf)];
    if set.is_multiple_of(3) {
        rts.push(ExtCommunity::as2(
            TargetKind::RouteTarget,
            65000,
            10_000 + vrf,
        ));
    }
    v.push(PathAttribute::new(AttrValue::ExtCommunities(
        ExtCommunities::from_items(rts),
    )));
    v
}

/// Distinct RD, label and prefix for route `i` of the stream.
fn vpn_route(rng: &mut Rng, i: usize, v6: bool) -> Nlri {
    let i32 = i as u32;
    let rd = RouteDistinguisher::type0(65000, i32);
    let label = LabelStack::single(Label(16 + i32 % (Label::MAX - 16)));
    let prefix = if v6 {
        let plen = 48 + rng.below(17) as u8;
        // 2001:db8::/32, then the route index in bits 32..64 and noise below /48.
        let hi = (0x2001_0db8u128 << 96) | (u128::from(i32) << 64) | (u128::from(rng.next()) << 16);
        IpNet::V6(Ipv6Net::new(Ipv6Addr::from(hi), plen).unwrap().trunc())
    } else {
        let plen = 24 + rng.below(9) as u8;
        let addr = Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i32 << 8) | rng.below(256) as u32);
        IpNet::V4(Ipv4Net::new(addr, plen).unwrap().trunc())
    };
    Nlri::vpn(rd, label, prefix)
}

fn sets(v6: bool) -> Vec<Set> {
    let mut rng = Rng(if v6 { 0x6666 } else { 0x4444 });
    (0..SETS)
        .map(|s| {
            let pe = Ipv4Addr::from(0xc0a8_0000u32 + (s % 500) as u32 + 1);
            let next_hop = if v6 {
                NextHop::ipv4_mapped(pe)
            } else {
                NextHop::Ipv4(pe)
            };
            Set {
                attrs: attrs(&mut rng, s),
                next_hop,
                routes: (0..PER_SET)
                    .map(|k| vpn_route(&mut rng, s * PER_SET + k, v6))
                    .collect(),
            }
        })
        .collect()
}

fn family(v6: bool) -> Family {
    if v6 { Family::VPNV6 } else { Family::VPNV4 }
}

/// Encodes every set, one UPDATE each, into one buffer of concatenated messages.
fn reach_stream(sets: &[Set], v6: bool) -> Vec<u8> {
    let b = UpdateBuilder::new(&Ctx::default());
    let mut msgs = Vec::with_capacity(sets.len());
    for s in sets {
        let n = b
            .reach(family(v6), &s.next_hop, &s.attrs, &s.routes, &mut msgs)
            .unwrap();
        assert_eq!(n, 1);
    }
    msgs.concat()
}

/// Withdraws every route of `sets`, packed into as few messages as fit.
fn withdraw_stream(sets: &[Set], v6: bool) -> Vec<u8> {
    let b = UpdateBuilder::new(&Ctx::default());
    let routes: Vec<Nlri> = sets.iter().flat_map(|s| s.routes.iter().copied()).collect();
    let mut msgs = Vec::new();
    b.withdraw(family(v6), &routes, &mut msgs).unwrap();
    msgs.concat()
}

/// Decodes a reach stream, consuming every route; returns the number of routes.
fn decode_reach(stream: &[u8], ctx: &Ctx) -> usize {
    let mut n = 0;
    for f in frames(stream) {
        let Ok(Message::Update(u)) = Message::decode(f.unwrap()) else {
            panic!("not an UPDATE");
        };
        let p = u.parse(ctx);
        debug_assert!(p.problems.is_empty());
        black_box(p.as_path());
        black_box(p.ext_communities());
        let m = p.mp_reach().unwrap();
        black_box(&m.next_hop);
        for r in m.routes() {
            black_box(r.rd);
            black_box(r.labels);
            black_box(r.prefix);
            n += 1;
        }
    }
    n
}

/// Decodes a withdraw stream, consuming every route; returns the number of routes.
fn decode_withdraw(stream: &[u8], ctx: &Ctx) -> usize {
    let mut n = 0;
    for f in frames(stream) {
        let Ok(Message::Update(u)) = Message::decode(f.unwrap()) else {
            panic!("not an UPDATE");
        };
        let p = u.parse(ctx);
        debug_assert!(p.problems.is_empty());
        for r in p.mp_unreach().unwrap().routes() {
            black_box(r.rd);
            black_box(r.labels);
            black_box(r.prefix);
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let ctx = Ctx::default();
    for v6 in [false, true] {
        let name = if v6 { "vpnv6" } else { "vpnv4" };
        let sets = sets(v6);
        let reach = reach_stream(&sets, v6);
        let withdraw = withdraw_stream(&sets, v6);
        assert_eq!(decode_reach(&reach, &ctx), ROUTES);
        assert_eq!(decode_withdraw(&withdraw, &ctx), ROUTES);

        let mut g = c.benchmark_group(name);
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(ROUTES as u64));

        g.bench_function("decode", |b| {
            b.iter(|| decode_reach(black_box(&reach), &ctx))
        });

        let builder = UpdateBuilder::new(&ctx);
        let fam = family(v6);
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(SETS);
        g.bench_function("encode", |b| {
            b.iter(|| {
                out.clear();
                for s in &sets {
                    builder
                        .reach(fam, &s.next_hop, &s.attrs, black_box(&s.routes), &mut out)
                        .unwrap();
                }
                black_box(out.len())
            })
        });

        g.bench_function("withdraw_decode", |b| {
            b.iter(|| decode_withdraw(black_box(&withdraw), &ctx))
        });
        g.finish();
        eprintln!(
            "{name}: reach stream {} octets in {} messages, withdraw stream {} octets",
            reach.len(),
            SETS,
            withdraw.len()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
