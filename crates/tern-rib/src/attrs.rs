//! Path attributes as the RIB keeps them (RFC 4271 §5).
//!
//! - [`PathAttrs`]: one route's attributes as owned values. Built once per UPDATE from a
//!   [`ParsedUpdate`] (AS_PATH in 4-octet form, rebuilt from AS4_PATH on 2-octet sessions,
//!   RFC 6793 §4.2.3), handed to import policy, and produced back from the store for export
//!   and displays.
//! - [`AttrSet`]: the interned form. Lists that many attribute sets share (AS path,
//!   communities, extended communities — the route-target list —, large communities,
//!   cluster list) are interned separately and referred to by `u32` ids; the rest (origin,
//!   next hop, MED, LOCAL_PREF, ...) sits in the set itself. A route refers to one set by an
//!   [`AttrId`].
//! - [`AttrStore`]: the interners of one RIB, with reference counts: when the last route
//!   using a set goes, the set goes, and with it its references to the parts.
//!
//! Unrecognised optional transitive attributes are kept (to be passed on with the Partial bit,
//! RFC 4271 §5); unrecognised non-transitive ones are dropped (RFC 4271 §9).

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::mem::size_of;
use std::net::Ipv4Addr;

use tern_types::{AS_TRANS, ExtCommunity, LabelStack};
use tern_wire::attr::{
    Aggregator, AsPath, ClusterList, Communities, ExtCommunities, LargeCommunities, Origin, flag,
};
use tern_wire::{AttrValue, NextHop, ParsedUpdate, PathAttribute};

use crate::intern::{HeapSize, Interner};

/// An unrecognised optional transitive attribute, kept for propagation.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct UnknownAttr {
    /// Flags as received.
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub data: Box<[u8]>,
}

/// One route's attributes, owned.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PathAttrs {
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH, always in 4-octet form.
    pub as_path: AsPath<'static>,
    /// Next hop (NEXT_HOP or the MP_REACH_NLRI next hop).
    pub next_hop: NextHop,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// VRP's preferred value (local to this router, never sent; higher wins).
    pub preferred_value: u32,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR (4-octet AS, AS4_AGGREGATOR folded in).
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES.
    pub communities: Vec<u32>,
    /// EXTENDED_COMMUNITIES (route targets among them).
    pub ext_communities: Vec<ExtCommunity>,
    /// LARGE_COMMUNITY.
    pub large_communities: Vec<[u32; 3]>,
    /// ORIGINATOR_ID (RFC 4456 §8).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST, most recent first (RFC 4456 §8).
    pub cluster_list: Vec<Ipv4Addr>,
    /// Unrecognised optional transitive attributes.
    pub unknown: Vec<UnknownAttr>,
}

