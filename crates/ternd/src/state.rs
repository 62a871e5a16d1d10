//! What the daemon starts from, and what it holds locked while it runs.
//!
//! As VRP, the daemon starts from its startup configuration file: the running configuration
//! is the file's. The state directory keeps the commit history (the journal of
//! [`tern_config::journal`]) across restarts; it never overrides the file. When the last
//! commit in the history is not what the file holds (committed, never saved), the log says
//! so and which commit restores it (`rollback configuration to commit-id ID`).
//!
//! The state directory and the control socket are each locked (flock on `DIR/lock` and on
//! `<socket>.lock`): a second daemon with either refuses to start instead of taking over the
//! first's socket or writing into its history.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tern_config::{Config, Running, Store};
use tracing::{info, warn};

/// Where the running configuration came from, for `display current-configuration`.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The startup file loaded at start (none: the daemon was given a configuration).
    pub startup: Option<PathBuf>,
    /// Unix time the daemon started.
    pub started: u64,
}

/// The running configuration at start (its store holds the state directory's lock).
pub struct Started {
    /// The running configuration and its history.
    pub running: Running,
    /// Where it came from.
    pub origin: Origin,
}

/// Locks the control socket `control` (`<control>.lock`).
pub fn lock_control(control: &Path) -> io::Result<tern_config::journal::Lock> {
    let mut name = control.as_os_str().to_owned();
    name.push(".lock");
    tern_config::journal::lock_file(Path::new(&name)).map_err(|e| {
        if e.kind() == io::ErrorKind::WouldBlock {
            io::Error::new(
                e.kind(),
                format!(
                    "another ternd serves the control socket {}: {e}",
                    control.display()
                ),
            )
        } else {
            io::Error::new(e.kind(), format!("{name:?}: {e}"))
        }
    })
}

/// Opens the state directory (if any) with the startup configuration `model` loaded from
/// `startup`; `commit_points`: rollback points kept (0: VRP's default).
pub fn start(
    model: &Config,
    startup: Option<&Path>,
    state_dir: Option<&Path>,
    commit_points: usize,
) -> io::Result<Started> {
    let limit = match commit_points {
        0 => tern_config::DEFAULT_COMMIT_POINTS,
        n => n,
    };
    let origin = Origin {
        startup: startup.map(Path::to_path_buf),
        started: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    if let Some(path) = startup {
        info!(file = %path.display(), "running configuration loaded from the startup configuration file");
        let n = tern_config::journal::remove_temporaries(path);
        if n > 0 {
            info!(file = %path.display(), removed = n, "stale temporary files of an interrupted save removed");
        }
    }
    let Some(dir) = state_dir else {
        return Ok(Started {
            running: Running::new(model.clone()).with_limit(limit),
            origin,
        });
    };
    let (running, opened) = Store::open(dir, model.clone(), limit).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("commit history in {}: {e}", dir.display()),
        )
    })?;
    if opened.temporaries > 0 {
        info!(dir = %dir.display(), removed = opened.temporaries, "stale temporary files removed from the state directory");
    }
    if opened.cut > 0 {
        warn!(
            dir = %dir.display(),
            bytes = opened.cut,
            "an incomplete commit record (a commit interrupted before it was acknowledged) was removed from the commit history"
        );
    }
    if opened.old_layout {
        warn!(dir = %dir.display(), "the state directory holds a commit history of an older layout (origin.cfg, commits/), which is not read");
    }
    if opened.unsaved
        && let Some(id) = opened.last_commit
    {
        warn!(
            commit = id,
            "the startup configuration file is not the last committed configuration: changes committed and not saved are not running (rollback configuration to commit-id {id} restores them; save keeps them)"
        );
    }
    info!(
        dir = %dir.display(),
        commits = running.history().len(),
        limit,
        "commit history"
    );
    Ok(Started { running, origin })
}

/// The `!` header of `display current-configuration` (VRP prints `!Software Version`,
/// `!Last configuration was updated at …` lines above the first `#`).
pub fn header(origin: &Origin, running: &Running) -> String {
    let mut out = format!("!Software Version tern {}\n", env!("CARGO_PKG_VERSION"));
    match &origin.startup {
        Some(p) => out.push_str(&format!(
            "!Startup configuration file: {} (loaded at {})\n",
            p.display(),
            tern_config::commit::timestamp(origin.started)
        )),
        None => out.push_str("!Startup configuration file: none\n"),
    }
    if let Some(r) = running.history().last()
        && running.unsaved()
    {
        out.push_str(&format!(
            "!Last configuration was updated at {} by {} (commit {}), not saved\n",
            tern_config::commit::timestamp(r.time),
            r.user,
            r.id
        ));
    }
    out
}

/// The warning at `quit` (and in the log) while committed changes are not saved.
pub fn unsaved_warning(origin: &Origin) -> String {
    match &origin.startup {
        Some(p) => format!(
            "Warning: The current configuration has committed changes that are not saved to the startup configuration file {}; they are lost at restart unless saved (save).\n",
            p.display()
        ),
        None => "Warning: The current configuration has committed changes; there is no startup configuration file to save them to, and they are lost at restart.\n".to_owned(),
    }
}
