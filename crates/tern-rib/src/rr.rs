//! Route reflection (RFC 4456) as pure functions.
//!
//! - Who may receive a route ([`may_advertise`], RFC 4456 §6, RFC 4271 §9.2): a route from
//!   a non-client IBGP peer goes to clients only; from a client, to non-clients and (unless
//!   client-to-client reflection is off, VRP `undo reflect between-clients`) to the other
//!   clients; from an EBGP peer or originated locally, to everyone. EBGP peers get every
//!   route. Never back to the peer it came from (split horizon). A speaker with no clients
//!   thus keeps plain IBGP split horizon.
//! - Attributes on reflection ([`reflect_attrs`], RFC 4456 §8): ORIGINATOR_ID set to the
//!   router ID of the peer the route was learned from when absent; the cluster ID prepended
//!   to CLUSTER_LIST. Toward EBGP both are removed ([`strip_for_ebgp`]): they are
//!   non-transitive and local to the AS.
//! - Loop detection on receipt ([`reflection_loop`], RFC 4456 §8): a route whose
//!   ORIGINATOR_ID is our router ID, or whose CLUSTER_LIST holds our cluster ID, is ignored.
//! - The cluster ID is the router ID unless configured ([`cluster_id`], RFC 4456 §7; VRP
//!   `reflector cluster-id`).

use std::net::Ipv4Addr;

use crate::attrs::PathAttrs;
use crate::decision::{PeerId, PeerInfo};

/// A peer's role for reflection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Role {
    /// This router (locally originated routes).
    Local,
    /// An external peer.
    Ebgp,
    /// An internal peer configured as reflector client.
    Client,
    /// An internal peer that is not a client.
    NonClient,
}

impl Role {
    /// The role of a peer.
    pub fn of(id: PeerId, info: &PeerInfo) -> Role {
        if id == PeerId::LOCAL {
            Role::Local
        } else if info.ebgp {
            Role::Ebgp
        } else if info.rr_client {
            Role::Client
        } else {
            Role::NonClient
        }
    }

    /// True for the two internal roles.
    pub fn is_ibgp(self) -> bool {
        matches!(self, Role::Client | Role::NonClient)
    }
}

/// The cluster ID: the configured one, else the router ID (RFC 4456 §7).
pub fn cluster_id(router_id: Ipv4Addr, configured: Option<Ipv4Addr>) -> Ipv4Addr {
    configured.unwrap_or(router_id)
}

/// May a best route learned from `from` (role `from_role`) be advertised to `to`?
pub fn may_advertise(
    from: PeerId,
    from_role: Role,
    to: PeerId,
    to_role: Role,
    client_to_client: bool,
) -> bool {
    if from == to && from_role != Role::Local {
        return false;
    }
    match (from_role, to_role) {
        (_, Role::Local) => false,
        (_, Role::Ebgp) | (Role::Local | Role::Ebgp, _) => true,
        (Role::NonClient, Role::Client) => true,
        (Role::NonClient, Role::NonClient) => false,
        (Role::Client, Role::NonClient) => true,
        (Role::Client, Role::Client) => client_to_client,
    }
}

/// True when sending from `from_role` to `to_role` is a reflection (IBGP to IBGP), which
/// calls for [`reflect_attrs`].
pub fn is_reflection(from_role: Role, to_role: Role) -> bool {
    from_role.is_ibgp() && to_role.is_ibgp()
}

/// Adds the reflection attributes (RFC 4456 §8): ORIGINATOR_ID (the router ID of the peer
/// the route came from) when absent, and `cluster_id` in front of CLUSTER_LIST.
pub fn reflect_attrs(
    attrs: &mut PathAttrs,
    learned_from_router_id: Ipv4Addr,
    cluster_id: Ipv4Addr,
) {
    if attrs.originator_id.is_none() {
        attrs.originator_id = Some(learned_from_router_id);
    }
    attrs.cluster_list.insert(0, cluster_id);
}

/// Removes ORIGINATOR_ID and CLUSTER_LIST, for an EBGP peer.
pub fn strip_for_ebgp(attrs: &mut PathAttrs) {
    attrs.originator_id = None;
    attrs.cluster_list.clear();
}

/// Why a received route is a reflection loop.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReflectionLoop {
    /// ORIGINATOR_ID is our router ID.
    Originator,
    /// CLUSTER_LIST holds our cluster ID.
    Cluster,
}

