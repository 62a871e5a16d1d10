//! From the VRP configuration model (tern-config) to what the daemon runs.
//!
//! - `connect-interface IF`: the session's source is IF's primary IPv4 address (IPv4 peers) or
//!   first IPv6 address (IPv6 peers), as configured in the file.
//! - router ID: `router-id`, else the highest LoopBack IPv4 address, else the highest interface
//!   IPv4 address (VRP's rule).
//! - connected subnets: the addresses of interfaces that are not shut down and not bound to a
//!   VPN instance (public peers only are run by the daemon today).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use tern_config::{Config, Password as CfgPassword};

use tern_engine::routing::LabelMode;
use tern_types::Family;

use crate::spec::{
    DaemonConfig, LocalRoute, Password, PeerPolicy, PeerSpec, Routing, Source, VrfSpec,
};

/// A configuration that loads but cannot run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file does not parse.
    #[error("{0}")]
    Parse(#[from] tern_config::ConfigError),
    /// Something the daemon needs is missing or inconsistent.
    #[error("{0}")]
    Invalid(String),
}

/// Parses a VRP configuration text and resolves it.
pub fn load(text: &str) -> Result<DaemonConfig, LoadError> {
    load_model(text).map(|(_, d)| d)
}

/// Parses a VRP configuration text and resolves it, keeping the model too (management
/// sessions edit copies of it).
pub fn load_model(text: &str) -> Result<(Config, DaemonConfig), LoadError> {
    let cfg = tern_config::parse_file(text)?;
    if let Some(r) = cfg.kept_report() {
        tracing::warn!("{r}");
    }
    let d = resolve(&cfg)?;
    Ok((cfg, d))
}

fn router_id(cfg: &Config) -> Option<Ipv4Addr> {
    if let Some(id) = cfg.bgp.as_ref().and_then(|b| b.router_id) {
        return Some(id);
    }
    let v4 = |loopback: bool| {
        cfg.interfaces
            .values()
            .filter(|i| i.name.to_ascii_lowercase().starts_with("loopback") == loopback)
            .filter(|i| i.vpn_instance.is_none())
            .flat_map(|i| i.ipv4.iter().map(|n| n.addr()))
            .max()
    };
    v4(true).or_else(|| v4(false))
}

