//! Serving the daemon's displays, as a line's output ([`Out`]): the peers' displays from
//! their status, the routing tables streamed in order from the engine shards
//! ([`TableStream`]), in VRP's layout or as one JSON document written as it goes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use tern_config::ErrorKind;
use tern_types::Family;

use crate::control::Shared;
use crate::display;
use crate::output::Out;
use crate::rib_task::PeerRoutes;
use crate::status::PeerStatus;
use crate::table_stream::{Query, TableStream};
use tern_config::community::CommunityValue;
use tern_engine::PathFilter;

/// Serves a daemon display, given as its canonical line (`display bgp peer 4.4.4.9 verbose`),
/// into `out`.
pub(crate) async fn show<T>(
    canonical: &str,
    json: bool,
    shared: &Shared,
    out: &mut Out<T>,
) -> Result<(), String> {
    let words: Vec<&str> = canonical.split_whitespace().collect();
    let notation = shared.notation();
    if let ["display", "bmp", "session", rest @ ..] = words.as_slice() {
        out.write(&crate::bmp::display(rest)?).await;
        return Ok(());
    }
    if let ["display", "ip", which, rest @ ..] = words.as_slice()
        && let Some(kind) = filter_kind(which)
    {
        let text = tern_config::filter::display(
            &shared.running().config().filters,
            kind,
            rest.first().copied(),
        );
        out.write(&text).await;
        return Ok(());
    }
    if let ["display", ip @ ("ip" | "ipv6"), "routing-table", rest @ ..] = words.as_slice() {
        let v6 = *ip == "ipv6";
        return match rest {
            ["vpn-instance", v] => instance_ip_table(v, v6, json, shared, out).await,
            _ => {
                let rows = kernel_rows(v6).await?;
                out.write(&if json {
                    to_json(&rows)
                } else {
                    display::ip_routing_table("_public_", &rows)
                })
                .await;
                Ok(())
            }
        };
    }
    if let Some(at) = words.iter().position(|w| *w == "update-peer-group") {
        let text = update_groups(&words[..at], &words[at + 1..], json, shared).await?;
        out.write(&text).await;
        return Ok(());
    }
    if let Some((family, kind, peer, which)) = peer_routes(&words) {
        let not_up = || format!("Error: The peer {peer} is not Established.");
        if which == PeerRoutes::Advertised {
            let t = shared
                .rib
                .peer_routes(peer, family, which)
                .await
                .ok_or_else(not_up)?;
            out.write(&if json {
                to_json(&t)
            } else {
                display::routing_table(&t, kind, notation)
            })
            .await;
            return Ok(());
        }
        let query = Query {
            vrf: None,
            family,
            only: Some((peer, which)),
            rd: None,
            filter: None,
        };
        let s = TableStream::open(&shared.rib, query)
            .await
            .ok_or_else(not_up)?;
        return stream_table(s, kind, notation, json, out).await;
    }
    if let Some(q) = routing_table(&words) {
        let missing = || match &q.vrf {
            Some(v) => format!("Error: The VPN instance {v} does not exist."),
            None => "Error: The routing table is not available.".to_owned(),
        };
        let rd = match &q.rd {
            Some(rd) => Some(
                rd.parse()
                    .map_err(|_| ErrorKind::WrongParameter.message())?,
            ),
            None => None,
        };
        if q.stats {
            let text = statistics(&q, rd, json, shared, notation)
                .await
                .ok_or_else(missing)?;
            out.write(&text).await;
            return Ok(());
        }
        if q.lookup.is_none() && !q.label {
            let kind = match (&q.filter, q.kind) {
                (None, k) => k,
                (Some(_), display::TableKind::Vpnv4 | display::TableKind::Vpnv6) => {
                    display::TableKind::VpnCommunity
                }
                (Some(_), _) => display::TableKind::Community,
            };
            let query = Query {
                vrf: q.vrf.clone(),
                family: q.family,
                only: None,
                rd,
                filter: q.filter.clone().map(std::sync::Arc::new),
            };
            let s = TableStream::open(&shared.rib, query)
                .await
                .ok_or_else(missing)?;
            return stream_table(s, kind, notation, json, out).await;
        }
        let mut t = shared
            .rib
            .lookup(q.vrf.clone(), q.family, q.label, q.lookup)
            .await
            .ok_or_else(missing)?;
        if q.lookup.is_some() {
            // Longest match: the most specific prefix holding the address, per route
            // distinguisher (the engine sent only prefixes that hold it).
            if let Some(rd) = &q.rd {
                // The rows write RDs plain; the command may write one dotted (`1.100:1`).
                let want = rd.parse::<tern_types::RouteDistinguisher>().ok();
                t.routes.retain(|r| {
                    want.is_some()
                        && r.rd
                            .as_deref()
                            .and_then(|x| x.parse::<tern_types::RouteDistinguisher>().ok())
                            == want
                });
            }
            let mut best: BTreeMap<Option<String>, u8> = BTreeMap::new();
            for r in &t.routes {
                let b = best.entry(r.rd.clone()).or_default();
                *b = (*b).max(r.prefix_len);
            }
            t.routes
                .retain(|r| best.get(&r.rd).is_some_and(|b| *b == r.prefix_len));
            t.recount();
            relay(&mut t, &shared.resolver);
            out.write(&if json {
                to_json(&t)
            } else {
                display::route_detail(&t, q.kind, notation)
            })
            .await;
            return Ok(());
        }
        out.write(&if json {
            to_json(&t)
        } else {
            display::routing_table(&t, q.kind, notation)
        })
        .await;
        return Ok(());
    }
    let text = peers(&words, canonical, json, shared, notation)?;
    out.write(&text).await;
    Ok(())
}

