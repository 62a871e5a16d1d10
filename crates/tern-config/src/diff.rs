//! The typed change set between two configurations, for live apply.
//!
//! [`diff`] compares two models and lists what a running daemon has to do something about:
//! the BGP instance, peers (public and per VPN instance) added, removed or with a changed
//! session setting, families enabled or disabled per peer, per-family peer options, family
//! settings, VPN instances and interfaces. [`EFFECTS`] is the one table that says what each
//! kind of change does to a BGP session (docs/cli.md shows it); [`Delta::effect`] reads it.
//!
//! Beside the deltas, [`ChangeSet::events`] lists the routing events, typed ([`RouteEvent`]):
//! a route policy whose nodes changed ([`RouteEvent::PolicyChanged`]), a prefix list that
//! changed ([`RouteEvent::PrefixListChanged`]), and the `network` / `import-route` lines of a
//! family that changed ([`RouteEvent::LocalRoutesChanged`]). A VPN instance added, removed or
//! changed (RD, route targets, label mode, families) is already a delta
//! ([`Delta::VpnInstanceAdded`], [`Delta::VpnInstanceRemoved`], [`Delta::VpnInstanceChanged`];
//! [`ChangeSet::vpn_instances_changed`] lists their names).
//!
//! [`ChangeSet::policy_uses`] resolves the policy and prefix list events against the new
//! configuration: the policies whose result may differ (changed, or naming a changed prefix
//! list in `if-match ip-prefix` / `if-match ipv6 address prefix-list`) and, sorted and each
//! once, what uses them ([`PolicyUse`]): a peer's `route-policy P import|export` in a family
//! (public or of a VPN instance), a family's `network … route-policy P`, a family's
//! `import-route … route-policy P`. Only those need evaluating again. A policy a peer names
//! before it exists (VRP allows it) counts as changed when it is created or deleted.

use std::collections::BTreeSet;
use std::net::IpAddr;

use tern_types::{Asn, Family};

use crate::filter::FilterKind;
use crate::model::{
    AfKey, AfPeer, Bgp, BgpFamily, Config, ImportRoute, Match, Network, Peer, RoutePolicy,
};

/// A BGP session: public (`vrf: None`) or of a VPN instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerKey {
    /// The VPN instance whose family holds the peer.
    pub vrf: Option<String>,
    /// Peer address.
    pub addr: IpAddr,
}

/// A session-level peer setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionField {
    /// `peer X as-number`.
    AsNumber,
    /// `peer X connect-interface`.
    ConnectInterface,
    /// `peer X ebgp-max-hop`.
    EbgpMaxHop,
    /// `peer X valid-ttl-hops`.
    ValidTtlHops,
    /// `peer X password`.
    Password,
    /// `peer X timer keepalive K hold H`, or the BGP view's `timer keepalive K hold H` the
    /// peer follows.
    Timers,
    /// `peer X timer connect-retry N`, or the BGP view's `timer connect-retry N` the peer
    /// follows.
    ConnectRetry,
    /// `peer X description`.
    Description,
    /// `peer X ignore`.
    Ignore,
    /// `peer X fake-as`.
    FakeAs,
    /// The router ID of a VPN instance family the session belongs to (`router-id` in the
    /// family view, or what `auto-select` picks).
    RouterId,
}

/// A per-family peer option (other than `enable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AfField {
    /// `route-policy P import`.
    RoutePolicyImport,
    /// `route-policy P export`.
    RoutePolicyExport,
    /// `reflect-client`.
    ReflectClient,
    /// `next-hop-invariable`.
    NextHopInvariable,
    /// `next-hop-local`.
    NextHopLocal,
    /// `label-route-capability`.
    LabelRouteCapability,
    /// `route-limit`.
    RouteLimit,
    /// `advertise-community`.
    AdvertiseCommunity,
    /// `advertise-ext-community`.
    AdvertiseExtCommunity,
    /// `keep-all-routes`.
    KeepAllRoutes,
    /// `allow-as-loop`.
    AllowAsLoop,
    /// `substitute-as`.
    SubstituteAs,
    /// `public-as-only`.
    PublicAsOnly,
    /// `default-route-advertise`.
    DefaultRouteAdvertise,
    /// `as-path-filter F import`.
    AsPathFilterImport,
    /// `as-path-filter F export`.
    AsPathFilterExport,
    /// `ip-prefix P import` / `ipv6-prefix P import`.
    PrefixImport,
    /// `ip-prefix P export` / `ipv6-prefix P export`.
    PrefixExport,
    /// `default-route-advertise` in the BGP-VPN-Target view.
    RtcDefaultRoute,
    /// `timer wait-for-eor` of the BGP-VPN-Target view, for each peer enabled there.
    WaitForEor,
    /// `capability-advertise add-path`.
    AddPath,
    /// The paths per destination the peer is sent: `advertise add-path`, or the family's
    /// `bestroute add-path`.
    AdvertiseAddPath,
}

