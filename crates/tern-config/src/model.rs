//! The typed configuration model.
//!
//! [`Config`] is what the grammar's actions change and what ternd reads: interfaces and their
//! addresses, VPN instances (RD, route targets, label mode), and BGP (peers, address families,
//! per-peer per-family settings). Values VRP only shows when set are `Option`s, so the model
//! keeps "configured" apart from "default" and can be printed back as it was written.
//! Configuration tern does not act on yet is kept verbatim in [`Config::kept`].

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use tern_types::{Afi, Asn, ExtCommunity, Family, RouteDistinguisher};

/// A whole device configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `sysname`; VRP's default is `HUAWEI`.
    pub sysname: String,
    /// Interfaces by canonical name (`LoopBack1`, `GigabitEthernet0/1/0`).
    pub interfaces: BTreeMap<String, Interface>,
    /// VPN instances by name.
    pub vpn_instances: BTreeMap<String, VpnInstance>,
    /// The BGP instance, if configured.
    pub bgp: Option<Bgp>,
    /// Lines kept verbatim, in the order they were entered.
    pub kept: Vec<KeptLine>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sysname: "HUAWEI".into(),
            interfaces: BTreeMap::new(),
            vpn_instances: BTreeMap::new(),
            bgp: None,
            kept: Vec::new(),
        }
    }
}

/// An interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interface {
    /// Canonical name.
    pub name: String,
    /// `shutdown` (`Some(true)`), `undo shutdown` (`Some(false)`), or not configured.
    pub shutdown: Option<bool>,
    /// IPv4 addresses with their prefix length; the first is the primary, the rest `sub`.
    pub ipv4: Vec<Ipv4Net>,
    /// `ipv6 enable`.
    pub ipv6_enable: bool,
    /// IPv6 addresses with their prefix length.
    pub ipv6: Vec<Ipv6Net>,
    /// `ip binding vpn-instance`.
    pub vpn_instance: Option<String>,
    /// `description`.
    pub description: Option<String>,
}

impl Interface {
    /// True unless `shutdown` is configured.
    pub fn is_enabled(&self) -> bool {
        self.shutdown != Some(true)
    }
    /// Every address, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.ipv4
            .iter()
            .map(|n| IpNet::V4(*n))
            .chain(self.ipv6.iter().map(|n| IpNet::V6(*n)))
    }
}

/// A VPN instance (`ip vpn-instance`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VpnInstance {
    /// Name.
    pub name: String,
    /// `ipv4-family`.
    pub ipv4: Option<VpnAf>,
    /// `ipv6-family`.
    pub ipv6: Option<VpnAf>,
}

impl VpnInstance {
    /// One address family.
    pub fn af(&self, afi: Afi) -> Option<&VpnAf> {
        if afi == Afi::IPV6 {
            self.ipv6.as_ref()
        } else {
            self.ipv4.as_ref()
        }
    }
    pub(crate) fn af_slot(&mut self, afi: Afi) -> &mut Option<VpnAf> {
        if afi == Afi::IPV6 {
            &mut self.ipv6
        } else {
            &mut self.ipv4
        }
    }
}

/// One address family of a VPN instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VpnAf {
    /// `route-distinguisher`.
    pub rd: Option<RouteDistinguisher>,
    /// `vpn-target ... import-extcommunity` (or `both`).
    pub import_rt: Vec<ExtCommunity>,
    /// `vpn-target ... export-extcommunity` (or `both`).
    pub export_rt: Vec<ExtCommunity>,
    /// `apply-label per-instance`.
    pub apply_label_per_instance: bool,
}

/// Which side of `vpn-target` a route target is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtDirection {
    /// `import-extcommunity`.
    Import,
    /// `export-extcommunity`.
    Export,
    /// `both` (the default when no direction is given).
    Both,
}

/// The BGP instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bgp {
    /// Local AS.
    pub asn: Asn,
    /// `router-id`.
    pub router_id: Option<Ipv4Addr>,
    /// Public-network peers (BGP view) by address.
    pub peers: BTreeMap<IpAddr, Peer>,
    /// Address families, public and per VPN instance.
    pub families: BTreeMap<AfKey, BgpFamily>,
}

impl Bgp {
    /// A new instance with VRP's defaults (the IPv4 unicast family exists).
    pub fn new(asn: Asn) -> Bgp {
        let mut families = BTreeMap::new();
        families.insert(AfKey::Ipv4Unicast, BgpFamily::default());
        Bgp {
            asn,
            router_id: None,
            peers: BTreeMap::new(),
            families,
        }
    }

