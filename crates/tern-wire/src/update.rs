//! UPDATE messages (RFC 4271 §4.3) as views over the received bytes, validated by the rules
//! of RFC 7606.
//!
//! [`Update::decode`] only splits the three fields (a length that does not fit is a session
//! reset, 3/1, RFC 7606 §4). [`Update::parse`] walks the attributes once, decodes each
//! ([`PathAttribute::decode`]), and collects the problems with the action each calls for:
//!
//! - an attribute overrunning the attribute field: treat-as-withdraw, or session reset when
//!   the attribute is MP_REACH_NLRI/MP_UNREACH_NLRI (§4, §5.3);
//! - a repeated attribute: all but the first discarded; a repeated MP attribute: session
//!   reset (§3 g);
//! - a missing ORIGIN or AS_PATH when routes are announced, or a missing NEXT_HOP with
//!   IPv4 NLRI: treat-as-withdraw (§3 d), 3/3;
//! - a malformed withdrawn-routes or NLRI field: session reset, 3/10 (§5.3).
//!
//! The routes are then iterated straight from the received bytes.

use std::net::Ipv4Addr;

use smallvec::SmallVec;
use tern_types::Family;

use crate::attr::{
    Action, AsPath, AttrError, AttrValue, ClusterList, Communities, ExtCommunities,
    LargeCommunities, MpReach, MpUnreach, Origin, PathAttribute, flag, type_code,
};
use crate::nlri::{self, Nlri, NlriIter};
use crate::notification::{Notification, code, update_sub};
use crate::reader::Reader;
use crate::{Ctx, EncodeError};

/// An UPDATE's three fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Update<'a> {
    /// Withdrawn Routes (IPv4 unicast).
    pub withdrawn: &'a [u8],
    /// Path Attributes.
    pub attributes: &'a [u8],
    /// Network Layer Reachability Information (IPv4 unicast).
    pub nlri: &'a [u8],
}

/// A parsed UPDATE: the attributes that survived, the problems found, and the routes.
#[derive(Clone, Debug)]
pub struct ParsedUpdate<'a> {
    /// Withdrawn Routes field.
    pub withdrawn: &'a [u8],
    /// NLRI field.
    pub nlri: &'a [u8],
    /// Attributes in wire order; malformed and repeated ones left out.
    pub attrs: SmallVec<[PathAttribute<'a>; 8]>,
    /// Every problem found, in order.
    pub problems: Vec<AttrError>,
    add_path_v4: bool,
}

