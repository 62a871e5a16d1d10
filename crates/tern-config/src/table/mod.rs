//! The grammar table: every command tern accepts, per view, with its action.
//!
//! Read it as the vendor's syntax written as a tree. `kw` is a keyword, `arg` a typed
//! parameter (named as in the vendor reference), `.run(f)` marks where the plain form may end
//! (and which action builds its change), `.uend()` where the `undo` form may end, `.enters(v)`
//! the view a command opens, `.kept("feature")` a subtree stored verbatim, not acted on.

use std::net::IpAddr;

use ipnet::{Ipv4Net, Ipv6Net};
use tern_types::Afi;

use crate::Reject;
use crate::change::{AfAttr, AfPeerAttr, Change, Clause, PeerScope, SessionAttr, network_of};
use crate::grammar::{Grammar, Matched, Node, SessionCmd, any_order, arg, kw};
use crate::model::{
    AfKey, AfPeer, Apply, Config, ConnectInterface, ImportProtocol, ImportRoute, Match, MatchMode,
    Network, Password, Peer, PolicyNode, PrefixEntry, PrefixList, RtDirection, StaticRoute, Timers,
};
use crate::print::Item;
use crate::value::{ArgKind, Value};
use crate::view::{Scope, ViewId};

const NAME31: ArgKind = ArgKind::Word { max: 31 };
const POLICY: ArgKind = ArgKind::Word { max: 200 };
const HOST: ArgKind = ArgKind::Word { max: 246 };
const KEY: ArgKind = ArgKind::Word { max: 255 };
const HOPS: ArgKind = ArgKind::Int { min: 1, max: 255 };
const PREFIX_NAME: ArgKind = ArgKind::Word { max: 169 };
const NODE: ArgKind = ArgKind::Int { min: 0, max: 65535 };
const LEN4: ArgKind = ArgKind::Int { min: 0, max: 32 };
const LEN6: ArgKind = ArgKind::Int { min: 0, max: 128 };
const COMMIT_ID: ArgKind = ArgKind::Int {
    min: 1_000_000_001,
    max: u32::MAX,
};
const U32: ArgKind = ArgKind::Int {
    min: 0,
    max: u32::MAX,
};

/// Builds the whole grammar.
pub(crate) fn build() -> Grammar {
    let mut g = Grammar::new();
    g.add(
        ViewId::User,
        [
            kw("system-view", "Enter the system view").session(SessionCmd::SystemView),
            display(),
            kw("rollback", "Roll the configuration back").then(
                kw("configuration", "Configuration").sub([
                    kw("to", "To the configuration after a commit").then(
                        kw("commit-id", "Commit ID").then(
                            arg(COMMIT_ID, "commit-id", "Commit ID").session(SessionCmd::Manage),
                        ),
                    ),
                    kw("last", "Undo the last commits").then(
                        arg(
                            ArgKind::Int { min: 1, max: 80 },
                            "number",
                            "Number of commits",
                        )
                        .session(SessionCmd::Manage),
                    ),
                ]),
            ),
            kw("save", "Save the running configuration to the startup file")
                .session(SessionCmd::Manage),
            kw("quit", "Exit from the current mode").session(SessionCmd::Quit),
        ],
    );
    g.add(ViewId::System, system());
    g.add(ViewId::Interface, interface());
    g.add(ViewId::VpnInstance, vpn_instance());
    g.add(ViewId::VpnInstanceAf, vpn_instance_af());
    g.add(ViewId::Bgp, bgp());
    for (view, afi, safi) in [
        (ViewId::BgpIpv4Unicast, Afi::IPV4, Safi::Unicast),
        (ViewId::BgpVpnv4, Afi::IPV4, Safi::Vpn),
        (ViewId::BgpLabeled, Afi::IPV4, Safi::Labeled),
        (ViewId::BgpVrf4, Afi::IPV4, Safi::Vrf),
        (ViewId::BgpIpv6Unicast, Afi::IPV6, Safi::Unicast),
        (ViewId::BgpVpnv6, Afi::IPV6, Safi::Vpn),
        (ViewId::BgpVrf6, Afi::IPV6, Safi::Vrf),
    ] {
        g.add(view, bgp_family(afi, safi));
    }
    g.add(ViewId::Ospf, ospf());
    g.add(ViewId::OspfArea, ospf_area());
    g.add(ViewId::Mpls, mpls_view());
    g.add(
        ViewId::MplsLdp,
        ["ipv4-family", "ipv6-family"].map(|w| {
            kw(w, "LDP address family (kept, not active)")
                .kept("mpls ldp")
                .sep()
                .end_both()
                .enters(ViewId::MplsLdpAf)
        }),
    );
    g.add(ViewId::MplsLdpAf, Vec::new());
    g.add(ViewId::RoutePolicy, route_policy_view());
    for v in ViewId::ALL {
        if v != ViewId::User {
            g.add(v, common());
        }
    }
    g
}

/// Commands valid in every configuration view.
fn common() -> Vec<Node> {
    vec![
        kw("quit", "Exit from the current mode").session(SessionCmd::Quit),
        kw("return", "Return to the user view").session(SessionCmd::Return),
        kw("commit", "Commit the configuration")
            .session(SessionCmd::Manage)
            .then(kw("description", "Describe the commit").then(
                arg(ArgKind::Text, "text", "Commit description").session(SessionCmd::Manage),
            )),
        kw(
            "abort",
            "Discard the uncommitted changes and return to the user view",
        )
        .session(SessionCmd::Manage),
        kw("clear", "Clear").then(
            kw("configuration", "Configuration").then(
                kw("candidate", "Discard the uncommitted changes").session(SessionCmd::Manage),
            ),
        ),
        display(),
    ]
}

fn display() -> Node {
    kw("display", "Display information").sub([
        kw("current-configuration", "Current configuration").session(SessionCmd::DisplayCurrent),
        kw("this", "Configuration of the current view").session(SessionCmd::DisplayThis),
        kw("configuration", "Configuration").sub([
            kw("candidate", "The candidate configuration")
                .session(SessionCmd::Manage)
                .then(
                    kw("changes", "Changes against the running configuration")
                        .session(SessionCmd::Manage),
                ),
            kw("commit", "Commit history").sub([
                kw("list", "Commit list")
                    .session(SessionCmd::Manage)
                    .then(kw("verbose", "Details").session(SessionCmd::Manage)),
                kw("changes", "Changes of a commit")
                    .then(kw("at", "At a commit").then(
                        arg(COMMIT_ID, "commit-id", "Commit ID").session(SessionCmd::Manage),
                    )),
            ]),
        ]),
        display_bgp(),
        display_ip_table("ip", "IP information"),
        display_ip_table("ipv6", "IPv6 information"),
    ])
}

/// `display ip|ipv6 routing-table [vpn-instance V]` (served by ternd).
fn display_ip_table(word: &'static str, help: &'static str) -> Node {
    let show = SessionCmd::Show;
    kw(word, help).then(
        kw("routing-table", "Routing table").session(show).then(
            kw("vpn-instance", "A VPN instance's routing table")
                .then(arg(NAME31, "vpn-instance-name", "VPN instance name").session(show)),
        ),
    )
}

