//! The RIB: Adj-RIB-In and Loc-RIB per family, fed by UPDATEs (RFC 4271 §3.2, §9).
//!
//! [`Rib::apply_update`] takes one peer's [`ParsedUpdate`] and follows its RFC 7606 outcome
//! (§2): a clean UPDATE or one with discarded attributes is applied; on treat-as-withdraw
//! every route it carries is withdrawn; AFI/SAFI disable withdraws the family's routes from
//! that peer; session reset changes nothing (the session layer resets, then calls
//! [`Rib::peer_down`]). Each destination touched is run through the decision process
//! ([`crate::decision`]) and every change of best path is reported as a [`BestChange`] for
//! export.
//!
//! On receipt (RFC 4271 §9.1.2; RFC 4456 §8) a route whose AS_PATH holds the local AS, whose
//! ORIGINATOR_ID is the router ID, or whose CLUSTER_LIST holds the cluster ID is kept in the
//! Adj-RIB-In but not eligible; so is one refused by import policy ([`ImportPolicy`]). From
//! EBGP peers ORIGINATOR_ID and CLUSTER_LIST are dropped (RFC 4456 §8: they never leave the
//! AS). The peer's VRP preferred value is set before policy runs.
//!
//! Attribute ids in the returned changes stay valid until the next call that changes the RIB:
//! references dropped during a call are released at the start of the next one.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};

use foldhash::fast::FixedState;
use smallvec::SmallVec;
use tern_types::{Asn, Family, LabelStack};
use tern_wire::attr::AsPath;
use tern_wire::{Nlri, ParsedUpdate};

use crate::attrs::{AttrId, AttrSet, AttrStore, PathAttrs, StoreStats};
use crate::decision::{self, DEFAULT_LOCAL_PREF, NextHopResolver, PeerId, PeerInfo, Rank};
use crate::digest::{Digest, Reach};
use crate::key::{PrefixKey, RouteKey, V4Key, V6Key, Vpn4Key, Vpn6Key};
use crate::multipath::{Candidate, LoadBalancing};
use crate::rr;
use crate::table::{NO_BEST, PackedLabel, Path, Paths, Table};

/// The router's own parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RibConfig {
    /// Local AS.
    pub local_as: Asn,
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// `reflector cluster-id`; the router ID when `None`.
    pub cluster_id: Option<Ipv4Addr>,
}

/// Import policy, run on every received route after the loop checks. Kept outside the RIB so
/// that a changed policy can be run again over the Adj-RIB-In ([`Rib::reimport`]).
pub trait ImportPolicy {
    /// The verdict on one route.
    fn import(
        &self,
        peer: PeerId,
        info: &PeerInfo,
        family: Family,
        key: &RouteKey,
        attrs: &PathAttrs,
    ) -> Verdict;

    /// AS_PATH loop detection (RFC 4271 §9.1.2) on a path from `info` in `family`: true when
    /// it is a loop. By default, as VRP does, a path from an EBGP peer holding the local AS.
    fn looped(&self, info: &PeerInfo, family: Family, path: &AsPath<'_>, local_as: u32) -> bool {
        let _ = family;
        info.ebgp && path.contains(local_as)
    }
}

/// An import policy's verdict.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// Accept as received.
    Accept,
    /// Refuse (kept in the Adj-RIB-In, not eligible).
    Deny,
    /// Accept with these attributes.
    Modify(Box<PathAttrs>),
}

/// Accepts everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAll;

impl ImportPolicy for AcceptAll {
    fn import(&self, _: PeerId, _: &PeerInfo, _: Family, _: &RouteKey, _: &PathAttrs) -> Verdict {
        Verdict::Accept
    }
}

impl<F> ImportPolicy for F
where
    F: Fn(PeerId, &PeerInfo, Family, &RouteKey, &PathAttrs) -> Verdict,
{
    fn import(
        &self,
        peer: PeerId,
        info: &PeerInfo,
        family: Family,
        key: &RouteKey,
        attrs: &PathAttrs,
    ) -> Verdict {
        self(peer, info, family, key, attrs)
    }
}

/// A selected path, as reported in changes and lookups.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Best {
    /// The peer it came from ([`PeerId::LOCAL`] for local routes).
    pub peer: PeerId,
    /// ADD-PATH path ID (0 without ADD-PATH).
    pub path_id: u32,
    /// Attributes after import policy.
    pub attrs: AttrId,
    /// Label stack as received (empty for unlabeled families).
    pub labels: LabelStack,
}

/// A change of best path for one destination.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BestChange {
    /// Family.
    pub family: Family,
    /// Destination.
    pub key: RouteKey,
    /// Best path before (`None`: there was none).
    pub old: Option<Best>,
    /// Best path now (`None`: the destination is unreachable).
    pub new: Option<Best>,
}

/// A change of a destination's paths that is not a change of its best path, or a path
/// removed, logged while [`Rib::track_paths`] is on: what ADD-PATH (RFC 7911) peers, sent
/// several paths of a destination, need to hear of besides [`BestChange`]s.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PathChange {
    /// Family.
    pub family: Family,
    /// Destination.
    pub key: RouteKey,
    /// The path removed (peer, path ID), if one was.
    pub gone: Option<(PeerId, u32)>,
}

/// One path as stored, for displays and tests.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PathInfo {
    /// Peer.
    pub peer: PeerId,
    /// ADD-PATH path ID.
    pub path_id: u32,
    /// Attributes as received.
    pub in_attrs: AttrId,
    /// Attributes after import ([`AttrId::NONE`] when refused).
    pub attrs: AttrId,
    /// Labels.
    pub labels: LabelStack,
    /// Selected.
    pub best: bool,
    /// Kept from an ended or refreshing session, not announced again yet.
    pub stale: bool,
}

