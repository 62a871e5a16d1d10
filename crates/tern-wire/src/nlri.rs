//! NLRI encodings, decoded as values straight from the received bytes (no allocation):
//!
//! - IPv4/IPv6 unicast: length in bits, then the prefix octets (RFC 4271 §4.3, RFC 4760 §5).
//! - labeled unicast: a label stack before the prefix, the length covering it (RFC 8277 §2);
//!   in withdrawals one entry, usually 0x800000 (RFC 8277 §2.4).
//! - VPNv4/VPNv6: label stack, 8-octet route distinguisher, prefix (RFC 4364 §4.3.4,
//!   RFC 4659 §3.2).
//! - ADD-PATH: a 4-octet path identifier before each NLRI when negotiated (RFC 7911 §3).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use tern_types::{Family, IpNet, Ipv4Net, Ipv6Net, LabelStack, RouteDistinguisher};

use crate::EncodeError;
use crate::reader::Reader;

/// One route's NLRI.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Nlri {
    /// ADD-PATH path identifier, when negotiated for the family.
    pub path_id: Option<u32>,
    /// Route distinguisher (VPN families).
    pub rd: Option<RouteDistinguisher>,
    /// Label stack (labeled and VPN families); empty otherwise.
    pub labels: LabelStack,
    /// The prefix.
    pub prefix: IpNet,
}

impl Nlri {
    /// A plain unicast NLRI.
    pub fn unicast(prefix: IpNet) -> Nlri {
        Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::new(),
            prefix,
        }
    }

    /// A VPN NLRI.
    pub fn vpn(rd: RouteDistinguisher, labels: LabelStack, prefix: IpNet) -> Nlri {
        Nlri {
            path_id: None,
            rd: Some(rd),
            labels,
            prefix,
        }
    }

    /// A labeled-unicast NLRI.
    pub fn labeled(labels: LabelStack, prefix: IpNet) -> Nlri {
        Nlri {
            path_id: None,
            rd: None,
            labels,
            prefix,
        }
    }

    /// Octets this NLRI takes on the wire in `family`.
    pub fn wire_len(&self, family: Family, add_path: bool) -> usize {
        let prefix = usize::from(self.prefix.prefix_len()).div_ceil(8);
        let path_id = if add_path { 4 } else { 0 };
        let labels = if family.has_labels() {
            self.labels.len().max(1).saturating_mul(3)
        } else {
            0
        };
        let rd = if family.has_rd() { 8 } else { 0 };
        [1, prefix, path_id, labels, rd]
            .into_iter()
            .fold(0, usize::saturating_add)
    }

    /// Appends this NLRI in `family`'s encoding. In a withdrawal of a labeled family with no
    /// labels set, the 0x800000 marker is written (RFC 8277 §2.4).
    pub fn encode(
        &self,
        family: Family,
        add_path: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        if add_path {
            out.extend_from_slice(&self.path_id.unwrap_or(0).to_be_bytes());
        }
        let plen = self.prefix.prefix_len();
        let mut bits = u32::from(plen);
        let marker = LabelStack::withdraw_marker();
        let labels = if family.has_labels() {
            if self.labels.is_empty() {
                &marker
            } else {
                &self.labels
            }
        } else {
            &LabelStack::new()
        };
        bits = bits
            .saturating_add(24u32.saturating_mul(u32::try_from(labels.len()).unwrap_or(u32::MAX)));
        if family.has_rd() {
            bits = bits.saturating_add(64);
        }
        out.push(u8::try_from(bits).map_err(|_| EncodeError::TooLong("NLRI"))?);
        for e in labels.entries() {
            out.extend_from_slice(e);
        }
        if family.has_rd() {
            out.extend_from_slice(&self.rd.unwrap_or_default().0);
        }
        let n = usize::from(plen).div_ceil(8);
        match self.prefix {
            IpNet::V4(p) => out.extend_from_slice(p.addr().octets().get(..n).unwrap_or_default()),
            IpNet::V6(p) => out.extend_from_slice(p.addr().octets().get(..n).unwrap_or_default()),
        }
        Ok(())
    }
}

impl fmt::Display for Nlri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(rd) = self.rd {
            write!(f, "{rd}:")?;
        }
        write!(f, "{}", self.prefix)?;
        if !self.labels.is_empty() {
            write!(f, " label {}", self.labels)?;
        }
        if let Some(id) = self.path_id {
            write!(f, " path-id {id}")?;
        }
        Ok(())
    }
}

/// A malformed NLRI (RFC 7606 §5.3: the whole field can no longer be parsed).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum NlriError {
    /// The field ended inside an NLRI.
    #[error("NLRI truncated")]
    Truncated,
    /// A prefix length longer than the family allows.
    #[error("prefix length {0} too long")]
    PrefixLength(u8),
    /// A label stack with no bottom-of-stack entry or more entries than supported.
    #[error("bad label stack")]
    LabelStack,
}

/// The per-field decoding settings.
#[derive(Clone, Copy, Debug)]
struct Shape {
    add_path: bool,
    labels: bool,
    rd: bool,
    max_bits: usize,
    v6: bool,
    withdraw: bool,
}

