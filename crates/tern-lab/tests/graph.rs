//! `tern lab graph` end to end.
//!
//! - The seed example (`examples/seed-option-c-rr`, two ASes, a route reflector in each) is
//!   brought up; once BGP has converged the graph names every router, every link's subnet and
//!   every session, each session green (Established) with the addresses ternd reports, the
//!   reflectors' sessions directed to their clients; Graphviz's `dot -Tsvg` renders it (an
//!   SVG with every router), and `-o FILE.svg` writes the same through `dot`. A router's
//!   daemon is then killed: its session is no longer green, and the graph says why. `down`
//!   leaves no namespace or state. Needs root (network namespaces).
//! - A folder whose lab is not up (`ipv4-option-b-rr`): drawn as configured, every session
//!   grey, the RR's three clients directed; rendered by `dot`; `--format svg` without `dot`
//!   in `PATH` is refused and writes nothing. No root needed.

mod common;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{alive, tern, ternd, text};
use serde_json::Value;

/// Graphviz's `dot`, as Debian's graphviz installs it.
const DOT: &str = "/usr/bin/dot";

const GREEN: &str = "#1a9641";
const GREY: &str = "#8c8c8c";

fn example(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A lab with a name and state directory of its own; `down` on drop.
struct Lab {
    name: String,
    state_root: PathBuf,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let name = format!("g{}{tag}", std::process::id() % 100_000);
        let state_root = std::env::temp_dir().join(format!("tern-graph-test-{name}"));
        Lab { name, state_root }
    }

    fn tern(&self, args: &[&str]) -> Output {
        Command::new(tern())
            .env("TERN_LAB_DIR", &self.state_root)
            .args(args)
            .output()
            .expect("run tern")
    }

    /// `tern lab graph --name LAB` and more arguments; its standard output.
    fn graph(&self, more: &[&str]) -> String {
        let mut args = vec!["lab", "graph", "--name", &self.name];
        args.extend_from_slice(more);
        let out = self.tern(&args);
        assert!(
            out.status.success(),
            "tern lab graph failed: {}",
            text(&out)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// A router's `display bgp peer` (JSON).
    fn peers(&self, node: &str) -> Vec<Value> {
        let out = self.tern(&[
            "lab",
            "exec",
            "--name",
            &self.name,
            "--json",
            node,
            "display bgp peer",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        v.as_array().cloned().unwrap_or_default()
    }

    fn state(&self) -> Value {
        let t = std::fs::read_to_string(self.state_root.join(&self.name).join("lab.json"))
            .expect("lab.json");
        serde_json::from_str(&t).unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.tern(&["lab", "down", "--name", &self.name]);
        let _ = std::fs::remove_dir_all(&self.state_root);
    }
}

/// The statements of the edges between two nodes, either way, in order.
fn edges<'a>(dot: &'a str, a: &str, b: &str) -> Vec<&'a str> {
    let (ab, ba) = (
        format!("\"{a}\" -> \"{b}\" ["),
        format!("\"{b}\" -> \"{a}\" ["),
    );
    dot.lines()
        .map(str::trim)
        .filter(|l| l.starts_with(&ab) || l.starts_with(&ba))
        .collect()
}

/// The BGP session edges (those labelled IBGP or EBGP).
fn sessions(dot: &str) -> Vec<&str> {
    dot.lines()
        .map(str::trim)
        .filter(|l| l.contains(" -> ") && l.contains("BGP "))
        .collect()
}

/// Runs `dot -Tsvg` on the text; the SVG.
fn render(dot_text: &str) -> String {
    let mut child = Command::new(DOT)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dot (Debian package graphviz)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot_text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot -Tsvg failed: {}\n{dot_text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 SVG")
}

/// An SVG made by `dot`, with a node titled after each router.
fn assert_svg(svg: &str, routers: &[&str]) {
    assert!(
        svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    for r in routers {
        assert!(svg.contains(&format!("<title>{r}</title>")), "{r} in {svg}");
    }
}

const SEED_ROUTERS: [&str; 8] = ["ASBR1", "ASBR2", "CE1", "CE2", "PE1", "PE2", "RR1", "RR2"];

#[test]
fn the_running_seed_lab_is_drawn_with_its_sessions_state() {
    let lab = Lab::new("s");
    let out = lab.tern(&[
        "lab",
        "up",
        example("../../examples/seed-option-c-rr").to_str().unwrap(),
        "--name",
        &lab.name,
        "--ternd",
        ternd().to_str().unwrap(),
        "--timeout",
        "120",
    ]);
    assert!(out.status.success(), "tern lab up failed:\n{}", text(&out));

    let dot = lab.graph(&[]);
    assert!(dot.starts_with(&format!("digraph \"tern lab {}\" {{", lab.name)));
    assert!(dot.contains("BGP state from the running ternds"), "{dot}");
    // Every router, in its AS's cluster.
    for (asn, routers) in [
        ("100", &["ASBR1", "PE1", "RR1"][..]),
        ("200", &["ASBR2", "PE2", "RR2"][..]),
        ("65001", &["CE1"][..]),
        ("1.10", &["CE2"][..]),
    ] {
        let key = if asn == "1.10" { "65546" } else { asn };
        let head = format!("subgraph \"cluster_as_{key}\" {{");
        let block: Vec<&str> = dot
            .lines()
            .skip_while(|l| l.trim() != head)
            .skip(1)
            .take_while(|l| l.trim() != "}")
            .collect();
        assert!(
            block
                .first()
                .is_some_and(|l| l.contains(&format!("label=\"AS {asn}\""))),
            "{head}: {dot}"
        );
        for r in routers {
            assert!(
                block
                    .iter()
                    .any(|l| l.trim().starts_with(&format!("\"{r}\" [label=\"{r}\\n"))),
                "{r} in AS {asn}: {dot}"
            );
        }
    }
    assert!(dot.contains("\"RR1\" [label=\"RR1\\nRR · AS 100\\nrouter ID 7.7.7.9\\n"));
    assert!(dot.contains("\"PE2\" [label=\"PE2\\nPE · AS 200\\nrouter ID 4.4.4.9\\n"));
    // Every link with its subnet.
    for (a, b, subnet) in [
        ("ASBR1", "PE1", "10.10.1.0/24"),
        ("ASBR1", "RR1", "10.11.1.0/24"),
        ("ASBR1", "ASBR2", "10.21.1.0/24"),
        ("ASBR2", "PE2", "10.40.1.0/24"),
        ("ASBR2", "RR2", "10.41.1.0/24"),
        ("CE1", "PE1", "2001:db8:1::/64"),
        ("CE2", "PE2", "2001:db8:2::/64"),
    ] {
        let e = edges(&dot, a, b);
        assert!(
            e.iter()
                .any(|l| l.contains(&format!("label=\"{subnet}\"")) && l.contains("dir=\"none\"")),
            "link {a}–{b} {subnet}: {e:?}"
        );
    }
    // Every session, as ternd reports it: Established, green, both addresses.
    let drawn = sessions(&dot);
    assert_eq!(drawn.len(), 10, "{drawn:#?}");
    for l in &drawn {
        assert!(
            l.contains("BGP Established\\n")
                && l.contains(&format!("color=\"{GREEN}\""))
                && !l.contains("Connection refused"),
            "{l}"
        );
    }
    for r in SEED_ROUTERS {
        for p in lab.peers(r) {
            assert_eq!(p["state"], "Established", "{r}: {p}");
            let local: SocketAddr = p["local"].as_str().unwrap().parse().unwrap();
            let local = local.ip().to_canonical().to_string();
            let addr = p["addr"].as_str().unwrap().to_owned();
            assert!(
                drawn
                    .iter()
                    .any(|l| l.contains(&format!("\\n{local} - {addr}"))
                        || l.contains(&format!("\\n{addr} - {local}"))),
                "{r}'s session {local} - {addr}: {drawn:#?}"
            );
        }
    }
    // Families, and the PE–CE sessions in their VPN instance.
    let pe1_ce1 = edges(&dot, "CE1", "PE1");
    assert!(
        pe1_ce1
            .iter()
            .any(|l| l.contains("EBGP Established\\nvpn-instance vpn1: ipv6-unicast\\n")),
        "{pe1_ce1:?}"
    );
    let rr = edges(&dot, "RR1", "RR2");
    assert!(
        rr[0].contains("EBGP Established\\nvpnv6\\n7.7.7.9 - 8.8.8.9"),
        "{rr:?}"
    );
    // The reflectors, directed to their clients; no other session is directed.
    for (reflector, client, addrs) in [
        ("RR1", "PE1", "7.7.7.9 - 1.1.1.9"),
        ("RR2", "PE2", "8.8.8.9 - 4.4.4.9"),
    ] {
        let e = edges(&dot, reflector, client);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(&format!("\"{reflector}\" -> \"{client}\" ["))
                && e[0].contains("dir=\"forward\"")
                && e[0].contains(&format!(
                    "IBGP Established\\nvpnv6\\n{addrs}\\n{reflector} reflects to {client} (vpnv6)"
                )),
            "{}",
            e[0]
        );
    }
    assert_eq!(
        drawn
            .iter()
            .filter(|l| l.contains("dir=\"forward\""))
            .count(),
        2,
        "{drawn:#?}"
    );

    // dot renders it; `-o FILE.svg` writes SVG through dot.
    assert_svg(&render(&dot), &SEED_ROUTERS);
    let file = lab.state_root.join("seed.svg");
    lab.graph(&["-o", file.to_str().unwrap()]);
    assert_svg(&std::fs::read_to_string(&file).unwrap(), &SEED_ROUTERS);

    // CE2's daemon dies: PE2 sees the session go down; CE2's side is unknown.
    let st = lab.state();
    let ce2 = st["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "CE2")
        .and_then(|n| n["pid"].as_u64())
        .and_then(|p| u32::try_from(p).ok())
        .unwrap();
    assert!(
        Command::new("kill")
            .args(["-9", &ce2.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let edge = loop {
        let dot = lab.graph(&[]);
        let e = edges(&dot, "CE2", "PE2")
            .into_iter()
            .find(|l| l.contains("BGP "))
            .map(str::to_owned)
            .unwrap();
        if !e.contains("Established") || Instant::now() > deadline {
            break e;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(!alive(ce2));
    assert!(
        !edge.contains("Established") && !edge.contains(GREEN),
        "{edge}"
    );
    assert!(
        edge.contains(&format!("CE2: control API: ternd {ce2} is not running")),
        "{edge}"
    );

    let out = lab.tern(&["lab", "down", "--name", &lab.name]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        common::namespaces(&format!("tern-{}-", lab.name)),
        Vec::<String>::new()
    );
    assert!(!lab.state_root.join(&lab.name).exists());
    let mark = lab
        .state_root
        .join(&lab.name)
        .to_string_lossy()
        .into_owned();
    for (pid, cmd) in common::processes() {
        assert!(
            !(cmd.contains("ternd") && cmd.contains(&mark)),
            "a ternd of the lab still runs: {pid} {cmd}"
        );
    }
}

#[test]
fn a_folder_that_is_not_up_is_drawn_as_configured() {
    let dir = example("../../../shared/reference/huawei/ipv4-option-b-rr");
    // An empty state root: no lab is up.
    let lab = Lab::new("f");
    std::fs::create_dir_all(&lab.state_root).unwrap();
    let out = lab.tern(&["lab", "graph", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.contains("(not up: sessions as configured)"), "{dot}");
    let routers = [
        "ASBR1", "ASBR2", "CE1", "CE2", "CE3", "PE1", "PE2", "PE3", "RR",
    ];
    for r in routers {
        assert!(
            dot.contains(&format!("  \"{r}\" [label=\"{r}")),
            "{r}: {dot}"
        );
    }
    // ASBR2.cfg says `sysname ASBR1`.
    assert!(dot.contains("\"ASBR2\" [label=\"ASBR2 (sysname ASBR1)\\nASBR · AS 200"));
    for subnet in [
        "10.10.1.0/24",
        "10.20.1.0/24",
        "10.30.1.0/24",
        "12.12.12.0/24",
        "10.40.1.0/24",
        "10.1.1.0/24",
        "10.2.1.0/24",
        "10.3.1.0/24",
    ] {
        assert!(
            dot.contains(&format!("label=\"{subnet}\"")),
            "{subnet}: {dot}"
        );
    }
    let drawn = sessions(&dot);
    assert_eq!(drawn.len(), 8, "{drawn:#?}");
    for l in &drawn {
        assert!(
            l.contains("BGP configured\\n") && l.contains(&format!("color=\"{GREY}\"")),
            "{l}"
        );
    }
    for client in ["PE1", "PE3", "ASBR1"] {
        let e = edges(&dot, "RR", client);
        let s: Vec<&&str> = e.iter().filter(|l| l.contains("BGP ")).collect();
        assert!(
            s.len() == 1
                && s[0].starts_with(&format!("\"RR\" -> \"{client}\" ["))
                && s[0].contains("dir=\"forward\"")
                && s[0].contains(&format!("RR reflects to {client} (vpnv4)")),
            "{s:?}"
        );
    }
    assert_svg(&render(&dot), &routers);

    // Without dot in PATH, SVG is refused and nothing is written.
    let file = lab.state_root.join("b.svg");
    let out = Command::new(tern())
        .env("TERN_LAB_DIR", &lab.state_root)
        .env("PATH", "/nonexistent")
        .args(["lab", "graph", dir.to_str().unwrap(), "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("SVG needs Graphviz's `dot`, which is not in PATH"),
        "{}",
        text(&out)
    );
    assert!(!file.exists());
    // With it, the file is SVG.
    let out = lab.tern(&[
        "lab",
        "graph",
        dir.to_str().unwrap(),
        "--format",
        "svg",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_svg(&std::fs::read_to_string(&file).unwrap(), &routers);
}
