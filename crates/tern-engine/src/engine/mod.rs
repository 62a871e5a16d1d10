//! The route engine: one owner of the public tables and every VPN instance's tables, fed
//! plain inputs ([`Input`]) and run in steps ([`Engine::flush`], [`Engine::walk_step`]); no
//! async runtime, no locks, a deterministic order for a given sequence of inputs and steps.
//!
//! - [`Input::PeerUp`] when a session reaches Established (the peer's facts and the negotiated
//!   receive context), every UPDATE that does not call for a session reset already taken apart
//!   ([`Input::Digest`]; [`Input::Update`] takes a body's bytes), and [`Input::PeerDown`] when
//!   the session leaves Established (RFC 4271 §9.1.3: every route of the peer is withdrawn).
//!   The engine counts each peer's received routes and reports them ([`Counts`]) once per
//!   output step.
//! - Each Established session has its own number; inputs of a session that is no longer the
//!   peer's current one are dropped, so a late UPDATE of a closed connection never lands
//!   after its successor's PeerUp.
//! - Import policy: route-target filtering (`policy vpn-target`), then the peer's import
//!   route-policy (`ImportChain`).
//! - Next hops resolve through the engine's [`NextHopTable`]: with a [`Watcher`] (the kernel
//!   side in the daemon) a next hop is unreachable until [`Input::Resolved`] answers for it,
//!   and an answer that differs from what was decided with re-runs the decision at the next
//!   output step.
//! - Export: [`Input::PeerUp`] carries a [`PeerOut`] (the connection's writer, negotiated
//!   families, send context, local address, `next-hop-invariable` families). The peer gets
//!   the Loc-RIB of each family, then End-of-RIB; afterwards every input's best-path changes
//!   go to each other peer that may have them (RFC 4456 rules, split horizon), with the
//!   attributes of `out_attrs` (EBGP: AS prepended, LOCAL_PREF / ORIGINATOR_ID / CLUSTER_LIST /
//!   foreign MED removed, next hop self unless `next-hop-invariable`; IBGP: next hop kept,
//!   LOCAL_PREF 100 when absent, reflection attributes when reflecting). Encoding happens once
//!   per update group ([`crate::adjout`]).
//! - Displays ask with [`Input::Table`] and get an owned copy of a family's table, every path
//!   of every destination. The copy is built [`WALK_STEP`] destinations at a time between
//!   inputs, so a display of a large table never stalls route processing; the rows are sorted
//!   by the asker ([`Walked::into_table`]); a peer's received and accepted routes likewise
//!   ([`Input::PeerRoutes`]). A display taken while routes change shows each destination as
//!   it was when its step read it (see [`Rib::walk`]).
//! - The kernel: best unicast routes from peers go to a [`FibSink`] as [`FibOp`]s, when one is
//!   set.
//! - Monitoring: the public tables' best-path changes of some families go to a
//!   [`LocRibSink`] as they happen ([`locrib`], BMP Loc-RIB).
//! - Monitoring asks with [`Input::Metrics`] and gets counts kept as routes change
//!   ([`census`]): no table is walked for it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ipnet::IpNet;

use tern_rib::rr::Role;
use tern_rib::{
    BestChange, Digest, PathAttrs, PathInfo, PeerId, PeerInfo, Rib, RibConfig, RouteKey,
};
use tern_types::{Asn, Family, Label, LabelStack, RouteDistinguisher};
use tern_wire::attr::{AsPath, Origin};

use crate::adjout::{self as adj_out, AdjOut, Outbound, Params};
use crate::labels::{ExportLabel, Labels};
use crate::nexthop::{NextHopTable, Resolution};
use crate::ports::{Counts, FibOp, FibSink, Reply, VRF_TABLE_BASE, Watcher};
use crate::routing::{LabelMode, LocalRoute, PolicyScope, Routing, VrfSpec};
pub use crate::rows::{PathFilter, PeerRoutes, RouteRow, RouteTable, TableStats, Walked};
use crate::shard::Shard;
use tern_policy::Outcome;
use tern_wire::{Ctx, NextHop, Update};
use tracing::{debug, info, warn};

use settings::ImportChain;

pub use census::{CountsReply, EngineCounts, PeerCount, TableCount};
pub use dump::{DUMP_STEP, DumpDest, DumpPath, DumpSink};
pub use locrib::{LocRib, LocRibChange, LocRibSink};

