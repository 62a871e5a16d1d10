//! 4-byte AS numbers in dotted notation (RFC 5396) end to end, against FRR: ternd T is
//! configured through `tern -c` as `bgp 1.100` (65636) with the peer F `as-number 2.200`
//! (FRR, AS 131272), and a VPN instance with RD `1.100:1` and route target `2.200:7`.
//!
//! - The configuration keeps each number as typed: `display current-configuration` after
//!   `commit`, the file `save` writes, and the configuration after T restarts from that
//!   file (`bgp 65636` typed later enters the same BGP view, which stays `bgp 1.100`).
//! - Displays follow `as-notation`: by default `display bgp peer` (local AS, peer AS),
//!   `display bgp peer X verbose`, the routing table's AS paths and a destination's detail
//!   write 4-byte AS numbers as x.y (2-byte ones stay plain); after `as-notation plain` and
//!   `commit` (typed in the interactive shell, driven through tmux) they write integers; the
//!   setting survives save and restart, and `undo as-notation plain` brings x.y back.
//!
//! T starts from a file with `bgp 1.100`; the peer and the VPN instance are committed.
//! F sends 203.0.113.0/24 with AS path `131272 65537 100` (dotted: `2.200 1.1 100`).
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F. Needs root (network namespaces), FRR, tmux,
//! and the `tern` binary next to `ternd` (`cargo test --workspace` builds it; alone:
//! `cargo build -p tern`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, ternd_bin, wait_for};
use serde_json::Value;

const T_CFG: &str = "#
sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 1.100
 router-id 10.0.0.1
#
return
";

const FRR_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 131272
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 65636
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 unicast
  network 203.0.113.0/24
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.1 route-map prepend out
 exit-address-family
!
route-map prepend permit 10
 set as-path prepend 65537 100
!
";

/// The `tern` binary, built next to `ternd`.
fn tern_bin() -> PathBuf {
    let p = ternd_bin().with_file_name("tern");
    assert!(
        p.exists(),
        "{} is missing: build it first (cargo build -p tern)",
        p.display()
    );
    p
}

