//! RIB benchmarks: the decision process, and 1M VPNv4 routes from two peers.
//!
//! The table: 1,000,000 VPNv4 destinations, each announced by two IBGP peers (as a PE hears
//! the VPN table from two route reflectors): 2M paths. Routes come 10 per attribute set
//! (100,000 sets per peer), each set with ORIGIN, an AS_PATH of 1–4 ASNs, MED or LOCAL_PREF,
//! one or two route targets, ORIGINATOR_ID and a CLUSTER_LIST naming the peer's cluster
//! (so the two peers' sets differ while their AS paths and route-target lists are shared).
//! Every route has its own RD, label and prefix, as in the codec benchmark.
//!
//! - `decision/select/N`: `decision::select` over N ranked paths.
//! - `rib/insert_2x1m`: apply the 200,000 pre-parsed UPDATEs of both peers to an empty RIB
//!   (peer 1's first, so every route of peer 2 runs the decision over two candidates).
//! - `rib/withdraw_2x1m`: apply both peers' withdrawals (MP_UNREACH_NLRI, full messages).
//! - `rib/peer_down_2x1m`: `peer_down` of both peers.
//!
//! Before criterion runs, a counting global allocator measures the heap the RIB holds after
//! loading one and both peers, and prints octets per destination and per path.
//!
//! Run: `cargo bench -p tern-rib --bench rib`.

#![allow(missing_docs, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group};
use tern_rib::decision::{Rank, select};
use tern_rib::{AcceptAll, AllReachable, PeerId, PeerInfo, Rib, RibConfig};
use tern_types::{
    Asn, ExtCommunity, Family, IpNet, Ipv4Net, Label, LabelStack, RouteDistinguisher, TargetKind,
};
use tern_wire::attr::{AsPath, ClusterList, ExtCommunities, Origin, SegmentType};
use tern_wire::message::MAX_LEN;
use tern_wire::{
    AttrValue, Ctx, Message, NextHop, Nlri, ParsedUpdate, PathAttribute, UpdateBuilder, frame,
};

/// The system allocator, counting live heap octets.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from this allocator with layout `l`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

const ROUTES: usize = 1_000_000;
const PER_SET: usize = 10;
const SETS: usize = ROUTES / PER_SET;
const PEERS: [u32; 2] = [1, 2];

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

fn attrs(rng: &mut Rng, set: usize, peer: u32) -> Vec<PathAttribute<'static>> {
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
    let pe = Ipv4Addr::from(0xc0a8_0000u32 + (set % 500) as u32 + 1);
    v.push(PathAttribute::new(AttrValue::OriginatorId(pe)));
    v.push(PathAttribute::new(AttrValue::ClusterList(
        ClusterList::from_items([Ipv4Addr::new(10, 255, 0, peer as u8)]),
    )));
    v
}

fn route(rng: &mut Rng, i: usize) -> Nlri {
    let i32 = i as u32;
    let plen = 24 + rng.below(9) as u8;
    let addr = Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i32 << 8) | rng.below(256) as u32);
    Nlri::vpn(
        RouteDistinguisher::type0(65000, i32),
        LabelStack::single(Label(16 + i32 % (Label::MAX - 16))),
        IpNet::V4(Ipv4Net::new(addr, plen).unwrap().trunc()),
    )
}

/// The UPDATE streams of one peer: announcements (one per set) and withdrawals (packed).
struct Stream {
    reach: Vec<Vec<u8>>,
    unreach: Vec<Vec<u8>>,
}

fn stream(peer: u32) -> Stream {
    let ctx = Ctx::default();
    let b = UpdateBuilder::new(&ctx);
    // The same routes from both peers (same seed for the routes), peer-specific attributes.
    let mut rng_routes = Rng(0x4444);
    let mut rng_attrs = Rng(0x4444);
    let mut reach = Vec::with_capacity(SETS);
    let mut all = Vec::with_capacity(ROUTES);
    for s in 0..SETS {
        let a = attrs(&mut rng_attrs, s, peer);
        let routes: Vec<Nlri> = (0..PER_SET)
            .map(|k| route(&mut rng_routes, s * PER_SET + k))
            .collect();
        let pe = Ipv4Addr::from(0xc0a8_0000u32 + (s % 500) as u32 + 1);
        b.reach(Family::VPNV4, &NextHop::Ipv4(pe), &a, &routes, &mut reach)
            .unwrap();
        all.extend(routes);
    }
    let mut unreach = Vec::new();
    b.withdraw(Family::VPNV4, &all, &mut unreach).unwrap();
    Stream { reach, unreach }
}

fn parse_all(msgs: &'static [Vec<u8>]) -> Vec<ParsedUpdate<'static>> {
    let ctx = Ctx::default();
    msgs.iter()
        .map(
            |m| match Message::decode(frame(m, MAX_LEN).unwrap().unwrap()).unwrap() {
                Message::Update(u) => u.parse(&ctx),
                _ => unreachable!(),
            },
        )
        .collect()
}

fn peer(n: u32) -> PeerInfo {
    PeerInfo {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n as u8)),
        router_id: Ipv4Addr::new(10, 255, 0, n as u8),
        asn: Asn(65000),
        ebgp: false,
        rr_client: false,
        preferred_value: 0,
    }
}

fn new_rib() -> Rib {
    let mut rib = Rib::new(RibConfig {
        local_as: Asn(65000),
        router_id: Ipv4Addr::new(10, 0, 0, 100),
        cluster_id: None,
    });
    for p in PEERS {
        rib.peer_up(PeerId(p), peer(p));
    }
    rib
}

