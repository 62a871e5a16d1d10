//! tern-fib against the kernel, each test in a network namespace of its own.
//!
//! How a test gets into its namespace: [`Netns::new`] makes a uniquely named one with
//! `ip netns add` and a veth pair in it; [`Netns::run`] starts a dedicated thread that joins
//! the namespace with setns(2) (nix's safe wrapper, on the `/run/netns/NAME` file), builds a
//! current-thread tokio runtime on that thread and runs the test body there. Every netlink
//! socket the body opens therefore belongs to the namespace, while the test harness' own
//! threads never leave the host's. Shell commands name the namespace with `ip -n NAME`. The
//! guard deletes the namespace (and with it the veth pair and every route) when it drops,
//! also when the test fails; no test starts a process that outlives its `ip` command.
//!
//! They need root (CI runs as root). Without it they fail with a message saying so, unless
//! `TERN_ALLOW_NO_ROOT` is set, in which case they print why and return.

use std::fs::File;
use std::future::Future;
use std::net::IpAddr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ipnet::IpNet;
use nix::sched::{CloneFlags, setns};
use tern_fib::{
    Fib, FibEvent, FibRoute, KernelRoutes, LabelOutcome, MAIN_TABLE, MultipathRoute, PROTO_TERN,
    RouteKind, RouteOp, Watcher, mpls_supported, watch,
};

/// A network namespace for one test, deleted on drop.
struct Netns {
    name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// A fresh namespace named after `test`, with `lo` up and a veth pair `va`–`vb`:
    /// va 10.0.1.1/24 and 2001:db8:1::1/64, vb 10.0.2.1/24 and 2001:db8:2::1/64.
    /// `None` when not root and `TERN_ALLOW_NO_ROOT` is set.
    fn new(test: &str) -> Option<Netns> {
        if !nix::unistd::geteuid().is_root() {
            if std::env::var_os("TERN_ALLOW_NO_ROOT").is_some() {
                eprintln!("{test}: skipped, needs root for network namespaces");
                return None;
            }
            panic!(
                "tern-fib namespace test `{test}` needs root to create network namespaces (CI \
                 runs as root); set TERN_ALLOW_NO_ROOT=1 to skip these tests"
            );
        }
        let name = format!(
            "tern-fib-{test}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run_ip(&["netns", "add", &name]);
        // From here on the guard removes the namespace, whatever fails next.
        let ns = Netns { name };
        for line in [
            "link set lo up",
            "link add va type veth peer name vb",
            "addr add 10.0.1.1/24 dev va",
            "addr add 10.0.2.1/24 dev vb",
            "addr add 2001:db8:1::1/64 dev va nodad",
            "addr add 2001:db8:2::1/64 dev vb nodad",
            "link set va up",
            "link set vb up",
        ] {
            ns.ip(line);
        }
        Some(ns)
    }

    /// Runs `ip -n NS ARGS…`, panicking with its error output when it fails.
    fn ip(&self, args: &str) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend(args.split_whitespace());
        run_ip(&all)
    }

    /// The interface index of `name` in the namespace.
    fn ifindex(&self, name: &str) -> u32 {
        let line = self.ip(&format!("-o link show dev {name}"));
        line.split(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!("no index for {name} in {line:?}");
            })
    }

    /// Runs `body` on a thread inside the namespace, on a current-thread tokio runtime.
    fn run<F, Fut>(&self, body: F) -> Fut::Output
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future,
        Fut::Output: Send,
    {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            let thread = scope.spawn(move || {
                let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                // Only this thread moves; the sockets it opens stay in the namespace.
                setns(&ns, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns: {e}"));
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                runtime.block_on(body())
            });
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let out = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "ip netns del {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!("ip netns del {}: {e}", self.name),
        }
    }
}

