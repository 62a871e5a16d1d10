//! MRT export (RFC 6396): RIB dumps and a log of the messages received.
//!
//! - RIB dumps, TABLE_DUMP_V2 (§4.3): a PEER_INDEX_TABLE, then one RIB_IPV4_UNICAST /
//!   RIB_IPV6_UNICAST record per destination of the public IPv4 / IPv6 unicast tables and one
//!   RIB_GENERIC record per destination of the labeled unicast, VPNv4 and VPNv6 tables, each
//!   with every accepted path (attributes after import policy, as `display bgp
//!   routing-table` shows them). The engine walks its tables in steps between inputs
//!   ([`tern_engine::DumpSink`]); the steps are written as they come into a scratch file, the
//!   peers numbered as they are met, and the file is then assembled behind the peer table
//!   under a temporary name and renamed into place: a dump of any size holds a few steps in
//!   memory, and a reader never sees half a file. Dumps run on demand (`tern mrt dump`, the
//!   control API's `MrtDump`) and every `--mrt-dump-interval` seconds into `--mrt-dir`
//!   (`rib.YYYYMMDD.HHMMSS.mrt`, UTC). A destination with paths received over ADD-PATH is
//!   written with the RFC 8050 variants (RIB_IPV4_UNICAST_ADDPATH, RIB_IPV6_UNICAST_ADDPATH,
//!   RIB_GENERIC_ADDPATH: each entry with its path ID). The RIB keeps no per-path receive time: the originated time of every entry is the dump's.
//!   For the labeled and VPN families, a destination's NLRI carries its best path's labels.
//! - The message log, BGP4MP (§4.4), with `--mrt-updates`: every message received from a
//!   peer as BGP4MP_MESSAGE_AS4 (BGP4MP_MESSAGE on a session without 4-octet AS numbers; their
//!   `_ADDPATH` variants of RFC 8050 where the peer sends ADD-PATH path identifiers) and
//!   every change of a session's state as BGP4MP_STATE_CHANGE_AS4, into
//!   `updates.YYYYMMDD.HHMMSS.mrt` in `--mrt-dir`, a new file every
//!   `--mrt-updates-interval` seconds (files named by the start of their period). Sessions
//!   hand records to a writer thread through a bounded queue and never wait for it: when the
//!   queue is full (a slow or full disk), records are dropped and counted, and the count is
//!   logged.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tern_engine::DumpDest;
use tern_fsm::State;
use tern_types::Family;
use tern_wire::mrt::{self, IndexPeer, RibEntry, fsm_state, mrt_type, table_dump_v2};
use tern_wire::nlri::Nlri;
use tracing::{info, warn};

use crate::rib_task::{DumpSteps, RibHandle};
use crate::spec::PeerSpec;

/// The families a dump holds, in order.
pub const FAMILIES: [Family; 6] = [
    Family::IPV4_UNICAST,
    Family::IPV6_UNICAST,
    Family::IPV4_LABELED,
    Family::IPV6_LABELED,
    Family::VPNV4,
    Family::VPNV6,
];

/// Records the message log's queue holds before records are dropped.
const LOG_QUEUE: usize = 16384;
/// Octets the message log's queue holds before records are dropped.
const LOG_QUEUE_BYTES: usize = 32 << 20;

/// The daemon's MRT settings (command-line options).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Where periodic dumps and the message log go.
    pub dir: Option<PathBuf>,
    /// Seconds between periodic dumps (none: on demand only).
    pub dump_interval: Option<u64>,
    /// Log received messages and state changes (BGP4MP).
    pub updates: bool,
    /// Seconds each message log file covers.
    pub updates_interval: u64,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
static LOG: OnceLock<Log> = OnceLock::new();
/// One dump at a time (they share nothing, but a second one would only slow the first).
static DUMPING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The settings the daemon runs with.
pub fn settings() -> Settings {
    SETTINGS.get().cloned().unwrap_or_default()
}

