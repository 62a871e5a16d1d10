//! The two-stage commit: per-session candidates over one running configuration, commit
//! history with VRP's commit IDs, rollback, and a [`Store`] (the journal in
//! [`crate::journal`]) that keeps the history on disk.
//!
//! ```text
//!  Candidate (Session: shared copy + typed change log)         Running (config + history)
//!     apply_line ──(entry rules)──▶ working copy (copied on        │
//!                                   the first change)              │
//!     commit ─────────────────────▶ replay the change log on running ─┤
//!                                   validate the whole result         │ all or nothing
//!                                   journal record, fsync             │
//!                                   new CommitRecord 1000000001, …  ◀─┘
//! ```
//!
//! The running configuration is shared ([`Arc`]): sessions read it without copying it, and a
//! candidate copies it on its first change only. The history holds, per rollback point, its
//! record and a reversible line patch ([`crate::patch`]), never a whole configuration: an
//! earlier configuration is the running one with the newer patches undone. It keeps VRP's
//! number of rollback points ([`DEFAULT_COMMIT_POINTS`]); older ones are dropped.
//!
//! With a [`Store`], a commit is acknowledged only once its journal record is on disk; when
//! the record cannot be written the commit fails and nothing changes.
//!
//! Rules checked at entry (by [`Config::apply`], line by line) stay there; [`validate`] checks,
//! at commit, what spans objects and can go stale between entry and commit (another session
//! commits, an object is deleted later in the same candidate): see its docs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::change::Change;
use crate::error::Reject;
use crate::error::{ConfigError, ErrorKind};
pub use crate::journal::{Opened, Store, write_atomic};
use crate::model::{AfKey, Config};
use crate::patch::Patch;
use crate::session::{Outcome, Session, parse_file};

/// A commit ID (`1000000001`, …).
pub type CommitId = u64;

/// The first commit ID, as VRP numbers rollback points.
pub const FIRST_COMMIT_ID: CommitId = 1_000_000_001;

/// VRP's number of rollback points: when the list holds 50 and a commit makes another, the
/// oldest is deleted (`clear configuration commit oldest`).
pub const DEFAULT_COMMIT_POINTS: usize = 50;

/// The largest number of rollback points that can be kept (VRP's `rollback configuration
/// last` and `clear configuration commit oldest` reach 80 back).
pub const MAX_COMMIT_POINTS: usize = 80;

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
}

/// One change of the running configuration in the history: a commit (a rollback point), or
/// the startup configuration replacing the last committed one at a start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The rollback point; `None` for a start from a startup file that differed.
    pub(crate) record: Option<CommitRecord>,
    /// From the configuration before to the one after, as printed.
    pub(crate) patch: Patch,
}

/// The running configuration and its commit history (oldest first).
#[derive(Debug)]
pub struct Running {
    config: Arc<Config>,
    /// Every change of the running configuration since before the oldest rollback point
    /// kept, oldest first; applying them in order ends at `config`.
    entries: Vec<Entry>,
    /// How many of the last `entries` are not in the journal yet (a start from a startup
    /// file that differed, written with the next commit).
    unsynced: usize,
    next_id: CommitId,
    /// Bumped by every commit; candidates remember the one they started from.
    generation: u64,
    /// Checksum of the printed configuration last loaded from or saved to the startup file.
    saved: u64,
    /// The running configuration differs from it.
    unsaved: bool,
    /// Rollback points kept.
    limit: usize,
    store: Option<Store>,
    /// Problems that did not fail a commit (a journal compaction that could not be written).
    warnings: Vec<String>,
}

/// A copy holds the same configuration and history in memory, without the store.
impl Clone for Running {
    fn clone(&self) -> Running {
        Running {
            config: self.config.clone(),
            entries: self.entries.clone(),
            unsynced: self.unsynced,
            next_id: self.next_id,
            generation: self.generation,
            saved: self.saved,
            unsaved: self.unsaved,
            limit: self.limit,
            store: None,
            warnings: Vec::new(),
        }
    }
}

impl Running {
    /// A running configuration with no history (loaded from the startup file).
    pub fn new(config: Config) -> Running {
        Running {
            saved: crate::journal::fnv64(config.to_vrp().as_bytes()),
            unsaved: false,
            config: Arc::new(config),
            entries: Vec::new(),
            unsynced: 0,
            next_id: FIRST_COMMIT_ID,
            generation: 0,
            limit: DEFAULT_COMMIT_POINTS,
            store: None,
            warnings: Vec::new(),
        }
    }

    /// Keeps at most `n` rollback points (at least 1, at most [`MAX_COMMIT_POINTS`]).
    pub fn with_limit(mut self, n: usize) -> Running {
        self.limit = n.clamp(1, MAX_COMMIT_POINTS);
        self.trim();
        self
    }

