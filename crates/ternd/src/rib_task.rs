//! The RIB task: the daemon's runtime around the pure route engine ([`tern_engine::Engine`]):
//! one task owns the engine, feeds it its inputs and runs its output steps (DESIGN.md, "one
//! task owns all tables": no locks in the engine, every input a message, a deterministic
//! order).
//!
//! ```text
//!  connection task ×N ──PeerUp / Digest / PeerDown──▶ RIB task ──▶ Engine::handle
//!  control API ──Settings / Readvertise / Table / PeerRoutes──▶ │       Engine::flush ──▶ writers, installer
//!  writers, installer ──room (Notify)─────────────────────────▶ │       Engine::walk_step ──▶ display replies
//! ```
//!
//! - The input channel is bounded ([`QUEUE`]): a connection task waits when the RIB is behind,
//!   and TCP flow control then slows the peer, instead of memory growing.
//! - Inputs and output steps alternate: up to [`INPUT_BATCH`] queued inputs, then a step of
//!   output; no input is taken while a step's worth of output waits. When every queue the
//!   engine feeds is full, the task sleeps until a connection's writer or the installer takes
//!   work off its queue ([`WriterQueue::taken`]): it never polls.
//! - The engine's ports are implemented here over tokio: [`WriterQueue`] (a connection's
//!   writer queue as an Adj-RIB-Out sink), the installer's channel as the FIB sink, a oneshot
//!   as a display's reply, and a message to the counts task, which sums the shards' parts of
//!   a peer's received-route counts into its status.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use tern_engine::adjout as adj_out;
use tern_engine::{Engine, FibOp, Reply, Walked};
use tern_rib::RibConfig;
use tern_types::Family;
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::debug;

use crate::metrics::StepTimes;
use crate::record::Recorder;
use crate::spec::Routing;
use crate::status::SharedStatus;

pub use tern_engine::{
    Input as RibMsg, PeerOut, PeerRoutes, RouteRow, RouteTable, VRF_TABLE_BASE, WALK_STEP,
    rib_config,
};

/// Messages the RIB channel holds before senders wait.
pub const QUEUE: usize = 1024;

/// Inputs handled at most between two output steps.
const INPUT_BATCH: usize = 64;

/// While inputs are queued, a display or dump step runs once every this many batches.
const WALK_EVERY: u32 = 4;

/// The sender side the daemon hands out: one input channel per engine shard.
#[derive(Clone, Debug)]
pub struct RibHandle {
    txs: Vec<mpsc::Sender<RibMsg>>,
    room: Arc<Room>,
    recording: bool,
    /// To the task that shows received-route counts.
    counts: mpsc::UnboundedSender<CountsMsg>,
    /// Each shard's step timings ([`crate::metrics`]).
    steps: Arc<StepTimes>,
}

/// What wakes the RIB tasks when a queue they feed has room again: one [`Notify`] per shard,
/// all signalled by each connection's writer and by the installer when they take work off
/// their queues.
#[derive(Debug)]
pub struct Room(Vec<Notify>);

impl Room {
    /// The number of RIB tasks it wakes.
    pub fn shards(&self) -> usize {
        self.0.len()
    }

    /// The room of `shards` RIB tasks.
    pub fn new(shards: usize) -> Room {
        Room((0..shards.max(1)).map(|_| Notify::new()).collect())
    }

    /// A queue has room again: every RIB task that waits for one looks again.
    pub fn taken(&self) {
        for n in &self.0 {
            n.notify_one();
        }
    }

    fn of(&self, shard: usize) -> Option<&Notify> {
        self.0.get(shard)
    }
}

/// A connection's writer queue as the Adj-RIB-Out's sink. The writer task calls
/// [`Room::taken`] whenever it takes messages off the queue, which wakes the RIB tasks
/// waiting for room (they never poll). Fed by several engine shards, it lets End-of-RIB out
/// once every shard has sent the peer its initial table.
#[derive(Debug)]
pub struct WriterQueue {
    tx: mpsc::Sender<Bytes>,
    shards: usize,
    /// Shards that have sent their initial table, per family.
    tables_sent: std::sync::Mutex<std::collections::HashMap<Family, usize>>,
    /// Shards that have sent their part of a refresh, per family (back to 0 after the last).
    refreshes_sent: std::sync::Mutex<std::collections::HashMap<Family, usize>>,
}

