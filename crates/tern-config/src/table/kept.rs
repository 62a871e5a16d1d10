//! The OSPF and MPLS views: commands tern accepts and keeps verbatim, not acted on yet.

use super::{POLICY, U32};
use crate::grammar::{Node, any_order, arg, kw};
use crate::value::ArgKind;
use crate::view::ViewId;

/// The OSPF view.
pub(super) fn ospf() -> Vec<Node> {
    let area_id = |n: Node| {
        n.sub([
            arg(ArgKind::Ipv4, "area-id", "Area ID (dotted)")
                .end_both()
                .enters(ViewId::OspfArea),
            arg(U32, "area-id", "Area ID")
                .end_both()
                .enters(ViewId::OspfArea),
        ])
    };
    vec![
        area_id(kw("area", "OSPF area").kept("ospf")),
        kw("import-route", "Import routes")
            .kept("ospf")
            .sub(["bgp", "direct", "static"].map(|p| {
                kw(p, "Source protocol").end_both().sub(any_order(&[
                    kw("cost", "Cost").then(
                        arg(
                            ArgKind::Int {
                                min: 0,
                                max: 16777214,
                            },
                            "cost",
                            "Cost",
                        )
                        .end_both(),
                    ),
                    kw("type", "External type")
                        .then(arg(ArgKind::Int { min: 1, max: 2 }, "type", "Type").end_both()),
                    kw("route-policy", "Route policy")
                        .then(arg(POLICY, "route-policy-name", "Route policy").end_both()),
                ]))
            })),
        kw("default-route-advertise", "Advertise a default route")
            .kept("ospf")
            .end_both()
            .then(kw("always", "Always").end_both()),
        kw("silent-interface", "Silent interface")
            .kept("ospf")
            .then(arg(ArgKind::IfName, "interface-name", "Interface").end_both()),
    ]
}

/// The OSPF area view.
pub(super) fn ospf_area() -> Vec<Node> {
    vec![
        kw("network", "Enable OSPF on matching interfaces")
            .kept("ospf")
            .then(
                arg(ArgKind::Ipv4, "ip-address", "Address")
                    .then(arg(ArgKind::Wildcard, "wildcard-mask", "Wildcard mask").end_both()),
            ),
    ]
}

/// The MPLS view.
pub(super) fn mpls_view() -> Vec<Node> {
    vec![
        kw("lsp-trigger", "LSP trigger policy").kept("mpls").sub([
            kw("all", "All routes").end_both(),
            kw("host", "Host routes").end_both(),
            kw("none", "No routes").end_both(),
            kw("bgp-label-route", "BGP labeled routes").end_both(),
            kw("ip-prefix", "Routes in a prefix list")
                .then(arg(POLICY, "ip-prefix-name", "Prefix list").end_both()),
        ]),
        kw("label", "Label advertisement").kept("mpls").then(
            kw("advertise", "Label to advertise for the egress").sub(
                ["implicit-null", "explicit-null", "non-null"]
                    .map(|w| kw(w, "Label mode").end_both()),
            ),
        ),
    ]
}

/// The MPLS LDP view: its address families.
pub(super) fn mpls_ldp() -> Vec<Node> {
    ["ipv4-family", "ipv6-family"]
        .map(|w| {
            kw(w, "LDP address family (kept, not active)")
                .kept("mpls ldp")
                .sep()
                .end_both()
                .enters(ViewId::MplsLdpAf)
        })
        .into()
}
