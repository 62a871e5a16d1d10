//! tern-bench: end-to-end route reflector benchmark.
//!
//! On loopback addresses, an injector peer streams pre-encoded UPDATEs to the daemon under
//! test, a route reflector, and K receiver peers count the routes reflected to them. Each run
//! measures convergence time (the injector's first UPDATE octet to every receiver holding all
//! N routes), routes per second, the daemon's peak RSS (VmHWM), bytes per route and CPU
//! seconds. A join case instead loads the N routes with one receiver up, then times K
//! receivers connecting at once until each holds the N routes and End-of-RIB, and reports the
//! daemon's resident set before and at its peak during the joins. The daemons (tern, BIRD 2,
//! FRR's bgpd, GoBGP) are started by the harness, one at a time. See `docs/benchmarks.md`.

pub mod case;
pub mod count;
pub mod daemon;
pub mod display;
pub mod report;
pub mod routes;
pub mod scrape;
pub mod speaker;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tern_types::Family;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::case::Case;
use crate::daemon::{Daemon, Paths, Running, Setup};
use crate::report::{Metrics, Outcome, RunResult};
use crate::speaker::{Event, Held};

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The daemons, in the order each run visits them.
    pub daemons: Vec<Daemon>,
    /// The cases.
    pub cases: Vec<Case>,
    /// Runs per case and daemon.
    pub runs: usize,
    /// Give up on a run after this long (default: from N and K, see [`default_timeout`]).
    pub timeout: Option<Duration>,
    /// The first two octets of the addresses used (`127.x.`): the reflector is `x.0.1`, the
    /// injector `x.1.1`, the receivers `x.1.2` on.
    pub net: [u8; 2],
    /// Executables.
    pub paths: Paths,
    /// Time between the last session coming up and the first UPDATE.
    pub settle: Duration,
    /// Keep each run's scratch directory (configuration, logs).
    pub keep: bool,
    /// Progress lines on stderr.
    pub verbose: bool,
    /// Before each run, wait up to this long for the machine to be quiet (other processes
    /// using less than [`QUIET_CORES`] of a core for 3 s in a row).
    pub quiet_wait: Duration,
    /// ternd serves its Prometheus metrics (`--metrics`) and the harness scrapes them this
    /// often through the run ([`scrape`]); other daemons are run as usual. `None`: off.
    pub metrics: Option<Duration>,
    /// How ternd keeps the routes out of the kernel.
    pub tern_fib: daemon::TernFib,
}

/// CPU use of other processes (in cores) under which the machine counts as quiet.
pub const QUIET_CORES: f64 = 0.2;

/// A run during which other processes used more than this many cores on average (and more
/// than 0.1 CPU seconds) is run again, twice at most.
pub const NOISY_CORES: f64 = 0.25;

fn noisy(m: &Metrics) -> bool {
    m.background_cpu > 0.1 && m.background_cpu / m.convergence > NOISY_CORES
}

impl Default for Options {
    fn default() -> Self {
        Options {
            daemons: Daemon::ALL.to_vec(),
            cases: case::full_set(),
            runs: 3,
            timeout: None,
            net: [127, 77],
            paths: Paths::default(),
            settle: Duration::from_secs(2),
            keep: false,
            verbose: true,
            quiet_wait: Duration::from_secs(300),
            metrics: None,
            tern_fib: daemon::TernFib::RibOnly,
        }
    }
}

/// How long a run of `case` may take: 30 s, plus 0.3 ms per route, times 1 + K/20.
pub fn default_timeout(case: &Case) -> Duration {
    let per_route = 0.3e-3 * case.n as f64 * (1.0 + case.k as f64 / 20.0);
    let phases = if case.withdraw { 2.0 } else { 1.0 };
    Duration::from_secs_f64(30.0 + per_route * phases)
}