/// An input of the engine.
#[derive(Debug)]
pub enum Input {
    /// A session reached Established.
    PeerUp {
        /// The session's number (unique among the sessions the engine sees).
        session: u64,
        /// What the RIB needs to know about the peer.
        info: PeerInfo,
        /// The context the peer's UPDATEs are decoded with.
        ctx: Ctx,
        /// Where routes for the peer go (`None`: the peer is not sent routes).
        out: Option<PeerOut>,
        /// The VPN instance of a PE–CE session (`None`: public).
        vrf: Option<String>,
        /// Where the peer's received-prefix counts are reported.
        status: Option<Arc<dyn Counts>>,
    },
    /// An UPDATE's body (the octets after the 19-octet header).
    Update {
        /// Peer address.
        peer: IpAddr,
        /// The session it was received on.
        session: u64,
        /// The body.
        body: Vec<u8>,
    },
    /// An UPDATE taken apart where it was read (the connection task).
    Digest {
        /// Peer address.
        peer: IpAddr,
        /// The session it was received on.
        session: u64,
        /// The UPDATE.
        digest: Box<Digest>,
    },
    /// The session left Established.
    PeerDown {
        /// Peer address.
        peer: IpAddr,
        /// The session.
        session: u64,
    },
    /// The session left Established and the peer is restarting (RFC 4724 §4.2, this router
    /// helping): its routes of `families` stay, stale, until it says End-of-RIB again or a
    /// timer purges them ([`Input::PurgeStale`]); its other routes are withdrawn.
    PeerRestarting {
        /// Peer address.
        peer: IpAddr,
        /// The session that ended.
        session: u64,
        /// The families kept.
        families: Vec<Family>,
    },
    /// New routing settings (start, rollback): a change of policies re-runs every peer.
    Settings(Arc<Routing>),
    /// New routing settings of a commit, with what its policy changes concern: only those
    /// peers and local routes are re-run.
    Commit {
        /// The settings.
        routing: Arc<Routing>,
        /// What the commit's policy edits concern.
        scope: PolicyScope,
    },
    /// The kernel side's answers about next hops and prefixes ([`crate::nexthop`]).
    Resolved(Resolution),
    /// A committed change of a peer's outbound options: its table is sent again with them,
    /// without a session reset (an announcement replaces the one sent before).
    Readvertise {
        /// Peer address.
        peer: IpAddr,
        /// `peer X reflect-client` in some family.
        reflect_client: bool,
        /// The new outbound options.
        out: Outbound,
    },
    /// The peer asked for its routes of a family again (ROUTE-REFRESH, RFC 2918), or the
    /// operator did (`refresh bgp … export`).
    Refresh {
        /// Peer address.
        peer: IpAddr,
        /// The session it asked on.
        session: u64,
        /// The family.
        family: Family,
        /// Enhanced route refresh (RFC 7313): an EoRR follows the routes (the BoRR, before
        /// them, is the connection's).
        enhanced: bool,
    },
    /// The peer's routes of a family become stale (RFC 7313 §4: it sent a BoRR): they stay
    /// until announced again or purged.
    Stale {
        /// Peer address.
        peer: IpAddr,
        /// The family.
        family: Family,
    },
    /// The peer's routes of a family still stale are withdrawn (RFC 7313 §4: EoRR;
    /// RFC 4724 §4.2: End-of-RIB, or a timer expired).
    PurgeStale {
        /// Peer address.
        peer: IpAddr,
        /// The family.
        family: Family,
    },
    /// An `alert-only` route limit of the peer is reached (`full`) or has room again: while
    /// full, announcements of destinations the peer has no route for are not taken.
    RouteLimit {
        /// Peer address.
        peer: IpAddr,
        /// The family.
        family: Family,
        /// Full.
        full: bool,
    },
    /// Selection deferral of a restarting speaker (RFC 4724 §4.1): while on, nothing is sent
    /// to peers or the kernel (the tables fill from the peers); when it ends, every peer is
    /// sent its table and End-of-RIB, the kernel gets the best routes, then
    /// [`FibOp::Reconcile`].
    ///
    /// `Defer(false)` also ends the initial convergence of a start that deferred nothing
    /// (every peer's first table is in): once the kernel operations of the routes so far are
    /// out, and every next hop asked about is answered, [`FibOp::Reconcile`] follows.
    Defer(bool),
    /// The wait for a peer's End-of-RIB of the route target constraint family is over
    /// (RFC 4684 §6; VRP's `timer wait-for-eor`, 180 s): its VPN routes go out by the
    /// membership it advertised so far.
    RtcWaitOver {
        /// Peer address.
        peer: IpAddr,
        /// The session the wait started with.
        session: u64,
    },
    /// A snapshot of one family's table, for the displays.
    Table {
        /// The VPN instance (`None`: the public tables).
        vrf: Option<String>,
        /// The family.
        family: Family,
        /// `routing-table label`: IPv4 labeled routes include the IPv4 unicast routes this
        /// router labels, and rows carry their in-label.
        label: bool,
        /// `routing-table ADDRESS`: the destinations holding the address, in detail.
        lookup: Option<IpAddr>,
        /// Where the snapshot goes (built in steps, see [`Engine::walk_step`]).
        reply: Box<dyn Reply>,
    },
    /// A display streamed in order, first step: the keys of the destinations it lists (and
    /// how many rows they have), read [`WALK_STEP`] destinations at a time; the asker sorts
    /// them and asks for the rows in chunks ([`Input::Rows`]).
    Keys {
        /// The VPN instance (`None`: the public tables); with `only`, the peer's own.
        vrf: Option<String>,
        /// The family.
        family: Family,
        /// One peer's received or accepted routes only (dropped: the peer is not up).
        only: Option<(IpAddr, PeerRoutes)>,
        /// Only the destinations of this route distinguisher.
        rd: Option<RouteDistinguisher>,
        /// Only the paths that pass.
        filter: Option<Arc<PathFilter>>,
        /// Where the keys go ([`Walked::keys`], [`Walked::paths`]).
        reply: Box<dyn Reply>,
    },
    /// A display streamed in order, next steps: the rows of these destinations, in this
    /// order ([`Walked::dests`]; a destination gone meanwhile is left out).
    Rows {
        /// The VPN instance (`None`: the public tables).
        vrf: Option<String>,
        /// The family.
        family: Family,
        /// One peer's received or accepted routes only.
        only: Option<(IpAddr, PeerRoutes)>,
        /// The destinations, in the order the rows are wanted.
        keys: Vec<RouteKey>,
        /// Only the paths that pass (their rows with the detail's communities).
        filter: Option<Arc<PathFilter>>,
        /// Where the rows go.
        reply: Box<dyn Reply>,
    },
    /// A table's counts (`display bgp … routing-table statistics`), walked in steps.
    Stats {
        /// The VPN instance (`None`: the public tables).
        vrf: Option<String>,
        /// The family.
        family: Family,
        /// Only the destinations of this route distinguisher.
        rd: Option<RouteDistinguisher>,
        /// Where the counts go ([`Walked::stats`]).
        reply: Box<dyn Reply>,
    },
    /// The update groups (`display bgp update-peer-group`), answered at once.
    Groups {
        /// Where they go ([`Walked::groups`]).
        reply: Box<dyn Reply>,
    },
    /// One peer's routes of a family, for `display bgp … routing-table peer X …`.
    PeerRoutes {
        /// The peer.
        peer: IpAddr,
        /// The family.
        family: Family,
        /// Which routes.
        which: PeerRoutes,
        /// Where the routes go (dropped: the peer is not up). Received and accepted routes
        /// are read in steps like a table display.
        reply: Box<dyn Reply>,
    },
    /// The engine's counts for monitoring ([`census`]), answered at once without walking a
    /// table.
    Metrics {
        /// Where the counts go.
        reply: Box<dyn CountsReply>,
    },
    /// A dump of the public tables of some families (MRT, see [`dump`]), walked in steps.
    Dump {
        /// The families, in order.
        families: Vec<Family>,
        /// Where each step goes.
        sink: Box<dyn DumpSink>,
    },
    /// Loc-RIB monitoring (BMP, RFC 9069) from now on, or no longer ([`locrib`]).
    LocRib(Option<LocRib>),
}

