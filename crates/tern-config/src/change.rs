//! Typed changes and the rules checked when one is applied.
//!
//! Every configuration line becomes one [`Change`]. [`Config::apply`] checks VRP's rules first
//! and mutates only when they all hold, so a rejected line leaves the model unchanged. A later
//! two-stage commit collects changes against a candidate copy; the same type is its change set.
//!
//! Rules enforced (texts in VRP's style; the vendor reference describes the conditions in each
//! command's `ExtraInfo`):
//! - `peer X <anything>` needs `peer X as-number` first, in the same scope (BGP view for public
//!   peers, the VPN instance family for its own peers) — "Prerequisites: The peer as-number
//!   command has been used to create a peer";
//! - `peer X ebgp-max-hop` and `peer X valid-ttl-hops` exclude each other ("The configurations
//!   of GTSM and EBGP-MAX-HOP ... are mutually exclusive");
//! - `peer X reflect-client` only for IBGP peers, and the AS of such a peer cannot become
//!   external while it is a client;
//! - `peer X next-hop-invariable` and `peer X next-hop-local` exclude each other;
//! - one BGP instance: `bgp N` with another AS than the running one is rejected;
//! - `ip binding vpn-instance`, `ipv4-family vpn-instance X`: the VPN instance (and its family)
//!   must exist; binding deletes the interface's IP addresses, as VRP does;
//! - `vpn-target` and `apply-label` need the RD first; an RD is changed only after `undo`;
//! - peer groups: their own rules, in [`group`].

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use tern_types::{Afi, Asn, ExtCommunity, RouteDistinguisher};

pub mod group;

use crate::error::Reject;
use crate::model::*;
use crate::value::Written;

/// A route-policy clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// `if-match ...`.
    Match(Match),
    /// `apply ...`.
    Apply(Apply),
    /// `if-match community-filter|as-path-filter|extcommunity-filter F [G …]`: one clause per
    /// filter. With undo, each named filter's clause goes (a community filter's with or
    /// without `whole-match`).
    Matches(Vec<Match>),
}

/// Which peers a `peer` command addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerScope {
    /// Public peers (BGP view and public families).
    Public,
    /// The peers of one VPN instance family.
    Vrf(AfKey),
}

/// Session-level peer settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionAttr {
    /// `connect-interface`.
    ConnectInterface(Option<ConnectInterface>),
    /// `ebgp-max-hop`.
    EbgpMaxHop(Option<u8>),
    /// `valid-ttl-hops`.
    ValidTtlHops(Option<u8>),
    /// `password`.
    Password(Option<Password>),
    /// `timer keepalive K hold H`.
    Timers(Option<Timers>),
    /// `timer connect-retry N`.
    ConnectRetry(Option<u16>),
    /// `description`.
    Description(Option<String>),
    /// `ignore`.
    Ignore(bool),
    /// `fake-as`.
    FakeAs(Option<FakeAs>),
}

/// Per-family peer settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfPeerAttr {
    /// `enable`.
    Enable(bool),
    /// `reflect-client`.
    ReflectClient(bool),
    /// `next-hop-invariable`.
    NextHopInvariable(bool),
    /// `next-hop-local`.
    NextHopLocal(bool),
    /// `label-route-capability`.
    LabelRouteCapability(bool),
    /// `route-policy P import` (None: undo).
    RoutePolicyImport(Option<String>),
    /// `route-policy P export` (None: undo).
    RoutePolicyExport(Option<String>),
    /// `as-path-filter F import|export` (`export`; None: undo).
    AsPathFilter(bool, Option<String>),
    /// `ip-prefix P import|export` / `ipv6-prefix P import|export` (`export`, the IPv6
    /// form, the list; None: undo).
    PrefixFilter(bool, bool, Option<String>),
    /// `route-limit …` (None: undo).
    RouteLimit(Option<crate::model::RouteLimit>),
    /// `advertise-community`.
    AdvertiseCommunity(bool),
    /// `advertise-ext-community`.
    AdvertiseExtCommunity(bool),
    /// `keep-all-routes`.
    KeepAllRoutes(bool),
    /// `allow-as-loop [N]`.
    AllowAsLoop(Option<u8>),
    /// `substitute-as`.
    SubstituteAs(bool),
    /// `public-as-only …`.
    PublicAsOnly(Option<PublicAsOnly>),
    /// `default-route-advertise [route-policy P]` (None: undo).
    DefaultRouteAdvertise(Option<Option<String>>),
    /// `default-route-advertise` in the BGP-VPN-Target view.
    RtcDefaultRoute(bool),
    /// `capability-advertise add-path MODE` (`undo`: the directions named are removed).
    AddPath(AddPathMode, bool),
    /// `advertise add-path path-number N` (None: undo).
    AdvertiseAddPath(Option<u8>),
}

/// Family-level settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfAttr {
    /// `network` (add) / `undo network` (remove).
    Network(Network, bool),
    /// `import-route` (add or replace) / `undo import-route` (remove).
    ImportRoute(ImportRoute, bool),
    /// `policy vpn-target` / `undo policy vpn-target`.
    PolicyVpnTarget(bool),
    /// `synchronization` / `undo synchronization`.
    Synchronization(bool),
    /// `reflector cluster-id`.
    ReflectorClusterId(Option<std::net::Ipv4Addr>),
    /// `timer wait-for-eor N` (None: undo), BGP-VPN-Target view.
    WaitForEor(Option<u16>),
    /// `router-id` in a VPN instance family.
    RouterId(Option<VrfRouterId>),
    /// `bestroute add-path path-number N` (None: undo).
    BestrouteAddPath(Option<u8>),
    /// `maximum load-balancing [ebgp|ibgp] N` / `undo maximum load-balancing [ebgp|ibgp]`.
    LoadBalancing(LbKind, Option<u32>),
    /// `routing-table rib-only [route-policy P]` / `undo routing-table rib-only`.
    RibOnly(Option<crate::model::RibOnly>),
}

/// Which form of `maximum load-balancing` a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbKind {
    /// `maximum load-balancing N`.
    Both,
    /// `maximum load-balancing ebgp N`.
    Ebgp,
    /// `maximum load-balancing ibgp N`.
    Ibgp,
}

