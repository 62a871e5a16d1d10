//! An MP_REACH_NLRI next-hop field: the first octet picks the family (the six known ones and
//! two opaque ones), the rest (up to 255 octets) is the field. Exactly the lengths of the
//! forms in `tern_wire::nexthop` are accepted, and re-encoding gives the field back with the
//! RDs zeroed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [sel, field @ ..] = data else {
        return;
    };
    let field = &field[..field.len().min(255)];
    tern_fuzz::check_next_hop(tern_fuzz::family_from(*sel), field);
});
