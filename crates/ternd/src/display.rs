//! The daemon's displays in VRP's layout: `display bgp peer`, `display bgp peer X verbose`,
//! `display bgp peer X log-info`, and the routing tables (`display bgp routing-table`,
//! `display bgp labeled routing-table`, `display bgp vpnv4|vpnv6 all routing-table`), from the
//! RIB task's snapshots (samples: the vendor's command reference). AS numbers are written in
//! the notation `as-notation` selects ([`Notation`], dotted by default).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::status::PeerStatus;
use tern_engine::display::col;
pub use tern_engine::display::{TableKind, TablePrinter, route_detail, routing_table};
use tern_types::Notation;

/// `00h57m53s`, as the verbose display writes durations.
fn hms(since: Option<SystemTime>) -> String {
    let secs = since
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}h{:02}m{:02}s",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn updown(since: Option<SystemTime>) -> String {
    let secs = since
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map_or(0, |d| d.as_secs());
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h >= 24 {
        format!("{}d{:02}h", h / 24, h % 24)
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// `display bgp peer`.
pub fn peers(
    router_id: Option<Ipv4Addr>,
    local_as: Option<u32>,
    peers: &[PeerStatus],
    n: Notation,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        " BGP local router ID : {}",
        router_id.map_or("0.0.0.0".into(), |r| r.to_string())
    );
    let _ = writeln!(o, " Local AS number : {}", n.asn(local_as.unwrap_or(0)));
    let _ = writeln!(o, " Total number of peers : {}", peers.len());
    let up = peers.iter().filter(|p| p.state == "Established").count();
    let _ = writeln!(o, " Peers in established state : {up}");
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  Peer            V          AS  MsgRcvd  MsgSent  OutQ  Up/Down       State  PrefRcv"
    );
    for p in peers {
        let _ = writeln!(o, "{}", peer_row(p, n));
    }
    o
}

/// `display bgp vpnv4|vpnv6 all peer`: the public peers, then each VPN instance's.
pub fn vpn_peers(
    router_id: Option<Ipv4Addr>,
    local_as: Option<u32>,
    public: &[PeerStatus],
    afi: &str,
    vrfs: &std::collections::BTreeMap<String, Vec<PeerStatus>>,
    n: Notation,
) -> String {
    let every: Vec<PeerStatus> = public
        .iter()
        .chain(vrfs.values().flatten())
        .cloned()
        .collect();
    let mut o = peers(router_id, local_as, &every, n);
    if !vrfs.is_empty() {
        // Keep the public rows in the table above; list the instances' after their heading.
        let head_len = o.lines().count() - (every.len() - public.len());
        let mut lines: Vec<String> = o.lines().take(head_len).map(str::to_string).collect();
        lines.push(String::new());
        lines.push(format!("  Peer of {afi}-family for vpn instance :"));
        for (v, ps) in vrfs {
            lines.push(String::new());
            lines.push(format!("  VPN-Instance {v} :"));
            for p in ps {
                lines.push(peer_row(p, n));
            }
        }
        o = lines.join("\n");
        o.push('\n');
    }
    o
}

pub(crate) fn peer_row(p: &PeerStatus, n: Notation) -> String {
    format!(
        "  {:<15} 4 {:>11} {:>8} {:>8} {:>5} {:>8} {:>11} {:>8}",
        p.addr.to_string(),
        n.asn(p.remote_as),
        p.received.total,
        p.sent.total,
        0,
        updown(p.since),
        p.state,
        p.prefixes_total()
    )
}

fn family_title(f: &str) -> String {
    match f {
        "ipv4-unicast" => "IPv4 Unicast".into(),
        "ipv6-unicast" => "IPv6 Unicast".into(),
        "vpnv4" => "VPNv4".into(),
        "vpnv6" => "VPNv6".into(),
        "ipv4-labeled-unicast" => "IPv4 Labeled Unicast".into(),
        "ipv6-labeled-unicast" => "IPv6 Labeled Unicast".into(),
        other => other.into(),
    }
}

