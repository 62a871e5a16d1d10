//! MRT records (RFC 6396): what a RIB dump and a message log are written as.
//!
//! - §2 / §3: the common header (timestamp, type, subtype, length) around every record
//!   ([`record`]).
//! - §4.3 TABLE_DUMP_V2: the PEER_INDEX_TABLE (§4.3.1, [`peer_index_table`]) that opens a dump,
//!   then one record per destination: RIB_IPV4_UNICAST / RIB_IPV6_UNICAST (§4.3.2, the prefix
//!   alone) or RIB_GENERIC (§4.3.3, AFI, SAFI and one NLRI as in MP_REACH_NLRI: labels and
//!   route distinguisher included) for the labeled and VPN families ([`rib`]). Each RIB entry's
//!   attributes follow §4.3.4 ([`rib_attributes`]): AS_PATH with 4-octet AS numbers, and
//!   MP_REACH_NLRI holding only the next hop's length and address (the AFI, SAFI and NLRI are
//!   in the record's header); IPv4 unicast with an IPv4 next hop uses NEXT_HOP.
//! - §4.4 BGP4MP: BGP4MP_MESSAGE_AS4 (§4.4.3) for a message of a session with 4-octet AS
//!   numbers, BGP4MP_MESSAGE (§4.4.2) otherwise, and BGP4MP_STATE_CHANGE_AS4 (§4.4.4)
//!   ([`bgp4mp_message`], [`bgp4mp_state_change`]).
//!
//! The ADD-PATH variants of RFC 8050 are not written.

use std::net::{IpAddr, Ipv4Addr};

use tern_types::{AS_TRANS, Family};

use crate::attr::{PathAttribute, flag, type_code};
use crate::nexthop::NextHop;
use crate::nlri::Nlri;
use crate::{EncodeError, len_u8, len_u16};

/// MRT types (RFC 6396 §4).
pub mod mrt_type {
    /// TABLE_DUMP_V2 (§4.3).
    pub const TABLE_DUMP_V2: u16 = 13;
    /// BGP4MP (§4.4).
    pub const BGP4MP: u16 = 16;
}

/// TABLE_DUMP_V2 subtypes (RFC 6396 §4.3).
pub mod table_dump_v2 {
    /// PEER_INDEX_TABLE.
    pub const PEER_INDEX_TABLE: u16 = 1;
    /// RIB_IPV4_UNICAST.
    pub const RIB_IPV4_UNICAST: u16 = 2;
    /// RIB_IPV6_UNICAST.
    pub const RIB_IPV6_UNICAST: u16 = 4;
    /// RIB_GENERIC.
    pub const RIB_GENERIC: u16 = 6;
    /// RIB_IPV4_UNICAST_ADDPATH (RFC 8050 §4.1).
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    /// RIB_IPV6_UNICAST_ADDPATH (RFC 8050 §4.1).
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
    /// RIB_GENERIC_ADDPATH (RFC 8050 §4.1).
    pub const RIB_GENERIC_ADDPATH: u16 = 12;
}

/// BGP4MP subtypes (RFC 6396 §4.4).
pub mod bgp4mp {
    /// BGP4MP_STATE_CHANGE (2-octet AS numbers).
    pub const STATE_CHANGE: u16 = 0;
    /// BGP4MP_MESSAGE (2-octet AS numbers).
    pub const MESSAGE: u16 = 1;
    /// BGP4MP_MESSAGE_AS4.
    pub const MESSAGE_AS4: u16 = 4;
    /// BGP4MP_STATE_CHANGE_AS4.
    pub const STATE_CHANGE_AS4: u16 = 5;
    /// BGP4MP_MESSAGE_ADDPATH (RFC 8050 §4.2).
    pub const MESSAGE_ADDPATH: u16 = 8;
    /// BGP4MP_MESSAGE_AS4_ADDPATH (RFC 8050 §4.2).
    pub const MESSAGE_AS4_ADDPATH: u16 = 9;
}

