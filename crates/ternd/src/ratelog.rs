//! Rate-limited logging for what a remote party can trigger: a connection refused, a
//! malformed message, a ROUTE-REFRESH. Whoever can open connections or send messages must not
//! be able to fill the log or spend the daemon's time writing it.
//!
//! A [`RateLog`] admits up to [`BURST`] lines in a window of [`WINDOW`]; the lines after
//! that are counted, not written, and the next admitted line carries their number as the
//! field `suppressed`. [`limited!`] wraps a `tracing` macro call: with a limiter of its own
//! per call site (a `static`), or with one given (e.g. one per peer, so that one peer's
//! connections do not hide another's).
//!
//! ```text
//! limited!(warn!(peer = %addr, "bad message header: {note}"));
//! limited!(conn_log => info!(peer = %addr, "connection {id} up"));
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines admitted per window.
pub const BURST: u32 = 10;

/// The window.
pub const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct State {
    start: Option<Instant>,
    admitted: u32,
    suppressed: u64,
}

/// A limiter of log lines: [`BURST`] per [`WINDOW`], the rest counted.
#[derive(Debug)]
pub struct RateLog {
    burst: u32,
    window: Duration,
    state: Mutex<State>,
}

impl Default for RateLog {
    fn default() -> Self {
        RateLog::new()
    }
}

impl RateLog {
    /// [`BURST`] lines per [`WINDOW`].
    pub const fn new() -> RateLog {
        RateLog::with(BURST, WINDOW)
    }

    /// `burst` lines per `window`.
    pub const fn with(burst: u32, window: Duration) -> RateLog {
        RateLog {
            burst,
            window,
            state: Mutex::new(State {
                start: None,
                admitted: 0,
                suppressed: 0,
            }),
        }
    }

    /// Whether a line may be written now: `Some(n)` with the number of lines suppressed since
    /// the last one admitted, or `None` (the line is counted).
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.start
            .is_none_or(|t| now.saturating_duration_since(t) >= self.window)
        {
            s.start = Some(now);
            s.admitted = 0;
        }
        if s.admitted < self.burst {
            s.admitted += 1;
            Some(std::mem::take(&mut s.suppressed))
        } else {
            s.suppressed += 1;
            None
        }
    }
}

/// A `tracing` event through a [`RateLog`]: `limited!(warn!(...))` with a limiter of the call
/// site's own, `limited!(limiter => info!(...))` with `limiter` (a `&RateLog`). An admitted
/// line that follows suppressed ones carries their number as `suppressed`.
macro_rules! limited {
    ($lim:expr => $level:ident!($($arg:tt)+)) => {{
        if let Some(suppressed) = $crate::ratelog::RateLog::admit($lim) {
            if suppressed > 0 {
                tracing::$level!(suppressed, $($arg)+);
            } else {
                tracing::$level!($($arg)+);
            }
        }
    }};
    ($level:ident!($($arg:tt)+)) => {{
        static LIMIT: $crate::ratelog::RateLog = $crate::ratelog::RateLog::new();
        $crate::ratelog::limited!(&LIMIT => $level!($($arg)+))
    }};
}

pub(crate) use limited;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_counted_then_reported() {
        let l = RateLog::with(3, Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(l.admit_at(t0), Some(0));
        assert_eq!(l.admit_at(t0), Some(0));
        assert_eq!(l.admit_at(t0), Some(0));
        for _ in 0..1000 {
            assert_eq!(l.admit_at(t0 + Duration::from_secs(5)), None);
        }
        // A new window: the first line reports what was left out.
        assert_eq!(l.admit_at(t0 + Duration::from_secs(10)), Some(1000));
        assert_eq!(l.admit_at(t0 + Duration::from_secs(11)), Some(0));
    }

    #[test]
    fn the_macro_writes_at_most_a_burst_per_site() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Counts the events that reach a subscriber.
        struct Count(Arc<AtomicUsize>);
        impl tracing::Subscriber for Count {
            fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, _: &tracing::Event<'_>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }
        let n = Arc::new(AtomicUsize::new(0));
        tracing::subscriber::with_default(Count(n.clone()), || {
            for i in 0..500 {
                limited!(warn!(i, "refused"));
            }
            let mine = RateLog::with(2, Duration::from_secs(60));
            for i in 0..500 {
                limited!(&mine => info!(i, "up"));
            }
        });
        assert_eq!(n.load(Ordering::Relaxed), BURST as usize + 2);
    }
}
