//! The RIB task: the one task that owns the daemon's [`tern_rib::Rib`] (DESIGN.md, "one task
//! owns all tables": no locks, every input a message, a deterministic order).
//!
//! ```text
//!  connection task ×N ──PeerUp / Update(bytes) / PeerDown──▶ RIB task ──▶ tern_rib::Rib
//!  control API (displays) ──Table(family, oneshot)──────────▶    │
//!                         ◀── owned snapshot ([`RouteTable`]) ───┘
//! ```
//!
//! - A connection task sends [`RibMsg::PeerUp`] when its session reaches Established (the
//!   peer's facts and the negotiated receive context), every UPDATE that does not call for a
//!   session reset as its body's bytes ([`RibMsg::Update`], parsed again here with the peer's
//!   context: the connection task has already validated it, so this parse cannot fail
//!   differently), and [`RibMsg::PeerDown`] when the session leaves Established (RFC 4271
//!   §9.1.3: every route of the peer is withdrawn).
//! - Each Established session has its own number ([`new_session`]); messages of a session that
//!   is no longer the peer's current one are dropped, so a late UPDATE of a closed connection
//!   never lands after its successor's PeerUp.
//! - The channel is bounded ([`QUEUE`]): a connection task waits when the RIB is behind, and
//!   TCP flow control then slows the peer, instead of memory growing.
//! - Import policy accepts everything ([`tern_rib::AcceptAll`]) until route policies exist.
//! - Next hops: every next hop counts as reachable with IGP cost 0 ([`tern_rib::AllReachable`]).
//!   Resolution against the kernel routing table (and an unreachable next hop making a route
//!   invalid) comes with the FIB work.
//! - Export: [`RibMsg::PeerUp`] carries a [`PeerOut`] (the connection's writer, negotiated
//!   families, send context, local address, `next-hop-invariable` families). The peer gets
//!   the Loc-RIB of each family, then End-of-RIB; afterwards every input's best-path changes
//!   go to each other peer that may have them (RFC 4456 rules, split horizon), with the
//!   attributes of `out_attrs` (EBGP: AS prepended, LOCAL_PREF / ORIGINATOR_ID / CLUSTER_LIST /
//!   foreign MED removed, next hop self unless `next-hop-invariable`; IBGP: next hop kept,
//!   LOCAL_PREF 100 when absent, reflection attributes when reflecting). Withdrawals go only to
//!   peers that were sent the destination. Per-peer encoding (update groups come later).
//! - Displays ask with [`RibMsg::Table`] and get an owned snapshot of a family's table, every
//!   path of every destination, sorted (RD, prefix; the best path first).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tern_rib::rr::{self, Role};
use tern_rib::{
    AcceptAll, AllReachable, AttrId, Best, BestChange, PathAttrs, PathInfo, PeerId, PeerInfo, Rib,
    RibConfig, RouteKey,
};
use tern_types::{Asn, Family, LabelStack};
use tern_wire::attr::Origin;
use tern_wire::{Ctx, NextHop, Nlri, Update, UpdateBuilder};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

/// Messages the RIB channel holds before senders wait.
pub const QUEUE: usize = 1024;

