//! The sharded engine against the one-engine engine: for random sequences of inputs (peers up
//! and down, announcements, withdrawals, next hops becoming unreachable and reachable again,
//! export policy changes), 2 and 4 shards must end with the same Loc-RIB (the union of the
//! shards') and send every peer the same routes with the same attributes as one engine, with
//! End-of-RIB once per family after the initial table.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use proptest::prelude::*;
use tern_engine::adjout::{Offer, Outbound, Sink};
use tern_engine::routing::{PeerPolicy, Routing};
use tern_engine::{Engine, Input, PeerOut, Resolution, Shard, Watch, Watcher, rib_config, shard};
use tern_rib::{Digest, PathAttrs, PeerInfo};
use tern_types::{Asn, Family};
use tern_wire::attr::{AsPath, Origin};
use tern_wire::{Ctx, Message, NextHop, Nlri, Update, UpdateBuilder};

/// The kernel side: next hops 10.9.0.N, unreachable while bit N is set, answered to every
/// engine when asked and again when they change, as the daemon's next-hop tracker does.
#[derive(Debug, Default)]
struct Hops {
    down: AtomicU32,
    /// Asked and not answered yet.
    asked: Mutex<BTreeSet<IpAddr>>,
    /// Followed, with the last answer (`None`: not answered yet).
    followed: Mutex<BTreeMap<IpAddr, Option<Option<u32>>>>,
}

impl Hops {
    fn cost(&self, nh: IpAddr) -> Option<u32> {
        let n = match nh {
            IpAddr::V4(a) => a.octets()[3],
            IpAddr::V6(a) => a.octets()[15],
        };
        (self.down.load(Ordering::Relaxed) & (1 << (n % 32)) == 0).then_some(u32::from(n))
    }

    /// Answers for what was asked, and for what changed since the last answers.
    fn answers(&self) -> Resolution {
        let mut followed = self.followed.lock().unwrap();
        for nh in std::mem::take(&mut *self.asked.lock().unwrap()) {
            followed.entry(nh).or_insert(None);
        }
        let mut r = Resolution::default();
        for (nh, last) in followed.iter_mut() {
            let now = self.cost(*nh);
            if *last != Some(now) {
                *last = Some(now);
                r.next_hops.push((*nh, now));
            }
        }
        r
    }
}

impl Watcher for Hops {
    fn watch(&self, w: Watch) {
        self.asked.lock().unwrap().extend(w.next_hops);
    }
}

/// A writer fed by `shards` engines: takes everything, End-of-RIB from the last shard.
#[derive(Debug)]
struct Capture {
    bytes: Mutex<Vec<u8>>,
    shards: usize,
    eor: Mutex<BTreeMap<Family, usize>>,
}

impl Sink for Capture {
    fn offer(&self, b: Bytes) -> Offer {
        self.bytes.lock().unwrap().extend_from_slice(&b);
        Offer::Taken
    }
    fn end_of_rib_turn(&self, family: Family) -> bool {
        let mut m = self.eor.lock().unwrap();
        let n = m.entry(family).or_default();
        *n += 1;
        *n == self.shards
    }
}

#[derive(Clone, Debug)]
enum Op {
    Up(u8),
    Down(u8),
    Announce {
        peer: u8,
        prefixes: Vec<u8>,
        med: u8,
        hop: u8,
    },
    Withdraw {
        peer: u8,
        prefixes: Vec<u8>,
    },
    Unreachable(u8),
    Policy(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..4).prop_map(Op::Up),
        1 => (0u8..4).prop_map(Op::Down),
        4 => (0u8..4, prop::collection::vec(0u8..16, 1..8), 0u8..3, 0u8..3).prop_map(
            |(peer, prefixes, med, hop)| Op::Announce {
                peer,
                prefixes,
                med,
                hop
            }
        ),
        3 => (0u8..4, prop::collection::vec(0u8..16, 1..8))
            .prop_map(|(peer, prefixes)| Op::Withdraw { peer, prefixes }),
        1 => (0u8..3).prop_map(Op::Unreachable),
        1 => (0u8..3).prop_map(Op::Policy),
    ]
}

