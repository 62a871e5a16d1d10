//! The harness end to end against ternd alone, with 1000 routes: VPNv4 to two receivers, IPv4
//! unicast announced then withdrawn, and five receivers joining a reflector that holds 1000
//! VPNv4 routes; the large display case; a run with ternd's metrics scraped.
//! Needs no root: everything runs on 127.78.0.0/16 to 127.81.0.0/16.

use std::time::Duration;

use tern_bench::daemon::{Daemon, Paths};
use tern_bench::report::Outcome;
use tern_bench::{Options, build_ternd, run};

#[test]
fn ternd_reflects_and_withdraws() {
    let ternd = build_ternd().expect("ternd");
    let opts = Options {
        daemons: vec![Daemon::Tern],
        cases: vec![
            "vpnv4-1000-k2".parse().unwrap(),
            "withdraw-ipv4-1000-k2".parse().unwrap(),
        ],
        runs: 1,
        timeout: Some(Duration::from_secs(20)),
        net: [127, 78],
        paths: Paths {
            ternd,
            ..Paths::default()
        },
        settle: Duration::from_millis(300),
        keep: false,
        verbose: false,
        quiet_wait: Duration::ZERO,
        metrics: None,
        ..Options::default()
    };
    let results = run(&opts).expect("run");
    assert_eq!(results.len(), 2);
    for r in &results {
        match &r.outcome {
            Outcome::Done(m) => {
                assert!(m.convergence > 0.0 && m.peak_rss > 0, "{}: {m:?}", r.case);
            }
            o => panic!("{}: {o:?}", r.case),
        }
    }
}

#[test]
fn receivers_join_a_full_reflector() {
    let ternd = build_ternd().expect("ternd");
    let opts = Options {
        daemons: vec![Daemon::Tern],
        cases: vec!["join-vpnv4-1000-k5".parse().unwrap()],
        runs: 1,
        timeout: Some(Duration::from_secs(20)),
        net: [127, 79],
        paths: Paths {
            ternd,
            ..Paths::default()
        },
        settle: Duration::from_millis(300),
        keep: false,
        verbose: false,
        quiet_wait: Duration::ZERO,
        metrics: None,
        ..Options::default()
    };
    let results = run(&opts).expect("run");
    assert_eq!(results.len(), 1);
    match &results[0].outcome {
        Outcome::Done(m) => {
            // Every receiver completed (the run is Done only then), after its session came up.
            assert!(m.convergence > 0.0, "{m:?}");
            assert!(m.first_done > 0.0 && m.first_done <= m.convergence, "{m:?}");
            assert!(
                m.sessions_up > 0.0 && m.sessions_up <= m.convergence,
                "{m:?}"
            );
            // The resident set before the joins and its peak during them.
            assert!(
                m.baseline_rss > 0 && m.peak_rss > m.baseline_rss * 9 / 10,
                "{m:?}"
            );
            assert!(m.harness_rss > 0, "{m:?}");
        }
        o => panic!("{o:?}"),
    }
    let md = tern_bench::report::markdown(&results, &opts.cases, &opts.daemons);
    for heading in ["RSS before (MB)", "peak RSS (MB)", "peak ÷ before"] {
        assert!(md.contains(heading), "{md}");
    }
}

/// A table far past one control-API message (4 MB) displays whole, as text and as JSON, with
/// `| count` and `| include` agreeing (the checks of a display case), and routes keep
/// flowing while it streams: the withdrawal during a second display completes.
#[test]
fn a_large_table_displays_whole_while_routes_flow() {
    let ternd = build_ternd().expect("ternd");
    let opts = Options {
        daemons: vec![Daemon::Tern],
        cases: vec!["display-vpnv4-50k-k1".parse().unwrap()],
        runs: 1,
        timeout: Some(Duration::from_secs(120)),
        net: [127, 80],
        paths: Paths {
            ternd,
            ..Paths::default()
        },
        settle: Duration::from_millis(300),
        keep: false,
        verbose: false,
        quiet_wait: Duration::ZERO,
        metrics: None,
        ..Options::default()
    };
    let results = run(&opts).expect("run");
    match &results[0].outcome {
        Outcome::Done(m) => {
            let f = m.display.expect("display figures");
            assert!(f.octets > 4 << 20 && f.json_octets > 4 << 20, "{f:?}");
            assert!(f.first <= f.total, "{f:?}");
            // `display bgp peer` was answered while the table streamed.
            assert!(f.peer_asked > 0 && f.peer_max > 0.0, "{f:?}");
        }
        o => panic!("{o:?}"),
    }
}

/// With `--metrics`, ternd serves its metrics through the run and the harness scrapes them
/// (every 100 ms here); the run completes as without.
#[test]
fn a_run_with_metrics_scraped() {
    let ternd = build_ternd().expect("ternd");
    let opts = Options {
        daemons: vec![Daemon::Tern],
        cases: vec!["vpnv4-1000-k2".parse().unwrap()],
        runs: 1,
        timeout: Some(Duration::from_secs(20)),
        net: [127, 81],
        paths: Paths {
            ternd,
            ..Paths::default()
        },
        settle: Duration::from_millis(300),
        keep: false,
        verbose: false,
        quiet_wait: Duration::ZERO,
        metrics: Some(Duration::from_millis(100)),
        ..Options::default()
    };
    let results = run(&opts).expect("run");
    match &results[0].outcome {
        Outcome::Done(m) => assert!(m.convergence > 0.0, "{m:?}"),
        o => panic!("{o:?}"),
    }
}
