//! tern-policy: route policies, VRP `route-policy` semantics evaluated on one route, pure and
//! synchronous (no async runtime, no I/O, no locks).
//!
//! [`Policies`] is compiled once per committed configuration from [`Config::route_policies`],
//! [`Config::ip_prefixes`] and [`Config::ipv6_prefixes`] (cheap to clone: one `Arc`), and
//! answers [`Policies::evaluate`] for a named policy and a [`RouteInput`] with an [`Outcome`].
//! It serves every place VRP names a policy: `peer X route-policy P import|export`,
//! `network ... route-policy P`, `import-route ... route-policy P`, and the labeled-unicast
//! rules of inter-AS option C (`if-match mpls-label`, `apply mpls-label`).
//!
//! # Matching (vendor reference, `route-policy`, `ip ip-prefix`, `if-match ...`)
//!
//! - Nodes are tried in ascending node number. A node matches when every `if-match` kind
//!   matches (AND); several clauses of one kind (the filter kinds) match when any does (OR); a
//!   node without `if-match` clauses matches every route. The first matching node decides:
//!   `permit` accepts the route with the node's `apply` clauses, `deny` refuses it. A route no
//!   node matches is refused (implicit deny).
//! - A policy that does not exist permits every route unchanged. The vendor reference
//!   (`route-policy nonexistent-config-check`) says a command naming a nonexistent policy "does
//!   not take effect": the peer, `network` or `import-route` then behaves as if no policy were
//!   named, and without a policy every route passes. tern's configuration accepts such names as
//!   VRP does, so the case is reachable.
//! - `if-match ip-prefix P` applies to IPv4 routes and `if-match ipv6 address prefix-list P`
//!   to IPv6 routes; a route of the other family passes the clause ("IPv6 prefixes match the
//!   filtering rule by default"). A prefix list that does not exist matches every route: "If
//!   the if-match ip-prefix aa command is used but the IP prefix named aa is not configured,
//!   all routes are permitted."
//! - A prefix list is tried in ascending index; the first entry whose prefix covers the
//!   route's prefix (the route's address masked to the entry's length equals the entry's
//!   address) and whose length range ([`tern_config::PrefixEntry::len_range`]) holds the
//!   route's length decides `permit` or `deny`; no entry matching denies. An entry whose
//!   address is `0.0.0.0` (`::`) covers every address, so only its length range counts (the
//!   vendor: "0.0.0.0 8 less-equal 32" permits 1.1.1.0/24 and 2.2.2.0/24, and "the
//!   configuration matches all IPv4 addresses"). VPN routes are matched on their IP prefix,
//!   the route distinguisher ignored.
//! - `if-match mpls-label`: the route carries a label (a non-empty label stack).
//! - `if-match cost N`: the MED equals N, a missing MED counting as 0 (as in the decision
//!   process, VRP's default).
//! - `if-match tag N`: the route's tag equals N. BGP routes have no tag (the vendor: "BGP does
//!   not have the tag attribute"); only routes imported from static routes carry one
//!   ([`RouteInput::tag`]).
//! - `if-match as-path-filter F`, `community-filter F [whole-match]`, `extcommunity-filter
//!   F`, `rd-filter N`: the filter permits the route (the `filter` modules say how each kind
//!   matches). A filter that is not configured matches every route, as the reference says
//!   for each of them ("all routes match the filtering rule").
//! - A peer's own filters (`peer X as-path-filter F import|export`, `peer X ip-prefix P
//!   import|export`, [`PeerFilters`]) are evaluated by [`Policies::filters_permit`]; the
//!   caller runs them before the peer's route policy, and a route must pass every one.
//!
//! # Applying
//!
//! `apply cost` sets the MED, `apply local-preference` LOCAL_PREF, `apply preferred-value`
//! VRP's preferred value, `apply tag` the tag of the outcome. `apply community` (RFC 1997):
//! values `aa:nn`, a number, `internet` (0), `no-export`, `no-advertise`,
//! `no-export-subconfed`, replacing the communities, or added to them with `additive`, each
//! once; `none` removes them all. `apply comm-filter F delete` removes the
//! communities the filter's permitting single-community entries name (after `apply
//! community`). `apply extcommunity` (RFC 4360 §4): `rt X` values (route
//! targets in their three forms) replace the route's route targets (other extended
//! communities stay), or are added with `additive`, each once. `apply as-path` (RFC 4271
//! §5.1.2, RFC 6793 §3): AS numbers followed by `additive` (prepended, in the order written),
//! `overwrite` (the path becomes them) or `delete` (they are removed from the path);
//! `none overwrite` empties the path. The vendor's EBGP export refinement of `overwrite` (only non-local AS
//! numbers are replaced) is not modelled. `apply ip-address next-hop A` sets an IPv4 next hop
//! (on an IPv6 route the IPv4-mapped address `::ffff:A`, as tern carries IPv4 next hops of
//! IPv6 families); `apply ipv6 next-hop A` sets an IPv6 next hop on IPv6 routes (IPv4 routes
//! keep theirs). Both are ignored for routes that `network` or `import-route` originates
//! ([`RouteInput::originated`]), as the vendor documents. `apply mpls-label` asks the caller
//! to allocate a label ([`Outcome::Permit::allocate_label`]).
//!
//! The values of `apply` clauses are typed by tern-config when the line is entered (see
//! [`tern_config::Apply`]): a node's clauses all compile.
//!
//! # Cost
//!
//! Evaluation allocates nothing unless a permitting node changes attributes: the outcome then
//! holds a modified copy; otherwise it says "unchanged". Prefix lists are flat vectors of
//! masks shared between the nodes that name them; a lookup is one hash of the policy name.

