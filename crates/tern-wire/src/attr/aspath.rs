//! AS_PATH (RFC 4271 §4.3, §5.1.2) and AS4_PATH (RFC 6793 §3), kept as their wire bytes.
//!
//! Segments: AS_SET (1), AS_SEQUENCE (2), AS_CONFED_SEQUENCE (3), AS_CONFED_SET (4)
//! (RFC 5065 §3). A path is 2-octet on a session without the 4-octet AS capability and
//! 4-octet otherwise (and always in AS4_PATH). Validation follows RFC 7606 §7.2: an unknown
//! segment type, a zero-length segment, an overrun or a one-octet leftover is malformed.
//! [`AsPath::merge_as4`] rebuilds the true path from AS_PATH and AS4_PATH (RFC 6793 §4.2.3).

use std::borrow::Cow;
use std::fmt;

use tern_types::AS_TRANS;

use crate::reader::Reader;

/// Segment types.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SegmentType {
    /// AS_SET (1).
    Set,
    /// AS_SEQUENCE (2).
    Sequence,
    /// AS_CONFED_SEQUENCE (3).
    ConfedSequence,
    /// AS_CONFED_SET (4).
    ConfedSet,
}

impl SegmentType {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        })
    }

    fn to_u8(self) -> u8 {
        match self {
            SegmentType::Set => 1,
            SegmentType::Sequence => 2,
            SegmentType::ConfedSequence => 3,
            SegmentType::ConfedSet => 4,
        }
    }

    /// True for the confederation segment types.
    pub fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }
}

/// One segment, viewed over the path's bytes.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'p> {
    /// Its type.
    pub kind: SegmentType,
    asns: &'p [u8],
    width: usize,
}

impl<'p> Segment<'p> {
    /// The AS numbers.
    pub fn asns(&self) -> impl Iterator<Item = u32> + use<'p> {
        let four = self.width == 4;
        self.asns.chunks_exact(self.width).map(move |c| {
            if four {
                c.first_chunk::<4>().map_or(0, |a| u32::from_be_bytes(*a))
            } else {
                c.first_chunk::<2>()
                    .map_or(0, |a| u32::from(u16::from_be_bytes(*a)))
            }
        })
    }

    /// Number of AS numbers.
    pub fn len(&self) -> usize {
        self.asns.len().checked_div(self.width).unwrap_or(0)
    }

    /// True when the segment holds no AS number.
    pub fn is_empty(&self) -> bool {
        self.asns.is_empty()
    }
}

/// An AS_PATH or AS4_PATH.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct AsPath<'a> {
    data: Cow<'a, [u8]>,
    four_octet: bool,
}

/// A malformed AS path (RFC 7606 §7.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("malformed AS path")]
pub struct AsPathError;

