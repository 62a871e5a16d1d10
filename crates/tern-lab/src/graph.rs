//! `tern lab graph`: the lab's topology in the Graphviz DOT language (docs/lab.md).
//!
//! Pure: the caller gives the plan (from the routers' files), their configurations and, when
//! the lab runs, what each ternd's `display bgp peer` says; [`Graph::dot`] writes the text.
//!
//! - **Routers** are boxes labelled with the node name, the role the configuration gives them
//!   (RR: has a `reflect-client`; PE: a VPN instance bound to an interface, or a peer in one;
//!   ASBR: a public EBGP peer on a directly connected subnet, CEs excepted; CE: only EBGP
//!   sessions, those with a router of the lab in its VPN instance; P: no BGP), the AS, the router ID
//!   (configured, or the one its peers saw in its OPEN) and the LoopBack addresses. Routers
//!   are clustered by AS; a router without BGP joins the AS of the BGP routers of its OSPF
//!   domain when they have one AS.
//! - **Links** are plain lines labelled with their subnets, the kernel interface names at the
//!   ends; a LAN (three routers or more) is a small node of its own, an interface alone on
//!   its subnet ends in a dot.
//! - **BGP sessions** are dashed edges, one per session (both routers' peer statements make
//!   one edge), coloured by the live state: Established green, Idle red, any state on the
//!   way (Connect, Active, OpenSent, OpenConfirm) orange, unknown grey (the lab is not up, or
//!   the router's ternd does not answer). The label has IBGP/EBGP, the state, the families
//!   (negotiated when Established, else configured) and both addresses. A session whose peer
//!   is a `reflect-client` is drawn from the reflector to the client, with an arrow.
//!
//! The DOT is written by a small writer here: identifiers and strings are always quoted,
//! with `\` and `"` escaped and line breaks as `\n`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::Value;
use tern_config::{AfKey, Config};

use super::topology::{LinkKind, Plan, Router};

/// One peer as a running ternd's `display bgp peer` (JSON) gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivePeer {
    /// The peer's address.
    pub addr: IpAddr,
    /// The VPN instance of a PE–CE session.
    pub vrf: Option<String>,
    /// FSM state (`Established`, `Idle`, ...).
    pub state: String,
    /// Why it is not up (the configured reason, the last error); empty when Established.
    pub why: String,
    /// Families: negotiated while Established, else configured.
    pub families: Vec<String>,
    /// The local address of the current connection.
    pub local: Option<IpAddr>,
    /// The peer's router ID (from its OPEN).
    pub peer_id: Option<Ipv4Addr>,
    /// EBGP.
    pub ebgp: bool,
    /// The peer's AS.
    pub remote_as: u64,
}

impl LivePeer {
    /// Reads one element of `display bgp peer`'s JSON array.
    pub fn from_json(p: &Value) -> Option<LivePeer> {
        let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let state = s("state");
        let negotiated = names(&p["negotiated"]["families"]);
        let families = if state == "Established" && !negotiated.is_empty() {
            negotiated
        } else {
            names(&p["configured_families"])
        };
        // The last error of an Established session is history.
        let why = if state == "Established" {
            String::new()
        } else {
            [s("reason"), s("last_error")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        };
        Some(LivePeer {
            addr: p["addr"].as_str()?.parse().ok()?,
            vrf: p["vrf"].as_str().map(str::to_owned),
            state,
            why,
            families,
            local: p["local"]
                .as_str()
                .and_then(|a| a.parse::<SocketAddr>().ok())
                .map(|a| a.ip().to_canonical()),
            peer_id: p["negotiated"]["peer_id"]
                .as_str()
                .and_then(|a| a.parse().ok()),
            ebgp: p["ebgp"].as_bool().unwrap_or_default(),
            remote_as: p["remote_as"].as_u64().unwrap_or_default(),
        })
    }
}

/// What each router's ternd said: its peers, or why there is no answer. `None` for the
/// whole lab when it is not up.
pub type Live = BTreeMap<String, Result<Vec<LivePeer>, String>>;

/// A session's state as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// The lab is not up: the session is only configured.
    Configured,
    /// The router's ternd did not answer (why).
    Unknown(String),
    /// Configured, but the running ternd has no such peer.
    NotRunning,
    /// `peer X ignore`.
    Ignored,
    /// The FSM state ternd reports, and why it is not up.
    Live(String, String),
}

impl State {
    /// Worse states sort first.
    fn rank(&self) -> u8 {
        match self {
            State::Live(s, _) if s == "Idle" => 0,
            State::Live(s, _) if s == "Established" => 3,
            State::Live(..) => 1,
            _ => 2,
        }
    }

    fn text(&self) -> String {
        match self {
            State::Configured => "configured".into(),
            State::Unknown(_) => "unknown".into(),
            State::NotRunning => "not in the running ternd".into(),
            State::Ignored => "ignore".into(),
            State::Live(s, _) => s.clone(),
        }
    }

    fn color(&self) -> &'static str {
        match self {
            State::Live(s, _) if s == "Established" => GREEN,
            State::Live(s, _) if s == "Idle" => RED,
            State::Live(..) => ORANGE,
            _ => GREY,
        }
    }
}

const GREEN: &str = "#1a9641";
const ORANGE: &str = "#f08c00";
const RED: &str = "#d7191c";
const GREY: &str = "#8c8c8c";

