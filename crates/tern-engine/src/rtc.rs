//! Route target constraint (RFC 4684): the route target membership of the peers that
//! negotiated the family (AFI 1, SAFI 132), what this router advertises in it, and the
//! interest that limits the VPN routes a peer is sent.
//!
//! - **Membership received** (§4): each peer's memberships are kept in their own table
//!   (never in the route tables), with the attributes they came with. A membership whose
//!   ORIGINATOR_ID is this router or whose CLUSTER_LIST holds this router's cluster ID
//!   (RFC 4456 §8), or whose AS_PATH holds this router's AS from an external peer, is a loop
//!   and is not taken.
//! - **Interest** ([`RtInterest`], §4): the VPN routes (VPNv4, VPNv6) a peer that negotiated
//!   the family is sent are those carrying a route target one of its memberships covers. A
//!   default membership (length 0, §3) or one naming only an origin AS (length 32) covers
//!   every route target. A peer is sent no VPN route until its End-of-RIB of the family
//!   (§6: then its membership is complete), or until the wait for it is over ([`Rtc::wait_over`],
//!   on a timer of the daemon's, VRP's `timer wait-for-eor` default of 180 s); from then on
//!   every change of its membership applies at once. A peer that did not negotiate the family
//!   has no interest set and is sent every VPN route as before.
//! - **Advertised** (§3.2, §3.3 for reflectors): to every peer of the family, one membership
//!   (local AS, route target) per import route target of the local VPN instances; the
//!   default membership to peers configured with `peer X default-route-advertise` in the
//!   BGP-VPN-Target view (a reflector asking a PE for every VPN route); and the memberships
//!   learned from other peers, one path per membership (shortest AS_PATH, then shortest
//!   CLUSTER_LIST, then lowest router ID and address), under the RFC 4456 rules: a
//!   membership from a client or an external peer goes to every peer, one from an internal
//!   non-client only to clients and external peers, never back to the peer it came from;
//!   between internal peers it is reflected with ORIGINATOR_ID and CLUSTER_LIST. The next hop
//!   is this router's session address (§4). What a peer was sent is kept, so a change sends
//!   only the difference; End-of-RIB of the family follows the first advertisement.
//!
//! Among several engines ([`crate::shard`]) every engine keeps the memberships (each filters
//! its own VPN routes); only the one with index 0 advertises.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use tern_rib::rr::{self, Role};
use tern_rib::{PathAttrs, PeerId, RtcPart};
use tern_types::{ExtCommunity, Family};
use tern_wire::attr::{AsPath, Origin};
use tern_wire::rtc::{self, RtMembership};
use tern_wire::{NextHop, UpdateBuilder};
use tracing::{debug, warn};

use crate::adjout::{Offer, Writer};

/// VRP's default LOCAL_PREF.
const LOCAL_PREF: u32 = 100;

/// The route targets a peer wants VPN routes of: whole route targets (looked up by binary
/// search, a route's targets against thousands of memberships) and route target prefixes
/// (length in bits, below 64), each sorted, without duplicates. Equal interests compare
/// equal, so peers with one interest can share an update group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RtInterest {
    whole: Arc<[[u8; 8]]>,
    partial: Arc<[([u8; 8], u8)]>,
}

impl RtInterest {
    /// The interest of a set of memberships; `None` when one of them covers every route
    /// target (the default, or an origin AS alone).
    pub fn of<'a>(memberships: impl IntoIterator<Item = &'a RtMembership>) -> Option<RtInterest> {
        let (mut whole, mut partial) = (Vec::new(), Vec::new());
        for m in memberships {
            match m.target_len() {
                0 => return None,
                64 => whole.push(m.target),
                n => partial.push((m.target, n)),
            }
        }
        whole.sort_unstable();
        whole.dedup();
        partial.sort_unstable();
        partial.dedup();
        Some(RtInterest {
            whole: whole.into(),
            partial: partial.into(),
        })
    }

    /// True when a route with these extended communities is wanted: one of its route
    /// targets is covered.
    pub fn wants(&self, ext: &[ExtCommunity]) -> bool {
        ext.iter().filter(|c| c.is_route_target()).any(|c| {
            self.whole.binary_search(&c.0).is_ok()
                || self.partial.iter().any(|(t, len)| {
                    RtMembership {
                        len: len.saturating_add(32),
                        origin_as: 0,
                        target: *t,
                    }
                    .matches(&c.0)
                })
        })
    }

    /// The number of route targets and route target prefixes.
    pub fn len(&self) -> usize {
        self.whole.len().saturating_add(self.partial.len())
    }

    /// True when nothing is wanted.
    pub fn is_empty(&self) -> bool {
        self.whole.is_empty() && self.partial.is_empty()
    }
}

