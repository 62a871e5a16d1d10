//! `ternd`: the tern BGP daemon. Reads a VRP configuration file and runs its BGP sessions.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(name = "ternd", version, about = "tern BGP daemon")]
struct Args {
    /// VRP configuration file.
    #[arg(long, short)]
    config: PathBuf,
    /// Address to listen on (repeatable). Default: 0.0.0.0:179 and [::]:179.
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// Port for the default listening addresses.
    #[arg(long, default_value_t = 179)]
    port: u16,
    /// Control socket path (the gRPC control API, tern-api).
    #[arg(long, default_value = "/run/ternd.sock")]
    control: PathBuf,
    /// Group whose members may use the control socket fully (name or number; default the
    /// daemon's group, root's when it runs as root).
    /// The socket is created mode 0660 with this group; root and the daemon's user always may.
    #[arg(long, value_name = "GROUP")]
    control_group: Option<String>,
    /// Group whose members may run displays only (the socket is then mode 0666; every
    /// caller is checked by its credentials).
    #[arg(long, value_name = "GROUP")]
    control_readonly_group: Option<String>,
    /// Directory of the commit history (default: the configuration file's path + `.state`).
    /// The daemon starts from --config; this directory keeps the rollback points. Locked
    /// while the daemon runs.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Rollback points kept in the commit history (VRP keeps 50); older ones are deleted.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=80))]
    commit_points: u16,
    /// Log filter (tracing env-filter syntax), also read from RUST_LOG.
    #[arg(long, default_value = "info")]
    log: String,
    /// Do not install routes into the kernel (a route reflector off the forwarding path);
    /// next hops are still resolved through the kernel's table.
    #[arg(long)]
    no_fib: bool,
    /// At exit, leave tern's routes in the kernel: the next start takes them over, rewrites
    /// only what changed and removes what is no longer announced once its peers' tables are
    /// in, so forwarding goes on across a restart (by default a clean exit removes them).
    #[arg(long, conflicts_with = "no_fib")]
    keep_kernel_routes: bool,
    /// Record the route engine's inputs into FILE (one JSON object a line), for replay.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Route engine shards: destinations split by prefix hash over this many engines, each a
    /// task of its own (default: one per available core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    engine_shards: usize,
    /// Directory of MRT files (RFC 6396): periodic RIB dumps and the message log.
    #[arg(long, value_name = "DIR")]
    mrt_dir: Option<PathBuf>,
    /// Write a TABLE_DUMP_V2 dump of the routing tables into --mrt-dir every SECS seconds.
    #[arg(long, value_name = "SECS", requires = "mrt_dir", value_parser = clap::value_parser!(u64).range(1..))]
    mrt_dump_interval: Option<u64>,
    /// Log every received message and session state change (BGP4MP) into --mrt-dir.
    #[arg(long, requires = "mrt_dir")]
    mrt_updates: bool,
    /// Seconds each message log file covers (a new file each period).
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    mrt_updates_interval: u64,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (off unless given).
    #[arg(long, value_name = "ADDR:PORT")]
    metrics: Option<SocketAddr>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&args.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let text = match tern_config::text::read(&args.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ternd: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (model, cfg) = match ternd::config::load_model(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ternd: {}: {e}", args.config.display());
            return ExitCode::FAILURE;
        }
    };
    let listen = if args.listen.is_empty() {
        vec![
            SocketAddr::from(([0, 0, 0, 0], args.port)),
            SocketAddr::from(([0u16; 8], args.port)),
        ]
    } else {
        args.listen
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ternd: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        let mut p = args.config.clone().into_os_string();
        p.push(".state");
        PathBuf::from(p)
    });
    let access = match ternd::access::Access::new(
        args.control_group.as_deref(),
        args.control_readonly_group.as_deref(),
    ) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ternd: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = ternd::daemon::Options {
        access,
        listen,
        control: Some(args.control),
        state_dir: Some(state_dir),
        startup: Some(args.config.clone()),
        commit_points: usize::from(args.commit_points),
        install_routes: !args.no_fib,
        keep_kernel_routes: args.keep_kernel_routes,
        record: args.record.clone(),
        shards: args.engine_shards,
        mrt: ternd::mrt::Settings {
            dir: args.mrt_dir.clone(),
            dump_interval: args.mrt_dump_interval,
            updates: args.mrt_updates,
            updates_interval: args.mrt_updates_interval,
        },
        metrics: args.metrics,
    };
    match rt.block_on(ternd::daemon::run(model, cfg, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ternd: {e}");
            ExitCode::FAILURE
        }
    }
}
