//! BMP Loc-RIB monitoring (RFC 9069): the best paths of the public tables, for the families
//! under `route-mode F unicast local-rib`.
//!
//! The Loc-RIB is reported as one instance peer (§4.1: peer type 3, address zero, this
//! router's AS and BGP identifier) with its Peer Up (§5.3: zero addresses and ports, a
//! fabricated OPEN sent and received with this router's AS, identifier and the monitored
//! families, and the VRF/Table Name TLV "global"). The route engine hands every change of best
//! path to [`Tap`] as it happens ([`tern_engine::LocRibSink`]); each becomes a Route
//! Monitoring message (§5.4: the path as selected, AS numbers in four octets; a withdrawal
//! when the destination is gone) queued to every connected collector that monitors its
//! family.
//!
//! A collector that connects is sent the table as it stands: a dump of the engine's tables
//! (walked in steps, [`crate::rib_task::RibHandle::dump`]), the best path of each destination,
//! then End-of-RIB per family. The changes that happen meanwhile are held for that collector
//! and sent after the dump, in their order: what it ends with is the table as it is.

use std::sync::OnceLock;

use tern_engine::{DumpDest, LocRib, LocRibChange, LocRibSink};
use tern_wire::{Message, Open, capability::Capability};

use super::*;
use crate::rib_task::{RibHandle, RibMsg};

/// The VRF/Table Name of the public tables (RFC 9069 §4.3).
pub(super) const TABLE: &str = "global";

/// Changes a connecting collector may have held for it during its dump before it counts as
/// too slow.
const HELD: usize = 4 * QUEUE;

static RIB: OnceLock<RibHandle> = OnceLock::new();

/// The route engine the Loc-RIB is read from (set once at start).
pub fn attach(rib: RibHandle) {
    let _ = RIB.set(rib);
}

/// The Loc-RIB instance peer as reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Instance {
    /// The families monitored by some collector.
    pub families: Vec<Family>,
    pub header: PeerHeader,
    pub up: wire::PeerUp,
}

impl Instance {
    /// The instance of this router (`local_as`, `router_id`) for `families`.
    pub fn new(local_as: u32, router_id: Ipv4Addr, families: Vec<Family>) -> Instance {
        let header = PeerHeader {
            peer_type: 3,
            flags: 0,
            distinguisher: 0,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            asn: local_as,
            bgp_id: router_id,
            secs: 0,
            usecs: 0,
        };
        let mut caps: Vec<Capability> = families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        caps.push(Capability::FourOctetAs(local_as));
        let open = Message::Open(Open::new(local_as, 0, router_id, caps))
            .to_bytes()
            .unwrap_or_default();
        let up = wire::PeerUp {
            local_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            local_port: 0,
            remote_port: 0,
            sent_open: open.clone(),
            received_open: open,
            information: vec![(wire::info::TABLE_NAME, TABLE.as_bytes().to_vec())],
        };
        Instance {
            families,
            header,
            up,
        }
    }
}

/// The engine's side of Loc-RIB monitoring: changes to the collectors' queues.
#[derive(Debug)]
struct Tap;

impl LocRibSink for Tap {
    fn changed(&self, change: LocRibChange) {
        let (header, links) = {
            let st = state();
            let Some(inst) = &st.loc else { return };
            let links: Vec<Link> = st
                .links
                .iter()
                .filter(|l| l.loc_families.contains(&change.family))
                .cloned()
                .collect();
            (inst.header, links)
        };
        if links.is_empty() {
            return;
        }
        let Some(b) = change_message(&now_header(&header), &change) else {
            return;
        };
        for l in &links {
            l.offer_loc(b.clone());
        }
    }
}

/// The Route Monitoring message of one destination: its best path, or its withdrawal.
fn change_message(header: &PeerHeader, c: &LocRibChange) -> Option<Bytes> {
    let nlri = Nlri {
        path_id: None,
        rd: c.key.rd,
        labels: c.best.as_ref().map(|p| p.labels).unwrap_or_default(),
        prefix: c.key.prefix,
    };
    let builder = UpdateBuilder::new(&Ctx::default());
    let mut msgs = Vec::new();
    let r = match &c.best {
        Some(p) => builder
            .reach(
                c.family,
                &p.attrs.next_hop,
                &p.attrs.to_wire(true),
                &[nlri],
                &mut msgs,
            )
            .map(|_| ()),
        None => builder.withdraw(c.family, &[nlri], &mut msgs).map(|_| ()),
    };
    if let Err(e) = r {
        warn!("BMP: Loc-RIB route {} not encoded: {e}", c.key.prefix);
        return None;
    }
    let mut out = Vec::new();
    for m in msgs {
        if let Err(e) = wire::route_monitoring(&mut out, header, &m) {
            warn!("BMP message not encoded: {e}");
            return None;
        }
    }
    Some(Bytes::from(out))
}

