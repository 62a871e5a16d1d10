//! The interface view's commands: `shutdown`, `description`, `ip address`, `ip binding
//! vpn-instance`, `ipv6 enable`, `ipv6 address`, and the kept `mpls` and `mpls ldp`.

use std::net::IpAddr;

use ipnet::{Ipv4Net, Ipv6Net};

use super::{LEN4, NAME31, mask};
use crate::change::Change;
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::Config;
use crate::value::{ArgKind, Value};
use crate::view::Scope;

/// The interface view.
pub(super) fn interface() -> Vec<Node> {
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
            .then(arg(ArgKind::Text { max: 242 }, "text", "Text").end()),
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