/// One router's side of a session: its peer statement (or a peer only the running ternd
/// has).
#[derive(Clone, Debug)]
struct End {
    node: String,
    /// The peer's address.
    addr: IpAddr,
    vrf: Option<String>,
    /// This router's address for the session: the connection's, else the configured source
    /// (`connect-interface`), else its interface on the peer's subnet.
    local: Option<IpAddr>,
    ebgp: bool,
    families: Vec<String>,
    /// Families in which the peer is this router's `reflect-client`.
    reflects: Vec<String>,
    state: State,
    peer_id: Option<Ipv4Addr>,
}

/// A BGP session: one end, or both when both routers configure it.
#[derive(Clone, Debug)]
struct Session {
    a: End,
    b: Option<End>,
    /// The router holding `a.addr`, if one of the lab's does.
    far: Option<String>,
}

/// A router as drawn.
#[derive(Clone, Debug)]
struct GNode {
    name: String,
    sysname: String,
    roles: Vec<&'static str>,
    /// AS as written, and its value (for clustering).
    asn: Option<(String, u32)>,
    router_id: Option<Ipv4Addr>,
    loopbacks: Vec<String>,
}

/// The lab as a graph.
#[derive(Clone, Debug)]
pub struct Graph {
    lab: String,
    up: bool,
    nodes: Vec<GNode>,
    plan: Plan,
    sessions: Vec<Session>,
}

/// Families a public peer is enabled in, as ternd names them (`label-route-capability` in
/// IPv4 unicast makes it labeled unicast; in IPv6 unicast, for an IPv4 peer, labeled IPv6).
fn public_families(cfg: &Config, addr: IpAddr) -> (Vec<String>, Vec<String>) {
    let Some(bgp) = &cfg.bgp else {
        return (Vec::new(), Vec::new());
    };
    let mut fams = Vec::new();
    let mut reflects = Vec::new();
    for (k, f) in bgp
        .families
        .iter()
        .filter(|(k, _)| k.vpn_instance().is_none())
    {
        let Some(p) = f.peer(addr) else { continue };
        let name = match k {
            AfKey::Ipv4Unicast if p.label_route_capability => "ipv4-labeled-unicast".to_owned(),
            // 6PE (RFC 4798): an IPv4 peer speaks labeled IPv6.
            AfKey::Ipv6Unicast if p.label_route_capability && addr.is_ipv4() => {
                "ipv6-labeled-unicast".to_owned()
            }
            _ => k.family().to_string(),
        };
        if p.enable {
            fams.push(name.clone());
        }
        if p.reflect_client {
            reflects.push(name);
        }
    }
    (fams, reflects)
}

/// Families of a VPN instance peer.
fn vrf_families(cfg: &Config, addr: IpAddr, vrf: &str) -> Vec<String> {
    cfg.bgp
        .iter()
        .flat_map(|b| b.families.iter())
        .filter(|(k, f)| k.vpn_instance() == Some(vrf) && f.vrf_peers.contains_key(&addr))
        .map(|(k, _)| k.family().to_string())
        .collect()
}

