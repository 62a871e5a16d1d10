//! Route target membership NLRI (RFC 4684 §4), the NLRI of the route target constraint
//! family (AFI 1, SAFI 132): a length in bits (0 to 96), then as many octets of the 12-octet
//! value origin AS (4 octets) + route target (8 octets) as the length covers. Length 0 is the
//! default route target constraint ("send me every VPN route", §3); 32 names the origin AS
//! alone; 33 to 96 an origin AS and a route target prefix. Lengths 1 to 31 are malformed
//! (the origin AS cannot be partial, §4).
//!
//! ADD-PATH is not used with this family: tern never offers it there.

use std::fmt;
use std::net::IpAddr;

use tern_types::Family;

use crate::attr::{PathAttribute, flag, type_code};
use crate::message::{self, MAX_LEN, msg_type};
use crate::nlri::NlriError;
use crate::reader::{Reader, patch_u16};
use crate::{EncodeError, len_u16};

/// Memberships per UPDATE: 13 octets each at most, well inside 4096 octets with the
/// attributes of a reflected path.
const PER_MESSAGE: usize = 200;

/// One route target membership NLRI. Bits past `len` are zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RtMembership {
    /// Prefix length in bits: 0 (default), or 32 to 96.
    pub len: u8,
    /// The origin AS (0 in the default).
    pub origin_as: u32,
    /// The route target, its octets past the prefix zero.
    pub target: [u8; 8],
}

impl RtMembership {
    /// The default route target constraint (length 0, RFC 4684 §3).
    pub const DEFAULT: RtMembership = RtMembership {
        len: 0,
        origin_as: 0,
        target: [0; 8],
    };

    /// Membership of `origin_as` in a whole route target (length 96).
    pub fn new(origin_as: u32, target: [u8; 8]) -> RtMembership {
        RtMembership {
            len: 96,
            origin_as,
            target,
        }
    }

    /// True for the default route target constraint.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// The route target prefix length in bits (0 to 64).
    pub fn target_len(&self) -> u8 {
        self.len.saturating_sub(32)
    }

    /// True when a VPN route carrying route target `rt` matches this membership: the
    /// default and an origin-AS-only membership match every route target; otherwise the
    /// route target's first [`RtMembership::target_len`] bits must be equal (RFC 4684 §4).
    pub fn matches(&self, rt: &[u8; 8]) -> bool {
        let bits = u32::from(self.target_len());
        if bits == 0 {
            return true;
        }
        let mask = u64::MAX
            .checked_shl(64u32.saturating_sub(bits))
            .unwrap_or(0);
        (u64::from_be_bytes(*rt) & mask) == (u64::from_be_bytes(self.target) & mask)
    }

    /// Octets this NLRI takes on the wire.
    pub fn wire_len(&self) -> usize {
        usize::from(self.len).div_ceil(8).saturating_add(1)
    }

    /// Appends this NLRI.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.len > 96 || (1..32).contains(&self.len) {
            return Err(EncodeError::TooLong("route target membership NLRI"));
        }
        out.push(self.len);
        let mut whole = [0u8; 12];
        whole[..4].copy_from_slice(&self.origin_as.to_be_bytes());
        whole[4..].copy_from_slice(&self.target);
        let n = usize::from(self.len).div_ceil(8);
        out.extend_from_slice(whole.get(..n).unwrap_or_default());
        Ok(())
    }

    /// Decodes one NLRI.
    fn decode(r: &mut Reader<'_>) -> Result<RtMembership, NlriError> {
        let len = r.u8().ok_or(NlriError::Truncated)?;
        if len > 96 || (1..32).contains(&len) {
            return Err(NlriError::PrefixLength(len));
        }
        let bytes = r
            .take(usize::from(len).div_ceil(8))
            .ok_or(NlriError::Truncated)?;
        let mut whole = [0u8; 12];
        for (d, s) in whole.iter_mut().zip(bytes) {
            *d = *s;
        }
        // Clear the bits past the length (a peer may send them set).
        let rest = len % 8;
        if rest != 0
            && let Some(last) = whole.get_mut(usize::from(len / 8))
        {
            *last &= 0xffu8
                .checked_shl(u32::from(8u8.saturating_sub(rest)))
                .unwrap_or(0);
        }
        let mut asn = [0u8; 4];
        let mut target = [0u8; 8];
        for (i, b) in whole.iter().enumerate() {
            if let Some(a) = asn.get_mut(i) {
                *a = *b;
            } else if let Some(t) = target.get_mut(i.saturating_sub(4)) {
                *t = *b;
            }
        }
        Ok(RtMembership {
            len,
            origin_as: u32::from_be_bytes(asn),
            target,
        })
    }
}

impl fmt::Display for RtMembership {
    /// `default`, `AS 65000`, or `65000:` followed by the route target in hex and its length
    /// when partial.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_default() {
            return f.write_str("default");
        }
        write!(f, "{}", self.origin_as)?;
        if self.len > 32 {
            let rt = tern_types::ExtCommunity(self.target);
            let text = rt.to_string();
            write!(f, ":{}", text.strip_prefix("RT:").unwrap_or(&text))?;
            if self.len < 96 {
                write!(f, "/{}", self.target_len())?;
            }
        }
        Ok(())
    }
}

