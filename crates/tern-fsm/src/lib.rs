//! tern-fsm: one BGP session's finite state machine (RFC 4271 §8), sans-IO.
//!
//! The driver (ternd's session task) owns the socket and the clock. It feeds [`Input`]s (start
//! and stop, transport up/down, framed messages, timer expiries) to [`Session::handle`] and
//! carries out the [`Output`]s (connect, close, send bytes, arm or cancel a timer, session up
//! or down, an UPDATE to process). Nothing here blocks, sleeps or reads the time.
//!
//! - States and transitions: RFC 4271 §8.2.2 (Idle, Connect, Active, OpenSent, OpenConfirm,
//!   Established), with automatic restart after an error (§8.1.1 option "AutomaticStart").
//! - OPEN checks: RFC 4271 §6.2 (version, peer AS, hold time, BGP identifier; RFC 6286 §2.2
//!   allows an EBGP peer to share the identifier) and 4-octet AS (RFC 6793 §4.1).
//! - Timers: hold time negotiated as the smaller of both (§4.2), keepalive a third of it or
//!   the configured value if smaller; VRP's defaults keepalive 60 s, hold 180 s,
//!   connect-retry 32 s. OpenSent uses a 240 s hold timer (§8.2.2).
//! - Unexpected messages: FSM Error with the subcodes of RFC 6608 §4.
//! - Capability negotiation per family (RFC 4760 §8, RFC 5492): a family configured but not
//!   offered by the peer is reported as not negotiated ("No neg" in `display bgp peer`).
//! - Connection collisions: [`collision_keeps_new`] (RFC 4271 §6.8).

#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use tern_types::{AS_TRANS, Family};
use tern_wire::capability::{AddPathMode, Capability, GrFamily, cap_code};
use tern_wire::message::msg_type;
use tern_wire::notification::{cease_sub, code, open_sub};
use tern_wire::{AddPathSet, Ctx, Frame, Message, Notification, Open};

/// RFC 4271 §8.2.2 states.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum State {
    /// Idle.
    Idle,
    /// Connect: an outgoing connection is being set up.
    Connect,
    /// Active: waiting for the peer to connect (or for the next retry).
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
}

impl State {
    /// The name VRP shows in `display bgp peer`.
    pub fn vrp_name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

/// The session's timers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Timer {
    /// ConnectRetryTimer.
    ConnectRetry,
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
    /// Delay before an automatic restart after the session went down.
    IdleHold,
}

/// What the session is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// Local AS.
    pub local_as: u32,
    /// Local BGP identifier (router ID).
    pub local_id: Ipv4Addr,
    /// The peer's AS (`peer X as-number`).
    pub peer_as: u32,
    /// Hold time to offer, seconds (0 disables keepalives and the hold timer).
    pub hold_time: u16,
    /// Keepalive interval, seconds.
    pub keepalive: u16,
    /// ConnectRetry time, seconds.
    pub connect_retry: u16,
    /// Delay before restarting after the session went down, seconds.
    pub idle_hold: u16,
    /// Families enabled for the peer.
    pub families: Vec<Family>,
    /// ADD-PATH modes offered, per family.
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Offer the Extended Message capability.
    pub extended_message: bool,
    /// Never connect; only accept.
    pub passive: bool,
    /// Graceful restart (RFC 4724) offered.
    pub graceful_restart: Option<GrOffer>,
}

/// The graceful restart capability this router sends (RFC 4724 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrOffer {
    /// How long the peer keeps our routes while we restart, seconds.
    pub restart_time: u16,
    /// This router is restarting: the Restart State bit, and the Forwarding State bit of
    /// every family (its kernel routes were kept).
    pub restarting: bool,
}

impl PeerConfig {
    /// A configuration with VRP's defaults: keepalive 60 s, hold 180 s, connect-retry 32 s,
    /// IPv4 unicast.
    pub fn new(local_as: u32, local_id: Ipv4Addr, peer_as: u32) -> Self {
        PeerConfig {
            local_as,
            local_id,
            peer_as,
            hold_time: 180,
            keepalive: 60,
            connect_retry: 32,
            idle_hold: 5,
            families: vec![Family::IPV4_UNICAST],
            add_path: Vec::new(),
            extended_message: false,
            passive: false,
            graceful_restart: None,
        }
    }

    /// True for an external peer.
    pub fn is_ebgp(&self) -> bool {
        self.local_as != self.peer_as
    }