/// The daemon's BGP displays (served by ternd; the syntax is the vendor's).
fn display_bgp() -> Node {
    let show = SessionCmd::Show;
    let peer = || kw("peer", "Peers of the address family").session(show);
    let table = || {
        kw("routing-table", "BGP routing table").session(show).sub([
            arg(
                ArgKind::IpAddr,
                "ip-address",
                "Destination address (longest match)",
            )
            .session(show),
            kw("label", "Labeled routes with their in- and out-labels").session(show),
            kw("peer", "Routes of one peer").then(
                arg(ArgKind::IpAddr, "peer-address", "Peer address").sub([
                    kw("received-routes", "Routes received from the peer").session(show),
                    kw("accepted-routes", "Received routes import policy accepted").session(show),
                    kw("advertised-routes", "Routes advertised to the peer").session(show),
                ]),
            ),
        ])
    };
    let all = || kw("all", "All peers").sub([peer(), table()]);
    let vpn = |name: &'static str, help: &'static str| {
        kw(name, help).sub([
            all(),
            kw("vpn-instance", "A VPN instance's routes")
                .then(arg(NAME31, "vpn-instance-name", "VPN instance name").then(table())),
            kw("route-distinguisher", "Routes of one route distinguisher")
                .then(arg(ArgKind::Rd, "route-distinguisher", "RD").then(table())),
        ])
    };
    kw("bgp", "BGP information").sub([
        kw("peer", "BGP peers").session(show).then(
            arg(ArgKind::IpAddr, "peer-address", "Peer address")
                .session(show)
                .sub([
                    kw("verbose", "Detailed information").session(show),
                    kw("log-info", "Peer state changes and errors").session(show),
                ]),
        ),
        table(),
        vpn("vpnv4", "BGP VPNv4 address family"),
        vpn("vpnv6", "BGP VPNv6 address family"),
        kw("labeled", "BGP labeled address family").sub([peer(), table()]),
        kw("ipv6", "BGP IPv6 address family").sub([peer(), table()]),
    ])
}

// ---------------------------------------------------------------------------------------------
// System view

fn system() -> Vec<Node> {
    vec![
        kw("sysname", "Set the host name")
            .act(sysname)
            .print(10, |c, _| {
                vec![Item::Line(format!("sysname {}", c.sysname))]
            })
            .uend()
            .then(arg(HOST, "host-name", "Host name").end()),
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
        kw("ip", "IP configuration").sub([
            kw("vpn-instance", "Configure a VPN instance").then(
                arg(NAME31, "vpn-instance-name", "VPN instance name")
                    .run_both(vpn_instance_enter)
                    .print(20, print_vpn_instances)
                    .enters(ViewId::VpnInstance),
            ),
            ip_prefix(false),
            ip_prefix(true),
            route_static(false),
        ]),
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
            kw("description", "Description").then(arg(ArgKind::Text, "text", "Text").end_both()),
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

fn sysname(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::Sysname(if m.undo {
        None
    } else {
        m.str("host-name").map(str::to_owned)
    }))
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

fn vpn_instance_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::VpnInstance {
        name: m.str("vpn-instance-name").unwrap_or_default().to_owned(),
        undo: m.undo,
    })
}

fn bgp_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::Bgp {
        asn: m.asn("as-number"),
        undo: m.undo,
    })
}

// ---------------------------------------------------------------------------------------------
// Interface view

fn interface() -> Vec<Node> {
    let v4 = || {
        arg(ArgKind::Ipv4, "ip-address", "IPv4 address").sub(
            [
                arg(ArgKind::Mask, "mask", "Mask"),
                arg(LEN4, "mask-length", "Mask length"),
            ]
            .map(|m| m.end_both().then(kw("sub", "Secondary address").end_both())),
        )
    };
    vec![
        kw("shutdown", "Shut down the interface")
            .run_both(if_shutdown)
            .print(10, |c, s| {
                let line = match with_if(c, s, |i| i.shutdown) {
                    Some(Some(true)) => "shutdown",
                    Some(Some(false)) => "undo shutdown",
                    _ => return vec![],
                };
                vec![Item::Line(line.into())]
            }),
        kw("description", "Interface description")
            .act(if_description)
            .print(5, |c, s| {
                with_if(c, s, |i| i.description.clone())
                    .flatten()
                    .map(|d| Item::Line(format!("description {d}")))
                    .into_iter()
                    .collect()
            })
            .uend()
            .then(arg(ArgKind::Text, "text", "Text").end()),
        kw("ip", "IP configuration").sub([
            kw("address", "IPv4 address")
                .act(if_ipv4)
                .print(30, |c, s| {
                    let addrs = with_if(c, s, |i| i.ipv4.clone()).unwrap_or_default();
                    addrs
                        .iter()
                        .enumerate()
                        .map(|(k, a)| {
                            let sub = if k > 0 { " sub" } else { "" };
                            Item::Line(format!("ip address {} {}{sub}", a.addr(), a.netmask()))
                        })
                        .collect()
                })
                .uend()
                .then(v4()),
            kw("binding", "Bind to a VPN instance").then(
                kw("vpn-instance", "VPN instance").then(
                    arg(NAME31, "vpn-instance-name", "VPN instance")
                        .run_both(if_binding)
                        .print(20, |c, s| {
                            with_if(c, s, |i| i.vpn_instance.clone())
                                .flatten()
                                .map(|v| Item::Line(format!("ip binding vpn-instance {v}")))
                                .into_iter()
                                .collect()
                        }),
                ),
            ),
        ]),
        kw("ipv6", "IPv6 configuration").sub([
            kw("enable", "Enable IPv6")
                .run_both(if_ipv6_enable)
                .print(40, |c, s| {
                    if with_if(c, s, |i| i.ipv6_enable) == Some(true) {
                        vec![Item::Line("ipv6 enable".into())]
                    } else {
                        vec![]
                    }
                }),
            kw("address", "IPv6 address")
                .act(if_ipv6)
                .print(50, |c, s| {
                    let addrs = with_if(c, s, |i| i.ipv6.clone()).unwrap_or_default();
                    addrs
                        .iter()
                        .map(|a| Item::Line(format!("ipv6 address {a}")))
                        .collect()
                })
                .uend()
                .sub([
                    arg(
                        ArgKind::Ipv6Prefix,
                        "ipv6-address/prefix-length",
                        "Address/length",
                    )
                    .end_both(),
                    arg(ArgKind::Ipv6, "ipv6-address", "Address").then(
                        arg(ArgKind::Int { min: 1, max: 128 }, "prefix-length", "Length")
                            .end_both(),
                    ),
                ]),
        ]),
        kw("mpls", "MPLS on the interface (kept, not active)")
            .kept("mpls")
            .rank(90)
            .end_both()
            .then(
                kw("ldp", "LDP on the interface")
                    .kept("mpls ldp")
                    .end_both(),
            ),
    ]
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

/// `bgp 100`.
pub(crate) fn bgp_header(asn: tern_types::Asn) -> String {
    format!("bgp {asn}")
}

/// `ip vpn-instance vpn1`.
pub(crate) fn vpn_instance_header(name: &str) -> String {
    format!("ip vpn-instance {name}")
}

/// `ipv4-family` / `ipv6-family` in a VPN instance.
pub(crate) fn vpn_af_header(afi: Afi) -> String {
    if afi == Afi::IPV6 {
        "ipv6-family".into()
    } else {
        "ipv4-family".into()
    }
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

fn with_if<T>(c: &Config, s: &Scope, f: impl Fn(&crate::model::Interface) -> T) -> Option<T> {
    match s {
        Scope::Interface(n) => c.interfaces.get(n).map(f),
        _ => None,
    }
}

fn scope_if(s: &Scope) -> String {
    match s {
        Scope::Interface(n) => n.clone(),
        _ => String::new(),
    }
}

fn if_shutdown(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::IfShutdown {
        name: scope_if(s),
        shutdown: !m.undo,
    })
}

fn if_description(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::IfDescription {
        name: scope_if(s),
        text: if m.undo {
            None
        } else {
            m.str("text").map(str::to_owned)
        },
    })
}

