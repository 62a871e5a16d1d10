//! The commit history on disk: a journal of line patches from a base configuration, in a
//! state directory the daemon holds locked.
//!
//! ```text
//! DIR/lock               held (flock) while a daemon uses the directory; its pid inside
//! DIR/history.<N>        the journal, generation N:
//!     tern commit history 1
//!     #B <len> <fnv64>    the printed configuration before the first entry (len bytes)
//!     #E <len> <fnv64>    one entry per change of the running configuration:
//!        commit <id> <time> <CLI|Rollback>     or   start
//!        user <name>
//!        description <text>
//!        @ <at> <del> <ins>, -removed, +added lines (crate::patch)
//! ```
//!
//! A commit appends its entry (written at the end of the valid part, then fsync) before it
//! is acknowledged. Every record carries its length and an FNV-1a checksum, so a record torn
//! by a crash or a full disk is recognised: at open the journal is cut back to its last whole
//! record, and an entry whose removed lines do not match is refused the same way, so the
//! history is always a consistent chain (no rollback point whose change was not recorded
//! whole). When the journal holds twice the rollback points kept, it is rewritten from a new
//! base as generation N+1 (temporary file, fsync, rename, fsync of the directory) and
//! generation N removed; a crash between the two leaves both, and the newest whole one wins.
//! Stale temporary files are removed at open.
//!
//! Fault injection: with `TERN_FAULT=<point>` in the environment, the process aborts at that
//! point (`append-torn`: half a record written; `append-synced`: record on disk, not yet
//! acknowledged; `compact-written`: new generation written, not renamed; `compact-renamed`:
//! renamed, old generation not removed), as a crash there would.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::commit::{CommitId, CommitKind, CommitRecord, Entry, FIRST_COMMIT_ID, Running};
use crate::model::Config;
use crate::patch::Patch;

const MAGIC: &str = "tern commit history 1\n";

/// What [`Store::open`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opened {
    /// The newest rollback point in the history.
    pub last_commit: Option<CommitId>,
    /// The startup configuration differs from the configuration of `last_commit`: changes
    /// committed and not saved are not running.
    pub unsaved: bool,
    /// Bytes of a torn or damaged journal tail cut off.
    pub cut: u64,
    /// Stale temporary files removed.
    pub temporaries: usize,
    /// Files of an older history layout (`origin.cfg`, `commits/`) were found and not read.
    pub old_layout: bool,
}

/// The journal of a state directory (see the module docs), locked for this process.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    generation: u64,
    file: File,
    /// Length of the valid part of the journal.
    len: u64,
    /// Entries in the current generation.
    entries: usize,
    /// Set when the journal's tail could not be restored after a failed write: nothing more
    /// is appended (the daemon keeps running; commits are refused).
    broken: Option<String>,
    _lock: Lock,
}

/// A lock file held (flock, exclusive) until dropped.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] nix::fcntl::Flock<File>);

/// Takes the lock file `path` (flock, exclusive, not waiting) and writes this process's id
/// into it. The error names the holder's pid when another process holds it.
pub fn lock_file(path: &Path) -> io::Result<Lock> {
    use nix::fcntl::{Flock, FlockArg};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    let f = match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(f) => f,
        Err((mut f, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut pid = String::new();
            let _ = f.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                if pid.is_empty() {
                    format!("{} is locked by another process", path.display())
                } else {
                    format!(
                        "{} is locked by another process (pid {pid})",
                        path.display()
                    )
                },
            ));
        }
        Err((_, e)) => return Err(e.into()),
    };
    f.set_len(0)?;
    f.write_all_at(format!("{}\n", std::process::id()).as_bytes(), 0)?;
    Ok(Lock(f))
}