/// One typed change to the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `sysname` (None: undo, back to the default).
    Sysname(Option<String>),
    /// `as-notation plain` (true) or `undo as-notation plain`.
    AsNotationPlain(bool),
    /// A command of the `bmp` views.
    Bmp(crate::bmp::BmpChange),
    /// `interface X` (create/enter) or `undo interface X`.
    Interface {
        /// Canonical name.
        name: String,
        /// Delete.
        undo: bool,
    },
    /// `shutdown` / `undo shutdown`.
    IfShutdown {
        /// Interface.
        name: String,
        /// Shut down.
        shutdown: bool,
    },
    /// `ip address A M [sub]` / `undo ip address [A M [sub]]`.
    IfIpv4 {
        /// Interface.
        name: String,
        /// The address (None with undo: all addresses).
        addr: Option<Ipv4Net>,
        /// A secondary address.
        sub: bool,
        /// Remove.
        undo: bool,
    },
    /// `ipv6 enable` / `undo ipv6 enable`.
    IfIpv6Enable {
        /// Interface.
        name: String,
        /// Enabled.
        on: bool,
    },
    /// `ipv6 address X/L` / `undo ipv6 address [X/L]`.
    IfIpv6 {
        /// Interface.
        name: String,
        /// The address (None with undo: all).
        addr: Option<Ipv6Net>,
        /// Remove.
        undo: bool,
    },
    /// `ip binding vpn-instance X` / `undo ip binding vpn-instance X`.
    IfBinding {
        /// Interface.
        name: String,
        /// The VPN instance.
        vpn: String,
        /// Unbind.
        undo: bool,
    },
    /// `description` in an interface.
    IfDescription {
        /// Interface.
        name: String,
        /// Text (None: undo).
        text: Option<String>,
    },
    /// `ip vpn-instance X` / `undo ip vpn-instance X`.
    VpnInstance {
        /// Name.
        name: String,
        /// Delete.
        undo: bool,
    },
    /// `ipv4-family` / `ipv6-family` in a VPN instance.
    VpnAf {
        /// Instance.
        name: String,
        /// Family.
        afi: Afi,
        /// Delete.
        undo: bool,
    },
    /// `route-distinguisher`.
    VpnRd {
        /// Instance.
        name: String,
        /// Family.
        afi: Afi,
        /// The RD, as written.
        rd: Written<RouteDistinguisher>,
        /// Delete.
        undo: bool,
    },
    /// `vpn-target`.
    VpnTarget {
        /// Instance.
        name: String,
        /// Family.
        afi: Afi,
        /// Route targets, as written.
        rts: Vec<Written<ExtCommunity>>,
        /// Import, export or both.
        dir: RtDirection,
        /// Delete.
        undo: bool,
    },
    /// `apply-label …` (set) or its `undo` (`Some(mode)`: the mode the undo names).
    VpnApplyLabel {
        /// Instance.
        name: String,
        /// Family.
        afi: Afi,
        /// The mode set, or for an undo the mode it names.
        mode: LabelMode,
        /// `undo apply-label …`.
        undo: bool,
    },
    /// `bgp N` (create/enter) or `undo bgp [N]`.
    Bgp {
        /// AS number, as written (None with undo: any).
        asn: Option<Written<Asn>>,
        /// Delete.
        undo: bool,
    },
    /// `router-id`.
    RouterId(Option<std::net::Ipv4Addr>),
    /// `graceful-restart` (true) or `undo graceful-restart`.
    GracefulRestart(bool),
    /// `graceful-restart timer restart N` (None: undo).
    GrRestartTime(Option<u16>),
    /// `graceful-restart timer wait-for-rib N` (None: undo).
    GrWaitForRib(Option<u16>),
    /// BGP view `timer keepalive K hold H` (None: undo).
    BgpTimers(Option<Timers>),
    /// BGP view `timer connect-retry N` (None: undo).
    BgpConnectRetry(Option<u16>),
    /// `peer X as-number N` (Some) or `undo peer X` (None).
    PeerAs {
        /// Which peers.
        scope: PeerScope,
        /// Peer address.
        addr: IpAddr,
        /// AS number as written, None to delete the peer.
        asn: Option<Written<Asn>>,
    },
    /// A session-level peer setting.
    PeerSession {
        /// Which peers.
        scope: PeerScope,
        /// Peer address.
        addr: IpAddr,
        /// The setting.
        attr: SessionAttr,
    },
    /// `ipv4-family ...` / `ipv6-family ...` in BGP (enter/create) or its `undo`.
    Family {
        /// The family.
        af: AfKey,
        /// Delete.
        undo: bool,
    },
    /// A per-family peer setting.
    AfPeer {
        /// The family.
        af: AfKey,
        /// Peer address.
        addr: IpAddr,
        /// The setting.
        attr: AfPeerAttr,
    },
    /// A peer group command (`group G`, `peer G ...`, `peer X group G`).
    Group(group::GroupChange),
    /// A family-level setting.
    AfAttr {
        /// The family.
        af: AfKey,
        /// The setting.
        attr: AfAttr,
    },
    /// `route-policy NAME permit|deny node N` (create/enter), `undo route-policy NAME
    /// [node N]`.
    RoutePolicy {
        /// Policy name.
        name: String,
        /// Node (None with undo: the whole policy).
        node: Option<u16>,
        /// Mode (plain form only).
        mode: MatchMode,
        /// Delete.
        undo: bool,
    },
    /// An `if-match` or `apply` clause in a route-policy node, or its `undo`.
    PolicyClause {
        /// Policy name.
        name: String,
        /// Node.
        node: u16,
        /// The clause. For `undo`, the kind to remove; its value is compared only for
        /// named clauses (`undo if-match ip-prefix P`, `undo apply ip-address next-hop A`,
        /// `undo if-match community-filter F`).
        clause: Clause,
        /// With undo: the value was not given (`undo if-match community-filter`), remove
        /// every clause of the kind.
        any: bool,
        /// Delete.
        undo: bool,
    },
    /// `ip ip-prefix` / `ip ipv6-prefix` entry, or `undo` of a list or an entry.
    PrefixList {
        /// `ip ipv6-prefix`.
        v6: bool,
        /// List name.
        name: String,
        /// `index N` (None: the next multiple of 10 when adding; with undo, the whole list
        /// unless `entry` names one).
        index: Option<u32>,
        /// The entry (None with `undo ip ip-prefix NAME [index N]`).
        entry: Option<PrefixEntry>,
        /// Delete.
        undo: bool,
    },
    /// `ip as-path-filter`, `ip community-filter`, `ip extcommunity-filter`, `ip rd-filter`
    /// entry, or `undo` of a filter or an entry.
    Filter(crate::filter::FilterChange),
    /// `ip route-static ...` / `ipv6 route-static ...`, or its undo (without next hop and
    /// interface: every route to the destination in that instance).
    StaticRoute {
        /// The route.
        route: StaticRoute,
        /// Delete.
        undo: bool,
    },
    /// A kept line (or its undo).
    Kept {
        /// Enclosing headers.
        path: Vec<String>,
        /// Canonical text without `undo`.
        text: String,
        /// Feature name.
        feature: &'static str,
        /// Remove the line (and the block it opens).
        undo: bool,
    },
}

