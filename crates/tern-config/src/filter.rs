//! The route filters of the system view (vendor reference, IP Routing Policy Configuration):
//!
//! - `ip as-path-filter NAME|1-256 [index N] permit|deny REGEX`: AS_PATH (RFC 4271 §5.1.2)
//!   regular expressions;
//! - `ip community-filter 1-99 | basic NAME [index N] permit|deny [VALUE ...]` (COMMUNITIES,
//!   RFC 1997: `aa:nn`, a number, `internet [strict-match]`, `no-export`, `no-advertise`,
//!   `no-export-subconfed`, up to 20), and `ip community-filter 100-199 | advanced NAME
//!   [index N] permit|deny REGEX`;
//! - `ip extcommunity-filter 1-199 | basic NAME [index N] permit|deny rt X ...` (route
//!   targets, RFC 4360 §4, up to 16) and `ip extcommunity-filter 200-399 | advanced NAME
//!   [index N] permit|deny REGEX`;
//! - `ip rd-filter 1-1024 [index N] permit|deny RD ...` (route distinguishers, RFC 4364 §4.2,
//!   up to 10; `*` for either side of the colon matches any value).
//!
//! A filter is a list of entries by index; entries typed without `index` get the next
//! multiple of 10 (as prefix lists do). What the entries mean when a route is matched is
//! tern-policy's (its `filter` modules). A regular expression is checked when the line is
//! entered: VRP's syntax, translated by [`vrp_regex`].

use std::collections::BTreeMap;

use tern_types::{ExtCommunity, RouteDistinguisher};

use crate::community::CommunityValue;
use crate::error::Reject;
use crate::model::MatchMode;
use crate::value::Written;

/// The four kinds of filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilterKind {
    /// `ip as-path-filter`.
    AsPath,
    /// `ip community-filter`.
    Community,
    /// `ip extcommunity-filter`.
    ExtCommunity,
    /// `ip rd-filter`.
    Rd,
}

impl FilterKind {
    /// The command word after `ip`.
    pub fn word(self) -> &'static str {
        match self {
            FilterKind::AsPath => "as-path-filter",
            FilterKind::Community => "community-filter",
            FilterKind::ExtCommunity => "extcommunity-filter",
            FilterKind::Rd => "rd-filter",
        }
    }
}

/// Every filter of the configuration, by kind and name (a numbered filter's name is its
/// number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// `ip as-path-filter`.
    pub as_path: BTreeMap<String, Filter>,
    /// `ip community-filter`.
    pub community: BTreeMap<String, Filter>,
    /// `ip extcommunity-filter`.
    pub extcommunity: BTreeMap<String, Filter>,
    /// `ip rd-filter`.
    pub rd: BTreeMap<String, Filter>,
}

impl Filters {
    /// The filters of one kind.
    pub fn of(&self, kind: FilterKind) -> &BTreeMap<String, Filter> {
        match kind {
            FilterKind::AsPath => &self.as_path,
            FilterKind::Community => &self.community,
            FilterKind::ExtCommunity => &self.extcommunity,
            FilterKind::Rd => &self.rd,
        }
    }

    fn of_mut(&mut self, kind: FilterKind) -> &mut BTreeMap<String, Filter> {
        match kind {
            FilterKind::AsPath => &mut self.as_path,
            FilterKind::Community => &mut self.community,
            FilterKind::ExtCommunity => &mut self.extcommunity,
            FilterKind::Rd => &mut self.rd,
        }
    }

    /// The names of one kind in print order: numbers first, ascending, then names.
    pub fn names(&self, kind: FilterKind) -> Vec<&String> {
        let mut v: Vec<&String> = self.of(kind).keys().collect();
        v.sort_by_key(|n| (n.parse::<u32>().map_or(u64::MAX, u64::from), (*n).clone()));
        v
    }

