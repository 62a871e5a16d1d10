//! One capability: the first octet is the code, the rest (up to 255 octets) the value.
//! `Capability::decode`, then re-encoding gives the same octets (the Multiprotocol reserved
//! octet excepted) and decodes to the same capability. Every input is also tried with each
//! implemented capability code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_wire::capability::cap_code;

const CODES: [u8; 9] = [
    cap_code::MULTIPROTOCOL,
    cap_code::ROUTE_REFRESH,
    cap_code::EXTENDED_NEXT_HOP,
    cap_code::EXTENDED_MESSAGE,
    cap_code::GRACEFUL_RESTART,
    cap_code::FOUR_OCTET_AS,
    cap_code::ADD_PATH,
    cap_code::ENHANCED_ROUTE_REFRESH,
    cap_code::FQDN,
];

fuzz_target!(|data: &[u8]| {
    let [code, value @ ..] = data else {
        return;
    };
    let value = &value[..value.len().min(255)];
    tern_fuzz::check_capability(*code, value);
    for c in CODES {
        tern_fuzz::check_capability(c, value);
    }
});
