//! Messages captured from real FRR, GoBGP, ExaBGP and BIRD sessions (testdata/golden, see its
//! README for how each was made): every message decodes, every UPDATE parses with no RFC 7606
//! problem and re-encodes byte-identical, and every announced route matches the independent
//! decoding in testdata/golden/expect.txt (RD, label stack, path id, prefix, next hop).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use tern_types::{Family, IpNet};
use tern_wire::capability::Capability;
use tern_wire::message::frames;
use tern_wire::{AddPathSet, Ctx, Message, NextHop, Open};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden")
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::IPV4_UNICAST => "ipv4-unicast",
        Family::IPV6_UNICAST => "ipv6-unicast",
        Family::IPV4_LABELED => "ipv4-labeled",
        Family::IPV6_LABELED => "ipv6-labeled",
        Family::VPNV4 => "vpnv4",
        Family::VPNV6 => "vpnv6",
        _ => "other",
    }
}

/// One announced route, in a form both decoders can be brought to.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Route {
    family: String,
    path_id: Option<u32>,
    rd: Option<String>,
    label: Option<String>,
    prefix: IpNet,
    nh: Vec<IpAddr>,
    nh_len: usize,
}

fn expected() -> BTreeMap<String, Vec<Route>> {
    let text = std::fs::read_to_string(golden_dir().join("expect.txt")).unwrap();
    let mut out: BTreeMap<String, Vec<Route>> = BTreeMap::new();
    let mut file = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ")
            && let Some((name, _)) = rest.split_once(": ")
            && name.ends_with(".bgp")
        {
            file = name.to_owned();
            out.entry(file.clone()).or_default();
            continue;
        }
        let Some(rest) = line.trim_start().strip_prefix("announce ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let family = words.next().unwrap().to_owned();
        let mut r = Route {
            family,
            path_id: None,
            rd: None,
            label: None,
            prefix: "0.0.0.0/0".parse().unwrap(),
            nh: Vec::new(),
            nh_len: 0,
        };
        for w in words {
            let (k, v) = w.split_once('=').unwrap();
            match k {
                "path_id" => r.path_id = Some(v.parse().unwrap()),
                "rd" => r.rd = Some(v.to_owned()),
                "label" => r.label = Some(v.to_owned()),
                "prefix" => r.prefix = v.parse().unwrap(),
                "nh" => {
                    r.nh = v
                        .split(',')
                        .filter(|p| !p.starts_with("rd="))
                        .map(|p| p.parse().unwrap())
                        .collect()
                }
                "nh_len" => r.nh_len = v.parse().unwrap(),
                _ => panic!("unknown key {k} in {line}"),
            }
        }
        // "rd=0:0,<addr>": the split above leaves the address after the RD's comma.
        out.get_mut(&file).unwrap().push(r);
    }
    out
}

fn nh_parts(nh: &NextHop) -> Vec<IpAddr> {
    match nh {
        NextHop::Ipv4(a) => vec![IpAddr::V4(*a)],
        NextHop::Ipv6 { global, link_local } => {
            let mut v = vec![IpAddr::V6(*global)];
            v.extend(link_local.map(IpAddr::V6));
            v
        }
        NextHop::Other(_) => vec![],
    }
}

/// The session context the recorder negotiated with the daemon: it echoed the daemon's
/// capabilities, so 4-octet AS is on when the daemon offered it, and the daemon sends path
/// identifiers for the families where it offered to send them.
fn ctx_for(name: &str, open: &Open) -> Ctx {
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
    Ctx {
        // The "-as2" captures are sessions where the recorder did not offer 4-octet AS.
        four_octet_as: !name.contains("-as2")
            && open
                .capabilities()
                .any(|c| matches!(c, Capability::FourOctetAs(_))),
        add_path,
        ebgp: name.contains("-ebgp-"),
        extended_message: false,
    }
}