/// The filter kind a `display ip WORD` names.
fn filter_kind(word: &str) -> Option<tern_config::filter::FilterKind> {
    use tern_config::filter::FilterKind;
    [
        FilterKind::AsPath,
        FilterKind::Community,
        FilterKind::ExtCommunity,
        FilterKind::Rd,
    ]
    .into_iter()
    .find(|k| k.word() == word)
}

/// `display bgp … routing-table statistics`: the table's counts in VRP's words; for `vpnv4|
/// vpnv6 all` (and one route distinguisher), each VPN instance's table of the family after.
async fn statistics(
    q: &TableQuery,
    rd: Option<tern_types::RouteDistinguisher>,
    json: bool,
    shared: &Shared,
    notation: tern_types::Notation,
) -> Option<String> {
    use std::fmt::Write as _;
    let (t, st) = crate::table_stream::stats(&shared.rib, q.vrf.clone(), q.family, rd).await?;
    let vpn = q.vrf.is_none() && (q.family == Family::VPNV4 || q.family == Family::VPNV6);
    let mut instances = Vec::new();
    if vpn {
        let unicast = if q.family == Family::VPNV6 {
            Family::IPV6_UNICAST
        } else {
            Family::IPV4_UNICAST
        };
        let specs: Vec<(String, tern_types::RouteDistinguisher)> = shared
            .cfg()
            .routing
            .vrfs
            .iter()
            .filter(|v| v.family == unicast && rd.is_none_or(|rd| v.rd == rd))
            .map(|v| (v.name.clone(), v.rd))
            .collect();
        for (name, _) in specs {
            if let Some((vt, vs)) =
                crate::table_stream::stats(&shared.rib, Some(name.clone()), unicast, None).await
            {
                instances.push((name, vt.router_id, vs));
            }
        }
    }
    if json {
        let v = serde_json::json!({
            "family": t.family,
            "vrf": t.vrf,
            "statistics": st,
            "instances": instances
                .iter()
                .map(|(n, _, s)| serde_json::json!({"vrf": n, "statistics": s}))
                .collect::<Vec<_>>(),
        });
        return Some(to_json(&v));
    }
    let mut o = String::new();
    if vpn {
        match (&q.rd, rd) {
            (Some(_), Some(rd)) => {
                let _ = writeln!(
                    o,
                    " Route Distinguisher: {}",
                    notation.rd_text(&rd.to_string())
                );
                let _ = writeln!(o, " Total Number of Routes: {}", st.routes);
            }
            _ => {
                let _ = writeln!(o, " Total number of routes from all PE: {}", st.routes);
            }
        }
        for (name, rid, s) in &instances {
            if q.rd.is_some() {
                let afi = if q.family == Family::VPNV6 {
                    "IPv6"
                } else {
                    "IPv4"
                };
                let _ = writeln!(
                    o,
                    " Total number of routes of {afi}-family for vpn-instance {name}: {}",
                    s.routes
                );
            } else {
                let _ = writeln!(o, " VPN-Instance {name}, Router ID {rid}:");
                let _ = writeln!(o, " Total Number of Routes: {}", s.routes);
            }
        }
        return Some(o);
    }
    if let Some(v) = &q.vrf {
        let _ = writeln!(o, " VPN-Instance {v}, Router ID {}:", t.router_id);
    }
    let _ = writeln!(o, "Total Number of Routes: {}", st.routes);
    let _ = writeln!(
        o,
        " Total Number of Prefix Advertised to RM : {}",
        st.active
    );
    let _ = writeln!(o, " Total Number of Active Route : {}", st.active);
    let _ = writeln!(o, " Total Number of Best Routes: {}", st.best);
    let _ = writeln!(o, " Total Number of Best-external Routes: 0");
    if !q.family.is_ipv6() {
        let _ = writeln!(o, " Total Number of Cidr Routes: {}", st.cidr);
    }
    let _ = writeln!(o, " Total Number of Community Routes: {}", st.community);
    let _ = writeln!(
        o,
        " Total Number of Different-origin-as Routes: {}",
        st.different_origin_as
    );
    let _ = writeln!(o, " Total Number of Dampened Routes: 0");
    Some(o)
}

