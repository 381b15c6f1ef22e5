//! One accepted connection, in four steps: wait for its first byte, configure
//! hyper, drive the connection under the header-read timeout, and drain it on
//! shutdown.

use std::{pin::Pin, sync::Arc};

use frontdoor_core::{BoxError, ConnInfo};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{net::TcpStream, sync::OwnedSemaphorePermit, time::Instant};
use tracing::debug;

use super::{
    guard::Guard,
    head_timer::{Check, HeadClock},
    ConnService, ResponseBody, Shared,
};

/// A connection being served: hyper-util's auto (HTTP/1.1 or h2c) connection over
/// the accepted stream, with the [`Guard`] as its service.
type Connection<'a, S> =
    auto::UpgradeableConnection<'a, TokioIo<TcpStream>, Guard<S>, TokioExecutor>;

/// How [`drive`] left a connection.
enum Driven {
    /// The connection finished (the client closed it, or it failed).
    Ended(Result<(), BoxError>),
    /// No complete request head within the header-read timeout: drop it.
    HeadTimedOut,
    /// Shutdown began: drain it.
    ShuttingDown,
}

/// Serves one accepted connection; `permit` holds its place under the connection
/// limit until it closes.
pub(super) async fn serve_connection<S, B>(
    stream: TcpStream,
    info: ConnInfo,
    service: S,
    shared: Shared,
    permit: OwnedSemaphorePermit,
) where
    S: ConnService<B>,
    B: ResponseBody,
{
    let _permit = permit;
    if !first_byte_arrives(&stream, &info, &shared).await {
        return;
    }

    let clock = HeadClock::new();
    let guard = Guard::new(
        service,
        info,
        Arc::clone(&clock),
        shared.config.body_read_timeout,
    );
    let builder = http_builder();
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), guard);
    tokio::pin!(conn);

    let result = match drive(conn.as_mut(), &clock, &info, &shared).await {
        Driven::Ended(result) => Some(result),
        Driven::HeadTimedOut => None,
        Driven::ShuttingDown => drain(conn, &shared).await,
    };
    if let Some(Err(error)) = result {
        debug!(remote = %info.remote, %error, "connection ended with an error");
    }
}

/// Step 1: waits for the connection's first byte, within the header-read timeout.
/// `false` when the client closed, sent nothing in time, or shutdown began first.
///
/// The auto builder sniffs the protocol before any header timer runs, so a client
/// that connects and sends nothing is cut off here.
async fn first_byte_arrives(stream: &TcpStream, info: &ConnInfo, shared: &Shared) -> bool {
    let timeout = shared.config.header_read_timeout;
    let mut probe = [0u8; 1];
    tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => false,
        peeked = tokio::time::timeout(timeout, stream.peek(&mut probe)) => match peeked {
            Ok(Ok(n)) => n > 0,
            Ok(Err(_)) => false,
            Err(_) => {
                debug!(remote = %info.remote, "header read timeout before first byte");
                false
            }
        },
    }
}

/// Step 2: hyper's connection settings. There is no hyper header timer:
/// [`HeadClock`] keeps one per connection (see `head_timer.rs`).
fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Step 3: polls the connection until it ends, its header-read timeout fires, or
/// shutdown begins.
async fn drive<S, B>(
    mut conn: Pin<&mut Connection<'_, S>>,
    clock: &HeadClock,
    info: &ConnInfo,
    shared: &Shared,
) -> Driven
where
    S: ConnService<B>,
    B: ResponseBody,
{
    let timeout = shared.config.header_read_timeout;
    let head_timer = tokio::time::sleep(timeout);
    tokio::pin!(head_timer);
    let mut timing = true;
    loop {
        tokio::select! {
            result = conn.as_mut() => return Driven::Ended(result),
            () = head_timer.as_mut(), if timing => {
                match clock.check(Instant::now(), timeout) {
                    Check::TimedOut => {
                        debug!(remote = %info.remote, "header read timeout");
                        return Driven::HeadTimedOut;
                    }
                    Check::RearmAt(at) => head_timer.as_mut().reset(at),
                    Check::Exempt => timing = false,
                }
            }
            () = shared.shutdown.cancelled() => return Driven::ShuttingDown,
        }
    }
}

/// Step 4: shuts the connection down gracefully (HTTP/1 closes after the current
/// response, HTTP/2 sends GOAWAY) and polls it until it ends, or until the drain
/// timeout forces it closed (`None`).
async fn drain<S, B>(
    mut conn: Pin<&mut Connection<'_, S>>,
    shared: &Shared,
) -> Option<Result<(), BoxError>>
where
    S: ConnService<B>,
    B: ResponseBody,
{
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        result = conn.as_mut() => Some(result),
        () = shared.force.cancelled() => None,
    }
}
