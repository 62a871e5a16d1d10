//! Acceptance: the vendor's worked examples (`/work/shared/reference/huawei/*`, the files
//! unchanged) and `examples/seed-option-c-rr`, each run with `tern lab up` and checked
//! against the results the vendor shows, through ternd's JSON displays (`tern lab exec
//! --json`); then `tern lab down` must leave no namespace, veth or process of the lab.
//!
//! Each example is a lab of its own (its own name and state directory); three run at a time
//! (an option C lab takes ~35 s to come up, mostly waiting for ternd's 32 s connect retry of
//! the PE–PE session, little CPU). Every check is named and printed (`--nocapture` shows
//! them); a check that fails is retried for a few seconds (routes may still be on their way
//! when the last session comes up), and every failure of every example is reported at the end.
//! `TERN_EXAMPLES=ipv4-option-b-rr,seed-option-c-rr` runs only those.
//!
//! Needs root (network namespaces).

mod common;

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{alive, tern, ternd, text};
use serde_json::Value;

/// Labs up at the same time.
const PARALLEL: usize = 3;
/// How long a failing check is retried.
const SETTLE: Duration = Duration::from_secs(15);

fn vendor_dir(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/huawei"
    ))
    .join(name)
}

fn seed_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/seed-option-c-rr"
    ))
}

/// One running example.
struct Lab {
    example: String,
    name: String,
    state_root: PathBuf,
    /// `tern lab up`'s output.
    up: String,
}

impl Lab {
    fn tern(&self, args: &[&str]) -> std::process::Output {
        Command::new(tern())
            .env("TERN_LAB_DIR", &self.state_root)
            .args(args)
            .output()
            .expect("run tern")
    }

    fn state_dir(&self) -> PathBuf {
        self.state_root.join(&self.name)
    }

    /// A display's JSON on a router.
    fn json(&self, node: &str, line: &str) -> Result<Value, String> {
        let out = self.tern(&["lab", "exec", "--name", &self.name, "--json", node, line]);
        let t = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!("{node}: `{line}` failed: {}", text(&out)));
        }
        serde_json::from_str(&t).map_err(|e| format!("{node}: `{line}`: {e}: {t}"))
    }

    /// The rows of a routing-table display.
    fn routes(&self, node: &str, line: &str) -> Result<Vec<Value>, String> {
        let v = self.json(node, line)?;
        v["routes"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("{node}: `{line}`: no routes in {v}"))
    }

    /// The best valid row of `prefix` (and route distinguisher `rd` when given).
    fn best(
        &self,
        node: &str,
        line: &str,
        prefix: &str,
        rd: Option<&str>,
    ) -> Result<Value, String> {
        let rows = self.routes(node, line)?;
        rows.iter()
            .find(|r| {
                r["prefix"] == prefix
                    && r["best"] == true
                    && r["valid"] == true
                    && rd.is_none_or(|d| r["rd"] == d)
            })
            .cloned()
            .ok_or_else(|| {
                format!(
                    "{node}: `{line}` has no best route to {prefix}{}: {}",
                    rd.map(|d| format!(" (RD {d})")).unwrap_or_default(),
                    summary(&rows)
                )
            })
    }

    /// The state of the peer `addr` in `display bgp peer`.
    fn peer(&self, node: &str, addr: &str) -> Result<Value, String> {
        let v = self.json(node, "display bgp peer")?;
        v.as_array()
            .into_iter()
            .flatten()
            .find(|p| p["addr"] == addr)
            .cloned()
            .ok_or_else(|| format!("{node} has no peer {addr}: {v}"))
    }

    /// The kernel routes of a router (`ip -4 route show` with extra arguments).
    fn kernel(&self, node: &str, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args([
                "-n",
                &format!("tern-{}-{node}", self.name),
                "-4",
                "route",
                "show",
            ])
            .args(args)
            .output()
            .expect("ip route");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Rows as `prefix via next_hop` for messages.
fn summary(rows: &[Value]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{}{} via {}{}{}",
                r["rd"]
                    .as_str()
                    .map(|d| format!("{d} "))
                    .unwrap_or_default(),
                r["prefix"].as_str().unwrap_or("?"),
                r["next_hop"].as_str().unwrap_or("?"),
                if r["best"] == true { " best" } else { "" },
                if r["valid"] == true { "" } else { " invalid" },
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got:?}, expected {want:?}"))
    }
}

