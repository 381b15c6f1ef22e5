//! The conformant server connector, built on hyper's HTTP/1.1 server.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::connection::Connection;
use super::connector::Connector;
use crate::fault::Fault;
use crate::handler::BoxFuture;

/// The default connector: hyper's conformant HTTP/1.1 server, upgrades
/// enabled. Only [`Fault::DelayHead`] can be honoured here; any other fault
/// closes the connection without a response (use
/// [`RawConnector`](crate::RawConnector) for those).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HyperConnector;

impl Connector for HyperConnector {
    fn serve(&self, stream: TcpStream, conn: Connection) -> BoxFuture<()> {
        Box::pin(serve(stream, conn))
    }
}

/// Serves one connection with hyper.
async fn serve(stream: TcpStream, conn: Connection) {
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let conn = conn.clone();
        async move {
            conn.head_seen();
            let (parts, body) = req.into_parts();
            let bytes = match Limited::new(body, conn.max_body()).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    let mut resp = Response::new(Full::new(Bytes::from_static(
                        b"request body exceeds the harness cap",
                    )));
                    *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                    return Ok(resp);
                }
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            };
            let reply = conn.handle(Request::from_parts(parts, bytes)).await;
            match reply.fault {
                None => {}
                Some(Fault::DelayHead(d)) => tokio::time::sleep(d).await,
                Some(other) => {
                    return Err(std::io::Error::other(format!(
                        "fault {other:?} needs ServerConnector::Raw; closing"
                    )))
                }
            }
            Ok::<_, std::io::Error>(reply.response.map(Full::new))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades()
        .await;
}
