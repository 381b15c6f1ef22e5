//! What the endpoints record: handlings and the ids that name endpoints and
//! connections; and why a client exchange failed.

use std::fmt;
use std::net::SocketAddr;

use tokio::time::Instant;

use bytes::Bytes;
use http::{Request, Response};

use crate::fault::Fault;

/// Identifies one endpoint of a [`Deproxy`](crate::Deproxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub(crate) usize);

/// Identifies one TCP connection accepted by an endpoint.
///
/// Two handlings with the same id were served on the same upstream
/// connection, which is how a proxy's connection reuse is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub(crate) u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// Which endpoint recorded a handling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRef {
    /// The endpoint's id.
    pub id: EndpointId,
    /// The endpoint's name.
    pub name: String,
    /// The endpoint's listening address.
    pub addr: SocketAddr,
}

/// One request/response exchange seen by an endpoint.
///
/// It is recorded **before** any response byte is written, so a response
/// that is later lost on the wire (or deliberately broken by a [`Fault`])
/// still shows up here.
#[derive(Debug)]
pub struct Handling {
    /// The endpoint that saw the request.
    pub endpoint: EndpointRef,
    /// The request as the endpoint received it (body complete and de-chunked).
    pub request: Request<Bytes>,
    /// The response as the endpoint meant to send it, after default headers.
    pub response: Response<Bytes>,
    /// The fault injected while sending the response, if any.
    pub fault: Option<Fault>,
    /// The TCP connection the request arrived on.
    pub connection: ConnectionId,
    /// 0 for the first request on its connection, then 1, 2, ...
    pub seq_on_connection: u32,
    /// When the handling was recorded.
    pub recorded_at: Instant,
}

pub(crate) fn clone_request(req: &Request<Bytes>) -> Request<Bytes> {
    let mut out = Request::new(req.body().clone());
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
    *out.version_mut() = req.version();
    *out.headers_mut() = req.headers().clone();
    out
}

pub(crate) fn clone_response(resp: &Response<Bytes>) -> Response<Bytes> {
    let mut out = Response::new(resp.body().clone());
    *out.status_mut() = resp.status();
    *out.version_mut() = resp.version();
    *out.headers_mut() = resp.headers().clone();
    out
}

impl Clone for Handling {
    fn clone(&self) -> Self {
        Self {
            endpoint: self.endpoint.clone(),
            request: clone_request(&self.request),
            response: clone_response(&self.response),
            fault: self.fault.clone(),
            connection: self.connection,
            seq_on_connection: self.seq_on_connection,
            recorded_at: self.recorded_at,
        }
    }
}

/// Why the client side did not get a complete response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The TCP connect failed.
    Connect(String),
    /// The TLS handshake of an `https` request failed, or no TLS client is
    /// configured ([`DeproxyBuilder::trust`](crate::DeproxyBuilder::trust)).
    Tls(String),
    /// The exchange did not finish within the request timeout.
    Timeout,
    /// The peer closed the connection before a complete response head.
    ClosedBeforeResponse,
    /// The response head did not parse.
    InvalidResponse(String),
    /// The response head arrived but the body stopped early (the partial body
    /// is in `received_response`).
    BodyAborted(String),
    /// Another I/O error.
    Io(String),
    /// The client disconnected on purpose ([`ClientFault::DisconnectAfterSend`](crate::ClientFault::DisconnectAfterSend)).
    Disconnected,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect failed: {e}"),
            Self::Tls(e) => write!(f, "TLS failed: {e}"),
            Self::Timeout => f.write_str("timed out"),
            Self::ClosedBeforeResponse => f.write_str("connection closed before a response"),
            Self::InvalidResponse(e) => write!(f, "invalid response: {e}"),
            Self::BodyAborted(e) => write!(f, "response body aborted: {e}"),
            Self::Io(e) => write!(f, "i/o error: {e}"),
            Self::Disconnected => f.write_str("client disconnected on purpose"),
        }
    }
}

impl std::error::Error for ClientError {}