fn label(v: &Value) -> Option<u64> {
    v.as_u64()
}

fn labels(r: &Value) -> Vec<u64> {
    r["labels"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The named checks of one example and their outcomes.
struct Checks<'a> {
    lab: &'a Lab,
    results: Vec<(String, Result<(), String>)>,
}

impl Checks<'_> {
    /// Runs a check, retrying it for [`SETTLE`] while it fails.
    fn check(&mut self, what: &str, f: impl Fn(&Lab) -> Result<(), String>) {
        let deadline = Instant::now() + SETTLE;
        let r = loop {
            let r = f(self.lab);
            if r.is_ok() || Instant::now() > deadline {
                break r;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        println!(
            "[{}] {} {what}{}",
            self.lab.example,
            if r.is_ok() { "ok  " } else { "FAIL" },
            r.as_ref()
                .err()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
        self.results.push((what.to_owned(), r));
    }
}

/// An option C example: which one, and its addresses.
struct OptionC {
    v6: bool,
    /// The solution: 1 (labeled IBGP PE–ASBR, `network` on the ASBRs), 2 (`import-route bgp`
    /// on the ASBRs, no IBGP PE–ASBR), or the labeled-unicast variant of 1.
    solution: Solution,
    /// ASBR1's and ASBR2's addresses on their link.
    asbr_link: (&'static str, &'static str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Solution {
    One,
    Two,
    LabeledUnicast,
}

const PE1: &str = "1.1.1.9";
const PE2: &str = "4.4.4.9";

impl OptionC {
    fn vpn(&self) -> &'static str {
        if self.v6 { "vpnv6" } else { "vpnv4" }
    }
    /// CE1's and CE2's prefixes.
    fn ce(&self) -> (&'static str, &'static str) {
        if self.v6 {
            ("2001:db8:1::/64", "2001:db8:2::/64")
        } else {
            ("10.1.1.0/24", "10.2.1.0/24")
        }
    }
    /// PE1's and PE2's addresses toward their CE.
    fn pe_ce(&self) -> (&'static str, &'static str) {
        if self.v6 {
            ("2001:db8:1::2", "2001:db8:2::2")
        } else {
            ("10.1.1.2", "10.2.1.2")
        }
    }
    /// A VPN route's next hop: the remote PE's loopback (IPv4-mapped for VPNv6).
    fn vpn_next_hop(&self, pe: &str) -> String {
        if self.v6 {
            format!("::ffff:{pe}")
        } else {
            pe.to_owned()
        }
    }
    fn ce_table(&self) -> &'static str {
        if self.v6 {
            "display bgp ipv6 routing-table"
        } else {
            "display bgp routing-table"
        }
    }
}

fn option_c(c: &mut Checks, o: &OptionC) {
    let vpn = o.vpn();
    let (ce1, ce2) = o.ce();
    let (pe1_ce, pe2_ce) = o.pe_ce();
    let instance = format!("display bgp {vpn} vpn-instance vpn1 routing-table");
    let all = format!("display bgp {vpn} all routing-table");

    // PE1–PE2: multihop MP-EBGP between the loopbacks (`ebgp-max-hop 10`,
    // `connect-interface LoopBack1`).
    for (pe, mine, peer, other) in [("PE1", PE1, "PE2", PE2), ("PE2", PE2, "PE1", PE1)] {
        c.check(
            &format!("{pe}–{peer} EBGP Established between the loopbacks {mine}–{other}"),
            |lab| {
                let p = lab.peer(pe, other)?;
                eq("state", p["state"].as_str(), Some("Established"))?;
                eq("ebgp", p["ebgp"].as_bool(), Some(true))?;
                let local = p["local"].as_str().unwrap_or_default();
                let remote = p["remote"].as_str().unwrap_or_default();
                if !local.starts_with(&format!("{mine}:"))
                    || !remote.starts_with(&format!("{other}:"))
                {
                    return Err(format!("session {local} -> {remote}"));
                }
                let fams = p["negotiated"]["families"].to_string();
                if !fams.contains(&format!("\"{vpn}\"")) {
                    return Err(format!("families {fams}"));
                }
                Ok(())
            },
        );
    }
    if o.solution == Solution::Two {
        // No IBGP between PE and ASBR: the PEs' only peers are each other and their CE.
        for (pe, n) in [("PE1", PE2), ("PE2", PE1)] {
            c.check(&format!("{pe} peers only with {n} and its CE"), |lab| {
                let v = lab.json(pe, "display bgp peer")?;
                let addrs: Vec<&str> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["addr"].as_str())
                    .collect();
                eq("peers", addrs.len(), 2).map_err(|e| format!("{e} {addrs:?}"))
            });
        }
        // The ASBRs' import-route bgp, emulated by the lab.
        c.check(
            "up reports ASBR1 redistributing 4.4.4.9/32 into OSPF",
            |lab| {
                let line = "ASBR1 redistributes 4.4.4.9/32 into OSPF (import-route bgp) → PE1";
                lab.up
                    .contains(line)
                    .then_some(())
                    .ok_or_else(|| format!("no `{line}` in:\n{}", lab.up))
            },
        );
        for (pe, asbr, dest, via) in [
            ("PE1", "ASBR1", PE2, "172.16.1.1"),
            ("PE2", "ASBR2", PE1, "10.162.1.1"),
        ] {
            c.check(
                &format!("{pe}'s kernel reaches {dest} through {asbr}'s redistribution"),
                |lab| {
                    let r = lab.kernel(pe, &[dest, "proto", "188"]);
                    r.contains(&format!("{dest} via {via} "))
                        .then_some(())
                        .ok_or_else(|| format!("`ip route show {dest} proto ospf`: {r:?}"))
                },
            );
        }
    }

    // The CE prefixes in the remote PE's VPN instance, next hop the other PE's loopback,
    // with the label the other PE gave its instance.
    for (pe, remote, prefix, remote_lo) in [("PE2", "PE1", ce1, PE1), ("PE1", "PE2", ce2, PE2)] {
        c.check(
            &format!(
                "{pe} vpn1 holds {prefix} via {} with {remote}'s label",
                o.vpn_next_hop(remote_lo)
            ),
            |lab| {
                let r = lab.best(pe, &instance, prefix, None)?;
                eq(
                    "next hop",
                    r["next_hop"].as_str(),
                    Some(o.vpn_next_hop(remote_lo).as_str()),
                )?;
                let theirs = lab.best(remote, &all, prefix, None)?;
                let want = labels(&theirs);
                if want.is_empty() {
                    return Err(format!("{remote} exports {prefix} without a label"));
                }
                eq("labels", labels(&r), want)?;
                eq("from", r["from"].as_str(), Some(remote_lo))
            },
        );
    }
    // Each CE learns the other's prefix by EBGP.
    for (ce, prefix, next_hop, path) in [
        ("CE2", ce1, pe2_ce, "200 100"),
        ("CE1", ce2, pe1_ce, "100 200"),
    ] {
        c.check(
            &format!("{ce} learns {prefix} by EBGP (AS path {path})"),
            |lab| {
                let r = lab.best(ce, o.ce_table(), prefix, None)?;
                eq("next hop", r["next_hop"].as_str(), Some(next_hop))?;
                eq("AS path", r["as_path"].as_str(), Some(path))
            },
        );
    }
    // The ASBRs hold no VPN routes.
    for asbr in ["ASBR1", "ASBR2"] {
        c.check(&format!("{asbr} holds no {vpn} routes"), |lab| {
            let rows = lab.routes(asbr, &all)?;
            rows.is_empty().then_some(()).ok_or_else(|| summary(&rows))
        });
    }

    // The labeled PE loopbacks on the ASBRs.
    let label_table = "display bgp routing-table label";
    let (a1, a2) = o.asbr_link;
    for (asbr, own, own_asbr_next_hop, remote, remote_next_hop, peer_asbr) in [
        ("ASBR1", PE1, "0.0.0.0", PE2, a2, "ASBR2"),
        ("ASBR2", PE2, "0.0.0.0", PE1, a1, "ASBR1"),
    ] {
        match o.solution {
            Solution::One | Solution::Two => {
                c.check(
                    &format!("{asbr} labels {own} (its `network`): next hop 0.0.0.0, an in-label, no out-label"),
                    |lab| {
                        let r = lab.best(asbr, label_table, &format!("{own}/32"), None)?;
                        eq("next hop", r["next_hop"].as_str(), Some(own_asbr_next_hop))?;
                        label(&r["in_label"]).ok_or("no in-label")?;
                        eq("out labels", labels(&r), vec![])
                    },
                );
            }
            Solution::LabeledUnicast => {
                // The PE originates its loopback in labeled-unicast; the ASBR learns it by
                // IBGP and passes it on to the other ASBR with a label of its own.
                c.check(
                    &format!(
                        "{asbr} labels {own} (from its PE): next hop {own}, in- and out-labels"
                    ),
                    |lab| {
                        let r = lab.best(
                            asbr,
                            "display bgp labeled routing-table",
                            &format!("{own}/32"),
                            None,
                        )?;
                        eq("next hop", r["next_hop"].as_str(), Some(own))?;
                        let out = labels(&r);
                        let pe = if own == PE1 { "PE1" } else { "PE2" };
                        let at_pe = lab.best(pe, label_table, &format!("{own}/32"), None)?;
                        eq(
                            "PE's own row next hop",
                            at_pe["next_hop"].as_str(),
                            Some("0.0.0.0"),
                        )?;
                        eq(
                            "out label = the PE's in-label",
                            out.first().copied(),
                            label(&at_pe["in_label"]),
                        )?;
                        let r = lab.best(asbr, label_table, &format!("{own}/32"), None)?;
                        label(&r["in_label"]).ok_or("no in-label")?;
                        Ok(())
                    },
                );
            }
        }
        c.check(
            &format!("{asbr} labels {remote} (from {peer_asbr}): next hop {remote_next_hop}, out-label = {peer_asbr}'s in-label"),
            |lab| {
                let r = lab.best(asbr, label_table, &format!("{remote}/32"), None)?;
                eq("next hop", r["next_hop"].as_str(), Some(remote_next_hop))?;
                let theirs = lab.best(peer_asbr, label_table, &format!("{remote}/32"), None)?;
                let want = label(&theirs["in_label"]).ok_or(format!("{peer_asbr} has no in-label"))?;
                eq("out label", labels(&r), vec![want])?;
                if o.solution != Solution::Two {
                    // Passed on to the PE over IBGP with a new label. (Solution 2 passes it
                    // to no BGP peer: the PEs get it from OSPF and, in the vendor's network,
                    // an LDP label; no in-label is asserted there.)
                    label(&r["in_label"]).ok_or("no in-label")?;
                }
                Ok(())
            },
        );
    }
    if o.solution != Solution::Two {
        // The PEs' labeled route to the other PE: from their ASBR, with its in-label.
        for (pe, asbr, asbr_lo, remote) in [
            ("PE1", "ASBR1", "2.2.2.9", PE2),
            ("PE2", "ASBR2", "3.3.3.9", PE1),
        ] {
            c.check(
                &format!("{pe} labels {remote}: next hop {asbr_lo} ({asbr}), out-label = {asbr}'s in-label"),
                |lab| {
                    let r = lab.best(pe, label_table, &format!("{remote}/32"), None)?;
                    eq("next hop", r["next_hop"].as_str(), Some(asbr_lo))?;
                    let theirs = lab.best(asbr, label_table, &format!("{remote}/32"), None)?;
                    eq("out label", labels(&r), label(&theirs["in_label"]).into_iter().collect())
                },
            );
        }
    }
    if o.v6 && o.solution == Solution::One {
        ebgp_max_hop_negative_path(c);
    }
}

/// The negative path on the running lab (issue: `undo peer 4.4.4.9 ebgp-max-hop` and `commit`
/// on PE1 bring the PE–PE session down and `display bgp peer` says why; `rollback
/// configuration` brings it back).
fn ebgp_max_hop_negative_path(c: &mut Checks) {
    let exec = |lab: &Lab, lines: &[&str]| -> Result<String, String> {
        let mut args = vec!["lab", "exec", "--name", &lab.name, "PE1"];
        args.extend_from_slice(lines);
        let out = lab.tern(&args);
        let t = text(&out);
        if out.status.success() { Ok(t) } else { Err(t) }
    };
    c.check("PE1: undo peer 4.4.4.9 ebgp-max-hop, commit", |lab| {
        let t = exec(
            lab,
            &[
                "system-view",
                "bgp 100",
                "undo peer 4.4.4.9 ebgp-max-hop",
                "commit",
            ],
        )?;
        if t.contains("Error") { Err(t) } else { Ok(()) }
    });
    c.check(
        "PE1–PE2 down, display bgp peer says ebgp-max-hop is missing",
        |lab| {
            let p = lab.peer("PE1", PE2)?;
            if p["state"] == "Established" {
                return Err(format!("still Established: {p}"));
            }
            let why = p["reason"].as_str().unwrap_or_default();
            if !why.contains("not directly connected") || !why.contains("ebgp-max-hop") {
                return Err(format!("reason: {p}"));
            }
            let text = exec(lab, &["display bgp peer 4.4.4.9 verbose"])?;
            if text.contains("ebgp-max-hop") {
                Ok(())
            } else {
                Err(text)
            }
        },
    );
    c.check("PE1: rollback configuration last 1", |lab| {
        let t = exec(lab, &["rollback configuration last 1"])?;
        if t.contains("Error") { Err(t) } else { Ok(()) }
    });
    c.check("PE1–PE2 Established again after the rollback", |lab| {
        let p = lab.peer("PE1", PE2)?;
        eq("state", p["state"].as_str(), Some("Established"))
    });
}

fn option_b_rr(c: &mut Checks) {
    let all = "display bgp vpnv4 all routing-table";
    let instance = "display bgp vpnv4 vpn-instance vpna routing-table";
    // Every CE loopback with its RD and its PE (PE2's by ASBR1 through option B).
    let ces = [
        ("11.11.11.11/32", "100:1", "1.1.1.1", "PE1"),
        ("22.22.22.22/32", "200:2", "5.5.5.5", "ASBR1"),
        ("33.33.33.33/32", "100:3", "3.3.3.3", "PE3"),
    ];
    c.check("RR: 3 reflect-clients, sessions Established", |lab| {
        for a in ["1.1.1.1", "3.3.3.3", "5.5.5.5"] {
            eq(a, lab.peer("RR", a)?["state"].as_str(), Some("Established"))?;
        }
        Ok(())
    });
    // The RR has no VPN instance: with `undo policy vpn-target` it keeps every VPNv4 route.
    for (prefix, rd, nh, _) in ces {
        c.check(
            &format!("RR holds {prefix} (RD {rd}) via {nh} (undo policy vpn-target)"),
            |lab| {
                let r = lab.best("RR", all, prefix, Some(rd))?;
                eq("next hop", r["next_hop"].as_str(), Some(nh))
            },
        );
    }
    // Reflected: ORIGINATOR_ID the originating client, CLUSTER_LIST the RR's.
    for (node, (prefix, rd, nh, origin)) in [
        ("PE3", ces[0]),
        ("PE1", ces[2]),
        ("PE1", ces[1]),
        ("ASBR1", ces[0]),
    ] {
        let id = match origin {
            "PE1" => "1.1.1.1",
            "PE3" => "3.3.3.3",
            _ => "5.5.5.5",
        };
        c.check(
            &format!("{node} gets {prefix} reflected: next hop {nh}, originator {id}, cluster list 4.4.4.4"),
            |lab| {
                let r = lab.best(node, all, prefix, Some(rd))?;
                eq("next hop", r["next_hop"].as_str(), Some(nh))?;
                eq("from", r["from"].as_str(), Some("4.4.4.4"))?;
                eq("originator", r["originator_id"].as_str(), Some(id))?;
                eq("cluster list", r["cluster_list"].to_string(), "[\"4.4.4.4\"]".to_owned())
            },
        );
    }
    // Option B across the ASes: ASBR2 (undo policy vpn-target) holds AS 100's routes from
    // ASBR1 and gives them to PE2 as their next hop.
    c.check(
        "ASBR2 holds 11.11.11.11/32 from ASBR1 (next hop 12.12.12.1)",
        |lab| {
            let r = lab.best("ASBR2", all, "11.11.11.11/32", Some("100:1"))?;
            eq("next hop", r["next_hop"].as_str(), Some("12.12.12.1"))
        },
    );
    c.check(
        "PE2 vpna holds 11.11.11.11/32 via ASBR2 (6.6.6.6) with ASBR2's label",
        |lab| {
            let r = lab.best("PE2", instance, "11.11.11.11/32", None)?;
            eq("next hop", r["next_hop"].as_str(), Some("6.6.6.6"))?;
            let at = lab.best(
                "ASBR2",
                "display bgp vpnv4 all routing-table label",
                "11.11.11.11/32",
                Some("100:1"),
            )?;
            eq(
                "label",
                labels(&r),
                label(&at["in_label"]).into_iter().collect(),
            )
        },
    );
    c.check(
        "PE3 vpna holds 11.11.11.11/32 via PE1 with PE1's label",
        |lab| {
            let r = lab.best("PE3", instance, "11.11.11.11/32", None)?;
            eq("next hop", r["next_hop"].as_str(), Some("1.1.1.1"))?;
            let at = lab.best("PE1", all, "11.11.11.11/32", Some("100:1"))?;
            eq("label", labels(&r), labels(&at))
        },
    );
    // The CEs learn each other's loopbacks.
    for (ce, pe_addr, routes) in [
        (
            "CE1",
            "10.1.1.2",
            [
                ("22.22.22.22/32", "100 200 65002"),
                ("33.33.33.33/32", "100 65003"),
            ],
        ),
        (
            "CE2",
            "10.2.1.2",
            [
                ("11.11.11.11/32", "200 100 65001"),
                ("33.33.33.33/32", "200 100 65003"),
            ],
        ),
        (
            "CE3",
            "10.3.1.2",
            [
                ("11.11.11.11/32", "100 65001"),
                ("22.22.22.22/32", "100 200 65002"),
            ],
        ),
    ] {
        for (prefix, path) in routes {
            c.check(&format!("{ce} learns {prefix} (AS path {path})"), |lab| {
                let r = lab.best(ce, "display bgp routing-table", prefix, None)?;
                eq("next hop", r["next_hop"].as_str(), Some(pe_addr))?;
                eq("AS path", r["as_path"].as_str(), Some(path))
            });
        }
    }
}

fn seed_option_c_rr(c: &mut Checks) {
    let prefix = "2001:db8:1::/64";
    c.check("RR1–RR2 multihop EBGP Established", |lab| {
        let p = lab.peer("RR1", "8.8.8.9")?;
        eq("state", p["state"].as_str(), Some("Established"))?;
        eq("ebgp", p["ebgp"].as_bool(), Some(true))
    });
    // The RRs keep the VPNv6 route with the original next hop (next-hop-invariable).
    for rr in ["RR1", "RR2"] {
        c.check(
            &format!("{rr} holds {prefix} (RD 100:1) via ::ffff:1.1.1.9 (undo policy vpn-target)"),
            |lab| {
                let r = lab.best(
                    rr,
                    "display bgp vpnv6 all routing-table",
                    prefix,
                    Some("100:1"),
                )?;
                eq("next hop", r["next_hop"].as_str(), Some("::ffff:1.1.1.9"))
            },
        );
    }
    c.check(
        "PE2 vpn1 holds CE1's prefix via ::ffff:1.1.1.9 with PE1's label",
        |lab| {
            let r = lab.best(
                "PE2",
                "display bgp vpnv6 vpn-instance vpn1 routing-table",
                prefix,
                None,
            )?;
            eq("next hop", r["next_hop"].as_str(), Some("::ffff:1.1.1.9"))?;
            let at = lab.best(
                "PE1",
                "display bgp vpnv6 all routing-table",
                prefix,
                Some("100:1"),
            )?;
            let want = labels(&at);
            if want.is_empty() {
                return Err("PE1 exports it without a label".into());
            }
            eq("labels", labels(&r), want)
        },
    );
    c.check("CE2 learns CE1's prefix by EBGP", |lab| {
        let r = lab.best("CE2", "display bgp ipv6 routing-table", prefix, None)?;
        eq("next hop", r["next_hop"].as_str(), Some("2001:db8:2::2"))?;
        eq("AS path", r["as_path"].as_str(), Some("200 100"))
    });
    c.check("CE1 learns CE2's prefix by EBGP", |lab| {
        let r = lab.best(
            "CE1",
            "display bgp ipv6 routing-table",
            "2001:db8:2::/64",
            None,
        )?;
        eq("next hop", r["next_hop"].as_str(), Some("2001:db8:1::2"))
    });
    for asbr in ["ASBR1", "ASBR2"] {
        c.check(&format!("{asbr} holds no VPNv6 routes"), |lab| {
            let rows = lab.routes(asbr, "display bgp vpnv6 all routing-table")?;
            rows.is_empty().then_some(()).ok_or_else(|| summary(&rows))
        });
    }
}

/// An example: folder, lab tag, checks.
struct Example {
    name: &'static str,
    dir: PathBuf,
    tag: &'static str,
    check: Box<dyn Fn(&mut Checks) + Send>,
}

fn examples() -> Vec<Example> {
    let c = |v6, solution, asbr_link| OptionC {
        v6,
        solution,
        asbr_link,
    };
    let s1 = ("10.21.1.1", "10.21.1.2");
    let s2 = ("192.168.1.1", "192.168.1.2");
    let opt = |name: &'static str, tag, o: OptionC| Example {
        name,
        dir: vendor_dir(name),
        tag,
        check: Box::new(move |ch| option_c(ch, &o)),
    };
    vec![
        // The one that converges at once first: it frees its slot early.
        Example {
            name: "ipv4-option-b-rr",
            dir: vendor_dir("ipv4-option-b-rr"),
            tag: "b",
            check: Box::new(option_b_rr),
        },
        opt("ipv6-option-c-s1", "c6s1", c(true, Solution::One, s1)),
        opt("ipv6-option-c-s2", "c6s2", c(true, Solution::Two, s2)),
        opt("ipv4-option-c-s1", "c4s1", c(false, Solution::One, s1)),
        opt("ipv4-option-c-s2", "c4s2", c(false, Solution::Two, s2)),
        opt(
            "ipv4-option-c-lu-s1",
            "lu",
            c(false, Solution::LabeledUnicast, s1),
        ),
        Example {
            name: "seed-option-c-rr",
            dir: seed_dir(),
            tag: "seed",
            check: Box::new(seed_option_c_rr),
        },
    ]
}

/// Brings an example up, checks it, takes it down and checks nothing is left. The failures,
/// as lines.
fn run(ex: &Example) -> Vec<String> {
    let name = format!("v{}{}", std::process::id() % 100_000, ex.tag);
    let state_root = std::env::temp_dir().join(format!("tern-vendor-test-{name}"));
    let mut lab = Lab {
        example: ex.name.to_owned(),
        name,
        state_root,
        up: String::new(),
    };
    let started = Instant::now();
    let out = lab.tern(&[
        "lab",
        "up",
        ex.dir.to_str().unwrap(),
        "--name",
        &lab.name,
        "--ternd",
        ternd().to_str().unwrap(),
        "--timeout",
        "120",
    ]);
    lab.up = text(&out);
    let mut failures = Vec::new();
    println!("[{}] up in {} s", ex.name, started.elapsed().as_secs());
    if out.status.success() {
        let mut checks = Checks {
            lab: &lab,
            results: Vec::new(),
        };
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| (ex.check)(&mut checks)));
        failures.extend(
            checks
                .results
                .into_iter()
                .filter_map(|(what, r)| r.err().map(|e| format!("{what}: {e}"))),
        );
        if r.is_err() {
            failures.push("a check panicked".into());
        }
    } else {
        failures.push(format!("tern lab up failed:\n{}", lab.up));
    }
    if !failures.is_empty() {
        // What each router logged (the ends), before the lab and its logs go.
        failures.push(node_logs(&lab));
    }
    failures.extend(down(&lab));
    let _ = std::fs::remove_dir_all(&lab.state_root);
    println!(
        "[{}] done in {} s, {} failures",
        ex.name,
        started.elapsed().as_secs(),
        failures.len()
    );
    failures
}

