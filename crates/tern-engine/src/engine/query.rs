//! The displays: tables and a peer's routes walked in steps between inputs, rows built from
//! the paths, and the received-route counts reported to each peer's status.

use super::*;

impl Engine {
    /// Queues a display of `family` in domain `vrf` (`only`: one peer's received or accepted
    /// routes); an unknown instance gets no answer (the reply is dropped).
    pub(super) fn start_walk(
        &mut self,
        vrf: Option<String>,
        family: Family,
        only: Option<(PeerId, PeerRoutes)>,
        reply: Box<dyn Reply>,
    ) {
        self.start_walk_for(vrf, family, only, None, reply);
    }

    /// Like [`Engine::start_walk`]; with `lookup`, only the destinations holding that address,
    /// with the detailed view's rows (the asker keeps the most specific).
    pub(super) fn start_walk_for(
        &mut self,
        vrf: Option<String>,
        family: Family,
        only: Option<(PeerId, PeerRoutes)>,
        lookup: Option<IpAddr>,
        reply: Box<dyn Reply>,
    ) {
        if self.domain_rib(vrf.as_deref()).is_none() {
            return;
        }
        self.walks.push_back(Walk {
            vrf,
            family,
            only,
            lookup,
            filter: None,
            cursor: 0,
            mode: WalkMode::Table,
            dests: Vec::new(),
            reply,
        });
    }

    /// Queues a walk of a display streamed in order ([`Input::Keys`], [`Input::Rows`]); with
    /// `only`, in the peer's domain (an unknown peer or instance gets no answer).
    pub(super) fn start_keyed(
        &mut self,
        vrf: Option<String>,
        family: Family,
        only: Option<(IpAddr, PeerRoutes)>,
        filter: Option<Arc<PathFilter>>,
        mode: WalkMode,
        reply: Box<dyn Reply>,
    ) {
        let (vrf, only) = match only {
            None => (vrf, None),
            Some((peer, which)) => {
                let (Some(up), Some(&id)) = (self.up.get(&peer), self.ids.get(&peer)) else {
                    return;
                };
                (up.vrf.clone(), Some((id, which)))
            }
        };
        if self.domain_rib(vrf.as_deref()).is_none() {
            return;
        }
        self.walks.push_back(Walk {
            vrf,
            family,
            only,
            lookup: None,
            filter,
            cursor: 0,
            mode,
            dests: Vec::new(),
            reply,
        });
    }

