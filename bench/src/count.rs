//! What a receiver holds: the distinct routes of one family, counted from the UPDATEs it is
//! sent by walking the octets (no attribute decoding).
//!
//! A route is identified by the index the injector gave it (see [`crate::routes`]): the RD's
//! number for VPN routes, the /24's position for IPv4 unicast. A bitmap over the N indexes
//! keeps the count exact when a daemon sends a route twice or withdraws one it never sent.
//! The counter also notes the family's End-of-RIB marker (RFC 4724 §2): an UPDATE with nothing
//! in it for IPv4 unicast, an empty MP_UNREACH_NLRI of the family otherwise.

use tern_types::Family;

use crate::routes::IPV4_BASE;

const MP_REACH: u8 = 14;
const MP_UNREACH: u8 = 15;
const EXT_LEN: u8 = 0x10;

/// The distinct routes held in one family.
pub struct Counter {
    family: Family,
    vpn: bool,
    n: usize,
    bits: Vec<u64>,
    held: usize,
    announced: u64,
    withdrawn: u64,
    foreign: u64,
    end_of_rib: bool,
}

/// A message that ends the count: the session is over or the peer broke the protocol.
#[derive(Debug)]
pub struct ScanError(pub String);

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

impl Counter {
    /// A counter of `family` routes with indexes below `n`.
    pub fn new(family: Family, n: usize) -> Counter {
        Counter {
            family,
            vpn: family.has_rd(),
            n,
            bits: vec![0; n.div_ceil(64)],
            held: 0,
            announced: 0,
            withdrawn: 0,
            foreign: 0,
            end_of_rib: false,
        }
    }

    /// Distinct routes held.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Routes announced, counting repeats.
    pub fn announced(&self) -> u64 {
        self.announced
    }

    /// Routes withdrawn, counting repeats and routes not held.
    pub fn withdrawn(&self) -> u64 {
        self.withdrawn
    }

    /// Routes of the family that are none of the injector's (or of another family).
    pub fn foreign(&self) -> u64 {
        self.foreign
    }

    /// Whether the family's End-of-RIB marker has arrived.
    pub fn end_of_rib(&self) -> bool {
        self.end_of_rib
    }

    /// Processes the whole messages at the start of `buf`; returns the octets used (a
    /// trailing partial message is left for the next call).
    pub fn scan(&mut self, buf: &[u8]) -> Result<usize, ScanError> {
        let mut at = 0;
        while let Some(len) = be16(buf, at + 16) {
            if !(19..=4096).contains(&len) {
                return Err(ScanError(format!("bad message length {len}")));
            }
            let Some(msg) = buf.get(at..at + len) else {
                break;
            };
            match msg[18] {
                2 => self.update(&msg[19..]).map_err(ScanError)?,
                4 => {}
                3 => {
                    return Err(ScanError(format!(
                        "NOTIFICATION {}/{}",
                        msg.get(19).copied().unwrap_or(0),
                        msg.get(20).copied().unwrap_or(0)
                    )));
                }
                5 => {}
                t => return Err(ScanError(format!("unexpected message type {t}"))),
            }
            at += len;
        }
        Ok(at)
    }

    fn update(&mut self, body: &[u8]) -> Result<(), String> {
        let wlen = be16(body, 0).ok_or("short UPDATE")?;
        let withdrawn = body.get(2..2 + wlen).ok_or("bad withdrawn length")?;
        let alen = be16(body, 2 + wlen).ok_or("short UPDATE")?;
        let attrs_at = 4 + wlen;
        let attrs = body
            .get(attrs_at..attrs_at + alen)
            .ok_or("bad attribute length")?;
        let nlri = &body[attrs_at + alen..];
        if self.family == Family::IPV4_UNICAST && wlen == 0 && alen == 0 && nlri.is_empty() {
            self.end_of_rib = true;
        }
        if self.family == Family::IPV4_UNICAST {
            self.walk(withdrawn, false)?;
            self.walk(nlri, true)?;
        } else if !withdrawn.is_empty() || !nlri.is_empty() {
            self.foreign += 1;
        }
        let mut i = 0;
        while i + 3 <= attrs.len() {
            let flags = attrs[i];
            let tc = attrs[i + 1];
            let (len, hdr) = if flags & EXT_LEN != 0 {
                (be16(attrs, i + 2).ok_or("short attribute")?, 4)
            } else {
                (usize::from(attrs[i + 2]), 3)
            };
            let val = attrs
                .get(i + hdr..i + hdr + len)
                .ok_or("bad attribute length")?;
            match tc {
                MP_REACH if val.len() >= 5 => {
                    let fam = Family::new(
                        tern_types::Afi(u16::from_be_bytes([val[0], val[1]])),
                        tern_types::Safi(val[2]),
                    );
                    let nh_len = usize::from(val[3]);
                    let routes = val.get(5 + nh_len..).ok_or("bad MP_REACH next hop")?;
                    if fam == self.family {
                        self.walk(routes, true)?;
                    } else {
                        self.foreign += 1;
                    }
                }
                MP_UNREACH if val.len() >= 3 => {
                    let fam = Family::new(
                        tern_types::Afi(u16::from_be_bytes([val[0], val[1]])),
                        tern_types::Safi(val[2]),
                    );
                    if fam == self.family {
                        if val.len() == 3 {
                            self.end_of_rib = true;
                        }
                        self.walk(&val[3..], false)?;
                    }
                }
                _ => {}
            }
            i += hdr + len;
        }
        Ok(())
    }

    fn walk(&mut self, mut field: &[u8], announce: bool) -> Result<(), String> {
        while let Some((&bits, rest)) = field.split_first() {
            let len = usize::from(bits).div_ceil(8);
            let p = rest.get(..len).ok_or("NLRI overruns its field")?;
            field = &rest[len..];
            let index = if self.vpn {
                // label (3 octets), RD (8 octets: type, ASN, number), prefix
                p.get(7..11)
                    .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
            } else if bits == 24 {
                let a = u32::from_be_bytes([p[0], p[1], p[2], 0]);
                a.checked_sub(IPV4_BASE).map(|d| (d >> 8) as usize)
            } else {
                None
            };
            let Some(index) = index.filter(|i| *i < self.n) else {
                self.foreign += 1;
                continue;
            };
            let (w, b) = (index / 64, 1u64 << (index % 64));
            if announce {
                self.announced += 1;
                if self.bits[w] & b == 0 {
                    self.bits[w] |= b;
                    self.held += 1;
                }
            } else {
                self.withdrawn += 1;
                if self.bits[w] & b != 0 {
                    self.bits[w] &= !b;
                    self.held -= 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_rib() {
        for family in [Family::IPV4_UNICAST, Family::VPNV4, Family::VPNV6] {
            let mut c = Counter::new(family, 10);
            let eor = tern_wire::UpdateBuilder::end_of_rib(family);
            assert!(!c.end_of_rib());
            assert_eq!(c.scan(&eor).unwrap(), eor.len());
            assert!(c.end_of_rib(), "{family}");
            assert_eq!((c.held(), c.foreign()), (0, 0));
        }
        // Another family's End-of-RIB is not this one's.
        let mut c = Counter::new(Family::VPNV4, 10);
        c.scan(&tern_wire::UpdateBuilder::end_of_rib(Family::VPNV6))
            .unwrap();
        assert!(!c.end_of_rib());
    }
}
