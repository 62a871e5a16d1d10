//! The `peer` command of the BGP view and of the BGP address family views: the session
//! settings (`as-number`, `connect-interface`, `password`, timers, ...) and the per-family
//! settings (`enable`, `route-policy`, `reflect-client`, ...), with the lines they print.

use std::net::IpAddr;

use super::{HOPS, KEY, POLICY, scope_af};
use crate::change::group::GroupChange;
use crate::change::{AfPeerAttr, Change, PeerScope, SessionAttr};
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{
    AddPathMode, AfKey, AfPeer, Config, ConnectInterface, Group, Password, Peer, RouteLimit,
    RouteLimitAction, Timers,
};
use crate::value::{ArgKind, Value};
use crate::view::Scope;

/// `peer <address> ...`: session commands (`session`) and/or per-family commands (`af`).
pub(super) fn peer(session: bool, af: bool) -> Node {
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
                    kw("cipher", "Cipher text")
                        .then(arg(ArgKind::Word { max: 432 }, "cipher-password", "Key").end()),
                    kw("simple", "Plain text").then(arg(KEY, "simple-password", "Key").end()),
                ]),
        );
        subs.push(kw("timer", "Timers").act(peer_session).sub(timer_nodes()));
        subs.push(
            kw("description", "Description")
                .act(peer_session)
                .uend()
                .then(arg(ArgKind::Text { max: 255 }, "description-text", "Text").end()),
        );
        subs.push(
            kw("ignore", "Disable the session")
                .act(peer_session)
                .end_both(),
        );
        subs.extend(super::peer_as::session_nodes());
    }
    if af {
        for (w, h) in [
            ("enable", "Exchange routes of this family with the peer"),
            ("reflect-client", "The peer is a route reflector client"),
            ("next-hop-invariable", "Do not change the next hop"),
            ("next-hop-local", "Set the next hop to the local address"),
            ("label-route-capability", "Exchange labeled routes"),
            ("advertise-community", "Send communities to the peer"),
            (
                "advertise-ext-community",
                "Send extended communities to the peer",
            ),
            (
                "keep-all-routes",
                "Keep the peer's routes as received (always so in tern)",
            ),
        ] {
            subs.push(kw(w, h).run_both(peer_af));
        }
        subs.extend(super::peer_as::af_nodes());
        let action = |n: Node| {
            n.end().sub([
                kw("alert-only", "Past the limit: warn, refuse further routes").end(),
                kw(
                    "idle-forever",
                    "Past the limit: close, stay down until reset bgp",
                )
                .end(),
                kw(
                    "idle-timeout",
                    "Past the limit: close, connect again after a time",
                )
                .then(arg(ArgKind::Int { min: 1, max: 1200 }, "minutes", "Minutes").end()),
            ])
        };
        subs.push(
            kw("route-limit", "Limit the routes received from the peer")
                .act(peer_af)
                .uend()
                .then(action(
                    arg(
                        ArgKind::Int {
                            min: 1,
                            max: 4294967295,
                        },
                        "limit",
                        "Routes",
                    )
                    .then(action(arg(
                        ArgKind::Int { min: 1, max: 100 },
                        "percentage",
                        "Percent",
                    ))),
                )),
        );
        subs.push(
            kw("as-path-filter", "Filter routes by AS_Path filter")
                .act(peer_af)
                .then(
                    arg(
                        ArgKind::Word { max: 51 },
                        "as-path-filter-name",
                        "AS_Path filter",
                    )
                    .sub([
                        kw("import", "Inbound").end_both(),
                        kw("export", "Outbound").end_both(),
                    ]),
                ),
        );
        for (w, h) in [
            ("ip-prefix", "Filter routes by IPv4 prefix list"),
            ("ipv6-prefix", "Filter routes by IPv6 prefix list"),
        ] {
            subs.push(kw(w, h).act(peer_af).then(
                arg(ArgKind::Word { max: 169 }, "prefix-name", "Prefix list").sub([
                    kw("import", "Inbound").end_both(),
                    kw("export", "Outbound").end_both(),
                ]),
            ));
        }
        subs.push(
            kw("capability-advertise", "Capabilities to advertise").then(
                kw("add-path", "ADD-PATH (RFC 7911)")
                    .act(peer_add_path)
                    .sub([
                        kw("both", "Send and receive several paths").end_both(),
                        kw("receive", "Receive several paths").end_both(),
                        kw("send", "Send several paths").end_both(),
                    ]),
            ),
        );
        subs.push(
            kw("advertise", "Advertise").then(
                kw("add-path", "Paths sent per destination (ADD-PATH)")
                    .act(peer_add_path)
                    .uend()
                    .then(
                        kw("path-number", "The most paths sent per destination").then(
                            arg(ArgKind::Int { min: 2, max: 64 }, "path-number", "Paths").end(),
                        ),
                    ),
            ),
        );
        subs.push(
            kw("route-policy", "Apply a route policy")
                .act(peer_af)
                .then(arg(POLICY, "route-policy-name", "Route policy").sub([
                    kw("import", "Inbound").end_both(),
                    kw("export", "Outbound").end_both(),
                ])),
        );
    }
    // `peer G ...`: the same commands for a peer group (`peer X group G` is the member's).
    let group = arg(GROUP, "peer-group-name", "Peer group").sub(subs.clone());
    subs.push(
        kw("group", "Add the peer to a peer group")
            .act(peer_group)
            .then(arg(GROUP, "group-name", "Peer group").end_both()),
    );
    let addr = arg(ArgKind::IpAddr, "peer-address", "Peer address").sub(subs);
    let addr = if session {
        addr.act(peer_as).uend()
    } else {
        addr
    };
    kw("peer", "Configure a BGP peer or peer group")
        .print(50, print_peers)
        .sub([addr, group])
}

