//! BMP, the BGP Monitoring Protocol (RFC 7854): the messages a monitored router sends to a
//! collector.
//!
//! - common header (§4.1) and per-peer header (§4.2), with the peer types and flags of
//!   RFC 7854 §4.2, RFC 8671 §4 (O flag, Adj-RIB-Out) and RFC 9069 §4.1 (Loc-RIB peer type);
//! - Initiation (§4.3) with sysName / sysDescr, Termination (§4.5);
//! - Route Monitoring (§4.6): a BGP UPDATE, as a whole message, after the per-peer header;
//! - Statistics Report (§4.8) with 32-bit counters and 64-bit gauges;
//! - Peer Down (§4.9) with its reasons, Peer Up (§4.10) with both OPEN messages.
//!
//! Every function appends one complete BMP message to a buffer. A message whose length does
//! not fit the 32-bit length field is refused with [`EncodeError`].

use std::net::{IpAddr, Ipv4Addr};

use tern_types::Family;

use crate::EncodeError;
use crate::reader::patch_u8;

/// BMP version (RFC 7854 §4.1).
pub const VERSION: u8 = 3;

/// Message types (RFC 7854 §4.1).
pub mod msg_type {
    /// Route Monitoring.
    pub const ROUTE_MONITORING: u8 = 0;
    /// Statistics Report.
    pub const STATISTICS_REPORT: u8 = 1;
    /// Peer Down Notification.
    pub const PEER_DOWN: u8 = 2;
    /// Peer Up Notification.
    pub const PEER_UP: u8 = 3;
    /// Initiation.
    pub const INITIATION: u8 = 4;
    /// Termination.
    pub const TERMINATION: u8 = 5;
}

/// Per-peer header flags (RFC 7854 §4.2, RFC 8671 §4).
pub mod peer_flag {
    /// The peer address is IPv6.
    pub const V: u8 = 0x80;
    /// Post-policy Adj-RIB-In (or Adj-RIB-Out).
    pub const L: u8 = 0x40;
    /// AS_PATH in the legacy 2-octet form.
    pub const A: u8 = 0x20;
    /// Adj-RIB-Out (RFC 8671).
    pub const O: u8 = 0x10;
}

/// Statistics types (RFC 7854 §4.8).
pub mod stat {
    /// Prefixes rejected by inbound policy (32-bit counter).
    pub const REJECTED: u16 = 0;
    /// Routes in Adj-RIB-In (64-bit gauge).
    pub const ADJ_RIB_IN: u16 = 7;
    /// Routes in the Loc-RIB (64-bit gauge).
    pub const LOC_RIB: u16 = 8;
    /// Routes in per-AFI/SAFI Adj-RIB-In (AFI, SAFI, 64-bit gauge).
    pub const ADJ_RIB_IN_AF: u16 = 9;
    /// Updates treated as withdraw (32-bit counter).
    pub const TREAT_AS_WITHDRAW: u16 = 11;
}

/// Peer Down reasons (RFC 7854 §4.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// 1: this router closed the session with this NOTIFICATION (a whole BGP message).
    LocalNotification(Vec<u8>),
    /// 2: this router closed the session without a NOTIFICATION (the FSM event code).
    LocalNoNotification(u16),
    /// 3: the peer closed the session with this NOTIFICATION (a whole BGP message).
    RemoteNotification(Vec<u8>),
    /// 4: the peer closed the session without a NOTIFICATION.
    RemoteNoNotification,
    /// 5: the peer was de-configured (no longer monitored).
    Deconfigured,
    /// 6 (RFC 9069 §5.4): a Loc-RIB instance is no longer monitored; the VRF/Table Name TLV
    /// names it.
    LocRibClosed(String),
}

/// Termination reasons (RFC 7854 §4.5).
pub mod term_reason {
    /// Session administratively closed.
    pub const ADMIN_CLOSE: u16 = 0;
    /// Unspecified reason.
    pub const UNSPECIFIED: u16 = 1;
    /// Out of resources.
    pub const OUT_OF_RESOURCES: u16 = 2;
    /// Redundant connection.
    pub const REDUNDANT: u16 = 3;
    /// Session permanently administratively closed.
    pub const PERMANENT_ADMIN_CLOSE: u16 = 4;
}

