//! BGP capabilities (RFC 5492) carried in OPEN optional parameters.
//!
//! Implemented: Multiprotocol (RFC 4760 §8), Route Refresh (RFC 2918 §3), Extended Next Hop
//! Encoding (RFC 8950 §3), Extended Message (RFC 8654 §3), Graceful Restart (RFC 4724 §3),
//! 4-octet AS (RFC 6793 §3), ADD-PATH (RFC 7911 §4), Enhanced Route Refresh (RFC 7313 §3.1) and
//! FQDN (draft-walton-bgp-hostname-capability). Anything else is kept as its code and bytes and
//! re-encoded unchanged.

use tern_types::{Afi, Family, Safi};

use crate::reader::Reader;
use crate::{EncodeError, len_u8};

/// Capability codes (IANA "Capability Codes").
pub mod cap_code {
    /// Multiprotocol Extensions.
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh.
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended Next Hop Encoding.
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    /// Extended Message.
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// Graceful Restart.
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Support for 4-octet AS numbers.
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH.
    pub const ADD_PATH: u8 = 69;
    /// Enhanced Route Refresh.
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// FQDN (hostname).
    pub const FQDN: u8 = 73;
}

/// ADD-PATH Send/Receive field (RFC 7911 §4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AddPathMode(pub u8);

impl AddPathMode {
    /// Able to receive multiple paths.
    pub const RECEIVE: AddPathMode = AddPathMode(1);
    /// Able to send multiple paths.
    pub const SEND: AddPathMode = AddPathMode(2);
    /// Both.
    pub const BOTH: AddPathMode = AddPathMode(3);

    /// Can receive.
    pub fn receive(self) -> bool {
        self.0 & 1 != 0
    }

    /// Can send.
    pub fn send(self) -> bool {
        self.0 & 2 != 0
    }
}

/// One family in a Graceful Restart capability.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct GrFamily {
    /// The family.
    pub family: Family,
    /// Flags for the family (bit 0x80: forwarding state preserved).
    pub flags: u8,
}

/// One entry of an Extended Next Hop Encoding capability.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ExtNextHop {
    /// NLRI AFI.
    pub afi: Afi,
    /// NLRI SAFI (2 octets in this capability).
    pub safi: u16,
    /// Next-hop AFI.
    pub nh_afi: Afi,
}

/// A capability.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Capability {
    /// Multiprotocol Extensions for one family.
    Multiprotocol(Family),
    /// Route Refresh.
    RouteRefresh,
    /// Enhanced Route Refresh.
    EnhancedRouteRefresh,
    /// 4-octet AS number support, with the speaker's AS.
    FourOctetAs(u32),
    /// ADD-PATH per family.
    AddPath(Vec<(Family, AddPathMode)>),
    /// Graceful Restart: restart flags (high 4 bits), restart time (12 bits), families.
    GracefulRestart {
        /// Restart flags (R = 0x8, N = 0x4).
        flags: u8,
        /// Restart time in seconds (0..=4095).
        time: u16,
        /// Families and their flags.
        families: Vec<GrFamily>,
    },
    /// Extended Next Hop Encoding (RFC 8950).
    ExtendedNextHop(Vec<ExtNextHop>),
    /// Extended Message (RFC 8654).
    ExtendedMessage,
    /// FQDN: host and domain names.
    Fqdn {
        /// Host name.
        hostname: Vec<u8>,
        /// Domain name.
        domain: Vec<u8>,
    },
    /// Any other capability, kept as bytes.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        data: Vec<u8>,
    },
}

