//! Views (VRP's command modes) and the view stack a session or a file load walks.
//!
//! A [`Frame`] is one level of the stack: which view, the context its commands act on (which
//! interface, which address family, ...) as a [`Scope`], and the header line that opened it
//! (`bgp 100`, `ipv6-family vpnv6`), in canonical form, so kept lines can be placed under the
//! right block when the configuration is printed back.

use tern_types::Afi;

use crate::model::AfKey;

/// A VRP view: the set of commands valid at a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViewId {
    /// `<HUAWEI>`: user view.
    User,
    /// `[~HUAWEI]`: system view.
    System,
    /// `[~HUAWEI-LoopBack1]`: interface view.
    Interface,
    /// `[~HUAWEI-vpn-instance-vpn1]`: VPN instance view.
    VpnInstance,
    /// `[~HUAWEI-vpn-instance-vpn1-af-ipv6]`: VPN instance IPv4/IPv6 address family view.
    VpnInstanceAf,
    /// `[~HUAWEI-bgp]`: BGP view.
    Bgp,
    /// `[~HUAWEI-bgp-af-ipv4]`: BGP-IPv4 unicast address family view.
    BgpIpv4Unicast,
    /// `[~HUAWEI-bgp-af-vpnv4]`: BGP-VPNv4 address family view.
    BgpVpnv4,
    /// `[~HUAWEI-bgp-af-ipv4-labeled]`: BGP-Labeled address family view.
    BgpLabeled,
    /// `[~HUAWEI-bgp-vpn1]`: BGP-VPN instance IPv4 address family view.
    BgpVrf4,
    /// `[~HUAWEI-bgp-af-ipv6]`: BGP-IPv6 unicast address family view.
    BgpIpv6Unicast,
    /// `[~HUAWEI-bgp-af-vpnv6]`: BGP-VPNv6 address family view.
    BgpVpnv6,
    /// `[~HUAWEI-bgp-6-vpn1]`: BGP-VPN instance IPv6 address family view.
    BgpVrf6,
    /// `[~HUAWEI-bgp-af-vpn-target]`: BGP-VPN-Target address family view (RFC 4684).
    BgpVpnTarget,
    /// `[~HUAWEI-ospf-1]` (kept, not active).
    Ospf,
    /// `[~HUAWEI-ospf-1-area-0.0.0.0]` (kept, not active).
    OspfArea,
    /// `[~HUAWEI-mpls]` (kept, not active).
    Mpls,
    /// `[~HUAWEI-mpls-ldp]` (kept, not active).
    MplsLdp,
    /// `[~HUAWEI-mpls-ldp-af-ipv4]` (kept, not active).
    MplsLdpAf,
    /// `[~HUAWEI-route-policy]`: a route-policy node.
    RoutePolicy,
    /// `[~HUAWEI-bmp]`: BMP view.
    Bmp,
    /// `[~HUAWEI-bmp-session-10.1.1.1]`: BMP session view.
    BmpSession,
    /// `[~HUAWEI-bmp-session-10.1.1.1-public]`: BMP monitor view.
    BmpMonitor,
}

impl ViewId {
    /// Every view, for building and checking the grammar.
    pub const ALL: [ViewId; 23] = [
        ViewId::User,
        ViewId::System,
        ViewId::Interface,
        ViewId::VpnInstance,
        ViewId::VpnInstanceAf,
        ViewId::Bgp,
        ViewId::BgpIpv4Unicast,
        ViewId::BgpVpnv4,
        ViewId::BgpLabeled,
        ViewId::BgpVrf4,
        ViewId::BgpIpv6Unicast,
        ViewId::BgpVpnv6,
        ViewId::BgpVrf6,
        ViewId::BgpVpnTarget,
        ViewId::Ospf,
        ViewId::OspfArea,
        ViewId::Mpls,
        ViewId::MplsLdp,
        ViewId::MplsLdpAf,
        ViewId::RoutePolicy,
        ViewId::Bmp,
        ViewId::BmpSession,
        ViewId::BmpMonitor,
    ];

    /// The view's name as the vendor's command reference writes it (`ParentView`).
    pub fn name(self) -> &'static str {
        match self {
            ViewId::User => "User view",
            ViewId::System => "System view",
            ViewId::Interface => "Interface view",
            ViewId::VpnInstance => "VPN instance view",
            ViewId::VpnInstanceAf => "VPN instance address family view",
            ViewId::Bgp => "BGP view",
            ViewId::BgpIpv4Unicast => "BGP-IPv4 unicast address family view",
            ViewId::BgpVpnv4 => "BGP-VPNv4 address family view",
            ViewId::BgpLabeled => "BGP-Labeled address family view",
            ViewId::BgpVrf4 => "BGP-VPN instance IPv4 address family view",
            ViewId::BgpIpv6Unicast => "BGP-IPv6 unicast address family view",
            ViewId::BgpVpnv6 => "BGP-VPNv6 address family view",
            ViewId::BgpVrf6 => "BGP-VPN instance IPv6 address family view",
            ViewId::BgpVpnTarget => "BGP-VPN-target address family view",
            ViewId::Ospf => "OSPF view",
            ViewId::OspfArea => "OSPF area view",
            ViewId::Mpls => "MPLS view",
            ViewId::MplsLdp => "MPLS-LDP view",
            ViewId::MplsLdpAf => "MPLS-LDP IPv4/IPv6 address family view",
            ViewId::RoutePolicy => "Route-policy view",
            ViewId::Bmp => "BMP view",
            ViewId::BmpSession => "BMP session view",
            ViewId::BmpMonitor => "BMP monitor view",
        }
    }

    /// True for views where `undo` forms are accepted (every configuration view).
    pub fn accepts_undo(self) -> bool {
        self != ViewId::User
    }
}

