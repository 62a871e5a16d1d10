//! The typed configuration model.
//!
//! [`Config`] is what the grammar's actions change and what ternd reads: interfaces and their
//! addresses, VPN instances (RD, route targets, label mode), and BGP (peers, address families,
//! per-peer per-family settings). Values VRP only shows when set are `Option`s, so the model
//! keeps "configured" apart from "default" and can be printed back as it was written.
//! Configuration tern does not act on yet is kept verbatim in [`Config::kept`].

mod effective;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use tern_types::{Afi, Asn, ExtCommunity, Family, Notation, RouteDistinguisher};

use crate::community::CommunityValue;
use crate::value::Written;

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
    /// `route-policy NAME permit|deny node N`, by name.
    pub route_policies: BTreeMap<String, RoutePolicy>,
    /// `ip ip-prefix NAME ...`, by name.
    pub ip_prefixes: BTreeMap<String, PrefixList>,
    /// `ip ipv6-prefix NAME ...`, by name.
    pub ipv6_prefixes: BTreeMap<String, PrefixList>,
    /// `ip route-static ...` and `ipv6 route-static ...`, in print order (see
    /// [`StaticRoute::key`]).
    pub static_routes: Vec<StaticRoute>,
    /// Lines kept verbatim, in the order they were entered.
    pub kept: Vec<KeptLine>,
    /// `as-notation plain`: displays write 4-octet AS numbers as integers rather than dotted
    /// (the configuration keeps each number as it was written either way).
    pub as_notation_plain: bool,
    /// The `bmp` view (BMP, RFC 7854), if configured.
    pub bmp: Option<crate::bmp::Bmp>,
    /// `ip as-path-filter`, `ip community-filter`, `ip extcommunity-filter`, `ip rd-filter`.
    pub filters: crate::filter::Filters,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sysname: "HUAWEI".into(),
            interfaces: BTreeMap::new(),
            vpn_instances: BTreeMap::new(),
            bgp: None,
            route_policies: BTreeMap::new(),
            ip_prefixes: BTreeMap::new(),
            ipv6_prefixes: BTreeMap::new(),
            static_routes: Vec::new(),
            kept: Vec::new(),
            as_notation_plain: false,
            bmp: None,
            filters: crate::filter::Filters::default(),
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

impl Config {
    /// The router ID of a VPN instance family's sessions when it has its own (`router-id`
    /// in the family view); `None`: the BGP router ID.
    pub fn vrf_router_id(&self, af: &AfKey) -> Option<Ipv4Addr> {
        let vrf = af.vpn_instance()?;
        let fam = self.bgp.as_ref()?.families.get(af)?;
        match fam.router_id? {
            VrfRouterId::Addr(a) => Some(a),
            VrfRouterId::AutoSelect => {
                let bound = || {
                    self.interfaces
                        .values()
                        .filter(|i| i.vpn_instance.as_deref() == Some(vrf))
                };
                let best = |loopback: bool| {
                    bound()
                        .filter(|i| i.name.starts_with("LoopBack") == loopback)
                        .flat_map(|i| i.ipv4.iter().map(|n| n.addr()))
                        .max()
                };
                best(true).or_else(|| best(false))
            }
        }
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
    /// `route-distinguisher`, as written.
    pub rd: Option<Written<RouteDistinguisher>>,
    /// `vpn-target ... import-extcommunity` (or `both`), as written.
    pub import_rt: Vec<Written<ExtCommunity>>,
    /// `vpn-target ... export-extcommunity` (or `both`), as written.
    pub export_rt: Vec<Written<ExtCommunity>>,
    /// `apply-label …`: how the family's exported routes are labeled.
    pub apply_label: LabelMode,
}

/// A VPN instance family's label allocation (`apply-label`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelMode {
    /// One label per route (the default, `apply-label per-route`).
    #[default]
    PerRoute,
    /// `apply-label per-instance`: one label for the family.
    PerInstance,
    /// `apply-label per-instance static L`: the family's label is L (16–32783).
    PerInstanceStatic(u32),
    /// `apply-label per-nexthop`: one label per next hop of the instance's routes.
    PerNextHop,
}