/// An input of the RIB task.
#[derive(Debug)]
pub enum RibMsg {
    /// A session reached Established.
    PeerUp {
        /// The session's number ([`new_session`]).
        session: u64,
        /// What the RIB needs to know about the peer.
        info: PeerInfo,
        /// The context the peer's UPDATEs are decoded with.
        ctx: Ctx,
        /// Where routes for the peer go (`None`: the peer is not sent routes).
        out: Option<PeerOut>,
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
    /// The session left Established.
    PeerDown {
        /// Peer address.
        peer: IpAddr,
        /// The session.
        session: u64,
    },
    /// A snapshot of one family's table, for the displays.
    Table {
        /// The family.
        family: Family,
        /// Where the snapshot goes.
        reply: oneshot::Sender<RouteTable>,
    },
}

/// What the RIB task needs to send routes to an Established peer.
#[derive(Debug, Clone)]
pub struct PeerOut {
    /// The connection's writer (whole messages, header included).
    pub tx: mpsc::Sender<Vec<u8>>,
    /// Negotiated families.
    pub families: Vec<Family>,
    /// The context to build UPDATEs for the peer with (4-octet AS, ADD-PATH send, Extended
    /// Message).
    pub ctx: Ctx,
    /// The session's local address (next hop self).
    pub local: Option<IpAddr>,
    /// Families with `peer X next-hop-invariable`.
    pub next_hop_invariable: Vec<Family>,
}

/// Messages for one connection's writer, in order.
pub type Outgoing = (mpsc::Sender<Vec<u8>>, Vec<Vec<u8>>);

/// An established peer that is sent routes, with what it was sent (its Adj-RIB-Out keys).
struct OutPeer {
    id: PeerId,
    out: PeerOut,
    sent: HashSet<(Family, RouteKey)>,
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
    /// Labels as received (outermost first).
    pub labels: Vec<u32>,
    /// Eligible (accepted and next hop reachable).
    pub valid: bool,
    /// Selected.
    pub best: bool,
    /// Learned over IBGP.
    pub internal: bool,
    /// The peer it came from (`0.0.0.0` for local routes).
    pub from: IpAddr,
}

/// A snapshot of one family's table.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RouteTable {
    /// The router ID.
    pub router_id: Ipv4Addr,
    /// The local AS.
    pub local_as: u32,
    /// The family (`ipv4-unicast`, `vpnv4`, ...).
    pub family: String,
    /// Destinations.
    pub destinations: usize,
    /// Every path, sorted by RD and prefix, the best path of a destination first.
    pub routes: Vec<RouteRow>,
}

/// The sender side the daemon hands out.
#[derive(Clone, Debug)]
pub struct RibHandle {
    tx: mpsc::Sender<RibMsg>,
}

static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// A new session number (unique in the process).
pub fn new_session() -> u64 {
    SESSIONS.fetch_add(1, Ordering::Relaxed)
}

impl RibHandle {
    /// Sends a message, waiting while the queue is full. A gone RIB task (daemon exit) is
    /// ignored.
    pub async fn send(&self, m: RibMsg) {
        if self.tx.send(m).await.is_err() {
            debug!("RIB task gone");
        }
    }

    /// A snapshot of `family`'s table; `None` when the RIB task is gone.
    pub async fn table(&self, family: Family) -> Option<RouteTable> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(RibMsg::Table { family, reply }).await.ok()?;
        rx.await.ok()
    }
}

/// Starts the RIB task on the current runtime.
pub fn spawn(config: RibConfig) -> RibHandle {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(RibTask::new(config), rx));
    RibHandle { tx }
}

/// The RIB and what the task knows about the sessions feeding it.
pub struct RibTask {
    rib: Rib,
    /// A peer's id, kept for the address's lifetime (the RIB's peer slots are reused).
    ids: HashMap<IpAddr, PeerId>,
    /// The current session of each peer that is up, with its receive context.
    up: HashMap<IpAddr, (u64, Ctx)>,
    /// Best-path changes of the last input.
    changes: Vec<BestChange>,
    /// Peers routes are sent to, by address.
    outs: HashMap<IpAddr, OutPeer>,
    /// Messages to send, in order, per writer (filled by [`RibTask::handle`], sent by the task
    /// loop).
    outbox: Vec<Outgoing>,
}

async fn run(mut t: RibTask, mut rx: mpsc::Receiver<RibMsg>) {
    while let Some(m) = rx.recv().await {
        t.handle(m);
        // A full writer queue makes the RIB wait (TCP flow control toward a slow peer); a
        // closed one is a connection that ended (its PeerDown follows).
        for (tx, msgs) in t.take_outbox() {
            for m in msgs {
                if tx.send(m).await.is_err() {
                    break;
                }
            }
        }
    }
}

