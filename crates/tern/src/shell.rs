//! The operator's side of ternd's control API: lines run in one management session, either
//! given on the command line (`tern -c LINE ...`, or read from a pipe) or typed at an
//! interactive VRP-style shell.
//!
//! The shell is rustyline with three keys bound the way VRP binds them:
//! - `?` anywhere: the daemon's help for the text left of the cursor (the possible next
//!   tokens with a help line each, `<cr>` when the command may end there), then the same
//!   text offered again for editing (`readline_with_initial`); nothing is executed;
//! - Tab: completes the word at the cursor with the keyword it is a unique prefix of
//!   (repeated Tab cycles through the keywords when there are several);
//! - Ctrl-Z: back to the user view, as `return`. Ctrl-C drops the line being typed; Ctrl-D
//!   on an empty line, or `quit` in the user view, ends the session.

use std::cell::RefCell;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Context, Editor, Event, EventContext,
    EventHandler, Helper, KeyEvent, RepeatCount,
};
use tern_api::{Blocking, pb};

use crate::pager::{DEFAULT_SCREEN_LENGTH, Pager};

/// A management session on the daemon.
struct Conn {
    client: Blocking,
    session: u64,
    prompt: String,
}

impl Conn {
    fn open(socket: &Path, who: &str) -> Result<Conn, String> {
        let mut client = Blocking::connect(socket).map_err(|e| format!("tern: {e}"))?;
        let r = client.open_session(who).map_err(|e| format!("tern: {e}"))?;
        Ok(Conn {
            client,
            session: r.session,
            prompt: r.prompt,
        })
    }

    /// Runs a line (again with `answer` to the question its reply asked), its output
    /// handed to `write` as it arrives, the last part too; `write` returns false to stop it.
    /// The prompt follows the reply.
    fn execute(
        &mut self,
        line: &str,
        json: bool,
        answer: &str,
        write: &mut dyn FnMut(&str) -> bool,
    ) -> Result<pb::ExecuteReply, String> {
        let mut r = self
            .client
            .execute_with(self.session, line, json, answer, write)
            .map_err(|e| format!("tern: {e}"))?;
        if !r.output.is_empty() {
            write(&r.output);
            r.output.clear();
        }
        self.prompt.clone_from(&r.prompt);
        Ok(r)
    }

    fn close(&mut self) {
        let _ = self.client.close_session(self.session);
    }
}

/// True when `line` asks for its output without paging (`| no-more`).
fn no_more(line: &str) -> bool {
    line.split('|').skip(1).any(|f| {
        f.split_whitespace()
            .next()
            .is_some_and(|w| "no-more".starts_with(w))
    })
}

/// Runs `lines` in one session, in order, as if typed: prints what each prints, and stops
/// at the first error, printing it VRP-style (the line after its prompt, the caret, the
/// message) on stderr.
pub fn run_lines<I: IntoIterator<Item = String>>(socket: &Path, lines: I, json: bool) -> ExitCode {
    let mut conn = match Conn::open(socket, "tern -c") {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut code = ExitCode::SUCCESS;
    for line in lines {
        let prompt = conn.prompt.clone();
        let mut broken = None;
        let reply = {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let mut write = |part: &str| match out.write_all(part.as_bytes()) {
                Ok(()) => true,
                Err(e) => {
                    broken = Some(e);
                    false
                }
            };
            let r = conn.execute(&line, json, "", &mut write);
            if broken.is_none()
                && let Err(e) = out.flush()
            {
                broken = Some(e);
            }
            r
        };
        if let Some(e) = broken {
            // A reader that went away (`tern -c … | head`) ends the run quietly.
            conn.close();
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return code;
            }
            eprintln!("tern: writing the output: {e}");
            return ExitCode::FAILURE;
        }
        match reply {
            Ok(r) => {
                if !r.question.is_empty() {
                    // A script cannot answer: leaving with uncommitted changes is an error.
                    eprintln!("{prompt}{line}\n{}", r.question);
                    eprintln!(
                        "Error: Uncommitted configurations: commit or clear configuration candidate first."
                    );
                    code = ExitCode::FAILURE;
                    break;
                }
                if let Some(e) = r.error {
                    let nl = if e.text.ends_with('\n') { "" } else { "\n" };
                    eprint!("{prompt}{line}\n{}{nl}", e.text);
                    code = ExitCode::FAILURE;
                    break;
                }
                if r.closed {
                    return code;
                }
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    conn.close();
    code
}

/// Lines from standard input when it is not a terminal (`tern < script`).
pub fn stdin_lines() -> Option<impl Iterator<Item = String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return None;
    }
    Some(
        stdin
            .lock()
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .into_iter(),
    )
}

/// What a bound key asked for, read by the loop after rustyline returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Pending {
    #[default]
    None,
    /// `?` with the line and the cursor position.
    Help(String, usize),
    /// Ctrl-Z.
    Return,
}