    /// One step of the first table display waiting: [`WALK_STEP`] destinations turned into
    /// rows (or keys), then the display goes to the back of the queue, or its rows go to the
    /// asker when the walk is done. Returns true when there was a display to work on.
    pub fn walk_step(&mut self) -> bool {
        let Some(mut w) = self.walks.pop_front() else {
            return false;
        };
        if w.reply.is_closed() {
            return true;
        }
        let Some(rib) = self.domain_rib(w.vrf.as_deref()) else {
            // The instance went away meanwhile: the reply is dropped.
            return true;
        };
        let comp = companion(w.vrf.as_deref(), w.family);
        let mut paths = Vec::new();
        let next = match &w.mode {
            WalkMode::Rows(keys) => {
                let end = w.cursor.saturating_add(WALK_STEP).min(keys.len());
                for key in &keys[w.cursor..end] {
                    let p = merged_paths(rib, w.family, comp, key);
                    if !p.is_empty() {
                        paths.push((*key, p));
                    }
                }
                (end < keys.len()).then_some(end)
            }
            _ => walk_merged(rib, w.family, comp, w.cursor, WALK_STEP, &mut paths),
        };
        for (key, mut p) in paths {
            if let WalkMode::Stats { rd, stats } = &mut w.mode {
                if rd.is_none() || key.rd == *rd {
                    count(rib, &key, &p, w.family, stats);
                }
                continue;
            }
            if let WalkMode::Keys { rd, keys, paths } = &mut w.mode {
                if rd.is_some() && key.rd != *rd {
                    continue;
                }
                let n = p
                    .iter()
                    .filter(|p| listed(p, w.only) && passes(rib, p, w.filter.as_deref()))
                    .count();
                if n > 0 {
                    keys.push(key);
                    *paths += n;
                }
                continue;
            }
            if let Some(a) = w.lookup {
                if !key.prefix.contains(&a) {
                    continue;
                }
                p.retain(|p| p.attrs.is_some());
                if p.is_empty() {
                    continue;
                }
                p.sort_by_key(|p| (!p.best, p.peer, p.path_id));
                let installed = rib.installed(w.family, &key, &self.resolver);
                let rows: Vec<RouteRow> = p
                    .iter()
                    .map(|p| {
                        let mut r = detail_row(rib, &key, p, &self.resolver);
                        if let Some(d) = r.detail.as_mut() {
                            d.select = installed
                                .iter()
                                .any(|b| b.peer == p.peer && b.path_id == p.path_id);
                        }
                        r
                    })
                    .collect();
                w.dests.push((key, rows));
                continue;
            }
            let rows: Vec<RouteRow> = match w.only {
                None => {
                    // Paths refused by the import policy are not in the routing table (VRP
                    // shows them under `peer X received-routes` only).
                    p.retain(|p| listed(p, None) && passes(rib, p, w.filter.as_deref()));
                    p.sort_by_key(|p| (!p.best, p.peer, p.path_id));
                    p.iter()
                        .map(|p| {
                            if w.filter.is_some() {
                                detail_row(rib, &key, p, &self.resolver)
                            } else {
                                row(rib, &key, p, &self.resolver)
                            }
                        })
                        .collect()
                }
                Some((id, which)) => p
                    .iter()
                    .filter(|p| p.peer == id)
                    .filter_map(|p| peer_row(rib, &key, p, which, &self.resolver))
                    .collect(),
            };
            if !rows.is_empty() {
                w.dests.push((key, rows));
            }
        }
        match next {
            Some(c) => {
                w.cursor = c;
                self.walks.push_back(w);
            }
            None => {
                if w.lookup.is_some() {
                    for (key, rows) in &mut w.dests {
                        let sent = self.advertised_to(w.vrf.as_deref(), w.family, key);
                        for (i, r) in rows.iter_mut().enumerate() {
                            let best = i == 0 && r.best;
                            if let Some(d) = r.detail.as_mut() {
                                // The best path to the peers without ADD-PATH; to the others,
                                // the paths they are sent with their IDs.
                                let id = d.source.map(|(p, rx)| (p, self.path_ids.of(p, rx)));
                                let mut to: Vec<IpAddr> = sent
                                    .iter()
                                    .filter(|(_, from, out)| match out {
                                        None => best,
                                        Some(x) => id == Some((*from, *x)),
                                    })
                                    .map(|(a, ..)| *a)
                                    .collect();
                                to.dedup();
                                d.advertised_to = Some(to);
                            }
                        }
                    }
                }
                let Some(rib) = self.domain_rib(w.vrf.as_deref()) else {
                    return true;
                };
                let cfg = rib.config();
                let table = RouteTable {
                    router_id: cfg.router_id,
                    local_as: cfg.local_as.0,
                    vrf: w.vrf.clone(),
                    family: w.family.to_string(),
                    destinations: 0,
                    routes: Vec::new(),
                };
                let (keys, paths, stats) = match w.mode {
                    WalkMode::Keys { keys, paths, .. } => (keys, paths, TableStats::default()),
                    WalkMode::Stats { stats, .. } => (Vec::new(), 0, stats),
                    _ => (Vec::new(), 0, TableStats::default()),
                };
                w.reply.send(Walked {
                    table,
                    dests: w.dests,
                    keys,
                    paths,
                    stats,
                    groups: Vec::new(),
                });
            }
        }
        true
    }

    /// True while a table display is being built.
    pub fn walking(&self) -> bool {
        !self.walks.is_empty()
    }

