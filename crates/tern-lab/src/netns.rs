//! Executing a plan with `ip` (iproute2) and `sysctl`: namespaces, veth pairs and bridges,
//! addresses, routes, the daemons; and removing all of it again.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::topology::{LinkKind, Plan};

/// The namespace of a node (or of a bridge, whose suffix holds a `.`).
pub fn ns_name(lab: &str, node: &str) -> String {
    format!("tern-{lab}-{node}")
}

/// True for a namespace this lab made: `tern-<lab>-` then a node name (no `-`, node names
/// have none) or a bridge suffix. Another lab whose name starts with `<lab>-` does not match.
pub fn is_lab_ns(lab: &str, ns: &str) -> bool {
    ns.strip_prefix(&format!("tern-{lab}-"))
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('-'))
}

/// Runs a command; its standard output, or an error with the command line and its output.
pub fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    run("ip", args)
}

/// The names of the network namespaces (`ip netns list`).
pub fn namespaces() -> Vec<String> {
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Creates a namespace: `lo` up, forwarding on, duplicate address detection off (addresses
/// usable at once), no reverse-path filter (sessions between loopbacks).
pub fn create_ns(ns: &str) -> Result<(), String> {
    ip(&["netns", "add", ns])?;
    ip(&["-n", ns, "link", "set", "lo", "up"])?;
    run(
        "ip",
        &[
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv6.conf.default.forwarding=1",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ],
    )?;
    Ok(())
}

fn add_addr(ns: &str, dev: &str, a: &IpNet) -> Result<(), String> {
    let a = a.to_string();
    match a.contains(':') {
        true => ip(&["-n", ns, "-6", "addr", "add", &a, "dev", dev, "nodad"]),
        false => ip(&["-n", ns, "-4", "addr", "add", &a, "dev", dev]),
    }
    .map(|_| ())
}

fn up(ns: &str, dev: &str) -> Result<(), String> {
    ip(&["-n", ns, "link", "set", dev, "up"]).map(|_| ())
}

/// A veth pair with each end created directly in its namespace (nothing passes through the
/// namespace `tern` runs in).
fn veth(ns_a: &str, a: &str, ns_b: &str, b: &str) -> Result<(), String> {
    ip(&[
        "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b,
    ])
    .map(|_| ())
}

/// Builds everything in the plan but the daemons: namespaces (created first, recorded by the
/// caller before this runs), links, addresses, IGP routes. `say` gets a line per step.
pub fn build(lab: &str, plan: &Plan, say: &mut dyn FnMut(String)) -> Result<(), String> {
    for n in &plan.nodes {
        create_ns(&ns_name(lab, &n.name))?;
    }
    for l in &plan.links {
        if let LinkKind::Bridge(suffix) = &l.kind {
            create_ns(&ns_name(lab, suffix))?;
        }
    }
    say(format!(
        "namespaces: {}",
        plan.nodes
            .iter()
            .map(|n| ns_name(lab, &n.name))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    for n in &plan.nodes {
        let ns = ns_name(lab, &n.name);
        for l in &n.loopbacks {
            add_addr(&ns, "lo", &l.addr)?;
        }
    }
    for l in &plan.links {
        match &l.kind {
            LinkKind::Veth => {
                let [a, b] = l.ends.as_slice() else {
                    return Err("a veth link needs two ends".into());
                };
                veth(
                    &ns_name(lab, &a.node),
                    &a.kernel,
                    &ns_name(lab, &b.node),
                    &b.kernel,
                )?;
            }
            LinkKind::Stub(peer) => {
                let [a] = l.ends.as_slice() else {
                    return Err("a stub link has one end".into());
                };
                let ns = ns_name(lab, &a.node);
                veth(&ns, &a.kernel, &ns, peer)?;
                up(&ns, peer)?;
            }
            LinkKind::Bridge(suffix) => {
                let br = ns_name(lab, suffix);
                ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
                up(&br, "br0")?;
                for (i, e) in l.ends.iter().enumerate() {
                    let port = format!("p{i}");
                    veth(&ns_name(lab, &e.node), &e.kernel, &br, &port)?;
                    ip(&["-n", &br, "link", "set", &port, "master", "br0"])?;
                    up(&br, &port)?;
                }
            }
        }
        for e in &l.ends {
            let ns = ns_name(lab, &e.node);
            for a in &e.addrs {
                add_addr(&ns, &e.kernel, a)?;
            }
            up(&ns, &e.kernel)?;
        }
    }
    let mut count = 0;
    for n in &plan.nodes {
        let ns = ns_name(lab, &n.name);
        for r in &n.routes {
            ip(&[
                "-n",
                &ns,
                "-4",
                "route",
                "replace",
                &r.prefix.to_string(),
                "via",
                &r.via.to_string(),
                "dev",
                &r.dev,
            ])?;
            count += 1;
        }
    }
    say(format!(
        "links: {} ({} veth pairs, {} bridges), {} IGP routes",
        plan.links.len(),
        plan.links
            .iter()
            .filter(|l| !matches!(l.kind, LinkKind::Bridge(_)))
            .count(),
        plan.links
            .iter()
            .filter(|l| matches!(l.kind, LinkKind::Bridge(_)))
            .count(),
        count
    ));
    Ok(())
}

/// Starts `argv` inside `ns` in a process group of its own (so it outlives `tern` and a
/// Ctrl-C at the terminal), output to `log`; its process ID (`ip netns exec` execs the
/// command, so this is the daemon's).
pub fn spawn(ns: &str, argv: &[String], log: &Path) -> Result<std::process::Child, String> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).args(argv);
    detached(cmd, log).map_err(|e| format!("ip netns exec {ns}: {e}"))
}

/// Starts `argv` here (in `tern`'s own namespace) as [`spawn`] does in a lab's.
pub fn spawn_here(argv: &[String], log: &Path) -> Result<std::process::Child, String> {
    let [prog, args @ ..] = argv else {
        return Err("nothing to start".into());
    };
    let mut cmd = Command::new(prog);
    cmd.args(args);
    detached(cmd, log).map_err(|e| format!("{prog}: {e}"))
}

/// Spawns `cmd` in a process group of its own, no input, output to `log`.
fn detached(mut cmd: Command, log: &Path) -> Result<std::process::Child, String> {
    use std::os::unix::process::CommandExt;
    let f = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let e = f
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(f)
        .stderr(e)
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())
}

/// The processes in a namespace.
pub fn pids_in(ns: &str) -> Vec<u32> {
    ip(&["netns", "pids", ns])
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// True while a process runs (exists and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        // The state follows the command name in parentheses.
        s.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X")
    })
}

/// A process's command line, arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops processes: SIGTERM, then SIGKILL for those still running after `grace`.
pub fn stop(pids: &[u32], grace: Duration) {
    for &p in pids {
        signal("-TERM", p);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && pids.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &p in pids.iter().filter(|&&p| alive(p)) {
        signal("-KILL", p);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && pids.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deletes a namespace (its interfaces go with it once no process holds it).
pub fn delete_ns(ns: &str) -> Result<(), String> {
    ip(&["netns", "del", ns]).map(|_| ())
}

/// The effective user ID, from `/proc/self/status` (no `unsafe` for `geteuid`).
pub fn euid() -> Option<u32> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_namespaces_are_told_apart_from_other_labs() {
        assert!(is_lab_ns("a", "tern-a-PE1"));
        assert!(is_lab_ns("a", "tern-a-lan.1"));
        assert!(!is_lab_ns("a", "tern-a-b-PE1"));
        assert!(!is_lab_ns("a", "tern-a-"));
        assert!(!is_lab_ns("a", "tern-ab-PE1"));
        assert!(is_lab_ns("a-b", "tern-a-b-PE1"));
    }

    #[test]
    fn euid_is_read() {
        assert!(euid().is_some());
        assert!(alive(std::process::id()));
    }
}
