//! Route changes in batches: many `RTM_NEWROUTE` / `RTM_DELROUTE` requests (rtnetlink(7))
//! written back to back into one `sendmsg(2)` on a netlink socket of the installer's own,
//! without waiting for each answer (RFC 3549 §2.3.2.2: a request's sequence number ties the
//! kernel's `NLMSG_ERROR` answer to it).
//!
//! # Protocol
//!
//! A batch is cut into chunks. Every request of a chunk has its own sequence number; only
//! the last asks for an acknowledgement (`NLM_F_ACK`). The kernel handles the requests of a
//! datagram one after the other, in the sender's `sendmsg` call, and answers a failed one
//! with an `NLMSG_ERROR` carrying its errno whether it asked for an acknowledgement or not.
//! So once the acknowledgement of the last request is read, every request of the chunk is
//! done, and the errors read before it name the ones that failed, by sequence number; the
//! others succeeded. `NETLINK_CAP_ACK` keeps those answers small (the request's header, not
//! its whole body).
//!
//! # Buffers
//!
//! The kernel drops answers that do not fit in the socket's receive buffer (and says so with
//! `ENOBUFS`). The receive buffer is asked for large (`SO_RCVBUFFORCE`, which the installer's
//! `CAP_NET_ADMIN` allows; else `SO_RCVBUF`, capped by `net.core.rmem_max`), and a chunk
//! holds no more requests than failing answers fit in it. Should answers still be lost, the
//! requests of the chunk whose outcome is unknown are sent again one by one, each with an
//! acknowledgement: adding and replacing are idempotent; a delete that had succeeded then
//! answers `ESRCH`. A chunk also fits the send buffer (`SO_SNDBUFFORCE`, else `SO_SNDBUF`):
//! the kernel refuses a datagram larger than it.

use std::io;
use std::time::Duration;

use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;
use rtnetlink::packet_core::{
    Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage,
    NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::route::RouteMessage;
use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};

