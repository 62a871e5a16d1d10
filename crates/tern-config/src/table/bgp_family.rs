//! The BGP address family views (IPv4 and IPv6 unicast, labeled unicast, VPNv4, VPNv6, the
//! VPN instance families): `network`, `import-route`, `synchronization`, `policy
//! vpn-target`, `reflector cluster-id`, the kept `import-rib`; their `peer` lines are in
//! [`super::peer`].

use std::net::IpAddr;

use tern_types::Afi;

use super::peer::{group, peer};
use super::{LEN4, LEN6, POLICY, U32, mask, scope_af};
use crate::change::{AfAttr, Change, network_of};
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, any_order, arg, kw};
use crate::model::{Config, ImportProtocol, ImportRoute, Network, VrfRouterId};
use crate::value::ArgKind;
use crate::view::Scope;

/// Which kind of BGP address family a view is; it decides the view's commands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Safi {
    Unicast,
    Vpn,
    Labeled,
    Vrf,
}

/// A BGP address family view.
pub(super) fn bgp_family(afi: Afi, safi: Safi) -> Vec<Node> {
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
    // In a VPN instance family the line is refused (it would otherwise run in the BGP view
    // above and configure IPv4 unicast).
    out.push(bestroute());
    if matches!(safi, Safi::Unicast | Safi::Vrf) {
        out.push(super::multipath::load_balancing(Some(45)));
        out.push(super::multipath::rib_only(Some(46)));
    }
    if safi == Safi::Vrf {
        out.push(group());
        // VRP's per-instance router ID (without this node the line would run in the BGP view
        // above and change the router ID of every session).
        out.push(
            kw("router-id", "Router ID of the VPN instance")
                .act(vrf_router_id)
                .print(5, |c, s| {
                    with_fam(c, s, |f| f.router_id)
                        .flatten()
                        .map(|r| {
                            Item::Line(match r {
                                VrfRouterId::Addr(a) => format!("router-id {a}"),
                                VrfRouterId::AutoSelect => "router-id auto-select".into(),
                            })
                        })
                        .into_iter()
                        .collect()
                })
                .uend()
                .sub([
                    arg(ArgKind::Ipv4, "router-id", "Router ID").end(),
                    kw("auto-select", "Select the router ID automatically").end(),
                ]),
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

/// `bestroute add-path path-number N` (RFC 7911): how many paths of a destination ADD-PATH
/// peers may be sent (in the BGP view it applies to IPv4 unicast).
pub(super) fn bestroute() -> Node {
    kw("bestroute", "Route selection").then(
        kw("add-path", "Paths selected for ADD-PATH peers")
            .act(af_bestroute_add_path)
            .print(13, |c, s| {
                with_fam(c, s, |f| f.bestroute_add_path)
                    .flatten()
                    .map(|n| Item::Line(format!("bestroute add-path path-number {n}")))
                    .into_iter()
                    .collect()
            })
            .uend()
            .then(
                kw("path-number", "Paths selected")
                    .then(arg(ArgKind::Int { min: 2, max: 64 }, "path-number", "Paths").end()),
            ),
    )
}

fn af_bestroute_add_path(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    if scope_af(s).vpn_instance().is_some() {
        return Err(Reject::new(
            "Error: ADD-PATH is not available in a VPN instance address family.",
        ));
    }
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::BestrouteAddPath(if m.undo {
            None
        } else {
            m.int("path-number").and_then(|n| u8::try_from(n).ok())
        }),
    })
}

/// `network` (in the BGP view it applies to IPv4 unicast).
pub(super) fn network(v6: bool) -> Node {
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
pub(super) fn import_route() -> Node {
    kw("import-route", "Import routes of another protocol")
        .act(af_import_route)
        .print(40, |c, s| {
            let routes = with_fam(c, s, |f| f.import_routes.clone()).unwrap_or_default();
            routes
                .iter()
                .map(|r| {
                    let proto = match r.protocol {
                        ImportProtocol::Direct => "direct".to_owned(),
                        ImportProtocol::Static => "static".to_owned(),
                        ImportProtocol::Ospf(n) => format!("ospf {n}"),
                        ImportProtocol::Isis(n) => format!("isis {n}"),
                        ImportProtocol::Rip(n) => format!("rip {n}"),
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
        .sub(
            ["direct", "static"]
                .map(|p| kw(p, "Source protocol").end_both().sub(import_options()))
                .into_iter()
                .chain(
                    [
                        ("ospf", "OSPF routes (kernel protocol ospf)"),
                        ("isis", "IS-IS routes (kernel protocol isis)"),
                        ("rip", "RIP routes (kernel protocol rip)"),
                    ]
                    .map(|(p, h)| {
                        kw(p, h).then(
                            arg(
                                ArgKind::Int {
                                    min: 1,
                                    max: u32::MAX,
                                },
                                "process-id",
                                "Process ID",
                            )
                            .end_both()
                            .sub(import_options()),
                        )
                    }),
                ),
        )
}

/// `[med M] [route-policy P]`, in either order.
fn import_options() -> Vec<Node> {
    any_order(&[
        kw("med", "MED").then(arg(U32, "med", "MED").end_both()),
        kw("route-policy", "Route policy")
            .then(arg(POLICY, "route-policy-name", "Route policy").end_both()),
    ])
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
    let n = m.int("process-id").unwrap_or(1);
    let protocol = if m.has("static") {
        ImportProtocol::Static
    } else if m.has("ospf") {
        ImportProtocol::Ospf(n)
    } else if m.has("isis") {
        ImportProtocol::Isis(n)
    } else if m.has("rip") {
        ImportProtocol::Rip(n)
    } else {
        ImportProtocol::Direct
    };
    if protocol.kernel_protocol().is_some()
        && matches!(s, Scope::BgpAf(k) if k.vpn_instance().is_some())
    {
        // The VPN instance tables of the kernel are not followed.
        return Err(Reject::new(
            "Error: import-route of an IGP is supported in the public instance only.",
        ));
    }
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

/// `undo synchronization` (VRP's default, and what tern does: routes are advertised without
/// waiting for an IGP to know them); `synchronization` is refused, tern has no IGP to
/// synchronise with. Typed in the BGP view it applies to IPv4 unicast (vendor reference).
pub(super) fn af_sync(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    if !m.undo {
        return Err(Reject::new(
            "Error: tern does not implement BGP-IGP synchronization; only undo synchronization (the default) is accepted.",
        ));
    }
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

fn vrf_router_id(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let r = match m.ip("router-id") {
        _ if m.undo => None,
        Some(IpAddr::V4(a)) => {
            if a.is_unspecified() || a.is_broadcast() || a.is_multicast() {
                return Err(Reject::new("Error: The router ID is invalid."));
            }
            Some(VrfRouterId::Addr(a))
        }
        _ => Some(VrfRouterId::AutoSelect),
    };
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::RouterId(r),
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
