//! VRP's pager for the interactive shell: after a screenful of output (`screen-length N
//! temporary`, 24 lines by default), `  ---- More ----` waits for a key: space shows the next
//! screen, Enter the next line, anything else (`q`, Ctrl-C) stops the display, which then
//! stops in the daemon too. `screen-length 0 temporary` and `| no-more` turn paging off;
//! `tern -c` never pages.

use std::io::{Read, Write};
use std::os::fd::AsFd;

use nix::sys::termios::{self, SetArg};

/// VRP's default screen length.
pub const DEFAULT_SCREEN_LENGTH: usize = 24;

const MORE: &str = "  ---- More ----";

/// Pages a line's output on the terminal.
#[derive(Debug)]
pub struct Pager {
    /// Lines per screen (0: no paging).
    page: usize,
    /// Lines shown since the last wait.
    shown: usize,
}

impl Pager {
    /// A pager of `page` lines (0: none).
    pub fn new(page: usize) -> Pager {
        Pager { page, shown: 0 }
    }

    /// Writes `text` (whole lines); false when the operator stopped the output.
    pub fn write(&mut self, text: &str) -> bool {
        let mut out = std::io::stdout().lock();
        for line in text.split_inclusive('\n') {
            if self.page > 0 && self.shown >= self.page {
                let _ = out.flush();
                match more(&mut out) {
                    Key::Screen => self.shown = 0,
                    Key::Line => self.shown = self.page.saturating_sub(1),
                    Key::Stop => return false,
                }
            }
            if out.write_all(line.as_bytes()).is_err() {
                return false;
            }
            self.shown += 1;
        }
        let _ = out.flush();
        true
    }
}

enum Key {
    Screen,
    Line,
    Stop,
}

/// Shows `---- More ----`, waits for a key (raw mode, not echoed), and wipes the prompt.
fn more(out: &mut impl Write) -> Key {
    let _ = write!(out, "{MORE}");
    let _ = out.flush();
    let key = read_key();
    let _ = write!(out, "\r{}\r", " ".repeat(MORE.len()));
    let _ = out.flush();
    match key {
        Some(b' ') => Key::Screen,
        Some(b'\r' | b'\n') => Key::Line,
        _ => Key::Stop,
    }
}

/// One key from the terminal, without echo or line buffering; `None` when stdin is not a
/// terminal or is closed.
fn read_key() -> Option<u8> {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let saved = termios::tcgetattr(fd).ok()?;
    let mut raw = saved.clone();
    termios::cfmakeraw(&mut raw);
    termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
    let mut b = [0u8; 1];
    let n = stdin.lock().read(&mut b);
    let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &saved);
    match n {
        Ok(1) => Some(b[0]),
        _ => None,
    }
}
