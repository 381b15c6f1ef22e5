//! The `frontdoor` binary: a config-driven front door.
//!
//! * `frontdoor serve [-c FILE] [--listen ADDR]... [--watch] [--workers N]`: runs
//!   the front door, one worker thread per core (each with its own listeners and
//!   upstream pools);
//!   without `-c`, the embedded demo (a front door on `127.0.0.1:8080` in front of
//!   the built-in echo and redirect backends). SIGHUP (and, with `--watch`, a change
//!   of the file) reloads the config atomically; a config that fails to build is
//!   rejected and the old one keeps serving. SIGINT/SIGTERM shut down gracefully.
//! * `frontdoor check -c FILE`: validates; exits 0, or 1 printing every error with
//!   its line and key path.
//! * `frontdoor routes -c FILE`: prints the compiled route table in match order.
#![forbid(unsafe_code)]

mod build;
mod config;
mod live;
mod ops;

use std::{
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use clap::{Parser, Subcommand, ValueEnum};
use frontdoor::serve::{shutdown_signal, Server, Workers};
use tracing_subscriber::EnvFilter;

use crate::{
    build::{build, Builtins},
    config::{parse, ConfigError},
    live::{Live, Source},
    ops::Metrics,
};

/// The global allocator: see the `mimalloc` feature in `Cargo.toml`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A front door for your HTTP services.
#[derive(Debug, Parser)]
#[command(name = "frontdoor", version, about)]
struct Cli {
    /// Log format (the level comes from RUST_LOG, default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the front door (the embedded demo when no config is given).
    Serve {
        /// Config file (TOML).
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// Listen address, overriding [server] listen; repeat for several.
        #[arg(long, short = 'l')]
        listen: Vec<SocketAddr>,
        /// Reload when the config file changes.
        #[arg(long)]
        watch: bool,
        /// Worker threads, each with its own listeners and upstream pools
        /// (default: [server] workers, else one per core).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Validates a config file: exit 0, or 1 with every error.
    Check {
        /// Config file (TOML).
        #[arg(long, short = 'c')]
        config: PathBuf,
    },
    /// Prints the compiled route table in match order.
    Routes {
        /// Config file (TOML).
        #[arg(long, short = 'c')]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Routes { config } => routes(&config),
        Command::Serve {
            config,
            listen,
            watch,
            workers,
        } => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the runtime");
                    return ExitCode::FAILURE;
                }
            };
            let source = config.map_or(Source::Embedded, Source::File);
            match runtime.block_on(serve(source, listen, watch, workers)) {
                Ok(code) => code,
                Err(e) => {
                    tracing::error!(error = %e, "frontdoor failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints errors as `FILE: line N: key.path: message`, one per line, to stderr.
fn print_errors(file: &Path, errors: &[ConfigError]) {
    let mut err = std::io::stderr().lock();
    for e in errors {
        let _ = writeln!(err, "{}: {e}", file.display());
    }
}

/// Parses and builds without binding anything.
fn compile(file: &Path) -> Result<build::Built, Vec<ConfigError>> {
    let text = Source::File(file.to_owned()).read()?;
    let config = parse(&text)?;
    build(&config, &Builtins::new(), &Metrics::new())
}

fn check(file: &Path) -> ExitCode {
    match compile(file) {
        Ok(built) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}: ok ({} routes)", file.display(), built.rows.len());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_errors(file, &errors);
            ExitCode::FAILURE
        }
    }
}

fn routes(file: &Path) -> ExitCode {
    match compile(file) {
        Ok(built) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", built.table());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_errors(file, &errors);
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    source: Source,
    listen: Vec<SocketAddr>,
    watch: bool,
    workers: Option<usize>,
) -> Result<ExitCode, frontdoor::BoxError> {
    let metrics = Metrics::new();
    let live = match Live::start(&source, metrics.clone(), workers).await {
        Ok(live) => live,
        Err(errors) => {
            print_errors(source.path().unwrap_or(Path::new("(embedded)")), &errors);
            return Ok(ExitCode::FAILURE);
        }
    };
    let config = live.config();
    let listen = if listen.is_empty() {
        config.server.listen.clone()
    } else {
        listen
    };
    let mut server = Workers::bind(&listen, live.workers())?;
    if let Some(t) = config.server.header_timeout {
        server = server.header_read_timeout(t);
    }
    if let Some(t) = config.server.body_timeout {
        server = server.body_read_timeout(t);
    }
    if let Some(t) = config.server.drain_timeout {
        server = server.drain_timeout(t);
    }
    if let Some(n) = config.server.max_connections {
        server = server.max_connections(n);
    }
    let addrs = server.local_addrs().to_vec();

    let admin_addr = match config.server.admin {
        Some(addr) => {
            let admin = Server::bind(&[addr]).await?;
            let bound = admin.local_addrs()?.first().copied();
            let table = live.clone();
            tokio::spawn(admin.serve(ops::admin(metrics.clone(), move || table.table())));
            bound
        }
        None => None,
    };

    {
        let mut out = std::io::stdout().lock();
        for addr in &addrs {
            writeln!(out, "frontdoor listening on http://{addr}")?;
        }
        if let Some(addr) = admin_addr {
            writeln!(
                out,
                "admin listening on http://{addr} (/metrics, /routes, /healthz)"
            )?;
        }
        writeln!(out)?;
        writeln!(out, "routes (first match wins):")?;
        for line in live.table().lines() {
            writeln!(out, "  {line}")?;
        }
        if let (Source::Embedded, Some(addr)) = (&source, addrs.first()) {
            writeln!(out)?;
            writeln!(out, "try:")?;
            writeln!(out, "  curl -s 'http://{addr}/hello?name=frontdoor'")?;
            writeln!(out, "  curl -si http://{addr}/redirect/somewhere")?;
        }
        writeln!(out, "ready")?;
        out.flush()?;
    }

    tokio::spawn(reload_on_signal(live.clone(), source.clone()));
    if watch {
        if let Some(path) = source.path() {
            tokio::spawn(watch_file(live.clone(), source.clone(), path.to_owned()));
        }
    }
    let front = live.clone();
    server
        .serve_with_shutdown(move |worker| front.service(worker), shutdown_signal())
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Reloads on SIGHUP.
async fn reload_on_signal(live: Live, source: Source) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: reload by signal is off");
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading");
            live.reload(&source).await;
        }
    }
    #[cfg(not(unix))]
    let _ = (live, source);
}

/// Reloads when the file's modification time or length changes (polled every
/// second, which needs no platform watcher).
async fn watch_file(live: Live, source: Source, path: PathBuf) {
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let mut last = stamp(&path);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = stamp(&path);
        if now != last {
            last = now;
            tracing::info!(file = %path.display(), "config file changed: reloading");
            live.reload(&source).await;
        }
    }
}