/// What this router is: for the attributes it sends and the loop checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Local {
    /// Local AS.
    pub asn: u32,
    /// Router ID.
    pub router_id: Ipv4Addr,
    /// Cluster ID (RFC 4456 §7).
    pub cluster_id: Ipv4Addr,
}

/// A peer that negotiated the family, as its session came up.
pub struct RtcSession {
    /// The engine's id of the peer.
    pub id: PeerId,
    /// Its role (external, client, internal non-client).
    pub role: Role,
    /// Its BGP identifier (ORIGINATOR_ID of what is reflected from it).
    pub router_id: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
    /// Both sides speak 4-octet AS numbers.
    pub four_octet: bool,
    /// The session's local address: the next hop sent.
    pub local: Option<IpAddr>,
    /// Its writer.
    pub tx: Writer,
}

struct Peer {
    s: RtcSession,
    /// Memberships received and taken, with their attributes.
    received: BTreeMap<RtMembership, PathAttrs>,
    /// End-of-RIB of the family received, or the wait for it over: its membership limits
    /// its VPN routes (before, it is sent none).
    end_of_rib: bool,
    /// What it was sent.
    sent: BTreeMap<RtMembership, PathAttrs>,
    /// The first advertisement (and its End-of-RIB) is out.
    started: bool,
    /// Messages that did not fit its writer.
    backlog: VecDeque<Bytes>,
}

/// How a learned membership path ranks (lower wins): AS_PATH length, CLUSTER_LIST length,
/// originator's router ID, peer address.
type PathRank = (usize, usize, Ipv4Addr, IpAddr);

/// The route target constraint state of one engine.
pub struct Rtc {
    peers: BTreeMap<IpAddr, Peer>,
    /// Memberships this router originates (its VPN instances' import targets).
    local: BTreeSet<RtMembership>,
    /// Peers sent the default membership.
    default_to: BTreeSet<IpAddr>,
    /// This engine advertises (the first shard).
    speaker: bool,
}

impl Rtc {
    /// An empty state; `speaker`: this engine sends the family's UPDATEs.
    pub fn new(speaker: bool) -> Rtc {
        Rtc {
            peers: BTreeMap::new(),
            local: BTreeSet::new(),
            default_to: BTreeSet::new(),
            speaker,
        }
    }

    /// True when `addr` negotiated the family.
    pub fn negotiated(&self, addr: IpAddr) -> bool {
        self.peers.contains_key(&addr)
    }

    /// The interest limiting the VPN routes `addr` is sent (`None`: every VPN route, as for a
    /// peer that did not negotiate the family). Empty while its End-of-RIB is awaited.
    pub fn interest(&self, addr: IpAddr) -> Option<RtInterest> {
        let p = self.peers.get(&addr)?;
        Self::interest_of(p)
    }

    fn interest_of(p: &Peer) -> Option<RtInterest> {
        if p.end_of_rib {
            RtInterest::of(p.received.keys())
        } else {
            RtInterest::of([])
        }
    }

    /// The wait for `addr`'s End-of-RIB of the family is over: its membership so far limits
    /// its VPN routes. True when its interest changed.
    pub fn wait_over(&mut self, addr: IpAddr) -> bool {
        let Some(p) = self.peers.get_mut(&addr) else {
            return false;
        };
        if p.end_of_rib {
            return false;
        }
        let before = Self::interest_of(p);
        p.end_of_rib = true;
        before != Self::interest_of(p)
    }