/// Resolves a parsed configuration.
pub fn resolve(cfg: &Config) -> Result<DaemonConfig, LoadError> {
    // Peer group members run with what they inherit from their groups.
    let eff = cfg.effective();
    let cfg = &eff;
    let mut out = DaemonConfig {
        sysname: cfg.sysname.clone(),
        bmp: crate::bmp::resolve(cfg),
        ..DaemonConfig::default()
    };
    out.connected = cfg
        .interfaces
        .values()
        .filter(|i| i.is_enabled() && i.vpn_instance.is_none())
        .flat_map(|i| i.addresses().collect::<Vec<IpNet>>())
        .collect();
    let Some(bgp) = &cfg.bgp else { return Ok(out) };
    let local_as = bgp.asn.0;
    out.local_as = Some(local_as);
    let rid = router_id(cfg).ok_or_else(|| {
        LoadError::Invalid(
            "no BGP router ID: configure router-id or an interface IPv4 address".into(),
        )
    })?;
    out.router_id = Some(rid);
    out.routing = routing(cfg, bgp);
    for (vrf, peer) in bgp.sessions() {
        if let Some(v) = vrf
            && !out.routing.vrfs.iter().any(|s| s.name == v)
        {
            tracing::warn!(
                "peer {} in vpn-instance {v}: kept, not active (the instance has no route-distinguisher)",
                peer.addr
            );
            continue;
        }
        // A VPN instance family's own router ID (`router-id` in its view) is its sessions'.
        let own_rid = vrf.and_then(|v| {
            bgp.families
                .iter()
                .find(|(k, f)| k.vpn_instance() == Some(v) && f.vrf_peers.contains_key(&peer.addr))
                .and_then(|(k, _)| cfg.vrf_router_id(k))
        });
        let mut spec = PeerSpec::new(peer.addr, local_as, peer.asn.0, own_rid.unwrap_or(rid));
        spec.graceful_restart = bgp.graceful_restart.then(|| crate::spec::GrSpec {
            restart_time: bgp
                .gr_restart_time
                .unwrap_or(tern_config::model::GR_RESTART_TIME),
            wait_for_rib: bgp
                .gr_wait_for_rib
                .unwrap_or(tern_config::model::GR_WAIT_FOR_RIB),
        });
        spec.ebgp_max_hop = peer.ebgp_max_hop;
        spec.valid_ttl_hops = peer.valid_ttl_hops;
        spec.password = peer
            .password
            .as_ref()
            .map(|p: &CfgPassword| Password(p.key().into_bytes()));
        let t = bgp.peer_timers(peer);
        spec.keepalive = t.keepalive;
        spec.hold_time = t.hold;
        spec.connect_retry = bgp.peer_connect_retry(peer);
        spec.description = peer.description.clone();
        spec.ignore = peer.ignore;
        spec.families = match vrf {
            None => bgp.enabled_families(peer.addr),
            // A VPN instance peer speaks the instance family it was configured in.
            Some(v) => bgp
                .families
                .iter()
                .filter(|(k, f)| {
                    k.vpn_instance() == Some(v) && f.vrf_peers.contains_key(&peer.addr)
                })
                .map(|(k, _)| k.family())
                .collect(),
        };
        spec.vrf = vrf.map(str::to_string);
        for (k, f) in &bgp.families {
            let Some(ap) = f.peer(peer.addr).filter(|_| k.vpn_instance() == vrf) else {
                continue;
            };
            if ap.reflect_client {
                spec.reflect_client.push(k.family());
            }
            if ap.next_hop_invariable {
                spec.next_hop_invariable.push(k.family());
            }
            if ap.next_hop_local {
                spec.next_hop_local.push(k.family());
            }
            if ap.advertise_community {
                spec.advertise_community.push(k.family());
            }
            if ap.advertise_ext_community {
                spec.advertise_ext_community.push(k.family());
            }
            if let Some(l) = ap.route_limit {
                spec.route_limits.push((k.family(), l));
            }
            if ap.substitute_as {
                spec.as_out
                    .substitute_as
                    .extend(with_labeled(k, peer.addr, ap));
            }
            if let Some(p) = &ap.default_route_advertise {
                spec.default_route.push((k.family(), p.clone()));
            }
            if let Some(p) = ap.public_as_only {
                for f in with_labeled(k, peer.addr, ap) {
                    spec.as_out.public_as_only.push((f, public_as_only(p)));
                }
            }
            if let Some(m) = ap.add_path {
                spec.add_path
                    .push((k.family(), m, f.add_path_count(peer.addr)));
            }
            if let Some(labeled) = labeled_family(k, peer.addr, ap) {
                // VRP: the peer exchanges labeled routes in the unicast family instead: IPv4
                // labeled (RFC 8277), or IPv6 labeled over an IPv4 session (6PE, RFC 4798).
                let unicast = k.family();
                for f in spec.families.iter_mut() {
                    if *f == unicast {
                        *f = labeled;
                    }
                }
                spec.families.dedup();
                // ADD-PATH configured in the unicast family applies to the labeled routes it
                // exchanges instead.
                for (f, _, _) in spec.add_path.iter_mut() {
                    if *f == unicast {
                        *f = labeled;
                    }
                }
            }
        }
        if !spec.as_out.substitute_as.is_empty() || !spec.as_out.public_as_only.is_empty() {
            spec.as_out.peer_as = peer.asn.0;
        }
        spec.as_out.fake_as =
            peer.fake_as
                .filter(|_| spec.is_ebgp())
                .map(|f| tern_engine::asrules::FakeAs {
                    asn: f.asn.0,
                    prepend_global_as: f.prepend_global_as,
                });
        if let Some(t) = bgp
            .families
            .get(&tern_config::AfKey::VpnTarget)
            .and_then(|f| f.wait_for_eor)
        {
            spec.rtc_wait_for_eor = t;
        }
        spec.directly_connected = connected(cfg, vrf).iter().any(|n| n.contains(&peer.addr));
        if let Some(ci) = &peer.connect_interface {
            spec.source = Some(source(cfg, peer.addr, ci)?);
        }
        out.peers.push(spec);
    }
    Ok(out)
}

