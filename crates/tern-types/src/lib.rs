//! tern's vocabulary: the small value types every other crate speaks in.
//!
//! - [`Afi`], [`Safi`], [`Family`]: address families (RFC 4760 §3, IANA registries).
//! - [`Asn`]: AS numbers, plain and dotted ("asdot", RFC 5396 §1); [`Notation`]: which of
//!   the two displays write (RFC 5396 §2).
//! - [`RouteDistinguisher`]: the 8-octet RD of RFC 4364 §4.2 (types 0, 1 and 2).
//! - [`ExtCommunity`]: extended communities (RFC 4360), with route target and route origin
//!   in their 2-octet-AS, IPv4 and 4-octet-AS forms (RFC 4360 §4, RFC 5668 §2).
//! - [`Label`] and [`LabelStack`]: MPLS labels as carried in NLRI (RFC 8277 §2).
//! - prefixes: [`ipnet`] types re-exported.
//!
//! No I/O and no allocation beyond what a value needs.

#![forbid(unsafe_code)]

mod asn;
mod extcomm;
mod family;
mod label;
mod notation;
mod rd;

pub use asn::{AS_TRANS, Asn, AsnParseError};
pub use extcomm::{ExtCommunity, RouteTargetParseError, TargetKind};
pub use family::{Afi, Family, Safi};
pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};
pub use label::{Label, LabelStack};
pub use notation::Notation;
pub use rd::{RdParseError, RouteDistinguisher};
