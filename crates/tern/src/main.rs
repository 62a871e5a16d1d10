//! `tern`: the operator's tool.
//!
//! `tern` alone, in a terminal, is an interactive VRP shell on the daemon (see [`shell`]);
//! `tern -c LINE [-c LINE ...]` runs lines in one management session as if typed (so does a
//! script piped to its standard input), stopping at the first error; `--json` asks for JSON
//! from every `display`; `--socket` names ternd's control socket.
//!
//! `tern decode FILE...` reads files of concatenated BGP messages (as captured from a
//! session, see testdata/golden) and prints each message the way an operator reads them: the
//! OPEN's capabilities, each UPDATE's attributes and routes with their RD, labels and next hop,
//! and what RFC 7606 would do about any malformation.
//!
//! `tern lab up DIR` runs a folder of VRP files, one per router, as network namespaces with a
//! ternd in each; `tern lab exec NODE LINE...`, `tern lab status`, `tern lab graph`, `tern
//! lab down` (see [`tern_lab`] and docs/lab.md).

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tern_types::Family;
use tern_wire::attr::{AttrValue, Origin};
use tern_wire::capability::Capability;
use tern_wire::message::frames;
use tern_wire::{AddPathSet, Ctx, Message, Open};

mod pager;
mod shell;

#[derive(Parser)]
#[command(name = "tern", version, about = "tern BGP speaker: operator tool")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Run a command line on the daemon, as if typed (repeatable: one session, in order;
    /// stops at the first error). Without -c: the interactive shell.
    #[arg(short = 'c', value_name = "LINE")]
    lines: Vec<String>,
    /// The daemon's control socket.
    #[arg(long, default_value = "/run/ternd.sock")]
    socket: PathBuf,
    /// Ask for JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Decode files of concatenated BGP messages and print them.
    Decode {
        /// Files holding raw BGP messages, each with its 19-octet header.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The session was 2-octet AS (AS_PATH holds 2-octet numbers).
        #[arg(long)]
        two_octet_as: bool,
        /// The session was external (affects LOCAL_PREF and confederation checks).
        #[arg(long)]
        ebgp: bool,
    },
    /// Run a folder of VRP files (one per router) as a lab of network namespaces, a ternd
    /// in each.
    Lab {
        #[command(subcommand)]
        command: tern_lab::LabCommand,
    },
    /// MRT (RFC 6396) export of the daemon's routing tables.
    Mrt {
        #[command(subcommand)]
        command: MrtCommand,
    },
}

#[derive(Subcommand)]
enum MrtCommand {
    /// Write a TABLE_DUMP_V2 dump of the routing tables (IPv4/IPv6 unicast and labeled,
    /// VPNv4, VPNv6) to FILE; without FILE, into the daemon's --mrt-dir.
    Dump {
        /// The file to write (written by the daemon; replaced when it exists).
        file: Option<PathBuf>,
    },
}

