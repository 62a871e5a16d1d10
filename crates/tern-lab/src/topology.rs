//! From the routers' configurations to the plan of a lab: nodes, links, loopback addresses
//! and the kernel routes that stand in for the IGP. Pure: nothing here touches the kernel.
//!
//! - **Nodes** are named after their files (`PE1.cfg` is node `PE1`), not after `sysname`,
//!   so two files with the same `sysname` still make two nodes.
//! - **Links**: interfaces (not LoopBack, not shut down) whose addresses share an IP subnet
//!   are joined. Two members make a veth pair, more make a bridge, one alone gets a veth
//!   whose other end stays unused in its own namespace (the subnet is still a connected
//!   route). IPv6 link-local addresses do not join interfaces.
//! - **Loopbacks**: every LoopBack interface's addresses go on the namespace's `lo`.
//! - **Kernel interface names** are short forms of the VRP names (`GigabitEthernet0/1/0` is
//!   `ge0-1-0`), at most 15 characters, derived the same way every time.
//! - **The IGP stand-in**: an interface runs OSPF when its primary IPv4 address matches a
//!   `network ADDRESS WILDCARD` statement of an `ospf` process (VRP's rule), in that
//!   statement's area; interfaces bound to a VPN instance never do. Two routers are OSPF
//!   neighbours over a link when both ends run OSPF in the same area and neither end is a
//!   `silent-interface`. A router-process advertises the subnet of every IPv4 address its
//!   statements match. Routers joined by neighbours form one domain; in a domain each router
//!   gets, for every prefix another router advertises and it does not have itself, a route
//!   through the first hop of a shortest path (by hop count) to the nearest advertiser.
//!   Ties go to the advertiser, then the neighbour, whose node name sorts first.
//! - **`import-route bgp`** in an `ospf` process: the plan lists, for each such router and
//!   process, every other router of its domain with its first hop toward it (the same
//!   shortest paths); the BGP routes themselves are known only while the lab runs, and
//!   [`super::igp`] redistributes them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net};
use tern_config::Config;

/// A router as read from its file.
#[derive(Clone, Debug)]
pub struct Router {
    /// The node name (see [`node_name`]).
    pub name: String,
    /// The configuration file.
    pub file: PathBuf,
    /// Its parsed configuration.
    pub config: Config,
}

/// What a lab is made of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// One per router, sorted by name.
    pub nodes: Vec<Node>,
    /// The links between them.
    pub links: Vec<Link>,
    /// The OSPF domains: node names of routers that reach each other through the IGP
    /// stand-in (only domains of two routers or more).
    pub domains: Vec<Vec<String>>,
    /// What the lab does not emulate, said once.
    pub notes: Vec<String>,
    /// Routers whose `ospf` process has `import-route bgp`, with where the routes go.
    pub import_bgp: Vec<ImportBgp>,
}

/// An `ospf` process with `import-route bgp`: the BGP routes in its router's kernel are
/// redistributed into the process's domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportBgp {
    /// The redistributing router.
    pub node: String,
    /// Its OSPF process.
    pub process: u32,
    /// Every other router of the domain, nearest first (then by name).
    pub targets: Vec<ImportTarget>,
}

/// A router that receives what an `import-route bgp` router redistributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportTarget {
    /// Node name.
    pub node: String,
    /// The first hop toward the redistributing router (its address on the link).
    pub via: Ipv4Addr,
    /// The local kernel interface toward it.
    pub dev: String,
    /// Hops to the redistributing router.
    pub hops: u32,
    /// The prefixes it holds itself or from the IGP stand-in: an external route does not
    /// replace those (connected and intra-area routes are preferred to it).
    pub holds: Vec<Ipv4Net>,
}

/// One router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// `sysname` from the file.
    pub sysname: String,
    /// The configuration file.
    pub file: PathBuf,
    /// Interfaces that become kernel interfaces.
    pub interfaces: Vec<Iface>,
    /// Addresses of the LoopBack interfaces (they go on `lo`).
    pub loopbacks: Vec<Loopback>,
    /// Routes standing in for the IGP.
    pub routes: Vec<IgpRoute>,
}

/// An interface that becomes a kernel interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    /// The VRP name (`GigabitEthernet0/1/0`).
    pub vrp: String,
    /// The kernel name (`ge0-1-0`).
    pub kernel: String,
    /// Its addresses.
    pub addrs: Vec<IpNet>,
    /// `ip binding vpn-instance`.
    pub vpn_instance: Option<String>,
    /// The OSPF process and area it runs in.
    pub ospf: Option<(u32, Ipv4Addr)>,
}

/// An address of a LoopBack interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loopback {
    /// The VRP name (`LoopBack1`).
    pub vrp: String,
    /// The address.
    pub addr: IpNet,
    /// `ip binding vpn-instance`.
    pub vpn_instance: Option<String>,
}

/// A link: the interfaces that share a subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// How it is made.
    pub kind: LinkKind,
    /// The shared subnets.
    pub subnets: Vec<IpNet>,
    /// The member interfaces.
    pub ends: Vec<End>,
}

/// How a link is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// Two members: a veth pair.
    Veth,
    /// More: a bridge in a namespace of its own (named by this suffix), a veth to each member.
    Bridge(String),
    /// One member: a veth whose other end (this kernel name) stays in the member's namespace.
    Stub(String),
}

/// A member of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    /// Node name.
    pub node: String,
    /// VRP interface name.
    pub vrp: String,
    /// Kernel interface name.
    pub kernel: String,
    /// The interface's addresses.
    pub addrs: Vec<IpNet>,
}

/// A kernel route standing in for the IGP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgpRoute {
    /// The advertised prefix.
    pub prefix: Ipv4Net,
    /// The first hop's address on the link.
    pub via: Ipv4Addr,
    /// The local kernel interface toward it.
    pub dev: String,
    /// The router that advertises the prefix.
    pub from: String,
    /// Hops to it.
    pub hops: u32,
}