impl PathAttrs {
    /// Attributes with the given origin, path and next hop, everything else absent.
    pub fn new(origin: Origin, as_path: AsPath<'static>, next_hop: NextHop) -> PathAttrs {
        PathAttrs {
            origin,
            as_path,
            next_hop,
            med: None,
            local_pref: None,
            preferred_value: 0,
            atomic_aggregate: false,
            aggregator: None,
            communities: Vec::new(),
            ext_communities: Vec::new(),
            large_communities: Vec::new(),
            originator_id: None,
            cluster_list: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// The attributes of an UPDATE, with `next_hop` (the caller picks NEXT_HOP or the
    /// MP_REACH_NLRI next hop). `None` when ORIGIN or AS_PATH is missing (the codec then
    /// reports treat-as-withdraw, RFC 7606 §3 d).
    pub fn from_update(u: &ParsedUpdate<'_>, next_hop: NextHop) -> Option<PathAttrs> {
        let origin = u.origin()?;
        let path = u.as_path()?;
        let as_path = if path.is_four_octet() {
            path.clone().into_owned()
        } else {
            match u.as4_path() {
                Some(as4) => path.merge_as4(as4),
                None => path.to_width(true),
            }
        };
        let mut a = PathAttrs::new(origin, as_path, next_hop);
        let mut as4_aggregator = None;
        for attr in &u.attrs {
            match &attr.value {
                AttrValue::Med(v) => a.med = Some(*v),
                AttrValue::LocalPref(v) => a.local_pref = Some(*v),
                AttrValue::AtomicAggregate => a.atomic_aggregate = true,
                AttrValue::Aggregator(g) => {
                    a.aggregator = Some(Aggregator {
                        four_octet: true,
                        ..*g
                    })
                }
                AttrValue::As4Aggregator(g) => as4_aggregator = Some(*g),
                AttrValue::Communities(c) => a.communities = c.iter().collect(),
                AttrValue::ExtCommunities(c) => a.ext_communities = c.iter().collect(),
                AttrValue::LargeCommunities(c) => {
                    a.large_communities = c.iter().map(|(x, y, z)| [x, y, z]).collect()
                }
                AttrValue::OriginatorId(id) => a.originator_id = Some(*id),
                AttrValue::ClusterList(c) => a.cluster_list = c.iter().collect(),
                AttrValue::Unknown { type_code, data }
                    if attr.flags & flag::OPTIONAL != 0 && attr.flags & flag::TRANSITIVE != 0 =>
                {
                    a.unknown.push(UnknownAttr {
                        flags: attr.flags,
                        type_code: *type_code,
                        data: data.as_ref().into(),
                    })
                }
                _ => {}
            }
        }
        // RFC 6793 §4.2.3: AS4_AGGREGATOR replaces an AGGREGATOR naming AS_TRANS.
        if let (Some(g), Some(g4)) = (a.aggregator, as4_aggregator)
            && g.asn == u32::from(AS_TRANS)
        {
            a.aggregator = Some(Aggregator {
                four_octet: true,
                ..g4
            });
        }
        Some(a)
    }

    /// The attributes to send, in type-code order, without NEXT_HOP and MP attributes (the
    /// [`tern_wire::UpdateBuilder`] adds those). `four_octet`: the session's AS number width;
    /// on a 2-octet session AS4_PATH / AS4_AGGREGATOR are added when needed (RFC 6793 §4.2.2).
    /// The preferred value is never sent.
    pub fn to_wire(&self, four_octet: bool) -> Vec<PathAttribute<'static>> {
        let mut v = vec![
            PathAttribute::new(AttrValue::Origin(self.origin)),
            PathAttribute::new(AttrValue::AsPath(if four_octet {
                self.as_path.clone()
            } else {
                self.as_path.to_width(false)
            })),
        ];
        if let Some(m) = self.med {
            v.push(PathAttribute::new(AttrValue::Med(m)));
        }
        if let Some(l) = self.local_pref {
            v.push(PathAttribute::new(AttrValue::LocalPref(l)));
        }
        if self.atomic_aggregate {
            v.push(PathAttribute::new(AttrValue::AtomicAggregate));
        }
        if let Some(g) = self.aggregator {
            v.push(PathAttribute::new(AttrValue::Aggregator(Aggregator {
                four_octet,
                asn: if four_octet {
                    g.asn
                } else {
                    u32::from(tern_types::Asn(g.asn).as_u16_or_trans())
                },
                ..g
            })));
        }
        if !self.communities.is_empty() {
            v.push(PathAttribute::new(AttrValue::Communities(
                Communities::from_items(self.communities.iter().copied()),
            )));
        }
        if let Some(o) = self.originator_id {
            v.push(PathAttribute::new(AttrValue::OriginatorId(o)));
        }
        if !self.cluster_list.is_empty() {
            v.push(PathAttribute::new(AttrValue::ClusterList(
                ClusterList::from_items(self.cluster_list.iter().copied()),
            )));
        }
        if !self.ext_communities.is_empty() {
            v.push(PathAttribute::new(AttrValue::ExtCommunities(
                ExtCommunities::from_items(self.ext_communities.iter().copied()),
            )));
        }
        if !four_octet && self.as_path.needs_as4() {
            v.push(PathAttribute::new(AttrValue::As4Path(self.as_path.clone())));
            if let Some(g) = self.aggregator.filter(|g| g.asn > u32::from(u16::MAX)) {
                v.push(PathAttribute::new(AttrValue::As4Aggregator(Aggregator {
                    four_octet: true,
                    ..g
                })));
            }
        }
        if !self.large_communities.is_empty() {
            v.push(PathAttribute::new(AttrValue::LargeCommunities(
                LargeCommunities::from_items(
                    self.large_communities.iter().map(|l| (l[0], l[1], l[2])),
                ),
            )));
        }
        for u in &self.unknown {
            v.push(PathAttribute {
                flags: u.flags | flag::PARTIAL,
                value: AttrValue::Unknown {
                    type_code: u.type_code,
                    data: u.data.to_vec().into(),
                },
            });
        }
        v.sort_by_key(|a| a.type_code());
        v
    }
}

/// An interned AS path: the 4-octet wire form, with the figures the decision process needs.
#[derive(Debug)]
pub struct AsPathPart {
    bytes: Box<[u8]>,
    /// Length for the decision process (AS_SET 1, confederation segments 0).
    pub len: u32,
    /// The neighbour AS for MED comparison: the first AS of the first AS_SEQUENCE after any
    /// confederation segments; `None` for an empty path (a route from inside the AS) or one
    /// starting with an AS_SET.
    pub neighbour_as: Option<u32>,
}

impl AsPathPart {
    fn new(bytes: &[u8]) -> AsPathPart {
        let p = AsPath::from_wire(bytes, true).unwrap_or_else(|_| AsPath::empty(true));
        let neighbour_as = p
            .segments()
            .find(|s| !s.kind.is_confed())
            .filter(|s| s.kind == tern_wire::attr::SegmentType::Sequence)
            .and_then(|s| s.asns().next());
        AsPathPart {
            len: u32::try_from(p.path_len()).unwrap_or(u32::MAX),
            neighbour_as,
            bytes: bytes.into(),
        }
    }

