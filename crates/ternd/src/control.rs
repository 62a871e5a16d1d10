//! The control API (tern-api's `Control` service) on the daemon's control socket.
//!
//! A management session is a VRP terminal holding its own candidate configuration
//! ([`tern_config::Candidate`], started in the user view on the running configuration). Every
//! line goes through the one grammar: configuration lines change the candidate (validated as
//! they are entered; the prompt shows `[*…]` while uncommitted changes exist), `display bgp
//! ...` lines are served from the peers' status and the RIB task, and the configuration-management commands
//! act on the shared running configuration:
//!
//! - `commit [description TEXT]`: the whole candidate is checked (tern-config's rules, then
//!   what the daemon needs to run it); only then does it become the running configuration, a
//!   new commit in the persistent history, and a change set that [`crate::manager`] applies
//!   to the live sessions. A failed commit changes nothing.
//! - `abort`, `clear configuration candidate`: discard the candidate's changes.
//! - `display configuration candidate [changes]`, `display configuration commit list
//!   [verbose]`, `display configuration commit changes at ID`, `display current-configuration`.
//! - `rollback configuration to commit-id ID | last N` (user view): a new commit whose
//!   sessions follow like any other.
//! - `save`: the running configuration written atomically to the startup file.
//!
//! `display this` prints the candidate's configuration of the current view.
//!
//! Sessions left idle for [`IDLE_TIMEOUT`] are closed, as VRP's `idle-timeout` does.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use std::path::PathBuf;
use tern_api::pb;
use tern_api::tonic::{self, Request, Response, Status};
use tern_types::Family;

use tern_config::diff::ChangeSet;
use tern_config::{
    Candidate, Config, ConfigError, ErrorKind, Grammar, Outcome, Running, Session, SessionCmd,
    Store, ViewId,
};
use tokio::net::TcpListener;

use crate::display;
use crate::manager::{Peers, StatusIndex};
use crate::rib_task::RibHandle;
use crate::spec::DaemonConfig;
use crate::status::PeerStatus;

/// VRP's default `idle-timeout` for a terminal.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The daemon's state the control API reads and changes.
pub struct Shared {
    /// The resolved configuration the daemon runs.
    pub cfg: std::sync::RwLock<DaemonConfig>,
    /// The running configuration and its commit history.
    pub running: Mutex<Running>,
    /// Where the commit history persists.
    pub store: Option<Store>,
    /// The startup file `save` writes.
    pub startup: Option<PathBuf>,
    /// Each running peer's status, shared with its task.
    pub peers: StatusIndex,
    /// The running peers, changed by commits.
    pub manager: tokio::sync::Mutex<Peers>,
    /// The listening sockets (MD5 keys and GTSM TTL follow the peers).
    pub listeners: Vec<Arc<TcpListener>>,
    /// The RIB task (routing-table displays).
    pub rib: RibHandle,
}

