//! What a peer looks like from outside: the snapshot the displays and the control API read.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;

/// A peer's status, shared by its tasks (connections, the RIB task) and read by the displays.
pub type SharedStatus = Arc<Mutex<PeerStatus>>;

/// Locks a status (a panic elsewhere never hides it).
pub fn lock(s: &Mutex<PeerStatus>) -> MutexGuard<'_, PeerStatus> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Message counters per type, as `display bgp peer verbose` lists them.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct MsgCounts {
    /// All messages.
    pub total: u64,
    /// UPDATE.
    pub update: u64,
    /// OPEN.
    pub open: u64,
    /// KEEPALIVE.
    pub keepalive: u64,
    /// NOTIFICATION.
    pub notification: u64,
    /// ROUTE-REFRESH.
    pub refresh: u64,
}

impl MsgCounts {
    /// Counts one message of type `kind`.
    pub fn count(&mut self, kind: u8) {
        self.total += 1;
        match kind {
            1 => self.open += 1,
            2 => self.update += 1,
            3 => self.notification += 1,
            4 => self.keepalive += 1,
            5 => self.refresh += 1,
            _ => {}
        }
    }
}

/// What was negotiated, for display.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct NegotiatedView {
    /// The peer's router ID.
    pub peer_id: Option<Ipv4Addr>,
    /// Negotiated hold time.
    pub hold_time: u16,
    /// Keepalive in use.
    pub keepalive: u16,
    /// Hold time the peer offered.
    pub peer_hold_time: u16,
    /// Families negotiated (VRP names).
    pub families: Vec<String>,
    /// Families configured but not negotiated ("No neg").
    pub not_negotiated: Vec<String>,
    /// Peer capabilities.
    pub four_octet_as: bool,
    /// Route refresh.
    pub route_refresh: bool,
    /// Enhanced route refresh.
    pub enhanced_route_refresh: bool,
    /// Extended message.
    pub extended_message: bool,
    /// Graceful restart, both sides offering it (RFC 4724): the peer's side.
    pub graceful_restart: Option<GrView>,
    /// Families in which this router sends ADD-PATH path IDs (RFC 7911).
    #[serde(default)]
    pub add_path_send: Vec<String>,
    /// Families in which the peer sends ADD-PATH path IDs.
    #[serde(default)]
    pub add_path_receive: Vec<String>,
}

/// A peer's graceful restart capability as the displays show it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GrView {
    /// Restart time the peer advertised, seconds.
    pub restart_time: u16,
    /// The peer said it restarted (R bit).
    pub restarted: bool,
    /// Families it listed, with whether it kept their forwarding state (F bit).
    pub families: Vec<(String, bool)>,
}

/// One log-info entry.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LogLine {
    /// When.
    #[serde(with = "unix_secs")]
    pub at: SystemTime,
    /// "Up" or "Down".
    pub state: String,
    /// NOTIFICATION code/subcode and direction for downs.
    pub error: Option<(u8, u8, String, String, bool)>,
}

/// A peer's state.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PeerStatus {
    /// Peer address.
    pub addr: IpAddr,
    /// Peer AS.
    pub remote_as: u32,
    /// IBGP or EBGP.
    pub ebgp: bool,
    /// FSM state name.
    pub state: String,
    /// Since when the peer is in or out of Established.
    #[serde(with = "unix_secs_opt")]
    pub since: Option<SystemTime>,
    /// Why the peer cannot come up, if something configured prevents it.
    pub reason: Option<String>,
    /// The last error seen (connect failure, NOTIFICATION).
    pub last_error: Option<String>,
    /// Negotiated parameters while Established.
    pub negotiated: Option<NegotiatedView>,
    /// Families configured.
    pub configured_families: Vec<String>,
    /// The VPN instance of a PE–CE session (`None`: public).
    pub vrf: Option<String>,
    /// Messages received.
    pub received: MsgCounts,
    /// Messages sent.
    pub sent: MsgCounts,
    /// Prefixes received per family (the peer's Adj-RIB-In, counted by the RIB task).
    pub prefixes: BTreeMap<String, u64>,
    /// Up count.
    pub up_count: u64,
    /// Log, oldest first.
    pub log: Vec<LogLine>,
    /// Local and remote socket addresses of the current connection.
    pub local: Option<SocketAddr>,
    /// Remote.
    pub remote: Option<SocketAddr>,
    /// MD5 configured.
    pub md5: bool,
    /// Configured timers.
    pub configured_hold: u16,
    /// Configured keepalive.
    pub configured_keepalive: u16,
    /// ConnectRetry interval in use (seconds).
    pub configured_connect_retry: u16,
    /// `peer X route-limit`, per family.
    pub route_limits: Vec<LimitView>,
    /// When the last UPDATE of the session was received.
    #[serde(with = "unix_secs_opt")]
    pub last_update: Option<SystemTime>,
}

/// A `peer X route-limit` as the displays show it, and what the connection checks.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LimitView {
    /// The family (tern's name).
    pub family: String,
    /// The limit.
    pub limit: u32,
    /// The warning threshold, percent of the limit.
    pub percent: u8,
    /// `alert-only`, `idle-forever`, `idle-timeout M` or `restart` (none given).
    pub action: String,
}

impl LimitView {
    /// The view of a configured limit.
    pub fn of(family: tern_types::Family, l: &tern_config::model::RouteLimit) -> LimitView {
        use tern_config::model::RouteLimitAction as A;
        LimitView {
            family: family.to_string(),
            limit: l.limit,
            percent: l.percent.unwrap_or(tern_config::model::ROUTE_LIMIT_PERCENT),
            action: match l.action {
                A::Restart => "restart".into(),
                A::AlertOnly => "alert-only".into(),
                A::IdleForever => "idle-forever".into(),
                A::IdleTimeout(m) => format!("idle-timeout {m}"),
            },
        }
    }
}

impl PeerStatus {
    /// Total prefixes received.
    pub fn prefixes_total(&self) -> u64 {
        self.prefixes.values().sum()
    }
}

mod unix_secs {
    use serde::Serializer;
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
    }
}

mod unix_secs_opt {
    use serde::Serializer;
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::unix_secs::serialize(t, s),
            None => s.serialize_none(),
        }
    }
}
