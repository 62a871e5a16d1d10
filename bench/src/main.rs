//! `tern-bench`: runs the route reflector benchmark and prints the summary tables.
//!
//! ```sh
//! cargo run --release -p tern-bench -- [--daemons tern,bird,frr,gobgp] [--cases ...]
//!     [--runs 3] [--quick] [--metrics [--metrics-interval SECS]] [--out FILE]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tern_bench::case::{Case, Kind};
use tern_bench::daemon::{self, Daemon, Paths};
use tern_bench::{Options, report};

#[derive(Parser)]
#[command(
    name = "tern-bench",
    about = "Route reflector benchmark: tern, BIRD, FRR and GoBGP on loopback addresses"
)]
struct Args {
    /// Daemons to run, in order (tern, bird, frr, gobgp).
    #[arg(long, value_delimiter = ',', default_value = "tern,bird,frr,gobgp")]
    daemons: Vec<Daemon>,
    /// Cases ([withdraw-|join-|display-]KIND[pi]-N-kK, KIND one of ipv4, vpnv4, vpnv6, vpnv4rt; `pi`:
    /// one label per VPN instance; e.g. vpnv4-1m-k2, vpnv4pi-1m-k2, join-vpnv4-1m-k200).
    /// Default: the full set (16 cases, no join case).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<Case>,
    /// Runs per case and daemon.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Smoke test: VPNv4 and IPv4 with 10k routes, 2 receivers, one run (unless --cases or
    /// --runs say otherwise).
    #[arg(long)]
    quick: bool,
    /// Per-run timeout in seconds (default: 30 s plus 0.3 ms per route, times 1 + K/20).
    #[arg(long)]
    timeout: Option<f64>,
    /// Markdown summary written here too (a CSV of every run is written next to it).
    #[arg(long, default_value = "bench-results.md")]
    out: PathBuf,
    /// ternd to run (default: built with cargo, same profile as this program).
    #[arg(long)]
    ternd: Option<PathBuf>,
    /// BIRD 2 executable.
    #[arg(long, default_value = "bird")]
    bird: PathBuf,
    /// FRR bgpd executable.
    #[arg(long, default_value = "/usr/lib/frr/bgpd")]
    bgpd: PathBuf,
    /// gobgpd executable.
    #[arg(long, default_value = "gobgpd")]
    gobgpd: PathBuf,
    /// Second octet of the 127.x.0.0/16 block the harness uses.
    #[arg(long, default_value_t = 77)]
    net: u8,
    /// Keep each run's scratch directory (configurations, logs).
    #[arg(long)]
    keep: bool,
    /// Before each run, wait up to this many seconds for other processes to leave the CPUs
    /// alone (0: do not wait; default 300, 0 with --quick).
    #[arg(long)]
    quiet_wait: Option<u64>,
    /// Run ternd with `--metrics` and scrape its Prometheus metrics through each run (what
    /// metrics cost; the other daemons run as usual).
    #[arg(long)]
    metrics: bool,
    /// How ternd keeps the routes out of the kernel: `rib-only` (`routing-table rib-only`
    /// configured) or `no-fib` (the `--no-fib` flag).
    #[arg(long, default_value = "rib-only")]
    tern_fib: daemon::TernFib,
    /// Seconds between two scrapes with --metrics.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, requires = "metrics")]
    metrics_interval: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut cases = args.cases.clone();
    let mut runs = args.runs;
    if args.quick {
        if cases.is_empty() {
            cases = [Kind::Ipv4, Kind::Vpnv4]
                .into_iter()
                .map(|kind| Case::new(kind, 10_000, 2))
                .collect();
        }
        if !std::env::args().any(|a| a.starts_with("--runs")) {
            runs = 1;
        }
    }
    if cases.is_empty() {
        cases = tern_bench::case::full_set();
    }
    let ternd = match (&args.ternd, args.daemons.contains(&Daemon::Tern)) {
        (Some(p), _) => p.clone(),
        (None, true) => match tern_bench::build_ternd() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tern-bench: {e}");
                return ExitCode::FAILURE;
            }
        },
        (None, false) => PathBuf::from("ternd"),
    };
    let paths = Paths {
        ternd,
        bird: args.bird.clone(),
        bgpd: args.bgpd.clone(),
        gobgpd: args.gobgpd.clone(),
    };
    let opts = Options {
        daemons: args.daemons.clone(),
        cases: cases.clone(),
        runs,
        timeout: args.timeout.map(Duration::from_secs_f64),
        net: [127, args.net],
        paths: paths.clone(),
        keep: args.keep,
        quiet_wait: Duration::from_secs(args.quiet_wait.unwrap_or(if args.quick {
            0
        } else {
            900
        })),
        metrics: args
            .metrics
            .then(|| Duration::from_secs_f64(args.metrics_interval.max(0.001))),
        tern_fib: args.tern_fib,
        ..Options::default()
    };
    let versions: Vec<String> = args
        .daemons
        .iter()
        .map(|&d| {
            format!(
                "{}: {}",
                d.name(),
                daemon::version(paths.of(d), "--version")
            )
        })
        .collect();
    let results = match tern_bench::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tern-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cmdline: Vec<String> = std::env::args().skip(1).collect();
    let mut md = format!(
        "## Route reflector benchmark\n\n- command: `tern-bench {}`\n- machine: {}\n- {}\n\n\
         Cells: median (min–max) over the runs. Ratio rows: tern's median ÷ the other \
         daemon's (below 1 is better for tern, except routes/s).\n\n",
        cmdline.join(" "),
        tern_bench::machine(),
        versions.join("; ")
    );
    md.push_str(&report::markdown(&results, &cases, &args.daemons));
    println!("{md}");
    let csv_path = args.out.with_extension("csv");
    if let Err(e) = std::fs::write(&args.out, &md)
        .and_then(|()| std::fs::write(&csv_path, report::csv(&results)))
    {
        eprintln!("tern-bench: {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "[tern-bench] written to {} and {}",
        args.out.display(),
        csv_path.display()
    );
    ExitCode::SUCCESS
}
