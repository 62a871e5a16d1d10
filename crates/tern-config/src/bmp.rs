//! BMP (RFC 7854) in the configuration: the `bmp` view, its `bmp-session` views and their
//! `monitor public` views, as VRP has them; the model and the one [`BmpChange`] per line.
//!
//! ```text
//! bmp
//!  statistics-timer 60
//!  bmp-session 10.1.1.1 alias a
//!   tcp connect port 5000
//!   monitor public
//!    route-mode ipv4-family unicast adj-rib-in pre-policy
//!    route-mode ipv4-family unicast adj-rib-out post-policy
//!    route-mode ipv4-family unicast local-rib
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use tern_types::Family;

use crate::error::Reject;

/// VRP's default statistics interval (seconds).
pub const STATISTICS_TIMER: u16 = 3600;

/// The `bmp` view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bmp {
    /// `statistics-timer` (seconds; None: [`STATISTICS_TIMER`]).
    pub statistics_timer: Option<u16>,
    /// `bmp-session ADDRESS [alias NAME]` views.
    pub sessions: BTreeMap<BmpKey, BmpSession>,
}

impl Bmp {
    /// The statistics interval in force.
    pub fn statistics_secs(&self) -> u16 {
        self.statistics_timer.unwrap_or(STATISTICS_TIMER)
    }
}

/// A collector session's name: its address and alias.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BmpKey {
    /// The collector's address.
    pub addr: Ipv4Addr,
    /// `alias NAME` (several sessions to one collector on different ports).
    pub alias: Option<String>,
}

impl BmpKey {
    /// `10.1.1.1` or `10.1.1.1 alias a`, as the command writes it.
    pub fn text(&self) -> String {
        match &self.alias {
            Some(a) => format!("{} alias {a}", self.addr),
            None => self.addr.to_string(),
        }
    }
}

/// A `bmp-session` view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BmpSession {
    /// `tcp connect port P`: the collector's port (None: not configured, no connection).
    pub port: Option<u16>,
    /// `monitor public` (the public network's peers), when configured.
    pub public: Option<BmpMonitor>,
}

/// A `monitor public` view: what is reported of the monitored peers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BmpMonitor {
    /// `route-mode F adj-rib-in pre-policy`: families whose received UPDATEs are reported.
    pub adj_rib_in_pre: Vec<Family>,
    /// `route-mode F local-rib`: families whose best paths are reported (RFC 9069).
    pub local_rib: Vec<Family>,
    /// `route-mode F adj-rib-out post-policy`: families whose sent UPDATEs are reported
    /// (RFC 8671).
    pub adj_rib_out_post: Vec<Family>,
}

/// One BMP command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BmpChange {
    /// `bmp` (enter, creating) / `undo bmp` (every BMP setting removed).
    Enter {
        /// Remove.
        undo: bool,
    },
    /// `statistics-timer T` / `undo statistics-timer [T]`.
    StatisticsTimer(Option<u16>),
    /// `bmp-session A [alias N]` / undo.
    Session {
        /// Which session.
        key: BmpKey,
        /// Remove.
        undo: bool,
    },
    /// `tcp connect port P` / `undo tcp connect port [P]`.
    Port {
        /// Which session.
        key: BmpKey,
        /// The port (None: undo).
        port: Option<u16>,
        /// With undo, the port given (must match).
        undo_port: Option<u16>,
    },
    /// `monitor public` / undo.
    Public {
        /// Which session.
        key: BmpKey,
        /// Remove.
        undo: bool,
    },
    /// `route-mode F adj-rib-in pre-policy` / undo.
    AdjRibInPre {
        /// Which session.
        key: BmpKey,
        /// The family.
        family: Family,
        /// Remove.
        undo: bool,
    },
    /// `route-mode F adj-rib-out post-policy` / undo.
    AdjRibOutPost {
        /// Which session.
        key: BmpKey,
        /// The family.
        family: Family,
        /// Remove.
        undo: bool,
    },
    /// `route-mode F local-rib` / undo.
    LocalRib {
        /// Which session.
        key: BmpKey,
        /// The family.
        family: Family,
        /// Remove.
        undo: bool,
    },
}

fn rej(m: &str) -> Reject {
    Reject::new(m)
}

const NOT_CONFIGURED: &str = "Error: The configuration does not exist.";
const BMP_NOT_CONFIGURED: &str = "Error: BMP is not configured.";
const SESSION_NOT_EXIST: &str = "Error: The BMP session does not exist.";

