//! [`HostPolicy`] and [`UpstreamBuilder`]: configuration, validated once by `build`.

use std::{fmt, sync::Arc, time::Duration};

use frontdoor_core::Body;
use http::{
    uri::{Authority, Scheme},
    HeaderValue, Uri, Version,
};
use hyper_util::{
    client::legacy::Client,
    rt::{TokioExecutor, TokioTimer},
};
use tokio::sync::Semaphore;

use super::{
    connect::{http_connector, Connector},
    direct::pool::DirectPool,
    host::HostPolicy,
    pool::Http1Pool,
    shared::{Http1Pools, Shared, Transport, Upstream},
    upgrade::UpgradeProtocols,
};
use crate::{AllowedTargets, Forwarding, UpstreamConfigError};

// === ConnectionCap ===

/// A cap on open upstream connections, shareable between several [`Upstream`]s: each
/// open connection holds one of its `max` places until it closes. See
/// [`UpstreamBuilder::connection_cap`].
///
/// ```
/// use frontdoor_upstream::{ConnectionCap, Upstream};
///
/// // One cap for the same upstream built once per worker thread.
/// let cap = ConnectionCap::new(64);
/// let per_worker: Vec<Upstream> = (0..2)
///     .map(|_| Upstream::builder("http://127.0.0.1:8080").connection_cap(cap.clone()).build())
///     .collect::<Result<_, _>>()?;
/// assert_eq!(cap.max(), 64);
/// # drop(per_worker);
/// # Ok::<_, frontdoor_upstream::UpstreamConfigError>(())
/// ```
#[derive(Clone)]
pub struct ConnectionCap {
    max: usize,
    semaphore: Arc<Semaphore>,
}

impl ConnectionCap {
    /// A cap of `max` connections (at least 1).
    #[must_use]
    pub fn new(max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            max,
            semaphore: Arc::new(Semaphore::new(max)),
        }
    }

    /// The most connections open at once.
    #[must_use]
    pub const fn max(&self) -> usize {
        self.max
    }
}

impl fmt::Debug for ConnectionCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionCap")
            .field("max", &self.max)
            .field("free", &self.semaphore.available_permits())
            .finish()
    }
}

// === UpstreamBuilder ===

/// Configures an [`Upstream`]. See the [crate docs](crate). Every setter states its
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
    connection_cap: Option<ConnectionCap>,
    connect_to: Option<std::net::SocketAddr>,
    http2_only: bool,
    /// As given; checked by `build` ([`UpgradeProtocols::try_new`]).
    upgrades: Vec<String>,
    connect: bool,
    splice_bodies: bool,
    /// A mapper's allow-list: resolved addresses are filtered by it.
    allow: Option<AllowedTargets>,
    #[cfg(feature = "tls")]
    tls: Option<rustls::ClientConfig>,
    #[cfg(feature = "tls")]
    tls_server_name: Option<String>,
    #[cfg(feature = "tls")]
    tls_verify: bool,
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
            .field("connection_cap", &self.connection_cap)
            .field("connect_to", &self.connect_to)
            .field("http2_only", &self.http2_only)
            .field("upgrades", &self.upgrades)
            .field("connect", &self.connect)
            .field("splice_bodies", &self.splice_bodies)
            .finish_non_exhaustive()
    }
}

