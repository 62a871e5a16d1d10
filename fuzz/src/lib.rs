//! Shared checks for tern-wire's fuzz targets.
//!
//! Each `check_*` function decodes its input and asserts the invariants that must hold for
//! every input (round trips, consistency between views), so that a fuzz target is a thin
//! wrapper that picks the input shape. A failed assertion is a finding: libFuzzer saves the
//! input under `fuzz/artifacts/<target>/`.

use tern_types::{Afi, Family, IpNet, Safi};
use tern_wire::attr::{
    AsPath, AttrValue, ClusterList, Communities, ExtCommunities, LargeCommunities, MpReach,
    MpUnreach, PathAttribute, flag, type_code,
};
use tern_wire::capability::{Capability, cap_code};
use tern_wire::message::{HEADER_LEN, MARKER, MAX_EXTENDED_LEN, MAX_LEN, msg_type};
use tern_wire::nlri::{self, Nlri, NlriIter};
use tern_wire::notification::code;
use tern_wire::open::Open;
use tern_wire::{
    Action, AddPathSet, Ctx, EncodeError, Frame, Message, NextHop, Notification, ParsedUpdate,
    RouteRefresh, Update, UpdateBuilder, frame, frames,
};

/// Every attribute type code tern-wire decodes, plus two it does not (one optional-looking,
/// one in the reserved/unassigned space) so the unknown path is exercised too.
pub const TYPE_CODES: [u8; 18] = [
    type_code::ORIGIN,
    type_code::AS_PATH,
    type_code::NEXT_HOP,
    type_code::MED,
    type_code::LOCAL_PREF,
    type_code::ATOMIC_AGGREGATE,
    type_code::AGGREGATOR,
    type_code::COMMUNITIES,
    type_code::ORIGINATOR_ID,
    type_code::CLUSTER_LIST,
    type_code::MP_REACH_NLRI,
    type_code::MP_UNREACH_NLRI,
    type_code::EXTENDED_COMMUNITIES,
    type_code::AS4_PATH,
    type_code::AS4_AGGREGATOR,
    type_code::LARGE_COMMUNITY,
    0,
    255,
];

/// A session context from two input octets: bit 0 four-octet AS, bit 1 EBGP, bit 2 Extended
/// Message; the low 6 bits of `add_path` select the [`Family::KNOWN`] families with ADD-PATH.
pub fn ctx_from(flags: u8, add_path: u8) -> Ctx {
    let mut set = AddPathSet::EMPTY;
    for (i, f) in Family::KNOWN.iter().enumerate() {
        if add_path & (1 << i) != 0 {
            set.insert(*f);
        }
    }
    Ctx {
        four_octet_as: flags & 1 != 0,
        ebgp: flags & 2 != 0,
        extended_message: flags & 4 != 0,
        add_path: set,
    }
}

/// The contexts the `update` target parses every input under: 2- and 4-octet AS, ADD-PATH on
/// no family or on all, IBGP and EBGP.
pub fn ctx_variants() -> impl Iterator<Item = Ctx> {
    (0u8..8).map(|i| ctx_from(i & 3, if i & 4 != 0 { 0x3f } else { 0 }))
}

/// A family for a selector octet: the six known families, then two tern keeps opaque.
pub fn family_from(sel: u8) -> Family {
    match Family::KNOWN.get(usize::from(sel % 8)) {
        Some(f) => *f,
        None if sel % 8 == 6 => Family::new(Afi::IPV4, Safi::MULTICAST),
        None => Family::new(Afi(25), Safi(70)),
    }
}

