//! The `apply` clauses of a `route-policy` node (vendor reference, IP Routing Policy
//! Configuration, `apply ...`), parsed once per configuration and applied to a route's
//! attributes:
//!
//! - `apply as-path`: AS_PATH (RFC 4271 §5.1.2; AS numbers of four octets, RFC 6793);
//! - `apply ip-address next-hop`, `apply ipv6 next-hop`: NEXT_HOP (RFC 4271 §5.1.3) and the
//!   next hop of MP_REACH_NLRI (RFC 4760 §3);
//! - `apply cost`: MULTI_EXIT_DISC (RFC 4271 §5.1.4);
//! - `apply local-preference`: LOCAL_PREF (RFC 4271 §5.1.5);
//! - `apply community`: COMMUNITIES and the well-known communities (RFC 1997);
//! - `apply extcommunity rt`: route targets, extended communities (RFC 4360 §4; four-octet AS
//!   forms, RFC 5668);
//! - `apply mpls-label`: a label for a labeled unicast route (RFC 8277), allocated by the
//!   caller;
//! - `apply preferred-value`, `apply tag`: VRP's own, not BGP attributes.
//!
//! The texts and their forms are described in the crate documentation, "Applying".

use std::net::{Ipv4Addr, Ipv6Addr};

use tern_config::Apply;
use tern_rib::PathAttrs;
use tern_types::{Asn, ExtCommunity, TargetKind};
use tern_wire::NextHop;
use tern_wire::attr::{AsPath, SegmentType};

use crate::{Facts, Outcome, RouteInput};

/// Well-known community NO_EXPORT (RFC 1997).
pub const NO_EXPORT: u32 = 0xFFFF_FF01;
/// Well-known community NO_ADVERTISE (RFC 1997).
pub const NO_ADVERTISE: u32 = 0xFFFF_FF02;
/// Well-known community NO_EXPORT_SUBCONFED (RFC 1997).
pub const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;
/// VRP's `internet` community (0:0).
pub const INTERNET: u32 = 0;

/// A node's `apply` clauses, parsed.
#[derive(Debug, Default)]
pub(crate) struct Actions {
    med: Option<u32>,
    local_pref: Option<u32>,
    preferred_value: Option<u32>,
    tag: Option<u32>,
    communities: Option<ListEdit<u32>>,
    route_targets: Option<ListEdit<ExtCommunity>>,
    as_path: Option<PathEdit>,
    next_hop4: Option<Ipv4Addr>,
    next_hop6: Option<Ipv6Addr>,
    allocate_label: bool,
}

/// A list replaced by, or added to, some values.
#[derive(Debug, PartialEq, Eq)]
struct ListEdit<T> {
    values: Vec<T>,
    additive: bool,
}

/// `apply as-path`.
#[derive(Debug, PartialEq, Eq)]
enum PathEdit {
    /// `additive`: prepended in the order written.
    Prepend(Vec<u32>),
    /// `overwrite` (or no keyword); empty for `none overwrite`.
    Replace(Vec<u32>),
    /// `delete`: removed wherever they appear.
    Delete(Vec<u32>),
}

pub(crate) fn compile_applies(applies: &[Apply], report: &mut impl FnMut(&str, String)) -> Actions {
    let mut a = Actions::default();
    for ap in applies {
        match ap {
            Apply::Cost(v) => a.med = Some(*v),
            Apply::Tag(v) => a.tag = Some(*v),
            Apply::LocalPreference(v) => a.local_pref = Some(*v),
            Apply::PreferredValue(v) => a.preferred_value = Some(*v),
            Apply::IpNextHop(v) => a.next_hop4 = Some(*v),
            Apply::Ipv6NextHop(v) => a.next_hop6 = Some(*v),
            Apply::MplsLabel => a.allocate_label = true,
            Apply::Community(t) => match parse_communities(t) {
                Ok(e) => a.communities = Some(e),
                Err(why) => report(&ap.line(), why),
            },
            Apply::Extcommunity(t) => match parse_route_targets(t) {
                Ok(e) => a.route_targets = Some(e),
                Err(why) => report(&ap.line(), why),
            },
            Apply::AsPath(t) => match parse_as_path(t) {
                Ok(e) => a.as_path = Some(e),
                Err(why) => report(&ap.line(), why),
            },
        }
    }
    a
}

