//! Extended communities (RFC 4360 §2), with the route target and route origin sub-types in
//! their three forms: 2-octet AS specific (type 0x00, RFC 4360 §3.1), IPv4 address specific
//! (0x01, §3.2) and 4-octet AS specific (0x02, RFC 5668 §2). Other communities are kept as
//! their 8 octets.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// One extended community, in wire form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ExtCommunity(pub [u8; 8]);

/// Route target or route origin.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TargetKind {
    /// Route target (sub-type 0x02).
    RouteTarget,
    /// Route origin, also called site of origin (sub-type 0x03).
    RouteOrigin,
}

/// Why a string is not a route target value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a VPN target (forms: 100:1, 1.1.1.1:1, 65536:1, 1.0:1)")]
pub struct RouteTargetParseError(pub String);

impl ExtCommunity {
    const SUB_RT: u8 = 0x02;
    const SUB_RO: u8 = 0x03;

    fn sub(kind: TargetKind) -> u8 {
        match kind {
            TargetKind::RouteTarget => Self::SUB_RT,
            TargetKind::RouteOrigin => Self::SUB_RO,
        }
    }

    /// 2-octet AS specific target (type 0x00).
    pub fn as2(kind: TargetKind, asn: u16, number: u32) -> Self {
        let mut b = [0u8; 8];
        b[1] = Self::sub(kind);
        b[2..4].copy_from_slice(&asn.to_be_bytes());
        b[4..8].copy_from_slice(&number.to_be_bytes());
        ExtCommunity(b)
    }

    /// IPv4 address specific target (type 0x01).
    pub fn ipv4(kind: TargetKind, addr: Ipv4Addr, number: u16) -> Self {
        let mut b = [0u8; 8];
        b[0] = 0x01;
        b[1] = Self::sub(kind);
        b[2..6].copy_from_slice(&addr.octets());
        b[6..8].copy_from_slice(&number.to_be_bytes());
        ExtCommunity(b)
    }

    /// 4-octet AS specific target (type 0x02).
    pub fn as4(kind: TargetKind, asn: u32, number: u16) -> Self {
        let mut b = [0u8; 8];
        b[0] = 0x02;
        b[1] = Self::sub(kind);
        b[2..6].copy_from_slice(&asn.to_be_bytes());
        b[6..8].copy_from_slice(&number.to_be_bytes());
        ExtCommunity(b)
    }

    /// Parses the value part of a VRP `vpn-target` (`100:1`, `1.1.1.1:1`, `65536:1`, `1.0:1`).
    pub fn parse_target(kind: TargetKind, s: &str) -> Result<Self, RouteTargetParseError> {
        let rd: crate::RouteDistinguisher =
            s.parse().map_err(|_| RouteTargetParseError(s.to_owned()))?;
        let mut b = rd.0;
        b[0] = rd.0[1];
        b[1] = Self::sub(kind);
        Ok(ExtCommunity(b))
    }

    /// True if this is a route target in any of the three forms.
    pub fn is_route_target(&self) -> bool {
        self.target_kind() == Some(TargetKind::RouteTarget)
    }

    /// Route target or route origin, when this community is one of them.
    pub fn target_kind(&self) -> Option<TargetKind> {
        // The high-order type octet may have the non-transitive bit clear only (0x00-0x02).
        if self.0[0] > 0x02 {
            return None;
        }
        match self.0[1] {
            Self::SUB_RT => Some(TargetKind::RouteTarget),
            Self::SUB_RO => Some(TargetKind::RouteOrigin),
            _ => None,
        }
    }

    /// The value part as VRP writes it (`100:1`), for route targets and origins.
    fn value_string(&self) -> String {
        let mut rd = self.0;
        rd[1] = rd[0];
        rd[0] = 0;
        crate::RouteDistinguisher(rd).to_string()
    }
}

impl fmt::Display for ExtCommunity {
    /// `RT:100:1`, `SoO:1.1.1.1:1`, or the 8 octets in hex for other communities.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target_kind() {
            Some(TargetKind::RouteTarget) => write!(f, "RT:{}", self.value_string()),
            Some(TargetKind::RouteOrigin) => write!(f, "SoO:{}", self.value_string()),
            None => {
                f.write_str("0x")?;
                for x in self.0 {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for ExtCommunity {
    type Err = RouteTargetParseError;

    /// Parses a route target value (`100:1`, ...), as `vpn-target` takes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_target(TargetKind::RouteTarget, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_forms() {
        let a: ExtCommunity = "100:1".parse().unwrap();
        assert_eq!(a, ExtCommunity::as2(TargetKind::RouteTarget, 100, 1));
        assert_eq!(a.0, [0, 2, 0, 100, 0, 0, 0, 1]);
        assert_eq!(a.to_string(), "RT:100:1");
        let b: ExtCommunity = "1.1.1.1:5".parse().unwrap();
        assert_eq!(b.0, [1, 2, 1, 1, 1, 1, 0, 5]);
        assert_eq!(b.to_string(), "RT:1.1.1.1:5");
        let c: ExtCommunity = "65536:7".parse().unwrap();
        assert_eq!(c.0, [2, 2, 0, 1, 0, 0, 0, 7]);
        assert_eq!(c.to_string(), "RT:65536:7");
        let o = ExtCommunity::as4(TargetKind::RouteOrigin, 70000, 2);
        assert_eq!(o.to_string(), "SoO:70000:2");
        assert!(!o.is_route_target());
        let other = ExtCommunity([0x80, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(other.target_kind(), None);
        assert_eq!(other.to_string(), "0x8006000000000000");
    }
}
