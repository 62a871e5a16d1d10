//! Typed arguments: what a parameter position of the grammar accepts, and the typed value a
//! token becomes when it matches.
//!
//! Every [`ArgKind`] parses one token (except [`ArgKind::Text`], which takes the rest of the
//! line). A token that does not parse, or parses out of range, is VRP's "Wrong parameter".
//! Ranges come from the vendor command reference (`ParaDef`): AS numbers of four octets
//! (RFC 6793 §3), 1..4294967295 plain or `x.y` dotted (RFC 5396 §1); hop counts 1..255; mask
//! lengths 0..32 / 0..128; route targets, extended communities of RFC 4360 §4 in the 2-octet
//! AS (§3.1), IPv4 address (§3.2) and 4-octet AS (RFC 5668 §2) forms; communities of RFC 1997
//! (see [`crate::community`]).
//!
//! Some kinds also take words (the well-known communities): [`ArgKind::words`]. Like
//! keywords, such a word may be abbreviated to a unique prefix among the words and keywords
//! that may come at that position (the matcher decides, [`ArgKind::parse_abbrev`] resolves).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tern_types::{Asn, ExtCommunity, Notation, RouteDistinguisher};

use crate::community::{CommunityValue, WELL_KNOWN};

/// What kind of value a parameter position takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// AS number, plain `1..=4294967295` or dotted `x.y`.
    Asn,
    /// IPv4 address in dotted decimal.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// IPv4 or IPv6 address (a BGP peer).
    IpAddr,
    /// Dotted-decimal IPv4 network mask with contiguous ones (`255.255.255.0`).
    Mask,
    /// IPv4 wildcard mask (`0.0.0.255`), as OSPF `network` takes it; any value.
    Wildcard,
    /// An IPv6 address with its prefix length in one token (`2001:db8::1/64`).
    Ipv6Prefix,
    /// An unsigned integer within an inclusive range.
    Int {
        /// Smallest value accepted.
        min: u32,
        /// Largest value accepted.
        max: u32,
    },
    /// A single word of 1..=`max` characters (names, keys).
    Word {
        /// Longest accepted length in characters.
        max: usize,
    },
    /// A peer group's name: a word of 1..47 characters that is not written like an address
    /// (only digits and dots, or with a colon), so that a mistyped peer address is a wrong
    /// parameter rather than a group.
    GroupName,
    /// The rest of the line, verbatim (descriptions), of 1..=`max` characters.
    Text {
        /// Longest accepted length in characters.
        max: usize,
    },
    /// A full interface name: type and number in one token (`LoopBack1`, `GigabitEthernet0/1/0`).
    IfName,
    /// An interface type alone (`LoopBack`), followed by an [`ArgKind::IfNumber`] token.
    IfType,
    /// An interface number (`1`, `0/1/0`, `0/1/0.100`).
    IfNumber,
    /// A route distinguisher (`100:1`, `1.1.1.1:1`, `65536:1`, `1.0:1`).
    Rd,
    /// A route target value (same forms as an RD).
    Rt,
    /// A community: `aa:nn`, a number, or a well-known name ([`CommunityValue`]).
    Community,
    /// Between `min` and `max` AS numbers in one double-quoted token, separated by spaces
    /// (`apply as-path "1 2 ... 129" overwrite`).
    AsnList {
        /// Fewest AS numbers accepted.
        min: u16,
        /// Most AS numbers accepted.
        max: u16,
    },
}

/// A value as it was written: an AS number, route distinguisher or route target, and whether
/// its AS number was written dotted (`1.100`, `1.100:1`, RFC 5396 §1). The configuration
/// prints each one back in the form it was entered, whatever `as-notation` says (that
/// command changes displays only).
///
/// Equality compares the form too (the configuration changed when a number is written
/// again differently); compare [`Written::value`] where only the number matters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Written<T> {
    /// The value.
    pub value: T,
    /// Written in dotted notation.
    pub dotted: bool,
}

