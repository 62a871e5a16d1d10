//! 6PE (RFC 4798): IPv6 routes exchanged as labeled IPv6 (AFI 2, SAFI 4) with a peer over
//! IPv4, next hops IPv4-mapped (`::ffff:a.b.c.d`).

use std::sync::mpsc;

use bytes::Bytes;
use tern_types::{Label, LabelStack};
use tern_wire::{Nlri, UpdateBuilder};

use super::tests::{Ops, body, deliver, drain, oneshot, receiver, settle, transit, up_peer};
use super::*;
use crate::labels::FIRST_LABEL;
use crate::ports::MAIN_TABLE;

/// T: AS 100, router ID 1.1.1.1, originating 2001:db8:100::/64 (a direct route).
fn pe() -> Engine {
    let mut t = Engine::new(rib_config(Some(100), Some("1.1.1.1".parse().unwrap())));
    let mut routing = (*transit()).clone();
    routing.local = vec![LocalRoute {
        vrf: None,
        prefix: "2001:db8:100::/64".parse().unwrap(),
        origin: Origin::Incomplete,
        med: Some(0),
        next_hop: None,
        policy: None,
        labeled: false,
        kernel: false,
    }];
    t.handle(Input::Settings(Arc::new(routing)));
    t
}

/// The 6PE peer 2.2.2.2 (IBGP over IPv4, labeled IPv6 negotiated).
fn six_pe_peer(t: &mut Engine) -> mpsc::Receiver<Bytes> {
    up_peer(t, "2.2.2.2", 100, "1.1.1.1", vec![Family::IPV6_LABELED])
}

/// The plain IPv6 EBGP peer 2001:db8:100::2 (AS 300, router ID 3.3.3.3, IPv6 unicast).
fn ipv6_peer(t: &mut Engine) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::sync_channel::<Bytes>(64);
    let ctx = Ctx {
        ebgp: true,
        ..Ctx::default()
    };
    t.handle(Input::PeerUp {
        session: 77,
        info: PeerInfo {
            addr: "2001:db8:100::2".parse().unwrap(),
            router_id: "3.3.3.3".parse().unwrap(),
            asn: Asn(300),
            ebgp: true,
            rr_client: false,
            preferred_value: 0,
        },
        ctx,
        out: Some(PeerOut {
            tx: Arc::new(tx),
            families: vec![Family::IPV6_UNICAST],
            ctx: Ctx::default(),
            local: Some("2001:db8:100::1".parse().unwrap()),
            out: Outbound::default(),
        }),
        vrf: None,
        status: None,
    });
    rx
}

/// C, receiving from T (2001:db8:100::1, AS 100, router ID 1.1.1.1).
fn ce() -> Engine {
    let mut c = Engine::new(rib_config(Some(300), Some("3.3.3.3".parse().unwrap())));
    c.handle(Input::Settings(transit()));
    c.handle(Input::PeerUp {
        session: 78,
        info: PeerInfo {
            addr: "2001:db8:100::1".parse().unwrap(),
            router_id: "1.1.1.1".parse().unwrap(),
            asn: Asn(100),
            ebgp: true,
            rr_client: false,
            preferred_value: 0,
        },
        ctx: Ctx {
            ebgp: true,
            ..Ctx::default()
        },
        out: None,
        vrf: None,
        status: None,
    });
    c
}

fn nlri(prefix: &str, labels: LabelStack) -> Nlri {
    Nlri {
        path_id: None,
        rd: None,
        labels,
        prefix: prefix.parse().unwrap(),
    }
}

fn update(t: &mut Engine, from: &str, family: Family, nh: NextHop, n: Nlri) {
    let session = t.up[&from.parse::<IpAddr>().unwrap()].session;
    t.handle(Input::Update {
        peer: from.parse().unwrap(),
        session,
        body: body(family, nh, n),
    });
}

