//! Route target constraint (RFC 4684) against GoBGP: ternd as a VPNv4 route reflector (AS
//! 65000) with three GoBGP clients, each in its own namespace.
//!
//! - F (10.0.1.2), the feeder PE: 10 VPNs (route targets 65000:1 … 65000:10, three prefixes
//!   each), VPNv4 only. (With the rtc family, GoBGP would send ternd only the VPN routes of
//!   the targets ternd advertised, and GoBGP 3.10 fails on the default membership that
//!   `peer X default-route-advertise` sends: its handler reads the route target of a
//!   length-0 membership, which has none.)
//! - P (10.0.0.2), a PE with the rtc family and a VRF importing 65000:1: its membership
//!   limits what ternd reflects to it (after `timer wait-for-eor 3`: GoBGP without graceful
//!   restart sends no End-of-RIB, which ternd would otherwise wait 180 s for); a second VRF importing 65000:2 brings VPN 2's routes,
//!   deleting it withdraws them.
//! - Q (10.0.2.2), a PE without the rtc family: sent every VPN route, as before.
//!
//! Each GoBGP's own table (`gobgp global rib -a vpnv4`) shows the effect.
//!
//! A second test puts a ternd PE behind the ternd reflector: the PE advertises the import
//! targets of its VPN instance as its membership and is sent those VPNs only, following
//! commits that change the instance's import targets; the reflector's `peer X
//! default-route-advertise` is what makes the PE send it its own VPN routes (the PE sends an
//! RTC peer only what that peer's membership covers). Needs root.

mod common;

use std::process::Child;
use std::time::Duration;

use common::{Netns, TempDir, Ternd, families, link, sh_ok, wait_for};

const TIMEOUT: Duration = Duration::from_secs(60);
const CLI: &str = "gobgp -u 127.0.0.1 -p 50051";

/// A GoBGP daemon, killed and reaped on drop.
struct Gobgp {
    child: Child,
    ns: Netns,
    log: std::path::PathBuf,
}

impl Drop for Gobgp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gobgp {
    /// gobgpd in `ns` as `addr` (AS 65000) peering with ternd at `tern`, with the rtc family
    /// when `rtc`.
    fn start(ns: Netns, dir: &TempDir, name: &str, addr: &str, tern: &str, rtc: bool) -> Gobgp {
        let mut conf = format!(
            r#"[global.config]
  as = 65000
  router-id = "{addr}"
  port = 179

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{tern}"
    peer-as = 65000
  [neighbors.timers.config]
    hold-time = 30
    keepalive-interval = 10
    connect-retry = 5
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
"#
        );
        if rtc {
            conf += r#"  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "rtc"
"#;
        }
        let cfg = dir.write(&format!("{name}.toml"), &conf);
        let cfg_s = cfg.display().to_string();
        let child = ns.spawn(
            &[
                "gobgpd",
                "-f",
                &cfg_s,
                "--api-hosts",
                "127.0.0.1:50051",
                "--pprof-disable",
                "-p",
            ],
            &dir.path(&format!("{name}.log")),
        );
        let g = Gobgp {
            child,
            ns,
            log: dir.path(&format!("{name}.log")),
        };
        let up = wait_for(Duration::from_secs(20), || {
            sh_ok(&format!("ip netns exec {} {CLI} global", g.ns.name))
        });
        assert!(up, "gobgpd {name} API not answering");
        g
    }

    fn cli(&self, args: &str) -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns.name])
            .args(CLI.split(' '))
            .args(args.split(' '))
            .output()
            .expect("gobgp");
        assert!(
            out.status.success(),
            "gobgp {args}: {}{}\n--- log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The VPNv4 prefixes in GoBGP's table, as `RD:prefix`.
    fn vpnv4(&self) -> Vec<String> {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns.name])
            .args(CLI.split(' '))
            .args(["global", "rib", "-a", "vpnv4", "-j"])
            .output();
        let Ok(out) = out else { return vec![] };
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        let mut keys: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    fn neighbor(&self, tern: &str) -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns.name])
            .args(CLI.split(' '))
            .args(["neighbor", tern])
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

