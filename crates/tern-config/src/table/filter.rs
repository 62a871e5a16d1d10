//! The filters of the system view: `ip as-path-filter`, `ip community-filter`,
//! `ip extcommunity-filter`, `ip rd-filter` (see [`crate::filter`] for the forms and ranges).
//!
//! The values after `permit` / `deny` are taken as the rest of the line (a regular
//! expression may hold spaces) and typed by the action: communities and route targets as
//! `apply community` and `vpn-target` take them, RDs with their `*` wildcards, regular
//! expressions checked by compiling them.

use crate::change::Change;
use crate::community::CommunityValue;
use crate::error::Reject;
use crate::filter::{Filter, FilterChange, FilterEntry, FilterKind, RdPattern, Rule, vrp_regex};
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{Config, MatchMode};
use crate::value::{ArgKind, Value};
use crate::view::Scope;

const NAME: ArgKind = ArgKind::Word { max: 51 };
const INDEX: ArgKind = ArgKind::Int {
    min: 1,
    max: u32::MAX,
};
const RULE: ArgKind = ArgKind::Text { max: 1024 };

/// `permit|deny [RULE]` after a name or an index; `empty`: the rule may be left out (a
/// basic community filter with no value).
fn body(n: Node) -> Node {
    n.sub(["permit", "deny"].map(|mode| {
        kw(mode, "Matching mode")
            .end_both()
            .then(arg(RULE, "rule", "Values or regular expression").end_both())
    }))
}

/// NAME `[index N]` and the body.
fn named(name: Node) -> Node {
    body(name.uend())
        .then(kw("index", "Index").then(body(arg(INDEX, "index-number", "Index").uend())))
}

/// The `ip ...-filter` nodes of the system view.
pub(super) fn ip_filters() -> Vec<Node> {
    vec![
        kw("as-path-filter", "AS_Path filter")
            .act(filter_line)
            .print(82, |c, _| print_filters(c, FilterKind::AsPath))
            .then(named(arg(
                NAME,
                "filter-name",
                "Filter number (1-256) or name",
            ))),
        kw("community-filter", "Community filter")
            .act(filter_line)
            .print(83, |c, _| print_filters(c, FilterKind::Community))
            .sub(typed_names(199, "Basic 1-99, advanced 100-199")),
        kw(
            "extcommunity-filter",
            "Extended community (route target) filter",
        )
        .act(filter_line)
        .print(84, |c, _| print_filters(c, FilterKind::ExtCommunity))
        .sub(typed_names(399, "Basic 1-199, advanced 200-399")),
        kw("rd-filter", "Route distinguisher filter")
            .act(filter_line)
            .print(85, |c, _| print_filters(c, FilterKind::Rd))
            .then(named(arg(
                ArgKind::Int { min: 1, max: 1024 },
                "filter-number",
                "RD filter number",
            ))),
    ]
}

/// `basic NAME`, `advanced NAME`, or a number whose range says which.
fn typed_names(max: u32, help: &'static str) -> [Node; 3] {
    [
        kw("basic", "Basic filter").then(named(arg(NAME, "filter-name", "Filter name"))),
        kw("advanced", "Advanced filter (regular expressions)").then(named(arg(
            NAME,
            "filter-name",
            "Filter name",
        ))),
        named(arg(ArgKind::Int { min: 1, max }, "filter-number", help)),
    ]
}

fn wrong() -> Reject {
    Reject::new("Error: Wrong parameter found.")
}