impl VpnAf {
    /// The route distinguisher's value.
    pub fn rd_value(&self) -> Option<RouteDistinguisher> {
        self.rd.map(|r| r.value)
    }
    /// The import route targets' values.
    pub fn import_targets(&self) -> Vec<ExtCommunity> {
        self.import_rt.iter().map(|r| r.value).collect()
    }
    /// The export route targets' values.
    pub fn export_targets(&self) -> Vec<ExtCommunity> {
        self.export_rt.iter().map(|r| r.value).collect()
    }
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
    /// Local AS, as written.
    pub asn: Written<Asn>,
    /// `router-id`.
    pub router_id: Option<Ipv4Addr>,
    /// Public-network peers (BGP view) by address.
    pub peers: BTreeMap<IpAddr, Peer>,
    /// Address families, public and per VPN instance.
    pub families: BTreeMap<AfKey, BgpFamily>,
    /// `graceful-restart` (RFC 4724).
    pub graceful_restart: bool,
    /// `graceful-restart timer restart N`: how long peers keep our routes while we restart
    /// (VRP's default: 150 s).
    pub gr_restart_time: Option<u16>,
    /// `graceful-restart timer wait-for-rib N`: how long routes of a restarting peer stay
    /// stale after its session is back, waiting for its End-of-RIB (VRP's default: 600 s).
    pub gr_wait_for_rib: Option<u16>,
    /// `timer keepalive K hold H`: every peer's timers unless it has its own `peer X timer`.
    pub timers: Option<Timers>,
    /// `timer connect-retry N`: every peer's ConnectRetry unless it has its own.
    pub connect_retry: Option<u16>,
    /// Public peer groups (`group G [internal|external]` in the BGP view) by name.
    pub groups: BTreeMap<String, Group>,
}

/// VRP's default `graceful-restart timer restart`.
pub const GR_RESTART_TIME: u16 = 150;
/// VRP's default `graceful-restart timer wait-for-rib`.
pub const GR_WAIT_FOR_RIB: u16 = 600;
/// VRP's default keepalive and hold time.
pub const TIMERS: Timers = Timers {
    keepalive: 60,
    hold: 180,
};
/// VRP's default ConnectRetry interval (seconds).
pub const CONNECT_RETRY: u16 = 32;