    /// The memberships received from `addr` (displays, tests).
    pub fn received(&self, addr: IpAddr) -> Vec<RtMembership> {
        self.peers
            .get(&addr)
            .map(|p| p.received.keys().copied().collect())
            .unwrap_or_default()
    }

    /// What `addr` was sent (displays, tests).
    pub fn sent(&self, addr: IpAddr) -> Vec<RtMembership> {
        self.peers
            .get(&addr)
            .map(|p| p.sent.keys().copied().collect())
            .unwrap_or_default()
    }

    /// A peer's session of the family came up: it is sent what it may have, then
    /// End-of-RIB.
    pub fn peer_up(&mut self, addr: IpAddr, s: RtcSession, local: &Local) {
        self.peers.insert(
            addr,
            Peer {
                s,
                received: BTreeMap::new(),
                end_of_rib: false,
                sent: BTreeMap::new(),
                started: false,
                backlog: VecDeque::new(),
            },
        );
        self.advertise(local);
    }

    /// A peer's session ended: its memberships are gone (and so is what was reflected of
    /// them). Returns true when it had negotiated the family.
    pub fn peer_down(&mut self, addr: IpAddr, local: &Local) -> bool {
        let had = self
            .peers
            .remove(&addr)
            .is_some_and(|p| !p.received.is_empty());
        if had {
            self.advertise(local);
        }
        had
    }

    /// The memberships this router originates, from its VPN instances' import route
    /// targets, and the peers it sends the default membership to.
    pub fn set_local(
        &mut self,
        import_targets: impl IntoIterator<Item = ExtCommunity>,
        default_to: BTreeSet<IpAddr>,
        local: &Local,
    ) {
        let own: BTreeSet<RtMembership> = import_targets
            .into_iter()
            .filter(|t| t.is_route_target())
            .map(|t| RtMembership::new(local.asn, t.0))
            .collect();
        if own != self.local || default_to != self.default_to {
            self.local = own;
            self.default_to = default_to;
            self.advertise(local);
        }
    }

    /// Applies the family's part of an UPDATE of `addr` (`disabled`: RFC 7606 disabled the
    /// family, every membership of the peer is withdrawn; `end_of_rib`: the peer's End-of-RIB
    /// of the family). Returns true when the peer's interest changed.
    pub fn apply(
        &mut self,
        addr: IpAddr,
        part: Option<&RtcPart>,
        disabled: bool,
        end_of_rib: bool,
        local: &Local,
    ) -> bool {
        let Some(p) = self.peers.get_mut(&addr) else {
            return false;
        };
        let before = Self::interest_of(p);
        let mut changed = false;
        if disabled {
            changed |= !p.received.is_empty();
            p.received.clear();
        }
        let mut now_complete = false;
        if end_of_rib && !p.end_of_rib {
            p.end_of_rib = true;
            now_complete = true;
            debug!(peer = %addr, memberships = p.received.len(), "RTC: End-of-RIB received");
        }
        if let Some(part) = part {
            for m in &part.withdrawn {
                changed |= p.received.remove(m).is_some();
            }
            if let Some(a) = &part.attrs {
                let looped = a.originator_id == Some(local.router_id)
                    || a.cluster_list.contains(&local.cluster_id)
                    || (p.s.role == Role::Ebgp && a.as_path.contains(local.asn));
                for m in &part.reach {
                    if looped {
                        changed |= p.received.remove(m).is_some();
                    } else if p.received.get(m) != Some(a) {
                        p.received.insert(*m, a.clone());
                        changed = true;
                    }
                }
            }
        }
        let after = Self::interest_of(p);
        if !changed {
            return now_complete && before != after;
        }
        debug!(peer = %addr, memberships = p.received.len(), "RTC: membership changed");
        self.advertise(local);
        before != after
    }

