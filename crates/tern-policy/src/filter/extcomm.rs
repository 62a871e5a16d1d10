//! `ip extcommunity-filter` (vendor reference, IP Routing Policy Configuration) over the
//! route targets of a route (extended communities, RFC 4360 §4; the 4-octet AS form of
//! RFC 5668 §2). Other extended communities (site of origin, ...) are not looked at.
//!
//! - A basic entry matches when the route carries any route target it names (the
//!   reference: the route targets of one rule are "OR").
//! - An advanced entry is a regular expression tried on each route target written as
//!   `vpn-target` writes it (`100:1`, `1.1.1.1:2`, and a 4-octet AS in the configured
//!   notation: `1.10:3` dotted unless `as-notation plain`, as the reference requires).

use tern_config::MatchMode;
use tern_config::filter::{Filter, Rule};
use tern_types::{ExtCommunity, Notation};

use super::first;
use super::regex::Re;

#[derive(Debug)]
enum Entry {
    Basic(Vec<ExtCommunity>),
    Advanced(Re),
}

/// A compiled extended community filter.
#[derive(Debug)]
pub(crate) struct ExtFilter {
    entries: Vec<(bool, Entry)>,
    notation: Notation,
}

impl ExtFilter {
    pub(crate) fn new(f: &Filter, notation: Notation) -> ExtFilter {
        ExtFilter {
            entries: f
                .entries
                .values()
                .filter_map(|e| {
                    let entry = match &e.rule {
                        Rule::RouteTargets(rts) => {
                            Entry::Basic(rts.iter().map(|r| r.value).collect())
                        }
                        Rule::Regex(r) => Entry::Advanced(Re::new(r)),
                        _ => return None,
                    };
                    Some((e.mode == MatchMode::Permit, entry))
                })
                .collect(),
            notation,
        }
    }

    /// The filter's verdict on a route carrying `ecs`.
    pub(crate) fn permits(&self, ecs: &[ExtCommunity]) -> bool {
        let rts = || ecs.iter().filter(|e| e.is_route_target());
        first(&self.entries, |e| match e {
            Entry::Basic(v) => rts().any(|r| v.contains(r)),
            Entry::Advanced(re) => rts().any(|r| re.is_match(&self.notation.target(r))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_types::TargetKind;

    fn filter(text: &str, name: &str) -> ExtFilter {
        let c = tern_config::parse_file(text).unwrap();
        ExtFilter::new(&c.filters.extcommunity[name], c.notation())
    }

    fn rt(s: &str) -> ExtCommunity {
        ExtCommunity::parse_target(TargetKind::RouteTarget, s).unwrap()
    }

    #[test]
    fn basic_entries_match_any_route_target() {
        let f = filter("ip extcommunity-filter 1 permit rt 100:1 rt 200:1\n", "1");
        assert!(f.permits(&[rt("200:1")]));
        assert!(f.permits(&[rt("9:9"), rt("100:1")]));
        assert!(!f.permits(&[rt("300:1")]));
        // A site of origin with the same value is not a route target.
        let soo = ExtCommunity::as2(TargetKind::RouteOrigin, 100, 1);
        assert!(!f.permits(&[soo]));
        let deny = filter(
            "ip extcommunity-filter 1 deny rt 100:1\nip extcommunity-filter 1 permit rt 100:2\n",
            "1",
        );
        assert!(!deny.permits(&[rt("100:1"), rt("100:2")]));
        assert!(deny.permits(&[rt("100:2")]));
    }

    #[test]
    fn advanced_entries_follow_the_notation() {
        let f = filter("ip extcommunity-filter 200 permit ^1\\.10:3$\n", "200");
        assert!(f.permits(&[rt("65546:3")]));
        let plain = filter(
            "as-notation plain\nip extcommunity-filter 200 permit ^65546:3$\n",
            "200",
        );
        assert!(plain.permits(&[rt("65546:3")]));
        let dotted_in_plain = filter(
            "as-notation plain\nip extcommunity-filter 200 permit ^1\\.10:3$\n",
            "200",
        );
        assert!(!dotted_in_plain.permits(&[rt("65546:3")]));
        let f = filter("ip extcommunity-filter advanced aa permit ^200:\n", "aa");
        assert!(f.permits(&[rt("200:7")]));
        assert!(!f.permits(&[rt("2000:7")]));
        assert!(
            filter("ip extcommunity-filter 200 permit ^1\\.1\\.1\\.1:\n", "200")
                .permits(&[rt("1.1.1.1:5")])
        );
    }
}
