//! [`ConnInfo`] for servers other than [`serve`](crate::serve): a layer that stamps a
//! connection's addresses on each of its requests.
//!
//! The resolvers read the connection from [`ConnInfo`]: without it no peer can be
//! trusted (forwarding headers are ignored, with a warning logged once) and
//! by-scheme labels cannot come from the socket. `frontdoor::serve` inserts it on
//! every request; `axum::serve` does not, so use
//! `frontdoor::axum::conn_info` there (feature `axum`).
//! With bare hyper, where the accept loop builds one service per connection, wrap
//! that service in a [`ConnInfoLayer`] built from the accepted stream:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor::{conn::ConnInfoLayer, core::ConnInfo, Body};
//! use http::{Request, Response};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let app = tower::service_fn(|req: Request<Body>| async move {
//!     let conn = req.extensions().get::<ConnInfo>().copied();
//!     Ok::<_, Infallible>(Response::new(Body::from(format!("{:?}", conn.map(|c| c.remote)))))
//! });
//! // In the accept loop: `let (stream, remote) = listener.accept().await?;`
//! let (local, remote) = ("127.0.0.1:8080".parse()?, "192.0.2.7:50000".parse()?);
//! let svc = ConnInfoLayer::new(ConnInfo::new(local, remote)).layer(app);
//! let res = svc.oneshot(Request::new(Body::empty())).await?;
//! # let body = http_body_util::BodyExt::collect(res.into_body()).await?.to_bytes();
//! # assert_eq!(body, "Some(192.0.2.7:50000)");
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use frontdoor_core::ConnInfo;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

// === ConnInfoLayer ===

/// Applies [`AddConnInfo`]: stamps one connection's [`ConnInfo`] on its requests.
/// Build one per accepted connection. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct ConnInfoLayer {
    info: ConnInfo,
}

impl ConnInfoLayer {
    /// A layer stamping `info`.
    pub const fn new(info: ConnInfo) -> Self {
        Self { info }
    }
}

impl<S> Layer<S> for ConnInfoLayer {
    type Service = AddConnInfo<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AddConnInfo {
            inner,
            info: self.info,
        }
    }
}

// === AddConnInfo ===

/// Inserts a connection's [`ConnInfo`] into each request that has none (an outer
/// server's stays), then calls the inner service. Ready when the inner service is.
#[derive(Clone, Debug)]
pub struct AddConnInfo<S> {
    inner: S,
    info: ConnInfo,
}

impl<S> AddConnInfo<S> {
    /// Wraps `inner`, stamping `info`.
    pub const fn new(inner: S, info: ConnInfo) -> Self {
        Self { inner, info }
    }

    /// The connection this service stamps.
    pub const fn conn_info(&self) -> ConnInfo {
        self.info
    }

    frontdoor_core::define_inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for AddConnInfo<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if req.extensions().get::<ConnInfo>().is_none() {
            req.extensions_mut().insert(self.info);
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use frontdoor_core::Body;
    use http::Response;
    use tower::ServiceExt;

    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn public_types_are_send_sync_clone() {
        assert_send_sync_clone::<ConnInfoLayer>();
        assert_send_sync_clone::<AddConnInfo<()>>();
    }

    #[tokio::test]
    async fn stamps_only_requests_without_conn_info() {
        let local = "127.0.0.1:80".parse().unwrap();
        let info = ConnInfo::new(local, "127.0.0.1:1".parse().unwrap());
        let outer = ConnInfo::new(local, "127.0.0.1:2".parse().unwrap());
        let app = tower::service_fn(|req: Request<Body>| async move {
            let port = req.extensions().get::<ConnInfo>().map(|c| c.remote.port());
            Ok::<_, Infallible>(Response::new(port))
        });
        let svc = ConnInfoLayer::new(info).layer(app);
        assert_eq!(svc.conn_info(), info);
        let res = svc
            .clone()
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(res.into_body(), Some(1));
        let mut req = Request::new(Body::empty());
        req.extensions_mut().insert(outer);
        assert_eq!(svc.oneshot(req).await.unwrap().into_body(), Some(2));
    }
}
