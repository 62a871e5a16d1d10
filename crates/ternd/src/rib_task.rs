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
//! - Displays ask with [`RibMsg::Table`] and get an owned snapshot of a family's table, every
//!   path of every destination, sorted (RD, prefix; the best path first).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tern_rib::{
    AcceptAll, AllReachable, BestChange, PathInfo, PeerId, PeerInfo, Rib, RibConfig, RouteKey,
};
use tern_types::{Asn, Family};
use tern_wire::attr::Origin;
use tern_wire::{Ctx, NextHop, Update};
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
    /// Best-path changes of the last input (for export, with the routing work).
    changes: Vec<BestChange>,
}

async fn run(mut t: RibTask, mut rx: mpsc::Receiver<RibMsg>) {
    while let Some(m) = rx.recv().await {
        t.handle(m);
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
        }
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
            RibMsg::PeerUp { session, info, ctx } => {
                let addr = info.addr;
                let id = self.id(addr);
                if self.up.contains_key(&addr) {
                    // A PeerDown was lost (cannot happen with one Established connection per
                    // peer): drop the old session's routes first.
                    self.rib.peer_down(id, &AllReachable, &mut self.changes);
                }
                self.rib.peer_up(id, info);
                self.up.insert(addr, (session, ctx));
                info!(peer = %addr, session, "RIB: peer up");
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
            }
            RibMsg::PeerDown { peer, session } => {
                if self.up.get(&peer).is_some_and(|(s, _)| *s == session) {
                    self.up.remove(&peer);
                    if let Some(&id) = self.ids.get(&peer) {
                        let n = self.rib.peer_down(id, &AllReachable, &mut self.changes);
                        info!(peer = %peer, session, routes = n, "RIB: peer down, routes withdrawn");
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
}