/// What the RIB task needs to send routes to an Established peer.
#[derive(Debug, Clone)]
pub struct PeerOut {
    /// The connection's writer (whole messages, header included).
    pub tx: adj_out::Writer,
    /// Negotiated families.
    pub families: Vec<Family>,
    /// The context to build UPDATEs for the peer with (4-octet AS, ADD-PATH send, Extended
    /// Message).
    pub ctx: Ctx,
    /// The session's local address (next hop self).
    pub local: Option<IpAddr>,
    /// The peer's outbound options.
    pub out: Outbound,
}

/// A table display being built, a step at a time.
struct Walk {
    vrf: Option<String>,
    family: Family,
    /// One peer's received or accepted routes only (`peer X received-routes`).
    only: Option<(PeerId, PeerRoutes)>,
    /// The destinations holding this address only, in detail.
    lookup: Option<IpAddr>,
    /// Only the paths that pass.
    filter: Option<Arc<PathFilter>>,
    /// Where the next step starts ([`Rib::walk`], or the next of `keys` to read).
    cursor: usize,
    /// What the walk produces.
    mode: WalkMode,
    dests: Vec<(RouteKey, Vec<RouteRow>)>,
    reply: Box<dyn Reply>,
}

/// What a display walk produces.
enum WalkMode {
    /// Every destination's rows ([`Input::Table`], [`Input::PeerRoutes`]).
    Table,
    /// The keys of the destinations the display lists, and how many rows they have
    /// ([`Input::Keys`]); only those of this route distinguisher when one is given.
    Keys {
        rd: Option<RouteDistinguisher>,
        keys: Vec<RouteKey>,
        paths: usize,
    },
    /// These destinations' rows, in this order ([`Input::Rows`]).
    Rows(Vec<RouteKey>),
    /// The table's counts ([`Input::Stats`]); only this route distinguisher's when one is
    /// given.
    Stats {
        rd: Option<RouteDistinguisher>,
        stats: TableStats,
    },
}

/// Destinations a display step reads: a display of any size never holds route processing for
/// longer than this many rows take (a few milliseconds).
pub const WALK_STEP: usize = 4096;

/// A VPN instance: its table (one [`Rib`] holding its IPv4 and IPv6 unicast routes); the
/// labels of what it exports are in [`Labels`].
struct Vrf {
    rib: Rib,
    /// The instance's address families with a route distinguisher.
    specs: Vec<VrfSpec>,
}

impl Vrf {
    fn spec(&self, family: Family) -> Option<&VrfSpec> {
        self.specs.iter().find(|s| s.family == family)
    }
}

/// A session that is up, as the RIB task knows it.
struct Up {
    /// The session's number.
    session: u64,
    /// The context its UPDATEs are decoded with.
    ctx: Ctx,
    /// Its routing domain (VPN instance of a PE–CE session).
    vrf: Option<String>,
    /// Where its received-prefix counts are reported.
    status: Option<Arc<dyn Counts>>,
}

