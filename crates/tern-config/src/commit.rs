//! The two-stage commit: per-session candidates over one running configuration, commit
//! history with VRP's commit IDs, rollback, and a [`Store`] that keeps them on disk.
//!
//! ```text
//!  Candidate (Session: working copy + typed change log)        Running (config + history)
//!     apply_line ──(entry rules)──▶ working copy                      │
//!     commit ─────────────────────▶ replay the change log on running ─┤
//!                                   validate the whole result         │ all or nothing
//!                                   new CommitRecord 1000000001, …  ◀─┘
//! ```
//!
//! Everything here is pure: no I/O, except [`Store`], which the caller uses explicitly.
//!
//! Rules checked at entry (by [`Config::apply`], line by line) stay there; [`validate`] checks,
//! at commit, what spans objects and can go stale between entry and commit (another session
//! commits, an object is deleted later in the same candidate): see its docs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::change::Change;
use crate::error::Reject;
use crate::error::{ConfigError, ErrorKind};
use crate::model::{AfKey, Config};
use crate::session::{Outcome, Session, parse_file};

/// A commit ID (`1000000001`, …).
pub type CommitId = u64;

/// The first commit ID, as VRP numbers rollback points.
pub const FIRST_COMMIT_ID: CommitId = 1_000_000_001;

/// How a rollback point was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitKind {
    /// `commit` of a candidate.
    Cli,
    /// `rollback configuration`.
    Rollback,
}

/// One rollback point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRecord {
    /// The commit ID.
    pub id: CommitId,
    /// Unix time, seconds.
    pub time: u64,
    /// The session's user.
    pub user: String,
    /// `commit description TEXT` (empty when none).
    pub description: String,
    /// Commit or rollback.
    pub kind: CommitKind,
    /// The running configuration right after this commit.
    pub config: Config,
}

/// The running configuration and its commit history (oldest first).
#[derive(Clone, Debug)]
pub struct Running {
    config: Config,
    /// The configuration before the oldest commit in `history`.
    origin: Config,
    history: Vec<CommitRecord>,
    next_id: CommitId,
    /// Bumped by every commit; candidates remember the one they started from.
    generation: u64,
}

impl Running {
    /// A running configuration with no history (loaded from the startup file).
    pub fn new(config: Config) -> Running {
        Running {
            origin: config.clone(),
            config,
            history: Vec::new(),
            next_id: FIRST_COMMIT_ID,
            generation: 0,
        }
    }

    /// The running configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The rollback points, oldest first.
    pub fn history(&self) -> &[CommitRecord] {
        &self.history
    }

    /// The ID the next commit gets.
    pub fn next_id(&self) -> CommitId {
        self.next_id
    }

    /// A new candidate for a session of `user`, a copy of the running configuration.
    pub fn candidate(&self, user: &str) -> Candidate {
        Candidate {
            session: Session::with_config(self.config.clone()),
            generation: self.generation,
            user: user.to_owned(),
            sysname: self.config.sysname.clone(),
        }
    }

    /// A new candidate for a terminal session of `user`, starting in the user view
    /// (`<PE1>`), as an operator who logs in.
    pub fn terminal(&self, user: &str) -> Candidate {
        Candidate {
            session: Session::terminal(self.config.clone()),
            generation: self.generation,
            user: user.to_owned(),
            sysname: self.config.sysname.clone(),
        }
    }

