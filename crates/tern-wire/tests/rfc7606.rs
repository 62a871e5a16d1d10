//! RFC 7606 classification of malformed UPDATEs, one case per rule, and the builder's
//! packing, checked through the public API.

use std::net::Ipv4Addr;

use tern_types::{ExtCommunity, Family, Label, LabelStack};
use tern_wire::attr::{AsPath, AttrValue, Origin, PathAttribute, type_code};
use tern_wire::message::{MAX_LEN, frames};
use tern_wire::{Action, AddPathSet, Ctx, Message, NextHop, Nlri, Update, UpdateBuilder};

const ORIGIN_IGP: &[u8] = &[0x40, 1, 1, 0];
const AS_PATH_100: &[u8] = &[0x40, 2, 6, 2, 1, 0, 0, 0, 100];
const NEXT_HOP: &[u8] = &[0x40, 3, 4, 10, 0, 0, 1];

fn body(withdrawn: &[u8], attrs: &[&[u8]], nlri: &[u8]) -> Vec<u8> {
    let a: Vec<u8> = attrs.concat();
    let mut b = Vec::new();
    b.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(a.len() as u16).to_be_bytes());
    b.extend_from_slice(&a);
    b.extend_from_slice(nlri);
    b
}

fn action_of(attrs: &[&[u8]], nlri: &[u8], ctx: &Ctx) -> (Option<Action>, Vec<(u8, u8)>) {
    let b = body(&[], attrs, nlri);
    let u = Update::decode(&b).expect("fields split");
    let p = u.parse(ctx);
    let codes = p
        .problems
        .iter()
        .map(|e| (e.notification.code, e.notification.subcode))
        .collect();
    (p.action(), codes)
}

const NLRI_10: &[u8] = &[8, 10];

#[test]
fn clean_update_has_no_action() {
    let (a, _) = action_of(
        &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP],
        NLRI_10,
        &Ctx::default(),
    );
    assert_eq!(a, None);
}

#[test]
fn field_lengths_that_do_not_fit_reset_the_session() {
    // Withdrawn length 5 with 2 octets of message left.
    let e = Update::decode(&[0, 5, 0, 0]).unwrap_err();
    assert_eq!((e.code, e.subcode), (3, 1));
    let e = Update::decode(&[0, 0, 0, 9, 0x40]).unwrap_err();
    assert_eq!((e.code, e.subcode), (3, 1));
}

#[test]
fn treat_as_withdraw_cases() {
    let ctx = Ctx::default();
    let cases: &[(&[u8], (u8, u8))] = &[
        (&[0x40, 1, 1, 3], (3, 6)),                    // ORIGIN value 3
        (&[0x40, 1, 2, 0, 0], (3, 5)),                 // ORIGIN length 2
        (&[0x40, 2, 4, 2, 0, 0, 100], (3, 11)),        // AS_PATH zero-length segment
        (&[0x40, 2, 4, 7, 1, 0, 100], (3, 11)),        // unknown segment type
        (&[0x40, 3, 3, 10, 0, 0], (3, 5)),             // NEXT_HOP length 3
        (&[0x80, 4, 2, 0, 0], (3, 5)),                 // MED length 2
        (&[0xc0, 8, 3, 0, 0, 0], (3, 9)),              // COMMUNITIES not a multiple of 4
        (&[0xc0, 16, 7, 0, 2, 0, 0, 0, 0, 1], (3, 9)), // EXT COMMUNITIES length 7
        (&[0x80, 9, 5, 1, 1, 1, 1, 1], (3, 5)),        // ORIGINATOR_ID length 5
        (&[0x80, 10, 6, 1, 1, 1, 1, 2, 2], (3, 5)),    // CLUSTER_LIST length 6
        (&[0xc0, 1, 1, 0], (3, 4)),                    // ORIGIN flagged optional
    ];
    for (bad, code) in cases {
        let attrs: Vec<&[u8]> = [ORIGIN_IGP, AS_PATH_100, NEXT_HOP]
            .into_iter()
            .filter(|a| a[1] != bad[1])
            .chain([*bad])
            .collect();
        let (a, codes) = action_of(&attrs, NLRI_10, &ctx);
        assert_eq!(a, Some(Action::TreatAsWithdraw), "{bad:?}");
        assert!(codes.contains(code), "{bad:?}: {codes:?}");
    }
}

