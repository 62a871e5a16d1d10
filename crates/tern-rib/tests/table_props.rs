//! The tables against a model: random injections, withdrawals, re-imports and family
//! withdrawals, checked against a `BTreeMap` of each destination's paths in arrival order.
//!
//! The tables store destinations densely and move the last one into a removed one's place,
//! and keep common single paths inline and other path lists out of line: these runs cross
//! every such move and change of form, and check that every destination is still found, that
//! its paths are intact and in order, that the reported best-path changes add up, and that
//! the accepted-path counts kept as paths change match the model's import verdicts.

#![allow(missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::*;
use proptest::prelude::*;
use tern_rib::{
    AllReachable, AttrId, Best, BestChange, PathAttrs, PeerId, PeerInfo, Rib, RouteKey, Verdict,
};
use tern_types::{Family, Label, LabelStack, RouteDistinguisher};
use tern_wire::NextHop;
use tern_wire::attr::{AsPath, Origin};

const FAMILIES: [Family; 2] = [Family::VPNV4, Family::IPV4_UNICAST];
const PEERS: [u32; 4] = [0, 1, 2, 3];

#[derive(Clone, Copy, Debug)]
enum Op {
    Inject {
        fam: usize,
        key: u8,
        peer: usize,
        path_id: u32,
        attrs: u8,
        labels: u8,
    },
    Withdraw {
        fam: usize,
        key: u8,
        peer: usize,
        path_id: u32,
    },
    WithdrawFamily {
        fam: usize,
        peer: usize,
    },
    Reimport {
        peer: usize,
        policy: u8,
    },
    Shrink,
}

fn op() -> impl Strategy<Value = Op> {
    let fam = 0..FAMILIES.len();
    let key = 0u8..40;
    let peer = 0..PEERS.len();
    let path_id = prop::sample::select(vec![0u32, 0, 0, 1, 7]);
    prop_oneof![
        8 => (fam.clone(), key.clone(), peer.clone(), path_id.clone(), 0u8..4, 0u8..3).prop_map(
            |(fam, key, peer, path_id, attrs, labels)| Op::Inject {
                fam,
                key,
                peer,
                path_id,
                attrs,
                labels
            }
        ),
        6 => (fam.clone(), key, peer.clone(), path_id)
            .prop_map(|(fam, key, peer, path_id)| Op::Withdraw { fam, key, peer, path_id }),
        1 => (fam, peer.clone()).prop_map(|(fam, peer)| Op::WithdrawFamily { fam, peer }),
        2 => (peer, 0u8..4).prop_map(|(peer, policy)| Op::Reimport { peer, policy }),
        1 => Just(Op::Shrink),
    ]
}

fn route_key(fam: usize, k: u8) -> RouteKey {
    let prefix = format!("10.{k}.0.0/{}", 16 + k % 9).parse().unwrap();
    if FAMILIES[fam] == Family::VPNV4 {
        RouteKey::vpn(RouteDistinguisher::type0(100, u32::from(k % 3)), prefix)
    } else {
        RouteKey::new(prefix)
    }
}

fn attrs(variant: u8) -> PathAttrs {
    let mut a = PathAttrs::new(
        Origin::Igp,
        AsPath::sequence(&[65001, 65002 + u32::from(variant % 2)], true),
        NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1 + variant)),
    );
    a.local_pref = Some(100 + u32::from(variant));
    a
}

fn labels(n: u8, key: u8) -> LabelStack {
    let mut s = LabelStack::new();
    for i in 0..n {
        s.push_label(Label(1000 + u32::from(key) * 4 + u32::from(i)), i + 1 == n);
    }
    s
}

/// The import policies the runs switch between.
fn verdict(policy: u8, key: &RouteKey, a: &PathAttrs) -> Verdict {
    match policy {
        0 => Verdict::Accept,
        1 => Verdict::Deny,
        2 => {
            let mut m = a.clone();
            m.med = Some(5);
            Verdict::Modify(Box::new(m))
        }
        // Mixed: refuse some destinations, modify others.
        _ => {
            if key.prefix.prefix_len().is_multiple_of(2) {
                Verdict::Deny
            } else {
                verdict(2, key, a)
            }
        }
    }
}

