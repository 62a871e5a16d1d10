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
//!   go into the main table with tern's protocol number, via the address that forwards to their
//!   next hop; they are replaced on change, removed on withdrawal, and every tern route is
//!   removed at start (left by a crash) and at clean shutdown. The kernel here has no MPLS
//!   forwarding: labels stay in the RIB and the displays (tern-fib reports it once).
//! - Without access to the kernel (not root, no netlink) every next hop counts as reachable at
//!   cost 0 and nothing is installed; the log says so.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ipnet::IpNet;
use tern_engine::{Resolution, Watch, Watcher};
use tern_fib::{Fib, FibEvent, FibRoute, KernelRoutes, MAIN_TABLE, PROTO_TERN};
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
pub const FIB_QUEUE: usize = 1024;

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
        }
    }

    /// Reads the main table and, when `install`, removes routes a previous run left (kept
    /// instead with `graceful_restart`: then this start is a restart) and starts the
    /// installer. Falls back on [`Kernel::none`] when the kernel cannot be read.
    pub async fn start(install: bool, graceful_restart: bool, room: Arc<Room>) -> Kernel {
        let routes = match KernelRoutes::read(MAIN_TABLE).await {
            Ok(r) => r,
            Err(e) => {
                warn!(
                    "kernel routing table not readable ({e}): next hops count as reachable, nothing is installed"
                );
                return Kernel::none(room);
            }
        };
        info!(
            routes = routes.len(),
            "kernel main table read for next-hop resolution"
        );
        let restarting =
            install && graceful_restart && routes.iter().any(|r| r.protocol == PROTOCOL);
        let shared = Arc::new(RwLock::new(routes));
        let resolver = Resolver::Kernel(shared.clone());
        let (ask, requests) = mpsc::unbounded_channel();
        let tracker = Some(Arc::new(Tracker(ask)));
        let requests = Some(requests);
        if !install {
            return Kernel {
                resolver,
                fib: None,
                room,
                installer: None,
                tracker,
                requests,
                restarting: false,
            };
        }
        let fib = match Fib::main() {
            Ok(f) => f,
            Err(e) => {
                warn!("kernel routes cannot be installed ({e})");
                return Kernel {
                    resolver,
                    fib: None,
                    room,
                    installer: None,
                    tracker,
                    requests,
                    restarting: false,
                };
            }
        };
        if restarting {
            info!("tern routes left in the kernel are kept: graceful restart");
        } else {
            match fib.flush_stale().await {
                Ok(0) => {}
                Ok(n) => info!(routes = n, "removed tern routes left in the kernel"),
                Err(e) => warn!("removing stale tern routes: {e}"),
            }
        }
        if !fib.mpls() {
            info!("the kernel has no MPLS forwarding: labels stay in the RIB and the displays");
        }
        let (tx, rx) = mpsc::channel(FIB_QUEUE);
        let installer = Fib::main().ok();
        tokio::spawn(install_task(
            fib,
            rx,
            resolver.clone(),
            room.clone(),
            restarting,
        ));
        Kernel {
            resolver,
            fib: Some(tx),
            room,
            installer,
            tracker,
            requests,
            restarting,
        }
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
        if std::env::var("TERN_FAULT").as_deref() == Ok("kernel-watch-late") {
            // Fault injection (tests): kernel changes happen between the first read and the
            // subscription.
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        match tern_fib::watch(MAIN_TABLE).await {
            Ok(mut w) => {
                // The table was read before this subscription: a change in between would be
                // missed for good (a next hop stranded unreachable). Read it again now that
                // every later change is queued; applying the queued ones after this read
                // leaves the snapshot as the kernel is.
                match KernelRoutes::read(MAIN_TABLE).await {
                    Ok(r) => *shared.write().unwrap_or_else(PoisonError::into_inner) = r,
                    Err(e) => warn!("reading the kernel table again: {e}"),
                }
                let shared = shared.clone();
                let changed = changed.clone();
                tokio::spawn(async move {
                    loop {
                        let Some(ev) = w.next_event().await else {
                            return;
                        };
                        let mut reread = apply(&shared, &ev);
                        while let Ok(Some(ev)) =
                            tokio::time::timeout(Duration::from_millis(100), w.next_event()).await
                        {
                            reread |= apply(&shared, &ev);
                        }
                        if reread {
                            match KernelRoutes::read(MAIN_TABLE).await {
                                Ok(r) => {
                                    *shared.write().unwrap_or_else(PoisonError::into_inner) = r
                                }
                                Err(e) => warn!("reading the kernel table again: {e}"),
                            }
                        }
                        changed.notify_one();
                    }
                });
            }
            Err(e) => warn!("kernel route changes not followed: {e}"),
        }
        tokio::spawn(track(shared.clone(), requests, changed, rib));
    }

    /// Clean shutdown: tern's routes leave the kernel (the main table and the VPN instance
    /// tables, `tables` of them).
    pub async fn shutdown(&self, vrf_tables: u32) {
        if self.installer.is_none() {
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
) {
    let mut hops: HashMap<IpAddr, Option<u32>> = HashMap::new();
    let mut prefixes: HashMap<IpNet, bool> = HashMap::new();
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

async fn install_task(
    fib: Fib,
    mut rx: mpsc::Receiver<FibOp>,
    resolver: Resolver,
    room: Arc<Room>,
    restarting: bool,
) {
    // After a graceful restart: what this run installed, and the shards that are done.
    let mut installed: std::collections::HashSet<(u32, IpNet)> = std::collections::HashSet::new();
    let mut reconciled = 0usize;
    // One installer per table: the main table, and a table per VPN instance, emptied of
    // tern's routes when first used.
    let mut tables: HashMap<u32, Fib> = HashMap::new();
    tables.insert(MAIN_TABLE, fib);
    while let Some(op) = rx.recv().await {
        room.taken();
        let table = match &op {
            FibOp::Install { table, .. } | FibOp::Remove { table, .. } => *table,
            FibOp::Reconcile => {
                reconciled += 1;
                if restarting && reconciled == room.shards() {
                    reconcile(&tables, &installed).await;
                    installed = std::collections::HashSet::new();
                }
                continue;
            }
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = tables.entry(table) {
            match Fib::new(table) {
                Ok(f) => {
                    if !restarting && let Err(e) = f.flush_stale().await {
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
        let Some(fib) = tables.get(&table) else {
            continue;
        };
        match op {
            FibOp::Install {
                prefix, next_hop, ..
            } => {
                let Some((gw, ifindex)) = resolver.forwarding(next_hop) else {
                    debug!(%prefix, %next_hop, "not installed: next hop unreachable");
                    let _ = fib.delete(prefix, None).await;
                    continue;
                };
                // An IPv6 route whose next hop is an IPv4 address (`::ffff:a.b.c.d`, VPNv6 over
                // an IPv4 core) cannot name an IPv4 gateway: it goes out of the interface
                // toward it (forwarding needs the label the kernel cannot push anyway).
                let route = match (prefix.addr().is_ipv6(), gw.is_ipv4(), ifindex) {
                    (true, true, Some(i)) => FibRoute::dev(prefix, i),
                    (true, true, None) => {
                        debug!(%prefix, %gw, "not installed: IPv6 route, IPv4 next hop, no interface");
                        continue;
                    }
                    _ => FibRoute::via(prefix, gw),
                };
                match fib.replace(&route).await {
                    Ok(()) => {
                        if restarting {
                            installed.insert((table, prefix));
                        }
                    }
                    Err(e) => debug!(%prefix, %gw, table, "kernel route not installed: {e}"),
                }
            }
            FibOp::Reconcile => {}
            FibOp::Remove { prefix, .. } => {
                installed.remove(&(table, prefix));
                if let Err(e) = fib.delete(prefix, None).await
                    && e.errno() != Some(3)
                {
                    debug!(%prefix, table, "kernel route not removed: {e}");
                }
            }
        }
    }
}

/// After a graceful restart: this router's routes in the tables it uses that this run did
/// not install (left from before the restart) are removed.
async fn reconcile(
    tables: &HashMap<u32, Fib>,
    installed: &std::collections::HashSet<(u32, IpNet)>,
) {
    let mut removed = 0usize;
    for (table, fib) in tables {
        let Ok(routes) = fib.routes().await else {
            continue;
        };
        for r in routes.iter().filter(|r| r.protocol == PROTOCOL) {
            if !installed.contains(&(*table, r.prefix)) && fib.delete(r.prefix, None).await.is_ok()
            {
                removed += 1;
            }
        }
    }
    info!(
        removed,
        "graceful restart: kernel routes from before the restart reconciled"
    );
}

/// tern's protocol number in the kernel (`ip route show proto 186`).
pub const PROTOCOL: u8 = PROTO_TERN;