/// Starts what `settings` asks for: the message log's writer thread and the periodic dumps.
/// `collector`: the BGP identifier written in dumps' peer tables.
pub fn start(settings: Settings, rib: RibHandle, collector: Ipv4Addr) -> io::Result<()> {
    if let Some(dir) = &settings.dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            io::Error::new(e.kind(), format!("MRT directory {}: {e}", dir.display()))
        })?;
    }
    let _ = SETTINGS.set(settings.clone());
    if let (true, Some(dir)) = (settings.updates, settings.dir.clone()) {
        let (tx, rx) = sync_channel(LOG_QUEUE);
        let period = settings.updates_interval.max(1);
        let _ = LOG.set(Log {
            tx,
            queued: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        });
        std::thread::Builder::new()
            .name("mrt-updates".into())
            .spawn(move || log_writer(rx, &dir, period))?;
        info!(period, "MRT message log on");
    }
    if let (Some(secs), Some(dir)) = (settings.dump_interval, settings.dir.clone()) {
        let every = Duration::from_secs(secs.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let path = dir.join(format!("rib.{}.mrt", stamp(now_secs())));
                match dump(&rib, collector, &path).await {
                    Ok(s) => info!(
                        path = %path.display(),
                        destinations = s.destinations,
                        routes = s.routes,
                        "MRT dump written"
                    ),
                    Err(e) => warn!(path = %path.display(), "MRT dump: {e}"),
                }
            }
        });
    }
    Ok(())
}

/// What a dump wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpSummary {
    /// Destinations (RIB records).
    pub destinations: u64,
    /// Paths (RIB entries).
    pub routes: u64,
    /// Peers in the peer table.
    pub peers: usize,
}