/// What a request asks of the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL`: fails with `EEXIST` when present.
    Add,
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE`.
    Replace,
    /// `RTM_DELROUTE`.
    Delete,
}

impl Kind {
    fn message_type(self) -> u16 {
        match self {
            Kind::Add | Kind::Replace => RTM_NEWROUTE,
            Kind::Delete => RTM_DELROUTE,
        }
    }

    fn flags(self) -> u16 {
        NLM_F_REQUEST
            | match self {
                Kind::Add => NLM_F_CREATE | NLM_F_EXCL,
                Kind::Replace => NLM_F_CREATE | NLM_F_REPLACE,
                Kind::Delete => 0,
            }
    }
}

/// One request of a batch.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) kind: Kind,
    pub(crate) message: RouteMessage,
}

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The kernel's answer (an `NLMSG_ERROR` with a non-zero errno).
    Kernel(rtnetlink::packet_core::ErrorMessage),
    /// The socket failed (the request may or may not have been handled).
    Socket(io::Error),
}

const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const NLMSG_ERROR: u16 = 2;
const HEADER_LEN: usize = 16;

/// Receive buffer asked for, in octets.
const RECEIVE_BUFFER: usize = 16 << 20;
/// Send buffer asked for, in octets.
const SEND_BUFFER: usize = 4 << 20;
/// Requests in one chunk at most: the kernel holds its routing lock (rtnl) while it handles a
/// datagram, so a chunk is kept to some milliseconds of work.
const MAX_CHUNK: usize = 4096;
/// Receive buffer charged for one failing answer: an `NLMSG_ERROR` with a capped header is
/// 36 octets, but the socket buffer counts the kernel's whole allocation for it (between 800
/// and 900 octets on Linux 6.18, measured by overrunning smaller buffers).
const ANSWER_COST: usize = 1024;
/// How long an answer the kernel owes may take (it answers within the send call; this only
/// bounds a wait that should never happen).
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// A netlink route socket for batches, used from one thread at a time (blocking calls).
pub(crate) struct BatchSocket {
    socket: Socket,
    seq: u32,
    out: Vec<u8>,
    input: Vec<u8>,
    /// Requests per chunk.
    chunk: usize,
    /// Octets per chunk.
    chunk_octets: usize,
}

impl BatchSocket {
    /// Opens and sets up the socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<BatchSocket> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        // Failing answers carry the request's header only.
        socket.set_cap_ack(true)?;
        if setsockopt(&socket, sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
            // Without CAP_NET_ADMIN: as much as net.core.rmem_max allows.
            let _ = socket.set_rx_buf_sz(RECEIVE_BUFFER);
        }
        if setsockopt(&socket, sockopt::SndBufForce, &SEND_BUFFER).is_err() {
            let _ = setsockopt(&socket, sockopt::SndBuf, &SEND_BUFFER);
        }
        let timeout = TimeVal::new(i64::try_from(ANSWER_WAIT.as_secs()).unwrap_or(5), 0);
        setsockopt(&socket, sockopt::ReceiveTimeout, &timeout)?;
        let rcvbuf = socket.get_rx_buf_sz()?;
        let sndbuf = nix::sys::socket::getsockopt(&socket, sockopt::SndBuf)?;
        Ok(BatchSocket {
            socket,
            seq: 1,
            out: Vec::new(),
            input: Vec::with_capacity(64 << 10),
            chunk: (rcvbuf / ANSWER_COST).clamp(1, MAX_CHUNK),
            // The kernel refuses a datagram above the send buffer less 32 octets.
            chunk_octets: sndbuf.saturating_sub(64).max(4096),
        })
    }

    /// Requests per chunk (set from the receive buffer the kernel granted).
    pub(crate) fn chunk(&self) -> usize {
        self.chunk
    }

    /// Sends `requests` in order and returns each one's outcome, in the same order.
    pub(crate) fn run(&mut self, requests: &[Request]) -> Vec<Result<(), Failure>> {
        let mut results: Vec<Option<Result<(), Failure>>> = std::iter::repeat_with(|| None)
            .take(requests.len())
            .collect();
        let mut start = 0;
        while start < requests.len() {
            let end = self.chunk_run(requests, start, self.chunk, &mut results);
            start = end;
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }

    /// Sends one chunk from `start` (at most `limit` requests) and reads its answers into
    /// `results`; returns where the chunk ended.
    fn chunk_run(
        &mut self,
        requests: &[Request],
        start: usize,
        limit: usize,
        results: &mut [Option<Result<(), Failure>>],
    ) -> usize {
        self.out.clear();
        let base = self.seq;
        let mut end = start;
        let mut last_at = 0;
        for request in requests.iter().skip(start).take(limit) {
            let len = HEADER_LEN + request.message.buffer_len();
            let aligned = (len + 3) & !3;
            if end > start && self.out.len() + aligned > self.chunk_octets {
                break;
            }
            last_at = self.out.len();
            let seq = base.wrapping_add(u32::try_from(end - start).unwrap_or(u32::MAX));
            self.out
                .extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
            self.out
                .extend_from_slice(&request.kind.message_type().to_ne_bytes());
            self.out
                .extend_from_slice(&request.kind.flags().to_ne_bytes());
            self.out.extend_from_slice(&seq.to_ne_bytes());
            self.out.extend_from_slice(&0u32.to_ne_bytes());
            let at = self.out.len();
            self.out.resize(at + aligned - HEADER_LEN, 0);
            if let Some(body) = self.out.get_mut(at..at + request.message.buffer_len()) {
                request.message.emit(body);
            }
            end += 1;
        }
        let count = end - start;
        self.seq = base.wrapping_add(u32::try_from(count).unwrap_or(u32::MAX));
        // The last request asks for the acknowledgement that closes the chunk.
        if let Some(flags) = self.out.get_mut(last_at + 6..last_at + 8) {
            let f = u16::from_ne_bytes([flags[0], flags[1]]) | NLM_F_ACK;
            flags.copy_from_slice(&f.to_ne_bytes());
        }
        if let Err(e) = self.socket.send(&self.out, 0) {
            for slot in results.iter_mut().take(end).skip(start) {
                *slot = Some(Err(Failure::Socket(copy(&e))));
            }
            return end;
        }
        let last = base.wrapping_add(u32::try_from(count - 1).unwrap_or(0));
        let index = |seq: u32| -> Option<usize> {
            let i = usize::try_from(seq.wrapping_sub(base)).ok()?;
            (i < count).then_some(start + i)
        };
        let mut lost = false;
        let mut done = false;
        while !done {
            self.input.clear();
            let flags = if lost { libc::MSG_DONTWAIT } else { 0 };
            match self.socket.recv(&mut self.input, flags) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    lost = true;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    lost = true;
                    break;
                }
                Err(e) => {
                    for slot in results.iter_mut().take(end).skip(start) {
                        if slot.is_none() {
                            *slot = Some(Err(Failure::Socket(copy(&e))));
                        }
                    }
                    return end;
                }
            }
            let mut at = 0;
            while let Some(head) = self.input.get(at..at + HEADER_LEN) {
                let len = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let kind = u16::from_ne_bytes([head[4], head[5]]);
                let seq = u32::from_ne_bytes([head[8], head[9], head[10], head[11]]);
                if len < HEADER_LEN {
                    break;
                }
                let message = self.input.get(at..at + len).unwrap_or_default();
                at += (len + 3) & !3;
                if kind != NLMSG_ERROR {
                    continue;
                }
                let Some(i) = index(seq) else { continue };
                let code = message
                    .get(HEADER_LEN..HEADER_LEN + 4)
                    .map_or(0, |c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
                let outcome = if code == 0 {
                    Ok(())
                } else {
                    Err(kernel_error(message, code))
                };
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(outcome);
                }
                if seq == last {
                    done = true;
                }
            }
        }
        if lost && !done {
            // Answers were dropped: what was not heard of is sent again, one by one.
            for i in start..end {
                if results.get(i).is_some_and(Option::is_none) {
                    self.chunk_run(requests, i, 1, results);
                }
            }
        }
        end
    }
}

/// The kernel's answer as an [`ErrorMessage`](rtnetlink::packet_core::ErrorMessage).
fn kernel_error(message: &[u8], code: i32) -> Failure {
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(message) {
        Ok(NetlinkMessage {
            payload: NetlinkPayload::Error(e),
            ..
        }) => Failure::Kernel(e),
        _ => Failure::Socket(io::Error::from_raw_os_error(code.abs())),
    }
}

/// An `io::Error` like `e` (they are not `Clone`).
fn copy(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}
