//! One NLRI field decoded as each of the six known families, with and without ADD-PATH, as
//! reach and as withdraw NLRI: `NlriIter` and `nlri::validate` agree, every NLRI has its
//! family's shape, and a valid field re-encodes to the same bytes; the same field as route
//! target membership NLRI (RFC 4684).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_types::Family;

fuzz_target!(|field: &[u8]| {
    for family in Family::KNOWN {
        for add_path in [false, true] {
            for withdraw in [false, true] {
                tern_fuzz::check_nlri_field(field, family, add_path, withdraw);
            }
        }
    }
    tern_fuzz::check_rtc_field(field);
});