fn free_port(addr: Ipv4Addr) -> Result<u16, String> {
    let l = TcpListener::bind((addr, 0)).map_err(|e| format!("bind {addr}: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn log(opts: &Options, msg: &str) {
    if opts.verbose {
        eprintln!("[tern-bench] {msg}");
    }
}

/// Runs every case for every daemon; returns one result per run.
pub fn run(opts: &Options) -> Result<Vec<RunResult>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // Unique per call: tests run several at once in one process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch = std::env::temp_dir().join(format!("tern-bench-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut opts = opts.clone();
    if opts.daemons.contains(&Daemon::Bird) {
        // Debian's `service bird stop` (start-stop-daemon --exec /usr/sbin/bird) stops every
        // process of that executable; a copy of it is out of reach of another job on the
        // machine doing that.
        opts.paths.bird = daemon::private_copy(&opts.paths.bird, &scratch)?;
    }
    let opts = &opts;
    let mut results = Vec::new();
    for case in &opts.cases {
        let t = std::time::Instant::now();
        let streams = routes::build(case);
        log(
            opts,
            &format!(
                "{case}: {} UPDATEs, {} octets{} encoded in {:.1} s",
                streams.announce_msgs,
                streams.announce.len(),
                streams
                    .withdraw
                    .as_ref()
                    .map(|w| format!(" (+{} octets of withdrawals)", w.len()))
                    .unwrap_or_default(),
                t.elapsed().as_secs_f64()
            ),
        );
        let announce = Arc::new(streams.announce);
        let withdraw = streams.withdraw.map(Arc::new);
        let mut given_up: Vec<Daemon> = Vec::new();
        for run in 1..=opts.runs {
            for &d in &opts.daemons {
                if given_up.contains(&d) {
                    continue;
                }
                let dir = scratch.join(format!("{}-{case}-{run}", d.name()));
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                let mut attempt = 0;
                let outcome = loop {
                    attempt += 1;
                    if !opts.quiet_wait.is_zero()
                        && let Err(load) = wait_quiet(opts.quiet_wait)
                    {
                        log(
                            opts,
                            &format!(
                                "other processes still use {load:.2} cores after {:.0} s; \
                                 running anyway",
                                opts.quiet_wait.as_secs_f64()
                            ),
                        );
                    }
                    let o = rt.block_on(run_one(
                        opts,
                        d,
                        case,
                        &dir,
                        announce.clone(),
                        withdraw.clone(),
                    ));
                    match &o {
                        Outcome::Done(m) if noisy(m) && attempt < 3 => log(
                            opts,
                            &format!(
                                "{case} {} run {run}: other processes used {:.2} cores, again",
                                d.name(),
                                m.background_cpu / m.convergence
                            ),
                        ),
                        _ => break o,
                    }
                };
                let line = match &outcome {
                    Outcome::Done(m) if case.join => format!(
                        "{} receivers joined in {:.2} s (first {:.2} s, sessions up {:.2} s), \
                         RSS before {:.0} MB, peak {:.0} MB ({:.2}×), CPU {:.2} s (harness {:.2} s, \
                         {:.0} MB; others {:.2} s)",
                        case.k,
                        m.convergence,
                        m.first_done,
                        m.sessions_up,
                        m.baseline_rss as f64 / 1e6,
                        m.peak_rss as f64 / 1e6,
                        report::peak_ratio(m),
                        m.cpu,
                        m.harness_cpu,
                        m.harness_rss as f64 / 1e6,
                        m.background_cpu
                    ),
                    Outcome::Done(m) => format!(
                        "{}convergence {:.2} s ({:.0} routes/s), ingest {:.2} s, peak RSS {:.0} MB, \
                         {:.0} bytes/route, CPU {:.2} s (harness {:.2} s, others {:.2} s)",
                        m.display.map_or_else(String::new, |f| format!(
                            "display: first part {:.3} s, whole {:.2} s ({} lines, {:.0} MB), \
                             JSON {:.2} s ({:.0} MB), display bgp peer meanwhile at most \
                             {:.0} ms ({} asked); withdrawal during a display: ",
                            f.first,
                            f.total,
                            f.lines,
                            f.octets as f64 / 1e6,
                            f.json_total,
                            f.json_octets as f64 / 1e6,
                            f.peer_max * 1e3,
                            f.peer_asked
                        )),
                        m.convergence,
                        m.routes_per_sec,
                        m.ingest,
                        m.peak_rss as f64 / 1e6,
                        m.bytes_per_route,
                        m.cpu,
                        m.harness_cpu,
                        m.background_cpu
                    ),
                    Outcome::Timeout { after, worst } => {
                        format!("timeout after {after:.0} s (a receiver held {worst})")
                    }
                    Outcome::Failed(e) => format!("failed: {e}"),
                };
                log(opts, &format!("{case} {} run {run}: {line}", d.name()));
                if !matches!(outcome, Outcome::Done(_)) {
                    // A daemon that cannot finish a case is not given the case again.
                    given_up.push(d);
                }
                if !opts.keep {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                results.push(RunResult {
                    case: *case,
                    daemon: d,
                    run,
                    outcome,
                });
            }
        }
    }
    if !opts.keep {
        let _ = std::fs::remove_dir_all(&scratch);
    } else {
        log(
            opts,
            &format!("scratch directories kept in {}", scratch.display()),
        );
    }
    Ok(results)
}

async fn run_one(
    opts: &Options,
    d: Daemon,
    case: &Case,
    dir: &std::path::Path,
    announce: Arc<Vec<u8>>,
    withdraw: Option<Arc<Vec<u8>>>,
) -> Outcome {
    let [a, b] = opts.net;
    let rr = Ipv4Addr::new(a, b, 0, 1);
    // The injector, then the receivers (for a join case: the one up from the start, then the
    // K that join).
    let receivers = case.k + usize::from(case.join);
    let mut clients = vec![Ipv4Addr::new(a, b, 1, 1)];
    clients.extend((0..receivers).map(|i| Ipv4Addr::new(a, b, 1, 2 + i as u8)));
    let (port, aux_port) = match (free_port(rr), free_port(rr)) {
        (Ok(p), Ok(q)) if p != q => (p, q),
        (Err(e), _) | (_, Err(e)) => return Outcome::Failed(e),
        _ => return Outcome::Failed("no free ports".into()),
    };
    // The metrics port: a third free one.
    let metrics = if opts.metrics.is_some() && d == Daemon::Tern {
        match free_port(rr) {
            Ok(p) if p != port && p != aux_port => Some(p),
            Ok(_) => return Outcome::Failed("no free port for the metrics".into()),
            Err(e) => return Outcome::Failed(e),
        }
    } else {
        None
    };
    let setup = Setup {
        dir,
        rr,
        port,
        aux_port,
        clients: &clients,
        family: case.kind.family(),
        metrics,
        tern_fib: opts.tern_fib,
    };
    let mut daemon = match daemon::start(d, &opts.paths, &setup) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e),
    };
    let timeout = opts.timeout.unwrap_or_else(|| default_timeout(case));
    if case.display && d != Daemon::Tern {
        daemon.stop(Duration::from_secs(10));
        return Outcome::Failed("display cases run with tern only".into());
    }
    let control = dir.join("ternd.sock");
    let scrapes = Arc::new(scrape::Scrapes::default());
    let scraper = metrics.zip(opts.metrics).map(|(p, every)| {
        tokio::spawn(scrape::every(
            SocketAddr::from((rr, p)),
            every,
            scrapes.clone(),
        ))
    });
    let outcome = drive(
        opts,
        &mut daemon,
        case,
        &clients,
        (rr, port),
        timeout,
        (announce, withdraw),
        control,
    )
    .await
    .unwrap_or_else(|e| {
        let why = daemon
            .exited()
            .unwrap_or_else(|| format!("{e}; daemon log: {}", daemon.log_tail()));
        Outcome::Failed(why)
    });
    if let Some(t) = scraper {
        t.abort();
        let failed = scrapes.failed.load(std::sync::atomic::Ordering::Relaxed);
        log(
            opts,
            &format!(
                "metrics: {} scrapes answered ({failed} not), the last {} octets",
                scrapes.ok(),
                scrapes
                    .last_octets
                    .load(std::sync::atomic::Ordering::Relaxed)
            ),
        );
        if scrapes.ok() == 0 && matches!(outcome, Outcome::Done(_)) {
            daemon.stop(Duration::from_secs(10));
            return Outcome::Failed("no metrics scrape was answered".into());
        }
    }
    daemon.stop(Duration::from_secs(10));
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    opts: &Options,
    daemon: &mut Running,
    case: &Case,
    clients: &[Ipv4Addr],
    (rr, port): (Ipv4Addr, u16),
    timeout: Duration,
    (announce, withdraw): (Arc<Vec<u8>>, Option<Arc<Vec<u8>>>),
    control: PathBuf,
) -> Result<Outcome, String> {
    let family = case.kind.family();
    let dst = SocketAddr::from((rr, port));
    let pid = daemon.pid();
    // Sessions: the injector and every receiver, all at once (for a join case, the injector
    // and one receiver; the K others join later).
    let (first, joiners) = if case.join {
        clients.split_at(2)
    } else {
        (clients, &[][..])
    };
    let k = first.len() - 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut set = tokio::task::JoinSet::new();
    for (i, c) in first.iter().enumerate() {
        let c = *c;
        set.spawn(async move { (i, speaker::connect(c, dst, family, deadline).await) });
    }
    let mut sessions: Vec<Option<speaker::Session>> = (0..first.len()).map(|_| None).collect();
    while let Some(r) = set.join_next().await {
        let (i, s) = r.map_err(|e| e.to_string())?;
        sessions[i] = Some(s?);
    }
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let (stream_tx, stream_rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    let mut held = Vec::new();
    let mut it = sessions.into_iter().flatten();
    let inj = it.next().ok_or("no injector session")?;
    tasks.push(tokio::spawn(speaker::inject(inj, stream_rx, ev_tx.clone())));
    for (id, s) in it.enumerate() {
        let h = Arc::new(Held::default());
        held.push(h.clone());
        tasks.push(tokio::spawn(speaker::receive(
            s,
            id,
            family,
            case.n,
            false,
            h,
            ev_tx.clone(),
        )));
    }
    let result = async {
        tokio::time::sleep(opts.settle).await;
        if let Ok(Event::Down(id, why)) = ev_rx.try_recv() {
            return Err(format!("session {id} down before the first UPDATE: {why}"));
        }
        let (baseline_rss, _) = daemon::memory(pid).ok_or("daemon gone")?;
        let ticks = daemon::clock_ticks() as f64;
        let cpu0 = daemon::cpu_ticks(pid).ok_or("daemon gone")?;
        let me = std::process::id();
        let mut own_start = daemon::cpu_ticks(me).unwrap_or(0);
        let mut busy_start = busy_ticks();
        let mut m = Metrics {
            baseline_rss,
            ..Metrics::default()
        };
        stream_tx.send(announce).map_err(|_| "injector gone")?;
        let phase = wait_phase(&mut ev_rx, k, false, timeout, &held, case.n).await?;
        let (first, last, ingest) = match phase {
            Ok(t) => t,
            Err(o) => return Ok(o),
        };
        if case.join {
            let join = Join {
                pid,
                dst,
                family,
                n: case.n,
                joiners,
                timeout,
            };
            return join.run(opts, &mut ev_rx, &ev_tx, &mut tasks).await;
        }
        let mut cpu_end = daemon::cpu_ticks(pid).ok_or("daemon gone")?;
        let mut span = (first, last, ingest);
        let mut cpu_start = cpu0;
        let mut concurrent = None;
        if case.display {
            let (c, n) = (control.clone(), case.n);
            let f = tokio::task::spawn_blocking(move || display::measure(&c, family, n))
                .await
                .map_err(|e| e.to_string())?;
            match f {
                Ok(f) => m.display = Some(f),
                Err(e) => return Ok(Outcome::Failed(e)),
            }
            concurrent = Some(display::concurrently(control.clone(), family));
        }
        if let Some(w) = withdraw {
            cpu_start = cpu_end;
            own_start = daemon::cpu_ticks(me).unwrap_or(0);
            busy_start = busy_ticks();
            stream_tx.send(w).map_err(|_| "injector gone")?;
            match wait_phase(&mut ev_rx, k, true, timeout, &held, case.n).await? {
                Ok(t) => span = t,
                Err(o) => return Ok(o),
            }
            cpu_end = daemon::cpu_ticks(pid).ok_or("daemon gone")?;
        }
        if let Some(t) = concurrent {
            // The display that ran during the withdrawal.
            match tokio::task::spawn_blocking(move || t.join()).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err(e))) => return Ok(Outcome::Failed(e)),
                _ => return Ok(Outcome::Failed("the concurrent display panicked".into())),
            }
        }
        let own_end = daemon::cpu_ticks(me).unwrap_or(0);
        let busy_end = busy_ticks();
        let (_, hwm) = daemon::memory(pid).ok_or("daemon gone")?;
        m.convergence = span.1.duration_since(span.0).as_secs_f64();
        m.ingest = span.2;
        m.routes_per_sec = case.n as f64 / m.convergence;
        m.peak_rss = hwm;
        m.bytes_per_route = hwm.saturating_sub(baseline_rss) as f64 / case.n as f64;
        m.cpu = (cpu_end - cpu_start) as f64 / ticks;
        m.harness_cpu = own_end.saturating_sub(own_start) as f64 / ticks;
        m.background_cpu =
            (busy_end.saturating_sub(busy_start) as f64 / ticks - m.cpu - m.harness_cpu).max(0.0);
        m.harness_rss = daemon::memory(me).map_or(0, |(_, hwm)| hwm);
        Ok(Outcome::Done(m))
    }
    .await;
    for t in tasks {
        t.abort();
    }
    result
}