#[test]
fn ipv6_routes_go_to_a_six_pe_peer_labeled_with_the_mapped_next_hop() {
    let mut t = pe();
    let mut c = ipv6_peer(&mut t);
    let mut rx = six_pe_peer(&mut t);
    // C's route arrives as plain IPv6 unicast.
    update(
        &mut t,
        "2001:db8:100::2",
        Family::IPV6_UNICAST,
        NextHop::Ipv6 {
            global: "2001:db8:100::2".parse().unwrap(),
            link_local: None,
        },
        nlri("2001:db8:300::/48", LabelStack::new()),
    );
    let mut f = receiver(100, "1.1.1.1", 100);
    deliver(&mut t, &mut rx, &mut f, "1.1.1.1");
    let _ = drain(&mut c);

    // The 6PE peer has both, in labeled IPv6 only, each with a label of T's, next hop T's
    // IPv4 session address mapped.
    assert!(f.table(Family::IPV6_UNICAST).routes.is_empty());
    let lab = f.table(Family::IPV6_LABELED);
    assert_eq!(lab.routes.len(), 2, "{lab:?}");
    let mapped: IpAddr = "::ffff:1.1.1.1".parse().unwrap();
    for r in &lab.routes {
        assert_eq!(r.next_hop, Some(mapped), "{r:?}");
        assert_eq!(r.labels.len(), 1, "{r:?}");
        assert!(r.labels[0] >= FIRST_LABEL, "{r:?}");
        assert_eq!(r.local_pref, Some(100), "{r:?}");
    }
    assert_ne!(
        lab.routes[0].labels, lab.routes[1].labels,
        "a label per route"
    );
    let c_route = lab
        .routes
        .iter()
        .find(|r| r.prefix == "2001:db8:300::/48")
        .unwrap();
    // (The test UPDATEs carry AS path 200.)
    assert_eq!(c_route.as_path, "200");
    let key = RouteKey::new("2001:db8:300::/48".parse().unwrap());
    assert_eq!(
        t.labels.swapped(Family::IPV6_LABELED, &key).map(|l| l.0),
        Some(c_route.labels[0]),
        "T's label is kept for the route"
    );

    // C withdraws: the 6PE peer is sent the withdrawal, the label goes back.
    let session = t.up[&"2001:db8:100::2".parse::<IpAddr>().unwrap()].session;
    let mut w = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .withdraw(
            Family::IPV6_UNICAST,
            &[nlri("2001:db8:300::/48", LabelStack::new())],
            &mut w,
        )
        .unwrap();
    t.handle(Input::Update {
        peer: "2001:db8:100::2".parse().unwrap(),
        session,
        body: w.remove(0).split_off(19),
    });
    deliver(&mut t, &mut rx, &mut f, "1.1.1.1");
    let lab = f.table(Family::IPV6_LABELED);
    assert_eq!(lab.routes.len(), 1, "{lab:?}");
    assert_eq!(lab.routes[0].prefix, "2001:db8:100::/64");
    assert_eq!(t.labels.swapped(Family::IPV6_LABELED, &key), None);
}