fn rej(msg: &str) -> Reject {
    Reject::new(msg)
}

/// VRP's texts for the rules (see the module docs).
pub mod msg {
    /// `peer X ...` before `peer X as-number`.
    pub const PEER_NOT_EXIST: &str = "Error: The peer does not exist.";
    /// `ebgp-max-hop` with `valid-ttl-hops`, or the reverse.
    pub const GTSM_EBGP_MAX_HOP: &str =
        "Error: The ebgp-max-hop and valid-ttl-hops (GTSM) configurations are mutually exclusive.";
    /// `reflect-client` for an EBGP peer.
    pub const REFLECT_CLIENT_IBGP: &str =
        "Error: The peer reflect-client command can be used only for IBGP peers.";
    /// `peer X label-route-capability` for an IPv6 peer in the IPv6 unicast view: the
    /// command takes an IPv4 address there (6PE), so VRP's parser refuses the IPv6 one.
    pub const LABEL_ROUTE_IPV4_PEER: &str = "Error: Wrong parameter found at '^' position.";
    /// `peer X label-route-capability` outside `ipv4-family unicast` and `ipv6-family unicast`.
    pub const LABEL_ROUTE_VIEW: &str = "Error: tern exchanges labeled routes with label-route-capability only in ipv4-family unicast (labeled IPv4) and ipv6-family unicast (6PE).";
    /// `default-route-advertise` and `label-route-capability` on one peer in one family.
    pub const DEFAULT_ROUTE_LABELED: &str =
        "Error: default-route-advertise is not supported for a peer with label-route-capability.";
    /// `peer X capability-advertise add-path` for an EBGP peer (VRP: "add-path takes effect
    /// only on IBGP peers"; refused rather than kept without effect).
    pub const ADD_PATH_IBGP: &str = "Error: ADD-PATH takes effect only on IBGP peers.";
    /// `peer X advertise add-path` before `bestroute add-path` in the family.
    pub const ADD_PATH_BESTROUTE: &str = "Error: Please configure bestroute add-path first.";
    /// `peer X advertise add-path` before `peer X capability-advertise add-path send|both`.
    pub const ADD_PATH_SEND: &str =
        "Error: Please configure peer capability-advertise add-path send or both first.";
    /// `next-hop-invariable` with `next-hop-local`, or the reverse.
    pub const NHI_NHL: &str = "Error: The peer next-hop-invariable and peer next-hop-local commands are mutually exclusive.";
    /// `bgp N` with another AS than the running instance.
    pub const BGP_OTHER_AS: &str = "Error: BGP is already running with a different AS number.";
    /// A command in a BGP view when BGP is not configured.
    pub const BGP_NOT_RUNNING: &str = "Error: BGP is not configured.";
    /// A missing VPN instance.
    pub const VPN_NOT_EXIST: &str = "Error: The VPN instance does not exist.";
    /// A VPN instance without the address family.
    pub const VPN_AF_NOT_EXIST: &str =
        "Error: The address family of the VPN instance is not enabled.";
    /// vpn-target / apply-label before the RD.
    pub const RD_FIRST: &str = "Error: Please configure the RD first.";
    /// A second, different RD.
    pub const RD_CONFIGURED: &str = "Error: The RD has been configured. To change it, delete it first with undo route-distinguisher.";
    /// Undo of something that is not configured.
    pub const NOT_CONFIGURED: &str = "Error: The configuration does not exist.";
    /// A command of another view's family (`peer X ipv6-prefix` in an IPv4 family).
    pub const UNRECOGNIZED: &str = "Error: Unrecognized command found at '^' position.";
    /// An interface that does not exist.
    pub const IF_NOT_EXIST: &str = "Error: The interface does not exist.";
    /// A route-policy that does not exist.
    pub const POLICY_NOT_EXIST: &str = "Error: The route-policy does not exist.";
    /// A route-policy node that does not exist.
    pub const NODE_NOT_EXIST: &str = "Error: The node of the route-policy does not exist.";
    /// A prefix list (or entry) that does not exist.
    pub const PREFIX_NOT_EXIST: &str = "Error: The prefix list or its entry does not exist.";
    /// greater-equal / less-equal outside `len <= G <= L <= max`.
    pub const PREFIX_RANGE: &str = "Error: The mask length range is invalid. It must satisfy mask-length <= greater-equal-value <= less-equal-value <= the maximum mask length.";
    /// A static route whose next hop is its own destination or the unspecified address.
    pub const STATIC_NEXT_HOP: &str = "Error: The next hop address is invalid.";
    /// A static route without next hop or interface (only `undo` may leave both out).
    pub const STATIC_ROUTE_NOT_EXIST: &str = "Error: The static route does not exist.";
    /// A peer AS change that would make a reflect-client external.
    pub const CLIENT_WOULD_BE_EBGP: &str =
        "Error: The peer is a reflect-client; its AS number must stay the local AS.";
}

