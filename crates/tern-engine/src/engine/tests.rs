//! The engine's behaviour, input by input: sessions, tables, update groups, VPN instances,
//! policies, displays.

use super::*;
use crate::labels::FIRST_LABEL;
use bytes::Bytes;
use std::sync::mpsc;

/// A display's reply channel, as the daemon's oneshot.
pub(super) mod oneshot {
    use super::*;

    impl Reply for mpsc::SyncSender<Walked> {
        fn is_closed(&self) -> bool {
            false
        }
        fn send(self: Box<Self>, w: Walked) {
            let _ = self.try_send(w);
        }
    }

    pub fn channel() -> (Box<dyn Reply>, mpsc::Receiver<Walked>) {
        let (tx, rx) = mpsc::sync_channel(1);
        (Box::new(tx), rx)
    }
}

/// A new session number.
pub(super) fn new_session() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1000);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A bounded in-memory writer queue standing in for a connection's.
impl adj_out::Sink for mpsc::SyncSender<Bytes> {
    fn offer(&self, b: Bytes) -> adj_out::Offer {
        match self.try_send(b) {
            Ok(()) => adj_out::Offer::Taken,
            Err(mpsc::TrySendError::Full(b)) => adj_out::Offer::Full(b),
            Err(mpsc::TrySendError::Disconnected(_)) => adj_out::Offer::Closed,
        }
    }
}
use tern_rib::PathAttrs;
use tern_types::{Label, LabelStack, RouteDistinguisher};
use tern_wire::attr::AsPath;
use tern_wire::{Nlri, UpdateBuilder};

pub(super) const PEER: &str = "10.0.0.2";

/// A transit speaker: VPN routes kept whatever their route targets.
pub(super) fn transit() -> Arc<Routing> {
    Arc::new(Routing {
        keep_all_vpn: vec![Family::VPNV4, Family::VPNV6],
        ..Routing::default()
    })
}

pub(super) fn task() -> Engine {
    let mut t = Engine::new(rib_config(Some(100), Some("10.0.0.1".parse().unwrap())));
    t.handle(Input::Settings(transit()));
    t
}

