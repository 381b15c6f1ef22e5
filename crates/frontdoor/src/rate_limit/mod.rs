//! Request rate limits: [`RateLimitLayer`] lets a sustained [`Rate`] (with a burst)
//! through per [`Key`] (the client address, the whole route, or a header) and
//! answers the rest `429 Too Many Requests` at once: never queued, nothing forwarded.
//!
//! The algorithm is GCRA (`governor`): a bucket holds `burst` requests and refills at
//! the rate, one request every `period / count`. The burst defaults to the rate's
//! count (`"100/s"` allows 100 at once, then one every 10 ms).
//!
//! The 429 carries `Retry-After` (whole seconds until a request would be allowed,
//! rounded up, at least 1) and the fields of the IETF draft *RateLimit header fields
//! for HTTP* (draft-ietf-httpapi-ratelimit-headers-09, structured fields):
//! `RateLimit-Policy: "default";q=COUNT;w=PERIOD_SECONDS` (the sustained rate) and
//! `RateLimit: "default";r=0;t=RETRY_AFTER`. Allowed responses are left unchanged.
//!
//! Clients in the [`exempt`](RateLimitBuilder::exempt) networks are not limited.
//! The key table is bounded ([`max_keys`](RateLimitBuilder::max_keys), 100 000 by
//! default): a new key that finds it full drops the idle keys (whose bucket has
//! refilled, so nothing is lost; at most once a second), and when it is still full
//! counts in one shared overflow bucket, with the same rate and burst, logged at warn
//! once per episode. Every clone of a layer, and every service it makes, shares one
//! table: a layer built once and cloned into every worker's stack limits over all of
//! them.
//!
//! ```
//! use std::num::NonZeroU32;
//!
//! use frontdoor::{rate_limit::{Key, RateLimitLayer}, Body};
//! use http::{Request, Response, StatusCode};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let limit = RateLimitLayer::builder("2/m".parse()?).key(Key::Route).build();
//! let mut svc = ServiceBuilder::new().layer(limit).service(tower::service_fn(
//!     |_req: Request<Body>| async { Ok::<_, std::convert::Infallible>(Response::new(Body::empty())) },
//! ));
//! for expected in [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS] {
//!     let res = svc.ready().await?.call(Request::new(Body::empty())).await?;
//!     assert_eq!(res.status(), expected);
//! }
//! # Ok::<(), frontdoor::BoxError>(())
//! # }).unwrap();
//! ```

mod capture;
mod key;
mod store;
#[cfg(test)]
mod tests;

use std::{
    fmt,
    num::{NonZeroU32, NonZeroUsize},
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use frontdoor_core::{text_response, Body, InnerOrAnswer};
use governor::Quota;
use http::{header, HeaderName, HeaderValue, Request, Response, StatusCode};
use ipnet::IpNet;
use tower::{Layer, Service};

pub use self::{
    capture::{CaptureKey, CaptureKeyLayer},
    key::{Key, Rate, RateLimitConfigError},
};
use self::{key::bucket, store::Limiter};

/// The default [`max_keys`](RateLimitBuilder::max_keys).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// `RateLimit-Policy`, from the IETF draft.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`, from the IETF draft.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

// === RateLimitBuilder ===

/// Builds a [`RateLimitLayer`]; see the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct RateLimitBuilder {
    rate: Rate,
    burst: Option<NonZeroU32>,
    key: Key,
    exempt: Vec<IpNet>,
    max_keys: NonZeroUsize,
}

