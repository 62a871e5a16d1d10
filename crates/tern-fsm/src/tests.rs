//! Scenario tests: each drives a session through real encoded messages.

use super::*;
use tern_wire::message::MAX_LEN;

const T0: SystemTime = SystemTime::UNIX_EPOCH;

fn id(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn cfg() -> PeerConfig {
    let mut c = PeerConfig::new(100, id("1.1.1.9"), 200);
    c.families = vec![Family::IPV4_UNICAST, Family::VPNV6, Family::IPV4_LABELED];
    c
}

fn feed(s: &mut Session, msg: &Message<'_>) -> Vec<Output> {
    let bytes = msg.to_bytes().unwrap();
    let f = tern_wire::frame(&bytes, MAX_LEN).unwrap().unwrap();
    s.handle(T0, Input::Message(f))
}

fn peer_open(asn: u32, hold: u16, families: &[Family]) -> Message<'static> {
    let mut caps: Vec<Capability> = families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    caps.push(Capability::FourOctetAs(asn));
    caps.push(Capability::RouteRefresh);
    Message::Open(Open::new(asn, hold, id("4.4.4.9"), caps))
}

fn sent_notification(out: &[Output]) -> Option<(u8, u8)> {
    out.iter().find_map(|o| match o {
        Output::Send(b) => match Message::decode(tern_wire::frame(b, MAX_LEN).ok()??).ok()? {
            Message::Notification(n) => Some((n.code, n.subcode)),
            _ => None,
        },
        _ => None,
    })
}

/// Idle → Connect → OpenSent → OpenConfirm → Established.
fn establish(s: &mut Session, peer_hold: u16, families: &[Family]) -> Negotiated {
    let out = s.handle(T0, Input::Start);
    assert!(out.contains(&Output::Connect));
    assert_eq!(s.state(), State::Connect);
    let out = s.handle(T0, Input::Connected);
    assert_eq!(s.state(), State::OpenSent);
    let Some(Output::Send(open)) = out.iter().find(|o| matches!(o, Output::Send(_))) else {
        panic!()
    };
    let Message::Open(o) =
        Message::decode(tern_wire::frame(open, MAX_LEN).unwrap().unwrap()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (o.asn(), o.hold_time, o.bgp_id),
        (100, s.config().hold_time, id("1.1.1.9"))
    );
    assert!(out.contains(&Output::Arm(Timer::Hold, Duration::from_secs(240))));
    feed(s, &peer_open(200, peer_hold, families));
    assert_eq!(s.state(), State::OpenConfirm);
    let out = feed(s, &Message::Keepalive);
    assert_eq!(s.state(), State::Established);
    let Some(Output::Up(n)) = out.into_iter().find(|o| matches!(o, Output::Up(_))) else {
        panic!()
    };
    *n
}

#[test]
fn establishes_and_negotiates_families_and_timers() {
    let mut s = Session::new(cfg());
    let n = establish(
        &mut s,
        90,
        &[Family::IPV4_UNICAST, Family::VPNV6, Family::VPNV4],
    );
    assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::VPNV6]);
    assert_eq!(n.not_negotiated, vec![Family::IPV4_LABELED], "No neg");
    assert_eq!((n.hold_time, n.keepalive), (90, 30));
    assert!(n.four_octet_as && n.route_refresh && n.ebgp);
    assert_eq!(s.log().back().map(|e| &e.event), Some(&LogEvent::Up));
    // KEEPALIVE and UPDATE restart the hold timer; the keepalive timer sends one.
    let out = feed(&mut s, &Message::Keepalive);
    assert_eq!(out, vec![Output::Arm(Timer::Hold, Duration::from_secs(90))]);
    let out = s.handle(T0, Input::Timer(Timer::Keepalive));
    assert!(matches!(&out[0], Output::Send(b) if b.len() == 19));
    assert!(out.contains(&Output::Arm(Timer::Keepalive, Duration::from_secs(30))));
}

#[test]
fn vrp_default_timers_and_configured_ones() {
    let mut s = Session::new(cfg());
    let n = establish(&mut s, 180, &[Family::IPV4_UNICAST]);
    assert_eq!((n.hold_time, n.keepalive), (180, 60));
    let mut c = cfg();
    c.keepalive = 10;
    c.hold_time = 30;
    let mut s = Session::new(c);
    let n = establish(&mut s, 180, &[Family::IPV4_UNICAST]);
    assert_eq!((n.hold_time, n.keepalive), (30, 10));
}