    /// The OPEN this configuration sends.
    pub fn open(&self) -> Open {
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::EnhancedRouteRefresh);
        if let Some(g) = self.graceful_restart {
            caps.push(Capability::GracefulRestart {
                flags: if g.restarting { 0x8 } else { 0 },
                time: g.restart_time.min(4095),
                families: self
                    .families
                    .iter()
                    .map(|f| GrFamily {
                        family: *f,
                        flags: if g.restarting { 0x80 } else { 0 },
                    })
                    .collect(),
            });
        }
        caps.push(Capability::FourOctetAs(self.local_as));
        if !self.add_path.is_empty() {
            caps.push(Capability::AddPath(self.add_path.clone()));
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        Open::new(self.local_as, self.hold_time, self.local_id, caps)
    }
}

/// What was agreed with the peer when the session came up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS.
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// Negotiated hold time, seconds.
    pub hold_time: u16,
    /// Keepalive interval in use, seconds.
    pub keepalive: u16,
    /// Families both sides announced.
    pub families: Vec<Family>,
    /// Families configured locally that the peer did not announce ("No neg").
    pub not_negotiated: Vec<Family>,
    /// Both sides support 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families in which the peer sends path identifiers to us.
    pub add_path_rx: AddPathSet,
    /// Families in which we send path identifiers.
    pub add_path_tx: AddPathSet,
    /// The peer supports ROUTE-REFRESH.
    pub route_refresh: bool,
    /// The peer supports Enhanced Route Refresh.
    pub enhanced_route_refresh: bool,
    /// Both sides support Extended Message.
    pub extended_message: bool,
    /// Both sides offered graceful restart (RFC 4724): the peer's side of it.
    pub graceful_restart: Option<PeerGr>,
    /// The peer's OPEN.
    pub peer_open: Open,
    /// Session is external.
    pub ebgp: bool,
}

/// A peer's graceful restart capability (RFC 4724 §3), for the negotiated families.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerGr {
    /// Restart State (R): the peer has restarted.
    pub restarted: bool,
    /// How long to keep its routes while it restarts, seconds.
    pub restart_time: u16,
    /// Families whose routes it can be helped with, and whether it kept their forwarding
    /// state across its restart (F).
    pub families: Vec<(Family, bool)>,
}

impl Negotiated {
    /// The context to decode the peer's UPDATEs with.
    pub fn rx_ctx(&self) -> Ctx {
        Ctx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_rx,
            ebgp: self.ebgp,
            extended_message: self.extended_message,
        }
    }

    /// The context to build UPDATEs for the peer with.
    pub fn tx_ctx(&self) -> Ctx {
        Ctx {
            add_path: self.add_path_tx,
            ..self.rx_ctx()
        }
    }
}

/// Why a session went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// We sent this NOTIFICATION.
    Sent(Notification),
    /// The peer sent this NOTIFICATION.
    Received(Notification),
    /// The transport closed or failed.
    TransportClosed,
    /// Stopped by the operator.
    Stopped,
}

/// One entry of the session's event log (`display bgp peer X log-info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// When.
    pub at: SystemTime,
    /// Up, or the reason for going down.
    pub event: LogEvent,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// The session reached Established.
    Up,
    /// The session left Established or failed to get there.
    Down(DownReason),
}

