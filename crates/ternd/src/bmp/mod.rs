//! BMP (RFC 7854): reporting the public network's peers to monitoring stations.
//!
//! One task per configured `bmp-session` with `tcp connect port P` connects out to the
//! collector, sends Initiation (§4.3, sysName and sysDescr), a Peer Up (§4.10, with both
//! OPENs, addresses and ports) for every Established public peer, and for the families under
//! `route-mode … adj-rib-in pre-policy` the peer's Adj-RIB-In before policy: at once what is
//! held (the "initial table dump" of §5), then every UPDATE as received (Route Monitoring,
//! §4.6). Peer Down (§4.9) says why a session ended; Statistics Reports (§4.8) go every
//! `statistics-timer` seconds with the routes in the peer's Adj-RIB-In (type 7, and per family,
//! type 9) and the UPDATEs treated as withdraw (type 11, RFC 7606). Termination (§4.5) is sent
//! when the session is removed or reset. A lost collector is connected again every 15 s.
//!
//! The table sent on connecting is a copy of each monitored peer's received routes, kept here
//! (per family monitored by any collector) as received: shared attribute blocks, one entry per
//! NLRI, rebuilt into UPDATEs with the session's own encoding (tern-wire's builder). A family
//! whose monitoring starts while peers are up is asked of them again (ROUTE-REFRESH).
//!
//! Under `route-mode F unicast adj-rib-out post-policy` the UPDATEs sent to the peers are
//! reported ([`adj_rib_out`], RFC 8671).
//! Under `route-mode F unicast local-rib` the best paths of the public tables are reported too,
//! as the Loc-RIB instance peer of RFC 9069 ([`loc_rib`]).
//!
//! A connection task never waits for a collector: messages go to each collector's bounded
//! queue with `try_send`. A collector that does not keep up overflows its queue; its
//! connection is then closed and opened again, with a full report (§5 leaves the recovery to
//! the implementation).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tern_config::bmp::BmpKey;
use tern_types::Family;
use tern_wire::bmp::{self as wire, DownReason, PeerHeader, Stat};
use tern_wire::{
    Action, AttrValue, Ctx, NextHop, Nlri, ParsedUpdate, PathAttribute, UpdateBuilder,
    attr::type_code,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use tracing::{info, warn};

use crate::status::{PeerStatus, lock};

pub mod adj_rib_out;
pub mod loc_rib;
pub use adj_rib_out::{OutTap, refresh_requests};
pub use loc_rib::attach;

/// Messages a collector's queue holds before the collector counts as too slow.
const QUEUE: usize = 16384;
/// Seconds between connection attempts.
const CONNECT_RETRY: u64 = 15;
/// How long a write to a collector may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// The BMP configuration the daemon runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BmpSpec {
    /// Statistics interval (seconds).
    pub statistics: u16,
    /// The sessions.
    pub sessions: Vec<CollectorSpec>,
}

/// One `bmp-session`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectorSpec {
    /// Address and alias.
    pub key: BmpKey,
    /// `tcp connect port` (None: nothing to connect to).
    pub port: Option<u16>,
    /// `monitor public`.
    pub public: bool,
    /// Families reported pre-policy.
    pub families: Vec<Family>,
    /// Families whose Loc-RIB is reported.
    pub loc_rib: Vec<Family>,
    /// Families whose Adj-RIB-Out is reported (post-policy).
    pub out_families: Vec<Family>,
}