impl Config {
    /// Applies one change after checking VRP's rules; on `Err` the model is unchanged.
    pub fn apply(&mut self, change: &Change) -> Result<(), Reject> {
        match change {
            Change::Sysname(s) => {
                self.sysname = s.clone().unwrap_or_else(|| "HUAWEI".into());
            }
            Change::AsNotationPlain(on) => self.as_notation_plain = *on,
            Change::Bmp(c) => crate::bmp::apply(&mut self.bmp, c)?,
            Change::Interface { name, undo } => {
                if *undo {
                    self.interfaces
                        .remove(name)
                        .ok_or_else(|| rej(msg::IF_NOT_EXIST))?;
                } else {
                    self.interfaces
                        .entry(name.clone())
                        .or_insert_with(|| Interface {
                            name: name.clone(),
                            ..Interface::default()
                        });
                }
            }
            Change::IfShutdown { name, shutdown } => {
                self.iface(name)?.shutdown = Some(*shutdown);
            }
            Change::IfIpv4 {
                name,
                addr,
                sub,
                undo,
            } => {
                let ifc = self.iface(name)?;
                match (addr, undo) {
                    (None, true) => ifc.ipv4.clear(),
                    (Some(a), true) => {
                        let i = ifc
                            .ipv4
                            .iter()
                            .position(|x| x == a)
                            .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                        ifc.ipv4.remove(i);
                    }
                    (Some(a), false) if *sub => {
                        if !ifc.ipv4.contains(a) {
                            ifc.ipv4.push(*a);
                        }
                    }
                    (Some(a), false) => {
                        ifc.ipv4.retain(|x| x != a);
                        if ifc.ipv4.is_empty() {
                            ifc.ipv4.push(*a);
                        } else {
                            ifc.ipv4[0] = *a;
                        }
                    }
                    (None, false) => return Err(rej(msg::NOT_CONFIGURED)),
                }
            }
            Change::IfIpv6Enable { name, on } => {
                let ifc = self.iface(name)?;
                ifc.ipv6_enable = *on;
            }
            Change::IfIpv6 { name, addr, undo } => {
                let ifc = self.iface(name)?;
                match (addr, undo) {
                    (None, _) => ifc.ipv6.clear(),
                    (Some(a), true) => {
                        let i = ifc
                            .ipv6
                            .iter()
                            .position(|x| x == a)
                            .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                        ifc.ipv6.remove(i);
                    }
                    (Some(a), false) => {
                        if !ifc.ipv6.contains(a) {
                            ifc.ipv6.push(*a);
                        }
                    }
                }
            }
            Change::IfBinding { name, vpn, undo } => {
                if !*undo && !self.vpn_instances.contains_key(vpn) {
                    return Err(rej(msg::VPN_NOT_EXIST));
                }
                let ifc = self.iface(name)?;
                if *undo && ifc.vpn_instance.as_deref() != Some(vpn.as_str()) {
                    return Err(rej(msg::NOT_CONFIGURED));
                }
                // Binding or unbinding deletes the interface's Layer 3 configuration.
                ifc.ipv4.clear();
                ifc.ipv6.clear();
                ifc.vpn_instance = (!*undo).then(|| vpn.clone());
            }
            Change::IfDescription { name, text } => {
                self.iface(name)?.description = text.clone();
            }
            Change::VpnInstance { name, undo } => {
                if *undo {
                    if self.vpn_instances.remove(name).is_none() {
                        return Err(rej(msg::VPN_NOT_EXIST));
                    }
                    for ifc in self.interfaces.values_mut() {
                        if ifc.vpn_instance.as_deref() == Some(name.as_str()) {
                            ifc.vpn_instance = None;
                            ifc.ipv4.clear();
                            ifc.ipv6.clear();
                        }
                    }
                    // Its static routes go with it.
                    self.static_routes
                        .retain(|r| r.vpn_instance.as_deref() != Some(name.as_str()));
                } else {
                    self.vpn_instances
                        .entry(name.clone())
                        .or_insert_with(|| VpnInstance {
                            name: name.clone(),
                            ..VpnInstance::default()
                        });
                }
            }
            Change::VpnAf { name, afi, undo } => {
                let vi = self
                    .vpn_instances
                    .get_mut(name)
                    .ok_or_else(|| rej(msg::VPN_NOT_EXIST))?;
                let slot = vi.af_slot(*afi);
                if *undo {
                    slot.take().ok_or_else(|| rej(msg::VPN_AF_NOT_EXIST))?;
                } else if slot.is_none() {
                    *slot = Some(VpnAf::default());
                }
            }
            Change::VpnRd {
                name,
                afi,
                rd,
                undo,
            } => {
                let af = self.vpn_af(name, *afi)?;
                if *undo {
                    if af.rd_value() != Some(rd.value) {
                        return Err(rej(msg::NOT_CONFIGURED));
                    }
                    *af = VpnAf::default();
                } else {
                    // The RD stays as first written; the same RD written differently is no
                    // change.
                    match af.rd {
                        Some(old) if old.value != rd.value => {
                            return Err(rej(msg::RD_CONFIGURED));
                        }
                        Some(_) => {}
                        None => af.rd = Some(*rd),
                    }
                }
            }
            Change::VpnTarget {
                name,
                afi,
                rts,
                dir,
                undo,
            } => {
                let af = self.vpn_af(name, *afi)?;
                if af.rd.is_none() {
                    return Err(rej(msg::RD_FIRST));
                }
                let imp = matches!(dir, RtDirection::Import | RtDirection::Both);
                let exp = matches!(dir, RtDirection::Export | RtDirection::Both);
                for rt in rts {
                    for (on, list) in [(imp, &mut af.import_rt), (exp, &mut af.export_rt)] {
                        if !on {
                            continue;
                        }
                        if *undo {
                            list.retain(|x| x.value != rt.value);
                        } else if !list.iter().any(|x| x.value == rt.value) {
                            list.push(*rt);
                        }
                    }
                }
            }
            Change::VpnApplyLabel {
                name,
                afi,
                mode,
                undo,
            } => {
                if let (LabelMode::PerInstanceStatic(l), false) = (mode, undo) {
                    // One static label identifies one instance on the way in.
                    let taken = self.vpn_instances.iter().any(|(n, vi)| {
                        n != name
                            && [Afi::IPV4, Afi::IPV6].iter().any(|a| {
                                vi.af(*a).is_some_and(|x| {
                                    x.apply_label == LabelMode::PerInstanceStatic(*l)
                                })
                            })
                    });
                    if taken {
                        return Err(rej(
                            "Error: The static label is already used by another VPN instance.",
                        ));
                    }
                }
                let af = self.vpn_af(name, *afi)?;
                if !*undo && af.rd.is_none() {
                    return Err(rej(msg::RD_FIRST));
                }
                if *undo {
                    // `undo apply-label per-instance` ends either per-instance form.
                    let same = match (af.apply_label, mode) {
                        (LabelMode::PerInstanceStatic(_), LabelMode::PerInstance) => true,
                        (a, b) => a == *b,
                    };
                    if !same && *mode != LabelMode::PerRoute {
                        return Err(rej("Error: The label allocation mode is not configured."));
                    }
                    af.apply_label = LabelMode::PerRoute;
                } else {
                    af.apply_label = *mode;
                }
            }
            Change::Bgp { asn, undo } => match (&self.bgp, asn, undo) {
                (Some(b), Some(a), false) if b.asn.value != a.value => {
                    return Err(rej(msg::BGP_OTHER_AS));
                }
                (Some(_), _, false) => {}
                (None, Some(a), false) => self.bgp = Some(Bgp::new(*a)),
                (Some(b), a, true) if a.is_none_or(|a| a.value == b.asn.value) => self.bgp = None,
                (_, _, true) | (None, None, false) => return Err(rej(msg::NOT_CONFIGURED)),
            },
            Change::RouterId(id) => self.bgp_mut()?.router_id = *id,
            Change::GracefulRestart(on) => self.bgp_mut()?.graceful_restart = *on,
            Change::GrRestartTime(t) => self.bgp_mut()?.gr_restart_time = *t,
            Change::GrWaitForRib(t) => self.bgp_mut()?.gr_wait_for_rib = *t,
            Change::BgpTimers(t) => self.bgp_mut()?.timers = *t,
            Change::BgpConnectRetry(t) => self.bgp_mut()?.connect_retry = *t,
            Change::PeerAs { scope, addr, asn } => {
                if let Some(a) = asn {
                    self.check_member_as(scope, *addr, *a)?;
                }
                self.apply_peer_as(scope, *addr, *asn)?
            }
            Change::Group(g) => self.apply_group(g)?,
            Change::PeerSession { scope, addr, attr } => {
                self.apply_peer_session(scope, *addr, attr)?
            }
            Change::Family { af, undo } => {
                if let AfKey::Vrf { afi, name } = af {
                    let vi = self
                        .vpn_instances
                        .get(name)
                        .ok_or_else(|| rej(msg::VPN_NOT_EXIST))?;
                    if vi.af(*afi).is_none() && !*undo {
                        return Err(rej(msg::VPN_AF_NOT_EXIST));
                    }
                }
                let bgp = self.bgp_mut()?;
                if *undo {
                    bgp.families
                        .remove(af)
                        .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                } else {
                    bgp.families.entry(af.clone()).or_default();
                }
            }
            Change::AfPeer { af, addr, attr } => self.apply_af_peer(af, *addr, attr)?,
            Change::AfAttr { af, attr } => {
                let fam = self
                    .bgp_mut()?
                    .families
                    .get_mut(af)
                    .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                match attr {
                    AfAttr::Network(n, undo) => {
                        let pos = fam.networks.iter().position(|x| x.prefix == n.prefix);
                        match (pos, undo) {
                            (Some(i), true) => {
                                fam.networks.remove(i);
                            }
                            (None, true) => return Err(rej(msg::NOT_CONFIGURED)),
                            (Some(i), false) => fam.networks[i] = n.clone(),
                            (None, false) => fam.networks.push(n.clone()),
                        }
                    }
                    AfAttr::ImportRoute(r, undo) => {
                        let pos = fam
                            .import_routes
                            .iter()
                            .position(|x| x.protocol == r.protocol);
                        // The kernel does not tell an IGP's processes apart: one per protocol.
                        if !undo
                            && pos.is_none()
                            && r.protocol.kernel_protocol().is_some()
                            && fam.import_routes.iter().any(|x| {
                                x.protocol.kernel_protocol() == r.protocol.kernel_protocol()
                            })
                        {
                            return Err(rej(
                                "Error: Routes of this protocol are imported already (the kernel has one table of them, whatever the process).",
                            ));
                        }
                        match (pos, undo) {
                            (Some(i), true) => {
                                fam.import_routes.remove(i);
                            }
                            (None, true) => return Err(rej(msg::NOT_CONFIGURED)),
                            (Some(i), false) => fam.import_routes[i] = r.clone(),
                            (None, false) => fam.import_routes.push(r.clone()),
                        }
                    }
                    AfAttr::PolicyVpnTarget(on) => fam.policy_vpn_target = Some(*on),
                    AfAttr::Synchronization(on) => fam.synchronization = Some(*on),
                    AfAttr::ReflectorClusterId(id) => fam.reflector_cluster_id = *id,
                    AfAttr::WaitForEor(t) => fam.wait_for_eor = *t,
                    AfAttr::RouterId(r) => fam.router_id = *r,
                    AfAttr::BestrouteAddPath(n) => fam.bestroute_add_path = *n,
                    AfAttr::LoadBalancing(kind, n) => {
                        let lb = &mut fam.load_balancing;
                        let slot = match kind {
                            LbKind::Both => &mut lb.both,
                            LbKind::Ebgp => &mut lb.ebgp,
                            LbKind::Ibgp => &mut lb.ibgp,
                        };
                        if n.is_none() && slot.is_none() {
                            return Err(rej(msg::NOT_CONFIGURED));
                        }
                        *slot = *n;
                        // The plain form and the per-kind forms replace each other.
                        if n.is_some() {
                            match kind {
                                LbKind::Both => (lb.ebgp, lb.ibgp) = (None, None),
                                LbKind::Ebgp | LbKind::Ibgp => lb.both = None,
                            }
                        }
                    }
                    AfAttr::RibOnly(r) => {
                        if r.is_none() && fam.rib_only.is_none() {
                            return Err(rej(msg::NOT_CONFIGURED));
                        }
                        fam.rib_only = r.clone();
                    }
                }
            }
            Change::RoutePolicy {
                name,
                node,
                mode,
                undo,
            } => self.apply_route_policy(name, *node, *mode, *undo)?,
            Change::PolicyClause {
                name,
                node,
                clause,
                any,
                undo,
            } => {
                let n = self
                    .route_policies
                    .get_mut(name)
                    .ok_or_else(|| rej(msg::POLICY_NOT_EXIST))?
                    .nodes
                    .get_mut(node)
                    .ok_or_else(|| rej(msg::NODE_NOT_EXIST))?;
                match clause {
                    Clause::Match(m) => {
                        let named = matches!(m, Match::IpPrefix(_) | Match::Ipv6PrefixList(_));
                        set_clause(
                            &mut n.matches,
                            m,
                            Match::kind,
                            (m.is_list(), named),
                            *any,
                            *undo,
                        )?
                    }
                    Clause::Apply(a) => {
                        let named = matches!(a, Apply::IpNextHop(_) | Apply::Ipv6NextHop(_));
                        set_clause(&mut n.applies, a, Apply::kind, (false, named), *any, *undo)?
                    }
                    Clause::Matches(ms) => {
                        // All or nothing: on a copy.
                        let mut list = n.matches.clone();
                        for m in ms {
                            let before = list.len();
                            list.retain(|x| !same_filter(x, m));
                            if *undo {
                                if list.len() == before {
                                    return Err(rej(msg::NOT_CONFIGURED));
                                }
                            } else {
                                set_clause(&mut list, m, Match::kind, (true, false), false, false)?;
                            }
                        }
                        n.matches = list;
                    }
                }
            }
            Change::PrefixList {
                v6,
                name,
                index,
                entry,
                undo,
            } => {
                let lists = if *v6 {
                    &mut self.ipv6_prefixes
                } else {
                    &mut self.ip_prefixes
                };
                apply_prefix_list(lists, name, *index, entry.as_ref(), *undo)?;
            }
            Change::Filter(f) => self.filters.apply(f)?,
            Change::StaticRoute { route, undo } => self.apply_static_route(route, *undo)?,
            Change::Kept {
                path,
                text,
                feature,
                undo,
            } => {
                if *undo {
                    let before = self.kept.len();
                    let mut block = path.clone();
                    block.push(text.clone());
                    self.kept.retain(|k| {
                        !((k.path == *path && k.text == *text) || k.path.starts_with(&block))
                    });
                    if self.kept.len() == before {
                        return Err(rej(msg::NOT_CONFIGURED));
                    }
                } else if !self.kept.iter().any(|k| k.path == *path && k.text == *text) {
                    self.kept.push(KeptLine {
                        path: path.clone(),
                        text: text.clone(),
                        feature,
                    });
                }
            }
        }
        Ok(())
    }

