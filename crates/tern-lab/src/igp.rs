//! `import-route bgp` for the IGP stand-in (`tern lab igp`).
//!
//! A router whose `ospf` process has `import-route bgp` redistributes its BGP routes into the
//! process's OSPF domain. No OSPF runs in a lab, so this loop does it with kernel routes: every
//! 500 ms it reads the BGP routes ternd installed in each such router's kernel (protocol 186),
//! and gives every other router of the domain a route to each of those prefixes via its first
//! hop toward the redistributing router (the plan's shortest paths, [`super::topology`]);
//! routes whose prefix left the BGP routes are removed. The routes it installs are protocol
//! 188 (`ospf`) with metric 1 (an imported route's default cost), so they are told apart from
//! the stand-in's routes and never replace a route ternd installs (metric 0).
//!
//! Not redistributed: the default route (OSPF needs `default-route-advertise` for it), and a
//! prefix a router holds itself or from the stand-in (connected and intra-area routes are
//! preferred to an external one). Unlike VRP, routes learned by IBGP are redistributed too
//! (the kernel does not tell them apart); no example redistributes any.
//!
//! `tern lab up` starts the loop as a background process when some router has `import-route
//! bgp` (its process ID is in the state, `down` stops it); it stops by itself when the lab's
//! state is removed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::netns;
use super::state::{ImportBgpState, LabState};

/// The kernel protocol of the redistributed routes (`RTPROT_OSPF`, `ip route show proto ospf`).
pub const PROTOCOL: u8 = 188;
/// Their metric: OSPF's default cost of an imported route; above ternd's routes (0).
pub const METRIC: u32 = 1;
/// ternd's routes in the kernel.
const BGP_PROTOCOL: u8 = 186;
/// How often the BGP routes are read.
pub const POLL: Duration = Duration::from_millis(500);

/// A route a router gets from a redistributing router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redist {
    /// The first hop toward the redistributing router.
    pub via: Ipv4Addr,
    /// The kernel interface toward it.
    pub dev: String,
    /// The redistributing router.
    pub from: String,
    /// Hops to it.
    pub hops: u32,
}

/// Router → prefix → route.
pub type Routes = BTreeMap<String, BTreeMap<Ipv4Net, Redist>>;

/// What every router of the domains should hold, given each redistributing router's BGP
/// routes (`bgp`, by node name): for each prefix, the route toward the nearest router that
/// redistributes it (ties: the node name that sorts first).
pub fn wanted(imports: &[ImportBgpState], bgp: &BTreeMap<String, BTreeSet<Ipv4Net>>) -> Routes {
    let mut out: Routes = BTreeMap::new();
    for i in imports {
        let Some(prefixes) = bgp.get(&i.node) else {
            continue;
        };
        for t in &i.targets {
            let Ok(via) = t.via.parse::<Ipv4Addr>() else {
                continue;
            };
            let holds: BTreeSet<Ipv4Net> = t.holds.iter().filter_map(|h| h.parse().ok()).collect();
            let own = bgp.get(&t.node);
            for p in prefixes {
                if p.prefix_len() == 0 || holds.contains(p) || own.is_some_and(|o| o.contains(p)) {
                    continue;
                }
                let cand = Redist {
                    via,
                    dev: t.dev.clone(),
                    from: i.node.clone(),
                    hops: t.hops,
                };
                let routes = out.entry(t.node.clone()).or_default();
                let better = routes
                    .get(p)
                    .is_none_or(|b| (cand.hops, &cand.from) < (b.hops, &b.from));
                if better {
                    routes.insert(*p, cand);
                }
            }
        }
    }
    out
}

/// (redistributing router, prefix) → the routers that have the route.
fn by_source(r: &Routes) -> BTreeMap<(String, Ipv4Net), Vec<String>> {
    let mut out: BTreeMap<(String, Ipv4Net), Vec<String>> = BTreeMap::new();
    for (node, routes) in r {
        for (p, x) in routes {
            out.entry((x.from.clone(), *p))
                .or_default()
                .push(node.clone());
        }
    }
    out
}

/// A line for each (redistributing router, prefix) whose receivers changed.
pub fn changes(before: &Routes, after: &Routes) -> Vec<String> {
    let (b, a) = (by_source(before), by_source(after));
    let mut lines = Vec::new();
    for (k @ (from, p), now) in &a {
        if b.get(k) != Some(now) {
            lines.push(format!(
                "{from} redistributes {p} into OSPF (import-route bgp) → {}",
                now.join(", ")
            ));
        }
    }
    for (k @ (from, p), was) in &b {
        if !a.contains_key(k) {
            lines.push(format!(
                "{from} no longer redistributes {p} → removed from {}",
                was.join(", ")
            ));
        }
    }
    lines
}