/// The RIB and what the task knows about the sessions feeding it.
pub struct Engine {
    /// The public tables (IPv4/IPv6 unicast and labeled, VPNv4, VPNv6).
    rib: Rib,
    /// VPN instances by name.
    vrfs: BTreeMap<String, Vrf>,
    /// A peer's id, kept for the address's lifetime (the RIB's peer slots are reused).
    ids: HashMap<IpAddr, PeerId>,
    /// The current session of each peer that is up, with its receive context and domain.
    up: HashMap<IpAddr, Up>,
    /// Peers of VPN instances (PE–CE sessions), by id.
    vrf_peers: HashMap<PeerId, String>,
    /// Best-path changes of the last input.
    changes: Vec<BestChange>,
    /// Peers whose received-prefix counts changed since the last output step.
    counts_dirty: Vec<IpAddr>,
    /// Table displays being built, a step each in turn.
    walks: VecDeque<Walk>,
    /// RIB dumps being walked.
    dumps: VecDeque<dump::Dump>,
    /// Peers routes are sent to, in update groups.
    adj: AdjOut,
    /// The path IDs of the paths sent to ADD-PATH peers.
    path_ids: adj_out::PathIds,
    /// Next hops and held prefixes as the kernel side answered.
    resolver: NextHopTable,
    /// Where next hops to follow are asked (`None`: every next hop is reachable).
    watcher: Option<Arc<dyn Watcher>>,
    /// An answer about next hops differs from what was decided with: the next output step
    /// runs the decision process again first (once for every answer of a batch of inputs).
    reresolve: bool,
    /// Where kernel installs go (`None`: not installing).
    fib: Option<Arc<dyn FibSink>>,
    /// Prefixes whose kernel route is to be brought up to date.
    fib_dirty: (VecDeque<FibKey>, foldhash::HashSet<FibKey>),
    /// Of those, the ones marked only because their paths changed under load balancing, the
    /// best path the same: left out when they were and stay single-path.
    fib_soft: foldhash::HashSet<FibKey>,
    /// Prefixes installed over several next hops now.
    fib_multi: foldhash::HashSet<FibKey>,
    /// Prefixes marked because their family's forwarding settings changed: under
    /// `routing-table rib-only` only these may have a kernel route to remove.
    fib_forced: foldhash::HashSet<FibKey>,
    /// The routing settings in force.
    routing: Arc<Routing>,
    labels: Labels,
    /// A number per route distinguisher: the path id of an imported VPN route in an instance's
    /// table (two VPN routes for one prefix under different RDs are two paths).
    rd_ids: foldhash::HashMap<RouteDistinguisher, u32>,
    /// The destinations this engine owns among several ([`crate::shard`]).
    shard: Shard,
    /// Peers' families at an `alert-only` route limit: no new destinations taken.
    full: HashSet<(IpAddr, Family)>,
    /// Selection deferral after a restart: no output ([`Input::Defer`]).
    deferring: bool,
    /// The deferral or the initial convergence ended: [`FibOp::Reconcile`] follows the
    /// kernel operations once no next-hop answer is awaited.
    reconcile: bool,
    /// Where best-path changes of the public tables go (BMP Loc-RIB monitoring).
    loc_rib: Option<LocRib>,
    /// The IGP routes of the kernel's main table (`import-route ospf|isis|rip`):
    /// (prefix, protocol) → (gateway, metric).
    igp: BTreeMap<(IpNet, u8), (Option<IpAddr>, u32)>,
    /// Route target constraint (RFC 4684): the peers' memberships, what is advertised.
    rtc: crate::rtc::Rtc,
}

/// Where a best-path change happened.
type Domain = Option<String>;

/// A prefix of a domain, for the kernel.
type FibKey = (Option<String>, IpNet);

impl Engine {
    /// An empty RIB.
    pub fn new(config: RibConfig) -> Engine {
        Engine {
            rib: Rib::new(config),
            vrfs: BTreeMap::new(),
            ids: HashMap::new(),
            up: HashMap::new(),
            vrf_peers: HashMap::new(),
            changes: Vec::new(),
            counts_dirty: Vec::new(),
            walks: VecDeque::new(),
            dumps: VecDeque::new(),
            adj: AdjOut::default(),
            path_ids: adj_out::PathIds::default(),
            resolver: NextHopTable::default(),
            watcher: None,
            reresolve: false,
            fib: None,
            fib_dirty: (VecDeque::new(), foldhash::HashSet::default()),
            fib_soft: foldhash::HashSet::default(),
            fib_multi: foldhash::HashSet::default(),
            fib_forced: foldhash::HashSet::default(),
            routing: Arc::new(Routing::default()),
            labels: Labels::default(),
            igp: BTreeMap::new(),
            rd_ids: foldhash::HashMap::default(),
            shard: Shard::default(),
            full: HashSet::new(),
            deferring: false,
            reconcile: false,
            loc_rib: None,
            rtc: crate::rtc::Rtc::new(true),
        }
    }

    /// An empty engine owning the destinations of `shard` (see [`crate::shard`]).
    pub fn sharded(config: RibConfig, shard: Shard) -> Engine {
        let mut e = Engine::new(config);
        e.shard = shard;
        e.labels = Labels::sharded(shard.index, shard.count);
        e.rtc = crate::rtc::Rtc::new(shard.index == 0);
        e
    }

    /// The destinations this engine owns.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Asks `w` to follow the next hops and prefixes it decides with, and takes them as
    /// unreachable until [`Input::Resolved`] answers (the engine starts with every next hop
    /// reachable at cost 0).
    pub fn track_next_hops(&mut self, w: Arc<dyn Watcher>) {
        self.resolver = NextHopTable::tracking();
        self.watcher = Some(w);
    }

    /// Sends kernel operations to `fib` from now on (the engine starts without).
    pub fn set_fib(&mut self, fib: Arc<dyn FibSink>) {
        self.fib = Some(fib);
    }