/// Checks one NLRI field of `family`: the iterator and [`nlri::validate`] agree, every decoded
/// NLRI has the shape of its family, and a valid field re-encodes to the same bytes.
/// Returns the NLRI when the field is valid.
pub fn check_nlri_field(bytes: &[u8], family: Family, add_path: bool, withdraw: bool) -> Vec<Nlri> {
    let items: Vec<_> = NlriIter::new(bytes, family, add_path, withdraw).collect();
    let errors = items.iter().filter(|r| r.is_err()).count();
    assert!(errors <= 1, "iterator yielded more than one error");
    if errors == 1 {
        assert!(
            items.last().is_some_and(Result::is_err),
            "iterator continued after an error"
        );
    }
    match nlri::validate(bytes, family, add_path, withdraw) {
        Ok(n) => {
            assert_eq!(errors, 0, "validate accepted a field the iterator rejects");
            assert_eq!(n, items.len());
            let routes: Vec<Nlri> = items.into_iter().filter_map(Result::ok).collect();
            let mut out = Vec::with_capacity(bytes.len());
            for r in &routes {
                check_nlri_shape(r, family, add_path);
                let start = out.len();
                r.encode(family, add_path, &mut out)
                    .expect("a decoded NLRI encodes");
                assert_eq!(
                    out.len() - start,
                    r.wire_len(family, add_path),
                    "wire_len disagrees with encode for {r:?}"
                );
                let _ = r.to_string();
            }
            assert_eq!(
                out, bytes,
                "valid {family} NLRI field did not re-encode identically"
            );
            routes
        }
        Err(e) => {
            assert_eq!(errors, 1, "validate rejected a field the iterator accepts");
            assert_eq!(items.last(), Some(&Err(e)));
            Vec::new()
        }
    }
}

fn check_nlri_shape(r: &Nlri, family: Family, add_path: bool) {
    assert_eq!(r.path_id.is_some(), add_path, "path id presence: {r:?}");
    assert_eq!(r.rd.is_some(), family.has_rd(), "RD presence: {r:?}");
    assert_eq!(!r.labels.is_empty(), family.has_labels(), "labels: {r:?}");
    assert_eq!(
        matches!(r.prefix, IpNet::V6(_)),
        family.is_ipv6(),
        "prefix AFI: {r:?}"
    );
}

/// Encodes `r` alone and decodes it back.
fn nlri_round_trip(r: &Nlri, family: Family, add_path: bool, withdraw: bool) {
    let mut out = Vec::new();
    r.encode(family, add_path, &mut out)
        .expect("a decoded NLRI encodes");
    let back: Vec<_> = NlriIter::new(&out, family, add_path, withdraw).collect();
    assert_eq!(back, vec![Ok(*r)], "NLRI round trip in {family}");
}

/// Checks a next-hop field of `family`: the lengths accepted are exactly the forms in the
/// table of `tern_wire::nexthop`, and encoding gives back the field with its RDs zeroed.
pub fn check_next_hop(family: Family, bytes: &[u8]) {
    let res = NextHop::decode(family, bytes);
    if !family.is_known() {
        assert_eq!(res, Ok(NextHop::Other(bytes.to_vec())));
    } else {
        let valid: &[usize] = if family.has_rd() {
            &[12, 24, 48]
        } else {
            &[4, 16, 32]
        };
        assert_eq!(
            res.is_ok(),
            valid.contains(&bytes.len()),
            "{family} next hop of {} octets: {res:?}",
            bytes.len()
        );
    }
    let Ok(nh) = res else { return };
    assert_eq!(nh.wire_len(family), bytes.len());
    let mut out = Vec::new();
    nh.encode(family, &mut out);
    let mut expect = bytes.to_vec();
    if family.has_rd() {
        // The RDs (at 0 and, in the 48-octet form, at 24) are not kept and encode as zero.
        for at in [0, 24] {
            if let Some(rd) = expect.get_mut(at..at + 8)
                && at < bytes.len()
            {
                rd.fill(0);
            }
        }
    }
    assert_eq!(out, expect, "{family} next hop re-encoding");
    assert_eq!(NextHop::decode(family, &out), Ok(nh.clone()));
    if family.is_known() {
        assert!(nh.addr().is_some());
    }
    let _ = nh.to_string();
}

