//! One task per configured peer, and one per TCP connection to it.
//!
//! The peer task attempts outgoing connections (source address, TTL, MD5 and GTSM set before
//! the SYN), takes over incoming ones from the listener, resolves connection collisions
//! (RFC 4271 §6.8) and restarts the session after a failure. Each connection task runs one
//! [`tern_fsm::Session`] over its socket: framing and decoding happen there, so a bad message
//! only ever closes its own connection. A connection whose session is Established feeds the
//! RIB task ([`crate::rib_task`]): PeerUp, every UPDATE that does not reset the session, and
//! PeerDown when the session ends.
//!
//! Resources a remote party could tie up:
//! - a peer task keeps at most [`MAX_PENDING`] connections that are not Established (one of
//!   ours and one of the peer's for a collision, RFC 4271 §6.8); one more is closed at once;
//! - a connection's writer that makes no progress for the send hold time (the hold time; a
//!   peer that takes nothing for that long has not read a KEEPALIVE either) ends the session
//!   with NOTIFICATION Send Hold Timer Expired (RFC 9687);
//! - however a session ends, its writer gets [`CLOSE_GRACE`] to send the NOTIFICATION and
//!   the peer to take what was sent; then the writer is aborted and a socket still holding
//!   unsent data is reset (`SO_LINGER` 0), so that no connection stays open with data queued;
//! - what a peer's messages and connections make the daemon log goes through
//!   [`crate::ratelog`].

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use socket2::{Domain, Socket, Type};
use tern_fsm::{DownReason, Input, LogEvent, Output, PeerConfig, Session, State, Timer};
use tern_types::Family;
use tern_wire::message::{MAX_EXTENDED_LEN, MAX_LEN};
use tern_wire::route_refresh::RefreshSubtype;
use tern_wire::{Action, Notification, Update};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::limit::{Hold, LimitCheck, Limits, limit_views};
use crate::ratelog::{RateLog, limited};
use crate::rib_task::{self, RibHandle, RibMsg};
use crate::sockets;
use crate::spec::PeerSpec;
use crate::status::{LogLine, MsgCounts, NegotiatedView, PeerStatus, lock};
use tern_rib::Digest;

/// Commands to a peer task.
#[derive(Debug)]
pub enum PeerCmd {
    /// Stop the peer for good (deconfigured or daemon exit).
    Shutdown,
    /// Stop the peer for good, closing its sessions with this Cease subcode.
    Stop(u8),
    /// New settings that apply without a reset (description, GTSM hop count and
    /// ConnectRetry for the next connection).
    Update(Box<PeerSpec>),
    /// `reset bgp`: close the session with Cease / Administrative Reset (RFC 4486), then
    /// connect again; `graceful`: close the connection without a NOTIFICATION, so that a
    /// peer helping with graceful restart keeps our routes (RFC 4724 §4.2), when the
    /// session negotiated it (else as plain).
    Reset {
        /// `reset bgp X graceful`.
        graceful: bool,
    },
    /// `refresh bgp … export` (the peer's routes sent again) or `import` (a ROUTE-REFRESH
    /// asked of the peer), for every family of the Established session.
    Refresh {
        /// `export` (else `import`).
        export: bool,
    },
}

/// What a connection task is told.
#[derive(Debug, Clone, Copy)]
enum ConnCmd {
    /// Close with Cease and this subcode.
    Close(u8),
    /// Close the connection without a NOTIFICATION when the peer helps with graceful restart
    /// (`reset bgp X graceful`), else as `Close(ADMIN_RESET)`.
    Drop,
    /// See [`PeerCmd::Refresh`].
    Refresh { export: bool },
}

/// The handle the daemon keeps for each peer.
pub struct PeerHandle {
    /// The peer's configuration.
    pub spec: PeerSpec,
    /// Incoming connections from the listener.
    pub accept: mpsc::Sender<TcpStream>,
    /// Commands.
    pub cmd: mpsc::Sender<PeerCmd>,
    /// Current status.
    pub status: Arc<Mutex<PeerStatus>>,
    /// The peer task.
    pub task: JoinHandle<()>,
}

fn family_names(f: &[Family]) -> Vec<String> {
    f.iter().map(|f| f.to_string()).collect()
}

/// Messages a connection's writer queue holds (the RIB task keeps the rest, see
/// [`tern_engine::adjout`]).
const WRITER_QUEUE: usize = 256;

/// Octets the writer gathers from its queue into one write.
const WRITE_CHUNK: usize = 64 * 1024;

/// Connections to one peer that are not Established (OpenSent, OpenConfirm) kept at once:
/// ours and the peer's, for collision resolution (RFC 4271 §6.8). A connection from the peer
/// beyond them is closed at once.
pub const MAX_PENDING: usize = 2;

/// How long a session's end waits for its writer to send the NOTIFICATION and for the peer to
/// take what was sent, before the writer is aborted and the socket reset.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The send hold time in seconds for a hold time of `hold` (0: no KEEPALIVEs, then RFC 4271's
/// suggested hold time before an OPEN, four minutes).
fn send_hold_secs(hold: u16) -> u64 {
    if hold == 0 { 240 } else { u64::from(hold) }
}

/// Starts the task for `spec`; its sessions feed `rib`.
pub fn spawn(spec: PeerSpec, rib: RibHandle) -> PeerHandle {
    let (accept_tx, accept_rx) = mpsc::channel(4);
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let status = Arc::new(Mutex::new(PeerStatus {
        addr: spec.addr,
        remote_as: spec.remote_as,
        ebgp: spec.is_ebgp(),
        state: "Idle".into(),
        since: None,
        reason: None,
        last_error: None,
        negotiated: None,
        configured_families: family_names(&spec.families),
        vrf: spec.vrf.clone(),
        received: MsgCounts::default(),
        sent: MsgCounts::default(),
        prefixes: BTreeMap::new(),
        up_count: 0,
        log: Vec::new(),
        local: None,
        remote: None,
        md5: spec.password.is_some(),
        configured_hold: spec.hold_time,
        configured_keepalive: spec.keepalive,
        configured_connect_retry: spec.connect_retry,
        route_limits: limit_views(&spec),
        last_update: None,
    }));
    let task = tokio::spawn(run_peer(
        spec.clone(),
        accept_rx,
        cmd_rx,
        status.clone(),
        rib,
    ));
    PeerHandle {
        spec,
        accept: accept_tx,
        cmd: cmd_tx,
        status,
        task,
    }
}