    /// Validates `new` and makes it the running configuration as a new rollback point.
    fn install(
        &mut self,
        mut new: Config,
        user: &str,
        description: &str,
        kind: CommitKind,
        time: u64,
    ) -> Result<Option<CommitId>, ConfigError> {
        validate(&new).map_err(rejected)?;
        new.normalize_kept();
        if new.to_vrp() == self.config.to_vrp() {
            return Ok(None);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.generation += 1;
        self.config = new.clone();
        self.history.push(CommitRecord {
            id,
            time,
            user: user.to_owned(),
            description: description.to_owned(),
            kind,
            config: new,
        });
        Ok(Some(id))
    }

    fn record(&self, id: CommitId) -> Result<(usize, &CommitRecord), ConfigError> {
        self.history
            .iter()
            .enumerate()
            .find(|(_, r)| r.id == id)
            .ok_or_else(|| rejected(Reject::new("Error: The commit ID does not exist.")))
    }

    /// The configuration before the commit at `index` in the history.
    fn before(&self, index: usize) -> &Config {
        match index.checked_sub(1) {
            Some(i) => &self.history[i].config,
            None => &self.origin,
        }
    }

    /// `rollback configuration to commit-id ID`: the running configuration becomes what it
    /// was right after commit `ID`; the rollback is itself a new commit (`None` when nothing
    /// changes).
    pub fn rollback_to(
        &mut self,
        id: CommitId,
        user: &str,
    ) -> Result<Option<CommitId>, ConfigError> {
        let target = self.record(id)?.1.config.clone();
        self.install(target, user, "", CommitKind::Rollback, now())
    }

    /// `rollback configuration last N`: undoes the last `n` commits (the configuration
    /// becomes what it was before the `n`-th latest commit), as a new commit.
    pub fn rollback_last(&mut self, n: usize, user: &str) -> Result<Option<CommitId>, ConfigError> {
        if n == 0 || n > self.history.len() {
            return Err(rejected(Reject::new(
                "Error: The number of commits to roll back exceeds the number of rollback points.",
            )));
        }
        let target = self.before(self.history.len() - n).clone();
        self.install(target, user, "", CommitKind::Rollback, now())
    }

    /// `display configuration commit list [verbose]`: newest first.
    pub fn display_commit_list(&self, verbose: bool) -> String {
        let mut out = String::new();
        for (i, r) in self.history.iter().rev().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{}) CommitId: {}", i + 1, r.id);
            let _ = writeln!(out, "        Label: -");
            let _ = writeln!(out, "        User: {}", r.user);
            let _ = writeln!(out, "        User-Intf: ");
            let ty = match r.kind {
                CommitKind::Cli => "CLI",
                CommitKind::Rollback => "Rollback",
            };
            let _ = writeln!(out, "        Type: {ty}");
            let _ = writeln!(out, "        TimeStamp: {}", timestamp(r.time));
            if verbose {
                let _ = writeln!(out, "        Description: {}", r.description);
            }
        }
        out
    }

    /// `display configuration commit changes at ID`.
    pub fn display_commit_changes_at(&self, id: CommitId) -> Result<String, ConfigError> {
        let (i, r) = self.record(id)?;
        Ok(format!(
            "Building configuration\n{}",
            crate::print::changes(self.before(i), &r.config)
        ))
    }

    /// The typed change set of commit `ID` (what the daemon applies).
    pub fn commit_change_set(&self, id: CommitId) -> Result<crate::diff::ChangeSet, ConfigError> {
        let (i, r) = self.record(id)?;
        Ok(crate::diff::diff(self.before(i), &r.config))
    }
}

/// A session's candidate: a working copy plus the typed changes entered since the last
/// commit (or discard).
#[derive(Clone, Debug)]
pub struct Candidate {
    session: Session,
    generation: u64,
    user: String,
    /// The running configuration's host name, which the prompt shows.
    sysname: String,
}

impl Candidate {
    /// The editing session (view stack, prompt, help).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The editing session, for view commands.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The working copy.
    pub fn config(&self) -> &Config {
        self.session.config()
    }

    /// The changes entered since the last commit or discard.
    pub fn changes(&self) -> &[Change] {
        self.session.changes()
    }

    /// True while the candidate holds uncommitted changes (VRP's `*` prompt).
    pub fn is_dirty(&self) -> bool {
        !self.changes().is_empty()
    }

    /// The prompt: `[*PE1-bgp]` while uncommitted changes exist, `[~PE1-bgp]` otherwise.
    pub fn prompt(&self) -> String {
        let p = self.session.prompt_as(&self.sysname);
        if self.is_dirty() {
            p.replacen("[~", "[*", 1)
        } else {
            p
        }
    }

    /// A typed line (validated on entry; a rejected line changes nothing).
    pub fn apply_line(&mut self, line: &str) -> Result<Outcome, ConfigError> {
        self.session.apply_line(line)
    }

    /// `clear configuration candidate` / `abort`: drops the uncommitted changes and goes back
    /// to the system view.
    pub fn clear(&mut self, running: &Running) {
        self.session.reset_to(running.config.clone(), false);
        self.generation = running.generation;
        self.sysname.clone_from(&running.config.sysname);
    }

    /// `commit [description TEXT]`: replays the change list on the running configuration
    /// (another session may have committed meanwhile), validates the whole result and
    /// applies it all or nothing. `Ok(None)` when the result equals the running
    /// configuration (no rollback point, as VRP). On error, running is untouched and the
    /// candidate keeps its changes.
    pub fn commit(
        &mut self,
        running: &mut Running,
        description: &str,
    ) -> Result<Option<CommitId>, ConfigError> {
        self.commit_at(running, description, now())
    }

    /// [`Candidate::commit`] with a given time (tests).
    pub fn commit_at(
        &mut self,
        running: &mut Running,
        description: &str,
        time: u64,
    ) -> Result<Option<CommitId>, ConfigError> {
        let new = if self.generation == running.generation {
            self.session.config().clone()
        } else {
            let mut c = running.config.clone();
            for ch in self.session.changes() {
                c.apply(ch).map_err(|r| {
                    rejected(Reject::new(format!(
                        "Error: The candidate conflicts with a configuration committed meanwhile: {}",
                        r.0.trim_start_matches("Error: ")
                    )))
                })?;
            }
            c
        };
        let id = running.install(new, &self.user, description, CommitKind::Cli, time)?;
        self.session.reset_to(running.config.clone(), true);
        self.generation = running.generation;
        self.sysname.clone_from(&running.config.sysname);
        Ok(id)
    }

