//! Route keys: the destination a Loc-RIB row stands for.
//!
//! [`RouteKey`] is the public form (an optional route distinguisher and a prefix, RFC 4364 §4.1
//! for VPN-IPv4, RFC 4659 §2 for VPN-IPv6). Inside the tables each family has its own packed
//! key with byte-array fields (alignment 1), so a VPNv4 key is 13 octets rather than the 40 of
//! a `(Option<RouteDistinguisher>, IpNet)` pair. Prefixes are stored truncated to their length
//! (host bits cleared), whatever the peer sent.

use std::fmt;
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

use tern_types::{IpNet, Ipv4Net, Ipv6Net, RouteDistinguisher};
use tern_wire::Nlri;

/// A destination: a prefix, with its route distinguisher in the VPN families.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RouteKey {
    /// Route distinguisher (VPNv4 / VPNv6 only).
    pub rd: Option<RouteDistinguisher>,
    /// The prefix, host bits cleared.
    pub prefix: IpNet,
}

impl RouteKey {
    /// A key without RD (unicast and labeled unicast).
    pub fn new(prefix: IpNet) -> RouteKey {
        RouteKey {
            rd: None,
            prefix: prefix.trunc(),
        }
    }

    /// A VPN key.
    pub fn vpn(rd: RouteDistinguisher, prefix: IpNet) -> RouteKey {
        RouteKey {
            rd: Some(rd),
            prefix: prefix.trunc(),
        }
    }

    /// The key of a received NLRI (its RD and prefix; labels and path ID are not part of it).
    pub fn of_nlri(n: &Nlri) -> RouteKey {
        RouteKey {
            rd: n.rd,
            prefix: n.prefix.trunc(),
        }
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rd {
            Some(rd) => write!(f, "{rd}:{}", self.prefix),
            None => write!(f, "{}", self.prefix),
        }
    }
}

/// A family's packed table key.
pub(crate) trait PrefixKey: Copy + Eq + Hash + fmt::Debug + 'static {
    /// The packed key of a public key; `None` when the address family or RD presence does not
    /// fit the table.
    fn pack(k: &RouteKey) -> Option<Self>;
    /// The public key.
    fn unpack(&self) -> RouteKey;
}

/// IPv4 unicast / labeled unicast key (5 octets).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct V4Key {
    addr: [u8; 4],
    len: u8,
}

/// IPv6 unicast / labeled unicast key (17 octets).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct V6Key {
    addr: [u8; 16],
    len: u8,
}

/// VPNv4 key (13 octets).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Vpn4Key {
    rd: [u8; 8],
    addr: [u8; 4],
    len: u8,
}

/// VPNv6 key (25 octets).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Vpn6Key {
    rd: [u8; 8],
    addr: [u8; 16],
    len: u8,
}

fn v4(p: &IpNet) -> Option<([u8; 4], u8)> {
    match p {
        IpNet::V4(n) => Some((n.trunc().addr().octets(), n.prefix_len())),
        IpNet::V6(_) => None,
    }
}

fn v6(p: &IpNet) -> Option<([u8; 16], u8)> {
    match p {
        IpNet::V6(n) => Some((n.trunc().addr().octets(), n.prefix_len())),
        IpNet::V4(_) => None,
    }
}

fn net4(addr: [u8; 4], len: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap_or_default())
}

fn net6(addr: [u8; 16], len: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap_or_default())
}

impl PrefixKey for V4Key {
    fn pack(k: &RouteKey) -> Option<Self> {
        let (addr, len) = v4(&k.prefix)?;
        k.rd.is_none().then_some(V4Key { addr, len })
    }
    fn unpack(&self) -> RouteKey {
        RouteKey {
            rd: None,
            prefix: net4(self.addr, self.len),
        }
    }
}

impl PrefixKey for V6Key {
    fn pack(k: &RouteKey) -> Option<Self> {
        let (addr, len) = v6(&k.prefix)?;
        k.rd.is_none().then_some(V6Key { addr, len })
    }
    fn unpack(&self) -> RouteKey {
        RouteKey {
            rd: None,
            prefix: net6(self.addr, self.len),
        }
    }
}

impl PrefixKey for Vpn4Key {
    fn pack(k: &RouteKey) -> Option<Self> {
        let (addr, len) = v4(&k.prefix)?;
        Some(Vpn4Key {
            rd: k.rd?.0,
            addr,
            len,
        })
    }
    fn unpack(&self) -> RouteKey {
        RouteKey {
            rd: Some(RouteDistinguisher(self.rd)),
            prefix: net4(self.addr, self.len),
        }
    }
}

impl PrefixKey for Vpn6Key {
    fn pack(k: &RouteKey) -> Option<Self> {
        let (addr, len) = v6(&k.prefix)?;
        Some(Vpn6Key {
            rd: k.rd?.0,
            addr,
            len,
        })
    }
    fn unpack(&self) -> RouteKey {
        RouteKey {
            rd: Some(RouteDistinguisher(self.rd)),
            prefix: net6(self.addr, self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_sizes_and_round_trip() {
        assert_eq!(std::mem::size_of::<V4Key>(), 5);
        assert_eq!(std::mem::size_of::<Vpn4Key>(), 13);
        assert_eq!(std::mem::size_of::<Vpn6Key>(), 25);
        let k = RouteKey::vpn("100:1".parse().unwrap(), "10.1.2.3/24".parse().unwrap());
        assert_eq!(k.to_string(), "100:1:10.1.2.0/24");
        assert_eq!(Vpn4Key::pack(&k).unwrap().unpack(), k);
        assert!(V4Key::pack(&k).is_none());
        assert!(Vpn6Key::pack(&k).is_none());
        let u = RouteKey::new("2001:db8::1/64".parse().unwrap());
        assert_eq!(
            V6Key::pack(&u).unwrap().unpack().to_string(),
            "2001:db8::/64"
        );
    }
}
