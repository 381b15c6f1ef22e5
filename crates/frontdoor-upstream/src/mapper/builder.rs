//! [`MapperBuilder`]: a mapper's configuration, checked once by `build`.

use std::{convert::Infallible, fmt, sync::Arc, time::Duration};

use frontdoor_core::{text_response, Body};
use http::{request::Parts, Request, Response, StatusCode};
use tower::{service_fn, util::BoxCloneSyncService};
use tower_service::Service;

use super::{
    clients::{Clients, Configure},
    mapping::{Direct, Mapping, WrapTarget},
    Mapper, MapperShared,
};
use crate::{AllowedTargets, Upstream, UpstreamBuilder, UpstreamConfigError};

/// The service answering the requests a mapper maps to nothing.
pub(crate) type Fallback = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Configures a [`Mapper`]. Every setter states its default; [`build`](Self::build)
/// checks everything once.
#[must_use]
pub struct MapperBuilder<F, W = Direct> {
    map: F,
    wrap: W,
    allow: AllowedTargets,
    max_clients: usize,
    idle_timeout: Option<Duration>,
    configure: Configure,
    fallback: Option<Fallback>,
}

impl<F> MapperBuilder<F>
where
    F: Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static,
{
    pub(super) fn new(map: F) -> Self {
        Self {
            map,
            wrap: Direct,
            allow: AllowedTargets::none(),
            max_clients: 256,
            idle_timeout: Some(Duration::from_secs(90)),
            configure: Arc::new(|b| b),
            fallback: None,
        }
    }
}

impl<F, W> MapperBuilder<F, W>
where
    F: Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static,
    W: WrapTarget,
{
    /// The targets the mapper may reach (see [`AllowedTargets`] for what is checked
    /// when). Default: none, every target refused.
    pub fn allow(mut self, allow: AllowedTargets) -> Self {
        self.allow = allow;
        self
    }

    /// The most clients (target authorities) kept at once, at least 1. A request to
    /// a new authority at the cap evicts the least recently used client: its idle
    /// connections close, requests in flight on it finish on it (they hold it), and
    /// the next request to that authority builds a new client with new connections.
    /// Default: 256.
    pub const fn max_clients(mut self, max: usize) -> Self {
        self.max_clients = max;
        self
    }

    /// How long a client no request took is kept; older ones are dropped when a new
    /// client is added (their pools' idle connections already close after the
    /// clients' own `pool_idle_timeout`). Default: 90 s. `None`: until evicted at the
    /// cap.
    pub const fn client_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Configures every client, from [`Upstream::builder`] on the target's
    /// `scheme://authority` (timeouts, [`HostPolicy`](crate::HostPolicy), forwarding
    /// headers, TLS, connection caps). Default: the upstream defaults. A setting
    /// that cannot apply to some target (a connection cap on an `https` one) fails
    /// that target's requests with a 502, logged.
    pub fn upstream(
        mut self,
        configure: impl Fn(UpstreamBuilder) -> UpstreamBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Arc::new(configure);
        self
    }

    /// The service answering requests the function maps to `None`. Default: `404 Not
    /// Found`.
    pub fn fallback<S>(mut self, fallback: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.fallback = Some(BoxCloneSyncService::new(fallback));
        self
    }

    /// What serves a request in front of its target's client (see [`WrapTarget`]).
    /// Default: [`Direct`].
    pub fn wrap_targets<W2: WrapTarget>(self, wrap: W2) -> MapperBuilder<F, W2> {
        MapperBuilder {
            map: self.map,
            wrap,
            allow: self.allow,
            max_clients: self.max_clients,
            idle_timeout: self.idle_timeout,
            configure: self.configure,
            fallback: self.fallback,
        }
    }

    /// Checks the configuration and builds the mapper. No runtime is needed here.
    ///
    /// # Errors
    ///
    /// An [`UpstreamConfigError`] with key `max_clients` when it is 0, or the key of
    /// the client configuration's error (tried on `http://127.0.0.1`; TLS settings,
    /// which apply to `https` targets only, are checked per target).
    pub fn build(self) -> Result<Mapper<F, W>, UpstreamConfigError> {
        if self.max_clients == 0 {
            return Err(UpstreamConfigError::new(
                "max_clients",
                "a mapper needs room for at least one client",
            ));
        }
        match (self.configure)(Upstream::builder("http://127.0.0.1")).build() {
            Err(e) if e.key() != "tls" => return Err(e),
            _ => {}
        }
        if self.allow.is_empty() {
            tracing::warn!("mapper built with an empty allow-list: every target is refused");
        }
        let fallback = self.fallback.unwrap_or_else(not_found);
        Ok(Mapper {
            shared: Arc::new(MapperShared {
                map: self.map,
                wrap: self.wrap,
                allow: self.allow.clone(),
                clients: Clients::new(
                    self.max_clients,
                    self.idle_timeout,
                    self.configure,
                    self.allow,
                ),
            }),
            fallback,
        })
    }
}

impl<F, W: fmt::Debug> fmt::Debug for MapperBuilder<F, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapperBuilder")
            .field("wrap", &self.wrap)
            .field("allow", &self.allow)
            .field("max_clients", &self.max_clients)
            .field("idle_timeout", &self.idle_timeout)
            .field("fallback", &self.fallback.is_some())
            .finish_non_exhaustive()
    }
}

/// The default fallback: `404 Not Found`.
fn not_found() -> Fallback {
    BoxCloneSyncService::new(service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(text_response(StatusCode::NOT_FOUND, "Not Found"))
    }))
}
