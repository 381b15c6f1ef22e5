//! What `frontdoor check` and `frontdoor routes` run on a config file: read, validate
//! and build it, and read its certificates, without starting anything.

use std::{path::Path, time::SystemTime};

use crate::{
    config::{Config, ConfigError, ConfigErrors},
    ops, stack,
    stack::Built,
    tls,
};

/// What `frontdoor check` and `frontdoor routes` report on a config file.
#[derive(Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The stack the config builds.
    pub built: Built,
    /// How many `[[route]]`s the config has.
    pub routes: usize,
    /// Whether it has a `[default]`.
    pub default: bool,
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
pub(crate) fn tables(routes: &str, certificates: &[tls::CertRow], now: SystemTime) -> String {
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
    let (routes, default) = (config.plan.routes.len(), config.plan.default.is_some());
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
        routes,
        default,
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
pub(crate) fn both<A, B>(
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
