//! Property-based round-trip tests for the tern-wire codec.
//!
//! - messages: OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH go through
//!   encode -> frame -> `Message::decode` -> encode with identical bytes and equal values;
//! - capabilities: every variant round trips on its own;
//! - path attributes: every attribute type, with and without Extended Length, goes through
//!   `PathAttribute::encode` -> `Update::parse` -> `ParsedUpdate::encode_body`;
//! - NLRI: every known family, with and without ADD-PATH, in reach and withdraw form;
//! - `UpdateBuilder`: packing respects the size limit, each message parses cleanly, and the
//!   routes and attributes come back;
//! - robustness: decoders never panic on arbitrary or mutated bytes, and what they accept
//!   re-encodes to something that decodes to the same value.

use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest::test_runner::TestCaseError;
use tern_types::{
    Afi, ExtCommunity, Family, IpNet, Ipv4Net, Ipv6Net, LabelStack, RouteDistinguisher, Safi,
};
use tern_wire::attr::{
    Action, Aggregator, AsPath, AttrValue, ClusterList, Communities, ExtCommunities,
    LargeCommunities, MpReach, MpUnreach, Origin, PathAttribute, SegmentType, expected_flags, flag,
    type_code,
};
use tern_wire::capability::{AddPathMode, Capability, ExtNextHop, GrFamily};
use tern_wire::message::{HEADER_LEN, MARKER, MAX_EXTENDED_LEN, MAX_LEN, msg_type};
use tern_wire::nlri::{self, NlriError};
use tern_wire::notification::update_sub;
use tern_wire::open::{Open, OptParam, PARAM_CAPABILITIES};
use tern_wire::route_refresh::{RefreshSubtype, RouteRefresh};
use tern_wire::{
    AddPathSet, Ctx, Message, NextHop, Nlri, NlriIter, Notification, Update, UpdateBuilder, frame,
    frames,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Type codes the codec decodes into a specific `AttrValue`.
const KNOWN_ATTRS: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32];
/// Capability codes the codec decodes into a specific `Capability`.
const KNOWN_CAPS: [u8; 9] = [1, 2, 5, 6, 64, 65, 69, 70, 73];

/// Turns any error into a test failure.
fn ok<T, E: Debug>(r: Result<T, E>) -> Result<T, TestCaseError> {
    r.map_err(|e| TestCaseError::fail(format!("unexpected error: {e:?}")))
}

/// An UPDATE body from its three fields.
fn update_body(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    b
}

fn encode_attr(a: &PathAttribute<'_>) -> Result<Vec<u8>, TestCaseError> {
    let mut v = Vec::new();
    ok(a.encode(&mut v))?;
    Ok(v)
}

fn encode_nlris(routes: &[Nlri], family: Family, add_path: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for r in routes {
        r.encode(family, add_path, &mut v).unwrap();
    }
    v
}

/// The prefix as the wire carries it: octets past the prefix length's last octet are dropped
/// (host bits inside the last octet are kept, as the codec keeps the address as received).
fn octet_trunc(p: IpNet) -> IpNet {
    let n = usize::from(p.prefix_len()).div_ceil(8);
    match p {
        IpNet::V4(p) => {
            let mut o = p.addr().octets();
            o[n..].fill(0);
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(o), p.prefix_len()).unwrap())
        }
        IpNet::V6(p) => {
            let mut o = p.addr().octets();
            o[n..].fill(0);
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(o), p.prefix_len()).unwrap())
        }
    }
}

/// What an NLRI decodes to after encoding: octet-truncated prefix, and the 0x800000 marker
/// for a labeled withdrawal written without labels.
fn decoded_form(n: &Nlri, family: Family) -> Nlri {
    let mut e = *n;
    e.prefix = octet_trunc(n.prefix);
    if family.has_labels() && n.labels.is_empty() {
        e.labels = LabelStack::withdraw_marker();
    }
    e
}

/// The attribute as it decodes after `PathAttribute::encode`: flags are the ones written
/// (Extended Length forced on for long values).
fn as_decoded(a: &PathAttribute<'static>) -> Result<PathAttribute<'static>, TestCaseError> {
    let enc = encode_attr(a)?;
    Ok(PathAttribute {
        flags: enc[0],
        value: a.value.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn known_family() -> BoxedStrategy<Family> {
    select(Family::KNOWN.to_vec()).boxed()
}

fn any_family() -> BoxedStrategy<Family> {
    prop_oneof![
        2 => known_family(),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family::new(Afi(a), Safi(s))),
    ]
    .boxed()
}

fn add_path_set() -> BoxedStrategy<AddPathSet> {
    vec(any::<bool>(), Family::KNOWN.len())
        .prop_map(|bits| {
            let fams: Vec<Family> = Family::KNOWN
                .iter()
                .zip(bits)
                .filter(|(_, b)| *b)
                .map(|(f, _)| *f)
                .collect();
            AddPathSet::of(&fams)
        })
        .boxed()
}

/// A receiving context: IBGP, random 4-octet AS, ADD-PATH set and Extended Message.
fn ctx() -> BoxedStrategy<Ctx> {
    (any::<bool>(), add_path_set(), any::<bool>())
        .prop_map(|(four_octet_as, add_path, extended_message)| Ctx {
            four_octet_as,
            add_path,
            ebgp: false,
            extended_message,
        })
        .boxed()
}

fn ipv4() -> BoxedStrategy<Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from).boxed()
}

fn ipv6() -> BoxedStrategy<Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from).boxed()
}

/// Route distinguishers of types 0, 1 and 2, and raw 8 octets.
fn rd() -> BoxedStrategy<RouteDistinguisher> {
    prop_oneof![
        (any::<u16>(), any::<u32>()).prop_map(|(a, n)| RouteDistinguisher::type0(a, n)),
        (ipv4(), any::<u16>()).prop_map(|(a, n)| RouteDistinguisher::type1(a, n)),
        (any::<u32>(), any::<u16>()).prop_map(|(a, n)| RouteDistinguisher::type2(a, n)),
        any::<[u8; 8]>().prop_map(RouteDistinguisher),
    ]
    .boxed()
}

/// `n` raw label entries (random label and traffic class), bottom-of-stack on the last only.
/// In a withdrawal an entry that reads as the withdraw marker (0x800000 or 0x000000) ends the
/// stack, so such entries are kept off non-bottom positions there.
fn label_stack(n: usize, withdraw: bool) -> BoxedStrategy<LabelStack> {
    vec(any::<[u8; 3]>(), n)
        .prop_map(move |entries| {
            let mut s = LabelStack::new();
            let len = entries.len();
            for (i, mut e) in entries.into_iter().enumerate() {
                if i + 1 == len {
                    e[2] |= 1;
                } else {
                    e[2] &= !1;
                    if withdraw && (e == LabelStack::WITHDRAW || e == [0, 0, 0]) {
                        e[1] |= 0x10;
                    }
                }
                assert!(s.push_raw(e));
            }
            s
        })
        .boxed()
}