impl WriterQueue {
    /// The sink of a writer queue fed by `shards` engines.
    pub fn sink(tx: mpsc::Sender<Bytes>, shards: usize) -> adj_out::Writer {
        Arc::new(WriterQueue {
            tx,
            shards: shards.max(1),
            tables_sent: std::sync::Mutex::default(),
            refreshes_sent: std::sync::Mutex::default(),
        })
    }
}

impl adj_out::Sink for WriterQueue {
    fn offer(&self, b: Bytes) -> adj_out::Offer {
        match self.tx.try_send(b) {
            Ok(()) => adj_out::Offer::Taken,
            Err(mpsc::error::TrySendError::Full(b)) => adj_out::Offer::Full(b),
            Err(mpsc::error::TrySendError::Closed(_)) => adj_out::Offer::Closed,
        }
    }

    fn end_of_rib_turn(&self, family: Family) -> bool {
        let mut sent = self
            .tables_sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = sent.entry(family).or_default();
        *n += 1;
        *n == self.shards
    }

    fn queued(&self) -> usize {
        self.tx.max_capacity().saturating_sub(self.tx.capacity())
    }

    fn end_of_refresh_turn(&self, family: Family) -> bool {
        let mut sent = self
            .refreshes_sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = sent.entry(family).or_default();
        *n += 1;
        if *n == self.shards {
            *n = 0;
            return true;
        }
        false
    }
}

static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// Numbers of the sessions whose counts the counts task sums.
static TALLIES: AtomicU64 = AtomicU64::new(1);

/// A new session number (unique in the process).
pub fn new_session() -> u64 {
    SESSIONS.fetch_add(1, Ordering::Relaxed)
}

impl RibHandle {
    /// What a connection's writer signals after taking messages off its queue.
    pub fn room(&self) -> Arc<Room> {
        self.room.clone()
    }

    /// The number of engine shards.
    pub fn shards(&self) -> usize {
        self.txs.len()
    }

    /// Inputs waiting in each shard's queue.
    pub fn input_queued(&self) -> Vec<usize> {
        self.txs
            .iter()
            .map(|t| t.max_capacity().saturating_sub(t.capacity()))
            .collect()
    }

    /// The shards' step timings.
    pub fn steps(&self) -> Arc<StepTimes> {
        self.steps.clone()
    }

    /// Every shard's counts for monitoring ([`tern_engine::EngineCounts`], answered without
    /// walking a table); `None` when a RIB task is gone.
    pub async fn census(&self) -> Option<Vec<tern_engine::EngineCounts>> {
        let mut rxs = Vec::with_capacity(self.txs.len());
        for t in &self.txs {
            let (tx, rx) = oneshot::channel();
            t.send(RibMsg::Metrics {
                reply: Box::new(CensusReply(tx)),
            })
            .await
            .ok()?;
            rxs.push(rx);
        }
        let mut out = Vec::with_capacity(rxs.len());
        for rx in rxs {
            out.push(rx.await.ok()?);
        }
        Some(out)
    }

    /// True when the engine's inputs are recorded: connection tasks then send UPDATE bodies
    /// ([`RibMsg::Update`]) rather than UPDATEs taken apart, so that the recording holds them.
    pub fn recording(&self) -> bool {
        self.recording
    }

    async fn send_to(&self, shard: usize, m: RibMsg) {
        let Some(tx) = self.txs.get(shard) else {
            return;
        };
        if tx.send(m).await.is_err() {
            debug!("RIB task gone");
        }
    }