impl Bgp {
    /// A new instance with VRP's defaults (the IPv4 unicast family exists).
    pub fn new(asn: impl Into<Written<Asn>>) -> Bgp {
        let asn = asn.into();
        let mut families = BTreeMap::new();
        families.insert(AfKey::Ipv4Unicast, BgpFamily::default());
        Bgp {
            asn,
            router_id: None,
            peers: BTreeMap::new(),
            families,
            graceful_restart: false,
            gr_restart_time: None,
            gr_wait_for_rib: None,
            timers: None,
            connect_retry: None,
            groups: BTreeMap::new(),
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

    /// The keepalive and hold time a peer uses: its own `peer X timer`, else the BGP
    /// view's `timer`, else VRP's defaults.
    pub fn peer_timers(&self, peer: &Peer) -> Timers {
        peer.timers.or(self.timers).unwrap_or(TIMERS)
    }

    /// The ConnectRetry interval a peer uses: its own `peer X timer connect-retry`, else the
    /// BGP view's `timer connect-retry`, else VRP's 32 s.
    pub fn peer_connect_retry(&self, peer: &Peer) -> u16 {
        peer.connect_retry
            .or(self.connect_retry)
            .unwrap_or(CONNECT_RETRY)
    }

    /// True when the peer is IBGP (same AS as ours).
    pub fn is_ibgp(&self, peer: &Peer) -> bool {
        peer.asn.value == self.asn.value
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
    /// `ipv4-family vpn-target`: route target constraint (RFC 4684).
    VpnTarget,
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
            AfKey::VpnTarget => Family::RTC,
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
            AfKey::VpnTarget => "ipv4-family vpn-target".into(),
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
    /// `peer X as-number`, as written.
    pub asn: Written<Asn>,
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
    /// `peer X timer connect-retry N`.
    pub connect_retry: Option<u16>,
    /// `peer X description`.
    pub description: Option<String>,
    /// `peer X ignore`.
    pub ignore: bool,
    /// `peer X fake-as`.
    pub fake_as: Option<FakeAs>,
    /// `peer X group G`: the peer group it belongs to (public groups for public peers, the
    /// family's groups for a VPN instance's peers).
    pub group: Option<String>,
    /// The AS number is the group's (`peer X group G` without `peer X as-number`; the local
    /// AS for an internal group), not printed as the peer's own.
    pub asn_inherited: bool,
}

impl Peer {
    /// A peer with only its AS set.
    pub fn new(addr: IpAddr, asn: impl Into<Written<Asn>>) -> Peer {
        Peer {
            addr,
            asn: asn.into(),
            connect_interface: None,
            ebgp_max_hop: None,
            valid_ttl_hops: None,
            password: None,
            timers: None,
            connect_retry: None,
            description: None,
            ignore: false,
            fake_as: None,
            group: None,
            asn_inherited: false,
        }
    }
}

/// A peer group (`group G [internal|external]`): session and per-family settings its
/// members inherit unless they set their own ([`Config::effective`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Name (1..47 characters).
    pub name: String,
    /// `external` (EBGP members); `internal` or no type: IBGP.
    pub external: bool,
    /// `peer G as-number A` (an external group's AS; an internal group's is the local AS).
    pub asn: Option<Written<Asn>>,
    /// `peer G connect-interface`, `password`, `timer`, ...: the group's session settings,
    /// in a peer's shape (its `addr` and `asn` are not used).
    pub session: Peer,
}

/// `peer X connect-interface`: an interface, an address, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectInterface {
    /// Source interface (canonical name).
    pub interface: Option<String>,
    /// Source address.
    pub address: Option<IpAddr>,
}

/// `peer X password`: the key in its cipher form ([`crate::secret`]), however it was entered
/// (`cipher` with a cipher text or a plain key, `simple` with a plain key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    /// `cipher %^%#…%^%#`.
    Cipher(String),
}

impl Password {
    /// The key itself (for the kernel).
    pub fn key(&self) -> String {
        match self {
            Password::Cipher(c) => crate::secret::decode(c).unwrap_or_else(|| c.clone()),
        }
    }
}

/// `timer keepalive K hold H` / `peer X timer keepalive K hold H` (seconds).
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
    /// `undo synchronization` typed (`Some(false)`), printed back as VRP prints it.
    /// `synchronization` itself is refused: tern has no BGP-IGP synchronization.
    pub synchronization: Option<bool>,
    /// `reflector cluster-id`.
    pub reflector_cluster_id: Option<Ipv4Addr>,
    /// `timer wait-for-eor N` in the BGP-VPN-Target view: how long a peer's VPN routes wait
    /// for its End-of-RIB of the route target constraint family, seconds (180 when absent).
    pub wait_for_eor: Option<u16>,
    /// `bestroute add-path path-number N` (2..=64): how many paths of a destination may be
    /// sent to ADD-PATH peers (RFC 7911).
    pub bestroute_add_path: Option<u8>,
    /// `router-id` of a VPN instance family.
    pub router_id: Option<VrfRouterId>,
    /// The peer groups of this VPN instance family (`group G` in its view) by name.
    pub groups: BTreeMap<String, Group>,
    /// Per-group settings in this family (`peer G enable`, `peer G route-policy P export`),
    /// by group name.
    pub group_peers: BTreeMap<String, AfPeer>,
    /// `maximum load-balancing [ebgp|ibgp] N`.
    pub load_balancing: LoadBalancing,
    /// `routing-table rib-only [route-policy P]`: the family's BGP routes (those the policy
    /// permits, with one) stay out of the kernel.
    pub rib_only: Option<RibOnly>,
}

