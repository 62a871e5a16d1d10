//! `peer X connect-interface`: the session's source address is the interface's address from
//! tern's configuration. When the host does not have it, the peer stays down and says why;
//! once the address exists, the session comes up from it.

mod common;

use std::time::Duration;

use common::{Netns, TempDir, Ternd, link, wait_for};

fn config(
    name: &str,
    rid: &str,
    lo: &str,
    link_addr: &str,
    peer: &str,
    asn: u32,
    peer_as: u32,
) -> String {
    [
        "#".to_string(),
        format!("sysname {name}"),
        "#".into(),
        "interface GigabitEthernet0/0/1".into(),
        format!(" ip address {link_addr} 255.255.255.0"),
        "#".into(),
        "interface LoopBack1".into(),
        format!(" ip address {lo} 255.255.255.255"),
        "#".into(),
        format!("bgp {asn}"),
        format!(" router-id {rid}"),
        format!(" peer {peer} as-number {peer_as}"),
        format!(" peer {peer} connect-interface LoopBack1"),
        format!(" peer {peer} ebgp-max-hop 2"),
        format!(" peer {peer} timer keepalive 3 hold 9"),
        "#".into(),
        "return".into(),
    ]
    .join("\n")
        + "\n"
}

#[test]
fn missing_source_address_keeps_the_peer_down_with_a_reason() {
    let a = Netns::new("sa");
    let b = Netns::new("sb");
    link(&a, &["10.7.0.1/24"], &b, &["10.7.0.2/24"]);
    // B has its loopback; A does not have 1.1.1.9 yet.
    b.loopback("4.4.4.9/32");
    a.sh("ip route add 4.4.4.9/32 via 10.7.0.2");
    b.sh("ip route add 1.1.1.9/32 via 10.7.0.1");
    let dir = TempDir::new("src");
    let ta = Ternd::start(
        &a,
        &dir,
        "a",
        &config("A", "1.1.1.9", "1.1.1.9", "10.7.0.1", "4.4.4.9", 100, 200),
        &["0.0.0.0:179"],
    );
    let tb = Ternd::start(
        &b,
        &dir,
        "b",
        &config("B", "4.4.4.9", "4.4.4.9", "10.7.0.2", "1.1.1.9", 200, 100),
        &["0.0.0.0:179"],
    );
    let said = wait_for(Duration::from_secs(10), || {
        ta.peer("4.4.4.9")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("1.1.1.9") && r.contains("LoopBack1"))
    });
    assert!(said, "no reason given: {}", ta.peer("4.4.4.9"));
    assert_ne!(ta.state("4.4.4.9"), "Established");
    let verbose = ta
        .display("display bgp peer 4.4.4.9 verbose", false)
        .unwrap();
    assert!(
        verbose.contains("is not configured on this host"),
        "{verbose}"
    );
    // The address appears: the next attempt (or B's) brings the session up from it.
    a.loopback("1.1.1.9/32");
    let p = ta.wait_established("4.4.4.9", Duration::from_secs(45));
    assert!(
        p["local"]
            .as_str()
            .is_some_and(|l| l.starts_with("1.1.1.9:")),
        "{p}"
    );
    tb.wait_established("1.1.1.9", Duration::from_secs(10));
}