/// `display bgp peer X verbose`.
pub fn verbose(p: &PeerStatus, n: Notation) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "BGP Peer is {},  remote AS {}",
        p.addr,
        n.asn(p.remote_as)
    );
    let _ = writeln!(
        o,
        "         Type: {} link",
        if p.ebgp { "EBGP" } else { "IBGP" }
    );
    let rid = p
        .negotiated
        .as_ref()
        .and_then(|n| n.peer_id)
        .map_or("0.0.0.0".into(), |r| r.to_string());
    let _ = writeln!(o, "         BGP version 4, Remote router ID {rid}");
    let _ = writeln!(
        o,
        "         BGP current state: {}, {} for {}",
        p.state,
        if p.state == "Established" {
            "Up"
        } else {
            "Down"
        },
        hms(p.since)
    );
    let _ = writeln!(o, "         BGP Peer Up count: {}", p.up_count);
    let _ = writeln!(o, "         Received total routes: {}", p.prefixes_total());
    if p.prefixes.len() > 1 {
        for (f, n) in &p.prefixes {
            let _ = writeln!(o, "         Received routes ({}): {n}", family_title(f));
        }
    }
    if let (Some(l), Some(r)) = (p.local, p.remote) {
        let _ = writeln!(
            o,
            "         Port: Local - {}        Remote - {}",
            l.port(),
            r.port()
        );
    }
    let _ = writeln!(
        o,
        "         Configured: Active Hold Time: {} sec   Keepalive Time:{} sec",
        p.configured_hold, p.configured_keepalive
    );
    let _ = writeln!(
        o,
        "         Connect-retry Time: {} sec",
        p.configured_connect_retry
    );
    if let Some(n) = &p.negotiated {
        let _ = writeln!(
            o,
            "         Received  : Active Hold Time: {} sec",
            n.peer_hold_time
        );
        let _ = writeln!(
            o,
            "         Negotiated: Active Hold Time: {} sec   Keepalive Time:{} sec",
            n.hold_time, n.keepalive
        );
        let _ = writeln!(o, "         Peer optional capabilities:");
        let _ = writeln!(o, "         Peer supports bgp multi-protocol extension");
        if n.route_refresh {
            let _ = writeln!(o, "         Peer supports bgp route refresh capability");
        }
        if n.enhanced_route_refresh {
            let _ = writeln!(
                o,
                "         Peer supports bgp enhanced route refresh capability"
            );
        }
        if n.four_octet_as {
            let _ = writeln!(o, "         Peer supports bgp 4-byte-as capability");
        }
        if let Some(g) = &n.graceful_restart {
            let _ = writeln!(
                o,
                "         Graceful Restart Capability: advertised and received"
            );
            let _ = writeln!(
                o,
                "         Restart Timer Value received from Peer: {} seconds",
                g.restart_time
            );
            for (f, fwd) in &g.families {
                let _ = writeln!(
                    o,
                    "         Graceful restart for {}: forwarding state {}",
                    family_title(f),
                    if *fwd { "preserved" } else { "not preserved" }
                );
            }
        }
        for f in &n.families {
            let _ = writeln!(
                o,
                "         Address family {}: advertised and received",
                family_title(f)
            );
        }
        for f in &n.not_negotiated {
            let _ = writeln!(o, "         Address family {}: No neg", family_title(f));
        }
        for f in &n.families {
            let dir = match (n.add_path_send.contains(f), n.add_path_receive.contains(f)) {
                (true, true) => "send and receive",
                (true, false) => "send",
                (false, true) => "receive",
                (false, false) => continue,
            };
            let _ = writeln!(o, "         Add-Path for {}: {dir}", family_title(f));
        }
    } else {
        for f in &p.configured_families {
            let _ = writeln!(o, "         Address family {}: No neg", family_title(f));
        }
    }
    for (title, c) in [("Received", &p.received), ("Sent", &p.sent)] {
        let _ = writeln!(o, " {title}: Total {} messages", c.total);
        let _ = writeln!(
            o,
            "                  Update messages                {}",
            c.update
        );
        let _ = writeln!(
            o,
            "                  Open messages                  {}",
            c.open
        );
        let _ = writeln!(
            o,
            "                  KeepAlive messages             {}",
            c.keepalive
        );
        let _ = writeln!(
            o,
            "                  Notification messages          {}",
            c.notification
        );
        let _ = writeln!(
            o,
            "                  Refresh messages               {}",
            c.refresh
        );
    }
    for l in &p.route_limits {
        let _ = writeln!(
            o,
            " Maximum allowed route limit ({}): {}",
            family_title(&l.family),
            l.limit
        );
        let _ = writeln!(o, " Threshold: {}%", l.percent);
        if l.action != "restart" {
            let _ = writeln!(o, " Route limit action: {}", l.action);
        }
    }
    let _ = writeln!(
        o,
        " Authentication type configured: {}",
        if p.md5 { "MD5" } else { "None" }
    );
    if let Some(r) = &p.reason {
        let _ = writeln!(o, " Peer cannot come up: {r}");
    }
    if let Some(t) = p.last_update {
        let _ = writeln!(o, " Last update received: {}", datetime(t));
    }
    if let Some(e) = &p.last_error {
        let _ = writeln!(o, " Last error: {e}");
    }
    o
}

