//! Differential test of tern-wire against netgauze-bgp-pkt 0.13.0 (the "codec oracle" of
//! shared/CRATES.md).
//!
//! Direction 1, netgauze → tern: random netgauze messages (OPEN, UPDATE, NOTIFICATION,
//! KEEPALIVE, ROUTE-REFRESH) are encoded by netgauze; only those that netgauze decodes back to
//! the same value are kept. tern then frames and decodes the same bytes (UPDATEs with a `Ctx`
//! matching netgauze's parsing context: 4- or 2-octet AS, ADD-PATH per family) and must
//! (a) accept them with no problem other than the known divergences below, (b) agree on the
//! essentials (message type; OPEN version, AS, hold time, identifier, capability codes, families,
//! 4-octet AS, ADD-PATH; UPDATE withdrawn and announced routes per family with path id, RD and
//! labels, next hop, ORIGIN, AS_PATH, MED, LOCAL_PREF, COMMUNITIES, LARGE_COMMUNITY,
//! EXTENDED_COMMUNITIES count), and (c) re-encode what it decoded to the same bytes.
//!
//! Direction 2, tern → netgauze: tern's `UpdateBuilder` packs IPv4 unicast, labeled unicast,
//! VPNv4 and VPNv6 (`::ffff:a.b.c.d` 24-octet next hop) reach and withdraw messages, End-of-RIB
//! markers, and OPENs with Multiprotocol, 4-octet AS, ADD-PATH, Route Refresh, Graceful Restart
//! and Extended Message; netgauze decodes each and must agree on the same essentials.
//!
//! Generation: netgauze's `arbitrary` impls (feature `fuzz`) are not reachable from here:
//! netgauze does not re-export the `arbitrary` crate, and tern-wire does not depend on it, so
//! `Unstructured` cannot be named. Messages are therefore built directly as netgauze values by a
//! fixed-seed xorshift generator, including forms netgauze cannot round-trip (host bits in
//! prefixes, path ids that do not match the session, next-hop shapes it rewrites), which the
//! self-round-trip filter then drops, as it would drop arbitrary's output.
//!
//! Divergences seen (each is allowed only where the netgauze value shows its cause):
//!
//! - 48-octet VPNv6 next hop (RD + global + RD + link-local, RFC 4659 §3.2.1.2): netgauze
//!   rejects it ("invalid labeled next hop length"); tern decodes it. Direction 2 builds one and
//!   expects netgauze's refusal.
//! - Dropped link-local: netgauze's `LabeledIpv6NextHop` writer leaves out `next_hop_local`, so a
//!   VPN next hop with a link-local does not round-trip in netgauze (filtered).
//! - Non-zero RD in a VPN next hop: tern accepts it and does not keep it (RFC 4364 §4.3.2 says
//!   zero), so tern re-encodes zeros; the re-encode is compared with netgauze's encoding of the
//!   same message with a zero next-hop RD.
//! - RFC 7606 outcomes: netgauze accepts and tern flags (i) a repeated attribute (discarded, or
//!   session reset for MP_REACH/MP_UNREACH, §3 g), (ii) a missing ORIGIN/AS_PATH (or NEXT_HOP
//!   with IPv4 NLRI) while routes are announced (treat-as-withdraw, §3 d), (iii) an
//!   unrecognised attribute without the Optional bit (RFC 4271 §6.3: session reset). Where tern
//!   drops an attribute the byte-identical re-encode is not expected. (A zero-length AS_PATH
//!   segment, malformed for tern by RFC 7606 §7.2, is refused by netgauze too: it never reaches
//!   tern.)
//! - netgauze-side limits (filtered, not tern bugs): its labeled-unicast NLRI writer never writes
//!   the ADD-PATH path id, so labeled unicast with ADD-PATH does not round-trip; it refuses
//!   IPv4/IPv6 unicast prefixes inside multicast/broadcast ranges (`Ipv4Unicast::from_net`), so
//!   direction 2 draws prefixes it accepts; it reads exactly one label unless Multiple Labels
//!   is in its context (tern walks a stack to the bottom-of-stack bit), so a session either has
//!   it (stacks of 1-3 labels) or not (one label, 0x800000 withdrawals); its OPEN writer has no RFC 9072 extended parameters length, so long OPENs do not
//!   round-trip; its Multiple Labels capability writer gets the message length wrong; it keeps
//!   only the R and N bits of Graceful Restart flags; it refuses a multicast or broadcast BGP
//!   identifier; for a labeled or VPN NLRI length field of 249..=255 bits it reads 255 octets;
//!   its MP_UNREACH_NLRI parser never treats 0x800000 as the withdraw label (harmless only while
//!   it reads a single label); with several 4-octet AS capabilities it takes the last (tern the
//!   first), so that value is compared only when there is one; it also takes an empty
//!   MP_UNREACH_NLRI among other attributes for an End-of-RIB (RFC 4724 §2: "only").

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netgauze_bgp_pkt::BgpMessage;
use netgauze_bgp_pkt::capabilities::{
    AddPathAddressFamily, AddPathCapability, BgpCapability, BgpRoleCapability,
    ExtendedNextHopEncoding, ExtendedNextHopEncodingCapability, FourOctetAsCapability,
    FqdnCapability, GracefulRestartAddressFamily, GracefulRestartCapability,
    MultiProtocolExtensionsCapability, MultipleLabel, UnrecognizedCapability,
};
use netgauze_bgp_pkt::community::{
    Community, ExtendedCommunity, LargeCommunity, TransitiveTwoOctetExtendedCommunity,
    UnknownExtendedCommunity,
};
use netgauze_bgp_pkt::iana::{BgpRoleValue, RouteRefreshSubcode};
use netgauze_bgp_pkt::nlri::{
    Ipv4MplsVpnUnicastAddress, Ipv4NlriMplsLabelsAddress, Ipv4Unicast, Ipv4UnicastAddress,
    Ipv6MplsVpnUnicastAddress, Ipv6NlriMplsLabelsAddress, Ipv6Unicast, Ipv6UnicastAddress,
    LabeledIpv4NextHop, LabeledIpv6NextHop, LabeledNextHop, MplsLabel, RouteDistinguisher as NgRd,
};
use netgauze_bgp_pkt::notification::{BgpNotificationMessage, CeaseError};
use netgauze_bgp_pkt::open::{BgpOpenMessage, BgpOpenMessageParameter};
use netgauze_bgp_pkt::path_attribute::{
    Aggregator, Aigp, As2Aggregator, As2PathSegment, As4Aggregator, As4Path, As4PathSegment,
    AsPath as NgAsPath, AsPathSegmentType, AtomicAggregate, ClusterId, ClusterList as NgCluster,
    Communities as NgCommunities, ExtendedCommunities, LargeCommunities as NgLarge,
    LocalPreference, MpReach as NgMpReach, MpUnreach as NgMpUnreach, MultiExitDiscriminator,
    NextHop as NgNextHop, OnlyToCustomer, Origin as NgOrigin, Originator, PathAttribute as NgAttr,
    PathAttributeValue as V, UnknownAttribute,
};
use netgauze_bgp_pkt::route_refresh::BgpRouteRefreshMessage;
use netgauze_bgp_pkt::update::BgpUpdateMessage;
use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
use netgauze_iana::address_family::{AddressFamily, AddressType, SubsequentAddressFamily};
use netgauze_parse_utils::WritablePdu;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;

use tern_types::{
    Afi, Family, IpNet, Ipv4Net, Ipv6Net, Label, LabelStack, RouteDistinguisher, Safi,
};
use tern_wire::attr::{
    AsPath, Communities, ExtCommunities, LargeCommunities, Origin, SegmentType, type_code,
};
use tern_wire::capability::{AddPathMode, ExtNextHop, GrFamily};
use tern_wire::message::{MAX_EXTENDED_LEN, msg_type};
use tern_wire::notification::update_sub;
use tern_wire::open::OptParam;
use tern_wire::{
    Action, AddPathSet, AttrValue, Capability, Ctx, Message, NextHop, Nlri, Open, ParsedUpdate,
    PathAttribute, Update, UpdateBuilder, frame,
};

// ---------------------------------------------------------------------------------------------
// Deterministic randomness.

/// xorshift64* with a fixed seed: the test is the same on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn u8(&mut self) -> u8 {
        self.next() as u8
    }
    fn u16(&mut self) -> u16 {
        self.next() as u16
    }
    fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }
    fn ipv4(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.u32())
    }
    fn ipv6(&mut self) -> Ipv6Addr {
        Ipv6Addr::from((u128::from(self.next()) << 64) | u128::from(self.next()))
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Common, codec-independent views of the essentials.

/// One route as both codecs should see it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    afi: u16,
    safi: u8,
    path_id: Option<u32>,
    rd: Option<[u8; 8]>,
    labels: Vec<[u8; 3]>,
    prefix: IpNet,
}

/// A next hop as both codecs should see it (VPN next-hop RDs left out).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Nh {
    V4(Ipv4Addr),
    V6(Ipv6Addr, Option<Ipv6Addr>),
}

fn ip_nh(ip: IpAddr, local: Option<Ipv6Addr>) -> Nh {
    match ip {
        IpAddr::V4(a) => Nh::V4(a),
        IpAddr::V6(a) => Nh::V6(a, local),
    }
}

fn tern_nh(nh: &NextHop) -> Option<Nh> {
    match nh {
        NextHop::Ipv4(a) => Some(Nh::V4(*a)),
        NextHop::Ipv6 { global, link_local } => Some(Nh::V6(*global, *link_local)),
        NextHop::Other(_) => None,
    }
}