impl Shape {
    fn new(family: Family, add_path: bool, withdraw: bool) -> Shape {
        Shape {
            add_path,
            labels: family.has_labels(),
            rd: family.has_rd(),
            max_bits: if family.is_ipv6() { 128 } else { 32 },
            v6: family.is_ipv6(),
            withdraw,
        }
    }
}

/// One NLRI up to its prefix, as [`decode_head`] finds it.
struct Head<'a> {
    path_id: Option<u32>,
    rd: Option<RouteDistinguisher>,
    /// The NLRI length octet as received (for errors).
    len: u8,
    /// Prefix length in bits.
    plen: u8,
    /// The prefix octets.
    bytes: &'a [u8],
    /// The rest of the field from the prefix octets on (`bytes` is its start).
    window: &'a [u8],
}

/// Reads one NLRI up to its prefix: path identifier, label stack, RD, prefix octets. Each
/// label stack entry is handed to `label`, which returns false when the stack is full.
/// Shared by [`decode_one`] and [`skip_one`] so both accept and refuse the same input.
#[inline(always)]
fn decode_head<'a>(
    r: &mut Reader<'a>,
    s: Shape,
    mut label: impl FnMut([u8; 3]) -> bool,
) -> Result<Head<'a>, NlriError> {
    let path_id = if s.add_path {
        Some(r.u32().ok_or(NlriError::Truncated)?)
    } else {
        None
    };
    let len = r.u8().ok_or(NlriError::Truncated)?;
    let mut bits = usize::from(len);
    if s.labels {
        loop {
            bits = bits.checked_sub(24).ok_or(NlriError::LabelStack)?;
            let e: [u8; 3] = r.array().ok_or(NlriError::Truncated)?;
            if !label(e) {
                return Err(NlriError::LabelStack);
            }
            let bottom = e[2] & 1 == 1;
            if bottom || (s.withdraw && (e == LabelStack::WITHDRAW || e == [0, 0, 0])) {
                break;
            }
        }
    }
    let rd = if s.rd {
        bits = bits.checked_sub(64).ok_or(NlriError::Truncated)?;
        Some(RouteDistinguisher(r.array().ok_or(NlriError::Truncated)?))
    } else {
        None
    };
    if bits > s.max_bits {
        return Err(NlriError::PrefixLength(len));
    }
    let window = r.rest();
    let bytes = r.take(bits.div_ceil(8)).ok_or(NlriError::Truncated)?;
    let plen = u8::try_from(bits).map_err(|_| NlriError::PrefixLength(len))?;
    Ok(Head {
        path_id,
        rd,
        len,
        plen,
        bytes,
        window,
    })
}

/// The left-aligned, zero-padded prefix octets as a big-endian `u128`. Loads a whole 16-octet
/// window when the field has one (no variable-length copy), else folds the octets.
#[inline(always)]
fn prefix_u128(h: &Head<'_>) -> u128 {
    // Octets after the prefix's own: 16 - n, n <= 16 checked in `decode_head`.
    let pad = 16usize.saturating_sub(h.bytes.len());
    match h.window.first_chunk::<16>() {
        Some(w) => {
            let mask = u128::MAX
                .checked_shl(u32::try_from(pad.saturating_mul(8)).unwrap_or(128))
                .unwrap_or(0);
            u128::from_be_bytes(*w) & mask
        }
        None => {
            let mut a = [0u8; 16];
            for (d, b) in a.iter_mut().zip(h.bytes) {
                *d = *b;
            }
            u128::from_be_bytes(a)
        }
    }
}

/// As [`prefix_u128`], for IPv4.
#[inline(always)]
fn prefix_u32(h: &Head<'_>) -> u32 {
    let pad = 4usize.saturating_sub(h.bytes.len());
    match h.window.first_chunk::<4>() {
        Some(w) => {
            let mask = u32::MAX
                .checked_shl(u32::try_from(pad.saturating_mul(8)).unwrap_or(32))
                .unwrap_or(0);
            u32::from_be_bytes(*w) & mask
        }
        None => {
            let mut a = [0u8; 4];
            for (d, b) in a.iter_mut().zip(h.bytes) {
                *d = *b;
            }
            u32::from_be_bytes(a)
        }
    }
}

#[inline]
fn decode_one(r: &mut Reader<'_>, s: Shape) -> Result<Nlri, NlriError> {
    let mut labels = LabelStack::new();
    let h = decode_head(r, s, |e| labels.push_raw(e))?;
    let bad = |_| NlriError::PrefixLength(h.len);
    let prefix = if s.v6 {
        IpNet::V6(Ipv6Net::new(Ipv6Addr::from(prefix_u128(&h)), h.plen).map_err(bad)?)
    } else {
        IpNet::V4(Ipv4Net::new(Ipv4Addr::from(prefix_u32(&h)), h.plen).map_err(bad)?)
    };
    Ok(Nlri {
        path_id: h.path_id,
        rd: h.rd,
        labels,
        prefix,
    })
}