/// The routes of VPN `n`: RD 65000:n, 10.n.{1,2,3}.0/24.
fn vpn_routes(n: u32) -> Vec<String> {
    (1..=3)
        .map(|i| format!("65000:{n}:10.{n}.{i}.0/24"))
        .collect()
}

fn config() -> String {
    let mut c = String::from("sysname rr\n#\n");
    for i in 0..3 {
        c +=
            &format!("interface GigabitEthernet0/0/{i}\n ip address 10.0.{i}.1 255.255.255.0\n#\n");
    }
    c += "bgp 65000\n router-id 10.0.0.1\n";
    for p in ["10.0.0.2", "10.0.1.2", "10.0.2.2"] {
        c += &format!(" peer {p} as-number 65000\n peer {p} timer keepalive 10 hold 30\n");
    }
    c += " #\n ipv4-family unicast\n";
    for p in ["10.0.0.2", "10.0.1.2", "10.0.2.2"] {
        c += &format!("  undo peer {p} enable\n");
    }
    c += " #\n ipv4-family vpnv4\n  undo policy vpn-target\n";
    for p in ["10.0.0.2", "10.0.1.2", "10.0.2.2"] {
        c += &format!("  peer {p} enable\n  peer {p} reflect-client\n");
    }
    // GoBGP without graceful restart sends no End-of-RIB: the wait for it is shortened.
    c += " #\n ipv4-family vpn-target\n  timer wait-for-eor 3\n  peer 10.0.0.2 enable\n  peer 10.0.1.2 enable\n";
    c + "#\nreturn\n"
}

#[test]
fn reflector_sends_each_pe_only_the_vpn_routes_it_imports() {
    let tern_ns = Netns::new("rtct");
    let dir = TempDir::new("rtc");
    let mut peers = Vec::new();
    for (i, tag) in [(0, "rtcp"), (1, "rtcf"), (2, "rtcq")] {
        let ns = Netns::new(tag);
        link(
            &tern_ns,
            &[&format!("10.0.{i}.1/24")],
            &ns,
            &[&format!("10.0.{i}.2/24")],
        );
        peers.push(ns);
    }
    let t = Ternd::start(&tern_ns, &dir, "ternd", &config(), &["0.0.0.0:179"]);
    let mut it = peers.into_iter();
    let (p_ns, f_ns, q_ns) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    let p = Gobgp::start(p_ns, &dir, "p", "10.0.0.2", "10.0.0.1", true);
    let f = Gobgp::start(f_ns, &dir, "f", "10.0.1.2", "10.0.1.1", false);
    let q = Gobgp::start(q_ns, &dir, "q", "10.0.2.2", "10.0.2.1", false);
    let logs = |what: &str| {
        format!(
            "{what}\n--- ternd ---\n{}\n--- P table ---\n{:?}\n--- P neighbor ---\n{}\n--- F neighbor ---\n{}\n--- P log ---\n{}",
            tail(&t.log_text(), 80),
            p.vpnv4(),
            p.neighbor("10.0.0.1"),
            f.neighbor("10.0.1.1"),
            tail(
                &std::fs::read_to_string(dir.path("p.log")).unwrap_or_default(),
                40
            ),
        )
    };
    for a in ["10.0.0.2", "10.0.1.2", "10.0.2.2"] {
        t.wait_established(a, TIMEOUT);
    }
    // The family is negotiated with P only (F and Q do not offer it).
    for (a, rtc) in [("10.0.0.2", true), ("10.0.1.2", false), ("10.0.2.2", false)] {
        let fams = families(&t.peer(a));
        assert_eq!(
            fams.contains(&"rt-constraint".to_string()),
            rtc,
            "{a}: {fams:?}"
        );
    }

    // P imports VPN 1 (GoBGP advertises the VRF's import target as its membership).
    p.cli("vrf add v1 rd 65000:101 rt import 65000:1 export 65000:1");
    // F originates 10 VPNs.
    let mut all = Vec::new();
    for n in 1..=10u32 {
        for i in 1..=3 {
            f.cli(&format!(
                "global rib -a vpnv4 add 10.{n}.{i}.0/24 label {} rd 65000:{n} rt 65000:{n}",
                100 + n
            ));
        }
        all.extend(vpn_routes(n));
    }
    all.sort();

    // ternd holds all 30; Q, without the family, is sent every one.
    let holds = |n: usize| vpn_table(&t).len() == n;
    assert!(
        wait_for(TIMEOUT, || q.vpnv4() == all),
        "{}",
        logs(&format!("Q has {:?}", q.vpnv4()))
    );
    assert!(holds(30), "{}", logs("ternd does not hold 30 VPN routes"));

    // P gets VPN 1's routes only.
    let mut want = vpn_routes(1);
    want.sort();
    assert!(
        wait_for(TIMEOUT, || p.vpnv4() == want),
        "{}",
        logs("P is not sent VPN 1 alone")
    );

    // A second import target on P: VPN 2's routes follow.
    p.cli("vrf add v2 rd 65000:102 rt import 65000:2 export 65000:2");
    let mut want2 = vpn_routes(1);
    want2.extend(vpn_routes(2));
    want2.sort();
    assert!(
        wait_for(TIMEOUT, || p.vpnv4() == want2),
        "{}",
        logs("VPN 2 not sent after P imports 65000:2")
    );

    // Removed: withdrawn again; VPN 1 stays.
    p.cli("vrf del v2");
    assert!(
        wait_for(TIMEOUT, || p.vpnv4() == want),
        "{}",
        logs("VPN 2 not withdrawn after P stopped importing 65000:2")
    );

    // Q still has everything, and no session went down.
    assert_eq!(q.vpnv4(), all);
    for a in ["10.0.0.2", "10.0.1.2", "10.0.2.2"] {
        assert_eq!(t.state(a), "Established");
    }
}