    /// The path (a view over the stored bytes).
    pub fn path(&self) -> AsPath<'_> {
        AsPath::from_wire(&self.bytes, true).unwrap_or_else(|_| AsPath::empty(true))
    }
}

impl PartialEq for AsPathPart {
    fn eq(&self, o: &Self) -> bool {
        self.bytes == o.bytes
    }
}
impl Eq for AsPathPart {}
impl Hash for AsPathPart {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.bytes.hash(h)
    }
}
impl Borrow<[u8]> for AsPathPart {
    fn borrow(&self) -> &[u8] {
        &self.bytes
    }
}
impl HeapSize for AsPathPart {
    fn heap_size(&self) -> usize {
        self.bytes.len()
    }
}

/// The id of an interned attribute set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AttrId(pub u32);

impl AttrId {
    /// No attributes: a path refused by loop detection or import policy.
    pub const NONE: AttrId = AttrId(u32::MAX);

    /// True unless [`AttrId::NONE`].
    pub fn is_some(self) -> bool {
        self != AttrId::NONE
    }
}

/// An interned attribute set: small values inline, lists by part id.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct AttrSet {
    /// ORIGIN.
    pub origin: Origin,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Preferred value.
    pub preferred_value: u32,
    /// ORIGINATOR_ID.
    pub originator_id: Option<Ipv4Addr>,
    /// AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// Next hop.
    pub next_hop: NextHop,
    /// AS path part id.
    pub as_path: u32,
    /// Communities part id.
    pub communities: u32,
    /// Extended communities part id.
    pub ext_communities: u32,
    /// Large communities part id.
    pub large_communities: u32,
    /// Cluster list part id.
    pub cluster_list: u32,
    /// Unrecognised optional transitive attributes (rare; empty costs nothing).
    pub unknown: Box<[UnknownAttr]>,
}

