//! Editing sessions: the view stack plus the model, fed one line at a time.
//!
//! Two ways in, one path through the grammar:
//! - [`Session::apply_line`]: a line typed at a prompt. The command is looked up in the current
//!   view; when it is not a command there, in the enclosing views outward, and the session
//!   leaves to the view that knows it (VRP does the same). When no view knows it, the error is
//!   the current view's.
//! - [`parse_file`]: a file in the `display current-configuration` layout. Indentation (one
//!   space per level) says which view each line belongs to; `#` lines separate blocks; `quit`
//!   and `return` are accepted too.
//!
//! A line that fails leaves the model and the view stack as they were.

use std::sync::Arc;

use crate::change::Change;
use crate::error::Reject;
use crate::error::{ConfigError, ErrorKind};
use crate::grammar::{Action, MatchError, Matched, SessionCmd};
use crate::model::Config;
use crate::view::{Frame, Scope, ViewId};
use crate::vrp;

/// What a line did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Blank line or `#` separator.
    Empty,
    /// The model changed (a kept line counts), possibly entering a view.
    Applied,
    /// Only the view changed (`quit`, `return`, `system-view`).
    ViewChanged,
    /// A display request for the shell (`display current-configuration`, `display this`).
    Display(SessionCmd),
    /// A display of the daemon's state, as its canonical line (`dis bgp pe` →
    /// `display bgp peer`), for the daemon to serve.
    Show(String),
    /// A configuration-management command (`commit`, `rollback`, ...), as its canonical
    /// line, for the holder of the running configuration to serve.
    Manage(String),
    /// An operation on the daemon's sessions (`reset bgp 10.0.0.2`), as its canonical line.
    Operate(String),
}

/// A configuration being edited: model plus view stack.
#[derive(Clone, Debug)]
pub struct Session {
    /// Shared with the running configuration until the first change (copy on write).
    config: Arc<Config>,
    stack: Vec<Frame>,
    file_mode: bool,
    line_no: usize,
    /// Every change applied, in order (what a candidate commits).
    log: Vec<Change>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// An empty configuration, in the system view (as after `system-view`).
    pub fn new() -> Session {
        Session::with_config(Config::default())
    }

    /// A terminal session on an existing configuration, starting in the user view (`<PE1>`),
    /// as an operator who logs in.
    pub fn terminal(config: impl Into<Arc<Config>>) -> Session {
        let mut s = Session::with_config(config);
        s.stack = vec![Frame::user()];
        s
    }

    /// Edits an existing configuration, starting in the system view.
    pub fn with_config(config: impl Into<Arc<Config>>) -> Session {
        Session {
            config: config.into(),
            stack: vec![Frame::system()],
            file_mode: false,
            line_no: 0,
            log: Vec::new(),
        }
    }

    /// The model.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes the model out.
    pub fn into_config(self) -> Config {
        Arc::unwrap_or_clone(self.config)
    }

    /// The changes applied since the session started (or since [`Session::reset_to`]).
    pub fn changes(&self) -> &[Change] {
        &self.log
    }

    /// Replaces the model (after a commit, a discard or a rollback), forgets the change log,
    /// and keeps the view stack as far as its views still exist (else back to the system
    /// view, as VRP does after `clear configuration candidate`).
    pub fn reset_to(&mut self, config: impl Into<Arc<Config>>, keep_views: bool) {
        self.config = config.into();
        self.log.clear();
        if !keep_views && self.view() != ViewId::User {
            self.stack = vec![Frame::system()];
        }
    }

    /// Puts back a change log (a candidate refreshed onto a new running configuration).
    pub(crate) fn restore_log(&mut self, log: Vec<Change>) {
        self.log = log;
    }

    /// The view stack, outermost first.
    pub fn frames(&self) -> &[Frame] {
        &self.stack
    }

    /// The current view.
    pub fn view(&self) -> ViewId {
        self.top().view
    }

    fn top(&self) -> &Frame {
        self.stack.last().expect("the view stack is never empty")
    }

