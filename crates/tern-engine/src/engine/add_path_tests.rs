//! ADD-PATH send (RFC 7911) through the update groups: several paths per destination with
//! stable path IDs, withdrawals by path ID, peers without ADD-PATH unaffected.

use super::tests::{client_with, drain, new_session, receiver, settle};
use super::*;
use bytes::Bytes;
use std::sync::mpsc;
use tern_rib::PathAttrs;
use tern_wire::{AddPathSet, Nlri, UpdateBuilder};

const PREFIX: &str = "10.9.0.0/24";

/// PREFIX in `family`: IPv4 unicast, or VPNv4 under RD 100:1 with label 1000.
fn nlri_in(family: Family) -> Nlri {
    Nlri {
        path_id: None,
        rd: family.has_rd().then(|| RouteDistinguisher::type0(100, 1)),
        labels: if family.has_labels() {
            LabelStack::single(Label(1000))
        } else {
            LabelStack::new()
        },
        prefix: if family.is_ipv6() {
            "2001:db8:9::/48".parse().unwrap()
        } else {
            PREFIX.parse().unwrap()
        },
    }
}

/// The next hop `from` sends in `family` (IPv4-mapped in the IPv6 families).
fn hop_in(from: &str, family: Family) -> NextHop {
    let a: std::net::Ipv4Addr = from.parse().unwrap();
    if family.is_ipv6() {
        NextHop::ipv4_mapped(a)
    } else {
        NextHop::Ipv4(a)
    }
}

fn key_in(family: Family) -> RouteKey {
    RouteKey::of_nlri(&nlri_in(family))
}

/// `from` (a client) announces PREFIX with next hop `from` and MED `med`.
fn announce(t: &mut Engine, from: &str, med: u32) {
    announce_in(t, from, med, Family::IPV4_UNICAST);
}

fn announce_in(t: &mut Engine, from: &str, med: u32, family: Family) {
    let mut a = PathAttrs::new(Origin::Igp, AsPath::empty(true), hop_in(from, family));
    a.med = Some(med);
    a.local_pref = Some(100);
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .reach(
            family,
            &a.next_hop,
            &a.to_wire(true),
            &[nlri_in(family)],
            &mut out,
        )
        .unwrap();
    let session = t.up[&from.parse::<IpAddr>().unwrap()].session;
    t.handle(Input::Update {
        peer: from.parse().unwrap(),
        session,
        body: out.remove(0).split_off(19),
    });
}

fn withdraw(t: &mut Engine, from: &str) {
    withdraw_in(t, from, Family::IPV4_UNICAST);
}

fn withdraw_in(t: &mut Engine, from: &str, family: Family) {
    let mut out = Vec::new();
    UpdateBuilder::new(&Ctx::default())
        .withdraw(family, &[nlri_in(family)], &mut out)
        .unwrap();
    let session = t.up[&from.parse::<IpAddr>().unwrap()].session;
    t.handle(Input::Update {
        peer: from.parse().unwrap(),
        session,
        body: out.remove(0).split_off(19),
    });
}

fn add_path_ctx() -> Ctx {
    Ctx {
        add_path: AddPathSet::of(&Family::KNOWN),
        ..Ctx::default()
    }
}

/// An IBGP client with ADD-PATH send negotiated, sent up to `n` paths.
fn add_path_client(t: &mut Engine, addr: &str, n: u8) -> mpsc::Receiver<Bytes> {
    add_path_client_in(t, addr, n, Family::IPV4_UNICAST)
}

fn add_path_client_in(t: &mut Engine, addr: &str, n: u8, family: Family) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::sync_channel::<Bytes>(256);
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
            families: vec![family],
            ctx: add_path_ctx(),
            local: Some("10.0.0.1".parse().unwrap()),
            out: Outbound {
                add_path: vec![(family, n)],
                ..Outbound::default()
            },
        }),
        vrf: None,
        status: None,
    });
    rx
}

/// A speaker receiving from 10.0.0.1 (AS 100), with ADD-PATH receive when `add_path`.
fn speaker(add_path: bool) -> Engine {
    let mut b = receiver(100, "10.0.0.1", 100);
    if add_path {
        let from: IpAddr = "10.0.0.1".parse().unwrap();
        if let Some(u) = b.up.get_mut(&from) {
            u.ctx = add_path_ctx();
        }
    }
    b
}