/// `router-id X | auto-select` in a VPN instance family view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VrfRouterId {
    /// `router-id X`.
    Addr(Ipv4Addr),
    /// `router-id auto-select`: the largest address of a loopback bound to the instance,
    /// else of any interface bound to it (up or down).
    AutoSelect,
}

/// `maximum load-balancing`: how many equal-cost paths of a destination are installed
/// together. `maximum load-balancing N` sets both kinds; `ebgp N` and `ibgp N` one kind each
/// (they may be configured together, and replace the plain form).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadBalancing {
    /// `maximum load-balancing N`.
    pub both: Option<u32>,
    /// `maximum load-balancing ebgp N`.
    pub ebgp: Option<u32>,
    /// `maximum load-balancing ibgp N`.
    pub ibgp: Option<u32>,
}

impl LoadBalancing {
    /// The paths installed together at most, for EBGP and IBGP routes (1: no load balancing).
    pub fn limits(&self) -> (u32, u32) {
        (
            self.both.or(self.ebgp).unwrap_or(1),
            self.both.or(self.ibgp).unwrap_or(1),
        )
    }
}

/// `routing-table rib-only [route-policy P]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RibOnly {
    /// Only the routes this policy permits stay out of the kernel (all of them without one).
    pub route_policy: Option<String>,
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
    /// `peer X as-path-filter F import`.
    pub as_path_filter_import: Option<String>,
    /// `peer X as-path-filter F export`.
    pub as_path_filter_export: Option<String>,
    /// `peer X ip-prefix P import` (IPv4 families) / `peer X ipv6-prefix P import` (IPv6
    /// families).
    pub prefix_import: Option<String>,
    /// `peer X ip-prefix P export` / `peer X ipv6-prefix P export`.
    pub prefix_export: Option<String>,
    /// `peer X route-limit LIMIT [PERCENT] [alert-only | idle-forever | idle-timeout M]`.
    pub route_limit: Option<RouteLimit>,
    /// `peer X advertise-community`.
    pub advertise_community: bool,
    /// `peer X advertise-ext-community`.
    pub advertise_ext_community: bool,
    /// `peer X keep-all-routes`: tern keeps every peer's routes as received whether or not
    /// it is set (import policy changes apply without a route refresh); kept to print.
    pub keep_all_routes: bool,
    /// `peer X allow-as-loop [N]` (1 without a number).
    pub allow_as_loop: Option<u8>,
    /// `peer X substitute-as`.
    pub substitute_as: bool,
    /// `peer X public-as-only [force | limited] [replace] [include-peer-as]`.
    pub public_as_only: Option<PublicAsOnly>,
    /// `peer X default-route-advertise [route-policy P]`: `Some(policy)`.
    pub default_route_advertise: Option<Option<String>>,
    /// `peer X default-route-advertise` in the BGP-VPN-Target view: the default route target
    /// membership (RFC 4684 §3) is sent to the peer, asking it for every VPN route.
    pub rtc_default_route: bool,
    /// `peer X capability-advertise add-path send|receive|both` (RFC 7911).
    pub add_path: Option<AddPathMode>,
    /// `peer X advertise add-path path-number N` (2..=64).
    pub advertise_add_path: Option<u8>,
}

/// The directions of `peer X capability-advertise add-path`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddPathMode {
    /// `receive`: the peer may send several paths of a destination.
    Receive,
    /// `send`: this router may send several paths of a destination.
    Send,
    /// `both`.
    Both,
}

impl AddPathMode {
    /// True when this router receives path identifiers.
    pub fn receive(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }
    /// True when this router sends path identifiers.
    pub fn send(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
    /// The mode of these directions (`None`: neither).
    pub fn of(receive: bool, send: bool) -> Option<AddPathMode> {
        match (receive, send) {
            (true, true) => Some(AddPathMode::Both),
            (true, false) => Some(AddPathMode::Receive),
            (false, true) => Some(AddPathMode::Send),
            (false, false) => None,
        }
    }
    /// The keyword (`send`, `receive`, `both`).
    pub fn word(self) -> &'static str {
        match self {
            AddPathMode::Receive => "receive",
            AddPathMode::Send => "send",
            AddPathMode::Both => "both",
        }
    }
}

