//! A target's `tls = { .. }`: how to reach its `https://` upstreams. Only the text is
//! checked here; the files are read when the stack is built.

use std::path::PathBuf;

use http::uri::Scheme;

use crate::plan::{
    checked::{UpstreamAddr, UpstreamTls},
    description as d,
    error::Errors,
};

/// A target's `tls = { .. }`, for `upstreams` (which must all be `https://`).
pub(super) fn upstream(
    path: &str,
    raw: &d::UpstreamTls,
    upstreams: &[UpstreamAddr],
    errors: &mut Errors,
) -> Option<UpstreamTls> {
    let path = format!("{path}.tls");
    let before = errors.count();
    let plain = upstreams.iter().find(|u| match u {
        UpstreamAddr::Url(uri) => uri.scheme() != Some(&Scheme::HTTPS),
        UpstreamAddr::Builtin(_) | UpstreamAddr::Service(_) => true,
    });
    if let Some(plain) = plain {
        errors.push(
            path.as_str(),
            format!("applies to https:// upstreams only, and {plain} is not one"),
        );
    }
    let verify = verify(&path, raw, errors);
    let ca = raw.ca.as_deref().and_then(|v| file(&path, "ca", v, errors));
    let server_name = raw.server_name.as_ref().and_then(|n| {
        let name = n.trim().to_owned();
        if name.is_empty() {
            errors.push(format!("{path}.server_name"), "is empty");
            return None;
        }
        Some(name)
    });
    let cert = client_file(
        &path,
        ("cert", "key"),
        raw.cert.as_deref(),
        raw.key.is_some(),
        errors,
    );
    let key = client_file(
        &path,
        ("key", "cert"),
        raw.key.as_deref(),
        cert.is_some(),
        errors,
    );
    (errors.count() == before).then_some(UpstreamTls {
        ca,
        server_name,
        verify,
        cert,
        key,
    })
}

/// `verify`, `true` by default; `false` is a warning, and refuses a `ca`.
fn verify(path: &str, raw: &d::UpstreamTls, errors: &mut Errors) -> bool {
    let verify = raw.verify.unwrap_or(true);
    if !verify {
        errors.warn(
            format!("{path}.verify"),
            "the upstream's certificate is not verified: anyone on the path can \
             impersonate it (trust its CA with `ca` instead)",
        );
        if raw.ca.is_some() {
            errors.push(
                format!("{path}.ca"),
                "a CA is of no use with `verify = false`",
            );
        }
    }
    verify
}

/// A file key `{path}.{key}` that is present.
fn file(path: &str, key: &str, value: &str, errors: &mut Errors) -> Option<PathBuf> {
    if value.trim().is_empty() {
        errors.push(format!("{path}.{key}"), "expected a file path");
        return None;
    }
    Some(PathBuf::from(value))
}

/// One of the client certificate's two files, which come together.
fn client_file(
    path: &str,
    (key, other): (&str, &str),
    value: Option<&str>,
    has_other: bool,
    errors: &mut Errors,
) -> Option<PathBuf> {
    let value = value?;
    if !has_other {
        errors.push(
            format!("{path}.{key}"),
            format!("a client certificate needs both `cert` and `key`; `{other}` is missing"),
        );
    }
    file(path, key, value, errors)
}
