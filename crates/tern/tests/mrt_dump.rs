//! `tern mrt dump [FILE]` against a ternd run with `--mrt-dir`: the daemon writes an MRT
//! TABLE_DUMP_V2 file (RFC 6396 §4.3) where the client says (a relative name taken from the
//! client's directory) or, without FILE, into the MRT directory; a file it cannot write is a
//! clear error and an exit status.
//!
//! The daemon runs in this test process (ternd's library, no BGP listeners): no root needed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CONFIG: &str =
    "#\nsysname PE1\n#\nbgp 100\n router-id 1.1.1.9\n peer 10.0.0.2 as-number 200\n#\nreturn\n";

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn daemon(dir: &Path) -> PathBuf {
    let sock = dir.join("ternd.sock");
    let (model, cfg) = ternd::config::load_model(CONFIG).expect("config");
    let opts = ternd::daemon::Options {
        listen: Vec::new(),
        control: Some(sock.clone()),
        state_dir: None,
        startup: None,
        commit_points: 0,
        install_routes: false,
        keep_kernel_routes: false,
        record: None,
        shards: 2,
        mrt: ternd::mrt::Settings {
            dir: Some(dir.join("mrt")),
            ..ternd::mrt::Settings::default()
        },
        access: Default::default(),
        metrics: None,
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(ternd::daemon::run(model, cfg, opts))
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ternd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    sock
}

fn tern(sock: &Path, cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--socket")
        .arg(sock)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("tern runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The (type, subtype) of each record, and the first record's body.
fn records(file: &Path) -> (Vec<(u16, u16)>, Vec<u8>) {
    let b = std::fs::read(file).expect("dump written");
    let mut kinds = Vec::new();
    let mut first = None;
    let mut at = 0;
    while at < b.len() {
        let typ = u16::from_be_bytes([b[at + 4], b[at + 5]]);
        let sub = u16::from_be_bytes([b[at + 6], b[at + 7]]);
        let len = u32::from_be_bytes([b[at + 8], b[at + 9], b[at + 10], b[at + 11]]) as usize;
        first.get_or_insert_with(|| b[at + 12..at + 12 + len].to_vec());
        kinds.push((typ, sub));
        at += 12 + len;
    }
    assert_eq!(at, b.len(), "records end where the file does");
    (kinds, first.unwrap_or_default())
}

#[test]
fn tern_mrt_dump_writes_where_asked() {
    let dir = Scratch(std::env::temp_dir().join(format!("tern-mrt-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let sock = daemon(&dir.0);

    // A relative name: from the client's directory. No peer is up: the peer table alone,
    // with this router's ID as the collector's, no view name, no peers.
    let (ok, out, err) = tern(&sock, &dir.0, &["mrt", "dump", "rib.mrt"]);
    assert!(ok, "{out}{err}");
    let file = dir.0.join("rib.mrt");
    assert_eq!(
        out.trim(),
        format!("{}: 0 destinations, 0 routes, 0 peers", file.display())
    );
    let (kinds, index) = records(&file);
    assert_eq!(kinds, vec![(13, 1)]);
    assert_eq!(index, [1, 1, 1, 9, 0, 0, 0, 0]);
    assert!(!dir.0.join("rib.mrt.tmp").exists());
    assert!(!dir.0.join("rib.mrt.body.tmp").exists());

    // No name: a timestamped file in the MRT directory.
    let (ok, out, err) = tern(&sock, &dir.0, &["mrt", "dump"]);
    assert!(ok, "{out}{err}");
    let written: Vec<PathBuf> = std::fs::read_dir(dir.0.join("mrt"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let name = written[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("rib.")
            && name.ends_with(".mrt")
            && name.len() == "rib.YYYYMMDD.HHMMSS.mrt".len(),
        "{name}"
    );
    assert!(out.starts_with(&written[0].display().to_string()), "{out}");
    assert_eq!(records(&written[0]).0, vec![(13, 1)]);

    // A directory that does not exist: an error naming the file, nothing left behind.
    let bad = dir.0.join("nosuch").join("rib.mrt");
    let (ok, out, err) = tern(&sock, &dir.0, &["mrt", "dump", bad.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert!(!dir.0.join("nosuch").exists());
}
