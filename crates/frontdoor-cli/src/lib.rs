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

mod check;
pub mod commands;
pub mod config;
pub mod live;
pub mod logging;
mod mirror_metrics;
pub mod ops;
mod relocate_metrics;
pub mod stack;
pub mod tls;
mod traffic_metrics;

pub use crate::{
    check::{check, compile, Checked},
    config::{Config, ConfigError, ConfigErrors},
    stack::Built,
};