#[test]
fn six_pe_routes_go_to_ipv6_peers_unlabeled_and_to_the_kernel_via_the_ipv4_endpoint() {
    let mut t = pe();
    let ops = Arc::new(Ops::default());
    t.set_fib(ops.clone());
    let _f = six_pe_peer(&mut t);
    let mut rx = ipv6_peer(&mut t);
    let mut c = ce();
    deliver(&mut t, &mut rx, &mut c, "2001:db8:100::1");
    // F's route: labeled IPv6 (implicit null), next hop F's loopback mapped.
    update(
        &mut t,
        "2.2.2.2",
        Family::IPV6_LABELED,
        NextHop::ipv4_mapped("2.2.2.2".parse().unwrap()),
        nlri("2001:db8:200::/48", LabelStack::single(Label(3))),
    );
    deliver(&mut t, &mut rx, &mut c, "2001:db8:100::1");

    // C: plain IPv6 unicast, no label, next hop T's address on the link.
    assert!(c.table(Family::IPV6_LABELED).routes.is_empty());
    let uni = c.table(Family::IPV6_UNICAST);
    let r = uni
        .routes
        .iter()
        .find(|r| r.prefix == "2001:db8:200::/48")
        .unwrap_or_else(|| panic!("{uni:?}"));
    assert!(r.labels.is_empty(), "{r:?}");
    assert_eq!(r.next_hop, Some("2001:db8:100::1".parse().unwrap()));
    assert_eq!(r.as_path, "100 200");

    // The kernel: the IPv6 prefix toward the IPv4 endpoint (the installer finds the
    // interface).
    let install = FibOp::Install {
        table: MAIN_TABLE,
        prefix: "2001:db8:200::/48".parse().unwrap(),
        next_hop: "2.2.2.2".parse().unwrap(),
    };
    assert!(ops.0.lock().unwrap().contains(&install), "{ops:?}");

    // `display bgp ipv6 routing-table`: the 6PE route with its label, beside the unicast
    // ones, each destination once.
    let (reply, done) = oneshot::channel();
    t.handle(Input::Table {
        vrf: None,
        family: Family::IPV6_UNICAST,
        label: false,
        lookup: None,
        reply,
    });
    while t.walk_step() {}
    let shown = done.try_recv().expect("display done").into_table();
    let prefixes: Vec<&str> = shown.routes.iter().map(|r| r.prefix.as_str()).collect();
    assert_eq!(
        prefixes,
        vec!["2001:db8:100::/64", "2001:db8:200::/48"],
        "{shown:?}"
    );
    let r = &shown.routes[1];
    assert_eq!(r.labels, vec![3]);
    assert_eq!(r.next_hop, Some("::ffff:2.2.2.2".parse().unwrap()));
    assert!(r.best && r.valid && r.internal, "{r:?}");

    // `display bgp ipv6 routing-table label`: the 6PE route with its label, in the vendor's
    // layout.
    let text = crate::display::routing_table(
        &t.label_table(Family::IPV6_LABELED),
        crate::display::TableKind::Label6,
        tern_types::Notation::Dot,
    );
    assert_eq!(
        text,
        "Total Number of Routes: 1\n\n  Network              Prefix     NextHop           Label\n  \
         2001:DB8:200::       48      ::FFFF:2.2.2.2       3\n"
    );

    // F withdraws: C is sent the withdrawal, the kernel route goes.
    let session = t.up[&"2.2.2.2".parse::<IpAddr>().unwrap()].session;
    let mut w = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .withdraw(
            Family::IPV6_LABELED,
            &[nlri("2001:db8:200::/48", LabelStack::new())],
            &mut w,
        )
        .unwrap();
    t.handle(Input::Update {
        peer: "2.2.2.2".parse().unwrap(),
        session,
        body: w.remove(0).split_off(19),
    });
    deliver(&mut t, &mut rx, &mut c, "2001:db8:100::1");
    assert!(
        !c.table(Family::IPV6_UNICAST)
            .routes
            .iter()
            .any(|r| r.prefix == "2001:db8:200::/48")
    );
    settle(&mut t);
    assert_eq!(
        ops.0.lock().unwrap().last(),
        Some(&FibOp::Remove {
            table: MAIN_TABLE,
            prefix: "2001:db8:200::/48".parse().unwrap(),
        })
    );
}