fn filter_line(m: &Matched, _: &Scope) -> Result<Change, Reject> {
    let kind = if m.has("as-path-filter") {
        FilterKind::AsPath
    } else if m.has("community-filter") {
        FilterKind::Community
    } else if m.has("extcommunity-filter") {
        FilterKind::ExtCommunity
    } else {
        FilterKind::Rd
    };
    let (name, advanced) = match (m.str("filter-name"), m.int("filter-number")) {
        (Some(n), _) => {
            let digits = n.bytes().all(|b| b.is_ascii_digit());
            if kind == FilterKind::AsPath {
                if digits && !n.parse::<u32>().is_ok_and(|v| (1..=256).contains(&v)) {
                    return Err(wrong());
                }
            } else if digits {
                // Named community and extended community filters: not all digits.
                return Err(wrong());
            }
            (n.to_owned(), m.has("advanced"))
        }
        (None, Some(v)) => {
            let advanced = match kind {
                FilterKind::Community => v >= 100,
                FilterKind::ExtCommunity => v >= 200,
                _ => false,
            };
            (v.to_string(), advanced)
        }
        (None, None) => unreachable!("grammar: a filter has a name or number"),
    };
    let mode = if m.has("deny") {
        MatchMode::Deny
    } else {
        MatchMode::Permit
    };
    let text = m.str("rule").map(str::trim);
    let has_mode = m.has("permit") || m.has("deny");
    let rule = match (has_mode, text) {
        (false, _) => None,
        (true, text) => Some(rule(kind, advanced, text.unwrap_or_default())?),
    };
    Ok(Change::Filter(FilterChange {
        kind,
        name,
        advanced,
        index: m.int("index-number"),
        entry: rule.map(|rule| FilterEntry { mode, rule }),
        undo: m.undo,
    }))
}

/// Types the rule of an entry.
fn rule(kind: FilterKind, advanced: bool, text: &str) -> Result<Rule, Reject> {
    if kind == FilterKind::AsPath || advanced {
        if text.is_empty() {
            return Err(Reject::new("Error: Incomplete command found."));
        }
        regex_ok(text)?;
        return Ok(Rule::Regex(text.to_owned()));
    }
    let toks: Vec<&str> = text.split_whitespace().collect();
    match kind {
        FilterKind::Community => {
            let mut values = Vec::new();
            let mut strict = false;
            for (i, t) in toks.iter().enumerate() {
                if t.eq_ignore_ascii_case("strict-match") {
                    if i == 0 || values.last() != Some(&CommunityValue::Internet) {
                        return Err(wrong());
                    }
                    strict = true;
                    continue;
                }
                let v = match ArgKind::Community.parse_abbrev(t) {
                    Some(Value::Community(v)) => v,
                    _ => return Err(wrong()),
                };
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            if values.len() > 20 {
                return Err(wrong());
            }
            Ok(Rule::Communities { values, strict })
        }
        FilterKind::ExtCommunity => {
            if toks.is_empty() || !toks.len().is_multiple_of(2) || toks.len() > 32 {
                return Err(Reject::new("Error: Incomplete command found."));
            }
            let mut rts = Vec::new();
            for pair in toks.chunks(2) {
                if !pair[0].eq_ignore_ascii_case("rt") {
                    return Err(wrong());
                }
                match ArgKind::Rt.parse(pair[1]) {
                    Some(Value::Rt(r)) => rts.push(r),
                    _ => return Err(wrong()),
                }
            }
            Ok(Rule::RouteTargets(rts))
        }
        FilterKind::Rd => {
            if toks.is_empty() || toks.len() > 10 {
                return Err(Reject::new("Error: Incomplete command found."));
            }
            toks.iter()
                .map(|t| RdPattern::parse(t).ok_or_else(wrong))
                .collect::<Result<Vec<_>, _>>()
                .map(Rule::Rds)
        }
        FilterKind::AsPath => unreachable!("handled above"),
    }
}

fn regex_ok(text: &str) -> Result<(), Reject> {
    regex::Regex::new(&vrp_regex(text))
        .map(|_| ())
        .map_err(|_| Reject::new("Error: The regular expression is invalid."))
}

/// `ip community-filter basic aa index 10 permit 100:1`, `ip community-filter 1 index 10
/// permit`, `ip as-path-filter 1 index 10 permit ^10_`.
fn print_filters(c: &Config, kind: FilterKind) -> Vec<Item> {
    let mut out = Vec::new();
    for name in c.filters.names(kind) {
        let f: &Filter = &c.filters.of(kind)[name];
        let numbered = name.bytes().all(|b| b.is_ascii_digit());
        let head = match kind {
            FilterKind::Community | FilterKind::ExtCommunity if !numbered => format!(
                "ip {} {} {name}",
                kind.word(),
                if f.advanced { "advanced" } else { "basic" }
            ),
            _ => format!("ip {} {name}", kind.word()),
        };
        for (i, e) in &f.entries {
            let rule = e.rule.text();
            let mut line = format!("{head} index {i} {}", e.mode.as_str());
            if !rule.is_empty() {
                line.push(' ');
                line.push_str(&rule);
            }
            out.push(Item::Line(line));
        }
    }
    out
}
