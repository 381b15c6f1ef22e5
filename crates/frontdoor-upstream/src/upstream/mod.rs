//! The terminal proxy service: forwards each request to one upstream base URI over a
//! pooled hyper-util client and streams the answer back.
//!
//! What it does to a request, in order:
//!
//! 1. the target becomes the upstream's absolute URI: scheme and authority from the
//!    configuration, the configured base path joined with the request path (without
//!    `//`), and the query byte for byte;
//! 2. hop-by-hop headers are removed ([`crate::hop_by_hop`]);
//! 3. forwarding headers are written ([`Forwarding`]);
//! 4. `Host` is set by the [`HostPolicy`] (one line, added when the client sent none);
//! 5. the version towards the upstream is HTTP/1.1 (or HTTP/2 with
//!    [`UpstreamBuilder::http2_only`]), whatever the client spoke.
//!
//! Bodies stream both ways and are never collected; trailers pass through; hyper frames
//! 1xx, HEAD, 204 and 304 answers. The reason phrase is not carried (the `http` crate
//! has none); the client sees the canonical one. Failures are typed [`ProxyError`]s;
//! wrap the service in [`GatewayErrorLayer`](crate::GatewayErrorLayer) to answer them
//! with 502/503/504.
//!
//! # Example
//!
//! ```no_run
//! use frontdoor_core::Body;
//! use frontdoor_upstream::{HostPolicy, Upstream};
//! use http::Request;
//! use tower::ServiceExt;
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), frontdoor_core::BoxError> {
//! let upstream = Upstream::builder("http://127.0.0.1:8080/api")
//!     .host(HostPolicy::Preserve)
//!     .connect_timeout(Some(Duration::from_secs(2)))
//!     .build()?;
//! let res = upstream
//!     .oneshot(Request::get("/users?id=1").body(Body::empty())?)
//!     .await?; // GET http://127.0.0.1:8080/api/users?id=1
//! # drop(res);
//! # Ok(())
//! # }
//! ```

mod body;
mod connect;
mod host;
mod pool;
mod upgrade;

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{
    header,
    uri::{Authority, PathAndQuery, Scheme},
    HeaderValue, Request, Response, StatusCode, Uri, Version,
};
use hyper_util::{
    client::legacy::Client,
    rt::{TokioExecutor, TokioTimer},
};
use tower_service::Service;
use tracing::{field, Instrument as _};

use self::{
    body::UpstreamBody,
    connect::{http_connector, Connector},
    pool::Http1Pool,
    upgrade::UpgradeRequest,
};
use crate::{hop_by_hop, ConfigError, Forwarding, ProxyError, ProxyErrorKind};

// === HostPolicy ===

/// Which `Host` the upstream sees (rouille's `replace_host`, generalised).
///
/// Whatever the policy, exactly one `Host` line is sent, and one is added when the
/// client sent none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostPolicy {
    /// The upstream's authority, as configured (the default).
    #[default]
    UpstreamAuthority,
    /// The client's `Host` (or HTTP/2 `:authority`); the upstream authority when the
    /// client sent neither.
    Preserve,
    /// This fixed value.
    Replace(HeaderValue),
}

// === UpstreamBuilder ===

/// Configures an [`Upstream`]. See the [module docs](self). Every setter states its
/// default; [`build`](Self::build) validates everything once.
#[must_use]
pub struct UpstreamBuilder {
    uri: String,
    host: HostPolicy,
    forwarding: Forwarding,
    connect_timeout: Option<Duration>,
    head_timeout: Option<Duration>,
    body_idle_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    http2_only: bool,
    upgrades: bool,
    #[cfg(feature = "tls")]
    tls: Option<rustls::ClientConfig>,
}

impl fmt::Debug for UpstreamBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamBuilder")
            .field("uri", &self.uri)
            .field("host", &self.host)
            .field("forwarding", &self.forwarding)
            .field("connect_timeout", &self.connect_timeout)
            .field("head_timeout", &self.head_timeout)
            .field("body_idle_timeout", &self.body_idle_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("http2_only", &self.http2_only)
            .field("upgrades", &self.upgrades)
            .finish_non_exhaustive()
    }
}

