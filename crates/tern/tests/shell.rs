//! `tern` against a ternd: `-c` lines in one session, and the interactive shell driven
//! through a real terminal (tmux send-keys / capture-pane): `?`, Tab, prompts, carets,
//! Ctrl-Z, `display bgp peer`, `quit`.
//!
//! The daemon runs in this test process (ternd's library, no BGP listeners), so no root or
//! network namespace is needed; the shell needs `tmux` (scripts/test.sh installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CONFIG: &str =
    "#\nsysname PE1\n#\nbgp 100\n router-id 1.1.1.9\n peer 10.0.0.2 as-number 200\n#\nreturn\n";

/// Starts one in-process ternd for the whole test binary; returns its control socket.
fn daemon() -> &'static Path {
    static SOCK: OnceLock<PathBuf> = OnceLock::new();
    SOCK.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tern-shell-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let sock = dir.join("ternd.sock");
        let (model, cfg) = ternd::config::load_model(CONFIG).expect("config");
        let opts = ternd::daemon::Options {
            listen: Vec::new(),
            control: Some(sock.clone()),
            state_dir: None,
            startup: None,
            commit_points: 0,
            // In the test machine's own namespace: never touch its routes.
            install_routes: false,
            keep_kernel_routes: false,
            record: None,
            shards: 1,
            mrt: ternd::mrt::Settings::default(),
            access: Default::default(),
            metrics: None,
        };
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(ternd::daemon::run(model, cfg, opts))
        });
        assert!(
            wait(Duration::from_secs(10), || sock.exists()),
            "ternd did not start"
        );
        sock
    })
}

