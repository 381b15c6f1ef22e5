//! The library behind the `frontdoor` binary: its config file, and the stack it
//! builds from it.
//!
//! The binary is a thin command line over this crate; integration tests and fuzz
//! targets call the same code:
//!
//! * [`config`]: reading and validating the config file ([`Config`] implements
//!   [`FromStr`](std::str::FromStr); [`Config::load`] reads a file). Every error names
//!   its line and key path ([`ConfigError`]).
//! * [`build`]: the service stack a config describes (resolve, route, cleanup,
//!   upstream, with the access log and metrics of [`ops`]); building never binds, so
//!   `frontdoor check` runs exactly what `serve` runs.
//! * [`live`]: the running front door (per-worker stacks behind an atomic swap, the
//!   built-in backends, reloads).
//! * [`commands`]: the subcommands `check`, `routes` and `serve`.
//!
//! # Example
//!
//! ```
//! use frontdoor_cli::{build::{build, Builtins}, config::Config, ops::Metrics};
//!
//! let config: Config = r#"
//! [[route]]
//! spec = "www.example.com::/svn"
//! upstream = "http://127.0.0.1:8081/repos"
//!
//! [default]
//! upstream = "builtin:echo"
//! "#.parse()?;
//! let built = build(&config, &Builtins::new(), &Metrics::new())?;
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

pub mod build;
pub mod commands;
pub mod config;
pub mod live;
mod mirror_metrics;
pub mod ops;

use std::path::Path;

pub use crate::{
    build::Built,
    config::{Config, ConfigError, ConfigErrors},
};

/// Reads, validates and builds the config file at `path` without starting anything
/// (no built-in backends, fresh metrics): what `frontdoor check` and
/// `frontdoor routes` run.
///
/// # Errors
///
/// Every problem in the file, each with its line and key path.
pub fn compile(path: &Path) -> Result<Built, ConfigErrors> {
    let config = Config::load(path)?;
    build::build(&config, &build::Builtins::new(), &ops::Metrics::new())
}