/// A peer group's name (`group-name`: 1..47 characters).
pub(super) const GROUP: ArgKind = ArgKind::GroupName;

/// `group G [internal|external]` (the BGP view, the VPN instance family views).
pub(super) fn group() -> Node {
    kw("group", "Create a peer group").act(group_cmd).then(
        arg(GROUP, "group-name", "Peer group").end_both().sub([
            kw("internal", "IBGP peer group").end(),
            kw("external", "EBGP peer group").end(),
        ]),
    )
}

fn group_cmd(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::Group(GroupChange::Group {
        scope: peer_scope(s),
        name: m.str("group-name").unwrap_or_default().to_owned(),
        external: if m.has("external") {
            Some(true)
        } else if m.has("internal") {
            Some(false)
        } else {
            None
        },
        undo: m.undo,
    }))
}

/// `peer X group G`: membership (the BGP view, a VPN instance family view), or membership and
/// `enable` in a public family view.
fn peer_group(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    Ok(Change::Group(GroupChange::Member {
        scope: peer_scope(s),
        af: match s {
            Scope::BgpAf(k) if k.vpn_instance().is_none() => Some(k.clone()),
            _ => None,
        },
        addr: peer_addr(m),
        name: m.str("group-name").unwrap_or_default().to_owned(),
        undo: m.undo,
    }))
}

/// The group a `peer G ...` line names (None for `peer X ...`).
pub(super) fn target_group(m: &Matched) -> Option<String> {
    m.ip("peer-address")
        .is_none()
        .then(|| m.str("peer-group-name").unwrap_or_default().to_owned())
}

/// Every `peer` line of a view, grouped by peer, peers in address order. The BGP view holds
/// the public peers' session lines; a public family its peers' per-family lines; a VPN
/// instance family its own peers' session lines followed by their per-family lines.
fn print_peers(c: &Config, s: &Scope) -> Vec<Item> {
    let Some(bgp) = &c.bgp else { return vec![] };
    let mut out = Vec::new();
    match s {
        Scope::Bgp => {
            // Groups before their members.
            for g in bgp.groups.values() {
                group_session_lines(g, &mut out);
            }
            for p in bgp.peers.values() {
                peer_session_lines(p, &mut out);
            }
        }
        Scope::BgpAf(af) => {
            let Some(fam) = bgp.families.get(af) else {
                return out;
            };
            let vrf = af.vpn_instance().is_some();
            if vrf {
                for g in fam.groups.values() {
                    group_session_lines(g, &mut out);
                    if let Some(gap) = fam.group_peers.get(&g.name) {
                        peer_af_lines(
                            &g.name,
                            gap,
                            (true, true),
                            None,
                            af.family().is_ipv6(),
                            &mut out,
                        );
                    }
                }
            } else {
                for (name, gap) in &fam.group_peers {
                    // A public group is enabled in IPv4 unicast on creation.
                    let auto = *af == AfKey::Ipv4Unicast && bgp.groups.contains_key(name);
                    peer_af_lines(
                        name,
                        gap,
                        (auto, false),
                        None,
                        af.family().is_ipv6(),
                        &mut out,
                    );
                }
            }
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
                    // A public member is enabled where its group is.
                    let group = if vrf {
                        None
                    } else {
                        bgp.peers.get(&a).and_then(|p| p.group.as_deref())
                    };
                    let group_on =
                        group.is_some_and(|g| fam.group_peers.get(g).is_some_and(|x| x.enable));
                    let auto = session.is_some()
                        || group_on
                        || (*af == AfKey::Ipv4Unicast && a.is_ipv4() && bgp.peers.contains_key(&a));
                    peer_af_lines(
                        &a.to_string(),
                        ap,
                        (auto, session.is_some()),
                        group,
                        af.family().is_ipv6(),
                        &mut out,
                    );
                }
            }
        }
        _ => {}
    }
    out
}

