//! The route filters of the configuration (vendor reference, IP Routing Policy
//! Configuration), compiled once per configuration, one module per kind:
//!
//! - [`aspath`]: `ip as-path-filter`, regular expressions over the AS_PATH (RFC 4271
//!   §5.1.2) as VRP writes it, in the configured AS notation (RFC 5396);
//! - [`community`]: `ip community-filter` basic and advanced, over COMMUNITIES (RFC 1997),
//!   and `apply comm-filter delete`;
//! - [`extcomm`]: `ip extcommunity-filter` basic and advanced, over the route targets
//!   (RFC 4360 §4, RFC 5668 §2);
//! - [`rd`]: `ip rd-filter`, over the route distinguisher of VPN routes (RFC 4364 §4.2);
//! - [`regex`]: VRP's regular expressions, translated for the `regex` crate.
//!
//! Every filter is a list of entries tried in ascending index: the first entry that matches
//! decides `permit` or `deny`; a route no entry matches is denied ("By default, ... filters
//! work in deny mode"). A filter that is named but not configured matches every route (the
//! reference, `if-match as-path-filter`, `if-match community-filter`, `if-match
//! extcommunity-filter`, `if-match rd-filter`: "all routes match"); the callers see it as
//! `None`.

pub(crate) mod aspath;
pub(crate) mod community;
pub(crate) mod extcomm;
pub(crate) mod rd;
pub(crate) mod regex;

use std::collections::HashMap;
use std::sync::Arc;

use tern_config::filter::Filters;
use tern_types::Notation;

/// Every filter of one configuration, compiled.
#[derive(Debug, Default)]
pub(crate) struct FilterSet {
    pub(crate) as_path: HashMap<String, Arc<aspath::AsPathFilter>>,
    pub(crate) community: HashMap<String, Arc<community::CommunityFilter>>,
    pub(crate) ext: HashMap<String, Arc<extcomm::ExtFilter>>,
    pub(crate) rd: HashMap<String, Arc<rd::RdFilter>>,
    /// How AS numbers are written where a filter matches text.
    pub(crate) notation: Notation,
}

impl FilterSet {
    pub(crate) fn new(f: &Filters, notation: Notation) -> FilterSet {
        FilterSet {
            as_path: f
                .as_path
                .iter()
                .map(|(n, x)| (n.clone(), Arc::new(aspath::AsPathFilter::new(x))))
                .collect(),
            community: f
                .community
                .iter()
                .map(|(n, x)| (n.clone(), Arc::new(community::CommunityFilter::new(x))))
                .collect(),
            ext: f
                .extcommunity
                .iter()
                .map(|(n, x)| (n.clone(), Arc::new(extcomm::ExtFilter::new(x, notation))))
                .collect(),
            rd: f
                .rd
                .iter()
                .map(|(n, x)| (n.clone(), Arc::new(rd::RdFilter::new(x))))
                .collect(),
            notation,
        }
    }
}

/// The first entry for which `hit` holds decides; none: deny.
pub(crate) fn first<T>(entries: &[(bool, T)], mut hit: impl FnMut(&T) -> bool) -> bool {
    entries
        .iter()
        .find(|(_, e)| hit(e))
        .is_some_and(|(permit, _)| *permit)
}