/// Who a per-peer header describes (RFC 7854 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerHeader {
    /// Peer type: 0 global instance, 1 RD instance, 2 local instance, 3 Loc-RIB.
    pub peer_type: u8,
    /// Flags ([`peer_flag`]); V is set from the address.
    pub flags: u8,
    /// Peer distinguisher (0 for the global instance).
    pub distinguisher: u64,
    /// Peer address (zero for the Loc-RIB).
    pub addr: IpAddr,
    /// Peer AS.
    pub asn: u32,
    /// Peer BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Seconds since the epoch.
    pub secs: u32,
    /// Microseconds.
    pub usecs: u32,
}

impl PeerHeader {
    /// Appends the 42 octets of the header.
    fn encode(&self, out: &mut Vec<u8>) {
        let v6 = matches!(self.addr, IpAddr::V6(_));
        out.push(self.peer_type);
        out.push(if v6 {
            self.flags | peer_flag::V
        } else {
            self.flags & !peer_flag::V
        });
        out.extend_from_slice(&self.distinguisher.to_be_bytes());
        put_addr(out, self.addr);
        out.extend_from_slice(&self.asn.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.usecs.to_be_bytes());
    }
}

/// 16 octets: an IPv6 address, or an IPv4 address in the last four (RFC 7854 §4.2).
fn put_addr(out: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
    }
}

/// Starts a message of `kind` at the end of `out`; returns where it starts.
fn begin(out: &mut Vec<u8>, kind: u8) -> usize {
    let at = out.len();
    out.push(VERSION);
    out.extend_from_slice(&[0; 4]);
    out.push(kind);
    at
}

/// Writes the length of the message that starts at `at`.
fn finish(out: &mut [u8], at: usize) -> Result<(), EncodeError> {
    let len = out
        .len()
        .checked_sub(at)
        .ok_or(EncodeError::TooLong("BMP message"))?;
    let len = u32::try_from(len).map_err(|_| EncodeError::TooLong("BMP message"))?;
    for (i, b) in len.to_be_bytes().into_iter().enumerate() {
        patch_u8(out, at.saturating_add(1).saturating_add(i), b);
    }
    Ok(())
}

fn tlv(out: &mut Vec<u8>, kind: u16, value: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(value.len()).map_err(|_| EncodeError::TooLong("BMP TLV"))?;
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// Initiation (§4.3): sysDescr (type 1) and sysName (type 2).
pub fn initiation(out: &mut Vec<u8>, sys_name: &str, sys_descr: &str) -> Result<(), EncodeError> {
    let at = begin(out, msg_type::INITIATION);
    tlv(out, 1, sys_descr.as_bytes())?;
    tlv(out, 2, sys_name.as_bytes())?;
    finish(out, at)
}

/// Termination (§4.5): a reason code and, when not empty, a string.
pub fn termination(out: &mut Vec<u8>, reason: u16, text: &str) -> Result<(), EncodeError> {
    let at = begin(out, msg_type::TERMINATION);
    if !text.is_empty() {
        tlv(out, 0, text.as_bytes())?;
    }
    tlv(out, 1, &reason.to_be_bytes())?;
    finish(out, at)
}

/// Route Monitoring (§4.6): `update` is a whole BGP UPDATE message (header included).
pub fn route_monitoring(
    out: &mut Vec<u8>,
    peer: &PeerHeader,
    update: &[u8],
) -> Result<(), EncodeError> {
    let at = begin(out, msg_type::ROUTE_MONITORING);
    peer.encode(out);
    out.extend_from_slice(update);
    finish(out, at)
}

/// One statistic of a Statistics Report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// A 32-bit counter of `kind`.
    Counter(u16, u32),
    /// A 64-bit gauge of `kind`.
    Gauge(u16, u64),
    /// A per-AFI/SAFI 64-bit gauge of `kind`.
    FamilyGauge(u16, Family, u64),
}

/// Statistics Report (§4.8).
pub fn statistics(out: &mut Vec<u8>, peer: &PeerHeader, stats: &[Stat]) -> Result<(), EncodeError> {
    let at = begin(out, msg_type::STATISTICS_REPORT);
    peer.encode(out);
    let n = u32::try_from(stats.len()).map_err(|_| EncodeError::TooLong("BMP message"))?;
    out.extend_from_slice(&n.to_be_bytes());
    for s in stats {
        match *s {
            Stat::Counter(k, v) => tlv(out, k, &v.to_be_bytes())?,
            Stat::Gauge(k, v) => tlv(out, k, &v.to_be_bytes())?,
            Stat::FamilyGauge(k, f, v) => {
                let mut b = Vec::with_capacity(11);
                b.extend_from_slice(&f.afi.0.to_be_bytes());
                b.push(f.safi.0);
                b.extend_from_slice(&v.to_be_bytes());
                tlv(out, k, &b)?;
            }
        }
    }
    finish(out, at)
}