impl UpstreamBuilder {
    pub(super) fn new(uri: &str) -> Self {
        Self {
            uri: uri.to_owned(),
            host: HostPolicy::default(),
            forwarding: Forwarding::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            head_timeout: Some(Duration::from_secs(60)),
            body_idle_timeout: Some(Duration::from_secs(60)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: 1024,
            connection_cap: None,
            connect_to: None,
            http2_only: false,
            upgrades: vec!["websocket".to_owned()],
            connect: false,
            splice_bodies: false,
            allow: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_server_name: None,
            #[cfg(feature = "tls")]
            tls_verify: true,
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

    /// Most idle connections kept per upstream host. Default: 1024. `0` disables reuse.
    ///
    /// Keep it above the requests in flight to the upstream at once: a connection
    /// finished while the pool is full is closed, and the next request that needs it
    /// dials a new one (with the old default of 32, the `frontdoor` binary with two
    /// workers serving 64 keep-alive clients opened 7,749 upstream connections in
    /// 10 s; `benches/load/stack.sh`, `benches/load/RESULTS.md`). Idle
    /// connections still close after [`pool_idle_timeout`](Self::pool_idle_timeout);
    /// [`connection_cap`](Self::connection_cap) bounds open ones.
    pub const fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// The most connections open to the upstream at once (idle and busy). A request
    /// that finds them all busy waits, at most the connect timeout, for one to finish
    /// its message or close, then fails with
    /// [`ConnectionLimit`](crate::ProxyErrorKind::ConnectionLimit) (503). Upgraded
    /// connections leave the pool, and its count, once spliced. Plain `http`
    /// (HTTP/1.1) upstreams only. Default: 0, no cap.
    ///
    /// The cap is this upstream's own; to share one between several `Upstream`s to
    /// the same address (one per worker thread, say), give each the same
    /// [`ConnectionCap`] with [`connection_cap`](Self::connection_cap).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.connection_cap = (max > 0).then(|| ConnectionCap::new(max));
        self
    }

    /// As [`max_connections`](Self::max_connections), counting against `cap`, which
    /// may be shared with other upstreams. Default: none.
    pub fn connection_cap(mut self, cap: ConnectionCap) -> Self {
        self.connection_cap = Some(cap);
        self
    }

    /// Connects to `addr` instead of resolving the URL's host (an address found by DNS
    /// discovery): the URL's authority is still what `Host` (as the host policy
    /// says), TLS SNI and certificate checks use. The port is the URL's when it names
    /// one, else `addr`'s. Default: the host is resolved at connect time.
    pub const fn connect_to(mut self, addr: std::net::SocketAddr) -> Self {
        self.connect_to = Some(addr);
        self
    }

    /// Speak HTTP/2 with prior knowledge (h2c for `http://`). Default: off (HTTP/1.1,
    /// or ALPN-negotiated with TLS). Upgrades are not proxied in this mode (whatever
    /// [`upgrades`](Self::upgrades) lists).
    pub const fn http2_only(mut self, on: bool) -> Self {
        self.http2_only = on;
        self
    }

    /// The `Upgrade` protocols proxied (see [`UpgradeProtocols`] for how a token such
    /// as `foo/1` matches an entry): a `Connection: upgrade` request offering one of
    /// them is forwarded with only the allowed tokens in `Upgrade`, and both
    /// connections are spliced after a `101` naming one of them. A request offering
    /// none is forwarded as a plain HTTP/1.1 request (no `Upgrade`, no `Connection`),
    /// and a `101` to it is a [`ProxyErrorKind::Upgrade`](crate::ProxyErrorKind::Upgrade)
    /// error (502), never a tunnel. `HTTP2-Settings` is never forwarded. Default:
    /// `["websocket"]`; an empty list turns upgrades off ([`no_upgrades`](Self::no_upgrades)).
    /// `h2c` is refused by [`build`](Self::build).
    ///
    /// ```
    /// use frontdoor_upstream::Upstream;
    ///
    /// let up = Upstream::builder("http://127.0.0.1:8080").upgrades(["websocket", "foo/1"]).build()?;
    /// let err = Upstream::builder("http://127.0.0.1:8080").upgrades(["h2c"]).build().unwrap_err();
    /// assert_eq!(err.key(), "upgrades");
    /// # drop(up);
    /// # Ok::<_, frontdoor_upstream::UpstreamConfigError>(())
    /// ```
    pub fn upgrades<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.upgrades = protocols
            .into_iter()
            .map(|p| p.as_ref().to_owned())
            .collect();
        self
    }

    /// Proxy no upgrade: `Upgrade` is stripped like any hop-by-hop header, and a `101`
    /// is a 502. The same as `upgrades` with an empty list. Default: `websocket` is
    /// proxied.
    pub fn no_upgrades(mut self) -> Self {
        self.upgrades.clear();
        self
    }

    /// Forward `CONNECT` requests, and splice the client's connection to the
    /// upstream's once it answers 2xx (a tunnel through the upstream). Default: off: a
    /// reverse proxy has no business opening tunnels, so `CONNECT` is answered `405
    /// Method Not Allowed` with an `Allow` header and nothing is forwarded. Not with
    /// [`http2_only`](Self::http2_only) (HTTP/2 `CONNECT` is not proxied).
    pub const fn connect_method(mut self, on: bool) -> Self {
        self.connect = on;
        self
    }

    /// Dial only the resolved addresses `allow` allows (a mapper's clients).
    pub(crate) fn restrict_to(mut self, allow: AllowedTargets) -> Self {
        self.allow = Some(allow);
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

    /// The name sent as SNI and checked against the upstream's certificate, in place
    /// of the URL's host (for an upstream addressed by IP, or known by another name).
    /// Default: the URL's host.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// Accepts any certificate the upstream shows: expired, self-signed, for another
    /// name. The handshake still proves the upstream holds the key of the certificate
    /// it shows, but nothing proves who that is, so anyone on the path can read and
    /// change the traffic. For test rigs; prefer trusting the upstream's CA
    /// ([`tls_config`](Self::tls_config)). Default: certificates are verified.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn danger_accept_invalid_certs(mut self) -> Self {
        self.tls_verify = false;
        self
    }

    /// Whether a response body from a plain-`http` upstream may be spliced: its
    /// response carries a [`SpliceOffer`](frontdoor_core::splice::SpliceOffer), and
    /// a server that can (the `frontdoor` server's HTTP/1 fast path, between plain
    /// TCP sockets on Linux) moves its data from the upstream's socket to the
    /// client's with `splice(2)`, with no user-space copy. Offered for a body with a
    /// `Content-Length` past what was read with the head (64 KiB or more), and for a
    /// chunked body (chunk sizes are still parsed and checked; the data is spliced).
    ///
    /// Turn it on only when no layer above this service reads or rewrites response
    /// bodies, or when each that does removes the offer (the workspace's relocation,
    /// mirror and compression layers do). Default: off.
    pub const fn splice_bodies(mut self, on: bool) -> Self {
        self.splice_bodies = on;
        self
    }

    /// Validates the configuration and builds the service. No runtime is needed here.
    ///
    /// # Errors
    ///
    /// A [`UpstreamConfigError`] naming the key: `uri` when the URI is not absolute `http` (or
    /// `https` with the `tls` feature) with a host, no userinfo and no query, `tls` when
    /// the TLS configuration cannot be built, or is given for an `http` upstream, or
    /// the TLS server name is not a DNS name or IP address; `max_connections` when a
    /// cap is set for an `https` or HTTP/2 upstream; `upgrades` when an entry is not
    /// an upgrade token or names `h2c`.
    pub fn build(self) -> Result<Upstream, UpstreamConfigError> {
        let target = Target::parse(&self.uri)?;
        let upgrades = UpgradeProtocols::try_new(&self.upgrades)?;
        #[cfg(feature = "tls")]
        self.check_tls_applies(&target)?;
        let transport = if target.scheme == Scheme::HTTP && !self.http2_only {
            self.http1_pool(&target.authority)?
        } else if self.connection_cap.is_some() {
            return Err(UpstreamConfigError::new(
                "max_connections",
                "a connection cap applies to plain http (HTTP/1.1) upstreams only",
            ));
        } else {
            Transport::Legacy(Box::new(self.legacy_client()?))
        };
        let authority_value = HeaderValue::from_str(target.authority.as_str()).map_err(|e| {
            UpstreamConfigError::new("uri", "authority is not a header value").with_source(e)
        })?;
        Ok(Upstream {
            shared: Arc::new(Shared {
                transport,
                scheme: target.scheme,
                authority: target.authority,
                authority_value,
                base_path: target.base_path,
                host: self.host,
                forwarding: self.forwarding,
                head_timeout: self.head_timeout,
                body_idle_timeout: self.body_idle_timeout,
                upgrades: if self.http2_only {
                    UpgradeProtocols::none()
                } else {
                    upgrades
                },
                connect: self.connect && !self.http2_only,
                splice_bodies: self.splice_bodies,
                version: if self.http2_only {
                    Version::HTTP_2
                } else {
                    Version::HTTP_11
                },
            }),
        })
    }

    /// The two HTTP/1 pools of plain `http`, under one cap.
    fn http1_pool(&self, authority: &Authority) -> Result<Transport, UpstreamConfigError> {
        let dial = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| UpstreamConfigError::new("uri", "bad authority").with_source(e))?;
        let cap = self
            .connection_cap
            .as_ref()
            .map(|c| Arc::clone(&c.semaphore));
        Ok(Transport::Http1(Http1Pools {
            direct: Arc::new(DirectPool::new(
                (dial.clone(), self.connect_to),
                self.connect_timeout,
                self.pool_max_idle_per_host,
                self.pool_idle_timeout,
                cap.clone(),
                self.allow.clone(),
            )),
            upgrades: Arc::new(Http1Pool::new(
                (dial, self.connect_to),
                self.connect_timeout,
                self.pool_max_idle_per_host,
                self.pool_idle_timeout,
                cap,
                self.allow.clone(),
            )),
        }))
    }