    /// Sends each peer the difference between what it may have now and what it was sent.
    fn advertise(&mut self, local: &Local) {
        if !self.speaker {
            return;
        }
        let best = self.best_paths();
        let addrs: Vec<IpAddr> = self.peers.keys().copied().collect();
        for to in addrs {
            let want = self.wanted(to, &best, local);
            let Some(p) = self.peers.get_mut(&to) else {
                continue;
            };
            let gone: Vec<RtMembership> = p
                .sent
                .keys()
                .filter(|m| !want.contains_key(m))
                .copied()
                .collect();
            let mut groups: Vec<(PathAttrs, Vec<RtMembership>)> = Vec::new();
            for (m, a) in &want {
                if p.sent.get(m) == Some(a) {
                    continue;
                }
                match groups.iter_mut().find(|(x, _)| x == a) {
                    Some((_, v)) => v.push(*m),
                    None => groups.push((a.clone(), vec![*m])),
                }
            }
            let mut msgs: Vec<Vec<u8>> = Vec::new();
            if !gone.is_empty() {
                match rtc::withdraw_updates(&gone) {
                    Ok(v) => msgs.extend(v),
                    Err(e) => warn!(peer = %to, "RTC: withdrawal not encodable: {e}"),
                }
            }
            let next_hop = p.s.local.unwrap_or(IpAddr::V4(local.router_id));
            for (a, routes) in &groups {
                match rtc::reach_updates(next_hop, &a.to_wire(p.s.four_octet), routes) {
                    Ok(v) => msgs.extend(v),
                    Err(e) => warn!(peer = %to, "RTC: membership not encodable: {e}"),
                }
            }
            if !p.started {
                p.started = true;
                msgs.push(UpdateBuilder::end_of_rib(Family::RTC));
            }
            if !msgs.is_empty() {
                debug!(peer = %to, withdrawn = gone.len(), announced = groups.iter().map(|g| g.1.len()).sum::<usize>(), "RTC: membership sent");
            }
            p.sent = want;
            for m in msgs {
                p.backlog.push_back(Bytes::from(m));
            }
        }
        self.drain();
    }

    /// One path per membership learned from peers: (membership, peer it came from).
    fn best_paths(&self) -> BTreeMap<RtMembership, IpAddr> {
        let mut best: BTreeMap<RtMembership, (IpAddr, PathRank)> = BTreeMap::new();
        for (addr, p) in &self.peers {
            for (m, a) in &p.received {
                let rank = (
                    a.as_path.path_len(),
                    a.cluster_list.len(),
                    a.originator_id.unwrap_or(p.s.router_id),
                    *addr,
                );
                match best.get(m) {
                    Some((_, r)) if *r <= rank => {}
                    _ => {
                        best.insert(*m, (*addr, rank));
                    }
                }
            }
        }
        best.into_iter().map(|(m, (a, _))| (m, a)).collect()
    }

    /// What peer `to` may have now, with the attributes it is sent.
    fn wanted(
        &self,
        to: IpAddr,
        best: &BTreeMap<RtMembership, IpAddr>,
        local: &Local,
    ) -> BTreeMap<RtMembership, PathAttrs> {
        let mut out = BTreeMap::new();
        let Some(p) = self.peers.get(&to) else {
            return out;
        };
        let own = || {
            let mut a = PathAttrs::new(
                Origin::Igp,
                AsPath::empty(true),
                NextHop::Ipv4(local.router_id),
            );
            if p.s.role == Role::Ebgp {
                a.as_path = a.as_path.prepend(local.asn, 1);
            } else {
                a.local_pref = Some(LOCAL_PREF);
            }
            a
        };
        for (m, from) in best {
            if *from == to {
                continue;
            }
            let Some(q) = self.peers.get(from) else {
                continue;
            };
            if !rr::may_advertise(q.s.id, q.s.role, p.s.id, p.s.role, true) {
                continue;
            }
            let Some(mut a) = q.received.get(m).cloned() else {
                continue;
            };
            if p.s.role == Role::Ebgp {
                if a.as_path.contains(p.s.asn) {
                    continue;
                }
                a.as_path = a.as_path.prepend(local.asn, 1);
                a.local_pref = None;
                a.med = None;
                rr::strip_for_ebgp(&mut a);
            } else {
                if a.local_pref.is_none() {
                    a.local_pref = Some(LOCAL_PREF);
                }
                if rr::is_reflection(q.s.role, p.s.role) {
                    rr::reflect_attrs(&mut a, q.s.router_id, local.cluster_id);
                }
            }
            a.preferred_value = 0;
            a.next_hop = NextHop::Ipv4(local.router_id);
            out.insert(*m, a);
        }
        for m in &self.local {
            out.insert(*m, own());
        }
        if self.default_to.contains(&to) {
            out.insert(RtMembership::DEFAULT, own());
        }
        out
    }