/// Peer Down Notification (§4.9).
pub fn peer_down(
    out: &mut Vec<u8>,
    peer: &PeerHeader,
    reason: &DownReason,
) -> Result<(), EncodeError> {
    let at = begin(out, msg_type::PEER_DOWN);
    peer.encode(out);
    match reason {
        DownReason::LocalNotification(n) => {
            out.push(1);
            out.extend_from_slice(n);
        }
        DownReason::LocalNoNotification(ev) => {
            out.push(2);
            out.extend_from_slice(&ev.to_be_bytes());
        }
        DownReason::RemoteNotification(n) => {
            out.push(3);
            out.extend_from_slice(n);
        }
        DownReason::RemoteNoNotification => out.push(4),
        DownReason::Deconfigured => out.push(5),
        DownReason::LocRibClosed(name) => {
            out.push(6);
            tlv(out, info::TABLE_NAME, name.as_bytes())?;
        }
    }
    finish(out, at)
}

/// The session facts of a Peer Up Notification (§4.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerUp {
    /// This router's address of the session.
    pub local_addr: IpAddr,
    /// This router's port.
    pub local_port: u16,
    /// The peer's port.
    pub remote_port: u16,
    /// The OPEN this router sent (a whole BGP message).
    pub sent_open: Vec<u8>,
    /// The OPEN the peer sent (a whole BGP message).
    pub received_open: Vec<u8>,
    /// Information TLVs (type, value) after the OPENs: the VRF/Table Name of a Loc-RIB
    /// instance (RFC 9069 §5.3).
    pub information: Vec<(u16, Vec<u8>)>,
}

/// Information TLV types of Peer Up and Peer Down (RFC 7854 §4.4, RFC 9069 §5.3).
pub mod info {
    /// 3: VRF/Table Name (RFC 9069 §4.3).
    pub const TABLE_NAME: u16 = 3;
}

