//! The daemon: listeners, one task per peer, the control socket (the control API of
//! [`crate::control`]) and, when asked, the metrics endpoint ([`crate::metrics`]).
//!
//! Incoming connections are matched to a configured peer by source address (unknown sources
//! are closed at once). MD5 keys are installed on the listening sockets per peer so that the
//! kernel answers only correctly signed SYNs (RFC 2385 §2).
//!
//! Descriptors: the soft `RLIMIT_NOFILE` is raised to the hard limit at start. The listeners
//! never wait on a peer: a connection its peer task has no room for is closed at once (the
//! peer task itself keeps at most [`crate::peer::MAX_PENDING`] connections that are not
//! Established). An accept that fails ([`AcceptBackoff`]), out of descriptors say, is tried
//! again after a pause, and logged at most once per [`SUMMARY`] with a count.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use tern_config::Config;
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::control::{ControlService, Shared};
use crate::manager::{AcceptMap, Peers};
use crate::ratelog::limited;
use crate::sockets;
use crate::spec::DaemonConfig;

/// At most one line per this long about a listener's failing accepts.
pub const SUMMARY: Duration = Duration::from_secs(10);

/// The longest pause after a failed accept.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// The first pause after an accept failed for want of descriptors or memory.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The pause after any other accept error.
const OTHER_PAUSE: Duration = Duration::from_millis(10);

/// What a listener does after a failed accept. Out of descriptors or buffers (`EMFILE`,
/// `ENFILE`, `ENOBUFS`, `ENOMEM`) the listening socket stays readable, and accepting again at
/// once would fail again at once, a busy loop: the next attempt waits 100 ms, doubling up to
/// 1 s while the errors last (10 ms after any other error). The first error is logged, then
/// one line per [`SUMMARY`] with the number of errors since the last line, and a line when
/// accepting works again after errors that were logged.
#[derive(Debug)]
pub struct AcceptBackoff {
    what: String,
    pause: Duration,
    /// Errors since the last success.
    run: u64,
    /// A line was written about this run of errors.
    run_logged: bool,
    /// Errors since the last line.
    unreported: u64,
    last_line: Option<Instant>,
}

impl AcceptBackoff {
    /// The backoff of the listener named `what` in the log.
    pub fn new(what: impl Into<String>) -> AcceptBackoff {
        AcceptBackoff {
            what: what.into(),
            pause: Duration::ZERO,
            run: 0,
            run_logged: false,
            unreported: 0,
            last_line: None,
        }
    }

    /// An accept succeeded.
    pub fn accepted(&mut self) {
        if self.run_logged {
            let (what, errors) = (&self.what, self.run);
            info!(errors, "{what}: accepting again");
        }
        self.run = 0;
        self.run_logged = false;
        self.pause = Duration::ZERO;
    }

    /// How long to wait after `e`; logs it (at most one line per [`SUMMARY`]).
    pub fn failed(&mut self, e: &io::Error) -> Duration {
        self.run += 1;
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last_line
            .is_none_or(|t| now.saturating_duration_since(t) >= SUMMARY)
        {
            let (what, errors) = (&self.what, self.unreported);
            warn!(
                errors,
                "{what}: accept failed: {e}; accepting again after a pause"
            );
            self.unreported = 0;
            self.last_line = Some(now);
            self.run_logged = true;
        }
        let scarce = matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        );
        if scarce {
            self.pause = (self.pause * 2).clamp(FIRST_PAUSE, MAX_PAUSE);
            self.pause
        } else {
            OTHER_PAUSE
        }
    }
}

/// Hands each connection the listener `l` accepts to its peer's task, without waiting: one
/// from an address that is no configured peer, or that its peer task has no room for, is
/// closed at once.
async fn accept_bgp(l: Arc<TcpListener>, accepts: AcceptMap) {
    let name = l.local_addr().map_or_else(
        |_| "BGP listener".to_string(),
        |a| format!("BGP listener {a}"),
    );
    let mut backoff = AcceptBackoff::new(name);
    loop {
        match l.accept().await {
            Ok((stream, from)) => {
                backoff.accepted();
                let ip = canonical(from.ip());
                let tx = accepts
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&ip)
                    .cloned();
                match tx {
                    Some(tx) => match tx.try_send(stream) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(stream)) => {
                            drop(stream);
                            limited!(
                                debug!(peer = %ip, "incoming connection refused: the peer's earlier connections are still being taken over")
                            );
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            limited!(
                                debug!(peer = %ip, "incoming connection refused: the peer is being removed")
                            );
                        }
                    },
                    None => {
                        drop(stream);
                        limited!(info!("connection from unconfigured address {ip} refused"));
                    }
                }
            }
            Err(e) => tokio::time::sleep(backoff.failed(&e)).await,
        }
    }
}

