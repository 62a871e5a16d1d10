//! The BMP views (see [`crate::bmp`]): `bmp` in the system view; `statistics-timer` and
//! `bmp-session` in the BMP view; `tcp connect port` and `monitor public` in the BMP session
//! view; `route-mode … adj-rib-in pre-policy`, `adj-rib-out post-policy` and `local-rib` in
//! the BMP monitor view.

use std::net::IpAddr;

use tern_types::Family;

use super::NAME31;
use crate::bmp::{BmpChange, BmpKey};
use crate::change::Change;
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::Config;
use crate::value::ArgKind;
use crate::view::{Scope, ViewId};

/// `bmp` in the system view.
pub(super) fn bmp_enter_node() -> Node {
    kw("bmp", "Enable BMP and enter the BMP view")
        .run_both(|m, _| Ok(Change::Bmp(BmpChange::Enter { undo: m.undo })))
        .print(55, |c, _| {
            c.bmp
                .iter()
                .map(|_| Item::Block {
                    header: "bmp".into(),
                    view: ViewId::Bmp,
                    scope: Scope::Global,
                })
                .collect()
        })
        .enters(ViewId::Bmp)
}

/// The BMP view.
pub(super) fn bmp_view() -> Vec<Node> {
    vec![
        kw("statistics-timer", "Interval of statistics reports")
            .act(statistics_timer)
            .print(10, |c, _| {
                c.bmp
                    .as_ref()
                    .and_then(|b| b.statistics_timer)
                    .map(|t| Item::Line(format!("statistics-timer {t}")))
                    .into_iter()
                    .collect()
            })
            .uend()
            .then(
                arg(
                    ArgKind::Int {
                        min: 15,
                        max: 65535,
                    },
                    "time",
                    "Interval in seconds",
                )
                .end_both(),
            ),
        kw("bmp-session", "A BMP session to a monitoring server")
            .act(session_enter)
            .print(20, |c, _| {
                c.bmp
                    .iter()
                    .flat_map(|b| b.sessions.keys())
                    .map(|k| Item::Block {
                        header: format!("bmp-session {}", k.text()),
                        view: ViewId::BmpSession,
                        scope: Scope::BmpSession(k.clone()),
                    })
                    .collect()
            })
            .then(
                arg(ArgKind::Ipv4, "ipv4-address", "Monitoring server address")
                    .end_both()
                    .enters(ViewId::BmpSession)
                    .then(
                        kw("alias", "Session alias").then(
                            arg(NAME31, "alias-name", "Session alias")
                                .end_both()
                                .enters(ViewId::BmpSession),
                        ),
                    ),
            ),
    ]
}

/// The BMP session view.
pub(super) fn bmp_session_view() -> Vec<Node> {
    vec![
        kw("tcp", "TCP connection to the monitoring server")
            .act(tcp_port)
            .print(10, |c, s| {
                session_of(c, s)
                    .and_then(|x| x.port)
                    .map(|p| Item::Line(format!("tcp connect port {p}")))
                    .into_iter()
                    .collect()
            })
            .then(kw("connect", "Connect to the monitoring server").then(
                kw("port", "Port of the monitoring server").uend().then(
                    arg(ArgKind::Int { min: 1, max: 65535 }, "port-number", "Port").end_both(),
                ),
            )),
        kw("monitor", "Peers to monitor").then(
            kw("public", "All peers of the public network")
                .run_both(|m, s| {
                    Ok(Change::Bmp(BmpChange::Public {
                        key: key_of(s),
                        undo: m.undo,
                    }))
                })
                .print(20, |c, s| {
                    session_of(c, s)
                        .and_then(|x| x.public.as_ref())
                        .map(|_| Item::Block {
                            header: "monitor public".into(),
                            view: ViewId::BmpMonitor,
                            scope: Scope::BmpMonitor(key_of(s)),
                        })
                        .into_iter()
                        .collect()
                })
                .enters(ViewId::BmpMonitor),
        ),
    ]
}

