//! `tern lab` end to end, on three small routers:
//!
//! ```text
//!  R1 ──────────── R2 ──────────── R3
//!  AS 100          AS 100          AS 200
//!  1.1.1.1         2.2.2.2         3.3.3.3 (network 3.3.3.3/32)
//!     10.0.12.0/30    10.0.23.0/30
//! ```
//!
//! R1 and R2 run IBGP between loopbacks, which only the lab's IGP stand-in (routes from the
//! `ospf` blocks) makes reachable; R2 and R3 run EBGP over their link, which is in no OSPF
//! `network` statement. Checked: `up` converges, `status` shows the kernel names and routes,
//! `exec` reaches a router's ternd, R3's prefix reaches R1, `down` leaves no namespace, veth,
//! daemon or state; a second `up` after a daemon was killed (state left behind) cleans up
//! first; without root `up` refuses before making anything.
//!
//! Needs root (network namespaces). The tern and ternd binaries are built by the test (`cargo
//! build -p tern -p ternd` into this test's target directory and profile), since `cargo test
//! -p tern-lab` does not build other packages' binaries.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{alive, tern, ternd, text};
use serde_json::Value;

const R1: &str = "#
sysname R1
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.12.1 255.255.255.252
#
interface LoopBack1
 ip address 1.1.1.1 255.255.255.255
#
bgp 100
 peer 2.2.2.2 as-number 100
 peer 2.2.2.2 connect-interface LoopBack1
#
ospf 1
 area 0.0.0.0
  network 1.1.1.1 0.0.0.0
  network 10.0.12.0 0.0.0.3
#
return
";

const R2: &str = "#
sysname R2
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.12.2 255.255.255.252
#
interface GigabitEthernet0/2/0
 undo shutdown
 ip address 10.0.23.1 255.255.255.252
#
interface LoopBack1
 ip address 2.2.2.2 255.255.255.255
#
bgp 100
 peer 1.1.1.1 as-number 100
 peer 1.1.1.1 connect-interface LoopBack1
 peer 10.0.23.2 as-number 200
#
ospf 1
 area 0.0.0.0
  network 2.2.2.2 0.0.0.0
  network 10.0.12.0 0.0.0.3
#
return
";

const R3: &str = "#
sysname R3
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.23.2 255.255.255.252
#
interface LoopBack1
 ip address 3.3.3.3 255.255.255.255
#
bgp 200
 peer 10.0.23.1 as-number 100
 #
 ipv4-family unicast
  network 3.3.3.3 255.255.255.255
#
return
";

/// A lab of the three routers with a name and state directory of its own; `down` on drop.
struct Lab {
    name: String,
    dir: PathBuf,
    state_root: PathBuf,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let name = format!("t{}{tag}", std::process::id() % 100_000);
        let base = std::env::temp_dir().join(format!("tern-lab-test-{name}"));
        let dir = base.join("routers");
        let state_root = base.join("state");
        std::fs::create_dir_all(&dir).unwrap();
        for (f, t) in [("R1.cfg", R1), ("R2.cfg", R2), ("R3.cfg", R3)] {
            std::fs::write(dir.join(f), t).unwrap();
        }
        Lab {
            name,
            dir,
            state_root,
        }
    }

    fn tern(&self, args: &[&str]) -> Output {
        Command::new(tern())
            .env("TERN_LAB_DIR", &self.state_root)
            .args(args)
            .output()
            .expect("run tern")
    }

    /// `tern lab up`, its output; panics with it when `up` fails.
    fn up(&self) -> String {
        let out = self.tern(&[
            "lab",
            "up",
            self.dir.to_str().unwrap(),
            "--name",
            &self.name,
            "--ternd",
            ternd().to_str().unwrap(),
            "--timeout",
            "60",
        ]);
        let text = text(&out);
        assert!(out.status.success(), "tern lab up failed:\n{text}");
        text
    }

    fn run(&self, args: &[&str]) -> String {
        let mut v = vec!["lab"];
        v.extend_from_slice(&args[..1]);
        v.extend_from_slice(&["--name", &self.name]);
        v.extend_from_slice(&args[1..]);
        let out = self.tern(&v);
        let t = text(&out);
        assert!(out.status.success(), "tern {v:?} failed:\n{t}");
        t
    }

    fn state_dir(&self) -> PathBuf {
        self.state_root.join(&self.name)
    }

    /// The daemons' process IDs as recorded in the state.
    fn pids(&self) -> Vec<(String, u32)> {
        let t = std::fs::read_to_string(self.state_dir().join("lab.json")).expect("lab.json");
        let v: Value = serde_json::from_str(&t).unwrap();
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_owned(),
                    u32::try_from(n["pid"].as_u64().unwrap()).unwrap(),
                )
            })
            .collect()
    }

    fn namespaces(&self) -> Vec<String> {
        common::namespaces(&format!("tern-{}-", self.name))
    }

    /// Nothing of the lab is left: namespaces, veths, daemons, state.
    fn assert_gone(&self, pids: &[(String, u32)]) {
        assert_eq!(self.namespaces(), Vec::<String>::new());
        for (node, pid) in pids {
            assert!(!alive(*pid), "{node}'s ternd {pid} still runs");
        }
        let mark = self.state_dir().to_string_lossy().into_owned();
        for (pid, cmd) in common::processes() {
            assert!(
                !(cmd.contains("ternd") && cmd.contains(&mark)),
                "a ternd of the lab still runs: {pid} {cmd}"
            );
        }
        // The veths were created in the lab's namespaces, never in this one, and went with
        // them; none is left here under the lab's kernel names.
        let links = Command::new("ip")
            .args(["-o", "link", "show", "type", "veth"])
            .output()
            .unwrap();
        let links = String::from_utf8_lossy(&links.stdout);
        assert!(!links.contains(" ge0-"), "{links}");
        assert!(!self.state_dir().exists());
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.tern(&["lab", "down", "--name", &self.name]);
        if let Some(base) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(base);
        }
    }
}