impl Store {
    /// Opens (creating) the state directory `dir`, locked for this process, and recovers its
    /// journal. The running configuration is `startup` (the startup file wins, as VRP starts
    /// from its startup configuration); the history is the journal's, and when the last
    /// committed configuration differs from `startup`, that difference is recorded with the
    /// next commit so that rollback points keep their meaning. `limit`: rollback points kept.
    pub fn open(
        dir: impl Into<PathBuf>,
        startup: Config,
        limit: usize,
    ) -> io::Result<(Running, Opened)> {
        let dir = dir.into();
        {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            // The history holds the configuration (keys in their cipher form): owner only.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let lock = lock_file(&dir.join("lock")).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                io::Error::new(
                    e.kind(),
                    format!(
                        "the state directory {} is in use by another ternd: {e}",
                        dir.display()
                    ),
                )
            } else {
                e
            }
        })?;
        let mut opened = Opened {
            old_layout: dir.join("origin.cfg").exists() || dir.join("commits").exists(),
            ..Opened::default()
        };
        let mut generations = Vec::new();
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains(".tmp") {
                std::fs::remove_file(e.path())?;
                opened.temporaries += 1;
            } else if let Some(n) = name.strip_prefix("history.")
                && let Ok(n) = n.parse::<u64>()
            {
                generations.push(n);
            }
        }
        generations.sort_unstable();
        let startup_text = startup.to_vrp();
        // The newest whole generation; older ones were superseded by a compaction.
        let mut found = None;
        while let Some(g) = generations.pop() {
            let path = dir.join(format!("history.{g}"));
            match read_journal(&path)? {
                Some(j) => {
                    found = Some((g, j));
                    break;
                }
                None => {
                    // Not whole (its rename came after its fsync, so damaged on the disk):
                    // kept aside for inspection.
                    std::fs::rename(&path, dir.join(format!("damaged.history.{g}")))?;
                }
            }
        }
        for g in &generations {
            std::fs::remove_file(dir.join(format!("history.{g}")))?;
        }
        let Some((generation, journal)) = found else {
            // A new history, based on the startup configuration.
            let generation = 1;
            let path = dir.join(format!("history.{generation}"));
            let mut text = String::from(MAGIC);
            frame(&mut text, 'B', &startup_text);
            write_atomic(&path, text.as_bytes())?;
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)?;
            let store = Store {
                dir,
                generation,
                file,
                len: text.len() as u64,
                entries: 0,
                broken: None,
                _lock: lock,
            };
            let r = Running::restored(startup, Vec::new(), 0, FIRST_COMMIT_ID, limit, store);
            return Ok((r, opened));
        };
        let path = dir.join(format!("history.{generation}"));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)?;
        let file_len = file.metadata()?.len();
        if file_len > journal.len {
            // A torn record (crash or full disk during a commit that was not acknowledged).
            file.set_len(journal.len)?;
            file.sync_all()?;
            opened.cut = file_len - journal.len;
        }
        let mut entries = journal.entries;
        let last = entries
            .iter()
            .rev()
            .find_map(|e| e.record.as_ref().map(|r| r.id));
        opened.last_commit = last;
        let mut unsynced = 0;
        if journal.head != startup_text {
            opened.unsaved = entries.last().is_some_and(|e| e.record.is_some());
            entries.push(Entry {
                record: None,
                patch: Patch::diff(&journal.head, &startup_text),
            });
            unsynced = 1;
        }
        let store = Store {
            dir,
            generation,
            file,
            len: journal.len,
            entries: journal.count,
            broken: None,
            _lock: lock,
        };
        let next_id = last.map_or(FIRST_COMMIT_ID, |id| id + 1);
        let r = Running::restored(startup, entries, unsynced, next_id, limit, store);
        Ok((r, opened))
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file in use.
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("history.{}", self.generation))
    }

    /// Entries in the journal file in use.
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// Appends `pending` then `entry`, durably, or nothing: on failure the journal is cut
    /// back to where it was.
    pub(crate) fn append(&mut self, pending: &[Entry], entry: &Entry) -> io::Result<()> {
        if let Some(b) = &self.broken {
            return Err(io::Error::other(b.clone()));
        }
        let mut text = String::new();
        for e in pending.iter().chain([entry]) {
            frame(&mut text, 'E', &encode_entry(e));
        }
        let bytes = text.as_bytes();
        let written = if fault("append-torn") {
            let half = &bytes[..bytes.len() / 2];
            let _ = self.file.write_all_at(half, self.len);
            let _ = self.file.sync_data();
            std::process::abort();
        } else {
            self.file
                .write_all_at(bytes, self.len)
                .and_then(|()| self.file.sync_data())
        };
        if let Err(e) = written {
            // Whatever part was written is cut off; if even that fails, a later record
            // would follow garbage, so nothing more is appended.
            if let Err(e2) = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data())
            {
                self.broken = Some(format!(
                    "{}: a failed write could not be undone ({e2}); restart to recover",
                    self.path().display()
                ));
            }
            return Err(io::Error::new(
                e.kind(),
                format!("{}: {e}", self.path().display()),
            ));
        }
        if fault("append-synced") {
            std::process::abort();
        }
        self.len += bytes.len() as u64;
        self.entries += pending.len() + 1;
        Ok(())
    }

    /// Rewrites the journal as a new generation: `base`, then `entries`.
    pub(crate) fn compact(&mut self, base: &str, entries: &[Entry]) -> io::Result<()> {
        let mut text = String::from(MAGIC);
        frame(&mut text, 'B', base);
        for e in entries {
            frame(&mut text, 'E', &encode_entry(e));
        }
        let next = self.generation + 1;
        let path = self.dir.join(format!("history.{next}"));
        write_atomic_with(&path, text.as_bytes(), || {
            if fault("compact-written") {
                std::process::abort();
            }
        })?;
        if fault("compact-renamed") {
            std::process::abort();
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)?;
        let old = self.path();
        self.file = file;
        self.generation = next;
        self.len = text.len() as u64;
        self.entries = entries.len();
        self.broken = None;
        std::fs::remove_file(old)?;
        sync_dir(&self.dir)
    }

    /// `save`: the running configuration to the startup file, atomically.
    pub fn save(running: &Running, startup: &Path) -> io::Result<()> {
        write_atomic(startup, running.config().to_vrp().as_bytes())
    }
}

