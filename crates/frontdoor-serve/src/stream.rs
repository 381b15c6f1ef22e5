//! [`serve_stream`]: one already accepted connection, of any transport.

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, ConnInfo};
use http::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::Service;

use crate::{
    clock::ConnClock,
    config::Config,
    guard::{Guard, GuardConfig},
    http_conn::{http_builder, Protocol},
    strict,
};
#[cfg(doc)]
use crate::{config::DEFAULT_BODY_READ_TIMEOUT, server::Server};

/// Serves one already accepted connection `io` (a Unix socket, a TLS stream, an
/// in-memory pipe) with `service`, exactly as [`Server`] serves each TCP connection
/// (HTTP/1.1 with upgrades, or h2c; the same strict framing checks, hop-by-hop
/// removal and request bodies), until the client closes it. `info` is the
/// [`ConnInfo`] every request carries. It serves HTTP/1 with hyper's server (with the
/// wire scanner in front), never the [HTTP/1 fast path](Server::http1_fast_path),
/// whose connections carry the server's own bookkeeping (limits, drain, clock); the
/// two answer alike.
///
/// What it leaves to the caller: the connection's timeouts (header, idle, send: the
/// transport's lifetime is the caller's), the connection limits, the PROXY protocol
/// and graceful shutdown (drop the future). The other settings are the defaults:
/// request bodies time out after [`DEFAULT_BODY_READ_TIMEOUT`] of silence, and are
/// not capped.
///
/// ```
/// use std::convert::Infallible;
///
/// use frontdoor_core::{Body, ConnInfo};
/// use frontdoor_serve::serve_stream;
/// use http::{Request, Response};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), frontdoor_core::BoxError> {
/// let (client, server) = tokio::io::duplex(4096);
/// let svc = tower::service_fn(|_req: Request<Body>| async {
///     Ok::<_, Infallible>(Response::new(Body::from("hi")))
/// });
/// let info = ConnInfo::new("127.0.0.1:80".parse()?, "127.0.0.1:5000".parse()?);
/// tokio::spawn(serve_stream(server, info, svc));
///
/// let mut client = client;
/// client
///     .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
///     .await?;
/// let mut answer = String::new();
/// client.read_to_string(&mut answer).await?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
///
/// // Content-Length with Transfer-Encoding: refused on the wire, never served.
/// let (mut client, server) = tokio::io::duplex(4096);
/// let svc = tower::service_fn(|_req: Request<Body>| async {
///     Ok::<_, Infallible>(Response::new(Body::from("hi")))
/// });
/// tokio::spawn(serve_stream(server, info, svc));
/// client
///     .write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
///     .await?;
/// let mut answer = String::new();
/// client.read_to_string(&mut answer).await?;
/// assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// The connection's error, when it ends with one (a protocol error, an I/O error);
/// hyper has already answered what it could.
pub async fn serve_stream<I, S, B>(io: I, info: ConnInfo, service: S) -> Result<(), BoxError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let config = Config::default();
    let (io, ledger) = strict::inspect(io, config.max_headers, config.max_header_bytes);
    let guard = Guard::new(
        service,
        info,
        ConnClock::new(tokio::time::Instant::now()),
        GuardConfig::of(&config),
        ledger,
    );
    http_builder(&config, Protocol::Detect)
        .serve_connection_with_upgrades(TokioIo::new(io), guard)
        .await
}