    /// Every path of `family`, for the displays (public tables, or VPN instance `vrf`'s).
    pub fn table(&self, family: Family) -> RouteTable {
        self.table_of(None, family).unwrap_or_else(|| RouteTable {
            router_id: self.rib.config().router_id,
            local_as: self.rib.config().local_as.0,
            vrf: None,
            family: family.to_string(),
            destinations: 0,
            routes: Vec::new(),
        })
    }

    /// The best paths of a public labeled family with their in- and out-labels (`display bgp
    /// routing-table label`, `display bgp vpnv4 all routing-table label`); for IPv4, the IPv4
    /// unicast routes this router gave a label are listed too.
    pub fn label_table(&self, family: Family) -> RouteTable {
        let mut t = self.table(family);
        t.routes.retain(|r| r.best);
        for r in &mut t.routes {
            let key = RouteKey {
                rd: r.rd.as_deref().and_then(|rd| rd.parse().ok()),
                prefix: IpNet::new(r.network, r.prefix_len)
                    .unwrap_or(IpNet::V4(Default::default())),
            };
            if r.from == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
                // A local instance's route: the label is ours, nothing comes in with it.
                r.in_label = r.labels.first().copied();
                r.labels.clear();
            } else {
                r.in_label = self.labels.swapped(family, &key).map(|l| l.0);
            }
        }
        if family == Family::IPV4_LABELED {
            let unicast = self.table(Family::IPV4_UNICAST);
            for mut r in unicast.routes.into_iter().filter(|r| r.best) {
                let Ok(prefix) = IpNet::new(r.network, r.prefix_len) else {
                    continue;
                };
                if t.routes.iter().any(|x| x.prefix == r.prefix) {
                    continue;
                }
                if let Some(l) = self.labels.swapped(family, &RouteKey::new(prefix)) {
                    r.in_label = Some(l.0);
                    t.routes.push(r);
                }
            }
            t.routes.sort_by_key(|r| (r.network, r.prefix_len));
        }
        t.destinations = t.routes.len();
        t
    }

    /// The peers a destination of domain `vrf` is sent to now, with the source and ADD-PATH
    /// path ID of what each is sent (see [`AdjOut::advertised_to`]).
    fn advertised_to(
        &mut self,
        vrf: Option<&str>,
        family: Family,
        key: &RouteKey,
    ) -> Vec<(IpAddr, PeerId, Option<u32>)> {
        let vrfs = &self.vrfs;
        let lookup = |v: &str| vrfs.get(v).map(|x| &x.rib);
        let mut env = adj_out::Env {
            public: &self.rib,
            vrfs: &lookup,
            labels: &mut self.labels,
            policies: &self.routing.policies,
            path_ids: &mut self.path_ids,
            resolver: &self.resolver,
        };
        self.adj.advertised_to(vrf, family, key, &mut env)
    }

    /// One peer's routes of `family`: received, accepted, or advertised; `None` when the
    /// peer is not up.
    pub fn peer_routes(
        &mut self,
        peer: IpAddr,
        family: Family,
        which: PeerRoutes,
    ) -> Option<RouteTable> {
        let vrf = self.up.get(&peer)?.vrf.clone();
        let id = *self.ids.get(&peer)?;
        let mut routes = Vec::new();
        match which {
            PeerRoutes::Received | PeerRoutes::Accepted => {
                let rib = self.domain_rib(vrf.as_deref())?;
                let mut paths = rib.adj_rib_in(id, family);
                paths.sort_by_key(|p| p.0);
                routes.extend(
                    paths
                        .iter()
                        .filter_map(|(key, p)| peer_row(rib, key, p, which, &self.resolver)),
                );
            }
            PeerRoutes::Advertised => {
                let vrfs = &self.vrfs;
                let lookup = |v: &str| vrfs.get(v).map(|x| &x.rib);
                let mut env = adj_out::Env {
                    public: &self.rib,
                    vrfs: &lookup,
                    labels: &mut self.labels,
                    policies: &self.routing.policies,
                    path_ids: &mut self.path_ids,
                    resolver: &self.resolver,
                };
                let sent = self.adj.advertised(peer, family, &mut env)?;
                for (key, a, labels) in sent {
                    routes.push(attrs_row(&key, &a, labels));
                }
            }
        }
        let cfg = self.rib.config();
        let mut t = RouteTable {
            router_id: cfg.router_id,
            local_as: cfg.local_as.0,
            vrf,
            family: family.to_string(),
            destinations: 0,
            routes,
        };
        t.recount();
        Some(t)
    }

    /// Every path of `family` in the public tables or VPN instance `vrf`'s; `None` when the
    /// instance does not exist.
    pub fn table_of(&self, vrf: Option<&str>, family: Family) -> Option<RouteTable> {
        let rib = self.domain_rib(vrf)?;
        let cfg = rib.config();
        let mut dests: BTreeMap<RouteKey, Vec<PathInfo>> = BTreeMap::new();
        let peers = std::iter::once(PeerId::LOCAL).chain(self.ids.values().copied());
        for peer in peers {
            for (k, p) in rib.adj_rib_in(peer, family) {
                dests.entry(k).or_default().push(p);
            }
        }
        let mut routes = Vec::new();
        dests.retain(|_, paths| {
            paths.retain(|p| p.attrs.is_some());
            !paths.is_empty()
        });
        for (key, mut paths) in dests.iter().map(|(k, v)| (k, v.clone())) {
            paths.sort_by_key(|p| (!p.best, p.peer, p.path_id));
            for p in paths {
                routes.push(row(rib, key, &p, &self.resolver));
            }
        }
        Some(RouteTable {
            router_id: cfg.router_id,
            local_as: cfg.local_as.0,
            vrf: vrf.map(str::to_string),
            family: family.to_string(),
            destinations: dests.len(),
            routes,
        })
    }

    /// Writes the received-prefix counts of the peers whose UPDATEs were applied since the
    /// last output step into their status.
    pub(super) fn show_counts(&mut self) {
        for peer in std::mem::take(&mut self.counts_dirty) {
            let (Some(up), Some(&id)) = (self.up.get(&peer), self.ids.get(&peer)) else {
                continue;
            };
            let Some(st) = &up.status else { continue };
            let rib = match &up.vrf {
                None => Some(&self.rib),
                Some(v) => self.vrfs.get(v).map(|x| &x.rib),
            };
            if let Some(rib) = rib {
                st.received(received_counts(rib, id));
            }
        }
    }
}