/// What an UPDATE did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UpdateSummary {
    /// Routes announced (and stored).
    pub announced: usize,
    /// Routes withdrawn (including those withdrawn by treat-as-withdraw).
    pub withdrawn: usize,
    /// Routes of families the RIB does not hold, or not matching the family's key shape.
    pub ignored: usize,
    /// The UPDATE was treated as a withdraw (RFC 7606 §2).
    pub treat_as_withdraw: bool,
    /// The UPDATE was an End-of-RIB marker (RFC 4724 §2) for this family.
    pub end_of_rib: Option<Family>,
}

/// Why an UPDATE was not applied.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RibError {
    /// The UPDATE calls for a session reset; nothing was changed.
    #[error("UPDATE calls for a session reset")]
    SessionReset,
    /// The peer was not registered with [`Rib::peer_up`].
    #[error("unknown peer {0:?}")]
    UnknownPeer(PeerId),
}

/// Memory held by a RIB.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MemoryStats {
    /// Destinations, all families.
    pub destinations: usize,
    /// Paths, all families.
    pub paths: usize,
    /// Octets allocated by the tables (buckets and spilled path vectors).
    pub table_bytes: usize,
    /// The interners.
    pub store: StoreStats,
}

struct Tables {
    v4u: Table<V4Key>,
    v6u: Table<V6Key>,
    v4l: Table<V4Key>,
    v6l: Table<V6Key>,
    vpn4: Table<Vpn4Key>,
    vpn6: Table<Vpn6Key>,
}

/// Runs `$body` with `$t` bound to the table of `$family` (`None` for other families):
/// `with_table!(mut self.tables, f, t => ...)` or `with_table!(ref self.tables, f, t => ...)`.
macro_rules! with_table {
    (mut $tables:expr, $family:expr, $t:ident => $body:expr) => {
        with_table!(@ [mut] $tables, $family, $t => $body)
    };
    (ref $tables:expr, $family:expr, $t:ident => $body:expr) => {
        with_table!(@ [] $tables, $family, $t => $body)
    };
    (@ [$($m:tt)*] $tables:expr, $family:expr, $t:ident => $body:expr) => {
        match $family {
            Family::IPV4_UNICAST => {
                let $t = & $($m)* $tables.v4u;
                Some($body)
            }
            Family::IPV6_UNICAST => {
                let $t = & $($m)* $tables.v6u;
                Some($body)
            }
            Family::IPV4_LABELED => {
                let $t = & $($m)* $tables.v4l;
                Some($body)
            }
            Family::IPV6_LABELED => {
                let $t = & $($m)* $tables.v6l;
                Some($body)
            }
            Family::VPNV4 => {
                let $t = & $($m)* $tables.vpn4;
                Some($body)
            }
            Family::VPNV6 => {
                let $t = & $($m)* $tables.vpn6;
                Some($body)
            }
            _ => None,
        }
    };
}

/// The families the RIB holds.
pub const FAMILIES: [Family; 6] = Family::KNOWN;

/// What the table operations need besides the table.
struct Env<'a> {
    family: Family,
    store: &'a mut AttrStore,
    peers: &'a [Option<PeerInfo>],
    resolver: &'a dyn NextHopResolver,
    deferred: &'a mut Vec<AttrId>,
    out: &'a mut Vec<BestChange>,
    state: &'a FixedState,
    /// Where every change of a destination's paths is logged ([`Rib::track_paths`]).
    log: Option<&'a mut Vec<PathChange>>,
    /// Load balancing is on for the family: a destination whose paths change is reported
    /// even when its best path stays (`old == new`), as its balanced set may have changed.
    multipath: bool,
    /// Change in the number of accepted paths (attributes after import policy) of the peer
    /// the operation concerns.
    accepted: i64,
}