fn tern_route(f: Family, n: &Nlri) -> Route {
    Route {
        afi: f.afi.0,
        safi: f.safi.0,
        path_id: n.path_id,
        rd: n.rd.map(|r| r.0),
        labels: n.labels.entries().to_vec(),
        prefix: n.prefix,
    }
}

fn rd_bytes(rd: NgRd) -> [u8; 8] {
    u64::from(rd).to_be_bytes()
}

fn labels_of(l: &[MplsLabel]) -> Vec<[u8; 3]> {
    l.iter().map(|x| *x.value()).collect()
}

fn fam(t: AddressType) -> (u16, u8) {
    (
        u16::from(t.address_family()),
        u8::from(t.subsequent_address_family()),
    )
}

fn v4_route(f: (u16, u8), a: &Ipv4UnicastAddress) -> Route {
    Route {
        afi: f.0,
        safi: f.1,
        path_id: a.path_id(),
        rd: None,
        labels: vec![],
        prefix: IpNet::V4(a.network().address()),
    }
}

fn v6_route(f: (u16, u8), a: &Ipv6UnicastAddress) -> Route {
    Route {
        afi: f.0,
        safi: f.1,
        path_id: a.path_id(),
        rd: None,
        labels: vec![],
        prefix: IpNet::V6(a.network().address()),
    }
}

fn lu4_route(f: (u16, u8), a: &Ipv4NlriMplsLabelsAddress) -> Route {
    Route {
        afi: f.0,
        safi: f.1,
        path_id: a.path_id(),
        rd: None,
        labels: labels_of(a.labels()),
        prefix: IpNet::V4(a.prefix()),
    }
}

fn lu6_route(f: (u16, u8), a: &Ipv6NlriMplsLabelsAddress) -> Route {
    Route {
        afi: f.0,
        safi: f.1,
        path_id: a.path_id(),
        rd: None,
        labels: labels_of(a.labels()),
        prefix: IpNet::V6(a.prefix()),
    }
}

fn vpn4_route(f: (u16, u8), a: &Ipv4MplsVpnUnicastAddress) -> Route {
    Route {
        afi: f.0,
        safi: f.1,
        path_id: a.path_id(),
        rd: Some(rd_bytes(a.rd())),
        labels: labels_of(a.label_stack()),
        prefix: IpNet::V4(a.network().address()),
    }
}

fn vpn6_route(f: (u16, u8), a: &Ipv6MplsVpnUnicastAddress) -> Route {
    Route {
        afi: f.0,
        safi: f.1,
        path_id: a.path_id(),
        rd: Some(rd_bytes(a.rd())),
        labels: labels_of(a.label_stack()),
        prefix: IpNet::V6(a.network().address()),
    }
}

/// The routes and next hop of netgauze's MP_REACH_NLRI, for the families tern decodes.
fn ng_reach(m: &NgMpReach) -> Option<(Nh, Vec<Route>)> {
    let f = m.address_type().ok().map(fam)?;
    Some(match m {
        NgMpReach::Ipv4Unicast {
            next_hop,
            next_hop_local,
            nlri,
        } => (
            ip_nh(*next_hop, *next_hop_local),
            nlri.iter().map(|a| v4_route(f, a)).collect(),
        ),
        NgMpReach::Ipv4NlriMplsLabels {
            next_hop,
            next_hop_local,
            nlri,
        } => (
            ip_nh(*next_hop, *next_hop_local),
            nlri.iter().map(|a| lu4_route(f, a)).collect(),
        ),
        NgMpReach::Ipv4MplsVpnUnicast { next_hop, nlri } => (
            labeled_nh(next_hop),
            nlri.iter().map(|a| vpn4_route(f, a)).collect(),
        ),
        NgMpReach::Ipv6Unicast {
            next_hop_global,
            next_hop_local,
            nlri,
        } => (
            Nh::V6(*next_hop_global, *next_hop_local),
            nlri.iter().map(|a| v6_route(f, a)).collect(),
        ),
        NgMpReach::Ipv6NlriMplsLabels {
            next_hop,
            next_hop_local,
            nlri,
        } => (
            ip_nh(*next_hop, *next_hop_local),
            nlri.iter().map(|a| lu6_route(f, a)).collect(),
        ),
        NgMpReach::Ipv6MplsVpnUnicast { next_hop, nlri } => (
            labeled_nh(next_hop),
            nlri.iter().map(|a| vpn6_route(f, a)).collect(),
        ),
        _ => return None,
    })
}

fn labeled_nh(nh: &LabeledNextHop) -> Nh {
    match nh {
        LabeledNextHop::Ipv4(n) => Nh::V4(n.next_hop()),
        LabeledNextHop::Ipv6(n) => Nh::V6(n.next_hop(), n.next_hop_local()),
    }
}

/// The withdrawn routes of netgauze's MP_UNREACH_NLRI, for the families tern decodes.
fn ng_unreach(m: &NgMpUnreach) -> Option<Vec<Route>> {
    let f = m.address_type().ok().map(fam)?;
    Some(match m {
        NgMpUnreach::Ipv4Unicast { nlri } => nlri.iter().map(|a| v4_route(f, a)).collect(),
        NgMpUnreach::Ipv4NlriMplsLabels { nlri } => nlri.iter().map(|a| lu4_route(f, a)).collect(),
        NgMpUnreach::Ipv4MplsVpnUnicast { nlri } => nlri.iter().map(|a| vpn4_route(f, a)).collect(),
        NgMpUnreach::Ipv6Unicast { nlri } => nlri.iter().map(|a| v6_route(f, a)).collect(),
        NgMpUnreach::Ipv6NlriMplsLabels { nlri } => nlri.iter().map(|a| lu6_route(f, a)).collect(),
        NgMpUnreach::Ipv6MplsVpnUnicast { nlri } => nlri.iter().map(|a| vpn6_route(f, a)).collect(),
        _ => return None,
    })
}

/// The essentials of an UPDATE, from either codec.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct Essentials {
    withdrawn: Vec<Route>,
    announced: Vec<Route>,
    /// (AFI, SAFI) of MP_REACH_NLRI / MP_UNREACH_NLRI when present.
    mp_reach_family: Option<(u16, u8)>,
    mp_unreach_family: Option<(u16, u8)>,
    next_hop: Option<Ipv4Addr>,
    mp_next_hop: Option<Nh>,
    origin: Option<u8>,
    /// (segment type, ASNs) per segment.
    as_path: Option<Vec<(u8, Vec<u32>)>>,
    med: Option<u32>,
    local_pref: Option<u32>,
    communities: Option<Vec<u32>>,
    large: Option<Vec<(u32, u32, u32)>>,
    ext_count: Option<usize>,
}

fn ng_essentials(u: &BgpUpdateMessage) -> Essentials {
    let v4 = fam(AddressType::Ipv4Unicast);
    let mut e = Essentials {
        withdrawn: u
            .withdraw_routes()
            .iter()
            .map(|a| v4_route(v4, a))
            .collect(),
        announced: u.nlri().iter().map(|a| v4_route(v4, a)).collect(),
        ..Essentials::default()
    };
    // As tern: the first attribute of each type counts.
    let mut seen = Vec::new();
    for a in u.path_attributes() {
        let code = attr_code(a);
        if seen.contains(&code) {
            continue;
        }
        seen.push(code);
        match a.value() {
            V::Origin(o) => e.origin = Some(u8::from(*o)),
            V::AsPath(p) => {
                e.as_path = Some(match p {
                    NgAsPath::As2PathSegments(s) => s
                        .iter()
                        .map(|s| {
                            (
                                u8::from(s.segment_type()),
                                s.as_numbers().iter().map(|x| u32::from(*x)).collect(),
                            )
                        })
                        .collect(),
                    NgAsPath::As4PathSegments(s) => s
                        .iter()
                        .map(|s| (u8::from(s.segment_type()), s.as_numbers().to_vec()))
                        .collect(),
                })
            }
            V::NextHop(n) => e.next_hop = Some(n.next_hop()),
            V::MultiExitDiscriminator(m) => e.med = Some(m.metric()),
            V::LocalPreference(l) => e.local_pref = Some(l.metric()),
            V::Communities(c) => {
                e.communities = Some(c.communities().iter().map(|c| c.value()).collect())
            }
            V::LargeCommunities(c) => {
                e.large = Some(
                    c.communities()
                        .iter()
                        .map(|c| (c.global_admin(), c.local_data1(), c.local_data2()))
                        .collect(),
                )
            }
            V::ExtendedCommunities(c) => e.ext_count = Some(c.communities().len()),
            V::MpReach(m) => {
                e.mp_reach_family = Some((u16::from(m.afi()), u8::from(m.safi())));
                if let Some((nh, routes)) = ng_reach(m) {
                    e.mp_next_hop = Some(nh);
                    e.announced.extend(routes);
                }
            }
            V::MpUnreach(m) => {
                e.mp_unreach_family = Some((u16::from(m.afi()), u8::from(m.safi())));
                if let Some(routes) = ng_unreach(m) {
                    e.withdrawn.extend(routes);
                }
            }
            _ => {}
        }
    }
    e
}

fn seg_code(k: SegmentType) -> u8 {
    match k {
        SegmentType::Set => 1,
        SegmentType::Sequence => 2,
        SegmentType::ConfedSequence => 3,
        SegmentType::ConfedSet => 4,
    }
}

