//! The netlink connection and the translation of rtnetlink(7) route messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rtnetlink::Handle;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
    RouteVia,
};
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::routes::{KernelRoute, KernelRoutes, RouteKind};

/// A netlink route socket driven by a task on the current tokio runtime; the task ends when
/// this is dropped.
pub(crate) struct Connection {
    pub(crate) handle: Handle,
    task: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Connection {
    /// A socket for requests, with `NETLINK_GET_STRICT_CHK` so dumps are filtered by table in
    /// the kernel.
    pub(crate) fn open() -> Result<Connection, Error> {
        let (conn, handle, _) =
            rtnetlink::new_connection_with_strict_check().map_err(Error::Socket)?;
        Connection::spawn(handle, conn)
    }

    /// Wraps a connection whose driving future `conn` is spawned here.
    pub(crate) fn spawn<F>(handle: Handle, conn: F) -> Result<Connection, Error>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        Ok(Connection {
            handle,
            task: runtime.spawn(conn),
        })
    }
}

/// The table a route message belongs to: `RTA_TABLE` when present (ids above 255 need it),
/// else `rtm_table`.
pub(crate) fn route_table(message: &RouteMessage) -> u32 {
    message
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(message.header.table))
}

fn address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn gateway(a: &RouteAttribute) -> Option<IpAddr> {
    match a {
        RouteAttribute::Gateway(g) => address(g),
        RouteAttribute::Via(RouteVia::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Via(RouteVia::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// An IPv4 or IPv6 route message as a [`KernelRoute`] with its table; `None` for other
/// families and for source-specific (`from`) routes, which a destination lookup cannot
/// model.
pub(crate) fn parse_route(message: &RouteMessage) -> Option<(u32, KernelRoute)> {
    let header = &message.header;
    let v6 = match header.address_family {
        AddressFamily::Inet => false,
        AddressFamily::Inet6 => true,
        _ => return None,
    };
    if header.source_prefix_length != 0 {
        return None;
    }
    let mut destination = None;
    let mut gw = None;
    let mut ifindex = None;
    let mut metric = 0;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(a) => destination = address(a),
            RouteAttribute::Gateway(_) | RouteAttribute::Via(_) => gw = gateway(attribute),
            RouteAttribute::Oif(i) => ifindex = Some(*i),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::MultiPath(hops) => {
                if let Some(first) = hops.first() {
                    if ifindex.is_none() && first.interface_index != 0 {
                        ifindex = Some(first.interface_index);
                    }
                    if gw.is_none() {
                        gw = first.attributes.iter().find_map(gateway);
                    }
                }
            }
            _ => {}
        }
    }
    let destination = destination.unwrap_or(unspecified(v6));
    if destination.is_ipv6() != v6 {
        return None;
    }
    let prefix: IpNet = net(destination, header.destination_prefix_length)?;
    let route = KernelRoute {
        prefix,
        gateway: gw,
        ifindex,
        protocol: u8::from(header.protocol),
        metric,
        kind: RouteKind::from_code(u8::from(header.kind)),
    };
    Some((route_table(message), route))
}

/// A message header naming `table`: in `rtm_table` up to 255, else `RT_TABLE_UNSPEC` there
/// and the id in `RTA_TABLE`.
pub(crate) fn set_table(message: &mut RouteMessage, table: u32) {
    match u8::try_from(table) {
        Ok(t) => message.header.table = t,
        Err(_) => {
            message.header.table = RouteHeader::RT_TABLE_UNSPEC;
            message.attributes.push(RouteAttribute::Table(table));
        }
    }
}

/// Every IPv4 and IPv6 route of `table` (`RTM_GETROUTE` dumps, one per family).
pub(crate) async fn dump(handle: &Handle, table: u32) -> Result<Vec<KernelRoute>, Error> {
    Ok(dump_filtered(handle, table, None)
        .await?
        .into_iter()
        .map(|(route, _)| route)
        .collect())
}

/// The IPv4 and IPv6 routes of `table`, of `protocol` only when given (the kernel filters
/// under strict checking), each with whether it is plain: one next hop, no encapsulation, as
/// tern installs its routes.
pub(crate) async fn dump_filtered(
    handle: &Handle,
    table: u32,
    protocol: Option<u8>,
) -> Result<Vec<(KernelRoute, bool)>, Error> {
    dump_with(handle, table, protocol, |message, route| {
        (route, plain(message))
    })
    .await
}

/// The IPv4 and IPv6 routes of `table` (of `protocol` only when given), each as `f` makes it
/// of its message and parsed route.
async fn dump_with<T>(
    handle: &Handle,
    table: u32,
    protocol: Option<u8>,
    f: impl Fn(&RouteMessage, KernelRoute) -> T,
) -> Result<Vec<T>, Error> {
    let mut routes = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut request = RouteMessage::default();
        request.header.address_family = family;
        // Unspecified protocol, type and scope: with strict checking these filter the dump.
        request.header.protocol = protocol.map_or(RouteProtocol::Unspec, RouteProtocol::from);
        request.header.kind = RouteType::Unspec;
        request.header.scope = RouteScope::Universe;
        set_table(&mut request, table);
        let mut answers = handle.route().get(request).execute();
        loop {
            match answers.try_next().await {
                Ok(Some(message)) => {
                    // The kernel filters by table under strict checking; older kernels do not.
                    if let Some((t, route)) = parse_route(&message)
                        && t == table
                        && protocol.is_none_or(|p| p == route.protocol)
                    {
                        routes.push(f(&message, route));
                    }
                }
                Ok(None) => break,
                // A table that holds no route of the family does not exist yet: empty.
                Err(rtnetlink::Error::NetlinkError(e))
                    if e.raw_code().abs() == i32::from(ENOENT) =>
                {
                    break;
                }
                Err(source) => {
                    return Err(Error::Netlink {
                        op: "dump",
                        what: format!("table {table}"),
                        source,
                    });
                }
            }
        }
    }
    Ok(routes)
}

/// One next hop and no lightweight-tunnel encapsulation (no `RTA_MULTIPATH`, no `RTA_ENCAP`).
fn plain(message: &RouteMessage) -> bool {
    !message.attributes.iter().any(|a| {
        matches!(
            a,
            RouteAttribute::MultiPath(_) | RouteAttribute::Encap(_) | RouteAttribute::EncapType(_)
        )
    })
}

/// Whether `table` holds a route of `protocol` (IPv4 or IPv6): a dump filtered by protocol
/// in the kernel, left at the first route. On a socket of its own; needs a tokio runtime.
pub async fn has_routes(table: u32, protocol: u8) -> Result<bool, Error> {
    let conn = Connection::open()?;
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut request = RouteMessage::default();
        request.header.address_family = family;
        request.header.protocol = RouteProtocol::from(protocol);
        request.header.kind = RouteType::Unspec;
        request.header.scope = RouteScope::Universe;
        set_table(&mut request, table);
        let mut answers = conn.handle.route().get(request).execute();
        loop {
            match answers.try_next().await {
                Ok(Some(message)) => {
                    if let Some((t, route)) = parse_route(&message)
                        && t == table
                        && route.protocol == protocol
                    {
                        return Ok(true);
                    }
                }
                Ok(None) => break,
                Err(rtnetlink::Error::NetlinkError(e))
                    if e.raw_code().abs() == i32::from(ENOENT) =>
                {
                    break;
                }
                Err(source) => {
                    return Err(Error::Netlink {
                        op: "dump",
                        what: format!("table {table}"),
                        source,
                    });
                }
            }
        }
    }
    Ok(false)
}