#![forbid(unsafe_code)]

mod apply;
mod filter;
mod prefix;

use std::collections::HashMap;
use std::sync::Arc;

use tern_config::{Config, Match, MatchMode};
use tern_rib::{PathAttrs, RouteKey};
use tern_types::LabelStack;

use apply::{Actions, compile_applies};
use filter::FilterSet;
use prefix::{PrefixTable, addr_bits, compile_lists};
pub use tern_config::community::{INTERNET, NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED};

/// The route a policy is evaluated on.
#[derive(Clone, Copy, Debug)]
pub struct RouteInput<'a> {
    /// Destination; VPN routes are matched on the prefix, the RD ignored.
    pub key: &'a RouteKey,
    /// Attributes before the policy.
    pub attrs: &'a PathAttrs,
    /// Labels the route carries (empty for unlabeled routes).
    pub labels: &'a LabelStack,
    /// The route's tag: only routes imported from static routes have one (`ip route-static
    /// ... tag T`); BGP routes have none.
    pub tag: Option<u32>,
    /// True for routes `network` or `import-route` originates, for which VRP ignores the
    /// next-hop `apply` clauses.
    pub originated: bool,
}

impl<'a> RouteInput<'a> {
    /// A BGP route (no tag, not originated here).
    pub fn new(key: &'a RouteKey, attrs: &'a PathAttrs, labels: &'a LabelStack) -> Self {
        RouteInput {
            key,
            attrs,
            labels,
            tag: None,
            originated: false,
        }
    }
}

/// A policy's verdict on one route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Refused: by a `deny` node, or because no node matched.
    Deny,
    /// Accepted.
    Permit {
        /// The attributes after the `apply` clauses; `None` when they are unchanged (no
        /// attribute was applied).
        attrs: Option<Box<PathAttrs>>,
        /// `apply mpls-label`: the caller allocates a label for the route.
        allocate_label: bool,
        /// The route's tag after the policy: the input's, or the one `apply tag` set.
        tag: Option<u32>,
    },
}

impl Outcome {
    /// Accepted unchanged, keeping `tag`.
    pub fn unchanged(tag: Option<u32>) -> Outcome {
        Outcome::Permit {
            attrs: None,
            allocate_label: false,
            tag,
        }
    }

    /// True when the route is accepted.
    pub fn is_permit(&self) -> bool {
        matches!(self, Outcome::Permit { .. })
    }

    /// The attributes to use: the modified ones, or `original` when unchanged; `None` when
    /// refused.
    pub fn attrs<'b>(&'b self, original: &'b PathAttrs) -> Option<&'b PathAttrs> {
        match self {
            Outcome::Deny => None,
            Outcome::Permit { attrs, .. } => Some(attrs.as_deref().unwrap_or(original)),
        }
    }

    /// True when the route is accepted and a label is to be allocated for it.
    pub fn allocate_label(&self) -> bool {
        matches!(
            self,
            Outcome::Permit {
                allocate_label: true,
                ..
            }
        )
    }
}

/// The route policies of one configuration, compiled for evaluation. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct Policies(Arc<Compiled>);

#[derive(Debug, Default)]
struct Compiled {
    policies: HashMap<String, Policy>,
    /// The prefix lists by name (IPv4, IPv6), for the peers' `ip-prefix` / `ipv6-prefix`.
    lists: [HashMap<String, Arc<PrefixTable>>; 2],
    /// The filters, for the peers' `as-path-filter`.
    filters: FilterSet,
    problems: Vec<String>,
    /// What it was compiled from (two `Policies` are equal when their sources are).
    source: Source,
}

/// The configuration parts policies are compiled from.
type Source = (
    std::collections::BTreeMap<String, tern_config::RoutePolicy>,
    std::collections::BTreeMap<String, tern_config::PrefixList>,
    std::collections::BTreeMap<String, tern_config::PrefixList>,
    tern_config::filter::Filters,
    bool,
);

impl PartialEq for Policies {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.source == other.0.source
    }
}

impl Eq for Policies {}

impl Policies {
    /// The configuration the policies were compiled from: its route policies and prefix lists
    /// only (`Policies::new` of it compiles the same policies).
    pub fn source(&self) -> Config {
        let (route_policies, ip_prefixes, ipv6_prefixes, filters, as_notation_plain) =
            self.0.source.clone();
        Config {
            route_policies,
            ip_prefixes,
            ipv6_prefixes,
            filters,
            as_notation_plain,
            ..Config::default()
        }
    }

    /// Compiles the route policies and prefix lists of `config`.
    pub fn new(config: &Config) -> Policies {
        let problems = Vec::new();
        let v4 = compile_lists(&config.ip_prefixes, false);
        let v6 = compile_lists(&config.ipv6_prefixes, true);
        let filters = FilterSet::new(&config.filters, config.notation());
        let policies = config
            .route_policies
            .iter()
            .map(|(name, p)| {
                let nodes = p
                    .nodes
                    .values()
                    .map(|n| Node {
                        permit: n.mode == MatchMode::Permit,
                        groups: compile_matches(&n.matches, &v4, &v6, &filters),
                        actions: compile_applies(&n.applies, &filters),
                    })
                    .collect();
                (name.clone(), Policy { nodes })
            })
            .collect();
        let source = (
            config.route_policies.clone(),
            config.ip_prefixes.clone(),
            config.ipv6_prefixes.clone(),
            config.filters.clone(),
            config.as_notation_plain,
        );
        let owned = |m: HashMap<&str, Arc<PrefixTable>>| {
            m.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<HashMap<_, _>>()
        };
        Policies(Arc::new(Compiled {
            policies,
            lists: [owned(v4), owned(v6)],
            filters,
            problems,
            source,
        }))
    }

