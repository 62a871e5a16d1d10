//! Installing routes: add, replace and delete IPv4/IPv6 routes of protocol [`PROTO_TERN`] in
//! one table (rtnetlink(7) `RTM_NEWROUTE` / `RTM_DELROUTE`), one at a time or in batches
//! ([`Fib::apply`], see [`crate::batch`]), and the removal of stale ones.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, Once, PoisonError};

use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    MplsLabel, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::{RouteMessageBuilder, RouteNextHopBuilder};

use crate::batch::{BatchSocket, Failure, Kind, Request};
use crate::error::Error;
use crate::netlink::{Connection, dump, dump_filtered, set_table};
use crate::routes::{KernelRoute, KernelRoutes};
use crate::{MAIN_TABLE, PROTO_TERN};

/// A route for tern to install: a prefix towards a gateway, an interface, or both.
///
/// The gateway must be directly reachable (on a connected network of `ifindex`, or of the
/// interface the kernel finds for it): a BGP next hop several hops away is first resolved
/// with [`KernelRoutes::resolve`] and the route installed towards
/// [`crate::Resolved::forwarding_address`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FibRoute {
    /// The destination (host bits are cleared when installing).
    pub prefix: IpNet,
    /// The gateway; an IPv6 gateway for an IPv4 prefix is sent as `RTA_VIA` (RFC 8950).
    pub gateway: Option<IpAddr>,
    /// The output interface.
    pub ifindex: Option<u32>,
    /// The metric (`RTA_PRIORITY`); the kernel's default when `None` (0 for IPv4, 1024 for
    /// IPv6). A replace acts on the route of the same prefix and metric.
    pub metric: Option<u32>,
}

impl FibRoute {
    /// `prefix` via `gateway`.
    pub fn via(prefix: IpNet, gateway: IpAddr) -> FibRoute {
        FibRoute {
            prefix,
            gateway: Some(gateway),
            ifindex: None,
            metric: None,
        }
    }

    /// `prefix` directly on interface `ifindex`.
    pub fn dev(prefix: IpNet, ifindex: u32) -> FibRoute {
        FibRoute {
            prefix,
            gateway: None,
            ifindex: Some(ifindex),
            metric: None,
        }
    }

    /// The same route out of interface `ifindex`.
    pub fn with_ifindex(self, ifindex: u32) -> FibRoute {
        FibRoute {
            ifindex: Some(ifindex),
            ..self
        }
    }

    /// The same route with `metric`.
    pub fn with_metric(self, metric: u32) -> FibRoute {
        FibRoute {
            metric: Some(metric),
            ..self
        }
    }
}

/// A route over several next hops (`RTA_MULTIPATH`, the kernel's ECMP: flows are spread
/// over them by hash), each a directly reachable gateway as for [`FibRoute`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultipathRoute {
    /// The destination (host bits are cleared when installing).
    pub prefix: IpNet,
    /// The next hops: a gateway, its output interface when known.
    pub hops: Vec<(IpAddr, Option<u32>)>,
    /// The metric (`RTA_PRIORITY`), as for [`FibRoute::metric`].
    pub metric: Option<u32>,
}

/// What [`Fib::replace_labeled`] installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelOutcome {
    /// Forwarding follows the labeled route: the kernel pushes the labels (MPLS encap), or
    /// there was none to push (implicit null only).
    Pushed,
    /// The kernel cannot push labels (no MPLS support, see [`mpls_supported`]): the plain IP
    /// route is installed and the label stays in the control plane.
    IpOnly,
}

/// Whether this kernel forwards MPLS: the `mpls_router` module is loaded, which shows as
/// `/proc/sys/net/mpls/platform_labels` (per network namespace). Label push on IP routes
/// (lightweight tunnel encap) also needs `mpls_iptunnel`; [`Fib::replace_labeled`] falls
/// back to the plain route when the kernel turns the encap down.
pub fn mpls_supported() -> bool {
    Path::new("/proc/sys/net/mpls/platform_labels").exists()
}

/// The largest MPLS label value (20 bits).
const MAX_LABEL: u32 = (1 << 20) - 1;
/// The implicit-null label (RFC 3032): nothing is pushed.
const IMPLICIT_NULL: u32 = 3;
/// `EOPNOTSUPP`, `EAFNOSUPPORT`, `EINVAL`: the answers of a kernel without MPLS encap.
const NO_ENCAP: [i32; 3] = [95, 97, 22];