/// The loop checks of RFC 4456 §8 on a received route.
pub fn reflection_loop(
    originator_id: Option<Ipv4Addr>,
    cluster_list: &[Ipv4Addr],
    router_id: Ipv4Addr,
    cluster_id: Ipv4Addr,
) -> Option<ReflectionLoop> {
    if originator_id == Some(router_id) {
        Some(ReflectionLoop::Originator)
    } else if cluster_list.contains(&cluster_id) {
        Some(ReflectionLoop::Cluster)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use tern_types::Asn;
    use tern_wire::NextHop;
    use tern_wire::attr::{AsPath, Origin};

    const C1: PeerId = PeerId(1);
    const C2: PeerId = PeerId(2);
    const N1: PeerId = PeerId(3);
    const N2: PeerId = PeerId(4);
    const E1: PeerId = PeerId(5);
    const E2: PeerId = PeerId(6);

    fn role(p: PeerId) -> Role {
        match p.0 {
            0 => Role::Local,
            1 | 2 => Role::Client,
            3 | 4 => Role::NonClient,
            _ => Role::Ebgp,
        }
    }

    fn ok(from: PeerId, to: PeerId) -> bool {
        may_advertise(from, role(from), to, role(to), true)
    }

    #[test]
    fn roles_from_peer_info() {
        let mut i = PeerInfo {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            router_id: Ipv4Addr::new(1, 1, 1, 1),
            asn: Asn(100),
            ebgp: false,
            rr_client: true,
            preferred_value: 0,
        };
        assert_eq!(Role::of(PeerId(7), &i), Role::Client);
        i.rr_client = false;
        assert_eq!(Role::of(PeerId(7), &i), Role::NonClient);
        i.ebgp = true;
        assert_eq!(Role::of(PeerId(7), &i), Role::Ebgp);
        assert_eq!(Role::of(PeerId::LOCAL, &i), Role::Local);
    }

    #[test]
    fn from_a_client_to_everyone_but_itself() {
        assert!(ok(C1, C2) && ok(C1, N1) && ok(C1, E1));
        assert!(!ok(C1, C1));
        assert!(!may_advertise(C1, Role::Client, C2, Role::Client, false));
        assert!(may_advertise(C1, Role::Client, N1, Role::NonClient, false));
    }

    #[test]
    fn from_a_non_client_to_clients_and_ebgp_only() {
        assert!(ok(N1, C1) && ok(N1, C2) && ok(N1, E1));
        assert!(!ok(N1, N2) && !ok(N1, N1));
    }

    #[test]
    fn from_ebgp_and_local_to_everyone_but_the_sender() {
        for to in [C1, N1, E2] {
            assert!(ok(E1, to) && ok(PeerId::LOCAL, to));
        }
        assert!(!ok(E1, E1));
        assert!(!ok(C1, PeerId::LOCAL));
    }

    #[test]
    fn reflection_attributes_and_ebgp_strip() {
        assert!(is_reflection(Role::Client, Role::NonClient));
        assert!(!is_reflection(Role::Ebgp, Role::Client));
        assert!(!is_reflection(Role::Client, Role::Ebgp));
        let mut a = PathAttrs::new(
            Origin::Igp,
            AsPath::empty(true),
            NextHop::Ipv4(Ipv4Addr::new(1, 1, 1, 1)),
        );
        let rr = Ipv4Addr::new(3, 3, 3, 9);
        let pe1 = Ipv4Addr::new(1, 1, 1, 9);
        reflect_attrs(&mut a, pe1, rr);
        assert_eq!(a.originator_id, Some(pe1));
        assert_eq!(a.cluster_list, vec![rr]);
        // A second reflector keeps the originator and prepends its cluster.
        let rr2 = Ipv4Addr::new(4, 4, 4, 9);
        reflect_attrs(&mut a, rr, rr2);
        assert_eq!(a.originator_id, Some(pe1));
        assert_eq!(a.cluster_list, vec![rr2, rr]);
        strip_for_ebgp(&mut a);
        assert_eq!((a.originator_id, a.cluster_list.len()), (None, 0));
    }

    #[test]
    fn loops_and_cluster_id() {
        let me = Ipv4Addr::new(3, 3, 3, 9);
        let other = Ipv4Addr::new(1, 1, 1, 9);
        assert_eq!(cluster_id(me, None), me);
        let cid = Ipv4Addr::new(10, 10, 10, 10);
        assert_eq!(cluster_id(me, Some(cid)), cid);
        assert_eq!(
            reflection_loop(Some(me), &[], me, cid),
            Some(ReflectionLoop::Originator)
        );
        assert_eq!(
            reflection_loop(Some(other), &[other, cid], me, cid),
            Some(ReflectionLoop::Cluster)
        );
        assert_eq!(reflection_loop(Some(other), &[other], me, cid), None);
        assert_eq!(reflection_loop(None, &[], me, me), None);
    }
}