fn run_ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip (iproute2 is needed): {e}"));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn dump_sees_connected_routes() {
    let Some(ns) = Netns::new("dump") else { return };
    let va = ns.ifindex("va");
    let vb = ns.ifindex("vb");
    ns.run(|| async {
        let main = KernelRoutes::read(MAIN_TABLE).await.unwrap();
        assert_eq!(main.table(), MAIN_TABLE);
        let listing: Vec<_> = main.iter().collect();
        let v4 = main.get(net("10.0.1.0/24"));
        assert_eq!(v4.len(), 1, "{listing:#?}");
        assert_eq!(v4[0].ifindex, Some(va));
        assert_eq!(v4[0].gateway, None);
        assert_eq!(v4[0].protocol, 2, "proto kernel");
        assert_eq!(v4[0].kind, RouteKind::Unicast);
        assert_eq!(main.get(net("10.0.2.0/24"))[0].ifindex, Some(vb));
        let v6 = main.get(net("2001:db8:1::/64"));
        assert_eq!(v6.len(), 1, "{listing:#?}");
        assert_eq!((v6[0].ifindex, v6[0].metric), (Some(va), 256));
        assert!(main.iter().all(|r| r.protocol != PROTO_TERN));

        // The local table holds the host's own addresses.
        let local = KernelRoutes::read(tern_fib::LOCAL_TABLE).await.unwrap();
        let own = local.get(net("10.0.1.1/32"));
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].kind, RouteKind::Local);

        // A table that was never used is empty, not an error.
        assert!(KernelRoutes::read(2000).await.unwrap().is_empty());
    });
}

#[test]
fn resolve_through_static_routes() {
    let Some(ns) = Netns::new("resolve") else {
        return;
    };
    let va = ns.ifindex("va");
    ns.ip("route add 10.20.0.0/16 via 10.0.1.2 proto static metric 7");
    ns.ip("route add 10.30.0.0/16 via 10.0.1.3 proto 186");
    ns.ip("-6 route add 2001:db8:20::/48 via 2001:db8:1::2 metric 50");
    ns.run(|| async {
        let main = KernelRoutes::read(MAIN_TABLE).await.unwrap();

        let r = main.resolve(addr("10.20.3.4"), Some(PROTO_TERN)).unwrap();
        assert_eq!(r.prefix, net("10.20.0.0/16"));
        assert_eq!(r.gateway, Some(addr("10.0.1.2")));
        assert_eq!((r.ifindex, r.metric, r.protocol), (Some(va), 7, 4));
        assert_eq!(r.forwarding_address(addr("10.20.3.4")), addr("10.0.1.2"));

        // A next hop on a connected network is its own forwarding address.
        let r = main.resolve(addr("10.0.1.9"), Some(PROTO_TERN)).unwrap();
        assert_eq!((r.prefix, r.gateway), (net("10.0.1.0/24"), None));
        assert_eq!(r.forwarding_address(addr("10.0.1.9")), addr("10.0.1.9"));

        // BGP's own routes do not resolve BGP next hops, unless asked to.
        assert_eq!(main.resolve(addr("10.30.1.1"), Some(PROTO_TERN)), None);
        assert_eq!(
            main.resolve(addr("10.30.1.1"), None).unwrap().protocol,
            PROTO_TERN
        );

        let r = main
            .resolve(addr("2001:db8:20::7"), Some(PROTO_TERN))
            .unwrap();
        assert_eq!((r.gateway, r.metric), (Some(addr("2001:db8:1::2")), 50));
        assert_eq!(main.resolve(addr("2001:db8:99::1"), None), None);
    });
}

