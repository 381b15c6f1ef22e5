//! What the `frontdoor` subcommands run: [`check`], [`routes`] and [`serve`].
//!
//! Each prints what a user reads (stdout) and every config error as
//! `FILE: line N: key.path: message` (stderr), warnings as
//! `FILE: warning: line N: key.path: message` (stderr), and returns the process's
//! exit code.

use std::{io::Write, net::SocketAddr, path::Path, process::ExitCode};

use frontdoor::{
    serve::{shutdown_signal, Drain, Server, Workers},
    BoxError,
};

use crate::{
    check::{self as checks, Checked},
    config::{Config, ConfigError, ConfigErrors, DEFAULT_DRAIN_DELAY},
    live::{reload_on_change, reload_on_hangup, Live, Source},
    ops::{self, Metrics},
};

/// `frontdoor check -c FILE`: 0 when the file builds and its certificates load (with
/// any warnings printed), else 1 with every error. Prints `FILE: ok (N routes)`,
/// counting the `[[route]]`s, with `and a default` when there is a `[default]` and
/// the certificates when there are any.
#[must_use]
pub fn check(file: &Path) -> ExitCode {
    report(file, checks::check(file), |out, checked| {
        writeln!(out, "{}: ok ({})", file.display(), summary(checked))
    })
}

/// What a checked file holds: `4 routes and a default, 1 certificate`.
fn summary(checked: &Checked) -> String {
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let mut summary = plural(checked.routes, "route");
    if checked.default {
        summary.push_str(" and a default");
    }
    if !checked.certificates.is_empty() {
        summary.push_str(", ");
        summary.push_str(&plural(checked.certificates.len(), "certificate"));
    }
    summary
}

/// `frontdoor routes -c FILE`: the compiled route table, in match order, then the
/// certificates and the names they serve.
#[must_use]
pub fn routes(file: &Path) -> ExitCode {
    report(file, checks::check(file), |out, checked| {
        writeln!(out, "{}", checked.table())
    })
}

/// Prints the warnings and a checked config with `show`, or the errors.
fn report(
    file: &Path,
    result: Result<Checked, ConfigErrors>,
    show: impl FnOnce(&mut std::io::StdoutLock<'static>, &Checked) -> std::io::Result<()>,
) -> ExitCode {
    match result {
        Ok(checked) => {
            print_warnings(file, &checked.warnings);
            let _ = show(&mut std::io::stdout().lock(), &checked);
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_errors(file, &errors);
            ExitCode::FAILURE
        }
    }
}

/// Prints warnings as `FILE: warning: line N: key.path: message` to stderr.
fn print_warnings(file: &Path, warnings: &[ConfigError]) {
    let mut err = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(err, "{}: warning: {w}", file.display());
    }
}

/// Prints errors as `FILE: line N: key.path: message`, one per line, to stderr.
fn print_errors(file: &Path, errors: &ConfigErrors) {
    let mut err = std::io::stderr().lock();
    for e in errors {
        let _ = writeln!(err, "{}: {e}", file.display());
    }
}

// === serve ===

/// Whether `serve` also reloads when the config file changes (SIGHUP always
/// reloads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Watch {
    /// Reload on SIGHUP only (the default).
    #[default]
    Off,
    /// Also reload when the file's modification time or length changes.
    File,
}

/// What `frontdoor serve` runs: a config source and the command line's overrides.
#[derive(Clone, Debug)]
#[must_use]
pub struct ServeOptions {
    source: Source,
    listen: Vec<SocketAddr>,
    watch: Watch,
    workers: Option<usize>,
    http1_fast_path: Option<bool>,
}

impl ServeOptions {
    /// Serves the config from `source`, listening where it says.
    pub const fn new(source: Source) -> Self {
        Self {
            source,
            listen: Vec::new(),
            watch: Watch::Off,
            workers: None,
            http1_fast_path: None,
        }
    }

    /// Whether HTTP/1.1 connections take the fast path, overriding `[server]
    /// http1_fast_path`. Default: `None` (the config's, else on).
    pub const fn http1_fast_path(mut self, on: Option<bool>) -> Self {
        self.http1_fast_path = on;
        self
    }

    /// Listen addresses overriding `[server] listen`. Default: none (the config's).
    pub fn listen(mut self, addrs: Vec<SocketAddr>) -> Self {
        self.listen = addrs;
        self
    }

    /// Whether to reload on file changes. Default: [`Watch::Off`].
    pub const fn watch(mut self, watch: Watch) -> Self {
        self.watch = watch;
        self
    }

    /// Worker threads, overriding `[server] workers`. Default: `None` (the config's,
    /// else one per core).
    pub const fn workers(mut self, workers: Option<usize>) -> Self {
        self.workers = workers;
        self
    }
}

