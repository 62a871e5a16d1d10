//! The engine's counts for monitoring ([`Input::Metrics`](crate::Input::Metrics)), answered
//! at once: every figure is a counter the engine keeps as routes change or the length of a
//! queue, so the answer costs a few reads per table, update group and peer, never a walk
//! over a table.

use std::net::IpAddr;

use tern_rib::attrs::StoreStats;
use tern_types::Family;

use super::Engine;
use crate::adjout::{GroupLoad, MemberLoad};

/// One table's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCount {
    /// The VPN instance (`None`: the public tables).
    pub vrf: Option<String>,
    /// The family.
    pub family: Family,
    /// Destinations.
    pub destinations: usize,
    /// Paths held, those refused by import policy or a loop check included.
    pub paths: usize,
    /// Paths accepted by import policy: the routes the table lists (`routing-table
    /// statistics`' "Total Number of Routes").
    pub routes: u64,
}

/// An Established peer's accepted paths (what `peer X accepted-routes` lists), per family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCount {
    /// The peer.
    pub addr: IpAddr,
    /// Its VPN instance (PE–CE session).
    pub vrf: Option<String>,
    /// Accepted paths per family (families with none left out).
    pub accepted: Vec<(Family, u64)>,
}

/// What [`Input::Metrics`](crate::Input::Metrics) answers: one engine's (one shard's) counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineCounts {
    /// The public tables of every family, then each VPN instance's tables of its families.
    pub tables: Vec<TableCount>,
    /// The interned attributes of the public RIB (`None`) and of each instance's.
    pub memory: Vec<(Option<String>, StoreStats)>,
    /// The Established peers.
    pub peers: Vec<PeerCount>,
    /// The update groups.
    pub groups: Vec<GroupLoad>,
    /// Their members' outbound queues.
    pub members: Vec<MemberLoad>,
    /// Prefixes waiting for their kernel route to be brought up to date.
    pub fib_pending: usize,
    /// Displays and dumps being walked.
    pub walks: usize,
}

/// Where an engine's counts go.
pub trait CountsReply: Send + std::fmt::Debug {
    /// Delivers the counts.
    fn send(self: Box<Self>, counts: EngineCounts);
}

impl Engine {
    /// The engine's counts now (see the module documentation: no table is walked).
    pub fn census(&self) -> EngineCounts {
        let mut tables = Vec::new();
        let mut memory = Vec::new();
        let mut table = |vrf: Option<&str>, rib: &tern_rib::Rib, family: Family| {
            let (destinations, paths) = rib.counts(family);
            tables.push(TableCount {
                vrf: vrf.map(str::to_owned),
                family,
                destinations,
                paths,
                routes: rib.accepted_total(family),
            });
        };
        for f in Family::KNOWN {
            table(None, &self.rib, f);
        }
        for (name, v) in &self.vrfs {
            for s in &v.specs {
                table(Some(name), &v.rib, s.family);
            }
        }
        memory.push((None, self.rib.store().stats()));
        for (name, v) in &self.vrfs {
            memory.push((Some(name.clone()), v.rib.store().stats()));
        }
        let mut peers: Vec<PeerCount> = self
            .up
            .iter()
            .filter_map(|(addr, up)| {
                let id = *self.ids.get(addr)?;
                let rib = self.domain_rib(up.vrf.as_deref())?;
                Some(PeerCount {
                    addr: *addr,
                    vrf: up.vrf.clone(),
                    accepted: rib.accepted(id),
                })
            })
            .collect();
        peers.sort_by_key(|p| p.addr);
        let (groups, members) = self.adj.load();
        EngineCounts {
            tables,
            memory,
            peers,
            groups,
            members,
            fib_pending: if self.fib.is_some() {
                self.fib_dirty.0.len()
            } else {
                0
            },
            walks: self.walks.len() + self.dumps.len(),
        }
    }
}
