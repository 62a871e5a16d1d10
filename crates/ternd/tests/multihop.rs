//! Multihop EBGP between loopbacks (the seed's PE1–PE2 session): namespaces A – R1 – R2 – B
//! with kernel forwarding, loopbacks 1.1.1.9/32 (A, AS 100) and 4.4.4.9/32 (B, AS 200),
//! static routes, and `connect-interface LoopBack1` on both sides.
//!
//! A packet sent with TTL N crosses R1 and R2, so it reaches B only when N ≥ 3:
//! - no `ebgp-max-hop`: the peer is not directly connected, neither side even tries;
//! - `ebgp-max-hop 2`: both sides' SYNs die at the second router;
//! - `ebgp-max-hop 3` and `10`: Established, between the two loopbacks.
//!
//! Both sides get the same setting so that neither direction can open the session. Each
//! side's first connection attempt is immediate and the second daemon listens before it
//! connects, so the session comes up at once in the good cases (no 32 s connect-retry wait);
//! in the bad ones the bounded wait covers the SYN retransmissions of that first attempt
//! (1, 3, 7, 15 s), which are what could get through if the TTL were wrong.

mod common;

use std::time::{Duration, Instant};

use common::{Netns, TempDir, Ternd, link};

/// How long a session that must never come up is watched.
const NEVER: Duration = Duration::from_secs(16);

fn config(
    name: &str,
    asn: u32,
    lo: &str,
    link_addr: &str,
    peer: &str,
    peer_as: u32,
    max_hop: Option<u8>,
) -> String {
    let hop = max_hop
        .map(|n| format!(" peer {peer} ebgp-max-hop {n}\n"))
        .unwrap_or_default();
    format!(
        "#\nsysname {name}\n#\ninterface GigabitEthernet0/0/1\n undo shutdown\n ip address {link_addr} 255.255.255.252\n#\n\
         interface LoopBack1\n ip address {lo} 255.255.255.255\n#\nbgp {asn}\n router-id {lo}\n \
         peer {peer} as-number {peer_as}\n peer {peer} connect-interface LoopBack1\n{hop} \
         peer {peer} timer keepalive 3 hold 9\n #\n ipv4-family unicast\n  peer {peer} enable\n#\nreturn\n"
    )
}

/// Connects 1.1.1.9 → 4.4.4.9:179 with the default TTL; succeeds when refused (RST came back).
const PROBE: &str = "python3 -c \"
import socket
s = socket.socket()
s.settimeout(5)
s.bind(('1.1.1.9', 0))
try:
    s.connect(('4.4.4.9', 179))
except ConnectionRefusedError:
    pass
\"";

/// The four namespaces, addressed and routed; ternd on A and B.
struct Topology {
    a: Ternd,
    b: Ternd,
    _dir: TempDir,
    _ns: Vec<Netns>,
}

fn topology(max_hop: Option<u8>) -> Topology {
    let (a, r1, r2, b) = (
        Netns::new("mA"),
        Netns::new("mR"),
        Netns::new("mR"),
        Netns::new("mB"),
    );
    link(&a, &["10.0.1.1/30"], &r1, &["10.0.1.2/30"]);
    link(&r1, &["10.0.2.1/30"], &r2, &["10.0.2.2/30"]);
    link(&r2, &["10.0.3.1/30"], &b, &["10.0.3.2/30"]);
    a.loopback("1.1.1.9/32");
    b.loopback("4.4.4.9/32");
    a.sh("ip route add default via 10.0.1.2");
    b.sh("ip route add default via 10.0.3.1");
    r1.sh("ip route add 4.4.4.9/32 via 10.0.2.2 && ip route add 10.0.3.0/30 via 10.0.2.2 && ip route add 1.1.1.9/32 via 10.0.1.1");
    r2.sh("ip route add 1.1.1.9/32 via 10.0.2.1 && ip route add 10.0.1.0/30 via 10.0.2.1 && ip route add 4.4.4.9/32 via 10.0.3.2");
    // The path works both ways with the default TTL (64): a TCP SYN from loopback to loopback
    // is answered (refused: nothing listens yet), so any failure below is the TTL's doing.
    a.sh(PROBE);
    let dir = TempDir::new("mh");
    let ta = Ternd::start(
        &a,
        &dir,
        "A",
        &config("A", 100, "1.1.1.9", "10.0.1.1", "4.4.4.9", 200, max_hop),
        &["0.0.0.0:179"],
    );
    let tb = Ternd::start(
        &b,
        &dir,
        "B",
        &config("B", 200, "4.4.4.9", "10.0.3.2", "1.1.1.9", 100, max_hop),
        &["0.0.0.0:179"],
    );
    Topology {
        a: ta,
        b: tb,
        _dir: dir,
        _ns: vec![a, r1, r2, b],
    }
}

