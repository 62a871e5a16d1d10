//! Display cases: ternd's routing-table display of the whole table, streamed over its control
//! socket with tern's client while the daemon holds the N routes, and checked against them:
//! every route listed once in the text, `| count` agreeing with the text's lines, `| include`
//! returning the matching lines, the JSON form parsing with N routes. Then the same display
//! runs again while the withdrawal is timed, to show route processing does not wait on it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tern_types::Family;

/// What the display alone measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Figures {
    /// Seconds until the first part of the text arrived.
    pub first: f64,
    /// Seconds until the whole text had arrived.
    pub total: f64,
    /// Lines of text.
    pub lines: usize,
    /// Octets of text.
    pub octets: usize,
    /// Seconds the JSON form took, whole.
    pub json_total: f64,
    /// Octets of JSON.
    pub json_octets: usize,
    /// The slowest `display bgp peer` (seconds, connection included) asked again and again
    /// while the whole text display streamed.
    pub peer_max: f64,
    /// How many `display bgp peer` were asked meanwhile.
    pub peer_asked: usize,
}

/// The display of the family's whole table.
pub fn command(family: Family) -> &'static str {
    if family == Family::VPNV4 {
        "display bgp vpnv4 all routing-table"
    } else if family == Family::VPNV6 {
        "display bgp vpnv6 all routing-table"
    } else {
        "display bgp routing-table"
    }
}

/// A path's first line starts with its status codes: ` *>`, ` *>i`, ` *` (every route of a
/// case is valid: ternd runs without next-hop tracking here).
fn is_route(line: &str) -> bool {
    line.starts_with(" *")
}

/// Streams `command` from the daemon at `socket`; `on` sees each part.
fn stream(
    socket: &Path,
    command: &str,
    json: bool,
    on: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let mut c = tern_api::Blocking::connect(socket).map_err(|e| e.to_string())?;
    let error = c
        .display_with(command, json, &mut |part| {
            on(part);
            true
        })
        .map_err(|e| e.to_string())?;
    match error {
        Some(e) => Err(format!("{command}: {}", e.message)),
        None => Ok(()),
    }
}

/// The display alone, checked against the `n` routes the daemon holds.
pub fn measure(socket: &Path, family: Family, n: usize) -> Result<Figures, String> {
    let cmd = command(family);
    // `display bgp peer` asked over and over while the big display streams: how long an
    // operator waits for it at this load.
    let streaming = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let prober = {
        let streaming = streaming.clone();
        let socket = socket.to_path_buf();
        std::thread::spawn(move || -> Result<(f64, usize), String> {
            let (mut worst, mut asked) = (0f64, 0usize);
            while streaming.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let mut out = String::new();
                stream(&socket, "display bgp peer", false, &mut |p| out.push_str(p))?;
                if !out.contains("Peer") {
                    return Err(format!("display bgp peer: {out:?}"));
                }
                worst = worst.max(t.elapsed().as_secs_f64());
                asked += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Ok((worst, asked))
        })
    };
    let t = Instant::now();
    let mut f = Figures::default();
    let mut first = None;
    let mut routes = 0;
    let mut carry = String::new();
    stream(socket, cmd, false, &mut |part| {
        first.get_or_insert_with(|| t.elapsed().as_secs_f64());
        f.octets += part.len();
        carry.push_str(part);
        let end = carry.rfind('\n').map_or(0, |i| i + 1);
        for l in carry[..end].lines() {
            f.lines += 1;
            routes += usize::from(is_route(l));
        }
        carry.drain(..end);
    })?;
    f.total = t.elapsed().as_secs_f64();
    f.first = first.unwrap_or(f.total);
    streaming.store(false, std::sync::atomic::Ordering::Relaxed);
    (f.peer_max, f.peer_asked) = prober
        .join()
        .map_err(|_| "display bgp peer prober panicked".to_owned())??;
    if routes != n {
        return Err(format!("{cmd}: {routes} routes listed, {n} held"));
    }
    // `| count` counts the same lines, in the daemon.
    let mut counted = String::new();
    stream(socket, &format!("{cmd} | count"), false, &mut |p| {
        counted.push_str(p)
    })?;
    if counted.trim() != format!("Total lines: {}", f.lines) {
        return Err(format!(
            "{cmd} | count: {counted:?}, the text has {} lines",
            f.lines
        ));
    }
    // `| include` keeps the matching lines only: here every route's line.
    let mut included = 0;
    let mut other = 0;
    stream(socket, &format!("{cmd} | include ^ \\*"), false, &mut |p| {
        for l in p.lines() {
            if l.starts_with(" *") {
                included += 1;
            } else {
                other += 1;
            }
        }
    })?;
    if other != 0 || included != n {
        return Err(format!(
            "{cmd} | include: {included} route lines and {other} others, expected {n}"
        ));
    }
    // The JSON form: one document with the N routes.
    let t = Instant::now();
    let mut doc = String::new();
    stream(socket, cmd, true, &mut |p| doc.push_str(p))?;
    f.json_total = t.elapsed().as_secs_f64();
    f.json_octets = doc.len();
    #[derive(serde::Deserialize)]
    struct Table {
        routes: Vec<serde::de::IgnoredAny>,
    }
    let table: Table = serde_json::from_str(&doc).map_err(|e| format!("{cmd} (JSON): {e}"))?;
    if table.routes.len() != n {
        return Err(format!(
            "{cmd} (JSON): {} routes, {n} held",
            table.routes.len()
        ));
    }
    Ok(f)
}

/// The display streamed again on a thread of its own (while the withdrawal is timed); the
/// thread returns the octets it read.
pub fn concurrently(
    socket: PathBuf,
    family: Family,
) -> std::thread::JoinHandle<Result<usize, String>> {
    std::thread::spawn(move || {
        let mut octets = 0;
        stream(&socket, command(family), false, &mut |p| octets += p.len())?;
        Ok(octets)
    })
}