    /// Destinations waiting in the largest update group's stream: a step's worth
    /// ([`adj_out::BATCH`]) is a reason to take no more input before the next step.
    pub fn pending_output(&self) -> usize {
        self.adj.pending()
    }

    /// One step of output (see [`AdjOut::flush`]); true when something was done.
    pub fn flush(&mut self) -> bool {
        let mut worked = std::mem::take(&mut self.reresolve);
        if worked {
            self.next_hops_changed();
        }
        self.show_counts();
        if let Some(w) = self.resolver.take_wanted()
            && let Some(watcher) = &self.watcher
        {
            watcher.watch(w);
            worked = true;
        }
        self.mark_paths();
        if self.deferring {
            return worked;
        }
        let vrfs = &self.vrfs;
        let lookup = |v: &str| vrfs.get(v).map(|x| &x.rib);
        let mut env = adj_out::Env {
            public: &self.rib,
            vrfs: &lookup,
            labels: &mut self.labels,
            policies: &self.routing.policies,
            path_ids: &mut self.path_ids,
            resolver: &self.resolver,
        };
        let mut progress = self.adj.flush(&mut env);
        progress |= self.rtc.drain();
        progress |= self.flush_fib();
        progress || worked
    }

    /// True while output is waiting.
    pub fn has_work(&self) -> bool {
        (!self.deferring
            && (self.adj.has_work()
                || (self.reconcile && !self.resolver.waiting())
                || (self.fib.is_some() && !self.fib_dirty.0.is_empty())))
            || self.reresolve
            || self.rtc.has_work()
            || (self.watcher.is_some() && self.resolver.has_wanted())
    }

    /// The public RIB (for tests).
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// A VPN instance's RIB (for tests).
    pub fn vrf_rib(&self, name: &str) -> Option<&Rib> {
        self.vrfs.get(name).map(|v| &v.rib)
    }

    fn id(&mut self, addr: IpAddr) -> PeerId {
        let next = PeerId(u32::try_from(self.ids.len()).unwrap_or(u32::MAX - 1) + 1);
        *self.ids.entry(addr).or_insert(next)
    }

    fn domain_rib(&self, vrf: Option<&str>) -> Option<&Rib> {
        match vrf {
            None => Some(&self.rib),
            Some(v) => self.vrfs.get(v).map(|v| &v.rib),
        }
    }