impl<'a> Update<'a> {
    /// Splits an UPDATE body into its fields.
    pub fn decode(body: &'a [u8]) -> Result<Update<'a>, Notification> {
        let bad = || Notification::new(code::UPDATE, update_sub::MALFORMED_ATTR_LIST);
        let mut r = Reader::new(body);
        let wl = r.u16().ok_or_else(bad)?;
        let withdrawn = r.take(usize::from(wl)).ok_or_else(bad)?;
        let al = r.u16().ok_or_else(bad)?;
        let attributes = r.take(usize::from(al)).ok_or_else(bad)?;
        Ok(Update {
            withdrawn,
            attributes,
            nlri: r.rest(),
        })
    }

    /// Walks and checks the attributes and the NLRI fields.
    pub fn parse(&self, ctx: &Ctx) -> ParsedUpdate<'a> {
        // Built in place: the attributes go straight into the result, not through a move of
        // the whole inline vector.
        let mut parsed = ParsedUpdate {
            withdrawn: self.withdrawn,
            nlri: self.nlri,
            attrs: SmallVec::new(),
            problems: Vec::new(),
            add_path_v4: ctx.add_path.contains(Family::IPV4_UNICAST),
        };
        let mut seen = [0u64; 4];
        let mut r = Reader::new(self.attributes);
        let list_err = |tc: u8, action: Action, data: &[u8]| AttrError {
            type_code: tc,
            action,
            notification: Notification::with_data(
                code::UPDATE,
                update_sub::MALFORMED_ATTR_LIST,
                data.to_vec(),
            ),
        };
        while !r.is_empty() {
            let start = r.rest();
            let (Some(flags), Some(tc)) = (r.u8(), r.u8()) else {
                parsed
                    .problems
                    .push(list_err(0, Action::TreatAsWithdraw, &[]));
                break;
            };
            let is_mp = matches!(tc, type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI);
            let len = if flags & flag::EXTENDED_LENGTH != 0 {
                r.u16()
            } else {
                r.u8().map(u16::from)
            };
            let Some(value) = len.and_then(|l| r.take(usize::from(l))) else {
                let action = if is_mp {
                    Action::SessionReset
                } else {
                    Action::TreatAsWithdraw
                };
                parsed.problems.push(list_err(tc, action, &[]));
                break;
            };
            let raw_len = start.len().saturating_sub(r.remaining());
            let raw = start.get(..raw_len).unwrap_or_default();
            let (word, bit) = (usize::from(tc >> 6), tc & 63);
            let seen_word = seen.get_mut(word);
            if let Some(w) = seen_word {
                if *w & (1u64 << bit) != 0 {
                    let action = if is_mp {
                        Action::SessionReset
                    } else {
                        Action::AttributeDiscard
                    };
                    parsed.problems.push(list_err(tc, action, raw));
                    continue;
                }
                *w |= 1u64 << bit;
            }
            match PathAttribute::decode(flags, tc, value, raw, ctx) {
                Ok(a) => parsed.attrs.push(a),
                Err(e) => parsed.problems.push(e),
            }
        }
        // The IPv4 fields (RFC 7606 §5.3: session reset).
        for (field, withdraw) in [(self.withdrawn, true), (self.nlri, false)] {
            if nlri::validate(field, Family::IPV4_UNICAST, parsed.add_path_v4, withdraw).is_err() {
                parsed.problems.push(AttrError {
                    type_code: 0,
                    action: Action::SessionReset,
                    notification: Notification::new(code::UPDATE, update_sub::INVALID_NETWORK),
                });
            }
        }
        // Mandatory well-known attributes (RFC 7606 §3 d; NEXT_HOP only with IPv4 NLRI).
        let announces =
            !self.nlri.is_empty() || parsed.mp_reach().is_some_and(|m| !m.nlri.is_empty());
        if announces {
            let mut missing: SmallVec<[u8; 3]> = SmallVec::new();
            let present =
                |tc| parsed.attr(tc).is_some() || parsed.problems.iter().any(|p| p.type_code == tc);
            for tc in [type_code::ORIGIN, type_code::AS_PATH] {
                if !present(tc) {
                    missing.push(tc);
                }
            }
            if !self.nlri.is_empty() && !present(type_code::NEXT_HOP) {
                missing.push(type_code::NEXT_HOP);
            }
            for tc in missing {
                parsed.problems.push(AttrError {
                    type_code: tc,
                    action: Action::TreatAsWithdraw,
                    notification: Notification::with_data(
                        code::UPDATE,
                        update_sub::MISSING_WELL_KNOWN,
                        [tc],
                    ),
                });
            }
        }
        parsed
    }
}

impl<'a> ParsedUpdate<'a> {
    /// The most severe action among the problems, `None` for a clean UPDATE.
    pub fn action(&self) -> Option<Action> {
        self.problems.iter().map(|p| p.action).max()
    }

    /// The NOTIFICATION to send when the action is a session reset.
    pub fn notification(&self) -> Option<&Notification> {
        self.problems
            .iter()
            .find(|p| p.action == Action::SessionReset)
            .map(|p| &p.notification)
    }

