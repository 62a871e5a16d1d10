//! Path attributes (RFC 4271 §4.3, §5) and their RFC 7606 error handling.
//!
//! Each attribute is decoded from its value bytes into an [`AttrValue`]; list-like values
//! (AS paths, communities, MP NLRI) stay views over the received bytes. The attribute flags are
//! kept so that re-encoding a received attribute gives back the same bytes (including an
//! Extended Length bit on a short attribute). Per RFC 7606 §7 each malformation maps to an
//! [`Action`]:
//!
//! | attribute | malformed → |
//! |---|---|
//! | ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST, EXTENDED_COMMUNITIES, LARGE_COMMUNITY | treat-as-withdraw (§7.1–7.5, 7.8–7.10, 7.14, RFC 8092 §6) |
//! | ATOMIC_AGGREGATE, AGGREGATOR, AS4_AGGREGATOR, AS4_PATH | attribute discard (§7.6, §7.7, RFC 6793 §6) |
//! | MP_REACH_NLRI, MP_UNREACH_NLRI | AFI/SAFI disable when the family is known, else session reset (§7.11, §5.3) |
//! | flags in conflict with the type | as the attribute's own malformation (§3 c) |
//! | unrecognised well-known attribute | session reset, 3/2 (RFC 4271 §6.3) |
//! | LOCAL_PREF from an external peer | attribute discard (§7.5) |
//! | confederation segments from an external peer | treat-as-withdraw (§7.2) |

mod aspath;
mod lists;

use std::borrow::Cow;
use std::net::Ipv4Addr;

use tern_types::{Afi, Family, Safi};

pub use aspath::{AsPath, AsPathError, Segment, SegmentType};
pub use lists::{ClusterList, Communities, ExtCommunities, LargeCommunities};

use crate::nexthop::NextHop;
use crate::nlri::{self, NlriIter};
use crate::notification::{Notification, code, update_sub};
use crate::reader::Reader;
use crate::{Ctx, EncodeError, len_u16};

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flag {
    /// Optional.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended Length.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes.
pub mod type_code {
    /// ORIGIN.
    pub const ORIGIN: u8 = 1;
    /// AS_PATH.
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP.
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC.
    pub const MED: u8 = 4;
    /// LOCAL_PREF.
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE.
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR.
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES.
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID.
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST.
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI.
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI.
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES.
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH.
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR.
    pub const AS4_AGGREGATOR: u8 = 18;
    /// LARGE_COMMUNITY.
    pub const LARGE_COMMUNITY: u8 = 32;
}

/// What an error asks of the receiver (RFC 7606 §2), least to most severe.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Action {
    /// Drop the attribute, keep the routes.
    AttributeDiscard,
    /// Withdraw every route the UPDATE carries (§2 "treat-as-withdraw").
    TreatAsWithdraw,
    /// Stop using the family with this peer (§2 "AFI/SAFI disable").
    AfiSafiDisable(Family),
    /// Send the NOTIFICATION and reset the session.
    SessionReset,
}

/// ORIGIN values.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Origin {
    /// IGP (0).
    Igp,
    /// EGP (1).
    Egp,
    /// INCOMPLETE (2).
    Incomplete,
}

impl Origin {
    /// Wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}

/// AGGREGATOR or AS4_AGGREGATOR.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Aggregator {
    /// The aggregating AS.
    pub asn: u32,
    /// The aggregating speaker's identifier.
    pub addr: Ipv4Addr,
    /// 8-octet (4-octet AS) form rather than 6-octet.
    pub four_octet: bool,
}

/// MP_REACH_NLRI (RFC 4760 §3).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MpReach<'a> {
    /// Family.
    pub family: Family,
    /// Next hop.
    pub next_hop: NextHop,
    /// The reserved octet (formerly SNPA count), kept as received.
    pub reserved: u8,
    /// The NLRI field; checked against the family at decode time when the family is known.
    pub nlri: Cow<'a, [u8]>,
    add_path: bool,
}

