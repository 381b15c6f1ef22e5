//! HTTP over one connection's I/O: configure hyper, drive the connection under its
//! clock (header, idle and send timeouts), send an idle HTTP/2 connection its GOAWAY,
//! and drain it on shutdown. Plaintext and TLS connections (`connection.rs`, `tls/`)
//! and [`serve_stream`](crate::serve_stream) all end here.

use std::{pin::Pin, sync::Arc, time::Duration};

use frontdoor_core::{BoxError, ConnInfo};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    time::Instant,
};
use tracing::debug;

use crate::{
    bounds::{ConnService, ResponseBody},
    clock::{Check, ConnClock, Expired, Timeouts},
    config::{Config, DEFAULT_MAX_HEADERS},
    conn_io::{ConnIo, Held},
    guard::{Guard, GuardConfig},
    shared::Shared,
    strict::{self, Inspected, Ledger},
};

/// A connection being served: hyper-util's auto (HTTP/1.1 or HTTP/2) connection over
/// the connection's I/O (its reads scanned by [`strict`]), with the [`Guard`] as its
/// service.
type Connection<'a, I, S> =
    auto::UpgradeableConnection<'a, TokioIo<Inspected<ConnIo<I>>>, Guard<S>, TokioExecutor>;

/// Which HTTP version a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Whatever the client's first bytes say (HTTP/1.1, or the HTTP/2 preface).
    Detect,
    /// HTTP/1.1, as agreed by ALPN.
    #[cfg_attr(not(feature = "tls"), expect(dead_code, reason = "ALPN needs TLS"))]
    Http1,
    /// HTTP/2, as agreed by ALPN.
    #[cfg_attr(not(feature = "tls"), expect(dead_code, reason = "ALPN needs TLS"))]
    Http2,
}

/// How [`drive`] left a connection.
enum Driven {
    /// The connection finished (the client closed it, it failed, or it was
    /// upgraded).
    Ended(Result<(), BoxError>),
    /// One of its timeouts expired.
    Expired(Expired),
    /// Shutdown began: drain it.
    ShuttingDown,
}

/// The connection's I/O over `stream`, timed by `clock`, holding `held`.
pub(crate) fn conn_io<I>(
    stream: I,
    clock: &Arc<ConnClock>,
    held: Held,
    shared: &Shared,
) -> ConnIo<I> {
    ConnIo::new(
        stream,
        Arc::clone(clock),
        shared.config.idle_timeout,
        shared.force.clone(),
        held,
    )
}

/// Serves HTTP (`protocol`) over `io` until the connection ends, a timeout
/// expires or shutdown drains it: on the fast path (`fast/`) unless it is off or
/// the connection speaks HTTP/2 by ALPN.
pub(crate) async fn serve_http<I, S, B>(
    io: ConnIo<I>,
    clock: Arc<ConnClock>,
    info: ConnInfo,
    protocol: Protocol,
    service: S,
    shared: &Shared,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: ConnService<B>,
    B: ResponseBody,
{
    if shared.config.http1_fast_path && !matches!(protocol, Protocol::Http2) {
        crate::fast::serve(io, clock, info, protocol, service, shared).await;
    } else {
        serve_hyper(io, clock, info, protocol, service, shared).await;
    }
}

/// Serves HTTP (`protocol`) over `io` with hyper's server, the wire scanner in
/// front, until the connection ends, a timeout expires or shutdown drains it.
pub(crate) async fn serve_hyper<I, S, B>(
    io: ConnIo<I>,
    clock: Arc<ConnClock>,
    info: ConnInfo,
    protocol: Protocol,
    service: S,
    shared: &Shared,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: ConnService<B>,
    B: ResponseBody,
{
    let config = &shared.config;
    let (io, ledger) = strict::inspect(io, config.max_headers, config.max_header_bytes);
    let preface = Arc::clone(&ledger);
    let guard = Guard::new(
        service,
        info,
        Arc::clone(&clock),
        GuardConfig::of(config),
        ledger,
    );
    if matches!(protocol, Protocol::Http2) {
        clock.mark_http2();
    }
    let builder = http_builder(config, protocol);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), guard);
    tokio::pin!(conn);

    let result = match drive(conn.as_mut(), &clock, &preface, shared).await {
        Driven::Ended(result) => Some(result),
        Driven::Expired(Expired::Idle) if clock.is_http2() => {
            debug!(remote = %info.remote, "idle timeout: GOAWAY");
            let grace = shared.config.send_timeout.min(GOAWAY_GRACE);
            shut_down(conn, Some(grace), shared).await
        }
        Driven::Expired(expired) => {
            debug!(remote = %info.remote, "{}: closing connection", expired.as_str());
            None
        }
        Driven::ShuttingDown => shut_down(conn, None, shared).await,
    };
    if let Some(Err(error)) = result {
        debug!(remote = %info.remote, %error, "connection ended with an error");
    }
}

