//! What the `tern lab` tests share: the tern and ternd binaries, process checks, command
//! output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The tern binary, which runs the lab (see [`binaries`]).
pub fn tern() -> &'static Path {
    &binaries().0
}

/// The ternd binary, which runs in each of the lab's namespaces (see [`binaries`]).
pub fn ternd() -> &'static Path {
    &binaries().1
}

/// The tern and ternd binaries, built once per test binary (`cargo build -p tern -p ternd`
/// into this test's target directory and profile: `cargo test -p tern-lab` does not build
/// other packages' binaries).
fn binaries() -> &'static (PathBuf, PathBuf) {
    static BINS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINS.get_or_init(|| {
        // This test binary is <target>/<profile>/deps/<test>-<hash>.
        let exe = std::env::current_exe().expect("the test binary");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile directory");
        let target_dir = profile_dir.parent().expect("target directory");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args([
            "build",
            "-p",
            "tern",
            "--bin",
            "tern",
            "-p",
            "ternd",
            "--bin",
            "ternd",
            "--target-dir",
        ])
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile_dir.file_name().and_then(|s| s.to_str()) {
            Some("debug") => {}
            Some("release") => {
                cmd.arg("--release");
            }
            Some(p) => {
                cmd.args(["--profile", p]);
            }
            None => {}
        }
        let out = cmd.output().expect("cargo build -p tern -p ternd");
        assert!(
            out.status.success(),
            "cargo build -p tern -p ternd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bins = (profile_dir.join("tern"), profile_dir.join("ternd"));
        for bin in [&bins.0, &bins.1] {
            assert!(bin.exists(), "{} was not built", bin.display());
        }
        bins
    })
}

/// Standard output then standard error.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// True while a process runs (exists and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X")
    })
}

/// Every running process as (pid, command line with spaces between arguments).
pub fn processes() -> Vec<(u32, String)> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|p| {
                    let pid = p.file_name().to_str()?.parse::<u32>().ok()?;
                    let cmd = std::fs::read(p.path().join("cmdline")).ok()?;
                    Some((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")))
                })
                .filter(|(pid, _)| alive(*pid))
                .collect()
        })
        .unwrap_or_default()
}

/// The network namespaces whose name starts with `prefix`.
pub fn namespaces(prefix: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}
