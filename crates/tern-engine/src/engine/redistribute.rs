//! `import-route ospf|isis|rip N` (RFC 4271 §9.4, origination of routes learned by other
//! means): the routes an IGP installed in the kernel's main table, known by their kernel
//! protocol number, originated as local routes with ORIGIN incomplete, MED the route's metric
//! (or `med M`), next hop the route's gateway, through the command's route policy; they follow
//! the kernel's table as it changes, and the configuration as it is committed.

use super::*;
use crate::nexthop::IgpRoute;
use crate::routing::Redistribute;

/// A kernel IGP route: (prefix, protocol) → (gateway, metric).
type IgpKey = (IpNet, u8);
type IgpValue = (Option<IpAddr>, u32);

impl Engine {
    /// The local route `spec` makes of a kernel route.
    fn igp_local(
        spec: &Redistribute,
        prefix: IpNet,
        gateway: Option<IpAddr>,
        metric: u32,
    ) -> LocalRoute {
        LocalRoute {
            vrf: None,
            prefix,
            origin: Origin::Incomplete,
            med: Some(spec.med.unwrap_or(metric)),
            next_hop: gateway,
            policy: spec.policy.clone(),
            labeled: spec.labeled,
            kernel: false,
        }
    }

    fn igp_specs(&self, prefix: IpNet, protocol: u8) -> Vec<Redistribute> {
        self.routing
            .redistribute
            .iter()
            .filter(|s| s.takes(prefix, protocol))
            .cloned()
            .collect()
    }

    /// The kernel's IGP routes known now, owned (originating borrows the engine).
    fn igp_known(&self) -> Vec<(IgpKey, IgpValue)> {
        self.igp.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// The kernel's IGP routes changed: what is imported follows.
    pub(super) fn igp_learn(&mut self, changes: &[IgpRoute]) {
        for c in changes {
            let k = (c.prefix, c.protocol);
            match c.route {
                Some((gw, metric)) => {
                    self.igp.insert(k, (gw, metric));
                    for s in self.igp_specs(c.prefix, c.protocol) {
                        self.originate_local(&Self::igp_local(&s, c.prefix, gw, metric));
                    }
                }
                None => {
                    if let Some((gw, metric)) = self.igp.remove(&k) {
                        for s in self.igp_specs(c.prefix, c.protocol) {
                            self.withdraw_local_route(&Self::igp_local(&s, c.prefix, gw, metric));
                        }
                    }
                }
            }
        }
    }

    /// Route policies changed: the imported routes whose policy is among them (all of them
    /// without a scope) are run through it again.
    pub(super) fn igp_policies(&mut self, scope: Option<&PolicyScope>) {
        let specs: Vec<Redistribute> = self
            .routing
            .redistribute
            .iter()
            .filter(|s| {
                s.policy
                    .as_ref()
                    .is_some_and(|p| scope.is_none_or(|x| x.policies.contains(p)))
            })
            .cloned()
            .collect();
        if specs.is_empty() {
            return;
        }
        for ((prefix, protocol), (gw, metric)) in self.igp_known() {
            for s in specs.iter().filter(|s| s.takes(prefix, protocol)) {
                self.originate_local(&Self::igp_local(s, prefix, gw, metric));
            }
        }
    }

    /// New `import-route` settings: routes of specs gone are withdrawn, those of new or
    /// changed specs originated.
    pub(super) fn igp_settings(&mut self, old: &Routing) {
        if old.redistribute == self.routing.redistribute {
            return;
        }
        for ((prefix, protocol), (gw, metric)) in self.igp_known() {
            let matches = |s: &&Redistribute| s.takes(prefix, protocol);
            for s in old.redistribute.iter().filter(matches) {
                if !self.routing.redistribute.contains(s) {
                    self.withdraw_local_route(&Self::igp_local(s, prefix, gw, metric));
                }
            }
            let fresh: Vec<Redistribute> = self
                .routing
                .redistribute
                .iter()
                .filter(matches)
                .filter(|s| !old.redistribute.contains(s))
                .cloned()
                .collect();
            for s in fresh {
                self.originate_local(&Self::igp_local(&s, prefix, gw, metric));
            }
        }
    }
}
