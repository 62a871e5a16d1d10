//! `ip rd-filter` (vendor reference, IP Routing Policy Configuration) over the route
//! distinguisher of a VPN route (RFC 4364 §4.2). An entry matches when any RD it names
//! matches ("OR"); `*` on either side of the colon matches any value. The administrator
//! field is compared as written against the route's RD in the configured notation (the
//! reference: a 4-octet AS is matched dotted unless `as-notation plain`). A route without an
//! RD matches no entry.

use tern_config::MatchMode;
use tern_config::filter::{Filter, RdPattern, Rule};
use tern_types::{Notation, RouteDistinguisher};

use super::first;

/// A compiled RD filter.
#[derive(Debug)]
pub(crate) struct RdFilter {
    entries: Vec<(bool, Vec<RdPattern>)>,
}

impl RdFilter {
    pub(crate) fn new(f: &Filter) -> RdFilter {
        RdFilter {
            entries: f
                .entries
                .values()
                .filter_map(|e| match &e.rule {
                    Rule::Rds(v) => Some((e.mode == MatchMode::Permit, v.clone())),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The filter's verdict on a route with `rd` (None: not a VPN route).
    pub(crate) fn permits(&self, rd: Option<&RouteDistinguisher>, notation: Notation) -> bool {
        let Some(rd) = rd else { return false };
        let text = notation.rd(rd);
        let Some((admin, number)) = text.rsplit_once(':') else {
            return false;
        };
        let number: Option<u32> = number.parse().ok();
        first(&self.entries, |pats| {
            pats.iter().any(|p| {
                p.admin.as_deref().is_none_or(|a| a == admin)
                    && p.number.is_none_or(|n| Some(n) == number)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> (RdFilter, Notation) {
        let c = tern_config::parse_file(text).unwrap();
        (RdFilter::new(&c.filters.rd["100"]), c.notation())
    }

    fn rd(s: &str) -> RouteDistinguisher {
        s.parse().unwrap()
    }

    #[test]
    fn the_reference_order_examples() {
        let (f, n) = filter(
            "ip rd-filter 100 deny 200:1 5.5.5.5:1\nip rd-filter 100 permit 200:* 5.5.5.5:*\n",
        );
        assert!(!f.permits(Some(&rd("200:1")), n));
        assert!(!f.permits(Some(&rd("5.5.5.5:1")), n));
        assert!(f.permits(Some(&rd("200:2")), n));
        assert!(f.permits(Some(&rd("5.5.5.5:9")), n));
        assert!(!f.permits(Some(&rd("300:1")), n));
        assert!(!f.permits(None, n));
        let (f, n) = filter(
            "ip rd-filter 100 permit 200:* 5.5.5.5:*\nip rd-filter 100 deny 200:1 5.5.5.5:1\n",
        );
        assert!(f.permits(Some(&rd("200:1")), n));
    }

    #[test]
    fn wildcards_and_notation() {
        let (f, n) = filter("ip rd-filter 100 permit *:3\n");
        assert!(f.permits(Some(&rd("1.1.1.1:3")), n));
        assert!(f.permits(Some(&rd("100:3")), n));
        assert!(!f.permits(Some(&rd("100:4")), n));
        let (f, n) = filter("ip rd-filter 100 permit 1.10:3\n");
        assert!(f.permits(Some(&rd("65546:3")), n));
        let (f, n) = filter("as-notation plain\nip rd-filter 100 permit 1.10:3\n");
        assert!(!f.permits(Some(&rd("65546:3")), n));
        let (f, n) = filter("as-notation plain\nip rd-filter 100 permit 65546:3\n");
        assert!(f.permits(Some(&rd("65546:3")), n));
    }
}