/// The BMP part of a configuration.
pub fn resolve(cfg: &tern_config::Config) -> BmpSpec {
    let Some(b) = &cfg.bmp else {
        return BmpSpec::default();
    };
    BmpSpec {
        statistics: b.statistics_secs(),
        sessions: b
            .sessions
            .iter()
            .map(|(k, s)| CollectorSpec {
                key: k.clone(),
                port: s.port,
                public: s.public.is_some(),
                families: s
                    .public
                    .as_ref()
                    .map(|m| m.adj_rib_in_pre.clone())
                    .unwrap_or_default(),
                loc_rib: s
                    .public
                    .as_ref()
                    .map(|m| m.local_rib.clone())
                    .unwrap_or_default(),
                out_families: s
                    .public
                    .as_ref()
                    .map(|m| m.adj_rib_out_post.clone())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// An attribute block as received, without NEXT_HOP and the MP attributes, and the next hop.
#[derive(Debug)]
struct Stored {
    next_hop: NextHop,
    attrs: Vec<PathAttribute<'static>>,
}

/// A connected collector as the monitored peers feed it.
#[derive(Clone)]
struct Link {
    tx: mpsc::Sender<Bytes>,
    families: Arc<Vec<Family>>,
    overflow: Arc<Notify>,
    broken: Arc<AtomicBool>,
    /// Families whose Loc-RIB changes this collector gets.
    loc_families: Arc<Vec<Family>>,
    /// Families whose sent UPDATEs this collector gets.
    out_families: Arc<Vec<Family>>,
    /// Loc-RIB changes held while the collector is sent the table (None: not held).
    held: Arc<Mutex<Option<Vec<Bytes>>>>,
}

impl Link {
    /// Queues `b`; a full queue breaks the link. False when the collector is gone.
    fn offer(&self, b: Bytes) -> bool {
        if self.broken.load(Ordering::Relaxed) {
            return true;
        }
        match self.tx.try_send(b) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.broken.store(true, Ordering::Relaxed);
                self.overflow.notify_one();
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// One Established public peer.
struct Monitored {
    header: PeerHeader,
    up: wire::PeerUp,
    ctx: Ctx,
    status: Arc<Mutex<PeerStatus>>,
    routes: HashMap<(Family, Nlri), Arc<Stored>>,
    treat_as_withdraw: Arc<AtomicU32>,
    links: Vec<Link>,
}

/// A monitored peer, as its connection task holds it.
pub struct BmpPeer(Arc<Mutex<Monitored>>, IpAddr);

/// What `display bmp session` shows of one collector.
#[derive(Clone, Debug)]
struct View {
    up: bool,
    since: SystemTime,
    reason: Option<String>,
    local: Option<SocketAddr>,
    next_try: Option<SystemTime>,
    next_stats: Option<SystemTime>,
}

struct Collector {
    spec: CollectorSpec,
    view: Arc<Mutex<View>>,
    cmd: mpsc::Sender<Cmd>,
}

enum Cmd {
    Stop,
    Reset,
}

#[derive(Default)]
struct State {
    sysname: String,
    statistics: u16,
    /// Families some collector monitors (received routes are kept for these).
    mirrored: Vec<Family>,
    peers: BTreeMap<IpAddr, Arc<Mutex<Monitored>>>,
    links: Vec<Link>,
    collectors: Vec<Collector>,
    /// The Loc-RIB instance, while some collector monitors a Loc-RIB family.
    loc: Option<loc_rib::Instance>,
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);

/// True while some collector is configured: UPDATEs are looked at only then.
static ACTIVE: AtomicBool = AtomicBool::new(false);

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn mon(m: &Mutex<Monitored>) -> MutexGuard<'_, Monitored> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn view_lock(v: &Mutex<View>) -> MutexGuard<'_, View> {
    v.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_header(h: &PeerHeader) -> PeerHeader {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    PeerHeader {
        secs: u32::try_from(t.as_secs()).unwrap_or(u32::MAX),
        usecs: t.subsec_micros(),
        ..*h
    }
}

fn encoded(f: impl FnOnce(&mut Vec<u8>) -> Result<(), tern_wire::EncodeError>) -> Option<Bytes> {
    let mut b = Vec::new();
    match f(&mut b) {
        Ok(()) => Some(Bytes::from(b)),
        Err(e) => {
            warn!("BMP message not encoded: {e}");
            None
        }
    }
}

/// Runs `spec` for this router (`local`: its AS and router ID, when BGP runs): collectors
/// started, stopped or changed. Returns the Established public peers whose routes of a newly
/// monitored family are not held yet (to be asked again).
pub fn configure(spec: &BmpSpec, sysname: &str, local: Option<(u32, Ipv4Addr)>) -> Vec<IpAddr> {
    let mut st = state();
    st.sysname = sysname.to_owned();
    let mut loc: Vec<Family> = spec
        .sessions
        .iter()
        .filter(|s| s.public && s.port.is_some())
        .flat_map(|s| s.loc_rib.iter().copied())
        .collect();
    loc.sort();
    loc.dedup();
    let inst = match local {
        Some((asn, id)) if !loc.is_empty() => Some(loc_rib::Instance::new(asn, id, loc)),
        _ => None,
    };
    adj_rib_out::OUT_ACTIVE.store(
        spec.sessions
            .iter()
            .any(|s| s.public && s.port.is_some() && !s.out_families.is_empty()),
        Ordering::Relaxed,
    );
    if inst != st.loc {
        loc_rib::tell_engine(inst.as_ref());
        st.loc = inst;
    }
    st.statistics = spec.statistics;
    let mut mirrored: Vec<Family> = spec
        .sessions
        .iter()
        .filter(|s| s.public && s.port.is_some())
        .flat_map(|s| s.families.iter().copied())
        .collect();
    mirrored.sort();
    mirrored.dedup();
    let added = mirrored.iter().any(|f| !st.mirrored.contains(f));
    let dropped: Vec<Family> = st
        .mirrored
        .iter()
        .filter(|f| !mirrored.contains(f))
        .copied()
        .collect();
    for p in st.peers.values() {
        mon(p).routes.retain(|(f, _), _| !dropped.contains(f));
    }
    st.mirrored = mirrored;
    ACTIVE.store(!spec.sessions.is_empty(), Ordering::Relaxed);
    // Collectors whose settings changed are restarted (with a full report).
    let old = std::mem::take(&mut st.collectors);
    for c in old {
        match spec.sessions.iter().find(|s| s.key == c.spec.key) {
            Some(s) if *s == c.spec => st.collectors.push(c),
            _ => {
                let _ = c.cmd.try_send(Cmd::Stop);
            }
        }
    }
    for s in &spec.sessions {
        if !st.collectors.iter().any(|c| c.spec.key == s.key) {
            let (tx, rx) = mpsc::channel(4);
            let view = Arc::new(Mutex::new(View {
                up: false,
                since: SystemTime::now(),
                reason: None,
                local: None,
                next_try: None,
                next_stats: None,
            }));
            if s.port.is_some() {
                tokio::spawn(run_collector(s.clone(), rx, view.clone()));
            } else {
                view_lock(&view).reason = Some("no tcp connect port configured".into());
            }
            st.collectors.push(Collector {
                spec: s.clone(),
                view,
                cmd: tx,
            });
        }
    }
    if added {
        st.peers.keys().copied().collect()
    } else {
        Vec::new()
    }
}

/// `reset bmp session …`: the chosen collectors' connections closed and opened again.
/// Returns how many were reset.
pub fn reset(addr: Option<Ipv4Addr>, alias: Option<&str>) -> usize {
    let st = state();
    let mut n = 0;
    for c in &st.collectors {
        let hit = match addr {
            None => true,
            Some(a) => c.spec.key.addr == a && c.spec.key.alias.as_deref() == alias,
        };
        if hit {
            let _ = c.cmd.try_send(Cmd::Reset);
            n += 1;
        }
    }
    n
}

/// A public peer's session is Established: Peer Up to every collector. The peer is kept
/// (without routes unless a family is monitored) so that a collector configured later hears
/// of it.
#[allow(clippy::too_many_arguments)]
pub fn peer_up(
    addr: IpAddr,
    n: &tern_fsm::Negotiated,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    sent_open: Vec<u8>,
    received_open: Vec<u8>,
    status: Arc<Mutex<PeerStatus>>,
) -> Option<BmpPeer> {
    let remote = remote?;
    let mut st = state();
    let header = PeerHeader {
        peer_type: 0,
        flags: if n.four_octet_as {
            0
        } else {
            wire::peer_flag::A
        },
        distinguisher: 0,
        addr,
        asn: n.peer_as,
        bgp_id: n.peer_id,
        secs: 0,
        usecs: 0,
    };
    let up = wire::PeerUp {
        local_addr: local.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |l| l.ip()),
        local_port: local.map_or(0, |l| l.port()),
        remote_port: remote.port(),
        sent_open,
        received_open,
        information: Vec::new(),
    };
    st.links.retain(|l| !l.tx.is_closed());
    let links = st.links.clone();
    if let Some(b) = encoded(|b| wire::peer_up(b, &now_header(&header), &up)) {
        for l in &links {
            l.offer(b.clone());
        }
    }
    let m = Arc::new(Mutex::new(Monitored {
        header,
        up,
        ctx: n.rx_ctx(),
        status,
        routes: HashMap::new(),
        treat_as_withdraw: Arc::default(),
        links,
    }));
    st.peers.insert(addr, m.clone());
    Some(BmpPeer(m, addr))
}

/// The family an UPDATE reports on.
fn update_family(p: &ParsedUpdate<'_>) -> Family {
    if !p.nlri.is_empty() || !p.withdrawn.is_empty() {
        return Family::IPV4_UNICAST;
    }
    p.mp_reach()
        .map(|m| m.family)
        .or_else(|| p.mp_unreach().map(|m| m.family))
        .unwrap_or(Family::IPV4_UNICAST)
}

impl BmpPeer {
    /// The tap of the peer's writer: what it sends, for the Adj-RIB-Out.
    pub fn out_tap(&self) -> OutTap {
        OutTap(self.0.clone())
    }

    /// An UPDATE received (`message`: the whole message) and taken apart as `p`.
    pub fn update(&self, message: &[u8], p: &ParsedUpdate<'_>) {
        if !ACTIVE.load(Ordering::Relaxed) {
            return;
        }
        let mirrored = state().mirrored.clone();
        let mut m = mon(&self.0);
        let family = update_family(p);
        let twd = p.action() == Some(Action::TreatAsWithdraw);
        if twd {
            m.treat_as_withdraw.fetch_add(1, Ordering::Relaxed);
        }
        if !mirrored.is_empty() {
            for (f, n) in p.withdrawn_routes() {
                m.routes.remove(&(f, n));
            }
            let mut stored: Option<Arc<Stored>> = None;
            for (f, n) in p.announced() {
                if !mirrored.contains(&f) {
                    continue;
                }
                if twd {
                    m.routes.remove(&(f, n));
                    continue;
                }
                let next_hop = match p.mp_reach().filter(|r| r.family == f) {
                    Some(r) => r.next_hop.clone(),
                    None => match p.next_hop() {
                        Some(a) => NextHop::Ipv4(a),
                        None => continue,
                    },
                };
                let s = match &stored {
                    Some(s) if s.next_hop == next_hop => s.clone(),
                    _ => {
                        let attrs = p
                            .attrs
                            .iter()
                            .filter(|a| {
                                !matches!(
                                    a.type_code(),
                                    type_code::NEXT_HOP
                                        | type_code::MP_REACH_NLRI
                                        | type_code::MP_UNREACH_NLRI
                                )
                            })
                            .filter(|a| !matches!(a.value, AttrValue::MpReach(_)))
                            .map(|a| a.clone().into_owned())
                            .collect();
                        let s = Arc::new(Stored { next_hop, attrs });
                        stored = Some(s.clone());
                        s
                    }
                };
                m.routes.insert((f, n), s);
            }
        }
        if m.links.is_empty() {
            return;
        }
        let header = now_header(&m.header);
        let Some(b) = encoded(|b| wire::route_monitoring(b, &header, message)) else {
            return;
        };
        m.links
            .retain(|l| !l.families.contains(&family) || l.offer(b.clone()));
    }

    /// The session ended: Peer Down to every collector.
    pub fn down(self, reason: &tern_fsm::DownReason) {
        let reason = match reason {
            tern_fsm::DownReason::Sent(n) => DownReason::LocalNotification(notification(n)),
            tern_fsm::DownReason::Received(n) => DownReason::RemoteNotification(notification(n)),
            tern_fsm::DownReason::TransportClosed => DownReason::RemoteNoNotification,
            // RFC 4271 §8.1.2 Event 2, ManualStop.
            tern_fsm::DownReason::Stopped => DownReason::LocalNoNotification(2),
        };
        self.gone(&reason);
    }

    fn gone(self, reason: &DownReason) {
        let mut st = state();
        if st
            .peers
            .get(&self.1)
            .is_some_and(|p| Arc::ptr_eq(p, &self.0))
        {
            st.peers.remove(&self.1);
        }
        drop(st);
        let m = mon(&self.0);
        if let Some(b) = encoded(|b| wire::peer_down(b, &now_header(&m.header), reason)) {
            for l in &m.links {
                l.offer(b.clone());
            }
        }
    }
}

fn notification(n: &tern_wire::Notification) -> Vec<u8> {
    tern_wire::Message::Notification(n.clone())
        .to_bytes()
        .unwrap_or_default()
}

/// The table of one peer at the time a collector connects.
struct Snapshot {
    header: PeerHeader,
    up: wire::PeerUp,
    ctx: Ctx,
    routes: Vec<((Family, Nlri), Arc<Stored>)>,
}

/// Registers a newly connected collector: from now on it gets every peer's messages; returns
/// what it must be sent first.
fn register(link: &Link) -> Vec<Snapshot> {
    let mut st = state();
    st.links.retain(|l| !l.tx.is_closed());
    st.links.push(link.clone());
    st.peers
        .values()
        .map(|p| {
            let mut m = mon(p);
            m.links.retain(|l| !l.tx.is_closed());
            m.links.push(link.clone());
            Snapshot {
                header: m.header,
                up: m.up.clone(),
                ctx: m.ctx,
                routes: m
                    .routes
                    .iter()
                    .filter(|((f, _), _)| link.families.contains(f))
                    .map(|(k, v)| (*k, v.clone()))
                    .collect(),
            }
        })
        .collect()
}

/// Peer Up and the held routes of one peer, as BMP messages.
fn dump(s: &Snapshot) -> Vec<Bytes> {
    let mut out = Vec::new();
    let header = now_header(&s.header);
    out.extend(encoded(|b| wire::peer_up(b, &header, &s.up)));
    // Routes sharing an attribute block go together, as they came.
    let mut groups: HashMap<(usize, Family), (Arc<Stored>, Vec<Nlri>)> = HashMap::new();
    for ((f, n), a) in &s.routes {
        groups
            .entry((Arc::as_ptr(a) as usize, *f))
            .or_insert_with(|| (a.clone(), Vec::new()))
            .1
            .push(*n);
    }
    let builder = UpdateBuilder::new(&s.ctx);
    let mut families: Vec<Family> = Vec::new();
    for ((_, f), (a, nlri)) in groups {
        if !families.contains(&f) {
            families.push(f);
        }
        let mut msgs = Vec::new();
        if let Err(e) = builder.reach(f, &a.next_hop, &a.attrs, &nlri, &mut msgs) {
            warn!("BMP: routes of {} not encoded: {e}", s.header.addr);
            continue;
        }
        for m in msgs {
            out.extend(encoded(|b| wire::route_monitoring(b, &header, &m)));
        }
    }
    // End-of-RIB per family: the initial table is complete (RFC 7854 §5).
    for f in families {
        let eor = UpdateBuilder::end_of_rib(f);
        out.extend(encoded(|b| wire::route_monitoring(b, &header, &eor)));
    }
    out
}

/// Statistics Reports for every monitored peer.
fn statistics() -> Vec<Bytes> {
    let st = state();
    let mut out = Vec::new();
    for p in st.peers.values() {
        let m = mon(p);
        let counts: Vec<(String, u64)> = lock(&m.status)
            .prefixes
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let mut stats = vec![Stat::Gauge(
            wire::stat::ADJ_RIB_IN,
            counts.iter().map(|(_, n)| n).sum(),
        )];
        for (name, n) in &counts {
            if let Some(f) = family_named(name) {
                stats.push(Stat::FamilyGauge(wire::stat::ADJ_RIB_IN_AF, f, *n));
            }
        }
        stats.push(Stat::Counter(
            wire::stat::TREAT_AS_WITHDRAW,
            m.treat_as_withdraw.load(Ordering::Relaxed),
        ));
        out.extend(encoded(|b| {
            wire::statistics(b, &now_header(&m.header), &stats)
        }));
    }
    out
}

/// A family from the name the status counts it under.
fn family_named(name: &str) -> Option<Family> {
    [
        Family::IPV4_UNICAST,
        Family::IPV6_UNICAST,
        Family::IPV4_LABELED,
        Family::IPV6_LABELED,
        Family::VPNV4,
        Family::VPNV6,
    ]
    .into_iter()
    .find(|f| f.to_string() == name)
}

async fn write(s: &mut TcpStream, b: &[u8], overflow: &Notify) -> Result<(), String> {
    tokio::select! {
        r = tokio::time::timeout(WRITE_TIMEOUT, s.write_all(b)) => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write: {e}")),
            Err(_) => Err("write timed out".into()),
        },
        () = overflow.notified() => Err("collector too slow: queue overflow".into()),
    }
}

/// Why a connection ended.
enum End {
    Lost(String),
    Reset,
    Stop,
}

async fn run_collector(spec: CollectorSpec, mut cmd: mpsc::Receiver<Cmd>, view: Arc<Mutex<View>>) {
    let Some(port) = spec.port else { return };
    let dest = SocketAddr::new(IpAddr::V4(spec.key.addr), port);
    loop {
        view_lock(&view).next_try = None;
        let attempt = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(dest));
        let end = tokio::select! {
            r = attempt => match r {
                Ok(Ok(s)) => session(&spec, s, &mut cmd, &view).await,
                Ok(Err(e)) => End::Lost(format!("connect: {e}")),
                Err(_) => End::Lost("connect: timed out".into()),
            },
            c = cmd.recv() => match c {
                Some(Cmd::Reset) => End::Reset,
                Some(Cmd::Stop) | None => End::Stop,
            },
        };
        {
            let mut v = view_lock(&view);
            if v.up {
                v.since = SystemTime::now();
            }
            v.up = false;
            v.local = None;
            v.next_stats = None;
            v.reason = Some(match &end {
                End::Lost(r) => r.clone(),
                End::Reset => "reset".into(),
                End::Stop => "removed".into(),
            });
        }
        match end {
            End::Stop => return,
            End::Reset => continue,
            End::Lost(r) => {
                info!(collector = %dest, "BMP session down: {r}; connecting again in {CONNECT_RETRY} s");
            }
        }
        view_lock(&view).next_try = Some(SystemTime::now() + Duration::from_secs(CONNECT_RETRY));
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(CONNECT_RETRY)) => {}
            c = cmd.recv() => match c {
                Some(Cmd::Reset) => {}
                Some(Cmd::Stop) | None => return,
            },
        }
    }
}

async fn session(
    spec: &CollectorSpec,
    mut s: TcpStream,
    cmd: &mut mpsc::Receiver<Cmd>,
    view: &Mutex<View>,
) -> End {
    let _ = s.set_nodelay(true);
    let dest = s.peer_addr().ok();
    info!(collector = ?dest, "BMP session up");
    let (sysname, secs) = {
        let st = state();
        (st.sysname.clone(), st.statistics.max(1))
    };
    let mut b = Vec::new();
    let descr = format!("tern {}", env!("CARGO_PKG_VERSION"));
    if wire::initiation(&mut b, &sysname, &descr).is_err() {
        return End::Lost("initiation not encoded".into());
    }
    let overflow = Arc::new(Notify::new());
    if let Err(e) = write(&mut s, &b, &overflow).await {
        return End::Lost(e);
    }
    {
        let mut v = view_lock(view);
        v.up = true;
        v.since = SystemTime::now();
        v.reason = None;
        v.local = s.local_addr().ok();
    }
    let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
    let loc_families = if spec.public {
        spec.loc_rib.clone()
    } else {
        Vec::new()
    };
    let link = Link {
        tx,
        families: Arc::new(if spec.public {
            spec.families.clone()
        } else {
            Vec::new()
        }),
        overflow: overflow.clone(),
        broken: Arc::new(AtomicBool::new(false)),
        // Held from before the link is registered: no change overtakes the table.
        held: Arc::new(Mutex::new((!loc_families.is_empty()).then(Vec::new))),
        loc_families: Arc::new(loc_families),
        out_families: Arc::new(if spec.public {
            spec.out_families.clone()
        } else {
            Vec::new()
        }),
    };
    let snapshots = if spec.public {
        register(&link)
    } else {
        Vec::new()
    };
    let close = |e: String| -> End { End::Lost(e) };
    for snap in &snapshots {
        let msgs = dump(snap);
        let mut chunk: Vec<u8> = Vec::with_capacity(64 * 1024);
        for m in msgs {
            chunk.extend_from_slice(&m);
            if chunk.len() >= 64 * 1024 {
                if let Err(e) = write(&mut s, &chunk, &overflow).await {
                    return close(e);
                }
                chunk.clear();
            }
        }
        if let Err(e) = write(&mut s, &chunk, &overflow).await {
            return close(e);
        }
    }
    if let Err(e) = loc_rib::initial(&mut s, &link, &overflow).await {
        return close(e);
    }
    if !link.out_families.is_empty() {
        // What the peers were sent is not kept: it is sent again (RFC 8671 §5 leaves how).
        adj_rib_out::resend_all();
    }
    let period = Duration::from_secs(u64::from(secs));
    let mut stats = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    view_lock(view).next_stats = Some(SystemTime::now() + period);
    let mut junk = [0u8; 512];
    let end = loop {
        if link.broken.load(Ordering::Relaxed) {
            break End::Lost("collector too slow: queue overflow".into());
        }
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { break End::Lost("queue closed".into()) };
                let mut chunk = m.to_vec();
                while chunk.len() < 64 * 1024 {
                    match rx.try_recv() {
                        Ok(m) => chunk.extend_from_slice(&m),
                        Err(_) => break,
                    }
                }
                if let Err(e) = write(&mut s, &chunk, &overflow).await {
                    break End::Lost(e);
                }
            }
            _ = stats.tick() => {
                view_lock(view).next_stats = Some(SystemTime::now() + period);
                let chunk: Vec<u8> = statistics().concat();
                if let Err(e) = write(&mut s, &chunk, &overflow).await {
                    break End::Lost(e);
                }
            }
            () = overflow.notified() => {
                break End::Lost("collector too slow: queue overflow".into());
            }
            r = s.read(&mut junk) => match r {
                // A collector sends nothing (RFC 7854 §3.2); what it sends is ignored.
                Ok(0) => break End::Lost("closed by the collector".into()),
                Err(e) => break End::Lost(format!("read: {e}")),
                Ok(_) => {}
            },
            c = cmd.recv() => break match c {
                Some(Cmd::Reset) => End::Reset,
                Some(Cmd::Stop) | None => End::Stop,
            },
        }
    };
    if matches!(end, End::Reset | End::Stop) {
        // What the peers queued before (a Peer Down at daemon exit) goes first.
        let mut chunk = Vec::new();
        while let Ok(m) = rx.try_recv() {
            chunk.extend_from_slice(&m);
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), s.write_all(&chunk)).await;
        let reason = if matches!(end, End::Stop) {
            wire::term_reason::PERMANENT_ADMIN_CLOSE
        } else {
            wire::term_reason::ADMIN_CLOSE
        };
        drop(rx);
        let mut b = Vec::new();
        if wire::termination(&mut b, reason, "").is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), s.write_all(&b)).await;
        }
        let _ = s.shutdown().await;
    }
    end
}

