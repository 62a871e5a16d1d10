//! Input lengths as the VRP reference gives them: a description longer than its command
//! allows is refused, and the candidate is left as it was.

use tern_config::{Config, Running};

fn check(setup: &[&str], make: impl Fn(&str) -> String, max: usize) {
    let mut running = Running::new(Config::default());
    let mut c = running.candidate("root");
    for l in setup {
        c.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
    let before = c.config().to_vrp();
    let long = "x".repeat(max + 1);
    let e = c.apply_line(&make(&long)).expect_err("too long");
    assert!(e.to_string().contains("Wrong parameter"), "{e}");
    assert_eq!(
        c.config().to_vrp(),
        before,
        "a refused line changes nothing"
    );
    // A megabyte, as a careless script would send: refused the same.
    assert!(c.apply_line(&make(&"y".repeat(1 << 20))).is_err());
    let fits = "z".repeat(max);
    c.apply_line(&make(&fits))
        .unwrap_or_else(|e| panic!("{max} characters: {e}"));
    assert!(c.config().to_vrp().contains(&fits));
    assert!(c.commit(&mut running, "").unwrap().is_some());
}

#[test]
fn peer_description_up_to_255() {
    check(
        &["bgp 100", "peer 10.0.0.2 as-number 200"],
        |t| format!("peer 10.0.0.2 description {t}"),
        255,
    );
}

#[test]
fn interface_description_up_to_242() {
    check(
        &["interface GigabitEthernet0/0/0"],
        |t| format!("description {t}"),
        242,
    );
}

#[test]
fn static_route_description_up_to_150() {
    check(
        &[],
        |t| format!("ip route-static 192.0.2.0 24 NULL0 description {t}"),
        150,
    );
}
