//! tern-lab: the lab, a folder of VRP configuration files, one per router, run as a network of
//! Linux network namespaces with a ternd in each; the operator tool runs it as `tern lab`
//! (`up`, `down`, `status`, `exec`, `igp`, `graph`; docs/lab.md).
//!
//! - [`topology`]: the plan, pure (nodes, links, loopbacks, kernel interface names, the
//!   routes that stand in for the IGP);
//! - [`graph`]: the lab as a Graphviz DOT graph (routers by AS, links, BGP sessions by
//!   state, route reflection), pure;
//! - [`netns`]: carrying it out with `ip`, and taking it down;
//! - [`state`]: the state directory that `down`, `status` and `exec` read;
//! - [`igp`]: `import-route bgp` into the stand-in, the loop `tern lab igp` runs.
//!
//! `up` checks everything it can before touching the kernel (root, the files, the plan, the
//! ternd binary), removes what an earlier run of the same lab left, builds, starts the
//! daemons (and `tern lab igp` when a router has `import-route bgp`), then waits for every
//! configured BGP peer to be Established. `up` and `igp` run from the `tern` binary: the
//! default ternd is the one next to it, and `up` starts `tern lab igp` with it.

#![forbid(unsafe_code)]

/// Prints a line to standard output, ignoring a closed pipe (`tern lab up DIR | head` must
/// not stop `up` half-way).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

pub mod graph;
pub mod igp;
pub mod netns;
pub mod state;
mod summary;
pub mod topology;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Subcommand, ValueEnum};
use serde_json::Value;

use state::LabState;
use topology::Router;

/// `tern lab ...`
#[derive(Subcommand)]
pub enum LabCommand {
    /// Build a lab from a folder of VRP files (one per router, `NAME.cfg`) and start a ternd
    /// on each router; wait until BGP has converged.
    Up {
        /// The folder of configuration files.
        dir: PathBuf,
        /// The lab's name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// The ternd binary (default: the one next to this tern).
        #[arg(long)]
        ternd: Option<PathBuf>,
        /// Seconds to wait for BGP.
        #[arg(long, default_value_t = 90)]
        timeout: u64,
        /// What to wait for: every configured peer Established, or nothing.
        #[arg(long, value_enum, default_value_t = Wait::Peers)]
        wait: Wait,
        /// Record each router's route engine inputs into DIR/NAME.rec (`ternd --record`).
        #[arg(long, value_name = "DIR")]
        record: Option<PathBuf>,
    },
    /// Stop the lab's daemons and remove its namespaces and state.
    Down {
        /// The lab (default: the only one up).
        #[arg(long)]
        name: Option<String>,
    },
    /// Show the lab: routers, kernel interface names, links, IGP routes, BGP peers.
    Status {
        /// The lab (default: the only one up).
        #[arg(long)]
        name: Option<String>,
    },
    /// Redistribute the BGP routes of routers with `import-route bgp` in an `ospf` process
    /// into their OSPF domain, until the lab is down (`up` starts it in the background).
    Igp {
        /// The lab (default: the only one up).
        #[arg(long)]
        name: Option<String>,
    },
    /// Run command lines on one router's ternd, as `tern -c` (no line: the interactive
    /// shell).
    Exec {
        /// The lab (default: the only one up).
        #[arg(long)]
        name: Option<String>,
        /// Ask for JSON output.
        #[arg(long)]
        json: bool,
        /// The router (node name or sysname).
        node: String,
        /// Lines, run in one session in order.
        lines: Vec<String>,
    },
    /// Write the lab's topology as a Graphviz graph: routers clustered by AS, links with
    /// their subnets, BGP sessions coloured by their live state, route reflection.
    Graph {
        /// A folder of configuration files: draws it whether or not its lab is up (default:
        /// the running lab, from the files in its state directory).
        dir: Option<PathBuf>,
        /// The lab whose daemons give the sessions' state (default: the folder's name with
        /// DIR, else the only lab up).
        #[arg(long)]
        name: Option<String>,
        /// DOT text, or SVG rendered by Graphviz's `dot` (default: svg when FILE ends in
        /// `.svg`, else dot).
        #[arg(long, value_enum)]
        format: Option<GraphFormat>,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// What `graph` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// The DOT language.
    Dot,
    /// SVG, from `dot -Tsvg`.
    Svg,
}

/// What `up` waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Wait {
    /// Every configured BGP peer Established.
    Peers,
    /// Nothing: return once the daemons run.
    None,
}