/// `display bgp [labeled|ipv6|vpnv4 all|vpnv6 all] update-peer-group [index N]`: the public
/// update groups sending the family, in VRP's layout.
async fn update_groups(
    head: &[&str],
    tail: &[&str],
    json: bool,
    shared: &Shared,
) -> Result<String, String> {
    use std::fmt::Write as _;
    let (family, name) = match head {
        ["display", "bgp"] => ("ipv4-unicast", "IPv4-UNC"),
        ["display", "bgp", "ipv6"] => ("ipv6-unicast", "IPv6-UNC"),
        ["display", "bgp", "labeled"] => ("ipv4-labeled-unicast", "IPv4-LABELED"),
        ["display", "bgp", "vpnv4", "all"] => ("vpnv4", "VPNv4"),
        ["display", "bgp", "vpnv6", "all"] => ("vpnv6", "VPNv6"),
        _ => return Err(format!("Error: {}: not available.", head.join(" "))),
    };
    let index = match tail {
        ["index", n] => Some(
            n.parse::<u64>()
                .map_err(|_| ErrorKind::WrongParameter.message())?,
        ),
        _ => None,
    };
    let groups: Vec<_> = crate::table_stream::groups(&shared.rib)
        .await
        .ok_or("Error: The routing table is not available.")?
        .into_iter()
        .filter(|g| g.vrf.is_none() && g.families.iter().any(|f| f == family))
        .collect();
    if let Some(i) = index {
        let Some(g) = groups.iter().find(|g| g.id == i) else {
            return Err(format!("Error: The update peer group {i} does not exist."));
        };
        if json {
            return Ok(to_json(g));
        }
        let mut o = String::new();
        let replicated = g.sent.saturating_sub(g.formatted);
        let _ = writeln!(o, " Group ID : {}", g.id);
        let _ = writeln!(o, " BGP Version : 4");
        let _ = writeln!(o, " Group Type : {}", g.kind);
        let _ = writeln!(o, " Addr Family : {name}");
        let _ = writeln!(o, " Total Peers : {}", g.members.len());
        let _ = writeln!(o, " AdvMinTimeVal : 0");
        if let Some(l) = g.members.first() {
            let _ = writeln!(o, " Leader Peer : {l}");
        }
        let _ = writeln!(o);
        let _ = writeln!(o, " Total format packet number : {}", g.formatted);
        let _ = writeln!(o, " Total send packet number : {}", g.sent);
        let _ = writeln!(o, " Total replicate packet number : {replicated}");
        let _ = writeln!(
            o,
            " The replication percentages(%) : {}",
            (replicated * 100).checked_div(g.sent).unwrap_or(0)
        );
        let _ = writeln!(o);
        let _ = writeln!(o, " Peers List : {}", peers_list(&g.members));
        return Ok(o);
    }
    if json {
        return Ok(to_json(&groups));
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        " The Public instance's update peer group number : {}",
        groups.len()
    );
    let _ = writeln!(o, " Keep buffer update peer group number : 0");
    let _ = writeln!(o, " BGP Version : 4");
    for g in &groups {
        let _ = writeln!(o);
        let _ = writeln!(o, " Group ID : {}", g.id);
        let _ = writeln!(o, " Group Type : {}", g.kind);
        let _ = writeln!(o, " Addr Family : {name}");
        let _ = writeln!(o, " AdvMinTimeVal : 0");
        let _ = writeln!(o, " Total Peers : {}", g.members.len());
        if let Some(l) = g.members.first() {
            let _ = writeln!(o, " Leader Peer : {l}");
        }
        let _ = writeln!(o, " Peers List : {}", peers_list(&g.members));
    }
    Ok(o)
}

