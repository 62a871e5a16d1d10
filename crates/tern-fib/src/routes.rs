//! A snapshot of one kernel routing table and longest-prefix-match lookups in it.
//!
//! [`KernelRoutes`] holds the IPv4 and IPv6 routes of one table as read with a netlink dump
//! (rtnetlink(7) `RTM_GETROUTE` with `NLM_F_DUMP`). [`KernelRoutes::resolve`] finds the route
//! the kernel would use for an address, the way a BGP next-hop resolver needs it
//! (RFC 4271 §5.1.3, §9.1.2.1): reachability, the immediate next hop and the IGP cost.
//!
//! # Structure and cost
//!
//! Each family keeps one hash map per prefix length that occurs in the table (network
//! address → the routes of that prefix, lowest metric first), the lengths in a vector sorted
//! longest first. A lookup masks the address once per occurring length and probes that
//! length's map, longest first, and stops at the first prefix with a usable route:
//! O(L) hash probes, L being the number of distinct prefix lengths of the family (at most 33
//! for IPv4, 129 for IPv6; a host's main table has a handful, a full Internet table about
//! 25). Insertion and removal are O(1) expected plus O(L) to find or make the length's map.

use std::net::IpAddr;

use hashbrown::HashMap;
use ipnet::IpNet;

/// The type of a kernel route (rtnetlink(7) `rtm_type`, `RTN_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// `RTN_UNICAST`: a gateway or directly connected route.
    Unicast,
    /// `RTN_LOCAL`: an address of this host (in the `local` table).
    Local,
    /// `RTN_BROADCAST`: a broadcast address, delivered locally.
    Broadcast,
    /// `RTN_ANYCAST`: an anycast address, delivered locally.
    Anycast,
    /// `RTN_MULTICAST`: a multicast route.
    Multicast,
    /// `RTN_BLACKHOLE`: packets are silently dropped.
    Blackhole,
    /// `RTN_UNREACHABLE`: the destination is unreachable.
    Unreachable,
    /// `RTN_PROHIBIT`: the destination is administratively prohibited.
    Prohibit,
    /// `RTN_THROW`: the lookup continues with the next routing rule's table.
    Throw,
    /// Any other `RTN_*` value.
    Other(u8),
}

impl RouteKind {
    /// The `RTN_*` value.
    pub fn code(self) -> u8 {
        match self {
            RouteKind::Unicast => 1,
            RouteKind::Local => 2,
            RouteKind::Broadcast => 3,
            RouteKind::Anycast => 4,
            RouteKind::Multicast => 5,
            RouteKind::Blackhole => 6,
            RouteKind::Unreachable => 7,
            RouteKind::Prohibit => 8,
            RouteKind::Throw => 9,
            RouteKind::Other(code) => code,
        }
    }

    /// The kind of an `RTN_*` value.
    pub fn from_code(code: u8) -> RouteKind {
        match code {
            1 => RouteKind::Unicast,
            2 => RouteKind::Local,
            3 => RouteKind::Broadcast,
            4 => RouteKind::Anycast,
            5 => RouteKind::Multicast,
            6 => RouteKind::Blackhole,
            7 => RouteKind::Unreachable,
            8 => RouteKind::Prohibit,
            9 => RouteKind::Throw,
            other => RouteKind::Other(other),
        }
    }

    /// Whether a next hop covered by a route of this kind is reachable: unicast (a gateway or
    /// a connected network) and local (an address of this host) routes are; discard routes
    /// (blackhole, unreachable, prohibit), throw and the rest are not.
    pub fn reaches(self) -> bool {
        matches!(self, RouteKind::Unicast | RouteKind::Local)
    }
}

