//! The command grammar: a declarative token tree per view, and the one matcher that walks it.
//!
//! The tree is data. Each [`Node`] is a keyword (matched case-insensitively, exactly or by a
//! unique prefix) or a typed argument ([`ArgKind`]), with a help string, the view it belongs
//! to, whether a command may end there (`ends` for the plain form, `undo_ends` for the `undo`
//! form), the view it enters, and an [`Action`] that descendants inherit. The same tree serves
//! parsing files, typed lines, `?` help ([`Grammar::help`]), printing (each command's
//! [`PrintFn`], see [`crate::print`](mod@crate::print)(mod@crate::print)) and, later, Tab completion.
//!
//! Choosing the child that matches a token, in order:
//! 1. a keyword spelled exactly (case-insensitive);
//! 2. a typed argument that parses (IP address, number in range, AS number, community, ...);
//! 3. keywords, and words of typed arguments ([`ArgKind::words`]: the well-known
//!    communities), the token is a prefix of: one is chosen, several are "Ambiguous";
//! 4. a catch-all argument (word, text).
//!
//! No backtracking: the table is written so that this choice is always the right one. Options
//! VRP lets the user give in any order (`[ med m | route-policy p ] *`) are expanded into all
//! their orders at build time by `any_order`.

use crate::change::Change;
use crate::error::{ErrorKind, Reject};
use crate::model::Config;
use crate::value::{ArgKind, Value, is_abbrev};
use crate::view::{Scope, ViewId};

/// What a token position accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A keyword.
    Keyword(&'static str),
    /// A typed argument; `name` is the parameter name from the vendor reference.
    Arg {
        /// Parameter kind.
        kind: ArgKind,
        /// Parameter name (`as-number`, `hop-count`), used by actions to read the value.
        name: &'static str,
    },
}

/// Builds the typed change for a matched command in a view's scope.
pub type ApplyFn = fn(&Matched, &Scope) -> Result<Change, Reject>;

/// Prints what the model holds for one command in one view's scope (`display
/// current-configuration`): lines, or blocks that open a view. Lives next to the command's
/// grammar entry in the table; see [`crate::print`](mod@crate::print)(mod@crate::print).
pub type PrintFn = fn(&Config, &Scope) -> Vec<Item>;

/// What a command's printer returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// One command line (without indentation).
    Line(String),
    /// A command that opens a view, with the view and the scope its commands print in.
    Block {
        /// The command line (`bgp 100`, `ipv4-family unicast`).
        header: String,
        /// The view it opens.
        view: ViewId,
        /// What the view's commands act on.
        scope: Scope,
    },
}

/// Commands that steer the session rather than change the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionCmd {
    /// `system-view`.
    SystemView,
    /// `quit`: leave the current view.
    Quit,
    /// `return`: back to the user view (to system view when loading a file).
    Return,
    /// Configuration management, served by whoever holds the running configuration:
    /// `commit [description TEXT]`, `abort`, `clear configuration candidate`,
    /// `display configuration candidate [changes]`, `display configuration commit list
    /// [verbose]`, `display configuration commit changes at ID`, `rollback configuration
    /// to commit-id ID | last N`, `save`. The session hands over the canonical line.
    Manage,
    /// `display current-configuration`.
    DisplayCurrent,
    /// `display this`.
    DisplayThis,
    /// A display of the running daemon's state (`display bgp peer ...`): tern-config only
    /// knows its syntax; the session hands the canonical line to whoever serves it.
    Show,
    /// An operation on the running daemon's sessions (`reset bgp ...`, `refresh bgp ...`):
    /// handed over as the canonical line, like [`SessionCmd::Show`].
    Operate,
}

/// What a complete command does.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    /// Build a typed change and apply it to the model.
    Apply(ApplyFn),
    /// Keep the line verbatim under this feature name (configuration tern does not act on yet).
    Kept(&'static str),
    /// A session command.
    Session(SessionCmd),
}

