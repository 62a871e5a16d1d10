//! A routing-table display of any size, streamed in order: every engine shard lists the keys
//! of the destinations the display shows (in steps, between route inputs), the keys are
//! sorted here, off the engines, then the rows are asked for in chunks of [`CHUNK`]
//! destinations, each shard answering for its own, and put back in order; the next chunk is
//! asked for while the current one is printed. Only the keys (tens of octets a destination)
//! are held for the whole display; rows exist a chunk at a time.
//!
//! A display gives way to route processing: when the engines have handled UPDATEs since the
//! last chunk, the next chunk waits, 10 ms at a time while they keep
//! handling more, up to [`MAX_PAUSE`] a chunk. A display during a full-table churn then takes
//! a small share of the cores (formatting a chunk costs a few milliseconds) and still ends;
//! on an idle router it streams at full speed.

use std::net::IpAddr;

use std::sync::Arc;

use tern_engine::{
    Input as RibMsg, PathFilter, PeerRoutes, Reply, RouteRow, RouteTable, TableStats, Walked,
};
use tern_rib::RouteKey;
use tern_types::{Family, RouteDistinguisher};
use tokio::sync::oneshot;

use crate::rib_task::RibHandle;

/// Destinations per chunk of rows.
pub const CHUNK: usize = 2048;

/// The longest a chunk waits for route processing to pause.
pub const MAX_PAUSE: std::time::Duration = std::time::Duration::from_millis(60);

/// What a streamed display lists.
#[derive(Clone, Debug)]
pub struct Query {
    /// The VPN instance (`None`: the public tables).
    pub vrf: Option<String>,
    /// The family.
    pub family: Family,
    /// One peer's received or accepted routes only.
    pub only: Option<(IpAddr, PeerRoutes)>,
    /// Only this route distinguisher's destinations.
    pub rd: Option<RouteDistinguisher>,
    /// Only the paths that pass.
    pub filter: Option<Arc<PathFilter>>,
}

/// A shard's rows of a chunk, destination by destination.
type Dests = std::vec::IntoIter<(RouteKey, Vec<RouteRow>)>;

/// A display being streamed.
#[derive(Debug)]
pub struct TableStream {
    rib: RibHandle,
    query: Query,
    /// The table's facts (router ID, AS, instance, family); no rows.
    pub header: RouteTable,
    /// Rows (paths) the display lists.
    pub paths: usize,
    /// Every destination listed, in order, with the shard that holds it.
    keys: Vec<(RouteKey, u8)>,
    /// The next destination to ask for.
    pos: usize,
    /// The chunk asked for ahead: its keys and the shards' answers to come.
    ahead: Option<Pending>,
    /// The engines' UPDATEs handled when the last chunk was taken.
    seen: u64,
}

#[derive(Debug)]
struct Pending {
    keys: std::ops::Range<usize>,
    answers: Vec<(u8, oneshot::Receiver<Walked>)>,
}

/// A display's oneshot as the engine's reply.
#[derive(Debug)]
struct Answer(oneshot::Sender<Walked>);

impl Reply for Answer {
    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    fn send(self: Box<Self>, w: Walked) {
        let _ = self.0.send(w);
    }
}

impl TableStream {
    /// Starts a display: the keys of every shard, sorted. `None` when the RIB task is gone,
    /// or the instance (or the peer) is unknown.
    pub async fn open(rib: &RibHandle, query: Query) -> Option<TableStream> {
        let mut rxs = Vec::new();
        for shard in 0..rib.shards() {
            let (tx, rx) = oneshot::channel();
            let m = RibMsg::Keys {
                vrf: query.vrf.clone(),
                family: query.family,
                only: query.only,
                rd: query.rd,
                filter: query.filter.clone(),
                reply: Box::new(Answer(tx)),
            };
            if !rib.ask(shard, m).await {
                return None;
            }
            rxs.push(rx);
        }
        let mut parts = Vec::with_capacity(rxs.len());
        for rx in rxs {
            parts.push(rx.await.ok()?);
        }
        let mut header = parts.first()?.table.clone();
        header.destinations = parts.iter().map(|p| p.keys.len()).sum();
        let paths = parts.iter().map(|p| p.paths).sum();
        // Sorting a million keys takes a while: not on a runtime worker.
        let keys = tokio::task::spawn_blocking(move || {
            let mut keys: Vec<(RouteKey, u8)> = Vec::with_capacity(header_len(&parts));
            for (i, p) in parts.into_iter().enumerate() {
                let shard = u8::try_from(i).unwrap_or(u8::MAX);
                keys.extend(p.keys.into_iter().map(|k| (k, shard)));
            }
            keys.sort_unstable_by_key(|k| k.0);
            keys
        })
        .await
        .ok()?;
        Some(TableStream {
            rib: rib.clone(),
            query,
            header,
            paths,
            keys,
            pos: 0,
            ahead: None,
            seen: rib.steps().updates(),
        })
    }