impl UpstreamBuilder {
    fn new(uri: &str) -> Self {
        Self {
            uri: uri.to_owned(),
            host: HostPolicy::default(),
            forwarding: Forwarding::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            head_timeout: Some(Duration::from_secs(60)),
            body_idle_timeout: Some(Duration::from_secs(60)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: 32,
            http2_only: false,
            upgrades: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The `Host` policy. Default: [`HostPolicy::UpstreamAuthority`].
    pub fn host(mut self, policy: HostPolicy) -> Self {
        self.host = policy;
        self
    }

    /// Which forwarding headers to write. Default: [`Forwarding::default`].
    pub fn forwarding(mut self, forwarding: Forwarding) -> Self {
        self.forwarding = forwarding;
        self
    }

    /// TCP connect timeout (504 when it elapses). Default: 10 s. `None`: the OS's.
    pub const fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time from sending the request (connect included) to the response head (504 when
    /// it elapses). Default: 60 s, rouille's read timeout. `None`: unbounded.
    pub const fn head_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// Longest wait between two frames of the upstream body; past it the downstream
    /// body is aborted. Default: 60 s. `None`: unbounded.
    pub const fn body_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.body_idle_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept. Default: 90 s. `None`: forever.
    pub const fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Most idle connections kept per upstream host. Default: 32. `0` disables reuse.
    pub const fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Speak HTTP/2 with prior knowledge (h2c for `http://`). Default: off (HTTP/1.1,
    /// or ALPN-negotiated with TLS). Upgrades are not proxied in this mode.
    pub const fn http2_only(mut self, on: bool) -> Self {
        self.http2_only = on;
        self
    }

    /// Proxy `Connection: upgrade` requests (WebSocket and others) by splicing both
    /// connections after a matching `101`. Default: on. Off: `Upgrade` is stripped like
    /// any hop-by-hop header.
    pub const fn upgrades(mut self, on: bool) -> Self {
        self.upgrades = on;
        self
    }

    /// The rustls configuration for `https://` upstreams. Default: webpki roots, the
    /// `ring` provider, certificate verification on, SNI from the upstream host. ALPN
    /// (`h2`, `http/1.1`) is set by the connector.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Validates the configuration and builds the service. No runtime is needed here.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key: `uri` when the URI is not absolute `http` (or
    /// `https` with the `tls` feature) with a host, no userinfo and no query, `tls` when
    /// the TLS configuration cannot be built.
    pub fn build(self) -> Result<Upstream, ConfigError> {
        let uri: Uri = self.uri.parse().map_err(|e| {
            ConfigError::new("uri", format!("`{}` is not a uri", self.uri)).with_source(e)
        })?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| ConfigError::new("uri", format!("`{}` has no scheme", self.uri)))?;
        let https = scheme == Scheme::HTTPS;
        if scheme != Scheme::HTTP && !(https && cfg!(feature = "tls")) {
            return Err(ConfigError::new(
                "uri",
                format!(
                    "scheme `{scheme}` is not supported (http{})",
                    if cfg!(feature = "tls") {
                        ", https"
                    } else {
                        "; https needs the `tls` feature"
                    }
                ),
            ));
        }
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .cloned()
            .ok_or_else(|| ConfigError::new("uri", format!("`{}` has no host", self.uri)))?;
        if authority.as_str().contains('@') {
            return Err(ConfigError::new(
                "uri",
                format!("`{}` must not contain userinfo", self.uri),
            ));
        }
        if uri.query().is_some() {
            return Err(ConfigError::new(
                "uri",
                format!("`{}` must not have a query", self.uri),
            ));
        }
        let authority_value = HeaderValue::from_str(authority.as_str()).map_err(|e| {
            ConfigError::new("uri", "authority is not a header value").with_source(e)
        })?;
        let base_path = uri.path().trim_end_matches('/').to_owned();

        let transport = if scheme == Scheme::HTTP && !self.http2_only {
            let dial = Uri::builder()
                .scheme(Scheme::HTTP)
                .authority(authority.clone())
                .path_and_query("/")
                .build()
                .map_err(|e| ConfigError::new("uri", "bad authority").with_source(e))?;
            Transport::Http1(Arc::new(Http1Pool::new(
                dial,
                self.connect_timeout,
                self.pool_max_idle_per_host,
                self.pool_idle_timeout,
            )))
        } else {
            Transport::Legacy(Box::new(self.legacy_client()?))
        };
        Ok(Upstream {
            shared: Arc::new(Shared {
                transport,
                scheme,
                authority,
                authority_value,
                base_path,
                host: self.host,
                forwarding: self.forwarding,
                head_timeout: self.head_timeout,
                body_idle_timeout: self.body_idle_timeout,
                upgrades: self.upgrades && !self.http2_only,
                version: if self.http2_only {
                    Version::HTTP_2
                } else {
                    Version::HTTP_11
                },
            }),
        })
    }

    /// hyper-util's pooled client, for `https` (ALPN may pick HTTP/2) and h2c.
    fn legacy_client(&self) -> Result<Client<Connector, Body>, ConfigError> {
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .http2_only(self.http2_only)
            .set_host(false);
        let http = http_connector(self.connect_timeout);
        #[cfg(not(feature = "tls"))]
        let connector: Connector = http;
        #[cfg(feature = "tls")]
        let connector: Connector = {
            let config = match &self.tls {
                Some(c) => c.clone(),
                None => crate::tls::default_config()?,
            };
            let b = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http();
            if self.http2_only {
                b.enable_http2().wrap_connector(http)
            } else {
                b.enable_http1().enable_http2().wrap_connector(http)
            }
        };
        Ok(builder.build(connector))
    }
}

// === Upstream ===

/// The terminal proxy service. See the [module docs](self).
///
/// Always ready (the pool queues internally); cloning is cheap and shares the pool.
/// `Error` is [`ProxyError`]; wrap it in [`GatewayErrorLayer`](crate::GatewayErrorLayer)
/// for 502/503/504 answers.
#[derive(Clone)]
pub struct Upstream {
    shared: Arc<Shared>,
}

/// How requests reach the upstream.
enum Transport {
    /// Plain `http`, HTTP/1.1: the lean per-upstream pool.
    Http1(Arc<Http1Pool>),
    /// `https` or h2c: hyper-util's pooled client.
    Legacy(Box<Client<Connector, Body>>),
}

struct Shared {
    transport: Transport,
    scheme: Scheme,
    authority: Authority,
    authority_value: HeaderValue,
    base_path: String,
    host: HostPolicy,
    forwarding: Forwarding,
    head_timeout: Option<Duration>,
    body_idle_timeout: Option<Duration>,
    upgrades: bool,
    version: Version,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("Upstream")
            .field("scheme", &s.scheme)
            .field("authority", &s.authority)
            .field("base_path", &s.base_path)
            .field("host", &s.host)
            .field("forwarding", &s.forwarding)
            .field("head_timeout", &s.head_timeout)
            .field("body_idle_timeout", &s.body_idle_timeout)
            .field("upgrades", &s.upgrades)
            .field("version", &s.version)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// A builder for an upstream at `uri` (`http://host:port/optional/base`).
    pub fn builder(uri: &str) -> UpstreamBuilder {
        UpstreamBuilder::new(uri)
    }

    /// An upstream at `uri` with the default configuration.
    ///
    /// # Errors
    ///
    /// As [`UpstreamBuilder::build`].
    pub fn new(uri: &str) -> Result<Self, ConfigError> {
        Self::builder(uri).build()
    }

    /// The upstream's authority (`host:port`), as configured.
    #[must_use]
    pub fn authority(&self) -> &Authority {
        &self.shared.authority
    }

    fn prepare<B>(
        &self,
        req: Request<B>,
    ) -> Result<(Request<Body>, Option<UpgradeRequest>), ProxyError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let s = &*self.shared;
        let (mut parts, body) = req.into_parts();

        // The upstream target: base path + request path; absolute (configured scheme and
        // authority) for hyper-util's client and for CONNECT, origin-form for the lean
        // HTTP/1 pool.
        let origin_form =
            matches!(s.transport, Transport::Http1(_)) && parts.method != http::Method::CONNECT;
        let request_pq = parts
            .uri
            .path_and_query()
            .filter(|pq| pq.as_str().starts_with('/'));
        let uri = match request_pq {
            // The common case: nothing to join, reuse the parsed target (no copy).
            Some(pq) if origin_form && s.base_path.is_empty() => Uri::from(pq.clone()),
            _ => {
                let pq = request_pq.map_or("/", PathAndQuery::as_str);
                let mut target = String::with_capacity(s.base_path.len() + pq.len());
                target.push_str(&s.base_path);
                target.push_str(pq);
                let invalid =
                    |e: http::Error| ProxyError::with_source(ProxyErrorKind::InvalidRequest, e);
                if origin_form {
                    PathAndQuery::try_from(target)
                        .map(Uri::from)
                        .map_err(|e| invalid(e.into()))?
                } else {
                    Uri::builder()
                        .scheme(s.scheme.clone())
                        .authority(s.authority.clone())
                        .path_and_query(target)
                        .build()
                        .map_err(invalid)?
                }
            }
        };

        let client_host = parts.headers.get(header::HOST).cloned().or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        });

        let upgrade = if s.upgrades
            && parts.version == Version::HTTP_11
            && hop_by_hop::has_token(&parts.headers, &header::CONNECTION, "upgrade")
            && parts
                .extensions
                .get::<hyper::upgrade::OnUpgrade>()
                .is_some()
        {
            match (
                parts.headers.get(header::UPGRADE).cloned(),
                parts.extensions.remove::<hyper::upgrade::OnUpgrade>(),
            ) {
                (Some(protocols), Some(downstream)) => Some(UpgradeRequest {
                    downstream,
                    protocols,
                }),
                _ => None,
            }
        } else {
            None
        };

        hop_by_hop::strip(&mut parts.headers, upgrade.is_some(), true);
        if upgrade.is_some() {
            parts
                .headers
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
        s.forwarding.apply(&mut parts, client_host.as_ref());

        let host = match &s.host {
            HostPolicy::UpstreamAuthority => s.authority_value.clone(),
            HostPolicy::Preserve => client_host.unwrap_or_else(|| s.authority_value.clone()),
            HostPolicy::Replace(v) => v.clone(),
        };
        parts.headers.insert(header::HOST, host);

        let mut out = Request::new(Body::new(body));
        *out.method_mut() = parts.method;
        *out.uri_mut() = uri;
        *out.version_mut() = s.version;
        *out.headers_mut() = parts.headers;
        Ok((out, upgrade))
    }
}

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
                let (mut tx, reused) = match pool.checkout() {
                    Some(tx) => (tx, true),
                    None => (pool.connect().await?, false),
                };
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
fn origin_form(mut req: Request<Body>) -> Result<Request<Body>, ProxyError> {
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

async fn send(
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
        hop_by_hop::strip(&mut parts.headers, true, false);
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.extensions = http::Extensions::new();
        return Ok(Response::from_parts(parts, Body::empty()));
    }

    let (mut parts, incoming) = res.into_parts();
    hop_by_hop::strip(&mut parts.headers, false, false);
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

impl<B> Service<Request<B>> for Upstream
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = ProxyError;
    type Future = ResponseFuture;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let span = tracing::debug_span!(
            "upstream",
            upstream = %self.shared.authority,
            method = %req.method(),
            status = field::Empty,
            duration_ms = field::Empty,
            error.kind = field::Empty,
        );
        let prepared = self.prepare(req);
        let shared = Arc::clone(&self.shared);
        if span.is_disabled() {
            // Nobody listens: no span to enter on every poll, no clock reads.
            return ResponseFuture::boxed(async move {
                match prepared {
                    Ok((req, upgrade)) => send(shared, req, upgrade).await,
                    Err(e) => Err(e),
                }
            });
        }
        let inner_span = span.clone();
        let fut = async move {
            let start = tokio::time::Instant::now();
            let result = match prepared {
                Ok((req, upgrade)) => send(shared, req, upgrade).await,
                Err(e) => Err(e),
            };
            inner_span.record("duration_ms", start.elapsed().as_millis() as u64);
            match &result {
                Ok(res) => {
                    inner_span.record("status", res.status().as_u16());
                }
                Err(e) => {
                    inner_span.record("error.kind", e.kind().as_str());
                    tracing::debug!(error = %e, source = ?std::error::Error::source(e), "upstream call failed");
                }
            }
            result
        };
        ResponseFuture::boxed(fut.instrument(span))
    }
}

// === ResponseFuture ===

/// Response future of [`Upstream`] (and of [`Balanced`](crate::Balanced)).
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Result<Response<Body>, ProxyError>> + Send>>,
}

