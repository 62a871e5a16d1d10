//! An UPDATE taken apart for the RIB ([`Digest`]): what [`crate::Rib::apply`] needs of a
//! [`ParsedUpdate`] (RFC 4271 §4.3 fields, RFC 4760 MP_REACH/MP_UNREACH, the RFC 7606 §2
//! outcome), owned, so that the decoding runs where the message is read and the RIB's owner
//! only applies it.

use smallvec::SmallVec;
use tern_types::Family;
use tern_wire::attr::Action;
use tern_wire::{NextHop, Nlri, ParsedUpdate};

use crate::attrs::PathAttrs;

/// Routes announced with one next hop (the IPv4 NLRI field, or MP_REACH_NLRI).
#[derive(Clone, Debug, PartialEq)]
pub struct Reach {
    /// The received attributes with this next hop; `None` when mandatory ones are missing
    /// (the routes are then ignored). Not built for a treat-as-withdraw UPDATE.
    pub attrs: Option<PathAttrs>,
    /// The routes.
    pub routes: Vec<(Family, Nlri)>,
}

/// One UPDATE as the RIB applies it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Digest {
    /// End-of-RIB marker (RFC 4724 §2) of this family: nothing else to apply.
    pub end_of_rib: Option<Family>,
    /// RFC 7606 session reset: the RIB applies nothing.
    pub session_reset: bool,
    /// RFC 7606 treat-as-withdraw: every route carried is withdrawn.
    pub treat_as_withdraw: bool,
    /// RFC 7606 AFI/SAFI disable: the peer's routes of these families are withdrawn.
    pub disabled: SmallVec<[Family; 2]>,
    /// Withdrawn routes (Withdrawn Routes field, MP_UNREACH_NLRI).
    pub withdrawn: Vec<(Family, Nlri)>,
    /// Announced routes, per next hop.
    pub reach: SmallVec<[Reach; 2]>,
}

impl Digest {
    /// Takes a parsed UPDATE apart.
    pub fn of(update: &ParsedUpdate<'_>) -> Digest {
        let mut d = Digest {
            end_of_rib: update.end_of_rib(),
            ..Digest::default()
        };
        if d.end_of_rib.is_some() {
            return d;
        }
        if update.action() == Some(Action::SessionReset) {
            d.session_reset = true;
            return d;
        }
        for p in &update.problems {
            match p.action {
                Action::AfiSafiDisable(f) if !d.disabled.contains(&f) => d.disabled.push(f),
                Action::TreatAsWithdraw => d.treat_as_withdraw = true,
                _ => {}
            }
        }
        d.withdrawn = update.withdrawn_routes().collect();
        let attrs = |nh: Option<NextHop>| {
            if d.treat_as_withdraw {
                None
            } else {
                nh.and_then(|nh| PathAttrs::from_update(update, nh))
            }
        };
        if !update.nlri.is_empty() {
            d.reach.push(Reach {
                attrs: attrs(update.next_hop().map(NextHop::Ipv4)),
                routes: update
                    .ipv4_routes()
                    .map(|n| (Family::IPV4_UNICAST, n))
                    .collect(),
            });
        }
        if let Some(m) = update.mp_reach() {
            d.reach.push(Reach {
                attrs: attrs(Some(m.next_hop.clone())),
                routes: m.routes().map(|n| (m.family, n)).collect(),
            });
        }
        d
    }
}
