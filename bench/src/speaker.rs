//! A minimal BGP speaker over tokio TCP: session set-up (OPEN, KEEPALIVE), then either the
//! injector's role (write pre-encoded UPDATEs as fast as TCP takes them) or a receiver's
//! (count the routes it is sent, see [`crate::count`]). Both send KEEPALIVEs at a third of the
//! negotiated hold time and never time the daemon out themselves.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tern_types::Family;
use tern_wire::message::MAX_LEN;
use tern_wire::{Capability, Message, Open, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::count::Counter;

/// The AS of the route reflector and all its clients (IBGP).
pub const ASN: u32 = 100;
/// The hold time the harness's peers offer.
pub const HOLD_TIME: u16 = 180;

const KEEPALIVE: [u8; 19] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0, 19, 4,
];

/// An Established session.
pub struct Session {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    buf: BytesMut,
    keepalive: Duration,
    /// Octets the receive buffer grows by.
    chunk: usize,
}

/// Receive buffer growth step of a session.
const CHUNK: usize = 1 << 18;
/// The same for a session of many (joining receivers): 200 of them stay within a few tens of MB.
const LEAN_CHUNK: usize = 1 << 16;

impl Session {
    /// The session with a smaller receive buffer, for cases with many receivers.
    pub fn lean(mut self) -> Session {
        let mut buf = BytesMut::with_capacity(LEAN_CHUNK.max(self.buf.len()));
        buf.extend_from_slice(&self.buf);
        self.buf = buf;
        self.chunk = LEAN_CHUNK;
        self
    }
}

/// What the peers tell the coordinator.
#[derive(Debug)]
pub enum Event {
    /// Receiver `id` holds all N routes (and, where asked, has had End-of-RIB).
    Full(usize, Instant),
    /// Receiver `id`'s session is Established.
    Up(usize, Instant),
    /// Receiver `id` held all N routes and now holds none.
    Empty(usize, Instant),
    /// The injector wrote a stream: when its first octet went out and when the last did.
    Sent(Instant, Instant),
    /// A session ended (`id` is `usize::MAX` for the injector).
    Down(usize, String),
}

async fn read_frame(s: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<Vec<u8>, String> {
    loop {
        match frame(buf, MAX_LEN) {
            Ok(Some(f)) => {
                let v = f.bytes.to_vec();
                buf.advance(v.len());
                return Ok(v);
            }
            Ok(None) => {}
            Err(n) => return Err(format!("bad message from the daemon: {n:?}")),
        }
        if s.read_buf(buf).await.map_err(|e| e.to_string())? == 0 {
            return Err("connection closed during set-up".into());
        }
    }
}

/// Connects from `src` to the daemon at `dst` (retrying until `deadline` while it is not yet
/// listening) and brings a session for `family` up.
pub async fn connect(
    src: Ipv4Addr,
    dst: SocketAddr,
    family: Family,
    deadline: Instant,
) -> Result<Session, String> {
    let stream = loop {
        let sock = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        sock.bind(SocketAddr::from((src, 0)))
            .map_err(|e| format!("bind {src}: {e}"))?;
        match sock.connect(dst).await {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("connect {src} -> {dst}: {e}")),
        }
    };
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut rd, mut wr) = stream.into_split();
    let open = Open::new(
        ASN,
        HOLD_TIME,
        src,
        vec![
            Capability::Multiprotocol(family),
            Capability::RouteRefresh,
            Capability::FourOctetAs(ASN),
        ],
    );
    let bytes = Message::Open(open)
        .to_bytes()
        .map_err(|e| format!("encode OPEN: {e}"))?;
    wr.write_all(&bytes).await.map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(CHUNK);
    let theirs = read_frame(&mut rd, &mut buf).await?;
    let hold = match tern_wire::frame(&theirs, MAX_LEN)
        .ok()
        .flatten()
        .map(Message::decode)
    {
        Some(Ok(Message::Open(o))) => {
            if !o.families().contains(&family) {
                return Err(format!(
                    "{src}: the daemon does not offer {family} (offers {:?})",
                    o.families()
                ));
            }
            o.hold_time.min(HOLD_TIME)
        }
        Some(Ok(Message::Notification(n))) => return Err(format!("{src}: NOTIFICATION {n:?}")),
        other => return Err(format!("{src}: expected OPEN, got {other:?}")),
    };
    wr.write_all(&KEEPALIVE).await.map_err(|e| e.to_string())?;
    let m = read_frame(&mut rd, &mut buf).await?;
    match tern_wire::frame(&m, MAX_LEN)
        .ok()
        .flatten()
        .map(Message::decode)
    {
        Some(Ok(Message::Keepalive)) => {}
        Some(Ok(Message::Notification(n))) => {
            return Err(format!("{src}: NOTIFICATION {n:?}"));
        }
        other => return Err(format!("{src}: expected KEEPALIVE, got {other:?}")),
    }
    let keepalive = if hold == 0 {
        Duration::from_secs(3600)
    } else {
        Duration::from_secs(u64::from(hold / 3).max(1))
    };
    Ok(Session {
        rd,
        wr,
        buf,
        keepalive,
        chunk: CHUNK,
    })
}

