//! One family's Loc-RIB table, with the Adj-RIB-In rows inside it.
//!
//! A destination holds every path received for it, from every peer (and every ADD-PATH path
//! ID), and the index of the selected one. A path row ([`Path`]) is 20 octets: peer id, path
//! ID, the attribute set as received (the Adj-RIB-In, RFC 4271 §3.2), the set after import
//! policy (the Loc-RIB candidate; [`AttrId::NONE`] when refused), and the label. So the
//! Adj-RIB-In of a peer is the set of rows carrying its id: what the peer sent is kept, and
//! import policy can be run again over it without a route refresh (RFC 4271 §9.1.1's
//! "Adj-RIBs-In … unprocessed routing information"), with no second table keyed by prefix.
//!
//! One label entry (the usual case) is stored inline in 32 bits; longer stacks are interned.
//!
//! Layout, for memory: the destinations lie densely in a vector, found through a hash index of
//! their positions (4 octets and a control octet per bucket). A destination ([`Dest`]) is its
//! key, a tag octet and 12 octets, all byte-aligned (26 octets for VPNv4). The usual single
//! path (path ID 0, and the attributes after policy either the received ones or none) is
//! stored in the 12 octets as peer, received set and label. Any other destination keeps its
//! paths in a list out of line (a boxed slice in a slot vector, free slots chained), and the
//! 12 octets hold the slot and the index of the selected path. Callers see neither form: they
//! take a destination's paths as [`Paths`] ([`Table::load`]) and put them back
//! ([`Table::store`]).

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use smallvec::{SmallVec, smallvec};
use std::hash::BuildHasher;
use std::mem::size_of;
use tern_types::LabelStack;

use crate::attrs::{AttrId, AttrStore};
use crate::decision::PeerId;
use crate::key::PrefixKey;

/// A label stack in 32 bits: none, one entry inline, or an interned stack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PackedLabel(u32);

impl PackedLabel {
    const NONE: PackedLabel = PackedLabel(u32::MAX);
    const INTERNED: u32 = 1 << 31;

    pub(crate) fn pack(s: &LabelStack, store: &mut AttrStore) -> PackedLabel {
        match s.entries() {
            [] => PackedLabel::NONE,
            [e] => PackedLabel(u32::from_be_bytes([0, e[0], e[1], e[2]])),
            _ => PackedLabel(store.label_stacks.intern(*s) | Self::INTERNED),
        }
    }

    pub(crate) fn unpack(self, store: &AttrStore) -> LabelStack {
        if self == PackedLabel::NONE {
            LabelStack::new()
        } else if self.0 & Self::INTERNED != 0 {
            store
                .label_stacks
                .get_opt(self.0 & !Self::INTERNED)
                .copied()
                .unwrap_or_default()
        } else {
            let b = self.0.to_be_bytes();
            let mut s = LabelStack::new();
            s.push_raw([b[1], b[2], b[3]]);
            s
        }
    }

    pub(crate) fn release(self, store: &mut AttrStore) {
        if self != PackedLabel::NONE && self.0 & Self::INTERNED != 0 {
            store.label_stacks.release(self.0 & !Self::INTERNED);
        }
    }
}

/// One path: a peer's announcement of a destination.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Path {
    pub peer: PeerId,
    pub path_id: u32,
    /// Attributes as received (Adj-RIB-In).
    pub in_attrs: AttrId,
    /// Attributes after import policy; NONE when refused.
    pub attrs: AttrId,
    pub label: PackedLabel,
    /// Kept from a session that ended or is being refreshed, not announced again yet
    /// (RFC 4724 §4.2, RFC 7313 §4).
    pub stale: bool,
}

/// No best path.
pub(crate) const NO_BEST: u16 = u16::MAX;

/// A destination's paths in arrival order and the index of the selected one, taken out of the
/// table to be read or changed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Paths {
    pub list: SmallVec<[Path; 2]>,
    /// Index of the best path in `list`, or [`NO_BEST`].
    pub best: u16,
}

