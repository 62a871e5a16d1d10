//! What goes into the kernel under `maximum load-balancing` and `routing-table rib-only`:
//! the installer's operations, input by input.

use super::*;
use std::sync::Mutex;
use tern_rib::LoadBalancing;
use tern_wire::attr::AsPath;
use tern_wire::{Nlri, UpdateBuilder};

/// Kernel operations, kept.
#[derive(Debug, Default)]
struct Ops(Mutex<Vec<FibOp>>);

impl FibSink for Ops {
    fn offer(&self, op: FibOp) -> Result<(), FibOp> {
        self.0.lock().unwrap().push(op);
        Ok(())
    }
}

impl Ops {
    fn take(&self) -> Vec<FibOp> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

const PREFIX: &str = "10.9.0.0/16";

fn routing(lb: LoadBalancing, rib_only: Option<Option<String>>, policies: &str) -> Arc<Routing> {
    let cfg = tern_config::parse_file(policies).unwrap();
    Arc::new(Routing {
        policies: tern_policy::Policies::new(&cfg),
        forwarding: vec![crate::routing::Forwarding {
            vrf: None,
            family: Family::IPV4_UNICAST,
            load_balancing: lb,
            rib_only,
        }],
        ..Routing::default()
    })
}

fn engine(r: Arc<Routing>) -> (Engine, Arc<Ops>) {
    let mut t = Engine::new(rib_config(Some(100), Some("10.0.0.1".parse().unwrap())));
    let ops = Arc::new(Ops::default());
    t.set_fib(ops.clone());
    t.handle(Input::Settings(r));
    (t, ops)
}

fn peer(t: &mut Engine, addr: &str, asn: u32) {
    t.handle(Input::PeerUp {
        session: 1,
        info: PeerInfo {
            addr: addr.parse().unwrap(),
            router_id: addr.parse().unwrap(),
            asn: Asn(asn),
            ebgp: asn != 100,
            rr_client: false,
            preferred_value: 0,
        },
        ctx: Ctx {
            ebgp: asn != 100,
            ..Ctx::default()
        },
        out: None,
        vrf: None,
        status: None,
    });
}

fn nlri() -> Nlri {
    Nlri {
        path_id: None,
        rd: None,
        labels: LabelStack::new(),
        prefix: PREFIX.parse().unwrap(),
    }
}

/// `from` announces the prefix with next hop itself and `path`, MED `med`.
fn announce(t: &mut Engine, from: &str, path: &[u32], med: u32) {
    let mut a = PathAttrs::new(
        Origin::Igp,
        AsPath::sequence(path, true),
        NextHop::Ipv4(from.parse().unwrap()),
    );
    a.med = Some(med);
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(
            Family::IPV4_UNICAST,
            &a.next_hop,
            &a.to_wire(true),
            &[nlri()],
            &mut out,
        )
        .unwrap();
    t.handle(Input::Update {
        peer: from.parse().unwrap(),
        session: 1,
        body: out.remove(0).split_off(19),
    });
    while t.flush() {}
}

fn withdraw(t: &mut Engine, from: &str) {
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .withdraw(Family::IPV4_UNICAST, &[nlri()], &mut out)
        .unwrap();
    t.handle(Input::Update {
        peer: from.parse().unwrap(),
        session: 1,
        body: out.remove(0).split_off(19),
    });
    while t.flush() {}
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn install(nh: &str) -> FibOp {
    FibOp::Install {
        table: crate::MAIN_TABLE,
        prefix: PREFIX.parse().unwrap(),
        next_hop: ip(nh),
    }
}

fn multi(nhs: &[&str]) -> FibOp {
    FibOp::Multipath {
        table: crate::MAIN_TABLE,
        prefix: PREFIX.parse().unwrap(),
        next_hops: nhs.iter().map(|n| ip(n)).collect(),
    }
}

fn remove() -> FibOp {
    FibOp::Remove {
        table: crate::MAIN_TABLE,
        prefix: PREFIX.parse().unwrap(),
    }
}

const TWO: LoadBalancing = LoadBalancing {
    ebgp: 2,
    ibgp: 2,
    next_hop_self: false,
};

#[test]
fn equal_paths_go_in_together_and_collapse_when_one_goes() {
    let (mut t, ops) = engine(routing(TWO, None, ""));
    peer(&mut t, "10.0.0.11", 200);
    peer(&mut t, "10.0.0.12", 200);
    peer(&mut t, "10.0.0.13", 200);
    announce(&mut t, "10.0.0.12", &[200], 0);
    assert_eq!(ops.take(), vec![install("10.0.0.12")]);
    // A second equal path: the best changes (lower router ID), both next hops go in.
    announce(&mut t, "10.0.0.11", &[200], 0);
    assert_eq!(ops.take(), vec![multi(&["10.0.0.11", "10.0.0.12"])]);
    // A third: the limit is 2, the best stays and the set is the same.
    announce(&mut t, "10.0.0.13", &[200], 0);
    assert_eq!(ops.take(), vec![multi(&["10.0.0.11", "10.0.0.12"])]);
    // The second path goes: the third takes its place without a best-path change.
    withdraw(&mut t, "10.0.0.12");
    assert_eq!(ops.take(), vec![multi(&["10.0.0.11", "10.0.0.13"])]);
    withdraw(&mut t, "10.0.0.13");
    assert_eq!(ops.take(), vec![install("10.0.0.11")]);
    // A worse path (longer AS path) changes nothing in the kernel.
    announce(&mut t, "10.0.0.12", &[200, 300], 0);
    assert_eq!(ops.take(), vec![]);
    withdraw(&mut t, "10.0.0.11");
    assert_eq!(ops.take(), vec![install("10.0.0.12")]);
    withdraw(&mut t, "10.0.0.12");
    assert_eq!(ops.take(), vec![remove()]);
}

#[test]
fn unequal_paths_are_not_balanced() {
    let (mut t, ops) = engine(routing(TWO, None, ""));
    peer(&mut t, "10.0.0.11", 200);
    peer(&mut t, "10.0.0.12", 300);
    // Different neighbour ASes: different AS paths.
    announce(&mut t, "10.0.0.11", &[200], 0);
    announce(&mut t, "10.0.0.12", &[300], 0);
    assert_eq!(ops.take(), vec![install("10.0.0.11")]);
    // Same AS, different MED.
    peer(&mut t, "10.0.0.13", 200);
    announce(&mut t, "10.0.0.13", &[200], 5);
    assert_eq!(ops.take(), vec![]);
}

#[test]
fn load_balancing_set_and_undone_by_settings() {
    let (mut t, ops) = engine(routing(LoadBalancing::OFF, None, ""));
    peer(&mut t, "10.0.0.11", 200);
    peer(&mut t, "10.0.0.12", 200);
    announce(&mut t, "10.0.0.11", &[200], 0);
    announce(&mut t, "10.0.0.12", &[200], 0);
    assert_eq!(ops.take(), vec![install("10.0.0.11")]);
    t.handle(Input::Settings(routing(TWO, None, "")));
    while t.flush() {}
    assert_eq!(ops.take(), vec![multi(&["10.0.0.11", "10.0.0.12"])]);
    // Only IBGP paths balanced: these EBGP paths no longer are.
    t.handle(Input::Settings(routing(
        LoadBalancing {
            ebgp: 1,
            ibgp: 4,
            next_hop_self: false,
        },
        None,
        "",
    )));
    while t.flush() {}
    assert_eq!(ops.take(), vec![install("10.0.0.11")]);
}

#[test]
fn rib_only_keeps_routes_out_and_undo_puts_them_back() {
    let (mut t, ops) = engine(routing(TWO, Some(None), ""));
    peer(&mut t, "10.0.0.11", 200);
    announce(&mut t, "10.0.0.11", &[200], 0);
    assert_eq!(ops.take(), vec![], "never installed, nothing to remove");
    t.handle(Input::Settings(routing(TWO, None, "")));
    while t.flush() {}
    assert_eq!(ops.take(), vec![install("10.0.0.11")]);
    t.handle(Input::Settings(routing(TWO, Some(None), "")));
    while t.flush() {}
    assert_eq!(ops.take(), vec![remove()]);
    // Paths coming and going under rib-only touch nothing.
    peer(&mut t, "10.0.0.12", 200);
    announce(&mut t, "10.0.0.12", &[200], 0);
    withdraw(&mut t, "10.0.0.11");
    withdraw(&mut t, "10.0.0.12");
    assert_eq!(ops.take(), vec![]);
}

#[test]
fn rib_only_with_a_policy_keeps_out_what_it_permits() {
    const PERMIT: &str = "ip ip-prefix P index 10 permit 10.9.0.0 16\n#\nroute-policy R permit node 10\n if-match ip-prefix P\n#\nreturn\n";
    const OTHER: &str = "ip ip-prefix P index 10 permit 10.8.0.0 16\n#\nroute-policy R permit node 10\n if-match ip-prefix P\n#\nreturn\n";
    let (mut t, ops) = engine(routing(TWO, Some(Some("R".into())), PERMIT));
    peer(&mut t, "10.0.0.11", 200);
    announce(&mut t, "10.0.0.11", &[200], 0);
    assert_eq!(ops.take(), vec![remove()], "permitted: kept out");
    // The policy no longer matches the prefix (denied): installed.
    t.handle(Input::Settings(routing(TWO, Some(Some("R".into())), OTHER)));
    while t.flush() {}
    assert_eq!(ops.take(), vec![install("10.0.0.11")]);
}

/// VRP: with the plain `maximum load-balancing N`, routes learned from EBGP go to IBGP peers
/// with next hop self; with `maximum load-balancing ebgp N` (or none) they keep their next hop.
/// A change of it sends the IBGP peers the routes again.
#[test]
fn plain_load_balancing_sets_next_hop_self_toward_ibgp() {
    let plain = LoadBalancing {
        ebgp: 2,
        ibgp: 2,
        next_hop_self: true,
    };
    let (mut t, _ops) = engine(routing(plain, None, ""));
    peer(&mut t, "10.0.0.11", 200);
    announce(&mut t, "10.0.0.11", &[200], 0);
    let mut rx = super::tests::up_peer(
        &mut t,
        "10.0.1.3",
        100,
        "10.0.1.1",
        vec![Family::IPV4_UNICAST],
    );
    let mut b = super::tests::receiver(100, "10.0.1.1", 100);
    super::tests::deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let nh = |b: &Engine| b.table(Family::IPV4_UNICAST).routes[0].next_hop;
    assert_eq!(nh(&b), Some(ip("10.0.1.1")), "plain form: next hop self");
    t.handle(Input::Settings(routing(TWO, None, "")));
    super::tests::deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    assert_eq!(nh(&b), Some(ip("10.0.0.11")), "ebgp/ibgp form: kept");
}

/// A prefix marked because its paths changed (best path the same: none) and then by a
/// best-path change before the next output step is installed: here, a path whose next hop is
/// not answered yet arrives (no best either way), then the answer makes it the best.
#[test]
fn a_best_path_change_after_a_path_change_is_installed() {
    let (mut t, ops) = engine(routing(TWO, None, ""));
    let asked = Arc::new(Asked);
    t.track_next_hops(asked);
    peer(&mut t, "10.0.0.11", 200);
    let mut a = PathAttrs::new(
        Origin::Igp,
        AsPath::sequence(&[200], true),
        NextHop::Ipv4("10.0.0.11".parse().unwrap()),
    );
    a.med = Some(0);
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(
            Family::IPV4_UNICAST,
            &a.next_hop,
            &a.to_wire(true),
            &[nlri()],
            &mut out,
        )
        .unwrap();
    t.handle(Input::Update {
        peer: "10.0.0.11".parse().unwrap(),
        session: 1,
        body: out.remove(0).split_off(19),
    });
    // The answer comes before the output step.
    t.handle(Input::Resolved(crate::Resolution {
        next_hops: vec![(ip("10.0.0.11"), Some(0))],
        ..crate::Resolution::default()
    }));
    while t.flush() {}
    assert_eq!(ops.take(), vec![install("10.0.0.11")]);
}

/// Next-hop questions, dropped (the test answers itself).
#[derive(Debug, Default)]
struct Asked;

impl crate::Watcher for Asked {
    fn watch(&self, _: crate::Watch) {}
}
