//! A lab's state directory: what `up` made, so `down`, `status` and `exec` find it.
//!
//! ```text
//! /run/tern-lab/<lab>/          ($TERN_LAB_DIR/<lab>/)
//!   lab.json                    namespaces, nodes (interfaces, routes, pids, sockets), links
//!   <node>/<node>.cfg           the router's file, copied unchanged
//!   <node>/ternd.sock           ternd's control socket
//!   <node>/ternd.log            ternd's standard output and error
//!   <node>/state/               ternd's --state-dir (commit history)
//!   igp.log                     `tern lab igp`'s output (labs with `import-route bgp`)
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::netns::ns_name;
use super::topology::{ImportBgp, LinkKind, Plan};

/// The directory holding every lab's state: `$TERN_LAB_DIR`, else `/run/tern-lab`.
pub fn root() -> PathBuf {
    std::env::var_os("TERN_LAB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/tern-lab"))
}

/// One lab's state directory.
pub fn dir(lab: &str) -> PathBuf {
    root().join(lab)
}

/// The names of the labs with a state directory.
pub fn labs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().join(FILE).exists())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

const FILE: &str = "lab.json";

/// `tern lab igp`'s log in a lab's state directory.
pub fn igp_log(lab: &str) -> PathBuf {
    dir(lab).join("igp.log")
}

/// The number of passes `tern lab igp` has completed (its routes installed and its lines
/// logged), in a lab's state directory.
pub fn igp_passes(lab: &str) -> PathBuf {
    dir(lab).join("igp.passes")
}

/// What `up` made.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LabState {
    /// The lab's name.
    pub lab: String,
    /// The folder of configuration files.
    pub source: PathBuf,
    /// The ternd binary.
    pub ternd: PathBuf,
    /// Every namespace made (nodes and bridges).
    pub namespaces: Vec<String>,
    /// The routers.
    pub nodes: Vec<NodeState>,
    /// The links, as text (`PE1 GigabitEthernet0/1/0 (ge0-1-0) -- ASBR1 ... 10.10.1.0/24`).
    pub links: Vec<String>,
    /// The OSPF domains of the IGP stand-in.
    pub domains: Vec<Vec<String>>,
    /// What is not emulated.
    pub notes: Vec<String>,
    /// `ospf` processes with `import-route bgp`, and where their routes go.
    #[serde(default)]
    pub import_bgp: Vec<ImportBgpState>,
    /// The `tern lab igp` process that redistributes them, once started.
    #[serde(default)]
    pub igp_pid: Option<u32>,
}

/// A router whose `ospf` process has `import-route bgp`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportBgpState {
    /// The redistributing router.
    pub node: String,
    /// Its namespace.
    pub netns: String,
    /// The OSPF process.
    pub process: u32,
    /// The other routers of the domain, nearest first.
    pub targets: Vec<ImportTargetState>,
}

/// A router that gets the redistributed routes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportTargetState {
    /// Node name.
    pub node: String,
    /// Its namespace.
    pub netns: String,
    /// The first hop toward the redistributing router.
    pub via: String,
    /// The kernel interface toward it.
    pub dev: String,
    /// Hops to it.
    pub hops: u32,
    /// Prefixes it holds itself or from the IGP stand-in (not replaced).
    pub holds: Vec<String>,
}

impl ImportBgpState {
    fn new(lab: &str, i: &ImportBgp) -> ImportBgpState {
        ImportBgpState {
            node: i.node.clone(),
            netns: ns_name(lab, &i.node),
            process: i.process,
            targets: i
                .targets
                .iter()
                .map(|t| ImportTargetState {
                    node: t.node.clone(),
                    netns: ns_name(lab, &t.node),
                    via: t.via.to_string(),
                    dev: t.dev.clone(),
                    hops: t.hops,
                    holds: t.holds.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        }
    }
}

/// One router.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NodeState {
    /// Node name.
    pub name: String,
    /// `sysname`.
    pub sysname: String,
    /// Its namespace.
    pub netns: String,
    /// The copy of its configuration file ternd reads.
    pub config: PathBuf,
    /// ternd's control socket.
    pub control: PathBuf,
    /// ternd's log.
    pub log: PathBuf,
    /// ternd's process ID, once started.
    pub pid: Option<u32>,
    /// VRP interface name, kernel name, addresses, VPN instance.
    pub interfaces: Vec<IfaceState>,
    /// LoopBack addresses (on `lo`).
    pub loopbacks: Vec<String>,
    /// IGP stand-in routes, as text.
    pub routes: Vec<String>,
    /// Peers configured with `ignore` (not waited for).
    pub ignored_peers: Vec<String>,
}

/// An interface and its kernel name.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IfaceState {
    /// VRP name.
    pub vrp: String,
    /// Kernel name.
    pub kernel: String,
    /// Addresses.
    pub addrs: Vec<String>,
    /// `ip binding vpn-instance`.
    pub vpn_instance: Option<String>,
}

