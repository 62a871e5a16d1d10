//! `ip community-filter` (vendor reference, IP Routing Policy Configuration) over the
//! route's COMMUNITIES (RFC 1997), and `apply comm-filter F delete`.
//!
//! - A basic entry matches when the route carries every community it names ("the community
//!   defined in each rule must be a sub-set of route communities"); `internet` is carried by
//!   every route unless written `internet strict-match`, which asks for the community 0:0
//!   itself. An entry naming nothing matches every route. With `if-match community-filter F
//!   whole-match` the route's communities must be exactly the entry's.
//! - An advanced entry is a regular expression tried on each of the route's communities, in
//!   both forms the reference accepts (`^1:1$` and `^65537$` match the same community), and
//!   by name for the well-known ones; one matching community matches the entry.
//! - `apply comm-filter F delete` removes each community of the route for which the filter's
//!   first matching entry, taken on that community alone, permits. A basic entry that names
//!   more than one community never matches there ("If multiple community attributes are
//!   specified in one filter, none of them can be deleted").

use tern_config::MatchMode;
use tern_config::community::{INTERNET, NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED};
use tern_config::filter::{Filter, Rule};

use super::first;
use super::regex::Re;

#[derive(Debug)]
enum Entry {
    /// Communities all required; `strict`: `internet strict-match`.
    Basic {
        values: Vec<u32>,
        strict: bool,
    },
    Advanced(Re),
}

/// A compiled community filter.
#[derive(Debug)]
pub(crate) struct CommunityFilter {
    entries: Vec<(bool, Entry)>,
}

impl CommunityFilter {
    pub(crate) fn new(f: &Filter) -> CommunityFilter {
        CommunityFilter {
            entries: f
                .entries
                .values()
                .filter_map(|e| {
                    let entry = match &e.rule {
                        Rule::Communities { values, strict } => Entry::Basic {
                            values: values.iter().map(|v| v.value()).collect(),
                            strict: *strict,
                        },
                        Rule::Regex(r) => Entry::Advanced(Re::new(r)),
                        _ => return None,
                    };
                    Some((e.mode == MatchMode::Permit, entry))
                })
                .collect(),
        }
    }

    /// The filter's verdict on a route carrying `communities`; `whole`: `whole-match`.
    pub(crate) fn permits(&self, communities: &[u32], whole: bool) -> bool {
        first(&self.entries, |e| match e {
            Entry::Basic { values, strict } => {
                if whole {
                    values.iter().all(|v| communities.contains(v))
                        && communities.iter().all(|c| values.contains(c))
                } else {
                    values
                        .iter()
                        .all(|v| (*v == INTERNET && !strict) || communities.contains(v))
                }
            }
            Entry::Advanced(re) => communities.iter().any(|c| one_matches(re, *c)),
        })
    }

    /// `apply comm-filter delete`: the communities to remove from `communities`.
    pub(crate) fn deletes(&self, c: u32) -> bool {
        first(&self.entries, |e| match e {
            Entry::Basic { values, .. } => values.len() == 1 && values[0] == c,
            Entry::Advanced(re) => one_matches(re, c),
        })
    }
}