/// The route target membership NLRI of a field, in order; the first malformed one ends the
/// iteration with an error (RFC 7606 §5.3: the rest cannot be parsed).
pub struct RtcIter<'a> {
    r: Reader<'a>,
    failed: bool,
}

impl<'a> RtcIter<'a> {
    /// An iterator over an NLRI field of the route target constraint family.
    pub fn new(bytes: &'a [u8]) -> RtcIter<'a> {
        RtcIter {
            r: Reader::new(bytes),
            failed: false,
        }
    }
}

impl Iterator for RtcIter<'_> {
    type Item = Result<RtMembership, NlriError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.r.is_empty() {
            return None;
        }
        let m = RtMembership::decode(&mut self.r);
        self.failed = m.is_err();
        Some(m)
    }
}

/// Every NLRI of a field, or the first error.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<RtMembership>, NlriError> {
    RtcIter::new(bytes).collect()
}

/// UPDATEs announcing `routes` with `next_hop` (the MP_REACH_NLRI next hop, RFC 4684 §4:
/// an IPv4 or IPv6 address of this router) and `attrs` (without NEXT_HOP and MP attributes),
/// one `Vec` per message.
pub fn reach_updates(
    next_hop: IpAddr,
    attrs: &[PathAttribute<'_>],
    routes: &[RtMembership],
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut sorted: Vec<&PathAttribute<'_>> = attrs.iter().collect();
    sorted.sort_by_key(|a| a.type_code());
    let (mut pre, mut post) = (Vec::new(), Vec::new());
    for a in sorted {
        let tc = a.type_code();
        if matches!(
            tc,
            type_code::NEXT_HOP | type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI
        ) {
            return Err(EncodeError::Misplaced(tc));
        }
        a.encode(if tc < type_code::MP_REACH_NLRI {
            &mut pre
        } else {
            &mut post
        })?;
    }
    let mut out = Vec::new();
    for chunk in routes.chunks(PER_MESSAGE) {
        let mut msg = Vec::new();
        let start = message::begin(&mut msg, msg_type::UPDATE);
        msg.extend_from_slice(&[0, 0, 0, 0]);
        msg.extend_from_slice(&pre);
        let mp_at = msg.len();
        msg.extend_from_slice(&[
            flag::OPTIONAL | flag::EXTENDED_LENGTH,
            type_code::MP_REACH_NLRI,
            0,
            0,
        ]);
        msg.extend_from_slice(&Family::RTC.afi.0.to_be_bytes());
        msg.push(Family::RTC.safi.0);
        match next_hop {
            IpAddr::V4(a) => {
                msg.push(4);
                msg.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                msg.push(16);
                msg.extend_from_slice(&a.octets());
            }
        }
        msg.push(0);
        for r in chunk {
            r.encode(&mut msg)?;
        }
        let mp_len = msg.len().saturating_sub(mp_at).saturating_sub(4);
        patch_u16(&mut msg, mp_at.saturating_add(2), len_u16(mp_len)?);
        msg.extend_from_slice(&post);
        let alen = msg
            .len()
            .saturating_sub(start)
            .saturating_sub(message::HEADER_LEN.saturating_add(4));
        patch_u16(
            &mut msg,
            start.saturating_add(message::HEADER_LEN).saturating_add(2),
            len_u16(alen)?,
        );
        message::finish(&mut msg, start, MAX_LEN)?;
        out.push(msg);
    }
    Ok(out)
}

/// UPDATEs withdrawing `routes` (MP_UNREACH_NLRI), one `Vec` per message.
pub fn withdraw_updates(routes: &[RtMembership]) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut out = Vec::new();
    for chunk in routes.chunks(PER_MESSAGE) {
        let mut nlri = Vec::new();
        for r in chunk {
            r.encode(&mut nlri)?;
        }
        let mut msg = Vec::new();
        let start = message::begin(&mut msg, msg_type::UPDATE);
        msg.extend_from_slice(&[0, 0]);
        msg.extend_from_slice(&len_u16(nlri.len().saturating_add(7))?.to_be_bytes());
        msg.extend_from_slice(&[
            flag::OPTIONAL | flag::EXTENDED_LENGTH,
            type_code::MP_UNREACH_NLRI,
        ]);
        msg.extend_from_slice(&len_u16(nlri.len().saturating_add(3))?.to_be_bytes());
        msg.extend_from_slice(&Family::RTC.afi.0.to_be_bytes());
        msg.push(Family::RTC.safi.0);
        msg.extend_from_slice(&nlri);
        message::finish(&mut msg, start, MAX_LEN)?;
        out.push(msg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(asn: u16, n: u32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[1] = 2;
        b[2..4].copy_from_slice(&asn.to_be_bytes());
        b[4..].copy_from_slice(&n.to_be_bytes());
        b
    }

    #[test]
    fn full_membership_roundtrips_in_13_octets() {
        let m = RtMembership::new(65000, rt(100, 1));
        let mut out = Vec::new();
        m.encode(&mut out).unwrap();
        assert_eq!(out.len(), 13);
        assert_eq!(out[0], 96);
        assert_eq!(&out[1..5], &65000u32.to_be_bytes());
        assert_eq!(&out[5..], &rt(100, 1));
        assert_eq!(m.wire_len(), 13);
        assert_eq!(decode_all(&out).unwrap(), vec![m]);
        assert_eq!(m.to_string(), "65000:100:1");
    }

    #[test]
    fn default_is_one_octet_and_matches_everything() {
        let mut out = Vec::new();
        RtMembership::DEFAULT.encode(&mut out).unwrap();
        assert_eq!(out, vec![0]);
        let d = decode_all(&out).unwrap();
        assert_eq!(d, vec![RtMembership::DEFAULT]);
        assert!(d[0].is_default());
        assert!(d[0].matches(&rt(1, 2)));
        assert_eq!(d[0].to_string(), "default");
    }

    #[test]
    fn partial_prefixes_match_by_their_bits_and_are_cleared_past_them() {
        // Origin AS only: every route target.
        let mut out = vec![32];
        out.extend_from_slice(&65000u32.to_be_bytes());
        let m = decode_all(&out).unwrap()[0];
        assert!(m.matches(&rt(100, 1)) && m.matches(&rt(200, 7)));
        // 48 bits: type, sub-type and the 2-octet AS of the target; a stray bit past the
        // length is cleared.
        let mut out = vec![32 + 33];
        out.extend_from_slice(&65000u32.to_be_bytes());
        out.extend_from_slice(&[0, 2, 0, 100, 0xff]);
        let m = decode_all(&out).unwrap()[0];
        assert_eq!(m.target, [0, 2, 0, 100, 0x80, 0, 0, 0]);
        assert_eq!(m.target_len(), 33);
        let mut with_bit = rt(100, 1);
        with_bit[4] = 0x80;
        assert!(m.matches(&with_bit));
        assert!(!m.matches(&rt(100, 1)));
        assert!(!m.matches(&rt(101, 1)));
        let mut back = Vec::new();
        m.encode(&mut back).unwrap();
        assert_eq!(decode_all(&back).unwrap(), vec![m]);
        // A whole target matches only itself.
        let w = RtMembership::new(1, rt(100, 1));
        assert!(w.matches(&rt(100, 1)) && !w.matches(&rt(100, 2)));
    }

    #[test]
    fn updates_carry_the_memberships_in_mp_attributes() {
        use crate::attr::{AsPath, AttrValue, Origin};
        use crate::{Ctx, Update};
        let routes: Vec<RtMembership> = (0..450)
            .map(|n| RtMembership::new(65000, rt(100, n)))
            .collect();
        let attrs = [
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::empty(true))),
            PathAttribute::new(AttrValue::LocalPref(100)),
        ];
        let msgs = reach_updates("192.0.2.1".parse().unwrap(), &attrs, &routes).unwrap();
        assert_eq!(msgs.len(), 3);
        let mut back = Vec::new();
        for m in &msgs {
            let u = Update::decode(&m[message::HEADER_LEN..]).unwrap();
            let p = u.parse(&Ctx::default());
            assert!(p.action().is_none(), "{:?}", p.problems);
            let mp = p.mp_reach().unwrap();
            assert_eq!(mp.family, Family::RTC);
            assert_eq!(p.local_pref(), Some(100));
            back.extend(decode_all(&mp.nlri).unwrap());
        }
        assert_eq!(back, routes);
        let msgs = withdraw_updates(&routes[..3]).unwrap();
        assert_eq!(msgs.len(), 1);
        let u = Update::decode(&msgs[0][message::HEADER_LEN..]).unwrap();
        let p = u.parse(&Ctx::default());
        let un = p.mp_unreach().unwrap();
        assert_eq!(un.family, Family::RTC);
        assert_eq!(decode_all(&un.withdrawn).unwrap(), routes[..3].to_vec());
        assert!(p.end_of_rib().is_none());
    }

    #[test]
    fn malformed_fields_are_refused() {
        // Lengths 1 to 31 and over 96.
        assert_eq!(decode_all(&[8, 1]), Err(NlriError::PrefixLength(8)));
        assert_eq!(decode_all(&[97]), Err(NlriError::PrefixLength(97)));
        // Truncated.
        assert_eq!(decode_all(&[96, 0, 0]), Err(NlriError::Truncated));
        // An error ends the iteration.
        let mut it = RtcIter::new(&[0, 5, 0]);
        assert_eq!(it.next(), Some(Ok(RtMembership::DEFAULT)));
        assert!(matches!(it.next(), Some(Err(_))));
        assert_eq!(it.next(), None);
        // Several in one field.
        let mut out = Vec::new();
        for n in 1..=3 {
            RtMembership::new(7, rt(100, n)).encode(&mut out).unwrap();
        }
        assert_eq!(decode_all(&out).unwrap().len(), 3);
        let bad = RtMembership {
            len: 20,
            ..RtMembership::DEFAULT
        };
        assert!(bad.encode(&mut Vec::new()).is_err());
    }
}
