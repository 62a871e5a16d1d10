//! `display bgp [labeled|ipv6] group [G]` and `display bgp vpnv4|vpnv6 all group [G]`: the
//! peer groups in VRP's layout (the vendor's command reference, `display bgp group`), from the
//! running configuration and the members' status, with the settings and members of the family
//! asked for (IPv4 unicast without one); the VPN forms add the groups of the VPN instances.
//! And the group line of `display bgp peer X verbose`.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;
use tern_config::model::Group;
use tern_config::{AfKey, Config};
use tern_types::Notation;

use crate::status::PeerStatus;

/// One group as the display (and its JSON form) shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GroupView {
    /// Name.
    pub name: String,
    /// `external` or `internal`.
    pub kind: &'static str,
    /// The members' AS: the group's (external), the local AS (internal), or none.
    pub remote_as: Option<u32>,
    /// `peer G password` configured.
    pub md5: bool,
    /// The VPN instance of a group of a VPN instance family.
    pub vpn_instance: Option<String>,
    /// `peer G route-limit` in the family: limit and warning threshold.
    pub route_limit: Option<(u32, u8)>,
    /// Hold time and keepalive the group configures (its own, the BGP view's, or VRP's).
    pub hold: u16,
    /// Keepalive.
    pub keepalive: u16,
    /// `peer G route-policy P import` in the family.
    pub import_policy: Option<String>,
    /// `peer G route-policy P export` in the family.
    pub export_policy: Option<String>,
    /// `peer G description`.
    pub description: Option<String>,
    /// Members (`peer X group G`).
    pub session_members: Vec<IpAddr>,
    /// Members enabled in the family.
    pub members: Vec<IpAddr>,
}

/// The public groups (one, when `name` is given) with their settings in family `af`, or the
/// groups of the VPN instance families of `af`'s AFI (`vrf`).
pub fn views(cfg: &Config, name: Option<&str>, af: &AfKey, vrf: bool) -> Vec<GroupView> {
    let Some(bgp) = &cfg.bgp else { return vec![] };
    let mut out = Vec::new();
    let scopes: Vec<(
        Option<&str>,
        &AfKey,
        &std::collections::BTreeMap<String, Group>,
    )> = if vrf {
        bgp.families
            .iter()
            .filter(|(k, _)| matches!(k, AfKey::Vrf { afi, .. } if *afi == af.family().afi))
            .map(|(k, f)| (k.vpn_instance(), k, &f.groups))
            .collect()
    } else {
        vec![(None, af, &bgp.groups)]
    };
    for (instance, key, groups) in scopes {
        let fam = bgp.families.get(key);
        let sessions = match instance {
            Some(_) => fam.map(|f| &f.vrf_peers),
            None => Some(&bgp.peers),
        };
        for g in groups.values() {
            if name.is_some_and(|n| n != g.name) {
                continue;
            }
            let settings = fam.and_then(|f| f.group_peers.get(&g.name));
            let t = bgp.peer_timers(&g.session);
            let session_members: Vec<IpAddr> = sessions
                .into_iter()
                .flat_map(|m| m.values())
                .filter(|p| p.group.as_deref() == Some(g.name.as_str()))
                .map(|p| p.addr)
                .collect();
            let members = session_members
                .iter()
                .copied()
                .filter(|a| fam.and_then(|f| f.peer(*a)).is_some_and(|p| p.enable))
                .collect();
            out.push(GroupView {
                name: g.name.clone(),
                kind: if g.external { "external" } else { "internal" },
                remote_as: if g.external {
                    g.asn.map(|a| a.value.0)
                } else {
                    Some(bgp.asn.value.0)
                },
                md5: g.session.password.is_some(),
                vpn_instance: instance.map(str::to_owned),
                route_limit: settings.and_then(|a| a.route_limit).map(|l| {
                    (
                        l.limit,
                        l.percent.unwrap_or(tern_config::model::ROUTE_LIMIT_PERCENT),
                    )
                }),
                hold: t.hold,
                keepalive: t.keepalive,
                import_policy: settings.and_then(|a| a.route_policy_import.clone()),
                export_policy: settings.and_then(|a| a.route_policy_export.clone()),
                description: g.session.description.clone(),
                session_members,
                members,
            });
        }
    }
    out
}

/// The family a group display names (`labeled`, `ipv6`, `vpnv4`, `vpnv6`; IPv4 unicast
/// without one).
pub fn family_of(word: Option<&str>) -> AfKey {
    match word {
        Some("labeled") => AfKey::Ipv4Labeled,
        Some("ipv6") => AfKey::Ipv6Unicast,
        Some("vpnv4") => AfKey::Vpnv4,
        Some("vpnv6") => AfKey::Vpnv6,
        _ => AfKey::Ipv4Unicast,
    }
}

