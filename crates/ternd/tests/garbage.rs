//! Garbage on a session: each bad opening gets the NOTIFICATION RFC 4271 §6 (and RFC 6608)
//! prescribes and its connection is closed, while a good session in the same daemon stays
//! Established and the daemon keeps running.
//!
//! Namespaces: N runs the ternd under test (AS 100); C holds one source address per garbage
//! case (each a configured peer of N, AS 65010) and runs a small client per case; G runs a
//! second ternd (AS 300) with a well-behaved session to N.

mod common;

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Netns, TempDir, Ternd, link};

const MARKER: [u8; 16] = [0xff; 16];
const CLIENT_AS: u16 = 65010;

/// Connects from argv[1] to 10.3.0.1:179, sends the hex bytes of argv[2] (in one write, or
/// with argv[3] = "slow" one octet per segment), reads until the connection closes (10 s at
/// most) and prints what came back in hex.
const CLIENT: &str = r"
import socket, sys, time
s = socket.socket()
s.settimeout(10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.bind((sys.argv[1], 0))
s.connect(('10.3.0.1', 179))
data = bytes.fromhex(sys.argv[2])
if sys.argv[3] == 'slow':
    for i in range(len(data)):
        s.send(data[i:i + 1])
        time.sleep(0.005)
else:
    s.sendall(data)
out = b''
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except Exception as e:
    sys.stderr.write('client: %r after %d bytes\n' % (e, len(out)))
print(out.hex())
";

/// A message with a correct header.
fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(19 + body.len()).unwrap();
    header(len, kind, body)
}