    /// Hands waiting messages to the writers; true when something was taken.
    pub fn drain(&mut self) -> bool {
        let mut progress = false;
        for p in self.peers.values_mut() {
            while let Some(b) = p.backlog.pop_front() {
                match p.s.tx.offer(b) {
                    Offer::Taken => progress = true,
                    Offer::Full(b) => {
                        p.backlog.push_front(b);
                        break;
                    }
                    Offer::Closed => p.backlog.clear(),
                }
            }
        }
        progress
    }

    /// True when messages wait for a writer.
    pub fn has_work(&self) -> bool {
        self.peers.values().any(|p| !p.backlog.is_empty())
    }

    /// A ROUTE-REFRESH of the family: `addr` is sent what it may have again, then with
    /// `enhanced` an EoRR (RFC 7313 §4; the BoRR is the caller's, before).
    pub fn refresh(&mut self, addr: IpAddr, enhanced: bool, local: &Local) {
        if !self.speaker {
            return;
        }
        if let Some(p) = self.peers.get_mut(&addr) {
            p.sent.clear();
            self.advertise(local);
        }
        if enhanced && let Some(p) = self.peers.get_mut(&addr) {
            p.backlog
                .push_back(crate::wellknown::end_of_refresh(Family::RTC));
            self.drain();
        }
    }

    /// A peer's role changed (`peer X reflect-client`): what is reflected to and from it
    /// follows.
    pub fn set_role(&mut self, addr: IpAddr, role: Role, local: &Local) {
        if let Some(p) = self.peers.get_mut(&addr)
            && p.s.role != role
        {
            p.s.role = role;
            self.advertise(local);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tern_types::TargetKind;
    use tern_wire::{Ctx, Update};

    #[derive(Debug, Default)]
    struct Cap(Mutex<Vec<Bytes>>);
    impl crate::adjout::Sink for Cap {
        fn offer(&self, b: Bytes) -> Offer {
            self.0.lock().unwrap().push(b);
            Offer::Taken
        }
    }

    /// What was sent: (announced, withdrawn, End-of-RIB seen), with the last announcement's
    /// attributes.
    fn take(
        c: &Cap,
    ) -> (
        Vec<RtMembership>,
        Vec<RtMembership>,
        bool,
        Option<PathAttrs>,
    ) {
        let mut out = (Vec::new(), Vec::new(), false, None);
        for b in c.0.lock().unwrap().drain(..) {
            let mut rest = &b[..];
            while !rest.is_empty() {
                let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
                if rest[18] != 2 {
                    rest = &rest[len..];
                    continue;
                }
                let u = Update::decode(&rest[19..len]).unwrap();
                let p = u.parse(&Ctx::default());
                if p.end_of_rib() == Some(Family::RTC) {
                    out.2 = true;
                }
                let d = tern_rib::Digest::of(&p);
                if let Some(r) = d.rtc {
                    out.0.extend(r.reach);
                    out.1.extend(r.withdrawn);
                    if r.attrs.is_some() {
                        out.3 = r.attrs;
                    }
                }
                rest = &rest[len..];
            }
        }
        out
    }

    fn rt(n: u32) -> ExtCommunity {
        ExtCommunity::as2(TargetKind::RouteTarget, 100, n)
    }

    const LOCAL: Local = Local {
        asn: 65000,
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        cluster_id: Ipv4Addr::new(10, 0, 0, 1),
    };

    fn session(id: u32, role: Role, last: u8) -> (RtcSession, Arc<Cap>) {
        let cap = Arc::new(Cap::default());
        (
            RtcSession {
                id: PeerId(id),
                role,
                router_id: Ipv4Addr::new(10, 0, 0, last),
                asn: if role == Role::Ebgp { 65001 } else { 65000 },
                four_octet: true,
                local: Some("10.0.0.1".parse().unwrap()),
                tx: cap.clone(),
            },
            cap,
        )
    }

    fn addr(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn part(reach: &[RtMembership], withdrawn: &[RtMembership]) -> RtcPart {
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 9)),
        );
        a.local_pref = Some(100);
        RtcPart {
            reach: reach.to_vec(),
            withdrawn: withdrawn.to_vec(),
            attrs: (!reach.is_empty()).then_some(a),
        }
    }