/// One difference between two configurations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delta {
    /// `bgp N` added.
    BgpAdded(Asn),
    /// `undo bgp`.
    BgpRemoved(Asn),
    /// `router-id` changed (set, changed or removed).
    RouterId,
    /// `graceful-restart` or its timers changed.
    GracefulRestart,
    /// A peer added.
    PeerAdded(PeerKey),
    /// A peer removed.
    PeerRemoved(PeerKey),
    /// A session setting of a peer changed.
    PeerSession(PeerKey, SessionField),
    /// A peer enabled in a family.
    FamilyEnabled(PeerKey, AfKey),
    /// A peer disabled in a family.
    FamilyDisabled(PeerKey, AfKey),
    /// A per-family option of a peer changed.
    PeerFamilyOption(PeerKey, AfKey, AfField),
    /// A family's own settings changed (`network`, `import-route`, `policy vpn-target`,
    /// `reflector cluster-id`, `synchronization`, `maximum load-balancing`, `routing-table
    /// rib-only`), or the family was added or removed.
    FamilySettings(AfKey),
    /// `ip vpn-instance` added.
    VpnInstanceAdded(String),
    /// `ip vpn-instance` removed.
    VpnInstanceRemoved(String),
    /// A VPN instance's RD, route targets, label mode or families changed.
    VpnInstanceChanged(String),
    /// An interface added, removed or changed (addresses, binding, shutdown).
    Interface(String),
    /// A route policy added, removed or changed (also when a prefix list one of its
    /// `if-match` clauses names changed). Every peer that uses it for import or export gets
    /// its own [`Delta::PeerFamilyOption`] too (route refresh / re-advertise).
    RoutePolicy(String),
    /// `ip ip-prefix` (`v6: false`) or `ip ipv6-prefix` list added, removed or changed.
    PrefixList {
        /// `ip ipv6-prefix`.
        v6: bool,
        /// List name.
        name: String,
    },
    /// A filter (`ip as-path-filter`, `ip community-filter`, `ip extcommunity-filter`,
    /// `ip rd-filter`) added, removed or changed.
    Filter {
        /// The kind.
        kind: crate::filter::FilterKind,
        /// The name.
        name: String,
    },
    /// Static routes (`ip route-static`, `ipv6 route-static`) of the public network
    /// (`None`) or of a VPN instance changed.
    StaticRoutes(Option<String>),
    /// Kept (not active) configuration changed.
    Kept,
}

/// The kind of a [`Delta`], the key of [`EFFECTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaKind {
    /// [`Delta::BgpAdded`].
    BgpAdded,
    /// [`Delta::BgpRemoved`].
    BgpRemoved,
    /// [`Delta::RouterId`].
    RouterId,
    /// [`Delta::GracefulRestart`].
    GracefulRestart,
    /// [`Delta::PeerAdded`].
    PeerAdded,
    /// [`Delta::PeerRemoved`].
    PeerRemoved,
    /// [`Delta::PeerSession`] with this field.
    PeerSession(SessionField),
    /// [`Delta::FamilyEnabled`].
    FamilyEnabled,
    /// [`Delta::FamilyDisabled`].
    FamilyDisabled,
    /// [`Delta::PeerFamilyOption`] with this option.
    PeerFamilyOption(AfField),
    /// [`Delta::FamilySettings`].
    FamilySettings,
    /// [`Delta::VpnInstanceAdded`], [`Delta::VpnInstanceRemoved`], [`Delta::VpnInstanceChanged`].
    VpnInstance,
    /// [`Delta::Interface`].
    Interface,
    /// [`Delta::RoutePolicy`].
    RoutePolicy,
    /// [`Delta::PrefixList`].
    PrefixList,
    /// [`Delta::Filter`].
    Filter,
    /// [`Delta::StaticRoutes`].
    StaticRoutes,
    /// [`Delta::Kept`].
    Kept,
}

/// What a change does to BGP sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Every session is reset.
    ResetAll,
    /// The peer's session is started.
    Start,
    /// The peer's session is stopped (NOTIFICATION Cease) and forgotten.
    Stop,
    /// The peer's session is reset (Cease, then re-established with the new settings).
    Reset,
    /// Applied to the live session without a reset (socket option, text).
    InPlace,
    /// Inbound routes re-evaluated: ROUTE-REFRESH, or the stored Adj-RIB-In.
    RouteRefresh,
    /// Outbound routes re-evaluated and re-advertised.
    Readvertise,
    /// Local routes / VPN import and export re-evaluated; sessions untouched.
    Reevaluate,
    /// Nothing for BGP (kept configuration).
    Nothing,
}

