//! What the displays get from the engine: a family's table (or a peer's routes) as rows, one
//! per path, in the order VRP prints them once sorted (RD, prefix; the best path first).

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;
use tern_rib::RouteKey;

/// The attributes only a destination's detailed view shows.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RowDetail {
    /// Communities (RFC 1997), as VRP prints them: `100:7`, `no-export`.
    pub communities: Vec<String>,
    /// Extended communities: `RT:100:1`, `SoO:1.1.1.1:1`, or hex.
    pub ext_communities: Vec<String>,
    /// Large communities (RFC 8092): `1:2:3`.
    pub large_communities: Vec<String>,
    /// The router ID of the peer the path came from.
    pub peer_router_id: Option<Ipv4Addr>,
    /// The IGP cost of the next hop (`None`: unreachable).
    pub igp_cost: Option<u32>,
    /// The forwarding address the next hop resolves to and its interface, when the daemon
    /// knows them (`Relay IP Nexthop`, `Relay IP Out-Interface`).
    pub relay: Option<(IpAddr, Option<String>)>,
    /// The peers the path is sent to (a lookup's rows; `None`: not asked): the best path's
    /// peers, and with ADD-PATH the peers sent this path besides.
    pub advertised_to: Option<Vec<IpAddr>>,
    /// The path's source (peer, received path ID), to tell which paths are sent.
    #[serde(skip)]
    pub source: Option<(tern_rib::PeerId, u32)>,
    /// Installed in the forwarding table with the best path (load balancing, VRP `maximum
    /// load-balancing`): VRP's `select` (a lookup's rows; the best path always is).
    pub select: bool,
}

/// A community as VRP prints it.
pub fn community_text(c: u32) -> String {
    match c {
        0xFFFF_FF01 => "no-export".into(),
        0xFFFF_FF02 => "no-advertise".into(),
        0xFFFF_FF03 => "no-export-subconfed".into(),
        c => format!("{}:{}", c >> 16, c & 0xFFFF),
    }
}

/// Which paths a streamed display lists, besides its table's own rule: `display bgp
/// routing-table community [C …] [whole-match]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathFilter {
    /// Paths carrying communities: every one of `list` (any community when it is empty);
    /// with `whole`, exactly `list`.
    Community {
        /// The communities asked for.
        list: Vec<u32>,
        /// `whole-match`.
        whole: bool,
    },
}

impl PathFilter {
    /// Whether a path whose communities are `have` passes.
    pub fn communities(&self, have: &[u32]) -> bool {
        match self {
            PathFilter::Community { list, whole } => {
                if *whole {
                    let mut a: Vec<u32> = have.to_vec();
                    let mut b = list.clone();
                    a.sort_unstable();
                    a.dedup();
                    b.sort_unstable();
                    b.dedup();
                    a == b
                } else if list.is_empty() {
                    !have.is_empty()
                } else {
                    list.iter().all(|c| have.contains(c))
                }
            }
        }
    }
}

/// Which routes of a peer a display asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRoutes {
    /// Every route received (Adj-RIB-In, attributes as received).
    Received,
    /// Received routes import policy accepted (attributes after policy).
    Accepted,
    /// What the peer is sent (attributes as sent).
    Advertised,
}

/// One path of a routing-table display.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RouteRow {
    /// Route distinguisher (VPN families).
    pub rd: Option<String>,
    /// The prefix (`10.1.0.0/16`).
    pub prefix: String,
    /// The prefix's address.
    pub network: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// Next hop as received (VPNv6 over IPv4: `::ffff:a.b.c.d`); `None` when none could be
    /// decoded.
    pub next_hop: Option<IpAddr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// VRP preferred value.
    pub pref_val: u32,
    /// AS path as routers print it (`100 200 {300}`).
    pub as_path: String,
    /// Origin code: `i`, `e` or `?`.
    pub origin: String,
    /// Labels as received (outermost first); for routes this router originates, the label it
    /// allocated.
    pub labels: Vec<u32>,
    /// The label this router advertises the route with when it is not the received one (a
    /// route re-advertised with next hop self, a VPN route of a local instance, `apply
    /// mpls-label`): the in-label of `routing-table label`.
    pub in_label: Option<u32>,
    /// Eligible (accepted and next hop reachable).
    pub valid: bool,
    /// Selected.
    pub best: bool,
    /// Kept from a restarting or refreshing peer, not announced again yet.
    pub stale: bool,
    /// What the detailed view of one destination adds (`display bgp routing-table PREFIX`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<RowDetail>>,
    /// Learned over IBGP.
    pub internal: bool,
    /// The peer it came from (`0.0.0.0` for local routes).
    pub from: IpAddr,
    /// ORIGINATOR_ID (RFC 4456: set by the route reflector that reflected it first).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST, the last reflector's cluster first.
    pub cluster_list: Vec<Ipv4Addr>,
}

