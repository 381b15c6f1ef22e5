//! The bounds of the services served and of their response bodies, named once for
//! the connection code.

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{Request, Response};
use tower::Service;

/// The services [`Server`](crate::Server) and [`Workers`](crate::Workers) serve, answering with bodies of type `B`:
/// the bounds of their public `serve` methods, named once for the connection code.
pub(crate) trait ConnService<B>:
    Service<Request<Body>, Response = Response<B>, Error: Into<BoxError>, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S, B> ConnService<B> for S
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
}

/// The response bodies a [`ConnService`] may answer with.
pub(crate) trait ResponseBody:
    http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static
{
}

impl<B> ResponseBody for B
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
}