    fn iface(&mut self, name: &str) -> Result<&mut Interface, Reject> {
        self.interfaces
            .get_mut(name)
            .ok_or_else(|| rej(msg::IF_NOT_EXIST))
    }

    fn vpn_af(&mut self, name: &str, afi: Afi) -> Result<&mut VpnAf, Reject> {
        self.vpn_instances
            .get_mut(name)
            .ok_or_else(|| rej(msg::VPN_NOT_EXIST))?
            .af_slot(afi)
            .as_mut()
            .ok_or_else(|| rej(msg::VPN_AF_NOT_EXIST))
    }

    fn bgp_mut(&mut self) -> Result<&mut Bgp, Reject> {
        self.bgp.as_mut().ok_or_else(|| rej(msg::BGP_NOT_RUNNING))
    }

    fn apply_peer_as(
        &mut self,
        scope: &PeerScope,
        addr: IpAddr,
        asn: Option<Written<Asn>>,
    ) -> Result<(), Reject> {
        let bgp = self.bgp_mut()?;
        let local = bgp.asn;
        match scope {
            PeerScope::Public => match asn {
                Some(a) => {
                    if a.value != local.value && is_client_anywhere(bgp, addr) {
                        return Err(rej(msg::CLIENT_WOULD_BE_EBGP));
                    }
                    let v4 = addr.is_ipv4();
                    let created = !bgp.peers.contains_key(&addr);
                    bgp.peers
                        .entry(addr)
                        .and_modify(|p| {
                            p.asn = a;
                            p.asn_inherited = false;
                        })
                        .or_insert_with(|| Peer::new(addr, a));
                    // VRP enables a new IPv4 peer in the IPv4 unicast family by default.
                    if created && v4 {
                        bgp.families
                            .entry(AfKey::Ipv4Unicast)
                            .or_default()
                            .peers
                            .entry(addr)
                            .or_default()
                            .enable = true;
                    }
                }
                None => {
                    bgp.peers
                        .remove(&addr)
                        .ok_or_else(|| rej(msg::PEER_NOT_EXIST))?;
                    for (k, f) in bgp.families.iter_mut() {
                        if k.vpn_instance().is_none() {
                            f.peers.remove(&addr);
                        }
                    }
                }
            },
            PeerScope::Vrf(af) => {
                let fam = bgp
                    .families
                    .get_mut(af)
                    .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                match asn {
                    Some(a) => {
                        if a.value != local.value
                            && fam.peers.get(&addr).is_some_and(|p| p.reflect_client)
                        {
                            return Err(rej(msg::CLIENT_WOULD_BE_EBGP));
                        }
                        fam.vrf_peers
                            .entry(addr)
                            .and_modify(|p| {
                                p.asn = a;
                                p.asn_inherited = false;
                            })
                            .or_insert_with(|| Peer::new(addr, a));
                        // A peer of a VPN instance family is enabled in it on creation.
                        fam.peers.entry(addr).or_default().enable = true;
                    }
                    None => {
                        fam.vrf_peers
                            .remove(&addr)
                            .ok_or_else(|| rej(msg::PEER_NOT_EXIST))?;
                        fam.peers.remove(&addr);
                    }
                }
            }
        }
        Ok(())
    }

