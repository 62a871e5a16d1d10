//! Reference-counted interning of attribute parts (the approach of BIRD's `ea_list` cache and
//! OpenBGPD's `rde_aspath`: identical values are stored once).
//!
//! An [`Interner`] maps equal values to one `u32` id and counts references; the value is
//! freed (and the id reused) when the last reference is released. Lookups by borrowed form
//! (`&[u32]` for a `Box<[u32]>`) allocate only when the value is new.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::mem::size_of;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// The seed of every hash table in a RIB. Fixed, so that iteration orders (and with them the
/// order of the changes a peer-down produces) are the same on every run: a recorded input
/// replays to the same output.
pub(crate) const SEED: u64 = 0x7465_726e_2d72_6962;

/// The hash builder of the RIB's tables.
pub(crate) fn state() -> FixedState {
    FixedState::with_seed(SEED)
}

/// Buckets behind a hashbrown table of `capacity` items (power of two, 7/8 load at most).
pub(crate) fn buckets(capacity: usize) -> usize {
    match capacity {
        0 => 0,
        1..8 => capacity.saturating_add(1).next_power_of_two(),
        _ => (capacity.saturating_mul(8) / 7).next_power_of_two(),
    }
}

/// Heap octets a value owns beyond its own size (for memory accounting).
pub trait HeapSize {
    /// Octets allocated on the heap by this value.
    fn heap_size(&self) -> usize;
}

impl<T> HeapSize for Box<[T]> {
    fn heap_size(&self) -> usize {
        self.len().saturating_mul(size_of::<T>())
    }
}

struct Slot<T> {
    refs: u32,
    value: Option<T>,
}

/// Values stored once, by id, with a reference count.
pub struct Interner<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    state: FixedState,
    heap: usize,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            state: state(),
            heap: 0,
        }
    }
}

impl<T: Hash + Eq + HeapSize> Interner<T> {
    /// The id of `q`, creating the value with `make` if it is not stored yet; takes one
    /// reference.
    pub fn intern_by<Q>(&mut self, q: &Q, make: impl FnOnce(&Q) -> T) -> u32
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.state.hash_one(q);
        match self.find_hashed(hash, q) {
            Some(id) => {
                self.retain(id);
                id
            }
            None => self.insert_new(hash, make(q)),
        }
    }

    /// The id of `v`, storing it if new; takes one reference.
    pub fn intern(&mut self, v: T) -> u32 {
        let hash = self.state.hash_one(&v);
        match self.find_hashed(hash, &v) {
            Some(id) => {
                self.retain(id);
                id
            }
            None => self.insert_new(hash, v),
        }
    }

    fn find_hashed<Q>(&self, hash: u64, q: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.index
            .find(hash, |id| {
                self.get_opt(*id).is_some_and(|v| v.borrow() == q)
            })
            .copied()
    }

    fn insert_new(&mut self, hash: u64, value: T) -> u32 {
        self.heap = self.heap.saturating_add(value.heap_size());
        let slot = Slot {
            refs: 1,
            value: Some(value),
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = slot;
                }
                id
            }
            None => {
                let id = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(slot);
                id
            }
        };
        let Interner {
            slots,
            index,
            state,
            ..
        } = self;
        let slots = &*slots;
        index.insert_unique(hash, id, |id| {
            slots
                .get(*id as usize)
                .and_then(|s| s.value.as_ref())
                .map_or(0, |v| state.hash_one(v))
        });
        id
    }

    /// The id of a stored value equal to `q`, without taking a reference.
    pub fn find<Q>(&self, q: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find_hashed(self.state.hash_one(q), q)
    }

    /// Takes one more reference to `id`.
    pub fn retain(&mut self, id: u32) {
        if let Some(s) = self.slots.get_mut(id as usize) {
            s.refs = s.refs.saturating_add(1);
        }
    }

    /// Drops one reference to `id`; returns the value when it was the last.
    pub fn release(&mut self, id: u32) -> Option<T> {
        let s = self.slots.get_mut(id as usize)?;
        s.refs = s.refs.checked_sub(1)?;
        if s.refs > 0 {
            return None;
        }
        let value = s.value.take()?;
        let hash = self.state.hash_one(&value);
        if let Ok(e) = self.index.find_entry(hash, |x| *x == id) {
            e.remove();
        }
        self.free.push(id);
        self.heap = self.heap.saturating_sub(value.heap_size());
        Some(value)
    }

    /// The value of a live id.
    ///
    /// # Panics
    /// On an id that is not live: ids come only from this interner, so that is a bug.
    pub fn get(&self, id: u32) -> &T {
        match self.get_opt(id) {
            Some(v) => v,
            None => panic!("interned id {id} is not live"),
        }
    }

    /// The value of `id`, if live.
    pub fn get_opt(&self, id: u32) -> Option<&T> {
        self.slots.get(id as usize).and_then(|s| s.value.as_ref())
    }

    /// References held on `id` (0 when not live).
    pub fn refs(&self, id: u32) -> u32 {
        self.slots.get(id as usize).map_or(0, |s| s.refs)
    }

    /// Number of live values.
    pub fn len(&self) -> usize {
        self.slots.len().saturating_sub(self.free.len())
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives back spare capacity.
    pub fn shrink_to_fit(&mut self) {
        let Interner {
            slots,
            index,
            state,
            free,
            ..
        } = self;
        free.shrink_to_fit();
        let slots_ref = &*slots;
        index.shrink_to_fit(|id| {
            slots_ref
                .get(*id as usize)
                .and_then(|s| s.value.as_ref())
                .map_or(0, |v| state.hash_one(v))
        });
        // Trailing free slots can go; ids in the middle stay where they are.
        while slots.last().is_some_and(|s| s.value.is_none()) {
            slots.pop();
        }
        free.retain(|id| (*id as usize) < slots.len());
        slots.shrink_to_fit();
    }

    /// Octets allocated: the slot vector, the index, the free list and the values' heap parts.
    pub fn allocated_bytes(&self) -> usize {
        [
            self.slots.capacity().saturating_mul(size_of::<Slot<T>>()),
            self.free.capacity().saturating_mul(size_of::<u32>()),
            // hashbrown: one u32 and one control octet per bucket.
            buckets(self.index.capacity()).saturating_mul(size_of::<u32>() + 1),
            self.heap,
        ]
        .into_iter()
        .fold(0, usize::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intern_share_release_reuse() {
        let mut i: Interner<Box<[u32]>> = Interner::default();
        let a = i.intern_by(&[1u32, 2][..], |s| s.into());
        let b = i.intern_by(&[1u32, 2][..], |s| s.into());
        let c = i.intern(vec![3u32].into_boxed_slice());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(i.refs(a), 2);
        assert_eq!(i.len(), 2);
        assert_eq!(i.release(a), None);
        assert_eq!(i.release(a).as_deref(), Some(&[1u32, 2][..]));
        assert_eq!(i.len(), 1);
        assert_eq!(i.find(&[1u32, 2][..]), None);
        // The freed id is reused.
        let d = i.intern_by(&[9u32][..], |s| s.into());
        assert_eq!(d, a);
        assert_eq!(&**i.get(d), &[9]);
        assert_eq!(i.release(99), None);
    }
}