/// `group G internal|external`, `peer G as-number`, then the group's session settings.
fn group_session_lines(g: &Group, out: &mut Vec<Item>) {
    let kind = if g.external { "external" } else { "internal" };
    out.push(Item::Line(format!("group {} {kind}", g.name)));
    if let Some(a) = g.asn {
        out.push(Item::Line(format!("peer {} as-number {a}", g.name)));
    }
    session_lines(&g.name, &g.session, out);
}

/// `peer X as-number` (unless the AS is the group's), `peer X group G`, then the session
/// settings, in VRP's order.
fn peer_session_lines(p: &Peer, out: &mut Vec<Item>) {
    let a = p.addr;
    if !p.asn_inherited {
        out.push(Item::Line(format!("peer {a} as-number {}", p.asn)));
    }
    if let Some(g) = &p.group {
        out.push(Item::Line(format!("peer {a} group {g}")));
    }
    session_lines(&a.to_string(), p, out);
}

/// The session settings of a peer or group (`who`), in VRP's order.
fn session_lines(who: &str, p: &Peer, out: &mut Vec<Item>) {
    let mut line = |rest: String| out.push(Item::Line(format!("peer {who} {rest}")));
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
        });
    }
    if let Some(t) = p.timers {
        line(format!("timer keepalive {} hold {}", t.keepalive, t.hold));
    }
    if let Some(t) = p.connect_retry {
        line(format!("timer connect-retry {t}"));
    }
    if p.ignore {
        line("ignore".into());
    }
    super::peer_as::session_lines(who, p, out);
}

/// A peer's (or group's) lines in one family. `auto`: enabled there on creation; `vrf`: a VPN
/// instance family's own peer, whose `enable` VRP does not print; `group`: the public group
/// of a member, printed as `peer X group G` after its `enable`; `v6`: an IPv6 family.
fn peer_af_lines(
    a: &str,
    ap: &AfPeer,
    (auto, vrf): (bool, bool),
    group: Option<&str>,
    v6: bool,
    out: &mut Vec<Item>,
) {
    match (ap.enable, auto) {
        (true, _) if !vrf => out.push(Item::Line(format!("peer {a} enable"))),
        (false, true) => out.push(Item::Line(format!("undo peer {a} enable"))),
        _ => {}
    }
    if let Some(g) = group.filter(|_| ap.enable) {
        out.push(Item::Line(format!("peer {a} group {g}")));
    }
    let mut line = |rest: &str| out.push(Item::Line(format!("peer {a} {rest}")));
    if let Some(p) = &ap.route_policy_import {
        line(&format!("route-policy {p} import"));
    }
    if let Some(p) = &ap.route_policy_export {
        line(&format!("route-policy {p} export"));
    }
    if let Some(f) = &ap.as_path_filter_import {
        line(&format!("as-path-filter {f} import"));
    }
    if let Some(f) = &ap.as_path_filter_export {
        line(&format!("as-path-filter {f} export"));
    }
    let pl = if v6 { "ipv6-prefix" } else { "ip-prefix" };
    if let Some(p) = &ap.prefix_import {
        line(&format!("{pl} {p} import"));
    }
    if let Some(p) = &ap.prefix_export {
        line(&format!("{pl} {p} export"));
    }
    if let Some(l) = &ap.route_limit {
        let mut s = format!("route-limit {}", l.limit);
        if let Some(p) = l.percent {
            s += &format!(" {p}");
        }
        match l.action {
            RouteLimitAction::Restart => {}
            RouteLimitAction::AlertOnly => s += " alert-only",
            RouteLimitAction::IdleForever => s += " idle-forever",
            RouteLimitAction::IdleTimeout(m) => s += &format!(" idle-timeout {m}"),
        }
        line(&s);
    }
    for (on, w) in [
        (ap.reflect_client, "reflect-client"),
        (ap.next_hop_invariable, "next-hop-invariable"),
        (ap.next_hop_local, "next-hop-local"),
        (ap.label_route_capability, "label-route-capability"),
        (ap.advertise_community, "advertise-community"),
        (ap.advertise_ext_community, "advertise-ext-community"),
        (ap.keep_all_routes, "keep-all-routes"),
    ] {
        if on {
            line(w);
        }
    }
    if let Some(m) = ap.add_path {
        line(&format!("capability-advertise add-path {}", m.word()));
    }
    if let Some(n) = ap.advertise_add_path {
        line(&format!("advertise add-path path-number {n}"));
    }
    super::peer_as::af_lines(a, ap, out);
}