#[test]
fn open_errors() {
    let cases: [(Message<'static>, (u8, u8)); 3] = [
        (peer_open(300, 180, &[Family::IPV4_UNICAST]), (2, 2)),
        (peer_open(200, 2, &[Family::IPV4_UNICAST]), (2, 6)),
        (peer_open(200, 1, &[Family::IPV4_UNICAST]), (2, 6)),
    ];
    for (open, want) in cases {
        let mut s = Session::new(cfg());
        s.handle(T0, Input::Start);
        s.handle(T0, Input::Connected);
        let out = feed(&mut s, &open);
        assert_eq!(sent_notification(&out), Some(want));
        assert!(out.contains(&Output::Close));
        assert_eq!(s.state(), State::Idle);
        assert!(out.contains(&Output::Arm(Timer::IdleHold, Duration::from_secs(5))));
        assert!(matches!(
            s.log().back().map(|e| &e.event),
            Some(LogEvent::Down(DownReason::Sent(_)))
        ));
    }
}

#[test]
fn two_octet_peer_with_as_trans_needs_the_capability() {
    let mut s = Session::new(PeerConfig::new(100, id("1.1.1.9"), 70000));
    s.handle(T0, Input::Start);
    s.handle(T0, Input::Connected);
    let open = Message::Open(Open::new(70000, 180, id("4.4.4.9"), vec![]));
    assert_eq!(sent_notification(&feed(&mut s, &open)), Some((2, 2)));
}

#[test]
fn same_router_id_is_refused_on_ibgp_only() {
    let mut c = PeerConfig::new(100, id("4.4.4.9"), 100);
    c.families = vec![Family::IPV4_UNICAST];
    let mut s = Session::new(c);
    s.handle(T0, Input::Start);
    s.handle(T0, Input::Connected);
    let open = peer_open(100, 180, &[Family::IPV4_UNICAST]);
    assert_eq!(sent_notification(&feed(&mut s, &open)), Some((2, 3)));
    // EBGP: the same identifier is allowed (RFC 6286 §2.2).
    let mut s = Session::new(PeerConfig::new(100, id("4.4.4.9"), 200));
    s.handle(T0, Input::Start);
    s.handle(T0, Input::Connected);
    feed(&mut s, &peer_open(200, 180, &[Family::IPV4_UNICAST]));
    assert_eq!(s.state(), State::OpenConfirm);
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    let mut s = Session::new(cfg());
    s.handle(T0, Input::Start);
    s.handle(T0, Input::Connected);
    assert_eq!(
        sent_notification(&feed(&mut s, &Message::Keepalive)),
        Some((5, 1))
    );
    let mut s = Session::new(cfg());
    s.handle(T0, Input::Start);
    s.handle(T0, Input::Connected);
    feed(&mut s, &peer_open(200, 180, &[Family::IPV4_UNICAST]));
    let open = peer_open(200, 180, &[Family::IPV4_UNICAST]);
    assert_eq!(sent_notification(&feed(&mut s, &open)), Some((5, 2)));
}

#[test]
fn hold_timer_expiry_and_automatic_restart() {
    let mut s = Session::new(cfg());
    establish(&mut s, 180, &[Family::IPV4_UNICAST]);
    let out = s.handle(T0, Input::Timer(Timer::Hold));
    assert_eq!(sent_notification(&out), Some((4, 0)));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Down(DownReason::Sent(_))))
    );
    assert!(s.negotiated().is_none());
    let out = s.handle(T0, Input::Timer(Timer::IdleHold));
    assert!(out.contains(&Output::Connect));
    assert_eq!(s.state(), State::Connect);
}

