//! Peer groups, as VRP has them: `group G [internal|external]` (the BGP view for public
//! peers, a VPN instance family view for its own), `peer X group G` (membership), and every
//! `peer` command with a group name in place of the address.
//!
//! Rules (vendor reference, `group`, `peer group`, `peer as-number` of a group):
//! - a group without a type is internal; its type is not changed by typing it again;
//! - a new group is enabled in the family that enables new peers (IPv4 unicast, or the VPN
//!   instance family it is created in); `peer G enable` in a family enables the group and its
//!   members there, `undo peer G enable` disables them;
//! - `peer X group G` creates X when it does not exist, with the group's AS (an external
//!   group needs `peer G as-number` for that; an internal group's AS is the local AS), and
//!   enables it where the group is enabled; a peer with its own AS keeps it, and must be
//!   internal for an internal group and external for an external one; a peer belongs to one
//!   group;
//! - `peer X group G` in a family view also enables X in that family;
//! - `undo peer X group G` deletes X (as `undo peer X`) in the BGP view and the VPN instance
//!   family views, and disables X in a public family view (as `undo peer X enable`);
//! - `undo group G` deletes the group and its members;
//! - an external group's AS is not the local AS, an internal group's is; the AS of a group
//!   whose members use it is not removed;
//! - `undo peer X as-number` on a member whose group gives it an AS falls back to that AS.
//!
//! What a member runs with is [`Config::effective`]. ternd and
//! [`crate::diff`](mod@crate::diff) read the effective configuration, so a change to a group
//! is a change to exactly its members.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use tern_types::Asn;

use crate::change::{AfPeerAttr, PeerScope, SessionAttr, label_route_allowed, set_af, set_session};
use crate::error::Reject;
use crate::model::{AfKey, AfPeer, BgpFamily, Config, Group, Peer};
use crate::value::Written;

/// A peer group command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupChange {
    /// `group G [internal|external]` / `undo group G`.
    Group {
        /// Public, or the VPN instance family it is typed in.
        scope: PeerScope,
        /// Group name.
        name: String,
        /// `external` (Some(true)), `internal` (Some(false)), no type (None).
        external: Option<bool>,
        /// Delete the group and its members.
        undo: bool,
    },
    /// `peer G as-number A` / `undo peer G as-number` (None).
    As {
        /// Public or a VPN instance family.
        scope: PeerScope,
        /// Group name.
        name: String,
        /// The AS, as written.
        asn: Option<Written<Asn>>,
    },
    /// `peer G <session setting>`.
    Session {
        /// Public or a VPN instance family.
        scope: PeerScope,
        /// Group name.
        name: String,
        /// The setting.
        attr: SessionAttr,
    },
    /// `peer G <family setting>` in a family view (IPv4 unicast in the BGP view).
    Af {
        /// The family.
        af: AfKey,
        /// Group name.
        name: String,
        /// The setting.
        attr: AfPeerAttr,
    },
    /// `peer X group G` / `undo peer X group G`.
    Member {
        /// Public or a VPN instance family.
        scope: PeerScope,
        /// The public family view it was typed in (None: the BGP view or a VPN instance
        /// family view).
        af: Option<AfKey>,
        /// Peer address.
        addr: IpAddr,
        /// Group name.
        name: String,
        /// Delete the peer (or disable it in `af`).
        undo: bool,
    },
    /// `undo peer X as-number`: a member whose group gives it an AS falls back to it; any
    /// other peer is deleted.
    PeerAsUndo {
        /// Public or a VPN instance family.
        scope: PeerScope,
        /// Peer address.
        addr: IpAddr,
    },
}

