//! The routing events of the change set and the policy uses they resolve to: an edit of a
//! route policy or prefix list names only the peers, families and local routes that use it.

use tern_config::{
    Config, Delta, PeerKey, PolicyUse, PolicyUses, RouteEvent, SessionField, diff, parse_file,
};
use tern_types::Family;

/// Two IBGP peers in VPNv4 (export policies), an EBGP peer of VPN instance `vpn1` (import
/// policy), local routes with policies in the public IPv4 family and in `vpn1`.
const BASE: &str = "\
#
ip vpn-instance vpn1
 ipv4-family
  route-distinguisher 100:1
  vpn-target 1:1 export-extcommunity
  vpn-target 1:1 import-extcommunity
#
bgp 100
 peer 2.2.2.9 as-number 100
 peer 3.3.3.9 as-number 100
 peer 3.3.3.9 description RR
 #
 ipv4-family unicast
  network 10.1.0.0 255.255.0.0 route-policy loc
  import-route static
 #
 ipv4-family vpnv4
  peer 2.2.2.9 enable
  peer 2.2.2.9 route-policy out2 export
  peer 3.3.3.9 enable
  peer 3.3.3.9 route-policy out3 export
 #
 ipv4-family vpn-instance vpn1
  import-route direct route-policy ce-loc
  peer 10.9.0.1 as-number 65001
  peer 10.9.0.1 route-policy ce-in import
#
route-policy out2 permit node 10
 if-match ip-prefix shared
 apply local-preference 200
#
route-policy out3 permit node 10
 if-match ip-prefix shared
#
route-policy loc permit node 10
 apply cost 10
#
route-policy ce-in permit node 10
 apply local-preference 150
#
route-policy ce-loc permit node 10
 apply tag 5
#
route-policy unused permit node 10
 if-match ipv6 address prefix-list v6only
#
ip ip-prefix shared index 10 permit 10.0.0.0 8 less-equal 24
#
ip ipv6-prefix v6only index 10 permit 2001:db8:: 32
#
return
";

fn base() -> Config {
    parse_file(BASE).unwrap_or_else(|e| panic!("{e}"))
}

