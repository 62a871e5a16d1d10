//! AS numbers on a peer's routes, as VRP's `peer X` AS options set them:
//!
//! - inbound, `allow-as-loop [N]`: AS_PATH loop detection (RFC 4271 §9.1.2) on routes from
//!   an EBGP peer counts the repetitions of the local AS (and of the peer's fake AS); a route
//!   is refused when either appears more than N times (0 without the option). VRP checks
//!   routes from EBGP peers only. `fake-as … prepend-fake-as` adds the fake AS to a received
//!   path before the import policy;
//! - outbound toward EBGP, in this order: `substitute-as` (the peer's AS replaced by the
//!   local AS), `public-as-only` (private AS numbers removed or replaced, in VRP's basic,
//!   `force` and `limited` forms, with `replace` and `include-peer-as`), then the prepend of
//!   the local AS, or with `fake-as F` of F alone (F then the local AS with
//!   `prepend-global-as`). The 4-octet transition of the result (AS_TRANS and AS4_PATH toward
//!   a 2-octet peer, RFC 6793 §4.2.2) is the UPDATE builder's.
//!
//! Private AS numbers are 64512–65534 (RFC 6996 §5 as VRP counts them without
//! `private-4-byte-as enable`, which tern does not have).

use tern_types::Family;
use tern_wire::attr::AsPath;

/// True for a private AS number (64512 to 65534).
pub fn is_private(asn: u32) -> bool {
    (64512..=65534).contains(&asn)
}

/// Which private AS numbers `public-as-only` touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PrivateMode {
    /// `public-as-only`: a path of private AS numbers only, without the peer's AS, is
    /// emptied; any other path is left alone.
    Basic,
    /// `force`: every private AS number.
    Force,
    /// `limited`: the private AS numbers from the left up to the first public or local AS.
    Limited,
}

/// `peer X public-as-only [force|limited] [replace] [include-peer-as]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PublicAsOnly {
    /// Which private AS numbers.
    pub mode: PrivateMode,
    /// Replaced by the local AS instead of removed (the path keeps its length).
    pub replace: bool,
    /// The peer's own AS is treated like any private AS (otherwise it is kept).
    pub include_peer_as: bool,
}

/// `peer X fake-as F [prepend-global-as] [prepend-fake-as]` as the route engine applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FakeAs {
    /// The AS the session runs with.
    pub asn: u32,
    /// Outbound: the fake AS followed by the local AS.
    pub prepend_global_as: bool,
}

/// A peer's outbound AS rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsOut {
    /// Families with `substitute-as`.
    pub substitute_as: Vec<Family>,
    /// Families with `public-as-only`.
    pub public_as_only: Vec<(Family, PublicAsOnly)>,
    /// The peer's AS (only set when one of the rules above needs it, so that peers without
    /// them share update groups).
    pub peer_as: u32,
    /// `fake-as`.
    pub fake_as: Option<FakeAs>,
}

impl AsOut {
    /// True when no rule applies.
    pub fn is_empty(&self) -> bool {
        self.substitute_as.is_empty() && self.public_as_only.is_empty() && self.fake_as.is_none()
    }

    /// The path sent to an EBGP peer in `family`: the rules, then the prepend.
    pub fn export(&self, family: Family, path: &AsPath<'_>, local_as: u32) -> AsPath<'static> {
        let mut path = path.clone().into_owned();
        if self.substitute_as.contains(&family) {
            path = substitute(&path, self.peer_as, local_as);
        }
        if let Some((_, rule)) = self.public_as_only.iter().find(|(f, _)| *f == family) {
            path = public_as_only(&path, *rule, self.peer_as, local_as);
        }
        match self.fake_as {
            None => path.prepend(local_as, 1),
            Some(f) if f.prepend_global_as => path.prepend(local_as, 1).prepend(f.asn, 1),
            Some(f) => path.prepend(f.asn, 1),
        }
    }
}

/// A peer's inbound AS rules in one family (the route engine's import chain).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct AsIn {
    /// `allow-as-loop N`: repetitions of the local (or fake) AS accepted.
    pub allow_as_loop: u8,
    /// `fake-as F`: F counts for loop detection too.
    pub fake_as: Option<u32>,
    /// `fake-as F prepend-fake-as`: F prepended to received paths.
    pub prepend_fake_as: bool,
}

