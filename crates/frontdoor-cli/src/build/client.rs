//! The upstream clients of one target: one `Upstream` per address, with the target's
//! host policy, forwarding headers, upgrades, connection caps, timeouts and TLS, and
//! the relocation layer whose remote root is the first upstream's URL.

#[cfg(not(feature = "tls"))]
use std::convert::Infallible;

use frontdoor_relocate::{RelocateLayer, Root};
use frontdoor_upstream::Upstream;

use super::{target::Problem, Builtins};
use crate::{
    config::{Config, Relocate, Target, UpstreamAddr},
    state::TargetState,
};

/// The relocation layer of a target with a profile: the remote root is the first
/// upstream's URL (the same base path the upstream joins request paths under, with
/// the same `rebase`); the other upstreams' origins are aliases of it. The local root
/// comes from each request (`Resolved` and the prefix the router consumed).
pub(super) fn relocation(
    profile: Relocate,
    bases: &[String],
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
    let mut layer = RelocateLayer::new(profile).remote_root(first);
    for root in roots {
        if let Some(origin) = root?.origin() {
            layer = layer.remote_alias(origin.clone());
        }
    }
    Ok(Some(layer))
}

/// The base URL of one upstream address (a built-in backend's loopback address).
pub(super) fn base_url(addr: &UpstreamAddr, builtins: &Builtins) -> String {
    match addr {
        UpstreamAddr::Url(uri) => uri.to_string(),
        UpstreamAddr::Builtin(b) => match builtins.get(b) {
            Some(addr) => format!("http://{addr}"),
            // `check` builds without starting backends.
            None => "http://127.0.0.1:9".to_owned(),
        },
    }
}

/// A target's own TLS client configuration.
#[cfg(feature = "tls")]
pub(super) type ClientTls = rustls::ClientConfig;
/// Without the `tls` feature there is none.
#[cfg(not(feature = "tls"))]
pub(super) type ClientTls = Infallible;

/// The rustls configuration of the target's `tls` table, when it needs its own.
#[cfg(feature = "tls")]
pub(super) fn client_tls(target: &Target) -> Result<Option<ClientTls>, Problem> {
    match &target.tls {
        Some(tls) => crate::tls::client_config(tls),
        None => Ok(None),
    }
}

/// Without the `tls` feature, a target's `tls` table cannot apply.
#[cfg(not(feature = "tls"))]
pub(super) fn client_tls(target: &Target) -> Result<Option<ClientTls>, Problem> {
    match &target.tls {
        Some(_) => Err((
            "tls",
            "this frontdoor was built without TLS support (the `tls` feature)".to_owned(),
        )),
        None => Ok(None),
    }
}

/// The upstream client for the target's upstream number `index`, at `base`, with the
/// target's TLS settings.
pub(super) fn upstream(
    target: &Target,
    shared: &TargetState,
    config: &Config,
    index: usize,
    client_tls: Option<&ClientTls>,
    base: &str,
) -> Result<Upstream, frontdoor_upstream::UpstreamConfigError> {
    let timeouts = target.timeouts;
    let mut builder = Upstream::builder(base)
        .host(target.host.clone())
        .forwarding(config.server.forwarding()?)
        .connect_method(target.connect)
        .upgrades(target.upgrades.iter());
    if let Some(cap) = shared.connection_cap(index) {
        builder = builder.connection_cap(cap.clone());
    }
    #[cfg(feature = "tls")]
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
    #[cfg(not(feature = "tls"))]
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
    builder.build()
}
