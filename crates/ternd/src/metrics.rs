//! Prometheus metrics: `GET /metrics` on the address of `--metrics ADDR:PORT`, in the
//! Prometheus text exposition format (version 0.0.4), encoded with `prometheus-client`.
//!
//! Everything is collected when a scrape arrives, from where the displays read it:
//!
//! - the peers from their status ([`crate::status::PeerStatus`], what `display bgp peer`
//!   shows): session state (as BGP4-MIB numbers it, RFC 4273 `bgpPeerState`), time in
//!   Established, messages by type, received prefixes per family;
//! - the route engine from each shard's counts ([`tern_engine::EngineCounts`], asked with
//!   [`tern_engine::Input::Metrics`] and answered at once: counters kept as routes change and
//!   queue lengths, no table is walked): routes, destinations and paths per table, accepted
//!   prefixes per peer, interned attributes, update groups and their members' queues;
//! - the engine's input queues, and its step timings ([`StepTimes`], a histogram kept by the
//!   RIB tasks with a few atomic additions per step).
//!
//! A scrape never holds route processing: the question waits its turn in each shard's input
//! queue like any input, and the answer is a handful of numbers per table, group and peer.
//! The HTTP side is a minimal HTTP/1.1 responder (one request per connection).

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tern_engine::EngineCounts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use crate::control::Shared;
use crate::status::MsgCounts;

/// How long a scrape waits for the engine shards' counts before answering without them.
const ENGINE_WAIT: Duration = Duration::from_secs(5);

/// How long a connection may take to send its request.
const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// The largest request head read.
const MAX_REQUEST: usize = 8192;

/// Upper bounds of the step-duration histogram's buckets, seconds.
pub const STEP_BUCKETS: [f64; 14] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 1.0,
];

/// A histogram of durations kept in atomics (no lock): one counter per bucket of
/// [`STEP_BUCKETS`] and one above them, and the sum in nanoseconds.
#[derive(Debug, Default)]
pub struct Timings {
    buckets: [AtomicU64; STEP_BUCKETS.len() + 1],
    sum_ns: AtomicU64,
}

impl Timings {
    /// Counts one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = STEP_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(STEP_BUCKETS.len());
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The sum (seconds), the count, and each bucket's own count (not cumulative).
    fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut count = 0u64;
        let mut buckets = Vec::with_capacity(STEP_BUCKETS.len() + 1);
        for (i, b) in self.buckets.iter().enumerate() {
            let n = b.load(Ordering::Relaxed);
            count = count.saturating_add(n);
            buckets.push((STEP_BUCKETS.get(i).copied().unwrap_or(f64::INFINITY), n));
        }
        #[allow(clippy::cast_precision_loss)]
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }
}

/// One engine shard's step timings.
#[derive(Debug, Default)]
pub struct ShardSteps {
    /// Batches of inputs (up to the RIB task's batch size each).
    pub input: Timings,
    /// Output steps that did something (update groups, the kernel, displays, dumps).
    pub output: Timings,
    /// Inputs handled.
    pub inputs: AtomicU64,
    /// UPDATEs handled (route processing; displays give way to it).
    pub updates: AtomicU64,
}

/// The step timings of every engine shard, kept by the RIB tasks.
#[derive(Debug)]
pub struct StepTimes(Vec<ShardSteps>);

