//! frontdoor in an axum app (feature `axum`): the extractors, and [`conn_info`] for
//! `axum::serve`.
//!
//! * **Extractors.** The typed extensions are axum extractors: take [`Resolved`],
//!   [`PeerTrust`], [`MatchedRoute`], [`ConnInfo`] or [`Mount`] (script name and path
//!   info) as handler arguments, or `Option<_>` of the first four where absence is
//!   normal. A missing extension rejects with 500 and names the layer to add
//!   ([`MissingExtension`]). See [`frontdoor_core::extract`].
//! * **Placement.** Wrap the axum `Router` in frontdoor's layers from the outside
//!   (`ServiceBuilder::new().resolve(..).routes(..).service(app)`), not with
//!   `Router::layer`: axum runs `Router::layer` layers after it has routed, so the
//!   resolver's canonical path (`/x/../hello` is `/hello`) would never reach axum's
//!   routing, and frontdoor's routes could not take requests away from axum's.
//!   tower-http layers go on the `Router` with `Router::layer`, as axum documents.
//! * **`ConnInfo`.** `axum::serve` does not insert [`ConnInfo`], without which the
//!   forwarded resolver trusts no peer (it logs a warning once) and by-scheme labels
//!   cannot come from the socket. Serve `conn_info(service)` instead of the service:
//!   each connection's requests then carry its local and peer address.
//!
//! No body is converted anywhere: [`Body`](crate::Body) is axum's body type, the
//! resolver answers `Response<Body>`, and an axum `Router` is a route service or the
//! fallback as it is.
//!
//! # Example
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use frontdoor::{axum::{conn_info, Resolved}, resolve::ForwardedResolver, ServiceBuilderExt};
//! use tower::ServiceBuilder;
//!
//! async fn whoami(resolved: Resolved) -> String {
//!     format!("{resolved}\n")
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let app = Router::new().route("/whoami", get(whoami));
//! let app = ServiceBuilder::new()
//!     .resolve(ForwardedResolver::try_new(["10.0.0.0/8"])?) // the load balancers
//!     .service(app);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, conn_info(app)).await?;
//! # Ok(())
//! # }
//! ```

use std::{
    convert::Infallible,
    future::{ready, Ready},
    net::{Ipv4Addr, SocketAddr},
    task::{Context, Poll},
};

use axum::serve::{IncomingStream, Listener};
use tokio::net::TcpStream;
use tower_service::Service;

use crate::conn::AddConnInfo;
pub use frontdoor_core::{
    extract::MissingExtension, ConnInfo, MatchedRoute, Mount, PeerTrust, Resolved,
};

/// Wraps `service` for `axum::serve`, so that every request carries the
/// [`ConnInfo`] of its connection: `axum::serve(listener, conn_info(app))`. Works
/// for any service `axum::serve` takes, an axum `Router` or a stack of frontdoor
/// layers around one. See the [module docs](self).
pub const fn conn_info<S>(service: S) -> ConnInfoService<S> {
    ConnInfoService { service }
}

/// The make-service [`conn_info`] returns: for each connection `axum::serve`
/// accepts, the wrapped service inside an [`AddConnInfo`] with that connection's
/// local and peer address. Always ready.
#[derive(Clone, Debug)]
pub struct ConnInfoService<S> {
    service: S,
}

impl<S> ConnInfoService<S> {
    /// The wrapped service.
    pub const fn get_ref(&self) -> &S {
        &self.service
    }

    /// Consumes `self`, returning the wrapped service.
    pub fn into_inner(self) -> S {
        self.service
    }
}

impl<L, S> Service<IncomingStream<'_, L>> for ConnInfoService<S>
where
    L: Listener<Io = TcpStream, Addr = SocketAddr>,
    S: Clone,
{
    type Response = AddConnInfo<S>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, L>) -> Self::Future {
        let remote = *stream.remote_addr();
        let local = stream.io().local_addr().unwrap_or_else(|error| {
            tracing::debug!(%error, "local_addr of an accepted connection failed");
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
        });
        ready(Ok(AddConnInfo::new(
            self.service.clone(),
            ConnInfo::new(local, remote),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn public_types_are_send_sync_clone() {
        assert_send_sync_clone::<ConnInfoService<()>>();
    }
}