impl RibTask {
    /// An empty RIB.
    pub fn new(config: RibConfig) -> RibTask {
        RibTask {
            rib: Rib::new(config),
            ids: HashMap::new(),
            up: HashMap::new(),
            changes: Vec::new(),
            outs: HashMap::new(),
            outbox: Vec::new(),
        }
    }

    /// The messages produced by the last inputs, per writer.
    pub fn take_outbox(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outbox)
    }

    /// The RIB (for tests).
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    fn id(&mut self, addr: IpAddr) -> PeerId {
        let next = PeerId(u32::try_from(self.ids.len()).unwrap_or(u32::MAX - 1) + 1);
        *self.ids.entry(addr).or_insert(next)
    }

    /// Handles one input.
    pub fn handle(&mut self, m: RibMsg) {
        self.changes.clear();
        match m {
            RibMsg::PeerUp {
                session,
                info,
                ctx,
                out,
            } => {
                let addr = info.addr;
                let id = self.id(addr);
                if self.up.contains_key(&addr) {
                    // A PeerDown was lost (cannot happen with one Established connection per
                    // peer): drop the old session's routes first.
                    self.outs.remove(&addr);
                    self.rib.peer_down(id, &AllReachable, &mut self.changes);
                    self.export();
                }
                self.rib.peer_up(id, info);
                self.up.insert(addr, (session, ctx));
                info!(peer = %addr, session, "RIB: peer up");
                if let Some(out) = out {
                    let mut p = OutPeer {
                        id,
                        out,
                        sent: HashSet::new(),
                    };
                    let msgs = self.initial_table(&mut p);
                    info!(peer = %addr, messages = msgs.len(), "RIB: initial table");
                    self.outbox.push((p.out.tx.clone(), msgs));
                    self.outs.insert(addr, p);
                }
            }
            RibMsg::Update {
                peer,
                session,
                body,
            } => {
                let Some(&(current, ctx)) = self.up.get(&peer) else {
                    return;
                };
                if current != session {
                    return;
                }
                let Some(&id) = self.ids.get(&peer) else {
                    return;
                };
                let u = match Update::decode(&body) {
                    Ok(u) => u,
                    Err(e) => {
                        warn!(peer = %peer, "RIB: UPDATE does not decode: {e}");
                        return;
                    }
                };
                let p = u.parse(&ctx);
                match self
                    .rib
                    .apply_update(id, &p, &AcceptAll, &AllReachable, &mut self.changes)
                {
                    Ok(s) => debug!(peer = %peer, ?s, "RIB: UPDATE applied"),
                    Err(e) => debug!(peer = %peer, "RIB: UPDATE not applied: {e}"),
                }
                self.export();
            }
            RibMsg::PeerDown { peer, session } => {
                if self.up.get(&peer).is_some_and(|(s, _)| *s == session) {
                    self.up.remove(&peer);
                    self.outs.remove(&peer);
                    if let Some(&id) = self.ids.get(&peer) {
                        let n = self.rib.peer_down(id, &AllReachable, &mut self.changes);
                        info!(peer = %peer, session, routes = n, "RIB: peer down, routes withdrawn");
                        self.export();
                    }
                }
            }
            RibMsg::Table { family, reply } => {
                let _ = reply.send(self.table(family));
            }
        }
    }

    /// Every path of `family`, for the displays.
    pub fn table(&self, family: Family) -> RouteTable {
        let cfg = self.rib.config();
        let mut dests: BTreeMap<RouteKey, Vec<PathInfo>> = BTreeMap::new();
        let peers = std::iter::once(PeerId::LOCAL).chain(self.ids.values().copied());
        for peer in peers {
            for (k, p) in self.rib.adj_rib_in(peer, family) {
                dests.entry(k).or_default().push(p);
            }
        }
        let mut routes = Vec::new();
        for (key, mut paths) in dests.iter().map(|(k, v)| (k, v.clone())) {
            paths.sort_by_key(|p| (!p.best, p.peer, p.path_id));
            for p in paths {
                routes.push(self.row(key, &p));
            }
        }
        RouteTable {
            router_id: cfg.router_id,
            local_as: cfg.local_as.0,
            family: family.to_string(),
            destinations: dests.len(),
            routes,
        }
    }

    fn row(&self, key: &RouteKey, p: &PathInfo) -> RouteRow {
        let valid = p.attrs.is_some();
        let id = if valid { p.attrs } else { p.in_attrs };
        let set = self.rib.attr_set(id);
        let path = self.rib.store().as_path(set).path().to_string();
        let info = self.rib.peer(p.peer);
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
            valid,
            best: p.best,
            internal: p.peer != PeerId::LOCAL && info.is_some_and(|i| !i.ebgp),
            from: info.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |i| i.addr),
        }
    }
}