/// The families a per-family peer option of `k` applies to: the unicast options of a
/// labeled-unicast peer (IPv4, or IPv6 for 6PE) apply to its labeled routes too.
fn with_labeled(
    k: &tern_config::AfKey,
    addr: std::net::IpAddr,
    ap: &tern_config::model::AfPeer,
) -> Vec<Family> {
    let mut v = vec![k.family()];
    v.extend(labeled_family(k, addr, ap));
    v
}

/// The route engine's form of `peer X public-as-only`.
fn public_as_only(p: tern_config::model::PublicAsOnly) -> tern_engine::asrules::PublicAsOnly {
    use tern_config::model::PrivateAsMode as C;
    use tern_engine::asrules::PrivateMode as E;
    tern_engine::asrules::PublicAsOnly {
        mode: match p.mode {
            C::Basic => E::Basic,
            C::Force => E::Force,
            C::Limited => E::Limited,
        },
        replace: p.replace,
        include_peer_as: p.include_peer_as,
    }
}

/// The labeled family a peer speaks instead of family `k`'s unicast one with
/// `label-route-capability`: IPv4 labeled in `ipv4-family unicast`, IPv6 labeled (6PE) in
/// `ipv6-family unicast` for an IPv4 peer (the configuration takes no other).
fn labeled_family(
    k: &tern_config::AfKey,
    addr: std::net::IpAddr,
    ap: &tern_config::AfPeer,
) -> Option<Family> {
    use tern_config::AfKey;
    if !ap.label_route_capability {
        return None;
    }
    match k {
        AfKey::Ipv4Unicast => Some(Family::IPV4_LABELED),
        AfKey::Ipv6Unicast if addr.is_ipv4() => Some(Family::IPV6_LABELED),
        _ => None,
    }
}

/// The subnets of the enabled interfaces of a routing domain (the public one, or the
/// interfaces bound to a VPN instance).
fn connected(cfg: &Config, vrf: Option<&str>) -> Vec<IpNet> {
    cfg.interfaces
        .values()
        .filter(|i| i.is_enabled() && i.vpn_instance.as_deref() == vrf)
        .flat_map(|i| i.addresses().collect::<Vec<IpNet>>())
        .collect()
}

