//! The configuration store end to end: a commit is acknowledged only once it is on disk (a
//! full disk fails it and nothing changes), a crash at any point of a commit leaves a
//! consistent history, the startup file wins at start (with the log and the
//! `display current-configuration` header saying so), a second daemon on the same control
//! socket or state directory is refused, and the soak script's commit/kill loop (short).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Netns, TempDir, Ternd, sh, wait_for};
use tern_api::Blocking;

const CONFIG: &str = "#\nbgp 100\n router-id 1.1.1.9\n peer 10.0.0.2 as-number 200\n#\nreturn\n";

/// Starts ternd in `ns` with startup file `cfg_path` (written from `cfg` when given), as
/// `prefix` + ternd + options; waits until the control socket answers.
fn start(
    ns: &Netns,
    dir: &TempDir,
    tag: &str,
    cfg_path: &Path,
    cfg: Option<&str>,
    prefix: &[&str],
) -> Ternd {
    if let Some(text) = cfg {
        std::fs::write(cfg_path, text).unwrap();
    }
    let control = dir.path("ternd.sock");
    let log = dir.path(&format!("{tag}.log"));
    let child = ns.spawn(&argv(prefix, cfg_path, &control, &[]), &log);
    let t = Ternd {
        child,
        control,
        log,
    };
    if !wait_for(Duration::from_secs(10), || {
        Blocking::connect(&t.control)
            .is_ok_and(|mut c| c.display("display bgp peer", false).is_ok())
    }) {
        panic!("ternd {tag} did not start:\n{}", t.log_text());
    }
    t
}

