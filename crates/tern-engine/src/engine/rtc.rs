//! The engine's side of the route target constraint (RFC 4684, [`crate::rtc`]): sessions
//! that negotiated the family, the family's part of received UPDATEs, the memberships of the
//! local VPN instances, and a peer's changed interest handed to the Adj-RIB-Out
//! ([`crate::adjout::AdjOut::refilter`]).

use std::collections::BTreeSet;
use std::net::IpAddr;

use tern_rib::rr::Role;
use tern_rib::{Digest, PeerId};
use tern_types::Family;
use tracing::info;

use super::{Engine, PeerOut};
use crate::rtc::{Local, RtcSession};

impl Engine {
    /// What the route target constraint needs of this router.
    pub(super) fn rtc_local(&self) -> Local {
        let cfg = self.rib.config();
        Local {
            asn: cfg.local_as.0,
            router_id: cfg.router_id,
            cluster_id: self.rib.cluster_id(),
        }
    }

    /// A public session came up: when it negotiated the family, its memberships are kept
    /// from now on and it is sent this router's.
    pub(super) fn rtc_up(&mut self, addr: IpAddr, id: PeerId, out: &PeerOut) {
        if !out.families.contains(&Family::RTC) {
            return;
        }
        let Some(info) = self.rib.peer(id).copied() else {
            return;
        };
        let local = self.rtc_local();
        self.rtc.peer_up(
            addr,
            RtcSession {
                id,
                role: Role::of(id, &info),
                router_id: info.router_id,
                asn: info.asn.0,
                four_octet: out.ctx.four_octet_as,
                local: out.local,
                tx: out.tx.clone(),
            },
            &local,
        );
        info!(peer = %addr, "RIB: route target constraint negotiated, VPN routes follow the peer's membership");
    }

    /// A session ended.
    pub(super) fn rtc_down(&mut self, addr: IpAddr) {
        let local = self.rtc_local();
        self.rtc.peer_down(addr, &local);
    }

    /// Takes the family's part out of `digest` and applies it; a changed interest of the
    /// peer re-evaluates the VPN routes it is sent. True when nothing else is left to apply
    /// (the family's End-of-RIB).
    pub(super) fn rtc_apply(&mut self, addr: IpAddr, digest: &mut Digest) -> bool {
        let eor = digest.end_of_rib == Some(Family::RTC);
        let disabled = digest.disabled.contains(&Family::RTC);
        digest.disabled.retain(|f| *f != Family::RTC);
        let part = digest.rtc.take();
        if !self.rtc.negotiated(addr) {
            return eor;
        }
        let local = self.rtc_local();
        if self.rtc.apply(addr, part.as_ref(), disabled, eor, &local) {
            let interest = self.rtc.interest(addr);
            info!(peer = %addr, targets = interest.as_ref().map(|i| i.len()), "RIB: route target interest changed");
            self.adj.refilter(addr, interest, &self.rib);
        }
        eor
    }

    /// The wait for the peer's End-of-RIB of the family ended on the timer.
    pub(super) fn rtc_wait_over(&mut self, addr: IpAddr) {
        if self.rtc.wait_over(addr) {
            let interest = self.rtc.interest(addr);
            info!(peer = %addr, targets = interest.as_ref().map(|i| i.len()), "RIB: no route target constraint End-of-RIB in time, VPN routes follow the membership so far");
            self.adj.refilter(addr, interest, &self.rib);
        }
    }

    /// New settings: the memberships of the import targets of the local VPN instances and
    /// the peers sent the default membership.
    pub(super) fn rtc_settings(&mut self) {
        let targets: Vec<tern_types::ExtCommunity> = self
            .routing
            .vrfs
            .iter()
            .flat_map(|v| v.import_rt.iter().copied())
            .collect();
        let default_to: BTreeSet<IpAddr> = self.routing.rtc_default.iter().copied().collect();
        let local = self.rtc_local();
        self.rtc.set_local(targets, default_to, &local);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::{Arc, mpsc};

    use bytes::Bytes;
    use tern_rib::{PathAttrs, PeerInfo, RtcPart};
    use tern_types::{Asn, ExtCommunity, Label, LabelStack, RouteDistinguisher, TargetKind};
    use tern_wire::attr::{AsPath, Origin};
    use tern_wire::rtc::RtMembership;
    use tern_wire::{Ctx, NextHop, Nlri, UpdateBuilder};

    use super::super::tests::task;
    use super::super::{Input, PeerOut};
    use super::*;
    use crate::adjout::Outbound;

    fn rt(n: u32) -> ExtCommunity {
        ExtCommunity::as2(TargetKind::RouteTarget, 100, n)
    }

    /// A peer of AS 100 (internal) or another AS; its writer's receiving end.
    fn peer(
        t: &mut Engine,
        addr: &str,
        asn: u32,
        client: bool,
        families: Vec<Family>,
    ) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::sync_channel::<Bytes>(256);
        t.handle(Input::PeerUp {
            session: 1,
            info: PeerInfo {
                addr: addr.parse().unwrap(),
                router_id: addr.parse().unwrap(),
                asn: Asn(asn),
                ebgp: asn != 100,
                rr_client: client,
                preferred_value: 0,
            },
            ctx: Ctx {
                ebgp: asn != 100,
                ..Ctx::default()
            },
            out: Some(PeerOut {
                tx: Arc::new(tx),
                families,
                ctx: Ctx::default(),
                local: Some("10.0.0.1".parse().unwrap()),
                out: Outbound::default(),
            }),
            vrf: None,
            status: None,
        });
        rx
    }