struct Data {
    reach: [Vec<ParsedUpdate<'static>>; 2],
    unreach: [Vec<ParsedUpdate<'static>>; 2],
}

fn data() -> &'static Data {
    static DATA: std::sync::OnceLock<Data> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let [a, b] = PEERS.map(|p| &*Box::leak(Box::new(stream(p))));
        Data {
            reach: [parse_all(&a.reach), parse_all(&b.reach)],
            unreach: [parse_all(&a.unreach), parse_all(&b.unreach)],
        }
    })
}

fn load(
    rib: &mut Rib,
    updates: &[ParsedUpdate<'_>],
    peer: u32,
    out: &mut Vec<tern_rib::BestChange>,
) {
    for u in updates {
        rib.apply_update(PeerId(peer), u, &AcceptAll, &AllReachable, out)
            .unwrap();
        out.clear();
    }
}

/// Heap held by the RIB, measured with the counting allocator, and load/withdraw times of
/// one pass.
fn memory_report() {
    let d = data();
    let mut out = Vec::with_capacity(64);
    let before = live();
    let mut rib = new_rib();
    let t = Instant::now();
    load(&mut rib, &d.reach[0], 1, &mut out);
    let t1 = t.elapsed();
    rib.collect();
    let one = live() - before;
    let t = Instant::now();
    load(&mut rib, &d.reach[1], 2, &mut out);
    let t2 = t.elapsed();
    rib.collect();
    let two = live() - before;
    let m = rib.memory();
    let (dests, paths) = rib.counts(Family::VPNV4);
    println!("rib memory: 1M VPNv4 destinations, 10 routes per attribute set");
    println!(
        "  one peer:  {dests} destinations, {} paths, {} octets = {:.1} octets/route; load {:.0} ms ({:.0} ns/route)",
        ROUTES,
        one,
        one as f64 / ROUTES as f64,
        t1.as_secs_f64() * 1e3,
        t1.as_secs_f64() * 1e9 / ROUTES as f64
    );
    println!(
        "  two peers: {dests} destinations, {paths} paths, {} octets = {:.1} octets/destination, {:.1} octets/path; second peer load {:.0} ms ({:.0} ns/route)",
        two,
        two as f64 / dests as f64,
        two as f64 / paths as f64,
        t2.as_secs_f64() * 1e3,
        t2.as_secs_f64() * 1e9 / ROUTES as f64
    );
    println!(
        "  accounted by Rib::memory: tables {} octets, interners {} octets; {:?}",
        m.table_bytes, m.store.bytes, m.store
    );
    let t = Instant::now();
    for p in PEERS {
        rib.peer_down(PeerId(p), &AllReachable, &mut out);
        out.clear();
    }
    let t3 = t.elapsed();
    out = Vec::new();
    rib.shrink_to_fit();
    println!(
        "  peer down of both: {:.0} ms ({:.0} ns/path); left after shrink_to_fit: {} octets",
        t3.as_secs_f64() * 1e3,
        t3.as_secs_f64() * 1e9 / paths as f64,
        live() - before
    );
    drop((rib, out));
}

fn ranks(n: usize) -> Vec<Rank> {
    (0..n)
        .map(|i| Rank {
            preferred_value: 0,
            local_pref: 100,
            local: false,
            as_path_len: 2 + (i % 2) as u32,
            origin: Origin::Igp,
            med: (i * 7 % 5) as u32,
            neighbour_as: Some(64_512 + (i % 3) as u32),
            ebgp: false,
            igp_cost: 10,
            cluster_len: 1,
            router_id: Ipv4Addr::new(10, 0, 0, (n - i) as u8),
            peer_addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8)),
            path_id: 0,
            peer: PeerId(i as u32 + 1),
        })
        .collect()
}

fn bench_decision(c: &mut Criterion) {
    let mut g = c.benchmark_group("decision");
    for n in [2usize, 4, 8] {
        let v = ranks(n);
        g.bench_with_input(BenchmarkId::new("select", n), &v, |b, v| {
            b.iter(|| select(black_box(v)))
        });
    }
    g.finish();
}

fn bench_rib(c: &mut Criterion) {
    let d = data();
    let mut g = c.benchmark_group("rib");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(2 * ROUTES as u64));
    let loaded = || {
        let mut rib = new_rib();
        let mut out = Vec::new();
        load(&mut rib, &d.reach[0], 1, &mut out);
        load(&mut rib, &d.reach[1], 2, &mut out);
        rib
    };
    g.bench_function("insert_2x1m", |b| {
        b.iter_batched(
            new_rib,
            |mut rib| {
                let mut out = Vec::with_capacity(64);
                load(&mut rib, &d.reach[0], 1, &mut out);
                load(&mut rib, &d.reach[1], 2, &mut out);
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("withdraw_2x1m", |b| {
        b.iter_batched(
            loaded,
            |mut rib| {
                let mut out = Vec::with_capacity(4096);
                load(&mut rib, &d.unreach[0], 1, &mut out);
                load(&mut rib, &d.unreach[1], 2, &mut out);
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("peer_down_2x1m", |b| {
        b.iter_batched(
            loaded,
            |mut rib| {
                let mut out = Vec::with_capacity(1 << 20);
                for p in PEERS {
                    rib.peer_down(PeerId(p), &AllReachable, &mut out);
                    out.clear();
                }
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_decision, bench_rib);

fn main() {
    memory_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