/// THE table: which change resets a session. Rows in the order docs/cli.md shows them.
pub const EFFECTS: &[(DeltaKind, Effect, &str)] = &[
    (DeltaKind::BgpAdded, Effect::ResetAll, "bgp N"),
    (DeltaKind::BgpRemoved, Effect::ResetAll, "undo bgp"),
    (
        DeltaKind::RouterId,
        Effect::ResetAll,
        "router-id (VRP resets every session)",
    ),
    (
        DeltaKind::GracefulRestart,
        Effect::ResetAll,
        "graceful-restart and its timers (sent in OPEN; VRP resets every session)",
    ),
    (
        DeltaKind::PeerAdded,
        Effect::Start,
        "peer X as-number N (new peer)",
    ),
    (DeltaKind::PeerRemoved, Effect::Stop, "undo peer X"),
    (
        DeltaKind::PeerSession(SessionField::AsNumber),
        Effect::Reset,
        "peer X as-number (changed)",
    ),
    (
        DeltaKind::PeerSession(SessionField::ConnectInterface),
        Effect::Reset,
        "peer X connect-interface",
    ),
    (
        DeltaKind::PeerSession(SessionField::EbgpMaxHop),
        Effect::Reset,
        "peer X ebgp-max-hop",
    ),
    (
        DeltaKind::PeerSession(SessionField::ValidTtlHops),
        Effect::InPlace,
        "peer X valid-ttl-hops (GTSM minimum TTL set on the socket)",
    ),
    (
        DeltaKind::PeerSession(SessionField::Password),
        Effect::Reset,
        "peer X password (TCP MD5 key)",
    ),
    (
        DeltaKind::PeerSession(SessionField::Timers),
        Effect::Reset,
        "peer X timer keepalive, timer keepalive (negotiated in OPEN)",
    ),
    (
        DeltaKind::PeerSession(SessionField::ConnectRetry),
        Effect::InPlace,
        "peer X timer connect-retry, timer connect-retry (the next connection attempt)",
    ),
    (
        DeltaKind::PeerSession(SessionField::Description),
        Effect::InPlace,
        "peer X description",
    ),
    (
        DeltaKind::PeerSession(SessionField::FakeAs),
        Effect::Reset,
        "peer X fake-as (the AS sent in OPEN)",
    ),
    (
        DeltaKind::PeerSession(SessionField::RouterId),
        Effect::Reset,
        "router-id in a VPN instance family (its sessions' BGP identifier)",
    ),
    (
        DeltaKind::PeerSession(SessionField::Ignore),
        Effect::Reset,
        "peer X ignore (down and held down / started again)",
    ),
    (
        DeltaKind::FamilyEnabled,
        Effect::Reset,
        "peer X enable (capability renegotiated)",
    ),
    (
        DeltaKind::FamilyDisabled,
        Effect::Reset,
        "undo peer X enable",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::LabelRouteCapability),
        Effect::Reset,
        "peer X label-route-capability (capability)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::AddPath),
        Effect::Reset,
        "peer X capability-advertise add-path (capability)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::AdvertiseAddPath),
        Effect::Readvertise,
        "peer X advertise add-path, bestroute add-path (the paths sent again)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::AdvertiseCommunity),
        Effect::Readvertise,
        "peer X advertise-community (the routes sent again)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::AdvertiseExtCommunity),
        Effect::Readvertise,
        "peer X advertise-ext-community (the routes sent again)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::WaitForEor),
        Effect::InPlace,
        "timer wait-for-eor, vpn-target (the peers' next sessions)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::RtcDefaultRoute),
        Effect::InPlace,
        "peer X default-route-advertise, vpn-target (the default membership sent or withdrawn)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::KeepAllRoutes),
        Effect::Nothing,
        "peer X keep-all-routes (tern always keeps what peers send)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::AllowAsLoop),
        Effect::RouteRefresh,
        "peer X allow-as-loop (the peer's routes checked again)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::SubstituteAs),
        Effect::Readvertise,
        "peer X substitute-as (the routes sent again)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::PublicAsOnly),
        Effect::Readvertise,
        "peer X public-as-only (the routes sent again)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::DefaultRouteAdvertise),
        Effect::Readvertise,
        "peer X default-route-advertise (the default route sent or withdrawn)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::RouteLimit),
        Effect::InPlace,
        "peer X route-limit (checked against the routes held from the next count on)",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::RoutePolicyImport),
        Effect::RouteRefresh,
        "peer X route-policy P import",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::RoutePolicyExport),
        Effect::Readvertise,
        "peer X route-policy P export",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::AsPathFilterImport),
        Effect::RouteRefresh,
        "peer X as-path-filter F import",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::AsPathFilterExport),
        Effect::Readvertise,
        "peer X as-path-filter F export",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::PrefixImport),
        Effect::RouteRefresh,
        "peer X ip-prefix P import, peer X ipv6-prefix P import",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::PrefixExport),
        Effect::Readvertise,
        "peer X ip-prefix P export, peer X ipv6-prefix P export",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::ReflectClient),
        Effect::Readvertise,
        "peer X reflect-client",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::NextHopInvariable),
        Effect::Readvertise,
        "peer X next-hop-invariable",
    ),
    (
        DeltaKind::PeerFamilyOption(AfField::NextHopLocal),
        Effect::Readvertise,
        "peer X next-hop-local",
    ),
    (
        DeltaKind::FamilySettings,
        Effect::Reevaluate,
        "network, import-route, policy vpn-target, reflector cluster-id, maximum load-balancing, routing-table rib-only, a family added or removed",
    ),
    (
        DeltaKind::VpnInstance,
        Effect::Reevaluate,
        "ip vpn-instance, route-distinguisher, vpn-target, apply-label",
    ),
    (
        DeltaKind::Interface,
        Effect::Reevaluate,
        "interface addresses, binding, shutdown (connected routes, source addresses)",
    ),
    (
        DeltaKind::RoutePolicy,
        Effect::Reevaluate,
        "route-policy node, if-match, apply (local routes it filters; each peer using it gets \
         route-policy import/export: route refresh / re-advertise, no reset)",
    ),
    (
        DeltaKind::PrefixList,
        Effect::Nothing,
        "ip ip-prefix, ip ipv6-prefix (acts through the route policies naming it, listed as changed)",
    ),
    (
        DeltaKind::Filter,
        Effect::Nothing,
        "ip as-path-filter, ip community-filter, ip extcommunity-filter, ip rd-filter (acts \
         through the route policies and peers naming it, listed as changed)",
    ),
    (
        DeltaKind::StaticRoutes,
        Effect::Reevaluate,
        "ip route-static, ipv6 route-static (next hops, import-route static)",
    ),
    (
        DeltaKind::Kept,
        Effect::Nothing,
        "kept configuration (OSPF, MPLS, ...)",
    ),
];

