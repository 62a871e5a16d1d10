//! What a user checks once a lab has converged: every router's sessions, and the routes of
//! each VPN instance with their next hop and label (the vendor's verification steps).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::state::{LabState, NodeState};

/// A JSON display of one router.
fn display(n: &NodeState, line: &str) -> Option<Value> {
    let mut c = tern_api::Blocking::connect(&n.control).ok()?;
    let r = c.display(line, true).ok()?;
    if r.error.is_some() {
        return None;
    }
    serde_json::from_str(&r.output).ok()
}

/// The VPN instance tables of a router: (display line, family label).
fn instance_tables(n: &NodeState) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(&n.config) else {
        return Vec::new();
    };
    let Ok(cfg) = tern_config::parse_file(&text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for vi in cfg.vpn_instances.values() {
        if vi.ipv4.as_ref().is_some_and(|a| a.rd.is_some()) {
            out.push((
                format!("display bgp vpnv4 vpn-instance {} routing-table", vi.name),
                format!("{} IPv4", vi.name),
            ));
        }
        if vi.ipv6.as_ref().is_some_and(|a| a.rd.is_some()) {
            out.push((
                format!("display bgp vpnv6 vpn-instance {} routing-table", vi.name),
                format!("{} IPv6", vi.name),
            ));
        }
    }
    out
}

/// The best routes of one instance table, a line each.
fn routes(n: &NodeState, line: &str) -> Vec<String> {
    let Some(v) = display(n, line) else {
        return Vec::new();
    };
    v["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["best"] == true)
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            let labels: Vec<String> = r["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .map(|l| l.to_string())
                .collect();
            let next_hop = r["next_hop"]
                .as_str()
                .map_or_else(|| "-".to_owned(), |a| a.to_uppercase());
            let from = if r["from"] == "0.0.0.0" {
                "local".to_owned()
            } else {
                format!("from {}", s("from"))
            };
            format!(
                "{:<22} next hop {:<18} label {:<6} path {:<12} ({from})",
                s("prefix"),
                next_hop,
                if labels.is_empty() {
                    "-".to_owned()
                } else {
                    labels.join("/")
                },
                if s("as_path").is_empty() {
                    "-".to_owned()
                } else {
                    s("as_path")
                },
            )
        })
        .collect()
}

/// Waits until the instance tables stop changing (VPN routes follow the sessions by a
/// moment), then prints the sessions and the tables.
pub fn print(st: &LabState) {
    let snapshot = || -> Vec<Vec<String>> {
        st.nodes
            .iter()
            .flat_map(|n| {
                instance_tables(n)
                    .into_iter()
                    .map(move |(l, _)| routes(n, &l))
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = snapshot();
    let mut stable_since = Instant::now();
    while Instant::now() < deadline && stable_since.elapsed() < Duration::from_millis(1500) {
        std::thread::sleep(Duration::from_millis(300));
        let now = snapshot();
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    println!();
    println!("BGP sessions:");
    for n in &st.nodes {
        let Some(v) = display(n, "display bgp peer") else {
            println!("  {:<6} (no answer)", n.name);
            continue;
        };
        let peers: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "{} AS{} {}",
                    p["addr"].as_str().unwrap_or_default(),
                    p["remote_as"].as_u64().unwrap_or_default(),
                    p["state"].as_str().unwrap_or_default()
                )
            })
            .collect();
        println!("  {:<6} {}", n.name, peers.join(", "));
    }
    for n in &st.nodes {
        for (line, what) in instance_tables(n) {
            println!();
            println!("{} {what} routes (`{line}`):", n.name);
            let rows = routes(n, &line);
            if rows.is_empty() {
                println!("  (none)");
            }
            for r in rows {
                println!("  {r}");
            }
        }
    }
}