/// The texts of the peer group rules.
pub mod msg {
    /// A group that does not exist.
    pub const GROUP_NOT_EXIST: &str = "Error: The peer group does not exist.";
    /// `group G external` for an internal group, or the reverse.
    pub const GROUP_TYPE: &str = "Error: The type of an existing peer group cannot be changed.";
    /// `peer G as-number` with another AS than the local one for an internal group.
    pub const INTERNAL_AS: &str = "Error: The AS number of an internal peer group or its members must be the local AS number.";
    /// `peer G as-number` with the local AS for an external group.
    pub const EXTERNAL_AS: &str = "Error: The AS number of an external peer group or its members cannot be the local AS number.";
    /// `peer X group G` for a new peer of an external group without an AS.
    pub const NEED_AS: &str =
        "Error: Configure the AS number of the peer or of the peer group first.";
    /// `undo peer G as-number` while members use it.
    pub const MEMBERS_USE_AS: &str = "Error: Members of the peer group use its AS number; configure their own AS numbers or delete them first.";
    /// `peer X group G` for a member of another group.
    pub const OTHER_GROUP: &str = "Error: The peer already belongs to another peer group.";
    /// `undo peer X group G` for a peer that is not a member of G.
    pub const NOT_MEMBER: &str = "Error: The peer is not a member of the peer group.";
    /// A command on a peer or family that does not exist.
    pub const PEER_NOT_EXIST: &str = crate::change::msg::PEER_NOT_EXIST;
    /// A family that is not configured.
    pub const NOT_CONFIGURED: &str = crate::change::msg::NOT_CONFIGURED;
    /// `bgp` is not configured.
    pub const BGP_NOT_RUNNING: &str = crate::change::msg::BGP_NOT_RUNNING;
}

fn rej(m: &str) -> Reject {
    Reject::new(m)
}

/// One family of a scope: its peers' and its groups' settings.
struct Fam<'a> {
    key: &'a AfKey,
    peers: &'a mut BTreeMap<IpAddr, AfPeer>,
    groups: &'a mut BTreeMap<String, AfPeer>,
}

/// The parts of the configuration one scope's groups touch.
struct Domain<'a> {
    local: Written<Asn>,
    vrf: bool,
    groups: &'a mut BTreeMap<String, Group>,
    peers: &'a mut BTreeMap<IpAddr, Peer>,
    /// The scope's families: every public one, or the one VPN instance family.
    families: Vec<Fam<'a>>,
}

impl<'a> Domain<'a> {
    fn of(cfg: &'a mut Config, scope: &PeerScope) -> Result<Domain<'a>, Reject> {
        let bgp = cfg.bgp.as_mut().ok_or_else(|| rej(msg::BGP_NOT_RUNNING))?;
        let local = bgp.asn;
        let crate::model::Bgp {
            groups,
            peers,
            families,
            ..
        } = bgp;
        match scope {
            PeerScope::Public => Ok(Domain {
                local,
                vrf: false,
                groups,
                peers,
                families: families
                    .iter_mut()
                    .filter(|(k, _)| k.vpn_instance().is_none())
                    .map(|(key, f)| Fam {
                        key,
                        peers: &mut f.peers,
                        groups: &mut f.group_peers,
                    })
                    .collect(),
            }),
            PeerScope::Vrf(af) => {
                let (key, fam) = families
                    .iter_mut()
                    .find(|(k, _)| *k == af)
                    .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                let BgpFamily {
                    groups,
                    vrf_peers,
                    peers,
                    group_peers,
                    ..
                } = fam;
                Ok(Domain {
                    local,
                    vrf: true,
                    groups,
                    peers: vrf_peers,
                    families: vec![Fam {
                        key,
                        peers,
                        groups: group_peers,
                    }],
                })
            }
        }
    }

    /// Deletes a peer and its per-family settings.
    fn remove_peer(&mut self, addr: IpAddr) {
        self.peers.remove(&addr);
        for f in &mut self.families {
            f.peers.remove(&addr);
        }
    }
}

fn group_mut<'g>(
    groups: &'g mut BTreeMap<String, Group>,
    name: &str,
) -> Result<&'g mut Group, Reject> {
    groups
        .get_mut(name)
        .ok_or_else(|| rej(msg::GROUP_NOT_EXIST))
}