impl Delta {
    /// The kind, the key of [`EFFECTS`].
    pub fn kind(&self) -> DeltaKind {
        match self {
            Delta::BgpAdded(_) => DeltaKind::BgpAdded,
            Delta::BgpRemoved(_) => DeltaKind::BgpRemoved,
            Delta::RouterId => DeltaKind::RouterId,
            Delta::GracefulRestart => DeltaKind::GracefulRestart,
            Delta::PeerAdded(_) => DeltaKind::PeerAdded,
            Delta::PeerRemoved(_) => DeltaKind::PeerRemoved,
            Delta::PeerSession(_, f) => DeltaKind::PeerSession(*f),
            Delta::FamilyEnabled(..) => DeltaKind::FamilyEnabled,
            Delta::FamilyDisabled(..) => DeltaKind::FamilyDisabled,
            Delta::PeerFamilyOption(_, _, f) => DeltaKind::PeerFamilyOption(*f),
            Delta::FamilySettings(_) => DeltaKind::FamilySettings,
            Delta::VpnInstanceAdded(_)
            | Delta::VpnInstanceRemoved(_)
            | Delta::VpnInstanceChanged(_) => DeltaKind::VpnInstance,
            Delta::Interface(_) => DeltaKind::Interface,
            Delta::RoutePolicy(_) => DeltaKind::RoutePolicy,
            Delta::PrefixList { .. } => DeltaKind::PrefixList,
            Delta::Filter { .. } => DeltaKind::Filter,
            Delta::StaticRoutes(_) => DeltaKind::StaticRoutes,
            Delta::Kept => DeltaKind::Kept,
        }
    }

    /// What it does to sessions, from [`EFFECTS`].
    pub fn effect(&self) -> Effect {
        let k = self.kind();
        EFFECTS
            .iter()
            .find(|(kind, _, _)| *kind == k)
            .map_or(Effect::Nothing, |(_, e, _)| *e)
    }

    /// The session it concerns, if one.
    pub fn peer(&self) -> Option<&PeerKey> {
        match self {
            Delta::PeerAdded(p)
            | Delta::PeerRemoved(p)
            | Delta::PeerSession(p, _)
            | Delta::FamilyEnabled(p, _)
            | Delta::FamilyDisabled(p, _)
            | Delta::PeerFamilyOption(p, _, _) => Some(p),
            _ => None,
        }
    }
}

/// A routing event: what the route engine evaluates again, beside the session deltas.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteEvent {
    /// A `route-policy`'s nodes changed: the policy or a node added or removed, a node's mode,
    /// an `if-match` or an `apply` edited. A policy that only names a changed prefix list is
    /// not listed (the list is); [`ChangeSet::policy_uses`] resolves both.
    PolicyChanged {
        /// Policy name.
        name: String,
    },
    /// An `ip ip-prefix` (`v6: false`) or `ip ipv6-prefix` list added, removed or changed.
    PrefixListChanged {
        /// List name.
        name: String,
        /// `ip ipv6-prefix`.
        v6: bool,
    },
    /// A filter added, removed or changed.
    FilterChanged {
        /// The kind.
        kind: crate::filter::FilterKind,
        /// The name.
        name: String,
    },
    /// A family's `network` or `import-route` lines added, removed or changed (also when the
    /// family itself holding them is added or removed).
    LocalRoutesChanged {
        /// The VPN instance (`None`: public).
        vrf: Option<String>,
        /// The family (a VPN instance family is IPv4 or IPv6 unicast).
        family: Family,
    },
}

/// What uses a route policy whose result may have changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyUse {
    /// `peer X route-policy P import|export` in a family view.
    Peer {
        /// The session (public, or of the VPN instance whose family holds the line).
        peer: PeerKey,
        /// The family of the view holding the line (with `peer.vrf`, the [`AfKey`]).
        family: Family,
        /// `import` (else `export`).
        import: bool,
    },
    /// A family's `network … route-policy P`.
    Network {
        /// The VPN instance (`None`: public).
        vrf: Option<String>,
        /// The family.
        family: Family,
    },
    /// A family's `import-route … route-policy P`.
    ImportRoute {
        /// The VPN instance (`None`: public).
        vrf: Option<String>,
        /// The family.
        family: Family,
    },
}

/// The route policy and prefix list events of a [`ChangeSet`], resolved against the new
/// configuration ([`ChangeSet::policy_uses`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyUses {
    /// Policies whose result may differ: changed, or naming a changed prefix list; sorted.
    pub policies: Vec<String>,
    /// What uses one of them, sorted, each once.
    pub uses: Vec<PolicyUse>,
}

impl PolicyUses {
    /// True when nothing uses a changed policy.
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty()
    }
}

/// The differences between two configurations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Every difference, BGP instance first, then peers, families, VPN instances, interfaces.
    pub deltas: Vec<Delta>,
    /// The routing events, sorted, each once.
    pub events: Vec<RouteEvent>,
}

