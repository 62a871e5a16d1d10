//! VRP's output filters on a display: `display … | include REGEX`, `| exclude REGEX`,
//! `| begin REGEX`, `| count`, and `| no-more` (no pager; accepted after another filter too).
//! The filter is split off the line before the grammar sees it (only for `display` lines:
//! elsewhere `|` belongs to the command, as in an AS-path regular expression) and applied to
//! the display's output, line by line, in the daemon.

use regex::Regex;

/// What to do with a display's lines.
#[derive(Debug)]
pub enum Filter {
    /// Lines that match.
    Include(Regex),
    /// Lines that do not match.
    Exclude(Regex),
    /// From the first line that matches on.
    Begin(Regex),
    /// Only how many lines there are.
    Count,
    /// Everything (`| no-more`: there is no pager to turn off).
    All,
}

/// Splits `line` into the display and its filter; `Ok((line, None))` when it has none. An
/// unknown filter or a bad regular expression is an error in VRP's words.
pub fn split(line: &str) -> Result<(&str, Option<Filter>), String> {
    let first = line.split_whitespace().next().unwrap_or("");
    if first.len() < 3 || !"display".starts_with(first) {
        return Ok((line, None));
    }
    let Some((head, tail)) = line.split_once(" | ") else {
        return Ok((line, None));
    };
    let tail = tail.trim();
    // `| no-more` may follow another filter.
    let tail = tail
        .strip_suffix("| no-more")
        .map_or(tail, |t| t.trim_end())
        .trim();
    let (word, arg) = match tail.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (tail, ""),
    };
    let regex = |a: &str| {
        if a.is_empty() {
            return Err("Error: Incomplete command found at '^' position.".to_owned());
        }
        Regex::new(a).map_err(|_| format!("Error: Wrong regular expression: {a}"))
    };
    let f = match word {
        w if w.len() >= 2 && "include".starts_with(w) => Filter::Include(regex(arg)?),
        w if w.len() >= 2 && "exclude".starts_with(w) => Filter::Exclude(regex(arg)?),
        w if !w.is_empty() && "begin".starts_with(w) => Filter::Begin(regex(arg)?),
        w if w.len() >= 2 && "count".starts_with(w) && arg.is_empty() => Filter::Count,
        w if !w.is_empty() && "no-more".starts_with(w) && arg.is_empty() => Filter::All,
        _ => return Err("Error: Unrecognized command found at '^' position.".to_owned()),
    };
    Ok((head.trim_end(), Some(f)))
}

/// A filter applied to a display's lines as they are produced.
#[derive(Debug)]
pub struct Lines {
    filter: Filter,
    /// `| begin`: a line matched already.
    begun: bool,
    /// `| count`: lines seen.
    count: usize,
}

impl Lines {
    /// The filter's state before the first line.
    pub fn new(filter: Filter) -> Lines {
        Lines {
            filter,
            begun: false,
            count: 0,
        }
    }

    /// Whether `line` (without its end of line) is printed.
    pub fn keep(&mut self, line: &str) -> bool {
        match &self.filter {
            Filter::Include(r) => r.is_match(line),
            Filter::Exclude(r) => !r.is_match(line),
            Filter::Begin(r) => {
                self.begun = self.begun || r.is_match(line);
                self.begun
            }
            Filter::Count => {
                self.count += 1;
                false
            }
            Filter::All => true,
        }
    }

    /// What is printed after the last line (`| count`: the count).
    pub fn end(&self) -> Option<String> {
        matches!(self.filter, Filter::Count).then(|| format!("Total lines: {}\n", self.count))
    }
}

/// The output through the filter.
pub fn apply(f: Filter, output: &str) -> String {
    let mut lines = Lines::new(f);
    let mut out = String::new();
    for l in output.lines() {
        if lines.keep(l) {
            out.push_str(l);
            out.push('\n');
        }
    }
    if let Some(e) = lines.end() {
        out.push_str(&e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "a 10.1.0.0\nb 10.2.0.0\nc 10.1.1.0\n";

    #[test]
    fn filters_take_vrp_forms() {
        let (head, f) = split("display bgp routing-table | include 10\\.1").unwrap();
        assert_eq!(head, "display bgp routing-table");
        assert_eq!(apply(f.unwrap(), OUT), "a 10.1.0.0\nc 10.1.1.0\n");
        let (_, f) = split("dis bgp peer | ex ^b").unwrap();
        assert_eq!(apply(f.unwrap(), OUT), "a 10.1.0.0\nc 10.1.1.0\n");
        let (_, f) = split("display x | begin ^b").unwrap();
        assert_eq!(apply(f.unwrap(), OUT), "b 10.2.0.0\nc 10.1.1.0\n");
        let (_, f) = split("display x | count").unwrap();
        assert_eq!(apply(f.unwrap(), OUT), "Total lines: 3\n");
        let (_, f) = split("display x | include 10.2 | no-more").unwrap();
        assert_eq!(apply(f.unwrap(), OUT), "b 10.2.0.0\n");
        let (_, f) = split("display x | no-more").unwrap();
        assert_eq!(apply(f.unwrap(), OUT), OUT);
    }

    #[test]
    fn other_lines_keep_their_bars_and_bad_filters_are_refused() {
        let l = "ip as-path-filter 1 permit ^(100|200)$ | x";
        assert_eq!(split(l).unwrap().0, l);
        assert!(split("display x | include (").is_err());
        assert!(split("display x | frobnicate").is_err());
        assert!(split("display x | include").is_err());
        assert!(split("display x | count 3").is_err());
    }
}
