//! How AS numbers are written for people: plain (`65636`, "asplain") or dotted (`1.100`,
//! "asdot"), RFC 5396 §2.
//!
//! VRP displays 4-octet AS numbers dotted by default and plain after `as-notation plain`.
//! Dotted here is RFC 5396's asdot: a number above 65535 is written `x.y` (high and low 16
//! bits), one that fits 2 octets stays plain. The same rule applies wherever an AS number
//! appears in a display: a lone AS number, an AS path, the administrator field of a route
//! distinguisher of type 2 (RFC 4364 §4.2) and of a 4-octet-AS specific route target or site
//! of origin (RFC 5668 §2).
//!
//! [`Notation`] formats typed values and also rewrites text already formatted plain (the rows
//! the engine hands to the displays carry AS paths, RDs and extended communities as text).

use crate::{Asn, ExtCommunity, RouteDistinguisher};

/// Plain or dotted AS numbers in displays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Notation {
    /// `x.y` for numbers above 65535 (VRP's default).
    #[default]
    Dot,
    /// Decimal integers (`as-notation plain`).
    Plain,
}

impl Notation {
    /// One AS number: `1.100` (dotted, above 65535) or `65636`.
    pub fn asn(self, asn: u32) -> String {
        match self {
            Notation::Dot => Asn(asn).to_dotted(),
            Notation::Plain => asn.to_string(),
        }
    }

    /// A route distinguisher: `1.100:7` for a type-2 RD when dotted; other types as they are.
    pub fn rd(self, rd: &RouteDistinguisher) -> String {
        if self == Notation::Dot && rd.kind() == 2 {
            let b = &rd.0;
            let asn = u32::from_be_bytes([b[2], b[3], b[4], b[5]]);
            let n = u16::from_be_bytes([b[6], b[7]]);
            format!("{}:{n}", self.asn(asn))
        } else {
            rd.to_string()
        }
    }

    /// An extended community as the displays show it (`RT:1.100:7`, `SoO:1.1.1.1:1`, hex).
    pub fn ext_community(self, ec: &ExtCommunity) -> String {
        self.ext_community_text(&ec.to_string())
    }

    /// The value part of a route target as `vpn-target` writes it (`1.100:7`, `100:1`).
    pub fn target(self, ec: &ExtCommunity) -> String {
        let s = self.ext_community(ec);
        match s.split_once(':') {
            Some(("RT" | "SoO", v)) => v.to_owned(),
            _ => s,
        }
    }