impl Shared {
    fn statuses(&self) -> Vec<PeerStatus> {
        self.peers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, s)| s.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }

    fn running(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn cfg(&self) -> DaemonConfig {
        self.cfg
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A committed change the sessions must follow.
struct Job {
    old: DaemonConfig,
    new: DaemonConfig,
    changes: ChangeSet,
    /// What the commit's policy edits concern (the engine re-runs only those).
    scope: tern_engine::routing::PolicyScope,
}

struct Terminal {
    cand: Candidate,
    used: Instant,
}

/// The service: the management sessions and the state they display.
pub struct ControlService {
    shared: Arc<Shared>,
    sessions: Arc<Mutex<HashMap<u64, Terminal>>>,
    next: AtomicU64,
}

/// A line's result before it becomes a reply.
struct Ran {
    output: String,
    error: Option<pb::LineError>,
    closed: bool,
    job: Option<Job>,
    question: String,
    /// A display to serve once the session is released (the RIB is asked asynchronously).
    show: Option<String>,
    /// An operation on the sessions (`reset bgp …`), run once the session is released.
    operate: Option<String>,
}

impl Ran {
    fn ok(output: String) -> Ran {
        Ran {
            output,
            error: None,
            closed: false,
            job: None,
            question: String::new(),
            show: None,
            operate: None,
        }
    }

    fn refused(e: pb::LineError) -> Ran {
        Ran {
            error: Some(e),
            ..Ran::ok(String::new())
        }
    }
}

/// VRP's question when a line would leave the system view with uncommitted changes.
pub const UNCOMMITTED_QUESTION: &str = "Warning: Uncommitted configurations found. Are you sure to commit them before exiting? [Y(yes)/N(no)/C(cancel)]:";

impl ControlService {
    /// A service over `shared`; spawns the idle-session reaper on the current runtime.
    pub fn new(shared: Arc<Shared>) -> ControlService {
        let sessions: Arc<Mutex<HashMap<u64, Terminal>>> = Arc::default();
        let weak = Arc::downgrade(&sessions);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(30)).await;
                let Some(s) = weak.upgrade() else { return };
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|_, t| t.used.elapsed() < IDLE_TIMEOUT);
            }
        });
        ControlService {
            shared,
            sessions,
            next: AtomicU64::new(1),
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<u64, Terminal>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a live session.
    fn with<T>(&self, id: u64, f: impl FnOnce(&mut Candidate) -> T) -> Result<T, Status> {
        let mut all = self.sessions();
        let t = all.get_mut(&id).ok_or_else(|| {
            Status::not_found(format!(
                "no session {id} (closed, or idle for more than {} minutes)",
                IDLE_TIMEOUT.as_secs() / 60
            ))
        })?;
        t.used = Instant::now();
        Ok(f(&mut t.cand))
    }

    /// Runs one typed line in a session.
    fn run(&self, c: &mut Candidate, line: &str, answer: &str) -> Ran {
        let prompt = c.prompt();
        let user_view = c.session().view() == ViewId::User;
        let (ok, refused) = (Ran::ok, Ran::refused);
        // Leaving for the user view with uncommitted changes: VRP asks first.
        let mut job = None;
        if !user_view && c.is_dirty() && leaves_to_user_view(c.session(), line) {
            match answer.trim().to_ascii_uppercase().as_str() {
                "" => {
                    return Ran {
                        question: UNCOMMITTED_QUESTION.to_owned(),
                        ..ok(String::new())
                    };
                }
                "Y" | "YES" => match self.manage(c, "commit") {
                    Ok((_, j)) => job = j,
                    Err(Refusal::Config(e)) => return refused(config_error(&prompt, &e)),
                    Err(Refusal::Text(t)) => return refused(line_error(&prompt, t, None)),
                },
                "N" | "NO" => {
                    let running = self.shared.running();
                    c.clear(&running);
                }
                _ => return ok(String::new()),
            }
        }
        let mut ran = self.run_line(c, line, &prompt, user_view);
        if ran.job.is_none() {
            ran.job = job;
        }
        ran
    }

    fn run_line(&self, c: &mut Candidate, line: &str, prompt: &str, user_view: bool) -> Ran {
        let prompt = prompt.to_owned();
        let (ok, refused) = (Ran::ok, Ran::refused);
        match c.apply_line(line) {
            Ok(Outcome::Show(canonical)) => Ran {
                show: Some(canonical),
                ..ok(String::new())
            },
            Ok(Outcome::Operate(canonical)) => Ran {
                operate: Some(canonical),
                ..ok(String::new())
            },
            Ok(Outcome::Display(SessionCmd::DisplayCurrent)) => {
                ok(self.shared.running().config().to_vrp())
            }
            Ok(Outcome::Display(SessionCmd::DisplayThis)) => ok(c.session().display_this()),
            Ok(Outcome::Manage(canonical)) => match self.manage(c, &canonical) {
                Ok((output, job)) => Ran { job, ..ok(output) },
                Err(e) => refused(match e {
                    Refusal::Config(e) => config_error(&prompt, &e),
                    Refusal::Text(t) => line_error(&prompt, t, None),
                }),
            },
            Ok(Outcome::ViewChanged) if user_view && c.session().view() == ViewId::User => {
                // `quit` in the user view ends the terminal session.
                Ran {
                    closed: true,
                    ..ok(String::new())
                }
            }
            Ok(_) => ok(String::new()),
            Err(e) => refused(config_error(&prompt, &e)),
        }
    }

    /// A configuration-management command, as its canonical line.
    fn manage(&self, c: &mut Candidate, canonical: &str) -> Result<(String, Option<Job>), Refusal> {
        let words: Vec<&str> = canonical.split_whitespace().collect();
        let mut running = self.shared.running();
        let user = "tern";
        match words.as_slice() {
            ["commit", rest @ ..] => {
                let description = match rest {
                    ["description", ..] => canonical
                        .split_once("description")
                        .map_or("", |(_, d)| d.trim()),
                    _ => "",
                };
                // What the daemon needs to run it is part of the check: a commit the
                // daemon could not run changes nothing.
                crate::config::resolve(c.config())
                    .map_err(|e| Refusal::Text(format!("Error: {e}")))?;
                let before = running.config().clone();
                let id = c
                    .commit(&mut running, description)
                    .map_err(Refusal::Config)?;
                let job = match id {
                    Some(id) => {
                        tracing::info!(commit = id, "configuration committed");
                        Some(self.installed(&running, &before)?)
                    }
                    None => None,
                };
                Ok((String::new(), job))
            }
            ["abort"] => {
                c.clear(&running);
                let _ = c.apply_line("return");
                Ok((String::new(), None))
            }
            ["clear", "configuration", "candidate"] => {
                c.clear(&running);
                Ok((String::new(), None))
            }
            ["display", "configuration", "candidate"] => Ok((c.display_candidate(), None)),
            ["display", "configuration", "candidate", "changes"] => {
                Ok((c.display_candidate_changes(&running), None))
            }
            ["display", "configuration", "commit", ..] => Ok((
                commit_display(&running, &words).map_err(Refusal::Config)?,
                None,
            )),
            ["rollback", "configuration", how @ ..] => {
                let before = running.config().clone();
                let id = match how {
                    ["to", "commit-id", id] => {
                        let id = id
                            .parse()
                            .map_err(|_| Refusal::Text(ErrorKind::WrongParameter.message()))?;
                        running.rollback_to(id, user)
                    }
                    ["last", n] => {
                        let n = n
                            .parse()
                            .map_err(|_| Refusal::Text(ErrorKind::WrongParameter.message()))?;
                        running.rollback_last(n, user)
                    }
                    _ => return Err(Refusal::Text(ErrorKind::Incomplete.message())),
                }
                .map_err(Refusal::Config)?;
                let job = match id {
                    Some(id) => {
                        tracing::info!(commit = id, "configuration rolled back");
                        Some(self.installed(&running, &before)?)
                    }
                    None => None,
                };
                c.clear(&running);
                Ok((String::new(), job))
            }
            ["save"] => {
                let Some(path) = &self.shared.startup else {
                    return Err(Refusal::Text("Error: No startup file to save to.".into()));
                };
                Store::save(&running, path).map_err(|e| {
                    Refusal::Text(format!("Error: Failed to save {}: {e}", path.display()))
                })?;
                Ok((
                    format!(
                        "Info: Save the configuration successfully to {}.\n",
                        path.display()
                    ),
                    None,
                ))
            }
            _ => Err(Refusal::Text(ErrorKind::Unrecognized.message())),
        }
    }

    /// After a commit or rollback: persist the history, resolve the new configuration and
    /// hand back what the sessions must do.
    fn installed(&self, running: &Running, before: &Config) -> Result<Job, Refusal> {
        if let Some(store) = &self.shared.store
            && let Err(e) = store.persist(running)
        {
            tracing::warn!("commit history not persisted: {e}");
        }
        let new = crate::config::resolve(running.config())
            .map_err(|e| Refusal::Text(format!("Error: {e}")))?;
        let old = {
            let mut cfg = self
                .shared
                .cfg
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *cfg, new.clone())
        };
        let changes = tern_config::diff::diff(before, running.config());
        let scope = policy_scope(&changes, running.config());
        Ok(Job {
            old,
            new,
            changes,
            scope,
        })
    }

    /// Moves the sessions to a committed configuration.
    async fn apply(&self, job: Job) {
        if job.old.routing != job.new.routing {
            self.shared
                .rib
                .send(crate::rib_task::RibMsg::Commit {
                    routing: std::sync::Arc::new(job.new.routing.clone()),
                    scope: job.scope.clone(),
                })
                .await;
        }
        let plan = crate::manager::plan(&job.old, &job.new, &job.changes);
        if plan.is_empty() {
            return;
        }
        tracing::info!(?plan, "applying the commit to the sessions");
        let mut peers = self.shared.manager.lock().await;
        peers.execute(&plan, &job.new, &self.shared.listeners).await;
    }

    /// `?` help.
    fn help(s: &Session, partial: &str) -> pb::HelpReply {
        let prompt = s.prompt();
        let items: Vec<pb::HelpItem> = s
            .help(partial)
            .into_iter()
            .map(|(token, help)| pb::HelpItem {
                token,
                help: help.to_owned(),
            })
            .collect();
        let error = items.is_empty().then(|| help_error(s, &prompt, partial));
        pb::HelpReply { items, error }
    }
}

