//! `--metrics`: ternd serves its Prometheus metrics during a run and the harness scrapes them
//! at a fixed interval (every second unless told otherwise), as a monitoring server would, to
//! measure what metrics cost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the scrapes of one run got.
#[derive(Debug, Default)]
pub struct Scrapes {
    /// Answered with 200 and a body.
    pub ok: AtomicU64,
    /// Refused, failed or answered otherwise.
    pub failed: AtomicU64,
    /// Octets of the last good answer.
    pub last_octets: AtomicU64,
}

impl Scrapes {
    /// Good scrapes so far.
    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }
}

/// Scrapes `http://addr/metrics` every `interval` until aborted, from the first answer on (the
/// daemon is asked every 50 ms until it answers).
pub async fn every(addr: SocketAddr, interval: Duration, s: Arc<Scrapes>) {
    loop {
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), get(addr)).await {
            s.ok.fetch_add(1, Ordering::Relaxed);
            s.last_octets.store(n, Ordering::Relaxed);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        match tokio::time::timeout(Duration::from_secs(5), get(addr)).await {
            Ok(Ok(n)) => {
                s.ok.fetch_add(1, Ordering::Relaxed);
                s.last_octets.store(n, Ordering::Relaxed);
            }
            _ => {
                s.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One `GET /metrics`: the answer's length when it is a 200 with a body.
async fn get(addr: SocketAddr) -> std::io::Result<u64> {
    let mut c = TcpStream::connect(addr).await?;
    c.write_all(
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut answer = Vec::new();
    c.read_to_end(&mut answer).await?;
    let ok = answer.starts_with(b"HTTP/1.1 200")
        && answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .is_some_and(|i| answer.len() > i + 4);
    if ok {
        Ok(u64::try_from(answer.len()).unwrap_or(u64::MAX))
    } else {
        Err(std::io::Error::other("not a 200 with a body"))
    }
}