    /// Rewrites a plain AS path (`100 65636 {65537 200}`, `(65536)` for confederation
    /// segments): every number in it in this notation. Anything that is not a number is kept.
    pub fn as_path(self, path: &str) -> String {
        if self == Notation::Plain {
            return path.to_owned();
        }
        let mut out = String::with_capacity(path.len() + 8);
        let mut digits = String::new();
        let flush = |digits: &mut String, out: &mut String| {
            if !digits.is_empty() {
                match digits.parse::<u32>() {
                    Ok(n) => out.push_str(&self.asn(n)),
                    Err(_) => out.push_str(digits),
                }
                digits.clear();
            }
        };
        for c in path.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                flush(&mut digits, &mut out);
                out.push(c);
            }
        }
        flush(&mut digits, &mut out);
        out
    }

    /// Rewrites a route distinguisher written plain (`65636:7` → `1.100:7`). An RD whose
    /// administrator field is above 65535 is of type 2; an IPv4 administrator (type 1) and
    /// text that is not an RD are kept.
    pub fn rd_text(self, rd: &str) -> String {
        match rd.parse::<RouteDistinguisher>() {
            Ok(v) if !rd.contains('.') => self.rd(&v),
            _ => rd.to_owned(),
        }
    }

    /// Rewrites an extended community written plain (`RT:65636:7`, `SoO:65636:7`): the AS
    /// number of a route target or site of origin in this notation; others are kept.
    pub fn ext_community_text(self, ec: &str) -> String {
        match ec.split_once(':') {
            Some((kind @ ("RT" | "SoO"), v)) => format!("{kind}:{}", self.rd_text(v)),
            _ => ec.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TargetKind;

    #[test]
    fn lone_numbers() {
        assert_eq!(Notation::Dot.asn(65636), "1.100");
        assert_eq!(Notation::Dot.asn(65536), "1.0");
        assert_eq!(Notation::Dot.asn(u32::MAX), "65535.65535");
        assert_eq!(
            Notation::Dot.asn(65535),
            "65535",
            "2-octet numbers stay plain"
        );
        assert_eq!(Notation::Dot.asn(100), "100");
        assert_eq!(Notation::Plain.asn(65636), "65636");
        assert_eq!(Notation::default(), Notation::Dot);
    }

    #[test]
    fn as_paths() {
        let p = "100 65636 {65537 200} (131272)";
        assert_eq!(Notation::Dot.as_path(p), "100 1.100 {1.1 200} (2.200)");
        assert_eq!(Notation::Plain.as_path(p), p);
        assert_eq!(Notation::Dot.as_path(""), "");
        assert_eq!(Notation::Dot.as_path("65535 65536"), "65535 1.0");
        // Not a u32: kept as written.
        assert_eq!(Notation::Dot.as_path("99999999999"), "99999999999");
    }

    #[test]
    fn route_distinguishers() {
        let t2 = RouteDistinguisher::type2(65636, 7);
        assert_eq!(Notation::Dot.rd(&t2), "1.100:7");
        assert_eq!(Notation::Plain.rd(&t2), "65636:7");
        let t0 = RouteDistinguisher::type0(100, 70000);
        assert_eq!(Notation::Dot.rd(&t0), "100:70000");
        let t1: RouteDistinguisher = "1.1.1.1:5".parse().unwrap();
        assert_eq!(Notation::Dot.rd(&t1), "1.1.1.1:5");
        assert_eq!(Notation::Dot.rd_text("65636:7"), "1.100:7");
        assert_eq!(Notation::Dot.rd_text("100:70000"), "100:70000");
        assert_eq!(Notation::Dot.rd_text("1.1.1.1:5"), "1.1.1.1:5");
        assert_eq!(Notation::Dot.rd_text("1.100:7"), "1.100:7");
        assert_eq!(Notation::Plain.rd_text("65636:7"), "65636:7");
        assert_eq!(Notation::Dot.rd_text("junk"), "junk");
    }

    #[test]
    fn route_targets_and_origins() {
        let rt = ExtCommunity::as4(TargetKind::RouteTarget, 65636, 1);
        assert_eq!(Notation::Dot.ext_community(&rt), "RT:1.100:1");
        assert_eq!(Notation::Plain.ext_community(&rt), "RT:65636:1");
        assert_eq!(Notation::Dot.target(&rt), "1.100:1");
        assert_eq!(Notation::Plain.target(&rt), "65636:1");
        let soo = ExtCommunity::as4(TargetKind::RouteOrigin, 131272, 9);
        assert_eq!(Notation::Dot.ext_community(&soo), "SoO:2.200:9");
        let small = ExtCommunity::as2(TargetKind::RouteTarget, 100, 70000);
        assert_eq!(Notation::Dot.ext_community(&small), "RT:100:70000");
        let ip = ExtCommunity::ipv4(TargetKind::RouteOrigin, "1.1.1.1".parse().unwrap(), 1);
        assert_eq!(Notation::Dot.ext_community(&ip), "SoO:1.1.1.1:1");
        let other = ExtCommunity([0x80, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Notation::Dot.ext_community(&other), other.to_string());
        assert_eq!(Notation::Dot.ext_community_text("RT:65636:1"), "RT:1.100:1");
        assert_eq!(Notation::Dot.ext_community_text("0x8006"), "0x8006");
    }
}
