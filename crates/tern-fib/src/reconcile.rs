//! Taking over the routes an earlier run left in a table, instead of flushing them: a
//! [`Reconciler`] holds tern's routes found in the table when the installer starts; a change
//! that asks for a route the kernel already has, as it is, need not be sent
//! ([`Reconciler::needs`]), so forwarding never misses it; once the routing protocol has
//! converged, [`Reconciler::finish`] removes the routes nobody asked for again.

use std::net::IpAddr;

use hashbrown::HashMap;
use ipnet::IpNet;

use crate::error::Error;
use crate::fib::{Fib, FibRoute, RouteOp};
use crate::routes::{KernelRoute, RouteKind};

/// tern's routes in one table as found at start, until they are asked for again or removed.
///
/// Made with [`Fib::reconciler`]. Every change meant for the table passes
/// [`Reconciler::needs`] first; at the end of the initial convergence,
/// [`Reconciler::finish`] deletes what is left.
#[derive(Debug)]
pub struct Reconciler {
    table: u32,
    /// (prefix, metric) → the route found.
    kept: HashMap<(IpNet, u32), Found>,
    unchanged: usize,
}

/// A route found at start, with what tells whether a change would leave it as it is.
#[derive(Clone, Copy, Debug)]
struct Found {
    gateway: Option<IpAddr>,
    ifindex: Option<u32>,
    kind: RouteKind,
    /// One next hop, no encapsulation.
    plain: bool,
}

/// What [`Reconciler::finish`] did.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Routes found at start and asked for again as they were: never rewritten.
    pub unchanged: usize,
    /// Routes found at start that nobody asked for again: removed now.
    pub removed: usize,
    /// Removals the kernel refused (a route already gone is not one).
    pub errors: Vec<Error>,
}

/// The kernel's metric for a route given none: 0 for IPv4, 1024 for IPv6.
fn default_metric(prefix: IpNet) -> u32 {
    match prefix {
        IpNet::V4(_) => 0,
        IpNet::V6(_) => 1024,
    }
}

impl Fib {
    /// Reads tern's routes (protocol [`crate::PROTO_TERN`]) from the table, to be taken over
    /// rather than flushed (see [`Reconciler`]).
    pub async fn reconciler(&self) -> Result<Reconciler, Error> {
        let mut kept = HashMap::new();
        for (route, plain) in self.own_routes().await? {
            kept.insert(
                (route.prefix, route.metric),
                Found {
                    gateway: route.gateway,
                    ifindex: route.ifindex,
                    kind: route.kind,
                    plain,
                },
            );
        }
        Ok(Reconciler {
            table: self.table(),
            kept,
            unchanged: 0,
        })
    }
}

impl Reconciler {
    /// The table.
    pub fn table(&self) -> u32 {
        self.table
    }

    /// Routes found at start not asked for yet.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether every route found at start was asked for (or there was none).
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Routes found at start and asked for again as they were, so far.
    pub fn unchanged(&self) -> usize {
        self.unchanged
    }

    /// Whether `op` must go to the kernel: false for a [`RouteOp::Replace`] of a route the
    /// table already holds as asked (a unicast route of that prefix and metric, with that
    /// gateway and, when given, that interface, one next hop and no encapsulation). Either
    /// way the route found at start is no longer left over: it is what was asked for, or
    /// `op` replaces or deletes it.
    ///
    /// A delete without a metric counts for the route of the kernel's default metric; one of
    /// another metric stays left over.
    pub fn needs(&mut self, op: &RouteOp) -> bool {
        match op {
            RouteOp::Replace(route) => {
                let prefix = route.prefix.trunc();
                let metric = route.metric.unwrap_or(default_metric(prefix));
                match self.kept.remove(&(prefix, metric)) {
                    Some(found) if same(&found, route) => {
                        self.unchanged += 1;
                        false
                    }
                    _ => true,
                }
            }
            RouteOp::ReplaceMultipath(route) => {
                // Found routes are single-path ones: a multipath route is always written.
                let prefix = route.prefix.trunc();
                let metric = route.metric.unwrap_or(default_metric(prefix));
                self.kept.remove(&(prefix, metric));
                true
            }
            RouteOp::Delete { prefix, metric } => {
                let prefix = prefix.trunc();
                let metric = metric.unwrap_or(default_metric(prefix));
                self.kept.remove(&(prefix, metric));
                true
            }
        }
    }