/// `frontdoor serve`: builds the config, binds, prints the listen addresses and the
/// route table, then serves until SIGINT/SIGTERM, reloading on SIGHUP (and file
/// changes with [`Watch::File`]). From the signal on, the admin listener's `/healthz`
/// answers 503 while the front listeners serve for `[server] drain_delay`; then they
/// close and the requests in flight drain.
///
/// # Errors
///
/// When a listener cannot be bound or served. Config errors are printed and give
/// [`ExitCode::FAILURE`].
pub async fn serve(options: ServeOptions) -> Result<ExitCode, BoxError> {
    let ServeOptions {
        source,
        listen,
        watch,
        workers,
        http1_fast_path,
    } = options;
    let metrics = Metrics::new();
    let live = match Live::start(&source, metrics.clone(), workers).await {
        Ok(live) => live,
        Err(errors) => {
            print_errors(source.path().unwrap_or(Path::new("(embedded)")), &errors);
            return Ok(ExitCode::FAILURE);
        }
    };
    let config = live.config();
    let server = bind(&config, listen, &live)?;
    let server = match http1_fast_path {
        Some(on) => server.http1_fast_path(on),
        None => server,
    };
    if !http1_fast_path
        .or(config.server.settings.http1_fast_path)
        .unwrap_or(true)
    {
        tracing::info!("http1_fast_path is off: hyper's server serves every connection");
    }
    let addrs = server.local_addrs().to_vec();
    #[cfg(feature = "tls")]
    let tls_addrs = server.local_tls_addrs().to_vec();
    #[cfg(not(feature = "tls"))]
    let tls_addrs = Vec::new();
    if let Err(errors) = live.listening_tls(&tls_addrs).await {
        print_errors(source.path().unwrap_or(Path::new("(embedded)")), &errors);
        return Ok(ExitCode::FAILURE);
    }
    let drain = Drain::new();
    let admin = start_admin(&config, &metrics, &live, &drain).await?;
    // Reload triggers are armed before `ready`: SIGHUP is caught, files are stamped.
    tokio::spawn(reload_on_hangup(live.clone(), source.clone()));
    if watch == Watch::File {
        tokio::spawn(reload_on_change(live.clone(), source.clone()));
    }
    print_banner(&source, &addrs, &tls_addrs, admin, &live)?;
    server
        .serve_with_shutdown(
            move |worker| live.service(worker),
            drain.on(shutdown_signal()),
        )
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Binds the front listeners (`listen`, else the config's, and the TLS listeners of
/// `listen_tls`) with the config's limits (and the binary's drain delay,
/// [`DEFAULT_DRAIN_DELAY`], unless the config sets one).
fn bind(config: &Config, listen: Vec<SocketAddr>, live: &Live) -> Result<Workers, BoxError> {
    let listen = if listen.is_empty() {
        config.server.listen.clone()
    } else {
        listen
    };
    let server = Workers::bind(&listen, live.workers())?;
    #[cfg(feature = "tls")]
    let server = if config.server.listen_tls.is_empty() {
        server
    } else {
        let tls = live
            .tls_config()?
            .ok_or("listen_tls is set but no certificate is loaded")?;
        server.bind_tls(&config.server.listen_tls, &tls)?
    };
    Ok(server
        .drain_delay(DEFAULT_DRAIN_DELAY)
        .settings(&config.server.settings))
}

/// Starts the admin listener, if configured, its `/healthz` failing once `drain` has
/// started; returns its bound address. It serves until the process exits.
async fn start_admin(
    config: &Config,
    metrics: &Metrics,
    live: &Live,
    drain: &Drain,
) -> std::io::Result<Option<SocketAddr>> {
    let Some(addr) = config.server.admin else {
        return Ok(None);
    };
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "server.admin is not a loopback address: anyone who can reach it reads the \
             metrics and the route table"
        );
    }
    let admin = Server::bind(&[addr]).await?;
    let bound = admin.local_addrs()?.first().copied();
    let table = live.clone();
    tokio::spawn(admin.serve(ops::admin(
        metrics.clone(),
        move || table.table(),
        drain.clone(),
    )));
    Ok(bound)
}

/// Prints where the front door listens (every listener is bound by now), the route
/// table and certificates, what to try (for the demo), and `ready`.
fn print_banner(
    source: &Source,
    addrs: &[SocketAddr],
    tls_addrs: &[SocketAddr],
    admin: Option<SocketAddr>,
    live: &Live,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for addr in addrs {
        writeln!(out, "frontdoor listening on http://{addr}")?;
    }
    for addr in tls_addrs {
        writeln!(out, "frontdoor listening on https://{addr}")?;
    }
    if let Some(addr) = admin {
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
    if let (Source::Embedded, Some(addr)) = (source, addrs.first()) {
        writeln!(out)?;
        writeln!(out, "try:")?;
        writeln!(out, "  curl -s 'http://{addr}/hello?name=frontdoor'")?;
        writeln!(out, "  curl -si http://{addr}/redirect/somewhere")?;
    }
    writeln!(out, "ready")?;
    out.flush()
}