    /// Catches up with a running configuration another session (or a rollback) changed,
    /// keeping this candidate's own changes when they still apply.
    pub fn refresh(&mut self, running: &Running) -> Result<(), ConfigError> {
        let mut c = running.config.clone();
        for ch in self.session.changes() {
            c.apply(ch).map_err(rejected)?;
        }
        let log = self.session.changes().to_vec();
        self.session.reset_to(c, true);
        self.session.restore_log(log);
        self.generation = running.generation;
        self.sysname.clone_from(&running.config.sysname);
        Ok(())
    }

    /// `display configuration candidate`: the whole candidate in VRP's layout.
    pub fn display_candidate(&self) -> String {
        self.config().to_vrp()
    }

    /// `display configuration candidate changes`: `+`/`-` against running.
    pub fn display_candidate_changes(&self, running: &Running) -> String {
        format!(
            "Building configuration\n{}",
            crate::print::changes(&running.config, self.config())
        )
    }
}

fn rejected(r: Reject) -> ConfigError {
    ConfigError {
        line_no: 0,
        line: String::new(),
        column: None,
        kind: ErrorKind::Rejected(r.0),
    }
}

/// Cross-object rules checked at commit on the whole candidate (the entry-time rules of
/// [`Config::apply`] are not repeated unless an object they depend on can change later):
///
/// - a peer with settings in a public family (enabled, options) exists in the BGP view, one
///   in a VPN instance family is that family's own peer (`undo peer` in another session);
/// - `connect-interface IF` names a configured interface;
/// - `reflect-client` only for IBGP peers (the peer's AS may change after);
/// - `ebgp-max-hop` and `valid-ttl-hops` exclude each other, as do `next-hop-invariable` and
///   `next-hop-local`;
/// - an interface's VPN instance exists;
/// - a BGP VPN instance family has its VPN instance, with that address family and an RD;
/// - no IP address on two interfaces of the same VPN instance (or the public network);
/// - a static route's VPN instance exists.
pub fn validate(cfg: &Config) -> Result<(), Reject> {
    let e = |m: String| Err(Reject::new(m));
    for i in cfg.interfaces.values() {
        if let Some(v) = &i.vpn_instance
            && !cfg.vpn_instances.contains_key(v)
        {
            return e(format!(
                "Error: Interface {} is bound to VPN instance {v}, which does not exist.",
                i.name
            ));
        }
    }
    let mut seen: BTreeMap<(Option<&str>, IpAddr), &str> = BTreeMap::new();
    for i in cfg.interfaces.values() {
        for a in i.addresses() {
            if let Some(other) = seen.insert((i.vpn_instance.as_deref(), a.addr()), &i.name) {
                return e(format!(
                    "Error: The address {} is configured on both {other} and {}.",
                    a.addr(),
                    i.name
                ));
            }
        }
    }
    for r in &cfg.static_routes {
        if let Some(v) = &r.vpn_instance
            && !cfg.vpn_instances.contains_key(v)
        {
            return e(format!(
                "Error: A static route to {} needs VPN instance {v}, which does not exist.",
                r.prefix
            ));
        }
    }
    let Some(bgp) = &cfg.bgp else { return Ok(()) };
    for (af, fam) in &bgp.families {
        if let AfKey::Vrf { afi, name } = af {
            let Some(vi) = cfg.vpn_instances.get(name) else {
                return e(format!(
                    "Error: {} needs VPN instance {name}, which does not exist.",
                    af.header()
                ));
            };
            if vi.af(*afi).and_then(|a| a.rd).is_none() {
                return e(format!(
                    "Error: {} needs a route-distinguisher in the {} of VPN instance {name}.",
                    af.header(),
                    crate::table::vpn_af_header(*afi)
                ));
            }
        }
        for (addr, ap) in &fam.peers {
            let peer = match af {
                AfKey::Vrf { .. } => fam.vrf_peers.get(addr),
                _ => bgp.peers.get(addr),
            };
            let Some(peer) = peer else {
                return e(format!(
                    "Error: Peer {addr} is configured in {} but has no as-number.",
                    af.header()
                ));
            };
            if ap.reflect_client && peer.asn != bgp.asn {
                return e(format!(
                    "Error: Peer {addr} is a reflect-client in {} but is not an IBGP peer.",
                    af.header()
                ));
            }
            if ap.next_hop_invariable && ap.next_hop_local {
                return e(crate::change::msg::NHI_NHL.to_owned());
            }
        }
    }
    for (_, p) in bgp.sessions() {
        if p.ebgp_max_hop.is_some() && p.valid_ttl_hops.is_some() {
            return e(crate::change::msg::GTSM_EBGP_MAX_HOP.to_owned());
        }
        if let Some(ifname) = p
            .connect_interface
            .as_ref()
            .and_then(|c| c.interface.as_ref())
            && !cfg.interfaces.contains_key(ifname)
        {
            return e(format!(
                "Error: Peer {} uses connect-interface {ifname}, which does not exist.",
                p.addr
            ));
        }
    }
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2012-07-03 20:20:40` (UTC) from Unix seconds.
pub fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------------
// Store

/// The running configuration and the commit history in a directory:
///
/// ```text
/// DIR/origin.cfg               configuration before the oldest rollback point
/// DIR/running.cfg              the running configuration
/// DIR/commits/<id>.cfg         the configuration right after commit <id>
/// DIR/commits/<id>.info        id, time, user, type, description (key=value lines)
/// ```
///
/// Every file is written atomically (temporary file, fsync, rename, fsync of the directory),
/// commit files before `running.cfg`, so a crash leaves either the old or the new state and
/// commit IDs keep counting after a restart.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating) a store. A new store starts from `initial` (the startup file's
    /// configuration); an existing one from what it holds.
    pub fn open(dir: impl Into<PathBuf>, initial: Config) -> io::Result<(Store, Running)> {
        let dir = dir.into();
        std::fs::create_dir_all(dir.join("commits"))?;
        let store = Store { dir };
        let origin_path = store.dir.join("origin.cfg");
        if !origin_path.exists() {
            let r = Running::new(initial);
            store.persist(&r)?;
            return Ok((store, r));
        }
        let origin = load(&origin_path)?;
        let mut history = Vec::new();
        for e in std::fs::read_dir(store.dir.join("commits"))? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "info") {
                history.push(store.read_record(&p)?);
            }
        }
        history.sort_by_key(|r| r.id);
        let config = match store.dir.join("running.cfg") {
            p if p.exists() => load(&p)?,
            _ => history
                .last()
                .map_or_else(|| origin.clone(), |r| r.config.clone()),
        };
        let next_id = history.last().map_or(FIRST_COMMIT_ID, |r| r.id + 1);
        let r = Running {
            config,
            origin,
            history,
            next_id,
            generation: 0,
        };
        Ok((store, r))
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read_record(&self, info: &Path) -> io::Result<CommitRecord> {
        let text = std::fs::read_to_string(info)?;
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
                .unwrap_or_default()
                .to_owned()
        };
        let bad = |m: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {m}", info.display()),
            )
        };
        let id: CommitId = field("id").parse().map_err(|_| bad("id"))?;
        let config = load(&info.with_extension("cfg"))?;
        Ok(CommitRecord {
            id,
            time: field("time").parse().unwrap_or(0),
            user: field("user"),
            description: field("description"),
            kind: if field("type") == "Rollback" {
                CommitKind::Rollback
            } else {
                CommitKind::Cli
            },
            config,
        })
    }

    /// Writes what is not on disk yet: new rollback points, then the running configuration.
    pub fn persist(&self, running: &Running) -> io::Result<()> {
        let origin = self.dir.join("origin.cfg");
        if !origin.exists() {
            write_atomic(&origin, running.origin.to_vrp().as_bytes())?;
        }
        for r in &running.history {
            let info = self.dir.join("commits").join(format!("{}.info", r.id));
            if info.exists() {
                continue;
            }
            write_atomic(&info.with_extension("cfg"), r.config.to_vrp().as_bytes())?;
            let ty = match r.kind {
                CommitKind::Cli => "CLI",
                CommitKind::Rollback => "Rollback",
            };
            let desc = r.description.replace(['\n', '\r'], " ");
            let text = format!(
                "id={}\ntime={}\nuser={}\ntype={ty}\ndescription={desc}\n",
                r.id, r.time, r.user
            );
            write_atomic(&info, text.as_bytes())?;
        }
        write_atomic(
            &self.dir.join("running.cfg"),
            running.config.to_vrp().as_bytes(),
        )
    }

    /// `save`: the running configuration to the startup file, atomically.
    pub fn save(running: &Running, startup: &Path) -> io::Result<()> {
        write_atomic(startup, running.config.to_vrp().as_bytes())
    }
}

fn load(path: &Path) -> io::Result<Config> {
    let text = std::fs::read_to_string(path)?;
    parse_file(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// Writes a file atomically: a temporary file beside it, fsync, rename over, fsync of the
/// directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
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
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::File::open(&dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(timestamp(1_341_346_840), "2012-07-03 20:20:40");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00:00:00");
    }
}