/// Accepts on the control socket for the control API's server, pausing after errors as the
/// BGP listeners do.
async fn accept_control(l: UnixListener, to: mpsc::Sender<io::Result<UnixStream>>) {
    let mut backoff = AcceptBackoff::new("control socket");
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                backoff.accepted();
                if to.send(Ok(s)).await.is_err() {
                    return;
                }
            }
            Err(e) => tokio::time::sleep(backoff.failed(&e)).await,
        }
    }
}

/// Where to listen and serve.
#[derive(Clone, Debug)]
pub struct Options {
    /// Listening addresses.
    pub listen: Vec<SocketAddr>,
    /// Control socket path.
    pub control: Option<PathBuf>,
    /// Where the commit history persists (none: history lives in memory only).
    pub state_dir: Option<PathBuf>,
    /// The startup file `save` writes.
    pub startup: Option<PathBuf>,
    /// Rollback points kept (0: VRP's default, 50).
    pub commit_points: usize,
    /// Install best routes into the kernel (next hops are resolved through it either way).
    pub install_routes: bool,
    /// At exit, leave tern's kernel routes in place for the next start to take over
    /// ([`crate::fib::Kernel::keep_routes`]), rather than removing them.
    pub keep_kernel_routes: bool,
    /// Record the engine's inputs into this file ([`crate::record`]; one engine shard then).
    pub record: Option<PathBuf>,
    /// Route engine shards (destinations split by prefix hash, one task each); 0: one per
    /// available core.
    pub shards: usize,
    /// MRT dumps and message log ([`crate::mrt`]).
    pub mrt: crate::mrt::Settings,
    /// Who may use the control socket ([`crate::access`]).
    pub access: crate::access::Access,
    /// Where to serve Prometheus metrics ([`crate::metrics`]; `None`: not served).
    pub metrics: Option<SocketAddr>,
}

fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

