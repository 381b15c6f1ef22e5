//! The library behind the `frontdoor` binary: its config file, and the stack it
//! builds from it.
//!
//! The binary is a thin command line over this crate; integration tests and fuzz
//! targets call the same code:
//!
//! * [`config`]: reading and validating the config file ([`Config`] implements
//!   [`FromStr`](std::str::FromStr); [`Config::load`] reads a file). Every error names
//!   its line and key path ([`ConfigError`]).
//! * [`stack`]: the plan a config describes ([`frontdoor::plan`]: resolve, route,
//!   cleanup, relocate, upstream) and each worker's stack from it, with the access log
//!   and metrics of [`ops`]; building never binds, so `frontdoor check` runs exactly
//!   what `serve` runs.
//! * [`tls`]: the `[[tls]]` certificates (read, checked, described) and the client
//!   side of a target's `tls` table; files are read there, never while parsing.
//! * [`live`]: the running front door (per-worker stacks and the certificates behind
//!   atomic swaps, the built-in backends, reloads).
//! * [`commands`]: the subcommands `check`, `routes` and `serve`.
//!
//! # Example
//!
//! ```
//! use frontdoor_cli::{config::Config, ops::Metrics, stack::{self, Builtins}};
//!
//! let config: Config = r#"
//! [[route]]
//! spec = "www.example.com::/svn"
//! upstream = "http://127.0.0.1:8081/repos"
//!
//! [default]
//! upstream = "builtin:echo"
//! "#.parse()?;
//! let metrics = Metrics::new();
//! let plan = stack::plan(&config, &Builtins::new(), &metrics, None)?; // once per config
//! let built = stack::Built::new(&plan, &metrics); // once per worker
//! assert_eq!(built.rows.len(), 2);
//!
//! // Every error, each with its line and key path.
//! let errors = "[[route]]\nspec = \"::/\"\nupstream = \"ftp://h\"\nhost = \"a b\"\n"
//!     .parse::<Config>()
//!     .unwrap_err();
//! let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
//! assert!(lines[0].starts_with("line 3: route[0].upstream: scheme `ftp` is not supported"));
//! assert!(lines[1].starts_with("line 4: route[0].host: expected"));
//! # Ok::<_, frontdoor_cli::config::ConfigErrors>(())
//! ```
#![forbid(unsafe_code)]

pub mod commands;
pub mod config;
pub mod live;
pub mod logging;
mod mirror_metrics;
pub mod ops;
pub mod stack;
pub mod tls;

use std::{path::Path, time::SystemTime};

pub use crate::{
    config::{Config, ConfigError, ConfigErrors},
    stack::Built,
};

/// What `frontdoor check` and `frontdoor routes` report on a config file.
#[derive(Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The stack the config builds.
    pub built: Built,
    /// Its `[[tls]]` certificates, loaded.
    pub certificates: Vec<tls::CertRow>,
    /// Allowed, but probably not meant, each with its line and key path.
    pub warnings: Vec<ConfigError>,
}

impl Checked {
    /// The route table, then the certificates (if any), as `frontdoor routes` prints
    /// them.
    #[must_use]
    pub fn table(&self) -> String {
        tables(&self.built.table(), &self.certificates, SystemTime::now())
    }
}

/// The route table text, then the certificate table when there are certificates.
fn tables(routes: &str, certificates: &[tls::CertRow], now: SystemTime) -> String {
    if certificates.is_empty() {
        routes.to_owned()
    } else {
        format!("{routes}\n\n{}", tls::render(certificates, now))
    }
}

/// Reads, validates and builds the config file at `path`, and reads its certificates,
/// without starting anything (no built-in backends, fresh metrics): what
/// `frontdoor check` and `frontdoor routes` run.
///
/// # Errors
///
/// Every problem in the file and its certificates, each with its line and key path.
pub fn check(path: &Path) -> Result<Checked, ConfigErrors> {
    let config = Config::load(path)?;
    let certificates = tls::load(&config, SystemTime::now());
    let metrics = ops::Metrics::new();
    let built = stack::plan(&config, &stack::Builtins::new(), &metrics, None)
        .map(|plan| stack::Built::new(&plan, &metrics));
    let (certificates, built) = both(certificates, built)?;
    let (certificates, tls_warnings) =
        certificates.map_or_else(Default::default, |c| (c.rows, c.warnings));
    let mut warnings = config.warnings;
    warnings.extend(tls_warnings);
    Ok(Checked {
        built,
        certificates,
        warnings,
    })
}

/// As [`check`], the stack only.
///
/// # Errors
///
/// As [`check`].
pub fn compile(path: &Path) -> Result<Built, ConfigErrors> {
    check(path).map(|checked| checked.built)
}

/// Both values, or the errors of both steps in line order.
fn both<A, B>(
    a: Result<A, ConfigErrors>,
    b: Result<B, ConfigErrors>,
) -> Result<(A, B), ConfigErrors> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => {
            let mut errors: Vec<ConfigError> =
                [a.err(), b.err()].into_iter().flatten().flatten().collect();
            errors.sort_by_key(|e| e.line().unwrap_or(usize::MAX));
            Err(ConfigErrors::from_vec(errors))
        }
    }
}
