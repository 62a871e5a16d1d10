//! The daemon's side of the kernel: next-hop resolution and route installation (tern-fib).
//!
//! - Resolution (RFC 4271 §9.1.2.1): a route's next hop must be reachable through the kernel's
//!   main table (interfaces' connected routes, static routes, the lab's IGP stand-in, and the
//!   BGP routes tern itself installed, so a VPN next hop resolves through a labeled route as
//!   in option C); the metric of the resolving route is the IGP cost of the decision process.
//!   An unreachable next hop makes the route ineligible. The snapshot is kept current from the
//!   kernel's notifications. The route engine does not read it: it asks the tracker
//!   ([`Tracker`]) to follow the next hops (and `network` prefixes) its routes use, and the
//!   tracker answers by message ([`tern_engine::Resolution`]) when first asked and, after a
//!   burst of kernel changes has been coalesced, for every followed one whose answer changed.
//! - Installation: the best IPv4/IPv6 unicast and labeled-unicast routes learned from peers
//!   go into the main table (a VPN instance's into its own) with tern's protocol number, via
//!   the address that forwards to their next hop; they are replaced on change and removed on
//!   withdrawal. The installer takes what is queued at once and hands it to the kernel as a
//!   batch ([`tern_fib::Fib::apply`]); a route the kernel refuses fails alone.
//! - Restart: tern's routes an earlier run left in the tables are taken over, not flushed
//!   ([`tern_fib::Reconciler`]): a best route already there as it should be is not written
//!   again, so forwarding has no gap, and the ones not installed again are removed at the end
//!   of the initial convergence ([`FibOp::Reconcile`], see [`crate::restart`]). A clean
//!   shutdown removes tern's routes, unless they are to be kept for the next start
//!   ([`Kernel::keep_routes`]). The kernel here has no MPLS forwarding: labels stay in the RIB
//!   and the displays (tern-fib reports it once).
//! - IGP routes (`import-route ospf|isis|rip`): the routes of the kernel protocols isis (187),
//!   ospf (188) and rip (189) in the main table are reported to the engines as they change
//!   ([`tern_engine::IgpRoute`]): all of them once the table is read, then the prefixes a
//!   burst of changes touched (every one after the table is read again).
//! - Without access to the kernel (not root, no netlink) every next hop counts as reachable at
//!   cost 0 and nothing is installed; the log says so.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ipnet::IpNet;
use tern_engine::{Resolution, Watch, Watcher};
use tern_fib::{
    Fib, FibEvent, FibRoute, KernelRoutes, MAIN_TABLE, MultipathRoute, PROTO_TERN, Reconciler,
    RouteOp,
};
use tokio::sync::{Notify, mpsc};
use tracing::{debug, info, warn};

use crate::rib_task::{RibHandle, RibMsg, Room};

/// How next hops are resolved.
#[derive(Clone, Debug, Default)]
pub enum Resolver {
    /// Every next hop reachable at cost 0 (no kernel access, tests).
    #[default]
    All,
    /// Through a snapshot of the kernel's main table.
    Kernel(Arc<RwLock<KernelRoutes>>),
}

impl Resolver {
    /// The forwarding address toward `next_hop` (the next hop itself when it is on a connected
    /// network) and the interface, `None` when it cannot be reached.
    pub fn forwarding(&self, next_hop: IpAddr) -> Option<(IpAddr, Option<u32>)> {
        match self {
            Resolver::All => Some((next_hop, None)),
            Resolver::Kernel(k) => {
                let nh = unmap(next_hop);
                let k = k.read().unwrap_or_else(PoisonError::into_inner);
                k.resolve(nh, None)
                    .filter(|r| r.kind.reaches())
                    .map(|r| (r.forwarding_address(nh), r.ifindex))
            }
        }
    }
}