impl ChangeSet {
    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }
    /// The sessions to reset (peers whose changes include a [`Effect::Reset`]), each once.
    pub fn sessions_to_reset(&self) -> Vec<&PeerKey> {
        let mut v: Vec<&PeerKey> = self
            .deltas
            .iter()
            .filter(|d| d.effect() == Effect::Reset)
            .filter_map(Delta::peer)
            .collect();
        v.sort();
        v.dedup();
        v
    }
    /// True when every session must be reset.
    pub fn resets_all(&self) -> bool {
        self.deltas.iter().any(|d| d.effect() == Effect::ResetAll)
    }
    /// The VPN instances added, removed or changed, sorted.
    pub fn vpn_instances_changed(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .deltas
            .iter()
            .filter_map(|d| match d {
                Delta::VpnInstanceAdded(n)
                | Delta::VpnInstanceRemoved(n)
                | Delta::VpnInstanceChanged(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    /// The policy and prefix list events resolved against `new`, the configuration the set
    /// leads to: the policies whose result may differ (a [`RouteEvent::PolicyChanged`], or a
    /// policy of `new` whose `if-match ip-prefix` / `if-match ipv6 address prefix-list` names
    /// a [`RouteEvent::PrefixListChanged`] list) and the peers, `network` and `import-route`
    /// lines of `new` that use one of them.
    pub fn policy_uses(&self, new: &Config) -> PolicyUses {
        // Peer group members use their group's policies.
        let eff = new.effective();
        let new = &eff;
        let mut policies: BTreeSet<&str> = BTreeSet::new();
        let mut lists: BTreeSet<(bool, &str)> = BTreeSet::new();
        let mut filters: BTreeSet<(FilterKind, &str)> = BTreeSet::new();
        for e in &self.events {
            match e {
                RouteEvent::PolicyChanged { name } => {
                    policies.insert(name);
                }
                RouteEvent::PrefixListChanged { name, v6 } => {
                    lists.insert((*v6, name));
                }
                RouteEvent::FilterChanged { kind, name } => {
                    filters.insert((*kind, name));
                }
                RouteEvent::LocalRoutesChanged { .. } => {}
            }
        }
        if !lists.is_empty() || !filters.is_empty() {
            for (name, p) in &new.route_policies {
                if names_list(p, |v6, l| lists.contains(&(v6, l)))
                    || names_filter(p, |k, f| filters.contains(&(k, f)))
                {
                    policies.insert(name);
                }
            }
        }
        let mut uses: BTreeSet<PolicyUse> = BTreeSet::new();
        let hit = |p: &Option<String>| p.as_deref().is_some_and(|p| policies.contains(p));
        if let Some(bgp) = new.bgp.as_ref().filter(|_| !policies.is_empty()) {
            for (af, fam) in &bgp.families {
                let vrf = af.vpn_instance().map(str::to_owned);
                let family = af.family();
                for (addr, ap) in &fam.peers {
                    for (import, p) in [
                        (true, &ap.route_policy_import),
                        (false, &ap.route_policy_export),
                        // `default-route-advertise route-policy P` is sent with the export.
                        (false, ap.default_route_advertise.as_ref().unwrap_or(&None)),
                    ] {
                        if hit(p) {
                            uses.insert(PolicyUse::Peer {
                                peer: PeerKey {
                                    vrf: vrf.clone(),
                                    addr: *addr,
                                },
                                family,
                                import,
                            });
                        }
                    }
                }
                if fam.networks.iter().any(|n| hit(&n.route_policy)) {
                    uses.insert(PolicyUse::Network {
                        vrf: vrf.clone(),
                        family,
                    });
                }
                if fam.import_routes.iter().any(|r| hit(&r.route_policy)) {
                    uses.insert(PolicyUse::ImportRoute { vrf, family });
                }
            }
        }
        PolicyUses {
            policies: policies.into_iter().map(str::to_owned).collect(),
            uses: uses.into_iter().collect(),
        }
    }
}

/// True when an `if-match` of the policy names a prefix list `is(v6, name)` selects.
fn names_list<'a>(p: &'a RoutePolicy, is: impl Fn(bool, &'a str) -> bool) -> bool {
    p.nodes.values().flat_map(|n| &n.matches).any(|m| match m {
        Match::IpPrefix(l) => is(false, l),
        Match::Ipv6PrefixList(l) => is(true, l),
        _ => false,
    })
}

/// True when an `if-match` or `apply comm-filter` of the policy names a filter `is(kind,
/// name)` selects.
fn names_filter<'a>(p: &'a RoutePolicy, is: impl Fn(FilterKind, &'a str) -> bool) -> bool {
    p.nodes.values().any(|n| {
        n.matches.iter().any(|m| match m {
            Match::CommunityFilter(f) | Match::CommunityFilterWhole(f) => {
                is(FilterKind::Community, f)
            }
            Match::AsPathFilter(f) => is(FilterKind::AsPath, f),
            Match::ExtcommunityFilter(f) => is(FilterKind::ExtCommunity, f),
            Match::RdFilter(n) => is(FilterKind::Rd, rd_name(*n)),
            _ => false,
        }) || n.applies.iter().any(|a| match a {
            crate::model::Apply::CommFilterDelete(f) => is(FilterKind::Community, f),
            _ => false,
        })
    })
}

/// An RD filter's name (its number) as a `'static` key.
fn rd_name(n: u32) -> &'static str {
    // Filters are named by their number's text; 1..=1024 fit a small table.
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| (0..=1024).map(|i| i.to_string()).collect())
        .get(n as usize)
        .map_or("", String::as_str)
}

/// What changed from `old` to `new`.
///
/// Peer groups are compared through their members ([`Config::effective`]): a group's
/// change is a change to each of its members, and to nothing else.
pub fn diff(old: &Config, new: &Config) -> ChangeSet {
    let (old, new) = (&old.effective(), &new.effective());
    let mut d = Vec::new();
    let mut ev = Vec::new();
    match (&old.bgp, &new.bgp) {
        (None, None) => {}
        (None, Some(b)) => {
            d.push(Delta::BgpAdded(b.asn.value));
            bgp_diff(&empty_like(b), b, &mut d, &mut ev);
        }
        (Some(a), None) => {
            d.push(Delta::BgpRemoved(a.asn.value));
            bgp_diff(a, &empty_like(a), &mut d, &mut ev);
        }
        (Some(a), Some(b)) if a.asn.value != b.asn.value => {
            d.push(Delta::BgpRemoved(a.asn.value));
            d.push(Delta::BgpAdded(b.asn.value));
            bgp_diff(a, b, &mut d, &mut ev);
        }
        (Some(a), Some(b)) => bgp_diff(a, b, &mut d, &mut ev),
    }
    if let (Some(a), Some(b)) = (&old.bgp, &new.bgp) {
        // A VPN instance family's own router ID is its sessions' identity.
        for (k, _) in sessions(b) {
            let (Some(fa), Some(fb)) = (vrf_family(a, &k), vrf_family(b, &k)) else {
                continue;
            };
            if old.vrf_router_id(&fa) != new.vrf_router_id(&fb) {
                d.push(Delta::PeerSession(k, SessionField::RouterId));
            }
        }
    }
    let names: BTreeSet<&String> = old
        .vpn_instances
        .keys()
        .chain(new.vpn_instances.keys())
        .collect();
    for n in names {
        match (old.vpn_instances.get(n), new.vpn_instances.get(n)) {
            (None, Some(_)) => d.push(Delta::VpnInstanceAdded(n.clone())),
            (Some(_), None) => d.push(Delta::VpnInstanceRemoved(n.clone())),
            (Some(a), Some(b)) if a != b => d.push(Delta::VpnInstanceChanged(n.clone())),
            _ => {}
        }
    }
    let ifs: BTreeSet<&String> = old.interfaces.keys().chain(new.interfaces.keys()).collect();
    for n in ifs {
        if old.interfaces.get(n) != new.interfaces.get(n) {
            d.push(Delta::Interface(n.clone()));
        }
    }
    policy_diff(old, new, &mut d, &mut ev);
    let vrfs: BTreeSet<Option<&str>> = old
        .static_routes
        .iter()
        .chain(&new.static_routes)
        .map(|r| r.vpn_instance.as_deref())
        .collect();
    for v in vrfs {
        let of = |c: &'_ Config| -> Vec<crate::model::StaticRoute> {
            c.static_routes
                .iter()
                .filter(|r| r.vpn_instance.as_deref() == v)
                .cloned()
                .collect()
        };
        if of(old) != of(new) {
            d.push(Delta::StaticRoutes(v.map(str::to_owned)));
        }
    }
    if old.kept != new.kept {
        d.push(Delta::Kept);
    }
    ev.sort();
    ev.dedup();
    ChangeSet {
        deltas: d,
        events: ev,
    }
}