/// True when `line` would take the session from a configuration view to the user view
/// (`return`, Ctrl-Z, `quit` in the system view).
fn leaves_to_user_view(s: &Session, line: &str) -> bool {
    let mut probe = s.clone();
    matches!(probe.apply_line(line), Ok(Outcome::ViewChanged)) && probe.view() == ViewId::User
}

/// Why a management command was refused.
enum Refusal {
    /// A configuration error (with its caret, when it has one).
    Config(ConfigError),
    /// A message.
    Text(String),
}

/// `display configuration commit list [verbose]` and `... changes at ID`.
fn commit_display(running: &Running, words: &[&str]) -> Result<String, ConfigError> {
    match words {
        [.., "list"] => Ok(running.display_commit_list(false)),
        [.., "list", "verbose"] => Ok(running.display_commit_list(true)),
        [.., "changes", "at", id] => match id.parse() {
            Ok(id) => running.display_commit_changes_at(id),
            Err(_) => Ok(ErrorKind::WrongParameter.message()),
        },
        _ => Ok(String::new()),
    }
}

/// Splits a partly typed line into the part before the word being typed and that word.
fn split_last_word(partial: &str) -> (&str, &str) {
    match partial.rfind(char::is_whitespace) {
        Some(i) => {
            let w = i + partial[i..].chars().next().map_or(1, char::len_utf8);
            (&partial[..w], &partial[w..])
        }
        None => ("", partial),
    }
}