impl BgpFamily {
    /// How many paths of a destination `peer` may be sent in this family (RFC 7911): the
    /// smaller of `bestroute add-path` and `peer X advertise add-path`, 1 without either.
    /// Meaningful only where ADD-PATH send is negotiated.
    pub fn add_path_count(&self, peer: IpAddr) -> u8 {
        match (
            self.bestroute_add_path,
            self.peer(peer).and_then(|p| p.advertise_add_path),
        ) {
            (Some(b), Some(n)) => b.min(n),
            _ => 1,
        }
    }
}

/// Which private AS numbers `peer X public-as-only` removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivateAsMode {
    /// No keyword: a path of private AS numbers only, without the peer's AS, is emptied.
    Basic,
    /// `force`: every private AS number.
    Force,
    /// `limited`: from the left, up to the first public or local AS.
    Limited,
}

/// `peer X public-as-only …`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicAsOnly {
    /// Which private AS numbers.
    pub mode: PrivateAsMode,
    /// `replace`: replaced by the local AS instead of removed.
    pub replace: bool,
    /// `include-peer-as`: the peer's AS too.
    pub include_peer_as: bool,
}

/// `peer X fake-as F [prepend-global-as] [prepend-fake-as]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FakeAs {
    /// The AS this router uses toward the peer, as written.
    pub asn: Written<Asn>,
    /// `prepend-global-as`: the actual AS after the fake one on routes sent.
    pub prepend_global_as: bool,
    /// `prepend-fake-as`: the fake AS added to routes received.
    pub prepend_fake_as: bool,
}

/// `peer X route-limit`: the most routes of the family the peer may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteLimit {
    /// The limit (1..=4294967295).
    pub limit: u32,
    /// Percentage of the limit at which a warning is logged (VRP's default: 75).
    pub percent: Option<u8>,
    /// What happens past the limit.
    pub action: RouteLimitAction,
}

/// What `peer X route-limit` does once the limit is exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteLimitAction {
    /// No keyword: the session closes (Cease / Maximum Number of Prefixes Reached) and
    /// connects again after 30 s.
    Restart,
    /// `alert-only`: the session stays; routes past the limit are not accepted.
    AlertOnly,
    /// `idle-forever`: the session closes and stays down until `reset bgp`.
    IdleForever,
    /// `idle-timeout M`: the session closes and connects again after M minutes.
    IdleTimeout(u16),
}

/// VRP's default warning threshold of `peer X route-limit`, in percent.
pub const ROUTE_LIMIT_PERCENT: u8 = 75;

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
    /// `ospf N`: the kernel routes of protocol `ospf` (188).
    Ospf(u32),
    /// `isis N`: the kernel routes of protocol `isis` (187).
    Isis(u32),
    /// `rip N`: the kernel routes of protocol `rip` (189).
    Rip(u32),
}

impl ImportProtocol {
    /// The kernel routing protocol number (`rtm_protocol`) an IGP's routes carry.
    pub fn kernel_protocol(self) -> Option<u8> {
        match self {
            ImportProtocol::Isis(_) => Some(187),
            ImportProtocol::Ospf(_) => Some(188),
            ImportProtocol::Rip(_) => Some(189),
            ImportProtocol::Direct | ImportProtocol::Static => None,
        }
    }
}

/// `permit` or `deny` (route-policy nodes, prefix list entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchMode {
    /// `permit`.
    Permit,
    /// `deny`.
    Deny,
}

impl MatchMode {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Permit => "permit",
            MatchMode::Deny => "deny",
        }
    }
}

/// A route policy (`route-policy NAME permit|deny node N`): nodes matched in ascending
/// order, first match wins, a route no node permits is denied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutePolicy {
    /// Nodes by number (0..65535).
    pub nodes: BTreeMap<u16, PolicyNode>,
}

