//! The origin side of an endpoint: its listener and its accept loop, which hands
//! each connection to the server the endpoint's connector names.

use std::io;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

use super::pipeline::EndpointCtx;
use super::registry::Shared;
use super::{hyper_server, raw_server};
use crate::fault::ServerConnector;
use crate::handler::BoxHandler;
use crate::record::{ConnectionId, EndpointRef};

/// Binds `127.0.0.1:0` and starts accepting; `name` defaults to `endpoint-<n>`.
pub(crate) async fn start(
    shared: Arc<Shared>,
    name: Option<String>,
    handler: Option<BoxHandler>,
    connector: ServerConnector,
) -> io::Result<Arc<EndpointCtx>> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let id = shared.next_endpoint_id();
    let endpoint = EndpointRef {
        id,
        name: name.unwrap_or_else(|| format!("endpoint-{}", id.0)),
        addr,
    };
    let ctx = Arc::new(EndpointCtx::new(shared, endpoint, handler, connector));
    tokio::spawn(accept_loop(listener, Arc::clone(&ctx)));
    Ok(ctx)
}

async fn accept_loop(listener: TcpListener, ctx: Arc<EndpointCtx>) {
    loop {
        let accepted = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let conn = ctx.shared.next_connection_id();
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let cancel = ctx.cancel.clone();
            tokio::select! {
                () = cancel.cancelled() => {}
                () = serve_connection(stream, ctx, conn) => {}
            }
        });
    }
}

async fn serve_connection(stream: TcpStream, ctx: Arc<EndpointCtx>, conn: ConnectionId) {
    match ctx.connector {
        ServerConnector::Hyper => hyper_server::serve(stream, ctx, conn).await,
        ServerConnector::Raw => raw_server::serve(stream, ctx, conn).await,
        ServerConnector::AcceptThenClose { reset } => {
            if reset {
                let _ = stream.set_zero_linger();
            }
            drop(stream);
        }
        ServerConnector::AcceptThenHang => {
            let _keep = stream;
            std::future::pending::<()>().await;
        }
    }
}
