//! Response compression: tower-http's [`CompressionLayer`], negotiated from the
//! client's `Accept-Encoding` q-values, with the exclusions and header fix-ups a
//! proxy needs ([`CompressLayer`]).
//!
//! An answer is compressed when the client accepts one of the configured algorithms
//! (`zstd`, `br`, `gzip`; the highest q-value wins, ties go to the order configured)
//! and the answer
//!
//! - has a `Content-Type` in `types` (default: `text/*`, JSON and `+json`,
//!   JavaScript, XML and `+xml`, SVG, `application/wasm`), and is not
//!   `text/event-stream` (server-sent events pass through as they come, unbuffered);
//! - has no `Content-Encoding` (an upstream's compressed answer is left alone) and no
//!   `Content-Range`;
//! - is not `1xx` (an upgrade's `101` included), `204`, `206` or `304`;
//! - has no `Cache-Control: no-transform`;
//! - is not known to be shorter than `min_size` (default 1 KiB; an answer of unknown
//!   length is compressed).
//!
//! A compressed answer loses its `Content-Length` and `Accept-Ranges` (ranges of the
//! identity body no longer apply), and a strong `ETag` becomes weak (`W/"..."`: the
//! bytes differ from the identity's). Every answer that could have been compressed
//! gets `Vary: Accept-Encoding`, compressed or not, so caches keep the variants apart.
//!
//! The levels suit a proxy's CPU budget, where every answer is compressed on the fly:
//! gzip 5 (zlib's default 6 costs more for a percent or two), brotli 4 (what nginx's
//! brotli module uses on the fly; brotli's highest, 11, is about a hundred times
//! slower) and zstd 3 (zstd's default, faster than gzip and smaller).
//!
//! **BREACH**: compressing a page served over TLS that reflects a secret (a CSRF
//! token, a session value) next to input an attacker controls (a query parameter
//! echoed back) lets the attacker recover the secret from the compressed sizes. Turn
//! compression off on routes that serve such pages, or mask the secret per response.
//!
//! ```
//! use bytes::Bytes;
//! use frontdoor::{
//!     compress::{Algorithm, CompressLayer},
//!     ServiceBuilderExt,
//! };
//! use http::{header, Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let page = "<p>hello</p>".repeat(200);
//! let app = service_fn(move |_req: Request<Full<Bytes>>| {
//!     let page = page.clone();
//!     async move {
//!         let mut res = Response::new(Full::new(Bytes::from(page)));
//!         res.headers_mut().insert(header::CONTENT_TYPE, "text/html".parse()?);
//!         res.headers_mut().insert(header::ETAG, "\"v1\"".parse()?);
//!         Ok::<_, frontdoor::BoxError>(res)
//!     }
//! });
//! let svc = ServiceBuilder::new()
//!     .compress(CompressLayer::new().algorithms([Algorithm::Br, Algorithm::Gzip]))
//!     .service(app);
//! let req = Request::builder()
//!     .header(header::ACCEPT_ENCODING, "gzip, br;q=0.8")
//!     .body(Full::default())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
//! assert_eq!(res.headers()[header::VARY], "accept-encoding");
//! assert_eq!(res.headers()[header::ETAG], "W/\"v1\"");
//! let compressed = res.into_body().collect().await?.to_bytes();
//! assert!(compressed.len() < 200);
//! # Ok(())
//! # }
//! ```

mod eligible;
mod negotiate;

use std::{
    fmt,
    future::Future,
    pin::Pin,
    str::FromStr,
    sync::Arc,
    task::{ready, Context, Poll},
};

use http::{header, HeaderValue, Request, Response};
use tower_http::compression::{CompressionLayer, CompressionLevel, Predicate};
use tower_layer::Layer;
use tower_service::Service;

use self::eligible::{Eligible, DEFAULT_TYPES};
pub use self::eligible::{MediaRange, MediaRangeError};
/// The body of a [`Compress`] answer: the inner body, compressed or as it was.
pub use tower_http::compression::CompressionBody;

