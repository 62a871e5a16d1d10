//! The VRP grammar, built once: the table's commands ([`crate::table`]) put into the token
//! tree ([`crate::grammar`]). Reading lines, `?` help and printing all take it from here, so
//! neither the token-tree machinery nor the printer depends on the table.

use std::sync::OnceLock;

use crate::grammar::Grammar;
use crate::table;

/// The grammar, built once.
pub(crate) fn grammar() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| table::build().finish())
}

impl Grammar {
    /// The grammar, built once.
    pub fn get() -> &'static Grammar {
        grammar()
    }
}