fn tern_essentials(p: &ParsedUpdate<'_>) -> Essentials {
    Essentials {
        withdrawn: p
            .withdrawn_routes()
            .map(|(f, n)| tern_route(f, &n))
            .collect(),
        announced: p.announced().map(|(f, n)| tern_route(f, &n)).collect(),
        mp_reach_family: p.mp_reach().map(|m| (m.family.afi.0, m.family.safi.0)),
        mp_unreach_family: p.mp_unreach().map(|m| (m.family.afi.0, m.family.safi.0)),
        next_hop: p.next_hop(),
        mp_next_hop: p.mp_reach().and_then(|m| tern_nh(&m.next_hop)),
        origin: p.origin().map(Origin::to_u8),
        as_path: p.as_path().map(|a| {
            a.segments()
                .map(|s| (seg_code(s.kind), s.asns().collect()))
                .collect()
        }),
        med: p.med(),
        local_pref: p.local_pref(),
        communities: p.communities().map(|c| c.iter().collect()),
        large: p.large_communities().map(|c| c.iter().collect()),
        ext_count: p.ext_communities().map(|c| c.len()),
    }
}

/// The type code netgauze writes for an attribute.
fn attr_code(a: &NgAttr) -> u8 {
    match a.path_attribute_type() {
        Ok(t) => t.into(),
        Err(c) => c,
    }
}

// ---------------------------------------------------------------------------------------------
// netgauze message generation (direction 1).

/// Families tern decodes, and a couple it does not.
const NG_FAMILIES: [AddressType; 8] = [
    AddressType::Ipv4Unicast,
    AddressType::Ipv4NlriMplsLabels,
    AddressType::Ipv4MplsLabeledVpn,
    AddressType::Ipv6Unicast,
    AddressType::Ipv6NlriMplsLabels,
    AddressType::Ipv6MplsLabeledVpn,
    AddressType::Ipv4Multicast,
    AddressType::Ipv6Multicast,
];

/// The session both codecs decode with.
#[derive(Clone, Debug)]
struct Session {
    asn4: bool,
    add_path: Vec<AddressType>,
    /// Multiple Labels in netgauze's context: label stacks are walked to the bottom-of-stack
    /// bit, as tern does. netgauze then misreads the 0x800000 withdraw marker in
    /// MP_UNREACH_NLRI (its MP_UNREACH parser never passes `is_unreach`), so such sessions
    /// carry no marker; without it netgauze reads exactly one label.
    multi_labels: bool,
}

impl Session {
    fn random(r: &mut Rng) -> Self {
        Session {
            asn4: r.pct(85),
            add_path: NG_FAMILIES.iter().copied().filter(|_| r.pct(25)).collect(),
            multi_labels: r.pct(30),
        }
    }
    fn has_add_path(&self, t: AddressType) -> bool {
        self.add_path.contains(&t)
    }
    fn netgauze(&self) -> BgpParsingContext {
        let add_path: HashMap<AddressType, bool> =
            self.add_path.iter().map(|t| (*t, true)).collect();
        let labels: HashMap<AddressType, u8> = if self.multi_labels {
            NG_FAMILIES.iter().map(|t| (*t, u8::MAX)).collect()
        } else {
            HashMap::new()
        };
        BgpParsingContext::new(self.asn4, labels, add_path, true, true, true, true)
    }
    fn tern(&self) -> Ctx {
        let mut set = AddPathSet::EMPTY;
        for t in &self.add_path {
            let (afi, safi) = fam(*t);
            set.insert(Family::new(Afi(afi), Safi(safi)));
        }
        Ctx {
            four_octet_as: self.asn4,
            add_path: set,
            ebgp: false,
            extended_message: true,
        }
    }
}

fn path_id(r: &mut Rng, s: &Session, t: AddressType) -> Option<u32> {
    // Mostly as negotiated; sometimes not (netgauze cannot round-trip those).
    let want = s.has_add_path(t) != r.pct(3);
    want.then(|| {
        if r.pct(30) {
            r.below(4) as u32
        } else {
            r.u32()
        }
    })
}

fn v4net(r: &mut Rng) -> Ipv4Net {
    let len = if r.pct(70) {
        r.range(8, 32) as u8
    } else {
        r.range(0, 32) as u8
    };
    let net = Ipv4Net::new(r.ipv4(), len).unwrap();
    // Host bits do not survive netgauze's writer.
    if r.pct(95) { net.trunc() } else { net }
}

fn v6net(r: &mut Rng) -> Ipv6Net {
    let len = if r.pct(70) {
        r.range(16, 128) as u8
    } else {
        r.range(0, 128) as u8
    };
    let net = Ipv6Net::new(r.ipv6(), len).unwrap();
    if r.pct(95) { net.trunc() } else { net }
}

/// An IPv4 prefix netgauze accepts as unicast.
fn ng_v4(r: &mut Rng) -> Ipv4Unicast {
    loop {
        if let Ok(u) = Ipv4Unicast::from_net(v4net(r)) {
            return u;
        }
    }
}

fn ng_v6(r: &mut Rng) -> Ipv6Unicast {
    loop {
        if let Ok(u) = Ipv6Unicast::from_net(v6net(r)) {
            return u;
        }
    }
}

fn label_entry(r: &mut Rng, bottom: bool) -> [u8; 3] {
    let v = ((r.u32() & 0xf_ffff) << 4) | (u32::from(r.u8() & 7) << 1) | u32::from(bottom);
    let b = v.to_be_bytes();
    [b[1], b[2], b[3]]
}

fn label_stack(r: &mut Rng, s: &Session, withdraw: bool) -> Vec<MplsLabel> {
    if withdraw && !s.multi_labels && r.pct(60) {
        return vec![MplsLabel::new([0x80, 0, 0])];
    }
    let n = if !s.multi_labels || r.pct(60) {
        1
    } else {
        r.range(2, 3) as usize
    };
    (0..n)
        .map(|i| MplsLabel::new(label_entry(r, i + 1 == n)))
        .collect()
}

fn ng_rd(r: &mut Rng) -> NgRd {
    match r.below(10) {
        0..=4 => NgRd::As2Administrator {
            asn2: r.u16(),
            number: r.u32(),
        },
        5..=7 => NgRd::Ipv4Administrator {
            ip: r.ipv4(),
            number: r.u16(),
        },
        8 => NgRd::As4Administrator {
            asn4: r.u32(),
            number: r.u16(),
        },
        _ => NgRd::LeafAdRoutes,
    }
}

fn v4_addrs(r: &mut Rng, s: &Session, n: usize) -> Vec<Ipv4UnicastAddress> {
    (0..n)
        .map(|_| Ipv4UnicastAddress::new(path_id(r, s, AddressType::Ipv4Unicast), ng_v4(r)))
        .collect()
}

fn ng_nlri_count(r: &mut Rng) -> usize {
    if r.pct(15) { 0 } else { r.range(1, 5) as usize }
}

fn ng_ip_nh(r: &mut Rng, v4_first: bool) -> (IpAddr, Option<Ipv6Addr>) {
    let v4 = if v4_first { r.pct(75) } else { r.pct(15) };
    if v4 {
        // An IPv4 next hop with a link-local does not round-trip in netgauze.
        (IpAddr::V4(r.ipv4()), r.pct(3).then(|| r.ipv6()))
    } else {
        (IpAddr::V6(r.ipv6()), r.pct(30).then(|| r.ipv6()))
    }
}

fn ng_labeled_nh(r: &mut Rng, v6_first: bool) -> LabeledNextHop {
    let zero = NgRd::As2Administrator { asn2: 0, number: 0 };
    let rd = if r.pct(85) { zero } else { ng_rd(r) };
    let v6 = if v6_first { r.pct(75) } else { r.pct(20) };
    if v6 {
        let global = if r.pct(50) {
            r.ipv4().to_ipv6_mapped()
        } else {
            r.ipv6()
        };
        // A link-local is dropped by netgauze's writer: filtered by the round trip.
        LabeledNextHop::Ipv6(LabeledIpv6NextHop::new(
            rd,
            global,
            r.pct(5).then(|| r.ipv6()),
        ))
    } else {
        LabeledNextHop::Ipv4(LabeledIpv4NextHop::new(rd, r.ipv4()))
    }
}

fn ng_mp_reach(r: &mut Rng, s: &Session) -> NgMpReach {
    let t = r.pick(&NG_FAMILIES);
    let n = ng_nlri_count(r);
    match t {
        AddressType::Ipv4Unicast => {
            let (next_hop, next_hop_local) = ng_ip_nh(r, true);
            NgMpReach::Ipv4Unicast {
                next_hop,
                next_hop_local,
                nlri: v4_addrs(r, s, n).into(),
            }
        }
        AddressType::Ipv4NlriMplsLabels => {
            let (next_hop, next_hop_local) = ng_ip_nh(r, true);
            let nlri: Vec<_> = (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, false);
                    Ipv4NlriMplsLabelsAddress::from(path_id(r, s, t), labels, v4net(r)).unwrap()
                })
                .collect();
            NgMpReach::Ipv4NlriMplsLabels {
                next_hop,
                next_hop_local,
                nlri: nlri.into(),
            }
        }
        AddressType::Ipv4MplsLabeledVpn => {
            let next_hop = ng_labeled_nh(r, false);
            let nlri: Vec<_> = (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, false);
                    Ipv4MplsVpnUnicastAddress::new(path_id(r, s, t), ng_rd(r), labels, ng_v4(r))
                })
                .collect();
            NgMpReach::Ipv4MplsVpnUnicast {
                next_hop,
                nlri: nlri.into(),
            }
        }
        AddressType::Ipv6Unicast => {
            let nlri: Vec<_> = (0..n)
                .map(|_| Ipv6UnicastAddress::new(path_id(r, s, t), ng_v6(r)))
                .collect();
            NgMpReach::Ipv6Unicast {
                next_hop_global: r.ipv6(),
                next_hop_local: r.pct(40).then(|| r.ipv6()),
                nlri: nlri.into(),
            }
        }
        AddressType::Ipv6NlriMplsLabels => {
            let (next_hop, next_hop_local) = ng_ip_nh(r, false);
            let nlri: Vec<_> = (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, false);
                    Ipv6NlriMplsLabelsAddress::from(path_id(r, s, t), labels, v6net(r)).unwrap()
                })
                .collect();
            NgMpReach::Ipv6NlriMplsLabels {
                next_hop,
                next_hop_local,
                nlri: nlri.into(),
            }
        }
        AddressType::Ipv6MplsLabeledVpn => {
            let next_hop = ng_labeled_nh(r, true);
            let nlri: Vec<_> = (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, false);
                    Ipv6MplsVpnUnicastAddress::new(path_id(r, s, t), ng_rd(r), labels, ng_v6(r))
                })
                .collect();
            NgMpReach::Ipv6MplsVpnUnicast {
                next_hop,
                nlri: nlri.into(),
            }
        }
        // A family neither codec decodes (multicast picks land here too).
        _ => NgMpReach::Unknown {
            afi: AddressFamily::AppleTalk,
            safi: SubsequentAddressFamily::Unicast,
            value: {
                let mut v = vec![4];
                v.extend_from_slice(&r.ipv4().octets());
                v.push(0);
                v.extend_from_slice(&[24, 10, 1, 2]);
                v.into()
            },
        },
    }
}