impl fmt::Display for IgpRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} via {} dev {} ({}, {} hop{})",
            self.prefix,
            self.via,
            self.dev,
            self.from,
            self.hops,
            if self.hops == 1 { "" } else { "s" }
        )
    }
}

/// A configuration the lab cannot be built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// A node name from a file name's stem: letters, digits and `_` (anything else becomes `_`).
pub fn node_name(stem: &str) -> String {
    stem.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Linux interface names are at most 15 bytes.
pub const IFNAMSIZ: usize = 15;

/// The kernel name of a VRP interface: a short type (`ge`, `xge`, `eth`, `100ge`, `trunk`,
/// ...) and the number with `/` and `:` as `-` (`GigabitEthernet0/1/0.100` is
/// `ge0-1-0.100`). A name that would still be too long keeps its start and ends with a hash
/// of the VRP name.
pub fn kernel_name(vrp: &str) -> String {
    // The number starts after the last letter or '-'.
    let split = vrp
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphabetic() || *c == '-')
        .map(|(i, c)| i + c.len_utf8())
        .next_back()
        .unwrap_or(0);
    let (ty, num) = vrp.split_at(split);
    let ty = ty.to_ascii_lowercase();
    let short = match ty.as_str() {
        "gigabitethernet" | "ge" => "ge".to_owned(),
        "xgigabitethernet" | "xge" => "xge".to_owned(),
        "ethernet" | "eth" => "eth".to_owned(),
        "eth-trunk" => "trunk".to_owned(),
        "virtual-ethernet" => "ve".to_owned(),
        "vlanif" => "vlanif".to_owned(),
        "tunnel" => "tun".to_owned(),
        "serial" => "ser".to_owned(),
        "loopback" => "lo".to_owned(),
        t => t
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(6)
            .collect(),
    };
    let num: String = num
        .chars()
        .map(|c| match c {
            '/' | ':' => '-',
            c if c.is_ascii_alphanumeric() || c == '.' => c,
            _ => '_',
        })
        .collect();
    let name = format!("{short}{num}");
    if name.len() <= IFNAMSIZ {
        return name;
    }
    let hash = vrp.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{}-{:04x}", &name[..IFNAMSIZ - 5], hash & 0xffff)
}

/// Builds the plan.
pub fn plan(mut routers: Vec<Router>) -> Result<Plan, PlanError> {
    if routers.is_empty() {
        return Err(PlanError("no routers (no .cfg files)".into()));
    }
    routers.sort_by(|a, b| a.name.cmp(&b.name));
    for w in routers.windows(2) {
        if let [a, b] = w
            && a.name == b.name
        {
            return Err(PlanError(format!(
                "two files make node {}: {} and {}",
                a.name,
                a.file.display(),
                b.file.display()
            )));
        }
    }
    let mut out = Plan::default();
    let mut ospf = Vec::new();
    for r in &routers {
        let (node, o) = node(r, &mut out.notes)?;
        out.nodes.push(node);
        ospf.push(o);
    }
    out.links = links(&out.nodes, &mut out.notes)?;
    igp(&mut out, &ospf);
    Ok(out)
}

/// A router's `ospf` statements, from the lines tern-config keeps verbatim.
#[derive(Clone, Debug, Default)]
struct Ospf {
    /// `network ADDRESS WILDCARD`: process, area, address, wildcard.
    networks: Vec<(u32, Ipv4Addr, Ipv4Addr, Ipv4Addr)>,
    /// `silent-interface IF`: canonical interface names.
    silent: BTreeSet<String>,
    /// Processes with `import-route bgp`.
    import_bgp: BTreeSet<u32>,
}

fn ospf_of(r: &Router, notes: &mut Vec<String>) -> Ospf {
    let mut o = Ospf::default();
    for k in &r.config.kept {
        let Some(header) = k.path.first() else {
            continue;
        };
        let mut words = header.split_whitespace();
        if words.next() != Some("ospf") {
            continue;
        }
        let process = words.next().and_then(|w| w.parse().ok()).unwrap_or(1);
        let text: Vec<&str> = k.text.split_whitespace().collect();
        match (k.path.get(1), text.as_slice()) {
            (Some(area), ["network", addr, wild]) => {
                let area = area.strip_prefix("area ").and_then(area_id);
                if let (Some(area), Ok(addr), Ok(wild)) = (area, addr.parse(), wild.parse()) {
                    o.networks.push((process, area, addr, wild));
                }
            }
            (None, ["silent-interface", ifname]) => {
                if let Some(n) = tern_config::value::canonical_ifname(ifname) {
                    o.silent.insert(n);
                }
            }
            (None, ["import-route", "bgp", rest @ ..]) => {
                o.import_bgp.insert(process);
                if !rest.is_empty() {
                    notes.push(format!(
                        "{}: `ospf {process}` `import-route bgp`: `{}` is not applied (every \
                         BGP route in its kernel is redistributed)",
                        r.name,
                        rest.join(" ")
                    ));
                }
            }
            (None, ["import-route", proto, ..]) => notes.push(format!(
                "{}: `ospf {process}` `import-route {proto}` is not emulated (the IGP stand-in \
                 carries only what `network` statements cover)",
                r.name
            )),
            _ => {}
        }
    }
    o
}

/// An OSPF area ID, dotted or a number.
fn area_id(s: &str) -> Option<Ipv4Addr> {
    s.parse()
        .ok()
        .or_else(|| s.parse::<u32>().ok().map(Ipv4Addr::from))
}

/// VRP's `network` match: the address equals the statement's outside the wildcard bits.
fn matches(addr: Ipv4Addr, net: Ipv4Addr, wild: Ipv4Addr) -> bool {
    let care = !u32::from(wild);
    u32::from(addr) & care == u32::from(net) & care
}

fn is_loopback(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("loopback")
}