fn argv<'a>(prefix: &[&'a str], cfg: &Path, control: &Path, extra: &[&'a str]) -> Vec<&'a str> {
    let leak = |p: &Path| -> &'a str { Box::leak(p.display().to_string().into_boxed_str()) };
    let bin: &'a str = leak(&common::ternd_bin());
    let mut v: Vec<&'a str> = prefix.to_vec();
    v.extend([
        bin,
        "--config",
        leak(cfg),
        "--control",
        leak(control),
        "--log",
        "debug",
        "--listen",
        "127.0.0.1:179",
        "--no-fib",
    ]);
    v.extend(extra);
    v
}

/// Runs lines in a new management session; each line's reply (or the transport error).
fn session(t: &Ternd, lines: &[&str]) -> Vec<Result<tern_api::pb::ExecuteReply, String>> {
    let mut c = Blocking::connect(&t.control).expect("connect");
    let id = c.open_session("test").unwrap().session;
    lines
        .iter()
        .map(|l| c.execute(id, l, false).map_err(|e| e.to_string()))
        .collect()
}

fn ok(r: &Result<tern_api::pb::ExecuteReply, String>) -> &tern_api::pb::ExecuteReply {
    let r = r.as_ref().expect("reply");
    assert!(r.error.is_none(), "{:?}", r.error);
    r
}

fn display(t: &Ternd, cmd: &str) -> String {
    t.display(cmd, false)
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

fn wait_exit(t: &mut Ternd) -> bool {
    wait_for(Duration::from_secs(10), || {
        matches!(t.child.try_wait(), Ok(Some(_)))
    })
}

#[test]
fn a_full_disk_fails_the_commit_and_changes_nothing() {
    let ns = Netns::new("dfull");
    let dir = TempDir::new("dfull");
    let fs = dir.path("fs");
    std::fs::create_dir_all(&fs).unwrap();
    let src = dir.write("src.cfg", CONFIG);
    let cfg = fs.join("t.cfg");
    // A 1 MiB tmpfs in a mount namespace of the daemon's own (gone with it).
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs {fs} && cp {src} {cfg} && exec \"$@\"",
        fs = fs.display(),
        src = src.display(),
        cfg = cfg.display()
    );
    let script: &str = Box::leak(script.into_boxed_str());
    let t = start(
        &ns,
        &dir,
        "full",
        &cfg,
        None,
        &[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ],
    );
    let pid = t.child.id();
    let inside = |cmd: &str| sh(&format!("nsenter -t {pid} -m sh -c '{cmd}'"));
    let mut c = Blocking::connect(&t.control).expect("connect");
    let id = c.open_session("test").unwrap().session;
    let mut run = |line: &str| c.execute(id, line, false).unwrap();
    for l in [
        "system-view",
        "bgp 100",
        "peer 10.0.0.9 as-number 300",
        "quit",
    ] {
        assert!(run(l).error.is_none(), "{l}");
    }
    // More than a page of journal, so the record cannot fit in a page already allocated.
    for i in 0..150 {
        let l = format!("ip ip-prefix full index {} permit 10.9.{i}.0 24", i + 1);
        assert!(run(&l).error.is_none(), "{l}");
    }
    let before = display(&t, "display current-configuration");
    inside(&format!(
        "cat /dev/zero > {}/fill 2>/dev/null; true",
        fs.display()
    ));

    let r = run("commit");
    let e = r.error.expect("a commit on a full disk fails");
    assert!(
        e.message
            .starts_with("Error: Failed to commit the configuration"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("No space left on device"),
        "{}",
        e.message
    );
    assert_eq!(r.prompt, "[*HUAWEI]", "the candidate keeps its changes");
    assert_eq!(display(&t, "display current-configuration"), before);
    assert!(!display(&t, "display bgp peer").contains("10.0.0.9"));
    assert_eq!(
        run("display configuration commit list").output.trim(),
        "",
        "no rollback point"
    );
    // `save` fails too, and leaves no temporary file behind.
    let r = session(&t, &["save"]);
    let r = r[0].as_ref().unwrap();
    assert!(
        r.error
            .as_ref()
            .is_some_and(|e| e.message.starts_with("Error: Failed to save")),
        "{r:?}"
    );
    let files = inside(&format!("ls -aR {}", fs.display()));
    assert!(!files.contains(".tmp"), "{files}");

    // Room again: the same candidate commits, and the sessions follow.
    inside(&format!("rm {}/fill", fs.display()));
    let r = run("commit");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(wait_for(Duration::from_secs(5), || {
        display(&t, "display bgp peer").contains("10.0.0.9")
    }));
    assert!(
        run("display configuration commit list")
            .output
            .contains("1000000001")
    );
}

#[test]
fn a_crash_at_any_point_of_a_commit_leaves_a_consistent_history() {
    let ns = Netns::new("dcrash");
    let dir = TempDir::new("dcrash");
    let cfg = dir.path("t.cfg");
    let commit_lines = [
        "system-view",
        "bgp 100",
        "peer 10.0.0.2 description crash",
        "commit",
    ];

    // Torn: half the record written, then the crash. The commit never was.
    let mut t = start(
        &ns,
        &dir,
        "torn",
        &cfg,
        Some(CONFIG),
        &["env", "TERN_FAULT=append-torn"],
    );
    let replies = session(&t, &commit_lines);
    assert!(replies[3].is_err(), "the daemon died in the commit");
    assert!(wait_exit(&mut t));
    let t = start(&ns, &dir, "torn2", &cfg, None, &[]);
    assert!(
        t.log_text().contains("incomplete commit record"),
        "{}",
        t.log_text()
    );
    let r = session(&t, &["display configuration commit list"]);
    assert_eq!(ok(&r[0]).output.trim(), "", "no phantom commit");
    drop(t);

    // Synced: the record is on disk, the daemon dies before acknowledging. The commit is in
    // the history, whole; the startup file still wins, and the rollback point restores it.
    let mut t = start(
        &ns,
        &dir,
        "sync",
        &cfg,
        None,
        &["env", "TERN_FAULT=append-synced"],
    );
    let replies = session(&t, &commit_lines);
    assert!(replies[3].is_err(), "the daemon died in the commit");
    assert!(wait_exit(&mut t));
    let t = start(&ns, &dir, "sync2", &cfg, None, &[]);
    assert!(
        t.log_text()
            .contains("not the last committed configuration"),
        "{}",
        t.log_text()
    );
    let cur = display(&t, "display current-configuration");
    assert!(!cur.contains("description crash"), "{cur}");
    let r = session(
        &t,
        &[
            "display configuration commit list",
            "display configuration commit changes at 1000000001",
            "rollback configuration to commit-id 1000000001",
        ],
    );
    assert!(ok(&r[0]).output.contains("CommitId: 1000000001"));
    assert!(
        ok(&r[1])
            .output
            .contains("+  peer 10.0.0.2 description crash"),
        "{:?}",
        r[1]
    );
    ok(&r[2]);
    assert!(display(&t, "display current-configuration").contains("description crash"));
    let r = session(&t, &["display configuration commit list"]);
    assert!(ok(&r[0]).output.starts_with("1) CommitId: 1000000002\n"));
    drop(t);

    // A compaction interrupted before or after its rename: the history is whole either way.
    for (n, point) in ["compact-written", "compact-renamed"].iter().enumerate() {
        let mut t = start(
            &ns,
            &dir,
            &format!("compact{n}"),
            &cfg,
            None,
            &["env", &format!("TERN_FAULT={point}").leak()[..]],
        );
        // With --commit-points 50 the journal is rewritten at its 100th entry; commit until
        // the daemon dies there.
        let mut c = Blocking::connect(&t.control).expect("connect");
        let id = c.open_session("test").unwrap().session;
        c.execute(id, "system-view", false).unwrap();
        c.execute(id, "bgp 100", false).unwrap();
        let mut acked = Vec::new();
        for i in 0..200 {
            c.execute(id, &format!("peer 10.0.0.2 description {point}{i}"), false)
                .unwrap();
            match c.execute(id, "commit", false) {
                Ok(r) if r.error.is_none() => acked.push(i),
                _ => break,
            }
        }
        assert!(acked.len() < 200, "{point}: the daemon did not crash");
        assert!(wait_exit(&mut t));
        let t = start(&ns, &dir, &format!("compact{n}b"), &cfg, None, &[]);
        let dirs: Vec<String> = std::fs::read_dir(dir.path("t.cfg.state"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!dirs.iter().any(|f| f.contains(".tmp")), "{dirs:?}");
        assert_eq!(
            dirs.iter().filter(|f| f.starts_with("history.")).count(),
            1,
            "{dirs:?}"
        );
        let r = session(&t, &["display configuration commit list"]);
        let list = &ok(&r[0]).output;
        assert_eq!(list.matches("CommitId:").count(), 50, "{list}");
        // The crash came after the commit's record was synced: the commit in flight is the
        // newest in the history, whole.
        let newest = list
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("1) CommitId: "))
            .unwrap()
            .to_owned();
        let r = session(
            &t,
            &[&format!("display configuration commit changes at {newest}")],
        );
        let want = format!("+  peer 10.0.0.2 description {point}{}", acked.len());
        assert!(ok(&r[0]).output.contains(&want), "{want}: {:?}", r[0]);
        drop(t);
    }
}

#[test]
fn the_startup_file_wins_and_says_so() {
    let ns = Netns::new("dstart");
    let dir = TempDir::new("dstart");
    let cfg = dir.path("t.cfg");
    let mut t = start(&ns, &dir, "one", &cfg, Some(CONFIG), &[]);
    let r = session(
        &t,
        &[
            "system-view",
            "bgp 100",
            "peer 10.0.0.2 description committed",
            "commit",
            "return",
            "quit",
        ],
    );
    let quit = ok(&r[5]);
    assert!(quit.closed);
    assert!(
        quit.output
            .contains("not saved to the startup configuration file")
            && quit.output.contains(&cfg.display().to_string()),
        "{}",
        quit.output
    );
    let cur = display(&t, "display current-configuration");
    assert!(
        cur.starts_with("!Software Version tern "),
        "VRP's header first: {cur}"
    );
    assert!(cur.contains(&format!("!Startup configuration file: {}", cfg.display())));
    assert!(cur.contains("(commit 1000000001), not saved"), "{cur}");
    t.stop();

    // Edited by hand: the file is what runs.
    let edited = CONFIG.replace("#\nbgp 100", "#\nsysname EDITED\n#\nbgp 100");
    let t = start(&ns, &dir, "two", &cfg, Some(&edited), &[]);
    let cur = display(&t, "display current-configuration");
    assert!(cur.contains("sysname EDITED"), "{cur}");
    assert!(!cur.contains("description committed"), "{cur}");
    assert!(!cur.contains("not saved"), "{cur}");
    let log = t.log_text();
    assert!(
        log.contains("running configuration loaded from the startup configuration file")
            && log.contains(&cfg.display().to_string()),
        "{log}"
    );
    assert!(log.contains("commit-id 1000000001 restores them"), "{log}");

    // Saved: nothing to warn about, and the next start runs it.
    let r = session(
        &t,
        &[
            "system-view",
            "bgp 100",
            "peer 10.0.0.2 description saved",
            "commit",
            "return",
            "save",
            "quit",
        ],
    );
    assert_eq!(ok(&r[6]).output, "");
    let r2 = session(&t, &["display configuration commit list"]);
    assert!(ok(&r2[0]).output.starts_with("1) CommitId: 1000000002\n"));
    let mut t = t;
    t.stop();
    let t = start(&ns, &dir, "three", &cfg, None, &[]);
    assert!(display(&t, "display current-configuration").contains("description saved"));
    assert!(
        !t.log_text()
            .contains("not the last committed configuration")
    );
}

#[test]
fn a_second_daemon_is_refused() {
    let ns = Netns::new("dtwo");
    let dir = TempDir::new("dtwo");
    let cfg = dir.path("t.cfg");
    let t = start(&ns, &dir, "first", &cfg, Some(CONFIG), &[]);
    let run = |control: &Path, extra: &[&str]| {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(argv(&[], &cfg, control, extra))
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // The same control socket: refused, and the first's socket still answers.
    let err = run(
        &t.control,
        &["--state-dir", dir.path("other").to_str().unwrap()],
    );
    assert!(
        err.contains("another ternd serves the control socket")
            && err.contains(&format!("pid {}", t.child.id())),
        "{err}"
    );
    assert!(t.display("display bgp peer", false).is_ok());
    // The same state directory.
    let err = run(&dir.path("b.sock"), &[]);
    assert!(err.contains("is in use by another ternd"), "{err}");
    assert!(t.display("display bgp peer", false).is_ok());
    assert!(!dir.path("b.sock").exists());
}

/// The soak script's commit/kill loop, short: every acknowledged commit survives.
#[test]
fn soak_commit_while_killed_short() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tern = common::ternd_bin().with_file_name("tern");
    if !tern.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "--offline", "-p", "tern", "--bin", "tern"])
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let out = Command::new("bash")
        .arg(root.join("scripts/soak.sh"))
        .arg("commit_kill")
        .env("TERND", common::ternd_bin())
        .env("TERN", &tern)
        .env("SOAK_ROUNDS", "4")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("commit_kill"))
        .unwrap_or_else(|| panic!("no result row:\n{stdout}\n{stderr}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // probe load faults inputs losses
    assert_eq!(cols.len(), 5, "{row}");
    assert_eq!(cols[2], "4", "one fault a round: {row}");
    assert!(cols[3].parse::<u32>().unwrap() > 0, "{row}");
    assert_eq!(cols[4], "0", "no acknowledged commit lost: {row}");
}