/// A group's members as VRP lists them: several per line.
fn peers_list(members: &[IpAddr]) -> String {
    members
        .chunks(4)
        .map(|c| {
            c.iter()
                .map(|a| format!("{a:<16}"))
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n              ")
}

/// Each public path's relay next hop in its detail: where the kernel forwards toward its next
/// hop, and through which interface.
fn relay(t: &mut tern_engine::RouteTable, resolver: &crate::fib::Resolver) {
    if t.vrf.is_some() {
        return;
    }
    for r in &mut t.routes {
        let (Some(nh), Some(d)) = (r.next_hop, r.detail.as_mut()) else {
            continue;
        };
        if r.from.is_unspecified() || matches!(resolver, crate::fib::Resolver::All) {
            continue;
        }
        if let Some((addr, ifindex)) = resolver.forwarding(nh) {
            let dev = ifindex.and_then(|i| {
                std::fs::read_dir("/sys/class/net")
                    .ok()?
                    .flatten()
                    .find_map(|e| {
                        let idx = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
                        (idx.trim().parse::<u32>().ok()? == i)
                            .then(|| e.file_name().to_string_lossy().into_owned())
                    })
            });
            d.relay = Some((addr, dev));
        }
    }
}

/// A routing table streamed into `out`: VRP's layout, or one JSON document (the table's
/// facts, then `routes`, a row at a time).
async fn stream_table<T>(
    mut s: TableStream,
    kind: display::TableKind,
    notation: tern_types::Notation,
    json: bool,
    out: &mut Out<T>,
) -> Result<(), String> {
    if json {
        out.write(&json_head(&s.header)).await;
        let mut first = true;
        while let Some(rows) = s.next().await {
            if out.closed() {
                return Ok(());
            }
            let mut text = String::new();
            for r in &rows {
                if !first {
                    text.push_str(",\n");
                }
                first = false;
                text.push_str(&indent(&to_json(r)));
            }
            out.write(&text).await;
        }
        out.write(if first { "]\n}\n" } else { "\n  ]\n}\n" }).await;
        return Ok(());
    }
    let mut p = display::TablePrinter::new(kind, notation);
    out.write(&p.header(&s.header, s.paths)).await;
    while let Some(rows) = s.next().await {
        if out.closed() {
            return Ok(());
        }
        out.write(&p.rows(&rows)).await;
    }
    Ok(())
}

/// A table's facts as the start of its JSON document, up to the opening of `routes`.
fn json_head(t: &tern_engine::RouteTable) -> String {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("routes");
    }
    let head = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into());
    let head = head.trim_end().trim_end_matches('}').trim_end();
    let sep = if head.ends_with('{') { "" } else { "," };
    format!("{head}{sep}\n  \"routes\": [\n")
}

/// A pretty-printed value indented as an element of `routes`.
fn indent(json: &str) -> String {
    let mut o = String::with_capacity(json.len() + 64);
    for (i, l) in json.lines().enumerate() {
        if i > 0 {
            o.push('\n');
        }
        o.push_str("    ");
        o.push_str(l);
    }
    o
}