fn if_ipv4(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let addr = match (m.ip("ip-address"), mask(m, "mask", "mask-length")) {
        (Some(IpAddr::V4(a)), Some(l)) => Ipv4Net::new(a, l).ok(),
        _ => None,
    };
    Ok(Change::IfIpv4 {
        name: scope_if(s),
        addr,
        sub: m.has("sub"),
        undo: m.undo,
    })
}

fn if_binding(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::IfBinding {
        name: scope_if(s),
        vpn: m.str("vpn-instance-name").unwrap_or_default().to_owned(),
        undo: m.undo,
    })
}

fn if_ipv6_enable(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::IfIpv6Enable {
        name: scope_if(s),
        on: !m.undo,
    })
}

fn if_ipv6(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let addr = match (
        m.get("ipv6-address/prefix-length"),
        m.ip("ipv6-address"),
        m.int("prefix-length"),
    ) {
        (Some(Value::Ipv6Prefix(a, l)), _, _) => Ipv6Net::new(*a, *l).ok(),
        (_, Some(IpAddr::V6(a)), Some(l)) => Ipv6Net::new(a, l as u8).ok(),
        _ => None,
    };
    Ok(Change::IfIpv6 {
        name: scope_if(s),
        addr,
        undo: m.undo,
    })
}

fn mask(m: &Matched, dotted: &str, len: &str) -> Option<u8> {
    m.mask_len(dotted).or_else(|| m.mask_len(len))
}

// ---------------------------------------------------------------------------------------------
// VPN instance views

