//! Two FRR PEs with a VRF `red` each, run with the harness in `common/frr.rs`, exchange their
//! VRF routes as VPNv4/VPNv6 over one EBGP session over IPv4, and import the other's routes
//! into their VRF. This checks the recipe for running FRR as a VRF-aware PE on a kernel without
//! VRF devices or MPLS (see docs/interop.md), for the tests of ternd against FRR.
//!
//! Topology: FRR A (AS 100) 10.0.0.1/24 ── 10.0.0.2/24 FRR B (AS 200).
//! The VPNv6 next hop FRR sends over the IPv4 session depends on the link's IPv6 addresses:
//! with IPv6 disabled on it, the IPv4-mapped address (`::ffff:10.0.0.1`); with only the
//! link-local address, that address (as both global and link-local next hop), which the
//! receiver resolves only if it has IPv6 on the link too. The first test disables IPv6 on both
//! ends, the second keeps the link-local addresses.
//! Needs root (network namespaces) and FRR.

mod common;

use std::net::Ipv6Addr;
use std::time::Duration;

use common::frr::{Frr, Vrf, pe_config};
use common::{Netns, TempDir, link, wait_for};
use serde_json::Value;

const A4: &str = "10.11.0.0/16";
const A6: &str = "2001:db8:11::/48";
const B4: &str = "10.21.0.0/16";
const B6: &str = "2001:db8:21::/48";

/// Declared in drop order: the FRRs go before their namespaces and directory.
struct Lab {
    a: Frr,
    b: Frr,
    ea: String,
    eb: String,
    _dir: TempDir,
    a_ns: Netns,
    b_ns: Netns,
}

/// A with `label vpn export auto`, B with fixed labels 200 (IPv4) and 2000 (IPv6); both with
/// route target 65000:1. `b_forwarding`: B has `mpls bgp forwarding` on its link; `ipv6`: the
/// link keeps its IPv6 link-local addresses (else IPv6 is disabled on it).
fn lab(tag: &str, b_forwarding: bool, ipv6: bool) -> Lab {
    let a_ns = Netns::new(&format!("{tag}a"));
    let b_ns = Netns::new(&format!("{tag}b"));
    let (ea, eb) = link(&a_ns, &["10.0.0.1/24"], &b_ns, &["10.0.0.2/24"]);
    if !ipv6 {
        a_ns.sh(&format!("sysctl -qw net.ipv6.conf.{ea}.disable_ipv6=1"));
        b_ns.sh(&format!("sysctl -qw net.ipv6.conf.{eb}.disable_ipv6=1"));
    }
    let dir = TempDir::new(tag);
    let a_conf = pe_config(
        "a",
        100,
        "10.0.0.1",
        &[("10.0.0.2", 200)],
        &[&ea],
        &[Vrf {
            name: "red",
            rd: "100:1",
            rt: "65000:1",
            label4: None,
            label6: None,
        }],
    );
    let b_devs: Vec<&str> = if b_forwarding { vec![&eb] } else { vec![] };
    let b_conf = pe_config(
        "b",
        200,
        "10.0.0.2",
        &[("10.0.0.1", 100)],
        &b_devs,
        &[Vrf {
            name: "red",
            rd: "200:1",
            rt: "65000:1",
            label4: Some(200),
            label6: Some(2000),
        }],
    );
    let a = Frr::start(&a_ns, &dir, "a", &a_conf, &["red"]);
    let b = Frr::start(&b_ns, &dir, "b", &b_conf, &["red"]);
    a.blackhole("red", A4);
    a.blackhole("red", A6);
    b.blackhole("red", B4);
    b.blackhole("red", B6);
    Lab {
        a,
        b,
        ea,
        eb,
        _dir: dir,
        a_ns,
        b_ns,
    }
}

fn valid(paths: &[Value]) -> bool {
    paths.first().is_some_and(|p| p["valid"] == true)
}

fn dump(l: &Lab) -> String {
    let mut s = String::new();
    for f in [&l.a, &l.b] {
        for c in [
            "show bgp ipv4 vpn",
            "show bgp ipv6 vpn",
            "show bgp vrf red ipv4 unicast",
            "show bgp vrf red ipv6 unicast",
            "show bgp nexthop",
        ] {
            s += &format!("--- {} {c} ---\n{}", f.name, f.vtysh(c));
        }
        s += &f.logs();
    }
    s
}

/// The IPv6 link-local address of `dev` in `ns`.
fn link_local(ns: &Netns, dev: &str) -> Ipv6Addr {
    ns.sh(&format!(
        "ip -6 -o addr show dev {dev} scope link | sed -e 's/.*inet6 //' -e 's|/.*||'"
    ))
    .trim()
    .parse()
    .unwrap_or_else(|e| panic!("link-local address of {dev}: {e}"))
}

fn ip6(v: &Value) -> Ipv6Addr {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an IPv6 address: {v}"))
}

/// The netns inode (`net:[N]`) of VRF `vrf` of `f`.
fn vrf_netns(f: &Frr, vrf: &str) -> String {
    f.vrf_sh(vrf, "readlink /proc/self/ns/net")
        .trim()
        .to_string()
}

