//! Live apply: what a committed change does to the running sessions.
//!
//! The decision comes from tern-config's one table ([`tern_config::diff::EFFECTS`]) through the
//! commit's [`ChangeSet`]: a new peer is started, a removed one stopped (Cease, Peer
//! De-configured), a peer whose change resets sessions (connect-interface, ebgp-max-hop,
//! password, keepalive and hold timers (its own or the BGP view's it follows), families, ...) is restarted (Cease, Other Configuration Change), a change
//! that is applied in place (description, GTSM hop count, ConnectRetry) updates the peer without a reset, a
//! change of outbound options (`next-hop-invariable`, `next-hop-local`, `reflect-client`)
//! sends the peer its routes again with them (re-advertise, no reset), and a change of the BGP instance or router ID restarts every session. One rule is the
//! daemon's own: an interface change that moves a peer's source address (its
//! `connect-interface` address) resets that peer, since the session is bound to it.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tern_config::diff::{ChangeSet, Effect};
use tern_wire::notification::cease_sub;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::peer::{self, PeerCmd, PeerHandle};
use crate::rib_task::{RibHandle, RibMsg};
use crate::sockets;
use crate::spec::{DaemonConfig, PeerSpec};
use crate::status::PeerStatus;

/// What to do with the sessions, peer by peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Peers to start.
    pub start: BTreeSet<IpAddr>,
    /// Peers to stop and forget.
    pub stop: BTreeSet<IpAddr>,
    /// Peers to reset with their new settings.
    pub restart: BTreeSet<IpAddr>,
    /// Peers whose settings change without a reset.
    pub update: BTreeSet<IpAddr>,
    /// Peers sent their routes again with new outbound options, without a reset.
    pub readvertise: BTreeSet<IpAddr>,
}

impl Plan {
    /// True when no session is touched.
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
            && self.stop.is_empty()
            && self.restart.is_empty()
            && self.update.is_empty()
            && self.readvertise.is_empty()
    }
}

/// Plans the move from `old` to `new` given the commit's change set.
pub fn plan(old: &DaemonConfig, new: &DaemonConfig, cs: &ChangeSet) -> Plan {
    let olds: HashMap<IpAddr, &PeerSpec> = old.peers.iter().map(|p| (p.addr, p)).collect();
    let news: HashMap<IpAddr, &PeerSpec> = new.peers.iter().map(|p| (p.addr, p)).collect();
    let mut p = Plan::default();
    if cs.resets_all() {
        p.stop.extend(olds.keys().filter(|a| !news.contains_key(a)));
        p.start
            .extend(news.keys().filter(|a| !olds.contains_key(a)));
        p.restart
            .extend(news.keys().filter(|a| olds.contains_key(a)));
        return p;
    }
    for d in &cs.deltas {
        let Some(key) = d.peer() else { continue };
        let a = key.addr;
        match d.effect() {
            Effect::Start if news.contains_key(&a) => {
                p.start.insert(a);
            }
            Effect::Stop if olds.contains_key(&a) => {
                p.stop.insert(a);
            }
            Effect::Reset | Effect::ResetAll if news.contains_key(&a) && olds.contains_key(&a) => {
                p.restart.insert(a);
            }
            Effect::InPlace if news.contains_key(&a) && olds.contains_key(&a) => {
                p.update.insert(a);
            }
            Effect::Readvertise if news.contains_key(&a) && olds.contains_key(&a) => {
                p.readvertise.insert(a);
            }
            _ => {}
        }
    }
    // A moved source address (an interface change under connect-interface) resets the peer.
    for (a, n) in &news {
        if let Some(o) = olds.get(a)
            && o.source.as_ref().map(|s| s.addr) != n.source.as_ref().map(|s| s.addr)
        {
            p.restart.insert(*a);
        }
    }
    // A session that moved between the public network and a VPN instance.
    for (a, n) in &news {
        if let Some(o) = olds.get(a)
            && o.vrf != n.vrf
        {
            p.restart.insert(*a);
        }
    }
    // A single-hop peer that became reachable or unreachable through an interface change.
    for (a, n) in &news {
        if let Some(o) = olds.get(a)
            && o.blocked().is_some() != n.blocked().is_some()
        {
            p.restart.insert(*a);
        }
    }
    let restart = p.restart.clone();
    p.update.retain(|a| !restart.contains(a));
    p.readvertise.retain(|a| !restart.contains(a));
    p
}

/// Where the listeners hand incoming connections, by peer address.
pub type AcceptMap = Arc<RwLock<HashMap<IpAddr, mpsc::Sender<TcpStream>>>>;

