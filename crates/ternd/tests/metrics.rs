//! Prometheus metrics (`--metrics ADDR:PORT`) against the displays, a real exposition parser
//! and a real Prometheus server.
//!
//! Topology: ternd T (AS 100) in its own namespace, 10.0.0.1/24 ── FRR F (AS 200) 10.0.0.2/24
//! on the public network, and 172.16.0.1/30 (GigabitEthernet0/0/1, bound to VPN instance
//! vpn1) ── FRR C (AS 65001, a CE) 172.16.0.2/30. F sends three IPv4 unicast routes, one of
//! which T's import policy refuses, and a VPNv4 route; C sends two routes into vpn1, which T
//! exports as VPNv4 (F sends them back; T refuses them: its AS is in their path).
//!
//! 1. T serves `GET /metrics` on 127.0.0.1:9100 inside its namespace; `promtool check
//!    metrics` passes on what it serves; the peers' state, received and accepted prefixes and
//!    the tables' routes equal what `display bgp peer`, `… routing-table peer X
//!    accepted-routes` and `… routing-table statistics` show; Prometheus (a server in T's
//!    namespace scraping every second) returns the same values through its HTTP API.
//! 2. The Grafana dashboard (`docs/grafana/tern.json`): every metric its queries name is in a
//!    live scrape, and Prometheus accepts and evaluates every query.
//! 3. Without `--metrics`, nothing but BGP listens.
//!
//! Needs root (network namespaces), FRR, promtool and prometheus.

mod common;

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, SystemTime};

use common::{Netns, TempDir, Ternd, link, wait_for};
use serde_json::Value;

const METRICS: &str = "127.0.0.1:9100";
const PROMETHEUS: &str = "127.0.0.1:9090";

const T_CFG: &str = "sysname T
#
ip vpn-instance vpn1
 ipv4-family
  route-distinguisher 100:1
  vpn-target 65000:1 both
#
interface GigabitEthernet0/0/0
 ip address 10.0.0.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 ip binding vpn-instance vpn1
 ip address 172.16.0.1 255.255.255.252
#
bgp 100
 router-id 10.0.0.1
 peer 10.0.0.2 as-number 200
 peer 10.0.0.2 timer keepalive 10 hold 30
 #
 ipv4-family unicast
  peer 10.0.0.2 enable
  peer 10.0.0.2 route-policy IN import
 #
 ipv4-family vpnv4
  undo policy vpn-target
  peer 10.0.0.2 enable
 #
 ipv4-family vpn-instance vpn1
  peer 172.16.0.2 as-number 65001
  peer 172.16.0.2 timer keepalive 10 hold 30
#
route-policy IN deny node 10
 if-match ip-prefix drop
#
route-policy IN permit node 20
#
ip ip-prefix drop index 10 permit 203.0.113.0 24
#
return
";

const F_CFG: &str = "frr defaults traditional
hostname f
!
router bgp 200
 bgp router-id 10.0.0.2
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 100
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 timers connect 5
 !
 address-family ipv4 unicast
  network 192.0.2.0/24
  network 198.51.100.0/24
  network 203.0.113.0/24
  neighbor 10.0.0.1 activate
 exit-address-family
 !
 address-family ipv4 vpn
  network 10.1.0.0/16 rd 200:1 label 100
  neighbor 10.0.0.1 activate
 exit-address-family
exit
!
";

const C_CFG: &str = "frr defaults traditional
hostname c
!
router bgp 65001
 bgp router-id 172.16.0.2
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 172.16.0.1 remote-as 100
 neighbor 172.16.0.1 timers 10 30
 neighbor 172.16.0.1 timers connect 5
 !
 address-family ipv4 unicast
  network 10.98.0.0/16
  network 10.99.0.0/16
  neighbor 172.16.0.1 activate
 exit-address-family
exit
!
";