/// The best paths of one dump step as Route Monitoring messages, appended to `out`; returns
/// how many destinations.
fn step_messages(header: &PeerHeader, step: Vec<DumpDest>, out: &mut Vec<u8>) -> usize {
    let mut n = 0;
    for d in step {
        let Some(best) = d.paths.into_iter().find(|p| p.best) else {
            continue;
        };
        let c = LocRibChange {
            family: d.family,
            key: d.key,
            best: Some(best),
        };
        if let Some(b) = change_message(header, &c) {
            out.extend_from_slice(&b);
            n += 1;
        }
    }
    n
}

/// The monitoring the engine is to run for `inst` (None: none).
fn monitor(inst: Option<&Instance>) -> Option<LocRib> {
    let inst = inst.filter(|i| !i.families.is_empty())?;
    Some(LocRib {
        families: inst.families.clone(),
        sink: Arc::new(Tap),
    })
}

/// Tells the engine what to monitor (after a change of [`State::loc`]).
pub(super) fn tell_engine(inst: Option<&Instance>) {
    let Some(rib) = RIB.get().cloned() else {
        return;
    };
    let m = monitor(inst);
    tokio::spawn(async move { rib.send(RibMsg::LocRib(m)).await });
}

/// Sends a newly connected collector the Loc-RIB's Peer Up, its table and End-of-RIB, then
/// the changes held meanwhile; from then on its changes go to its queue.
pub(super) async fn initial(
    s: &mut TcpStream,
    link: &Link,
    overflow: &Notify,
) -> Result<(), String> {
    let Some(inst) = state().loc.clone() else {
        link.release_loc();
        return Ok(());
    };
    let families: Vec<Family> = link
        .loc_families
        .iter()
        .filter(|f| inst.families.contains(f))
        .copied()
        .collect();
    if families.is_empty() {
        link.release_loc();
        return Ok(());
    }
    let header = now_header(&inst.header);
    let mut chunk = Vec::with_capacity(64 * 1024);
    if let Some(b) = encoded(|b| wire::peer_up(b, &header, &inst.up)) {
        chunk.extend_from_slice(&b);
    }
    let Some(rib) = RIB.get() else {
        return Err("no route engine".into());
    };
    let mut steps = rib.dump(families.clone()).await;
    let mut routes = 0usize;
    while let Some(step) = steps.rx.recv().await {
        steps.room.taken();
        routes += step_messages(&header, step, &mut chunk);
        if chunk.len() >= 64 * 1024 {
            write(s, &chunk, overflow).await?;
            chunk.clear();
        }
    }
    if !steps.complete() {
        return Err("the route engine stopped during the Loc-RIB dump".into());
    }
    // End-of-RIB per family: the initial table is complete (RFC 9069 §5.4, RFC 7854 §5).
    for f in &families {
        let eor = UpdateBuilder::end_of_rib(*f);
        if let Some(b) = encoded(|b| wire::route_monitoring(b, &header, &eor)) {
            chunk.extend_from_slice(&b);
        }
    }
    info!(routes, "BMP: Loc-RIB sent to a collector");
    for b in link.release_loc() {
        chunk.extend_from_slice(&b);
        if chunk.len() >= 64 * 1024 {
            write(s, &chunk, overflow).await?;
            chunk.clear();
        }
    }
    write(s, &chunk, overflow).await
}

impl Link {
    /// Queues a Loc-RIB change, or holds it while the collector's initial table is sent.
    fn offer_loc(&self, b: Bytes) {
        {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(h) = held.as_mut() {
                if h.len() >= HELD {
                    held.take();
                    self.broken.store(true, Ordering::Relaxed);
                    self.overflow.notify_one();
                } else {
                    h.push(b);
                }
                return;
            }
        }
        self.offer(b);
    }

    /// Stops holding Loc-RIB changes; returns those held.
    fn release_loc(&self) -> Vec<Bytes> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default()
    }
}