/// Checks one capability value: a decoded capability encodes back to code, length and the
/// same value (except the Multiprotocol reserved octet, which is not kept) and decodes again
/// to itself.
pub fn check_capability(code: u8, value: &[u8]) {
    let Ok(cap) = Capability::decode(code, value) else {
        return;
    };
    assert_eq!(cap.code(), code);
    let mut out = Vec::new();
    cap.encode(&mut out).expect("a decoded capability encodes");
    let mut expect = vec![code, u8::try_from(value.len()).expect("value <= 255")];
    expect.extend_from_slice(value);
    if code == cap_code::MULTIPROTOCOL
        && let Some(reserved) = expect.get_mut(4)
    {
        *reserved = 0;
    }
    assert_eq!(out, expect, "capability {code} re-encoding");
    assert_eq!(
        Capability::decode(code, out.get(2..).unwrap_or_default()),
        Ok(cap)
    );
}

/// Checks a decoded OPEN: decode(encode(x)) == x, encoding is stable, and the bytes are the
/// received ones when no Multiprotocol capability (whose reserved octet is dropped) is present.
pub fn check_open(open: &Open, body: Option<&[u8]>) {
    let mut out = Vec::new();
    open.encode_body(&mut out).expect("a decoded OPEN encodes");
    let again = Open::decode(&out).expect("an encoded OPEN decodes");
    assert_eq!(&again, open, "OPEN round trip");
    let mut out2 = Vec::new();
    again.encode_body(&mut out2).expect("encodes");
    assert_eq!(out, out2, "OPEN encoding not stable");
    if let Some(body) = body {
        assert_eq!(out.len(), body.len(), "OPEN re-encoded to another length");
        if !open.has(cap_code::MULTIPROTOCOL) {
            assert_eq!(out, body, "OPEN re-encoding");
        }
    }
    // Accessors must not panic.
    let _ = (open.asn(), open.families(), open.validate());
    for f in Family::KNOWN {
        let _ = open.add_path(f);
    }
}

/// Checks one path attribute value under `ctx`, decoded as type `tc` with `flags` (the
/// Extended Length bit is set when the value needs it).
pub fn check_attribute(flags: u8, tc: u8, value: &[u8], ctx: &Ctx) {
    let Some(value) = value.get(..value.len().min(usize::from(u16::MAX))) else {
        return;
    };
    let flags = if value.len() > 255 {
        flags | flag::EXTENDED_LENGTH
    } else {
        flags
    };
    let mut raw = vec![flags, tc];
    if flags & flag::EXTENDED_LENGTH != 0 {
        raw.extend_from_slice(&u16::try_from(value.len()).expect("capped").to_be_bytes());
    } else {
        raw.push(u8::try_from(value.len()).expect("short"));
    }
    raw.extend_from_slice(value);

    match PathAttribute::decode(flags, tc, value, &raw, ctx) {
        Ok(a) => {
            assert_eq!(a.type_code(), tc);
            assert_eq!(a.flags, flags);
            if matches!(tc, type_code::ATOMIC_AGGREGATE) {
                assert!(value.is_empty());
            }
            if tc == type_code::LOCAL_PREF {
                assert!(!ctx.ebgp, "LOCAL_PREF kept from an EBGP peer");
            }
            if tc == type_code::AS_PATH
                && ctx.ebgp
                && let AttrValue::AsPath(p) = &a.value
            {
                assert!(
                    !p.has_confed(),
                    "confederation segments kept from an EBGP peer"
                );
            }
            if let AttrValue::Unknown { data, .. } = &a.value {
                assert!(
                    flags & flag::OPTIONAL != 0,
                    "unknown well-known attribute kept"
                );
                assert_eq!(&**data, value);
            }
            let mut out = Vec::new();
            a.encode(&mut out).expect("a decoded attribute encodes");
            let rd_next_hop = matches!(&a.value, AttrValue::MpReach(m) if m.family.has_rd());
            if rd_next_hop {
                // The next hop's RDs are re-encoded as zero: only the length is kept.
                assert_eq!(out.len(), raw.len());
            } else {
                assert_eq!(out, raw, "attribute {tc} re-encoding");
            }
            let hdr = if flags & flag::EXTENDED_LENGTH != 0 {
                4
            } else {
                3
            };
            let again =
                PathAttribute::decode(flags, tc, out.get(hdr..).unwrap_or_default(), &out, ctx)
                    .expect("an encoded attribute decodes");
            assert_eq!(again, a, "attribute {tc} round trip");
            check_attr_value(&a.value, ctx);
        }
        Err(e) => {
            assert_eq!(e.type_code, tc);
            assert_eq!(e.notification.code, code::UPDATE);
            assert_eq!(
                e.notification.data, raw,
                "NOTIFICATION data is the attribute"
            );
            let ok = match tc {
                type_code::ATOMIC_AGGREGATE
                | type_code::AGGREGATOR
                | type_code::AS4_AGGREGATOR
                | type_code::AS4_PATH => e.action == Action::AttributeDiscard,
                type_code::LOCAL_PREF => {
                    e.action == Action::TreatAsWithdraw
                        || (ctx.ebgp && e.action == Action::AttributeDiscard)
                }
                type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI => match e.action {
                    Action::AfiSafiDisable(f) => f.is_known(),
                    Action::SessionReset => true,
                    _ => false,
                },
                type_code::ORIGIN
                | type_code::AS_PATH
                | type_code::NEXT_HOP
                | type_code::MED
                | type_code::COMMUNITIES
                | type_code::ORIGINATOR_ID
                | type_code::CLUSTER_LIST
                | type_code::EXTENDED_COMMUNITIES
                | type_code::LARGE_COMMUNITY => e.action == Action::TreatAsWithdraw,
                _ => e.action == Action::SessionReset && flags & flag::OPTIONAL == 0,
            };
            assert!(ok, "attribute {tc}: unexpected {:?}", e.action);
        }
    }
}

