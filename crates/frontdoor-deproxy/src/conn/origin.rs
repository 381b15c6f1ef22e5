//! The origin side of an endpoint: its listener and its accept loop, which hands
//! each connection to the endpoint's connector; and the built-in connectors by
//! name ([`ServerConnector`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

use super::connection::Connection;
use super::connector::Connector;
use super::hyper_server::HyperConnector;
use super::pipeline::EndpointCtx;
use super::raw_server::RawConnector;
use super::registry::Shared;
use crate::fault::ServerConnector;
use crate::handler::{BoxFuture, BoxHandler};
use crate::record::EndpointRef;

/// What an endpoint is made of, as its builder left it.
pub(crate) struct Spec {
    pub(crate) addr: SocketAddr,
    pub(crate) name: Option<String>,
    pub(crate) handler: Option<BoxHandler>,
    pub(crate) connector: Arc<dyn Connector>,
}

/// Binds `spec.addr` and starts accepting; the name defaults to `endpoint-<n>`.
pub(crate) async fn start(shared: Arc<Shared>, spec: Spec) -> io::Result<Arc<EndpointCtx>> {
    let listener = TcpListener::bind(spec.addr).await?;
    let addr = listener.local_addr()?;
    let id = shared.next_endpoint_id();
    let endpoint = EndpointRef {
        id,
        name: spec.name.unwrap_or_else(|| format!("endpoint-{}", id.0)),
        addr,
    };
    let described = format!("{:?}", spec.connector);
    let ctx = Arc::new(EndpointCtx::new(shared, endpoint, spec.handler, described));
    tokio::spawn(accept_loop(listener, Arc::clone(&ctx), spec.connector));
    Ok(ctx)
}

async fn accept_loop(listener: TcpListener, ctx: Arc<EndpointCtx>, connector: Arc<dyn Connector>) {
    loop {
        let accepted = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let conn = Connection::new(Arc::clone(&ctx), ctx.shared.next_connection_id());
        let serving = connector.serve(stream, conn);
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = serving => {}
            }
        });
    }
}

// === impl ServerConnector ===

impl Connector for ServerConnector {
    fn serve(&self, stream: TcpStream, conn: Connection) -> BoxFuture<()> {
        match *self {
            Self::Hyper => HyperConnector.serve(stream, conn),
            Self::Raw => RawConnector.serve(stream, conn),
            Self::AcceptThenClose { reset } => Box::pin(async move {
                if reset {
                    let _ = stream.set_zero_linger();
                }
                drop(stream);
            }),
            Self::AcceptThenHang => Box::pin(async move {
                let _keep = stream;
                std::future::pending::<()>().await;
            }),
        }
    }
}