impl<'a> MpReach<'a> {
    /// Builds an MP_REACH_NLRI from encoded NLRI.
    pub fn new(
        family: Family,
        next_hop: NextHop,
        nlri: Vec<u8>,
        add_path: bool,
    ) -> MpReach<'static> {
        MpReach {
            family,
            next_hop,
            reserved: 0,
            nlri: Cow::Owned(nlri),
            add_path,
        }
    }

    /// The routes (empty for families tern does not decode).
    pub fn routes(&self) -> impl Iterator<Item = nlri::Nlri> + '_ {
        let bytes: &[u8] = if self.family.is_known() {
            &self.nlri
        } else {
            &[]
        };
        NlriIter::new(bytes, self.family, self.add_path, false).filter_map(Result::ok)
    }

    /// True when the NLRI carry ADD-PATH identifiers.
    pub fn add_path(&self) -> bool {
        self.add_path
    }

    /// An owned copy.
    pub fn into_owned(self) -> MpReach<'static> {
        MpReach {
            nlri: Cow::Owned(self.nlri.into_owned()),
            ..self
        }
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MpUnreach<'a> {
    /// Family.
    pub family: Family,
    /// The withdrawn routes field.
    pub withdrawn: Cow<'a, [u8]>,
    add_path: bool,
}

impl<'a> MpUnreach<'a> {
    /// Builds an MP_UNREACH_NLRI from encoded NLRI.
    pub fn new(family: Family, withdrawn: Vec<u8>, add_path: bool) -> MpUnreach<'static> {
        MpUnreach {
            family,
            withdrawn: Cow::Owned(withdrawn),
            add_path,
        }
    }

    /// The withdrawn routes (empty for families tern does not decode).
    pub fn routes(&self) -> impl Iterator<Item = nlri::Nlri> + '_ {
        let bytes: &[u8] = if self.family.is_known() {
            &self.withdrawn
        } else {
            &[]
        };
        NlriIter::new(bytes, self.family, self.add_path, true).filter_map(Result::ok)
    }

    /// True for an End-of-RIB marker of this family (RFC 4724 §2).
    pub fn is_end_of_rib(&self) -> bool {
        self.withdrawn.is_empty()
    }

    /// An owned copy.
    pub fn into_owned(self) -> MpUnreach<'static> {
        MpUnreach {
            withdrawn: Cow::Owned(self.withdrawn.into_owned()),
            ..self
        }
    }
}

