//! Line patches between two printed configurations (`display current-configuration`
//! layout): what the commit history keeps for each commit instead of a whole copy.
//!
//! A patch holds the lines it removes as well as those it adds, so it can be undone: any
//! earlier configuration is the running one with the newer patches undone, newest first.
//! The diff is a patience diff (lines unique on both sides anchor the alignment, the rest is
//! compared recursively between anchors), which suits configurations: most lines are unique
//! and a change is local to a few blocks.

use std::collections::HashMap;

/// A change from one text to another, as hunks in order of position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patch {
    hunks: Vec<Hunk>,
}

/// Lines `del` at line index `at` of the old text replaced by `ins`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hunk {
    at: usize,
    del: Vec<String>,
    ins: Vec<String>,
}

impl Patch {
    /// The patch that turns `old` into `new`.
    pub fn diff(old: &str, new: &str) -> Patch {
        let a: Vec<&str> = old.split('\n').collect();
        let b: Vec<&str> = new.split('\n').collect();
        let mut hunks = Vec::new();
        diff_rec(&a, 0, &b, 0, &mut hunks);
        Patch { hunks }
    }

    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.hunks.is_empty()
    }

    /// Lines the patch holds (removed plus added): its size.
    pub fn lines(&self) -> usize {
        self.hunks.iter().map(|h| h.del.len() + h.ins.len()).sum()
    }

    /// `old` with the patch applied; `None` when `old` is not the text the patch was made
    /// from (a removed line differs, or a hunk lies beyond its end).
    pub fn apply(&self, old: &str) -> Option<String> {
        let a: Vec<&str> = old.split('\n').collect();
        let mut out: Vec<&str> = Vec::with_capacity(a.len());
        let mut pos = 0;
        for h in &self.hunks {
            let end = h.at.checked_add(h.del.len())?;
            if h.at < pos || end > a.len() {
                return None;
            }
            out.extend_from_slice(&a[pos..h.at]);
            if a[h.at..end].iter().zip(&h.del).any(|(x, y)| x != y) {
                return None;
            }
            out.extend(h.ins.iter().map(String::as_str));
            pos = end;
        }
        out.extend_from_slice(&a[pos..]);
        Some(out.join("\n"))
    }

    /// The patch that undoes this one.
    pub fn reverse(&self) -> Patch {
        let mut shift: isize = 0;
        let hunks = self
            .hunks
            .iter()
            .map(|h| {
                let at = h.at.saturating_add_signed(shift);
                shift += h.ins.len() as isize - h.del.len() as isize;
                Hunk {
                    at,
                    del: h.ins.clone(),
                    ins: h.del.clone(),
                }
            })
            .collect();
        Patch { hunks }
    }

    /// The patch as text: per hunk `@ AT DEL INS`, then the removed lines (`-`), then the
    /// added ones (`+`).
    pub fn encode(&self, out: &mut String) {
        for h in &self.hunks {
            out.push_str(&format!("@ {} {} {}\n", h.at, h.del.len(), h.ins.len()));
            for l in &h.del {
                out.push('-');
                out.push_str(l);
                out.push('\n');
            }
            for l in &h.ins {
                out.push('+');
                out.push_str(l);
                out.push('\n');
            }
        }
    }

    /// Reads what [`Patch::encode`] wrote, from the lines of `lines` (consumed to the end).
    pub fn decode<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Option<Patch> {
        let mut hunks = Vec::new();
        while let Some(head) = lines.next() {
            let mut w = head.strip_prefix("@ ")?.split(' ');
            let at = w.next()?.parse().ok()?;
            let nd: usize = w.next()?.parse().ok()?;
            let ni: usize = w.next()?.parse().ok()?;
            let mut take = |n: usize, mark: char| -> Option<Vec<String>> {
                (0..n)
                    .map(|_| lines.next()?.strip_prefix(mark).map(str::to_owned))
                    .collect()
            };
            let del = take(nd, '-')?;
            let ins = take(ni, '+')?;
            hunks.push(Hunk { at, del, ins });
        }
        Some(Patch { hunks })
    }
}