/// Shared view of a receiver's count, for reports on timeout.
#[derive(Default)]
pub struct Held(pub AtomicUsize);

impl Held {
    /// The last count the receiver published.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs receiver `id`: counts the routes of `family` (indexes below `n`), reports
/// [`Event::Full`] when it holds all of them (and, with `need_eor`, has had the family's
/// End-of-RIB) and [`Event::Empty`] when it holds none again.
pub async fn receive(
    mut s: Session,
    id: usize,
    family: Family,
    n: usize,
    need_eor: bool,
    held: Arc<Held>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut counter = Counter::new(family, n);
    let mut ka = tokio::time::interval(s.keepalive);
    ka.tick().await;
    let mut full = false;
    let mut empty = false;
    let down = |why: String| {
        let _ = events.send(Event::Down(id, why));
    };
    loop {
        // The first pass counts what arrived with the session's first KEEPALIVE.
        match counter.scan(&s.buf) {
            Ok(used) => s.buf.advance(used),
            Err(e) => return down(e.0),
        }
        let h = counter.held();
        held.0.store(h, Ordering::Relaxed);
        if !full && h == n && (!need_eor || counter.end_of_rib()) {
            full = true;
            let _ = events.send(Event::Full(id, Instant::now()));
        } else if full && !empty && h == 0 {
            empty = true;
            let _ = events.send(Event::Empty(id, Instant::now()));
        }
        if s.buf.capacity() - s.buf.len() < s.chunk / 4 {
            s.buf.reserve(s.chunk);
        }
        tokio::select! {
            r = s.rd.read_buf(&mut s.buf) => match r {
                Ok(0) => return down("connection closed".into()),
                Ok(_) => {}
                Err(e) => return down(e.to_string()),
            },
            _ = ka.tick() => {
                if let Err(e) = s.wr.write_all(&KEEPALIVE).await {
                    return down(e.to_string());
                }
            }
        }
    }
}

/// Runs the injector: writes each stream it is handed, whole, and reports when it started
/// and finished. Whatever the daemon sends back is read and dropped.
pub async fn inject(
    s: Session,
    mut streams: mpsc::UnboundedReceiver<Arc<Vec<u8>>>,
    events: mpsc::UnboundedSender<Event>,
) {
    let Session {
        mut rd,
        mut wr,
        keepalive,
        ..
    } = s;
    let ev = events.clone();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) => {
                    let _ = ev.send(Event::Down(usize::MAX, "connection closed".into()));
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = ev.send(Event::Down(usize::MAX, e.to_string()));
                    return;
                }
            }
        }
    });
    let mut ka = tokio::time::interval(keepalive);
    ka.tick().await;
    loop {
        tokio::select! {
            s = streams.recv() => {
                let Some(s) = s else { break };
                let first = Instant::now();
                if let Err(e) = wr.write_all(&s).await {
                    let _ = events.send(Event::Down(usize::MAX, e.to_string()));
                    break;
                }
                let _ = events.send(Event::Sent(first, Instant::now()));
            }
            _ = ka.tick() => {
                if let Err(e) = wr.write_all(&KEEPALIVE).await {
                    let _ = events.send(Event::Down(usize::MAX, e.to_string()));
                    break;
                }
            }
        }
    }
    reader.abort();
}