/// The routing side: VPN instances with a route distinguisher, locally originated routes, VPN
/// route-target filtering.
///
/// Local routes (VRP): `network P` originates P when the domain's routing table holds exactly P
/// (a direct route, from an interface address, or a static route), with ORIGIN IGP;
/// `import-route direct|static` originates every direct or static route of the domain with
/// ORIGIN incomplete and MED the route's cost (0), or `med M`. IPv6 link-local subnets are not
/// routes.
fn routing(cfg: &Config, bgp: &tern_config::Bgp) -> Routing {
    use tern_config::{AfKey, ImportProtocol};
    use tern_types::Afi;
    use tern_wire::attr::Origin;
    let mut r = Routing {
        policies: tern_policy::Policies::new(cfg),
        ..Routing::default()
    };
    for p in r.policies.problems() {
        tracing::warn!("{p}");
    }
    for vi in cfg.vpn_instances.values() {
        for afi in [Afi::IPV4, Afi::IPV6] {
            let Some(af) = vi.af(afi) else { continue };
            let Some(rd) = af.rd_value() else { continue };
            r.vrfs.push(VrfSpec {
                name: vi.name.clone(),
                family: if afi == Afi::IPV6 {
                    Family::IPV6_UNICAST
                } else {
                    Family::IPV4_UNICAST
                },
                rd,
                import_rt: af.import_targets(),
                export_rt: af.export_targets(),
                label: match af.apply_label {
                    tern_config::model::LabelMode::PerRoute => LabelMode::PerRoute,
                    tern_config::model::LabelMode::PerInstance => LabelMode::PerInstance,
                    tern_config::model::LabelMode::PerInstanceStatic(l) => LabelMode::Static(l),
                    tern_config::model::LabelMode::PerNextHop => LabelMode::PerNextHop,
                },
            });
        }
    }
    for (k, f) in &bgp.families {
        if matches!(k, AfKey::Vpnv4 | AfKey::Vpnv6) && !f.vpn_target_filtering() {
            r.keep_all_vpn.push(k.family());
        }
        if r.cluster_id.is_none() {
            r.cluster_id = f.reflector_cluster_id;
        }
        if *k == AfKey::VpnTarget {
            r.rtc_default.extend(
                f.peers
                    .iter()
                    .filter(|(_, ap)| ap.enable && ap.rtc_default_route)
                    .map(|(a, _)| *a),
            );
        }
        for (addr, ap) in &f.peers {
            let fake = match k.vpn_instance() {
                None => bgp.peers.get(addr),
                Some(_) => f.vrf_peers.get(addr),
            }
            .filter(|p| p.asn.0 != bgp.asn.0)
            .and_then(|p| p.fake_as);
            if ap.allow_as_loop.is_some() || fake.is_some() {
                let rule = tern_engine::asrules::AsIn {
                    allow_as_loop: ap.allow_as_loop.unwrap_or(0),
                    fake_as: fake.map(|f| f.asn.0),
                    prepend_fake_as: fake.is_some_and(|f| f.prepend_fake_as),
                };
                for family in with_labeled(k, *addr, ap) {
                    r.peer_as_in.push((*addr, family, rule));
                }
            }
            let import_filters = tern_policy::PeerFilters {
                as_path: ap.as_path_filter_import.clone(),
                prefix: ap.prefix_import.clone(),
            };
            let export_filters = tern_policy::PeerFilters {
                as_path: ap.as_path_filter_export.clone(),
                prefix: ap.prefix_export.clone(),
            };
            if ap.route_policy_import.is_none()
                && ap.route_policy_export.is_none()
                && import_filters.is_empty()
                && export_filters.is_empty()
            {
                continue;
            }
            for family in with_labeled(k, *addr, ap) {
                r.peer_policies.push(PeerPolicy {
                    addr: *addr,
                    family,
                    import: ap.route_policy_import.clone(),
                    export: ap.route_policy_export.clone(),
                    import_filters: import_filters.clone(),
                    export_filters: export_filters.clone(),
                });
            }
        }
        if matches!(
            k,
            AfKey::Ipv4Unicast | AfKey::Ipv6Unicast | AfKey::Vrf { .. }
        ) {
            let (ebgp, ibgp) = f.load_balancing.limits();
            let load_balancing = tern_rib::LoadBalancing {
                ebgp,
                ibgp,
                next_hop_self: f.load_balancing.both.is_some(),
            };
            if load_balancing.on() || f.rib_only.is_some() {
                r.forwarding.push(tern_engine::routing::Forwarding {
                    vrf: k.vpn_instance().map(str::to_owned),
                    family: k.family(),
                    load_balancing,
                    rib_only: f.rib_only.as_ref().map(|o| o.route_policy.clone()),
                });
            }
        }
        let (vrf, family) = match k {
            AfKey::Ipv4Unicast | AfKey::Ipv6Unicast | AfKey::Ipv4Labeled | AfKey::Vrf { .. } => {
                (k.vpn_instance(), k.family())
            }
            _ => continue,
        };
        let labeled = *k == AfKey::Ipv4Labeled;
        let in_family = |n: &IpNet| n.addr().is_ipv6() == family.is_ipv6();
        let direct: Vec<IpNet> = connected(cfg, vrf)
            .into_iter()
            .map(|n| n.trunc())
            .filter(|n| in_family(n) && !is_link_local(n))
            .collect();
        let statics: Vec<&tern_config::StaticRoute> = cfg
            .static_routes
            .iter()
            .filter(|s| s.vpn_instance.as_deref() == vrf && in_family(&s.prefix))
            .collect();
        let mut add = |prefix: IpNet, origin, med, next_hop, policy: &Option<String>, kernel| {
            if !r
                .local
                .iter()
                .any(|l| l.vrf.as_deref() == vrf && l.prefix == prefix && l.labeled == labeled)
            {
                r.local.push(LocalRoute {
                    vrf: vrf.map(str::to_string),
                    prefix,
                    origin,
                    med,
                    next_hop,
                    policy: policy.clone(),
                    labeled,
                    kernel,
                });
            }
        };
        for n in &f.networks {
            if direct.contains(&n.prefix) {
                add(n.prefix, Origin::Igp, Some(0), None, &n.route_policy, false);
            } else if let Some(s) = statics.iter().find(|s| s.prefix == n.prefix) {
                add(
                    n.prefix,
                    Origin::Igp,
                    Some(0),
                    s.next_hop,
                    &n.route_policy,
                    false,
                );
            } else if vrf.is_none() {
                // Maybe an IGP route: the RIB originates it while the kernel has it.
                add(n.prefix, Origin::Igp, Some(0), None, &n.route_policy, true);
            }
        }
        for ir in &f.import_routes {
            match ir.protocol {
                ImportProtocol::Direct => {
                    for n in &direct {
                        add(
                            *n,
                            Origin::Incomplete,
                            Some(ir.med.unwrap_or(0)),
                            None,
                            &ir.route_policy,
                            false,
                        );
                    }
                }
                ImportProtocol::Static => {
                    for s in &statics {
                        add(
                            s.prefix,
                            Origin::Incomplete,
                            Some(ir.med.unwrap_or(0)),
                            s.next_hop,
                            &ir.route_policy,
                            false,
                        );
                    }
                }
                p
                @ (ImportProtocol::Ospf(_) | ImportProtocol::Isis(_) | ImportProtocol::Rip(_)) => {
                    // The kernel's routes of that protocol (public families only: the grammar
                    // refuses it in a VPN instance).
                    if let (None, Some(protocol)) = (vrf, p.kernel_protocol()) {
                        r.redistribute.push(tern_engine::routing::Redistribute {
                            protocol,
                            ipv6: family.is_ipv6(),
                            labeled,
                            med: ir.med,
                            policy: ir.route_policy.clone(),
                        });
                    }
                }
            }
        }
    }
    r
}

