//! Every label this router allocates, from allocation to release (RFC 3032 §2.1: labels 16 and
//! up; VRP allocates BGP labels from 48000 up).
//!
//! Two kinds of owner hold labels:
//!
//! - **Swaps**: a labeled route (labeled unicast, RFC 8277; VPN, RFC 4364) re-advertised with
//!   this router as next hop leaves with a label of ours, one per destination, kept while the
//!   destination has a best path ([`Labels::swap`], [`Labels::unswap`]); the forwarding entry
//!   would swap it for the received label (RFC 4364 §10, options B and C).
//! - **Exports**: a route of a local VPN instance exported as a VPN route carries the label
//!   the instance allocates for it (RFC 4364 §4.3.2): one per route (VRP's default), one for
//!   the whole instance per address family (`apply-label per-instance`, or a configured one
//!   with `apply-label per-instance static L`), or one per next hop of the instance's routes
//!   (`apply-label per-nexthop`, held while a route with that next hop is exported), kept
//!   while the route is exported ([`Labels::export`], [`Labels::unexport`]) or the instance
//!   exists ([`Labels::drop_instance`]).
//!
//! A released label is reused before a new one is taken, so the label space in use is
//! bounded by the routes that hold one.
//!
//! Engines sharded over the cores ([`crate::shard`]) each allocate dynamic labels from their
//! own residue class ([`Labels::sharded`]: shard `i` of `n` takes 48000 + i, + n, ...), so no
//! two shards hand out one label. A per-instance label must be the same in every shard: it is
//! taken when the instance is configured ([`Labels::instance`]), from a range of its own
//! counted down from the top of the label space (1048575), and every shard configures the
//! same instances in the same order.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use tern_rib::RouteKey;
use tern_types::{Family, Label};

/// First label of the dynamic range (VRP allocates BGP labels from 48000 up).
pub const FIRST_LABEL: u32 = 48000;

/// The first per-instance label: they count down from the top of the label space (RFC 3032
/// §2.1: labels are 20 bits), above the dynamic range that counts up from 48000.
pub const FIRST_INSTANCE_LABEL: u32 = Label::MAX;

/// The highest static label (`apply-label per-instance static L`: 16–32783); static labels
/// are configured, never allocated or pooled.
pub const LAST_STATIC_LABEL: u32 = 32783;

/// Which label an instance exports a route with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportLabel {
    /// A label of its own (VRP's default).
    PerRoute,
    /// The instance family's label (`apply-label per-instance`, dynamic or static).
    PerInstance,
    /// The label of the route's next hop (`apply-label per-nexthop`; a direct route's next
    /// hop is the unspecified address).
    PerNextHop(IpAddr),
}

/// The labels of one VPN instance.
#[derive(Debug, Default)]
struct Instance {
    /// `apply-label per-instance`: the label of each family.
    per_instance: HashMap<Family, Label>,
    /// The label of each exported route and, per next hop, which next hop it stands for:
    /// (instance family, prefix) → label.
    routes: HashMap<(Family, IpNet), (Label, Option<IpAddr>)>,
    /// `apply-label per-nexthop`: the label of each next hop and how many routes hold it.
    per_nexthop: HashMap<(Family, IpAddr), (Label, u32)>,
}

/// The label space and every label's owner.
#[derive(Debug)]
pub struct Labels {
    next: u32,
    step: u32,
    free: Vec<u32>,
    swaps: foldhash::HashMap<(Family, RouteKey), Label>,
    instances: HashMap<String, Instance>,
    /// The next per-instance label (counting down) and the released ones.
    instance_next: u32,
    instance_free: Vec<u32>,
}

impl Default for Labels {
    fn default() -> Self {
        Labels::sharded(0, 1)
    }
}

impl Labels {
    /// The labels of shard `index` of `count`: dynamic labels 48000 + index, + count, ...
    pub fn sharded(index: usize, count: usize) -> Labels {
        let count = u32::try_from(count.max(1)).unwrap_or(1);
        let index = u32::try_from(index).unwrap_or(0) % count;
        Labels {
            next: FIRST_LABEL.saturating_add(index),
            step: count,
            free: Vec::new(),
            swaps: foldhash::HashMap::default(),
            instances: HashMap::new(),
            instance_next: FIRST_INSTANCE_LABEL,
            instance_free: Vec::new(),
        }
    }

    /// A free label.
    fn alloc(&mut self) -> Label {
        Label(self.free.pop().unwrap_or_else(|| {
            let l = self.next;
            self.next = self.next.saturating_add(self.step).min(Label::MAX);
            l
        }))
    }

