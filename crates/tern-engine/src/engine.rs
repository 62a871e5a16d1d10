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
//! - Next hops resolve through [`NextHops`] (the kernel's main table in the daemon); an
//!   unreachable one makes the route ineligible, and [`Input::NextHopsChanged`] re-runs the
//!   decision.
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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ipnet::IpNet;

use serde::Serialize;
use tern_rib::rr::Role;
use tern_rib::{
    BestChange, Digest, PathAttrs, PathInfo, PeerId, PeerInfo, Rib, RibConfig, RouteKey,
};
use tern_types::{Asn, Family, Label, LabelStack, RouteDistinguisher};
use tern_wire::attr::{AsPath, Origin};

use crate::adjout::{self as adj_out, AdjOut, Params};
use crate::labels::Labels;
use crate::ports::{Counts, Everything, FibOp, FibSink, NextHops, Reply, VRF_TABLE_BASE};
use crate::routing::{LocalRoute, Routing, VrfSpec};
use tern_policy::Outcome;
use tern_wire::{Ctx, NextHop, Update};
use tracing::{debug, info, warn};

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
    /// New routing settings (start, commit, rollback).
    Settings(Arc<Routing>),
    /// The kernel's routes changed: next hops are resolved again.
    NextHopsChanged,
    /// A committed change of a peer's outbound options: its table is sent again with them,
    /// without a session reset (an announcement replaces the one sent before).
    Readvertise {
        /// Peer address.
        peer: IpAddr,
        /// `peer X reflect-client` in some family.
        reflect_client: bool,
        /// Families with `peer X next-hop-invariable`.
        next_hop_invariable: Vec<Family>,
        /// Families with `peer X next-hop-local`.
        next_hop_local: Vec<Family>,
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
        /// Where the snapshot goes (built in steps, see [`Engine::walk_step`]).
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
}

/// Which routes of a peer a display asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRoutes {
    /// Every route received (Adj-RIB-In, attributes as received).
    Received,
    /// Received routes import policy accepted (attributes after policy).
    Accepted,
    /// What the peer is sent (attributes as sent).
    Advertised,
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
    /// Families with `peer X next-hop-invariable`.
    pub next_hop_invariable: Vec<Family>,
    /// Families with `peer X next-hop-local`.
    pub next_hop_local: Vec<Family>,
}

/// One path of a routing-table display.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RouteRow {
    /// Route distinguisher (VPN families).
    pub rd: Option<String>,
    /// The prefix (`10.1.0.0/16`).
    pub prefix: String,
    /// The prefix's address.
    pub network: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// Next hop as received (VPNv6 over IPv4: `::ffff:a.b.c.d`); `None` when none could be
    /// decoded.
    pub next_hop: Option<IpAddr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// VRP preferred value.
    pub pref_val: u32,
    /// AS path as routers print it (`100 200 {300}`).
    pub as_path: String,
    /// Origin code: `i`, `e` or `?`.
    pub origin: String,
    /// Labels as received (outermost first); for routes this router originates, the label it
    /// allocated.
    pub labels: Vec<u32>,
    /// The label this router advertises the route with when it is not the received one (a
    /// route re-advertised with next hop self, a VPN route of a local instance, `apply
    /// mpls-label`): the in-label of `routing-table label`.
    pub in_label: Option<u32>,
    /// Eligible (accepted and next hop reachable).
    pub valid: bool,
    /// Selected.
    pub best: bool,
    /// Learned over IBGP.
    pub internal: bool,
    /// The peer it came from (`0.0.0.0` for local routes).
    pub from: IpAddr,
    /// ORIGINATOR_ID (RFC 4456: set by the route reflector that reflected it first).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST, the last reflector's cluster first.
    pub cluster_list: Vec<Ipv4Addr>,
}

/// A snapshot of one family's table.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RouteTable {
    /// The router ID.
    pub router_id: Ipv4Addr,
    /// The local AS.
    pub local_as: u32,
    /// The VPN instance (`None`: the public tables).
    pub vrf: Option<String>,
    /// The family (`ipv4-unicast`, `vpnv4`, ...).
    pub family: String,
    /// Destinations.
    pub destinations: usize,
    /// Every path, sorted by RD and prefix, the best path of a destination first.
    pub routes: Vec<RouteRow>,
}

impl RouteTable {
    /// Sets `destinations` from the rows (sorted by RD and prefix), after rows were filtered.
    pub fn recount(&mut self) {
        let mut keys: Vec<(Option<&str>, &str)> = self
            .routes
            .iter()
            .map(|r| (r.rd.as_deref(), r.prefix.as_str()))
            .collect();
        keys.dedup();
        self.destinations = keys.len();
    }
}

/// A table display as the RIB task answers it: a header, and each destination's rows (best
/// path first) in the table's own order; [`Walked::into_table`] sorts them, off the RIB task.
#[derive(Debug)]
pub struct Walked {
    /// The header, and rows already in order (label tables).
    pub table: RouteTable,
    /// Rows per destination, unsorted.
    pub dests: Vec<(RouteKey, Vec<RouteRow>)>,
}

impl Walked {
    /// A display built at once, rows in order.
    fn whole(table: RouteTable) -> Walked {
        Walked {
            table,
            dests: Vec::new(),
        }
    }

    /// The display: destinations sorted by RD and prefix.
    pub fn into_table(self) -> RouteTable {
        let mut t = self.table;
        let mut dests = self.dests;
        dests.sort_unstable_by_key(|d| d.0);
        t.destinations = t.destinations.saturating_add(dests.len());
        t.routes
            .extend(dests.into_iter().flat_map(|(_, rows)| rows));
        t
    }
}