impl Paths {
    /// No paths.
    pub(crate) fn new() -> Paths {
        Paths {
            list: SmallVec::new(),
            best: NO_BEST,
        }
    }

    pub(crate) fn best_path(&self) -> Option<&Path> {
        if self.best == NO_BEST {
            None
        } else {
            self.list.get(usize::from(self.best))
        }
    }

    /// The inline form: the tag and the single path, when the paths have one.
    fn inline(&self) -> Option<(u8, &Path)> {
        match self.list.as_slice() {
            [p] if p.path_id == 0 && (p.attrs == p.in_attrs || p.attrs == AttrId::NONE) => {
                let mut tag = 0;
                if self.best == 0 {
                    tag |= BEST;
                }
                if p.attrs != p.in_attrs {
                    tag |= REFUSED;
                }
                if p.stale {
                    tag |= STALE;
                }
                Some((tag, p))
            }
            _ => None,
        }
    }
}

// Tag bits of a `Dest`.

/// The inline path is the selected one.
const BEST: u8 = 1;
/// The inline path was refused (its post-policy attributes are [`AttrId::NONE`]).
const REFUSED: u8 = 2;
/// The paths are out of line: the words are the list's slot and the best index.
const SPILLED: u8 = 4;
/// The inline path is stale.
const STALE: u8 = 8;

/// A stored destination (see the module documentation). Byte arrays only, so no padding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dest<K> {
    pub key: K,
    tag: u8,
    words: [[u8; 4]; 3],
}

impl<K> Dest<K> {
    fn word(&self, n: usize) -> u32 {
        self.words.get(n).map_or(0, |w| u32::from_ne_bytes(*w))
    }

    fn set_words(&mut self, w: [u32; 3]) {
        self.words = w.map(u32::to_ne_bytes);
    }

    fn spilled(&self) -> bool {
        self.tag & SPILLED != 0
    }

    /// The inline path (when not spilled).
    fn inline_path(&self) -> Path {
        let in_attrs = AttrId(self.word(1));
        Path {
            peer: PeerId(self.word(0)),
            path_id: 0,
            in_attrs,
            attrs: if self.tag & REFUSED != 0 {
                AttrId::NONE
            } else {
                in_attrs
            },
            label: PackedLabel(self.word(2)),
            stale: self.tag & STALE != 0,
        }
    }
}

/// A path as an out-of-line list stores it: 20 octets, the stale bit in the top bit of the
/// received attribute set's id (ids never reach 2³¹: each is an entry of the attribute
/// store).
#[derive(Clone, Copy, Debug)]
struct Stored {
    peer: PeerId,
    path_id: u32,
    in_attrs: u32,
    attrs: AttrId,
    label: PackedLabel,
}

const STALE_BIT: u32 = 1 << 31;

impl Stored {
    fn of(p: &Path) -> Stored {
        debug_assert!(p.in_attrs.0 & STALE_BIT == 0);
        Stored {
            peer: p.peer,
            path_id: p.path_id,
            in_attrs: p.in_attrs.0 | if p.stale { STALE_BIT } else { 0 },
            attrs: p.attrs,
            label: p.label,
        }
    }

    fn path(&self) -> Path {
        Path {
            peer: self.peer,
            path_id: self.path_id,
            in_attrs: AttrId(self.in_attrs & !STALE_BIT),
            attrs: self.attrs,
            label: self.label,
            stale: self.in_attrs & STALE_BIT != 0,
        }
    }
}

/// A slot of the out-of-line path lists.
enum Slot {
    Used(Box<[Stored]>),
    /// Free; the next free slot or [`NIL`].
    Free(u32),
}

/// No slot.
const NIL: u32 = u32::MAX;

/// The out-of-line path lists of a table, in slots reused through a free chain.
struct Lists {
    slots: Vec<Slot>,
    free: u32,
}

