//! Session security between two ternd in namespaces:
//!
//! - TCP MD5 (RFC 2385): matching keys come up; mismatched keys, or a key on one side only,
//!   never do (the kernel drops the unsigned or wrongly signed segments).
//! - GTSM (RFC 5082): both sides send TTL 255 and accept only TTL ≥ 256 − N. Across one
//!   router (A – R – B) packets arrive with TTL 254: `valid-ttl-hops 1` never comes up,
//!   `valid-ttl-hops 2` does; on a direct link `valid-ttl-hops 1` does.
//!
//! The cases of each test run in parallel threads; the ones that must never come up are
//! watched for `NEVER`, long enough for the first connection attempt's SYN retransmissions
//! (1, 3, 7, 15 s).

mod common;

use std::time::{Duration, Instant};

use common::{Netns, TempDir, Ternd, link};

const NEVER: Duration = Duration::from_secs(16);

/// A ternd configuration with one interface and one EBGP peer; `extra` are more peer lines.
fn config(
    name: &str,
    asn: u32,
    addr: &str,
    mask: &str,
    peer: &str,
    peer_as: u32,
    extra: &[String],
) -> String {
    let mut peer_lines =
        format!(" peer {peer} as-number {peer_as}\n peer {peer} timer keepalive 3 hold 9\n");
    for e in extra {
        peer_lines.push_str(&format!(" peer {peer} {e}\n"));
    }
    format!(
        "#\nsysname {name}\n#\ninterface GigabitEthernet0/0/1\n undo shutdown\n ip address {addr} {mask}\n#\n\
         bgp {asn}\n router-id {addr}\n{peer_lines} #\n ipv4-family unicast\n  peer {peer} enable\n#\nreturn\n"
    )
}

/// Two ternd and the namespaces they run in (A's peer is `a_peer`, B's is `b_peer`).
struct Pair {
    a: Ternd,
    b: Ternd,
    a_peer: &'static str,
    b_peer: &'static str,
    _dir: TempDir,
    _ns: Vec<Netns>,
}

impl Pair {
    /// Waits for Established on both sides.
    fn up(&self, what: &str) -> Result<(), String> {
        for (side, d, peer) in [("A", &self.a, self.a_peer), ("B", &self.b, self.b_peer)] {
            if !common::wait_for(Duration::from_secs(20), || d.state(peer) == "Established") {
                return Err(format!(
                    "{what}: {side} not Established: {}\n--- log ---\n{}",
                    d.peer(peer),
                    d.log_text()
                ));
            }
        }
        Ok(())
    }

    /// Watches both sides for `NEVER`: neither may reach Established (nor have done so).
    fn never_up(&self, what: &str) -> Result<(), String> {
        let deadline = Instant::now() + NEVER;
        while Instant::now() < deadline {
            for (side, d, peer) in [("A", &self.a, self.a_peer), ("B", &self.b, self.b_peer)] {
                let p = d.peer(peer);
                if p["state"] == "Established" || p["up_count"].as_u64() != Some(0) {
                    return Err(format!(
                        "{what}: {side} came up: {p}\n--- log ---\n{}",
                        d.log_text()
                    ));
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }
}

/// A and B on one link (10.2.0.0/24); `a_extra`/`b_extra` are peer options.
fn direct(a_extra: &[String], b_extra: &[String]) -> Pair {
    let (a, b) = (Netns::new("sA"), Netns::new("sB"));
    link(&a, &["10.2.0.1/24"], &b, &["10.2.0.2/24"]);
    let dir = TempDir::new("sec");
    let mask = "255.255.255.0";
    let ta = Ternd::start(
        &a,
        &dir,
        "A",
        &config("A", 100, "10.2.0.1", mask, "10.2.0.2", 200, a_extra),
        &["0.0.0.0:179"],
    );
    let tb = Ternd::start(
        &b,
        &dir,
        "B",
        &config("B", 200, "10.2.0.2", mask, "10.2.0.1", 100, b_extra),
        &["0.0.0.0:179"],
    );
    Pair {
        a: ta,
        b: tb,
        a_peer: "10.2.0.2",
        b_peer: "10.2.0.1",
        _dir: dir,
        _ns: vec![a, b],
    }
}

/// A – R – B (10.1.1.0/24, 10.1.2.0/24), R forwarding; both sides with `valid-ttl-hops hops`.
fn via_router(hops: u8) -> Pair {
    let (a, r, b) = (Netns::new("gA"), Netns::new("gR"), Netns::new("gB"));
    link(&a, &["10.1.1.1/24"], &r, &["10.1.1.2/24"]);
    link(&r, &["10.1.2.1/24"], &b, &["10.1.2.2/24"]);
    a.sh("ip route add default via 10.1.1.2");
    b.sh("ip route add default via 10.1.2.1");
    let dir = TempDir::new("gtsm");
    let mask = "255.255.255.0";
    let gtsm = [format!("valid-ttl-hops {hops}")];
    let ta = Ternd::start(
        &a,
        &dir,
        "A",
        &config("A", 100, "10.1.1.1", mask, "10.1.2.2", 200, &gtsm),
        &["0.0.0.0:179"],
    );
    let tb = Ternd::start(
        &b,
        &dir,
        "B",
        &config("B", 200, "10.1.2.2", mask, "10.1.1.1", 100, &gtsm),
        &["0.0.0.0:179"],
    );
    Pair {
        a: ta,
        b: tb,
        a_peer: "10.1.2.2",
        b_peer: "10.1.1.1",
        _dir: dir,
        _ns: vec![a, r, b],
    }
}

fn password(key: &str) -> Vec<String> {
    vec![format!("password simple {key}")]
}

#[test]
fn md5_keys_must_match() {
    common::join_all(vec![
        (
            "same key",
            std::thread::spawn(|| {
                let p = direct(&password("tern-Secret1"), &password("tern-Secret1"));
                p.up("same key")?;
                let s = p.a.peer(p.a_peer);
                if s["md5"] != true {
                    return Err(format!("md5 not shown in status: {s}"));
                }
                Ok(())
            }),
        ),
        (
            "different keys",
            std::thread::spawn(|| {
                direct(&password("tern-Secret1"), &password("tern-Secret2"))
                    .never_up("different keys")
            }),
        ),
        (
            "key on one side only",
            std::thread::spawn(|| direct(&password("tern-Secret1"), &[]).never_up("key on A only")),
        ),
    ]);
}

#[test]
fn gtsm_valid_ttl_hops_counts_routers() {
    common::join_all(vec![
        (
            "valid-ttl-hops 1 across a router",
            std::thread::spawn(|| via_router(1).never_up("valid-ttl-hops 1, one router")),
        ),
        (
            "valid-ttl-hops 2 across a router",
            std::thread::spawn(|| via_router(2).up("valid-ttl-hops 2, one router")),
        ),
        (
            "valid-ttl-hops 1 on a direct link",
            std::thread::spawn(|| {
                let hops = vec!["valid-ttl-hops 1".to_string()];
                direct(&hops, &hops).up("valid-ttl-hops 1, direct link")
            }),
        ),
    ]);
}
