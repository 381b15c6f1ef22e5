//! TLS in the binary: the `[[tls]]` certificates (read, checked, described, and
//! served through one resolver that reloads swap), and the client side of a target's
//! `tls = { .. }`.
//!
//! Files are read here, never while parsing: [`load`] reads every certificate and key
//! and reports every problem with its key path (`tls[0].key`) and file; warnings
//! (an expired certificate, a host the certificate does not cover) do not stop it.

use std::{
    fmt::Write as _,
    path::PathBuf,
    time::{Duration, SystemTime},
};

#[cfg(feature = "tls")]
use frontdoor::serve::tls::{CertResolver, CertSet, Certificate, TlsConfig};
use parking_lot::Mutex;

use crate::config::{Config, ConfigError, ConfigErrors};
#[cfg(feature = "tls")]
use crate::config::{FileRef, TlsCert};

/// One `[[tls]]` certificate as `routes` and the admin `/routes` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertRow {
    /// Its key path: `tls[0]`, `tls[1]`, ...
    pub key: String,
    /// The names it serves.
    pub names: Vec<String>,
    /// When it expires.
    pub not_after: SystemTime,
    /// The certificate file.
    pub file: PathBuf,
}

/// The `[[tls]]` certificates of a config, loaded and checked.
#[derive(Debug)]
#[non_exhaustive]
pub struct Certificates {
    /// The set to serve (the first certificate is the default).
    #[cfg(feature = "tls")]
    pub set: CertSet,
    /// What `routes` shows, in file order.
    pub rows: Vec<CertRow>,
    /// Allowed, but probably not meant: expired, not yet valid, hosts not covered.
    pub warnings: Vec<ConfigError>,
}

// === Served ===

/// The certificates a running front door serves: one resolver shared by every TLS
/// listener of every worker, swapped by reloads, and their rows for `/routes` and
/// the expiry gauge.
#[derive(Debug, Default)]
pub struct Served {
    #[cfg(feature = "tls")]
    resolver: Option<CertResolver>,
    rows: Mutex<Vec<CertRow>>,
}

impl Served {
    /// Serves `certs` (nothing when `None`: no TLS listener can start).
    #[must_use]
    pub fn new(certs: Option<Certificates>) -> Self {
        let Some(certs) = certs else {
            return Self::default();
        };
        Self {
            #[cfg(feature = "tls")]
            resolver: Some(CertResolver::new(certs.set)),
            rows: Mutex::new(certs.rows),
        }
    }

    /// The TLS listeners' configuration, when there are certificates.
    ///
    /// # Errors
    ///
    /// When rustls refuses the configuration.
    #[cfg(feature = "tls")]
    pub fn tls_config(&self) -> Result<Option<TlsConfig>, frontdoor::serve::tls::TlsConfigError> {
        self.resolver.clone().map(TlsConfig::new).transpose()
    }

    /// Replaces the certificates for new handshakes; `false` (and nothing changes)
    /// when there is nothing to replace: no TLS listener started, or `certs` is
    /// `None`.
    pub fn store(&self, certs: Option<Certificates>) -> bool {
        #[cfg(feature = "tls")]
        if let (Some(resolver), Some(certs)) = (&self.resolver, certs) {
            resolver.store(certs.set);
            *self.rows.lock() = certs.rows;
            return true;
        }
        #[cfg(not(feature = "tls"))]
        let _ = certs;
        false
    }

    /// The certificates served, in `[[tls]]` order.
    #[must_use]
    pub fn rows(&self) -> Vec<CertRow> {
        self.rows.lock().clone()
    }
}