    /// The prompt VRP would show (`<PE1>`, `[~PE1-bgp-af-vpnv6]`).
    pub fn prompt(&self) -> String {
        self.prompt_as(&self.config.sysname)
    }

    /// The prompt with the host name `sysname` (a candidate shows the running host name
    /// until its own `sysname` is committed, as VRP does).
    pub fn prompt_as(&self, sysname: &str) -> String {
        if self.view() == ViewId::User {
            return format!("<{sysname}>");
        }
        let parts: String = self.stack.iter().map(Frame::prompt_part).collect();
        format!("[~{sysname}{parts}]")
    }

    /// `display this`: the configuration of the current view, laid out as `display
    /// current-configuration` prints it, only that view's block (the whole configuration in
    /// the system and user views).
    pub fn display_this(&self) -> String {
        let headers: Vec<String> = self
            .stack
            .iter()
            .skip(1)
            .map(|f| f.header.clone())
            .collect();
        self.config.display_this(&headers)
    }

    /// `?` help for a partly typed line: in the current view, or, when the line is no command
    /// there, in the nearest enclosing view that knows it (where [`Session::apply_line`] would
    /// run it).
    pub fn help(&self, partial: &str) -> Vec<(String, &'static str)> {
        let g = vrp::grammar();
        let partial = partial.trim_start();
        let here = g.help(self.view(), partial);
        if !here.is_empty() || partial.is_empty() {
            return here;
        }
        self.stack
            .iter()
            .rev()
            .skip(1)
            .map(|f| g.help(f.view, partial))
            .find(|h| !h.is_empty())
            .unwrap_or_default()
    }

    /// Tab completion for a partly typed line in the current view: where the word being
    /// completed starts (a byte offset in `partial`) and the keywords it may become. After a
    /// space, the keywords that may come next.
    pub fn complete(&self, partial: &str) -> (usize, Vec<String>) {
        let start = if partial.ends_with(char::is_whitespace) {
            partial.len()
        } else {
            partial.rfind(char::is_whitespace).map_or(0, |i| {
                i + partial[i..].chars().next().map_or(1, char::len_utf8)
            })
        };
        let words = self
            .help(partial)
            .into_iter()
            .map(|(token, _)| token)
            .filter(|t| t.starts_with(|c: char| c.is_ascii_lowercase()))
            .collect();
        (start, words)
    }

    /// Applies a typed line in the current view (or an enclosing one, see the module docs).
    pub fn apply_line(&mut self, line: &str) -> Result<Outcome, ConfigError> {
        self.line_no += 1;
        let n = self.line_no;
        let body = line.trim_start();
        let indent = line.len() - body.len();
        if body.trim().is_empty() {
            return Ok(Outcome::Empty);
        }
        let g = vrp::grammar();
        let top = self.stack.len() - 1;
        let mut first_err = None;
        let mut found = None;
        for depth in (0..=top).rev() {
            match g.match_line(self.stack[depth].view, body) {
                Ok(m) => {
                    found = Some((depth, m));
                    break;
                }
                // Report the view that understood the most of the line.
                Err(e) => {
                    if first_err
                        .as_ref()
                        .is_none_or(|f: &MatchError| e.column > f.column)
                    {
                        first_err = Some(e);
                    }
                }
            }
        }
        let Some((depth, matched)) = found else {
            let e = first_err.expect("at least one view was tried");
            return Err(err(n, line, Some(e.column + indent), e.kind));
        };
        let Some(m) = matched else {
            return Ok(Outcome::Empty);
        };
        self.run(depth, &m)
            .map_err(|r| err(n, line, None, ErrorKind::Rejected(r.0)))
    }

