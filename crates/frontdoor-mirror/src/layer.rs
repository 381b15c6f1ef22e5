//! [`MirrorLayer`]: the validated settings, with `self` setters, shared by its services.

use std::{fmt, sync::Arc, time::Duration};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{request::Parts, HeaderName, Method, Request, Response};
use tokio::sync::Semaphore;
use tower_layer::Layer;

use crate::{
    compare::{CapturedResponse, Comparator},
    exchange::ShadowRequest,
    hooks::{HookSet, OnExchange, OnReplay, OnRequest, OnResponse},
    id::{Entropy, Sample},
    shadow::{CopyRules, HostMark, Shadow},
    Decision, Exchange, Mirror, MirrorConfigError, MirrorHooks, MirrorId, MirrorStats, ShadowError,
};

/// Default cap on a mirrored request body: 64 KiB.
pub const DEFAULT_MAX_REQUEST_BODY: usize = 64 * 1024;
/// Default capture cap of response bodies when a body comparator is configured:
/// 256 KiB of each side.
pub const DEFAULT_CAPTURE_BODY: usize = 256 * 1024;
/// Default timeout of a shadow request: 5 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time-to-live of an exchange: 10 s (GoReplay's Node helper's value).
pub const DEFAULT_EXCHANGE_TTL: Duration = Duration::from_secs(10);
/// Default bound on shadow requests in flight: 64.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

type Filter = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

/// Everything a [`Mirror`] needs, shared by all its clones.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) shadow: Shadow,
    pub(crate) methods: Arc<[Method]>,
    pub(crate) sample: Sample,
    pub(crate) filter: Option<Filter>,
    pub(crate) max_request_body: usize,
    pub(crate) capture_body: Option<usize>,
    pub(crate) timeout: Duration,
    pub(crate) ttl: Duration,
    pub(crate) max_in_flight: usize,
    pub(crate) in_flight: Arc<Semaphore>,
    pub(crate) copy: CopyRules,
    pub(crate) comparators: Arc<[Comparator]>,
    pub(crate) hooks: HookSet,
    pub(crate) stats: MirrorStats,
    pub(crate) entropy: Arc<Entropy>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_config(self, f)
    }
}

impl Config {
    fn new(shadow: Shadow) -> Self {
        Self {
            shadow,
            methods: Arc::from([Method::GET, Method::HEAD]),
            sample: Sample::ALL,
            filter: None,
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            capture_body: None,
            timeout: DEFAULT_TIMEOUT,
            ttl: DEFAULT_EXCHANGE_TTL,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            in_flight: Arc::new(Semaphore::new(DEFAULT_MAX_IN_FLIGHT)),
            copy: CopyRules::default(),
            comparators: Arc::from([Comparator::Status]),
            hooks: HookSet::default(),
            stats: MirrorStats::new(),
            entropy: Arc::new(Entropy::new()),
        }
    }

    /// The response-body capture cap in effect.
    pub(crate) fn capture_cap(&self) -> usize {
        self.capture_body.unwrap_or_else(|| {
            if self.comparators.iter().any(Comparator::needs_body) {
                DEFAULT_CAPTURE_BODY
            } else {
                0
            }
        })
    }
}

// === MirrorLayer ===

/// Applies [`Mirror`] to a service. See the [crate docs](crate).
///
/// Built once from configuration; cloning and [`Layer::layer`] are O(1) and every
/// resulting service shares the in-flight bound, the counters and the hooks.
#[must_use]
#[derive(Clone)]
pub struct MirrorLayer {
    cfg: Arc<Config>,
}