/// Inputs from the driver.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// ManualStart / AutomaticStart.
    Start,
    /// ManualStop: a Cease with this subcode is sent if a connection is up.
    Stop(u8),
    /// The transport connection is up (outgoing completed or incoming accepted).
    Connected,
    /// The outgoing connection attempt failed.
    ConnectFailed,
    /// The transport closed.
    Closed,
    /// A framed message.
    Message(Frame<'a>),
    /// Bytes that do not frame (header error): the NOTIFICATION to send.
    BadHeader(&'a Notification),
    /// An UPDATE the driver parsed demands a session reset: the NOTIFICATION to send.
    UpdateError(&'a Notification),
    /// The driver closes the session with this NOTIFICATION (a Cease with data, RFC 4486).
    Cease(&'a Notification),
    /// A timer expired.
    Timer(Timer),
}

/// Actions for the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Open an outgoing connection.
    Connect,
    /// Close the connection (after sending what was queued).
    Close,
    /// Send these bytes.
    Send(Vec<u8>),
    /// Arm a timer (replacing a running one).
    Arm(Timer, Duration),
    /// Cancel a timer.
    Cancel(Timer),
    /// The session is Established.
    Up(Box<Negotiated>),
    /// The session left Established.
    Down(DownReason),
    /// An UPDATE arrived in Established: parse it with [`Negotiated::rx_ctx`] and process it.
    Update,
    /// A ROUTE-REFRESH arrived in Established.
    RouteRefresh(tern_wire::RouteRefresh),
}

/// Counters shown by `display bgp peer`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages received.
    pub received: u64,
    /// Messages sent.
    pub sent: u64,
    /// UPDATEs received.
    pub updates_received: u64,
}

/// One session.
#[derive(Debug)]
pub struct Session {
    config: PeerConfig,
    state: State,
    negotiated: Option<Negotiated>,
    peer_open: Option<Open>,
    log: VecDeque<LogEntry>,
    counters: Counters,
    last_change: Option<SystemTime>,
}

/// How many log entries are kept.
pub const LOG_LEN: usize = 32;

impl Session {
    /// A session in Idle.
    pub fn new(config: PeerConfig) -> Self {
        Session {
            config,
            state: State::Idle,
            negotiated: None,
            peer_open: None,
            log: VecDeque::new(),
            counters: Counters::default(),
            last_change: None,
        }
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// What was negotiated, while Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The event log, oldest first.
    pub fn log(&self) -> &VecDeque<LogEntry> {
        &self.log
    }

    /// Message counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// When the state last changed to or from Established.
    pub fn last_change(&self) -> Option<SystemTime> {
        self.last_change
    }

    /// The peer's BGP identifier once its OPEN arrived (for collision resolution).
    pub fn peer_id(&self) -> Option<Ipv4Addr> {
        self.peer_open.as_ref().map(|o| o.bgp_id)
    }

    fn secs(s: u16) -> Duration {
        Duration::from_secs(u64::from(s))
    }

    fn send(&mut self, out: &mut Vec<Output>, msg: &Message<'_>) {
        if let Ok(bytes) = msg.to_bytes() {
            self.counters.sent = self.counters.sent.saturating_add(1);
            out.push(Output::Send(bytes));
        }
    }

    fn record(&mut self, now: SystemTime, event: LogEvent) {
        if self.log.len() >= LOG_LEN {
            self.log.pop_front();
        }
        self.log.push_back(LogEntry { at: now, event });
    }

    /// Leaves for Idle: cancels timers, closes, logs, and arms the automatic restart.
    fn fail(&mut self, now: SystemTime, out: &mut Vec<Output>, reason: DownReason) {
        if let DownReason::Sent(n) = &reason {
            self.send(out, &Message::Notification(n.clone()));
        }
        out.push(Output::Close);
        for t in [Timer::ConnectRetry, Timer::Hold, Timer::Keepalive] {
            out.push(Output::Cancel(t));
        }
        let was_up = self.state == State::Established;
        self.state = State::Idle;
        self.negotiated = None;
        self.peer_open = None;
        if was_up {
            self.last_change = Some(now);
            out.push(Output::Down(reason.clone()));
        }
        if reason != DownReason::Stopped {
            out.push(Output::Arm(
                Timer::IdleHold,
                Self::secs(self.config.idle_hold),
            ));
        }
        if was_up || !matches!(reason, DownReason::TransportClosed) {
            self.record(now, LogEvent::Down(reason));
        }
    }

    fn fsm_error(&self) -> Notification {
        let sub = match self.state {
            State::OpenSent => 1,
            State::OpenConfirm => 2,
            State::Established => 3,
            _ => 0,
        };
        Notification::new(code::FSM, sub)
    }

    /// Feeds one input; returns what to do.
    pub fn handle(&mut self, now: SystemTime, input: Input<'_>) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Start => {
                if self.state == State::Idle {
                    out.push(Output::Cancel(Timer::IdleHold));
                    out.push(Output::Arm(
                        Timer::ConnectRetry,
                        Self::secs(self.config.connect_retry),
                    ));
                    if self.config.passive {
                        self.state = State::Active;
                    } else {
                        self.state = State::Connect;
                        out.push(Output::Connect);
                    }
                }
            }
            Input::Stop(sub) => {
                out.push(Output::Cancel(Timer::IdleHold));
                if matches!(
                    self.state,
                    State::OpenSent | State::OpenConfirm | State::Established
                ) {
                    self.fail(
                        now,
                        &mut out,
                        DownReason::Sent(Notification::new(code::CEASE, sub)),
                    );
                    out.retain(|o| {
                        *o != Output::Arm(Timer::IdleHold, Self::secs(self.config.idle_hold))
                    });
                } else if self.state != State::Idle {
                    self.fail(now, &mut out, DownReason::Stopped);
                }
                self.state = State::Idle;
            }
            Input::Timer(Timer::IdleHold) => return self.handle(now, Input::Start),
            Input::Timer(Timer::ConnectRetry) => match self.state {
                State::Connect | State::Active => {
                    out.push(Output::Arm(
                        Timer::ConnectRetry,
                        Self::secs(self.config.connect_retry),
                    ));
                    if !self.config.passive {
                        out.push(Output::Close);
                        out.push(Output::Connect);
                        self.state = State::Connect;
                    }
                }
                _ => {}
            },
            Input::Connected => match self.state {
                State::Connect | State::Active => {
                    out.push(Output::Cancel(Timer::ConnectRetry));
                    let open = self.config.open();
                    self.send(&mut out, &Message::Open(open));
                    out.push(Output::Arm(Timer::Hold, Duration::from_secs(240)));
                    self.state = State::OpenSent;
                }
                _ => out.push(Output::Close),
            },
            Input::ConnectFailed => {
                if self.state == State::Connect {
                    self.state = State::Active;
                }
            }
            Input::Closed => match self.state {
                State::Idle => {}
                State::Connect | State::Active => self.state = State::Active,
                _ => self.fail(now, &mut out, DownReason::TransportClosed),
            },
            Input::Timer(Timer::Hold) => {
                if matches!(
                    self.state,
                    State::OpenSent | State::OpenConfirm | State::Established
                ) {
                    self.fail(
                        now,
                        &mut out,
                        DownReason::Sent(Notification::new(code::HOLD_TIMER_EXPIRED, 0)),
                    );
                }
            }
            Input::Timer(Timer::Keepalive) => {
                if matches!(self.state, State::OpenConfirm | State::Established) {
                    self.send(&mut out, &Message::Keepalive);
                    if let Some(n) = &self.negotiated {
                        out.push(Output::Arm(Timer::Keepalive, Self::secs(n.keepalive)));
                    } else if let Some(k) = self.keepalive_interval() {
                        out.push(Output::Arm(Timer::Keepalive, Self::secs(k)));
                    }
                }
            }
            Input::BadHeader(n) | Input::UpdateError(n) | Input::Cease(n) => {
                if self.state != State::Idle {
                    self.fail(now, &mut out, DownReason::Sent(n.clone()));
                }
            }
            Input::Message(frame) => self.on_message(now, frame, &mut out),
        }
        out
    }

    fn hold_time(&self) -> u16 {
        let peer = self
            .peer_open
            .as_ref()
            .map_or(self.config.hold_time, |o| o.hold_time);
        peer.min(self.config.hold_time)
    }

    fn keepalive_interval(&self) -> Option<u16> {
        let hold = self.hold_time();
        (hold != 0).then(|| self.config.keepalive.min(hold / 3).max(1))
    }

    fn restart_hold(&self, out: &mut Vec<Output>) {
        let hold = self.hold_time();
        if hold != 0 {
            out.push(Output::Arm(Timer::Hold, Self::secs(hold)));
        }
    }

    fn on_message(&mut self, now: SystemTime, frame: Frame<'_>, out: &mut Vec<Output>) {
        self.counters.received = self.counters.received.saturating_add(1);
        if self.state == State::Idle {
            return;
        }
        let msg = match Message::decode(frame) {
            Ok(m) => m,
            Err(n) => return self.fail(now, out, DownReason::Sent(n)),
        };
        if let Message::Notification(n) = msg {
            return self.fail(now, out, DownReason::Received(n));
        }
        match (self.state, msg) {
            (State::OpenSent, Message::Open(open)) => {
                if let Err(n) = self.check_open(&open) {
                    return self.fail(now, out, DownReason::Sent(n));
                }
                self.peer_open = Some(open);
                self.send(out, &Message::Keepalive);
                if let Some(k) = self.keepalive_interval() {
                    out.push(Output::Arm(Timer::Keepalive, Self::secs(k)));
                } else {
                    out.push(Output::Cancel(Timer::Keepalive));
                    out.push(Output::Cancel(Timer::Hold));
                }
                self.restart_hold(out);
                self.state = State::OpenConfirm;
            }
            (State::OpenConfirm, Message::Keepalive) => {
                let Some(open) = self.peer_open.clone() else {
                    return self.fail(now, out, DownReason::Sent(self.fsm_error()));
                };
                let n = self.negotiate(open);
                self.restart_hold(out);
                self.state = State::Established;
                self.negotiated = Some(n.clone());
                self.last_change = Some(now);
                self.record(now, LogEvent::Up);
                out.push(Output::Up(Box::new(n)));
            }
            (State::Established, Message::Keepalive) => self.restart_hold(out),
            (State::Established, Message::Update(_)) => {
                self.counters.updates_received = self.counters.updates_received.saturating_add(1);
                self.restart_hold(out);
                out.push(Output::Update);
            }
            (State::Established, Message::RouteRefresh(r)) => {
                self.restart_hold(out);
                out.push(Output::RouteRefresh(r));
            }
            _ => {
                let n = self.fsm_error();
                self.fail(now, out, DownReason::Sent(n));
            }
        }
    }

    fn check_open(&self, open: &Open) -> Result<(), Notification> {
        open.validate()?;
        let four = open.capabilities().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        });
        let peer_as = match four {
            Some(a) => a,
            None if open.my_as == AS_TRANS && self.config.peer_as != u32::from(AS_TRANS) => {
                return Err(Notification::new(code::OPEN, open_sub::BAD_PEER_AS));
            }
            None => u32::from(open.my_as),
        };
        if peer_as != self.config.peer_as {
            return Err(Notification::with_data(
                code::OPEN,
                open_sub::BAD_PEER_AS,
                open.my_as.to_be_bytes(),
            ));
        }
        if open.bgp_id == self.config.local_id && !self.config.is_ebgp() {
            return Err(Notification::new(code::OPEN, open_sub::BAD_BGP_ID));
        }
        Ok(())
    }

    fn negotiate(&self, open: Open) -> Negotiated {
        let theirs = open.families();
        let families: Vec<Family> = self
            .config
            .families
            .iter()
            .copied()
            .filter(|f| theirs.contains(f))
            .collect();
        let not_negotiated: Vec<Family> = self
            .config
            .families
            .iter()
            .copied()
            .filter(|f| !theirs.contains(f))
            .collect();
        let mut add_path_rx = AddPathSet::EMPTY;
        let mut add_path_tx = AddPathSet::EMPTY;
        // RFC 7911 §4: per family both sides support; send where we send and the peer
        // receives, receive where we receive and the peer sends.
        for (f, mine) in self
            .config
            .add_path
            .iter()
            .filter(|(f, _)| families.contains(f))
        {
            if let Some(peer) = open.add_path(*f) {
                if mine.receive() && peer.send() {
                    add_path_rx.insert(*f);
                }
                if mine.send() && peer.receive() {
                    add_path_tx.insert(*f);
                }
            }
        }
        let graceful_restart = self.config.graceful_restart.and_then(|_| {
            open.capabilities().find_map(|c| match c {
                Capability::GracefulRestart {
                    flags,
                    time,
                    families: fams,
                } => Some(PeerGr {
                    restarted: flags & 0x8 != 0,
                    restart_time: *time,
                    families: fams
                        .iter()
                        .filter(|g| families.contains(&g.family))
                        .map(|g| (g.family, g.flags & 0x80 != 0))
                        .collect(),
                }),
                _ => None,
            })
        });
        let hold = self.hold_time();
        Negotiated {
            peer_as: self.config.peer_as,
            peer_id: open.bgp_id,
            hold_time: hold,
            keepalive: self.keepalive_interval().unwrap_or(0),
            families,
            not_negotiated,
            four_octet_as: open.has(cap_code::FOUR_OCTET_AS),
            add_path_rx,
            add_path_tx,
            route_refresh: open.has(cap_code::ROUTE_REFRESH),
            enhanced_route_refresh: open.has(cap_code::ENHANCED_ROUTE_REFRESH),
            extended_message: self.config.extended_message && open.has(cap_code::EXTENDED_MESSAGE),
            graceful_restart,
            ebgp: self.config.is_ebgp(),
            peer_open: open,
        }
    }
}

/// Connection collision (RFC 4271 §6.8): with two connections to the same peer, keep the one
/// initiated by the speaker with the higher BGP identifier. Returns true when the newer
/// connection (`new_is_incoming` tells its direction) is the one to keep.
pub fn collision_keeps_new(local_id: Ipv4Addr, remote_id: Ipv4Addr, new_is_incoming: bool) -> bool {
    let remote_wins = u32::from(remote_id) > u32::from(local_id);
    // The remote initiated the incoming connection; we initiated the outgoing one.
    remote_wins == new_is_incoming
}

/// The Cease subcode sent to the loser of a collision.
pub const COLLISION_CEASE: u8 = cease_sub::COLLISION;

/// True for the message types that may legally arrive first on a new connection.
pub fn is_open(frame: &Frame<'_>) -> bool {
    frame.kind == msg_type::OPEN
}

#[cfg(test)]
mod tests;
