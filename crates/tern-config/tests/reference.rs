//! Every vendor reference configuration loads, and the models of two of them hold what the
//! files say.

use std::net::IpAddr;
use std::path::PathBuf;

use tern_config::{AfKey, Apply, Config, ConnectInterface, Match, MatchMode, parse_file};
use tern_types::{Afi, Asn, ExtCommunity, RouteDistinguisher};

/// `shared/` sits beside the repository checkout.
fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/huawei")
}

fn load(rel: &str) -> Config {
    let path = reference_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_file(&text).unwrap_or_else(|e| panic!("{rel}:\n{e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn all_reference_files_load() {
    let mut n = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(reference_dir())
        .expect("shared/reference/huawei beside the checkout")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let cfg = parse_file(&text).unwrap_or_else(|e| panic!("{}:\n{e}", f.display()));
            let stem = f.file_stem().unwrap().to_str().unwrap();
            // The vendor's ipv4-option-b-rr/ASBR2.cfg says `sysname ASBR1`, as printed.
            if !f.ends_with("ipv4-option-b-rr/ASBR2.cfg") {
                assert_eq!(cfg.sysname, stem, "{}", f.display());
            }
            assert!(cfg.bgp.is_some(), "{}", f.display());
            n += 1;
        }
    }
    assert_eq!(n, 39, "reference files");
}

#[test]
fn ipv6_option_c_s1_pe1() {
    let cfg = load("ipv6-option-c-s1/PE1.cfg");
    assert_eq!(cfg.sysname, "PE1");
    let bgp = cfg.bgp.as_ref().unwrap();
    assert_eq!(bgp.asn, Asn(100));

    let p = bgp.peer(ip("4.4.4.9")).unwrap();
    assert_eq!(p.asn, Asn(200));
    assert_eq!(p.ebgp_max_hop, Some(10));
    assert_eq!(p.valid_ttl_hops, None);
    assert_eq!(
        p.connect_interface,
        Some(ConnectInterface {
            interface: Some("LoopBack1".into()),
            address: None
        })
    );
    assert!(!bgp.is_ibgp(p));
    let p2 = bgp.peer(ip("2.2.2.9")).unwrap();
    assert!(bgp.is_ibgp(p2));

    let vpnv6 = bgp.family(&AfKey::Vpnv6).unwrap();
    assert!(vpnv6.peer(ip("4.4.4.9")).unwrap().enable);
    assert_eq!(vpnv6.policy_vpn_target, Some(true));
    let uni = bgp.family(&AfKey::Ipv4Unicast).unwrap();
    assert_eq!(uni.synchronization, Some(false));
    assert!(uni.peer(ip("2.2.2.9")).unwrap().label_route_capability);
    assert!(
        bgp.enabled_families(ip("4.4.4.9"))
            .contains(&tern_types::Family::VPNV6)
    );

    // The CE-facing peer belongs to vpn1's IPv6 family, not to the public peers.
    let vrf = AfKey::Vrf {
        afi: Afi::IPV6,
        name: "vpn1".into(),
    };
    let fam = bgp.family(&vrf).unwrap();
    let ce = ip("2001:db8:1::1");
    assert_eq!(fam.vrf_peers[&ce].asn, Asn(65001));
    assert!(fam.peer(ce).unwrap().enable);
    assert!(bgp.peer(ce).is_none());
    assert_eq!(fam.import_routes.len(), 1);
    let sessions: Vec<_> = bgp.sessions().map(|(v, p)| (v, p.addr)).collect();
    assert!(sessions.contains(&(Some("vpn1"), ce)));
    assert!(sessions.contains(&(None, ip("4.4.4.9"))));

    let vpn1 = &cfg.vpn_instances["vpn1"];
    assert!(vpn1.ipv4.is_none());
    let af = vpn1.ipv6.as_ref().unwrap();
    assert_eq!(
        af.rd_value(),
        Some("100:1".parse::<RouteDistinguisher>().unwrap())
    );
    let rt: ExtCommunity = "1:1".parse().unwrap();
    assert_eq!(af.import_targets(), vec![rt]);
    assert_eq!(af.export_targets(), vec![rt]);
    assert_eq!(af.apply_label, tern_config::model::LabelMode::PerInstance);

    let lo = cfg.interface("LoopBack1").unwrap();
    assert_eq!(lo.ipv4, vec!["1.1.1.9/32".parse().unwrap()]);
    let ge = cfg.interface("GigabitEthernet0/2/0").unwrap();
    assert_eq!(ge.vpn_instance.as_deref(), Some("vpn1"));
    assert!(ge.ipv6_enable);
    assert_eq!(ge.ipv6, vec!["2001:db8:1::2/64".parse().unwrap()]);
    assert_eq!(ge.shutdown, Some(false));
    assert!(ge.is_enabled());
    let ge1 = cfg.interface("GigabitEthernet0/1/0").unwrap();
    assert_eq!(ge1.ipv4, vec!["10.10.1.2/24".parse().unwrap()]);

    // OSPF and MPLS are kept, with their place in the file.
    assert_eq!(
        cfg.kept_report().as_deref(),
        Some("kept, not active: mpls, mpls ldp, ospf")
    );
    assert!(
        cfg.kept
            .iter()
            .any(|k| k.path == ["ospf 1", "area 0.0.0.0"] && k.text == "network 1.1.1.9 0.0.0.0")
    );
    assert!(
        cfg.kept
            .iter()
            .any(|k| k.path == ["interface GigabitEthernet0/1/0"] && k.text == "mpls ldp")
    );
    assert!(
        cfg.kept
            .iter()
            .any(|k| k.path.is_empty() && k.text == "mpls lsr-id 1.1.1.9")
    );
}

