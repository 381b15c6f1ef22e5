//! Not part of the API: for the fuzz targets (`fuzz/` in the repository) only, which
//! drive private parts of the server directly. Anything here may change or go at
//! any time.

use std::sync::Arc;

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, ConnInfo};
use http::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tower::Service;

pub use crate::fast::fuzz::{
    body_kind, decode_body, parse_head, BodyEnd, BodyKind, ParsedHead, RequestHead,
};
pub use crate::strict::fuzz::{scan, Scanned, ScannedHead};
use crate::{
    clock::ConnClock,
    config::Config,
    conn_io::Held,
    http_conn::{conn_io, serve_http, Protocol},
    shared::Shared,
};
#[cfg(doc)]
use crate::{serve_stream, Server};

/// Which HTTP/1 path [`serve_on`] serves a connection on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H1Path {
    /// The fast path ([`Server::http1_fast_path`] on, the default).
    Fast,
    /// hyper's server with the wire scanner in front.
    Hyper,
}

/// Serves `io` as [`Server`] serves a plaintext connection with its default
/// settings (timeouts included), the HTTP/1 path as `path` says. Unlike
/// [`serve_stream`], the fast path is taken when asked.
pub async fn serve_on<I, S, B>(io: I, info: ConnInfo, service: S, path: H1Path)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let config = Config {
        http1_fast_path: path == H1Path::Fast,
        ..Config::default()
    };
    let shared = Shared::new(config);
    let Ok(permit) = Arc::clone(&shared.limit).try_acquire_owned() else {
        return;
    };
    let held = Held {
        permit,
        slot: None,
        tracked: shared.tracker.token(),
    };
    let clock = ConnClock::new(tokio::time::Instant::now());
    let io = conn_io(io, &clock, held, &shared);
    serve_http(io, clock, info, Protocol::Detect, service, &shared).await;
}
