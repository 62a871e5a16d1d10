//! FRR 8.4 (zebra + bgpd) as an MPLS-VPN PE with VRFs, inside a test's network namespace.
//!
//! The kernel the tests run on has no VRF devices and no MPLS forwarding, so FRR's netns VRF
//! backend is used: zebra runs with `-n` and every VRF is a network namespace of the same name.
//! bgpd needs zebra for a VRF to be active at all (with `-Z` a `router bgp N vrf X` instance
//! stays VRF_UNKNOWN and nothing is imported into it); see docs/interop.md.
//!
//! zebra finds VRFs by watching `/run/netns`. The host's `/run/netns` is shared by every test
//! running in parallel, and zebra would take each of their namespaces for a VRF. So zebra runs
//! in a mount namespace of its own (the one `ip netns exec` creates) with a private tmpfs on
//! `/run/netns` holding only its VRF namespaces. They are therefore named exactly after the VRFs
//! (`red` in two FRRs at once is fine), appear in no `ip netns list` outside, and vanish with
//! the last process of that mount namespace; bgpd joins it with `nsenter`. Every path zebra and
//! bgpd use (configuration, pid files, vty sockets, the zserv socket, logs) is in the test's
//! scratch directory, and neither opens a TCP vty, so several FRRs run at once beside a system
//! FRR.
//!
//! What a configuration needs for VRF routes to cross (found with FRR 8.4.4, see
//! docs/interop.md): VRF routes come from `redistribute kernel` of routes put into the VRF's
//! namespace ([`Frr::blackhole`]), because a `network` route leaks into the VPN table with next
//! hop 0.0.0.0, which bgpd never registers with zebra, so it stays invalid and is not sent; and
//! the interface to a directly connected EBGP peer needs `mpls bgp forwarding`
//! ([`mpls_bgp_forwarding`]), else routes imported from that peer's VPN routes are invalid
//! (their next hop does not resolve over a labelled path, and there are no labelled paths here).

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;

use super::{Netns, TempDir, wait_for};

const ZEBRA: &str = "/usr/lib/frr/zebra";
const BGPD: &str = "/usr/lib/frr/bgpd";

/// zebra and bgpd of one FRR, with VRFs backed by namespaces private to it. On drop both are
/// killed and reaped; their VRF namespaces go with them.
pub struct Frr {
    pub name: String,
    /// The FRR's own directory: configuration, pid files, sockets, logs.
    pub run: PathBuf,
    zebra: Child,
    bgpd: Option<Child>,
}

fn check_name(what: &str, s: &str) {
    assert!(
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{what} {s:?}: letters, digits, - and _ only"
    );
}

impl Frr {
    /// Starts zebra and bgpd in `ns` with bgpd configuration `conf`, and one VRF namespace per
    /// name in `vrfs` (with `lo` up). Waits until bgpd answers on its vty.
    pub fn start(ns: &Netns, dir: &TempDir, name: &str, conf: &str, vrfs: &[&str]) -> Frr {
        check_name("FRR name", name);
        let run = dir.path(&format!("{name}.frr"));
        std::fs::create_dir_all(&run).expect("frr dir");
        // zebra runs as the packaged user `frr` (its default, which is in the vty group), so
        // the directory where it makes its sockets and pid file must be frr's.
        super::sh(&format!("chown frr:frr {}", run.display()));
        let p = |f: &str| run.join(f).display().to_string();
        std::fs::write(
            run.join("zebra.conf"),
            format!("frr defaults traditional\nhostname {name}\n!\n"),
        )
        .expect("zebra.conf");
        std::fs::write(run.join("bgpd.conf"), conf).expect("bgpd.conf");

        let mut script = String::from("set -e; mount -t tmpfs -o mode=0755 frr-netns /run/netns");
        for v in vrfs {
            check_name("VRF name", v);
            script += &format!("; ip netns add {v}; ip -n {v} link set lo up");
        }
        // -n: VRFs are network namespaces; -P 0: no TCP vty; -z: zserv socket for bgpd.
        script += &format!(
            "; exec {ZEBRA} -n -P 0 -f {} -i {} --vty_socket {} -z {} --log file:{}",
            p("zebra.conf"),
            p("zebra.pid"),
            run.display(),
            p("zserv.api"),
            p("zebra.log"),
        );
        let zebra = ns.spawn(&["sh", "-c", &script], &run.join("zebra.out"));
        let mut frr = Frr {
            name: name.to_string(),
            run: run.clone(),
            zebra,
            bgpd: None,
        };
        if !wait_for(Duration::from_secs(10), || {
            frr.run.join("zserv.api").exists() && frr.run.join("zebra.vty").exists()
        }) {
            panic!("zebra {name} did not start:\n{}", frr.logs());
        }

        frr.start_bgpd();
        frr
    }

