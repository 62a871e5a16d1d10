//! The user view's commands (`system-view`, `rollback`, `save`, `reset bgp`, `refresh bgp`,
//! `screen-length`)
//! and the commands valid in
//! every configuration view (`quit`, `return`, `commit`, `abort`, `clear configuration
//! candidate`, `display`).

use super::COMMIT_ID;
use super::display::display;
use crate::grammar::{Node, SessionCmd, arg, kw};
use crate::value::ArgKind;

/// The user view: entering the system view, configuration management, the displays.
pub(super) fn user() -> Vec<Node> {
    vec![
        kw("system-view", "Enter the system view").session(SessionCmd::SystemView),
        display(),
        kw("rollback", "Roll the configuration back").then(
            kw("configuration", "Configuration").sub([
                kw("to", "To the configuration after a commit")
                    .then(kw("commit-id", "Commit ID").then(
                        arg(COMMIT_ID, "commit-id", "Commit ID").session(SessionCmd::Manage),
                    )),
                kw("last", "Undo the last commits").then(
                    arg(
                        ArgKind::Int { min: 1, max: 80 },
                        "number",
                        "Number of commits",
                    )
                    .session(SessionCmd::Manage),
                ),
            ]),
        ),
        kw("save", "Save the running configuration to the startup file")
            .session(SessionCmd::Manage),
        kw("reset", "Reset operation").sub([
            kw(
                "bgp",
                "BGP sessions (closed with Cease/Administrative Reset, then up again)",
            )
            .sub(bgp_targets(|n| {
                n.session(SessionCmd::Operate).then(
                    kw(
                        "graceful",
                        "Close without a NOTIFICATION: a peer with graceful restart keeps the routes",
                    )
                    .session(SessionCmd::Operate),
                )
            })),
            reset_bmp(),
        ]),
        kw("refresh", "Soft reset").then(kw("bgp", "BGP sessions, without closing them").sub(
            bgp_targets(|n| {
                n.sub([
                    kw("export", "Send the peers their routes again").session(SessionCmd::Operate),
                    kw(
                        "import",
                        "Ask the peers for their routes again (route refresh)",
                    )
                    .session(SessionCmd::Operate),
                ])
            }),
        )),
        kw("screen-length", "Set the number of lines on a terminal screen").then(
            arg(
                ArgKind::Int { min: 0, max: 512 },
                "screen-length",
                "Number of lines on a screen (0: no pause)",
            )
            .then(
                kw("temporary", "For this terminal only").session(SessionCmd::Operate),
            ),
        ),
        kw("quit", "Exit from the current mode").session(SessionCmd::Quit),
    ]
}

/// The sessions a `reset bgp` or `refresh bgp` acts on (public peers), each node finished
/// by `tail`.
fn bgp_targets(tail: impl Fn(Node) -> Node) -> Vec<Node> {
    vec![
        tail(kw("all", "All public BGP sessions")),
        tail(arg(ArgKind::IpAddr, "peer-address", "Peer address")),
        tail(kw("external", "EBGP sessions")),
        tail(kw("internal", "IBGP sessions")),
    ]
}

/// Commands valid in every configuration view.
pub(super) fn common() -> Vec<Node> {
    vec![
        kw("quit", "Exit from the current mode").session(SessionCmd::Quit),
        kw("return", "Return to the user view").session(SessionCmd::Return),
        kw("commit", "Commit the configuration")
            .session(SessionCmd::Manage)
            .then(
                kw("description", "Describe the commit").then(
                    arg(ArgKind::Text { max: 60 }, "text", "Commit description")
                        .session(SessionCmd::Manage),
                ),
            ),
        kw(
            "abort",
            "Discard the uncommitted changes and return to the user view",
        )
        .session(SessionCmd::Manage),
        kw("clear", "Clear").then(
            kw("configuration", "Configuration").then(
                kw("candidate", "Discard the uncommitted changes").session(SessionCmd::Manage),
            ),
        ),
        display(),
    ]
}

/// `reset bmp session { A [alias N] | all }`: the collector connection closed and opened again.
fn reset_bmp() -> Node {
    let op = SessionCmd::Operate;
    kw("bmp", "BMP sessions (connected again, with a full report)").then(
        kw("session", "BMP sessions").sub([
            kw("all", "All BMP sessions").session(op),
            arg(ArgKind::Ipv4, "ipv4-address", "Session address")
                .session(op)
                .then(
                    kw("alias", "Session alias")
                        .then(arg(super::NAME31, "alias-name", "Session alias").session(op)),
                ),
        ]),
    )
}
