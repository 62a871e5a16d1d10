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

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use std::path::PathBuf;
use tern_api::pb;
use tern_api::tonic::{self, Request, Response, Status};

use tern_config::diff::ChangeSet;
use tern_config::{
    Candidate, Config, ConfigError, ErrorKind, Grammar, Outcome, Running, Session, SessionCmd,
    Store, ViewId,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::access::{Caller, Role};
use crate::manager::{Peers, StatusIndex};
use crate::output::Out;
use crate::rib_task::RibHandle;
use crate::show::show;
use crate::spec::DaemonConfig;
use crate::status::PeerStatus;

/// Replies of a line's output produced ahead of the client reading them.
const REPLIES_AHEAD: usize = 4;

/// VRP's default `idle-timeout` for a terminal.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The daemon's state the control API reads and changes.
pub struct Shared {
    /// The resolved configuration the daemon runs.
    pub cfg: std::sync::RwLock<DaemonConfig>,
    /// The running configuration and its commit history.
    pub running: Mutex<Running>,
    /// Where the running configuration came from (`display current-configuration`'s header).
    pub origin: crate::state::Origin,
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
    /// The kernel's view of next hops (the relay next hop of a route's detail).
    pub resolver: crate::fib::Resolver,
    /// Who may use the control API.
    pub access: crate::access::Access,
}

impl Shared {
    pub(crate) fn statuses(&self) -> Vec<PeerStatus> {
        self.peers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, s)| s.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }

    pub(crate) fn running(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `display current-configuration`: where it came from (`!` lines), then the running
    /// configuration.
    pub(crate) fn current_configuration(&self) -> String {
        let running = self.running();
        let mut text = crate::state::header(&self.origin, &running);
        text.push_str(&running.config().to_vrp());
        text
    }

    /// How displays write AS numbers: the running configuration's `as-notation`.
    pub(crate) fn notation(&self) -> tern_types::Notation {
        self.running().config().notation()
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
    /// Who opened it (only they may use it).
    caller: Caller,
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

/// The refusal of a command to a read-only caller.
const READ_ONLY: &str = "Error: The user has read-only access: displays only.";

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

    /// The caller of a request, checked against the access rules.
    fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let cred = req
            .extensions()
            .get::<tonic::transport::server::UdsConnectInfo>()
            .and_then(|i| i.peer_cred);
        self.shared.access.caller(cred)
    }

    /// Runs `f` on a live session of `caller`.
    fn with<T>(
        &self,
        caller: &Caller,
        id: u64,
        f: impl FnOnce(&mut Candidate) -> T,
    ) -> Result<T, Status> {
        let mut all = self.sessions();
        let t = all
            .get_mut(&id)
            .filter(|t| t.caller.uid == caller.uid)
            .ok_or_else(|| {
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
                ok(self.shared.current_configuration())
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
                // `quit` in the user view ends the terminal session, with a warning while
                // committed changes are not saved (they are lost at restart).
                let warning = match self.shared.running().unsaved() {
                    true => crate::state::unsaved_warning(&self.shared.origin),
                    false => String::new(),
                };
                Ran {
                    closed: true,
                    ..ok(warning)
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
        let user = c.user().to_owned();
        let user = user.as_str();
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
                // Shared, not copied: the commit replaces running's configuration.
                let before = running.shared_config();
                let id = c
                    .commit(&mut running, description)
                    .map_err(Refusal::Config)?;
                // Lines kept without being acted on are named to whoever commits them.
                let mut kept: Vec<&'static str> = running
                    .config()
                    .kept
                    .iter()
                    .filter(|k| !before.kept.contains(k))
                    .map(|k| k.feature)
                    .collect();
                kept.sort_unstable();
                kept.dedup();
                let reply = if kept.is_empty() {
                    String::new()
                } else {
                    let w = format!(
                        "Warning: Kept, not active (tern does not run it): {}.",
                        kept.join(", ")
                    );
                    tracing::warn!("{w}");
                    w + "\n"
                };
                let job = match id {
                    Some(id) => {
                        tracing::info!(commit = id, "configuration committed");
                        Some(self.installed(&mut running, &before)?)
                    }
                    None => None,
                };
                Ok((reply, job))
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
                let before = running.shared_config();
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
                        Some(self.installed(&mut running, &before)?)
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
                running.mark_saved();
                tracing::info!(file = %path.display(), "running configuration saved");
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

    /// After a commit or rollback (already in the journal when there is a state directory:
    /// a commit that could not be written failed): resolve the new configuration and hand
    /// back what the sessions must do.
    fn installed(&self, running: &mut Running, before: &Config) -> Result<Job, Refusal> {
        for w in running.take_warnings() {
            tracing::warn!("{w}");
        }
        if running.unsaved() {
            tracing::info!(
                "{}",
                crate::state::unsaved_warning(&self.shared.origin).trim_end()
            );
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
        let caller = self.caller(&req)?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        // The commit list names the user the system knows, not what the client says.
        let cand = self.shared.running().terminal(&caller.user);
        let prompt = cand.prompt();
        self.sessions().insert(
            id,
            Terminal {
                cand,
                used: Instant::now(),
                caller: caller.clone(),
            },
        );
        tracing::info!(session = id, client = %req.get_ref().client, user = %caller.user, role = ?caller.role, "management session opened");
        Ok(Response::new(pb::OpenSessionReply {
            session: id,
            prompt,
        }))
    }

    type ExecuteStream = ReceiverStream<Result<pb::ExecuteReply, Status>>;

    async fn execute(
        &self,
        req: Request<pb::ExecuteRequest>,
    ) -> Result<Response<Self::ExecuteStream>, Status> {
        let caller = self.caller(&req)?;
        let r = req.into_inner();
        let (tx, rx) = mpsc::channel(REPLIES_AHEAD);
        let reply = Response::new(ReceiverStream::new(rx));
        // `display … | include REGEX` and the other output filters.
        let (line, filter) = match crate::filter::split(&r.line) {
            Ok(x) => x,
            Err(msg) => {
                let prompt = self.with(&caller, r.session, |c| c.prompt())?;
                let _ = tx.try_send(Ok(pb::ExecuteReply {
                    error: Some(line_error(&prompt, msg, None)),
                    prompt,
                    ..Default::default()
                }));
                return Ok(reply);
            }
        };
        let (mut ran, prompt) = self.with(&caller, r.session, |c| {
            let ran = if caller.role == Role::ReadOnly
                && let Some((cmd, canonical)) = c.session().peek(line)
                && !crate::access::read_only_allows(cmd, &canonical)
            {
                Ran::refused(line_error(&c.prompt(), READ_ONLY.to_owned(), None))
            } else {
                self.run(c, line, &r.answer)
            };
            (ran, c.prompt())
        })?;
        if ran.closed {
            self.sessions().remove(&r.session);
        }
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let wrap = |output| pb::ExecuteReply {
                output,
                ..Default::default()
            };
            let mut out = Out::new(tx, wrap, filter);
            if let Some(job) = ran.job.take() {
                apply(&shared, job).await;
            }
            out.write(&std::mem::take(&mut ran.output)).await;
            let mut screen_length = None;
            if let Some(canonical) = ran.operate.take() {
                // A terminal setting: the client keeps it.
                if let ["screen-length", n, "temporary"] =
                    canonical.split_whitespace().collect::<Vec<_>>().as_slice()
                {
                    screen_length = n.parse().ok();
                } else {
                    match operate(&canonical, &shared).await {
                        Ok(o) => out.write(&o).await,
                        Err(msg) => ran.error = Some(line_error(&prompt, msg, None)),
                    }
                }
            }
            if let Some(canonical) = ran.show.take()
                && let Err(msg) = show(&canonical, r.json, &shared, &mut out).await
            {
                ran.error = Some(line_error(&prompt, msg, None));
            }
            let (output, tx) = out.finish().await;
            let _ = tx
                .send(Ok(pb::ExecuteReply {
                    output,
                    prompt,
                    error: ran.error,
                    closed: ran.closed,
                    question: ran.question,
                    screen_length,
                }))
                .await;
        });
        Ok(reply)
    }

    async fn help(&self, req: Request<pb::HelpRequest>) -> Result<Response<pb::HelpReply>, Status> {
        let caller = self.caller(&req)?;
        let r = req.into_inner();
        Ok(Response::new(self.with(&caller, r.session, |c| {
            ControlService::help(c.session(), &r.partial)
        })?))
    }

    async fn complete(
        &self,
        req: Request<pb::CompleteRequest>,
    ) -> Result<Response<pb::CompleteReply>, Status> {
        let caller = self.caller(&req)?;
        let r = req.into_inner();
        let (start, candidates) =
            self.with(&caller, r.session, |c| c.session().complete(&r.partial))?;
        Ok(Response::new(pb::CompleteReply {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            candidates,
        }))
    }

    async fn close_session(
        &self,
        req: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionReply>, Status> {
        let caller = self.caller(&req)?;
        let id = req.get_ref().session;
        let mut all = self.sessions();
        if all.get(&id).is_some_and(|t| t.caller.uid == caller.uid) && all.remove(&id).is_some() {
            tracing::info!(session = id, "management session closed");
        }
        Ok(Response::new(pb::CloseSessionReply {}))
    }

    async fn mrt_dump(
        &self,
        req: Request<pb::MrtDumpRequest>,
    ) -> Result<Response<pb::MrtDumpReply>, Status> {
        // It writes a file where it is told: not for read-only callers.
        if self.caller(&req)?.role != Role::Admin {
            return Err(Status::permission_denied(READ_ONLY));
        }
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

    type DisplayStream = ReceiverStream<Result<pb::DisplayReply, Status>>;

    async fn display(
        &self,
        req: Request<pb::DisplayRequest>,
    ) -> Result<Response<Self::DisplayStream>, Status> {
        self.caller(&req)?;
        let r = req.into_inner();
        let (tx, rx) = mpsc::channel(REPLIES_AHEAD);
        let reply = Response::new(ReceiverStream::new(rx));
        // A scratch terminal in the user view; nothing is echoed before the command, so
        // carets are relative to the command itself.
        let mut s = Session::terminal(Config::default());
        let prompt = String::new();
        let refuse = |tx: mpsc::Sender<_>, error| {
            let _ = tx.try_send(Ok(pb::DisplayReply {
                output: String::new(),
                error: Some(error),
            }));
        };
        let (command, filter) = match crate::filter::split(&r.command) {
            Ok(x) => x,
            Err(msg) => {
                refuse(tx, line_error(&prompt, msg, None));
                return Ok(reply);
            }
        };
        let what = match s.apply_line(command) {
            Ok(Outcome::Show(canonical)) => Ok(canonical),
            Ok(Outcome::Display(SessionCmd::DisplayCurrent)) => Err(()),
            Ok(_) => {
                let msg = "Error: Display runs display commands only.".to_owned();
                refuse(tx, line_error(&prompt, msg, None));
                return Ok(reply);
            }
            Err(e) => {
                refuse(tx, config_error(&prompt, &e));
                return Ok(reply);
            }
        };
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let wrap = |output| pb::DisplayReply {
                output,
                error: None,
            };
            let mut out = Out::new(tx, wrap, filter);
            let mut error = None;
            match what {
                Ok(canonical) => {
                    if let Err(msg) = show(&canonical, r.json, &shared, &mut out).await {
                        error = Some(line_error(&prompt, msg, None));
                    }
                }
                Err(_) => {
                    let text = shared.current_configuration();
                    out.write(&text).await;
                }
            }
            let (output, tx) = out.finish().await;
            let _ = tx.send(Ok(pb::DisplayReply { output, error })).await;
        });
        Ok(reply)
    }
}

/// Moves the sessions to a committed configuration.
async fn apply(shared: &Shared, job: Job) {
    if job.old.routing != job.new.routing {
        shared
            .rib
            .send(crate::rib_task::RibMsg::Commit {
                routing: std::sync::Arc::new(job.new.routing.clone()),
                scope: job.scope.clone(),
            })
            .await;
    }
    if job.old.bmp != job.new.bmp
        || job.old.sysname != job.new.sysname
        || crate::bmp::local_of(&job.old) != crate::bmp::local_of(&job.new)
    {
        // Peers up before their family was monitored send their routes again.
        let again = crate::bmp::configure(
            &job.new.bmp,
            &job.new.sysname,
            crate::bmp::local_of(&job.new),
        );
        let peers = shared.manager.lock().await;
        for a in again {
            peers
                .command(a, crate::peer::PeerCmd::Refresh { export: false })
                .await;
        }
    }
    let plan = crate::manager::plan(&job.old, &job.new, &job.changes);
    if plan.is_empty() {
        return;
    }
    tracing::info!(?plan, "applying the commit to the sessions");
    let mut peers = shared.manager.lock().await;
    peers.execute(&plan, &job.new, &shared.listeners).await;
}

/// `reset bgp {all | X | external | internal}` and `refresh bgp … {export | import}`, on the
/// public peers: the command goes to each peer's task; the output says which peers.
async fn operate(canonical: &str, shared: &Shared) -> Result<String, String> {
    let words: Vec<&str> = canonical.split_whitespace().collect();
    if let ["reset", "bmp", "session", rest @ ..] = words.as_slice() {
        let (addr, alias) = match rest {
            ["all"] => (None, None),
            [a] => (a.parse().ok(), None),
            [a, "alias", n] => (a.parse().ok(), Some(*n)),
            _ => return Err(format!("Error: Unrecognized command {canonical}")),
        };
        if rest != ["all"] && addr.is_none() {
            return Err("Error: Wrong parameter.".into());
        }
        if crate::bmp::reset(addr, alias) == 0 && addr.is_some() {
            return Err("Error: The BMP session does not exist.".into());
        }
        tracing::info!(command = canonical, "operator command");
        return Ok(String::new());
    }
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
                AfField::RoutePolicyImport
                | AfField::AllowAsLoop
                | AfField::AsPathFilterImport
                | AfField::PrefixImport => scope.import.push(p.addr),
                AfField::RoutePolicyExport
                | AfField::AsPathFilterExport
                | AfField::PrefixExport => scope.export.push(p.addr),
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