/// Applies one BMP change to `bmp` (the configuration's `bmp` view, None when absent).
pub fn apply(bmp: &mut Option<Bmp>, c: &BmpChange) -> Result<(), Reject> {
    if let BmpChange::Enter { undo } = c {
        if *undo {
            bmp.take().ok_or_else(|| rej(BMP_NOT_CONFIGURED))?;
        } else if bmp.is_none() {
            *bmp = Some(Bmp::default());
        }
        return Ok(());
    }
    let b = bmp.as_mut().ok_or_else(|| rej(BMP_NOT_CONFIGURED))?;
    match c {
        BmpChange::Enter { .. } => {}
        BmpChange::StatisticsTimer(t) => b.statistics_timer = *t,
        BmpChange::Session { key, undo } => {
            if *undo {
                b.sessions
                    .remove(key)
                    .ok_or_else(|| rej(SESSION_NOT_EXIST))?;
            } else {
                b.sessions.entry(key.clone()).or_default();
            }
        }
        BmpChange::Port {
            key,
            port,
            undo_port,
        } => {
            let s = b
                .sessions
                .get_mut(key)
                .ok_or_else(|| rej(SESSION_NOT_EXIST))?;
            match port {
                Some(p) => s.port = Some(*p),
                None => {
                    if s.port.is_none() || undo_port.is_some_and(|u| Some(u) != s.port) {
                        return Err(rej(NOT_CONFIGURED));
                    }
                    s.port = None;
                }
            }
        }
        BmpChange::Public { key, undo } => {
            let s = b
                .sessions
                .get_mut(key)
                .ok_or_else(|| rej(SESSION_NOT_EXIST))?;
            if *undo {
                s.public.take().ok_or_else(|| rej(NOT_CONFIGURED))?;
            } else if s.public.is_none() {
                s.public = Some(BmpMonitor::default());
            }
        }
        BmpChange::AdjRibInPre { key, family, undo }
        | BmpChange::AdjRibOutPost { key, family, undo }
        | BmpChange::LocalRib { key, family, undo } => {
            let m = b
                .sessions
                .get_mut(key)
                .and_then(|s| s.public.as_mut())
                .ok_or_else(|| rej(NOT_CONFIGURED))?;
            let list = match c {
                BmpChange::LocalRib { .. } => &mut m.local_rib,
                BmpChange::AdjRibOutPost { .. } => &mut m.adj_rib_out_post,
                _ => &mut m.adj_rib_in_pre,
            };
            set_family(list, *family, *undo)?;
        }
    }
    Ok(())
}

/// Adds `family` to `list` (kept sorted), or removes it with `undo`.
fn set_family(list: &mut Vec<Family>, family: Family, undo: bool) -> Result<(), Reject> {
    match (list.iter().position(|f| *f == family), undo) {
        (Some(i), true) => {
            list.remove(i);
        }
        (None, true) => return Err(rej(NOT_CONFIGURED)),
        (None, false) => {
            list.push(family);
            list.sort();
        }
        (Some(_), false) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_modes() {
        let key = BmpKey {
            addr: "10.1.1.1".parse().unwrap(),
            alias: None,
        };
        let mut b = None;
        assert!(apply(&mut b, &BmpChange::StatisticsTimer(Some(60))).is_err());
        apply(&mut b, &BmpChange::Enter { undo: false }).unwrap();
        let mode = BmpChange::AdjRibInPre {
            key: key.clone(),
            family: Family::IPV4_UNICAST,
            undo: false,
        };
        assert!(apply(&mut b, &mode).is_err(), "no session yet");
        apply(
            &mut b,
            &BmpChange::Session {
                key: key.clone(),
                undo: false,
            },
        )
        .unwrap();
        apply(
            &mut b,
            &BmpChange::Public {
                key: key.clone(),
                undo: false,
            },
        )
        .unwrap();
        apply(&mut b, &mode).unwrap();
        apply(
            &mut b,
            &BmpChange::Port {
                key: key.clone(),
                port: Some(5000),
                undo_port: None,
            },
        )
        .unwrap();
        let wrong = BmpChange::Port {
            key: key.clone(),
            port: None,
            undo_port: Some(5001),
        };
        assert!(apply(&mut b, &wrong).is_err());
        let s = &b.as_ref().unwrap().sessions[&key];
        assert_eq!(s.port, Some(5000));
        assert_eq!(
            s.public.as_ref().unwrap().adj_rib_in_pre,
            vec![Family::IPV4_UNICAST]
        );
        apply(&mut b, &BmpChange::Enter { undo: true }).unwrap();
        assert!(b.is_none());
    }
}