impl<'a> AsPath<'a> {
    /// The empty path (as originated toward IBGP peers).
    pub fn empty(four_octet: bool) -> AsPath<'static> {
        AsPath {
            data: Cow::Owned(Vec::new()),
            four_octet,
        }
    }

    /// Wraps received bytes after checking their structure.
    pub fn from_wire(bytes: &'a [u8], four_octet: bool) -> Result<Self, AsPathError> {
        let width = if four_octet { 4 } else { 2 };
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            let kind = r.u8().ok_or(AsPathError)?;
            SegmentType::from_u8(kind).ok_or(AsPathError)?;
            let count = r.u8().ok_or(AsPathError)?;
            if count == 0 {
                return Err(AsPathError);
            }
            r.take(usize::from(count).saturating_mul(width))
                .ok_or(AsPathError)?;
        }
        Ok(AsPath {
            data: Cow::Borrowed(bytes),
            four_octet,
        })
    }

    /// Builds a path from segments. Segments longer than 255 ASNs are split.
    pub fn from_segments<'s, I>(segments: I, four_octet: bool) -> AsPath<'static>
    where
        I: IntoIterator<Item = (SegmentType, &'s [u32])>,
    {
        let mut v = Vec::new();
        for (kind, asns) in segments {
            for chunk in asns.chunks(255) {
                v.push(kind.to_u8());
                v.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                for &a in chunk {
                    if four_octet {
                        v.extend_from_slice(&a.to_be_bytes());
                    } else {
                        v.extend_from_slice(&u16::try_from(a).unwrap_or(AS_TRANS).to_be_bytes());
                    }
                }
            }
        }
        AsPath {
            data: Cow::Owned(v),
            four_octet,
        }
    }

    /// A single AS_SEQUENCE.
    pub fn sequence(asns: &[u32], four_octet: bool) -> AsPath<'static> {
        if asns.is_empty() {
            return AsPath::empty(four_octet);
        }
        AsPath::from_segments([(SegmentType::Sequence, asns)], four_octet)
    }

    /// True for 4-octet encoding.
    pub fn is_four_octet(&self) -> bool {
        self.four_octet
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The segments.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        let width = if self.four_octet { 4 } else { 2 };
        let mut r = Reader::new(&self.data);
        std::iter::from_fn(move || {
            let kind = SegmentType::from_u8(r.u8()?)?;
            let count = r.u8()?;
            let asns = r.take(usize::from(count).saturating_mul(width))?;
            Some(Segment { kind, asns, width })
        })
    }

    /// Every AS number in order, whatever the segment type.
    pub fn asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments().flat_map(|s| s.asns())
    }

    /// Path length for the decision process (RFC 4271 §9.1.2.2 a): an AS_SET counts one,
    /// confederation segments count zero (RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.len(),
                SegmentType::Set => 1,
                _ => 0,
            })
            .fold(0usize, usize::saturating_add)
    }

    /// True if any confederation segment is present.
    pub fn has_confed(&self) -> bool {
        self.segments().any(|s| s.kind.is_confed())
    }

    /// True if `asn` appears anywhere (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.asns().any(|a| a == asn)
    }

    /// How many times `asn` appears (`peer X allow-as-loop N` counts repetitions).
    pub fn count(&self, asn: u32) -> usize {
        self.asns().filter(|&a| a == asn).count()
    }

    /// The segments as owned lists, for rewriting (AS substitution, private AS removal).
    pub fn to_segments(&self) -> Vec<(SegmentType, Vec<u32>)> {
        self.segments()
            .map(|s| (s.kind, s.asns().collect()))
            .collect()
    }

    /// A path built from owned segments (empty segments are left out), in this path's width.
    pub fn with_segments(&self, segs: &[(SegmentType, Vec<u32>)]) -> AsPath<'static> {
        AsPath::from_segments(
            segs.iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (*k, v.as_slice())),
            self.four_octet,
        )
    }

    /// The first AS of the leftmost AS_SEQUENCE (the neighbour AS, RFC 4271 §9.1.2.2 c).
    pub fn first_asn(&self) -> Option<u32> {
        let s = self.segments().next()?;
        if s.kind == SegmentType::Sequence {
            s.asns().next()
        } else {
            None
        }
    }

    /// The same path in 4-octet or 2-octet (AS_TRANS for large numbers) encoding.
    pub fn to_width(&self, four_octet: bool) -> AsPath<'static> {
        let segs: Vec<(SegmentType, Vec<u32>)> = self
            .segments()
            .map(|s| (s.kind, s.asns().collect()))
            .collect();
        AsPath::from_segments(segs.iter().map(|(k, v)| (*k, v.as_slice())), four_octet)
    }

    /// True if any AS number needs 4 octets (then a 2-octet peer also needs AS4_PATH).
    pub fn needs_as4(&self) -> bool {
        self.asns().any(|a| a > u32::from(u16::MAX))
    }

    /// `asn` prepended `count` times to the leftmost AS_SEQUENCE (RFC 4271 §5.1.2).
    pub fn prepend(&self, asn: u32, count: usize) -> AsPath<'static> {
        let mut segs: Vec<(SegmentType, Vec<u32>)> = self
            .segments()
            .map(|s| (s.kind, s.asns().collect()))
            .collect();
        let mut head = vec![asn; count];
        match segs.first_mut() {
            Some((SegmentType::Sequence, v)) if v.len().saturating_add(count) <= 255 => {
                head.append(v);
                *v = head;
            }
            _ => segs.insert(0, (SegmentType::Sequence, head)),
        }
        AsPath::from_segments(
            segs.iter().map(|(k, v)| (*k, v.as_slice())),
            self.four_octet,
        )
    }

    /// Rebuilds the path from a 2-octet session's AS_PATH and AS4_PATH (RFC 6793 §4.2.3):
    /// when AS4_PATH is not longer than AS_PATH, the leading AS numbers of AS_PATH are kept
    /// and the rest taken from AS4_PATH; otherwise AS4_PATH is ignored.
    pub fn merge_as4(&self, as4: &AsPath<'_>) -> AsPath<'static> {
        let count = |p: &AsPath<'_>| {
            p.segments()
                .filter(|s| !s.kind.is_confed())
                .map(|s| {
                    if s.kind == SegmentType::Set {
                        1
                    } else {
                        s.len()
                    }
                })
                .fold(0usize, usize::saturating_add)
        };
        let (n2, n4) = (count(self), count(as4));
        if n4 > n2 {
            return self.to_width(true);
        }
        let mut keep = n2.saturating_sub(n4);
        let mut segs: Vec<(SegmentType, Vec<u32>)> = Vec::new();
        for s in self.segments() {
            if keep == 0 {
                break;
            }
            if s.kind.is_confed() {
                segs.push((s.kind, s.asns().collect()));
                continue;
            }
            if s.kind == SegmentType::Set {
                segs.push((s.kind, s.asns().collect()));
                keep = keep.saturating_sub(1);
            } else {
                let take = keep.min(s.len());
                segs.push((s.kind, s.asns().take(take).collect()));
                keep = keep.saturating_sub(take);
            }
        }
        segs.extend(as4.segments().map(|s| (s.kind, s.asns().collect())));
        AsPath::from_segments(segs.iter().map(|(k, v)| (*k, v.as_slice())), true)
    }

    /// An owned copy.
    pub fn into_owned(self) -> AsPath<'static> {
        AsPath {
            data: Cow::Owned(self.data.into_owned()),
            four_octet: self.four_octet,
        }
    }
}

