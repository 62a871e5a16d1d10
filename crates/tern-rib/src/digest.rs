//! An UPDATE taken apart for the RIB ([`Digest`]): what [`crate::Rib::apply`] needs of a
//! [`ParsedUpdate`] (RFC 4271 §4.3 fields, RFC 4760 MP_REACH/MP_UNREACH, the RFC 7606 §2
//! outcome), owned, so that the decoding runs where the message is read and the RIB's owner
//! only applies it.

use smallvec::SmallVec;
use tern_types::Family;
use tern_wire::attr::Action;
use tern_wire::rtc::{self, RtMembership};
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
    /// Route target membership (RFC 4684) announced and withdrawn: not routes of the tables,
    /// concerning the peer as a whole (every shard gets them).
    pub rtc: Option<RtcPart>,
}

/// The route target membership NLRI of an UPDATE (RFC 4684 §4).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RtcPart {
    /// Withdrawn memberships.
    pub withdrawn: Vec<RtMembership>,
    /// Announced memberships.
    pub reach: Vec<RtMembership>,
    /// The attributes they were announced with (`None`: mandatory ones missing, or none
    /// announced).
    pub attrs: Option<PathAttrs>,
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
        d.rtc_of(update);
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
        if let Some(m) = update.mp_reach()
            && m.family != Family::RTC
        {
            d.reach.push(Reach {
                attrs: attrs(Some(m.next_hop.clone())),
                routes: m.routes().map(|n| (m.family, n)).collect(),
            });
        }
        d
    }

    /// The route target membership NLRI, decoded here since tern-wire leaves the family's
    /// fields opaque. A field that does not decode disables the family for the UPDATE (RFC
    /// 7606 §5.3, §7.x: AFI/SAFI disable): the peer's memberships are withdrawn.
    fn rtc_of(&mut self, update: &ParsedUpdate<'_>) {
        let mut part = RtcPart::default();
        let mut bad = false;
        if let Some(u) = update.mp_unreach()
            && u.family == Family::RTC
        {
            match rtc::decode_all(&u.withdrawn) {
                Ok(v) => part.withdrawn = v,
                Err(_) => bad = true,
            }
        }
        if let Some(m) = update.mp_reach()
            && m.family == Family::RTC
        {
            match rtc::decode_all(&m.nlri) {
                Ok(v) if self.treat_as_withdraw => part.withdrawn.extend(v),
                Ok(v) => {
                    part.attrs = PathAttrs::from_update(update, m.next_hop.clone());
                    if part.attrs.is_some() {
                        part.reach = v;
                    } else {
                        // Mandatory attributes missing: treat-as-withdraw (RFC 7606 §3.d).
                        part.withdrawn.extend(v);
                    }
                }
                Err(_) => bad = true,
            }
        }
        if bad {
            if !self.disabled.contains(&Family::RTC) {
                self.disabled.push(Family::RTC);
            }
            return;
        }
        if !part.withdrawn.is_empty() || !part.reach.is_empty() {
            self.rtc = Some(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
    use tern_wire::{Ctx, Update};

    fn digest(msg: &[u8]) -> Digest {
        let u = Update::decode(&msg[19..]).unwrap();
        Digest::of(&u.parse(&Ctx::default()))
    }

    fn m(n: u8) -> RtMembership {
        RtMembership::new(65000, [0, 2, 0, 100, 0, 0, 0, n])
    }

    #[test]
    fn route_target_membership_is_taken_apart() {
        let attrs = [
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::empty(true))),
        ];
        let msg =
            &rtc::reach_updates("10.0.0.2".parse().unwrap(), &attrs, &[m(1), m(2)]).unwrap()[0];
        let d = digest(msg);
        let p = d.rtc.unwrap();
        assert_eq!(p.reach, vec![m(1), m(2)]);
        assert!(p.withdrawn.is_empty() && p.attrs.is_some());
        assert!(d.reach.is_empty(), "not routes of the tables");

        let d = digest(&rtc::withdraw_updates(&[m(3)]).unwrap()[0]);
        assert_eq!(d.rtc.unwrap().withdrawn, vec![m(3)]);
        assert!(d.withdrawn.is_empty());

        // Without AS_PATH: withdrawn (RFC 7606 treat-as-withdraw).
        let bare = [PathAttribute::new(AttrValue::Origin(Origin::Igp))];
        let msg = &rtc::reach_updates("10.0.0.2".parse().unwrap(), &bare, &[m(4)]).unwrap()[0];
        let p = digest(msg).rtc.unwrap();
        assert!(p.reach.is_empty());
        assert_eq!(p.withdrawn, vec![m(4)]);

        // A malformed field disables the family (its memberships are withdrawn).
        let mut bad = rtc::withdraw_updates(&[m(5)]).unwrap().remove(0);
        let at = bad.len() - 13;
        bad[at] = 20; // length 20: not 0 nor 32..96
        let d = digest(&bad);
        assert!(d.rtc.is_none());
        assert!(d.disabled.contains(&Family::RTC));

        // End-of-RIB of the family.
        let d = digest(&tern_wire::UpdateBuilder::end_of_rib(Family::RTC));
        assert_eq!(d.end_of_rib, Some(Family::RTC));
    }
}
