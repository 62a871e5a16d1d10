//! tern-engine: the route engine's parts around the RIB ([`tern_rib`]), pure and
//! single-owner (no async runtime, no locks, no I/O), each module owning one concern's state
//! and testable alone:
//!
//! - [`labels`]: every MPLS label this router allocates, its whole life (allocation, reuse,
//!   release): labels of routes re-advertised with next hop self (RFC 8277 §3.2, RFC 4364
//!   §10 option B/C), and of VPN routes exported from local instances, per route or per
//!   instance (RFC 4364 §4.3.2).
//! - [`engine`]: [`Engine`], the owner of the public and per-VPN-instance tables (tern-rib):
//!   inputs in ([`Input`]), steps of output (update groups, the kernel, displays), VPN import
//!   and export by route target (RFC 4364 §4.3), local origination, import policy; its counts
//!   for monitoring ([`EngineCounts`]).
//! - [`nexthop`]: next-hop tracking, the engine's view of next hops and held prefixes, fed
//!   by the kernel side's answers (RFC 4271 §9.1.2.1).
//! - [`rows`]: the displays' rows; [`routing`]: the routing settings it runs with;
//!   [`ports`]: what it asks of the daemon (next hops to follow, the installer, counts,
//!   display replies), as traits.
//! - [`shard`]: destinations sharded by prefix hash over several engines, one per core.
//! - [`asrules`]: AS numbers on a peer's routes (`allow-as-loop`, `substitute-as`,
//!   `public-as-only`, `fake-as`; RFC 4271 §9.1.2 loop detection, RFC 6793).
//! - [`rtc`]: route target constraint (RFC 4684): the peers' route target membership, what
//!   this router advertises in the family, and the interest that limits a peer's VPN routes.
//! - [`wellknown`]: well-known communities on export (RFC 1997) and EoRR (RFC 7313).
//! - [`display`]: the routing-table displays in VRP's layout, from the engine's rows.
//! - [`adjout`]: the Adj-RIB-Out in update groups (RFC 4271 §3.2, §9.2; RFC 4456 §6): each
//!   changed destination evaluated and encoded once per group, the same bytes to every
//!   member through a [`adjout::Sink`] that never blocks; members that join walk the tables
//!   with a cursor, slow members catch up alone.

#![forbid(unsafe_code)]

pub mod adjout;
pub mod asrules;
pub mod display;
pub mod engine;
pub mod labels;
pub mod nexthop;
pub mod ports;
pub mod routing;
pub mod rows;
pub mod rtc;
pub mod shard;
pub mod wellknown;

pub use adjout::Outbound;
pub use engine::{
    CountsReply, DUMP_STEP, DumpDest, DumpPath, DumpSink, Engine, EngineCounts, Input, LocRib,
    LocRibChange, LocRibSink, PathFilter, PeerCount, PeerOut, PeerRoutes, RouteRow, RouteTable,
    TableCount, TableStats, WALK_STEP, Walked, rib_config,
};
pub use labels::{FIRST_INSTANCE_LABEL, FIRST_LABEL, Labels};
pub use nexthop::{IgpRoute, NextHopTable, Resolution, Watch};
pub use ports::{Counts, FibOp, FibSink, MAIN_TABLE, Reply, VRF_TABLE_BASE, Watcher};
pub use shard::Shard;