fn fsm_config(spec: &PeerSpec) -> PeerConfig {
    let mut c = PeerConfig::new(spec.open_as(), spec.router_id, spec.remote_as);
    c.hold_time = spec.hold_time;
    c.keepalive = spec.keepalive;
    c.connect_retry = spec.connect_retry;
    c.families = spec.families.clone();
    c.add_path = spec.add_path_offer();
    c.graceful_restart = spec.graceful_restart.map(|g| tern_fsm::GrOffer {
        restart_time: g.restart_time,
        restarting: crate::restart::active(),
    });
    c
}

/// Events from connection tasks to their peer task.
#[derive(Debug)]
enum ConnEvent {
    /// The peer's OPEN was accepted (OpenConfirm): its identifier is known.
    OpenConfirm {
        id: u64,
        peer_id: std::net::Ipv4Addr,
    },
    /// Established.
    Up { id: u64 },
    /// The connection ended; with `restarting`, the peer's routes of these families are kept
    /// stale for this many seconds (RFC 4724 §4.2); with `hold`, a route limit closed it.
    Gone {
        id: u64,
        restarting: Option<(Vec<Family>, u16)>,
        hold: Option<Hold>,
    },
}

/// A restarting peer's families whose routes are stale, set by the peer task when a session
/// ends in a restart and taken by the next session once Established.
type StaleFamilies = Arc<Mutex<Vec<Family>>>;

fn stale_lock(s: &Mutex<Vec<Family>>) -> std::sync::MutexGuard<'_, Vec<Family>> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Conn {
    id: u64,
    incoming: bool,
    close: mpsc::Sender<ConnCmd>,
    state: State,
}

/// Creates the socket for an outgoing connection with every option set before the SYN.
fn outgoing_socket(spec: &PeerSpec) -> io::Result<Socket> {
    let domain = if spec.addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, None)?;
    s.set_nonblocking(true)?;
    s.set_tcp_nodelay(true)?;
    apply_ttl(&socket2::SockRef::from(&s), spec)?;
    if let Some(pw) = &spec.password {
        sockets::set_md5(&s, spec.addr, &pw.0)?;
    }
    if let Some(src) = &spec.source {
        s.bind(&SocketAddr::new(src.addr, 0).into()).map_err(|e| {
            if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!(
                        "source address {} ({}) is not configured on this host",
                        src.addr, src.name
                    ),
                )
            } else {
                e
            }
        })?;
    }
    Ok(s)
}

/// TTL / hop limit of what we send, and GTSM's minimum on what we receive.
pub fn apply_ttl(s: &socket2::SockRef<'_>, spec: &PeerSpec) -> io::Result<()> {
    let ttl = u32::from(spec.ttl());
    if spec.addr.is_ipv4() {
        s.set_ttl_v4(ttl)?;
    } else {
        s.set_unicast_hops_v6(ttl)?;
    }
    if let Some(min) = spec.min_ttl() {
        sockets::set_min_ttl(&**s, spec.addr.is_ipv6(), min)?;
    }
    Ok(())
}

async fn connect(spec: PeerSpec) -> io::Result<TcpStream> {
    let s = outgoing_socket(&spec)?;
    let dest: SocketAddr = SocketAddr::new(spec.addr, spec.port);
    let sock = tokio::net::TcpSocket::from_std_stream(s.into());
    let timeout = Duration::from_secs(u64::from(spec.connect_retry.max(1)));
    match tokio::time::timeout(timeout, sock.connect(dest)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connection attempt timed out",
        )),
    }
}

