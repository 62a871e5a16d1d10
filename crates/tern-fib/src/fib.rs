//! Installing routes: add, replace and delete IPv4/IPv6 routes of protocol [`PROTO_TERN`] in
//! one table (rtnetlink(7) `RTM_NEWROUTE` / `RTM_DELROUTE`), and reconciliation.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Once;

use ipnet::IpNet;
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_route::route::{
    MplsLabel, RouteMessage, RouteProtocol, RouteScope, RouteType,
};

use crate::error::Error;
use crate::netlink::{Connection, dump, set_table};
use crate::routes::KernelRoutes;
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

/// The route installer for one kernel table: every route it adds has protocol
/// [`PROTO_TERN`], so tern's routes are told apart from everyone else's and
/// [`Fib::flush_stale`] can find them after a restart.
///
/// Needs a tokio runtime (the netlink socket is driven by a task spawned on it) and
/// `CAP_NET_ADMIN` for changes.
pub struct Fib {
    conn: Connection,
    table: u32,
    mpls: bool,
}

impl Fib {
    /// An installer for `table` ([`MAIN_TABLE`] for the public instance, the instance's table
    /// id for a VPN instance).
    pub fn new(table: u32) -> Result<Fib, Error> {
        Ok(Fib {
            conn: Connection::open()?,
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

    /// A snapshot of the table (every protocol's routes).
    pub async fn routes(&self) -> Result<KernelRoutes, Error> {
        Ok(KernelRoutes::from_routes(
            self.table,
            dump(&self.conn.handle, self.table).await?,
        ))
    }

    /// Adds `route`; fails with `EEXIST` ([`Error::errno`]) when the table has a route of the
    /// same prefix and metric.
    pub async fn add(&self, route: &FibRoute) -> Result<(), Error> {
        self.send("add", route, self.message(route)?, false).await
    }

    /// Adds `route`, or replaces the route of the same prefix and metric (whoever installed
    /// it: the kernel's `NLM_F_REPLACE`).
    pub async fn replace(&self, route: &FibRoute) -> Result<(), Error> {
        self.send("replace", route, self.message(route)?, true)
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
            match self.send("replace", route, message, true).await {
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
        let what = format!("{prefix} in table {}", self.table);
        self.conn
            .handle
            .route()
            .del(message)
            .execute()
            .await
            .map_err(|source| Error::Netlink {
                op: "delete",
                what,
                source,
            })
    }

    /// Removes every route of protocol [`PROTO_TERN`] from the table (IPv4 and IPv6): routes
    /// left by an earlier run, at start, and tern's own at a clean shutdown. Returns how many
    /// were removed. Routes that vanish meanwhile are not errors.
    pub async fn flush_stale(&self) -> Result<usize, Error> {
        let mut removed = 0;
        for route in dump(&self.conn.handle, self.table).await? {
            if route.protocol != PROTO_TERN {
                continue;
            }
            let mut message = delete_message(route.prefix, Some(route.metric), self.table);
            message.header.kind = RouteType::from(route.kind.code());
            let what = format!("{} in table {}", route.prefix, self.table);
            match self.conn.handle.route().del(message).execute().await {
                Ok(()) => removed += 1,
                Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code().abs() == ESRCH => {}
                Err(source) => {
                    return Err(Error::Netlink {
                        op: "delete",
                        what,
                        source,
                    });
                }
            }
        }
        Ok(removed)
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

    async fn send(
        &self,
        op: &'static str,
        route: &FibRoute,
        message: RouteMessage,
        replace: bool,
    ) -> Result<(), Error> {
        let mut request = self.conn.handle.route().add(message);
        if replace {
            request = request.replace();
        }
        request.execute().await.map_err(|source| Error::Netlink {
            op,
            what: format!("{} in table {}", route.prefix, self.table),
            source,
        })
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
