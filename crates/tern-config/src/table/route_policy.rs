//! The route-policy node view's commands: `if-match` and `apply` clauses.
//!
//! The values of `apply` are typed as the line is entered, in the forms and ranges of the
//! vendor reference (IP Routing Policy Configuration):
//!
//! - `apply community { aa:nn | number | internet | no-advertise | no-export |
//!   no-export-subconfed } &<1-32> [ additive ]`, `apply community none`: communities
//!   (RFC 1997), see [`crate::community`];
//! - `apply extcommunity { rt X } &<1-16> [ additive ]`: route targets, extended communities
//!   of RFC 4360 §4 (forms of §3.1, §3.2 and RFC 5668 §2);
//! - `apply as-path A &<1-128> { additive | overwrite | delete }`, the same with 129 to 256
//!   AS numbers in one quoted token, and `apply as-path none overwrite`: AS numbers of four
//!   octets (RFC 6793 §3), plain or dotted (RFC 5396 §1).
//!
//! The repetitions are chains of nodes, one level per value, as long as the reference allows.

use std::net::IpAddr;

use super::PREFIX_NAME;
use crate::change::{Change, Clause};
use crate::community::MAX_COMMUNITIES;
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{
    Apply, AsPathMode, Config, MAX_AS_PATH, MAX_AS_PATH_QUOTED, MAX_ROUTE_TARGETS, Match,
    PolicyNode,
};
use crate::value::{ArgKind, Value};
use crate::view::Scope;

/// Parameter names, as the vendor reference calls them.
const CMNTY: &str = "cmnty-value";
const RT: &str = "ext-cmnty-value";
const AS_PATH: &str = "as-path-value";

/// `additive` after a list of values.
fn additive(help: &'static str) -> Node {
    kw("additive", help).end_both()
}

/// The community at position `MAX_COMMUNITIES - left + 1`, and the ones that may follow.
fn communities(left: usize) -> Node {
    let n = arg(ArgKind::Community, CMNTY, "Community")
        .end_both()
        .then(additive("Add to the route's communities"));
    if left > 1 {
        n.then(communities(left - 1))
    } else {
        n
    }
}

/// `rt X` at position `MAX_ROUTE_TARGETS - left + 1`, and the ones that may follow.
fn route_targets(left: usize) -> Node {
    let mut v = arg(ArgKind::Rt, RT, "Route target")
        .end_both()
        .then(additive("Add to the route's route targets"));
    if left > 1 {
        v = v.then(route_targets(left - 1));
    }
    kw("rt", "Route target").then(v)
}

/// What `apply as-path` does with the AS numbers.
fn as_path_modes() -> [Node; 3] {
    [
        kw("additive", "Prepend to the AS_PATH").end_both(),
        kw("overwrite", "Replace the AS_PATH").end_both(),
        kw("delete", "Remove from the AS_PATH").end_both(),
    ]
}

/// The AS number at position `MAX_AS_PATH - left + 1`, and the ones that may follow.
fn as_path(left: usize) -> Node {
    let n = arg(ArgKind::Asn, AS_PATH, "AS number").sub(as_path_modes());
    if left > 1 {
        n.then(as_path(left - 1))
    } else {
        n
    }
}

/// `if-match community-filter|as-path-filter|extcommunity-filter F [more]`: a filter, then
/// (numbered filters) up to 15 more, `whole-match` after a basic community filter's number;
/// what follows the first is typed by the action ([`filter_clauses`]).
fn filters(w: &'static str, h: &'static str) -> Node {
    kw(w, h).uend().then(
        arg(
            ArgKind::Word { max: 51 },
            "list-name",
            "Filter number or name",
        )
        .end_both()
        .then(
            arg(
                ArgKind::Text { max: 1024 },
                "more-filters",
                "More filter numbers (whole-match after a basic community filter)",
            )
            .end_both(),
        ),
    )
}

/// The clauses of an `if-match` on filters: the first filter and those after it.
fn filter_clauses(m: &Matched) -> Result<Vec<Match>, Reject> {
    let wrong = || Reject::new("Error: Wrong parameter found.");
    let (kind, max) = if m.has("community-filter") {
        (0, 199)
    } else if m.has("as-path-filter") {
        (1, 256)
    } else {
        (2, 399)
    };
    let first = m.str("list-name").unwrap_or_default();
    let more = m.str("more-filters").unwrap_or_default();
    let numbered = |t: &str| t.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v));
    let mut out: Vec<Match> = Vec::new();
    for tok in std::iter::once(first).chain(more.split_whitespace()) {
        if tok.eq_ignore_ascii_case("whole-match") {
            // After a basic community filter (a number up to 99, or a name).
            let alone = out.len() == 1;
            match out.last_mut() {
                Some(c @ Match::CommunityFilter(_)) => {
                    let Match::CommunityFilter(n) = c else {
                        unreachable!("matched above")
                    };
                    if !n.parse::<u32>().map_or(alone, |v| v <= 99) {
                        return Err(wrong());
                    }
                    *c = Match::CommunityFilterWhole(std::mem::take(n));
                    continue;
                }
                _ => return Err(wrong()),
            }
        }
        if tok.eq_ignore_ascii_case("sort-match") {
            return Err(Reject::new(
                "Error: Unrecognized command found at '^' position.",
            ));
        }
        // Names stand alone; numbers may repeat (`&<1-16>`).
        let digits = tok.bytes().all(|b| b.is_ascii_digit());
        if (digits && !numbered(tok)) || (!digits && !out.is_empty()) || out.len() == 16 {
            return Err(wrong());
        }
        if out.len() == 1 && !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong());
        }
        out.push(match kind {
            0 => Match::CommunityFilter(tok.to_owned()),
            1 => Match::AsPathFilter(tok.to_owned()),
            _ => Match::ExtcommunityFilter(tok.to_owned()),
        });
    }
    Ok(out)
}