/// Prefix lists and route policies; a policy whose prefix lists changed counts as changed,
/// and every peer using a changed policy gets a route-policy import/export delta. The events
/// name only what changed itself.
fn policy_diff(old: &Config, new: &Config, d: &mut Vec<Delta>, ev: &mut Vec<RouteEvent>) {
    let mut lists_changed: BTreeSet<(bool, &str)> = BTreeSet::new();
    for (v6, a, b) in [
        (false, &old.ip_prefixes, &new.ip_prefixes),
        (true, &old.ipv6_prefixes, &new.ipv6_prefixes),
    ] {
        for n in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
            if a.get(n) != b.get(n) {
                lists_changed.insert((v6, n.as_str()));
                ev.push(RouteEvent::PrefixListChanged {
                    name: n.clone(),
                    v6,
                });
                d.push(Delta::PrefixList {
                    v6,
                    name: n.clone(),
                });
            }
        }
    }
    let mut filters_changed: BTreeSet<(FilterKind, &str)> = BTreeSet::new();
    for kind in [
        FilterKind::AsPath,
        FilterKind::Community,
        FilterKind::ExtCommunity,
        FilterKind::Rd,
    ] {
        let (a, b) = (old.filters.of(kind), new.filters.of(kind));
        // `as-notation` changes how AS paths, route targets and RDs are written for matching.
        let notation =
            old.as_notation_plain != new.as_notation_plain && kind != FilterKind::Community;
        for n in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
            if a.get(n) != b.get(n) || notation {
                filters_changed.insert((kind, n.as_str()));
                ev.push(RouteEvent::FilterChanged {
                    kind,
                    name: n.clone(),
                });
                d.push(Delta::Filter {
                    kind,
                    name: n.clone(),
                });
            }
        }
    }
    let uses_changed_list = |c: &Config, name: &str| {
        c.route_policies.get(name).is_some_and(|p| {
            names_list(p, |v6, l| lists_changed.contains(&(v6, l)))
                || names_filter(p, |k, f| filters_changed.contains(&(k, f)))
        })
    };
    let names: BTreeSet<&String> = old
        .route_policies
        .keys()
        .chain(new.route_policies.keys())
        .collect();
    let mut changed: Vec<&String> = Vec::new();
    for n in names {
        if old.route_policies.get(n) != new.route_policies.get(n) {
            ev.push(RouteEvent::PolicyChanged { name: n.clone() });
            changed.push(n);
        } else if uses_changed_list(old, n) || uses_changed_list(new, n) {
            changed.push(n);
        }
    }
    let Some(bgp) = &new.bgp else {
        d.extend(changed.into_iter().map(|n| Delta::RoutePolicy(n.clone())));
        return;
    };
    // Peers whose own as-path-filter or prefix list changed.
    for (af, fam) in &bgp.families {
        let v6 = af.family().is_ipv6();
        for (addr, ap) in &fam.peers {
            let key = PeerKey {
                vrf: af.vpn_instance().map(str::to_owned),
                addr: *addr,
            };
            for (hit, f) in [
                (
                    ap.as_path_filter_import
                        .as_deref()
                        .is_some_and(|n| filters_changed.contains(&(FilterKind::AsPath, n))),
                    AfField::AsPathFilterImport,
                ),
                (
                    ap.as_path_filter_export
                        .as_deref()
                        .is_some_and(|n| filters_changed.contains(&(FilterKind::AsPath, n))),
                    AfField::AsPathFilterExport,
                ),
                (
                    ap.prefix_import
                        .as_deref()
                        .is_some_and(|n| lists_changed.contains(&(v6, n))),
                    AfField::PrefixImport,
                ),
                (
                    ap.prefix_export
                        .as_deref()
                        .is_some_and(|n| lists_changed.contains(&(v6, n))),
                    AfField::PrefixExport,
                ),
            ] {
                let delta = Delta::PeerFamilyOption(key.clone(), af.clone(), f);
                if hit && !d.contains(&delta) {
                    d.push(delta);
                }
            }
        }
    }
    for n in changed {
        d.push(Delta::RoutePolicy(n.clone()));
        for (af, fam) in &bgp.families {
            for (addr, ap) in &fam.peers {
                let key = PeerKey {
                    vrf: af.vpn_instance().map(str::to_owned),
                    addr: *addr,
                };
                for (used, f) in [
                    (&ap.route_policy_import, AfField::RoutePolicyImport),
                    (&ap.route_policy_export, AfField::RoutePolicyExport),
                ] {
                    let delta = Delta::PeerFamilyOption(key.clone(), af.clone(), f);
                    if used.as_ref() == Some(n) && !d.contains(&delta) {
                        d.push(delta);
                    }
                }
            }
        }
    }
}