    fn apply_peer_session(
        &mut self,
        scope: &PeerScope,
        addr: IpAddr,
        attr: &SessionAttr,
    ) -> Result<(), Reject> {
        let bgp = self.bgp_mut()?;
        let peer = match scope {
            PeerScope::Public => bgp.peers.get_mut(&addr),
            PeerScope::Vrf(af) => bgp
                .families
                .get_mut(af)
                .and_then(|f| f.vrf_peers.get_mut(&addr)),
        }
        .ok_or_else(|| rej(msg::PEER_NOT_EXIST))?;
        set_session(peer, attr)
    }

    fn apply_af_peer(&mut self, af: &AfKey, addr: IpAddr, attr: &AfPeerAttr) -> Result<(), Reject> {
        let bgp = self.bgp_mut()?;
        let local = bgp.asn;
        let peer_as = match af {
            AfKey::Vrf { .. } => bgp
                .families
                .get(af)
                .and_then(|f| f.vrf_peers.get(&addr))
                .map(|p| p.asn),
            _ => bgp.peers.get(&addr).map(|p| p.asn),
        }
        .ok_or_else(|| rej(msg::PEER_NOT_EXIST))?;
        let fam = bgp
            .families
            .get_mut(af)
            .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
        if let AfPeerAttr::LabelRouteCapability(true) = attr {
            label_route_allowed(af, Some(addr))?;
        }
        if let AfPeerAttr::AdvertiseAddPath(Some(_)) = attr
            && fam.bestroute_add_path.is_none()
        {
            return Err(rej(msg::ADD_PATH_BESTROUTE));
        }
        let mut next = fam.peers.get(&addr).cloned().unwrap_or_default();
        set_af(
            &mut next,
            attr,
            peer_as.value == local.value,
            af.family().is_ipv6(),
        )?;
        fam.peers.insert(addr, next);
        Ok(())
    }
}