/// A malformed capability.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("malformed capability code {0}")]
pub struct CapabilityError(pub u8);

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => cap_code::MULTIPROTOCOL,
            Capability::RouteRefresh => cap_code::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => cap_code::ENHANCED_ROUTE_REFRESH,
            Capability::FourOctetAs(_) => cap_code::FOUR_OCTET_AS,
            Capability::AddPath(_) => cap_code::ADD_PATH,
            Capability::GracefulRestart { .. } => cap_code::GRACEFUL_RESTART,
            Capability::ExtendedNextHop(_) => cap_code::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => cap_code::EXTENDED_MESSAGE,
            Capability::Fqdn { .. } => cap_code::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decodes one capability's value.
    pub fn decode(code: u8, value: &[u8]) -> Result<Capability, CapabilityError> {
        let bad = CapabilityError(code);
        let mut r = Reader::new(value);
        let cap = match code {
            cap_code::MULTIPROTOCOL => {
                let afi = r.u16().ok_or(bad)?;
                let _reserved = r.u8().ok_or(bad)?;
                let safi = r.u8().ok_or(bad)?;
                Capability::Multiprotocol(Family::new(Afi(afi), Safi(safi)))
            }
            cap_code::ROUTE_REFRESH => Capability::RouteRefresh,
            cap_code::ENHANCED_ROUTE_REFRESH => Capability::EnhancedRouteRefresh,
            cap_code::EXTENDED_MESSAGE => Capability::ExtendedMessage,
            cap_code::FOUR_OCTET_AS => Capability::FourOctetAs(r.u32().ok_or(bad)?),
            cap_code::ADD_PATH => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    let afi = r.u16().ok_or(bad)?;
                    let safi = r.u8().ok_or(bad)?;
                    let mode = r.u8().ok_or(bad)?;
                    v.push((Family::new(Afi(afi), Safi(safi)), AddPathMode(mode)));
                }
                Capability::AddPath(v)
            }
            cap_code::GRACEFUL_RESTART => {
                let word = r.u16().ok_or(bad)?;
                let mut families = Vec::new();
                while !r.is_empty() {
                    let afi = r.u16().ok_or(bad)?;
                    let safi = r.u8().ok_or(bad)?;
                    let flags = r.u8().ok_or(bad)?;
                    families.push(GrFamily {
                        family: Family::new(Afi(afi), Safi(safi)),
                        flags,
                    });
                }
                Capability::GracefulRestart {
                    flags: u8::try_from(word >> 12).map_err(|_| bad)?,
                    time: word & 0x0fff,
                    families,
                }
            }
            cap_code::EXTENDED_NEXT_HOP => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    let afi = r.u16().ok_or(bad)?;
                    let safi = r.u16().ok_or(bad)?;
                    let nh_afi = r.u16().ok_or(bad)?;
                    v.push(ExtNextHop {
                        afi: Afi(afi),
                        safi,
                        nh_afi: Afi(nh_afi),
                    });
                }
                Capability::ExtendedNextHop(v)
            }
            cap_code::FQDN => {
                let hl = r.u8().ok_or(bad)?;
                let hostname = r.take(usize::from(hl)).ok_or(bad)?.to_vec();
                let dl = r.u8().ok_or(bad)?;
                let domain = r.take(usize::from(dl)).ok_or(bad)?.to_vec();
                Capability::Fqdn { hostname, domain }
            }
            _ => {
                return Ok(Capability::Unknown {
                    code,
                    data: value.to_vec(),
                });
            }
        };
        if r.is_empty() { Ok(cap) } else { Err(bad) }
    }

    /// Appends code, length and value.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.code());
        let len_at = out.len();
        out.push(0);
        match self {
            Capability::Multiprotocol(f) => {
                out.extend_from_slice(&f.afi.0.to_be_bytes());
                out.push(0);
                out.push(f.safi.0);
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::FourOctetAs(asn) => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::AddPath(v) => {
                for (f, m) in v {
                    out.extend_from_slice(&f.afi.0.to_be_bytes());
                    out.push(f.safi.0);
                    out.push(m.0);
                }
            }
            Capability::GracefulRestart {
                flags,
                time,
                families,
            } => {
                let word = (u16::from(*flags & 0x0f) << 12) | (time & 0x0fff);
                out.extend_from_slice(&word.to_be_bytes());
                for g in families {
                    out.extend_from_slice(&g.family.afi.0.to_be_bytes());
                    out.push(g.family.safi.0);
                    out.push(g.flags);
                }
            }
            Capability::ExtendedNextHop(v) => {
                for e in v {
                    out.extend_from_slice(&e.afi.0.to_be_bytes());
                    out.extend_from_slice(&e.safi.to_be_bytes());
                    out.extend_from_slice(&e.nh_afi.0.to_be_bytes());
                }
            }
            Capability::Fqdn { hostname, domain } => {
                out.push(len_u8(hostname.len())?);
                out.extend_from_slice(hostname);
                out.push(len_u8(domain.len())?);
                out.extend_from_slice(domain);
            }
            Capability::Unknown { data, .. } => out.extend_from_slice(data),
        }
        let len = len_u8(out.len().saturating_sub(len_at).saturating_sub(1))?;
        crate::reader::patch_u8(out, len_at, len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) -> Capability {
        let mut r = Reader::new(bytes);
        let code = r.u8().unwrap();
        let len = r.u8().unwrap();
        let cap = Capability::decode(code, r.take(len.into()).unwrap()).unwrap();
        let mut out = Vec::new();
        cap.encode(&mut out).unwrap();
        assert_eq!(out, bytes);
        cap
    }

    #[test]
    fn known_capabilities() {
        assert_eq!(
            round_trip(&[1, 4, 0, 2, 0, 128]),
            Capability::Multiprotocol(Family::VPNV6)
        );
        assert_eq!(
            round_trip(&[65, 4, 0, 0, 0, 200]),
            Capability::FourOctetAs(200)
        );
        let ap = round_trip(&[69, 4, 0, 1, 1, 3]);
        assert_eq!(
            ap,
            Capability::AddPath(vec![(Family::IPV4_UNICAST, AddPathMode::BOTH)])
        );
        let gr = round_trip(&[64, 6, 0x80, 0x78, 0, 1, 128, 0x80]);
        assert!(matches!(
            gr,
            Capability::GracefulRestart {
                flags: 8,
                time: 120,
                ..
            }
        ));
        round_trip(&[5, 6, 0, 1, 0, 1, 0, 2]);
        round_trip(&[73, 5, 2, b'p', b'e', 1, b'x']);
        round_trip(&[6, 0]);
        round_trip(&[70, 0]);
        round_trip(&[200, 2, 9, 9]);
        assert!(Capability::decode(1, &[0, 1, 0]).is_err());
        assert!(Capability::decode(65, &[0, 0, 0, 1, 5]).is_err());
    }
}