/// The operator's shell on a ternd's control socket, which `exec` hands a router's socket to
/// (the shell lives in the `tern` binary).
#[derive(Clone, Copy)]
pub struct Shell {
    /// The interactive shell (`exec NODE` without lines).
    pub interactive: fn(&Path, bool) -> ExitCode,
    /// Lines run in one session in order, as `tern -c` (`exec NODE LINE...`).
    pub run_lines: fn(&Path, Vec<String>, bool) -> ExitCode,
}

/// Runs a `tern lab` command.
pub fn run(cmd: LabCommand, shell: Shell) -> ExitCode {
    let r = match cmd {
        LabCommand::Up {
            dir,
            name,
            ternd,
            timeout,
            wait,
            record,
        } => up(
            &dir,
            name,
            ternd,
            Duration::from_secs(timeout),
            wait,
            record.as_deref(),
        ),
        LabCommand::Down { name } => down(name),
        LabCommand::Status { name } => status(name),
        LabCommand::Igp { name } => need_root("tern lab igp")
            .and_then(|()| which_lab(name))
            .and_then(|lab| igp::run(&lab)),
        LabCommand::Exec {
            name,
            json,
            node,
            lines,
        } => return exec(name, &node, lines, json, shell),
        LabCommand::Graph {
            dir,
            name,
            format,
            output,
        } => draw(dir.as_deref(), name, format, output.as_deref()),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("tern lab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A lab name: letters, digits, `_` and `-`, at most 24 characters.
pub fn lab_name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    let n = n.trim_matches('-').to_owned();
    if n.is_empty() { "lab".into() } else { n }
}

fn need_root(what: &str) -> Result<(), String> {
    match netns::euid() {
        Some(0) => Ok(()),
        _ => Err(format!(
            "{what} needs root (network namespaces, veth links, processes in them); nothing was changed"
        )),
    }
}

/// The lab a command is about: the one named, or the only one with state.
fn which_lab(name: Option<String>) -> Result<String, String> {
    if let Some(n) = name {
        return Ok(lab_name(&n));
    }
    let labs = state::labs();
    match labs.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no lab is up (no state under {})",
            state::root().display()
        )),
        _ => Err(format!(
            "several labs are up ({}): say which with --name",
            labs.join(", ")
        )),
    }
}

/// Reads every `*.cfg` of a folder.
pub fn read_routers(dir: &Path) -> Result<Vec<Router>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("cfg")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no .cfg files", dir.display()));
    }
    files
        .into_iter()
        .map(|file| {
            let text = tern_config::text::read(&file)?;
            let config =
                tern_config::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(Router {
                name: topology::node_name(&stem),
                file,
                config,
            })
        })
        .collect()
}

/// Peers of a router that `ignore` keeps down.
fn ignored_peers(cfg: &tern_config::Config) -> Vec<String> {
    // A member of an ignored peer group is ignored too.
    let cfg = cfg.effective();
    cfg.bgp
        .iter()
        .flat_map(|b| b.sessions())
        .filter(|(_, p)| p.ignore)
        .map(|(_, p)| p.addr.to_string())
        .collect()
}