impl RateLimitBuilder {
    /// At most `burst` requests at once (default: the rate's count).
    pub const fn burst(mut self, burst: NonZeroU32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Counts per `key` (default: [`Key::Client`]).
    pub fn key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    /// Clients in `networks` (checked against the client address, whatever the key)
    /// are not limited.
    pub fn exempt(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.exempt.extend(networks);
        self
    }

    /// Tracks at most `max_keys` keys (default [`DEFAULT_MAX_KEYS`]).
    pub const fn max_keys(mut self, max_keys: NonZeroUsize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The layer, with a new (empty) key table.
    #[must_use]
    pub fn build(self) -> RateLimitLayer {
        let burst = self.burst.unwrap_or(self.rate.count());
        let quota = Quota::with_period(self.rate.interval())
            .unwrap_or_else(|| Quota::per_second(self.rate.count()))
            .allow_burst(burst);
        let policy = format!(
            "\"default\";q={};w={}",
            self.rate.count(),
            self.rate.period().as_secs()
        );
        RateLimitLayer {
            shared: Arc::new(Shared {
                limiter: Limiter::new(quota, self.max_keys.get()),
                policy: HeaderValue::try_from(policy)
                    .unwrap_or_else(|_| HeaderValue::from_static("\"default\"")),
                rate: self.rate,
                burst,
                key: self.key,
                exempt: self.exempt,
            }),
            on_limited: None,
        }
    }
}

// === RateLimitLayer ===

/// Limits the request rate per [`Key`]; see the [module docs](self). Clones share one
/// key table.
#[derive(Clone)]
pub struct RateLimitLayer {
    shared: Arc<Shared>,
    on_limited: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// What every clone of a layer shares.
#[derive(Debug)]
struct Shared {
    limiter: Limiter,
    policy: HeaderValue,
    rate: Rate,
    burst: NonZeroU32,
    key: Key,
    exempt: Vec<IpNet>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("rate", &self.shared.rate)
            .field("burst", &self.shared.burst)
            .field("key", &self.shared.key)
            .field("exempt", &self.shared.exempt)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// A builder for a limit of `rate`.
    pub fn builder(rate: Rate) -> RateLimitBuilder {
        RateLimitBuilder {
            rate,
            burst: None,
            key: Key::Client,
            exempt: Vec::new(),
            max_keys: NonZeroUsize::new(DEFAULT_MAX_KEYS).unwrap_or(NonZeroUsize::MIN),
        }
    }

    /// Calls `hook` for every request answered 429 (to count them). The key table is
    /// still shared with `self`'s clones.
    #[must_use]
    pub fn on_limited(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_limited = Some(Arc::new(hook));
        self
    }

    /// The layer that records a `header:NAME` key's header as the request carries it
    /// where the layer is put, for a limiter placed after layers that may change it;
    /// `None` for other keys.
    #[must_use]
    pub fn capture_key(&self) -> Option<CaptureKeyLayer> {
        match &self.shared.key {
            Key::Header(name) => Some(CaptureKeyLayer::new(name.clone())),
            Key::Client | Key::Route => None,
        }
    }

    /// The sustained rate.
    #[must_use]
    pub fn rate(&self) -> Rate {
        self.shared.rate
    }

    /// The burst.
    #[must_use]
    pub fn burst(&self) -> NonZeroU32 {
        self.shared.burst
    }

    /// What the limit counts per.
    #[must_use]
    pub fn key(&self) -> &Key {
        &self.shared.key
    }

    /// Whether `self` and `other` share one key table.
    #[must_use]
    pub fn shares_table(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            layer: self.clone(),
        }
    }
}

// === RateLimit ===

/// The service of [`RateLimitLayer`]; ready when its inner service is (a request over
/// the limit is answered without calling it).
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    inner: S,
    layer: RateLimitLayer,
}

impl<S> RateLimit<S> {
    frontdoor_core::define_inner_service_accessors!();
}

/// The response future of [`RateLimit`]: the inner service's response, or the 429.
pub type ResponseFuture<F> = InnerOrAnswer<F>;

impl<S, B, ResBody> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<frontdoor_core::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let shared = &self.layer.shared;
        let needs_client = matches!(shared.key, Key::Client) || !shared.exempt.is_empty();
        let client = needs_client.then(|| key::client_ip(&req)).flatten();
        let exempt = client.is_some_and(|ip| shared.exempt.iter().any(|n| n.contains(&ip)));
        if exempt {
            return InnerOrAnswer::inner(self.inner.call(req));
        }
        match shared.limiter.check(&bucket(&shared.key, &req, client)) {
            Ok(()) => InnerOrAnswer::inner(self.inner.call(req)),
            Err(wait) => {
                if let Some(hook) = &self.layer.on_limited {
                    hook();
                }
                InnerOrAnswer::answer(too_many_requests(wait, &shared.policy))
            }
        }
    }
}

/// The 429: `Retry-After` and `RateLimit` say `wait` in whole seconds, rounded up
/// (at least 1); `RateLimit-Policy` is `policy`.
fn too_many_requests(wait: Duration, policy: &HeaderValue) -> Response<Body> {
    let secs = u64::try_from(wait.as_nanos().div_ceil(1_000_000_000).max(1)).unwrap_or(u64::MAX);
    let mut res = text_response(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    let headers = res.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    headers.insert(RATELIMIT_POLICY, policy.clone());
    if let Ok(value) = HeaderValue::try_from(format!("\"default\";r=0;t={secs}")) {
        headers.insert(RATELIMIT, value);
    }
    res
}