async fn run_peer(
    mut spec: PeerSpec,
    mut accept_rx: mpsc::Receiver<TcpStream>,
    mut cmd_rx: mpsc::Receiver<PeerCmd>,
    status: Arc<Mutex<PeerStatus>>,
    rib: RibHandle,
) {
    let (ev_tx, mut ev_rx) = mpsc::channel::<ConnEvent>(16);
    // The peer's lines about its connections (a remote party opens them at will).
    let conn_log: Arc<RateLog> = Arc::default();
    let mut conns: Vec<Conn> = Vec::new();
    let mut next_id = 0u64;
    let mut connecting: Option<JoinHandle<io::Result<TcpStream>>> = None;
    let mut retry_at: Option<Instant> = Some(Instant::now());
    // Seconds before the next attempt while the peer's address has no route: no packet can
    // leave, so trying again soon costs nothing and the session comes up as soon as a route
    // (an IGP, a labeled BGP route) appears, rather than a whole ConnectRetry later.
    let mut no_route_backoff: u64 = 0;
    // A restarting peer (RFC 4724 §4.2): the families whose routes are kept stale, and when
    // they go if no session comes back first (the peer's restart time).
    let gr_stale: StaleFamilies = Arc::default();
    let mut gr_deadline: Option<Instant> = None;
    // Held down by a route limit: until then (`Some(None)`: until `reset bgp`).
    let mut held: Option<Option<Instant>> = None;
    let blocked = if spec.ignore {
        Some(format!("peer {} ignore is configured", spec.addr))
    } else {
        spec.blocked()
    };
    {
        let mut st = lock(&status);
        st.reason = blocked.clone();
        st.state = if blocked.is_some() {
            "Idle".into()
        } else {
            "Connect".into()
        };
    }
    loop {
        let no_session = conns.is_empty() && connecting.is_none();
        let wait = retry_at.filter(|_| no_session && blocked.is_none());
        tokio::select! {
            _ = async { tokio::time::sleep_until(wait.unwrap_or_else(Instant::now)).await }, if wait.is_some() => {
                retry_at = None;
                if held.take().is_some() {
                    lock(&status).reason = None;
                }
                lock(&status).state = "Connect".into();
                connecting = Some(tokio::spawn(connect(spec.clone())));
            }
            res = async { match connecting.as_mut() { Some(h) => h.await, None => std::future::pending().await } }, if connecting.is_some() => {
                connecting = None;
                match res {
                    Ok(Ok(stream)) => {
                        no_route_backoff = 0;
                        next_id += 1;
                        conns.push(start_conn(next_id, stream, false, &spec, &ev_tx, &status, &rib, &gr_stale, &conn_log));
                    }
                    Ok(Err(e)) => {
                        debug!(peer = %spec.addr, "connect failed: {e}");
                        let mut st = lock(&status);
                        st.last_error = Some(format!("connect: {e}"));
                        if e.kind() == io::ErrorKind::AddrNotAvailable {
                            st.reason = Some(e.to_string());
                        }
                        if conns.is_empty() {
                            st.state = "Active".into();
                        }
                        drop(st);
                        let retry = u64::from(spec.connect_retry.max(1));
                        let delay = if matches!(
                            e.kind(),
                            io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable
                        ) {
                            no_route_backoff = (no_route_backoff * 2).clamp(1, retry);
                            no_route_backoff
                        } else {
                            retry
                        };
                        retry_at = Some(Instant::now() + Duration::from_secs(delay));
                    }
                    Err(e) => warn!(peer = %spec.addr, "connect task: {e}"),
                }
            }
            Some(stream) = accept_rx.recv() => {
                if held.is_some_and(|h| h.is_none_or(|t| Instant::now() < t)) {
                    limited!(&conn_log => debug!(peer = %spec.addr, "incoming connection refused: held down by a route limit"));
                    drop(stream);
                    continue;
                }
                if blocked.is_some() || conns.iter().any(|c| c.state == State::Established) {
                    limited!(&conn_log => debug!(peer = %spec.addr, "incoming connection refused"));
                    drop(stream);
                    continue;
                }
                let pending = conns.iter().filter(|c| c.state != State::Established).count();
                if pending >= MAX_PENDING {
                    limited!(&conn_log => info!(peer = %spec.addr, pending, "incoming connection refused: connections to the peer already wait for their sessions"));
                    drop(stream);
                    continue;
                }
                if let Some(h) = connecting.take() {
                    h.abort();
                }
                next_id += 1;
                conns.push(start_conn(next_id, stream, true, &spec, &ev_tx, &status, &rib, &gr_stale, &conn_log));
            }
            Some(ev) = ev_rx.recv() => match ev {
                ConnEvent::OpenConfirm { id, peer_id } => {
                    if let Some(c) = conns.iter_mut().find(|c| c.id == id) {
                        c.state = State::OpenConfirm;
                    }
                    resolve_collision(&mut conns, id, peer_id, &spec, &conn_log).await;
                }
                ConnEvent::Up { id } => {
                    // The new session takes the stale routes over (End-of-RIB or its timer).
                    gr_deadline = None;
                    for c in &mut conns {
                        if c.id == id {
                            c.state = State::Established;
                        } else {
                            let _ = c.close.send(ConnCmd::Close(tern_fsm::COLLISION_CEASE)).await;
                        }
                    }
                }
                ConnEvent::Gone { id, restarting, hold } => {
                    if let Some((families, secs)) = restarting {
                        info!(peer = %spec.addr, ?families, restart_time = secs, "peer restarting: its routes are kept stale");
                        *stale_lock(&gr_stale) = families;
                        gr_deadline = Some(Instant::now() + Duration::from_secs(u64::from(secs)));
                    }
                    conns.retain(|c| c.id != id);
                    if conns.is_empty() {
                        let mut st = lock(&status);
                        st.state = "Active".into();
                        st.local = None;
                        st.remote = None;
                        retry_at = Some(Instant::now() + Duration::from_secs(5));
                        match hold {
                            Some(Hold::Forever) => {
                                held = Some(None);
                                retry_at = None;
                                st.state = "Idle".into();
                                st.reason = Some("route limit exceeded (idle-forever): reset bgp connects again".into());
                            }
                            Some(Hold::For(d)) => {
                                let until = Instant::now() + d;
                                held = Some(Some(until));
                                retry_at = Some(until);
                                st.state = "Idle".into();
                                st.reason = Some(format!("route limit exceeded: connects again in {} s", d.as_secs()));
                            }
                            None => {}
                        }
                    }
                }
            },
            _ = async { tokio::time::sleep_until(gr_deadline.unwrap_or_else(Instant::now)).await }, if gr_deadline.is_some() => {
                gr_deadline = None;
                let families = std::mem::take(&mut *stale_lock(&gr_stale));
                for family in families {
                    info!(peer = %spec.addr, %family, "restart time over: the peer's stale routes are purged");
                    rib.send(RibMsg::PurgeStale { peer: spec.addr, family }).await;
                }
            }
            cmd = cmd_rx.recv() => {
                let sub = match cmd {
                    Some(PeerCmd::Update(new)) => {
                        // A shorter ConnectRetry brings the pending attempt forward (a route
                        // limit's hold-down keeps its own time).
                        let sooner = Instant::now()
                            + Duration::from_secs(u64::from(new.connect_retry.max(1)));
                        if held.is_none() && retry_at.is_some_and(|t| t > sooner) {
                            retry_at = Some(sooner);
                        }
                        spec = *new;
                        let mut st = lock(&status);
                        st.route_limits = limit_views(&spec);
                        st.configured_connect_retry = spec.connect_retry;
                        drop(st);
                        continue;
                    }
                    Some(PeerCmd::Reset { graceful }) => {
                        info!(peer = %spec.addr, graceful, "session reset by the operator");
                        if held.take().is_some() {
                            lock(&status).reason = None;
                        }
                        let cmd = if graceful {
                            ConnCmd::Drop
                        } else {
                            ConnCmd::Close(tern_wire::notification::cease_sub::ADMIN_RESET)
                        };
                        for c in &conns {
                            let _ = c.close.send(cmd).await;
                        }
                        if conns.is_empty() {
                            // Not up: try now rather than at the next retry.
                            retry_at = Some(Instant::now());
                        }
                        continue;
                    }
                    Some(PeerCmd::Refresh { export }) => {
                        for c in conns.iter().filter(|c| c.state == State::Established) {
                            let _ = c.close.send(ConnCmd::Refresh { export }).await;
                        }
                        continue;
                    }
                    Some(PeerCmd::Stop(sub)) => sub,
                    Some(PeerCmd::Shutdown) | None => tern_wire::notification::cease_sub::PEER_DECONFIGURED,
                };
                for c in &conns {
                    let _ = c.close.send(ConnCmd::Close(sub)).await;
                }
                if let Some(h) = connecting.take() {
                    h.abort();
                }
                // Let the connections send their NOTIFICATION and close before the peer is
                // gone (a restarted peer must not race its own old session).
                let deadline = Instant::now() + Duration::from_secs(3);
                while !conns.is_empty() {
                    match tokio::time::timeout_at(deadline, ev_rx.recv()).await {
                        Ok(Some(ConnEvent::Gone { id, .. })) => conns.retain(|c| c.id != id),
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    }
                }
                return;
            }
        }
    }
}

