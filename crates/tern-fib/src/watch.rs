//! Route and link change notifications: a netlink multicast subscription (rtnetlink(7)
//! groups `RTNLGRP_IPV4_ROUTE`, `RTNLGRP_IPV6_ROUTE`, `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR`,
//! `RTNLGRP_IPV6_IFADDR`) turned into [`FibEvent`]s.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt, TryStreamExt};
use hashbrown::HashMap;
use ipnet::IpNet;
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{LinkFlags, LinkMessage};
use rtnetlink::sys::{AsyncSocket, SocketAddr};

use crate::error::Error;
use crate::netlink::{Connection, parse_route};
use crate::routes::KernelRoute;

/// A change in the kernel that can change how next hops resolve.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FibEvent {
    /// A route was added to the watched table, or replaced (`RTM_NEWROUTE`).
    RouteAdded(KernelRoute),
    /// A route was removed from the watched table (`RTM_DELROUTE`).
    RouteRemoved(KernelRoute),
    /// An interface became operational (administratively up and running).
    LinkUp {
        /// Its index.
        ifindex: u32,
    },
    /// An interface stopped being operational, or was removed. The kernel drops the IPv4
    /// routes through it without announcing each: read the table again.
    LinkDown {
        /// Its index.
        ifindex: u32,
    },
    /// An address was added to an interface (and with it, usually, a connected route).
    AddressAdded {
        /// The interface.
        ifindex: u32,
        /// The address and its prefix length (host bits kept).
        address: IpNet,
    },
    /// An address was removed from an interface; IPv4 routes over gateways on its network
    /// vanish without being announced: read the table again.
    AddressRemoved {
        /// The interface.
        ifindex: u32,
        /// The address and its prefix length (host bits kept).
        address: IpNet,
    },
    /// The socket's receive buffer overflowed and notifications were lost: read the table
    /// again.
    Overrun,
}

/// Subscribes to route changes of `table` (IPv4 and IPv6) and to link and address changes
/// (all interfaces), and returns the stream of [`FibEvent`]s.
///
/// The subscription starts before this returns: every change after it is seen. Interfaces'
/// states are read once here, so [`FibEvent::LinkUp`] / [`FibEvent::LinkDown`] report
/// transitions only, not every link notification (statistics, flags) the kernel sends.
///
/// Events come one per kernel notification, as they happen: a routing daemon adding a full
/// table, or an interface going down, makes bursts of thousands. Coalescing them (wait a few
/// milliseconds after the first, drain what is ready, then re-run next-hop resolution once)
/// is the consumer's job, as is reading the table again after a `LinkDown`, an
/// `AddressRemoved` or an `Overrun`. Unread events wait in memory (the kernel socket buffer,
/// then an unbounded queue), so read them promptly; when the kernel buffer overflows the
/// stream says [`FibEvent::Overrun`].
///
/// Needs a tokio runtime; the socket belongs to the network namespace of the calling thread.
pub async fn watch(table: u32) -> Result<Watcher, Error> {
    let groups = [
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
        MulticastGroup::Ipv4Route,
        MulticastGroup::Ipv6Route,
    ];
    let (mut conn, handle, messages) =
        rtnetlink::new_multicast_connection(&groups).map_err(Error::Socket)?;
    // A larger buffer rides out bursts (capped by net.core.rmem_max); best effort.
    let _ = conn.socket_mut().socket_mut().set_rx_buf_sz(RECEIVE_BUFFER);
    let conn = Connection::spawn(handle, conn)?;
    let mut links = HashMap::new();
    let mut dump = conn.handle.link().get().execute();
    loop {
        match dump.try_next().await {
            Ok(Some(link)) => {
                links.insert(link.header.index, running(&link));
            }
            Ok(None) => break,
            Err(source) => {
                return Err(Error::Netlink {
                    op: "dump",
                    what: "links".into(),
                    source,
                });
            }
        }
    }
    drop(dump);
    Ok(Watcher {
        table,
        ignore_protocol: None,
        messages: Box::pin(messages),
        links,
        _conn: conn,
    })
}