#[test]
fn install_replace_delete() {
    let Some(ns) = Netns::new("install") else {
        return;
    };
    let vb = ns.ifindex("vb");
    let shown = ns.run(|| async {
        let fib = Fib::main().unwrap();
        let route = FibRoute::via(net("10.40.0.0/16"), addr("10.0.1.2"));
        fib.add(&route).await.unwrap();
        let first = ns.ip("route show proto 186");
        let again = fib.add(&route).await.unwrap_err();
        assert_eq!(again.errno(), Some(17), "EEXIST: {again}");

        fib.replace(&FibRoute::via(route.prefix, addr("10.0.1.3")))
            .await
            .unwrap();
        let replaced = ns.ip("route show proto 186");

        fib.replace(&FibRoute::dev(net("10.60.0.0/16"), vb))
            .await
            .unwrap();
        // RFC 8950: an IPv4 prefix over an IPv6 gateway.
        fib.replace(&FibRoute::via(net("10.50.0.0/16"), addr("2001:db8:1::2")))
            .await
            .unwrap();
        let v6 = FibRoute::via(net("2001:db8:40::/48"), addr("2001:db8:1::2")).with_metric(30);
        fib.add(&v6).await.unwrap();
        let more = ns.ip("route show proto 186") + &ns.ip("-6 route show proto 186");

        // The snapshot sees them with tern's protocol.
        let routes = fib.routes().await.unwrap();
        let mine: Vec<_> = routes.iter().filter(|r| r.protocol == PROTO_TERN).collect();
        assert_eq!(mine.len(), 4, "{mine:#?}");
        assert_eq!(routes.get(net("2001:db8:40::/48"))[0].metric, 30);
        assert_eq!(
            routes.get(net("10.50.0.0/16"))[0].gateway,
            Some(addr("2001:db8:1::2"))
        );

        fib.delete(route.prefix, None).await.unwrap();
        fib.delete(v6.prefix, Some(30)).await.unwrap();
        let missing = fib.delete(route.prefix, None).await.unwrap_err();
        assert_eq!(missing.errno(), Some(3), "ESRCH: {missing}");
        let after = ns.ip("route show proto 186") + &ns.ip("-6 route show proto 186");
        (first, replaced, more, after)
    });
    let (first, replaced, more, after) = shown;
    assert!(
        first.contains("10.40.0.0/16 via 10.0.1.2 dev va"),
        "{first}"
    );
    assert!(
        replaced.contains("10.40.0.0/16 via 10.0.1.3 dev va"),
        "{replaced}"
    );
    assert!(!replaced.contains("10.0.1.2"), "{replaced}");
    assert!(more.contains("10.60.0.0/16 dev vb"), "{more}");
    assert!(
        more.contains("10.50.0.0/16 via inet6 2001:db8:1::2 dev va"),
        "{more}"
    );
    assert!(
        more.contains("2001:db8:40::/48 via 2001:db8:1::2 dev va"),
        "{more}"
    );
    assert!(more.contains("metric 30"), "{more}");
    assert!(!after.contains("10.40.0.0/16"), "{after}");
    assert!(!after.contains("2001:db8:40::/48"), "{after}");
    assert!(
        after.contains("10.60.0.0/16") && after.contains("10.50.0.0/16"),
        "{after}"
    );
}

#[test]
fn vpn_instance_table() {
    let Some(ns) = Netns::new("vrf") else { return };
    ns.run(|| async {
        let fib = Fib::new(1000).unwrap();
        assert_eq!(fib.table(), 1000);
        fib.replace(&FibRoute::via(net("10.70.0.0/16"), addr("10.0.1.2")))
            .await
            .unwrap();
        fib.replace(&FibRoute::via(
            net("2001:db8:70::/48"),
            addr("2001:db8:1::2"),
        ))
        .await
        .unwrap();
        let shown = ns.ip("route show table 1000 proto 186");
        assert!(
            shown.contains("10.70.0.0/16 via 10.0.1.2 dev va"),
            "{shown}"
        );
        let table = fib.routes().await.unwrap();
        assert_eq!(table.table(), 1000);
        assert_eq!(table.len(), 2, "{:#?}", table.iter().collect::<Vec<_>>());
        let r = table.resolve(addr("10.70.1.1"), None).unwrap();
        assert_eq!(r.gateway, Some(addr("10.0.1.2")));
        let main = KernelRoutes::read(MAIN_TABLE).await.unwrap();
        assert!(main.get(net("10.70.0.0/16")).is_empty());
        fib.delete(net("10.70.0.0/16"), None).await.unwrap();
        assert_eq!(fib.routes().await.unwrap().len(), 1);
    });
}

