//! The `apply` clauses of a `route-policy` node (vendor reference, IP Routing Policy
//! Configuration, `apply ...`), typed by tern-config when the line was entered, compiled once
//! per configuration and applied to a route's attributes:
//!
//! - `apply as-path`: AS_PATH (RFC 4271 §5.1.2; AS numbers of four octets, RFC 6793 §3);
//! - `apply ip-address next-hop`, `apply ipv6 next-hop`: NEXT_HOP (RFC 4271 §5.1.3) and the
//!   next hop of MP_REACH_NLRI (RFC 4760 §3);
//! - `apply cost`: MULTI_EXIT_DISC (RFC 4271 §5.1.4);
//! - `apply local-preference`: LOCAL_PREF (RFC 4271 §5.1.5);
//! - `apply community`: COMMUNITIES and the well-known communities (RFC 1997);
//! - `apply extcommunity rt`: route targets, extended communities (RFC 4360 §4; four-octet AS
//!   forms, RFC 5668 §2);
//! - `apply mpls-label`: a label for a labeled unicast route (RFC 8277), allocated by the
//!   caller;
//! - `apply preferred-value`, `apply tag`: VRP's own, not BGP attributes.
//!
//! What each does is described in the crate documentation, "Applying".

use std::net::{Ipv4Addr, Ipv6Addr};

use tern_config::{Apply, AsPathMode};
use tern_rib::PathAttrs;
use tern_types::ExtCommunity;
use tern_wire::NextHop;
use tern_wire::attr::{AsPath, SegmentType};

use std::sync::Arc;

use crate::filter::FilterSet;
use crate::filter::community::CommunityFilter;
use crate::{Facts, Outcome, RouteInput};

/// A node's `apply` clauses, compiled.
#[derive(Debug, Default)]
pub(crate) struct Actions {
    med: Option<u32>,
    local_pref: Option<u32>,
    preferred_value: Option<u32>,
    tag: Option<u32>,
    communities: Option<ListEdit<u32>>,
    /// `apply comm-filter F delete` (`None` inside: the filter is not configured, nothing
    /// is removed).
    comm_delete: Option<Option<Arc<CommunityFilter>>>,
    route_targets: Option<ListEdit<ExtCommunity>>,
    as_path: Option<PathEdit>,
    next_hop4: Option<Ipv4Addr>,
    next_hop6: Option<Ipv6Addr>,
    allocate_label: bool,
}

/// A list replaced by, or added to, some values.
#[derive(Debug, PartialEq, Eq)]
struct ListEdit<T> {
    values: Vec<T>,
    additive: bool,
}

/// `apply as-path`.
#[derive(Debug, PartialEq, Eq)]
enum PathEdit {
    /// `additive`: prepended in the order written.
    Prepend(Vec<u32>),
    /// `overwrite`; empty for `none overwrite`.
    Replace(Vec<u32>),
    /// `delete`: removed wherever they appear.
    Delete(Vec<u32>),
}

pub(crate) fn compile_applies(applies: &[Apply], filters: &FilterSet) -> Actions {
    let mut a = Actions::default();
    for ap in applies {
        match ap {
            Apply::Cost(v) => a.med = Some(*v),
            Apply::Tag(v) => a.tag = Some(*v),
            Apply::LocalPreference(v) => a.local_pref = Some(*v),
            Apply::PreferredValue(v) => a.preferred_value = Some(*v),
            Apply::IpNextHop(v) => a.next_hop4 = Some(*v),
            Apply::Ipv6NextHop(v) => a.next_hop6 = Some(*v),
            Apply::MplsLabel => a.allocate_label = true,
            Apply::Community { values, additive } => {
                a.communities = Some(ListEdit {
                    values: values.iter().map(|c| c.value()).collect(),
                    additive: *additive,
                });
            }
            Apply::CommunityNone => {
                a.communities = Some(ListEdit {
                    values: Vec::new(),
                    additive: false,
                });
            }
            Apply::Extcommunity { rts, additive } => {
                a.route_targets = Some(ListEdit {
                    values: rts.iter().map(|r| r.value).collect(),
                    additive: *additive,
                });
            }
            Apply::AsPath { asns, mode } => {
                let asns = asns.iter().map(|n| n.0).collect();
                a.as_path = Some(match mode {
                    AsPathMode::Additive => PathEdit::Prepend(asns),
                    AsPathMode::Overwrite => PathEdit::Replace(asns),
                    AsPathMode::Delete => PathEdit::Delete(asns),
                });
            }
            Apply::AsPathNone => a.as_path = Some(PathEdit::Replace(Vec::new())),
            Apply::CommFilterDelete(f) => {
                a.comm_delete = Some(filters.community.get(f).cloned());
            }
        }
    }
    a
}

