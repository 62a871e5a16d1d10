//! The BMP views: prompts, the printed configuration read back, undo, refused lines.

use tern_config::{Config, Running, parse_file};

fn lines(c: &mut tern_config::Candidate, ls: &[&str]) {
    for l in ls {
        c.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
}

const TEXT: &str = "#
sysname HUAWEI
#
bmp
 statistics-timer 60
 bmp-session 10.1.1.1
  tcp connect port 5000
  monitor public
   route-mode ipv4-family unicast adj-rib-in pre-policy
   route-mode ipv6-family unicast adj-rib-in pre-policy
   route-mode ipv4-family unicast adj-rib-out post-policy
   route-mode ipv4-family unicast local-rib
 bmp-session 10.1.1.1 alias a
  tcp connect port 5001
#
return
";

#[test]
fn views_prompts_and_printout() {
    let mut running = Running::new(Config::default());
    let mut c = running.candidate("root");
    lines(
        &mut c,
        &["bmp", "statistics-timer 60", "bmp-session 10.1.1.1"],
    );
    assert_eq!(c.prompt(), "[*HUAWEI-bmp-session-10.1.1.1]");
    lines(&mut c, &["tcp connect port 5000", "monitor public"]);
    assert_eq!(c.prompt(), "[*HUAWEI-bmp-session-10.1.1.1-public]");
    lines(
        &mut c,
        &[
            "route-mode ipv6-family unicast adj-rib-in pre-policy",
            "route-mode ipv4-family unicast local-rib",
            "route-mode ipv4-family unicast adj-rib-out post-policy",
            "route-mode ipv4-family unicast adj-rib-in pre-policy",
            "quit",
            "quit",
            "bmp-session 10.1.1.1 alias a",
        ],
    );
    assert_eq!(c.prompt(), "[*HUAWEI-bmp-session-10.1.1.1-a]");
    lines(&mut c, &["tcp connect port 5001"]);
    assert!(c.commit(&mut running, "").unwrap().is_some());
    assert_eq!(running.config().to_vrp(), TEXT);
    // Read back, the same.
    let back = parse_file(TEXT).unwrap();
    assert_eq!(&back, running.config());
}

#[test]
fn undo_and_refusals() {
    let mut running = Running::new(parse_file(TEXT).unwrap());
    let mut c = running.candidate("root");
    lines(&mut c, &["bmp", "bmp-session 10.1.1.1"]);
    // Not VRP's: other route modes, post-policy, other ports.
    for bad in [
        "tcp connect port 0",
        "tcp connect port 5000 password md5 abcdefgh1",
        "monitor all-vpn-instance",
    ] {
        assert!(c.apply_line(bad).is_err(), "{bad}");
    }
    assert!(c.apply_line("undo tcp connect port 5001").is_err());
    lines(&mut c, &["undo tcp connect port 5000", "monitor public"]);
    for bad in [
        "route-mode ipv4-family unicast adj-rib-in post-policy",
        // No ADD-PATH: the Loc-RIB's add-path paths cannot be reported.
        "route-mode ipv4-family unicast local-rib add-path",
        // Before the export policy: not kept.
        "route-mode ipv4-family unicast adj-rib-out pre-policy",
        "undo route-mode ipv6-family unicast local-rib",
    ] {
        assert!(c.apply_line(bad).is_err(), "{bad}");
    }
    lines(
        &mut c,
        &[
            "undo route-mode ipv6-family unicast adj-rib-in pre-policy",
            "undo route-mode ipv4-family unicast local-rib",
            "undo route-mode ipv4-family unicast adj-rib-out post-policy",
            "quit",
            "quit",
            "undo bmp-session 10.1.1.1 alias a",
            "undo statistics-timer",
        ],
    );
    assert!(c.commit(&mut running, "").unwrap().is_some());
    assert_eq!(
        running.config().to_vrp(),
        "#\nsysname HUAWEI\n#\nbmp\n bmp-session 10.1.1.1\n  monitor public\n   route-mode ipv4-family unicast adj-rib-in pre-policy\n#\nreturn\n"
    );
    lines(&mut c, &["quit", "undo bmp"]);
    assert!(c.commit(&mut running, "").unwrap().is_some());
    assert_eq!(running.config().to_vrp(), "#\nsysname HUAWEI\n#\nreturn\n");
}
