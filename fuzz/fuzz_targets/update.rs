//! An UPDATE body: `Update::decode`, then `Update::parse` under eight contexts (2-/4-octet
//! AS, ADD-PATH on no family or on all, IBGP/EBGP) with the checks of
//! `tern_fuzz::check_update`; the main one: an UPDATE with no problem (or only discarded
//! attributes) re-encodes to a body that parses cleanly to the same attributes and routes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_wire::Update;

fuzz_target!(|body: &[u8]| {
    let Ok(u) = Update::decode(body) else {
        return;
    };
    for ctx in tern_fuzz::ctx_variants() {
        tern_fuzz::check_update(&u, &ctx);
    }
});