/// Peer Up Notification (§4.10).
pub fn peer_up(out: &mut Vec<u8>, peer: &PeerHeader, up: &PeerUp) -> Result<(), EncodeError> {
    let at = begin(out, msg_type::PEER_UP);
    peer.encode(out);
    put_addr(out, up.local_addr);
    out.extend_from_slice(&up.local_port.to_be_bytes());
    out.extend_from_slice(&up.remote_port.to_be_bytes());
    out.extend_from_slice(&up.sent_open);
    out.extend_from_slice(&up.received_open);
    for (kind, value) in &up.information {
        tlv(out, *kind, value)?;
    }
    finish(out, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(addr: &str) -> PeerHeader {
        PeerHeader {
            peer_type: 0,
            flags: 0,
            distinguisher: 0,
            addr: addr.parse().unwrap(),
            asn: 65001,
            bgp_id: "10.0.0.2".parse().unwrap(),
            secs: 1_700_000_000,
            usecs: 5,
        }
    }

    fn len_of(b: &[u8]) -> usize {
        u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize
    }

    #[test]
    fn initiation_has_its_tlvs() {
        let mut b = Vec::new();
        initiation(&mut b, "T", "tern").unwrap();
        assert_eq!(b[0], 3);
        assert_eq!(b[5], msg_type::INITIATION);
        assert_eq!(len_of(&b), b.len());
        assert_eq!(&b[6..14], &[0, 1, 0, 4, b't', b'e', b'r', b'n']);
        assert_eq!(&b[14..], &[0, 2, 0, 1, b'T']);
    }

    #[test]
    fn per_peer_header_v4_and_v6() {
        let mut b = Vec::new();
        route_monitoring(&mut b, &hdr("10.0.0.2"), &[0xff; 19]).unwrap();
        assert_eq!(len_of(&b), 6 + 42 + 19);
        assert_eq!(b[5], msg_type::ROUTE_MONITORING);
        assert_eq!(b[7], 0, "V flag clear for IPv4");
        assert_eq!(&b[16..28], &[0; 12]);
        assert_eq!(&b[28..32], &[10, 0, 0, 2]);
        assert_eq!(&b[32..36], &65001u32.to_be_bytes());
        assert_eq!(&b[36..40], &[10, 0, 0, 2]);
        assert_eq!(&b[40..44], &1_700_000_000u32.to_be_bytes());
        assert_eq!(&b[44..48], &5u32.to_be_bytes());
        assert_eq!(&b[48..], &[0xff; 19]);
        let mut b = Vec::new();
        route_monitoring(&mut b, &hdr("2001:db8::2"), &[]).unwrap();
        assert_eq!(b[7], peer_flag::V);
        assert_eq!(b[16..18], [0x20, 0x01]);
    }

    #[test]
    fn peer_up_and_down() {
        let mut b = Vec::new();
        let up = PeerUp {
            local_addr: "10.0.0.1".parse().unwrap(),
            local_port: 179,
            remote_port: 40000,
            sent_open: vec![1; 29],
            received_open: vec![2; 29],
            information: Vec::new(),
        };
        peer_up(&mut b, &hdr("10.0.0.2"), &up).unwrap();
        assert_eq!(len_of(&b), b.len());
        assert_eq!(b.len(), 6 + 42 + 20 + 58);
        assert_eq!(&b[48 + 12..48 + 16], &[10, 0, 0, 1]);
        assert_eq!(&b[64..66], &179u16.to_be_bytes());
        assert_eq!(&b[66..68], &40000u16.to_be_bytes());
        let mut b = Vec::new();
        peer_down(&mut b, &hdr("10.0.0.2"), &DownReason::RemoteNoNotification).unwrap();
        assert_eq!(b[5], msg_type::PEER_DOWN);
        assert_eq!(b[48..], [4]);
        let mut b = Vec::new();
        peer_down(
            &mut b,
            &hdr("10.0.0.2"),
            &DownReason::LocalNoNotification(2),
        )
        .unwrap();
        assert_eq!(b[48..], [2, 0, 2]);
    }

    #[test]
    fn loc_rib_peer_up_and_down_carry_the_table_name() {
        let mut h = hdr("0.0.0.0");
        h.peer_type = 3;
        let up = PeerUp {
            local_addr: "0.0.0.0".parse().unwrap(),
            local_port: 0,
            remote_port: 0,
            sent_open: vec![1; 29],
            received_open: vec![1; 29],
            information: vec![(info::TABLE_NAME, b"global".to_vec())],
        };
        let mut b = Vec::new();
        peer_up(&mut b, &h, &up).unwrap();
        assert_eq!(len_of(&b), b.len());
        assert_eq!(b[6], 3, "peer type");
        assert_eq!(
            &b[b.len() - 10..],
            &[0, 3, 0, 6, b'g', b'l', b'o', b'b', b'a', b'l']
        );
        let mut b = Vec::new();
        peer_down(&mut b, &h, &DownReason::LocRibClosed("global".into())).unwrap();
        assert_eq!(b[48..], [6, 0, 3, 0, 6, b'g', b'l', b'o', b'b', b'a', b'l']);
    }

    #[test]
    fn statistics_tlvs() {
        let mut b = Vec::new();
        statistics(
            &mut b,
            &hdr("10.0.0.2"),
            &[
                Stat::Gauge(stat::ADJ_RIB_IN, 1000),
                Stat::FamilyGauge(stat::ADJ_RIB_IN_AF, Family::IPV6_UNICAST, 7),
                Stat::Counter(stat::TREAT_AS_WITHDRAW, 3),
            ],
        )
        .unwrap();
        assert_eq!(len_of(&b), b.len());
        let s = &b[48..];
        assert_eq!(&s[..4], &3u32.to_be_bytes());
        assert_eq!(&s[4..8], &[0, 7, 0, 8]);
        assert_eq!(&s[8..16], &1000u64.to_be_bytes());
        assert_eq!(&s[16..20], &[0, 9, 0, 11]);
        assert_eq!(&s[20..23], &[0, 2, 1]);
        assert_eq!(&s[23..31], &7u64.to_be_bytes());
        assert_eq!(&s[31..], &[0, 11, 0, 4, 0, 0, 0, 3]);
    }

    #[test]
    fn termination_reason() {
        let mut b = Vec::new();
        termination(&mut b, term_reason::ADMIN_CLOSE, "").unwrap();
        assert_eq!(b, [3, 0, 0, 0, 12, 5, 0, 1, 0, 2, 0, 0]);
    }
}
