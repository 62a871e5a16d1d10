//! The AS options of the `peer` command (vendor reference: `peer allow-as-loop`, `peer
//! substitute-as`, `peer public-as-only`, `peer fake-as`): per-family `allow-as-loop [N]`,
//! `substitute-as`, `public-as-only [force | limited] [replace] [include-peer-as]`, and the
//! session's `fake-as F [prepend-global-as] [prepend-fake-as]` (`dual-as` is not built and
//! is refused as an unknown keyword); and `default-route-advertise [route-policy P]` in the
//! unicast and VPN instance families (the conditional forms and route filters are refused).

use super::scope_af;
use crate::change::group::GroupChange;
use crate::change::{AfPeerAttr, Change, SessionAttr};
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{AfKey, AfPeer, FakeAs, Peer, PrivateAsMode, PublicAsOnly};
use crate::value::ArgKind;
use crate::view::Scope;

/// `[replace] [include-peer-as]` after `public-as-only [force | limited]`, each optional, in
/// that order.
fn public_as_only_tail() -> Vec<Node> {
    vec![
        kw("replace", "Replace private AS numbers with the local AS")
            .end_both()
            .then(kw("include-peer-as", "The peer's AS too").end_both()),
        kw("include-peer-as", "The peer's AS too").end_both(),
    ]
}

/// The per-family options.
pub(super) fn af_nodes() -> Vec<Node> {
    vec![
        kw("allow-as-loop", "Accept routes holding the local AS")
            .act(peer_as_af)
            .end_both()
            .then(arg(ArgKind::Int { min: 1, max: 10 }, "number", "Repetitions").end()),
        kw("substitute-as", "Replace the peer's AS with the local AS").run_both(peer_as_af),
        kw("default-route-advertise", "Send the peer a default route")
            .act(peer_as_af)
            .end_both()
            .then(
                kw("route-policy", "Route policy applied to it")
                    .then(arg(super::POLICY, "route-policy-name", "Route policy").end()),
            ),
        kw("public-as-only", "Send no private AS numbers")
            .act(peer_as_af)
            .end_both()
            .sub([
                kw("force", "Every private AS number")
                    .end_both()
                    .sub(public_as_only_tail()),
                kw(
                    "limited",
                    "Private AS numbers up to a public or the local AS",
                )
                .end_both()
                .sub(public_as_only_tail()),
            ]),
    ]
}

/// The session option.
pub(super) fn session_nodes() -> Vec<Node> {
    let flags = |n: Node| {
        n.end().sub([
            kw(
                "prepend-global-as",
                "The actual AS after the fake one on routes sent",
            )
            .end()
            .then(kw("prepend-fake-as", "The fake AS added to routes received").end()),
            kw("prepend-fake-as", "The fake AS added to routes received").end(),
        ])
    };
    vec![
        kw("fake-as", "Use a fake AS toward the peer")
            .act(peer_fake_as)
            .uend()
            .then(flags(arg(ArgKind::Asn, "fake-as-value", "AS number"))),
    ]
}

fn peer_as_af(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let on = !m.undo;
    let af = scope_af(s);
    let attr = if m.has("allow-as-loop") {
        AfPeerAttr::AllowAsLoop(on.then(|| m.int("number").map_or(1, |n| n as u8)))
    } else if m.has("default-route-advertise") {
        // Reference: the unicast and VPN instance families.
        if matches!(af, AfKey::Vpnv4 | AfKey::Vpnv6 | AfKey::Ipv4Labeled) {
            return Err(Reject::new(
                "Error: Unrecognized command found at '^' position.",
            ));
        }
        AfPeerAttr::DefaultRouteAdvertise(on.then(|| m.str("route-policy-name").map(str::to_owned)))
    } else if m.has("substitute-as") {
        // Reference: BGP, IPv4/IPv6 unicast and VPN instance views only.
        if matches!(af, AfKey::Vpnv4 | AfKey::Vpnv6 | AfKey::Ipv4Labeled) {
            return Err(Reject::new(
                "Error: Unrecognized command found at '^' position.",
            ));
        }
        AfPeerAttr::SubstituteAs(on)
    } else {
        AfPeerAttr::PublicAsOnly(on.then(|| PublicAsOnly {
            mode: if m.has("force") {
                PrivateAsMode::Force
            } else if m.has("limited") {
                PrivateAsMode::Limited
            } else {
                PrivateAsMode::Basic
            },
            replace: m.has("replace"),
            include_peer_as: m.has("include-peer-as"),
        }))
    };
    if let Some(name) = super::peer::target_group(m) {
        return Ok(Change::Group(GroupChange::Af { af, name, attr }));
    }
    Ok(Change::AfPeer {
        af,
        addr: super::peer::peer_addr(m),
        attr,
    })
}

fn peer_fake_as(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let fake = if m.undo {
        None
    } else {
        Some(FakeAs {
            asn: m
                .asn("fake-as-value")
                .ok_or_else(|| Reject::new("Error: Incomplete command found at '^' position."))?,
            prepend_global_as: m.has("prepend-global-as"),
            prepend_fake_as: m.has("prepend-fake-as"),
        })
    };
    if let Some(name) = super::peer::target_group(m) {
        return Ok(Change::Group(GroupChange::Session {
            scope: super::peer::peer_scope(s),
            name,
            attr: SessionAttr::FakeAs(fake),
        }));
    }
    Ok(Change::PeerSession {
        scope: super::peer::peer_scope(s),
        addr: super::peer::peer_addr(m),
        attr: SessionAttr::FakeAs(fake),
    })
}

/// The session line, after the other session lines of the peer or group `who`.
pub(super) fn session_lines(who: &str, p: &Peer, out: &mut Vec<Item>) {
    if let Some(f) = &p.fake_as {
        let mut s = format!("peer {who} fake-as {}", f.asn);
        if f.prepend_global_as {
            s += " prepend-global-as";
        }
        if f.prepend_fake_as {
            s += " prepend-fake-as";
        }
        out.push(Item::Line(s));
    }
}

/// The per-family lines of a peer or group `a`.
pub(super) fn af_lines(a: &str, ap: &AfPeer, out: &mut Vec<Item>) {
    match ap.allow_as_loop {
        Some(1) => out.push(Item::Line(format!("peer {a} allow-as-loop"))),
        Some(n) => out.push(Item::Line(format!("peer {a} allow-as-loop {n}"))),
        None => {}
    }
    if ap.substitute_as {
        out.push(Item::Line(format!("peer {a} substitute-as")));
    }
    match &ap.default_route_advertise {
        Some(Some(p)) => out.push(Item::Line(format!(
            "peer {a} default-route-advertise route-policy {p}"
        ))),
        Some(None) => out.push(Item::Line(format!("peer {a} default-route-advertise"))),
        None => {}
    }
    if let Some(p) = ap.public_as_only {
        let mut s = format!("peer {a} public-as-only");
        match p.mode {
            PrivateAsMode::Basic => {}
            PrivateAsMode::Force => s += " force",
            PrivateAsMode::Limited => s += " limited",
        }
        if p.replace {
            s += " replace";
        }
        if p.include_peer_as {
            s += " include-peer-as";
        }
        out.push(Item::Line(s));
    }
}
