//! The BGP-VPN-Target address family view (`ipv4-family vpn-target`, route target
//! constraint, RFC 4684): `peer X enable` (the family is offered to the peer and the VPN
//! routes it is sent follow the route target membership it advertises), `peer X
//! default-route-advertise` (the default membership, "send me every VPN route", is sent to
//! the peer), and `timer wait-for-eor N` (how long a peer's VPN routes wait for its
//! End-of-RIB of the family, 3..3000 s, 180 by default). The reference's other commands of
//! this view (`peer X reflect-client`, route policies, `constraint-rt-filter`, ...) are not
//! built: they are refused here with a message saying so, rather than left to fall through
//! to the BGP view, where a `peer` line would configure IPv4 unicast.

use std::net::IpAddr;

use super::scope_af;
use crate::change::{AfAttr, AfPeerAttr, Change};
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::Config;
use crate::value::ArgKind;
use crate::view::Scope;

/// The reference's `peer X …` commands of this view that tern does not build.
const PEER_NOT_BUILT: [&str; 13] = [
    "reflect-client",
    "route-policy",
    "advertise-community",
    "advertise-large-community",
    "route-limit",
    "preferred-value",
    "allow-as-loop",
    "allow-cluster-loop",
    "public-as-only",
    "as-path-filter",
    "group",
    "route-update-interval",
    "path-attribute-treat",
];

/// The reference's other commands of this view that tern does not build.
const NOT_BUILT: [&str; 9] = [
    "reflect",
    "reflector",
    "route-select",
    "external-path",
    "default",
    "constraint-rt-filter",
    "bestroute",
    "network",
    "import-route",
];

/// The view's commands.
pub(super) fn vpn_target() -> Vec<Node> {
    let rest = || arg(ArgKind::Text { max: 1024 }, "rest", "Parameters").end_both();
    let mut subs = vec![
        kw("enable", "Exchange route target membership with the peer").run_both(peer_vpn_target),
        kw(
            "default-route-advertise",
            "Send the peer the default route target membership",
        )
        .run_both(peer_vpn_target),
    ];
    for w in PEER_NOT_BUILT {
        subs.push(
            kw(w, "Not supported in this view")
                .act(not_built)
                .end_both()
                .then(rest()),
        );
    }
    let mut out = vec![
        kw("peer", "Configure a BGP peer")
            .print(50, print_peers)
            .sub([
                arg(ArgKind::Ipv4, "peer-address", "Peer address").sub(subs),
                // Peer groups are not taken in this view.
                arg(ArgKind::Word { max: 47 }, "group-name", "Peer group")
                    .act(not_built)
                    .then(rest()),
            ]),
    ];
    out.push(
        kw("timer", "Timers").then(
            kw(
                "wait-for-eor",
                "How long VPN routes wait for the peer's End-of-RIB",
            )
            .act(wait_for_eor)
            .print(20, print_wait_for_eor)
            .uend()
            .then(arg(ArgKind::Int { min: 3, max: 3000 }, "eor-time", "Seconds").end_both()),
        ),
    );
    for w in NOT_BUILT {
        out.push(
            kw(w, "Not supported in this view")
                .act(not_built)
                .end_both()
                .then(rest()),
        );
    }
    out
}

fn wait_for_eor(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::WaitForEor(if m.undo {
            None
        } else {
            m.int("eor-time").and_then(|v| u16::try_from(v).ok())
        }),
    })
}

fn print_wait_for_eor(c: &Config, s: &Scope) -> Vec<Item> {
    let Scope::BgpAf(af) = s else {
        return vec![];
    };
    c.bgp
        .as_ref()
        .and_then(|b| b.families.get(af))
        .and_then(|f| f.wait_for_eor)
        .map(|t| Item::Line(format!("timer wait-for-eor {t}")))
        .into_iter()
        .collect()
}

fn not_built(_: &Matched, _: &Scope) -> Result<Change, Reject> {
    Err(Reject::new(
        "Error: tern supports only peer X enable, peer X default-route-advertise and timer wait-for-eor in the BGP-VPN-Target address family view.",
    ))
}

fn peer_vpn_target(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let on = !m.undo;
    let attr = if m.has("enable") {
        AfPeerAttr::Enable(on)
    } else {
        AfPeerAttr::RtcDefaultRoute(on)
    };
    Ok(Change::AfPeer {
        af: scope_af(s),
        addr: m
            .ip("peer-address")
            .expect("grammar: the peer address is present"),
        attr,
    })
}

fn print_peers(c: &Config, s: &Scope) -> Vec<Item> {
    let Scope::BgpAf(af) = s else {
        return vec![];
    };
    let Some(fam) = c.bgp.as_ref().and_then(|b| b.families.get(af)) else {
        return vec![];
    };
    let mut out = Vec::new();
    for (a, ap) in &fam.peers {
        let a: &IpAddr = a;
        if ap.enable {
            out.push(Item::Line(format!("peer {a} enable")));
        }
        if ap.rtc_default_route {
            out.push(Item::Line(format!("peer {a} default-route-advertise")));
        }
    }
    out
}