/// The error `?` shows when nothing can follow the typed text.
fn help_error(s: &Session, prompt: &str, partial: &str) -> pb::LineError {
    let body = partial.trim_start();
    let indent = partial.chars().count() - body.chars().count();
    match Grammar::get().match_line(s.view(), body.trim_end()) {
        Err(e) if e.kind != ErrorKind::Incomplete => {
            line_error(prompt, e.kind.message(), Some(e.column + indent))
        }
        _ => {
            let (before, _) = split_last_word(partial.trim_end());
            line_error(
                prompt,
                ErrorKind::Unrecognized.message(),
                Some(before.chars().count()),
            )
        }
    }
}

fn config_error(prompt: &str, e: &ConfigError) -> pb::LineError {
    line_error(prompt, e.message(), e.column)
}

/// An error as a terminal prints it under `prompt` + the line: the caret, then the message.
fn line_error(prompt: &str, message: String, column: Option<usize>) -> pb::LineError {
    let text = match column {
        Some(c) => format!("{}^\n{message}", " ".repeat(prompt.chars().count() + c)),
        None => message.clone(),
    };
    pb::LineError {
        message,
        column: column.and_then(|c| u32::try_from(c).ok()),
        text,
    }
}

#[tonic::async_trait]
impl tern_api::Control for ControlService {
    async fn open_session(
        &self,
        req: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::OpenSessionReply>, Status> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let client = req.get_ref().client.clone();
        let cand = self
            .shared
            .running()
            .terminal(if client.is_empty() { "tern" } else { &client });
        let prompt = cand.prompt();
        self.sessions().insert(
            id,
            Terminal {
                cand,
                used: Instant::now(),
            },
        );
        tracing::info!(session = id, client = %req.get_ref().client, "management session opened");
        Ok(Response::new(pb::OpenSessionReply {
            session: id,
            prompt,
        }))
    }

    async fn execute(
        &self,
        req: Request<pb::ExecuteRequest>,
    ) -> Result<Response<pb::ExecuteReply>, Status> {
        let r = req.into_inner();
        // `display … | include REGEX` and the other output filters.
        let (line, filter) = match crate::filter::split(&r.line) {
            Ok(x) => x,
            Err(msg) => {
                let prompt = self.with(r.session, |c| c.prompt())?;
                return Ok(Response::new(pb::ExecuteReply {
                    output: String::new(),
                    prompt: prompt.clone(),
                    error: Some(line_error(&prompt, msg, None)),
                    closed: false,
                    question: String::new(),
                }));
            }
        };
        let (mut ran, prompt) = self.with(r.session, |c| {
            let ran = self.run(c, line, &r.answer);
            (ran, c.prompt())
        })?;
        if let Some(job) = ran.job.take() {
            self.apply(job).await;
        }
        if let Some(canonical) = ran.operate.take() {
            match operate(&canonical, &self.shared).await {
                Ok(out) => ran.output = out,
                Err(msg) => ran.error = Some(line_error(&prompt, msg, None)),
            }
        }
        if let Some(canonical) = ran.show.take() {
            match show(&canonical, r.json, &self.shared).await {
                Ok(out) => ran.output = out,
                Err(msg) => ran.error = Some(line_error(&prompt, msg, None)),
            }
        }
        if let Some(f) = &filter
            && ran.error.is_none()
        {
            ran.output = crate::filter::apply(f, &ran.output);
        }
        if ran.closed {
            self.sessions().remove(&r.session);
        }
        Ok(Response::new(pb::ExecuteReply {
            output: ran.output,
            prompt,
            error: ran.error,
            closed: ran.closed,
            question: ran.question,
        }))
    }