fn with_node<T>(c: &Config, s: &Scope, f: impl Fn(&PolicyNode) -> T) -> Option<T> {
    match s {
        Scope::RoutePolicy { name, node } => c.route_policies.get(name)?.nodes.get(node).map(f),
        _ => None,
    }
}

/// The route-policy node view.
pub(super) fn route_policy_view() -> Vec<Node> {
    let num = |w: &'static str, h: &'static str, max: u32| {
        kw(w, h)
            .uend()
            .then(arg(ArgKind::Int { min: 0, max }, "value", "Value").end_both())
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
                filters("community-filter", "Community filter"),
                kw("rd-filter", "RD filter").uend().then(
                    arg(
                        ArgKind::Int { min: 1, max: 1024 },
                        "rd-filter-number",
                        "RD filter",
                    )
                    .end_both(),
                ),
                filters("as-path-filter", "AS path filter"),
                filters("extcommunity-filter", "Extended community filter"),
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
                kw("comm-filter", "Remove communities a filter names")
                    .uend()
                    .then(
                        arg(
                            ArgKind::Word { max: 51 },
                            "comm-filter-name",
                            "Community filter",
                        )
                        .then(kw("delete", "Remove them").end_both()),
                    ),
                num("cost", "Cost (MED)", u32::MAX),
                num("tag", "Tag", u32::MAX),
                num("local-preference", "Local preference", u32::MAX),
                num("preferred-value", "Preferred value", 65535),
                kw("community", "Set communities").uend().sub([
                    kw("none", "Remove the route's communities").end_both(),
                    communities(MAX_COMMUNITIES),
                ]),
                kw("extcommunity", "Set route targets")
                    .uend()
                    .then(route_targets(MAX_ROUTE_TARGETS).uend()),
                kw("as-path", "Change the AS_PATH").uend().sub([
                    as_path(MAX_AS_PATH),
                    arg(
                        ArgKind::AsnList {
                            min: MAX_AS_PATH as u16 + 1,
                            max: MAX_AS_PATH_QUOTED as u16,
                        },
                        AS_PATH,
                        "AS numbers, quoted",
                    )
                    .sub(as_path_modes()),
                    kw("none", "No AS number")
                        .then(kw("overwrite", "Empty the AS_PATH").end_both()),
                ]),
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
    let v = || m.int("value").unwrap_or_default();
    let any = !(m.has("list-name")
        || m.has("value")
        || m.has("address")
        || m.has("rd-filter-number")
        || m.has("comm-filter-name"));
    let filter_kw =
        m.has("community-filter") || m.has("as-path-filter") || m.has("extcommunity-filter");
    let clause = if m.has("if-match") && filter_kw && !any {
        Clause::Matches(filter_clauses(m)?)
    } else if m.has("if-match") {
        Clause::Match(if m.has("ip-prefix") {
            Match::IpPrefix(list())
        } else if m.has("prefix-list") {
            Match::Ipv6PrefixList(list())
        } else if m.has("mpls-label") {
            Match::MplsLabel
        } else if m.has("community-filter") {
            Match::CommunityFilter(list())
        } else if m.has("rd-filter") {
            Match::RdFilter(m.int("rd-filter-number").unwrap_or_default())
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
        Clause::Apply(if m.has("comm-filter") {
            Apply::CommFilterDelete(m.str("comm-filter-name").unwrap_or_default().to_owned())
        } else if m.has("mpls-label") {
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
            if m.has("none") {
                Apply::CommunityNone
            } else {
                Apply::Community {
                    values: m
                        .all(CMNTY)
                        .filter_map(|v| match v {
                            Value::Community(c) => Some(*c),
                            _ => None,
                        })
                        .collect(),
                    additive: m.has("additive"),
                }
            }
        } else if m.has("extcommunity") {
            Apply::Extcommunity {
                rts: m
                    .all(RT)
                    .filter_map(|v| match v {
                        Value::Rt(rt) => Some(*rt),
                        _ => None,
                    })
                    .collect(),
                additive: m.has("additive"),
            }
        } else if m.has("as-path") {
            if m.has("none") {
                Apply::AsPathNone
            } else {
                Apply::AsPath {
                    asns: m
                        .all(AS_PATH)
                        .flat_map(|v| match v {
                            Value::Asn(a) => vec![*a],
                            Value::Asns(l) => l.clone(),
                            _ => Vec::new(),
                        })
                        .collect(),
                    mode: if m.has("additive") {
                        AsPathMode::Additive
                    } else if m.has("delete") {
                        AsPathMode::Delete
                    } else {
                        AsPathMode::Overwrite
                    },
                }
            }
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
