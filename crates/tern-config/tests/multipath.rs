//! `maximum load-balancing [ebgp|ibgp] N` and `routing-table rib-only [route-policy P]` in
//! the unicast family views, the BGP view (IPv4 unicast) and the VPN instance families:
//! parsing, printing, undo, refusals and the change set.

use tern_config::{AfKey, Config, Delta, LoadBalancing, RibOnly, Running, diff, parse_file};
use tern_types::Afi;

fn lines(c: &mut tern_config::Candidate, ls: &[&str]) {
    for l in ls {
        c.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
}

fn refused(c: &mut tern_config::Candidate, l: &str) -> String {
    match c.apply_line(l) {
        Ok(_) => panic!("accepted: {l}"),
        Err(e) => e.to_string(),
    }
}

fn fam<'a>(c: &'a Config, k: &AfKey) -> &'a tern_config::BgpFamily {
    c.bgp.as_ref().unwrap().families.get(k).unwrap()
}

const TEXT: &str = "#
sysname HUAWEI
#
ip vpn-instance a
 ipv4-family
  route-distinguisher 1:1
  vpn-target 1:1 export-extcommunity
  vpn-target 1:1 import-extcommunity
 ipv6-family
  route-distinguisher 1:1
  vpn-target 1:1 export-extcommunity
  vpn-target 1:1 import-extcommunity
#
bgp 100
 #
 ipv4-family unicast
  maximum load-balancing 4
  routing-table rib-only route-policy RR
 #
 ipv6-family unicast
  maximum load-balancing ebgp 2
  maximum load-balancing ibgp 3
  routing-table rib-only
 #
 ipv4-family vpn-instance a
  maximum load-balancing ibgp 8
 #
 ipv6-family vpn-instance a
  routing-table rib-only
#
route-policy RR permit node 10
#
return
";

#[test]
fn parse_print_and_read_back() {
    let mut running = Running::new(Config::default());
    let mut c = running.candidate("root");
    lines(
        &mut c,
        &[
            "ip vpn-instance a",
            "ipv4-family",
            "route-distinguisher 1:1",
            "vpn-target 1:1 both",
            "quit",
            "ipv6-family",
            "route-distinguisher 1:1",
            "vpn-target 1:1 both",
            "quit",
            "quit",
            "route-policy RR permit node 10",
            "quit",
            "bgp 100",
            // In the BGP view: IPv4 unicast.
            "maximum load-balancing 4",
            "routing-table rib-only route-policy RR",
            "ipv6-family unicast",
            "maximum load-balancing ebgp 2",
            "maximum load-balancing ibgp 3",
            "routing-table rib-only",
            "quit",
            "ipv4-family vpn-instance a",
            "maximum load-balancing ibgp 8",
            "quit",
            "ipv6-family vpn-instance a",
            "routing-table rib-only",
        ],
    );
    assert!(c.commit(&mut running, "").unwrap().is_some());
    let cfg = running.config();
    assert_eq!(cfg.to_vrp(), TEXT);
    let v4 = fam(cfg, &AfKey::Ipv4Unicast);
    assert_eq!(v4.load_balancing.limits(), (4, 4));
    assert_eq!(
        v4.rib_only,
        Some(RibOnly {
            route_policy: Some("RR".into())
        })
    );
    assert_eq!(
        fam(cfg, &AfKey::Ipv6Unicast).load_balancing.limits(),
        (2, 3)
    );
    let vrf4 = AfKey::Vrf {
        afi: Afi::IPV4,
        name: "a".into(),
    };
    assert_eq!(fam(cfg, &vrf4).load_balancing.limits(), (1, 8));
    assert_eq!(&parse_file(TEXT).unwrap(), cfg);
}

#[test]
fn forms_replace_each_other_and_undo() {
    let mut running = Running::new(Config::default());
    let mut c = running.candidate("root");
    lines(
        &mut c,
        &[
            "bgp 100",
            "ipv4-family unicast",
            "maximum load-balancing ebgp 2",
            "maximum load-balancing ibgp 2",
            // The plain form replaces both.
            "maximum load-balancing 6",
        ],
    );
    c.commit(&mut running, "").unwrap();
    let lb = fam(running.config(), &AfKey::Ipv4Unicast).load_balancing;
    assert_eq!(
        lb,
        LoadBalancing {
            both: Some(6),
            ebgp: None,
            ibgp: None
        }
    );
    let mut c = running.candidate("root");
    lines(&mut c, &["bgp 100", "ipv4-family unicast"]);
    // The per-kind undo needs the per-kind form.
    assert!(refused(&mut c, "undo maximum load-balancing ebgp").contains("does not exist"));
    lines(
        &mut c,
        &[
            "maximum load-balancing ebgp 3",
            "undo maximum load-balancing ebgp",
        ],
    );
    assert!(refused(&mut c, "undo maximum load-balancing").contains("does not exist"));
    assert!(refused(&mut c, "undo routing-table rib-only").contains("does not exist"));
    lines(
        &mut c,
        &["routing-table rib-only", "undo routing-table rib-only"],
    );
    c.commit(&mut running, "").unwrap();
    let f = fam(running.config(), &AfKey::Ipv4Unicast);
    assert_eq!(f.load_balancing, LoadBalancing::default());
    assert_eq!(f.load_balancing.limits(), (1, 1));
    assert_eq!(f.rib_only, None);
}

#[test]
fn refusals() {
    let running = Running::new(Config::default());
    let mut c = running.candidate("root");
    lines(&mut c, &["bgp 100", "ipv4-family unicast"]);
    for l in [
        "maximum load-balancing 0",
        "maximum load-balancing 129",
        "maximum load-balancing ebgp 0",
        "maximum load-balancing",
        "routing-table rib-only route-filter F",
        "routing-table rib-only route-policy",
        // Not built: the relaxed equal-cost rules, per-peer balancing, LSP ingress balancing,
        // EBGP and IBGP paths balanced together (VPN instances).
        "load-balancing as-path-ignore",
        "load-balancing as-path-relax",
        "load-balancing igp-metric-ignore",
        "peer 10.0.0.2 load-balancing",
        "maximum load-balancing ingress-lsp 2",
        "maximum load-balancing eibgp 2",
    ] {
        refused(&mut c, l);
    }
    // Next hop self for load-balanced routes only is not built.
    assert!(
        refused(&mut c, "maximum load-balancing 2 ecmp-nexthop-changed")
            .contains("ecmp-nexthop-changed")
    );
    assert!(
        refused(&mut c, "maximum load-balancing ibgp 2 ecmp-nexthop-changed")
            .contains("ecmp-nexthop-changed")
    );
}

#[test]
fn change_set_names_the_family() {
    let a = parse_file("bgp 100\n ipv4-family unicast\n").unwrap();
    let b = parse_file(
        "bgp 100\n ipv4-family unicast\n  maximum load-balancing 2\n ipv6-family unicast\n",
    )
    .unwrap();
    let d = diff(&a, &b);
    assert!(
        d.deltas
            .contains(&Delta::FamilySettings(AfKey::Ipv4Unicast))
    );
    let c = parse_file("bgp 100\n ipv4-family unicast\n  maximum load-balancing 2\n  routing-table rib-only\n ipv6-family unicast\n").unwrap();
    let d = diff(&b, &c);
    assert_eq!(d.deltas, vec![Delta::FamilySettings(AfKey::Ipv4Unicast)]);
    assert!(d.sessions_to_reset().is_empty());
}
