//! The system view's commands: `sysname`, `as-notation plain`, `interface`, `ip vpn-instance`, `ip ip-prefix` and
//! `ip ipv6-prefix`, `ip route-static` and `ipv6 route-static`, `bgp`, `route-policy`, and the
//! kept `ospf` and `mpls`; with the headers of the blocks they open.

use std::net::IpAddr;

use super::{HOST, LEN4, LEN6, NAME31, NODE, POLICY, PREFIX_NAME, U32, mask};
use crate::change::{Change, network_of};
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, any_order, arg, kw};
use crate::model::{Config, MatchMode, PrefixEntry, PrefixList, StaticRoute};
use crate::value::{ArgKind, Value};
use crate::view::{Scope, ViewId};

/// The system view.
pub(super) fn system() -> Vec<Node> {
    vec![
        kw("sysname", "Set the host name")
            .act(sysname)
            .print(10, |c, _| {
                vec![Item::Line(format!("sysname {}", c.sysname))]
            })
            .uend()
            .then(arg(HOST, "host-name", "Host name").end()),
        kw("as-notation", "Display format of 4-byte AS numbers")
            .act(as_notation)
            .print(15, |c, _| {
                if c.as_notation_plain {
                    vec![Item::Line("as-notation plain".into())]
                } else {
                    vec![]
                }
            })
            .then(kw("plain", "Display 4-byte AS numbers as integers").end_both()),
        kw("interface", "Specify an interface")
            .act(interface_enter)
            .print(40, print_interfaces)
            .sub([
                arg(ArgKind::IfName, "interface-name", "Interface name")
                    .end_both()
                    .enters(ViewId::Interface),
                arg(ArgKind::IfType, "interface-type", "Interface type").then(
                    arg(ArgKind::IfNumber, "interface-number", "Interface number")
                        .end_both()
                        .enters(ViewId::Interface),
                ),
            ]),
        kw("ip", "IP configuration")
            .sub([
                kw("vpn-instance", "Configure a VPN instance").then(
                    arg(NAME31, "vpn-instance-name", "VPN instance name")
                        .run_both(vpn_instance_enter)
                        .print(20, print_vpn_instances)
                        .enters(ViewId::VpnInstance),
                ),
                ip_prefix(false),
                ip_prefix(true),
                route_static(false),
            ])
            .sub(super::filter::ip_filters()),
        kw("bgp", "Enable BGP and enter the BGP view")
            .act(bgp_enter)
            .print(50, |c, _| {
                c.bgp
                    .iter()
                    .map(|b| Item::Block {
                        header: bgp_header(b.asn),
                        view: ViewId::Bgp,
                        scope: Scope::Bgp,
                    })
                    .collect()
            })
            .uend()
            .then(
                arg(ArgKind::Asn, "as-number", "AS number, plain or dotted")
                    .end_both()
                    .enters(ViewId::Bgp),
            ),
        kw("ospf", "OSPF (kept, not active)")
            .kept("ospf")
            .rank(60)
            .end_both()
            .enters(ViewId::Ospf)
            .sub([
                arg(
                    ArgKind::Int { min: 1, max: 65535 },
                    "process-id",
                    "Process ID",
                )
                .end_both()
                .enters(ViewId::Ospf)
                .then(
                    kw("router-id", "Router ID").then(
                        arg(ArgKind::Ipv4, "router-id", "Router ID")
                            .end()
                            .enters(ViewId::Ospf),
                    ),
                ),
                kw("router-id", "Router ID").then(
                    arg(ArgKind::Ipv4, "router-id", "Router ID")
                        .end()
                        .enters(ViewId::Ospf),
                ),
            ]),
        kw("mpls", "MPLS (kept, not active)")
            .kept("mpls")
            .rank(31)
            .end_both()
            .enters(ViewId::Mpls)
            .sub([
                kw("lsr-id", "LSR ID")
                    .rank(30)
                    .uend()
                    .then(arg(ArgKind::Ipv4, "lsr-id", "LSR ID").end()),
                kw("ldp", "MPLS LDP")
                    .kept("mpls ldp")
                    .rank(32)
                    .end_both()
                    .enters(ViewId::MplsLdp),
            ]),
        kw("route-policy", "Configure a route policy")
            .act(route_policy_enter)
            .print(70, print_route_policies)
            .then(
                arg(POLICY, "route-policy-name", "Route policy name")
                    .uend()
                    .sub(["permit", "deny"].map(|mode| {
                        kw(mode, "Matching mode").then(
                            kw("node", "Node").then(
                                arg(NODE, "node", "Node number")
                                    .end_both()
                                    .enters(ViewId::RoutePolicy),
                            ),
                        )
                    }))
                    .then(kw("node", "Node").then(arg(NODE, "node", "Node number").uend())),
            ),
        kw("ipv6", "IPv6 configuration").then(route_static(true)),
    ]
}