    /// Removes, in batches, the routes found at start that nobody asked for again.
    pub async fn finish(self, fib: &Fib) -> Reconciled {
        let left: Vec<KernelRoute> = self
            .kept
            .into_iter()
            .map(|((prefix, metric), found)| KernelRoute {
                prefix,
                gateway: found.gateway,
                ifindex: found.ifindex,
                protocol: crate::PROTO_TERN,
                metric,
                kind: found.kind,
            })
            .collect();
        let (removed, errors) = fib.delete_routes(&left).await;
        Reconciled {
            unchanged: self.unchanged,
            removed,
            errors,
        }
    }
}

/// Whether the route found is what `route` asks for.
fn same(found: &Found, route: &FibRoute) -> bool {
    found.plain
        && found.kind == RouteKind::Unicast
        && found.gateway == route.gateway
        && route.ifindex.is_none_or(|i| found.ifindex == Some(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconciler(routes: &[(&str, Option<&str>, u32, bool)]) -> Reconciler {
        let mut kept = HashMap::new();
        for (prefix, gateway, metric, plain) in routes {
            kept.insert(
                (prefix.parse().unwrap(), *metric),
                Found {
                    gateway: gateway.map(|g| g.parse().unwrap()),
                    ifindex: Some(2),
                    kind: RouteKind::Unicast,
                    plain: *plain,
                },
            );
        }
        Reconciler {
            table: 254,
            kept,
            unchanged: 0,
        }
    }

    fn via(prefix: &str, gateway: &str) -> RouteOp {
        RouteOp::Replace(FibRoute::via(
            prefix.parse().unwrap(),
            gateway.parse().unwrap(),
        ))
    }

    #[test]
    fn same_route_is_left_alone_once() {
        let mut r = reconciler(&[
            ("10.1.0.0/16", Some("192.0.2.1"), 0, true),
            ("2001:db8::/32", Some("fe80::1"), 1024, true),
        ]);
        assert!(!r.needs(&via("10.1.0.0/16", "192.0.2.1")));
        assert!(!r.needs(&via("2001:db8::/32", "fe80::1")));
        assert_eq!((r.unchanged(), r.len()), (2, 0));
        // Asked again (a later change): it goes.
        assert!(r.needs(&via("10.1.0.0/16", "192.0.2.1")));
    }

    #[test]
    fn changed_or_unusual_routes_are_rewritten() {
        let mut r = reconciler(&[
            ("10.1.0.0/16", Some("192.0.2.1"), 0, true),
            ("10.2.0.0/16", Some("192.0.2.1"), 0, false),
            ("10.3.0.0/16", Some("192.0.2.1"), 5, true),
        ]);
        assert!(r.needs(&via("10.1.0.0/16", "192.0.2.2")), "other gateway");
        assert!(r.needs(&via("10.2.0.0/16", "192.0.2.1")), "multipath");
        let on_if = RouteOp::Replace(
            FibRoute::via("10.9.0.0/16".parse().unwrap(), "192.0.2.1".parse().unwrap())
                .with_ifindex(3),
        );
        assert!(r.needs(&on_if), "not found");
        assert!(r.needs(&via("10.3.0.0/16", "192.0.2.1")), "other metric");
        assert_eq!(r.unchanged(), 0);
        // The metric-5 route stays left over, the others are taken.
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn deletes_take_the_route_off() {
        let mut r = reconciler(&[("10.1.0.0/16", Some("192.0.2.1"), 0, true)]);
        assert!(r.needs(&RouteOp::Delete {
            prefix: "10.1.2.3/16".parse().unwrap(),
            metric: None
        }));
        assert!(r.is_empty());
    }
}
