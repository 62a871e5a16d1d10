//! Results: one row per run, and the markdown summary (median, min and max per metric and
//! daemon, and tern's ratio to each other daemon).

use std::fmt::Write as _;

use crate::case::Case;
use crate::daemon::Daemon;

/// What one run measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Metrics {
    /// Seconds from the injector's first UPDATE octet to the last receiver holding all N
    /// routes (for a withdraw case: from the first withdrawal to the last receiver holding
    /// none).
    pub convergence: f64,
    /// Seconds the injector took to write its stream (TCP back-pressure from the daemon).
    pub ingest: f64,
    /// N / convergence.
    pub routes_per_sec: f64,
    /// The daemon's peak resident set (VmHWM), octets.
    pub peak_rss: u64,
    /// Its resident set with every session up, before the first UPDATE, octets.
    pub baseline_rss: u64,
    /// (peak − baseline) / N.
    pub bytes_per_route: f64,
    /// User plus system CPU seconds the daemon used during the timed phase.
    pub cpu: f64,
    /// CPU seconds the harness itself (injector and receivers) used in the same time.
    pub harness_cpu: f64,
    /// CPU seconds every other process on the machine used in the same time.
    pub background_cpu: f64,
    /// The harness's own peak resident set (VmHWM) at the end of the run, octets.
    pub harness_rss: u64,
    /// Join cases: seconds from the joining receivers' first connection attempt until every
    /// one's session is Established.
    pub sessions_up: f64,
    /// Join cases: seconds until the first joining receiver held the N routes and End-of-RIB.
    pub first_done: f64,
    /// Join cases: (peak − baseline) / K, octets per joining receiver.
    pub per_receiver: f64,
    /// Display cases: the display alone.
    pub display: Option<crate::display::Figures>,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every receiver got there.
    Done(Metrics),
    /// Not every receiver got there in time; the fewest and most routes a receiver held.
    Timeout {
        /// Seconds waited.
        after: f64,
        /// Fewest routes a receiver held (most, for a withdraw case).
        worst: usize,
    },
    /// The run failed (the daemon did not start, a session went down, ...).
    Failed(String),
}

/// One run's result.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The case.
    pub case: Case,
    /// The daemon.
    pub daemon: Daemon,
    /// Run number, from 1.
    pub run: usize,
    /// What happened.
    pub outcome: Outcome,
}

/// Median, min, max.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

/// The spread of `v` (not empty).
pub fn spread(v: &[f64]) -> Option<Spread> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    let median = if s.len().is_multiple_of(2) {
        (s[m - 1] + s[m]) / 2.0
    } else {
        s[m]
    };
    Some(Spread {
        median,
        min: s[0],
        max: s[s.len() - 1],
    })
}

type Getter = fn(&Metrics) -> f64;
type Format = fn(f64) -> String;

