//! Helpers shared by the integration tests: peers, and UPDATEs encoded with
//! `tern_wire::UpdateBuilder` and parsed back the way a session would.

#![allow(dead_code, missing_docs)]

use std::net::{IpAddr, Ipv4Addr};

use tern_rib::{PeerId, PeerInfo, Rib, RibConfig};
use tern_types::{Asn, ExtCommunity, Family, Label, LabelStack, RouteDistinguisher, TargetKind};
use tern_wire::attr::{AsPath, ExtCommunities, Origin};
use tern_wire::message::MAX_LEN;
use tern_wire::{
    AttrValue, Ctx, Message, NextHop, Nlri, ParsedUpdate, PathAttribute, UpdateBuilder, frame,
};

pub const LOCAL_AS: u32 = 100;
pub const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(3, 3, 3, 9);

pub fn rib() -> Rib {
    Rib::new(RibConfig {
        local_as: Asn(LOCAL_AS),
        router_id: ROUTER_ID,
        cluster_id: None,
    })
}

/// An IBGP RR client with address 10.0.0.n and router ID n.n.n.n.
pub fn ibgp(n: u8) -> PeerInfo {
    PeerInfo {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
        router_id: Ipv4Addr::new(n, n, n, n),
        asn: Asn(LOCAL_AS),
        ebgp: false,
        rr_client: true,
        preferred_value: 0,
    }
}

/// An EBGP peer in `asn`.
pub fn ebgp(n: u8, asn: u32) -> PeerInfo {
    PeerInfo {
        ebgp: true,
        asn: Asn(asn),
        rr_client: false,
        ..ibgp(n)
    }
}

pub fn rib_with_peers(peers: &[(u32, PeerInfo)]) -> Rib {
    let mut r = rib();
    for (id, info) in peers {
        r.peer_up(PeerId(*id), *info);
    }
    r
}

pub fn ctx(ebgp: bool) -> Ctx {
    Ctx {
        ebgp,
        ..Ctx::default()
    }
}

/// Encoded UPDATE messages announcing `routes`.
pub fn reach(
    family: Family,
    nh: NextHop,
    attrs: &[PathAttribute<'static>],
    routes: &[Nlri],
    ctx: &Ctx,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    UpdateBuilder::new(ctx)
        .reach(family, &nh, attrs, routes, &mut out)
        .unwrap();
    out
}

/// Encoded UPDATE messages withdrawing `routes`.
pub fn withdraw(family: Family, routes: &[Nlri], ctx: &Ctx) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    UpdateBuilder::new(ctx)
        .withdraw(family, routes, &mut out)
        .unwrap();
    out
}

/// One received message parsed as a session would.
pub fn parse<'a>(msg: &'a [u8], ctx: &Ctx) -> ParsedUpdate<'a> {
    let f = frame(msg, MAX_LEN).unwrap().unwrap();
    match Message::decode(f).unwrap() {
        Message::Update(u) => u.parse(ctx),
        m => panic!("not an UPDATE: {m:?}"),
    }
}

pub fn base_attrs(path: &[u32]) -> Vec<PathAttribute<'static>> {
    vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(path, true))),
    ]
}

pub fn with(
    mut v: Vec<PathAttribute<'static>>,
    a: AttrValue<'static>,
) -> Vec<PathAttribute<'static>> {
    v.push(PathAttribute::new(a));
    v
}

pub fn rt(n: u32) -> AttrValue<'static> {
    AttrValue::ExtCommunities(ExtCommunities::from_items([ExtCommunity::as2(
        TargetKind::RouteTarget,
        100,
        n,
    )]))
}

pub fn vpn4(rd: &str, prefix: &str, label: u32) -> Nlri {
    Nlri::vpn(
        rd.parse::<RouteDistinguisher>().unwrap(),
        LabelStack::single(Label(label)),
        prefix.parse().unwrap(),
    )
}

pub fn v4(prefix: &str) -> Nlri {
    Nlri::unicast(prefix.parse().unwrap())
}

pub fn nh4(a: [u8; 4]) -> NextHop {
    NextHop::Ipv4(Ipv4Addr::from(a))
}