#[test]
fn flush_stale_removes_only_terns_routes() {
    let Some(ns) = Netns::new("flush") else {
        return;
    };
    ns.ip("route add 10.90.0.0/16 via 10.0.1.2 proto static");
    // Left behind by an earlier run.
    ns.ip("route add 10.91.0.0/16 via 10.0.1.2 proto 186 metric 5");
    ns.ip("route add 10.92.0.0/16 via 10.0.1.2 proto 186 table 1000");
    ns.run(|| async {
        let fib = Fib::main().unwrap();
        fib.add(&FibRoute::via(net("10.93.0.0/16"), addr("10.0.1.2")))
            .await
            .unwrap();
        fib.add(&FibRoute::via(
            net("2001:db8:93::/48"),
            addr("2001:db8:1::2"),
        ))
        .await
        .unwrap();
        assert!(tern_fib::has_routes(MAIN_TABLE, PROTO_TERN).await.unwrap());
        assert_eq!(fib.flush_stale().await.unwrap(), 3);
        assert_eq!(fib.flush_stale().await.unwrap(), 0);
        assert!(!tern_fib::has_routes(MAIN_TABLE, PROTO_TERN).await.unwrap());
        assert!(
            tern_fib::has_routes(MAIN_TABLE, 4).await.unwrap(),
            "the static route"
        );
        assert!(tern_fib::has_routes(1000, PROTO_TERN).await.unwrap());
        assert!(!tern_fib::has_routes(2000, PROTO_TERN).await.unwrap());
    });
    let v4 = ns.ip("route show");
    assert!(
        v4.contains("10.90.0.0/16 via 10.0.1.2 dev va proto static"),
        "{v4}"
    );
    assert!(!v4.contains("10.91.") && !v4.contains("10.93."), "{v4}");
    assert!(ns.ip("route show proto 186").trim().is_empty());
    assert!(ns.ip("-6 route show proto 186").trim().is_empty());
    // Another table's routes are that table's installer's business.
    assert!(ns.ip("route show table 1000").contains("10.92.0.0/16"));
}

#[test]
fn labeled_routes_without_kernel_mpls() {
    let Some(ns) = Netns::new("labels") else {
        return;
    };
    ns.run(|| async {
        let fib = Fib::main().unwrap();
        assert_eq!(fib.mpls(), mpls_supported());
        let route = FibRoute::via(net("10.95.0.0/16"), addr("10.0.1.2"));
        let outcome = fib.replace_labeled(&route, &[1000]).await.unwrap();
        let expected = if mpls_supported() {
            LabelOutcome::Pushed
        } else {
            LabelOutcome::IpOnly
        };
        assert_eq!(outcome, expected);
        let shown = ns.ip("route show proto 186");
        assert!(shown.contains("10.95.0.0/16"), "{shown}");
        // Implicit null: nothing to push, the plain route is the labeled route's forwarding.
        let route = FibRoute::via(net("10.96.0.0/16"), addr("10.0.1.2"));
        assert_eq!(
            fib.replace_labeled(&route, &[3]).await.unwrap(),
            LabelOutcome::Pushed
        );
        let wide = fib.replace_labeled(&route, &[1 << 20]).await.unwrap_err();
        assert!(matches!(wide, tern_fib::Error::Invalid(_)), "{wide}");
    });
}

/// The next event satisfying `wanted`, within 5 s.
async fn expect(w: &mut Watcher, what: &str, wanted: impl Fn(&FibEvent) -> bool) -> FibEvent {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = w.next_event().await {
            if wanted(&event) {
                return Some(event);
            }
            seen.push(event);
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => event,
        Ok(None) => panic!("{what}: the watcher ended; before: {seen:#?}"),
        Err(_) => panic!("{what}: not seen within 5 s; seen instead: {seen:#?}"),
    }
}