impl AsIn {
    /// True when a path from an EBGP peer is a loop: the local AS, or the fake AS, appears
    /// more than `allow_as_loop` times.
    pub fn looped(&self, path: &AsPath<'_>, local_as: u32) -> bool {
        let n = usize::from(self.allow_as_loop);
        path.count(local_as) > n || self.fake_as.is_some_and(|f| path.count(f) > n)
    }
}

/// `substitute-as`: every `peer_as` in the path becomes `local_as` (confederation segments
/// are left alone).
pub fn substitute(path: &AsPath<'_>, peer_as: u32, local_as: u32) -> AsPath<'static> {
    if !path.contains(peer_as) {
        return path.clone().into_owned();
    }
    let mut segs = path.to_segments();
    for (kind, asns) in &mut segs {
        if kind.is_confed() {
            continue;
        }
        for a in asns.iter_mut() {
            if *a == peer_as {
                *a = local_as;
            }
        }
    }
    path.with_segments(&segs)
}

/// `public-as-only` in its forms (VRP's command reference).
pub fn public_as_only(
    path: &AsPath<'_>,
    rule: PublicAsOnly,
    peer_as: u32,
    local_as: u32,
) -> AsPath<'static> {
    let mut segs = path.to_segments();
    let touch = |a: u32| is_private(a) && (rule.include_peer_as || a != peer_as);
    match rule.mode {
        PrivateMode::Basic => {
            let all: Vec<u32> = segs
                .iter()
                .filter(|(k, _)| !k.is_confed())
                .flat_map(|(_, v)| v.iter().copied())
                .collect();
            let only_private = !all.is_empty() && all.iter().all(|&a| is_private(a));
            if !only_private || (!rule.include_peer_as && all.contains(&peer_as)) {
                return path.clone().into_owned();
            }
            for (kind, asns) in &mut segs {
                if !kind.is_confed() {
                    edit(asns, rule.replace, local_as, |_| true);
                }
            }
        }
        PrivateMode::Force => {
            for (kind, asns) in &mut segs {
                if !kind.is_confed() {
                    edit(asns, rule.replace, local_as, touch);
                }
            }
        }
        PrivateMode::Limited => {
            // From the left, up to (not including) the first public or local AS.
            let mut stop = false;
            for (kind, asns) in &mut segs {
                if stop {
                    break;
                }
                if kind.is_confed() {
                    continue;
                }
                let mut out = Vec::with_capacity(asns.len());
                for &a in asns.iter() {
                    if stop || a == local_as || !is_private(a) {
                        stop = true;
                        out.push(a);
                    } else if touch(a) {
                        if rule.replace {
                            out.push(local_as);
                        }
                    } else {
                        out.push(a);
                    }
                }
                *asns = out;
            }
        }
    }
    path.with_segments(&segs)
}