/// One node of a route policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyNode {
    /// `permit` or `deny`.
    pub mode: MatchMode,
    /// `if-match` clauses, in print order (by kind, then entry order). Clauses of different
    /// kinds must all match; several of one list kind (`community-filter`) match if any does.
    pub matches: Vec<Match>,
    /// `apply` clauses, in print order (by kind); one per kind.
    pub applies: Vec<Apply>,
}

impl PolicyNode {
    /// An empty node.
    pub fn new(mode: MatchMode) -> PolicyNode {
        PolicyNode {
            mode,
            matches: Vec::new(),
            applies: Vec::new(),
        }
    }
}

/// An `if-match` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// `if-match ip-prefix NAME` (IPv4 routes; IPv6 routes pass).
    IpPrefix(String),
    /// `if-match ipv6 address prefix-list NAME` (IPv6 routes; IPv4 routes pass).
    Ipv6PrefixList(String),
    /// `if-match mpls-label`: routes that carry a label.
    MplsLabel,
    /// `if-match community-filter NAME`.
    CommunityFilter(String),
    /// `if-match community-filter NAME whole-match`: the route's communities are exactly
    /// those of a basic filter's entry.
    CommunityFilterWhole(String),
    /// `if-match as-path-filter NAME`.
    AsPathFilter(String),
    /// `if-match extcommunity-filter NAME`.
    ExtcommunityFilter(String),
    /// `if-match cost N` (MED).
    Cost(u32),
    /// `if-match tag N`.
    Tag(u32),
    /// `if-match rd-filter N`.
    RdFilter(u32),
}

impl Match {
    /// Print order of the kind; also the kind's identity.
    pub fn kind(&self) -> u8 {
        match self {
            Match::IpPrefix(_) => 0,
            Match::Ipv6PrefixList(_) => 1,
            Match::MplsLabel => 2,
            Match::CommunityFilter(_) | Match::CommunityFilterWhole(_) => 3,
            Match::AsPathFilter(_) => 4,
            Match::ExtcommunityFilter(_) => 5,
            Match::Cost(_) => 6,
            Match::Tag(_) => 7,
            Match::RdFilter(_) => 8,
        }
    }
    /// Kinds a node may hold several of (filters named one per clause).
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            Match::CommunityFilter(_)
                | Match::CommunityFilterWhole(_)
                | Match::AsPathFilter(_)
                | Match::ExtcommunityFilter(_)
        )
    }
    /// The command line.
    pub fn line(&self) -> String {
        match self {
            Match::IpPrefix(n) => format!("if-match ip-prefix {n}"),
            Match::Ipv6PrefixList(n) => format!("if-match ipv6 address prefix-list {n}"),
            Match::MplsLabel => "if-match mpls-label".into(),
            Match::CommunityFilter(n) => format!("if-match community-filter {n}"),
            Match::CommunityFilterWhole(n) => {
                format!("if-match community-filter {n} whole-match")
            }
            Match::AsPathFilter(n) => format!("if-match as-path-filter {n}"),
            Match::ExtcommunityFilter(n) => format!("if-match extcommunity-filter {n}"),
            Match::Cost(v) => format!("if-match cost {v}"),
            Match::Tag(v) => format!("if-match tag {v}"),
            Match::RdFilter(v) => format!("if-match rd-filter {v}"),
        }
    }
}