/// A prefix of up to `max_len` bits; host bits zeroed when `trunc`.
fn prefix(v6: bool, max_len: u8, trunc: bool) -> BoxedStrategy<IpNet> {
    if v6 {
        (ipv6(), 0..=max_len)
            .prop_map(move |(a, l)| {
                let p = Ipv6Net::new(a, l).unwrap();
                IpNet::V6(if trunc { p.trunc() } else { p })
            })
            .boxed()
    } else {
        (ipv4(), 0..=max_len)
            .prop_map(move |(a, l)| {
                let p = Ipv4Net::new(a, l).unwrap();
                IpNet::V4(if trunc { p.trunc() } else { p })
            })
            .boxed()
    }
}

/// An NLRI of a known `family` in the shape the codec produces for it: path id iff ADD-PATH,
/// RD iff VPN, labels iff labeled (at least one in a reach; none means the withdraw marker),
/// and a prefix short enough for the 1-octet length (in bits) to hold the whole NLRI.
fn nlri(family: Family, add_path: bool, withdraw: bool, trunc: bool) -> BoxedStrategy<Nlri> {
    let counts = if !family.has_labels() {
        0..=0usize
    } else if withdraw {
        0..=4
    } else {
        1..=4
    };
    counts
        .prop_flat_map(move |n| {
            let label_bits = 24 * n.max(usize::from(family.has_labels()));
            let rd_bits = if family.has_rd() { 64 } else { 0 };
            let fam_max = if family.is_ipv6() { 128 } else { 32 };
            let max = u8::try_from(fam_max.min(255 - label_bits - rd_bits)).unwrap();
            (
                label_stack(n, withdraw),
                rd(),
                any::<u32>(),
                prefix(family.is_ipv6(), max, trunc),
            )
        })
        .prop_map(move |(labels, rd, id, prefix)| Nlri {
            path_id: add_path.then_some(id),
            rd: family.has_rd().then_some(rd),
            labels,
            prefix,
        })
        .boxed()
}

/// Every next-hop form the codec decodes for `family` (Other for unknown families).
fn next_hop(family: Family) -> BoxedStrategy<NextHop> {
    if !family.is_known() {
        return vec(any::<u8>(), 0..40).prop_map(NextHop::Other).boxed();
    }
    prop_oneof![
        ipv4().prop_map(NextHop::Ipv4),
        ipv6().prop_map(|global| NextHop::Ipv6 {
            global,
            link_local: None
        }),
        ipv4().prop_map(NextHop::ipv4_mapped),
        (ipv6(), ipv6()).prop_map(|(global, ll)| NextHop::Ipv6 {
            global,
            link_local: Some(ll)
        }),
    ]
    .boxed()
}

fn asn(four: bool) -> BoxedStrategy<u32> {
    if four {
        any::<u32>().boxed()
    } else {
        any::<u16>().prop_map(u32::from).boxed()
    }
}

/// An AS path of `four`-octet width; confederation segments only when `confed`. Segments
/// sometimes exceed 255 ASNs (split on building) and the value 255 octets (Extended Length).
fn as_path(four: bool, confed: bool) -> BoxedStrategy<AsPath<'static>> {
    let kinds = if confed {
        vec![
            SegmentType::Set,
            SegmentType::Sequence,
            SegmentType::ConfedSequence,
            SegmentType::ConfedSet,
        ]
    } else {
        vec![SegmentType::Set, SegmentType::Sequence]
    };
    let asns = prop_oneof![
        8 => vec(asn(four), 1..20),
        1 => vec(asn(four), 250..300),
    ];
    vec((select(kinds), asns), 0..5)
        .prop_map(move |segs| {
            AsPath::from_segments(segs.iter().map(|(k, v)| (*k, v.as_slice())), four)
        })
        .boxed()
}

fn mp_reach(ctx: Ctx) -> BoxedStrategy<AttrValue<'static>> {
    any_family()
        .prop_flat_map(move |family| {
            let add_path = ctx.add_path.contains(family);
            let nlri_bytes = if family.is_known() {
                vec(nlri(family, add_path, false, false), 0..12)
                    .prop_map(move |r| encode_nlris(&r, family, add_path))
                    .boxed()
            } else {
                vec(any::<u8>(), 0..40).boxed()
            };
            (
                Just(family),
                next_hop(family),
                nlri_bytes,
                any::<u8>(),
                Just(add_path),
            )
        })
        .prop_map(|(family, nh, nlri, reserved, add_path)| {
            let mut m = MpReach::new(family, nh, nlri, add_path);
            m.reserved = reserved;
            AttrValue::MpReach(m)
        })
        .boxed()
}

fn mp_unreach(ctx: Ctx) -> BoxedStrategy<AttrValue<'static>> {
    any_family()
        .prop_flat_map(move |family| {
            let add_path = ctx.add_path.contains(family);
            let bytes = if family.is_known() {
                vec(nlri(family, add_path, true, false), 0..12)
                    .prop_map(move |r| encode_nlris(&r, family, add_path))
                    .boxed()
            } else {
                vec(any::<u8>(), 0..40).boxed()
            };
            (Just(family), bytes, Just(add_path))
        })
        .prop_map(|(family, w, add_path)| AttrValue::MpUnreach(MpUnreach::new(family, w, add_path)))
        .boxed()
}

fn unknown_attr_code() -> BoxedStrategy<u8> {
    any::<u8>()
        .prop_filter("unknown attribute type", |t| !KNOWN_ATTRS.contains(t))
        .boxed()
}

/// (Optional/Transitive flags, value) for every attribute type; the MP attributes and
/// NEXT_HOP only when `with_mp_nh` (the builder adds those itself).
fn attr_base(ctx: Ctx, with_mp_nh: bool) -> BoxedStrategy<(u8, AttrValue<'static>)> {
    let four = ctx.four_octet_as;
    let known = |s: BoxedStrategy<AttrValue<'static>>| {
        s.prop_map(|v| (expected_flags(v.type_code()).unwrap(), v))
            .boxed()
    };
    let mut arms: Vec<BoxedStrategy<(u8, AttrValue<'static>)>> = vec![
        known(
            select(vec![Origin::Igp, Origin::Egp, Origin::Incomplete])
                .prop_map(AttrValue::Origin)
                .boxed(),
        ),
        known(as_path(four, true).prop_map(AttrValue::AsPath).boxed()),
        known(any::<u32>().prop_map(AttrValue::Med).boxed()),
        known(any::<u32>().prop_map(AttrValue::LocalPref).boxed()),
        known(Just(AttrValue::AtomicAggregate).boxed()),
        known(
            (asn(four), ipv4())
                .prop_map(move |(asn, addr)| {
                    AttrValue::Aggregator(Aggregator {
                        asn,
                        addr,
                        four_octet: four,
                    })
                })
                .boxed(),
        ),
        known(
            (any::<u32>(), ipv4())
                .prop_map(|(asn, addr)| {
                    AttrValue::As4Aggregator(Aggregator {
                        asn,
                        addr,
                        four_octet: true,
                    })
                })
                .boxed(),
        ),
        known(
            vec(any::<u32>(), 0..80)
                .prop_map(|c| AttrValue::Communities(Communities::from_items(c)))
                .boxed(),
        ),
        known(ipv4().prop_map(AttrValue::OriginatorId).boxed()),
        known(
            vec(ipv4(), 0..80)
                .prop_map(|c| AttrValue::ClusterList(ClusterList::from_items(c)))
                .boxed(),
        ),
        known(
            vec(any::<[u8; 8]>().prop_map(ExtCommunity), 0..40)
                .prop_map(|c| AttrValue::ExtCommunities(ExtCommunities::from_items(c)))
                .boxed(),
        ),
        known(
            vec(any::<(u32, u32, u32)>(), 0..30)
                .prop_map(|c| AttrValue::LargeCommunities(LargeCommunities::from_items(c)))
                .boxed(),
        ),
        known(as_path(true, false).prop_map(AttrValue::As4Path).boxed()),
        (
            unknown_attr_code(),
            any::<bool>(),
            prop_oneof![4 => vec(any::<u8>(), 0..40), 1 => vec(any::<u8>(), 200..400)],
        )
            .prop_map(|(tc, transitive, data)| {
                let f = if transitive {
                    flag::OPTIONAL | flag::TRANSITIVE
                } else {
                    flag::OPTIONAL
                };
                (
                    f,
                    AttrValue::Unknown {
                        type_code: tc,
                        data: data.into(),
                    },
                )
            })
            .boxed(),
    ];
    if with_mp_nh {
        arms.push(known(ipv4().prop_map(AttrValue::NextHop).boxed()));
        arms.push(known(mp_reach(ctx)));
        arms.push(known(mp_unreach(ctx)));
    }
    Union::new(arms).boxed()
}