    async fn help(&self, req: Request<pb::HelpRequest>) -> Result<Response<pb::HelpReply>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.with(r.session, |c| {
            ControlService::help(c.session(), &r.partial)
        })?))
    }

    async fn complete(
        &self,
        req: Request<pb::CompleteRequest>,
    ) -> Result<Response<pb::CompleteReply>, Status> {
        let r = req.into_inner();
        let (start, candidates) = self.with(r.session, |c| c.session().complete(&r.partial))?;
        Ok(Response::new(pb::CompleteReply {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            candidates,
        }))
    }

    async fn close_session(
        &self,
        req: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionReply>, Status> {
        let id = req.get_ref().session;
        if self.sessions().remove(&id).is_some() {
            tracing::info!(session = id, "management session closed");
        }
        Ok(Response::new(pb::CloseSessionReply {}))
    }

    async fn display(
        &self,
        req: Request<pb::DisplayRequest>,
    ) -> Result<Response<pb::DisplayReply>, Status> {
        let r = req.into_inner();
        // A scratch terminal in the user view; nothing is echoed before the command, so
        // carets are relative to the command itself.
        let mut s = Session::terminal(Config::default());
        let prompt = String::new();
        let (command, filter) = match crate::filter::split(&r.command) {
            Ok(x) => x,
            Err(msg) => {
                return Ok(Response::new(pb::DisplayReply {
                    output: String::new(),
                    error: Some(line_error(&prompt, msg, None)),
                }));
            }
        };
        let reply = |output: String, error: Option<pb::LineError>| {
            let output = match &filter {
                Some(f) if error.is_none() => crate::filter::apply(f, &output),
                _ => output,
            };
            Ok(Response::new(pb::DisplayReply { output, error }))
        };
        match s.apply_line(command) {
            Ok(Outcome::Show(canonical)) => match show(&canonical, r.json, &self.shared).await {
                Ok(out) => reply(out, None),
                Err(msg) => reply(String::new(), Some(line_error(&prompt, msg, None))),
            },
            Ok(Outcome::Display(SessionCmd::DisplayCurrent)) => {
                reply(self.shared.running().config().to_vrp(), None)
            }
            Ok(_) => {
                let msg = "Error: Display runs display commands only.".to_owned();
                reply(String::new(), Some(line_error(&prompt, msg, None)))
            }
            Err(e) => reply(String::new(), Some(config_error(&prompt, &e))),
        }
    }

    async fn mrt_dump(
        &self,
        req: Request<pb::MrtDumpRequest>,
    ) -> Result<Response<pb::MrtDumpReply>, Status> {
        let r = req.into_inner();
        let fail = |error: String| {
            Ok(Response::new(pb::MrtDumpReply {
                error,
                ..Default::default()
            }))
        };
        let path = if r.path.is_empty() {
            match crate::mrt::settings().dir {
                Some(d) => d.join(format!(
                    "rib.{}.mrt",
                    crate::mrt::stamp(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs())
                    )
                )),
                None => return fail("no file given and ternd runs without --mrt-dir".into()),
            }
        } else {
            let p = PathBuf::from(&r.path);
            if !p.is_absolute() {
                return fail(format!("{}: not an absolute path", r.path));
            }
            p
        };
        let collector = self
            .shared
            .cfg()
            .router_id
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        match crate::mrt::dump(&self.shared.rib, collector, &path).await {
            Ok(s) => {
                tracing::info!(path = %path.display(), destinations = s.destinations, routes = s.routes, "MRT dump written");
                Ok(Response::new(pb::MrtDumpReply {
                    path: path.display().to_string(),
                    destinations: s.destinations,
                    routes: s.routes,
                    peers: u32::try_from(s.peers).unwrap_or(u32::MAX),
                    error: String::new(),
                }))
            }
            Err(e) => fail(format!("{}: {e}", path.display())),
        }
    }
}