/// `display ip|ipv6 routing-table vpn-instance V`: the instance's best routes, streamed.
async fn instance_ip_table<T>(
    v: &str,
    v6: bool,
    json: bool,
    shared: &Shared,
    out: &mut Out<T>,
) -> Result<(), String> {
    let family = if v6 {
        Family::IPV6_UNICAST
    } else {
        Family::IPV4_UNICAST
    };
    let query = Query {
        vrf: Some(v.to_owned()),
        family,
        only: None,
        rd: None,
        filter: None,
    };
    let mut s = TableStream::open(&shared.rib, query)
        .await
        .ok_or_else(|| format!("Error: The VPN instance {v} does not exist."))?;
    out.write(&if json {
        "[\n".to_owned()
    } else {
        display::ip_routing_header(v, s.header.destinations)
    })
    .await;
    let mut first = true;
    while let Some(rows) = s.next().await {
        if out.closed() {
            return Ok(());
        }
        let rows: Vec<display::IpRouteRow> = rows
            .iter()
            .filter(|r| r.best)
            .map(|r| display::IpRouteRow {
                prefix: r.prefix.clone(),
                proto: if r.from.is_unspecified() {
                    "Direct".into()
                } else if r.internal {
                    "IBGP".into()
                } else {
                    "EBGP".into()
                },
                preference: if r.from.is_unspecified() { 0 } else { 255 },
                cost: r.med.unwrap_or(0),
                next_hop: r.next_hop.map_or_else(String::new, |a| a.to_string()),
                interface: String::new(),
            })
            .collect();
        if json {
            let mut text = String::new();
            for r in &rows {
                if !first {
                    text.push_str(",\n");
                }
                first = false;
                text.push_str(&indent(&to_json(r)));
            }
            out.write(&text).await;
        } else {
            out.write(&display::ip_routing_rows(&rows)).await;
        }
    }
    if json {
        out.write("\n]\n").await;
    }
    Ok(())
}

/// The peers' displays, from their status.
fn peers(
    words: &[&str],
    canonical: &str,
    json: bool,
    shared: &Shared,
    notation: tern_types::Notation,
) -> Result<String, String> {
    let all = shared.statuses();
    let cfg = shared.cfg();
    let (rid, asn) = (cfg.router_id, cfg.local_as);
    let find = |a: &str| -> Result<PeerStatus, String> {
        let ip: IpAddr = a.parse().map_err(|_| ErrorKind::WrongParameter.message())?;
        all.iter()
            .find(|p| p.addr == ip)
            .cloned()
            .ok_or_else(|| format!("Error: The peer {ip} does not exist."))
    };
    let family = |fam: &str| -> Vec<PeerStatus> {
        let want = match fam {
            "vpnv4" => "vpnv4",
            "vpnv6" => "vpnv6",
            "labeled" => "ipv4-labeled-unicast",
            _ => "ipv6-unicast",
        };
        all.iter()
            .filter(|p| p.configured_families.iter().any(|f| f == want))
            .cloned()
            .collect()
    };
    Ok(match words {
        ["display", "bgp", "peer"] => {
            if json {
                to_json(&all)
            } else {
                display::peers(rid, asn, &all, notation)
            }
        }
        ["display", "bgp", fam @ ("vpnv4" | "vpnv6"), "all", "peer"] => {
            // Public peers of the VPN family, then the PE–CE peers of each instance (VRP's
            // "Peer of IPv4-family for vpn instance" section).
            let public: Vec<PeerStatus> = family(fam)
                .into_iter()
                .filter(|p| p.vrf.is_none())
                .collect();
            let want = if *fam == "vpnv6" {
                "ipv6-unicast"
            } else {
                "ipv4-unicast"
            };
            let mut vrfs: BTreeMap<String, Vec<PeerStatus>> = BTreeMap::new();
            for p in all
                .iter()
                .filter(|p| p.configured_families.iter().any(|f| f == want))
            {
                if let Some(v) = &p.vrf {
                    vrfs.entry(v.clone()).or_default().push(p.clone());
                }
            }
            if json {
                let mut every = public.clone();
                every.extend(vrfs.values().flatten().cloned());
                to_json(&every)
            } else {
                let afi = if *fam == "vpnv6" { "IPv6" } else { "IPv4" };
                display::vpn_peers(rid, asn, &public, afi, &vrfs, notation)
            }
        }
        ["display", "bgp", fam @ ("labeled" | "ipv6"), "peer"] => {
            let sel = family(fam);
            if json {
                to_json(&sel)
            } else {
                display::peers(rid, asn, &sel, notation)
            }
        }
        ["display", "bgp", "peer", a, "verbose"] => {
            let p = find(a)?;
            let group = crate::groups::group_of(shared.running().config(), &p);
            if json {
                to_json(&p)
            } else {
                crate::groups::with_group(display::verbose(&p, notation), group.as_deref())
            }
        }
        ["display", "bgp", rest @ ..] if rest.contains(&"group") => {
            let at = rest.iter().position(|w| *w == "group").unwrap_or(0);
            let family = rest.first().copied().filter(|_| at > 0);
            crate::groups::show(
                shared.running().config(),
                family,
                rest.get(at + 1).copied(),
                &all,
                notation,
                json,
            )?
        }
        ["display", "bgp", "peer", a, "log-info"] => {
            let p = find(a)?;
            if json {
                to_json(&p.log)
            } else {
                display::log_info(p.addr, &p)
            }
        }
        ["display", "bgp", "peer", a] => {
            let p = find(a)?;
            if json {
                to_json(&p)
            } else {
                display::peers(rid, asn, &[p], notation)
            }
        }
        // The grammar and this table disagree: a display in the table without a server.
        _ => return Err(format!("Error: {canonical}: not available.")),
    })
}

