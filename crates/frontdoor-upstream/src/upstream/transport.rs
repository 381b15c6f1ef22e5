//! Sending a prepared request over the upstream's transport and shaping the answer.

use std::sync::Arc;

use frontdoor_core::Body;
use http::{header, HeaderValue, Request, Response, StatusCode, Uri};

use super::{body::UpstreamBody, upgrade, upgrade::UpgradeRequest, Shared, Transport};
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
        Transport::Http1(pool) => {
            let mut req = origin_form(req)?;
            loop {
                let (mut tx, reused) = pool.acquire().await?;
                match tx.try_send_request(req).await {
                    Ok(res) => {
                        if res.status() != StatusCode::SWITCHING_PROTOCOLS {
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
    let fut = head(&shared, req);
    let mut res = match shared.head_timeout {
        Some(limit) => match tokio::time::timeout(limit, fut).await {
            Ok(res) => res?,
            Err(_) => return Err(ProxyError::new(ProxyErrorKind::HeadTimeout)),
        },
        None => fut.await?,
    };

    if res.status() == StatusCode::SWITCHING_PROTOCOLS {
        let Some(up) = upgrade else {
            return Err(ProxyError::new(ProxyErrorKind::Upgrade));
        };
        if !upgrade::matches(&up.protocols, res.headers()) {
            return Err(ProxyError::new(ProxyErrorKind::Upgrade));
        }
        let upstream = hyper::upgrade::on(&mut res);
        tokio::spawn(upgrade::splice(up.downstream, upstream));
        let (mut parts, _) = res.into_parts();
        hop_by_hop::strip(&mut parts.headers, Message::UpgradeResponse);
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.extensions = http::Extensions::new();
        return Ok(Response::from_parts(parts, Body::empty()));
    }

    let (mut parts, incoming) = res.into_parts();
    hop_by_hop::strip(&mut parts.headers, Message::Response);
    if let Some(via) = shared.forwarding.via_value(parts.version) {
        crate::forwarded::append_list(
            &mut parts.headers,
            header::VIA,
            via.to_str().unwrap_or_default(),
        );
    }
    parts.extensions = http::Extensions::new();
    let body = UpstreamBody::new(incoming, shared.body_idle_timeout);
    Ok(Response::from_parts(parts, Body::new(body)))
}
