//! tern-fib: tern's southbound interface to the Linux kernel's forwarding table, over
//! rtnetlink(7) route messages (`RTM_NEWROUTE`, `RTM_DELROUTE`, `RTM_GETROUTE`, link and
//! address notifications), the Netlink protocol of RFC 3549 ("Linux Netlink as an IP
//! Services Protocol").
//!
//! - [`KernelRoutes`]: a snapshot of one table's IPv4 and IPv6 routes (the main table, or a
//!   VPN instance's), read with a netlink dump, with a longest-prefix-match
//!   [`KernelRoutes::resolve`] for BGP next-hop resolution (RFC 4271 §5.1.3, §9.1.2.1) that
//!   can pass over tern's own routes.
//! - [`watch`]: a multicast subscription to route, link and address changes, as a stream of
//!   [`FibEvent`]s that tell the RIB when to resolve next hops again.
//! - [`Fib`]: adds, replaces and deletes routes of protocol [`PROTO_TERN`] in one table, one
//!   at a time or in batches ([`Fib::apply`]: many requests per datagram, errors matched to
//!   routes by sequence number, see [`batch`]), and removes stale ones
//!   ([`Fib::flush_stale`]). A route over several next hops ([`MultipathRoute`], BGP load
//!   balancing) goes in as one `RTA_MULTIPATH` route. Labeled routes ([`Fib::replace_labeled`]) get MPLS encap where
//!   the kernel forwards MPLS ([`mpls_supported`]), and are installed as plain IP routes
//!   otherwise, the outcome saying so.
//! - [`Reconciler`]: tern's routes found in a table at start, taken over rather than
//!   flushed: a change asking for a route the kernel already has is left out, and what
//!   nobody asked for again is removed at the end. [`has_routes`] tells cheaply whether a
//!   table holds any route of a protocol.
//!
//! Everything here runs on tokio: the netlink sockets are driven by tasks on the current
//! runtime, and they belong to the network namespace of the thread that opens them.

#![forbid(unsafe_code)]

pub mod batch;
mod error;
mod fib;
mod netlink;
mod reconcile;
mod routes;
mod watch;

pub use error::Error;
pub use fib::{Fib, FibRoute, LabelOutcome, MultipathRoute, RouteOp, mpls_supported};
pub use netlink::{has_routes, routes_with_next_hops};
pub use reconcile::{Reconciled, Reconciler};
pub use routes::{KernelRoute, KernelRoutes, Resolved, RouteKind};
pub use watch::{FibEvent, Watcher, watch};

/// The routing protocol id of tern's routes (`rtm_protocol`; the kernel's `RTPROT_BGP`).
pub const PROTO_TERN: u8 = 186;

/// The kernel's main table (`RT_TABLE_MAIN`).
pub const MAIN_TABLE: u32 = 254;

/// The kernel's local table (`RT_TABLE_LOCAL`): local, broadcast and anycast addresses.
pub const LOCAL_TABLE: u32 = 255;