/// A table display being built, a step at a time.
struct Walk {
    vrf: Option<String>,
    family: Family,
    /// One peer's received or accepted routes only (`peer X received-routes`).
    only: Option<(PeerId, PeerRoutes)>,
    /// Where the next step starts ([`Rib::walk`]).
    cursor: usize,
    dests: Vec<(RouteKey, Vec<RouteRow>)>,
    reply: Box<dyn Reply>,
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
    /// Peers routes are sent to, in update groups.
    adj: AdjOut,
    /// How next hops are resolved (the kernel's table in the daemon).
    resolver: Arc<dyn NextHops>,
    /// Where kernel installs go (`None`: not installing).
    fib: Option<Arc<dyn FibSink>>,
    /// Prefixes whose kernel route is to be brought up to date.
    fib_dirty: (VecDeque<FibKey>, foldhash::HashSet<FibKey>),
    /// The routing settings in force.
    routing: Arc<Routing>,
    labels: Labels,
    /// A number per route distinguisher: the path id of an imported VPN route in an instance's
    /// table (two VPN routes for one prefix under different RDs are two paths).
    rd_ids: foldhash::HashMap<RouteDistinguisher, u32>,
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
            adj: AdjOut::default(),
            resolver: Arc::new(Everything),
            fib: None,
            fib_dirty: (VecDeque::new(), foldhash::HashSet::default()),
            routing: Arc::new(Routing::default()),
            labels: Labels::default(),
            rd_ids: foldhash::HashMap::default(),
        }
    }

    /// Resolves next hops through `n` from now on (the engine starts with [`Everything`]).
    pub fn set_next_hops(&mut self, n: Arc<dyn NextHops>) {
        self.resolver = n;
    }

    /// Sends kernel operations to `fib` from now on (the engine starts without).
    pub fn set_fib(&mut self, fib: Arc<dyn FibSink>) {
        self.fib = Some(fib);
    }

    /// True while the Adj-RIB-Out has destinations to evaluate or messages to send.
    pub fn output_waiting(&self) -> bool {
        self.adj.has_work()
    }

    /// Destinations waiting in the largest update group's stream: a step's worth
    /// ([`adj_out::BATCH`]) is a reason to take no more input before the next step.
    pub fn pending_output(&self) -> usize {
        self.adj.pending()
    }

    /// One step of output (see [`AdjOut::flush`]); true when something was done.
    pub fn flush(&mut self) -> bool {
        self.show_counts();
        let vrfs = &self.vrfs;
        let lookup = |v: &str| vrfs.get(v).map(|x| &x.rib);
        let mut env = adj_out::Env {
            public: &self.rib,
            vrfs: &lookup,
            labels: &mut self.labels,
            policies: &self.routing.policies,
        };
        let mut progress = self.adj.flush(&mut env);
        progress |= self.flush_fib();
        progress
    }

    /// Writes the received-prefix counts of the peers whose UPDATEs were applied since the
    /// last output step into their status.
    fn show_counts(&mut self) {
        for peer in std::mem::take(&mut self.counts_dirty) {
            let (Some(up), Some(&id)) = (self.up.get(&peer), self.ids.get(&peer)) else {
                continue;
            };
            let Some(st) = &up.status else { continue };
            let rib = match &up.vrf {
                None => Some(&self.rib),
                Some(v) => self.vrfs.get(v).map(|x| &x.rib),
            };
            if let Some(rib) = rib {
                st.received(received_counts(rib, id));
            }
        }
    }

    /// Queues a display of `family` in domain `vrf` (`only`: one peer's received or accepted
    /// routes); an unknown instance gets no answer (the reply is dropped).
    fn start_walk(
        &mut self,
        vrf: Option<String>,
        family: Family,
        only: Option<(PeerId, PeerRoutes)>,
        reply: Box<dyn Reply>,
    ) {
        if self.domain_rib(vrf.as_deref()).is_none() {
            return;
        }
        self.walks.push_back(Walk {
            vrf,
            family,
            only,
            cursor: 0,
            dests: Vec::new(),
            reply,
        });
    }

    /// One step of the first table display waiting: [`WALK_STEP`] destinations turned into
    /// rows, then the display goes to the back of the queue, or its rows go to the asker when
    /// the table is done. Returns true when there was a display to work on.
    pub fn walk_step(&mut self) -> bool {
        let Some(mut w) = self.walks.pop_front() else {
            return false;
        };
        if w.reply.is_closed() {
            return true;
        }
        let Some(rib) = self.domain_rib(w.vrf.as_deref()) else {
            // The instance went away meanwhile: the reply is dropped.
            return true;
        };
        let mut paths = Vec::new();
        let next = rib.walk(w.family, w.cursor, WALK_STEP, &mut paths);
        for (key, mut p) in paths {
            let rows: Vec<RouteRow> = match w.only {
                None => {
                    p.sort_by_key(|p| (!p.best, p.peer, p.path_id));
                    p.iter()
                        .map(|p| row(rib, &key, p, &*self.resolver))
                        .collect()
                }
                Some((id, which)) => p
                    .iter()
                    .filter(|p| p.peer == id)
                    .filter_map(|p| peer_row(rib, &key, p, which, &*self.resolver))
                    .collect(),
            };
            if !rows.is_empty() {
                w.dests.push((key, rows));
            }
        }
        match next {
            Some(c) => {
                w.cursor = c;
                self.walks.push_back(w);
            }
            None => {
                let cfg = rib.config();
                let table = RouteTable {
                    router_id: cfg.router_id,
                    local_as: cfg.local_as.0,
                    vrf: w.vrf.clone(),
                    family: w.family.to_string(),
                    destinations: 0,
                    routes: Vec::new(),
                };
                w.reply.send(Walked {
                    table,
                    dests: w.dests,
                });
            }
        }
        true
    }

    /// True while a table display is being built.
    pub fn walking(&self) -> bool {
        !self.walks.is_empty()
    }

    /// True while output is waiting.
    pub fn has_work(&self) -> bool {
        self.adj.has_work() || (self.fib.is_some() && !self.fib_dirty.0.is_empty())
    }

    /// Marks a prefix of a domain for the kernel.
    fn fib_mark(&mut self, vrf: Option<&str>, family: Family, prefix: IpNet) {
        if self.fib.is_none()
            || ![
                Family::IPV4_UNICAST,
                Family::IPV6_UNICAST,
                Family::IPV4_LABELED,
            ]
            .contains(&family)
        {
            return;
        }
        let key = (vrf.map(str::to_string), prefix);
        if self.fib_dirty.1.insert(key.clone()) {
            self.fib_dirty.0.push_back(key);
        }
    }

    /// The kernel table of a VPN instance: 1000 + its rank among the instances by name
    /// (`ip route show table N`).
    pub fn vrf_table(&self, vrf: &str) -> Option<u32> {
        let i = self.vrfs.keys().position(|v| v == vrf)?;
        u32::try_from(i).ok().map(|i| VRF_TABLE_BASE + i)
    }

    /// Sends the dirty prefixes' current state to the installer while it has room: the best
    /// route learned from a peer (unicast, else labeled unicast) via its next hop, or removal
    /// (none, or a local route the kernel already has).
    fn flush_fib(&mut self) -> bool {
        let Some(fib) = self.fib.clone() else {
            return false;
        };
        let mut progress = false;
        while let Some((vrf, prefix)) = self.fib_dirty.0.front().cloned() {
            let key = RouteKey::new(prefix);
            let family = if prefix.addr().is_ipv6() {
                Family::IPV6_UNICAST
            } else {
                Family::IPV4_UNICAST
            };
            let (rib, table) = match vrf.as_deref() {
                None => (&self.rib, crate::ports::MAIN_TABLE),
                Some(v) => match (self.vrfs.get(v), self.vrf_table(v)) {
                    (Some(x), Some(t)) => (&x.rib, t),
                    _ => {
                        self.fib_dirty.0.pop_front();
                        self.fib_dirty.1.remove(&(vrf, prefix));
                        continue;
                    }
                },
            };
            let best = rib
                .best(family, &key)
                .or_else(|| {
                    (family == Family::IPV4_UNICAST && vrf.is_none())
                        .then(|| rib.best(Family::IPV4_LABELED, &key))
                        .flatten()
                })
                .filter(|b| b.peer != PeerId::LOCAL);
            let op = match best.and_then(|b| rib.attr_set(b.attrs).next_hop.addr()) {
                Some(next_hop) => FibOp::Install {
                    table,
                    prefix,
                    next_hop,
                },
                None => FibOp::Remove { table, prefix },
            };
            if fib.offer(op).is_err() {
                // The installer is full: the prefix stays first in line.
                break;
            }
            self.fib_dirty.0.pop_front();
            self.fib_dirty.1.remove(&(vrf, prefix));
            progress = true;
        }
        progress
    }

    /// The kernel's routes changed: every table runs the decision process again (next hops
    /// may have become reachable or not, their costs may differ), and every installed prefix
    /// is brought up to date (its forwarding address may have moved).
    fn next_hops_changed(&mut self) {
        let kernel: Vec<LocalRoute> = self
            .routing
            .local
            .iter()
            .filter(|l| l.kernel)
            .cloned()
            .collect();
        for l in &kernel {
            self.originate_local(l);
        }
        for family in Family::KNOWN {
            let mut ch = Vec::new();
            self.rib.reselect_all(family, &*self.resolver, &mut ch);
            self.propagate(None, ch);
        }
        let names: Vec<String> = self.vrfs.keys().cloned().collect();
        for v in names {
            for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                let mut ch = Vec::new();
                if let Some(x) = self.vrfs.get_mut(&v) {
                    x.rib.reselect_all(family, &*self.resolver, &mut ch);
                }
                self.propagate(Some(v.clone()), ch);
            }
        }
        if self.fib.is_some() {
            for family in [
                Family::IPV4_UNICAST,
                Family::IPV6_UNICAST,
                Family::IPV4_LABELED,
            ] {
                for (key, _) in self.rib.loc_rib(family) {
                    self.fib_mark(None, family, key.prefix);
                }
            }
            let names: Vec<String> = self.vrfs.keys().cloned().collect();
            for v in names {
                for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                    let keys: Vec<RouteKey> = self
                        .vrfs
                        .get(&v)
                        .map(|x| x.rib.loc_rib(family).into_iter().map(|(k, _)| k).collect())
                        .unwrap_or_default();
                    for k in keys {
                        self.fib_mark(Some(&v), family, k.prefix);
                    }
                }
            }
        }
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
                self.apply(peer, session, d);
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
            Input::Settings(r) => self.settings(r),
            Input::NextHopsChanged => self.next_hops_changed(),
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
            Input::Readvertise {
                peer,
                reflect_client,
                next_hop_invariable,
                next_hop_local,
            } => self.readvertise(peer, reflect_client, next_hop_invariable, next_hop_local),
            Input::Table {
                vrf,
                family,
                label,
                reply,
            } => {
                if label && vrf.is_none() {
                    reply.send(Walked::whole(self.label_table(family)));
                    return;
                }
                self.start_walk(vrf, family, None, reply);
            }
        }
    }

    /// New outbound options of an Established peer: it rejoins its update group (or another)
    /// and is sent every destination again with them. A changed client role also changes
    /// where the peer's routes may go (RFC 4456 §6), so then every peer of its domain is sent
    /// the table again. A peer that is not Established gets the options with its next session.
    fn readvertise(
        &mut self,
        peer: IpAddr,
        reflect_client: bool,
        next_hop_invariable: Vec<Family>,
        next_hop_local: Vec<Family>,
    ) {
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
                rib.peer_up(id, PeerInfo { rr_client, ..info });
                role_changed = true;
            }
        }
        for (addr, pid, tx, params) in peers {
            if addr != peer && !(role_changed && params.vrf == domain) {
                continue;
            }
            let (nhi, nhl) = if addr == peer {
                (next_hop_invariable.clone(), next_hop_local.clone())
            } else {
                (
                    params.next_hop_invariable.clone(),
                    params.next_hop_local.clone(),
                )
            };
            let out = PeerOut {
                tx,
                families: params.families.clone(),
                ctx: params.ctx,
                local: params.local,
                next_hop_invariable: nhi,
                next_hop_local: nhl,
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
        let mut changes = Vec::new();
        let vrf = up.vrf.clone();
        let rib = match &vrf {
            None => Some(&mut self.rib),
            Some(v) => self.vrfs.get_mut(v).map(|x| &mut x.rib),
        };
        let Some(rib) = rib else { return };
        let policy = ImportChain::new(&self.routing, vrf.is_none());
        match rib.apply(id, digest, &policy, &*self.resolver, &mut changes) {
            Ok(s) => debug!(peer = %peer, ?s, "RIB: UPDATE applied"),
            Err(e) => debug!(peer = %peer, "RIB: UPDATE not applied: {e}"),
        }
        if up.status.is_some() && self.counts_dirty.last() != Some(&peer) {
            self.counts_dirty.push(peer);
        }
        self.propagate(vrf, changes);
    }

    /// The session of `peer` ended: its routes are withdrawn.
    fn drop_peer(&mut self, peer: IpAddr) {
        let Some(Up {
            session,
            vrf,
            status,
            ..
        }) = self.up.remove(&peer)
        else {
            return;
        };
        if let Some(st) = &status {
            st.received(BTreeMap::new());
        }
        self.adj.leave(peer);
        let Some(&id) = self.ids.get(&peer) else {
            return;
        };
        let mut changes = Vec::new();
        let n = match &vrf {
            None => self.rib.peer_down(id, &*self.resolver, &mut changes),
            Some(v) => {
                self.vrf_peers.remove(&id);
                match self.vrfs.get_mut(v) {
                    Some(x) => x.rib.peer_down(id, &*self.resolver, &mut changes),
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
                x.rib.peer_down(id, &*self.resolver, &mut none);
            }
        }
    }

    /// Follows best-path changes through the domains until nothing changes: to the domain's
    /// peers; from an instance to the VPN tables (export); from the VPN tables to every
    /// instance that imports them.
    fn propagate(&mut self, domain: Domain, changes: Vec<BestChange>) {
        let mut work: Vec<(Domain, Vec<BestChange>)> = vec![(domain, changes)];
        while let Some((d, changes)) = work.pop() {
            if changes.is_empty() {
                continue;
            }
            self.export(d.as_deref(), &changes);
            for c in &changes {
                self.fib_mark(d.as_deref(), c.family, c.key.prefix);
            }
            if d.is_none() {
                for c in changes.iter().filter(|c| c.new.is_none()) {
                    let unicast = self.rib.best(Family::IPV4_UNICAST, &c.key).is_some();
                    let labeled = self.rib.best(Family::IPV4_LABELED, &c.key).is_some();
                    if c.family == Family::IPV4_LABELED && unicast {
                        // Still sent labeled, from the unicast table.
                        continue;
                    }
                    if c.family == Family::IPV4_UNICAST && !labeled {
                        self.labels.unswap(Family::IPV4_LABELED, c.key);
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

    /// True when `peer`'s path in instance `vrf` was imported from the VPN tables.
    fn imported(&self, vrf: &str, peer: PeerId) -> bool {
        peer != PeerId::LOCAL && self.vrf_peers.get(&peer).is_none_or(|v| v != vrf)
    }

    /// Export (RFC 4364 §4.3.1): an instance route that is best and was not itself imported
    /// becomes a VPN route with the instance's RD, export route targets and a label (per
    /// instance or per route); a route no longer best (or gone) is withdrawn from the VPN
    /// table.
    fn vrf_to_vpn(&mut self, vrf: &str, changes: &[BestChange]) -> Vec<BestChange> {
        let mut out = Vec::new();
        for c in changes {
            let new = c.new.filter(|b| !self.imported(vrf, b.peer));
            let Some(x) = self.vrfs.get_mut(vrf) else {
                return out;
            };
            let Some(spec) = x.spec(c.family).cloned() else {
                continue;
            };
            let vpn = spec.vpn_family();
            let key = RouteKey::vpn(spec.rd, c.key.prefix);
            match new {
                Some(b) => {
                    let mut a = x.rib.attrs(b.attrs);
                    a.preferred_value = 0;
                    for rt in &spec.export_rt {
                        if !a.ext_communities.contains(rt) {
                            a.ext_communities.push(*rt);
                        }
                    }
                    let label =
                        self.labels
                            .export(vrf, c.family, c.key.prefix, spec.per_instance_label);
                    self.rib.originate(
                        vpn,
                        key,
                        &a,
                        LabelStack::single(label),
                        &*self.resolver,
                        &mut out,
                    );
                }
                None => {
                    if self.labels.unexport(vrf, c.family, c.key.prefix) {
                        self.rib.withdraw_local(vpn, key, &*self.resolver, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Import (RFC 4364 §4.3.2): a VPN best path received from a peer goes into every
    /// instance of its family whose import route targets it carries, next hop, label and
    /// attributes kept; its change or withdrawal follows.
    fn vpn_to_vrfs(&mut self, changes: &[BestChange]) -> Vec<(String, Vec<BestChange>)> {
        let mut out: Vec<(String, Vec<BestChange>)> = Vec::new();
        // A transit speaker (RR, ASBR) has no instance importing the family: nothing to do
        // per route.
        let importing = |f: Family| {
            self.vrfs
                .values()
                .any(|x| x.specs.iter().any(|s| s.vpn_family() == f))
        };
        let (v4, v6) = (importing(Family::VPNV4), importing(Family::VPNV6));
        for c in changes {
            let wanted = match c.family {
                Family::VPNV4 => v4,
                Family::VPNV6 => v6,
                _ => false,
            };
            if !wanted || !c.family.has_rd() {
                continue;
            }
            let Some(rd) = c.key.rd else { continue };
            let next = u32::try_from(self.rd_ids.len()).unwrap_or(u32::MAX);
            let path_id = *self.rd_ids.entry(rd).or_insert(next);
            let prefix_key = RouteKey::new(c.key.prefix);
            let new = c.new.filter(|b| b.peer != PeerId::LOCAL);
            let old = c.old.filter(|b| b.peer != PeerId::LOCAL);
            let new_attrs = new.map(|b| (b, self.rib.attrs(b.attrs)));
            let new_info = new.and_then(|b| self.rib.peer(b.peer).copied());
            for (name, x) in &mut self.vrfs {
                let Some(spec) = x.specs.iter().find(|s| s.vpn_family() == c.family) else {
                    continue;
                };
                let family = spec.family;
                let wants =
                    |a: &PathAttrs| a.ext_communities.iter().any(|e| spec.import_rt.contains(e));
                let mut ch = Vec::new();
                if let Some(o) = old
                    && new.is_none_or(|n| n.peer != o.peer)
                {
                    x.rib.withdraw_path(
                        family,
                        prefix_key,
                        o.peer,
                        path_id,
                        &*self.resolver,
                        &mut ch,
                    );
                }
                match (&new_attrs, new_info) {
                    (Some((b, a)), Some(info)) if wants(a) => {
                        if x.rib.peer(b.peer) != Some(&info) {
                            x.rib.peer_up(b.peer, info);
                        }
                        x.rib.inject(
                            family,
                            prefix_key,
                            b.peer,
                            path_id,
                            a,
                            b.labels,
                            &*self.resolver,
                            &mut ch,
                        );
                    }
                    (Some((b, _)), _) => {
                        x.rib.withdraw_path(
                            family,
                            prefix_key,
                            b.peer,
                            path_id,
                            &*self.resolver,
                            &mut ch,
                        );
                    }
                    (None, _) => {}
                }
                if !ch.is_empty() {
                    match out.iter_mut().find(|(n, _)| n == name) {
                        Some((_, v)) => v.extend(ch),
                        None => out.push((name.clone(), ch)),
                    }
                }
            }
        }
        out
    }

    /// New routing settings: instances created, changed or removed; local routes originated
    /// or withdrawn; VPN routes filtered again by route target.
    fn settings(&mut self, r: Arc<Routing>) {
        let old = std::mem::replace(&mut self.routing, r.clone());
        let cfg = *self.rib.config();
        // Instances whose definition changed are rebuilt (their routes withdrawn first).
        let names: HashSet<&str> = old
            .vrfs
            .iter()
            .chain(r.vrfs.iter())
            .map(|s| s.name.as_str())
            .collect();
        let mut rebuilt = Vec::new();
        for name in names {
            let o: Vec<&VrfSpec> = old.vrfs.iter().filter(|s| s.name == name).collect();
            let n: Vec<&VrfSpec> = r.vrfs.iter().filter(|s| s.name == name).collect();
            if o != n {
                rebuilt.push(name.to_string());
            }
        }
        for name in &rebuilt {
            if let Some(x) = self.vrfs.remove(name) {
                // Withdraw what the instance exported.
                let mut ch = Vec::new();
                for (family, prefix) in self.labels.drop_instance(name) {
                    if let Some(spec) = x.specs.iter().find(|s| s.family == family) {
                        self.rib.withdraw_local(
                            spec.vpn_family(),
                            RouteKey::vpn(spec.rd, prefix),
                            &*self.resolver,
                            &mut ch,
                        );
                    }
                }
                self.propagate(None, ch);
            }
            let specs: Vec<VrfSpec> = r.vrfs.iter().filter(|s| &s.name == name).cloned().collect();
            if !specs.is_empty() {
                self.vrfs.insert(
                    name.clone(),
                    Vrf {
                        rib: Rib::new(cfg),
                        specs,
                    },
                );
            }
        }
        // Local routes: withdraw what is gone, originate what is new or changed (rebuilt
        // instances originate all theirs again).
        for l in &old.local {
            let gone = !r.local.contains(l) || l.vrf.as_ref().is_some_and(|v| rebuilt.contains(v));
            if gone
                && !r
                    .local
                    .iter()
                    .any(|n| n.vrf == l.vrf && n.prefix == l.prefix)
            {
                self.withdraw_local_route(l);
            }
        }
        for l in &r.local {
            let fresh =
                !old.local.contains(l) || l.vrf.as_ref().is_some_and(|v| rebuilt.contains(v));
            if fresh {
                self.originate_local(l);
            }
        }
        if old.policies != r.policies || old.peer_policies != r.peer_policies {
            self.policies_changed(&old);
        }
        // Route-target filtering and instance imports follow the new instances: the VPN
        // routes received are filtered again, and every instance that was rebuilt imports
        // the VPN tables again.
        if old.vrfs != r.vrfs || old.keep_all_vpn != r.keep_all_vpn {
            let peers: Vec<PeerId> = self
                .up
                .iter()
                .filter(|(_, u)| u.vrf.is_none())
                .filter_map(|(a, _)| self.ids.get(a).copied())
                .collect();
            for id in peers {
                let mut ch = Vec::new();
                let policy = ImportChain::new(&self.routing, true);
                if let Err(e) = self.rib.reimport(id, &policy, &*self.resolver, &mut ch) {
                    debug!("RIB: reimport: {e}");
                }
                self.propagate(None, ch);
            }
            for family in [Family::VPNV4, Family::VPNV6] {
                let all: Vec<BestChange> = self
                    .rib
                    .loc_rib(family)
                    .into_iter()
                    .map(|(key, b)| BestChange {
                        family,
                        key,
                        old: None,
                        new: Some(b),
                    })
                    .collect();
                let per_vrf = self.vpn_to_vrfs(&all);
                for (v, c) in per_vrf {
                    if rebuilt.contains(&v) {
                        self.propagate(Some(v), c);
                    }
                }
            }
        }
    }

    /// Route policies changed: every peer's routes are run through import policy again and
    /// every peer is sent what its export policy now gives (no session reset, no route
    /// refresh: the Adj-RIB-In is kept); local routes with a policy are originated again.
    fn policies_changed(&mut self, old: &Routing) {
        let peers: Vec<(IpAddr, Option<String>)> =
            self.up.iter().map(|(a, u)| (*a, u.vrf.clone())).collect();
        for (addr, vrf) in peers {
            let Some(&id) = self.ids.get(&addr) else {
                continue;
            };
            let mut ch = Vec::new();
            let policy = ImportChain::new(&self.routing, vrf.is_none());
            let r = match &vrf {
                None => self.rib.reimport(id, &policy, &*self.resolver, &mut ch),
                Some(v) => match self.vrfs.get_mut(v) {
                    Some(x) => x.rib.reimport(id, &policy, &*self.resolver, &mut ch),
                    None => continue,
                },
            };
            if let Err(e) = r {
                debug!("RIB: reimport: {e}");
            }
            self.propagate(vrf, ch);
        }
        for (addr, id, tx, params) in self.adj.peers() {
            let out = PeerOut {
                tx,
                families: params.families.clone(),
                ctx: params.ctx,
                local: params.local,
                next_hop_invariable: params.next_hop_invariable.clone(),
                next_hop_local: params.next_hop_local.clone(),
            };
            self.join(addr, id, out, params.vrf.clone(), false, true);
        }
        let locals: Vec<LocalRoute> = self
            .routing
            .local
            .iter()
            .filter(|l| l.policy.is_some())
            .cloned()
            .collect();
        for l in locals {
            if old.local.contains(&l) {
                self.originate_local(&l);
            }
        }
    }

    fn local_attrs(l: &LocalRoute) -> PathAttrs {
        let nh = match (l.next_hop, l.prefix) {
            (Some(IpAddr::V4(a)), _) => NextHop::Ipv4(a),
            (Some(IpAddr::V6(a)), _) => NextHop::Ipv6 {
                global: a,
                link_local: None,
            },
            (None, IpNet::V4(_)) => NextHop::Ipv4(Ipv4Addr::UNSPECIFIED),
            (None, IpNet::V6(_)) => NextHop::Ipv6 {
                global: std::net::Ipv6Addr::UNSPECIFIED,
                link_local: None,
            },
        };
        let mut a = PathAttrs::new(l.origin, AsPath::empty(true), nh);
        a.med = l.med;
        a
    }

    fn local_family(l: &LocalRoute) -> Family {
        if l.labeled {
            Family::IPV4_LABELED
        } else if l.prefix.addr().is_ipv6() {
            Family::IPV6_UNICAST
        } else {
            Family::IPV4_UNICAST
        }
    }

    /// True when the kernel's main table holds exactly `prefix` from something other than
    /// tern (a `network` of an IGP route).
    fn kernel_has(&self, prefix: IpNet) -> bool {
        self.resolver.holds(prefix)
    }

    fn originate_local(&mut self, l: &LocalRoute) {
        if l.kernel && !self.kernel_has(l.prefix) {
            // `network` of a prefix the routing table does not hold (VRP: exact match).
            self.withdraw_local_route(l);
            return;
        }
        let mut a = Self::local_attrs(l);
        let family = Self::local_family(l);
        let key = RouteKey::new(l.prefix);
        if let Some(name) = &l.policy {
            let none = LabelStack::new();
            let mut input = tern_policy::RouteInput::new(&key, &a, &none);
            input.originated = true;
            match self.routing.policies.evaluate(name, &input) {
                Outcome::Deny => {
                    // The policy refuses the route: not originated (withdrawn if it was).
                    self.withdraw_local_route(l);
                    return;
                }
                Outcome::Permit { attrs: Some(m), .. } => a = *m,
                Outcome::Permit { attrs: None, .. } => {}
            }
        }
        // A labeled-unicast network carries a label of ours (the in-label of `display bgp
        // routing-table label`).
        let stack = if l.labeled {
            LabelStack::single(self.labels.swap(family, key))
        } else {
            LabelStack::new()
        };
        let mut ch = Vec::new();
        let ok = match &l.vrf {
            None => self
                .rib
                .originate(family, key, &a, stack, &*self.resolver, &mut ch),
            Some(v) => match self.vrfs.get_mut(v) {
                Some(x) => x
                    .rib
                    .originate(family, key, &a, stack, &*self.resolver, &mut ch),
                None => false,
            },
        };
        if ok {
            debug!(prefix = %l.prefix, vrf = ?l.vrf, "RIB: local route");
        }
        self.propagate(l.vrf.clone(), ch);
    }

    fn withdraw_local_route(&mut self, l: &LocalRoute) {
        let family = Self::local_family(l);
        let key = RouteKey::new(l.prefix);
        if l.labeled {
            self.labels.unswap(family, key);
        }
        let mut ch = Vec::new();
        match &l.vrf {
            None => {
                self.rib
                    .withdraw_local(family, key, &*self.resolver, &mut ch);
            }
            Some(v) => {
                if let Some(x) = self.vrfs.get_mut(v) {
                    x.rib.withdraw_local(family, key, &*self.resolver, &mut ch);
                }
            }
        }
        self.propagate(l.vrf.clone(), ch);
    }

    /// Every path of `family`, for the displays (public tables, or VPN instance `vrf`'s).
    pub fn table(&self, family: Family) -> RouteTable {
        self.table_of(None, family).unwrap_or_else(|| RouteTable {
            router_id: self.rib.config().router_id,
            local_as: self.rib.config().local_as.0,
            vrf: None,
            family: family.to_string(),
            destinations: 0,
            routes: Vec::new(),
        })
    }

    /// The best paths of a public labeled family with their in- and out-labels (`display bgp
    /// routing-table label`, `display bgp vpnv4 all routing-table label`); for IPv4, the IPv4
    /// unicast routes this router gave a label are listed too.
    pub fn label_table(&self, family: Family) -> RouteTable {
        let mut t = self.table(family);
        t.routes.retain(|r| r.best);
        for r in &mut t.routes {
            let key = RouteKey {
                rd: r.rd.as_deref().and_then(|rd| rd.parse().ok()),
                prefix: IpNet::new(r.network, r.prefix_len)
                    .unwrap_or(IpNet::V4(Default::default())),
            };
            if r.from == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
                // A local instance's route: the label is ours, nothing comes in with it.
                r.in_label = r.labels.first().copied();
                r.labels.clear();
            } else {
                r.in_label = self.labels.swapped(family, &key).map(|l| l.0);
            }
        }
        if family == Family::IPV4_LABELED {
            let unicast = self.table(Family::IPV4_UNICAST);
            for mut r in unicast.routes.into_iter().filter(|r| r.best) {
                let Ok(prefix) = IpNet::new(r.network, r.prefix_len) else {
                    continue;
                };
                if t.routes.iter().any(|x| x.prefix == r.prefix) {
                    continue;
                }
                if let Some(l) = self.labels.swapped(family, &RouteKey::new(prefix)) {
                    r.in_label = Some(l.0);
                    t.routes.push(r);
                }
            }
            t.routes.sort_by_key(|r| (r.network, r.prefix_len));
        }
        t.destinations = t.routes.len();
        t
    }

    /// One peer's routes of `family`: received, accepted, or advertised; `None` when the
    /// peer is not up.
    pub fn peer_routes(
        &mut self,
        peer: IpAddr,
        family: Family,
        which: PeerRoutes,
    ) -> Option<RouteTable> {
        let vrf = self.up.get(&peer)?.vrf.clone();
        let id = *self.ids.get(&peer)?;
        let mut routes = Vec::new();
        match which {
            PeerRoutes::Received | PeerRoutes::Accepted => {
                let rib = self.domain_rib(vrf.as_deref())?;
                let mut paths = rib.adj_rib_in(id, family);
                paths.sort_by_key(|p| p.0);
                routes.extend(
                    paths
                        .iter()
                        .filter_map(|(key, p)| peer_row(rib, key, p, which, &*self.resolver)),
                );
            }
            PeerRoutes::Advertised => {
                let vrfs = &self.vrfs;
                let lookup = |v: &str| vrfs.get(v).map(|x| &x.rib);
                let mut env = adj_out::Env {
                    public: &self.rib,
                    vrfs: &lookup,
                    labels: &mut self.labels,
                    policies: &self.routing.policies,
                };
                let sent = self.adj.advertised(peer, family, &mut env)?;
                for (key, a, labels) in sent {
                    routes.push(attrs_row(&key, &a, labels));
                }
            }
        }
        let cfg = self.rib.config();
        let mut t = RouteTable {
            router_id: cfg.router_id,
            local_as: cfg.local_as.0,
            vrf,
            family: family.to_string(),
            destinations: 0,
            routes,
        };
        t.recount();
        Some(t)
    }

    /// Every path of `family` in the public tables or VPN instance `vrf`'s; `None` when the
    /// instance does not exist.
    pub fn table_of(&self, vrf: Option<&str>, family: Family) -> Option<RouteTable> {
        let rib = self.domain_rib(vrf)?;
        let cfg = rib.config();
        let mut dests: BTreeMap<RouteKey, Vec<PathInfo>> = BTreeMap::new();
        let peers = std::iter::once(PeerId::LOCAL).chain(self.ids.values().copied());
        for peer in peers {
            for (k, p) in rib.adj_rib_in(peer, family) {
                dests.entry(k).or_default().push(p);
            }
        }
        let mut routes = Vec::new();
        for (key, mut paths) in dests.iter().map(|(k, v)| (k, v.clone())) {
            paths.sort_by_key(|p| (!p.best, p.peer, p.path_id));
            for p in paths {
                routes.push(row(rib, key, &p, &*self.resolver));
            }
        }
        Some(RouteTable {
            router_id: cfg.router_id,
            local_as: cfg.local_as.0,
            vrf: vrf.map(str::to_string),
            family: family.to_string(),
            destinations: dests.len(),
            routes,
        })
    }
}

/// Import policy of one peer's UPDATEs: `policy vpn-target` (RFC 4364 §4.3.3, VRP's
/// default: a VPN route none of the local instances imports is not kept, unless the family has
/// `undo policy vpn-target`), then the peer's `route-policy P import` for the family.
struct ImportChain<'a> {
    routing: &'a Routing,
    /// Public peer (VPN target filtering applies) or PE–CE peer.
    public: bool,
}

impl<'a> ImportChain<'a> {
    fn new(routing: &'a Routing, public: bool) -> Self {
        ImportChain { routing, public }
    }
}

impl tern_rib::ImportPolicy for ImportChain<'_> {
    fn import(
        &self,
        _: PeerId,
        info: &PeerInfo,
        family: Family,
        key: &RouteKey,
        attrs: &PathAttrs,
    ) -> tern_rib::Verdict {
        if self.public && family.has_rd() && !self.routing.keep_all_vpn.contains(&family) {
            let imported = self.routing.vrfs.iter().any(|s| {
                s.vpn_family() == family
                    && attrs
                        .ext_communities
                        .iter()
                        .any(|e| s.import_rt.contains(e))
            });
            if !imported {
                return tern_rib::Verdict::Deny;
            }
        }
        let Some(name) = self.routing.peer_policy(info.addr, family, false) else {
            return tern_rib::Verdict::Accept;
        };
        // The import policy does not see the labels (if-match mpls-label matches labeled
        // families' routes by family instead).
        let labels = if family.has_labels() {
            LabelStack::single(Label(3))
        } else {
            LabelStack::new()
        };
        let input = tern_policy::RouteInput::new(key, attrs, &labels);
        match self.routing.policies.evaluate(name, &input) {
            Outcome::Deny => tern_rib::Verdict::Deny,
            Outcome::Permit { attrs: None, .. } => tern_rib::Verdict::Accept,
            Outcome::Permit { attrs: Some(a), .. } => tern_rib::Verdict::Modify(a),
        }
    }
}

/// A path as `peer X received-routes` (attributes as received, before import policy) or
/// `accepted-routes` (only accepted paths, attributes after policy) shows it.
fn peer_row(
    rib: &Rib,
    key: &RouteKey,
    p: &PathInfo,
    which: PeerRoutes,
    resolver: &dyn NextHops,
) -> Option<RouteRow> {
    if which == PeerRoutes::Accepted && !p.attrs.is_some() {
        return None;
    }
    let mut r = row(rib, key, p, resolver);
    if which == PeerRoutes::Received {
        let a = rib.attrs(p.in_attrs);
        r.med = a.med;
        r.local_pref = a.local_pref;
        r.pref_val = a.preferred_value;
    }
    Some(r)
}

fn row(rib: &Rib, key: &RouteKey, p: &PathInfo, resolver: &dyn NextHops) -> RouteRow {
    let accepted = p.attrs.is_some();
    let id = if accepted { p.attrs } else { p.in_attrs };
    let set = rib.attr_set(id);
    // Valid: accepted, and a next hop that resolves (local routes always do).
    let valid = accepted
        && (p.peer == PeerId::LOCAL
            || set
                .next_hop
                .addr()
                .is_some_and(|nh| resolver.igp_cost(Family::IPV4_UNICAST, nh).is_some()));
    let path = rib.store().as_path(set).path().to_string();
    let info = rib.peer(p.peer);
    RouteRow {
        rd: key.rd.map(|rd| rd.to_string()),
        prefix: key.prefix.to_string(),
        network: key.prefix.addr(),
        prefix_len: key.prefix.prefix_len(),
        next_hop: match &set.next_hop {
            NextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
            NextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
            NextHop::Other(_) => None,
        },
        med: set.med,
        local_pref: set.local_pref,
        pref_val: set.preferred_value,
        as_path: path,
        origin: match set.origin {
            Origin::Igp => "i",
            Origin::Egp => "e",
            Origin::Incomplete => "?",
        }
        .into(),
        labels: p.labels.labels().map(|l| l.0).collect(),
        in_label: None,
        valid,
        best: p.best,
        internal: p.peer != PeerId::LOCAL && info.is_some_and(|i| !i.ebgp),
        from: info.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |i| i.addr),
        originator_id: set.originator_id,
        cluster_list: rib.store().cluster_list(set).to_vec(),
    }
}

/// A row for a route as it is sent.
fn attrs_row(key: &RouteKey, a: &PathAttrs, labels: LabelStack) -> RouteRow {
    RouteRow {
        rd: key.rd.map(|rd| rd.to_string()),
        prefix: key.prefix.to_string(),
        network: key.prefix.addr(),
        prefix_len: key.prefix.prefix_len(),
        next_hop: match &a.next_hop {
            NextHop::Ipv4(x) => Some(IpAddr::V4(*x)),
            NextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
            NextHop::Other(_) => None,
        },
        med: a.med,
        local_pref: a.local_pref,
        pref_val: a.preferred_value,
        as_path: a.as_path.to_string(),
        origin: match a.origin {
            Origin::Igp => "i",
            Origin::Egp => "e",
            Origin::Incomplete => "?",
        }
        .into(),
        labels: labels.labels().map(|l| l.0).collect(),
        in_label: None,
        valid: true,
        best: true,
        internal: false,
        from: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        originator_id: a.originator_id,
        cluster_list: a.cluster_list.clone(),
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
        let params = Params {
            vrf,
            role,
            families: out.families,
            ctx: out.ctx,
            local: out.local,
            next_hop_invariable: out.next_hop_invariable,
            next_hop_local: out.next_hop_local,
            export,
        };
        let destinations: usize = Family::KNOWN
            .iter()
            .filter(|f| params.sends(**f).is_some())
            .map(|f| rib.len(*f))
            .sum();
        info!(peer = %addr, destinations, resync, "RIB: peer joins its update group");
        self.adj.join(addr, id, out.tx, params, rib, eor, resync);
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

/// The routes held from peer `id` per family, as the displays name the families.
fn received_counts(rib: &Rib, id: PeerId) -> BTreeMap<String, u64> {
    rib.received(id)
        .into_iter()
        .map(|(f, n)| (f.to_string(), n))
        .collect()
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
mod tests {
    use super::*;
    use crate::labels::FIRST_LABEL;
    use bytes::Bytes;
    use std::sync::mpsc;

    /// A display's reply channel, as the daemon's oneshot.
    mod oneshot {
        use super::*;

        impl Reply for mpsc::SyncSender<Walked> {
            fn is_closed(&self) -> bool {
                false
            }
            fn send(self: Box<Self>, w: Walked) {
                let _ = self.try_send(w);
            }
        }

        pub fn channel() -> (Box<dyn Reply>, mpsc::Receiver<Walked>) {
            let (tx, rx) = mpsc::sync_channel(1);
            (Box::new(tx), rx)
        }
    }

    /// A new session number.
    fn new_session() -> u64 {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1000);
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A bounded in-memory writer queue standing in for a connection's.
    impl adj_out::Sink for mpsc::SyncSender<Bytes> {
        fn offer(&self, b: Bytes) -> adj_out::Offer {
            match self.try_send(b) {
                Ok(()) => adj_out::Offer::Taken,
                Err(mpsc::TrySendError::Full(b)) => adj_out::Offer::Full(b),
                Err(mpsc::TrySendError::Disconnected(_)) => adj_out::Offer::Closed,
            }
        }
    }
    use tern_rib::PathAttrs;
    use tern_types::{Label, LabelStack, RouteDistinguisher};
    use tern_wire::attr::AsPath;
    use tern_wire::{Nlri, UpdateBuilder};

    const PEER: &str = "10.0.0.2";

    /// A transit speaker: VPN routes kept whatever their route targets.
    fn transit() -> Arc<Routing> {
        Arc::new(Routing {
            keep_all_vpn: vec![Family::VPNV4, Family::VPNV6],
            ..Routing::default()
        })
    }

    fn task() -> Engine {
        let mut t = Engine::new(rib_config(Some(100), Some("10.0.0.1".parse().unwrap())));
        t.handle(Input::Settings(transit()));
        t
    }

    fn up(t: &mut Engine, session: u64) {
        t.handle(Input::PeerUp {
            session,
            info: PeerInfo {
                addr: PEER.parse().unwrap(),
                router_id: "10.0.0.2".parse().unwrap(),
                asn: Asn(200),
                ebgp: true,
                rr_client: false,
                preferred_value: 0,
            },
            ctx: Ctx {
                ebgp: true,
                ..Ctx::default()
            },
            out: None,
            vrf: None,
            status: None,
        });
    }

    /// The body of an UPDATE announcing `n` in `family` with next hop `nh`, AS path 200.
    fn body(family: Family, nh: NextHop, n: Nlri) -> Vec<u8> {
        let a = PathAttrs::new(Origin::Igp, AsPath::sequence(&[200], true), nh.clone());
        let mut out = Vec::new();
        UpdateBuilder::new(&Ctx::default())
            .reach(family, &nh, &a.to_wire(true), &[n], &mut out)
            .unwrap();
        out.remove(0).split_off(19)
    }

    fn vpn6_route() -> Nlri {
        Nlri {
            path_id: None,
            rd: Some(RouteDistinguisher::type0(200, 1)),
            labels: LabelStack::single(Label(1000)),
            prefix: "2001:db8:a::/48".parse().unwrap(),
        }
    }

    #[test]
    fn routes_come_and_go_with_the_session() {
        let mut t = task();
        up(&mut t, 7);
        let nh = NextHop::ipv4_mapped("10.0.0.2".parse().unwrap());
        t.handle(Input::Update {
            peer: PEER.parse().unwrap(),
            session: 7,
            body: body(Family::VPNV6, nh, vpn6_route()),
        });
        let tab = t.table(Family::VPNV6);
        assert_eq!(tab.routes.len(), 1);
        let r = &tab.routes[0];
        assert_eq!(r.rd.as_deref(), Some("200:1"));
        assert_eq!(r.prefix, "2001:db8:a::/48");
        assert_eq!(r.labels, vec![1000]);
        assert_eq!(r.next_hop, Some("::ffff:10.0.0.2".parse().unwrap()));
        assert!(r.valid && r.best && !r.internal);
        assert_eq!(r.as_path, "200");
        assert_eq!(r.origin, "i");
        let text = crate::display::routing_table(&tab, crate::display::TableKind::Vpnv6);
        assert!(text.contains(" Route Distinguisher: 200:1\n"), "{text}");
        assert!(text.contains(" *>  Network  : 2001:DB8:A::"), "{text}");
        assert!(text.contains("     NextHop  : ::FFFF:10.0.0.2 "), "{text}");
        assert!(text.contains("     Label    : 1000\n"), "{text}");
        assert!(text.contains("     Path/Ogn : 200i\n"), "{text}");

        // A message of an older session is ignored; the session's end withdraws the routes.
        t.handle(Input::PeerDown {
            peer: PEER.parse().unwrap(),
            session: 6,
        });
        assert_eq!(t.table(Family::VPNV6).routes.len(), 1);
        t.handle(Input::PeerDown {
            peer: PEER.parse().unwrap(),
            session: 7,
        });
        assert!(t.table(Family::VPNV6).routes.is_empty());
        assert_eq!(t.rib().counts(Family::VPNV6), (0, 0));
    }

    #[test]
    fn ipv4_unicast_display() {
        let mut t = task();
        up(&mut t, 1);
        let n = Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::new(),
            prefix: "192.0.2.0/24".parse().unwrap(),
        };
        t.handle(Input::Update {
            peer: PEER.parse().unwrap(),
            session: 1,
            body: body(
                Family::IPV4_UNICAST,
                NextHop::Ipv4("10.0.0.2".parse().unwrap()),
                n,
            ),
        });
        let tab = t.table(Family::IPV4_UNICAST);
        let text = crate::display::routing_table(&tab, crate::display::TableKind::Unicast);
        assert!(text.contains(" Total Number of Routes: 1\n"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with(" *>   192.0.2.0/24       10.0.0.2")
                    && l.ends_with(" 0      200i")),
            "{text}"
        );
    }

    /// An UPDATE of `PEER` (session 1) announcing 10.x.y.0/24 for `i` = x·256 + y.
    fn announce_v4(t: &mut Engine, i: u32) {
        let n = Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::new(),
            prefix: IpNet::new(Ipv4Addr::from(0x0a00_0000 | (i << 8)).into(), 24).unwrap(),
        };
        t.handle(Input::Update {
            peer: PEER.parse().unwrap(),
            session: 1,
            body: body(
                Family::IPV4_UNICAST,
                NextHop::Ipv4("10.0.0.2".parse().unwrap()),
                n,
            ),
        });
    }

    #[test]
    fn a_large_display_is_built_in_steps_between_updates() {
        let mut t = task();
        up(&mut t, 1);
        let n = u32::try_from(2 * WALK_STEP + 10).unwrap();
        for i in 0..n {
            announce_v4(&mut t, i);
        }
        let (reply, rx) = oneshot::channel();
        t.handle(Input::Table {
            vrf: None,
            family: Family::IPV4_UNICAST,
            label: false,
            reply,
        });
        assert!(t.walking());
        assert!(t.walk_step());
        assert!(
            rx.try_recv().is_err(),
            "one step does not finish the display"
        );
        // Route processing goes on between steps; a route added meanwhile is shown.
        announce_v4(&mut t, n);
        let mut steps = 1;
        while t.walk_step() {
            steps += 1;
        }
        assert_eq!(steps, 3);
        assert!(!t.walking());
        let shown = rx.try_recv().expect("display done").into_table();
        assert_eq!(shown.destinations, usize::try_from(n).unwrap() + 1);
        assert_eq!(
            shown,
            t.table(Family::IPV4_UNICAST),
            "same rows, same order"
        );
        // A peer's received routes are read the same way.
        let (reply, rx) = oneshot::channel();
        t.handle(Input::PeerRoutes {
            peer: PEER.parse().unwrap(),
            family: Family::IPV4_UNICAST,
            which: PeerRoutes::Received,
            reply,
        });
        assert!(t.walking());
        while t.walk_step() {}
        let received = rx.try_recv().expect("received routes").into_table();
        assert_eq!(received.destinations, usize::try_from(n).unwrap() + 1);
        assert_eq!(
            Some(received),
            t.peer_routes(
                PEER.parse().unwrap(),
                Family::IPV4_UNICAST,
                PeerRoutes::Received
            )
        );
        // An unknown instance gets no answer (the asker sees None), nothing is queued.
        let (reply, rx) = oneshot::channel();
        t.handle(Input::Table {
            vrf: Some("nosuch".into()),
            family: Family::IPV4_UNICAST,
            label: false,
            reply,
        });
        assert!(!t.walking());
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn labeled_display() {
        let mut t = task();
        up(&mut t, 2);
        let n = Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::single(Label(300)),
            prefix: "198.51.100.0/24".parse().unwrap(),
        };
        let nh = NextHop::Ipv4("10.0.0.2".parse().unwrap());
        t.handle(Input::Update {
            peer: PEER.parse().unwrap(),
            session: 2,
            body: body(Family::IPV4_LABELED, nh, n),
        });
        let tab = t.table(Family::IPV4_LABELED);
        assert_eq!(tab.routes[0].labels, vec![300]);
        let text = crate::display::routing_table(&tab, crate::display::TableKind::Labeled);
        assert!(!text.contains("RPKI"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with(" *>   198.51.100.0/24    10.0.0.2")),
            "{text}"
        );
    }

    /// Brings up a peer that is sent routes; returns its writer's receiving end.
    fn up_out(
        t: &mut Engine,
        addr: &str,
        asn: u32,
        local: &str,
        rr_client: bool,
        nhi: bool,
    ) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::sync_channel::<Bytes>(64);
        t.handle(Input::PeerUp {
            session: new_session(),
            info: PeerInfo {
                addr: addr.parse().unwrap(),
                router_id: addr.parse().unwrap(),
                asn: Asn(asn),
                ebgp: asn != 100,
                rr_client,
                preferred_value: 0,
            },
            ctx: Ctx::default(),
            out: Some(PeerOut {
                tx: Arc::new(tx),
                families: vec![Family::VPNV6],
                ctx: Ctx::default(),
                local: Some(local.parse().unwrap()),
                next_hop_invariable: if nhi { vec![Family::VPNV6] } else { vec![] },
                next_hop_local: vec![],
            }),
            vrf: None,
            status: None,
        });
        rx
    }

    /// Sends what the task queued for `rx`'s peer, as that peer would receive it, into `to`
    /// (as received from its peer `from`).
    fn deliver(t: &mut Engine, rx: &mut mpsc::Receiver<Bytes>, to: &mut Engine, from: &str) {
        loop {
            let mut any = false;
            while t.flush() {
                any = true;
            }
            for m in drain(rx) {
                any = true;
                to.handle(Input::Update {
                    peer: from.parse().unwrap(),
                    session: to.up[&from.parse::<IpAddr>().unwrap()].session,
                    body: m[19..].to_vec(),
                });
            }
            if !any {
                break;
            }
        }
    }

    /// Runs the task's output until nothing is left to do.
    fn settle(t: &mut Engine) {
        while t.flush() {}
    }

    /// A receiving speaker with one peer, `from` in AS `asn`.
    fn receiver(my_as: u32, from: &str, asn: u32) -> Engine {
        let mut b = Engine::new(rib_config(Some(my_as), Some("9.9.9.9".parse().unwrap())));
        b.handle(Input::Settings(transit()));
        b.handle(Input::PeerUp {
            session: new_session(),
            info: PeerInfo {
                addr: from.parse().unwrap(),
                router_id: from.parse().unwrap(),
                asn: Asn(asn),
                ebgp: asn != my_as,
                rr_client: false,
                preferred_value: 0,
            },
            ctx: Ctx {
                ebgp: asn != my_as,
                ..Ctx::default()
            },
            out: None,
            vrf: None,
            status: None,
        });
        b
    }

    fn announce_vpn6(t: &mut Engine) {
        let nh = NextHop::ipv4_mapped("10.0.0.2".parse().unwrap());
        let session = t.up[&PEER.parse::<IpAddr>().unwrap()].session;
        t.handle(Input::Update {
            peer: PEER.parse().unwrap(),
            session,
            body: body(Family::VPNV6, nh, vpn6_route()),
        });
    }

    #[test]
    fn best_paths_go_to_ebgp_peers_with_next_hop_self() {
        for nhi in [false, true] {
            let mut t = task();
            up(&mut t, 7);
            let mut rx = up_out(&mut t, "10.0.1.2", 300, "10.0.1.1", false, nhi);
            let mut b = receiver(300, "10.0.1.1", 100);
            // The initial table: empty, then End-of-RIB.
            deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
            assert!(b.table(Family::VPNV6).routes.is_empty());
            announce_vpn6(&mut t);
            deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
            let tab = b.table(Family::VPNV6);
            assert_eq!(tab.routes.len(), 1, "{tab:?}");
            let r = &tab.routes[0];
            assert_eq!(r.as_path, "100 200");
            assert_eq!(r.rd.as_deref(), Some("200:1"));
            // Next hop self comes with a label of ours; next-hop-invariable keeps both.
            if nhi {
                assert_eq!(r.labels, vec![1000]);
            } else {
                assert_eq!(r.labels.len(), 1);
                assert!(r.labels[0] >= FIRST_LABEL, "{:?}", r.labels);
            }
            assert_eq!(r.local_pref, None);
            let nh = if nhi {
                "::ffff:10.0.0.2"
            } else {
                "::ffff:10.0.1.1"
            };
            assert_eq!(r.next_hop, Some(nh.parse().unwrap()), "nhi {nhi}");
            // The source goes down: the route is withdrawn.
            let session = t.up[&PEER.parse::<IpAddr>().unwrap()].session;
            t.handle(Input::PeerDown {
                peer: PEER.parse().unwrap(),
                session,
            });
            deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
            assert!(b.table(Family::VPNV6).routes.is_empty());
        }
    }

    #[test]
    fn a_peer_coming_up_gets_the_table_and_ibgp_rules_apply() {
        let mut t = task();
        up(&mut t, 7);
        announce_vpn6(&mut t);
        // IBGP non-client: LOCAL_PREF 100, no reflection attributes; a VPN route learned
        // from EBGP goes with next hop self and a label of ours (VRP).
        let mut rx = up_out(&mut t, "10.0.1.3", 100, "10.0.1.1", false, false);
        let mut b = receiver(100, "10.0.1.1", 100);
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let tab = b.table(Family::VPNV6);
        assert_eq!(tab.routes.len(), 1, "{tab:?}");
        let r = &tab.routes[0];
        assert_eq!(r.as_path, "200");
        assert_eq!(r.local_pref, Some(100));
        assert_eq!(r.next_hop, Some("::ffff:10.0.1.1".parse().unwrap()));
        assert!(r.labels[0] >= FIRST_LABEL, "{:?}", r.labels);
        // Never back to the sender; IBGP-learned not to another non-client, but to a client
        // with ORIGINATOR_ID and CLUSTER_LIST.
        let session = t.up[&PEER.parse::<IpAddr>().unwrap()].session;
        t.handle(Input::PeerDown {
            peer: PEER.parse().unwrap(),
            session,
        });
        settle(&mut t);
        let n2 = up_out(&mut t, "10.0.1.4", 100, "10.0.1.1", false, false);
        let mut c = up_out(&mut t, "10.0.1.5", 100, "10.0.1.1", true, false);
        settle(&mut t);
        while rx.try_recv().is_ok() || n2.try_recv().is_ok() || c.try_recv().is_ok() {}
        let a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::ipv4_mapped("10.0.1.3".parse().unwrap()),
        );
        let mut out = Vec::new();
        UpdateBuilder::new(&Ctx::default())
            .reach(
                Family::VPNV6,
                &a.next_hop,
                &a.to_wire(true),
                &[vpn6_route()],
                &mut out,
            )
            .unwrap();
        let session = t.up[&"10.0.1.3".parse::<IpAddr>().unwrap()].session;
        t.handle(Input::Update {
            peer: "10.0.1.3".parse().unwrap(),
            session,
            body: out.remove(0).split_off(19),
        });
        let mut cb = receiver(100, "10.0.1.1", 100);
        deliver(&mut t, &mut c, &mut cb, "10.0.1.1");
        assert!(rx.try_recv().is_err(), "back to the sender");
        assert!(n2.try_recv().is_err(), "to a non-client");
        let tab = cb.table(Family::VPNV6);
        assert_eq!(tab.routes.len(), 1, "{tab:?}");
        let set = cb.rib().attrs(
            cb.rib()
                .best(Family::VPNV6, &RouteKey::of_nlri(&vpn6_route()))
                .unwrap()
                .attrs,
        );
        assert_eq!(set.originator_id, Some("10.0.1.3".parse().unwrap()));
        assert_eq!(
            set.cluster_list,
            vec!["10.0.0.1".parse::<Ipv4Addr>().unwrap()]
        );
        // The display shows them.
        let r = &tab.routes[0];
        assert_eq!(r.originator_id, Some("10.0.1.3".parse().unwrap()));
        assert_eq!(r.cluster_list, set.cluster_list);
        // A route received over EBGP has neither.
        let mut t = task();
        up(&mut t, 7);
        announce_vpn6(&mut t);
        let r = &t.table(Family::VPNV6).routes[0];
        assert_eq!((r.originator_id, r.cluster_list.len()), (None, 0));
    }

    fn vpn1(rd: &str, rt: &str) -> VrfSpec {
        let rt: tern_types::ExtCommunity = rt.parse().unwrap();
        VrfSpec {
            name: "vpn1".into(),
            family: Family::IPV6_UNICAST,
            rd: rd.parse().unwrap(),
            import_rt: vec![rt],
            export_rt: vec![rt],
            per_instance_label: true,
        }
    }

    fn pe_routing(rd: &str, rt: &str, local: &[&str]) -> Arc<Routing> {
        Arc::new(Routing {
            vrfs: vec![vpn1(rd, rt)],
            local: local
                .iter()
                .map(|p| LocalRoute {
                    vrf: Some("vpn1".into()),
                    prefix: p.parse().unwrap(),
                    origin: Origin::Incomplete,
                    med: Some(0),
                    next_hop: None,
                    policy: None,
                    labeled: false,
                    kernel: false,
                })
                .collect(),
            ..Routing::default()
        })
    }

    #[test]
    fn instance_routes_cross_to_the_remote_instance() {
        // PE1 (AS 100) exports vpn1's direct route as VPNv6 to PE2 (AS 200), which imports
        // it into its vpn1 (route target 1:1).
        let mut pe1 = Engine::new(rib_config(Some(100), Some("1.1.1.9".parse().unwrap())));
        pe1.handle(Input::Settings(pe_routing(
            "100:1",
            "1:1",
            &["2001:db8:1::/64"],
        )));
        let vpn = pe1.table(Family::VPNV6);
        assert_eq!(vpn.routes.len(), 1, "{vpn:?}");
        assert_eq!(vpn.routes[0].rd.as_deref(), Some("100:1"));
        assert_eq!(vpn.routes[0].origin, "?");
        let label = vpn.routes[0].labels.clone();
        assert_eq!(label.len(), 1);
        let mut rx = up_out(&mut pe1, "4.4.4.9", 200, "1.1.1.9", false, false);
        let mut pe2 = receiver(200, "1.1.1.9", 100);
        pe2.handle(Input::Settings(pe_routing("200:1", "1:1", &[])));
        deliver(&mut pe1, &mut rx, &mut pe2, "1.1.1.9");
        let got = pe2.table_of(Some("vpn1"), Family::IPV6_UNICAST).unwrap();
        assert_eq!(got.routes.len(), 1, "{got:?}");
        let r = &got.routes[0];
        assert_eq!(r.prefix, "2001:db8:1::/64");
        assert_eq!(r.next_hop, Some("::ffff:1.1.1.9".parse().unwrap()));
        assert_eq!(r.labels, label);
        assert_eq!(r.as_path, "100");
        assert!(r.best && r.valid);
        // The VPN table keeps it under PE1's RD.
        let v = pe2.table(Family::VPNV6);
        assert_eq!(v.routes[0].rd.as_deref(), Some("100:1"));

        // A second route under a route target no local instance imports: not kept
        // (policy vpn-target), not imported.
        pe1.handle(Input::Settings(pe_routing(
            "100:1",
            "1:1",
            &["2001:db8:1::/64", "2001:db8:9::/64"],
        )));
        deliver(&mut pe1, &mut rx, &mut pe2, "1.1.1.9");
        assert_eq!(
            pe2.table_of(Some("vpn1"), Family::IPV6_UNICAST)
                .unwrap()
                .routes
                .len(),
            2
        );
        let mut other = Engine::new(rib_config(Some(200), Some("4.4.4.9".parse().unwrap())));
        other.handle(Input::Settings(pe_routing("200:1", "7:7", &[])));
        other.handle(Input::PeerUp {
            session: new_session(),
            info: PeerInfo {
                addr: "1.1.1.9".parse().unwrap(),
                router_id: "1.1.1.9".parse().unwrap(),
                asn: Asn(100),
                ebgp: true,
                rr_client: false,
                preferred_value: 0,
            },
            ctx: Ctx {
                ebgp: true,
                ..Ctx::default()
            },
            out: None,
            vrf: None,
            status: None,
        });
        let mut rx_other = up_out(&mut pe1, "4.4.4.10", 200, "1.1.1.9", false, false);
        deliver(&mut pe1, &mut rx_other, &mut other, "1.1.1.9");
        let o = other.table(Family::VPNV6);
        assert_eq!(o.routes.len(), 2, "kept in the Adj-RIB-In: {o:?}");
        assert!(o.routes.iter().all(|r| !r.valid), "{o:?}");
        assert!(
            other
                .table_of(Some("vpn1"), Family::IPV6_UNICAST)
                .unwrap()
                .routes
                .is_empty()
        );

        // The instance route goes away: withdrawn from PE2's instance.
        pe1.handle(Input::Settings(pe_routing(
            "100:1",
            "1:1",
            &["2001:db8:9::/64"],
        )));
        deliver(&mut pe1, &mut rx, &mut pe2, "1.1.1.9");
        let got = pe2.table_of(Some("vpn1"), Family::IPV6_UNICAST).unwrap();
        assert_eq!(got.routes.len(), 1, "{got:?}");
        assert_eq!(got.routes[0].prefix, "2001:db8:9::/64");
    }

    /// Brings up an out peer with the given families.
    fn up_peer(
        t: &mut Engine,
        addr: &str,
        asn: u32,
        local: &str,
        families: Vec<Family>,
    ) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::sync_channel::<Bytes>(64);
        let my_as = t.rib.config().local_as.0;
        t.handle(Input::PeerUp {
            session: new_session(),
            info: PeerInfo {
                addr: addr.parse().unwrap(),
                router_id: addr.parse().unwrap(),
                asn: Asn(asn),
                ebgp: asn != my_as,
                rr_client: false,
                preferred_value: 0,
            },
            ctx: Ctx {
                ebgp: asn != my_as,
                ..Ctx::default()
            },
            out: Some(PeerOut {
                tx: Arc::new(tx),
                families,
                ctx: Ctx::default(),
                local: Some(local.parse().unwrap()),
                next_hop_invariable: vec![],
                next_hop_local: vec![],
            }),
            vrf: None,
            status: None,
        });
        rx
    }

    /// The vendor's option C ASBR policies (ipv6-option-c-s1/ASBR1.cfg).
    const ASBR_POLICIES: &str = "route-policy policy1 permit node 1\n apply mpls-label\n#\nroute-policy policy2 permit node 1\n if-match mpls-label\n apply mpls-label\n#\nreturn\n";

    fn asbr_routing(network: &str, ebgp: &str, ibgp: &str) -> Arc<Routing> {
        let cfg = tern_config::parse_file(ASBR_POLICIES).unwrap();
        let pol = |addr: &str, name: &str| crate::routing::PeerPolicy {
            addr: addr.parse().unwrap(),
            family: Family::IPV4_LABELED,
            import: None,
            export: Some(name.into()),
        };
        Arc::new(Routing {
            local: vec![LocalRoute {
                vrf: None,
                prefix: network.parse().unwrap(),
                origin: Origin::Igp,
                med: Some(0),
                next_hop: None,
                policy: None,
                labeled: false,
                kernel: false,
            }],
            policies: tern_policy::Policies::new(&cfg),
            peer_policies: vec![pol(ebgp, "policy1"), pol(ibgp, "policy2")],
            ..Routing::default()
        })
    }

    #[test]
    fn option_c_labeled_routes_follow_the_vendor_policies() {
        // ASBR1 (AS 100) advertises PE1's loopback to ASBR2 (AS 200) labeled (policy1:
        // apply mpls-label); ASBR2 passes it to PE2 over IBGP with next hop self and a new
        // label (policy2: labeled routes only), and keeps its own unlabeled network route
        // from PE2.
        let mut asbr1 = Engine::new(rib_config(Some(100), Some("2.2.2.9".parse().unwrap())));
        asbr1.handle(Input::Settings(asbr_routing(
            "1.1.1.9/32",
            "10.21.1.2",
            "1.1.1.9",
        )));
        let mut to_asbr2 = up_peer(
            &mut asbr1,
            "10.21.1.2",
            200,
            "10.21.1.1",
            vec![Family::IPV4_LABELED],
        );
        let mut asbr2 = Engine::new(rib_config(Some(200), Some("3.3.3.9".parse().unwrap())));
        asbr2.handle(Input::Settings(asbr_routing(
            "4.4.4.9/32",
            "10.21.1.1",
            "4.4.4.9",
        )));
        asbr2.handle(Input::PeerUp {
            session: new_session(),
            info: PeerInfo {
                addr: "10.21.1.1".parse().unwrap(),
                router_id: "2.2.2.9".parse().unwrap(),
                asn: Asn(100),
                ebgp: true,
                rr_client: false,
                preferred_value: 0,
            },
            ctx: Ctx {
                ebgp: true,
                ..Ctx::default()
            },
            out: None,
            vrf: None,
            status: None,
        });
        deliver(&mut asbr1, &mut to_asbr2, &mut asbr2, "10.21.1.1");
        let lab = asbr2.table(Family::IPV4_LABELED);
        assert_eq!(lab.routes.len(), 1, "{lab:?}");
        let r = &lab.routes[0];
        assert_eq!(r.prefix, "1.1.1.9/32");
        assert_eq!(r.next_hop, Some("10.21.1.1".parse().unwrap()));
        assert_eq!(r.as_path, "100");
        let asbr1_label = r.labels.clone();
        assert!(asbr1_label[0] >= FIRST_LABEL, "{r:?}");

        let mut to_pe2 = up_peer(
            &mut asbr2,
            "4.4.4.9",
            200,
            "3.3.3.9",
            vec![Family::IPV4_LABELED],
        );
        let mut pe2 = receiver(200, "3.3.3.9", 200);
        deliver(&mut asbr2, &mut to_pe2, &mut pe2, "3.3.3.9");
        let lab = pe2.table(Family::IPV4_LABELED);
        assert_eq!(lab.routes.len(), 1, "only the labeled route: {lab:?}");
        let r = &lab.routes[0];
        assert_eq!(r.prefix, "1.1.1.9/32");
        assert_eq!(r.next_hop, Some("3.3.3.9".parse().unwrap()));
        assert_eq!(r.local_pref, Some(100));
        // ASBR2's own label for the route (each router allocates from its own range).
        let mine = asbr2
            .labels
            .swapped(
                Family::IPV4_LABELED,
                &RouteKey::new("1.1.1.9/32".parse().unwrap()),
            )
            .unwrap();
        assert_eq!(r.labels, vec![mine.0], "{r:?}");

        // `display bgp routing-table label` as the vendor shows it: on ASBR1 PE1's loopback
        // with next hop 0.0.0.0, an in-label and out-label NULL; on ASBR2 with ASBR1 as next
        // hop, ASBR2's in-label and ASBR1's as out-label.
        let t1 = asbr1.label_table(Family::IPV4_LABELED);
        assert_eq!(t1.routes.len(), 1, "{t1:?}");
        assert_eq!(t1.routes[0].in_label, Some(asbr1_label[0]));
        assert!(t1.routes[0].labels.is_empty());
        let text = crate::display::routing_table(&t1, crate::display::TableKind::Label);
        assert!(
            text.lines()
                .any(|l| l.starts_with(" *>     1.1.1.9           0.0.0.0")
                    && l.ends_with(&format!("{}/NULL", asbr1_label[0]))),
            "{text}"
        );
        let t2 = asbr2.label_table(Family::IPV4_LABELED);
        assert_eq!(t2.routes.len(), 1, "{t2:?}");
        assert_eq!(t2.routes[0].in_label, Some(mine.0));
        assert_eq!(t2.routes[0].labels, asbr1_label);

        // ASBR1's network route goes: withdrawn all the way, labels freed.
        asbr1.handle(Input::Settings(asbr_routing(
            "1.1.1.8/32",
            "10.21.1.2",
            "1.1.1.9",
        )));
        deliver(&mut asbr1, &mut to_asbr2, &mut asbr2, "10.21.1.1");
        deliver(&mut asbr2, &mut to_pe2, &mut pe2, "3.3.3.9");
        let lab = pe2.table(Family::IPV4_LABELED);
        assert_eq!(lab.routes.len(), 1, "{lab:?}");
        assert_eq!(lab.routes[0].prefix, "1.1.1.8/32");
    }

    #[test]
    fn export_policy_changes_apply_without_a_reset() {
        // A route-policy that denies 10.0.0.0/8 and longer, then a commit that removes the
        // deny node: the route is sent on the same session.
        let text = |deny: bool| {
            let mut t = String::from(
                "ip ip-prefix p1 index 10 permit 10.0.0.0 8 greater-equal 8 less-equal 32\n#\n",
            );
            if deny {
                t.push_str("route-policy out deny node 10\n if-match ip-prefix p1\n#\n");
            }
            t.push_str("route-policy out permit node 20\n apply cost 55\n#\nreturn\n");
            t
        };
        let routing = |deny: bool| {
            let cfg = tern_config::parse_file(&text(deny)).unwrap();
            Arc::new(Routing {
                local: ["10.1.0.0/16", "192.0.2.0/24"]
                    .iter()
                    .map(|p| LocalRoute {
                        vrf: None,
                        prefix: p.parse().unwrap(),
                        origin: Origin::Igp,
                        med: Some(0),
                        next_hop: None,
                        policy: None,
                        labeled: false,
                        kernel: false,
                    })
                    .collect(),
                policies: tern_policy::Policies::new(&cfg),
                peer_policies: vec![crate::routing::PeerPolicy {
                    addr: "10.0.1.2".parse().unwrap(),
                    family: Family::IPV4_UNICAST,
                    import: None,
                    export: Some("out".into()),
                }],
                ..Routing::default()
            })
        };
        let mut t = Engine::new(rib_config(Some(100), Some("10.0.1.1".parse().unwrap())));
        t.handle(Input::Settings(routing(true)));
        let mut rx = up_peer(
            &mut t,
            "10.0.1.2",
            300,
            "10.0.1.1",
            vec![Family::IPV4_UNICAST],
        );
        let mut b = receiver(300, "10.0.1.1", 100);
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let tab = b.table(Family::IPV4_UNICAST);
        assert_eq!(tab.routes.len(), 1, "{tab:?}");
        assert_eq!(tab.routes[0].prefix, "192.0.2.0/24");
        assert_eq!(tab.routes[0].med, Some(55));
        assert_eq!(tab.routes[0].next_hop, Some("10.0.1.1".parse().unwrap()));
        t.handle(Input::Settings(routing(false)));
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let tab = b.table(Family::IPV4_UNICAST);
        assert_eq!(tab.routes.len(), 2, "{tab:?}");
        t.handle(Input::Settings(routing(true)));
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        assert_eq!(b.table(Family::IPV4_UNICAST).routes.len(), 1);
    }

    /// An IBGP reflector client of `t` with a writer queue of `cap` messages.
    fn client(t: &mut Engine, addr: &str, cap: usize) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::sync_channel::<Bytes>(cap);
        t.handle(Input::PeerUp {
            session: new_session(),
            info: PeerInfo {
                addr: addr.parse().unwrap(),
                router_id: addr.parse().unwrap(),
                asn: Asn(100),
                ebgp: false,
                rr_client: true,
                preferred_value: 0,
            },
            ctx: Ctx::default(),
            out: Some(PeerOut {
                tx: Arc::new(tx),
                families: vec![Family::IPV4_UNICAST],
                ctx: Ctx::default(),
                local: Some("10.0.0.1".parse().unwrap()),
                next_hop_invariable: vec![],
                next_hop_local: vec![],
            }),
            vrf: None,
            status: None,
        });
        rx
    }

    /// `n` routes from client `from`, each with its own MED (one UPDATE each).
    fn announce_many(t: &mut Engine, from: &str, n: u32) {
        let session = t.up[&from.parse::<IpAddr>().unwrap()].session;
        for i in 0..n {
            let mut a = PathAttrs::new(
                Origin::Igp,
                AsPath::empty(true),
                NextHop::Ipv4(from.parse().unwrap()),
            );
            a.med = Some(i);
            a.local_pref = Some(100);
            let n = Nlri {
                path_id: None,
                rd: None,
                labels: LabelStack::new(),
                prefix: format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap(),
            };
            let mut out = Vec::new();
            UpdateBuilder::new(&Ctx::default())
                .reach(
                    Family::IPV4_UNICAST,
                    &a.next_hop,
                    &a.to_wire(true),
                    &[n],
                    &mut out,
                )
                .unwrap();
            t.handle(Input::Update {
                peer: from.parse().unwrap(),
                session,
                body: out.remove(0).split_off(19),
            });
        }
    }

    /// The messages queued for a writer, one by one (an entry may hold several).
    fn drain(rx: &mut mpsc::Receiver<Bytes>) -> Vec<Bytes> {
        let mut v = Vec::new();
        while let Ok(m) = rx.try_recv() {
            for f in tern_wire::message::frames(&m) {
                v.push(m.slice_ref(f.expect("whole messages").bytes));
            }
        }
        v
    }

    #[test]
    fn update_group_members_share_the_same_bytes_and_never_get_their_own_routes() {
        let mut t = task();
        let mut a = client(&mut t, "10.0.0.11", 64);
        let mut b = client(&mut t, "10.0.0.12", 64);
        let mut c = client(&mut t, "10.0.0.13", 64);
        settle(&mut t);
        assert_eq!(t.adj.sizes(), vec![3], "one update group");
        // End-of-RIB for each.
        assert_eq!(drain(&mut a).len(), 1);
        assert_eq!(drain(&mut b).len(), 1);
        assert_eq!(drain(&mut c).len(), 1);
        announce_many(&mut t, "10.0.0.11", 3);
        settle(&mut t);
        let (mb, mc) = (drain(&mut b), drain(&mut c));
        assert_eq!(mb.len(), 3);
        assert_eq!(mc.len(), 3);
        for (x, y) in mb.iter().zip(&mc) {
            assert_eq!(x.as_ptr(), y.as_ptr(), "encoded once, shared");
        }
        assert!(
            drain(&mut a).is_empty(),
            "split horizon: not back to the source"
        );
        // The displays agree: what A sent, what B is sent, nothing for A.
        let pa: IpAddr = "10.0.0.11".parse().unwrap();
        let pb: IpAddr = "10.0.0.12".parse().unwrap();
        let rcv = t
            .peer_routes(pa, Family::IPV4_UNICAST, PeerRoutes::Received)
            .unwrap();
        assert_eq!(rcv.routes.len(), 3);
        let adv = t
            .peer_routes(pb, Family::IPV4_UNICAST, PeerRoutes::Advertised)
            .unwrap();
        assert_eq!(adv.routes.len(), 3, "{adv:?}");
        assert_eq!(
            adv.routes[0].originator_id,
            Some("10.0.0.11".parse().unwrap())
        );
        assert_eq!(
            adv.routes[0].cluster_list,
            vec!["10.0.0.1".parse::<Ipv4Addr>().unwrap()]
        );
        let none = t
            .peer_routes(pa, Family::IPV4_UNICAST, PeerRoutes::Advertised)
            .unwrap();
        assert!(none.routes.is_empty(), "{none:?}");
    }

    #[test]
    fn a_slow_member_never_holds_back_its_group_and_catches_up() {
        let mut t = task();
        let _a = client(&mut t, "10.0.0.11", 64);
        let mut slow = client(&mut t, "10.0.0.12", 1);
        let mut fast = client(&mut t, "10.0.0.13", 4096);
        settle(&mut t);
        drain(&mut slow);
        drain(&mut fast);
        let n = 3000;
        announce_many(&mut t, "10.0.0.11", n);
        // The fast member gets everything while the slow one reads nothing.
        let mut got = 0usize;
        for _ in 0..1000 {
            let progressed = t.flush();
            got += drain(&mut fast).len();
            if !progressed {
                break;
            }
        }
        assert_eq!(got, n as usize, "the fast member is not held back");
        // The slow member's pending work is bounded by the destinations, not the messages:
        // reading it now brings every route.
        let mut b = receiver(100, "10.0.0.1", 100);
        deliver(&mut t, &mut slow, &mut b, "10.0.0.1");
        assert_eq!(b.rib().counts(Family::IPV4_UNICAST).0, n as usize);
        assert!(!t.has_work());
    }

    /// The prefixes a receiving speaker holds in IPv4 unicast.
    fn held(b: &Engine) -> std::collections::BTreeSet<IpNet> {
        b.rib()
            .loc_rib(Family::IPV4_UNICAST)
            .into_iter()
            .map(|(k, _)| k.prefix)
            .collect()
    }

    #[test]
    fn a_joining_member_walks_the_table_instead_of_copying_it() {
        let mut t = task();
        let _a = client(&mut t, "10.0.0.11", 4096);
        settle(&mut t);
        let n = 6000;
        announce_many(&mut t, "10.0.0.11", n);
        settle(&mut t);
        // A member joins a table of 6000 destinations: nothing is queued for it up front.
        let mut late = client(&mut t, "10.0.0.12", 2);
        let pl: IpAddr = "10.0.0.12".parse().unwrap();
        assert_eq!(t.adj.catching_up(pl), Some(0), "no copy of the table");
        // While it walks (its writer holds two entries), routes change behind and ahead of
        // its position: withdrawals move destinations down the table, new ones are appended.
        let mut b = receiver(100, "10.0.0.1", 100);
        let mut steps = 0;
        let session = t.up[&"10.0.0.11".parse::<IpAddr>().unwrap()].session;
        loop {
            let progressed = t.flush();
            let got = drain(&mut late);
            for m in &got {
                b.handle(Input::Update {
                    peer: "10.0.0.1".parse().unwrap(),
                    session: b.up[&"10.0.0.1".parse::<IpAddr>().unwrap()].session,
                    body: m[19..].to_vec(),
                });
            }
            steps += 1;
            if steps <= 2 {
                assert!(t.adj.catching_up(pl).is_some(), "still walking");
                // Withdraw a spread of destinations (some walked, some not), announce new
                // ones (appended behind the walk).
                let gone: Vec<Nlri> = (0..n)
                    .step_by(97 + steps)
                    .map(|i| Nlri {
                        path_id: None,
                        rd: None,
                        labels: LabelStack::new(),
                        prefix: format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap(),
                    })
                    .collect();
                let mut out = Vec::new();
                UpdateBuilder::new(&Ctx::default())
                    .withdraw(Family::IPV4_UNICAST, &gone, &mut out)
                    .unwrap();
                for m in out {
                    t.handle(Input::Update {
                        peer: "10.0.0.11".parse().unwrap(),
                        session,
                        body: m[19..].to_vec(),
                    });
                }
                let mut a = PathAttrs::new(
                    Origin::Igp,
                    AsPath::empty(true),
                    NextHop::Ipv4("10.0.0.11".parse().unwrap()),
                );
                a.local_pref = Some(100);
                let fresh: Vec<Nlri> = (0..50u32)
                    .map(|i| Nlri {
                        path_id: None,
                        rd: None,
                        labels: LabelStack::new(),
                        prefix: format!("172.16.{}.{}/32", steps, i).parse().unwrap(),
                    })
                    .collect();
                let mut out = Vec::new();
                UpdateBuilder::new(&Ctx::default())
                    .reach(
                        Family::IPV4_UNICAST,
                        &a.next_hop,
                        &a.to_wire(true),
                        &fresh,
                        &mut out,
                    )
                    .unwrap();
                for m in out {
                    t.handle(Input::Update {
                        peer: "10.0.0.11".parse().unwrap(),
                        session,
                        body: m[19..].to_vec(),
                    });
                }
            }
            // What it waits with stays bounded by the changes, never the table.
            assert!(t.adj.catching_up(pl).unwrap_or(0) <= 200);
            if !progressed && got.is_empty() {
                break;
            }
        }
        assert!(steps > 3, "the walk took several steps ({steps})");
        let expected = held(&t);
        assert!(expected.len() > 5000);
        assert_eq!(held(&b), expected, "the member holds exactly the Loc-RIB");
        assert!(!t.has_work());
    }

    #[test]
    fn a_route_too_large_for_a_peer_is_withdrawn_from_it() {
        let mut t = task();
        let _a = client(&mut t, "10.0.0.11", 64);
        let mut c = client(&mut t, "10.0.0.12", 64);
        settle(&mut t);
        let mut b = receiver(100, "10.0.0.1", 100);
        deliver(&mut t, &mut c, &mut b, "10.0.0.1");
        let session = t.up[&"10.0.0.11".parse::<IpAddr>().unwrap()].session;
        let send = |t: &mut Engine, communities: u32| {
            let mut a = PathAttrs::new(
                Origin::Igp,
                AsPath::empty(true),
                NextHop::Ipv4("10.0.0.11".parse().unwrap()),
            );
            a.local_pref = Some(100);
            a.communities = (0..communities).map(|i| 65000 << 16 | i).collect();
            let n = Nlri::unicast("192.0.2.0/24".parse().unwrap());
            let ctx = Ctx {
                extended_message: true,
                ..Ctx::default()
            };
            let mut out = Vec::new();
            UpdateBuilder::new(&ctx)
                .reach(
                    Family::IPV4_UNICAST,
                    &a.next_hop,
                    &a.to_wire(true),
                    &[n],
                    &mut out,
                )
                .unwrap();
            t.handle(Input::Update {
                peer: "10.0.0.11".parse().unwrap(),
                session,
                body: out.remove(0).split_off(19),
            });
        };
        send(&mut t, 2);
        deliver(&mut t, &mut c, &mut b, "10.0.0.1");
        assert_eq!(held(&b).len(), 1, "the route as first announced");
        // Re-announced with 1100 communities (4400 octets): more than a 4096-octet UPDATE
        // holds for a peer without the Extended Message capability.
        send(&mut t, 1100);
        deliver(&mut t, &mut c, &mut b, "10.0.0.1");
        assert!(held(&b).is_empty(), "the old path is withdrawn");
        // Small again: announced again.
        send(&mut t, 3);
        deliver(&mut t, &mut c, &mut b, "10.0.0.1");
        assert_eq!(held(&b).len(), 1);
    }

    fn readvertise(t: &mut Engine, peer: &str, reflect_client: bool, nhi: bool) {
        t.handle(Input::Readvertise {
            peer: peer.parse().unwrap(),
            reflect_client,
            next_hop_invariable: if nhi { vec![Family::VPNV6] } else { vec![] },
            next_hop_local: vec![],
        });
    }

    #[test]
    fn a_changed_next_hop_invariable_is_readvertised() {
        let mut t = task();
        up(&mut t, 7);
        announce_vpn6(&mut t);
        let mut rx = up_out(&mut t, "10.0.1.2", 300, "10.0.1.1", false, true);
        let mut b = receiver(300, "10.0.1.1", 100);
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let r = &b.table(Family::VPNV6).routes[0];
        assert_eq!(r.next_hop, Some("::ffff:10.0.0.2".parse().unwrap()));
        assert_eq!(r.labels, vec![1000]);
        // `undo peer 10.0.1.2 next-hop-invariable`: next hop self, a label of ours.
        readvertise(&mut t, "10.0.1.2", false, false);
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let tab = b.table(Family::VPNV6);
        assert_eq!(tab.routes.len(), 1, "{tab:?}");
        let r = &tab.routes[0];
        assert_eq!(r.next_hop, Some("::ffff:10.0.1.1".parse().unwrap()));
        assert!(r.labels[0] >= FIRST_LABEL, "{:?}", r.labels);
        // And back.
        readvertise(&mut t, "10.0.1.2", false, true);
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let r = &b.table(Family::VPNV6).routes[0];
        assert_eq!(r.next_hop, Some("::ffff:10.0.0.2".parse().unwrap()));
        assert_eq!(r.labels, vec![1000]);
        // A peer that is not up is left alone.
        readvertise(&mut t, "10.9.9.9", false, false);
        assert!(!t.has_work());
    }

    #[test]
    fn a_new_reflect_client_gets_the_reflected_routes() {
        // A route from IBGP non-client N1 does not go to non-client N2 until N2 becomes a
        // client; then it comes with the reflection attributes, and leaves again after.
        let mut t = task();
        let _n1 = up_out(&mut t, "10.0.1.3", 100, "10.0.1.1", false, false);
        let mut n2 = up_out(&mut t, "10.0.1.4", 100, "10.0.1.1", false, false);
        let mut b = receiver(100, "10.0.1.1", 100);
        deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
        let a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::ipv4_mapped("10.0.1.3".parse().unwrap()),
        );
        let mut out = Vec::new();
        UpdateBuilder::new(&Ctx::default())
            .reach(
                Family::VPNV6,
                &a.next_hop,
                &a.to_wire(true),
                &[vpn6_route()],
                &mut out,
            )
            .unwrap();
        let session = t.up[&"10.0.1.3".parse::<IpAddr>().unwrap()].session;
        t.handle(Input::Update {
            peer: "10.0.1.3".parse().unwrap(),
            session,
            body: out.remove(0).split_off(19),
        });
        deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
        assert!(b.table(Family::VPNV6).routes.is_empty());
        readvertise(&mut t, "10.0.1.4", true, false);
        deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
        let tab = b.table(Family::VPNV6);
        assert_eq!(tab.routes.len(), 1, "{tab:?}");
        assert_eq!(
            tab.routes[0].originator_id,
            Some("10.0.1.3".parse().unwrap())
        );
        readvertise(&mut t, "10.0.1.4", false, false);
        deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
        assert!(b.table(Family::VPNV6).routes.is_empty());
    }
}