fn vpn_instance() -> Vec<Node> {
    [
        ("ipv4-family", Afi::IPV4, 10),
        ("ipv6-family", Afi::IPV6, 11),
    ]
    .map(|(w, afi, rank)| {
        let f: crate::grammar::PrintFn = if afi == Afi::IPV6 {
            |c, s| print_vpn_af(c, s, Afi::IPV6)
        } else {
            |c, s| print_vpn_af(c, s, Afi::IPV4)
        };
        kw(w, "Address family of the VPN instance")
            .run_both(vpn_af_enter)
            .print(rank, f)
            .enters(ViewId::VpnInstanceAf)
    })
    .into()
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

fn print_vpn_af(c: &Config, s: &Scope, afi: Afi) -> Vec<Item> {
    let Scope::VpnInstance(name) = s else {
        return vec![];
    };
    c.vpn_instances
        .get(name)
        .and_then(|v| v.af(afi))
        .map(|_| Item::Block {
            header: vpn_af_header(afi),
            view: ViewId::VpnInstanceAf,
            scope: Scope::VpnAf {
                name: name.clone(),
                afi,
            },
        })
        .into_iter()
        .collect()
}

fn with_vpn_af<T>(c: &Config, s: &Scope, f: impl Fn(&crate::model::VpnAf) -> T) -> Option<T> {
    match s {
        Scope::VpnAf { name, afi } => c.vpn_instances.get(name).and_then(|v| v.af(*afi)).map(f),
        _ => None,
    }
}

/// A route target as VRP writes it (`1:1`, without the `RT:` of the display form).
fn rt_text(rt: &tern_types::ExtCommunity) -> String {
    let s = rt.to_string();
    s.strip_prefix("RT:").map(str::to_owned).unwrap_or(s)
}

fn vpn_af_enter(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let name = match s {
        Scope::VpnInstance(n) => n.clone(),
        _ => String::new(),
    };
    let afi = if m.has("ipv6-family") {
        Afi::IPV6
    } else {
        Afi::IPV4
    };
    Ok(Change::VpnAf {
        name,
        afi,
        undo: m.undo,
    })
}

/// `vpn-target <rt> [<rt> ...up to 8] [export-extcommunity | import-extcommunity | both]`.
fn vpn_targets(depth: usize) -> Node {
    let mut n = arg(ArgKind::Rt, "vpn-target", "Route target")
        .end_both()
        .sub(
            [
                ("export-extcommunity", "Export route targets"),
                ("import-extcommunity", "Import route targets"),
                ("both", "Import and export route targets"),
            ]
            .map(|(w, h)| kw(w, h).end_both()),
        );
    if depth > 1 {
        n = n.then(vpn_targets(depth - 1));
    }
    n
}

fn vpn_instance_af() -> Vec<Node> {
    vec![
        kw("route-distinguisher", "Route distinguisher")
            .print(10, |c, s| {
                with_vpn_af(c, s, |a| a.rd)
                    .flatten()
                    .map(|rd| Item::Line(format!("route-distinguisher {rd}")))
                    .into_iter()
                    .collect()
            })
            .then(arg(ArgKind::Rd, "route-distinguisher", "RD").run_both(vpn_rd)),
        // One line per route target and direction, export first.
        kw("vpn-target", "Route targets")
            .act(vpn_target)
            .print(30, |c, s| {
                with_vpn_af(c, s, |a| {
                    let exp = a.export_rt.iter().map(|rt| (rt, "export-extcommunity"));
                    let imp = a.import_rt.iter().map(|rt| (rt, "import-extcommunity"));
                    exp.chain(imp)
                        .map(|(rt, d)| Item::Line(format!("vpn-target {} {d}", rt_text(rt))))
                        .collect()
                })
                .unwrap_or_default()
            })
            .then(vpn_targets(8)),
        kw("apply-label", "Label allocation")
            .print(20, |c, s| {
                if with_vpn_af(c, s, |a| a.apply_label_per_instance) == Some(true) {
                    vec![Item::Line("apply-label per-instance".into())]
                } else {
                    vec![]
                }
            })
            .then(kw("per-instance", "One label per VPN instance").run_both(vpn_apply_label)),
    ]
}

fn scope_vpn_af(s: &Scope) -> (String, Afi) {
    match s {
        Scope::VpnAf { name, afi } => (name.clone(), *afi),
        _ => (String::new(), Afi::IPV4),
    }
}

fn vpn_rd(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let (name, afi) = scope_vpn_af(s);
    let Some(Value::Rd(rd)) = m.get("route-distinguisher") else {
        unreachable!("grammar: the RD argument is present")
    };
    Ok(Change::VpnRd {
        name,
        afi,
        rd: *rd,
        undo: m.undo,
    })
}

fn vpn_target(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let (name, afi) = scope_vpn_af(s);
    let rts = m
        .all("vpn-target")
        .filter_map(|v| match v {
            Value::Rt(rt) => Some(*rt),
            _ => None,
        })
        .collect();
    let dir = if m.has("export-extcommunity") {
        RtDirection::Export
    } else if m.has("import-extcommunity") {
        RtDirection::Import
    } else {
        RtDirection::Both
    };
    Ok(Change::VpnTarget {
        name,
        afi,
        rts,
        dir,
        undo: m.undo,
    })
}

fn vpn_apply_label(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let (name, afi) = scope_vpn_af(s);
    Ok(Change::VpnApplyLabel {
        name,
        afi,
        on: !m.undo,
    })
}

// ---------------------------------------------------------------------------------------------
// BGP view

fn bgp() -> Vec<Node> {
    vec![
        kw("router-id", "Router ID")
            .act(router_id)
            .print(10, |c, _| {
                c.bgp
                    .as_ref()
                    .and_then(|b| b.router_id)
                    .map(|r| Item::Line(format!("router-id {r}")))
                    .into_iter()
                    .collect()
            })
            .uend()
            .then(arg(ArgKind::Ipv4, "router-id", "Router ID").end()),
        // Per-family peer commands in the BGP view apply to IPv4 unicast (vendor reference:
        // `peer enable`, `peer route-policy`, ... list "BGP view" among their views).
        peer(true, true),
        network(false),
        import_route(),
        // Families print in VRP's order: IPv4 unicast, labeled unicast, VPNv4, IPv6 unicast,
        // VPNv6, then the VPN instance families (IPv4, then IPv6), each after ` #`.
        kw("ipv4-family", "IPv4 address family")
            .act(family_enter)
            .sub([
                kw("unicast", "Unicast")
                    .end_both()
                    .enters(ViewId::BgpIpv4Unicast)
                    .print(100, |c, _| print_family(c, |k| *k == AfKey::Ipv4Unicast))
                    .sep(),
                kw("vpnv4", "VPNv4")
                    .end_both()
                    .enters(ViewId::BgpVpnv4)
                    .print(102, |c, _| print_family(c, |k| *k == AfKey::Vpnv4))
                    .sep(),
                kw("labeled-unicast", "Labeled unicast")
                    .end_both()
                    .enters(ViewId::BgpLabeled)
                    .print(101, |c, _| print_family(c, |k| *k == AfKey::Ipv4Labeled))
                    .sep(),
                kw("vpn-instance", "VPN instance").then(
                    arg(NAME31, "vpn-instance-name", "VPN instance")
                        .end_both()
                        .enters(ViewId::BgpVrf4)
                        .print(105, |c, _| {
                            print_family(
                                c,
                                |k| matches!(k, AfKey::Vrf { afi, .. } if *afi == Afi::IPV4),
                            )
                        })
                        .sep(),
                ),
            ]),
        kw("ipv6-family", "IPv6 address family")
            .act(family_enter)
            .sub([
                kw("unicast", "Unicast")
                    .end_both()
                    .enters(ViewId::BgpIpv6Unicast)
                    .print(103, |c, _| print_family(c, |k| *k == AfKey::Ipv6Unicast))
                    .sep(),
                kw("vpnv6", "VPNv6")
                    .end_both()
                    .enters(ViewId::BgpVpnv6)
                    .print(104, |c, _| print_family(c, |k| *k == AfKey::Vpnv6))
                    .sep(),
                kw("vpn-instance", "VPN instance").then(
                    arg(NAME31, "vpn-instance-name", "VPN instance")
                        .end_both()
                        .enters(ViewId::BgpVrf6)
                        .print(106, |c, _| {
                            print_family(
                                c,
                                |k| matches!(k, AfKey::Vrf { afi, .. } if *afi == Afi::IPV6),
                            )
                        })
                        .sep(),
                ),
            ]),
    ]
}

/// The BGP family blocks whose key matches. IPv4 unicast exists with every BGP instance; VRP
/// leaves it out while it holds nothing (an IPv6-only CE).
fn print_family(c: &Config, which: impl Fn(&AfKey) -> bool) -> Vec<Item> {
    let Some(bgp) = &c.bgp else { return vec![] };
    let implicit_empty = |k: &AfKey, f: &crate::model::BgpFamily| {
        *k == AfKey::Ipv4Unicast
            && *f == crate::model::BgpFamily::default()
            && !c.kept.iter().any(|l| {
                l.path.len() >= 2 && l.path[0] == bgp_header(bgp.asn) && l.path[1] == k.header()
            })
    };
    bgp.families
        .iter()
        .filter(|(k, f)| which(k) && !implicit_empty(k, f))
        .map(|(k, _)| k)
        .map(|k| Item::Block {
            header: k.header(),
            view: family_view(k),
            scope: Scope::BgpAf(k.clone()),
        })
        .collect()
}

/// The view a BGP family opens.
pub(crate) fn family_view(k: &AfKey) -> ViewId {
    match k {
        AfKey::Ipv4Unicast => ViewId::BgpIpv4Unicast,
        AfKey::Vpnv4 => ViewId::BgpVpnv4,
        AfKey::Ipv4Labeled => ViewId::BgpLabeled,
        AfKey::Ipv6Unicast => ViewId::BgpIpv6Unicast,
        AfKey::Vpnv6 => ViewId::BgpVpnv6,
        AfKey::Vrf { afi, .. } if *afi == Afi::IPV6 => ViewId::BgpVrf6,
        AfKey::Vrf { .. } => ViewId::BgpVrf4,
    }
}

fn router_id(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(Change::RouterId(match m.ip("router-id") {
        Some(IpAddr::V4(a)) if !m.undo => Some(a),
        _ => None,
    }))
}

fn family_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let v6 = m.has("ipv6-family");
    let af = if let Some(name) = m.str("vpn-instance-name") {
        AfKey::Vrf {
            afi: if v6 { Afi::IPV6 } else { Afi::IPV4 },
            name: name.to_owned(),
        }
    } else if m.has("vpnv4") {
        AfKey::Vpnv4
    } else if m.has("vpnv6") {
        AfKey::Vpnv6
    } else if m.has("labeled-unicast") {
        AfKey::Ipv4Labeled
    } else if v6 {
        AfKey::Ipv6Unicast
    } else {
        AfKey::Ipv4Unicast
    };
    Ok(Change::Family { af, undo: m.undo })
}