fn node(r: &Router, notes: &mut Vec<String>) -> Result<(Node, Ospf), PlanError> {
    let cfg = &r.config;
    if cfg.sysname != r.name {
        notes.push(format!(
            "{}: sysname is {} (the node is named after its file)",
            r.name, cfg.sysname
        ));
    }
    let ospf = ospf_of(r, notes);
    let mut n = Node {
        name: r.name.clone(),
        sysname: cfg.sysname.clone(),
        file: r.file.clone(),
        interfaces: Vec::new(),
        loopbacks: Vec::new(),
        routes: Vec::new(),
    };
    let mut used: BTreeMap<String, String> = BTreeMap::new();
    for i in cfg.interfaces.values() {
        let addrs: Vec<IpNet> = i.addresses().collect();
        if addrs.is_empty() {
            continue;
        }
        if !i.is_enabled() {
            notes.push(format!("{}: {} is shut down (not created)", r.name, i.name));
            continue;
        }
        if is_loopback(&i.name) {
            n.loopbacks.extend(addrs.into_iter().map(|addr| Loopback {
                vrp: i.name.clone(),
                addr,
                vpn_instance: i.vpn_instance.clone(),
            }));
            continue;
        }
        let kernel = kernel_name(&i.name);
        if let Some(other) = used.insert(kernel.clone(), i.name.clone()) {
            return Err(PlanError(format!(
                "{}: {} and {other} both make kernel interface {kernel}",
                r.name, i.name
            )));
        }
        let ospf_area = match (&i.vpn_instance, i.ipv4.first()) {
            (None, Some(primary)) => ospf
                .networks
                .iter()
                .find(|(_, _, a, w)| matches(primary.addr(), *a, *w))
                .map(|(p, area, _, _)| (*p, *area)),
            _ => None,
        };
        n.interfaces.push(Iface {
            vrp: i.name.clone(),
            kernel,
            addrs,
            vpn_instance: i.vpn_instance.clone(),
            ospf: ospf_area,
        });
    }
    Ok((n, ospf))
}

/// Subnets that join interfaces (IPv6 link-local ones do not).
fn joining(addrs: &[IpNet]) -> impl Iterator<Item = IpNet> + '_ {
    addrs
        .iter()
        .filter(|a| match a.addr() {
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            IpAddr::V4(_) => true,
        })
        .map(IpNet::trunc)
}