fn peer(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10 + i))
}

fn prefix(i: u8) -> ipnet::IpNet {
    if i % 4 == 3 {
        format!("2001:db8:{i}::/48").parse().unwrap()
    } else {
        format!("10.{}.{}.0/24", i / 8, i).parse().unwrap()
    }
}

/// Policy variant `v`: peer 0's export policy permits all, denies 10.0/16's /24s, or sets
/// the MED.
fn routing(v: u8) -> Arc<Routing> {
    let text = match v % 3 {
        0 => "route-policy out permit node 10\n#\nreturn\n",
        1 => {
            "ip ip-prefix some index 10 permit 10.0.0.0 16 greater-equal 24 less-equal 24\n#\nroute-policy out deny node 10\n if-match ip-prefix some\n#\nroute-policy out permit node 20\n#\nreturn\n"
        }
        _ => "route-policy out permit node 10\n apply cost 77\n#\nreturn\n",
    };
    let cfg = tern_config::parse_file(text).unwrap();
    Arc::new(Routing {
        policies: tern_policy::Policies::new(&cfg),
        peer_policies: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
            .into_iter()
            .map(|family| PeerPolicy {
                addr: peer(0),
                family,
                import: None,
                export: Some("out".into()),
                import_filters: Default::default(),
                export_filters: Default::default(),
            })
            .collect(),
        ..Routing::default()
    })
}

/// The routes a peer holds: (family, prefix) → attributes.
type Held = BTreeMap<(Family, String), String>;

/// One engine or several, driven the way the daemon drives them.
struct Run {
    engines: Vec<Engine>,
    hops: Arc<Hops>,
    sessions: BTreeMap<u8, u64>,
    /// Every session's output, in the order the sessions came up.
    outputs: Vec<(u8, Arc<Capture>)>,
    next_session: u64,
}

impl Run {
    fn new(count: usize) -> Run {
        let hops = Arc::new(Hops::default());
        let engines = (0..count)
            .map(|index| {
                let mut e = Engine::sharded(
                    rib_config(Some(100), Some("10.0.0.1".parse().unwrap())),
                    Shard { index, count },
                );
                e.track_next_hops(hops.clone());
                e.handle(Input::Settings(routing(0)));
                e
            })
            .collect();
        Run {
            engines,
            hops,
            sessions: BTreeMap::new(),
            outputs: Vec::new(),
            next_session: 1,
        }
    }

    fn all(&mut self, f: impl Fn() -> Input) {
        for e in &mut self.engines {
            e.handle(f());
        }
    }

