//! The VPN instance view (`ipv4-family`, `ipv6-family`) and the VPN instance address family
//! view (`route-distinguisher`, `vpn-target`, `apply-label per-instance`).

use tern_types::Afi;

use crate::change::Change;
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{Config, LabelMode, RtDirection, rt_text};
use crate::value::{ArgKind, Value};
use crate::view::{Scope, ViewId};

/// The VPN instance view: its address families.
pub(super) fn vpn_instance() -> Vec<Node> {
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

/// `ipv4-family` / `ipv6-family` in a VPN instance.
pub(crate) fn vpn_af_header(afi: Afi) -> String {
    if afi == Afi::IPV6 {
        "ipv6-family".into()
    } else {
        "ipv4-family".into()
    }
}

fn with_vpn_af<T>(c: &Config, s: &Scope, f: impl Fn(&crate::model::VpnAf) -> T) -> Option<T> {
    match s {
        Scope::VpnAf { name, afi } => c.vpn_instances.get(name).and_then(|v| v.af(*afi)).map(f),
        _ => None,
    }
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

/// The VPN instance address family view.
pub(super) fn vpn_instance_af() -> Vec<Node> {
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
            .act(vpn_apply_label)
            .print(20, |c, s| {
                let line = match with_vpn_af(c, s, |a| a.apply_label) {
                    Some(LabelMode::PerInstance) => "apply-label per-instance".to_owned(),
                    Some(LabelMode::PerInstanceStatic(l)) => {
                        format!("apply-label per-instance static {l}")
                    }
                    Some(LabelMode::PerNextHop) => "apply-label per-nexthop".to_owned(),
                    _ => return vec![],
                };
                vec![Item::Line(line)]
            })
            .sub([
                kw("per-instance", "One label per VPN instance")
                    .end_both()
                    .then(
                        kw("static", "A static label").then(
                            arg(
                                ArgKind::Int {
                                    min: 16,
                                    max: 32783,
                                },
                                "static-label-value",
                                "Label",
                            )
                            .end(),
                        ),
                    ),
                kw("per-nexthop", "One label per next hop").end_both(),
                kw("per-route", "One label per route (the default)").end_both(),
            ]),
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
    let mode = if let Some(l) = m.int("static-label-value") {
        LabelMode::PerInstanceStatic(l)
    } else if m.has("per-instance") {
        LabelMode::PerInstance
    } else if m.has("per-nexthop") {
        LabelMode::PerNextHop
    } else {
        LabelMode::PerRoute
    };
    Ok(Change::VpnApplyLabel {
        name,
        afi,
        mode,
        undo: m.undo,
    })
}