/// A header with whatever length, then `body`.
fn header(len: u16, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = MARKER.to_vec();
    v.extend_from_slice(&len.to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

/// An OPEN body without optional parameters.
fn open_body(version: u8, asn: u16, hold: u16, id: [u8; 4]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&asn.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(0);
    b
}

fn open(version: u8, asn: u16, hold: u16) -> Vec<u8> {
    msg(1, &open_body(version, asn, hold, [10, 3, 0, 99]))
}

/// A good OPEN and KEEPALIVE (the session comes up), then `then`.
fn established(then: &[u8]) -> Vec<u8> {
    let mut v = open(4, CLIENT_AS, 90);
    v.extend(msg(4, &[]));
    v.extend_from_slice(then);
    v
}

/// One bad opening and the NOTIFICATION (code, subcode, data) it must get.
struct Case {
    name: &'static str,
    send: Vec<u8>,
    code: u8,
    subcode: u8,
    data: Vec<u8>,
    /// Sent one octet per segment.
    slow: bool,
    /// The types of what ternd sends, UPDATEs left out, the NOTIFICATION last (OPEN,
    /// NOTIFICATION by default).
    kinds: &'static [u8],
}

impl Default for Case {
    fn default() -> Self {
        Case {
            name: "",
            send: vec![],
            code: 0,
            subcode: 0,
            data: vec![],
            slow: false,
            kinds: &[1, 3],
        }
    }
}

fn cases() -> Vec<Case> {
    let mut bad_marker = msg(4, &[]);
    bad_marker[3] = 0;
    // OPEN whose optional parameters claim 8 octets that are not there (length 29 is valid).
    let mut short_params = open_body(4, CLIENT_AS, 90, [10, 3, 0, 99]);
    short_params[9] = 8;
    let bad_marker_slow = bad_marker.clone();
    let bad_marker_late = bad_marker.clone();
    vec![
        // RFC 4271 §6.1: marker not all ones → Connection Not Synchronized.
        Case {
            name: "bad marker",
            send: bad_marker,
            code: 1,
            subcode: 1,
            data: vec![],
            ..Case::default()
        },
        // §6.1: length < 19, > 4096, or wrong for the type → Bad Message Length, data the length.
        Case {
            name: "length 18",
            send: header(18, 4, &[]),
            code: 1,
            subcode: 2,
            data: vec![0, 18],
            ..Case::default()
        },
        Case {
            name: "length 5000",
            send: header(5000, 4, &[]),
            code: 1,
            subcode: 2,
            data: 5000u16.to_be_bytes().to_vec(),
            ..Case::default()
        },
        Case {
            name: "KEEPALIVE of length 20",
            send: header(20, 4, &[0]),
            code: 1,
            subcode: 2,
            data: vec![0, 20],
            ..Case::default()
        },
        Case {
            name: "OPEN longer than 4096",
            send: header(5000, 1, &[]),
            code: 1,
            subcode: 2,
            data: 5000u16.to_be_bytes().to_vec(),
            ..Case::default()
        },
        // §6.1: unknown type → Bad Message Type, data the type.
        Case {
            name: "type 7",
            send: header(19, 7, &[]),
            code: 1,
            subcode: 3,
            data: vec![7],
            ..Case::default()
        },
        // A truncated OPEN: its length is below the OPEN minimum of 29 → Bad Message Length.
        Case {
            name: "truncated OPEN (length 23)",
            send: header(23, 1, &[4, 0xfd, 0xf2, 0]),
            code: 1,
            subcode: 2,
            data: vec![0, 23],
            ..Case::default()
        },
        // An OPEN whose own fields run past its end → OPEN Message Error, unspecific (§4.5).
        Case {
            name: "OPEN with truncated parameters",
            send: msg(1, &short_params),
            code: 2,
            subcode: 0,
            data: vec![],
            ..Case::default()
        },
        // §6.2: version → Unsupported Version Number, data the largest supported version (2 octets).
        Case {
            name: "version 3",
            send: open(3, CLIENT_AS, 90),
            code: 2,
            subcode: 1,
            data: vec![0, 4],
            ..Case::default()
        },
        // §6.2: peer AS not the configured one → Bad Peer AS.
        Case {
            name: "wrong AS",
            send: open(4, 65099, 90),
            code: 2,
            subcode: 2,
            data: 65099u16.to_be_bytes().to_vec(),
            ..Case::default()
        },
        // §6.2: hold time 1 or 2 → Unacceptable Hold Time.
        Case {
            name: "hold time 1",
            send: open(4, CLIENT_AS, 1),
            code: 2,
            subcode: 6,
            data: vec![],
            ..Case::default()
        },
        Case {
            name: "hold time 2",
            send: open(4, CLIENT_AS, 2),
            code: 2,
            subcode: 6,
            data: vec![],
            ..Case::default()
        },
        // §6.2: a syntactically incorrect BGP identifier (0.0.0.0) → Bad BGP Identifier.
        Case {
            name: "BGP identifier 0.0.0.0",
            send: msg(1, &open_body(4, CLIENT_AS, 90, [0; 4])),
            code: 2,
            subcode: 3,
            data: vec![],
            ..Case::default()
        },
        // RFC 6608: KEEPALIVE in OpenSent → FSM Error, Receive Unexpected Message in OpenSent.
        Case {
            name: "KEEPALIVE before OPEN",
            send: msg(4, &[]),
            code: 5,
            subcode: 1,
            data: vec![],
            ..Case::default()
        },
        // The same checks on a message that arrives one octet at a time.
        Case {
            name: "wrong AS, one octet per segment",
            send: open(4, 65098, 90),
            code: 2,
            subcode: 2,
            data: 65098u16.to_be_bytes().to_vec(),
            slow: true,
            ..Case::default()
        },
        Case {
            name: "bad marker, one octet per segment",
            send: bad_marker_slow,
            code: 1,
            subcode: 1,
            slow: true,
            ..Case::default()
        },
        // After Established (ternd answers OPEN with KEEPALIVE; the RIB task's initial table and
        // End-of-RIB may or may not come before the NOTIFICATION: UPDATEs are not counted).
        Case {
            name: "bad marker when Established",
            send: established(&bad_marker_late),
            code: 1,
            subcode: 1,
            kinds: &[1, 4, 3],
            ..Case::default()
        },
        Case {
            name: "bad length when Established",
            send: established(&header(16, 2, &[])),
            code: 1,
            subcode: 2,
            data: vec![0, 16],
            kinds: &[1, 4, 3],
            ..Case::default()
        },
        // §6.3: withdrawn routes length past the end of the UPDATE → Malformed Attribute List.
        Case {
            name: "UPDATE with an overlong withdrawn length",
            send: established(&msg(2, &[0, 9, 0, 0])),
            code: 3,
            subcode: 1,
            kinds: &[1, 4, 3],
            ..Case::default()
        },
        // RFC 6608: OPEN in Established → FSM Error, Receive Unexpected Message in Established.
        Case {
            name: "second OPEN",
            send: established(&open(4, CLIENT_AS, 90)),
            code: 5,
            subcode: 3,
            kinds: &[1, 4, 3],
            ..Case::default()
        },
    ]
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Splits a byte stream into (type, body) messages; `Err` if it does not frame.
fn messages(mut b: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, String> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 19 || b[..16] != MARKER {
            return Err(format!("does not frame: {b:02x?}"));
        }
        let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
        if len < 19 || len > b.len() {
            return Err(format!("bad length {len}: {b:02x?}"));
        }
        out.push((b[18], b[19..len].to_vec()));
        b = &b[len..];
    }
    Ok(out)
}

/// The source address of case `i` in C.
fn source(i: usize) -> String {
    format!("10.3.0.{}", 10 + i)
}

/// Checks what a case's client got back: ternd's OPEN, then exactly the expected NOTIFICATION,
/// then the end of the connection (the client reads to EOF).
fn check(case: &Case, out: &Output) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stderr.is_empty() {
        return Err(format!("client failed ({}): {stderr}", out.status));
    }
    let msgs = messages(&unhex(&stdout))?;
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).filter(|k| *k != 2).collect();
    if kinds != case.kinds || msgs.last().map(|m| m.0) != Some(3) {
        return Err(format!(
            "expected message types {:?} then close, got {kinds:?}: {msgs:02x?}",
            case.kinds
        ));
    }
    let n = &msgs[msgs.len() - 1].1;
    let got = (n[0], n[1], n[2..].to_vec());
    let want = (case.code, case.subcode, case.data.clone());
    if got != want {
        return Err(format!(
            "NOTIFICATION {}/{} data {:02x?}, expected {}/{} data {:02x?}",
            got.0, got.1, got.2, want.0, want.1, want.2
        ));
    }
    Ok(())
}