fn sysname(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::Sysname(if m.undo {
        None
    } else {
        m.str("host-name").map(str::to_owned)
    }))
}

/// `as-notation plain`: displays write 4-byte AS numbers as integers; `undo` goes back to
/// dotted notation. The configuration's own numbers keep the form they were written in.
fn as_notation(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::AsNotationPlain(!m.undo))
}

fn interface_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let name = match m.get("interface-name") {
        Some(Value::IfName(n)) => n.clone(),
        _ => format!(
            "{}{}",
            m.str("interface-type").unwrap_or_default(),
            m.str("interface-number").unwrap_or_default()
        ),
    };
    Ok(Change::Interface { name, undo: m.undo })
}

/// Every interface, in VRP's order (by type, then by number).
fn print_interfaces(c: &Config, _: &Scope) -> Vec<Item> {
    let mut names: Vec<&String> = c.interfaces.keys().collect();
    names.sort_by_key(|n| interface_sort_key(n));
    names
        .into_iter()
        .map(|n| Item::Block {
            header: interface_header(n),
            view: ViewId::Interface,
            scope: Scope::Interface(n.clone()),
        })
        .collect()
}

/// `interface LoopBack1`: the header of an interface block.
pub(crate) fn interface_header(name: &str) -> String {
    format!("interface {name}")
}

/// Type name, then the numbers numerically (`GigabitEthernet0/2/0` before `0/10/0`).
fn interface_sort_key(name: &str) -> (String, Vec<u32>) {
    let split = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    // `10GE1/0/1`: some types start with digits; the longest known type prefix wins.
    let ty_len = crate::value::INTERFACE_TYPES
        .iter()
        .filter(|t| name.starts_with(*t))
        .map(|t| t.len())
        .max()
        .unwrap_or(split);
    let (ty, num) = name.split_at(ty_len);
    let nums = num
        .split(['/', '.'])
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect();
    (ty.to_owned(), nums)
}

fn vpn_instance_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::VpnInstance {
        name: m.str("vpn-instance-name").unwrap_or_default().to_owned(),
        undo: m.undo,
    })
}

fn print_vpn_instances(c: &Config, _: &Scope) -> Vec<Item> {
    c.vpn_instances
        .keys()
        .map(|n| Item::Block {
            header: vpn_instance_header(n),
            view: ViewId::VpnInstance,
            scope: Scope::VpnInstance(n.clone()),
        })
        .collect()
}

/// `ip vpn-instance vpn1`.
pub(crate) fn vpn_instance_header(name: &str) -> String {
    format!("ip vpn-instance {name}")
}

