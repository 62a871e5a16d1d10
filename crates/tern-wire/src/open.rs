//! OPEN messages (RFC 4271 §4.2), optional parameters (RFC 5492 §4) and the extended optional
//! parameters length (RFC 9072 §2).

use std::net::Ipv4Addr;

use tern_types::{AS_TRANS, Family};

use crate::capability::{AddPathMode, Capability};
use crate::notification::{Notification, code, open_sub};
use crate::reader::{Reader, patch_u8, patch_u16};
use crate::{EncodeError, len_u8, len_u16};

/// Optional parameter type carrying capabilities.
pub const PARAM_CAPABILITIES: u8 = 2;

/// One optional parameter.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum OptParam {
    /// A Capabilities parameter (type 2) holding one or more capabilities.
    Capabilities(Vec<Capability>),
    /// Any other parameter, kept as bytes.
    Other {
        /// Parameter type.
        kind: u8,
        /// Parameter value.
        data: Vec<u8>,
    },
}

/// An OPEN message.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Open {
    /// BGP version (4).
    pub version: u8,
    /// My Autonomous System (2 octets; AS_TRANS for 4-octet AS numbers).
    pub my_as: u16,
    /// Hold time in seconds.
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Optional parameters in their order on the wire.
    pub params: Vec<OptParam>,
    /// The parameters used the RFC 9072 extended length encoding.
    pub extended_params: bool,
}