/// Appends the hunks turning `a` into `b`; `ao`/`bo` are their offsets in the whole texts.
fn diff_rec(a: &[&str], ao: usize, b: &[&str], bo: usize, out: &mut Vec<Hunk>) {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b, ao, bo) = (&a[pre..], &b[pre..], ao + pre, bo + pre);
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suf], &b[..b.len() - suf]);
    if a.is_empty() && b.is_empty() {
        return;
    }
    let anchors = if a.is_empty() || b.is_empty() {
        Vec::new()
    } else {
        unique_anchors(a, b)
    };
    if anchors.is_empty() {
        out.push(Hunk {
            at: ao,
            del: a.iter().map(|s| (*s).to_owned()).collect(),
            ins: b.iter().map(|s| (*s).to_owned()).collect(),
        });
        return;
    }
    let (mut pa, mut pb) = (0, 0);
    for (ia, ib) in anchors {
        diff_rec(&a[pa..ia], ao + pa, &b[pb..ib], bo + pb, out);
        pa = ia + 1;
        pb = ib + 1;
    }
    diff_rec(&a[pa..], ao + pa, &b[pb..], bo + pb, out);
}

/// Lines occurring once in `a` and once in `b`, as index pairs forming the longest chain
/// increasing in both (patience sorting).
fn unique_anchors(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    // line → (count in a, index in a, count in b, index in b)
    let mut seen: HashMap<&str, (u32, usize, u32, usize)> = HashMap::new();
    for (i, l) in a.iter().enumerate() {
        let e = seen.entry(l).or_insert((0, i, 0, 0));
        e.0 += 1;
    }
    for (i, l) in b.iter().enumerate() {
        if let Some(e) = seen.get_mut(l) {
            e.2 += 1;
            e.3 = i;
        }
    }
    let mut pairs: Vec<(usize, usize)> = seen
        .values()
        .filter(|e| e.0 == 1 && e.2 == 1)
        .map(|e| (e.1, e.3))
        .collect();
    pairs.sort_unstable();
    // Longest increasing subsequence of the b indices.
    let mut tails: Vec<usize> = Vec::new(); // index into pairs
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (k, &(_, ib)) in pairs.iter().enumerate() {
        let pos = tails.partition_point(|&t| pairs[t].1 < ib);
        if pos > 0 {
            prev[k] = Some(tails[pos - 1]);
        }
        if pos == tails.len() {
            tails.push(k);
        } else {
            tails[pos] = k;
        }
    }
    let mut chain = Vec::with_capacity(tails.len());
    let mut k = tails.last().copied();
    while let Some(i) = k {
        chain.push(pairs[i]);
        k = prev[i];
    }
    chain.reverse();
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(old: &str, new: &str) -> Patch {
        let p = Patch::diff(old, new);
        assert_eq!(p.apply(old).as_deref(), Some(new), "{p:?}");
        assert_eq!(p.reverse().apply(new).as_deref(), Some(old), "{p:?}");
        let mut text = String::new();
        p.encode(&mut text);
        let back = Patch::decode(&mut text.lines()).unwrap();
        assert_eq!(back, p);
        p
    }

    #[test]
    fn round_trips() {
        check("", "");
        check("a\nb\n", "a\nb\n");
        check("", "#\nsysname X\n");
        check("#\nsysname X\n", "");
        let p = check(
            "#\nsysname A\n#\nbgp 100\n peer 1.1.1.1 as-number 1\n#\nreturn\n",
            "#\nsysname B\n#\nbgp 100\n peer 1.1.1.1 as-number 1\n peer 2.2.2.2 as-number 2\n#\nreturn\n",
        );
        assert_eq!(p.lines(), 3);
        check("x\n#\n#\ny\n#\n", "#\ny\n#\nx\n#\n#\n");
        // Lines that start like the encoding's markers.
        check("@ 1 2 3\n-a\n+b\n", "+b\n@ 1 2 3\n");
    }

    #[test]
    fn pseudo_random_edits_round_trip() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let base: Vec<String> = (0..200).map(|i| format!("l{}", i % 37)).collect();
        for _ in 0..300 {
            let mut new = base.clone();
            for _ in 0..rnd(8) {
                let i = rnd(new.len() as u64 + 1) as usize;
                match rnd(3) {
                    0 if i < new.len() => {
                        new.remove(i);
                    }
                    1 => new.insert(i, format!("n{}", rnd(50))),
                    _ if i < new.len() => new[i] = "#".into(),
                    _ => {}
                }
            }
            check(&base.join("\n"), &new.join("\n"));
        }
    }

    #[test]
    fn refuses_the_wrong_text() {
        let p = Patch::diff("a\nb\nc", "a\nx\nc");
        assert_eq!(p.apply("a\ny\nc"), None);
        assert_eq!(p.apply(""), None);
    }
}