static NO_MPLS_WARNING: Once = Once::new();

/// One change of a batch ([`Fib::apply`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RouteOp {
    /// Add the route, or replace the route of the same prefix and metric (as
    /// [`Fib::replace`]).
    Replace(FibRoute),
    /// Add or replace a route over several next hops (as [`Fib::replace_multipath`]).
    ReplaceMultipath(MultipathRoute),
    /// Delete tern's route of the prefix, the one of `metric` when given (as [`Fib::delete`]).
    Delete {
        /// The destination.
        prefix: IpNet,
        /// The metric; `None`: whichever tern route of the prefix the kernel finds first.
        metric: Option<u32>,
    },
}

impl RouteOp {
    /// The destination the change is about.
    pub fn prefix(&self) -> IpNet {
        match self {
            RouteOp::Replace(route) => route.prefix,
            RouteOp::ReplaceMultipath(route) => route.prefix,
            RouteOp::Delete { prefix, .. } => *prefix,
        }
    }
}

/// The route installer for one kernel table: every route it adds has protocol
/// [`PROTO_TERN`], so tern's routes are told apart from everyone else's and
/// [`Fib::flush_stale`] or a [`crate::Reconciler`] can find them after a restart.
///
/// It holds two netlink sockets: one for reading the table (dumps), one for changes, which
/// go in batches (see [`Fib::apply`]); a single change is a batch of one.
///
/// Needs a tokio runtime (the sockets are driven from it; a batch runs on its blocking pool)
/// and `CAP_NET_ADMIN` for changes.
pub struct Fib {
    conn: Connection,
    batch: Arc<Mutex<BatchSocket>>,
    table: u32,
    mpls: bool,
}

impl Fib {
    /// An installer for `table` ([`MAIN_TABLE`] for the public instance, the instance's table
    /// id for a VPN instance).
    pub fn new(table: u32) -> Result<Fib, Error> {
        Ok(Fib {
            conn: Connection::open()?,
            batch: Arc::new(Mutex::new(BatchSocket::open().map_err(Error::Socket)?)),
            table,
            mpls: mpls_supported(),
        })
    }

    /// An installer for the main table.
    pub fn main() -> Result<Fib, Error> {
        Fib::new(MAIN_TABLE)
    }

    /// The table id.
    pub fn table(&self) -> u32 {
        self.table
    }

    /// Whether labels can be pushed (see [`mpls_supported`]; checked when this was made).
    pub fn mpls(&self) -> bool {
        self.mpls
    }

    /// How many requests go to the kernel in one datagram at most (set from the receive
    /// buffer the kernel granted, see [`crate::batch`]).
    pub fn chunk(&self) -> usize {
        self.batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .chunk()
    }

    /// A snapshot of the table (every protocol's routes).
    pub async fn routes(&self) -> Result<KernelRoutes, Error> {
        Ok(KernelRoutes::from_routes(
            self.table,
            dump(&self.conn.handle, self.table).await?,
        ))
    }

