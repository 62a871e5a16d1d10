//! What the engine asks of the world around it, as traits the daemon implements: a peer's
//! writer is [`crate::adjout::Sink`]; here the kernel side's next-hop tracking
//! ([`Watcher`], RFC 4271 §9.1.2.1), the installer ([`FibSink`]), where a peer's
//! received-route counts go ([`Counts`]) and where a display's rows go ([`Reply`]). None of
//! them blocks the engine: a full queue says so and the engine tries again at its next step.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::nexthop::Watch;
use crate::rows::Walked;

/// The kernel's main routing table's id.
pub const MAIN_TABLE: u32 = 254;

/// The first kernel table of VPN instances (1000 + the instance's rank by name).
pub const VRF_TABLE_BASE: u32 = 1000;

/// The kernel side's next-hop tracking: the engine asks it to follow next hops and prefixes
/// ([`crate::nexthop`]); it answers with [`Input::Resolved`](crate::Input::Resolved) when it
/// first knows and whenever an answer changes.
pub trait Watcher: Send + Sync + std::fmt::Debug {
    /// Follow these too (never blocks: the request is queued).
    fn watch(&self, w: Watch);
}

/// A change for the kernel: a prefix routed via a next hop, or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FibOp {
    /// Install or replace.
    Install {
        /// Kernel table (main, or a VPN instance's).
        table: u32,
        /// Destination.
        prefix: IpNet,
        /// The route's BGP next hop (resolved to a forwarding address when installed).
        next_hop: IpAddr,
    },
    /// Install or replace one route over several next hops (load balancing, VRP `maximum
    /// load-balancing`): the kernel spreads flows over them.
    Multipath {
        /// Kernel table.
        table: u32,
        /// Destination.
        prefix: IpNet,
        /// The BGP next hops, the best path's first (two or more).
        next_hops: Vec<IpAddr>,
    },
    /// Remove this router's route for the prefix.
    Remove {
        /// Kernel table.
        table: u32,
        /// Destination.
        prefix: IpNet,
    },
    /// At the end of the initial convergence (after a graceful restart's deferral, RFC 4724
    /// §4.1, or a start's first tables from every peer), once the best routes are all handed
    /// over: this router's kernel routes left from before the start and not installed again
    /// go (one per engine shard; the installer acts on the last).
    Reconcile,
}

/// Where kernel operations go.
pub trait FibSink: Send + Sync + std::fmt::Debug {
    /// Queues `op`, or hands it back when there is no room now.
    fn offer(&self, op: FibOp) -> Result<(), FibOp>;
}

/// Where a peer's received-route counts go (per family name, as the displays name them).
pub trait Counts: Send + Sync + std::fmt::Debug {
    /// The counts now (empty: the session ended).
    fn received(&self, counts: BTreeMap<String, u64>);
}

/// Where a display's rows go.
pub trait Reply: Send + std::fmt::Debug {
    /// True when nobody waits for the rows any more (the walk stops).
    fn is_closed(&self) -> bool;
    /// Delivers the rows.
    fn send(self: Box<Self>, w: Walked);
}
