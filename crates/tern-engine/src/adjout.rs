//! Adj-RIB-Out with update groups (RFC 4271 §3.2, §9.2; what may be sent: RFC 4456 §6, VRP's
//! next-hop rules).
//!
//! Peers whose outgoing routes are computed the same way ([`Params`]: routing domain, role,
//! families, session context, local address, `next-hop-invariable` / `next-hop-local`, export
//! policies) form an update group: a changed destination is evaluated once per group (policy,
//! attributes, labels), each UPDATE is encoded once and the same bytes ([`Bytes`], shared) go
//! to every member.
//!
//! The Adj-RIB-Out is implicit (RFC 4271 §3.2 allows it): what a group has sent is its view of
//! the Loc-RIB, so nothing is stored per route. A change only marks the destination dirty in
//! each group of its domain, with the source of the best path the members last saw; the
//! destination's current best path is read when the group is flushed. Memory is therefore
//! bounded by the number of destinations, whatever the churn and however slow a peer is:
//!
//! - A group is flushed only while every member's writer has room; what one batch produced
//!   and did not fit waits in that member's backlog (at most one batch).
//! - A member that still has a backlog when its group is ready to go on is taken out of the
//!   group's stream: it gets its own copy of the group's dirty set and catches up alone
//!   ("syncing"), so a slow peer never holds back the others. A member whose own work is done
//!   is back in the group's stream.
//! - A new member (session up, export policy changed) starts syncing with the whole table and
//!   ends with End-of-RIB (RFC 4724 §2) after its initial table.
//!
//! Split horizon in a group: a route is announced to every member but the one it came from;
//! when the best path's source moves to a member that may have had the previous best path,
//! that member is sent a withdrawal. A destination that is gone, or may no longer be sent, is
//! withdrawn from every member that may have had it (a withdrawal of a route a peer never had
//! is harmless, RFC 4271 §9.1.3 leaves it without effect).

use std::collections::{HashMap, VecDeque};

/// Maps keyed by destinations: hashed with foldhash (SipHash cost more than the rest of a
/// destination's evaluation).
type FastMap<K, V> = foldhash::HashMap<K, V>;
use std::net::{IpAddr, Ipv4Addr};

use crate::labels::Labels;
use bytes::Bytes;
use tern_rib::rr::{self, Role};
use tern_rib::{AttrId, Best, NextHopResolver, PathAttrs, PeerId, Rib, RouteKey};
use tern_types::{Family, LabelStack};
use tern_wire::{Ctx, NextHop, Nlri, UpdateBuilder};
use tracing::{debug, warn};

use tern_policy::{Outcome, Policies, RouteInput};

use crate::wellknown::end_of_refresh;
pub use crate::wellknown::{NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED, well_known_allow};

/// Destinations evaluated per group in one flush step.
pub const BATCH: usize = 2048;

/// Destinations evaluated per member catching up alone in one flush step: smaller than a
/// group's, as what a step encodes for a member whose writer is full waits in its backlog,
/// and hundreds of members may be walking at once (a reflector's clients coming back).
pub const SYNC_BATCH: usize = 256;

/// What became of a message offered to a member's writer.
#[derive(Debug)]
pub enum Offer {
    /// Queued.
    Taken,
    /// No room now: the message is handed back.
    Full(Bytes),
    /// The connection is gone.
    Closed,
}

/// Where a member's messages go: the connection's writer queue, bounded. The Adj-RIB-Out
/// never waits on it: a full writer makes the member catch up alone later.
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// Queues `b` if there is room.
    fn offer(&self, b: Bytes) -> Offer;

    /// Called once per family by each engine that has sent the member its initial table, with
    /// every message of that table already taken: true when End-of-RIB goes out now. A writer
    /// fed by several shards ([`crate::shard`]) answers true to the last of them only, so
    /// End-of-RIB (RFC 4724 §2) follows the whole table.
    fn end_of_rib_turn(&self, family: Family) -> bool {
        let _ = family;
        true
    }

    /// Like [`Sink::end_of_rib_turn`], for the end of a route refresh (RFC 7313 §4: EoRR
    /// follows the whole re-advertisement): true for the last engine of each refresh.
    fn end_of_refresh_turn(&self, family: Family) -> bool {
        let _ = family;
        true
    }

    /// Entries waiting in the writer's queue (for monitoring; 0 when not known).
    fn queued(&self) -> usize {
        0
    }
}

/// A member's writer, shared with whoever re-joins it to a group.
pub type Writer = std::sync::Arc<dyn Sink>;

/// A destination of one family, as sent.
pub type Key = (Family, RouteKey);

/// What decides the routes a peer is sent: peers with equal parameters share a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// Routing domain (VPN instance of a PE–CE session).
    pub vrf: Option<String>,
    /// The peer's role (EBGP, reflector client, IBGP non-client).
    pub role: Role,
    /// Negotiated families.
    pub families: Vec<Family>,
    /// Encoding context (4-octet AS, ADD-PATH, Extended Message).
    pub ctx: Ctx,
    /// The session's local address (next hop self).
    pub local: Option<IpAddr>,
    /// The peer's outbound options.
    pub out: Outbound,
    /// Export policy per family.
    pub export: Vec<(Family, String)>,
    /// Export filters per family (`as-path-filter F export`, `ip-prefix P export`).
    pub export_filters: Vec<(Family, tern_policy::PeerFilters)>,
    /// The route targets the peer's VPN routes are limited to (route target constraint,
    /// RFC 4684; `None`: every VPN route). Peers with different interests are in different
    /// groups, so a group's VPN output is the same for every member.
    pub rt_interest: Option<crate::rtc::RtInterest>,
}

/// A peer's outbound options, per family (VRP's `peer X …` commands of the family views):
/// what it is sent besides the routes' selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbound {
    /// `next-hop-invariable`: the next hop is kept toward EBGP.
    pub next_hop_invariable: Vec<Family>,
    /// `next-hop-local`: next hop self toward IBGP too.
    pub next_hop_local: Vec<Family>,
    /// `advertise-community`: communities (RFC 1997) are sent (VRP sends none by default).
    pub advertise_community: Vec<Family>,
    /// `advertise-ext-community`: extended communities are sent; VPN routes always carry
    /// theirs (the route targets).
    pub advertise_ext_community: Vec<Family>,
    /// `substitute-as`, `public-as-only`, `fake-as` (toward EBGP).
    pub as_out: crate::asrules::AsOut,
    /// ADD-PATH send (RFC 7911): the most paths of a destination sent, per family where it
    /// was negotiated.
    pub add_path: Vec<(Family, u8)>,
    /// `default-route-advertise [route-policy P]`: the families (IPv4 and IPv6 unicast) the
    /// peer is sent a default route of this router in, whatever the table holds.
    pub default_route: Vec<(Family, Option<String>)>,
}

impl Outbound {
    /// The `default-route-advertise` of `family` when `key` is its default destination.
    fn default_route(&self, family: Family, key: &RouteKey) -> Option<Option<&str>> {
        if key.rd.is_some() || key.prefix.prefix_len() != 0 {
            return None;
        }
        self.default_route
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, p)| p.as_deref())
    }
}

/// The default destinations of `default-route-advertise`, marked for a member (or group)
/// about to be sent its table: the walk covers only what the table holds.
fn mark_defaults(params: &Params, dirty: &mut Dirty, pend: Pend) {
    mark_default_of(
        params.out.default_route.iter().map(|(f, _)| *f),
        params,
        dirty,
        pend,
    );
}

/// The default destinations of `families` the peers are sent in.
fn mark_default_of(
    families: impl Iterator<Item = Family>,
    params: &Params,
    dirty: &mut Dirty,
    pend: Pend,
) {
    for f in families {
        let f = &f;
        if params.families.contains(f) {
            let any: ipnet::IpNet = if f.is_ipv6() {
                ipnet::IpNet::V6(Default::default())
            } else {
                ipnet::IpNet::V4(Default::default())
            };
            dirty.mark((*f, RouteKey::new(any)), pend);
        }
    }
}