/// The default `min_size`: answers known to be shorter than 1 KiB are sent as they
/// are (they fit in a packet or two; compressing them saves little and costs a
/// compressor's setup).
pub const DEFAULT_MIN_SIZE: u64 = 1024;

// === Algorithm ===

/// A content coding [`CompressLayer`] can apply. Parsed from its token with
/// [`FromStr`] (`zstd`, `br`, `gzip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Zstandard (RFC 8878), level 3.
    Zstd,
    /// Brotli (RFC 7932), quality 4.
    Br,
    /// gzip (RFC 1952), level 5.
    Gzip,
}

impl Algorithm {
    /// Every algorithm, in the default preference order.
    pub const ALL: [Self; 3] = [Self::Zstd, Self::Br, Self::Gzip];

    /// The coding's token in `Accept-Encoding` and `Content-Encoding`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::Br => "br",
            Self::Gzip => "gzip",
        }
    }

    /// The level used: chosen for a proxy's CPU budget (see the [module docs](self)).
    #[must_use]
    pub const fn level(self) -> i32 {
        match self {
            Self::Zstd => 3,
            Self::Br => 4,
            Self::Gzip => 5,
        }
    }

    /// Whether `coding` (from `Accept-Encoding`) names this algorithm.
    fn is_named(self, coding: &str) -> bool {
        coding.eq_ignore_ascii_case(self.as_str())
            || (self == Self::Gzip && coding.eq_ignore_ascii_case("x-gzip"))
    }

    /// tower-http's layer applying this algorithm alone.
    fn layer(self, eligible: &Eligible) -> CompressionLayer<Eligible> {
        let only = CompressionLayer::new()
            .gzip(self == Self::Gzip)
            .br(self == Self::Br)
            .zstd(self == Self::Zstd)
            .no_deflate();
        only.quality(CompressionLevel::Precise(self.level()))
            .compress_when(eligible.clone())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = AlgorithmError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| AlgorithmError {
                input: text.to_owned(),
            })
    }
}

/// The error of parsing an [`Algorithm`]: `unknown algorithm "lz4", expected zstd,
/// br, gzip`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlgorithmError {
    input: String,
}

impl fmt::Display for AlgorithmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown algorithm {:?}, expected zstd, br, gzip",
            self.input
        )
    }
}

impl std::error::Error for AlgorithmError {}

// === CompressLayer ===

/// Compresses answers the client accepts compressed. See the [module docs](self).
///
/// Built once; cloning and [`Layer::layer`] are cheap (an `Arc`).
#[derive(Clone, Debug)]
#[must_use]
pub struct CompressLayer {
    config: Arc<Config>,
}

/// What every [`Compress`] of a layer shares: the algorithms in preference order,
/// tower-http's layer for each (and one that compresses nothing, adding only
/// `Vary`), and the predicate.
#[derive(Debug)]
struct Config {
    algorithms: Vec<Algorithm>,
    layers: Vec<CompressionLayer<Eligible>>,
    identity: CompressionLayer<Eligible>,
    eligible: Eligible,
}

impl Config {
    fn new(algorithms: Vec<Algorithm>, eligible: Eligible) -> Self {
        let identity = CompressionLayer::new()
            .no_gzip()
            .no_br()
            .no_zstd()
            .no_deflate()
            .compress_when(eligible.clone());
        Self {
            layers: algorithms.iter().map(|a| a.layer(&eligible)).collect(),
            algorithms,
            identity,
            eligible,
        }
    }
}

impl Default for CompressLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CompressLayer {
    /// zstd, br and gzip in that order of preference, `min_size` 1 KiB, the default
    /// `types`.
    pub fn new() -> Self {
        let types = DEFAULT_TYPES
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect();
        Self::with(
            Algorithm::ALL.to_vec(),
            Eligible {
                min_size: DEFAULT_MIN_SIZE,
                types,
            },
        )
    }