/// One node of the command tree.
#[derive(Clone, Debug)]
pub struct Node {
    /// Keyword or argument.
    pub token: Token,
    /// One-line help as `?` shows it.
    pub help: &'static str,
    /// The view whose tree holds this node.
    pub view: ViewId,
    /// Action for commands ending here or below (inherited by descendants without their own).
    pub action: Option<Action>,
    /// The plain form may end at this node.
    pub ends: bool,
    /// The `undo` form may end at this node.
    pub undo_ends: bool,
    /// The view the plain form enters when it ends here.
    pub enters: Option<ViewId>,
    /// Next tokens.
    pub children: Vec<Node>,
    /// How `display current-configuration` prints what this command configured: its place
    /// among the view's commands (lower first) and the function that prints it.
    pub print: Option<(u16, PrintFn)>,
    /// Place among the view's commands of a kept line ending here or below (inherited; the
    /// deepest wins). Kept lines without one print after the view's modelled commands.
    pub rank: Option<u16>,
    /// A block opened here is preceded by a `#` line at its own indentation (BGP families).
    pub sep: bool,
}

/// A keyword node.
pub(crate) fn kw(word: &'static str, help: &'static str) -> Node {
    Node {
        token: Token::Keyword(word),
        help,
        view: ViewId::System,
        action: None,
        ends: false,
        undo_ends: false,
        enters: None,
        children: Vec::new(),
        print: None,
        rank: None,
        sep: false,
    }
}

/// An argument node.
pub(crate) fn arg(kind: ArgKind, name: &'static str, help: &'static str) -> Node {
    Node {
        token: Token::Arg { kind, name },
        ..kw("", help)
    }
}

impl Node {
    /// Sets the action (inherited by descendants) without letting the command end here.
    pub(crate) fn act(mut self, f: ApplyFn) -> Self {
        self.action = Some(Action::Apply(f));
        self
    }
    /// Sets the action and lets both forms end here.
    pub(crate) fn run_both(self, f: ApplyFn) -> Self {
        self.act(f).end().uend()
    }
    /// Marks this subtree as kept configuration under `feature`.
    pub(crate) fn kept(mut self, feature: &'static str) -> Self {
        self.action = Some(Action::Kept(feature));
        self
    }
    /// A session command ending here.
    pub(crate) fn session(mut self, c: SessionCmd) -> Self {
        self.action = Some(Action::Session(c));
        self.end()
    }
    /// The plain form may end here.
    pub(crate) fn end(mut self) -> Self {
        self.ends = true;
        self
    }
    /// The undo form may end here.
    pub(crate) fn uend(mut self) -> Self {
        self.undo_ends = true;
        self
    }
    /// Both forms may end here.
    pub(crate) fn end_both(self) -> Self {
        self.end().uend()
    }
    /// The plain form enters `v`.
    pub(crate) fn enters(mut self, v: ViewId) -> Self {
        self.enters = Some(v);
        self
    }
    /// Prints this command's configuration at place `rank` of its view (see [`PrintFn`]).
    pub(crate) fn print(mut self, rank: u16, f: PrintFn) -> Self {
        self.print = Some((rank, f));
        self.rank = Some(rank);
        self
    }
    /// The place of kept lines ending here or below among the view's commands.
    pub(crate) fn rank(mut self, rank: u16) -> Self {
        self.rank = Some(rank);
        self
    }
    /// Blocks opened here are preceded by an indented `#`.
    pub(crate) fn sep(mut self) -> Self {
        self.sep = true;
        self
    }
    /// Adds children.
    pub(crate) fn sub(mut self, children: impl IntoIterator<Item = Node>) -> Self {
        self.children.extend(children);
        self
    }
    /// Adds one child.
    pub(crate) fn then(self, child: Node) -> Self {
        self.sub([child])
    }

