//! Sending a prepared request over the upstream's transport and shaping the answer.
//!
//! On a plain-`http` HTTP/1.1 upstream, every request but an upgrade and `CONNECT`
//! goes through the direct client ([`super::direct`]); those two, and every request
//! to `https` and h2c upstreams, through hyper.

use std::sync::Arc;

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};

use super::{
    body::UpstreamBody,
    direct,
    shared::{Shared, Transport},
    upgrade::{self, UpgradeKind, UpgradeRequest},
};
use crate::{
    hop_by_hop::{self, Message},
    ProxyError, ProxyErrorKind,
};

/// Sends `req` and waits for the response head.
async fn head(
    shared: &Shared,
    req: Request<Body>,
) -> Result<Response<hyper::body::Incoming>, ProxyError> {
    match &shared.transport {
        Transport::Legacy(client) => client.request(req).await.map_err(ProxyError::from_client),
        Transport::Http1(pools) => {
            let pool = &pools.upgrades;
            // A tunnel's connection is never handed to another request.
            let tunnel = req.method() == http::Method::CONNECT;
            let mut req = origin_form(req)?;
            loop {
                let (mut tx, reused) = pool.acquire().await?;
                match tx.try_send_request(req).await {
                    Ok(res) => {
                        // After an ambiguous response the connection's framing cannot
                        // be trusted: it is not reused (dropping the sender closes it).
                        if res.status() != StatusCode::SWITCHING_PROTOCOLS
                            && !tunnel
                            && !ambiguous_framing(res.headers())
                        {
                            pool.park(tx);
                        }
                        return Ok(res);
                    }
                    Err(mut e) => match e.take_message() {
                        // Never written: a reused connection closed meanwhile; retry.
                        Some(unsent) if reused => req = unsent,
                        _ => return Err(ProxyError::from_hyper(e.into_error())),
                    },
                }
            }
        }
    }
}

/// Splices the client's connection (`downstream`, once hyper has answered it) to the
/// upstream's once both have switched; the answer to relay, without a body, its
/// hop-by-hop headers stripped as `message` says.
fn splice(
    mut res: Response<hyper::body::Incoming>,
    downstream: hyper::upgrade::OnUpgrade,
    message: Message,
) -> Response<Body> {
    let upstream = hyper::upgrade::on(&mut res);
    tokio::spawn(upgrade::splice(downstream, upstream));
    let (mut parts, _) = res.into_parts();
    hop_by_hop::strip(&mut parts.headers, message);
    parts.extensions = http::Extensions::new();
    Response::from_parts(parts, Body::empty())
}

/// Whether a response carries both `Content-Length` and `Transfer-Encoding`: its
/// length is ambiguous (RFC 9112 §6.3; hyper decodes it as chunked but keeps the
/// `Content-Length`, which would truncate it downstream), so it is never relayed.
fn ambiguous_framing(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING) && headers.contains_key(header::CONTENT_LENGTH)
}

/// The request target as HTTP/1 sends it: origin-form (authority-form for `CONNECT`).
pub(super) fn origin_form(mut req: Request<Body>) -> Result<Request<Body>, ProxyError> {
    if req.uri().scheme().is_none() {
        return Ok(req); // `prepare` already wrote origin-form
    }
    let uri = std::mem::take(req.uri_mut());
    let mut parts = uri.into_parts();
    parts.scheme = None;
    if req.method() == http::Method::CONNECT {
        parts.path_and_query = None;
    } else {
        parts.authority = None;
    }
    *req.uri_mut() = Uri::from_parts(parts)
        .map_err(|e| ProxyError::with_source(ProxyErrorKind::InvalidRequest, e))?;
    Ok(req)
}

/// Sends `req` (within the head timeout), then either splices an agreed upgrade or
/// streams the response back with its hop-by-hop headers removed.
pub(super) async fn send(
    shared: Arc<Shared>,
    req: Request<Body>,
    upgrade: Option<UpgradeRequest>,
) -> Result<Response<Body>, ProxyError> {
    if let Transport::Http1(pools) = &shared.transport {
        if upgrade.is_none() && req.method() != http::Method::CONNECT {
            let splice = shared.splice_bodies.then_some(shared.body_idle_timeout);
            let (res, offer) = within(
                shared.head_timeout,
                direct::send(&pools.direct, req, splice),
            )
            .await?;
            let (parts, body) = res.into_parts();
            let mut res = relay(&shared, parts, body);
            if let Some(offer) = offer {
                res.extensions_mut().insert(offer);
            }
            return Ok(res);
        }
    }
    let res = within(shared.head_timeout, head(&shared, req)).await?;
    if ambiguous_framing(res.headers()) {
        return Err(ProxyError::with_source(
            ProxyErrorKind::Protocol,
            "upstream response has both content-length and transfer-encoding",
        ));
    }

    match upgrade {
        Some(up) if matches!(up.kind, UpgradeKind::Tunnel) && res.status().is_success() => {
            return Ok(splice(res, up.downstream, Message::Response));
        }
        _ if res.status() == StatusCode::SWITCHING_PROTOCOLS => {
            let Some(UpgradeRequest {
                downstream,
                kind: UpgradeKind::Protocols(protocols),
            }) = upgrade
            else {
                return Err(ProxyError::new(ProxyErrorKind::Upgrade));
            };
            if !upgrade::matches(&protocols, res.headers()) {
                return Err(ProxyError::new(ProxyErrorKind::Upgrade));
            }
            let mut res = splice(res, downstream, Message::UpgradeResponse);
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            return Ok(res);
        }
        _ => {}
    }

    let (parts, incoming) = res.into_parts();
    Ok(relay(&shared, parts, incoming))
}

/// `fut`, failing with [`ProxyErrorKind::HeadTimeout`] past `limit`.
async fn within<T>(
    limit: Option<std::time::Duration>,
    fut: impl std::future::Future<Output = Result<T, ProxyError>>,
) -> Result<T, ProxyError> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, fut)
            .await
            .unwrap_or_else(|_| Err(ProxyError::new(ProxyErrorKind::HeadTimeout))),
        None => fut.await,
    }
}

/// The answer relayed downstream: hop-by-hop headers removed, `Via` added when
/// configured, extensions cleared, the body streamed with the idle timeout.
fn relay<B>(shared: &Shared, mut parts: http::response::Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    hop_by_hop::strip(&mut parts.headers, Message::Response);
    if let Some(via) = shared.forwarding.response_via(parts.version) {
        crate::forwarded::append_list(
            &mut parts.headers,
            header::VIA,
            via.to_str().unwrap_or_default(),
        );
    }
    parts.extensions = http::Extensions::new();
    let body = UpstreamBody::new(body, shared.body_idle_timeout);
    Response::from_parts(parts, Body::new(body))
}