impl StepTimes {
    /// UPDATEs handled by every shard so far.
    pub fn updates(&self) -> u64 {
        self.0
            .iter()
            .map(|s| s.updates.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    }

    /// Timings for `shards` shards.
    pub fn new(shards: usize) -> StepTimes {
        StepTimes((0..shards).map(|_| ShardSteps::default()).collect())
    }

    /// One shard's.
    pub fn shard(&self, i: usize) -> Option<&ShardSteps> {
        self.0.get(i)
    }
}

/// A peer as a scrape sees it.
#[derive(Debug)]
struct PeerSample {
    addr: IpAddr,
    vrf: Option<String>,
    state: String,
    since: Option<SystemTime>,
    received: MsgCounts,
    sent: MsgCounts,
    prefixes: Vec<(String, u64)>,
    up_count: u64,
}

/// Everything one scrape reports, gathered before encoding.
#[derive(Debug)]
struct Snapshot {
    now: SystemTime,
    peers: Vec<PeerSample>,
    /// Each shard's counts (`None`: a shard did not answer in time).
    engine: Option<Vec<EngineCounts>>,
    /// Entries in each shard's input queue.
    input_queued: Vec<usize>,
    steps: Arc<StepTimes>,
}

/// BGP4-MIB's number of a state (RFC 4273 `bgpPeerState`): idle(1) … established(6).
pub fn state_number(state: &str) -> u8 {
    match state {
        "Connect" => 2,
        "Active" => 3,
        "OpenSent" => 4,
        "OpenConfirm" => 5,
        "Established" => 6,
        _ => 1,
    }
}

/// The label of the public network's peers and tables (as VRP names it).
pub const PUBLIC: &str = "_public_";

fn instance(vrf: Option<&str>) -> String {
    vrf.unwrap_or(PUBLIC).to_owned()
}

async fn gather(shared: &Shared) -> Snapshot {
    let now = SystemTime::now();
    let statuses: Vec<_> = shared
        .peers
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    let peers = statuses
        .iter()
        .map(|s| {
            let p = crate::status::lock(s);
            PeerSample {
                addr: p.addr,
                vrf: p.vrf.clone(),
                state: p.state.clone(),
                since: p.since,
                received: p.received,
                sent: p.sent,
                prefixes: p.prefixes.iter().map(|(f, n)| (f.clone(), *n)).collect(),
                up_count: p.up_count,
            }
        })
        .collect();
    let engine = match tokio::time::timeout(ENGINE_WAIT, shared.rib.census()).await {
        Ok(c) => c,
        Err(_) => {
            debug!("metrics: the engine did not answer in time");
            None
        }
    };
    Snapshot {
        now,
        peers,
        engine,
        input_queued: shared.rib.input_queued(),
        steps: shared.rib.steps(),
    }
}

/// A metric family being written: its descriptor once, then a sample per label set.
fn family<L: EncodeLabelSet, M: EncodeMetric>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: Vec<(L, M)>,
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in &rows {
        v.encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

type Labels = Vec<(&'static str, String)>;

fn gauges<V>(rows: Vec<(Labels, V)>) -> Vec<(Labels, ConstGauge<V>)>
where
    ConstGauge<V>: EncodeMetric,
{
    rows.into_iter()
        .map(|(l, v)| (l, ConstGauge::new(v)))
        .collect()
}

fn counters(rows: Vec<(Labels, u64)>) -> Vec<(Labels, ConstCounter<u64>)> {
    rows.into_iter()
        .map(|(l, v)| (l, ConstCounter::new(v)))
        .collect()
}

/// The sum of the shards' counts, per key (families and instances are the same in every
/// shard; each holds its part of the destinations).
fn summed<K: Ord + Clone>(
    parts: impl Iterator<Item = (K, u64)>,
) -> std::collections::BTreeMap<K, u64> {
    let mut m = std::collections::BTreeMap::new();
    for (k, n) in parts {
        let e: &mut u64 = m.entry(k).or_insert(0);
        *e = e.saturating_add(n);
    }
    m
}

fn u(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl Collector for Snapshot {
    #[allow(clippy::too_many_lines)]
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let peer = |p: &PeerSample| -> Labels {
            vec![
                ("peer", p.addr.to_string()),
                ("vpn_instance", instance(p.vrf.as_deref())),
            ]
        };
        let with = |mut l: Labels, k: &'static str, v: &str| {
            l.push((k, v.to_owned()));
            l
        };
        family(
            &mut enc,
            "tern_build_info",
            "The daemon's version",
            MetricType::Gauge,
            gauges(vec![(
                vec![("version", env!("CARGO_PKG_VERSION").to_owned())],
                1i64,
            )]),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_state",
            "BGP session state as BGP4-MIB numbers it (RFC 4273 bgpPeerState): 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established",
            MetricType::Gauge,
            gauges(
                self.peers
                    .iter()
                    .map(|p| (peer(p), i64::from(state_number(&p.state))))
                    .collect(),
            ),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_established",
            "1 when the session is Established, else 0",
            MetricType::Gauge,
            gauges(
                self.peers
                    .iter()
                    .map(|p| (peer(p), i64::from(p.state == "Established")))
                    .collect(),
            ),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_established_seconds",
            "Seconds since the session reached Established (0 when it is not)",
            MetricType::Gauge,
            gauges(
                self.peers
                    .iter()
                    .map(|p| {
                        let up = match (p.state.as_str(), p.since) {
                            ("Established", Some(t)) => {
                                self.now.duration_since(t).map_or(0, |d| d.as_secs())
                            }
                            _ => 0,
                        };
                        (peer(p), i64::try_from(up).unwrap_or(i64::MAX))
                    })
                    .collect(),
            ),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_established_transitions",
            "Times the session reached Established (display bgp peer verbose: Up count)",
            MetricType::Counter,
            counters(self.peers.iter().map(|p| (peer(p), p.up_count)).collect()),
        )?;
        let by_type = |c: &MsgCounts| {
            [
                ("open", c.open),
                ("update", c.update),
                ("notification", c.notification),
                ("keepalive", c.keepalive),
                ("route_refresh", c.refresh),
            ]
        };
        family(
            &mut enc,
            "tern_bgp_peer_messages_received",
            "BGP messages received, by type",
            MetricType::Counter,
            counters(
                self.peers
                    .iter()
                    .flat_map(|p| {
                        by_type(&p.received)
                            .into_iter()
                            .map(move |(t, n)| (with(peer(p), "type", t), n))
                    })
                    .collect(),
            ),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_messages_sent",
            "BGP messages sent, by type",
            MetricType::Counter,
            counters(
                self.peers
                    .iter()
                    .flat_map(|p| {
                        by_type(&p.sent)
                            .into_iter()
                            .map(move |(t, n)| (with(peer(p), "type", t), n))
                    })
                    .collect(),
            ),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_prefixes_received",
            "Prefixes received from the peer (its Adj-RIB-In, refused ones included), per family: display bgp peer's PrefRcv",
            MetricType::Gauge,
            gauges(
                self.peers
                    .iter()
                    .flat_map(|p| {
                        p.prefixes
                            .iter()
                            .map(move |(f, n)| (with(peer(p), "afi_safi", f), *n))
                    })
                    .collect(),
            ),
        )?;
        let shards = &self.steps;
        let shard_label = |i: usize| -> Labels { vec![("shard", i.to_string())] };
        family(
            &mut enc,
            "tern_engine_input_queue",
            "Inputs waiting in each engine shard's queue",
            MetricType::Gauge,
            gauges(
                self.input_queued
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (shard_label(i), u(*n)))
                    .collect(),
            ),
        )?;
        family(
            &mut enc,
            "tern_engine_inputs",
            "Inputs handled by each engine shard (UPDATEs, session events, display requests)",
            MetricType::Counter,
            counters(
                (0..self.input_queued.len())
                    .filter_map(|i| {
                        shards
                            .shard(i)
                            .map(|s| (shard_label(i), s.inputs.load(Ordering::Relaxed)))
                    })
                    .collect(),
            ),
        )?;
        {
            let mut m = enc.encode_descriptor(
                "tern_engine_step_seconds",
                "Duration of the engine's steps: a batch of inputs (step=input), or an output step that did work (step=output)",
                None,
                MetricType::Histogram,
            )?;
            for i in 0..self.input_queued.len() {
                let Some(s) = shards.shard(i) else { continue };
                for (step, t) in [("input", &s.input), ("output", &s.output)] {
                    let labels: Labels = vec![("shard", i.to_string()), ("step", step.to_owned())];
                    let (sum, count, buckets) = t.read();
                    m.encode_family(&labels)?
                        .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                            sum, count, &buckets, None,
                        )?;
                }
            }
        }
        let Some(engine) = &self.engine else {
            return Ok(());
        };
        let table_key = |vrf: &Option<String>, f: &tern_types::Family| -> (String, String) {
            (instance(vrf.as_deref()), f.to_string())
        };
        let tables = |pick: fn(&tern_engine::TableCount) -> u64| {
            summed(
                engine
                    .iter()
                    .flat_map(|e| e.tables.iter())
                    .map(|t| (table_key(&t.vrf, &t.family), pick(t))),
            )
            .into_iter()
            .map(|((v, f), n)| -> (Labels, u64) { (vec![("vpn_instance", v), ("afi_safi", f)], n) })
            .collect::<Vec<_>>()
        };
        family(
            &mut enc,
            "tern_rib_routes",
            "Routes in each table (paths accepted by import policy): display bgp routing-table statistics' Total Number of Routes",
            MetricType::Gauge,
            gauges(tables(|t| t.routes)),
        )?;
        family(
            &mut enc,
            "tern_rib_destinations",
            "Destinations (prefixes) in each table",
            MetricType::Gauge,
            gauges(tables(|t| u(t.destinations))),
        )?;
        family(
            &mut enc,
            "tern_rib_paths",
            "Paths held in each table, those refused by import policy or a loop check included",
            MetricType::Gauge,
            gauges(tables(|t| u(t.paths))),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_prefixes_accepted",
            "Prefixes from the peer accepted by import policy, per family: what display bgp routing-table peer X accepted-routes lists",
            MetricType::Gauge,
            gauges(
                summed(engine.iter().flat_map(|e| e.peers.iter()).flat_map(|p| {
                    p.accepted.iter().map(move |(f, n)| {
                        (
                            (
                                p.addr.to_string(),
                                instance(p.vrf.as_deref()),
                                f.to_string(),
                            ),
                            *n,
                        )
                    })
                }))
                .into_iter()
                .map(|((a, v, f), n)| -> (Labels, u64) {
                    (vec![("peer", a), ("vpn_instance", v), ("afi_safi", f)], n)
                })
                .collect(),
            ),
        )?;
        let memory = |pick: fn(&tern_rib::attrs::StoreStats) -> usize| {
            summed(
                engine
                    .iter()
                    .flat_map(|e| e.memory.iter())
                    .map(|(v, s)| (instance(v.as_deref()), u(pick(s)))),
            )
            .into_iter()
            .map(|(v, n)| -> (Labels, u64) { (vec![("vpn_instance", v)], n) })
            .collect::<Vec<_>>()
        };
        family(
            &mut enc,
            "tern_rib_attribute_sets",
            "Interned path attribute sets (each stored once, shared by the paths that carry it)",
            MetricType::Gauge,
            gauges(memory(|s| s.sets)),
        )?;
        family(
            &mut enc,
            "tern_rib_as_paths",
            "Interned AS paths",
            MetricType::Gauge,
            gauges(memory(|s| s.as_paths)),
        )?;
        family(
            &mut enc,
            "tern_rib_community_lists",
            "Interned community, extended community and large community lists",
            MetricType::Gauge,
            gauges(memory(|s| {
                s.communities + s.ext_communities + s.large_communities
            })),
        )?;
        family(
            &mut enc,
            "tern_rib_interned_bytes",
            "Octets allocated by the interned attributes",
            MetricType::Gauge,
            gauges(memory(|s| s.bytes)),
        )?;
        // Update groups: every shard has the same groups (members join in the same order);
        // their message counts and pending destinations are summed.
        let mut groups: std::collections::BTreeMap<u64, tern_engine::adjout::GroupLoad> =
            std::collections::BTreeMap::new();
        for g in engine.iter().flat_map(|e| e.groups.iter()) {
            match groups.get_mut(&g.id) {
                Some(x) => {
                    x.pending = x.pending.saturating_add(g.pending);
                    x.formatted = x.formatted.saturating_add(g.formatted);
                    x.sent = x.sent.saturating_add(g.sent);
                }
                None => {
                    groups.insert(g.id, g.clone());
                }
            }
        }
        let mut per_instance: std::collections::BTreeMap<String, u64> =
            std::collections::BTreeMap::from([(PUBLIC.to_owned(), 0)]);
        for g in groups.values() {
            *per_instance.entry(instance(g.vrf.as_deref())).or_default() += 1;
        }
        family(
            &mut enc,
            "tern_update_groups",
            "Update groups (display bgp update-peer-group)",
            MetricType::Gauge,
            gauges(
                per_instance
                    .into_iter()
                    .map(|(v, n)| -> (Labels, u64) { (vec![("vpn_instance", v)], n) })
                    .collect(),
            ),
        )?;
        let group = |g: &tern_engine::adjout::GroupLoad| -> Labels {
            vec![
                ("group", g.id.to_string()),
                ("vpn_instance", instance(g.vrf.as_deref())),
                ("kind", g.kind.to_owned()),
                (
                    "families",
                    g.families
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ]
        };
        family(
            &mut enc,
            "tern_update_group_peers",
            "Members of each update group",
            MetricType::Gauge,
            gauges(groups.values().map(|g| (group(g), u(g.members))).collect()),
        )?;
        family(
            &mut enc,
            "tern_update_group_pending_destinations",
            "Changed destinations waiting to be evaluated and sent in each update group's stream",
            MetricType::Gauge,
            gauges(groups.values().map(|g| (group(g), u(g.pending))).collect()),
        )?;
        family(
            &mut enc,
            "tern_update_group_messages_formatted",
            "UPDATE buffers encoded once for each update group",
            MetricType::Counter,
            counters(groups.values().map(|g| (group(g), g.formatted)).collect()),
        )?;
        family(
            &mut enc,
            "tern_update_group_messages_sent",
            "Copies of them handed to the group's members",
            MetricType::Counter,
            counters(groups.values().map(|g| (group(g), g.sent)).collect()),
        )?;
        // Members' queues: the writer's queue is one per session, seen by every shard (the
        // largest reading is kept); what the shards hold back is summed.
        let mut members: std::collections::BTreeMap<IpAddr, (u64, u64, u64)> =
            std::collections::BTreeMap::new();
        for m in engine.iter().flat_map(|e| e.members.iter()) {
            let e = members.entry(m.addr).or_default();
            e.0 = e.0.max(u(m.queued));
            e.1 = e.1.saturating_add(u(m.backlog));
            e.2 = e.2.saturating_add(u(m.catching_up.unwrap_or(0)));
        }
        let member = |a: &IpAddr| -> Labels {
            let vrf = self
                .peers
                .iter()
                .find(|p| p.addr == *a)
                .and_then(|p| p.vrf.clone());
            vec![
                ("peer", a.to_string()),
                ("vpn_instance", instance(vrf.as_deref())),
            ]
        };
        family(
            &mut enc,
            "tern_bgp_peer_out_queue",
            "Buffers of UPDATEs (one or more messages each) waiting in the session's writer queue",
            MetricType::Gauge,
            gauges(members.iter().map(|(a, m)| (member(a), m.0)).collect()),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_out_backlog",
            "Buffers encoded for the peer that did not fit its writer queue, held by the engine",
            MetricType::Gauge,
            gauges(members.iter().map(|(a, m)| (member(a), m.1)).collect()),
        )?;
        family(
            &mut enc,
            "tern_bgp_peer_catch_up_destinations",
            "Destinations queued for a peer catching up alone, outside its update group's stream",
            MetricType::Gauge,
            gauges(members.iter().map(|(a, m)| (member(a), m.2)).collect()),
        )?;
        family(
            &mut enc,
            "tern_fib_pending_prefixes",
            "Prefixes whose kernel route waits to be brought up to date",
            MetricType::Gauge,
            gauges(vec![(
                Labels::new(),
                engine
                    .iter()
                    .fold(0u64, |a, e| a.saturating_add(u(e.fib_pending))),
            )]),
        )?;
        family(
            &mut enc,
            "tern_engine_walks",
            "Displays and RIB dumps being walked",
            MetricType::Gauge,
            gauges(vec![(
                Labels::new(),
                engine
                    .iter()
                    .fold(0u64, |a, e| a.saturating_add(u(e.walks))),
            )]),
        )?;
        Ok(())
    }
}

/// The exposition of one scrape.
async fn exposition(shared: &Shared) -> String {
    let snap = gather(shared).await;
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snap));
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry) {
        warn!("metrics: encoding failed: {e}");
    }
    text
}