fn ng_mp_unreach(r: &mut Rng, s: &Session) -> NgMpUnreach {
    let t = r.pick(&NG_FAMILIES[..6]);
    let n = if r.pct(20) { 0 } else { r.range(1, 5) as usize };
    match t {
        AddressType::Ipv4Unicast => NgMpUnreach::Ipv4Unicast {
            nlri: v4_addrs(r, s, n).into(),
        },
        AddressType::Ipv4NlriMplsLabels => NgMpUnreach::Ipv4NlriMplsLabels {
            nlri: (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, true);
                    Ipv4NlriMplsLabelsAddress::from(path_id(r, s, t), labels, v4net(r)).unwrap()
                })
                .collect::<Vec<_>>()
                .into(),
        },
        AddressType::Ipv4MplsLabeledVpn => NgMpUnreach::Ipv4MplsVpnUnicast {
            nlri: (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, true);
                    Ipv4MplsVpnUnicastAddress::new(path_id(r, s, t), ng_rd(r), labels, ng_v4(r))
                })
                .collect::<Vec<_>>()
                .into(),
        },
        AddressType::Ipv6Unicast => NgMpUnreach::Ipv6Unicast {
            nlri: (0..n)
                .map(|_| Ipv6UnicastAddress::new(path_id(r, s, t), ng_v6(r)))
                .collect::<Vec<_>>()
                .into(),
        },
        AddressType::Ipv6NlriMplsLabels => NgMpUnreach::Ipv6NlriMplsLabels {
            nlri: (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, true);
                    Ipv6NlriMplsLabelsAddress::from(path_id(r, s, t), labels, v6net(r)).unwrap()
                })
                .collect::<Vec<_>>()
                .into(),
        },
        _ => NgMpUnreach::Ipv6MplsVpnUnicast {
            nlri: (0..n)
                .map(|_| {
                    let labels = label_stack(r, s, true);
                    Ipv6MplsVpnUnicastAddress::new(path_id(r, s, t), ng_rd(r), labels, ng_v6(r))
                })
                .collect::<Vec<_>>()
                .into(),
        },
    }
}

fn seg_type(r: &mut Rng) -> AsPathSegmentType {
    if r.pct(85) {
        AsPathSegmentType::AsSequence
    } else {
        AsPathSegmentType::AsSet
    }
}

fn seg_len(r: &mut Rng) -> usize {
    // A zero-length segment is an RFC 7606 §7.2 malformation for tern.
    if r.pct(2) { 0 } else { r.range(1, 6) as usize }
}

fn ng_as_path(r: &mut Rng, s: &Session) -> NgAsPath {
    let nseg = if r.pct(10) { 0 } else { r.range(1, 3) as usize };
    // The width follows the session, except now and then (netgauze cannot round-trip those).
    let four = s.asn4 != r.pct(3);
    if four {
        let segs: Vec<_> = (0..nseg)
            .map(|_| {
                let n = seg_len(r);
                let asns: Vec<u32> = (0..n)
                    .map(|_| {
                        if r.pct(50) {
                            r.u32()
                        } else {
                            r.range(1, 65535) as u32
                        }
                    })
                    .collect();
                As4PathSegment::new(seg_type(r), asns)
            })
            .collect();
        NgAsPath::As4PathSegments(segs.into())
    } else {
        let segs: Vec<_> = (0..nseg)
            .map(|_| {
                let n = seg_len(r);
                let asns: Vec<u16> = (0..n).map(|_| r.u16()).collect();
                As2PathSegment::new(seg_type(r), asns)
            })
            .collect();
        NgAsPath::As2PathSegments(segs.into())
    }
}

fn ng_ext(r: &mut Rng) -> ExtendedCommunity {
    if r.pct(70) {
        ExtendedCommunity::TransitiveTwoOctet(TransitiveTwoOctetExtendedCommunity::RouteTarget {
            global_admin: r.u16(),
            local_admin: r.u32(),
        })
    } else {
        let v = r.bytes(6);
        let code = r.pick(&[0x30u8, 0x31, 0x7f, 0xbf, 0x04]);
        ExtendedCommunity::Unknown(UnknownExtendedCommunity::new(
            code,
            r.u8(),
            v.try_into().unwrap(),
        ))
    }
}

/// An attribute with the flags netgauze requires for its type (Partial and Extended Length
/// chosen at random where allowed).
fn with_flags(r: &mut Rng, value: V) -> Option<NgAttr> {
    let optional = value.can_be_optional().unwrap_or_else(|| r.pct(85));
    let transitive = value.can_be_transitive().unwrap_or_else(|| r.pct(60));
    let partial = value
        .can_be_partial()
        .unwrap_or_else(|| optional && transitive && r.pct(10));
    let ext = r.pct(15);
    NgAttr::from(optional, transitive, partial, ext, value).ok()
}

fn ng_update(r: &mut Rng, s: &Session) -> BgpUpdateMessage {
    let withdrawn = if r.pct(25) {
        let n = r.range(1, 4) as usize;
        v4_addrs(r, s, n)
    } else {
        vec![]
    };
    let nlri = if r.pct(45) {
        // Now and then more than fits 4096 octets (Extended Message, RFC 8654).
        let n = if r.pct(2) {
            1200
        } else {
            r.range(1, 5) as usize
        };
        v4_addrs(r, s, n)
    } else {
        vec![]
    };
    let mut values: Vec<V> = Vec::new();
    let end_of_rib = withdrawn.is_empty() && nlri.is_empty() && r.pct(5);
    if end_of_rib {
        values.push(V::MpUnreach(ng_mp_unreach_empty(r)));
    } else {
        if r.pct(90) {
            values.push(V::Origin(r.pick(&[
                NgOrigin::IGP,
                NgOrigin::EGP,
                NgOrigin::Incomplete,
            ])));
        }
        if r.pct(90) {
            values.push(V::AsPath(ng_as_path(r, s)));
        }
        if (!nlri.is_empty() && r.pct(95)) || r.pct(15) {
            values.push(V::NextHop(NgNextHop::new(r.ipv4())));
        }
        if r.pct(40) {
            values.push(V::MultiExitDiscriminator(MultiExitDiscriminator::new(
                r.u32(),
            )));
        }
        if r.pct(50) {
            values.push(V::LocalPreference(LocalPreference::new(r.u32())));
        }
        if r.pct(10) {
            values.push(V::AtomicAggregate(AtomicAggregate));
        }
        if r.pct(15) {
            let four = s.asn4 != r.pct(3);
            values.push(V::Aggregator(if four {
                Aggregator::As4Aggregator(As4Aggregator::new(r.u32(), r.ipv4()))
            } else {
                Aggregator::As2Aggregator(As2Aggregator::new(r.u16(), r.ipv4()))
            }));
        }
        if r.pct(40) {
            let n = r.range(0, 6) as usize;
            let c: Vec<_> = (0..n).map(|_| Community::new(r.u32())).collect();
            values.push(V::Communities(NgCommunities::new(c)));
        }
        if r.pct(10) {
            values.push(V::Originator(Originator::new(r.ipv4())));
        }
        if r.pct(10) {
            let n = r.range(1, 3) as usize;
            let c: Vec<_> = (0..n).map(|_| ClusterId::new(r.ipv4())).collect();
            values.push(V::ClusterList(NgCluster::new(c)));
        }
        if r.pct(45) {
            values.push(V::MpReach(ng_mp_reach(r, s)));
        }
        if r.pct(25) {
            values.push(V::MpUnreach(ng_mp_unreach(r, s)));
        }
        if r.pct(30) {
            let n = r.range(0, 4) as usize;
            let c: Vec<_> = (0..n).map(|_| ng_ext(r)).collect();
            values.push(V::ExtendedCommunities(ExtendedCommunities::new(c)));
        }
        if r.pct(8) {
            let n = r.range(1, 2) as usize;
            let segs: Vec<_> = (0..n)
                .map(|_| {
                    let k = seg_len(r);
                    As4PathSegment::new(seg_type(r), (0..k).map(|_| r.u32()).collect::<Vec<_>>())
                })
                .collect();
            values.push(V::As4Path(As4Path::new(segs)));
        }
        if r.pct(25) {
            let n = r.range(0, 3) as usize;
            let c: Vec<_> = (0..n)
                .map(|_| LargeCommunity::new(r.u32(), r.u32(), r.u32()))
                .collect();
            values.push(V::LargeCommunities(NgLarge::new(c)));
        }
        if r.pct(4) {
            values.push(V::OnlyToCustomer(OnlyToCustomer::new(r.u32())));
        }
        if r.pct(4) {
            values.push(V::Aigp(Aigp::AccumulatedIgpMetric(r.next())));
        }
        if r.pct(12) {
            // Codes no one assigned (or deprecated ones netgauze leaves unparsed).
            let code = r.pick(&[0u8, 19, 21, 30, 31, 100, 200, 254, 255]);
            let n = r.range(0, 8) as usize;
            values.push(V::UnknownAttribute(UnknownAttribute::new(code, r.bytes(n))));
        }
        // Wire order is usually by type code; sometimes not.
        if r.pct(20) {
            for i in (1..values.len()).rev() {
                let j = r.below(i as u64 + 1) as usize;
                values.swap(i, j);
            }
        }
        // A repeated attribute now and then.
        if !values.is_empty() && r.pct(3) {
            let i = r.below(values.len() as u64) as usize;
            let v = values[i].clone();
            values.push(v);
        }
    }
    let attrs: Vec<NgAttr> = values
        .into_iter()
        .filter_map(|v| with_flags(r, v))
        .collect();
    BgpUpdateMessage::new(withdrawn, attrs, nlri)
}