    /// Waits while the engines are handling inputs (route processing first), at most
    /// [`MAX_PAUSE`].
    async fn give_way(&mut self) {
        let steps = self.rib.steps();
        let mut waited = std::time::Duration::ZERO;
        loop {
            let now = steps.updates();
            if now == self.seen || waited >= MAX_PAUSE {
                self.seen = now;
                return;
            }
            self.seen = now;
            let step = std::time::Duration::from_millis(10);
            tokio::time::sleep(step).await;
            waited += step;
        }
    }

    /// Asks the shards for the rows of the next chunk of destinations.
    async fn ask(&mut self) -> Option<Pending> {
        if self.pos >= self.keys.len() {
            return None;
        }
        let range = self.pos..self.keys.len().min(self.pos + CHUNK);
        self.pos = range.end;
        let mut per_shard: Vec<Vec<RouteKey>> = vec![Vec::new(); self.rib.shards()];
        for (k, s) in &self.keys[range.clone()] {
            if let Some(v) = per_shard.get_mut(usize::from(*s)) {
                v.push(*k);
            }
        }
        let mut answers = Vec::new();
        for (shard, keys) in per_shard.into_iter().enumerate() {
            if keys.is_empty() {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            let m = RibMsg::Rows {
                vrf: self.query.vrf.clone(),
                family: self.query.family,
                only: self.query.only,
                keys,
                filter: self.query.filter.clone(),
                reply: Box::new(Answer(tx)),
            };
            if !self.rib.ask(shard, m).await {
                return None;
            }
            answers.push((u8::try_from(shard).unwrap_or(u8::MAX), rx));
        }
        Some(Pending {
            keys: range,
            answers,
        })
    }

    /// The next rows in order; `None` at the end (or when the RIB task went away). A
    /// destination gone since its key was listed is left out.
    pub async fn next(&mut self) -> Option<Vec<RouteRow>> {
        self.give_way().await;
        let now = match self.ahead.take() {
            Some(p) => p,
            None => self.ask().await?,
        };
        self.ahead = self.ask().await;
        let mut answers: Vec<(u8, Dests)> = Vec::new();
        for (shard, rx) in now.answers {
            answers.push((shard, rx.await.ok()?.dests.into_iter()));
        }
        let mut rows = Vec::new();
        let mut peeked: Vec<Option<(RouteKey, Vec<RouteRow>)>> =
            answers.iter_mut().map(|(_, it)| it.next()).collect();
        for (key, shard) in &self.keys[now.keys] {
            let Some(i) = answers.iter().position(|(s, _)| s == shard) else {
                continue;
            };
            if peeked[i].as_ref().is_some_and(|(k, _)| k == key)
                && let Some((_, r)) = peeked[i].take()
            {
                rows.extend(r);
                peeked[i] = answers[i].1.next();
            }
        }
        Some(rows)
    }
}

fn header_len(parts: &[Walked]) -> usize {
    parts.iter().map(|p| p.keys.len()).sum()
}

/// A table's counts (`display bgp … routing-table statistics`), every shard's summed; `None`
/// when the RIB task is gone or the instance is unknown.
pub async fn stats(
    rib: &RibHandle,
    vrf: Option<String>,
    family: Family,
    rd: Option<RouteDistinguisher>,
) -> Option<(RouteTable, TableStats)> {
    let mut rxs = Vec::new();
    for shard in 0..rib.shards() {
        let (tx, rx) = oneshot::channel();
        let m = RibMsg::Stats {
            vrf: vrf.clone(),
            family,
            rd,
            reply: Box::new(Answer(tx)),
        };
        if !rib.ask(shard, m).await {
            return None;
        }
        rxs.push(rx);
    }
    let mut total = TableStats::default();
    let mut header = None;
    for rx in rxs {
        let w = rx.await.ok()?;
        total.add(&w.stats);
        header.get_or_insert(w.table);
    }
    Some((header?, total))
}

/// The update groups (`display bgp update-peer-group`): every shard's, with their message
/// counts summed (members are the same in every shard); `None` when the RIB task is gone.
pub async fn groups(rib: &RibHandle) -> Option<Vec<tern_engine::adjout::GroupInfo>> {
    let mut rxs = Vec::new();
    for shard in 0..rib.shards() {
        let (tx, rx) = oneshot::channel();
        if !rib
            .ask(
                shard,
                RibMsg::Groups {
                    reply: Box::new(Answer(tx)),
                },
            )
            .await
        {
            return None;
        }
        rxs.push(rx);
    }
    let mut all: Vec<tern_engine::adjout::GroupInfo> = Vec::new();
    for rx in rxs {
        for g in rx.await.ok()?.groups {
            match all.iter_mut().find(|x| x.id == g.id) {
                Some(x) => {
                    x.formatted += g.formatted;
                    x.sent += g.sent;
                }
                None => all.push(g),
            }
        }
    }
    all.sort_by_key(|g| g.id);
    Some(all)
}
