//! Next-hop tracking (RFC 4271 §9.1.2.1): the engine's own view of whether the next hops its
//! routes use can be reached and at what IGP cost, and of which prefixes the routing table
//! holds (a `network` of an IGP route is originated only while it does), fed by messages the
//! way OpenBGPD's route decision engine learns its next hops from the parent process.
//!
//! - Without tracking ([`NextHopTable::default`]: no kernel, tests) every next hop is
//!   reachable at cost 0 and no prefix is held.
//! - With tracking, a next hop (or prefix) the table has not heard of counts as unreachable
//!   (not held) and is asked for: [`NextHopTable::take_wanted`] gives what to ask the kernel
//!   side ([`crate::ports::Watcher`]), which answers with a [`Resolution`] when it first
//!   knows and again whenever the answer changes. [`NextHopTable::learn`] says whether an
//!   answer changed anything the engine decided with; the engine then runs the decision
//!   process again.
//! - An unspecified next hop (a local route's) is always reachable at cost 0.
//! - The view is data the engine is given, so a recorded run replays with the same answers
//!   at the same points.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use tern_rib::NextHopResolver;
use tern_types::Family;

/// The kernel side's answers: next hops with their IGP cost (`None`: unreachable), prefixes
/// with whether the routing table holds them (from something other than this router).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Next hops and their cost.
    pub next_hops: Vec<(IpAddr, Option<u32>)>,
    /// Prefixes and whether they are held.
    pub prefixes: Vec<(IpNet, bool)>,
    /// Changes of the routes an IGP installed in the kernel's main table (the ones
    /// `import-route ospf|isis|rip` imports); sent whether or not anything imports them.
    pub igp: Vec<IgpRoute>,
}

/// A route of an IGP in the kernel's main table, as it is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IgpRoute {
    /// The destination.
    pub prefix: IpNet,
    /// The kernel protocol number (187 isis, 188 ospf, 189 rip).
    pub protocol: u8,
    /// Its gateway and metric; `None`: gone.
    pub route: Option<(Option<IpAddr>, u32)>,
}

impl Resolution {
    /// True when it answers nothing.
    pub fn is_empty(&self) -> bool {
        self.next_hops.is_empty() && self.prefixes.is_empty() && self.igp.is_empty()
    }
}

/// What the engine asks the kernel side to follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    /// Next hops to resolve.
    pub next_hops: Vec<IpAddr>,
    /// Prefixes to look up exactly.
    pub prefixes: Vec<IpNet>,
}

/// Asked for, not yet answered.
#[derive(Debug, Default)]
struct Wanted {
    next_hops: BTreeSet<IpAddr>,
    prefixes: BTreeSet<IpNet>,
}

/// The engine's view of next hops and held prefixes.
#[derive(Debug, Default)]
pub struct NextHopTable {
    /// Answers come from the kernel side (false: everything reachable).
    tracking: bool,
    /// Next hops: `None` while asked and not answered.
    hops: HashMap<IpAddr, Option<Option<u32>>>,
    /// Prefixes: `None` while asked and not answered.
    prefixes: HashMap<IpNet, Option<bool>>,
    /// Looked up since the last [`NextHopTable::take_wanted`] and never asked. Lookups take
    /// `&self` (the RIB's decision process holds a shared reference), hence the cell.
    wanted: RefCell<Wanted>,
}

impl NextHopTable {
    /// A table answered by the kernel side: what it has not heard of is unreachable until
    /// answered.
    pub fn tracking() -> NextHopTable {
        NextHopTable {
            tracking: true,
            ..NextHopTable::default()
        }
    }

    /// True when answers come from the kernel side.
    pub fn is_tracking(&self) -> bool {
        self.tracking
    }

    /// The IGP cost of reaching `next_hop`, `None` when it cannot be reached (or is not
    /// known yet: then it is asked for).
    pub fn cost(&self, next_hop: IpAddr) -> Option<u32> {
        if !self.tracking || next_hop.is_unspecified() {
            return Some(0);
        }
        match self.hops.get(&next_hop) {
            Some(known) => known.flatten(),
            None => {
                self.wanted.borrow_mut().next_hops.insert(next_hop);
                None
            }
        }
    }

    /// True when the routing table holds exactly `prefix` from something other than this
    /// router (not known yet: asked for, and false until answered).
    pub fn holds(&self, prefix: IpNet) -> bool {
        if !self.tracking {
            return false;
        }
        match self.prefixes.get(&prefix) {
            Some(known) => known.unwrap_or(false),
            None => {
                self.wanted.borrow_mut().prefixes.insert(prefix);
                false
            }
        }
    }

    /// True when something is to be asked.
    pub fn has_wanted(&self) -> bool {
        let w = self.wanted.borrow();
        !w.next_hops.is_empty() || !w.prefixes.is_empty()
    }

