//! A stream of whole messages, as read from a session: framing, `Message::decode`, and per
//! type the checks of `tern_fuzz::check_frame` (UPDATEs parsed and their routes iterated,
//! OPENs and the other types round-tripped). The first two octets pick the session context
//! (see `tern_fuzz::ctx_from`), the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [flags, add_path, stream @ ..] = data else {
        return;
    };
    let ctx = tern_fuzz::ctx_from(*flags, *add_path);
    tern_fuzz::check_stream(stream, &ctx);
});