#[test]
fn watcher_reports_routes_and_links() {
    let Some(ns) = Netns::new("watch") else {
        return;
    };
    let vb = ns.ifindex("vb");
    ns.run(|| async {
        let mut w = watch(MAIN_TABLE).await.unwrap().ignore_protocol(PROTO_TERN);
        assert_eq!(w.table(), MAIN_TABLE);

        // tern's own install is left out: the next route event is the static route.
        let fib = Fib::main().unwrap();
        fib.add(&FibRoute::via(net("10.81.0.0/16"), addr("10.0.1.2")))
            .await
            .unwrap();
        ns.ip("route add 10.80.0.0/16 via 10.0.1.2");
        let added = expect(&mut w, "route added", |e| {
            matches!(e, FibEvent::RouteAdded(_) | FibEvent::RouteRemoved(_))
        })
        .await;
        let FibEvent::RouteAdded(route) = added else {
            panic!("{added:?}")
        };
        assert_eq!(route.prefix, net("10.80.0.0/16"));
        assert_eq!(route.gateway, Some(addr("10.0.1.2")));

        // Another table's changes are not this watcher's.
        ns.ip("route add 10.82.0.0/16 via 10.0.1.2 table 1000");
        ns.ip("route del 10.80.0.0/16");
        let removed = expect(&mut w, "route removed", |e| {
            matches!(e, FibEvent::RouteAdded(_) | FibEvent::RouteRemoved(_))
        })
        .await;
        let FibEvent::RouteRemoved(route) = removed else {
            panic!("{removed:?}")
        };
        assert_eq!(route.prefix, net("10.80.0.0/16"));

        ns.ip("link set vb down");
        expect(&mut w, "vb down", |e| {
            *e == FibEvent::LinkDown { ifindex: vb }
        })
        .await;
        ns.ip("link set vb up");
        expect(&mut w, "vb up", |e| *e == FibEvent::LinkUp { ifindex: vb }).await;

        ns.ip("addr del 10.0.2.1/24 dev vb");
        let gone = expect(
            &mut w,
            "address removed",
            |e| matches!(e, FibEvent::AddressRemoved { ifindex, .. } if *ifindex == vb),
        )
        .await;
        assert_eq!(
            gone,
            FibEvent::AddressRemoved {
                ifindex: vb,
                address: net("10.0.2.1/24")
            }
        );

        // The events keep a snapshot current.
        let mut snapshot = KernelRoutes::read(MAIN_TABLE).await.unwrap();
        ns.ip("route add 10.83.0.0/16 via 10.0.1.2");
        let event = expect(&mut w, "route added", |e| {
            matches!(e, FibEvent::RouteAdded(_))
        })
        .await;
        assert!(snapshot.apply(&event));
        assert_eq!(
            snapshot.resolve(addr("10.83.1.1"), None).unwrap().prefix,
            net("10.83.0.0/16")
        );
    });
}

/// `n` distinct IPv4 /32 prefixes under 10.128.0.0/9, from `from` on.
fn v4_prefixes(from: u32, n: u32) -> Vec<IpNet> {
    (from..from + n)
        .map(|i| IpNet::from(IpAddr::V4(std::net::Ipv4Addr::from(0x0a80_0000 + i))))
        .collect()
}

/// `n` distinct IPv6 /64 prefixes under 2001:db8:8000::/33.
fn v6_prefixes(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            let a = std::net::Ipv6Addr::from((0x2001_0db8_8000_0000u128 + u128::from(i)) << 64);
            IpNet::new(IpAddr::V6(a), 64).unwrap()
        })
        .collect()
}

fn replace_all(prefixes: &[IpNet], gateway: &str) -> Vec<RouteOp> {
    prefixes
        .iter()
        .map(|p| RouteOp::Replace(FibRoute::via(*p, addr(gateway))))
        .collect()
}