/// The BGP FSM states as BGP4MP_STATE_CHANGE numbers them (RFC 6396 §4.4.1).
pub mod fsm_state {
    /// Idle.
    pub const IDLE: u16 = 1;
    /// Connect.
    pub const CONNECT: u16 = 2;
    /// Active.
    pub const ACTIVE: u16 = 3;
    /// OpenSent.
    pub const OPEN_SENT: u16 = 4;
    /// OpenConfirm.
    pub const OPEN_CONFIRM: u16 = 5;
    /// Established.
    pub const ESTABLISHED: u16 = 6;
}

/// Appends one record: the common header (§2) and `body`.
pub fn record(
    out: &mut Vec<u8>,
    timestamp: u32,
    typ: u16,
    subtype: u16,
    body: &[u8],
) -> Result<(), EncodeError> {
    let len = u32::try_from(body.len()).map_err(|_| EncodeError::TooLong("MRT record"))?;
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&subtype.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(())
}

/// A peer of the PEER_INDEX_TABLE (§4.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexPeer {
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The peer's address.
    pub addr: IpAddr,
    /// The peer's AS (always written in 4 octets).
    pub asn: u32,
}

/// The body of a PEER_INDEX_TABLE (§4.3.1): the collector's BGP identifier, the view name and
/// the peers, which RIB entries refer to by position.
pub fn peer_index_table(
    collector: Ipv4Addr,
    view: &str,
    peers: &[IndexPeer],
) -> Result<Vec<u8>, EncodeError> {
    let mut b = Vec::with_capacity(
        view.len()
            .saturating_add(8)
            .saturating_add(peers.len().saturating_mul(25)),
    );
    b.extend_from_slice(&collector.octets());
    b.extend_from_slice(&len_u16(view.len())?.to_be_bytes());
    b.extend_from_slice(view.as_bytes());
    b.extend_from_slice(&len_u16(peers.len())?.to_be_bytes());
    for p in peers {
        // Bit 0: IPv6 address; bit 1: 4-octet AS.
        let v6 = matches!(p.addr, IpAddr::V6(_));
        b.push(if v6 { 0x03 } else { 0x02 });
        b.extend_from_slice(&p.bgp_id.octets());
        match p.addr {
            IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
        }
        b.extend_from_slice(&p.asn.to_be_bytes());
    }
    Ok(b)
}

/// One RIB entry (§4.3.4): a peer's path to the record's destination.
#[derive(Clone, Copy, Debug)]
pub struct RibEntry<'a> {
    /// The peer's position in the PEER_INDEX_TABLE.
    pub peer_index: u16,
    /// When the path was received (seconds since the epoch).
    pub originated: u32,
    /// The path attributes, from [`rib_attributes`].
    pub attrs: &'a [u8],
    /// The ADD-PATH path identifier (RFC 8050): a record with one is of an `_ADDPATH`
    /// subtype, and every entry of it carries one (0 when `None`).
    pub path_id: Option<u32>,
}