/// Routes of one family for one peer, grouped by what decides their outgoing attributes (the
/// peer they came from and their attribute set).
#[derive(Default)]
struct Batch {
    reach: BTreeMap<(PeerId, AttrId), Vec<Nlri>>,
    withdraw: Vec<Nlri>,
}

impl RibTask {
    /// The current best paths of every family `p` negotiated, then End-of-RIB for each.
    fn initial_table(&self, p: &mut OutPeer) -> Vec<Vec<u8>> {
        let mut msgs = Vec::new();
        for family in p.out.families.clone() {
            let mut b = Batch::default();
            for (key, best) in self.rib.loc_rib(family) {
                offer(&self.rib, p, family, &key, Some(&best), &mut b);
            }
            encode(&self.rib, p, family, b, &mut msgs);
        }
        for family in &p.out.families {
            msgs.push(UpdateBuilder::end_of_rib(*family));
        }
        msgs
    }

    /// Sends the last input's best-path changes to every peer that may have them.
    fn export(&mut self) {
        if self.changes.is_empty() || self.outs.is_empty() {
            return;
        }
        let mut addrs: Vec<IpAddr> = self.outs.keys().copied().collect();
        addrs.sort();
        for addr in addrs {
            let Some(p) = self.outs.get_mut(&addr) else {
                continue;
            };
            let mut batches: BTreeMap<Family, Batch> = BTreeMap::new();
            for c in &self.changes {
                if !p.out.families.contains(&c.family) {
                    continue;
                }
                let b = batches.entry(c.family).or_default();
                offer(&self.rib, p, c.family, &c.key, c.new.as_ref(), b);
            }
            let mut msgs = Vec::new();
            for (family, b) in batches {
                encode(&self.rib, p, family, b, &mut msgs);
            }
            if !msgs.is_empty() {
                self.outbox.push((p.out.tx.clone(), msgs));
            }
        }
        self.changes.clear();
    }
}

/// Adds `key` to `b`: announced when `best` may go to `p`, withdrawn when it may not (or is
/// gone) and `p` was sent the destination before.
fn offer(
    rib: &Rib,
    p: &mut OutPeer,
    family: Family,
    key: &RouteKey,
    best: Option<&Best>,
    b: &mut Batch,
) {
    let path_id = p.out.ctx.add_path.contains(family).then_some(1);
    if let Some(best) = best.filter(|best| allowed(rib, p.id, best.peer)) {
        b.reach
            .entry((best.peer, best.attrs))
            .or_default()
            .push(Nlri {
                path_id,
                rd: key.rd,
                labels: best.labels,
                prefix: key.prefix,
            });
        p.sent.insert((family, *key));
    } else if p.sent.remove(&(family, *key)) {
        b.withdraw.push(Nlri {
            path_id,
            rd: key.rd,
            labels: LabelStack::new(),
            prefix: key.prefix,
        });
    }
}

fn role(rib: &Rib, id: PeerId) -> Role {
    match rib.peer(id) {
        Some(i) => Role::of(id, i),
        None if id == PeerId::LOCAL => Role::Local,
        None => Role::NonClient,
    }
}

/// RFC 4456 §6 and split horizon.
fn allowed(rib: &Rib, to: PeerId, from: PeerId) -> bool {
    rr::may_advertise(from, role(rib, from), to, role(rib, to), true)
}