/// Feeds what `rx` holds to `to` as UPDATEs from 10.0.0.1.
fn feed(rx: &mut mpsc::Receiver<Bytes>, to: &mut Engine) {
    let from: IpAddr = "10.0.0.1".parse().unwrap();
    for m in drain(rx) {
        to.handle(Input::Update {
            peer: from,
            session: to.up[&from].session,
            body: m[19..].to_vec(),
        });
    }
}

/// The next hops of the paths `b` holds for PREFIX, with their path IDs.
fn paths(b: &Engine) -> Vec<(u32, IpAddr)> {
    paths_in(b, Family::IPV4_UNICAST)
}

fn paths_in(b: &Engine, family: Family) -> Vec<(u32, IpAddr)> {
    let mut v: Vec<(u32, IpAddr)> = b
        .rib()
        .paths(family, &key_in(family))
        .iter()
        .map(|p| (p.path_id, b.rib().next_hop_addr(p.attrs).unwrap()))
        .collect();
    v.sort();
    v
}

fn hops(b: &Engine) -> Vec<IpAddr> {
    hops_in(b, Family::IPV4_UNICAST)
}

fn hops_in(b: &Engine, family: Family) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = paths_in(b, family).into_iter().map(|(_, h)| h).collect();
    v.sort();
    v
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn add_path_peers_get_the_best_paths_with_ids_and_withdrawals_by_id() {
    let mut t = task_ibgp();
    let mut a = client_with(&mut t, "10.0.0.11", 64, Outbound::default());
    let mut b = client_with(&mut t, "10.0.0.12", 64, Outbound::default());
    let mut e = client_with(&mut t, "10.0.0.15", 64, Outbound::default());
    let mut c = add_path_client(&mut t, "10.0.0.13", 2);
    let mut c2 = add_path_client(&mut t, "10.0.0.16", 2);
    let mut plain = client_with(&mut t, "10.0.0.14", 64, Outbound::default());
    settle(&mut t);
    // Peers with the same ADD-PATH state share a group; the others are unaffected.
    assert_eq!(t.adj.sizes(), vec![2, 4]);
    for rx in [&mut a, &mut b, &mut e, &mut c, &mut c2, &mut plain] {
        drain(rx);
    }
    let (mut rc, mut rc2, mut rp) = (speaker(true), speaker(true), speaker(false));

    announce(&mut t, "10.0.0.11", 10);
    announce(&mut t, "10.0.0.12", 20);
    announce(&mut t, "10.0.0.15", 30);
    settle(&mut t);
    feed(&mut c, &mut rc);
    feed(&mut plain, &mut rp);
    // Two paths (the best, then the next by the decision order), with distinct path IDs.
    assert_eq!(hops(&rc), vec![ip("10.0.0.11"), ip("10.0.0.12")]);
    let ids: Vec<u32> = paths(&rc).iter().map(|(i, _)| *i).collect();
    assert!(ids[0] != ids[1] && !ids.contains(&0), "{ids:?}");
    assert_eq!(hops(&rp), vec![ip("10.0.0.11")]);
    feed(&mut c2, &mut rc2);
    assert_eq!(paths(&rc2), paths(&rc));

    // The second path gets worse than the third: the third replaces it, the second's ID is
    // withdrawn, the best keeps its ID.
    let best_id = paths(&rc)
        .iter()
        .find(|(_, h)| *h == ip("10.0.0.11"))
        .unwrap()
        .0;
    announce(&mut t, "10.0.0.12", 40);
    settle(&mut t);
    feed(&mut c, &mut rc);
    assert_eq!(hops(&rc), vec![ip("10.0.0.11"), ip("10.0.0.15")]);
    assert!(paths(&rc).contains(&(best_id, ip("10.0.0.11"))));
    // The plain peer heard nothing: its best path did not change.
    assert!(drain(&mut plain).is_empty());

    // A source withdraws: its path leaves, the next one comes in.
    withdraw(&mut t, "10.0.0.11");
    settle(&mut t);
    feed(&mut c, &mut rc);
    feed(&mut plain, &mut rp);
    assert_eq!(hops(&rc), vec![ip("10.0.0.12"), ip("10.0.0.15")]);
    assert_eq!(hops(&rp), vec![ip("10.0.0.15")]);

    // A source goes down: its path is withdrawn by its ID.
    t.handle(Input::PeerDown {
        peer: ip("10.0.0.15"),
        session: t.up[&ip("10.0.0.15")].session,
    });
    settle(&mut t);
    feed(&mut c, &mut rc);
    assert_eq!(hops(&rc), vec![ip("10.0.0.12")]);

    // A member joining later is sent every path of its initial table; the display of what
    // it is sent agrees.
    let mut late = add_path_client(&mut t, "10.0.0.17", 2);
    announce(&mut t, "10.0.0.11", 10);
    settle(&mut t);
    let mut rl = speaker(true);
    feed(&mut late, &mut rl);
    assert_eq!(hops(&rl), vec![ip("10.0.0.11"), ip("10.0.0.12")]);
    let adv = t
        .peer_routes(
            ip("10.0.0.17"),
            Family::IPV4_UNICAST,
            PeerRoutes::Advertised,
        )
        .unwrap();
    assert_eq!(adv.routes.len(), 2, "{adv:?}");

    // The source of a path is not sent it back, but is sent the others.
    feed(&mut c, &mut rc);
    feed(&mut c2, &mut rc2);
    announce(&mut t, "10.0.0.13", 5);
    settle(&mut t);
    feed(&mut c, &mut rc);
    feed(&mut c2, &mut rc2);
    assert_eq!(hops(&rc2), vec![ip("10.0.0.11"), ip("10.0.0.13")]);
    assert_eq!(hops(&rc), vec![ip("10.0.0.11")]);
    drop((a, b, e));
}