    #[test]
    fn interest_follows_the_memberships_and_the_default_covers_everything() {
        let m1 = RtMembership::new(65001, rt(1).0);
        let m2 = RtMembership::new(65002, rt(1).0);
        let i = RtInterest::of([&m1, &m2]).unwrap();
        assert_eq!(i.len(), 1, "the origin AS plays no part in the interest");
        assert!(i.wants(&[rt(1)]));
        assert!(!i.wants(&[rt(2)]));
        assert!(i.wants(&[rt(2), rt(1)]));
        assert!(RtInterest::of([&m1, &RtMembership::DEFAULT]).is_none());
        let origin_only = RtMembership {
            len: 32,
            origin_as: 65001,
            target: [0; 8],
        };
        assert!(RtInterest::of([&origin_only]).is_none());
        let none = RtInterest::of([]).unwrap();
        assert!(none.is_empty() && !none.wants(&[rt(1)]));
        // A route origin (SoO) with the same value is not a route target.
        let soo = ExtCommunity::as2(TargetKind::RouteOrigin, 100, 1);
        assert!(!i.wants(&[soo]));
        // Whole targets and prefixes together: 100:1 whole, anything of AS 100 by prefix
        // (type, sub-type and the 2-octet AS: 32 bits of the target).
        let prefix = RtMembership {
            len: 32 + 32,
            origin_as: 65001,
            target: rt(0).0,
        };
        let many: Vec<RtMembership> = (1..=1000)
            .map(|n| RtMembership::new(65001, ExtCommunity::as2(TargetKind::RouteTarget, 200, n).0))
            .chain([prefix])
            .collect();
        let i = RtInterest::of(&many).unwrap();
        assert_eq!(i.len(), 1001);
        assert!(i.wants(&[ExtCommunity::as2(TargetKind::RouteTarget, 200, 500)]));
        assert!(!i.wants(&[ExtCommunity::as2(TargetKind::RouteTarget, 200, 1001)]));
        assert!(i.wants(&[rt(77)]));
    }

    #[test]
    fn a_pe_advertises_its_import_targets_then_end_of_rib_and_the_changes() {
        let mut r = Rtc::new(true);
        r.set_local([rt(1), rt(2)], BTreeSet::new(), &LOCAL);
        let (s, cap) = session(1, Role::NonClient, 2);
        r.peer_up(addr(2), s, &LOCAL);
        let (ann, wd, eor, attrs) = take(&cap);
        assert_eq!(
            ann,
            vec![
                RtMembership::new(65000, rt(1).0),
                RtMembership::new(65000, rt(2).0)
            ]
        );
        assert!(wd.is_empty() && eor);
        assert_eq!(attrs.unwrap().local_pref, Some(100));
        // An import target removed, another added.
        r.set_local([rt(2), rt(3)], BTreeSet::new(), &LOCAL);
        let (ann, wd, eor, _) = take(&cap);
        assert_eq!(ann, vec![RtMembership::new(65000, rt(3).0)]);
        assert_eq!(wd, vec![RtMembership::new(65000, rt(1).0)]);
        assert!(!eor);
        // The default membership to a peer configured for it.
        r.set_local([rt(2), rt(3)], [addr(2)].into(), &LOCAL);
        let (ann, _, _, _) = take(&cap);
        assert_eq!(ann, vec![RtMembership::DEFAULT]);
    }

