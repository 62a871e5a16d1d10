//! The routing-table displays in VRP's layout (`display bgp [labeled|ipv6|vpnv4 all|vpnv6
//! all] routing-table`, `… routing-table label`, a VPN instance's and one RD's tables), as
//! text from the rows the engine's walks produce ([`RouteTable`]). AS numbers (AS paths, the
//! local AS), RDs and route targets are written in the display notation ([`Notation`]).

use std::fmt::Write as _;
use std::net::IpAddr;

use tern_types::Notation;

use crate::rows::{RouteRow, RouteTable};

/// Which routing-table layout to print.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TableKind {
    /// `display bgp routing-table` (IPv4 unicast).
    Unicast,
    /// `display bgp labeled routing-table`.
    Labeled,
    /// `display bgp vpnv4 all routing-table`: grouped by route distinguisher.
    Vpnv4,
    /// `display bgp vpnv6 all routing-table`: grouped by route distinguisher, a record of
    /// several lines per path.
    Vpnv6,
    /// `display bgp vpnv4 vpn-instance V routing-table`: the instance's IPv4 routes.
    Instance4,
    /// `display bgp vpnv6 vpn-instance V routing-table`: the instance's IPv6 routes, as
    /// records.
    Instance6,
    /// `display bgp routing-table label`: labeled routes with in- and out-labels.
    Label,
    /// `display bgp vpnv4|vpnv6 all routing-table label`: the same, grouped by RD.
    VpnLabel,
    /// `display bgp ipv6 routing-table label`: the labeled IPv6 routes (6PE, RFC 4798) with
    /// their prefix length, next hop and label.
    Label6,
    /// `display bgp [labeled|ipv6] routing-table community …`: one line per path, the
    /// communities last.
    Community,
    /// `display bgp vpnv4|vpnv6 all routing-table community …`: the same, grouped by RD.
    VpnCommunity,
}

/// The rows of a `routing-table label` display.
fn label_rows(o: &mut String, routes: &[RouteRow]) {
    for r in routes {
        let out = r
            .labels
            .first()
            .map_or_else(|| "NULL".to_string(), u32::to_string);
        let inl = r
            .in_label
            .map_or_else(|| "NULL".to_string(), |l| l.to_string());
        let _ = writeln!(
            o,
            " {}{}{}{inl}/{out}",
            col(&status(r), 7),
            col(&vrp_addr(r.network), 18),
            col(&next_hop(r), 18),
        );
    }
}

/// A row of `display bgp ipv6 routing-table label` (the vendor's sample: `  2001:DB8:1::4
/// 128     ::FFFF:10.0.0.2      1024`): the received label, NULL for none.
fn label6_row(o: &mut String, r: &RouteRow) {
    let label = r
        .labels
        .first()
        .map_or_else(|| "NULL".to_string(), u32::to_string);
    let _ = writeln!(
        o,
        "  {}{}{}{label}",
        col(&vrp_addr(r.network), 21),
        col(&r.prefix_len.to_string(), 8),
        col(&next_hop(r), 21),
    );
}

const LABEL6_COLUMNS: &str = "  Network              Prefix     NextHop           Label\n";

const LABEL_COLUMNS: &str = "        Network           NextHop           In/Out Label\n";

const STATUS_CODES: &str =
    " Status codes: * - valid, > - best, d - damped, x - best external, a - add path,
               h - history,  i - internal, s - suppressed, S - Stale
               Origin : i - IGP, e - EGP, ? - incomplete
";
const RPKI_CODES: &str = " RPKI validation codes: V - valid, I - invalid, N - not-found\n";
const COLUMNS: &str =
    "      Network            NextHop        MED        LocPrf    PrefVal Path/Ogn\n";
const COMMUNITY_COLUMNS: &str =
    "      Network            NextHop        MED        LocPrf    PrefVal Community\n";