impl Config {
    fn apply_route_policy(
        &mut self,
        name: &str,
        node: Option<u16>,
        mode: MatchMode,
        undo: bool,
    ) -> Result<(), Reject> {
        if !undo {
            let node = node.unwrap_or_default();
            let n = self
                .route_policies
                .entry(name.to_owned())
                .or_default()
                .nodes
                .entry(node)
                .or_insert_with(|| PolicyNode::new(mode));
            // Typing an existing node with the other mode changes its mode; its clauses stay.
            n.mode = mode;
            return Ok(());
        }
        let p = self
            .route_policies
            .get_mut(name)
            .ok_or_else(|| rej(msg::POLICY_NOT_EXIST))?;
        if let Some(node) = node {
            p.nodes
                .remove(&node)
                .ok_or_else(|| rej(msg::NODE_NOT_EXIST))?;
            if p.nodes.is_empty() {
                self.route_policies.remove(name);
            }
        } else {
            self.route_policies.remove(name);
        }
        Ok(())
    }

    fn apply_static_route(&mut self, route: &StaticRoute, undo: bool) -> Result<(), Reject> {
        if let Some(v) = &route.vpn_instance
            && !undo
        {
            let vi = self
                .vpn_instances
                .get(v)
                .ok_or_else(|| rej(msg::VPN_NOT_EXIST))?;
            let afi = if route.prefix.addr().is_ipv6() {
                Afi::IPV6
            } else {
                Afi::IPV4
            };
            if vi.af(afi).is_none() {
                return Err(rej(msg::VPN_AF_NOT_EXIST));
            }
        }
        let same_dest =
            |r: &StaticRoute| r.vpn_instance == route.vpn_instance && r.prefix == route.prefix;
        if undo {
            let before = self.static_routes.len();
            if route.interface.is_none() && route.next_hop.is_none() {
                self.static_routes.retain(|r| !same_dest(r));
            } else {
                self.static_routes.retain(|r| r.key() != route.key());
            }
            if self.static_routes.len() == before {
                return Err(rej(msg::STATIC_ROUTE_NOT_EXIST));
            }
            return Ok(());
        }
        match route.next_hop {
            None if route.interface.is_none() => return Err(rej(msg::STATIC_NEXT_HOP)),
            Some(nh) if nh.is_unspecified() || nh.is_multicast() => {
                return Err(rej(msg::STATIC_NEXT_HOP));
            }
            _ => {}
        }
        match self
            .static_routes
            .binary_search_by(|r| r.key().cmp(&route.key()))
        {
            Ok(i) => self.static_routes[i] = route.clone(),
            Err(i) => self.static_routes.insert(i, route.clone()),
        }
        Ok(())
    }
}

/// Adds (keeping `list` ordered by kind, entry order within a kind) or removes a clause.
/// Single kinds hold one clause: a new one replaces it. For undo, `named` single clauses
/// (`undo if-match ip-prefix P`, `undo apply ip-address next-hop A`) and list clauses given
/// with their value must match it; otherwise the kind is removed.
/// The same filter clause: equal, or a community filter's with and without `whole-match`.
fn same_filter(x: &Match, m: &Match) -> bool {
    let community = |c: &Match| match c {
        Match::CommunityFilter(n) | Match::CommunityFilterWhole(n) => Some(n.clone()),
        _ => None,
    };
    x == m || (community(x).is_some() && community(x) == community(m))
}

fn set_clause<T: Clone + PartialEq>(
    list: &mut Vec<T>,
    c: &T,
    kind: fn(&T) -> u8,
    (is_list, named): (bool, bool),
    any: bool,
    undo: bool,
) -> Result<(), Reject> {
    let k = kind(c);
    if undo {
        let before = list.len();
        if !any && (is_list || named) {
            list.retain(|x| x != c);
        } else {
            list.retain(|x| kind(x) != k);
        }
        if list.len() == before {
            return Err(rej(msg::NOT_CONFIGURED));
        }
        return Ok(());
    }
    if list.contains(c) {
        return Ok(());
    }
    if !is_list && let Some(i) = list.iter().position(|x| kind(x) == k) {
        list[i] = c.clone();
        return Ok(());
    }
    let at = list.iter().position(|x| kind(x) > k).unwrap_or(list.len());
    list.insert(at, c.clone());
    Ok(())
}

fn apply_prefix_list(
    lists: &mut std::collections::BTreeMap<String, PrefixList>,
    name: &str,
    index: Option<u32>,
    entry: Option<&PrefixEntry>,
    undo: bool,
) -> Result<(), Reject> {
    if undo {
        let l = lists
            .get_mut(name)
            .ok_or_else(|| rej(msg::PREFIX_NOT_EXIST))?;
        let idx = match (index, entry) {
            (Some(i), _) => Some(i),
            (None, Some(e)) => Some(
                l.entries
                    .iter()
                    .find(|(_, x)| *x == e)
                    .map(|(i, _)| *i)
                    .ok_or_else(|| rej(msg::PREFIX_NOT_EXIST))?,
            ),
            (None, None) => None,
        };
        match idx {
            Some(i) => {
                l.entries
                    .remove(&i)
                    .ok_or_else(|| rej(msg::PREFIX_NOT_EXIST))?;
                if l.entries.is_empty() {
                    lists.remove(name);
                }
            }
            None => {
                lists.remove(name);
            }
        }
        return Ok(());
    }
    let Some(e) = entry else {
        return Err(rej(msg::PREFIX_NOT_EXIST));
    };
    let (len, max) = (e.prefix.prefix_len(), e.prefix.max_prefix_len());
    let (g, l) = (e.ge.unwrap_or(len), e.le.unwrap_or(max));
    if !(len <= g && g <= l && l <= max) {
        return Err(rej(msg::PREFIX_RANGE));
    }
    let list = lists.entry(name.to_owned()).or_default();
    let i = match index {
        Some(i) => i,
        // The same entry typed again without an index is not added twice.
        None if list.entries.values().any(|x| x == e) => return Ok(()),
        None => list.next_index(),
    };
    list.entries.insert(i, *e);
    Ok(())
}