/// The attributes a route from `from` with `attrs` is sent to `p` with.
fn out_attrs(rib: &Rib, p: &OutPeer, family: Family, from: PeerId, attrs: AttrId) -> PathAttrs {
    let cfg = rib.config();
    let mut a = rib.attrs(attrs);
    a.preferred_value = 0;
    let from_role = role(rib, from);
    let to_role = role(rib, p.id);
    if to_role == Role::Ebgp {
        a.as_path = a.as_path.prepend(cfg.local_as.0, 1);
        a.local_pref = None;
        rr::strip_for_ebgp(&mut a);
        if from_role != Role::Local {
            // RFC 4271 §5.1.4: a MED received from a neighbouring AS is not propagated to
            // other neighbouring ASes (VRP also keeps an IBGP-learned MED inside the AS).
            a.med = None;
        }
        if !p.out.next_hop_invariable.contains(&family) {
            a.next_hop = next_hop_self(family, p.out.local, cfg.router_id);
        }
    } else {
        if a.local_pref.is_none() {
            a.local_pref = Some(DEFAULT_LOCAL_PREF);
        }
        if rr::is_reflection(from_role, to_role) {
            let originator = rib.peer(from).map_or(cfg.router_id, |i| i.router_id);
            rr::reflect_attrs(&mut a, originator, rib.cluster_id());
        }
    }
    a
}

/// VRP's default LOCAL_PREF.
const DEFAULT_LOCAL_PREF: u32 = 100;

/// The session's local address as a next hop of `family`: IPv6 families over an IPv4 session
/// carry `::ffff:a.b.c.d`.
fn next_hop_self(family: Family, local: Option<IpAddr>, router_id: Ipv4Addr) -> NextHop {
    match (family.is_ipv6(), local) {
        (false, Some(IpAddr::V4(a))) => NextHop::Ipv4(a),
        (true, Some(IpAddr::V4(a))) => NextHop::ipv4_mapped(a),
        (true, Some(IpAddr::V6(a))) => NextHop::Ipv6 {
            global: a.to_ipv4_mapped().map_or(a, |v4| v4.to_ipv6_mapped()),
            link_local: None,
        },
        // IPv4 routes over an IPv6 session (RFC 8950) are not supported yet.
        (false, _) => NextHop::Ipv4(router_id),
        (true, None) => NextHop::ipv4_mapped(router_id),
    }
}