/// The timed phase of a join case: the reflector holds the N routes, one receiver is up, and
/// the joining receivers connect at once.
struct Join<'a> {
    pid: u32,
    dst: SocketAddr,
    family: Family,
    n: usize,
    joiners: &'a [Ipv4Addr],
    timeout: Duration,
}

/// Waits until the daemon has used at most one clock tick of CPU in each of two 250 ms spans in
/// a row (it is done with what it was sent), 30 s at most.
async fn wait_idle(pid: u32) -> Result<(), String> {
    let start = Instant::now();
    let mut quiet = 0;
    let mut last = daemon::cpu_ticks(pid).ok_or("daemon gone")?;
    while quiet < 2 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = daemon::cpu_ticks(pid).ok_or("daemon gone")?;
        quiet = if now - last <= 1 { quiet + 1 } else { 0 };
        last = now;
    }
    Ok(())
}

impl Join<'_> {
    /// Records the daemon's resident set, connects every joining receiver at once and waits
    /// until each holds the N routes and End-of-RIB, sampling the resident set meanwhile.
    async fn run(
        &self,
        opts: &Options,
        ev_rx: &mut mpsc::UnboundedReceiver<Event>,
        ev_tx: &mpsc::UnboundedSender<Event>,
        tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> Result<Outcome, String> {
        let pid = self.pid;
        let k = self.joiners.len();
        wait_idle(pid).await?;
        let (before, _) = daemon::memory(pid).ok_or("daemon gone")?;
        // The peak from here on: VmHWM reset to the current resident set, and VmRSS read every
        // 10 ms besides (all that is left when the reset is refused).
        let reset = daemon::reset_peak(pid);
        if !reset {
            log(
                opts,
                "cannot reset the daemon's VmHWM; the peak comes from VmRSS samples only",
            );
        }
        let sampler = daemon::RssSampler::start(pid, Duration::from_millis(10));
        let ticks = daemon::clock_ticks() as f64;
        let me = std::process::id();
        let cpu_start = daemon::cpu_ticks(pid).ok_or("daemon gone")?;
        let own_start = daemon::cpu_ticks(me).unwrap_or(0);
        let busy_start = busy_ticks();
        let start = Instant::now();
        let connect_deadline = start + Duration::from_secs(60);
        let mut held = Vec::with_capacity(k);
        for (i, &c) in self.joiners.iter().enumerate() {
            // Receiver 0 is the one up from the start.
            let id = i + 1;
            let h = Arc::new(Held::default());
            held.push(h.clone());
            let ev = ev_tx.clone();
            let (dst, family, n) = (self.dst, self.family, self.n);
            tasks.push(tokio::spawn(async move {
                match speaker::connect(c, dst, family, connect_deadline).await {
                    Ok(s) => {
                        let _ = ev.send(Event::Up(id, Instant::now()));
                        speaker::receive(s.lean(), id, family, n, true, h, ev).await;
                    }
                    Err(e) => {
                        let _ = ev.send(Event::Down(id, e));
                    }
                }
            }));
        }
        let deadline = start + self.timeout;
        let (mut up, mut done) = (0, 0);
        let (mut last_up, mut first_done, mut last_done) = (start, None, start);
        while done < k {
            match tokio::time::timeout_at(deadline, ev_rx.recv()).await {
                Err(_) => {
                    return Ok(Outcome::Timeout {
                        after: self.timeout.as_secs_f64(),
                        worst: held.iter().map(|h| h.get()).min().unwrap_or(0),
                    });
                }
                Ok(None) => return Err("every peer task ended".into()),
                Ok(Some(Event::Up(_, t))) => {
                    up += 1;
                    last_up = last_up.max(t);
                }
                Ok(Some(Event::Full(id, t))) if id > 0 => {
                    done += 1;
                    first_done.get_or_insert(t);
                    last_done = last_done.max(t);
                }
                Ok(Some(Event::Down(id, why))) => {
                    let who = match id {
                        usize::MAX => "injector".to_string(),
                        0 => "the receiver up from the start".to_string(),
                        id => format!("joining receiver {id}"),
                    };
                    return Err(format!("{who} session down: {why}"));
                }
                Ok(Some(_)) => {}
            }
        }
        let cpu_end = daemon::cpu_ticks(pid).ok_or("daemon gone")?;
        let own_end = daemon::cpu_ticks(me).unwrap_or(0);
        let busy_end = busy_ticks();
        let sampled = sampler.stop();
        let (_, hwm) = daemon::memory(pid).ok_or("daemon gone")?;
        let peak = if reset { hwm.max(sampled) } else { sampled };
        let convergence = last_done.duration_since(start).as_secs_f64();
        let cpu = cpu_end.saturating_sub(cpu_start) as f64 / ticks;
        let harness_cpu = own_end.saturating_sub(own_start) as f64 / ticks;
        debug_assert_eq!(up, k);
        Ok(Outcome::Done(Metrics {
            convergence,
            ingest: 0.0,
            routes_per_sec: (self.n * k) as f64 / convergence,
            peak_rss: peak,
            baseline_rss: before,
            bytes_per_route: peak.saturating_sub(before) as f64 / self.n as f64,
            cpu,
            harness_cpu,
            background_cpu: (busy_end.saturating_sub(busy_start) as f64 / ticks
                - cpu
                - harness_cpu)
                .max(0.0),
            harness_rss: daemon::memory(me).map_or(0, |(_, hwm)| hwm),
            sessions_up: last_up.duration_since(start).as_secs_f64(),
            first_done: first_done.map_or(0.0, |t| t.duration_since(start).as_secs_f64()),
            per_receiver: peak.saturating_sub(before) as f64 / k as f64,
            display: None,
        }))
    }
}

