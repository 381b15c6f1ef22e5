//! What one [`make_request`](crate::Deproxy::make_request) call saw: the
//! [`MessageChain`].

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};

use crate::endpoint::Endpoint;
use crate::record::{ClientError, Handling};

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
    pub fn handlings_at(&self, endpoint: &Endpoint) -> Vec<&Handling> {
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