#[test]
fn missing_well_known_attributes_treat_as_withdraw() {
    let (a, codes) = action_of(&[ORIGIN_IGP, NEXT_HOP], NLRI_10, &Ctx::default());
    assert_eq!(a, Some(Action::TreatAsWithdraw));
    assert_eq!(codes, vec![(3, 3)]);
    // Without NLRI nothing is mandatory.
    assert_eq!(action_of(&[ORIGIN_IGP], &[], &Ctx::default()).0, None);
}

#[test]
fn attribute_discard_cases() {
    let ctx = Ctx::default();
    for bad in [
        &[0x40, 6, 1, 0][..],             // ATOMIC_AGGREGATE with a value
        &[0xc0, 7, 5, 0, 0, 1, 1, 1],     // AGGREGATOR length 5
        &[0xc0, 17, 4, 2, 0, 0, 0],       // AS4_PATH zero-length segment
        &[0xc0, 17, 6, 3, 1, 0, 0, 0, 1], // AS4_PATH confederation segment
        &[0xc0, 18, 6, 0, 0, 1, 1, 1, 1], // AS4_AGGREGATOR length 6
    ] {
        let b = body(&[], &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP, bad], NLRI_10);
        let p = Update::decode(&b).unwrap().parse(&ctx);
        assert_eq!(p.action(), Some(Action::AttributeDiscard), "{bad:?}");
        assert!(p.attr(bad[1]).is_none(), "{bad:?} kept");
        assert_eq!(p.ipv4_routes().count(), 1);
    }
    // LOCAL_PREF from an external peer is discarded, from an internal one kept.
    let lp: &[u8] = &[0x40, 5, 4, 0, 0, 0, 100];
    let ebgp = Ctx {
        ebgp: true,
        ..Ctx::default()
    };
    assert_eq!(
        action_of(&[ORIGIN_IGP, AS_PATH_100, NEXT_HOP, lp], NLRI_10, &ebgp).0,
        Some(Action::AttributeDiscard)
    );
    assert_eq!(
        action_of(
            &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP, lp],
            NLRI_10,
            &Ctx::default()
        )
        .0,
        None
    );
}

#[test]
fn repeated_attributes() {
    let b = body(
        &[],
        &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP, &[0x40, 1, 1, 2]],
        NLRI_10,
    );
    let p = Update::decode(&b).unwrap().parse(&Ctx::default());
    assert_eq!(p.action(), Some(Action::AttributeDiscard));
    assert_eq!(p.origin(), Some(Origin::Igp), "first one kept");
    let unreach: &[u8] = &[0x80, 15, 3, 0, 2, 128];
    let (a, _) = action_of(&[unreach, unreach], &[], &Ctx::default());
    assert_eq!(a, Some(Action::SessionReset));
}

#[test]
fn session_reset_cases() {
    let ctx = Ctx::default();
    // Unrecognised well-known attribute.
    let (a, codes) = action_of(
        &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP, &[0x40, 99, 0]],
        NLRI_10,
        &ctx,
    );
    assert_eq!(
        (a, codes.last().copied()),
        (Some(Action::SessionReset), Some((3, 2)))
    );
    // Malformed IPv4 NLRI field.
    let (a, codes) = action_of(
        &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP],
        &[33, 1, 2, 3, 4, 5],
        &ctx,
    );
    assert_eq!(
        (a, codes.last().copied()),
        (Some(Action::SessionReset), Some((3, 10)))
    );
    // MP_REACH_NLRI overrunning the attribute field.
    let b = body(&[], &[ORIGIN_IGP, &[0x80, 14, 40, 0, 1]], &[]);
    assert_eq!(
        Update::decode(&b).unwrap().parse(&ctx).action(),
        Some(Action::SessionReset)
    );
    // MP_REACH_NLRI too short to name a family.
    let (a, _) = action_of(&[&[0x80, 14, 2, 0, 1]], &[], &ctx);
    assert_eq!(a, Some(Action::SessionReset));
}