fn empty_like(b: &Bgp) -> Bgp {
    let mut e = Bgp::new(b.asn);
    e.families.clear();
    e
}

/// Every session of an instance with its family settings: (peer, its session, per family).
fn sessions(b: &Bgp) -> Vec<(PeerKey, &Peer)> {
    b.sessions()
        .map(|(v, p)| {
            (
                PeerKey {
                    vrf: v.map(str::to_owned),
                    addr: p.addr,
                },
                p,
            )
        })
        .collect()
}

/// The VPN instance family holding a VPN instance session.
fn vrf_family(b: &Bgp, k: &PeerKey) -> Option<AfKey> {
    let vrf = k.vrf.as_deref()?;
    b.families
        .iter()
        .find(|(af, f)| af.vpn_instance() == Some(vrf) && f.vrf_peers.contains_key(&k.addr))
        .map(|(af, _)| af.clone())
}

fn af_peer<'a>(b: &'a Bgp, af: &AfKey, addr: IpAddr) -> Option<&'a AfPeer> {
    b.families.get(af).and_then(|f| f.peers.get(&addr))
}

/// A family's `network` and `import-route` lines (none for a family not configured).
fn local_lines(f: Option<&BgpFamily>) -> (&[Network], &[ImportRoute]) {
    f.map_or((&[], &[]), |f| (&f.networks, &f.import_routes))
}