    /// Applies a [`FilterChange`].
    pub(crate) fn apply(&mut self, c: &FilterChange) -> Result<(), Reject> {
        let filters = self.of_mut(c.kind);
        if c.undo {
            let f = filters
                .get_mut(&c.name)
                .ok_or_else(|| Reject::new(FILTER_NOT_EXIST))?;
            let idx = match (c.index, &c.entry) {
                (Some(i), _) => Some(i),
                (None, Some(e)) => Some(
                    f.entries
                        .iter()
                        .find(|(_, x)| *x == e)
                        .map(|(i, _)| *i)
                        .ok_or_else(|| Reject::new(FILTER_NOT_EXIST))?,
                ),
                (None, None) => None,
            };
            match idx {
                Some(i) => {
                    f.entries
                        .remove(&i)
                        .ok_or_else(|| Reject::new(FILTER_NOT_EXIST))?;
                    if f.entries.is_empty() {
                        filters.remove(&c.name);
                    }
                }
                None => {
                    filters.remove(&c.name);
                }
            }
            return Ok(());
        }
        let Some(e) = &c.entry else {
            return Err(Reject::new(FILTER_NOT_EXIST));
        };
        let f = filters.entry(c.name.clone()).or_insert_with(|| Filter {
            advanced: c.advanced,
            entries: BTreeMap::new(),
        });
        if f.advanced != c.advanced {
            return Err(Reject::new(FILTER_TYPE));
        }
        let i = match c.index {
            Some(i) => i,
            None if f.entries.values().any(|x| x == e) => return Ok(()),
            None => f
                .entries
                .keys()
                .next_back()
                .map_or(10, |m| (m / 10).saturating_add(1).saturating_mul(10)),
        };
        f.entries.insert(i, e.clone());
        Ok(())
    }
}

/// An undo naming a filter or entry that does not exist.
pub const FILTER_NOT_EXIST: &str = "Error: The filter or its entry does not exist.";
/// A named filter typed again as the other type (basic / advanced).
pub const FILTER_TYPE: &str =
    "Error: A filter with the same name but a different type already exists.";

/// One filter: its entries by index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// An advanced (regular expression) community or extended community filter.
    pub advanced: bool,
    /// Entries by index (1..4294967295), tried in ascending order.
    pub entries: BTreeMap<u32, FilterEntry>,
}

/// One entry of a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterEntry {
    /// `permit` or `deny`.
    pub mode: MatchMode,
    /// What it matches.
    pub rule: Rule,
}

/// What a filter entry matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A regular expression in VRP's syntax, as written (`ip as-path-filter`, the advanced
    /// filters).
    Regex(String),
    /// A basic community filter's communities (all of which the route must carry); `strict`:
    /// `internet strict-match`.
    Communities {
        /// The communities, as written.
        values: Vec<CommunityValue>,
        /// `internet strict-match`: only routes that carry the community 0:0 match
        /// `internet`.
        strict: bool,
    },
    /// A basic extended community filter's route targets (any of which matches).
    RouteTargets(Vec<Written<ExtCommunity>>),
    /// An RD filter's RDs (any of which matches), as written.
    Rds(Vec<RdPattern>),
}