/// Writes a dump of the public tables of [`FAMILIES`] to `path` (a scratch file and a
/// temporary file next to it, renamed into place at the end).
pub async fn dump(rib: &RibHandle, collector: Ipv4Addr, path: &Path) -> io::Result<DumpSummary> {
    let _one = DUMPING.lock().await;
    let steps = rib.dump(FAMILIES.to_vec()).await;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || write_dump(steps, collector, &path))
        .await
        .map_err(io::Error::other)?
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn write_dump(mut steps: DumpSteps, collector: Ipv4Addr, path: &Path) -> io::Result<DumpSummary> {
    let scratch = with_suffix(path, ".body.tmp");
    let tmp = with_suffix(path, ".tmp");
    let r = (|| {
        let now = u32::try_from(now_secs()).unwrap_or(u32::MAX);
        let mut body = BufWriter::new(File::create(&scratch)?);
        let mut table = PeerTable::default();
        let mut summary = DumpSummary::default();
        let mut seq: u32 = 0;
        let mut attrs = Vec::new();
        let mut rec = Vec::new();
        let mut failed = None;
        while let Some(step) = steps.rx.blocking_recv() {
            steps.room.taken();
            if failed.is_some() {
                // Keep taking steps so the shards finish; the dump is abandoned.
                continue;
            }
            for d in step {
                if let Err(e) = dest_record(&d, now, seq, &mut table, &mut attrs, &mut rec) {
                    failed = Some(e);
                    break;
                }
                if let Err(e) = body.write_all(&rec) {
                    failed = Some(e);
                    break;
                }
                seq = seq.wrapping_add(1);
                summary.destinations = summary.destinations.saturating_add(1);
                summary.routes = summary
                    .routes
                    .saturating_add(u64::try_from(d.paths.len()).unwrap_or(0));
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if !steps.complete() {
            return Err(io::Error::other("the route engine stopped during the dump"));
        }
        body.flush()?;
        drop(body);
        let mut out = BufWriter::new(File::create(&tmp)?);
        let index = mrt::peer_index_table(collector, "", &table.peers).map_err(io::Error::other)?;
        let mut head = Vec::new();
        mrt::record(
            &mut head,
            now,
            mrt_type::TABLE_DUMP_V2,
            table_dump_v2::PEER_INDEX_TABLE,
            &index,
        )
        .map_err(io::Error::other)?;
        out.write_all(&head)?;
        io::copy(&mut File::open(&scratch)?, &mut out)?;
        let f = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        summary.peers = table.peers.len();
        Ok(summary)
    })();
    let _ = std::fs::remove_file(&scratch);
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// The peers of a dump, numbered as they are met.
#[derive(Default)]
struct PeerTable {
    peers: Vec<IndexPeer>,
    index: std::collections::HashMap<IndexPeer, u16>,
}

impl PeerTable {
    fn of(&mut self, p: IndexPeer) -> io::Result<u16> {
        if let Some(i) = self.index.get(&p) {
            return Ok(*i);
        }
        let i = u16::try_from(self.peers.len())
            .map_err(|_| io::Error::other("more than 65535 peers"))?;
        self.peers.push(p);
        self.index.insert(p, i);
        Ok(i)
    }
}

/// The RIB record of one destination into `rec`.
fn dest_record(
    d: &DumpDest,
    now: u32,
    seq: u32,
    table: &mut PeerTable,
    attrs: &mut Vec<u8>,
    rec: &mut Vec<u8>,
) -> io::Result<()> {
    attrs.clear();
    // RFC 8050: a destination holding paths received with ADD-PATH path IDs is written with
    // them (several paths of one peer are then told apart).
    let add_path = d.paths.iter().any(|p| p.path_id != 0);
    let mut spans = Vec::with_capacity(d.paths.len());
    for p in d.paths.iter().take(usize::from(u16::MAX)) {
        let peer = table.of(IndexPeer {
            bgp_id: p.peer.router_id,
            addr: p.peer.addr,
            asn: p.peer.asn.0,
        })?;
        let start = attrs.len();
        mrt::rib_attributes(d.family, &p.attrs.next_hop, &p.attrs.to_wire(true), attrs)
            .map_err(io::Error::other)?;
        spans.push((peer, start, attrs.len(), add_path.then_some(p.path_id)));
    }
    let entries: Vec<RibEntry<'_>> = spans
        .iter()
        .map(|&(peer_index, a, b, path_id)| RibEntry {
            peer_index,
            originated: now,
            attrs: attrs.get(a..b).unwrap_or_default(),
            path_id,
        })
        .collect();
    let nlri = Nlri {
        path_id: None,
        rd: d.key.rd,
        labels: d.paths.first().map(|p| p.labels).unwrap_or_default(),
        prefix: d.key.prefix,
    };
    let (subtype, body) = mrt::rib(seq, d.family, &nlri, &entries).map_err(io::Error::other)?;
    rec.clear();
    mrt::record(rec, now, mrt_type::TABLE_DUMP_V2, subtype, &body).map_err(io::Error::other)
}

/// The message log's queue.
struct Log {
    tx: SyncSender<Vec<u8>>,
    /// Octets queued.
    queued: AtomicUsize,
    /// Records dropped (queue full, or the disk refused them).
    dropped: AtomicU64,
}

impl Log {
    fn push(&self, rec: Vec<u8>) {
        let n = rec.len();
        if self.queued.load(Ordering::Relaxed).saturating_add(n) > LOG_QUEUE_BYTES {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.queued.fetch_add(n, Ordering::Relaxed);
        match self.tx.try_send(rec) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(n, Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Records dropped by the message log so far.
pub fn dropped() -> u64 {
    LOG.get().map_or(0, |l| l.dropped.load(Ordering::Relaxed))
}

/// A connection's tap into the message log: `None` when the log is off.
#[derive(Debug)]
pub struct Tap {
    session: mrt::Session,
    state: u16,
}

impl Tap {
    /// The tap of a connection to `spec`'s peer from `local`.
    pub fn new(spec: &PeerSpec, local: Option<SocketAddr>) -> Option<Tap> {
        LOG.get()?;
        let unspecified = if spec.addr.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        };
        Some(Tap {
            session: mrt::Session {
                peer_as: spec.remote_as,
                local_as: spec.local_as,
                peer: spec.addr,
                local: local.map_or(unspecified, |a| a.ip()),
            },
            state: fsm_state::IDLE,
        })
    }

    /// A message received (whole, header included); `as4`: the session uses 4-octet AS
    /// numbers; `add_path`: the peer sends ADD-PATH path identifiers (RFC 8050 subtypes).
    pub fn message(&self, as4: bool, add_path: bool, msg: &[u8]) {
        let (sub, body) = mrt::bgp4mp_message(&self.session, as4, add_path, msg);
        emit(sub, &body);
    }

    /// The session's state now: a change is logged.
    pub fn state(&mut self, s: State) {
        let new = match s {
            State::Idle => fsm_state::IDLE,
            State::Connect => fsm_state::CONNECT,
            State::Active => fsm_state::ACTIVE,
            State::OpenSent => fsm_state::OPEN_SENT,
            State::OpenConfirm => fsm_state::OPEN_CONFIRM,
            State::Established => fsm_state::ESTABLISHED,
        };
        if new != self.state {
            let (sub, body) = mrt::bgp4mp_state_change(&self.session, self.state, new);
            self.state = new;
            emit(sub, &body);
        }
    }
}

fn emit(subtype: u16, body: &[u8]) {
    let Some(log) = LOG.get() else { return };
    let mut rec = Vec::with_capacity(body.len().saturating_add(12));
    let now = u32::try_from(now_secs()).unwrap_or(u32::MAX);
    if mrt::record(&mut rec, now, mrt_type::BGP4MP, subtype, body).is_ok() {
        log.push(rec);
    }
}

/// The message log's writer: records into the file of the current period, flushed whenever
/// the queue is empty; write errors drop the records (counted) and the file is opened again
/// for the next ones.
fn log_writer(rx: Receiver<Vec<u8>>, dir: &Path, period: u64) {
    let Some(log) = LOG.get() else { return };
    let mut file: Option<(u64, BufWriter<File>)> = None;
    let mut reported = 0u64;
    let mut last_report = std::time::Instant::now();
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let now = now_secs();
        let start = now.saturating_sub(now % period);
        if file.as_ref().is_some_and(|(s, _)| *s != start)
            && let Some((_, mut f)) = file.take()
        {
            let _ = f.flush();
        }
        if let Some(first) = first {
            let mut batch = vec![first];
            while let Ok(r) = rx.try_recv() {
                batch.push(r);
                if batch.len() >= 1024 {
                    break;
                }
            }
            if file.is_none() {
                let path = dir.join(format!("updates.{}.mrt", stamp(start)));
                match OpenOptions::new().create(true).append(true).open(&path) {
                    Ok(f) => file = Some((start, BufWriter::new(f))),
                    Err(e) => warn!(path = %path.display(), "MRT message log: {e}"),
                }
            }
            let mut failed = file.is_none();
            for r in &batch {
                log.queued.fetch_sub(r.len(), Ordering::Relaxed);
                if failed {
                    log.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if let Some((_, f)) = file.as_mut()
                    && let Err(e) = f.write_all(r)
                {
                    warn!("MRT message log: {e}");
                    failed = true;
                    log.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Some((_, f)) = file.as_mut()
                && !failed
                && let Err(e) = f.flush()
            {
                warn!("MRT message log: {e}");
                failed = true;
            }
            if failed {
                file = None;
            }
        }
        let dropped = log.dropped.load(Ordering::Relaxed);
        if dropped != reported && last_report.elapsed() >= Duration::from_secs(10) {
            warn!(
                dropped,
                "MRT message log: records dropped (queue full or write errors)"
            );
            reported = dropped;
            last_report = std::time::Instant::now();
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYYMMDD.HHMMSS` (UTC) of a time in seconds since the epoch.
pub fn stamp(secs: u64) -> String {
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Days to civil date (proleptic Gregorian).
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}.{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (tx, rx) = sync_channel(2);
        let log = Log {
            tx,
            queued: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        };
        for _ in 0..5 {
            log.push(vec![0; 100]);
        }
        assert_eq!(log.dropped.load(Ordering::Relaxed), 3);
        assert_eq!(log.queued.load(Ordering::Relaxed), 200);
        // Past the octet bound too.
        let _ = rx.try_recv();
        log.queued.store(LOG_QUEUE_BYTES, Ordering::Relaxed);
        log.push(vec![0; 1]);
        assert_eq!(log.dropped.load(Ordering::Relaxed), 4);
        drop(rx);
    }

    /// A large table over several engine shards, dumped through a channel smaller than the
    /// table: every destination is written once, the peer table first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_table_over_shards_is_dumped_whole() {
        use std::sync::Arc;
        use tern_wire::attr::{AsPath, AttrValue, Origin};
        use tern_wire::{Ctx, NextHop, PathAttribute, UpdateBuilder};

        const N: u32 = 60_000;
        let room = Arc::new(crate::rib_task::Room::new(3));
        let rib = crate::rib_task::spawn(
            tern_engine::rib_config(Some(100), Some(Ipv4Addr::new(10, 0, 0, 1))),
            Arc::new(crate::spec::Routing::default()),
            None,
            None,
            room,
            None,
            3,
        );
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ctx = Ctx {
            four_octet_as: true,
            ebgp: true,
            ..Ctx::default()
        };
        rib.send(crate::rib_task::RibMsg::PeerUp {
            session: 1,
            info: tern_rib::PeerInfo {
                addr: peer,
                router_id: Ipv4Addr::new(10, 0, 0, 2),
                asn: tern_types::Asn(200),
                ebgp: true,
                rr_client: false,
                preferred_value: 0,
            },
            ctx,
            out: None,
            vrf: None,
            status: None,
        })
        .await;
        let attrs = [
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::sequence(&[200, 65001], true))),
        ];
        let routes: Vec<Nlri> = (0..N)
            .map(|i| Nlri {
                path_id: None,
                rd: None,
                labels: tern_types::LabelStack::new(),
                prefix: ipnet::IpNet::new(IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + (i << 8))), 24)
                    .unwrap(),
            })
            .collect();
        let mut msgs = Vec::new();
        UpdateBuilder::new(&ctx)
            .reach(
                Family::IPV4_UNICAST,
                &NextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 2)),
                &attrs,
                &routes,
                &mut msgs,
            )
            .unwrap();
        for m in msgs {
            rib.send(crate::rib_task::RibMsg::Update {
                peer,
                session: 1,
                body: m[19..].to_vec(),
            })
            .await;
        }
        let dir = std::env::temp_dir().join(format!("ternd-mrt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rib.mrt");
        // Inputs and dumps are ordered per shard: the dump sees every route.
        let s = dump(&rib, Ipv4Addr::new(10, 0, 0, 1), &path).await.unwrap();
        assert_eq!(
            s,
            DumpSummary {
                destinations: u64::from(N),
                routes: u64::from(N),
                peers: 1
            }
        );
        let b = std::fs::read(&path).unwrap();
        let mut at = 0;
        let mut kinds = Vec::new();
        let mut prefixes = std::collections::HashSet::new();
        while at < b.len() {
            let sub = u16::from_be_bytes([b[at + 6], b[at + 7]]);
            let len = u32::from_be_bytes([b[at + 8], b[at + 9], b[at + 10], b[at + 11]]) as usize;
            if sub == table_dump_v2::RIB_IPV4_UNICAST {
                prefixes.insert(b[at + 12 + 4..at + 12 + 8].to_vec());
            }
            kinds.push(sub);
            at += 12 + len;
        }
        assert_eq!(at, b.len());
        assert_eq!(kinds[0], table_dump_v2::PEER_INDEX_TABLE);
        assert_eq!(kinds.len(), 1 + N as usize);
        assert_eq!(prefixes.len(), N as usize, "every destination once");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(stamp(0), "19700101.000000");
        assert_eq!(stamp(951_782_400), "20000229.000000");
        assert_eq!(stamp(1_798_761_599), "20261231.235959");
    }
}