impl Env<'_> {
    fn best_of(&self, d: &Paths) -> Option<Best> {
        d.best_path().map(|p| best(p, self.store))
    }

    /// Drops a path's references (attribute sets deferred, labels now).
    fn drop_path(&mut self, p: &Path) {
        self.deferred.push(p.in_attrs);
        self.deferred.push(p.attrs);
        p.label.release(self.store);
    }

    fn rank(&self, p: &Path) -> Option<Rank> {
        rank_of(self.family, self.store, self.peers, self.resolver, p)
    }

    /// Logs a removed path (ADD-PATH: its path ID is withdrawn from the peers sent it).
    fn log_gone<K: PrefixKey>(&mut self, key: &K, p: &Path) {
        if let Some(log) = self.log.as_mut() {
            log.push(PathChange {
                family: self.family,
                key: key.unpack(),
                gone: Some((p.peer, p.path_id)),
            });
        }
    }

    /// Runs the decision process on `d` and reports a change against `old`.
    fn reselect<K: PrefixKey>(&mut self, key: &K, d: &mut Paths, old: Option<Best>) {
        let mut ranks: SmallVec<[Rank; 4]> = SmallVec::new();
        let mut index: SmallVec<[u16; 4]> = SmallVec::new();
        for (i, p) in d.list.iter().enumerate() {
            if let Some(r) = self.rank(p) {
                ranks.push(r);
                index.push(u16::try_from(i).unwrap_or(NO_BEST));
            }
        }
        d.best = decision::select(&ranks)
            .and_then(|i| index.get(i).copied())
            .unwrap_or(NO_BEST);
        let new = self.best_of(d);
        if new != old || self.multipath {
            self.out.push(BestChange {
                family: self.family,
                key: key.unpack(),
                old,
                new,
            });
        } else if d.list.len() > 1
            && let Some(log) = self.log.as_mut()
        {
            // A destination's only path that stays its best path has changed in no way
            // that is sent; with other paths, their order may have.
            log.push(PathChange {
                family: self.family,
                key: key.unpack(),
                gone: None,
            });
        }
    }

    /// Adds or replaces (same peer and path ID: implicit withdraw, RFC 4271 §3.1) a path;
    /// returns true when the path is new (not a replacement).
    fn upsert<K: PrefixKey>(&mut self, t: &mut Table<K>, key: K, path: Path) -> bool {
        let hash = self.state.hash_one(key);
        let at = t.find_hashed(hash, &key);
        let mut d = at.map_or_else(Paths::new, |i| t.load(i));
        let old = self.best_of(&d);
        let new = match d
            .list
            .iter_mut()
            .find(|p| p.peer == path.peer && p.path_id == path.path_id)
        {
            Some(p) => {
                let prev = std::mem::replace(p, path);
                self.accepted -= i64::from(prev.attrs.is_some());
                self.accepted += i64::from(path.attrs.is_some());
                self.drop_path(&prev);
                false
            }
            None => {
                self.accepted += i64::from(path.attrs.is_some());
                d.list.push(path);
                t.paths = t.paths.saturating_add(1);
                true
            }
        };
        self.reselect(&key, &mut d, old);
        match at {
            Some(i) => t.store(i, &d),
            None => t.insert(self.state, hash, key, &d),
        }
        new
    }

    /// Removes a peer's path; returns whether there was one.
    fn remove<K: PrefixKey>(
        &mut self,
        t: &mut Table<K>,
        key: K,
        peer: PeerId,
        path_id: u32,
    ) -> bool {
        let Some(at) = t.find(self.state, &key) else {
            return false;
        };
        let mut d = t.load(at);
        let Some(i) = d
            .list
            .iter()
            .position(|p| p.peer == peer && p.path_id == path_id)
        else {
            return false;
        };
        let old = self.best_of(&d);
        let p = d.list.remove(i);
        self.log_gone(&key, &p);
        self.accepted -= i64::from(p.attrs.is_some());
        self.drop_path(&p);
        t.paths = t.paths.saturating_sub(1);
        if d.list.is_empty() {
            if old.is_some() {
                self.out.push(BestChange {
                    family: self.family,
                    key: key.unpack(),
                    old,
                    new: None,
                });
            }
            t.remove_at(self.state, at);
        } else {
            self.reselect(&key, &mut d, old);
            t.store(at, &d);
        }
        true
    }

    /// Removes every path of `peer` (all path IDs) from the table.
    /// Removes the paths of `peer` (only its stale ones with `stale_only`).
    fn remove_peer<K: PrefixKey>(
        &mut self,
        t: &mut Table<K>,
        peer: PeerId,
        stale_only: bool,
    ) -> usize {
        let gone = |p: &Path| p.peer == peer && (p.stale || !stale_only);
        let mut removed = 0usize;
        let mut i = 0;
        while let Some(key) = t.key(i) {
            let mut d = t.load(i);
            if !d.list.iter().any(gone) {
                i = i.saturating_add(1);
                continue;
            }
            let old = self.best_of(&d);
            let mut j = 0;
            while let Some(p) = d.list.get(j).copied() {
                if gone(&p) {
                    d.list.remove(j);
                    self.log_gone(&key, &p);
                    self.accepted -= i64::from(p.attrs.is_some());
                    self.drop_path(&p);
                    removed = removed.saturating_add(1);
                } else {
                    j = j.saturating_add(1);
                }
            }
            if d.list.is_empty() {
                if old.is_some() {
                    self.out.push(BestChange {
                        family: self.family,
                        key: key.unpack(),
                        old,
                        new: None,
                    });
                }
                // The last destination moves here; look at this position again.
                t.remove_at(self.state, i);
            } else {
                self.reselect(&key, &mut d, old);
                t.store(i, &d);
                i = i.saturating_add(1);
            }
        }
        t.paths = t.paths.saturating_sub(removed);
        removed
    }
}

/// A path's rank for the decision process; `None` when it is not eligible.
fn rank_of(
    family: Family,
    store: &AttrStore,
    peers: &[Option<PeerInfo>],
    resolver: &dyn NextHopResolver,
    p: &Path,
) -> Option<Rank> {
    if !p.attrs.is_some() {
        return None;
    }
    let info = peers.get(p.peer.0 as usize)?.as_ref()?;
    let set = store.set(p.attrs);
    let local = p.peer == PeerId::LOCAL;
    let igp_cost = if local {
        0
    } else {
        resolver.igp_cost(family, set.next_hop.addr()?)?
    };
    let path = store.as_path(set);
    Some(Rank {
        preferred_value: set.preferred_value,
        local_pref: set.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
        local,
        as_path_len: path.len,
        origin: set.origin,
        med: set.med.unwrap_or(0),
        neighbour_as: path.neighbour_as,
        ebgp: info.ebgp,
        igp_cost,
        cluster_len: u32::try_from(store.cluster_list(set).len()).unwrap_or(u32::MAX),
        router_id: set.originator_id.unwrap_or(info.router_id),
        peer_addr: info.addr,
        path_id: p.path_id,
        peer: p.peer,
    })
}

/// True when `family` balances load (see [`Rib::set_load_balancing`]).
fn multipath_on(lb: &[LoadBalancing; FAMILIES.len()], family: Family) -> bool {
    family_index(family)
        .and_then(|i| lb.get(i))
        .is_some_and(LoadBalancing::on)
}

/// A selected path as reported.
fn best(p: &Path, store: &AttrStore) -> Best {
    Best {
        peer: p.peer,
        path_id: p.path_id,
        attrs: p.attrs,
        labels: p.label.unpack(store),
    }
}

/// Attributes of one UPDATE ready for one next hop: interned once, shared by its routes.
struct Prepared {
    attrs: PathAttrs,
    in_attrs: AttrId,
    /// Refused by the loop checks.
    looped: bool,
}

