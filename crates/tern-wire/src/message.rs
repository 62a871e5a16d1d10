//! BGP message framing (RFC 4271 §4.1, §6.1) and the message enum.
//!
//! Every message starts with a 16-octet all-ones marker, a 2-octet length (19..=4096, or up to
//! 65535 for UPDATE, NOTIFICATION and ROUTE-REFRESH once the Extended Message capability is
//! negotiated, RFC 8654 §4) and a type. Header errors are Message Header Errors: 1/1 for a bad
//! marker, 1/2 for a bad length (data: the length field), 1/3 for an unknown type (data: the
//! type).

use crate::notification::{Notification, code, header_sub};
use crate::open::Open;
use crate::route_refresh::RouteRefresh;
use crate::update::Update;
use crate::{EncodeError, len_u16};

/// The header marker.
pub const MARKER: [u8; 16] = [0xff; 16];
/// Header length.
pub const HEADER_LEN: usize = 19;
/// Largest message without the Extended Message capability.
pub const MAX_LEN: usize = 4096;
/// Largest message with the Extended Message capability.
pub const MAX_EXTENDED_LEN: usize = 65535;

/// Message type codes.
pub mod msg_type {
    /// OPEN.
    pub const OPEN: u8 = 1;
    /// UPDATE.
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION.
    pub const NOTIFICATION: u8 = 3;
    /// KEEPALIVE.
    pub const KEEPALIVE: u8 = 4;
    /// ROUTE-REFRESH.
    pub const ROUTE_REFRESH: u8 = 5;
}

/// One framed message: its type, body and whole bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Message type.
    pub kind: u8,
    /// The body after the header.
    pub body: &'a [u8],
    /// The whole message, header included.
    pub bytes: &'a [u8],
}

/// Finds the first message in `buf`. `Ok(None)` means more bytes are needed. `max_len` is
/// [`MAX_LEN`] or, with Extended Message, [`MAX_EXTENDED_LEN`].
pub fn frame(buf: &[u8], max_len: usize) -> Result<Option<Frame<'_>>, Notification> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let (marker, rest) = header.split_at(16);
    if marker != MARKER {
        return Err(Notification::new(
            code::MESSAGE_HEADER,
            header_sub::NOT_SYNCHRONIZED,
        ));
    }
    let (len_bytes, kind) = match rest {
        [a, b, t] => ([*a, *b], *t),
        _ => return Ok(None),
    };
    let len = usize::from(u16::from_be_bytes(len_bytes));
    let bad_len =
        || Notification::with_data(code::MESSAGE_HEADER, header_sub::BAD_LENGTH, len_bytes);
    let ok = match kind {
        msg_type::OPEN => (29..=MAX_LEN).contains(&len),
        msg_type::UPDATE => (23..=max_len).contains(&len),
        msg_type::NOTIFICATION => (21..=max_len).contains(&len),
        msg_type::KEEPALIVE => len == HEADER_LEN,
        msg_type::ROUTE_REFRESH => (HEADER_LEN..=max_len).contains(&len),
        _ => {
            return Err(Notification::with_data(
                code::MESSAGE_HEADER,
                header_sub::BAD_TYPE,
                [kind],
            ));
        }
    };
    if !ok {
        return Err(bad_len());
    }
    let Some(bytes) = buf.get(..len) else {
        return Ok(None);
    };
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    Ok(Some(Frame { kind, body, bytes }))
}

/// A BGP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// OPEN.
    Open(Open),
    /// UPDATE, as a view; see [`Update::parse`].
    Update(Update<'a>),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

impl<'a> Message<'a> {
    /// Decodes a framed message. Errors are the NOTIFICATION to send.
    pub fn decode(frame: Frame<'a>) -> Result<Message<'a>, Notification> {
        Ok(match frame.kind {
            msg_type::OPEN => Message::Open(Open::decode(frame.body)?),
            msg_type::UPDATE => Message::Update(Update::decode(frame.body)?),
            msg_type::NOTIFICATION => {
                Message::Notification(Notification::decode(frame.body).ok_or_else(|| {
                    Notification::new(code::MESSAGE_HEADER, header_sub::BAD_LENGTH)
                })?)
            }
            msg_type::KEEPALIVE => Message::Keepalive,
            msg_type::ROUTE_REFRESH => {
                Message::RouteRefresh(RouteRefresh::decode(frame.body, frame.bytes)?)
            }
            t => {
                return Err(Notification::with_data(
                    code::MESSAGE_HEADER,
                    header_sub::BAD_TYPE,
                    [t],
                ));
            }
        })
    }

    /// The type code.
    pub fn kind(&self) -> u8 {
        match self {
            Message::Open(_) => msg_type::OPEN,
            Message::Update(_) => msg_type::UPDATE,
            Message::Notification(_) => msg_type::NOTIFICATION,
            Message::Keepalive => msg_type::KEEPALIVE,
            Message::RouteRefresh(_) => msg_type::ROUTE_REFRESH,
        }
    }

    /// Appends the whole message, header included.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = begin(out, self.kind());
        match self {
            Message::Open(o) => o.encode_body(out)?,
            Message::Update(u) => {
                out.extend_from_slice(&len_u16(u.withdrawn.len())?.to_be_bytes());
                out.extend_from_slice(u.withdrawn);
                out.extend_from_slice(&len_u16(u.attributes.len())?.to_be_bytes());
                out.extend_from_slice(u.attributes);
                out.extend_from_slice(u.nlri);
            }
            Message::Notification(n) => n.encode_body(out),
            Message::Keepalive => {}
            Message::RouteRefresh(r) => r.encode_body(out),
        }
        finish(out, start, MAX_EXTENDED_LEN)
    }

    /// A whole message as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut v = Vec::new();
        self.encode(&mut v)?;
        Ok(v)
    }
}

/// Writes a header with a placeholder length; returns where the message starts.
pub(crate) fn begin(out: &mut Vec<u8>, kind: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, kind]);
    start
}

/// Patches the length of the message that starts at `start`.
pub(crate) fn finish(out: &mut [u8], start: usize, max_len: usize) -> Result<(), EncodeError> {
    let len = out.len().saturating_sub(start);
    if len > max_len {
        return Err(EncodeError::TooLong("message"));
    }
    crate::reader::patch_u16(out, start.saturating_add(16), len_u16(len)?);
    Ok(())
}

/// Splits a stream of whole messages (such as a capture file) into frames.
pub fn frames(mut buf: &[u8]) -> impl Iterator<Item = Result<Frame<'_>, Notification>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        match frame(buf, MAX_EXTENDED_LEN) {
            Ok(Some(f)) => {
                buf = buf.get(f.bytes.len()..).unwrap_or_default();
                Some(Ok(f))
            }
            Ok(None) => {
                buf = &[];
                Some(Err(Notification::new(
                    code::MESSAGE_HEADER,
                    header_sub::BAD_LENGTH,
                )))
            }
            Err(e) => {
                buf = &[];
                Some(Err(e))
            }
        }
    })
}
