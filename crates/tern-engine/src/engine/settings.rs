//! New routing settings (start, commit, rollback) applied without a session reset: VPN
//! instances rebuilt, local routes originated or withdrawn, policies re-run; and the import
//! chain (route-target filtering, RFC 4364 §4.3.2; the peer's import route-policy).

use super::*;

impl Engine {
    /// New routing settings: instances created, changed or removed; local routes originated
    /// or withdrawn; VPN routes filtered again by route target; policies re-run where `scope`
    /// says (everywhere without one).
    pub(super) fn settings(&mut self, r: Arc<Routing>, scope: Option<&PolicyScope>) {
        let old = std::mem::replace(&mut self.routing, r.clone());
        let cfg = *self.rib.config();
        // Instances whose definition changed are rebuilt (their routes withdrawn first).
        let names: HashSet<&str> = old
            .vrfs
            .iter()
            .chain(r.vrfs.iter())
            .map(|s| s.name.as_str())
            .collect();
        let mut rebuilt = Vec::new();
        for name in names {
            let o: Vec<&VrfSpec> = old.vrfs.iter().filter(|s| s.name == name).collect();
            let n: Vec<&VrfSpec> = r.vrfs.iter().filter(|s| s.name == name).collect();
            if o != n {
                rebuilt.push(name.to_string());
            }
        }
        // In name order: labels are allocated in the order instances are rebuilt.
        rebuilt.sort();
        for name in &rebuilt {
            if let Some(x) = self.vrfs.remove(name) {
                // Withdraw what the instance exported.
                let mut ch = Vec::new();
                for (family, prefix) in self.labels.drop_instance(name) {
                    if let Some(spec) = x.specs.iter().find(|s| s.family == family) {
                        self.rib.withdraw_local(
                            spec.vpn_family(),
                            RouteKey::vpn(spec.rd, prefix),
                            &self.resolver,
                            &mut ch,
                        );
                    }
                }
                self.propagate(None, ch);
            }
            let mut specs: Vec<VrfSpec> =
                r.vrfs.iter().filter(|s| &s.name == name).cloned().collect();
            specs.sort_by_key(|s| s.family);
            // Per-instance labels are taken now, in name and family order, so that every
            // shard gives an instance the same one.
            for s in &specs {
                match s.label {
                    LabelMode::PerInstance => {
                        self.labels.instance(name, s.family);
                    }
                    LabelMode::Static(l) => {
                        self.labels.instance_static(name, s.family, Label(l));
                    }
                    LabelMode::PerRoute | LabelMode::PerNextHop => {}
                }
            }
            if !specs.is_empty() {
                self.vrfs.insert(
                    name.clone(),
                    Vrf {
                        rib: Rib::new(cfg),
                        specs,
                    },
                );
            }
        }
        // Local routes: withdraw what is gone, originate what is new or changed (rebuilt
        // instances originate all theirs again).
        for l in &old.local {
            let gone = !r.local.contains(l) || l.vrf.as_ref().is_some_and(|v| rebuilt.contains(v));
            if gone
                && !r
                    .local
                    .iter()
                    .any(|n| n.vrf == l.vrf && n.prefix == l.prefix)
            {
                self.withdraw_local_route(l);
            }
        }
        for l in &r.local {
            let fresh =
                !old.local.contains(l) || l.vrf.as_ref().is_some_and(|v| rebuilt.contains(v));
            if fresh {
                self.originate_local(l);
            }
        }
        self.igp_settings(&old);
        if old.policies != r.policies
            || old.peer_policies != r.peer_policies
            || old.peer_as_in != r.peer_as_in
        {
            self.policies_changed(&old, scope);
        }
        self.forwarding_changed(&old, old.policies != r.policies);
        // Route-target filtering and instance imports follow the new instances: the VPN
        // routes received are filtered again, and every instance that was rebuilt imports
        // the VPN tables again.
        if old.vrfs != r.vrfs || old.keep_all_vpn != r.keep_all_vpn {
            let mut peers: Vec<PeerId> = self
                .up
                .iter()
                .filter(|(_, u)| u.vrf.is_none())
                .filter_map(|(a, _)| self.ids.get(a).copied())
                .collect();
            // A deterministic order (the engine's outputs depend on its inputs alone).
            peers.sort();
            for id in peers {
                let mut ch = Vec::new();
                let policy = ImportChain::new(&self.routing, true);
                if let Err(e) = self.rib.reimport(id, &policy, &self.resolver, &mut ch) {
                    debug!("RIB: reimport: {e}");
                }
                self.propagate(None, ch);
            }
            for family in [Family::VPNV4, Family::VPNV6] {
                let all: Vec<BestChange> = self
                    .rib
                    .loc_rib(family)
                    .into_iter()
                    .map(|(key, b)| BestChange {
                        family,
                        key,
                        old: None,
                        new: Some(b),
                    })
                    .collect();
                let per_vrf = self.vpn_to_vrfs(&all);
                for (v, c) in per_vrf {
                    if rebuilt.contains(&v) {
                        self.propagate(Some(v), c);
                    }
                }
            }
        }
        // Route target constraint: the memberships of the import targets, the default
        // membership's peers.
        self.rtc_settings();
    }