/// `peer X capability-advertise add-path send|receive|both` and `peer X advertise add-path
/// path-number N` (RFC 7911), in the public families only.
fn peer_add_path(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let af = scope_af(s);
    if af.vpn_instance().is_some() {
        return Err(Reject::new(
            "Error: ADD-PATH is not available in a VPN instance address family.",
        ));
    }
    let attr = if m.has("capability-advertise") {
        let mode = if m.has("both") {
            AddPathMode::Both
        } else if m.has("receive") {
            AddPathMode::Receive
        } else {
            AddPathMode::Send
        };
        AfPeerAttr::AddPath(mode, m.undo)
    } else {
        AfPeerAttr::AdvertiseAddPath(if m.undo {
            None
        } else {
            m.int("path-number").and_then(|n| u8::try_from(n).ok())
        })
    };
    if let Some(name) = target_group(m) {
        return Ok(Change::Group(GroupChange::Af { af, name, attr }));
    }
    Ok(Change::AfPeer {
        af,
        addr: peer_addr(m),
        attr,
    })
}

/// `keepalive K hold H` and `connect-retry N` after `timer` (BGP view) or `peer X timer`,
/// with VRP's undo forms: `undo … timer keepalive hold`, `undo … timer keepalive K hold H`,
/// `undo … timer connect-retry [N]` (and `undo peer X timer keepalive`, which tern took
/// before).
pub(super) fn timer_nodes() -> [Node; 2] {
    [
        kw("keepalive", "Keepalive interval").uend().sub([
            kw("hold", "Hold time").uend(),
            arg(
                ArgKind::Int { min: 0, max: 21845 },
                "keepalive-time",
                "Seconds",
            )
            .then(
                kw("hold", "Hold time").then(
                    arg(ArgKind::Int { min: 0, max: 65535 }, "hold-time", "Seconds").end_both(),
                ),
            ),
        ]),
        kw("connect-retry", "ConnectRetry interval").uend().then(
            arg(
                ArgKind::Int { min: 1, max: 65535 },
                "connect-retry-time",
                "Seconds",
            )
            .end_both(),
        ),
    ]
}

/// The keepalive and hold time of a `timer keepalive K hold H` line (None for its undo),
/// checked as VRP checks them.
pub(super) fn timers(m: &Matched) -> Result<Option<Timers>, Reject> {
    match (m.int("keepalive-time"), m.int("hold-time")) {
        (Some(k), Some(h)) if !m.undo => {
            // ParaDef: hold is 0 or 3..65535; ExtraInfo: hold at least three keepalives.
            if h != 0 && (h < 3 || h < k.saturating_mul(3)) {
                return Err(Reject::new(
                    "Error: The hold time must be 0, or at least 3 seconds and three times the keepalive time.",
                ));
            }
            Ok(Some(Timers {
                keepalive: k as u16,
                hold: h as u16,
            }))
        }
        _ => Ok(None),
    }
}

/// The interval of a `timer connect-retry N` line (None for its undo).
pub(super) fn connect_retry(m: &Matched) -> Option<u16> {
    (!m.undo)
        .then(|| {
            m.int("connect-retry-time")
                .and_then(|v| u16::try_from(v).ok())
        })
        .flatten()
}

