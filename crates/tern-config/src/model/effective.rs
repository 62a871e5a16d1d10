//! The configuration as it runs: peer group members with what they inherit.
//!
//! Each setting a member does not set itself comes from its group: a peer's own
//! `ebgp-max-hop` or `valid-ttl-hops` replaces both of the group's (they exclude each other);
//! switches such as `reflect-client` are on when either sets them; values (policies, timers,
//! password, route limit) are the peer's, else the group's. `enable` is the member's own (the
//! group's is copied to its members when typed). The group's `description` describes the
//! group and is not inherited.

use super::{AfPeer, BgpFamily, Config, Group, Peer};

impl Config {
    /// The configuration as it runs: every member of a peer group with the group's settings
    /// it does not set itself, and no groups. ternd resolves and diffs this.
    pub fn effective(&self) -> Config {
        let mut c = self.clone();
        let Some(bgp) = c.bgp.as_mut() else { return c };
        let groups = std::mem::take(&mut bgp.groups);
        for p in bgp.peers.values_mut() {
            if let Some(g) = p.group.as_ref().and_then(|n| groups.get(n)) {
                inherit_session(p, g);
            }
        }
        let super::Bgp {
            peers, families, ..
        } = bgp;
        for (k, f) in families.iter_mut() {
            let gaf = std::mem::take(&mut f.group_peers);
            let vgroups = std::mem::take(&mut f.groups);
            let BgpFamily {
                peers: afp,
                vrf_peers,
                ..
            } = f;
            let sessions = if k.vpn_instance().is_some() {
                for p in vrf_peers.values_mut() {
                    if let Some(g) = p.group.as_ref().and_then(|n| vgroups.get(n)) {
                        inherit_session(p, g);
                    }
                }
                &*vrf_peers
            } else {
                &*peers
            };
            for p in sessions.values() {
                if let Some(g) = p.group.as_ref().and_then(|n| gaf.get(n)) {
                    inherit_af(afp.entry(p.addr).or_default(), g);
                }
            }
        }
        c
    }
}

/// A member's session settings: its own, else its group's.
fn inherit_session(p: &mut Peer, g: &Group) {
    let s = &g.session;
    if p.asn_inherited
        && let Some(a) = g.asn
    {
        p.asn = a;
    }
    if p.connect_interface.is_none() {
        p.connect_interface = s.connect_interface.clone();
    }
    // GTSM and EBGP-max-hop exclude each other: the peer's own choice replaces the group's.
    if p.ebgp_max_hop.is_none() && p.valid_ttl_hops.is_none() {
        p.ebgp_max_hop = s.ebgp_max_hop;
        p.valid_ttl_hops = s.valid_ttl_hops;
    }
    if p.password.is_none() {
        p.password = s.password.clone();
    }
    p.timers = p.timers.or(s.timers);
    p.connect_retry = p.connect_retry.or(s.connect_retry);
    p.ignore |= s.ignore;
    if p.fake_as.is_none() {
        p.fake_as = s.fake_as;
    }
}

/// A member's settings in one family: its own, else its group's (`enable` is the member's:
/// the group's `enable` is copied to its members when typed).
fn inherit_af(p: &mut AfPeer, g: &AfPeer) {
    p.reflect_client |= g.reflect_client;
    if !p.next_hop_invariable && !p.next_hop_local {
        p.next_hop_invariable = g.next_hop_invariable;
        p.next_hop_local = g.next_hop_local;
    }
    p.label_route_capability |= g.label_route_capability;
    p.advertise_community |= g.advertise_community;
    p.advertise_ext_community |= g.advertise_ext_community;
    p.keep_all_routes |= g.keep_all_routes;
    if p.route_policy_import.is_none() {
        p.route_policy_import = g.route_policy_import.clone();
    }
    if p.route_policy_export.is_none() {
        p.route_policy_export = g.route_policy_export.clone();
    }
    p.route_limit = p.route_limit.or(g.route_limit);
    p.allow_as_loop = p.allow_as_loop.or(g.allow_as_loop);
    p.substitute_as |= g.substitute_as;
    p.public_as_only = p.public_as_only.or(g.public_as_only);
    if p.default_route_advertise.is_none() {
        p.default_route_advertise = g.default_route_advertise.clone();
    }
    for (mine, group) in [
        (&mut p.as_path_filter_import, &g.as_path_filter_import),
        (&mut p.as_path_filter_export, &g.as_path_filter_export),
        (&mut p.prefix_import, &g.prefix_import),
        (&mut p.prefix_export, &g.prefix_export),
    ] {
        if mine.is_none() {
            mine.clone_from(group);
        }
    }
    p.add_path = p.add_path.or(g.add_path);
    p.advertise_add_path = p.advertise_add_path.or(g.advertise_add_path);
}