    /// A VPNv4 route 10.N.0.0/16 (RD 200:N) with route target 100:N, from `from`.
    fn vpn_route(t: &mut Engine, from: &str, n: u32) {
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::sequence(&[200], true),
            NextHop::Ipv4("10.0.0.9".parse().unwrap()),
        );
        a.ext_communities = vec![rt(n)];
        let nlri = Nlri::vpn(
            RouteDistinguisher::type0(200, n),
            LabelStack::single(Label(100 + n)),
            format!("10.{n}.0.0/16").parse().unwrap(),
        );
        let mut out = Vec::new();
        UpdateBuilder::new(&Ctx::default())
            .reach(
                Family::VPNV4,
                &a.next_hop,
                &a.to_wire(true),
                &[nlri],
                &mut out,
            )
            .unwrap();
        t.handle(Input::Update {
            peer: from.parse().unwrap(),
            session: 1,
            body: out.remove(0).split_off(19),
        });
    }

    fn end_of_rib(t: &mut Engine, from: &str) {
        t.handle(Input::Digest {
            peer: from.parse().unwrap(),
            session: 1,
            digest: Box::new(Digest {
                end_of_rib: Some(Family::RTC),
                ..Digest::default()
            }),
        });
    }

    fn membership(t: &mut Engine, from: &str, reach: &[RtMembership], withdrawn: &[RtMembership]) {
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::Ipv4(from.parse().unwrap()),
        );
        a.local_pref = Some(100);
        t.handle(Input::Digest {
            peer: from.parse().unwrap(),
            session: 1,
            digest: Box::new(Digest {
                rtc: Some(RtcPart {
                    reach: reach.to_vec(),
                    withdrawn: withdrawn.to_vec(),
                    attrs: Some(a),
                }),
                ..Digest::default()
            }),
        });
    }

    /// Flushes, then folds what `rx` got into `held` (VPNv4 prefixes announced and not
    /// withdrawn since); returns whether End-of-RIB of the family came.
    fn follow(t: &mut Engine, rx: &mpsc::Receiver<Bytes>, held: &mut BTreeSet<String>) -> bool {
        while t.flush() {}
        let mut rtc_eor = false;
        while let Ok(m) = rx.try_recv() {
            for f in tern_wire::message::frames(&m) {
                let Ok(tern_wire::Message::Update(u)) = tern_wire::Message::decode(f.unwrap())
                else {
                    continue;
                };
                let p = u.parse(&Ctx::default());
                rtc_eor |= p.end_of_rib() == Some(Family::RTC);
                let d = Digest::of(&p);
                for (_, n) in d.withdrawn.iter().filter(|(f, _)| *f == Family::VPNV4) {
                    held.remove(&n.prefix.to_string());
                }
                for r in &d.reach {
                    for (_, n) in r.routes.iter().filter(|(f, _)| *f == Family::VPNV4) {
                        held.insert(n.prefix.to_string());
                    }
                }
            }
        }
        rtc_eor
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn an_rtc_client_is_sent_the_vpn_routes_its_membership_covers() {
        let mut t = task();
        let _f = peer(&mut t, "10.0.0.2", 200, false, vec![Family::VPNV4]);
        for n in 1..=3 {
            vpn_route(&mut t, "10.0.0.2", n);
        }
        let plain = peer(&mut t, "10.0.0.4", 100, true, vec![Family::VPNV4]);
        let p = peer(
            &mut t,
            "10.0.0.3",
            100,
            true,
            vec![Family::VPNV4, Family::RTC],
        );
        let (mut held, mut plain_held) = (BTreeSet::new(), BTreeSet::new());
        // Nothing before it advertises membership; the family's End-of-RIB goes at once.
        assert!(follow(&mut t, &p, &mut held));
        assert!(held.is_empty(), "{held:?}");
        assert!(!follow(&mut t, &plain, &mut plain_held));
        assert_eq!(plain_held.len(), 3);
        // Two peers with different interests are in different update groups.
        assert_eq!(t.adj.sizes(), vec![1, 1, 1]);

        let m1 = RtMembership::new(100, rt(1).0);
        let m2 = RtMembership::new(100, rt(2).0);
        // Nothing before its End-of-RIB of the family (RFC 4684 §6).
        membership(&mut t, "10.0.0.3", &[m1], &[]);
        follow(&mut t, &p, &mut held);
        assert!(held.is_empty(), "{held:?}");
        end_of_rib(&mut t, "10.0.0.3");
        follow(&mut t, &p, &mut held);
        assert_eq!(held, set(&["10.1.0.0/16"]));
        membership(&mut t, "10.0.0.3", &[m2], &[]);
        follow(&mut t, &p, &mut held);
        assert_eq!(held, set(&["10.1.0.0/16", "10.2.0.0/16"]));
        // A new route of a target it wants follows; one of another does not.
        vpn_route(&mut t, "10.0.0.2", 2);
        vpn_route(&mut t, "10.0.0.2", 4);
        follow(&mut t, &p, &mut held);
        assert_eq!(held, set(&["10.1.0.0/16", "10.2.0.0/16"]));
        // Withdrawn membership: its routes are withdrawn.
        membership(&mut t, "10.0.0.3", &[], &[m1]);
        follow(&mut t, &p, &mut held);
        assert_eq!(held, set(&["10.2.0.0/16"]));
        // The default: everything; the peer then shares the plain peer's group.
        membership(&mut t, "10.0.0.3", &[RtMembership::DEFAULT], &[]);
        follow(&mut t, &p, &mut held);
        assert_eq!(held.len(), 4);
        assert_eq!(t.adj.sizes(), vec![1, 2]);
        follow(&mut t, &plain, &mut plain_held);
        assert_eq!(plain_held.len(), 4);
    }

    #[test]
    fn the_wait_for_end_of_rib_ends_on_the_timer_of_its_session() {
        let mut t = task();
        let _f = peer(&mut t, "10.0.0.2", 200, false, vec![Family::VPNV4]);
        vpn_route(&mut t, "10.0.0.2", 1);
        let p = peer(
            &mut t,
            "10.0.0.3",
            100,
            true,
            vec![Family::VPNV4, Family::RTC],
        );
        let mut held = BTreeSet::new();
        membership(&mut t, "10.0.0.3", &[RtMembership::DEFAULT], &[]);
        follow(&mut t, &p, &mut held);
        assert!(held.is_empty());
        // A timer of an older session does nothing.
        t.handle(Input::RtcWaitOver {
            peer: "10.0.0.3".parse().unwrap(),
            session: 0,
        });
        follow(&mut t, &p, &mut held);
        assert!(held.is_empty());
        t.handle(Input::RtcWaitOver {
            peer: "10.0.0.3".parse().unwrap(),
            session: 1,
        });
        follow(&mut t, &p, &mut held);
        assert_eq!(held, set(&["10.1.0.0/16"]));
    }

    #[test]
    fn a_pe_advertises_the_import_targets_of_its_instances() {
        use crate::routing::{Routing, VrfSpec};
        let mut t = task();
        let p = peer(
            &mut t,
            "10.0.0.3",
            100,
            false,
            vec![Family::VPNV4, Family::RTC],
        );
        let spec = |imports: Vec<ExtCommunity>| VrfSpec {
            name: "v1".into(),
            family: Family::IPV4_UNICAST,
            rd: RouteDistinguisher::type0(100, 1),
            import_rt: imports,
            export_rt: vec![rt(1)],
            label: crate::routing::LabelMode::default(),
        };
        t.handle(Input::Settings(Arc::new(Routing {
            vrfs: vec![spec(vec![rt(1), rt(2)])],
            ..Routing::default()
        })));
        while t.flush() {}
        assert_eq!(
            t.rtc.sent("10.0.0.3".parse().unwrap()),
            vec![
                RtMembership::new(100, rt(1).0),
                RtMembership::new(100, rt(2).0)
            ]
        );
        t.handle(Input::Settings(Arc::new(Routing {
            vrfs: vec![spec(vec![rt(2)])],
            rtc_default: vec!["10.0.0.3".parse().unwrap()],
            ..Routing::default()
        })));
        assert_eq!(
            t.rtc.sent("10.0.0.3".parse().unwrap()),
            vec![RtMembership::DEFAULT, RtMembership::new(100, rt(2).0)]
        );
        drop(p);
        // The session's end forgets it.
        t.handle(Input::PeerDown {
            peer: "10.0.0.3".parse().unwrap(),
            session: 1,
        });
        assert!(!t.rtc.negotiated("10.0.0.3".parse().unwrap()));
    }
}
