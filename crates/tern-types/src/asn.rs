//! AS numbers: 4-octet everywhere (RFC 6793), written plain (`65536`) or dotted (`1.0`,
//! RFC 5396 §1), with `AS_TRANS` (23456, RFC 6793 §9) for 2-octet peers.

use std::fmt;
use std::str::FromStr;

/// AS_TRANS: the 2-octet stand-in for a 4-octet AS number (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// An AS number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Asn(pub u32);

/// Why a string is not an AS number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsnParseError {
    /// Not a number in plain or dotted notation.
    #[error("'{0}' is not an AS number (plain 1..4294967295 or dotted x.y)")]
    Syntax(String),
    /// A number outside the allowed range.
    #[error("AS number '{0}' is out of range (plain 1..4294967295, dotted 1.0..65535.65535)")]
    Range(String),
}

impl Asn {
    /// The 2-octet form for an OPEN or a 2-octet AS_PATH: the number itself when it fits,
    /// AS_TRANS otherwise.
    pub fn as_u16_or_trans(self) -> u16 {
        u16::try_from(self.0).unwrap_or(AS_TRANS)
    }

    /// True when the number needs 4 octets.
    pub fn is_four_octet(self) -> bool {
        self.0 > u32::from(u16::MAX)
    }

    /// Dotted notation (`x.y`) for numbers over 65535, plain otherwise, as VRP shows them.
    pub fn to_dotted(self) -> String {
        if self.is_four_octet() {
            format!("{}.{}", self.0 >> 16, self.0 & 0xffff)
        } else {
            self.0.to_string()
        }
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Asn {
    type Err = AsnParseError;

    /// Accepts plain `1..=4294967295` and dotted `x.y` (x in 1..=65535, y in 0..=65535): a
    /// dotted number is above 65535, as VRP's range for it says.
    fn from_str(s: &str) -> Result<Asn, AsnParseError> {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let v = if let Some((hi, lo)) = s.split_once('.') {
            if !digits(hi) || !digits(lo) {
                return Err(AsnParseError::Syntax(s.to_owned()));
            }
            let hi: u16 = hi.parse().map_err(|_| AsnParseError::Range(s.to_owned()))?;
            let lo: u16 = lo.parse().map_err(|_| AsnParseError::Range(s.to_owned()))?;
            if hi == 0 {
                return Err(AsnParseError::Range(s.to_owned()));
            }
            (u32::from(hi) << 16) | u32::from(lo)
        } else {
            if !digits(s) {
                return Err(AsnParseError::Syntax(s.to_owned()));
            }
            s.parse::<u32>()
                .map_err(|_| AsnParseError::Range(s.to_owned()))?
        };
        if v == 0 {
            return Err(AsnParseError::Range(s.to_owned()));
        }
        Ok(Asn(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_plain_and_dotted() {
        assert_eq!("100".parse(), Ok(Asn(100)));
        assert_eq!("4294967295".parse(), Ok(Asn(u32::MAX)));
        assert_eq!("1.0".parse(), Ok(Asn(65536)));
        assert_eq!("65535.65535".parse(), Ok(Asn(u32::MAX)));
        assert!(matches!("0".parse::<Asn>(), Err(AsnParseError::Range(_))));
        assert!(matches!("0.0".parse::<Asn>(), Err(AsnParseError::Range(_))));
        assert!(matches!(
            "0.100".parse::<Asn>(),
            Err(AsnParseError::Range(_))
        ));
        assert!(matches!(
            "4294967296".parse::<Asn>(),
            Err(AsnParseError::Range(_))
        ));
        assert!(matches!(
            "65536.1".parse::<Asn>(),
            Err(AsnParseError::Range(_))
        ));
        assert!(matches!("1.".parse::<Asn>(), Err(AsnParseError::Syntax(_))));
        assert!(matches!("-1".parse::<Asn>(), Err(AsnParseError::Syntax(_))));
        assert!(matches!(
            "as100".parse::<Asn>(),
            Err(AsnParseError::Syntax(_))
        ));
    }

    #[test]
    fn trans_and_dotted_display() {
        assert_eq!(Asn(100).as_u16_or_trans(), 100);
        assert_eq!(Asn(65536).as_u16_or_trans(), AS_TRANS);
        assert_eq!(Asn(65536).to_dotted(), "1.0");
        assert_eq!(Asn(200).to_dotted(), "200");
    }
}