/// `ip ip-prefix` / `ip ipv6-prefix NAME [index N] permit|deny A LEN [greater-equal G]
/// [less-equal L]`.
fn ip_prefix(v6: bool) -> Node {
    let (addr, len) = if v6 {
        (ArgKind::Ipv6, LEN6)
    } else {
        (ArgKind::Ipv4, LEN4)
    };
    let body = move |n: Node| {
        n.sub(["permit", "deny"].map(|mode| {
            kw(mode, "Matching mode").then(
                arg(addr, "address", "Address").then(
                    arg(len, "mask-length", "Mask length")
                        .end_both()
                        .sub(any_order(&[
                            kw("greater-equal", "Lower bound")
                                .then(arg(len, "greater-equal-value", "Length").end_both()),
                            kw("less-equal", "Upper bound")
                                .then(arg(len, "less-equal-value", "Length").end_both()),
                        ])),
                ),
            )
        }))
    };
    let (word, help, rank): (_, _, u16) = if v6 {
        ("ipv6-prefix", "IPv6 prefix list", 81)
    } else {
        ("ip-prefix", "IPv4 prefix list", 80)
    };
    let f: crate::grammar::PrintFn = if v6 {
        |c, _| print_prefix_lists(&c.ipv6_prefixes, "ip ipv6-prefix")
    } else {
        |c, _| print_prefix_lists(&c.ip_prefixes, "ip ip-prefix")
    };
    kw(word, help).act(prefix_list).print(rank, f).then(
        body(arg(PREFIX_NAME, "prefix-name", "Prefix list name").uend()).then(
            kw("index", "Index").then(body(
                arg(
                    ArgKind::Int {
                        min: 1,
                        max: u32::MAX,
                    },
                    "index-number",
                    "Index",
                )
                .uend(),
            )),
        ),
    )
}

fn print_prefix_lists(
    lists: &std::collections::BTreeMap<String, PrefixList>,
    cmd: &str,
) -> Vec<Item> {
    let mut out = Vec::new();
    for (name, l) in lists {
        for (i, e) in &l.entries {
            let mut line = format!(
                "{cmd} {name} index {i} {} {} {}",
                e.mode.as_str(),
                e.prefix.addr(),
                e.prefix.prefix_len()
            );
            if let Some(g) = e.ge {
                line.push_str(&format!(" greater-equal {g}"));
            }
            if let Some(l) = e.le {
                line.push_str(&format!(" less-equal {l}"));
            }
            out.push(Item::Line(line));
        }
    }
    out
}

fn prefix_list(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let v6 = m.has("ipv6-prefix");
    let entry = match (m.ip("address"), m.int("mask-length")) {
        (Some(a), Some(l)) => Some(PrefixEntry {
            mode: if m.has("deny") {
                MatchMode::Deny
            } else {
                MatchMode::Permit
            },
            prefix: network_of(a, l as u8).ok_or_else(|| Reject::new("Error: Wrong mask."))?,
            ge: m.int("greater-equal-value").map(|v| v as u8),
            le: m.int("less-equal-value").map(|v| v as u8),
        }),
        _ => None,
    };
    Ok(Change::PrefixList {
        v6,
        name: m.str("prefix-name").unwrap_or_default().to_owned(),
        index: m.int("index-number"),
        entry,
        undo: m.undo,
    })
}

/// `ip route-static [vpn-instance V] D MASK|LEN {NH | IF [NH]} [preference P | tag T] *
/// [description TEXT]`, and `ipv6 route-static` with `D LEN`.
fn route_static(v6: bool) -> Node {
    let tail = || {
        any_order(&[
            kw("preference", "Preference").then(
                arg(
                    ArgKind::Int { min: 1, max: 255 },
                    "preference",
                    "Preference",
                )
                .end_both(),
            ),
            kw("tag", "Tag").then(arg(U32, "tag", "Tag").end_both()),
            kw("description", "Description")
                .then(arg(ArgKind::Text { max: 150 }, "text", "Text").end_both()),
        ])
    };
    let addr = if v6 { ArgKind::Ipv6 } else { ArgKind::Ipv4 };
    let dest = move || {
        let masks = if v6 {
            vec![arg(LEN6, "mask-length", "Prefix length")]
        } else {
            vec![
                arg(ArgKind::Mask, "mask", "Mask"),
                arg(LEN4, "mask-length", "Mask length"),
            ]
        };
        arg(addr, "ip-address", "Destination").sub(masks.into_iter().map(|m| {
            m.uend().sub([
                arg(addr, "nexthop-address", "Next hop")
                    .end_both()
                    .sub(tail()),
                arg(ArgKind::IfName, "interface-name", "Outgoing interface")
                    .end_both()
                    .sub(tail())
                    .then(
                        arg(addr, "nexthop-address", "Next hop")
                            .end_both()
                            .sub(tail()),
                    ),
            ])
        }))
    };
    let (rank, f): (u16, crate::grammar::PrintFn) = if v6 {
        (91, |c, _| print_static_routes(c, true))
    } else {
        (90, |c, _| print_static_routes(c, false))
    };
    kw("route-static", "Static route")
        .act(static_route)
        .print(rank, f)
        .sub([
            dest(),
            kw("vpn-instance", "VPN instance")
                .then(arg(NAME31, "vpn-instance-name", "VPN instance").then(dest())),
        ])
}

