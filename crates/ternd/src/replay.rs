//! Replaying a recording ([`crate::record`]) on a fresh engine: the recorded inputs in their
//! order, an output step wherever the recorded run made progress, then output steps until
//! nothing is left. Writers and the installer take everything (no flow control), so the
//! outputs — each peer's byte stream and the kernel operations — depend on the recording
//! alone: every replay of one recording gives the same bytes.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tern_engine::adjout::{Offer, Sink};
use tern_engine::{Engine, FibOp, FibSink, Input, PeerOut, Resolution, Watch, Watcher};
use tern_rib::RibConfig;
use tern_types::Asn;

use crate::record::{Event, families, family, unhex};

/// What a replay produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Every peer's output, its sessions back to back.
    pub peers: BTreeMap<IpAddr, Vec<u8>>,
    /// The kernel operations, in order.
    pub fib: Vec<FibOp>,
    /// Inputs replayed.
    pub inputs: usize,
}

#[derive(Debug, Default)]
struct Capture(Mutex<Vec<u8>>);

impl Sink for Capture {
    fn offer(&self, b: Bytes) -> Offer {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(&b);
        Offer::Taken
    }
}

#[derive(Debug, Default)]
struct Installs(Mutex<Vec<FibOp>>);

impl FibSink for Installs {
    fn offer(&self, op: FibOp) -> Result<(), FibOp> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(op);
        Ok(())
    }
}

/// The tracker of a replay: its answers are in the recording.
#[derive(Debug)]
struct Recorded;

impl Watcher for Recorded {
    fn watch(&self, _: Watch) {}
}

/// Replays a recording (its text, one event a line).
pub fn replay(text: &str) -> Result<Replayed, String> {
    let mut engine: Option<Engine> = None;
    let installs = Arc::new(Installs::default());
    let mut writers: BTreeMap<IpAddr, Arc<Capture>> = BTreeMap::new();
    let mut inputs = 0usize;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let e: Event =
            serde_json::from_str(line).map_err(|err| format!("line {}: {err}", n + 1))?;
        let at = |what: &str| format!("line {}: {what}", n + 1);
        if let Event::Start {
            local_as,
            router_id,
            cluster_id,
            tracking,
        } = e
        {
            let mut t = Engine::new(RibConfig {
                local_as: Asn(local_as),
                router_id,
                cluster_id,
            });
            if tracking {
                t.track_next_hops(Arc::new(Recorded));
            }
            t.set_fib(installs.clone());
            engine = Some(t);
            continue;
        }
        let t = engine.as_mut().ok_or_else(|| at("no start"))?;
        let input = match &e {
            Event::Start { .. } => continue,
            Event::Flush => {
                t.flush();
                continue;
            }
            Event::PeerUp {
                session,
                rx,
                out,
                vrf,
                addr,
                ..
            } => {
                let info = e.peer_info().ok_or_else(|| at("peer"))?;
                let out = out.as_ref().map(|o| PeerOut {
                    tx: writers.entry(*addr).or_default().clone(),
                    families: families(&o.families),
                    ctx: o.tx.ctx(),
                    local: o.local,
                    out: o.outbound(),
                });
                Input::PeerUp {
                    session: *session,
                    info,
                    ctx: rx.ctx(),
                    out,
                    vrf: vrf.clone(),
                    status: None,
                }
            }
            Event::Update {
                peer,
                session,
                body,
            } => Input::Update {
                peer: *peer,
                session: *session,
                body: unhex(body).ok_or_else(|| at("body"))?,
            },
            Event::PeerDown { peer, session } => Input::PeerDown {
                peer: *peer,
                session: *session,
            },
            Event::Settings { routing, scope } => {
                let routing = Arc::new(routing.routing().map_err(|err| at(&err))?);
                match scope {
                    None => Input::Settings(routing),
                    Some(s) => Input::Commit {
                        routing,
                        scope: s.scope(),
                    },
                }
            }
            Event::Refresh {
                peer,
                session,
                family: f,
                enhanced,
            } => Input::Refresh {
                peer: *peer,
                session: *session,
                family: family(*f),
                enhanced: *enhanced,
            },
            Event::PeerRestarting {
                peer,
                session,
                families: f,
            } => Input::PeerRestarting {
                peer: *peer,
                session: *session,
                families: families(f),
            },
            Event::RouteLimit {
                peer,
                family: f,
                full,
            } => Input::RouteLimit {
                peer: *peer,
                family: family(*f),
                full: *full,
            },
            Event::Defer { on } => Input::Defer(*on),
            Event::RtcWaitOver { peer, session } => Input::RtcWaitOver {
                peer: *peer,
                session: *session,
            },
            Event::Stale {
                peer,
                family: f,
                purge,
            } => {
                if *purge {
                    Input::PurgeStale {
                        peer: *peer,
                        family: family(*f),
                    }
                } else {
                    Input::Stale {
                        peer: *peer,
                        family: family(*f),
                    }
                }
            }
            Event::Resolved {
                next_hops,
                prefixes,
                igp,
            } => Input::Resolved(Resolution {
                next_hops: next_hops.clone(),
                prefixes: prefixes.clone(),
                igp: igp
                    .iter()
                    .map(|(prefix, protocol, route)| tern_engine::IgpRoute {
                        prefix: *prefix,
                        protocol: *protocol,
                        route: *route,
                    })
                    .collect(),
            }),
            Event::Readvertise {
                peer,
                reflect_client,
                next_hop_invariable,
                next_hop_local,
                advertise_community,
                advertise_ext_community,
                as_out,
                default_route,
                add_path,
            } => Input::Readvertise {
                peer: *peer,
                reflect_client: *reflect_client,
                out: tern_engine::Outbound {
                    next_hop_invariable: families(next_hop_invariable),
                    next_hop_local: families(next_hop_local),
                    advertise_community: families(advertise_community),
                    advertise_ext_community: families(advertise_ext_community),
                    as_out: as_out.rules(),
                    default_route: default_route
                        .iter()
                        .map(|(f, p)| (family(*f), p.clone()))
                        .collect(),
                    add_path: crate::record::add_path_counts(add_path),
                },
            },
        };
        inputs += 1;
        t.handle(input);
    }
    let mut t = engine.ok_or("empty recording")?;
    while t.flush() {}
    drop(t);
    let peers = writers
        .into_iter()
        .map(|(a, w)| {
            let b = std::mem::take(&mut *w.0.lock().unwrap_or_else(PoisonError::into_inner));
            (a, b)
        })
        .collect();
    let fib = std::mem::take(&mut *installs.0.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(Replayed { peers, fib, inputs })
}