/// Checks the views and helpers of a decoded attribute value.
pub fn check_attr_value(v: &AttrValue<'_>, ctx: &Ctx) {
    match v {
        AttrValue::AsPath(p) => check_as_path(p, ctx.four_octet_as),
        AttrValue::As4Path(p) => check_as_path(p, true),
        AttrValue::Communities(c) => {
            assert_eq!(c.len() * Communities::ITEM, c.as_bytes().len());
            assert_eq!(c.iter().count(), c.len());
            assert_eq!(Communities::from_items(c.iter()).as_bytes(), c.as_bytes());
        }
        AttrValue::ExtCommunities(c) => {
            assert_eq!(c.len() * ExtCommunities::ITEM, c.as_bytes().len());
            assert_eq!(
                ExtCommunities::from_items(c.iter()).as_bytes(),
                c.as_bytes()
            );
            for e in c.iter() {
                let _ = (e.is_route_target(), e.target_kind());
            }
        }
        AttrValue::LargeCommunities(c) => {
            assert_eq!(c.len() * LargeCommunities::ITEM, c.as_bytes().len());
            assert_eq!(
                LargeCommunities::from_items(c.iter()).as_bytes(),
                c.as_bytes()
            );
        }
        AttrValue::ClusterList(c) => {
            assert_eq!(c.len() * ClusterList::ITEM, c.as_bytes().len());
            assert_eq!(ClusterList::from_items(c.iter()).as_bytes(), c.as_bytes());
        }
        AttrValue::MpReach(m) => check_mp_reach(m, ctx),
        AttrValue::MpUnreach(m) => check_mp_unreach(m, ctx),
        _ => {}
    }
}

fn check_mp_reach(m: &MpReach<'_>, ctx: &Ctx) {
    assert_eq!(m.add_path(), ctx.add_path.contains(m.family));
    let routes: Vec<Nlri> = m.routes().collect();
    if m.family.is_known() {
        let checked = check_nlri_field(&m.nlri, m.family, m.add_path(), false);
        assert_eq!(routes, checked, "MP_REACH_NLRI routes");
        let _ = m.next_hop.addr().expect("known family has an address");
    } else {
        assert!(routes.is_empty());
        assert!(matches!(m.next_hop, NextHop::Other(_)));
    }
}

fn check_mp_unreach(m: &MpUnreach<'_>, ctx: &Ctx) {
    let routes: Vec<Nlri> = m.routes().collect();
    if m.family.is_known() {
        let checked = check_nlri_field(
            &m.withdrawn,
            m.family,
            ctx.add_path.contains(m.family),
            true,
        );
        assert_eq!(routes, checked, "MP_UNREACH_NLRI routes");
    } else {
        assert!(routes.is_empty());
    }
    assert_eq!(m.is_end_of_rib(), m.withdrawn.is_empty());
}

