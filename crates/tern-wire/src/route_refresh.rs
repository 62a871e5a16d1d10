//! ROUTE-REFRESH (RFC 2918 §3) with the Enhanced Route Refresh subtypes BoRR and EoRR
//! (RFC 7313 §3.2). A message that is not 4 octets of body is a ROUTE-REFRESH Message Error,
//! Invalid Message Length, with the message as data (RFC 7313 §5).

use tern_types::{Afi, Family, Safi};

use crate::notification::{Notification, code};
use crate::reader::Reader;

/// The message subtype.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RefreshSubtype {
    /// A plain request (0).
    Request,
    /// Beginning of Route Refresh (1).
    BeginningOfRefresh,
    /// End of Route Refresh (2).
    EndOfRefresh,
    /// A reserved value, kept.
    Reserved(u8),
}

impl RefreshSubtype {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => RefreshSubtype::Request,
            1 => RefreshSubtype::BeginningOfRefresh,
            2 => RefreshSubtype::EndOfRefresh,
            v => RefreshSubtype::Reserved(v),
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            RefreshSubtype::Request => 0,
            RefreshSubtype::BeginningOfRefresh => 1,
            RefreshSubtype::EndOfRefresh => 2,
            RefreshSubtype::Reserved(v) => v,
        }
    }
}

/// A ROUTE-REFRESH message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// Subtype.
    pub subtype: RefreshSubtype,
}

impl RouteRefresh {
    /// A plain request for `family`.
    pub fn request(family: Family) -> Self {
        RouteRefresh {
            family,
            subtype: RefreshSubtype::Request,
        }
    }

    /// Decodes the 4-octet body; `whole` is the full message, used as NOTIFICATION data.
    pub fn decode(body: &[u8], whole: &[u8]) -> Result<Self, Notification> {
        let mut r = Reader::new(body);
        match (r.u16(), r.u8(), r.u8(), r.is_empty()) {
            (Some(afi), Some(sub), Some(safi), true) => Ok(RouteRefresh {
                family: Family::new(Afi(afi), Safi(safi)),
                subtype: RefreshSubtype::from_u8(sub),
            }),
            _ => Err(Notification::with_data(
                code::ROUTE_REFRESH,
                1,
                whole.to_vec(),
            )),
        }
    }

    /// Appends the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.0.to_be_bytes());
        out.push(self.subtype.to_u8());
        out.push(self.family.safi.0);
    }
}