/// A path in the model.
#[derive(Clone, Debug)]
struct MPath {
    peer: PeerId,
    path_id: u32,
    attrs: PathAttrs,
    labels: LabelStack,
    /// The import verdict in force (`None`: the attributes as injected).
    policy: Option<u8>,
}

impl MPath {
    /// The expected post-policy attributes (`None`: refused).
    fn effective(&self, key: &RouteKey) -> Option<PathAttrs> {
        match self.policy.map(|p| verdict(p, key, &self.attrs)) {
            None | Some(Verdict::Accept) => Some(self.attrs.clone()),
            Some(Verdict::Deny) => None,
            Some(Verdict::Modify(m)) => Some(*m),
        }
    }
}

type Model = BTreeMap<(usize, RouteKey), Vec<MPath>>;

struct Run {
    rib: Rib,
    model: Model,
    /// The best paths as the reported changes have them.
    reported: BTreeMap<(usize, RouteKey), Best>,
}

impl Run {
    fn new() -> Run {
        let mut rib = rib();
        for p in PEERS.into_iter().skip(1) {
            rib.peer_up(PeerId(p), ibgp(u8::try_from(p).unwrap()));
        }
        Run {
            rib,
            model: BTreeMap::new(),
            reported: BTreeMap::new(),
        }
    }