/// The IPv4 prefixes of a namespace's routes of `protocol`.
fn kernel_prefixes(ns: &str, protocol: u8) -> Result<BTreeSet<Ipv4Net>, String> {
    let out = netns::run(
        "ip",
        &[
            "-n",
            ns,
            "-4",
            "-j",
            "route",
            "show",
            "proto",
            &protocol.to_string(),
        ],
    )?;
    let v: Value = serde_json::from_str(out.trim()).unwrap_or(Value::Null);
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["dst"].as_str())
        .filter_map(|d| match d {
            "default" => Some(Ipv4Net::default()),
            d => d
                .parse()
                .ok()
                .or_else(|| d.parse::<Ipv4Addr>().ok().map(Ipv4Net::from)),
        })
        .collect())
}

fn install(ns: &str, p: &Ipv4Net, r: &Redist) -> Result<(), String> {
    netns::run(
        "ip",
        &[
            "-n",
            ns,
            "-4",
            "route",
            "replace",
            &p.to_string(),
            "via",
            &r.via.to_string(),
            "dev",
            &r.dev,
            "proto",
            &PROTOCOL.to_string(),
            "metric",
            &METRIC.to_string(),
        ],
    )
    .map(|_| ())
}

fn remove(ns: &str, p: &Ipv4Net) -> Result<(), String> {
    netns::run(
        "ip",
        &[
            "-n",
            ns,
            "-4",
            "route",
            "del",
            &p.to_string(),
            "proto",
            &PROTOCOL.to_string(),
            "metric",
            &METRIC.to_string(),
        ],
    )
    .map(|_| ())
}

