//! The control API end to end: a ternd in a namespace, a management session driven through
//! tern-api as the shell drives it (prompts, VRP errors with their carets, `?`, Tab, the
//! displays), and the one-shot Display call scripts use.

mod common;

use common::{Netns, TempDir, Ternd};
use tern_api::Blocking;

const CONFIG: &str = "#\nbgp 100\n router-id 1.1.1.9\n peer 10.0.0.2 as-number 200\n#\nreturn\n";

#[test]
fn a_management_session_over_the_api() {
    let ns = Netns::new("api");
    let dir = TempDir::new("api");
    let t = Ternd::start(&ns, &dir, "A", CONFIG, &["127.0.0.1:179"]);
    let mut c = Blocking::connect(&t.control).expect("connect");

    let open = c.open_session("test").unwrap();
    assert_eq!(open.prompt, "<HUAWEI>");
    let id = open.session;
    let run = |c: &mut Blocking, line: &str| {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {:?}", r.error);
        r
    };

    // Configuration lines need the system view.
    let r = c.execute(id, "bgp 100", false).unwrap();
    let e = r.error.expect("bgp in the user view");
    assert_eq!(
        e.message,
        "Error: Unrecognized command found at '^' position."
    );
    assert_eq!(e.column, Some(0));
    assert_eq!(r.prompt, "<HUAWEI>");

    assert_eq!(run(&mut c, "system-view").prompt, "[~HUAWEI]");
    // `bgp 100` is already running: entering the view changes nothing.
    assert_eq!(run(&mut c, "bgp 100").prompt, "[~HUAWEI-bgp]");
    let r = run(&mut c, "peer 4.4.4.9 as-number 200");
    assert_eq!(
        (r.prompt.as_str(), r.output.as_str()),
        ("[*HUAWEI-bgp]", "")
    );
    assert_eq!(
        run(&mut c, "ipv6-family vpnv6").prompt,
        "[*HUAWEI-bgp-af-vpnv6]"
    );
    assert_eq!(run(&mut c, "quit").prompt, "[*HUAWEI-bgp]");

    // A bad parameter: the caret under it, shifted by the prompt the line was typed after.
    let r = c
        .execute(id, "peer 4.4.4.9 ebgp-max-hop 300", false)
        .unwrap();
    let e = r.error.expect("hop count out of range");
    assert_eq!(e.message, "Error: Wrong parameter found at '^' position.");
    assert_eq!(e.column, Some(26));
    let caret = format!("{}^", " ".repeat("[*HUAWEI-bgp]".len() + 26));
    assert_eq!(e.text, format!("{caret}\n{}", e.message));
    // A rule, no caret.
    let r = c.execute(id, "peer 5.5.5.5 ebgp-max-hop", false).unwrap();
    let e = r.error.expect("peer without as-number");
    assert_eq!(e.message, "Error: The peer does not exist.");
    assert_eq!((e.column, e.text.as_str()), (None, e.message.as_str()));

    // `?`: the next tokens with their help, `<cr>` when the command may end.
    let h = c.help(id, "peer 4.4.4.9 ").unwrap();
    let tokens: Vec<&str> = h.items.iter().map(|i| i.token.as_str()).collect();
    for w in ["as-number", "ebgp-max-hop", "connect-interface"] {
        assert!(tokens.contains(&w), "{w} in {tokens:?}");
    }
    assert!(h.items.iter().all(|i| !i.help.is_empty()), "{h:?}");
    let h = c.help(id, "peer 4.4.4.9 ebgp-max-hop ").unwrap();
    let tokens: Vec<&str> = h.items.iter().map(|i| i.token.as_str()).collect();
    assert_eq!(tokens, ["<1-255>", "<cr>"]);
    let h = c.help(id, "dis").unwrap();
    assert_eq!(h.items[0].token, "display");
    let h = c.help(id, "xyz ").unwrap();
    assert!(h.items.is_empty());
    assert_eq!(h.error.map(|e| e.column), Some(Some(0)));
    // `commit` is offered; `display this` is not served yet.
    let h = c.help(id, "").unwrap();
    assert!(h.items.iter().any(|i| i.token == "commit"), "{h:?}");

    // Tab.
    let t1 = c.complete(id, "dis").unwrap();
    assert_eq!((t1.start, t1.candidates), (0, vec!["display".to_string()]));
    let t2 = c.complete(id, "display bgp pe").unwrap();
    assert_eq!((t2.start, t2.candidates), (12, vec!["peer".to_string()]));

    // The daemon's displays from any view; the session's own lines are not running.
    let r = run(&mut c, "dis bgp peer");
    assert!(
        r.output.contains("BGP local router ID : 1.1.1.9"),
        "{}",
        r.output
    );
    assert!(r.output.contains("10.0.0.2"), "{}", r.output);
    assert!(!r.output.contains("4.4.4.9"), "{}", r.output);
    assert_eq!(r.prompt, "[*HUAWEI-bgp]");
    let r = c
        .execute(id, "display bgp peer 10.0.0.2 verbose", true)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.output).expect("json");
    assert_eq!(v["remote_as"], 200);
    let r = c.execute(id, "display bgp peer 9.9.9.9", false).unwrap();
    assert_eq!(
        r.error.map(|e| e.message),
        Some("Error: The peer 9.9.9.9 does not exist.".into())
    );

    // The running configuration: the file the daemon started with, not the session's lines.
    let r = run(&mut c, "dis cur");
    assert!(
        r.output.contains("\n peer 10.0.0.2 as-number 200\n"),
        "{}",
        r.output
    );
    assert!(!r.output.contains("4.4.4.9"), "{}", r.output);
    assert!(r.output.trim_end().ends_with("return"), "{}", r.output);
    let h = c.help(id, "display ").unwrap();
    let tokens: Vec<&str> = h.items.iter().map(|i| i.token.as_str()).collect();
    assert_eq!(
        tokens,
        [
            "bgp",
            "bmp",
            "configuration",
            "current-configuration",
            "ip",
            "ipv6",
            "this"
        ]
    );
    // `display this` (in the BGP view): the candidate's block of the current view, with
    // the uncommitted peer.
    let this = run(&mut c, "display this").output;
    assert!(this.contains("bgp 100"), "{this}");
    assert!(this.contains("peer 10.0.0.2 as-number 200"), "{this}");
    assert!(this.contains("peer 4.4.4.9 as-number 200"), "{this}");
    assert!(!this.contains("sysname"), "{this}");

    // Sessions are independent.
    let other = c.open_session("test 2").unwrap();
    assert_eq!(other.prompt, "<HUAWEI>");
    assert_ne!(other.session, id);
    c.close_session(other.session).unwrap();
    assert!(c.execute(other.session, "system-view", false).is_err());

    // The uncommitted change is dropped; `return`, then `quit` in the user view ends the
    // session.
    assert_eq!(
        run(&mut c, "clear configuration candidate").prompt,
        "[~HUAWEI]"
    );
    assert_eq!(run(&mut c, "return").prompt, "<HUAWEI>");
    assert!(run(&mut c, "quit").closed);
    assert!(c.execute(id, "display bgp peer", false).is_err());

    // One-shot displays.
    let d = c.display("display bgp peer", true).unwrap();
    assert!(d.error.is_none());
    let v: serde_json::Value = serde_json::from_str(&d.output).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    let d = c.display("system-view", false).unwrap();
    assert!(d.error.is_some());
    let d = c.display("display bgp peer 1.2.3", false).unwrap();
    assert_eq!(d.error.and_then(|e| e.column), Some(17));
}