/// `peer <address> ...`: session commands (`session`) and/or per-family commands (`af`).
fn peer(session: bool, af: bool) -> Node {
    let mut subs = Vec::new();
    if session {
        subs.push(
            kw("as-number", "AS number of the peer")
                .act(peer_as)
                .uend()
                .then(arg(ArgKind::Asn, "as-number", "AS number, plain or dotted").end()),
        );
        subs.push(
            kw("connect-interface", "Source interface or address")
                .act(peer_session)
                .uend()
                .sub([
                    arg(ArgKind::IfName, "interface-name", "Interface")
                        .end()
                        .then(arg(ArgKind::Ipv4, "ipv4-source-address", "Source address").end()),
                    arg(ArgKind::IfType, "interface-type", "Interface type").then(
                        arg(ArgKind::IfNumber, "interface-number", "Interface number")
                            .end()
                            .then(
                                arg(ArgKind::Ipv4, "ipv4-source-address", "Source address").end(),
                            ),
                    ),
                    arg(ArgKind::IpAddr, "ipv4-source-address", "Source address").end(),
                ]),
        );
        for (w, h) in [
            ("ebgp-max-hop", "Maximum hops to an EBGP peer"),
            ("valid-ttl-hops", "GTSM: valid TTL hops"),
        ] {
            subs.push(
                kw(w, h)
                    .act(peer_session)
                    .end_both()
                    .then(arg(HOPS, "hop-count", "Hop count").end()),
            );
        }
        subs.push(
            kw("password", "TCP MD5 authentication")
                .act(peer_session)
                .uend()
                .sub([
                    kw("cipher", "Cipher text").then(arg(KEY, "cipher-password", "Key").end()),
                    kw("simple", "Plain text").then(arg(KEY, "simple-password", "Key").end()),
                ]),
        );
        subs.push(
            kw("timer", "Timers").act(peer_session).then(
                kw("keepalive", "Keepalive interval").uend().then(
                    arg(
                        ArgKind::Int { min: 0, max: 21845 },
                        "keepalive-time",
                        "Seconds",
                    )
                    .then(kw("hold", "Hold time").then(
                        arg(ArgKind::Int { min: 0, max: 65535 }, "hold-time", "Seconds").end(),
                    )),
                ),
            ),
        );
        subs.push(
            kw("description", "Description")
                .act(peer_session)
                .uend()
                .then(arg(ArgKind::Text, "description-text", "Text").end()),
        );
        subs.push(
            kw("ignore", "Disable the session")
                .act(peer_session)
                .end_both(),
        );
    }
    if af {
        for (w, h) in [
            ("enable", "Exchange routes of this family with the peer"),
            ("reflect-client", "The peer is a route reflector client"),
            ("next-hop-invariable", "Do not change the next hop"),
            ("next-hop-local", "Set the next hop to the local address"),
            ("label-route-capability", "Exchange labeled routes"),
        ] {
            subs.push(kw(w, h).run_both(peer_af));
        }
        subs.push(
            kw("route-policy", "Apply a route policy")
                .act(peer_af)
                .then(arg(POLICY, "route-policy-name", "Route policy").sub([
                    kw("import", "Inbound").end_both(),
                    kw("export", "Outbound").end_both(),
                ])),
        );
    }
    let addr = arg(ArgKind::IpAddr, "peer-address", "Peer address").sub(subs);
    let addr = if session {
        addr.act(peer_as).uend()
    } else {
        addr
    };
    kw("peer", "Configure a BGP peer")
        .print(50, print_peers)
        .then(addr)
}

/// Every `peer` line of a view, grouped by peer, peers in address order. The BGP view holds
/// the public peers' session lines; a public family its peers' per-family lines; a VPN
/// instance family its own peers' session lines followed by their per-family lines.
fn print_peers(c: &Config, s: &Scope) -> Vec<Item> {
    let Some(bgp) = &c.bgp else { return vec![] };
    let mut out = Vec::new();
    match s {
        Scope::Bgp => {
            for p in bgp.peers.values() {
                peer_session_lines(p, &mut out);
            }
        }
        Scope::BgpAf(af) => {
            let Some(fam) = bgp.families.get(af) else {
                return out;
            };
            let vrf = af.vpn_instance().is_some();
            let mut addrs: Vec<IpAddr> = fam.peers.keys().copied().collect();
            if vrf {
                addrs.extend(fam.vrf_peers.keys().copied());
                addrs.sort_unstable();
                addrs.dedup();
            }
            for a in addrs {
                let session = fam.vrf_peers.get(&a);
                if let Some(p) = session {
                    peer_session_lines(p, &mut out);
                }
                if let Some(ap) = fam.peers.get(&a) {
                    // Enabled on creation: a VPN instance family's own peers. (A new public
                    // IPv4 peer is enabled in IPv4 unicast too, but VRP prints that line.)
                    let auto = session.is_some()
                        || (*af == AfKey::Ipv4Unicast && a.is_ipv4() && bgp.peers.contains_key(&a));
                    peer_af_lines(a, ap, auto, session.is_some(), &mut out);
                }
            }
        }
        _ => {}
    }
    out
}

/// `peer X as-number`, then the session settings, in VRP's order.
fn peer_session_lines(p: &Peer, out: &mut Vec<Item>) {
    let a = p.addr;
    let mut line = |rest: String| out.push(Item::Line(format!("peer {a} {rest}")));
    line(format!("as-number {}", p.asn));
    if let Some(d) = &p.description {
        line(format!("description {d}"));
    }
    if let Some(h) = p.ebgp_max_hop {
        line(format!("ebgp-max-hop {h}"));
    }
    if let Some(h) = p.valid_ttl_hops {
        line(format!("valid-ttl-hops {h}"));
    }
    if let Some(ci) = &p.connect_interface {
        let parts: Vec<String> = ci
            .interface
            .iter()
            .cloned()
            .chain(ci.address.map(|x| x.to_string()))
            .collect();
        line(format!("connect-interface {}", parts.join(" ")));
    }
    if let Some(pw) = &p.password {
        line(match pw {
            Password::Cipher(k) => format!("password cipher {k}"),
            Password::Simple(k) => format!("password simple {k}"),
        });
    }
    if let Some(t) = p.timers {
        line(format!("timer keepalive {} hold {}", t.keepalive, t.hold));
    }
    if p.ignore {
        line("ignore".into());
    }
}

/// A peer's lines in one family. `auto`: the peer is enabled there on creation; `vrf`: a VPN
/// instance family's own peer, whose `enable` VRP does not print.
fn peer_af_lines(a: IpAddr, ap: &AfPeer, auto: bool, vrf: bool, out: &mut Vec<Item>) {
    match (ap.enable, auto) {
        (true, _) if !vrf => out.push(Item::Line(format!("peer {a} enable"))),
        (false, true) => out.push(Item::Line(format!("undo peer {a} enable"))),
        _ => {}
    }
    let mut line = |rest: &str| out.push(Item::Line(format!("peer {a} {rest}")));
    if let Some(p) = &ap.route_policy_import {
        line(&format!("route-policy {p} import"));
    }
    if let Some(p) = &ap.route_policy_export {
        line(&format!("route-policy {p} export"));
    }
    for (on, w) in [
        (ap.reflect_client, "reflect-client"),
        (ap.next_hop_invariable, "next-hop-invariable"),
        (ap.next_hop_local, "next-hop-local"),
        (ap.label_route_capability, "label-route-capability"),
    ] {
        if on {
            line(w);
        }
    }
}