struct KeyHandler {
    pending: Arc<Mutex<Pending>>,
    help: bool,
}

impl ConditionalEventHandler for KeyHandler {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if self.help {
            *p = Pending::Help(ctx.line().to_owned(), ctx.pos());
            Some(Cmd::AcceptLine)
        } else {
            *p = Pending::Return;
            Some(Cmd::Interrupt)
        }
    }
}

/// Tab completion through the daemon.
struct ShellHelper {
    conn: Rc<RefCell<Conn>>,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let mut conn = self.conn.borrow_mut();
        let session = conn.session;
        let Ok(r) = conn.client.complete(session, &line[..pos]) else {
            return Ok((pos, Vec::new()));
        };
        let unique = r.candidates.len() == 1;
        let pairs = r
            .candidates
            .into_iter()
            .map(|w| Pair {
                replacement: if unique { format!("{w} ") } else { w.clone() },
                display: w,
            })
            .collect();
        Ok((usize::try_from(r.start).unwrap_or(pos).min(pos), pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Prints `?` help the way VRP lays it out: the token in a column, its help beside it.
fn print_help(r: &pb::HelpReply) {
    if let Some(e) = &r.error {
        // The caret assumes the typed text is on screen after the prompt: it is.
        println!("{}", e.text);
        return;
    }
    for i in &r.items {
        if i.help.is_empty() {
            println!("  {}", i.token);
        } else {
            println!("  {:<24}{}", i.token, i.help);
        }
    }
}

/// The interactive shell. Returns when the session ends.
pub fn interactive(socket: &Path, json: bool) -> ExitCode {
    let conn = match Conn::open(socket, "tern shell") {
        Ok(c) => Rc::new(RefCell::new(c)),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config::builder()
        .completion_type(CompletionType::Circular)
        .auto_add_history(false)
        .build();
    let mut rl: Editor<ShellHelper, _> = match Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("tern: terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    rl.set_helper(Some(ShellHelper { conn: conn.clone() }));
    let pending = Arc::new(Mutex::new(Pending::None));
    for (key, help) in [(KeyEvent::from('?'), true), (KeyEvent::ctrl('Z'), false)] {
        let h = KeyHandler {
            pending: pending.clone(),
            help,
        };
        rl.bind_sequence(key, EventHandler::Conditional(Box::new(h)));
    }
    let mut initial: Option<(String, String)> = None;
    let mut screen_length = DEFAULT_SCREEN_LENGTH;
    loop {
        let prompt = conn.borrow().prompt.clone();
        let read = match initial.take() {
            Some((l, r)) => rl.readline_with_initial(&prompt, (&l, &r)),
            None => rl.readline(&prompt),
        };
        let asked = std::mem::take(&mut *pending.lock().unwrap_or_else(PoisonError::into_inner));
        let line = match (read, asked) {
            (Ok(_), Pending::Help(line, pos)) => {
                let (left, right) = line.split_at(pos.min(line.len()));
                let mut c = conn.borrow_mut();
                let session = c.session;
                match c.client.help(session, left) {
                    Ok(r) => print_help(&r),
                    Err(e) => {
                        eprintln!("tern: {e}");
                        return ExitCode::FAILURE;
                    }
                }
                initial = Some((left.to_owned(), right.to_owned()));
                continue;
            }
            (Err(ReadlineError::Interrupted), Pending::Return) => "return".to_owned(),
            (Ok(line), _) => line,
            (Err(ReadlineError::Interrupted), _) => continue,
            (Err(ReadlineError::Eof), _) => break,
            (Err(e), _) => {
                eprintln!("tern: terminal: {e}");
                break;
            }
        };
        if !line.trim().is_empty() {
            let _ = rl.add_history_entry(line.as_str());
        }
        let mut pager = Pager::new(if no_more(&line) { 0 } else { screen_length });
        let mut write = |part: &str| pager.write(part);
        let mut reply = conn.borrow_mut().execute(&line, json, "", &mut write);
        // Leaving with uncommitted changes: VRP's [Y/N/C] question, answered here.
        loop {
            let question = match &reply {
                Ok(r) if !r.question.is_empty() => r.question.clone(),
                _ => break,
            };
            let answer = rl.readline(&question).unwrap_or_else(|_| "C".to_owned());
            reply = conn
                .borrow_mut()
                .execute(&line, json, answer.trim(), &mut write);
        }
        match reply {
            Ok(r) => {
                if let Some(e) = r.error {
                    println!("{}", e.text);
                }
                if let Some(n) = r.screen_length {
                    screen_length = usize::try_from(n).unwrap_or(0);
                }
                if r.closed {
                    return ExitCode::SUCCESS;
                }
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    conn.borrow_mut().close();
    ExitCode::SUCCESS
}