    /// Handles one input.
    pub fn handle(&mut self, m: Input) {
        self.changes.clear();
        match m {
            Input::PeerUp {
                session,
                info,
                ctx,
                out,
                vrf,
                status,
            } => {
                let addr = info.addr;
                let id = self.id(addr);
                if self.up.contains_key(&addr) {
                    // A PeerDown was lost (cannot happen with one Established connection per
                    // peer): drop the old session's routes first.
                    self.drop_peer(addr);
                }
                if let Some(v) = &vrf
                    && !self.vrfs.contains_key(v)
                {
                    warn!(peer = %addr, vrf = %v, "RIB: peer of an unknown VPN instance");
                    return;
                }
                match &vrf {
                    None => self.rib.peer_up(id, info),
                    Some(v) => {
                        if let Some(x) = self.vrfs.get_mut(v) {
                            x.rib.peer_up(id, info);
                        }
                        self.vrf_peers.insert(id, v.clone());
                    }
                }
                self.up.insert(
                    addr,
                    Up {
                        session,
                        ctx,
                        vrf: vrf.clone(),
                        status,
                    },
                );
                info!(peer = %addr, session, ?vrf, "RIB: peer up");
                if let Some(out) = &out {
                    self.rtc_up(addr, id, out);
                }
                if let Some(out) = out {
                    self.join(addr, id, out, vrf, true, false);
                }
            }
            Input::Update {
                peer,
                session,
                body,
            } => {
                let Some(up) = self.up.get(&peer) else {
                    return;
                };
                let u = match Update::decode(&body) {
                    Ok(u) => u,
                    Err(e) => {
                        warn!(peer = %peer, "RIB: UPDATE does not decode: {e}");
                        return;
                    }
                };
                let d = Digest::of(&u.parse(&up.ctx));
                if let Some(d) = crate::shard::own_part(d, self.shard) {
                    self.apply(peer, session, d);
                }
            }
            Input::Digest {
                peer,
                session,
                digest,
            } => self.apply(peer, session, *digest),
            Input::PeerDown { peer, session } => {
                if self.up.get(&peer).is_some_and(|u| u.session == session) {
                    self.drop_peer(peer);
                }
            }
            Input::PeerRestarting {
                peer,
                session,
                families,
            } => {
                if self.up.get(&peer).is_some_and(|u| u.session == session) {
                    self.restart_peer(peer, &families);
                }
            }
            Input::Settings(r) => self.settings(r, None),
            Input::Commit { routing, scope } => self.settings(routing, Some(&scope)),
            Input::Resolved(r) => {
                if !r.igp.is_empty() {
                    self.igp_learn(&r.igp);
                }
                self.reresolve |= self.resolver.learn(&r);
            }
            Input::PeerRoutes {
                peer,
                family,
                which,
                reply,
            } => {
                let Some(up) = self.up.get(&peer) else {
                    return;
                };
                let vrf = up.vrf.clone();
                let Some(&id) = self.ids.get(&peer) else {
                    return;
                };
                if which == PeerRoutes::Advertised {
                    if let Some(t) = self.peer_routes(peer, family, which) {
                        reply.send(Walked::whole(t));
                    }
                    return;
                }
                self.start_walk(vrf, family, Some((id, which)), reply);
            }
            Input::Refresh {
                peer,
                session,
                family,
                enhanced,
            } => {
                let Some(up) = self.up.get(&peer).filter(|u| u.session == session) else {
                    return;
                };
                let rib = match up.vrf.as_deref() {
                    None => Some(&self.rib),
                    Some(v) => self.vrfs.get(v).map(|x| &x.rib),
                };
                if family == Family::RTC {
                    let local = self.rtc_local();
                    self.rtc.refresh(peer, enhanced, &local);
                } else if let Some(rib) = rib {
                    self.adj.refresh(peer, family, rib, enhanced);
                }
            }
            Input::RtcWaitOver { peer, session } => {
                if self.up.get(&peer).is_some_and(|u| u.session == session) {
                    self.rtc_wait_over(peer);
                }
            }
            Input::Defer(on) => {
                if !on {
                    if self.deferring {
                        info!("RIB: selection deferral over: tables and End-of-RIB go out");
                    }
                    self.reconcile = self.fib.is_some();
                }
                self.deferring = on;
            }
            Input::RouteLimit { peer, family, full } => {
                if full {
                    self.full.insert((peer, family));
                } else {
                    self.full.remove(&(peer, family));
                }
            }
            Input::Stale { peer, family } => self.stale(peer, family, false),
            Input::PurgeStale { peer, family } => self.stale(peer, family, true),
            Input::Readvertise {
                peer,
                reflect_client,
                out,
            } => self.readvertise(peer, reflect_client, out),
            Input::Table {
                vrf,
                family,
                label,
                lookup,
                reply,
            } => {
                if label && vrf.is_none() {
                    reply.send(Walked::whole(self.label_table(family)));
                    return;
                }
                self.start_walk_for(vrf, family, None, lookup, reply);
            }
            Input::Keys {
                vrf,
                family,
                only,
                rd,
                filter,
                reply,
            } => {
                let mode = WalkMode::Keys {
                    rd,
                    keys: Vec::new(),
                    paths: 0,
                };
                self.start_keyed(vrf, family, only, filter, mode, reply);
            }
            Input::Rows {
                vrf,
                family,
                only,
                keys,
                filter,
                reply,
            } => self.start_keyed(vrf, family, only, filter, WalkMode::Rows(keys), reply),
            Input::Groups { reply } => {
                let mut w = Walked::whole(self.table(Family::IPV4_UNICAST));
                w.table.routes.clear();
                w.groups = self.adj.groups();
                reply.send(w);
            }
            Input::Stats {
                vrf,
                family,
                rd,
                reply,
            } => {
                let mode = WalkMode::Stats {
                    rd,
                    stats: TableStats::default(),
                };
                self.start_keyed(vrf, family, None, None, mode, reply);
            }
            Input::Dump { families, sink } => self.start_dump(families, sink),
            Input::LocRib(m) => self.set_loc_rib(m),
            Input::Metrics { reply } => reply.send(self.census()),
        }
    }

    /// New outbound options of an Established peer: it rejoins its update group (or another)
    /// and is sent every destination again with them. A changed client role also changes
    /// where the peer's routes may go (RFC 4456 §6), so then every peer of its domain is sent
    /// the table again. A peer that is not Established gets the options with its next session.
    fn readvertise(&mut self, peer: IpAddr, reflect_client: bool, options: Outbound) {
        let Some(&id) = self.ids.get(&peer) else {
            return;
        };
        let peers = self.adj.peers();
        let Some((_, _, _, params)) = peers.iter().find(|(a, ..)| *a == peer) else {
            return;
        };
        let domain = params.vrf.clone();
        let rib = match domain.as_deref() {
            None => Some(&mut self.rib),
            Some(v) => self.vrfs.get_mut(v).map(|x| &mut x.rib),
        };
        let mut role_changed = false;
        if let Some(rib) = rib
            && let Some(info) = rib.peer(id).copied()
        {
            let rr_client = !info.ebgp && reflect_client;
            if info.rr_client != rr_client {
                let info = PeerInfo { rr_client, ..info };
                rib.peer_up(id, info);
                role_changed = true;
                let local = self.rtc_local();
                self.rtc.set_role(peer, Role::of(id, &info), &local);
            }
        }
        for (addr, pid, tx, params) in peers {
            if addr != peer && !(role_changed && params.vrf == domain) {
                continue;
            }
            let out = PeerOut {
                tx,
                families: params.families.clone(),
                ctx: params.ctx,
                local: params.local,
                out: if addr == peer {
                    options.clone()
                } else {
                    params.out.clone()
                },
            };
            info!(peer = %addr, "RIB: table sent again with new outbound options");
            self.join(addr, pid, out, params.vrf.clone(), false, true);
        }
    }