/// The table whose routes a display of `family` in domain `vrf` lists too: the public IPv6
/// unicast displays (`display bgp ipv6 routing-table`) list the 6PE routes (IPv6 labeled,
/// RFC 4798, learned from IPv4 peers with `label-route-capability`), as VRP does, where they
/// are IPv6 routes.
fn companion(vrf: Option<&str>, family: Family) -> Option<Family> {
    (vrf.is_none() && family == Family::IPV6_UNICAST).then_some(Family::IPV6_LABELED)
}

/// Walk positions from here on are in the companion table (position − `SECOND`).
const SECOND: usize = 1 << 40;

/// The paths of `key` in `family`, then in its companion table: those are not marked best
/// while `family` has a best path (the unicast route is the one installed and sent to
/// unicast peers).
fn merged_paths(rib: &Rib, family: Family, comp: Option<Family>, key: &RouteKey) -> Vec<PathInfo> {
    let mut p = rib.paths(family, key);
    if let Some(c) = comp {
        let best = p.iter().any(|x| x.best);
        p.extend(rib.paths(c, key).into_iter().map(|mut x| {
            x.best &= !best;
            x
        }));
    }
    p
}

/// [`Rib::walk`] over `family`, then over its companion table, each destination once with
/// the paths of both ([`merged_paths`]).
fn walk_merged(
    rib: &Rib,
    family: Family,
    comp: Option<Family>,
    cursor: usize,
    n: usize,
    out: &mut Vec<(RouteKey, Vec<PathInfo>)>,
) -> Option<usize> {
    let Some(c) = comp else {
        return rib.walk(family, cursor, n, out);
    };
    let start = out.len();
    if cursor < SECOND {
        let next = rib.walk(family, cursor, n, out);
        for (key, p) in &mut out[start..] {
            let best = p.iter().any(|x| x.best);
            p.extend(rib.paths(c, key).into_iter().map(|mut x| {
                x.best &= !best;
                x
            }));
        }
        Some(next.unwrap_or(SECOND))
    } else {
        let next = rib.walk(c, cursor - SECOND, n, out);
        // A destination the first table holds was listed with it.
        let walked = out.split_off(start);
        out.extend(
            walked
                .into_iter()
                .filter(|(key, _)| rib.paths(family, key).is_empty()),
        );
        next.map(|x| x + SECOND)
    }
}