fn config(cases: &[Case]) -> String {
    let mut peers = String::new();
    let mut enable = String::new();
    for i in 0..cases.len() {
        let a = source(i);
        peers.push_str(&format!(" peer {a} as-number {CLIENT_AS}\n"));
        enable.push_str(&format!("  peer {a} enable\n"));
    }
    format!(
        "#\nsysname N\n#\ninterface GigabitEthernet0/0/1\n undo shutdown\n ip address 10.3.0.1 255.255.255.0\n#\n\
         interface GigabitEthernet0/0/2\n undo shutdown\n ip address 10.4.0.1 255.255.255.0\n#\n\
         bgp 100\n router-id 10.3.0.1\n{peers} peer 10.4.0.2 as-number 300\n peer 10.4.0.2 timer keepalive 3 hold 9\n #\n \
         ipv4-family unicast\n{enable}  peer 10.4.0.2 enable\n#\nreturn\n"
    )
}

const GOOD_PEER_CONFIG: &str = "#\nsysname G\n#\ninterface GigabitEthernet0/0/1\n undo shutdown\n ip address 10.4.0.2 255.255.255.0\n#\n\
bgp 300\n router-id 10.4.0.2\n peer 10.4.0.1 as-number 100\n peer 10.4.0.1 timer keepalive 3 hold 9\n #\n \
ipv4-family unicast\n  peer 10.4.0.1 enable\n#\nreturn\n";

/// Runs every case's client at once (twice over: a second round on the same peers checks
/// they recover); returns the failures.
fn round(c: &Netns, cases: &[Case]) -> Vec<String> {
    let children: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let hex: String = case.send.iter().map(|b| format!("{b:02x}")).collect();
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &c.name,
                    "python3",
                    "-c",
                    CLIENT,
                    &source(i),
                    &hex,
                    if case.slow { "slow" } else { "fast" },
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("python3")
        })
        .collect();
    children
        .into_iter()
        .zip(cases)
        .filter_map(|(child, case)| {
            let out = child.wait_with_output().expect("client");
            check(case, &out)
                .err()
                .map(|e| format!("{}: {e}", case.name))
        })
        .collect()
}