/// `tern --socket S -c L1 -c L2 ...`: (success, stdout, stderr).
fn tern_c(sock: &Path, lines: &[&str]) -> (bool, String, String) {
    let mut c = Command::new(tern_bin());
    c.arg("--socket").arg(sock);
    for l in lines {
        c.args(["-c", l]);
    }
    let out = c.output().expect("run tern");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs lines that must all succeed; their output.
fn tern_ok(sock: &Path, lines: &[&str]) -> String {
    let (ok, out, err) = tern_c(sock, lines);
    assert!(ok, "{lines:?}:\n{out}\n{err}");
    out
}

/// The lines of `text` with leading and trailing blanks trimmed.
fn has_line(text: &str, want: &str) -> bool {
    text.lines().any(|l| l.trim() == want.trim())
}

/// The (last) row of `display bgp peer` for the peer.
fn peer_row(text: &str) -> String {
    text.lines()
        .rfind(|l| l.trim_start().starts_with("10.0.0.2 "))
        .unwrap_or_default()
        .to_owned()
}

/// T holds F's route.
fn t_has_route(t: &Ternd) -> bool {
    let Ok(text) = t.display("display bgp routing-table", true) else {
        return false;
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v["routes"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r["prefix"] == "203.0.113.0/24"))
}

/// Checks every display in one notation.
fn displays_are(sock: &Path, dotted: bool) {
    let (local, peer, path) = if dotted {
        ("1.100", "2.200", "2.200 1.1 100")
    } else {
        ("65636", "131272", "131272 65537 100")
    };
    let out = tern_ok(sock, &["display bgp peer"]);
    assert!(
        has_line(&out, &format!("Local AS number : {local}")),
        "{out}"
    );
    let row = peer_row(&out);
    assert_eq!(
        row.split_whitespace().nth(2),
        Some(peer),
        "peer AS column: {out}"
    );
    let out = tern_ok(sock, &["display bgp peer 10.0.0.2 verbose"]);
    assert!(
        out.starts_with(&format!("BGP Peer is 10.0.0.2,  remote AS {peer}\n")),
        "{out}"
    );
    let out = tern_ok(sock, &["display bgp routing-table"]);
    let row = out
        .lines()
        .find(|l| l.contains("203.0.113.0/24"))
        .unwrap_or_default();
    assert!(row.ends_with(&format!(" {path}i")), "{out}");
    let out = tern_ok(sock, &["display bgp routing-table 203.0.113.1"]);
    assert!(
        has_line(&out, &format!("Local AS number : {local}")),
        "{out}"
    );
    assert!(
        out.contains(&format!(" AS-path {path}, origin igp,")),
        "{out}"
    );
}

/// The typed forms in a configuration text.
fn config_keeps_forms(text: &str, plain: bool) {
    for want in [
        "bgp 1.100",
        " peer 10.0.0.2 as-number 2.200",
        "  route-distinguisher 1.100:1",
        "  vpn-target 2.200:7 export-extcommunity",
        "  vpn-target 2.200:7 import-extcommunity",
    ] {
        assert!(has_line(text, want), "missing `{want}`:\n{text}");
    }
    assert_eq!(has_line(text, "as-notation plain"), plain, "{text}");
    assert!(
        !text.contains("65636") && !text.contains("131272"),
        "{text}"
    );
}

/// A tmux server of its own running the interactive shell, killed on drop.
struct Shell {
    server: String,
}

impl Shell {
    fn start(sock: &Path) -> Shell {
        let s = Shell {
            server: format!("tern-asn-{}", std::process::id()),
        };
        let cmd = format!("{} --socket {}", tern_bin().display(), sock.display());
        let ok = Command::new("tmux")
            .args(["-L", &s.server, "new-session", "-d", "-s", "shell"])
            .args(["-x", "150", "-y", "60", &cmd])
            .status()
            .is_ok_and(|st| st.success());
        assert!(ok, "tmux is needed (scripts/test.sh installs it)");
        s
    }

    fn line(&self, text: &str) {
        let ok = Command::new("tmux")
            .args(["-L", &self.server, "send-keys", "-t", "shell", "-l", text])
            .status()
            .is_ok_and(|st| st.success());
        assert!(ok, "send-keys {text}");
        let ok = Command::new("tmux")
            .args(["-L", &self.server, "send-keys", "-t", "shell", "Enter"])
            .status()
            .is_ok_and(|st| st.success());
        assert!(ok, "send-keys Enter");
    }

    fn screen(&self) -> Vec<String> {
        let out = Command::new("tmux")
            .args(["-L", &self.server, "capture-pane", "-p", "-t", "shell"])
            .output()
            .expect("capture-pane");
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end().to_owned())
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    /// Waits until the cursor's line is `prompt`; the screen.
    fn until(&self, prompt: &str) -> Vec<String> {
        let ok = wait_for(Duration::from_secs(10), || {
            self.screen().last().is_some_and(|l| l == prompt)
        });
        let s = self.screen();
        assert!(ok, "expected `{prompt}`:\n{}", s.join("\n"));
        s
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.server, "kill-server"])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn dotted_as_numbers_are_kept_as_typed_and_displayed_per_as_notation() {
    let dir = TempDir::new("asn");
    let t_ns = Netns::new("ant");
    let f_ns = Netns::new("anf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let mut t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let f = Frr::start(&f_ns, &dir, "f", FRR_CFG, &[]);
    let sock = t.control.clone();

    // Configured through `tern -c`, committed.
    tern_ok(
        &sock,
        &[
            "system-view",
            "ip vpn-instance blue",
            "ipv4-family",
            "route-distinguisher 1.100:1",
            "vpn-target 2.200:7",
            "quit",
            "quit",
            "bgp 65636",
            "peer 10.0.0.2 as-number 2.200",
            "peer 10.0.0.2 timer keepalive 10 hold 30",
            "commit",
        ],
    );
    let cur = tern_ok(&sock, &["display current-configuration"]);
    config_keeps_forms(&cur, false);

    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || t_has_route(&t)),
        "no route from F:\n{}\n{}",
        f.vtysh("show bgp ipv4 unicast"),
        t.log_text()
    );
    // The JSON form is numeric.
    let v: Value = serde_json::from_str(
        &t.display("display bgp peer 10.0.0.2 verbose", true)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v["remote_as"], 131272);

    displays_are(&sock, true);

    // The interactive shell: dotted, then `as-notation plain` + commit, then integers.
    let sh = Shell::start(&sock);
    sh.until("<T>");
    sh.line("display bgp peer");
    let s = sh.until("<T>");
    let row = peer_row(&s.join("\n"));
    assert_eq!(row.split_whitespace().nth(2), Some("2.200"), "{s:#?}");
    sh.line("system-view");
    sh.until("[~T]");
    sh.line("as-notation plain");
    sh.until("[*T]");
    sh.line("commit");
    sh.until("[~T]");
    sh.line("return");
    sh.until("<T>");
    sh.line("display bgp peer");
    let s = sh.until("<T>");
    let text = s.join("\n");
    let local = text.lines().rfind(|l| l.contains("Local AS number"));
    assert_eq!(
        local.map(str::trim),
        Some("Local AS number : 65636"),
        "{s:#?}"
    );
    assert_eq!(
        peer_row(&text).split_whitespace().nth(2),
        Some("131272"),
        "{s:#?}"
    );
    sh.line("save");
    let s = sh.until("<T>");
    assert!(
        s.iter()
            .any(|l| l.starts_with("Info: Save the configuration successfully")),
        "{s:#?}"
    );
    drop(sh);

    displays_are(&sock, false);
    // The configuration's own numbers are as typed, whatever the displays do.
    let cur = tern_ok(&sock, &["display current-configuration"]);
    config_keeps_forms(&cur, true);
    let saved = std::fs::read_to_string(dir.path("t.cfg")).expect("saved file");
    config_keeps_forms(&saved, true);

    // Restart from the saved file.
    t.stop();
    let _ = std::fs::remove_file(&sock);
    let t = Ternd::start(&t_ns, &dir, "t", &saved, &["0.0.0.0:179"]);
    let cur = tern_ok(&sock, &["display current-configuration"]);
    config_keeps_forms(&cur, true);
    // `display current-configuration` heads the configuration with `!`
    // comment lines (software version, the file loaded); the rest is the file.
    let body = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with('!'))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(
        body(&cur),
        body(&saved),
        "the saved file prints back unchanged"
    );
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    assert!(
        wait_for(Duration::from_secs(30), || t_has_route(&t)),
        "{}",
        t.log_text()
    );
    displays_are(&sock, false);

    tern_ok(
        &sock,
        &["system-view", "undo as-notation plain", "commit", "return"],
    );
    displays_are(&sock, true);
    let cur = tern_ok(&sock, &["display current-configuration"]);
    config_keeps_forms(&cur, false);
}
