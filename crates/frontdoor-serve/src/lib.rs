//! Serving a tower service on one or more listeners (WFront's multi-port server,
//! done properly). The `frontdoor` facade re-exports this crate as
//! `frontdoor::serve` (its `serve` feature; `tls` turns on this crate's `tls`).
//!
//! [`Server`] binds any number of addresses and serves one service on all of them:
//!
//! * HTTP/1.1 (and 1.0) on a proxy-specialised path by default (`fast/`: one task
//!   per connection, each head parsed once by the wire scanner's rules into the
//!   request the service sees, answers written without hyper's server; turn it off
//!   with [`Server::http1_fast_path`]); a connection moves to hyper's server at the
//!   first request asking for an upgrade, `CONNECT` or `Expect`, or whose head
//!   hyper answers itself (malformed, too large), so those answers are hyper's;
//! * HTTP/1.1 and HTTP/2 with prior knowledge (h2c), detected per connection by
//!   hyper-util's auto connection builder; HTTP/1 upgrades are supported (which
//!   protocols reach an upstream is the upstream client's allow-list,
//!   `frontdoor_upstream::UpgradeProtocols`). HTTP/2 extended `CONNECT` (RFC 8441,
//!   WebSocket over HTTP/2) is not enabled: `SETTINGS_ENABLE_CONNECT_PROTOCOL` is
//!   never sent and a stream carrying `:protocol` is reset (`PROTOCOL_ERROR`) by
//!   `h2` before the service sees it;
//! * every request carries a [`ConnInfo`](frontdoor_core::ConnInfo) extension (local
//!   and peer address);
//! * every resource is bounded and timed: a header-read timeout cuts off clients that
//!   never finish a request head (slowloris), including clients that connect and send
//!   nothing; an idle timeout closes connections with nothing in flight (HTTP/1
//!   keep-alive, HTTP/2 with a GOAWAY, upgraded connections); a send timeout drops
//!   clients that stop reading their response; a body-read timeout fails request
//!   bodies that stall; heads, header counts, HTTP/2 streams and request bodies have
//!   caps (`431`, `413`);
//! * a max-connections limit: past it, the server stops accepting until a
//!   connection closes (the kernel backlog holds the rest); a per-address limit
//!   closes a client's connections past its share. Upgraded connections count
//!   against both for their whole life, and graceful shutdown waits for them;
//! * optionally, the PROXY protocol (v1 and v2) on every connection: the client
//!   address an L4 balancer sends becomes the connection's peer address;
//! * requests whose framing a proxy must not forward are refused before the service
//!   sees them, and an HTTP/1 connection is closed: `Content-Length` together with
//!   `Transfer-Encoding` and a `#fragment` in the target, seen on the raw bytes
//!   (hyper would drop the `Content-Length`, the `http` crate the fragment), a
//!   `#fragment` in an HTTP/2 `:path`, seen in the header block decoded on the wire
//!   (400; the other streams go on), a missing or repeated `Host` on HTTP/1.1, a
//!   `Content-Length` that is not plain digits, a `Transfer-Encoding` that does not
//!   end in one `chunked` (400), or that applies another coding (501). hyper's
//!   parser refuses the rest of the classic smuggling vectors itself (400, 431, 414,
//!   505). What it *repairs* is forwarded repaired, as RFC 9112 allows a
//!   re-serialising recipient: bare-LF line ends in a head, identical duplicate
//!   `Content-Length` values, an empty chunk-extension name;
//! * the headers a client nominates in `Connection` are removed before the service
//!   sees the request, so no layer's header can be deleted that way;
//! * a request body that fails, or stops before its framing says it ends (a
//!   connection dropped mid-body, an HTTP/2 stream reset), fails rather than ends
//!   ([`UploadBody`](frontdoor_core::UploadBody)): an upstream request streaming it
//!   is aborted, never completed;
//! * graceful shutdown on a future: after an optional drain delay, during which the
//!   listeners still serve while balancers take the instance out (a [`Drain`] shows
//!   a health check that the signal fired), listeners close, in-flight requests
//!   finish (HTTP/1 connections close after their current response, HTTP/2
//!   connections get GOAWAY), and whatever is still running after the drain timeout
//!   is dropped.
//!
//! With the `tls` feature, both also serve HTTPS listeners (`bind_tls`): TLS 1.2 and
//! 1.3 with ALPN `h2`/`http/1.1`, certificates chosen by SNI and swapped at runtime,
//! a handshake deadline; see the `tls` module.
//!
//! [`Workers`] is the same server in nginx's shape: one thread per core, each a
//! single-threaded runtime with its own `SO_REUSEPORT` listeners and its own service
//! instance (so an upstream client's connection pool is per worker, and a request
//! never hops between threads). It uses markedly less CPU per proxied request than
//! one multi-threaded runtime.
//!
//! The request body is [`frontdoor_core::Body`]; the service's errors are logged and
//! close the connection (hyper's behaviour), so put an error-rescue layer (such as
//! the upstream crate's gateway layer) in front of anything that can fail.
//!
//! # Example
//!
//! One service on two loopback listeners, one request, then shutdown (in `main`,
//! pass [`shutdown_signal`]: Ctrl-C or SIGTERM).
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::{Body, BoxError};
//! use frontdoor_serve::Server;
//! use http::{Request, Response};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let svc = tower::service_fn(|_req: Request<Body>| async {
//!     Ok::<_, Infallible>(Response::new(Body::from("hello\n")))
//! });
//! let server = Server::bind(&["127.0.0.1:0".parse()?, "127.0.0.1:0".parse()?]).await?;
//! let addrs = server.local_addrs()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let serving = tokio::spawn(server.serve_with_shutdown(svc, async {
//!     let _ = stopped.await;
//! }));
//!
//! let mut client = tokio::net::TcpStream::connect(addrs[1]).await?;
//! client
//!     .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
//!     .await?;
//! let mut answer = String::new();
//! client.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\nhello\n"));
//!
//! let _ = stop.send(());
//! serving.await??;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! [`Server`] (`server.rs`) and [`Workers`] (`workers.rs`) hold a `Config`
//! (`config.rs`: the settings, their defaults and the setters both share) and start
//! one accept loop per listener (`accept.rs`), all sharing the shutdown tokens and
//! limits of `shared.rs`; each accepted connection runs `connection.rs` (read the
//! PROXY header with `proxy_protocol.rs`, take a per-address slot from `per_ip.rs`,
//! handshake on a TLS listener, `tls/`) and then, for HTTP/1 on the fast path,
//! `fast/` (`head.rs` parses, `inbound.rs` reads bodies, `respond.rs` and
//! `outbound.rs` write answers, `mod.rs` is the connection's loop, with the guard's
//! checks), else `http_conn.rs` (configure hyper, drive the connection, drain it on
//! shutdown) over the I/O of `conn_io.rs`, its
//! reads scanned by `strict/` (the framing only the raw bytes show, and where each
//! message ends; after the HTTP/2 preface, every request stream's method and
//! `:path`), and `clock.rs` keeps its header, idle and send timeouts. Per request,
//! `guard.rs` refuses bad framing and oversized announced bodies, removes nominated
//! hop-by-hop headers and inserts `ConnInfo`, and `idle_body.rs` times out stalled
//! request bodies and caps them. A TLS connection's clock starts at the handshake's
//! end. [`serve_stream`] (`stream.rs`) runs the same per-connection code on a stream
//! of any transport. [`shutdown_signal`] and [`Drain`] are in `signal.rs`; the drain
//! delay is waited in `shared.rs`. Modules import downwards only: nothing imports
//! from this root.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
pub mod __fuzz;
mod accept;
mod bounds;
mod clock;
mod config;
mod conn_io;
mod connection;
mod fast;
mod guard;
mod http_conn;
mod idle_body;
mod per_ip;
mod proxy_protocol;
mod server;
mod settings;
mod shared;
mod signal;
mod stream;
mod strict;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod transport;
mod workers;

#[cfg(feature = "tls")]
pub use config::DEFAULT_TLS_HANDSHAKE_TIMEOUT;
pub use config::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_DRAIN_TIMEOUT, DEFAULT_H2_MAX_CONCURRENT_STREAMS,
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MIN_BODY_RATE, DEFAULT_SEND_TIMEOUT,
    MIN_MAX_HEADER_BYTES,
};
pub use server::Server;
pub use settings::Settings;
pub use signal::{shutdown_signal, Drain, DrainOn};
pub use stream::serve_stream;
pub use workers::Workers;

/// Bytes of response bodies the HTTP/1 fast path moved with `splice(2)` (upstream
/// socket to client socket, no user-space copy) since the process started, on every
/// server of the process; always 0 off Linux. See
/// [`Server::http1_fast_path`] for when a body is spliced.
///
/// # Example
///
/// ```
/// let before = frontdoor_serve::spliced_bytes();
/// assert!(frontdoor_serve::spliced_bytes() >= before);
/// ```
#[must_use]
pub fn spliced_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    return fast::splice::spliced_bytes();
    #[cfg(not(target_os = "linux"))]
    0
}