fn peer_scope(s: &Scope) -> PeerScope {
    match s {
        Scope::BgpAf(k @ AfKey::Vrf { .. }) => PeerScope::Vrf(k.clone()),
        _ => PeerScope::Public,
    }
}

fn peer_addr(m: &Matched) -> IpAddr {
    m.ip("peer-address")
        .expect("grammar: the peer address is present")
}

fn peer_as(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::PeerAs {
        scope: peer_scope(s),
        addr: peer_addr(m),
        asn: if m.undo { None } else { m.asn("as-number") },
    })
}

fn hops(m: &Matched) -> Option<u8> {
    (!m.undo).then(|| m.int("hop-count").map_or(255, |h| h as u8))
}

fn peer_session(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let on = !m.undo;
    let attr = if m.has("connect-interface") {
        let interface = match m.get("interface-name") {
            Some(Value::IfName(n)) => Some(n.clone()),
            _ => m
                .str("interface-type")
                .map(|t| format!("{t}{}", m.str("interface-number").unwrap_or_default())),
        };
        let address = m.ip("ipv4-source-address");
        SessionAttr::ConnectInterface(on.then_some(ConnectInterface { interface, address }))
    } else if m.has("ebgp-max-hop") {
        SessionAttr::EbgpMaxHop(hops(m))
    } else if m.has("valid-ttl-hops") {
        SessionAttr::ValidTtlHops(hops(m))
    } else if m.has("password") {
        SessionAttr::Password(if !on {
            None
        } else if let Some(k) = m.str("cipher-password") {
            Some(Password::Cipher(k.to_owned()))
        } else {
            m.str("simple-password")
                .map(|k| Password::Simple(k.to_owned()))
        })
    } else if m.has("timer") {
        let t = match (m.int("keepalive-time"), m.int("hold-time")) {
            (Some(k), Some(h)) if on => {
                // ParaDef: hold is 0 or 3..65535; ExtraInfo: hold at least three keepalives.
                if h != 0 && (h < 3 || h < k.saturating_mul(3)) {
                    return Err(Reject::new(
                        "Error: The hold time must be 0, or at least 3 seconds and three times the keepalive time.",
                    ));
                }
                Some(Timers {
                    keepalive: k as u16,
                    hold: h as u16,
                })
            }
            _ => None,
        };
        SessionAttr::Timers(t)
    } else if m.has("description") {
        SessionAttr::Description(if on {
            m.str("description-text").map(str::to_owned)
        } else {
            None
        })
    } else {
        SessionAttr::Ignore(on)
    };
    Ok(Change::PeerSession {
        scope: peer_scope(s),
        addr: peer_addr(m),
        attr,
    })
}

fn scope_af(s: &Scope) -> AfKey {
    match s {
        Scope::BgpAf(k) => k.clone(),
        _ => AfKey::Ipv4Unicast,
    }
}

fn peer_af(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let on = !m.undo;
    let attr = if m.has("enable") {
        AfPeerAttr::Enable(on)
    } else if m.has("reflect-client") {
        AfPeerAttr::ReflectClient(on)
    } else if m.has("next-hop-invariable") {
        AfPeerAttr::NextHopInvariable(on)
    } else if m.has("next-hop-local") {
        AfPeerAttr::NextHopLocal(on)
    } else if m.has("label-route-capability") {
        AfPeerAttr::LabelRouteCapability(on)
    } else {
        let p = on.then(|| m.str("route-policy-name").unwrap_or_default().to_owned());
        if m.has("import") {
            AfPeerAttr::RoutePolicyImport(p)
        } else {
            AfPeerAttr::RoutePolicyExport(p)
        }
    };
    Ok(Change::AfPeer {
        af: scope_af(s),
        addr: peer_addr(m),
        attr,
    })
}

// ---------------------------------------------------------------------------------------------
// BGP address family views

#[derive(Clone, Copy, PartialEq, Eq)]
enum Safi {
    Unicast,
    Vpn,
    Labeled,
    Vrf,
}

fn bgp_family(afi: Afi, safi: Safi) -> Vec<Node> {
    let v6 = afi == Afi::IPV6;
    let mut out = vec![peer(safi == Safi::Vrf, true)];
    if safi != Safi::Vpn {
        out.push(network(v6));
        out.push(import_route());
    }
    if safi == Safi::Unicast {
        out.push(
            kw("synchronization", "IGP synchronization")
                .run_both(af_sync)
                .print(10, |c, s| {
                    on_off(with_fam(c, s, |f| f.synchronization), "synchronization")
                }),
        );
    }
    if safi == Safi::Vpn {
        out.push(
            kw("policy", "Policy").then(
                kw("vpn-target", "Filter VPN routes by route target")
                    .run_both(af_policy_vpn_target)
                    .print(11, |c, s| {
                        on_off(with_fam(c, s, |f| f.policy_vpn_target), "policy vpn-target")
                    }),
            ),
        );
    }
    if !v6 && matches!(safi, Safi::Unicast | Safi::Vrf) {
        out.push(
            kw(
                "import-rib",
                "Import routes of another RIB (kept, not active)",
            )
            .kept("import-rib")
            .rank(20)
            .then(
                kw("public", "Public network")
                    .then(kw("labeled-unicast", "Labeled unicast").end_both()),
            ),
        );
    }
    out.push(
        kw("reflector", "Route reflector").then(
            kw("cluster-id", "Cluster ID")
                .act(af_cluster_id)
                .print(12, |c, s| {
                    with_fam(c, s, |f| f.reflector_cluster_id)
                        .flatten()
                        .map(|id| Item::Line(format!("reflector cluster-id {id}")))
                        .into_iter()
                        .collect()
                })
                .uend()
                .sub([
                    arg(ArgKind::Ipv4, "cluster-id-ipv4", "Cluster ID").end(),
                    arg(
                        ArgKind::Int {
                            min: 1,
                            max: u32::MAX,
                        },
                        "cluster-id-value",
                        "Cluster ID",
                    )
                    .end(),
                ]),
        ),
    );
    out
}