/// A group display: `display bgp [labeled|ipv6] group [G]` (`vpn: None`), or `display bgp
/// vpnv4|vpnv6 all group [G]` (`vpn: Some(title)`, `VPNV4`), with the VPN instances' groups.
pub fn show(
    cfg: &Config,
    family: Option<&str>,
    name: Option<&str>,
    statuses: &[PeerStatus],
    n: Notation,
    json: bool,
) -> Result<String, String> {
    if cfg.bgp.is_none() {
        return Err("Error: BGP is not configured.".into());
    }
    let af = family_of(family);
    let public = views(cfg, name, &af, false);
    let vpn = matches!(af, AfKey::Vpnv4 | AfKey::Vpnv6);
    let instances = if vpn {
        views(cfg, name, &af, true)
    } else {
        Vec::new()
    };
    if json {
        let all: Vec<&GroupView> = public.iter().chain(&instances).collect();
        return Ok(serde_json::to_string_pretty(&all).unwrap_or_default() + "\n");
    }
    if !vpn {
        if name.is_some() && public.is_empty() {
            return Err("Error: The peer group does not exist.".into());
        }
        return Ok(display(&public, statuses, n));
    }
    let indent = |t: String| -> String {
        t.lines()
            .map(|l| {
                if l.is_empty() {
                    "\n".to_owned()
                } else {
                    format!(" {l}\n")
                }
            })
            .collect()
    };
    let title = if af == AfKey::Vpnv6 { "VPNV6" } else { "VPNV4" };
    let mut o = format!("Group in {title}:\n");
    if public.is_empty() {
        o.push_str(" No such a peer-group\n");
    } else {
        o.push_str(&indent(display(&public, statuses, n)));
    }
    o.push_str("\nGroup in VPN-Instance:\n");
    if instances.is_empty() {
        o.push_str(" No such a peer-group\n");
    } else {
        o.push_str(&indent(display(&instances, statuses, n)));
    }
    Ok(o)
}

/// `display bgp group [G]` in VRP's layout.
pub fn display(groups: &[GroupView], statuses: &[PeerStatus], n: Notation) -> String {
    let mut o = String::new();
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(o);
        }
        let _ = writeln!(o, "BGP peer-group: {}", g.name);
        match g.remote_as {
            Some(a) => {
                let _ = writeln!(o, " Remote AS: {}", n.asn(a));
            }
            None => {
                let _ = writeln!(o, " Remote AS number isn't specified");
            }
        }
        if let Some(v) = &g.vpn_instance {
            let _ = writeln!(o, " VPN-Instance: {v}");
        }
        let _ = writeln!(
            o,
            " Authentication type configured: {}",
            if g.md5 { "MD5" } else { "None" }
        );
        if let Some(d) = &g.description {
            let _ = writeln!(o, " Description: {d}");
        }
        let _ = writeln!(o, " Type : {}", g.kind);
        if let Some((limit, pct)) = g.route_limit {
            let _ = writeln!(o, " Maximum allowed route limit: {limit}");
            let _ = writeln!(o, " Threshold: {pct}%");
        }
        let _ = writeln!(o, " Configured hold timer value: {}", g.hold);
        let _ = writeln!(o, " Keepalive timer value: {}", g.keepalive);
        let _ = writeln!(o, " PeerSession Members:");
        if g.session_members.is_empty() {
            let _ = writeln!(o, "  NONE");
        }
        for a in &g.session_members {
            let _ = writeln!(o, "   {a}");
        }
        match (&g.import_policy, &g.export_policy) {
            (None, None) => {
                let _ = writeln!(o, " No routing policy is configured");
            }
            (i, e) => {
                if let Some(p) = i {
                    let _ = writeln!(o, " Import route policy is: {p}");
                }
                if let Some(p) = e {
                    let _ = writeln!(o, " Export route policy is: {p}");
                }
            }
        }
        let _ = writeln!(o, " Peer Members:");
        if g.members.is_empty() {
            let _ = writeln!(o, "  No Peer Exists");
            continue;
        }
        let _ = writeln!(
            o,
            "  Peer            V          AS  MsgRcvd  MsgSent  OutQ  Up/Down       State  PrefRcv"
        );
        for a in &g.members {
            if let Some(p) = statuses
                .iter()
                .find(|p| p.addr == *a && p.vrf == g.vpn_instance)
            {
                let _ = writeln!(o, "{}", crate::display::peer_row(p, n));
            }
        }
    }
    o
}

/// The group a public peer belongs to, for `display bgp peer X verbose`.
pub fn group_of(cfg: &Config, p: &PeerStatus) -> Option<String> {
    if p.vrf.is_some() {
        let bgp = cfg.bgp.as_ref()?;
        return bgp
            .families
            .iter()
            .filter(|(k, _)| k.vpn_instance() == p.vrf.as_deref())
            .find_map(|(_, f)| f.vrf_peers.get(&p.addr)?.group.clone());
    }
    cfg.bgp_peer(p.addr)?.group.clone()
}