    /// Applies `ops` in order and returns each one's outcome, in the same order: a route the
    /// kernel refuses (a gateway on no connected network, a delete of a route that is not
    /// there) fails alone, the others go on.
    ///
    /// The changes are written many to a datagram without waiting for each answer, and the
    /// kernel's error answers are matched to them by sequence number ([`crate::batch`]): a
    /// full table goes in at the kernel's pace rather than a round trip per route.
    pub async fn apply(&self, ops: &[RouteOp]) -> Vec<Result<(), Error>> {
        let mut results: Vec<Option<Result<(), Error>>> = Vec::with_capacity(ops.len());
        let mut requests = Vec::with_capacity(ops.len());
        let mut sent = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let request = match op {
                RouteOp::Replace(route) => self.message(route).map(|message| Request {
                    kind: Kind::Replace,
                    message,
                }),
                RouteOp::ReplaceMultipath(route) => {
                    self.multipath_message(route).map(|message| Request {
                        kind: Kind::Replace,
                        message,
                    })
                }
                RouteOp::Delete { prefix, metric } => Ok(Request {
                    kind: Kind::Delete,
                    message: delete_message(*prefix, *metric, self.table),
                }),
            };
            match request {
                Ok(r) => {
                    requests.push(r);
                    sent.push(i);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let answers = self.submit(requests).await;
        for (i, answer) in sent.into_iter().zip(answers) {
            let op = &ops[i];
            let verb = match op {
                RouteOp::Replace(_) | RouteOp::ReplaceMultipath(_) => "replace",
                RouteOp::Delete { .. } => "delete",
            };
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(answer.map_err(|f| self.error(verb, op.prefix(), f)));
            }
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }

    /// Adds `route`; fails with `EEXIST` ([`Error::errno`]) when the table has a route of the
    /// same prefix and metric.
    pub async fn add(&self, route: &FibRoute) -> Result<(), Error> {
        self.one(Kind::Add, "add", route.prefix, self.message(route)?)
            .await
    }

    /// Adds `route`, or replaces the route of the same prefix and metric (whoever installed
    /// it: the kernel's `NLM_F_REPLACE`).
    pub async fn replace(&self, route: &FibRoute) -> Result<(), Error> {
        self.one(Kind::Replace, "replace", route.prefix, self.message(route)?)
            .await
    }

    /// Adds `route` over all its next hops, or replaces the route of the same prefix and
    /// metric (`NLM_F_REPLACE`: a single-path route becomes the multipath one and back).
    pub async fn replace_multipath(&self, route: &MultipathRoute) -> Result<(), Error> {
        let message = self.multipath_message(route)?;
        self.one(Kind::Replace, "replace", route.prefix, message)
            .await
    }

    /// Like [`Fib::replace`], for a route that carries MPLS `labels` to push (outermost first),
    /// as a labeled-unicast or VPN route does. Without kernel MPLS support the plain IP route
    /// is installed, a warning is logged once per process, and the outcome says
    /// [`LabelOutcome::IpOnly`]: packets leave unlabeled, the label stays in the control plane.
    pub async fn replace_labeled(
        &self,
        route: &FibRoute,
        labels: &[u32],
    ) -> Result<LabelOutcome, Error> {
        if let Some(bad) = labels.iter().find(|l| **l > MAX_LABEL) {
            return Err(Error::Invalid(format!("label {bad} is wider than 20 bits")));
        }
        let labels: Vec<u32> = labels
            .iter()
            .copied()
            .filter(|l| *l != IMPLICIT_NULL)
            .collect();
        if labels.is_empty() {
            self.replace(route).await?;
            return Ok(LabelOutcome::Pushed);
        }
        if self.mpls {
            let message = self
                .builder(route)?
                .output_mpls(mpls_stack(&labels))
                .build();
            match self
                .one(Kind::Replace, "replace", route.prefix, message)
                .await
            {
                Ok(()) => return Ok(LabelOutcome::Pushed),
                Err(e) if e.errno().is_some_and(|n| NO_ENCAP.contains(&n)) => {
                    tracing::warn!(
                        prefix = %route.prefix, table = self.table, error = %e,
                        "the kernel refused MPLS encap; installing the IP route without labels"
                    );
                }
                Err(e) => return Err(e),
            }
        } else {
            NO_MPLS_WARNING.call_once(|| {
                tracing::warn!(
                    "the kernel has no MPLS support (/proc/sys/net/mpls missing): labeled \
                     routes are installed as plain IP routes and their labels stay in the \
                     control plane"
                );
            });
        }
        self.replace(route).await?;
        Ok(LabelOutcome::IpOnly)
    }

    /// Deletes tern's route (protocol [`PROTO_TERN`]) of `prefix`, the one of `metric` when
    /// given; fails with `ESRCH` when there is none. Routes of other protocols are never
    /// touched.
    pub async fn delete(&self, prefix: IpNet, metric: Option<u32>) -> Result<(), Error> {
        let message = delete_message(prefix, metric, self.table);
        self.one(Kind::Delete, "delete", prefix, message).await
    }

    /// Removes every route of protocol [`PROTO_TERN`] from the table (IPv4 and IPv6), in
    /// batches: tern's own at a clean shutdown, or every one an earlier run left. Returns how
    /// many were removed. Routes that vanish meanwhile are not errors; another failure is
    /// returned after every route was tried.
    pub async fn flush_stale(&self) -> Result<usize, Error> {
        let routes: Vec<KernelRoute> =
            dump_filtered(&self.conn.handle, self.table, Some(PROTO_TERN))
                .await?
                .into_iter()
                .map(|(route, _)| route)
                .collect();
        let (removed, mut errors) = self.delete_routes(&routes).await;
        match errors.is_empty() {
            true => Ok(removed),
            false => Err(errors.swap_remove(0)),
        }
    }

    /// Deletes `routes` (tern's, as read from the table: each by prefix, metric and type) in
    /// batches; returns how many went and the failures other than `ESRCH` (already gone).
    pub(crate) async fn delete_routes(&self, routes: &[KernelRoute]) -> (usize, Vec<Error>) {
        let requests = routes
            .iter()
            .map(|route| {
                let mut message = delete_message(route.prefix, Some(route.metric), self.table);
                message.header.kind = RouteType::from(route.kind.code());
                Request {
                    kind: Kind::Delete,
                    message,
                }
            })
            .collect();
        let mut removed = 0;
        let mut errors = Vec::new();
        for (route, answer) in routes.iter().zip(self.submit(requests).await) {
            match answer {
                Ok(()) => removed += 1,
                Err(Failure::Kernel(e)) if e.raw_code().abs() == ESRCH => {}
                Err(f) => errors.push(self.error("delete", route.prefix, f)),
            }
        }
        (removed, errors)
    }

    /// tern's routes in the table now, each with whether it is plain (one next hop, no
    /// encapsulation).
    pub(crate) async fn own_routes(&self) -> Result<Vec<(KernelRoute, bool)>, Error> {
        dump_filtered(&self.conn.handle, self.table, Some(PROTO_TERN)).await
    }

    fn builder(&self, route: &FibRoute) -> Result<RouteMessageBuilder<IpAddr>, Error> {
        let prefix = route.prefix.trunc();
        let mut builder = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(prefix.addr(), prefix.prefix_len())
            .map_err(invalid)?
            .protocol(RouteProtocol::from(PROTO_TERN))
            .table_id(self.table);
        match (route.gateway, route.ifindex) {
            (None, None) => {
                return Err(Error::Invalid(format!(
                    "{prefix}: neither gateway nor interface"
                )));
            }
            (None, Some(_)) => builder = builder.scope(RouteScope::Link),
            (Some(gateway), _) => {
                if prefix.addr().is_ipv6() && gateway.is_ipv4() {
                    return Err(Error::Invalid(format!(
                        "{prefix}: IPv4 gateway {gateway} for an IPv6 prefix"
                    )));
                }
                builder = builder.gateway(gateway).map_err(invalid)?;
            }
        }
        if let Some(ifindex) = route.ifindex {
            builder = builder.output_interface(ifindex);
        }
        if let Some(metric) = route.metric {
            builder = builder.priority(metric);
        }
        Ok(builder)
    }

    fn message(&self, route: &FibRoute) -> Result<RouteMessage, Error> {
        Ok(self.builder(route)?.build())
    }

    fn multipath_message(&self, route: &MultipathRoute) -> Result<RouteMessage, Error> {
        let prefix = route.prefix.trunc();
        if route.hops.is_empty() {
            return Err(Error::Invalid(format!("{prefix}: no next hop")));
        }
        let family = if prefix.addr().is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let mut hops = Vec::with_capacity(route.hops.len());
        for (gateway, ifindex) in &route.hops {
            if prefix.addr().is_ipv6() && gateway.is_ipv4() {
                return Err(Error::Invalid(format!(
                    "{prefix}: IPv4 gateway {gateway} for an IPv6 prefix"
                )));
            }
            let mut hop = RouteNextHopBuilder::new(family)
                .via(*gateway)
                .map_err(invalid)?;
            if let Some(i) = ifindex {
                hop = hop.interface(*i);
            }
            hops.push(hop.build());
        }
        let mut builder = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(prefix.addr(), prefix.prefix_len())
            .map_err(invalid)?
            .protocol(RouteProtocol::from(PROTO_TERN))
            .table_id(self.table)
            .multipath(hops);
        if let Some(metric) = route.metric {
            builder = builder.priority(metric);
        }
        Ok(builder.build())
    }

    /// Runs `requests` as a batch on the blocking pool (the kernel does the work inside the
    /// send call); one outcome per request, in order.
    async fn submit(&self, requests: Vec<Request>) -> Vec<Result<(), Failure>> {
        let n = requests.len();
        if n == 0 {
            return Vec::new();
        }
        let socket = self.batch.clone();
        let run = tokio::task::spawn_blocking(move || {
            socket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .run(&requests)
        });
        match run.await {
            Ok(answers) => answers,
            Err(e) => (0..n)
                .map(|_| Err(Failure::Socket(std::io::Error::other(e.to_string()))))
                .collect(),
        }
    }

    /// One request, as a batch of one.
    async fn one(
        &self,
        kind: Kind,
        op: &'static str,
        prefix: IpNet,
        message: RouteMessage,
    ) -> Result<(), Error> {
        let answer = self
            .submit(vec![Request { kind, message }])
            .await
            .pop()
            .unwrap_or(Ok(()));
        answer.map_err(|f| self.error(op, prefix, f))
    }

    fn error(&self, op: &'static str, prefix: IpNet, failure: Failure) -> Error {
        match failure {
            Failure::Kernel(e) => Error::Netlink {
                op,
                what: format!("{} in table {}", prefix.trunc(), self.table),
                source: rtnetlink::Error::NetlinkError(e),
            },
            Failure::Socket(e) => Error::Socket(e),
        }
    }
}

/// A route the builder refused.
fn invalid(e: impl std::fmt::Display) -> Error {
    Error::Invalid(e.to_string())
}

/// `ESRCH`, the answer for deleting a route that is not there.
const ESRCH: i32 = 3;

/// An `RTM_DELROUTE` for tern's route of `prefix`: scope "nowhere" and type unspecified match
/// any (as `ip route del` does), protocol [`PROTO_TERN`] keeps other protocols' routes.
fn delete_message(prefix: IpNet, metric: Option<u32>, table: u32) -> RouteMessage {
    let prefix = prefix.trunc();
    let mut builder = RouteMessageBuilder::<IpAddr>::new();
    let message = builder.get_mut();
    message.header.address_family = if prefix.addr().is_ipv6() {
        rtnetlink::packet_route::AddressFamily::Inet6
    } else {
        rtnetlink::packet_route::AddressFamily::Inet
    };
    message.header.destination_prefix_length = prefix.prefix_len();
    message.header.protocol = RouteProtocol::from(PROTO_TERN);
    message.header.scope = RouteScope::NoWhere;
    message.header.kind = RouteType::Unspec;
    message
        .attributes
        .push(rtnetlink::packet_route::route::RouteAttribute::Destination(
            prefix.addr().into(),
        ));
    if let Some(metric) = metric {
        message
            .attributes
            .push(rtnetlink::packet_route::route::RouteAttribute::Priority(
                metric,
            ));
    }
    let mut message = builder.build();
    set_table(&mut message, table);
    message
}

/// Label stack entries as the kernel wants them for encap: TTL and traffic class zero, the
/// bottom-of-stack bit on the last.
fn mpls_stack(labels: &[u32]) -> Vec<MplsLabel> {
    let last = labels.len().saturating_sub(1);
    labels
        .iter()
        .enumerate()
        .map(|(i, label)| MplsLabel {
            label: *label,
            traffic_class: 0,
            bottom_of_stack: i == last,
            ttl: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::route::RouteAttribute;

    #[test]
    fn stack_marks_the_bottom() {
        let s = mpls_stack(&[100, 200]);
        assert_eq!((s[0].bottom_of_stack, s[1].bottom_of_stack), (false, true));
        assert_eq!(s[1].label, 200);
    }

    #[test]
    fn delete_names_the_table_and_protocol() {
        let m = delete_message("10.1.2.3/16".parse().unwrap(), Some(5), 1000);
        assert_eq!(u8::from(m.header.protocol), PROTO_TERN);
        assert_eq!(m.header.destination_prefix_length, 16);
        assert_eq!(m.header.table, 0);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(5)));
        assert!(m.attributes.contains(&RouteAttribute::Destination(
            "10.1.0.0".parse::<IpAddr>().unwrap().into()
        )));
        let m = delete_message("2001:db8::/32".parse().unwrap(), None, MAIN_TABLE);
        assert_eq!(m.header.table, 254);
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Table(_)))
        );
    }
}