fn up(
    dir: &Path,
    name: Option<String>,
    ternd: Option<PathBuf>,
    timeout: Duration,
    wait: Wait,
    record: Option<&Path>,
) -> Result<bool, String> {
    need_root("tern lab up")?;
    let record = match record {
        None => None,
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            Some(
                d.canonicalize()
                    .map_err(|e| format!("{}: {e}", d.display()))?,
            )
        }
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let routers = read_routers(&dir)?;
    let lab = match name {
        Some(n) => lab_name(&n),
        None => lab_name(
            &dir.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let ignored: Vec<(String, Vec<String>)> = routers
        .iter()
        .map(|r| (r.name.clone(), ignored_peers(&r.config)))
        .collect();
    let plan = topology::plan(routers).map_err(|e| e.to_string())?;
    let ternd = match ternd {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(|e| format!("the tern binary: {e}"))?
            .with_file_name("ternd"),
    };
    let ternd = ternd.canonicalize().map_err(|e| {
        format!(
            "ternd binary {}: {e} (build it, or give --ternd PATH)",
            ternd.display()
        )
    })?;
    netns::run("ip", &["-V"]).map_err(|e| format!("iproute2 is needed: {e}"))?;

    let (procs, nss) = teardown(&lab)?;
    if procs + nss > 0 {
        say!("lab {lab}: removed what an earlier run left ({procs} processes, {nss} namespaces)");
    }
    say!(
        "lab {lab}: {} routers from {}, state in {}",
        plan.nodes.len(),
        dir.display(),
        state::dir(&lab).display()
    );
    let mut st = LabState::new(&lab, &dir, &ternd, &plan);
    for n in &mut st.nodes {
        if let Some((_, v)) = ignored.iter().find(|(name, _)| *name == n.name) {
            n.ignored_peers.clone_from(v);
        }
    }
    // Recorded before anything is made: a run that dies half-way is cleaned up by the next.
    st.save()?;
    if let Err(e) = netns::build(&lab, &plan, &mut |line| say!("{line}")) {
        let _ = teardown(&lab);
        return Err(format!("{e} (everything made was removed)"));
    }
    for l in &st.links {
        say!("  {l}");
    }
    say!(
        "IGP stand-in: no OSPF or LDP runs. The kernel routes below, computed by the lab from \
         the `ospf` blocks (the interfaces their `network` statements cover, shortest paths by hop \
         count inside each OSPF domain), stand in for them. The kernel has no MPLS forwarding: \
         labels exist in BGP only."
    );
    for n in &plan.nodes {
        for r in &n.routes {
            say!("  {}: {r}", n.name);
        }
    }
    for note in &plan.notes {
        say!("note: {note}");
    }

    let mut children = Vec::new();
    for (i, n) in plan.nodes.iter().enumerate() {
        let ns = &st.nodes[i];
        let nd = ns
            .config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let made = std::fs::create_dir_all(nd.join("state"))
            .and_then(|()| std::fs::copy(&n.file, &ns.config).map(|_| ()));
        if let Err(e) = made {
            let _ = teardown(&lab);
            return Err(format!(
                "{}: {e} (everything made was removed)",
                nd.display()
            ));
        }
        let mut argv: Vec<String> = [
            ternd.as_os_str(),
            "--config".as_ref(),
            ns.config.as_os_str(),
            "--control".as_ref(),
            ns.control.as_os_str(),
            "--state-dir".as_ref(),
            nd.join("state").as_os_str(),
            "--log".as_ref(),
            "info".as_ref(),
        ]
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
        if let Some(d) = &record {
            argv.push("--record".into());
            argv.push(
                d.join(format!("{}.rec", n.name))
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        match netns::spawn(&ns.netns, &argv, &ns.log) {
            Ok(c) => {
                st.nodes[i].pid = Some(c.id());
                children.push((i, c));
            }
            Err(e) => {
                let _ = teardown(&lab);
                return Err(format!("{e} (everything made was removed)"));
            }
        }
    }
    if !st.import_bgp.is_empty() {
        start_igp(&mut st)?;
    }
    st.save()?;
    // Every control socket, or a daemon that stopped.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut failed = Vec::new();
    for (i, c) in &mut children {
        let n = &st.nodes[*i];
        loop {
            if n.control.exists() {
                break;
            }
            if let Ok(Some(status)) = c.try_wait() {
                failed.push(format!(
                    "{}: ternd exited ({status}); {}:\n{}",
                    n.name,
                    n.log.display(),
                    tail(&n.log, 15)
                ));
                break;
            }
            if Instant::now() > deadline {
                failed.push(format!(
                    "{}: no control socket after 15 s; {}:\n{}",
                    n.name,
                    n.log.display(),
                    tail(&n.log, 15)
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    say!(
        "ternd: started on {} routers (logs: {}/<node>/ternd.log)",
        children.len(),
        state::dir(&lab).display()
    );
    if !failed.is_empty() {
        for f in failed {
            eprintln!("{f}");
        }
        eprintln!("the lab is left up for inspection; `tern lab down --name {lab}` removes it");
        return Ok(false);
    }
    if wait == Wait::None {
        return Ok(true);
    }
    let ok = converge(&st, timeout, &mut IgpLog::new(&st));
    if ok {
        summary::print(&st);
    }
    if !ok {
        say!(
            "the lab is left up for inspection: `tern lab status`, `tern lab exec NODE LINE`, \
             `tern lab down --name {lab}`"
        );
    }
    Ok(ok)
}

/// Starts `tern lab igp` for the lab in the background; says what it redistributes.
fn start_igp(st: &mut LabState) -> Result<(), String> {
    let tern = std::env::current_exe().map_err(|e| format!("the tern binary: {e}"))?;
    let argv: Vec<String> = [
        tern.to_string_lossy().as_ref(),
        "lab",
        "igp",
        "--name",
        &st.lab,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let log = state::igp_log(&st.lab);
    match netns::spawn_here(&argv, &log) {
        Ok(c) => st.igp_pid = Some(c.id()),
        Err(e) => {
            let _ = teardown(&st.lab);
            return Err(format!("tern lab igp: {e} (everything made was removed)"));
        }
    }
    let who: Vec<String> = st
        .import_bgp
        .iter()
        .map(|i| format!("{} (ospf {})", i.node, i.process))
        .collect();
    say!(
        "import-route bgp: {} redistribute the BGP routes in their kernel into their OSPF \
         domain; `tern lab igp` (process {}, log {}) installs them on the domain's other \
         routers (proto ospf, metric 1) and follows them every {} ms while the lab is up",
        who.join(", "),
        st.igp_pid.unwrap_or_default(),
        log.display(),
        igp::POLL.as_millis()
    );
    Ok(())
}

/// What `tern lab igp` printed since the last look.
struct IgpLog {
    path: Option<PathBuf>,
    read: usize,
}

impl IgpLog {
    fn new(st: &LabState) -> IgpLog {
        IgpLog {
            path: st.igp_pid.map(|_| state::igp_log(&st.lab)),
            read: 0,
        }
    }

    /// The complete lines added since the last call.
    fn lines(&mut self) -> Vec<String> {
        let Some(t) = self.path.as_ref().and_then(|p| std::fs::read(p).ok()) else {
            return Vec::new();
        };
        let Some(end) = t.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        if end < self.read {
            return Vec::new();
        }
        let new = String::from_utf8_lossy(&t[self.read..=end]).into_owned();
        self.read = end + 1;
        new.lines().map(str::to_owned).collect()
    }
}

/// The last `n` lines of a file.
fn tail(p: &Path, n: usize) -> String {
    let t = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = t.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One peer as `display bgp peer` (JSON) gives it.
struct PeerView {
    addr: String,
    remote_as: u64,
    ebgp: bool,
    state: String,
    why: String,
}

/// `display bgp peer` of a router's ternd, as JSON (an array, a peer each).
fn peer_json(n: &state::NodeState) -> Result<Value, String> {
    let mut c = tern_api::Blocking::connect(&n.control).map_err(|e| e.to_string())?;
    let r = c
        .display("display bgp peer", true)
        .map_err(|e| e.to_string())?;
    if let Some(e) = r.error {
        return Err(e.text);
    }
    serde_json::from_str(&r.output).map_err(|e| e.to_string())
}

/// The peers of a router's ternd, those configured with `ignore` left out.
fn peers(n: &state::NodeState) -> Result<Vec<PeerView>, String> {
    let v = peer_json(n)?;
    let ignored: BTreeSet<IpAddr> = n
        .ignored_peers
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["addr"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .is_none_or(|a| !ignored.contains(&a))
        })
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            let why = [s("reason"), s("last_error")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            PeerView {
                addr: s("addr"),
                remote_as: p["remote_as"].as_u64().unwrap_or_default(),
                ebgp: p["ebgp"].as_bool().unwrap_or_default(),
                state: s("state"),
                why,
            }
        })
        .collect())
}

/// Waits for every router's peers to be Established, printing a line per router whenever
/// its count changes; on timeout lists the sessions still down.
fn converge(st: &LabState, timeout: Duration, igp: &mut IgpLog) -> bool {
    say!(
        "waiting for BGP: every configured peer Established (timeout {} s)",
        timeout.as_secs()
    );
    let start = Instant::now();
    let mut last: Vec<Option<String>> = vec![None; st.nodes.len()];
    loop {
        for line in igp.lines() {
            say!("  [{:>3} s] {line}", start.elapsed().as_secs());
        }
        let mut all = true;
        let mut down: Vec<String> = Vec::new();
        let mut sessions = 0;
        for (i, n) in st.nodes.iter().enumerate() {
            let line = if n.pid.is_some_and(|p| !netns::alive(p)) {
                all = false;
                down.push(format!(
                    "{}: ternd is not running (see {})",
                    n.name,
                    n.log.display()
                ));
                format!("{}: ternd is not running", n.name)
            } else {
                match peers(n) {
                    Ok(ps) => {
                        let up = ps.iter().filter(|p| p.state == "Established").count();
                        sessions += up;
                        for p in ps.iter().filter(|p| p.state != "Established") {
                            all = false;
                            down.push(format!(
                                "{} -> {} (AS {}, {}): {}{}",
                                n.name,
                                p.addr,
                                p.remote_as,
                                if p.ebgp { "EBGP" } else { "IBGP" },
                                p.state,
                                if p.why.is_empty() {
                                    String::new()
                                } else {
                                    format!(" ({})", p.why)
                                }
                            ));
                        }
                        format!("{}: {up}/{} peers Established", n.name, ps.len())
                    }
                    Err(e) => {
                        all = false;
                        down.push(format!("{}: control API: {e}", n.name));
                        format!("{}: control API not answering", n.name)
                    }
                }
            };
            if last[i].as_deref() != Some(line.as_str()) {
                say!("  [{:>3} s] {line}", start.elapsed().as_secs());
                last[i] = Some(line);
            }
        }
        if all {
            // The redistribution's lines are written once its pass has installed every
            // route: wait for a pass that started after the sessions were seen up, then say
            // what it logged.
            if igp.path.is_some() {
                let passes = || {
                    std::fs::read_to_string(state::igp_passes(&st.lab))
                        .ok()
                        .and_then(|t| t.trim().parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let seen = passes();
                let until = Instant::now() + Duration::from_secs(10);
                while passes() < seen + 2 && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(50));
                }
                for line in igp.lines() {
                    say!("  [{:>3} s] {line}", start.elapsed().as_secs());
                }
            }
            say!(
                "BGP converged: {sessions} peers Established on {} routers in {} s",
                st.nodes.len(),
                start.elapsed().as_secs()
            );
            return true;
        }
        if start.elapsed() >= timeout {
            say!(
                "timed out after {} s; still down ({}):",
                timeout.as_secs(),
                down.len()
            );
            for d in down {
                say!("  {d}");
            }
            return false;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Removes what `up` made for a lab, and leftovers: the processes in its namespaces (and the
/// recorded daemons), the namespaces, the state directory. Returns (processes, namespaces).
fn teardown(lab: &str) -> Result<(usize, usize), String> {
    let st = LabState::load(lab).unwrap_or_default();
    let dir = state::dir(lab);
    let existing = netns::namespaces();
    let mut nss: BTreeSet<String> = existing
        .iter()
        .filter(|n| netns::is_lab_ns(lab, n))
        .cloned()
        .collect();
    if let Some(s) = &st {
        nss.extend(
            s.namespaces
                .iter()
                .filter(|n| existing.contains(n))
                .cloned(),
        );
    }
    let mut pids: BTreeSet<u32> = nss.iter().flat_map(|n| netns::pids_in(n)).collect();
    if let Some(s) = &st {
        let mark = dir.to_string_lossy().into_owned();
        pids.extend(
            s.nodes
                .iter()
                .filter_map(|n| n.pid)
                .filter(|&p| netns::alive(p) && netns::cmdline(p).contains(&mark)),
        );
    }
    if let Some(p) = st.as_ref().and_then(|s| s.igp_pid) {
        let c = netns::cmdline(p);
        if netns::alive(p) && c.trim_end().ends_with(&format!(" lab igp --name {lab}")) {
            pids.insert(p);
        }
    }
    pids.remove(&std::process::id());
    let pids: Vec<u32> = pids.into_iter().collect();
    netns::stop(&pids, Duration::from_secs(5));
    let mut errors = Vec::new();
    for n in &nss {
        if let Err(e) = netns::delete_ns(n) {
            errors.push(e);
        }
    }
    if dir.exists()
        && let Err(e) = std::fs::remove_dir_all(&dir)
    {
        errors.push(format!("{}: {e}", dir.display()));
    }
    if errors.is_empty() {
        Ok((pids.len(), nss.len()))
    } else {
        Err(errors.join("; "))
    }
}

fn down(name: Option<String>) -> Result<bool, String> {
    need_root("tern lab down")?;
    let lab = which_lab(name)?;
    let (procs, nss) = teardown(&lab)?;
    if procs + nss == 0 {
        say!("lab {lab}: nothing to remove");
    } else {
        say!("lab {lab}: stopped {procs} processes, deleted {nss} namespaces");
    }
    Ok(true)
}

fn status(name: Option<String>) -> Result<bool, String> {
    let lab = which_lab(name)?;
    let st = LabState::load(&lab)?.ok_or_else(|| format!("lab {lab} is not up"))?;
    say!("lab {} from {}", st.lab, st.source.display());
    say!(
        "state in {}, ternd {}",
        state::dir(&lab).display(),
        st.ternd.display()
    );
    let existing = netns::namespaces();
    for n in &st.nodes {
        let ns = if existing.contains(&n.netns) {
            n.netns.clone()
        } else {
            format!("{} (missing)", n.netns)
        };
        let daemon = match n.pid {
            Some(p) if netns::alive(p) => match peers(n) {
                Ok(ps) => format!(
                    "ternd {p}, {}/{} peers Established",
                    ps.iter().filter(|p| p.state == "Established").count(),
                    ps.len()
                ),
                Err(e) => format!("ternd {p}, control API: {e}"),
            },
            Some(p) => format!("ternd {p} not running"),
            None => "ternd not started".into(),
        };
        let sys = if n.sysname == n.name {
            String::new()
        } else {
            format!(" (sysname {})", n.sysname)
        };
        say!("{}{sys}  {ns}  {daemon}", n.name);
        for f in &n.interfaces {
            let vpn = f
                .vpn_instance
                .as_ref()
                .map(|v| format!("  vpn-instance {v}"))
                .unwrap_or_default();
            say!(
                "  {:<24} {:<15} {}{vpn}",
                f.vrp,
                f.kernel,
                f.addrs.join(" ")
            );
        }
        for l in &n.loopbacks {
            let (vrp, addr) = l.split_once(' ').unwrap_or((l, ""));
            say!("  {vrp:<24} {:<15} {addr}", "lo");
        }
        for r in &n.routes {
            say!("  route {r}");
        }
        say!("  socket {}", n.control.display());
    }
    say!("links:");
    for l in &st.links {
        say!("  {l}");
    }
    if !st.domains.is_empty() {
        say!(
            "IGP stand-in (kernel routes from the ospf blocks, no OSPF runs), domains: {}",
            st.domains
                .iter()
                .map(|d| d.join(" "))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !st.import_bgp.is_empty() {
        let running = match st.igp_pid {
            Some(p) if netns::alive(p) => format!("`tern lab igp` runs (process {p})"),
            Some(p) => format!("`tern lab igp` (process {p}) is not running"),
            None => "`tern lab igp` was not started".into(),
        };
        say!(
            "import-route bgp: {running}, log {}",
            state::igp_log(&lab).display()
        );
        for i in &st.import_bgp {
            say!(
                "  {} (ospf {}) -> {}",
                i.node,
                i.process,
                i.targets
                    .iter()
                    .map(|t| t.node.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        let targets: BTreeSet<(&str, &str)> = st
            .import_bgp
            .iter()
            .flat_map(|i| {
                i.targets
                    .iter()
                    .map(|t| (t.node.as_str(), t.netns.as_str()))
            })
            .collect();
        for (node, ns) in targets {
            let routes = netns::run(
                "ip",
                &[
                    "-n",
                    ns,
                    "-4",
                    "route",
                    "show",
                    "proto",
                    &igp::PROTOCOL.to_string(),
                ],
            )
            .unwrap_or_default();
            for r in routes.lines() {
                say!("  {node}: {}", r.trim());
            }
        }
    }
    for note in &st.notes {
        say!("note: {note}");
    }
    Ok(true)
}

fn exec(
    name: Option<String>,
    node: &str,
    lines: Vec<String>,
    json: bool,
    shell: Shell,
) -> ExitCode {
    let found = which_lab(name).and_then(|lab| {
        let st = LabState::load(&lab)?.ok_or_else(|| format!("lab {lab} is not up"))?;
        let n = st.node(node).ok_or_else(|| {
            format!(
                "lab {lab} has no router {node} (routers: {})",
                st.nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })?;
        if !n.control.exists() {
            return Err(format!(
                "{}: ternd is not running (no {})",
                n.name,
                n.control.display()
            ));
        }
        Ok(n.control.clone())
    });
    match found {
        Ok(sock) if lines.is_empty() => (shell.interactive)(&sock, json),
        Ok(sock) => (shell.run_lines)(&sock, lines, json),
        Err(e) => {
            eprintln!("tern lab exec: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The routers of a running lab, from the files in its state directory (ternd's `--config`).
fn state_routers(st: &LabState) -> Result<Vec<Router>, String> {
    st.nodes
        .iter()
        .map(|n| {
            let text = tern_config::text::read(&n.config)?;
            let config = tern_config::parse_file(&text)
                .map_err(|e| format!("{}: {e}", n.config.display()))?;
            Ok(Router {
                name: n.name.clone(),
                file: n.config.clone(),
                config,
            })
        })
        .collect()
}

/// What each router's ternd says of its peers (`tern lab status`'s query), or why nothing.
fn live_peers(st: &LabState) -> graph::Live {
    st.nodes
        .iter()
        .map(|n| {
            let r = match n.pid {
                Some(p) if netns::alive(p) => peer_json(n).map(|v| {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(graph::LivePeer::from_json)
                        .collect()
                }),
                Some(p) => Err(format!("ternd {p} is not running")),
                None => Err("ternd was not started".into()),
            };
            (n.name.clone(), r.map_err(|e| format!("control API: {e}")))
        })
        .collect()
}

/// An executable in `$PATH`.
fn in_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `dot -Tsvg`: the DOT text rendered.
fn render_svg(dot: &Path, text: &str) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(dot)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", dot.display()))?;
    let mut stdin = child.stdin.take().ok_or("dot: no standard input")?;
    let out = std::thread::scope(|s| {
        let writer = s.spawn(move || stdin.write_all(text.as_bytes()));
        let out = child.wait_with_output();
        let _ = writer.join();
        out
    })
    .map_err(|e| format!("{}: {e}", dot.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} -Tsvg failed ({}): {}",
            dot.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// `tern lab graph`.
fn draw(
    dir: Option<&Path>,
    name: Option<String>,
    format: Option<GraphFormat>,
    output: Option<&Path>,
) -> Result<bool, String> {
    let format = format.unwrap_or_else(|| {
        if output
            .and_then(Path::extension)
            .is_some_and(|x| x.eq_ignore_ascii_case("svg"))
        {
            GraphFormat::Svg
        } else {
            GraphFormat::Dot
        }
    });
    let dot = match format {
        GraphFormat::Dot => None,
        GraphFormat::Svg => Some(in_path("dot").ok_or(
            "SVG needs Graphviz's `dot`, which is not in PATH (install graphviz), or write \
             DOT with --format dot",
        )?),
    };
    let (lab, routers, st) = match dir {
        Some(d) => {
            let d = d
                .canonicalize()
                .map_err(|e| format!("{}: {e}", d.display()))?;
            let routers = read_routers(&d)?;
            let lab = lab_name(&name.unwrap_or_else(|| {
                d.file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }));
            let st = LabState::load(&lab)?;
            (lab, routers, st)
        }
        None => {
            let lab = which_lab(name).map_err(|e| {
                format!("{e}; `tern lab graph DIR` draws a folder whether or not it is up")
            })?;
            let st = LabState::load(&lab)?.ok_or_else(|| format!("lab {lab} is not up"))?;
            (lab, state_routers(&st)?, Some(st))
        }
    };
    let plan = topology::plan(routers.clone()).map_err(|e| e.to_string())?;
    let live = st.as_ref().map(live_peers);
    let text = graph::Graph::build(&lab, &plan, &routers, live.as_ref()).dot();
    let bytes = match &dot {
        None => text.into_bytes(),
        Some(d) => render_svg(d, &text)?,
    };
    match output {
        Some(p) => std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))?,
        None => {
            use std::io::Write as _;
            let mut o = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error.
            let _ = o.write_all(&bytes).and_then(|()| o.flush());
        }
    }
    Ok(true)
}
