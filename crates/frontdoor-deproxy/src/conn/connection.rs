//! [`Connection`]: what a connector holds for one accepted connection, its way
//! into the endpoint's pipeline.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::Request;
use tokio::io::AsyncRead;

use super::pipeline::EndpointCtx;
use crate::consts::MAX_HEAD;
use crate::handler::Reply;
use crate::record::{ConnectionId, EndpointRef};
use crate::wire::{self, HeadError};

/// One connection an endpoint accepted, as its [`Connector`](crate::Connector)
/// sees it: the way to hand requests to the endpoint.
///
/// [`handle`](Self::handle) runs the endpoint's pipeline exactly as for the
/// built-in connectors: correlate the request with its chain by its
/// `Deproxy-Request-ID`, resolve and call the handler, add the default headers
/// and the ID echo, record the [`Handling`](crate::Handling) (under this
/// connection's id, numbered in order), and return the [`Reply`] for the
/// connector to send however it likes. Cheap to clone; the clones share the
/// connection's request numbering.
#[derive(Clone)]
pub struct Connection {
    ctx: Arc<EndpointCtx>,
    id: ConnectionId,
    state: Arc<ConnState>,
}

/// What the clones of one [`Connection`] share.
#[derive(Debug, Default)]
struct ConnState {
    /// The next request's number on this connection.
    seq: AtomicU32,
    /// A head was counted by `head_seen` and its request not handled yet.
    head_counted: AtomicBool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("endpoint", &self.ctx.endpoint.name)
            .finish_non_exhaustive()
    }
}

// === impl Connection ===

impl Connection {
    /// The handle of connection `id` of the endpoint `ctx`.
    pub(crate) fn new(ctx: Arc<EndpointCtx>, id: ConnectionId) -> Self {
        Self {
            ctx,
            id,
            state: Arc::default(),
        }
    }

    /// This connection's id, as its handlings record it.
    #[must_use]
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// The endpoint that accepted the connection.
    #[must_use]
    pub fn endpoint(&self) -> &EndpointRef {
        &self.ctx.endpoint
    }

    /// The Deproxy's cap on buffered bodies
    /// ([`DeproxyBuilder::max_body`](crate::DeproxyBuilder::max_body)).
    #[must_use]
    pub fn max_body(&self) -> usize {
        self.ctx.shared.max_body
    }

    /// Counts a request head in
    /// [`Endpoint::requests_seen`](crate::Endpoint::requests_seen) before its
    /// body is read, so a request whose body never completes is counted too.
    /// Optional: [`handle`](Self::handle) counts a request not counted here.
    pub fn head_seen(&self) {
        self.ctx.saw_head();
        self.state.head_counted.store(true, Ordering::Relaxed);
    }

    /// Counts a close by the peer in
    /// [`Endpoint::peer_closes`](crate::Endpoint::peer_closes): a connector
    /// that stalls calls it when the proxy gives up on it.
    pub fn peer_closed(&self) {
        self.ctx.peer_closed();
    }

    /// Reads one request (head and body, chunked bodies de-chunked) with the
    /// harness's lenient HTTP/1.x reader, counting its head. `buf` keeps the
    /// bytes read past the request for the next call; pass the same buffer
    /// for every request of the connection.
    ///
    /// Returns `Ok(None)` when the peer closes before a byte of a new request.
    ///
    /// # Errors
    /// `InvalidData` for a malformed or oversized head or body, `UnexpectedEof`
    /// for a request cut short, or the stream's own error.
    pub async fn read_request<R: AsyncRead + Unpin>(
        &self,
        stream: &mut R,
        buf: &mut BytesMut,
    ) -> io::Result<Option<Request<Bytes>>> {
        match wire::read_request(stream, buf, MAX_HEAD, self.max_body()).await {
            Ok(Some(req)) => {
                self.head_seen();
                Ok(Some(req))
            }
            Ok(None) => Ok(None),
            Err(HeadError::Io(e)) => Err(e),
            Err(e @ (HeadError::Eof | HeadError::Truncated)) => {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()))
            }
            Err(e @ (HeadError::Invalid(_) | HeadError::TooLarge)) => {
                Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
            }
        }
    }

    /// Hands `req` to the endpoint and returns its reply; the handling is
    /// recorded before this returns, so before any response byte is sent.
    pub async fn handle(&self, req: Request<Bytes>) -> Reply {
        if !self.state.head_counted.swap(false, Ordering::Relaxed) {
            self.ctx.saw_head();
        }
        let seq = self.state.seq.fetch_add(1, Ordering::Relaxed);
        self.ctx.handle(req, self.id, seq).await
    }
}
