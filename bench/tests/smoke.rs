//! The harness end to end against ternd alone, with 1000 routes: VPNv4 to two receivers, and
//! IPv4 unicast announced then withdrawn. Needs no root: everything runs on 127.78.0.0/16.

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
