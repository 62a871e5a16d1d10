//! BMP Adj-RIB-Out (RFC 8671), post-policy: the UPDATEs sent to each monitored public peer,
//! for the families under `route-mode F unicast adj-rib-out post-policy`.
//!
//! A connection's writer hands what it wrote to the peer's [`OutTap`]; each UPDATE of a
//! monitored family becomes a Route Monitoring message with the O flag (Adj-RIB-Out, RFC 8671
//! §4) and the L flag (post-policy, RFC 7854 §4.2) in the per-peer header, queued to the
//! collectors that monitor the family. These are the octets the peer was sent, after export
//! policy and with this router's attributes.
//!
//! The table sent to a peer is not kept a second time for the collectors: when a collector
//! monitoring an Adj-RIB-Out connects, each monitored peer's routes are sent again, to the
//! peer and so to the collector (as `refresh bgp X export` does; the peer replaces what it
//! holds with the same routes).

use std::sync::OnceLock;

use tern_wire::message::{frames, msg_type};

use super::*;

/// Set while some collector monitors an Adj-RIB-Out: writers look at what they write only
/// then.
pub(super) static OUT_ACTIVE: AtomicBool = AtomicBool::new(false);

static REFRESH: OnceLock<mpsc::UnboundedSender<IpAddr>> = OnceLock::new();

/// The peers whose routes are to be sent again for a collector (`refresh bgp X export`);
/// taken once, by the daemon, which carries the requests out.
pub fn refresh_requests() -> Option<mpsc::UnboundedReceiver<IpAddr>> {
    let (tx, rx) = mpsc::unbounded_channel();
    REFRESH.set(tx).ok().map(|()| rx)
}

/// Asks for every monitored peer's routes to be sent again.
pub(super) fn resend_all() {
    let Some(tx) = REFRESH.get() else {
        return;
    };
    let peers: Vec<IpAddr> = state().peers.keys().copied().collect();
    for p in peers {
        let _ = tx.send(p);
    }
}

/// A monitored peer's writer side.
pub struct OutTap(pub(super) Arc<Mutex<Monitored>>);

impl std::fmt::Debug for OutTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutTap")
    }
}

impl OutTap {
    /// `chunk` was written to the peer (whole messages, back to back).
    pub fn sent(&self, chunk: &[u8]) {
        if !OUT_ACTIVE.load(Ordering::Relaxed) {
            return;
        }
        let m = mon(&self.0);
        if !m.links.iter().any(|l| !l.out_families.is_empty()) {
            return;
        }
        let header = now_header(&PeerHeader {
            flags: m.header.flags | wire::peer_flag::O | wire::peer_flag::L,
            ..m.header
        });
        for f in frames(chunk).filter_map(Result::ok) {
            if f.kind != msg_type::UPDATE {
                continue;
            }
            let family = raw_family(f.body);
            let mut b: Option<Bytes> = None;
            for l in m.links.iter().filter(|l| l.out_families.contains(&family)) {
                if b.is_none() {
                    b = encoded(|out| wire::route_monitoring(out, &header, f.bytes));
                }
                if let Some(b) = &b {
                    l.offer(b.clone());
                }
            }
        }
    }
}

/// The family of an UPDATE body (RFC 4271 §4.3, RFC 4760 §3–4): IPv4 unicast when it has
/// withdrawn routes or NLRI of its own, or none at all (End-of-RIB), else its MP_REACH_NLRI's
/// or MP_UNREACH_NLRI's.
fn raw_family(body: &[u8]) -> Family {
    let u16_at = |i: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *body.get(i)?,
            *body.get(i + 1)?,
        ])))
    };
    let scan = || -> Option<Family> {
        let withdrawn = u16_at(0)?;
        if withdrawn > 0 {
            return None;
        }
        let attrs_len = u16_at(2 + withdrawn)?;
        let start = 4 + withdrawn;
        let attrs = body.get(start..start + attrs_len)?;
        let mut i = 0;
        while i + 3 <= attrs.len() {
            let flags = attrs[i];
            let kind = attrs[i + 1];
            let (len, head) = if flags & 0x10 != 0 {
                (
                    usize::from(u16::from_be_bytes([attrs[i + 2], *attrs.get(i + 3)?])),
                    4,
                )
            } else {
                (usize::from(attrs[i + 2]), 3)
            };
            let value = attrs.get(i + head..i + head + len)?;
            if kind == type_code::MP_REACH_NLRI || kind == type_code::MP_UNREACH_NLRI {
                let afi = u16::from_be_bytes([*value.first()?, *value.get(1)?]);
                let safi = *value.get(2)?;
                return Some(Family::new(tern_types::Afi(afi), tern_types::Safi(safi)));
            }
            i += head + len;
        }
        None
    };
    scan().unwrap_or(Family::IPV4_UNICAST)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(msg: &[u8]) -> &[u8] {
        &msg[19..]
    }

    #[test]
    fn the_family_of_an_update() {
        let ctx = Ctx::default();
        let b = UpdateBuilder::new(&ctx);
        let n = |p: &str| Nlri {
            path_id: None,
            rd: None,
            labels: Default::default(),
            prefix: p.parse().unwrap(),
        };
        let a = tern_rib::PathAttrs::new(
            tern_wire::attr::Origin::Igp,
            tern_wire::attr::AsPath::sequence(&[200], true),
            NextHop::Ipv4("10.0.0.2".parse().unwrap()),
        );
        let mut out = Vec::new();
        b.reach(
            Family::IPV4_UNICAST,
            &a.next_hop,
            &a.to_wire(true),
            &[n("192.0.2.0/24")],
            &mut out,
        )
        .unwrap();
        assert_eq!(raw_family(body_of(&out[0])), Family::IPV4_UNICAST);
        let mut out = Vec::new();
        b.withdraw(Family::IPV6_UNICAST, &[n("2001:db8::/32")], &mut out)
            .unwrap();
        assert_eq!(raw_family(body_of(&out[0])), Family::IPV6_UNICAST);
        let eor = UpdateBuilder::end_of_rib(Family::IPV6_UNICAST);
        assert_eq!(raw_family(body_of(&eor)), Family::IPV6_UNICAST);
        let eor = UpdateBuilder::end_of_rib(Family::IPV4_UNICAST);
        assert_eq!(raw_family(body_of(&eor)), Family::IPV4_UNICAST);
        // Truncated: taken as IPv4 unicast, never a panic.
        assert_eq!(raw_family(&[0, 0, 0, 9, 0x90]), Family::IPV4_UNICAST);
    }
}
