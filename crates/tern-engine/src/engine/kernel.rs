//! The kernel side of the engine's output: prefixes whose best route changed are marked and
//! sent to the installer as [`FibOp`]s while it has room (RFC 4271 §9.1.3: the best routes go
//! into the forwarding table).

use super::*;

impl Engine {
    /// Marks a prefix of a domain for the kernel.
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
        let key = (vrf.map(str::to_string), prefix);
        if self.fib_dirty.1.insert(key.clone()) {
            self.fib_dirty.0.push_back(key);
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
            let best = rib
                .best(family, &key)
                .or_else(|| {
                    // Labeled unicast: IPv4 (RFC 8277) or IPv6 over IPv4 (6PE, RFC 4798).
                    vrf.is_none()
                        .then(|| family.labeled().and_then(|l| rib.best(l, &key)))
                        .flatten()
                })
                .filter(|b| b.peer != PeerId::LOCAL);
            let op = match best.and_then(|b| rib.attr_set(b.attrs).next_hop.addr()) {
                Some(next_hop) => FibOp::Install {
                    table,
                    prefix,
                    next_hop,
                },
                None => FibOp::Remove { table, prefix },
            };
            if fib.offer(op).is_err() {
                // The installer is full: the prefix stays first in line.
                break;
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
