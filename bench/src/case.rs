//! Benchmark cases: which family, how many routes (N), how many receivers (K), and what is
//! timed: the routes reaching the receivers, their withdrawal, or K receivers joining a
//! reflector that already holds them.
//!
//! A case is named `[withdraw-|join-|display-]KIND[pi]-N-kK`, for example `vpnv4-1m-k2`,
//! `withdraw-ipv4-100k-k20`, `vpnv4pi-1m-k2`, `join-vpnv4-1m-k200` or `display-vpnv4-1m-k2`
//! (tern only: the daemon's routing-table display, alone, then while the routes are
//! withdrawn, which is timed). KIND is `ipv4`, `vpnv4`,
//! `vpnv6` or `vpnv4rt` (VPNv4 routes spread over 10,000 route targets); the `pi` suffix (VPN
//! kinds only) gives the routes one label per VPN instance (route target) instead of one per
//! route. N takes a `k` or `m` suffix.

use std::fmt;

use tern_types::Family;

/// The kind of routes a case sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IPv4 unicast.
    Ipv4,
    /// VPNv4, one route target for all routes.
    Vpnv4,
    /// VPNv6, one route target for all routes.
    Vpnv6,
    /// VPNv4 with the attribute sets spread over 10,000 route targets.
    Vpnv4ManyRt,
}

impl Kind {
    /// The address family of the routes.
    pub fn family(self) -> Family {
        match self {
            Kind::Ipv4 => Family::IPV4_UNICAST,
            Kind::Vpnv4 | Kind::Vpnv4ManyRt => Family::VPNV4,
            Kind::Vpnv6 => Family::VPNV6,
        }
    }

    /// Distinct route targets across the attribute sets.
    pub fn route_targets(self) -> u32 {
        match self {
            Kind::Ipv4 => 0,
            Kind::Vpnv4 | Kind::Vpnv6 => 1,
            Kind::Vpnv4ManyRt => 10_000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Vpnv4 => "vpnv4",
            Kind::Vpnv6 => "vpnv6",
            Kind::Vpnv4ManyRt => "vpnv4rt",
        }
    }
}

/// One benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    /// The routes.
    pub kind: Kind,
    /// Routes injected.
    pub n: usize,
    /// Receivers.
    pub k: usize,
    /// After every receiver holds the N routes, withdraw them all and time that instead.
    pub withdraw: bool,
    /// VPN routes carry one label per route target (a PE's `apply-label per-instance`)
    /// instead of one per route (the per-route default).
    pub per_instance: bool,
    /// The reflector first gets the N routes with one receiver up; then the K receivers
    /// connect at once, and the time until each holds the N routes and End-of-RIB is timed.
    pub join: bool,
    /// Once the N routes are in, the daemon's routing-table display is streamed whole (and
    /// checked: every route listed, `| count`, `| include`, the JSON form); then the
    /// withdrawal is timed while the display streams again (tern only).
    pub display: bool,
}

impl Case {
    /// `n` routes of `kind` to `k` receivers, one label per route, timing the announcements.
    pub fn new(kind: Kind, n: usize, k: usize) -> Case {
        Case {
            kind,
            n,
            k,
            withdraw: false,
            per_instance: false,
            join: false,
            display: false,
        }
    }

    /// The same case with one label per VPN instance.
    pub fn per_instance(self) -> Case {
        Case {
            per_instance: true,
            ..self
        }
    }

    /// The same case, withdrawing the routes again.
    pub fn withdrawn(self) -> Case {
        Case {
            withdraw: true,
            ..self
        }
    }

    /// The same case, with the K receivers joining a reflector that holds the routes.
    pub fn joining(self) -> Case {
        Case { join: true, ..self }
    }

    /// The same case, displaying the table, then timing the withdrawal during a display.
    pub fn displayed(self) -> Case {
        Case {
            display: true,
            withdraw: true,
            ..self
        }
    }
}

/// Formats a route count as `10k`, `1m`, or digits when neither fits.
pub fn count_name(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}m", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn parse_count(s: &str) -> Option<usize> {
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1000),
        b'm' | b'M' => (&s[..s.len() - 1], 1_000_000),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(mult)
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}-{}-k{}",
            if self.display {
                "display-"
            } else if self.withdraw {
                "withdraw-"
            } else if self.join {
                "join-"
            } else {
                ""
            },
            self.kind.name(),
            if self.per_instance { "pi" } else { "" },
            count_name(self.n),
            self.k
        )
    }
}

