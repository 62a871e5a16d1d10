//! Route distinguishers (RFC 4364 §4.2): 8 octets, a 2-octet type then a value.
//!
//! - type 0: 2-octet AS `:` 4-octet number, written `100:1`
//! - type 1: IPv4 address `:` 2-octet number, written `1.1.1.1:1`
//! - type 2: 4-octet AS `:` 2-octet number, written `65536:1` (or dotted `1.0:1` on input)
//!
//! Other types are kept as their 8 octets and shown in hex.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// A route distinguisher, kept in its wire form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct RouteDistinguisher(pub [u8; 8]);

/// Why a string is not a route distinguisher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a route distinguisher (forms: 100:1, 1.1.1.1:1, 65536:1, 1.0:1)")]
pub struct RdParseError(pub String);

impl RouteDistinguisher {
    /// The all-zero RD (used in VPN next hops, RFC 4364 §4.3.2).
    pub const ZERO: RouteDistinguisher = RouteDistinguisher([0; 8]);

    /// Type 0: 2-octet AS and 4-octet assigned number.
    pub fn type0(asn: u16, number: u32) -> Self {
        let mut b = [0u8; 8];
        b[2..4].copy_from_slice(&asn.to_be_bytes());
        b[4..8].copy_from_slice(&number.to_be_bytes());
        RouteDistinguisher(b)
    }

    /// Type 1: IPv4 address and 2-octet assigned number.
    pub fn type1(addr: Ipv4Addr, number: u16) -> Self {
        let mut b = [0u8; 8];
        b[1] = 1;
        b[2..6].copy_from_slice(&addr.octets());
        b[6..8].copy_from_slice(&number.to_be_bytes());
        RouteDistinguisher(b)
    }

    /// Type 2: 4-octet AS and 2-octet assigned number.
    pub fn type2(asn: u32, number: u16) -> Self {
        let mut b = [0u8; 8];
        b[1] = 2;
        b[2..6].copy_from_slice(&asn.to_be_bytes());
        b[6..8].copy_from_slice(&number.to_be_bytes());
        RouteDistinguisher(b)
    }

    /// The RD's type field.
    pub fn kind(&self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }

    /// True for the all-zero RD.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }
}

impl fmt::Display for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        let u16at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        match self.kind() {
            0 => write!(f, "{}:{}", u16at(2), u32at(4)),
            1 => write!(f, "{}:{}", Ipv4Addr::new(b[2], b[3], b[4], b[5]), u16at(6)),
            2 => write!(f, "{}:{}", u32at(2), u16at(6)),
            _ => {
                for x in b {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for RouteDistinguisher {
    type Err = RdParseError;

    fn from_str(s: &str) -> Result<Self, RdParseError> {
        let err = || RdParseError(s.to_owned());
        let (admin, num) = s.rsplit_once(':').ok_or_else(err)?;
        if num.is_empty() || !num.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        if admin.bytes().filter(|&c| c == b'.').count() == 3 {
            let addr: Ipv4Addr = admin.parse().map_err(|_| err())?;
            let n: u16 = num.parse().map_err(|_| err())?;
            return Ok(Self::type1(addr, n));
        }
        let dotted = admin.contains('.');
        let asn: u32 = if dotted {
            admin.parse::<crate::Asn>().map_err(|_| err())?.0
        } else {
            if admin.is_empty() || !admin.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            admin.parse().map_err(|_| err())?
        };
        match u16::try_from(asn) {
            Ok(a) if !dotted => Ok(Self::type0(a, num.parse().map_err(|_| err())?)),
            _ => Ok(Self::type2(asn, num.parse().map_err(|_| err())?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_each_type() {
        for (text, kind) in [
            ("100:1", 0),
            ("1.1.1.1:1", 1),
            ("65536:1", 2),
            ("200:4294967295", 0),
        ] {
            let rd: RouteDistinguisher = text.parse().unwrap();
            assert_eq!(rd.kind(), kind, "{text}");
            assert_eq!(rd.to_string(), text);
        }
        let rd: RouteDistinguisher = "1.0:7".parse().unwrap();
        assert_eq!(rd, RouteDistinguisher::type2(65536, 7));
        assert_eq!(rd.0, [0, 2, 0, 1, 0, 0, 0, 7]);
        for bad in [
            "100",
            ":1",
            "100:",
            "1.1.1:1",
            "65536:70000",
            "a:1",
            "100:-1",
        ] {
            assert!(bad.parse::<RouteDistinguisher>().is_err(), "{bad}");
        }
    }
}