/// A process killed and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// FRR's bgpd alone (no zebra) in `ns`, its files under `dir/name`.
fn bgpd(ns: &Netns, dir: &TempDir, name: &str, conf: &str) -> Proc {
    let run = dir.path(name);
    std::fs::create_dir_all(&run).expect("bgpd dir");
    let p = |f: &str| run.join(f).display().to_string();
    std::fs::write(run.join("bgpd.conf"), conf).expect("bgpd.conf");
    let log = format!("file:{}", p("bgpd.log"));
    // -Z: no zebra; -S: stay root; -P 0: no TCP vty.
    Proc(ns.spawn(
        &[
            "/usr/lib/frr/bgpd",
            "-Z",
            "-S",
            "-P",
            "0",
            "-f",
            &p("bgpd.conf"),
            "-i",
            &p("bgpd.pid"),
            "--vty_socket",
            &run.display().to_string(),
            "--log",
            &log,
        ],
        &run.join("bgpd.out"),
    ))
}

/// A Prometheus server in `ns` scraping ternd's metrics every second; killed, and its
/// storage removed, on drop (the process before the directory: fields drop in order).
struct Prometheus {
    _proc: Proc,
    dir: TempDir,
}

impl Prometheus {
    fn start(ns: &Netns) -> Prometheus {
        let dir = TempDir::new("prom");
        let cfg = dir.write(
            "prometheus.yml",
            &format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: ternd\n    static_configs:\n      \
                 - targets: ['{METRICS}']\n"
            ),
        );
        let data = dir.path("data");
        let proc = Proc(ns.spawn(
            &[
                "/usr/bin/prometheus",
                &format!("--config.file={}", cfg.display()),
                &format!("--storage.tsdb.path={}", data.display()),
                &format!("--web.listen-address={PROMETHEUS}"),
            ],
            &dir.path("prometheus.log"),
        ));
        Prometheus { _proc: proc, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("prometheus.log")).unwrap_or_default()
    }
}

/// The lab of the module documentation, in drop order: daemons before namespaces and files.
struct Lab {
    ternd: Ternd,
    _f: Proc,
    _c: Proc,
    t_ns: Netns,
    _f_ns: Netns,
    _c_ns: Netns,
    dir: TempDir,
}

fn lab(tag: &str) -> Lab {
    let t_ns = Netns::new(&format!("{tag}t"));
    let f_ns = Netns::new(&format!("{tag}f"));
    let c_ns = Netns::new(&format!("{tag}c"));
    link(&t_ns, &["10.0.0.1/24"], &f_ns, &["10.0.0.2/24"]);
    link(&t_ns, &["172.16.0.1/30"], &c_ns, &["172.16.0.2/30"]);
    let dir = TempDir::new(tag);
    let ternd = Ternd::start_with(
        &t_ns,
        &dir,
        "ternd",
        T_CFG,
        &["0.0.0.0:179"],
        &["--metrics", METRICS],
    );
    let f = bgpd(&f_ns, &dir, "f", F_CFG);
    let c = bgpd(&c_ns, &dir, "c", C_CFG);
    let lab = Lab {
        ternd,
        _f: f,
        _c: c,
        t_ns,
        _f_ns: f_ns,
        _c_ns: c_ns,
        dir,
    };
    lab.ternd
        .wait_established("10.0.0.2", Duration::from_secs(60));
    lab.ternd
        .wait_established("172.16.0.2", Duration::from_secs(60));
    // Every route in: F's three IPv4 routes (one refused) and VPNv4 route, C's two, and the
    // two VPNv4 routes T exports from vpn1, which F sends back (refused: T's AS is in their
    // path).
    let arrived = wait_for(Duration::from_secs(30), || {
        let p = lab.ternd.peer("10.0.0.2");
        let c = lab.ternd.peer("172.16.0.2");
        p["prefixes"]["ipv4-unicast"] == 3
            && p["prefixes"]["vpnv4"] == 3
            && c["prefixes"]["ipv4-unicast"] == 2
            && routes(&lab, "display bgp vpnv4 all routing-table") == 3
    });
    assert!(
        arrived,
        "routes did not arrive: {}\n{}\n{}\n{}",
        lab.ternd.peer("10.0.0.2")["prefixes"],
        lab.ternd.peer("172.16.0.2")["prefixes"],
        lab.ternd
            .display("display bgp vpnv4 all routing-table", false)
            .unwrap_or_default(),
        lab.logs()
    );
    lab
}

