//! Sessions over IPv6 transport and with 4-octet AS numbers written in dotted form:
//! two ternd on a veth link with global IPv6 addresses, EBGP between AS 1.10 (65546) and
//! AS 200, IPv6 unicast and VPNv6 enabled; both sides reach Established and agree on the
//! families and on each other's AS.

mod common;

use std::time::Duration;

use common::{Netns, TempDir, Ternd, families, link};

fn config(name: &str, asn: &str, rid: &str, addr: &str, peer: &str, peer_as: &str) -> String {
    let lines = [
        "#".to_string(),
        format!("sysname {name}"),
        "#".into(),
        "interface GigabitEthernet0/0/1".into(),
        " undo shutdown".into(),
        " ipv6 enable".into(),
        format!(" ipv6 address {addr}/64"),
        "#".into(),
        format!("bgp {asn}"),
        format!(" router-id {rid}"),
        format!(" peer {peer} as-number {peer_as}"),
        format!(" peer {peer} timer keepalive 3 hold 9"),
        " #".into(),
        " ipv6-family unicast".into(),
        format!("  peer {peer} enable"),
        " #".into(),
        " ipv6-family vpnv6".into(),
        format!("  peer {peer} enable"),
        "#".into(),
        "return".into(),
    ];
    lines.join("\n") + "\n"
}

#[test]
fn ebgp_over_ipv6_with_a_dotted_four_octet_as() {
    let a = Netns::new("6a");
    let b = Netns::new("6b");
    link(&a, &["fd00:6::1/64"], &b, &["fd00:6::2/64"]);
    let dir = TempDir::new("v6");
    let ta = Ternd::start(
        &a,
        &dir,
        "a",
        &config("A", "1.10", "1.1.1.1", "fd00:6::1", "fd00:6::2", "200"),
        &["[fd00:6::1]:179"],
    );
    let tb = Ternd::start(
        &b,
        &dir,
        "b",
        &config("B", "200", "2.2.2.2", "fd00:6::2", "fd00:6::1", "1.10"),
        &["[fd00:6::2]:179"],
    );
    let pa = ta.wait_established("fd00:6::2", Duration::from_secs(30));
    let pb = tb.wait_established("fd00:6::1", Duration::from_secs(30));
    let want = vec!["ipv6-unicast".to_string(), "vpnv6".to_string()];
    assert_eq!(families(&pa), want);
    assert_eq!(families(&pb), want);
    assert_eq!(pb["remote_as"], 65546);
    assert_eq!(pa["negotiated"]["four_octet_as"], true);
    assert!(
        pa["remote"]
            .as_str()
            .is_some_and(|r| r.starts_with("[fd00:6::2]")),
        "{pa}"
    );
}