fn bgp_diff(a: &Bgp, b: &Bgp, d: &mut Vec<Delta>, ev: &mut Vec<RouteEvent>) {
    if a.router_id != b.router_id {
        d.push(Delta::RouterId);
    }
    if (a.graceful_restart, a.gr_restart_time, a.gr_wait_for_rib)
        != (b.graceful_restart, b.gr_restart_time, b.gr_wait_for_rib)
    {
        d.push(Delta::GracefulRestart);
    }
    let (sa, sb) = (sessions(a), sessions(b));
    let keys: BTreeSet<&PeerKey> = sa.iter().chain(sb.iter()).map(|(k, _)| k).collect();
    let find = |s: &[(PeerKey, &Peer)], k: &PeerKey| {
        s.iter().find(|(x, _)| x == k).map(|(_, p)| (*p).clone())
    };
    let families: BTreeSet<&AfKey> = a.families.keys().chain(b.families.keys()).collect();
    for k in keys {
        let (pa, pb) = (find(&sa, k), find(&sb, k));
        match (&pa, &pb) {
            (None, Some(_)) => d.push(Delta::PeerAdded(k.clone())),
            (Some(_), None) => {
                d.push(Delta::PeerRemoved(k.clone()));
                continue;
            }
            (Some(x), Some(y)) => {
                for (f, changed) in [
                    (SessionField::AsNumber, x.asn.value != y.asn.value),
                    (
                        SessionField::ConnectInterface,
                        x.connect_interface != y.connect_interface,
                    ),
                    (SessionField::EbgpMaxHop, x.ebgp_max_hop != y.ebgp_max_hop),
                    (
                        SessionField::ValidTtlHops,
                        x.valid_ttl_hops != y.valid_ttl_hops,
                    ),
                    (SessionField::Password, x.password != y.password),
                    (
                        SessionField::Timers,
                        x.timers != y.timers || a.peer_timers(x) != b.peer_timers(y),
                    ),
                    (
                        SessionField::ConnectRetry,
                        x.connect_retry != y.connect_retry
                            || a.peer_connect_retry(x) != b.peer_connect_retry(y),
                    ),
                    (SessionField::Description, x.description != y.description),
                    (SessionField::Ignore, x.ignore != y.ignore),
                    (SessionField::FakeAs, x.fake_as != y.fake_as),
                ] {
                    if changed {
                        d.push(Delta::PeerSession(k.clone(), f));
                    }
                }
            }
            (None, None) => continue,
        }
        // Families: a VPN instance's peers live in that instance's families only.
        for af in families
            .iter()
            .filter(|af| af.vpn_instance() == k.vrf.as_deref())
        {
            let (x, y) = (af_peer(a, af, k.addr), af_peer(b, af, k.addr));
            let def = AfPeer::default();
            let (x, y) = (x.unwrap_or(&def), y.unwrap_or(&def));
            match (x.enable, y.enable) {
                (false, true) => d.push(Delta::FamilyEnabled(k.clone(), (*af).clone())),
                (true, false) => d.push(Delta::FamilyDisabled(k.clone(), (*af).clone())),
                _ => {}
            }
            for (f, changed) in [
                (
                    AfField::RoutePolicyImport,
                    x.route_policy_import != y.route_policy_import,
                ),
                (
                    AfField::RoutePolicyExport,
                    x.route_policy_export != y.route_policy_export,
                ),
                (AfField::ReflectClient, x.reflect_client != y.reflect_client),
                (
                    AfField::NextHopInvariable,
                    x.next_hop_invariable != y.next_hop_invariable,
                ),
                (AfField::NextHopLocal, x.next_hop_local != y.next_hop_local),
                (
                    AfField::LabelRouteCapability,
                    x.label_route_capability != y.label_route_capability,
                ),
                (AfField::RouteLimit, x.route_limit != y.route_limit),
                (
                    AfField::AdvertiseCommunity,
                    x.advertise_community != y.advertise_community,
                ),
                (
                    AfField::AdvertiseExtCommunity,
                    x.advertise_ext_community != y.advertise_ext_community,
                ),
                (
                    AfField::KeepAllRoutes,
                    x.keep_all_routes != y.keep_all_routes,
                ),
                (AfField::AllowAsLoop, x.allow_as_loop != y.allow_as_loop),
                (AfField::SubstituteAs, x.substitute_as != y.substitute_as),
                (AfField::PublicAsOnly, x.public_as_only != y.public_as_only),
                (
                    AfField::DefaultRouteAdvertise,
                    x.default_route_advertise != y.default_route_advertise,
                ),
                (
                    AfField::AsPathFilterImport,
                    x.as_path_filter_import != y.as_path_filter_import,
                ),
                (
                    AfField::AsPathFilterExport,
                    x.as_path_filter_export != y.as_path_filter_export,
                ),
                (AfField::PrefixImport, x.prefix_import != y.prefix_import),
                (AfField::PrefixExport, x.prefix_export != y.prefix_export),
                (
                    AfField::RtcDefaultRoute,
                    x.rtc_default_route != y.rtc_default_route,
                ),
                (
                    AfField::WaitForEor,
                    **af == AfKey::VpnTarget && y.enable && {
                        let t = |g: &Bgp| g.families.get(*af).and_then(|f| f.wait_for_eor);
                        t(a) != t(b)
                    },
                ),
                (AfField::AddPath, x.add_path != y.add_path),
                (
                    AfField::AdvertiseAddPath,
                    a.families.get(*af).map(|f| f.add_path_count(k.addr))
                        != b.families.get(*af).map(|f| f.add_path_count(k.addr)),
                ),
            ] {
                if changed {
                    d.push(Delta::PeerFamilyOption(k.clone(), (*af).clone(), f));
                }
            }
        }
    }
    for af in families {
        let strip = |b: &Bgp| {
            b.families.get(af).map(|f| {
                let mut f = f.clone();
                f.peers.clear();
                f.vrf_peers.clear();
                f
            })
        };
        if strip(a) != strip(b) {
            d.push(Delta::FamilySettings(af.clone()));
        }
        if local_lines(a.families.get(af)) != local_lines(b.families.get(af)) {
            ev.push(RouteEvent::LocalRoutesChanged {
                vrf: af.vpn_instance().map(str::to_owned),
                family: af.family(),
            });
        }
    }
}
