//! Recording the route engine's inputs (`ternd --record FILE`): one JSON object a line, in the
//! order the RIB task handled them, with the output steps that made progress between them, so
//! that a run replays in a test ([`crate::replay`]) and gives the same outputs every time.
//!
//! - UPDATEs are recorded as their bodies (while recording, connection tasks send the bodies
//!   rather than the UPDATEs already taken apart; the engine parses them with the session's
//!   receive context).
//! - Routing settings are recorded as data, the route policies and prefix lists as the VRP
//!   configuration text they were compiled from.
//! - Whether next hops are tracked (the daemon has the kernel's table) is recorded at start,
//!   and the tracker's answers ([`Input::Resolved`]) where the engine took them.
//! - Displays are not recorded: they change nothing.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tern_engine::routing::{LabelMode, LocalRoute, PeerPolicy, PolicyScope, Routing, VrfSpec};
use tern_engine::{Input, PeerOut};
use tern_rib::PeerInfo;
use tern_types::{Afi, Asn, Family, Safi};
use tern_wire::attr::Origin;
use tern_wire::{AddPathSet, Ctx};

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// The engine's own configuration (first in a recording).
    Start {
        /// Local AS.
        local_as: u32,
        /// Router ID.
        router_id: Ipv4Addr,
        /// Cluster ID, when configured.
        cluster_id: Option<Ipv4Addr>,
        /// Next hops are unreachable until the tracker answers (false: all reachable).
        #[serde(default)]
        tracking: bool,
    },
    /// [`Input::PeerUp`].
    PeerUp {
        /// Session number.
        session: u64,
        /// Peer address.
        addr: IpAddr,
        /// Peer router ID.
        router_id: Ipv4Addr,
        /// Peer AS.
        asn: u32,
        /// External.
        ebgp: bool,
        /// Reflector client.
        rr_client: bool,
        /// Preferred value.
        preferred_value: u32,
        /// Receive context.
        rx: Context,
        /// What the peer is sent, if anything.
        out: Option<Out>,
        /// VPN instance of a PE–CE session.
        vrf: Option<String>,
    },
    /// [`Input::Update`]: an UPDATE's body, in hex.
    Update {
        /// Peer address.
        peer: IpAddr,
        /// Session number.
        session: u64,
        /// The body.
        body: String,
    },
    /// [`Input::PeerDown`].
    PeerDown {
        /// Peer address.
        peer: IpAddr,
        /// Session number.
        session: u64,
    },
    /// [`Input::Settings`], or [`Input::Commit`] with a scope.
    Settings {
        /// The settings.
        routing: Settings,
        /// A commit's policy scope.
        scope: Option<Scope>,
    },
    /// [`Input::Resolved`].
    Resolved {
        /// Next hops and their IGP cost (`None`: unreachable).
        next_hops: Vec<(IpAddr, Option<u32>)>,
        /// Prefixes and whether the kernel holds them.
        prefixes: Vec<(IpNet, bool)>,
        /// IGP routes of the kernel: prefix, protocol, (gateway, metric) or gone.
        #[serde(default)]
        igp: Vec<IgpRec>,
    },
    /// [`Input::Readvertise`].
    Readvertise {
        /// Peer address.
        peer: IpAddr,
        /// `reflect-client`.
        reflect_client: bool,
        /// `next-hop-invariable` families.
        next_hop_invariable: Vec<Fam>,
        /// `next-hop-local` families.
        next_hop_local: Vec<Fam>,
        /// `advertise-community` families.
        #[serde(default)]
        advertise_community: Vec<Fam>,
        /// `advertise-ext-community` families.
        #[serde(default)]
        advertise_ext_community: Vec<Fam>,
        /// AS rules.
        #[serde(default)]
        as_out: AsRec,
        /// `default-route-advertise` families and policies.
        #[serde(default)]
        default_route: Vec<(Fam, Option<String>)>,
        /// ADD-PATH send: paths per destination, per family.
        #[serde(default)]
        add_path: Vec<(Fam, u8)>,
    },
    /// [`Input::Refresh`].
    Refresh {
        /// Peer address.
        peer: IpAddr,
        /// Session number.
        session: u64,
        /// The family.
        family: Fam,
        /// Enhanced route refresh.
        #[serde(default)]
        enhanced: bool,
    },
    /// [`Input::PeerRestarting`].
    PeerRestarting {
        /// Peer address.
        peer: IpAddr,
        /// Session number.
        session: u64,
        /// Families kept stale.
        families: Vec<Fam>,
    },
    /// [`Input::RouteLimit`].
    RouteLimit {
        /// Peer address.
        peer: IpAddr,
        /// The family.
        family: Fam,
        /// Full.
        full: bool,
    },
    /// [`Input::Defer`].
    Defer {
        /// On.
        on: bool,
    },
    /// [`Input::RtcWaitOver`].
    RtcWaitOver {
        /// Peer address.
        peer: IpAddr,
        /// The session.
        session: u64,
    },
    /// [`Input::Stale`], or [`Input::PurgeStale`] with `purge`.
    Stale {
        /// Peer address.
        peer: IpAddr,
        /// The family.
        family: Fam,
        /// Purge what is still stale.
        purge: bool,
    },
    /// An output step that made progress.
    Flush,
}