    /// The keyword, if this is one.
    pub fn keyword(&self) -> Option<&'static str> {
        match self.token {
            Token::Keyword(w) => Some(w),
            Token::Arg { .. } => None,
        }
    }

    /// How `?` shows the token: the keyword, or the parameter placeholder.
    pub fn display_token(&self) -> String {
        match &self.token {
            Token::Keyword(w) => (*w).to_owned(),
            Token::Arg { kind, .. } => kind.placeholder(),
        }
    }

    fn set_view(&mut self, v: ViewId) {
        self.view = v;
        for c in &mut self.children {
            c.set_view(v);
        }
    }

    fn collect_printers(&self, out: &mut Vec<Printer>) {
        // The same command may sit in several places of a tree (options in any order).
        if let Some((rank, f)) = self.print
            && !out.iter().any(|p| p.rank == rank)
        {
            out.push(Printer {
                rank,
                sep: self.sep,
                f,
            });
        }
        for c in &self.children {
            c.collect_printers(out);
        }
    }
}

/// Expands options that may follow in any order, each at most once, into a tree: every option
/// subtree's leaves continue with the remaining options. Each option must end at its leaves.
pub(crate) fn any_order(opts: &[Node]) -> Vec<Node> {
    (0..opts.len())
        .map(|i| {
            let mut first = opts[i].clone();
            let rest: Vec<Node> = opts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, n)| n.clone())
                .collect();
            let tails = any_order(&rest);
            if !tails.is_empty() {
                append_to_leaves(&mut first, &tails);
            }
            first
        })
        .collect()
}

fn append_to_leaves(n: &mut Node, tails: &[Node]) {
    if n.children.is_empty() {
        n.children = tails.to_vec();
    } else {
        for c in &mut n.children {
            append_to_leaves(c, tails);
        }
    }
}

/// A command's printer, collected from a view's tree.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Printer {
    /// Place among the view's commands.
    pub rank: u16,
    /// Blocks it prints are preceded by an indented `#`.
    pub sep: bool,
    /// The function.
    pub f: PrintFn,
}

/// The grammar: each view's root nodes.
#[derive(Debug)]
pub struct Grammar {
    roots: Vec<(ViewId, Vec<Node>)>,
    printers: Vec<(ViewId, Vec<Printer>)>,
}

impl Grammar {
    pub(crate) fn new() -> Grammar {
        Grammar {
            roots: Vec::new(),
            printers: Vec::new(),
        }
    }

    /// Collects every view's printers, in print order (called once the table is complete).
    pub(crate) fn finish(mut self) -> Grammar {
        self.printers = self
            .roots
            .iter()
            .map(|(v, nodes)| {
                let mut ps = Vec::new();
                for n in nodes {
                    n.collect_printers(&mut ps);
                }
                ps.sort_by_key(|p| p.rank);
                (*v, ps)
            })
            .collect();
        self
    }

    /// The printers of a view's commands, in print order.
    pub(crate) fn printers(&self, view: ViewId) -> &[Printer] {
        self.printers
            .iter()
            .find(|(v, _)| *v == view)
            .map_or(&[], |(_, p)| p.as_slice())
    }

    /// Adds root nodes to a view.
    pub(crate) fn add(&mut self, view: ViewId, nodes: impl IntoIterator<Item = Node>) {
        let slot = match self.roots.iter().position(|(v, _)| *v == view) {
            Some(i) => i,
            None => {
                self.roots.push((view, Vec::new()));
                self.roots.len() - 1
            }
        };
        for mut n in nodes {
            n.set_view(view);
            self.roots[slot].1.push(n);
        }
    }

    /// The root nodes of a view.
    pub fn roots(&self, view: ViewId) -> &[Node] {
        self.roots
            .iter()
            .find(|(v, _)| *v == view)
            .map_or(&[], |(_, n)| n.as_slice())
    }