/// An `apply` clause. Values are typed when the line is entered (a bad one is refused with
/// the caret under it) and kept in the order entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Apply {
    /// `apply cost N` (MED).
    Cost(u32),
    /// `apply tag N`.
    Tag(u32),
    /// `apply local-preference N`.
    LocalPreference(u32),
    /// `apply preferred-value N`.
    PreferredValue(u32),
    /// `apply community V... [additive]`: 1..=32 communities (RFC 1997) replacing the
    /// route's, or added to them.
    Community {
        /// The communities, in the form and order written.
        values: Vec<CommunityValue>,
        /// `additive`.
        additive: bool,
    },
    /// `apply community none`: the route's communities are removed.
    CommunityNone,
    /// `apply extcommunity rt X [rt Y ...] [additive]`: 1..=16 route targets (RFC 4360 §4)
    /// replacing the route's route targets, or added to them.
    Extcommunity {
        /// The route targets, in the order and form written.
        rts: Vec<Written<ExtCommunity>>,
        /// `additive`.
        additive: bool,
    },
    /// `apply as-path A... additive|overwrite|delete`: 1..=128 AS numbers (1..=256 in the
    /// quoted form `"A B ..."`).
    AsPath {
        /// The AS numbers, in the order and form written.
        asns: Vec<Written<Asn>>,
        /// What is done with them.
        mode: AsPathMode,
    },
    /// `apply as-path none overwrite`: the AS_PATH is emptied.
    AsPathNone,
    /// `apply ip-address next-hop A`.
    IpNextHop(Ipv4Addr),
    /// `apply ipv6 next-hop A`.
    Ipv6NextHop(std::net::Ipv6Addr),
    /// `apply mpls-label`: allocate a label (labeled unicast).
    MplsLabel,
    /// `apply comm-filter F delete`: the communities the community filter's permitting
    /// entries name are removed.
    CommFilterDelete(String),
}

impl Apply {
    /// Print order of the kind; also the kind's identity (one clause per kind).
    pub fn kind(&self) -> u8 {
        match self {
            Apply::Cost(_) => 0,
            Apply::Tag(_) => 1,
            Apply::LocalPreference(_) => 2,
            Apply::PreferredValue(_) => 3,
            Apply::Community { .. } | Apply::CommunityNone => 4,
            Apply::Extcommunity { .. } => 5,
            Apply::AsPath { .. } | Apply::AsPathNone => 6,
            Apply::IpNextHop(_) => 7,
            Apply::Ipv6NextHop(_) => 8,
            Apply::MplsLabel => 9,
            Apply::CommFilterDelete(_) => 10,
        }
    }
    /// The command line.
    pub fn line(&self) -> String {
        match self {
            Apply::Cost(v) => format!("apply cost {v}"),
            Apply::Tag(v) => format!("apply tag {v}"),
            Apply::LocalPreference(v) => format!("apply local-preference {v}"),
            Apply::PreferredValue(v) => format!("apply preferred-value {v}"),
            Apply::Community { values, additive } => {
                let mut l = "apply community".to_owned();
                for v in values {
                    l.push_str(&format!(" {v}"));
                }
                if *additive {
                    l.push_str(" additive");
                }
                l
            }
            Apply::CommunityNone => "apply community none".into(),
            Apply::Extcommunity { rts, additive } => {
                let mut l = "apply extcommunity".to_owned();
                for rt in rts {
                    l.push_str(&format!(" rt {}", rt_text(rt)));
                }
                if *additive {
                    l.push_str(" additive");
                }
                l
            }
            Apply::AsPath { asns, mode } => {
                let list = asns
                    .iter()
                    .map(Written::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
                if asns.len() > MAX_AS_PATH {
                    format!("apply as-path \"{list}\" {}", mode.as_str())
                } else {
                    format!("apply as-path {list} {}", mode.as_str())
                }
            }
            Apply::AsPathNone => "apply as-path none overwrite".into(),
            Apply::IpNextHop(a) => format!("apply ip-address next-hop {a}"),
            Apply::Ipv6NextHop(a) => format!("apply ipv6 next-hop {a}"),
            Apply::MplsLabel => "apply mpls-label".into(),
            Apply::CommFilterDelete(f) => format!("apply comm-filter {f} delete"),
        }
    }
}

/// The most route targets one `apply extcommunity` takes (`&<1-16>`).
pub const MAX_ROUTE_TARGETS: usize = 16;
/// The most AS numbers `apply as-path` takes as separate tokens (`&<1-128>`); more, up to
/// [`MAX_AS_PATH_QUOTED`], are written as one quoted token.
pub const MAX_AS_PATH: usize = 128;
/// The most AS numbers of the quoted form of `apply as-path`.
pub const MAX_AS_PATH_QUOTED: usize = 256;

/// What `apply as-path` does with its AS numbers (AS_PATH, RFC 4271 §5.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AsPathMode {
    /// `additive`: prepended to the path, in the order written.
    Additive,
    /// `overwrite`: the path becomes them.
    Overwrite,
    /// `delete`: removed wherever they appear in the path.
    Delete,
}