    pub(crate) fn restored(
        config: Config,
        entries: Vec<Entry>,
        unsynced: usize,
        next_id: CommitId,
        limit: usize,
        store: Store,
    ) -> Running {
        let mut r = Running {
            saved: crate::journal::fnv64(config.to_vrp().as_bytes()),
            unsaved: false,
            config: Arc::new(config),
            entries,
            unsynced,
            next_id,
            generation: 0,
            limit: limit.clamp(1, MAX_COMMIT_POINTS),
            store: Some(store),
            warnings: Vec::new(),
        };
        r.trim();
        r
    }

    /// The running configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The running configuration, shared.
    pub fn shared_config(&self) -> Arc<Config> {
        self.config.clone()
    }

    /// The rollback points, oldest first.
    pub fn history(&self) -> Vec<CommitRecord> {
        self.entries
            .iter()
            .filter_map(|e| e.record.clone())
            .collect()
    }

    /// Lines the history holds in memory (removed plus added lines of every patch): what it
    /// costs, which does not depend on the size of the configuration.
    pub fn history_lines(&self) -> usize {
        self.entries.iter().map(|e| e.patch.lines()).sum()
    }

    /// The number of rollback points kept at most.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The ID the next commit gets.
    pub fn next_id(&self) -> CommitId {
        self.next_id
    }

    /// The journal the history is kept in, if any.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// True when commits made the running configuration differ from what it was when
    /// loaded from, or last saved to, the startup file.
    pub fn unsaved(&self) -> bool {
        self.unsaved
    }

    /// Records that the running configuration was written to the startup file.
    pub fn mark_saved(&mut self) {
        self.saved = crate::journal::fnv64(self.config.to_vrp().as_bytes());
        self.unsaved = false;
    }

    /// Problems met since the last call that did not fail a commit (for the log).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// A new candidate for a session of `user`, sharing the running configuration.
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