    /// Sends a message to the engine shards it concerns, waiting while a queue is full. A
    /// gone RIB task (daemon exit) is ignored. An UPDATE is split by prefix owner; session
    /// events and settings go to every shard. A session that reports received-route counts
    /// comes up through [`RibHandle::peer_up`] (each shard reports its part); a display asks
    /// through [`RibHandle::table`] or [`RibHandle::peer_routes`].
    pub async fn send(&self, m: RibMsg) {
        let n = self.txs.len();
        if n <= 1 {
            self.send_to(0, m).await;
            return;
        }
        match m {
            RibMsg::Digest {
                peer,
                session,
                digest,
            } => {
                for (i, part) in tern_engine::shard::split(*digest, n)
                    .into_iter()
                    .enumerate()
                {
                    if let Some(d) = part {
                        self.send_to(
                            i,
                            RibMsg::Digest {
                                peer,
                                session,
                                digest: Box::new(d),
                            },
                        )
                        .await;
                    }
                }
            }
            RibMsg::PeerUp {
                session,
                info,
                ctx,
                out,
                vrf,
                status,
            } => {
                for i in 0..n {
                    let m = RibMsg::PeerUp {
                        session,
                        info,
                        ctx,
                        out: out.clone(),
                        vrf: vrf.clone(),
                        status: status.clone(),
                    };
                    self.send_to(i, m).await;
                }
            }
            m => {
                for i in 0..n {
                    if let Some(c) = copy(&m) {
                        self.send_to(i, c).await;
                    }
                }
            }
        }
    }

    /// A session reached Established: every shard learns of it, each reporting its part of
    /// the peer's received-route counts, summed into `status`.
    #[allow(clippy::too_many_arguments)]
    pub async fn peer_up(
        &self,
        session: u64,
        info: tern_rib::PeerInfo,
        ctx: tern_wire::Ctx,
        out: Option<PeerOut>,
        vrf: Option<String>,
        status: &SharedStatus,
    ) {
        let tally = TALLIES.fetch_add(1, Ordering::Relaxed);
        let _ = self.counts.send(CountsMsg::Open {
            tally,
            status: status.clone(),
            shards: self.txs.len(),
        });
        for i in 0..self.txs.len() {
            let counts: Arc<dyn tern_engine::Counts> = Arc::new(StatusCounts {
                tx: self.counts.clone(),
                tally,
                shard: i,
            });
            let m = RibMsg::PeerUp {
                session,
                info,
                ctx,
                out: out.clone(),
                vrf: vrf.clone(),
                status: Some(counts),
            };
            self.send_to(i, m).await;
        }
    }

    /// Sends a display's request to one shard; false when the RIB task is gone.
    pub async fn ask(&self, shard: usize, m: RibMsg) -> bool {
        match self.txs.get(shard) {
            Some(tx) => tx.send(m).await.is_ok(),
            None => false,
        }
    }

    /// Asks every shard with `ask` and gathers their answers; `None` when one is missing
    /// (RIB task gone, instance or peer unknown).
    async fn gather(&self, ask: impl Fn(Box<dyn Reply>) -> RibMsg) -> Option<RouteTable> {
        let mut rxs = Vec::with_capacity(self.txs.len());
        for i in 0..self.txs.len() {
            let (tx, rx) = oneshot::channel();
            self.txs
                .get(i)?
                .send(ask(Box::new(DisplayReply(tx))))
                .await
                .ok()?;
            rxs.push(rx);
        }
        let mut parts = Vec::with_capacity(rxs.len());
        for rx in rxs {
            parts.push(rx.await.ok()?);
        }
        // Sorting a large table takes a while: not on a runtime worker.
        tokio::task::spawn_blocking(move || merge(parts).into_table())
            .await
            .ok()
    }

    /// One peer's routes; `None` when the RIB task is gone or the peer is not up.
    pub async fn peer_routes(
        &self,
        peer: IpAddr,
        family: Family,
        which: PeerRoutes,
    ) -> Option<RouteTable> {
        self.gather(|reply| RibMsg::PeerRoutes {
            peer,
            family,
            which,
            reply,
        })
        .await
    }