    /// What `line` would do in this session, without doing it: `Some(Some(cmd))` for a
    /// session command (a view change, a display, a configuration-management or operational
    /// command), `Some(None)` for a configuration change, `None` when the line is not a
    /// command here (running it reports the error). With the canonical line.
    pub fn peek(&self, line: &str) -> Option<(Option<SessionCmd>, String)> {
        let body = line.trim();
        if body.is_empty() {
            return None;
        }
        let g = vrp::grammar();
        for depth in (0..self.stack.len()).rev() {
            if let Ok(found) = g.match_line(self.stack[depth].view, body) {
                let m = found?;
                let cmd = match m.action {
                    Action::Session(cmd) => Some(cmd),
                    Action::Apply(_) | Action::Kept(_) => None,
                };
                return Some((cmd, m.canonical.clone()));
            }
        }
        None
    }

    /// Applies one line of a configuration file: indentation picks the view.
    pub fn load_line(&mut self, line_no: usize, raw: &str) -> Result<Outcome, ConfigError> {
        let line = raw.trim_end_matches(['\r', '\n']);
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        // `!` lines at the top of a file are comments (VRP's `!Software Version …` header).
        if body.trim().is_empty() || body.starts_with('#') || (indent == 0 && body.starts_with('!'))
        {
            return Ok(Outcome::Empty);
        }
        if indent + 1 > self.stack.len() {
            return Err(err(line_no, line, Some(indent), ErrorKind::Unrecognized));
        }
        let g = vrp::grammar();
        // VRP reads a file as typed commands: a line stays in the deepest open view when it
        // is a command of that view, whatever its indentation (the vendor's
        // ipv4-option-c-lu-s1/PE2.cfg has a labeled-unicast `peer X enable` indented one space
        // too little); otherwise its indentation says which view it belongs to.
        let deepest = self.stack.len() - 1;
        if indent < deepest
            && let Ok(Some(m)) = g.match_line(self.stack[deepest].view, body)
            && m.enters.is_none()
        {
            return self
                .run(deepest, &m)
                .map_err(|r| err(line_no, line, None, ErrorKind::Rejected(r.0)));
        }
        let depth = indent;
        let m = match g.match_line(self.stack[depth].view, body) {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(Outcome::Empty),
            Err(e) => return Err(err(line_no, line, Some(e.column + indent), e.kind)),
        };
        self.run(depth, &m)
            .map_err(|r| err(line_no, line, None, ErrorKind::Rejected(r.0)))
    }

    /// Runs a matched command in the frame at `depth`, leaving deeper frames first.
    fn run(&mut self, depth: usize, m: &Matched) -> Result<Outcome, Reject> {
        let frame = self.stack[depth].clone();
        let outcome = match m.action {
            Action::Session(cmd) => {
                self.stack.truncate(depth + 1);
                return Ok(self.session_cmd(cmd, &m.canonical));
            }
            Action::Apply(f) => {
                let change = f(m, &frame.scope)?;
                // Entering a view that exists (`bgp 100` when BGP runs as AS 100) changes
                // nothing and is not an uncommitted change.
                // The shared copy is kept when nothing changed: a session that only moves
                // between views holds no copy of its own.
                let before = m.enters.is_some().then(|| self.config.clone());
                Arc::make_mut(&mut self.config).apply(&change)?;
                let unchanged = match before {
                    Some(b) if *b == *self.config => {
                        self.config = b;
                        true
                    }
                    _ => false,
                };
                self.stack.truncate(depth + 1);
                if let Some(view) = m.enters {
                    self.stack.push(Frame {
                        view,
                        scope: entered_scope(&change),
                        header: entered_header(&change, &m.canonical, &self.config),
                    });
                }
                if !unchanged {
                    self.log.push(change);
                }
                Outcome::Applied
            }
            Action::Kept(feature) => {
                let path = self.stack[1..=depth]
                    .iter()
                    .map(|f| f.header.clone())
                    .collect();
                let text = m
                    .canonical
                    .strip_prefix("undo ")
                    .unwrap_or(&m.canonical)
                    .to_owned();
                let change = Change::Kept {
                    path,
                    text,
                    feature,
                    undo: m.undo,
                };
                Arc::make_mut(&mut self.config).apply(&change)?;
                self.log.push(change);
                self.stack.truncate(depth + 1);
                if let Some(view) = m.enters {
                    self.stack.push(Frame {
                        view,
                        scope: Scope::Kept,
                        header: m.canonical.clone(),
                    });
                }
                Outcome::Applied
            }
        };
        Ok(outcome)
    }

