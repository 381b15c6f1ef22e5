//! The `frontdoor` binary.
//!
//! `frontdoor serve` runs a front door; with no configuration it runs the embedded
//! demo: a front door on `127.0.0.1:8080` in front of the built-in echo and redirect
//! backends.
#![forbid(unsafe_code)]

#[allow(
    dead_code,
    reason = "wired into serve, check and routes as the layers land"
)]
mod config;
mod demo;
#[allow(dead_code, reason = "wired into serve as the layers land")]
mod ops;

use std::{io::Write, net::SocketAddr, process::ExitCode};

use clap::{Parser, Subcommand};
use frontdoor::serve::{shutdown_signal, Server};
use tracing_subscriber::EnvFilter;

/// A front door for your HTTP services.
#[derive(Debug, Parser)]
#[command(name = "frontdoor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the front door (the embedded demo when no config is given).
    Serve {
        /// Address to listen on; repeat for several listeners.
        #[arg(long, short = 'l', default_value = "127.0.0.1:8080")]
        listen: Vec<SocketAddr>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
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
    let result = match cli.command {
        Command::Serve { listen } => runtime.block_on(serve(&listen)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "frontdoor failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: &[SocketAddr]) -> Result<(), frontdoor::BoxError> {
    let server = Server::bind(listen).await?;
    let addrs = server.local_addrs()?;
    let app = demo::App::new();
    let mut out = std::io::stdout().lock();
    app.describe(&addrs, &mut out)?;
    out.flush()?;
    drop(out);
    server
        .serve_with_shutdown(app.service(), shutdown_signal())
        .await?;
    Ok(())
}
