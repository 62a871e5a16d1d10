//! The BGP view's commands: `router-id`, `peer` (see [`super::peer`]), `network` and
//! `import-route` for IPv4 unicast, and the address families it opens, with the order they
//! print in.

use std::net::IpAddr;

use tern_types::Afi;

use super::NAME31;
use super::bgp_family::{af_sync, bestroute, import_route, network};
use super::peer::{connect_retry, group, peer, timer_nodes, timers};
use super::system::bgp_header;
use crate::change::Change;
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{AfKey, Config};
use crate::value::ArgKind;
use crate::view::{Scope, ViewId};

/// The BGP view.
pub(super) fn bgp() -> Vec<Node> {
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
        kw("graceful-restart", "Graceful restart (RFC 4724)")
            .act(graceful_restart)
            .print(20, print_gr)
            .end_both()
            .then(
                kw("timer", "Graceful restart timers").sub([
                    kw("restart", "How long peers keep our routes while we restart")
                        .uend()
                        .then(
                            arg(
                                ArgKind::Int { min: 3, max: 3600 },
                                "restart-time",
                                "Seconds",
                            )
                            .end(),
                        ),
                    kw(
                        "wait-for-rib",
                        "How long a restarted peer's routes wait for its End-of-RIB",
                    )
                    .uend()
                    .then(arg(ArgKind::Int { min: 3, max: 3000 }, "time", "Seconds").end()),
                ]),
            ),
        kw(
            "timer",
            "BGP timers of every peer (a peer's own timer wins)",
        )
        .act(bgp_timer)
        .print(25, print_timers)
        .sub(timer_nodes()),
        // Per-family peer commands in the BGP view apply to IPv4 unicast (vendor reference:
        // `peer enable`, `peer route-policy`, ... list "BGP view" among their views).
        peer(true, true),
        group(),
        network(false),
        import_route(),
        bestroute(),
        // `undo synchronization` in the BGP view configures IPv4 unicast, where it prints.
        kw("synchronization", "IGP synchronization").run_both(af_sync),
        // So do `maximum load-balancing` and `routing-table rib-only`.
        super::multipath::load_balancing(None),
        super::multipath::rib_only(None),
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
                kw(
                    "vpn-target",
                    "VPN target (route target constraint, RFC 4684)",
                )
                .end_both()
                .enters(ViewId::BgpVpnTarget)
                .print(107, |c, _| print_family(c, |k| *k == AfKey::VpnTarget))
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
        AfKey::VpnTarget => ViewId::BgpVpnTarget,
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

fn graceful_restart(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let n = |name: &str| {
        (!m.undo)
            .then(|| m.int(name).and_then(|v| u16::try_from(v).ok()))
            .flatten()
    };
    Ok(if m.has("restart") {
        Change::GrRestartTime(n("restart-time"))
    } else if m.has("wait-for-rib") {
        Change::GrWaitForRib(n("time"))
    } else {
        Change::GracefulRestart(!m.undo)
    })
}

fn print_gr(c: &Config, _: &Scope) -> Vec<Item> {
    let Some(b) = &c.bgp else { return vec![] };
    let mut v = Vec::new();
    if b.graceful_restart {
        v.push(Item::Line("graceful-restart".into()));
    }
    if let Some(t) = b.gr_restart_time {
        v.push(Item::Line(format!("graceful-restart timer restart {t}")));
    }
    if let Some(t) = b.gr_wait_for_rib {
        v.push(Item::Line(format!(
            "graceful-restart timer wait-for-rib {t}"
        )));
    }
    v
}

fn bgp_timer(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    Ok(if m.has("connect-retry") {
        Change::BgpConnectRetry(connect_retry(m))
    } else {
        Change::BgpTimers(timers(m)?)
    })
}

fn print_timers(c: &Config, _: &Scope) -> Vec<Item> {
    let Some(b) = &c.bgp else { return vec![] };
    let mut v = Vec::new();
    if let Some(t) = b.timers {
        v.push(Item::Line(format!(
            "timer keepalive {} hold {}",
            t.keepalive, t.hold
        )));
    }
    if let Some(t) = b.connect_retry {
        v.push(Item::Line(format!("timer connect-retry {t}")));
    }
    v
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
    } else if m.has("vpn-target") {
        AfKey::VpnTarget
    } else if m.has("labeled-unicast") {
        AfKey::Ipv4Labeled
    } else if v6 {
        AfKey::Ipv6Unicast
    } else {
        AfKey::Ipv4Unicast
    };
    Ok(Change::Family { af, undo: m.undo })
}