/// Two-stage commit against the live daemon: a committed peer starts, a failed commit
/// changes nothing, the history lists the commits, and a rollback stops the peer again.
#[test]
fn commit_and_rollback_change_the_sessions() {
    let ns = Netns::new("cm");
    let dir = TempDir::new("cm");
    let t = Ternd::start(&ns, &dir, "A", CONFIG, &["127.0.0.1:179"]);
    let mut c = Blocking::connect(&t.control).expect("connect");
    let id = c.open_session("test").unwrap().session;
    let run = |c: &mut Blocking, line: &str| {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {:?}", r.error);
        r
    };
    let peers = |c: &mut Blocking| c.display("display bgp peer", false).unwrap().output;
    let before = run(&mut c, "display current-configuration").output;
    assert!(!peers(&mut c).contains("4.4.4.9"));

    run(&mut c, "system-view");
    run(&mut c, "bgp 100");
    run(&mut c, "peer 4.4.4.9 as-number 200");
    let r = run(&mut c, "display configuration candidate changes");
    assert!(
        r.output
            .lines()
            .any(|l| l.starts_with('+') && l.contains("peer 4.4.4.9 as-number 200")),
        "{}",
        r.output
    );
    // Not running before the commit.
    assert!(!peers(&mut c).contains("4.4.4.9"));
    let r = run(&mut c, "commit description add PE2");
    assert_eq!(r.prompt, "[~HUAWEI-bgp]");
    assert!(common::wait_for(std::time::Duration::from_secs(5), || {
        peers(&mut c).contains("4.4.4.9")
    }));
    let after = run(&mut c, "display current-configuration").output;
    assert!(after.contains("peer 4.4.4.9 as-number 200"), "{after}");

    // A commit that fails validation leaves running and the sessions as they were:
    // connect-interface to an interface that does not exist is checked at commit.
    run(&mut c, "peer 4.4.4.9 connect-interface LoopBack9");
    let r = c.execute(id, "commit", false).unwrap();
    assert!(r.error.is_some(), "commit should fail");
    assert_eq!(r.prompt, "[*HUAWEI-bgp]", "the candidate keeps its changes");
    assert_eq!(run(&mut c, "display current-configuration").output, after);
    run(&mut c, "clear configuration candidate");

    let list = run(&mut c, "display configuration commit list").output;
    assert!(list.contains("1000000001"), "{list}");
    run(&mut c, "return");
    run(&mut c, "rollback configuration last 1");
    assert_eq!(run(&mut c, "display current-configuration").output, before);
    assert!(common::wait_for(std::time::Duration::from_secs(5), || {
        !peers(&mut c).contains("4.4.4.9")
    }));
    let list = run(&mut c, "display configuration commit list").output;
    assert!(
        list.contains("1000000002"),
        "the rollback is a commit: {list}"
    );
}

