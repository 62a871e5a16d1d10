//! Reading a table in steps: displays walk it upward from a position ([`Rib::walk`]), an
//! Adj-RIB-Out member catching up walks it downward ([`Rib::walk_best_down`]); a peer's
//! Adj-RIB-In and the Loc-RIB of a family as lists (RFC 4271 §3.2).

use super::*;

impl Rib {
    /// Destinations of a family from position `start` on, at most `n` of them, each with
    /// every path (as [`Rib::paths`] gives them), appended to `out`; returns the position to
    /// go on from, `None` when the table is done. Positions are those of the table's dense
    /// vector: a walk in steps between which the table changes sees every destination that
    /// stays, at most once; one that a removal moves below the position already walked is
    /// left out.
    pub fn walk(
        &self,
        family: Family,
        start: usize,
        n: usize,
        out: &mut Vec<(RouteKey, Vec<PathInfo>)>,
    ) -> Option<usize> {
        with_table!(ref self.tables, family, t => {
            let end = start.saturating_add(n).min(t.len());
            for i in start..end {
                if let Some(key) = t.key(i) {
                    out.push((key.unpack(), self.path_infos(&t.load(i)).collect()));
                }
            }
            (end < t.len()).then_some(end)
        })
        .flatten()
    }

    /// Number of destinations of a family (positions `0..len` of the dense vector).
    pub fn len(&self, family: Family) -> usize {
        with_table!(ref self.tables, family, t => t.len()).unwrap_or(0)
    }

    /// The position of a destination in its table's dense vector.
    pub fn position(&self, family: Family, key: &RouteKey) -> Option<usize> {
        with_table!(ref self.tables, family, t => t.find(&self.state, &PrefixKey::pack(key)?))
            .flatten()
    }

    /// Walks a family's table downward: the destinations with a best path at positions below
    /// `below` (clamped to the table's length), at most `n` positions of them, appended to
    /// `out`; returns the position the walk goes on below (0: done).
    ///
    /// A removal moves the table's last destination into the removed one's place, and an
    /// insertion appends, so no destination ever moves up: a downward walk whose steps are
    /// separated by changes reaches every destination that was below its position and stays,
    /// at least once (one moved down from above is read again, which is harmless), and a
    /// destination at or above the position is either walked already or new since.
    pub fn walk_best_down(
        &self,
        family: Family,
        below: usize,
        n: usize,
        out: &mut Vec<RouteKey>,
    ) -> usize {
        with_table!(ref self.tables, family, t => {
            let end = below.min(t.len());
            let start = end.saturating_sub(n);
            for i in (start..end).rev() {
                if t.best(i).is_some()
                    && let Some(k) = t.key(i)
                {
                    out.push(k.unpack());
                }
            }
            start
        })
        .unwrap_or(0)
    }

    /// A peer's Adj-RIB-In for a family: what it sent, with the import result.
    pub fn adj_rib_in(&self, peer: PeerId, family: Family) -> Vec<(RouteKey, PathInfo)> {
        with_table!(ref self.tables, family, t => {
            let mut v = Vec::new();
            for i in 0..t.len() {
                let d = t.load(i);
                if !d.list.iter().any(|p| p.peer == peer) {
                    continue;
                }
                let Some(key) = t.key(i) else { continue };
                let key = key.unpack();
                v.extend(self.path_infos(&d).filter(|p| p.peer == peer).map(|p| (key, p)));
            }
            v
        })
        .unwrap_or_default()
    }

    /// The Loc-RIB of a family: every destination with a best path.
    pub fn loc_rib(&self, family: Family) -> Vec<(RouteKey, Best)> {
        with_table!(ref self.tables, family, t => {
            (0..t.len())
                .filter_map(|i| Some((t.key(i)?.unpack(), best(&t.best(i)?, &self.store))))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Destinations and paths of a family.
    pub fn counts(&self, family: Family) -> (usize, usize) {
        with_table!(ref self.tables, family, t => (t.len(), t.paths)).unwrap_or((0, 0))
    }
}