    /// Gives a label back.
    fn release(&mut self, l: Label) {
        self.free.push(l.0);
    }

    /// The per-instance label of instance `vrf`'s `family` (`apply-label per-instance`), taken
    /// on first use from the per-instance range: configured instances take theirs when they
    /// are configured, so that it is the same in every shard.
    pub fn instance(&mut self, vrf: &str, family: Family) -> Label {
        if let Some(l) = self
            .instances
            .get(vrf)
            .and_then(|i| i.per_instance.get(&family))
        {
            return *l;
        }
        let l = Label(self.instance_free.pop().unwrap_or_else(|| {
            let l = self.instance_next;
            self.instance_next = self.instance_next.saturating_sub(1).max(FIRST_LABEL);
            l
        }));
        self.instances
            .entry(vrf.to_string())
            .or_default()
            .per_instance
            .insert(family, l);
        l
    }

    /// `apply-label per-instance static L`: the family's label is `l` (a configured label,
    /// not taken from a range; a dynamic one it had goes back to its range).
    pub fn instance_static(&mut self, vrf: &str, family: Family, l: Label) {
        let inst = self.instances.entry(vrf.to_string()).or_default();
        if let Some(old) = inst.per_instance.insert(family, l)
            && old != l
            && old.0 > LAST_STATIC_LABEL
        {
            self.instance_free.push(old.0);
        }
    }

    /// The label of a route re-advertised with next hop self: the destination's own, taken
    /// on first use.
    pub fn swap(&mut self, family: Family, key: RouteKey) -> Label {
        if let Some(l) = self.swaps.get(&(family, key)) {
            return *l;
        }
        let l = self.alloc();
        self.swaps.insert((family, key), l);
        l
    }

    /// The swap label of a destination, if it has one.
    pub fn swapped(&self, family: Family, key: &RouteKey) -> Option<Label> {
        self.swaps.get(&(family, *key)).copied()
    }

    /// The destination lost its best path: its swap label is free again.
    pub fn unswap(&mut self, family: Family, key: RouteKey) {
        if let Some(l) = self.swaps.remove(&(family, key)) {
            self.release(l);
        }
    }

    /// The label instance `vrf` exports its route `prefix` of `family` with: the one it has,
    /// else the instance's label of the family (`per_instance`) or a new one.
    pub fn export(&mut self, vrf: &str, family: Family, prefix: IpNet, how: ExportLabel) -> Label {
        if let Some((l, nh)) = self
            .instances
            .get(vrf)
            .and_then(|i| i.routes.get(&(family, prefix)))
            .copied()
        {
            match how {
                // The route moved to another next hop: it takes that next hop's label.
                ExportLabel::PerNextHop(n) if nh != Some(n) => {
                    self.unexport(vrf, family, prefix);
                }
                _ => return l,
            }
        }
        let (l, nh) = match how {
            ExportLabel::PerRoute => (self.alloc(), None),
            ExportLabel::PerInstance => (self.instance(vrf, family), None),
            ExportLabel::PerNextHop(n) => {
                let held = self
                    .instances
                    .get(vrf)
                    .and_then(|i| i.per_nexthop.get(&(family, n)))
                    .map(|(l, _)| *l);
                let l = held.unwrap_or_else(|| self.alloc());
                let e = self
                    .instances
                    .entry(vrf.to_string())
                    .or_default()
                    .per_nexthop
                    .entry((family, n))
                    .or_insert((l, 0));
                e.1 = e.1.saturating_add(1);
                (l, Some(n))
            }
        };
        self.instances
            .entry(vrf.to_string())
            .or_default()
            .routes
            .insert((family, prefix), (l, nh));
        l
    }

    /// The label instance `vrf` exports `prefix` of `family` with, if it does.
    pub fn exported(&self, vrf: &str, family: Family, prefix: IpNet) -> Option<Label> {
        self.instances
            .get(vrf)?
            .routes
            .get(&(family, prefix))
            .map(|(l, _)| *l)
    }

    /// The route is no longer exported: its label is released unless it is the instance's.
    /// Returns true when the route was exported.
    pub fn unexport(&mut self, vrf: &str, family: Family, prefix: IpNet) -> bool {
        let Some(inst) = self.instances.get_mut(vrf) else {
            return false;
        };
        let Some((l, nh)) = inst.routes.remove(&(family, prefix)) else {
            return false;
        };
        if let Some(n) = nh {
            // A next hop's label goes with its last route.
            if let Some(e) = inst.per_nexthop.get_mut(&(family, n)) {
                e.1 = e.1.saturating_sub(1);
                if e.1 == 0 {
                    inst.per_nexthop.remove(&(family, n));
                    self.release(l);
                }
            }
        } else if !inst.per_instance.values().any(|i| *i == l) {
            self.release(l);
        }
        true
    }