/// `tern mrt dump [FILE]`: the daemon writes the dump (a relative FILE is taken from the
/// current directory).
fn mrt_dump(socket: &std::path::Path, file: Option<PathBuf>) -> ExitCode {
    let path = match file {
        None => String::new(),
        Some(f) if f.is_absolute() => f.display().to_string(),
        Some(f) => match std::env::current_dir() {
            Ok(d) => d.join(f).display().to_string(),
            Err(e) => {
                eprintln!("tern: current directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let reply = tern_api::Blocking::connect(socket).and_then(|mut c| c.mrt_dump(&path));
    match reply {
        Ok(r) if r.error.is_empty() => {
            println!(
                "{}: {} destinations, {} routes, {} peers",
                r.path, r.destinations, r.routes, r.peers
            );
            ExitCode::SUCCESS
        }
        Ok(r) => {
            eprintln!("tern: {}", r.error);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("tern: {}: {e}", socket.display());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        if !cli.lines.is_empty() {
            return shell::run_lines(&cli.socket, cli.lines, cli.json);
        }
        if let Some(lines) = shell::stdin_lines() {
            return shell::run_lines(&cli.socket, lines, cli.json);
        }
        return shell::interactive(&cli.socket, cli.json);
    };
    match command {
        Command::Lab { command } => tern_lab::run(
            command,
            tern_lab::Shell {
                interactive: shell::interactive,
                run_lines: shell::run_lines::<Vec<String>>,
            },
        ),
        Command::Mrt {
            command: MrtCommand::Dump { file },
        } => mrt_dump(&cli.socket, file),
        Command::Decode {
            files,
            two_octet_as,
            ebgp,
        } => {
            let mut failed = false;
            for f in files {
                match std::fs::read(&f) {
                    Ok(bytes) => {
                        let base = Ctx {
                            four_octet_as: !two_octet_as,
                            ebgp,
                            ..Ctx::default()
                        };
                        let mut out = String::new();
                        let ok = decode_stream(&bytes, base, &mut out);
                        print!("# {}\n{out}", f.display());
                        failed |= !ok;
                    }
                    Err(e) => {
                        eprintln!("tern: {}: {e}", f.display());
                        failed = true;
                    }
                }
            }
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// The context a received OPEN implies for the messages after it: ADD-PATH where the sender
/// offered to send, 4-octet AS where it offered it (and the caller did not say otherwise).
fn ctx_after_open(open: &Open, base: Ctx) -> Ctx {
    let mut add_path = AddPathSet::EMPTY;
    for c in open.capabilities() {
        if let Capability::AddPath(v) = c {
            for (f, m) in v {
                if m.send() {
                    add_path.insert(*f);
                }
            }
        }
    }
    let as4 = open
        .capabilities()
        .any(|c| matches!(c, Capability::FourOctetAs(_)));
    Ctx {
        four_octet_as: base.four_octet_as && as4,
        add_path,
        ..base
    }
}

/// Decodes one stream into `out`; false if a message could not be decoded.
fn decode_stream(bytes: &[u8], base: Ctx, out: &mut String) -> bool {
    let mut ctx = base;
    for (i, frame) in frames(bytes).enumerate() {
        let frame = match frame {
            Ok(f) => f,
            Err(n) => {
                let _ = writeln!(out, "{i:>4} framing error: NOTIFICATION {n}");
                return false;
            }
        };
        match Message::decode(frame) {
            Err(n) => {
                let _ = writeln!(out, "{i:>4} undecodable: NOTIFICATION {n}");
                return false;
            }
            Ok(Message::Open(o)) => {
                ctx = ctx_after_open(&o, base);
                let _ = writeln!(
                    out,
                    "{i:>4} OPEN as {} hold {} id {}",
                    o.asn(),
                    o.hold_time,
                    o.bgp_id
                );
                for c in o.capabilities() {
                    let _ = writeln!(out, "       capability {}", capability(c));
                }
            }
            Ok(Message::Keepalive) => {
                let _ = writeln!(out, "{i:>4} KEEPALIVE");
            }
            Ok(Message::Notification(n)) => {
                let _ = writeln!(out, "{i:>4} NOTIFICATION {n}");
            }
            Ok(Message::RouteRefresh(r)) => {
                let _ = writeln!(out, "{i:>4} ROUTE-REFRESH {} {:?}", r.family, r.subtype);
            }
            Ok(Message::Update(u)) => {
                let p = u.parse(&ctx);
                if let Some(f) = p.end_of_rib() {
                    let _ = writeln!(out, "{i:>4} UPDATE End-of-RIB {f}");
                    continue;
                }
                let _ = writeln!(out, "{i:>4} UPDATE");
                for a in &p.attrs {
                    if let Some(text) = attribute(&a.value) {
                        let _ = writeln!(out, "       {text}");
                    }
                }
                let nh = p
                    .mp_reach()
                    .map(|m| m.next_hop.to_string())
                    .or_else(|| p.next_hop().map(|a| a.to_string()))
                    .unwrap_or_default();
                for (f, n) in p.announced() {
                    let _ = writeln!(out, "       + {f} {n} via {nh}");
                }
                for (f, n) in p.withdrawn_routes() {
                    let _ = writeln!(out, "       - {f} {n}");
                }
                for e in &p.problems {
                    let _ = writeln!(
                        out,
                        "       ! attribute {}: {:?} (NOTIFICATION {})",
                        e.type_code, e.action, e.notification
                    );
                }
            }
        }
    }
    true
}

fn capability(c: &Capability) -> String {
    match c {
        Capability::Multiprotocol(f) => format!("multiprotocol {f}"),
        Capability::RouteRefresh => "route-refresh".into(),
        Capability::EnhancedRouteRefresh => "enhanced-route-refresh".into(),
        Capability::FourOctetAs(a) => format!("4-octet-as {a}"),
        Capability::AddPath(v) => {
            let parts: Vec<String> = v
                .iter()
                .map(|(f, m)| {
                    let dir = match (m.send(), m.receive()) {
                        (true, true) => "send-receive",
                        (true, false) => "send",
                        (false, true) => "receive",
                        _ => "none",
                    };
                    format!("{f} {dir}")
                })
                .collect();
            format!("add-path {}", parts.join(", "))
        }
        Capability::GracefulRestart {
            flags,
            time,
            families,
        } => {
            let fams: Vec<String> = families.iter().map(|g| g.family.to_string()).collect();
            format!(
                "graceful-restart flags {flags:#x} time {time}s [{}]",
                fams.join(" ")
            )
        }
        Capability::ExtendedNextHop(v) => {
            let parts: Vec<String> = v
                .iter()
                .map(|e| {
                    let f = Family::new(e.afi, tern_types::Safi(u8::try_from(e.safi).unwrap_or(0)));
                    format!("{f} via afi{}", e.nh_afi.0)
                })
                .collect();
            format!("extended-next-hop {}", parts.join(", "))
        }
        Capability::ExtendedMessage => "extended-message".into(),
        Capability::Fqdn { hostname, domain } if domain.is_empty() => {
            format!("fqdn {}", String::from_utf8_lossy(hostname))
        }
        Capability::Fqdn { hostname, domain } => format!(
            "fqdn {}.{}",
            String::from_utf8_lossy(hostname),
            String::from_utf8_lossy(domain)
        ),
        Capability::Unknown { code, data } => format!("code {code} ({} octets)", data.len()),
    }
}

/// One attribute as text; `None` for the MP attributes, whose routes are listed instead.
fn attribute(v: &AttrValue<'_>) -> Option<String> {
    Some(match v {
        AttrValue::Origin(o) => format!(
            "origin {}",
            match o {
                Origin::Igp => "igp",
                Origin::Egp => "egp",
                Origin::Incomplete => "incomplete",
            }
        ),
        AttrValue::AsPath(p) => format!("as-path {p}"),
        AttrValue::As4Path(p) => format!("as4-path {p}"),
        AttrValue::NextHop(a) => format!("next-hop {a}"),
        AttrValue::Med(m) => format!("med {m}"),
        AttrValue::LocalPref(l) => format!("local-pref {l}"),
        AttrValue::AtomicAggregate => "atomic-aggregate".into(),
        AttrValue::Aggregator(a) => format!("aggregator {} {}", a.asn, a.addr),
        AttrValue::As4Aggregator(a) => format!("as4-aggregator {} {}", a.asn, a.addr),
        AttrValue::Communities(c) => {
            let v: Vec<String> = c
                .iter()
                .map(|x| format!("{}:{}", x >> 16, x & 0xffff))
                .collect();
            format!("communities {}", v.join(" "))
        }
        AttrValue::ExtCommunities(c) => {
            let v: Vec<String> = c.iter().map(|x| x.to_string()).collect();
            format!("ext-communities {}", v.join(" "))
        }
        AttrValue::LargeCommunities(c) => {
            let v: Vec<String> = c.iter().map(|(a, b, d)| format!("{a}:{b}:{d}")).collect();
            format!("large-communities {}", v.join(" "))
        }
        AttrValue::OriginatorId(a) => format!("originator-id {a}"),
        AttrValue::ClusterList(c) => {
            let v: Vec<String> = c.iter().map(|x| x.to_string()).collect();
            format!("cluster-list {}", v.join(" "))
        }
        AttrValue::MpReach(_) | AttrValue::MpUnreach(_) => return None,
        AttrValue::Unknown { type_code, data } => {
            format!("attribute {type_code} ({} octets)", data.len())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_golden_vpnv6_capture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/golden/gobgp-ebgp-v4.bgp"
        );
        let bytes = std::fs::read(path).unwrap();
        let mut out = String::new();
        assert!(decode_stream(&bytes, Ctx::default(), &mut out));
        assert!(out.contains("capability multiprotocol vpnv6"), "{out}");
        assert!(
            out.contains("+ vpnv6 65100:1:2001:db8:30::/48 label 4001 via ::ffff:10.0.1.1"),
            "{out}"
        );
        assert!(out.contains("ext-communities RT:65100:1"), "{out}");
    }

    #[test]
    fn reports_a_broken_stream() {
        let mut out = String::new();
        assert!(!decode_stream(&[0xff; 18], Ctx::default(), &mut out));
        let mut bad = vec![0u8; 19];
        assert!(!decode_stream(&bad, Ctx::default(), &mut out));
        assert!(out.contains("1/1"), "{out}");
        bad.fill(0xff);
        bad[16] = 0;
        bad[17] = 19;
        bad[18] = 9;
        out.clear();
        assert!(!decode_stream(&bad, Ctx::default(), &mut out));
        assert!(out.contains("1/3"), "{out}");
    }
}