fn links(nodes: &[Node], notes: &mut Vec<String>) -> Result<Vec<Link>, PlanError> {
    // Interfaces as (node, interface) indexes; union-find over shared subnets.
    let members: Vec<(usize, usize)> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, node)| (0..node.interfaces.len()).map(move |i| (n, i)))
        .collect();
    let mut parent: Vec<usize> = (0..members.len()).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut by_subnet: BTreeMap<IpNet, usize> = BTreeMap::new();
    for (m, &(n, i)) in members.iter().enumerate() {
        for s in joining(&nodes[n].interfaces[i].addrs) {
            match by_subnet.get(&s) {
                Some(&first) => {
                    let (a, b) = (root(&mut parent, first), root(&mut parent, m));
                    parent[b.max(a)] = a.min(b);
                }
                None => {
                    by_subnet.insert(s, m);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for m in 0..members.len() {
        let r = root(&mut parent, m);
        groups.entry(r).or_default().push(m);
    }
    let mut out = Vec::new();
    let mut lans = 0;
    let mut stubs: BTreeMap<usize, usize> = BTreeMap::new();
    for ms in groups.values() {
        let ends: Vec<End> = ms
            .iter()
            .map(|&m| {
                let (n, i) = members[m];
                let f = &nodes[n].interfaces[i];
                End {
                    node: nodes[n].name.clone(),
                    vrp: f.vrp.clone(),
                    kernel: f.kernel.clone(),
                    addrs: f.addrs.clone(),
                }
            })
            .collect();
        let mut subnets: Vec<IpNet> = ends.iter().flat_map(|e| joining(&e.addrs)).collect();
        subnets.sort();
        subnets.dedup();
        for w in ends.windows(2) {
            if let [a, b] = w
                && a.node == b.node
            {
                return Err(PlanError(format!(
                    "{}: {} and {} share a subnet",
                    a.node, a.vrp, b.vrp
                )));
            }
        }
        let mut seen = BTreeMap::new();
        for e in &ends {
            for a in &e.addrs {
                if let Some(other) = seen.insert(a.addr(), e) {
                    return Err(PlanError(format!(
                        "{} is configured on {} {} and on {} {}",
                        a.addr(),
                        other.node,
                        other.vrp,
                        e.node,
                        e.vrp
                    )));
                }
            }
        }
        let kind = match ends.len() {
            1 => {
                let (n, _) = members[ms[0]];
                let k = stubs.entry(n).or_insert(0);
                *k += 1;
                notes.push(format!(
                    "{} {}: no other router on {} (its veth leads nowhere)",
                    ends[0].node,
                    ends[0].vrp,
                    list(&subnets)
                ));
                LinkKind::Stub(format!("stub{k}"))
            }
            2 => LinkKind::Veth,
            _ => {
                lans += 1;
                LinkKind::Bridge(format!("lan.{lans}"))
            }
        };
        out.push(Link {
            kind,
            subnets,
            ends,
        });
    }
    Ok(out)
}

fn list<T: fmt::Display>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
}

/// The IGP stand-in: OSPF neighbours, domains and each node's routes.
fn igp(plan: &mut Plan, ospf: &[Ospf]) {
    // Vertices: (node index, OSPF process).
    type V = (usize, u32);
    let index: BTreeMap<&str, usize> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let iface = |node: &str, vrp: &str| -> Option<(usize, &Iface)> {
        let n = *index.get(node)?;
        plan.nodes[n]
            .interfaces
            .iter()
            .find(|f| f.vrp == vrp)
            .map(|f| (n, f))
    };
    // Edges: neighbour vertex, the neighbour's address on the link, the local kernel name.
    let mut edges: BTreeMap<V, Vec<(V, Ipv4Addr, String)>> = BTreeMap::new();
    for l in &plan.links {
        for a in &l.ends {
            for b in &l.ends {
                if a == b {
                    continue;
                }
                let (Some((na, fa)), Some((nb, fb))) =
                    (iface(&a.node, &a.vrp), iface(&b.node, &b.vrp))
                else {
                    continue;
                };
                let (Some((pa, area_a)), Some((pb, area_b))) = (fa.ospf, fb.ospf) else {
                    continue;
                };
                if area_a != area_b
                    || ospf[na].silent.contains(&fa.vrp)
                    || ospf[nb].silent.contains(&fb.vrp)
                {
                    continue;
                }
                // The neighbour's address on the subnet both primaries share.
                let Some(via) = fb.addrs.iter().find_map(|x| match (x, fa.addrs.first()) {
                    (IpNet::V4(v4), Some(IpNet::V4(mine))) if v4.trunc() == mine.trunc() => {
                        Some(v4.addr())
                    }
                    _ => None,
                }) else {
                    continue;
                };
                edges
                    .entry((na, pa))
                    .or_default()
                    .push(((nb, pb), via, fa.kernel.clone()));
            }
        }
    }
    for v in edges.values_mut() {
        v.sort_by(|x, y| (&plan.nodes[x.0.0].name, x.0.1).cmp(&(&plan.nodes[y.0.0].name, y.0.1)));
    }
    // What each vertex advertises.
    let mut adverts: BTreeMap<V, BTreeSet<Ipv4Net>> = BTreeMap::new();
    for (n, o) in ospf.iter().enumerate() {
        for (vpn, a) in v4_addrs(&plan.nodes[n]) {
            if vpn {
                continue;
            }
            if let Some((p, _, _, _)) = o
                .networks
                .iter()
                .find(|(_, _, net, w)| matches(a.addr(), *net, *w))
            {
                adverts.entry((n, *p)).or_default().insert(a.trunc());
            }
        }
    }
    // Domains: connected vertices.
    let mut seen: BTreeSet<V> = BTreeSet::new();
    let mut vertices: Vec<V> = adverts.keys().chain(edges.keys()).copied().collect();
    vertices.sort();
    vertices.dedup();
    for &v in &vertices {
        if seen.contains(&v) {
            continue;
        }
        let mut comp = vec![v];
        seen.insert(v);
        let mut q = VecDeque::from([v]);
        while let Some(x) = q.pop_front() {
            for (y, _, _) in edges.get(&x).into_iter().flatten() {
                if seen.insert(*y) {
                    comp.push(*y);
                    q.push_back(*y);
                }
            }
        }
        let mut names: Vec<String> = comp
            .iter()
            .map(|(n, _)| plan.nodes[*n].name.clone())
            .collect();
        names.sort();
        names.dedup();
        if names.len() > 1 {
            plan.domains.push(names);
        }
    }
    // Shortest paths from each vertex; routes to what the others advertise.
    let mut routes: Vec<Vec<IgpRoute>> = vec![Vec::new(); plan.nodes.len()];
    // `import-route bgp` vertices: (node, first hop, local kernel interface, hops) of each
    // vertex that reaches them.
    let mut towards: BTreeMap<V, Vec<(usize, Ipv4Addr, String, u32)>> = BTreeMap::new();
    for &src in &vertices {
        // Distance and first hop of every vertex reachable from src.
        let mut first: BTreeMap<V, (u32, Option<(Ipv4Addr, String)>)> = BTreeMap::new();
        first.insert(src, (0, None));
        let mut q = VecDeque::from([src]);
        while let Some(x) = q.pop_front() {
            let (d, hop) = first[&x].clone();
            for (y, via, dev) in edges.get(&x).into_iter().flatten() {
                if first.contains_key(y) {
                    continue;
                }
                let h = hop.clone().unwrap_or_else(|| (*via, dev.clone()));
                first.insert(*y, (d + 1, Some(h)));
                q.push_back(*y);
            }
        }
        let own: BTreeSet<Ipv4Net> = connected_v4(&plan.nodes[src.0]);
        let mut best: BTreeMap<Ipv4Net, IgpRoute> = BTreeMap::new();
        for (v, (d, hop)) in &first {
            let Some((via, dev)) = hop else { continue };
            if v.0 == src.0 {
                continue;
            }
            if ospf[v.0].import_bgp.contains(&v.1) {
                towards
                    .entry(*v)
                    .or_default()
                    .push((src.0, *via, dev.clone(), *d));
            }
            for p in adverts.get(v).into_iter().flatten() {
                if own.contains(p) {
                    continue;
                }
                let cand = IgpRoute {
                    prefix: *p,
                    via: *via,
                    dev: dev.clone(),
                    from: plan.nodes[v.0].name.clone(),
                    hops: *d,
                };
                let better = best
                    .get(p)
                    .is_none_or(|b| (cand.hops, &cand.from) < (b.hops, &b.from));
                if better {
                    best.insert(*p, cand);
                }
            }
        }
        routes[src.0].extend(best.into_values());
    }
    for (n, mut r) in routes.into_iter().enumerate() {
        // A router with several processes: the nearest advertiser over all of them.
        r.sort_by(|a, b| (a.prefix, a.hops, &a.from).cmp(&(b.prefix, b.hops, &b.from)));
        r.dedup_by(|a, b| a.prefix == b.prefix);
        plan.nodes[n].routes = r;
    }
    for (n, o) in ospf.iter().enumerate() {
        for &p in &o.import_bgp {
            let mut ts = towards.remove(&(n, p)).unwrap_or_default();
            // A router with several processes in the domain: its nearest one.
            ts.sort_by(|a, b| {
                (a.3, &plan.nodes[a.0].name, a.1).cmp(&(b.3, &plan.nodes[b.0].name, b.1))
            });
            ts.dedup_by(|a, b| a.0 == b.0);
            let targets = ts
                .into_iter()
                .map(|(t, via, dev, hops)| {
                    let node = &plan.nodes[t];
                    let mut holds: BTreeSet<Ipv4Net> = connected_v4(node);
                    holds.extend(node.routes.iter().map(|r| r.prefix));
                    ImportTarget {
                        node: node.name.clone(),
                        via,
                        dev,
                        hops,
                        holds: holds.into_iter().collect(),
                    }
                })
                .collect();
            plan.import_bgp.push(ImportBgp {
                node: plan.nodes[n].name.clone(),
                process: p,
                targets,
            });
        }
    }
}

/// A node's IPv4 addresses (interfaces and loopbacks), each with whether its interface is
/// bound to a VPN instance.
fn v4_addrs(node: &Node) -> Vec<(bool, Ipv4Net)> {
    let v4 = |a: &IpNet| match a {
        IpNet::V4(v) => Some(*v),
        IpNet::V6(_) => None,
    };
    node.interfaces
        .iter()
        .flat_map(|f| {
            f.addrs
                .iter()
                .filter_map(v4)
                .map(|a| (f.vpn_instance.is_some(), a))
        })
        .chain(
            node.loopbacks
                .iter()
                .filter_map(|l| v4(&l.addr).map(|a| (l.vpn_instance.is_some(), a))),
        )
        .collect()
}

/// Every IPv4 subnet a node has itself (of any VPN instance too: the lab has one routing
/// table per router).
fn connected_v4(node: &Node) -> BTreeSet<Ipv4Net> {
    v4_addrs(node).into_iter().map(|(_, a)| a.trunc()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Plan {
        let dir = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/huawei"
        ))
        .join(name);
        plan(crate::read_routers(&dir).unwrap()).unwrap()
    }

    fn from_text(files: &[(&str, &str)]) -> Result<Plan, PlanError> {
        plan(
            files
                .iter()
                .map(|(name, text)| Router {
                    name: (*name).to_owned(),
                    file: PathBuf::from(format!("{name}.cfg")),
                    config: tern_config::parse_file(text).unwrap(),
                })
                .collect(),
        )
    }

    /// Links as `A IF -- B IF subnets` lines, sorted.
    fn links(p: &Plan) -> Vec<String> {
        let mut v: Vec<String> = p
            .links
            .iter()
            .map(|l| {
                let ends: Vec<String> = l
                    .ends
                    .iter()
                    .map(|e| format!("{} {}", e.node, e.vrp))
                    .collect();
                let subnets: Vec<String> = l.subnets.iter().map(ToString::to_string).collect();
                format!("{} {}", ends.join(" -- "), subnets.join(" "))
            })
            .collect();
        v.sort();
        v
    }

    fn node<'a>(p: &'a Plan, name: &str) -> &'a Node {
        p.nodes.iter().find(|n| n.name == name).unwrap()
    }

    /// A node's routes as `prefix via dev (from, hops)` lines.
    fn routes(p: &Plan, name: &str) -> Vec<String> {
        node(p, name)
            .routes
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn loopbacks(p: &Plan, name: &str) -> Vec<String> {
        node(p, name)
            .loopbacks
            .iter()
            .map(|l| l.addr.to_string())
            .collect()
    }

    /// The `import-route bgp` routers and their targets, a line per target.
    fn imports(p: &Plan) -> Vec<String> {
        p.import_bgp
            .iter()
            .flat_map(|i| {
                i.targets.iter().map(move |t| {
                    format!(
                        "{} ospf {} -> {} via {} dev {} ({} hop{}) holds {}",
                        i.node,
                        i.process,
                        t.node,
                        t.via,
                        t.dev,
                        t.hops,
                        if t.hops == 1 { "" } else { "s" },
                        list(&t.holds).replace(',', "")
                    )
                })
            })
            .collect()
    }

    fn kernel(p: &Plan, name: &str, vrp: &str) -> String {
        node(p, name)
            .interfaces
            .iter()
            .find(|f| f.vrp == vrp)
            .unwrap()
            .kernel
            .clone()
    }

    const GE1: &str = "GigabitEthernet0/1/0";
    const GE2: &str = "GigabitEthernet0/2/0";

    /// The option C layout every example but option B shares: CE1–PE1–ASBR1–ASBR2–PE2–CE2,
    /// the PE–ASBR links in OSPF, the ASBR–ASBR and PE–CE links not.
    fn option_c(
        p: &Plan,
        pe1_asbr1: &str,
        asbr: &str,
        asbr2_pe2: &str,
        ce: (&str, &str),
        pe2_ifs: (&str, &str),
    ) {
        let (pe2_up, pe2_ce) = pe2_ifs;
        let mut want = vec![
            format!("ASBR1 {GE1} -- PE1 {GE1} {pe1_asbr1}"),
            format!("ASBR1 {GE2} -- ASBR2 {GE2} {asbr}"),
            format!("ASBR2 {GE1} -- PE2 {pe2_up} {asbr2_pe2}"),
            format!("CE1 {GE1} -- PE1 {GE2} {}", ce.0),
            format!("CE2 {GE1} -- PE2 {pe2_ce} {}", ce.1),
        ];
        want.sort();
        assert_eq!(links(p), want);
        assert!(p.links.iter().all(|l| l.kind == LinkKind::Veth));
        assert_eq!(loopbacks(p, "PE1"), ["1.1.1.9/32"]);
        assert_eq!(loopbacks(p, "ASBR1"), ["2.2.2.9/32"]);
        assert_eq!(loopbacks(p, "ASBR2"), ["3.3.3.9/32"]);
        assert_eq!(loopbacks(p, "PE2"), ["4.4.4.9/32"]);
        assert!(loopbacks(p, "CE1").is_empty());
        assert_eq!(p.domains, [vec!["ASBR1", "PE1"], vec!["ASBR2", "PE2"]]);
        // The PE–CE interface is bound to vpn1 and never in the IGP.
        let pe1_ce = node(p, "PE1")
            .interfaces
            .iter()
            .find(|f| f.vrp == GE2)
            .unwrap();
        assert_eq!(pe1_ce.vpn_instance.as_deref(), Some("vpn1"));
        assert_eq!(pe1_ce.ospf, None);
        // The CEs run no OSPF: no routes, in no domain.
        assert!(routes(p, "CE1").is_empty());
        assert!(routes(p, "CE2").is_empty());
        assert_eq!(kernel(p, "PE1", GE1), "ge0-1-0");
        assert_eq!(kernel(p, "PE1", GE2), "ge0-2-0");
    }

    #[test]
    fn ipv6_option_c_s1() {
        let p = example("ipv6-option-c-s1");
        option_c(
            &p,
            "10.10.1.0/24",
            "10.21.1.0/24",
            "10.40.1.0/24",
            ("2001:db8:1::/64", "2001:db8:2::/64"),
            (GE1, GE2),
        );
        // Each AS's loopbacks reach each other through the stand-in, nothing crosses ASes.
        assert_eq!(
            routes(&p, "PE1"),
            ["2.2.2.9/32 via 10.10.1.1 dev ge0-1-0 (ASBR1, 1 hop)"]
        );
        assert_eq!(
            routes(&p, "ASBR1"),
            ["1.1.1.9/32 via 10.10.1.2 dev ge0-1-0 (PE1, 1 hop)"]
        );
        assert_eq!(
            routes(&p, "ASBR2"),
            ["4.4.4.9/32 via 10.40.1.2 dev ge0-1-0 (PE2, 1 hop)"]
        );
        assert_eq!(
            routes(&p, "PE2"),
            ["3.3.3.9/32 via 10.40.1.1 dev ge0-1-0 (ASBR2, 1 hop)"]
        );
        assert_eq!(
            node(&p, "ASBR1").interfaces[0].ospf,
            Some((1, Ipv4Addr::UNSPECIFIED))
        );
        // The ASBR–ASBR interface is in no network statement.
        assert_eq!(node(&p, "ASBR1").interfaces[1].ospf, None);
        assert!(p.notes.is_empty(), "{:?}", p.notes);
    }

    #[test]
    fn ipv6_option_c_s2() {
        let p = example("ipv6-option-c-s2");
        // PE2's interfaces are the other way round in this example.
        option_c(
            &p,
            "172.16.1.0/24",
            "192.168.1.0/24",
            "10.162.1.0/24",
            ("2001:db8:1::/64", "2001:db8:2::/64"),
            (GE2, GE1),
        );
        assert_eq!(
            routes(&p, "PE1"),
            ["2.2.2.9/32 via 172.16.1.1 dev ge0-1-0 (ASBR1, 1 hop)"]
        );
        assert_eq!(
            routes(&p, "PE2"),
            ["3.3.3.9/32 via 10.162.1.1 dev ge0-2-0 (ASBR2, 1 hop)"]
        );
        assert_eq!(
            routes(&p, "ASBR2"),
            ["4.4.4.9/32 via 10.162.1.2 dev ge0-1-0 (PE2, 1 hop)"]
        );
        // The ASBRs' `import-route bgp`: each one's PE gets what it redistributes, through
        // the PE–ASBR link; the PE's own subnets and stand-in routes are not overridden.
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        assert_eq!(
            imports(&p),
            [
                "ASBR1 ospf 1 -> PE1 via 172.16.1.1 dev ge0-1-0 (1 hop) holds 1.1.1.9/32 \
                 2.2.2.9/32 172.16.1.0/24",
                "ASBR2 ospf 1 -> PE2 via 10.162.1.1 dev ge0-2-0 (1 hop) holds 3.3.3.9/32 \
                 4.4.4.9/32 10.162.1.0/24",
            ]
        );
    }

    #[test]
    fn ipv4_option_c_s1() {
        let p = example("ipv4-option-c-s1");
        option_c(
            &p,
            "10.10.1.0/24",
            "10.21.1.0/24",
            "10.40.1.0/24",
            ("10.1.1.0/24", "10.2.1.0/24"),
            (GE1, GE2),
        );
        assert_eq!(
            routes(&p, "PE1"),
            ["2.2.2.9/32 via 10.10.1.1 dev ge0-1-0 (ASBR1, 1 hop)"]
        );
        assert_eq!(
            routes(&p, "PE2"),
            ["3.3.3.9/32 via 10.40.1.1 dev ge0-1-0 (ASBR2, 1 hop)"]
        );
    }

    #[test]
    fn ipv4_option_c_s2() {
        let p = example("ipv4-option-c-s2");
        option_c(
            &p,
            "172.16.1.0/24",
            "192.168.1.0/24",
            "10.162.1.0/24",
            ("10.1.1.0/24", "10.2.1.0/24"),
            (GE1, GE2),
        );
        assert_eq!(
            routes(&p, "ASBR1"),
            ["1.1.1.9/32 via 172.16.1.2 dev ge0-1-0 (PE1, 1 hop)"]
        );
        assert_eq!(
            routes(&p, "PE2"),
            ["3.3.3.9/32 via 10.162.1.1 dev ge0-1-0 (ASBR2, 1 hop)"]
        );
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        assert_eq!(
            imports(&p),
            [
                "ASBR1 ospf 1 -> PE1 via 172.16.1.1 dev ge0-1-0 (1 hop) holds 1.1.1.9/32 \
                 2.2.2.9/32 10.1.1.0/24 172.16.1.0/24",
                "ASBR2 ospf 1 -> PE2 via 10.162.1.1 dev ge0-1-0 (1 hop) holds 3.3.3.9/32 \
                 4.4.4.9/32 10.2.1.0/24 10.162.1.0/24",
            ]
        );
    }

    #[test]
    fn ipv4_option_c_lu_s1() {
        let p = example("ipv4-option-c-lu-s1");
        option_c(
            &p,
            "10.10.1.0/24",
            "10.21.1.0/24",
            "10.40.1.0/24",
            ("10.1.1.0/24", "10.2.1.0/24"),
            (GE1, GE2),
        );
        assert_eq!(
            routes(&p, "ASBR2"),
            ["4.4.4.9/32 via 10.40.1.2 dev ge0-1-0 (PE2, 1 hop)"]
        );
    }

    #[test]
    fn ipv4_option_b_rr() {
        let p = example("ipv4-option-b-rr");
        let mut want = vec![
            format!("ASBR1 {GE1} -- RR {GE2} 10.20.1.0/24"),
            format!("ASBR1 {GE2} -- ASBR2 {GE2} 12.12.12.0/24"),
            format!("ASBR2 {GE1} -- PE2 {GE1} 10.40.1.0/24"),
            format!("CE1 {GE1} -- PE1 {GE2} 10.1.1.0/24"),
            format!("CE2 {GE1} -- PE2 {GE2} 10.2.1.0/24"),
            format!("CE3 {GE1} -- PE3 {GE2} 10.3.1.0/24"),
            format!("PE1 {GE1} -- RR {GE1} 10.10.1.0/24"),
            format!("PE3 {GE1} -- RR GigabitEthernet0/3/0 10.30.1.0/24"),
        ];
        want.sort();
        assert_eq!(links(&p), want);
        // `interface Loopback 1` on the CEs.
        assert_eq!(loopbacks(&p, "CE1"), ["11.11.11.11/32"]);
        assert_eq!(loopbacks(&p, "RR"), ["4.4.4.4/32"]);
        assert_eq!(
            p.domains,
            [vec!["ASBR1", "PE1", "PE3", "RR"], vec!["ASBR2", "PE2"]]
        );
        // Two hops through the RR; the link subnets the RR advertises too.
        assert_eq!(
            routes(&p, "PE1"),
            [
                "3.3.3.3/32 via 10.10.1.1 dev ge0-1-0 (PE3, 2 hops)",
                "4.4.4.4/32 via 10.10.1.1 dev ge0-1-0 (RR, 1 hop)",
                "5.5.5.5/32 via 10.10.1.1 dev ge0-1-0 (ASBR1, 2 hops)",
                "10.20.1.0/24 via 10.10.1.1 dev ge0-1-0 (RR, 1 hop)",
                "10.30.1.0/24 via 10.10.1.1 dev ge0-1-0 (RR, 1 hop)",
            ]
        );
        assert_eq!(
            routes(&p, "RR"),
            [
                "1.1.1.1/32 via 10.10.1.2 dev ge0-1-0 (PE1, 1 hop)",
                "3.3.3.3/32 via 10.30.1.2 dev ge0-3-0 (PE3, 1 hop)",
                "5.5.5.5/32 via 10.20.1.2 dev ge0-2-0 (ASBR1, 1 hop)",
            ]
        );
        assert_eq!(
            routes(&p, "PE2"),
            ["6.6.6.6/32 via 10.40.1.1 dev ge0-1-0 (ASBR2, 1 hop)"]
        );
        // ASBR2.cfg says `sysname ASBR1`: the node keeps its file's name.
        assert_eq!(node(&p, "ASBR2").sysname, "ASBR1");
        assert_eq!(
            p.notes,
            ["ASBR2: sysname is ASBR1 (the node is named after its file)"]
        );
    }

    #[test]
    fn kernel_names() {
        assert_eq!(kernel_name("GigabitEthernet0/1/0"), "ge0-1-0");
        assert_eq!(kernel_name("GigabitEthernet0/1/0.100"), "ge0-1-0.100");
        assert_eq!(kernel_name("Ethernet1/0/1"), "eth1-0-1");
        assert_eq!(kernel_name("100GE0/1/0"), "100ge0-1-0");
        assert_eq!(kernel_name("Eth-Trunk10"), "trunk10");
        assert_eq!(kernel_name("Vlanif100"), "vlanif100");
        assert_eq!(kernel_name("Tunnel0/0/1"), "tun0-0-1");
        // Too long: the start and a hash of the whole name, the same every time.
        let long = kernel_name("GigabitEthernet10/10/10.4000");
        assert_eq!(long.len(), IFNAMSIZ);
        assert!(long.starts_with("ge10-10-1"), "{long}");
        assert_eq!(long, kernel_name("GigabitEthernet10/10/10.4000"));
        assert_ne!(long, kernel_name("GigabitEthernet10/10/10.4001"));
    }

    #[test]
    fn node_names_are_safe_in_namespace_names() {
        assert_eq!(node_name("PE1"), "PE1");
        assert_eq!(node_name("pe-1.old"), "pe_1_old");
    }

    fn router(name: &str, ifs: &[(&str, &str)], lo: &str, ospf: &str) -> String {
        let mut t = format!("#\nsysname {name}\n#\n");
        for (ifname, body) in ifs {
            t.push_str(&format!("interface {ifname}\n undo shutdown\n{body}#\n"));
        }
        t.push_str(&format!(
            "interface LoopBack1\n ip address {lo} 255.255.255.255\n#\n{ospf}#\nreturn\n"
        ));
        t
    }

    fn v4(a: &str) -> String {
        format!(" ip address {a} 255.255.255.0\n")
    }

    #[test]
    fn a_chain_takes_the_first_hop_and_stops_at_silent_and_other_area_links() {
        // A – B – C – D in area 0, D – E with E's end in area 1, B – F silent on F.
        let area0 = |nets: &[&str]| {
            let mut t = "ospf 1\n area 0.0.0.0\n".to_string();
            for n in nets {
                t.push_str(&format!("  network {n} 0.0.0.255\n"));
            }
            t
        };
        let a = router(
            "A",
            &[(GE1, &v4("10.0.1.1"))],
            "9.0.0.1",
            &area0(&["10.0.1.0", "9.0.0.0"]),
        );
        let b = router(
            "B",
            &[
                (GE1, &v4("10.0.1.2")),
                (GE2, &v4("10.0.2.1")),
                ("GigabitEthernet0/3/0", &v4("10.0.6.1")),
            ],
            "9.0.0.2",
            "ospf 1\n area 0.0.0.0\n  network 10.0.0.0 0.0.255.255\n  network 9.0.0.0 0.0.0.255\n",
        );
        let c = router(
            "C",
            &[(GE1, &v4("10.0.2.2")), (GE2, &v4("10.0.3.1"))],
            "9.0.0.3",
            &area0(&["10.0.2.0", "10.0.3.0", "9.0.0.0"])
                .replace("ospf 1\n", "ospf 1\n import-route bgp\n"),
        );
        let d = router(
            "D",
            &[(GE1, &v4("10.0.3.2")), (GE2, &v4("10.0.4.1"))],
            "9.0.0.4",
            &area0(&["10.0.3.0", "10.0.4.0", "9.0.0.0"]),
        );
        let e = router(
            "E",
            &[(GE1, &v4("10.0.4.2"))],
            "9.0.0.5",
            "ospf 1\n area 1\n  network 10.0.4.0 0.0.0.255\n  network 9.0.0.5 0.0.0.0\n",
        );
        let f = router(
            "F",
            &[(GE1, &v4("10.0.6.2"))],
            "9.0.0.6",
            "ospf 7\n silent-interface GigabitEthernet0/1/0\n area 0.0.0.0\n  network 10.0.6.0 0.0.0.255\n  network 9.0.0.6 0.0.0.0\n",
        );
        let p = from_text(&[
            ("A", &a),
            ("B", &b),
            ("C", &c),
            ("D", &d),
            ("E", &e),
            ("F", &f),
        ])
        .unwrap();
        assert_eq!(p.domains, [vec!["A", "B", "C", "D"]]);
        assert_eq!(
            routes(&p, "A"),
            [
                "9.0.0.2/32 via 10.0.1.2 dev ge0-1-0 (B, 1 hop)",
                "9.0.0.3/32 via 10.0.1.2 dev ge0-1-0 (C, 2 hops)",
                "9.0.0.4/32 via 10.0.1.2 dev ge0-1-0 (D, 3 hops)",
                "10.0.2.0/24 via 10.0.1.2 dev ge0-1-0 (B, 1 hop)",
                "10.0.3.0/24 via 10.0.1.2 dev ge0-1-0 (C, 2 hops)",
                "10.0.4.0/24 via 10.0.1.2 dev ge0-1-0 (D, 3 hops)",
                "10.0.6.0/24 via 10.0.1.2 dev ge0-1-0 (B, 1 hop)",
            ]
        );
        // The nearest advertiser of a shared link subnet wins; ties by name.
        assert!(
            routes(&p, "D").contains(&"10.0.2.0/24 via 10.0.3.1 dev ge0-1-0 (C, 1 hop)".to_owned())
        );
        assert!(routes(&p, "E").is_empty());
        assert!(routes(&p, "F").is_empty());
        // C's `import-route bgp` reaches A, B and D by their first hops toward C; not E
        // (another area) nor F (silent).
        let imports = imports(&p);
        assert_eq!(imports.len(), 3, "{imports:?}");
        assert!(imports[0].starts_with(
            "C ospf 1 -> B via 10.0.2.2 dev ge0-2-0 (1 hop) holds 9.0.0.1/32 9.0.0.2/32"
        ));
        assert!(imports[1].starts_with("C ospf 1 -> D via 10.0.3.1 dev ge0-1-0 (1 hop)"));
        assert!(imports[2].starts_with("C ospf 1 -> A via 10.0.1.2 dev ge0-1-0 (2 hops)"));
        assert!(p.notes.is_empty(), "{:?}", p.notes);
    }

    #[test]
    fn vpn_interfaces_stay_out_of_the_igp() {
        let ospf = "ospf 1\n area 0.0.0.0\n  network 0.0.0.0 255.255.255.255\n";
        let a = router(
            "A",
            &[
                (GE1, &v4("10.0.1.1")),
                (
                    GE2,
                    &format!(" ip binding vpn-instance v\n{}", v4("10.9.9.1")),
                ),
            ],
            "9.0.0.1",
            ospf,
        )
        .replacen(
            "#\ninterface",
            "#\nip vpn-instance v\n ipv4-family\n  route-distinguisher 1:1\n#\ninterface",
            1,
        );
        let b = router("B", &[(GE1, &v4("10.0.1.2"))], "9.0.0.2", ospf);
        let ce = router("CE", &[(GE1, &v4("10.9.9.2"))], "9.0.0.9", "");
        let p = from_text(&[("A", &a), ("B", &b), ("CE", &ce)]).unwrap();
        assert_eq!(
            routes(&p, "B"),
            ["9.0.0.1/32 via 10.0.1.1 dev ge0-1-0 (A, 1 hop)"]
        );
        assert_eq!(p.domains, [vec!["A", "B"]]);
    }

    #[test]
    fn lans_stubs_and_conflicts() {
        let a = router(
            "A",
            &[(GE1, &v4("10.0.1.1")), (GE2, &v4("10.0.7.1"))],
            "9.0.0.1",
            "",
        );
        let b = router("B", &[(GE1, &v4("10.0.1.2"))], "9.0.0.2", "");
        let c = router("C", &[(GE1, &v4("10.0.1.3"))], "9.0.0.3", "");
        let p = from_text(&[("A", &a), ("B", &b), ("C", &c)]).unwrap();
        assert_eq!(
            links(&p),
            [
                format!("A {GE1} -- B {GE1} -- C {GE1} 10.0.1.0/24"),
                format!("A {GE2} 10.0.7.0/24"),
            ]
        );
        assert_eq!(p.links[0].kind, LinkKind::Bridge("lan.1".into()));
        assert_eq!(p.links[1].kind, LinkKind::Stub("stub1".into()));

        let b2 = router("B", &[(GE1, &v4("10.0.1.1"))], "9.0.0.2", "");
        let e = from_text(&[("A", &a), ("B", &b2)]).unwrap_err();
        assert!(e.0.contains("10.0.1.1 is configured on A"), "{e}");

        let twice = router(
            "A",
            &[(GE1, &v4("10.0.1.1")), (GE2, &v4("10.0.1.9"))],
            "9.0.0.1",
            "",
        );
        let e = from_text(&[("A", &twice), ("B", &b)]).unwrap_err();
        assert!(e.0.contains("share a subnet"), "{e}");
    }
}