/// A family as (AFI, SAFI).
pub type Fam = (u16, u8);

fn fam(f: Family) -> Fam {
    (f.afi.0, f.safi.0)
}

/// A recorded family.
pub fn family(f: Fam) -> Family {
    Family {
        afi: Afi(f.0),
        safi: Safi(f.1),
    }
}

fn fams(v: &[Family]) -> Vec<Fam> {
    v.iter().map(|f| fam(*f)).collect()
}

/// Recorded families.
pub fn families(v: &[Fam]) -> Vec<Family> {
    v.iter().map(|f| family(*f)).collect()
}

/// A session context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    four_octet_as: bool,
    add_path: Vec<Fam>,
    ebgp: bool,
    extended_message: bool,
}

impl Context {
    fn of(c: &Ctx) -> Context {
        Context {
            four_octet_as: c.four_octet_as,
            add_path: Family::KNOWN
                .iter()
                .filter(|f| c.add_path.contains(**f))
                .map(|f| fam(*f))
                .collect(),
            ebgp: c.ebgp,
            extended_message: c.extended_message,
        }
    }

    /// The context.
    pub fn ctx(&self) -> Ctx {
        Ctx {
            four_octet_as: self.four_octet_as,
            add_path: AddPathSet::of(&families(&self.add_path)),
            ebgp: self.ebgp,
            extended_message: self.extended_message,
        }
    }
}

/// What a peer is sent, without its writer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Out {
    /// Negotiated families.
    pub families: Vec<Fam>,
    /// Send context.
    pub tx: Context,
    /// Local address.
    pub local: Option<IpAddr>,
    /// `next-hop-invariable` families.
    pub next_hop_invariable: Vec<Fam>,
    /// `next-hop-local` families.
    pub next_hop_local: Vec<Fam>,
    /// `advertise-community` families.
    #[serde(default)]
    pub advertise_community: Vec<Fam>,
    /// `advertise-ext-community` families.
    #[serde(default)]
    pub advertise_ext_community: Vec<Fam>,
    /// ADD-PATH send: paths per destination, per family.
    #[serde(default)]
    pub add_path: Vec<(Fam, u8)>,
    /// AS rules.
    #[serde(default)]
    pub as_out: AsRec,
    /// `default-route-advertise` families and policies.
    #[serde(default)]
    pub default_route: Vec<(Fam, Option<String>)>,
}

/// A peer's outbound AS rules, recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsRec {
    substitute_as: Vec<Fam>,
    public_as_only: Vec<(Fam, tern_engine::asrules::PublicAsOnly)>,
    peer_as: u32,
    fake_as: Option<tern_engine::asrules::FakeAs>,
}

impl AsRec {
    fn of(a: &tern_engine::asrules::AsOut) -> AsRec {
        AsRec {
            substitute_as: fams(&a.substitute_as),
            public_as_only: a
                .public_as_only
                .iter()
                .map(|(f, p)| (fam(*f), *p))
                .collect(),
            peer_as: a.peer_as,
            fake_as: a.fake_as,
        }
    }

    /// The rules recorded.
    pub fn rules(&self) -> tern_engine::asrules::AsOut {
        tern_engine::asrules::AsOut {
            substitute_as: families(&self.substitute_as),
            public_as_only: self
                .public_as_only
                .iter()
                .map(|(f, p)| (family(*f), *p))
                .collect(),
            peer_as: self.peer_as,
            fake_as: self.fake_as,
        }
    }
}