fn print_static_routes(c: &Config, v6: bool) -> Vec<Item> {
    c.static_routes
        .iter()
        .filter(|r| r.prefix.addr().is_ipv6() == v6)
        .map(|r| {
            let mut l = String::from(if v6 {
                "ipv6 route-static"
            } else {
                "ip route-static"
            });
            if let Some(v) = &r.vpn_instance {
                l.push_str(&format!(" vpn-instance {v}"));
            }
            match r.prefix {
                ipnet::IpNet::V4(p) => l.push_str(&format!(" {} {}", p.addr(), p.netmask())),
                ipnet::IpNet::V6(p) => l.push_str(&format!(" {} {}", p.addr(), p.prefix_len())),
            }
            if let Some(i) = &r.interface {
                l.push_str(&format!(" {i}"));
            }
            if let Some(n) = r.next_hop {
                l.push_str(&format!(" {n}"));
            }
            if let Some(p) = r.preference {
                l.push_str(&format!(" preference {p}"));
            }
            if let Some(t) = r.tag {
                l.push_str(&format!(" tag {t}"));
            }
            if let Some(d) = &r.description {
                l.push_str(&format!(" description {d}"));
            }
            Item::Line(l)
        })
        .collect()
}

fn static_route(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let dest = m
        .ip("ip-address")
        .expect("grammar: the destination is present");
    let len = match dest {
        IpAddr::V4(_) => mask(m, "mask", "mask-length"),
        IpAddr::V6(_) => m.int("mask-length").map(|l| l as u8),
    }
    .expect("grammar: the mask is present");
    let prefix = network_of(dest, len).ok_or_else(|| Reject::new("Error: Wrong mask."))?;
    let interface = match m.get("interface-name") {
        Some(Value::IfName(n)) => Some(n.clone()),
        _ => None,
    };
    Ok(Change::StaticRoute {
        route: StaticRoute {
            vpn_instance: m.str("vpn-instance-name").map(str::to_owned),
            prefix,
            interface,
            next_hop: m.ip("nexthop-address"),
            preference: m.int("preference").map(|p| p as u8),
            tag: m.int("tag"),
            description: m.str("text").map(str::to_owned),
        },
        undo: m.undo,
    })
}

fn bgp_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::Bgp {
        asn: m.asn("as-number"),
        undo: m.undo,
    })
}

/// `bgp 100`, `bgp 1.100`: the AS number as written.
pub(crate) fn bgp_header(asn: crate::value::Written<tern_types::Asn>) -> String {
    format!("bgp {asn}")
}

/// `route-policy P permit node 10`.
pub(crate) fn route_policy_header(name: &str, mode: MatchMode, node: u16) -> String {
    format!("route-policy {name} {} node {node}", mode.as_str())
}

fn print_route_policies(c: &Config, _: &Scope) -> Vec<Item> {
    c.route_policies
        .iter()
        .flat_map(|(name, p)| {
            p.nodes.iter().map(move |(n, node)| Item::Block {
                header: route_policy_header(name, node.mode, *n),
                view: ViewId::RoutePolicy,
                scope: Scope::RoutePolicy {
                    name: name.clone(),
                    node: *n,
                },
            })
        })
        .collect()
}

fn route_policy_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::RoutePolicy {
        name: m.str("route-policy-name").unwrap_or_default().to_owned(),
        node: m.int("node").map(|n| n as u16),
        mode: if m.has("deny") {
            MatchMode::Deny
        } else {
            MatchMode::Permit
        },
        undo: m.undo,
    })
}