impl MirrorLayer {
    /// Mirrors to `shadow`, any tower service: usually a
    /// `frontdoor_upstream::Upstream` (pooled, TLS, its base path joined, its `Host`
    /// policy applied; the facade's `frontdoor::mirror_to` builds one from a URL), or
    /// a test double. The service is cloned per shadow request and driven to
    /// readiness on the mirror's task, never on the primary's path.
    ///
    /// It receives the copy after the safety edits: credentials and hop-by-hop
    /// headers removed, `Host` marked ([`HostMark`]), the target in origin form, the
    /// body complete. Its errors are classified with [`ShadowError::classify`]; a
    /// service that knows its failures best returns [`ShadowError`]s.
    pub fn new<S, B>(shadow: S) -> Self
    where
        S: tower_service::Service<Request<Body>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self::from_shadow(Shadow::service(shadow, "custom shadow service"))
    }

    /// How the shadow is named in [`Display`](fmt::Display) (route tables), for
    /// example its URL. Default: `custom shadow service`.
    pub fn shadow_label(self, label: &str) -> Self {
        self.edit(|c| c.shadow.set_label(label))
    }

    fn from_shadow(shadow: Shadow) -> Self {
        Self {
            cfg: Arc::new(Config::new(shadow)),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.cfg));
        self
    }

    /// The fraction of eligible requests mirrored, in `0.0..=1.0`. Default `1.0`;
    /// `0.0` mirrors nothing.
    ///
    /// # Errors
    ///
    /// When `fraction` is not a number in `0.0..=1.0`.
    pub fn sample(self, fraction: f64) -> Result<Self, MirrorConfigError> {
        let sample = Sample::new(fraction).ok_or_else(|| {
            MirrorConfigError::new(format!("sample {fraction} is not in 0.0..=1.0"))
        })?;
        Ok(self.edit(|c| c.sample = sample))
    }

    /// The methods mirrored. Default `GET` and `HEAD` (deliberately not `OPTIONS`).
    /// Mirroring a method that writes (`POST`, `PUT`, `DELETE`) makes the shadow do
    /// the write again: opt in only against a shadow with its own data.
    pub fn methods(self, methods: impl IntoIterator<Item = Method>) -> Self {
        let methods: Arc<[Method]> = methods.into_iter().collect();
        self.edit(|c| c.methods = methods)
    }

    /// A predicate on the request head; `false` means not mirrored. Default: none.
    pub fn filter<F>(self, f: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        self.edit(|c| c.filter = Some(Arc::new(f)))
    }

    /// The largest request body mirrored, in bytes; a larger body (announced or
    /// streamed) is not mirrored, and the primary is never delayed for it. Default
    /// [`DEFAULT_MAX_REQUEST_BODY`].
    pub fn max_request_body(self, bytes: usize) -> Self {
        self.edit(|c| c.max_request_body = bytes)
    }

    /// Capture up to `bytes` of each side's response body for hooks and comparators
    /// (`0`: heads only). Default: [`DEFAULT_CAPTURE_BODY`] when a body comparator
    /// (`body`, `json`) is configured, else `0`.
    pub fn capture_body(self, bytes: usize) -> Self {
        self.edit(|c| c.capture_body = Some(bytes))
    }

    /// The shadow request's deadline (readiness, head and captured body). Default
    /// [`DEFAULT_TIMEOUT`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.edit(|c| c.timeout = timeout)
    }

    /// How long an exchange waits for its two sides, from the request's arrival;
    /// after it, a side that has not reported is [`Side::Missing`](crate::Side).
    /// Default [`DEFAULT_EXCHANGE_TTL`]; keep it above the timeout.
    pub fn exchange_ttl(self, ttl: Duration) -> Self {
        self.edit(|c| c.ttl = ttl)
    }

    /// The bound on shadow requests in flight; over it a request is skipped (and
    /// counted), never queued. Default [`DEFAULT_MAX_IN_FLIGHT`].
    pub fn max_in_flight(self, n: usize) -> Self {
        self.edit(|c| {
            c.max_in_flight = n;
            c.in_flight = Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS)));
        })
    }

    /// Also removes these headers from the shadow copy (calls add up). Whatever is
    /// configured, `Authorization`, `Cookie`, `Proxy-Authorization`, `X-Api-Key`,
    /// `X-Auth-Token`, `X-CSRF-Token`, `X-Amz-Security-Token` and the hop-by-hop
    /// headers are always removed. Default: nothing more.
    pub fn strip_headers(self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.edit(|c| {
            let mut all = c.copy.strip.to_vec();
            for name in names {
                if !all.contains(&name) {
                    all.push(name);
                }
            }
            c.copy.strip = Arc::from(all);
        })
    }

    /// How the copy's `Host` is marked. Default [`HostMark::default`] (`-shadow`
    /// suffix).
    pub fn host(self, mark: HostMark) -> Self {
        self.edit(|c| c.copy.host = mark)
    }

    /// Stamp the [`MirrorId`] on the shadow copy in this header. Default: none.
    pub fn id_header(self, name: HeaderName) -> Self {
        self.edit(|c| c.copy.id_header = Some(name))
    }

    /// The comparators run on each exchange with both responses (replacing the
    /// default, [`Comparator::Status`]).
    pub fn compare(self, comparators: impl IntoIterator<Item = Comparator>) -> Self {
        let list: Arc<[Comparator]> = comparators.into_iter().collect();
        self.edit(|c| c.comparators = list)
    }

    /// Count into `stats` (shared with whoever else holds a clone, e.g. a metrics
    /// exporter). Default: fresh counters, readable with
    /// [`MirrorLayer::stats_handle`].
    pub fn stats(self, stats: MirrorStats) -> Self {
        self.edit(|c| c.stats = stats)
    }

    /// The counters this layer's services count into.
    #[must_use]
    pub fn stats_handle(&self) -> MirrorStats {
        self.cfg.stats.clone()
    }

    /// Installs a set of hooks (after any installed before).
    pub fn hooks(self, hooks: impl MirrorHooks) -> Self {
        self.edit(|c| c.hooks.push(Arc::new(hooks)))
    }

    /// Installs an `on_request` hook: edit the shadow copy, or skip it.
    pub fn on_request<F>(self, f: F) -> Self
    where
        F: Fn(&mut ShadowRequest) -> Decision + Send + Sync + 'static,
    {
        self.hooks(OnRequest(f))
    }

    /// Installs an `on_response` hook: the primary's response.
    pub fn on_response<F>(self, f: F) -> Self
    where
        F: Fn(MirrorId, &CapturedResponse) + Send + Sync + 'static,
    {
        self.hooks(OnResponse(f))
    }

    /// Installs an `on_replay` hook: the shadow's response or failure.
    pub fn on_replay<F>(self, f: F) -> Self
    where
        F: Fn(MirrorId, Result<&CapturedResponse, &ShadowError>) + Send + Sync + 'static,
    {
        self.hooks(OnReplay(f))
    }

    /// Installs an `on_exchange` hook: both sides, once per mirrored request.
    pub fn on_exchange<F>(self, f: F) -> Self
    where
        F: Fn(&Exchange) + Send + Sync + 'static,
    {
        self.hooks(OnExchange(f))
    }
}

