//! The grammar table: every command tern accepts, per view, with its action.
//!
//! Read it as the vendor's syntax written as a tree. `kw` is a keyword, `arg` a typed
//! parameter (named as in the vendor reference), `.run(f)` marks where the plain form may end
//! (and which action builds its change), `.uend()` where the `undo` form may end, `.enters(v)`
//! the view a command opens, `.kept("feature")` a subtree stored verbatim, not acted on.
//!
//! One file per view, each command's node, action and printer together: [`user`] (and the
//! commands of every configuration view), [`display`], [`system`], [`interface`],
//! [`vpn_instance`], [`bgp`], [`bgp_family`] with [`peer`] shared by both, [`route_policy`],
//! [`bmp`] (the BMP views), and [`kept`] (OSPF, MPLS). This file assembles the views and holds what they share.
//!
//! Inside the table, `build` here uses every view file; `bgp` uses `bgp_family` (`network`,
//! `import-route`), `peer` and `system` (`bgp_header`); `bgp_family` uses `peer`; `user`
//! uses `display`; the view files use the argument kinds and helpers defined here.

mod bgp;
mod bgp_family;
mod bmp;
mod display;
mod filter;
mod interface;
mod kept;
mod multipath;
mod peer;
mod peer_as;
mod route_policy;
mod system;
mod user;
mod vpn_instance;
mod vpn_target;

use tern_types::Afi;

use crate::grammar::{Grammar, Matched};
use crate::model::AfKey;
use crate::value::ArgKind;
use crate::view::{Scope, ViewId};
use bgp_family::Safi;

pub(crate) use system::{bgp_header, interface_header, route_policy_header, vpn_instance_header};
pub(crate) use vpn_instance::vpn_af_header;

const NAME31: ArgKind = ArgKind::Word { max: 31 };
const POLICY: ArgKind = ArgKind::Word { max: 200 };
const HOST: ArgKind = ArgKind::Word { max: 246 };
const KEY: ArgKind = ArgKind::Word { max: 255 };
const HOPS: ArgKind = ArgKind::Int { min: 1, max: 255 };
const PREFIX_NAME: ArgKind = ArgKind::Word { max: 169 };
const NODE: ArgKind = ArgKind::Int { min: 0, max: 65535 };
const LEN4: ArgKind = ArgKind::Int { min: 0, max: 32 };
const LEN6: ArgKind = ArgKind::Int { min: 0, max: 128 };
const COMMIT_ID: ArgKind = ArgKind::Int {
    min: 1_000_000_001,
    max: u32::MAX,
};
const U32: ArgKind = ArgKind::Int {
    min: 0,
    max: u32::MAX,
};

/// Builds the whole grammar.
pub(crate) fn build() -> Grammar {
    let mut g = Grammar::new();
    g.add(ViewId::User, user::user());
    g.add(ViewId::System, system::system());
    g.add(ViewId::Interface, interface::interface());
    g.add(ViewId::VpnInstance, vpn_instance::vpn_instance());
    g.add(ViewId::VpnInstanceAf, vpn_instance::vpn_instance_af());
    g.add(ViewId::Bgp, bgp::bgp());
    for (view, afi, safi) in [
        (ViewId::BgpIpv4Unicast, Afi::IPV4, Safi::Unicast),
        (ViewId::BgpVpnv4, Afi::IPV4, Safi::Vpn),
        (ViewId::BgpLabeled, Afi::IPV4, Safi::Labeled),
        (ViewId::BgpVrf4, Afi::IPV4, Safi::Vrf),
        (ViewId::BgpIpv6Unicast, Afi::IPV6, Safi::Unicast),
        (ViewId::BgpVpnv6, Afi::IPV6, Safi::Vpn),
        (ViewId::BgpVrf6, Afi::IPV6, Safi::Vrf),
    ] {
        g.add(view, bgp_family::bgp_family(afi, safi));
    }
    g.add(ViewId::BgpVpnTarget, vpn_target::vpn_target());
    g.add(ViewId::Ospf, kept::ospf());
    g.add(ViewId::OspfArea, kept::ospf_area());
    g.add(ViewId::Mpls, kept::mpls_view());
    g.add(ViewId::MplsLdp, kept::mpls_ldp());
    g.add(ViewId::MplsLdpAf, Vec::new());
    g.add(ViewId::RoutePolicy, route_policy::route_policy_view());
    g.add(ViewId::System, vec![bmp::bmp_enter_node()]);
    g.add(ViewId::Bmp, bmp::bmp_view());
    g.add(ViewId::BmpSession, bmp::bmp_session_view());
    g.add(ViewId::BmpMonitor, bmp::bmp_monitor_view());
    for v in ViewId::ALL {
        if v != ViewId::User {
            g.add(v, user::common());
        }
    }
    g
}

/// The mask length given as a dotted mask (`dotted`) or as a length (`len`).
fn mask(m: &Matched, dotted: &str, len: &str) -> Option<u8> {
    m.mask_len(dotted).or_else(|| m.mask_len(len))
}

/// The BGP family a view's scope names (IPv4 unicast in the BGP view).
fn scope_af(s: &Scope) -> AfKey {
    match s {
        Scope::BgpAf(k) => k.clone(),
        _ => AfKey::Ipv4Unicast,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::Node;

    /// Every node where a command ends has an action (own or inherited), and every keyword is
    /// unique among its siblings.
    #[test]
    fn table_is_well_formed() {
        fn walk(n: &Node, inherited: bool, path: &str) {
            let has = inherited || n.action.is_some();
            let here = format!("{path} {}", n.display_token());
            if n.ends || n.undo_ends {
                assert!(has, "no action for `{here}`");
            }
            let mut kws: Vec<_> = n.children.iter().filter_map(|c| c.keyword()).collect();
            kws.sort_unstable();
            let before = kws.len();
            kws.dedup();
            assert_eq!(before, kws.len(), "duplicate keyword under `{here}`");
            for c in &n.children {
                walk(c, has, &here);
            }
        }
        let g = build();
        for v in ViewId::ALL {
            for n in g.roots(v) {
                walk(n, false, v.name());
            }
        }
    }

    /// Printers are found by rank, so two commands of a view never share one.
    #[test]
    fn print_ranks_are_unique_per_view() {
        fn walk(n: &Node, out: &mut Vec<(u16, usize)>) {
            if let Some((r, f)) = n.print {
                out.push((r, f as usize));
            }
            for c in &n.children {
                walk(c, out);
            }
        }
        let g = build();
        for v in ViewId::ALL {
            let mut ps = Vec::new();
            for n in g.roots(v) {
                walk(n, &mut ps);
            }
            ps.sort_unstable();
            ps.dedup();
            for w in ps.windows(2) {
                assert_ne!(
                    w[0].0,
                    w[1].0,
                    "two printers with rank {} in {}",
                    w[0].0,
                    v.name()
                );
            }
        }
    }
}
