//! The daemon: listeners, one task per peer, and the control socket.
//!
//! Incoming connections are matched to a configured peer by source address (unknown sources
//! are closed at once). MD5 keys are installed on the listening sockets per peer so that the
//! kernel answers only correctly signed SYNs (RFC 2385 §2).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tracing::{debug, info, warn};

use crate::display;
use crate::manager::{Peers, StatusIndex};
use crate::sockets;
use crate::spec::DaemonConfig;
use crate::status::PeerStatus;

/// Where to listen and serve.
#[derive(Clone, Debug)]
pub struct Options {
    /// Listening addresses.
    pub listen: Vec<SocketAddr>,
    /// Control socket path.
    pub control: Option<PathBuf>,
}

fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

fn listener(addr: SocketAddr, cfg: &DaemonConfig) -> io::Result<TcpListener> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    for p in &cfg.peers {
        if let Some(pw) = &p.password
            && p.addr.is_ipv4() == addr.is_ipv4()
        {
            sockets::set_md5(&s, p.addr, &pw.0)?;
        }
    }
    // The kernel answers a SYN with the listener's TTL, before the connection is accepted and
    // given its peer's TTL: a GTSM peer (RFC 5082) drops a SYN-ACK that arrives below 255 − N.
    if cfg
        .peers
        .iter()
        .any(|p| p.min_ttl().is_some() && p.addr.is_ipv4() == addr.is_ipv4())
    {
        if addr.is_ipv4() {
            s.set_ttl_v4(255)?;
        } else {
            s.set_unicast_hops_v6(255)?;
        }
    }
    s.bind(&addr.into())?;
    s.listen(128)?;
    TcpListener::from_std(s.into())
}

/// The shared state the control socket reads.
struct Shared {
    cfg: DaemonConfig,
    peers: StatusIndex,
}

impl Shared {
    fn statuses(&self) -> Vec<PeerStatus> {
        self.peers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(_, s)| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            })
            .collect()
    }
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(cfg: DaemonConfig, opts: Options) -> io::Result<()> {
    let mut listeners = Vec::new();
    for a in &opts.listen {
        match listener(*a, &cfg) {
            Ok(l) => {
                info!("listening on {a}");
                listeners.push(Arc::new(l));
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot listen on {a}: {e}"),
                ));
            }
        }
    }
    let peers = Peers::start(&cfg);
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        peers: peers.index(),
    });
    for l in &listeners {
        let accepts = peers.accepts();
        let l = l.clone();
        tokio::spawn(async move {
            loop {
                match l.accept().await {
                    Ok((stream, from)) => {
                        let ip = canonical(from.ip());
                        let tx = accepts
                            .read()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .get(&ip)
                            .cloned();
                        match tx {
                            Some(tx) => {
                                if tx.send(stream).await.is_err() {
                                    debug!("peer {ip} gone");
                                }
                            }
                            None => info!("connection from unconfigured address {ip} refused"),
                        }
                    }
                    Err(e) => warn!("accept: {e}"),
                }
            }
        });
    }
    if let Some(path) = &opts.control {
        let _ = std::fs::remove_file(path);
        let ul = UnixListener::bind(path)?;
        info!("control socket {}", path.display());
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                if let Ok((s, _)) = ul.accept().await {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve_control(s, &shared).await {
                            debug!("control: {e}");
                        }
                    });
                }
            }
        });
    }
    shutdown_signal().await;
    info!("shutting down");
    peers.shutdown().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    if let Some(path) = &opts.control {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

/// A control request: one JSON object on one line.
#[derive(Deserialize)]
struct Request {
    command: String,
    #[serde(default)]
    json: bool,
}

async fn serve_control(s: tokio::net::UnixStream, shared: &Shared) -> io::Result<()> {
    let (rd, mut wr) = s.into_split();
    let mut line = String::new();
    BufReader::new(rd).read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(r) => execute(&r.command, r.json, shared),
        Err(e) => Err(format!("Error: bad request: {e}")),
    };
    let (ok, text) = match reply {
        Ok(t) => (true, t),
        Err(t) => (false, t),
    };
    let out = serde_json::json!({ "ok": ok, "output": text });
    wr.write_all(out.to_string().as_bytes()).await?;
    wr.write_all(b"\n").await?;
    wr.shutdown().await
}

/// Runs one display command.
fn execute(command: &str, json: bool, shared: &Shared) -> Result<String, String> {
    let words: Vec<String> = command.split_whitespace().map(str::to_lowercase).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let all = shared.statuses();
    let find = |a: &str| -> Result<PeerStatus, String> {
        let ip: IpAddr = a
            .parse()
            .map_err(|_| "Error: Wrong parameter found at '^' position.".to_string())?;
        all.iter()
            .find(|p| p.addr == ip)
            .cloned()
            .ok_or_else(|| format!("Error: The peer {ip} does not exist."))
    };
    let as_json = |v: &dyn erased::Ser| v.to_json();
    match words.as_slice() {
        ["display", "bgp", "peer"] => Ok(if json {
            as_json(&all)
        } else {
            display::peers(shared.cfg.router_id, shared.cfg.local_as, &all)
        }),
        [
            "display",
            "bgp",
            fam @ ("vpnv4" | "vpnv6" | "labeled" | "ipv6"),
            "all",
            "peer",
        ]
        | [
            "display",
            "bgp",
            fam @ ("vpnv4" | "vpnv6" | "labeled" | "ipv6"),
            "peer",
        ] => {
            let want = match *fam {
                "vpnv4" => "vpnv4",
                "vpnv6" => "vpnv6",
                "labeled" => "ipv4-labeled-unicast",
                _ => "ipv6-unicast",
            };
            let sel: Vec<PeerStatus> = all
                .iter()
                .filter(|p| p.configured_families.iter().any(|f| f == want))
                .cloned()
                .collect();
            Ok(if json {
                as_json(&sel)
            } else {
                display::peers(shared.cfg.router_id, shared.cfg.local_as, &sel)
            })
        }
        ["display", "bgp", "peer", a, "verbose"] => {
            let p = find(a)?;
            Ok(if json {
                as_json(&p)
            } else {
                display::verbose(&p)
            })
        }
        ["display", "bgp", "peer", a, "log-info"] => {
            let p = find(a)?;
            Ok(if json {
                as_json(&p.log)
            } else {
                display::log_info(p.addr, &p)
            })
        }
        ["display", "bgp", "peer", a] => {
            let p = find(a)?;
            Ok(if json {
                as_json(&p)
            } else {
                display::peers(shared.cfg.router_id, shared.cfg.local_as, &[p])
            })
        }
        _ => Err("Error: Unrecognized command found at '^' position.".into()),
    }
}

mod erased {
    /// Serialises any display value to JSON.
    pub trait Ser {
        fn to_json(&self) -> String;
    }

    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        }
    }
}