impl ResponseFuture {
    pub(crate) fn boxed(
        fut: impl Future<Output = Result<Response<Body>, ProxyError>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(fut),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, ProxyError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        fn send<T: Send>() {}
        send_sync_clone::<Upstream>();
        send::<ResponseFuture>();
    }

    #[test]
    fn bad_configs_name_the_key() {
        for uri in [
            "not a uri",
            "/relative",
            "ftp://h",
            "http://h/p?q=1",
            "http://:80/p",
            "http://user:pass@h/",
            #[cfg(not(feature = "tls"))]
            "https://h",
        ] {
            let err = Upstream::new(uri).unwrap_err();
            assert_eq!(err.key(), "uri", "{uri}");
        }
    }

    fn target(base: &str, req: &str, h2: bool) -> Request<Body> {
        let up = Upstream::builder(base).http2_only(h2).build().unwrap();
        let req = Request::get(req).body(Body::empty()).unwrap();
        up.prepare(req).unwrap().0
    }

    #[test]
    fn base_path_is_joined_without_double_slashes() {
        let table = [
            ("http://u:81", "/a%20b?q=1", "/a%20b?q=1"),
            ("http://u:81/", "/x", "/x"),
            ("http://u:81/api", "/x?y", "/api/x?y"),
            ("http://u:81/api/", "/x", "/api/x"),
            ("http://u:81/api", "/", "/api/"),
            ("http://u:81/api", "http://front/z", "/api/z"),
            ("http://u:81", "http://front", "/"),
            ("http://u:81/api", "*", "/api/"),
        ];
        for (base, req, want) in table {
            // HTTP/1 pool: origin-form.
            let out = target(base, req, false);
            assert_eq!(out.uri(), want, "{base} + {req}");
            assert_eq!(out.version(), Version::HTTP_11);
            // hyper-util's client (h2c here): absolute.
            let out = target(base, req, true);
            assert_eq!(out.uri().to_string(), format!("http://u:81{want}"));
            assert_eq!(out.version(), Version::HTTP_2);
        }
    }