impl Out {
    /// The outbound options recorded.
    pub fn outbound(&self) -> tern_engine::Outbound {
        tern_engine::Outbound {
            next_hop_invariable: families(&self.next_hop_invariable),
            next_hop_local: families(&self.next_hop_local),
            advertise_community: families(&self.advertise_community),
            advertise_ext_community: families(&self.advertise_ext_community),
            as_out: self.as_out.rules(),
            default_route: self
                .default_route
                .iter()
                .map(|(f, p)| (family(*f), p.clone()))
                .collect(),
            add_path: add_path_counts(&self.add_path),
        }
    }
}

/// Routing settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    cluster_id: Option<Ipv4Addr>,
    vrfs: Vec<Vrf>,
    local: Vec<Local>,
    keep_all_vpn: Vec<Fam>,
    /// Route policies and prefix lists, as configuration text.
    policies: String,
    peer_policies: Vec<(IpAddr, Fam, Option<String>, Option<String>)>,
    #[serde(default)]
    peer_as_in: Vec<(IpAddr, Fam, tern_engine::asrules::AsIn)>,
    /// `import-route ospf|isis|rip`: protocol, IPv6, labeled, MED, policy.
    #[serde(default)]
    redistribute: Vec<RedistRec>,
    /// The peers' filters, in the order of `peer_policies`: import as-path filter and
    /// prefix list, export as-path filter and prefix list.
    #[serde(default)]
    peer_filters: Vec<[Option<String>; 4]>,
    /// Peers sent the default route target membership.
    #[serde(default)]
    rtc_default: Vec<IpAddr>,
    /// `maximum load-balancing` and `routing-table rib-only` per domain and family.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    forwarding: Vec<Fwd>,
}

/// One domain's family's forwarding settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Fwd {
    vrf: Option<String>,
    family: Fam,
    /// Paths balanced at most, EBGP and IBGP.
    ebgp: u32,
    ibgp: u32,
    /// The plain form (next hop self toward IBGP).
    next_hop_self: bool,
    /// `routing-table rib-only`, with its policy.
    rib_only: Option<Option<String>>,
}

/// A recorded `import-route ospf|isis|rip`: protocol, IPv6, labeled, MED, policy.
type RedistRec = (u8, bool, bool, Option<u32>, Option<String>);