/// Counts a destination's paths into `stats` (the paths a routing table lists: accepted by
/// the import policy).
fn count(rib: &Rib, key: &RouteKey, paths: &[PathInfo], family: Family, stats: &mut TableStats) {
    let mut origins: Option<(u32, bool)> = None;
    let mut listed_any = false;
    let local_as = rib.config().local_as.0;
    for p in paths.iter().filter(|p| listed(p, None)) {
        listed_any = true;
        stats.routes += 1;
        if p.best {
            stats.best += 1;
            if family == Family::IPV4_UNICAST || family == Family::IPV6_UNICAST {
                stats.active += 1;
            }
        }
        if let IpNet::V4(n) = key.prefix {
            let first = n.addr().octets()[0];
            let natural = match first {
                0..=127 => 8,
                128..=191 => 16,
                _ => 24,
            };
            if n.prefix_len() != natural {
                stats.cidr += 1;
            }
        }
        let set = rib.attr_set(p.attrs);
        if !rib.store().communities(set).is_empty() {
            stats.community += 1;
        }
        let origin = rib
            .store()
            .as_path(set)
            .path()
            .asns()
            .last()
            .unwrap_or(local_as);
        origins = match origins {
            None => Some((origin, false)),
            Some((o, differ)) => Some((o, differ || o != origin)),
        };
    }
    if listed_any {
        stats.destinations += 1;
    }
    if origins.is_some_and(|(_, differ)| differ) {
        stats.different_origin_as += 1;
    }
}

/// Whether the path passes a display's filter (no filter: every path).
fn passes(rib: &Rib, p: &PathInfo, filter: Option<&PathFilter>) -> bool {
    let Some(f) = filter else { return true };
    let id = if p.attrs.is_some() {
        p.attrs
    } else {
        p.in_attrs
    };
    f.communities(rib.store().communities(rib.attr_set(id)))
}

/// Whether a display lists the path: a routing table lists the paths the import policy
/// accepted; `peer X received-routes` every path of the peer, `accepted-routes` its accepted
/// ones.
fn listed(p: &PathInfo, only: Option<(PeerId, PeerRoutes)>) -> bool {
    match only {
        None => p.attrs.is_some(),
        Some((id, PeerRoutes::Received)) => p.peer == id,
        Some((id, _)) => p.peer == id && p.attrs.is_some(),
    }
}

/// A path as `peer X received-routes` (attributes as received, before import policy) or
/// `accepted-routes` (only accepted paths, attributes after policy) shows it.
pub(super) fn peer_row(
    rib: &Rib,
    key: &RouteKey,
    p: &PathInfo,
    which: PeerRoutes,
    resolver: &NextHopTable,
) -> Option<RouteRow> {
    if which == PeerRoutes::Accepted && !p.attrs.is_some() {
        return None;
    }
    let mut r = row(rib, key, p, resolver);
    if which == PeerRoutes::Received {
        let a = rib.attrs(p.in_attrs);
        r.med = a.med;
        r.local_pref = a.local_pref;
        r.pref_val = a.preferred_value;
    }
    Some(r)
}