fn count_lines(text: &str) -> usize {
    text.lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn batches_install_replace_and_remove() {
    let Some(ns) = Netns::new("batch") else {
        return;
    };
    let v4 = v4_prefixes(0, 20_000);
    let v6 = v6_prefixes(2_000);
    ns.run(|| async {
        let fib = Fib::new(1000).unwrap();
        // Several datagrams' worth: the batch is cut into chunks.
        assert!(fib.chunk() < v4.len(), "chunk {}", fib.chunk());
        let mut ops = replace_all(&v4, "10.0.1.2");
        ops.extend(replace_all(&v6, "2001:db8:1::2"));
        let results = fib.apply(&ops).await;
        assert_eq!(results.len(), ops.len());
        assert!(
            results.iter().all(Result::is_ok),
            "{:?}",
            results.iter().find(|r| r.is_err())
        );
        let table = fib.routes().await.unwrap();
        assert_eq!(table.len(), 22_000);
        assert!(table.iter().all(|r| r.protocol == PROTO_TERN));
        assert_eq!(table.get(v4[12_345])[0].gateway, Some(addr("10.0.1.2")));
        assert_eq!(
            count_lines(&ns.ip("route show table 1000 proto 186")),
            20_000
        );

        // Every other IPv4 route moves to another gateway; the IPv6 ones to vb's side.
        let moved: Vec<IpNet> = v4.iter().step_by(2).copied().collect();
        let mut ops = replace_all(&moved, "10.0.2.2");
        ops.extend(replace_all(&v6, "2001:db8:2::2"));
        assert!(fib.apply(&ops).await.iter().all(Result::is_ok));
        let table = fib.routes().await.unwrap();
        assert_eq!(table.len(), 22_000, "replaced, not added");
        for (i, p) in v4.iter().enumerate() {
            let want = if i % 2 == 0 { "10.0.2.2" } else { "10.0.1.2" };
            let got = table.get(*p);
            assert_eq!(got.len(), 1, "{p}");
            assert_eq!(got[0].gateway, Some(addr(want)), "{p}");
        }
        assert!(
            v6.iter()
                .all(|p| table.get(*p)[0].gateway == Some(addr("2001:db8:2::2")))
        );

        // Remove the IPv4 routes, and a prefix twice: the second is the only failure.
        let mut ops: Vec<RouteOp> = v4
            .iter()
            .map(|p| RouteOp::Delete {
                prefix: *p,
                metric: None,
            })
            .collect();
        ops.push(RouteOp::Delete {
            prefix: v4[7],
            metric: None,
        });
        let results = fib.apply(&ops).await;
        let failed: Vec<usize> = (0..results.len())
            .filter(|i| results[*i].is_err())
            .collect();
        assert_eq!(failed, vec![20_000]);
        assert_eq!(
            results[20_000].as_ref().unwrap_err().errno(),
            Some(3),
            "ESRCH"
        );
        let table = fib.routes().await.unwrap();
        assert_eq!(table.len(), 2_000);
        assert!(table.iter().all(|r| r.prefix.addr().is_ipv6()));
        assert!(ns.ip("route show table 1000").trim().is_empty());
        // The table's routes go in a batch too.
        assert_eq!(fib.flush_stale().await.unwrap(), 2_000);
        assert!(ns.ip("-6 route show table 1000").trim().is_empty());
    });
}

#[test]
fn batch_errors_are_reported_per_route() {
    let Some(ns) = Netns::new("batcherr") else {
        return;
    };
    ns.run(|| async {
        let fib = Fib::main().unwrap();
        // A small batch naming every kind of failure.
        let ops = vec![
            RouteOp::Replace(FibRoute::via(net("10.41.0.0/16"), addr("10.0.1.2"))),
            // No connected network holds the gateway: ENETUNREACH (EHOSTUNREACH for IPv6).
            RouteOp::Replace(FibRoute::via(net("10.42.0.0/16"), addr("192.0.2.9"))),
            RouteOp::Replace(FibRoute::via(
                net("2001:db8:43::/48"),
                addr("2001:db8:1::2"),
            )),
            RouteOp::Replace(FibRoute::via(
                net("2001:db8:44::/48"),
                addr("2001:db8:99::9"),
            )),
            // Not expressible: refused before the kernel sees it.
            RouteOp::Replace(FibRoute::via(net("2001:db8:45::/48"), addr("10.0.1.2"))),
            RouteOp::Delete {
                prefix: net("10.46.0.0/16"),
                metric: None,
            },
            RouteOp::Replace(FibRoute::dev(net("10.47.0.0/16"), 999)),
            RouteOp::Replace(FibRoute::via(net("10.48.0.0/16"), addr("10.0.2.2"))),
        ];
        let results = fib.apply(&ops).await;
        let errno: Vec<Option<i32>> = results
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.errno().unwrap_or(-1)))
            .collect();
        assert_eq!(
            errno,
            vec![
                None,
                Some(101),
                None,
                Some(113),
                Some(-1),
                Some(3),
                Some(19),
                None
            ],
            "{results:?}"
        );
        assert!(matches!(results[4], Err(tern_fib::Error::Invalid(_))));
        let text = results[1].as_ref().unwrap_err().to_string();
        assert!(
            text.contains("10.42.0.0/16") && text.contains("unreachable"),
            "{text}"
        );
        let shown = ns.ip("route show proto 186") + &ns.ip("-6 route show proto 186");
        for p in ["10.41.0.0/16", "2001:db8:43::/48", "10.48.0.0/16"] {
            assert!(shown.contains(p), "{p} missing: {shown}");
        }
        for p in ["10.42.", "2001:db8:44:", "2001:db8:45:", "10.47."] {
            assert!(!shown.contains(p), "{p} installed: {shown}");
        }

        // A large batch where most routes fail: no answer is lost, the others go in.
        let prefixes = v4_prefixes(0, 12_000);
        let ops: Vec<RouteOp> = prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let gateway = if i % 100 == 0 {
                    "10.0.1.2"
                } else {
                    "192.0.2.9"
                };
                RouteOp::Replace(FibRoute::via(*p, addr(gateway)))
            })
            .collect();
        let results = fib.apply(&ops).await;
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(()) => assert_eq!(i % 100, 0, "route {i} installed"),
                Err(e) => {
                    assert_ne!(i % 100, 0, "route {i}: {e}");
                    assert_eq!(e.errno(), Some(101), "route {i}: {e}");
                }
            }
        }
        assert_eq!(
            count_lines(&ns.ip("route show proto 186 root 10.128.0.0/9")),
            120
        );
    });
}