/// Sets one session setting of a peer (or of a peer group's settings), checking the
/// GTSM / EBGP-max-hop exclusion.
pub(crate) fn set_session(peer: &mut Peer, attr: &SessionAttr) -> Result<(), Reject> {
    match attr {
        SessionAttr::ConnectInterface(c) => peer.connect_interface = c.clone(),
        SessionAttr::EbgpMaxHop(h) => {
            if h.is_some() && peer.valid_ttl_hops.is_some() {
                return Err(rej(msg::GTSM_EBGP_MAX_HOP));
            }
            peer.ebgp_max_hop = *h;
        }
        SessionAttr::ValidTtlHops(h) => {
            if h.is_some() && peer.ebgp_max_hop.is_some() {
                return Err(rej(msg::GTSM_EBGP_MAX_HOP));
            }
            peer.valid_ttl_hops = *h;
        }
        SessionAttr::Password(p) => {
            // The same key entered again is no change (each entry draws a new salt).
            let same = match (&peer.password, p) {
                (Some(Password::Cipher(a)), Some(Password::Cipher(b))) => {
                    crate::secret::same_key(a, b)
                }
                _ => false,
            };
            if !same {
                peer.password = p.clone();
            }
        }
        SessionAttr::Timers(t) => peer.timers = *t,
        SessionAttr::ConnectRetry(t) => peer.connect_retry = *t,
        SessionAttr::Description(d) => peer.description = d.clone(),
        SessionAttr::Ignore(on) => peer.ignore = *on,
        SessionAttr::FakeAs(f) => peer.fake_as = *f,
    }
    Ok(())
}

/// Where `peer X label-route-capability` is taken: `ipv4-family unicast` (labeled IPv4) and,
/// for an IPv4 peer (`addr`; a group's members are checked when they resolve),
/// `ipv6-family unicast` (6PE, RFC 4798: VRP's command takes `ipv4-address` there). The other
/// views' labeled routes (a VPN instance's peers, carrier's carrier) are not implemented, and
/// the VPN and labeled views have no such command.
pub(crate) fn label_route_allowed(af: &AfKey, addr: Option<IpAddr>) -> Result<(), Reject> {
    match af {
        AfKey::Ipv4Unicast => Ok(()),
        AfKey::Ipv6Unicast if addr.is_none_or(|a| a.is_ipv4()) => Ok(()),
        AfKey::Ipv6Unicast => Err(rej(msg::LABEL_ROUTE_IPV4_PEER)),
        _ => Err(rej(msg::LABEL_ROUTE_VIEW)),
    }
}

/// Sets one per-family setting of a peer (or of a peer group) in a family (`v6`: an IPv6
/// one); `ibgp`: the peer (group) is internal, as `reflect-client` needs.
pub(crate) fn set_af(
    next: &mut AfPeer,
    attr: &AfPeerAttr,
    ibgp: bool,
    v6: bool,
) -> Result<(), Reject> {
    match attr {
        AfPeerAttr::Enable(on) => next.enable = *on,
        AfPeerAttr::ReflectClient(on) => {
            if *on && !ibgp {
                return Err(rej(msg::REFLECT_CLIENT_IBGP));
            }
            next.reflect_client = *on;
        }
        AfPeerAttr::NextHopInvariable(on) => {
            if *on && next.next_hop_local {
                return Err(rej(msg::NHI_NHL));
            }
            next.next_hop_invariable = *on;
        }
        AfPeerAttr::NextHopLocal(on) => {
            if *on && next.next_hop_invariable {
                return Err(rej(msg::NHI_NHL));
            }
            next.next_hop_local = *on;
        }
        AfPeerAttr::LabelRouteCapability(on) => {
            if *on && next.default_route_advertise.is_some() {
                return Err(rej(msg::DEFAULT_ROUTE_LABELED));
            }
            next.label_route_capability = *on;
        }
        AfPeerAttr::RoutePolicyImport(p) => next.route_policy_import = p.clone(),
        AfPeerAttr::RoutePolicyExport(p) => next.route_policy_export = p.clone(),
        AfPeerAttr::RouteLimit(l) => next.route_limit = *l,
        AfPeerAttr::AdvertiseCommunity(on) => next.advertise_community = *on,
        AfPeerAttr::AdvertiseExtCommunity(on) => next.advertise_ext_community = *on,
        AfPeerAttr::KeepAllRoutes(on) => next.keep_all_routes = *on,
        AfPeerAttr::AllowAsLoop(n) => next.allow_as_loop = *n,
        AfPeerAttr::SubstituteAs(on) => next.substitute_as = *on,
        AfPeerAttr::PublicAsOnly(p) => next.public_as_only = *p,
        AfPeerAttr::DefaultRouteAdvertise(d) => {
            // A labeled peer would need a label for it: not built.
            if d.is_some() && next.label_route_capability {
                return Err(rej(msg::DEFAULT_ROUTE_LABELED));
            }
            next.default_route_advertise = d.clone();
        }
        AfPeerAttr::AsPathFilter(false, f) => next.as_path_filter_import = f.clone(),
        AfPeerAttr::AsPathFilter(true, f) => next.as_path_filter_export = f.clone(),
        AfPeerAttr::PrefixFilter(export, pv6, p) => {
            // `ip-prefix` in the IPv4 families, `ipv6-prefix` in the IPv6 ones.
            if *pv6 != v6 {
                return Err(rej(msg::UNRECOGNIZED));
            }
            if *export {
                next.prefix_export = p.clone();
            } else {
                next.prefix_import = p.clone();
            }
        }
        AfPeerAttr::RtcDefaultRoute(on) => next.rtc_default_route = *on,
        AfPeerAttr::AddPath(mode, undo) => {
            if !*undo && !ibgp {
                return Err(rej(msg::ADD_PATH_IBGP));
            }
            next.add_path = if *undo {
                let cur = next.add_path.ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                AddPathMode::of(cur.receive() && !mode.receive(), cur.send() && !mode.send())
            } else {
                Some(*mode)
            };
        }
        AfPeerAttr::AdvertiseAddPath(n) => {
            if n.is_some() && !next.add_path.is_some_and(AddPathMode::send) {
                return Err(rej(msg::ADD_PATH_SEND));
            }
            next.advertise_add_path = *n;
        }
    }
    Ok(())
}

fn is_client_anywhere(bgp: &Bgp, addr: IpAddr) -> bool {
    bgp.families
        .iter()
        .any(|(k, f)| k.vpn_instance().is_none() && f.peer(addr).is_some_and(|p| p.reflect_client))
}

/// A prefix with host bits cleared.
pub(crate) fn network_of(addr: IpAddr, len: u8) -> Option<IpNet> {
    IpNet::new(addr, len).ok().map(|n| n.trunc())
}