    /// The attribute with type code `tc`.
    pub fn attr(&self, tc: u8) -> Option<&AttrValue<'a>> {
        self.attrs
            .iter()
            .find(|a| a.type_code() == tc)
            .map(|a| &a.value)
    }

    /// ORIGIN.
    pub fn origin(&self) -> Option<Origin> {
        match self.attr(type_code::ORIGIN)? {
            AttrValue::Origin(o) => Some(*o),
            _ => None,
        }
    }

    /// AS_PATH.
    pub fn as_path(&self) -> Option<&AsPath<'a>> {
        match self.attr(type_code::AS_PATH)? {
            AttrValue::AsPath(p) => Some(p),
            _ => None,
        }
    }

    /// AS4_PATH.
    pub fn as4_path(&self) -> Option<&AsPath<'a>> {
        match self.attr(type_code::AS4_PATH)? {
            AttrValue::As4Path(p) => Some(p),
            _ => None,
        }
    }

    /// NEXT_HOP.
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        match self.attr(type_code::NEXT_HOP)? {
            AttrValue::NextHop(a) => Some(*a),
            _ => None,
        }
    }

    /// MULTI_EXIT_DISC.
    pub fn med(&self) -> Option<u32> {
        match self.attr(type_code::MED)? {
            AttrValue::Med(v) => Some(*v),
            _ => None,
        }
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        match self.attr(type_code::LOCAL_PREF)? {
            AttrValue::LocalPref(v) => Some(*v),
            _ => None,
        }
    }

    /// COMMUNITIES.
    pub fn communities(&self) -> Option<&Communities<'a>> {
        match self.attr(type_code::COMMUNITIES)? {
            AttrValue::Communities(c) => Some(c),
            _ => None,
        }
    }

    /// EXTENDED COMMUNITIES.
    pub fn ext_communities(&self) -> Option<&ExtCommunities<'a>> {
        match self.attr(type_code::EXTENDED_COMMUNITIES)? {
            AttrValue::ExtCommunities(c) => Some(c),
            _ => None,
        }
    }

    /// LARGE_COMMUNITY.
    pub fn large_communities(&self) -> Option<&LargeCommunities<'a>> {
        match self.attr(type_code::LARGE_COMMUNITY)? {
            AttrValue::LargeCommunities(c) => Some(c),
            _ => None,
        }
    }

    /// ORIGINATOR_ID.
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        match self.attr(type_code::ORIGINATOR_ID)? {
            AttrValue::OriginatorId(a) => Some(*a),
            _ => None,
        }
    }

    /// CLUSTER_LIST.
    pub fn cluster_list(&self) -> Option<&ClusterList<'a>> {
        match self.attr(type_code::CLUSTER_LIST)? {
            AttrValue::ClusterList(c) => Some(c),
            _ => None,
        }
    }

    /// MP_REACH_NLRI.
    pub fn mp_reach(&self) -> Option<&MpReach<'a>> {
        match self.attr(type_code::MP_REACH_NLRI)? {
            AttrValue::MpReach(m) => Some(m),
            _ => None,
        }
    }

    /// MP_UNREACH_NLRI.
    pub fn mp_unreach(&self) -> Option<&MpUnreach<'a>> {
        match self.attr(type_code::MP_UNREACH_NLRI)? {
            AttrValue::MpUnreach(m) => Some(m),
            _ => None,
        }
    }

    /// IPv4 unicast routes announced in the NLRI field.
    pub fn ipv4_routes(&self) -> impl Iterator<Item = Nlri> + '_ {
        NlriIter::new(self.nlri, Family::IPV4_UNICAST, self.add_path_v4, false)
            .filter_map(Result::ok)
    }

    /// IPv4 unicast routes in the Withdrawn Routes field.
    pub fn ipv4_withdrawn(&self) -> impl Iterator<Item = Nlri> + '_ {
        NlriIter::new(self.withdrawn, Family::IPV4_UNICAST, self.add_path_v4, true)
            .filter_map(Result::ok)
    }

    /// Every announced route with its family (IPv4 NLRI field, then MP_REACH_NLRI).
    pub fn announced(&self) -> impl Iterator<Item = (Family, Nlri)> + '_ {
        let mp = self
            .mp_reach()
            .into_iter()
            .flat_map(|m| m.routes().map(move |n| (m.family, n)));
        self.ipv4_routes()
            .map(|n| (Family::IPV4_UNICAST, n))
            .chain(mp)
    }

    /// Every withdrawn route with its family (Withdrawn Routes field, then MP_UNREACH_NLRI).
    pub fn withdrawn_routes(&self) -> impl Iterator<Item = (Family, Nlri)> + '_ {
        let mp = self
            .mp_unreach()
            .into_iter()
            .flat_map(|m| m.routes().map(move |n| (m.family, n)));
        self.ipv4_withdrawn()
            .map(|n| (Family::IPV4_UNICAST, n))
            .chain(mp)
    }

    /// The family whose End-of-RIB this UPDATE is (RFC 4724 §2), if it is one.
    pub fn end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() || !self.problems.is_empty() {
            return None;
        }
        match self.attrs.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [a] => match &a.value {
                AttrValue::MpUnreach(m) if m.is_end_of_rib() => Some(m.family),
                _ => None,
            },
            _ => None,
        }
    }

    /// Re-encodes the UPDATE body from the parsed parts (identical to the received body when
    /// nothing was discarded).
    pub fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&crate::len_u16(self.withdrawn.len())?.to_be_bytes());
        out.extend_from_slice(self.withdrawn);
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        for a in &self.attrs {
            a.encode(out)?;
        }
        let alen = crate::len_u16(out.len().saturating_sub(at).saturating_sub(2))?;
        crate::reader::patch_u16(out, at, alen);
        out.extend_from_slice(self.nlri);
        Ok(())
    }
}