/// The status of every running peer, in configuration order, for the displays.
pub type StatusIndex = Arc<RwLock<Vec<(IpAddr, Arc<Mutex<PeerStatus>>)>>>;

/// The running peers.
pub struct Peers {
    handles: HashMap<IpAddr, PeerHandle>,
    accepts: AcceptMap,
    index: StatusIndex,
    rib: RibHandle,
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Peers {
    /// Starts every peer of `cfg`; their sessions feed `rib`.
    pub fn start(cfg: &DaemonConfig, rib: RibHandle) -> Peers {
        let mut p = Peers {
            handles: HashMap::new(),
            accepts: Arc::new(RwLock::new(HashMap::new())),
            index: Arc::new(RwLock::new(Vec::new())),
            rib,
        };
        for spec in &cfg.peers {
            p.spawn(spec.clone());
        }
        p.reindex(cfg);
        p
    }

    /// The map the listeners use.
    pub fn accepts(&self) -> AcceptMap {
        self.accepts.clone()
    }

    /// The status index the displays read.
    pub fn index(&self) -> StatusIndex {
        self.index.clone()
    }

    /// The running peers' settings.
    pub fn specs(&self) -> impl Iterator<Item = &PeerSpec> {
        self.handles.values().map(|h| &h.spec)
    }

    /// Hands a command to a running peer's task (nothing when the peer is not running).
    pub async fn command(&self, addr: IpAddr, cmd: crate::peer::PeerCmd) {
        if let Some(h) = self.handles.get(&addr) {
            let _ = h.cmd.send(cmd).await;
        }
    }

    fn spawn(&mut self, spec: PeerSpec) {
        if let Some(r) = spec.blocked() {
            warn!(peer = %spec.addr, "{r}");
        }
        let h = peer::spawn(spec, self.rib.clone());
        write(&self.accepts).insert(h.spec.addr, h.accept.clone());
        self.handles.insert(h.spec.addr, h);
    }

    async fn stop(&mut self, addr: IpAddr, sub: u8) {
        write(&self.accepts).remove(&addr);
        if let Some(h) = self.handles.remove(&addr) {
            let _ = h.cmd.send(PeerCmd::Stop(sub)).await;
            if tokio::time::timeout(Duration::from_secs(5), h.task)
                .await
                .is_err()
            {
                warn!(peer = %addr, "peer task did not stop in time");
            }
        }
    }

    fn reindex(&self, cfg: &DaemonConfig) {
        *write(&self.index) = cfg
            .peers
            .iter()
            .filter_map(|p| {
                self.handles
                    .get(&p.addr)
                    .map(|h| (p.addr, h.status.clone()))
            })
            .collect();
    }

    /// Carries out `plan`, moving the sessions to `new`. MD5 keys and the GTSM send TTL of the
    /// listening sockets follow the peers.
    pub async fn execute(
        &mut self,
        plan: &Plan,
        new: &DaemonConfig,
        listeners: &[Arc<TcpListener>],
    ) {
        let news: HashMap<IpAddr, &PeerSpec> = new.peers.iter().map(|p| (p.addr, p)).collect();
        for a in &plan.stop {
            info!(peer = %a, "peer removed");
            let had_key = self
                .handles
                .get(a)
                .is_some_and(|h| h.spec.password.is_some());
            self.stop(*a, cease_sub::PEER_DECONFIGURED).await;
            if had_key {
                set_listener_key(listeners, *a, &[]);
            }
        }
        for a in &plan.restart {
            info!(peer = %a, "peer reset by configuration change");
            self.stop(*a, cease_sub::OTHER_CONFIG_CHANGE).await;
        }
        for a in plan.start.iter().chain(&plan.restart) {
            if let Some(spec) = news.get(a) {
                set_listener_key(
                    listeners,
                    *a,
                    spec.password.as_ref().map_or(&[][..], |p| &p.0),
                );
                self.spawn((*spec).clone());
            }
        }
        for a in plan.update.iter().chain(&plan.readvertise) {
            if let (Some(h), Some(spec)) = (self.handles.get_mut(a), news.get(a)) {
                h.spec = (*spec).clone();
                let _ = h.cmd.send(PeerCmd::Update(Box::new((*spec).clone()))).await;
            }
        }
        for a in &plan.readvertise {
            if let Some(spec) = news.get(a) {
                info!(peer = %a, "routes re-advertised with new outbound options");
                self.rib
                    .send(RibMsg::Readvertise {
                        peer: *a,
                        reflect_client: !spec.reflect_client.is_empty(),
                        out: spec.outbound(),
                    })
                    .await;
            }
        }
        let gtsm = |v4: bool| {
            new.peers
                .iter()
                .any(|p| p.min_ttl().is_some() && p.addr.is_ipv4() == v4)
        };
        for l in listeners {
            if let Ok(local) = l.local_addr()
                && gtsm(local.is_ipv4())
            {
                let s = socket2::SockRef::from(l.as_ref());
                let _ = if local.is_ipv4() {
                    s.set_ttl_v4(255)
                } else {
                    s.set_unicast_hops_v6(255)
                };
            }
        }
        self.reindex(new);
    }

    /// Stops every peer (daemon exit).
    pub async fn shutdown(&mut self) {
        let addrs: Vec<IpAddr> = self.handles.keys().copied().collect();
        for a in addrs {
            self.stop(a, cease_sub::ADMIN_SHUTDOWN).await;
        }
    }
}

fn set_listener_key(listeners: &[Arc<TcpListener>], peer: IpAddr, key: &[u8]) {
    for l in listeners {
        if l.local_addr().is_ok_and(|a| a.is_ipv4() == peer.is_ipv4())
            && let Err(e) = sockets::set_md5(l.as_ref(), peer, key)
        {
            warn!(peer = %peer, "TCP MD5 key on the listener: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (tern_config::Config, DaemonConfig) {
        let cfg = tern_config::parse_file(text).unwrap();
        let d = crate::config::resolve(&cfg).unwrap();
        (cfg, d)
    }

    const BASE: &str = "interface GigabitEthernet0/0/1\n ip address 10.0.0.1 255.255.255.0\n#\ninterface LoopBack1\n ip address 1.1.1.9 255.255.255.255\n#\nbgp 100\n router-id 1.1.1.9\n peer 10.0.0.2 as-number 200\n peer 10.0.0.3 as-number 300\n peer 10.0.0.3 description old\n#\nreturn\n";

    fn plan_for(new_text: &str) -> Plan {
        let (oc, od) = load(BASE);
        let (nc, nd) = load(new_text);
        plan(&od, &nd, &tern_config::diff::diff(&oc, &nc))
    }

    fn set(a: &[&str]) -> BTreeSet<IpAddr> {
        a.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn nothing_changed() {
        assert!(plan_for(BASE).is_empty());
    }

    #[test]
    fn added_removed_and_description() {
        let text = BASE
            .replace(
                " peer 10.0.0.2 as-number 200\n",
                " peer 10.0.0.4 as-number 400\n",
            )
            .replace("description old", "description new");
        let p = plan_for(&text);
        assert_eq!(p.start, set(&["10.0.0.4"]));
        assert_eq!(p.stop, set(&["10.0.0.2"]));
        assert_eq!(p.update, set(&["10.0.0.3"]));
        assert!(p.restart.is_empty());
    }

    #[test]
    fn session_settings_reset_the_peer() {
        let text = BASE.replace(
            " peer 10.0.0.3 description old\n",
            " peer 10.0.0.3 description old\n peer 10.0.0.2 connect-interface LoopBack1\n peer 10.0.0.2 ebgp-max-hop 2\n",
        );
        let p = plan_for(&text);
        assert_eq!(p.restart, set(&["10.0.0.2"]));
        assert!(p.start.is_empty() && p.stop.is_empty() && p.update.is_empty());
    }

    #[test]
    fn outbound_options_readvertise_without_a_reset() {
        let text = BASE.replace(
            " peer 10.0.0.3 description old\n",
            " peer 10.0.0.3 description old\n #\n ipv4-family unicast\n  peer 10.0.0.2 next-hop-invariable\n",
        );
        let p = plan_for(&text);
        assert_eq!(p.readvertise, set(&["10.0.0.2"]));
        assert!(p.restart.is_empty() && p.update.is_empty() && !p.is_empty());
    }

    #[test]
    fn router_id_resets_everything() {
        let p = plan_for(&BASE.replace("router-id 1.1.1.9", "router-id 9.9.9.9"));
        assert_eq!(p.restart, set(&["10.0.0.2", "10.0.0.3"]));
    }

    #[test]
    fn a_moved_source_address_resets() {
        let with_ci = BASE.replace(
            " peer 10.0.0.3 description old\n",
            " peer 10.0.0.3 description old\n peer 10.0.0.2 connect-interface LoopBack1\n peer 10.0.0.2 ebgp-max-hop 2\n",
        );
        let (oc, od) = load(&with_ci);
        let moved = with_ci.replace(
            "ip address 1.1.1.9 255.255.255.255",
            "ip address 1.1.1.10 255.255.255.255",
        );
        let (nc, nd) = load(&moved);
        let p = plan(&od, &nd, &tern_config::diff::diff(&oc, &nc));
        assert_eq!(p.restart, set(&["10.0.0.2"]));
    }
}