impl Lab {
    fn logs(&self) -> String {
        let mut s = format!("--- ternd ---\n{}", self.ternd.log_text());
        for n in ["f", "c"] {
            s += &format!(
                "\n--- bgpd {n} ---\n{}",
                std::fs::read_to_string(self.dir.path(n).join("bgpd.log")).unwrap_or_default()
            );
        }
        s
    }

    /// The exposition served at /metrics (fetched inside T's namespace).
    fn scrape(&self) -> String {
        self.t_ns.sh(&format!("curl -sf http://{METRICS}/metrics"))
    }

    /// An instant query through Prometheus's HTTP API: the result, or the error.
    fn query(&self, q: &str) -> Result<Vec<Value>, String> {
        let out = self.t_ns.sh(&format!(
            "curl -s http://{PROMETHEUS}/api/v1/query --data-urlencode 'query={}' || true",
            q.replace('\'', "'\\''")
        ));
        let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
        if v["status"] != "success" {
            return Err(out);
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }
}

/// Rows (paths) of a routing-table display.
fn routes(lab: &Lab, command: &str) -> usize {
    lab.ternd
        .display(command, true)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["routes"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// A sample's name and labels, as a key: `name{a="x",b="y"}` with labels sorted.
fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    l.sort();
    format!("{name}{{{}}}", l.join(","))
}

/// The samples of an exposition by [`key`] (the format is checked by promtool; label values
/// are read up to their closing quote, the daemon writes none with an escaped one).
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, mut rest) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}').expect("closing brace")),
            None => (series, ""),
        };
        let mut labels = Vec::new();
        while !rest.is_empty() {
            let (k, after) = rest.split_once("=\"").expect("label");
            let (v, after) = after.split_once('"').expect("label value");
            labels.push((k, v));
            rest = after.strip_prefix(',').unwrap_or(after);
        }
        let v = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().expect("value"),
        };
        m.insert(key(name, &labels), v);
    }
    m
}

/// The names of the samples of an exposition.
fn names(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_string())
        .collect()
}

/// `display bgp peer`'s row of a peer: (State, PrefRcv).
fn peer_row(lab: &Lab, addr: &str) -> (String, f64) {
    let text = lab.ternd.display("display bgp peer", false).unwrap();
    let row = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(addr))
        .unwrap_or_else(|| panic!("no row for {addr}:\n{text}"));
    let w: Vec<&str> = row.split_whitespace().collect();
    let pref = w[w.len() - 1].parse().expect("PrefRcv");
    (w[w.len() - 2].to_string(), pref)
}

/// The number after `label` in a display's text.
fn figure(text: &str, label: &str) -> f64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|r| r.trim().trim_start_matches(':').trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

fn state_number(state: &str) -> f64 {
    match state {
        "Idle" => 1.0,
        "Connect" => 2.0,
        "Active" => 3.0,
        "OpenSent" => 4.0,
        "OpenConfirm" => 5.0,
        "Established" => 6.0,
        other => panic!("state {other}"),
    }
}