fn is_link_local(n: &IpNet) -> bool {
    matches!(n, IpNet::V6(v6) if (v6.addr().segments()[0] & 0xffc0) == 0xfe80)
}

fn source(
    cfg: &Config,
    peer: IpAddr,
    ci: &tern_config::ConnectInterface,
) -> Result<Source, LoadError> {
    if let Some(a) = ci.address {
        return Ok(Source {
            addr: a,
            name: ci.interface.clone().unwrap_or_else(|| a.to_string()),
        });
    }
    let name = ci.interface.clone().unwrap_or_default();
    let iface = cfg.interface(&name).ok_or_else(|| {
        LoadError::Invalid(format!(
            "peer {peer} connect-interface {name}: no such interface"
        ))
    })?;
    let addr = if peer.is_ipv4() {
        iface.ipv4.first().map(|n| IpAddr::V4(n.addr()))
    } else {
        iface.ipv6.first().map(|n| IpAddr::V6(n.addr()))
    };
    let addr = addr.ok_or_else(|| {
        LoadError::Invalid(format!(
            "peer {peer} connect-interface {name}: the interface has no {} address",
            if peer.is_ipv4() { "IPv4" } else { "IPv6" }
        ))
    })?;
    Ok(Source { addr, name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_types::Family;

    #[test]
    fn the_seed_pe_resolves() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/huawei/ipv6-option-c-s1/PE1.cfg"
        ))
        .unwrap();
        let d = load(&text).unwrap();
        assert_eq!(d.local_as, Some(100));
        assert_eq!(d.router_id, Some(Ipv4Addr::new(1, 1, 1, 9)));
        let pe2 = d
            .peers
            .iter()
            .find(|p| p.addr == IpAddr::from([4, 4, 4, 9]))
            .unwrap();
        assert_eq!(pe2.remote_as, 200);
        assert_eq!(pe2.ebgp_max_hop, Some(10));
        assert_eq!(pe2.ttl(), 10);
        assert_eq!(
            pe2.source.as_ref().map(|s| s.addr),
            Some(IpAddr::from([1, 1, 1, 9]))
        );
        assert!(pe2.families.contains(&Family::VPNV6));
        assert!(!pe2.directly_connected);
        assert!(pe2.blocked().is_none());
        let asbr = d
            .peers
            .iter()
            .find(|p| p.addr == IpAddr::from([2, 2, 2, 9]))
            .unwrap();
        assert_eq!(asbr.ttl(), 255, "IBGP");
        // The CE session runs in vpn1.
        assert_eq!(d.peers.len(), 3);
        let ce = d
            .peers
            .iter()
            .find(|p| p.addr == "2001:db8:1::1".parse::<IpAddr>().unwrap())
            .unwrap();
        assert_eq!(ce.vrf.as_deref(), Some("vpn1"));
        assert_eq!(ce.families, vec![Family::IPV6_UNICAST]);
        assert!(ce.directly_connected && ce.blocked().is_none());
        let r = &d.routing;
        assert_eq!(r.vrfs.len(), 1);
        assert_eq!(r.vrfs[0].rd.to_string(), "100:1");
        assert_eq!(r.vrfs[0].label, LabelMode::PerInstance);
        assert_eq!(r.vrfs[0].vpn_family(), Family::VPNV6);
        // import-route direct in vpn1: the CE-facing subnet.
        assert_eq!(r.local.len(), 1, "{:?}", r.local);
        assert_eq!(r.local[0].vrf.as_deref(), Some("vpn1"));
        assert_eq!(r.local[0].prefix.to_string(), "2001:db8:1::/64");
        assert!(r.keep_all_vpn.is_empty());
    }

    #[test]
    fn single_hop_ebgp_must_be_connected() {
        let d = load(
            "interface GigabitEthernet0/1/0\n ip address 10.0.0.1 255.255.255.0\n#\nbgp 100\n router-id 1.1.1.1\n peer 10.0.0.2 as-number 200\n peer 10.9.0.2 as-number 200\n#\nreturn\n",
        )
        .unwrap();
        assert!(d.peers[0].blocked().is_none());
        assert!(d.peers[1].blocked().is_some());
    }

    #[test]
    fn connect_interface_without_address_is_an_error() {
        let e = load("interface LoopBack1\n#\nbgp 100\n router-id 1.1.1.1\n peer 4.4.4.9 as-number 200\n peer 4.4.4.9 connect-interface LoopBack1\n#\nreturn\n")
            .unwrap_err();
        assert!(e.to_string().contains("no IPv4 address"), "{e}");
    }

    #[test]
    fn reflect_client_and_next_hop_invariable_per_family() {
        let d = load("interface GigabitEthernet0/1/0\n ip address 10.0.0.1 255.255.255.0\n#\nbgp 100\n router-id 1.1.1.1\n peer 10.0.0.2 as-number 100\n #\n ipv4-family vpnv4\n  peer 10.0.0.2 enable\n  peer 10.0.0.2 reflect-client\n #\n ipv6-family vpnv6\n  peer 10.0.0.2 enable\n  peer 10.0.0.2 next-hop-invariable\n#\nreturn\n")
            .unwrap();
        assert_eq!(d.peers[0].reflect_client, vec![Family::VPNV4]);
        assert_eq!(d.peers[0].next_hop_invariable, vec![Family::VPNV6]);
    }

    /// 6PE (RFC 4798): an IPv4 peer with `label-route-capability` in `ipv6-family unicast`
    /// speaks labeled IPv6 instead of IPv6 unicast; its IPv4 unicast and its export policy
    /// follow.
    #[test]
    fn six_pe_peer_speaks_labeled_ipv6() {
        let d = load("route-policy p permit node 10\n#\nbgp 100\n router-id 1.1.1.1\n peer 2.2.2.2 as-number 100\n peer 3.3.3.3 as-number 100\n #\n ipv4-family unicast\n  undo peer 3.3.3.3 enable\n #\n ipv6-family unicast\n  peer 2.2.2.2 enable\n  peer 2.2.2.2 label-route-capability\n  peer 2.2.2.2 route-policy p export\n  peer 3.3.3.3 enable\n#\nreturn\n")
            .unwrap();
        let peer = |a: &str| {
            d.peers
                .iter()
                .find(|p| p.addr == a.parse::<IpAddr>().unwrap())
                .unwrap()
        };
        assert_eq!(
            peer("2.2.2.2").families,
            vec![Family::IPV4_UNICAST, Family::IPV6_LABELED]
        );
        assert_eq!(peer("3.3.3.3").families, vec![Family::IPV6_UNICAST]);
        let policies: Vec<Family> = d
            .routing
            .peer_policies
            .iter()
            .filter(|p| p.export.as_deref() == Some("p"))
            .map(|p| p.family)
            .collect();
        assert_eq!(policies, vec![Family::IPV6_UNICAST, Family::IPV6_LABELED]);
    }

    /// ADD-PATH per family: the capability offered to IBGP peers only, the count the
    /// smaller of `bestroute add-path` and `peer X advertise add-path`, IPv4 unicast's moved
    /// to labeled unicast under `label-route-capability`.
    #[test]
    fn add_path_per_family() {
        use tern_wire::capability::AddPathMode as W;
        let d = load("interface GigabitEthernet0/1/0\n ip address 10.0.0.1 255.255.255.0\n#\nbgp 100\n router-id 1.1.1.1\n peer 10.0.0.2 as-number 100\n peer 10.0.0.3 as-number 100\n peer 10.0.0.4 as-number 200\n #\n ipv4-family unicast\n  bestroute add-path path-number 3\n  peer 10.0.0.2 enable\n  peer 10.0.0.2 capability-advertise add-path both\n  peer 10.0.0.2 advertise add-path path-number 8\n  peer 10.0.0.3 enable\n  peer 10.0.0.3 label-route-capability\n  peer 10.0.0.3 capability-advertise add-path send\n  peer 10.0.0.4 enable\n #\n ipv4-family vpnv4\n  peer 10.0.0.2 enable\n  peer 10.0.0.2 capability-advertise add-path receive\n#\nreturn\n")
            .unwrap();
        let p = |a: &str| d.peers.iter().find(|p| p.addr.to_string() == a).unwrap();
        assert_eq!(
            p("10.0.0.2").add_path_offer(),
            vec![(Family::IPV4_UNICAST, W::BOTH), (Family::VPNV4, W::RECEIVE)]
        );
        assert_eq!(
            p("10.0.0.2").outbound().add_path,
            vec![(Family::IPV4_UNICAST, 3)]
        );
        assert_eq!(
            p("10.0.0.3").add_path_offer(),
            vec![(Family::IPV4_LABELED, W::SEND)]
        );
        assert_eq!(
            p("10.0.0.3").outbound().add_path,
            vec![(Family::IPV4_LABELED, 1)]
        );
        assert!(p("10.0.0.4").add_path_offer().is_empty());
        // Never offered to an EBGP peer (the configuration refuses it too).
        let mut ebgp = p("10.0.0.4").clone();
        ebgp.add_path = p("10.0.0.2").add_path.clone();
        assert!(ebgp.is_ebgp() && ebgp.add_path_offer().is_empty());
    }

    /// The seed's example with route reflectors (examples/seed-option-c-rr) resolves as its
    /// README says.
    #[test]
    fn the_seed_rr_example_resolves() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/seed-option-c-rr"
        );
        let load_node = |n: &str| {
            let text = std::fs::read_to_string(format!("{dir}/{n}.cfg")).unwrap();
            load(&text).unwrap_or_else(|e| panic!("{n}: {e}"))
        };
        let peer = |d: &DaemonConfig, a: &str| {
            d.peers
                .iter()
                .find(|p| p.addr == a.parse::<IpAddr>().unwrap())
                .unwrap_or_else(|| panic!("peer {a}"))
                .clone()
        };
        let pe1 = load_node("PE1");
        assert_eq!(peer(&pe1, "2.2.2.9").families, vec![Family::IPV4_LABELED]);
        assert_eq!(peer(&pe1, "7.7.7.9").families, vec![Family::VPNV6]);
        assert_eq!(peer(&pe1, "2001:db8:1::1").vrf.as_deref(), Some("vpn1"));
        let rr1 = load_node("RR1");
        let c = peer(&rr1, "1.1.1.9");
        assert_eq!(c.reflect_client, vec![Family::VPNV6]);
        assert_eq!(c.next_hop_invariable, vec![Family::VPNV6]);
        let rr2 = peer(&rr1, "8.8.8.9");
        assert_eq!(rr2.families, vec![Family::VPNV6]);
        assert_eq!(rr2.ttl(), 10);
        assert_eq!(rr1.routing.keep_all_vpn, vec![Family::VPNV6]);
        let asbr1 = load_node("ASBR1");
        assert_eq!(asbr1.routing.local.len(), 2);
        assert!(asbr1.routing.local.iter().all(|l| l.kernel));
        assert_eq!(
            asbr1.routing.peer_policies.len(),
            6,
            "{:?}",
            asbr1.routing.peer_policies
        );
        let pe2 = load_node("PE2");
        assert_eq!(peer(&pe2, "2001:db8:2::1").remote_as, 65546, "asdot 1.10");
        let ce2 = load_node("CE2");
        assert_eq!(ce2.local_as, Some(65546));
        assert_eq!(
            peer(&ce2, "2001:db8:2::2").families,
            vec![Family::IPV6_UNICAST]
        );
        for n in ["CE1", "ASBR2", "RR2"] {
            load_node(n);
        }
    }
}
