//! Errors with VRP's wording: the line, a caret under the offending position, and the message.
//!
//! ```text
//! [~PE1-bgp] peer 4.4.4.9 ebgp-max-hop 300
//!                                      ^
//! Error: Wrong parameter found at '^' position.
//! ```
//!
//! Rule violations found when a matched line is applied to the model ([`ErrorKind::Rejected`])
//! carry their own `Error: ...` text and no caret.

use std::fmt;

/// The class of a configuration error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No command of the view starts like this, or a keyword was expected.
    Unrecognized,
    /// The line stops before the command is complete.
    Incomplete,
    /// A parameter does not parse or is out of range.
    WrongParameter,
    /// Tokens after a complete command.
    TooManyParameters,
    /// An abbreviation matches several keywords.
    Ambiguous,
    /// The line is well-formed but breaks a rule of the model; the text is VRP-style
    /// (`Error: ...`).
    Rejected(String),
}

impl ErrorKind {
    /// The message VRP prints.
    pub fn message(&self) -> String {
        let pos = |what: &str| format!("Error: {what} found at '^' position.");
        match self {
            ErrorKind::Unrecognized => pos("Unrecognized command"),
            ErrorKind::Incomplete => pos("Incomplete command"),
            ErrorKind::WrongParameter => pos("Wrong parameter"),
            ErrorKind::TooManyParameters => pos("Too many parameters"),
            ErrorKind::Ambiguous => pos("Ambiguous command"),
            ErrorKind::Rejected(m) => m.clone(),
        }
    }
}

/// A line that could not be applied, with where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// 1-based line number in the file (for typed lines: the session's line count).
    pub line_no: usize,
    /// The line as given (with its indentation, when loading a file).
    pub line: String,
    /// 0-based character column of the caret in `line`; `None` for rule violations.
    pub column: Option<usize>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl ConfigError {
    /// The VRP message (`Error: Wrong parameter found at '^' position.`).
    pub fn message(&self) -> String {
        self.kind.message()
    }

    /// The caret line (`        ^`), when the error has a position.
    pub fn caret_line(&self) -> Option<String> {
        self.column.map(|c| format!("{}^", " ".repeat(c)))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "line {}:", self.line_no)?;
        writeln!(f, "{}", self.line)?;
        if let Some(c) = self.caret_line() {
            writeln!(f, "{c}")?;
        }
        write!(f, "{}", self.message())
    }
}

/// A rule violation found when applying a change; the model is left unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Reject(pub String);

impl Reject {
    /// A rejection with VRP-style text.
    pub fn new(msg: impl Into<String>) -> Reject {
        Reject(msg.into())
    }
}