/// Pids of processes whose network namespace is `ns` (`net:[N]`).
fn pids_in(ns: &str) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.chars().all(|c| c.is_ascii_digit())
            && std::fs::read_link(e.path().join("ns/net")).is_ok_and(|l| l.to_string_lossy() == ns)
        {
            v.push(name);
        }
    }
    v
}

#[test]
fn vrf_routes_cross_between_two_frr_pes() {
    let l = lab("fv", true, false);
    l.a.wait_established("10.0.0.2", Duration::from_secs(60));
    l.b.wait_established("10.0.0.1", Duration::from_secs(60));
    let arrived = wait_for(Duration::from_secs(30), || {
        valid(&l.b.vrf_paths("red", A4))
            && valid(&l.b.vrf_paths("red", A6))
            && valid(&l.a.vrf_paths("red", B4))
            && valid(&l.a.vrf_paths("red", B6))
    });
    assert!(arrived, "VRF routes not imported:\n{}", dump(&l));

    // The labels A allocated (`label vpn export auto`): from zebra's label manager, above the
    // reserved range.
    let a_label = |p: &str| l.a.vpn_paths("100:1", p)[0]["remoteLabel"].clone();
    let (a_l4, a_l6) = (a_label(A4), a_label(A6));
    eprintln!("A's labels: IPv4 {a_l4}, IPv6 {a_l6}");
    for lab in [&a_l4, &a_l6] {
        assert!(lab.as_u64().is_some_and(|n| n >= 16), "{lab}");
    }

    // B: A's routes in the VPN tables, with A's RD, RT and label and next hop A.
    let p = &l.b.vpn_paths("100:1", A4)[0];
    eprintln!("B VPNv4 {A4}: {p}");
    assert_eq!(p["valid"], true, "{p}");
    assert_eq!(p["aspath"]["string"], "100", "{p}");
    assert_eq!(p["extendedCommunity"]["string"], "RT:65000:1", "{p}");
    assert_eq!(p["remoteLabel"], a_l4, "{p}");
    assert_eq!(p["nexthops"][0]["ip"], "10.0.0.1", "{p}");
    let p = &l.b.vpn_paths("100:1", A6)[0];
    eprintln!("B VPNv6 {A6}: {p}");
    assert_eq!(p["valid"], true, "{p}");
    assert_eq!(p["remoteLabel"], a_l6, "{p}");
    assert_eq!(p["extendedCommunity"]["string"], "RT:65000:1", "{p}");
    // A has no IPv6 address on the link: IPv4-mapped next hop (FRR prints `::ffff:a00:1`).
    assert_eq!(
        ip6(&p["nexthops"][0]["ip"]),
        "::ffff:10.0.0.1".parse::<Ipv6Addr>().unwrap(),
        "{p}"
    );

    // B: and imported into VRF red, valid, from the default instance's VPN route.
    for (prefix, label) in [(A4, &a_l4), (A6, &a_l6)] {
        let p = &l.b.vrf_paths("red", prefix)[0];
        eprintln!("B VRF red {prefix}: {p}");
        assert_eq!(p["valid"], true, "{p}");
        assert_eq!(p["bestpath"]["overall"], true, "{p}");
        assert_eq!(p["nhVrfName"], "default", "{p}");
        assert_eq!(p["remoteLabel"], *label, "{p}");
        assert_eq!(p["extendedCommunity"]["string"], "RT:65000:1", "{p}");
        assert_eq!(p["aspath"]["string"], "100", "{p}");
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        let text =
            l.b.vtysh(&format!("show bgp vrf red {afi} unicast {prefix}"));
        assert!(
            text.contains(&format!("Imported from 100:1:{prefix}")),
            "{text}"
        );
    }
    assert_eq!(l.b.vrf_paths("red", A4)[0]["nexthops"][0]["ip"], "10.0.0.1");
    assert_eq!(
        ip6(&l.b.vrf_paths("red", A6)[0]["nexthops"][0]["ip"]),
        "::ffff:10.0.0.1".parse::<Ipv6Addr>().unwrap()
    );
    // The VRF's own table lists them too.
    let t = l.b.json("show bgp vrf red ipv4 unicast json");
    assert_eq!(t["routes"][A4][0]["valid"], true, "{t}");
    let t = l.b.json("show bgp vrf red ipv6 unicast json");
    assert_eq!(t["routes"][A6][0]["valid"], true, "{t}");

    // A: B's routes with B's fixed labels and next hop B.
    let b_mapped: Ipv6Addr = "::ffff:10.0.0.2".parse().unwrap();
    let p = &l.a.vpn_paths("200:1", B4)[0];
    eprintln!("A VPNv4 {B4}: {p}");
    assert_eq!(p["remoteLabel"], 200, "{p}");
    assert_eq!(p["nexthops"][0]["ip"], "10.0.0.2", "{p}");
    let p = &l.a.vpn_paths("200:1", B6)[0];
    eprintln!("A VPNv6 {B6}: {p}");
    assert_eq!(p["remoteLabel"], 2000, "{p}");
    assert_eq!(ip6(&p["nexthops"][0]["ip"]), b_mapped, "{p}");
    for (prefix, label) in [(B4, 200), (B6, 2000)] {
        let p = &l.a.vrf_paths("red", prefix)[0];
        eprintln!("A VRF red {prefix}: {p}");
        assert_eq!(p["valid"], true, "{p}");
        assert_eq!(p["remoteLabel"], label, "{p}");
        assert_eq!(p["aspath"]["string"], "200", "{p}");
    }
    assert_eq!(
        ip6(&l.a.vrf_paths("red", B6)[0]["nexthops"][0]["ip"]),
        b_mapped
    );

    // Clean-up: the VRF namespaces are private to each FRR (not in `ip netns list`) and go
    // with its processes; the test's namespaces go with the lab.
    let vrf_ns = [vrf_netns(&l.a, "red"), vrf_netns(&l.b, "red")];
    assert_ne!(vrf_ns[0], vrf_ns[1]);
    let pids: Vec<u32> = l.a.pids().into_iter().chain(l.b.pids()).collect();
    let names = [l.a_ns.name.clone(), l.b_ns.name.clone()];
    let runs = [l.a.run.clone(), l.b.run.clone()];
    for e in std::fs::read_dir("/run/netns")
        .expect("/run/netns")
        .flatten()
    {
        use std::os::unix::fs::MetadataExt;
        let ino = e.metadata().map(|m| m.ino()).unwrap_or_default();
        assert!(
            !vrf_ns.contains(&format!("net:[{ino}]")),
            "VRF namespace visible as /run/netns/{}",
            e.file_name().to_string_lossy()
        );
    }
    drop(l);
    let list = common::sh("ip netns list");
    for n in &names {
        assert!(
            !list.lines().any(|x| x.split_whitespace().next() == Some(n)),
            "{n} left: {list}"
        );
    }
    for ns in &vrf_ns {
        assert!(pids_in(ns).is_empty(), "processes left in VRF {ns}");
    }
    for pid in pids {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        assert!(
            !runs
                .iter()
                .any(|r| cmd.contains(r.to_string_lossy().as_ref())),
            "FRR process {pid} left: {cmd}"
        );
        for d in ["zebra", "bgpd"] {
            assert!(!std::path::Path::new(&format!("/var/tmp/frr/{d}.{pid}")).exists());
        }
    }
    for r in &runs {
        assert!(!r.exists(), "{} left", r.display());
    }
}