/// Serves a daemon display, given as its canonical line (`display bgp peer 4.4.4.9 verbose`).
async fn show(canonical: &str, json: bool, shared: &Shared) -> Result<String, String> {
    let words: Vec<&str> = canonical.split_whitespace().collect();
    if let ["display", ip @ ("ip" | "ipv6"), "routing-table", rest @ ..] = words.as_slice() {
        let v6 = *ip == "ipv6";
        let vrf = match rest {
            ["vpn-instance", v] => Some((*v).to_string()),
            _ => None,
        };
        let rows = match &vrf {
            None => kernel_rows(v6).await?,
            Some(v) => {
                let family = if v6 {
                    Family::IPV6_UNICAST
                } else {
                    Family::IPV4_UNICAST
                };
                let t = shared
                    .rib
                    .table(Some(v.clone()), family, false)
                    .await
                    .ok_or_else(|| format!("Error: The VPN instance {v} does not exist."))?;
                t.routes
                    .iter()
                    .filter(|r| r.best)
                    .map(|r| display::IpRouteRow {
                        prefix: r.prefix.clone(),
                        proto: if r.from.is_unspecified() {
                            "Direct".into()
                        } else if r.internal {
                            "IBGP".into()
                        } else {
                            "EBGP".into()
                        },
                        preference: if r.from.is_unspecified() { 0 } else { 255 },
                        cost: r.med.unwrap_or(0),
                        next_hop: r.next_hop.map_or_else(String::new, |a| a.to_string()),
                        interface: String::new(),
                    })
                    .collect()
            }
        };
        let name = vrf.as_deref().unwrap_or("_public_");
        return Ok(if json {
            to_json(&rows)
        } else {
            display::ip_routing_table(name, &rows)
        });
    }
    if let Some((family, kind, peer, which)) = peer_routes(&words) {
        let t = shared
            .rib
            .peer_routes(peer, family, which)
            .await
            .ok_or_else(|| format!("Error: The peer {peer} is not Established."))?;
        return Ok(if json {
            to_json(&t)
        } else {
            display::routing_table(&t, kind)
        });
    }
    if let Some(q) = routing_table(&words) {
        let mut t = shared
            .rib
            .lookup(q.vrf.clone(), q.family, q.label, q.lookup)
            .await
            .ok_or_else(|| match &q.vrf {
                Some(v) => format!("Error: The VPN instance {v} does not exist."),
                None => "Error: The routing table is not available.".to_owned(),
            })?;
        if let Some(rd) = &q.rd {
            t.routes.retain(|r| r.rd.as_deref() == Some(rd.as_str()));
            t.recount();
        }
        if q.lookup.is_some() {
            // Longest match: the most specific prefix holding the address, per route
            // distinguisher (the engine sent only prefixes that hold it).
            let mut best: std::collections::BTreeMap<Option<String>, u8> =
                std::collections::BTreeMap::new();
            for r in &t.routes {
                let b = best.entry(r.rd.clone()).or_default();
                *b = (*b).max(r.prefix_len);
            }
            t.routes
                .retain(|r| best.get(&r.rd).is_some_and(|b| *b == r.prefix_len));
            t.recount();
            return Ok(if json {
                to_json(&t)
            } else {
                display::route_detail(&t, q.kind)
            });
        }
        return Ok(if json {
            to_json(&t)
        } else {
            display::routing_table(&t, q.kind)
        });
    }
    let all = shared.statuses();
    let cfg = shared.cfg();
    let (rid, asn) = (cfg.router_id, cfg.local_as);
    let find = |a: &str| -> Result<PeerStatus, String> {
        let ip: IpAddr = a.parse().map_err(|_| ErrorKind::WrongParameter.message())?;
        all.iter()
            .find(|p| p.addr == ip)
            .cloned()
            .ok_or_else(|| format!("Error: The peer {ip} does not exist."))
    };
    let family = |fam: &str| -> Vec<PeerStatus> {
        let want = match fam {
            "vpnv4" => "vpnv4",
            "vpnv6" => "vpnv6",
            "labeled" => "ipv4-labeled-unicast",
            _ => "ipv6-unicast",
        };
        all.iter()
            .filter(|p| p.configured_families.iter().any(|f| f == want))
            .cloned()
            .collect()
    };
    Ok(match words.as_slice() {
        ["display", "bgp", "peer"] => {
            if json {
                to_json(&all)
            } else {
                display::peers(rid, asn, &all)
            }
        }
        ["display", "bgp", fam @ ("vpnv4" | "vpnv6"), "all", "peer"] => {
            // Public peers of the VPN family, then the PE–CE peers of each instance (VRP's
            // "Peer of IPv4-family for vpn instance" section).
            let public: Vec<PeerStatus> = family(fam)
                .into_iter()
                .filter(|p| p.vrf.is_none())
                .collect();
            let want = if *fam == "vpnv6" {
                "ipv6-unicast"
            } else {
                "ipv4-unicast"
            };
            let mut vrfs: BTreeMap<String, Vec<PeerStatus>> = BTreeMap::new();
            for p in all
                .iter()
                .filter(|p| p.configured_families.iter().any(|f| f == want))
            {
                if let Some(v) = &p.vrf {
                    vrfs.entry(v.clone()).or_default().push(p.clone());
                }
            }
            if json {
                let mut every = public.clone();
                every.extend(vrfs.values().flatten().cloned());
                to_json(&every)
            } else {
                let afi = if *fam == "vpnv6" { "IPv6" } else { "IPv4" };
                display::vpn_peers(rid, asn, &public, afi, &vrfs)
            }
        }
        ["display", "bgp", fam @ ("labeled" | "ipv6"), "peer"] => {
            let sel = family(fam);
            if json {
                to_json(&sel)
            } else {
                display::peers(rid, asn, &sel)
            }
        }
        ["display", "bgp", "peer", a, "verbose"] => {
            let p = find(a)?;
            if json {
                to_json(&p)
            } else {
                display::verbose(&p)
            }
        }
        ["display", "bgp", "peer", a, "log-info"] => {
            let p = find(a)?;
            if json {
                to_json(&p.log)
            } else {
                display::log_info(p.addr, &p)
            }
        }
        ["display", "bgp", "peer", a] => {
            let p = find(a)?;
            if json {
                to_json(&p)
            } else {
                display::peers(rid, asn, &[p])
            }
        }
        // The grammar and this table disagree: a display in the table without a server.
        _ => return Err(format!("Error: {canonical}: not available.")),
    })
}