    /// Applies an UPDATE of `peer`'s session `session` (dropped when that session is no
    /// longer the peer's current one) and sends the changes on.
    fn apply(&mut self, peer: IpAddr, session: u64, digest: Digest) {
        let Some(up) = self.up.get(&peer) else {
            return;
        };
        if up.session != session {
            return;
        }
        let Some(&id) = self.ids.get(&peer) else {
            return;
        };
        let mut digest = digest;
        if self.rtc_apply(peer, &mut digest) {
            return;
        }
        let Some(up) = self.up.get(&peer) else {
            return;
        };
        let mut changes = Vec::new();
        let vrf = up.vrf.clone();
        let rib = match &vrf {
            None => Some(&mut self.rib),
            Some(v) => self.vrfs.get_mut(v).map(|x| &mut x.rib),
        };
        let Some(rib) = rib else { return };
        if !self.full.is_empty() {
            // An alert-only route limit: routes for destinations the peer has none for are
            // not taken while it is reached.
            for r in &mut digest.reach {
                r.routes.retain(|(f, n)| {
                    !self.full.contains(&(peer, *f)) || rib.has_path(id, *f, &RouteKey::of_nlri(n))
                });
            }
        }
        let policy = ImportChain::new(&self.routing, vrf.is_none());
        match rib.apply(id, digest, &policy, &self.resolver, &mut changes) {
            Ok(s) => debug!(peer = %peer, ?s, "RIB: UPDATE applied"),
            Err(e) => debug!(peer = %peer, "RIB: UPDATE not applied: {e}"),
        }
        if up.status.is_some() && self.counts_dirty.last() != Some(&peer) {
            self.counts_dirty.push(peer);
        }
        self.propagate(vrf, changes);
    }

    /// Marks `peer`'s routes of `family` stale, or purges those still stale (`purge`), in
    /// the peer's domain (the routes imported from them follow their best-path changes).
    fn stale(&mut self, peer: IpAddr, family: Family, purge: bool) {
        let Some(&id) = self.ids.get(&peer) else {
            return;
        };
        let vrf = match self.up.get(&peer) {
            Some(u) => u.vrf.clone(),
            None => self.vrf_peers.get(&id).cloned(),
        };
        let rib = match &vrf {
            None => Some(&mut self.rib),
            Some(v) => self.vrfs.get_mut(v).map(|x| &mut x.rib),
        };
        let Some(rib) = rib else { return };
        if !purge {
            let n = rib.mark_stale(id, family);
            debug!(peer = %peer, %family, routes = n, "RIB: routes stale");
            return;
        }
        let mut changes = Vec::new();
        let n = rib.purge_stale(id, family, &self.resolver, &mut changes);
        debug!(peer = %peer, %family, routes = n, "RIB: stale routes purged");
        if n > 0 {
            if let Some(u) = self.up.get(&peer)
                && u.status.is_some()
                && self.counts_dirty.last() != Some(&peer)
            {
                self.counts_dirty.push(peer);
            }
            self.propagate(vrf, changes);
        }
    }

    /// What ends with any session of `peer`: its current session, its route-limit state, its
    /// counts and its place in the update groups. Returns the session, its domain and the
    /// peer's id (`None`: no session was up).
    fn end_session(&mut self, peer: IpAddr) -> Option<(u64, Domain, PeerId)> {
        let Up {
            session,
            vrf,
            status,
            ..
        } = self.up.remove(&peer)?;
        self.full.retain(|(a, _)| *a != peer);
        if let Some(st) = &status {
            st.received(BTreeMap::new());
        }
        self.adj.leave(peer);
        self.rtc_down(peer);
        let id = *self.ids.get(&peer)?;
        Some((session, vrf, id))
    }

    /// The session of `peer` ended and the peer restarts: its routes of `keep` become stale,
    /// the others are withdrawn; the peer is not forgotten.
    fn restart_peer(&mut self, peer: IpAddr, keep: &[Family]) {
        let Some((session, vrf, id)) = self.end_session(peer) else {
            return;
        };
        let rib = match &vrf {
            None => Some(&mut self.rib),
            Some(v) => self.vrfs.get_mut(v).map(|x| &mut x.rib),
        };
        let Some(rib) = rib else { return };
        let mut changes = Vec::new();
        let (mut stale, mut gone) = (0usize, 0usize);
        for family in Family::KNOWN {
            if keep.contains(&family) {
                stale += rib.mark_stale(id, family);
            } else {
                gone += rib.withdraw_family(id, family, &self.resolver, &mut changes);
            }
        }
        info!(peer = %peer, session, stale, withdrawn = gone, "RIB: peer restarting, routes kept stale");
        self.propagate(vrf, changes);
    }

    /// The session of `peer` ended: its routes are withdrawn.
    fn drop_peer(&mut self, peer: IpAddr) {
        let Some((session, vrf, id)) = self.end_session(peer) else {
            return;
        };
        let mut changes = Vec::new();
        let n = match &vrf {
            None => self.rib.peer_down(id, &self.resolver, &mut changes),
            Some(v) => {
                self.vrf_peers.remove(&id);
                match self.vrfs.get_mut(v) {
                    Some(x) => x.rib.peer_down(id, &self.resolver, &mut changes),
                    None => 0,
                }
            }
        };
        info!(peer = %peer, session, routes = n, "RIB: peer down, routes withdrawn");
        self.propagate(vrf.clone(), changes);
        if vrf.is_none() {
            // The peer's imported routes left the instances with its VPN routes; forget it
            // there too.
            for x in self.vrfs.values_mut() {
                let mut none = Vec::new();
                x.rib.peer_down(id, &self.resolver, &mut none);
            }
        }
    }