impl<S> Layer<S> for MirrorLayer {
    type Service = Mirror<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Mirror::from_config(inner, Arc::clone(&self.cfg))
    }
}

/// One line for route tables: `mirror http://shadow:8081 sample=0.1 methods=GET,HEAD
/// max_in_flight=64 timeout=5s compare=status`, then `host=..` and
/// `strip_headers=..` when they are not the defaults.
impl fmt::Display for MirrorLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_config(&self.cfg, f)
    }
}

pub(crate) fn fmt_config(c: &Config, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let join = |items: Vec<String>| items.join(",");
    write!(
        f,
        "mirror {} sample={} methods={} max_in_flight={} timeout={:?} compare={}",
        c.shadow.label(),
        c.sample.fraction(),
        join(c.methods.iter().map(ToString::to_string).collect()),
        c.max_in_flight,
        c.timeout,
        join(c.comparators.iter().map(ToString::to_string).collect()),
    )?;
    if c.copy.host != HostMark::default() {
        write!(f, " host={}", c.copy.host)?;
    }
    if !c.copy.strip.is_empty() {
        let names = join(c.copy.strip.iter().map(ToString::to_string).collect());
        write!(f, " strip_headers={names}")?;
    }
    Ok(())
}

impl fmt::Debug for MirrorLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MirrorLayer")
            .field("config", &format_args!("{self}"))
            .field("hooks", &self.cfg.hooks)
            .finish_non_exhaustive()
    }
}