    /// A snapshot of `family`'s table (of VPN instance `vrf`); `None` when the RIB task is
    /// gone, or the instance does not exist.
    pub async fn table(
        &self,
        vrf: Option<String>,
        family: Family,
        label: bool,
    ) -> Option<RouteTable> {
        self.lookup(vrf, family, label, None).await
    }

    /// Starts a dump of the public tables of `families` on every shard (MRT, see
    /// [`crate::mrt`]): the steps arrive on the returned channel, which closes when every
    /// shard is done (the count of shards done is in the [`DumpSteps`]). The reader calls
    /// [`Room::taken`] after each step it takes: a shard whose step found no room waits for
    /// that.
    pub async fn dump(&self, families: Vec<Family>) -> DumpSteps {
        let (tx, rx) = mpsc::channel(2 * self.txs.len().max(1));
        let done = Arc::new(AtomicU64::new(0));
        for t in &self.txs {
            let sink = DumpQueue {
                tx: tx.clone(),
                done: done.clone(),
            };
            let _ = t
                .send(RibMsg::Dump {
                    families: families.clone(),
                    sink: Box::new(sink),
                })
                .await;
        }
        DumpSteps {
            rx,
            done,
            shards: self.txs.len(),
            room: self.room.clone(),
        }
    }

    /// Like [`RibHandle::table`]; with `lookup`, only the destinations holding that address,
    /// with the rows of the detailed view.
    pub async fn lookup(
        &self,
        vrf: Option<String>,
        family: Family,
        label: bool,
        lookup: Option<IpAddr>,
    ) -> Option<RouteTable> {
        self.gather(|reply| RibMsg::Table {
            vrf: vrf.clone(),
            family,
            label,
            lookup,
            reply,
        })
        .await
    }
}

/// A copy of an input that every shard gets (session events, settings).
fn copy(m: &RibMsg) -> Option<RibMsg> {
    Some(match m {
        RibMsg::PeerDown { peer, session } => RibMsg::PeerDown {
            peer: *peer,
            session: *session,
        },
        RibMsg::Settings(r) => RibMsg::Settings(r.clone()),
        RibMsg::Commit { routing, scope } => RibMsg::Commit {
            routing: routing.clone(),
            scope: scope.clone(),
        },
        RibMsg::Resolved(r) => RibMsg::Resolved(r.clone()),
        RibMsg::Defer(on) => RibMsg::Defer(*on),
        RibMsg::RtcWaitOver { peer, session } => RibMsg::RtcWaitOver {
            peer: *peer,
            session: *session,
        },
        RibMsg::Refresh {
            peer,
            session,
            family,
            enhanced,
        } => RibMsg::Refresh {
            peer: *peer,
            session: *session,
            family: *family,
            enhanced: *enhanced,
        },
        RibMsg::PeerRestarting {
            peer,
            session,
            families,
        } => RibMsg::PeerRestarting {
            peer: *peer,
            session: *session,
            families: families.clone(),
        },
        RibMsg::RouteLimit { peer, family, full } => RibMsg::RouteLimit {
            peer: *peer,
            family: *family,
            full: *full,
        },
        RibMsg::Stale { peer, family } => RibMsg::Stale {
            peer: *peer,
            family: *family,
        },
        RibMsg::PurgeStale { peer, family } => RibMsg::PurgeStale {
            peer: *peer,
            family: *family,
        },
        RibMsg::Readvertise {
            peer,
            reflect_client,
            out,
        } => RibMsg::Readvertise {
            peer: *peer,
            reflect_client: *reflect_client,
            out: out.clone(),
        },
        RibMsg::Update {
            peer,
            session,
            body,
        } => RibMsg::Update {
            peer: *peer,
            session: *session,
            body: body.clone(),
        },
        RibMsg::PeerUp { .. }
        | RibMsg::Digest { .. }
        | RibMsg::Table { .. }
        | RibMsg::PeerRoutes { .. }
        | RibMsg::Keys { .. }
        | RibMsg::Rows { .. }
        | RibMsg::Stats { .. }
        | RibMsg::Groups { .. }
        | RibMsg::Metrics { .. }
        | RibMsg::Dump { .. } => return None,
        RibMsg::LocRib(m) => RibMsg::LocRib(m.clone()),
    })
}