fn wait(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

fn tern(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--socket")
        .arg(daemon())
        .args(args)
        .output()
        .expect("run tern");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn c_lines_run_in_one_session_and_stop_at_the_first_error() {
    let (ok, out, err) = tern(&["-c", "display bgp peer"]);
    assert!(ok, "{err}");
    assert!(out.contains("BGP local router ID : 1.1.1.9"), "{out}");
    assert!(out.contains("10.0.0.2"), "{out}");

    // Views carry over from line to line; the bad line is echoed after its prompt with the
    // caret under the bad parameter; the lines after it are not run.
    let (ok, out, err) = tern(&[
        "-c",
        "system-view",
        "-c",
        "bgp 100",
        "-c",
        "peer 4.4.4.9 as-number 200",
        "-c",
        "peer 4.4.4.9 ebgp-max-hop 300",
        "-c",
        "display bgp peer",
    ]);
    assert!(!ok);
    assert!(!out.contains("BGP local router ID"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "[*PE1-bgp]peer 4.4.4.9 ebgp-max-hop 300",
            &format!("{}^", " ".repeat(36)),
            "Error: Wrong parameter found at '^' position.",
        ],
        "{err}"
    );

    let (ok, out, _) = tern(&["--json", "-c", "display bgp peer 10.0.0.2 verbose"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["remote_as"], 200);

    let (ok, _, err) = tern(&["-c", "display bgp peer 10.0.0.9"]);
    assert!(!ok);
    assert!(
        err.contains("Error: The peer 10.0.0.9 does not exist."),
        "{err}"
    );
}

/// A tmux server of its own, killed on drop.
struct Tmux {
    server: String,
}

impl Tmux {
    fn new(cmd: &str) -> Tmux {
        let t = Tmux {
            server: format!("tern-test-{}", std::process::id()),
        };
        let ok = Command::new("tmux")
            .args(["-L", &t.server, "new-session", "-d", "-s", "shell"])
            .args(["-x", "150", "-y", "50", cmd])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "tmux is needed for the shell test (scripts/test.sh installs it)"
        );
        t
    }

    fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.server, "send-keys", "-t", "shell"])
            .args(keys)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "send-keys {keys:?}");
    }

    /// The screen's lines, without the empty ones below the cursor.
    fn screen(&self) -> Vec<String> {
        let out = Command::new("tmux")
            .args(["-L", &self.server, "capture-pane", "-p", "-t", "shell"])
            .output()
            .expect("capture-pane");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_owned()).collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    /// Waits until the last line is `last` (the cursor's line), or panics with the screen.
    fn until_last(&self, last: &str) -> Vec<String> {
        let ok = wait(Duration::from_secs(10), || {
            self.screen().last().is_some_and(|l| l == last)
        });
        let screen = self.screen();
        assert!(ok, "expected `{last}` last:\n{}", screen.join("\n"));
        screen
    }

    /// Waits until a line is `line` and, after it, the last line is `last`.
    fn until_after(&self, line: &str, last: &str) -> Vec<String> {
        let ok = wait(Duration::from_secs(10), || {
            let screen = self.screen();
            screen.last().is_some_and(|l| l == last) && screen.iter().any(|l| l == line)
        });
        let screen = self.screen();
        assert!(
            ok,
            "expected `{line}`, then `{last}` last:\n{}",
            screen.join("\n")
        );
        screen
    }

    /// After `?`: waits until the help was printed and `last` offered again (the typed line
    /// and the re-offered one), not just until the typed text shows.
    fn until_offered_again(&self, last: &str) -> Vec<String> {
        let ok = wait(Duration::from_secs(10), || {
            let screen = self.screen();
            screen.last().is_some_and(|l| l == last)
                && screen.iter().filter(|l| *l == last).count() >= 2
        });
        let screen = self.screen();
        assert!(
            ok,
            "expected `{last}` offered again:\n{}",
            screen.join("\n")
        );
        screen
    }

    fn running(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.server, "has-session", "-t", "shell"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.server, "kill-server"])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn the_interactive_shell_in_a_terminal() {
    let cmd = format!(
        "{} --socket {}",
        env!("CARGO_BIN_EXE_tern"),
        daemon().display()
    );
    let t = Tmux::new(&cmd);
    t.until_last("<PE1>");

    // `?` after a partial word: the keywords it may become with their help, then the same
    // text offered again.
    t.keys(&["dis", "?"]);
    let s = t.until_offered_again("<PE1>dis");
    let n = s.len();
    assert_eq!(s[n - 3], "<PE1>dis", "{s:#?}");
    assert!(
        s[n - 2].starts_with("  display") && s[n - 2].ends_with("Display information"),
        "{s:#?}"
    );
    // `?` after a space: the next words, the text again.
    t.keys(&[" bgp ", "?"]);
    let s = t.until_offered_again("<PE1>dis bgp");
    for w in ["peer", "vpnv4", "vpnv6"] {
        assert!(
            s.iter().any(|l| l.starts_with(&format!("  {w} "))),
            "{w}: {s:#?}"
        );
    }
    // Tab completes a unique prefix; Enter runs the re-offered, completed line.
    t.keys(&["pe", "Tab"]);
    t.until_last("<PE1>dis bgp peer");
    t.keys(&["Enter"]);
    let s = t.until_last("<PE1>");
    assert!(
        s.iter()
            .any(|l| l.contains("BGP local router ID : 1.1.1.9")),
        "{s:#?}"
    );
    assert!(
        s.iter().any(|l| l.trim_start().starts_with("10.0.0.2")),
        "{s:#?}"
    );

    // The pager: a screenful, `---- More ----`; Enter shows one line more, q stops.
    t.keys(&["screen-length 4 temporary", "Enter"]);
    t.until_last("<PE1>");
    t.keys(&["display current-configuration", "Enter"]);
    let s = t.until_last("  ---- More ----");
    let cmd = s
        .iter()
        .rposition(|l| l == "<PE1>display current-configuration")
        .expect("the command line");
    assert_eq!(s.len() - cmd - 2, 4, "a screen of 4 lines: {s:#?}");
    t.keys(&["Enter"]);
    let ok = wait(Duration::from_secs(10), || {
        let s = t.screen();
        s.last().is_some_and(|l| l == "  ---- More ----") && s.len() - cmd - 2 == 5
    });
    assert!(ok, "Enter: one line more:\n{}", t.screen().join("\n"));
    t.keys(&["q"]);
    t.until_last("<PE1>");
    t.keys(&["display current-configuration | no-more", "Enter"]);
    let s = t.until_last("<PE1>");
    assert_eq!(
        s.iter().rev().nth(1).map(String::as_str),
        Some("return"),
        "| no-more: the whole configuration: {s:#?}"
    );
    t.keys(&["screen-length 0 temporary", "Enter"]);
    t.until_last("<PE1>");

    // Views and prompts; the caret under a bad parameter, after the prompt.
    t.keys(&["sys", "Enter"]);
    t.until_last("[~PE1]");
    t.keys(&["bg", "Tab", "100", "Enter"]);
    t.until_last("[~PE1-bgp]");
    t.keys(&["peer 4.4.4.9 as-number 200", "Enter"]);
    // The peer is an uncommitted change: `*` in the prompt.
    t.until_last("[*PE1-bgp]");
    t.keys(&["peer 4.4.4.9 ebgp-max-hop 300", "Enter"]);
    let s = t.until_after(
        "Error: Wrong parameter found at '^' position.",
        "[*PE1-bgp]",
    );
    let n = s.len();
    assert_eq!(
        s[n - 4],
        "[*PE1-bgp]peer 4.4.4.9 ebgp-max-hop 300",
        "{s:#?}"
    );
    assert_eq!(s[n - 3], format!("{}^", " ".repeat(36)), "{s:#?}");
    assert_eq!(s[n - 2], "Error: Wrong parameter found at '^' position.");
    t.keys(&["ipv6-family vpnv6", "Enter"]);
    t.until_last("[*PE1-bgp-af-vpnv6]");

    // Ctrl-Z with uncommitted changes: VRP's question first; C stays, N discards and
    // leaves; `quit` in the user view ends the shell.
    let question = "Warning: Uncommitted configurations found. Are you sure to commit them before exiting? [Y(yes)/N(no)/C(cancel)]:";
    t.keys(&["C-z"]);
    t.until_last(question);
    t.keys(&["C", "Enter"]);
    t.until_last("[*PE1-bgp-af-vpnv6]");
    t.keys(&["C-z"]);
    t.until_last(question);
    t.keys(&["N", "Enter"]);
    t.until_last("<PE1>");
    t.keys(&["quit", "Enter"]);
    assert!(
        wait(Duration::from_secs(10), || !t.running()),
        "the shell did not exit:\n{}",
        t.screen().join("\n")
    );
}

