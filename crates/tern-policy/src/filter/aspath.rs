//! `ip as-path-filter` (vendor reference, IP Routing Policy Configuration): regular
//! expressions over the route's AS_PATH (RFC 4271 §5.1.2) written as VRP displays it: AS
//! numbers separated by spaces, an AS_SET in braces with commas (`{300,400}`), confederation
//! segments in parentheses (RFC 5065 §3), each number in the configured notation (RFC 5396:
//! `1.10` for 65546 unless `as-notation plain`; the reference: "change 4-byte AS numbers in
//! AS_Path regular expressions ... to 4-byte AS numbers in dotted notation"). The empty path
//! is the empty string (`^$` matches it).

use tern_config::MatchMode;
use tern_config::filter::{Filter, Rule};
use tern_types::Notation;
use tern_wire::attr::{AsPath, SegmentType};

use super::first;
use super::regex::Re;

/// A compiled AS_Path filter.
#[derive(Debug)]
pub(crate) struct AsPathFilter {
    entries: Vec<(bool, Re)>,
}

impl AsPathFilter {
    pub(crate) fn new(f: &Filter) -> AsPathFilter {
        AsPathFilter {
            entries: f
                .entries
                .values()
                .filter_map(|e| match &e.rule {
                    Rule::Regex(r) => Some((e.mode == MatchMode::Permit, Re::new(r))),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The filter's verdict on a path written as [`path_text`] gives it.
    pub(crate) fn permits(&self, path: &str) -> bool {
        first(&self.entries, |re| re.is_match(path))
    }
}

/// The path as VRP writes it for matching.
pub(crate) fn path_text(path: &AsPath<'_>, notation: Notation) -> String {
    let mut out = String::new();
    for (i, s) in path.segments().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let (open, close, sep) = match s.kind {
            SegmentType::Sequence => ("", "", " "),
            SegmentType::Set => ("{", "}", ","),
            SegmentType::ConfedSequence => ("(", ")", " "),
            SegmentType::ConfedSet => ("[", "]", ","),
        };
        out.push_str(open);
        for (j, a) in s.asns().enumerate() {
            if j > 0 {
                out.push_str(sep);
            }
            out.push_str(&notation.asn(a));
        }
        out.push_str(close);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(lines: &str) -> AsPathFilter {
        let c = tern_config::parse_file(lines).unwrap();
        AsPathFilter::new(&c.filters.as_path["1"])
    }

    #[test]
    fn first_entry_decides_and_none_denies() {
        // The reference's example: deny _30_, then permit .*.
        let f = filter("ip as-path-filter 1 deny _30_\nip as-path-filter 1 permit .*\n");
        assert!(!f.permits("10 30 40"));
        assert!(f.permits("10 300 40"));
        assert!(f.permits(""));
        let f = filter("ip as-path-filter 1 permit ^10_\n");
        assert!(f.permits("10 20"));
        assert!(!f.permits("20 10"));
    }

    #[test]
    fn paths_are_written_in_the_notation() {
        let p = AsPath::sequence(&[65546, 200, 100], true);
        assert_eq!(path_text(&p, Notation::Dot), "1.10 200 100");
        assert_eq!(path_text(&p, Notation::Plain), "65546 200 100");
        let set = AsPath::from_segments(
            [
                (SegmentType::Sequence, &[100u32][..]),
                (SegmentType::Set, &[300, 400][..]),
            ],
            true,
        );
        assert_eq!(path_text(&set, Notation::Dot), "100 {300,400}");
        assert_eq!(path_text(&AsPath::sequence(&[], true), Notation::Dot), "");
    }
}