impl Lists {
    fn get(&self, slot: u32) -> &[Stored] {
        match self.slots.get(slot as usize) {
            Some(Slot::Used(b)) => b,
            _ => &[],
        }
    }

    /// Puts `paths` in `slot` (a used one, or [`NIL`] for a new one); returns the slot.
    fn put(&mut self, slot: u32, paths: &[Path]) -> u32 {
        if let Some(Slot::Used(b)) = self.slots.get_mut(slot as usize) {
            if b.len() == paths.len() {
                for (x, p) in b.iter_mut().zip(paths) {
                    *x = Stored::of(p);
                }
            } else {
                *b = paths.iter().map(Stored::of).collect();
            }
            return slot;
        }
        let new = Slot::Used(paths.iter().map(Stored::of).collect());
        match self.slots.get_mut(self.free as usize) {
            Some(s) => {
                let slot = self.free;
                if let Slot::Free(next) = std::mem::replace(s, new) {
                    self.free = next;
                }
                slot
            }
            None => {
                self.slots.push(new);
                pos(self.slots.len().saturating_sub(1))
            }
        }
    }

    fn release(&mut self, slot: u32) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = Slot::Free(self.free);
            self.free = slot;
        }
    }

    /// Drops trailing free slots and spare capacity.
    fn shrink_to_fit(&mut self) {
        while matches!(self.slots.last(), Some(Slot::Free(_))) {
            self.slots.pop();
        }
        self.free = NIL;
        for (i, s) in self.slots.iter_mut().enumerate().rev() {
            if let Slot::Free(next) = s {
                *next = self.free;
                self.free = pos(i);
            }
        }
        self.slots.shrink_to_fit();
    }

    fn allocated_bytes(&self) -> usize {
        self.slots
            .iter()
            .map(|s| match s {
                Slot::Used(b) => b.len().saturating_mul(size_of::<Stored>()),
                Slot::Free(_) => 0,
            })
            .fold(
                self.slots.capacity().saturating_mul(size_of::<Slot>()),
                usize::saturating_add,
            )
    }
}

/// A family's table: the destinations stored densely in a vector, found through a hash index
/// of their positions (a 4-octet position and a control octet per bucket, rather than a whole
/// destination per bucket). A removed destination's place is taken by the last one, so the
/// vector has no holes.
pub(crate) struct Table<K> {
    dests: Vec<Dest<K>>,
    index: HashTable<u32>,
    lists: Lists,
    pub paths: usize,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Table {
            dests: Vec::new(),
            index: HashTable::new(),
            lists: Lists {
                slots: Vec::new(),
                free: NIL,
            },
            paths: 0,
        }
    }
}