/// What the displays show, as the samples that must carry the same values.
fn expected(lab: &Lab) -> Vec<(String, f64)> {
    let mut want = Vec::new();
    for (peer, vrf) in [("10.0.0.2", "_public_"), ("172.16.0.2", "vpn1")] {
        let (state, pref) = peer_row(lab, peer);
        let labels = [("peer", peer), ("vpn_instance", vrf)];
        want.push((key("tern_bgp_peer_state", &labels), state_number(&state)));
        want.push((
            key("tern_bgp_peer_established", &labels),
            f64::from(u8::from(state == "Established")),
        ));
        // PrefRcv is the sum over the peer's families.
        want.push((format!("sum:received:{peer}"), pref));
    }
    let received = |peer: &str, fam: &str, vrf: &str, cmd: &str| {
        let n = routes(lab, cmd);
        (
            key(
                "tern_bgp_peer_prefixes_received",
                &[("peer", peer), ("vpn_instance", vrf), ("afi_safi", fam)],
            ),
            n as f64,
        )
    };
    want.push(received(
        "10.0.0.2",
        "ipv4-unicast",
        "_public_",
        "display bgp routing-table peer 10.0.0.2 received-routes",
    ));
    want.push(received(
        "10.0.0.2",
        "vpnv4",
        "_public_",
        "display bgp vpnv4 all routing-table peer 10.0.0.2 received-routes",
    ));
    let accepted = |peer: &str, fam: &str, vrf: &str, cmd: &str| {
        (
            key(
                "tern_bgp_peer_prefixes_accepted",
                &[("peer", peer), ("vpn_instance", vrf), ("afi_safi", fam)],
            ),
            routes(lab, cmd) as f64,
        )
    };
    want.push(accepted(
        "10.0.0.2",
        "ipv4-unicast",
        "_public_",
        "display bgp routing-table peer 10.0.0.2 accepted-routes",
    ));
    want.push(accepted(
        "10.0.0.2",
        "vpnv4",
        "_public_",
        "display bgp vpnv4 all routing-table peer 10.0.0.2 accepted-routes",
    ));
    let stats = |cmd: &str, label: &str| {
        let text = lab.ternd.display(cmd, false).unwrap();
        figure(&text, label)
    };
    let table = |vrf: &str, fam: &str| {
        key(
            "tern_rib_routes",
            &[("vpn_instance", vrf), ("afi_safi", fam)],
        )
    };
    want.push((
        table("_public_", "ipv4-unicast"),
        stats(
            "display bgp routing-table statistics",
            "Total Number of Routes",
        ),
    ));
    want.push((
        table("_public_", "vpnv4"),
        stats(
            "display bgp vpnv4 all routing-table statistics",
            "Total number of routes from all PE",
        ),
    ));
    want.push((
        table("vpn1", "ipv4-unicast"),
        stats(
            "display bgp vpnv4 vpn-instance vpn1 routing-table statistics",
            "Total Number of Routes",
        ),
    ));
    want
}

/// The value of `k` among `got`, summing the received prefixes of a peer for `sum:received:`.
fn value(got: &BTreeMap<String, f64>, k: &str) -> Option<f64> {
    match k.strip_prefix("sum:received:") {
        Some(peer) => {
            let head = "tern_bgp_peer_prefixes_received{";
            let needle = format!("peer=\"{peer}\"");
            Some(
                got.iter()
                    .filter(|(s, _)| s.starts_with(head) && s.contains(&needle))
                    .map(|(_, v)| *v)
                    .sum(),
            )
        }
        None => got.get(k).copied(),
    }
}