    /// A public peer.
    pub fn peer(&self, addr: IpAddr) -> Option<&Peer> {
        self.peers.get(&addr)
    }

    /// A family.
    pub fn family(&self, af: &AfKey) -> Option<&BgpFamily> {
        self.families.get(af)
    }

    /// The public families in which a peer is enabled.
    pub fn enabled_families(&self, addr: IpAddr) -> Vec<Family> {
        self.families
            .iter()
            .filter(|(k, f)| k.vpn_instance().is_none() && f.peer(addr).is_some_and(|p| p.enable))
            .map(|(k, _)| k.family())
            .collect()
    }

    /// Every BGP session: public peers (`None`) and VPN-instance peers (`Some(name)`).
    pub fn sessions(&self) -> impl Iterator<Item = (Option<&str>, &Peer)> + '_ {
        self.peers.values().map(|p| (None, p)).chain(
            self.families
                .iter()
                .flat_map(|(k, f)| f.vrf_peers.values().map(move |p| (k.vpn_instance(), p))),
        )
    }

    /// True when the peer is IBGP (same AS as ours).
    pub fn is_ibgp(&self, peer: &Peer) -> bool {
        peer.asn == self.asn
    }
}

/// A BGP address family as VRP configures it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AfKey {
    /// `ipv4-family unicast`.
    Ipv4Unicast,
    /// `ipv4-family vpnv4`.
    Vpnv4,
    /// `ipv4-family labeled-unicast`.
    Ipv4Labeled,
    /// `ipv6-family unicast`.
    Ipv6Unicast,
    /// `ipv6-family vpnv6`.
    Vpnv6,
    /// `ipv4-family vpn-instance X` / `ipv6-family vpn-instance X`.
    Vrf {
        /// IPv4 or IPv6.
        afi: Afi,
        /// VPN instance name.
        name: String,
    },
}

impl AfKey {
    /// The (AFI, SAFI) this family speaks; a VPN instance family is unicast within the VRF.
    pub fn family(&self) -> Family {
        match self {
            AfKey::Ipv4Unicast => Family::IPV4_UNICAST,
            AfKey::Vpnv4 => Family::VPNV4,
            AfKey::Ipv4Labeled => Family::IPV4_LABELED,
            AfKey::Ipv6Unicast => Family::IPV6_UNICAST,
            AfKey::Vpnv6 => Family::VPNV6,
            AfKey::Vrf { afi, .. } => {
                if *afi == Afi::IPV6 {
                    Family::IPV6_UNICAST
                } else {
                    Family::IPV4_UNICAST
                }
            }
        }
    }

    /// The VPN instance, for `vpn-instance` families.
    pub fn vpn_instance(&self) -> Option<&str> {
        match self {
            AfKey::Vrf { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The command that enters the family view (`ipv6-family vpnv6`).
    pub fn header(&self) -> String {
        match self {
            AfKey::Ipv4Unicast => "ipv4-family unicast".into(),
            AfKey::Vpnv4 => "ipv4-family vpnv4".into(),
            AfKey::Ipv4Labeled => "ipv4-family labeled-unicast".into(),
            AfKey::Ipv6Unicast => "ipv6-family unicast".into(),
            AfKey::Vpnv6 => "ipv6-family vpnv6".into(),
            AfKey::Vrf { afi, name } => {
                let v = if *afi == Afi::IPV6 { 6 } else { 4 };
                format!("ipv{v}-family vpn-instance {name}")
            }
        }
    }
}

/// A BGP peer's session settings (BGP view, or the VPN instance family view for VRF peers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Peer address.
    pub addr: IpAddr,
    /// `peer X as-number`.
    pub asn: Asn,
    /// `peer X connect-interface`.
    pub connect_interface: Option<ConnectInterface>,
    /// `peer X ebgp-max-hop [n]` (255 when given without a value).
    pub ebgp_max_hop: Option<u8>,
    /// `peer X valid-ttl-hops [n]` (GTSM; 255 when given without a value).
    pub valid_ttl_hops: Option<u8>,
    /// `peer X password`.
    pub password: Option<Password>,
    /// `peer X timer keepalive K hold H`.
    pub timers: Option<Timers>,
    /// `peer X description`.
    pub description: Option<String>,
    /// `peer X ignore`.
    pub ignore: bool,
}

impl Peer {
    /// A peer with only its AS set.
    pub fn new(addr: IpAddr, asn: Asn) -> Peer {
        Peer {
            addr,
            asn,
            connect_interface: None,
            ebgp_max_hop: None,
            valid_ttl_hops: None,
            password: None,
            timers: None,
            description: None,
            ignore: false,
        }
    }
}

/// `peer X connect-interface`: an interface, an address, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectInterface {
    /// Source interface (canonical name).
    pub interface: Option<String>,
    /// Source address.
    pub address: Option<IpAddr>,
}

/// `peer X password`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    /// `cipher KEY` (stored as given).
    Cipher(String),
    /// `simple KEY`.
    Simple(String),
}