/// Starts serving `GET /metrics` on `addr`; fails when the address cannot be bound.
pub async fn start(addr: SocketAddr, shared: Arc<Shared>) -> io::Result<()> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr} (metrics): {e}")))?;
    info!(
        "metrics on http://{}/metrics",
        l.local_addr().unwrap_or(addr)
    );
    tokio::spawn(async move {
        loop {
            match l.accept().await {
                Ok((stream, from)) => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, &shared).await {
                            debug!(%from, "metrics: {e}");
                        }
                    });
                }
                Err(e) => {
                    warn!("metrics accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

/// Reads one request head and answers it.
async fn answer(mut s: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let read = async {
        let mut buf = [0u8; 1024];
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
            if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
                return Ok(());
            }
            if head.len() > MAX_REQUEST {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request head too large",
                ));
            }
        }
    };
    tokio::time::timeout(REQUEST_WAIT, read)
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    let line = head
        .split(|b| *b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim().to_owned())
        .unwrap_or_default();
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body, extra) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => (
            "200 OK",
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            exposition(shared).await,
            "",
        ),
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "Not found: the metrics are at /metrics\n".to_owned(),
            "",
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "Method not allowed\n".to_owned(),
            "Allow: GET, HEAD\r\n",
        ),
    };
    let mut out = String::with_capacity(body.len() + 160);
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        out.push_str(&body);
    }
    s.write_all(out.as_bytes()).await?;
    s.shutdown().await
}
