//! A start's initial convergence, and graceful restart of this router (RFC 4724 §4.1, the
//! restarting speaker).
//!
//! - **Initial convergence.** A start that installs routes takes over the routes of this
//!   router that an earlier run left in the kernel ([`crate::fib`]): they stay, a best route
//!   that is already there as it should be is not written again, and the ones not installed
//!   again are removed ([`tern_engine::FibOp::Reconcile`]) once the initial convergence is
//!   over: every configured peer (not `ignore`d) has sent End-of-RIB for every family of its
//!   session (RFC 4724 §2 recommends End-of-RIB after the initial table even without graceful
//!   restart), or the wait runs out: `graceful-restart timer wait-for-rib` with graceful
//!   restart configured, else [`CONVERGENCE_WAIT`]. Nothing waits for it: sessions, the
//!   control API and installs run meanwhile.
//! - **Graceful restart.** With `graceful-restart` configured, a start that finds this
//!   router's routes still in the kernel (the previous run ended without removing them: a
//!   crash, `kill -9`, or `--keep-kernel-routes`) is a restart: the OPENs carry the Restart
//!   State bit and the Forwarding State bit of every family, and the engine defers its output
//!   ([`tern_engine::Input::Defer`]) until the convergence is over, for which a peer without
//!   graceful restart counts once Established. Then the peers get the tables and End-of-RIB,
//!   the kernel the best routes, and the routes left from before that were not installed
//!   again are removed. Sessions made after that carry no Restart State bit.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::info;

use crate::rib_task::{RibHandle, RibMsg};

/// How long a start without graceful restart waits for every peer's End-of-RIB before the
/// kernel routes left by the previous run that were not installed again are removed.
pub const CONVERGENCE_WAIT: Duration = Duration::from_secs(60);

/// The convergence in progress, if any.
struct Convergence {
    /// Peers whose End-of-RIB is awaited.
    pending: Mutex<HashSet<IpAddr>>,
    /// Signalled when a peer is done.
    done: Notify,
}

/// A graceful restart is in progress (the OPEN's Restart State bit).
static RESTARTING: AtomicBool = AtomicBool::new(false);
/// The initial convergence is in progress.
static CONVERGING: AtomicBool = AtomicBool::new(false);
static CONVERGENCE: OnceLock<Convergence> = OnceLock::new();

/// True while this router is restarting gracefully (the OPEN's Restart State bit).
pub fn active() -> bool {
    RESTARTING.load(Ordering::Relaxed)
}

/// True while the initial convergence is in progress (with or without a graceful restart).
pub fn converging() -> bool {
    CONVERGING.load(Ordering::Relaxed)
}

/// Whether the convergence waits for the End-of-RIB of a peer whose session is up: always,
/// except during a graceful restart for a peer without graceful restart (RFC 4724 §4.1: the
/// deferral waits for the End-of-RIB of peers that restart gracefully).
pub fn awaits_end_of_rib(peer_has_graceful_restart: bool) -> bool {
    peer_has_graceful_restart || !active()
}

/// Starts the initial convergence: done when every peer of `peers` is done or `wait`
/// passes; then the engine is told ([`RibMsg::Defer`] off), which ends a graceful restart's
/// deferral and reconciles the kernel. `graceful`: this start is a graceful restart (the
/// engine already defers).
pub fn begin(
    peers: impl IntoIterator<Item = IpAddr>,
    wait: Duration,
    rib: RibHandle,
    graceful: bool,
) {
    let pending: HashSet<IpAddr> = peers.into_iter().collect();
    let c = CONVERGENCE.get_or_init(|| Convergence {
        pending: Mutex::new(HashSet::new()),
        done: Notify::new(),
    });
    *c.pending.lock().unwrap_or_else(PoisonError::into_inner) = pending;
    RESTARTING.store(graceful, Ordering::Relaxed);
    CONVERGING.store(true, Ordering::Relaxed);
    if graceful {
        info!(
            wait_for_rib = wait.as_secs(),
            "graceful restart: this router restarts; kernel routes kept, output deferred"
        );
    }
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let empty = c
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty();
            if empty {
                info!("initial convergence: End-of-RIB from every peer");
                break;
            }
            if tokio::time::timeout_at(deadline, c.done.notified())
                .await
                .is_err()
            {
                info!(
                    wait = wait.as_secs(),
                    "initial convergence: the wait for End-of-RIB is over"
                );
                break;
            }
        }
        RESTARTING.store(false, Ordering::Relaxed);
        CONVERGING.store(false, Ordering::Relaxed);
        rib.send(RibMsg::Defer(false)).await;
    });
}

/// `peer` sent End-of-RIB for every family of its session (or is not waited for, see
/// [`awaits_end_of_rib`]).
pub fn peer_done(peer: IpAddr) {
    if !converging() {
        return;
    }
    if let Some(c) = CONVERGENCE.get() {
        let removed = c
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&peer);
        if removed {
            info!(peer = %peer, "initial convergence: the peer's routes are all in");
            c.done.notify_one();
        }
    }
}