    /// Route policies changed: the peers' routes are run through import policy again and the
    /// peers are sent what their export policy now gives (no session reset, no route refresh:
    /// the Adj-RIB-In is kept); local routes with a policy are originated again. With a
    /// `scope`, only the peers and local routes it names; without, all of them.
    pub(super) fn policies_changed(&mut self, old: &Routing, scope: Option<&PolicyScope>) {
        let mut peers: Vec<(IpAddr, Option<String>)> = self
            .up
            .iter()
            .filter(|(a, _)| scope.is_none_or(|s| s.import.contains(a)))
            .map(|(a, u)| (*a, u.vrf.clone()))
            .collect();
        peers.sort();
        for (addr, vrf) in peers {
            let Some(&id) = self.ids.get(&addr) else {
                continue;
            };
            let mut ch = Vec::new();
            let policy = ImportChain::new(&self.routing, vrf.is_none());
            let r = match &vrf {
                None => self.rib.reimport(id, &policy, &self.resolver, &mut ch),
                Some(v) => match self.vrfs.get_mut(v) {
                    Some(x) => x.rib.reimport(id, &policy, &self.resolver, &mut ch),
                    None => continue,
                },
            };
            if let Err(e) = r {
                debug!("RIB: reimport: {e}");
            }
            self.propagate(vrf, ch);
        }
        for (addr, id, tx, params) in self.adj.peers() {
            if scope.is_some_and(|s| !s.export.contains(&addr)) {
                continue;
            }
            let out = PeerOut {
                tx,
                families: params.families.clone(),
                ctx: params.ctx,
                local: params.local,
                out: params.out.clone(),
            };
            self.join(addr, id, out, params.vrf.clone(), false, true);
        }
        let locals: Vec<LocalRoute> = self
            .routing
            .local
            .iter()
            .filter(|l| {
                l.policy
                    .as_ref()
                    .is_some_and(|p| scope.is_none_or(|s| s.policies.contains(p)))
            })
            .cloned()
            .collect();
        for l in locals {
            if old.local.contains(&l) {
                self.originate_local(&l);
            }
        }
        self.igp_policies(scope);
    }
}

/// Import policy of one peer's UPDATEs: `policy vpn-target` (RFC 4364 §4.3.3, VRP's
/// default: a VPN route none of the local instances imports is not kept, unless the family has
/// `undo policy vpn-target`), then the peer's `ip-prefix P import` and `as-path-filter F
/// import`, then its `route-policy P import` for the family: each must permit.
pub(super) struct ImportChain<'a> {
    routing: &'a Routing,
    /// Public peer (VPN target filtering applies) or PE–CE peer.
    public: bool,
}

impl<'a> ImportChain<'a> {
    pub(super) fn new(routing: &'a Routing, public: bool) -> Self {
        ImportChain { routing, public }
    }
}

impl tern_rib::ImportPolicy for ImportChain<'_> {
    fn import(
        &self,
        _: PeerId,
        info: &PeerInfo,
        family: Family,
        key: &RouteKey,
        attrs: &PathAttrs,
    ) -> tern_rib::Verdict {
        if self.public && family.has_rd() && !self.routing.keep_all_vpn.contains(&family) {
            let imported = self.routing.vrfs.iter().any(|s| {
                s.vpn_family() == family
                    && attrs
                        .ext_communities
                        .iter()
                        .any(|e| s.import_rt.contains(e))
            });
            if !imported {
                return tern_rib::Verdict::Deny;
            }
        }
        // `peer X fake-as F prepend-fake-as`: F added to the path before the import policy.
        let faked;
        let (attrs, modified) = match self.routing.as_in(info.addr, family) {
            crate::asrules::AsIn {
                fake_as: Some(f),
                prepend_fake_as: true,
                ..
            } if info.ebgp => {
                let mut a = attrs.clone();
                a.as_path = a.as_path.prepend(f, 1);
                faked = a;
                (&faked, true)
            }
            _ => (attrs, false),
        };
        let filters = self.routing.peer_filters(info.addr, family, false);
        let policy = self.routing.peer_policy(info.addr, family, false);
        let unchanged = || {
            if modified {
                tern_rib::Verdict::Modify(Box::new(attrs.clone()))
            } else {
                tern_rib::Verdict::Accept
            }
        };
        if filters.is_none() && policy.is_none() {
            return unchanged();
        }
        // The import policy does not see the labels (if-match mpls-label matches labeled
        // families' routes by family instead).
        let labels = if family.has_labels() {
            LabelStack::single(Label(3))
        } else {
            LabelStack::new()
        };
        let input = tern_policy::RouteInput::new(key, attrs, &labels);
        // The peer's ip-prefix and as-path-filter, then its route-policy: each must permit.
        if let Some(f) = filters
            && !self.routing.policies.filters_permit(f, &input)
        {
            return tern_rib::Verdict::Deny;
        }
        let Some(name) = policy else {
            return unchanged();
        };
        match self.routing.policies.evaluate(name, &input) {
            Outcome::Deny => tern_rib::Verdict::Deny,
            Outcome::Permit { attrs: None, .. } if modified => {
                tern_rib::Verdict::Modify(Box::new(attrs.clone()))
            }
            Outcome::Permit { attrs: None, .. } => tern_rib::Verdict::Accept,
            Outcome::Permit { attrs: Some(a), .. } => tern_rib::Verdict::Modify(a),
        }
    }

    fn looped(
        &self,
        info: &PeerInfo,
        family: Family,
        path: &tern_wire::attr::AsPath<'_>,
        local_as: u32,
    ) -> bool {
        info.ebgp && self.routing.as_in(info.addr, family).looped(path, local_as)
    }
}