fn datetime(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// `display bgp peer X log-info`, newest first as VRP lists it.
pub fn log_info(addr: IpAddr, p: &PeerStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Peer : {addr}");
    for l in p.log.iter().rev() {
        let _ = writeln!(o, " Date/Time     : {}", datetime(l.at));
        let _ = writeln!(o, " State         : {}", l.state);
        if let Some((code, sub, cname, sname, received)) = &l.error {
            let _ = writeln!(o, " Error Code    : {code}({})", cname.to_uppercase());
            let _ = writeln!(o, " Error Subcode : {sub}({sname})");
            let _ = writeln!(
                o,
                " Notification  : {} Notification",
                if *received { "Receive" } else { "Send" }
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(a: &str, asn: u32, vrf: Option<&str>) -> PeerStatus {
        PeerStatus {
            addr: a.parse().unwrap(),
            remote_as: asn,
            ebgp: true,
            state: "Established".into(),
            since: None,
            reason: None,
            last_error: None,
            negotiated: None,
            configured_families: vec![],
            vrf: vrf.map(str::to_string),
            received: Default::default(),
            sent: Default::default(),
            prefixes: Default::default(),
            up_count: 1,
            log: vec![],
            local: None,
            remote: None,
            md5: false,
            configured_hold: 180,
            configured_keepalive: 60,
            configured_connect_retry: 32,
            route_limits: Vec::new(),
            last_update: None,
        }
    }

    #[test]
    fn four_octet_as_numbers_follow_the_notation() {
        let p = [
            status("4.4.4.9", 131272, None),
            status("5.5.5.9", 200, None),
        ];
        let dot = peers(None, Some(65636), &p, Notation::Dot);
        assert!(dot.contains(" Local AS number : 1.100\n"), "{dot}");
        assert!(dot.contains("  4.4.4.9         4       2.200 "), "{dot}");
        assert!(dot.contains("  5.5.5.9         4         200 "), "{dot}");
        let plain = peers(None, Some(65636), &p, Notation::Plain);
        assert!(plain.contains(" Local AS number : 65636\n"), "{plain}");
        assert!(
            plain.contains("  4.4.4.9         4      131272 "),
            "{plain}"
        );
        assert!(
            verbose(&p[0], Notation::Dot).starts_with("BGP Peer is 4.4.4.9,  remote AS 2.200\n")
        );
        assert!(
            verbose(&p[0], Notation::Plain).starts_with("BGP Peer is 4.4.4.9,  remote AS 131272\n")
        );
    }

    #[test]
    fn vpn_peers_list_instance_peers_under_their_instance() {
        let mk = status;
        let public = vec![mk("4.4.4.9", 200, None)];
        let mut vrfs = std::collections::BTreeMap::new();
        vrfs.insert(
            "vpn1".to_string(),
            vec![mk("2001:db8:1::1", 65001, Some("vpn1"))],
        );
        let t = vpn_peers(None, Some(100), &public, "IPv6", &vrfs, Notation::Dot);
        assert!(t.contains(" Total number of peers : 2\n"), "{t}");
        let lines: Vec<&str> = t.lines().collect();
        let pos = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
        assert!(
            pos("4.4.4.9") < pos("Peer of IPv6-family for vpn instance :"),
            "{t}"
        );
        assert!(pos("VPN-Instance vpn1 :") < pos("2001:db8:1::1"), "{t}");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(datetime(UNIX_EPOCH), "1970/01/01 00:00:00");
        assert_eq!(
            datetime(UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000)),
            "2026/11/18 11:06:40"
        );
    }
}

/// One route of `display ip|ipv6 routing-table`.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct IpRouteRow {
    /// Destination/mask.
    pub prefix: String,
    /// Protocol (`Direct`, `Static`, `BGP`, `EBGP`, `IBGP`, ...).
    pub proto: String,
    /// Preference.
    pub preference: u32,
    /// Cost.
    pub cost: u32,
    /// Next hop.
    pub next_hop: String,
    /// Outgoing interface (kernel name).
    pub interface: String,
}

/// `display ip routing-table [vpn-instance V]` in VRP's layout.
/// A destination with several routes (a load-balanced route: one row per next hop) counts
/// once among the destinations and lists its prefix once.
pub fn ip_routing_table(name: &str, rows: &[IpRouteRow]) -> String {
    let destinations = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| *i == 0 || rows[i - 1].prefix != r.prefix)
        .count();
    let mut o = ip_routing_header_counts(name, destinations, rows.len());
    o.push_str(&ip_routing_rows(rows));
    o
}

/// The header of `display ip routing-table`, for a table of `routes` routes.
pub fn ip_routing_header(name: &str, routes: usize) -> String {
    ip_routing_header_counts(name, routes, routes)
}

/// The header of `display ip routing-table`: destinations and routes (next hops) counted.
fn ip_routing_header_counts(name: &str, destinations: usize, routes: usize) -> String {
    let mut o = String::new();
    o.push_str(
        "Route Flags: R - relay, D - download to fib, T - to vpn-instance, B - black hole route\n",
    );
    o.push_str("------------------------------------------------------------------------------\n");
    let _ = writeln!(o, "Routing Table : {name}");
    let _ = writeln!(
        o,
        "         Destinations : {destinations}        Routes : {routes}\n"
    );
    o.push_str("Destination/Mask    Proto   Pre  Cost        Flags NextHop         Interface\n\n");
    o
}

/// Rows of `display ip routing-table`.
pub fn ip_routing_rows(rows: &[IpRouteRow]) -> String {
    let mut o = String::new();
    let mut last: Option<&str> = None;
    for r in rows {
        // The next rows of a destination leave its prefix out, as VRP lists equal-cost routes.
        let prefix = if last == Some(r.prefix.as_str()) {
            ""
        } else {
            r.prefix.as_str()
        };
        last = Some(r.prefix.as_str());
        let _ = writeln!(
            o,
            "{:>18}  {}{}{}  D   {}{}",
            prefix,
            col(&r.proto, 8),
            col(&r.preference.to_string(), 5),
            col(&r.cost.to_string(), 12),
            col(&r.next_hop, 16),
            r.interface
        );
    }
    o
}