#[test]
fn garbage_gets_the_right_notification_and_spares_other_sessions() {
    let cases = cases();
    let (n, c, g) = (Netns::new("gN"), Netns::new("gC"), Netns::new("gG"));
    let sources: Vec<String> = (0..cases.len())
        .map(|i| format!("{}/24", source(i)))
        .collect();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    link(&n, &["10.3.0.1/24"], &c, &sources);
    link(&n, &["10.4.0.1/24"], &g, &["10.4.0.2/24"]);
    let dir = TempDir::new("garbage");
    let mut tn = Ternd::start(&n, &dir, "N", &config(&cases), &["0.0.0.0:179"]);
    let tg = Ternd::start(&g, &dir, "G", GOOD_PEER_CONFIG, &["0.0.0.0:179"]);
    tn.wait_established("10.4.0.2", Duration::from_secs(20));
    tg.wait_established("10.4.0.1", Duration::from_secs(20));

    // Watch the good session from both ends while the garbage flows.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        let (cn, cg) = (tn.control.clone(), tg.control.clone());
        std::thread::spawn(move || {
            let mut bad = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                for (who, sock, peer) in [("N", &cn, "10.4.0.2"), ("G", &cg, "10.4.0.1")] {
                    match state(sock, peer) {
                        Ok(s) if s == "Established" => {}
                        other => bad.push(format!("{who}: {other:?}")),
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            bad
        })
    };

    let mut failures = round(&c, &cases);
    // The peers were reset; ternd restarts them (retry after 5 s) and takes a new connection.
    std::thread::sleep(Duration::from_secs(1));
    failures.extend(
        round(&c, &cases)
            .into_iter()
            .map(|f| format!("second round: {f}")),
    );
    // Keep watching for longer than the hold time (9 s): keepalives still flow both ways.
    std::thread::sleep(Duration::from_secs(10));
    stop.store(true, Ordering::SeqCst);
    let flaps = watcher.join().expect("watcher");

    assert!(
        failures.is_empty(),
        "{}\n--- ternd log ---\n{}",
        failures.join("\n"),
        tn.log_text()
    );
    assert!(
        flaps.is_empty(),
        "the good session left Established: {flaps:?}\n--- ternd log ---\n{}",
        tn.log_text()
    );
    for (d, peer) in [(&tn, "10.4.0.2"), (&tg, "10.4.0.1")] {
        let p = d.peer(peer);
        assert_eq!(p["state"], "Established", "{p}");
        assert_eq!(
            p["up_count"], 1,
            "the good session went down and up again: {p}"
        );
    }

    // ternd logged each reset as a NOTIFICATION it sent, with the code and subcode.
    for (i, case) in cases.iter().enumerate() {
        let p = tn.peer(&source(i));
        let log = p["log"].as_array().cloned().unwrap_or_default();
        let sent: Vec<(u64, u64)> = log
            .iter()
            .filter(|l| l["state"] == "Down" && l["error"][4] == false)
            .map(|l| {
                (
                    l["error"][0].as_u64().unwrap_or(99),
                    l["error"][1].as_u64().unwrap_or(99),
                )
            })
            .collect();
        assert!(
            sent.len() == 2
                && sent
                    .iter()
                    .all(|s| *s == (u64::from(case.code), u64::from(case.subcode))),
            "{}: log-info should show two sent NOTIFICATIONs {}/{}: {p}",
            case.name,
            case.code,
            case.subcode
        );
        assert_ne!(p["state"], "Established", "{}: {p}", case.name);
    }

    // The daemon is alive, answers, and never panicked.
    assert!(
        tn.child.try_wait().expect("try_wait").is_none(),
        "ternd exited\n{}",
        tn.log_text()
    );
    assert!(tn.display("display bgp peer", false).is_ok());
    for d in [&tn, &tg] {
        let log = d.log_text();
        assert!(!log.contains("panicked"), "ternd panicked:\n{log}");
    }
}

/// A peer's state straight from a control socket (the harness' `Ternd::state` panics on error).
fn state(sock: &std::path::Path, peer: &str) -> Result<String, String> {
    let text = common::display_at(sock, &format!("display bgp peer {peer} verbose"), true)?;
    let p: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(p["state"].as_str().unwrap_or_default().to_string())
}