#[test]
fn a_unicast_route_wins_over_a_six_pe_one_and_the_display_lists_the_destination_once() {
    let mut t = pe();
    let _f = six_pe_peer(&mut t);
    let _c = ipv6_peer(&mut t);
    update(
        &mut t,
        "2.2.2.2",
        Family::IPV6_LABELED,
        NextHop::ipv4_mapped("2.2.2.2".parse().unwrap()),
        nlri("2001:db8:300::/48", LabelStack::single(Label(3))),
    );
    update(
        &mut t,
        "2001:db8:100::2",
        Family::IPV6_UNICAST,
        NextHop::Ipv6 {
            global: "2001:db8:100::2".parse().unwrap(),
            link_local: None,
        },
        nlri("2001:db8:300::/48", LabelStack::new()),
    );
    settle(&mut t);
    let (reply, done) = oneshot::channel();
    t.handle(Input::Table {
        vrf: None,
        family: Family::IPV6_UNICAST,
        label: false,
        lookup: None,
        reply,
    });
    while t.walk_step() {}
    let shown = done.try_recv().expect("display done").into_table();
    let rows: Vec<&crate::RouteRow> = shown
        .routes
        .iter()
        .filter(|r| r.prefix == "2001:db8:300::/48")
        .collect();
    assert_eq!(rows.len(), 2, "{shown:?}");
    assert_eq!(shown.destinations, 2, "{shown:?}");
    // The unicast path is the one used (and listed first); the 6PE one is not best.
    assert!(rows[0].best && rows[0].labels.is_empty(), "{rows:?}");
    assert!(!rows[1].best && rows[1].labels == vec![3], "{rows:?}");
}

/// A 6PE IBGP peer `addr` (router ID the same), a route reflector client when `client`.
fn six_pe_client(t: &mut Engine, addr: &str, client: bool) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::sync_channel::<Bytes>(64);
    t.handle(Input::PeerUp {
        session: 90 + u64::from(client),
        info: PeerInfo {
            addr: addr.parse().unwrap(),
            router_id: addr.parse().unwrap(),
            asn: Asn(100),
            ebgp: false,
            rr_client: client,
            preferred_value: 0,
        },
        ctx: Ctx::default(),
        out: Some(PeerOut {
            tx: Arc::new(tx),
            families: vec![Family::IPV6_LABELED],
            ctx: Ctx::default(),
            local: Some("1.1.1.1".parse().unwrap()),
            out: Outbound::default(),
        }),
        vrf: None,
        status: None,
    });
    rx
}

#[test]
fn a_reflected_six_pe_route_keeps_its_next_hop_and_label() {
    let mut t = pe();
    let _a = six_pe_client(&mut t, "2.2.2.2", true);
    let mut rx = six_pe_client(&mut t, "4.4.4.4", false);
    let mut b = receiver(100, "1.1.1.1", 100);
    update(
        &mut t,
        "2.2.2.2",
        Family::IPV6_LABELED,
        NextHop::ipv4_mapped("2.2.2.2".parse().unwrap()),
        nlri("2001:db8:200::/48", LabelStack::single(Label(1027))),
    );
    deliver(&mut t, &mut rx, &mut b, "1.1.1.1");
    let lab = b.table(Family::IPV6_LABELED);
    let r = lab
        .routes
        .iter()
        .find(|r| r.prefix == "2001:db8:200::/48")
        .unwrap_or_else(|| panic!("{lab:?}"));
    assert_eq!(r.next_hop, Some("::ffff:2.2.2.2".parse().unwrap()), "{r:?}");
    assert_eq!(r.labels, vec![1027], "the client's label, not one of T's");
    assert_eq!(r.originator_id, Some("2.2.2.2".parse().unwrap()), "{r:?}");
    assert!(!r.cluster_list.is_empty(), "{r:?}");
    let key = RouteKey::new("2001:db8:200::/48".parse().unwrap());
    assert_eq!(t.labels.swapped(Family::IPV6_LABELED, &key), None);
    // T's own route goes to both with T's next hop and label.
    let own = lab
        .routes
        .iter()
        .find(|r| r.prefix == "2001:db8:100::/64")
        .unwrap_or_else(|| panic!("{lab:?}"));
    assert_eq!(own.next_hop, Some("::ffff:1.1.1.1".parse().unwrap()));
    assert!(own.labels[0] >= FIRST_LABEL, "{own:?}");
}
