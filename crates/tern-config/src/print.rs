//! `display current-configuration`: the model printed in VRP's layout, driven by the grammar.
//!
//! There is no second grammar here. Every command in the table that configures something
//! carries its printer next to its grammar entry (`Node::print(rank, f)` in `table/`): given
//! the model and a view's scope, it returns the lines it configured, or the blocks (views)
//! it opens. This module only walks the views:
//!
//! 1. a view's printers run in `rank` order (the order VRP prints commands in that view);
//! 2. kept lines of the block (same enclosing headers) are matched against the view's tree
//!    again to find their rank and whether they open a view, and are merged in, entry order
//!    kept among equals;
//! 3. blocks recurse one space deeper.
//!
//! Layout, as VRP prints it: one space of indent per view level; at the top level a `#` line
//! before every block and before every group of consecutive one-line commands of the same
//! kind (`ip ip-prefix` lines, `ip route-static` lines); inside a view, a `#` at the block's
//! own indentation before blocks whose grammar node says so (BGP address families, the LDP
//! address families); `#` and `return` at the end.
//!
//! The same printed tree gives the `+`/`-` change listings of `display configuration
//! candidate changes` and `display configuration commit changes` ([`changes`]).

pub use crate::grammar::Item;
use crate::model::Config;
use crate::view::{Scope, ViewId};
use crate::vrp;

/// One printed command with what it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Place among its view's commands.
    pub rank: u16,
    /// Preceded by an indented `#`.
    pub sep: bool,
    /// The command line.
    pub line: String,
    /// The block's commands, `None` for a one-line command.
    pub children: Option<Vec<Entry>>,
}

impl Config {
    /// The configuration as `display current-configuration` prints it.
    pub fn to_vrp(&self) -> String {
        render(&self.print_tree())
    }

    /// Puts the kept lines in the order they print in. Kept lines are stored in entry order;
    /// lines of different blocks typed interleaved (`ospf`, then `mpls`, then more
    /// `ospf`) print grouped by block, so a configuration read back from its printout
    /// holds them in print order. Loading a file and committing normalise; nothing else
    /// changes.
    pub fn normalize_kept(&mut self) {
        fn walk(es: &[Entry], path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
            for e in es {
                out.push((path.clone(), e.line.clone()));
                if let Some(c) = &e.children {
                    path.push(e.line.clone());
                    walk(c, path, out);
                    path.pop();
                }
            }
        }
        let mut order = Vec::new();
        walk(&self.print_tree(), &mut Vec::new(), &mut order);
        let pos = |k: &crate::model::KeptLine| {
            order
                .iter()
                .position(|(p, t)| *p == k.path && *t == k.text)
                .unwrap_or(usize::MAX)
        };
        let mut keyed: Vec<(usize, crate::model::KeptLine)> =
            self.kept.drain(..).map(|k| (pos(&k), k)).collect();
        keyed.sort_by_key(|(i, _)| *i);
        self.kept = keyed.into_iter().map(|(_, k)| k).collect();
    }

    /// `display this`: the block of the view opened by `headers` (the view stack's header
    /// lines, outermost first), at its own indentation, between `#` and `return`; the whole
    /// configuration in the system view. A view with nothing configured shows its header.
    pub fn display_this(&self, headers: &[String]) -> String {
        let tree = self.print_tree();
        let Some((last, outer)) = headers.split_last() else {
            return render(&tree);
        };
        let mut level: &[Entry] = &tree;
        for h in outer {
            match level.iter().find(|e| e.line == *h) {
                Some(Entry {
                    children: Some(c), ..
                }) => level = c,
                _ => {
                    level = &[];
                    break;
                }
            }
        }
        let entry = level
            .iter()
            .find(|e| e.line == *last)
            .cloned()
            .unwrap_or(Entry {
                rank: 0,
                sep: false,
                line: last.clone(),
                children: None,
            });
        let mut out = String::from("#\n");
        render_entry(
            &Entry {
                sep: false,
                ..entry
            },
            outer.len(),
            &mut out,
        );
        out.push_str("#\nreturn\n");
        out
    }

    /// The printed configuration as a tree of commands (top level first).
    pub fn print_tree(&self) -> Vec<Entry> {
        collect(self, ViewId::System, &Scope::Global, &[])
    }
}

