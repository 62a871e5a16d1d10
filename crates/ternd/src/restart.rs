//! Graceful restart of this router (RFC 4724 §4.1, the restarting speaker).
//!
//! With `graceful-restart` configured, a start that finds this router's routes still in the
//! kernel (the previous run ended without a clean shutdown: a crash, `kill -9`) is a restart:
//! the kernel routes stay in place (forwarding goes on), the OPENs carry the Restart State
//! bit and the Forwarding State bit of every family, and the engine defers its output
//! ([`tern_engine::Input::Defer`]) until every peer has sent End-of-RIB for its families (a
//! peer without graceful restart counts once Established) or `graceful-restart timer
//! wait-for-rib` runs out. Then the peers get the tables and End-of-RIB, the kernel the best
//! routes, and the routes left from before that were not installed again are removed
//! ([`tern_engine::FibOp::Reconcile`]). Sessions made after that carry no Restart State bit.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::info;

use crate::rib_task::{RibHandle, RibMsg};

/// The restart in progress, if any.
struct Restart {
    /// Peers whose End-of-RIB is awaited.
    pending: Mutex<HashSet<IpAddr>>,
    /// Signalled when a peer is done.
    done: Notify,
}

static ACTIVE: AtomicBool = AtomicBool::new(false);
static RESTART: OnceLock<Restart> = OnceLock::new();

/// True while this router is restarting (the OPEN's Restart State bit).
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Starts the restart: the engine defers until every peer of `peers` is done or
/// `wait_for_rib` passes.
pub fn begin(peers: impl IntoIterator<Item = IpAddr>, wait_for_rib: Duration, rib: RibHandle) {
    let pending: HashSet<IpAddr> = peers.into_iter().collect();
    let r = RESTART.get_or_init(|| Restart {
        pending: Mutex::new(HashSet::new()),
        done: Notify::new(),
    });
    *r.pending.lock().unwrap_or_else(PoisonError::into_inner) = pending;
    ACTIVE.store(true, Ordering::Relaxed);
    info!(
        wait_for_rib = wait_for_rib.as_secs(),
        "graceful restart: this router restarts; kernel routes kept, output deferred"
    );
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + wait_for_rib;
        loop {
            let empty = r
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty();
            if empty {
                info!("graceful restart: End-of-RIB from every peer");
                break;
            }
            if tokio::time::timeout_at(deadline, r.done.notified())
                .await
                .is_err()
            {
                info!("graceful restart: wait-for-rib over");
                break;
            }
        }
        ACTIVE.store(false, Ordering::Relaxed);
        rib.send(RibMsg::Defer(false)).await;
    });
}

/// `peer` sent End-of-RIB for every family of its session (or has no graceful restart).
pub fn peer_done(peer: IpAddr) {
    if !active() {
        return;
    }
    if let Some(r) = RESTART.get() {
        let removed = r
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&peer);
        if removed {
            info!(peer = %peer, "graceful restart: the peer's routes are all in");
            r.done.notify_one();
        }
    }
}