/// `network` (in the BGP view it applies to IPv4 unicast).
fn network(v6: bool) -> Node {
    let policy = || {
        kw("route-policy", "Route policy")
            .then(arg(POLICY, "route-policy-name", "Route policy").end_both())
    };
    let n = kw("network", "Advertise a local route")
        .act(af_network)
        .print(30, |c, s| {
            let nets = with_fam(c, s, |f| f.networks.clone()).unwrap_or_default();
            nets.iter()
                .map(|n| {
                    let dest = match n.prefix {
                        ipnet::IpNet::V4(p) => format!("{} {}", p.addr(), p.netmask()),
                        ipnet::IpNet::V6(p) => format!("{} {}", p.addr(), p.prefix_len()),
                    };
                    let policy = n
                        .route_policy
                        .as_ref()
                        .map(|p| format!(" route-policy {p}"))
                        .unwrap_or_default();
                    Item::Line(format!("network {dest}{policy}"))
                })
                .collect()
        });
    if v6 {
        n.then(
            arg(ArgKind::Ipv6, "ipv6-address", "Address").then(
                arg(LEN6, "prefix-length", "Prefix length")
                    .end_both()
                    .then(policy()),
            ),
        )
    } else {
        n.then(
            arg(ArgKind::Ipv4, "ipv4-address", "Address")
                .end_both()
                .sub([
                    arg(ArgKind::Mask, "mask", "Mask").end_both().then(policy()),
                    arg(LEN4, "mask-length", "Mask length")
                        .end_both()
                        .then(policy()),
                    policy(),
                ]),
        )
    }
}

/// `import-route { direct | static } [ med m | route-policy p ] *`.
fn import_route() -> Node {
    kw("import-route", "Import routes of another protocol")
        .act(af_import_route)
        .print(40, |c, s| {
            let routes = with_fam(c, s, |f| f.import_routes.clone()).unwrap_or_default();
            routes
                .iter()
                .map(|r| {
                    let proto = match r.protocol {
                        ImportProtocol::Direct => "direct",
                        ImportProtocol::Static => "static",
                    };
                    let mut l = format!("import-route {proto}");
                    if let Some(m) = r.med {
                        l.push_str(&format!(" med {m}"));
                    }
                    if let Some(p) = &r.route_policy {
                        l.push_str(&format!(" route-policy {p}"));
                    }
                    Item::Line(l)
                })
                .collect()
        })
        .sub(["direct", "static"].map(|p| {
            kw(p, "Source protocol").end_both().sub(any_order(&[
                kw("med", "MED").then(arg(U32, "med", "MED").end_both()),
                kw("route-policy", "Route policy")
                    .then(arg(POLICY, "route-policy-name", "Route policy").end_both()),
            ]))
        }))
}

/// A value of the family a family view's scope names (nothing in the BGP view: its
/// IPv4 unicast commands print under `ipv4-family unicast`).
fn with_fam<T>(c: &Config, s: &Scope, f: impl Fn(&crate::model::BgpFamily) -> T) -> Option<T> {
    match s {
        Scope::BgpAf(k) => c.bgp.as_ref()?.families.get(k).map(f),
        _ => None,
    }
}

/// `cmd` for `Some(true)`, `undo cmd` for `Some(false)`.
fn on_off(v: Option<Option<bool>>, cmd: &str) -> Vec<Item> {
    match v.flatten() {
        Some(true) => vec![Item::Line(cmd.to_owned())],
        Some(false) => vec![Item::Line(format!("undo {cmd}"))],
        None => vec![],
    }
}

fn af_network(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let af = scope_af(s);
    let addr = m
        .ip("ipv4-address")
        .or_else(|| m.ip("ipv6-address"))
        .expect("grammar: the network address is present");
    let len = match addr {
        IpAddr::V4(a) => mask(m, "mask", "mask-length").unwrap_or_else(|| {
            // No mask: the classful natural mask.
            match a.octets()[0] {
                0..=127 => 8,
                128..=191 => 16,
                192..=223 => 24,
                _ => 32,
            }
        }),
        IpAddr::V6(_) => m.int("prefix-length").unwrap_or(128) as u8,
    };
    let prefix = network_of(addr, len).ok_or_else(|| Reject::new("Error: Wrong mask."))?;
    Ok(Change::AfAttr {
        af,
        attr: AfAttr::Network(
            Network {
                prefix,
                route_policy: m.str("route-policy-name").map(str::to_owned),
            },
            m.undo,
        ),
    })
}

fn af_import_route(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let protocol = if m.has("static") {
        ImportProtocol::Static
    } else {
        ImportProtocol::Direct
    };
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::ImportRoute(
            ImportRoute {
                protocol,
                med: m.int("med"),
                route_policy: m.str("route-policy-name").map(str::to_owned),
            },
            m.undo,
        ),
    })
}

fn af_sync(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::Synchronization(!m.undo),
    })
}

fn af_policy_vpn_target(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::PolicyVpnTarget(!m.undo),
    })
}

fn af_cluster_id(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let id = match (m.ip("cluster-id-ipv4"), m.int("cluster-id-value")) {
        _ if m.undo => None,
        (Some(IpAddr::V4(a)), _) => Some(a),
        (_, Some(v)) => Some(v.into()),
        _ => None,
    };
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::ReflectorClusterId(id),
    })
}

// ---------------------------------------------------------------------------------------------
// Kept views: OSPF, MPLS; the route-policy view

fn ospf() -> Vec<Node> {
    let area_id = |n: Node| {
        n.sub([
            arg(ArgKind::Ipv4, "area-id", "Area ID (dotted)")
                .end_both()
                .enters(ViewId::OspfArea),
            arg(U32, "area-id", "Area ID")
                .end_both()
                .enters(ViewId::OspfArea),
        ])
    };
    vec![
        area_id(kw("area", "OSPF area").kept("ospf")),
        kw("import-route", "Import routes")
            .kept("ospf")
            .sub(["bgp", "direct", "static"].map(|p| {
                kw(p, "Source protocol").end_both().sub(any_order(&[
                    kw("cost", "Cost").then(
                        arg(
                            ArgKind::Int {
                                min: 0,
                                max: 16777214,
                            },
                            "cost",
                            "Cost",
                        )
                        .end_both(),
                    ),
                    kw("type", "External type")
                        .then(arg(ArgKind::Int { min: 1, max: 2 }, "type", "Type").end_both()),
                    kw("route-policy", "Route policy")
                        .then(arg(POLICY, "route-policy-name", "Route policy").end_both()),
                ]))
            })),
        kw("default-route-advertise", "Advertise a default route")
            .kept("ospf")
            .end_both()
            .then(kw("always", "Always").end_both()),
        kw("silent-interface", "Silent interface")
            .kept("ospf")
            .then(arg(ArgKind::IfName, "interface-name", "Interface").end_both()),
    ]
}

fn ospf_area() -> Vec<Node> {
    vec![
        kw("network", "Enable OSPF on matching interfaces")
            .kept("ospf")
            .then(
                arg(ArgKind::Ipv4, "ip-address", "Address")
                    .then(arg(ArgKind::Wildcard, "wildcard-mask", "Wildcard mask").end_both()),
            ),
    ]
}

fn mpls_view() -> Vec<Node> {
    vec![
        kw("lsp-trigger", "LSP trigger policy").kept("mpls").sub([
            kw("all", "All routes").end_both(),
            kw("host", "Host routes").end_both(),
            kw("none", "No routes").end_both(),
            kw("bgp-label-route", "BGP labeled routes").end_both(),
            kw("ip-prefix", "Routes in a prefix list")
                .then(arg(POLICY, "ip-prefix-name", "Prefix list").end_both()),
        ]),
        kw("label", "Label advertisement").kept("mpls").then(
            kw("advertise", "Label to advertise for the egress").sub(
                ["implicit-null", "explicit-null", "non-null"]
                    .map(|w| kw(w, "Label mode").end_both()),
            ),
        ),
    ]
}

