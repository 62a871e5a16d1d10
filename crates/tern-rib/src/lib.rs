//! tern-rib: the routing information bases of a BGP speaker, pure and single-owner
//! (no async runtime, no I/O; one task owns a [`Rib`]).
//!
//! - [`attrs`]: path attributes owned ([`PathAttrs`]) and interned ([`AttrStore`]): AS path,
//!   communities, extended communities, large communities and cluster list are interned
//!   separately and shared by id; the rest forms a small set referred to by an [`AttrId`];
//!   everything is reference-counted (RFC 4271 §5).
//! - [`rib`]: [`Rib`], one table per family (IPv4/IPv6 unicast, IPv4/IPv6 labeled unicast
//!   RFC 8277, VPNv4 RFC 4364, VPNv6 RFC 4659, the VPN tables keyed by RD + prefix), each
//!   destination holding every peer's path (Adj-RIB-In, RFC 4271 §3.2) and the selected one
//!   (Loc-RIB); UPDATEs applied with their RFC 7606 action; best-path changes out.
//! - [`digest`]: an UPDATE taken apart ([`Digest`]) where it is read, applied by the RIB.
//! - [`decision`]: the decision process in VRP's order (RFC 4271 §9.1, RFC 4456 §9), with a
//!   deterministic treatment of MED.
//! - [`multipath`]: the equal-cost paths installed with the best one (VRP `maximum
//!   load-balancing`).
//! - [`rr`]: route reflection rules (RFC 4456 §6, §7, §8).
//!
//! Memory: a path row is 20 octets (peer, path ID, two attribute ids, label). A VPNv4
//! destination is 26 octets in a dense vector, found through a hash index of 5 octets per
//! bucket; its usual single path (path ID 0, attributes accepted or refused as received) is
//! stored in those 26 octets, other path lists out of line. See `docs/benchmarks.md`.

#![forbid(unsafe_code)]

pub mod attrs;
pub mod decision;
pub mod digest;
mod intern;
mod key;
pub mod multipath;
pub mod rib;
pub mod rr;
mod table;

pub use attrs::{AttrId, AttrSet, AttrStore, PathAttrs};
pub use decision::{AllReachable, NextHopResolver, PeerId, PeerInfo, Rank, Step};
pub use digest::{Digest, Reach, RtcPart};
pub use intern::{HeapSize, Interner};
pub use key::RouteKey;
pub use multipath::LoadBalancing;
pub use rib::{
    AcceptAll, Best, BestChange, ImportPolicy, MemoryStats, PathChange, PathInfo, Rib, RibConfig,
    RibError, UpdateSummary, Verdict,
};
