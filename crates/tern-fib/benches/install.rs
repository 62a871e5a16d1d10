//! Kernel route installation: routes per second into a table of a network namespace.
//!
//! The process moves its main thread into a network namespace of its own (unshare(2), so
//! nothing is left behind when it ends) holding a veth pair, `d0` with 10.0.0.1/24 and
//! 2001:db8::1/64; every route goes into table 100 via 10.0.0.2 (or 10.0.0.3, or
//! 2001:db8::2). IPv4 routes are distinct /24s spread over the whole address space, IPv6
//! routes distinct /48s spread over 2000::/16. Each measurement starts from an empty table;
//! the routes are removed after it (a batched [`Fib::flush_stale`]), outside the timing.
//!
//! - `batched/install/{100k,1m}`: [`Fib::apply`] of that many new IPv4 routes.
//! - `batched/install_v6/100k`: the same for IPv6.
//! - `batched/replace/100k`: 100k routes present, every one moved to another gateway.
//! - `batched/delete/100k`: 100k routes present, every one deleted.
//! - `one_at_a_time/install/10k`: 10k routes, one `RTM_NEWROUTE` at a time, each waiting for
//!   the kernel's acknowledgement through rtnetlink's request handle: how tern installed
//!   routes before batching.
//!
//! Needs root (network namespaces, `CAP_NET_ADMIN`) and iproute2. Run:
//! `cargo bench -p tern-fib --bench install` (about 4 minutes); one benchmark:
//! `cargo bench -p tern-fib --bench install -- batched/install/1m`.

#![allow(missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use ipnet::IpNet;
use nix::sched::{CloneFlags, unshare};
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_route::route::RouteProtocol;
use tern_fib::{Fib, FibRoute, PROTO_TERN, RouteOp};
use tokio::runtime::Runtime;

const TABLE: u32 = 100;

fn ip(args: &str) {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .expect("iproute2 is needed");
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `i`th of 2^`bits` distinct values spread over the whole range (a multiplicative hash,
/// a bijection modulo 2^`bits`).
fn spread(i: u32, bits: u32) -> u64 {
    u64::from(i).wrapping_mul(2_654_435_761) % (1 << bits)
}

/// `n` distinct IPv4 /24s spread over the address space, as a full table's are. (A dense block
/// such as 16.0.0.0/4 filled with consecutive /24s installs as fast, but the kernel's trie
/// then deletes them in order at about 13k routes/s.)
fn v4(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            let slot = u32::try_from(spread(i, 24)).unwrap();
            IpNet::new(IpAddr::V4(Ipv4Addr::from(slot << 8)), 24).unwrap()
        })
        .collect()
}

/// `n` distinct IPv6 /48s spread over 2000::/16.
fn v6(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            let a = Ipv6Addr::from((0x2000u128 << 112) | (u128::from(spread(i, 32)) << 80));
            IpNet::new(IpAddr::V6(a), 48).unwrap()
        })
        .collect()
}

fn replace(prefixes: &[IpNet], gateway: &str) -> Vec<RouteOp> {
    let gateway: IpAddr = gateway.parse().unwrap();
    prefixes
        .iter()
        .map(|p| RouteOp::Replace(FibRoute::via(*p, gateway)))
        .collect()
}

fn apply(rt: &Runtime, fib: &Fib, ops: &[RouteOp]) {
    let results = rt.block_on(fib.apply(ops));
    if let Some(e) = results.iter().find_map(|r| r.as_ref().err()) {
        panic!("{e}");
    }
}

fn empty(rt: &Runtime, fib: &Fib) {
    rt.block_on(fib.flush_stale()).unwrap();
}

/// Times `ops` from `setup`'s state, `iters` times; `setup` and the cleanup are not timed.
fn timed(rt: &Runtime, fib: &Fib, iters: u64, setup: &[RouteOp], ops: &[RouteOp]) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        apply(rt, fib, setup);
        let start = Instant::now();
        apply(rt, fib, ops);
        total += start.elapsed();
        empty(rt, fib);
    }
    total
}

fn batched(c: &mut Criterion, rt: &Runtime, fib: &Fib) {
    let mut g = c.benchmark_group("batched");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (name, n) in [("100k", 100_000), ("1m", 1_000_000)] {
        let ops = replace(&v4(n), "10.0.0.2");
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_function(BenchmarkId::new("install", name), |b| {
            b.iter_custom(|iters| timed(rt, fib, iters, &[], &ops))
        });
    }
    let n = 100_000;
    g.throughput(Throughput::Elements(u64::from(n)));
    let ops = replace(&v6(n), "2001:db8::2");
    g.bench_function(BenchmarkId::new("install_v6", "100k"), |b| {
        b.iter_custom(|iters| timed(rt, fib, iters, &[], &ops))
    });
    let prefixes = v4(n);
    let present = replace(&prefixes, "10.0.0.2");
    let moved = replace(&prefixes, "10.0.0.3");
    g.bench_function(BenchmarkId::new("replace", "100k"), |b| {
        b.iter_custom(|iters| timed(rt, fib, iters, &present, &moved))
    });
    let deletes: Vec<RouteOp> = prefixes
        .iter()
        .map(|p| RouteOp::Delete {
            prefix: *p,
            metric: None,
        })
        .collect();
    g.bench_function(BenchmarkId::new("delete", "100k"), |b| {
        b.iter_custom(|iters| timed(rt, fib, iters, &present, &deletes))
    });
    g.finish();
}

/// The installer before batching: one request at a time through rtnetlink's handle, each
/// awaiting its acknowledgement.
fn one_at_a_time(c: &mut Criterion, rt: &Runtime, fib: &Fib) {
    let _guard = rt.enter();
    let (conn, handle, _) = rtnetlink::new_connection().unwrap();
    let _driver = rt.spawn(conn);
    let n = 10_000u32;
    let prefixes = v4(n);
    let gateway: IpAddr = "10.0.0.2".parse().unwrap();
    let mut g = c.benchmark_group("one_at_a_time");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(u64::from(n)));
    g.bench_function(BenchmarkId::new("install", "10k"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                rt.block_on(async {
                    for p in &prefixes {
                        let message = RouteMessageBuilder::<IpAddr>::new()
                            .destination_prefix(p.addr(), p.prefix_len())
                            .unwrap()
                            .protocol(RouteProtocol::from(PROTO_TERN))
                            .table_id(TABLE)
                            .gateway(gateway)
                            .unwrap()
                            .build();
                        handle
                            .route()
                            .add(message)
                            .replace()
                            .execute()
                            .await
                            .unwrap();
                    }
                });
                total += start.elapsed();
                empty(rt, fib);
            }
            total
        })
    });
    g.finish();
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("the install benchmark needs root (a network namespace, CAP_NET_ADMIN)");
        std::process::exit(1);
    }
    // This thread (and every thread it starts) leaves the host's network namespace; the
    // namespace goes with the process.
    unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
    ip("link set lo up");
    ip("link add d0 type veth peer name d1");
    ip("addr add 10.0.0.1/24 dev d0");
    ip("-6 addr add 2001:db8::1/64 dev d0 nodad");
    ip("link set d1 up");
    ip("link set d0 up");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fib = {
        let _guard = rt.enter();
        Fib::new(TABLE).unwrap()
    };
    eprintln!("requests per datagram: {}", fib.chunk());
    let mut c = Criterion::default().configure_from_args();
    batched(&mut c, &rt, &fib);
    one_at_a_time(&mut c, &rt, &fib);
    c.final_summary();
}