/// The shards' answers to one display as one: rows built at once (label tables, advertised
/// routes) are put back in order, destinations walked are sorted by [`Walked::into_table`].
fn merge(mut parts: Vec<Walked>) -> Walked {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_else(|| Walked {
            table: empty_table(),
            dests: Vec::new(),
            keys: Vec::new(),
            paths: 0,
            stats: Default::default(),
            groups: Vec::new(),
        });
    }
    let mut it = parts.into_iter();
    let Some(mut w) = it.next() else {
        return Walked {
            table: empty_table(),
            dests: Vec::new(),
            keys: Vec::new(),
            paths: 0,
            stats: Default::default(),
            groups: Vec::new(),
        };
    };
    for p in it {
        w.table.destinations = w.table.destinations.saturating_add(p.table.destinations);
        w.table.routes.extend(p.table.routes);
        w.dests.extend(p.dests);
    }
    w.table
        .routes
        .sort_by(|a, b| (&a.rd, a.network, a.prefix_len).cmp(&(&b.rd, b.network, b.prefix_len)));
    w
}

fn empty_table() -> RouteTable {
    RouteTable {
        router_id: std::net::Ipv4Addr::UNSPECIFIED,
        local_as: 0,
        vrf: None,
        family: String::new(),
        destinations: 0,
        routes: Vec::new(),
    }
}

/// Starts the RIB tasks on the current runtime: `shards` engines (at least one; one when
/// recording), each owning the destinations whose prefix hashes to it
/// ([`tern_engine::shard`]). `room` is what the installer and each connection's writer
/// signal when they take work off their queues.
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    config: RibConfig,
    routing: Arc<Routing>,
    tracker: Option<Arc<dyn tern_engine::Watcher>>,
    fib: Option<mpsc::Sender<FibOp>>,
    room: Arc<Room>,
    mut recorder: Option<Recorder>,
    shards: usize,
) -> RibHandle {
    let recording = recorder.is_some();
    let count = if recording { 1 } else { shards.max(1) };
    let installer = fib.map(|f| Arc::new(Installer(f)));
    let steps = Arc::new(StepTimes::new(count));
    let mut txs = Vec::with_capacity(count);
    for index in 0..count {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut t = Engine::sharded(config, tern_engine::Shard { index, count });
        if let Some(w) = &tracker {
            t.track_next_hops(w.clone());
        }
        if let Some(fib) = &installer {
            t.set_fib(fib.clone());
        }
        let first = RibMsg::Settings(routing.clone());
        let mut rec = if index == 0 { recorder.take() } else { None };
        if let Some(r) = rec.as_mut() {
            r.input(&first);
        }
        t.handle(first);
        tokio::spawn(run(t, rx, room.clone(), index, rec, steps.clone()));
        txs.push(tx);
    }
    let (counts, counts_rx) = mpsc::unbounded_channel();
    tokio::spawn(counts_task(counts_rx));
    RibHandle {
        txs,
        room,
        recording,
        counts,
        steps,
    }
}