impl<T> Written<T> {
    /// A value written plain.
    pub fn plain(value: T) -> Self {
        Written {
            value,
            dotted: false,
        }
    }

    /// The notation it was written in.
    pub fn notation(&self) -> Notation {
        if self.dotted {
            Notation::Dot
        } else {
            Notation::Plain
        }
    }
}

impl<T> From<T> for Written<T> {
    fn from(value: T) -> Self {
        Written::plain(value)
    }
}

/// A bare value has no form: it equals a written one of the same value.
impl PartialEq<Asn> for Written<Asn> {
    fn eq(&self, other: &Asn) -> bool {
        self.value == *other
    }
}

impl PartialEq<RouteDistinguisher> for Written<RouteDistinguisher> {
    fn eq(&self, other: &RouteDistinguisher) -> bool {
        self.value == *other
    }
}

impl PartialEq<ExtCommunity> for Written<ExtCommunity> {
    fn eq(&self, other: &ExtCommunity) -> bool {
        self.value == *other
    }
}

impl<T> std::ops::Deref for Written<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl fmt::Display for Written<Asn> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.notation().asn(self.value.0))
    }
}

impl fmt::Display for Written<RouteDistinguisher> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.notation().rd(&self.value))
    }
}

impl fmt::Display for Written<ExtCommunity> {
    /// The value part, as `vpn-target` and `apply extcommunity rt` write it (`1.100:1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.notation().target(&self.value))
    }
}

/// True when the AS number of `tok` (an AS number, or the part of an RD or route target
/// before its last `:`) is written `x.y`.
fn dotted_asn(tok: &str) -> bool {
    let admin = tok.rsplit_once(':').map_or(tok, |(a, _)| a);
    admin.bytes().filter(|&c| c == b'.').count() == 1
}

/// A matched token's typed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A keyword (no value beyond its presence).
    Keyword,
    /// An AS number, as written.
    Asn(Written<Asn>),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A mask length (from a dotted mask or a number).
    MaskLen(u8),
    /// An IPv6 address with a prefix length.
    Ipv6Prefix(Ipv6Addr, u8),
    /// An integer.
    Int(u32),
    /// A word, text, interface type or number, as typed.
    Str(String),
    /// A canonical interface name.
    IfName(String),
    /// A route distinguisher, as written.
    Rd(Written<RouteDistinguisher>),
    /// A route target, as written.
    Rt(Written<ExtCommunity>),
    /// A community.
    Community(CommunityValue),
    /// AS numbers, in the order and form written.
    Asns(Vec<Written<Asn>>),
}

/// Interface types tern knows, spelled as VRP prints them.
pub const INTERFACE_TYPES: &[&str] = &[
    "LoopBack",
    "GigabitEthernet",
    "Ethernet",
    "10GE",
    "25GE",
    "40GE",
    "100GE",
    "Eth-Trunk",
    "Vlanif",
    "Tunnel",
    "NULL",
    "Virtual-Ethernet",
];

impl ArgKind {
    /// Short placeholder as `?` help shows it (`<1-255>`, `X.X.X.X`, `STRING<1-31>`).
    pub fn placeholder(self) -> String {
        match self {
            ArgKind::Asn => "<1-4294967295>|<x.y>".into(),
            ArgKind::Ipv4 | ArgKind::Mask | ArgKind::Wildcard => "X.X.X.X".into(),
            ArgKind::Ipv6 => "X:X::X:X".into(),
            ArgKind::IpAddr => "X.X.X.X|X:X::X:X".into(),
            ArgKind::Ipv6Prefix => "X:X::X:X/M".into(),
            ArgKind::Int { min, max } => format!("<{min}-{max}>"),
            ArgKind::Word { max } => format!("STRING<1-{max}>"),
            ArgKind::GroupName => "STRING<1-47>".into(),
            ArgKind::Text { max } => format!("TEXT<1-{max}>"),
            ArgKind::IfName => "INTERFACE".into(),
            ArgKind::IfType => "TYPE".into(),
            ArgKind::IfNumber => "NUMBER".into(),
            ArgKind::Rd => "ASN:NN|IP:NN".into(),
            ArgKind::Rt => "ASN:NN|IP:NN".into(),
            ArgKind::Community => "AA:NN|<0-4294967295>".into(),
            ArgKind::AsnList { min, max } => format!("\"ASN ...\"<{min}-{max}>"),
        }
    }

