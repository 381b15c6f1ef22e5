//! The upstream clients of one target: one `Upstream` per address, with the target's
//! host policy, forwarding headers, upgrades, connection caps, timeouts and TLS, and
//! the relocation layer whose remote root is the first upstream's URL.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use frontdoor_relocate::{OnRelocateEvent, RelocateEvent, RelocateLayer, Root};
use frontdoor_upstream::{Forwarding, HostPolicy, Upstream, UpstreamBuilder, UpstreamConfigError};

use super::options::Options;
use crate::plan::{
    checked::{Relocate, Target, UpstreamAddr, UpstreamTls},
    state::TargetState,
};

/// A target problem: the key under the target's path, and the message.
pub(super) type Problem = (&'static str, String);

/// The relocation layer of a target with a profile: the remote root is the first
/// upstream's URL (the same base path the upstream joins request paths under, with
/// the same `rebase`); the other upstreams' origins are aliases of it. The local root
/// comes from each request (`Resolved` and the prefix the router consumed). A
/// compressed body decodes to at most `max_decoded_body` bytes; what the layer
/// reports goes to the observer under the target's `label`.
pub(super) fn relocation(
    profile: Relocate,
    bases: &[String],
    max_decoded_body: u64,
    (label, options): (&Arc<str>, &Options),
) -> Result<Option<RelocateLayer>, Problem> {
    if profile == Relocate::None {
        return Ok(None);
    }
    let mut roots = bases.iter().map(|b| {
        Root::try_from(b.as_str()).map_err(|e| ("relocate", format!("upstream {b:?}: {e}")))
    });
    let Some(first) = roots.next().transpose()? else {
        return Ok(None);
    };
    let mut layer = RelocateLayer::new(profile)
        .remote_root(first)
        .max_decoded_body(max_decoded_body)
        .on_event(relocate_events(label, options));
    for root in roots {
        if let Some(origin) = root?.origin() {
            layer = layer.remote_alias(origin.clone());
        }
    }
    Ok(Some(layer))
}

/// The relocation's hook: each event to the observer; the first body of the target
/// passed on unrewritten (which leaks the upstream's URLs) logged at `warn`, later
/// ones at `debug`, and a body cut off past the decoded-size cap at `warn`.
fn relocate_events(label: &Arc<str>, options: &Options) -> impl OnRelocateEvent {
    let observer = options.observer.clone();
    let label = Arc::clone(label);
    let warned = AtomicBool::new(false);
    move |event: &RelocateEvent| {
        match event {
            RelocateEvent::Skipped(reason) => {
                if warned.swap(true, Ordering::Relaxed) {
                    tracing::debug!(route = %label, %reason, "compressed body passed on unrelocated");
                } else {
                    tracing::warn!(
                        route = %label,
                        %reason,
                        "compressed body passed on unrelocated (its coding cannot be decoded; \
                         the upstream's URLs reach the client); logged once per route"
                    );
                }
            }
            RelocateEvent::DecodedTooLarge { limit } => {
                tracing::warn!(route = %label, limit, "compressed body cut off past [server] max_decoded_body");
            }
            _ => {}
        }
        if let Some(observer) = &observer {
            observer.relocate_event(&label, event);
        }
    }
}

/// The base URL of one upstream address (a built-in backend's loopback address).
pub(super) fn base_url(addr: &UpstreamAddr, options: &Options) -> String {
    match addr {
        UpstreamAddr::Url(uri) => uri.to_string(),
        UpstreamAddr::Builtin(b) => match options.builtins.get(b) {
            Some(addr) => format!("http://{addr}"),
            // A plan checked without starting its backends.
            None => "http://127.0.0.1:9".to_owned(),
        },
        // No URL: nothing relocates from it (the check refuses `relocate`).
        UpstreamAddr::Service(_) => addr.to_string(),
    }
}

/// A target's own TLS client configuration.
#[cfg(feature = "upstream-tls")]
pub(super) type ClientTls = rustls::ClientConfig;
/// Without the `upstream-tls` feature there is none.
#[cfg(not(feature = "upstream-tls"))]
pub(super) type ClientTls = std::convert::Infallible;

/// The rustls configuration of the target's `tls` table, when it needs its own (a CA
/// or a client certificate); the files are read here.
pub(super) fn client_tls(target: &Target) -> Result<Option<ClientTls>, Problem> {
    target.tls.as_ref().map_or(Ok(None), tls_config)
}

/// The rustls configuration of a `tls` table (a target's, or the span exporter's CA),
/// when it needs its own (a CA or a client certificate); the files are read here.
#[cfg(feature = "upstream-tls")]
pub(crate) fn tls_config(tls: &UpstreamTls) -> Result<Option<ClientTls>, Problem> {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    use std::path::Path;

    if tls.ca.is_none() && tls.cert.is_none() {
        return Ok(None);
    }
    let problem =
        |key: &'static str, file: &Path, what: String| (key, format!("{}: {what}", file.display()));
    let file_bytes = |key: &'static str, file: &Path| {
        std::fs::read(file).map_err(|e| (key, format!("cannot read {}: {e}", file.display())))
    };
    let certs = |key: &'static str, file: &Path| {
        let pem = file_bytes(key, file)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| problem(key, file, format!("not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(problem(key, file, "no certificate found".to_owned()));
        }
        Ok(certs)
    };
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca {
        Some(ca) => {
            for cert in certs("tls.ca", ca)? {
                roots
                    .add(cert)
                    .map_err(|e| problem("tls.ca", ca, format!("not a CA certificate: {e}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ("tls", e.to_string()))?
        .with_root_certificates(roots);
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let chain = certs("tls.cert", cert)?;
            let pem = file_bytes("tls.key", key)?;
            let private = PrivateKeyDer::from_pem_slice(&pem)
                .map_err(|e| problem("tls.key", key, format!("no usable private key: {e}")))?;
            builder
                .with_client_auth_cert(chain, private)
                .map(Some)
                .map_err(|e| problem("tls.key", key, e.to_string()))
        }
        _ => Ok(Some(builder.with_no_client_auth())),
    }
}

/// Without the `upstream-tls` feature, a `tls` table cannot apply.
#[cfg(not(feature = "upstream-tls"))]
pub(crate) fn tls_config(_: &UpstreamTls) -> Result<Option<ClientTls>, Problem> {
    Err((
        "tls",
        "built without TLS upstreams (the `upstream-tls` feature)".to_owned(),
    ))
}

/// The upstream client for the target's upstream number `index`, at `base`, with the
/// target's TLS settings.
pub(super) fn upstream(
    target: &Target,
    shared: &TargetState,
    forwarding: &Forwarding,
    (index, base): (usize, &str),
    (client_tls, splice): (Option<&ClientTls>, bool),
) -> Result<Upstream, UpstreamConfigError> {
    let mut builder = route_builder(target, forwarding, base, client_tls).splice_bodies(splice);
    if let Some(cap) = shared.connection_cap(index) {
        builder = builder.connection_cap(cap.clone());
    }
    builder.build()
}

/// The builder of a route's upstream at `base`: the target's host policy, upgrades,
/// `CONNECT`, TLS settings and timeouts, and `forwarding`.
pub(super) fn route_builder(
    target: &Target,
    forwarding: &Forwarding,
    base: &str,
    client_tls: Option<&ClientTls>,
) -> UpstreamBuilder {
    builder(target, base, client_tls)
        .host(target.host.clone())
        .forwarding(forwarding.clone())
        .connect_method(target.connect)
        .upgrades(target.upgrades.iter())
}

/// The client of the health checks of the upstream address `addr`: at its origin
/// (the checked path is from the origin, not under the URL's base path), with the
/// `Host` the route sends when it is a fixed name and the upstream's authority
/// otherwise, the target's TLS settings and timeouts, no upgrades, no connection
/// cap (a check never waits behind the route's requests).
pub(crate) fn probe_client(
    target: &Target,
    addr: &UpstreamAddr,
    connect_to: Option<std::net::SocketAddr>,
    options: &Options,
) -> Result<Upstream, Problem> {
    let base = base_url(addr, options);
    let origin = base
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?)))
        .ok_or_else(|| ("upstream", format!("not a URL: {base:?}")))?;
    let host = match &target.host {
        HostPolicy::Replace(value) => HostPolicy::Replace(value.clone()),
        _ => HostPolicy::UpstreamAuthority,
    };
    let tls = client_tls(target)?;
    let mut builder = builder(target, &origin, tls.as_ref());
    if let Some(found) = connect_to {
        builder = builder.connect_to(found);
    }
    builder
        .host(host)
        .forwarding(Forwarding::default().no_via())
        .no_upgrades()
        .build()
        .map_err(|e| ("health_check", e.message().to_owned()))
}

/// An upstream builder at `base` with the target's TLS settings and timeouts.
fn builder(target: &Target, base: &str, client_tls: Option<&ClientTls>) -> UpstreamBuilder {
    let timeouts = target.timeouts;
    let mut builder = Upstream::builder(base);
    #[cfg(feature = "upstream-tls")]
    {
        if let Some(client) = client_tls {
            builder = builder.tls_config(client.clone());
        }
        if let Some(tls) = &target.tls {
            if let Some(name) = &tls.server_name {
                builder = builder.tls_server_name(name.as_str());
            }
            if !tls.verify {
                builder = builder.danger_accept_invalid_certs();
            }
        }
    }
    #[cfg(not(feature = "upstream-tls"))]
    let _ = client_tls;
    if let Some(t) = timeouts.connect {
        builder = builder.connect_timeout(Some(t));
    }
    if let Some(t) = timeouts.response {
        builder = builder.head_timeout(Some(t));
    }
    if let Some(t) = timeouts.idle {
        builder = builder.body_idle_timeout(Some(t));
    }
    builder
}