/// Checks an AS path: re-encoding in its own width gives the same bytes, a 2-octet path
/// survives a trip through 4 octets, and the helpers agree with the segments.
pub fn check_as_path(p: &AsPath<'_>, four_octet: bool) {
    assert_eq!(p.is_four_octet(), four_octet);
    let width = if four_octet { 4 } else { 2 };
    let seg_bytes: usize = p.segments().map(|s| 2 + s.len() * width).sum();
    assert_eq!(
        seg_bytes,
        p.as_bytes().len(),
        "segments do not cover the path"
    );
    assert!(p.segments().all(|s| !s.is_empty()));
    let asns: Vec<u32> = p.asns().collect();
    assert!(p.path_len() <= asns.len());
    assert_eq!(
        p.to_width(four_octet).as_bytes(),
        p.as_bytes(),
        "to_width(same)"
    );
    if !four_octet {
        assert_eq!(
            p.to_width(true).to_width(false).as_bytes(),
            p.as_bytes(),
            "2-octet path through 4 octets"
        );
        assert!(!p.needs_as4());
    }
    let wide = p.to_width(true);
    assert_eq!(wide.asns().collect::<Vec<_>>(), asns);
    let asn = asns.first().copied().unwrap_or(65000) ^ 1;
    let pre = p.prepend(asn, 2);
    assert_eq!(pre.path_len(), p.path_len() + 2, "prepend path length");
    assert_eq!(pre.first_asn(), Some(asn));
    let merged = p.merge_as4(&wide);
    assert!(merged.is_four_octet());
    let _ = (
        p.to_string(),
        p.first_asn(),
        p.has_confed(),
        p.contains(asn),
    );
}

/// Parses an UPDATE under `ctx` and checks it: the routes re-encode; a clean UPDATE (or one
/// that only lost discarded attributes) re-encodes to a body that parses cleanly to the same
/// attributes and routes; a clean UPDATE whose next hops carry no RD re-encodes to the
/// received body.
pub fn check_update(u: &Update<'_>, ctx: &Ctx) {
    // Declared before `p`: the re-parsed UPDATE borrows it and is compared with `p`.
    let mut body = Vec::new();
    let p = u.parse(ctx);
    let action = p.action();
    assert_eq!(
        p.notification().is_some(),
        action == Some(Action::SessionReset),
        "notification() and action() disagree"
    );
    for e in &p.problems {
        assert_eq!(e.notification.code, code::UPDATE);
    }
    // Kept attributes have distinct type codes.
    let mut seen = [false; 256];
    for a in &p.attrs {
        let s = &mut seen[usize::from(a.type_code())];
        assert!(!*s, "attribute {} kept twice", a.type_code());
        *s = true;
        check_attr_value(&a.value, ctx);
    }
    // Accessors must not panic.
    let _ = (
        p.origin(),
        p.as_path(),
        p.as4_path(),
        p.next_hop(),
        p.med(),
        p.local_pref(),
        p.communities(),
        p.ext_communities(),
        p.large_communities(),
        p.originator_id(),
        p.cluster_list(),
        p.end_of_rib(),
    );
    let announced: Vec<(Family, Nlri)> = p.announced().collect();
    let withdrawn: Vec<(Family, Nlri)> = p.withdrawn_routes().collect();
    for (f, r) in &announced {
        nlri_round_trip(r, *f, ctx.add_path.contains(*f), false);
    }
    for (f, r) in &withdrawn {
        nlri_round_trip(r, *f, ctx.add_path.contains(*f), true);
    }
    let v4_ap = ctx.add_path.contains(Family::IPV4_UNICAST);
    if action != Some(Action::SessionReset) {
        // The IPv4 fields were validated: every NLRI in them is yielded.
        let n = nlri::validate(u.nlri, Family::IPV4_UNICAST, v4_ap, false).expect("validated");
        assert_eq!(p.ipv4_routes().count(), n);
        let n = nlri::validate(u.withdrawn, Family::IPV4_UNICAST, v4_ap, true).expect("validated");
        assert_eq!(p.ipv4_withdrawn().count(), n);
    }
    if action.is_none() {
        // RFC 7606 §3 d: a clean UPDATE that announces routes has the mandatory attributes.
        if !announced.is_empty() {
            assert!(
                p.origin().is_some() && p.as_path().is_some(),
                "clean UPDATE lacks ORIGIN/AS_PATH"
            );
        }
        if !u.nlri.is_empty() {
            assert!(
                p.next_hop().is_some(),
                "clean UPDATE with IPv4 NLRI lacks NEXT_HOP"
            );
        }
    }
    if p.end_of_rib().is_some() {
        assert!(announced.is_empty() && withdrawn.is_empty());
    }
    if action.is_none() || action == Some(Action::AttributeDiscard) {
        p.encode_body(&mut body).expect("a parsed UPDATE encodes");
        let u2 = Update::decode(&body).expect("an encoded UPDATE decodes");
        let p2 = u2.parse(ctx);
        assert_eq!(p2.problems, vec![], "re-encoded UPDATE has problems");
        assert_eq!(p2.attrs, p.attrs, "re-encoded UPDATE has other attributes");
        assert_eq!(p2.announced().collect::<Vec<_>>(), announced);
        assert_eq!(p2.withdrawn_routes().collect::<Vec<_>>(), withdrawn);
        let rd_next_hop = p.mp_reach().is_some_and(|m| m.family.has_rd());
        if action.is_none() && !rd_next_hop {
            let orig = Message::Update(*u).to_bytes().expect("encodes");
            assert_eq!(
                body,
                orig.get(HEADER_LEN..).unwrap_or_default(),
                "clean UPDATE did not re-encode identically"
            );
        }
    }
    if action.is_none() {
        // The builder must turn the routes back into UPDATEs that parse to the same routes
        // and attributes, with its default size limit and with one that forces splitting.
        let tight = u.attributes.len().saturating_add(HEADER_LEN + 4 + 48);
        for limit in [None, Some(tight)] {
            check_builder(&p, ctx, limit);
        }
    }
}

