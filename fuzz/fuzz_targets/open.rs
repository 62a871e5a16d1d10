//! An OPEN body (after the 19-octet header): `Open::decode`, then decode(encode(x)) == x and
//! the re-encoded body is the received one (up to the Multiprotocol reserved octet). The
//! same body is also framed as a message and must decode the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_wire::message::{HEADER_LEN, MARKER, MAX_LEN, msg_type};
use tern_wire::{Message, Open, frame};

fuzz_target!(|body: &[u8]| {
    let decoded = Open::decode(body);
    if let Ok(open) = &decoded {
        tern_fuzz::check_open(open, Some(body));
    }
    if body.len() + HEADER_LEN <= MAX_LEN && body.len() + HEADER_LEN >= 29 {
        let mut msg = MARKER.to_vec();
        msg.extend_from_slice(
            &u16::try_from(body.len() + HEADER_LEN)
                .unwrap()
                .to_be_bytes(),
        );
        msg.push(msg_type::OPEN);
        msg.extend_from_slice(body);
        let f = frame(&msg, MAX_LEN).unwrap().unwrap();
        assert_eq!(Message::decode(f), decoded.map(Message::Open));
    }
});