/// Reads and checks the config's certificates; `None` when it has none. `now`
/// decides what counts as expired.
///
/// # Errors
///
/// Every certificate or key that cannot be read or used, each naming its key path
/// (`tls[N].cert` or `tls[N].key`) and file; without the `tls` feature, any TLS key.
#[cfg(feature = "tls")]
pub fn load(config: &Config, now: SystemTime) -> Result<Option<Certificates>, ConfigErrors> {
    if config.tls.is_empty() {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut builder = CertSet::builder();
    for tls in &config.tls {
        match load_one(tls) {
            Ok(cert) => {
                warnings.extend(check_one(tls, &cert, now));
                builder = match &tls.hosts {
                    Some(hosts) => builder.cert_for(cert, hosts),
                    None => builder.cert(cert),
                };
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors::from_vec(errors));
    }
    let set = builder.build().map_err(|e| {
        let tls = e.index().and_then(|i| config.tls.get(i));
        ConfigError::new(
            tls.map(|t| t.hosts_line.unwrap_or(t.cert.line)),
            tls.map_or_else(|| "tls".to_owned(), |t| format!("tls[{}].hosts", t.index)),
            e.to_string(),
        )
    })?;
    let rows = set
        .iter()
        .zip(&config.tls)
        .map(|((cert, hosts), tls)| CertRow {
            key: format!("tls[{}]", tls.index),
            names: hosts.to_vec(),
            not_after: cert.not_after(),
            file: tls.cert.path.clone(),
        })
        .collect();
    Ok(Some(Certificates {
        set,
        rows,
        warnings,
    }))
}

/// Without the `tls` feature: no certificates, and TLS keys are errors.
///
/// # Errors
///
/// When the config has a TLS listener, a certificate or a target's `tls`.
#[cfg(not(feature = "tls"))]
pub fn load(config: &Config, _now: SystemTime) -> Result<Option<Certificates>, ConfigErrors> {
    const OFF: &str = "this frontdoor was built without TLS support (the `tls` feature)";
    let mut errors = Vec::new();
    if !config.server.listen_tls.is_empty() {
        errors.push(ConfigError::new(None, "server.listen_tls", OFF));
    }
    for tls in &config.tls {
        errors.push(ConfigError::new(
            Some(tls.cert.line),
            format!("tls[{}]", tls.index),
            OFF,
        ));
    }
    if errors.is_empty() {
        Ok(None)
    } else {
        Err(ConfigErrors::from_vec(errors))
    }
}

/// Reads one `[[tls]]` chain and key.
#[cfg(feature = "tls")]
fn load_one(tls: &TlsCert) -> Result<Certificate, ConfigError> {
    let path = format!("tls[{}]", tls.index);
    let chain = read(&tls.cert, &format!("{path}.cert"))?;
    let key = read(&tls.key, &format!("{path}.key"))?;
    Certificate::from_pem(&chain, &key).map_err(|e| {
        use frontdoor::serve::tls::TlsConfigErrorKind as Kind;
        let (file, name) = if e.is_key() {
            (&tls.key, "key")
        } else {
            (&tls.cert, "cert")
        };
        let message = if e.kind() == Kind::KeyMismatch {
            format!(
                "{}: {e} in {}",
                file.path.display(),
                tls.cert.path.display()
            )
        } else {
            format!("{}: {e}", file.path.display())
        };
        ConfigError::new(Some(file.line), format!("{path}.{name}"), message)
    })
}

/// The file's bytes, or an error at `key` naming it.
#[cfg(feature = "tls")]
fn read(file: &FileRef, key: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(&file.path).map_err(|e| {
        ConfigError::new(
            Some(file.line),
            key,
            format!("cannot read {}: {e}", file.path.display()),
        )
    })
}

/// Warnings about a certificate that loaded: its validity at `now`, and hosts it
/// does not cover.
#[cfg(feature = "tls")]
fn check_one(tls: &TlsCert, cert: &Certificate, now: SystemTime) -> Vec<ConfigError> {
    let mut warnings = Vec::new();
    let at = |key: &str, message: String| {
        let line = match key {
            "hosts" => tls.hosts_line.unwrap_or(tls.cert.line),
            _ => tls.cert.line,
        };
        ConfigError::new(Some(line), format!("tls[{}].{key}", tls.index), message)
    };
    let file = tls.cert.path.display();
    if cert.not_after() <= now {
        warnings.push(at(
            "cert",
            format!(
                "{file}: the certificate expired {} ({}); clients will refuse it",
                rfc3339(cert.not_after()),
                relative(cert.not_after(), now)
            ),
        ));
    } else if cert.not_before() > now {
        warnings.push(at(
            "cert",
            format!(
                "{file}: the certificate is not valid before {}; clients will refuse it until then",
                rfc3339(cert.not_before())
            ),
        ));
    }
    for host in tls.hosts.iter().flatten() {
        if !cert.covers(host) {
            warnings.push(at(
                "hosts",
                format!(
                    "{file}: the certificate does not cover {host} (it names {})",
                    list(cert.names())
                ),
            ));
        }
    }
    warnings
}

/// The certificates as aligned text under a header line, without a final newline.
#[must_use]
pub fn render(rows: &[CertRow], now: SystemTime) -> String {
    const HEADER: [&str; 4] = ["tls", "names", "expires", "file"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.key.clone(),
                list(&r.names),
                format!("{} ({})", rfc3339(r.not_after), relative(r.not_after, now)),
                r.file.display().to_string(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::from("certificates (the first is the default):\n");
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&cells) {
        for (cell, width) in row[..3].iter().zip(widths) {
            let _ = write!(out, "{cell:<width$}  ");
        }
        out.push_str(&row[3]);
        out.push('\n');
    }
    out.pop();
    out
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(no names: clients without SNI or with unknown names)".to_owned()
    } else {
        names.join(", ")
    }
}

/// `2026-01-31T12:00:00Z`.
fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `in 89 days`, `3 days ago`, `in 5 hours`.
fn relative(at: SystemTime, now: SystemTime) -> String {
    let (span, future) = match at.duration_since(now) {
        Ok(ahead) => (ahead, true),
        Err(e) => (e.duration(), false),
    };
    let days = span.as_secs() / 86_400;
    let amount = if days >= 2 {
        format!("{days} days")
    } else {
        let hours = span.as_secs() / 3600;
        format!("{hours} hours")
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Seconds from `now` to `at`, negative when `at` is past.
#[must_use]
pub fn seconds_until(at: SystemTime, now: SystemTime) -> i64 {
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    match at.duration_since(now) {
        Ok(ahead) => secs(ahead),
        Err(e) => -secs(e.duration()),
    }
}

// === upstream TLS ===

/// The config's certificate files, with their modification times and lengths, for
/// reload-on-change (a renewal tool rewrites them in place).
#[must_use]
pub fn file_stamps(config: &Config) -> Vec<Option<(Option<SystemTime>, u64)>> {
    config
        .files()
        .into_iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().ok(), m.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