/// An advanced entry on one community: `aa:nn`, the number, or the well-known name.
fn one_matches(re: &Re, c: u32) -> bool {
    let name = match c {
        NO_EXPORT => Some("no-export"),
        NO_ADVERTISE => Some("no-advertise"),
        NO_EXPORT_SUBCONFED => Some("no-export-subconfed"),
        _ => None,
    };
    re.is_match(&format!("{}:{}", c >> 16, c & 0xffff))
        || re.is_match(&c.to_string())
        || name.is_some_and(|n| re.is_match(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str, name: &str) -> CommunityFilter {
        let c = tern_config::parse_file(text).unwrap();
        CommunityFilter::new(&c.filters.community[name])
    }

    const fn pair(a: u32, n: u32) -> u32 {
        (a << 16) | n
    }

    #[test]
    fn basic_entries_need_every_community_of_one_entry() {
        // The reference's formats: one entry of three (AND), or two entries (OR).
        let one = filter("ip community-filter 1 permit 100:1 200:1 300:1\n", "1");
        assert!(one.permits(&[pair(100, 1), pair(200, 1), pair(300, 1), 7], false));
        assert!(!one.permits(&[pair(100, 1), pair(200, 1)], false));
        let two = filter(
            "ip community-filter 1 permit 100:1\nip community-filter 1 permit 200:1 300:1\n",
            "1",
        );
        assert!(two.permits(&[pair(100, 1)], false));
        assert!(two.permits(&[pair(200, 1), pair(300, 1)], false));
        assert!(!two.permits(&[pair(200, 1)], false));
        assert!(!two.permits(&[], false));
    }

    #[test]
    fn deny_entries_internet_and_empty_entries() {
        let f = filter(
            "ip community-filter 1 deny no-export\nip community-filter 1 permit internet\n",
            "1",
        );
        assert!(!f.permits(&[NO_EXPORT, 5], false));
        assert!(f.permits(&[5], false));
        assert!(f.permits(&[], false));
        let strict = filter("ip community-filter 1 permit internet strict-match\n", "1");
        assert!(!strict.permits(&[5], false));
        assert!(strict.permits(&[INTERNET], false));
        let empty = filter("ip community-filter 1 permit\n", "1");
        assert!(empty.permits(&[], false));
        assert!(empty.permits(&[5], false));
    }

    #[test]
    fn whole_match_needs_exactly_the_entry() {
        let f = filter("ip community-filter 1 permit 100:1 200:1\n", "1");
        assert!(f.permits(&[pair(200, 1), pair(100, 1)], true));
        assert!(!f.permits(&[pair(100, 1), pair(200, 1), 7], true));
        assert!(!f.permits(&[pair(100, 1)], true));
        let empty = filter("ip community-filter 1 permit\n", "1");
        assert!(empty.permits(&[], true));
        assert!(!empty.permits(&[5], true));
    }

    #[test]
    fn advanced_entries_match_one_community_in_either_form() {
        // The reference: `^1:1$` and `^65537$` both match the community 1:1 (65537).
        for re in ["^1:1$", "^65537$"] {
            let f = filter(&format!("ip community-filter 100 permit {re}\n"), "100");
            assert!(f.permits(&[7, pair(1, 1)], false), "{re}");
            assert!(!f.permits(&[pair(1, 11)], false), "{re}");
        }
        let f = filter("ip community-filter 100 permit ^100:\n", "100");
        assert!(f.permits(&[pair(100, 5)], false));
        assert!(!f.permits(&[pair(1000, 5)], false));
        let f = filter("ip community-filter 100 permit no-export\n", "100");
        assert!(f.permits(&[NO_EXPORT], false));
    }

    #[test]
    fn comm_filter_delete_takes_single_community_entries() {
        // The reference's example: three entries of one community each.
        let f = filter(
            "ip community-filter 1 permit 1:200\nip community-filter 1 permit 2:200\n\
             ip community-filter 1 permit 3:200\nip community-filter 1 permit 4:200 5:200\n",
            "1",
        );
        for (c, gone) in [
            (pair(1, 200), true),
            (pair(2, 200), true),
            (pair(3, 200), true),
            (pair(4, 200), false),
            (pair(9, 9), false),
        ] {
            assert_eq!(f.deletes(c), gone, "{c:x}");
        }
        let adv = filter(
            "ip community-filter 100 deny ^100:1$\nip community-filter 100 permit ^100:\n",
            "100",
        );
        assert!(!adv.deletes(pair(100, 1)));
        assert!(adv.deletes(pair(100, 2)));
        assert!(!adv.deletes(pair(200, 2)));
    }
}