#[test]
fn reconciler_takes_over_and_removes_the_rest() {
    let Some(ns) = Netns::new("reconcile") else {
        return;
    };
    // Left by an earlier run, and a static route that is not tern's.
    ns.ip("route add 10.51.0.0/16 via 10.0.1.2 proto 186");
    ns.ip("route add 10.52.0.0/16 via 10.0.1.2 proto 186");
    ns.ip("route add 10.53.0.0/16 via 10.0.1.2 proto 186");
    ns.ip("route add 10.54.0.0/16 proto 186 nexthop via 10.0.1.2 nexthop via 10.0.2.2");
    ns.ip("-6 route add 2001:db8:55::/48 via 2001:db8:1::2 proto 186");
    ns.ip("route add 10.56.0.0/16 via 10.0.1.2 proto static");
    ns.run(|| async {
        let fib = Fib::main().unwrap();
        let mut reconciler = fib.reconciler().await.unwrap();
        assert_eq!((reconciler.table(), reconciler.len()), (MAIN_TABLE, 5));
        let mut w = watch(MAIN_TABLE).await.unwrap();
        let asked = [
            // As it is: left alone.
            RouteOp::Replace(FibRoute::via(net("10.51.0.0/16"), addr("10.0.1.2"))),
            // Another gateway: rewritten.
            RouteOp::Replace(FibRoute::via(net("10.52.0.0/16"), addr("10.0.1.3"))),
            // Multipath where one next hop is asked for: rewritten.
            RouteOp::Replace(FibRoute::via(net("10.54.0.0/16"), addr("10.0.1.2"))),
            RouteOp::Replace(FibRoute::via(
                net("2001:db8:55::/48"),
                addr("2001:db8:1::2"),
            )),
            // New.
            RouteOp::Replace(FibRoute::via(net("10.57.0.0/16"), addr("10.0.1.2"))),
        ];
        let ops: Vec<RouteOp> = asked
            .iter()
            .filter(|op| reconciler.needs(op))
            .cloned()
            .collect();
        let sent: Vec<IpNet> = ops.iter().map(RouteOp::prefix).collect();
        assert_eq!(
            sent,
            vec![
                net("10.52.0.0/16"),
                net("10.54.0.0/16"),
                net("10.57.0.0/16")
            ]
        );
        assert!(fib.apply(&ops).await.iter().all(Result::is_ok));
        assert_eq!((reconciler.unchanged(), reconciler.len()), (2, 1));
        // The kernel announces every route it writes: the routes left alone were not.
        fib.replace(&FibRoute::via(net("10.99.0.0/16"), addr("10.0.1.2")))
            .await
            .unwrap();
        let mut written = Vec::new();
        loop {
            let event = expect(&mut w, "route event", |e| {
                matches!(e, FibEvent::RouteAdded(_) | FibEvent::RouteRemoved(_))
            })
            .await;
            let FibEvent::RouteAdded(route) = event else {
                panic!("{event:?}")
            };
            if route.prefix == net("10.99.0.0/16") {
                break;
            }
            written.push(route.prefix);
        }
        assert_eq!(written, sent);

        let done = reconciler.finish(&fib).await;
        assert_eq!((done.unchanged, done.removed), (2, 1));
        assert!(done.errors.is_empty(), "{:?}", done.errors);
    });
    let v4 = ns.ip("route show");
    assert!(!v4.contains("10.53.0.0/16"), "{v4}");
    for line in [
        "10.51.0.0/16 via 10.0.1.2 dev va proto bgp",
        "10.52.0.0/16 via 10.0.1.3 dev va proto bgp",
        "10.54.0.0/16 via 10.0.1.2 dev va proto bgp",
        "10.56.0.0/16 via 10.0.1.2 dev va proto static",
        "10.57.0.0/16 via 10.0.1.2 dev va proto bgp",
    ] {
        assert!(v4.contains(line), "{line}: {v4}");
    }
    assert!(
        ns.ip("-6 route show")
            .contains("2001:db8:55::/48 via 2001:db8:1::2")
    );
}