    /// Words the kind takes besides its values, with their `?` help.
    pub fn words(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ArgKind::Community => &WELL_KNOWN,
            _ => &[],
        }
    }

    /// True for kinds that accept (almost) any token; keywords take precedence over them.
    pub fn is_catch_all(self) -> bool {
        matches!(
            self,
            ArgKind::Word { .. } | ArgKind::GroupName | ArgKind::Text { .. }
        )
    }

    /// Parses one token, `None` when it is not a value of this kind (or out of range).
    pub fn parse(self, tok: &str) -> Option<Value> {
        match self {
            ArgKind::Asn => written(tok).map(Value::Asn),
            ArgKind::Ipv4 => parse_v4(tok).map(|a| Value::Ip(a.into())),
            ArgKind::Ipv6 => tok.parse::<Ipv6Addr>().ok().map(|a| Value::Ip(a.into())),
            ArgKind::IpAddr => parse_v4(tok)
                .map(IpAddr::from)
                .or_else(|| tok.parse::<Ipv6Addr>().ok().map(IpAddr::from))
                .map(Value::Ip),
            ArgKind::Mask => parse_v4(tok).and_then(mask_len).map(Value::MaskLen),
            ArgKind::Wildcard => parse_v4(tok).map(|a| Value::Ip(a.into())),
            ArgKind::Ipv6Prefix => {
                let (a, l) = tok.split_once('/')?;
                let a: Ipv6Addr = a.parse().ok()?;
                let l = parse_uint(l)?;
                (l <= 128).then_some(Value::Ipv6Prefix(a, l as u8))
            }
            ArgKind::Int { min, max } => parse_uint(tok)
                .filter(|v| (min..=max).contains(v))
                .map(Value::Int),
            ArgKind::Word { max } => {
                let n = tok.chars().count();
                (n >= 1 && n <= max).then(|| Value::Str(tok.to_owned()))
            }
            ArgKind::GroupName => {
                let n = tok.chars().count();
                let address_like =
                    tok.chars().all(|c| c.is_ascii_digit() || c == '.') || tok.contains(':');
                ((1..=47).contains(&n) && !address_like).then(|| Value::Str(tok.to_owned()))
            }
            ArgKind::Text { max } => {
                let n = tok.chars().count();
                (n >= 1 && n <= max).then(|| Value::Str(tok.to_owned()))
            }
            ArgKind::IfName => canonical_ifname(tok).map(Value::IfName),
            ArgKind::IfType => interface_type(tok).map(|t| Value::Str(t.to_owned())),
            ArgKind::IfNumber => is_ifnumber(tok).then(|| Value::Str(tok.to_owned())),
            ArgKind::Rd => written(tok).map(Value::Rd),
            ArgKind::Rt => written(tok).map(Value::Rt),
            ArgKind::Community => tok.parse::<CommunityValue>().ok().map(Value::Community),
            ArgKind::AsnList { min, max } => {
                let asns = tok
                    .split_whitespace()
                    .map(written)
                    .collect::<Option<Vec<Written<Asn>>>>()?;
                (usize::from(min)..=usize::from(max))
                    .contains(&asns.len())
                    .then_some(Value::Asns(asns))
            }
        }
    }

    /// [`ArgKind::parse`], or else the word `tok` is a unique prefix of among
    /// [`ArgKind::words`] (the matcher has checked no keyword shares the prefix).
    pub fn parse_abbrev(self, tok: &str) -> Option<Value> {
        self.parse(tok).or_else(|| {
            let mut hits = self
                .words()
                .iter()
                .filter(|(w, _)| is_abbrev(tok, w))
                .map(|(w, _)| w);
            match (hits.next(), hits.next()) {
                (Some(w), None) => self.parse(w),
                _ => None,
            }
        })
    }
}