#[test]
fn other_attribute_overrun_treats_as_withdraw() {
    let b = body(
        &[],
        &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP, &[0xc0, 8, 40, 0, 0]],
        NLRI_10,
    );
    assert_eq!(
        Update::decode(&b).unwrap().parse(&Ctx::default()).action(),
        Some(Action::TreatAsWithdraw)
    );
}

#[test]
fn mp_errors_disable_the_family() {
    // VPNv6 with a 16-octet next hop (needs 24 or 48).
    let mut mp = vec![0x80, 14, 0, 0, 2, 128, 16];
    mp.extend_from_slice(&[0; 16]);
    mp.push(0);
    mp[2] = (mp.len() - 3) as u8;
    let (a, _) = action_of(&[ORIGIN_IGP, AS_PATH_100, &mp], &[], &Ctx::default());
    assert_eq!(a, Some(Action::AfiSafiDisable(Family::VPNV6)));
    // VPNv4 NLRI shorter than an RD.
    let mut mp = vec![
        0x80, 14, 0, 0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 40, 0, 0, 1, 0, 0,
    ];
    mp[2] = (mp.len() - 3) as u8;
    let (a, _) = action_of(&[ORIGIN_IGP, AS_PATH_100, &mp], &[], &Ctx::default());
    assert_eq!(a, Some(Action::AfiSafiDisable(Family::VPNV4)));
}

#[test]
fn confederation_segments_from_external_peers() {
    let confed: &[u8] = &[0x40, 2, 6, 3, 1, 0, 0, 0, 100];
    let ebgp = Ctx {
        ebgp: true,
        ..Ctx::default()
    };
    assert_eq!(
        action_of(&[ORIGIN_IGP, confed, NEXT_HOP], NLRI_10, &ebgp).0,
        Some(Action::TreatAsWithdraw)
    );
    assert_eq!(
        action_of(&[ORIGIN_IGP, confed, NEXT_HOP], NLRI_10, &Ctx::default()).0,
        None
    );
}

#[test]
fn unknown_optional_transitive_attribute_is_kept() {
    let unknown: &[u8] = &[0xc0, 99, 2, 7, 7];
    let b = body(&[], &[ORIGIN_IGP, AS_PATH_100, NEXT_HOP, unknown], NLRI_10);
    let p = Update::decode(&b).unwrap().parse(&Ctx::default());
    assert_eq!(p.action(), None);
    assert!(matches!(
        p.attr(99),
        Some(AttrValue::Unknown { type_code: 99, .. })
    ));
    let mut out = Vec::new();
    p.encode_body(&mut out).unwrap();
    assert_eq!(out, b);
}

fn vpn_attrs() -> Vec<PathAttribute<'static>> {
    vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(&[100], true))),
        PathAttribute::new(AttrValue::ExtCommunities(
            tern_wire::attr::ExtCommunities::from_items(["1:1".parse::<ExtCommunity>().unwrap()]),
        )),
    ]
}

