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