fn decode_file(name: &str, bytes: &[u8]) -> Vec<Route> {
    let mut ctx = Ctx::default();
    let mut routes = Vec::new();
    let mut count = 0;
    for f in frames(bytes) {
        let f = f.unwrap_or_else(|e| panic!("{name}: framing: {e}"));
        count += 1;
        let msg = Message::decode(f).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        // Every message re-encodes byte-identical.
        let mut again = Vec::new();
        match &msg {
            Message::Open(o) => {
                ctx = ctx_for(name, o);
                msg.encode(&mut again).unwrap();
            }
            Message::Update(u) => {
                let p = u.parse(&ctx);
                assert_eq!(p.action(), None, "{name}: {:?}", p.problems);
                // Through the parsed attributes, not the raw fields.
                again.extend_from_slice(&f.bytes[..19]);
                p.encode_body(&mut again).unwrap();
                for (fam, n) in p.announced() {
                    let nh = match p.mp_reach() {
                        Some(m) if fam != Family::IPV4_UNICAST || p.nlri.is_empty() => {
                            m.next_hop.clone()
                        }
                        _ => NextHop::Ipv4(p.next_hop().unwrap()),
                    };
                    routes.push(Route {
                        family: family_name(fam).to_owned(),
                        path_id: n.path_id,
                        rd: n.rd.map(|r| r.to_string()),
                        label: (!n.labels.is_empty()).then(|| n.labels.to_string()),
                        prefix: n.prefix,
                        nh_len: nh.wire_len(fam),
                        nh: nh_parts(&nh),
                    });
                }
            }
            _ => msg.encode(&mut again).unwrap(),
        }
        assert_eq!(
            again, f.bytes,
            "{name}: message {count} re-encodes differently"
        );
    }
    assert!(count > 2, "{name}: only {count} messages");
    routes
}

#[test]
fn every_golden_file_decodes_and_reencodes_identically() {
    let expect = expected();
    let mut files = 0;
    let mut total = 0;
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "bgp") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let got = decode_file(&name, &bytes);
        let want = expect
            .get(&name)
            .unwrap_or_else(|| panic!("{name} missing from expect.txt"));
        assert_eq!(&got, want, "{name}");
        files += 1;
        total += got.len();
    }
    assert!(files >= 10, "only {files} golden files");
    assert!(total >= 80, "only {total} routes");
}

/// The acceptance case: GoBGP's VPNv6 UPDATE over an IPv4 session, with the 24-octet
/// RD 0 + ::ffff:a.b.c.d next hop, and FRR's 48-octet form with a link-local address.
#[test]
fn vpnv6_next_hop_forms() {
    let bytes = std::fs::read(golden_dir().join("gobgp-ebgp-v4.bgp")).unwrap();
    let routes = decode_file("gobgp-ebgp-v4.bgp", &bytes);
    let r = routes
        .iter()
        .find(|r| r.family == "vpnv6" && r.rd.as_deref() == Some("65100:1"))
        .expect("GoBGP VPNv6 route with RD 65100:1");
    assert_eq!(r.label.as_deref(), Some("4001"));
    assert_eq!(r.prefix, "2001:db8:30::/48".parse::<IpNet>().unwrap());
    assert_eq!(r.nh_len, 24);
    assert_eq!(r.nh, vec!["::ffff:10.0.1.1".parse::<IpAddr>().unwrap()]);

    let bytes = std::fs::read(golden_dir().join("frr-ibgp-v4.bgp")).unwrap();
    let routes = decode_file("frr-ibgp-v4.bgp", &bytes);
    let r = routes
        .iter()
        .find(|r| r.family == "vpnv6")
        .expect("FRR VPNv6 route");
    assert_eq!(r.nh_len, 48);
    assert_eq!(r.nh.len(), 2, "global and link-local");
    assert!(
        matches!(r.nh[1], IpAddr::V6(ll) if ll.is_unicast_link_local()),
        "{:?}",
        r.nh
    );
}

/// 2-octet sessions: AS_TRANS in AS_PATH and AGGREGATOR, the true values in AS4_PATH and
/// AS4_AGGREGATOR; merged per RFC 6793 §4.2.3.
#[test]
fn as4_path_from_two_octet_sessions() {
    use tern_wire::attr::{AttrValue, type_code};
    let bytes = std::fs::read(golden_dir().join("exabgp-ebgp-as2.bgp")).unwrap();
    let ctx = Ctx {
        four_octet_as: false,
        ebgp: true,
        ..Ctx::default()
    };
    let mut seen = false;
    for f in frames(&bytes) {
        let Ok(Message::Update(u)) = Message::decode(f.unwrap()) else {
            continue;
        };
        let p = u.parse(&ctx);
        let (Some(two), Some(four)) = (p.as_path(), p.as4_path()) else {
            continue;
        };
        assert_eq!(two.to_string(), "65200 23456 65010");
        assert_eq!(two.merge_as4(four).to_string(), "65200 4200000001 65010");
        let Some(AttrValue::As4Aggregator(a)) = p.attr(type_code::AS4_AGGREGATOR) else {
            panic!()
        };
        assert_eq!(a.asn, 4_200_000_001);
        seen = true;
    }
    assert!(seen);
}