/// RFC 4271 §6.8: of two connections to the peer, keep the one initiated by the side with the
/// higher BGP identifier; close the other with Cease / Connection Collision Resolution.
async fn resolve_collision(
    conns: &mut [Conn],
    id: u64,
    peer_id: std::net::Ipv4Addr,
    spec: &PeerSpec,
    conn_log: &RateLog,
) {
    let Some(this) = conns.iter().find(|c| c.id == id).map(|c| c.incoming) else {
        return;
    };
    if let Some(other) = conns.iter().find(|c| c.id != id) {
        let keep_this = other.state != State::Established
            && tern_fsm::collision_keeps_new(spec.router_id, peer_id, this);
        let loser = if keep_this { other.id } else { id };
        limited!(conn_log => info!(peer = %spec.addr, "connection collision: closing connection {loser}"));
        if let Some(c) = conns.iter().find(|c| c.id == loser) {
            let _ = c
                .close
                .send(ConnCmd::Close(tern_fsm::COLLISION_CEASE))
                .await;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn start_conn(
    id: u64,
    stream: TcpStream,
    incoming: bool,
    spec: &PeerSpec,
    ev_tx: &mpsc::Sender<ConnEvent>,
    status: &Arc<Mutex<PeerStatus>>,
    rib: &RibHandle,
    stale: &StaleFamilies,
    conn_log: &Arc<RateLog>,
) -> Conn {
    let (close_tx, close_rx) = mpsc::channel(2);
    let rib = rib.clone();
    let spec = spec.clone();
    let ev = ev_tx.clone();
    let st = status.clone();
    let stale = stale.clone();
    let conn_log = conn_log.clone();
    tokio::spawn(async move {
        let (restarting, hold) = run_conn(
            id,
            stream,
            incoming,
            spec,
            ev.clone(),
            close_rx,
            st,
            rib,
            stale,
            &conn_log,
        )
        .await;
        let _ = ev
            .send(ConnEvent::Gone {
                id,
                restarting,
                hold,
            })
            .await;
    });
    Conn {
        id,
        incoming,
        close: close_tx,
        state: State::OpenSent,
    }
}

/// What a connection's writer is handed besides its socket.
struct WriterPorts {
    /// The connection task's own messages (OPEN, KEEPALIVE, ROUTE-REFRESH, NOTIFICATION), sent
    /// ahead of the RIB's; the session is over when this closes.
    own: mpsc::UnboundedReceiver<Bytes>,
    /// The RIB's UPDATEs.
    rib: mpsc::Receiver<Bytes>,
    /// The send hold time, seconds.
    send_hold: Arc<AtomicU64>,
    /// Told once when a write has made no progress for the send hold time.
    stalled: oneshot::Sender<()>,
    room: Arc<rib_task::Room>,
    /// What the writer sends, for BMP's Adj-RIB-Out (set once the session is Established).
    out_tap: Arc<std::sync::OnceLock<crate::bmp::OutTap>>,
    status: Arc<Mutex<PeerStatus>>,
}

/// A connection's writer: the connection task's own messages first, then the RIB's, gathered
/// into writes of up to [`WRITE_CHUNK`] octets; nothing after a NOTIFICATION. True when all
/// was written and the write side shut down.
async fn write_loop(mut wr: OwnedWriteHalf, mut p: WriterPorts) -> bool {
    let mut stalled = Some(p.stalled);
    let mut chunk: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    let mut kinds: Vec<u8> = Vec::new();
    let mut rib_open = true;
    loop {
        let first = tokio::select! {
            biased;
            m = p.own.recv() => match m {
                Some(b) => b,
                None => break,
            },
            m = p.rib.recv(), if rib_open => match m {
                Some(b) => b,
                None => {
                    rib_open = false;
                    continue;
                }
            },
        };
        let mut next = Some(first);
        let mut last = false;
        while let Some(b) = next.take() {
            // A queue entry holds one message or several back to back (the RIB task's
            // UPDATEs of one step).
            let before = kinds.len();
            kinds.extend(tern_wire::message::frames(&b).filter_map(|f| f.ok().map(|f| f.kind)));
            chunk.extend_from_slice(&b);
            // Nothing follows a NOTIFICATION (RFC 4271 §6): the RIB task may still have
            // UPDATEs queued for a session that has just ended.
            if kinds[before..].contains(&tern_wire::message::msg_type::NOTIFICATION) {
                last = true;
                break;
            }
            if chunk.len() < WRITE_CHUNK {
                next = p
                    .own
                    .try_recv()
                    .ok()
                    .or_else(|| rib_open.then(|| p.rib.try_recv().ok()).flatten());
            }
        }
        // The RIB tasks waiting for room in this queue look again.
        p.room.taken();
        if write_watched(&mut wr, &chunk, &p.send_hold, &mut stalled)
            .await
            .is_err()
        {
            return false;
        }
        if let Some(t) = p.out_tap.get() {
            t.sent(&chunk);
        }
        chunk.clear();
        {
            let mut st = lock(&p.status);
            for k in kinds.drain(..) {
                st.sent.count(k);
            }
        }
        if last {
            break;
        }
    }
    wr.shutdown().await.is_ok()
}

/// Writes all of `buf`; when a write makes no progress for the send hold time, `stalled` is
/// told (once), and the writing goes on until the connection task ends the session.
async fn write_watched(
    wr: &mut OwnedWriteHalf,
    buf: &[u8],
    send_hold: &AtomicU64,
    stalled: &mut Option<oneshot::Sender<()>>,
) -> io::Result<()> {
    let mut done = 0;
    while let Some(rest) = buf.get(done..).filter(|r| !r.is_empty()) {
        let limit = Duration::from_secs(send_hold.load(Ordering::Relaxed));
        match tokio::time::timeout(limit, wr.write(rest)).await {
            Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => done += n,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                if let Some(s) = stalled.take() {
                    let _ = s.send(());
                }
            }
        }
    }
    Ok(())
}

/// Ends a connection: the writer has until [`CLOSE_GRACE`] to send what the session ended
/// with and the peer to take it; then the writer is aborted, and a socket with data the peer
/// has not taken is reset (`SO_LINGER` 0) rather than left to the kernel to deliver.
async fn close_conn(rd: OwnedReadHalf, mut writer: JoinHandle<bool>) {
    let deadline = Instant::now() + CLOSE_GRACE;
    let mut clean = match tokio::time::timeout_at(deadline, &mut writer).await {
        Ok(r) => r.unwrap_or(false),
        Err(_) => {
            writer.abort();
            let _ = writer.await;
            false
        }
    };
    while clean {
        match sockets::unsent(rd.as_ref()) {
            Ok(0) => break,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ => clean = false,
        }
    }
    if !clean {
        let _ = socket2::SockRef::from(rd.as_ref()).set_linger(Some(Duration::ZERO));
    }
    drop(rd);
}

#[allow(clippy::too_many_arguments)]
async fn run_conn(
    id: u64,
    stream: TcpStream,
    incoming: bool,
    spec: PeerSpec,
    ev: mpsc::Sender<ConnEvent>,
    mut close_rx: mpsc::Receiver<ConnCmd>,
    status: Arc<Mutex<PeerStatus>>,
    rib: RibHandle,
    stale: StaleFamilies,
    conn_log: &RateLog,
) -> (Option<(Vec<Family>, u16)>, Option<Hold>) {
    if incoming {
        let sock = socket2::SockRef::from(&stream);
        if let Err(e) = apply_ttl(&sock, &spec) {
            limited!(conn_log => warn!(peer = %spec.addr, "setting TTL on incoming connection: {e}"));
        }
        let _ = stream.set_nodelay(true);
    }
    let local = stream.local_addr().ok();
    let remote = stream.peer_addr().ok();
    limited!(conn_log => info!(peer = %spec.addr, ?local, ?remote, incoming, "connection {id} up"));
    // The MRT message log (`--mrt-updates`): received messages and state changes.
    let mut mrt = crate::mrt::Tap::new(&spec, local);
    let (mut rd, wr) = stream.into_split();
    // The RIB's queue (`tx` is handed to it once Established) and the connection's own.
    let (tx, wrx) = mpsc::channel::<Bytes>(WRITER_QUEUE);
    let (own, own_rx) = mpsc::unbounded_channel::<Bytes>();
    let send_hold = Arc::new(AtomicU64::new(send_hold_secs(spec.hold_time)));
    // The writer's word: a stall (Ok) or its end (Err); heard once.
    let (stalled_tx, mut stalled) = oneshot::channel::<()>();
    let mut stall_heard = false;
    // What the writer sends, for BMP's Adj-RIB-Out (set once the session is Established).
    let out_tap: Arc<std::sync::OnceLock<crate::bmp::OutTap>> = Arc::default();
    let writer = tokio::spawn(write_loop(
        wr,
        WriterPorts {
            own: own_rx,
            rib: wrx,
            send_hold: send_hold.clone(),
            stalled: stalled_tx,
            room: rib.room(),
            out_tap: out_tap.clone(),
            status: status.clone(),
        },
    ));

    let mut fsm = Session::new(fsm_config(&spec));
    let mut timers: [Option<Instant>; 4] = [None; 4];
    let mut buf: Vec<u8> = Vec::with_capacity(65536);
    let mut max_len = MAX_LEN;
    let mut outs = fsm.handle(SystemTime::now(), Input::Start);
    outs.extend(fsm.handle(SystemTime::now(), Input::Connected));
    let mut closing = false;
    let mut confirmed = false;
    // The session number while the RIB holds this connection's session as up.
    let mut rib_session: Option<u64> = None;
    // The peer's graceful restart capability, once Established (RFC 4724).
    let mut peer_gr: Option<tern_fsm::PeerGr> = None;
    // Set when the session ends in a restart the RIB helps with.
    let mut restarting: Option<(Vec<Family>, u16)> = None;
    // A restarted peer's families whose stale routes wait for its End-of-RIB, until then.
    let mut awaiting_eor: Vec<Family> = Vec::new();
    // While this router restarts: the families whose End-of-RIB from the peer is awaited.
    let mut restart_eor: Vec<Family> = Vec::new();
    let mut stale_until: Option<Instant> = None;
    // RFC 4684 §6: when the wait for the peer's End-of-RIB of the route target constraint
    // family ends (VRP's `timer wait-for-eor`): its VPN routes go out by its membership so far.
    let mut rtc_wait_until: Option<Instant> = None;
    // `peer X route-limit`: checked after every read and every second.
    let mut limits = Limits::default();
    let mut hold: Option<Hold> = None;
    let mut limit_tick = tokio::time::interval(Duration::from_secs(1));
    limit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // BMP (crate::bmp): both OPENs for the Peer Up, and the monitored session once up.
    let mut bmp_opens: (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    let mut bmp_peer: Option<crate::bmp::BmpPeer> = None;
    'run: loop {
        for o in outs.drain(..) {
            match o {
                Output::Send(b) => {
                    if b.get(18) == Some(&tern_wire::message::msg_type::OPEN) {
                        bmp_opens.0.clone_from(&b);
                    }
                    if own.send(Bytes::from(b)).is_err() {
                        closing = true;
                    }
                }
                Output::Close => closing = true,
                Output::Arm(t, d) => timers[timer_idx(t)] = Some(Instant::now() + d),
                Output::Cancel(t) => timers[timer_idx(t)] = None,
                Output::Connect => {}
                Output::Up(n) => {
                    send_hold.store(send_hold_secs(n.hold_time), Ordering::Relaxed);
                    max_len = if n.extended_message {
                        MAX_EXTENDED_LEN
                    } else {
                        MAX_LEN
                    };
                    {
                        let mut st = lock(&status);
                        st.state = "Established".into();
                        st.since = Some(SystemTime::now());
                        st.up_count += 1;
                        st.local = local;
                        st.remote = remote;
                        st.reason = None;
                        st.negotiated = Some(NegotiatedView {
                            peer_id: Some(n.peer_id),
                            hold_time: n.hold_time,
                            keepalive: n.keepalive,
                            peer_hold_time: n.peer_open.hold_time,
                            families: family_names(&n.families),
                            not_negotiated: family_names(&n.not_negotiated),
                            four_octet_as: n.four_octet_as,
                            route_refresh: n.route_refresh,
                            enhanced_route_refresh: n.enhanced_route_refresh,
                            extended_message: n.extended_message,
                            add_path_send: family_names(
                                &n.families
                                    .iter()
                                    .copied()
                                    .filter(|f| n.add_path_tx.contains(*f))
                                    .collect::<Vec<_>>(),
                            ),
                            add_path_receive: family_names(
                                &n.families
                                    .iter()
                                    .copied()
                                    .filter(|f| n.add_path_rx.contains(*f))
                                    .collect::<Vec<_>>(),
                            ),
                            graceful_restart: n.graceful_restart.as_ref().map(|g| {
                                crate::status::GrView {
                                    restart_time: g.restart_time,
                                    restarted: g.restarted,
                                    families: g
                                        .families
                                        .iter()
                                        .map(|(f, fwd)| (f.to_string(), *fwd))
                                        .collect(),
                                }
                            }),
                        });
                    }
                    // The RIB task sends the initial table, then End-of-RIB per family.
                    limited!(conn_log => info!(peer = %spec.addr, families = ?n.families, "session established"));
                    let _ = ev.send(ConnEvent::Up { id }).await;
                }
                Output::Down(r) => {
                    if let Some(b) = bmp_peer.take() {
                        b.down(&r);
                    }
                    // RFC 4724 §4.2: the transport failed (or the hold timer expired) with a
                    // peer that can restart gracefully: its routes stay, stale.
                    let lost = match &r {
                        DownReason::TransportClosed => true,
                        DownReason::Sent(n) => {
                            n.code == tern_wire::notification::code::HOLD_TIMER_EXPIRED
                        }
                        _ => false,
                    };
                    let gr = peer_gr.take().filter(|g| lost && !g.families.is_empty());
                    if let Some(session) = rib_session.take() {
                        match gr {
                            Some(g) => {
                                let families: Vec<Family> =
                                    g.families.iter().map(|(f, _)| *f).collect();
                                rib.send(RibMsg::PeerRestarting {
                                    peer: spec.addr,
                                    session,
                                    families: families.clone(),
                                })
                                .await;
                                restarting = Some((families, g.restart_time));
                            }
                            None => {
                                rib.send(RibMsg::PeerDown {
                                    peer: spec.addr,
                                    session,
                                })
                                .await;
                            }
                        }
                    }
                    let mut st = lock(&status);
                    st.state = "Idle".into();
                    st.since = Some(SystemTime::now());
                    st.negotiated = None;
                    st.prefixes.clear();
                    st.last_error = Some(describe(&r));
                }
                // Handled where read, in order with the UPDATEs around them.
                Output::RouteRefresh(_) => {}
                Output::Update => {}
            }
        }
        sync_log(&fsm, &status);
        if let Some(t) = mrt.as_mut() {
            t.state(fsm.state());
        }
        if !confirmed
            && matches!(fsm.state(), State::OpenConfirm)
            && let Some(pid) = fsm.peer_id()
        {
            confirmed = true;
            lock(&status).state = "OpenConfirm".into();
            let _ = ev.send(ConnEvent::OpenConfirm { id, peer_id: pid }).await;
        }
        if closing || fsm.state() == State::Idle {
            break 'run;
        }
        let next = timers.iter().flatten().min().copied();
        tokio::select! {
            r = rd.read_buf(&mut buf) => {
                match r {
                    Ok(0) | Err(_) => {
                        outs = fsm.handle(SystemTime::now(), Input::Closed);
                        continue;
                    }
                    Ok(_) => {}
                }
                let mut used = 0usize;
                let mut got_update = false;
                loop {
                    let rest = buf.get(used..).unwrap_or_default();
                    match tern_wire::frame(rest, max_len) {
                        Ok(Some(f)) => {
                            used += f.bytes.len();
                            lock(&status).received.count(f.kind);
                            if f.kind == tern_wire::message::msg_type::OPEN {
                                bmp_opens.1 = f.bytes.to_vec();
                            }
                            if let Some(t) = mrt.as_mut() {
                                let n = fsm.negotiated();
                                t.message(
                                    n.is_none_or(|n| n.four_octet_as),
                                    n.is_some_and(|n| !n.add_path_rx.is_empty()),
                                    f.bytes,
                                );
                            }
                            let mut o = fsm.handle(SystemTime::now(), Input::Message(f));
                            if let Some(t) = mrt.as_mut() {
                                t.state(fsm.state());
                            }
                            // What the FSM sends in answer goes out now, before anything the
                            // RIB writes once the session is up: an OPEN and a KEEPALIVE read
                            // together must not let UPDATEs overtake our KEEPALIVE (the peer,
                            // still in OpenConfirm, would take them for an FSM error).
                            for b in o.iter_mut().filter_map(|x| match x {
                                Output::Send(b) => Some(std::mem::take(b)),
                                _ => None,
                            }) {
                                if own.send(Bytes::from(b)).is_err() {
                                    closing = true;
                                }
                            }
                            o.retain(|x| !matches!(x, Output::Send(b) if b.is_empty()));
                            // A ROUTE-REFRESH goes to the RIB in order with the UPDATEs read
                            // around it (a BoRR before, an EoRR after the routes it frames).
                            for r in o.iter().filter_map(|x| match x {
                                Output::RouteRefresh(r) => Some(*r),
                                _ => None,
                            }) {
                                if route_refresh(r, &fsm, rib_session, &own, &rib, spec.addr).await.is_err() {
                                    closing = true;
                                }
                            }
                            if rib_session.is_none()
                                && fsm.state() == State::Established
                                && let Some(n) = fsm.negotiated()
                            {
                                let session = rib_task::new_session();
                                // Known to BMP before the RIB sends it anything: the Peer Up
                                // goes first and the writer's tap sees every UPDATE.
                                if spec.vrf.is_none() {
                                    bmp_peer = crate::bmp::peer_up(
                                        spec.addr,
                                        n,
                                        local,
                                        remote,
                                        std::mem::take(&mut bmp_opens.0),
                                        std::mem::take(&mut bmp_opens.1),
                                        status.clone(),
                                    );
                                    if let Some(b) = &bmp_peer {
                                        let _ = out_tap.set(b.out_tap());
                                    }
                                }
                                rib.peer_up(
                                    session,
                                    rib_peer_info(&spec, n),
                                    n.rx_ctx(),
                                    Some(rib_task::PeerOut {
                                        tx: rib_task::WriterQueue::sink(tx.clone(), rib.shards()),
                                        families: n.families.clone(),
                                        ctx: n.tx_ctx(),
                                        local: local.map(|a| a.ip()),
                                        out: spec.outbound(),
                                    }),
                                    spec.vrf.clone(),
                                    &status,
                                )
                                .await;
                                rib_session = Some(session);
                                if n.families.contains(&Family::RTC) {
                                    rtc_wait_until = Some(Instant::now() + Duration::from_secs(u64::from(spec.rtc_wait_for_eor)));
                                }
                                peer_gr = n.graceful_restart.clone();
                                if crate::restart::converging() {
                                    // The initial convergence waits for this peer's
                                    // End-of-RIB (RFC 4724 §4.1: a graceful restart's
                                    // deferral, only for peers that restart gracefully).
                                    if crate::restart::awaits_end_of_rib(peer_gr.is_some())
                                        && !n.families.is_empty()
                                    {
                                        restart_eor = n.families.clone();
                                    } else {
                                        crate::restart::peer_done(spec.addr);
                                    }
                                }
                                // RFC 4724 §4.2: stale routes of a family the restarted peer
                                // kept forwarding for wait for its End-of-RIB; the others go.
                                let was_stale = std::mem::take(&mut *stale_lock(&stale));
                                for f in was_stale {
                                    let kept = peer_gr.as_ref().is_some_and(|g| g.families.contains(&(f, true)));
                                    if kept {
                                        awaiting_eor.push(f);
                                    } else {
                                        rib.send(RibMsg::PurgeStale { peer: spec.addr, family: f }).await;
                                    }
                                }
                                if !awaiting_eor.is_empty() {
                                    let wait = spec.graceful_restart.map_or(0, |g| g.wait_for_rib);
                                    stale_until = Some(Instant::now() + Duration::from_secs(u64::from(wait)));
                                }
                            }
                            got_update |= o.contains(&Output::Update);
                            if o.contains(&Output::Update)
                                && let Some(n) = fsm.negotiated()
                                && let Ok(u) = Update::decode(f.body)
                            {
                                {
                                    let p = u.parse(&n.rx_ctx());
                                    if let Some(f) = p.end_of_rib()
                                        && let Some(i) = restart_eor.iter().position(|x| *x == f)
                                    {
                                        restart_eor.remove(i);
                                        if restart_eor.is_empty() {
                                            crate::restart::peer_done(spec.addr);
                                        }
                                    }
                                    if let Some(f) = p.end_of_rib()
                                        && let Some(i) = awaiting_eor.iter().position(|x| *x == f)
                                    {
                                        awaiting_eor.remove(i);
                                        if awaiting_eor.is_empty() {
                                            stale_until = None;
                                        }
                                        info!(peer = %spec.addr, family = %f, "End-of-RIB after a restart: stale routes purged");
                                        rib.send(RibMsg::PurgeStale { peer: spec.addr, family: f }).await;
                                    }
                                    if p.action() == Some(Action::SessionReset) {
                                        let note = p.notification().cloned().unwrap_or_else(|| Notification::new(3, 0));
                                        limited!(warn!(peer = %spec.addr, "malformed UPDATE: {note}"));
                                        o.extend(fsm.handle(SystemTime::now(), Input::UpdateError(&note)));
                                    } else {
                                        if let Some(a) = p.action() {
                                            limited!(debug!(peer = %spec.addr, "UPDATE: {a:?}: {:?}", p.problems));
                                        }
                                        if let Some(b) = &bmp_peer {
                                            b.update(f.bytes, &p);
                                        }
                                        if let Some(session) = rib_session {
                                            if rib.recording() {
                                                // Recorded as received (see crate::record).
                                                rib.send(RibMsg::Update {
                                                    peer: spec.addr,
                                                    session,
                                                    body: f.body.to_vec(),
                                                })
                                                .await;
                                            } else {
                                                // Taken apart here, on the connection's
                                                // task: the RIB task only applies it.
                                                rib.send(RibMsg::Digest {
                                                    peer: spec.addr,
                                                    session,
                                                    digest: Box::new(Digest::of(&p)),
                                                })
                                                .await;
                                            }
                                        }
                                    }
                                }
                            }
                            let stop = o.contains(&Output::Close);
                            outs.extend(o);
                            if stop {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(note) => {
                            limited!(warn!(peer = %spec.addr, "bad message header: {note}"));
                            outs.extend(fsm.handle(SystemTime::now(), Input::BadHeader(&note)));
                            break;
                        }
                    }
                }
                buf.drain(..used.min(buf.len()));
                if got_update {
                    lock(&status).last_update = Some(SystemTime::now());
                }
                if rib_session.is_some()
                    && hold.is_none()
                    && let LimitCheck::Close(note, h) = limits.check(&status, &rib, spec.addr).await
                {
                    hold = Some(h);
                    outs.extend(fsm.handle(SystemTime::now(), Input::Cease(&note)));
                }
            }
            r = &mut stalled, if !stall_heard => {
                stall_heard = true;
                if r.is_ok() {
                    // RFC 9687: the peer has taken nothing for the send hold time.
                    let secs = send_hold.load(Ordering::Relaxed);
                    warn!(peer = %spec.addr, secs, "send hold timer expired: the peer takes nothing we send");
                    let note = Notification::new(tern_wire::notification::code::SEND_HOLD_TIMER_EXPIRED, 0);
                    outs = fsm.handle(SystemTime::now(), Input::Cease(&note));
                } else {
                    // The writer ended on a write error: the connection is gone.
                    outs = fsm.handle(SystemTime::now(), Input::Closed);
                }
            }
            _ = limit_tick.tick(), if rib_session.is_some() && hold.is_none() => {
                if let LimitCheck::Close(note, h) = limits.check(&status, &rib, spec.addr).await {
                    hold = Some(h);
                    outs = fsm.handle(SystemTime::now(), Input::Cease(&note));
                }
            }
            _ = async { tokio::time::sleep_until(next.unwrap_or_else(Instant::now)).await }, if next.is_some() => {
                let now = Instant::now();
                for t in [Timer::Hold, Timer::Keepalive, Timer::ConnectRetry, Timer::IdleHold] {
                    let i = timer_idx(t);
                    if timers[i].is_some_and(|d| d <= now) {
                        timers[i] = None;
                        if t != Timer::IdleHold {
                            outs.extend(fsm.handle(SystemTime::now(), Input::Timer(t)));
                        }
                    }
                }
            }
            _ = async { tokio::time::sleep_until(stale_until.unwrap_or_else(Instant::now)).await }, if stale_until.is_some() => {
                stale_until = None;
                for f in std::mem::take(&mut awaiting_eor) {
                    info!(peer = %spec.addr, family = %f, "no End-of-RIB in time after a restart: stale routes purged");
                    rib.send(RibMsg::PurgeStale { peer: spec.addr, family: f }).await;
                }
            }
            _ = async { tokio::time::sleep_until(rtc_wait_until.unwrap_or_else(Instant::now)).await }, if rtc_wait_until.is_some() => {
                rtc_wait_until = None;
                if let Some(session) = rib_session {
                    rib.send(RibMsg::RtcWaitOver { peer: spec.addr, session }).await;
                }
            }
            cmd = close_rx.recv() => match cmd {
                Some(ConnCmd::Refresh { export }) => {
                    let (Some(session), Some(n)) = (rib_session, fsm.negotiated()) else {
                        continue;
                    };
                    let enhanced = n.enhanced_route_refresh;
                    for family in n.families.clone() {
                        if export {
                            if send_refresh(&own, &rib, spec.addr, session, family, enhanced).await.is_err() {
                                closing = true;
                            }
                        } else if n.route_refresh {
                            let mut b = Vec::new();
                            let m = tern_wire::Message::RouteRefresh(tern_wire::RouteRefresh::request(family));
                            if m.encode(&mut b).is_err() || own.send(Bytes::from(b)).is_err() {
                                closing = true;
                            }
                        }
                    }
                    info!(peer = %spec.addr, export, "refresh bgp");
                }
                Some(ConnCmd::Close(sub)) => {
                    outs = fsm.handle(SystemTime::now(), Input::Stop(sub));
                }
                Some(ConnCmd::Drop) => {
                    // The peer helps with graceful restart (it sent the capability): it
                    // keeps our routes through a lost transport.
                    let gr = peer_gr.is_some();
                    outs = if gr {
                        // As a lost transport: the peer keeps our routes, we keep its.
                        fsm.handle(SystemTime::now(), Input::Closed)
                    } else {
                        fsm.handle(SystemTime::now(), Input::Stop(tern_wire::notification::cease_sub::ADMIN_RESET))
                    };
                }
                None => {
                    outs = fsm.handle(SystemTime::now(), Input::Stop(tern_wire::notification::cease_sub::ADMIN_SHUTDOWN));
                }
            }
        }
    }
    // What the session ended with (its NOTIFICATION) goes out ahead of what the RIB still
    // has queued, which the writer drops.
    for o in outs.drain(..) {
        if let Output::Send(b) = o {
            let _ = own.send(Bytes::from(b));
        }
    }
    sync_log(&fsm, &status);
    if let Some(b) = bmp_peer.take() {
        b.down(&DownReason::Stopped);
    }
    if let Some(t) = mrt.as_mut() {
        t.state(State::Idle);
    }
    if let Some(session) = rib_session.take() {
        rib.send(RibMsg::PeerDown {
            peer: spec.addr,
            session,
        })
        .await;
    }
    drop(own);
    drop(tx);
    close_conn(rd, writer).await;
    limited!(conn_log => info!(peer = %spec.addr, "connection {id} closed"));
    (restarting, hold)
}

/// A ROUTE-REFRESH received (RFC 2918 §4, RFC 7313 §4): a request is answered with the
/// routes; a BoRR makes the peer's routes of the family stale, an EoRR purges what is still
/// stale. Messages for a family the session does not carry are ignored. Err: the connection
/// is gone.
async fn route_refresh(
    r: tern_wire::RouteRefresh,
    fsm: &Session,
    rib_session: Option<u64>,
    tx: &mpsc::UnboundedSender<Bytes>,
    rib: &RibHandle,
    peer: std::net::IpAddr,
) -> Result<(), ()> {
    let (carried, enhanced) = fsm.negotiated().map_or((false, false), |n| {
        (n.families.contains(&r.family), n.enhanced_route_refresh)
    });
    match (rib_session, r.subtype) {
        (Some(session), RefreshSubtype::Request) if carried => {
            limited!(info!(peer = %peer, family = %r.family, "route refresh requested"));
            return send_refresh(tx, rib, peer, session, r.family, enhanced).await;
        }
        (Some(_), RefreshSubtype::BeginningOfRefresh) if carried && enhanced => {
            limited!(info!(peer = %peer, family = %r.family, "route refresh begins (BoRR)"));
            rib.send(RibMsg::Stale {
                peer,
                family: r.family,
            })
            .await;
        }
        (Some(_), RefreshSubtype::EndOfRefresh) if carried && enhanced => {
            limited!(info!(peer = %peer, family = %r.family, "route refresh ends (EoRR)"));
            rib.send(RibMsg::PurgeStale {
                peer,
                family: r.family,
            })
            .await;
        }
        _ => {
            limited!(
                debug!(peer = %peer, family = %r.family, subtype = ?r.subtype, "ROUTE-REFRESH ignored")
            );
        }
    }
    Ok(())
}

/// Sends the peer its routes of `family` again: a BoRR first with enhanced route refresh
/// (the engine sends the EoRR after the routes, RFC 7313 §4). Err: the connection is gone.
async fn send_refresh(
    tx: &mpsc::UnboundedSender<Bytes>,
    rib: &RibHandle,
    peer: std::net::IpAddr,
    session: u64,
    family: tern_types::Family,
    enhanced: bool,
) -> Result<(), ()> {
    if enhanced {
        let m = tern_wire::Message::RouteRefresh(tern_wire::RouteRefresh {
            family,
            subtype: RefreshSubtype::BeginningOfRefresh,
        });
        let mut b = Vec::new();
        if m.encode(&mut b).is_err() || tx.send(Bytes::from(b)).is_err() {
            return Err(());
        }
    }
    rib.send(RibMsg::Refresh {
        peer,
        session,
        family,
        enhanced,
    })
    .await;
    Ok(())
}

/// What the RIB needs to know about an Established peer.
fn rib_peer_info(spec: &PeerSpec, n: &tern_fsm::Negotiated) -> tern_rib::PeerInfo {
    tern_rib::PeerInfo {
        addr: spec.addr,
        router_id: n.peer_id,
        asn: tern_types::Asn(n.peer_as),
        ebgp: n.ebgp,
        // `reflect-client` is per family in VRP; the RIB's reflection rules are per peer: a
        // client in any family is a client. `peer X preferred-value` comes with policy.
        rr_client: !n.ebgp && !spec.reflect_client.is_empty(),
        preferred_value: 0,
    }
}

fn timer_idx(t: Timer) -> usize {
    match t {
        Timer::ConnectRetry => 0,
        Timer::Hold => 1,
        Timer::Keepalive => 2,
        Timer::IdleHold => 3,
    }
}

fn describe(r: &DownReason) -> String {
    match r {
        DownReason::Sent(n) => format!("sent NOTIFICATION {n}"),
        DownReason::Received(n) => format!("received NOTIFICATION {n}"),
        DownReason::TransportClosed => "connection closed".into(),
        DownReason::Stopped => "stopped".into(),
    }
}

/// Copies the FSM's event log into the status (the FSM keeps the last entries).
fn sync_log(fsm: &Session, status: &Mutex<PeerStatus>) {
    let mut st = lock(status);
    for e in fsm.log() {
        let line = match &e.event {
            LogEvent::Up => LogLine {
                at: e.at,
                state: "Up".into(),
                error: None,
            },
            LogEvent::Down(r) => {
                let error = match r {
                    DownReason::Sent(n) => Some((
                        n.code,
                        n.subcode,
                        n.code_name().to_owned(),
                        n.subcode_name().to_owned(),
                        false,
                    )),
                    DownReason::Received(n) => Some((
                        n.code,
                        n.subcode,
                        n.code_name().to_owned(),
                        n.subcode_name().to_owned(),
                        true,
                    )),
                    _ => None,
                };
                if let DownReason::Sent(n) | DownReason::Received(n) = r {
                    st.last_error = Some(describe(r));
                    let _ = n;
                }
                LogLine {
                    at: e.at,
                    state: "Down".into(),
                    error,
                }
            }
        };
        if !st.log.contains(&line) {
            st.log.push(line);
        }
    }
    let excess = st.log.len().saturating_sub(tern_fsm::LOG_LEN);
    st.log.drain(..excess);
}