impl Rule {
    /// The rule as the command writes it, after `permit` / `deny`.
    pub fn text(&self) -> String {
        match self {
            Rule::Regex(r) => r.clone(),
            Rule::Communities { values, strict } => values
                .iter()
                .map(|v| {
                    if *strict && *v == CommunityValue::Internet {
                        "internet strict-match".to_owned()
                    } else {
                        v.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            Rule::RouteTargets(rts) => rts
                .iter()
                .map(|r| format!("rt {r}"))
                .collect::<Vec<_>>()
                .join(" "),
            Rule::Rds(rds) => rds
                .iter()
                .map(|r| r.text.clone())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// One RD of `ip rd-filter`: `100:1`, `1.1.1.1:1`, `65537:1`, `1.1:1`, either side of the
/// colon possibly `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdPattern {
    /// As written.
    pub text: String,
    /// The administrator field as written (`None`: `*`).
    pub admin: Option<String>,
    /// The assigned number (`None`: `*`).
    pub number: Option<u32>,
}

impl RdPattern {
    /// Parses one RD of `ip rd-filter`.
    pub fn parse(tok: &str) -> Option<RdPattern> {
        let (a, n) = tok.rsplit_once(':')?;
        let number = if n == "*" {
            None
        } else {
            Some(n.parse().ok()?)
        };
        let admin = if a == "*" {
            None
        } else {
            // The administrator must be one an RD can have: check with a stand-in number.
            let probe = format!("{a}:{}", number.unwrap_or(0).min(65535));
            probe.parse::<RouteDistinguisher>().ok()?;
            Some(a.to_owned())
        };
        if admin.is_some() && number.is_some() {
            tok.parse::<RouteDistinguisher>().ok()?;
        }
        Some(RdPattern {
            text: tok.to_owned(),
            admin,
            number,
        })
    }
}

/// One filter line, or its undo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterChange {
    /// The kind.
    pub kind: FilterKind,
    /// The name (a number as written).
    pub name: String,
    /// An advanced filter (regular expressions).
    pub advanced: bool,
    /// `index N` (None: the next multiple of 10; with undo, the whole filter unless `entry`
    /// names one).
    pub index: Option<u32>,
    /// The entry (None with `undo ip ... NAME [index N]`).
    pub entry: Option<FilterEntry>,
    /// Delete.
    pub undo: bool,
}

/// VRP's AS path and community regular expressions in the syntax of the `regex` crate.
///
/// The operators are those of POSIX extended expressions (`. * + ? ^ $ [ ] ( ) |` and `\`
/// escapes) with one addition: `_` outside a bracket matches a delimiter — the start or end
/// of the string, a space, a comma, or a brace or parenthesis (the boundaries of AS_SET and
/// confederation segments as the path is written). `_` inside brackets, and every other
/// character, stands for itself.
pub fn vrp_regex(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 16);
    let mut in_bracket = false;
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' if !in_bracket => {
                in_bracket = true;
                out.push('[');
                // `[]...]` and `[^]...]`: a leading `]` is a member.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_bracket => {
                in_bracket = false;
                out.push(']');
            }
            '_' if !in_bracket => out.push_str("(?:^|$|[ ,{}()\\[\\]])"),
            // Characters the regex crate treats specially inside brackets (`[[:alpha:]]`
            // stays POSIX; `&&`, `--` and `~~` are set operations there).
            '&' | '-' | '~' if in_bracket && chars.peek() == Some(&c) => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `display ip as-path-filter|community-filter|extcommunity-filter|rd-filter [NAME]`: the
/// filters of one kind (or the one named) in VRP's layout. A filter that does not exist
/// shows nothing.
pub fn display(filters: &Filters, kind: FilterKind, only: Option<&str>) -> String {
    let mut out = String::new();
    for name in filters.names(kind) {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let f = &filters.of(kind)[name];
        let numbered = name.bytes().all(|b| b.is_ascii_digit());
        let class = if f.advanced { "advanced" } else { "basic" };
        let (head, indent, wide) = match kind {
            FilterKind::AsPath if numbered => (format!("As path filter number: {name}"), 10, true),
            FilterKind::AsPath => (format!("As path filter name: {name}"), 10, true),
            FilterKind::Community if numbered => {
                (format!("Community filter Number: {name}"), 2, false)
            }
            FilterKind::Community => (format!("Named Community {class} filter: {name}"), 2, false),
            FilterKind::ExtCommunity if numbered => (
                format!("Extended Community filter Number: {name}"),
                2,
                false,
            ),
            FilterKind::ExtCommunity => (
                format!("Extended Community filter {class} filter: {name}"),
                2,
                false,
            ),
            FilterKind::Rd => (format!("Route Distinguisher Filter {name}"), 8, false),
        };
        out.push_str(&head);
        out.push('\n');
        for (i, e) in &f.entries {
            let mode = e.mode.as_str();
            let rule = e.rule.text();
            let line = if wide {
                format!("{:indent$}index: {i:<7}{mode:<10}{rule}", "")
            } else if rule.is_empty() {
                format!("{:indent$}index: {i:<7}{mode}", "")
            } else {
                format!("{:indent$}index: {i:<7}{mode} {rule}", "")
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}
