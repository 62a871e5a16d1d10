//! A restart of ternd takes its kernel routes over instead of flushing them: ternd B (AS 200)
//! announces 202 prefixes to ternd T (AS 100, no graceful restart), which installs them.
//!
//! - T stopped with SIGTERM under `--keep-kernel-routes`: its routes stay in the kernel.
//! - While T is down, B stops announcing one prefix (its kernel route goes, so B's `network`
//!   is no longer originated).
//! - T started again: its control API answers at once; after B's End-of-RIB the prefix B no
//!   longer announces leaves T's kernel, and the 201 others were never missing, in any of
//!   the listings taken continuously from before the stop to after the reconciliation, nor
//!   rewritten: `ip monitor route`, running all along, saw no change to them.
//!
//! Topology: B 10.0.0.2/24 ── 10.0.0.1/24 T. Needs root (network namespaces).

mod common;

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Netns, TempDir, Ternd, link, wait_for};

const T_CFG: &str = "sysname T
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 3 hold 9
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
#
return
";

/// The prefixes B announces throughout: 100.64.0.0/24 … 100.64.199.0/24 and 203.0.113.0/24.
fn kept() -> Vec<String> {
    let mut v: Vec<String> = (0..200).map(|i| format!("100.64.{i}.0/24")).collect();
    v.push("203.0.113.0/24".into());
    v
}

/// The prefix B stops announcing while T is down.
const DROPPED: &str = "198.51.100.0/24";

/// B originates every prefix its kernel holds (from a route to its loopback here).
fn b_cfg() -> String {
    let mut networks = String::new();
    for p in kept().iter().map(String::as_str).chain([DROPPED]) {
        let (addr, _) = p.split_once('/').unwrap();
        writeln!(networks, "  network {addr} 255.255.255.0").unwrap();
    }
    format!(
        "sysname B
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.2 255.255.255.0
#
bgp 200
 router-id 10.0.0.2
 peer 10.0.0.1 as-number 100
 peer 10.0.0.1 timer keepalive 3 hold 9
 #
 ipv4-family unicast
{networks}  peer 10.0.0.1 enable
#
return
"
    )
}

/// The prefixes of `listing` (`ip route show` lines) routed via B.
fn via_b(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter(|l| l.contains("via 10.0.0.2"))
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

#[test]
fn a_restart_keeps_unchanged_kernel_routes_and_removes_withdrawn_ones() {
    let dir = TempDir::new("fibrs");
    let t_ns = Netns::new("frt");
    let b_ns = Netns::new("frb");
    link(&b_ns, &["10.0.0.2/24"], &t_ns, &["10.0.0.1/24"]);
    let mut batch = String::new();
    for p in kept().iter().map(String::as_str).chain([DROPPED]) {
        writeln!(batch, "route add {p} dev lo").unwrap();
    }
    let batch_file = dir.write("b-routes", &batch);
    b_ns.sh(&format!("ip -batch {}", batch_file.display()));
    let keep = ["--keep-kernel-routes"];
    let mut t = Ternd::start_with(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"], &keep);
    let b = Ternd::start(&b_ns, &dir, "b", &b_cfg(), &["0.0.0.0:179"]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    let kernel = || t_ns.sh("ip route show proto 186");
    let all_in = wait_for(Duration::from_secs(30), || via_b(&kernel()).len() == 202);
    assert!(all_in, "not installed:\n{}\n{}", kernel(), t.log_text());
    assert!(kernel().contains(DROPPED));

    // From here to the end: every change to T's routes, and a listing as often as it comes.
    let monitor_log = dir.path("monitor.log");
    let mut monitor = t_ns.spawn(&["ip", "monitor", "route"], &monitor_log);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        let ns = t_ns.name.clone();
        std::thread::spawn(move || {
            let mut listings = 0usize;
            let mut missing: Option<String> = None;
            while !stop.load(Ordering::SeqCst) {
                let listing = common::sh(&format!("ip -n {ns} route show proto 186"));
                listings += 1;
                let have = via_b(&listing);
                if missing.is_none()
                    && let Some(p) = kept().into_iter().find(|p| !have.contains(&p.as_str()))
                {
                    missing = Some(format!("{p} missing from:\n{listing}"));
                }
            }
            (listings, missing)
        })
    };

    // T stops; its routes stay.
    t.stop();
    assert!(
        t.log_text()
            .contains("tern routes left in the kernel for the next start"),
        "{}",
        t.log_text()
    );
    assert_eq!(via_b(&kernel()).len(), 202, "{}", kernel());
    // B no longer announces one of them.
    b_ns.sh(&format!("ip route del {DROPPED} dev lo"));
    let b_table = || {
        b.display("display bgp routing-table", false)
            .unwrap_or_default()
    };
    let gone = wait_for(Duration::from_secs(30), || !b_table().contains(DROPPED));
    assert!(gone, "B still originates {DROPPED}:\n{}", b_table());

    // T again, with the same configuration.
    let t2 = Ternd::start_with(&t_ns, &dir, "t2", T_CFG, &["0.0.0.0:179"], &keep);
    // The control API answers while the routes converge.
    let peers = t2.display("display bgp peer", false);
    assert!(peers.is_ok(), "{peers:?}");
    t2.wait_established("10.0.0.2", Duration::from_secs(60));
    let reconciled = wait_for(Duration::from_secs(30), || !kernel().contains(DROPPED));
    assert!(
        reconciled,
        "not reconciled:\n{}\n{}",
        kernel(),
        t2.log_text()
    );
    stop.store(true, Ordering::SeqCst);
    let (listings, missing) = poller.join().unwrap();
    let _ = monitor.kill();
    let _ = monitor.wait();

    assert_eq!(via_b(&kernel()).len(), 201, "{}", kernel());
    eprintln!("{listings} listings of T's kernel routes during the restart");
    assert!(listings > 1, "{listings} listings");
    assert!(
        missing.is_none(),
        "a route went missing: {}",
        missing.unwrap()
    );
    // The log without its colours.
    let log = plain(&t2.log_text());
    assert!(
        log.contains("kernel routes from before the restart reconciled")
            && log.contains("unchanged=201")
            && log.contains("removed=1"),
        "{log}"
    );
    // The kernel announces every route written: only the dropped one changed.
    let changes = std::fs::read_to_string(&monitor_log).unwrap();
    let touched: Vec<&str> = changes
        .lines()
        .filter(|l| kept().iter().any(|p| l.contains(p.as_str())))
        .collect();
    assert!(touched.is_empty(), "rewritten or removed: {touched:#?}");
    assert!(
        changes
            .lines()
            .any(|l| l.starts_with("Deleted") && l.contains(DROPPED)),
        "{changes}"
    );
}

/// `text` without ANSI escape sequences (the log's colours).
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
