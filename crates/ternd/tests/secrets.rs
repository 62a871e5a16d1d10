//! TCP MD5 keys are never kept or shown in clear: typed as `password simple KEY`, they are
//! displayed, saved and kept in the commit history as `password cipher %^%#…%^%#`; that form
//! read back at start gives the kernel the same key (FRR, whose key is the plain one, stays
//! up); the files that hold them are the owner's only.
//!
//! Topology: T 10.0.0.1/24 ── 10.0.0.2/24 F (FRR). Needs root and FRR.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::frr::Frr;
use common::{Netns, TempDir, Ternd, link, tern_cli};

const KEY: &str = "tern-Secret1";

fn frr_cfg() -> String {
    format!(
        "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 password {KEY}
 neighbor 10.0.0.1 timers 3 9
 neighbor 10.0.0.1 timers connect 2
!
"
    )
}

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

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn md5_keys_are_kept_in_cipher_form_and_still_work() {
    let dir = TempDir::new("sec");
    let t_ns = Netns::new("sect");
    let f_ns = Netns::new("secf");
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    let _f = Frr::start(&f_ns, &dir, "f", &frr_cfg(), &[]);
    let mut t = Ternd::start(&t_ns, &dir, "t", T_CFG, &["0.0.0.0:179"]);
    let sock = t.control.clone();
    tern_cli(
        &sock,
        &[
            "system-view",
            "bgp 100",
            &format!("peer 10.0.0.2 password simple {KEY}"),
            "commit",
        ],
    );
    t.wait_established("10.0.0.2", Duration::from_secs(60));

    let cur = tern_cli(&sock, &["display current-configuration"]);
    assert!(!cur.contains(KEY), "{cur}");
    let line = cur
        .lines()
        .find(|l| l.contains("password"))
        .unwrap_or_else(|| panic!("{cur}"));
    let cipher = line
        .trim()
        .strip_prefix("peer 10.0.0.2 password cipher ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(tern_config::secret::is_cipher(cipher), "{line}");
    let changes = tern_cli(
        &sock,
        &["display configuration commit changes at 1000000001"],
    );
    assert!(!changes.contains(KEY), "{changes}");

    // The same key again changes nothing (no new rollback point, the session stays).
    let before = tern_cli(&sock, &["display configuration commit list"]);
    tern_cli(
        &sock,
        &[
            "system-view",
            "bgp 100",
            &format!("peer 10.0.0.2 password cipher {KEY}"),
            "commit",
        ],
    );
    assert_eq!(
        tern_cli(&sock, &["display configuration commit list"]),
        before
    );

    // Saved and in the history: the cipher form only, owner-only files.
    tern_cli(&sock, &["save"]);
    let saved = dir.path("t.cfg");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(!text.contains(KEY) && text.contains(cipher), "{text}");
    assert_eq!(mode(&saved), 0o600);
    let state = dir.path("t.cfg.state");
    assert_eq!(mode(&state), 0o700);
    for e in std::fs::read_dir(&state).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "{} holds the key",
            p.display()
        );
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    // The daemon's log never had it either.
    assert!(!t.log_text().contains(KEY));

    // Restarted from the saved file: the cipher form gives the kernel the key FRR has.
    t.stop();
    let _ = std::fs::remove_file(&sock);
    let t = Ternd::start(&t_ns, &dir, "t", &text, &["0.0.0.0:179"]);
    t.wait_established("10.0.0.2", Duration::from_secs(60));
    let cur = tern_cli(&t.control, &["display current-configuration"]);
    assert!(cur.contains(&format!("password cipher {cipher}")), "{cur}");
}