/// One route of a kernel routing table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelRoute {
    /// The destination, with its host bits cleared.
    pub prefix: IpNet,
    /// The gateway (`RTA_GATEWAY`, or `RTA_VIA` for an IPv4 route over an IPv6 gateway); none
    /// for a connected or discard route. For a multipath route, the first next hop's.
    pub gateway: Option<IpAddr>,
    /// The output interface index (`RTA_OIF`); for a multipath route, the first next hop's.
    pub ifindex: Option<u32>,
    /// The routing protocol that installed it (`rtm_protocol`, `RTPROT_*`: 2 kernel, 3 boot,
    /// 4 static, 186 BGP, ...).
    pub protocol: u8,
    /// The metric (`RTA_PRIORITY`); 0 when absent. Lower is preferred.
    pub metric: u32,
    /// The route type.
    pub kind: RouteKind,
}

/// What [`KernelRoutes::resolve`] found for an address: the route the kernel would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Resolved {
    /// The matching route's prefix (`/0` for a default route: a caller that must not resolve
    /// next hops over the default route checks `prefix.prefix_len() == 0`).
    pub prefix: IpNet,
    /// The route's gateway; none when the address is on a connected network.
    pub gateway: Option<IpAddr>,
    /// The route's output interface.
    pub ifindex: Option<u32>,
    /// The route's metric: the IGP cost of the next hop.
    pub metric: u32,
    /// The protocol that installed the route.
    pub protocol: u8,
    /// The route's type ([`RouteKind::Unicast`] or [`RouteKind::Local`]).
    pub kind: RouteKind,
}

impl Resolved {
    /// The address packets towards `next_hop` are sent to: the route's gateway, or `next_hop`
    /// itself when it is on a connected network.
    pub fn forwarding_address(&self, next_hop: IpAddr) -> IpAddr {
        self.gateway.unwrap_or(next_hop)
    }
}

/// The IPv4 and IPv6 routes of one kernel routing table, with longest-prefix-match lookups.
///
/// Read it with [`KernelRoutes::read`] or [`crate::Fib::routes`]; keep it current with the
/// events of [`crate::watch`] ([`KernelRoutes::apply`]) or read it again.
#[derive(Clone, Debug, Default)]
pub struct KernelRoutes {
    table: u32,
    v4: Lpm<u32>,
    v6: Lpm<u128>,
}

impl KernelRoutes {
    /// An empty snapshot of `table`.
    pub fn new(table: u32) -> KernelRoutes {
        KernelRoutes {
            table,
            ..KernelRoutes::default()
        }
    }

    /// A snapshot of `table` holding `routes`.
    pub fn from_routes(table: u32, routes: impl IntoIterator<Item = KernelRoute>) -> KernelRoutes {
        let mut snapshot = KernelRoutes::new(table);
        for route in routes {
            snapshot.insert(route);
        }
        snapshot
    }