#[test]
fn up_status_exec_down() {
    let lab = Lab::new("a");
    let out = lab.up();
    assert!(out.contains("stand in for them"), "{out}");
    assert!(
        out.contains("R1: 2.2.2.2/32 via 10.0.12.2 dev ge0-1-0 (R2, 1 hop)"),
        "{out}"
    );
    assert!(out.contains("R1: 1/1 peers Established"), "{out}");
    assert!(out.contains("R2: 2/2 peers Established"), "{out}");
    assert!(
        out.contains("BGP converged: 4 peers Established on 3 routers"),
        "{out}"
    );
    assert_eq!(lab.namespaces().len(), 3);

    let status = lab.run(&["status"]);
    assert!(
        status.contains("GigabitEthernet0/2/0     ge0-2-0         10.0.23.1/30"),
        "{status}"
    );
    assert!(
        status.contains("LoopBack1                lo              1.1.1.1/32"),
        "{status}"
    );
    assert!(
        status.contains("route 1.1.1.1/32 via 10.0.12.1 dev ge0-1-0 (R1, 1 hop)"),
        "{status}"
    );
    assert!(status.contains("R2  "), "{status}");
    assert!(status.contains("2/2 peers Established"), "{status}");

    let peers = lab.run(&["exec", "R1", "display bgp peer"]);
    assert!(peers.contains("2.2.2.2"), "{peers}");
    assert!(peers.contains("Established"), "{peers}");
    // A router's name in any case; JSON; R3's prefix crossed R2 into R1 over IBGP.
    let json = lab.run(&["exec", "--json", "r2", "display bgp peer"]);
    let v: Value = serde_json::from_str(&json).expect(&json);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "Established"),
        "{json}"
    );
    let mut table = String::new();
    for _ in 0..50 {
        table = lab.run(&["exec", "R1", "display bgp routing-table"]);
        if table.contains("3.3.3.3/32") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(table.contains("3.3.3.3/32"), "{table}");
    // A router the lab does not have.
    let out = lab.tern(&["lab", "exec", "--name", &lab.name, "R9", "display bgp peer"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("has no router R9"), "{}", text(&out));

    let pids = lab.pids();
    let down = lab.run(&["down"]);
    assert!(
        down.contains("stopped 3 processes, deleted 3 namespaces"),
        "{down}"
    );
    lab.assert_gone(&pids);
    let again = lab.run(&["down"]);
    assert!(again.contains("nothing to remove"), "{again}");
}

#[test]
fn a_second_up_after_a_crash_cleans_up_first() {
    let lab = Lab::new("b");
    lab.up();
    let first = lab.pids();
    // A daemon dies; the state is left behind as it was.
    let (_, r2) = first.iter().find(|(n, _)| n == "R2").unwrap().clone();
    assert!(
        Command::new("kill")
            .args(["-9", &r2.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = lab.up();
    assert!(
        out.contains("removed what an earlier run left (2 processes, 3 namespaces)"),
        "{out}"
    );
    assert!(out.contains("BGP converged"), "{out}");
    for (node, pid) in &first {
        assert!(!alive(*pid), "{node}'s old ternd {pid} still runs");
    }
    let second = lab.pids();
    lab.run(&["down"]);
    lab.assert_gone(&second);
}

#[test]
fn without_root_nothing_is_made() {
    let lab = Lab::new("c");
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("setpriv (util-linux) is missing: not checked");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(tern())
        .env("TERN_LAB_DIR", &lab.state_root)
        .args(["lab", "up", lab.dir.to_str().unwrap(), "--name", &lab.name])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("tern lab up needs root") && text(&out).contains("nothing was changed"),
        "{}",
        text(&out)
    );
    assert_eq!(lab.namespaces(), Vec::<String>::new());
    assert!(!lab.state_root.exists());
}
