//! A line's output on its way to the client: written as the display produces it, passed
//! through VRP's output filter (`| include`, `| count`, … see [`crate::filter`]) line by line,
//! and sent in replies of about [`SEND_AT`] octets, whole lines each, over a bounded channel,
//! so a display of any size holds no more than a few replies in memory. When the client goes
//! away (a pager's `q`, a closed pipe) [`Out::closed`] says so and the display stops.

use tern_api::tonic::Status;
use tokio::sync::mpsc;

use crate::filter::{Filter, Lines};

/// Octets gathered before a reply goes out.
pub const SEND_AT: usize = 64 * 1024;

/// Where a line's output goes: replies of type `T` made by `wrap`.
#[derive(Debug)]
pub struct Out<T> {
    tx: mpsc::Sender<Result<T, Status>>,
    wrap: fn(String) -> T,
    lines: Option<Lines>,
    /// Whole lines to send.
    pending: String,
    /// The start of a line not ended yet (with a filter).
    partial: String,
    /// The output so far ends a line (or is empty).
    ended: bool,
    closed: bool,
}

impl<T> Out<T> {
    /// Output to `tx` through `filter`.
    pub fn new(
        tx: mpsc::Sender<Result<T, Status>>,
        wrap: fn(String) -> T,
        filter: Option<Filter>,
    ) -> Out<T> {
        Out {
            tx,
            wrap,
            lines: filter.map(Lines::new),
            pending: String::new(),
            partial: String::new(),
            ended: true,
            closed: false,
        }
    }

    /// True when nobody reads the output any more.
    pub fn closed(&self) -> bool {
        self.closed || self.tx.is_closed()
    }

    /// Writes `text` (lines, the last one possibly not ended yet).
    pub async fn write(&mut self, text: &str) {
        if self.closed() || text.is_empty() {
            return;
        }
        self.ended = text.ends_with('\n');
        match &mut self.lines {
            None => self.pending.push_str(text),
            Some(lines) => {
                self.partial.push_str(text);
                let mut start = 0;
                while let Some(i) = self.partial[start..].find('\n') {
                    let line = &self.partial[start..start + i];
                    if lines.keep(line) {
                        self.pending.push_str(line);
                        self.pending.push('\n');
                    }
                    start += i + 1;
                }
                self.partial.drain(..start);
            }
        }
        if self.pending.len() >= SEND_AT {
            self.flush().await;
        }
    }

    async fn flush(&mut self) {
        if self.pending.is_empty() || self.closed {
            return;
        }
        let part = (self.wrap)(std::mem::take(&mut self.pending));
        if self.tx.send(Ok(part)).await.is_err() {
            self.closed = true;
        }
    }

    /// The output's end: a last line not ended, the filter's count; what is left to send
    /// goes back to the caller, for the last reply. The output always ends a line.
    pub async fn finish(mut self) -> (String, mpsc::Sender<Result<T, Status>>) {
        if self.lines.is_none() && !self.ended {
            self.pending.push('\n');
        }
        if let Some(lines) = &mut self.lines {
            let last = std::mem::take(&mut self.partial);
            if !last.is_empty() && lines.keep(&last) {
                self.pending.push_str(&last);
                self.pending.push('\n');
            }
            if let Some(end) = lines.end() {
                self.pending.push_str(&end);
            }
        }
        (std::mem::take(&mut self.pending), self.tx)
    }
}