fn is_nh_or_mp(tc: u8) -> bool {
    matches!(
        tc,
        type_code::NEXT_HOP | type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI
    )
}

fn sorted_attrs<'x>(
    attrs: impl Iterator<Item = &'x PathAttribute<'x>>,
) -> Vec<PathAttribute<'static>> {
    let mut v: Vec<PathAttribute<'static>> = attrs
        .filter(|a| !is_nh_or_mp(a.type_code()))
        .map(|a| a.clone().into_owned())
        .collect();
    v.sort_by_key(PathAttribute::type_code);
    v
}

/// Rebuilds the routes of a clean parsed UPDATE with [`UpdateBuilder`] (size limit `limit`,
/// else the session's) and checks every message: within the limit, parses with no problem,
/// same attributes (NEXT_HOP/MP attributes aside) and next hop, and together the same routes
/// in the same order.
pub fn check_builder(p: &ParsedUpdate<'_>, ctx: &Ctx, limit: Option<usize>) {
    let mut b = UpdateBuilder::new(ctx);
    let mut max = if ctx.extended_message {
        MAX_EXTENDED_LEN
    } else {
        MAX_LEN
    };
    if let Some(l) = limit {
        b = b.with_max_len(l);
        max = l.clamp(64, MAX_EXTENDED_LEN);
    }
    let attrs: Vec<PathAttribute<'_>> = p
        .attrs
        .iter()
        .filter(|a| !is_nh_or_mp(a.type_code()))
        .cloned()
        .collect();
    let want_attrs = sorted_attrs(attrs.iter());

    let mut reach: Vec<(Family, NextHop, Vec<Nlri>)> = Vec::new();
    let v4: Vec<Nlri> = p.ipv4_routes().collect();
    if let Some(nh) = p.next_hop()
        && !v4.is_empty()
    {
        reach.push((Family::IPV4_UNICAST, NextHop::Ipv4(nh), v4));
    }
    if let Some(m) = p.mp_reach()
        && m.family.is_known()
    {
        let r: Vec<Nlri> = m.routes().collect();
        if !r.is_empty() {
            reach.push((m.family, m.next_hop.clone(), r));
        }
    }
    for (family, nh, routes) in &reach {
        let mut out: Vec<Vec<u8>> = Vec::new();
        match b.reach(*family, nh, &attrs, routes, &mut out) {
            Ok(n) => assert_eq!(n, out.len()),
            Err(e) => {
                assert!(matches!(e, EncodeError::TooLong(_)), "builder: {e:?}");
                continue;
            }
        }
        let mut got = Vec::new();
        for m in &out {
            let q = built_update(m, max, ctx);
            assert_eq!(
                sorted_attrs(q.attrs.iter()),
                want_attrs,
                "builder changed attributes"
            );
            match q.mp_reach() {
                Some(r) => {
                    assert_eq!(&r.next_hop, nh, "builder changed the MP next hop");
                    assert!(q.next_hop().is_none());
                }
                None => assert_eq!(Some(nh), q.next_hop().map(NextHop::Ipv4).as_ref()),
            }
            assert_eq!(q.withdrawn_routes().count(), 0);
            got.extend(q.announced());
        }
        let want: Vec<(Family, Nlri)> = routes.iter().map(|r| (*family, *r)).collect();
        assert_eq!(got, want, "builder changed the announced routes");
    }

    let mut withdraw: Vec<(Family, Vec<Nlri>)> = Vec::new();
    let v4: Vec<Nlri> = p.ipv4_withdrawn().collect();
    if !v4.is_empty() {
        withdraw.push((Family::IPV4_UNICAST, v4));
    }
    if let Some(m) = p.mp_unreach()
        && m.family.is_known()
    {
        let r: Vec<Nlri> = m.routes().collect();
        if !r.is_empty() {
            withdraw.push((m.family, r));
        }
    }
    for (family, routes) in &withdraw {
        let mut out: Vec<Vec<u8>> = Vec::new();
        match b.withdraw(*family, routes, &mut out) {
            Ok(n) => assert_eq!(n, out.len()),
            Err(e) => {
                assert!(matches!(e, EncodeError::TooLong(_)), "builder: {e:?}");
                continue;
            }
        }
        let mut got = Vec::new();
        for m in &out {
            let q = built_update(m, max, ctx);
            assert_eq!(q.announced().count(), 0);
            got.extend(q.withdrawn_routes());
        }
        let want: Vec<(Family, Nlri)> = routes.iter().map(|r| (*family, *r)).collect();
        assert_eq!(got, want, "builder changed the withdrawn routes");
    }
}

