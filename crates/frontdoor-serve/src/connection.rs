//! One accepted connection, in steps: read its PROXY protocol header (when
//! configured), take its per-address slot, do the TLS handshake (on a TLS listener,
//! `tls/`), then serve HTTP over it (`http_conn.rs`).

use bytes::Bytes;
use frontdoor_core::ConnInfo;
use tokio::{net::TcpStream, sync::OwnedSemaphorePermit, time::Instant};
use tracing::debug;

#[cfg(feature = "tls")]
use crate::tls;
use crate::{
    bounds::{ConnService, ResponseBody},
    clock::ConnClock,
    conn_io::Held,
    http_conn::{conn_io, serve_http, Protocol},
    proxy_protocol::{read_header, ProxyFailure, Rewind},
    shared::Shared,
    transport::Transport,
};

/// Serves one accepted connection (after a TLS handshake for a TLS `transport`);
/// `permit` holds its place under the connection limit until it closes (upgraded or
/// not).
pub(crate) async fn serve_connection<S, B>(
    mut stream: TcpStream,
    info: ConnInfo,
    transport: Transport,
    service: S,
    shared: Shared,
    permit: OwnedSemaphorePermit,
) where
    S: ConnService<B>,
    B: ResponseBody,
{
    let accepted = Instant::now();
    let Some((info, prefix)) = proxy_header(&mut stream, info, accepted, &shared).await else {
        return;
    };
    let Ok(slot) = shared.per_ip.acquire(info.remote.ip()) else {
        debug!(remote = %info.remote, "per-address connection limit reached: closing");
        return;
    };
    let held = Held {
        permit,
        slot,
        tracked: shared.tracker.token(),
    };
    let stream = Rewind::new(stream, prefix);
    match transport {
        Transport::Plain => {
            let clock = ConnClock::new(accepted);
            let io = conn_io(stream, &clock, held, &shared);
            serve_http(io, clock, info, Protocol::Detect, service, &shared).await;
        }
        // The handshake reads the bytes that came after the PROXY header, under its
        // own deadline; the clock starts at its end.
        #[cfg(feature = "tls")]
        Transport::Tls(acceptor) => {
            tls::serve_connection(stream, info, &acceptor, held, service, &shared).await;
        }
    }
}

/// With `proxy_protocol`, reads the PROXY header within the header timeout
/// (from accept); the connection info with the client's address and the bytes read
/// past the header. `None` when the connection is to be closed: no valid header in
/// time, or shutdown began.
async fn proxy_header(
    stream: &mut TcpStream,
    info: ConnInfo,
    accepted: Instant,
    shared: &Shared,
) -> Option<(ConnInfo, Bytes)> {
    if !shared.config.proxy_protocol {
        return Some((info, Bytes::new()));
    }
    let deadline = accepted + shared.config.header_read_timeout;
    let read = tokio::time::timeout_at(deadline, read_header(stream, info));
    let outcome = tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => return None,
        outcome = read => outcome,
    };
    match outcome {
        Ok(Ok(read)) => Some(read),
        Ok(Err(ProxyFailure::Invalid(e))) => {
            debug!(remote = %info.remote, error = %e, "closing connection");
            None
        }
        Ok(Err(ProxyFailure::Closed)) => None,
        Err(_) => {
            debug!(remote = %info.remote, "no PROXY protocol header within the header timeout");
            None
        }
    }
}
