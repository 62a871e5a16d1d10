//! Attributes that are plain lists of fixed-size items, kept as their wire bytes:
//! COMMUNITIES (RFC 1997, 4 octets each), EXTENDED_COMMUNITIES (RFC 4360, 8 octets),
//! LARGE_COMMUNITY (RFC 8092, 12 octets) and CLUSTER_LIST (RFC 4456 §8, 4 octets).
//! A length that is not a multiple of the item size is malformed (RFC 7606 §7.8, §7.10,
//! §7.14, RFC 8092 §6): the caller treats the UPDATE as withdraw.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use tern_types::ExtCommunity;

macro_rules! list_attr {
    ($(#[$doc:meta])* $name:ident, $item:ty, $size:expr, $conv:expr, $to:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        pub struct $name<'a>(Cow<'a, [u8]>);

        impl<'a> $name<'a> {
            /// Octets per item.
            pub const ITEM: usize = $size;

            /// Wraps received bytes; `None` if the length is not a whole number of items.
            pub fn from_wire(bytes: &'a [u8]) -> Option<Self> {
                bytes.len().is_multiple_of(Self::ITEM).then_some($name(Cow::Borrowed(bytes)))
            }

            /// Builds from items.
            pub fn from_items<I: IntoIterator<Item = $item>>(items: I) -> $name<'static> {
                let mut v = Vec::new();
                for it in items {
                    let to: fn(&$item) -> [u8; $size] = $to;
                    v.extend_from_slice(&to(&it));
                }
                $name(Cow::Owned(v))
            }

            /// The items.
            pub fn iter(&self) -> impl Iterator<Item = $item> + '_ {
                let conv: fn(&[u8; $size]) -> $item = $conv;
                self.0.chunks_exact(Self::ITEM).filter_map(move |c| c.first_chunk::<$size>().map(conv))
            }

            /// Number of items.
            pub fn len(&self) -> usize {
                self.0.len().checked_div(Self::ITEM).unwrap_or(0)
            }

            /// True when empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// The wire bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// An owned copy.
            pub fn into_owned(self) -> $name<'static> {
                $name(Cow::Owned(self.0.into_owned()))
            }
        }
    };
}

list_attr!(
    /// COMMUNITIES: 4-octet values (`AS:NN`).
    Communities, u32, 4, |b| u32::from_be_bytes(*b), |v| v.to_be_bytes()
);
list_attr!(
    /// EXTENDED_COMMUNITIES.
    ExtCommunities, ExtCommunity, 8, |b| ExtCommunity(*b), |v| v.0
);
list_attr!(
    /// LARGE_COMMUNITY: (global administrator, local data 1, local data 2).
    LargeCommunities,
    (u32, u32, u32),
    12,
    |b| {
        let mut w = b.chunks_exact(4).filter_map(|c| c.first_chunk::<4>()).map(|a| u32::from_be_bytes(*a));
        (w.next().unwrap_or(0), w.next().unwrap_or(0), w.next().unwrap_or(0))
    },
    |v| {
        let mut o = [0u8; 12];
        for (d, x) in o.chunks_exact_mut(4).zip([v.0, v.1, v.2]) {
            d.copy_from_slice(&x.to_be_bytes());
        }
        o
    }
);
list_attr!(
    /// CLUSTER_LIST: cluster IDs, most recent first.
    ClusterList, Ipv4Addr, 4, |b| Ipv4Addr::from(*b), |v| v.octets()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let c = Communities::from_items([0xffff_ff01, 100 << 16 | 1]);
        assert_eq!(c.as_bytes(), [0xff, 0xff, 0xff, 0x01, 0, 100, 0, 1]);
        assert_eq!(
            Communities::from_wire(c.as_bytes())
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![0xffff_ff01, 100 << 16 | 1]
        );
        assert!(Communities::from_wire(&[1, 2, 3]).is_none());
        let l = LargeCommunities::from_items([(1, 2, 3)]);
        assert_eq!(l.iter().next(), Some((1, 2, 3)));
        assert_eq!(l.len(), 1);
        let cl = ClusterList::from_items([Ipv4Addr::new(3, 3, 3, 9)]);
        assert_eq!(
            cl.iter().collect::<Vec<_>>(),
            vec![Ipv4Addr::new(3, 3, 3, 9)]
        );
    }
}