/// Frames and parses one message written by the builder; it must be clean.
fn built_update<'m>(m: &'m [u8], max: usize, ctx: &Ctx) -> ParsedUpdate<'m> {
    assert!(
        m.len() <= max,
        "builder wrote {} octets, limit {max}",
        m.len()
    );
    let f = frame(m, MAX_EXTENDED_LEN)
        .expect("builder output frames")
        .expect("whole message");
    assert_eq!((f.kind, f.bytes.len()), (msg_type::UPDATE, m.len()));
    let q = Update::decode(f.body)
        .expect("builder output decodes")
        .parse(ctx);
    assert_eq!(q.problems, vec![], "builder output has problems");
    q
}

/// Checks one framed message and what it decodes to under `ctx`.
pub fn check_frame(f: Frame<'_>, ctx: &Ctx) {
    assert!(f.bytes.len() >= HEADER_LEN);
    assert_eq!(f.bytes.get(..16), Some(&MARKER[..]));
    let len = f
        .bytes
        .get(16..18)
        .map(|b| u16::from_be_bytes([b[0], b[1]]));
    assert_eq!(len.map(usize::from), Some(f.bytes.len()));
    assert_eq!(f.bytes.get(18), Some(&f.kind));
    assert_eq!(f.bytes.get(HEADER_LEN..), Some(f.body));
    // Framing the message alone gives it back; any shorter prefix asks for more bytes.
    assert_eq!(frame(f.bytes, MAX_EXTENDED_LEN), Ok(Some(f)));
    if let Some(short) = f.bytes.get(..f.bytes.len() - 1) {
        assert_eq!(frame(short, MAX_EXTENDED_LEN), Ok(None));
    }
    // Without Extended Message only messages up to 4096 octets are accepted.
    let limited = frame(f.bytes, MAX_LEN);
    assert_eq!(limited.is_ok(), f.bytes.len() <= MAX_LEN, "{limited:?}");

    let Ok(m) = Message::decode(f) else {
        return;
    };
    assert_eq!(m.kind(), f.kind);
    let bytes = m.to_bytes().expect("a decoded message encodes");
    match &m {
        Message::Open(o) => {
            check_open(o, Some(f.body));
            let again = frame(&bytes, MAX_EXTENDED_LEN)
                .expect("frames")
                .expect("whole");
            assert_eq!(
                Message::decode(again),
                Ok(m.clone()),
                "OPEN message round trip"
            );
            return;
        }
        Message::Update(u) => {
            check_update(u, ctx);
        }
        Message::Notification(n) => check_notification(n),
        Message::RouteRefresh(r) => {
            assert_eq!(RouteRefresh::decode(f.body, f.bytes), Ok(*r));
        }
        Message::Keepalive => assert_eq!(f.kind, msg_type::KEEPALIVE),
    }
    assert_eq!(bytes, f.bytes, "message type {} re-encoding", f.kind);
}