/// A recorded IGP route change: prefix, protocol, (gateway, metric) or gone.
pub type IgpRec = (IpNet, u8, Option<(Option<IpAddr>, u32)>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Vrf {
    name: String,
    family: Fam,
    rd: String,
    /// Route targets, the hex of their eight octets.
    import_rt: Vec<String>,
    export_rt: Vec<String>,
    per_instance_label: bool,
    /// `apply-label per-instance static L`.
    #[serde(default)]
    static_label: Option<u32>,
    /// `apply-label per-nexthop`.
    #[serde(default)]
    per_nexthop: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Local {
    vrf: Option<String>,
    prefix: IpNet,
    origin: u8,
    med: Option<u32>,
    next_hop: Option<IpAddr>,
    policy: Option<String>,
    labeled: bool,
    kernel: bool,
}

impl Settings {
    fn of(r: &Routing) -> Settings {
        Settings {
            cluster_id: r.cluster_id,
            vrfs: r
                .vrfs
                .iter()
                .map(|v| Vrf {
                    name: v.name.clone(),
                    family: fam(v.family),
                    rd: v.rd.to_string(),
                    import_rt: v.import_rt.iter().map(|e| hex(&e.0)).collect(),
                    export_rt: v.export_rt.iter().map(|e| hex(&e.0)).collect(),
                    per_instance_label: v.label == LabelMode::PerInstance,
                    static_label: match v.label {
                        LabelMode::Static(l) => Some(l),
                        _ => None,
                    },
                    per_nexthop: v.label == LabelMode::PerNextHop,
                })
                .collect(),
            local: r
                .local
                .iter()
                .map(|l| Local {
                    vrf: l.vrf.clone(),
                    prefix: l.prefix,
                    origin: match l.origin {
                        Origin::Igp => 0,
                        Origin::Egp => 1,
                        Origin::Incomplete => 2,
                    },
                    med: l.med,
                    next_hop: l.next_hop,
                    policy: l.policy.clone(),
                    labeled: l.labeled,
                    kernel: l.kernel,
                })
                .collect(),
            keep_all_vpn: fams(&r.keep_all_vpn),
            policies: r.policies.source().to_vrp(),
            peer_policies: r
                .peer_policies
                .iter()
                .map(|p| (p.addr, fam(p.family), p.import.clone(), p.export.clone()))
                .collect(),
            peer_as_in: r
                .peer_as_in
                .iter()
                .map(|(a, f, x)| (*a, fam(*f), *x))
                .collect(),
            redistribute: r
                .redistribute
                .iter()
                .map(|s| (s.protocol, s.ipv6, s.labeled, s.med, s.policy.clone()))
                .collect(),
            peer_filters: r
                .peer_policies
                .iter()
                .map(|p| {
                    [
                        p.import_filters.as_path.clone(),
                        p.import_filters.prefix.clone(),
                        p.export_filters.as_path.clone(),
                        p.export_filters.prefix.clone(),
                    ]
                })
                .collect(),
            rtc_default: r.rtc_default.clone(),
            forwarding: r
                .forwarding
                .iter()
                .map(|f| Fwd {
                    vrf: f.vrf.clone(),
                    family: fam(f.family),
                    ebgp: f.load_balancing.ebgp,
                    ibgp: f.load_balancing.ibgp,
                    next_hop_self: f.load_balancing.next_hop_self,
                    rib_only: f.rib_only.clone(),
                })
                .collect(),
        }
    }

    /// The settings.
    pub fn routing(&self) -> Result<Routing, String> {
        let cfg = tern_config::parse_file(&self.policies).map_err(|e| e.to_string())?;
        let vrfs = self
            .vrfs
            .iter()
            .map(|v| {
                Ok(VrfSpec {
                    name: v.name.clone(),
                    family: family(v.family),
                    rd: v.rd.parse().map_err(|_| format!("RD {}", v.rd))?,
                    import_rt: parse_all(&v.import_rt)?,
                    export_rt: parse_all(&v.export_rt)?,
                    label: match (v.static_label, v.per_instance_label, v.per_nexthop) {
                        (Some(l), _, _) => LabelMode::Static(l),
                        (None, true, _) => LabelMode::PerInstance,
                        (None, false, true) => LabelMode::PerNextHop,
                        _ => LabelMode::PerRoute,
                    },
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Routing {
            cluster_id: self.cluster_id,
            vrfs,
            local: self
                .local
                .iter()
                .map(|l| LocalRoute {
                    vrf: l.vrf.clone(),
                    prefix: l.prefix,
                    origin: match l.origin {
                        0 => Origin::Igp,
                        1 => Origin::Egp,
                        _ => Origin::Incomplete,
                    },
                    med: l.med,
                    next_hop: l.next_hop,
                    policy: l.policy.clone(),
                    labeled: l.labeled,
                    kernel: l.kernel,
                })
                .collect(),
            keep_all_vpn: families(&self.keep_all_vpn),
            policies: tern_policy::Policies::new(&cfg),
            peer_policies: self
                .peer_policies
                .iter()
                .enumerate()
                .map(|(i, (addr, f, import, export))| {
                    let [ia, ip, ea, ep] = self.peer_filters.get(i).cloned().unwrap_or_default();
                    PeerPolicy {
                        addr: *addr,
                        family: family(*f),
                        import: import.clone(),
                        export: export.clone(),
                        import_filters: tern_policy::PeerFilters {
                            as_path: ia,
                            prefix: ip,
                        },
                        export_filters: tern_policy::PeerFilters {
                            as_path: ea,
                            prefix: ep,
                        },
                    }
                })
                .collect(),
            peer_as_in: self
                .peer_as_in
                .iter()
                .map(|(a, f, x)| (*a, family(*f), *x))
                .collect(),
            redistribute: self
                .redistribute
                .iter()
                .map(
                    |(protocol, ipv6, labeled, med, policy)| tern_engine::routing::Redistribute {
                        protocol: *protocol,
                        ipv6: *ipv6,
                        labeled: *labeled,
                        med: *med,
                        policy: policy.clone(),
                    },
                )
                .collect(),
            rtc_default: self.rtc_default.clone(),
            forwarding: self
                .forwarding
                .iter()
                .map(|f| tern_engine::routing::Forwarding {
                    vrf: f.vrf.clone(),
                    family: family(f.family),
                    load_balancing: tern_rib::LoadBalancing {
                        ebgp: f.ebgp,
                        ibgp: f.ibgp,
                        next_hop_self: f.next_hop_self,
                    },
                    rib_only: f.rib_only.clone(),
                })
                .collect(),
        })
    }
}

/// Extended communities recorded as the hex of their eight octets.
fn parse_all(v: &[String]) -> Result<Vec<tern_types::ExtCommunity>, String> {
    v.iter()
        .map(|s| {
            unhex(s)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(tern_types::ExtCommunity)
                .ok_or_else(|| format!("extended community {s}"))
        })
        .collect()
}

/// A commit's policy scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    import: Vec<IpAddr>,
    export: Vec<IpAddr>,
    policies: Vec<String>,
}

impl Scope {
    fn of(s: &PolicyScope) -> Scope {
        Scope {
            import: s.import.clone(),
            export: s.export.clone(),
            policies: s.policies.clone(),
        }
    }

    /// The scope.
    pub fn scope(&self) -> PolicyScope {
        PolicyScope {
            import: self.import.clone(),
            export: self.export.clone(),
            policies: self.policies.clone(),
        }
    }
}

impl Event {
    /// The recorded form of an input; `None` for inputs that change nothing (displays) and
    /// for a [`Input::Digest`] (recording runs send UPDATE bodies instead).
    pub fn of(m: &Input) -> Option<Event> {
        Some(match m {
            Input::PeerUp {
                session,
                info,
                ctx,
                out,
                vrf,
                ..
            } => Event::PeerUp {
                session: *session,
                addr: info.addr,
                router_id: info.router_id,
                asn: info.asn.0,
                ebgp: info.ebgp,
                rr_client: info.rr_client,
                preferred_value: info.preferred_value,
                rx: Context::of(ctx),
                out: out.as_ref().map(|o: &PeerOut| Out {
                    families: fams(&o.families),
                    tx: Context::of(&o.ctx),
                    local: o.local,
                    next_hop_invariable: fams(&o.out.next_hop_invariable),
                    next_hop_local: fams(&o.out.next_hop_local),
                    advertise_community: fams(&o.out.advertise_community),
                    advertise_ext_community: fams(&o.out.advertise_ext_community),
                    as_out: AsRec::of(&o.out.as_out),
                    default_route: o
                        .out
                        .default_route
                        .iter()
                        .map(|(f, p)| (fam(*f), p.clone()))
                        .collect(),
                    add_path: add_path_fams(&o.out.add_path),
                }),
                vrf: vrf.clone(),
            },
            Input::Update {
                peer,
                session,
                body,
            } => Event::Update {
                peer: *peer,
                session: *session,
                body: hex(body),
            },
            Input::PeerDown { peer, session } => Event::PeerDown {
                peer: *peer,
                session: *session,
            },
            Input::Settings(r) => Event::Settings {
                routing: Settings::of(r),
                scope: None,
            },
            Input::Commit { routing, scope } => Event::Settings {
                routing: Settings::of(routing),
                scope: Some(Scope::of(scope)),
            },
            Input::Resolved(r) => Event::Resolved {
                next_hops: r.next_hops.clone(),
                prefixes: r.prefixes.clone(),
                igp: r
                    .igp
                    .iter()
                    .map(|g| (g.prefix, g.protocol, g.route))
                    .collect(),
            },
            Input::Readvertise {
                peer,
                reflect_client,
                out,
            } => Event::Readvertise {
                peer: *peer,
                reflect_client: *reflect_client,
                next_hop_invariable: fams(&out.next_hop_invariable),
                next_hop_local: fams(&out.next_hop_local),
                advertise_community: fams(&out.advertise_community),
                advertise_ext_community: fams(&out.advertise_ext_community),
                as_out: AsRec::of(&out.as_out),
                default_route: out
                    .default_route
                    .iter()
                    .map(|(f, p)| (fam(*f), p.clone()))
                    .collect(),
                add_path: add_path_fams(&out.add_path),
            },
            Input::Refresh {
                peer,
                session,
                family,
                enhanced,
            } => Event::Refresh {
                peer: *peer,
                session: *session,
                family: fam(*family),
                enhanced: *enhanced,
            },
            Input::PeerRestarting {
                peer,
                session,
                families,
            } => Event::PeerRestarting {
                peer: *peer,
                session: *session,
                families: fams(families),
            },
            Input::RouteLimit { peer, family, full } => Event::RouteLimit {
                peer: *peer,
                family: fam(*family),
                full: *full,
            },
            Input::Defer(on) => Event::Defer { on: *on },
            Input::RtcWaitOver { peer, session } => Event::RtcWaitOver {
                peer: *peer,
                session: *session,
            },
            Input::Stale { peer, family } => Event::Stale {
                peer: *peer,
                family: fam(*family),
                purge: false,
            },
            Input::PurgeStale { peer, family } => Event::Stale {
                peer: *peer,
                family: fam(*family),
                purge: true,
            },
            Input::Digest { .. }
            | Input::Table { .. }
            | Input::PeerRoutes { .. }
            | Input::Keys { .. }
            | Input::Rows { .. }
            | Input::Stats { .. }
            | Input::Groups { .. }
            | Input::Metrics { .. }
            | Input::Dump { .. }
            | Input::LocRib(_) => return None,
        })
    }

    /// A peer's facts of a recorded [`Event::PeerUp`].
    pub fn peer_info(&self) -> Option<PeerInfo> {
        match self {
            Event::PeerUp {
                addr,
                router_id,
                asn,
                ebgp,
                rr_client,
                preferred_value,
                ..
            } => Some(PeerInfo {
                addr: *addr,
                router_id: *router_id,
                asn: Asn(*asn),
                ebgp: *ebgp,
                rr_client: *rr_client,
                preferred_value: *preferred_value,
            }),
            _ => None,
        }
    }
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The octets of a hex string.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Writes a recording.
pub struct Recorder {
    out: BufWriter<File>,
    failed: bool,
}

impl Recorder {
    /// Starts a recording in `path` (replaced): the engine's configuration first.
    pub fn create(
        path: &Path,
        local_as: u32,
        router_id: Ipv4Addr,
        cluster_id: Option<Ipv4Addr>,
        tracking: bool,
    ) -> io::Result<Recorder> {
        let mut r = Recorder {
            out: BufWriter::new(File::create(path)?),
            failed: false,
        };
        r.write(&Event::Start {
            local_as,
            router_id,
            cluster_id,
            tracking,
        });
        Ok(r)
    }

    fn write(&mut self, e: &Event) {
        if self.failed {
            return;
        }
        let line = serde_json::to_string(e).unwrap_or_default();
        if let Err(err) = writeln!(self.out, "{line}") {
            tracing::warn!("recording stopped: {err}");
            self.failed = true;
        }
    }

    /// Records an input about to be handled.
    pub fn input(&mut self, m: &Input) {
        if let Some(e) = Event::of(m) {
            self.write(&e);
        }
    }

    /// Records an output step that made progress.
    pub fn flushed(&mut self) {
        self.write(&Event::Flush);
    }

    /// Writes what is buffered.
    pub fn sync(&mut self) {
        if !self.failed && self.out.flush().is_err() {
            self.failed = true;
        }
    }
}

/// ADD-PATH send counts as recorded.
fn add_path_fams(v: &[(Family, u8)]) -> Vec<(Fam, u8)> {
    v.iter().map(|(f, n)| (fam(*f), *n)).collect()
}

/// ADD-PATH send counts as replayed.
pub fn add_path_counts(v: &[(Fam, u8)]) -> Vec<(Family, u8)> {
    v.iter().map(|(f, n)| (family(*f), *n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peers' filters and the filters themselves (with the AS notation they match in)
    /// survive a recording.
    #[test]
    fn settings_keep_the_peer_filters() {
        let cfg = tern_config::parse_file(
            "as-notation plain\nip as-path-filter 1 index 10 permit ^65546_\n\
             ip community-filter 1 index 10 permit 100:1\n\
             ip ip-prefix p index 10 permit 10.0.0.0 8\n#\nreturn\n",
        )
        .unwrap();
        let filters = |a: &str, p: &str| tern_policy::PeerFilters {
            as_path: Some(a.into()),
            prefix: Some(p.into()),
        };
        let r = Routing {
            policies: tern_policy::Policies::new(&cfg),
            peer_policies: vec![PeerPolicy {
                addr: "10.0.0.2".parse().unwrap(),
                family: tern_types::Family::IPV4_UNICAST,
                import: None,
                export: Some("out".into()),
                import_filters: filters("1", "p"),
                export_filters: tern_policy::PeerFilters::default(),
            }],
            ..Routing::default()
        };
        let back = Settings::of(&r).routing().unwrap();
        assert_eq!(back, r);
        assert!(back.policies.source().as_notation_plain);
        assert_eq!(back.policies.source().filters, cfg.filters);
    }
}