async fn run(
    mut t: Engine,
    mut rx: mpsc::Receiver<RibMsg>,
    room: Arc<Room>,
    shard: usize,
    mut rec: Option<Recorder>,
    steps: Arc<StepTimes>,
) {
    let (Some(notify), Some(times)) = (room.of(shard), steps.shard(shard)) else {
        return;
    };
    use tokio::sync::mpsc::error::TryRecvError;
    // Batches of inputs handled since the last walk or dump step.
    let mut held_walks = 0u32;
    loop {
        // Inputs and output alternate: a step of output after every batch of inputs, so a flood of
        // UPDATEs never starves the peers, and waiting writers never stall the inputs (the
        // Adj-RIB-Out keeps only dirty destinations, see [`tern_engine::adjout`]).
        let began = Instant::now();
        let mut progressed = t.flush();
        if progressed && let Some(r) = rec.as_mut() {
            r.flushed();
        }
        // Displays are built a step at a time between inputs (see [`Engine::walk_step`]), and
        // so are RIB dumps (see [`Engine::dump_step`]; one whose writer has no room waits for
        // it to take a step, it signals `room`). While inputs are queued, route processing
        // goes first: a walk or dump step every WALK_EVERY batches only, so displays and
        // dumps still end under a constant flow of UPDATEs.
        if rx.is_empty() || held_walks >= WALK_EVERY {
            held_walks = 0;
            progressed |= t.walk_step();
            progressed |= t.dump_step();
        } else if t.walking() || t.dumping() {
            held_walks += 1;
        }
        if progressed {
            times.output.observe(began.elapsed());
        }
        // Nothing waiting (neither output nor kernel operations nor displays): sleep until an
        // input arrives. Kernel operations the installer had no room for count as waiting, so
        // they go out when it takes work off its queue rather than at the next input.
        let m = if !t.has_work() && !t.walking() && !t.dumping() {
            if let Some(r) = rec.as_mut() {
                r.sync();
            }
            match rx.recv().await {
                Some(m) => m,
                None => break,
            }
        } else if progressed {
            match rx.try_recv() {
                Ok(m) => m,
                Err(TryRecvError::Empty) => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
            }
        } else {
            // Every writer with work is full (or the installer is): wait for input, or for a
            // writer or the installer to take messages off its queue.
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => break,
                },
                () = notify.notified() => continue,
            }
        };
        if let Some(r) = rec.as_mut() {
            r.input(&m);
        }
        let began = Instant::now();
        let mut handled = 1u64;
        let is_update = |m: &RibMsg| matches!(m, RibMsg::Digest { .. } | RibMsg::Update { .. });
        let mut updates = u64::from(is_update(&m));
        t.handle(m);
        // Inputs already queued are taken together (up to INPUT_BATCH) before the next output
        // step: the step's cost is shared by more destinations, and the UPDATEs of a burst
        // leave in fewer, fuller writes.
        for _ in 1..INPUT_BATCH {
            if t.pending_output() >= adj_out::BATCH {
                // A step's worth of output is waiting: more input would only grow the dirty
                // set (withdrawals arrive hundreds to an UPDATE).
                break;
            }
            match rx.try_recv() {
                Ok(m) => {
                    if let Some(r) = rec.as_mut() {
                        r.input(&m);
                    }
                    handled += 1;
                    updates += u64::from(is_update(&m));
                    t.handle(m)
                }
                Err(_) => break,
            }
        }
        times.input.observe(began.elapsed());
        times.updates.fetch_add(updates, Ordering::Relaxed);
        times.inputs.fetch_add(handled, Ordering::Relaxed);
    }
}

/// The installer's queue as the engine's FIB sink.
#[derive(Debug)]
pub struct Installer(pub mpsc::Sender<FibOp>);

impl tern_engine::FibSink for Installer {
    fn offer(&self, op: FibOp) -> Result<(), FibOp> {
        self.0.try_send(op).map_err(|e| match e {
            mpsc::error::TrySendError::Full(op) | mpsc::error::TrySendError::Closed(op) => op,
        })
    }
}

/// The steps of a RIB dump, from every shard.
#[derive(Debug)]
pub struct DumpSteps {
    /// The steps; closed when every shard has finished (or is gone).
    pub rx: mpsc::Receiver<Vec<tern_engine::DumpDest>>,
    /// Shards that walked every family.
    pub done: Arc<AtomicU64>,
    /// The number of shards.
    pub shards: usize,
    /// What to signal after taking a step.
    pub room: Arc<Room>,
}

impl DumpSteps {
    /// True when every shard walked its tables to the end.
    pub fn complete(&self) -> bool {
        usize::try_from(self.done.load(Ordering::SeqCst)).unwrap_or(0) == self.shards
    }
}

/// A dump's channel as the engine's dump sink.
#[derive(Debug)]
struct DumpQueue {
    tx: mpsc::Sender<Vec<tern_engine::DumpDest>>,
    done: Arc<AtomicU64>,
}