    fn session_cmd(&mut self, cmd: SessionCmd, canonical: &str) -> Outcome {
        let user = Frame::user();
        match cmd {
            SessionCmd::SystemView => {
                self.stack = vec![Frame::system()];
                Outcome::ViewChanged
            }
            SessionCmd::Quit => {
                if self.stack.len() > 1 {
                    self.stack.pop();
                } else if self.view() == ViewId::System && !self.file_mode {
                    self.stack = vec![user];
                }
                Outcome::ViewChanged
            }
            SessionCmd::Return => {
                self.stack = if self.file_mode {
                    vec![Frame::system()]
                } else {
                    vec![user]
                };
                Outcome::ViewChanged
            }
            SessionCmd::Manage => Outcome::Manage(canonical.to_owned()),
            SessionCmd::DisplayCurrent | SessionCmd::DisplayThis => Outcome::Display(cmd),
            SessionCmd::Show => Outcome::Show(canonical.to_owned()),
            SessionCmd::Operate => Outcome::Operate(canonical.to_owned()),
        }
    }
}

/// The scope of the view a change enters.
fn entered_scope(change: &Change) -> Scope {
    match change {
        Change::Interface { name, .. } => Scope::Interface(name.clone()),
        Change::VpnInstance { name, .. } => Scope::VpnInstance(name.clone()),
        Change::VpnAf { name, afi, .. } => Scope::VpnAf {
            name: name.clone(),
            afi: *afi,
        },
        Change::Bgp { .. } => Scope::Bgp,
        Change::Family { af, .. } => Scope::BgpAf(af.clone()),
        Change::Bmp(crate::bmp::BmpChange::Session { key, .. }) => Scope::BmpSession(key.clone()),
        Change::Bmp(crate::bmp::BmpChange::Public { key, .. }) => Scope::BmpMonitor(key.clone()),
        Change::RoutePolicy { name, node, .. } => Scope::RoutePolicy {
            name: name.clone(),
            node: node.unwrap_or_default(),
        },
        _ => Scope::Global,
    }
}

/// The header a modelled view's block prints with, so kept lines inside it (`mpls` in an
/// interface) find their place again: the printers' own spelling (`interface LoopBack1` for
/// `interface Loopback 1`).
fn entered_header(change: &Change, canonical: &str, config: &Config) -> String {
    use crate::table::{
        bgp_header, interface_header, route_policy_header, vpn_af_header, vpn_instance_header,
    };
    match change {
        Change::Interface { name, .. } => interface_header(name),
        Change::VpnInstance { name, .. } => vpn_instance_header(name),
        Change::VpnAf { afi, .. } => vpn_af_header(*afi),
        // The AS number as the configuration holds it (`bgp 65636` enters `bgp 1.100`).
        Change::Bgp { asn: Some(a), .. } => bgp_header(config.bgp.as_ref().map_or(*a, |b| b.asn)),
        Change::Family { af, .. } => af.header(),
        Change::RoutePolicy {
            name,
            node: Some(n),
            mode,
            ..
        } => route_policy_header(name, *mode, *n),
        _ => canonical.to_owned(),
    }
}

fn err(line_no: usize, line: &str, column: Option<usize>, kind: ErrorKind) -> ConfigError {
    ConfigError {
        line_no,
        line: line.to_owned(),
        column,
        kind,
    }
}

/// Loads a configuration file in VRP's `display current-configuration` layout.
///
/// Stops at the first line that does not parse or breaks a rule.
pub fn parse_file(text: &str) -> Result<Config, ConfigError> {
    let mut s = Session::new();
    s.file_mode = true;
    for (i, line) in text.lines().enumerate() {
        s.load_line(i + 1, line)?;
    }
    let mut cfg = s.into_config();
    cfg.normalize_kept();
    Ok(cfg)
}