impl Params {
    /// The family a destination of `family` is sent in to these peers, if any: a
    /// labeled-unicast peer (label-route-capability) is sent unicast routes as labeled
    /// routes (IPv4: RFC 8277; IPv6 over IPv4, 6PE: RFC 4798), and an IPv6 unicast peer is
    /// sent the 6PE routes (IPv6 labeled, learned from 6PE peers) as IPv6 unicast routes.
    pub fn sends(&self, family: Family) -> Option<Family> {
        if self.families.contains(&family) {
            Some(family)
        } else if let Some(l) = family.labeled().filter(|l| self.labeled_from_unicast(*l)) {
            Some(l)
        } else if self.unicast_from_labeled(family) {
            family.unlabeled()
        } else {
            None
        }
    }

    /// True when unicast routes go out as labeled routes in `family` (IPv4 or IPv6
    /// labeled): the peers speak it instead of the unicast family.
    fn labeled_from_unicast(&self, family: Family) -> bool {
        family
            .unlabeled()
            .is_some_and(|u| self.families.contains(&family) && !self.families.contains(&u))
    }

    /// True when the 6PE routes of `family` (IPv6 labeled) go out as IPv6 unicast routes,
    /// without their labels: the peers speak IPv6 unicast and not IPv6 labeled. (IPv4
    /// labeled routes are not sent to IPv4 unicast peers.)
    fn unicast_from_labeled(&self, family: Family) -> bool {
        family == Family::IPV6_LABELED
            && self.families.contains(&Family::IPV6_UNICAST)
            && !self.families.contains(&family)
    }

    /// The table a destination of send family `family` is read from when `family`'s own
    /// has no best path: the unicast one for a labeled family these peers speak instead, the
    /// IPv6 labeled one (6PE routes) for IPv6 unicast peers.
    fn fallback(&self, family: Family) -> Option<Family> {
        if self.labeled_from_unicast(family) {
            family.unlabeled()
        } else {
            family.labeled().filter(|l| self.unicast_from_labeled(*l))
        }
    }

    /// ADD-PATH send (RFC 7911) in `family` (as sent): how many paths of a destination the
    /// peers are sent, each with its path ID; `None` where it was not negotiated (the best
    /// path only, without path IDs).
    pub fn add_path(&self, family: Family) -> Option<usize> {
        self.ctx.add_path.contains(family).then(|| {
            self.out
                .add_path
                .iter()
                .find(|(f, _)| *f == family)
                .map_or(1, |(_, n)| usize::from(*n).max(1))
        })
    }

    /// True when ADD-PATH send was negotiated in a family.
    pub fn sends_paths(&self) -> bool {
        self.families.iter().any(|f| self.add_path(*f).is_some())
    }

    fn export_policy(&self, family: Family) -> Option<&str> {
        self.export
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, n)| n.as_str())
    }
}

/// What a flush needs from the RIB task: the tables of each domain, the labels, the policies.
pub struct Env<'a> {
    /// The public tables.
    pub public: &'a Rib,
    /// VPN instance tables by name.
    pub vrfs: &'a dyn Fn(&str) -> Option<&'a Rib>,
    /// Label allocation.
    pub labels: &'a mut Labels,
    /// Compiled route policies.
    pub policies: &'a Policies,
    /// The path IDs of the paths sent to ADD-PATH peers.
    pub path_ids: &'a mut PathIds,
    /// Next hops as the engine knows them (ranking the paths ADD-PATH peers are sent).
    pub resolver: &'a dyn NextHopResolver,
}

/// The path IDs this router sends (RFC 7911 §3): one per source path (the peer it came from
/// and the path ID that peer gave it), the same for every destination and every ADD-PATH
/// peer, so a path keeps its ID while it is sent and a path that is no longer sent is
/// withdrawn by its ID. IDs are never reused for another source path.
#[derive(Default, Debug)]
pub struct PathIds {
    ids: FastMap<(PeerId, u32), u32>,
}

impl PathIds {
    /// The ID the path from `peer` with received ID `rx` is sent with.
    pub fn of(&mut self, peer: PeerId, rx: u32) -> u32 {
        let next = u32::try_from(self.ids.len())
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1);
        *self.ids.entry((peer, rx)).or_insert(next)
    }
}

/// Source paths (peer, received path ID) removed from a destination, whose path IDs are to be
/// withdrawn from ADD-PATH peers.
type Gone = Vec<(PeerId, u32)>;

impl<'a> Env<'a> {
    fn rib(&self, vrf: Option<&str>) -> Option<&'a Rib> {
        match vrf {
            None => Some(self.public),
            Some(v) => (self.vrfs)(v),
        }
    }
}

/// Destinations waiting to be evaluated, in order, each with the source of the best path the
/// peers last saw (`None`: none, or not known to have been sent).
#[derive(Default, Debug)]
struct Dirty {
    order: VecDeque<Key>,
    prev: FastMap<Key, Pend>,
    /// ADD-PATH: paths removed from a dirty destination.
    gone: FastMap<Key, Gone>,
}

#[derive(Clone, Copy, Debug)]
struct Pend {
    prev: Option<PeerId>,
    /// Part of an initial table: nothing to withdraw when it may not be sent.
    initial: bool,
}

/// A table sent again on request: what may be sent is announced, nothing is withdrawn (the
/// peer holds what it was sent).
const REFRESH: Pend = Pend {
    prev: None,
    initial: true,
};

impl Dirty {
    fn mark(&mut self, key: Key, pend: Pend) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.prev.entry(key) {
            e.insert(pend);
            self.order.push_back(key);
        }
    }
    fn mark_gone(&mut self, key: Key, pend: Pend, src: (PeerId, u32)) {
        self.mark(key, pend);
        let g = self.gone.entry(key).or_default();
        if !g.contains(&src) {
            g.push(src);
        }
    }
    /// The removed paths of the destinations of `batch` (taken from this set).
    fn take_gone(&mut self, batch: &[(Key, Pend)]) -> FastMap<Key, Gone> {
        if self.gone.is_empty() {
            return FastMap::default();
        }
        batch
            .iter()
            .filter_map(|(k, _)| self.gone.remove(k).map(|g| (*k, g)))
            .collect()
    }
    /// A copy for a member leaving the group's stream.
    fn copy(&self) -> Dirty {
        let mut own = Dirty::default();
        for k in &self.order {
            if let Some(p) = self.prev.get(k) {
                own.mark(*k, *p);
            }
        }
        own.gone = self.gone.clone();
        own
    }
    fn take(&mut self, n: usize) -> Vec<(Key, Pend)> {
        let mut out = Vec::with_capacity(n.min(self.order.len()));
        while out.len() < n {
            let Some(k) = self.order.pop_front() else {
                break;
            };
            if let Some(p) = self.prev.remove(&k) {
                out.push((k, p));
            }
        }
        out
    }
    fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    fn len(&self) -> usize {
        self.order.len()
    }
}

/// A member catching up alone: the destinations that changed since it started (or since it
/// left the group's stream), and while it is sent a whole table, its walk over the table.
#[derive(Default)]
struct CatchUp {
    dirty: Dirty,
    walk: Option<Cursor>,
}

impl CatchUp {
    fn is_empty(&self) -> bool {
        self.dirty.is_empty() && self.walk.is_none()
    }
}

/// A walk over a domain's tables for one member, each table downward (see
/// [`Rib::walk_best_down`]): a joining member is sent its table from the tables themselves, a
/// batch at a time, so what it costs while it catches up does not grow with the table (a copy
/// of every destination's key per joining member would: about 135 octets a destination).
///
/// A destination that changes while the member walks is marked in the member's own dirty set
/// only when the walk has passed it; one still ahead is read in its state of that time.
struct Cursor {
    /// The tables walked: (table family, family the routes go out in).
    tables: Vec<(Family, Family)>,
    /// Index in `tables` of the table being walked.
    at: usize,
    /// Positions below this in that table are still to be walked.
    below: usize,
    /// What the evaluation of a walked destination assumes the member had.
    pend: Pend,
}