impl Open {
    /// A version 4 OPEN for `asn`, each capability in its own parameter, as most speakers send.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, caps: Vec<Capability>) -> Open {
        Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            bgp_id,
            params: caps
                .into_iter()
                .map(|c| OptParam::Capabilities(vec![c]))
                .collect(),
            extended_params: false,
        }
    }

    /// Every capability, across all parameters.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.params.iter().flat_map(|p| match p {
            OptParam::Capabilities(c) => c.as_slice(),
            OptParam::Other { .. } => &[],
        })
    }

    /// The speaker's AS: the 4-octet AS capability's value if present, else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// The families announced with the Multiprotocol capability. A speaker that sends no
    /// Multiprotocol capability at all supports IPv4 unicast only (RFC 4760 §8).
    pub fn families(&self) -> Vec<Family> {
        let v: Vec<Family> = self
            .capabilities()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect();
        if v.is_empty() {
            vec![Family::IPV4_UNICAST]
        } else {
            v
        }
    }

    /// The ADD-PATH mode announced for `family`, if any.
    pub fn add_path(&self, family: Family) -> Option<AddPathMode> {
        self.capabilities().find_map(|c| match c {
            Capability::AddPath(v) => v.iter().find(|(f, _)| *f == family).map(|(_, m)| *m),
            _ => None,
        })
    }

    /// True if the capability with `code` is present.
    pub fn has(&self, code: u8) -> bool {
        self.capabilities().any(|c| c.code() == code)
    }

    /// Decodes an OPEN body. Errors are the NOTIFICATION to send (RFC 4271 §6.2).
    pub fn decode(body: &[u8]) -> Result<Open, Notification> {
        let short = || Notification::new(code::OPEN, 0);
        let mut r = Reader::new(body);
        let version = r.u8().ok_or_else(short)?;
        if version != 4 {
            // Data: the largest supported version (RFC 4271 §6.2), in 2 octets.
            return Err(Notification::with_data(
                code::OPEN,
                open_sub::UNSUPPORTED_VERSION,
                [0, 4],
            ));
        }
        let my_as = r.u16().ok_or_else(short)?;
        let hold_time = r.u16().ok_or_else(short)?;
        let bgp_id = Ipv4Addr::from(r.u32().ok_or_else(short)?);
        let opt_len = r.u8().ok_or_else(short)?;
        let mut extended_params = false;
        let params_bytes = if opt_len == 255 && r.rest().first() == Some(&255) {
            // RFC 9072: non-extended type 255, then a 2-octet length.
            let _ = r.u8();
            extended_params = true;
            let l = r.u16().ok_or_else(short)?;
            r.take(usize::from(l)).ok_or_else(short)?
        } else {
            r.take(usize::from(opt_len)).ok_or_else(short)?
        };
        if !r.is_empty() {
            return Err(short());
        }
        let mut p = Reader::new(params_bytes);
        let mut params = Vec::new();
        while !p.is_empty() {
            let kind = p.u8().ok_or_else(short)?;
            let len = if extended_params {
                p.u16().ok_or_else(short)?
            } else {
                u16::from(p.u8().ok_or_else(short)?)
            };
            let value = p.take(usize::from(len)).ok_or_else(short)?;
            if kind == PARAM_CAPABILITIES {
                let mut c = Reader::new(value);
                let mut caps = Vec::new();
                while !c.is_empty() {
                    let cc = c.u8().ok_or_else(short)?;
                    let cl = c.u8().ok_or_else(short)?;
                    let cv = c.take(usize::from(cl)).ok_or_else(short)?;
                    caps.push(Capability::decode(cc, cv).map_err(|_| short())?);
                }
                params.push(OptParam::Capabilities(caps));
            } else {
                params.push(OptParam::Other {
                    kind,
                    data: value.to_vec(),
                });
            }
        }
        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_id,
            params,
            extended_params,
        })
    }

    /// Checks what any speaker must refuse whatever its configuration: hold time 1 or 2
    /// (RFC 4271 §6.2) and a zero BGP identifier.
    pub fn validate(&self) -> Result<(), Notification> {
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(Notification::new(
                code::OPEN,
                open_sub::UNACCEPTABLE_HOLD_TIME,
            ));
        }
        if self.bgp_id.is_unspecified() {
            return Err(Notification::new(code::OPEN, open_sub::BAD_BGP_ID));
        }
        Ok(())
    }

    /// Appends the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let opt_at = out.len();
        if self.extended_params {
            out.extend_from_slice(&[255, 255, 0, 0]);
        } else {
            out.push(0);
        }
        let params_start = out.len();
        for p in &self.params {
            let (kind, start) = match p {
                OptParam::Capabilities(_) => (PARAM_CAPABILITIES, out.len()),
                OptParam::Other { kind, .. } => (*kind, out.len()),
            };
            out.push(kind);
            out.push(0);
            if self.extended_params {
                out.push(0);
            }
            let value_start = out.len();
            match p {
                OptParam::Capabilities(caps) => {
                    for c in caps {
                        c.encode(out)?;
                    }
                }
                OptParam::Other { data, .. } => out.extend_from_slice(data),
            }
            let vlen = out.len().saturating_sub(value_start);
            if self.extended_params {
                patch_u16(out, start.saturating_add(1), len_u16(vlen)?);
            } else {
                patch_u8(out, start.saturating_add(1), len_u8(vlen)?);
            }
        }
        let plen = out.len().saturating_sub(params_start);
        if self.extended_params {
            patch_u16(out, opt_at.saturating_add(2), len_u16(plen)?);
        } else {
            patch_u8(out, opt_at, len_u8(plen)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_accessors() {
        let open = Open::new(
            4_200_000_000,
            180,
            Ipv4Addr::new(1, 1, 1, 9),
            vec![
                Capability::Multiprotocol(Family::VPNV6),
                Capability::RouteRefresh,
                Capability::FourOctetAs(4_200_000_000),
            ],
        );
        assert_eq!(open.my_as, AS_TRANS);
        assert_eq!(open.asn(), 4_200_000_000);
        assert_eq!(open.families(), vec![Family::VPNV6]);
        let mut body = Vec::new();
        open.encode_body(&mut body).unwrap();
        assert_eq!(Open::decode(&body).unwrap(), open);
        let mut ext = open.clone();
        ext.extended_params = true;
        let mut body2 = Vec::new();
        ext.encode_body(&mut body2).unwrap();
        assert_eq!(&body2[9..12], &[255, 255, 0]);
        assert_eq!(Open::decode(&body2).unwrap(), ext);
    }

    #[test]
    fn errors() {
        let e = Open::decode(&[3, 0, 100, 0, 180, 1, 1, 1, 1, 0]).unwrap_err();
        assert_eq!(
            (e.code, e.subcode, e.data.as_slice()),
            (2, 1, &[0u8, 4][..])
        );
        assert_eq!(
            Open::decode(&[4, 0, 100, 0, 180, 1, 1]).unwrap_err().code,
            2
        );
        let o = Open::decode(&[4, 0, 100, 0, 2, 1, 1, 1, 1, 0]).unwrap();
        assert_eq!(
            o.validate().unwrap_err().subcode,
            open_sub::UNACCEPTABLE_HOLD_TIME
        );
        assert_eq!(o.families(), vec![Family::IPV4_UNICAST]);
    }
}