    /// True when a policy of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.0.policies.contains_key(name)
    }

    /// What cannot be evaluated as written, one line each (`route-policy P node 10: if-match
    /// community-filter 1: ...`), for the caller to log once per configuration.
    pub fn problems(&self) -> &[String] {
        &self.0.problems
    }

    /// Evaluates policy `name` on `route`. A policy that does not exist permits the route
    /// unchanged (see the module documentation).
    pub fn evaluate(&self, name: &str, route: &RouteInput<'_>) -> Outcome {
        let Some(policy) = self.0.policies.get(name) else {
            return Outcome::unchanged(route.tag);
        };
        let facts = Facts::of(route);
        let filters = &self.0.filters;
        for node in &policy.nodes {
            if node
                .groups
                .iter()
                .all(|g| g.iter().any(|c| c.holds(&facts, route, filters)))
            {
                return if node.permit {
                    node.actions.outcome(&facts, route)
                } else {
                    Outcome::Deny
                };
            }
        }
        Outcome::Deny
    }
}

/// A peer's own filters in one direction of one family (`peer X as-path-filter F
/// import|export`, `peer X ip-prefix P import|export` / `ipv6-prefix`), evaluated before its
/// route policy: a route must pass each one configured. A filter or prefix list that is
/// named but not configured passes every route, as in the route policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PeerFilters {
    /// `as-path-filter F`.
    pub as_path: Option<String>,
    /// `ip-prefix P` (an IPv4 family) or `ipv6-prefix P` (an IPv6 family): the list of the
    /// route's own family is looked up.
    pub prefix: Option<String>,
}

impl PeerFilters {
    /// True when no filter is configured.
    pub fn is_empty(&self) -> bool {
        self.as_path.is_none() && self.prefix.is_none()
    }
}

impl Policies {
    /// True when `route` passes the peer's filters `f`.
    pub fn filters_permit(&self, f: &PeerFilters, route: &RouteInput<'_>) -> bool {
        if let Some(name) = &f.prefix {
            let facts = Facts::of(route);
            if let Some(l) = self.0.lists[usize::from(facts.v6)].get(name)
                && !l.permits(facts.bits, facts.len)
            {
                return false;
            }
        }
        if let Some(name) = &f.as_path
            && let Some(flt) = self.0.filters.as_path.get(name)
        {
            let text = filter::aspath::path_text(&route.attrs.as_path, self.0.filters.notation);
            if !flt.permits(&text) {
                return false;
            }
        }
        true
    }
}

/// One policy: its nodes in ascending number.
#[derive(Debug)]
struct Policy {
    nodes: Vec<Node>,
}

#[derive(Debug)]
struct Node {
    permit: bool,
    /// Every group must hold; a group holds when any of its conditions does.
    groups: Vec<Vec<Cond>>,
    actions: Actions,
}

/// What a route is matched on, computed once per evaluation.
struct Facts {
    v6: bool,
    /// The prefix's address, left-aligned in 128 bits (an IPv4 address in the top 32).
    bits: u128,
    len: u8,
}

impl Facts {
    fn of(route: &RouteInput<'_>) -> Facts {
        let (v6, bits) = addr_bits(&route.key.prefix);
        Facts {
            v6,
            bits,
            len: route.key.prefix.prefix_len(),
        }
    }
}

/// One `if-match` condition.
#[derive(Debug)]
enum Cond {
    /// A prefix list for one family; `None`: the list does not exist (matches).
    Prefix {
        v6: bool,
        list: Option<Arc<PrefixTable>>,
    },
    /// The route carries a label.
    Labeled,
    /// MED equals (a missing MED is 0).
    Cost(u32),
    /// Tag equals.
    Tag(u32),
    /// `if-match as-path-filter`; `None`: not configured (matches).
    AsPath(Option<Arc<filter::aspath::AsPathFilter>>),
    /// `if-match community-filter [whole-match]`; `None`: not configured (matches).
    Community(Option<Arc<filter::community::CommunityFilter>>, bool),
    /// `if-match extcommunity-filter`; `None`: not configured (matches).
    Ext(Option<Arc<filter::extcomm::ExtFilter>>),
    /// `if-match rd-filter`; `None`: not configured (matches).
    Rd(Option<Arc<filter::rd::RdFilter>>),
}

impl Cond {
    fn holds(&self, f: &Facts, route: &RouteInput<'_>, filters: &FilterSet) -> bool {
        match self {
            Cond::Prefix { v6, list } => {
                *v6 != f.v6 || list.as_ref().is_none_or(|l| l.permits(f.bits, f.len))
            }
            Cond::Labeled => !route.labels.is_empty(),
            Cond::Cost(c) => route.attrs.med.unwrap_or(0) == *c,
            Cond::Tag(t) => route.tag == Some(*t),
            Cond::AsPath(x) => x.as_ref().is_none_or(|x| {
                x.permits(&filter::aspath::path_text(
                    &route.attrs.as_path,
                    filters.notation,
                ))
            }),
            Cond::Community(x, whole) => x
                .as_ref()
                .is_none_or(|x| x.permits(&route.attrs.communities, *whole)),
            Cond::Ext(x) => x
                .as_ref()
                .is_none_or(|x| x.permits(&route.attrs.ext_communities)),
            Cond::Rd(x) => x
                .as_ref()
                .is_none_or(|x| x.permits(route.key.rd.as_ref(), filters.notation)),
        }
    }
}