impl Cursor {
    fn new(rib: &Rib, params: &Params, pend: Pend) -> Cursor {
        Cursor::of(rib, params, pend, &params.families)
    }

    /// A walk over the tables whose routes go out in one of `families`.
    fn of(rib: &Rib, params: &Params, pend: Pend, families: &[Family]) -> Cursor {
        let tables: Vec<(Family, Family)> = Family::KNOWN
            .iter()
            .filter_map(|f| params.sends(*f).map(|s| (*f, s)))
            .filter(|(_, s)| families.contains(s))
            .collect();
        let below = tables.first().map_or(0, |(f, _)| rib.len(*f));
        Cursor {
            tables,
            at: 0,
            below,
            pend,
        }
    }

    /// True when the destination `key` of table `family`, at `position` there, is still ahead
    /// of the walk.
    fn ahead(&self, family: Family, position: Option<usize>) -> bool {
        match self.tables.iter().position(|(f, _)| *f == family) {
            None => false,
            Some(j) if j > self.at => true,
            Some(j) if j < self.at => false,
            Some(_) => position.is_some_and(|p| p < self.below),
        }
    }

    /// Appends walked destinations to `out` until it holds `n`; false when the walk is done.
    fn take(&mut self, rib: &Rib, n: usize, out: &mut Vec<(Key, Pend)>) -> bool {
        let mut keys = Vec::new();
        while out.len() < n {
            let Some(&(table, sent)) = self.tables.get(self.at) else {
                return false;
            };
            if self.below == 0 {
                self.at = self.at.saturating_add(1);
                self.below = self.tables.get(self.at).map_or(0, |(f, _)| rib.len(*f));
                continue;
            }
            self.below =
                rib.walk_best_down(table, self.below, n.saturating_sub(out.len()), &mut keys);
            out.extend(keys.drain(..).map(|k| ((sent, k), self.pend)));
        }
        self.at < self.tables.len()
    }
}

/// Who a message goes to within a group.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Target {
    All,
    AllExcept(PeerId),
    Only(PeerId),
}

impl Target {
    fn includes(self, id: PeerId) -> bool {
        match self {
            Target::All => true,
            Target::AllExcept(x) => x != id,
            Target::Only(x) => x == id,
        }
    }
}

struct Member {
    id: PeerId,
    tx: Writer,
    group: u64,
    /// Catching up alone: its own dirty set, and its walk over the table while it is sent a
    /// whole table.
    syncing: Option<CatchUp>,
    /// End-of-RIB still to be sent after the initial table.
    eor: bool,
    /// Families the peer asked to be sent again (ROUTE-REFRESH) while a walk was under way:
    /// walked when it ends (true: with EoRR after, enhanced route refresh).
    refresh: Vec<(Family, bool)>,
    /// Families whose walk under way answers an enhanced refresh: EoRR when it ends.
    eorr: Vec<Family>,
    /// Messages produced for it that did not fit its writer.
    backlog: VecDeque<Bytes>,
    closed: bool,
}

impl Member {
    /// Sends what fits; true when the backlog is empty afterwards.
    fn drain(&mut self) -> bool {
        while let Some(b) = self.backlog.pop_front() {
            match self.tx.offer(b) {
                Offer::Taken => {}
                Offer::Full(b) => {
                    self.backlog.push_front(b);
                    return false;
                }
                Offer::Closed => {
                    self.closed = true;
                    self.backlog.clear();
                }
            }
        }
        true
    }
    fn send(&mut self, b: Bytes) {
        if self.closed {
            return;
        }
        self.backlog.push_back(b);
        self.drain();
    }
}

struct Group {
    params: Params,
    members: Vec<IpAddr>,
    dirty: Dirty,
    /// Members catching up alone (they get every mark too).
    syncing: usize,
    /// UPDATEs encoded for the group.
    formatted: u64,
    /// Copies of them handed to members.
    sent: u64,
}

/// An update group as `display bgp update-peer-group` shows it.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group's number.
    pub id: u64,
    /// VPN instance (PE–CE sessions).
    pub vrf: Option<String>,
    /// `external`, `internal` or `client` (IBGP reflector clients).
    pub kind: &'static str,
    /// The families its members are sent (`ipv4-unicast`, `vpnv4`, …).
    pub families: Vec<String>,
    /// Members, the first one leading.
    pub members: Vec<IpAddr>,
    /// UPDATEs encoded for the group.
    pub formatted: u64,
    /// Copies of them handed to members.
    pub sent: u64,
}

/// An update group's load, for monitoring: read from the group's counters, no walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLoad {
    /// The group's number (as `display bgp update-peer-group` shows it).
    pub id: u64,
    /// VPN instance (PE–CE sessions).
    pub vrf: Option<String>,
    /// `external`, `internal` or `client`.
    pub kind: &'static str,
    /// The families its members are sent.
    pub families: Vec<Family>,
    /// Members.
    pub members: usize,
    /// Destinations waiting in the group's stream.
    pub pending: usize,
    /// UPDATEs encoded for the group.
    pub formatted: u64,
    /// Copies of them handed to members.
    pub sent: u64,
}

/// A member's outbound queues, for monitoring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberLoad {
    /// The peer.
    pub addr: IpAddr,
    /// Its group's number.
    pub group: u64,
    /// Buffers encoded for it that did not fit its writer's queue.
    pub backlog: usize,
    /// Destinations queued for it while it catches up alone (`None`: in the group's stream).
    pub catching_up: Option<usize>,
    /// Entries in its writer's queue ([`Sink::queued`]).
    pub queued: usize,
}

/// Every peer routes are sent to, in update groups.
#[derive(Default)]
pub struct AdjOut {
    groups: HashMap<u64, Group>,
    members: HashMap<IpAddr, Member>,
    next_group: u64,
}

impl AdjOut {
    /// Adds a peer; it is sent the table of its domain (`rib`), walked in batches (see
    /// [`Cursor`]), then End-of-RIB when `eor`. With `resync` every destination is evaluated
    /// as changed (what the peer may no longer have is withdrawn); an initial table only
    /// announces.
    #[allow(clippy::too_many_arguments)]
    pub fn join(
        &mut self,
        addr: IpAddr,
        id: PeerId,
        tx: Writer,
        params: Params,
        rib: &Rib,
        eor: bool,
        resync: bool,
    ) {
        // A default route sent under the previous settings is withdrawn when it is no
        // longer to be sent (the walk covers only what the table holds).
        let before: Vec<Family> = self
            .members
            .get(&addr)
            .and_then(|m| self.groups.get(&m.group))
            .map(|g| g.params.out.default_route.iter().map(|(f, _)| *f).collect())
            .unwrap_or_default();
        self.leave(addr);
        let pend = Pend {
            prev: resync.then_some(NOBODY),
            initial: !resync,
        };
        let walk = Cursor::new(rib, &params, pend);
        let mut first = Dirty::default();
        mark_defaults(&params, &mut first, pend);
        if resync {
            mark_default_of(before.into_iter(), &params, &mut first, pend);
        }
        let group = match self.groups.iter().find(|(_, g)| g.params == params) {
            Some((gid, _)) => *gid,
            None => {
                self.next_group = self.next_group.wrapping_add(1);
                self.groups.insert(
                    self.next_group,
                    Group {
                        params,
                        members: Vec::new(),
                        dirty: Dirty::default(),
                        syncing: 0,
                        formatted: 0,
                        sent: 0,
                    },
                );
                self.next_group
            }
        };
        if let Some(g) = self.groups.get_mut(&group) {
            g.members.push(addr);
            g.syncing += 1;
            debug!(peer = %addr, group, members = g.members.len(), "Adj-RIB-Out: joined update group");
        }
        self.members.insert(
            addr,
            Member {
                id,
                tx,
                group,
                syncing: Some(CatchUp {
                    dirty: first,
                    walk: Some(walk),
                }),
                eor,
                refresh: Vec::new(),
                eorr: Vec::new(),
                backlog: VecDeque::new(),
                closed: false,
            },
        );
    }