    #[test]
    fn a_reflector_keeps_each_clients_interest_and_reflects_memberships() {
        let mut r = Rtc::new(true);
        let (a, ca) = session(1, Role::Client, 2);
        let (b, cb) = session(2, Role::Client, 3);
        let (n, cn) = session(3, Role::NonClient, 4);
        r.peer_up(addr(2), a, &LOCAL);
        r.peer_up(addr(3), b, &LOCAL);
        r.peer_up(addr(4), n, &LOCAL);
        for c in [&ca, &cb, &cn] {
            let (ann, _, eor, _) = take(c);
            assert!(ann.is_empty() && eor);
        }
        assert_eq!(r.interest(addr(2)), RtInterest::of([]));
        for a in [2, 3, 4] {
            assert!(!r.apply(addr(a), None, false, true, &LOCAL));
        }
        let m = RtMembership::new(65000, rt(1).0);
        assert!(r.apply(addr(2), Some(&part(&[m], &[])), false, false, &LOCAL));
        assert!(r.interest(addr(2)).unwrap().wants(&[rt(1)]));
        assert!(!r.interest(addr(3)).unwrap().wants(&[rt(1)]));
        // Reflected to the other client and the non-client, with the reflection attributes,
        // not back to its source.
        let (ann, _, _, _) = take(&ca);
        assert!(ann.is_empty());
        for c in [&cb, &cn] {
            let (ann, _, _, attrs) = take(c);
            assert_eq!(ann, vec![m]);
            let attrs = attrs.unwrap();
            assert_eq!(attrs.originator_id, Some(Ipv4Addr::new(10, 0, 0, 2)));
            assert_eq!(attrs.cluster_list, vec![LOCAL.cluster_id]);
        }
        // From the non-client: to clients only.
        let m2 = RtMembership::new(65000, rt(2).0);
        r.apply(addr(4), Some(&part(&[m2], &[])), false, false, &LOCAL);
        assert_eq!(take(&ca).0, vec![m2]);
        assert_eq!(take(&cb).0, vec![m2]);
        assert!(take(&cn).0.is_empty());
        // Withdrawn: withdrawn where it was reflected, the interest follows.
        assert!(r.apply(addr(2), Some(&part(&[], &[m])), false, false, &LOCAL));
        assert!(!r.interest(addr(2)).unwrap().wants(&[rt(1)]));
        assert_eq!(take(&cb).1, vec![m]);
        // The default from a client: everything is wanted.
        r.apply(
            addr(3),
            Some(&part(&[RtMembership::DEFAULT], &[])),
            false,
            true,
            &LOCAL,
        );
        assert_eq!(r.interest(addr(3)), None);
        // A peer going down takes its reflected memberships with it.
        assert!(r.peer_down(addr(4), &LOCAL));
        assert_eq!(take(&ca).1, vec![m2]);
        // RFC 7606 disable withdraws everything of the peer.
        assert!(r.apply(addr(3), None, true, false, &LOCAL));
        assert_eq!(r.interest(addr(3)), RtInterest::of([]));
    }

    #[test]
    fn no_vpn_route_before_end_of_rib_or_the_end_of_the_wait() {
        let mut r = Rtc::new(true);
        let (a, _ca) = session(1, Role::Client, 2);
        let (b, _cb) = session(2, Role::Client, 3);
        r.peer_up(addr(2), a, &LOCAL);
        r.peer_up(addr(3), b, &LOCAL);
        let m = RtMembership::new(65000, rt(1).0);
        // Memberships before End-of-RIB are kept (and reflected) but send nothing yet.
        assert!(!r.apply(addr(2), Some(&part(&[m], &[])), false, false, &LOCAL));
        assert_eq!(r.interest(addr(2)), RtInterest::of([]));
        assert_eq!(r.received(addr(2)), vec![m]);
        assert_eq!(r.sent(addr(3)), vec![m]);
        // End-of-RIB: the membership applies.
        assert!(r.apply(addr(2), None, false, true, &LOCAL));
        assert!(r.interest(addr(2)).unwrap().wants(&[rt(1)]));
        // A peer that never says End-of-RIB: the wait ends on the daemon's timer.
        r.apply(
            addr(3),
            Some(&part(&[RtMembership::DEFAULT], &[])),
            false,
            false,
            &LOCAL,
        );
        assert_eq!(r.interest(addr(3)), RtInterest::of([]));
        assert!(r.wait_over(addr(3)));
        assert_eq!(r.interest(addr(3)), None);
        assert!(!r.wait_over(addr(3)));
        // End-of-RIB with no membership: still nothing wanted, no change.
        let (c, _cc) = session(3, Role::Client, 4);
        r.peer_up(addr(4), c, &LOCAL);
        assert!(!r.apply(addr(4), None, false, true, &LOCAL));
        assert_eq!(r.interest(addr(4)), RtInterest::of([]));
    }