/// The kernel's main table as `display ip routing-table` lists it (the daemon's namespace).
async fn kernel_rows(v6: bool) -> Result<Vec<display::IpRouteRow>, String> {
    let routes = tern_fib::routes_with_next_hops(tern_fib::MAIN_TABLE)
        .await
        .map_err(|e| format!("Error: The routing table cannot be read: {e}"))?;
    let mut names = std::collections::HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for e in dir.flatten() {
            if let Ok(i) = std::fs::read_to_string(e.path().join("ifindex"))
                && let Ok(i) = i.trim().parse::<u32>()
            {
                names.insert(i, e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let mut rows: Vec<display::IpRouteRow> = routes
        .iter()
        .filter(|(r, _)| r.prefix.addr().is_ipv6() == v6 && r.kind.reaches())
        .filter(|(r, _)| !matches!(r.prefix, ipnet::IpNet::V6(n) if n.addr().segments()[0] & 0xffc0 == 0xfe80))
        .flat_map(|(r, hops)| {
            // A multipath route: a row per next hop.
            let hops: Vec<(Option<std::net::IpAddr>, Option<u32>)> = if hops.is_empty() {
                vec![(r.gateway, r.ifindex)]
            } else {
                hops.clone()
            };
            hops.into_iter().map(move |(gateway, ifindex)| (r, gateway, ifindex))
        })
        .map(|(r, gateway, ifindex)| {
            let (proto, preference) = match r.protocol {
                2 => ("Direct", 0),
                tern_fib::PROTO_TERN => ("BGP", 255),
                3 | 4 => ("Static", 60),
                _ => ("Kernel", 60),
            };
            display::IpRouteRow {
                prefix: r.prefix.to_string(),
                proto: proto.into(),
                preference,
                cost: r.metric,
                next_hop: gateway.map_or_else(
                    || if v6 { "::".into() } else { "0.0.0.0".into() },
                    |g| g.to_string(),
                ),
                interface: ifindex
                    .and_then(|i| names.get(&i).cloned())
                    .unwrap_or_default(),
            }
        })
        .collect();
    // Stable: a route's next hops stay in the kernel's order.
    rows.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    Ok(rows)
}

/// `display bgp [labeled|vpnv4 all|vpnv6 all] routing-table peer X received-routes|
/// accepted-routes|advertised-routes`.
fn peer_routes(
    words: &[&str],
) -> Option<(
    Family,
    display::TableKind,
    IpAddr,
    crate::rib_task::PeerRoutes,
)> {
    use crate::rib_task::PeerRoutes;
    use display::TableKind;
    let [head @ .., "routing-table", "peer", addr, which] = words else {
        return None;
    };
    let which = match *which {
        "received-routes" => PeerRoutes::Received,
        "accepted-routes" => PeerRoutes::Accepted,
        "advertised-routes" => PeerRoutes::Advertised,
        _ => return None,
    };
    let peer: IpAddr = addr.parse().ok()?;
    let (family, kind) = match head {
        ["display", "bgp"] => (Family::IPV4_UNICAST, TableKind::Unicast),
        ["display", "bgp", "labeled"] => (Family::IPV4_LABELED, TableKind::Labeled),
        ["display", "bgp", "ipv6"] => (Family::IPV6_UNICAST, TableKind::Instance6),
        ["display", "bgp", "vpnv4", "all"] => (Family::VPNV4, TableKind::Vpnv4),
        ["display", "bgp", "vpnv6", "all"] => (Family::VPNV6, TableKind::Vpnv6),
        _ => return None,
    };
    Some((family, kind, peer, which))
}

/// A routing-table display: which table, which routes, which layout.
struct TableQuery {
    vrf: Option<String>,
    family: Family,
    kind: display::TableKind,
    rd: Option<String>,
    lookup: Option<IpAddr>,
    label: bool,
    /// `routing-table statistics`.
    stats: bool,
    /// `routing-table community …`.
    filter: Option<PathFilter>,
}

/// `community [C …] [whole-match]` after `routing-table`.
fn community_filter(words: &[&str]) -> Option<PathFilter> {
    let (list, whole) = match words {
        [list @ .., "whole-match"] => (list, true),
        list => (list, false),
    };
    let list = list
        .iter()
        .map(|w| w.parse::<CommunityValue>().ok().map(CommunityValue::value))
        .collect::<Option<Vec<u32>>>()?;
    Some(PathFilter::Community { list, whole })
}

/// The routing-table displays.
fn routing_table(words: &[&str]) -> Option<TableQuery> {
    use display::TableKind;
    let at = words.iter().position(|w| *w == "routing-table")?;
    let (head, tail) = words.split_at(at);
    let (mut lookup, mut label, mut stats, mut filter) = (None, false, false, None);
    match &tail[1..] {
        ["label"] => label = true,
        ["statistics"] => stats = true,
        ["community", rest @ ..] => filter = Some(community_filter(rest)?),
        [a] => lookup = Some(a.parse::<IpAddr>().ok()?),
        [] => {}
        _ => return None,
    }
    let q = |vrf: Option<&str>, family, kind, rd: Option<&str>| TableQuery {
        vrf: vrf.map(str::to_string),
        family,
        kind,
        rd: rd.map(str::to_string),
        lookup,
        label,
        stats,
        filter: filter.clone(),
    };
    let vpn = |f: &str| {
        if f == "vpnv6" {
            (Family::VPNV6, TableKind::Vpnv6, Family::IPV6_UNICAST)
        } else {
            (Family::VPNV4, TableKind::Vpnv4, Family::IPV4_UNICAST)
        }
    };
    if label {
        return Some(match head {
            ["display", "bgp"] | ["display", "bgp", "labeled"] => {
                q(None, Family::IPV4_LABELED, TableKind::Label, None)
            }
            // 6PE (RFC 4798): the labeled IPv6 routes.
            ["display", "bgp", "ipv6"] => q(None, Family::IPV6_LABELED, TableKind::Label6, None),
            ["display", "bgp", f @ ("vpnv4" | "vpnv6"), "all"] => {
                let (family, _, _) = vpn(f);
                q(None, family, TableKind::VpnLabel, None)
            }
            _ => return None,
        });
    }
    Some(match head {
        ["display", "bgp"] => q(None, Family::IPV4_UNICAST, TableKind::Unicast, None),
        ["display", "bgp", "labeled"] => q(None, Family::IPV4_LABELED, TableKind::Labeled, None),
        ["display", "bgp", "ipv6"] => q(None, Family::IPV6_UNICAST, TableKind::Instance6, None),
        ["display", "bgp", f @ ("vpnv4" | "vpnv6"), "all"] => {
            let (family, kind, _) = vpn(f);
            q(None, family, kind, None)
        }
        [
            "display",
            "bgp",
            f @ ("vpnv4" | "vpnv6"),
            "route-distinguisher",
            rd,
        ] => {
            let (family, kind, _) = vpn(f);
            q(None, family, kind, Some(rd))
        }
        ["display", "bgp", f @ ("vpnv4" | "vpnv6"), "vpn-instance", v] => {
            let (_, _, family) = vpn(f);
            let kind = if family.is_ipv6() {
                TableKind::Instance6
            } else {
                TableKind::Instance4
            };
            q(Some(v), family, kind, None)
        }
        _ => return None,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