    /// The table id.
    pub fn table(&self) -> u32 {
        self.table
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.v4.len + self.v6.len
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every route, IPv4 first, longest prefixes first (the order within a length is
    /// unspecified).
    pub fn iter(&self) -> impl Iterator<Item = &KernelRoute> {
        self.v4.iter().chain(self.v6.iter())
    }

    /// The routes of exactly `prefix` (host bits ignored), lowest metric first.
    pub fn get(&self, prefix: IpNet) -> &[KernelRoute] {
        let prefix = prefix.trunc();
        match prefix {
            IpNet::V4(net) => self.v4.get(u32::from(net.network()), net.prefix_len()),
            IpNet::V6(net) => self.v6.get(u128::from(net.network()), net.prefix_len()),
        }
    }

    /// Adds `route`; a route of the same prefix and metric is replaced (as the kernel's
    /// `NLM_F_REPLACE` does).
    pub fn insert(&mut self, mut route: KernelRoute) {
        route.prefix = route.prefix.trunc();
        match route.prefix {
            IpNet::V4(net) => self
                .v4
                .insert(u32::from(net.network()), net.prefix_len(), route),
            IpNet::V6(net) => self
                .v6
                .insert(u128::from(net.network()), net.prefix_len(), route),
        }
    }

    /// Removes the route of `route`'s prefix and metric that best matches it (same gateway,
    /// interface and protocol when present); returns whether one was removed.
    pub fn remove(&mut self, route: &KernelRoute) -> bool {
        match route.prefix.trunc() {
            IpNet::V4(net) => self
                .v4
                .remove(u32::from(net.network()), net.prefix_len(), route),
            IpNet::V6(net) => self
                .v6
                .remove(u128::from(net.network()), net.prefix_len(), route),
        }
    }

    /// Applies a route event from [`crate::watch`]: [`crate::FibEvent::RouteAdded`] inserts,
    /// [`crate::FibEvent::RouteRemoved`] removes; other events change nothing here. Returns
    /// whether the snapshot changed.
    ///
    /// The kernel does not announce every removal: IPv4 routes through an interface that goes
    /// down, or over a gateway whose connected network disappears, vanish silently. After
    /// [`crate::FibEvent::LinkDown`], [`crate::FibEvent::AddressRemoved`] or
    /// [`crate::FibEvent::Overrun`], read the table again.
    pub fn apply(&mut self, event: &crate::FibEvent) -> bool {
        match event {
            crate::FibEvent::RouteAdded(route) => {
                self.insert(route.clone());
                true
            }
            crate::FibEvent::RouteRemoved(route) => self.remove(route),
            _ => false,
        }
    }

    /// The route the kernel would use for `addr` in this table: the longest prefix covering
    /// it, and of that prefix's routes the one with the lowest metric.
    ///
    /// Routes of protocol `ignore_protocol` are passed over as if absent: resolving BGP next
    /// hops with `Some(PROTO_TERN)` keeps BGP routes from resolving over BGP routes. A
    /// covering discard route (blackhole, unreachable, prohibit) or throw route makes `addr`
    /// unreachable here (`None`), as it would for the kernel's lookup. Cost: see the module
    /// documentation.
    pub fn resolve(&self, addr: IpAddr, ignore_protocol: Option<u8>) -> Option<Resolved> {
        let route = match addr {
            IpAddr::V4(a) => self.v4.lookup(u32::from(a), ignore_protocol),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                // An IPv4-mapped next hop (an IPv6 family carried over IPv4) is an IPv4 address.
                Some(v4) => self.v4.lookup(u32::from(v4), ignore_protocol),
                None => self.v6.lookup(u128::from(a), ignore_protocol),
            },
        }?;
        route.kind.reaches().then_some(Resolved {
            prefix: route.prefix,
            gateway: route.gateway,
            ifindex: route.ifindex,
            metric: route.metric,
            protocol: route.protocol,
            kind: route.kind,
        })
    }
}

/// An address family's key: the address as an integer.
trait Key: Copy + Eq + std::hash::Hash + Default {
    const WIDTH: u8;
    /// The key with every bit after the first `len` cleared.
    fn masked(self, len: u8) -> Self;
}

impl Key for u32 {
    const WIDTH: u8 = 32;
    fn masked(self, len: u8) -> u32 {
        self & u32::MAX
            .checked_shl(u32::from(Self::WIDTH - len.min(Self::WIDTH)))
            .unwrap_or(0)
    }
}

impl Key for u128 {
    const WIDTH: u8 = 128;
    fn masked(self, len: u8) -> u128 {
        self & u128::MAX
            .checked_shl(u32::from(Self::WIDTH - len.min(Self::WIDTH)))
            .unwrap_or(0)
    }
}

/// One family's routes: a map per occurring prefix length, longest first.
#[derive(Clone, Debug, Default)]
struct Lpm<K> {
    levels: Vec<Level<K>>,
    len: usize,
}

#[derive(Clone, Debug)]
struct Level<K> {
    len: u8,
    /// Network address → routes of that prefix, lowest metric first.
    routes: HashMap<K, Vec<KernelRoute>>,
}

impl<K: Key> Lpm<K> {
    fn level(&self, len: u8) -> Result<usize, usize> {
        // Sorted by length descending.
        self.levels.binary_search_by(|level| len.cmp(&level.len))
    }