/// Checks one NLRI without building it.
fn skip_one(r: &mut Reader<'_>, s: Shape) -> Result<(), NlriError> {
    let mut entries = 0usize;
    decode_head(r, s, |_| {
        entries = entries.saturating_add(1);
        entries <= LabelStack::CAPACITY
    })?;
    Ok(())
}

/// An iterator over the NLRI in a field. Yields an error once and then stops if the field is
/// malformed; [`validate`] checks a whole field in advance.
#[derive(Clone, Debug)]
pub struct NlriIter<'a> {
    r: Reader<'a>,
    shape: Shape,
}

impl<'a> NlriIter<'a> {
    /// Iterates over `bytes` as NLRI of `family`; `withdraw` for withdrawn routes and
    /// MP_UNREACH_NLRI (where a labeled NLRI carries one label field).
    pub fn new(bytes: &'a [u8], family: Family, add_path: bool, withdraw: bool) -> Self {
        NlriIter {
            r: Reader::new(bytes),
            shape: Shape::new(family, add_path, withdraw),
        }
    }
}

impl Iterator for NlriIter<'_> {
    type Item = Result<Nlri, NlriError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            return None;
        }
        let res = decode_one(&mut self.r, self.shape);
        if res.is_err() {
            self.r = Reader::new(&[]);
        }
        Some(res)
    }
}

/// Checks a whole NLRI field and returns how many NLRI it holds.
pub fn validate(
    bytes: &[u8],
    family: Family,
    add_path: bool,
    withdraw: bool,
) -> Result<usize, NlriError> {
    let shape = Shape::new(family, add_path, withdraw);
    let mut r = Reader::new(bytes);
    let mut n = 0usize;
    while !r.is_empty() {
        skip_one(&mut r, shape)?;
        n = n.saturating_add(1);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_types::Label;

    #[test]
    fn vpnv6_nlri_round_trip() {
        let n = Nlri::vpn(
            "100:1".parse().unwrap(),
            LabelStack::single(Label(1000)),
            "2001:db8:1::/64".parse().unwrap(),
        );
        let mut out = Vec::new();
        n.encode(Family::VPNV6, false, &mut out).unwrap();
        assert_eq!(out.len(), n.wire_len(Family::VPNV6, false));
        assert_eq!(out[0], 64 + 24 + 64);
        let back: Vec<_> = NlriIter::new(&out, Family::VPNV6, false, false).collect();
        assert_eq!(back, vec![Ok(n)]);
        assert_eq!(n.to_string(), "100:1:2001:db8:1::/64 label 1000");
    }

    #[test]
    fn prefix_octets_read_in_and_at_the_end_of_a_field() {
        // The first prefix is read through a whole-address window, the last from its own
        // octets; bits past the length within the last octet are kept as received.
        let v4 = [20, 10, 1, 0xff, 24, 10, 2, 3, 0, 12, 1, 0xf0];
        let got: Vec<String> = NlriIter::new(&v4, Family::IPV4_UNICAST, false, false)
            .map(|n| n.unwrap().prefix.to_string())
            .collect();
        assert_eq!(
            got,
            ["10.1.255.0/20", "10.2.3.0/24", "0.0.0.0/0", "1.240.0.0/12"]
        );
        let mut v6 = vec![48, 0x20, 1, 0x0d, 0xb8, 0, 1];
        v6.extend_from_slice(&[128; 17]);
        v6.extend_from_slice(&[12, 0x2f, 0xff]);
        let got: Vec<String> = NlriIter::new(&v6, Family::IPV6_UNICAST, false, false)
            .map(|n| n.unwrap().prefix.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2001:db8:1::/48",
                "8080:8080:8080:8080:8080:8080:8080:8080/128",
                "2fff::/12"
            ]
        );
    }

    #[test]
    fn withdraw_marker_and_errors() {
        let w = Nlri::labeled(LabelStack::new(), "10.0.0.0/8".parse().unwrap());
        let mut out = Vec::new();
        w.encode(Family::IPV4_LABELED, true, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 0, 32, 0x80, 0, 0, 10]);
        let back = NlriIter::new(&out, Family::IPV4_LABELED, true, true)
            .next()
            .unwrap()
            .unwrap();
        assert!(back.labels.is_withdraw_marker());
        assert_eq!(back.path_id, Some(0));
        // In a reach, 0x800000 has no bottom-of-stack bit: the stack runs into the prefix.
        assert!(validate(&out[4..], Family::IPV4_LABELED, false, false).is_err());
        assert_eq!(
            validate(&[33, 1, 2, 3, 4, 5], Family::IPV4_UNICAST, false, false),
            Err(NlriError::PrefixLength(33))
        );
        assert_eq!(
            validate(&[24, 1, 2], Family::IPV4_UNICAST, false, false),
            Err(NlriError::Truncated)
        );
        assert_eq!(
            validate(&[24, 1, 2, 3, 0], Family::IPV4_UNICAST, false, false),
            Ok(2)
        );
    }
}