    /// A route refresh request (RFC 2918 §4): `addr` is sent its routes of `family` again,
    /// walked from the tables like a joining member's (after a walk under way, if any), and
    /// with `enhanced` an EoRR after them (RFC 7313 §4; the BoRR is the caller's, before). A
    /// family the peer is not sent is ignored.
    pub fn refresh(&mut self, addr: IpAddr, family: Family, rib: &Rib, enhanced: bool) {
        let Some(m) = self.members.get_mut(&addr) else {
            return;
        };
        let Some(g) = self.groups.get_mut(&m.group) else {
            return;
        };
        if !g.params.families.contains(&family) {
            return;
        }
        let walk = || Cursor::of(rib, &g.params, REFRESH, &[family]);
        match m.syncing.as_mut() {
            Some(s) if s.walk.is_some() => {
                if !m.refresh.contains(&(family, enhanced)) {
                    m.refresh.push((family, enhanced));
                }
            }
            Some(s) => {
                s.walk = Some(walk());
                if enhanced {
                    m.eorr.push(family);
                }
            }
            None => {
                // Out of the group's stream, with what the stream still holds for it.
                let own = g.dirty.copy();
                m.syncing = Some(CatchUp {
                    dirty: own,
                    walk: Some(walk()),
                });
                g.syncing += 1;
                if enhanced {
                    m.eorr.push(family);
                }
            }
        }
        debug!(peer = %addr, %family, "Adj-RIB-Out: routes sent again (route refresh)");
    }

    /// A new route target interest of `addr` (RFC 4684: the peer's membership changed):
    /// the member moves to the group of peers with its new interest, and its VPN tables are
    /// walked again with every destination evaluated as changed, so that routes it now wants
    /// are announced and routes it no longer wants are withdrawn. What its old group's stream
    /// still held for it stays queued for it; a member still walking its initial table walks
    /// the whole table again. Nothing happens when the interest is unchanged.
    pub fn refilter(&mut self, addr: IpAddr, interest: Option<crate::rtc::RtInterest>, rib: &Rib) {
        let Some(m) = self.members.get(&addr) else {
            return;
        };
        let Some(old) = self.groups.get(&m.group) else {
            return;
        };
        if old.params.rt_interest == interest {
            return;
        }
        let mut params = old.params.clone();
        params.rt_interest = interest;
        let (id, tx, eor) = (m.id, m.tx.clone(), m.eor);
        // What the member has still to be sent: its own queue if it catches up alone, else
        // its group's stream.
        let mut own = Dirty::default();
        let mut whole = false;
        match &m.syncing {
            Some(s) => {
                whole = s.walk.is_some();
                for k in &s.dirty.order {
                    if let Some(p) = s.dirty.prev.get(k) {
                        own.mark(*k, *p);
                    }
                }
            }
            None => {
                for k in &old.dirty.order {
                    if let Some(p) = old.dirty.prev.get(k) {
                        own.mark(*k, *p);
                    }
                }
            }
        }
        let backlog = m.backlog.clone();
        let resync = Pend {
            prev: Some(NOBODY),
            initial: false,
        };
        let vpn: Vec<Family> = params
            .families
            .iter()
            .copied()
            .filter(|f| f.has_rd())
            .collect();
        let walk = if whole {
            Cursor::new(rib, &params, resync)
        } else {
            Cursor::of(rib, &params, resync, &vpn)
        };
        self.join(addr, id, tx, params, rib, eor, true);
        if let Some(m) = self.members.get_mut(&addr) {
            m.backlog = backlog;
            m.syncing = Some(CatchUp {
                dirty: own,
                walk: Some(walk),
            });
        }
        debug!(peer = %addr, "Adj-RIB-Out: route target interest changed, VPN routes sent again");
    }

    /// Removes a peer (session down).
    pub fn leave(&mut self, addr: IpAddr) {
        let Some(m) = self.members.remove(&addr) else {
            return;
        };
        if let Some(g) = self.groups.get_mut(&m.group) {
            g.members.retain(|a| *a != addr);
            if m.syncing.is_some() {
                g.syncing = g.syncing.saturating_sub(1);
            }
            if g.members.is_empty() {
                self.groups.remove(&m.group);
            }
        }
    }