    /// Validates `new` and makes it the running configuration as a new rollback point: the
    /// journal record first (when there is a store), then the configuration in memory.
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
        let (old_text, new_text) = (self.config.to_vrp(), new.to_vrp());
        if new_text == old_text {
            return Ok(None);
        }
        let id = self.next_id;
        let entry = Entry {
            record: Some(CommitRecord {
                id,
                time,
                user: user.replace(['\n', '\r'], " "),
                description: description.replace(['\n', '\r'], " "),
                kind,
            }),
            patch: Patch::diff(&old_text, &new_text),
        };
        if let Some(store) = &mut self.store {
            let unsynced = &self.entries[self.entries.len() - self.unsynced..];
            store.append(unsynced, &entry).map_err(|e| {
                rejected(Reject::new(format!(
                    "Error: Failed to commit the configuration because the commit history \
                     could not be written ({e}). The running configuration is unchanged."
                )))
            })?;
            self.unsynced = 0;
        }
        self.next_id += 1;
        self.generation += 1;
        self.unsaved = crate::journal::fnv64(new_text.as_bytes()) != self.saved;
        self.config = Arc::new(new);
        self.entries.push(entry);
        self.trim();
        self.compact();
        Ok(Some(id))
    }

    /// Drops the rollback points beyond the limit (and what precedes the oldest kept).
    fn trim(&mut self) {
        let mut points = self.entries.iter().filter(|e| e.record.is_some()).count();
        let mut drop = 0;
        for e in &self.entries {
            if points <= self.limit && e.record.is_some() {
                break;
            }
            if e.record.is_some() {
                points -= 1;
            }
            drop += 1;
        }
        // Never drop what the journal has not got yet.
        let drop = drop.min(self.entries.len() - self.unsynced);
        self.entries.drain(..drop);
    }

    /// Rewrites the journal from a new base once it holds twice the rollback points kept.
    fn compact(&mut self) {
        let Some(store) = &self.store else { return };
        if store.entries() < 2 * self.limit.max(8) {
            return;
        }
        let base = match self.text_before(0) {
            Some(t) => t,
            None => return,
        };
        let entries = &self.entries[..self.entries.len() - self.unsynced];
        if let Some(store) = &mut self.store
            && let Err(e) = store.compact(&base, entries)
        {
            self.warnings.push(format!(
                "the commit history could not be compacted (it stays as it is): {e}"
            ));
        }
    }

    /// The printed configuration before the entry at `index` (after it with `index + 1`).
    fn text_before(&self, index: usize) -> Option<String> {
        let mut text = self.config.to_vrp();
        for e in self.entries[index..].iter().rev() {
            text = e.patch.reverse().apply(&text)?;
        }
        Some(text)
    }

    fn config_before(&self, index: usize) -> Result<Config, ConfigError> {
        let text = self
            .text_before(index)
            .ok_or_else(|| rejected(Reject::new("Error: The rollback point is damaged.")))?;
        parse_file(&text).map_err(|e| rejected(Reject::new(format!("Error: {e}"))))
    }

    fn record(&self, id: CommitId) -> Result<usize, ConfigError> {
        self.entries
            .iter()
            .position(|e| e.record.as_ref().is_some_and(|r| r.id == id))
            .ok_or_else(|| rejected(Reject::new("Error: The commit ID does not exist.")))
    }

    /// `rollback configuration to commit-id ID`: the running configuration becomes what it
    /// was right after commit `ID`; the rollback is itself a new commit (`None` when nothing
    /// changes).
    pub fn rollback_to(
        &mut self,
        id: CommitId,
        user: &str,
    ) -> Result<Option<CommitId>, ConfigError> {
        let i = self.record(id)?;
        let target = self.config_before(i + 1)?;
        self.install(target, user, "", CommitKind::Rollback, now())
    }

    /// `rollback configuration last N`: undoes the last `n` commits (the configuration
    /// becomes what it was before the `n`-th latest commit), as a new commit.
    pub fn rollback_last(&mut self, n: usize, user: &str) -> Result<Option<CommitId>, ConfigError> {
        let points: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].record.is_some())
            .collect();
        if n == 0 || n > points.len() {
            return Err(rejected(Reject::new(
                "Error: The number of commits to roll back exceeds the number of rollback points.",
            )));
        }
        let target = self.config_before(points[points.len() - n])?;
        self.install(target, user, "", CommitKind::Rollback, now())
    }

    /// `display configuration commit list [verbose]`: newest first.
    pub fn display_commit_list(&self, verbose: bool) -> String {
        let mut out = String::new();
        let records = self.entries.iter().rev().filter_map(|e| e.record.as_ref());
        for (i, r) in records.enumerate() {
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
        let i = self.record(id)?;
        let (before, after) = (self.config_before(i)?, self.config_before(i + 1)?);
        Ok(format!(
            "Building configuration\n{}",
            crate::print::changes(&before, &after)
        ))
    }

    /// The typed change set of commit `ID` (what the daemon applies).
    pub fn commit_change_set(&self, id: CommitId) -> Result<crate::diff::ChangeSet, ConfigError> {
        let i = self.record(id)?;
        let (before, after) = (self.config_before(i)?, self.config_before(i + 1)?);
        Ok(crate::diff::diff(&before, &after))
    }

    /// The printed configuration right after commit `ID` (what `rollback configuration to
    /// commit-id ID` makes running).
    pub fn text_after(&self, id: CommitId) -> Result<String, ConfigError> {
        let i = self.record(id)?;
        self.text_before(i + 1)
            .ok_or_else(|| rejected(Reject::new("Error: The rollback point is damaged.")))
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
    /// The session's user (who commits are recorded as made by).
    pub fn user(&self) -> &str {
        &self.user
    }

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
            let mut c = (*running.config).clone();
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
        let mut c = (*running.config).clone();
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
/// - `peer X capability-advertise add-path` only for IBGP peers (the AS may change after);
/// - `peer X advertise add-path` needs the family's `bestroute add-path` and the peer's
///   `capability-advertise add-path send|both`;
/// - an interface's VPN instance exists;
/// - a BGP VPN instance family has its VPN instance, with that address family and an RD;
/// - no IP address on two interfaces of the same VPN instance (or the public network);
/// - a static route's VPN instance exists.
pub fn validate(cfg: &Config) -> Result<(), Reject> {
    let e = |m: String| Err(Reject::new(m));
    // A peer group's source interface exists, members or not.
    if let Some(bgp) = &cfg.bgp {
        let groups = bgp
            .groups
            .values()
            .chain(bgp.families.values().flat_map(|f| f.groups.values()));
        for g in groups {
            if let Some(ifname) = g
                .session
                .connect_interface
                .as_ref()
                .and_then(|c| c.interface.as_ref())
                && !cfg.interfaces.contains_key(ifname)
            {
                return e(format!(
                    "Error: Peer group {} uses connect-interface {ifname}, which does not exist.",
                    g.name
                ));
            }
        }
    }
    // Peer group members are checked with what they inherit.
    let eff = cfg.effective();
    let cfg = &eff;
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
            if ap.add_path.is_some() && peer.asn != bgp.asn {
                return e(crate::change::msg::ADD_PATH_IBGP.to_owned());
            }
            if ap.advertise_add_path.is_some() {
                if fam.bestroute_add_path.is_none() {
                    return e(crate::change::msg::ADD_PATH_BESTROUTE.to_owned());
                }
                if !ap.add_path.is_some_and(crate::model::AddPathMode::send) {
                    return e(crate::change::msg::ADD_PATH_SEND.to_owned());
                }
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