fn with_node<T>(c: &Config, s: &Scope, f: impl Fn(&PolicyNode) -> T) -> Option<T> {
    match s {
        Scope::RoutePolicy { name, node } => c.route_policies.get(name)?.nodes.get(node).map(f),
        _ => None,
    }
}

fn route_policy_view() -> Vec<Node> {
    let list = |w: &'static str, h: &'static str| {
        kw(w, h)
            .uend()
            .then(arg(PREFIX_NAME, "list-name", "Filter name").end_both())
    };
    let num = |w: &'static str, h: &'static str, max: u32| {
        kw(w, h)
            .uend()
            .then(arg(ArgKind::Int { min: 0, max }, "value", "Value").end_both())
    };
    let text = |w: &'static str, h: &'static str| {
        kw(w, h)
            .uend()
            .then(arg(ArgKind::Text, "text", "Values").end_both())
    };
    vec![
        kw("if-match", "Match clause")
            .act(policy_clause)
            .print(10, |c, s| {
                with_node(c, s, |n| {
                    n.matches.iter().map(|m| Item::Line(m.line())).collect()
                })
                .unwrap_or_default()
            })
            .sub([
                kw("mpls-label", "Routes with labels").end_both(),
                kw("ip-prefix", "IPv4 prefix list")
                    .then(arg(PREFIX_NAME, "list-name", "Prefix list").end_both()),
                list("community-filter", "Community filter"),
                list("as-path-filter", "AS path filter"),
                list("extcommunity-filter", "Extended community filter"),
                num("cost", "Cost (MED)", u32::MAX),
                num("tag", "Tag", u32::MAX),
                kw("ipv6", "IPv6").then(
                    kw("address", "Destination").then(
                        kw("prefix-list", "Prefix list")
                            .then(arg(PREFIX_NAME, "list-name", "Prefix list").end_both()),
                    ),
                ),
            ]),
        kw("apply", "Apply clause")
            .act(policy_clause)
            .print(20, |c, s| {
                with_node(c, s, |n| {
                    n.applies.iter().map(|a| Item::Line(a.line())).collect()
                })
                .unwrap_or_default()
            })
            .sub([
                kw("mpls-label", "Allocate labels").end_both(),
                num("cost", "Cost (MED)", u32::MAX),
                num("tag", "Tag", u32::MAX),
                num("local-preference", "Local preference", u32::MAX),
                num("preferred-value", "Preferred value", 65535),
                text("community", "Set communities"),
                text("extcommunity", "Set extended communities"),
                text("as-path", "AS numbers to add"),
                kw("ip-address", "IPv4").then(
                    kw("next-hop", "Next hop")
                        .then(arg(ArgKind::Ipv4, "address", "Next hop").end_both()),
                ),
                kw("ipv6", "IPv6").then(
                    kw("next-hop", "Next hop")
                        .then(arg(ArgKind::Ipv6, "address", "Next hop").end_both()),
                ),
            ]),
    ]
}

fn policy_clause(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let Scope::RoutePolicy { name, node } = s else {
        unreachable!("grammar: route-policy clauses are in the route-policy view")
    };
    let list = || m.str("list-name").unwrap_or_default().to_owned();
    let text = || m.str("text").unwrap_or_default().to_owned();
    let v = || m.int("value").unwrap_or_default();
    let any = !(m.has("list-name") || m.has("value") || m.has("text") || m.has("address"));
    let clause = if m.has("if-match") {
        Clause::Match(if m.has("ip-prefix") {
            Match::IpPrefix(list())
        } else if m.has("prefix-list") {
            Match::Ipv6PrefixList(list())
        } else if m.has("mpls-label") {
            Match::MplsLabel
        } else if m.has("community-filter") {
            Match::CommunityFilter(list())
        } else if m.has("as-path-filter") {
            Match::AsPathFilter(list())
        } else if m.has("extcommunity-filter") {
            Match::ExtcommunityFilter(list())
        } else if m.has("cost") {
            Match::Cost(v())
        } else {
            Match::Tag(v())
        })
    } else {
        let addr = m.ip("address");
        Clause::Apply(if m.has("mpls-label") {
            Apply::MplsLabel
        } else if m.has("cost") {
            Apply::Cost(v())
        } else if m.has("tag") {
            Apply::Tag(v())
        } else if m.has("local-preference") {
            Apply::LocalPreference(v())
        } else if m.has("preferred-value") {
            Apply::PreferredValue(v())
        } else if m.has("community") {
            Apply::Community(text())
        } else if m.has("extcommunity") {
            Apply::Extcommunity(text())
        } else if m.has("as-path") {
            Apply::AsPath(text())
        } else if let Some(IpAddr::V6(a)) = addr {
            Apply::Ipv6NextHop(a)
        } else if let Some(IpAddr::V4(a)) = addr {
            Apply::IpNextHop(a)
        } else {
            unreachable!("grammar: the next hop is present")
        })
    };
    Ok(Change::PolicyClause {
        name: name.clone(),
        node: *node,
        clause,
        any,
        undo: m.undo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node where a command ends has an action (own or inherited), and every keyword is
    /// unique among its siblings.
    #[test]
    fn table_is_well_formed() {
        fn walk(n: &Node, inherited: bool, path: &str) {
            let has = inherited || n.action.is_some();
            let here = format!("{path} {}", n.display_token());
            if n.ends || n.undo_ends {
                assert!(has, "no action for `{here}`");
            }
            let mut kws: Vec<_> = n.children.iter().filter_map(|c| c.keyword()).collect();
            kws.sort_unstable();
            let before = kws.len();
            kws.dedup();
            assert_eq!(before, kws.len(), "duplicate keyword under `{here}`");
            for c in &n.children {
                walk(c, has, &here);
            }
        }
        let g = build();
        for v in ViewId::ALL {
            for n in g.roots(v) {
                walk(n, false, v.name());
            }
        }
    }

    /// Printers are found by rank, so two commands of a view never share one.
    #[test]
    fn print_ranks_are_unique_per_view() {
        fn walk(n: &Node, out: &mut Vec<(u16, usize)>) {
            if let Some((r, f)) = n.print {
                out.push((r, f as usize));
            }
            for c in &n.children {
                walk(c, out);
            }
        }
        let g = build();
        for v in ViewId::ALL {
            let mut ps = Vec::new();
            for n in g.roots(v) {
                walk(n, &mut ps);
            }
            ps.sort_unstable();
            ps.dedup();
            for w in ps.windows(2) {
                assert_ne!(
                    w[0].0,
                    w[1].0,
                    "two printers with rank {} in {}",
                    w[0].0,
                    v.name()
                );
            }
        }
    }
}
