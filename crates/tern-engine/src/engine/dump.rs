//! RIB dumps (for MRT TABLE_DUMP_V2, RFC 6396 §4.3): the public tables of some families
//! walked [`DUMP_STEP`] destinations at a time between inputs, like a display
//! ([`Engine::walk_step`]), each step handed to a [`DumpSink`] as destinations with their
//! accepted paths (attributes after import policy, as the routing table shows them). A sink
//! with no room holds the walk where it is (the step is offered again at the next output
//! step): a dump of any size holds at most a step per shard in memory, and never holds route
//! processing.

use super::*;

/// Destinations a dump step reads.
pub const DUMP_STEP: usize = 1024;

/// One path of a dumped destination.
#[derive(Clone, Debug)]
pub struct DumpPath {
    /// The peer it came from ([`PeerInfo::local`] for locally originated routes).
    pub peer: PeerInfo,
    /// Its attributes after import policy.
    pub attrs: PathAttrs,
    /// Its labels (labeled and VPN families).
    pub labels: LabelStack,
    /// Selected as best.
    pub best: bool,
    /// The ADD-PATH path ID it was received with (0 without ADD-PATH).
    pub path_id: u32,
}

/// One dumped destination.
#[derive(Clone, Debug)]
pub struct DumpDest {
    /// The family.
    pub family: Family,
    /// The destination.
    pub key: RouteKey,
    /// Its accepted paths, the best first.
    pub paths: Vec<DumpPath>,
}

/// Where a dump's steps go.
pub trait DumpSink: Send + std::fmt::Debug {
    /// True when nobody waits for the dump any more (the walk stops).
    fn is_closed(&self) -> bool;
    /// Takes one step's destinations, or hands them back when there is no room now.
    fn offer(&self, step: Vec<DumpDest>) -> Result<(), Vec<DumpDest>>;
    /// Every family has been walked.
    fn done(self: Box<Self>);
}

/// A dump being walked.
pub(super) struct Dump {
    families: Vec<Family>,
    /// Position in `families`.
    at: usize,
    /// Where the next step starts ([`Rib::walk`]).
    cursor: usize,
    /// A step the sink had no room for.
    pending: Option<Vec<DumpDest>>,
    sink: Box<dyn DumpSink>,
}

impl Engine {
    /// Queues a dump of the public tables of `families`.
    pub(super) fn start_dump(&mut self, families: Vec<Family>, sink: Box<dyn DumpSink>) {
        self.dumps.push_back(Dump {
            families,
            at: 0,
            cursor: 0,
            pending: None,
            sink,
        });
    }

    /// True while a dump is being walked.
    pub fn dumping(&self) -> bool {
        !self.dumps.is_empty()
    }

    /// One step of the first dump waiting: its pending step offered again, or the next
    /// [`DUMP_STEP`] destinations read and offered. Returns true when a step went to a sink
    /// (or a dump ended); false when there was none or its sink had no room.
    pub fn dump_step(&mut self) -> bool {
        let Some(mut d) = self.dumps.pop_front() else {
            return false;
        };
        if d.sink.is_closed() {
            return true;
        }
        let step = match d.pending.take() {
            Some(s) => s,
            None => {
                let Some(&family) = d.families.get(d.at) else {
                    d.sink.done();
                    return true;
                };
                let mut paths = Vec::new();
                let next = self.rib.walk(family, d.cursor, DUMP_STEP, &mut paths);
                match next {
                    Some(c) => d.cursor = c,
                    None => {
                        d.at = d.at.saturating_add(1);
                        d.cursor = 0;
                    }
                }
                let local =
                    PeerInfo::local(self.rib.config().router_id, self.rib.config().local_as);
                let mut step = Vec::with_capacity(paths.len());
                for (key, mut ps) in paths {
                    ps.retain(|p| p.attrs.is_some());
                    if ps.is_empty() {
                        continue;
                    }
                    ps.sort_by_key(|p| (!p.best, p.peer, p.path_id));
                    let paths = ps
                        .iter()
                        .map(|p| DumpPath {
                            peer: if p.peer == PeerId::LOCAL {
                                local
                            } else {
                                self.rib.peer(p.peer).copied().unwrap_or(local)
                            },
                            attrs: self.rib.attrs(p.attrs),
                            labels: p.labels,
                            best: p.best,
                            path_id: p.path_id,
                        })
                        .collect();
                    step.push(DumpDest { family, key, paths });
                }
                step
            }
        };
        let sent = if step.is_empty() {
            true
        } else {
            match d.sink.offer(step) {
                Ok(()) => true,
                Err(back) => {
                    d.pending = Some(back);
                    false
                }
            }
        };
        if d.pending.is_none() && d.at >= d.families.len() {
            d.sink.done();
            return true;
        }
        if sent {
            self.dumps.push_back(d);
        } else {
            // No room: the dump waits at the front for the sink to take its step.
            self.dumps.push_front(d);
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A sink with room for `room` steps at a time.
    #[derive(Debug, Default)]
    struct Taken {
        steps: Mutex<Vec<Vec<DumpDest>>>,
        room: Mutex<usize>,
        done: AtomicBool,
    }

    #[derive(Debug)]
    struct Sink(Arc<Taken>);

    impl DumpSink for Sink {
        fn is_closed(&self) -> bool {
            false
        }
        fn offer(&self, step: Vec<DumpDest>) -> Result<(), Vec<DumpDest>> {
            let mut room = self.0.room.lock().unwrap();
            if *room == 0 {
                return Err(step);
            }
            *room -= 1;
            self.0.steps.lock().unwrap().push(step);
            Ok(())
        }
        fn done(self: Box<Self>) {
            self.0.done.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_dump_walks_in_steps_and_waits_for_room() {
        let mut t = super::super::tests::task();
        super::super::tests::up(&mut t, 1);
        let n = u32::try_from(2 * DUMP_STEP + 5).unwrap();
        for i in 0..n {
            super::super::tests::announce_v4(&mut t, i);
        }
        let taken = Arc::new(Taken::default());
        t.handle(Input::Dump {
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            sink: Box::new(Sink(taken.clone())),
        });
        assert!(t.dumping());
        // No room: nothing is read past the first step, the dump waits.
        assert!(!t.dump_step());
        assert!(!t.dump_step());
        assert!(t.dumping());
        assert!(taken.steps.lock().unwrap().is_empty());
        *taken.room.lock().unwrap() = 100;
        let mut steps = 0;
        while t.dumping() {
            assert!(t.dump_step());
            steps += 1;
            assert!(steps < 10);
        }
        assert!(taken.done.load(Ordering::SeqCst));
        let got = taken.steps.lock().unwrap();
        assert_eq!(got.len(), 3, "three steps of IPv4, an empty IPv6 table");
        let dests: Vec<&DumpDest> = got.iter().flatten().collect();
        assert_eq!(dests.len(), usize::try_from(n).unwrap());
        let d = dests[0];
        assert_eq!(d.family, Family::IPV4_UNICAST);
        assert_eq!(d.paths.len(), 1);
        assert!(d.paths[0].best);
        assert_eq!(d.paths[0].peer.addr, tests_peer());
        assert_eq!(
            d.paths[0].attrs.next_hop,
            NextHop::Ipv4("10.0.0.2".parse().unwrap())
        );
    }

    fn tests_peer() -> IpAddr {
        super::super::tests::PEER.parse().unwrap()
    }
}