impl fmt::Display for AsPath<'_> {
    /// `100 200 {300 400} (65001)`, as routers print paths.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in self.segments() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, close) = match s.kind {
                SegmentType::Sequence => ("", ""),
                SegmentType::Set => ("{", "}"),
                SegmentType::ConfedSequence => ("(", ")"),
                SegmentType::ConfedSet => ("[", "]"),
            };
            f.write_str(open)?;
            for (i, a) in s.asns().enumerate() {
                if i > 0 {
                    f.write_str(
                        if matches!(s.kind, SegmentType::Set | SegmentType::ConfedSet) {
                            ","
                        } else {
                            " "
                        },
                    )?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_and_print() {
        let bytes = [2, 2, 0, 100, 0, 200, 1, 2, 0, 1, 0, 2];
        let p = AsPath::from_wire(&bytes, false).unwrap();
        assert_eq!(p.to_string(), "100 200 {1,2}");
        assert_eq!(p.path_len(), 3);
        assert_eq!(p.first_asn(), Some(100));
        assert!(p.contains(2) && !p.contains(3));
        assert_eq!(p.to_width(true).to_width(false).as_bytes(), bytes);
        for bad in [
            &[2, 0][..],
            &[5, 1, 0, 1],
            &[2, 2, 0, 1, 0],
            &[2, 1, 0, 1, 2],
        ] {
            assert_eq!(AsPath::from_wire(bad, false), Err(AsPathError), "{bad:?}");
        }
    }

    #[test]
    fn as4_merge_and_prepend() {
        // A 2-octet speaker's view: 100 AS_TRANS AS_TRANS 300; AS4_PATH: 70000 70001 300.
        let two = AsPath::sequence(&[100, 70000, 70001, 300], false);
        assert_eq!(two.to_string(), "100 23456 23456 300");
        let four = AsPath::sequence(&[70000, 70001, 300], true);
        assert_eq!(two.merge_as4(&four).to_string(), "100 70000 70001 300");
        let too_long = AsPath::sequence(&[1, 2, 3, 4, 5], true);
        assert_eq!(two.merge_as4(&too_long).to_string(), "100 23456 23456 300");
        assert_eq!(four.prepend(200, 2).to_string(), "200 200 70000 70001 300");
        assert_eq!(AsPath::empty(true).prepend(200, 1).to_string(), "200");
        let big: Vec<u32> = (1..=300).collect();
        let p = AsPath::sequence(&big, true);
        assert_eq!(p.segments().count(), 2);
        assert_eq!(p.path_len(), 300);
    }
}
