//! Forwarding commands of the BGP unicast family views (IPv4 and IPv6 unicast, the VPN
//! instance families; typed in the BGP view they apply to IPv4 unicast, where they print):
//! `maximum load-balancing [ebgp|ibgp] N` (equal-cost paths installed together) and
//! `routing-table rib-only [route-policy P]` (BGP routes kept out of the kernel).

use super::{POLICY, scope_af};
use crate::change::{AfAttr, Change, LbKind};
use crate::error::Reject;
use crate::grammar::{Item, Matched, Node, arg, kw};
use crate::model::{Config, RibOnly};
use crate::value::ArgKind;
use crate::view::Scope;

/// VRP's range of `maximum load-balancing`.
const PATHS: ArgKind = ArgKind::Int { min: 1, max: 128 };

/// `maximum load-balancing [ebgp|ibgp] N [ecmp-nexthop-changed]` (the last refused).
pub(super) fn load_balancing(print: Option<u16>) -> Node {
    let count = |name: &'static str| {
        arg(PATHS, name, "Number of equal-cost routes").end().then(
            kw(
                "ecmp-nexthop-changed",
                "Next hop self only for load-balanced routes",
            )
            .end(),
        )
    };
    let mut n = kw("maximum", "Maximum").then(
        kw("load-balancing", "Equal-cost routes for load balancing")
            .act(af_load_balancing)
            .uend()
            .sub([
                count("number"),
                kw("ebgp", "EBGP routes").uend().then(count("ebgpNumber")),
                kw("ibgp", "IBGP routes").uend().then(count("ibgpNumber")),
            ]),
    );
    if let Some(rank) = print {
        n = n.print(rank, print_load_balancing);
    }
    n
}

/// `routing-table rib-only [route-policy P]`.
pub(super) fn rib_only(print: Option<u16>) -> Node {
    let mut n = kw("routing-table", "IP routing table").then(
        kw("rib-only", "Keep BGP routes out of the IP routing table")
            .act(af_rib_only)
            .end_both()
            .then(
                kw("route-policy", "Only the routes the policy permits")
                    .then(arg(POLICY, "route-policy-name", "Route policy").end()),
            ),
    );
    if let Some(rank) = print {
        n = n.print(rank, print_rib_only);
    }
    n
}

fn family<'a>(c: &'a Config, s: &Scope) -> Option<&'a crate::model::BgpFamily> {
    match s {
        Scope::BgpAf(k) => c.bgp.as_ref()?.families.get(k),
        _ => None,
    }
}

fn print_load_balancing(c: &Config, s: &Scope) -> Vec<Item> {
    let Some(f) = family(c, s) else {
        return Vec::new();
    };
    let lb = f.load_balancing;
    [("", lb.both), ("ebgp ", lb.ebgp), ("ibgp ", lb.ibgp)]
        .into_iter()
        .filter_map(|(k, n)| n.map(|n| Item::Line(format!("maximum load-balancing {k}{n}"))))
        .collect()
}

fn print_rib_only(c: &Config, s: &Scope) -> Vec<Item> {
    family(c, s)
        .and_then(|f| f.rib_only.as_ref())
        .map(|r| {
            let policy = r
                .route_policy
                .as_ref()
                .map(|p| format!(" route-policy {p}"))
                .unwrap_or_default();
            Item::Line(format!("routing-table rib-only{policy}"))
        })
        .into_iter()
        .collect()
}

fn af_load_balancing(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    if m.has("ecmp-nexthop-changed") {
        return Err(Reject::new(
            "Error: ecmp-nexthop-changed is not supported; maximum load-balancing without it is.",
        ));
    }
    let (kind, n) = if m.has("ebgp") {
        (LbKind::Ebgp, m.int("ebgpNumber"))
    } else if m.has("ibgp") {
        (LbKind::Ibgp, m.int("ibgpNumber"))
    } else {
        (LbKind::Both, m.int("number"))
    };
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::LoadBalancing(kind, if m.undo { None } else { n }),
    })
}

fn af_rib_only(m: &Matched, s: &Scope) -> Result<Change, Reject> {
    let r = (!m.undo).then(|| RibOnly {
        route_policy: m.str("route-policy-name").map(str::to_owned),
    });
    Ok(Change::AfAttr {
        af: scope_af(s),
        attr: AfAttr::RibOnly(r),
    })
}