/// An IBGP speaker (AS 100) reflecting between clients.
fn task_ibgp() -> Engine {
    super::tests::task()
}

/// The other families the same way: two paths of one destination (with its RD and label
/// where the family has them).
#[test]
fn every_family_over_add_path() {
    for family in [
        Family::VPNV4,
        Family::VPNV6,
        Family::IPV6_UNICAST,
        Family::IPV4_LABELED,
    ] {
        let mut t = task_ibgp();
        let _a = client_with(&mut t, "10.0.0.11", 64, Outbound::default());
        let _b = client_with(&mut t, "10.0.0.12", 64, Outbound::default());
        let mut c = add_path_client_in(&mut t, "10.0.0.13", 2, family);
        settle(&mut t);
        drain(&mut c);
        let mut rc = speaker(true);
        announce_in(&mut t, "10.0.0.11", 10, family);
        announce_in(&mut t, "10.0.0.12", 20, family);
        settle(&mut t);
        feed(&mut c, &mut rc);
        // (An IPv4-mapped next hop is followed as the IPv4 address.)
        let hop = ip;
        assert_eq!(
            hops_in(&rc, family),
            vec![hop("10.0.0.11"), hop("10.0.0.12")],
            "{family}"
        );
        let labels: Vec<LabelStack> = rc
            .rib()
            .paths(family, &key_in(family))
            .iter()
            .map(|p| p.labels)
            .collect();
        assert!(
            labels.iter().all(|l| *l == nlri_in(family).labels),
            "{family}: {labels:?}"
        );
        withdraw_in(&mut t, "10.0.0.12", family);
        settle(&mut t);
        feed(&mut c, &mut rc);
        assert_eq!(hops_in(&rc, family), vec![hop("10.0.0.11")], "{family}");
    }
}

/// A smaller count (`peer X advertise add-path`, `bestroute add-path`) re-advertised: the
/// paths past it are withdrawn; a larger one sends them again.
#[test]
fn a_changed_count_is_readvertised() {
    let mut t = task_ibgp();
    for (a, med) in [("10.0.0.11", 10), ("10.0.0.12", 20), ("10.0.0.15", 30)] {
        let _ = client_with(&mut t, a, 64, Outbound::default());
        announce(&mut t, a, med);
    }
    let mut c = add_path_client(&mut t, "10.0.0.13", 3);
    settle(&mut t);
    let mut rc = speaker(true);
    feed(&mut c, &mut rc);
    assert_eq!(hops(&rc).len(), 3);
    let count = |n| Outbound {
        add_path: vec![(Family::IPV4_UNICAST, n)],
        ..Outbound::default()
    };
    t.handle(Input::Readvertise {
        peer: ip("10.0.0.13"),
        reflect_client: true,
        out: count(2),
    });
    settle(&mut t);
    feed(&mut c, &mut rc);
    assert_eq!(hops(&rc), vec![ip("10.0.0.11"), ip("10.0.0.12")]);
    t.handle(Input::Readvertise {
        peer: ip("10.0.0.13"),
        reflect_client: true,
        out: count(3),
    });
    settle(&mut t);
    feed(&mut c, &mut rc);
    assert_eq!(hops(&rc).len(), 3);
}
