//! VRP's regular expressions (AS_PATH, community and route target filters), compiled with
//! the `regex` crate after [`tern_config::filter::vrp_regex`] has translated VRP's `_` (a
//! delimiter: start, end, space, comma, brace, parenthesis) into an alternation the crate
//! understands; the rest of VRP's syntax (`. * + ? ^ $ [ ] ( ) |`, `\` escapes) is the
//! crate's own. An expression is checked when the line is entered, so compiling here fails
//! only for one the grammar did not see; it then matches nothing.

use tern_config::filter::vrp_regex;

/// A compiled expression.
#[derive(Debug)]
pub(crate) struct Re(Option<::regex::Regex>);

impl Re {
    pub(crate) fn new(vrp: &str) -> Re {
        Re(::regex::Regex::new(&vrp_regex(vrp)).ok())
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.0.as_ref().is_some_and(|r| r.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::Re;

    fn m(re: &str, text: &str) -> bool {
        Re::new(re).is_match(text)
    }

    #[test]
    fn underscore_is_a_delimiter() {
        // `^200_`: paths that start with AS 200.
        assert!(m("^200_", "200 100"));
        assert!(m("^200_", "200"));
        assert!(!m("^200_", "2001 100"));
        assert!(!m("^200_", "100 200"));
        // `_100$`: paths that end with (originated in) AS 100.
        assert!(m("_100$", "300 200 100"));
        assert!(m("_100$", "100"));
        assert!(!m("_100$", "300 1100"));
        assert!(!m("_100$", "100 300"));
        // `_200_`: AS 200 anywhere, not 2000 or 1200.
        assert!(m("_200_", "300 200 100"));
        assert!(m("_200_", "200"));
        assert!(!m("_200_", "300 2000 1200"));
        // Sets and confederation segments are delimited too.
        assert!(m("_400_", "100 {300,400}"));
        assert!(m("_65001_", "(65001) 100"));
        // Two delimiters in a row.
        assert!(m("_100_200_", "300 100 200"));
        assert!(!m("_100_200_", "300 100 2000"));
    }

    #[test]
    fn anchors_and_wildcards() {
        // `^$`: the empty path (routes of the local AS).
        assert!(m("^$", ""));
        assert!(!m("^$", "100"));
        // `.*`: everything, the empty path included.
        assert!(m(".*", ""));
        assert!(m(".*", "100 200"));
        assert!(m("^10[0-9]_", "105 7"));
        assert!(!m("^10[0-9]_", "1050 7"));
        assert!(m("^(100|200)_300$", "200 300"));
        assert!(m("^100 200+$", "100 2000"));
        assert!(m("^100_?200", "100200"));
        // `_` inside brackets is the character itself.
        assert!(m("a[_]b", "a_b"));
        assert!(!m("a[_]b", "a b"));
    }

    #[test]
    fn dotted_as_numbers_are_text() {
        // With dotted notation the path reads `1.10 200`: `.` is any character, `\.` a dot.
        assert!(m("^1\\.10_", "1.10 200"));
        assert!(m("_1.10_", "1.10 200"));
        assert!(!m("^1\\.10_", "65546 200"));
        assert!(m("^65546_", "65546 200"));
    }

    #[test]
    fn a_bad_expression_matches_nothing() {
        assert!(!m("^(10", "10"));
    }
}