/// Without `mpls bgp forwarding` on the link, B imports A's VPN routes into its VRF but marks
/// them invalid: FRR wants the next hop of an imported labelled route resolved over a labelled
/// path, and there is none here. The VPN routes themselves are valid. Configuring it makes them
/// valid after the session is reset. With IPv6 link-local addresses on the link, each side's
/// VPNv6 next hop is its link-local address.
#[test]
fn imports_need_mpls_bgp_forwarding() {
    let l = lab("fn", false, true);
    l.b.wait_established("10.0.0.1", Duration::from_secs(60));
    let arrived = wait_for(Duration::from_secs(30), || {
        valid(&l.b.vpn_paths("100:1", A4))
            && valid(&l.b.vpn_paths("100:1", A6))
            && !l.b.vrf_paths("red", A4).is_empty()
            && !l.b.vrf_paths("red", A6).is_empty()
    });
    assert!(arrived, "VPN routes not at B:\n{}", dump(&l));
    std::thread::sleep(Duration::from_secs(2));
    for prefix in [A4, A6] {
        let p = &l.b.vrf_paths("red", prefix)[0];
        assert_eq!(p["valid"], false, "{p}");
        assert_eq!(p["nexthops"][0]["accessible"], false, "{p}");
    }
    // A (with it) has B's routes valid.
    assert!(wait_for(Duration::from_secs(30), || {
        valid(&l.a.vrf_paths("red", B4)) && valid(&l.a.vrf_paths("red", B6))
    }));

    let out =
        l.b.configure(&[&format!("interface {}", l.eb), "mpls bgp forwarding"]);
    assert!(!out.contains('%'), "{out}");
    l.b.vtysh("clear bgp *");
    let fixed = wait_for(Duration::from_secs(60), || {
        valid(&l.b.vrf_paths("red", A4)) && valid(&l.b.vrf_paths("red", A6))
    });
    assert!(fixed, "still invalid:\n{}", dump(&l));

    let (a_ll, b_ll) = (link_local(&l.a_ns, &l.ea), link_local(&l.b_ns, &l.eb));
    let p = &l.b.vpn_paths("100:1", A6)[0];
    eprintln!("B VPNv6 {A6}: {p}");
    assert_eq!(ip6(&p["nexthops"][0]["ip"]), a_ll, "{p}");
    let p = &l.b.vrf_paths("red", A6)[0];
    eprintln!("B VRF red {A6}: {p}");
    assert_eq!(ip6(&p["nexthops"][0]["ip"]), a_ll, "{p}");
    let p = &l.a.vrf_paths("red", B6)[0];
    eprintln!("A VRF red {B6}: {p}");
    assert_eq!(ip6(&p["nexthops"][0]["ip"]), b_ll, "{p}");
}