    fn get(&self, key: K, len: u8) -> &[KernelRoute] {
        match self.level(len) {
            Ok(i) => self
                .levels
                .get(i)
                .and_then(|l| l.routes.get(&key.masked(len))),
            Err(_) => None,
        }
        .map_or(&[], Vec::as_slice)
    }

    fn insert(&mut self, key: K, len: u8, route: KernelRoute) {
        let i = match self.level(len) {
            Ok(i) => i,
            Err(i) => {
                self.levels.insert(
                    i,
                    Level {
                        len,
                        routes: HashMap::new(),
                    },
                );
                i
            }
        };
        let Some(level) = self.levels.get_mut(i) else {
            return;
        };
        let routes = level.routes.entry(key.masked(len)).or_default();
        if let Some(same) = routes.iter_mut().find(|r| r.metric == route.metric) {
            *same = route;
            return;
        }
        let at = routes.partition_point(|r| r.metric <= route.metric);
        routes.insert(at, route);
        self.len += 1;
    }

    fn remove(&mut self, key: K, len: u8, route: &KernelRoute) -> bool {
        let Ok(i) = self.level(len) else { return false };
        let Some(level) = self.levels.get_mut(i) else {
            return false;
        };
        let key = key.masked(len);
        let Some(routes) = level.routes.get_mut(&key) else {
            return false;
        };
        let score = |r: &KernelRoute| {
            u8::from(route.gateway.is_none() || r.gateway == route.gateway)
                + u8::from(route.ifindex.is_none() || r.ifindex == route.ifindex)
                + u8::from(r.protocol == route.protocol)
                + u8::from(r.kind == route.kind)
        };
        let best = routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.metric == route.metric)
            .max_by_key(|(_, r)| score(r))
            .map(|(at, _)| at);
        let Some(at) = best else { return false };
        routes.remove(at);
        self.len -= 1;
        if routes.is_empty() {
            level.routes.remove(&key);
            if level.routes.is_empty() {
                self.levels.remove(i);
            }
        }
        true
    }

    fn lookup(&self, addr: K, ignore_protocol: Option<u8>) -> Option<&KernelRoute> {
        for level in &self.levels {
            let Some(routes) = level.routes.get(&addr.masked(level.len)) else {
                continue;
            };
            if let Some(route) = routes.iter().find(|r| Some(r.protocol) != ignore_protocol) {
                return Some(route);
            }
        }
        None
    }