type Phase = Result<(Instant, Instant, f64), Outcome>;

/// Waits for every receiver to be full (or empty, `withdraw`): returns when the injector
/// started, when the last receiver got there, and the injector's write time.
async fn wait_phase(
    ev: &mut mpsc::UnboundedReceiver<Event>,
    k: usize,
    withdraw: bool,
    timeout: Duration,
    held: &[Arc<Held>],
    n: usize,
) -> Result<Phase, String> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut sent: Option<(Instant, Instant)> = None;
    let mut reached = 0;
    let mut last = start;
    while reached < k || sent.is_none() {
        match tokio::time::timeout_at(deadline, ev.recv()).await {
            Err(_) => {
                let counts = held.iter().map(|h| h.get());
                let worst = if withdraw {
                    counts.max().unwrap_or(n)
                } else {
                    counts.min().unwrap_or(0)
                };
                return Ok(Err(Outcome::Timeout {
                    after: timeout.as_secs_f64(),
                    worst,
                }));
            }
            Ok(None) => return Err("every peer task ended".into()),
            Ok(Some(Event::Sent(a, b))) => sent = Some((a, b)),
            Ok(Some(Event::Full(_, t))) if !withdraw => {
                reached += 1;
                last = last.max(t);
            }
            Ok(Some(Event::Empty(_, t))) if withdraw => {
                reached += 1;
                last = last.max(t);
            }
            Ok(Some(Event::Down(id, why))) => {
                let who = if id == usize::MAX {
                    "injector".to_string()
                } else {
                    format!("receiver {id}")
                };
                return Err(format!("{who} session down: {why}"));
            }
            Ok(Some(_)) => {}
        }
    }
    let (first, done) = sent.unwrap_or((start, start));
    Ok(Ok((first, last, done.duration_since(first).as_secs_f64())))
}

