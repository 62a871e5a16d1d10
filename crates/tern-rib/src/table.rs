//! One family's Loc-RIB table, with the Adj-RIB-In rows inside it.
//!
//! A destination ([`Dest`]) holds every path received for it, from every peer (and every
//! ADD-PATH path ID), and the index of the selected one. A path row ([`Path`]) is 20 octets:
//! peer id, path ID, the attribute set as received (the Adj-RIB-In, RFC 4271 §3.2), the set
//! after import policy (the Loc-RIB candidate; [`AttrId::NONE`] when refused), and the label.
//! So the Adj-RIB-In of a peer is the set of rows carrying its id: what the peer sent is kept,
//! and import policy can be run again over it without a route refresh (RFC 4271 §9.1.1's
//! "Adj-RIBs-In … unprocessed routing information"), with no second table keyed by prefix.
//!
//! One label entry (the usual case) is stored inline in 32 bits; longer stacks are interned.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use smallvec::SmallVec;
use std::hash::BuildHasher;
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
}

/// No best path.
pub(crate) const NO_BEST: u16 = u16::MAX;

/// A destination and its paths.
pub(crate) struct Dest<K> {
    pub key: K,
    /// Index of the best path in `paths`, or [`NO_BEST`].
    pub best: u16,
    pub paths: SmallVec<[Path; 1]>,
}

impl<K> Dest<K> {
    pub(crate) fn best_path(&self) -> Option<&Path> {
        if self.best == NO_BEST {
            None
        } else {
            self.paths.get(usize::from(self.best))
        }
    }
}

/// A family's table: the destinations stored densely in a vector, found through a hash index
/// of their positions (a 4-octet position and a control octet per bucket, rather than a whole
/// destination per bucket). A removed destination's place is taken by the last one, so the
/// vector has no holes.
pub(crate) struct Table<K> {
    pub dests: Vec<Dest<K>>,
    index: HashTable<u32>,
    pub paths: usize,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Table {
            dests: Vec::new(),
            index: HashTable::new(),
            paths: 0,
        }
    }
}

/// A position in the destination vector as the index stores it.
fn pos(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl<K: PrefixKey> Table<K> {
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

    /// Adds a destination not in the table yet (`hash` is its key's); returns its position.
    pub(crate) fn insert(&mut self, state: &FixedState, hash: u64, d: Dest<K>) -> usize {
        let i = self.dests.len();
        self.dests.push(d);
        let Table { dests, index, .. } = self;
        let dests = &*dests;
        index.insert_unique(hash, pos(i), |&j| {
            dests.get(j as usize).map_or(0, |d| state.hash_one(d.key))
        });
        i
    }

    /// Removes the destination at `i`, moving the last one into its place.
    pub(crate) fn remove_at(&mut self, state: &FixedState, i: usize) -> Option<Dest<K>> {
        let key = self.dests.get(i)?.key;
        if let Ok(e) = self
            .index
            .find_entry(state.hash_one(key), |&j| j as usize == i)
        {
            e.remove();
        }
        let last = self.dests.len().saturating_sub(1);
        let d = self.dests.swap_remove(i);
        if let Some(moved) = self.dests.get(i) {
            let hash = state.hash_one(moved.key);
            if let Some(j) = self.index.find_mut(hash, |&j| j as usize == last) {
                *j = pos(i);
            }
        }
        Some(d)
    }

    /// Gives back spare capacity.
    pub(crate) fn shrink_to_fit(&mut self, state: &FixedState) {
        self.dests.shrink_to_fit();
        let Table { dests, index, .. } = self;
        let dests = &*dests;
        index.shrink_to_fit(|&i| dests.get(i as usize).map_or(0, |d| state.hash_one(d.key)));
    }

    /// Octets allocated: the destination vector, the index buckets (position + control
    /// octet) and spilled path vectors.
    pub(crate) fn allocated_bytes(&self) -> usize {
        let dests = self
            .dests
            .capacity()
            .saturating_mul(std::mem::size_of::<Dest<K>>());
        let index = crate::intern::buckets(self.index.capacity())
            .saturating_mul(std::mem::size_of::<u32>().saturating_add(1));
        self.dests
            .iter()
            .filter(|d| d.paths.spilled())
            .map(|d| {
                d.paths
                    .capacity()
                    .saturating_mul(std::mem::size_of::<Path>())
            })
            .fold(dests.saturating_add(index), usize::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Vpn4Key;

    #[test]
    fn row_sizes() {
        // The figures docs/benchmarks.md and the crate docs quote.
        assert_eq!(std::mem::size_of::<Path>(), 20);
        assert_eq!(std::mem::size_of::<Dest<Vpn4Key>>(), 48);
    }
}
