//! `peer X route-limit` on a session (RFC 4486 §4): the routes held from the peer (the
//! engine shards' counts, summed into its status) checked against the limits of its
//! families; a warning at the threshold, then Cease / Maximum Number of Prefixes Reached and
//! a hold, or, with `alert-only`, no new destinations taken by the RIB.

use std::sync::Mutex;
use std::time::Duration;

use tern_types::Family;
use tern_wire::Notification;
use tracing::warn;

use crate::rib_task::{RibHandle, RibMsg};
use crate::spec::PeerSpec;
use crate::status::{PeerStatus, lock};

pub(crate) fn limit_views(spec: &PeerSpec) -> Vec<crate::status::LimitView> {
    spec.route_limits
        .iter()
        .map(|(f, l)| crate::status::LimitView::of(*f, l))
        .collect()
}

/// What `peer X route-limit` asks of a session, checked against the routes held from the peer
/// (the engine shards' counts, summed into the status).
#[derive(Debug, Default)]
pub(crate) struct Limits {
    /// Families whose warning threshold was logged.
    warned: Vec<String>,
    /// Families past an `alert-only` limit (the RIB refuses new routes).
    full: Vec<String>,
}

/// What a session closed by a route limit asks of its peer task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Connect again after this long.
    For(Duration),
    /// Stay down until `reset bgp`.
    Forever,
}

/// What the route limits call for now.
pub(crate) enum LimitCheck {
    /// Nothing.
    Fine,
    /// Close with Cease / Maximum Number of Prefixes Reached, then hold.
    Close(Notification, Hold),
}

impl Limits {
    /// Checks the counts in `status` against its limits; logs thresholds, tells the RIB when
    /// an `alert-only` family fills or has room again.
    pub(crate) async fn check(
        &mut self,
        status: &Mutex<PeerStatus>,
        rib: &RibHandle,
        peer: std::net::IpAddr,
    ) -> LimitCheck {
        let (limits, counts) = {
            let st = lock(status);
            if st.route_limits.is_empty() {
                return LimitCheck::Fine;
            }
            (st.route_limits.clone(), st.prefixes.clone())
        };
        for l in limits {
            let n = counts.get(&l.family).copied().unwrap_or(0);
            let threshold = u64::from(l.limit) * u64::from(l.percent) / 100;
            if n >= threshold && !self.warned.contains(&l.family) {
                warn!(peer = %peer, family = %l.family, routes = n, limit = l.limit, percent = l.percent, "route limit threshold reached");
                self.warned.push(l.family.clone());
            } else if n < threshold {
                self.warned.retain(|f| *f != l.family);
            }
            let Some(family) = Family::KNOWN
                .iter()
                .copied()
                .find(|f| f.to_string() == l.family)
            else {
                continue;
            };
            let full = self.full.contains(&l.family);
            if l.action == "alert-only" {
                // Past the limit no new route is taken; below it again, they are.
                let now_full = n >= u64::from(l.limit);
                if now_full != full {
                    if now_full {
                        warn!(peer = %peer, family = %l.family, limit = l.limit, "route limit reached: further routes are refused (alert-only)");
                        self.full.push(l.family.clone());
                    } else {
                        self.full.retain(|f| *f != l.family);
                    }
                    rib.send(RibMsg::RouteLimit {
                        peer,
                        family,
                        full: now_full,
                    })
                    .await;
                }
                continue;
            }
            if n > u64::from(l.limit) {
                // RFC 4486 §4: AFI, SAFI and the upper bound.
                let mut data = Vec::with_capacity(7);
                data.extend_from_slice(&family.afi.0.to_be_bytes());
                data.push(family.safi.0);
                data.extend_from_slice(&l.limit.to_be_bytes());
                let note = Notification::with_data(
                    tern_wire::notification::code::CEASE,
                    tern_wire::notification::cease_sub::MAX_PREFIXES,
                    data,
                );
                let hold = match l.action.as_str() {
                    "idle-forever" => Hold::Forever,
                    a => match a
                        .strip_prefix("idle-timeout ")
                        .and_then(|m| m.parse::<u64>().ok())
                    {
                        Some(m) => Hold::For(Duration::from_secs(m * 60)),
                        None => Hold::For(Duration::from_secs(30)),
                    },
                };
                warn!(peer = %peer, family = %l.family, routes = n, limit = l.limit, ?hold, "route limit exceeded: session closed");
                return LimitCheck::Close(note, hold);
            }
        }
        LimitCheck::Fine
    }
}
