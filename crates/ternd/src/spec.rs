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
    /// The VPN instance the session belongs to (a PE–CE session); `None` for public peers.
    pub vrf: Option<String>,
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
            vrf: None,
        }
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
}

/// The routing side of the configuration, as the RIB task runs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Routing {
    /// `reflector cluster-id` (the router ID when absent).
    pub cluster_id: Option<Ipv4Addr>,
    /// VPN instance address families that have a route distinguisher.
    pub vrfs: Vec<VrfSpec>,
    /// Routes originated locally (`network`, `import-route`), public and per VPN instance.
    pub local: Vec<LocalRoute>,
    /// VPN families with `undo policy vpn-target` (VPN routes are kept whatever their route
    /// targets); elsewhere VPN routes no local instance imports are dropped.
    pub keep_all_vpn: Vec<Family>,
    /// The route policies and prefix lists, compiled.
    pub policies: tern_policy::Policies,
    /// `peer X route-policy P import|export`, per family.
    pub peer_policies: Vec<PeerPolicy>,
}

impl Routing {
    /// The policy of `peer` for `family` in one direction.
    pub fn peer_policy(&self, peer: IpAddr, family: Family, export: bool) -> Option<&str> {
        self.peer_policies
            .iter()
            .find(|p| p.addr == peer && p.family == family)
            .and_then(|p| if export { &p.export } else { &p.import }.as_deref())
    }
}

/// A peer's route policies in one family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerPolicy {
    /// Peer address.
    pub addr: IpAddr,
    /// The family the policies apply to (a labeled-unicast peer's IPv4 unicast policies apply
    /// to its labeled routes).
    pub family: Family,
    /// `route-policy P import`.
    pub import: Option<String>,
    /// `route-policy P export`.
    pub export: Option<String>,
}

/// One address family of a VPN instance (`ip vpn-instance NAME` / `ipv4-family` or
/// `ipv6-family`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrfSpec {
    /// Instance name.
    pub name: String,
    /// The instance's unicast family (IPv4 or IPv6 unicast).
    pub family: Family,
    /// `route-distinguisher`.
    pub rd: tern_types::RouteDistinguisher,
    /// Import route targets.
    pub import_rt: Vec<tern_types::ExtCommunity>,
    /// Export route targets.
    pub export_rt: Vec<tern_types::ExtCommunity>,
    /// `apply-label per-instance` (else one label per route, VRP's default).
    pub per_instance_label: bool,
}

impl VrfSpec {
    /// The VPN family the instance's routes travel in.
    pub fn vpn_family(&self) -> Family {
        if self.family.is_ipv6() {
            Family::VPNV6
        } else {
            Family::VPNV4
        }
    }
}

/// A locally originated route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalRoute {
    /// The VPN instance (`None`: public).
    pub vrf: Option<String>,
    /// The prefix.
    pub prefix: IpNet,
    /// ORIGIN: IGP for `network`, incomplete for `import-route`.
    pub origin: tern_wire::attr::Origin,
    /// MED (`import-route ... med`, else the route's cost: 0 for direct and static routes).
    pub med: Option<u32>,
    /// The route's next hop in the local routing table (`None`: a direct route).
    pub next_hop: Option<IpAddr>,
    /// Route policy run on it.
    pub policy: Option<String>,
    /// Originated in labeled unicast (`ipv4-family labeled-unicast`), with a label of ours.
    pub labeled: bool,
    /// A `network` whose prefix is not a configured direct or static route: originated only
    /// while the kernel's main table holds exactly that prefix (from an IGP, the lab's
    /// stand-in, or anything else but tern itself).
    pub kernel: bool,
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