/// True when the fault-injection point `point` is selected (`TERN_FAULT`).
fn fault(point: &str) -> bool {
    static POINT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    POINT
        .get_or_init(|| std::env::var("TERN_FAULT").ok())
        .as_deref()
        == Some(point)
}

/// A journal read back: its entries, the configuration after them, the valid length.
struct Journal {
    entries: Vec<Entry>,
    count: usize,
    head: String,
    len: u64,
}

/// Reads a journal; `None` when its header or base is not whole. Entries are read up to the
/// first that is not whole or does not apply.
fn read_journal(path: &Path) -> io::Result<Option<Journal>> {
    let bytes = std::fs::read(path)?;
    let Some(rest) = bytes.strip_prefix(MAGIC.as_bytes()) else {
        return Ok(None);
    };
    let mut pos = MAGIC.len();
    let Some((kind, base, n)) = unframe(rest) else {
        return Ok(None);
    };
    if kind != 'B' {
        return Ok(None);
    }
    pos += n;
    let mut head = base.to_owned();
    let mut entries = Vec::new();
    while let Some((kind, payload, n)) = unframe(&bytes[pos..]) {
        if kind != 'E' {
            break;
        }
        let Some(e) = decode_entry(payload) else {
            break;
        };
        let Some(next) = e.patch.apply(&head) else {
            break;
        };
        head = next;
        entries.push(e);
        pos += n;
    }
    Ok(Some(Journal {
        count: entries.len(),
        entries,
        head,
        len: pos as u64,
    }))
}

/// Appends a record: `#K <len> <checksum>\n` and the payload.
fn frame(out: &mut String, kind: char, payload: &str) {
    out.push_str(&format!(
        "#{kind} {} {:016x}\n",
        payload.len(),
        fnv64(payload.as_bytes())
    ));
    out.push_str(payload);
}

/// The record at the start of `bytes`: its kind, payload and whole length.
fn unframe(bytes: &[u8]) -> Option<(char, &str, usize)> {
    let nl = bytes.iter().take(64).position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&bytes[..nl]).ok()?;
    let mut w = head.strip_prefix('#')?.split(' ');
    let kind = w.next()?.chars().next()?;
    let len: usize = w.next()?.parse().ok()?;
    let sum = u64::from_str_radix(w.next()?, 16).ok()?;
    let start = nl + 1;
    let payload = bytes.get(start..start.checked_add(len)?)?;
    if fnv64(payload) != sum {
        return None;
    }
    Some((kind, std::str::from_utf8(payload).ok()?, start + len))
}

fn encode_entry(e: &Entry) -> String {
    let mut s = String::new();
    match &e.record {
        Some(r) => {
            let ty = match r.kind {
                CommitKind::Cli => "CLI",
                CommitKind::Rollback => "Rollback",
            };
            s.push_str(&format!("commit {} {} {ty}\n", r.id, r.time));
            s.push_str(&format!("user {}\n", r.user.replace(['\n', '\r'], " ")));
            s.push_str(&format!(
                "description {}\n",
                r.description.replace(['\n', '\r'], " ")
            ));
        }
        None => s.push_str("start\n"),
    }
    e.patch.encode(&mut s);
    s
}

fn decode_entry(payload: &str) -> Option<Entry> {
    let mut lines = payload.lines();
    let head = lines.next()?;
    let record = if head == "start" {
        None
    } else {
        let mut w = head.strip_prefix("commit ")?.split(' ');
        let id = w.next()?.parse().ok()?;
        let time = w.next()?.parse().ok()?;
        let kind = match w.next()? {
            "CLI" => CommitKind::Cli,
            "Rollback" => CommitKind::Rollback,
            _ => return None,
        };
        let user = lines.next()?.strip_prefix("user ")?.to_owned();
        let description = lines.next()?.strip_prefix("description ")?.to_owned();
        Some(CommitRecord {
            id,
            time,
            user,
            description,
            kind,
        })
    };
    let patch = Patch::decode(&mut lines)?;
    Some(Entry { record, patch })
}

/// FNV-1a, 64 bits: detects torn and damaged records (not an adversary).
pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes a file atomically: a temporary file beside it, fsync, rename over, fsync of the
/// directory. On any failure the temporary file is removed and the file is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, || {})
}

fn write_atomic_with(path: &Path, bytes: &[u8], before_rename: impl FnOnce()) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        // Configuration files hold keys (in their cipher form): owner only.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        before_rename();
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir)
}

/// Removes stale temporary files `write_atomic` left beside `path` (a crash between writing
/// and renaming); returns how many.
pub fn remove_temporaries(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp.", name.to_string_lossy());
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}
