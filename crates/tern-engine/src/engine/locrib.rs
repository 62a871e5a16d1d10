//! Loc-RIB monitoring (BMP, RFC 9069 §5): every change of best path of the public tables of
//! some families, as it happens, handed to a [`LocRibSink`]. The sink takes each change at
//! once (it never holds the engine: a monitoring station that does not keep up is the
//! sink's affair); the table as it stands when monitoring starts is read with a dump
//! ([`Input::Dump`]), and a monitor that replays the changes seen during the dump after the
//! dump's steps ends with the table as it is (a change is never older than a step read
//! before it).

use super::*;

/// A change of best path of a monitored family.
#[derive(Clone, Debug)]
pub struct LocRibChange {
    /// The family.
    pub family: Family,
    /// The destination.
    pub key: RouteKey,
    /// The best path now (`None`: the destination is gone).
    pub best: Option<DumpPath>,
}

/// Where Loc-RIB changes go.
pub trait LocRibSink: Send + Sync + std::fmt::Debug {
    /// Takes one change (never refused; a sink with no room drops and recovers on its own).
    fn changed(&self, change: LocRibChange);
}

/// The Loc-RIB monitoring in force.
#[derive(Clone, Debug)]
pub struct LocRib {
    /// The families monitored.
    pub families: Vec<Family>,
    /// Where their changes go.
    pub sink: Arc<dyn LocRibSink>,
}

impl Engine {
    /// Monitors the public tables' best paths of `monitor`'s families from now on (`None`:
    /// no longer).
    pub(super) fn set_loc_rib(&mut self, monitor: Option<LocRib>) {
        self.loc_rib = monitor.filter(|m| !m.families.is_empty());
    }

    /// Hands the public domain's best-path changes of monitored families to the monitor.
    pub(super) fn loc_rib_changes(&self, changes: &[BestChange]) {
        let Some(m) = &self.loc_rib else {
            return;
        };
        let local = PeerInfo::local(self.rib.config().router_id, self.rib.config().local_as);
        for c in changes.iter().filter(|c| m.families.contains(&c.family)) {
            let best = c.new.map(|b| DumpPath {
                peer: if b.peer == PeerId::LOCAL {
                    local
                } else {
                    self.rib.peer(b.peer).copied().unwrap_or(local)
                },
                attrs: self.rib.attrs(b.attrs),
                labels: b.labels,
                best: true,
                path_id: b.path_id,
            });
            if best.is_none() && c.old.is_none() {
                continue;
            }
            m.sink.changed(LocRibChange {
                family: c.family,
                key: c.key,
                best,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests as t0;
    use std::sync::Mutex;
    use tern_wire::Nlri;

    #[derive(Debug, Default)]
    struct Seen(Mutex<Vec<LocRibChange>>);

    impl LocRibSink for Seen {
        fn changed(&self, change: LocRibChange) {
            self.0.lock().unwrap().push(change);
        }
    }

    fn v4(p: &str) -> Nlri {
        Nlri {
            path_id: None,
            rd: None,
            labels: LabelStack::new(),
            prefix: p.parse().unwrap(),
        }
    }

    fn send(t: &mut Engine, body: Vec<u8>) {
        t.handle(Input::Update {
            peer: t0::PEER.parse().unwrap(),
            session: 1,
            body,
        });
    }

    fn withdraw(t: &mut Engine, family: Family, n: Nlri) {
        let mut out = Vec::new();
        tern_wire::UpdateBuilder::new(&Ctx::default())
            .withdraw(family, &[n], &mut out)
            .unwrap();
        send(t, out.remove(0).split_off(19));
    }

    #[test]
    fn best_path_changes_of_monitored_families_reach_the_sink() {
        let mut t = t0::task();
        t0::up(&mut t, 1);
        let seen = Arc::new(Seen::default());
        t.handle(Input::LocRib(Some(LocRib {
            families: vec![Family::IPV4_UNICAST],
            sink: seen.clone(),
        })));
        t0::announce_v4(&mut t, 1);
        let v6 = t0::body(
            Family::IPV6_UNICAST,
            NextHop::Ipv6 {
                global: "2001:db8:ff::2".parse().unwrap(),
                link_local: None,
            },
            v4("2001:db8::/32"),
        );
        send(&mut t, v6);
        {
            let s = seen.0.lock().unwrap();
            assert_eq!(s.len(), 1, "only the monitored family: {s:?}");
            let c = &s[0];
            assert_eq!(c.family, Family::IPV4_UNICAST);
            assert_eq!(c.key.prefix.to_string(), "10.0.1.0/24");
            let best = c.best.as_ref().expect("announced");
            assert_eq!(best.peer.addr.to_string(), t0::PEER);
            assert_eq!(best.attrs.as_path.to_string(), "200");
        }
        withdraw(&mut t, Family::IPV4_UNICAST, v4("10.0.1.0/24"));
        {
            let s = seen.0.lock().unwrap();
            assert_eq!(s.len(), 2, "{s:?}");
            assert!(s[1].best.is_none(), "withdrawn: {s:?}");
        }
        // A withdrawal of what was never there is no change.
        withdraw(&mut t, Family::IPV4_UNICAST, v4("10.9.9.0/24"));
        assert_eq!(seen.0.lock().unwrap().len(), 2);
        // Monitoring off: nothing more.
        t.handle(Input::LocRib(None));
        t0::announce_v4(&mut t, 2);
        assert_eq!(seen.0.lock().unwrap().len(), 2);
    }
}
