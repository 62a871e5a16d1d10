//! One path attribute value decoded with `PathAttribute::decode` as every known type code
//! (two unknown ones and the type code in the input too). Octet 0: flags; octets 1 and 2:
//! the session context (see `tern_fuzz::ctx_from`); octet 3: one more type code; the rest:
//! the value. A decoded attribute re-encodes to the same octets (an MP_REACH_NLRI VPN next
//! hop's RDs excepted), decodes again to itself and its views agree with its bytes; a
//! malformed one gets the RFC 7606 action of its type.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [flags, ctx_flags, add_path, tc, value @ ..] = data else {
        return;
    };
    let ctx = tern_fuzz::ctx_from(*ctx_flags, *add_path);
    for t in tern_fuzz::TYPE_CODES {
        tern_fuzz::check_attribute(*flags, t, value, &ctx);
    }
    if !tern_fuzz::TYPE_CODES.contains(tc) {
        tern_fuzz::check_attribute(*flags, *tc, value, &ctx);
    }
});
