//! The route-policy node view's commands: `if-match` and `apply` clauses.

use std::net::IpAddr;

use super::PREFIX_NAME;
use crate::change::{Change, Clause};
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{Apply, Config, Match, PolicyNode};
use crate::value::ArgKind;
use crate::view::Scope;

fn with_node<T>(c: &Config, s: &Scope, f: impl Fn(&PolicyNode) -> T) -> Option<T> {
    match s {
        Scope::RoutePolicy { name, node } => c.route_policies.get(name)?.nodes.get(node).map(f),
        _ => None,
    }
}

/// The route-policy node view.
pub(super) fn route_policy_view() -> Vec<Node> {
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