    /// hyper-util's pooled client, for `https` (ALPN may pick HTTP/2) and h2c.
    fn legacy_client(&self) -> Result<Client<Connector, Body>, UpstreamConfigError> {
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .http2_only(self.http2_only)
            .set_host(false);
        let http = http_connector(self.connect_timeout, self.allow.clone(), self.connect_to);
        #[cfg(not(feature = "tls"))]
        let connector: Connector = http;
        #[cfg(feature = "tls")]
        let connector: Connector = {
            let config = match &self.tls {
                Some(c) => c.clone(),
                None => crate::tls::default_config()?,
            };
            let config = if self.tls_verify {
                config
            } else {
                crate::tls::accept_invalid_certs(config)
            };
            let mut b = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http();
            if let Some(name) = &self.tls_server_name {
                b = b.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(
                    crate::tls::server_name(name)?,
                ));
            }
            if self.http2_only {
                b.enable_http2().wrap_connector(http)
            } else {
                b.enable_http1().enable_http2().wrap_connector(http)
            }
        };
        Ok(builder.build(connector))
    }

    /// TLS settings on an `http` upstream cannot apply: an error, not silence.
    #[cfg(feature = "tls")]
    fn check_tls_applies(&self, target: &Target) -> Result<(), UpstreamConfigError> {
        let any = self.tls.is_some() || self.tls_server_name.is_some() || !self.tls_verify;
        if any && target.scheme != Scheme::HTTPS {
            return Err(UpstreamConfigError::new(
                "tls",
                "TLS settings apply to https:// upstreams only",
            ));
        }
        Ok(())
    }
}

/// The upstream URL, checked: `http` (or `https` with the `tls` feature), a host, no
/// userinfo, no query; the base path without its trailing `/`.
struct Target {
    scheme: Scheme,
    authority: Authority,
    base_path: String,
}

impl Target {
    fn parse(text: &str) -> Result<Self, UpstreamConfigError> {
        let bad = |what: &str| UpstreamConfigError::new("uri", format!("`{text}` {what}"));
        let uri: Uri = text
            .parse()
            .map_err(|e| bad("is not a uri").with_source(e))?;
        let scheme = uri.scheme().cloned().ok_or_else(|| bad("has no scheme"))?;
        let https = scheme == Scheme::HTTPS;
        if scheme != Scheme::HTTP && !(https && cfg!(feature = "tls")) {
            return Err(UpstreamConfigError::new(
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
            .ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not contain userinfo"));
        }
        if uri.query().is_some() {
            return Err(bad("must not have a query"));
        }
        Ok(Self {
            scheme,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}