    #[test]
    fn connect_targets_the_upstream_authority() {
        let up = Upstream::new("http://u:81/api").unwrap();
        let req = Request::connect("front:443").body(Body::empty()).unwrap();
        let out = origin_form(up.prepare(req).unwrap().0).unwrap();
        assert_eq!(out.uri(), "u:81");
    }

    #[test]
    fn host_policies() {
        let mk = |policy: HostPolicy, host: Option<&'static str>| {
            let up = Upstream::builder("http://backend:8080")
                .host(policy)
                .build()
                .unwrap();
            let mut req = Request::get("/").body(Body::empty()).unwrap();
            if let Some(h) = host {
                req.headers_mut()
                    .append(header::HOST, HeaderValue::from_static(h));
                req.headers_mut()
                    .append(header::HOST, HeaderValue::from_static("second"));
            }
            let out = up.prepare(req).unwrap().0;
            let hosts: Vec<_> = out.headers().get_all(header::HOST).iter().collect();
            assert_eq!(hosts.len(), 1);
            hosts[0].to_str().unwrap().to_owned()
        };
        let fixed = HeaderValue::from_static("b");
        assert_eq!(
            mk(HostPolicy::UpstreamAuthority, Some("front")),
            "backend:8080"
        );
        assert_eq!(mk(HostPolicy::Preserve, Some("front")), "front");
        assert_eq!(mk(HostPolicy::Preserve, None), "backend:8080");
        assert_eq!(mk(HostPolicy::Replace(fixed.clone()), Some("a")), "b");
        assert_eq!(mk(HostPolicy::Replace(fixed), None), "b");
    }
}