    #[test]
    fn looped_memberships_are_not_taken_and_only_the_speaker_sends() {
        let mut r = Rtc::new(true);
        let (a, _ca) = session(1, Role::Client, 2);
        r.peer_up(addr(2), a, &LOCAL);
        let m = RtMembership::new(65000, rt(1).0);
        let mut p = part(&[m], &[]);
        if let Some(a) = p.attrs.as_mut() {
            a.cluster_list = vec![LOCAL.cluster_id];
        }
        assert!(!r.apply(addr(2), Some(&p), false, false, &LOCAL));
        assert!(r.received(addr(2)).is_empty());
        let mut quiet = Rtc::new(false);
        let (a, ca) = session(1, Role::Client, 2);
        quiet.set_local([rt(1)], BTreeSet::new(), &LOCAL);
        quiet.peer_up(addr(2), a, &LOCAL);
        assert!(ca.0.lock().unwrap().is_empty());
        assert!(quiet.apply(addr(2), Some(&part(&[m], &[])), false, true, &LOCAL));
        assert!(quiet.interest(addr(2)).unwrap().wants(&[rt(1)]));
    }

    #[test]
    fn a_refresh_sends_everything_again_then_eorr_and_a_role_change_reflects_anew() {
        let mut r = Rtc::new(true);
        r.set_local([rt(1)], BTreeSet::new(), &LOCAL);
        let (a, ca) = session(1, Role::NonClient, 2);
        let (b, cb) = session(2, Role::NonClient, 3);
        r.peer_up(addr(2), a, &LOCAL);
        r.peer_up(addr(3), b, &LOCAL);
        take(&ca);
        take(&cb);
        r.refresh(addr(2), true, &LOCAL);
        let sent: Vec<Bytes> = ca.0.lock().unwrap().clone();
        let (ann, _, _, _) = take(&ca);
        assert_eq!(ann, vec![RtMembership::new(65000, rt(1).0)]);
        // The last message is the EoRR (ROUTE-REFRESH, subtype 2, AFI 1, SAFI 132).
        let last = sent.last().unwrap();
        assert_eq!(last[18], 5);
        assert_eq!(&last[19..23], &[0, 1, 2, 132]);
        // Between non-clients nothing is reflected; once B is a client, A's membership is.
        let m = RtMembership::new(65000, rt(7).0);
        r.apply(addr(2), Some(&part(&[m], &[])), false, false, &LOCAL);
        assert!(take(&cb).0.is_empty());
        r.set_role(addr(3), Role::Client, &LOCAL);
        assert_eq!(take(&cb).0, vec![m]);
    }

    #[test]
    fn external_peers_get_the_local_as_prepended_and_no_reflection_attributes() {
        let mut r = Rtc::new(true);
        let (c, _cc) = session(1, Role::Client, 2);
        let (e, ce) = session(2, Role::Ebgp, 3);
        r.peer_up(addr(2), c, &LOCAL);
        r.peer_up(addr(3), e, &LOCAL);
        take(&ce);
        r.apply(addr(2), None, false, true, &LOCAL);
        let m = RtMembership::new(65000, rt(1).0);
        r.apply(addr(2), Some(&part(&[m], &[])), false, false, &LOCAL);
        let (ann, _, _, attrs) = take(&ce);
        assert_eq!(ann, vec![m]);
        let attrs = attrs.unwrap();
        assert_eq!(attrs.as_path.asns().collect::<Vec<_>>(), vec![65000]);
        assert_eq!(attrs.originator_id, None);
        assert!(attrs.cluster_list.is_empty());
    }
}
