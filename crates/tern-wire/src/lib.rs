//! tern-wire: tern's BGP-4 codec (RFC 4271 §4) for the families an inter-AS MPLS VPN needs.
//!
//! - framing and the message enum: [`message`] (RFC 4271 §4.1, §6.1; RFC 8654)
//! - OPEN and capabilities: [`open`], [`capability`] (RFC 4271 §4.2, RFC 5492, RFC 9072)
//! - UPDATE views, RFC 7606 error handling: [`update`], [`attr`]
//! - NLRI of IPv4/IPv6 unicast, labeled unicast, VPNv4 and VPNv6, with ADD-PATH: [`nlri`]
//!   (RFC 4760, RFC 8277, RFC 4364, RFC 4659, RFC 7911)
//! - next hops: [`nexthop`] (RFC 2545, RFC 4364 §4.3.2, RFC 4659 §3.2.1, RFC 8950)
//! - the UPDATE builder: [`builder`]
//! - BMP messages a monitored router sends (RFC 7854, RFC 8671, RFC 9069): [`bmp`]
//! - NOTIFICATION: [`notification`]; ROUTE-REFRESH: [`route_refresh`] (RFC 2918, RFC 7313)
//! - route target membership NLRI (RFC 4684 §4): [`rtc`]
//! - MRT records (RFC 6396): [`mrt`]: TABLE_DUMP_V2 RIB dumps, BGP4MP messages and state changes
//!
//! Decoding works on borrowed bytes: an UPDATE is split into views, attributes hold slices of
//! the message, and routes are produced one at a time without allocation. No input makes this
//! crate panic: the crate denies `unwrap`, `expect`, slice indexing and unchecked arithmetic
//! outside tests, and every decoder is fuzzed (see `fuzz/`).

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod attr;
pub mod bmp;
pub mod builder;
pub mod capability;
pub mod message;
pub mod mrt;
pub mod nexthop;
pub mod nlri;
pub mod notification;
pub mod open;
mod reader;
pub mod route_refresh;
pub mod rtc;
pub mod update;

pub use attr::{Action, AttrValue, PathAttribute};
pub use builder::UpdateBuilder;
pub use capability::Capability;
pub use message::{Frame, Message, frame, frames};
pub use nexthop::NextHop;
pub use nlri::{Nlri, NlriIter};
pub use notification::Notification;
pub use open::Open;
pub use route_refresh::RouteRefresh;
pub use update::{ParsedUpdate, Update};

use tern_types::Family;

/// What the receiver of a session's messages must know to decode them: negotiated
/// capabilities and the session type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    /// Both sides announced 4-octet AS support (RFC 6793): AS_PATH and AGGREGATOR use 4-octet
    /// AS numbers.
    pub four_octet_as: bool,
    /// Families whose NLRI carry ADD-PATH identifiers (RFC 7911 §3).
    pub add_path: AddPathSet,
    /// The peer is external (LOCAL_PREF discarded, confederation segments refused).
    pub ebgp: bool,
    /// Extended Message negotiated (RFC 8654).
    pub extended_message: bool,
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx {
            four_octet_as: true,
            add_path: AddPathSet::EMPTY,
            ebgp: false,
            extended_message: false,
        }
    }
}

/// A set of the families in [`Family::KNOWN`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddPathSet(u8);

impl AddPathSet {
    /// No family.
    pub const EMPTY: AddPathSet = AddPathSet(0);

    fn bit(family: Family) -> Option<u8> {
        let i = Family::KNOWN.iter().position(|f| *f == family)?;
        1u8.checked_shl(u32::try_from(i).ok()?)
    }

    /// Adds `family` (families outside [`Family::KNOWN`] are ignored).
    pub fn insert(&mut self, family: Family) {
        if let Some(b) = Self::bit(family) {
            self.0 |= b;
        }
    }

    /// True if `family` is in the set.
    pub fn contains(&self, family: Family) -> bool {
        Self::bit(family).is_some_and(|b| self.0 & b != 0)
    }

    /// True if no family is in the set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// A set of the given families.
    pub fn of(families: &[Family]) -> Self {
        let mut s = AddPathSet::EMPTY;
        for f in families {
            s.insert(*f);
        }
        s
    }
}

/// A value that cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field or message over its size limit.
    #[error("{0} too long to encode")]
    TooLong(&'static str),
    /// An attribute the builder adds itself was passed in.
    #[error("attribute type {0} is added by the builder")]
    Misplaced(u8),
}

pub(crate) fn len_u8(n: usize) -> Result<u8, EncodeError> {
    u8::try_from(n).map_err(|_| EncodeError::TooLong("field"))
}

pub(crate) fn len_u16(n: usize) -> Result<u16, EncodeError> {
    u16::try_from(n).map_err(|_| EncodeError::TooLong("field"))
}
