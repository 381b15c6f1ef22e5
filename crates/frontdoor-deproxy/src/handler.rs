//! Handlers: how an endpoint turns a received request into a [`Reply`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use crate::fault::Fault;

/// A boxed, sendable future, as returned by [`Handler::call`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Produces the origin's answer to a request.
///
/// Implemented for every `Fn(Request<Bytes>) -> impl Future<Output = impl Into<Reply>>`,
/// so async closures are handlers:
///
/// ```
/// use bytes::Bytes;
/// use frontdoor_deproxy::{Handler, Reply};
/// use http::Request;
///
/// fn takes(_: impl Handler) {}
/// takes(|req: Request<Bytes>| async move { Reply::text(200, format!("saw {}", req.uri())) });
/// ```
///
/// The request carries its extensions as the endpoint's server produced them;
/// on a hyper endpoint that includes the `hyper::upgrade::OnUpgrade` used by
/// [`handlers::upgrade_echo`](crate::handlers::upgrade_echo).
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, req: Request<Bytes>) -> BoxFuture<Reply>;
}

impl<F, Fut, R> Handler for F
where
    F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Into<Reply>,
{
    fn call(&self, req: Request<Bytes>) -> BoxFuture<Reply> {
        let fut = self(req);
        Box::pin(async move { fut.await.into() })
    }
}

/// A cheaply clonable, type-erased [`Handler`].
#[derive(Clone)]
pub struct BoxHandler(Arc<dyn Handler>);

impl BoxHandler {
    /// Erases the type of `h`.
    pub fn new(h: impl Handler) -> Self {
        Self(Arc::new(h))
    }
}

impl Handler for BoxHandler {
    fn call(&self, req: Request<Bytes>) -> BoxFuture<Reply> {
        self.0.call(req)
    }
}

impl fmt::Debug for BoxHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxHandler")
    }
}

/// What a handler returns: a response plus directives for the endpoint.
///
/// This replaces Deproxy's `HandlerContext`: instead of mutating a context,
/// the handler returns the directives alongside the response.
#[derive(Debug)]
#[non_exhaustive]
pub struct Reply {
    /// The response the origin means to send.
    pub response: Response<Bytes>,
    /// Whether the endpoint adds `Server`, `Date` and `Content-Length` when
    /// they are missing (default `true`). The `Deproxy-Request-ID` echo is
    /// added either way.
    pub default_headers: bool,
    /// A fault to inject while sending the response. Needs an endpoint with
    /// [`ServerConnector::Raw`](crate::ServerConnector::Raw); a hyper endpoint
    /// only honours [`Fault::DelayHead`] and closes the connection without a
    /// response for any other fault.
    pub fault: Option<Fault>,
}

impl Reply {
    /// A reply carrying `response`, with default headers and no fault.
    #[must_use]
    pub fn new(response: Response<Bytes>) -> Self {
        Self {
            response,
            default_headers: true,
            fault: None,
        }
    }

    /// An empty-bodied reply with this status. Panics never: an invalid code
    /// becomes 500.
    #[must_use]
    pub fn status(code: u16) -> Self {
        Self::text(code, "")
    }

    /// A reply with this status and body.
    #[must_use]
    pub fn text(code: u16, body: impl Into<Bytes>) -> Self {
        let mut response = Response::new(body.into());
        *response.status_mut() =
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(response)
    }

    /// Sends the response headers exactly as built (the ID echo still applies).
    #[must_use]
    pub fn no_default_headers(mut self) -> Self {
        self.default_headers = false;
        self
    }

    /// Injects `fault` while sending this reply.
    #[must_use]
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Appends a response header; invalid names or values are ignored.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            self.response.headers_mut().append(n, v);
        }
        self
    }
}

impl From<Response<Bytes>> for Reply {
    fn from(response: Response<Bytes>) -> Self {
        Self::new(response)
    }
}

impl From<StatusCode> for Reply {
    fn from(status: StatusCode) -> Self {
        Self::status(status.as_u16())
    }
}
