//! Compiled prefix lists: VRP's `ip ip-prefix` (IPv4) and `ip ipv6-prefix` (IPv6), as the
//! vendor reference (IP Routing Policy Configuration, `ip ip-prefix`, `ip ipv6-prefix`)
//! describes them; prefixes and lengths as in RFC 4632 §3.1 (IPv4) and RFC 4291 §2.3 (IPv6).
//!
//! A list is a flat vector of entries in ascending index, each an address and a mask
//! left-aligned in 128 bits with its length range; the first entry covering the route's
//! prefix decides (see the crate documentation, "Matching"). Compiled once per configuration
//! and shared by every node that names the list.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tern_config::{MatchMode, PrefixList};
use tern_types::IpNet;

/// A prefix's family (true for IPv6) and address, left-aligned in 128 bits (an IPv4 address
/// in the top 32).
pub(crate) fn addr_bits(p: &IpNet) -> (bool, u128) {
    match p {
        IpNet::V4(n) => (false, u128::from(u32::from(n.addr())) << 96),
        IpNet::V6(n) => (true, u128::from(n.addr())),
    }
}

/// The mask of the first `len` bits of 128.
fn mask(len: u8) -> u128 {
    match 128u32.checked_sub(u32::from(len)) {
        Some(128) | None => 0,
        Some(shift) => u128::MAX << shift,
    }
}

/// A compiled prefix list: entries in ascending index.
#[derive(Debug)]
pub(crate) struct PrefixTable {
    entries: Vec<PrefixRule>,
}

#[derive(Debug, Clone, Copy)]
struct PrefixRule {
    permit: bool,
    /// The entry's address, left-aligned like [`addr_bits`] gives it.
    bits: u128,
    /// The entry's mask; 0 for `0.0.0.0` / `::`, which covers every address.
    mask: u128,
    min: u8,
    max: u8,
}

impl PrefixTable {
    pub(crate) fn permits(&self, bits: u128, len: u8) -> bool {
        self.entries
            .iter()
            .find(|e| bits & e.mask == e.bits && e.min <= len && len <= e.max)
            .is_some_and(|e| e.permit)
    }
}

pub(crate) fn compile_lists(
    lists: &BTreeMap<String, PrefixList>,
    v6: bool,
) -> HashMap<&str, Arc<PrefixTable>> {
    lists
        .iter()
        .map(|(name, list)| {
            let entries = list
                .entries
                .values()
                // An entry of the other family cannot come from the grammar; it would match
                // nothing of this list's family.
                .filter(|e| addr_bits(&e.prefix).0 == v6)
                .map(|e| {
                    let (_, bits) = addr_bits(&e.prefix);
                    let (min, max) = e.len_range();
                    let m = if bits == 0 {
                        0
                    } else {
                        mask(e.prefix.prefix_len())
                    };
                    PrefixRule {
                        permit: e.mode == MatchMode::Permit,
                        bits: bits & m,
                        mask: m,
                        min,
                        max,
                    }
                })
                .collect();
            (name.as_str(), Arc::new(PrefixTable { entries }))
        })
        .collect()
}