/// A decoded attribute value.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AttrValue<'a> {
    /// ORIGIN.
    Origin(Origin),
    /// AS_PATH.
    AsPath(AsPath<'a>),
    /// NEXT_HOP.
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC.
    Med(u32),
    /// LOCAL_PREF.
    LocalPref(u32),
    /// ATOMIC_AGGREGATE.
    AtomicAggregate,
    /// AGGREGATOR.
    Aggregator(Aggregator),
    /// COMMUNITIES.
    Communities(Communities<'a>),
    /// ORIGINATOR_ID.
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST.
    ClusterList(ClusterList<'a>),
    /// MP_REACH_NLRI.
    MpReach(MpReach<'a>),
    /// MP_UNREACH_NLRI.
    MpUnreach(MpUnreach<'a>),
    /// EXTENDED COMMUNITIES.
    ExtCommunities(ExtCommunities<'a>),
    /// AS4_PATH.
    As4Path(AsPath<'a>),
    /// AS4_AGGREGATOR.
    As4Aggregator(Aggregator),
    /// LARGE_COMMUNITY.
    LargeCommunities(LargeCommunities<'a>),
    /// An attribute tern does not know, kept as bytes.
    Unknown {
        /// Type code.
        type_code: u8,
        /// Value.
        data: Cow<'a, [u8]>,
    },
}

impl AttrValue<'_> {
    /// The type code.
    pub fn type_code(&self) -> u8 {
        use crate::attr::type_code as t;
        match self {
            AttrValue::Origin(_) => t::ORIGIN,
            AttrValue::AsPath(_) => t::AS_PATH,
            AttrValue::NextHop(_) => t::NEXT_HOP,
            AttrValue::Med(_) => t::MED,
            AttrValue::LocalPref(_) => t::LOCAL_PREF,
            AttrValue::AtomicAggregate => t::ATOMIC_AGGREGATE,
            AttrValue::Aggregator(_) => t::AGGREGATOR,
            AttrValue::Communities(_) => t::COMMUNITIES,
            AttrValue::OriginatorId(_) => t::ORIGINATOR_ID,
            AttrValue::ClusterList(_) => t::CLUSTER_LIST,
            AttrValue::MpReach(_) => t::MP_REACH_NLRI,
            AttrValue::MpUnreach(_) => t::MP_UNREACH_NLRI,
            AttrValue::ExtCommunities(_) => t::EXTENDED_COMMUNITIES,
            AttrValue::As4Path(_) => t::AS4_PATH,
            AttrValue::As4Aggregator(_) => t::AS4_AGGREGATOR,
            AttrValue::LargeCommunities(_) => t::LARGE_COMMUNITY,
            AttrValue::Unknown { type_code, .. } => *type_code,
        }
    }
}

/// The Optional and Transitive bits a known attribute must carry (RFC 4271 §5, RFC 4760,
/// RFC 4360, RFC 4456, RFC 6793, RFC 8092); `None` for unknown types.
pub fn expected_flags(type_code: u8) -> Option<u8> {
    use crate::attr::type_code as t;
    use flag::{OPTIONAL as O, TRANSITIVE as T};
    Some(match type_code {
        t::ORIGIN | t::AS_PATH | t::NEXT_HOP | t::LOCAL_PREF | t::ATOMIC_AGGREGATE => T,
        t::MED | t::ORIGINATOR_ID | t::CLUSTER_LIST | t::MP_REACH_NLRI | t::MP_UNREACH_NLRI => O,
        t::AGGREGATOR
        | t::COMMUNITIES
        | t::EXTENDED_COMMUNITIES
        | t::AS4_PATH
        | t::AS4_AGGREGATOR
        | t::LARGE_COMMUNITY => O | T,
        _ => return None,
    })
}

/// One path attribute: flags as received (or chosen) and the value.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PathAttribute<'a> {
    /// Flags octet. The Extended Length bit is forced on encode when the value needs it.
    pub flags: u8,
    /// Value.
    pub value: AttrValue<'a>,
}

/// A malformed attribute, with what to do about it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AttrError {
    /// Type code of the attribute at fault.
    pub type_code: u8,
    /// What RFC 7606 asks for.
    pub action: Action,
    /// The NOTIFICATION a session reset would send (code 3 and its subcode, with the data).
    pub notification: Notification,
}

impl<'a> PathAttribute<'a> {
    /// An attribute with the flags its type calls for (Extended Length for MP attributes,
    /// as their NLRI usually need it).
    pub fn new(value: AttrValue<'a>) -> Self {
        let tc = value.type_code();
        let mut flags = expected_flags(tc).unwrap_or(flag::OPTIONAL | flag::TRANSITIVE);
        if matches!(tc, type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI) {
            flags |= flag::EXTENDED_LENGTH;
        }
        PathAttribute { flags, value }
    }

    /// The type code.
    pub fn type_code(&self) -> u8 {
        self.value.type_code()
    }

    /// Decodes one attribute value. `raw` is the whole attribute (flags, type, length, value),
    /// used as NOTIFICATION data.
    pub fn decode(
        flags: u8,
        tc: u8,
        value: &'a [u8],
        raw: &[u8],
        ctx: &Ctx,
    ) -> Result<Self, AttrError> {
        use crate::attr::type_code as t;
        let err = |action: Action, sub: u8| AttrError {
            type_code: tc,
            action,
            notification: Notification::with_data(code::UPDATE, sub, raw.to_vec()),
        };
        let taw = |sub| err(Action::TreatAsWithdraw, sub);
        let discard = |sub| err(Action::AttributeDiscard, sub);
        let mp_err = |value: &[u8], sub| {
            let mut r = Reader::new(value);
            match (r.u16(), r.u8()) {
                (Some(afi), Some(safi)) if Family::new(Afi(afi), Safi(safi)).is_known() => err(
                    Action::AfiSafiDisable(Family::new(Afi(afi), Safi(safi))),
                    sub,
                ),
                _ => err(Action::SessionReset, sub),
            }
        };

        // Flags in conflict with the type (RFC 7606 §3 c): handled as the attribute's own
        // malformation.
        if let Some(expected) = expected_flags(tc)
            && flags & (flag::OPTIONAL | flag::TRANSITIVE) != expected
        {
            return Err(match tc {
                t::ATOMIC_AGGREGATE | t::AGGREGATOR | t::AS4_AGGREGATOR | t::AS4_PATH => {
                    discard(update_sub::ATTR_FLAGS)
                }
                t::MP_REACH_NLRI | t::MP_UNREACH_NLRI => mp_err(value, update_sub::ATTR_FLAGS),
                _ => taw(update_sub::ATTR_FLAGS),
            });
        }
        let u32_of = |v: &[u8]| {
            v.first_chunk::<4>()
                .filter(|_| v.len() == 4)
                .map(|a| u32::from_be_bytes(*a))
        };
        let val = match tc {
            t::ORIGIN => match value {
                [0] => AttrValue::Origin(Origin::Igp),
                [1] => AttrValue::Origin(Origin::Egp),
                [2] => AttrValue::Origin(Origin::Incomplete),
                [_] => return Err(taw(update_sub::INVALID_ORIGIN)),
                _ => return Err(taw(update_sub::ATTR_LENGTH)),
            },
            t::AS_PATH => {
                let p = AsPath::from_wire(value, ctx.four_octet_as)
                    .map_err(|_| taw(update_sub::MALFORMED_AS_PATH))?;
                if ctx.ebgp && p.has_confed() {
                    return Err(taw(update_sub::MALFORMED_AS_PATH));
                }
                AttrValue::AsPath(p)
            }
            t::NEXT_HOP => AttrValue::NextHop(Ipv4Addr::from(
                u32_of(value).ok_or_else(|| taw(update_sub::ATTR_LENGTH))?,
            )),
            t::MED => AttrValue::Med(u32_of(value).ok_or_else(|| taw(update_sub::ATTR_LENGTH))?),
            t::LOCAL_PREF => {
                let v = u32_of(value).ok_or_else(|| taw(update_sub::ATTR_LENGTH))?;
                if ctx.ebgp {
                    return Err(discard(update_sub::OPTIONAL_ATTR));
                }
                AttrValue::LocalPref(v)
            }
            t::ATOMIC_AGGREGATE => {
                if !value.is_empty() {
                    return Err(discard(update_sub::ATTR_LENGTH));
                }
                AttrValue::AtomicAggregate
            }
            t::AGGREGATOR | t::AS4_AGGREGATOR => {
                let four = tc == t::AS4_AGGREGATOR || ctx.four_octet_as;
                let mut r = Reader::new(value);
                let asn = if four {
                    r.u32()
                } else {
                    r.u16().map(u32::from)
                };
                let addr = r.u32().map(Ipv4Addr::from);
                match (asn, addr, r.is_empty()) {
                    (Some(asn), Some(addr), true) => {
                        let a = Aggregator {
                            asn,
                            addr,
                            four_octet: four,
                        };
                        if tc == t::AGGREGATOR {
                            AttrValue::Aggregator(a)
                        } else {
                            AttrValue::As4Aggregator(a)
                        }
                    }
                    _ => return Err(discard(update_sub::ATTR_LENGTH)),
                }
            }
            t::COMMUNITIES => AttrValue::Communities(
                Communities::from_wire(value).ok_or_else(|| taw(update_sub::OPTIONAL_ATTR))?,
            ),
            t::ORIGINATOR_ID => AttrValue::OriginatorId(Ipv4Addr::from(
                u32_of(value).ok_or_else(|| taw(update_sub::ATTR_LENGTH))?,
            )),
            t::CLUSTER_LIST => AttrValue::ClusterList(
                ClusterList::from_wire(value).ok_or_else(|| taw(update_sub::ATTR_LENGTH))?,
            ),
            t::EXTENDED_COMMUNITIES => AttrValue::ExtCommunities(
                ExtCommunities::from_wire(value).ok_or_else(|| taw(update_sub::OPTIONAL_ATTR))?,
            ),
            t::LARGE_COMMUNITY => AttrValue::LargeCommunities(
                LargeCommunities::from_wire(value).ok_or_else(|| taw(update_sub::OPTIONAL_ATTR))?,
            ),
            t::AS4_PATH => {
                let p = AsPath::from_wire(value, true)
                    .map_err(|_| discard(update_sub::MALFORMED_AS_PATH))?;
                if p.has_confed() {
                    return Err(discard(update_sub::MALFORMED_AS_PATH));
                }
                AttrValue::As4Path(p)
            }
            t::MP_REACH_NLRI => {
                let bad = |sub| mp_err(value, sub);
                let mut r = Reader::new(value);
                let afi = r
                    .u16()
                    .ok_or_else(|| err(Action::SessionReset, update_sub::OPTIONAL_ATTR))?;
                let safi = r
                    .u8()
                    .ok_or_else(|| err(Action::SessionReset, update_sub::OPTIONAL_ATTR))?;
                let family = Family::new(Afi(afi), Safi(safi));
                let nh_len = r.u8().ok_or_else(|| bad(update_sub::OPTIONAL_ATTR))?;
                let nh_bytes = r
                    .take(usize::from(nh_len))
                    .ok_or_else(|| bad(update_sub::OPTIONAL_ATTR))?;
                let next_hop = NextHop::decode(family, nh_bytes)
                    .map_err(|_| bad(update_sub::OPTIONAL_ATTR))?;
                let reserved = r.u8().ok_or_else(|| bad(update_sub::OPTIONAL_ATTR))?;
                let nlri_bytes = r.rest();
                let add_path = ctx.add_path.contains(family);
                if family.is_known() {
                    nlri::validate(nlri_bytes, family, add_path, false)
                        .map_err(|_| bad(update_sub::OPTIONAL_ATTR))?;
                }
                AttrValue::MpReach(MpReach {
                    family,
                    next_hop,
                    reserved,
                    nlri: Cow::Borrowed(nlri_bytes),
                    add_path,
                })
            }
            t::MP_UNREACH_NLRI => {
                let mut r = Reader::new(value);
                let afi = r
                    .u16()
                    .ok_or_else(|| err(Action::SessionReset, update_sub::OPTIONAL_ATTR))?;
                let safi = r
                    .u8()
                    .ok_or_else(|| err(Action::SessionReset, update_sub::OPTIONAL_ATTR))?;
                let family = Family::new(Afi(afi), Safi(safi));
                let add_path = ctx.add_path.contains(family);
                let w = r.rest();
                if family.is_known() {
                    nlri::validate(w, family, add_path, true)
                        .map_err(|_| mp_err(value, update_sub::OPTIONAL_ATTR))?;
                }
                AttrValue::MpUnreach(MpUnreach {
                    family,
                    withdrawn: Cow::Borrowed(w),
                    add_path,
                })
            }
            _ => {
                if flags & flag::OPTIONAL == 0 {
                    return Err(err(
                        Action::SessionReset,
                        update_sub::UNRECOGNIZED_WELL_KNOWN,
                    ));
                }
                AttrValue::Unknown {
                    type_code: tc,
                    data: Cow::Borrowed(value),
                }
            }
        };
        Ok(PathAttribute { flags, value: val })
    }

    /// Appends the attribute (flags, type, length, value).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&[self.flags | flag::EXTENDED_LENGTH, self.type_code(), 0, 0]);
        let value_start = out.len();
        match &self.value {
            AttrValue::Origin(o) => out.push(o.to_u8()),
            AttrValue::AsPath(p) | AttrValue::As4Path(p) => out.extend_from_slice(p.as_bytes()),
            AttrValue::NextHop(a) | AttrValue::OriginatorId(a) => {
                out.extend_from_slice(&a.octets())
            }
            AttrValue::Med(v) | AttrValue::LocalPref(v) => out.extend_from_slice(&v.to_be_bytes()),
            AttrValue::AtomicAggregate => {}
            AttrValue::Aggregator(a) | AttrValue::As4Aggregator(a) => {
                if a.four_octet {
                    out.extend_from_slice(&a.asn.to_be_bytes());
                } else {
                    out.extend_from_slice(
                        &u16::try_from(a.asn)
                            .unwrap_or(tern_types::AS_TRANS)
                            .to_be_bytes(),
                    );
                }
                out.extend_from_slice(&a.addr.octets());
            }
            AttrValue::Communities(c) => out.extend_from_slice(c.as_bytes()),
            AttrValue::ClusterList(c) => out.extend_from_slice(c.as_bytes()),
            AttrValue::ExtCommunities(c) => out.extend_from_slice(c.as_bytes()),
            AttrValue::LargeCommunities(c) => out.extend_from_slice(c.as_bytes()),
            AttrValue::MpReach(m) => {
                out.extend_from_slice(&m.family.afi.0.to_be_bytes());
                out.push(m.family.safi.0);
                out.push(crate::len_u8(m.next_hop.wire_len(m.family))?);
                m.next_hop.encode(m.family, out);
                out.push(m.reserved);
                out.extend_from_slice(&m.nlri);
            }
            AttrValue::MpUnreach(m) => {
                out.extend_from_slice(&m.family.afi.0.to_be_bytes());
                out.push(m.family.safi.0);
                out.extend_from_slice(&m.withdrawn);
            }
            AttrValue::Unknown { data, .. } => out.extend_from_slice(data),
        }
        finish_attr(
            out,
            start,
            value_start,
            self.flags & flag::EXTENDED_LENGTH != 0,
        )
    }

    /// An owned copy.
    pub fn into_owned(self) -> PathAttribute<'static> {
        let value = match self.value {
            AttrValue::Origin(o) => AttrValue::Origin(o),
            AttrValue::AsPath(p) => AttrValue::AsPath(p.into_owned()),
            AttrValue::NextHop(a) => AttrValue::NextHop(a),
            AttrValue::Med(v) => AttrValue::Med(v),
            AttrValue::LocalPref(v) => AttrValue::LocalPref(v),
            AttrValue::AtomicAggregate => AttrValue::AtomicAggregate,
            AttrValue::Aggregator(a) => AttrValue::Aggregator(a),
            AttrValue::Communities(c) => AttrValue::Communities(c.into_owned()),
            AttrValue::OriginatorId(a) => AttrValue::OriginatorId(a),
            AttrValue::ClusterList(c) => AttrValue::ClusterList(c.into_owned()),
            AttrValue::MpReach(m) => AttrValue::MpReach(m.into_owned()),
            AttrValue::MpUnreach(m) => AttrValue::MpUnreach(m.into_owned()),
            AttrValue::ExtCommunities(c) => AttrValue::ExtCommunities(c.into_owned()),
            AttrValue::As4Path(p) => AttrValue::As4Path(p.into_owned()),
            AttrValue::As4Aggregator(a) => AttrValue::As4Aggregator(a),
            AttrValue::LargeCommunities(c) => AttrValue::LargeCommunities(c.into_owned()),
            AttrValue::Unknown { type_code, data } => AttrValue::Unknown {
                type_code,
                data: Cow::Owned(data.into_owned()),
            },
        };
        PathAttribute {
            flags: self.flags,
            value,
        }
    }
}

/// Fixes up the length of an attribute written with a 2-octet length placeholder at
/// `start + 2`: keeps the 2-octet form if `keep_extended` or the value needs it, else drops one
/// octet and clears the Extended Length bit.
pub(crate) fn finish_attr(
    out: &mut Vec<u8>,
    start: usize,
    value_start: usize,
    keep_extended: bool,
) -> Result<(), EncodeError> {
    let vlen = out.len().saturating_sub(value_start);
    if keep_extended || vlen > 255 {
        crate::reader::patch_u16(out, start.saturating_add(2), len_u16(vlen)?);
    } else {
        // Shift the value one octet left over the second length octet.
        let len_at = start.saturating_add(2);
        out.remove(len_at.saturating_add(1));
        crate::reader::patch_u8(out, len_at, crate::len_u8(vlen)?);
        if let Some(f) = out.get_mut(start) {
            *f &= !flag::EXTENDED_LENGTH;
        }
    }
    Ok(())
}