#[test]
fn builder_packs_vpnv6_into_few_full_messages() {
    let routes: Vec<Nlri> = (0..2000u32)
        .map(|i| {
            Nlri::vpn(
                "100:1".parse().unwrap(),
                LabelStack::single(Label(1000 + i)),
                format!("2001:db8:{:x}::/64", i).parse().unwrap(),
            )
        })
        .collect();
    let nh = NextHop::ipv4_mapped(Ipv4Addr::new(1, 1, 1, 9));
    let mut out = Vec::new();
    let n = UpdateBuilder::new(&Ctx::default())
        .reach(Family::VPNV6, &nh, &vpn_attrs(), &routes, &mut out)
        .unwrap();
    assert_eq!(n, out.len());
    // Each route takes 1 + 3 + 8 + 8 = 20 octets: about 200 fit in 4096.
    assert!(n <= 2000 * 20 / 3900 + 1, "{n} messages");
    let mut got = Vec::new();
    for m in &out {
        assert!(m.len() <= MAX_LEN);
        for f in frames(m) {
            let Message::Update(u) = Message::decode(f.unwrap()).unwrap() else {
                panic!("not an update")
            };
            let p = u.parse(&Ctx::default());
            assert_eq!(p.action(), None);
            assert_eq!(p.mp_reach().unwrap().next_hop, nh);
            assert_eq!(p.as_path().unwrap().to_string(), "100");
            got.extend(p.announced().map(|(f, n)| {
                assert_eq!(f, Family::VPNV6);
                n
            }));
        }
    }
    assert_eq!(got, routes);
    // Every message but the last is full to within one route.
    for m in &out[..out.len() - 1] {
        assert!(m.len() + 20 > MAX_LEN, "{}", m.len());
    }
}

#[test]
fn builder_ipv4_unicast_withdraw_and_end_of_rib() {
    let routes: Vec<Nlri> = (0..=255u8)
        .map(|i| Nlri {
            path_id: Some(u32::from(i)),
            ..Nlri::unicast(format!("10.{i}.0.0/16").parse().unwrap())
        })
        .collect();
    let ctx = Ctx {
        add_path: AddPathSet::of(&[Family::IPV4_UNICAST]),
        ..Ctx::default()
    };
    let b = UpdateBuilder::new(&ctx).with_max_len(200);
    let mut out = Vec::new();
    b.reach(
        Family::IPV4_UNICAST,
        &NextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 1)),
        &vpn_attrs()[..2],
        &routes,
        &mut out,
    )
    .unwrap();
    b.withdraw(Family::IPV4_UNICAST, &routes, &mut out).unwrap();
    let (mut ann, mut wd) = (Vec::new(), Vec::new());
    for m in &out {
        assert!(m.len() <= 200);
        let f = tern_wire::frame(m, MAX_LEN).unwrap().unwrap();
        let Message::Update(u) = Message::decode(f).unwrap() else {
            panic!()
        };
        let p = u.parse(&ctx);
        assert_eq!(p.action(), None);
        if p.next_hop().is_some() {
            assert_eq!(
                p.attrs[2].type_code(),
                type_code::NEXT_HOP,
                "type-code order"
            );
        }
        ann.extend(p.ipv4_routes());
        wd.extend(p.ipv4_withdrawn());
    }
    assert_eq!(ann, routes);
    assert_eq!(wd, routes);
    for fam in Family::KNOWN {
        let eor = UpdateBuilder::end_of_rib(fam);
        let f = tern_wire::frame(&eor, MAX_LEN).unwrap().unwrap();
        let Message::Update(u) = Message::decode(f).unwrap() else {
            panic!()
        };
        assert_eq!(u.parse(&Ctx::default()).end_of_rib(), Some(fam));
    }
}

#[test]
fn labeled_withdraw_uses_the_marker() {
    let routes = [Nlri::labeled(
        LabelStack::new(),
        "1.1.1.9/32".parse().unwrap(),
    )];
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .withdraw(Family::IPV4_LABELED, &routes, &mut out)
        .unwrap();
    assert!(out[0].windows(3).any(|w| w == [0x80, 0, 0]));
    let f = tern_wire::frame(&out[0], MAX_LEN).unwrap().unwrap();
    let Message::Update(u) = Message::decode(f).unwrap() else {
        panic!()
    };
    let p = u.parse(&Ctx::default());
    let (fam, n) = p.withdrawn_routes().next().unwrap();
    assert_eq!(fam, Family::IPV4_LABELED);
    assert!(n.labels.is_withdraw_marker());
    assert_eq!(n.prefix, routes[0].prefix);
}