impl HeapSize for AttrSet {
    fn heap_size(&self) -> usize {
        let nh = match &self.next_hop {
            NextHop::Other(b) => b.capacity(),
            _ => 0,
        };
        self.unknown
            .iter()
            .map(|u| size_of::<UnknownAttr>().saturating_add(u.data.len()))
            .fold(nh, usize::saturating_add)
    }
}

impl HeapSize for LabelStack {
    fn heap_size(&self) -> usize {
        0
    }
}

/// Counts of what a store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Attribute sets.
    pub sets: usize,
    /// AS paths.
    pub as_paths: usize,
    /// Community lists.
    pub communities: usize,
    /// Extended community lists.
    pub ext_communities: usize,
    /// Large community lists.
    pub large_communities: usize,
    /// Cluster lists.
    pub cluster_lists: usize,
    /// Label stacks of more than one entry.
    pub label_stacks: usize,
    /// Octets allocated by the interners.
    pub bytes: usize,
}

/// The interners of one RIB.
#[derive(Default)]
pub struct AttrStore {
    sets: Interner<AttrSet>,
    as_paths: Interner<AsPathPart>,
    communities: Interner<Box<[u32]>>,
    ext_communities: Interner<Box<[ExtCommunity]>>,
    large_communities: Interner<Box<[[u32; 3]]>>,
    cluster_lists: Interner<Box<[Ipv4Addr]>>,
    pub(crate) label_stacks: Interner<LabelStack>,
}

impl AttrStore {
    /// Interns `a`, taking one reference on the set.
    pub fn intern(&mut self, a: &PathAttrs) -> AttrId {
        let set = AttrSet {
            origin: a.origin,
            atomic_aggregate: a.atomic_aggregate,
            med: a.med,
            local_pref: a.local_pref,
            preferred_value: a.preferred_value,
            originator_id: a.originator_id,
            aggregator: a.aggregator,
            next_hop: a.next_hop.clone(),
            as_path: self
                .as_paths
                .intern_by(a.as_path.as_bytes(), AsPathPart::new),
            communities: self
                .communities
                .intern_by(a.communities.as_slice(), |s| s.into()),
            ext_communities: self
                .ext_communities
                .intern_by(a.ext_communities.as_slice(), |s| s.into()),
            large_communities: self
                .large_communities
                .intern_by(a.large_communities.as_slice(), |s| s.into()),
            cluster_list: self
                .cluster_lists
                .intern_by(a.cluster_list.as_slice(), |s| s.into()),
            unknown: a.unknown.as_slice().into(),
        };
        if let Some(id) = self.sets.find(&set) {
            // The set already holds references on its parts: give back the ones just taken.
            self.release_parts(&set);
            self.sets.retain(id);
            return AttrId(id);
        }
        AttrId(self.sets.intern(set))
    }

    fn release_parts(&mut self, s: &AttrSet) {
        self.as_paths.release(s.as_path);
        self.communities.release(s.communities);
        self.ext_communities.release(s.ext_communities);
        self.large_communities.release(s.large_communities);
        self.cluster_lists.release(s.cluster_list);
    }

    /// One more reference to `id`.
    pub fn retain(&mut self, id: AttrId) {
        if id.is_some() {
            self.sets.retain(id.0);
        }
    }

    /// Drops one reference to `id`, freeing the set and its parts with the last one.
    pub fn release(&mut self, id: AttrId) {
        if !id.is_some() {
            return;
        }
        if let Some(set) = self.sets.release(id.0) {
            self.release_parts(&set);
        }
    }

    /// The interned set.
    ///
    /// # Panics
    /// When `id` is not live (ids come from this store only).
    pub fn set(&self, id: AttrId) -> &AttrSet {
        self.sets.get(id.0)
    }

    /// References held on a set (0 when not live).
    pub fn refs(&self, id: AttrId) -> u32 {
        self.sets.refs(id.0)
    }

