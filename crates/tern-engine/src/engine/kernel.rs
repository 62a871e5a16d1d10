//! The kernel side of the engine's output: prefixes whose best route changed are marked and
//! sent to the installer as [`FibOp`]s while it has room (RFC 4271 §9.1.3: the best routes go
//! into the forwarding table).
//!
//! Per domain and unicast family ([`crate::routing::Forwarding`]): under VRP `maximum
//! load-balancing` a route goes in over the next hops of its equal-cost paths
//! ([`tern_rib::multipath`], [`FibOp::Multipath`]); under `routing-table rib-only` BGP routes
//! stay out of the kernel (with a route policy, those it permits), and a change of either
//! brings the family's kernel routes up to date.

use super::*;

impl Engine {
    /// Marks a prefix of a domain for the kernel. Under `routing-table rib-only` without a
    /// policy nothing is: no route of the family went in since the setting came, and what was
    /// in before was marked when it came ([`Engine::forwarding_changed`]).
    pub(super) fn fib_mark(&mut self, vrf: Option<&str>, family: Family, prefix: IpNet) {
        if self.fib.is_none()
            || ![
                Family::IPV4_UNICAST,
                Family::IPV6_UNICAST,
                Family::IPV4_LABELED,
                Family::IPV6_LABELED,
            ]
            .contains(&family)
        {
            return;
        }
        let unicast = if prefix.addr().is_ipv6() {
            Family::IPV6_UNICAST
        } else {
            Family::IPV4_UNICAST
        };
        if self
            .routing
            .forwarding
            .iter()
            .any(|f| f.vrf.as_deref() == vrf && f.family == unicast && f.rib_only == Some(None))
        {
            return;
        }
        self.fib_mark_key(vrf, prefix);
    }

    /// Marks a prefix of a domain for the kernel, whatever the settings.
    fn fib_mark_key(&mut self, vrf: Option<&str>, prefix: IpNet) {
        let key = (vrf.map(str::to_string), prefix);
        // A best-path change: whatever marked the prefix before, its kernel route is written.
        self.fib_soft.remove(&key);
        if self.fib_dirty.1.insert(key.clone()) {
            self.fib_dirty.0.push_back(key);
        }
    }

    /// Marks a prefix whose paths changed while its best path stayed (load balancing): its
    /// kernel route is brought up to date unless it was and stays single-path.
    pub(super) fn fib_mark_soft(&mut self, vrf: Option<&str>, family: Family, prefix: IpNet) {
        let key = (vrf.map(str::to_string), prefix);
        if self.fib_dirty.1.contains(&key) {
            return;
        }
        self.fib_mark(vrf, family, prefix);
        if self.fib_dirty.1.contains(&key) {
            self.fib_soft.insert(key);
        }
    }