/// An attribute with its type's flags, the Partial bit sometimes on optional transitive
/// ones, and the Extended Length bit at random.
fn attribute(ctx: Ctx, with_mp_nh: bool) -> BoxedStrategy<PathAttribute<'static>> {
    (attr_base(ctx, with_mp_nh), any::<bool>(), any::<bool>())
        .prop_map(|((base, value), partial, ext)| {
            let mut flags = base;
            if partial && base == flag::OPTIONAL | flag::TRANSITIVE {
                flags |= flag::PARTIAL;
            }
            if ext {
                flags |= flag::EXTENDED_LENGTH;
            }
            PathAttribute { flags, value }
        })
        .boxed()
}

/// Attributes with distinct type codes.
fn dedup_attrs(attrs: Vec<PathAttribute<'static>>) -> Vec<PathAttribute<'static>> {
    let mut seen = [false; 256];
    attrs
        .into_iter()
        .filter(|a| !std::mem::replace(&mut seen[usize::from(a.type_code())], true))
        .collect()
}

fn unknown_cap_code() -> BoxedStrategy<u8> {
    any::<u8>()
        .prop_filter("unknown capability", |c| !KNOWN_CAPS.contains(c))
        .boxed()
}

fn capability() -> BoxedStrategy<Capability> {
    let gr_family =
        (any_family(), any::<u8>()).prop_map(|(family, flags)| GrFamily { family, flags });
    let ext_nh = (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(a, s, n)| ExtNextHop {
        afi: Afi(a),
        safi: s,
        nh_afi: Afi(n),
    });
    Union::new(vec![
        any_family().prop_map(Capability::Multiprotocol).boxed(),
        Just(Capability::RouteRefresh).boxed(),
        Just(Capability::EnhancedRouteRefresh).boxed(),
        Just(Capability::ExtendedMessage).boxed(),
        any::<u32>().prop_map(Capability::FourOctetAs).boxed(),
        vec((any_family(), any::<u8>().prop_map(AddPathMode)), 0..6)
            .prop_map(Capability::AddPath)
            .boxed(),
        (0u8..16, 0u16..4096, vec(gr_family, 0..6))
            .prop_map(|(flags, time, families)| Capability::GracefulRestart {
                flags,
                time,
                families,
            })
            .boxed(),
        vec(ext_nh, 0..6)
            .prop_map(Capability::ExtendedNextHop)
            .boxed(),
        (vec(any::<u8>(), 0..20), vec(any::<u8>(), 0..20))
            .prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain })
            .boxed(),
        (unknown_cap_code(), vec(any::<u8>(), 0..20))
            .prop_map(|(code, data)| Capability::Unknown { code, data })
            .boxed(),
    ])
    .boxed()
}