/// The verbose display with the peer's group after its type line.
pub fn with_group(verbose: String, group: Option<&str>) -> String {
    let Some(g) = group else { return verbose };
    let mut out = String::with_capacity(verbose.len() + 40);
    for (i, l) in verbose.lines().enumerate() {
        out.push_str(l);
        out.push('\n');
        if i == 1 {
            let _ = writeln!(out, "         Peer group: {g}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_a_group() {
        let cfg = tern_config::parse_file(
            "bgp 100\n group rr internal\n peer rr timer keepalive 10 hold 30\n peer 10.0.0.2 group rr\n peer 10.0.0.3 group rr\n #\n ipv4-family unicast\n  peer rr route-policy OUT export\n  undo peer 10.0.0.3 enable\n#\nreturn\n",
        )
        .unwrap();
        let v = views(&cfg, Some("rr"), &AfKey::Ipv4Unicast, false);
        let text = display(&v, &[], Notation::Plain);
        assert_eq!(
            text,
            "BGP peer-group: rr\n Remote AS: 100\n Authentication type configured: None\n Type : internal\n Configured hold timer value: 30\n Keepalive timer value: 10\n PeerSession Members:\n   10.0.0.2\n   10.0.0.3\n Export route policy is: OUT\n Peer Members:\n  Peer            V          AS  MsgRcvd  MsgSent  OutQ  Up/Down       State  PrefRcv\n"
        );
        assert_eq!(v[0].members, vec!["10.0.0.2".parse::<IpAddr>().unwrap()]);
        assert!(show(&cfg, None, Some("nope"), &[], Notation::Plain, false).is_err());
    }

    /// What the daemon runs: members of public and VPN instance groups resolve with their
    /// groups' session settings and policies, their own first.
    #[test]
    fn members_resolve_with_their_groups_settings() {
        let cfg = tern_config::parse_file(
            "interface LoopBack0\n ip address 1.1.1.1 255.255.255.255\n#\n\
             ip vpn-instance A\n ipv4-family\n  route-distinguisher 100:1\n  vpn-target 1:1 both\n#\n\
             route-policy P permit node 10\n#\nroute-policy Q permit node 10\n#\n\
             bgp 100\n router-id 1.1.1.1\n group rr internal\n peer rr connect-interface LoopBack0\n \
             peer rr timer keepalive 10 hold 30\n peer 2.2.2.2 group rr\n peer 3.3.3.3 group rr\n \
             peer 3.3.3.3 timer keepalive 20 hold 60\n #\n ipv4-family unicast\n  peer rr reflect-client\n  \
             peer rr route-policy P export\n #\n ipv4-family vpnv4\n  peer rr enable\n  peer rr next-hop-local\n #\n \
             ipv4-family vpn-instance A\n  group ce external\n  peer ce as-number 65001\n  peer ce ebgp-max-hop 3\n  \
             peer ce route-policy Q import\n  peer 192.168.1.2 group ce\n#\nreturn\n",
        )
        .unwrap();
        let d = crate::config::resolve(&cfg).unwrap();
        let spec = |a: &str| {
            d.peers
                .iter()
                .find(|p| p.addr == a.parse::<IpAddr>().unwrap())
                .unwrap()
        };
        let p2 = spec("2.2.2.2");
        assert_eq!(p2.remote_as, 100);
        assert_eq!(p2.hold_time, 30);
        assert_eq!(p2.source.as_ref().unwrap().addr.to_string(), "1.1.1.1");
        assert_eq!(p2.reflect_client, vec![tern_types::Family::IPV4_UNICAST]);
        assert!(p2.next_hop_local.contains(&tern_types::Family::VPNV4));
        assert!(p2.families.contains(&tern_types::Family::VPNV4));
        assert_eq!(spec("3.3.3.3").hold_time, 60);
        let ce = spec("192.168.1.2");
        assert_eq!(ce.vrf.as_deref(), Some("A"));
        assert_eq!(ce.remote_as, 65001);
        assert_eq!(ce.ebgp_max_hop, Some(3));
        let policy = |a: &str| {
            d.routing
                .peer_policies
                .iter()
                .find(|p| p.addr == a.parse::<IpAddr>().unwrap())
                .cloned()
        };
        assert_eq!(policy("2.2.2.2").unwrap().export.as_deref(), Some("P"));
        assert_eq!(policy("3.3.3.3").unwrap().export.as_deref(), Some("P"));
        assert_eq!(policy("192.168.1.2").unwrap().import.as_deref(), Some("Q"));
    }
}