    /// What to ask the kernel side (each thing once: it stays asked until answered).
    pub fn take_wanted(&mut self) -> Option<Watch> {
        let w = std::mem::take(self.wanted.get_mut());
        if w.next_hops.is_empty() && w.prefixes.is_empty() {
            return None;
        }
        for nh in &w.next_hops {
            self.hops.entry(*nh).or_insert(None);
        }
        for p in &w.prefixes {
            self.prefixes.entry(*p).or_insert(None);
        }
        Some(Watch {
            next_hops: w.next_hops.into_iter().collect(),
            prefixes: w.prefixes.into_iter().collect(),
        })
    }

    /// Takes answers in; true when one of them differs from what a decision was made with
    /// (a next hop or prefix looked up before, now answered otherwise). An answer nobody
    /// looked up is kept for later.
    pub fn learn(&mut self, r: &Resolution) -> bool {
        let mut changed = false;
        let wanted = self.wanted.get_mut();
        for (nh, cost) in &r.next_hops {
            let asked = wanted.next_hops.remove(nh);
            match self.hops.insert(*nh, Some(*cost)) {
                Some(Some(before)) => changed |= before != *cost,
                // Decided as unreachable while not answered.
                Some(None) => changed |= cost.is_some(),
                None => changed |= asked && cost.is_some(),
            }
        }
        for (p, held) in &r.prefixes {
            let asked = wanted.prefixes.remove(p);
            match self.prefixes.insert(*p, Some(*held)) {
                Some(Some(before)) => changed |= before != *held,
                Some(None) => changed |= *held,
                None => changed |= asked && *held,
            }
        }
        changed
    }

    /// True while a next hop or prefix looked up is not answered yet (still to be asked, or
    /// asked): a decision made now may change when the answer comes.
    pub fn waiting(&self) -> bool {
        self.has_wanted()
            || self.hops.values().any(Option::is_none)
            || self.prefixes.values().any(Option::is_none)
    }

    /// Next hops followed (answered or asked).
    pub fn len(&self) -> usize {
        self.hops.len()
    }

    /// True when no next hop is followed.
    pub fn is_empty(&self) -> bool {
        self.hops.is_empty()
    }
}

impl NextHopResolver for NextHopTable {
    fn igp_cost(&self, _: Family, next_hop: IpAddr) -> Option<u32> {
        self.cost(next_hop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_tracking_everything_resolves() {
        let t = NextHopTable::default();
        assert_eq!(t.cost(a("10.0.0.1")), Some(0));
        assert!(!t.holds("10.0.0.0/8".parse().unwrap()));
        assert!(!t.has_wanted());
    }

    #[test]
    fn unknown_next_hops_are_asked_once_and_unreachable_until_answered() {
        let mut t = NextHopTable::tracking();
        assert_eq!(t.cost(a("10.0.0.1")), None);
        assert_eq!(t.cost(a("10.0.0.1")), None);
        assert_eq!(t.cost(a("::")), Some(0), "unspecified: local route");
        assert!(!t.holds("10.1.0.0/16".parse().unwrap()));
        let w = t.take_wanted().unwrap();
        assert_eq!(w.next_hops, vec![a("10.0.0.1")]);
        assert_eq!(w.prefixes, vec!["10.1.0.0/16".parse::<IpNet>().unwrap()]);
        // Asked: not asked again while the answer is on its way.
        assert_eq!(t.cost(a("10.0.0.1")), None);
        assert!(t.take_wanted().is_none());
        let changed = t.learn(&Resolution {
            next_hops: vec![(a("10.0.0.1"), Some(20))],
            prefixes: vec![("10.1.0.0/16".parse().unwrap(), true)],
            igp: Vec::new(),
        });
        assert!(changed);
        assert_eq!(t.cost(a("10.0.0.1")), Some(20));
        assert!(t.holds("10.1.0.0/16".parse().unwrap()));
    }

    #[test]
    fn an_answer_changes_something_only_when_it_differs() {
        let mut t = NextHopTable::tracking();
        // Answered before anyone looked (another shard asked): nothing decided with it.
        let r = Resolution {
            next_hops: vec![(a("10.0.0.2"), Some(5))],
            prefixes: Vec::new(),
            igp: Vec::new(),
        };
        assert!(!t.learn(&r));
        assert!(!t.learn(&r), "same answer again");
        assert_eq!(t.cost(a("10.0.0.2")), Some(5));
        assert!(t.learn(&Resolution {
            next_hops: vec![(a("10.0.0.2"), None)],
            prefixes: Vec::new(),
            igp: Vec::new(),
        }));
        assert_eq!(t.cost(a("10.0.0.2")), None);
        // Unreachable while unanswered, answered unreachable: no change.
        assert_eq!(t.cost(a("10.0.0.3")), None);
        t.take_wanted();
        assert!(!t.learn(&Resolution {
            next_hops: vec![(a("10.0.0.3"), None)],
            prefixes: Vec::new(),
            igp: Vec::new(),
        }));
        // Looked up, answered before the question left: a change.
        assert_eq!(t.cost(a("10.0.0.4")), None);
        assert!(t.learn(&Resolution {
            next_hops: vec![(a("10.0.0.4"), Some(1))],
            prefixes: Vec::new(),
            igp: Vec::new(),
        }));
        assert!(t.take_wanted().is_none(), "answered: nothing left to ask");
    }
}