/// The kernel's main table as `display ip routing-table` lists it (the daemon's namespace).
async fn kernel_rows(v6: bool) -> Result<Vec<display::IpRouteRow>, String> {
    let routes = tern_fib::KernelRoutes::read(tern_fib::MAIN_TABLE)
        .await
        .map_err(|e| format!("Error: The routing table cannot be read: {e}"))?;
    let mut names = std::collections::HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for e in dir.flatten() {
            if let Ok(i) = std::fs::read_to_string(e.path().join("ifindex"))
                && let Ok(i) = i.trim().parse::<u32>()
            {
                names.insert(i, e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let mut rows: Vec<display::IpRouteRow> = routes
        .iter()
        .filter(|r| r.prefix.addr().is_ipv6() == v6 && r.kind.reaches())
        .filter(|r| !matches!(r.prefix, ipnet::IpNet::V6(n) if n.addr().segments()[0] & 0xffc0 == 0xfe80))
        .map(|r| {
            let (proto, preference) = match r.protocol {
                2 => ("Direct", 0),
                tern_fib::PROTO_TERN => ("BGP", 255),
                3 | 4 => ("Static", 60),
                _ => ("Kernel", 60),
            };
            display::IpRouteRow {
                prefix: r.prefix.to_string(),
                proto: proto.into(),
                preference,
                cost: r.metric,
                next_hop: r.gateway.map_or_else(
                    || if v6 { "::".into() } else { "0.0.0.0".into() },
                    |g| g.to_string(),
                ),
                interface: r
                    .ifindex
                    .and_then(|i| names.get(&i).cloned())
                    .unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    Ok(rows)
}

/// `display bgp [labeled|vpnv4 all|vpnv6 all] routing-table peer X received-routes|
/// accepted-routes|advertised-routes`.
fn peer_routes(
    words: &[&str],
) -> Option<(
    Family,
    display::TableKind,
    IpAddr,
    crate::rib_task::PeerRoutes,
)> {
    use crate::rib_task::PeerRoutes;
    use display::TableKind;
    let [head @ .., "routing-table", "peer", addr, which] = words else {
        return None;
    };
    let which = match *which {
        "received-routes" => PeerRoutes::Received,
        "accepted-routes" => PeerRoutes::Accepted,
        "advertised-routes" => PeerRoutes::Advertised,
        _ => return None,
    };
    let peer: IpAddr = addr.parse().ok()?;
    let (family, kind) = match head {
        ["display", "bgp"] => (Family::IPV4_UNICAST, TableKind::Unicast),
        ["display", "bgp", "labeled"] => (Family::IPV4_LABELED, TableKind::Labeled),
        ["display", "bgp", "ipv6"] => (Family::IPV6_UNICAST, TableKind::Instance6),
        ["display", "bgp", "vpnv4", "all"] => (Family::VPNV4, TableKind::Vpnv4),
        ["display", "bgp", "vpnv6", "all"] => (Family::VPNV6, TableKind::Vpnv6),
        _ => return None,
    };
    Some((family, kind, peer, which))
}

/// A routing-table display: which table, which routes, which layout.
struct TableQuery {
    vrf: Option<String>,
    family: Family,
    kind: display::TableKind,
    rd: Option<String>,
    lookup: Option<IpAddr>,
    label: bool,
}

/// The routing-table displays.
fn routing_table(words: &[&str]) -> Option<TableQuery> {
    use display::TableKind;
    let (head, lookup, label) = match words {
        [head @ .., "routing-table", "label"] => (head, None, true),
        [head @ .., "routing-table", a] => (head, Some(a.parse::<IpAddr>().ok()?), false),
        [head @ .., "routing-table"] => (head, None, false),
        _ => return None,
    };
    let q = |vrf: Option<&str>, family, kind, rd: Option<&str>| TableQuery {
        vrf: vrf.map(str::to_string),
        family,
        kind,
        rd: rd.map(str::to_string),
        lookup,
        label,
    };
    let vpn = |f: &str| {
        if f == "vpnv6" {
            (Family::VPNV6, TableKind::Vpnv6, Family::IPV6_UNICAST)
        } else {
            (Family::VPNV4, TableKind::Vpnv4, Family::IPV4_UNICAST)
        }
    };
    if label {
        return Some(match head {
            ["display", "bgp"] | ["display", "bgp", "labeled"] => {
                q(None, Family::IPV4_LABELED, TableKind::Label, None)
            }
            ["display", "bgp", f @ ("vpnv4" | "vpnv6"), "all"] => {
                let (family, _, _) = vpn(f);
                q(None, family, TableKind::VpnLabel, None)
            }
            _ => return None,
        });
    }
    Some(match head {
        ["display", "bgp"] => q(None, Family::IPV4_UNICAST, TableKind::Unicast, None),
        ["display", "bgp", "labeled"] => q(None, Family::IPV4_LABELED, TableKind::Labeled, None),
        ["display", "bgp", "ipv6"] => q(None, Family::IPV6_UNICAST, TableKind::Instance6, None),
        ["display", "bgp", f @ ("vpnv4" | "vpnv6"), "all"] => {
            let (family, kind, _) = vpn(f);
            q(None, family, kind, None)
        }
        [
            "display",
            "bgp",
            f @ ("vpnv4" | "vpnv6"),
            "route-distinguisher",
            rd,
        ] => {
            let (family, kind, _) = vpn(f);
            q(None, family, kind, Some(rd))
        }
        ["display", "bgp", f @ ("vpnv4" | "vpnv6"), "vpn-instance", v] => {
            let (_, _, family) = vpn(f);
            let kind = if family.is_ipv6() {
                TableKind::Instance6
            } else {
                TableKind::Instance4
            };
            q(Some(v), family, kind, None)
        }
        _ => return None,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// `reset bgp {all | X | external | internal}` and `refresh bgp … {export | import}`, on the
/// public peers: the command goes to each peer's task; the output says which peers.
async fn operate(canonical: &str, shared: &Shared) -> Result<String, String> {
    let words: Vec<&str> = canonical.split_whitespace().collect();
    // `None`: reset (graceful or not); `Some(export)`: refresh.
    let (refresh, target, graceful) = match words.as_slice() {
        ["reset", "bgp", t] => (None, *t, false),
        ["reset", "bgp", t, "graceful"] => (None, *t, true),
        ["refresh", "bgp", t, dir] => (Some(*dir == "export"), *t, false),
        _ => return Err(format!("Error: Unrecognized command {canonical}")),
    };
    let peers = shared.manager.lock().await;
    let chosen: Vec<IpAddr> = peers
        .specs()
        .filter(|s| s.vrf.is_none())
        .filter(|s| match target {
            "all" => true,
            "external" => s.is_ebgp(),
            "internal" => !s.is_ebgp(),
            addr => addr.parse::<IpAddr>().is_ok_and(|a| a == s.addr),
        })
        .map(|s| s.addr)
        .collect();
    if chosen.is_empty() {
        return match target {
            "all" | "external" | "internal" => Ok(String::new()),
            _ => Err("Error: The peer does not exist.".into()),
        };
    }
    for a in &chosen {
        let c = match refresh {
            None => crate::peer::PeerCmd::Reset { graceful },
            Some(export) => crate::peer::PeerCmd::Refresh { export },
        };
        peers.command(*a, c).await;
    }
    tracing::info!(command = canonical, peers = ?chosen, "operator command");
    Ok(String::new())
}

/// The peers and policies a commit's policy changes concern: peers whose import or export
/// policy was bound, unbound or edited (the change set lists a per-family option change for
/// each peer that uses an edited policy), and the edited policies themselves (directly or
/// through a prefix list).
fn policy_scope(changes: &ChangeSet, new: &Config) -> tern_engine::routing::PolicyScope {
    use tern_config::diff::{AfField, Delta};
    let mut scope = tern_engine::routing::PolicyScope::default();
    for d in &changes.deltas {
        if let Delta::PeerFamilyOption(p, _, field) = d {
            match field {
                AfField::RoutePolicyImport => scope.import.push(p.addr),
                AfField::RoutePolicyExport => scope.export.push(p.addr),
                _ => {}
            }
        }
    }
    scope.policies = changes.policy_uses(new).policies;
    for v in [&mut scope.import, &mut scope.export] {
        v.sort();
        v.dedup();
    }
    scope
}