impl std::str::FromStr for Case {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "bad case name {s:?} (expected e.g. vpnv4-1m-k2, withdraw-ipv4-100k-k2, \
                 vpnv4pi-1m-k2, join-vpnv4-1m-k200, display-vpnv4-1m-k2)"
            )
        };
        let (withdraw, join, display, rest) = if let Some(r) = s.strip_prefix("withdraw-") {
            (true, false, false, r)
        } else if let Some(r) = s.strip_prefix("join-") {
            (false, true, false, r)
        } else if let Some(r) = s.strip_prefix("display-") {
            (true, false, true, r)
        } else {
            (false, false, false, s)
        };
        let mut parts = rest.split('-');
        let word = parts.next().ok_or_else(bad)?;
        let (word, per_instance) = match word.strip_suffix("pi") {
            Some(w) => (w, true),
            None => (word, false),
        };
        let kind = match word {
            "ipv4" => Kind::Ipv4,
            "vpnv4" => Kind::Vpnv4,
            "vpnv6" => Kind::Vpnv6,
            "vpnv4rt" => Kind::Vpnv4ManyRt,
            _ => return Err(bad()),
        };
        let n = parts.next().and_then(parse_count).ok_or_else(bad)?;
        let k = parts
            .next()
            .and_then(|p| p.strip_prefix('k'))
            .and_then(|p| p.parse::<usize>().ok())
            .ok_or_else(bad)?;
        if parts.next().is_some()
            || n == 0
            || k == 0
            || n > 10_000_000
            || k > 200
            || (per_instance && kind == Kind::Ipv4)
        {
            return Err(bad());
        }
        Ok(Case {
            kind,
            n,
            k,
            withdraw,
            per_instance,
            join,
            display,
        })
    }
}

/// The cases of a full run: IPv4 unicast, VPNv4 and VPNv6 at 100k and 1M routes with 2 and 20
/// receivers, withdrawing 1M VPNv4 routes, 1M VPNv4 routes over 10k route targets, and VPNv4
/// with one label per VPN instance at 100k and 1M routes with 2 receivers. Join cases are run
/// on request only.
pub fn full_set() -> Vec<Case> {
    let mut v = Vec::new();
    for kind in [Kind::Ipv4, Kind::Vpnv4, Kind::Vpnv6] {
        for n in [100_000, 1_000_000] {
            for k in [2, 20] {
                v.push(Case::new(kind, n, k));
            }
        }
    }
    v.push(Case::new(Kind::Vpnv4, 1_000_000, 2).withdrawn());
    v.push(Case::new(Kind::Vpnv4ManyRt, 1_000_000, 2));
    for n in [100_000, 1_000_000] {
        v.push(Case::new(Kind::Vpnv4, n, 2).per_instance());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in full_set() {
            assert_eq!(c.to_string().parse::<Case>().unwrap(), c);
        }
        let c: Case = "withdraw-vpnv6-12345-k3".parse().unwrap();
        assert_eq!((c.n, c.k, c.withdraw), (12345, 3, true));
        let c: Case = "vpnv4pi-1m-k2".parse().unwrap();
        assert_eq!(c, Case::new(Kind::Vpnv4, 1_000_000, 2).per_instance());
        assert!(full_set().contains(&c));
        let c: Case = "join-vpnv4-1m-k200".parse().unwrap();
        assert_eq!(c, Case::new(Kind::Vpnv4, 1_000_000, 200).joining());
        for name in [
            "vpnv4pi-1m-k2",
            "vpnv4pi-100k-k2",
            "vpnv6pi-10k-k20",
            "vpnv4rtpi-1m-k2",
            "withdraw-vpnv4pi-1m-k2",
            "join-vpnv4-1m-k200",
            "join-vpnv4pi-200k-k5",
            "join-ipv4-1k-k5",
        ] {
            assert_eq!(name.parse::<Case>().unwrap().to_string(), name);
        }
        assert!("vpnv4-1m".parse::<Case>().is_err());
        assert!("vpnv5-1m-k2".parse::<Case>().is_err());
        assert!("ipv4pi-1m-k2".parse::<Case>().is_err());
        assert!("vpnv4pipi-1m-k2".parse::<Case>().is_err());
        assert!("join-withdraw-vpnv4-1m-k2".parse::<Case>().is_err());
        assert!("join-vpnv4-1m-k201".parse::<Case>().is_err());
    }
}