/// Leaving the system view with uncommitted changes asks VRP's [Y/N/C] question: nothing
/// runs until it is answered; C stays, N discards, Y commits, and then the line runs.
#[test]
fn leaving_with_uncommitted_changes_asks_first() {
    let ns = Netns::new("yn");
    let dir = TempDir::new("yn");
    let t = Ternd::start(&ns, &dir, "A", CONFIG, &["127.0.0.1:179"]);
    let mut c = Blocking::connect(&t.control).expect("connect");
    let id = c.open_session("test").unwrap().session;
    let run = |c: &mut Blocking, line: &str| {
        let r = c.execute(id, line, false).unwrap();
        assert!(r.error.is_none(), "{line}: {:?}", r.error);
        r
    };
    run(&mut c, "system-view");
    assert_eq!(run(&mut c, "sysname PE9").prompt, "[*HUAWEI]");
    let r = run(&mut c, "return");
    assert!(r.question.contains("[Y(yes)/N(no)/C(cancel)]"), "{r:?}");
    assert_eq!(r.prompt, "[*HUAWEI]", "nothing ran");
    let r = c.execute_answer(id, "return", false, "C").unwrap();
    assert_eq!((r.prompt.as_str(), r.question.as_str()), ("[*HUAWEI]", ""));
    let r = c.execute_answer(id, "return", false, "N").unwrap();
    assert_eq!(r.prompt, "<HUAWEI>");
    assert!(
        !run(&mut c, "display current-configuration")
            .output
            .contains("PE9")
    );
    run(&mut c, "system-view");
    run(&mut c, "sysname PE9");
    let r = c.execute_answer(id, "quit", false, "Y").unwrap();
    assert_eq!(r.prompt, "<PE9>", "committed, then left");
    assert!(
        run(&mut c, "display current-configuration")
            .output
            .contains("sysname PE9")
    );
}

/// A commit of configuration tern keeps without running it (here MPLS) says so by name; a
/// commit of configuration it runs says nothing.
#[test]
fn a_commit_of_kept_configuration_warns_by_name() {
    let ns = Netns::new("kw");
    let dir = TempDir::new("kw");
    let t = Ternd::start(&ns, &dir, "A", CONFIG, &["127.0.0.1:179"]);
    let out = t.run_ok(&["system-view", "mpls lsr-id 1.1.1.9", "commit"]);
    assert!(
        out.contains("Warning: Kept, not active (tern does not run it): mpls."),
        "{out:?}"
    );
    let out = t.run_ok(&[
        "system-view",
        "bgp 100",
        "peer 4.4.4.9 as-number 200",
        "commit",
    ]);
    assert!(!out.contains("Warning"), "{out:?}");
}
