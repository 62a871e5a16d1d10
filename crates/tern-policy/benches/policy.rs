//! Route policy benchmarks: a 10-node `route-policy` with prefix lists over 100,000 routes.
//!
//! The policy `P` has nodes 10 to 100. Nodes 10 to 80 each match one IPv4 prefix list of 10
//! entries (`L1` to `L8`; the first entry of each denies a /16, the other nine permit a /16 up
//! to /24), and are in turn: deny, `apply cost`, `apply community ... additive`, permit
//! unchanged, `apply local-preference`, deny, `apply as-path ... additive`, `apply ip-address
//! next-hop`. Node 90 denies routes with MED 5 (`if-match cost 5`); node 100 permits the rest
//! unchanged.
//!
//! The routes are IPv4 BGP routes (no tag, not originated) to consecutive /24s from
//! 10.0.0.0 (every fifth a /22 or /32 instead), unlabeled, with ORIGIN, an AS_PATH of two
//! ASNs, two communities, and MED 5 on every fourth. About one route in six is permitted by
//! one of the prefix lists; the rest try every list before nodes 90 and 100, so most
//! evaluations walk all 80 prefix-list entries. The outcomes: about 25% denied, 64%
//! permitted unchanged, 10% permitted with changed attributes.
//!
//! - `policy/compile`: `Policies::new` on the parsed configuration (10 nodes, 8 lists).
//! - `policy/evaluate_100k`: `Policies::evaluate` of `P` on every route, the outcomes
//!   dropped as they come.
//!
//! Before criterion runs, the outcomes are counted (denied, permitted unchanged, permitted
//! with changed attributes) and printed.
//!
//! Run: `cargo bench -p tern-policy --bench policy`.

#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use tern_config::Config;
use tern_policy::{Outcome, Policies, RouteInput};
use tern_rib::{PathAttrs, RouteKey};
use tern_types::{IpNet, Ipv4Net, LabelStack};
use tern_wire::NextHop;
use tern_wire::attr::{AsPath, Origin};

const ROUTES: usize = 100_000;
const LISTS: u8 = 8;
const ENTRIES: u8 = 10;

/// The configuration text: policy `P` and its lists `L1` to `L8`.
fn config_text() -> String {
    const APPLIES: [&str; 8] = [
        "",
        " apply cost 100\n",
        " apply community 100:1 additive\n",
        "",
        " apply local-preference 300\n",
        "",
        " apply as-path 65001 additive\n",
        " apply ip-address next-hop 192.0.2.1\n",
    ];
    let mut t = String::new();
    for k in 1..=LISTS {
        let mode = if k == 1 || k == 6 { "deny" } else { "permit" };
        let node = u32::from(k) * 10;
        let apply = APPLIES[usize::from(k - 1)];
        write!(
            t,
            "route-policy P {mode} node {node}\n if-match ip-prefix L{k}\n{apply}#\n"
        )
        .unwrap();
    }
    t.push_str("route-policy P deny node 90\n if-match cost 5\n#\n");
    t.push_str("route-policy P permit node 100\n#\n");
    for k in 1..=LISTS {
        for j in 0..ENTRIES {
            let index = (u32::from(j) + 1) * 10;
            let second = k * 16 + j;
            let entry = if j == 0 {
                format!("deny 10.{second}.0.0 16")
            } else {
                format!("permit 10.{second}.0.0 16 less-equal 24")
            };
            writeln!(t, "ip ip-prefix L{k} index {index} {entry}").unwrap();
        }
    }
    t.push_str("#\nreturn\n");
    t
}

fn config() -> Config {
    tern_config::parse_file(&config_text()).expect("the benchmark configuration parses")
}

/// One route's key and attributes.
struct Route {
    key: RouteKey,
    attrs: PathAttrs,
}

fn routes() -> Vec<Route> {
    (0..ROUTES)
        .map(|i| {
            let addr = Ipv4Addr::from((10u32 << 24) + ((i as u32) << 8));
            let len = match i % 10 {
                5 => 22,
                0 => 32,
                _ => 24,
            };
            let prefix = IpNet::V4(Ipv4Net::new(addr, len).unwrap());
            let mut attrs = PathAttrs::new(
                Origin::Igp,
                AsPath::sequence(&[65_010, 65_020 + (i % 7) as u32], true),
                NextHop::Ipv4(Ipv4Addr::new(10, 255, 0, 1 + (i % 2) as u8)),
            );
            attrs.communities = vec![(65_010 << 16) | 1, (65_010 << 16) | (i % 100) as u32];
            if i % 4 == 0 {
                attrs.med = Some(5);
            }
            Route {
                key: RouteKey::new(prefix),
                attrs,
            }
        })
        .collect()
}

fn evaluate_all(p: &Policies, routes: &[Route], labels: &LabelStack) {
    for r in routes {
        black_box(p.evaluate("P", &RouteInput::new(&r.key, &r.attrs, labels)));
    }
}

/// Prints how the routes fare, so the timings can be read against the work done.
fn outcome_report(p: &Policies, routes: &[Route]) {
    let labels = LabelStack::new();
    let (mut deny, mut unchanged, mut changed) = (0usize, 0usize, 0usize);
    for r in routes {
        match p.evaluate("P", &RouteInput::new(&r.key, &r.attrs, &labels)) {
            Outcome::Deny => deny += 1,
            Outcome::Permit { attrs: None, .. } => unchanged += 1,
            Outcome::Permit { attrs: Some(_), .. } => changed += 1,
        }
    }
    assert!(p.problems().is_empty(), "{:?}", p.problems());
    println!(
        "policy P over {} routes: {deny} denied, {unchanged} permitted unchanged, {changed} \
         permitted with changed attributes",
        routes.len()
    );
}

fn bench_policy(c: &mut Criterion) {
    let cfg = config();
    let p = Policies::new(&cfg);
    let routes = routes();
    let labels = LabelStack::new();
    let mut g = c.benchmark_group("policy");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("compile", |b| b.iter(|| Policies::new(black_box(&cfg))));
    g.throughput(Throughput::Elements(ROUTES as u64));
    g.bench_function("evaluate_100k", |b| {
        b.iter(|| evaluate_all(&p, black_box(&routes), &labels))
    });
    g.finish();
}

criterion_group!(benches, bench_policy);

fn main() {
    outcome_report(&Policies::new(&config()), &routes());
    benches();
    Criterion::default().configure_from_args().final_summary();
}