/// Capabilities grouped into parameters: one each, all in one, or in random groups; other
/// parameter types mixed in. Without extended parameters, trailing parameters are dropped
/// until the 1-octet lengths fit.
fn open() -> BoxedStrategy<Open> {
    let other = (
        any::<u8>().prop_filter("not capabilities/extended", |k| {
            *k != PARAM_CAPABILITIES && *k != 255
        }),
        vec(any::<u8>(), 0..20),
    )
        .prop_map(|(kind, data)| OptParam::Other { kind, data });
    (
        any::<u16>(),
        any::<u16>(),
        ipv4(),
        vec(capability(), 0..12),
        0u8..3,
        vec(1usize..4, 12),
        vec((0usize..13, other), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(my_as, hold_time, bgp_id, caps, grouping, sizes, others, extended_params)| {
                let mut params: Vec<OptParam> = match grouping {
                    0 => caps
                        .into_iter()
                        .map(|c| OptParam::Capabilities(vec![c]))
                        .collect(),
                    1 => vec![OptParam::Capabilities(caps)],
                    _ => {
                        let mut v = Vec::new();
                        let mut rest = caps.as_slice();
                        for s in sizes {
                            if rest.is_empty() {
                                break;
                            }
                            let (g, r) = rest.split_at(s.min(rest.len()));
                            v.push(OptParam::Capabilities(g.to_vec()));
                            rest = r;
                        }
                        v
                    }
                };
                for (at, p) in others {
                    params.insert(at.min(params.len()), p);
                }
                let mut o = Open {
                    version: 4,
                    my_as,
                    hold_time,
                    bgp_id,
                    params,
                    extended_params,
                };
                while o.encode_body(&mut Vec::new()).is_err() {
                    o.params.pop();
                }
                o
            },
        )
        .boxed()
}

fn route_refresh() -> BoxedStrategy<RouteRefresh> {
    (
        any_family(),
        prop_oneof![
            Just(RefreshSubtype::Request),
            Just(RefreshSubtype::BeginningOfRefresh),
            Just(RefreshSubtype::EndOfRefresh),
            (3u8..=255).prop_map(RefreshSubtype::Reserved),
        ],
    )
        .prop_map(|(family, subtype)| RouteRefresh { family, subtype })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// encode -> frame -> decode -> encode: same bytes, same value; every strict prefix of the
/// message asks for more bytes.
fn check_message(msg: &Message<'_>, max_len: usize) -> Result<(), TestCaseError> {
    let bytes = ok(msg.to_bytes())?;
    prop_assert_eq!(&bytes[..16], &MARKER[..]);
    prop_assert_eq!(
        usize::from(u16::from_be_bytes([bytes[16], bytes[17]])),
        bytes.len()
    );
    prop_assert_eq!(bytes[18], msg.kind());
    let f = ok(frame(&bytes, max_len))?;
    let f = f.ok_or_else(|| TestCaseError::fail("frame wants more bytes"))?;
    prop_assert_eq!(f.kind, msg.kind());
    prop_assert_eq!(f.bytes, &bytes[..]);
    prop_assert_eq!(f.body, &bytes[HEADER_LEN..]);
    let back = ok(Message::decode(f))?;
    prop_assert_eq!(&back, msg);
    prop_assert_eq!(ok(back.to_bytes())?, bytes.clone());
    for k in 0..bytes.len() {
        prop_assert_eq!(ok(frame(&bytes[..k], max_len))?, None);
    }
    // Trailing bytes of a following message are not part of the frame.
    let mut two = bytes.clone();
    two.extend_from_slice(&bytes);
    let f2 = ok(frame(&two, max_len))?.unwrap();
    prop_assert_eq!(f2.bytes, &bytes[..]);
    Ok(())
}

fn check_capability(cap: &Capability) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    ok(cap.encode(&mut out))?;
    prop_assert_eq!(out[0], cap.code());
    prop_assert_eq!(usize::from(out[1]), out.len() - 2);
    let back = ok(Capability::decode(out[0], &out[2..]))?;
    prop_assert_eq!(&back, cap);
    let mut again = Vec::new();
    ok(back.encode(&mut again))?;
    prop_assert_eq!(again, out);
    Ok(())
}

/// One attribute alone in an UPDATE: parses back to itself (with the flags written) and the
/// body re-encodes identically. The only problems allowed are ORIGIN/AS_PATH missing, when the
/// attribute is an MP_REACH_NLRI with routes.
fn check_single_attr(ctx: &Ctx, attr: &PathAttribute<'static>) -> Result<(), TestCaseError> {
    let enc = encode_attr(attr)?;
    let ext = enc[0] & flag::EXTENDED_LENGTH != 0;
    let hdr = if ext { 4 } else { 3 };
    let vlen = enc.len() - hdr;
    prop_assert_eq!(
        enc[0] & !flag::EXTENDED_LENGTH,
        attr.flags & !flag::EXTENDED_LENGTH
    );
    prop_assert_eq!(
        ext,
        attr.flags & flag::EXTENDED_LENGTH != 0 || vlen > 255,
        "Extended Length bit"
    );
    prop_assert_eq!(enc[1], attr.type_code());
    let len_field = if ext {
        usize::from(u16::from_be_bytes([enc[2], enc[3]]))
    } else {
        usize::from(enc[2])
    };
    prop_assert_eq!(len_field, vlen);

    let body = update_body(&[], &enc, &[]);
    let upd = ok(Update::decode(&body))?;
    let parsed = upd.parse(ctx);
    let expected = PathAttribute {
        flags: enc[0],
        value: attr.value.clone(),
    };
    prop_assert_eq!(parsed.attrs.as_slice(), std::slice::from_ref(&expected));
    for p in &parsed.problems {
        let mp_with_routes = matches!(&attr.value, AttrValue::MpReach(m) if !m.nlri.is_empty());
        prop_assert!(
            mp_with_routes
                && p.action == Action::TreatAsWithdraw
                && p.notification.subcode == update_sub::MISSING_WELL_KNOWN,
            "unexpected problem {:?}",
            p
        );
    }
    let mut re = Vec::new();
    ok(parsed.encode_body(&mut re))?;
    prop_assert_eq!(&re, &body);
    Ok(())
}

/// A full UPDATE: IPv4 withdrawn routes and NLRI, and a set of distinct attributes with the
/// mandatory ones present.
#[derive(Clone, Debug)]
struct UpdateCase {
    ctx: Ctx,
    withdrawn: Vec<Nlri>,
    attrs: Vec<PathAttribute<'static>>,
    nlri: Vec<Nlri>,
}

impl UpdateCase {
    fn add_path_v4(&self) -> bool {
        self.ctx.add_path.contains(Family::IPV4_UNICAST)
    }

    fn body(&self) -> Vec<u8> {
        let ap = self.add_path_v4();
        let mut attrs = Vec::new();
        for a in &self.attrs {
            a.encode(&mut attrs).unwrap();
        }
        update_body(
            &encode_nlris(&self.withdrawn, Family::IPV4_UNICAST, ap),
            &attrs,
            &encode_nlris(&self.nlri, Family::IPV4_UNICAST, ap),
        )
    }
}

fn update_case() -> BoxedStrategy<UpdateCase> {
    ctx()
        .prop_flat_map(|ctx| {
            let ap = ctx.add_path.contains(Family::IPV4_UNICAST);
            (
                Just(ctx),
                vec(nlri(Family::IPV4_UNICAST, ap, true, false), 0..8),
                vec(attribute(ctx, true), 0..8),
                vec(nlri(Family::IPV4_UNICAST, ap, false, false), 0..8),
                ipv4(),
            )
        })
        .prop_map(|(ctx, withdrawn, attrs, nlri, nh)| {
            let mut attrs = dedup_attrs(attrs);
            let has = |a: &[PathAttribute<'_>], tc| a.iter().any(|x| x.type_code() == tc);
            if !has(&attrs, type_code::ORIGIN) {
                attrs.push(PathAttribute::new(AttrValue::Origin(Origin::Igp)));
            }
            if !has(&attrs, type_code::AS_PATH) {
                attrs.push(PathAttribute::new(AttrValue::AsPath(AsPath::sequence(
                    &[65000, 1, 2],
                    ctx.four_octet_as,
                ))));
            }
            if !nlri.is_empty() && !has(&attrs, type_code::NEXT_HOP) {
                attrs.push(PathAttribute::new(AttrValue::NextHop(nh)));
            }
            UpdateCase {
                ctx,
                withdrawn,
                attrs,
                nlri,
            }
        })
        .boxed()
}

fn check_update_case(c: &UpdateCase) -> Result<(), TestCaseError> {
    let body = c.body();
    let upd = ok(Update::decode(&body))?;
    let parsed = upd.parse(&c.ctx);
    prop_assert_eq!(parsed.action(), None, "problems: {:?}", parsed.problems);
    let expected: Vec<PathAttribute<'static>> =
        c.attrs.iter().map(as_decoded).collect::<Result<_, _>>()?;
    prop_assert_eq!(parsed.attrs.as_slice(), expected.as_slice());
    let v4 = Family::IPV4_UNICAST;
    let want_w: Vec<Nlri> = c.withdrawn.iter().map(|n| decoded_form(n, v4)).collect();
    let want_n: Vec<Nlri> = c.nlri.iter().map(|n| decoded_form(n, v4)).collect();
    prop_assert_eq!(parsed.ipv4_withdrawn().collect::<Vec<_>>(), want_w.clone());
    prop_assert_eq!(parsed.ipv4_routes().collect::<Vec<_>>(), want_n.clone());
    let mut want_ann: Vec<(Family, Nlri)> = want_n.iter().map(|n| (v4, *n)).collect();
    if let Some(m) = parsed.mp_reach() {
        want_ann.extend(m.routes().map(|n| (m.family, n)));
    }
    prop_assert_eq!(parsed.announced().collect::<Vec<_>>(), want_ann);
    let mut want_wd: Vec<(Family, Nlri)> = want_w.iter().map(|n| (v4, *n)).collect();
    if let Some(m) = parsed.mp_unreach() {
        want_wd.extend(m.routes().map(|n| (m.family, n)));
    }
    prop_assert_eq!(parsed.withdrawn_routes().collect::<Vec<_>>(), want_wd);
    let mut re = Vec::new();
    ok(parsed.encode_body(&mut re))?;
    prop_assert_eq!(&re, &body);
    // The whole message.
    check_message(&Message::Update(upd), MAX_EXTENDED_LEN)?;
    Ok(())
}

/// Parses anything without panicking; what parses re-encodes to a body that parses to the
/// same attributes and fields.
fn check_update_robust(body: &[u8], ctx: &Ctx) -> Result<(), TestCaseError> {
    let Ok(upd) = Update::decode(body) else {
        return Ok(());
    };
    let p = upd.parse(ctx);
    let _ = p.action();
    let _ = p.notification();
    let _ = p.end_of_rib();
    let _ = p.announced().count();
    let _ = p.withdrawn_routes().count();
    for a in &p.attrs {
        if let AttrValue::AsPath(x) | AttrValue::As4Path(x) = &a.value {
            let _ = x.to_string();
            let _ = x.path_len();
        }
    }
    let mut re = Vec::new();
    ok(p.encode_body(&mut re))?;
    // A clean UPDATE re-encodes to the very same bytes, except for the RDs of a VPN next hop
    // (documented as not kept: they are written back as zeros).
    if p.problems.is_empty() && !p.mp_reach().is_some_and(|m| m.family.has_rd()) {
        prop_assert_eq!(re.as_slice(), body);
    }
    let upd2 = ok(Update::decode(&re))?;
    let p2 = upd2.parse(ctx);
    prop_assert_eq!(p2.attrs.as_slice(), p.attrs.as_slice());
    prop_assert_eq!(p2.withdrawn, p.withdrawn);
    prop_assert_eq!(p2.nlri, p.nlri);
    // Nothing new goes wrong on the second pass beyond what the first pass reported.
    prop_assert!(
        p2.action() <= p.action(),
        "{:?} vs {:?}",
        p2.problems,
        p.problems
    );
    Ok(())
}

/// Any bytes as an NLRI field: no panic, `validate` agrees with the iterator, and a valid
/// field re-encodes to the same bytes.
fn check_nlri_robust(
    bytes: &[u8],
    family: Family,
    add_path: bool,
    withdraw: bool,
) -> Result<(), TestCaseError> {
    let items: Vec<Result<Nlri, NlriError>> =
        NlriIter::new(bytes, family, add_path, withdraw).collect();
    let errs = items.iter().filter(|r| r.is_err()).count();
    prop_assert!(errs <= 1);
    prop_assert!(errs == 0 || items.last().unwrap().is_err());
    match nlri::validate(bytes, family, add_path, withdraw) {
        Ok(n) => {
            prop_assert_eq!(errs, 0);
            prop_assert_eq!(n, items.len());
            let routes: Vec<Nlri> = items.into_iter().map(Result::unwrap).collect();
            let mut re = Vec::new();
            for r in &routes {
                ok(r.encode(family, add_path, &mut re))?;
            }
            prop_assert_eq!(re.as_slice(), bytes);
        }
        Err(e) => {
            prop_assert_eq!(items.last(), Some(&Err(e)));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// UpdateBuilder
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct BuildCase {
    ctx: Ctx,
    family: Family,
    next_hop: NextHop,
    attrs: Vec<PathAttribute<'static>>,
    routes: Vec<Nlri>,
    max_len: Option<usize>,
}

impl BuildCase {
    fn builder(&self) -> (UpdateBuilder, usize) {
        let b = UpdateBuilder::new(&self.ctx);
        match self.max_len {
            Some(m) => (b.with_max_len(m), m.clamp(64, MAX_EXTENDED_LEN)),
            None if self.ctx.extended_message => (b, MAX_EXTENDED_LEN),
            None => (b, MAX_LEN),
        }
    }

    fn add_path(&self) -> bool {
        self.ctx.add_path.contains(self.family)
    }
}

fn build_case(withdraw: bool) -> BoxedStrategy<BuildCase> {
    (ctx(), known_family())
        .prop_flat_map(move |(ctx, family)| {
            let ap = ctx.add_path.contains(family);
            (
                Just(ctx),
                Just(family),
                next_hop(family),
                vec(attribute(ctx, false), 0..6),
                prop_oneof![
                    3 => vec(nlri(family, ap, withdraw, false), 0..60),
                    1 => vec(nlri(family, ap, withdraw, false), 100..400),
                ],
                prop_oneof![
                    2 => Just(None),
                    2 => (100usize..=600).prop_map(Some),
                    1 => (0usize..2000).prop_map(Some),
                ],
                any::<bool>(),
            )
        })
        .prop_map(|(ctx, family, next_hop, attrs, routes, max_len, sorted)| {
            let mut attrs = dedup_attrs(attrs);
            let has = |a: &[PathAttribute<'_>], tc| a.iter().any(|x| x.type_code() == tc);
            if !has(&attrs, type_code::ORIGIN) {
                attrs.push(PathAttribute::new(AttrValue::Origin(Origin::Egp)));
            }
            if !has(&attrs, type_code::AS_PATH) {
                attrs.push(PathAttribute::new(AttrValue::AsPath(AsPath::empty(
                    ctx.four_octet_as,
                ))));
            }
            if sorted {
                attrs.sort_by_key(PathAttribute::type_code);
            }
            BuildCase {
                ctx,
                family,
                next_hop,
                attrs,
                routes,
                max_len,
            }
        })
        .boxed()
}

/// Frames, decodes and parses one built message, which must be clean.
fn parse_built<'m>(
    msg: &'m [u8],
    limit: usize,
    ctx: &Ctx,
) -> Result<tern_wire::ParsedUpdate<'m>, TestCaseError> {
    prop_assert!(msg.len() <= limit, "{} > {}", msg.len(), limit);
    let f = ok(frame(msg, limit))?.ok_or_else(|| TestCaseError::fail("short frame"))?;
    prop_assert_eq!(f.bytes.len(), msg.len());
    let Message::Update(u) = ok(Message::decode(f))? else {
        return Err(TestCaseError::fail("not an UPDATE"));
    };
    let p = u.parse(ctx);
    prop_assert_eq!(p.action(), None, "problems: {:?}", p.problems);
    Ok(p)
}

fn check_reach(c: &BuildCase) -> Result<(), TestCaseError> {
    let (b, limit) = c.builder();
    let ap = c.add_path();
    let classic = c.family == Family::IPV4_UNICAST && matches!(c.next_hop, NextHop::Ipv4(_));
    let split = if classic {
        type_code::NEXT_HOP
    } else {
        type_code::MP_REACH_NLRI
    };
    let mut attrs_len = 0;
    for a in &c.attrs {
        attrs_len += encode_attr(a)?.len();
    }
    let nh_attr_len = if classic {
        7
    } else {
        9 + c.next_hop.wire_len(c.family)
    };
    let fixed = HEADER_LEN + 4 + attrs_len + nh_attr_len;
    let fits = fixed <= limit
        && c.routes
            .iter()
            .all(|r| fixed + r.wire_len(c.family, ap) <= limit);

    let mut out = vec![b"sentinel".to_vec()];
    let res = b.reach(c.family, &c.next_hop, &c.attrs, &c.routes, &mut out);
    if !fits {
        prop_assert!(res.is_err(), "fixed {} limit {}", fixed, limit);
        return Ok(());
    }
    let n = ok(res)?;
    prop_assert_eq!(&out[0], b"sentinel");
    let out = &out[1..];
    prop_assert_eq!(n, out.len());
    prop_assert_eq!(n == 0, c.routes.is_empty());

    // Expected attributes: the input (as it decodes), with NEXT_HOP / MP_REACH_NLRI inserted
    // before the first attribute of a higher type code... as the builder splits them.
    let mut decoded: Vec<PathAttribute<'static>> =
        c.attrs.iter().map(as_decoded).collect::<Result<_, _>>()?;
    // The builder writes attributes in type-code order (a stable sort of the input).
    decoded.sort_by_key(|a| a.type_code());
    let (pre, post): (Vec<_>, Vec<_>) = decoded.iter().partition(|a| a.type_code() < split);
    let nh_attr = PathAttribute {
        flags: flag::TRANSITIVE,
        value: AttrValue::NextHop(match c.next_hop {
            NextHop::Ipv4(a) => a,
            _ => Ipv4Addr::UNSPECIFIED,
        }),
    };

    let mut got = Vec::new();
    let mut first_of_next = 0usize;
    for (i, msg) in out.iter().enumerate() {
        let p = parse_built(msg, limit, &c.ctx)?;
        prop_assert_eq!(p.attrs.len(), pre.len() + 1 + post.len());
        for (x, y) in p.attrs.iter().zip(pre.iter()) {
            prop_assert_eq!(x, *y);
        }
        let mid = &p.attrs[pre.len()];
        prop_assert_eq!(mid.type_code(), split);
        if classic {
            prop_assert_eq!(mid, &nh_attr);
        } else {
            prop_assert_eq!(mid.flags, flag::OPTIONAL | flag::EXTENDED_LENGTH);
            let Some(m) = p.mp_reach() else {
                return Err(TestCaseError::fail("no MP_REACH_NLRI"));
            };
            prop_assert_eq!(m.family, c.family);
            prop_assert_eq!(&m.next_hop, &c.next_hop);
            prop_assert_eq!(m.reserved, 0);
            prop_assert_eq!(m.add_path(), ap);
            prop_assert!(p.nlri.is_empty());
        }
        for (x, y) in p.attrs[pre.len() + 1..].iter().zip(post.iter()) {
            prop_assert_eq!(x, *y);
        }
        prop_assert!(
            p.attrs
                .windows(2)
                .all(|w| w[0].type_code() <= w[1].type_code()),
            "attributes out of type-code order"
        );
        let routes: Vec<(Family, Nlri)> = p.announced().collect();
        prop_assert!(!routes.is_empty());
        prop_assert!(p.withdrawn_routes().next().is_none());
        first_of_next += routes.len();
        // Greedy packing: the next message's first route did not fit in this one.
        if i + 1 < out.len() {
            let next = &c.routes[first_of_next];
            prop_assert!(msg.len() + next.wire_len(c.family, ap) > limit);
        }
        got.extend(routes);
    }
    let want: Vec<(Family, Nlri)> = c
        .routes
        .iter()
        .map(|r| (c.family, decoded_form(r, c.family)))
        .collect();
    prop_assert_eq!(got, want);
    Ok(())
}

fn check_withdraw(c: &BuildCase) -> Result<(), TestCaseError> {
    let (b, limit) = c.builder();
    let ap = c.add_path();
    let classic = c.family == Family::IPV4_UNICAST;
    let fixed = HEADER_LEN + 4 + if classic { 0 } else { 7 };
    let fits = fixed <= limit
        && c.routes
            .iter()
            .all(|r| fixed + r.wire_len(c.family, ap) <= limit);
    let mut out = Vec::new();
    let res = b.withdraw(c.family, &c.routes, &mut out);
    if !fits {
        prop_assert!(res.is_err());
        return Ok(());
    }
    let n = ok(res)?;
    prop_assert_eq!(n, out.len());
    prop_assert_eq!(n == 0, c.routes.is_empty());
    let mut got = Vec::new();
    let mut first_of_next = 0usize;
    for (i, msg) in out.iter().enumerate() {
        let p = parse_built(msg, limit, &c.ctx)?;
        if classic {
            prop_assert!(p.attrs.is_empty());
        } else {
            prop_assert_eq!(p.attrs.len(), 1);
            prop_assert_eq!(p.attrs[0].flags, flag::OPTIONAL | flag::EXTENDED_LENGTH);
            let Some(m) = p.mp_unreach() else {
                return Err(TestCaseError::fail("no MP_UNREACH_NLRI"));
            };
            prop_assert_eq!(m.family, c.family);
            prop_assert!(!m.is_end_of_rib());
        }
        prop_assert!(p.announced().next().is_none());
        prop_assert_eq!(p.end_of_rib(), None);
        let routes: Vec<(Family, Nlri)> = p.withdrawn_routes().collect();
        prop_assert!(!routes.is_empty());
        first_of_next += routes.len();
        if i + 1 < out.len() {
            let next = &c.routes[first_of_next];
            prop_assert!(msg.len() + next.wire_len(c.family, ap) > limit);
        }
        got.extend(routes);
    }
    let want: Vec<(Family, Nlri)> = c
        .routes
        .iter()
        .map(|r| (c.family, decoded_form(r, c.family)))
        .collect();
    prop_assert_eq!(got, want);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn capability_round_trip(cap in capability()) {
        check_capability(&cap)?;
    }

    #[test]
    fn open_round_trip(o in open()) {
        let mut body = Vec::new();
        ok(o.encode_body(&mut body))?;
        prop_assert_eq!(&ok(Open::decode(&body))?, &o);
        if o.extended_params {
            prop_assert_eq!(&body[9..10], &[255u8][..]);
            prop_assert_eq!(body[10], 255);
        } else {
            prop_assert_eq!(usize::from(body[9]), body.len() - 10);
        }
        let all: Vec<&Capability> = o.capabilities().collect();
        let want: Vec<&Capability> = o
            .params
            .iter()
            .flat_map(|p| match p {
                OptParam::Capabilities(c) => c.iter().collect::<Vec<_>>(),
                OptParam::Other { .. } => Vec::new(),
            })
            .collect();
        prop_assert_eq!(all, want);
        check_message(&Message::Open(o), MAX_LEN)?;
    }

    #[test]
    fn open_one_capability_per_param(
        asn in any::<u32>(),
        hold in any::<u16>(),
        id in ipv4(),
        caps in vec(capability(), 0..8),
    ) {
        let o = Open::new(asn, hold, id, caps.clone());
        prop_assert_eq!(o.params.len(), caps.len());
        prop_assert_eq!(o.my_as, u16::try_from(asn).unwrap_or(tern_types::AS_TRANS));
        let mut body = Vec::new();
        if o.encode_body(&mut body).is_ok() {
            prop_assert_eq!(&ok(Open::decode(&body))?, &o);
            check_message(&Message::Open(o), MAX_LEN)?;
        }
    }

    #[test]
    fn notification_round_trip(
        code in any::<u8>(),
        subcode in any::<u8>(),
        data in prop_oneof![4 => vec(any::<u8>(), 0..64), 1 => vec(any::<u8>(), 4000..4100)],
    ) {
        let n = Notification::with_data(code, subcode, data.clone());
        let msg = Message::Notification(n);
        let bytes = ok(msg.to_bytes())?;
        if bytes.len() <= MAX_LEN {
            check_message(&msg, MAX_LEN)?;
        } else {
            // Too long without Extended Message: Bad Message Length with the length as data.
            let e = frame(&bytes, MAX_LEN).unwrap_err();
            prop_assert_eq!((e.code, e.subcode), (1, 2));
            prop_assert_eq!(e.data, bytes[16..18].to_vec());
        }
        check_message(&msg, MAX_EXTENDED_LEN)?;
    }

    #[test]
    fn route_refresh_round_trip(rr in route_refresh()) {
        let msg = Message::RouteRefresh(rr);
        let bytes = ok(msg.to_bytes())?;
        prop_assert_eq!(bytes.len(), HEADER_LEN + 4);
        check_message(&msg, MAX_LEN)?;
    }

    #[test]
    fn raw_update_message_round_trip(
        w in vec(any::<u8>(), 0..64),
        a in vec(any::<u8>(), 0..300),
        n in vec(any::<u8>(), 0..64),
    ) {
        let msg = Message::Update(Update { withdrawn: &w, attributes: &a, nlri: &n });
        check_message(&msg, MAX_LEN)?;
    }

    #[test]
    fn message_stream_round_trip(
        o in open(),
        rr in route_refresh(),
        code in any::<u8>(),
        data in vec(any::<u8>(), 0..20),
        order in Just((0u8..5).collect::<Vec<u8>>()).prop_shuffle(),
    ) {
        let upd_body = update_body(&[], &[], &[24, 10, 0, 0]);
        let upd = ok(Update::decode(&upd_body))?;
        let msgs = [
            Message::Open(o),
            Message::Update(upd),
            Message::Notification(Notification::with_data(code, 0, data)),
            Message::Keepalive,
            Message::RouteRefresh(rr),
        ];
        let ordered: Vec<&Message<'_>> = order.iter().map(|&i| &msgs[usize::from(i)]).collect();
        let mut stream = Vec::new();
        for m in &ordered {
            ok(m.encode(&mut stream))?;
        }
        let back: Vec<Message<'_>> = frames(&stream)
            .map(|f| Message::decode(f?))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(back.len(), ordered.len());
        for (x, y) in back.iter().zip(ordered) {
            prop_assert_eq!(x, y);
        }
    }

    #[test]
    fn attribute_round_trip(
        (ctx, attr) in ctx().prop_flat_map(|c| (Just(c), attribute(c, true)))
    ) {
        check_single_attr(&ctx, &attr)?;
    }

    #[test]
    fn as4_path_with_confed_segments_is_discarded(
        path in as_path(true, true).prop_filter("has confed", AsPath::has_confed),
        ext in any::<bool>(),
    ) {
        // RFC 6793 §6 asks for the confederation segments to be dropped; tern drops the
        // whole attribute (the routes are kept either way).
        let a = PathAttribute {
            flags: flag::OPTIONAL | flag::TRANSITIVE | if ext { flag::EXTENDED_LENGTH } else { 0 },
            value: AttrValue::As4Path(path),
        };
        let body = update_body(&[], &encode_attr(&a)?, &[]);
        let p = ok(Update::decode(&body))?.parse(&Ctx::default());
        prop_assert!(p.attrs.is_empty());
        prop_assert_eq!(p.action(), Some(Action::AttributeDiscard));
    }

    #[test]
    fn nlri_round_trip(
        (family, add_path, withdraw, routes) in (known_family(), any::<bool>(), any::<bool>())
            .prop_flat_map(|(f, ap, w)| (Just(f), Just(ap), Just(w), vec(nlri(f, ap, w, false), 0..8)))
    ) {
        let mut bytes = Vec::new();
        for r in &routes {
            let before = bytes.len();
            ok(r.encode(family, add_path, &mut bytes))?;
            prop_assert_eq!(bytes.len() - before, r.wire_len(family, add_path));
        }
        prop_assert_eq!(ok(nlri::validate(&bytes, family, add_path, withdraw))?, routes.len());
        let back: Vec<Nlri> = ok(NlriIter::new(&bytes, family, add_path, withdraw)
            .collect::<Result<Vec<_>, _>>())?;
        let want: Vec<Nlri> = routes.iter().map(|r| decoded_form(r, family)).collect();
        prop_assert_eq!(&back, &want);
        // With the host bits cleared the round trip is exact.
        for (r, b) in routes.iter().zip(&back) {
            if r.prefix == r.prefix.trunc() && !(family.has_labels() && r.labels.is_empty()) {
                prop_assert_eq!(r, b);
            }
        }
        // Re-encoding the decoded routes gives the same bytes.
        let mut again = Vec::new();
        for b in &back {
            ok(b.encode(family, add_path, &mut again))?;
        }
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn nlri_too_long_for_length_octet_is_refused(
        labels in 1usize..=4,
        plen in 0u8..=128,
        id in any::<u32>(),
        rd in rd(),
        addr in ipv6(),
    ) {
        let mut stack = LabelStack::new();
        for i in 0..labels {
            stack.push_label(tern_types::Label(u32::try_from(i).unwrap() + 16), i + 1 == labels);
        }
        let n = Nlri {
            path_id: Some(id),
            rd: Some(rd),
            labels: stack,
            prefix: IpNet::V6(Ipv6Net::new(addr, plen).unwrap().trunc()),
        };
        let bits = usize::from(plen) + 24 * labels + 64;
        let mut out = Vec::new();
        let res = n.encode(Family::VPNV6, true, &mut out);
        prop_assert_eq!(res.is_ok(), bits <= 255);
    }

    #[test]
    fn update_round_trip(c in update_case()) {
        check_update_case(&c)?;
    }

    #[test]
    fn end_of_rib_round_trip(family in any_family(), c in ctx()) {
        let msg = UpdateBuilder::end_of_rib(family);
        let f = ok(frame(&msg, MAX_LEN))?.unwrap();
        prop_assert_eq!(f.bytes.len(), msg.len());
        let Message::Update(u) = ok(Message::decode(f))? else {
            return Err(TestCaseError::fail("not an UPDATE"));
        };
        let p = u.parse(&c);
        prop_assert_eq!(p.action(), None);
        prop_assert_eq!(p.end_of_rib(), Some(family));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn builder_reach(c in build_case(false)) {
        check_reach(&c)?;
    }

    #[test]
    fn builder_withdraw(c in build_case(true)) {
        check_withdraw(&c)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness: arbitrary and mutated input
// ---------------------------------------------------------------------------------------------

fn header_then(kind: u8, body: &[u8], len: Option<u16>) -> Vec<u8> {
    let mut v = MARKER.to_vec();
    let l = len.unwrap_or_else(|| u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(&l.to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

fn check_stream_robust(bytes: &[u8], ctx: &Ctx) -> Result<(), TestCaseError> {
    for max in [MAX_LEN, MAX_EXTENDED_LEN] {
        if let Ok(Some(f)) = frame(bytes, max) {
            prop_assert!(f.bytes.len() <= max && f.bytes.len() >= HEADER_LEN);
            prop_assert_eq!(f.bytes, &bytes[..f.bytes.len()]);
            if let Ok(m) = Message::decode(f) {
                if let Message::Update(u) = &m {
                    let _ = u.parse(ctx).action();
                }
                // A decoded message re-encodes to a message that decodes the same.
                if let Ok(b) = m.to_bytes()
                    && let Ok(Some(f2)) = frame(&b, MAX_EXTENDED_LEN)
                {
                    prop_assert_eq!(&ok(Message::decode(f2))?, &m);
                }
            }
        }
    }
    for f in frames(bytes).flatten() {
        let _ = Message::decode(f);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn update_arbitrary_bytes_never_panic(body in vec(any::<u8>(), 0..400), c in ctx()) {
        check_update_robust(&body, &c)?;
    }

    #[test]
    fn update_with_valid_lengths_never_panics(
        w in vec(any::<u8>(), 0..40),
        attrs in vec((any::<u8>(), select(KNOWN_ATTRS.to_vec()), vec(any::<u8>(), 0..40)), 0..6),
        n in vec(any::<u8>(), 0..40),
        c in ctx(),
    ) {
        // Structurally sound attribute list with random flags and values.
        let mut a = Vec::new();
        for (flags, tc, v) in attrs {
            a.push(flags);
            a.push(tc);
            if flags & flag::EXTENDED_LENGTH != 0 {
                a.extend_from_slice(&u16::try_from(v.len()).unwrap().to_be_bytes());
            } else {
                a.push(u8::try_from(v.len()).unwrap());
            }
            a.extend_from_slice(&v);
        }
        check_update_robust(&update_body(&w, &a, &n), &c)?;
    }

    #[test]
    fn mutated_update_never_panics(
        c in update_case(),
        muts in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut body = c.body();
        for (i, b) in muts {
            let at = i.index(body.len());
            body[at] = b;
        }
        if truncate {
            body.truncate(cut.index(body.len() + 1));
        }
        check_update_robust(&body, &c.ctx)?;
        let msg = header_then(msg_type::UPDATE, &body, None);
        check_stream_robust(&msg, &c.ctx)?;
    }

    #[test]
    fn open_arbitrary_bytes_never_panic(
        body in prop_oneof![
            vec(any::<u8>(), 0..64),
            // A plausible fixed part, then random parameters.
            (vec(any::<u8>(), 0..80), any::<bool>()).prop_map(|(rest, ext)| {
                let mut v = vec![4, 0, 100, 0, 90, 1, 2, 3, 4];
                if ext {
                    v.extend_from_slice(&[255, 255]);
                    v.extend_from_slice(&u16::try_from(rest.len()).unwrap().to_be_bytes());
                } else {
                    v.push(u8::try_from(rest.len()).unwrap());
                }
                v.extend_from_slice(&rest);
                v
            }),
        ],
    ) {
        if let Ok(o) = Open::decode(&body) {
            let _ = o.validate();
            let _ = o.families();
            let _ = o.asn();
            let mut re = Vec::new();
            ok(o.encode_body(&mut re))?;
            prop_assert_eq!(&ok(Open::decode(&re))?, &o);
        }
    }

    #[test]
    fn mutated_open_never_panics(
        o in open(),
        muts in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut body = Vec::new();
        ok(o.encode_body(&mut body))?;
        for (i, b) in muts {
            let at = i.index(body.len());
            body[at] = b;
        }
        if let Ok(o2) = Open::decode(&body) {
            let mut re = Vec::new();
            ok(o2.encode_body(&mut re))?;
            prop_assert_eq!(&ok(Open::decode(&re))?, &o2);
        }
    }

    #[test]
    fn capability_arbitrary_bytes(code in any::<u8>(), value in vec(any::<u8>(), 0..64)) {
        if let Ok(cap) = Capability::decode(code, &value) {
            prop_assert_eq!(cap.code(), code);
            let mut out = Vec::new();
            ok(cap.encode(&mut out))?;
            prop_assert_eq!(&ok(Capability::decode(out[0], &out[2..]))?, &cap);
        }
    }

    #[test]
    fn frame_arbitrary_bytes_never_panic(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..64),
            (any::<u8>(), vec(any::<u8>(), 0..64), prop::option::of(any::<u16>()))
                .prop_map(|(k, b, l)| header_then(k, &b, l)),
            (1u8..=5, vec(any::<u8>(), 0..64), prop::option::of(any::<u16>()))
                .prop_map(|(k, b, l)| header_then(k, &b, l)),
        ],
        c in ctx(),
    ) {
        check_stream_robust(&bytes, &c)?;
    }

    #[test]
    fn nlri_arbitrary_bytes(
        family in known_family(),
        add_path in any::<bool>(),
        withdraw in any::<bool>(),
        bytes in vec(any::<u8>(), 0..64),
    ) {
        check_nlri_robust(&bytes, family, add_path, withdraw)?;
    }

    #[test]
    fn next_hop_arbitrary_bytes(family in any_family(), bytes in vec(any::<u8>(), 0..64)) {
        if let Ok(nh) = NextHop::decode(family, &bytes) {
            prop_assert_eq!(nh.wire_len(family), bytes.len());
            let mut out = Vec::new();
            nh.encode(family, &mut out);
            prop_assert_eq!(out.len(), bytes.len());
            prop_assert_eq!(ok(NextHop::decode(family, &out))?, nh);
        }
    }
}

#[test]
fn keepalive_round_trip() {
    let bytes = Message::Keepalive.to_bytes().unwrap();
    assert_eq!(bytes.len(), HEADER_LEN);
    assert_eq!(bytes[..16], MARKER);
    assert_eq!(bytes[16..], [0, 19, msg_type::KEEPALIVE]);
    for max in [MAX_LEN, MAX_EXTENDED_LEN] {
        let f = frame(&bytes, max).unwrap().unwrap();
        assert_eq!(f.body, &[] as &[u8]);
        let m = Message::decode(f).unwrap();
        assert_eq!(m, Message::Keepalive);
        assert_eq!(m.to_bytes().unwrap(), bytes);
    }
    // A KEEPALIVE with a body is a Bad Message Length.
    let mut long = bytes.clone();
    long.push(0);
    long[17] = 20;
    assert_eq!(frame(&long, MAX_LEN).unwrap_err().subcode, 2);
}