fn ng_mp_unreach_empty(r: &mut Rng) -> NgMpUnreach {
    match r.below(4) {
        0 => NgMpUnreach::Ipv4MplsVpnUnicast { nlri: [].into() },
        1 => NgMpUnreach::Ipv6MplsVpnUnicast { nlri: [].into() },
        2 => NgMpUnreach::Ipv6Unicast { nlri: [].into() },
        _ => NgMpUnreach::Ipv4NlriMplsLabels { nlri: [].into() },
    }
}

fn ng_capability(r: &mut Rng) -> BgpCapability {
    match r.below(15) {
        0..=2 => BgpCapability::MultiProtocolExtensions(MultiProtocolExtensionsCapability::new(
            r.pick(&NG_FAMILIES),
        )),
        3 => BgpCapability::RouteRefresh,
        4 => BgpCapability::EnhancedRouteRefresh,
        5 => BgpCapability::CiscoRouteRefresh,
        6 => BgpCapability::FourOctetAs(FourOctetAsCapability::new(r.u32())),
        7 => {
            let n = r.range(1, 3) as usize;
            let f: Vec<_> = (0..n)
                .map(|_| {
                    let (send, receive) = r.pick(&[(true, false), (false, true), (true, true)]);
                    AddPathAddressFamily::new(r.pick(&NG_FAMILIES), send, receive)
                })
                .collect();
            BgpCapability::AddPath(AddPathCapability::new(f))
        }
        8 => {
            let n = r.range(0, 3) as usize;
            let f: Vec<_> = (0..n)
                .map(|_| GracefulRestartAddressFamily::new(r.pct(50), r.pick(&NG_FAMILIES)))
                .collect();
            BgpCapability::GracefulRestartCapability(GracefulRestartCapability::new(
                r.pct(50),
                r.pct(50),
                r.u16() & 0x0fff,
                f,
            ))
        }
        9 => BgpCapability::ExtendedMessage,
        12 => {
            let host: String = (0..r.range(0, 12))
                .map(|_| char::from(b'a' + r.u8() % 26))
                .collect();
            let domain: String = (0..r.range(0, 12))
                .map(|_| char::from(b'a' + r.u8() % 26))
                .collect();
            BgpCapability::Fqdn(FqdnCapability::new(host.into(), domain.into()))
        }
        13 => BgpCapability::BgpRole(BgpRoleCapability::new(
            r.pick(&[BgpRoleValue::Provider, BgpRoleValue::Customer]),
        )),
        14 => BgpCapability::MultipleLabels(
            vec![MultipleLabel::new(
                r.pick(&NG_FAMILIES[..6]),
                r.range(1, 3) as u8,
            )]
            .into(),
        ),
        10 => BgpCapability::ExtendedNextHopEncoding(ExtendedNextHopEncodingCapability::new(vec![
            ExtendedNextHopEncoding::new(
                r.pick(&[AddressType::Ipv4Unicast, AddressType::Ipv4MplsLabeledVpn]),
                AddressFamily::IPv6,
            ),
        ])),
        _ => {
            let code = r.pick(&[3u8, 10, 66, 128, 131, 184, 185]);
            let n = r.range(0, 6) as usize;
            BgpCapability::Unrecognized(UnrecognizedCapability::new(code, r.bytes(n)))
        }
    }
}

fn ng_open(r: &mut Rng) -> BgpOpenMessage {
    let nparams = r.range(0, 6) as usize;
    let params: Vec<_> = (0..nparams)
        .map(|_| {
            let n = if r.pct(75) { 1 } else { r.range(2, 4) as usize };
            BgpOpenMessageParameter::new_capabilities(
                (0..n).map(|_| ng_capability(r)).collect::<Vec<_>>(),
            )
        })
        .collect();
    let hold = r.pick(&[0u16, 3, 90, 180, 65535]);
    BgpOpenMessage::new(r.u16(), hold, r.ipv4(), params)
}

fn ng_message(r: &mut Rng, s: &Session) -> BgpMessage {
    match r.below(20) {
        0..=2 => BgpMessage::Open(ng_open(r)),
        3 => BgpMessage::KeepAlive,
        4 => BgpMessage::RouteRefresh(BgpRouteRefreshMessage::new(
            r.pick(&NG_FAMILIES),
            r.pick(&[
                RouteRefreshSubcode::NormalRequest,
                RouteRefreshSubcode::BeginningOfRouteRefresh,
                RouteRefreshSubcode::EndOfRouteRefresh,
            ]),
        )),
        5 => {
            let n = r.range(0, 8) as usize;
            let value: Box<[u8]> = r.bytes(n).into();
            BgpMessage::Notification(BgpNotificationMessage::CeaseError(match r.below(4) {
                0 => CeaseError::AdministrativeShutdown { value },
                1 => CeaseError::AdministrativeReset { value },
                2 => CeaseError::MaximumNumberOfPrefixesReached { value },
                _ => CeaseError::HardReset { value },
            }))
        }
        _ => BgpMessage::Update(ng_update(r, s)),
    }
}

fn ng_encode(m: &BgpMessage) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    m.write(&mut v).ok()?;
    Some(v)
}

fn ng_decode(bytes: &[u8], s: &Session) -> Result<BgpMessage, String> {
    let mut cur = SliceReader::new(bytes);
    let m = BgpMessage::parse(&mut cur, &mut s.netgauze()).map_err(|e| e.to_string())?;
    if cur.is_empty() {
        Ok(m)
    } else {
        Err(format!("{} octets left", cur.remaining()))
    }
}

// ---------------------------------------------------------------------------------------------
// Direction 1 checks.

#[derive(Debug, Default)]
struct Stats {
    generated: usize,
    ng_write_failed: usize,
    ng_not_round_trip: usize,
    compared: [usize; 6],
    allowed_problems: usize,
    /// Allowed problems by (type code, subcode, action).
    problem_kinds: std::collections::BTreeMap<(u8, u8, String), usize>,
    reencode_skipped: usize,
    nh_rd_rewritten: usize,
}

/// Checks every problem tern reports against what the netgauze value explains.
fn check_problems(u: &BgpUpdateMessage, p: &ParsedUpdate<'_>, ctx: &str) -> bool {
    let attrs = u.path_attributes();
    let codes: Vec<u8> = attrs.iter().map(attr_code).collect();
    let repeated = |tc: u8| codes.iter().filter(|c| **c == tc).count() > 1;
    let has = |tc: u8| codes.contains(&tc);
    let announces = !u.nlri().is_empty()
        || attrs.iter().any(|a| match a.value() {
            V::MpReach(m) => mp_reach_has_nlri(m),
            _ => false,
        });
    let well_known_unknown = |tc: u8| {
        attrs
            .iter()
            .any(|a| attr_code(a) == tc && !a.optional() && a.path_attribute_type().is_err())
    };
    let mut removed = false;
    for e in &p.problems {
        let tc = e.type_code;
        let sub = e.notification.subcode;
        let ok = if sub == update_sub::MALFORMED_ATTR_LIST && repeated(tc) {
            removed = true;
            let mp = matches!(tc, type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI);
            e.action
                == if mp {
                    Action::SessionReset
                } else {
                    Action::AttributeDiscard
                }
        } else if sub == update_sub::MISSING_WELL_KNOWN {
            announces
                && !has(tc)
                && e.action == Action::TreatAsWithdraw
                && (tc != type_code::NEXT_HOP || !u.nlri().is_empty())
        } else if sub == update_sub::UNRECOGNIZED_WELL_KNOWN && well_known_unknown(tc) {
            removed = true;
            e.action == Action::SessionReset
        } else {
            false
        };
        assert!(
            ok,
            "{ctx}: unexplained tern problem {e:?}\nnetgauze: {u:#?}"
        );
    }
    removed
}

