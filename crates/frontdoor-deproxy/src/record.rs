//! What the harness records: handlings and message chains.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

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

/// Everything one [`make_request`](crate::Deproxy::make_request) call saw.
#[derive(Debug)]
#[non_exhaustive]
pub struct MessageChain {
    /// The value of the `Deproxy-Request-ID` header this chain is registered under.
    pub request_id: String,
    /// The request as sent, after default headers (`None` for raw requests
    /// that do not parse).
    pub sent_request: Option<Request<Bytes>>,
    /// The exact bytes written to the proxy (head and body).
    pub sent_bytes: Bytes,
    /// The first response received, if any. On [`ClientError::BodyAborted`]
    /// it holds the partial body.
    pub received_response: Option<Response<Bytes>>,
    /// Responses after the first, for pipelined raw requests
    /// ([`RequestBuilder::expect_responses`](crate::RequestBuilder::expect_responses)).
    pub pipelined_responses: Vec<Response<Bytes>>,
    /// Every byte read from the proxy.
    pub raw_response: Bytes,
    /// Why no complete response was received, if so.
    pub client_error: Option<ClientError>,
    /// Handlings whose request carried this chain's ID, in arrival order.
    pub handlings: Vec<Handling>,
    /// Handlings without a known ID recorded while this chain was open.
    pub orphaned_handlings: Vec<Handling>,
    /// Time from the start of `send` to the end of the response.
    pub elapsed: Duration,
}

impl MessageChain {
    /// The status of the received response, if any.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.received_response.as_ref().map(|r| r.status().as_u16())
    }

    /// The only handling; fails the test with a dump of the chain otherwise.
    #[must_use]
    pub fn single_handling(&self) -> &Handling {
        assert_eq!(
            self.handlings.len(),
            1,
            "expected exactly one handling in {self:#?}"
        );
        &self.handlings[0]
    }

    /// The handlings recorded by `endpoint`.
    #[must_use]
    pub fn handlings_at(&self, endpoint: &crate::Endpoint) -> Vec<&Handling> {
        self.handlings
            .iter()
            .filter(|h| h.endpoint.id == endpoint.id())
            .collect()
    }

    /// Fails the test if any endpoint saw this request, tracked or not.
    pub fn assert_not_forwarded(&self) {
        assert!(
            self.handlings.is_empty() && self.orphaned_handlings.is_empty(),
            "request reached an origin: {self:#?}"
        );
    }
}
