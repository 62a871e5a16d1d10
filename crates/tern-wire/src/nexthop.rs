//! Next hops in MP_REACH_NLRI (RFC 4760 §3), by length:
//!
//! | octets | form | where |
//! |---|---|---|
//! | 4 | IPv4 | IPv4 unicast / labeled |
//! | 16 | IPv6 global (also `::ffff:a.b.c.d`) | IPv6 unicast / labeled (RFC 2545 §3, RFC 4798 §2); IPv4 routes over IPv6 (RFC 8950 §3) |
//! | 32 | IPv6 global + link-local | same (RFC 2545 §3) |
//! | 12 | RD 0 + IPv4 | VPNv4 (RFC 4364 §4.3.2) |
//! | 24 | RD 0 + IPv6 (`::ffff:a.b.c.d` over IPv4 cores) | VPNv6 (RFC 4659 §3.2.1.1), VPNv4 over IPv6 (RFC 8950 §3) |
//! | 48 | RD 0 + IPv6 global + RD 0 + link-local | VPNv6 (RFC 4659 §3.2.1.2) |
//!
//! The RDs of VPN next hops are zero by RFC 4364; a non-zero RD is accepted and not kept.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tern_types::Family;

use crate::reader::Reader;

/// A next hop as carried in MP_REACH_NLRI; the VPN forms are implied by the family.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum NextHop {
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 global address, with a link-local address when one was sent.
    Ipv6 {
        /// Global (or IPv4-mapped) address.
        global: Ipv6Addr,
        /// Link-local address.
        link_local: Option<Ipv6Addr>,
    },
    /// The next hop of a family tern does not decode, kept as bytes.
    Other(Vec<u8>),
}

/// A next hop whose length fits no form for its family.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("next hop length {0} is invalid for the address family")]
pub struct NextHopError(pub u8);

impl NextHop {
    /// `::ffff:a.b.c.d`, as a VPNv6 or 6PE route over an IPv4 core carries it.
    pub fn ipv4_mapped(addr: Ipv4Addr) -> NextHop {
        NextHop::Ipv6 {
            global: addr.to_ipv6_mapped(),
            link_local: None,
        }
    }

    /// The address to resolve: IPv4, the IPv4 inside an IPv4-mapped IPv6, or the global IPv6.
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            NextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
            NextHop::Ipv6 { global, .. } => Some(match global.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(*global),
            }),
            NextHop::Other(_) => None,
        }
    }

    /// Octets on the wire for `family`.
    pub fn wire_len(&self, family: Family) -> usize {
        let vpn = family.has_rd();
        match self {
            NextHop::Ipv4(_) => {
                if vpn {
                    12
                } else {
                    4
                }
            }
            NextHop::Ipv6 {
                link_local: None, ..
            } => {
                if vpn {
                    24
                } else {
                    16
                }
            }
            NextHop::Ipv6 {
                link_local: Some(_),
                ..
            } => {
                if vpn {
                    48
                } else {
                    32
                }
            }
            NextHop::Other(b) => b.len(),
        }
    }

    /// Decodes the next-hop field of `family`.
    pub fn decode(family: Family, bytes: &[u8]) -> Result<NextHop, NextHopError> {
        let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
        let bad = NextHopError(len);
        if !family.is_known() {
            return Ok(NextHop::Other(bytes.to_vec()));
        }
        let mut r = Reader::new(bytes);
        let rd = family.has_rd();
        let skip_rd = |r: &mut Reader<'_>| -> Result<(), NextHopError> {
            if rd {
                r.take(8).ok_or(bad)?;
            }
            Ok(())
        };
        let base = if rd { 8 } else { 0 };
        let nh = match bytes.len().checked_sub(base) {
            Some(4) => {
                skip_rd(&mut r)?;
                NextHop::Ipv4(Ipv4Addr::from(r.u32().ok_or(bad)?))
            }
            Some(16) => {
                skip_rd(&mut r)?;
                NextHop::Ipv6 {
                    global: Ipv6Addr::from(r.array::<16>().ok_or(bad)?),
                    link_local: None,
                }
            }
            _ if bytes.len() == if rd { 48 } else { 32 } => {
                skip_rd(&mut r)?;
                let global = Ipv6Addr::from(r.array::<16>().ok_or(bad)?);
                skip_rd(&mut r)?;
                let ll = Ipv6Addr::from(r.array::<16>().ok_or(bad)?);
                NextHop::Ipv6 {
                    global,
                    link_local: Some(ll),
                }
            }
            _ => return Err(bad),
        };
        Ok(nh)
    }

    /// Appends the next-hop field for `family` (without its length octet).
    pub fn encode(&self, family: Family, out: &mut Vec<u8>) {
        let rd = family.has_rd();
        let put_rd = |out: &mut Vec<u8>| {
            if rd {
                out.extend_from_slice(&[0; 8]);
            }
        };
        match self {
            NextHop::Ipv4(a) => {
                put_rd(out);
                out.extend_from_slice(&a.octets());
            }
            NextHop::Ipv6 { global, link_local } => {
                put_rd(out);
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    put_rd(out);
                    out.extend_from_slice(&ll.octets());
                }
            }
            NextHop::Other(b) => out.extend_from_slice(b),
        }
    }
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHop::Ipv4(a) => write!(f, "{a}"),
            NextHop::Ipv6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHop::Ipv6 {
                global,
                link_local: Some(ll),
            } => write!(f, "{global} ({ll})"),
            NextHop::Other(b) => write!(f, "<{} octets>", b.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips() {
        let g: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let ll: Ipv6Addr = "fe80::1".parse().unwrap();
        let v4 = Ipv4Addr::new(1, 1, 1, 9);
        let cases = [
            (Family::IPV4_UNICAST, NextHop::Ipv4(v4), 4),
            (
                Family::IPV6_UNICAST,
                NextHop::Ipv6 {
                    global: g,
                    link_local: None,
                },
                16,
            ),
            (
                Family::IPV6_UNICAST,
                NextHop::Ipv6 {
                    global: g,
                    link_local: Some(ll),
                },
                32,
            ),
            (Family::VPNV4, NextHop::Ipv4(v4), 12),
            (Family::VPNV6, NextHop::ipv4_mapped(v4), 24),
            (
                Family::VPNV6,
                NextHop::Ipv6 {
                    global: g,
                    link_local: Some(ll),
                },
                48,
            ),
            (
                Family::VPNV4,
                NextHop::Ipv6 {
                    global: g,
                    link_local: None,
                },
                24,
            ),
            (
                Family::IPV4_LABELED,
                NextHop::Ipv6 {
                    global: g,
                    link_local: None,
                },
                16,
            ),
        ];
        for (fam, nh, len) in cases {
            let mut out = Vec::new();
            nh.encode(fam, &mut out);
            assert_eq!(out.len(), len, "{fam} {nh}");
            assert_eq!(nh.wire_len(fam), len);
            assert_eq!(NextHop::decode(fam, &out), Ok(nh));
        }
        assert_eq!(NextHop::ipv4_mapped(v4).addr(), Some(IpAddr::V4(v4)));
        assert_eq!(NextHop::ipv4_mapped(v4).to_string(), "::ffff:1.1.1.9");
        assert!(NextHop::decode(Family::VPNV6, &[0; 16]).is_err());
        assert!(NextHop::decode(Family::IPV4_UNICAST, &[0; 12]).is_err());
        assert!(NextHop::decode(Family::IPV4_UNICAST, &[]).is_err());
    }
}