fn same_version(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// The address a router uses toward `peer` as configured: `connect-interface`, else its
/// interface on the peer's subnet (in the same routing domain).
fn configured_local(
    cfg: &Config,
    peer: &tern_config::model::Peer,
    vrf: Option<&str>,
) -> Option<IpAddr> {
    if let Some(ci) = &peer.connect_interface {
        if let Some(a) = ci.address {
            return Some(a);
        }
        if let Some(i) = ci.interface.as_ref().and_then(|n| cfg.interfaces.get(n)) {
            return i
                .addresses()
                .map(|a| a.addr())
                .find(|a| same_version(*a, peer.addr));
        }
    }
    cfg.interfaces
        .values()
        .filter(|i| i.is_enabled() && i.vpn_instance.as_deref() == vrf)
        .flat_map(|i| i.addresses().collect::<Vec<_>>())
        .find(|n| n.contains(&peer.addr))
        .map(|n| n.addr())
}

impl Graph {
    /// The graph of a lab: `routers` are the configurations the plan was made from, `live`
    /// what the running daemons say (`None`: the lab is not up).
    pub fn build(lab: &str, plan: &Plan, routers: &[Router], live: Option<&Live>) -> Graph {
        // Peer group members are drawn with what they inherit (connect-interface, families).
        let effective: Vec<Config> = routers.iter().map(|r| r.config.effective()).collect();
        let configs: BTreeMap<&str, &Config> = routers
            .iter()
            .zip(&effective)
            .map(|(r, c)| (r.name.as_str(), c))
            .collect();
        // Who holds each address.
        let mut owners: BTreeMap<IpAddr, Vec<String>> = BTreeMap::new();
        for n in &plan.nodes {
            let addrs = n
                .interfaces
                .iter()
                .flat_map(|f| f.addrs.iter())
                .chain(n.loopbacks.iter().map(|l| &l.addr));
            for a in addrs {
                owners.entry(a.addr()).or_default().push(n.name.clone());
            }
        }
        let ends = ends(plan, &configs, live);
        let sessions = pair(ends, &owners);
        let nodes = nodes(plan, &configs, &sessions);
        Graph {
            lab: lab.to_owned(),
            up: live.is_some(),
            nodes,
            plan: plan.clone(),
            sessions,
        }
    }

    /// The graph in the DOT language.
    pub fn dot(&self) -> String {
        let mut d = Dot::default();
        d.open(&format!(
            "digraph {}",
            quote(&format!("tern lab {}", self.lab))
        ));
        let legend = format!(
            "lab {}{}\nlines: links (subnets, kernel interface names); dashed: BGP sessions \
             (green Established, orange connecting, red Idle, grey unknown or configured); \
             arrow: route reflector to client",
            self.lab,
            if self.up {
                ", BGP state from the running ternds"
            } else {
                " (not up: sessions as configured)"
            }
        );
        d.stmt(
            "graph",
            &[
                ("rankdir", "LR"),
                ("fontname", "Helvetica"),
                ("fontsize", "10"),
                ("labelloc", "b"),
                ("label", &legend),
            ],
        );
        d.stmt(
            "node",
            &[
                ("shape", "box"),
                ("style", "rounded,filled"),
                ("fillcolor", "white"),
                ("fontname", "Helvetica"),
                ("fontsize", "10"),
            ],
        );
        d.stmt("edge", &[("fontname", "Helvetica"), ("fontsize", "8")]);
        // Routers, by AS.
        let asn_of = self.cluster_of();
        let mut clusters: BTreeMap<Option<u32>, Vec<&GNode>> = BTreeMap::new();
        for n in &self.nodes {
            clusters
                .entry(asn_of.get(n.name.as_str()).map(|(_, v)| *v))
                .or_default()
                .push(n);
        }
        let written: BTreeMap<u32, &str> = asn_of.values().map(|(w, v)| (*v, w.as_str())).collect();
        // Where the LAN nodes go: the members' AS when they share one.
        let mut lans: BTreeMap<Option<u32>, Vec<(String, String)>> = BTreeMap::new();
        for l in &self.plan.links {
            if let LinkKind::Bridge(s) = &l.kind {
                let ases: BTreeSet<Option<u32>> = l
                    .ends
                    .iter()
                    .map(|e| asn_of.get(e.node.as_str()).map(|(_, v)| *v))
                    .collect();
                let at = if ases.len() == 1 {
                    ases.into_iter().next().flatten()
                } else {
                    None
                };
                lans.entry(at).or_default().push((
                    format!("lan:{s}"),
                    l.subnets
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ));
            }
        }
        let keys: BTreeSet<Option<u32>> = clusters.keys().chain(lans.keys()).copied().collect();
        for k in keys {
            if let Some(asn) = k {
                d.open(&format!("subgraph {}", quote(&format!("cluster_as_{asn}"))));
                let label = format!("AS {}", written.get(&asn).copied().unwrap_or_default());
                d.stmt(
                    "graph",
                    &[
                        ("label", &label),
                        ("style", "rounded,dashed"),
                        ("color", "#5b7fa6"),
                        ("fontcolor", "#5b7fa6"),
                    ],
                );
            }
            for n in clusters.get(&k).into_iter().flatten() {
                self.node(&mut d, n, asn_of.get(n.name.as_str()));
            }
            for (id, label) in lans.get(&k).into_iter().flatten() {
                d.stmt(
                    &quote(id),
                    &[
                        ("shape", "ellipse"),
                        ("style", "filled"),
                        ("fillcolor", "#eeeeee"),
                        ("fontsize", "8"),
                        ("label", label),
                    ],
                );
            }
            if k.is_some() {
                d.close();
            }
        }
        self.links(&mut d);
        self.sessions(&mut d);
        d.close();
        d.out
    }

    /// Each router's AS for clustering: its own, else (no BGP) the one AS of the BGP routers
    /// of its OSPF domain.
    fn cluster_of(&self) -> BTreeMap<&str, (String, u32)> {
        let mut out: BTreeMap<&str, (String, u32)> = self
            .nodes
            .iter()
            .filter_map(|n| n.asn.clone().map(|a| (n.name.as_str(), a)))
            .collect();
        for n in self.nodes.iter().filter(|n| n.asn.is_none()) {
            let ases: BTreeSet<(String, u32)> = self
                .plan
                .domains
                .iter()
                .filter(|d| d.contains(&n.name))
                .flatten()
                .filter_map(|m| self.nodes.iter().find(|x| &x.name == m)?.asn.clone())
                .collect();
            if ases.len() == 1
                && let Some(a) = ases.into_iter().next()
            {
                out.insert(n.name.as_str(), a);
            }
        }
        out
    }

    fn node(&self, d: &mut Dot, n: &GNode, cluster: Option<&(String, u32)>) {
        let mut lines = vec![if n.sysname == n.name {
            n.name.clone()
        } else {
            format!("{} (sysname {})", n.name, n.sysname)
        }];
        let mut what: Vec<String> = n.roles.iter().map(|r| (*r).to_owned()).collect();
        match (&n.asn, cluster) {
            (Some((w, _)), _) => what.push(format!("AS {w}")),
            (None, Some((w, _))) => what.push(format!("in AS {w}'s IGP")),
            (None, None) => {}
        }
        if !what.is_empty() {
            lines.push(what.join(" · "));
        }
        if let Some(id) = n.router_id {
            lines.push(format!("router ID {id}"));
        }
        lines.extend(n.loopbacks.iter().cloned());
        let fill = match n.roles.first() {
            Some(&"RR") => "#fff2b3",
            Some(&"ASBR") => "#fddbc7",
            Some(&"PE") => "#d1e5f0",
            Some(&"P") => "#e6e6e6",
            _ => "white",
        };
        d.stmt(
            &quote(&n.name),
            &[("label", &lines.join("\n")), ("fillcolor", fill)],
        );
    }

    fn links(&self, d: &mut Dot) {
        for l in &self.plan.links {
            let subnets = l
                .subnets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            let ifname = |e: &super::topology::End| {
                let vpn = self
                    .plan
                    .nodes
                    .iter()
                    .find(|n| n.name == e.node)
                    .and_then(|n| n.interfaces.iter().find(|f| f.vrp == e.vrp))
                    .and_then(|f| f.vpn_instance.clone());
                match vpn {
                    Some(v) => format!("{} ({v})", e.kernel),
                    None => e.kernel.clone(),
                }
            };
            let tip = l
                .ends
                .iter()
                .map(|e| format!("{} {} ({})", e.node, e.vrp, e.kernel))
                .collect::<Vec<_>>()
                .join(" -- ");
            let base = [
                ("dir", "none"),
                ("penwidth", "2"),
                ("color", "#333333"),
                ("fontcolor", "#333333"),
            ];
            match (&l.kind, l.ends.as_slice()) {
                (LinkKind::Veth, [a, b]) => {
                    let (ta, tb) = (ifname(a), ifname(b));
                    let mut attrs = base.to_vec();
                    attrs.extend([
                        ("label", subnets.as_str()),
                        ("taillabel", ta.as_str()),
                        ("headlabel", tb.as_str()),
                        ("tooltip", tip.as_str()),
                    ]);
                    d.edge(&a.node, &b.node, &attrs);
                }
                (LinkKind::Bridge(s), ends) => {
                    for e in ends {
                        let t = ifname(e);
                        let mut attrs = base.to_vec();
                        attrs.extend([("taillabel", t.as_str()), ("tooltip", tip.as_str())]);
                        d.edge(&e.node, &format!("lan:{s}"), &attrs);
                    }
                }
                (LinkKind::Stub(k), [e]) => {
                    let id = format!("stub:{}:{k}", e.node);
                    d.stmt(
                        &quote(&id),
                        &[("shape", "point"), ("width", "0.08"), ("label", "")],
                    );
                    let t = ifname(e);
                    let mut attrs = base.to_vec();
                    attrs.extend([
                        ("label", subnets.as_str()),
                        ("taillabel", t.as_str()),
                        ("style", "dotted"),
                        ("tooltip", tip.as_str()),
                    ]);
                    d.edge(&e.node, &id, &attrs);
                }
                _ => {}
            }
        }
    }

    fn sessions(&self, d: &mut Dot) {
        for s in &self.sessions {
            let a = &s.a;
            let far = match (&s.b, &s.far) {
                (Some(b), _) => b.node.clone(),
                (None, Some(f)) => f.clone(),
                (None, None) => {
                    let id = format!("peer:{}", a.addr);
                    d.stmt(
                        &quote(&id),
                        &[
                            ("shape", "box"),
                            ("style", "dashed"),
                            ("label", &format!("{}\n(not in the lab)", a.addr)),
                        ],
                    );
                    id
                }
            };
            let states: Vec<&State> = std::iter::once(&a.state)
                .chain(s.b.as_ref().map(|b| &b.state))
                .collect();
            let worst = states
                .iter()
                .min_by_key(|x| x.rank())
                .copied()
                .unwrap_or(&a.state);
            // Prefer what the running daemons said over "unknown".
            let shown: Vec<&State> = {
                let live: Vec<&State> = states
                    .iter()
                    .copied()
                    .filter(|x| matches!(x, State::Live(..) | State::NotRunning))
                    .collect();
                if live.is_empty() {
                    states.clone()
                } else {
                    live
                }
            };
            let color_of = shown
                .iter()
                .min_by_key(|x| x.rank())
                .copied()
                .unwrap_or(worst);
            let texts: BTreeSet<String> = shown.iter().map(|x| x.text()).collect();
            let state_text = if texts.len() == 1 {
                texts.into_iter().next().unwrap_or_default()
            } else {
                // The two routers disagree: each one's view.
                std::iter::once(a)
                    .chain(s.b.as_ref())
                    .map(|e| format!("{} {}", e.node, e.state.text()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut families: Vec<String> = a.families.clone();
            if let Some(b) = &s.b {
                families.extend(b.families.iter().cloned());
            }
            families.sort();
            families.dedup();
            let vrf = a.vrf.as_ref().or(s.b.as_ref().and_then(|b| b.vrf.as_ref()));
            let fam_text = match (vrf, families.is_empty()) {
                (Some(v), _) => format!("vpn-instance {v}: {}", families.join(", ")),
                (None, true) => "no family".to_owned(),
                (None, false) => families.join(", "),
            };
            let here = a.local.or(s.b.as_ref().map(|b| b.addr));
            let addrs = format!(
                "{} - {}",
                here.map_or_else(|| "?".to_owned(), |x| x.to_string()),
                a.addr
            );
            let mut label = vec![
                format!("{} {state_text}", if a.ebgp { "EBGP" } else { "IBGP" }),
                fam_text,
                addrs,
            ];
            // Who reflects to whom.
            let a_reflects = !a.reflects.is_empty();
            let b_reflects = s.b.as_ref().is_some_and(|b| !b.reflects.is_empty());
            // `pair` put the reflector first.
            let dir = match (a_reflects, b_reflects) {
                (true, true) => "both",
                (true, false) | (false, true) => "forward",
                (false, false) => "none",
            };
            if a_reflects {
                label.push(format!(
                    "{} reflects to {far} ({})",
                    a.node,
                    a.reflects.join(", ")
                ));
            }
            if let Some(b) = s.b.as_ref().filter(|b| !b.reflects.is_empty()) {
                label.push(format!(
                    "{} reflects to {} ({})",
                    b.node,
                    a.node,
                    b.reflects.join(", ")
                ));
            }
            let why: Vec<String> = std::iter::once(a)
                .chain(s.b.as_ref())
                .filter_map(|e| match &e.state {
                    State::Live(_, w) if !w.is_empty() => Some(format!("{}: {w}", e.node)),
                    State::Unknown(w) => Some(format!("{}: {w}", e.node)),
                    _ => None,
                })
                .collect();
            let tip = if why.is_empty() {
                label.join("; ")
            } else {
                format!("{}; {}", label.join("; "), why.join("; "))
            };
            let label = label.join("\n");
            let color = color_of.color();
            let style = match (worst, dir) {
                (State::Ignored, _) => "dotted",
                (_, "none") => "dashed",
                _ => "bold,dashed",
            };
            d.edge(
                &a.node,
                &far,
                &[
                    ("label", &label),
                    ("color", color),
                    ("fontcolor", color),
                    ("style", style),
                    ("dir", dir),
                    ("arrowhead", "normal"),
                    ("arrowtail", "normal"),
                    ("constraint", "false"),
                    ("tooltip", &tip),
                ],
            );
        }
    }
}

/// Every peer statement of every router, and the peers only a running ternd has.
fn ends(plan: &Plan, configs: &BTreeMap<&str, &Config>, live: Option<&Live>) -> Vec<End> {
    let mut out = Vec::new();
    for n in &plan.nodes {
        let Some(cfg) = configs.get(n.name.as_str()) else {
            continue;
        };
        let Some(bgp) = &cfg.bgp else { continue };
        let here: Option<&Result<Vec<LivePeer>, String>> = live.and_then(|l| l.get(&n.name));
        let mut seen: BTreeSet<(IpAddr, Option<String>)> = BTreeSet::new();
        for (vrf, p) in bgp.sessions() {
            let (families, reflects) = match vrf {
                None => public_families(cfg, p.addr),
                Some(v) => (vrf_families(cfg, p.addr, v), Vec::new()),
            };
            let mut e = End {
                node: n.name.clone(),
                addr: p.addr,
                vrf: vrf.map(str::to_owned),
                local: configured_local(cfg, p, vrf),
                ebgp: !bgp.is_ibgp(p),
                families,
                reflects,
                state: State::Configured,
                peer_id: None,
            };
            seen.insert((p.addr, e.vrf.clone()));
            e.state = match here {
                None if live.is_none() => State::Configured,
                None => State::Unknown("no answer".into()),
                Some(Err(why)) => State::Unknown(why.clone()),
                Some(Ok(peers)) => {
                    match peers.iter().find(|x| x.addr == p.addr && x.vrf == e.vrf) {
                        Some(x) => {
                            apply(&mut e, x);
                            e.state.clone()
                        }
                        None => State::NotRunning,
                    }
                }
            };
            if p.ignore {
                e.state = State::Ignored;
            }
            out.push(e);
        }
        // Peers the running daemon has and the file does not (a commit since).
        if let Some(Ok(peers)) = here {
            for x in peers {
                if seen.contains(&(x.addr, x.vrf.clone())) {
                    continue;
                }
                let mut e = End {
                    node: n.name.clone(),
                    addr: x.addr,
                    vrf: x.vrf.clone(),
                    local: None,
                    ebgp: x.ebgp,
                    families: Vec::new(),
                    reflects: Vec::new(),
                    state: State::Configured,
                    peer_id: None,
                };
                apply(&mut e, x);
                out.push(e);
            }
        }
    }
    out
}

/// What the running daemon says of a peer.
fn apply(e: &mut End, x: &LivePeer) {
    e.state = State::Live(x.state.clone(), x.why.clone());
    if !x.families.is_empty() {
        e.families = x.families.clone();
    }
    if x.local.is_some() {
        e.local = x.local;
    }
    e.peer_id = x.peer_id;
}

/// Joins the two routers' ends of each session.
fn pair(ends: Vec<End>, owners: &BTreeMap<IpAddr, Vec<String>>) -> Vec<Session> {
    let owner = |e: &End| -> Option<String> {
        owners.get(&e.addr)?.iter().find(|n| **n != e.node).cloned()
    };
    let holds = |node: &str, a: IpAddr| owners.get(&a).is_some_and(|v| v.iter().any(|n| n == node));
    let mut used = vec![false; ends.len()];
    let mut out = Vec::new();
    for i in 0..ends.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let a = &ends[i];
        let far = owner(a);
        let mut best: Option<(u8, usize)> = None;
        if let Some(f) = &far {
            for (j, b) in ends.iter().enumerate() {
                if used[j]
                    || b.node != *f
                    || !holds(&a.node, b.addr)
                    || !same_version(a.addr, b.addr)
                {
                    continue;
                }
                let score = u8::from(a.local == Some(b.addr)) + u8::from(b.local == Some(a.addr));
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, j));
                }
            }
        }
        let b = best.map(|(_, j)| {
            used[j] = true;
            ends[j].clone()
        });
        // The reflector first: the edge goes from it to its client.
        out.push(match b {
            Some(b) if a.reflects.is_empty() && !b.reflects.is_empty() => Session {
                far: Some(a.node.clone()),
                a: b,
                b: Some(a.clone()),
            },
            b => Session {
                a: a.clone(),
                b,
                far,
            },
        });
    }
    out
}