/// The keyword `tok` stands for among `words`: an exact match, else a unique prefix (any
/// case, as the CLI takes keywords).
fn keyword(tok: &str, words: &[&'static str]) -> Option<&'static str> {
    let lower = tok.to_ascii_lowercase();
    if let Some(w) = words.iter().find(|w| **w == lower) {
        return Some(w);
    }
    let mut hits = words.iter().filter(|w| w.starts_with(&lower));
    match (hits.next(), hits.next()) {
        (Some(w), None) if !lower.is_empty() => Some(w),
        _ => None,
    }
}

/// `apply community` text: `none`, or up to 32 values with an optional `additive`.
fn parse_communities(text: &str) -> Result<ListEdit<u32>, String> {
    const WORDS: [&str; 6] = [
        "internet",
        "no-advertise",
        "no-export",
        "no-export-subconfed",
        "additive",
        "none",
    ];
    let mut values = Vec::new();
    let mut additive = false;
    let mut none = false;
    for tok in text.split_whitespace() {
        let v = match keyword(tok, &WORDS) {
            Some("internet") => INTERNET,
            Some("no-advertise") => NO_ADVERTISE,
            Some("no-export") => NO_EXPORT,
            Some("no-export-subconfed") => NO_EXPORT_SUBCONFED,
            Some("additive") => {
                additive = true;
                continue;
            }
            // The one word left: "none".
            Some(_) => {
                none = true;
                continue;
            }
            None => parse_community(tok).ok_or_else(|| {
                format!("'{tok}' is not a community (aa:nn, a number, or a well-known name)")
            })?,
        };
        if !values.contains(&v) {
            values.push(v);
        }
    }
    if none {
        return if values.is_empty() && !additive {
            Ok(ListEdit {
                values,
                additive: false,
            })
        } else {
            Err("'none' stands alone".into())
        };
    }
    match values.len() {
        0 => Err("no community given".into()),
        1..=32 => Ok(ListEdit { values, additive }),
        _ => Err("more than 32 communities".into()),
    }
}

/// `aa:nn` (each 0..65535) or a number (0..4294967295).
fn parse_community(tok: &str) -> Option<u32> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match tok.split_once(':') {
        Some((aa, nn)) if digits(aa) && digits(nn) => {
            let aa: u16 = aa.parse().ok()?;
            let nn: u16 = nn.parse().ok()?;
            Some((u32::from(aa) << 16) | u32::from(nn))
        }
        None if digits(tok) => tok.parse().ok(),
        _ => None,
    }
}

/// `apply extcommunity` text: `rt X` up to 16 times, then an optional `additive`.
fn parse_route_targets(text: &str) -> Result<ListEdit<ExtCommunity>, String> {
    let mut values = Vec::new();
    let mut additive = false;
    let mut toks = text.split_whitespace();
    while let Some(tok) = toks.next() {
        match keyword(tok, &["rt", "additive"]) {
            Some("rt") => {
                let v = toks.next().ok_or("'rt' without a value")?;
                let rt = ExtCommunity::parse_target(TargetKind::RouteTarget, v)
                    .map_err(|e| e.to_string())?;
                if !values.contains(&rt) {
                    values.push(rt);
                }
            }
            // The other word: "additive".
            Some(_) => additive = true,
            None => return Err(format!("'{tok}' is neither 'rt' nor 'additive'")),
        }
    }
    match values.len() {
        0 => Err("no route target given".into()),
        1..=16 => Ok(ListEdit { values, additive }),
        _ => Err("more than 16 route targets".into()),
    }
}

/// `apply as-path` text: AS numbers then `additive`, `overwrite`, `delete` or nothing (as
/// `overwrite`); or `none overwrite`.
fn parse_as_path(text: &str) -> Result<PathEdit, String> {
    let toks: Vec<&str> = text.split_whitespace().collect();
    let (asns, mode) = match toks.split_last() {
        Some((last, rest)) => match keyword(last, &["additive", "overwrite", "delete"]) {
            Some(m) => (rest, m),
            None => (toks.as_slice(), "overwrite"),
        },
        None => return Err("no AS number given".into()),
    };
    if let [none] = asns
        && keyword(none, &["none"]).is_some()
    {
        return match mode {
            "overwrite" => Ok(PathEdit::Replace(Vec::new())),
            _ => Err("'none' goes with 'overwrite'".into()),
        };
    }
    let asns = asns
        .iter()
        .map(|t| {
            t.parse::<Asn>()
                .map(|a| a.0)
                .map_err(|_| format!("'{t}' is not an AS number"))
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if asns.is_empty() {
        return Err("no AS number given".into());
    }
    Ok(match mode {
        "additive" => PathEdit::Prepend(asns),
        "delete" => PathEdit::Delete(asns),
        _ => PathEdit::Replace(asns),
    })
}

impl Actions {
    /// The outcome of a permitting node on `route`.
    pub(crate) fn outcome(&self, f: &Facts, route: &RouteInput<'_>) -> Outcome {
        let tag = self.tag.or(route.tag);
        let next_hop = self.next_hop(f, route);
        let touches = self.med.is_some()
            || self.local_pref.is_some()
            || self.preferred_value.is_some()
            || self.communities.is_some()
            || self.route_targets.is_some()
            || self.as_path.is_some()
            || next_hop.is_some();
        let attrs = touches.then(|| {
            let mut a = route.attrs.clone();
            self.apply(&mut a, next_hop);
            Box::new(a)
        });
        Outcome::Permit {
            attrs,
            allocate_label: self.allocate_label,
            tag,
        }
    }

    /// The next hop the node sets on this route, if any.
    fn next_hop(&self, f: &Facts, route: &RouteInput<'_>) -> Option<NextHop> {
        if route.originated {
            return None;
        }
        match (f.v6, self.next_hop4, self.next_hop6) {
            (false, Some(a), _) => Some(NextHop::Ipv4(a)),
            (true, _, Some(global)) => Some(NextHop::Ipv6 {
                global,
                link_local: None,
            }),
            (true, Some(a), None) => Some(NextHop::ipv4_mapped(a)),
            _ => None,
        }
    }

    fn apply(&self, a: &mut PathAttrs, next_hop: Option<NextHop>) {
        if let Some(v) = self.med {
            a.med = Some(v);
        }
        if let Some(v) = self.local_pref {
            a.local_pref = Some(v);
        }
        if let Some(v) = self.preferred_value {
            a.preferred_value = v;
        }
        if let Some(nh) = next_hop {
            a.next_hop = nh;
        }
        if let Some(e) = &self.communities {
            if !e.additive {
                a.communities.clear();
            }
            for v in &e.values {
                if !a.communities.contains(v) {
                    a.communities.push(*v);
                }
            }
        }
        if let Some(e) = &self.route_targets {
            if !e.additive {
                a.ext_communities.retain(|c| !c.is_route_target());
            }
            for v in &e.values {
                if !a.ext_communities.contains(v) {
                    a.ext_communities.push(*v);
                }
            }
        }
        if let Some(e) = &self.as_path {
            a.as_path = edit_path(&a.as_path, e);
        }
    }
}

fn edit_path(path: &AsPath<'_>, e: &PathEdit) -> AsPath<'static> {
    let four = path.is_four_octet();
    let mut segs: Vec<(SegmentType, Vec<u32>)> = path
        .segments()
        .map(|s| (s.kind, s.asns().collect()))
        .collect();
    match e {
        PathEdit::Replace(asns) => return AsPath::sequence(asns, four),
        PathEdit::Prepend(asns) => match segs.first_mut() {
            Some((SegmentType::Sequence, first)) => {
                first.splice(0..0, asns.iter().copied());
            }
            _ => segs.insert(0, (SegmentType::Sequence, asns.clone())),
        },
        PathEdit::Delete(asns) => {
            for (_, v) in &mut segs {
                v.retain(|a| !asns.contains(a));
            }
            segs.retain(|(_, v)| !v.is_empty());
        }
    }
    AsPath::from_segments(segs.iter().map(|(k, v)| (*k, v.as_slice())), four)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_keywords_may_be_abbreviated() {
        assert_eq!(
            parse_communities("no-export add").unwrap(),
            ListEdit {
                values: vec![NO_EXPORT],
                additive: true
            }
        );
        assert!(parse_communities("no-exp").is_err());
        assert_eq!(
            parse_as_path("65001 over"),
            Ok(PathEdit::Replace(vec![65001]))
        );
    }
}