    /// The instance is gone (or rebuilt): every label it held is released. Returns the routes
    /// it exported, to be withdrawn.
    pub fn drop_instance(&mut self, vrf: &str) -> Vec<(Family, IpNet)> {
        let Some(inst) = self.instances.remove(vrf) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(inst.routes.len());
        for ((family, prefix), (l, nh)) in inst.routes {
            if nh.is_none() && !inst.per_instance.values().any(|i| *i == l) {
                self.release(l);
            }
            out.push((family, prefix));
        }
        for (l, _) in inst.per_nexthop.into_values() {
            self.release(l);
        }
        for l in inst.per_instance.into_values() {
            if l.0 > LAST_STATIC_LABEL {
                self.instance_free.push(l.0);
            }
        }
        out.sort();
        out
    }

    /// Labels held now (swaps, route and instance labels).
    pub fn in_use(&self) -> usize {
        let mut held: Vec<u32> = self.swaps.values().map(|l| l.0).collect();
        for i in self.instances.values() {
            held.extend(i.routes.values().map(|(l, _)| l.0));
            held.extend(i.per_instance.values().map(|l| l.0));
        }
        held.sort_unstable();
        held.dedup();
        held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn k(s: &str) -> RouteKey {
        RouteKey::new(p(s))
    }

    #[test]
    fn swap_labels_are_per_destination_and_reused_after_release() {
        let mut l = Labels::default();
        let a = l.swap(Family::IPV4_LABELED, k("10.0.0.0/24"));
        assert_eq!(a, Label(FIRST_LABEL));
        assert_eq!(l.swap(Family::IPV4_LABELED, k("10.0.0.0/24")), a, "kept");
        let b = l.swap(Family::VPNV4, k("10.0.0.0/24"));
        assert_ne!(a, b, "one per family and destination");
        assert_eq!(l.swapped(Family::IPV4_LABELED, &k("10.0.0.0/24")), Some(a));
        l.unswap(Family::IPV4_LABELED, k("10.0.0.0/24"));
        assert_eq!(l.swapped(Family::IPV4_LABELED, &k("10.0.0.0/24")), None);
        assert_eq!(l.swap(Family::IPV4_LABELED, k("10.9.0.0/24")), a, "reused");
        assert_eq!(l.in_use(), 2);
    }

    #[test]
    fn per_route_export_labels_come_and_go_with_the_route() {
        let mut l = Labels::default();
        let a = l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("192.0.2.0/24"),
            ExportLabel::PerRoute,
        );
        let b = l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("198.51.100.0/24"),
            ExportLabel::PerRoute,
        );
        assert_ne!(a, b);
        assert_eq!(
            l.export(
                "vpn1",
                Family::IPV4_UNICAST,
                p("192.0.2.0/24"),
                ExportLabel::PerRoute
            ),
            a,
            "an exported route keeps its label"
        );
        assert!(l.unexport("vpn1", Family::IPV4_UNICAST, p("192.0.2.0/24")));
        assert!(!l.unexport("vpn1", Family::IPV4_UNICAST, p("192.0.2.0/24")));
        assert_eq!(l.in_use(), 1);
        assert_eq!(
            l.export(
                "vpn2",
                Family::IPV6_UNICAST,
                p("2001:db8::/64"),
                ExportLabel::PerRoute
            ),
            a,
            "released and reused"
        );
    }

    #[test]
    fn per_instance_labels_are_shared_and_live_with_the_instance() {
        let mut l = Labels::default();
        let a = l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("192.0.2.0/24"),
            ExportLabel::PerInstance,
        );
        let b = l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("198.51.100.0/24"),
            ExportLabel::PerInstance,
        );
        assert_eq!(a, b, "one label for the instance's family");
        let c = l.export(
            "vpn1",
            Family::IPV6_UNICAST,
            p("2001:db8::/64"),
            ExportLabel::PerInstance,
        );
        assert_ne!(a, c, "one per family");
        assert!(l.unexport("vpn1", Family::IPV4_UNICAST, p("192.0.2.0/24")));
        assert!(l.unexport("vpn1", Family::IPV4_UNICAST, p("198.51.100.0/24")));
        assert_eq!(l.in_use(), 2, "the instance's labels stay while it exists");
        let gone = l.drop_instance("vpn1");
        assert_eq!(gone, vec![(Family::IPV6_UNICAST, p("2001:db8::/64"))]);
        assert_eq!(l.in_use(), 0);
        // Instance labels come from their own range, reused before a new one is taken.
        assert_eq!((a.0, c.0), (FIRST_INSTANCE_LABEL, FIRST_INSTANCE_LABEL - 1));
        let d = l.export(
            "vpn2",
            Family::IPV4_UNICAST,
            p("192.0.2.0/24"),
            ExportLabel::PerInstance,
        );
        assert!(d == a || d == c, "{d:?}");
        assert_eq!(
            l.export(
                "vpn2",
                Family::IPV4_UNICAST,
                p("10.0.0.0/8"),
                ExportLabel::PerRoute
            )
            .0,
            FIRST_LABEL
        );
    }

    #[test]
    fn per_nexthop_labels_are_shared_by_a_next_hops_routes_and_go_with_the_last() {
        let mut l = Labels::default();
        let nh = |s: &str| ExportLabel::PerNextHop(s.parse().unwrap());
        let f = Family::IPV4_UNICAST;
        let a = l.export("vpn1", f, p("198.51.100.0/24"), nh("192.0.2.2"));
        let b = l.export("vpn1", f, p("203.0.113.0/24"), nh("192.0.2.2"));
        let c = l.export("vpn1", f, p("10.9.0.0/16"), nh("192.0.2.3"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(l.in_use(), 2);
        // A route that moves to the other next hop takes its label.
        assert_eq!(l.export("vpn1", f, p("203.0.113.0/24"), nh("192.0.2.3")), c);
        assert!(l.unexport("vpn1", f, p("198.51.100.0/24")));
        assert_eq!(l.in_use(), 1, "192.0.2.2's label went with its last route");
        assert!(l.unexport("vpn1", f, p("203.0.113.0/24")));
        assert_eq!(l.in_use(), 1, "192.0.2.3 still has a route");
        assert!(l.unexport("vpn1", f, p("10.9.0.0/16")));
        assert_eq!(l.in_use(), 0);
    }

    #[test]
    fn a_static_instance_label_is_used_as_configured_and_never_pooled() {
        let mut l = Labels::default();
        let f = Family::IPV4_UNICAST;
        l.instance_static("vpn1", f, Label(100));
        assert_eq!(
            l.export("vpn1", f, p("192.0.2.0/24"), ExportLabel::PerInstance),
            Label(100)
        );
        l.drop_instance("vpn1");
        // Not handed to another instance as a dynamic per-instance label.
        assert_eq!(l.instance("vpn2", f), Label(FIRST_INSTANCE_LABEL));
    }

    #[test]
    fn shards_allocate_disjoint_labels_and_the_same_instance_labels() {
        let mut a = Labels::sharded(0, 2);
        let mut b = Labels::sharded(1, 2);
        let la: Vec<u32> = (0..10u32)
            .map(|i| a.swap(Family::IPV4_LABELED, k(&format!("10.0.{i}.0/24"))).0)
            .collect();
        let lb: Vec<u32> = (0..10u32)
            .map(|i| b.swap(Family::IPV4_LABELED, k(&format!("10.1.{i}.0/24"))).0)
            .collect();
        assert!(la.iter().all(|l| l % 2 == FIRST_LABEL % 2));
        assert!(lb.iter().all(|l| l % 2 != FIRST_LABEL % 2));
        // The same instances configured in the same order: the same labels.
        for l in [&mut a, &mut b] {
            l.instance("vpn1", Family::IPV4_UNICAST);
            l.instance("vpn2", Family::IPV4_UNICAST);
        }
        assert_eq!(
            a.export(
                "vpn2",
                Family::IPV4_UNICAST,
                p("192.0.2.0/24"),
                ExportLabel::PerInstance
            ),
            b.export(
                "vpn2",
                Family::IPV4_UNICAST,
                p("198.51.100.0/24"),
                ExportLabel::PerInstance
            )
        );
    }

    #[test]
    fn dropping_an_instance_releases_route_labels_once() {
        let mut l = Labels::default();
        l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("192.0.2.0/24"),
            ExportLabel::PerRoute,
        );
        l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("192.0.2.1/32"),
            ExportLabel::PerRoute,
        );
        assert_eq!(l.drop_instance("vpn1").len(), 2);
        assert!(l.drop_instance("vpn1").is_empty());
        let x = l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("10.0.0.0/8"),
            ExportLabel::PerRoute,
        );
        let y = l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("10.1.0.0/16"),
            ExportLabel::PerRoute,
        );
        let z = l.export(
            "vpn1",
            Family::IPV4_UNICAST,
            p("10.2.0.0/16"),
            ExportLabel::PerRoute,
        );
        assert_eq!(z.0, FIRST_LABEL + 2, "two reused, then a new one");
        assert_ne!(x, y);
    }
}
