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

fn decode_one(r: &mut Reader<'_>, s: Shape) -> Result<Nlri, NlriError> {
    let path_id = if s.add_path {
        Some(r.u32().ok_or(NlriError::Truncated)?)
    } else {
        None
    };
    let len = r.u8().ok_or(NlriError::Truncated)?;
    let mut bits = usize::from(len);
    let mut labels = LabelStack::new();
    if s.labels {
        loop {
            bits = bits.checked_sub(24).ok_or(NlriError::LabelStack)?;
            let e: [u8; 3] = r.array().ok_or(NlriError::Truncated)?;
            if !labels.push_raw(e) {
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
    let bytes = r.take(bits.div_ceil(8)).ok_or(NlriError::Truncated)?;
    let plen = u8::try_from(bits).map_err(|_| NlriError::PrefixLength(len))?;
    let prefix = if s.v6 {
        let mut a = [0u8; 16];
        if let Some(d) = a.get_mut(..bytes.len()) {
            d.copy_from_slice(bytes);
        }
        IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), plen).map_err(|_| NlriError::PrefixLength(len))?)
    } else {
        let mut a = [0u8; 4];
        if let Some(d) = a.get_mut(..bytes.len()) {
            d.copy_from_slice(bytes);
        }
        IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), plen).map_err(|_| NlriError::PrefixLength(len))?)
    };
    Ok(Nlri {
        path_id,
        rd,
        labels,
        prefix,
    })
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
        decode_one(&mut r, shape)?;
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