/// What the commands of a view act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Nothing in particular (user and system view).
    Global,
    /// An interface, by canonical name.
    Interface(String),
    /// A VPN instance.
    VpnInstance(String),
    /// One address family of a VPN instance.
    VpnAf {
        /// VPN instance name.
        name: String,
        /// IPv4 or IPv6.
        afi: Afi,
    },
    /// The BGP instance.
    Bgp,
    /// One BGP address family.
    BgpAf(AfKey),
    /// One node of a route policy.
    RoutePolicy {
        /// Policy name.
        name: String,
        /// Node number.
        node: u16,
    },
    /// A block tern keeps without acting on it (ospf, mpls, ...).
    Kept,
    /// A BMP session (`bmp-session A [alias N]`).
    BmpSession(crate::bmp::BmpKey),
    /// A BMP session's `monitor public`.
    BmpMonitor(crate::bmp::BmpKey),
}

/// One level of the view stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The view.
    pub view: ViewId,
    /// What its commands act on.
    pub scope: Scope,
    /// The canonical command line that entered it (empty for user and system view).
    pub header: String,
}

impl Frame {
    /// The system view frame at the bottom of every stack.
    pub fn system() -> Frame {
        Frame {
            view: ViewId::System,
            scope: Scope::Global,
            header: String::new(),
        }
    }

    /// The user view frame (`<PE1>`), where a terminal session starts.
    pub fn user() -> Frame {
        Frame {
            view: ViewId::User,
            ..Frame::system()
        }
    }

    /// The prompt suffix VRP shows for this frame (`-bgp`, `-bgp-af-vpnv6`, `-LoopBack1`).
    pub fn prompt_part(&self) -> String {
        match (&self.view, &self.scope) {
            (ViewId::User | ViewId::System, _) => String::new(),
            (ViewId::Interface, Scope::Interface(n)) => format!("-{n}"),
            (ViewId::VpnInstance, Scope::VpnInstance(n)) => format!("-vpn-instance-{n}"),
            (ViewId::VpnInstanceAf, Scope::VpnAf { afi, .. }) => {
                if *afi == Afi::IPV6 {
                    "-af-ipv6".into()
                } else {
                    "-af-ipv4".into()
                }
            }
            (ViewId::Bgp, _) => "-bgp".into(),
            (ViewId::BgpIpv4Unicast, _) => "-af-ipv4".into(),
            (ViewId::BgpVpnv4, _) => "-af-vpnv4".into(),
            (ViewId::BgpLabeled, _) => "-af-ipv4-labeled".into(),
            (ViewId::BgpIpv6Unicast, _) => "-af-ipv6".into(),
            (ViewId::BgpVpnv6, _) => "-af-vpnv6".into(),
            (ViewId::BgpVpnTarget, _) => "-af-vpn-target".into(),
            (ViewId::BgpVrf4 | ViewId::BgpVrf6, Scope::BgpAf(AfKey::Vrf { afi, name })) => {
                if *afi == Afi::IPV6 {
                    format!("-6-{name}")
                } else {
                    format!("-{name}")
                }
            }
            (ViewId::Ospf, _) => format!("-{}", self.header.replace(' ', "-")),
            (ViewId::OspfArea, _) => format!("-{}", self.header.replace(' ', "-")),
            (ViewId::Mpls, _) => "-mpls".into(),
            (ViewId::MplsLdp, _) => "-mpls-ldp".into(),
            (ViewId::MplsLdpAf, _) => format!("-mpls-ldp-af-{}", &self.header[..4]),
            (ViewId::RoutePolicy, _) => "-route-policy".into(),
            (ViewId::Bmp, _) => "-bmp".into(),
            (ViewId::BmpSession, Scope::BmpSession(k)) => bmp_session_prompt(k),
            (ViewId::BmpMonitor, _) => "-public".into(),
            _ => String::new(),
        }
    }
}

/// `-session-10.1.1.1` or `-session-10.1.1.1-alias` (after the BMP view's `-bmp`).
fn bmp_session_prompt(k: &crate::bmp::BmpKey) -> String {
    match &k.alias {
        Some(a) => format!("-session-{}-{a}", k.addr),
        None => format!("-session-{}", k.addr),
    }
}