    fn step(&mut self, op: &Op) {
        let n = self.engines.len();
        match op {
            Op::Up(p) => {
                if self.sessions.contains_key(p) {
                    return;
                }
                let session = self.next_session;
                self.next_session += 1;
                let cap = Arc::new(Capture {
                    bytes: Mutex::new(Vec::new()),
                    shards: n,
                    eor: Mutex::new(BTreeMap::new()),
                });
                self.sessions.insert(*p, session);
                self.outputs.push((*p, cap.clone()));
                let ebgp = *p == 0;
                self.all(|| Input::PeerUp {
                    session,
                    info: PeerInfo {
                        addr: peer(*p),
                        router_id: Ipv4Addr::new(10, 0, 0, 10 + *p),
                        asn: Asn(if ebgp { 200 } else { 100 }),
                        ebgp,
                        rr_client: !ebgp,
                        preferred_value: 0,
                    },
                    ctx: Ctx {
                        ebgp,
                        ..Ctx::default()
                    },
                    out: Some(PeerOut {
                        tx: cap.clone(),
                        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
                        ctx: Ctx::default(),
                        local: Some("10.0.0.1".parse().unwrap()),
                        out: Outbound::default(),
                    }),
                    vrf: None,
                    status: None,
                });
            }
            Op::Down(p) => {
                if let Some(session) = self.sessions.remove(p) {
                    self.all(|| Input::PeerDown {
                        peer: peer(*p),
                        session,
                    });
                }
            }
            Op::Announce {
                peer: p,
                prefixes,
                med,
                hop,
            } => {
                let Some(&session) = self.sessions.get(p) else {
                    return;
                };
                let nh = Ipv4Addr::new(10, 9, 0, *hop);
                let mut a = PathAttrs::new(
                    Origin::Igp,
                    if *p == 0 {
                        AsPath::sequence(&[200], true)
                    } else {
                        AsPath::empty(true)
                    },
                    NextHop::Ipv4(nh),
                );
                a.med = Some(u32::from(*med));
                if *p != 0 {
                    a.local_pref = Some(100);
                }
                for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                    let routes = routes(prefixes, family);
                    if routes.is_empty() {
                        continue;
                    }
                    let mut a = a.clone();
                    a.next_hop = if family.is_ipv6() {
                        NextHop::ipv4_mapped(nh)
                    } else {
                        NextHop::Ipv4(nh)
                    };
                    let mut out = Vec::new();
                    UpdateBuilder::new(&Ctx::default())
                        .reach(family, &a.next_hop, &a.to_wire(true), &routes, &mut out)
                        .unwrap();
                    for m in out {
                        self.digest(*p, session, &m);
                    }
                }
            }
            Op::Withdraw { peer: p, prefixes } => {
                let Some(&session) = self.sessions.get(p) else {
                    return;
                };
                for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                    let routes = routes(prefixes, family);
                    if routes.is_empty() {
                        continue;
                    }
                    let mut out = Vec::new();
                    UpdateBuilder::new(&Ctx::default())
                        .withdraw(family, &routes, &mut out)
                        .unwrap();
                    for m in out {
                        self.digest(*p, session, &m);
                    }
                }
            }
            Op::Unreachable(h) => {
                self.hops.down.fetch_xor(1 << h, Ordering::Relaxed);
            }
            Op::Policy(v) => {
                let r = routing(*v);
                self.all(|| Input::Settings(r.clone()));
            }
        }
        // An output step between inputs, as the daemon runs them, then the kernel side's
        // answers to what the step asked.
        for e in &mut self.engines {
            e.flush();
        }
        self.answer();
    }

    /// The kernel side's answers, to every engine.
    fn answer(&mut self) -> bool {
        let r = self.hops.answers();
        if r.is_empty() {
            return false;
        }
        self.all(|| Input::Resolved(r.clone()));
        true
    }

    /// An UPDATE from peer `p`, taken apart and split as the connection task does.
    fn digest(&mut self, p: u8, session: u64, msg: &[u8]) {
        let u = Update::decode(&msg[19..]).unwrap();
        let d = Digest::of(&u.parse(&Ctx {
            ebgp: p == 0,
            ..Ctx::default()
        }));
        let n = self.engines.len();
        for (e, part) in self.engines.iter_mut().zip(shard::split(d, n)) {
            if let Some(d) = part {
                e.handle(Input::Digest {
                    peer: peer(p),
                    session,
                    digest: Box::new(d),
                });
            }
        }
    }

    fn settle(&mut self) {
        loop {
            let mut any = false;
            for e in &mut self.engines {
                any |= e.flush();
            }
            any |= self.answer();
            if !any {
                break;
            }
        }
    }

    /// Every destination's best path: the peer it came from and its attributes.
    fn loc_rib(&self) -> BTreeMap<(Family, String), (u32, PathAttrs)> {
        let mut m = BTreeMap::new();
        for e in &self.engines {
            for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                for (k, b) in e.rib().loc_rib(f) {
                    let prev = m.insert(
                        (f, k.prefix.to_string()),
                        (b.peer.0, e.rib().attrs(b.attrs)),
                    );
                    assert!(prev.is_none(), "one owner per destination");
                }
            }
        }
        m
    }

    /// What each session's peer holds at its end: the routes announced and not withdrawn,
    /// with their attributes. End-of-RIB must come once per family, after every route of
    /// the session's initial table.
    fn adj_out(&self) -> Vec<(u8, Held)> {
        self.outputs
            .iter()
            .map(|(p, cap)| {
                let bytes = cap.bytes.lock().unwrap().clone();
                let mut held = BTreeMap::new();
                let mut eors: BTreeMap<Family, usize> = BTreeMap::new();
                for f in tern_wire::message::frames(&bytes) {
                    let Ok(Message::Update(u)) = Message::decode(f.unwrap()) else {
                        panic!("not an UPDATE")
                    };
                    let parsed = u.parse(&Ctx::default());
                    if let Some(fam) = parsed.end_of_rib() {
                        *eors.entry(fam).or_default() += 1;
                        continue;
                    }
                    let d = Digest::of(&parsed);
                    for (fam, n) in &d.withdrawn {
                        held.remove(&(*fam, n.prefix.to_string()));
                    }
                    for r in &d.reach {
                        for (fam, n) in &r.routes {
                            held.insert((*fam, n.prefix.to_string()), format!("{:?}", r.attrs));
                        }
                    }
                }
                for (fam, n) in &eors {
                    assert_eq!(*n, 1, "End-of-RIB of {fam} once to peer {p}");
                }
                (*p, held)
            })
            .collect()
    }
}