/// The BMP monitor view.
pub(super) fn bmp_monitor_view() -> Vec<Node> {
    let mode = || {
        kw("unicast", "Unicast").sub([
            kw("adj-rib-in", "Routes received from the peers")
                .then(kw("pre-policy", "Received routes, before import policy").end_both()),
            kw("adj-rib-out", "Routes sent to the peers")
                .then(kw("post-policy", "Sent routes, after export policy (RFC 8671)").end_both()),
            kw("local-rib", "Best routes of the local RIB (RFC 9069)").end_both(),
        ])
    };
    vec![
        kw("route-mode", "Routes reported to the monitoring server")
            .act(route_mode)
            .print(10, |c, s| {
                let Scope::BmpMonitor(k) = s else {
                    return vec![];
                };
                c.bmp
                    .as_ref()
                    .and_then(|b| b.sessions.get(k))
                    .and_then(|x| x.public.as_ref())
                    .map(|m| {
                        let af = |f: &Family| {
                            if *f == Family::IPV6_UNICAST {
                                "ipv6-family"
                            } else {
                                "ipv4-family"
                            }
                        };
                        let pre = m.adj_rib_in_pre.iter().map(|f| {
                            Item::Line(format!(
                                "route-mode {} unicast adj-rib-in pre-policy",
                                af(f)
                            ))
                        });
                        let loc = m
                            .local_rib
                            .iter()
                            .map(|f| Item::Line(format!("route-mode {} unicast local-rib", af(f))));
                        let out = m.adj_rib_out_post.iter().map(|f| {
                            Item::Line(format!(
                                "route-mode {} unicast adj-rib-out post-policy",
                                af(f)
                            ))
                        });
                        pre.chain(out).chain(loc).collect()
                    })
                    .unwrap_or_default()
            })
            .sub([
                kw("ipv4-family", "IPv4 address family").then(mode()),
                kw("ipv6-family", "IPv6 address family").then(mode()),
            ]),
    ]
}

fn key_of(s: &Scope) -> BmpKey {
    match s {
        Scope::BmpSession(k) | Scope::BmpMonitor(k) => k.clone(),
        _ => BmpKey {
            addr: std::net::Ipv4Addr::UNSPECIFIED,
            alias: None,
        },
    }
}

fn session_of<'a>(c: &'a Config, s: &Scope) -> Option<&'a crate::bmp::BmpSession> {
    match s {
        Scope::BmpSession(k) => c.bmp.as_ref().and_then(|b| b.sessions.get(k)),
        _ => None,
    }
}

fn statistics_timer(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let t = if m.undo {
        None
    } else {
        m.int("time").and_then(|t| u16::try_from(t).ok())
    };
    Ok(Change::Bmp(BmpChange::StatisticsTimer(t)))
}

fn session_enter(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let addr = match m.ip("ipv4-address") {
        Some(IpAddr::V4(a)) => a,
        _ => std::net::Ipv4Addr::UNSPECIFIED,
    };
    Ok(Change::Bmp(BmpChange::Session {
        key: BmpKey {
            addr,
            alias: m.str("alias-name").map(str::to_owned),
        },
        undo: m.undo,
    }))
}

fn tcp_port(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let p = m.int("port-number").and_then(|p| u16::try_from(p).ok());
    Ok(Change::Bmp(BmpChange::Port {
        key: key_of(s),
        port: if m.undo { None } else { p },
        undo_port: if m.undo { p } else { None },
    }))
}

fn route_mode(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let family = if m.has("ipv6-family") {
        Family::IPV6_UNICAST
    } else {
        Family::IPV4_UNICAST
    };
    let key = key_of(s);
    Ok(Change::Bmp(if m.has("local-rib") {
        BmpChange::LocalRib {
            key,
            family,
            undo: m.undo,
        }
    } else if m.has("adj-rib-out") {
        BmpChange::AdjRibOutPost {
            key,
            family,
            undo: m.undo,
        }
    } else {
        BmpChange::AdjRibInPre {
            key,
            family,
            undo: m.undo,
        }
    }))
}
