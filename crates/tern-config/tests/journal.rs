//! The commit history on disk: bounded, kept as changes, a torn record cut at open, stale
//! temporaries removed, the state directory locked; candidates sharing the running
//! configuration.

use std::path::PathBuf;

use tern_config::{Config, Running, Store, parse_file};

/// A fresh directory under the system temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!(
            "tern-journal-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn journal(&self) -> PathBuf {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("history.")
            })
            .collect();
        assert_eq!(v.len(), 1, "one journal generation: {v:?}");
        v.pop().unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A configuration of `n` prefix-list lines (a large file).
fn large(n: usize) -> Config {
    let mut text = String::from("#\nsysname BIG\n#\n");
    for i in 0..n {
        text.push_str(&format!(
            "ip ip-prefix big index {} permit 10.{}.{}.0 24\n",
            i + 1,
            i / 256,
            i % 256
        ));
    }
    text.push_str("#\nbgp 100\n router-id 1.1.1.1\n peer 10.0.0.2 as-number 200\n#\nreturn\n");
    parse_file(&text).unwrap()
}

fn commit(running: &mut Running, lines: &[&str], description: &str) -> Option<u64> {
    let mut c = running.candidate("root");
    for l in lines {
        c.apply_line(l).unwrap_or_else(|e| panic!("{l}: {e}"));
    }
    c.commit(running, description).unwrap()
}

#[test]
fn history_is_bounded_and_kept_as_changes() {
    let dir = Dir::new("bounded");
    let cfg = large(3000);
    let (mut running, _) = Store::open(&dir.0, cfg.clone(), 5).unwrap();
    let size = cfg.to_vrp().len() as u64;
    for i in 0..40 {
        let d = format!("peer 10.0.0.2 description d{i}");
        commit(&mut running, &["bgp 100", &d], &format!("c{i}")).unwrap();
        // The journal is rewritten from a new base before it grows past a few copies.
        let len = std::fs::metadata(dir.journal()).unwrap().len();
        assert!(len < 2 * size, "journal {len} bytes for a {size}-byte file");
    }
    let h = running.history();
    assert_eq!(h.len(), 5);
    assert_eq!(h[0].description, "c35");
    assert_eq!(h[4].id, 1_000_000_040);
    // Two changed lines per commit, whatever the size of the configuration.
    assert!(
        running.history_lines() <= 5 * 4,
        "{}",
        running.history_lines()
    );
    let last = running.config().to_vrp();
    // The oldest point kept still rolls back exactly.
    running.rollback_last(5, "root").unwrap().unwrap();
    assert!(running.config().to_vrp().contains("description d34"));
    drop(running);

    let started = std::time::Instant::now();
    let (running, opened) = Store::open(&dir.0, cfg.clone(), 5).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(opened.last_commit, Some(1_000_000_041));
    assert_eq!(running.history().len(), 5);
    assert_eq!(running.next_id(), 1_000_000_042);
    assert_eq!(running.text_after(1_000_000_040).unwrap(), last);
}

#[test]
fn a_torn_record_is_cut_and_the_history_stays_a_chain() {
    let dir = Dir::new("torn");
    let (mut running, _) = Store::open(&dir.0, large(10), 50).unwrap();
    commit(&mut running, &["sysname A"], "one").unwrap();
    commit(&mut running, &["sysname B"], "two").unwrap();
    let after_one = running.text_after(1_000_000_001).unwrap();
    drop(running);

    // A crash in the middle of the second record.
    let j = dir.journal();
    let len = std::fs::metadata(&j).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&j).unwrap();
    f.set_len(len - 7).unwrap();
    drop(f);
    let (mut running, opened) = Store::open(&dir.0, large(10), 50).unwrap();
    assert!(opened.cut > 0);
    assert_eq!(opened.last_commit, Some(1_000_000_001));
    assert!(
        opened.unsaved,
        "the startup file is not commit 1000000001's"
    );
    assert_eq!(running.history().len(), 1);
    assert_eq!(running.text_after(1_000_000_001).unwrap(), after_one);
    // The next commit takes the lost one's ID and appends after the cut.
    assert_eq!(
        commit(&mut running, &["sysname C"], "three"),
        Some(1_000_000_002)
    );
    drop(running);

    // Garbage after the last record (a write that failed half way) is cut too.
    let mut bytes = std::fs::read(dir.journal()).unwrap();
    let garbage = b"#E 999 00000000deadbeef\ncommit 1";
    bytes.extend_from_slice(garbage);
    std::fs::write(dir.journal(), &bytes).unwrap();
    let (running, opened) = Store::open(&dir.0, large(10), 50).unwrap();
    assert_eq!(opened.cut, garbage.len() as u64);
    let ids: Vec<u64> = running.history().iter().map(|r| r.id).collect();
    assert_eq!(ids, [1_000_000_001, 1_000_000_002]);
    assert!(
        running
            .text_after(1_000_000_002)
            .unwrap()
            .contains("sysname C")
    );
}

#[test]
fn stale_temporaries_are_removed_and_the_directory_is_locked() {
    let dir = Dir::new("lock");
    let (running, _) = Store::open(&dir.0, Config::default(), 50).unwrap();
    std::fs::write(dir.0.join(".history.2.tmp.4242"), "partial").unwrap();
    // Held: a second opener is refused with the holder's pid.
    let e = Store::open(&dir.0, Config::default(), 50).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    let msg = e.to_string();
    assert!(msg.contains("in use by another ternd"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(dir.0.join(".history.2.tmp.4242").exists());
    drop(running);
    let (_, opened) = Store::open(&dir.0, Config::default(), 50).unwrap();
    assert_eq!(opened.temporaries, 1);
    assert!(!dir.0.join(".history.2.tmp.4242").exists());
}

#[test]
fn candidates_share_the_running_configuration_until_they_change() {
    let mut running = Running::new(large(100));
    let mut c = running.candidate("root");
    assert!(std::ptr::eq(c.config(), running.config()));
    // Moving between views copies nothing.
    c.apply_line("bgp 100").unwrap();
    assert!(std::ptr::eq(c.config(), running.config()));
    c.apply_line("peer 10.0.0.2 description x").unwrap();
    assert!(!std::ptr::eq(c.config(), running.config()));
    c.commit(&mut running, "").unwrap().unwrap();
    // After the commit the candidate shares the new running configuration again.
    assert!(std::ptr::eq(c.config(), running.config()));
    let t = running.terminal("other");
    assert!(std::ptr::eq(t.config(), running.config()));
}
