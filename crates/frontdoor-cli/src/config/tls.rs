//! Validation of the TLS keys: `[server] listen_tls`, the `[[tls]]` certificates and
//! a target's `tls = { .. }`. Only the text is checked here; the files are read when
//! the certificates are loaded ([`crate::tls`]).

use std::ops::Range;

use frontdoor_core::Schemes;
use http::uri::Scheme;
use toml::Spanned;

use super::{
    error::Errors,
    raw::{RawTls, RawUpstreamTls},
    FileRef, Server, TlsCert, UpstreamAddr, UpstreamTls,
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

/// The ports of `listen_tls` join the `https` label, unless the table gives them a
/// label already, so `host:https:/path` matches requests to the TLS listeners
/// without a `[resolve] schemes` entry.
pub(super) fn label_tls_ports(schemes: Schemes, server: &Server) -> Schemes {
    let mut https: Vec<u16> = schemes.ports("https").unwrap_or_default().to_vec();
    let before = https.len();
    for addr in &server.listen_tls {
        let port = addr.port();
        if port != 0 && schemes.label_of(port).is_none() && !https.contains(&port) {
            https.push(port);
        }
    }
    if https.len() == before {
        schemes
    } else {
        schemes.with("https", https)
    }
}

/// A target's `tls = { .. }`, for `upstreams` (which must all be `https://`).
pub(super) fn upstream(
    path: &str,
    raw: Spanned<RawUpstreamTls>,
    upstreams: &[UpstreamAddr],
    errors: &mut Errors<'_>,
) -> Option<UpstreamTls> {
    let span = raw.span();
    let raw = raw.into_inner();
    let path = format!("{path}.tls");
    let before = errors.count();
    let plain = upstreams.iter().find(|u| match u {
        UpstreamAddr::Url(uri) => uri.scheme() != Some(&Scheme::HTTPS),
        UpstreamAddr::Builtin(_) => true,
    });
    if let Some(plain) = plain {
        errors.push(
            Some(&span),
            path.as_str(),
            format!("applies to https:// upstreams only, and {plain} is not one"),
        );
    }
    let verify = raw.verify.as_ref().is_none_or(|v| *v.get_ref());
    if let (false, Some(v)) = (verify, &raw.verify) {
        errors.warn(
            Some(&v.span()),
            format!("{path}.verify"),
            "the upstream's certificate is not verified: anyone on the path can \
             impersonate it (trust its CA with `ca` instead)",
        );
        if let Some(ca) = &raw.ca {
            errors.push(
                Some(&ca.span()),
                format!("{path}.ca"),
                "a CA is of no use with `verify = false`",
            );
        }
    }
    let ca = raw.ca.and_then(|v| optional_file(&path, "ca", v, errors));
    let server_name = raw.server_name.and_then(|n| {
        let name = n.get_ref().trim().to_owned();
        if name.is_empty() {
            errors.push(Some(&n.span()), format!("{path}.server_name"), "is empty");
            return None;
        }
        Some(name)
    });
    let cert = client_file(&path, "cert", "key", raw.cert, raw.key.is_some(), errors);
    let key = client_file(&path, "key", "cert", raw.key, cert.is_some(), errors);
    (errors.count() == before).then(|| UpstreamTls {
        line: errors.line_of(&span),
        ca,
        server_name,
        verify,
        cert,
        key,
    })
}

/// One of the client certificate's two files, which come together.
fn client_file(
    path: &str,
    key: &str,
    other: &str,
    value: Option<Spanned<String>>,
    has_other: bool,
    errors: &mut Errors<'_>,
) -> Option<FileRef> {
    let value = value?;
    if !has_other {
        errors.push(
            Some(&value.span()),
            format!("{path}.{key}"),
            format!("a client certificate needs both `cert` and `key`; `{other}` is missing"),
        );
    }
    optional_file(path, key, value, errors)
}