/// Runs the loop for a lab until its state is removed (or another `tern lab igp` of the lab
/// runs). Prints a line per change.
pub fn run(lab: &str) -> Result<bool, String> {
    let st = LabState::load(lab)?.ok_or_else(|| format!("lab {lab} is not up"))?;
    if st.import_bgp.is_empty() {
        say!("lab {lab}: no `ospf` process has `import-route bgp`: nothing to redistribute");
        return Ok(true);
    }
    let me = std::process::id();
    if let Some(p) = st.igp_pid.filter(|&p| p != me && netns::alive(p)) {
        return Err(format!(
            "lab {lab}: `tern lab igp` already runs (process {p})"
        ));
    }
    let namespaces: BTreeMap<String, String> = st
        .import_bgp
        .iter()
        .flat_map(|i| i.targets.iter().map(|t| (t.node.clone(), t.netns.clone())))
        .collect();
    for i in &st.import_bgp {
        let to: Vec<&str> = i.targets.iter().map(|t| t.node.as_str()).collect();
        say!(
            "{} (ospf {}, import-route bgp): its BGP routes go to {}",
            i.node,
            i.process,
            if to.is_empty() {
                "no other router (alone in its domain)".to_owned()
            } else {
                to.join(", ")
            }
        );
    }
    // Routes an earlier run left.
    for ns in namespaces.values() {
        let _ = netns::run(
            "ip",
            &[
                "-n",
                ns,
                "-4",
                "route",
                "flush",
                "proto",
                &PROTOCOL.to_string(),
            ],
        );
    }
    let mut installed: Routes = BTreeMap::new();
    let mut passes: u64 = 0;
    let mut bgp: BTreeMap<String, BTreeSet<Ipv4Net>> = BTreeMap::new();
    let mut failing: BTreeSet<String> = BTreeSet::new();
    loop {
        match LabState::load(lab) {
            Ok(Some(now)) => {
                if let Some(p) = now.igp_pid.filter(|&p| p != me && netns::alive(p)) {
                    say!("lab {lab}: another `tern lab igp` runs (process {p}); stopping");
                    return Ok(true);
                }
            }
            _ => {
                say!("lab {lab}: its state is gone; stopping");
                return Ok(true);
            }
        }
        for i in &st.import_bgp {
            match kernel_prefixes(&i.netns, BGP_PROTOCOL) {
                Ok(p) => {
                    failing.remove(&i.node);
                    bgp.insert(i.node.clone(), p);
                }
                Err(e) => {
                    if !netns::namespaces().contains(&i.netns) {
                        say!("lab {lab}: {} is gone; stopping", i.netns);
                        return Ok(true);
                    }
                    // The last routes read stay until the kernel answers again.
                    if failing.insert(i.node.clone()) {
                        say!("{}: reading its BGP routes: {e}", i.node);
                    }
                }
            }
        }
        let want = wanted(&st.import_bgp, &bgp);
        let mut now: Routes = BTreeMap::new();
        for (node, ns) in &namespaces {
            let empty = BTreeMap::new();
            let had = installed.get(node).unwrap_or(&empty);
            let will = want.get(node).unwrap_or(&empty);
            let mut holds = had.clone();
            for p in had.keys().filter(|p| !will.contains_key(p)) {
                match remove(ns, p) {
                    Ok(()) => {
                        holds.remove(p);
                    }
                    Err(e) => say!("{node}: {e}"),
                }
            }
            for (p, r) in will.iter().filter(|(p, r)| had.get(p) != Some(r)) {
                match install(ns, p, r) {
                    Ok(()) => {
                        holds.insert(*p, r.clone());
                    }
                    Err(e) => say!("{node}: {e}"),
                }
            }
            if !holds.is_empty() {
                now.insert(node.clone(), holds);
            }
        }
        for line in changes(&installed, &now) {
            say!("{line}");
        }
        installed = now;
        // Whoever waits for this pass's lines (`up`) knows when they are all written.
        passes += 1;
        let _ = std::fs::write(crate::state::igp_passes(lab), passes.to_string());
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ImportTargetState;

    fn target(node: &str, via: &str, hops: u32, holds: &[&str]) -> ImportTargetState {
        ImportTargetState {
            node: node.into(),
            netns: format!("tern-x-{node}"),
            via: via.into(),
            dev: "ge0-1-0".into(),
            hops,
            holds: holds.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    fn import(node: &str, targets: Vec<ImportTargetState>) -> ImportBgpState {
        ImportBgpState {
            node: node.into(),
            netns: format!("tern-x-{node}"),
            process: 1,
            targets,
        }
    }

    fn bgp(v: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<Ipv4Net>> {
        v.iter()
            .map(|(n, ps)| {
                (
                    (*n).to_owned(),
                    ps.iter().map(|p| p.parse().unwrap()).collect(),
                )
            })
            .collect()
    }

    /// Router prefix via from lines.
    fn lines(r: &Routes) -> Vec<String> {
        r.iter()
            .flat_map(|(n, rs)| {
                rs.iter()
                    .map(move |(p, x)| format!("{n} {p} via {} from {}", x.via, x.from))
            })
            .collect()
    }

    #[test]
    fn the_nearest_redistributor_wins_and_held_prefixes_stay() {
        // A and B redistribute into one domain with C; C is 1 hop from B, 2 from A.
        let imports = [
            import(
                "A",
                vec![
                    target("B", "10.0.0.1", 1, &[]),
                    target("C", "10.0.1.1", 2, &["9.9.9.9/32"]),
                ],
            ),
            import(
                "B",
                vec![
                    target("A", "10.0.0.2", 1, &[]),
                    target("C", "10.0.1.2", 1, &["9.9.9.9/32"]),
                ],
            ),
        ];
        let w = wanted(
            &imports,
            &bgp(&[
                ("A", &["1.0.0.0/8", "4.4.4.9/32", "9.9.9.9/32", "0.0.0.0/0"]),
                ("B", &["4.4.4.9/32"]),
            ]),
        );
        assert_eq!(
            lines(&w),
            [
                // B has 4.4.4.9 from BGP itself: it does not get A's.
                "B 1.0.0.0/8 via 10.0.0.1 from A",
                "B 9.9.9.9/32 via 10.0.0.1 from A",
                // C: 1.0.0.0/8 from A only; 4.4.4.9 from the nearer B; not 9.9.9.9 (it
                // holds it) nor the default route. A: nothing (it has 4.4.4.9 itself).
                "C 1.0.0.0/8 via 10.0.1.1 from A",
                "C 4.4.4.9/32 via 10.0.1.2 from B",
            ]
        );
        // A line per (redistributor, prefix) that changed.
        let later = wanted(&imports, &bgp(&[("A", &["1.0.0.0/8"]), ("B", &[])]));
        assert_eq!(
            changes(&BTreeMap::new(), &w),
            [
                "A redistributes 1.0.0.0/8 into OSPF (import-route bgp) → B, C",
                "A redistributes 9.9.9.9/32 into OSPF (import-route bgp) → B",
                "B redistributes 4.4.4.9/32 into OSPF (import-route bgp) → C",
            ]
        );
        assert_eq!(
            changes(&w, &later),
            [
                "A no longer redistributes 9.9.9.9/32 → removed from B",
                "B no longer redistributes 4.4.4.9/32 → removed from C",
            ]
        );
        assert!(changes(&later, &later).is_empty());
    }
}