fn routes(prefixes: &[u8], family: Family) -> Vec<Nlri> {
    let mut v: Vec<u8> = prefixes.to_vec();
    v.sort_unstable();
    v.dedup();
    v.into_iter()
        .map(prefix)
        .filter(|x| x.addr().is_ipv6() == family.is_ipv6())
        .map(Nlri::unicast)
        .collect()
}

fn compare(ops: &[Op], shards: usize) -> Result<(), TestCaseError> {
    let mut one = Run::new(1);
    let mut many = Run::new(shards);
    for o in ops {
        one.step(o);
        many.step(o);
    }
    one.settle();
    many.settle();
    prop_assert_eq!(one.loc_rib(), many.loc_rib());
    prop_assert_eq!(one.adj_out(), many.adj_out());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn two_and_four_shards_route_as_one(ops in prop::collection::vec(op(), 1..40)) {
        compare(&ops, 2)?;
        compare(&ops, 4)?;
    }
}

#[test]
fn a_table_splits_over_the_shards_and_end_of_rib_follows_it() {
    let ops = vec![
        Op::Up(1),
        Op::Announce {
            peer: 1,
            prefixes: (0..40).collect(),
            med: 1,
            hop: 1,
        },
        Op::Up(2),
        Op::Up(0),
    ];
    let mut r = Run::new(2);
    for o in &ops {
        r.step(o);
    }
    r.settle();
    let counts: Vec<usize> = r
        .engines
        .iter()
        .map(|e| e.rib().len(Family::IPV4_UNICAST) + e.rib().len(Family::IPV6_UNICAST))
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 40);
    assert!(counts.iter().all(|c| *c > 5), "{counts:?}");
    // Peer 2 joined a table held by two shards: End-of-RIB comes after every route.
    let (_, cap) = r.outputs.iter().find(|(p, _)| *p == 2).unwrap();
    let bytes = cap.bytes.lock().unwrap().clone();
    let mut routes = 0;
    let mut eor_at = Vec::new();
    for f in tern_wire::message::frames(&bytes) {
        let Ok(Message::Update(u)) = Message::decode(f.unwrap()) else {
            panic!()
        };
        let p = u.parse(&Ctx::default());
        if p.end_of_rib().is_some() {
            eor_at.push(routes);
        } else {
            routes += p.announced().count();
        }
    }
    assert_eq!(routes, 40);
    assert_eq!(
        eor_at,
        vec![40, 40],
        "one End-of-RIB per family, after the table"
    );
    compare(&ops, 2).unwrap();
}