fn listener(addr: SocketAddr, cfg: &DaemonConfig) -> io::Result<TcpListener> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    for p in &cfg.peers {
        if let Some(pw) = &p.password
            && p.addr.is_ipv4() == addr.is_ipv4()
        {
            sockets::set_md5(&s, p.addr, &pw.0)?;
        }
    }
    // The kernel answers a SYN with the listener's TTL, before the connection is accepted and
    // given its peer's TTL: a GTSM peer (RFC 5082) drops a SYN-ACK that arrives below 255 − N.
    if cfg
        .peers
        .iter()
        .any(|p| p.min_ttl().is_some() && p.addr.is_ipv4() == addr.is_ipv4())
    {
        if addr.is_ipv4() {
            s.set_ttl_v4(255)?;
        } else {
            s.set_unicast_hops_v6(255)?;
        }
    }
    s.bind(&addr.into())?;
    s.listen(128)?;
    TcpListener::from_std(s.into())
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(model: Config, cfg: DaemonConfig, opts: Options) -> io::Result<()> {
    match sockets::raise_nofile() {
        Ok((before, after)) if after > before => {
            info!("open files limit raised from {before} to {after}");
        }
        Ok((_, limit)) => info!("open files limit {limit}"),
        Err(e) => warn!("open files limit: {e}"),
    }
    // Startup configuration, commit history, locks (crate::state).
    let _control_lock = match &opts.control {
        Some(path) => Some(crate::state::lock_control(path)?),
        None => None,
    };
    let started = crate::state::start(
        &model,
        opts.startup.as_deref(),
        opts.state_dir.as_deref(),
        opts.commit_points,
    )?;
    let mut listeners = Vec::new();
    for a in &opts.listen {
        match listener(*a, &cfg) {
            Ok(l) => {
                info!("listening on {a}");
                listeners.push(Arc::new(l));
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot listen on {a}: {e}"),
                ));
            }
        }
    }
    let shards = match opts.shards {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    };
    let shards = if opts.record.is_some() { 1 } else { shards };
    let room = Arc::new(crate::rib_task::Room::new(shards));
    let gr = cfg.peers.iter().find_map(|p| p.graceful_restart);
    let vrf_tables = u32::try_from(cfg.routing.vrfs.len()).unwrap_or(0);
    let mut kernel =
        crate::fib::Kernel::start(opts.install_routes, gr.is_some(), vrf_tables, room.clone())
            .await;
    let rib_config = crate::rib_task::rib_config_of(&cfg);
    let recorder = match &opts.record {
        None => None,
        Some(path) => {
            let r = crate::record::Recorder::create(
                path,
                rib_config.local_as.0,
                rib_config.router_id,
                rib_config.cluster_id,
                kernel.tracker.is_some(),
            )?;
            info!(path = %path.display(), "recording the route engine's inputs");
            Some(r)
        }
    };
    let rib = crate::rib_task::spawn(
        rib_config,
        std::sync::Arc::new(cfg.routing.clone()),
        kernel
            .tracker
            .clone()
            .map(|t| t as Arc<dyn tern_engine::Watcher>),
        kernel.fib.clone(),
        kernel.room.clone(),
        recorder,
        shards,
    );
    info!(shards = rib.shards(), "route engine running");
    if kernel.fib.is_some() {
        // The initial convergence, after which the kernel routes of a previous run that were
        // not installed again go; a graceful restart defers all output until then.
        let graceful = kernel.restarting && gr.is_some();
        if graceful {
            rib.send(crate::rib_task::RibMsg::Defer(true)).await;
        }
        let wait = gr.map_or(crate::restart::CONVERGENCE_WAIT, |g| {
            std::time::Duration::from_secs(u64::from(g.wait_for_rib))
        });
        crate::restart::begin(
            cfg.peers.iter().filter(|p| !p.ignore).map(|p| p.addr),
            wait,
            rib.clone(),
            graceful,
        );
    }
    kernel.watch(rib.clone()).await;
    crate::bmp::attach(rib.clone());
    crate::bmp::configure(&cfg.bmp, &cfg.sysname, crate::bmp::local_of(&cfg));
    crate::mrt::start(
        opts.mrt.clone(),
        rib.clone(),
        cfg.router_id.unwrap_or(Ipv4Addr::UNSPECIFIED),
    )?;
    let peers = Peers::start(&cfg, rib.clone());
    let shared = Arc::new(Shared {
        cfg: std::sync::RwLock::new(cfg.clone()),
        running: std::sync::Mutex::new(started.running),
        origin: started.origin,
        startup: opts.startup.clone(),
        peers: peers.index(),
        manager: tokio::sync::Mutex::new(peers),
        listeners: listeners.clone(),
        rib,
        resolver: kernel.resolver.clone(),
        access: opts.access.clone(),
    });
    if let Some(addr) = opts.metrics {
        crate::metrics::start(addr, shared.clone()).await?;
    }
    // BMP Adj-RIB-Out: a collector's peers send their routes again (`refresh bgp X export`).
    if let Some(mut asks) = crate::bmp::refresh_requests() {
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            while let Some(addr) = asks.recv().await {
                let Some(shared) = weak.upgrade() else { break };
                shared
                    .manager
                    .lock()
                    .await
                    .command(addr, crate::peer::PeerCmd::Refresh { export: true })
                    .await;
            }
        });
    }
    let accepts = shared.manager.lock().await.accepts();
    for l in &listeners {
        tokio::spawn(accept_bgp(l.clone(), accepts.clone()));
    }
    let (stop_control, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = None;
    if let Some(path) = &opts.control {
        // A socket left by a daemon that ended without removing it (this one holds the lock).
        let _ = std::fs::remove_file(path);
        let ul = UnixListener::bind(path)?;
        opts.access.prepare_socket(path).map_err(|e| {
            io::Error::new(e.kind(), format!("control socket {}: {e}", path.display()))
        })?;
        info!("control socket {}", path.display());
        let svc = ControlService::new(shared.clone());
        let (conn_tx, conn_rx) = mpsc::channel(16);
        let acceptor = tokio::spawn(accept_control(ul, conn_tx));
        server = Some(tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            let incoming = tokio_stream::wrappers::ReceiverStream::new(conn_rx);
            if let Err(e) = tern_api::serve_incoming(incoming, svc, stop).await {
                warn!("control socket: {e}");
            }
            acceptor.abort();
        }));
    }
    shutdown_signal().await;
    info!("shutting down");
    if opts.keep_kernel_routes {
        // Before the sessions end: their withdrawals must not reach the kernel.
        kernel.keep_routes();
    }
    let _ = stop_control.send(());
    if let Some(server) = server {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), server).await;
    }
    shared.manager.lock().await.shutdown().await;
    // Collectors hear the Peer Downs, then a Termination.
    crate::bmp::configure(&crate::bmp::BmpSpec::default(), &shared.cfg().sysname, None);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let vrf_tables = u32::try_from(shared.cfg().routing.vrfs.len()).unwrap_or(0);
    kernel.shutdown(vrf_tables).await;
    if let Some(path) = &opts.control {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_pauses_double_up_to_a_second_and_reset_on_success() {
        let mut b = AcceptBackoff::new("test");
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        let pauses: Vec<u128> = (0..6).map(|_| b.failed(&emfile).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            b.failed(&io::Error::from_raw_os_error(libc::ECONNABORTED)),
            OTHER_PAUSE
        );
        b.accepted();
        assert_eq!(b.failed(&emfile), FIRST_PAUSE);
    }
}