    fn iter(&self) -> impl Iterator<Item = &KernelRoute> {
        self.levels
            .iter()
            .flat_map(|level| level.routes.values().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::Ipv4Net;
    use std::net::Ipv4Addr;

    fn route(prefix: &str, gateway: Option<&str>, protocol: u8, metric: u32) -> KernelRoute {
        KernelRoute {
            prefix: prefix.parse().unwrap(),
            gateway: gateway.map(|g| g.parse().unwrap()),
            ifindex: Some(2),
            protocol,
            metric,
            kind: RouteKind::Unicast,
        }
    }

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> KernelRoutes {
        KernelRoutes::from_routes(
            254,
            [
                route("0.0.0.0/0", Some("192.0.2.1"), 3, 0),
                route("192.0.2.0/24", None, 2, 0),
                route("10.0.0.0/8", Some("192.0.2.2"), 4, 0),
                route("10.1.0.0/16", Some("192.0.2.3"), 4, 20),
                route("10.1.0.0/16", Some("192.0.2.4"), 4, 10),
                route("10.1.2.0/24", Some("192.0.2.5"), 186, 0),
                route("2001:db8::/32", Some("fe80::1"), 4, 1024),
                route("2001:db8:1::/48", None, 2, 256),
            ],
        )
    }

    #[test]
    fn longest_prefix_wins() {
        let t = table();
        assert_eq!(t.len(), 8);
        let r = t.resolve(addr("10.2.3.4"), None).unwrap();
        assert_eq!(r.prefix, "10.0.0.0/8".parse().unwrap());
        assert_eq!(r.gateway, Some(addr("192.0.2.2")));
        let r = t.resolve(addr("192.0.2.77"), None).unwrap();
        assert_eq!(
            (r.prefix, r.gateway, r.protocol),
            ("192.0.2.0/24".parse().unwrap(), None, 2)
        );
        assert_eq!(r.forwarding_address(addr("192.0.2.77")), addr("192.0.2.77"));
        let r = t.resolve(addr("198.51.100.1"), None).unwrap();
        assert_eq!(r.prefix.prefix_len(), 0);
        assert_eq!(
            r.forwarding_address(addr("198.51.100.1")),
            addr("192.0.2.1")
        );
    }

    #[test]
    fn lowest_metric_of_the_prefix() {
        let r = table().resolve(addr("10.1.9.9"), None).unwrap();
        assert_eq!((r.metric, r.gateway), (10, Some(addr("192.0.2.4"))));
    }

    #[test]
    fn ignored_protocol_is_passed_over() {
        let t = table();
        assert_eq!(t.resolve(addr("10.1.2.3"), None).unwrap().protocol, 186);
        let r = t.resolve(addr("10.1.2.3"), Some(186)).unwrap();
        assert_eq!(r.prefix, "10.1.0.0/16".parse().unwrap());
        // Only BGP routes (and nothing else) cover it: unreachable when ignoring them.
        let only = KernelRoutes::from_routes(254, [route("10.1.2.0/24", None, 186, 0)]);
        assert_eq!(only.resolve(addr("10.1.2.3"), Some(186)), None);
    }

    #[test]
    fn discard_routes_make_unreachable() {
        let mut t = table();
        t.insert(KernelRoute {
            kind: RouteKind::Blackhole,
            ..route("10.9.0.0/16", None, 4, 0)
        });
        assert_eq!(t.resolve(addr("10.9.1.1"), None), None);
        t.insert(KernelRoute {
            kind: RouteKind::Unreachable,
            ..route("10.8.0.0/16", None, 4, 0)
        });
        assert_eq!(t.resolve(addr("10.8.1.1"), None), None);
        assert!(t.resolve(addr("10.7.1.1"), None).is_some());
    }

    #[test]
    fn ipv6_and_mapped() {
        let t = table();
        let r = t.resolve(addr("2001:db8:1::9"), None).unwrap();
        assert_eq!((r.prefix.prefix_len(), r.metric), (48, 256));
        let r = t.resolve(addr("2001:db8:2::9"), None).unwrap();
        assert_eq!(r.gateway, Some(addr("fe80::1")));
        assert_eq!(t.resolve(addr("2001:db9::1"), None), None);
        let r = t.resolve(addr("::ffff:10.1.9.9"), None).unwrap();
        assert_eq!(r.prefix, "10.1.0.0/16".parse().unwrap());
    }

    #[test]
    fn host_routes_and_default_only() {
        let t = KernelRoutes::from_routes(
            1000,
            [
                route("203.0.113.7/32", None, 4, 0),
                route("::/0", Some("fe80::2"), 4, 1024),
            ],
        );
        assert_eq!(t.table(), 1000);
        assert!(t.resolve(addr("203.0.113.7"), None).is_some());
        assert_eq!(t.resolve(addr("203.0.113.8"), None), None);
        assert_eq!(
            t.resolve(addr("2001:db8::1"), None)
                .unwrap()
                .prefix
                .prefix_len(),
            0
        );
    }

    #[test]
    fn insert_replaces_same_metric_and_remove_cleans_up() {
        let mut t = table();
        t.insert(route("10.0.0.0/8", Some("192.0.2.9"), 4, 0));
        assert_eq!(t.len(), 8);
        assert_eq!(
            t.get("10.0.0.0/8".parse().unwrap())[0].gateway,
            Some(addr("192.0.2.9"))
        );
        // Host bits are ignored.
        assert_eq!(t.get("10.1.2.3/16".parse().unwrap()).len(), 2);
        assert!(t.remove(&route("10.1.0.0/16", Some("192.0.2.4"), 4, 10)));
        assert_eq!(t.resolve(addr("10.1.9.9"), None).unwrap().metric, 20);
        assert!(!t.remove(&route("10.1.0.0/16", Some("192.0.2.4"), 4, 10)));
        assert!(t.remove(&route("10.1.0.0/16", None, 4, 20)));
        assert!(t.get("10.1.0.0/16".parse().unwrap()).is_empty());
        assert_eq!(
            t.resolve(addr("10.1.9.9"), None)
                .unwrap()
                .prefix
                .prefix_len(),
            8
        );
        assert_eq!(t.len(), 6);
        assert_eq!(t.iter().count(), 6);
        // The /16 level is gone entirely.
        assert!(t.v4.levels.iter().all(|l| l.len != 16));
    }

    #[test]
    fn iter_is_longest_first_per_family() {
        let lens: Vec<(bool, u8)> = table()
            .iter()
            .map(|r| (r.prefix.addr().is_ipv6(), r.prefix.prefix_len()))
            .collect();
        let mut sorted = lens.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        assert_eq!(lens, sorted);
    }

    #[test]
    fn masks() {
        assert_eq!(0xffff_ffffu32.masked(0), 0);
        assert_eq!(0xffff_ffffu32.masked(8), 0xff00_0000);
        assert_eq!(0xffff_ffffu32.masked(32), 0xffff_ffff);
        assert_eq!(u128::MAX.masked(128), u128::MAX);
        assert_eq!(u128::MAX.masked(1), 1u128 << 127);
        assert_eq!(u128::MAX.masked(0), 0);
    }

    #[test]
    fn random_tables_match_a_linear_scan() {
        // A small deterministic generator; the linear scan is the specification.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut routes = Vec::new();
        for _ in 0..400 {
            let len = (next() % 33) as u8;
            let a = Ipv4Addr::from((next() as u32) & 0xff0f_0f0f);
            let protocol = if next() % 4 == 0 { 186 } else { 4 };
            let metric = (next() % 3) as u32;
            let prefix = IpNet::V4(Ipv4Net::new(a, len).unwrap().trunc());
            routes.push(KernelRoute {
                prefix,
                gateway: None,
                ifindex: Some(1),
                protocol,
                metric,
                kind: RouteKind::Unicast,
            });
        }
        // Same prefix and metric: the last one stays, as in the snapshot.
        let mut expected: Vec<KernelRoute> = Vec::new();
        for r in &routes {
            expected.retain(|e| !(e.prefix == r.prefix && e.metric == r.metric));
            expected.push(r.clone());
        }
        let t = KernelRoutes::from_routes(254, routes);
        assert_eq!(t.len(), expected.len());
        for _ in 0..2000 {
            let a = IpAddr::V4(Ipv4Addr::from((next() as u32) & 0xff0f_0f0f));
            for ignore in [None, Some(186)] {
                let want = expected
                    .iter()
                    .filter(|r| r.prefix.contains(&a) && Some(r.protocol) != ignore)
                    .min_by_key(|r| (std::cmp::Reverse(r.prefix.prefix_len()), r.metric))
                    .map(|r| (r.prefix, r.metric, r.protocol));
                let got = t
                    .resolve(a, ignore)
                    .map(|r| (r.prefix, r.metric, r.protocol));
                assert_eq!(got, want, "{a} ignoring {ignore:?}");
            }
        }
    }
}