impl Actions {
    /// The outcome of a permitting node on `route`.
    pub(crate) fn outcome(&self, f: &Facts, route: &RouteInput<'_>) -> Outcome {
        let tag = self.tag.or(route.tag);
        let next_hop = self.next_hop(f, route);
        let touches = self.med.is_some()
            || self.local_pref.is_some()
            || self.preferred_value.is_some()
            || self.communities.is_some()
            || self.comm_delete.is_some()
            || self.route_targets.is_some()
            || self.as_path.is_some()
            || next_hop.is_some();
        let attrs = touches.then(|| {
            let mut a = route.attrs.clone();
            self.apply(&mut a, next_hop);
            Box::new(a)
        });
        Outcome::Permit {
            attrs,
            allocate_label: self.allocate_label,
            tag,
        }
    }

    /// The next hop the node sets on this route, if any.
    fn next_hop(&self, f: &Facts, route: &RouteInput<'_>) -> Option<NextHop> {
        if route.originated {
            return None;
        }
        match (f.v6, self.next_hop4, self.next_hop6) {
            (false, Some(a), _) => Some(NextHop::Ipv4(a)),
            (true, _, Some(global)) => Some(NextHop::Ipv6 {
                global,
                link_local: None,
            }),
            (true, Some(a), None) => Some(NextHop::ipv4_mapped(a)),
            _ => None,
        }
    }

    fn apply(&self, a: &mut PathAttrs, next_hop: Option<NextHop>) {
        if let Some(v) = self.med {
            a.med = Some(v);
        }
        if let Some(v) = self.local_pref {
            a.local_pref = Some(v);
        }
        if let Some(v) = self.preferred_value {
            a.preferred_value = v;
        }
        if let Some(nh) = next_hop {
            a.next_hop = nh;
        }
        if let Some(e) = &self.communities {
            if !e.additive {
                a.communities.clear();
            }
            for v in &e.values {
                if !a.communities.contains(v) {
                    a.communities.push(*v);
                }
            }
        }
        // After `apply community` (VRP deletes from the communities the node leaves).
        if let Some(Some(f)) = &self.comm_delete {
            a.communities.retain(|c| !f.deletes(*c));
        }
        if let Some(e) = &self.route_targets {
            if !e.additive {
                a.ext_communities.retain(|c| !c.is_route_target());
            }
            for v in &e.values {
                if !a.ext_communities.contains(v) {
                    a.ext_communities.push(*v);
                }
            }
        }
        if let Some(e) = &self.as_path {
            a.as_path = edit_path(&a.as_path, e);
        }
    }
}

fn edit_path(path: &AsPath<'_>, e: &PathEdit) -> AsPath<'static> {
    let four = path.is_four_octet();
    let mut segs: Vec<(SegmentType, Vec<u32>)> = path
        .segments()
        .map(|s| (s.kind, s.asns().collect()))
        .collect();
    match e {
        PathEdit::Replace(asns) => return AsPath::sequence(asns, four),
        PathEdit::Prepend(asns) => match segs.first_mut() {
            Some((SegmentType::Sequence, first)) => {
                first.splice(0..0, asns.iter().copied());
            }
            _ => segs.insert(0, (SegmentType::Sequence, asns.clone())),
        },
        PathEdit::Delete(asns) => {
            for (_, v) in &mut segs {
                v.retain(|a| !asns.contains(a));
            }
            segs.retain(|(_, v)| !v.is_empty());
        }
    }
    AsPath::from_segments(segs.iter().map(|(k, v)| (*k, v.as_slice())), four)
}