#[test]
fn a_reader_that_goes_away_ends_tern_c_quietly() {
    use std::io::Read as _;
    // `tern -c … | head -c 10`: the reader takes a little and closes its end while tern
    // still has more to write than a pipe holds.
    let lines: Vec<&str> = std::iter::repeat_n(["-c", "display current-configuration"], 400)
        .flatten()
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--socket")
        .arg(daemon())
        .args(&lines)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tern");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
}

#[test]
fn display_output_goes_through_vrp_filters() {
    let (ok, all, err) = tern(&["-c", "display current-configuration"]);
    assert!(ok, "{err}");
    let (ok, out, err) = tern(&["-c", "display current-configuration | include ^ peer"]);
    assert!(ok, "{err}");
    let want: Vec<&str> = all.lines().filter(|l| l.starts_with(" peer")).collect();
    assert!(!want.is_empty());
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    let (ok, out, err) = tern(&["-c", "dis cur | count"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("Total lines: {}", all.lines().count()));
    let (ok, out, err) = tern(&["-c", "display current-configuration | begin ^bgp | no-more"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("bgp "), "{out}");
    let (ok, out, _) = tern(&["-c", "display bgp peer | exclude ."]);
    assert!(ok);
    assert_eq!(out.trim(), "");
    let (ok, _, err) = tern(&["-c", "display bgp peer | include ("]);
    assert!(!ok);
    assert!(err.contains("Error: Wrong regular expression"), "{err}");
}