/// Appends the UPDATEs of `b` for `p`: withdrawals first, then one packed run per attribute
/// group.
fn encode(rib: &Rib, p: &OutPeer, family: Family, b: Batch, msgs: &mut Vec<Vec<u8>>) {
    let builder = UpdateBuilder::new(&p.out.ctx);
    if !b.withdraw.is_empty()
        && let Err(e) = builder.withdraw(family, &b.withdraw, msgs)
    {
        warn!(family = %family, "RIB: withdrawal not encoded: {e}");
    }
    for ((from, attrs), routes) in b.reach {
        let a = out_attrs(rib, p, family, from, attrs);
        let wire = a.to_wire(p.out.ctx.four_octet_as);
        if let Err(e) = builder.reach(family, &a.next_hop, &wire, &routes, msgs) {
            warn!(family = %family, "RIB: UPDATE not encoded: {e}");
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
mod tests {
    use super::*;
    use tern_rib::PathAttrs;
    use tern_types::{Label, LabelStack, RouteDistinguisher};
    use tern_wire::attr::AsPath;
    use tern_wire::{Nlri, UpdateBuilder};

    const PEER: &str = "10.0.0.2";

    fn task() -> RibTask {
        RibTask::new(rib_config(Some(100), Some("10.0.0.1".parse().unwrap())))
    }

    fn up(t: &mut RibTask, session: u64) {
        t.handle(RibMsg::PeerUp {
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
        t.handle(RibMsg::Update {
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
        t.handle(RibMsg::PeerDown {
            peer: PEER.parse().unwrap(),
            session: 6,
        });
        assert_eq!(t.table(Family::VPNV6).routes.len(), 1);
        t.handle(RibMsg::PeerDown {
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
        t.handle(RibMsg::Update {
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
        t.handle(RibMsg::Update {
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
        t: &mut RibTask,
        addr: &str,
        asn: u32,
        local: &str,
        rr_client: bool,
        nhi: bool,
    ) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel(64);
        t.handle(RibMsg::PeerUp {
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
                tx,
                families: vec![Family::VPNV6],
                ctx: Ctx::default(),
                local: Some(local.parse().unwrap()),
                next_hop_invariable: if nhi { vec![Family::VPNV6] } else { vec![] },
            }),
        });
        rx
    }

    /// Sends what the task queued for `rx`'s peer, as that peer would receive it, into `to`
    /// (as received from its peer `from`).
    fn deliver(t: &mut RibTask, rx: &mut mpsc::Receiver<Vec<u8>>, to: &mut RibTask, from: &str) {
        for (tx, msgs) in t.take_outbox() {
            for m in msgs {
                tx.try_send(m).unwrap();
            }
        }
        while let Ok(m) = rx.try_recv() {
            to.handle(RibMsg::Update {
                peer: from.parse().unwrap(),
                session: to.up[&from.parse::<IpAddr>().unwrap()].0,
                body: m[19..].to_vec(),
            });
        }
    }

    /// A receiving speaker with one peer, `from` in AS `asn`.
    fn receiver(my_as: u32, from: &str, asn: u32) -> RibTask {
        let mut b = RibTask::new(rib_config(Some(my_as), Some("9.9.9.9".parse().unwrap())));
        b.handle(RibMsg::PeerUp {
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
        });
        b
    }

    fn announce_vpn6(t: &mut RibTask) {
        let nh = NextHop::ipv4_mapped("10.0.0.2".parse().unwrap());
        let session = t.up[&PEER.parse::<IpAddr>().unwrap()].0;
        t.handle(RibMsg::Update {
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
            assert_eq!(r.labels, vec![1000]);
            assert_eq!(r.local_pref, None);
            let nh = if nhi {
                "::ffff:10.0.0.2"
            } else {
                "::ffff:10.0.1.1"
            };
            assert_eq!(r.next_hop, Some(nh.parse().unwrap()), "nhi {nhi}");
            // The source goes down: the route is withdrawn.
            let session = t.up[&PEER.parse::<IpAddr>().unwrap()].0;
            t.handle(RibMsg::PeerDown {
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
        // IBGP non-client: next hop kept, LOCAL_PREF 100, no reflection attributes.
        let mut rx = up_out(&mut t, "10.0.1.3", 100, "10.0.1.1", false, false);
        let mut b = receiver(100, "10.0.1.1", 100);
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let tab = b.table(Family::VPNV6);
        assert_eq!(tab.routes.len(), 1, "{tab:?}");
        let r = &tab.routes[0];
        assert_eq!(r.as_path, "200");
        assert_eq!(r.local_pref, Some(100));
        assert_eq!(r.next_hop, Some("::ffff:10.0.0.2".parse().unwrap()));
        // Never back to the sender; IBGP-learned not to another non-client, but to a client
        // with ORIGINATOR_ID and CLUSTER_LIST.
        let session = t.up[&PEER.parse::<IpAddr>().unwrap()].0;
        t.handle(RibMsg::PeerDown {
            peer: PEER.parse().unwrap(),
            session,
        });
        let _ = t.take_outbox();
        let mut n2 = up_out(&mut t, "10.0.1.4", 100, "10.0.1.1", false, false);
        let mut c = up_out(&mut t, "10.0.1.5", 100, "10.0.1.1", true, false);
        let _ = t.take_outbox();
        while n2.try_recv().is_ok() || c.try_recv().is_ok() {}
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
        let session = t.up[&"10.0.1.3".parse::<IpAddr>().unwrap()].0;
        t.handle(RibMsg::Update {
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
    }
}