    /// New forwarding settings: each domain's load balancing set in its tables, and every
    /// destination of a family whose settings changed (or whose `rib-only` policy may have)
    /// marked for the kernel.
    pub(super) fn forwarding_changed(&mut self, old: &Routing, policies_changed: bool) {
        let mut readvertise = false;
        let mut domains: Vec<Option<String>> = vec![None];
        domains.extend(self.vrfs.keys().cloned().map(Some));
        for vrf in domains {
            for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                let new = self.routing.forwarding(vrf.as_deref(), family);
                let rib = match vrf.as_deref() {
                    None => &mut self.rib,
                    Some(v) => match self.vrfs.get_mut(v) {
                        Some(x) => &mut x.rib,
                        None => continue,
                    },
                };
                let was = rib.load_balancing(family);
                rib.set_load_balancing(family, new.load_balancing);
                readvertise |= was.next_hop_self != new.load_balancing.next_hop_self;
                let before = old.forwarding(vrf.as_deref(), family);
                let policy = policies_changed && matches!(new.rib_only, Some(Some(_)));
                if was == new.load_balancing && before.rib_only == new.rib_only && !policy {
                    continue;
                }
                let keys: Vec<RouteKey> = rib.loc_rib(family).into_iter().map(|(k, _)| k).collect();
                // The labeled routes installed in the family's place (labeled IPv4, 6PE).
                let labeled: Vec<RouteKey> = match (vrf.is_none(), family.labeled()) {
                    (true, Some(l)) => rib.loc_rib(l).into_iter().map(|(k, _)| k).collect(),
                    _ => Vec::new(),
                };
                if self.fib.is_none() {
                    continue;
                }
                for k in keys.iter().chain(labeled.iter()) {
                    self.fib_mark_key(vrf.as_deref(), k.prefix);
                    if new.rib_only.is_some() {
                        self.fib_forced.insert((vrf.clone(), k.prefix));
                    }
                }
            }
        }
        if readvertise {
            // The next hop EBGP-learned routes go to IBGP peers with changed: every peer is
            // sent its table again.
            for (addr, id, tx, params) in self.adj.peers() {
                let out = PeerOut {
                    tx,
                    families: params.families.clone(),
                    ctx: params.ctx,
                    local: params.local,
                    out: params.out.clone(),
                };
                self.join(addr, id, out, params.vrf.clone(), false, true);
            }
        }
    }

    /// The kernel table of a VPN instance: 1000 + its rank among the instances by name
    /// (`ip route show table N`).
    pub fn vrf_table(&self, vrf: &str) -> Option<u32> {
        let i = self.vrfs.keys().position(|v| v == vrf)?;
        u32::try_from(i).ok().map(|i| VRF_TABLE_BASE + i)
    }

    /// Sends the dirty prefixes' current state to the installer while it has room: the best
    /// route learned from a peer (unicast, else labeled unicast) via its next hop (a 6PE
    /// route's `::ffff:a.b.c.d` is the IPv4 address a.b.c.d), or removal
    /// (none, or a local route the kernel already has).
    pub(super) fn flush_fib(&mut self) -> bool {
        let Some(fib) = self.fib.clone() else {
            return false;
        };
        let mut progress = false;
        while let Some((vrf, prefix)) = self.fib_dirty.0.front().cloned() {
            let key = RouteKey::new(prefix);
            let family = if prefix.addr().is_ipv6() {
                Family::IPV6_UNICAST
            } else {
                Family::IPV4_UNICAST
            };
            let (rib, table) = match vrf.as_deref() {
                None => (&self.rib, crate::ports::MAIN_TABLE),
                Some(v) => match (self.vrfs.get(v), self.vrf_table(v)) {
                    (Some(x), Some(t)) => (&x.rib, t),
                    _ => {
                        self.fib_dirty.0.pop_front();
                        self.fib_dirty.1.remove(&(vrf, prefix));
                        continue;
                    }
                },
            };
            let soft = self.fib_soft.remove(&(vrf.clone(), prefix));
            let fwd = self.routing.forwarding(vrf.as_deref(), family);
            let installed = rib.installed(family, &key, &self.resolver);
            let best = installed
                .first()
                .copied()
                .or_else(|| {
                    // Labeled unicast: IPv4 (RFC 8277) or IPv6 over IPv4 (6PE, RFC 4798).
                    vrf.is_none()
                        .then(|| family.labeled().and_then(|l| rib.best(l, &key)))
                        .flatten()
                })
                .filter(|b| b.peer != PeerId::LOCAL);
            // `routing-table rib-only`: out of the kernel (with a policy, what it permits).
            let kept_out = best.is_some_and(|b| match &fwd.rib_only {
                None => false,
                Some(None) => true,
                Some(Some(policy)) => {
                    let attrs = rib.attrs(b.attrs);
                    let input = tern_policy::RouteInput::new(&key, &attrs, &b.labels);
                    matches!(
                        self.routing.policies.evaluate(policy, &input),
                        Outcome::Permit { .. }
                    )
                }
            });
            let best = best.filter(|_| !kept_out);
            let mut next_hops: Vec<IpAddr> = Vec::new();
            if best.is_some() {
                for b in &installed {
                    if let Some(nh) = rib.attr_set(b.attrs).next_hop.addr()
                        && !next_hops.contains(&nh)
                    {
                        next_hops.push(nh);
                    }
                }
            }
            if let (Some(b), true) = (best, next_hops.is_empty())
                && let Some(nh) = rib.attr_set(b.attrs).next_hop.addr()
            {
                next_hops.push(nh);
            }
            let fkey = (vrf.clone(), prefix);
            let was_multi = self.fib_multi.contains(&fkey);
            let forced = self.fib_forced.remove(&fkey);
            // Under `routing-table rib-only` (no policy) nothing of the family was installed
            // since the setting came, and what was before is marked `forced`.
            let never_in = fwd.rib_only == Some(None) && !forced && !was_multi;
            if (soft && !was_multi && next_hops.len() <= 1) || (never_in && next_hops.is_empty()) {
                // The best path is the same and the route was and stays single-path.
                self.fib_dirty.0.pop_front();
                self.fib_dirty.1.remove(&fkey);
                continue;
            }
            let multi = next_hops.len() > 1;
            let op = match next_hops.len() {
                0 => FibOp::Remove { table, prefix },
                1 => FibOp::Install {
                    table,
                    prefix,
                    next_hop: next_hops[0],
                },
                _ => FibOp::Multipath {
                    table,
                    prefix,
                    next_hops,
                },
            };
            if let Err(op) = fib.offer(op) {
                // The installer is full: the prefix stays first in line.
                drop(op);
                if soft {
                    self.fib_soft.insert(fkey.clone());
                }
                if forced {
                    self.fib_forced.insert(fkey);
                }
                break;
            }
            if multi {
                self.fib_multi.insert(fkey);
            } else if was_multi {
                self.fib_multi.remove(&fkey);
            }
            self.fib_dirty.0.pop_front();
            self.fib_dirty.1.remove(&(vrf, prefix));
            progress = true;
        }
        // Reconcile once the kernel has every best route: none waits in line, and none waits
        // for a next-hop answer that could make it eligible.
        if self.reconcile
            && self.fib_dirty.0.is_empty()
            && !self.resolver.waiting()
            && fib.offer(FibOp::Reconcile).is_ok()
        {
            self.reconcile = false;
            progress = true;
        }
        progress
    }
}