    /// The peers, with their group parameters (for re-joining after a policy change).
    pub fn peers(&self) -> Vec<(IpAddr, PeerId, Writer, Params)> {
        let mut v: Vec<_> = self
            .members
            .iter()
            .filter_map(|(a, m)| {
                let g = self.groups.get(&m.group)?;
                Some((*a, m.id, m.tx.clone(), g.params.clone()))
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// Destinations queued for a member catching up alone (its own dirty set; the walk over
    /// the table it is sent is not counted: it holds no destinations); `None` when the member
    /// is in its group's stream or unknown.
    pub fn catching_up(&self, addr: IpAddr) -> Option<usize> {
        self.members
            .get(&addr)?
            .syncing
            .as_ref()
            .map(|s| s.dirty.len())
    }

    /// The update groups, by number (`display bgp update-peer-group`).
    pub fn groups(&self) -> Vec<GroupInfo> {
        let mut v: Vec<GroupInfo> = self
            .groups
            .iter()
            .map(|(id, g)| GroupInfo {
                id: *id,
                vrf: g.params.vrf.clone(),
                kind: match g.params.role {
                    Role::Ebgp => "external",
                    Role::Client => "client",
                    _ => "internal",
                },
                families: g.params.families.iter().map(|f| f.to_string()).collect(),
                members: g.members.clone(),
                formatted: g.formatted,
                sent: g.sent,
            })
            .collect();
        v.sort_by_key(|g| g.id);
        v
    }

    /// Each group's load and each member's queues (monitoring): counters and queue lengths,
    /// nothing walked.
    pub fn load(&self) -> (Vec<GroupLoad>, Vec<MemberLoad>) {
        let mut groups: Vec<GroupLoad> = self
            .groups
            .iter()
            .map(|(id, g)| GroupLoad {
                id: *id,
                vrf: g.params.vrf.clone(),
                kind: match g.params.role {
                    Role::Ebgp => "external",
                    Role::Client => "client",
                    _ => "internal",
                },
                families: g.params.families.clone(),
                members: g.members.len(),
                pending: g.dirty.len(),
                formatted: g.formatted,
                sent: g.sent,
            })
            .collect();
        groups.sort_by_key(|g| g.id);
        let mut members: Vec<MemberLoad> = self
            .members
            .iter()
            .map(|(a, m)| MemberLoad {
                addr: *a,
                group: m.group,
                backlog: m.backlog.len(),
                catching_up: m.syncing.as_ref().map(|s| s.dirty.len()),
                queued: m.tx.queued(),
            })
            .collect();
        members.sort_by_key(|m| m.addr);
        (groups, members)
    }

    /// The number of update groups and members (for the displays and tests).
    pub fn sizes(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.groups.values().map(|g| g.members.len()).collect();
        v.sort_unstable();
        v
    }

    /// A destination of `domain` (whose tables are `rib`) changed: `prev` is the source of its
    /// previous best path.
    pub fn mark(
        &mut self,
        rib: &Rib,
        domain: Option<&str>,
        family: Family,
        key: RouteKey,
        prev: Option<PeerId>,
    ) {
        let pend = Pend {
            prev,
            initial: false,
        };
        for (gid, g) in &mut self.groups {
            if g.params.vrf.as_deref() != domain {
                continue;
            }
            let Some(f) = g.params.sends(family) else {
                continue;
            };
            g.dirty.mark((f, key), pend);
            if g.syncing > 0 {
                let position = rib.position(family, &key);
                for m in self.members.values_mut() {
                    if m.group == *gid
                        && let Some(s) = m.syncing.as_mut()
                        && !s.walk.as_ref().is_some_and(|w| w.ahead(family, position))
                    {
                        s.dirty.mark((f, key), pend);
                    }
                }
            }
        }
    }

    /// A destination of the public tables whose paths changed without a change of its best
    /// path, or lost the path `gone` (see [`tern_rib::PathChange`]): marked in the groups
    /// sent several paths of it (ADD-PATH), the others having nothing to send.
    pub fn mark_paths(
        &mut self,
        rib: &Rib,
        family: Family,
        key: RouteKey,
        gone: Option<(PeerId, u32)>,
    ) {
        let pend = Pend {
            prev: Some(NOBODY),
            initial: false,
        };
        for (gid, g) in &mut self.groups {
            if g.params.vrf.is_some() {
                continue;
            }
            let Some(f) = g.params.sends(family) else {
                continue;
            };
            if g.params.add_path(f).is_none() {
                continue;
            }
            let put = |d: &mut Dirty| match gone {
                Some(src) => d.mark_gone((f, key), pend, src),
                None => d.mark((f, key), pend),
            };
            put(&mut g.dirty);
            if g.syncing > 0 {
                let position = rib.position(family, &key);
                for m in self.members.values_mut() {
                    if m.group == *gid
                        && let Some(s) = m.syncing.as_mut()
                        && !s.walk.as_ref().is_some_and(|w| w.ahead(family, position))
                    {
                        put(&mut s.dirty);
                    }
                }
            }
        }
    }

    /// True when a group is sent several paths per destination (ADD-PATH): the RIB then logs
    /// its path changes for [`AdjOut::mark_paths`].
    pub fn sends_paths(&self) -> bool {
        self.groups
            .values()
            .any(|g| g.params.vrf.is_none() && g.params.sends_paths())
    }

    /// Destinations waiting in the largest group's stream.
    pub fn pending(&self) -> usize {
        self.groups
            .values()
            .map(|g| g.dirty.len())
            .max()
            .unwrap_or(0)
    }

    /// True when something is waiting to be evaluated or sent.
    pub fn has_work(&self) -> bool {
        self.groups.values().any(|g| !g.dirty.is_empty())
            || self.members.values().any(|m| {
                !m.closed
                    && (!m.backlog.is_empty()
                        || m.eor
                        || m.syncing.as_ref().is_some_and(|s| !s.is_empty()))
            })
    }

    /// One step of work: every member's backlog, then a batch per group and per syncing
    /// member. Returns true when something was sent or evaluated.
    pub fn flush(&mut self, env: &mut Env<'_>) -> bool {
        let mut progress = false;
        for m in self.members.values_mut() {
            let before = m.backlog.len();
            m.drain();
            progress |= m.backlog.len() != before;
        }
        let mut gids: Vec<u64> = self.groups.keys().copied().collect();
        gids.sort_unstable();
        for gid in gids {
            progress |= self.flush_group(gid, env);
        }
        let mut addrs: Vec<IpAddr> = self
            .members
            .iter()
            .filter(|(_, m)| m.syncing.is_some())
            .map(|(a, _)| *a)
            .collect();
        addrs.sort();
        for a in addrs {
            progress |= self.flush_syncing(a, env);
        }
        progress
    }

    fn flush_group(&mut self, gid: u64, env: &mut Env<'_>) -> bool {
        let Some(g) = self.groups.get_mut(&gid) else {
            return false;
        };
        if g.dirty.is_empty() {
            return false;
        }
        // Members in the group's stream with a backlog would hold the others back: they
        // catch up alone.
        let mut in_stream = Vec::new();
        for a in &g.members {
            let Some(m) = self.members.get_mut(a) else {
                continue;
            };
            if m.closed || m.syncing.is_some() {
                continue;
            }
            if !m.backlog.is_empty() {
                let own = g.dirty.copy();
                debug!(peer = %a, pending = own.len(), "Adj-RIB-Out: slow member catches up alone");
                m.syncing = Some(CatchUp {
                    dirty: own,
                    walk: None,
                });
                g.syncing += 1;
                continue;
            }
            in_stream.push(m.id);
        }
        let batch = g.dirty.take(BATCH);
        let gone = g.dirty.take_gone(&batch);
        if in_stream.is_empty() {
            return !batch.is_empty();
        }
        let Some(rib) = env.rib(g.params.vrf.as_deref()) else {
            return !batch.is_empty();
        };
        let members: Vec<PeerId> = g
            .members
            .iter()
            .filter_map(|a| self.members.get(a).map(|m| m.id))
            .collect();
        let msgs = evaluate(rib, &g.params, None, &members, &batch, &gone, env);
        let addrs = g.members.clone();
        let (mut formatted, mut sent) = (0, 0);
        for (target, b) in msgs {
            formatted += 1;
            for a in &addrs {
                if let Some(m) = self.members.get_mut(a)
                    && m.syncing.is_none()
                    && target.includes(m.id)
                {
                    sent += 1;
                    m.send(b.clone());
                }
            }
        }
        if let Some(g) = self.groups.get_mut(&gid) {
            g.formatted += formatted;
            g.sent += sent;
        }
        true
    }

    fn flush_syncing(&mut self, addr: IpAddr, env: &mut Env<'_>) -> bool {
        let Some(m) = self.members.get_mut(&addr) else {
            return false;
        };
        if m.closed || !m.backlog.is_empty() {
            return false;
        }
        let Some(g) = self.groups.get(&m.group) else {
            return false;
        };
        let Some(sync) = m.syncing.as_mut() else {
            return false;
        };
        let rib = env.rib(g.params.vrf.as_deref());
        let mut batch = sync.dirty.take(SYNC_BATCH);
        let gone = sync.dirty.take_gone(&batch);
        if let Some(w) = sync.walk.as_mut() {
            // Changes first, then the walk: each batch is SYNC_BATCH destinations at most.
            if !rib.is_some_and(|rib| w.take(rib, SYNC_BATCH, &mut batch)) {
                sync.walk = None;
            }
        }
        if !batch.is_empty() || sync.walk.is_some() {
            if let Some(rib) = rib {
                let msgs = evaluate(rib, &g.params, Some(m.id), &[m.id], &batch, &gone, env);
                for (_, b) in msgs {
                    m.send(b);
                }
            }
            return true;
        }
        // Caught up: End-of-RIB after the initial table, then back in the group's stream.
        if m.eor {
            // This engine's table is all taken by the writer (the backlog is empty here).
            for f in &g.params.families {
                if m.tx.end_of_rib_turn(*f) {
                    m.send(Bytes::from(UpdateBuilder::end_of_rib(*f)));
                }
            }
            m.eor = false;
        }
        for f in std::mem::take(&mut m.eorr) {
            if m.tx.end_of_refresh_turn(f) {
                m.send(end_of_refresh(f));
            }
        }
        if !m.refresh.is_empty()
            && let Some(rib) = rib
        {
            let queued = std::mem::take(&mut m.refresh);
            let families: Vec<Family> = queued.iter().map(|(f, _)| *f).collect();
            m.eorr = queued.iter().filter(|(_, e)| *e).map(|(f, _)| *f).collect();
            if let Some(sync) = m.syncing.as_mut() {
                sync.walk = Some(Cursor::of(rib, &g.params, REFRESH, &families));
                mark_defaults(&g.params, &mut sync.dirty, REFRESH);
            }
            return true;
        }
        m.syncing = None;
        let gid = m.group;
        if let Some(g) = self.groups.get_mut(&gid) {
            g.syncing = g.syncing.saturating_sub(1);
        }
        debug!(peer = %addr, "Adj-RIB-Out: in the update group's stream");
        true
    }
}

impl AdjOut {
    /// The peers of domain `vrf` that are sent `key` of `family` now (`display bgp …
    /// routing-table PREFIX`: "Advertised to such N peers"), in address order, each with the
    /// source of a path it is sent and that path's ADD-PATH ID (`None`: the best path,
    /// without ADD-PATH); a peer sent several paths appears once per path.
    pub fn advertised_to(
        &self,
        vrf: Option<&str>,
        family: Family,
        key: &RouteKey,
        env: &mut Env<'_>,
    ) -> Vec<(IpAddr, PeerId, Option<u32>)> {
        let mut out = Vec::new();
        for (addr, m) in &self.members {
            let Some(g) = self.groups.get(&m.group) else {
                continue;
            };
            if g.params.vrf.as_deref() != vrf {
                continue;
            }
            let Some(sent) = g.params.sends(family) else {
                continue;
            };
            let Some(rib) = env.rib(vrf) else {
                continue;
            };
            let b = offer_to(rib, &g.params, m.id, sent, key, env);
            for ((_, from, _), routes) in &b.reach {
                out.extend(routes.iter().map(|n| (*addr, *from, n.path_id)));
            }
            for (_, from, _, _, routes) in &b.changed {
                out.extend(routes.iter().map(|n| (*addr, *from, n.path_id)));
            }
        }
        out.sort();
        out
    }

    /// What `peer` is sent of `family` now, with the attributes and labels it gets (`display
    /// bgp … routing-table peer X advertised-routes`); `None` when the peer is not sent
    /// routes.
    pub fn advertised(
        &self,
        peer: IpAddr,
        family: Family,
        env: &mut Env<'_>,
    ) -> Option<Vec<(RouteKey, PathAttrs, LabelStack)>> {
        let m = self.members.get(&peer)?;
        let g = self.groups.get(&m.group)?;
        let rib = env.rib(g.params.vrf.as_deref())?;
        // The family the peer is sent these routes in (a labeled-unicast or 6PE peer: the
        // labeled one, with the labels it gets).
        let family = g.params.sends(family)?;
        let mut keys: Vec<RouteKey> = rib.loc_rib(family).into_iter().map(|(k, _)| k).collect();
        if let Some(other) = g.params.fallback(family) {
            keys.extend(
                rib.loc_rib(other)
                    .into_iter()
                    .map(|(k, _)| k)
                    .filter(|k| rib.best(family, k).is_none()),
            );
        }
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            let b = offer_to(rib, &g.params, m.id, family, &key, env);
            for ((_, from, attrs), routes) in b.reach {
                let a = out_attrs(rib, &g.params, family, from, rib.attrs(attrs), false);
                for n in routes {
                    out.push((key, a.clone(), n.labels));
                }
            }
            for (_, from, changed, _, routes) in b.changed {
                let a = out_attrs(rib, &g.params, family, from, *changed, false);
                for n in routes {
                    out.push((key, a.clone(), n.labels));
                }
            }
        }
        Some(out)
    }
}

/// What one member of a group with `params` would be sent of `key` now (the displays' view:
/// as if nothing had been sent before).
fn offer_to(
    rib: &Rib,
    params: &Params,
    member: PeerId,
    family: Family,
    key: &RouteKey,
    env: &mut Env<'_>,
) -> Batch {
    let mut b = Batch::default();
    let pend = Pend {
        prev: None,
        initial: true,
    };
    offer(
        rib,
        params,
        Some(member),
        &[member],
        family,
        key,
        pend,
        &[],
        &mut b,
        env,
    );
    b
}

/// The role of a peer of `rib`.
pub fn role(rib: &Rib, id: PeerId) -> Role {
    match rib.peer(id) {
        Some(i) => Role::of(id, i),
        None if id == PeerId::LOCAL => Role::Local,
        None => Role::NonClient,
    }
}

/// A peer that is never a source (the group as a whole).
const NOBODY: PeerId = PeerId(u32::MAX);

/// Routes of one family, grouped by target and by what decides their attributes.
#[derive(Default)]
struct Batch {
    reach: FastMap<(Target, PeerId, AttrId), Vec<Nlri>>,
    /// Attributes an export policy changed, with the attributes they were made of (to tell
    /// a next hop the policy set).
    changed: Vec<Changed>,
    withdraw: FastMap<Target, Vec<Nlri>>,
}

/// Routes to a target from a peer, with the attributes an export policy made, and the next
/// hop and MED they were made from (to tell what the policy set).
type Changed = (
    Target,
    PeerId,
    Box<PathAttrs>,
    Option<(NextHop, Option<u32>)>,
    Vec<Nlri>,
);

impl Batch {
    /// A route to announce to `target`: the path `best` with the attributes an export policy
    /// made of it (`changed`), if any.
    fn add(
        &mut self,
        rib: &Rib,
        target: Target,
        best: Best,
        changed: Option<Box<PathAttrs>>,
        n: Nlri,
    ) {
        match changed {
            None => self
                .reach
                .entry((target, best.peer, best.attrs))
                .or_default()
                .push(n),
            Some(a) => {
                let set = rib.attr_set(best.attrs);
                let original = Some((set.next_hop.clone(), set.med));
                match self.changed.iter_mut().find(|(t, f, x, o, _)| {
                    *t == target && *f == best.peer && *o == original && **x == *a
                }) {
                    Some((_, _, _, _, v)) => v.push(n),
                    None => self.changed.push((target, best.peer, a, original, vec![n])),
                }
            }
        }
    }
}

/// Evaluates destinations for a group (`single`: for one syncing member) and encodes the
/// UPDATEs, each with its target.
fn evaluate(
    rib: &Rib,
    params: &Params,
    single: Option<PeerId>,
    members: &[PeerId],
    keys: &[(Key, Pend)],
    gone: &FastMap<Key, Gone>,
    env: &mut Env<'_>,
) -> Vec<(Target, Bytes)> {
    let mut batches: HashMap<Family, Batch> = HashMap::new();
    for (k @ (family, key), pend) in keys {
        let b = batches.entry(*family).or_default();
        let gone = gone.get(k).map_or(&[][..], |g| &g[..]);
        offer(
            rib, params, single, members, *family, key, *pend, gone, b, env,
        );
    }
    let mut out = Wire::default();
    let mut families: Vec<Family> = batches.keys().copied().collect();
    families.sort();
    for f in families {
        if let Some(b) = batches.remove(&f) {
            encode(rib, params, f, b, &mut out);
        }
    }
    out.finish()
}

/// Encoded UPDATEs per target, back to back: one buffer (one writer-queue entry, one wake-up
/// of the writer) per target and flush step instead of one per UPDATE. A destination appears
/// at most once per target in a step, so the order between targets does not matter.
#[derive(Default)]
struct Wire {
    parts: Vec<(Target, Vec<u8>)>,
}

impl Wire {
    fn push(&mut self, t: Target, msgs: &mut Vec<Vec<u8>>) {
        if msgs.is_empty() {
            return;
        }
        let i = match self.parts.iter().position(|(x, _)| *x == t) {
            Some(i) => i,
            None => {
                self.parts.push((t, Vec::new()));
                self.parts.len() - 1
            }
        };
        let Some((_, buf)) = self.parts.get_mut(i) else {
            return;
        };
        for m in msgs.drain(..) {
            if buf.is_empty() {
                *buf = m;
            } else {
                buf.extend_from_slice(&m);
            }
        }
    }

    fn finish(self) -> Vec<(Target, Bytes)> {
        self.parts
            .into_iter()
            .map(|(t, b)| (t, Bytes::from(b)))
            .collect()
    }
}

/// The best path of a destination as these peers may be sent it: labeled-unicast peers fall
/// back on the unicast table, IPv6 unicast peers on the 6PE routes (IPv6 labeled table).
fn candidate(rib: &Rib, params: &Params, family: Family, key: &RouteKey) -> Option<Best> {
    rib.best(family, key)
        .or_else(|| params.fallback(family).and_then(|o| rib.best(o, key)))
}

#[allow(clippy::too_many_arguments)]
fn offer(
    rib: &Rib,
    params: &Params,
    single: Option<PeerId>,
    members: &[PeerId],
    family: Family,
    key: &RouteKey,
    pend: Pend,
    gone: &[(PeerId, u32)],
    b: &mut Batch,
    env: &mut Env<'_>,
) {
    if let Some(policy) = params.out.default_route(family, key) {
        // With ADD-PATH, the one path of this router's own default route.
        let path_id = params
            .add_path(family)
            .map(|_| env.path_ids.of(PeerId::LOCAL, DEFAULT_ROUTE_PATH));
        let nlri = |labels: LabelStack| Nlri {
            path_id,
            rd: key.rd,
            labels,
            prefix: key.prefix,
        };
        default_route(rib, params, family, &nlri, policy, pend, b, env.policies);
        return;
    }
    if let Some(n) = params.add_path(family) {
        offer_paths(
            rib, params, single, members, family, key, pend, gone, n, b, env,
        );
        return;
    }
    let nlri = |labels: LabelStack| Nlri {
        path_id: None,
        rd: key.rd,
        labels,
        prefix: key.prefix,
    };
    let to = single.unwrap_or(NOBODY);
    let send = candidate(rib, params, family, key)
        .filter(|best| rr::may_advertise(best.peer, role(rib, best.peer), to, params.role, true))
        .and_then(|best| prepare(rib, params, family, key, best, env));
    let member = |p: PeerId| members.contains(&p);
    match send {
        Some((best, changed, stack)) => {
            let target = if single.is_some() {
                Target::All
            } else if member(best.peer) {
                // Not back to the member it came from; that member is sent a withdrawal if
                // it may have had the previous best path.
                if pend.prev != Some(best.peer) && pend.prev.is_some() {
                    b.withdraw
                        .entry(Target::Only(best.peer))
                        .or_default()
                        .push(nlri(LabelStack::new()));
                }
                Target::AllExcept(best.peer)
            } else {
                Target::All
            };
            b.add(rib, target, best, changed, nlri(stack));
        }
        None => {
            if pend.initial {
                return;
            }
            let target = match pend.prev {
                None => return,
                Some(p) if single == Some(p) => return,
                Some(p) if single.is_none() && member(p) => Target::AllExcept(p),
                Some(_) => Target::All,
            };
            b.withdraw
                .entry(target)
                .or_default()
                .push(nlri(LabelStack::new()));
        }
    }
}

/// `default-route-advertise [route-policy P]`: the default route of this router (ORIGIN IGP,
/// next hop self), through P when given (a deny withdraws it), instead of whatever the table
/// holds for the destination.
#[allow(clippy::too_many_arguments)]
fn default_route(
    rib: &Rib,
    params: &Params,
    family: Family,
    nlri: &dyn Fn(LabelStack) -> Nlri,
    policy: Option<&str>,
    pend: Pend,
    b: &mut Batch,
    policies: &Policies,
) {
    let n = nlri(LabelStack::new());
    let mut a = PathAttrs::new(
        tern_wire::attr::Origin::Igp,
        tern_wire::attr::AsPath::empty(true),
        own_next_hop(family, params.local, rib.config().router_id),
    );
    // What the policy starts from: a next hop or MED it sets is kept.
    let original = Some((a.next_hop.clone(), a.med));
    if let Some(name) = policy {
        let key = RouteKey::of_nlri(&n);
        let none = LabelStack::new();
        let mut input = RouteInput::new(&key, &a, &none);
        input.originated = true;
        match policies.evaluate(name, &input) {
            Outcome::Deny => {
                if !pend.initial {
                    b.withdraw.entry(Target::All).or_default().push(n);
                }
                return;
            }
            Outcome::Permit { attrs: Some(m), .. } => a = *m,
            Outcome::Permit { attrs: None, .. } => {}
        }
    }
    b.changed
        .push((Target::All, PeerId::LOCAL, Box::new(a), original, vec![n]));
}

/// The received path ID standing for this router's own default route
/// (`default-route-advertise`) among a destination's ADD-PATH paths.
const DEFAULT_ROUTE_PATH: u32 = u32::MAX;

/// What a path is sent as, if it may be sent: the export policy's verdict and attributes,
/// the label stack (one of ours where the next hop becomes this router's), the well-known
/// communities' rules.
fn prepare(
    rib: &Rib,
    params: &Params,
    family: Family,
    key: &RouteKey,
    best: Best,
    env: &mut Env<'_>,
) -> Option<(Best, Option<Box<PathAttrs>>, LabelStack)> {
    // The peer's ip-prefix and as-path-filter, then its route-policy: each must permit.
    if let Some((_, f)) = params.export_filters.iter().find(|(f, _)| *f == family) {
        let a = rib.attrs(best.attrs);
        if !env
            .policies
            .filters_permit(f, &RouteInput::new(key, &a, &best.labels))
        {
            return None;
        }
    }
    let mut verdict = Some((None, false));
    if let Some(name) = params.export_policy(family) {
        let a = rib.attrs(best.attrs);
        // An export policy's next hop applies to local routes too (only a `network` or
        // `import-route` policy cannot set one).
        let input = RouteInput::new(key, &a, &best.labels);
        verdict = match env.policies.evaluate(name, &input) {
            Outcome::Deny => None,
            Outcome::Permit {
                attrs,
                allocate_label,
                ..
            } => Some((attrs, allocate_label)),
        };
    }
    let (changed, allocate_label) = verdict?;
    // A 6PE route sent as IPv6 unicast leaves without its label.
    let mut stack = if family.has_labels() {
        best.labels
    } else {
        LabelStack::new()
    };
    if family.has_labels()
        && params.vrf.is_none()
        && (allocate_label
            || ((best.peer != PeerId::LOCAL || family == Family::IPV6_LABELED)
                && next_hop_self(rib, params, family, best.peer)))
    {
        // The next hop changes to this router (or `apply mpls-label`): the route leaves
        // with a label of ours (the forwarding entry would swap it for the received one). A
        // 6PE peer is sent every IPv6 route with next hop self with a label of ours, one per
        // route (VRP's default; RFC 4798 §3), local ones too.
        stack = LabelStack::single(env.labels.swap(family, *key));
    }
    let communities = match &changed {
        Some(a) => &a.communities[..],
        None => rib.store().communities(rib.attr_set(best.attrs)),
    };
    // Route target constraint (RFC 4684 §4): a VPN route goes only to peers interested in
    // one of its route targets.
    let wanted = match &params.rt_interest {
        Some(i) if family.has_rd() => match &changed {
            Some(a) => i.wants(&a.ext_communities),
            None => i.wants(rib.store().ext_communities(rib.attr_set(best.attrs))),
        },
        _ => true,
    };
    // A labeled family's route without a label cannot be sent.
    (wanted
        && !(family.has_labels() && stack.is_empty())
        && well_known_allow(communities, params.role))
    .then_some((best, changed, stack))
}

/// ADD-PATH send (RFC 7911): the `n` best paths of the destination in the decision order
/// ([`Rib::ranked`]), each that may be sent announced with its path ID ([`PathIds`]), a path
/// from a member not back to it; then, unless this is an initial table, every other path of
/// the destination and every path removed from it (`gone`) withdrawn by its path ID (a
/// withdrawal of an ID the peer does not hold has no effect, RFC 4271 §9.1.3).
#[allow(clippy::too_many_arguments)]
fn offer_paths(
    rib: &Rib,
    params: &Params,
    single: Option<PeerId>,
    members: &[PeerId],
    family: Family,
    key: &RouteKey,
    pend: Pend,
    gone: &[(PeerId, u32)],
    n: usize,
    b: &mut Batch,
    env: &mut Env<'_>,
) {
    let table = if params.labeled_from_unicast(family) && rib.best(family, key).is_none() {
        Family::IPV4_UNICAST
    } else {
        family
    };
    let to = single.unwrap_or(NOBODY);
    let nlri = |id: u32, labels: LabelStack| Nlri {
        path_id: Some(id),
        rd: key.rd,
        labels,
        prefix: key.prefix,
    };
    let mut sent: Vec<(PeerId, u32)> = Vec::with_capacity(n);
    for path in rib.ranked(table, key, n, env.resolver) {
        if !rr::may_advertise(path.peer, role(rib, path.peer), to, params.role, true) {
            continue;
        }
        let Some((path, changed, stack)) = prepare(rib, params, family, key, path, env) else {
            continue;
        };
        sent.push((path.peer, path.path_id));
        let id = env.path_ids.of(path.peer, path.path_id);
        let target = if single.is_none() && members.contains(&path.peer) {
            Target::AllExcept(path.peer)
        } else {
            Target::All
        };
        b.add(rib, target, path, changed, nlri(id, stack));
    }
    if pend.initial {
        return;
    }
    let others = rib
        .paths(table, key)
        .into_iter()
        .map(|p| (p.peer, p.path_id))
        .chain(gone.iter().copied());
    let mut withdrawn: Vec<(PeerId, u32)> = Vec::new();
    for src in others {
        if sent.contains(&src) || withdrawn.contains(&src) {
            continue;
        }
        withdrawn.push(src);
        let id = env.path_ids.of(src.0, src.1);
        b.withdraw
            .entry(Target::All)
            .or_default()
            .push(nlri(id, LabelStack::new()));
    }
}

/// Whether a route from `from` goes out with this router's address as next hop (VRP):
/// locally originated routes always; toward EBGP unless `next-hop-invariable`; toward IBGP,
/// labeled routes (VPN, labeled unicast) learned from EBGP unless `next-hop-invariable`,
/// routes learned from EBGP in a family with the plain `maximum load-balancing N` (VRP
/// changes their next hop whether they are balanced or not), and any route with
/// `next-hop-local`. Other IBGP advertisements, reflection included, keep the next hop.
pub fn next_hop_self(rib: &Rib, params: &Params, family: Family, from: PeerId) -> bool {
    let nhi = params.out.next_hop_invariable.contains(&family);
    match (role(rib, from), params.role) {
        (Role::Local, _) => true,
        (_, Role::Ebgp) => !nhi,
        _ if params.out.next_hop_local.contains(&family) => true,
        (Role::Ebgp, _) => {
            (family.has_labels() || rib.load_balancing(family).next_hop_self) && !nhi
        }
        _ => false,
    }
}

/// The attributes a route from `from` is sent with.
pub fn out_attrs(
    rib: &Rib,
    params: &Params,
    family: Family,
    from: PeerId,
    mut a: PathAttrs,
    policy_next_hop: bool,
) -> PathAttrs {
    let cfg = rib.config();
    a.preferred_value = 0;
    let from_role = role(rib, from);
    let to_role = params.role;
    if to_role == Role::Ebgp {
        a.as_path = params.out.as_out.export(family, &a.as_path, cfg.local_as.0);
        a.local_pref = None;
        rr::strip_for_ebgp(&mut a);
        if from_role != Role::Local {
            // RFC 4271 §5.1.4: a MED received from a neighbouring AS is not propagated to
            // other neighbouring ASes (VRP also keeps an IBGP-learned MED inside the AS).
            a.med = None;
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
    if !policy_next_hop && next_hop_self(rib, params, family, from) {
        a.next_hop = own_next_hop(family, params.local, cfg.router_id);
    }
    // VRP sends communities only with `peer X advertise-community` (large ones likewise,
    // there being no command for them yet), extended communities only with `peer X
    // advertise-ext-community`, except on VPN routes, whose route targets always go.
    if !params.out.advertise_community.contains(&family) {
        a.communities.clear();
        a.large_communities.clear();
    }
    if !family.has_rd() && !params.out.advertise_ext_community.contains(&family) {
        a.ext_communities.clear();
    }
    a
}

/// VRP's default LOCAL_PREF.
const DEFAULT_LOCAL_PREF: u32 = 100;

/// The session's local address as a next hop of `family`: IPv6 families over an IPv4 session
/// carry `::ffff:a.b.c.d`.
fn own_next_hop(family: Family, local: Option<IpAddr>, router_id: Ipv4Addr) -> NextHop {
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

/// Encodes a batch: withdrawals first, then one packed run per attribute group.
fn encode(rib: &Rib, params: &Params, family: Family, b: Batch, out: &mut Wire) {
    let builder = UpdateBuilder::new(&params.ctx);
    let mut msgs = Vec::new();
    let mut withdraw: Vec<(Target, Vec<Nlri>)> = b.withdraw.into_iter().collect();
    withdraw.sort_by_key(|(t, _)| *t);
    for (t, routes) in withdraw {
        if let Err(e) = builder.withdraw(family, &routes, &mut msgs) {
            warn!(family = %family, "RIB: withdrawal not encoded: {e}");
        }
        out.push(t, &mut msgs);
    }
    let mut reach: Vec<((Target, PeerId, AttrId), Vec<Nlri>)> = b.reach.into_iter().collect();
    reach.sort_by_key(|(k, _)| *k);
    for ((t, from, attrs), routes) in reach {
        let a = out_attrs(rib, params, family, from, rib.attrs(attrs), false);
        reach_or_withdraw(&builder, family, &a, params, &routes, &mut msgs);
        out.push(t, &mut msgs);
    }
    for (t, from, changed, original, routes) in b.changed {
        // A next hop the export policy set (apply ip-address next-hop) is kept, and so is a
        // MED it set (apply cost), which goes to external peers too.
        let fixed = original
            .as_ref()
            .is_some_and(|(nh, _)| *nh != changed.next_hop);
        let policy_med = match &original {
            Some((_, med)) if *med != changed.med => changed.med,
            _ => None,
        };
        let mut a = out_attrs(rib, params, family, from, *changed, fixed);
        if policy_med.is_some() {
            a.med = policy_med;
        }
        reach_or_withdraw(&builder, family, &a, params, &routes, &mut msgs);
        out.push(t, &mut msgs);
    }
}

/// Encodes UPDATEs announcing `routes` with `a`, or, when they cannot be encoded for these
/// peers (attributes longer than the message allows: 4096 octets without the Extended Message
/// capability, RFC 8654), withdrawals of them: a peer must not keep a previous path of a
/// destination whose current one it cannot be sent (RFC 4271 §9.1.3 treats the destination as
/// unfeasible for it).
fn reach_or_withdraw(
    builder: &UpdateBuilder,
    family: Family,
    a: &PathAttrs,
    params: &Params,
    routes: &[Nlri],
    msgs: &mut Vec<Vec<u8>>,
) {
    let before = msgs.len();
    let wire = a.to_wire(params.ctx.four_octet_as);
    let Err(e) = builder.reach(family, &a.next_hop, &wire, routes, msgs) else {
        return;
    };
    msgs.truncate(before);
    warn!(
        family = %family,
        routes = routes.len(),
        "RIB: UPDATE not encodable for a group ({e}): the routes are withdrawn from it"
    );
    let bare: Vec<Nlri> = routes
        .iter()
        .map(|n| Nlri {
            labels: LabelStack::new(),
            ..*n
        })
        .collect();
    if let Err(e) = builder.withdraw(family, &bare, msgs) {
        msgs.truncate(before);
        warn!(family = %family, "RIB: withdrawal not encoded: {e}");
    }
}