/// The attribute block of a RIB entry (§4.3.4): `attrs` (AS_PATH in 4-octet form, without
/// NEXT_HOP and MP attributes) in type-code order, with the next hop as NEXT_HOP (IPv4
/// unicast with an IPv4 next hop) or as an MP_REACH_NLRI holding only the next hop's length
/// and address.
pub fn rib_attributes(
    family: Family,
    next_hop: &NextHop,
    attrs: &[PathAttribute<'_>],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let classic = family == Family::IPV4_UNICAST && matches!(next_hop, NextHop::Ipv4(_));
    let mut sorted: Vec<&PathAttribute<'_>> = attrs.iter().collect();
    sorted.sort_by_key(|a| a.type_code());
    let split = if classic {
        type_code::NEXT_HOP
    } else {
        type_code::MP_REACH_NLRI
    };
    let mut next_hop_done = false;
    let mut put_next_hop = |out: &mut Vec<u8>| -> Result<(), EncodeError> {
        if next_hop_done {
            return Ok(());
        }
        next_hop_done = true;
        if classic {
            if let NextHop::Ipv4(a) = next_hop {
                out.extend_from_slice(&[flag::TRANSITIVE, type_code::NEXT_HOP, 4]);
                out.extend_from_slice(&a.octets());
            }
        } else {
            let len = next_hop.wire_len(family);
            out.extend_from_slice(&[flag::OPTIONAL, type_code::MP_REACH_NLRI]);
            out.push(len_u8(len.saturating_add(1))?);
            out.push(len_u8(len)?);
            next_hop.encode(family, out);
        }
        Ok(())
    };
    for a in sorted {
        let tc = a.type_code();
        if matches!(
            tc,
            type_code::NEXT_HOP | type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI
        ) {
            return Err(EncodeError::Misplaced(tc));
        }
        if tc > split {
            put_next_hop(out)?;
        }
        a.encode(out)?;
    }
    put_next_hop(out)
}

/// The subtype and body of a RIB record (§4.3.2, §4.3.3): sequence number, the destination
/// (`nlri`: its labels and route distinguisher are written for the families that carry them)
/// and its entries. IPv4 and IPv6 unicast are RIB_IPV4_UNICAST / RIB_IPV6_UNICAST, every
/// other family RIB_GENERIC; the `_ADDPATH` variants (RFC 8050 §4.1) when an entry has a
/// path identifier.
pub fn rib(
    sequence: u32,
    family: Family,
    nlri: &Nlri,
    entries: &[RibEntry<'_>],
) -> Result<(u16, Vec<u8>), EncodeError> {
    let mut b = Vec::with_capacity(entries.iter().fold(32, |n: usize, e| {
        n.saturating_add(e.attrs.len()).saturating_add(8)
    }));
    b.extend_from_slice(&sequence.to_be_bytes());
    let add_path = entries.iter().any(|e| e.path_id.is_some());
    let subtype = if family == Family::IPV4_UNICAST || family == Family::IPV6_UNICAST {
        let plain = Nlri {
            path_id: None,
            ..*nlri
        };
        plain.encode(family, false, &mut b)?;
        match (family == Family::IPV4_UNICAST, add_path) {
            (true, false) => table_dump_v2::RIB_IPV4_UNICAST,
            (true, true) => table_dump_v2::RIB_IPV4_UNICAST_ADDPATH,
            (false, false) => table_dump_v2::RIB_IPV6_UNICAST,
            (false, true) => table_dump_v2::RIB_IPV6_UNICAST_ADDPATH,
        }
    } else {
        b.extend_from_slice(&family.afi.0.to_be_bytes());
        b.push(family.safi.0);
        let n = Nlri {
            path_id: None,
            ..*nlri
        };
        n.encode(family, false, &mut b)?;
        if add_path {
            table_dump_v2::RIB_GENERIC_ADDPATH
        } else {
            table_dump_v2::RIB_GENERIC
        }
    };
    b.extend_from_slice(&len_u16(entries.len())?.to_be_bytes());
    for e in entries {
        b.extend_from_slice(&e.peer_index.to_be_bytes());
        b.extend_from_slice(&e.originated.to_be_bytes());
        if add_path {
            b.extend_from_slice(&e.path_id.unwrap_or(0).to_be_bytes());
        }
        b.extend_from_slice(&len_u16(e.attrs.len())?.to_be_bytes());
        b.extend_from_slice(e.attrs);
    }
    Ok((subtype, b))
}

/// The session a BGP4MP record belongs to (§4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The peer's AS.
    pub peer_as: u32,
    /// This router's AS on the session.
    pub local_as: u32,
    /// The peer's address.
    pub peer: IpAddr,
    /// The session's local address (of the peer's address family; unspecified when unknown).
    pub local: IpAddr,
}

impl Session {
    fn header(&self, as4: bool, b: &mut Vec<u8>) {
        if as4 {
            b.extend_from_slice(&self.peer_as.to_be_bytes());
            b.extend_from_slice(&self.local_as.to_be_bytes());
        } else {
            let two = |a: u32| u16::try_from(a).unwrap_or(AS_TRANS);
            b.extend_from_slice(&two(self.peer_as).to_be_bytes());
            b.extend_from_slice(&two(self.local_as).to_be_bytes());
        }
        // Interface index: not known.
        b.extend_from_slice(&0u16.to_be_bytes());
        let v4 = |a: IpAddr| match a {
            IpAddr::V4(x) => Some(x),
            IpAddr::V6(x) => x.to_ipv4_mapped(),
        };
        match (v4(self.peer), v4(self.local)) {
            (Some(p), l) => {
                b.extend_from_slice(&1u16.to_be_bytes());
                b.extend_from_slice(&p.octets());
                b.extend_from_slice(&l.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
            }
            (None, _) => {
                b.extend_from_slice(&2u16.to_be_bytes());
                let v6 = |a: IpAddr| match a {
                    IpAddr::V4(x) => x.to_ipv6_mapped(),
                    IpAddr::V6(x) => x,
                };
                b.extend_from_slice(&v6(self.peer).octets());
                b.extend_from_slice(&v6(self.local).octets());
            }
        }
    }
}

/// The subtype and body of a BGP4MP message record: BGP4MP_MESSAGE_AS4 when the session uses
/// 4-octet AS numbers (`as4`, RFC 6396 §4.4.3), else BGP4MP_MESSAGE (§4.4.2); their `_ADDPATH`
/// variants (RFC 8050 §4.2) when the session carries ADD-PATH path identifiers (`add_path`).
/// `message` is the whole BGP message, header included.
pub fn bgp4mp_message(s: &Session, as4: bool, add_path: bool, message: &[u8]) -> (u16, Vec<u8>) {
    let mut b = Vec::with_capacity(message.len().saturating_add(44));
    s.header(as4, &mut b);
    b.extend_from_slice(message);
    let sub = match (as4, add_path) {
        (true, false) => bgp4mp::MESSAGE_AS4,
        (false, false) => bgp4mp::MESSAGE,
        (true, true) => bgp4mp::MESSAGE_AS4_ADDPATH,
        (false, true) => bgp4mp::MESSAGE_ADDPATH,
    };
    (sub, b)
}

/// The subtype and body of a BGP4MP_STATE_CHANGE_AS4 record (§4.4.4): the session went from
/// state `old` to `new` ([`fsm_state`]).
pub fn bgp4mp_state_change(s: &Session, old: u16, new: u16) -> (u16, Vec<u8>) {
    let mut b = Vec::with_capacity(48);
    s.header(true, &mut b);
    b.extend_from_slice(&old.to_be_bytes());
    b.extend_from_slice(&new.to_be_bytes());
    (bgp4mp::STATE_CHANGE_AS4, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{AsPath, AttrValue, Origin};
    use tern_types::{Label, LabelStack};

    fn nlri(p: &str) -> Nlri {
        Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::new(),
            prefix: p.parse().unwrap(),
        }
    }

    #[test]
    fn common_header_and_peer_index_table() {
        let peers = [
            IndexPeer {
                bgp_id: Ipv4Addr::new(10, 0, 0, 2),
                addr: "192.0.2.2".parse().unwrap(),
                asn: 65002,
            },
            IndexPeer {
                bgp_id: Ipv4Addr::new(10, 0, 0, 3),
                addr: "2001:db8::3".parse().unwrap(),
                asn: 4_200_000_000,
            },
        ];
        let body = peer_index_table(Ipv4Addr::new(1, 1, 1, 1), "", &peers).unwrap();
        let mut out = Vec::new();
        record(&mut out, 0x5f00_0000, 13, 1, &body).unwrap();
        let mut want = vec![0x5f, 0, 0, 0, 0, 13, 0, 1];
        want.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
        want.extend_from_slice(&[1, 1, 1, 1, 0, 0, 0, 2]);
        want.extend_from_slice(&[0x02, 10, 0, 0, 2, 192, 0, 2, 2, 0, 0, 0xfd, 0xea]);
        want.extend_from_slice(&[0x03, 10, 0, 0, 3, 0x20, 0x01, 0x0d, 0xb8]);
        want.extend_from_slice(&[0; 11]);
        want.push(3);
        want.extend_from_slice(&4_200_000_000u32.to_be_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn ipv4_unicast_entry_has_next_hop_attribute_and_four_octet_path() {
        let attrs = [
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::sequence(&[65002, 70000], true))),
            PathAttribute::new(AttrValue::Med(5)),
        ];
        let mut a = Vec::new();
        rib_attributes(
            Family::IPV4_UNICAST,
            &NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 2)),
            &attrs,
            &mut a,
        )
        .unwrap();
        let want: Vec<u8> = [
            &[0x40, 1, 1, 0][..],
            &[0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xea, 0, 1, 0x11, 0x70],
            &[0x40, 3, 4, 192, 0, 2, 2],
            &[0x80, 4, 4, 0, 0, 0, 5],
        ]
        .concat();
        assert_eq!(a, want);
        let (sub, body) = rib(
            7,
            Family::IPV4_UNICAST,
            &nlri("10.1.0.0/16"),
            &[RibEntry {
                peer_index: 1,
                originated: 0x6000_0000,
                attrs: &a,
                path_id: None,
            }],
        )
        .unwrap();
        assert_eq!(sub, table_dump_v2::RIB_IPV4_UNICAST);
        let mut want = vec![0, 0, 0, 7, 16, 10, 1, 0, 1, 0, 1, 0x60, 0, 0, 0];
        want.extend_from_slice(&u16::try_from(a.len()).unwrap().to_be_bytes());
        want.extend_from_slice(&a);
        assert_eq!(body, want);
        // RFC 8050 §4.1: with path identifiers, the _ADDPATH subtype and an ID per entry.
        let entry = |peer_index, path_id| RibEntry {
            peer_index,
            originated: 0x6000_0000,
            attrs: &a,
            path_id: Some(path_id),
        };
        let (sub, body) = rib(
            7,
            Family::IPV4_UNICAST,
            &nlri("10.1.0.0/16"),
            &[entry(1, 1), entry(1, 2)],
        )
        .unwrap();
        assert_eq!(sub, table_dump_v2::RIB_IPV4_UNICAST_ADDPATH);
        let mut want = vec![0, 0, 0, 7, 16, 10, 1, 0, 2];
        for id in [1u8, 2] {
            want.extend_from_slice(&[0, 1, 0x60, 0, 0, 0, 0, 0, 0, id]);
            want.extend_from_slice(&u16::try_from(a.len()).unwrap().to_be_bytes());
            want.extend_from_slice(&a);
        }
        assert_eq!(body, want);
        let vpn = Nlri {
            rd: Some("100:1".parse().unwrap()),
            labels: LabelStack::single(Label(1000)),
            ..nlri("10.9.0.0/16")
        };
        let (sub, _) = rib(7, Family::VPNV4, &vpn, &[entry(1, 1)]).unwrap();
        assert_eq!(sub, table_dump_v2::RIB_GENERIC_ADDPATH);
    }

    #[test]
    fn ipv6_entry_has_short_mp_reach() {
        let attrs = [PathAttribute::new(AttrValue::Origin(Origin::Incomplete))];
        let nh = NextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        let mut a = Vec::new();
        rib_attributes(Family::IPV6_UNICAST, &nh, &attrs, &mut a).unwrap();
        let mut want = vec![0x40, 1, 1, 2, 0x80, 14, 17, 16];
        want.extend_from_slice(
            &"2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        assert_eq!(a, want);
        let (sub, body) = rib(1, Family::IPV6_UNICAST, &nlri("2001:db8:1::/48"), &[]).unwrap();
        assert_eq!(sub, table_dump_v2::RIB_IPV6_UNICAST);
        assert_eq!(body, [0, 0, 0, 1, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0]);
    }

    #[test]
    fn vpnv4_is_rib_generic_with_label_and_rd() {
        let n = Nlri {
            path_id: None,
            rd: Some("100:1".parse().unwrap()),
            labels: LabelStack::single(Label(1000)),
            prefix: "10.9.0.0/16".parse().unwrap(),
        };
        let (sub, body) = rib(2, Family::VPNV4, &n, &[]).unwrap();
        assert_eq!(sub, table_dump_v2::RIB_GENERIC);
        // Sequence, AFI 1, SAFI 128, length 24 + 64 + 16 bits, label 1000 with BoS, RD
        // type 0 100:1, prefix, no entries.
        let want = [
            &[0, 0, 0, 2, 0, 1, 128, 104][..],
            &[0x00, 0x3e, 0x81],
            &[0, 0, 0, 100, 0, 0, 0, 1],
            &[10, 9],
            &[0, 0],
        ]
        .concat();
        assert_eq!(body, want);
        let mut a = Vec::new();
        rib_attributes(
            Family::VPNV4,
            &NextHop::Ipv4(Ipv4Addr::new(1, 1, 1, 1)),
            &[],
            &mut a,
        )
        .unwrap();
        assert_eq!(a, [0x80, 14, 13, 12, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    }

    #[test]
    fn next_hop_attributes_are_refused() {
        let attrs = [PathAttribute::new(AttrValue::NextHop(Ipv4Addr::LOCALHOST))];
        let e = rib_attributes(
            Family::IPV4_UNICAST,
            &NextHop::Ipv4(Ipv4Addr::LOCALHOST),
            &attrs,
            &mut Vec::new(),
        );
        assert_eq!(e, Err(EncodeError::Misplaced(type_code::NEXT_HOP)));
    }

    #[test]
    fn bgp4mp_message_and_state_change() {
        let s = Session {
            peer_as: 65002,
            local_as: 70000,
            peer: "192.0.2.2".parse().unwrap(),
            local: "::ffff:192.0.2.1".parse().unwrap(),
        };
        let keepalive = [[0xff; 16].as_slice(), &[0, 19, 4]].concat();
        let (sub, body) = bgp4mp_message(&s, true, false, &keepalive);
        assert_eq!(sub, bgp4mp::MESSAGE_AS4);
        let (sub, same) = bgp4mp_message(&s, true, true, &keepalive);
        assert_eq!((sub, &same), (bgp4mp::MESSAGE_AS4_ADDPATH, &body));
        assert_eq!(
            bgp4mp_message(&s, false, true, &keepalive).0,
            bgp4mp::MESSAGE_ADDPATH
        );
        let head = [
            0, 0, 0xfd, 0xea, 0, 1, 0x11, 0x70, 0, 0, 0, 1, 192, 0, 2, 2, 192, 0, 2, 1,
        ];
        assert_eq!(body, [&head[..], &keepalive].concat());
        let (sub, body) = bgp4mp_message(&s, false, false, &keepalive);
        assert_eq!(sub, bgp4mp::MESSAGE);
        assert_eq!(&body[..4], &[0xfd, 0xea, 0x5b, 0xa0]);
        let (sub, body) = bgp4mp_state_change(&s, fsm_state::OPEN_CONFIRM, fsm_state::ESTABLISHED);
        assert_eq!(sub, bgp4mp::STATE_CHANGE_AS4);
        assert_eq!(body, [&head[..], &[0, 5, 0, 6]].concat());
        let v6 = Session {
            peer: "2001:db8::2".parse().unwrap(),
            local: "2001:db8::1".parse().unwrap(),
            ..s
        };
        let (_, body) = bgp4mp_state_change(&v6, 1, 2);
        assert_eq!(body.len(), 8 + 2 + 2 + 32 + 4);
        assert_eq!(&body[10..12], &[0, 2]);
    }
}