/// The last lines of every router's log (INFO and above), for a failure's report.
fn node_logs(lab: &Lab) -> String {
    let state = std::fs::read_to_string(lab.state_dir().join("lab.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .unwrap_or(Value::Null);
    let mut out = String::new();
    for n in state["nodes"].as_array().into_iter().flatten() {
        let (Some(name), Some(log)) = (n["name"].as_str(), n["log"].as_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.contains("DEBUG")).collect();
        out += &format!(
            "--- {name} log ---\n{}\n",
            lines[lines.len().saturating_sub(40)..].join("\n")
        );
    }
    out
}

/// `tern lab down`, then: no namespace, veth or process of the lab, no state.
fn down(lab: &Lab) -> Vec<String> {
    let mut f = Vec::new();
    let state = std::fs::read_to_string(lab.state_dir().join("lab.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .unwrap_or(Value::Null);
    let mut pids: Vec<(String, u64)> = state["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            Some((
                format!("{}'s ternd", n["name"].as_str()?),
                n["pid"].as_u64()?,
            ))
        })
        .collect();
    if let Some(p) = state["igp_pid"].as_u64() {
        pids.push(("tern lab igp".into(), p));
    }
    let out = lab.tern(&["lab", "down", "--name", &lab.name]);
    if !out.status.success() {
        f.push(format!("tern lab down failed: {}", text(&out)));
    }
    let ns = common::namespaces(&format!("tern-{}-", lab.name));
    if !ns.is_empty() {
        f.push(format!("namespaces left: {ns:?}"));
    }
    for (what, pid) in pids {
        if alive(u32::try_from(pid).unwrap_or(u32::MAX)) {
            f.push(format!("{what} {pid} still runs"));
        }
    }
    let mark = lab.state_dir().to_string_lossy().into_owned();
    let igp = format!(" lab igp --name {}", lab.name);
    for (pid, cmd) in common::processes() {
        if (cmd.contains("ternd") && cmd.contains(&mark)) || cmd.trim_end().ends_with(&igp) {
            f.push(format!("a process of the lab still runs: {pid} {cmd}"));
        }
    }
    // The veths were made in the lab's namespaces and went with them; none is here.
    let links = Command::new("ip")
        .args(["-o", "link", "show", "type", "veth"])
        .output()
        .unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    if links.contains(" ge0-") {
        f.push(format!("veths left here: {links}"));
    }
    if lab.state_dir().exists() {
        f.push(format!("{} is left", lab.state_dir().display()));
    }
    f
}

#[test]
fn vendor_examples_reach_the_vendors_results() {
    let only: Option<Vec<String>> = std::env::var("TERN_EXAMPLES")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect());
    let queue: VecDeque<Example> = examples()
        .into_iter()
        .filter(|e| only.as_ref().is_none_or(|o| o.iter().any(|n| n == e.name)))
        .collect();
    for e in &queue {
        assert!(
            e.dir.join("PE1.cfg").exists(),
            "{}: no such example folder",
            e.dir.display()
        );
    }
    ternd();
    let started = Instant::now();
    let queue = Mutex::new(queue);
    let results: Mutex<Vec<(&'static str, Vec<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| {
                loop {
                    let Some(ex) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    let failures = run(&ex);
                    results.lock().unwrap().push((ex.name, failures));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    println!(
        "{} examples in {} s",
        results.len(),
        started.elapsed().as_secs()
    );
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(n, f)| format!("{n}:\n  {}", f.join("\n  ")))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