/// Watches both sides for `NEVER`; returns an error if either reached Established.
fn never_up(max_hop: Option<u8>) -> Result<(), String> {
    let t = topology(max_hop);
    let deadline = Instant::now() + NEVER;
    while Instant::now() < deadline {
        for (side, d, remote) in [("A", &t.a, "4.4.4.9"), ("B", &t.b, "1.1.1.9")] {
            let p = d.peer(remote);
            if p["state"] == "Established" || p["up_count"].as_u64() != Some(0) {
                return Err(format!(
                    "ebgp-max-hop {max_hop:?}: {side} came up: {p}\n--- log ---\n{}",
                    d.log_text()
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// Waits for Established on both sides and checks the session runs between the loopbacks.
fn comes_up(max_hop: u8) -> Result<(), String> {
    let t = topology(Some(max_hop));
    let pa = t.a.wait_established("4.4.4.9", Duration::from_secs(20));
    let pb = t.b.wait_established("1.1.1.9", Duration::from_secs(20));
    let ip = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| s.parse::<std::net::SocketAddr>().ok())
            .map(|s| s.ip().to_string())
    };
    for (side, p, local, remote) in [
        ("A", &pa, "1.1.1.9", "4.4.4.9"),
        ("B", &pb, "4.4.4.9", "1.1.1.9"),
    ] {
        if ip(&p["local"]).as_deref() != Some(local) || ip(&p["remote"]).as_deref() != Some(remote)
        {
            return Err(format!(
                "ebgp-max-hop {max_hop}: {side}'s session is not loopback to loopback: {p}"
            ));
        }
        if p["negotiated"]["hold_time"] != 9 {
            return Err(format!(
                "ebgp-max-hop {max_hop}: {side}: hold time not 9: {p}"
            ));
        }
    }
    Ok(())
}

#[test]
fn ebgp_between_loopbacks_three_hops_away_needs_ebgp_max_hop_3() {
    let cases: Vec<(&str, std::thread::JoinHandle<Result<(), String>>)> = vec![
        ("no ebgp-max-hop", std::thread::spawn(|| never_up(None))),
        ("ebgp-max-hop 2", std::thread::spawn(|| never_up(Some(2)))),
        ("ebgp-max-hop 3", std::thread::spawn(|| comes_up(3))),
        ("ebgp-max-hop 10", std::thread::spawn(|| comes_up(10))),
    ];
    common::join_all(cases);
}

#[test]
fn without_ebgp_max_hop_the_peer_reports_why_it_is_idle() {
    // The reason is visible to the operator (what `display bgp peer` shows for a blocked peer).
    let ns = Netns::new("mI");
    ns.loopback("1.1.1.9/32");
    let dir = TempDir::new("mi");
    let t = Ternd::start(
        &ns,
        &dir,
        "A",
        &config("A", 100, "1.1.1.9", "10.0.1.1", "4.4.4.9", 200, None),
        &["0.0.0.0:179"],
    );
    let p = t.peer("4.4.4.9");
    assert_eq!(p["state"], "Idle", "{p}");
    let reason = p["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("not directly connected") && reason.contains("ebgp-max-hop"),
        "{p}"
    );
}
