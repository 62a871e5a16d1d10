//! Small rules of what the update groups send: the well-known communities (RFC 1997) that
//! keep a route from peers, and the End-of-Route-Refresh message (RFC 7313 §3.2).

use bytes::Bytes;
use tern_rib::rr::Role;
use tern_types::Family;

/// An EoRR message for `family` (RFC 7313 §3.2).
pub(crate) fn end_of_refresh(family: Family) -> Bytes {
    let m = tern_wire::Message::RouteRefresh(tern_wire::RouteRefresh {
        family,
        subtype: tern_wire::route_refresh::RefreshSubtype::EndOfRefresh,
    });
    let mut b = Vec::new();
    // A ROUTE-REFRESH always encodes (4 octets of body).
    let _ = m.encode(&mut b);
    Bytes::from(b)
}

/// Well-known communities (RFC 1997): NO_ADVERTISE keeps a route from every peer;
/// NO_EXPORT and NO_EXPORT_SUBCONFED keep it from external peers (without confederations,
/// every EBGP peer is outside the AS and outside the sub-AS).
pub fn well_known_allow(communities: &[u32], to: Role) -> bool {
    communities.iter().all(|c| match *c {
        NO_ADVERTISE => false,
        NO_EXPORT | NO_EXPORT_SUBCONFED => to != Role::Ebgp,
        _ => true,
    })
}

/// NO_EXPORT (RFC 1997).
pub const NO_EXPORT: u32 = 0xFFFF_FF01;
/// NO_ADVERTISE (RFC 1997).
pub const NO_ADVERTISE: u32 = 0xFFFF_FF02;
/// NO_EXPORT_SUBCONFED (RFC 1997).
pub const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;
