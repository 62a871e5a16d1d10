//! Community values as `apply community` takes them (vendor reference, IP Routing Policy
//! Configuration, `apply community`): the COMMUNITIES attribute of RFC 1997, four octets per
//! community, written `aa:nn` (the high and low two octets, each 0..65535) or as one number
//! (0..4294967295), and the well-known communities of RFC 1997 by name (`no-export`,
//! `no-advertise`, `no-export-subconfed`), plus VRP's `internet` (0:0, "all routes belong to
//! the Internet community").
//!
//! A value keeps the form it was written in, so that the configuration prints back as entered;
//! [`CommunityValue::value`] is the four octets it stands for.

use std::fmt;
use std::str::FromStr;

/// Well-known community NO_EXPORT (RFC 1997).
pub const NO_EXPORT: u32 = 0xFFFF_FF01;
/// Well-known community NO_ADVERTISE (RFC 1997).
pub const NO_ADVERTISE: u32 = 0xFFFF_FF02;
/// Well-known community NO_EXPORT_SUBCONFED (RFC 1997).
pub const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;
/// VRP's `internet` community (0:0).
pub const INTERNET: u32 = 0;

/// The most values one `apply community` takes (`&<1-32>`).
pub const MAX_COMMUNITIES: usize = 32;

/// One community value of `apply community`, in the form it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommunityValue {
    /// `aa:nn`: the high two octets, then the low two.
    Pair(u16, u16),
    /// A number, 0..4294967295.
    Number(u32),
    /// `internet` (0:0).
    Internet,
    /// `no-advertise` (NO_ADVERTISE).
    NoAdvertise,
    /// `no-export` (NO_EXPORT).
    NoExport,
    /// `no-export-subconfed` (NO_EXPORT_SUBCONFED).
    NoExportSubconfed,
}

/// The community names, as written, with their `?` help.
pub const WELL_KNOWN: [(&str, &str); 4] = [
    ("internet", "Send to all peers (0:0)"),
    ("no-advertise", "Send to no peer (NO_ADVERTISE)"),
    ("no-export", "Do not send out of the AS (NO_EXPORT)"),
    (
        "no-export-subconfed",
        "Do not send out of the sub-AS (NO_EXPORT_SUBCONFED)",
    ),
];

impl CommunityValue {
    /// The four octets of the community.
    pub fn value(self) -> u32 {
        match self {
            CommunityValue::Pair(aa, nn) => (u32::from(aa) << 16) | u32::from(nn),
            CommunityValue::Number(n) => n,
            CommunityValue::Internet => INTERNET,
            CommunityValue::NoAdvertise => NO_ADVERTISE,
            CommunityValue::NoExport => NO_EXPORT,
            CommunityValue::NoExportSubconfed => NO_EXPORT_SUBCONFED,
        }
    }

    /// The name of a well-known community, `None` for `aa:nn` and numbers.
    pub fn name(self) -> Option<&'static str> {
        match self {
            CommunityValue::Pair(..) | CommunityValue::Number(_) => None,
            CommunityValue::Internet => Some("internet"),
            CommunityValue::NoAdvertise => Some("no-advertise"),
            CommunityValue::NoExport => Some("no-export"),
            CommunityValue::NoExportSubconfed => Some("no-export-subconfed"),
        }
    }

    /// The community a name stands for (spelled in full, any case).
    pub fn named(word: &str) -> Option<CommunityValue> {
        [
            CommunityValue::Internet,
            CommunityValue::NoAdvertise,
            CommunityValue::NoExport,
            CommunityValue::NoExportSubconfed,
        ]
        .into_iter()
        .find(|c| c.name().is_some_and(|n| n.eq_ignore_ascii_case(word)))
    }
}

impl fmt::Display for CommunityValue {
    /// As VRP writes it: `aa:nn`, the number, or the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommunityValue::Pair(aa, nn) => write!(f, "{aa}:{nn}"),
            CommunityValue::Number(n) => write!(f, "{n}"),
            named => f.write_str(named.name().unwrap_or_default()),
        }
    }
}

/// Why a string is not a community value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a community (aa:nn with aa, nn 0..65535, a number 0..4294967295, internet, \
     no-advertise, no-export or no-export-subconfed)"
)]
pub struct CommunityParseError(pub String);

impl FromStr for CommunityValue {
    type Err = CommunityParseError;

    /// `aa:nn`, a number, or a well-known name in full.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CommunityParseError(s.to_owned());
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        match s.split_once(':') {
            Some((aa, nn)) if digits(aa) && digits(nn) => Ok(CommunityValue::Pair(
                aa.parse().map_err(|_| err())?,
                nn.parse().map_err(|_| err())?,
            )),
            Some(_) => Err(err()),
            None if digits(s) => s.parse().map(CommunityValue::Number).map_err(|_| err()),
            None => CommunityValue::named(s).ok_or_else(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_ranges() {
        let p = |s: &str| s.parse::<CommunityValue>();
        assert_eq!(p("100:1"), Ok(CommunityValue::Pair(100, 1)));
        assert_eq!(p("65535:65535").unwrap().value(), u32::MAX);
        assert_eq!(p("0:0").unwrap().value(), INTERNET);
        assert_eq!(p("4294967295"), Ok(CommunityValue::Number(u32::MAX)));
        assert_eq!(p("0"), Ok(CommunityValue::Number(0)));
        assert_eq!(p("No-Export"), Ok(CommunityValue::NoExport));
        assert_eq!(
            p("no-export-subconfed").unwrap().value(),
            NO_EXPORT_SUBCONFED
        );
        for bad in [
            "100:65536",
            "65536:1",
            "4294967296",
            "1:",
            ":1",
            "1:2:3",
            "-1",
            "abc",
            "no-exp",
            "",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prints_as_written() {
        for s in ["100:1", "6553601", "internet", "no-advertise", "no-export"] {
            assert_eq!(s.parse::<CommunityValue>().unwrap().to_string(), s);
        }
        assert_eq!(
            "100:1".parse::<CommunityValue>().unwrap().value(),
            "6553601".parse::<CommunityValue>().unwrap().value()
        );
    }
}