pub(super) fn peer_scope(s: &Scope) -> PeerScope {
    match s {
        Scope::BgpAf(k @ AfKey::Vrf { .. }) => PeerScope::Vrf(k.clone()),
        _ => PeerScope::Public,
    }
}

pub(super) fn peer_addr(m: &Matched) -> IpAddr {
    m.ip("peer-address")
        .expect("grammar: the peer address is present")
}

fn peer_as(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    if let Some(name) = target_group(m) {
        return Ok(Change::Group(GroupChange::As {
            scope: peer_scope(s),
            name,
            asn: if m.undo { None } else { m.asn("as-number") },
        }));
    }
    if m.undo && m.has("as-number") {
        return Ok(Change::Group(GroupChange::PeerAsUndo {
            scope: peer_scope(s),
            addr: peer_addr(m),
        }));
    }
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
            // A cipher text is kept as it is; a plain key after `cipher` is ciphered (VRP).
            if crate::secret::is_cipher(k) {
                if crate::secret::decode(k).is_none() {
                    return Err(Reject::new("Error: The cipher text password is invalid."));
                }
                Some(Password::Cipher(k.to_owned()))
            } else if k.chars().count() > 255 {
                return Err(Reject::new(
                    "Error: The password is a string of 1 to 255 characters.",
                ));
            } else {
                Some(Password::Cipher(crate::secret::encode(k)))
            }
        } else {
            m.str("simple-password")
                .map(|k| Password::Cipher(crate::secret::encode(k)))
        })
    } else if m.has("connect-retry") {
        SessionAttr::ConnectRetry(connect_retry(m))
    } else if m.has("timer") {
        SessionAttr::Timers(timers(m)?)
    } else if m.has("description") {
        SessionAttr::Description(if on {
            m.str("description-text").map(str::to_owned)
        } else {
            None
        })
    } else {
        SessionAttr::Ignore(on)
    };
    if let Some(name) = target_group(m) {
        return Ok(Change::Group(GroupChange::Session {
            scope: peer_scope(s),
            name,
            attr,
        }));
    }
    Ok(Change::PeerSession {
        scope: peer_scope(s),
        addr: peer_addr(m),
        attr,
    })
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
    } else if m.has("keep-all-routes") {
        AfPeerAttr::KeepAllRoutes(on)
    } else if m.has("advertise-community") {
        AfPeerAttr::AdvertiseCommunity(on)
    } else if m.has("advertise-ext-community") {
        AfPeerAttr::AdvertiseExtCommunity(on)
    } else if m.has("route-limit") {
        AfPeerAttr::RouteLimit(if on {
            let action = if m.has("alert-only") {
                RouteLimitAction::AlertOnly
            } else if m.has("idle-forever") {
                RouteLimitAction::IdleForever
            } else if let Some(t) = m.int("minutes") {
                RouteLimitAction::IdleTimeout(u16::try_from(t).unwrap_or(1200))
            } else {
                RouteLimitAction::Restart
            };
            Some(RouteLimit {
                limit: m.int("limit").unwrap_or(u32::MAX),
                percent: m.int("percentage").and_then(|v| u8::try_from(v).ok()),
                action,
            })
        } else {
            None
        })
    } else if m.has("as-path-filter") {
        AfPeerAttr::AsPathFilter(
            m.has("export"),
            on.then(|| m.str("as-path-filter-name").unwrap_or_default().to_owned()),
        )
    } else if m.has("ip-prefix") || m.has("ipv6-prefix") {
        AfPeerAttr::PrefixFilter(
            m.has("export"),
            m.has("ipv6-prefix"),
            on.then(|| m.str("prefix-name").unwrap_or_default().to_owned()),
        )
    } else {
        let p = on.then(|| m.str("route-policy-name").unwrap_or_default().to_owned());
        if m.has("import") {
            AfPeerAttr::RoutePolicyImport(p)
        } else {
            AfPeerAttr::RoutePolicyExport(p)
        }
    };
    if let Some(name) = target_group(m) {
        return Ok(Change::Group(GroupChange::Af {
            af: scope_af(s),
            name,
            attr,
        }));
    }
    Ok(Change::AfPeer {
        af: scope_af(s),
        addr: peer_addr(m),
        attr,
    })
}
