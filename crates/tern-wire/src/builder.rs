//! Building UPDATE messages: the routes that share one attribute set are packed into as few
//! messages as fit the size limit (4096 octets, or 65535 with Extended Message, RFC 8654).
//!
//! IPv4 unicast with an IPv4 next hop goes in the NLRI field with a NEXT_HOP attribute
//! (RFC 4271 §4.3); every other family in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3, §4).
//! Attributes are written in type-code order (RFC 4271 §5, "SHOULD"), the attribute block is
//! encoded once per call and copied into each message. End-of-RIB markers follow RFC 4724 §2.

use tern_types::Family;

use crate::attr::{PathAttribute, flag, type_code};
use crate::message::{self, MAX_EXTENDED_LEN, MAX_LEN, msg_type};
use crate::nexthop::NextHop;
use crate::nlri::Nlri;
use crate::reader::{patch_u8, patch_u16};
use crate::{AddPathSet, Ctx, EncodeError, len_u8, len_u16};

/// Octets before the attributes: header, withdrawn length, attribute length.
const FIXED: usize = message::HEADER_LEN + 4;
/// Where the attribute length sits in a message without withdrawn routes.
const ATTR_LEN_AT: usize = message::HEADER_LEN + 2;

/// Packs routes into UPDATE messages for one session's capabilities.
#[derive(Clone, Copy, Debug)]
pub struct UpdateBuilder {
    max_len: usize,
    add_path: AddPathSet,
}

impl UpdateBuilder {
    /// A builder for a session with `ctx`'s capabilities (ADD-PATH send, Extended Message).
    pub fn new(ctx: &Ctx) -> Self {
        UpdateBuilder {
            max_len: if ctx.extended_message {
                MAX_EXTENDED_LEN
            } else {
                MAX_LEN
            },
            add_path: ctx.add_path,
        }
    }