/// A load-balanced route: one `RTA_MULTIPATH` route over two gateways (on two interfaces),
/// replaced by a single-path one and back, in a batch as well, IPv6 too.
#[test]
fn multipath_install_and_collapse() {
    let Some(ns) = Netns::new("multipath") else {
        return;
    };
    let va = ns.ifindex("va");
    let (two, one, batch, v6) = ns.run(|| async {
        let fib = Fib::main().unwrap();
        let prefix = net("10.70.0.0/16");
        let route = MultipathRoute {
            prefix,
            hops: vec![(addr("10.0.1.2"), Some(va)), (addr("10.0.2.2"), None)],
            metric: None,
        };
        fib.replace_multipath(&route).await.unwrap();
        let two = ns.ip("-j route show proto 186");
        // Back to one next hop: the same route replaced.
        fib.replace(&FibRoute::via(prefix, addr("10.0.2.2")))
            .await
            .unwrap();
        let one = ns.ip("-j route show proto 186");
        // In a batch.
        let results = fib.apply(&[RouteOp::ReplaceMultipath(route.clone())]).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let batch = ns.ip("-j route show proto 186");
        let v6 = MultipathRoute {
            prefix: net("2001:db8:70::/48"),
            hops: vec![(addr("2001:db8:1::2"), None), (addr("2001:db8:2::2"), None)],
            metric: None,
        };
        fib.replace_multipath(&v6).await.unwrap();
        let bad = MultipathRoute {
            prefix: net("2001:db8:71::/48"),
            hops: vec![(addr("10.0.1.2"), None), (addr("2001:db8:2::2"), None)],
            metric: None,
        };
        assert!(fib.replace_multipath(&bad).await.is_err());
        (two, one, batch, ns.ip("-6 -j route show proto 186"))
    });
    let hops = |json: &str, dst: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let r = v
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["dst"] == dst)
            .unwrap_or_else(|| panic!("{dst} in {json}"));
        match r.get("nexthops") {
            Some(n) => n
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    format!(
                        "{} {}",
                        h["gateway"].as_str().unwrap(),
                        h["dev"].as_str().unwrap()
                    )
                })
                .collect(),
            None => vec![format!(
                "{} {}",
                r["gateway"].as_str().unwrap(),
                r["dev"].as_str().unwrap()
            )],
        }
    };
    assert_eq!(
        hops(&two, "10.70.0.0/16"),
        vec!["10.0.1.2 va", "10.0.2.2 vb"]
    );
    assert_eq!(hops(&one, "10.70.0.0/16"), vec!["10.0.2.2 vb"]);
    assert_eq!(
        hops(&batch, "10.70.0.0/16"),
        vec!["10.0.1.2 va", "10.0.2.2 vb"]
    );
    assert_eq!(
        hops(&v6, "2001:db8:70::/48"),
        vec!["2001:db8:1::2 va", "2001:db8:2::2 vb"]
    );
}
