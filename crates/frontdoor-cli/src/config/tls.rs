//! Validation of the TLS keys: `[server] listen_tls` and the `[[tls]]` certificates
//! (a target's `tls = { .. }` is the plan's). Only the text is checked here; the files
//! are read when the certificates are loaded ([`crate::tls`]).

use std::ops::Range;

use toml::Spanned;

use super::{
    error::Errors,
    raw::RawTls,
    types::{FileRef, Server, TlsCert},
};

/// The `[[tls]]` certificates.
pub(super) fn certs(raw: Vec<Spanned<RawTls>>, errors: &mut Errors<'_>) -> Vec<TlsCert> {
    raw.into_iter()
        .enumerate()
        .filter_map(|(index, t)| cert(index, t, errors))
        .collect()
}

fn cert(index: usize, raw: Spanned<RawTls>, errors: &mut Errors<'_>) -> Option<TlsCert> {
    let span = raw.span();
    let raw = raw.into_inner();
    let path = format!("tls[{index}]");
    let cert = file(&path, "cert", raw.cert, Some(&span), errors);
    let key = file(&path, "key", raw.key, Some(&span), errors);
    let hosts_line = raw.hosts.as_ref().map(|h| errors.line_of(&h.span()));
    let hosts = raw.hosts.and_then(|h| hosts(&path, &h, errors));
    Some(TlsCert {
        index,
        cert: cert?,
        key: key?,
        hosts,
        hosts_line,
    })
}

/// A required file key `{path}.{key}`.
fn file(
    path: &str,
    key: &str,
    value: Option<Spanned<String>>,
    table: Option<&Range<usize>>,
    errors: &mut Errors<'_>,
) -> Option<FileRef> {
    let Some(value) = value else {
        errors.push(table, format!("{path}.{key}"), format!("missing `{key}`"));
        return None;
    };
    optional_file(path, key, value, errors)
}

/// A file key `{path}.{key}` that is present.
fn optional_file(
    path: &str,
    key: &str,
    value: Spanned<String>,
    errors: &mut Errors<'_>,
) -> Option<FileRef> {
    let span = value.span();
    let text = value.into_inner();
    if text.trim().is_empty() {
        errors.push(Some(&span), format!("{path}.{key}"), "expected a file path");
        return None;
    }
    Some(FileRef::new(text, errors.line_of(&span)))
}

/// `hosts = [..]`: DNS names and `*.` wildcards, normalised.
fn hosts(path: &str, raw: &Spanned<Vec<String>>, errors: &mut Errors<'_>) -> Option<Vec<String>> {
    let span = raw.span();
    if raw.get_ref().is_empty() {
        errors.push(
            Some(&span),
            format!("{path}.hosts"),
            "needs at least one name (leave `hosts` out to serve the certificate's own names)",
        );
        return None;
    }
    let mut valid = Vec::new();
    for (i, host) in raw.get_ref().iter().enumerate() {
        match pattern(host) {
            Ok(host) => valid.push(host),
            Err(message) => errors.push(Some(&span), format!("{path}.hosts[{i}]"), message),
        }
    }
    (valid.len() == raw.get_ref().len()).then_some(valid)
}

#[cfg(feature = "tls")]
fn pattern(host: &str) -> Result<String, String> {
    frontdoor::serve::tls::server_name_pattern(host).map_err(|e| e.to_string())
}

#[cfg(not(feature = "tls"))]
fn pattern(host: &str) -> Result<String, String> {
    Ok(host.to_ascii_lowercase())
}

/// TLS listeners need a certificate; certificates without a TLS listener serve
/// nothing (a warning: they may be staged ahead of the listener).
pub(super) fn check_listeners(
    server: &Server,
    tls_tables: usize,
    listen_tls: Option<&Range<usize>>,
    errors: &mut Errors<'_>,
) {
    if !server.listen_tls.is_empty() && tls_tables == 0 {
        errors.push(
            listen_tls,
            "server.listen_tls",
            "a TLS listener needs a certificate: add a [[tls]] table with `cert` and `key`",
        );
    }
    if server.listen_tls.is_empty() && tls_tables > 0 {
        errors.warn(
            None,
            "tls",
            "certificates are configured but [server] listen_tls is empty: nothing serves them",
        );
    }
}
