//! Address family identifiers (RFC 4760 §3; IANA "Address Family Numbers" and "SAFI Values").

use std::fmt;

/// Address Family Identifier (2 octets on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Afi(pub u16);

impl Afi {
    /// IPv4 (1).
    pub const IPV4: Afi = Afi(1);
    /// IPv6 (2).
    pub const IPV6: Afi = Afi(2);
}

/// Subsequent Address Family Identifier (1 octet on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Safi(pub u8);

impl Safi {
    /// Unicast (1).
    pub const UNICAST: Safi = Safi(1);
    /// Multicast (2).
    pub const MULTICAST: Safi = Safi(2);
    /// NLRI with MPLS labels (4, RFC 8277).
    pub const LABELED: Safi = Safi(4);
    /// MPLS-labeled VPN address (128, RFC 4364 / RFC 4659).
    pub const MPLS_VPN: Safi = Safi(128);
    /// Route target constraint (132, RFC 4684 §4).
    pub const RT_CONSTRAINT: Safi = Safi(132);
}

/// An (AFI, SAFI) pair.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast.
    pub const IPV4_UNICAST: Family = Family::new(Afi::IPV4, Safi::UNICAST);
    /// IPv6 unicast.
    pub const IPV6_UNICAST: Family = Family::new(Afi::IPV6, Safi::UNICAST);
    /// IPv4 labeled unicast (RFC 8277).
    pub const IPV4_LABELED: Family = Family::new(Afi::IPV4, Safi::LABELED);
    /// IPv6 labeled unicast (RFC 8277).
    pub const IPV6_LABELED: Family = Family::new(Afi::IPV6, Safi::LABELED);
    /// VPNv4 (RFC 4364).
    pub const VPNV4: Family = Family::new(Afi::IPV4, Safi::MPLS_VPN);
    /// VPNv6 (RFC 4659).
    pub const VPNV6: Family = Family::new(Afi::IPV6, Safi::MPLS_VPN);
    /// Route target constraint (RFC 4684): route target membership NLRI. Not one of
    /// [`Family::KNOWN`]: its NLRI are not prefixes and never enter the route tables.
    pub const RTC: Family = Family::new(Afi::IPV4, Safi::RT_CONSTRAINT);

    /// Builds a family from its two numbers.
    pub const fn new(afi: Afi, safi: Safi) -> Family {
        Family { afi, safi }
    }

    /// True for families whose NLRI carry a label stack (labeled unicast and VPN).
    pub const fn has_labels(self) -> bool {
        self.safi.0 == Safi::LABELED.0 || self.safi.0 == Safi::MPLS_VPN.0
    }

    /// True for VPN families, whose NLRI carry a route distinguisher.
    pub const fn has_rd(self) -> bool {
        self.safi.0 == Safi::MPLS_VPN.0
    }

    /// True when the prefixes of this family are IPv6.
    pub const fn is_ipv6(self) -> bool {
        self.afi.0 == Afi::IPV6.0
    }

    /// The labeled unicast family of a unicast family (RFC 8277): IPv4 unicast → IPv4
    /// labeled, IPv6 unicast → IPv6 labeled (6PE, RFC 4798).
    pub const fn labeled(self) -> Option<Family> {
        if self.safi.0 == Safi::UNICAST.0 {
            Some(Family::new(self.afi, Safi::LABELED))
        } else {
            None
        }
    }

    /// The unicast family of a labeled unicast family: the reverse of [`Family::labeled`].
    pub const fn unlabeled(self) -> Option<Family> {
        if self.safi.0 == Safi::LABELED.0 {
            Some(Family::new(self.afi, Safi::UNICAST))
        } else {
            None
        }
    }

    /// The families tern's codec understands beyond opaque bytes.
    pub const KNOWN: [Family; 6] = [
        Family::IPV4_UNICAST,
        Family::IPV6_UNICAST,
        Family::IPV4_LABELED,
        Family::IPV6_LABELED,
        Family::VPNV4,
        Family::VPNV6,
    ];

    /// True if this is one of [`Family::KNOWN`].
    pub fn is_known(self) -> bool {
        Family::KNOWN.contains(&self)
    }
}

impl fmt::Display for Family {
    /// VRP-style family names: `ipv4-unicast`, `vpnv6`, `ipv4-labeled-unicast`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Family::IPV4_UNICAST => f.write_str("ipv4-unicast"),
            Family::IPV6_UNICAST => f.write_str("ipv6-unicast"),
            Family::IPV4_LABELED => f.write_str("ipv4-labeled-unicast"),
            Family::IPV6_LABELED => f.write_str("ipv6-labeled-unicast"),
            Family::VPNV4 => f.write_str("vpnv4"),
            Family::VPNV6 => f.write_str("vpnv6"),
            Family::RTC => f.write_str("rt-constraint"),
            Family { afi, safi } => write!(f, "afi{}-safi{}", afi.0, safi.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags() {
        assert_eq!(Family::VPNV6.to_string(), "vpnv6");
        assert_eq!(Family::new(Afi(25), Safi(70)).to_string(), "afi25-safi70");
        assert!(Family::VPNV4.has_rd() && Family::VPNV4.has_labels());
        assert!(Family::IPV4_LABELED.has_labels() && !Family::IPV4_LABELED.has_rd());
        assert!(!Family::IPV6_UNICAST.has_labels());
        assert!(Family::VPNV6.is_ipv6() && !Family::VPNV4.is_ipv6());
        assert_eq!(Family::IPV6_UNICAST.labeled(), Some(Family::IPV6_LABELED));
        assert_eq!(Family::IPV4_UNICAST.labeled(), Some(Family::IPV4_LABELED));
        assert_eq!(Family::IPV6_LABELED.unlabeled(), Some(Family::IPV6_UNICAST));
        assert_eq!(Family::VPNV6.labeled(), None);
        assert_eq!(Family::VPNV6.unlabeled(), None);
    }
}