#[test]
fn received_notification_and_closed_transport() {
    let mut s = Session::new(cfg());
    establish(&mut s, 180, &[Family::IPV4_UNICAST]);
    let out = feed(&mut s, &Message::Notification(Notification::new(6, 4)));
    assert!(out.contains(&Output::Down(DownReason::Received(Notification::new(6, 4)))));
    assert_eq!(
        sent_notification(&out),
        None,
        "no NOTIFICATION in reply to one"
    );
    let mut s = Session::new(cfg());
    establish(&mut s, 180, &[Family::IPV4_UNICAST]);
    let out = s.handle(T0, Input::Closed);
    assert!(out.contains(&Output::Down(DownReason::TransportClosed)));
}

#[test]
fn update_delivery_and_update_errors() {
    let mut s = Session::new(cfg());
    establish(&mut s, 180, &[Family::IPV4_UNICAST]);
    let eor = tern_wire::UpdateBuilder::end_of_rib(Family::IPV4_UNICAST);
    let out = s.handle(
        T0,
        Input::Message(tern_wire::frame(&eor, MAX_LEN).unwrap().unwrap()),
    );
    assert!(out.contains(&Output::Update));
    assert_eq!(s.counters().updates_received, 1);
    let n = Notification::new(3, 1);
    let out = s.handle(T0, Input::UpdateError(&n));
    assert_eq!(sent_notification(&out), Some((3, 1)));
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn stop_sends_cease_and_does_not_restart() {
    let mut s = Session::new(cfg());
    establish(&mut s, 180, &[Family::IPV4_UNICAST]);
    let out = s.handle(T0, Input::Stop(cease_sub::ADMIN_SHUTDOWN));
    assert_eq!(sent_notification(&out), Some((6, 2)));
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Arm(Timer::IdleHold, _)))
    );
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn passive_waits_and_retries_connect() {
    let mut c = cfg();
    c.passive = true;
    let mut s = Session::new(c);
    let out = s.handle(T0, Input::Start);
    assert!(!out.contains(&Output::Connect));
    assert_eq!(s.state(), State::Active);
    let mut s = Session::new(cfg());
    s.handle(T0, Input::Start);
    s.handle(T0, Input::ConnectFailed);
    assert_eq!(s.state(), State::Active);
    let out = s.handle(T0, Input::Timer(Timer::ConnectRetry));
    assert!(out.contains(&Output::Connect));
    assert!(out.contains(&Output::Arm(Timer::ConnectRetry, Duration::from_secs(32))));
}

#[test]
fn add_path_negotiation() {
    let mut c = cfg();
    c.add_path = vec![
        (Family::IPV4_UNICAST, AddPathMode::BOTH),
        (Family::VPNV6, AddPathMode::RECEIVE),
        (Family::VPNV4, AddPathMode::BOTH),
    ];
    let mut s = Session::new(c);
    s.handle(T0, Input::Start);
    s.handle(T0, Input::Connected);
    let open = Message::Open(Open::new(
        200,
        180,
        id("4.4.4.9"),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::VPNV6),
            Capability::FourOctetAs(200),
            Capability::AddPath(vec![
                (Family::IPV4_UNICAST, AddPathMode::RECEIVE),
                (Family::VPNV6, AddPathMode::SEND),
                (Family::VPNV4, AddPathMode::BOTH),
            ]),
        ],
    ));
    feed(&mut s, &open);
    feed(&mut s, &Message::Keepalive);
    let n = s.negotiated().unwrap();
    assert!(
        n.add_path_tx.contains(Family::IPV4_UNICAST)
            && !n.add_path_rx.contains(Family::IPV4_UNICAST)
    );
    assert!(n.add_path_rx.contains(Family::VPNV6) && !n.add_path_tx.contains(Family::VPNV6));
    assert!(n.rx_ctx().add_path.contains(Family::VPNV6));
    // Both offer ADD-PATH for VPNv4, but the peer does not announce the family.
    assert!(!n.families.contains(&Family::VPNV4));
    assert!(!n.add_path_rx.contains(Family::VPNV4) && !n.add_path_tx.contains(Family::VPNV4));
}

#[test]
fn collisions_keep_the_higher_identifiers_connection() {
    // Remote has the higher ID: keep the connection it initiated (the incoming one).
    assert!(collision_keeps_new(id("1.1.1.9"), id("4.4.4.9"), true));
    assert!(!collision_keeps_new(id("1.1.1.9"), id("4.4.4.9"), false));
    assert!(collision_keeps_new(id("4.4.4.9"), id("1.1.1.9"), false));
}
