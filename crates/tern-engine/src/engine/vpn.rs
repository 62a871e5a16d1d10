//! VPN routes between the instances and the VPN tables (RFC 4364 §4.3): a best route of an
//! instance is exported as a VPN route with the instance's RD, export route targets and a
//! label; a VPN best path is imported into every instance whose import route targets it
//! carries.

use super::*;

impl Engine {
    /// True when `peer`'s path in instance `vrf` was imported from the VPN tables.
    pub(super) fn imported(&self, vrf: &str, peer: PeerId) -> bool {
        peer != PeerId::LOCAL && self.vrf_peers.get(&peer).is_none_or(|v| v != vrf)
    }

    /// Export (RFC 4364 §4.3.1): an instance route that is best and was not itself imported
    /// becomes a VPN route with the instance's RD, export route targets and a label (per
    /// instance or per route); a route no longer best (or gone) is withdrawn from the VPN
    /// table.
    pub(super) fn vrf_to_vpn(&mut self, vrf: &str, changes: &[BestChange]) -> Vec<BestChange> {
        let mut out = Vec::new();
        for c in changes {
            let new = c.new.filter(|b| !self.imported(vrf, b.peer));
            let Some(x) = self.vrfs.get_mut(vrf) else {
                return out;
            };
            let Some(spec) = x.spec(c.family).cloned() else {
                continue;
            };
            let vpn = spec.vpn_family();
            let key = RouteKey::vpn(spec.rd, c.key.prefix);
            match new {
                Some(b) => {
                    let mut a = x.rib.attrs(b.attrs);
                    a.preferred_value = 0;
                    for rt in &spec.export_rt {
                        if !a.ext_communities.contains(rt) {
                            a.ext_communities.push(*rt);
                        }
                    }
                    let how = match spec.label {
                        LabelMode::PerRoute => ExportLabel::PerRoute,
                        LabelMode::PerInstance | LabelMode::Static(_) => ExportLabel::PerInstance,
                        LabelMode::PerNextHop => ExportLabel::PerNextHop(match a.next_hop {
                            NextHop::Ipv4(x) => IpAddr::V4(x),
                            NextHop::Ipv6 { global, .. } => IpAddr::V6(global),
                            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                        }),
                    };
                    let label = self.labels.export(vrf, c.family, c.key.prefix, how);
                    self.rib.originate(
                        vpn,
                        key,
                        &a,
                        LabelStack::single(label),
                        &self.resolver,
                        &mut out,
                    );
                }
                None => {
                    if self.labels.unexport(vrf, c.family, c.key.prefix) {
                        self.rib.withdraw_local(vpn, key, &self.resolver, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Import (RFC 4364 §4.3.2): a VPN best path received from a peer goes into every
    /// instance of its family whose import route targets it carries, next hop, label and
    /// attributes kept; its change or withdrawal follows.
    pub(super) fn vpn_to_vrfs(&mut self, changes: &[BestChange]) -> Vec<(String, Vec<BestChange>)> {
        let mut out: Vec<(String, Vec<BestChange>)> = Vec::new();
        // A transit speaker (RR, ASBR) has no instance importing the family: nothing to do
        // per route.
        let importing = |f: Family| {
            self.vrfs
                .values()
                .any(|x| x.specs.iter().any(|s| s.vpn_family() == f))
        };
        let (v4, v6) = (importing(Family::VPNV4), importing(Family::VPNV6));
        for c in changes {
            let wanted = match c.family {
                Family::VPNV4 => v4,
                Family::VPNV6 => v6,
                _ => false,
            };
            if !wanted || !c.family.has_rd() {
                continue;
            }
            let Some(rd) = c.key.rd else { continue };
            let next = u32::try_from(self.rd_ids.len()).unwrap_or(u32::MAX);
            let path_id = *self.rd_ids.entry(rd).or_insert(next);
            let prefix_key = RouteKey::new(c.key.prefix);
            let new = c.new.filter(|b| b.peer != PeerId::LOCAL);
            let old = c.old.filter(|b| b.peer != PeerId::LOCAL);
            let new_attrs = new.map(|b| (b, self.rib.attrs(b.attrs)));
            let new_info = new.and_then(|b| self.rib.peer(b.peer).copied());
            for (name, x) in &mut self.vrfs {
                let Some(spec) = x.specs.iter().find(|s| s.vpn_family() == c.family) else {
                    continue;
                };
                let family = spec.family;
                let wants =
                    |a: &PathAttrs| a.ext_communities.iter().any(|e| spec.import_rt.contains(e));
                let mut ch = Vec::new();
                if let Some(o) = old
                    && new.is_none_or(|n| n.peer != o.peer)
                {
                    x.rib.withdraw_path(
                        family,
                        prefix_key,
                        o.peer,
                        path_id,
                        &self.resolver,
                        &mut ch,
                    );
                }
                match (&new_attrs, new_info) {
                    (Some((b, a)), Some(info)) if wants(a) => {
                        if x.rib.peer(b.peer) != Some(&info) {
                            x.rib.peer_up(b.peer, info);
                        }
                        x.rib.inject(
                            family,
                            prefix_key,
                            b.peer,
                            path_id,
                            a,
                            b.labels,
                            &self.resolver,
                            &mut ch,
                        );
                    }
                    (Some((b, _)), _) => {
                        x.rib.withdraw_path(
                            family,
                            prefix_key,
                            b.peer,
                            path_id,
                            &self.resolver,
                            &mut ch,
                        );
                    }
                    (None, _) => {}
                }
                if !ch.is_empty() {
                    match out.iter_mut().find(|(n, _)| n == name) {
                        Some((_, v)) => v.extend(ch),
                        None => out.push((name.clone(), ch)),
                    }
                }
            }
        }
        out
    }
}
