//! Replay tests: the engine inputs recorded from the seed's route-reflector example and the
//! six vendor examples (`tern lab up DIR --record OUT`, one file per router in
//! `testdata/replay/`) are replayed, and every peer's output stream and the kernel operations
//! must be byte-identical to the recorded outcome (`*.out`: length and FNV-1a hash of each),
//! and identical between two replays.
//!
//! `TERN_REPLAY_BLESS=1 cargo test -p ternd --test replay` writes the `*.out` files anew (after
//! a deliberate change of the engine's output, or for a new recording).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ternd::replay::{Replayed, replay};

fn fnv(b: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in b {
        h ^= u64::from(*x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The outcome of a replay, as stored: one line per peer (address, octets, hash) and one for
/// the kernel operations.
fn outcome(r: &Replayed) -> String {
    let mut o = String::new();
    for (addr, bytes) in &r.peers {
        o.push_str(&format!("peer {addr} {} {}\n", bytes.len(), fnv(bytes)));
    }
    let fib = format!("{:?}", r.fib);
    o.push_str(&format!("fib {} {}\n", r.fib.len(), fnv(fib.as_bytes())));
    o.push_str(&format!("inputs {}\n", r.inputs));
    o
}

fn recordings() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/replay");
    let mut v = Vec::new();
    for d in std::fs::read_dir(&root).expect("testdata/replay") {
        let d = d.unwrap().path();
        if !d.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "rec") {
                v.push(f);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn recorded_runs_replay_to_the_same_outputs() {
    let bless = std::env::var_os("TERN_REPLAY_BLESS").is_some();
    let files = recordings();
    assert!(files.len() >= 30, "recordings: {}", files.len());
    let mut by_example: BTreeMap<String, usize> = BTreeMap::new();
    let mut sent = 0usize;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let a = replay(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let b = replay(&text).unwrap();
        assert_eq!(a, b, "{}: two replays differ", f.display());
        let got = outcome(&a);
        let out = f.with_extension("out");
        if bless {
            std::fs::write(&out, &got).unwrap();
        }
        let want = std::fs::read_to_string(&out)
            .unwrap_or_else(|e| panic!("{}: {e} (TERN_REPLAY_BLESS=1 writes it)", out.display()));
        assert_eq!(
            got,
            want,
            "{}: outputs differ from the recorded outcome",
            f.display()
        );
        sent += a.peers.values().filter(|b| !b.is_empty()).count();
        let example = f
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        *by_example.entry(example).or_default() += 1;
    }
    assert_eq!(by_example.len(), 7, "{by_example:?}");
    assert!(
        sent >= files.len(),
        "every router sends something to a peer ({sent})"
    );
}

#[test]
fn a_replay_rebuilds_the_routes_of_the_run() {
    // The seed's PE2, replayed: it announced its CE's prefix to its reflector RR2 (8.8.8.9)
    // in VPNv6 (the UPDATE is in its output stream).
    let f = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/replay/seed-option-c-rr/PE2.rec");
    let r = replay(&std::fs::read_to_string(f).unwrap()).unwrap();
    let to_rr = r
        .peers
        .get(&"8.8.8.9".parse().unwrap())
        .expect("PE2 sends to RR2 (8.8.8.9)");
    let mut announced = Vec::new();
    for m in tern_wire::message::frames(to_rr) {
        let m = m.unwrap();
        if let Ok(tern_wire::Message::Update(u)) = tern_wire::Message::decode(m) {
            let p = u.parse(&tern_wire::Ctx::default());
            for (family, n) in p.announced() {
                announced.push((family, n.prefix.to_string()));
            }
        }
    }
    assert!(
        announced
            .iter()
            .any(|(f, p)| *f == tern_types::Family::VPNV6 && p == "2001:db8:2::/64"),
        "{announced:?}"
    );
}