fn compile_matches(
    matches: &[Match],
    v4: &HashMap<&str, Arc<PrefixTable>>,
    v6: &HashMap<&str, Arc<PrefixTable>>,
    filters: &FilterSet,
) -> Vec<Vec<Cond>> {
    let mut groups: Vec<(u8, Vec<Cond>)> = Vec::new();
    for m in matches {
        let cond = match m {
            Match::IpPrefix(n) => Cond::Prefix {
                v6: false,
                list: v4.get(n.as_str()).cloned(),
            },
            Match::Ipv6PrefixList(n) => Cond::Prefix {
                v6: true,
                list: v6.get(n.as_str()).cloned(),
            },
            Match::MplsLabel => Cond::Labeled,
            Match::Cost(c) => Cond::Cost(*c),
            Match::Tag(t) => Cond::Tag(*t),
            Match::AsPathFilter(n) => Cond::AsPath(filters.as_path.get(n).cloned()),
            Match::CommunityFilter(n) => Cond::Community(filters.community.get(n).cloned(), false),
            Match::CommunityFilterWhole(n) => {
                Cond::Community(filters.community.get(n).cloned(), true)
            }
            Match::ExtcommunityFilter(n) => Cond::Ext(filters.ext.get(n).cloned()),
            Match::RdFilter(n) => Cond::Rd(filters.rd.get(&n.to_string()).cloned()),
        };
        match groups.iter_mut().find(|(k, _)| *k == m.kind()) {
            Some((_, g)) => g.push(cond),
            None => groups.push((m.kind(), vec![cond])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use tern_types::{ExtCommunity, Label, TargetKind};
    use tern_wire::NextHop;
    use tern_wire::attr::{AsPath, Origin};

    fn policies(text: &str) -> Policies {
        Policies::new(&tern_config::parse_file(text).unwrap())
    }

    fn attrs() -> PathAttrs {
        PathAttrs::new(
            Origin::Igp,
            AsPath::sequence(&[30, 40, 50], true),
            NextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 1)),
        )
    }

    fn key(p: &str) -> RouteKey {
        RouteKey::new(p.parse().unwrap())
    }

    /// Evaluates `name` on an unlabeled BGP route to `prefix` with [`attrs`].
    fn eval(p: &Policies, name: &str, prefix: &str) -> Outcome {
        let (k, a, l) = (key(prefix), attrs(), LabelStack::new());
        p.evaluate(name, &RouteInput::new(&k, &a, &l))
    }

    /// The attributes a permitting outcome gives [`attrs`].
    fn applied(p: &Policies, name: &str, prefix: &str) -> PathAttrs {
        let a = attrs();
        eval(p, name, prefix).attrs(&a).unwrap().clone()
    }

    #[test]
    fn nodes_are_tried_in_ascending_order() {
        // Typed 20 first; node 10 still comes first.
        let p = policies(
            "route-policy P permit node 20\n apply cost 20\n#\n\
             route-policy P permit node 10\n apply cost 10\n#\nreturn\n",
        );
        assert_eq!(applied(&p, "P", "1.1.1.0/24").med, Some(10));
    }

    #[test]
    fn first_matching_node_wins() {
        let p = policies(
            "route-policy P permit node 10\n if-match ip-prefix A\n apply cost 10\n#\n\
             route-policy P permit node 20\n apply cost 20\n#\n\
             ip ip-prefix A index 10 permit 1.1.1.0 24\n#\nreturn\n",
        );
        assert_eq!(applied(&p, "P", "1.1.1.0/24").med, Some(10));
        assert_eq!(applied(&p, "P", "2.2.2.0/24").med, Some(20));
    }

    #[test]
    fn no_matching_node_denies() {
        let p = policies(
            "route-policy P permit node 10\n if-match ip-prefix A\n#\n\
             ip ip-prefix A index 10 permit 1.1.1.0 24\n#\nreturn\n",
        );
        assert!(eval(&p, "P", "1.1.1.0/24").is_permit());
        assert_eq!(eval(&p, "P", "2.2.2.0/24"), Outcome::Deny);
    }

    #[test]
    fn deny_node_refuses_before_later_permits() {
        let p = policies(
            "route-policy P deny node 10\n if-match ip-prefix A\n#\n\
             route-policy P permit node 20\n#\n\
             ip ip-prefix A index 10 permit 1.1.1.0 24\n#\nreturn\n",
        );
        assert_eq!(eval(&p, "P", "1.1.1.0/24"), Outcome::Deny);
        assert_eq!(eval(&p, "P", "2.2.2.0/24"), Outcome::unchanged(None));
    }

    #[test]
    fn missing_policy_permits_unchanged() {
        let p = policies("route-policy P deny node 10\n#\nreturn\n");
        assert!(!p.contains("Q"));
        assert_eq!(eval(&p, "Q", "1.1.1.0/24"), Outcome::unchanged(None));
        let (k, a, l) = (key("1.1.1.0/24"), attrs(), LabelStack::new());
        let r = RouteInput {
            tag: Some(7),
            ..RouteInput::new(&k, &a, &l)
        };
        assert_eq!(
            Policies::default().evaluate("P", &r),
            Outcome::unchanged(Some(7))
        );
    }

    #[test]
    fn missing_prefix_list_matches_everything() {
        let p = policies(
            "route-policy P permit node 10\n if-match ip-prefix NOPE\n apply cost 1\n#\nreturn\n",
        );
        assert_eq!(applied(&p, "P", "9.9.9.0/24").med, Some(1));
    }

    #[test]
    fn prefix_list_length_ranges() {
        let p = policies(
            "route-policy P permit node 10\n if-match ip-prefix A\n#\n\
             ip ip-prefix A index 10 permit 10.0.0.0 8 greater-equal 16 less-equal 24\n#\nreturn\n",
        );
        for (prefix, ok) in [
            ("10.0.0.0/8", false),
            ("10.1.0.0/16", true),
            ("10.1.2.0/24", true),
            ("10.1.2.128/25", false),
            ("11.1.0.0/16", false),
        ] {
            assert_eq!(eval(&p, "P", prefix).is_permit(), ok, "{prefix}");
        }
    }

    #[test]
    fn prefix_list_first_entry_decides() {
        // The vendor's case 7: deny 1.1.1.0/24, then permit 1.1.1.1/32.
        let p = policies(
            "route-policy P permit node 10\n if-match ip-prefix A\n#\n\
             ip ip-prefix A index 10 deny 1.1.1.0 24\n\
             ip ip-prefix A index 20 permit 1.1.1.1 32\n\
             ip ip-prefix A index 30 permit 1.1.1.0 24 less-equal 32\n#\nreturn\n",
        );
        assert!(!eval(&p, "P", "1.1.1.0/24").is_permit());
        assert!(eval(&p, "P", "1.1.1.1/32").is_permit());
        assert!(eval(&p, "P", "1.1.1.0/26").is_permit());
    }

    #[test]
    fn zero_address_entry_matches_on_length_only() {
        // The vendor's cases 8 and 9.
        let p = policies(
            "route-policy P permit node 10\n if-match ip-prefix A\n#\n\
             route-policy Q permit node 10\n if-match ip-prefix B\n#\n\
             ip ip-prefix A index 10 permit 0.0.0.0 8 less-equal 32\n\
             ip ip-prefix B index 10 deny 0.0.0.0 24 less-equal 32\n\
             ip ip-prefix B index 20 permit 0.0.0.0 0 less-equal 32\n#\nreturn\n",
        );
        for prefix in ["1.1.1.0/24", "2.2.2.0/24", "1.1.0.0/16", "1.1.1.1/32"] {
            assert!(eval(&p, "P", prefix).is_permit(), "{prefix}");
        }
        assert!(!eval(&p, "P", "0.0.0.0/0").is_permit());
        assert!(eval(&p, "Q", "1.1.0.0/16").is_permit());
        assert!(!eval(&p, "Q", "1.1.1.0/24").is_permit());
    }

    #[test]
    fn vpn_routes_match_on_the_prefix() {
        let p = policies(
            "route-policy P permit node 10\n if-match ip-prefix A\n#\n\
             ip ip-prefix A index 10 permit 1.1.1.0 24\n#\nreturn\n",
        );
        let (a, l) = (attrs(), LabelStack::single(Label(100)));
        let k = RouteKey::vpn("100:1".parse().unwrap(), "1.1.1.0/24".parse().unwrap());
        assert!(p.evaluate("P", &RouteInput::new(&k, &a, &l)).is_permit());
        let k = RouteKey::vpn("100:1".parse().unwrap(), "1.1.2.0/24".parse().unwrap());
        assert!(!p.evaluate("P", &RouteInput::new(&k, &a, &l)).is_permit());
    }

    #[test]
    fn prefix_clauses_pass_routes_of_the_other_family() {
        let p = policies(
            "route-policy V4 permit node 10\n if-match ip-prefix A\n#\n\
             route-policy V6 permit node 10\n if-match ipv6 address prefix-list B\n#\n\
             ip ip-prefix A index 10 permit 1.1.1.0 24\n#\n\
             ip ipv6-prefix B index 10 permit 2001:db8:: 32 less-equal 64\n#\nreturn\n",
        );
        assert!(eval(&p, "V4", "2001:db9::/64").is_permit());
        assert!(!eval(&p, "V4", "2.2.2.0/24").is_permit());
        assert!(eval(&p, "V6", "2.2.2.0/24").is_permit());
        assert!(eval(&p, "V6", "2001:db8:1::/48").is_permit());
        assert!(!eval(&p, "V6", "2001:db9::/48").is_permit());
        assert!(!eval(&p, "V6", "2001:db8::1/128").is_permit());
    }

    #[test]
    fn mpls_label_matches_labeled_routes() {
        let p = policies("route-policy P permit node 10\n if-match mpls-label\n#\nreturn\n");
        let (k, a) = (key("4.4.4.9/32"), attrs());
        let labeled = LabelStack::single(Label(1024));
        assert!(
            p.evaluate("P", &RouteInput::new(&k, &a, &labeled))
                .is_permit()
        );
        let none = LabelStack::new();
        assert!(!p.evaluate("P", &RouteInput::new(&k, &a, &none)).is_permit());
    }

    #[test]
    fn cost_and_tag_matches() {
        let p = policies(
            "route-policy C permit node 10\n if-match cost 5\n#\n\
             route-policy Z permit node 10\n if-match cost 0\n#\n\
             route-policy T permit node 10\n if-match tag 7\n#\nreturn\n",
        );
        let (k, l) = (key("1.1.1.0/24"), LabelStack::new());
        let mut a = attrs();
        assert!(!p.evaluate("C", &RouteInput::new(&k, &a, &l)).is_permit());
        assert!(p.evaluate("Z", &RouteInput::new(&k, &a, &l)).is_permit());
        a.med = Some(5);
        assert!(p.evaluate("C", &RouteInput::new(&k, &a, &l)).is_permit());
        assert!(!p.evaluate("T", &RouteInput::new(&k, &a, &l)).is_permit());
        let tagged = RouteInput {
            tag: Some(7),
            ..RouteInput::new(&k, &a, &l)
        };
        assert_eq!(p.evaluate("T", &tagged), Outcome::unchanged(Some(7)));
    }

    #[test]
    fn clauses_of_different_kinds_must_all_match() {
        let p = policies(
            "route-policy P permit node 10\n if-match mpls-label\n if-match cost 5\n#\nreturn\n",
        );
        let (k, l) = (key("1.1.1.0/24"), LabelStack::single(Label(16)));
        let mut a = attrs();
        assert!(!p.evaluate("P", &RouteInput::new(&k, &a, &l)).is_permit());
        a.med = Some(5);
        assert!(p.evaluate("P", &RouteInput::new(&k, &a, &l)).is_permit());
    }

    #[test]
    fn filter_clauses_match_through_their_filters() {
        let p = policies(
            "ip as-path-filter 1 permit _40_\n\
             ip as-path-filter 2 permit ^99_\n\
             ip community-filter 1 permit 100:1\n\
             ip community-filter 2 permit 100:2\n\
             route-policy A permit node 10\n if-match as-path-filter 1\n apply cost 1\n#\n\
             route-policy B permit node 10\n if-match as-path-filter 2\n#\n\
             route-policy C permit node 10\n if-match community-filter 1\n \
             if-match community-filter 2\n#\n\
             route-policy D permit node 10\n if-match community-filter 1\n \
             if-match as-path-filter 2\n#\n\
             route-policy U permit node 10\n if-match as-path-filter 9\n \
             if-match community-filter 9\n if-match extcommunity-filter 9\n \
             if-match rd-filter 9\n apply cost 9\n#\nreturn\n",
        );
        // attrs(): path 30 40 50.
        assert_eq!(applied(&p, "A", "1.1.1.0/24").med, Some(1));
        assert_eq!(eval(&p, "B", "1.1.1.0/24"), Outcome::Deny);
        let (k, l) = (key("1.1.1.0/24"), LabelStack::new());
        let mut a = attrs();
        // Two community filters: either may match (OR).
        assert!(!p.evaluate("C", &RouteInput::new(&k, &a, &l)).is_permit());
        a.communities = vec![(100 << 16) | 2];
        assert!(p.evaluate("C", &RouteInput::new(&k, &a, &l)).is_permit());
        // Different kinds: both must match (AND).
        a.communities = vec![(100 << 16) | 1];
        assert!(!p.evaluate("D", &RouteInput::new(&k, &a, &l)).is_permit());
        // Filters that are not configured match every route.
        assert_eq!(applied(&p, "U", "1.1.1.0/24").med, Some(9));
        assert!(p.problems().is_empty());
    }

    #[test]
    fn as_path_filters_follow_the_notation() {
        let text = "ip as-path-filter 1 permit ^1\\.10_\n\
                    route-policy P permit node 10\n if-match as-path-filter 1\n#\nreturn\n";
        let (k, l) = (key("1.1.1.0/24"), LabelStack::new());
        let mut a = attrs();
        a.as_path = AsPath::sequence(&[65546, 100], true);
        let dotted = policies(text);
        assert!(
            dotted
                .evaluate("P", &RouteInput::new(&k, &a, &l))
                .is_permit()
        );
        let plain = policies(&format!("as-notation plain\n{text}"));
        assert!(
            !plain
                .evaluate("P", &RouteInput::new(&k, &a, &l))
                .is_permit()
        );
        let plain = policies(
            "as-notation plain\nip as-path-filter 1 permit ^65546_\n\
             route-policy P permit node 10\n if-match as-path-filter 1\n#\nreturn\n",
        );
        assert!(
            plain
                .evaluate("P", &RouteInput::new(&k, &a, &l))
                .is_permit()
        );
    }

    #[test]
    fn extcommunity_and_rd_clauses() {
        let p = policies(
            "ip extcommunity-filter 1 permit rt 100:1\n\
             ip rd-filter 1 permit 100:*\n\
             route-policy E permit node 10\n if-match extcommunity-filter 1\n#\n\
             route-policy R permit node 10\n if-match rd-filter 1\n#\nreturn\n",
        );
        let l = LabelStack::single(Label(100));
        let mut a = attrs();
        let k = RouteKey::vpn("100:7".parse().unwrap(), "1.1.1.0/24".parse().unwrap());
        assert!(!p.evaluate("E", &RouteInput::new(&k, &a, &l)).is_permit());
        a.ext_communities = vec![ExtCommunity::as2(TargetKind::RouteTarget, 100, 1)];
        assert!(p.evaluate("E", &RouteInput::new(&k, &a, &l)).is_permit());
        assert!(p.evaluate("R", &RouteInput::new(&k, &a, &l)).is_permit());
        let other = RouteKey::vpn("200:7".parse().unwrap(), "1.1.1.0/24".parse().unwrap());
        assert!(
            !p.evaluate("R", &RouteInput::new(&other, &a, &l))
                .is_permit()
        );
        // A route without an RD matches no entry of a configured RD filter.
        assert!(
            !p.evaluate("R", &RouteInput::new(&key("1.1.1.0/24"), &a, &l))
                .is_permit()
        );
    }

    #[test]
    fn apply_comm_filter_delete() {
        let p = policies(
            "ip community-filter 1 permit 1:200\nip community-filter 1 permit 2:200\n\
             ip community-filter 1 permit 3:200 4:200\n\
             route-policy P permit node 10\n apply comm-filter 1 delete\n#\n\
             route-policy Q permit node 10\n apply community 2:200 5:5 additive\n \
             apply comm-filter 1 delete\n#\n\
             route-policy N permit node 10\n apply comm-filter 7 delete\n#\nreturn\n",
        );
        let (k, l) = (key("1.1.1.0/24"), LabelStack::new());
        let c = |a: u32, n: u32| (a << 16) | n;
        let mut a = attrs();
        a.communities = vec![c(1, 200), c(3, 200), c(4, 200), c(9, 9)];
        let run = |name: &str| {
            let o = p.evaluate(name, &RouteInput::new(&k, &a, &l));
            o.attrs(&a).unwrap().communities.clone()
        };
        assert_eq!(run("P"), vec![c(3, 200), c(4, 200), c(9, 9)]);
        assert_eq!(run("Q"), vec![c(3, 200), c(4, 200), c(9, 9), c(5, 5)]);
        // A filter that is not configured deletes nothing.
        assert_eq!(run("N"), a.communities);
    }

    #[test]
    fn peer_filters() {
        let p = policies(
            "ip ip-prefix A index 10 permit 1.1.1.0 24\n\
             ip ipv6-prefix A index 10 permit 2001:db8:: 32\n\
             ip as-path-filter 1 permit ^30_\n#\nreturn\n",
        );
        let (a, l) = (attrs(), LabelStack::new());
        let ok = |f: &PeerFilters, prefix: &str| {
            let k = key(prefix);
            p.filters_permit(f, &RouteInput::new(&k, &a, &l))
        };
        let prefix = PeerFilters {
            prefix: Some("A".into()),
            ..PeerFilters::default()
        };
        assert!(ok(&prefix, "1.1.1.0/24"));
        assert!(!ok(&prefix, "1.1.2.0/24"));
        assert!(ok(&prefix, "2001:db8::/32"));
        assert!(!ok(&prefix, "2001:db9::/32"));
        let path = PeerFilters {
            as_path: Some("1".into()),
            ..PeerFilters::default()
        };
        assert!(ok(&path, "9.9.9.0/24"));
        let both = PeerFilters {
            as_path: Some("1".into()),
            prefix: Some("A".into()),
        };
        assert!(!ok(&both, "9.9.9.0/24"));
        assert!(ok(&both, "1.1.1.0/24"));
        let missing = PeerFilters {
            as_path: Some("2".into()),
            prefix: Some("B".into()),
        };
        assert!(ok(&missing, "9.9.9.0/24"));
        assert!(ok(&PeerFilters::default(), "9.9.9.0/24"));
    }

    #[test]
    fn a_filter_change_changes_the_policies() {
        let a = policies("ip as-path-filter 1 permit ^30_\n#\nreturn\n");
        let b = policies("ip as-path-filter 1 permit ^40_\n#\nreturn\n");
        assert_ne!(a, b);
        let c = policies("as-notation plain\nip as-path-filter 1 permit ^30_\n#\nreturn\n");
        assert_ne!(a, c);
        assert_eq!(Policies::new(&a.source()), a);
    }

    #[test]
    fn permit_without_applies_does_not_copy() {
        let p = policies("route-policy P permit node 10\n#\nreturn\n");
        assert_eq!(eval(&p, "P", "1.1.1.0/24"), Outcome::unchanged(None));
    }

    #[test]
    fn apply_scalars() {
        let p = policies(
            "route-policy P permit node 10\n apply cost 120\n apply local-preference 300\n \
             apply preferred-value 50\n#\nreturn\n",
        );
        let a = applied(&p, "P", "1.1.1.0/24");
        assert_eq!(
            (a.med, a.local_pref, a.preferred_value),
            (Some(120), Some(300), 50)
        );
        assert_eq!(a.as_path, attrs().as_path);
    }

    #[test]
    fn apply_tag_sets_the_outcome_tag() {
        let p = policies("route-policy P permit node 10\n apply tag 9\n#\nreturn\n");
        // The tag is not a BGP attribute: nothing to copy.
        assert_eq!(eval(&p, "P", "1.1.1.0/24"), Outcome::unchanged(Some(9)));
    }

    #[test]
    fn apply_community_replaces_or_adds() {
        let p = policies(
            "route-policy R permit node 10\n apply community 100:1 no-export 7\n#\n\
             route-policy A permit node 10\n apply community 100:1 no-advertise additive\n#\n\
             route-policy N permit node 10\n apply community none\n#\n\
             route-policy W permit node 10\n \
             apply community internet no-export-subconfed\n#\nreturn\n",
        );
        let (k, l) = (key("1.1.1.0/24"), LabelStack::new());
        let mut a = attrs();
        a.communities = vec![30];
        let run = |name: &str| {
            let o = p.evaluate(name, &RouteInput::new(&k, &a, &l));
            o.attrs(&a).unwrap().communities.clone()
        };
        assert_eq!(run("R"), vec![(100 << 16) | 1, NO_EXPORT, 7]);
        assert_eq!(run("A"), vec![30, (100 << 16) | 1, NO_ADVERTISE]);
        assert_eq!(run("N"), Vec::<u32>::new());
        assert_eq!(run("W"), vec![INTERNET, NO_EXPORT_SUBCONFED]);
        assert!(p.problems().is_empty());
    }

    #[test]
    fn apply_extcommunity_replaces_route_targets_only() {
        let p = policies(
            "route-policy R permit node 10\n apply extcommunity rt 100:2 rt 1.1.1.1:22\n#\n\
             route-policy A permit node 10\n \
             apply extcommunity rt 100.100:100 additive\n#\nreturn\n",
        );
        let (k, l) = (key("1.1.1.0/24"), LabelStack::new());
        let rt = |s: &str| ExtCommunity::parse_target(TargetKind::RouteTarget, s).unwrap();
        let soo = ExtCommunity::as2(TargetKind::RouteOrigin, 100, 9);
        let mut a = attrs();
        a.ext_communities = vec![rt("100:1"), soo];
        let run = |name: &str| {
            let o = p.evaluate(name, &RouteInput::new(&k, &a, &l));
            o.attrs(&a).unwrap().ext_communities.clone()
        };
        assert_eq!(run("R"), vec![soo, rt("100:2"), rt("1.1.1.1:22")]);
        assert_eq!(
            run("A"),
            vec![
                rt("100:1"),
                soo,
                ExtCommunity::as4(TargetKind::RouteTarget, (100 << 16) | 100, 100)
            ]
        );
    }

    #[test]
    fn apply_as_path_modes() {
        let p = policies(
            "route-policy A permit node 10\n apply as-path 60 70 80 10.10 additive\n#\n\
             route-policy O permit node 10\n apply as-path 200 10.10 overwrite\n#\n\
             route-policy D permit node 10\n apply as-path 40 delete\n#\n\
             route-policy N permit node 10\n apply as-path none overwrite\n#\nreturn\n",
        );
        let asns = |name: &str| {
            applied(&p, name, "1.1.1.0/24")
                .as_path
                .asns()
                .collect::<Vec<_>>()
        };
        let dotted = (10 << 16) | 10;
        assert_eq!(asns("A"), vec![60, 70, 80, dotted, 30, 40, 50]);
        assert_eq!(asns("O"), vec![200, dotted]);
        assert_eq!(asns("D"), vec![30, 50]);
        assert_eq!(asns("N"), Vec::<u32>::new());
        assert!(p.problems().is_empty());
    }

    #[test]
    fn apply_next_hops() {
        let p = policies(
            "route-policy V4 permit node 10\n apply ip-address next-hop 10.1.1.8\n#\n\
             route-policy V6 permit node 10\n apply ipv6 next-hop 2001:db8::1\n#\nreturn\n",
        );
        let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let nh4 = Ipv4Addr::new(10, 1, 1, 8);
        assert_eq!(applied(&p, "V4", "1.1.1.0/24").next_hop, NextHop::Ipv4(nh4));
        assert_eq!(
            applied(&p, "V4", "2001:db8:9::/48").next_hop,
            NextHop::ipv4_mapped(nh4)
        );
        assert_eq!(
            applied(&p, "V6", "2001:db8:9::/48").next_hop,
            NextHop::Ipv6 {
                global: v6,
                link_local: None
            }
        );
        // An IPv6 next hop leaves IPv4 routes alone.
        assert_eq!(eval(&p, "V6", "1.1.1.0/24"), Outcome::unchanged(None));
        // `network` / `import-route` routes keep their next hop.
        let (k, a, l) = (key("1.1.1.0/24"), attrs(), LabelStack::new());
        let local = RouteInput {
            originated: true,
            ..RouteInput::new(&k, &a, &l)
        };
        assert_eq!(p.evaluate("V4", &local), Outcome::unchanged(None));
    }

    #[test]
    fn apply_mpls_label_asks_for_a_label() {
        let p = policies("route-policy P permit node 10\n apply mpls-label\n#\nreturn\n");
        let o = eval(&p, "P", "1.1.1.9/32");
        assert!(o.allocate_label());
        assert_eq!(
            o,
            Outcome::Permit {
                attrs: None,
                allocate_label: true,
                tag: None
            }
        );
    }

    #[test]
    fn vendor_option_c_asbr_policies() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/huawei/ipv4-option-c-s1/ASBR1.cfg"
        ))
        .unwrap();
        let p = Policies::new(&tern_config::parse_file(&text).unwrap());
        assert!(p.problems().is_empty());
        let (k, a) = (key("4.4.4.9/32"), attrs());
        let labeled = LabelStack::single(Label(1025));
        let unlabeled = LabelStack::new();
        let allocate = Outcome::Permit {
            attrs: None,
            allocate_label: true,
            tag: None,
        };
        // policy1 (to the other AS's ASBR): every route, with a label.
        assert_eq!(
            p.evaluate("policy1", &RouteInput::new(&k, &a, &labeled)),
            allocate
        );
        assert_eq!(
            p.evaluate("policy1", &RouteInput::new(&k, &a, &unlabeled)),
            allocate
        );
        // policy2 (to the local PE): only labeled routes, with a new label.
        assert_eq!(
            p.evaluate("policy2", &RouteInput::new(&k, &a, &labeled)),
            allocate
        );
        assert_eq!(
            p.evaluate("policy2", &RouteInput::new(&k, &a, &unlabeled)),
            Outcome::Deny
        );
    }
}