/// A path's communities as VRP lists them: `<100:1>, no-export`.
fn community_list(r: &RouteRow) -> String {
    r.detail.as_deref().map_or_else(String::new, |d| {
        d.communities
            .iter()
            .map(|c| {
                if c.contains(':') {
                    format!("<{c}>")
                } else {
                    c.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// An address as VRP prints it: IPv6 in upper case (`::FFFF:10.2.2.2`, `2001:DB8::`).
fn vrp_addr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6.to_string().to_uppercase(),
    }
}

/// `*>i`: valid, best, internal; `S` after them when stale.
fn status(r: &RouteRow) -> String {
    let mut s = String::with_capacity(4);
    s.push(if r.valid { '*' } else { ' ' });
    s.push(if r.best { '>' } else { ' ' });
    s.push(if r.internal { 'i' } else { ' ' });
    if r.stale {
        s.push('S');
    }
    s
}

/// `100 200?`: the AS path, then the origin code.
fn path_ogn(r: &RouteRow, n: Notation) -> String {
    format!("{}{}", n.as_path(&r.as_path), r.origin)
}

/// Pads `s` to `w` columns, always leaving at least one space after it.
/// `s` left-aligned in a column of `w` characters (at least one space after it).
pub fn col(s: &str, w: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(w.saturating_sub(n).max(1)))
}

fn opt(v: Option<u32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn next_hop(r: &RouteRow) -> String {
    r.next_hop.map(vrp_addr).unwrap_or_default()
}

/// The destination the last row printed belongs to (its RD and prefix): a further path of
/// the same destination does not repeat the network.
type Last = Option<(Option<String>, String)>;

/// Whether `r` is a further path of the destination printed last (and notes it as last).
fn same_destination(last: &mut Last, r: &RouteRow) -> bool {
    let same = last
        .as_ref()
        .is_some_and(|(rd, p)| *rd == r.rd && *p == r.prefix);
    if !same {
        *last = Some((r.rd.clone(), r.prefix.clone()));
    }
    same
}

/// A one-line row of the IPv4 tables; the network is printed once per destination.
fn row_line(o: &mut String, last: &mut Last, r: &RouteRow, n: Notation, community: bool) {
    let net = if same_destination(last, r) {
        ""
    } else {
        r.prefix.as_str()
    };
    let _ = writeln!(
        o,
        " {}{}{}{}{}{}{}",
        col(&status(r), 5),
        col(net, 19),
        col(&next_hop(r), 16),
        col(&opt(r.med), 11),
        col(&opt(r.local_pref), 10),
        col(&r.pref_val.to_string(), 7),
        if community {
            community_list(r)
        } else {
            path_ogn(r, n)
        }
    );
}

/// A multi-line record of the IPv6 tables; a further path of the same destination shows
/// only its status before its attributes.
fn record(o: &mut String, last: &mut Last, r: &RouteRow, n: Notation) {
    let st = status(r);
    if same_destination(last, r) {
        let _ = writeln!(o, " {}", st.trim_end());
    } else {
        let _ = writeln!(
            o,
            " {}Network  : {}PrefixLen : {}",
            col(&st, 4),
            col(&vrp_addr(r.network), 41),
            r.prefix_len
        );
    }
    let line = format!(
        "     NextHop  : {}LocPrf    : {}",
        col(&next_hop(r), 41),
        opt(r.local_pref)
    );
    let _ = writeln!(o, "{}", line.trim_end());
    let _ = writeln!(
        o,
        "     MED      : {}PrefVal   : {}",
        col(&opt(r.med), 41),
        r.pref_val
    );
    let labels: Vec<String> = r.labels.iter().map(u32::to_string).collect();
    let _ = writeln!(
        o,
        "{}",
        format!("     Label    : {}", labels.join(" ")).trim_end()
    );
    let _ = writeln!(o, "     Path/Ogn : {}", path_ogn(r, n));
}

/// A routing-table display printed as its rows come: the header once ([`TablePrinter::
/// header`], with the counts known before the rows), then the rows in order, in as many
/// pieces as they arrive ([`TablePrinter::rows`]); the VPN tables' route-distinguisher
/// headings and the network printed once per destination carry over between pieces.
#[derive(Debug)]
pub struct TablePrinter {
    kind: TableKind,
    notation: Notation,
    last: Last,
    /// The RD of the group printed last (VPN tables), and how many groups there were.
    group: Option<Option<String>>,
}

impl TablePrinter {
    /// A printer of a `kind` table, AS numbers in notation `notation`.
    pub fn new(kind: TableKind, notation: Notation) -> TablePrinter {
        TablePrinter {
            kind,
            notation,
            last: None,
            group: None,
        }
    }

    /// The header, for a table of `routes` rows (paths); `t`'s own rows are not printed.
    pub fn header(&self, t: &RouteTable, routes: usize) -> String {
        let kind = self.kind;
        let mut o = String::new();
        if kind == TableKind::Label6 {
            // The vendor's sample: the count and the columns only.
            let _ = writeln!(o, "Total Number of Routes: {routes}\n");
            o.push_str(LABEL6_COLUMNS);
            return o;
        }
        if kind == TableKind::Instance6 {
            let _ = writeln!(o, "Total Number of Routes: {routes}\n");
        }
        let _ = writeln!(o, " BGP Local router ID is {}", t.router_id);
        o.push_str(STATUS_CODES);
        if kind != TableKind::Labeled {
            o.push_str(RPKI_CODES);
            o.push('\n');
        }
        match kind {
            TableKind::Label => {
                let _ = writeln!(o, "\n Total Number of Routes: {routes}");
                o.push_str(LABEL_COLUMNS);
                o.push('\n');
            }
            TableKind::VpnLabel => {
                let _ = writeln!(o, "\n Total number of routes from all PE: {routes}");
            }
            TableKind::Community => {
                let _ = writeln!(o, " Total Number of Routes: {routes}");
                o.push_str(COMMUNITY_COLUMNS);
                o.push('\n');
            }
            TableKind::VpnCommunity => {
                let _ = writeln!(o, " Total number of routes from all PE: {routes}");
            }
            TableKind::Unicast | TableKind::Labeled => {
                let _ = writeln!(o, " Total Number of Routes: {routes}");
                o.push_str(COLUMNS);
                if kind == TableKind::Unicast {
                    o.push('\n');
                }
            }
            TableKind::Instance4 => {
                let _ = writeln!(
                    o,
                    " VPN-Instance {}, Router ID {}:\n",
                    t.vrf.as_deref().unwrap_or(""),
                    t.router_id
                );
                let _ = writeln!(o, " Total Number of Routes: {routes}");
                o.push_str(COLUMNS);
                o.push('\n');
            }
            TableKind::Instance6 | TableKind::Label6 => {}
            TableKind::Vpnv4 | TableKind::Vpnv6 => {
                let _ = writeln!(o, " Total number of routes from all PE: {routes}");
            }
        }
        o
    }

    /// The next rows, in the table's order.
    pub fn rows(&mut self, rows: &[RouteRow]) -> String {
        let mut o = String::new();
        for r in rows {
            self.row(&mut o, r);
        }
        o
    }

    fn row(&mut self, o: &mut String, r: &RouteRow) {
        let kind = self.kind;
        let grouped = matches!(
            kind,
            TableKind::VpnLabel | TableKind::Vpnv4 | TableKind::Vpnv6 | TableKind::VpnCommunity
        );
        if grouped && self.group.as_ref() != Some(&r.rd) {
            if self.group.is_some() {
                o.push('\n');
            }
            self.group = Some(r.rd.clone());
            let _ = writeln!(o, " Route Distinguisher: {}", r.rd.as_deref().unwrap_or(""));
            match kind {
                TableKind::VpnLabel => {
                    o.push_str(LABEL_COLUMNS);
                    o.push('\n');
                }
                TableKind::Vpnv4 => {
                    o.push('\n');
                    o.push_str(COLUMNS);
                    o.push('\n');
                }
                TableKind::VpnCommunity => {
                    o.push('\n');
                    o.push_str(COMMUNITY_COLUMNS);
                    o.push('\n');
                }
                _ => o.push_str("\n\n"),
            }
        }
        match kind {
            TableKind::Label | TableKind::VpnLabel => label_rows(o, std::slice::from_ref(r)),
            TableKind::Label6 => label6_row(o, r),
            TableKind::Instance6 | TableKind::Vpnv6 => record(o, &mut self.last, r, self.notation),
            TableKind::Community | TableKind::VpnCommunity => {
                row_line(o, &mut self.last, r, self.notation, true);
            }
            _ => row_line(o, &mut self.last, r, self.notation, false),
        }
    }
}

/// `display bgp routing-table`, `display bgp labeled routing-table`, `display bgp vpnv4 all
/// routing-table`, `display bgp vpnv6 all routing-table` (samples: the vendor's command
/// reference). VPN tables are grouped by route distinguisher; the VPN-instance sections
/// follow with VPN instances.
pub fn routing_table(t: &RouteTable, kind: TableKind, n: Notation) -> String {
    let mut p = TablePrinter::new(kind, n);
    let mut o = p.header(t, t.routes.len());
    o.push_str(&p.rows(&t.routes));
    o
}

/// `display bgp [labeled|ipv6|vpnv4 …|vpnv6 …] routing-table ADDRESS`: the most specific
/// destination holding the address (one per route distinguisher), each path in VRP's detailed
/// layout: where it came from, its labels, communities, extended communities, originator and
/// cluster list, and why it is or is not selected.
pub fn route_detail(t: &RouteTable, kind: TableKind, n: Notation) -> String {
    let mut o = String::new();
    let _ = writeln!(o, " BGP local router ID : {}", t.router_id);
    let _ = writeln!(o, " Local AS number : {}", n.asn(t.local_as));
    if t.routes.is_empty() {
        let _ = writeln!(o, " Info: The network does not exist.");
        return o;
    }
    let vpn = matches!(
        kind,
        TableKind::Vpnv4 | TableKind::Vpnv6 | TableKind::VpnLabel
    );
    let mut i = 0;
    while let Some(first) = t.routes.get(i) {
        let group: Vec<&RouteRow> = t.routes[i..]
            .iter()
            .take_while(|r| r.rd == first.rd && r.prefix == first.prefix)
            .collect();
        i += group.len();
        if vpn && let Some(rd) = &first.rd {
            let _ = writeln!(o, "\n Route Distinguisher: {}\n", n.rd_text(rd));
        }
        let best = group.iter().filter(|r| r.best).count();
        // Paths besides the best one that are sent to ADD-PATH peers.
        let add_path = group
            .iter()
            .filter(|r| {
                !r.best
                    && r.detail
                        .as_ref()
                        .and_then(|d| d.advertised_to.as_ref())
                        .is_some_and(|to| !to.is_empty())
            })
            .count();
        let select = group
            .iter()
            .filter(|r| r.best || r.detail.as_ref().is_some_and(|d| d.select))
            .count();
        let _ = writeln!(
            o,
            " Paths:   {} available, {best} best, {select} select, 0 best-external, {add_path} add-path",
            group.len()
        );
        let _ = writeln!(
            o,
            " BGP routing table entry information of {}:",
            first.prefix
        );
        for r in group {
            path_detail(&mut o, r, n);
        }
    }
    o
}

/// One path of the detailed view.
fn path_detail(o: &mut String, r: &RouteRow, n: Notation) {
    let local = r.from == IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
    let d = r.detail.as_deref();
    if !r.labels.is_empty() || r.in_label.is_some() {
        let received = r
            .labels
            .first()
            .map_or_else(|| "NULL".to_owned(), u32::to_string);
        let applied = r
            .in_label
            .map_or_else(|| "NULL".to_owned(), |l| l.to_string());
        let _ = writeln!(
            o,
            " Label information (Received/Applied): {received}/{applied}"
        );
    }
    if local {
        let _ = writeln!(o, " Local route (originated by this router)");
    } else {
        let rid = d
            .and_then(|d| d.peer_router_id)
            .map_or_else(|| r.from.to_string(), |id| id.to_string());
        let _ = writeln!(o, " From: {} ({rid})", vrp_addr(r.from));
        if let Some((relay, dev)) = d.and_then(|d| d.relay.as_ref()) {
            let _ = writeln!(o, " Relay IP Nexthop: {}", vrp_addr(*relay));
            if let Some(dev) = dev {
                let _ = writeln!(o, " Relay IP Out-Interface: {dev}");
            }
        }
    }
    if let Some(nh) = r.next_hop {
        let _ = writeln!(o, " Original nexthop: {}", vrp_addr(nh));
    }
    if let Some(d) = d {
        if !d.communities.is_empty() {
            let list: Vec<String> = d
                .communities
                .iter()
                .map(|c| {
                    if c.contains(':') {
                        format!("<{c}>")
                    } else {
                        c.clone()
                    }
                })
                .collect();
            let _ = writeln!(o, " Community: {}", list.join(", "));
        }
        if !d.ext_communities.is_empty() {
            let list: Vec<String> = d
                .ext_communities
                .iter()
                .map(|e| n.ext_community_text(e))
                .map(|e| match e.split_once(':') {
                    Some((kind, v)) if kind == "RT" || kind == "SoO" => {
                        let v = v.replacen(':', " : ", 1);
                        format!("{kind} <{v}>")
                    }
                    _ => e,
                })
                .collect();
            let _ = writeln!(o, " Ext-Community: {}", list.join(", "));
        }
        if !d.large_communities.is_empty() {
            let list: Vec<String> = d
                .large_communities
                .iter()
                .map(|l| format!("<{l}>"))
                .collect();
            let _ = writeln!(o, " Large-Community: {}", list.join(", "));
        }
    }
    let origin = match r.origin.as_str() {
        "i" => "igp",
        "e" => "egp",
        _ => "incomplete",
    };
    let mut line = format!(
        " AS-path {}, origin {origin}",
        if r.as_path.is_empty() {
            "Nil".to_owned()
        } else {
            n.as_path(&r.as_path)
        }
    );
    if let Some(m) = r.med {
        line += &format!(", MED {m}");
    }
    if let Some(lp) = r.local_pref {
        line += &format!(", localpref {lp}");
    }
    line += &format!(", pref-val {}", r.pref_val);
    line += if r.valid { ", valid" } else { ", invalid" };
    line += if local {
        ", local"
    } else if r.internal {
        ", internal"
    } else {
        ", external"
    };
    if r.best {
        line += ", best, select";
    } else if d.is_some_and(|d| d.select) {
        // Load-balanced with the best path: installed with it, not advertised.
        line += ", select";
    }
    if r.stale {
        line += ", stale";
    }
    if let Some(cost) = d.and_then(|d| d.igp_cost).filter(|c| *c > 0) {
        line += &format!(", IGP cost {cost}");
    }
    let _ = writeln!(o, "{line}");
    if let Some(id) = r.originator_id {
        let _ = writeln!(o, " Originator: {id}");
    }
    if !r.cluster_list.is_empty() {
        let list: Vec<String> = r.cluster_list.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(o, " Cluster list: {}", list.join(", "));
    }
    if !r.best {
        let why = if !r.valid {
            "invalid (refused by the import policy, or next hop unreachable)"
        } else {
            "a better path is selected"
        };
        let _ = writeln!(o, " Not preferred for route selection: {why}");
    }
    match d.and_then(|d| d.advertised_to.as_ref()) {
        Some(to) if !to.is_empty() => {
            let _ = writeln!(o, " Advertised to such {} peers:", to.len());
            for p in to {
                let _ = writeln!(o, "    {p}");
            }
        }
        Some(_) => {
            let _ = writeln!(o, " Not advertised to any peer yet");
        }
        None => {}
    }
}