/// Removes (or, with `replace`, replaces by `local_as`) the AS numbers `touch` selects.
fn edit(asns: &mut Vec<u32>, replace: bool, local_as: u32, touch: impl Fn(u32) -> bool) {
    if replace {
        for a in asns.iter_mut() {
            if touch(*a) {
                *a = local_as;
            }
        }
    } else {
        asns.retain(|&a| !touch(a));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_wire::attr::SegmentType;

    fn kinds(path: &AsPath<'_>) -> Vec<SegmentType> {
        path.segments().map(|s| s.kind).collect()
    }

    fn p(asns: &[u32]) -> AsPath<'static> {
        AsPath::sequence(asns, true)
    }
    fn v(path: &AsPath<'_>) -> Vec<u32> {
        path.asns().collect()
    }
    const LOCAL: u32 = 100;

    fn rule(mode: PrivateMode, replace: bool, include_peer_as: bool) -> PublicAsOnly {
        PublicAsOnly {
            mode,
            replace,
            include_peer_as,
        }
    }

    #[test]
    fn loop_detection_counts_repetitions() {
        let r = AsIn::default();
        assert!(!r.looped(&p(&[200, 300]), LOCAL));
        assert!(r.looped(&p(&[200, 100]), LOCAL));
        let r = AsIn {
            allow_as_loop: 1,
            ..AsIn::default()
        };
        assert!(!r.looped(&p(&[200, 100]), LOCAL));
        assert!(r.looped(&p(&[100, 200, 100]), LOCAL));
        let r = AsIn {
            allow_as_loop: 0,
            fake_as: Some(65001),
            prepend_fake_as: false,
        };
        assert!(r.looped(&p(&[200, 65001]), LOCAL), "the fake AS counts");
    }

    #[test]
    fn substitute_replaces_the_peer_as_everywhere() {
        assert_eq!(
            v(&substitute(&p(&[65001, 200, 65001]), 65001, LOCAL)),
            [100, 200, 100]
        );
        assert_eq!(v(&substitute(&p(&[200]), 65001, LOCAL)), [200]);
        let set = AsPath::from_segments(
            [
                (SegmentType::Sequence, &[300u32][..]),
                (SegmentType::Set, &[65001, 400][..]),
            ],
            true,
        );
        let out = substitute(&set, 65001, LOCAL);
        assert_eq!(v(&out), [300, 100, 400]);
        assert_eq!(kinds(&out), [SegmentType::Sequence, SegmentType::Set]);
    }

    #[test]
    fn basic_removes_only_all_private_paths_without_the_peer_as() {
        let basic = rule(PrivateMode::Basic, false, false);
        assert!(v(&public_as_only(&p(&[65001, 65002]), basic, 200, LOCAL)).is_empty());
        assert_eq!(
            v(&public_as_only(&p(&[65001, 300]), basic, 200, LOCAL)),
            [65001, 300],
            "public and private: kept"
        );
        assert_eq!(
            v(&public_as_only(&p(&[65001, 65002]), basic, 65002, LOCAL)),
            [65001, 65002],
            "the peer's AS: kept"
        );
        let replace = rule(PrivateMode::Basic, true, false);
        assert_eq!(
            v(&public_as_only(&p(&[65001, 65002]), replace, 200, LOCAL)),
            [100, 100]
        );
    }

    #[test]
    fn force_forms() {
        let path = p(&[65001, 300, 65002, 65003]);
        let peer = 65003;
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Force, false, false),
                peer,
                LOCAL
            )),
            [300, 65003]
        );
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Force, true, false),
                peer,
                LOCAL
            )),
            [100, 300, 100, 65003]
        );
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Force, false, true),
                peer,
                LOCAL
            )),
            [300]
        );
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Force, true, true),
                peer,
                LOCAL
            )),
            [100, 300, 100, 100]
        );
    }

    #[test]
    fn limited_stops_at_the_first_public_or_local_as() {
        let path = p(&[65001, 65002, 300, 65003]);
        let peer = 200;
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Limited, false, false),
                peer,
                LOCAL
            )),
            [300, 65003]
        );
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Limited, true, false),
                peer,
                LOCAL
            )),
            [100, 100, 300, 65003]
        );
        let path = p(&[65001, LOCAL, 65002]);
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Limited, false, false),
                peer,
                LOCAL
            )),
            [100, 65002],
            "the local AS stops it"
        );
        // The peer's private AS is kept unless include-peer-as.
        let path = p(&[65001, 65005, 65002, 300]);
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Limited, false, false),
                65005,
                LOCAL
            )),
            [65005, 300]
        );
        assert_eq!(
            v(&public_as_only(
                &path,
                rule(PrivateMode::Limited, false, true),
                65005,
                LOCAL
            )),
            [300]
        );
    }

    #[test]
    fn export_order_and_fake_as() {
        let family = Family::IPV4_UNICAST;
        let mut out = AsOut {
            substitute_as: vec![family],
            peer_as: 65001,
            ..AsOut::default()
        };
        assert_eq!(v(&out.export(family, &p(&[65001]), LOCAL)), [100, 100]);
        assert_eq!(
            v(&out.export(Family::VPNV4, &p(&[65001]), LOCAL)),
            [100, 65001],
            "another family: not substituted"
        );
        out.fake_as = Some(FakeAs {
            asn: 300,
            prepend_global_as: false,
        });
        assert_eq!(v(&out.export(family, &p(&[200]), LOCAL)), [300, 200]);
        out.fake_as = Some(FakeAs {
            asn: 300,
            prepend_global_as: true,
        });
        assert_eq!(v(&out.export(family, &p(&[200]), LOCAL)), [300, 100, 200]);
        // Private AS numbers go before the local AS is added (a private local AS stays).
        let out = AsOut {
            public_as_only: vec![(family, rule(PrivateMode::Force, false, true))],
            peer_as: 200,
            ..AsOut::default()
        };
        assert_eq!(
            v(&out.export(family, &p(&[65001, 300]), 65100)),
            [65100, 300]
        );
    }
}
