//! Mirroring to an upstream: a [`MirrorLayer`] whose shadow service is an
//! [`Upstream`], the combination of the two crates.
//!
//! The mirror crate has no HTTP client; the upstream client joins the request path
//! under the shadow's base path, speaks HTTP/1.1, h2c or TLS (with the
//! `upstream-tls` feature), writes the forwarding headers and sends the mirror's
//! `Host` mark ([`HostPolicy::Preserve`]). Its failures are counted by kind:
//! timeouts, connect failures (DNS, refused, TLS handshake, no address or connection
//! available) and I/O failures after connecting.

use frontdoor_core::Body;
use frontdoor_mirror::{MirrorLayer, ShadowError, ShadowErrorKind};
use frontdoor_upstream::{
    HostPolicy, ProxyError, ProxyErrorKind, Upstream, UpstreamBuilder, UpstreamConfigError,
};
use http::{Request, Response};
use tower::ServiceExt as _;
use tower_service::Service;

/// A [`MirrorLayer`] shadowing to the upstream at `url`
/// (`http[s]://host[:port][/base]`), built with [`shadow_upstream`]'s defaults and
/// labelled with `url` in route tables.
///
/// # Errors
///
/// When `url` is not an upstream URL (see [`UpstreamBuilder::build`]; `https://`
/// needs the `upstream-tls` feature).
///
/// ```
/// # fn main() -> Result<(), frontdoor::BoxError> {
/// // Every GET and HEAD (the default methods), one in ten, to a candidate release.
/// let mirror = frontdoor::mirror_to("http://127.0.0.1:8081/base")?.sample(0.1)?;
/// assert!(mirror.to_string().starts_with("mirror http://127.0.0.1:8081/base sample=0.1 "));
///
/// // The same with upstream settings of your own (TLS, timeouts, forwarding headers).
/// use std::time::Duration;
/// let shadow = frontdoor::shadow_upstream("http://127.0.0.1:8081/base")
///     .connect_timeout(Some(Duration::from_secs(1)))
///     .build()?;
/// let mirror = frontdoor::mirror_via(shadow).shadow_label("canary");
/// # drop(mirror);
/// # Ok(())
/// # }
/// ```
pub fn mirror_to(url: &str) -> Result<MirrorLayer, UpstreamConfigError> {
    Ok(mirror_via(shadow_upstream(url).build()?).shadow_label(url))
}

/// An [`UpstreamBuilder`] for a shadow at `url`, set up as the mirror needs it:
/// [`HostPolicy::Preserve`], so the copy's `Host` mark reaches the shadow (a copy
/// without one gets the shadow's authority), and no upgrades (upgrade requests are
/// never mirrored). Everything else is the upstream's default, and yours to change.
pub fn shadow_upstream(url: &str) -> UpstreamBuilder {
    Upstream::builder(url)
        .host(HostPolicy::Preserve)
        .no_upgrades()
}

/// A [`MirrorLayer`] over `shadow`, an [`Upstream`] or another service failing with
/// [`ProxyError`] (a [`Balanced`](frontdoor_upstream::Balanced) set), its failures
/// classified by their [`ProxyErrorKind`] for the mirror's counters.
pub fn mirror_via<S>(shadow: S) -> MirrorLayer
where
    S: Service<Request<Body>, Response = Response<Body>, Error = ProxyError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    MirrorLayer::new(shadow.map_err(shadow_error as fn(ProxyError) -> ShadowError))
}

/// A shadow upstream's failure, by kind: timeouts, then everything that kept a
/// connection from being made, then I/O.
fn shadow_error(err: ProxyError) -> ShadowError {
    let kind = if err.is_timeout() {
        ShadowErrorKind::Timeout
    } else if err.is_connect()
        || err.is_unavailable()
        || err.kind() == ProxyErrorKind::ConnectionLimit
    {
        ShadowErrorKind::Connect
    } else {
        ShadowErrorKind::Io
    };
    ShadowError::with_source(kind, err)
}

#[cfg(test)]
#[cfg(feature = "serve")]
mod tests {
    use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

    use frontdoor_mirror::{Exchange, Side, TeeBody};
    use http::{HeaderMap, StatusCode};
    use http_body_util::BodyExt;
    use tokio::{net::TcpListener, sync::mpsc};
    use tower::{service_fn, Layer};

    use super::*;
    use crate::serve::Server;