pub(super) fn row(rib: &Rib, key: &RouteKey, p: &PathInfo, resolver: &NextHopTable) -> RouteRow {
    let accepted = p.attrs.is_some();
    let id = if accepted { p.attrs } else { p.in_attrs };
    let set = rib.attr_set(id);
    // Valid: accepted, and a next hop that resolves (local routes always do).
    let valid = accepted
        && (p.peer == PeerId::LOCAL
            || set
                .next_hop
                .addr()
                .is_some_and(|nh| resolver.cost(nh).is_some()));
    let path = rib.store().as_path(set).path().to_string();
    let info = rib.peer(p.peer);
    RouteRow {
        rd: key.rd.map(|rd| rd.to_string()),
        prefix: key.prefix.to_string(),
        network: key.prefix.addr(),
        prefix_len: key.prefix.prefix_len(),
        next_hop: match &set.next_hop {
            NextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
            NextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
            NextHop::Other(_) => None,
        },
        med: set.med,
        local_pref: set.local_pref,
        pref_val: set.preferred_value,
        as_path: path,
        origin: match set.origin {
            Origin::Igp => "i",
            Origin::Egp => "e",
            Origin::Incomplete => "?",
        }
        .into(),
        labels: p.labels.labels().map(|l| l.0).collect(),
        in_label: None,
        valid,
        best: p.best,
        stale: p.stale,
        detail: None,
        internal: p.peer != PeerId::LOCAL && info.is_some_and(|i| !i.ebgp),
        from: info.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |i| i.addr),
        originator_id: set.originator_id,
        cluster_list: rib.store().cluster_list(set).to_vec(),
    }
}

/// A row with what the detailed view adds.
pub(super) fn detail_row(
    rib: &Rib,
    key: &RouteKey,
    p: &PathInfo,
    resolver: &NextHopTable,
) -> RouteRow {
    let mut r = row(rib, key, p, resolver);
    let id = if p.attrs.is_some() {
        p.attrs
    } else {
        p.in_attrs
    };
    let a = rib.attrs(id);
    r.detail = Some(Box::new(crate::rows::RowDetail {
        communities: a
            .communities
            .iter()
            .map(|c| crate::rows::community_text(*c))
            .collect(),
        ext_communities: a.ext_communities.iter().map(|e| e.to_string()).collect(),
        large_communities: a
            .large_communities
            .iter()
            .map(|l| format!("{}:{}:{}", l[0], l[1], l[2]))
            .collect(),
        peer_router_id: rib.peer(p.peer).map(|i| i.router_id),
        igp_cost: a.next_hop.addr().and_then(|nh| resolver.cost(nh)),
        relay: None,
        advertised_to: None,
        source: Some((p.peer, p.path_id)),
        select: false,
    }));
    r
}

/// A row for a route as it is sent.
pub(super) fn attrs_row(key: &RouteKey, a: &PathAttrs, labels: LabelStack) -> RouteRow {
    RouteRow {
        rd: key.rd.map(|rd| rd.to_string()),
        prefix: key.prefix.to_string(),
        network: key.prefix.addr(),
        prefix_len: key.prefix.prefix_len(),
        next_hop: match &a.next_hop {
            NextHop::Ipv4(x) => Some(IpAddr::V4(*x)),
            NextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
            NextHop::Other(_) => None,
        },
        med: a.med,
        local_pref: a.local_pref,
        pref_val: a.preferred_value,
        as_path: a.as_path.to_string(),
        origin: match a.origin {
            Origin::Igp => "i",
            Origin::Egp => "e",
            Origin::Incomplete => "?",
        }
        .into(),
        labels: labels.labels().map(|l| l.0).collect(),
        in_label: None,
        valid: true,
        best: true,
        stale: false,
        detail: None,
        internal: false,
        from: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        originator_id: a.originator_id,
        cluster_list: a.cluster_list.clone(),
    }
}

/// The routes held from peer `id` per family, as the displays name the families.
pub(super) fn received_counts(rib: &Rib, id: PeerId) -> BTreeMap<String, u64> {
    rib.received(id)
        .into_iter()
        .map(|(f, n)| (f.to_string(), n))
        .collect()
}
