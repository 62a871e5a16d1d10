//! The `display` commands, valid in every view: the configuration displays the session
//! serves and the daemon's displays (BGP, routing tables), whose syntax is all tern-config
//! knows of them.

use super::{COMMIT_ID, NAME31};
use crate::grammar::{Node, SessionCmd, arg, kw};
use crate::value::ArgKind;

/// `display ...`, in the user view and every configuration view.
pub(super) fn display() -> Node {
    kw("display", "Display information").sub([
        kw("current-configuration", "Current configuration").session(SessionCmd::DisplayCurrent),
        kw("this", "Configuration of the current view").session(SessionCmd::DisplayThis),
        kw("configuration", "Configuration").sub([
            kw("candidate", "The candidate configuration")
                .session(SessionCmd::Manage)
                .then(
                    kw("changes", "Changes against the running configuration")
                        .session(SessionCmd::Manage),
                ),
            kw("commit", "Commit history").sub([
                kw("list", "Commit list")
                    .session(SessionCmd::Manage)
                    .then(kw("verbose", "Details").session(SessionCmd::Manage)),
                kw("changes", "Changes of a commit")
                    .then(kw("at", "At a commit").then(
                        arg(COMMIT_ID, "commit-id", "Commit ID").session(SessionCmd::Manage),
                    )),
            ]),
        ]),
        display_bgp(),
        display_bmp(),
        display_ip_table("ip", "IP information").sub(display_filters()),
        display_ip_table("ipv6", "IPv6 information"),
    ])
}

/// `display ip as-path-filter|community-filter|extcommunity-filter|rd-filter [NAME]`
/// (served by ternd from the running configuration).
fn display_filters() -> Vec<Node> {
    let show = SessionCmd::Show;
    [
        ("as-path-filter", "AS_Path filters"),
        ("community-filter", "Community filters"),
        ("extcommunity-filter", "Extended community filters"),
        ("rd-filter", "RD filters"),
    ]
    .map(|(w, h)| {
        kw(w, h).session(show).then(
            arg(
                ArgKind::Word { max: 51 },
                "filter-name",
                "Filter number or name",
            )
            .session(show),
        )
    })
    .into()
}

/// `display ip|ipv6 routing-table [vpn-instance V]` (served by ternd).
fn display_ip_table(word: &'static str, help: &'static str) -> Node {
    let show = SessionCmd::Show;
    kw(word, help).then(
        kw("routing-table", "Routing table").session(show).then(
            kw("vpn-instance", "A VPN instance's routing table")
                .then(arg(NAME31, "vpn-instance-name", "VPN instance name").session(show)),
        ),
    )
}

/// The daemon's BGP displays (served by ternd; the syntax is the vendor's).
fn display_bgp() -> Node {
    let show = SessionCmd::Show;
    let peer = || kw("peer", "Peers of the address family").session(show);
    let table = || {
        kw("routing-table", "BGP routing table").session(show).sub([
            arg(
                ArgKind::IpAddr,
                "ip-address",
                "Destination address (longest match)",
            )
            .session(show),
            kw("label", "Labeled routes with their in- and out-labels").session(show),
            kw("statistics", "Route counts").session(show),
            kw("community", "Routes carrying communities")
                .session(show)
                .sub([whole_match(), communities(MAX_COMMUNITIES)]),
            kw("peer", "Routes of one peer").then(
                arg(ArgKind::IpAddr, "peer-address", "Peer address").sub([
                    kw("received-routes", "Routes received from the peer").session(show),
                    kw("accepted-routes", "Received routes import policy accepted").session(show),
                    kw("advertised-routes", "Routes advertised to the peer").session(show),
                ]),
            ),
        ])
    };
    let groups = || {
        kw("update-peer-group", "Update groups").session(show).then(
            kw("index", "One update group").then(
                arg(
                    ArgKind::Int { min: 0, max: 65535 },
                    "index-value",
                    "Group ID",
                )
                .session(show),
            ),
        )
    };
    let group = || {
        kw("group", "Peer groups")
            .session(show)
            .then(arg(super::peer::GROUP, "group-name", "Peer group name").session(show))
    };
    let all = || kw("all", "All peers").sub([peer(), table(), groups(), group()]);
    let vpn = |name: &'static str, help: &'static str| {
        kw(name, help).sub([
            all(),
            kw("vpn-instance", "A VPN instance's routes")
                .then(arg(NAME31, "vpn-instance-name", "VPN instance name").then(table())),
            kw("route-distinguisher", "Routes of one route distinguisher")
                .then(arg(ArgKind::Rd, "route-distinguisher", "RD").then(table())),
        ])
    };
    kw("bgp", "BGP information").sub([
        kw("peer", "BGP peers").session(show).then(
            arg(ArgKind::IpAddr, "peer-address", "Peer address")
                .session(show)
                .sub([
                    kw("verbose", "Detailed information").session(show),
                    kw("log-info", "Peer state changes and errors").session(show),
                ]),
        ),
        table(),
        groups(),
        kw("group", "Peer groups")
            .session(show)
            .then(arg(super::peer::GROUP, "group-name", "Peer group name").session(show)),
        vpn("vpnv4", "BGP VPNv4 address family"),
        vpn("vpnv6", "BGP VPNv6 address family"),
        kw("labeled", "BGP labeled address family").sub([peer(), table(), groups(), group()]),
        kw("ipv6", "BGP IPv6 address family").sub([peer(), table(), groups(), group()]),
    ])
}

/// The most communities a display asks for (`&<1-33>`).
const MAX_COMMUNITIES: usize = 33;

/// `whole-match` after the communities.
fn whole_match() -> Node {
    kw("whole-match", "Routes with exactly these communities").session(SessionCmd::Show)
}

/// The community at position `MAX_COMMUNITIES - left + 1`, and the ones that may follow.
fn communities(left: usize) -> Node {
    let n = arg(ArgKind::Community, "cmnty-value", "Community").session(SessionCmd::Show);
    if left > 1 {
        n.sub([whole_match(), communities(left - 1)])
    } else {
        n.then(whole_match())
    }
}

/// `display bmp session [A [alias N] verbose]` (served by ternd).
fn display_bmp() -> Node {
    let show = SessionCmd::Show;
    let verbose = || kw("verbose", "Detailed information").session(show);
    kw("bmp", "BMP information").then(
        kw("session", "BMP sessions").session(show).then(
            arg(ArgKind::Ipv4, "ipv4-address", "Session address").sub([
                verbose(),
                kw("alias", "Session alias")
                    .then(arg(NAME31, "alias-name", "Session alias").then(verbose())),
            ]),
        ),
    )
}