    /// The AS path of a set.
    pub fn as_path(&self, set: &AttrSet) -> &AsPathPart {
        self.as_paths.get(set.as_path)
    }

    /// The cluster list of a set.
    pub fn cluster_list(&self, set: &AttrSet) -> &[Ipv4Addr] {
        self.cluster_lists.get(set.cluster_list)
    }

    /// The communities of a set.
    pub fn communities(&self, set: &AttrSet) -> &[u32] {
        self.communities.get(set.communities)
    }

    /// The extended communities of a set.
    pub fn ext_communities(&self, set: &AttrSet) -> &[ExtCommunity] {
        self.ext_communities.get(set.ext_communities)
    }

    /// The owned attributes of a set.
    pub fn materialize(&self, id: AttrId) -> PathAttrs {
        let s = self.set(id);
        PathAttrs {
            origin: s.origin,
            as_path: self.as_path(s).path().into_owned(),
            next_hop: s.next_hop.clone(),
            med: s.med,
            local_pref: s.local_pref,
            preferred_value: s.preferred_value,
            atomic_aggregate: s.atomic_aggregate,
            aggregator: s.aggregator,
            communities: self.communities.get(s.communities).to_vec(),
            ext_communities: self.ext_communities(s).to_vec(),
            large_communities: self.large_communities.get(s.large_communities).to_vec(),
            originator_id: s.originator_id,
            cluster_list: self.cluster_list(s).to_vec(),
            unknown: s.unknown.to_vec(),
        }
    }

    /// Gives back spare capacity of every interner.
    pub fn shrink_to_fit(&mut self) {
        self.sets.shrink_to_fit();
        self.as_paths.shrink_to_fit();
        self.communities.shrink_to_fit();
        self.ext_communities.shrink_to_fit();
        self.large_communities.shrink_to_fit();
        self.cluster_lists.shrink_to_fit();
        self.label_stacks.shrink_to_fit();
    }

    /// What the store holds.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            sets: self.sets.len(),
            as_paths: self.as_paths.len(),
            communities: self.communities.len(),
            ext_communities: self.ext_communities.len(),
            large_communities: self.large_communities.len(),
            cluster_lists: self.cluster_lists.len(),
            label_stacks: self.label_stacks.len(),
            bytes: [
                self.sets.allocated_bytes(),
                self.as_paths.allocated_bytes(),
                self.communities.allocated_bytes(),
                self.ext_communities.allocated_bytes(),
                self.large_communities.allocated_bytes(),
                self.cluster_lists.allocated_bytes(),
                self.label_stacks.allocated_bytes(),
            ]
            .into_iter()
            .fold(0, usize::saturating_add),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_types::TargetKind;

    fn attrs(path: &[u32], rt: u32) -> PathAttrs {
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::sequence(path, true),
            NextHop::Ipv4(Ipv4Addr::new(1, 1, 1, 1)),
        );
        a.ext_communities = vec![ExtCommunity::as2(TargetKind::RouteTarget, 100, rt)];
        a
    }

    #[test]
    fn parts_are_shared_and_freed_with_the_last_set() {
        let mut s = AttrStore::default();
        let a = s.intern(&attrs(&[100, 200], 1));
        let b = s.intern(&attrs(&[100, 200], 1));
        let c = s.intern(&attrs(&[100, 200], 2));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let st = s.stats();
        assert_eq!((st.sets, st.as_paths, st.ext_communities), (2, 1, 2));
        assert_eq!(s.refs(a), 2);
        assert_eq!(s.materialize(c), attrs(&[100, 200], 2));
        assert_eq!(s.as_path(s.set(a)).len, 2);
        assert_eq!(s.as_path(s.set(a)).neighbour_as, Some(100));
        s.release(a);
        s.release(a);
        let st = s.stats();
        assert_eq!((st.sets, st.as_paths, st.ext_communities), (1, 1, 1));
        s.release(c);
        assert_eq!(
            s.stats().sets + s.stats().as_paths + s.stats().communities,
            0
        );
    }
}