    /// The same builder with another size limit (at least 64 octets; for tests).
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len.clamp(64, MAX_EXTENDED_LEN);
        self
    }

    /// Appends UPDATEs announcing `routes` of `family` with `next_hop` and `attrs` to `out`,
    /// one `Vec` per message. `attrs` must not hold NEXT_HOP or MP attributes; they are added
    /// here. Returns the number of messages written.
    pub fn reach(
        &self,
        family: Family,
        next_hop: &NextHop,
        attrs: &[PathAttribute<'_>],
        routes: &[Nlri],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, EncodeError> {
        let add_path = self.add_path.contains(family);
        let classic = family == Family::IPV4_UNICAST && matches!(next_hop, NextHop::Ipv4(_));
        let split = if classic {
            type_code::NEXT_HOP
        } else {
            type_code::MP_REACH_NLRI
        };
        let mut pre = Vec::new();
        let mut post = Vec::new();
        let mut sorted: Vec<&PathAttribute<'_>> = attrs.iter().collect();
        sorted.sort_by_key(|a| a.type_code());
        for a in sorted {
            let tc = a.type_code();
            if matches!(
                tc,
                type_code::NEXT_HOP | type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI
            ) {
                return Err(EncodeError::Misplaced(tc));
            }
            a.encode(if tc < split { &mut pre } else { &mut post })?;
        }
        let mut mp_head = Vec::new();
        if classic {
            if let NextHop::Ipv4(a) = next_hop {
                pre.extend_from_slice(&[flag::TRANSITIVE, type_code::NEXT_HOP, 4]);
                pre.extend_from_slice(&a.octets());
            }
        } else {
            mp_head.extend_from_slice(&[
                flag::OPTIONAL | flag::EXTENDED_LENGTH,
                type_code::MP_REACH_NLRI,
                0,
                0,
            ]);
            mp_head.extend_from_slice(&family.afi.0.to_be_bytes());
            mp_head.push(family.safi.0);
            mp_head.push(len_u8(next_hop.wire_len(family))?);
            next_hop.encode(family, &mut mp_head);
            mp_head.push(0);
        }
        let fixed = [message::HEADER_LEN, 4, pre.len(), mp_head.len(), post.len()]
            .into_iter()
            .fold(0, usize::saturating_add);
        let room = self
            .max_len
            .checked_sub(fixed)
            .ok_or(EncodeError::TooLong("attributes"))?;
        self.pack(routes, family, add_path, room, out, |msg, nlri| {
            let start = message::begin(msg, msg_type::UPDATE);
            msg.extend_from_slice(&[0, 0, 0, 0]);
            msg.extend_from_slice(&pre);
            if classic {
                msg.extend_from_slice(&post);
                let alen = msg.len().saturating_sub(start).saturating_sub(FIXED);
                patch_u16(msg, start.saturating_add(ATTR_LEN_AT), len_u16(alen)?);
                msg.extend_from_slice(nlri);
            } else {
                let mp_at = msg.len();
                msg.extend_from_slice(&mp_head);
                msg.extend_from_slice(nlri);
                let mp_len = msg.len().saturating_sub(mp_at).saturating_sub(4);
                patch_u16(msg, mp_at.saturating_add(2), len_u16(mp_len)?);
                msg.extend_from_slice(&post);
                let alen = msg.len().saturating_sub(start).saturating_sub(FIXED);
                patch_u16(msg, start.saturating_add(ATTR_LEN_AT), len_u16(alen)?);
            }
            message::finish(msg, start, MAX_EXTENDED_LEN)
        })
    }

    /// Appends UPDATEs withdrawing `routes` of `family`. Labeled routes without labels are
    /// written with the 0x800000 marker. Returns the number of messages written.
    pub fn withdraw(
        &self,
        family: Family,
        routes: &[Nlri],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, EncodeError> {
        let add_path = self.add_path.contains(family);
        let classic = family == Family::IPV4_UNICAST;
        let fixed = if classic {
            FIXED
        } else {
            FIXED.saturating_add(7)
        };
        let room = self
            .max_len
            .checked_sub(fixed)
            .ok_or(EncodeError::TooLong("withdraw"))?;
        self.pack(routes, family, add_path, room, out, |msg, nlri| {
            let start = message::begin(msg, msg_type::UPDATE);
            if classic {
                msg.extend_from_slice(&len_u16(nlri.len())?.to_be_bytes());
                msg.extend_from_slice(nlri);
                msg.extend_from_slice(&[0, 0]);
            } else {
                msg.extend_from_slice(&[0, 0]);
                msg.extend_from_slice(&len_u16(nlri.len().saturating_add(7))?.to_be_bytes());
                msg.extend_from_slice(&[
                    flag::OPTIONAL | flag::EXTENDED_LENGTH,
                    type_code::MP_UNREACH_NLRI,
                ]);
                msg.extend_from_slice(&len_u16(nlri.len().saturating_add(3))?.to_be_bytes());
                msg.extend_from_slice(&family.afi.0.to_be_bytes());
                msg.push(family.safi.0);
                msg.extend_from_slice(nlri);
            }
            message::finish(msg, start, MAX_EXTENDED_LEN)
        })
    }

    /// The End-of-RIB marker for `family` (RFC 4724 §2).
    pub fn end_of_rib(family: Family) -> Vec<u8> {
        let mut msg = Vec::with_capacity(30);
        let start = message::begin(&mut msg, msg_type::UPDATE);
        if family == Family::IPV4_UNICAST {
            msg.extend_from_slice(&[0, 0, 0, 0]);
        } else {
            msg.extend_from_slice(&[0, 0, 0, 6, flag::OPTIONAL, type_code::MP_UNREACH_NLRI, 3]);
            msg.extend_from_slice(&family.afi.0.to_be_bytes());
            msg.push(family.safi.0);
        }
        let len = msg.len().saturating_sub(start);
        patch_u8(
            &mut msg,
            start.saturating_add(17),
            u8::try_from(len).unwrap_or(0),
        );
        msg
    }

    /// Encodes NLRI into chunks of at most `room` octets and has `emit` wrap each chunk into a
    /// message.
    fn pack<F>(
        &self,
        routes: &[Nlri],
        family: Family,
        add_path: bool,
        room: usize,
        out: &mut Vec<Vec<u8>>,
        mut emit: F,
    ) -> Result<usize, EncodeError>
    where
        F: FnMut(&mut Vec<u8>, &[u8]) -> Result<(), EncodeError>,
    {
        let mut count = 0usize;
        // Each message gets what it needs (the fixed part and its NLRI), not the size limit:
        // a table's worth of UPDATEs is mostly short messages.
        let overhead = self.max_len.saturating_sub(room);
        let mut chunk: Vec<u8> = Vec::with_capacity(room.min(4096));
        let mut one = Vec::with_capacity(64);
        for r in routes {
            one.clear();
            r.encode(family, add_path, &mut one)?;
            if one.len() > room {
                return Err(EncodeError::TooLong("NLRI"));
            }
            if chunk.len().saturating_add(one.len()) > room {
                let mut msg = Vec::with_capacity(overhead.saturating_add(chunk.len()));
                emit(&mut msg, &chunk)?;
                out.push(msg);
                count = count.saturating_add(1);
                chunk.clear();
            }
            chunk.extend_from_slice(&one);
        }
        if !chunk.is_empty() {
            let mut msg = Vec::with_capacity(overhead.saturating_add(chunk.len()));
            emit(&mut msg, &chunk)?;
            out.push(msg);
            count = count.saturating_add(1);
        }
        Ok(count)
    }
}