/// A column of the summary tables: heading, value, formatter, and whether the ratio rows
/// compare it (diagnostics are not compared).
type Column = (&'static str, Getter, Format, bool);

/// The metrics of the summary tables.
const COLUMNS: [Column; 6] = [
    ("convergence (s)", |m| m.convergence, secs, true),
    ("routes/s", |m| m.routes_per_sec, rate, true),
    ("peak RSS (MB)", |m| m.peak_rss as f64 / 1e6, mb, true),
    ("bytes/route", |m| m.bytes_per_route, whole, true),
    ("CPU (s)", |m| m.cpu, secs, true),
    // Near zero whenever the stream fits the socket buffers.
    ("ingest (s)", |m| m.ingest, secs, false),
];

/// The metrics of a join case's table.
const JOIN_COLUMNS: [Column; 10] = [
    ("all joined (s)", |m| m.convergence, secs, true),
    ("first joined (s)", |m| m.first_done, secs, true),
    ("sessions up (s)", |m| m.sessions_up, secs, false),
    ("RSS before (MB)", |m| m.baseline_rss as f64 / 1e6, mb, true),
    ("peak RSS (MB)", |m| m.peak_rss as f64 / 1e6, mb, true),
    ("peak ÷ before", peak_ratio, ratio, true),
    ("kB/receiver", |m| m.per_receiver / 1e3, whole, true),
    ("CPU (s)", |m| m.cpu, secs, true),
    ("harness CPU (s)", |m| m.harness_cpu, secs, false),
    (
        "harness RSS (MB)",
        |m| m.harness_rss as f64 / 1e6,
        mb,
        false,
    ),
];

/// Peak resident set over the baseline.
pub fn peak_ratio(m: &Metrics) -> f64 {
    m.peak_rss as f64 / m.baseline_rss.max(1) as f64
}

fn ratio(v: f64) -> String {
    format!("{v:.2}")
}

fn secs(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

fn rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else {
        format!("{:.0}k", v / 1e3)
    }
}

fn mb(v: f64) -> String {
    format!("{v:.0}")
}

fn whole(v: f64) -> String {
    format!("{v:.0}")
}

fn secs3(v: f64) -> String {
    format!("{v:.3}")
}

fn cell(s: Spread, f: Format) -> String {
    format!("{} ({}–{})", f(s.median), f(s.min), f(s.max))
}

fn done(results: &[RunResult], case: Case, d: Daemon) -> Vec<Metrics> {
    results
        .iter()
        .filter(|r| r.case == case && r.daemon == d)
        .filter_map(|r| match r.outcome {
            Outcome::Done(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn failure(results: &[RunResult], case: Case, d: Daemon) -> Option<String> {
    results
        .iter()
        .filter(|r| r.case == case && r.daemon == d)
        .find_map(|r| match &r.outcome {
            Outcome::Done(_) => None,
            Outcome::Timeout { after, worst } => Some(format!(
                "timeout after {after:.0} s (run {}: a receiver held {worst} of {})",
                r.run, r.case.n
            )),
            Outcome::Failed(e) => Some(format!("failed (run {}): {e}", r.run)),
        })
}

/// The summary tables of `results`, one per case, for `daemons` in order.
pub fn markdown(results: &[RunResult], cases: &[Case], daemons: &[Daemon]) -> String {
    let mut t = String::new();
    for &case in cases {
        let runs = results
            .iter()
            .filter(|r| r.case == case)
            .map(|r| r.run)
            .max()
            .unwrap_or(0);
        let what = match case.kind {
            crate::case::Kind::Ipv4 => "IPv4 unicast routes",
            crate::case::Kind::Vpnv4 => "VPNv4 routes",
            crate::case::Kind::Vpnv6 => "VPNv6 routes",
            crate::case::Kind::Vpnv4ManyRt => "VPNv4 routes over 10,000 route targets",
        };
        let labels = if case.per_instance {
            " (one label per route target)"
        } else {
            ""
        };
        let columns: &[Column] = if case.join { &JOIN_COLUMNS } else { &COLUMNS };
        if case.join {
            let _ = writeln!(
                t,
                "### {case}\n\n{} {what}{labels} held by the reflector with one receiver up; \
                 then {} receivers connect at once, each timed until it holds them all and \
                 End-of-RIB; {runs} run(s). RSS before: once the reflector is idle; peak: the \
                 largest resident set during the joins.\n",
                group(case.n),
                case.k,
            );
        } else {
            let _ = writeln!(
                t,
                "### {case}\n\n{} {what}{labels}, {} receivers, {runs} run(s){}.\n",
                group(case.n),
                case.k,
                if case.display {
                    "; timed: withdrawing all of them while the table is displayed \
                     (convergence: every receiver holds none)"
                } else if case.withdraw {
                    "; timed: withdrawing all of them (convergence: every receiver holds none)"
                } else {
                    ""
                }
            );
        }
        let _ = write!(t, "| daemon |");
        for (h, _, _, _) in columns {
            let _ = write!(t, " {h} |");
        }
        let _ = writeln!(t, "\n|---|{}", "---|".repeat(columns.len()));
        let mut notes = Vec::new();
        for &d in daemons {
            let ms = done(results, case, d);
            let _ = write!(t, "| {} |", d.name());
            for &(_, get, fmt, _) in columns {
                let v: Vec<f64> = ms.iter().map(get).collect();
                match spread(&v) {
                    Some(s) => {
                        let _ = write!(t, " {} |", cell(s, fmt));
                    }
                    None => {
                        let _ = write!(t, " — |");
                    }
                }
            }
            t.push('\n');
            if let Some(f) = failure(results, case, d) {
                notes.push(format!(
                    "- {}: {f}{}",
                    d.name(),
                    if ms.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} run(s) completed, summarised above)", ms.len())
                    }
                ));
            }
        }
        let tern = done(results, case, Daemon::Tern);
        for &d in daemons.iter().filter(|d| **d != Daemon::Tern) {
            let other = done(results, case, d);
            if tern.is_empty() || other.is_empty() {
                continue;
            }
            let _ = write!(t, "| tern ÷ {} |", d.name());
            for &(_, get, _, compared) in columns {
                if !compared {
                    let _ = write!(t, " |");
                    continue;
                }
                let a = spread(&tern.iter().map(get).collect::<Vec<_>>());
                let b = spread(&other.iter().map(get).collect::<Vec<_>>());
                match (a, b) {
                    (Some(a), Some(b)) if b.median != 0.0 => {
                        let _ = write!(t, " {:.2} |", a.median / b.median);
                    }
                    _ => {
                        let _ = write!(t, " — |");
                    }
                }
            }
            t.push('\n');
        }
        let runs_done: Vec<Metrics> = daemons
            .iter()
            .flat_map(|&d| done(results, case, d))
            .collect();
        if let Some(worst) = runs_done
            .iter()
            .map(|m| m.background_cpu / m.convergence.max(1e-9))
            .max_by(f64::total_cmp)
        {
            notes.push(format!(
                "- Other processes on the machine used at most {worst:.2} cores during a timed \
                 phase."
            ));
        }
        if case.display {
            let figures: Vec<crate::display::Figures> =
                tern.iter().filter_map(|m| m.display).collect();
            let col = |get: fn(&crate::display::Figures) -> f64| {
                spread(&figures.iter().map(get).collect::<Vec<_>>())
                    .map_or_else(|| "—".to_owned(), |s| cell(s, secs3))
            };
            if !figures.is_empty() {
                notes.push(format!(
                    "- The display alone (`{}`, text then JSON, checked complete): first part \
                     after {} s, whole text {} s ({} lines, {:.0} MB), whole JSON {} s \
                     ({:.0} MB); `display bgp peer`, asked every 20 ms while the text streamed, \
                     answered in at most {} ms. The convergence above is the withdrawal while \
                     the display streams again.",
                    crate::display::command(case.kind.family()),
                    col(|f| f.first),
                    col(|f| f.total),
                    figures[0].lines,
                    figures[0].octets as f64 / 1e6,
                    col(|f| f.json_total),
                    figures[0].json_octets as f64 / 1e6,
                    figures
                        .iter()
                        .map(|f| format!("{:.0}", f.peer_max * 1e3))
                        .collect::<Vec<_>>()
                        .join("/"),
                ));
            }
        }
        t.push('\n');
        for n in notes {
            let _ = writeln!(t, "{n}");
        }
        t.push('\n');
    }
    t
}

/// Every run as CSV.
pub fn csv(results: &[RunResult]) -> String {
    let mut t = String::from(
        "case,daemon,run,outcome,convergence_s,ingest_s,routes_per_s,peak_rss,baseline_rss,\
         bytes_per_route,cpu_s,harness_cpu_s,background_cpu_s,harness_rss,sessions_up_s,\
         first_done_s,per_receiver,note\n",
    );
    for r in results {
        let head = format!("{},{},{}", r.case, r.daemon.name(), r.run);
        match &r.outcome {
            Outcome::Done(m) => {
                let _ = writeln!(
                    t,
                    "{head},done,{:.4},{:.4},{:.0},{},{},{:.1},{:.2},{:.2},{:.2},{},{:.4},{:.4},\
                     {:.0},",
                    m.convergence,
                    m.ingest,
                    m.routes_per_sec,
                    m.peak_rss,
                    m.baseline_rss,
                    m.bytes_per_route,
                    m.cpu,
                    m.harness_cpu,
                    m.background_cpu,
                    m.harness_rss,
                    m.sessions_up,
                    m.first_done,
                    m.per_receiver
                );
            }
            Outcome::Timeout { after, worst } => {
                let _ = writeln!(t, "{head},timeout,{after:.1},,,,,,,,,,,,,held {worst}");
            }
            Outcome::Failed(e) => {
                let _ = writeln!(t, "{head},failed,,,,,,,,,,,,,,\"{}\"", e.replace('"', "'"));
            }
        }
    }
    t
}

/// `1234567` as `1,234,567`.
pub fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let s = spread(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(spread(&[1.0, 2.0, 4.0, 3.0]).unwrap().median, 2.5);
        assert!(spread(&[]).is_none());
        assert_eq!(group(1_000_000), "1,000,000");
        assert_eq!(group(999), "999");
    }
}