/// Checks a NOTIFICATION's helpers.
pub fn check_notification(n: &Notification) {
    let mut out = Vec::new();
    n.encode_body(&mut out);
    assert_eq!(Notification::decode(&out).as_ref(), Some(n));
    let _ = (n.to_string(), n.shutdown_message());
}

/// Checks a stream of messages, as read from a session with `ctx`: framing with the session's
/// size limit gives a prefix of what `frames` (which allows Extended Message sizes) gives.
pub fn check_stream(stream: &[u8], ctx: &Ctx) {
    let max_len = if ctx.extended_message {
        MAX_EXTENDED_LEN
    } else {
        MAX_LEN
    };
    let all: Vec<_> = frames(stream).collect();
    let mut rest = stream;
    let mut i = 0;
    loop {
        match frame(rest, max_len) {
            Ok(Some(f)) => {
                assert_eq!(all.get(i), Some(&Ok(f)), "frame() and frames() disagree");
                check_frame(f, ctx);
                rest = rest.get(f.bytes.len()..).unwrap_or_default();
                i += 1;
            }
            Ok(None) => {
                // Only a final partial message (or nothing) is left.
                assert!(i + 1 >= all.len(), "frame() stopped early");
                if rest.is_empty() {
                    assert_eq!(i, all.len());
                } else {
                    assert!(matches!(all.last(), Some(Err(_))));
                }
                return;
            }
            Err(n) => {
                assert_eq!(n.code, code::MESSAGE_HEADER);
                if max_len == MAX_EXTENDED_LEN {
                    assert_eq!(all.get(i), Some(&Err(n)));
                }
                // The rest of the stream is still checked as frames() splits it.
                for f in all.iter().skip(i).filter_map(|f| f.as_ref().ok()) {
                    check_frame(*f, ctx);
                }
                return;
            }
        }
    }
}

/// Checks one NLRI field of the route target constraint family (RFC 4684 §4): the iterator
/// stops at the first error, and a valid field re-encodes to the same bytes once the bits
/// past each prefix length are clear.
pub fn check_rtc_field(field: &[u8]) {
    let all: Vec<_> = tern_wire::rtc::RtcIter::new(field).collect();
    assert!(all.iter().rev().skip(1).all(Result::is_ok));
    if let Ok(v) = tern_wire::rtc::decode_all(field) {
        let mut out = Vec::new();
        for m in &v {
            assert!(m.len == 0 || (32..=96).contains(&m.len));
            m.encode(&mut out).expect("a decoded membership encodes");
        }
        assert_eq!(out.len(), field.len());
        assert_eq!(tern_wire::rtc::decode_all(&out).as_ref(), Ok(&v));
    }
}