    fn take(&mut self, out: Vec<BestChange>) -> Result<(), TestCaseError> {
        for c in out {
            let fam = FAMILIES.iter().position(|f| *f == c.family).unwrap();
            let k = (fam, c.key);
            prop_assert_eq!(self.reported.get(&k).copied(), c.old, "old of {:?}", c);
            prop_assert_ne!(c.old, c.new);
            match c.new {
                Some(b) => self.reported.insert(k, b),
                None => self.reported.remove(&k),
            };
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        let mut out = Vec::new();
        match op {
            Op::Inject {
                fam,
                key,
                peer,
                path_id,
                attrs: v,
                labels: n,
            } => {
                let k = route_key(fam, key);
                let p = MPath {
                    peer: PeerId(PEERS[peer]),
                    path_id,
                    attrs: attrs(v),
                    labels: labels(n, key),
                    policy: None,
                };
                prop_assert!(self.rib.inject(
                    FAMILIES[fam],
                    k,
                    p.peer,
                    path_id,
                    &p.attrs,
                    p.labels,
                    &AllReachable,
                    &mut out
                ));
                let paths = self.model.entry((fam, k)).or_default();
                match paths
                    .iter_mut()
                    .find(|q| q.peer == p.peer && q.path_id == path_id)
                {
                    Some(q) => *q = p,
                    None => paths.push(p),
                }
            }
            Op::Withdraw {
                fam,
                key,
                peer,
                path_id,
            } => {
                let k = route_key(fam, key);
                let peer = PeerId(PEERS[peer]);
                let had = self.rib.withdraw_path(
                    FAMILIES[fam],
                    k,
                    peer,
                    path_id,
                    &AllReachable,
                    &mut out,
                );
                let mut expected = false;
                if let Some(paths) = self.model.get_mut(&(fam, k)) {
                    let before = paths.len();
                    paths.retain(|q| !(q.peer == peer && q.path_id == path_id));
                    expected = paths.len() < before;
                    if paths.is_empty() {
                        self.model.remove(&(fam, k));
                    }
                }
                prop_assert_eq!(had, expected);
            }
            Op::WithdrawFamily { fam, peer } => {
                let peer = PeerId(PEERS[peer]);
                let n = self
                    .rib
                    .withdraw_family(peer, FAMILIES[fam], &AllReachable, &mut out);
                let mut expected = 0;
                self.model.retain(|(f, _), paths| {
                    if *f == fam {
                        let before = paths.len();
                        paths.retain(|q| q.peer != peer);
                        expected += before - paths.len();
                    }
                    !paths.is_empty()
                });
                prop_assert_eq!(n, expected);
            }
            Op::Reimport { peer, policy } => {
                let peer = PeerId(PEERS[peer]);
                let f = move |_: PeerId, _: &PeerInfo, _: Family, key: &RouteKey, a: &PathAttrs| {
                    verdict(policy, key, a)
                };
                self.rib
                    .reimport(peer, &f, &AllReachable, &mut out)
                    .unwrap();
                for q in self.model.values_mut().flatten() {
                    if q.peer == peer {
                        q.policy = Some(policy);
                    }
                }
            }
            Op::Shrink => self.rib.shrink_to_fit(),
        }
        self.take(out)
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let rib = &self.rib;
        for (fam, family) in FAMILIES.into_iter().enumerate() {
            let dests = self.model.keys().filter(|(f, _)| *f == fam).count();
            let paths: usize = self
                .model
                .iter()
                .filter(|((f, _), _)| *f == fam)
                .map(|(_, v)| v.len())
                .sum();
            prop_assert_eq!(rib.counts(family), (dests, paths));
            // Accepted paths, counted as they change, against the model's verdicts.
            let accepted = |peer: Option<PeerId>| -> u64 {
                self.model
                    .iter()
                    .filter(|((f, _), _)| *f == fam)
                    .flat_map(|((_, k), v)| v.iter().map(move |q| (k, q)))
                    .filter(|(k, q)| peer.is_none_or(|p| q.peer == p) && q.effective(k).is_some())
                    .count() as u64
            };
            prop_assert_eq!(rib.accepted_total(family), accepted(None));
            for p in PEERS {
                let got = rib
                    .accepted(PeerId(p))
                    .into_iter()
                    .find(|(f, _)| *f == family)
                    .map_or(0, |(_, n)| n);
                prop_assert_eq!(got, accepted(Some(PeerId(p))), "peer {}", p);
            }
            let mut loc = rib.loc_rib(family);
            loc.sort_by_key(|(k, _)| *k);
            let reported: Vec<(RouteKey, Best)> = self
                .reported
                .iter()
                .filter(|((f, _), _)| *f == fam)
                .map(|((_, k), b)| (*k, *b))
                .collect();
            prop_assert_eq!(&loc, &reported);
            for p in PEERS {
                let mut got: Vec<_> = rib
                    .adj_rib_in(PeerId(p), family)
                    .into_iter()
                    .map(|(k, i)| (k, i.path_id, i.labels.entries().to_vec()))
                    .collect();
                got.sort();
                let mut want: Vec<_> = self
                    .model
                    .iter()
                    .filter(|((f, _), _)| *f == fam)
                    .flat_map(|((_, k), v)| {
                        v.iter()
                            .filter(|q| q.peer == PeerId(p))
                            .map(|q| (*k, q.path_id, q.labels.entries().to_vec()))
                    })
                    .collect();
                want.sort();
                prop_assert_eq!(got, want);
            }
        }
        for ((fam, key), want) in &self.model {
            let family = FAMILIES[*fam];
            let got = rib.paths(family, key);
            prop_assert_eq!(got.len(), want.len(), "{}", key);
            let mut best = None;
            for (g, w) in got.iter().zip(want) {
                prop_assert_eq!((g.peer, g.path_id, g.labels), (w.peer, w.path_id, w.labels));
                prop_assert_eq!(&rib.attrs(g.in_attrs), &w.attrs);
                match w.effective(key) {
                    None => prop_assert_eq!(g.attrs, AttrId::NONE),
                    Some(a) => prop_assert_eq!(&rib.attrs(g.attrs), &a),
                }
                if g.best {
                    prop_assert!(best.is_none(), "two best paths for {}", key);
                    prop_assert!(g.attrs.is_some());
                    best = Some(Best {
                        peer: g.peer,
                        path_id: g.path_id,
                        attrs: g.attrs,
                        labels: g.labels,
                    });
                }
            }
            // Every path is eligible unless refused, so there is a best one exactly then.
            prop_assert_eq!(best.is_some(), got.iter().any(|g| g.attrs.is_some()));
            prop_assert_eq!(rib.best(family, key), best);
            prop_assert_eq!(self.reported.get(&(*fam, *key)).copied(), best);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tables_match_the_model(ops in prop::collection::vec(op(), 1..200)) {
        let mut run = Run::new();
        for op in ops {
            run.apply(op)?;
            run.check()?;
        }
        // Everything withdrawn: nothing left, and every best path reported gone.
        for fam in 0..FAMILIES.len() {
            for p in 0..PEERS.len() {
                run.apply(Op::WithdrawFamily { fam, peer: p })?;
            }
        }
        run.check()?;
        prop_assert!(run.model.is_empty());
        prop_assert!(run.reported.is_empty());
        let m = run.rib.memory();
        prop_assert_eq!((m.destinations, m.paths), (0, 0));
    }
}