    fn with(algorithms: Vec<Algorithm>, eligible: Eligible) -> Self {
        Self {
            config: Arc::new(Config::new(algorithms, eligible)),
        }
    }

    /// The algorithms offered, in order of preference (the client's q-values come
    /// first; the order breaks ties). Each is kept once; none compresses nothing.
    pub fn algorithms(self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let mut list: Vec<Algorithm> = Vec::new();
        for a in algorithms {
            if !list.contains(&a) {
                list.push(a);
            }
        }
        Self::with(list, self.config.eligible.clone())
    }

    /// Answers known to be shorter than `bytes` are sent as they are.
    pub fn min_size(self, bytes: u64) -> Self {
        let eligible = Eligible {
            min_size: bytes,
            ..self.config.eligible.clone()
        };
        Self::with(self.config.algorithms.clone(), eligible)
    }

    /// The media types compressed, instead of the default ones
    /// (`text/event-stream` never is).
    pub fn types(self, types: impl IntoIterator<Item = MediaRange>) -> Self {
        let eligible = Eligible {
            types: types.into_iter().collect(),
            ..self.config.eligible.clone()
        };
        Self::with(self.config.algorithms.clone(), eligible)
    }
}

impl<S> Layer<S> for CompressLayer {
    type Service = Compress<S>;

    fn layer(&self, inner: S) -> Compress<S> {
        Compress {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

// === Compress ===

/// The service of [`CompressLayer`]: ready when its inner service is (which it
/// calls through tower-http's `Compression`, one per request).
#[derive(Clone, Debug)]
pub struct Compress<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Compress<S> {
    frontdoor_core::define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Compress<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: http_body::Body,
{
    type Response = Response<CompressionBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let chosen = negotiate::choose(req.headers(), &config.algorithms);
        let layer = chosen
            .and_then(|a| config.algorithms.iter().position(|&b| b == a))
            .and_then(|i| config.layers.get(i))
            .unwrap_or(&config.identity);
        // The ready service goes into this request's `Compression`; a clone stays.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let prepared = Prepare {
            inner: ready,
            weaken: chosen.map(|_| config.eligible.clone()),
        };
        ResponseFuture {
            inner: layer.layer(prepared).call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`Compress`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: tower_http::compression::ResponseFuture<PrepareFuture<F>, Eligible>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<CompressionBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

// === Prepare ===

/// Below tower-http's `Compression`: weakens a strong `ETag` on an answer that will
/// be compressed (the predicate decides, as it does for `Compression`).
#[derive(Debug)]
struct Prepare<S> {
    inner: S,
    /// The predicate, when the client accepted an algorithm.
    weaken: Option<Eligible>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Prepare<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = PrepareFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        PrepareFuture {
            inner: self.inner.call(req),
            weaken: self.weaken.take(),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`Prepare`].
    struct PrepareFuture<F> {
        #[pin]
        inner: F,
        weaken: Option<Eligible>,
    }
}

impl<F, B, E> Future for PrepareFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some(eligible) = this.weaken.take() {
            if eligible.should_compress(&res) {
                weaken_etag(res.headers_mut());
                // The body is compressed: it is never spliced past the encoder.
                res.extensions_mut()
                    .remove::<frontdoor_core::splice::SpliceOffer>();
            }
        }
        Poll::Ready(Ok(res))
    }
}

/// `"x"` becomes `W/"x"`; a weak or malformed `ETag` is left as it is.
fn weaken_etag(headers: &mut http::HeaderMap) {
    let Some(etag) = headers.get(header::ETAG) else {
        return;
    };
    if etag.as_bytes().first() != Some(&b'"') {
        return;
    }
    let mut weak = Vec::with_capacity(etag.len() + 2);
    weak.extend_from_slice(b"W/");
    weak.extend_from_slice(etag.as_bytes());
    if let Ok(value) = HeaderValue::from_bytes(&weak) {
        headers.insert(header::ETAG, value);
    }
}

#[cfg(test)]
mod tests;