/// A value parsed with the form it was written in.
fn written<T: std::str::FromStr>(tok: &str) -> Option<Written<T>> {
    let value = tok.parse().ok()?;
    Some(Written {
        value,
        dotted: dotted_asn(tok),
    })
}

/// True when `tok` is a proper prefix of `word` (any case): an abbreviation of it.
pub(crate) fn is_abbrev(tok: &str, word: &str) -> bool {
    !tok.is_empty() && word.len() > tok.len() && word[..tok.len()].eq_ignore_ascii_case(tok)
}

/// Strict dotted-decimal IPv4 (four parts).
fn parse_v4(tok: &str) -> Option<Ipv4Addr> {
    tok.parse().ok()
}

/// Decimal digits only, no sign, fits in u32.
fn parse_uint(tok: &str) -> Option<u32> {
    if tok.is_empty() || !tok.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    tok.parse().ok()
}

/// The length of a contiguous network mask, `None` for non-contiguous masks.
pub fn mask_len(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let len = m.leading_ones();
    (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// The dotted mask of a prefix length.
pub fn len_to_mask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0))
}

/// An interface number: digits, `/`-separated, with an optional `.sub` (`0/1/0.100`).
fn is_ifnumber(s: &str) -> bool {
    let (main, sub) = match s.split_once('.') {
        Some((m, sub)) => (m, Some(sub)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    main.split('/').all(digits) && sub.is_none_or(digits)
}

/// Resolves an interface type, exact or unique prefix, case-insensitively, to its VRP spelling.
pub fn interface_type(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return None;
    }
    if let Some(t) = INTERFACE_TYPES.iter().find(|t| t.eq_ignore_ascii_case(s)) {
        return Some(t);
    }
    let mut hits = INTERFACE_TYPES
        .iter()
        .filter(|t| t.len() > s.len() && t[..s.len()].eq_ignore_ascii_case(s));
    match (hits.next(), hits.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}

/// Canonical interface name (`loopback1` → `LoopBack1`, `GE0/1/0` stays unknown), when `s` is
/// a known type (or a unique prefix of one) immediately followed by an interface number.
pub fn canonical_ifname(s: &str) -> Option<String> {
    // Exact type names first (some start with digits, like 10GE).
    for t in INTERFACE_TYPES {
        if s.len() > t.len() && s[..t.len()].eq_ignore_ascii_case(t) && is_ifnumber(&s[t.len()..]) {
            return Some(format!("{t}{}", &s[t.len()..]));
        }
    }
    // Abbreviated type: leading non-digit part, then the number.
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (ty, num) = s.split_at(split);
    if ty.is_empty() || !is_ifnumber(num) {
        return None;
    }
    interface_type(ty).map(|t| format!("{t}{num}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_len("255.255.255.0".parse().unwrap()), Some(24));
        assert_eq!(mask_len("255.255.255.255".parse().unwrap()), Some(32));
        assert_eq!(mask_len("0.0.0.0".parse().unwrap()), Some(0));
        assert_eq!(mask_len("255.0.255.0".parse().unwrap()), None);
        assert_eq!(
            len_to_mask(24),
            "255.255.255.0".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(len_to_mask(0), Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn interface_names() {
        assert_eq!(canonical_ifname("LoopBack1").as_deref(), Some("LoopBack1"));
        assert_eq!(canonical_ifname("loopback1").as_deref(), Some("LoopBack1"));
        assert_eq!(canonical_ifname("Loop1").as_deref(), Some("LoopBack1"));
        assert_eq!(
            canonical_ifname("GigabitEthernet0/1/0").as_deref(),
            Some("GigabitEthernet0/1/0")
        );
        assert_eq!(
            canonical_ifname("gigabitethernet0/1/0.10").as_deref(),
            Some("GigabitEthernet0/1/0.10")
        );
        assert_eq!(canonical_ifname("10GE1/0/1").as_deref(), Some("10GE1/0/1"));
        assert_eq!(canonical_ifname("LoopBack"), None);
        assert_eq!(canonical_ifname("Foo1"), None);
        assert_eq!(
            canonical_ifname("E0/1"),
            None,
            "ambiguous: Ethernet, Eth-Trunk"
        );
        assert_eq!(interface_type("Loopback"), Some("LoopBack"));
    }

    #[test]
    fn ranges() {
        let hop = ArgKind::Int { min: 1, max: 255 };
        assert_eq!(hop.parse("255"), Some(Value::Int(255)));
        assert_eq!(hop.parse("0"), None);
        assert_eq!(hop.parse("256"), None);
        assert_eq!(hop.parse("-1"), None);
        assert_eq!(
            ArgKind::Asn.parse("1.10"),
            Some(Value::Asn(Written {
                value: Asn(65546),
                dotted: true
            }))
        );
        assert_eq!(ArgKind::Asn.parse("0.10"), None, "dotted starts at 1.0");
        assert_eq!(ArgKind::Asn.parse("0"), None);
        assert_eq!(ArgKind::Asn.parse("4294967296"), None);
    }

    #[test]
    fn communities_and_their_words() {
        let c = ArgKind::Community;
        assert_eq!(
            c.parse("100:1"),
            Some(Value::Community(CommunityValue::Pair(100, 1)))
        );
        assert_eq!(c.parse("100:99999"), None);
        assert_eq!(c.parse("inter"), None);
        assert_eq!(
            c.parse_abbrev("inter"),
            Some(Value::Community(CommunityValue::Internet))
        );
        assert_eq!(
            c.parse_abbrev("NO-EXPORT"),
            Some(Value::Community(CommunityValue::NoExport))
        );
        // A prefix of no-export and of no-export-subconfed.
        assert_eq!(c.parse_abbrev("no-exp"), None);
    }

    #[test]
    fn values_print_back_as_written() {
        for (kind, text) in [
            (ArgKind::Asn, "1.100"),
            (ArgKind::Asn, "65636"),
            (ArgKind::Asn, "100"),
            (ArgKind::Asn, "65535.65535"),
            (ArgKind::Rd, "1.100:1"),
            (ArgKind::Rd, "65636:1"),
            (ArgKind::Rd, "100:4294967295"),
            (ArgKind::Rd, "1.1.1.1:5"),
            (ArgKind::Rt, "2.200:7"),
            (ArgKind::Rt, "131272:7"),
            (ArgKind::Rt, "100:1"),
            (ArgKind::Rt, "10.0.0.1:3"),
        ] {
            let printed = match kind.parse(text) {
                Some(Value::Asn(a)) => a.to_string(),
                Some(Value::Rd(r)) => r.to_string(),
                Some(Value::Rt(r)) => r.to_string(),
                other => panic!("{text}: {other:?}"),
            };
            assert_eq!(printed, text);
        }
        // The same number either way; the form tells them apart.
        let (Some(Value::Rd(a)), Some(Value::Rd(b))) =
            (ArgKind::Rd.parse("1.100:1"), ArgKind::Rd.parse("65636:1"))
        else {
            panic!()
        };
        assert_eq!(a.value, b.value);
        assert_ne!(a, b);
        assert_eq!(*a, RouteDistinguisher::type2(65636, 1));
    }

    #[test]
    fn quoted_as_number_lists() {
        let k = ArgKind::AsnList { min: 2, max: 3 };
        assert_eq!(
            k.parse("1 1.0"),
            Some(Value::Asns(vec![
                Written::plain(Asn(1)),
                Written {
                    value: Asn(65536),
                    dotted: true
                }
            ]))
        );
        assert_eq!(k.parse("1"), None);
        assert_eq!(k.parse("1 2 3 4"), None);
        assert_eq!(k.parse("1 0"), None);
    }
}
