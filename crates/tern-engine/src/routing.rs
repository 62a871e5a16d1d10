//! The routing side of the configuration, as the engine runs it: VPN instances (RFC 4364
//! §4.3.1 route distinguishers, §4.3.5 route targets), locally originated routes (`network`,
//! `import-route`), route-target filtering (`policy vpn-target`), route policies and their
//! bindings to peers. The daemon resolves it from the configuration at start and at each
//! commit.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use tern_types::Family;

/// The routing side of the configuration, as the engine runs it.
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
    /// `import-route ospf|isis|rip N` of the public families.
    pub redistribute: Vec<Redistribute>,
    /// `peer X allow-as-loop`, `peer X fake-as`: inbound AS rules, per peer and family.
    pub peer_as_in: Vec<(IpAddr, Family, crate::asrules::AsIn)>,
    /// `peer X default-route-advertise` in the BGP-VPN-Target view: these peers are sent the
    /// default route target membership (RFC 4684 §3).
    pub rtc_default: Vec<IpAddr>,
    /// What goes into the kernel, per unicast family of a domain that sets something
    /// (`maximum load-balancing`, `routing-table rib-only`).
    pub forwarding: Vec<Forwarding>,
}

impl Routing {
    /// The inbound AS rules of `peer` in `family`.
    pub fn as_in(&self, peer: IpAddr, family: Family) -> crate::asrules::AsIn {
        self.peer_as_in
            .iter()
            .find(|(a, f, _)| *a == peer && *f == family)
            .map(|(_, _, r)| *r)
            .unwrap_or_default()
    }

    /// The forwarding settings of a domain's family (the defaults when none are set).
    pub fn forwarding(&self, vrf: Option<&str>, family: Family) -> Forwarding {
        self.forwarding
            .iter()
            .find(|f| f.vrf.as_deref() == vrf && f.family == family)
            .cloned()
            .unwrap_or_else(|| Forwarding {
                vrf: vrf.map(str::to_owned),
                family,
                load_balancing: tern_rib::LoadBalancing::OFF,
                rib_only: None,
            })
    }

    /// The policy of `peer` for `family` in one direction.
    pub fn peer_policy(&self, peer: IpAddr, family: Family, export: bool) -> Option<&str> {
        self.peer_policies
            .iter()
            .find(|p| p.addr == peer && p.family == family)
            .and_then(|p| if export { &p.export } else { &p.import }.as_deref())
    }

    /// The filters of `peer` for `family` in one direction (`peer X as-path-filter`,
    /// `peer X ip-prefix`), if it has any.
    pub fn peer_filters(
        &self,
        peer: IpAddr,
        family: Family,
        export: bool,
    ) -> Option<&tern_policy::PeerFilters> {
        self.peer_policies
            .iter()
            .find(|p| p.addr == peer && p.family == family)
            .map(|p| {
                if export {
                    &p.export_filters
                } else {
                    &p.import_filters
                }
            })
            .filter(|f| !f.is_empty())
    }
}

/// What a domain's unicast family puts into the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarding {
    /// The VPN instance (`None`: public).
    pub vrf: Option<String>,
    /// IPv4 or IPv6 unicast.
    pub family: Family,
    /// `maximum load-balancing [ebgp|ibgp] N`: equal-cost paths installed together.
    pub load_balancing: tern_rib::LoadBalancing,
    /// `routing-table rib-only`: BGP routes stay out of the kernel; `Some(Some(P))`: only
    /// those route policy P permits.
    pub rib_only: Option<Option<String>>,
}

/// A peer's route policies and filters in one family.
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
    /// `as-path-filter F import`, `ip-prefix P import` (evaluated before the import policy).
    pub import_filters: tern_policy::PeerFilters,
    /// `as-path-filter F export`, `ip-prefix P export` (evaluated before the export policy).
    pub export_filters: tern_policy::PeerFilters,
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
    /// `apply-label …`: how exported routes are labeled.
    pub label: LabelMode,
}

/// A VPN instance family's label allocation (`apply-label`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelMode {
    /// One label per route (VRP's default).
    #[default]
    PerRoute,
    /// `apply-label per-instance`: one label for the family, allocated.
    PerInstance,
    /// `apply-label per-instance static L`.
    Static(u32),
    /// `apply-label per-nexthop`: one label per next hop of the instance's routes.
    PerNextHop,
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

/// `import-route ospf|isis|rip N [med M] [route-policy P]` in a public family: the routes of
/// that kernel protocol in the main table, originated with ORIGIN incomplete, MED M or the
/// route's metric, the route's gateway as next hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redistribute {
    /// The kernel protocol number.
    pub protocol: u8,
    /// IPv6 routes (`ipv6-family unicast`) rather than IPv4.
    pub ipv6: bool,
    /// Originated in labeled unicast.
    pub labeled: bool,
    /// `med M`.
    pub med: Option<u32>,
    /// `route-policy P`.
    pub policy: Option<String>,
}

impl Redistribute {
    /// True when it imports the kernel route `prefix` of `protocol`.
    pub fn takes(&self, prefix: IpNet, protocol: u8) -> bool {
        self.protocol == protocol && self.ipv6 == prefix.addr().is_ipv6()
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

/// What a commit's policy changes concern, from the configuration's change set: a policy or
/// prefix-list edit re-runs only the peers and local routes that use it, not every peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyScope {
    /// Peers whose import policy changed (bound, unbound or edited): their received routes
    /// are run through import policy again (the Adj-RIB-In is kept, no route refresh).
    pub import: Vec<IpAddr>,
    /// Peers whose export policy changed: they are sent their table again.
    pub export: Vec<IpAddr>,
    /// The policies that changed: `network` and `import-route` routes naming one are
    /// originated again.
    pub policies: Vec<String>,
}