/// Every route of `table` with all its next hops, as a routing-table display lists them: a
/// multipath route's next hops (gateway, interface) in the kernel's order; empty for a
/// single-path route, whose next hop is the route's own.
pub async fn routes_with_next_hops(
    table: u32,
) -> Result<Vec<(KernelRoute, Vec<(Option<IpAddr>, Option<u32>)>)>, Error> {
    let conn = Connection::open()?;
    dump_with(&conn.handle, table, None, |message, route| {
        let hops = message
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(hops) => Some(
                    hops.iter()
                        .map(|h| {
                            (
                                h.attributes.iter().find_map(gateway),
                                (h.interface_index != 0).then_some(h.interface_index),
                            )
                        })
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default();
        (route, hops)
    })
    .await
}

impl KernelRoutes {
    /// Reads `table` with a netlink dump on a socket of its own (see [`crate::Fib::routes`]
    /// to reuse an installer's socket). Needs a tokio runtime; the socket belongs to the
    /// calling thread's network namespace.
    pub async fn read(table: u32) -> Result<KernelRoutes, Error> {
        let conn = Connection::open()?;
        Ok(KernelRoutes::from_routes(
            table,
            dump(&conn.handle, table).await?,
        ))
    }
}

/// `prefix`/`len` as an [`IpNet`], host bits cleared; `None` for a length beyond the family's.
fn net(addr: IpAddr, len: u8) -> Option<IpNet> {
    match addr {
        IpAddr::V4(a) => Ipv4Net::new(a, len).ok().map(|n| IpNet::V4(n.trunc())),
        IpAddr::V6(a) => Ipv6Net::new(a, len).ok().map(|n| IpNet::V6(n.trunc())),
    }
}

/// The unspecified address of IPv6 (`v6`) or IPv4.
fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// `ENOENT`, the answer for a dump of a table that does not exist.
const ENOENT: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::route::RouteNextHop;

    fn message(family: AddressFamily, len: u8, attributes: Vec<RouteAttribute>) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = family;
        m.header.destination_prefix_length = len;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Static;
        m.header.kind = RouteType::Unicast;
        m.attributes = attributes;
        m
    }

    #[test]
    fn gateway_route() {
        let m = message(
            AddressFamily::Inet,
            16,
            vec![
                RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(10, 1, 0, 0))),
                RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(192, 0, 2, 1))),
                RouteAttribute::Oif(3),
                RouteAttribute::Priority(20),
            ],
        );
        let (table, r) = parse_route(&m).unwrap();
        assert_eq!(table, 254);
        assert_eq!(r.prefix, "10.1.0.0/16".parse::<IpNet>().unwrap());
        assert_eq!(r.gateway, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
        assert_eq!(
            (r.ifindex, r.metric, r.protocol, r.kind),
            (Some(3), 20, 4, RouteKind::Unicast)
        );
    }

    #[test]
    fn default_route_has_no_destination() {
        let mut m = message(AddressFamily::Inet6, 0, vec![RouteAttribute::Table(1000)]);
        m.header.kind = RouteType::Unreachable;
        let (table, r) = parse_route(&m).unwrap();
        assert_eq!(table, 1000);
        assert_eq!(r.prefix, "::/0".parse::<IpNet>().unwrap());
        assert_eq!(
            (r.gateway, r.ifindex, r.kind),
            (None, None, RouteKind::Unreachable)
        );
    }

    #[test]
    fn multipath_reports_the_first_hop_and_via() {
        let hop = |ifindex, gw: Ipv6Addr| {
            let mut hop = RouteNextHop::default();
            hop.interface_index = ifindex;
            hop.attributes = vec![RouteAttribute::Via(RouteVia::Inet6(gw))];
            hop
        };
        let m = message(
            AddressFamily::Inet,
            24,
            vec![
                RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(10, 2, 3, 0))),
                RouteAttribute::MultiPath(vec![
                    hop(5, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
                    hop(6, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)),
                ]),
            ],
        );
        let (_, r) = parse_route(&m).unwrap();
        assert_eq!(r.ifindex, Some(5));
        assert_eq!(r.gateway, Some("fe80::1".parse().unwrap()));
    }

    #[test]
    fn other_families_and_source_routes_are_left_out() {
        assert!(parse_route(&message(AddressFamily::Mpls, 20, vec![])).is_none());
        let mut m = message(AddressFamily::Inet6, 0, vec![]);
        m.header.source_prefix_length = 64;
        assert!(parse_route(&m).is_none());
        // A destination of the wrong family, or a length beyond the family's.
        let wrong = vec![RouteAttribute::Destination(RouteAddress::Inet(
            Ipv4Addr::LOCALHOST,
        ))];
        assert!(parse_route(&message(AddressFamily::Inet6, 8, wrong)).is_none());
        assert!(parse_route(&message(AddressFamily::Inet, 33, vec![])).is_none());
    }

    #[test]
    fn table_above_255_goes_in_an_attribute() {
        let mut m = RouteMessage::default();
        set_table(&mut m, 1000);
        assert_eq!((m.header.table, route_table(&m)), (0, 1000));
        let mut m = RouteMessage::default();
        set_table(&mut m, 254);
        assert_eq!(
            (m.header.table, m.attributes.len(), route_table(&m)),
            (254, 0, 254)
        );
    }

    #[test]
    fn handles_move_between_tasks() {
        fn send<T: Send>() {}
        send::<crate::Fib>();
        send::<crate::Watcher>();
        send::<crate::KernelRoutes>();
        fn sync<T: Sync>() {}
        sync::<crate::Fib>();
        sync::<crate::KernelRoutes>();
    }
}
