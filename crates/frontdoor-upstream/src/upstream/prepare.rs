//! Turning a client request into the request the upstream receives, in named steps:
//! the target URI, the client's host, the upgrade hand-off, the header rewrite.

use bytes::Bytes;
use frontdoor_core::{proto::rebase, Body, BoxError};
use http::{header, request::Parts, uri::PathAndQuery, HeaderValue, Method, Request, Uri, Version};

use super::{
    host::HostPolicy,
    shared::{Shared, Transport, Upstream},
    upgrade::{UpgradeKind, UpgradeRequest},
};
use crate::{
    hop_by_hop::{self, Message},
    ProxyError, ProxyErrorKind,
};

impl Upstream {
    /// The outbound request and, when the client asked for one that is allowed, the
    /// upgrade to splice once the upstream agrees.
    pub(super) fn prepare<B>(
        &self,
        req: Request<B>,
    ) -> Result<(Request<Body>, Option<UpgradeRequest>), ProxyError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let s = &*self.shared;
        let (mut parts, body) = req.into_parts();
        let uri = target_uri(s, &parts)?;
        let client_host = client_host(&parts);
        let upgrade = take_upgrade(s, &mut parts);
        let upgrading = upgrade
            .as_ref()
            .is_some_and(|u| matches!(u.kind, UpgradeKind::Protocols(_)));
        rewrite_headers(s, &mut parts, client_host, upgrading);

        let mut out = Request::new(Body::new(body));
        *out.method_mut() = parts.method;
        *out.uri_mut() = uri;
        *out.version_mut() = s.version;
        *out.headers_mut() = parts.headers;
        Ok((out, upgrade))
    }
}

/// The upstream target: the base path joined with the request path
/// ([`rebase`] from `/` to the base, the one path-join of the workspace), absolute
/// (configured scheme and authority) for hyper-util's client and for `CONNECT`,
/// origin-form for plain `http` HTTP/1.1 (both of its pools).
fn target_uri(s: &Shared, parts: &Parts) -> Result<Uri, ProxyError> {
    let origin_form = matches!(s.transport, Transport::Http1(_)) && parts.method != Method::CONNECT;
    let request_pq = parts
        .uri
        .path_and_query()
        .filter(|pq| pq.as_str().starts_with('/'));
    if let Some(pq) = request_pq.filter(|_| origin_form && s.base_path.is_empty()) {
        // The common case: nothing to join, reuse the parsed target (no copy).
        return Ok(Uri::from(pq.clone()));
    }
    let pq = request_pq.map_or("/", PathAndQuery::as_str);
    let target = rebase(pq, "/", &s.base_path).unwrap_or_else(|| s.base_path.clone());
    let invalid = |e: http::Error| ProxyError::with_source(ProxyErrorKind::InvalidRequest, e);
    if origin_form {
        PathAndQuery::try_from(target)
            .map(Uri::from)
            .map_err(|e| invalid(e.into()))
    } else {
        Uri::builder()
            .scheme(s.scheme.clone())
            .authority(s.authority.clone())
            .path_and_query(target)
            .build()
            .map_err(invalid)
    }
}

/// The `Host` the client asked for: its `Host` header, else the absolute-form
/// authority.
fn client_host(parts: &Parts) -> Option<HeaderValue> {
    parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    })
}

/// Takes the downstream upgrade handle when the client asked over HTTP/1.1 for an
/// upgrade to an allowed protocol (`Connection: upgrade` with an `Upgrade` header
/// naming one; `Upgrade` then keeps only the allowed tokens), or for a `CONNECT`
/// tunnel on an upstream that forwards `CONNECT`. Any other upgrade request is
/// forwarded as a plain one: the hop-by-hop strip removes its `Upgrade`.
fn take_upgrade(s: &Shared, parts: &mut Parts) -> Option<UpgradeRequest> {
    if parts.method == Method::CONNECT {
        let downstream = s
            .connect
            .then(|| parts.extensions.remove::<hyper::upgrade::OnUpgrade>())
            .flatten()?;
        return Some(UpgradeRequest {
            downstream,
            kind: UpgradeKind::Tunnel,
        });
    }
    let asked = parts.version == Version::HTTP_11
        && hop_by_hop::has_token(&parts.headers, &header::CONNECTION, "upgrade")
        && parts
            .extensions
            .get::<hyper::upgrade::OnUpgrade>()
            .is_some();
    if !asked {
        return None;
    }
    let Some(protocols) = s.upgrades.offered(&parts.headers) else {
        tracing::debug!(
            upgrade = ?parts.headers.get(header::UPGRADE),
            "upgrade not allowed: forwarded as a plain request"
        );
        return None;
    };
    let downstream = parts.extensions.remove::<hyper::upgrade::OnUpgrade>()?;
    parts.headers.insert(header::UPGRADE, protocols.clone());
    Some(UpgradeRequest {
        downstream,
        kind: UpgradeKind::Protocols(protocols),
    })
}

/// Hop-by-hop removal, the forwarding headers and the `Host` policy.
fn rewrite_headers(
    s: &Shared,
    parts: &mut Parts,
    client_host: Option<HeaderValue>,
    upgrading: bool,
) {
    if upgrading {
        hop_by_hop::strip(&mut parts.headers, Message::UpgradeRequest);
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        hop_by_hop::strip(&mut parts.headers, Message::Request);
    }
    s.forwarding.apply(parts, client_host.as_ref());
    let host = match &s.host {
        HostPolicy::UpstreamAuthority => s.authority_value.clone(),
        HostPolicy::Preserve => client_host.unwrap_or_else(|| s.authority_value.clone()),
        HostPolicy::Replace(v) => v.clone(),
    };
    parts.headers.insert(header::HOST, host);
}