/// The VPNv4 destinations in a ternd's table, as `RD:prefix`.
fn vpn_table(t: &Ternd) -> Vec<String> {
    let Ok(text) = t.display("display bgp vpnv4 all routing-table", true) else {
        return vec![];
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    let mut out: Vec<String> = v["routes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    format!(
                        "{}:{}",
                        r["rd"].as_str().unwrap_or_default(),
                        r["prefix"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

/// Runs configuration lines on a ternd through its control API; panics on an error.
fn configure(t: &Ternd, lines: &[&str]) {
    let mut c = tern_api::Blocking::connect(&t.control).expect("control");
    let id = c.open_session("test").expect("session").session;
    for line in lines {
        let r = c.execute(id, line, false).expect("execute");
        assert!(r.error.is_none(), "{line}: {r:?}");
    }
    let _ = c.close_session(id);
}

const PE_CFG: &str = "sysname pe
#
ip vpn-instance v3
 ipv4-family
  route-distinguisher 65000:300
  vpn-target 65000:3 export-extcommunity
  vpn-target 65000:3 import-extcommunity
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.2 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip binding vpn-instance v3
 ip address 192.168.3.1 255.255.255.0
#
bgp 65000
 router-id 10.0.0.2
 peer 10.0.0.1 as-number 65000
 peer 10.0.0.1 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  undo peer 10.0.0.1 enable
 #
 ipv4-family vpnv4
  undo policy vpn-target
  peer 10.0.0.1 enable
 #
 ipv4-family vpn-instance v3
  import-route direct
 #
 ipv4-family vpn-target
  peer 10.0.0.1 enable
#
return
";

const RR_CFG: &str = "sysname rr
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip address 10.0.1.1 255.255.255.0
#
bgp 65000
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 65000
 peer 10.0.0.2 timer keepalive 10 hold 30
 peer 10.0.1.2 as-number 65000
 peer 10.0.1.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  undo peer 10.0.0.2 enable
  undo peer 10.0.1.2 enable
 #
 ipv4-family vpnv4
  undo policy vpn-target
  peer 10.0.0.2 enable
  peer 10.0.0.2 reflect-client
  peer 10.0.1.2 enable
  peer 10.0.1.2 reflect-client
 #
 ipv4-family vpn-target
  peer 10.0.0.2 enable
  peer 10.0.0.2 default-route-advertise
#
return
";

#[test]
fn a_tern_pe_advertises_its_import_targets_and_the_reflector_its_default() {
    let rr_ns = Netns::new("rtcr");
    let pe_ns = Netns::new("rtce");
    let f_ns = Netns::new("rtcg");
    link(&rr_ns, &["10.0.0.1/24"], &pe_ns, &["10.0.0.2/24"]);
    link(&rr_ns, &["10.0.1.1/24"], &f_ns, &["10.0.1.2/24"]);
    let dir = TempDir::new("rtc2");
    let rr = Ternd::start(&rr_ns, &dir, "rr", RR_CFG, &["0.0.0.0:179"]);
    let pe = Ternd::start(&pe_ns, &dir, "pe", PE_CFG, &["0.0.0.0:179"]);
    let f = Gobgp::start(f_ns, &dir, "f", "10.0.1.2", "10.0.1.1", false);
    for n in 1..=10u32 {
        for i in 1..=3 {
            f.cli(&format!(
                "global rib -a vpnv4 add 10.{n}.{i}.0/24 label {} rd 65000:{n} rt 65000:{n}",
                100 + n
            ));
        }
    }
    let logs = |what: &str| {
        format!(
            "{what}\n--- rr table ---\n{:?}\n--- pe table ---\n{:?}\n--- rr log ---\n{}\n--- pe log ---\n{}",
            vpn_table(&rr),
            vpn_table(&pe),
            tail(&rr.log_text(), 60),
            tail(&pe.log_text(), 60),
        )
    };
    rr.wait_established("10.0.0.2", TIMEOUT);
    rr.wait_established("10.0.1.2", TIMEOUT);
    let own = "65000:300:192.168.3.0/24".to_string();
    let with = |vpns: &[u32]| {
        let mut v: Vec<String> = vpns.iter().flat_map(|n| vpn_routes(*n)).collect();
        v.push(own.clone());
        v.sort();
        v
    };

    // The PE's membership (its import target) limits what the reflector sends it: VPN 3.
    assert!(
        wait_for(TIMEOUT, || vpn_table(&pe) == with(&[3])),
        "{}",
        logs("the PE is not sent VPN 3 alone")
    );
    // The reflector's default membership has the PE send it its VPN route, reflected to F.
    assert!(
        wait_for(TIMEOUT, || vpn_table(&rr).contains(&own)),
        "{}",
        logs("the reflector does not hold the PE's route")
    );
    assert!(
        wait_for(TIMEOUT, || f.vpnv4().contains(&own)),
        "{}",
        logs("F is not sent the PE's route")
    );

    // A second import target committed on the PE: VPN 4 follows; taken back: withdrawn.
    configure(
        &pe,
        &[
            "system-view",
            "ip vpn-instance v3",
            "ipv4-family",
            "vpn-target 65000:4 import-extcommunity",
            "commit",
        ],
    );
    assert!(
        wait_for(TIMEOUT, || vpn_table(&pe) == with(&[3, 4])),
        "{}",
        logs("VPN 4 not sent after the PE imports 65000:4")
    );
    configure(
        &pe,
        &[
            "system-view",
            "ip vpn-instance v3",
            "ipv4-family",
            "undo vpn-target 65000:4 import-extcommunity",
            "commit",
        ],
    );
    assert!(
        wait_for(TIMEOUT, || vpn_table(&pe) == with(&[3])),
        "{}",
        logs("VPN 4 not withdrawn after the PE stopped importing 65000:4")
    );

    // Without the default membership the PE no longer sends the reflector its route.
    configure(
        &rr,
        &[
            "system-view",
            "bgp 65000",
            "ipv4-family vpn-target",
            "undo peer 10.0.0.2 default-route-advertise",
            "commit",
        ],
    );
    assert!(
        wait_for(TIMEOUT, || !vpn_table(&rr).contains(&own)),
        "{}",
        logs("the PE's route stays after the default membership is withdrawn")
    );
    assert!(
        wait_for(TIMEOUT, || !f.vpnv4().contains(&own)),
        "{}",
        logs("F keeps the PE's route")
    );
    for (t, a) in [(&rr, "10.0.0.2"), (&rr, "10.0.1.2"), (&pe, "10.0.0.1")] {
        assert_eq!(t.state(a), "Established");
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