/// A snapshot of one family's table.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RouteTable {
    /// The router ID.
    pub router_id: Ipv4Addr,
    /// The local AS.
    pub local_as: u32,
    /// The VPN instance (`None`: the public tables).
    pub vrf: Option<String>,
    /// The family (`ipv4-unicast`, `vpnv4`, ...).
    pub family: String,
    /// Destinations.
    pub destinations: usize,
    /// Every path, sorted by RD and prefix, the best path of a destination first.
    pub routes: Vec<RouteRow>,
}

impl RouteTable {
    /// Sets `destinations` from the rows (sorted by RD and prefix), after rows were filtered.
    pub fn recount(&mut self) {
        let mut keys: Vec<(Option<&str>, &str)> = self
            .routes
            .iter()
            .map(|r| (r.rd.as_deref(), r.prefix.as_str()))
            .collect();
        keys.dedup();
        self.destinations = keys.len();
    }
}

/// A table display as the RIB task answers it: a header, and each destination's rows (best
/// path first) in the table's own order; [`Walked::into_table`] sorts them, off the RIB task.
#[derive(Debug)]
pub struct Walked {
    /// The header, and rows already in order (label tables).
    pub table: RouteTable,
    /// Rows per destination, unsorted ([`Input::Rows`](crate::Input::Rows): in the order
    /// the keys were asked in).
    pub dests: Vec<(RouteKey, Vec<RouteRow>)>,
    /// [`Input::Keys`](crate::Input::Keys): the destinations the display lists, unsorted.
    pub keys: Vec<RouteKey>,
    /// [`Input::Keys`](crate::Input::Keys): how many rows (paths) they have.
    pub paths: usize,
    /// [`Input::Stats`](crate::Input::Stats): the counts.
    pub stats: TableStats,
    /// [`Input::Groups`](crate::Input::Groups): the update groups.
    pub groups: Vec<crate::adjout::GroupInfo>,
}

/// A table's counts, as `display bgp … routing-table statistics` shows them.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TableStats {
    /// Paths in the table (accepted by the import policy).
    pub routes: usize,
    /// Destinations.
    pub destinations: usize,
    /// Best paths.
    pub best: usize,
    /// Best paths from peers (and local routes) of a unicast family: what goes to the
    /// routing table.
    pub active: usize,
    /// Paths whose prefix is not of its class's natural length (IPv4).
    pub cidr: usize,
    /// Paths carrying communities.
    pub community: usize,
    /// Destinations whose paths come from more than one origin AS.
    pub different_origin_as: usize,
}

impl TableStats {
    /// The sum of two shards' counts.
    pub fn add(&mut self, o: &TableStats) {
        self.routes += o.routes;
        self.destinations += o.destinations;
        self.best += o.best;
        self.active += o.active;
        self.cidr += o.cidr;
        self.community += o.community;
        self.different_origin_as += o.different_origin_as;
    }
}

impl Walked {
    /// A display built at once, rows in order.
    pub(crate) fn whole(table: RouteTable) -> Walked {
        Walked {
            table,
            dests: Vec::new(),
            keys: Vec::new(),
            paths: 0,
            stats: TableStats::default(),
            groups: Vec::new(),
        }
    }

    /// The display: destinations sorted by RD and prefix.
    pub fn into_table(self) -> RouteTable {
        let mut t = self.table;
        let mut dests = self.dests;
        dests.sort_unstable_by_key(|d| d.0);
        t.destinations = t.destinations.saturating_add(dests.len());
        t.routes
            .extend(dests.into_iter().flat_map(|(_, rows)| rows));
        t
    }
}