#[test]
fn metrics_match_the_displays_and_prometheus_reads_them() {
    let lab = lab("me");
    // The routes as the displays show them (nothing changes any more: every route is in).
    let want = expected(&lab);
    eprintln!("the displays show: {want:#?}");
    let want_map: BTreeMap<String, f64> = want.iter().cloned().collect();
    assert_eq!(
        want_map[&key(
            "tern_bgp_peer_prefixes_accepted",
            &[
                ("peer", "10.0.0.2"),
                ("vpn_instance", "_public_"),
                ("afi_safi", "ipv4-unicast")
            ]
        )],
        2.0,
        "the import policy refuses one of three"
    );
    assert_eq!(
        want_map[&key(
            "tern_bgp_peer_prefixes_accepted",
            &[
                ("peer", "10.0.0.2"),
                ("vpn_instance", "_public_"),
                ("afi_safi", "vpnv4")
            ]
        )],
        1.0,
        "the looped routes are refused"
    );

    // 1. The exposition passes promtool's parser and linter, and says what the displays say.
    let text = lab.scrape();
    let check = lab.t_ns.sh(&format!(
        "curl -sf http://{METRICS}/metrics | promtool check metrics 2>&1; echo rc=$?"
    ));
    assert!(
        check.trim_end().ends_with("rc=0"),
        "promtool: {check}\n{text}"
    );
    let got = samples(&text);
    for (k, v) in &want {
        assert_eq!(value(&got, k), Some(*v), "{k} in the scrape:\n{text}");
    }
    // The update group of the two EBGP peers, the engine's step timings.
    assert!(
        got.keys()
            .any(|k| k.starts_with("tern_update_group_peers{")),
        "{text}"
    );
    assert!(
        got.keys()
            .any(|k| k.starts_with("tern_engine_step_seconds_count{")
                && k.contains("step=\"input\"")),
        "{text}"
    );
    // The listening sockets: BGP and the metrics address.
    let listening = lab.t_ns.sh("ss -Htln");
    assert!(listening.contains(METRICS), "{listening}");

    // 2. Prometheus scrapes it: once it holds a sample taken after the routes were in, its
    // answers are the displays' figures.
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let prom = Prometheus::start(&lab.t_ns);
    let fresh = wait_for(Duration::from_secs(60), || {
        lab.query("timestamp(tern_bgp_peer_state{peer=\"10.0.0.2\"})")
            .ok()
            .and_then(|r| r.first().cloned())
            .and_then(|s| s["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()))
            .is_some_and(|t| t > since)
    });
    assert!(
        fresh,
        "Prometheus has no fresh sample: {:?}\n{}",
        lab.query("up"),
        prom.log()
    );
    let mut from_prometheus = BTreeMap::new();
    for q in [
        "tern_bgp_peer_state",
        "tern_bgp_peer_established",
        "tern_bgp_peer_prefixes_received",
        "tern_bgp_peer_prefixes_accepted",
        "tern_rib_routes",
    ] {
        for s in lab.query(q).unwrap_or_else(|e| panic!("{q}: {e}")) {
            let m = s["metric"].as_object().cloned().unwrap_or_default();
            let labels: Vec<(&str, &str)> = m
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "__name__" | "job" | "instance"))
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()))
                .collect();
            let v: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
            from_prometheus.insert(key(q, &labels), v);
        }
    }
    for (k, v) in &want {
        assert_eq!(
            value(&from_prometheus, k),
            Some(*v),
            "{k} from Prometheus: {from_prometheus:#?}"
        );
    }
    // The displays still say the same (nothing moved while Prometheus was asked).
    assert_eq!(expected(&lab), want);
}

/// The PromQL expressions of a Grafana dashboard (panels nested in rows included).
fn expressions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr", Value::String(s)) => out.push(s.clone()),
                    _ => expressions(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| expressions(x, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_queries_name_live_metrics() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana/tern.json");
    let text = std::fs::read_to_string(&path).expect("dashboard");
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    expressions(&dash["panels"], &mut exprs);
    // The variables' queries (`label_values(…)`), as text.
    let templated = vec![dash["templating"].to_string()];
    assert!(exprs.len() >= 10, "{exprs:?}");

    let lab = lab("md");
    let live = names(&lab.scrape());
    let metric = regex::Regex::new(r"\btern_[a-zA-Z0-9_:]*").unwrap();
    for e in exprs.iter().chain(&templated) {
        let used: Vec<&str> = metric.find_iter(e).map(|m| m.as_str()).collect();
        assert!(!used.is_empty(), "a query naming no tern metric: {e}");
        for m in used {
            assert!(
                live.contains(m),
                "{m} (in {e}) is not in a live scrape: {live:?}"
            );
        }
    }
    // Prometheus takes every query (Grafana's variables given values) and has data for it.
    let prom = Prometheus::start(&lab.t_ns);
    let grafana = |e: &str| {
        e.replace("$__rate_interval", "1m")
            .replace("${instance}", ".*")
            .replace("$instance", ".*")
            .replace("${peer}", ".*")
            .replace("$peer", ".*")
    };
    for e in &exprs {
        let q = grafana(e);
        let answered = wait_for(Duration::from_secs(60), || {
            lab.query(&q).is_ok_and(|r| !r.is_empty())
        });
        assert!(
            answered,
            "no data for {q}: {:?}\n{}",
            lab.query(&q),
            prom.log()
        );
    }
}

#[test]
fn without_the_flag_nothing_but_bgp_listens() {
    let ns = Netns::new("mo");
    let dir = TempDir::new("mo");
    let _ternd = Ternd::start(&ns, &dir, "ternd", T_CFG, &["0.0.0.0:179"]);
    let listening = ns.sh("ss -Htln");
    let ports: Vec<&str> = listening
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    assert!(!ports.is_empty(), "{listening}");
    assert!(
        ports.iter().all(|p| p.ends_with(":179")),
        "something else listens: {listening}"
    );
}