/// Busy clock ticks of the whole machine so far (every CPU: user, nice, system, irq,
/// softirq, steal), from `/proc/stat`.
pub fn busy_ticks() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| f.get(i)).sum()
}

/// Waits until the machine's CPU use stays under [`QUIET_CORES`] for 3 s in a row (no daemon
/// runs now, so that is other processes). Gives up after `max`, returning the last load.
fn wait_quiet(max: Duration) -> Result<(), f64> {
    let ticks = daemon::clock_ticks() as f64;
    let start = std::time::Instant::now();
    let mut quiet = 0;
    loop {
        let a = busy_ticks();
        std::thread::sleep(Duration::from_secs(1));
        let load = busy_ticks().saturating_sub(a) as f64 / ticks;
        quiet = if load < QUIET_CORES { quiet + 1 } else { 0 };
        if quiet >= 3 {
            return Ok(());
        }
        if start.elapsed() >= max {
            return Err(load);
        }
    }
}

/// A short description of the machine: CPUs, model, memory, kernel.
pub fn machine() -> String {
    let sh = |c: &str| {
        std::process::Command::new("sh")
            .args(["-c", c])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "nproc {}; {}; {}; kernel {}",
        sh("nproc"),
        sh("lscpu | sed -n 's/^Model name: *//p' | head -1"),
        sh("awk '/MemTotal/ {printf \"%.1f GB RAM\", $2/1048576}' /proc/meminfo"),
        sh("uname -r")
    )
}

/// The ternd next to this executable (`target/<profile>/ternd`), built first with the same
/// profile through cargo.
pub fn build_ternd() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut dir = exe.parent().ok_or("no executable directory")?.to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "ternd", "--bin", "ternd"]);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        p => {
            cmd.args(["--profile", p]);
        }
    }
    if let Some(target) = dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    let st = cmd
        .status()
        .map_err(|e| format!("cargo build ternd: {e}"))?;
    if !st.success() {
        return Err("cargo build -p ternd failed".into());
    }
    let ternd = dir.join("ternd");
    if ternd.exists() {
        Ok(ternd)
    } else {
        Err(format!("{} not found after building it", ternd.display()))
    }
}
