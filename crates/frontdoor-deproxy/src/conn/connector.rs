//! [`Connector`]: how an endpoint talks on the connections it accepts.

use tokio::net::TcpStream;

use super::connection::Connection;
use crate::handler::BoxFuture;

/// Serves the connections an endpoint accepts: reads requests off the stream,
/// hands each to the endpoint with [`Connection::handle`], and sends the
/// [`Reply`](crate::Reply) back, as it likes (Deproxy's server connector).
///
/// The built-in connectors implement it: [`HyperConnector`](crate::HyperConnector)
/// (the default), [`RawConnector`](crate::RawConnector), and
/// [`ServerConnector`](crate::ServerConnector), which names them and the
/// endpoint-level faults. A custom connector usually reads requests with
/// [`Connection::read_request`] and writes heads with
/// [`wire::response_head`](crate::wire::response_head):
///
/// ```
/// use frontdoor_deproxy::{wire, BoxFuture, Connection, Connector, Deproxy};
/// use tokio::io::AsyncWriteExt;
/// use tokio::net::TcpStream;
///
/// /// Answers every request, then closes the connection.
/// #[derive(Debug)]
/// struct OneShot;
///
/// impl Connector for OneShot {
///     fn serve(&self, mut stream: TcpStream, conn: Connection) -> BoxFuture<()> {
///         Box::pin(async move {
///             let mut buf = bytes::BytesMut::new();
///             if let Ok(Some(req)) = conn.read_request(&mut stream, &mut buf).await {
///                 let reply = conn.handle(req).await;
///                 let head = wire::response_head(&reply.response);
///                 let _ = stream.write_all(&head).await;
///                 let _ = stream.write_all(reply.response.body()).await;
///             }
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let deproxy = Deproxy::new();
/// let origin = deproxy.endpoint().connector(OneShot).start().await?;
/// let chain = deproxy.make_request(origin.url()).send().await;
/// assert_eq!(chain.status(), Some(200));
/// assert_eq!(chain.single_handling().seq_on_connection, 0);
/// # Ok(())
/// # }
/// ```
///
/// The endpoint aborts `serve`'s future when it shuts down (or its `Deproxy`
/// is dropped), so a connector may wait forever.
pub trait Connector: std::fmt::Debug + Send + Sync + 'static {
    /// Serves one accepted connection until it ends.
    fn serve(&self, stream: TcpStream, conn: Connection) -> BoxFuture<()>;
}