/// The routers with their roles, AS, router ID and loopbacks.
fn nodes(plan: &Plan, configs: &BTreeMap<&str, &Config>, sessions: &[Session]) -> Vec<GNode> {
    // The ends at each router, with the other end when paired.
    let mut at: BTreeMap<&str, Vec<(&End, Option<&End>)>> = BTreeMap::new();
    // Router IDs the peers saw.
    let mut seen_id: BTreeMap<&str, Ipv4Addr> = BTreeMap::new();
    for s in sessions {
        at.entry(s.a.node.as_str())
            .or_default()
            .push((&s.a, s.b.as_ref()));
        if let Some(b) = &s.b {
            at.entry(b.node.as_str()).or_default().push((b, Some(&s.a)));
            if let Some(id) = s.a.peer_id {
                seen_id.insert(b.node.as_str(), id);
            }
            if let Some(id) = b.peer_id {
                seen_id.insert(s.a.node.as_str(), id);
            }
        } else if let (Some(f), Some(id)) = (&s.far, s.a.peer_id) {
            seen_id.insert(f.as_str(), id);
        }
    }
    plan.nodes
        .iter()
        .map(|n| {
            let cfg = configs.get(n.name.as_str());
            let bgp = cfg.and_then(|c| c.bgp.as_ref());
            let mine = at
                .get(n.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let connected = |a: IpAddr| {
                n.interfaces
                    .iter()
                    .filter(|f| f.vpn_instance.is_none())
                    .flat_map(|f| f.addrs.iter())
                    .any(|s| s.contains(&a))
            };
            let has_vpn = n.interfaces.iter().any(|f| {
                f.vpn_instance.as_ref().is_some_and(|v| {
                    cfg.and_then(|c| c.vpn_instances.get(v)).is_some_and(|vi| {
                        vi.ipv4.as_ref().is_some_and(|a| a.rd.is_some())
                            || vi.ipv6.as_ref().is_some_and(|a| a.rd.is_some())
                    })
                })
            });
            let pe = has_vpn || mine.iter().any(|(e, _)| e.vrf.is_some());
            let ce = bgp.is_some()
                && !pe
                && mine
                    .iter()
                    .all(|(e, o)| e.ebgp && o.is_none_or(|o| o.vrf.is_some()))
                && mine.iter().any(|(_, o)| o.is_some());
            let rr = mine.iter().any(|(e, _)| !e.reflects.is_empty());
            let asbr = !ce
                && mine.iter().any(|(e, o)| {
                    e.vrf.is_none()
                        && e.ebgp
                        && connected(e.addr)
                        && o.is_none_or(|o| o.vrf.is_none())
                });
            let mut roles = Vec::new();
            for (on, r) in [
                (rr, "RR"),
                (asbr, "ASBR"),
                (pe, "PE"),
                (ce, "CE"),
                (bgp.is_none(), "P"),
            ] {
                if on {
                    roles.push(r);
                }
            }
            GNode {
                name: n.name.clone(),
                sysname: n.sysname.clone(),
                roles,
                asn: bgp.map(|b| (b.asn.to_string(), b.asn.value.0)),
                router_id: seen_id
                    .get(n.name.as_str())
                    .copied()
                    .or(bgp.and_then(|b| b.router_id)),
                loopbacks: n
                    .loopbacks
                    .iter()
                    .map(|l| format!("{} {}", l.vrp, l.addr))
                    .collect(),
            }
        })
        .collect()
}

/// A DOT string: quoted, `\` and `"` escaped, line breaks as `\n` (so a label's lines are
/// centred, and no backslash of the text starts a Graphviz escape such as `\N`).
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '\\' => q.push_str("\\\\"),
            '"' => q.push_str("\\\""),
            '\n' => q.push_str("\\n"),
            '\r' => {}
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A small DOT writer: statements with attribute lists, nested blocks, indented.
#[derive(Default)]
struct Dot {
    out: String,
    depth: usize,
}

impl Dot {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// `head {`
    fn open(&mut self, head: &str) {
        self.indent();
        let _ = writeln!(self.out, "{head} {{");
        self.depth += 1;
    }

    /// `}`
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("}\n");
    }

    /// `what [k="v", ...];` (`what` is written as given: a keyword or a quoted ID).
    fn stmt(&mut self, what: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push_str(what);
        if !attrs.is_empty() {
            self.out.push_str(" [");
            for (i, (k, v)) in attrs.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let _ = write!(self.out, "{k}={}", quote(v));
            }
            self.out.push(']');
        }
        self.out.push_str(";\n");
    }

    /// `"a" -> "b" [...]`.
    fn edge(&mut self, a: &str, b: &str, attrs: &[(&str, &str)]) {
        self.stmt(&format!("{} -> {}", quote(a), quote(b)), attrs);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::topology::plan;

    /// RR (AS 100) reflects to PE (AS 100) between loopbacks over P, which runs no BGP; PE
    /// has a CE in AS 65001 in VPN instance `blue`.
    const RR: &str = "#
sysname Core\"RR\\1
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.1.1 255.255.255.252
#
interface LoopBack1
 ip address 9.9.9.1 255.255.255.255
#
bgp 100
 router-id 9.9.9.1
 peer 9.9.9.3 as-number 100
 peer 9.9.9.3 connect-interface LoopBack1
 #
 ipv4-family unicast
  undo peer 9.9.9.3 enable
 #
 ipv4-family vpnv4
  undo policy vpn-target
  peer 9.9.9.3 enable
  peer 9.9.9.3 reflect-client
#
ospf 1
 area 0.0.0.0
  network 9.9.9.1 0.0.0.0
  network 10.0.1.0 0.0.0.3
#
return
";

    const P: &str = "#
sysname P
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.1.2 255.255.255.252
#
interface GigabitEthernet0/2/0
 undo shutdown
 ip address 10.0.2.1 255.255.255.252
#
interface LoopBack1
 ip address 9.9.9.2 255.255.255.255
#
ospf 1
 area 0.0.0.0
  network 9.9.9.2 0.0.0.0
  network 10.0.1.0 0.0.0.3
  network 10.0.2.0 0.0.0.3
#
return
";

    const PE: &str = "#
sysname PE
#
ip vpn-instance blue
 ipv4-family
  route-distinguisher 100:1
  vpn-target 1:1 export-extcommunity
  vpn-target 1:1 import-extcommunity
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.2.2 255.255.255.252
#
interface GigabitEthernet0/2/0
 undo shutdown
 ip binding vpn-instance blue
 ip address 192.168.1.1 255.255.255.0
#
interface LoopBack1
 ip address 9.9.9.3 255.255.255.255
#
bgp 100
 peer 9.9.9.1 as-number 100
 peer 9.9.9.1 connect-interface LoopBack1
 #
 ipv4-family unicast
  undo peer 9.9.9.1 enable
 #
 ipv4-family vpnv4
  peer 9.9.9.1 enable
 #
 ipv4-family vpn-instance blue
  peer 192.168.1.2 as-number 65001
#
ospf 1
 area 0.0.0.0
  network 9.9.9.3 0.0.0.0
  network 10.0.2.0 0.0.0.3
#
return
";

    const CE: &str = "#
sysname CE
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 192.168.1.2 255.255.255.0
#
bgp 65001
 peer 192.168.1.1 as-number 100
 peer 203.0.113.9 as-number 64999
#
return
";

    fn routers() -> Vec<Router> {
        [("CE", CE), ("P", P), ("PE", PE), ("RR", RR)]
            .iter()
            .map(|(name, text)| Router {
                name: (*name).to_owned(),
                file: PathBuf::from(format!("{name}.cfg")),
                config: tern_config::parse_file(text).unwrap(),
            })
            .collect()
    }

    fn graph(live: Option<&Live>) -> String {
        let r = routers();
        let p = plan(r.clone()).unwrap();
        Graph::build("t\"1", &p, &r, live).dot()
    }

    /// The lines of a block `head {` ... `}` (not nested).
    fn block<'a>(dot: &'a str, head: &str) -> Vec<&'a str> {
        let mut lines = dot.lines().skip_while(|l| l.trim() != format!("{head} {{"));
        lines.next().expect(head);
        lines.take_while(|l| l.trim() != "}").collect()
    }

    /// The statement of the edge between two nodes, either way.
    fn edges<'a>(dot: &'a str, a: &str, b: &str) -> Vec<&'a str> {
        let (ab, ba) = (
            format!("{} -> {} [", quote(a), quote(b)),
            format!("{} -> {} [", quote(b), quote(a)),
        );
        dot.lines()
            .map(str::trim)
            .filter(|l| l.starts_with(&ab) || l.starts_with(&ba))
            .collect()
    }

    #[test]
    fn a_six_pe_peer_is_drawn_with_labeled_ipv6() {
        let cfg = tern_config::parse_file(
            "bgp 100\n peer 2.2.2.2 as-number 100\n peer 2001:db8::2 as-number 100\n \
             ipv6-family unicast\n  peer 2.2.2.2 enable\n  peer 2.2.2.2 label-route-capability\n  \
             peer 2001:db8::2 enable\n",
        )
        .unwrap();
        let (fams, _) = public_families(&cfg, "2.2.2.2".parse().unwrap());
        assert_eq!(fams, vec!["ipv4-unicast", "ipv6-labeled-unicast"]);
        let (fams, _) = public_families(&cfg, "2001:db8::2".parse().unwrap());
        assert_eq!(fams, vec!["ipv6-unicast"]);
    }

    #[test]
    fn quoting_escapes_quotes_backslashes_and_line_breaks() {
        assert_eq!(quote("PE1"), "\"PE1\"");
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("one\ntwo\r\n"), r#""one\ntwo\n""#);
        // A text ending in a backslash cannot escape the closing quote; `\N` stays text.
        assert_eq!(quote(r"x\"), r#""x\\""#);
        assert_eq!(quote(r"\N"), r#""\\N""#);
        let mut d = Dot::default();
        d.open("digraph \"g\"");
        d.stmt("\"n\"", &[("label", "say \"hi\"\nbye"), ("shape", "box")]);
        d.edge("n", "m\"", &[]);
        d.close();
        assert_eq!(
            d.out,
            "digraph \"g\" {\n  \"n\" [label=\"say \\\"hi\\\"\\nbye\", shape=\"box\"];\n  \
             \"n\" -> \"m\\\"\";\n}\n"
        );
    }

    #[test]
    fn a_lab_that_is_not_up_is_drawn_as_configured() {
        let dot = graph(None);
        assert!(dot.starts_with("digraph \"tern lab t\\\"1\" {\n"), "{dot}");
        assert!(dot.ends_with("}\n"));
        // Clusters by AS; P (no BGP) joins its OSPF domain's AS.
        let as100 = block(&dot, "subgraph \"cluster_as_100\"");
        let names = |b: &[&str]| -> Vec<String> {
            b.iter()
                .filter(|l| !l.trim().starts_with("graph "))
                .filter_map(|l| l.trim().split(" [").next().map(str::to_owned))
                .collect()
        };
        assert_eq!(names(&as100), ["\"P\"", "\"PE\"", "\"RR\""], "{dot}");
        assert!(as100[0].contains("label=\"AS 100\""), "{dot}");
        let as65001 = block(&dot, "subgraph \"cluster_as_65001\"");
        assert_eq!(names(&as65001), ["\"CE\""], "{dot}");
        // Labels: roles, AS, router ID, loopbacks; the sysname's quote and backslash escaped.
        assert!(
            dot.contains(
                "\"RR\" [label=\"RR (sysname Core\\\"RR\\\\1)\\nRR · AS 100\\nrouter ID \
                 9.9.9.1\\nLoopBack1 9.9.9.1/32\""
            ),
            "{dot}"
        );
        assert!(dot.contains("\"PE\" [label=\"PE\\nPE · AS 100\\nLoopBack1 9.9.9.3/32\""));
        assert!(dot.contains("\"P\" [label=\"P\\nP · in AS 100's IGP\\nLoopBack1 9.9.9.2/32\""));
        assert!(
            dot.contains("\"CE\" [label=\"CE\\nCE · AS 65001\""),
            "{dot}"
        );
        // Links with their subnets and kernel interface names.
        let l = edges(&dot, "RR", "P");
        assert_eq!(l.len(), 1, "{dot}");
        assert!(l[0].contains("label=\"10.0.1.0/30\"") && l[0].contains("dir=\"none\""));
        let l = edges(&dot, "CE", "PE");
        assert_eq!(l.len(), 2, "a link and a session: {dot}");
        assert!(l[0].contains("label=\"192.168.1.0/24\""));
        assert!(l[0].contains("headlabel=\"ge0-2-0 (blue)\""), "{}", l[0]);
        // Sessions: grey, configured, with families and addresses; the RR's directed to
        // its client.
        assert!(
            l[1].contains(
                "label=\"EBGP configured\\nvpn-instance blue: ipv4-unicast\\n192.168.1.2 - \
                 192.168.1.1\""
            ) && l[1].contains("color=\"#8c8c8c\"")
                && l[1].contains("dir=\"none\""),
            "{}",
            l[1]
        );
        let rr = edges(&dot, "RR", "PE");
        assert_eq!(rr.len(), 1, "{dot}");
        assert!(rr[0].starts_with("\"RR\" -> \"PE\" ["), "{}", rr[0]);
        assert!(
            rr[0].contains(
                "label=\"IBGP configured\\nvpnv4\\n9.9.9.1 - 9.9.9.3\\nRR reflects to PE \
                 (vpnv4)\""
            ) && rr[0].contains("dir=\"forward\""),
            "{}",
            rr[0]
        );
        // A peer outside the lab.
        assert!(dot.contains("\"peer:203.0.113.9\" [shape=\"box\", style=\"dashed\""));
        assert_eq!(edges(&dot, "CE", "peer:203.0.113.9").len(), 1);
    }

    fn peer(v: Value) -> LivePeer {
        LivePeer::from_json(&v).unwrap()
    }

    #[test]
    fn live_states_colour_the_sessions() {
        let mut live = Live::new();
        live.insert(
            "RR".into(),
            Ok(vec![peer(serde_json::json!({
                "addr": "9.9.9.3", "remote_as": 100, "ebgp": false, "state": "Established",
                "vrf": null, "local": "9.9.9.1:179", "configured_families": ["vpnv4"],
                "negotiated": {"peer_id": "9.9.9.3", "families": ["vpnv4"]},
            }))]),
        );
        live.insert(
            "PE".into(),
            Ok(vec![
                peer(serde_json::json!({
                    "addr": "9.9.9.1", "remote_as": 100, "ebgp": false,
                    "state": "Established", "vrf": null, "local": "9.9.9.3:40000",
                    "configured_families": ["vpnv4"],
                    "negotiated": {"peer_id": "9.9.9.1", "families": ["vpnv4"]},
                })),
                peer(serde_json::json!({
                    "addr": "192.168.1.2", "remote_as": 65001, "ebgp": true, "state": "Active",
                    "vrf": "blue", "local": null, "configured_families": ["ipv4-unicast"],
                    "negotiated": null, "last_error": "connect: Connection refused",
                })),
            ]),
        );
        live.insert("CE".into(), Err("control API: no such file".into()));
        live.insert("P".into(), Ok(Vec::new()));
        let dot = graph(Some(&live));
        assert!(dot.contains("BGP state from the running ternds"));
        let rr = edges(&dot, "RR", "PE");
        assert!(
            rr[0].starts_with("\"RR\" -> \"PE\" [label=\"IBGP Established\\nvpnv4")
                && rr[0].contains(&format!("color=\"{GREEN}\"")),
            "{}",
            rr[0]
        );
        // PE says Active, CE's daemon does not answer: PE's view, orange, and why.
        let ce = edges(&dot, "CE", "PE");
        assert!(
            ce[1].contains("label=\"EBGP Active\\n")
                && ce[1].contains(&format!("color=\"{ORANGE}\""))
                && ce[1].contains("PE: connect: Connection refused")
                && ce[1].contains("CE: control API: no such file"),
            "{}",
            ce[1]
        );
        // CE's outside peer: nobody answered for it.
        let out = edges(&dot, "CE", "peer:203.0.113.9");
        assert!(
            out[0].contains("EBGP unknown") && out[0].contains(&format!("color=\"{GREY}\"")),
            "{}",
            out[0]
        );
        // The router ID PE saw in RR's OPEN.
        assert!(dot.contains("\"PE\" [label=\"PE\\nPE · AS 100\\nrouter ID 9.9.9.3\\n"));
        // Idle is red.
        live.insert(
            "RR".into(),
            Ok(vec![peer(serde_json::json!({
                "addr": "9.9.9.3", "remote_as": 100, "ebgp": false, "state": "Idle",
                "configured_families": ["vpnv4"], "reason": "no route to 9.9.9.3",
            }))]),
        );
        live.insert("PE".into(), Ok(Vec::new()));
        let dot = graph(Some(&live));
        let rr = edges(&dot, "RR", "PE");
        assert!(
            rr[0].contains(&format!("color=\"{RED}\""))
                && rr[0].contains("IBGP RR Idle, PE not in the running ternd")
                && rr[0].contains("RR: no route to 9.9.9.3"),
            "{}",
            rr[0]
        );
    }
}