impl LabState {
    /// The state of a lab about to be built from `plan`.
    pub fn new(lab: &str, source: &Path, ternd: &Path, plan: &Plan) -> LabState {
        let dir = dir(lab);
        let mut namespaces: Vec<String> =
            plan.nodes.iter().map(|n| ns_name(lab, &n.name)).collect();
        for l in &plan.links {
            if let LinkKind::Bridge(s) = &l.kind {
                namespaces.push(ns_name(lab, s));
            }
        }
        let nodes = plan
            .nodes
            .iter()
            .map(|n| {
                let nd = dir.join(&n.name);
                NodeState {
                    name: n.name.clone(),
                    sysname: n.sysname.clone(),
                    netns: ns_name(lab, &n.name),
                    config: nd.join(format!("{}.cfg", n.name)),
                    control: nd.join("ternd.sock"),
                    log: nd.join("ternd.log"),
                    pid: None,
                    interfaces: n
                        .interfaces
                        .iter()
                        .map(|f| IfaceState {
                            vrp: f.vrp.clone(),
                            kernel: f.kernel.clone(),
                            addrs: f.addrs.iter().map(ToString::to_string).collect(),
                            vpn_instance: f.vpn_instance.clone(),
                        })
                        .collect(),
                    loopbacks: n
                        .loopbacks
                        .iter()
                        .map(|l| format!("{} {}", l.vrp, l.addr))
                        .collect(),
                    routes: n.routes.iter().map(ToString::to_string).collect(),
                    ignored_peers: Vec::new(),
                }
            })
            .collect();
        let links = plan
            .links
            .iter()
            .map(|l| {
                let ends: Vec<String> = l
                    .ends
                    .iter()
                    .map(|e| format!("{} {} ({})", e.node, e.vrp, e.kernel))
                    .collect();
                let subnets: Vec<String> = l.subnets.iter().map(ToString::to_string).collect();
                let how = match &l.kind {
                    LinkKind::Veth => String::new(),
                    LinkKind::Bridge(s) => format!(" [bridge in {}]", ns_name(lab, s)),
                    LinkKind::Stub(_) => " [no other end]".into(),
                };
                format!("{}  {}{how}", ends.join(" -- "), subnets.join(" "))
            })
            .collect();
        LabState {
            lab: lab.to_owned(),
            source: source.to_owned(),
            ternd: ternd.to_owned(),
            namespaces,
            nodes,
            links,
            domains: plan.domains.clone(),
            notes: plan.notes.clone(),
            import_bgp: plan
                .import_bgp
                .iter()
                .map(|i| ImportBgpState::new(lab, i))
                .collect(),
            igp_pid: None,
        }
    }

    /// Writes `lab.json` (through a temporary file and a rename).
    pub fn save(&self) -> Result<(), String> {
        let d = dir(&self.lab);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let tmp = d.join(format!("{FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, d.join(FILE)).map_err(|e| format!("{}: {e}", d.display()))
    }

    /// Reads a lab's `lab.json`, if there is one.
    pub fn load(lab: &str) -> Result<Option<LabState>, String> {
        let p = dir(lab).join(FILE);
        match std::fs::read_to_string(&p) {
            Ok(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| format!("{}: {e}", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", p.display())),
        }
    }

    /// A node by name or `sysname`, ignoring case.
    pub fn node(&self, name: &str) -> Option<&NodeState> {
        self.nodes
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(name))
            .or_else(|| {
                self.nodes
                    .iter()
                    .find(|n| n.sysname.eq_ignore_ascii_case(name))
            })
    }
}