/// A position in the destination vector (or a list slot) as stored.
fn pos(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl<K: PrefixKey> Table<K> {
    /// Number of destinations.
    pub(crate) fn len(&self) -> usize {
        self.dests.len()
    }

    /// The key of the destination at `i`.
    pub(crate) fn key(&self, i: usize) -> Option<K> {
        self.dests.get(i).map(|d| d.key)
    }

    /// The position of `key`, whose hash is `hash`.
    pub(crate) fn find_hashed(&self, hash: u64, key: &K) -> Option<usize> {
        let dests = &self.dests;
        self.index
            .find(hash, |&i| {
                dests.get(i as usize).is_some_and(|d| d.key == *key)
            })
            .map(|&i| i as usize)
    }

    /// The position of `key`.
    pub(crate) fn find(&self, state: &FixedState, key: &K) -> Option<usize> {
        self.find_hashed(state.hash_one(key), key)
    }

    /// The paths of the destination at `i` (none when there is no such destination).
    pub(crate) fn load(&self, i: usize) -> Paths {
        match self.dests.get(i) {
            None => Paths::new(),
            Some(d) if d.spilled() => Paths {
                list: self.lists.get(d.word(0)).iter().map(Stored::path).collect(),
                best: u16::try_from(d.word(1)).unwrap_or(NO_BEST),
            },
            Some(d) => Paths {
                list: smallvec![d.inline_path()],
                best: if d.tag & BEST != 0 { 0 } else { NO_BEST },
            },
        }
    }

    /// The selected path of the destination at `i`.
    pub(crate) fn best(&self, i: usize) -> Option<Path> {
        let d = self.dests.get(i)?;
        if d.spilled() {
            let best = u16::try_from(d.word(1)).ok().filter(|b| *b != NO_BEST)?;
            self.lists
                .get(d.word(0))
                .get(usize::from(best))
                .map(Stored::path)
        } else {
            (d.tag & BEST != 0).then(|| d.inline_path())
        }
    }

    /// Writes the paths of the destination at `i` (at least one: an empty destination is
    /// removed with [`Table::remove_at`]).
    pub(crate) fn store(&mut self, i: usize, p: &Paths) {
        let Table { dests, lists, .. } = self;
        let Some(d) = dests.get_mut(i) else { return };
        match p.inline() {
            Some((tag, q)) => {
                if d.spilled() {
                    lists.release(d.word(0));
                }
                d.tag = tag;
                d.set_words([q.peer.0, q.in_attrs.0, q.label.0]);
            }
            None => {
                let slot = if d.spilled() { d.word(0) } else { NIL };
                let slot = lists.put(slot, &p.list);
                d.tag = SPILLED;
                d.set_words([slot, u32::from(p.best), 0]);
            }
        }
    }

    /// Adds a destination not in the table yet (`hash` is its key's) with paths `p`.
    pub(crate) fn insert(&mut self, state: &FixedState, hash: u64, key: K, p: &Paths) {
        let i = self.dests.len();
        self.dests.push(Dest {
            key,
            tag: 0,
            words: [[0; 4]; 3],
        });
        self.store(i, p);
        let Table { dests, index, .. } = self;
        let dests = &*dests;
        index.insert_unique(hash, pos(i), |&j| {
            dests.get(j as usize).map_or(0, |d| state.hash_one(d.key))
        });
    }

    /// Removes the destination at `i`, moving the last one into its place.
    pub(crate) fn remove_at(&mut self, state: &FixedState, i: usize) {
        let Some(d) = self.dests.get(i).copied() else {
            return;
        };
        if d.spilled() {
            self.lists.release(d.word(0));
        }
        if let Ok(e) = self
            .index
            .find_entry(state.hash_one(d.key), |&j| j as usize == i)
        {
            e.remove();
        }
        let last = self.dests.len().saturating_sub(1);
        self.dests.swap_remove(i);
        if let Some(moved) = self.dests.get(i) {
            let hash = state.hash_one(moved.key);
            if let Some(j) = self.index.find_mut(hash, |&j| j as usize == last) {
                *j = pos(i);
            }
        }
    }

    /// Gives back spare capacity.
    pub(crate) fn shrink_to_fit(&mut self, state: &FixedState) {
        self.dests.shrink_to_fit();
        self.lists.shrink_to_fit();
        let Table { dests, index, .. } = self;
        let dests = &*dests;
        index.shrink_to_fit(|&i| dests.get(i as usize).map_or(0, |d| state.hash_one(d.key)));
    }

    /// Octets allocated: the destination vector, the index buckets (position + control
    /// octet) and the out-of-line path lists.
    pub(crate) fn allocated_bytes(&self) -> usize {
        [
            self.dests.capacity().saturating_mul(size_of::<Dest<K>>()),
            crate::intern::buckets(self.index.capacity())
                .saturating_mul(size_of::<u32>().saturating_add(1)),
            self.lists.allocated_bytes(),
        ]
        .into_iter()
        .fold(0, usize::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{RouteKey, Vpn4Key};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn row_sizes() {
        // The figures docs/benchmarks.md and the crate docs quote.
        assert_eq!(size_of::<Stored>(), 20);
        assert_eq!(size_of::<Dest<Vpn4Key>>(), 26);
        assert_eq!(size_of::<Slot>(), 16);
    }

    fn key(n: u8) -> Vpn4Key {
        let k = RouteKey::vpn(
            "100:1".parse().unwrap(),
            format!("10.{n}.0.0/16").parse().unwrap(),
        );
        Vpn4Key::pack(&k).unwrap()
    }

    /// Paths of every form: inline (accepted or refused, selected or not), and spilled (a
    /// path ID, modified attributes, several paths).
    fn paths() -> impl Strategy<Value = Paths> {
        let path = (
            0u32..3,
            prop::sample::select(vec![0u32, 0, 5]),
            0u32..3,
            0u8..3,
            any::<bool>(),
        )
            .prop_map(|(peer, path_id, attrs, form, stale)| Path {
                peer: PeerId(peer),
                path_id,
                in_attrs: AttrId(attrs),
                attrs: match form {
                    0 => AttrId(attrs),
                    1 => AttrId::NONE,
                    _ => AttrId(attrs + 10),
                },
                label: PackedLabel(attrs * 7),
                stale,
            });
        (prop::collection::vec(path, 1..4), 0u16..4).prop_map(|(list, best)| {
            let best = if usize::from(best) < list.len() {
                best
            } else {
                NO_BEST
            };
            Paths {
                list: list.into(),
                best,
            }
        })
    }

    #[derive(Clone, Debug)]
    enum Op {
        Put(u8, Paths),
        Remove(u8),
        Shrink,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..24, paths()).prop_map(|(k, p)| Op::Put(k, p)),
            2 => (0u8..24).prop_map(Op::Remove),
            1 => Just(Op::Shrink),
        ]
    }

    proptest! {
        /// Insert, overwrite (crossing between the inline and the spilled form) and remove
        /// at random: every key is found at a position holding its paths, the index and the
        /// vector agree, and no list slot leaks.
        #[test]
        fn table_matches_a_map(ops in prop::collection::vec(op(), 1..300)) {
            let state = crate::intern::state();
            let mut t: Table<Vpn4Key> = Table::default();
            let mut model: BTreeMap<u8, Paths> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Put(k, p) => {
                        let hash = state.hash_one(key(k));
                        match t.find_hashed(hash, &key(k)) {
                            Some(i) => t.store(i, &p),
                            None => t.insert(&state, hash, key(k), &p),
                        }
                        model.insert(k, p);
                    }
                    Op::Remove(k) => {
                        let found = t.find(&state, &key(k));
                        prop_assert_eq!(found.is_some(), model.remove(&k).is_some());
                        if let Some(i) = found {
                            t.remove_at(&state, i);
                        }
                    }
                    Op::Shrink => t.shrink_to_fit(&state),
                }
                prop_assert_eq!(t.len(), model.len());
                prop_assert_eq!(t.index.len(), model.len());
                for k in 0..24 {
                    let i = t.find(&state, &key(k));
                    prop_assert_eq!(i.is_some(), model.contains_key(&k));
                    if let (Some(i), Some(p)) = (i, model.get(&k)) {
                        prop_assert_eq!(t.key(i), Some(key(k)));
                        prop_assert_eq!(&t.load(i), p);
                        prop_assert_eq!(t.best(i), p.best_path().copied());
                    }
                }
                let spilled = t.dests.iter().filter(|d| d.spilled()).count();
                let used = t
                    .lists
                    .slots
                    .iter()
                    .filter(|s| matches!(s, Slot::Used(_)))
                    .count();
                prop_assert_eq!(spilled, used);
                // Every other slot is on the free chain.
                let mut free = 0;
                let mut next = t.lists.free;
                while let Some(Slot::Free(n)) = t.lists.slots.get(next as usize) {
                    free += 1;
                    next = *n;
                    prop_assert!(free <= t.lists.slots.len());
                }
                prop_assert_eq!(next, NIL);
                prop_assert_eq!(used + free, t.lists.slots.len());
            }
        }
    }
}
