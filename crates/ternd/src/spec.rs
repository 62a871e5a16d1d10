//! What the daemon runs: the resolved, per-peer view of the configuration (addresses looked
//! up, TTL rules decided), independent of how it was written.
//!
//! TTL rules (VRP, RFC 5082):
//! - IBGP: TTL 255.
//! - EBGP with `valid-ttl-hops N` (GTSM): send with TTL 255, accept only TTL ≥ 256 − N.
//! - EBGP with `ebgp-max-hop [N]`: TTL N (255 when N is omitted).
//! - EBGP otherwise: TTL 1, and the peer must be on a directly connected subnet.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use tern_types::Family;

/// The source of a session's packets (`peer X connect-interface`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Address to bind.
    pub addr: IpAddr,
    /// How the operator named it (`LoopBack1`), for messages.
    pub name: String,
}

/// TCP MD5 authentication (`peer X password`).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub Vec<u8>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(****)")
    }
}

/// One configured peer, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSpec {
    /// Peer address.
    pub addr: IpAddr,
    /// Remote TCP port (179).
    pub port: u16,
    /// Peer AS.
    pub remote_as: u32,
    /// Local AS.
    pub local_as: u32,
    /// Local router ID.
    pub router_id: Ipv4Addr,
    /// Source address (connect-interface), if configured.
    pub source: Option<Source>,
    /// `ebgp-max-hop`.
    pub ebgp_max_hop: Option<u8>,
    /// `valid-ttl-hops`.
    pub valid_ttl_hops: Option<u8>,
    /// `password`.
    pub password: Option<Password>,
    /// Keepalive, hold (seconds).
    pub keepalive: u16,
    /// Hold time (seconds).
    pub hold_time: u16,
    /// ConnectRetry (seconds).
    pub connect_retry: u16,
    /// Families enabled.
    pub families: Vec<Family>,
    /// `description`.
    pub description: Option<String>,
    /// `ignore`: configured but administratively down.
    pub ignore: bool,
    /// The peer address lies on a subnet of a configured interface.
    pub directly_connected: bool,
    /// Families with `peer X reflect-client`.
    pub reflect_client: Vec<Family>,
    /// Families with `peer X next-hop-invariable`.
    pub next_hop_invariable: Vec<Family>,
    /// Families with `peer X next-hop-local`.
    pub next_hop_local: Vec<Family>,
    /// Families with `peer X advertise-community`.
    pub advertise_community: Vec<Family>,
    /// Families with `peer X advertise-ext-community`.
    pub advertise_ext_community: Vec<Family>,
    /// The VPN instance the session belongs to (a PE–CE session); `None` for public peers.
    pub vrf: Option<String>,
    /// `graceful-restart` (RFC 4724): advertised, and this router helps a restarting peer.
    pub graceful_restart: Option<GrSpec>,
    /// `peer X route-limit`, per family.
    pub route_limits: Vec<(Family, tern_config::model::RouteLimit)>,
    /// `substitute-as`, `public-as-only`, `fake-as` (toward an external peer).
    pub as_out: tern_engine::asrules::AsOut,
    /// `default-route-advertise [route-policy P]`, per family.
    pub default_route: Vec<(Family, Option<String>)>,
    /// How long the peer's VPN routes wait for its End-of-RIB of the route target constraint
    /// family, seconds (`timer wait-for-eor`, RFC 4684 §6).
    pub rtc_wait_for_eor: u16,
    /// `peer X capability-advertise add-path` per family (RFC 7911), with the paths per
    /// destination the peer may be sent there (`advertise add-path`, `bestroute add-path`).
    pub add_path: Vec<(Family, tern_config::model::AddPathMode, u8)>,
}

/// Graceful restart settings of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrSpec {
    /// Restart time advertised (how long the peer keeps our routes while we restart).
    pub restart_time: u16,
    /// How long a restarted peer's stale routes wait for its End-of-RIB.
    pub wait_for_rib: u16,
}

impl PeerSpec {
    /// A spec with VRP's defaults.
    pub fn new(addr: IpAddr, local_as: u32, remote_as: u32, router_id: Ipv4Addr) -> Self {
        PeerSpec {
            addr,
            port: 179,
            remote_as,
            local_as,
            router_id,
            source: None,
            ebgp_max_hop: None,
            valid_ttl_hops: None,
            password: None,
            keepalive: 60,
            hold_time: 180,
            connect_retry: 32,
            families: vec![Family::IPV4_UNICAST],
            description: None,
            ignore: false,
            directly_connected: true,
            reflect_client: Vec::new(),
            next_hop_invariable: Vec::new(),
            next_hop_local: Vec::new(),
            advertise_community: Vec::new(),
            advertise_ext_community: Vec::new(),
            vrf: None,
            graceful_restart: None,
            route_limits: Vec::new(),
            rtc_wait_for_eor: 180,
            add_path: Vec::new(),
            as_out: tern_engine::asrules::AsOut::default(),
            default_route: Vec::new(),
        }
    }