/// hyper's connection settings for `protocol`: the size limits, HTTP/2 keep-alive
/// pings (a peer that does not answer one within the send timeout is gone). There is
/// no hyper header timer: [`ConnClock`] keeps one per connection (see `clock.rs`).
pub(crate) fn http_builder(config: &Config, protocol: Protocol) -> auto::Builder<TokioExecutor> {
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut builder = match protocol {
        Protocol::Detect => builder,
        Protocol::Http1 => builder.http1_only(),
        Protocol::Http2 => builder.http2_only(),
    };
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(config.max_header_bytes);
    // hyper's own limit is 100 header lines, parsed into an array on the stack; an
    // explicit `max_headers` moves that array to the heap, one allocation per request
    // (about 5% of hyper's request throughput, its docs say): set it only to differ.
    if config.max_headers != DEFAULT_MAX_HEADERS {
        builder.http1().max_headers(config.max_headers);
    }
    // The wire scanner (`strict/h2.rs`) reads HTTP/2 as `h2` does with the default
    // `SETTINGS_HEADER_TABLE_SIZE` and `SETTINGS_MAX_FRAME_SIZE`: keep both.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.h2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(config.idle_timeout))
        .keep_alive_timeout(config.send_timeout);
    builder
}

/// Polls the connection until it ends, one of its timeouts expires, or shutdown
/// begins. One timer, re-armed at the instant the clock names; the scanner's
/// `ledger` tells whether the connection started with the HTTP/2 preface.
async fn drive<I, S, B>(
    mut conn: Pin<&mut Connection<'_, I, S>>,
    clock: &ConnClock,
    ledger: &Ledger,
    shared: &Shared,
) -> Driven
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: ConnService<B>,
    B: ResponseBody,
{
    let timeouts = Timeouts::of(&shared.config);
    let first = match clock.check(Instant::now(), timeouts) {
        Check::RearmAt(at) => at,
        Check::Close(expired) => return Driven::Expired(expired),
    };
    let timer = tokio::time::sleep_until(first);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            result = conn.as_mut() => return Driven::Ended(result),
            () = timer.as_mut() => {
                // An HTTP/2 preface (seen by the scanner) makes a connection that has
                // opened no stream idle rather than waiting for a head.
                if ledger.is_http2() {
                    clock.mark_http2();
                }
                match clock.check(Instant::now(), timeouts) {
                    Check::Close(expired) => return Driven::Expired(expired),
                    Check::RearmAt(at) => timer.as_mut().reset(at),
                }
            }
            () = shared.shutdown.cancelled() => return Driven::ShuttingDown,
        }
    }
}

/// How long an idle HTTP/2 connection may take to end after its GOAWAY: hyper waits
/// for the client to acknowledge the PING that follows it, and a client that never
/// does must not hold the connection.
const GOAWAY_GRACE: Duration = Duration::from_secs(3);

/// Shuts the connection down gracefully (HTTP/1 closes after the current response,
/// HTTP/2 sends GOAWAY) and polls it until it ends, within `limit` when given (an idle
/// HTTP/2 connection gets [`GOAWAY_GRACE`], or the send timeout if shorter, whatever
/// its client does), and until the drain timeout forces it closed (`None`).
async fn shut_down<I, S, B>(
    mut conn: Pin<&mut Connection<'_, I, S>>,
    limit: Option<Duration>,
    shared: &Shared,
) -> Option<Result<(), BoxError>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: ConnService<B>,
    B: ResponseBody,
{
    conn.as_mut().graceful_shutdown();
    let limit = async {
        match limit {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        result = conn.as_mut() => Some(result),
        () = limit => None,
        () = shared.force.cancelled() => None,
    }
}