fn collect(cfg: &Config, view: ViewId, scope: &Scope, path: &[String]) -> Vec<Entry> {
    let g = vrp::grammar();
    let mut out = Vec::new();
    let sub = |header: &str| {
        let mut p = path.to_vec();
        p.push(header.to_owned());
        p
    };
    for p in g.printers(view) {
        for item in (p.f)(cfg, scope) {
            out.push(match item {
                Item::Line(line) => Entry {
                    rank: p.rank,
                    sep: false,
                    line,
                    children: None,
                },
                Item::Block {
                    header,
                    view,
                    scope,
                } => Entry {
                    rank: p.rank,
                    sep: p.sep,
                    children: Some(collect(cfg, view, &scope, &sub(&header))),
                    line: header,
                },
            });
        }
    }
    for k in cfg.kept.iter().filter(|k| k.path == path) {
        let m = g.match_line(view, &k.text).ok().flatten();
        let rank = m.as_ref().and_then(|m| m.rank).unwrap_or(u16::MAX);
        let sep = m.as_ref().is_some_and(|m| m.sep);
        let children = m
            .and_then(|m| m.enters)
            .map(|v| collect(cfg, v, &Scope::Kept, &sub(&k.text)));
        out.push(Entry {
            rank,
            sep,
            line: k.text.clone(),
            children,
        });
    }
    out.sort_by_key(|e| e.rank);
    out
}

/// Renders a printed tree in VRP's layout (see the module docs).
pub fn render(top: &[Entry]) -> String {
    let mut out = String::new();
    let mut prev: Option<&Entry> = None;
    for e in top {
        let grouped =
            prev.is_some_and(|p| p.children.is_none() && e.children.is_none() && p.rank == e.rank);
        if !grouped {
            out.push_str("#\n");
        }
        render_entry(e, 0, &mut out);
        prev = Some(e);
    }
    out.push_str("#\nreturn\n");
    out
}

fn render_entry(e: &Entry, indent: usize, out: &mut String) {
    if e.sep && indent > 0 {
        push_line(out, indent, "#");
    }
    push_line(out, indent, &e.line);
    for c in e.children.iter().flatten() {
        render_entry(c, indent + 1, out);
    }
}

fn push_line(out: &mut String, indent: usize, line: &str) {
    for _ in 0..indent {
        out.push(' ');
    }
    out.push_str(line);
    out.push('\n');
}

/// The `+`/`-` listing between two configurations, in the layout of `display configuration
/// candidate changes` and `display configuration commit changes`: a `  #` line before each
/// changed top-level block, the enclosing view lines as context (two spaces), removed lines
/// after `- `, added lines after `+ `, each with its own indentation; a closing `  #`. Empty
/// when nothing changed. The caller prints the `Building configuration` header.
pub fn changes(old: &Config, new: &Config) -> String {
    let mut out = String::new();
    let (a, b) = (old.print_tree(), new.print_tree());
    for op in align(&a, &b) {
        let mut block = String::new();
        diff_op(op, 0, &mut Vec::new(), &mut block);
        if !block.is_empty() {
            out.push_str("  #\n");
            out.push_str(&block);
        }
    }
    if !out.is_empty() {
        out.push_str("  #\n");
    }
    out
}

enum Op<'a> {
    Same(&'a Entry, &'a Entry),
    Del(&'a Entry),
    Add(&'a Entry),
}

/// Longest common subsequence of two sibling lists, by command line.
fn align<'a>(a: &'a [Entry], b: &'a [Entry]) -> Vec<Op<'a>> {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i].line == b[j].line {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i].line == b[j].line {
            ops.push(Op::Same(&a[i], &b[j]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || t[i][j + 1] >= t[i + 1][j]) {
            ops.push(Op::Add(&b[j]));
            j += 1;
        } else {
            ops.push(Op::Del(&a[i]));
            i += 1;
        }
    }
    ops
}

fn diff_op(op: Op<'_>, indent: usize, context: &mut Vec<String>, out: &mut String) {
    match op {
        Op::Same(x, y) => {
            if let (Some(xc), Some(yc)) = (&x.children, &y.children) {
                context.push(format!("  {}{}", " ".repeat(indent), x.line));
                for op in align(xc, yc) {
                    diff_op(op, indent + 1, context, out);
                }
                context.pop();
            }
        }
        Op::Del(e) => {
            flush(context, out);
            marked('-', e, indent, out);
        }
        Op::Add(e) => {
            flush(context, out);
            marked('+', e, indent, out);
        }
    }
}

/// Prints the pending context lines once, then forgets them.
fn flush(context: &mut [String], out: &mut String) {
    for c in context.iter_mut() {
        if !c.is_empty() {
            out.push_str(c);
            out.push('\n');
            c.clear();
        }
    }
}

fn marked(mark: char, e: &Entry, indent: usize, out: &mut String) {
    out.push(mark);
    out.push(' ');
    push_line(out, indent, &e.line);
    for c in e.children.iter().flatten() {
        marked(mark, c, indent + 1, out);
    }
}
