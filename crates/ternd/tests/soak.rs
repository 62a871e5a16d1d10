//! Short forms of the soak script's probes that are not tied to one feature's tests
//! (`scripts/soak.sh`; the long forms run from the script itself). Needs root.

mod common;

use std::process::Command;

/// Runs `probe` with `env`; returns its result row's columns (probe load faults inputs
/// losses).
fn soak(probe: &str, env: &[(&str, &str)]) -> Vec<String> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/soak.sh"))
        .arg(probe)
        .env("TERND", common::ternd_bin())
        .env("TERN", common::ternd_bin().with_file_name("tern"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with(probe))
        .unwrap_or_else(|| panic!("no result row:\n{stdout}\n{stderr}"));
    let cols: Vec<String> = row.split_whitespace().map(str::to_owned).collect();
    assert_eq!(cols.len(), 5, "{row}");
    cols
}

/// A session with 5000 routes reset 3 times: every time they all come back, RSS holds.
#[test]
fn soak_flaps_short() {
    let cols = soak(
        "flaps",
        &[("SOAK_FLAP_ROUTES", "5000"), ("SOAK_FLAPS", "3")],
    );
    assert_eq!(cols[2], "3", "{cols:?}");
    assert_eq!(cols[3], "15000", "{cols:?}");
    assert_eq!(cols[4], "0", "{cols:?}");
}

/// Commits on a full disk, 3 rounds: each refused without a change, each one after it kept.
#[test]
fn soak_disk_full_short() {
    let cols = soak("disk_full", &[("SOAK_ROUNDS", "3")]);
    assert_eq!(cols[2], "3", "{cols:?}");
    assert_eq!(cols[3], "6", "{cols:?}");
    assert_eq!(cols[4], "0", "{cols:?}");
}