/// `peer X timer keepalive K hold H` (seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// Keepalive interval.
    pub keepalive: u16,
    /// Hold time.
    pub hold: u16,
}

/// One BGP address family's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BgpFamily {
    /// Per-peer settings in this family.
    pub peers: BTreeMap<IpAddr, AfPeer>,
    /// Sessions that belong to this VPN instance family (`peer X as-number` in it).
    pub vrf_peers: BTreeMap<IpAddr, Peer>,
    /// `network`.
    pub networks: Vec<Network>,
    /// `import-route`.
    pub import_routes: Vec<ImportRoute>,
    /// `policy vpn-target` (`Some(true)`), `undo policy vpn-target` (`Some(false)`); VRP
    /// filters VPN routes by route target unless told otherwise.
    pub policy_vpn_target: Option<bool>,
    /// `synchronization` / `undo synchronization`.
    pub synchronization: Option<bool>,
    /// `reflector cluster-id`.
    pub reflector_cluster_id: Option<Ipv4Addr>,
}

impl BgpFamily {
    /// A peer's settings in this family.
    pub fn peer(&self, addr: IpAddr) -> Option<&AfPeer> {
        self.peers.get(&addr)
    }
    /// True when VPN routes are filtered by route target (the VRP default).
    pub fn vpn_target_filtering(&self) -> bool {
        self.policy_vpn_target != Some(false)
    }
}

/// A peer's settings in one address family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AfPeer {
    /// `peer X enable`.
    pub enable: bool,
    /// `peer X reflect-client`.
    pub reflect_client: bool,
    /// `peer X next-hop-invariable`.
    pub next_hop_invariable: bool,
    /// `peer X next-hop-local`.
    pub next_hop_local: bool,
    /// `peer X label-route-capability`.
    pub label_route_capability: bool,
    /// `peer X route-policy P import`.
    pub route_policy_import: Option<String>,
    /// `peer X route-policy P export`.
    pub route_policy_export: Option<String>,
}

/// `network`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// The prefix (host bits cleared).
    pub prefix: IpNet,
    /// `route-policy P`.
    pub route_policy: Option<String>,
}

/// `import-route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRoute {
    /// The source protocol.
    pub protocol: ImportProtocol,
    /// `med M`.
    pub med: Option<u32>,
    /// `route-policy P`.
    pub route_policy: Option<String>,
}

/// Source of `import-route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportProtocol {
    /// Directly connected routes.
    Direct,
    /// Static routes.
    Static,
}

/// A line kept verbatim: configuration tern accepts but does not act on yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptLine {
    /// Headers of the enclosing views, outermost first (`["ospf 1", "area 0.0.0.0"]`).
    pub path: Vec<String>,
    /// The line, keywords in full.
    pub text: String,
    /// Feature name for the "kept, not active" report (`ospf`, `mpls`, `route-policy`).
    pub feature: &'static str,
}

impl Config {
    /// A public BGP peer.
    pub fn bgp_peer(&self, addr: IpAddr) -> Option<&Peer> {
        self.bgp.as_ref()?.peer(addr)
    }

    /// An interface by name (any accepted spelling: `LoopBack1`, `loopback1`).
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        let n = crate::value::canonical_ifname(name)?;
        self.interfaces.get(&n)
    }

    /// The features kept but not active, sorted, each once.
    pub fn kept_features(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.kept.iter().map(|k| k.feature).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The once-per-load report (`kept, not active: mpls, ospf`), if anything was kept.
    pub fn kept_report(&self) -> Option<String> {
        let f = self.kept_features();
        (!f.is_empty()).then(|| format!("kept, not active: {}", f.join(", ")))
    }
}