/// The scope of a family's `peer` commands.
fn scope_of(af: &AfKey) -> PeerScope {
    match af {
        AfKey::Vrf { .. } => PeerScope::Vrf(af.clone()),
        _ => PeerScope::Public,
    }
}

impl Config {
    /// Applies a peer group command after checking its rules; on `Err` nothing changed.
    pub(crate) fn apply_group(&mut self, c: &GroupChange) -> Result<(), Reject> {
        match c {
            GroupChange::Group {
                scope,
                name,
                external,
                undo,
            } => {
                let mut d = Domain::of(self, scope)?;
                if *undo {
                    d.groups
                        .remove(name)
                        .ok_or_else(|| rej(msg::GROUP_NOT_EXIST))?;
                    let members: Vec<IpAddr> = d
                        .peers
                        .values()
                        .filter(|p| p.group.as_deref() == Some(name))
                        .map(|p| p.addr)
                        .collect();
                    for a in members {
                        d.remove_peer(a);
                    }
                    for f in &mut d.families {
                        f.groups.remove(name);
                    }
                    return Ok(());
                }
                if let Some(g) = d.groups.get(name) {
                    return match external {
                        Some(e) if *e != g.external => Err(rej(msg::GROUP_TYPE)),
                        _ => Ok(()),
                    };
                }
                let local = d.local;
                d.groups.insert(
                    name.clone(),
                    Group {
                        name: name.clone(),
                        external: external.unwrap_or(false),
                        asn: None,
                        session: Peer::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), local),
                    },
                );
                let vrf = d.vrf;
                for f in &mut d.families {
                    if vrf || *f.key == AfKey::Ipv4Unicast {
                        f.groups.entry(name.clone()).or_default().enable = true;
                    }
                }
            }
            GroupChange::As { scope, name, asn } => {
                let d = Domain::of(self, scope)?;
                let local = d.local;
                let g = group_mut(d.groups, name)?;
                match asn {
                    Some(a) => {
                        if !g.external && a.value != local.value {
                            return Err(rej(msg::INTERNAL_AS));
                        }
                        if g.external && a.value == local.value {
                            return Err(rej(msg::EXTERNAL_AS));
                        }
                        g.asn = Some(*a);
                        for p in d.peers.values_mut() {
                            if p.group.as_deref() == Some(name) && p.asn_inherited {
                                p.asn = *a;
                            }
                        }
                    }
                    None => {
                        if g.external
                            && d.peers
                                .values()
                                .any(|p| p.group.as_deref() == Some(name) && p.asn_inherited)
                        {
                            return Err(rej(msg::MEMBERS_USE_AS));
                        }
                        g.asn = None;
                    }
                }
            }
            GroupChange::Session { scope, name, attr } => {
                let d = Domain::of(self, scope)?;
                set_session(&mut group_mut(d.groups, name)?.session, attr)?;
            }
            GroupChange::Af { af, name, attr } => {
                let d = Domain::of(self, &scope_of(af))?;
                let external = d
                    .groups
                    .get(name)
                    .ok_or_else(|| rej(msg::GROUP_NOT_EXIST))?
                    .external;
                let members: Vec<IpAddr> = d
                    .peers
                    .values()
                    .filter(|p| p.group.as_deref() == Some(name))
                    .map(|p| p.addr)
                    .collect();
                let f = d
                    .families
                    .into_iter()
                    .find(|f| f.key == af)
                    .ok_or_else(|| rej(msg::NOT_CONFIGURED))?;
                if let AfPeerAttr::LabelRouteCapability(true) = attr {
                    label_route_allowed(af, None)?;
                }
                let mut next = f.groups.get(name).cloned().unwrap_or_default();
                set_af(&mut next, attr, !external, af.family().is_ipv6())?;
                f.groups.insert(name.clone(), next);
                if let AfPeerAttr::Enable(on) = attr {
                    for a in members {
                        f.peers.entry(a).or_default().enable = *on;
                    }
                }
            }
            GroupChange::Member {
                scope,
                af,
                addr,
                name,
                undo,
            } => {
                let mut d = Domain::of(self, scope)?;
                if *undo {
                    let p = d.peers.get(addr).ok_or_else(|| rej(msg::PEER_NOT_EXIST))?;
                    if p.group.as_deref() != Some(name) {
                        return Err(rej(msg::NOT_MEMBER));
                    }
                    match af {
                        Some(k) => {
                            if let Some(f) = d.families.iter_mut().find(|f| f.key == k) {
                                f.peers.entry(*addr).or_default().enable = false;
                            }
                        }
                        None => d.remove_peer(*addr),
                    }
                    return Ok(());
                }
                let g = d
                    .groups
                    .get(name)
                    .ok_or_else(|| rej(msg::GROUP_NOT_EXIST))?
                    .clone();
                let local = d.local;
                match d.peers.get_mut(addr) {
                    Some(p) => match &p.group {
                        Some(other) if other != name => return Err(rej(msg::OTHER_GROUP)),
                        Some(_) => {}
                        None => {
                            check_as(&g, local, p.asn)?;
                            p.group = Some(name.clone());
                        }
                    },
                    None => {
                        let asn = if g.external {
                            g.asn.ok_or_else(|| rej(msg::NEED_AS))?
                        } else {
                            local
                        };
                        let mut p = Peer::new(*addr, asn);
                        p.group = Some(name.clone());
                        p.asn_inherited = true;
                        d.peers.insert(*addr, p);
                    }
                }
                let vrf = d.vrf;
                for f in &mut d.families {
                    let group_on = f.groups.get(name).is_some_and(|x| x.enable);
                    // IPv4 unicast enables new IPv4 peers only (as `peer X as-number`).
                    let v6_in_v4 = !vrf && *f.key == AfKey::Ipv4Unicast && addr.is_ipv6();
                    if (group_on && !v6_in_v4) || af.as_ref() == Some(f.key) {
                        f.peers.entry(*addr).or_default().enable = true;
                    }
                }
            }
            GroupChange::PeerAsUndo { scope, addr } => {
                let d = Domain::of(self, scope)?;
                let local = d.local;
                let p = d.peers.get(addr).ok_or_else(|| rej(msg::PEER_NOT_EXIST))?;
                let from_group = p
                    .group
                    .as_ref()
                    .and_then(|n| d.groups.get(n))
                    .and_then(|g| if g.external { g.asn } else { Some(local) });
                match from_group {
                    Some(a) => {
                        let p = d.peers.get_mut(addr).expect("present");
                        p.asn = a;
                        p.asn_inherited = true;
                    }
                    None => {
                        return self.apply(&crate::change::Change::PeerAs {
                            scope: scope.clone(),
                            addr: *addr,
                            asn: None,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// `peer X as-number A` for a member: internal groups take the local AS, external ones
    /// any other.
    pub(crate) fn check_member_as(
        &mut self,
        scope: &PeerScope,
        addr: IpAddr,
        asn: Written<Asn>,
    ) -> Result<(), Reject> {
        let Ok(d) = Domain::of(self, scope) else {
            return Ok(());
        };
        if let Some(g) = d
            .peers
            .get(&addr)
            .and_then(|p| p.group.as_ref())
            .and_then(|n| d.groups.get(n))
        {
            check_as(g, d.local, asn)?;
        }
        Ok(())
    }
}

fn check_as(g: &Group, local: Written<Asn>, asn: Written<Asn>) -> Result<(), Reject> {
    if !g.external && asn.value != local.value {
        return Err(rej(msg::INTERNAL_AS));
    }
    if g.external && asn.value == local.value {
        return Err(rej(msg::EXTERNAL_AS));
    }
    Ok(())
}