    /// Follows best-path changes through the domains until nothing changes: to the domain's
    /// peers; from an instance to the VPN tables (export); from the VPN tables to every
    /// instance that imports them.
    fn propagate(&mut self, domain: Domain, changes: Vec<BestChange>) {
        let mut work: Vec<(Domain, Vec<BestChange>)> = vec![(domain, changes)];
        while let Some((d, mut changes)) = work.pop() {
            // A destination whose paths changed under load balancing, the best path the same:
            // only its kernel route may change.
            changes.retain(|c| {
                if c.old != c.new {
                    return true;
                }
                self.fib_mark_soft(d.as_deref(), c.family, c.key.prefix);
                false
            });
            if changes.is_empty() {
                continue;
            }
            self.export(d.as_deref(), &changes);
            if d.is_none() {
                self.loc_rib_changes(&changes);
            }
            for c in &changes {
                self.fib_mark(d.as_deref(), c.family, c.key.prefix);
            }
            if d.is_none() {
                for c in changes.iter().filter(|c| c.new.is_none()) {
                    // Labeled unicast (IPv4, or IPv6 for 6PE) is also sent from the unicast
                    // table: its label is kept while either table has the destination.
                    if let Some(u) = c.family.unlabeled()
                        && self.rib.best(u, &c.key).is_some()
                    {
                        // Still sent labeled, from the unicast table.
                        continue;
                    }
                    if let Some(l) = c.family.labeled()
                        && self.rib.best(l, &c.key).is_none()
                    {
                        self.labels.unswap(l, c.key);
                    }
                    self.labels.unswap(c.family, c.key);
                }
            }
            match d {
                Some(v) => {
                    let public = self.vrf_to_vpn(&v, &changes);
                    work.push((None, public));
                }
                None => {
                    for (v, c) in self.vpn_to_vrfs(&changes) {
                        work.push((Some(v), c));
                    }
                }
            }
        }
    }
}

impl Engine {
    /// Puts a peer in its update group: with its initial table and End-of-RIB (`eor`), or,
    /// on a policy change (`resync`), with every destination evaluated again.
    fn join(
        &mut self,
        addr: IpAddr,
        id: PeerId,
        out: PeerOut,
        vrf: Option<String>,
        eor: bool,
        resync: bool,
    ) {
        let rib = match vrf.as_deref() {
            None => &self.rib,
            Some(v) => match self.vrfs.get(v) {
                Some(x) => &x.rib,
                None => return,
            },
        };
        let role = match rib.peer(id) {
            Some(i) => Role::of(id, i),
            None => Role::NonClient,
        };
        let export = out
            .families
            .iter()
            .filter_map(|f| {
                self.routing
                    .peer_policy(addr, *f, true)
                    .map(|n| (*f, n.to_string()))
            })
            .collect();
        let export_filters = out
            .families
            .iter()
            .filter_map(|f| {
                self.routing
                    .peer_filters(addr, *f, true)
                    .map(|x| (*f, x.clone()))
            })
            .collect();
        let rt_interest = self.rtc.interest(addr);
        let params = Params {
            vrf,
            role,
            // The route target constraint family is not sent from the tables (crate::rtc).
            families: out
                .families
                .into_iter()
                .filter(|f| *f != Family::RTC)
                .collect(),
            ctx: out.ctx,
            local: out.local,
            out: out.out,
            export,
            export_filters,
            rt_interest,
        };
        let destinations: usize = Family::KNOWN
            .iter()
            .filter(|f| params.sends(**f).is_some())
            .map(|f| rib.len(*f))
            .sum();
        info!(peer = %addr, destinations, resync, "RIB: peer joins its update group");
        let paths = params.vrf.is_none() && params.sends_paths();
        self.adj.join(addr, id, out.tx, params, rib, eor, resync);
        if paths {
            self.rib.track_paths(true);
        }
    }

    /// ADD-PATH: marks the destinations whose paths changed without a change of best path
    /// (logged by the public RIB while a group is sent several paths) in those groups; stops
    /// the log once no group is.
    fn mark_paths(&mut self) {
        if !self.rib.tracks_paths() {
            return;
        }
        for c in self.rib.take_path_changes() {
            self.adj.mark_paths(&self.rib, c.family, c.key, c.gone);
        }
        if !self.adj.sends_paths() {
            self.rib.track_paths(false);
        }
    }

    /// Marks best-path changes of a domain for every update group of the domain.
    fn export(&mut self, domain: Option<&str>, changes: &[BestChange]) {
        let rib = match domain {
            None => &self.rib,
            Some(v) => match self.vrfs.get(v) {
                Some(x) => &x.rib,
                None => return,
            },
        };
        for c in changes {
            self.adj
                .mark(rib, domain, c.family, c.key, c.old.map(|b| b.peer));
        }
    }
}

/// The RIB's configuration from the daemon's (AS 0 and router ID 0.0.0.0 without BGP).
pub fn rib_config(local_as: Option<u32>, router_id: Option<Ipv4Addr>) -> RibConfig {
    RibConfig {
        local_as: Asn(local_as.unwrap_or(0)),
        router_id: router_id.unwrap_or(Ipv4Addr::UNSPECIFIED),
        cluster_id: None,
    }
}

#[cfg(test)]
mod add_path_tests;
pub mod census;
pub mod dump;
#[cfg(test)]
mod forwarding_tests;
mod kernel;
pub mod locrib;
mod origin;
mod query;
mod redistribute;
mod rtc;
mod settings;
#[cfg(test)]
mod six_pe_tests;
#[cfg(test)]
mod tests;
mod vpn;