    fn primary() -> impl Service<
        Request<TeeBody<Body>>,
        Response = Response<Body>,
        Error = Infallible,
        Future: Send,
    > + Clone {
        service_fn(|req: Request<TeeBody<Body>>| async move {
            let _ = req.into_body().collect().await;
            Ok::<_, Infallible>(Response::new(Body::from("primary")))
        })
    }

    /// Calls `layer`'s service once with a GET of `/app/x?q=1` for `www.example.com`,
    /// returning the exchange.
    async fn one(layer: MirrorLayer) -> Exchange {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let layer = layer.on_exchange(move |ex| drop(tx.send(ex.clone())));
        let req = Request::get("/app/x?q=1")
            .header("host", "www.example.com")
            .header("cookie", "sid=1")
            .body(Body::empty())
            .unwrap();
        let res = layer.layer(primary()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        rx.recv().await.unwrap()
    }

    fn failure(ex: &Exchange) -> ShadowErrorKind {
        match &ex.replay {
            Side::Failed(e) => e.kind(),
            other => panic!("expected a failed shadow, got {other:?}"),
        }
    }

    /// A loopback address nothing listens on.
    async fn refused() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    }

    #[tokio::test]
    async fn mirror_to_sends_the_marked_copy_under_the_base_path() {
        let (tx, mut seen) = mpsc::unbounded_channel::<(String, HeaderMap)>();
        let tx = Arc::new(tx);
        let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
            .await
            .unwrap();
        let addr = server.local_addrs().unwrap()[0];
        tokio::spawn(server.serve(service_fn(move |req: Request<Body>| {
            let _ = tx.send((req.uri().to_string(), req.headers().clone()));
            async { Ok::<_, Infallible>(Response::new(Body::from("shadow"))) }
        })));
        let layer = mirror_to(&format!("http://{addr}/base")).unwrap();
        assert!(layer
            .to_string()
            .starts_with(&format!("mirror http://{addr}/base sample=1 ")));
        let stats = layer.stats_handle();
        let ex = one(layer).await;
        assert_eq!(ex.replay.response().map(|r| r.status), Some(StatusCode::OK));
        let (uri, headers) = seen.recv().await.unwrap();
        assert_eq!(uri, "/base/app/x?q=1");
        assert_eq!(headers["host"], "www.example.com-shadow");
        assert!(headers.get("cookie").is_none());
        assert_eq!(stats.snapshot().failed_total(), 0);
    }

    #[tokio::test]
    async fn a_refused_shadow_is_a_connect_failure() {
        let layer = mirror_to(&format!("http://{}", refused().await)).unwrap();
        let stats = layer.stats_handle();
        assert_eq!(failure(&one(layer).await), ShadowErrorKind::Connect);
        assert_eq!(stats.snapshot().failed(ShadowErrorKind::Connect), 1);
    }

    /// The upstream's own head timeout (no cause in its source chain) counts as a
    /// timeout, not as `other`.
    #[tokio::test(start_paused = true)]
    async fn an_upstream_timeout_is_a_timeout() {
        let hanging = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = hanging.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = hanging.accept().await {
                held.push(stream); // never answered
            }
        });
        let shadow = shadow_upstream(&format!("http://{addr}"))
            .head_timeout(Some(Duration::from_secs(1)))
            .build()
            .unwrap();
        let layer = mirror_via(shadow).timeout(Duration::from_secs(30));
        let stats = layer.stats_handle();
        let ex = one(layer).await;
        assert_eq!(failure(&ex), ShadowErrorKind::Timeout);
        let Side::Failed(e) = &ex.replay else {
            unreachable!()
        };
        let cause = std::error::Error::source(e).unwrap().to_string();
        assert_eq!(cause, "upstream response head timed out");
        assert_eq!(stats.snapshot().failed(ShadowErrorKind::Timeout), 1);
    }

    #[test]
    fn kinds() {
        let table = [
            (ProxyErrorKind::HeadTimeout, ShadowErrorKind::Timeout),
            (ProxyErrorKind::ConnectTimeout, ShadowErrorKind::Timeout),
            (ProxyErrorKind::Dns, ShadowErrorKind::Connect),
            (ProxyErrorKind::Connect, ShadowErrorKind::Connect),
            (ProxyErrorKind::Unavailable, ShadowErrorKind::Connect),
            (ProxyErrorKind::ConnectionLimit, ShadowErrorKind::Connect),
            (ProxyErrorKind::Closed, ShadowErrorKind::Io),
            (ProxyErrorKind::Protocol, ShadowErrorKind::Io),
        ];
        for (proxy, want) in table {
            assert_eq!(shadow_error(ProxyError::new(proxy)).kind(), want, "{proxy}");
        }
    }
}