    /// The AS this router sends in its OPEN: the fake AS of `peer X fake-as` toward an
    /// external peer, the router's own otherwise.
    pub fn open_as(&self) -> u32 {
        match self.as_out.fake_as {
            Some(f) if self.is_ebgp() => f.asn,
            _ => self.local_as,
        }
    }

    /// The outbound options the route engine sends the peer's routes with.
    pub fn outbound(&self) -> tern_engine::Outbound {
        tern_engine::Outbound {
            next_hop_invariable: self.next_hop_invariable.clone(),
            next_hop_local: self.next_hop_local.clone(),
            advertise_community: self.advertise_community.clone(),
            advertise_ext_community: self.advertise_ext_community.clone(),
            as_out: self.as_out.clone(),
            default_route: self.default_route.clone(),
            add_path: self
                .add_path
                .iter()
                .filter(|(_, m, _)| m.send())
                .map(|(f, _, n)| (*f, *n))
                .collect(),
        }
    }

    /// The ADD-PATH capability to offer (RFC 7911 §4): the configured directions of the
    /// session's families. VRP: ADD-PATH takes effect only on IBGP peers.
    pub fn add_path_offer(&self) -> Vec<(Family, tern_wire::capability::AddPathMode)> {
        use tern_wire::capability::AddPathMode as Wire;
        if self.is_ebgp() {
            return Vec::new();
        }
        self.add_path
            .iter()
            .filter(|(f, _, _)| self.families.contains(f))
            .map(|(f, m, _)| {
                let w = match (m.receive(), m.send()) {
                    (true, true) => Wire::BOTH,
                    (true, false) => Wire::RECEIVE,
                    _ => Wire::SEND,
                };
                (*f, w)
            })
            .collect()
    }

    /// True for an external peer.
    pub fn is_ebgp(&self) -> bool {
        self.local_as != self.remote_as
    }

    /// TTL (hop limit) of the packets we send.
    pub fn ttl(&self) -> u8 {
        if !self.is_ebgp() || self.valid_ttl_hops.is_some() {
            255
        } else {
            self.ebgp_max_hop.unwrap_or(1)
        }
    }

    /// Minimum TTL accepted (GTSM), if configured.
    pub fn min_ttl(&self) -> Option<u8> {
        self.valid_ttl_hops
            .map(|n| u8::try_from(256 - u16::from(n)).unwrap_or(255))
    }

    /// Why the session cannot be attempted, if it cannot: a single-hop EBGP peer that is not
    /// on a connected subnet.
    pub fn blocked(&self) -> Option<String> {
        if self.is_ebgp()
            && self.ebgp_max_hop.is_none()
            && self.valid_ttl_hops.is_none()
            && !self.directly_connected
        {
            return Some(format!(
                "EBGP peer {} is not directly connected; configure peer {} ebgp-max-hop",
                self.addr, self.addr
            ));
        }
        None
    }
}

pub use tern_engine::routing::{LocalRoute, PeerPolicy, Routing, VrfSpec};

/// What the daemon runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Host name (`sysname`).
    pub sysname: String,
    /// Local AS (`bgp N`), if BGP is configured.
    pub local_as: Option<u32>,
    /// Router ID.
    pub router_id: Option<Ipv4Addr>,
    /// Interface subnets (for "directly connected").
    pub connected: Vec<IpNet>,
    /// Peers.
    pub peers: Vec<PeerSpec>,
    /// What the RIB runs with.
    pub routing: Routing,
    /// BMP collectors (`bmp`).
    pub bmp: crate::bmp::BmpSpec,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rules() {
        let mut p = PeerSpec::new(
            "10.0.0.2".parse().unwrap(),
            100,
            200,
            Ipv4Addr::new(1, 1, 1, 1),
        );
        assert_eq!((p.ttl(), p.min_ttl()), (1, None));
        p.directly_connected = false;
        assert!(p.blocked().is_some());
        p.ebgp_max_hop = Some(10);
        assert_eq!(p.ttl(), 10);
        assert!(p.blocked().is_none());
        p.ebgp_max_hop = None;
        p.valid_ttl_hops = Some(1);
        assert_eq!((p.ttl(), p.min_ttl()), (255, Some(255)));
        p.valid_ttl_hops = Some(255);
        assert_eq!(p.min_ttl(), Some(1));
        let ibgp = PeerSpec::new(
            "10.0.0.2".parse().unwrap(),
            100,
            100,
            Ipv4Addr::new(1, 1, 1, 1),
        );
        assert_eq!(ibgp.ttl(), 255);
    }
}