impl AsPathMode {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            AsPathMode::Additive => "additive",
            AsPathMode::Overwrite => "overwrite",
            AsPathMode::Delete => "delete",
        }
    }
}

/// A route target as VRP writes it (`1:1`, `1.100:1`, without the `RT:` of the display
/// form), in the form it was entered.
pub(crate) fn rt_text(rt: &Written<ExtCommunity>) -> String {
    rt.to_string()
}

/// An IPv4 or IPv6 prefix list (`ip ip-prefix` / `ip ipv6-prefix`): entries matched in
/// ascending index order, first match wins, no match denies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixList {
    /// Entries by index (1..4294967295).
    pub entries: BTreeMap<u32, PrefixEntry>,
}

impl PrefixList {
    /// The index VRP gives an entry typed without `index`: the next multiple of 10 above the
    /// highest index (10 for the first).
    pub fn next_index(&self) -> u32 {
        self.entries
            .keys()
            .next_back()
            .map_or(10, |m| (m / 10).saturating_add(1).saturating_mul(10))
    }
}

/// One prefix list entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixEntry {
    /// `permit` or `deny`.
    pub mode: MatchMode,
    /// Address and mask length (host bits cleared, as VRP stores it).
    pub prefix: IpNet,
    /// `greater-equal G`.
    pub ge: Option<u8>,
    /// `less-equal L`.
    pub le: Option<u8>,
}

impl PrefixEntry {
    /// The range of prefix lengths the entry matches: exactly LEN without bounds; from G (or
    /// LEN) to L (or the family's maximum) with them.
    pub fn len_range(&self) -> (u8, u8) {
        let len = self.prefix.prefix_len();
        let max = self.prefix.max_prefix_len();
        match (self.ge, self.le) {
            (None, None) => (len, len),
            (g, l) => (g.unwrap_or(len), l.unwrap_or(max)),
        }
    }
}

/// A static route (`ip route-static`, `ipv6 route-static`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticRoute {
    /// `vpn-instance V`: the route belongs to that instance (None: public).
    pub vpn_instance: Option<String>,
    /// Destination (host bits cleared).
    pub prefix: IpNet,
    /// Outgoing interface.
    pub interface: Option<String>,
    /// Next hop.
    pub next_hop: Option<IpAddr>,
    /// `preference P` (1..255; 60 when not given).
    pub preference: Option<u8>,
    /// `tag T`.
    pub tag: Option<u32>,
    /// `description TEXT`.
    pub description: Option<String>,
}

impl StaticRoute {
    /// What identifies a route (a second line with the same key replaces the options), in
    /// print order: IPv4 first, public first, then by instance, destination, interface and
    /// next hop.
    #[allow(clippy::type_complexity)]
    pub fn key(&self) -> (bool, Option<&str>, IpNet, Option<&str>, Option<IpAddr>) {
        (
            self.prefix.addr().is_ipv6(),
            self.vpn_instance.as_deref(),
            self.prefix,
            self.interface.as_deref(),
            self.next_hop,
        )
    }
}

/// A line kept verbatim: configuration tern accepts but does not act on yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptLine {
    /// Headers of the enclosing views, outermost first (`["ospf 1", "area 0.0.0.0"]`).
    pub path: Vec<String>,
    /// The line, keywords in full.
    pub text: String,
    /// Feature name for the "kept, not active" report (`ospf`, `mpls`, `mpls ldp`).
    pub feature: &'static str,
}

impl Config {
    /// How displays write AS numbers (`as-notation plain`; dotted by default).
    pub fn notation(&self) -> Notation {
        if self.as_notation_plain {
            Notation::Plain
        } else {
            Notation::Dot
        }
    }

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