/// The base configuration with `from` replaced by `to` (each must occur once).
fn edited(edits: &[(&str, &str)]) -> Config {
    let mut text = BASE.to_owned();
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "{from:?}");
        text = text.replace(from, to);
    }
    parse_file(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn pk(vrf: Option<&str>, a: &str) -> PeerKey {
    PeerKey {
        vrf: vrf.map(str::to_owned),
        addr: a.parse().unwrap(),
    }
}

fn policy(name: &str) -> RouteEvent {
    RouteEvent::PolicyChanged { name: name.into() }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The events and the uses from `old` to `new`.
fn events(old: &Config, new: &Config) -> (Vec<RouteEvent>, PolicyUses) {
    let cs = diff(old, new);
    let uses = cs.policy_uses(new);
    (cs.events, uses)
}

#[test]
fn a_policy_used_by_one_export_names_that_use() {
    let (ev, uses) = events(
        &base(),
        &edited(&[(
            " apply local-preference 200\n",
            " apply local-preference 300\n",
        )]),
    );
    assert_eq!(ev, vec![policy("out2")]);
    assert_eq!(uses.policies, names(&["out2"]));
    assert_eq!(
        uses.uses,
        vec![PolicyUse::Peer {
            peer: pk(None, "2.2.2.9"),
            family: Family::VPNV4,
            import: false,
        }]
    );
}

#[test]
fn a_prefix_list_reaches_every_peer_of_the_policies_naming_it() {
    let (ev, uses) = events(
        &base(),
        &edited(&[(
            "ip ip-prefix shared index 10 permit 10.0.0.0 8 less-equal 24\n",
            "ip ip-prefix shared index 10 permit 10.0.0.0 8 less-equal 24\n\
             ip ip-prefix shared index 20 permit 172.16.0.0 12 less-equal 24\n",
        )]),
    );
    // The policies themselves did not change: only the list is an event.
    assert_eq!(
        ev,
        vec![RouteEvent::PrefixListChanged {
            name: "shared".into(),
            v6: false,
        }]
    );
    assert_eq!(uses.policies, names(&["out2", "out3"]));
    let export = |a: &str| PolicyUse::Peer {
        peer: pk(None, a),
        family: Family::VPNV4,
        import: false,
    };
    assert_eq!(uses.uses, vec![export("2.2.2.9"), export("3.3.3.9")]);
}

#[test]
fn a_policy_nobody_uses_changes_nothing_else() {
    let (ev, uses) = events(
        &base(),
        &edited(&[(
            "route-policy unused permit node 10\n if-match ipv6 address prefix-list v6only\n",
            "route-policy unused permit node 10\n if-match ipv6 address prefix-list v6only\n \
             apply cost 1\n",
        )]),
    );
    assert_eq!(ev, vec![policy("unused")]);
    assert_eq!(uses.policies, names(&["unused"]));
    assert!(uses.is_empty(), "{uses:?}");

    // Its IPv6 prefix list, through it, reaches nothing either.
    let (ev, uses) = events(&base(), &edited(&[("2001:db8:: 32", "2001:db8:: 48")]));
    assert_eq!(
        ev,
        vec![RouteEvent::PrefixListChanged {
            name: "v6only".into(),
            v6: true,
        }]
    );
    assert_eq!(uses.policies, names(&["unused"]));
    assert!(uses.is_empty(), "{uses:?}");
}

#[test]
fn a_network_route_policy_is_a_use() {
    let (ev, uses) = events(
        &base(),
        &edited(&[(" apply cost 10\n", " apply cost 20\n")]),
    );
    assert_eq!(ev, vec![policy("loc")]);
    assert_eq!(
        uses.uses,
        vec![PolicyUse::Network {
            vrf: None,
            family: Family::IPV4_UNICAST,
        }]
    );
}

#[test]
fn vpn_instance_uses_name_the_instance() {
    let (ev, uses) = events(
        &base(),
        &edited(&[
            (
                " apply local-preference 150\n",
                " apply local-preference 160\n",
            ),
            (" apply tag 5\n", " apply tag 6\n"),
        ]),
    );
    assert_eq!(ev, vec![policy("ce-in"), policy("ce-loc")]);
    let vrf = Some("vpn1".to_owned());
    assert_eq!(
        uses.uses,
        vec![
            PolicyUse::Peer {
                peer: pk(Some("vpn1"), "10.9.0.1"),
                family: Family::IPV4_UNICAST,
                import: true,
            },
            PolicyUse::ImportRoute {
                vrf,
                family: Family::IPV4_UNICAST,
            },
        ]
    );
}

#[test]
fn a_description_is_no_routing_event() {
    let new = edited(&[(
        " peer 3.3.3.9 description RR\n",
        " peer 3.3.3.9 description RR2\n",
    )]);
    let cs = diff(&base(), &new);
    assert_eq!(
        cs.deltas,
        vec![Delta::PeerSession(
            pk(None, "3.3.3.9"),
            SessionField::Description
        )]
    );
    assert!(cs.events.is_empty(), "{:?}", cs.events);
    assert_eq!(cs.policy_uses(&new), PolicyUses::default());
    assert!(cs.vpn_instances_changed().is_empty());
}

#[test]
fn creating_or_deleting_a_policy_a_peer_names_is_a_change() {
    let policy_text = "route-policy ce-in permit node 10\n apply local-preference 150\n#\n";
    let without = edited(&[(policy_text, "")]);
    // VRP lets a peer name a policy that does not exist.
    assert!(!without.route_policies.contains_key("ce-in"));
    let ce_in = vec![PolicyUse::Peer {
        peer: pk(Some("vpn1"), "10.9.0.1"),
        family: Family::IPV4_UNICAST,
        import: true,
    }];

    let (ev, uses) = events(&without, &base());
    assert_eq!(ev, vec![policy("ce-in")]);
    assert_eq!(uses.uses, ce_in);

    let (ev, uses) = events(&base(), &without);
    assert_eq!(ev, vec![policy("ce-in")]);
    assert_eq!(uses.uses, ce_in);
}

#[test]
fn local_route_and_vpn_instance_changes() {
    let new = edited(&[
        ("  import-route static\n", ""),
        (
            "  vpn-target 1:1 import-extcommunity\n",
            "  vpn-target 1:1 import-extcommunity\n  vpn-target 2:2 import-extcommunity\n",
        ),
    ]);
    let cs = diff(&base(), &new);
    assert_eq!(
        cs.events,
        vec![RouteEvent::LocalRoutesChanged {
            vrf: None,
            family: Family::IPV4_UNICAST,
        }]
    );
    assert_eq!(cs.vpn_instances_changed(), vec!["vpn1"]);
    assert!(cs.policy_uses(&new).is_empty());

    // A `network` whose policy changes is a local route change; the new policy is not an event.
    let new = edited(&[(
        "network 10.1.0.0 255.255.0.0 route-policy loc",
        "network 10.1.0.0 255.255.0.0 route-policy out3",
    )]);
    let cs = diff(&base(), &new);
    assert_eq!(
        cs.events,
        vec![RouteEvent::LocalRoutesChanged {
            vrf: None,
            family: Family::IPV4_UNICAST,
        }]
    );
    assert!(cs.policy_uses(&new).is_empty());
}
