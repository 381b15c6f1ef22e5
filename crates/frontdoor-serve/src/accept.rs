//! The accept loop: one per listener, spawning a task per connection.

use std::{io, time::Duration};

use frontdoor_core::ConnInfo;
use tokio::net::TcpListener;
use tracing::{debug, warn};

use crate::{
    bounds::{ConnService, ResponseBody},
    connection::serve_connection,
    shared::Shared,
    transport::Transport,
};

/// Accepts connections on `listener` until shutdown, each once a connection-limit
/// permit is free, and serves each (after a TLS handshake, for a TLS `transport`) on
/// its own tracked task.
pub(super) async fn accept_loop<S, B>(
    listener: TcpListener,
    transport: Transport,
    service: S,
    shared: Shared,
) where
    S: ConnService<B>,
    B: ResponseBody,
{
    let Ok(listen_addr) = listener.local_addr() else {
        return;
    };
    loop {
        let permit = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => return,
            permit = shared.limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (stream, remote) = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection errors (reset before accept) are routine; others
                    // (EMFILE) deserve a pause so the loop does not spin.
                    if !is_connection_error(&error) {
                        warn!(%error, addr = %listen_addr, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let local = stream.local_addr().unwrap_or(listen_addr);
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "set_nodelay failed");
        }
        let info = ConnInfo::new(local, remote);
        shared.tracker.spawn(serve_connection(
            stream,
            info,
            transport.clone(),
            service.clone(),
            shared.clone(),
            permit,
        ));
    }
}

/// An accept error that concerns one connection only (it was reset before accept).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