    /// Matches a line (already without indentation) against a view's tree.
    pub fn match_line(&self, view: ViewId, line: &str) -> Result<Option<Matched>, MatchError> {
        let toks = tokenize(line);
        let Some(first) = toks.first() else {
            return Ok(None);
        };
        let roots = self.roots(view);
        let mut i = 0;
        let mut undo = false;
        if view.accepts_undo() {
            match select(roots, &first.text, true) {
                Err(()) => return Err(MatchError::at(ErrorKind::Ambiguous, line, first.byte)),
                Ok(Some(Pick::Undo)) => {
                    undo = true;
                    i = 1;
                }
                _ => {}
            }
        }
        let mut path: Vec<&Node> = Vec::new();
        let mut values: Vec<(&'static str, Value)> = Vec::new();
        let mut canonical: Vec<String> = Vec::new();
        if undo {
            canonical.push("undo".into());
        }
        while i < toks.len() {
            let t = &toks[i];
            let children = path.last().map_or(roots, |n| n.children.as_slice());
            let picked = match select(children, &t.text, false) {
                Err(()) => return Err(MatchError::at(ErrorKind::Ambiguous, line, t.byte)),
                Ok(Some(Pick::Node(k))) => &children[k],
                Ok(_) => {
                    let kind = classify_miss(path.last().copied(), children, undo);
                    return Err(MatchError::at(kind, line, t.byte));
                }
            };
            match &picked.token {
                Token::Keyword(w) => {
                    values.push((w, Value::Keyword));
                    canonical.push((*w).to_owned());
                }
                Token::Arg { kind, name } => {
                    if let ArgKind::Text { max } = *kind {
                        let rest = line[t.byte..].trim_end();
                        let rest = unquote(rest);
                        // VRP's lengths (a description of 1 to 255 characters, …).
                        let n = rest.chars().count();
                        if n == 0 || n > max {
                            return Err(MatchError::at(ErrorKind::WrongParameter, line, t.byte));
                        }
                        values.push((name, Value::Str(rest.to_owned())));
                        canonical.push(rest.to_owned());
                        path.push(picked);
                        break;
                    }
                    let v = kind.parse_abbrev(&t.text).unwrap_or(Value::Keyword);
                    canonical.push(match &v {
                        Value::IfName(n) => n.clone(),
                        Value::Community(c) => {
                            c.name().map_or_else(|| t.raw.clone(), str::to_owned)
                        }
                        _ => t.raw.clone(),
                    });
                    values.push((name, v));
                }
            }
            path.push(picked);
            i += 1;
        }
        let Some(last) = path.last() else {
            // `undo` alone.
            return Err(MatchError::at(
                ErrorKind::Incomplete,
                line,
                incomplete_col(line),
            ));
        };
        let complete = if undo { last.undo_ends } else { last.ends };
        if !complete {
            return Err(MatchError::at(
                ErrorKind::Incomplete,
                line,
                incomplete_col(line),
            ));
        }
        let action = path
            .iter()
            .rev()
            .find_map(|n| n.action)
            .expect("grammar table: a node where a command ends has an action");
        let rank = path.iter().rev().find_map(|n| n.rank);
        let sep = last.sep;
        Ok(Some(Matched {
            undo,
            values,
            canonical: canonical.join(" "),
            action,
            enters: if undo { None } else { last.enters },
            view,
            rank,
            sep,
        }))
    }

    /// `?` help after `line` in `view`: the tokens that may come next, with their help. When
    /// `line` ends inside a token, the keywords that token is a prefix of.
    pub fn help(&self, view: ViewId, line: &str) -> Vec<(String, &'static str)> {
        let partial = !line.is_empty() && !line.ends_with(char::is_whitespace);
        let toks = tokenize(line);
        let (done, last) = if partial {
            (
                &toks[..toks.len() - 1],
                toks.last().map(|t| t.text.as_str()),
            )
        } else {
            (&toks[..], None)
        };
        let roots = self.roots(view);
        let mut at: Option<&Node> = None;
        let mut undo = false;
        for (k, t) in done.iter().enumerate() {
            if k == 0
                && view.accepts_undo()
                && matches!(select(roots, &t.text, true), Ok(Some(Pick::Undo)))
            {
                undo = true;
                continue;
            }
            let children = at.map_or(roots, |n| n.children.as_slice());
            match select(children, &t.text, false) {
                Ok(Some(Pick::Node(i))) => at = Some(&children[i]),
                _ => return Vec::new(),
            }
        }
        let children = at.map_or(roots, |n| n.children.as_slice());
        let starts = |w: &str| {
            last.is_none_or(|p| w.len() >= p.len() && w[..p.len()].eq_ignore_ascii_case(p))
        };
        let mut out: Vec<(String, &'static str)> = children
            .iter()
            .filter(|n| match (last, n.keyword()) {
                (_, Some(w)) => starts(w),
                (Some(_), None) => false,
                (None, None) => true,
            })
            .map(|n| (n.display_token(), n.help))
            .collect();
        // Words typed arguments take, listed like keywords.
        for n in children {
            if let Token::Arg { kind, .. } = n.token {
                out.extend(
                    kind.words()
                        .iter()
                        .filter(|(w, _)| starts(w))
                        .map(|(w, h)| ((*w).to_owned(), *h)),
                );
            }
        }
        if at.is_none()
            && !undo
            && view.accepts_undo()
            && last.is_none_or(|p| "undo".starts_with(&p.to_ascii_lowercase()))
        {
            out.push(("undo".into(), "Negate a command or set its default"));
        }
        if last.is_none() && at.is_some_and(|n| if undo { n.undo_ends } else { n.ends }) {
            out.push(("<cr>".into(), ""));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

fn incomplete_col(line: &str) -> usize {
    line.trim_end().chars().count() + 1
}

/// Why the token at a position matched nothing.
fn classify_miss(at: Option<&Node>, children: &[Node], undo: bool) -> ErrorKind {
    let Some(at) = at else {
        return ErrorKind::Unrecognized;
    };
    if children.is_empty() {
        return ErrorKind::TooManyParameters;
    }
    if children
        .iter()
        .any(|c| matches!(c.token, Token::Arg { .. }))
    {
        return ErrorKind::WrongParameter;
    }
    if if undo { at.undo_ends } else { at.ends } {
        ErrorKind::TooManyParameters
    } else {
        ErrorKind::Unrecognized
    }
}

enum Pick {
    Node(usize),
    Undo,
}

/// Picks the child a token selects (see the module docs for the order). `Err` = ambiguous.
fn select(children: &[Node], tok: &str, with_undo: bool) -> Result<Option<Pick>, ()> {
    if with_undo && tok.eq_ignore_ascii_case("undo") {
        return Ok(Some(Pick::Undo));
    }
    if let Some(i) = children
        .iter()
        .position(|n| n.keyword().is_some_and(|w| w.eq_ignore_ascii_case(tok)))
    {
        return Ok(Some(Pick::Node(i)));
    }
    if let Some(i) = children.iter().position(|n| match n.token {
        Token::Arg { kind, .. } => !kind.is_catch_all() && kind.parse(tok).is_some(),
        Token::Keyword(_) => false,
    }) {
        return Ok(Some(Pick::Node(i)));
    }
    // One entry per keyword or argument word the token abbreviates.
    let mut prefixed = children.iter().enumerate().flat_map(|(i, n)| {
        let (keyword, words) = match n.token {
            Token::Keyword(w) => (Some(w), &[][..]),
            Token::Arg { kind, .. } => (None, kind.words()),
        };
        keyword
            .into_iter()
            .chain(words.iter().map(|(w, _)| *w))
            .filter(|w| is_abbrev(tok, w))
            .map(move |_| Pick::Node(i))
    });
    let undo_prefix = with_undo && is_abbrev(tok, "undo");
    match (prefixed.next(), prefixed.next(), undo_prefix) {
        (Some(p), None, false) => return Ok(Some(p)),
        (None, None, true) => return Ok(Some(Pick::Undo)),
        (None, None, false) => {}
        _ => return Err(()),
    }
    Ok(children
        .iter()
        .position(|n| match n.token {
            Token::Arg { kind, .. } => kind.is_catch_all() && kind.parse(tok).is_some(),
            Token::Keyword(_) => false,
        })
        .map(Pick::Node))
}

/// A matched command: its typed values by parameter name, and what to do with it.
#[derive(Clone, Debug)]
pub struct Matched {
    /// The `undo` form.
    pub undo: bool,
    /// `(name, value)` per token: keywords under their own text, arguments under their
    /// parameter name.
    pub values: Vec<(&'static str, Value)>,
    /// The line with keywords written out in full (`dis cur` → `display current-configuration`).
    pub canonical: String,
    /// The action.
    pub action: Action,
    /// The view the command enters, if any.
    pub enters: Option<ViewId>,
    /// The view it was matched in.
    pub view: ViewId,
    /// Its place among the view's commands when printed (kept lines).
    pub rank: Option<u16>,
    /// A block it opens is printed after an indented `#`.
    pub sep: bool,
}

impl Matched {
    /// The value of a parameter (the first, if it repeats). A parameter may share its name
    /// with a keyword (`as-number`, `router-id`): the argument's value wins; a keyword alone
    /// gives [`Value::Keyword`].
    pub fn get(&self, name: &str) -> Option<&Value> {
        let mut named = self.values.iter().filter(|(n, _)| *n == name);
        let first = named.next().map(|(_, v)| v)?;
        if *first != Value::Keyword {
            return Some(first);
        }
        Some(named.map(|(_, v)| v).next().unwrap_or(first))
    }
    /// Every value of a repeated parameter.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.values
            .iter()
            .filter(move |(n, v)| *n == name && *v != Value::Keyword)
            .map(|(_, v)| v)
    }
    /// True when the keyword or parameter is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// An AS number parameter, as written.
    pub fn asn(&self, name: &str) -> Option<crate::value::Written<tern_types::Asn>> {
        match self.get(name) {
            Some(Value::Asn(a)) => Some(*a),
            _ => None,
        }
    }
    /// An IP address parameter.
    pub fn ip(&self, name: &str) -> Option<std::net::IpAddr> {
        match self.get(name) {
            Some(Value::Ip(a)) => Some(*a),
            _ => None,
        }
    }
    /// An integer parameter.
    pub fn int(&self, name: &str) -> Option<u32> {
        match self.get(name) {
            Some(Value::Int(v)) => Some(*v),
            _ => None,
        }
    }
    /// A mask length parameter (dotted mask or number).
    pub fn mask_len(&self, name: &str) -> Option<u8> {
        match self.get(name) {
            Some(Value::MaskLen(v)) => Some(*v),
            Some(Value::Int(v)) => u8::try_from(*v).ok(),
            _ => None,
        }
    }
    /// A string-like parameter (word, text, interface name).
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Str(s) | Value::IfName(s)) => Some(s),
            _ => None,
        }
    }
}

/// Where and why a line did not match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchError {
    /// VRP's error class.
    pub kind: ErrorKind,
    /// Character column (0-based) of the caret within the matched text.
    pub column: usize,
}

impl MatchError {
    fn at(kind: ErrorKind, line: &str, byte: usize) -> MatchError {
        let column = if byte > line.len() {
            byte
        } else {
            line[..byte].chars().count()
        };
        MatchError { kind, column }
    }
}

/// A token of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tok {
    /// The token without surrounding quotes.
    pub text: String,
    /// As written.
    pub raw: String,
    /// Byte offset in the line.
    pub byte: usize,
}

/// Splits on white space; a double-quoted token may hold spaces.
pub(crate) fn tokenize(line: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            i = (i + 1).min(b.len());
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        let raw = &line[start..i];
        out.push(Tok {
            text: unquote(raw).to_owned(),
            raw: raw.to_owned(),
            byte: start,
        });
    }
    out
}

fn unquote(s: &str) -> &str {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}