fn mp_reach_has_nlri(m: &NgMpReach) -> bool {
    match m {
        NgMpReach::Ipv4Unicast { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Ipv4Multicast { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Ipv4NlriMplsLabels { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Ipv4MplsVpnUnicast { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Ipv6Unicast { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Ipv6Multicast { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Ipv6NlriMplsLabels { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Ipv6MplsVpnUnicast { nlri, .. } => !nlri.is_empty(),
        NgMpReach::Unknown { value, .. } => {
            // next-hop length, next hop, reserved octet, then NLRI.
            let nh = value.first().copied().unwrap_or(0) as usize;
            value.len() > nh + 2
        }
        _ => true,
    }
}

/// netgauze's message with every VPN next-hop RD set to zero, as tern re-encodes it.
fn zero_next_hop_rds(u: &BgpUpdateMessage) -> Option<BgpUpdateMessage> {
    let zero = NgRd::As2Administrator { asn2: 0, number: 0 };
    let mut changed = false;
    let attrs: Vec<NgAttr> = u
        .path_attributes()
        .iter()
        .map(|a| {
            let fix = |nh: &LabeledNextHop| match nh {
                LabeledNextHop::Ipv4(n) => {
                    LabeledNextHop::Ipv4(LabeledIpv4NextHop::new(zero, n.next_hop()))
                }
                LabeledNextHop::Ipv6(n) => LabeledNextHop::Ipv6(LabeledIpv6NextHop::new(
                    zero,
                    n.next_hop(),
                    n.next_hop_local(),
                )),
            };
            let value = match a.value() {
                V::MpReach(NgMpReach::Ipv4MplsVpnUnicast { next_hop, nlri })
                    if next_hop.rd() != zero =>
                {
                    changed = true;
                    V::MpReach(NgMpReach::Ipv4MplsVpnUnicast {
                        next_hop: fix(next_hop),
                        nlri: nlri.clone(),
                    })
                }
                V::MpReach(NgMpReach::Ipv6MplsVpnUnicast { next_hop, nlri })
                    if next_hop.rd() != zero =>
                {
                    changed = true;
                    V::MpReach(NgMpReach::Ipv6MplsVpnUnicast {
                        next_hop: fix(next_hop),
                        nlri: nlri.clone(),
                    })
                }
                v => v.clone(),
            };
            NgAttr::from(
                a.optional(),
                a.transitive(),
                a.partial(),
                a.extended_length(),
                value,
            )
            .unwrap()
        })
        .collect();
    changed.then(|| BgpUpdateMessage::new(u.withdraw_routes().to_vec(), attrs, u.nlri().to_vec()))
}

fn ng_family(t: AddressType) -> Family {
    let (afi, safi) = fam(t);
    Family::new(Afi(afi), Safi(safi))
}

fn check_open(ng: &BgpOpenMessage, o: &Open, ctx: &str) {
    assert_eq!(o.version, ng.version(), "{ctx}: version");
    assert_eq!(o.my_as, ng.my_as(), "{ctx}: my AS");
    assert_eq!(o.hold_time, ng.hold_time(), "{ctx}: hold time");
    assert_eq!(o.bgp_id, ng.bgp_id(), "{ctx}: BGP id");
    // With several 4-octet AS capabilities netgauze takes the last, tern the first.
    if o.capabilities().filter(|c| c.code() == 65).count() <= 1 {
        assert_eq!(o.asn(), ng.my_asn4(), "{ctx}: 4-octet AS");
    }
    assert!(!o.extended_params, "{ctx}: extended parameters");
    assert_eq!(o.params.len(), ng.params().len(), "{ctx}: parameter count");
    for (p, np) in o.params.iter().zip(ng.params()) {
        let (OptParam::Capabilities(caps), BgpOpenMessageParameter::Capabilities(ncaps)) = (p, np)
        else {
            panic!("{ctx}: parameter kind {p:?}");
        };
        assert_eq!(caps.len(), ncaps.len(), "{ctx}: capability count");
        for (c, nc) in caps.iter().zip(ncaps.iter()) {
            let ncode = match nc.code() {
                Ok(c) => c.into(),
                Err(c) => c,
            };
            assert_eq!(c.code(), ncode, "{ctx}: capability code {c:?} vs {nc:?}");
            match (c, nc) {
                (Capability::Multiprotocol(f), BgpCapability::MultiProtocolExtensions(m)) => {
                    assert_eq!(*f, ng_family(m.address_type()), "{ctx}: MP family");
                }
                (Capability::FourOctetAs(a), BgpCapability::FourOctetAs(n)) => {
                    assert_eq!(*a, n.asn4(), "{ctx}: 4-octet AS capability");
                }
                (Capability::AddPath(v), BgpCapability::AddPath(n)) => {
                    let want: Vec<_> = n
                        .address_families()
                        .iter()
                        .map(|f| {
                            let mode = u8::from(f.receive()) | (u8::from(f.send()) << 1);
                            (ng_family(f.address_type()), AddPathMode(mode))
                        })
                        .collect();
                    assert_eq!(v, &want, "{ctx}: ADD-PATH");
                }
                (
                    Capability::GracefulRestart {
                        flags,
                        time,
                        families,
                    },
                    BgpCapability::GracefulRestartCapability(g),
                ) => {
                    assert_eq!(flags & 8 != 0, g.restart(), "{ctx}: GR R bit");
                    assert_eq!(flags & 4 != 0, g.graceful_notification(), "{ctx}: GR N");
                    assert_eq!(*time, g.time(), "{ctx}: GR time");
                    let want: Vec<_> = g
                        .address_families()
                        .iter()
                        .map(|f| GrFamily {
                            family: ng_family(f.address_type()),
                            flags: if f.forwarding_state() { 0x80 } else { 0 },
                        })
                        .collect();
                    assert_eq!(families, &want, "{ctx}: GR families");
                }
                (Capability::Fqdn { hostname, domain }, BgpCapability::Fqdn(n)) => {
                    assert_eq!(hostname, n.hostname().as_bytes(), "{ctx}: FQDN host");
                    assert_eq!(domain, n.domain_name().as_bytes(), "{ctx}: FQDN domain");
                }
                (Capability::ExtendedNextHop(v), BgpCapability::ExtendedNextHopEncoding(n)) => {
                    let want: Vec<_> = n
                        .encodings()
                        .iter()
                        .map(|e| {
                            let (afi, safi) = fam(e.address_type());
                            (afi, u16::from(safi), u16::from(e.next_hop_afi()))
                        })
                        .collect();
                    let got: Vec<_> = v.iter().map(|e| (e.afi.0, e.safi, e.nh_afi.0)).collect();
                    assert_eq!(got, want, "{ctx}: extended next hop");
                }
                (Capability::Unknown { .. }, _)
                | (Capability::RouteRefresh, BgpCapability::RouteRefresh)
                | (Capability::EnhancedRouteRefresh, BgpCapability::EnhancedRouteRefresh)
                | (Capability::ExtendedMessage, BgpCapability::ExtendedMessage) => {}
                (c, nc) => panic!("{ctx}: capability {c:?} vs {nc:?}"),
            }
        }
    }
}

fn direction_one(iterations: usize, seed: u64) -> Stats {
    let mut r = Rng::new(seed);
    let mut st = Stats::default();
    for i in 0..iterations {
        let s = Session::random(&mut r);
        let msg = ng_message(&mut r, &s);
        st.generated += 1;
        let Some(bytes) = ng_encode(&msg) else {
            st.ng_write_failed += 1;
            continue;
        };
        if ng_decode(&bytes, &s).as_ref() != Ok(&msg) {
            st.ng_not_round_trip += 1;
            continue;
        }
        let ctx = format!("iteration {i} (seed {seed:#x}), session {s:?}, bytes {bytes:02x?}");
        // (a) tern frames and decodes the same bytes.
        let f = frame(&bytes, MAX_EXTENDED_LEN)
            .unwrap_or_else(|e| panic!("{ctx}: frame error {e:?}"))
            .unwrap_or_else(|| panic!("{ctx}: incomplete frame"));
        assert_eq!(f.bytes.len(), bytes.len(), "{ctx}: frame length");
        let m = Message::decode(f).unwrap_or_else(|e| panic!("{ctx}: decode error {e:?}"));
        // (b) the essentials.
        let kind: u8 = msg.get_type().into();
        assert_eq!(m.kind(), kind, "{ctx}: message type");
        st.compared[usize::from(kind)] += 1;
        let mut expected = bytes.clone();
        let mut exact = true;
        match (&msg, &m) {
            (BgpMessage::Open(ng), Message::Open(o)) => check_open(ng, o, &ctx),
            (BgpMessage::Update(ng), Message::Update(u)) => {
                let p = u.parse(&s.tern());
                if !p.problems.is_empty() {
                    st.allowed_problems += 1;
                }
                for e in &p.problems {
                    let k = (
                        e.type_code,
                        e.notification.subcode,
                        format!("{:?}", e.action),
                    );
                    *st.problem_kinds.entry(k).or_default() += 1;
                }
                let removed = check_problems(ng, &p, &ctx);
                let want = ng_essentials(ng);
                let got = tern_essentials(&p);
                assert_eq!(got, want, "{ctx}: essentials\nnetgauze: {ng:#?}");
                // netgauze also takes an empty MP_UNREACH_NLRI among other attributes for an
                // End-of-RIB; RFC 4724 §2 says "only": compare where that holds.
                let tern_eor = p.end_of_rib().map(|f| (f.afi.0, f.safi.0));
                if (ng.path_attributes().len() <= 1 && p.problems.is_empty()) || tern_eor.is_some()
                {
                    assert_eq!(tern_eor, ng.end_of_rib().map(fam), "{ctx}: End-of-RIB");
                }
                if removed {
                    st.reencode_skipped += 1;
                    exact = false;
                } else if let Some(z) = zero_next_hop_rds(ng) {
                    st.nh_rd_rewritten += 1;
                    expected = ng_encode(&BgpMessage::Update(z)).unwrap();
                }
                if exact {
                    let mut body = Vec::new();
                    p.encode_body(&mut body).unwrap();
                    let re = Message::Update(Update::decode(&body).unwrap())
                        .to_bytes()
                        .unwrap();
                    assert_eq!(re, expected, "{ctx}: re-encoded UPDATE");
                }
            }
            (
                BgpMessage::Notification(BgpNotificationMessage::CeaseError(c)),
                Message::Notification(n),
            ) => {
                let (sub, value) = match c {
                    CeaseError::MaximumNumberOfPrefixesReached { value } => (1, value),
                    CeaseError::AdministrativeShutdown { value } => (2, value),
                    CeaseError::AdministrativeReset { value } => (4, value),
                    CeaseError::HardReset { value } => (9, value),
                    _ => unreachable!(),
                };
                assert_eq!(
                    (n.code, n.subcode, &n.data[..]),
                    (6, sub, &value[..]),
                    "{ctx}"
                );
            }
            (BgpMessage::RouteRefresh(ng), Message::RouteRefresh(rr)) => {
                assert_eq!(
                    rr.family,
                    ng_family(ng.address_type()),
                    "{ctx}: refresh family"
                );
                assert_eq!(
                    format!("{:?}", rr.subtype),
                    match ng.operation_type() {
                        RouteRefreshSubcode::NormalRequest => "Request",
                        RouteRefreshSubcode::BeginningOfRouteRefresh => "BeginningOfRefresh",
                        RouteRefreshSubcode::EndOfRouteRefresh => "EndOfRefresh",
                    },
                    "{ctx}: refresh subtype"
                );
            }
            (BgpMessage::KeepAlive, Message::Keepalive) => {}
            (a, b) => panic!("{ctx}: {a:?} decoded as {b:?}"),
        }
        // (c) tern's re-encode of what it decoded.
        if exact && !matches!(m, Message::Update(_)) {
            assert_eq!(m.to_bytes().unwrap(), bytes, "{ctx}: re-encoded message");
        }
    }
    st
}

// ---------------------------------------------------------------------------------------------
// Direction 2: tern builds, netgauze decodes.

/// Families tern's builder is exercised with here.
const TERN_FAMILIES: [Family; 6] = [
    Family::IPV4_UNICAST,
    Family::IPV4_LABELED,
    Family::VPNV4,
    Family::VPNV6,
    Family::IPV6_LABELED,
    Family::IPV6_UNICAST,
];

fn ng_type(f: Family) -> AddressType {
    AddressType::from_afi_safi(
        AddressFamily::try_from(f.afi.0).unwrap(),
        SubsequentAddressFamily::try_from(f.safi.0).unwrap(),
    )
    .unwrap()
}

fn tern_labels(r: &mut Rng, multi: bool) -> LabelStack {
    let n = if !multi || r.pct(50) {
        1
    } else {
        r.range(2, 3) as usize
    };
    let mut s = LabelStack::new();
    for i in 0..n {
        s.push_label(Label(r.u32() & Label::MAX), i + 1 == n);
    }
    s
}

fn tern_route_for(r: &mut Rng, f: Family, s: &Session, withdraw: bool) -> Nlri {
    let add_path = !s.add_path.is_empty();
    // Prefixes netgauze accepts as unicast (it refuses multicast and broadcast ranges).
    let prefix = loop {
        let p = if f.is_ipv6() {
            Ipv6Unicast::from_net(v6net(r).trunc())
                .ok()
                .map(|u| IpNet::V6(u.address()))
        } else {
            Ipv4Unicast::from_net(v4net(r).trunc())
                .ok()
                .map(|u| IpNet::V4(u.address()))
        };
        if let Some(p) = p {
            break p;
        }
    };
    let mut n = if f.has_rd() {
        let rd = match r.below(3) {
            0 => RouteDistinguisher::type0(r.u16(), r.u32()),
            1 => RouteDistinguisher::type1(r.ipv4(), r.u16()),
            _ => RouteDistinguisher::type2(r.u32(), r.u16()),
        };
        Nlri::vpn(rd, tern_labels(r, s.multi_labels), prefix)
    } else if f.has_labels() {
        Nlri::labeled(tern_labels(r, s.multi_labels), prefix)
    } else {
        Nlri::unicast(prefix)
    };
    if withdraw && f.has_labels() && !s.multi_labels && r.pct(50) {
        // Written with the 0x800000 marker.
        n.labels = LabelStack::new();
    }
    if add_path {
        n.path_id = Some(r.u32());
    }
    // netgauze reads 255 octets for a length field of 249..=255 bits (its overflow guard in
    // the labeled and VPN NLRI parsers), so stay below.
    let bits = (n.wire_len(f, false) - 1) * 8;
    if bits > 248 {
        n.labels = tern_labels(r, false);
    }
    n
}

fn tern_attrs(r: &mut Rng, asn4: bool) -> Vec<PathAttribute<'static>> {
    let mut v = vec![PathAttribute::new(AttrValue::Origin(r.pick(&[
        Origin::Igp,
        Origin::Egp,
        Origin::Incomplete,
    ])))];
    let n = r.range(0, 5) as usize;
    let asns: Vec<u32> = (0..n)
        .map(|_| {
            if asn4 {
                r.u32()
            } else {
                r.range(1, 65535) as u32
            }
        })
        .collect();
    v.push(PathAttribute::new(AttrValue::AsPath(AsPath::sequence(
        &asns, asn4,
    ))));
    if r.pct(50) {
        v.push(PathAttribute::new(AttrValue::Med(r.u32())));
    }
    if r.pct(70) {
        v.push(PathAttribute::new(AttrValue::LocalPref(r.u32())));
    }
    if r.pct(50) {
        let n = r.range(1, 4) as usize;
        let c: Vec<u32> = (0..n).map(|_| r.u32()).collect();
        v.push(PathAttribute::new(AttrValue::Communities(
            Communities::from_items(c),
        )));
    }
    if r.pct(50) {
        let c =
            tern_types::ExtCommunity::as2(tern_types::TargetKind::RouteTarget, r.u16(), r.u32());
        v.push(PathAttribute::new(AttrValue::ExtCommunities(
            ExtCommunities::from_items([c]),
        )));
    }
    if r.pct(30) {
        v.push(PathAttribute::new(AttrValue::LargeCommunities(
            LargeCommunities::from_items([(r.u32(), r.u32(), r.u32())]),
        )));
    }
    v
}

fn tern_session(r: &mut Rng, f: Family) -> Session {
    Session {
        asn4: r.pct(80),
        add_path: if r.pct(30) { vec![ng_type(f)] } else { vec![] },
        multi_labels: r.pct(30),
    }
}

/// netgauze's encoding of what it decoded is tern's message, except for labeled unicast
/// with ADD-PATH, where netgauze's writer leaves the path ids out.
fn ng_same_bytes(u: &BgpUpdateMessage, bytes: &[u8], f: Family, s: &Session, ctx: &str) -> bool {
    let back = ng_encode(&BgpMessage::Update(u.clone())).unwrap();
    let lossy = matches!(f, Family::IPV4_LABELED | Family::IPV6_LABELED) && !s.add_path.is_empty();
    if !lossy {
        assert_eq!(back, bytes, "{ctx}: netgauze re-encode");
    }
    !lossy
}

/// Equal route lists, or a panic naming the first difference.
fn same_routes(got: &[Route], want: &[Route], ctx: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{ctx}: route {i} (netgauze, tern)");
    }
    assert_eq!(got.len(), want.len(), "{ctx}: route count");
}

fn decode_all(msgs: &[Vec<u8>], s: &Session, ctx: &str) -> Vec<BgpUpdateMessage> {
    msgs.iter()
        .map(|m| match ng_decode(m, s) {
            Ok(BgpMessage::Update(u)) => u,
            other => panic!("{ctx}: netgauze decoded as {other:?}: {m:02x?}"),
        })
        .collect()
}

#[derive(Debug, Default)]
struct Stats2 {
    reach: usize,
    withdraw: usize,
    messages: usize,
    eor: usize,
    opens: usize,
    ng_same_bytes: usize,
    rejected_48: usize,
}

fn direction_two(iterations: usize, seed: u64) -> Stats2 {
    let mut r = Rng::new(seed);
    let mut st = Stats2::default();
    for i in 0..iterations {
        let f = r.pick(&TERN_FAMILIES);
        let s = tern_session(&mut r, f);
        let ctx_t = s.tern();
        let mut b = UpdateBuilder::new(&ctx_t);
        if r.pct(30) {
            b = b.with_max_len(r.range(300, 700) as usize);
        }
        let ctx = format!("direction 2 iteration {i} family {f} session {s:?}");
        let n = r.range(1, 40) as usize;
        if r.pct(70) {
            // Reach.
            let routes: Vec<Nlri> = (0..n)
                .map(|_| tern_route_for(&mut r, f, &s, false))
                .collect();
            let nh = match f {
                Family::VPNV6 => NextHop::ipv4_mapped(r.ipv4()),
                Family::IPV6_LABELED => {
                    if r.pct(50) {
                        NextHop::ipv4_mapped(r.ipv4())
                    } else {
                        NextHop::Ipv6 {
                            global: r.ipv6(),
                            link_local: r.pct(30).then(|| r.ipv6()),
                        }
                    }
                }
                Family::IPV6_UNICAST => NextHop::Ipv6 {
                    global: r.ipv6(),
                    link_local: r.pct(40).then(|| r.ipv6()),
                },
                // VPNv4 over an IPv6 core (RFC 8950 §3): 24 octets.
                Family::VPNV4 if r.pct(20) => NextHop::Ipv6 {
                    global: r.ipv6(),
                    link_local: None,
                },
                _ => NextHop::Ipv4(r.ipv4()),
            };
            let attrs = tern_attrs(&mut r, s.asn4);
            let mut out = Vec::new();
            b.reach(f, &nh, &attrs, &routes, &mut out).unwrap();
            st.reach += 1;
            st.messages += out.len();
            let ng = decode_all(&out, &s, &ctx);
            let mut announced = Vec::new();
            for (bytes, u) in out.iter().zip(&ng) {
                let e = ng_essentials(u);
                assert!(e.withdrawn.is_empty(), "{ctx}: withdrawn");
                // tern's own view of its message agrees with netgauze's.
                let tm = Message::decode(frame(bytes, MAX_EXTENDED_LEN).unwrap().unwrap()).unwrap();
                let Message::Update(tu) = tm else { panic!() };
                let tp = tu.parse(&ctx_t);
                assert!(tp.problems.is_empty(), "{ctx}: {:?}", tp.problems);
                assert_eq!(tern_essentials(&tp), e, "{ctx}: essentials");
                if f == Family::IPV4_UNICAST {
                    assert_eq!(
                        e.next_hop,
                        tern_nh(&nh).and_then(|n| match n {
                            Nh::V4(a) => Some(a),
                            Nh::V6(..) => None,
                        })
                    );
                } else {
                    assert_eq!(e.mp_next_hop, tern_nh(&nh), "{ctx}: next hop");
                }
                let want_origin = attrs.iter().find_map(|a| match a.value {
                    AttrValue::Origin(o) => Some(o.to_u8()),
                    _ => None,
                });
                assert_eq!(e.origin, want_origin, "{ctx}: origin");
                let want_path = attrs.iter().find_map(|a| match &a.value {
                    AttrValue::AsPath(p) => Some(p.asns().collect::<Vec<_>>()),
                    _ => None,
                });
                assert_eq!(
                    e.as_path
                        .as_ref()
                        .map(|p| p.iter().flat_map(|s| s.1.clone()).collect::<Vec<_>>()),
                    want_path,
                    "{ctx}: AS path"
                );
                let want_med = attrs.iter().find_map(|a| match a.value {
                    AttrValue::Med(m) => Some(m),
                    _ => None,
                });
                assert_eq!(e.med, want_med, "{ctx}: MED");
                let want_lp = attrs.iter().find_map(|a| match a.value {
                    AttrValue::LocalPref(m) => Some(m),
                    _ => None,
                });
                assert_eq!(e.local_pref, want_lp, "{ctx}: LOCAL_PREF");
                let want_comm = attrs.iter().find_map(|a| match &a.value {
                    AttrValue::Communities(c) => Some(c.iter().collect::<Vec<_>>()),
                    _ => None,
                });
                assert_eq!(e.communities, want_comm, "{ctx}: communities");
                announced.extend(e.announced);
                if ng_same_bytes(u, bytes, f, &s, &ctx) {
                    st.ng_same_bytes += 1;
                }
            }
            let want: Vec<Route> = routes.iter().map(|n| tern_route(f, n)).collect();
            same_routes(&announced, &want, &format!("{ctx}: announced routes"));
        } else {
            let routes: Vec<Nlri> = (0..n)
                .map(|_| tern_route_for(&mut r, f, &s, true))
                .collect();
            let mut out = Vec::new();
            b.withdraw(f, &routes, &mut out).unwrap();
            st.withdraw += 1;
            st.messages += out.len();
            let ng = decode_all(&out, &s, &ctx);
            let mut withdrawn = Vec::new();
            for (bytes, u) in out.iter().zip(&ng) {
                let e = ng_essentials(u);
                assert!(e.announced.is_empty(), "{ctx}: announced");
                withdrawn.extend(e.withdrawn);
                if ng_same_bytes(u, bytes, f, &s, &ctx) {
                    st.ng_same_bytes += 1;
                }
            }
            let want: Vec<Route> = routes
                .iter()
                .map(|n| {
                    let mut rt = tern_route(f, n);
                    if f.has_labels() && rt.labels.is_empty() {
                        rt.labels = vec![LabelStack::WITHDRAW];
                    }
                    rt
                })
                .collect();
            same_routes(&withdrawn, &want, &format!("{ctx}: withdrawn routes"));
        }
        // End-of-RIB.
        let eor = UpdateBuilder::end_of_rib(f);
        let u = decode_all(&[eor], &s, &ctx);
        assert_eq!(u[0].end_of_rib(), Some(ng_type(f)), "{ctx}: End-of-RIB");
        st.eor += 1;
        // An OPEN now and then.
        if r.pct(50) {
            let open = tern_open(&mut r);
            let bytes = Message::Open(open.clone()).to_bytes().unwrap();
            let ctx = format!("{ctx}: OPEN {open:?}");
            match ng_decode(&bytes, &s) {
                Ok(BgpMessage::Open(ng)) => {
                    check_open(&ng, &open, &ctx);
                    let back = ng_encode(&BgpMessage::Open(ng)).unwrap();
                    assert_eq!(back, bytes, "{ctx}: netgauze re-encode");
                    st.ng_same_bytes += 1;
                }
                other => panic!("{ctx}: netgauze decoded as {other:?}: {bytes:02x?}"),
            }
            st.opens += 1;
        }
    }
    // The 48-octet VPNv6 next hop (RFC 4659 §3.2.1.2): netgauze refuses it.
    for _ in 0..20 {
        let s = Session {
            asn4: true,
            add_path: vec![],
            multi_labels: false,
        };
        let nh = NextHop::Ipv6 {
            global: r.ipv6(),
            link_local: Some(r.ipv6()),
        };
        let routes = [tern_route_for(&mut r, Family::VPNV6, &s, false)];
        let attrs = tern_attrs(&mut r, true);
        let mut out = Vec::new();
        UpdateBuilder::new(&s.tern())
            .reach(Family::VPNV6, &nh, &attrs, &routes, &mut out)
            .unwrap();
        let tm = Message::decode(frame(&out[0], MAX_EXTENDED_LEN).unwrap().unwrap()).unwrap();
        let Message::Update(tu) = tm else { panic!() };
        let tp = tu.parse(&s.tern());
        assert!(tp.problems.is_empty());
        assert_eq!(tp.mp_reach().map(|m| m.next_hop.clone()), Some(nh));
        if ng_decode(&out[0], &s).is_err() {
            st.rejected_48 += 1;
        }
    }
    st
}

fn tern_open(r: &mut Rng) -> Open {
    let asn = if r.pct(50) {
        r.u32()
    } else {
        r.range(1, 65535) as u32
    };
    let fams: Vec<Family> = TERN_FAMILIES
        .iter()
        .copied()
        .chain([Family::IPV6_UNICAST])
        .filter(|_| r.pct(50))
        .collect();
    let mut caps: Vec<Capability> = fams.iter().map(|f| Capability::Multiprotocol(*f)).collect();
    caps.push(Capability::FourOctetAs(asn));
    if r.pct(70) {
        caps.push(Capability::RouteRefresh);
    }
    if r.pct(30) {
        caps.push(Capability::EnhancedRouteRefresh);
    }
    if r.pct(60) && !fams.is_empty() {
        caps.push(Capability::AddPath(
            fams.iter()
                .map(|f| {
                    (
                        *f,
                        r.pick(&[AddPathMode::RECEIVE, AddPathMode::SEND, AddPathMode::BOTH]),
                    )
                })
                .collect(),
        ));
    }
    if r.pct(60) {
        caps.push(Capability::GracefulRestart {
            flags: r.pick(&[0, 4, 8, 12]),
            time: r.u16() & 0x0fff,
            families: fams
                .iter()
                .map(|f| GrFamily {
                    family: *f,
                    flags: r.pick(&[0, 0x80]),
                })
                .collect(),
        });
    }
    if r.pct(50) {
        caps.push(Capability::ExtendedMessage);
    }
    if r.pct(30) {
        caps.push(Capability::ExtendedNextHop(vec![ExtNextHop {
            afi: Afi::IPV4,
            safi: u16::from(r.pick(&[Safi::UNICAST.0, Safi::MPLS_VPN.0])),
            nh_afi: Afi::IPV6,
        }]));
    }
    if r.pct(30) {
        caps.push(Capability::Fqdn {
            hostname: b"pe1".to_vec(),
            domain: if r.pct(50) {
                b"example.net".to_vec()
            } else {
                vec![]
            },
        });
    }
    // netgauze refuses a multicast or broadcast BGP identifier (RFC 6286 allows any non-zero
    // value): draw one it takes.
    let id = Ipv4Addr::from(r.range(0x0100_0000, 0xdfff_ffff) as u32);
    let mut open = Open::new(asn, r.pick(&[0, 3, 90, 180]), id, caps.clone());
    if r.pct(40) {
        // All in one parameter, as some speakers send.
        open.params = vec![OptParam::Capabilities(caps)];
    }
    open
}

// ---------------------------------------------------------------------------------------------

#[test]
fn netgauze_messages_decode_in_tern() {
    let st = direction_one(30_000, 0x7e57_d1ff_0001);
    eprintln!("direction 1: {st:?}");
    let kept = st.generated - st.ng_write_failed - st.ng_not_round_trip;
    assert!(kept > 18_000, "too few messages kept: {st:?}");
    assert!(
        st.compared[usize::from(msg_type::UPDATE)] > 12_000,
        "{st:?}"
    );
    assert!(st.compared[usize::from(msg_type::OPEN)] > 2000, "{st:?}");
}

#[test]
fn tern_messages_decode_in_netgauze() {
    let st = direction_two(5000, 0x7e57_d1ff_0002);
    eprintln!("direction 2: {st:?}");
    assert!(
        st.reach > 1500 && st.withdraw > 500 && st.opens > 1000,
        "{st:?}"
    );
    assert_eq!(
        st.rejected_48, 20,
        "netgauze now decodes 48-octet next hops: {st:?}"
    );
}
