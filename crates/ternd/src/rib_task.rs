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
//!   as a display's reply, the peer status as the received-route counts' destination.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tern_engine::adjout as adj_out;
use tern_engine::{Engine, FibOp, Reply, Walked};
use tern_rib::RibConfig;
use tern_types::Family;
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::debug;

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

/// The sender side the daemon hands out.
#[derive(Clone, Debug)]
pub struct RibHandle {
    tx: mpsc::Sender<RibMsg>,
    room: Arc<Notify>,
    recording: bool,
}

/// A connection's writer queue as the Adj-RIB-Out's sink. The writer task calls
/// [`WriterQueue::taken`] whenever it takes messages off the queue, which wakes the RIB task
/// if it waits for room (it never polls).
#[derive(Debug)]
pub struct WriterQueue {
    tx: mpsc::Sender<Bytes>,
}

impl WriterQueue {
    /// The sink of a writer queue.
    pub fn sink(tx: mpsc::Sender<Bytes>) -> adj_out::Writer {
        Arc::new(WriterQueue { tx })
    }

    /// Tells the RIB task that a writer queue has room again.
    pub fn taken(room: &Notify) {
        room.notify_one();
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
}

static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// A new session number (unique in the process).
pub fn new_session() -> u64 {
    SESSIONS.fetch_add(1, Ordering::Relaxed)
}

impl RibHandle {
    /// What a connection's writer signals after taking messages off its queue (see
    /// [`WriterQueue`]).
    pub fn room(&self) -> Arc<Notify> {
        self.room.clone()
    }

    /// True when the engine's inputs are recorded: connection tasks then send UPDATE bodies
    /// ([`RibMsg::Update`]) rather than UPDATEs taken apart, so that the recording holds them.
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Sends a message, waiting while the queue is full. A gone RIB task (daemon exit) is
    /// ignored.
    pub async fn send(&self, m: RibMsg) {
        if self.tx.send(m).await.is_err() {
            debug!("RIB task gone");
        }
    }

    /// One peer's routes; `None` when the RIB task is gone or the peer is not up.
    pub async fn peer_routes(
        &self,
        peer: IpAddr,
        family: Family,
        which: PeerRoutes,
    ) -> Option<RouteTable> {
        let (tx, rx) = oneshot::channel();
        let reply: Box<dyn Reply> = Box::new(DisplayReply(tx));
        self.tx
            .send(RibMsg::PeerRoutes {
                peer,
                family,
                which,
                reply,
            })
            .await
            .ok()?;
        let walked = rx.await.ok()?;
        tokio::task::spawn_blocking(move || walked.into_table())
            .await
            .ok()
    }

    /// A snapshot of `family`'s table (of VPN instance `vrf`); `None` when the RIB task is
    /// gone, or the instance does not exist.
    pub async fn table(
        &self,
        vrf: Option<String>,
        family: Family,
        label: bool,
    ) -> Option<RouteTable> {
        let (tx, rx) = oneshot::channel();
        let reply: Box<dyn Reply> = Box::new(DisplayReply(tx));
        self.tx
            .send(RibMsg::Table {
                vrf,
                family,
                label,
                reply,
            })
            .await
            .ok()?;
        let walked = rx.await.ok()?;
        // Sorting a large table takes a while: not on a runtime worker.
        tokio::task::spawn_blocking(move || walked.into_table())
            .await
            .ok()
    }
}

/// Starts the RIB task on the current runtime. `room` is what the installer (and each
/// connection's writer, [`RibHandle::room`]) signals when it takes work off its queue.
pub fn spawn(
    config: RibConfig,
    routing: Arc<Routing>,
    next_hops: Arc<dyn tern_engine::NextHops>,
    fib: Option<mpsc::Sender<FibOp>>,
    room: Arc<Notify>,
    mut recorder: Option<Recorder>,
) -> RibHandle {
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut t = Engine::new(config);
    t.set_next_hops(next_hops);
    if let Some(fib) = fib {
        t.set_fib(Arc::new(Installer(fib)));
    }
    let first = RibMsg::Settings(routing);
    if let Some(r) = recorder.as_mut() {
        r.input(&first);
    }
    t.handle(first);
    let recording = recorder.is_some();
    tokio::spawn(run(t, rx, room.clone(), recorder));
    RibHandle {
        tx,
        room,
        recording,
    }
}

async fn run(
    mut t: Engine,
    mut rx: mpsc::Receiver<RibMsg>,
    room: Arc<Notify>,
    mut rec: Option<Recorder>,
) {
    use tokio::sync::mpsc::error::TryRecvError;
    loop {
        // Inputs and output alternate: a step of output after every batch of inputs, so a flood of
        // UPDATEs never starves the peers, and waiting writers never stall the inputs (the
        // Adj-RIB-Out keeps only dirty destinations, see [`tern_engine::adjout`]).
        let mut progressed = t.flush();
        if progressed && let Some(r) = rec.as_mut() {
            r.flushed();
        }
        // Displays are built a step at a time between inputs (see [`Engine::walk_step`]).
        progressed |= t.walk_step();
        let m = if !t.output_waiting() && !t.walking() {
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
                () = room.notified() => continue,
            }
        };
        if let Some(r) = rec.as_mut() {
            r.input(&m);
        }
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
                    t.handle(m)
                }
                Err(_) => break,
            }
        }
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

/// A peer's status as the place its received-route counts are shown.
#[derive(Debug)]
pub struct StatusCounts(pub SharedStatus);

impl StatusCounts {
    /// The counts' destination for a peer's status.
    pub fn of(status: &SharedStatus) -> Arc<dyn tern_engine::Counts> {
        Arc::new(StatusCounts(status.clone()))
    }
}

impl tern_engine::Counts for StatusCounts {
    fn received(&self, counts: std::collections::BTreeMap<String, u64>) {
        crate::status::lock(&self.0).prefixes = counts;
    }
}

/// The RIB's configuration for a resolved daemon configuration.
pub fn rib_config_of(cfg: &crate::spec::DaemonConfig) -> RibConfig {
    RibConfig {
        cluster_id: cfg.routing.cluster_id,
        ..rib_config(cfg.local_as, cfg.router_id)
    }
}