/// `display bmp session [A [alias N] verbose]`.
pub fn display(words: &[&str]) -> Result<String, String> {
    let st = state();
    let secs_since = |t: SystemTime| {
        SystemTime::now()
            .duration_since(t)
            .map_or(0, |d| d.as_secs())
    };
    let secs_until = |t: Option<SystemTime>| {
        t.and_then(|t| t.duration_since(SystemTime::now()).ok())
            .map_or(0, |d| d.as_secs())
    };
    let age = |s: u64| {
        if s < 60 {
            format!("{s}s")
        } else {
            format!("{:02}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60)
        }
    };
    match words {
        [] => {
            let up = st
                .collectors
                .iter()
                .filter(|c| view_lock(&c.view).up)
                .count();
            let mut out = format!(
                "Total number of BMP session : {}\n Session in up state : {up}\n  {:<16} {:<10} {:<10} {:<14} {:<35}\n",
                st.collectors.len(),
                "Session",
                "Alias",
                "State",
                "Age",
                "VPN"
            );
            for c in &st.collectors {
                let v = view_lock(&c.view);
                out.push_str(&format!(
                    "  {:<16} {:<10} {:<10} {:<14} {:<35}\n",
                    c.spec.key.addr.to_string(),
                    c.spec.key.alias.as_deref().unwrap_or(""),
                    if v.up { "Up" } else { "Down" },
                    age(secs_since(v.since)),
                    "_public_"
                ));
            }
            Ok(out)
        }
        [addr, rest @ ..] => {
            let a: Ipv4Addr = addr.parse().map_err(|_| "Error: Wrong parameter.")?;
            let alias = match rest {
                ["verbose"] => None,
                ["alias", n, "verbose"] => Some(*n),
                _ => return Err("Error: Unrecognized command.".into()),
            };
            let c = st
                .collectors
                .iter()
                .find(|c| c.spec.key.addr == a && c.spec.key.alias.as_deref() == alias)
                .ok_or("Error: The BMP session does not exist.")?;
            let v = view_lock(&c.view).clone();
            let state = if v.up {
                "Up".to_owned()
            } else {
                format!("Down (Reason: {})", v.reason.as_deref().unwrap_or("-"))
            };
            let (la, lp) = v.local.map_or(("0.0.0.0".to_owned(), 0), |l| {
                (l.ip().to_string(), l.port())
            });
            let mut out = format!(
                "BMP session {a}, port {}\n    Current state: {state}, Age: {}\n    VPN-instance name: _public_\n    Local address: {la}, Local port: {lp}\n    Statistics timeout: {}(s)\n    ConnectRetry Timer Remainder: {}(s)\n    Statistics-report Timer Remainder: {}(s)\n",
                c.spec.port.unwrap_or(0),
                age(secs_since(v.since)),
                st.statistics,
                secs_until(v.next_try),
                secs_until(v.next_stats),
            );
            // Each route mode's families, and what is reported under it.
            let peers: Vec<String> = st.peers.keys().map(ToString::to_string).collect();
            let table = [loc_rib::TABLE.to_owned()];
            let modes: [(&Vec<Family>, &[String], &str); 3] = [
                (&c.spec.families, &peers, "in pre-policy"),
                (&c.spec.out_families, &peers, "out post-policy"),
                (&c.spec.loc_rib, &table, "local-rib"),
            ];
            for (families, who, mode) in modes {
                for f in families {
                    let af = if *f == Family::IPV6_UNICAST {
                        "ipv6-family"
                    } else {
                        "ipv4-family"
                    };
                    out.push_str(&format!("  BGP {af} unicast :\n"));
                    for w in who {
                        out.push_str(&format!("    {w} ({mode})\n"));
                    }
                }
            }
            Ok(out)
        }
    }
}

/// This router's AS and router ID, when BGP runs (the Loc-RIB instance's identity).
pub fn local_of(cfg: &crate::spec::DaemonConfig) -> Option<(u32, Ipv4Addr)> {
    Some((
        cfg.local_as?,
        cfg.router_id.unwrap_or(Ipv4Addr::UNSPECIFIED),
    ))
}
