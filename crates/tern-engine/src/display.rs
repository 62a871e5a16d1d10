//! The routing-table displays in VRP's layout (`display bgp [labeled|ipv6|vpnv4 all|vpnv6
//! all] routing-table`, `… routing-table label`, a VPN instance's and one RD's tables), as
//! text from the rows the engine's walks produce ([`RouteTable`]).

use std::fmt::Write as _;
use std::net::IpAddr;

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
}

/// The rows of a `routing-table label` display.
fn label_rows(o: &mut String, routes: &[&RouteRow]) {
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

const LABEL_COLUMNS: &str = "        Network           NextHop           In/Out Label\n";

const STATUS_CODES: &str =
    " Status codes: * - valid, > - best, d - damped, x - best external, a - add path,
               h - history,  i - internal, s - suppressed, S - Stale
               Origin : i - IGP, e - EGP, ? - incomplete
";
const RPKI_CODES: &str = " RPKI validation codes: V - valid, I - invalid, N - not-found\n";
const COLUMNS: &str =
    "      Network            NextHop        MED        LocPrf    PrefVal Path/Ogn\n";

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
fn path_ogn(r: &RouteRow) -> String {
    format!("{}{}", r.as_path, r.origin)
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

/// The one-line rows of the IPv4 tables; the network is printed once per destination.
fn rows(o: &mut String, routes: &[&RouteRow]) {
    let mut last: Option<(&Option<String>, &str)> = None;
    for r in routes {
        let key = (&r.rd, r.prefix.as_str());
        let net = if last == Some(key) { "" } else { &r.prefix };
        last = Some(key);
        let _ = writeln!(
            o,
            " {}{}{}{}{}{}{}",
            col(&status(r), 5),
            col(net, 19),
            col(&next_hop(r), 16),
            col(&opt(r.med), 11),
            col(&opt(r.local_pref), 10),
            col(&r.pref_val.to_string(), 7),
            path_ogn(r)
        );
    }
}

/// The multi-line records of the VPNv6 table; a further path of the same destination shows
/// only its status before its attributes.
fn records(o: &mut String, routes: &[&RouteRow]) {
    let mut last: Option<(&Option<String>, &str)> = None;
    for r in routes {
        let key = (&r.rd, r.prefix.as_str());
        let st = status(r);
        if last == Some(key) {
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
        last = Some(key);
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
        let _ = writeln!(o, "     Path/Ogn : {}", path_ogn(r));
    }
}

/// `display bgp routing-table`, `display bgp labeled routing-table`, `display bgp vpnv4 all
/// routing-table`, `display bgp vpnv6 all routing-table` (samples: the vendor's command
/// reference). VPN tables are grouped by route distinguisher; the VPN-instance sections
/// follow with VPN instances.
pub fn routing_table(t: &RouteTable, kind: TableKind) -> String {
    let mut o = String::new();
    if kind == TableKind::Instance6 {
        let _ = writeln!(o, "Total Number of Routes: {}\n", t.routes.len());
    }
    let _ = writeln!(o, " BGP Local router ID is {}", t.router_id);
    o.push_str(STATUS_CODES);
    if kind != TableKind::Labeled {
        o.push_str(RPKI_CODES);
        o.push('\n');
    }
    if kind == TableKind::Label {
        let _ = writeln!(o, "\n Total Number of Routes: {}", t.routes.len());
        o.push_str(LABEL_COLUMNS);
        o.push('\n');
        label_rows(&mut o, &t.routes.iter().collect::<Vec<_>>());
        return o;
    }
    if kind == TableKind::VpnLabel {
        let _ = writeln!(
            o,
            "\n Total number of routes from all PE: {}",
            t.routes.len()
        );
        let mut i = 0;
        while let Some(first) = t.routes.get(i) {
            let group: Vec<&RouteRow> = t.routes[i..]
                .iter()
                .take_while(|r| r.rd == first.rd)
                .collect();
            if i > 0 {
                o.push('\n');
            }
            let _ = writeln!(
                o,
                " Route Distinguisher: {}",
                first.rd.as_deref().unwrap_or("")
            );
            o.push_str(LABEL_COLUMNS);
            o.push('\n');
            label_rows(&mut o, &group);
            i += group.len();
        }
        return o;
    }
    let all: Vec<&RouteRow> = t.routes.iter().collect();
    match kind {
        TableKind::Unicast | TableKind::Labeled => {
            let _ = writeln!(o, " Total Number of Routes: {}", t.routes.len());
            o.push_str(COLUMNS);
            if kind == TableKind::Unicast {
                o.push('\n');
            }
            rows(&mut o, &all);
        }
        TableKind::Instance4 => {
            let _ = writeln!(
                o,
                " VPN-Instance {}, Router ID {}:\n",
                t.vrf.as_deref().unwrap_or(""),
                t.router_id
            );
            let _ = writeln!(o, " Total Number of Routes: {}", t.routes.len());
            o.push_str(COLUMNS);
            o.push('\n');
            rows(&mut o, &all);
        }
        TableKind::Instance6 => records(&mut o, &all),
        TableKind::Label | TableKind::VpnLabel => {}
        TableKind::Vpnv4 | TableKind::Vpnv6 => {
            let _ = writeln!(o, " Total number of routes from all PE: {}", t.routes.len());
            let mut groups: Vec<(&str, Vec<&RouteRow>)> = Vec::new();
            for r in &all {
                let rd = r.rd.as_deref().unwrap_or("");
                match groups.last_mut() {
                    Some((g, v)) if *g == rd => v.push(r),
                    _ => groups.push((rd, vec![r])),
                }
            }
            for (i, (rd, routes)) in groups.iter().enumerate() {
                if i > 0 {
                    o.push('\n');
                }
                let _ = writeln!(o, " Route Distinguisher: {rd}");
                o.push('\n');
                if kind == TableKind::Vpnv4 {
                    o.push_str(COLUMNS);
                    o.push('\n');
                    rows(&mut o, routes);
                } else {
                    o.push('\n');
                    records(&mut o, routes);
                }
            }
        }
    }
    o
}