/// The RIB: interned attributes, one table per family, the peers.
pub struct Rib {
    config: RibConfig,
    cluster_id: Ipv4Addr,
    store: AttrStore,
    peers: Vec<Option<PeerInfo>>,
    tables: Tables,
    deferred: Vec<AttrId>,
    state: FixedState,
    /// Paths held per peer (index: [`PeerId`]) and family (index: [`FAMILIES`]).
    received: Vec<[u64; FAMILIES.len()]>,
    /// Of those, the paths accepted by import policy (eligible attributes).
    accepted: Vec<[u64; FAMILIES.len()]>,
    /// Changes of destinations' paths, while tracked ([`Rib::track_paths`]).
    path_log: Option<Vec<PathChange>>,
    /// Load balancing per family (index: [`FAMILIES`]).
    load_balancing: [LoadBalancing; FAMILIES.len()],
}

/// The index of a family in [`FAMILIES`].
fn family_index(family: Family) -> Option<usize> {
    FAMILIES.iter().position(|f| *f == family)
}

impl Rib {
    /// An empty RIB.
    pub fn new(config: RibConfig) -> Rib {
        Rib {
            cluster_id: rr::cluster_id(config.router_id, config.cluster_id),
            config,
            store: AttrStore::default(),
            peers: vec![Some(PeerInfo::local(config.router_id, config.local_as))],
            tables: Tables {
                v4u: Table::default(),
                v6u: Table::default(),
                v4l: Table::default(),
                v6l: Table::default(),
                vpn4: Table::default(),
                vpn6: Table::default(),
            },
            deferred: Vec::new(),
            state: crate::intern::state(),
            received: Vec::new(),
            accepted: Vec::new(),
            path_log: None,
            load_balancing: [LoadBalancing::OFF; FAMILIES.len()],
        }
    }

    /// Sets a family's load balancing (VRP `maximum load-balancing`). While it is on, every
    /// change of a destination's paths is reported, its best path the same or not (a
    /// [`BestChange`] with `old == new`), so that its balanced set can be installed again.
    pub fn set_load_balancing(&mut self, family: Family, lb: LoadBalancing) {
        if let Some(slot) = family_index(family).and_then(|i| self.load_balancing.get_mut(i)) {
            *slot = lb;
        }
    }

    /// A family's load balancing.
    pub fn load_balancing(&self, family: Family) -> LoadBalancing {
        family_index(family)
            .and_then(|i| self.load_balancing.get(i).copied())
            .unwrap_or_default()
    }

