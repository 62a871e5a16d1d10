//! Least privilege: ternd run as user `nobody` holding only the capabilities the systemd unit
//! in contrib/systemd grants (through `setpriv`, ambient capabilities, no new privileges)
//! listens on port 179, brings up an MD5-signed, GTSM-checked session with FRR, installs the
//! routes it learns into the kernel, keeps its state and answers on its control socket; the
//! unit itself passes `systemd-analyze verify`.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F (FRR). Needs root, FRR, util-linux's setpriv and
//! systemd-analyze.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, wait_for};

const FRR_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 password tern-Secret1
 neighbor 10.0.0.1 ttl-security hops 1
 neighbor 10.0.0.1 timers 3 9
 neighbor 10.0.0.1 timers connect 2
 !
 address-family ipv4 unicast
  redistribute kernel
  neighbor 10.0.0.1 activate
 exit-address-family
!
";

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 3 hold 9
 peer 10.0.0.2 password simple tern-Secret1
 peer 10.0.0.2 valid-ttl-hops 1
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
";

/// The capabilities the unit grants, as setpriv names them.
fn unit_caps() -> String {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contrib/systemd/ternd.service"
    ))
    .unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("AmbientCapabilities="))
        .expect("AmbientCapabilities");
    line.split_whitespace()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn ternd_runs_as_an_unprivileged_user_with_the_units_capabilities() {
    let dir = TempDir::new("priv");
    std::fs::set_permissions(dir.path(""), std::fs::Permissions::from_mode(0o777)).unwrap();
    let t_ns = Netns::new("privt");
    let f_ns = Netns::new("privf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    f_ns.sh("ip route add blackhole 198.18.0.1/32; ip route add blackhole 198.18.0.2/32");
    let _f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);

    let cfg = dir.write("t.cfg", T_CFG);
    std::os::unix::fs::chown(&cfg, Some(65534), Some(65534)).unwrap();
    let sock = dir.path("t.sock");
    let log = dir.path("t.log");
    let caps = unit_caps();
    let bin = common::ternd_bin().display().to_string();
    let mut child = t_ns.spawn(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--no-new-privs",
            &format!("--inh-caps=-all,{caps}"),
            &format!("--ambient-caps=-all,{caps}"),
            &format!("--bounding-set=-all,{caps}"),
            &bin,
            "--config",
            &cfg.display().to_string(),
            "--control",
            &sock.display().to_string(),
            "--listen",
            "0.0.0.0:179",
        ],
        &log,
    );
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(10), || sock.exists()),
        "ternd did not start as nobody:\n{}",
        log_text()
    );
    // It runs as nobody, with those capabilities only.
    let status = std::fs::read_to_string(format!("/proc/{}/status", {
        // The child is `ip netns exec` which execs setpriv which execs ternd: same pid.
        child.id()
    }))
    .unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("65534")),
        "{status}"
    );
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    let (bind, admin) = (1u64 << 10, 1u64 << 12);
    assert_eq!(cap_eff, bind | admin, "CapEff {cap_eff:x}");

    let t = Ternd {
        child: Command::new("true").spawn().unwrap(),
        control: sock.clone(),
        log: log.clone(),
    };
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    // The routes learned go into the kernel.
    let installed = wait_for(Duration::from_secs(30), || {
        let r = t_ns.sh("ip route show root 198.18.0.0/24");
        r.contains("198.18.0.1") && r.contains("198.18.0.2")
    });
    assert!(installed, "{}\n{}", t_ns.sh("ip route"), log_text());
    // Its state is its own.
    let state = dir.path("t.cfg.state");
    assert!(state.is_dir());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&state).unwrap().uid(), 65534);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_systemd_unit_verifies() {
    let dir = TempDir::new("unit");
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contrib/systemd/ternd.service"
    ))
    .unwrap()
    .replace(
        "/usr/local/sbin/ternd",
        &common::ternd_bin().display().to_string(),
    );
    let path = dir.write("ternd.service", &unit);
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("ternd.service:"), "{text}");
}