pub(super) fn up(t: &mut Engine, session: u64) {
    t.handle(Input::PeerUp {
        session,
        info: PeerInfo {
            addr: PEER.parse().unwrap(),
            router_id: "10.0.0.2".parse().unwrap(),
            asn: Asn(200),
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
}

/// The body of an UPDATE announcing `n` in `family` with next hop `nh`, AS path 200.
pub(super) fn body(family: Family, nh: NextHop, n: Nlri) -> Vec<u8> {
    let a = PathAttrs::new(Origin::Igp, AsPath::sequence(&[200], true), nh.clone());
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(family, &nh, &a.to_wire(true), &[n], &mut out)
        .unwrap();
    out.remove(0).split_off(19)
}

fn vpn6_route() -> Nlri {
    Nlri {
        path_id: None,
        rd: Some(RouteDistinguisher::type0(200, 1)),
        labels: LabelStack::single(Label(1000)),
        prefix: "2001:db8:a::/48".parse().unwrap(),
    }
}

#[test]
fn routes_come_and_go_with_the_session() {
    let mut t = task();
    up(&mut t, 7);
    let nh = NextHop::ipv4_mapped("10.0.0.2".parse().unwrap());
    t.handle(Input::Update {
        peer: PEER.parse().unwrap(),
        session: 7,
        body: body(Family::VPNV6, nh, vpn6_route()),
    });
    let tab = t.table(Family::VPNV6);
    assert_eq!(tab.routes.len(), 1);
    let r = &tab.routes[0];
    assert_eq!(r.rd.as_deref(), Some("200:1"));
    assert_eq!(r.prefix, "2001:db8:a::/48");
    assert_eq!(r.labels, vec![1000]);
    assert_eq!(r.next_hop, Some("::ffff:10.0.0.2".parse().unwrap()));
    assert!(r.valid && r.best && !r.internal);
    assert_eq!(r.as_path, "200");
    assert_eq!(r.origin, "i");
    let text = crate::display::routing_table(
        &tab,
        crate::display::TableKind::Vpnv6,
        tern_types::Notation::Dot,
    );
    assert!(text.contains(" Route Distinguisher: 200:1\n"), "{text}");
    assert!(text.contains(" *>  Network  : 2001:DB8:A::"), "{text}");
    assert!(text.contains("     NextHop  : ::FFFF:10.0.0.2 "), "{text}");
    assert!(text.contains("     Label    : 1000\n"), "{text}");
    assert!(text.contains("     Path/Ogn : 200i\n"), "{text}");

    // A message of an older session is ignored; the session's end withdraws the routes.
    t.handle(Input::PeerDown {
        peer: PEER.parse().unwrap(),
        session: 6,
    });
    assert_eq!(t.table(Family::VPNV6).routes.len(), 1);
    t.handle(Input::PeerDown {
        peer: PEER.parse().unwrap(),
        session: 7,
    });
    assert!(t.table(Family::VPNV6).routes.is_empty());
    assert_eq!(t.rib().counts(Family::VPNV6), (0, 0));
}

#[test]
fn ipv4_unicast_display() {
    let mut t = task();
    up(&mut t, 1);
    let n = Nlri {
        path_id: None,
        rd: None,
        labels: LabelStack::new(),
        prefix: "192.0.2.0/24".parse().unwrap(),
    };
    t.handle(Input::Update {
        peer: PEER.parse().unwrap(),
        session: 1,
        body: body(
            Family::IPV4_UNICAST,
            NextHop::Ipv4("10.0.0.2".parse().unwrap()),
            n,
        ),
    });
    let tab = t.table(Family::IPV4_UNICAST);
    let text = crate::display::routing_table(
        &tab,
        crate::display::TableKind::Unicast,
        tern_types::Notation::Dot,
    );
    assert!(text.contains(" Total Number of Routes: 1\n"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(" *>   192.0.2.0/24       10.0.0.2")
                && l.ends_with(" 0      200i")),
        "{text}"
    );
}

/// An UPDATE of `PEER` (session 1) announcing 10.x.y.0/24 for `i` = x·256 + y.
pub(super) fn announce_v4(t: &mut Engine, i: u32) {
    let n = Nlri {
        path_id: None,
        rd: None,
        labels: LabelStack::new(),
        prefix: IpNet::new(Ipv4Addr::from(0x0a00_0000 | (i << 8)).into(), 24).unwrap(),
    };
    t.handle(Input::Update {
        peer: PEER.parse().unwrap(),
        session: 1,
        body: body(
            Family::IPV4_UNICAST,
            NextHop::Ipv4("10.0.0.2".parse().unwrap()),
            n,
        ),
    });
}

#[test]
fn a_large_display_is_built_in_steps_between_updates() {
    let mut t = task();
    up(&mut t, 1);
    let n = u32::try_from(2 * WALK_STEP + 10).unwrap();
    for i in 0..n {
        announce_v4(&mut t, i);
    }
    let (reply, rx) = oneshot::channel();
    t.handle(Input::Table {
        vrf: None,
        family: Family::IPV4_UNICAST,
        label: false,
        lookup: None,
        reply,
    });
    assert!(t.walking());
    assert!(t.walk_step());
    assert!(
        rx.try_recv().is_err(),
        "one step does not finish the display"
    );
    // Route processing goes on between steps; a route added meanwhile is shown.
    announce_v4(&mut t, n);
    let mut steps = 1;
    while t.walk_step() {
        steps += 1;
    }
    assert_eq!(steps, 3);
    assert!(!t.walking());
    let shown = rx.try_recv().expect("display done").into_table();
    assert_eq!(shown.destinations, usize::try_from(n).unwrap() + 1);
    assert_eq!(
        shown,
        t.table(Family::IPV4_UNICAST),
        "same rows, same order"
    );
    // A peer's received routes are read the same way.
    let (reply, rx) = oneshot::channel();
    t.handle(Input::PeerRoutes {
        peer: PEER.parse().unwrap(),
        family: Family::IPV4_UNICAST,
        which: PeerRoutes::Received,
        reply,
    });
    assert!(t.walking());
    while t.walk_step() {}
    let received = rx.try_recv().expect("received routes").into_table();
    assert_eq!(received.destinations, usize::try_from(n).unwrap() + 1);
    assert_eq!(
        Some(received),
        t.peer_routes(
            PEER.parse().unwrap(),
            Family::IPV4_UNICAST,
            PeerRoutes::Received
        )
    );
    // An unknown instance gets no answer (the asker sees None), nothing is queued.
    let (reply, rx) = oneshot::channel();
    t.handle(Input::Table {
        vrf: Some("nosuch".into()),
        family: Family::IPV4_UNICAST,
        label: false,
        lookup: None,
        reply,
    });
    assert!(!t.walking());
    assert!(rx.try_recv().is_err());
}

#[test]
fn labeled_display() {
    let mut t = task();
    up(&mut t, 2);
    let n = Nlri {
        path_id: None,
        rd: None,
        labels: LabelStack::single(Label(300)),
        prefix: "198.51.100.0/24".parse().unwrap(),
    };
    let nh = NextHop::Ipv4("10.0.0.2".parse().unwrap());
    t.handle(Input::Update {
        peer: PEER.parse().unwrap(),
        session: 2,
        body: body(Family::IPV4_LABELED, nh, n),
    });
    let tab = t.table(Family::IPV4_LABELED);
    assert_eq!(tab.routes[0].labels, vec![300]);
    let text = crate::display::routing_table(
        &tab,
        crate::display::TableKind::Labeled,
        tern_types::Notation::Dot,
    );
    assert!(!text.contains("RPKI"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(" *>   198.51.100.0/24    10.0.0.2")),
        "{text}"
    );
}

/// Brings up a peer that is sent routes; returns its writer's receiving end.
fn up_out(
    t: &mut Engine,
    addr: &str,
    asn: u32,
    local: &str,
    rr_client: bool,
    nhi: bool,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::sync_channel::<Bytes>(64);
    t.handle(Input::PeerUp {
        session: new_session(),
        info: PeerInfo {
            addr: addr.parse().unwrap(),
            router_id: addr.parse().unwrap(),
            asn: Asn(asn),
            ebgp: asn != 100,
            rr_client,
            preferred_value: 0,
        },
        ctx: Ctx::default(),
        out: Some(PeerOut {
            tx: Arc::new(tx),
            families: vec![Family::VPNV6],
            ctx: Ctx::default(),
            local: Some(local.parse().unwrap()),
            out: Outbound {
                next_hop_invariable: if nhi { vec![Family::VPNV6] } else { vec![] },
                next_hop_local: vec![],
                ..Outbound::default()
            },
        }),
        vrf: None,
        status: None,
    });
    rx
}

/// Sends what the task queued for `rx`'s peer, as that peer would receive it, into `to`
/// (as received from its peer `from`).
pub(super) fn deliver(t: &mut Engine, rx: &mut mpsc::Receiver<Bytes>, to: &mut Engine, from: &str) {
    loop {
        let mut any = false;
        while t.flush() {
            any = true;
        }
        for m in drain(rx) {
            any = true;
            to.handle(Input::Update {
                peer: from.parse().unwrap(),
                session: to.up[&from.parse::<IpAddr>().unwrap()].session,
                body: m[19..].to_vec(),
            });
        }
        if !any {
            break;
        }
    }
}

/// Runs the task's output until nothing is left to do.
pub(super) fn settle(t: &mut Engine) {
    while t.flush() {}
}

/// A receiving speaker with one peer, `from` in AS `asn`.
pub(super) fn receiver(my_as: u32, from: &str, asn: u32) -> Engine {
    let mut b = Engine::new(rib_config(Some(my_as), Some("9.9.9.9".parse().unwrap())));
    b.handle(Input::Settings(transit()));
    b.handle(Input::PeerUp {
        session: new_session(),
        info: PeerInfo {
            addr: from.parse().unwrap(),
            router_id: from.parse().unwrap(),
            asn: Asn(asn),
            ebgp: asn != my_as,
            rr_client: false,
            preferred_value: 0,
        },
        ctx: Ctx {
            ebgp: asn != my_as,
            ..Ctx::default()
        },
        out: None,
        vrf: None,
        status: None,
    });
    b
}

fn announce_vpn6(t: &mut Engine) {
    let nh = NextHop::ipv4_mapped("10.0.0.2".parse().unwrap());
    let session = t.up[&PEER.parse::<IpAddr>().unwrap()].session;
    t.handle(Input::Update {
        peer: PEER.parse().unwrap(),
        session,
        body: body(Family::VPNV6, nh, vpn6_route()),
    });
}

#[test]
fn best_paths_go_to_ebgp_peers_with_next_hop_self() {
    for nhi in [false, true] {
        let mut t = task();
        up(&mut t, 7);
        let mut rx = up_out(&mut t, "10.0.1.2", 300, "10.0.1.1", false, nhi);
        let mut b = receiver(300, "10.0.1.1", 100);
        // The initial table: empty, then End-of-RIB.
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        assert!(b.table(Family::VPNV6).routes.is_empty());
        announce_vpn6(&mut t);
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        let tab = b.table(Family::VPNV6);
        assert_eq!(tab.routes.len(), 1, "{tab:?}");
        let r = &tab.routes[0];
        assert_eq!(r.as_path, "100 200");
        assert_eq!(r.rd.as_deref(), Some("200:1"));
        // Next hop self comes with a label of ours; next-hop-invariable keeps both.
        if nhi {
            assert_eq!(r.labels, vec![1000]);
        } else {
            assert_eq!(r.labels.len(), 1);
            assert!(r.labels[0] >= FIRST_LABEL, "{:?}", r.labels);
        }
        assert_eq!(r.local_pref, None);
        let nh = if nhi {
            "::ffff:10.0.0.2"
        } else {
            "::ffff:10.0.1.1"
        };
        assert_eq!(r.next_hop, Some(nh.parse().unwrap()), "nhi {nhi}");
        // The source goes down: the route is withdrawn.
        let session = t.up[&PEER.parse::<IpAddr>().unwrap()].session;
        t.handle(Input::PeerDown {
            peer: PEER.parse().unwrap(),
            session,
        });
        deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
        assert!(b.table(Family::VPNV6).routes.is_empty());
    }
}

#[test]
fn a_peer_coming_up_gets_the_table_and_ibgp_rules_apply() {
    let mut t = task();
    up(&mut t, 7);
    announce_vpn6(&mut t);
    // IBGP non-client: LOCAL_PREF 100, no reflection attributes; a VPN route learned
    // from EBGP goes with next hop self and a label of ours (VRP).
    let mut rx = up_out(&mut t, "10.0.1.3", 100, "10.0.1.1", false, false);
    let mut b = receiver(100, "10.0.1.1", 100);
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let tab = b.table(Family::VPNV6);
    assert_eq!(tab.routes.len(), 1, "{tab:?}");
    let r = &tab.routes[0];
    assert_eq!(r.as_path, "200");
    assert_eq!(r.local_pref, Some(100));
    assert_eq!(r.next_hop, Some("::ffff:10.0.1.1".parse().unwrap()));
    assert!(r.labels[0] >= FIRST_LABEL, "{:?}", r.labels);
    // Never back to the sender; IBGP-learned not to another non-client, but to a client
    // with ORIGINATOR_ID and CLUSTER_LIST.
    let session = t.up[&PEER.parse::<IpAddr>().unwrap()].session;
    t.handle(Input::PeerDown {
        peer: PEER.parse().unwrap(),
        session,
    });
    settle(&mut t);
    let n2 = up_out(&mut t, "10.0.1.4", 100, "10.0.1.1", false, false);
    let mut c = up_out(&mut t, "10.0.1.5", 100, "10.0.1.1", true, false);
    settle(&mut t);
    while rx.try_recv().is_ok() || n2.try_recv().is_ok() || c.try_recv().is_ok() {}
    let a = PathAttrs::new(
        Origin::Igp,
        AsPath::empty(true),
        NextHop::ipv4_mapped("10.0.1.3".parse().unwrap()),
    );
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(
            Family::VPNV6,
            &a.next_hop,
            &a.to_wire(true),
            &[vpn6_route()],
            &mut out,
        )
        .unwrap();
    let session = t.up[&"10.0.1.3".parse::<IpAddr>().unwrap()].session;
    t.handle(Input::Update {
        peer: "10.0.1.3".parse().unwrap(),
        session,
        body: out.remove(0).split_off(19),
    });
    let mut cb = receiver(100, "10.0.1.1", 100);
    deliver(&mut t, &mut c, &mut cb, "10.0.1.1");
    assert!(rx.try_recv().is_err(), "back to the sender");
    assert!(n2.try_recv().is_err(), "to a non-client");
    let tab = cb.table(Family::VPNV6);
    assert_eq!(tab.routes.len(), 1, "{tab:?}");
    let set = cb.rib().attrs(
        cb.rib()
            .best(Family::VPNV6, &RouteKey::of_nlri(&vpn6_route()))
            .unwrap()
            .attrs,
    );
    assert_eq!(set.originator_id, Some("10.0.1.3".parse().unwrap()));
    assert_eq!(
        set.cluster_list,
        vec!["10.0.0.1".parse::<Ipv4Addr>().unwrap()]
    );
    // The display shows them.
    let r = &tab.routes[0];
    assert_eq!(r.originator_id, Some("10.0.1.3".parse().unwrap()));
    assert_eq!(r.cluster_list, set.cluster_list);
    // A route received over EBGP has neither.
    let mut t = task();
    up(&mut t, 7);
    announce_vpn6(&mut t);
    let r = &t.table(Family::VPNV6).routes[0];
    assert_eq!((r.originator_id, r.cluster_list.len()), (None, 0));
}

fn vpn1(rd: &str, rt: &str) -> VrfSpec {
    let rt: tern_types::ExtCommunity = rt.parse().unwrap();
    VrfSpec {
        name: "vpn1".into(),
        family: Family::IPV6_UNICAST,
        rd: rd.parse().unwrap(),
        import_rt: vec![rt],
        export_rt: vec![rt],
        label: crate::routing::LabelMode::PerInstance,
    }
}

fn pe_routing(rd: &str, rt: &str, local: &[&str]) -> Arc<Routing> {
    Arc::new(Routing {
        vrfs: vec![vpn1(rd, rt)],
        local: local
            .iter()
            .map(|p| LocalRoute {
                vrf: Some("vpn1".into()),
                prefix: p.parse().unwrap(),
                origin: Origin::Incomplete,
                med: Some(0),
                next_hop: None,
                policy: None,
                labeled: false,
                kernel: false,
            })
            .collect(),
        ..Routing::default()
    })
}

#[test]
fn instance_routes_cross_to_the_remote_instance() {
    // PE1 (AS 100) exports vpn1's direct route as VPNv6 to PE2 (AS 200), which imports
    // it into its vpn1 (route target 1:1).
    let mut pe1 = Engine::new(rib_config(Some(100), Some("1.1.1.9".parse().unwrap())));
    pe1.handle(Input::Settings(pe_routing(
        "100:1",
        "1:1",
        &["2001:db8:1::/64"],
    )));
    let vpn = pe1.table(Family::VPNV6);
    assert_eq!(vpn.routes.len(), 1, "{vpn:?}");
    assert_eq!(vpn.routes[0].rd.as_deref(), Some("100:1"));
    assert_eq!(vpn.routes[0].origin, "?");
    let label = vpn.routes[0].labels.clone();
    assert_eq!(label.len(), 1);
    let mut rx = up_out(&mut pe1, "4.4.4.9", 200, "1.1.1.9", false, false);
    let mut pe2 = receiver(200, "1.1.1.9", 100);
    pe2.handle(Input::Settings(pe_routing("200:1", "1:1", &[])));
    deliver(&mut pe1, &mut rx, &mut pe2, "1.1.1.9");
    let got = pe2.table_of(Some("vpn1"), Family::IPV6_UNICAST).unwrap();
    assert_eq!(got.routes.len(), 1, "{got:?}");
    let r = &got.routes[0];
    assert_eq!(r.prefix, "2001:db8:1::/64");
    assert_eq!(r.next_hop, Some("::ffff:1.1.1.9".parse().unwrap()));
    assert_eq!(r.labels, label);
    assert_eq!(r.as_path, "100");
    assert!(r.best && r.valid);
    // The VPN table keeps it under PE1's RD.
    let v = pe2.table(Family::VPNV6);
    assert_eq!(v.routes[0].rd.as_deref(), Some("100:1"));

    // A second route under a route target no local instance imports: not kept
    // (policy vpn-target), not imported.
    pe1.handle(Input::Settings(pe_routing(
        "100:1",
        "1:1",
        &["2001:db8:1::/64", "2001:db8:9::/64"],
    )));
    deliver(&mut pe1, &mut rx, &mut pe2, "1.1.1.9");
    assert_eq!(
        pe2.table_of(Some("vpn1"), Family::IPV6_UNICAST)
            .unwrap()
            .routes
            .len(),
        2
    );
    let mut other = Engine::new(rib_config(Some(200), Some("4.4.4.9".parse().unwrap())));
    other.handle(Input::Settings(pe_routing("200:1", "7:7", &[])));
    other.handle(Input::PeerUp {
        session: new_session(),
        info: PeerInfo {
            addr: "1.1.1.9".parse().unwrap(),
            router_id: "1.1.1.9".parse().unwrap(),
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
    let mut rx_other = up_out(&mut pe1, "4.4.4.10", 200, "1.1.1.9", false, false);
    deliver(&mut pe1, &mut rx_other, &mut other, "1.1.1.9");
    // Refused by route-target filtering: kept in the Adj-RIB-In (received routes), not in
    // the routing table.
    let o = other
        .peer_routes(
            "1.1.1.9".parse().unwrap(),
            Family::VPNV6,
            PeerRoutes::Received,
        )
        .unwrap();
    assert_eq!(o.routes.len(), 2, "kept in the Adj-RIB-In: {o:?}");
    assert!(o.routes.iter().all(|r| !r.valid), "{o:?}");
    assert!(other.table(Family::VPNV6).routes.is_empty());
    assert!(
        other
            .table_of(Some("vpn1"), Family::IPV6_UNICAST)
            .unwrap()
            .routes
            .is_empty()
    );

    // The instance route goes away: withdrawn from PE2's instance.
    pe1.handle(Input::Settings(pe_routing(
        "100:1",
        "1:1",
        &["2001:db8:9::/64"],
    )));
    deliver(&mut pe1, &mut rx, &mut pe2, "1.1.1.9");
    let got = pe2.table_of(Some("vpn1"), Family::IPV6_UNICAST).unwrap();
    assert_eq!(got.routes.len(), 1, "{got:?}");
    assert_eq!(got.routes[0].prefix, "2001:db8:9::/64");
}

/// Brings up an out peer with the given families.
pub(super) fn up_peer(
    t: &mut Engine,
    addr: &str,
    asn: u32,
    local: &str,
    families: Vec<Family>,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::sync_channel::<Bytes>(64);
    let my_as = t.rib.config().local_as.0;
    t.handle(Input::PeerUp {
        session: new_session(),
        info: PeerInfo {
            addr: addr.parse().unwrap(),
            router_id: addr.parse().unwrap(),
            asn: Asn(asn),
            ebgp: asn != my_as,
            rr_client: false,
            preferred_value: 0,
        },
        ctx: Ctx {
            ebgp: asn != my_as,
            ..Ctx::default()
        },
        out: Some(PeerOut {
            tx: Arc::new(tx),
            families,
            ctx: Ctx::default(),
            local: Some(local.parse().unwrap()),
            out: Outbound::default(),
        }),
        vrf: None,
        status: None,
    });
    rx
}

/// The vendor's option C ASBR policies (ipv6-option-c-s1/ASBR1.cfg).
const ASBR_POLICIES: &str = "route-policy policy1 permit node 1\n apply mpls-label\n#\nroute-policy policy2 permit node 1\n if-match mpls-label\n apply mpls-label\n#\nreturn\n";

fn asbr_routing(network: &str, ebgp: &str, ibgp: &str) -> Arc<Routing> {
    let cfg = tern_config::parse_file(ASBR_POLICIES).unwrap();
    let pol = |addr: &str, name: &str| crate::routing::PeerPolicy {
        addr: addr.parse().unwrap(),
        family: Family::IPV4_LABELED,
        import: None,
        export: Some(name.into()),
        import_filters: Default::default(),
        export_filters: Default::default(),
    };
    Arc::new(Routing {
        local: vec![LocalRoute {
            vrf: None,
            prefix: network.parse().unwrap(),
            origin: Origin::Igp,
            med: Some(0),
            next_hop: None,
            policy: None,
            labeled: false,
            kernel: false,
        }],
        policies: tern_policy::Policies::new(&cfg),
        peer_policies: vec![pol(ebgp, "policy1"), pol(ibgp, "policy2")],
        ..Routing::default()
    })
}

#[test]
fn option_c_labeled_routes_follow_the_vendor_policies() {
    // ASBR1 (AS 100) advertises PE1's loopback to ASBR2 (AS 200) labeled (policy1:
    // apply mpls-label); ASBR2 passes it to PE2 over IBGP with next hop self and a new
    // label (policy2: labeled routes only), and keeps its own unlabeled network route
    // from PE2.
    let mut asbr1 = Engine::new(rib_config(Some(100), Some("2.2.2.9".parse().unwrap())));
    asbr1.handle(Input::Settings(asbr_routing(
        "1.1.1.9/32",
        "10.21.1.2",
        "1.1.1.9",
    )));
    let mut to_asbr2 = up_peer(
        &mut asbr1,
        "10.21.1.2",
        200,
        "10.21.1.1",
        vec![Family::IPV4_LABELED],
    );
    let mut asbr2 = Engine::new(rib_config(Some(200), Some("3.3.3.9".parse().unwrap())));
    asbr2.handle(Input::Settings(asbr_routing(
        "4.4.4.9/32",
        "10.21.1.1",
        "4.4.4.9",
    )));
    asbr2.handle(Input::PeerUp {
        session: new_session(),
        info: PeerInfo {
            addr: "10.21.1.1".parse().unwrap(),
            router_id: "2.2.2.9".parse().unwrap(),
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
    deliver(&mut asbr1, &mut to_asbr2, &mut asbr2, "10.21.1.1");
    let lab = asbr2.table(Family::IPV4_LABELED);
    assert_eq!(lab.routes.len(), 1, "{lab:?}");
    let r = &lab.routes[0];
    assert_eq!(r.prefix, "1.1.1.9/32");
    assert_eq!(r.next_hop, Some("10.21.1.1".parse().unwrap()));
    assert_eq!(r.as_path, "100");
    let asbr1_label = r.labels.clone();
    assert!(asbr1_label[0] >= FIRST_LABEL, "{r:?}");

    let mut to_pe2 = up_peer(
        &mut asbr2,
        "4.4.4.9",
        200,
        "3.3.3.9",
        vec![Family::IPV4_LABELED],
    );
    let mut pe2 = receiver(200, "3.3.3.9", 200);
    deliver(&mut asbr2, &mut to_pe2, &mut pe2, "3.3.3.9");
    let lab = pe2.table(Family::IPV4_LABELED);
    assert_eq!(lab.routes.len(), 1, "only the labeled route: {lab:?}");
    let r = &lab.routes[0];
    assert_eq!(r.prefix, "1.1.1.9/32");
    assert_eq!(r.next_hop, Some("3.3.3.9".parse().unwrap()));
    assert_eq!(r.local_pref, Some(100));
    // ASBR2's own label for the route (each router allocates from its own range).
    let mine = asbr2
        .labels
        .swapped(
            Family::IPV4_LABELED,
            &RouteKey::new("1.1.1.9/32".parse().unwrap()),
        )
        .unwrap();
    assert_eq!(r.labels, vec![mine.0], "{r:?}");

    // `display bgp routing-table label` as the vendor shows it: on ASBR1 PE1's loopback
    // with next hop 0.0.0.0, an in-label and out-label NULL; on ASBR2 with ASBR1 as next
    // hop, ASBR2's in-label and ASBR1's as out-label.
    let t1 = asbr1.label_table(Family::IPV4_LABELED);
    assert_eq!(t1.routes.len(), 1, "{t1:?}");
    assert_eq!(t1.routes[0].in_label, Some(asbr1_label[0]));
    assert!(t1.routes[0].labels.is_empty());
    let text = crate::display::routing_table(
        &t1,
        crate::display::TableKind::Label,
        tern_types::Notation::Dot,
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(" *>     1.1.1.9           0.0.0.0")
                && l.ends_with(&format!("{}/NULL", asbr1_label[0]))),
        "{text}"
    );
    let t2 = asbr2.label_table(Family::IPV4_LABELED);
    assert_eq!(t2.routes.len(), 1, "{t2:?}");
    assert_eq!(t2.routes[0].in_label, Some(mine.0));
    assert_eq!(t2.routes[0].labels, asbr1_label);

    // ASBR1's network route goes: withdrawn all the way, labels freed.
    asbr1.handle(Input::Settings(asbr_routing(
        "1.1.1.8/32",
        "10.21.1.2",
        "1.1.1.9",
    )));
    deliver(&mut asbr1, &mut to_asbr2, &mut asbr2, "10.21.1.1");
    deliver(&mut asbr2, &mut to_pe2, &mut pe2, "3.3.3.9");
    let lab = pe2.table(Family::IPV4_LABELED);
    assert_eq!(lab.routes.len(), 1, "{lab:?}");
    assert_eq!(lab.routes[0].prefix, "1.1.1.8/32");
}

#[test]
fn export_policy_changes_apply_without_a_reset() {
    // A route-policy that denies 10.0.0.0/8 and longer, then a commit that removes the
    // deny node: the route is sent on the same session.
    let text = |deny: bool| {
        let mut t = String::from(
            "ip ip-prefix p1 index 10 permit 10.0.0.0 8 greater-equal 8 less-equal 32\n#\n",
        );
        if deny {
            t.push_str("route-policy out deny node 10\n if-match ip-prefix p1\n#\n");
        }
        t.push_str("route-policy out permit node 20\n apply cost 55\n#\nreturn\n");
        t
    };
    let routing = |deny: bool| {
        let cfg = tern_config::parse_file(&text(deny)).unwrap();
        Arc::new(Routing {
            local: ["10.1.0.0/16", "192.0.2.0/24"]
                .iter()
                .map(|p| LocalRoute {
                    vrf: None,
                    prefix: p.parse().unwrap(),
                    origin: Origin::Igp,
                    med: Some(0),
                    next_hop: None,
                    policy: None,
                    labeled: false,
                    kernel: false,
                })
                .collect(),
            policies: tern_policy::Policies::new(&cfg),
            peer_policies: vec![crate::routing::PeerPolicy {
                addr: "10.0.1.2".parse().unwrap(),
                family: Family::IPV4_UNICAST,
                import: None,
                export: Some("out".into()),
                import_filters: Default::default(),
                export_filters: Default::default(),
            }],
            ..Routing::default()
        })
    };
    let mut t = Engine::new(rib_config(Some(100), Some("10.0.1.1".parse().unwrap())));
    t.handle(Input::Settings(routing(true)));
    let mut rx = up_peer(
        &mut t,
        "10.0.1.2",
        300,
        "10.0.1.1",
        vec![Family::IPV4_UNICAST],
    );
    let mut b = receiver(300, "10.0.1.1", 100);
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let tab = b.table(Family::IPV4_UNICAST);
    assert_eq!(tab.routes.len(), 1, "{tab:?}");
    assert_eq!(tab.routes[0].prefix, "192.0.2.0/24");
    assert_eq!(tab.routes[0].med, Some(55));
    assert_eq!(tab.routes[0].next_hop, Some("10.0.1.1".parse().unwrap()));
    t.handle(Input::Settings(routing(false)));
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let tab = b.table(Family::IPV4_UNICAST);
    assert_eq!(tab.routes.len(), 2, "{tab:?}");
    t.handle(Input::Settings(routing(true)));
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    assert_eq!(b.table(Family::IPV4_UNICAST).routes.len(), 1);
}

#[test]
fn export_filters_apply_and_follow_their_lists() {
    // `peer X ip-prefix p1 export` and `peer X as-path-filter 1 export` before the export
    // route-policy: a local route (empty AS path) must pass the prefix list, the AS_Path
    // filter and the policy. Editing the prefix list sends the table again.
    let text = |len: u32| {
        format!(
            "ip ip-prefix p1 index 10 permit 192.0.2.0 {len}\n#\n\
             ip as-path-filter 1 index 10 permit ^$\n#\n\
             route-policy out permit node 10\n apply cost 55\n#\nreturn\n"
        )
    };
    let routing = |len: u32| {
        let cfg = tern_config::parse_file(&text(len)).unwrap();
        Arc::new(Routing {
            local: ["10.1.0.0/16", "192.0.2.0/24"]
                .iter()
                .map(|p| LocalRoute {
                    vrf: None,
                    prefix: p.parse().unwrap(),
                    origin: Origin::Igp,
                    med: Some(0),
                    next_hop: None,
                    policy: None,
                    labeled: false,
                    kernel: false,
                })
                .collect(),
            policies: tern_policy::Policies::new(&cfg),
            peer_policies: vec![crate::routing::PeerPolicy {
                addr: "10.0.1.2".parse().unwrap(),
                family: Family::IPV4_UNICAST,
                import: None,
                export: Some("out".into()),
                import_filters: Default::default(),
                export_filters: tern_policy::PeerFilters {
                    as_path: Some("1".into()),
                    prefix: Some("p1".into()),
                },
            }],
            ..Routing::default()
        })
    };
    let mut t = Engine::new(rib_config(Some(100), Some("10.0.1.1".parse().unwrap())));
    t.handle(Input::Settings(routing(24)));
    let mut rx = up_peer(
        &mut t,
        "10.0.1.2",
        300,
        "10.0.1.1",
        vec![Family::IPV4_UNICAST],
    );
    let mut b = receiver(300, "10.0.1.1", 100);
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let tab = b.table(Family::IPV4_UNICAST);
    assert_eq!(tab.routes.len(), 1, "{tab:?}");
    assert_eq!(tab.routes[0].prefix, "192.0.2.0/24");
    assert_eq!(tab.routes[0].med, Some(55));
    // The list now permits 192.0.2.0/25 only: the route is withdrawn.
    t.handle(Input::Settings(routing(25)));
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    assert_eq!(b.table(Family::IPV4_UNICAST).routes.len(), 0);
}

#[test]
fn a_policy_edit_reruns_only_the_peers_that_use_it() {
    // Two EBGP peers, each with its own export policy; a commit edits the first one's. The
    // first is sent its table again with the new policy, the second is sent nothing.
    let text = |cost: u32| {
        format!(
            "route-policy a permit node 10\n apply cost {cost}\n#\nroute-policy b permit node 10\n apply cost 7\n#\nreturn\n"
        )
    };
    let routing = |cost: u32| {
        let cfg = tern_config::parse_file(&text(cost)).unwrap();
        let pol = |addr: &str, name: &str| crate::routing::PeerPolicy {
            addr: addr.parse().unwrap(),
            family: Family::IPV4_UNICAST,
            import: None,
            export: Some(name.into()),
            import_filters: Default::default(),
            export_filters: Default::default(),
        };
        Arc::new(Routing {
            local: vec![LocalRoute {
                vrf: None,
                prefix: "192.0.2.0/24".parse().unwrap(),
                origin: Origin::Igp,
                med: Some(0),
                next_hop: None,
                policy: None,
                labeled: false,
                kernel: false,
            }],
            policies: tern_policy::Policies::new(&cfg),
            peer_policies: vec![pol("10.0.1.2", "a"), pol("10.0.2.2", "b")],
            ..Routing::default()
        })
    };
    let mut t = Engine::new(rib_config(Some(100), Some("10.0.1.1".parse().unwrap())));
    t.handle(Input::Settings(routing(11)));
    let mut ra = up_peer(
        &mut t,
        "10.0.1.2",
        300,
        "10.0.1.1",
        vec![Family::IPV4_UNICAST],
    );
    let mut rb = up_peer(
        &mut t,
        "10.0.2.2",
        400,
        "10.0.2.1",
        vec![Family::IPV4_UNICAST],
    );
    let mut a = receiver(300, "10.0.1.1", 100);
    let mut b = receiver(400, "10.0.2.1", 100);
    deliver(&mut t, &mut ra, &mut a, "10.0.1.1");
    deliver(&mut t, &mut rb, &mut b, "10.0.2.1");
    assert_eq!(a.table(Family::IPV4_UNICAST).routes[0].med, Some(11));
    assert_eq!(b.table(Family::IPV4_UNICAST).routes[0].med, Some(7));
    t.handle(Input::Commit {
        routing: routing(22),
        scope: PolicyScope {
            import: vec![],
            export: vec!["10.0.1.2".parse().unwrap()],
            policies: vec!["a".into()],
        },
    });
    settle(&mut t);
    assert!(
        drain(&mut rb).is_empty(),
        "the other peer is not sent its table again"
    );
    deliver(&mut t, &mut ra, &mut a, "10.0.1.1");
    assert_eq!(a.table(Family::IPV4_UNICAST).routes[0].med, Some(22));
    // Without a scope (a rollback, the start), every peer is re-run.
    t.handle(Input::Settings(routing(33)));
    settle(&mut t);
    assert!(!drain(&mut rb).is_empty());
}

/// An IBGP reflector client of `t` with a writer queue of `cap` messages.
fn client(t: &mut Engine, addr: &str, cap: usize) -> mpsc::Receiver<Bytes> {
    client_with(t, addr, cap, Outbound::default())
}

/// An IBGP reflector client with outbound options.
pub(super) fn client_with(
    t: &mut Engine,
    addr: &str,
    cap: usize,
    options: Outbound,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::sync_channel::<Bytes>(cap);
    t.handle(Input::PeerUp {
        session: new_session(),
        info: PeerInfo {
            addr: addr.parse().unwrap(),
            router_id: addr.parse().unwrap(),
            asn: Asn(100),
            ebgp: false,
            rr_client: true,
            preferred_value: 0,
        },
        ctx: Ctx::default(),
        out: Some(PeerOut {
            tx: Arc::new(tx),
            families: vec![Family::IPV4_UNICAST],
            ctx: Ctx::default(),
            local: Some("10.0.0.1".parse().unwrap()),
            out: options,
        }),
        vrf: None,
        status: None,
    });
    rx
}

/// `n` routes from client `from`, each with its own MED (one UPDATE each).
fn announce_many(t: &mut Engine, from: &str, n: u32) {
    let session = t.up[&from.parse::<IpAddr>().unwrap()].session;
    for i in 0..n {
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::Ipv4(from.parse().unwrap()),
        );
        a.med = Some(i);
        a.local_pref = Some(100);
        let n = Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::new(),
            prefix: format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap(),
        };
        let mut out = Vec::new();
        UpdateBuilder::new(&Ctx::default())
            .reach(
                Family::IPV4_UNICAST,
                &a.next_hop,
                &a.to_wire(true),
                &[n],
                &mut out,
            )
            .unwrap();
        t.handle(Input::Update {
            peer: from.parse().unwrap(),
            session,
            body: out.remove(0).split_off(19),
        });
    }
}

/// The messages queued for a writer, one by one (an entry may hold several).
pub(super) fn drain(rx: &mut mpsc::Receiver<Bytes>) -> Vec<Bytes> {
    let mut v = Vec::new();
    while let Ok(m) = rx.try_recv() {
        for f in tern_wire::message::frames(&m) {
            v.push(m.slice_ref(f.expect("whole messages").bytes));
        }
    }
    v
}

#[test]
fn update_group_members_share_the_same_bytes_and_never_get_their_own_routes() {
    let mut t = task();
    let mut a = client(&mut t, "10.0.0.11", 64);
    let mut b = client(&mut t, "10.0.0.12", 64);
    let mut c = client(&mut t, "10.0.0.13", 64);
    settle(&mut t);
    assert_eq!(t.adj.sizes(), vec![3], "one update group");
    // End-of-RIB for each.
    assert_eq!(drain(&mut a).len(), 1);
    assert_eq!(drain(&mut b).len(), 1);
    assert_eq!(drain(&mut c).len(), 1);
    announce_many(&mut t, "10.0.0.11", 3);
    settle(&mut t);
    let (mb, mc) = (drain(&mut b), drain(&mut c));
    assert_eq!(mb.len(), 3);
    assert_eq!(mc.len(), 3);
    for (x, y) in mb.iter().zip(&mc) {
        assert_eq!(x.as_ptr(), y.as_ptr(), "encoded once, shared");
    }
    assert!(
        drain(&mut a).is_empty(),
        "split horizon: not back to the source"
    );
    // The displays agree: what A sent, what B is sent, nothing for A.
    let pa: IpAddr = "10.0.0.11".parse().unwrap();
    let pb: IpAddr = "10.0.0.12".parse().unwrap();
    let rcv = t
        .peer_routes(pa, Family::IPV4_UNICAST, PeerRoutes::Received)
        .unwrap();
    assert_eq!(rcv.routes.len(), 3);
    let adv = t
        .peer_routes(pb, Family::IPV4_UNICAST, PeerRoutes::Advertised)
        .unwrap();
    assert_eq!(adv.routes.len(), 3, "{adv:?}");
    assert_eq!(
        adv.routes[0].originator_id,
        Some("10.0.0.11".parse().unwrap())
    );
    assert_eq!(
        adv.routes[0].cluster_list,
        vec!["10.0.0.1".parse::<Ipv4Addr>().unwrap()]
    );
    let none = t
        .peer_routes(pa, Family::IPV4_UNICAST, PeerRoutes::Advertised)
        .unwrap();
    assert!(none.routes.is_empty(), "{none:?}");
}

#[test]
fn a_slow_member_never_holds_back_its_group_and_catches_up() {
    let mut t = task();
    let _a = client(&mut t, "10.0.0.11", 64);
    let mut slow = client(&mut t, "10.0.0.12", 1);
    let mut fast = client(&mut t, "10.0.0.13", 4096);
    settle(&mut t);
    drain(&mut slow);
    drain(&mut fast);
    let n = 3000;
    announce_many(&mut t, "10.0.0.11", n);
    // The fast member gets everything while the slow one reads nothing.
    let mut got = 0usize;
    for _ in 0..1000 {
        let progressed = t.flush();
        got += drain(&mut fast).len();
        if !progressed {
            break;
        }
    }
    assert_eq!(got, n as usize, "the fast member is not held back");
    // The slow member's pending work is bounded by the destinations, not the messages:
    // reading it now brings every route.
    let mut b = receiver(100, "10.0.0.1", 100);
    deliver(&mut t, &mut slow, &mut b, "10.0.0.1");
    assert_eq!(b.rib().counts(Family::IPV4_UNICAST).0, n as usize);
    assert!(!t.has_work());
}

/// The prefixes a receiving speaker holds in IPv4 unicast.
fn held(b: &Engine) -> std::collections::BTreeSet<IpNet> {
    b.rib()
        .loc_rib(Family::IPV4_UNICAST)
        .into_iter()
        .map(|(k, _)| k.prefix)
        .collect()
}

#[test]
fn a_joining_member_walks_the_table_instead_of_copying_it() {
    let mut t = task();
    let _a = client(&mut t, "10.0.0.11", 4096);
    settle(&mut t);
    let n = 6000;
    announce_many(&mut t, "10.0.0.11", n);
    settle(&mut t);
    // A member joins a table of 6000 destinations: nothing is queued for it up front.
    let mut late = client(&mut t, "10.0.0.12", 2);
    let pl: IpAddr = "10.0.0.12".parse().unwrap();
    assert_eq!(t.adj.catching_up(pl), Some(0), "no copy of the table");
    // While it walks (its writer holds two entries), routes change behind and ahead of
    // its position: withdrawals move destinations down the table, new ones are appended.
    let mut b = receiver(100, "10.0.0.1", 100);
    let mut steps = 0;
    let session = t.up[&"10.0.0.11".parse::<IpAddr>().unwrap()].session;
    loop {
        let progressed = t.flush();
        let got = drain(&mut late);
        for m in &got {
            b.handle(Input::Update {
                peer: "10.0.0.1".parse().unwrap(),
                session: b.up[&"10.0.0.1".parse::<IpAddr>().unwrap()].session,
                body: m[19..].to_vec(),
            });
        }
        steps += 1;
        if steps <= 2 {
            assert!(t.adj.catching_up(pl).is_some(), "still walking");
            // Withdraw a spread of destinations (some walked, some not), announce new
            // ones (appended behind the walk).
            let gone: Vec<Nlri> = (0..n)
                .step_by(97 + steps)
                .map(|i| Nlri {
                    path_id: None,
                    rd: None,
                    labels: LabelStack::new(),
                    prefix: format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap(),
                })
                .collect();
            let mut out = Vec::new();
            UpdateBuilder::new(&Ctx::default())
                .withdraw(Family::IPV4_UNICAST, &gone, &mut out)
                .unwrap();
            for m in out {
                t.handle(Input::Update {
                    peer: "10.0.0.11".parse().unwrap(),
                    session,
                    body: m[19..].to_vec(),
                });
            }
            let mut a = PathAttrs::new(
                Origin::Igp,
                AsPath::empty(true),
                NextHop::Ipv4("10.0.0.11".parse().unwrap()),
            );
            a.local_pref = Some(100);
            let fresh: Vec<Nlri> = (0..50u32)
                .map(|i| Nlri {
                    path_id: None,
                    rd: None,
                    labels: LabelStack::new(),
                    prefix: format!("172.16.{}.{}/32", steps, i).parse().unwrap(),
                })
                .collect();
            let mut out = Vec::new();
            UpdateBuilder::new(&Ctx::default())
                .reach(
                    Family::IPV4_UNICAST,
                    &a.next_hop,
                    &a.to_wire(true),
                    &fresh,
                    &mut out,
                )
                .unwrap();
            for m in out {
                t.handle(Input::Update {
                    peer: "10.0.0.11".parse().unwrap(),
                    session,
                    body: m[19..].to_vec(),
                });
            }
        }
        // What it waits with stays bounded by the changes, never the table.
        assert!(t.adj.catching_up(pl).unwrap_or(0) <= 200);
        if !progressed && got.is_empty() {
            break;
        }
    }
    assert!(steps > 3, "the walk took several steps ({steps})");
    let expected = held(&t);
    assert!(expected.len() > 5000);
    assert_eq!(held(&b), expected, "the member holds exactly the Loc-RIB");
    assert!(!t.has_work());
}

#[test]
fn a_route_too_large_for_a_peer_is_withdrawn_from_it() {
    let mut t = task();
    let _a = client(&mut t, "10.0.0.11", 64);
    // Communities make the route large: the client is sent them.
    let mut c = client_with(
        &mut t,
        "10.0.0.12",
        64,
        Outbound {
            advertise_community: vec![Family::IPV4_UNICAST],
            ..Outbound::default()
        },
    );
    settle(&mut t);
    let mut b = receiver(100, "10.0.0.1", 100);
    deliver(&mut t, &mut c, &mut b, "10.0.0.1");
    let session = t.up[&"10.0.0.11".parse::<IpAddr>().unwrap()].session;
    let send = |t: &mut Engine, communities: u32| {
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::Ipv4("10.0.0.11".parse().unwrap()),
        );
        a.local_pref = Some(100);
        a.communities = (0..communities).map(|i| 65000 << 16 | i).collect();
        let n = Nlri::unicast("192.0.2.0/24".parse().unwrap());
        let ctx = Ctx {
            extended_message: true,
            ..Ctx::default()
        };
        let mut out = Vec::new();
        UpdateBuilder::new(&ctx)
            .reach(
                Family::IPV4_UNICAST,
                &a.next_hop,
                &a.to_wire(true),
                &[n],
                &mut out,
            )
            .unwrap();
        t.handle(Input::Update {
            peer: "10.0.0.11".parse().unwrap(),
            session,
            body: out.remove(0).split_off(19),
        });
    };
    send(&mut t, 2);
    deliver(&mut t, &mut c, &mut b, "10.0.0.1");
    assert_eq!(held(&b).len(), 1, "the route as first announced");
    // Re-announced with 1100 communities (4400 octets): more than a 4096-octet UPDATE
    // holds for a peer without the Extended Message capability.
    send(&mut t, 1100);
    deliver(&mut t, &mut c, &mut b, "10.0.0.1");
    assert!(held(&b).is_empty(), "the old path is withdrawn");
    // Small again: announced again.
    send(&mut t, 3);
    deliver(&mut t, &mut c, &mut b, "10.0.0.1");
    assert_eq!(held(&b).len(), 1);
}

fn readvertise(t: &mut Engine, peer: &str, reflect_client: bool, nhi: bool) {
    t.handle(Input::Readvertise {
        peer: peer.parse().unwrap(),
        reflect_client,
        out: Outbound {
            next_hop_invariable: if nhi { vec![Family::VPNV6] } else { vec![] },
            next_hop_local: vec![],
            ..Outbound::default()
        },
    });
}

#[test]
fn a_changed_next_hop_invariable_is_readvertised() {
    let mut t = task();
    up(&mut t, 7);
    announce_vpn6(&mut t);
    let mut rx = up_out(&mut t, "10.0.1.2", 300, "10.0.1.1", false, true);
    let mut b = receiver(300, "10.0.1.1", 100);
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let r = &b.table(Family::VPNV6).routes[0];
    assert_eq!(r.next_hop, Some("::ffff:10.0.0.2".parse().unwrap()));
    assert_eq!(r.labels, vec![1000]);
    // `undo peer 10.0.1.2 next-hop-invariable`: next hop self, a label of ours.
    readvertise(&mut t, "10.0.1.2", false, false);
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let tab = b.table(Family::VPNV6);
    assert_eq!(tab.routes.len(), 1, "{tab:?}");
    let r = &tab.routes[0];
    assert_eq!(r.next_hop, Some("::ffff:10.0.1.1".parse().unwrap()));
    assert!(r.labels[0] >= FIRST_LABEL, "{:?}", r.labels);
    // And back.
    readvertise(&mut t, "10.0.1.2", false, true);
    deliver(&mut t, &mut rx, &mut b, "10.0.1.1");
    let r = &b.table(Family::VPNV6).routes[0];
    assert_eq!(r.next_hop, Some("::ffff:10.0.0.2".parse().unwrap()));
    assert_eq!(r.labels, vec![1000]);
    // A peer that is not up is left alone.
    readvertise(&mut t, "10.9.9.9", false, false);
    assert!(!t.has_work());
}

#[test]
fn a_new_reflect_client_gets_the_reflected_routes() {
    // A route from IBGP non-client N1 does not go to non-client N2 until N2 becomes a
    // client; then it comes with the reflection attributes, and leaves again after.
    let mut t = task();
    let _n1 = up_out(&mut t, "10.0.1.3", 100, "10.0.1.1", false, false);
    let mut n2 = up_out(&mut t, "10.0.1.4", 100, "10.0.1.1", false, false);
    let mut b = receiver(100, "10.0.1.1", 100);
    deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
    let a = PathAttrs::new(
        Origin::Igp,
        AsPath::empty(true),
        NextHop::ipv4_mapped("10.0.1.3".parse().unwrap()),
    );
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(
            Family::VPNV6,
            &a.next_hop,
            &a.to_wire(true),
            &[vpn6_route()],
            &mut out,
        )
        .unwrap();
    let session = t.up[&"10.0.1.3".parse::<IpAddr>().unwrap()].session;
    t.handle(Input::Update {
        peer: "10.0.1.3".parse().unwrap(),
        session,
        body: out.remove(0).split_off(19),
    });
    deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
    assert!(b.table(Family::VPNV6).routes.is_empty());
    readvertise(&mut t, "10.0.1.4", true, false);
    deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
    let tab = b.table(Family::VPNV6);
    assert_eq!(tab.routes.len(), 1, "{tab:?}");
    assert_eq!(
        tab.routes[0].originator_id,
        Some("10.0.1.3".parse().unwrap())
    );
    readvertise(&mut t, "10.0.1.4", false, false);
    deliver(&mut t, &mut n2, &mut b, "10.0.1.1");
    assert!(b.table(Family::VPNV6).routes.is_empty());
}

/// The UPDATEs among messages: (announced prefixes, withdrawn prefixes, End-of-RIB markers).
fn tally(msgs: &[Bytes]) -> (usize, usize, usize) {
    let (mut reach, mut gone, mut eor) = (0, 0, 0);
    for m in msgs {
        let Some(Ok(f)) = tern_wire::message::frames(m).next() else {
            continue;
        };
        let Ok(tern_wire::Message::Update(u)) = tern_wire::Message::decode(f) else {
            continue;
        };
        let parsed = u.parse(&Ctx::default());
        if parsed.end_of_rib().is_some() {
            eor += 1;
            continue;
        }
        let d = Digest::of(&parsed);
        gone += d.withdrawn.len();
        reach += d.reach.iter().map(|r| r.routes.len()).sum::<usize>();
    }
    (reach, gone, eor)
}

#[test]
fn a_route_refresh_sends_the_family_again_and_only_to_the_asker() {
    let mut t = task();
    let _a = client(&mut t, "10.0.0.11", 4096);
    let mut b = client(&mut t, "10.0.0.12", 4096);
    let mut c = client(&mut t, "10.0.0.13", 4096);
    announce_many(&mut t, "10.0.0.11", 300);
    settle(&mut t);
    assert_eq!(tally(&drain(&mut b)), (300, 0, 1));
    drain(&mut c);
    let pb: IpAddr = "10.0.0.12".parse().unwrap();
    let session = t.up[&pb].session;
    // A family the peer is not sent, or an old session: nothing.
    for (family, session) in [(Family::VPNV4, session), (Family::IPV4_UNICAST, 0)] {
        t.handle(Input::Refresh {
            peer: pb,
            session,
            family,
            enhanced: false,
        });
        settle(&mut t);
        assert!(drain(&mut b).is_empty());
    }
    t.handle(Input::Refresh {
        peer: pb,
        session,
        family: Family::IPV4_UNICAST,
        enhanced: false,
    });
    // Routes that come meanwhile (10 new ones) still reach both: from the walk or after it.
    announce_many(&mut t, "10.0.0.11", 310);
    settle(&mut t);
    let (reach, gone, eor) = tally(&drain(&mut b));
    assert_eq!(
        (gone, eor),
        (0, 0),
        "a refresh withdraws nothing, no End-of-RIB"
    );
    assert!(reach >= 310, "every route again: {reach}");
    assert_eq!(
        tally(&drain(&mut c)).0,
        10,
        "the others get the changes only"
    );
    // Back in the group's stream afterwards.
    assert_eq!(t.adj.catching_up(pb), None);
    announce_many(&mut t, "10.0.0.11", 311);
    settle(&mut t);
    let (mb, mc) = (drain(&mut b), drain(&mut c));
    assert_eq!(mb.len(), 1);
    assert!(mb.iter().zip(&mc).all(|(x, y)| x.as_ptr() == y.as_ptr()));
    // Enhanced (RFC 7313): an EoRR after the routes, once; twice asked, twice answered.
    for _ in 0..2 {
        t.handle(Input::Refresh {
            peer: pb,
            session,
            family: Family::IPV4_UNICAST,
            enhanced: true,
        });
    }
    settle(&mut t);
    let mb = drain(&mut b);
    let kinds: Vec<u8> = mb
        .iter()
        .map(|m| tern_wire::message::frames(m).next().unwrap().unwrap().kind)
        .collect();
    let eorrs: Vec<usize> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| **k == tern_wire::message::msg_type::ROUTE_REFRESH)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(eorrs.len(), 2, "{kinds:?}");
    assert_eq!(*eorrs.last().unwrap(), mb.len() - 1, "EoRR last");
    assert!(
        eorrs[0] > 0 && eorrs[1] > eorrs[0] + 1,
        "routes before each EoRR"
    );
    assert_eq!(tally(&mb).0, 311 * 2);
}

/// An IPv4 unicast peer of `t` (EBGP unless AS 100; IBGP ones are reflector clients).
fn v4_peer(t: &mut Engine, addr: &str, asn: u32) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::sync_channel::<Bytes>(256);
    t.handle(Input::PeerUp {
        session: new_session(),
        info: PeerInfo {
            addr: addr.parse().unwrap(),
            router_id: addr.parse().unwrap(),
            asn: Asn(asn),
            ebgp: asn != 100,
            rr_client: asn == 100,
            preferred_value: 0,
        },
        ctx: Ctx {
            ebgp: asn != 100,
            ..Ctx::default()
        },
        out: Some(PeerOut {
            tx: Arc::new(tx),
            families: vec![Family::IPV4_UNICAST],
            ctx: Ctx::default(),
            local: Some("10.0.0.1".parse().unwrap()),
            out: Outbound::default(),
        }),
        vrf: None,
        status: None,
    });
    rx
}

/// The prefixes announced (and not withdrawn since) in messages.
fn announced(msgs: &[Bytes]) -> std::collections::BTreeSet<String> {
    let mut held = std::collections::BTreeSet::new();
    for m in msgs {
        let Some(Ok(f)) = tern_wire::message::frames(m).next() else {
            continue;
        };
        let Ok(tern_wire::Message::Update(u)) = tern_wire::Message::decode(f) else {
            continue;
        };
        let d = Digest::of(&u.parse(&Ctx::default()));
        for (_, n) in &d.withdrawn {
            held.remove(&n.prefix.to_string());
        }
        for r in &d.reach {
            for (_, n) in &r.routes {
                held.insert(n.prefix.to_string());
            }
        }
    }
    held
}

#[test]
fn well_known_communities_keep_routes_from_the_peers_they_name() {
    use crate::adjout::{NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED};
    let mut t = task();
    let src = "10.0.0.11";
    let _a = v4_peer(&mut t, src, 100);
    let mut ibgp = v4_peer(&mut t, "10.0.0.12", 100);
    let mut ebgp = v4_peer(&mut t, "10.0.9.2", 200);
    settle(&mut t);
    drain(&mut ibgp);
    drain(&mut ebgp);
    let session = t.up[&src.parse::<IpAddr>().unwrap()].session;
    let cases = [
        ("10.1.0.0/24", vec![]),
        ("10.1.1.0/24", vec![NO_EXPORT]),
        ("10.1.2.0/24", vec![NO_EXPORT_SUBCONFED]),
        ("10.1.3.0/24", vec![NO_ADVERTISE]),
        ("10.1.4.0/24", vec![0x0064_0001, NO_EXPORT]),
    ];
    for (prefix, communities) in &cases {
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::Ipv4(src.parse().unwrap()),
        );
        a.local_pref = Some(100);
        a.communities = communities.clone();
        let mut out = Vec::new();
        UpdateBuilder::new(&Ctx::default())
            .reach(
                Family::IPV4_UNICAST,
                &a.next_hop,
                &a.to_wire(true),
                &[Nlri::unicast(prefix.parse().unwrap())],
                &mut out,
            )
            .unwrap();
        t.handle(Input::Update {
            peer: src.parse().unwrap(),
            session,
            body: out.remove(0).split_off(19),
        });
    }
    settle(&mut t);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        announced(&drain(&mut ibgp)),
        set(&["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24", "10.1.4.0/24"]),
        "IBGP: all but NO_ADVERTISE"
    );
    assert_eq!(
        announced(&drain(&mut ebgp)),
        set(&["10.1.0.0/24"]),
        "EBGP: none of NO_EXPORT, NO_EXPORT_SUBCONFED, NO_ADVERTISE"
    );
    // A route that gains NO_EXPORT is withdrawn from the EBGP peer.
    let mut a = PathAttrs::new(
        Origin::Igp,
        AsPath::empty(true),
        NextHop::Ipv4(src.parse().unwrap()),
    );
    a.local_pref = Some(100);
    a.communities = vec![NO_EXPORT];
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(
            Family::IPV4_UNICAST,
            &a.next_hop,
            &a.to_wire(true),
            &[Nlri::unicast("10.1.0.0/24".parse().unwrap())],
            &mut out,
        )
        .unwrap();
    t.handle(Input::Update {
        peer: src.parse().unwrap(),
        session,
        body: out.remove(0).split_off(19),
    });
    settle(&mut t);
    let (_, gone, _) = tally(&drain(&mut ebgp));
    assert_eq!(gone, 1, "withdrawn from the EBGP peer");
}

#[test]
fn stale_routes_stay_until_purged_and_only_those_not_announced_again_go() {
    let mut t = task();
    let a: IpAddr = "10.0.0.11".parse().unwrap();
    let _ra = client(&mut t, "10.0.0.11", 4096);
    let mut b = client(&mut t, "10.0.0.12", 4096);
    announce_many(&mut t, "10.0.0.11", 10);
    settle(&mut t);
    assert_eq!(tally(&drain(&mut b)), (10, 0, 1));
    t.handle(Input::Stale {
        peer: a,
        family: Family::IPV4_UNICAST,
    });
    settle(&mut t);
    assert!(drain(&mut b).is_empty(), "stale routes stay, nothing sent");
    assert_eq!(t.rib().counts(Family::IPV4_UNICAST).0, 10);
    // The peer announces the first 6 again (the same attributes: nothing to send on).
    announce_many(&mut t, "10.0.0.11", 6);
    settle(&mut t);
    assert!(drain(&mut b).is_empty());
    t.handle(Input::PurgeStale {
        peer: a,
        family: Family::IPV4_UNICAST,
    });
    settle(&mut t);
    assert_eq!(
        tally(&drain(&mut b)),
        (0, 4, 0),
        "the 4 not announced again"
    );
    assert_eq!(t.rib().counts(Family::IPV4_UNICAST).0, 6);
}

/// Kernel operations, kept.
#[derive(Debug, Default)]
pub(super) struct Ops(pub(super) std::sync::Mutex<Vec<FibOp>>);

impl FibSink for Ops {
    fn offer(&self, op: FibOp) -> Result<(), FibOp> {
        self.0.lock().unwrap().push(op);
        Ok(())
    }
}

#[test]
fn a_restarting_speaker_defers_its_output_until_told() {
    let mut t = task();
    let ops = Arc::new(Ops::default());
    t.set_fib(ops.clone());
    t.handle(Input::Defer(true));
    let _a = v4_peer(&mut t, "10.0.0.11", 100);
    let mut b = v4_peer(&mut t, "10.0.9.2", 200);
    announce_many(&mut t, "10.0.0.11", 5);
    settle(&mut t);
    assert!(drain(&mut b).is_empty(), "nothing to peers while deferring");
    assert!(ops.0.lock().unwrap().is_empty(), "nothing to the kernel");
    assert!(!t.has_work(), "no busy loop while deferring");
    t.handle(Input::Defer(false));
    settle(&mut t);
    assert_eq!(
        tally(&drain(&mut b)),
        (5, 0, 1),
        "the table, then End-of-RIB"
    );
    let ops = ops.0.lock().unwrap();
    assert_eq!(ops.len(), 6, "{ops:?}");
    assert!(ops[..5].iter().all(|o| matches!(o, FibOp::Install { .. })));
    assert_eq!(ops[5], FibOp::Reconcile, "reconcile after the installs");
}

/// Next-hop questions, kept.
#[derive(Debug, Default)]
struct Asked(std::sync::Mutex<Vec<crate::Watch>>);

impl crate::Watcher for Asked {
    fn watch(&self, w: crate::Watch) {
        self.0.lock().unwrap().push(w);
    }
}

#[test]
fn a_start_reconciles_once_converged_and_every_next_hop_answered() {
    let mut t = task();
    let ops = Arc::new(Ops::default());
    let asked = Arc::new(Asked::default());
    t.set_fib(ops.clone());
    t.track_next_hops(asked.clone());
    let _a = v4_peer(&mut t, "10.0.0.11", 100);
    announce_many(&mut t, "10.0.0.11", 5);
    // The convergence ends before the next hop is answered: nothing is eligible yet, and
    // reconciling now would remove the routes about to be installed.
    t.handle(Input::Defer(false));
    settle(&mut t);
    assert!(
        ops.0.lock().unwrap().is_empty(),
        "{:?}",
        ops.0.lock().unwrap()
    );
    assert!(!t.has_work(), "no busy loop while waiting for the answer");
    let questions = std::mem::take(&mut *asked.0.lock().unwrap());
    let hops: Vec<IpAddr> = questions.iter().flat_map(|w| w.next_hops.clone()).collect();
    assert_eq!(hops, vec!["10.0.0.11".parse::<IpAddr>().unwrap()]);
    t.handle(Input::Resolved(crate::Resolution {
        next_hops: vec![(hops[0], Some(0))],
        prefixes: Vec::new(),
        igp: Vec::new(),
    }));
    settle(&mut t);
    let ops = ops.0.lock().unwrap();
    assert_eq!(ops.len(), 6, "{ops:?}");
    assert!(ops[..5].iter().all(|o| matches!(o, FibOp::Install { .. })));
    assert_eq!(
        ops[5],
        FibOp::Reconcile,
        "reconcile after the installs, once"
    );
}

#[test]
fn communities_go_only_to_peers_with_advertise_community() {
    let mut t = task();
    let _a = client(&mut t, "10.0.0.11", 64);
    let mut plain = client(&mut t, "10.0.0.12", 64);
    let mut with = client_with(
        &mut t,
        "10.0.0.13",
        64,
        Outbound {
            advertise_community: vec![Family::IPV4_UNICAST],
            advertise_ext_community: vec![Family::IPV4_UNICAST],
            ..Outbound::default()
        },
    );
    settle(&mut t);
    drain(&mut plain);
    drain(&mut with);
    let session = t.up[&"10.0.0.11".parse::<IpAddr>().unwrap()].session;
    let mut a = PathAttrs::new(
        Origin::Igp,
        AsPath::empty(true),
        NextHop::Ipv4("10.0.0.11".parse().unwrap()),
    );
    a.local_pref = Some(100);
    a.communities = vec![100 << 16 | 1];
    a.ext_communities = vec![tern_types::ExtCommunity::as2(
        tern_types::TargetKind::RouteTarget,
        1,
        1,
    )];
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(
            Family::IPV4_UNICAST,
            &a.next_hop,
            &a.to_wire(true),
            &[Nlri::unicast("192.0.2.0/24".parse().unwrap())],
            &mut out,
        )
        .unwrap();
    t.handle(Input::Update {
        peer: "10.0.0.11".parse().unwrap(),
        session,
        body: out.remove(0).split_off(19),
    });
    settle(&mut t);
    let attrs_of = |msgs: Vec<Bytes>| {
        let m = msgs.first().expect("an UPDATE").clone();
        let f = tern_wire::message::frames(&m).next().unwrap().unwrap();
        let Ok(tern_wire::Message::Update(u)) = tern_wire::Message::decode(f) else {
            panic!("not an UPDATE")
        };
        let d = Digest::of(&u.parse(&Ctx::default()));
        d.reach[0].attrs.clone().unwrap()
    };
    let p = attrs_of(drain(&mut plain));
    assert!(
        p.communities.is_empty() && p.ext_communities.is_empty(),
        "{p:?}"
    );
    let w = attrs_of(drain(&mut with));
    assert_eq!(w.communities, vec![100 << 16 | 1]);
    assert_eq!(w.ext_communities.len(), 1);
}

impl CountsReply for mpsc::SyncSender<EngineCounts> {
    fn send(self: Box<Self>, c: EngineCounts) {
        let _ = self.try_send(c);
    }
}

fn census_of(t: &mut Engine) -> EngineCounts {
    let (tx, rx) = mpsc::sync_channel(1);
    t.handle(Input::Metrics {
        reply: Box::new(tx),
    });
    rx.try_recv().expect("answered at once, without a walk")
}

#[test]
fn the_census_counts_what_the_displays_show() {
    let mut t = task();
    let _a = client(&mut t, "10.0.0.11", 64);
    let mut slow = client(&mut t, "10.0.0.12", 1);
    settle(&mut t);
    drain(&mut slow);
    let n = 3000;
    announce_many(&mut t, "10.0.0.11", n);
    let c = census_of(&mut t);
    assert!(!t.walking());
    let v4 = c
        .tables
        .iter()
        .find(|x| x.vrf.is_none() && x.family == Family::IPV4_UNICAST)
        .expect("public IPv4 unicast table");
    assert_eq!((v4.destinations, v4.paths, v4.routes), (3000, 3000, 3000));
    assert!(
        c.tables
            .iter()
            .filter(|x| x.family != Family::IPV4_UNICAST)
            .all(|x| x.routes == 0)
    );
    // `routing-table statistics` walks the table and finds the same routes.
    let (reply, rx) = oneshot::channel();
    t.handle(Input::Stats {
        vrf: None,
        family: Family::IPV4_UNICAST,
        rd: None,
        reply,
    });
    while t.walk_step() {}
    let st = rx.try_recv().expect("statistics").stats;
    assert_eq!(st.routes as u64, v4.routes);
    assert_eq!(st.destinations, v4.destinations);
    // Accepted routes per peer: what `accepted-routes` lists.
    let accepted = |c: &EngineCounts, a: &str| {
        c.peers
            .iter()
            .find(|p| p.addr == a.parse::<IpAddr>().unwrap())
            .map(|p| p.accepted.clone())
    };
    assert_eq!(
        accepted(&c, "10.0.0.11"),
        Some(vec![(Family::IPV4_UNICAST, 3000)])
    );
    let listed = t
        .peer_routes(
            "10.0.0.11".parse().unwrap(),
            Family::IPV4_UNICAST,
            PeerRoutes::Accepted,
        )
        .unwrap();
    assert_eq!(listed.routes.len(), 3000);
    assert_eq!(accepted(&c, "10.0.0.12"), Some(vec![]));
    assert_eq!(c.memory.len(), 1);
    assert!(c.memory[0].1.sets > 0 && c.memory[0].1.bytes > 0);
    // One update group of both clients, the changes waiting in its stream.
    assert_eq!(c.groups.len(), 1);
    let g = &c.groups[0];
    assert_eq!((g.members, g.pending, g.kind), (2, 3000, "client"));
    assert_eq!(g.id, t.adj.groups()[0].id);
    // The slow member falls behind: what it holds back shows, then goes once it reads.
    for _ in 0..20 {
        t.flush();
    }
    let c = census_of(&mut t);
    let m = c
        .members
        .iter()
        .find(|m| m.addr == "10.0.0.12".parse::<IpAddr>().unwrap())
        .expect("member");
    assert!(
        m.backlog > 0 || m.catching_up.is_some_and(|n| n > 0),
        "{m:?}"
    );
    assert_eq!(c.groups[0].pending, 0);
    assert!(c.groups[0].formatted > 0);
    let mut b = receiver(100, "10.0.0.1", 100);
    deliver(&mut t, &mut slow, &mut b, "10.0.0.1");
    let c = census_of(&mut t);
    let m = c
        .members
        .iter()
        .find(|m| m.addr == "10.0.0.12".parse::<IpAddr>().unwrap())
        .expect("member");
    assert_eq!((m.backlog, m.catching_up), (0, None));
}
