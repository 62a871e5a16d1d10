//! Who may drive ternd: the control socket is 0660 (root's group by default), every caller
//! is checked by its credentials (SO_PEERCRED), a read-only group runs displays only, and the
//! commit list names the real user.
//!
//! `tern` runs as user `nobody` (uid 65534, group `nogroup` 65534) against a ternd run by
//! root in a namespace. Needs root.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use common::{Netns, TempDir, Ternd};

const NOBODY: u32 = 65534;

const CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
";

/// `tern -c LINE…` as `uid`; (success, stdout, stderr).
fn tern_as(uid: u32, sock: &Path, lines: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ternd").replace("/ternd", "/tern"));
    cmd.arg("--socket").arg(sock);
    for l in lines {
        cmd.arg("-c").arg(l);
    }
    if uid != 0 {
        cmd.uid(uid).gid(NOBODY);
    }
    let out = cmd.output().expect("tern runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The test directory made reachable to other users (the socket is what guards the daemon).
fn open_dir(dir: &TempDir) {
    let d = dir.path("");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn commit_users(sock: &Path) -> Vec<String> {
    let (ok, out, err) = tern_as(0, sock, &["display configuration commit list verbose"]);
    assert!(ok, "{out}{err}");
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("User: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn only_root_and_the_control_group_configure() {
    let dir = TempDir::new("acc");
    open_dir(&dir);
    let ns = Netns::new("acct");
    let t = Ternd::start(&ns, &dir, "t", CFG, &["127.0.0.1:179"]);
    let sock = t.control.clone();

    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o660, "socket mode");
    assert_eq!(meta.gid(), 0, "socket group");

    // nobody cannot even connect.
    let (ok, out, err) = tern_as(NOBODY, &sock, &["display bgp peer"]);
    assert!(!ok, "{out}{err}");

    // A socket left open to all (umask 000, a careless chmod): the daemon still refuses.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (ok, out, err) = tern_as(
        NOBODY,
        &sock,
        &["system-view", "bgp 100", "undo peer 10.0.0.2", "commit"],
    );
    assert!(!ok, "{out}{err}");
    assert!(err.contains("may not use this daemon"), "{out}{err}");
    let (ok, out, _) = tern_as(NOBODY, &sock, &["display bgp peer"]);
    assert!(!ok, "{out}");

    // Root commits; the list names root, whatever the client calls itself.
    let (ok, out, err) = tern_as(
        0,
        &sock,
        &[
            "system-view",
            "bgp 100",
            "peer 10.0.0.2 description by-root",
            "commit",
        ],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(commit_users(&sock), vec!["root".to_owned()]);
    let (_, cur, _) = tern_as(0, &sock, &["display current-configuration"]);
    assert!(cur.contains(" peer 10.0.0.2 as-number 200"), "{cur}");
    drop(t);
}

#[test]
fn a_read_only_group_runs_displays_only() {
    let dir = TempDir::new("acr");
    open_dir(&dir);
    let ns = Netns::new("acrt");
    let t = Ternd::start_with(
        &ns,
        &dir,
        "t",
        CFG,
        &["127.0.0.1:179"],
        &["--control-readonly-group", "65534"],
    );
    let sock = t.control.clone();
    assert_eq!(
        std::fs::metadata(&sock).unwrap().mode() & 0o777,
        0o666,
        "readable by the read-only group"
    );
    let (ok, out, err) = tern_as(NOBODY, &sock, &["display bgp peer"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("10.0.0.2"), "{out}");
    let (ok, out, err) = tern_as(
        NOBODY,
        &sock,
        &["display current-configuration | include peer"],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("peer 10.0.0.2 as-number 200"), "{out}");

    // Anything that changes something is refused, and nothing changes.
    for lines in [
        &["system-view", "bgp 100", "undo peer 10.0.0.2", "commit"][..],
        &["system-view", "sysname X"][..],
        &["reset bgp all"][..],
        &["save"][..],
    ] {
        let (ok, out, err) = tern_as(NOBODY, &sock, lines);
        assert!(!ok, "{lines:?}: {out}{err}");
        assert!(
            format!("{out}{err}").contains("read-only access"),
            "{lines:?}: {out}{err}"
        );
    }
    let (_, cur, _) = tern_as(0, &sock, &["display current-configuration"]);
    assert!(cur.contains(" peer 10.0.0.2 as-number 200"), "{cur}");
    assert!(cur.contains("sysname T"), "{cur}");
    assert!(commit_users(&sock).is_empty());
    // Its MRT dumps would write files as the daemon: refused.
    let out = Command::new(env!("CARGO_BIN_EXE_ternd").replace("/ternd", "/tern"))
        .arg("--socket")
        .arg(&sock)
        .args(["mrt", "dump", &dir.path("x.mrt").display().to_string()])
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.path("x.mrt").exists());
    drop(t);
}

/// The soak script's probe of a non-root user on the socket, short: nothing gets through.
#[test]
fn soak_socket_user_short() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/soak.sh"))
        .arg("socket_user")
        .env("TERND", common::ternd_bin())
        .env("TERN", common::ternd_bin().with_file_name("tern"))
        .env("SOAK_ROUNDS", "2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("socket_user"))
        .unwrap_or_else(|| panic!("no result row:\n{stdout}\n{stderr}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // probe load faults inputs losses
    assert_eq!(cols.len(), 5, "{row}");
    assert_eq!(cols[3], "10", "{row}");
    assert_eq!(cols[4], "0", "nothing got through: {row}");
}
