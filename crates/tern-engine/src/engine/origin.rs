//! Locally originated routes (`network`, `import-route`; RFC 4271 §9.4) and what the
//! kernel's table decides: a `network` of an IGP route follows that route, and a change of
//! the kernel's routes re-runs the decision process (RFC 4271 §9.1.2.1).

use super::*;

impl Engine {
    pub(super) fn local_attrs(l: &LocalRoute) -> PathAttrs {
        let nh = match (l.next_hop, l.prefix) {
            (Some(IpAddr::V4(a)), _) => NextHop::Ipv4(a),
            (Some(IpAddr::V6(a)), _) => NextHop::Ipv6 {
                global: a,
                link_local: None,
            },
            (None, IpNet::V4(_)) => NextHop::Ipv4(Ipv4Addr::UNSPECIFIED),
            (None, IpNet::V6(_)) => NextHop::Ipv6 {
                global: std::net::Ipv6Addr::UNSPECIFIED,
                link_local: None,
            },
        };
        let mut a = PathAttrs::new(l.origin, AsPath::empty(true), nh);
        a.med = l.med;
        a
    }

    pub(super) fn local_family(l: &LocalRoute) -> Family {
        if l.labeled {
            Family::IPV4_LABELED
        } else if l.prefix.addr().is_ipv6() {
            Family::IPV6_UNICAST
        } else {
            Family::IPV4_UNICAST
        }
    }

    /// True when the kernel's main table holds exactly `prefix` from something other than
    /// tern (a `network` of an IGP route).
    pub(super) fn kernel_has(&self, prefix: IpNet) -> bool {
        self.resolver.holds(prefix)
    }

    pub(super) fn originate_local(&mut self, l: &LocalRoute) {
        if !self.shard.owns(&l.prefix) {
            return;
        }
        if l.kernel && !self.kernel_has(l.prefix) {
            // `network` of a prefix the routing table does not hold (VRP: exact match).
            self.withdraw_local_route(l);
            return;
        }
        let mut a = Self::local_attrs(l);
        let family = Self::local_family(l);
        let key = RouteKey::new(l.prefix);
        if let Some(name) = &l.policy {
            let none = LabelStack::new();
            let mut input = tern_policy::RouteInput::new(&key, &a, &none);
            input.originated = true;
            match self.routing.policies.evaluate(name, &input) {
                Outcome::Deny => {
                    // The policy refuses the route: not originated (withdrawn if it was).
                    self.withdraw_local_route(l);
                    return;
                }
                Outcome::Permit { attrs: Some(m), .. } => a = *m,
                Outcome::Permit { attrs: None, .. } => {}
            }
        }
        // A labeled-unicast network carries a label of ours (the in-label of `display bgp
        // routing-table label`).
        let stack = if l.labeled {
            LabelStack::single(self.labels.swap(family, key))
        } else {
            LabelStack::new()
        };
        let mut ch = Vec::new();
        let ok = match &l.vrf {
            None => self
                .rib
                .originate(family, key, &a, stack, &self.resolver, &mut ch),
            Some(v) => match self.vrfs.get_mut(v) {
                Some(x) => x
                    .rib
                    .originate(family, key, &a, stack, &self.resolver, &mut ch),
                None => false,
            },
        };
        if ok {
            debug!(prefix = %l.prefix, vrf = ?l.vrf, "RIB: local route");
        }
        self.propagate(l.vrf.clone(), ch);
    }

    pub(super) fn withdraw_local_route(&mut self, l: &LocalRoute) {
        if !self.shard.owns(&l.prefix) {
            return;
        }
        let family = Self::local_family(l);
        let key = RouteKey::new(l.prefix);
        if l.labeled {
            self.labels.unswap(family, key);
        }
        let mut ch = Vec::new();
        match &l.vrf {
            None => {
                self.rib
                    .withdraw_local(family, key, &self.resolver, &mut ch);
            }
            Some(v) => {
                if let Some(x) = self.vrfs.get_mut(v) {
                    x.rib.withdraw_local(family, key, &self.resolver, &mut ch);
                }
            }
        }
        self.propagate(l.vrf.clone(), ch);
    }

    /// The kernel's routes changed: every table runs the decision process again (next hops
    /// may have become reachable or not, their costs may differ), and every installed prefix
    /// is brought up to date (its forwarding address may have moved).
    pub(super) fn next_hops_changed(&mut self) {
        let kernel: Vec<LocalRoute> = self
            .routing
            .local
            .iter()
            .filter(|l| l.kernel)
            .cloned()
            .collect();
        for l in &kernel {
            self.originate_local(l);
        }
        for family in Family::KNOWN {
            let mut ch = Vec::new();
            self.rib.reselect_all(family, &self.resolver, &mut ch);
            self.propagate(None, ch);
        }
        let names: Vec<String> = self.vrfs.keys().cloned().collect();
        for v in names {
            for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                let mut ch = Vec::new();
                if let Some(x) = self.vrfs.get_mut(&v) {
                    x.rib.reselect_all(family, &self.resolver, &mut ch);
                }
                self.propagate(Some(v.clone()), ch);
            }
        }
        if self.fib.is_some() {
            for family in [
                Family::IPV4_UNICAST,
                Family::IPV6_UNICAST,
                Family::IPV4_LABELED,
                Family::IPV6_LABELED,
            ] {
                for (key, _) in self.rib.loc_rib(family) {
                    self.fib_mark(None, family, key.prefix);
                }
            }
            let names: Vec<String> = self.vrfs.keys().cloned().collect();
            for v in names {
                for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                    let keys: Vec<RouteKey> = self
                        .vrfs
                        .get(&v)
                        .map(|x| x.rib.loc_rib(family).into_iter().map(|(k, _)| k).collect())
                        .unwrap_or_default();
                    for k in keys {
                        self.fib_mark(Some(&v), family, k.prefix);
                    }
                }
            }
        }
    }
}