/// `::ffff:a.b.c.d` (an IPv6 family's next hop over an IPv4 session) is a.b.c.d.
fn unmap(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

impl Resolver {
    /// The IGP cost of reaching `next_hop` (`None`: unreachable).
    fn cost(k: &KernelRoutes, next_hop: IpAddr) -> Option<u32> {
        let nh = unmap(next_hop);
        if nh.is_unspecified() {
            return Some(0);
        }
        k.resolve(nh, None)
            .filter(|r| r.kind.reaches())
            .map(|r| r.metric)
    }

    /// True when the table holds exactly `prefix` from something other than tern (a
    /// `network` of an IGP route).
    fn holds(k: &KernelRoutes, prefix: IpNet) -> bool {
        k.get(prefix)
            .iter()
            .any(|r| r.protocol != PROTOCOL && r.kind.reaches())
    }
}

/// The route engines' way of asking the tracker to follow next hops and prefixes.
#[derive(Debug)]
pub struct Tracker(mpsc::UnboundedSender<Watch>);

impl Watcher for Tracker {
    fn watch(&self, w: Watch) {
        // The tracker ends with the daemon only.
        let _ = self.0.send(w);
    }
}

pub use tern_engine::FibOp;

/// Messages the FIB task's queue holds (the RIB keeps the rest as dirty prefixes).
pub const FIB_QUEUE: usize = 4096;

/// Operations the installer hands to the kernel as one batch at most.
const BATCH: usize = 4096;

/// The kernel side, started with the daemon.
pub struct Kernel {
    /// How the RIB resolves next hops.
    pub resolver: Resolver,
    /// Where installs go (`None`: not installing).
    pub fib: Option<mpsc::Sender<FibOp>>,
    /// Signalled whenever the installer takes an operation off its queue: the RIB tasks wait
    /// on it (with the writers') when every queue they feed is full.
    pub room: Arc<Room>,
    installer: Option<Fib>,
    /// Where the engines ask for next hops to follow (`None`: no kernel, all reachable).
    pub tracker: Option<Arc<Tracker>>,
    /// This router's routes were found in the kernel with graceful restart configured: they
    /// stay, and this start is a graceful restart ([`crate::restart`]).
    pub restarting: bool,
    requests: Option<mpsc::UnboundedReceiver<Watch>>,
    /// Set at exit when tern's routes stay in the kernel: the installer drops what is still
    /// queued (the sessions' ends would withdraw everything).
    frozen: Arc<AtomicBool>,
    /// True once the main table's snapshot is read.
    ready: tokio::sync::watch::Receiver<bool>,
    /// The table's changes, subscribed to before the snapshot was read (`None` inside: not
    /// followed).
    changes: Option<tokio::sync::oneshot::Receiver<Option<tern_fib::Watcher>>>,
}

impl Kernel {
    /// No kernel access: everything reachable, nothing installed.
    pub fn none(room: Arc<Room>) -> Kernel {
        Kernel {
            resolver: Resolver::All,
            fib: None,
            room,
            installer: None,
            tracker: None,
            requests: None,
            restarting: false,
            frozen: Arc::new(AtomicBool::new(false)),
            ready: tokio::sync::watch::channel(true).1,
            changes: None,
        }
    }

    /// Starts reading the main table for next-hop resolution (in the background: nothing
    /// waits for it but the tracker's answers and the installer) and, when `install`, the
    /// installer, which takes over the routes a previous run left in the main table and the
    /// `vrf_tables` VPN instance tables (with `graceful_restart`, finding some in the main
    /// table makes this start a graceful restart). Falls back on [`Kernel::none`] when the
    /// kernel cannot be read.
    pub async fn start(
        install: bool,
        graceful_restart: bool,
        vrf_tables: u32,
        room: Arc<Room>,
    ) -> Kernel {
        // Whether tern's routes are in the main table: a dump left at the first one.
        let found = match tern_fib::has_routes(MAIN_TABLE, PROTOCOL).await {
            Ok(found) => found,
            Err(e) => {
                warn!(
                    "kernel routing table not readable ({e}): next hops count as reachable, nothing is installed"
                );
                return Kernel::none(room);
            }
        };
        let restarting = install && graceful_restart && found;
        // The snapshot is read in the background (a full table takes the kernel seconds to
        // list): the tracker and the installer wait for it, the control API and the sessions
        // do not.
        let shared = Arc::new(RwLock::new(KernelRoutes::new(MAIN_TABLE)));
        let (loaded, ready) = tokio::sync::watch::channel(false);
        let (subscribed, changes) = tokio::sync::oneshot::channel();
        let changes = Some(changes);
        let snapshot = shared.clone();
        tokio::spawn(async move {
            // Changes are followed from before the read: one made while the table is listed
            // is queued and applied after it, none falls between (a route missed there would
            // leave the next hops it resolves unreachable for good).
            let watcher = match tern_fib::watch(MAIN_TABLE).await {
                Ok(w) => Some(w),
                Err(e) => {
                    warn!("kernel route changes not followed: {e}");
                    None
                }
            };
            match KernelRoutes::read(MAIN_TABLE).await {
                Ok(routes) => {
                    info!(
                        routes = routes.len(),
                        "kernel main table read for next-hop resolution"
                    );
                    *snapshot.write().unwrap_or_else(PoisonError::into_inner) = routes;
                }
                Err(e) => warn!("reading the kernel main table: {e}"),
            }
            let _ = loaded.send(true);
            let _ = subscribed.send(watcher);
        });
        let resolver = Resolver::Kernel(shared.clone());
        let (ask, requests) = mpsc::unbounded_channel();
        let tracker = Some(Arc::new(Tracker(ask)));
        let requests = Some(requests);
        let frozen = Arc::new(AtomicBool::new(false));
        let fib = if install {
            Fib::main()
                .map_err(|e| warn!("kernel routes cannot be installed ({e})"))
                .ok()
        } else {
            None
        };
        let Some(fib) = fib else {
            return Kernel {
                resolver,
                fib: None,
                room,
                installer: None,
                tracker,
                requests,
                restarting: false,
                frozen,
                ready,
                changes,
            };
        };
        if restarting {
            info!("tern routes left in the kernel are kept: graceful restart");
        }
        if !fib.mpls() {
            info!("the kernel has no MPLS forwarding: labels stay in the RIB and the displays");
        }
        let (tx, rx) = mpsc::channel(FIB_QUEUE);
        let installer = Fib::main().ok();
        let tables = std::iter::once(MAIN_TABLE)
            .chain((0..vrf_tables).map(|i| tern_engine::VRF_TABLE_BASE.saturating_add(i)))
            .collect();
        tokio::spawn(install_task(
            fib,
            tables,
            rx,
            resolver.clone(),
            room.clone(),
            frozen.clone(),
            ready.clone(),
        ));
        Kernel {
            resolver,
            fib: Some(tx),
            room,
            installer,
            tracker,
            requests,
            restarting,
            frozen,
            ready,
            changes,
        }
    }

    /// At exit, before the sessions end: tern's routes stay in the kernel as they are (what
    /// is still queued for the installer is dropped), for the next start to take over.
    pub fn keep_routes(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Follows the kernel's route and link changes (the snapshot is updated; a burst is
    /// coalesced until 100 ms pass quietly) and starts the tracker, which answers the
    /// engines' questions and tells them of every answer a burst changed.
    pub async fn watch(&mut self, rib: RibHandle) {
        let Resolver::Kernel(shared) = &self.resolver else {
            return;
        };
        let Some(requests) = self.requests.take() else {
            return;
        };
        let changed = Arc::new(Notify::new());
        let changes = self.changes.take();
        let igp_dirty = Arc::new(std::sync::Mutex::new(IgpDirty::default()));
        let (shared_w, changed_w, dirty_w) = (shared.clone(), changed.clone(), igp_dirty.clone());
        tokio::spawn(async move {
            let (shared, changed) = (shared_w, changed_w);
            // Only an IGP route's event or a re-read takes the lock: the burst of tern's own
            // installs during a convergence passes by.
            let mark = |ev: &FibEvent, reread: bool| {
                let igp = match ev {
                    FibEvent::RouteAdded(r) | FibEvent::RouteRemoved(r)
                        if IGP_PROTOCOLS.contains(&r.protocol) =>
                    {
                        Some((r.prefix, r.protocol))
                    }
                    _ => None,
                };
                if !reread && igp.is_none() {
                    return;
                }
                let mut d = dirty_w.lock().unwrap_or_else(PoisonError::into_inner);
                d.all |= reread;
                d.keys.extend(igp);
            };
            if std::env::var("TERN_FAULT").as_deref() == Ok("kernel-watch-late") {
                // Fault injection (tests): kernel changes happen between the read and the
                // moment they are applied; they must not be lost.
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            // Subscribed before the snapshot was read (see [`Kernel::start`]); handed over
            // once it is in, so the queued changes apply after it.
            let watcher = match changes {
                Some(rx) => rx.await.ok().flatten(),
                None => None,
            };
            let Some(mut w) = watcher else { return };
            loop {
                let Some(ev) = w.next_event().await else {
                    return;
                };
                let mut reread = apply(&shared, &ev);
                mark(&ev, reread);
                while let Ok(Some(ev)) =
                    tokio::time::timeout(Duration::from_millis(100), w.next_event()).await
                {
                    let r = apply(&shared, &ev);
                    mark(&ev, r);
                    reread |= r;
                }
                if reread {
                    match KernelRoutes::read(MAIN_TABLE).await {
                        Ok(r) => *shared.write().unwrap_or_else(PoisonError::into_inner) = r,
                        Err(e) => warn!("reading the kernel table again: {e}"),
                    }
                }
                changed.notify_one();
            }
        });
        tokio::spawn(track(
            shared.clone(),
            requests,
            changed,
            rib,
            self.ready.clone(),
            igp_dirty,
        ));
    }

    /// Clean shutdown: tern's routes leave the kernel (the main table and the VPN instance
    /// tables, `tables` of them), unless [`Kernel::keep_routes`] was called.
    pub async fn shutdown(&self, vrf_tables: u32) {
        if self.installer.is_none() {
            return;
        }
        if self.frozen.load(Ordering::SeqCst) {
            info!("tern routes left in the kernel for the next start");
            return;
        }
        let tables = std::iter::once(MAIN_TABLE)
            .chain((0..vrf_tables).map(|i| tern_engine::VRF_TABLE_BASE.saturating_add(i)));
        for t in tables {
            let Ok(f) = Fib::new(t) else { continue };
            match f.flush_stale().await {
                Ok(n) if n > 0 => {
                    info!(routes = n, table = t, "tern routes removed from the kernel")
                }
                Ok(_) => {}
                Err(e) => warn!(table = t, "removing tern routes at shutdown: {e}"),
            }
        }
    }
}

/// The kernel protocols of IGP routes (`RTPROT_ISIS`, `RTPROT_OSPF`, `RTPROT_RIP`).
const IGP_PROTOCOLS: [u8; 3] = [187, 188, 189];

/// The IGP routes a burst of kernel changes touched (`all`: the table was read again).
#[derive(Default)]
struct IgpDirty {
    all: bool,
    keys: std::collections::HashSet<(IpNet, u8)>,
}

/// An IGP route of the snapshot as the engines are told of it.
fn igp_route(k: &KernelRoutes, prefix: IpNet, protocol: u8) -> Option<(Option<IpAddr>, u32)> {
    k.get(prefix)
        .iter()
        .find(|r| r.protocol == protocol && r.kind.reaches())
        .map(|r| (r.gateway, r.metric))
}

/// Brings `last` (what the engines were told) up to the snapshot for the touched IGP routes
/// (every one with `all`), adding the differences to `out`.
fn igp_changes(
    k: &KernelRoutes,
    dirty: IgpDirty,
    last: &mut HashMap<(IpNet, u8), (Option<IpAddr>, u32)>,
    out: &mut Vec<tern_engine::IgpRoute>,
) {
    let keys: Vec<(IpNet, u8)> = if dirty.all {
        let mut v: Vec<(IpNet, u8)> = k
            .iter()
            .filter(|r| IGP_PROTOCOLS.contains(&r.protocol))
            .map(|r| (r.prefix, r.protocol))
            .chain(last.keys().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    } else {
        dirty.keys.into_iter().collect()
    };
    for (prefix, protocol) in keys {
        let now = igp_route(k, prefix, protocol);
        let before = match now {
            Some(r) => last.insert((prefix, protocol), r),
            None => last.remove(&(prefix, protocol)),
        };
        if before != now {
            out.push(tern_engine::IgpRoute {
                prefix,
                protocol,
                route: now,
            });
        }
    }
}

/// Applies an event to the snapshot; true when the table must be read again (the kernel
/// drops routes of a downed interface without telling each one).
fn apply(shared: &RwLock<KernelRoutes>, ev: &FibEvent) -> bool {
    match ev {
        FibEvent::LinkDown { .. } | FibEvent::AddressRemoved { .. } | FibEvent::Overrun => true,
        _ => {
            shared
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .apply(ev);
            false
        }
    }
}

/// The next-hop tracker: answers each question from the snapshot, follows what was asked,
/// and after every burst of kernel changes sends the answers that differ from the last ones
/// sent. Answers go to every engine shard (a shard keeps answers it did not ask for, so it
/// never needs to ask).
async fn track(
    shared: Arc<RwLock<KernelRoutes>>,
    mut requests: mpsc::UnboundedReceiver<Watch>,
    changed: Arc<Notify>,
    rib: RibHandle,
    mut ready: tokio::sync::watch::Receiver<bool>,
    igp_dirty: Arc<std::sync::Mutex<IgpDirty>>,
) {
    // No answer before the snapshot is read: questions wait in the queue.
    let _ = ready.wait_for(|r| *r).await;
    let mut hops: HashMap<IpAddr, Option<u32>> = HashMap::new();
    let mut prefixes: HashMap<IpNet, bool> = HashMap::new();
    let mut igp: HashMap<(IpNet, u8), (Option<IpAddr>, u32)> = HashMap::new();
    // The IGP routes of the table as read.
    {
        let mut r = Resolution::default();
        {
            let k = shared.read().unwrap_or_else(PoisonError::into_inner);
            let all = IgpDirty {
                all: true,
                ..IgpDirty::default()
            };
            igp_changes(&k, all, &mut igp, &mut r.igp);
        }
        if !r.is_empty() {
            rib.send(RibMsg::Resolved(r)).await;
        }
    }
    loop {
        let mut r = Resolution::default();
        tokio::select! {
            w = requests.recv() => {
                let Some(w) = w else { return };
                let mut asked = vec![w];
                while let Ok(w) = requests.try_recv() {
                    asked.push(w);
                }
                let k = shared.read().unwrap_or_else(PoisonError::into_inner);
                for w in asked {
                    for nh in w.next_hops {
                        let c = Resolver::cost(&k, nh);
                        hops.insert(nh, c);
                        r.next_hops.push((nh, c));
                    }
                    for p in w.prefixes {
                        let h = Resolver::holds(&k, p);
                        prefixes.insert(p, h);
                        r.prefixes.push((p, h));
                    }
                }
            }
            () = changed.notified() => {
                let k = shared.read().unwrap_or_else(PoisonError::into_inner);
                for (nh, last) in &mut hops {
                    let c = Resolver::cost(&k, *nh);
                    if c != *last {
                        *last = c;
                        r.next_hops.push((*nh, c));
                    }
                }
                for (p, last) in &mut prefixes {
                    let h = Resolver::holds(&k, *p);
                    if h != *last {
                        *last = h;
                        r.prefixes.push((*p, h));
                    }
                }
                let dirty = std::mem::take(
                    &mut *igp_dirty.lock().unwrap_or_else(PoisonError::into_inner),
                );
                igp_changes(&k, dirty, &mut igp, &mut r.igp);
            }
        }
        if !r.is_empty() {
            debug!(
                next_hops = r.next_hops.len(),
                prefixes = r.prefixes.len(),
                "next hops answered"
            );
            rib.send(RibMsg::Resolved(r)).await;
        }
    }
}

/// The installer: takes the engine's operations off its queue, as many as are there at once
/// (up to [`BATCH`]), and hands them to the kernel as one batch per table. Before the first,
/// it reads tern's routes left in `tables` by a previous run; they are taken over: a route
/// asked for as it already is is not written again, and at the last shard's
/// [`FibOp::Reconcile`] the ones nobody asked for are removed.
async fn install_task(
    main: Fib,
    tables: Vec<u32>,
    mut rx: mpsc::Receiver<FibOp>,
    resolver: Resolver,
    room: Arc<Room>,
    frozen: Arc<AtomicBool>,
    mut ready: tokio::sync::watch::Receiver<bool>,
) {
    // Forwarding addresses come from the snapshot.
    let _ = ready.wait_for(|r| *r).await;
    let mut fibs: HashMap<u32, Fib> = HashMap::new();
    fibs.insert(MAIN_TABLE, main);
    let mut found: HashMap<u32, Reconciler> = HashMap::new();
    for table in tables {
        if let std::collections::hash_map::Entry::Vacant(slot) = fibs.entry(table) {
            match Fib::new(table) {
                Ok(f) => {
                    slot.insert(f);
                }
                Err(e) => {
                    warn!(table, "kernel table not usable: {e}");
                    continue;
                }
            }
        }
        let Some(fib) = fibs.get(&table) else {
            continue;
        };
        match fib.reconciler().await {
            Ok(r) => {
                if !r.is_empty() {
                    info!(
                        table,
                        routes = r.len(),
                        "tern routes left in the kernel: kept until the routes converge"
                    );
                }
                found.insert(table, r);
            }
            Err(e) => warn!(table, "reading tern routes left in the kernel: {e}"),
        }
    }
    let took_over: usize = found.values().map(Reconciler::len).sum();
    let mut reconciled = 0usize;
    let mut ops: Vec<FibOp> = Vec::with_capacity(BATCH);
    let mut pending: Vec<(u32, RouteOp)> = Vec::with_capacity(BATCH);
    while let Some(op) = rx.recv().await {
        room.taken();
        ops.push(op);
        while ops.len() < BATCH {
            match rx.try_recv() {
                Ok(op) => {
                    room.taken();
                    ops.push(op);
                }
                Err(_) => break,
            }
        }
        if frozen.load(Ordering::SeqCst) {
            // Exiting with the routes kept: nothing changes any more.
            ops.clear();
            continue;
        }
        for op in ops.drain(..) {
            match op {
                FibOp::Reconcile => {
                    reconciled += 1;
                    if reconciled == room.shards() {
                        hand_over(&mut fibs, &mut found, &mut pending).await;
                        reconcile(&fibs, std::mem::take(&mut found), took_over).await;
                    }
                }
                FibOp::Install {
                    table,
                    prefix,
                    next_hop,
                } => {
                    if let Some(op) = single(&resolver, prefix, next_hop) {
                        pending.push((table, op));
                    }
                }
                FibOp::Multipath {
                    table,
                    prefix,
                    next_hops,
                } => {
                    // Each BGP next hop resolved to its forwarding address; the ones that
                    // resolve (and fit the prefix's family) carry the route.
                    let mut hops: Vec<(IpAddr, Option<u32>)> = Vec::new();
                    for nh in &next_hops {
                        if let Some((gw, ifindex)) = resolver.forwarding(*nh)
                            && gw.is_ipv6() == prefix.addr().is_ipv6()
                            && !hops.iter().any(|(g, _)| *g == gw)
                        {
                            hops.push((gw, ifindex));
                        }
                    }
                    if hops.len() > 1 {
                        pending.push((
                            table,
                            RouteOp::ReplaceMultipath(MultipathRoute {
                                prefix,
                                hops,
                                metric: None,
                            }),
                        ));
                    } else if let Some(op) = next_hops
                        .first()
                        .and_then(|nh| single(&resolver, prefix, *nh))
                    {
                        // One usable next hop: installed as the best route alone would be.
                        pending.push((table, op));
                    }
                }
                FibOp::Remove { table, prefix } => pending.push((
                    table,
                    RouteOp::Delete {
                        prefix,
                        metric: None,
                    },
                )),
            }
        }
        hand_over(&mut fibs, &mut found, &mut pending).await;
    }
}

/// The kernel operation for a prefix via one BGP next hop: the route toward its forwarding
/// address, or its removal when the next hop is unreachable (`None`: not installable).
fn single(resolver: &Resolver, prefix: IpNet, next_hop: IpAddr) -> Option<RouteOp> {
    let Some((gw, ifindex)) = resolver.forwarding(next_hop) else {
        debug!(%prefix, %next_hop, "not installed: next hop unreachable");
        return Some(RouteOp::Delete {
            prefix,
            metric: None,
        });
    };
    // An IPv6 route whose next hop is an IPv4 address (`::ffff:a.b.c.d`, VPNv6 over an IPv4
    // core) cannot name an IPv4 gateway: it goes out of the interface toward it (forwarding
    // needs the label the kernel cannot push anyway).
    let route = match (prefix.addr().is_ipv6(), gw.is_ipv4(), ifindex) {
        (true, true, Some(i)) => FibRoute::dev(prefix, i),
        (true, true, None) => {
            debug!(%prefix, %gw, "not installed: IPv6 route, IPv4 next hop, no interface");
            return None;
        }
        _ => FibRoute::via(prefix, gw),
    };
    Some(RouteOp::Replace(route))
}

/// Hands `pending` to the kernel, in order within each table, leaving out what a table's
/// routes found at start already hold; failures are logged per route.
async fn hand_over(
    fibs: &mut HashMap<u32, Fib>,
    found: &mut HashMap<u32, Reconciler>,
    pending: &mut Vec<(u32, RouteOp)>,
) {
    if pending.is_empty() {
        return;
    }
    let mut by_table: Vec<(u32, Vec<RouteOp>)> = Vec::new();
    for (table, op) in pending.drain(..) {
        if let Some(r) = found.get_mut(&table)
            && !r.needs(&op)
        {
            continue;
        }
        match by_table.iter_mut().find(|(t, _)| *t == table) {
            Some((_, ops)) => ops.push(op),
            None => by_table.push((table, vec![op])),
        }
    }
    for (table, ops) in by_table {
        if let std::collections::hash_map::Entry::Vacant(slot) = fibs.entry(table) {
            // A table first used after the start (a VPN instance added since): emptied of
            // routes an earlier run may have left.
            match Fib::new(table) {
                Ok(f) => {
                    if let Err(e) = f.flush_stale().await {
                        debug!(table, "flushing a VPN instance table: {e}");
                    }
                    slot.insert(f);
                }
                Err(e) => {
                    warn!(table, "kernel table not usable: {e}");
                    continue;
                }
            }
        }
        let Some(fib) = fibs.get(&table) else {
            continue;
        };
        let results = fib.apply(&ops).await;
        for (op, result) in ops.iter().zip(results) {
            let Err(e) = result else { continue };
            match op {
                RouteOp::Replace(route) => {
                    debug!(prefix = %route.prefix, gw = ?route.gateway, table, "kernel route not installed: {e}")
                }
                RouteOp::ReplaceMultipath(route) => {
                    debug!(prefix = %route.prefix, hops = ?route.hops, table, "kernel route not installed: {e}")
                }
                RouteOp::Delete { prefix, .. } => {
                    if e.errno() != Some(ESRCH) {
                        debug!(%prefix, table, "kernel route not removed: {e}");
                    }
                }
            }
        }
    }
}

/// `ESRCH`: a route to delete was not there.
const ESRCH: i32 = 3;

/// At the end of the initial convergence: the routes found at start that no best route asked
/// for again are removed.
async fn reconcile(fibs: &HashMap<u32, Fib>, found: HashMap<u32, Reconciler>, took_over: usize) {
    let mut unchanged = 0usize;
    let mut removed = 0usize;
    for (table, r) in found {
        let Some(fib) = fibs.get(&table) else {
            continue;
        };
        let done = r.finish(fib).await;
        unchanged += done.unchanged;
        removed += done.removed;
        for e in done.errors {
            warn!(table, "removing a route left from before the restart: {e}");
        }
    }
    if took_over > 0 {
        info!(
            found = took_over,
            unchanged, removed, "kernel routes from before the restart reconciled"
        );
    }
}

/// tern's protocol number in the kernel (`ip route show proto 186`).
pub const PROTOCOL: u8 = PROTO_TERN;
