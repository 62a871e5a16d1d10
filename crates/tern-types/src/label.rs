//! MPLS labels as carried in BGP NLRI (RFC 8277 §2, RFC 3032 §2.1).
//!
//! Each label stack entry in an NLRI is 3 octets: the 20-bit label, 3 bits of traffic class,
//! and the bottom-of-stack bit. A withdrawal may carry the value 0x800000 (RFC 8277 §2.4) in
//! place of a label.

use std::fmt;

/// A 20-bit MPLS label value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Label(pub u32);

impl Label {
    /// IPv4 explicit null (0).
    pub const IPV4_EXPLICIT_NULL: Label = Label(0);
    /// Implicit null (3).
    pub const IMPLICIT_NULL: Label = Label(3);
    /// Largest label value.
    pub const MAX: u32 = 0xf_ffff;
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Up to [`LabelStack::CAPACITY`] label stack entries, kept as their 3-octet wire form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LabelStack {
    len: u8,
    raw: [[u8; 3]; LabelStack::CAPACITY],
}

impl LabelStack {
    /// The most entries a stack holds; longer stacks in an NLRI are malformed for tern.
    pub const CAPACITY: usize = 4;
    /// The 3-octet value sent in place of a label when withdrawing (RFC 8277 §2.4).
    pub const WITHDRAW: [u8; 3] = [0x80, 0x00, 0x00];

    /// An empty stack.
    pub const fn new() -> Self {
        LabelStack {
            len: 0,
            raw: [[0; 3]; LabelStack::CAPACITY],
        }
    }

    /// A single label with the bottom-of-stack bit set.
    pub fn single(label: Label) -> Self {
        let mut s = Self::new();
        s.push_label(label, true);
        s
    }

    /// The withdrawal marker 0x800000 alone.
    pub fn withdraw_marker() -> Self {
        let mut s = Self::new();
        s.push_raw(Self::WITHDRAW);
        s
    }

    /// Appends a label; returns false if the stack is full.
    pub fn push_label(&mut self, label: Label, bottom: bool) -> bool {
        let v = ((label.0 & Label::MAX) << 4) | u32::from(bottom);
        let b = v.to_be_bytes();
        self.push_raw([b[1], b[2], b[3]])
    }

    /// Appends a raw 3-octet entry; returns false if the stack is full.
    pub fn push_raw(&mut self, entry: [u8; 3]) -> bool {
        match self.raw.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = entry;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw 3-octet entries.
    pub fn entries(&self) -> &[[u8; 3]] {
        self.raw.get(..self.len()).unwrap_or(&[])
    }

    /// The label values (top first).
    pub fn labels(&self) -> impl Iterator<Item = Label> + '_ {
        self.entries().iter().map(|e| {
            Label((u32::from(e[0]) << 12) | (u32::from(e[1]) << 4) | (u32::from(e[2]) >> 4))
        })
    }

    /// The top label, if any.
    pub fn top(&self) -> Option<Label> {
        self.labels().next()
    }

    /// True for the single withdrawal marker 0x800000 (or the 0x000000 some speakers send).
    pub fn is_withdraw_marker(&self) -> bool {
        matches!(self.entries(), [e] if *e == Self::WITHDRAW || *e == [0, 0, 0])
    }
}

impl fmt::Debug for LabelStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.labels()).finish()
    }
}

impl fmt::Display for LabelStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.labels().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_labels() {
        let s = LabelStack::single(Label(1000));
        assert_eq!(s.entries(), &[[0x00, 0x3e, 0x81]]);
        assert_eq!(s.top(), Some(Label(1000)));
        let mut t = LabelStack::new();
        assert!(t.push_label(Label(16), false));
        assert!(t.push_label(Label(Label::MAX), true));
        assert_eq!(t.to_string(), "16/1048575");
        assert!(LabelStack::withdraw_marker().is_withdraw_marker());
        let mut full = LabelStack::new();
        for _ in 0..LabelStack::CAPACITY {
            assert!(full.push_label(Label(1), false));
        }
        assert!(!full.push_label(Label(1), true));
    }
}