/// The subscription's unsolicited messages (the connection's unbounded queue).
type Notifications =
    Pin<Box<dyn Stream<Item = (NetlinkMessage<RouteNetlinkMessage>, SocketAddr)> + Send>>;

/// Requested receive buffer of the subscription socket, in octets.
const RECEIVE_BUFFER: i32 = 4 << 20;

/// The stream of [`FibEvent`]s of [`watch`]; a [`Stream`], or read with
/// [`Watcher::next_event`]. Dropping it ends the subscription.
pub struct Watcher {
    table: u32,
    ignore_protocol: Option<u8>,
    messages: Notifications,
    /// Interface index → operational, as last seen.
    links: HashMap<u32, bool>,
    _conn: Connection,
}

impl Watcher {
    /// Leaves out route events of `protocol` (tern's own, [`crate::PROTO_TERN`]: its
    /// installs would otherwise come back as events).
    pub fn ignore_protocol(mut self, protocol: u8) -> Watcher {
        self.ignore_protocol = Some(protocol);
        self
    }

    /// The watched table.
    pub fn table(&self) -> u32 {
        self.table
    }

    /// The next event; `None` when the subscription ended (the socket failed).
    pub async fn next_event(&mut self) -> Option<FibEvent> {
        self.next().await
    }

    fn translate(&mut self, message: NetlinkMessage<RouteNetlinkMessage>) -> Option<FibEvent> {
        let inner = match message.payload {
            NetlinkPayload::Overrun(_) => return Some(FibEvent::Overrun),
            NetlinkPayload::InnerMessage(inner) => inner,
            _ => return None,
        };
        match inner {
            RouteNetlinkMessage::NewRoute(m) => self.route(&m).map(FibEvent::RouteAdded),
            RouteNetlinkMessage::DelRoute(m) => self.route(&m).map(FibEvent::RouteRemoved),
            RouteNetlinkMessage::NewLink(link) => {
                let up = running(&link);
                match self.links.insert(link.header.index, up) {
                    Some(was) if was == up => None,
                    None if !up => None,
                    _ if up => Some(FibEvent::LinkUp {
                        ifindex: link.header.index,
                    }),
                    _ => Some(FibEvent::LinkDown {
                        ifindex: link.header.index,
                    }),
                }
            }
            RouteNetlinkMessage::DelLink(link) => match self.links.remove(&link.header.index) {
                Some(true) => Some(FibEvent::LinkDown {
                    ifindex: link.header.index,
                }),
                _ => None,
            },
            RouteNetlinkMessage::NewAddress(a) => {
                address(&a).map(|address| FibEvent::AddressAdded {
                    ifindex: a.header.index,
                    address,
                })
            }
            RouteNetlinkMessage::DelAddress(a) => {
                address(&a).map(|address| FibEvent::AddressRemoved {
                    ifindex: a.header.index,
                    address,
                })
            }
            _ => None,
        }
    }

    fn route(&self, message: &rtnetlink::packet_route::route::RouteMessage) -> Option<KernelRoute> {
        let (table, route) = parse_route(message)?;
        (table == self.table && Some(route.protocol) != self.ignore_protocol).then_some(route)
    }
}

impl Stream for Watcher {
    type Item = FibEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FibEvent>> {
        loop {
            match self.messages.poll_next_unpin(cx) {
                Poll::Ready(Some((message, _))) => {
                    if let Some(event) = self.translate(message) {
                        return Poll::Ready(Some(event));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Operational: administratively up and running (`IFF_UP` and `IFF_RUNNING`, the latter
/// meaning carrier and operational state up).
fn running(link: &LinkMessage) -> bool {
    link.header
        .flags
        .contains(LinkFlags::Up | LinkFlags::Running)
}

/// An address message's address with its prefix length: `IFA_LOCAL` (the interface's own
/// address on point-to-point links) when present, else `IFA_ADDRESS`.
fn address(message: &AddressMessage) -> Option<IpNet> {
    let mut local = None;
    let mut addr = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => addr = Some(*a),
            _ => {}
        }
    }
    IpNet::new(local.or(addr)?, message.header.prefix_len).ok()
}