    /// The paths installed in the forwarding table for a destination: the best path, then
    /// the paths equal-cost to it under the family's load balancing
    /// ([`crate::multipath::select`]); empty when there is no best path.
    pub fn installed(
        &self,
        family: Family,
        key: &RouteKey,
        resolver: &dyn NextHopResolver,
    ) -> SmallVec<[Best; 4]> {
        let lb = self.load_balancing(family);
        with_table!(ref self.tables, family, t => {
            let Some(i) = PrefixKey::pack(key).and_then(|k| t.find(&self.state, &k)) else {
                return SmallVec::new();
            };
            let d = t.load(i);
            let Some(bp) = d.best_path() else {
                return SmallVec::new();
            };
            if !lb.on() {
                let mut one = SmallVec::new();
                one.push(best(bp, &self.store));
                return one;
            }
            let mut cands: SmallVec<[Candidate; 4]> = SmallVec::new();
            let mut paths: SmallVec<[&Path; 4]> = SmallVec::new();
            let mut at = 0;
            for p in &d.list {
                let Some(rank) = rank_of(family, &self.store, &self.peers, resolver, p) else {
                    continue;
                };
                let set = self.store.set(p.attrs);
                let Some(next_hop) = set.next_hop.addr() else { continue };
                if std::ptr::eq(p, bp) {
                    at = cands.len();
                }
                cands.push(Candidate { rank, as_path: set.as_path, next_hop });
                paths.push(p);
            }
            crate::multipath::select(&cands, at, lb)
                .into_iter()
                .filter_map(|i| paths.get(i).map(|p| best(p, &self.store)))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Adds `delta` to the paths of `peer` counted for `family`, `accepted` to those of them
    /// import policy accepted.
    fn count(&mut self, peer: PeerId, family: Family, delta: i64, accepted: i64) {
        let Some(f) = family_index(family) else {
            return;
        };
        let i = peer.0 as usize;
        for (v, d) in [(&mut self.received, delta), (&mut self.accepted, accepted)] {
            if d == 0 {
                continue;
            }
            if v.len() <= i {
                v.resize(i.saturating_add(1), [0; FAMILIES.len()]);
            }
            if let Some(c) = v.get_mut(i).and_then(|r| r.get_mut(f)) {
                *c = c.saturating_add_signed(d);
            }
        }
    }

    /// The paths held from `peer` per family (its Adj-RIB-In: received routes, those an
    /// import policy or a loop check refused included), families with none left out.
    pub fn received(&self, peer: PeerId) -> Vec<(Family, u64)> {
        let Some(r) = self.received.get(peer.0 as usize) else {
            return Vec::new();
        };
        FAMILIES
            .iter()
            .zip(r.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(f, n)| (*f, *n))
            .collect()
    }

    /// The paths held from `peer` that import policy accepted, per family (what `peer X
    /// accepted-routes` lists), families with none left out.
    pub fn accepted(&self, peer: PeerId) -> Vec<(Family, u64)> {
        let Some(r) = self.accepted.get(peer.0 as usize) else {
            return Vec::new();
        };
        FAMILIES
            .iter()
            .zip(r.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(f, n)| (*f, *n))
            .collect()
    }

    /// Paths of `family` that import policy accepted, from every peer (what a routing table
    /// lists, and `routing-table statistics` counts as routes); read without walking the
    /// table.
    pub fn accepted_total(&self, family: Family) -> u64 {
        let Some(f) = family_index(family) else {
            return 0;
        };
        self.accepted
            .iter()
            .filter_map(|r| r.get(f))
            .fold(0, |a: u64, n| a.saturating_add(*n))
    }

    /// The configuration.
    pub fn config(&self) -> &RibConfig {
        &self.config
    }

    /// The cluster ID in use (RFC 4456 §7).
    pub fn cluster_id(&self) -> Ipv4Addr {
        self.cluster_id
    }

    /// Registers (or updates) a peer whose session came up. [`PeerId::LOCAL`] is reserved.
    pub fn peer_up(&mut self, peer: PeerId, info: PeerInfo) {
        if peer == PeerId::LOCAL {
            return;
        }
        let i = peer.0 as usize;
        if self.peers.len() <= i {
            self.peers.resize(i.saturating_add(1), None);
        }
        if let Some(slot) = self.peers.get_mut(i) {
            *slot = Some(info);
        }
    }

    /// A registered peer.
    pub fn peer(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.peers.get(peer.0 as usize)?.as_ref()
    }

    /// Releases the references dropped by earlier calls (done at the start of every call
    /// that changes the RIB; call it to account memory after the last change).
    pub fn collect(&mut self) {
        for id in self.deferred.drain(..) {
            self.store.release(id);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn env<'a>(
        family: Family,
        store: &'a mut AttrStore,
        peers: &'a [Option<PeerInfo>],
        resolver: &'a dyn NextHopResolver,
        deferred: &'a mut Vec<AttrId>,
        out: &'a mut Vec<BestChange>,
        state: &'a FixedState,
        log: Option<&'a mut Vec<PathChange>>,
    ) -> Env<'a> {
        Env {
            family,
            store,
            peers,
            resolver,
            deferred,
            out,
            state,
            log,
            multipath: false,
            accepted: 0,
        }
    }

    /// Session down: every route of the peer is withdrawn (RFC 4271 §9.1.3 via §8.2.2's
    /// "release all BGP resources"), and the peer forgotten.
    pub fn peer_down(
        &mut self,
        peer: PeerId,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> usize {
        let mut n = 0usize;
        for family in FAMILIES {
            n = n.saturating_add(self.withdraw_family(peer, family, resolver, out));
        }
        if peer != PeerId::LOCAL
            && let Some(slot) = self.peers.get_mut(peer.0 as usize)
        {
            *slot = None;
        }
        for v in [&mut self.received, &mut self.accepted] {
            if let Some(r) = v.get_mut(peer.0 as usize) {
                *r = [0; FAMILIES.len()];
            }
        }
        n
    }

    /// Withdraws every route of `family` from `peer` (peer down, AFI/SAFI disable).
    pub fn withdraw_family(
        &mut self,
        peer: PeerId,
        family: Family,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> usize {
        self.collect();
        let mut env = Self::env(
            family,
            &mut self.store,
            &self.peers,
            resolver,
            &mut self.deferred,
            out,
            &self.state,
            self.path_log.as_mut(),
        );
        env.multipath = multipath_on(&self.load_balancing, family);
        let n =
            with_table!(mut self.tables, family, t => env.remove_peer(t, peer, false)).unwrap_or(0);
        let accepted = env.accepted;
        self.count(
            peer,
            family,
            -i64::try_from(n).unwrap_or(i64::MAX),
            accepted,
        );
        n
    }

    /// Marks every path of `peer` in `family` stale (RFC 4724 §4.2: the peer restarts;
    /// RFC 7313 §4: it begins a refresh). A path announced again is no longer stale; the
    /// rest go with [`Rib::purge_stale`]. Stale paths stay eligible. Returns how many.
    pub fn mark_stale(&mut self, peer: PeerId, family: Family) -> usize {
        with_table!(mut self.tables, family, t => {
            let mut n = 0usize;
            for i in 0..t.len() {
                let mut d = t.load(i);
                let mut hit = false;
                for p in d.list.iter_mut().filter(|p| p.peer == peer && !p.stale) {
                    p.stale = true;
                    hit = true;
                    n = n.saturating_add(1);
                }
                if hit {
                    t.store(i, &d);
                }
            }
            n
        })
        .unwrap_or(0)
    }

    /// Withdraws the paths of `peer` in `family` still stale (End-of-RIB or EoRR received,
    /// or the restart or stale-path timer expired). Returns how many.
    pub fn purge_stale(
        &mut self,
        peer: PeerId,
        family: Family,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> usize {
        self.collect();
        let mut env = Self::env(
            family,
            &mut self.store,
            &self.peers,
            resolver,
            &mut self.deferred,
            out,
            &self.state,
            self.path_log.as_mut(),
        );
        env.multipath = multipath_on(&self.load_balancing, family);
        let n =
            with_table!(mut self.tables, family, t => env.remove_peer(t, peer, true)).unwrap_or(0);
        let accepted = env.accepted;
        self.count(
            peer,
            family,
            -i64::try_from(n).unwrap_or(i64::MAX),
            accepted,
        );
        n
    }

    /// Paths of `peer` in `family` that are stale.
    pub fn stale_count(&self, peer: PeerId, family: Family) -> usize {
        with_table!(ref self.tables, family, t => {
            (0..t.len())
                .map(|i| t.load(i).list.iter().filter(|p| p.peer == peer && p.stale).count())
                .sum()
        })
        .unwrap_or(0)
    }

    /// Applies one UPDATE from `peer` (see the module documentation); best-path changes are
    /// appended to `out`.
    pub fn apply_update(
        &mut self,
        peer: PeerId,
        update: &ParsedUpdate<'_>,
        policy: &dyn ImportPolicy,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> Result<UpdateSummary, RibError> {
        self.apply(peer, Digest::of(update), policy, resolver, out)
    }

    /// Applies one UPDATE from `peer`, taken apart by [`Digest::of`].
    pub fn apply(
        &mut self,
        peer: PeerId,
        update: Digest,
        policy: &dyn ImportPolicy,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> Result<UpdateSummary, RibError> {
        let info = *self.peer(peer).ok_or(RibError::UnknownPeer(peer))?;
        if update.session_reset {
            return Err(RibError::SessionReset);
        }
        self.collect();
        let mut sum = UpdateSummary {
            end_of_rib: update.end_of_rib,
            treat_as_withdraw: update.treat_as_withdraw,
            ..UpdateSummary::default()
        };
        if sum.end_of_rib.is_some() {
            return Ok(sum);
        }
        let disabled = &update.disabled;
        for f in disabled {
            sum.withdrawn = sum
                .withdrawn
                .saturating_add(self.withdraw_family(peer, *f, resolver, out));
        }
        for (family, n) in &update.withdrawn {
            if disabled.contains(family) {
                continue;
            }
            match self.withdraw_one(peer, *family, n, resolver, out) {
                Some(_) => sum.withdrawn = sum.withdrawn.saturating_add(1),
                None => sum.ignored = sum.ignored.saturating_add(1),
            }
        }
        // The IPv4 NLRI field with NEXT_HOP, then MP_REACH_NLRI with its own next hop: one
        // prepared (interned) attribute set for each, shared by its routes.
        for r in update.reach {
            self.announce_all(peer, &info, r, disabled, policy, resolver, out, &mut sum);
        }
        Ok(sum)
    }

    /// Stores (or, on treat-as-withdraw, withdraws) the routes of one next hop.
    #[allow(clippy::too_many_arguments)]
    fn announce_all(
        &mut self,
        peer: PeerId,
        info: &PeerInfo,
        mut reach: Reach,
        disabled: &[Family],
        policy: &dyn ImportPolicy,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
        sum: &mut UpdateSummary,
    ) {
        let mut prep: Option<Prepared> = None;
        for (family, n) in &reach.routes {
            let family = *family;
            if disabled.contains(&family) {
                continue;
            }
            if sum.treat_as_withdraw {
                match self.withdraw_one(peer, family, n, resolver, out) {
                    Some(_) => sum.withdrawn = sum.withdrawn.saturating_add(1),
                    None => sum.ignored = sum.ignored.saturating_add(1),
                }
                continue;
            }
            if prep.is_none() {
                let Some(a) = reach.attrs.take() else {
                    sum.ignored = sum.ignored.saturating_add(1);
                    continue;
                };
                prep = Some(self.prepare(a, info, policy, family));
            }
            let Some(p) = prep.as_ref() else { continue };
            match self.announce(peer, info, family, n, p, policy, resolver, out) {
                Some(()) => sum.announced = sum.announced.saturating_add(1),
                None => sum.ignored = sum.ignored.saturating_add(1),
            }
        }
        if let Some(p) = prep {
            // The reference `prepare` took; each stored route holds its own.
            self.store.release(p.in_attrs);
        }
    }

    /// Fixes up received attributes for this peer, interns them, runs the loop checks.
    fn prepare(
        &mut self,
        mut a: PathAttrs,
        info: &PeerInfo,
        policy: &dyn ImportPolicy,
        family: Family,
    ) -> Prepared {
        if info.ebgp {
            rr::strip_for_ebgp(&mut a);
        }
        a.preferred_value = info.preferred_value;
        let looped = policy.looped(info, family, &a.as_path, self.config.local_as.0)
            || rr::reflection_loop(
                a.originator_id,
                &a.cluster_list,
                self.config.router_id,
                self.cluster_id,
            )
            .is_some();
        let in_attrs = self.store.intern(&a);
        Prepared {
            attrs: a,
            in_attrs,
            looped,
        }
    }

    /// Stores one announced route.
    #[allow(clippy::too_many_arguments)]
    fn announce(
        &mut self,
        peer: PeerId,
        info: &PeerInfo,
        family: Family,
        n: &Nlri,
        prep: &Prepared,
        policy: &dyn ImportPolicy,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> Option<()> {
        let key = RouteKey::of_nlri(n);
        let attrs = if prep.looped {
            AttrId::NONE
        } else {
            match policy.import(peer, info, family, &key, &prep.attrs) {
                Verdict::Accept => {
                    self.store.retain(prep.in_attrs);
                    prep.in_attrs
                }
                Verdict::Deny => AttrId::NONE,
                Verdict::Modify(m) => self.store.intern(&m),
            }
        };
        self.store.retain(prep.in_attrs);
        let path = Path {
            peer,
            path_id: n.path_id.unwrap_or(0),
            in_attrs: prep.in_attrs,
            attrs,
            label: PackedLabel::pack(&n.labels, &mut self.store),
            stale: false,
        };
        let mut env = Self::env(
            family,
            &mut self.store,
            &self.peers,
            resolver,
            &mut self.deferred,
            out,
            &self.state,
            self.path_log.as_mut(),
        );
        env.multipath = multipath_on(&self.load_balancing, family);
        let stored = with_table!(mut self.tables, family, t => PrefixKey::pack(&key).map(|k| env.upsert(t, k, path)))
            .flatten();
        let accepted = env.accepted;
        match stored {
            Some(new) => {
                self.count(peer, family, i64::from(new), accepted);
                Some(())
            }
            None => {
                env.drop_path(&path);
                None
            }
        }
    }

    fn withdraw_one(
        &mut self,
        peer: PeerId,
        family: Family,
        n: &Nlri,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> Option<bool> {
        let key = RouteKey::of_nlri(n);
        let path_id = n.path_id.unwrap_or(0);
        let mut env = Self::env(
            family,
            &mut self.store,
            &self.peers,
            resolver,
            &mut self.deferred,
            out,
            &self.state,
            self.path_log.as_mut(),
        );
        env.multipath = multipath_on(&self.load_balancing, family);
        let removed = with_table!(mut self.tables, family, t => PrefixKey::pack(&key).map(|k| env.remove(t, k, peer, path_id)))
            .flatten();
        let accepted = env.accepted;
        if removed == Some(true) {
            self.count(peer, family, -1, accepted);
        }
        removed
    }

    /// Originates a route locally (`network`, `import-route`); replaces a previous local
    /// route for the same destination.
    pub fn originate(
        &mut self,
        family: Family,
        key: RouteKey,
        attrs: &PathAttrs,
        labels: LabelStack,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> bool {
        self.inject(family, key, PeerId::LOCAL, 0, attrs, labels, resolver, out)
    }

    /// Puts a path from `peer` (registered with [`Rib::peer_up`], or [`PeerId::LOCAL`]) with
    /// ADD-PATH-like id `path_id` into the table, replacing the same (peer, path id) path: how
    /// a VPN instance's table receives the VPN routes it imports (one path per source RD) and
    /// how local routes are originated. No import policy runs; `attrs` are used as given.
    #[allow(clippy::too_many_arguments)]
    pub fn inject(
        &mut self,
        family: Family,
        key: RouteKey,
        peer: PeerId,
        path_id: u32,
        attrs: &PathAttrs,
        labels: LabelStack,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> bool {
        self.collect();
        if !FAMILIES.contains(&family) || !key_fits(family, &key) || self.peer(peer).is_none() {
            return false;
        }
        let id = self.store.intern(attrs);
        self.store.retain(id);
        let n = Nlri {
            path_id: None,
            rd: key.rd,
            labels,
            prefix: key.prefix,
        };
        let path = Path {
            peer,
            path_id,
            in_attrs: id,
            attrs: id,
            label: PackedLabel::pack(&n.labels, &mut self.store),
            stale: false,
        };
        let mut env = Self::env(
            family,
            &mut self.store,
            &self.peers,
            resolver,
            &mut self.deferred,
            out,
            &self.state,
            self.path_log.as_mut(),
        );
        env.multipath = multipath_on(&self.load_balancing, family);
        let new = with_table!(mut self.tables, family, t => PrefixKey::pack(&key).map(|k| env.upsert(t, k, path)))
            .flatten();
        let accepted = env.accepted;
        self.count(peer, family, i64::from(new == Some(true)), accepted);
        true
    }

    /// Withdraws a locally originated route.
    pub fn withdraw_local(
        &mut self,
        family: Family,
        key: RouteKey,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> bool {
        self.withdraw_path(family, key, PeerId::LOCAL, 0, resolver, out)
    }

    /// Withdraws the path `(peer, path_id)` of a destination (the reverse of
    /// [`Rib::inject`]); true when there was one.
    pub fn withdraw_path(
        &mut self,
        family: Family,
        key: RouteKey,
        peer: PeerId,
        path_id: u32,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> bool {
        self.collect();
        let n = Nlri {
            path_id: Some(path_id),
            rd: key.rd,
            labels: LabelStack::new(),
            prefix: key.prefix,
        };
        self.withdraw_one(peer, family, &n, resolver, out) == Some(true)
    }

    /// Runs import policy again over the peer's Adj-RIB-In (after a policy change; no route
    /// refresh needed), then the decision process where the result changed.
    pub fn reimport(
        &mut self,
        peer: PeerId,
        policy: &dyn ImportPolicy,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) -> Result<usize, RibError> {
        let info = *self.peer(peer).ok_or(RibError::UnknownPeer(peer))?;
        self.collect();
        let mut changed = 0usize;
        for family in FAMILIES {
            let mut env = Self::env(
                family,
                &mut self.store,
                &self.peers,
                resolver,
                &mut self.deferred,
                out,
                &self.state,
                self.path_log.as_mut(),
            );
            env.multipath = multipath_on(&self.load_balancing, family);
            let (router_id, cluster_id, local_as) =
                (self.config.router_id, self.cluster_id, self.config.local_as);
            with_table!(mut self.tables, family, t => {
                let mut cache: Option<(AttrId, PathAttrs, bool)> = None;
                for at in 0..t.len() {
                    let mut d = t.load(at);
                    if !d.list.iter().any(|p| p.peer == peer) {
                        continue;
                    }
                    let Some(k) = t.key(at) else { continue };
                    let key = k.unpack();
                    let old = env.best_of(&d);
                    let mut touched = false;
                    for i in 0..d.list.len() {
                        let Some(p) = d.list.get(i).copied() else { continue };
                        if p.peer != peer {
                            continue;
                        }
                        if cache.as_ref().is_none_or(|c| c.0 != p.in_attrs) {
                            let a = env.store.materialize(p.in_attrs);
                            let looped = policy.looped(&info, family, &a.as_path, local_as.0)
                                || rr::reflection_loop(a.originator_id, &a.cluster_list, router_id, cluster_id).is_some();
                            cache = Some((p.in_attrs, a, looped));
                        }
                        let Some((_, a, looped)) = cache.as_ref() else { continue };
                        let attrs = if *looped {
                            AttrId::NONE
                        } else {
                            match policy.import(peer, &info, family, &key, a) {
                                Verdict::Accept => {
                                    env.store.retain(p.in_attrs);
                                    p.in_attrs
                                }
                                Verdict::Deny => AttrId::NONE,
                                Verdict::Modify(m) => env.store.intern(&m),
                            }
                        };
                        if attrs == p.attrs {
                            env.store.release(attrs);
                            continue;
                        }
                        env.deferred.push(p.attrs);
                        env.accepted += i64::from(attrs.is_some()) - i64::from(p.attrs.is_some());
                        if let Some(q) = d.list.get_mut(i) {
                            q.attrs = attrs;
                        }
                        touched = true;
                        changed = changed.saturating_add(1);
                    }
                    if touched {
                        env.reselect(&k, &mut d, old);
                        t.store(at, &d);
                    }
                }
            });
            let accepted = env.accepted;
            self.count(peer, family, 0, accepted);
        }
        Ok(changed)
    }

    /// Runs the decision process again on every destination of `family` (after next-hop
    /// reachability or IGP costs changed).
    pub fn reselect_all(
        &mut self,
        family: Family,
        resolver: &dyn NextHopResolver,
        out: &mut Vec<BestChange>,
    ) {
        self.collect();
        let mut env = Self::env(
            family,
            &mut self.store,
            &self.peers,
            resolver,
            &mut self.deferred,
            out,
            &self.state,
            self.path_log.as_mut(),
        );
        env.multipath = multipath_on(&self.load_balancing, family);
        with_table!(mut self.tables, family, t => {
            for i in 0..t.len() {
                let Some(key) = t.key(i) else { continue };
                let mut d = t.load(i);
                let (old, was) = (env.best_of(&d), d.best);
                env.reselect(&key, &mut d, old);
                if d.best != was {
                    t.store(i, &d);
                }
            }
        });
    }

    /// Logs every change of a destination's paths from now on (`on`), or stops: see
    /// [`PathChange`], read with [`Rib::take_path_changes`].
    pub fn track_paths(&mut self, on: bool) {
        match (on, self.path_log.is_some()) {
            (true, false) => self.path_log = Some(Vec::new()),
            (false, true) => self.path_log = None,
            _ => {}
        }
    }

    /// True while changes of paths are logged.
    pub fn tracks_paths(&self) -> bool {
        self.path_log.is_some()
    }

    /// The path changes logged since the last call.
    pub fn take_path_changes(&mut self) -> Vec<PathChange> {
        self.path_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The `n` best eligible paths of a destination in the decision order (RFC 7911 §1: the
    /// paths an ADD-PATH peer may be sent): the best path, then the best of the others, and
    /// so on ([`decision::select`] on what remains), `resolver` answering for next hops.
    pub fn ranked(
        &self,
        family: Family,
        key: &RouteKey,
        n: usize,
        resolver: &dyn NextHopResolver,
    ) -> SmallVec<[Best; 4]> {
        let mut out = SmallVec::new();
        with_table!(ref self.tables, family, t => {
            let Some(i) = PrefixKey::pack(key).and_then(|k| t.find(&self.state, &k)) else {
                return out;
            };
            let d = t.load(i);
            let mut ranked: SmallVec<[(Rank, &Path); 4]> = d
                .list
                .iter()
                .filter_map(|p| {
                    rank_of(family, &self.store, &self.peers, resolver, p).map(|r| (r, p))
                })
                .collect();
            while out.len() < n && !ranked.is_empty() {
                let ranks: SmallVec<[Rank; 4]> = ranked.iter().map(|(r, _)| *r).collect();
                let Some(w) = decision::select(&ranks) else { break };
                let (_, p) = ranked.remove(w);
                out.push(best(p, &self.store));
            }
        });
        out
    }

    /// The selected path of a destination.
    pub fn best(&self, family: Family, key: &RouteKey) -> Option<Best> {
        with_table!(ref self.tables, family, t => {
            let i = t.find(&self.state, &PrefixKey::pack(key)?)?;
            t.best(i).map(|p| best(&p, &self.store))
        })
        .flatten()
    }

    /// True when `peer` has a path for `key` in `family` (any path ID).
    pub fn has_path(&self, peer: PeerId, family: Family, key: &RouteKey) -> bool {
        with_table!(ref self.tables, family, t => {
            PrefixKey::pack(key)
                .and_then(|k| t.find(&self.state, &k))
                .is_some_and(|i| t.load(i).list.iter().any(|p| p.peer == peer))
        })
        .unwrap_or(false)
    }

    /// Every path of a destination, in arrival order.
    pub fn paths(&self, family: Family, key: &RouteKey) -> Vec<PathInfo> {
        with_table!(ref self.tables, family, t => {
            PrefixKey::pack(key)
                .and_then(|k| t.find(&self.state, &k))
                .map(|i| self.path_infos(&t.load(i)).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }

    fn path_infos<'a>(&'a self, d: &'a Paths) -> impl Iterator<Item = PathInfo> + 'a {
        d.list.iter().enumerate().map(move |(i, p)| PathInfo {
            peer: p.peer,
            path_id: p.path_id,
            in_attrs: p.in_attrs,
            attrs: p.attrs,
            labels: p.label.unpack(&self.store),
            best: usize::from(d.best) == i,
            stale: p.stale,
        })
    }

    /// The owned attributes of a set.
    pub fn attrs(&self, id: AttrId) -> PathAttrs {
        self.store.materialize(id)
    }

    /// The interned set.
    pub fn attr_set(&self, id: AttrId) -> &AttrSet {
        self.store.set(id)
    }

    /// The attribute store.
    pub fn store(&self) -> &AttrStore {
        &self.store
    }

    /// Releases deferred references and gives back spare capacity (after a peer with a
    /// large table went down).
    pub fn shrink_to_fit(&mut self) {
        self.collect();
        self.deferred.shrink_to_fit();
        self.store.shrink_to_fit();
        for family in FAMILIES {
            let state = &self.state;
            with_table!(mut self.tables, family, t => t.shrink_to_fit(state));
        }
    }

    /// Memory held (walks the tables for spilled path vectors).
    pub fn memory(&self) -> MemoryStats {
        let mut m = MemoryStats {
            store: self.store.stats(),
            ..MemoryStats::default()
        };
        for family in FAMILIES {
            with_table!(ref self.tables, family, t => {
                m.destinations = m.destinations.saturating_add(t.len());
                m.paths = m.paths.saturating_add(t.paths);
                m.table_bytes = m.table_bytes.saturating_add(t.allocated_bytes());
            });
        }
        m
    }

    /// The next hop address of a set (for resolvers and displays).
    pub fn next_hop_addr(&self, id: AttrId) -> Option<IpAddr> {
        self.store.set(id).next_hop.addr()
    }
}

/// True when `key` has the shape of `family`'s keys.
fn key_fits(family: Family, key: &RouteKey) -> bool {
    key.rd.is_some() == family.has_rd() && key.prefix.addr().is_ipv6() == family.is_ipv6()
}

mod walk;