    /// Starts bgpd (again) and waits until it answers on its vty.
    pub fn start_bgpd(&mut self) {
        let p = |f: &str| self.run.join(f).display().to_string();
        // bgpd in zebra's network and mount namespaces, so it sees the same VRF namespaces.
        // -S: stay root; -P 0: no TCP vty.
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.run.join("bgpd.out"))
            .expect("bgpd.out");
        let err = out.try_clone().expect("bgpd.out");
        let bgpd = Command::new("nsenter")
            .args(["-t", &self.zebra.id().to_string(), "-m", "-n", "--", BGPD])
            .args(["-S", "-P", "0", "-f", &p("bgpd.conf"), "-i", &p("bgpd.pid")])
            .args(["--vty_socket", &self.run.display().to_string()])
            .args([
                "-z",
                &p("zserv.api"),
                "--log",
                &format!("file:{}", p("bgpd.log")),
            ])
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn bgpd");
        self.bgpd = Some(bgpd);
        if !wait_for(Duration::from_secs(10), || {
            self.run.join("bgpd.vty").exists() && self.vtysh_ok("show bgp vrf all summary json")
        }) {
            panic!("bgpd {} did not start:\n{}", self.name, self.logs());
        }
    }

    /// Kills bgpd with SIGKILL (no NOTIFICATION: its sessions' TCP connections just close);
    /// zebra and the routes it installed stay.
    pub fn kill_bgpd(&mut self) {
        if let Some(mut c) = self.bgpd.take() {
            let _ = c.kill();
            let _ = c.wait();
            let _ = std::fs::remove_dir_all(format!("/var/tmp/frr/bgpd.{}", c.id()));
        }
        let _ = std::fs::remove_file(self.run.join("bgpd.vty"));
    }

    fn vtysh_output(&self, cmd: &str) -> std::process::Output {
        Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.run)
            .args(["-c", cmd])
            .output()
            .expect("vtysh")
    }

    fn vtysh_ok(&self, cmd: &str) -> bool {
        self.vtysh_output(cmd).status.success()
    }

    /// `vtysh -c cmd` against this FRR; its output (stdout and stderr).
    pub fn vtysh(&self, cmd: &str) -> String {
        let o = self.vtysh_output(cmd);
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    /// `vtysh -c cmd` parsed as JSON (`Value::Null` if the output is not JSON).
    pub fn json(&self, cmd: &str) -> Value {
        serde_json::from_slice(&self.vtysh_output(cmd).stdout).unwrap_or(Value::Null)
    }

    /// Applies configuration lines (`configure terminal` first, one `-c` per line).
    pub fn configure(&self, lines: &[&str]) -> String {
        let mut c = Command::new("vtysh");
        c.arg("--vty_socket")
            .arg(&self.run)
            .args(["-c", "configure terminal"]);
        for l in lines {
            c.args(["-c", l]);
        }
        let o = c.output().expect("vtysh");
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    /// Runs a shell command inside the namespace of VRF `vrf`.
    pub fn vrf_sh(&self, vrf: &str, cmd: &str) -> String {
        check_name("VRF name", vrf);
        let out = Command::new("nsenter")
            .args(["-t", &self.zebra.id().to_string(), "-m", "--"])
            .args(["ip", "netns", "exec", vrf, "sh", "-c", cmd])
            .output()
            .expect("nsenter");
        assert!(
            out.status.success(),
            "`{cmd}` in VRF {vrf} of {} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds a blackhole route for `prefix` (IPv4 or IPv6) in VRF `vrf`: a kernel route that
    /// `redistribute kernel` in the VRF's address family turns into a VRF route.
    pub fn blackhole(&self, vrf: &str, prefix: &str) {
        let fam = if prefix.contains(':') { "-6" } else { "-4" };
        self.vrf_sh(vrf, &format!("ip {fam} route add blackhole {prefix}"));
    }

    /// `bgpState` of neighbor `peer` in the default instance.
    pub fn state(&self, peer: &str) -> String {
        self.json(&format!("show bgp neighbors {peer} json"))[peer]["bgpState"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until neighbor `peer` is Established; panics with the logs after `timeout`.
    pub fn wait_established(&self, peer: &str, timeout: Duration) {
        if !wait_for(timeout, || self.state(peer) == "Established") {
            panic!(
                "{}: neighbor {peer} not Established after {timeout:?}:\n{}\n{}",
                self.name,
                self.vtysh(&format!("show bgp neighbors {peer}")),
                self.logs()
            );
        }
    }

    /// The paths of `prefix` in VRF `vrf` (`show bgp vrf V ipv4|ipv6 unicast P json`; each
    /// has `valid`, `remoteLabel`, `extendedCommunity`, `nexthops`, `nhVrfName`, …).
    pub fn vrf_paths(&self, vrf: &str, prefix: &str) -> Vec<Value> {
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        self.json(&format!("show bgp vrf {vrf} {afi} unicast {prefix} json"))["paths"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The paths of `prefix` under `rd` in the VPN table (`show bgp ipv4|ipv6 vpn rd RD P json`).
    pub fn vpn_paths(&self, rd: &str, prefix: &str) -> Vec<Value> {
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        self.json(&format!("show bgp {afi} vpn rd {rd} {prefix} json"))[rd]["paths"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The pids of zebra and bgpd.
    pub fn pids(&self) -> Vec<u32> {
        let mut v = vec![self.zebra.id()];
        v.extend(self.bgpd.as_ref().map(Child::id));
        v
    }

    /// The ends of zebra's and bgpd's logs and their start-up output.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for f in ["zebra.out", "zebra.log", "bgpd.out", "bgpd.log"] {
            let text = std::fs::read_to_string(self.run.join(f)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            s += &format!("--- {} {f} ---\n{tail}\n", self.name);
        }
        s
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        // SIGKILL: zebra 8.4 with netns VRFs crashes in its SIGTERM shutdown (zebra_ns_disabled).
        let mut pids = Vec::new();
        for c in self.bgpd.iter_mut().chain(std::iter::once(&mut self.zebra)) {
            pids.push(c.id());
            let _ = c.kill();
            let _ = c.wait();
        }
        // FRR keeps per-process scratch directories (log buffers) that only a clean exit removes.
        for pid in pids {
            for d in ["zebra", "bgpd"] {
                let _ = std::fs::remove_dir_all(format!("/var/tmp/frr/{d}.{pid}"));
            }
        }
    }
}

/// bgpd configuration that makes routes imported from the VPN routes of a directly connected
/// EBGP peer on interface `dev` valid (FRR 8.4 otherwise wants their next hop resolved over a
/// labelled path).
pub fn mpls_bgp_forwarding(dev: &str) -> String {
    format!("interface {dev}\n mpls bgp forwarding\nexit\n!\n")
}

/// A VRF of a PE: its routes leave as VPN routes with `rd`, the route targets `rt` and the
/// label `label` (`None`: `label vpn export auto`, a label from zebra's label manager), and
/// VPN routes with route target `rt` are imported into it.
pub struct Vrf<'a> {
    pub name: &'a str,
    pub rd: &'a str,
    pub rt: &'a str,
    pub label4: Option<u32>,
    pub label6: Option<u32>,
}

impl Vrf<'_> {
    /// `router bgp ASN vrf NAME` with IPv4 and IPv6 unicast exported to and imported from the
    /// VPN tables; the VRF's routes are its kernel routes (`redistribute kernel`).
    pub fn config(&self, asn: u32, router_id: &str) -> String {
        let mut s = format!(
            "router bgp {asn} vrf {}\n bgp router-id {router_id}\n",
            self.name
        );
        for (afi, label) in [("ipv4", self.label4), ("ipv6", self.label6)] {
            let label = label.map_or_else(|| "auto".to_string(), |l| l.to_string());
            s += &format!(
                " address-family {afi} unicast\n  redistribute kernel\n  rd vpn export {}\n  \
                 rt vpn both {}\n  label vpn export {label}\n  export vpn\n  import vpn\n \
                 exit-address-family\n",
                self.rd, self.rt
            );
        }
        s + "exit\n!\n"
    }
}

/// A whole bgpd configuration for a PE: EBGP or IBGP neighbors `(address, AS)` in the default
/// instance with only VPNv4 and VPNv6 activated, `mpls bgp forwarding` on the interfaces
/// `mpls_devs` (those towards directly connected EBGP peers whose VPN routes are imported), and
/// the VRFs.
pub fn pe_config(
    hostname: &str,
    asn: u32,
    router_id: &str,
    neighbors: &[(&str, u32)],
    mpls_devs: &[&str],
    vrfs: &[Vrf],
) -> String {
    let mut s = format!("frr defaults traditional\nhostname {hostname}\n!\n");
    for d in mpls_devs {
        s += &mpls_bgp_forwarding(d);
    }
    s += &format!(
        "router bgp {asn}\n bgp router-id {router_id}\n no bgp default ipv4-unicast\n \
         no bgp ebgp-requires-policy\n"
    );
    for (n, r) in neighbors {
        s += &format!(
            " neighbor {n} remote-as {r}\n neighbor {n} timers 10 30\n \
             neighbor {n} timers connect 5\n"
        );
    }
    for afi in ["ipv4", "ipv6"] {
        s += &format!(" !\n address-family {afi} vpn\n");
        for (n, _) in neighbors {
            s += &format!("  neighbor {n} activate\n");
        }
        s += " exit-address-family\n";
    }
    s += "exit\n!\n";
    for v in vrfs {
        s += &v.config(asn, router_id);
    }
    s
}