#[test]
fn ipv4_option_b_rr() {
    let cfg = load("ipv4-option-b-rr/RR.cfg");
    let bgp = cfg.bgp.as_ref().unwrap();
    let vpnv4 = bgp.family(&AfKey::Vpnv4).unwrap();
    assert_eq!(vpnv4.policy_vpn_target, Some(false));
    assert!(!vpnv4.vpn_target_filtering());
    for p in ["1.1.1.1", "3.3.3.3", "5.5.5.5"] {
        let ap = vpnv4.peer(ip(p)).unwrap();
        assert!(ap.enable && ap.reflect_client, "{p}");
        assert!(bgp.is_ibgp(bgp.peer(ip(p)).unwrap()));
    }

    let asbr = load("ipv4-option-b-rr/ASBR1.cfg");
    let v4 = asbr.bgp.as_ref().unwrap().family(&AfKey::Vpnv4).unwrap();
    assert_eq!(v4.policy_vpn_target, Some(false));

    // `interface Loopback 1` (type and number apart) is LoopBack1.
    let ce = load("ipv4-option-b-rr/CE1.cfg");
    assert_eq!(
        ce.interface("LoopBack1").unwrap().ipv4,
        vec!["11.11.11.11/32".parse().unwrap()]
    );
    assert_eq!(ce.kept_report(), None);
}

#[test]
fn labeled_unicast_and_route_policies() {
    let cfg = load("ipv4-option-c-lu-s1/PE1.cfg");
    let bgp = cfg.bgp.as_ref().unwrap();
    assert_eq!(bgp.router_id, Some("1.1.1.1".parse().unwrap()));
    let lu = bgp.family(&AfKey::Ipv4Labeled).unwrap();
    assert_eq!(lu.networks[0].prefix, "1.1.1.9/32".parse().unwrap());
    assert!(lu.peer(ip("2.2.2.9")).unwrap().enable);
    let vrf = bgp
        .family(&AfKey::Vrf {
            afi: Afi::IPV4,
            name: "vpn1".into(),
        })
        .unwrap();
    assert_eq!(vrf.vrf_peers[&ip("10.1.1.1")].asn, Asn(65001));
    // Bound after the VPN instance binding: the address stays.
    assert_eq!(
        cfg.interface("GigabitEthernet0/2/0").unwrap().ipv4,
        vec!["10.1.1.2/24".parse().unwrap()]
    );

    let asbr = load("ipv6-option-c-s1/ASBR1.cfg");
    let uni = asbr
        .bgp
        .as_ref()
        .unwrap()
        .family(&AfKey::Ipv4Unicast)
        .unwrap();
    let p = uni.peer(ip("10.21.1.2")).unwrap();
    assert_eq!(p.route_policy_export.as_deref(), Some("policy1"));
    assert!(p.label_route_capability);
    assert_eq!(uni.networks[0].prefix, "1.1.1.9/32".parse().unwrap());
    // Route policies are modelled: policy2 node 1 permits labeled routes and keeps a label.
    assert!(!asbr.kept_features().contains(&"route-policy"));
    let node = &asbr.route_policies["policy2"].nodes[&1];
    assert_eq!(node.mode, MatchMode::Permit);
    assert_eq!(node.matches, vec![Match::MplsLabel]);
    assert_eq!(node.applies, vec![Apply::MplsLabel]);
    let p1 = &asbr.route_policies["policy1"].nodes[&1];
    assert!(p1.matches.is_empty());
    assert_eq!(p1.applies, vec![Apply::MplsLabel]);
}