impl tern_engine::DumpSink for DumpQueue {
    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    fn offer(&self, step: Vec<tern_engine::DumpDest>) -> Result<(), Vec<tern_engine::DumpDest>> {
        match self.tx.try_send(step) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(s) | mpsc::error::TrySendError::Closed(s)) => {
                Err(s)
            }
        }
    }

    fn done(self: Box<Self>) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

/// A scrape's oneshot as the engine's counts reply.
#[derive(Debug)]
struct CensusReply(oneshot::Sender<tern_engine::EngineCounts>);

impl tern_engine::CountsReply for CensusReply {
    fn send(self: Box<Self>, counts: tern_engine::EngineCounts) {
        let _ = self.0.send(counts);
    }
}

/// A display's oneshot as the engine's reply.
#[derive(Debug)]
struct DisplayReply(oneshot::Sender<Walked>);

impl Reply for DisplayReply {
    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    fn send(self: Box<Self>, w: Walked) {
        let _ = self.0.send(w);
    }
}

/// One shard's part of a peer's received-route counts, reported by message to the task that
/// shows them ([`counts_task`]): the engine never touches the peer's status.
#[derive(Debug)]
struct StatusCounts {
    tx: mpsc::UnboundedSender<CountsMsg>,
    tally: u64,
    shard: usize,
}

/// What the counts task is told.
#[derive(Debug)]
enum CountsMsg {
    /// A session came up on `shards` shards; its counts are shown in `status`.
    Open {
        tally: u64,
        status: SharedStatus,
        shards: usize,
    },
    /// A shard's part now.
    Part {
        tally: u64,
        shard: usize,
        counts: std::collections::BTreeMap<String, u64>,
    },
    /// A shard forgot the session.
    Close { tally: u64 },
}

impl tern_engine::Counts for StatusCounts {
    fn received(&self, counts: std::collections::BTreeMap<String, u64>) {
        let _ = self.tx.send(CountsMsg::Part {
            tally: self.tally,
            shard: self.shard,
            counts,
        });
    }
}

impl Drop for StatusCounts {
    fn drop(&mut self) {
        let _ = self.tx.send(CountsMsg::Close { tally: self.tally });
    }
}

/// Sums the shards' parts of each session's received-route counts into the peer's status.
async fn counts_task(mut rx: mpsc::UnboundedReceiver<CountsMsg>) {
    struct Tally {
        status: SharedStatus,
        parts: Vec<std::collections::BTreeMap<String, u64>>,
        open: usize,
    }
    let mut tallies: std::collections::HashMap<u64, Tally> = std::collections::HashMap::new();
    while let Some(m) = rx.recv().await {
        match m {
            CountsMsg::Open {
                tally,
                status,
                shards,
            } => {
                tallies.insert(
                    tally,
                    Tally {
                        status,
                        parts: vec![std::collections::BTreeMap::new(); shards],
                        open: shards,
                    },
                );
            }
            CountsMsg::Part {
                tally,
                shard,
                counts,
            } => {
                let Some(t) = tallies.get_mut(&tally) else {
                    continue;
                };
                if let Some(p) = t.parts.get_mut(shard) {
                    *p = counts;
                }
                let mut sum = std::collections::BTreeMap::new();
                for p in &t.parts {
                    for (f, n) in p {
                        *sum.entry(f.clone()).or_insert(0u64) += n;
                    }
                }
                crate::status::lock(&t.status).prefixes = sum;
            }
            CountsMsg::Close { tally } => {
                if let Some(t) = tallies.get_mut(&tally) {
                    t.open = t.open.saturating_sub(1);
                    if t.open == 0 {
                        tallies.remove(&tally);
                    }
                }
            }
        }
    }
}

/// The RIB's configuration for a resolved daemon configuration.
pub fn rib_config_of(cfg: &crate::spec::DaemonConfig) -> RibConfig {
    RibConfig {
        cluster_id: cfg.routing.cluster_id,
        ..rib_config(cfg.local_as, cfg.router_id)
    }
}
