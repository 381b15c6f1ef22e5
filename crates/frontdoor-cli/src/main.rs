//! The `frontdoor` binary: a config-driven front door.
//!
//! * `frontdoor serve [-c FILE] [--listen ADDR]... [--watch] [--workers N]`: runs
//!   the front door, one worker thread per core (each with its own listeners and
//!   upstream pools);
//!   without `-c`, the embedded demo (a front door on `127.0.0.1:8080` in front of
//!   the built-in echo and redirect backends). SIGHUP (and, with `--watch`, a change
//!   of the file) reloads the config atomically; a config that fails to build is
//!   rejected and the old one keeps serving. SIGINT/SIGTERM shut down gracefully:
//!   the admin listener's `/healthz` answers 503 while the front listeners serve for
//!   `[server] drain_delay`, then they close and requests in flight drain.
//! * `frontdoor check -c FILE`: validates; exits 0, or 1 printing every error with
//!   its line and key path.
//! * `frontdoor routes -c FILE`: prints the compiled route table in match order.
//!
//! The work is done by the `frontdoor_cli` library; this file parses the command
//! line and sets up logging.
#![forbid(unsafe_code)]

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand, ValueEnum};
use frontdoor_cli::{
    commands::{self, ServeOptions, Watch},
    live::Source,
    logging,
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
        /// Whether HTTP/1.1 connections take the proxy-specialised fast path,
        /// overriding [server] http1_fast_path (default: on).
        #[arg(long, value_name = "BOOL", env = "FRONTDOOR_HTTP1_FAST_PATH")]
        http1_fast_path: Option<bool>,
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
    init_logging(cli.log_format);
    match cli.command {
        Command::Check { config } => commands::check(&config),
        Command::Routes { config } => commands::routes(&config),
        Command::Serve {
            config,
            listen,
            watch,
            workers,
            http1_fast_path,
        } => {
            let source = config.map_or(Source::Embedded, Source::File);
            let watch = if watch { Watch::File } else { Watch::Off };
            serve(
                ServeOptions::new(source)
                    .listen(listen)
                    .watch(watch)
                    .workers(workers)
                    .http1_fast_path(http1_fast_path),
            )
        }
    }
}

/// Logs to stderr in `format`, at the level `RUST_LOG` sets (default info).
fn init_logging(format: LogFormat) {
    logging::init(match format {
        LogFormat::Text => logging::LogFormat::Text,
        LogFormat::Json => logging::LogFormat::Json,
    });
}

/// Runs `serve` on a multi-threaded runtime.
fn serve(options: ServeOptions) -> ExitCode {
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
    match runtime.block_on(commands::serve(options)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %e, "frontdoor failed");
            ExitCode::FAILURE
        }
    }
}
