//! A test harness for HTTP proxies, after Deproxy: one object plays both the
//! client and the origin servers, so a test can assert what the proxy changed
//! in the request, what it changed in the response, whether a request reached
//! an origin at all, and on which upstream connection.
//!
//! It works with any proxy that listens on TCP: nothing here depends on the
//! rest of the workspace, and the public API speaks plain [`http`] types.
//!
//! # Model
//!
//! - A [`Deproxy`] owns **endpoints** ([`Endpoint`]): mock origins on
//!   `127.0.0.1:0` or a given address ([`EndpointBuilder::addr`]), each with an
//!   optional default [`Handler`], each served by a **connector**
//!   ([`Connector`]) that reads requests off its connections and hands them
//!   to the endpoint through a [`Connection`].
//! - [`Deproxy::make_request`] builds a request ([`RequestBuilder`]), tags it
//!   with a `Deproxy-Request-ID` header ([`REQUEST_ID_HEADER`]), sends it to
//!   the proxy and returns a [`MessageChain`]: the request as sent, the
//!   response as received, and every [`Handling`] (endpoint, request as the
//!   origin received it, response as the origin sent it, connection id) in
//!   arrival order, plus the *orphaned* handlings (requests without a known
//!   ID seen while the chain was open). Each request opens its own connection
//!   (TLS for `https` URLs, trusting the CAs given to
//!   [`DeproxyBuilder::trust`]), or goes over a [`ClientConnection`] kept open
//!   across requests ([`RequestBuilder::connection`]).
//! - The proxy must forward the `Deproxy-Request-ID` header for handlings to
//!   be attached to their chain; otherwise they are orphans.
//! - The chain is registered before connecting and closed after the response,
//!   or later with [`RequestBuilder::until_handlings`] so that a retry or a
//!   mirrored request arriving after the response is still attached. Any
//!   handling for an already closed chain lands in [`Deproxy::late_handlings`].
//!
//! # Handler resolution
//!
//! An endpoint picks the handler for a request in this order (Deproxy's rule):
//!
//! 1. the chain's handler for this endpoint ([`RequestBuilder::handler_for`]);
//! 2. the chain's handler for this endpoint's name ([`RequestBuilder::handler_for_name`]);
//! 3. the chain's default handler ([`RequestBuilder::default_handler`]);
//! 4. the endpoint's handler ([`EndpointBuilder::handler`]);
//! 5. the Deproxy's default handler ([`DeproxyBuilder::default_handler`]);
//! 6. [`handlers::simple`] (200, empty body).
//!
//! Requests without a known ID start at step 4. The endpoint then adds
//! `Server`, `Date` and `Content-Length` when missing (unless
//! [`Reply::no_default_headers`]) and always echoes the ID header.
//!
//! # Features
//!
//! | Feature | Where |
//! | --- | --- |
//! | endpoints on `127.0.0.1:0` or a given address, hyper HTTP/1.1 with upgrades | [`Deproxy::endpoint`], [`EndpointBuilder::addr`], [`HyperConnector`] |
//! | custom connectors, handing requests to their endpoint (Deproxy's `SlowResponseServerConnector`) | [`Connector`], [`Connection::handle`], [`Connection::read_request`], [`wire::response_head`] |
//! | an `https` client trusting given CAs, a given SNI name | [`DeproxyBuilder::trust`], [`DeproxyBuilder::tls_config`], [`RequestBuilder::tls_server_name`], [`ClientError::Tls`] |
//! | one client connection across requests (the endpoint sees one connection) | [`ClientConnection`], [`RequestBuilder::connection`] |
//! | async closures as handlers; canned handlers (simple, status, echo, delay, route, redirect, cookie, upgrade/echo, latch, sequence) | [`Handler`], [`handlers`] |
//! | message chains, handlings, orphans, late handlings, connection ids | [`MessageChain`], [`Handling`], [`ConnectionId`] |
//! | bounded wait for late handlings (mirrors, retries) | [`RequestBuilder::until_handlings`] |
//! | origin faults: slow headers, hangs, closes, resets, trickle, garbage, lying `Content-Length`, bare LF | [`Fault`], [`RawConnector`] |
//! | the built-in connectors by name; endpoint faults with no handling: accept then close/reset, accept then hang | [`ServerConnector`] |
//! | client faults: disconnect after send, slow upload, partial request, half close | [`ClientFault`], [`Signal`] |
//! | raw request bytes, raw response bytes, pipelining | [`RequestBuilder::raw`], [`MessageChain::raw_response`], [`RequestBuilder::expect_responses`] |
//! | a request-smuggling corpus with the acceptable answers | [`smuggling::corpus`] |
//!
//! # Example
//!
//! A real test would point `make_request` at the proxy under test; here the
//! client talks to the endpoint directly so the example is self-contained.
//!
//! ```
//! use bytes::Bytes;
//! use frontdoor_deproxy::{handlers, Deproxy, Reply};
//! use http::Request;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let deproxy = Deproxy::new();
//! let origin = deproxy
//!     .endpoint()
//!     .name("origin")
//!     .handler(|req: Request<Bytes>| async move {
//!         Reply::text(201, format!("hello {}", req.uri().path())).header("x-origin", "yes")
//!     })
//!     .start()
//!     .await?;
//!
//! // `origin.url()` would be the proxy's URL in a real test.
//! let chain = deproxy
//!     .make_request(format!("{}/world", origin.url()))
//!     .header("x-test", "1")
//!     .send()
//!     .await;
//!
//! let response = chain.received_response.as_ref().expect("a response");
//! assert_eq!(response.status(), 201);
//! assert_eq!(response.body(), "hello /world");
//! let handling = chain.single_handling();
//! assert_eq!(handling.endpoint.name, "origin");
//! assert_eq!(handling.request.headers()["x-test"], "1");
//! assert_eq!(handling.response.headers()["x-origin"], "yes");
//! assert!(chain.orphaned_handlings.is_empty());
//!
//! // Per-request handlers override the endpoint's.
//! let chain = deproxy
//!     .make_request(origin.url())
//!     .handler_for(&origin, handlers::status(503))
//!     .send()
//!     .await;
//! assert_eq!(chain.status(), Some(503));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

/// The TLS library of the client's `https` support, for its certificate and
/// config types ([`DeproxyBuilder::trust`], [`DeproxyBuilder::tls_config`]).
pub use rustls;

// Modules, top to bottom; each imports only modules below it.
//
// - public API: `deproxy` (Deproxy), `endpoint`, `request` (RequestBuilder),
//   `chain` (MessageChain), `handlers` (canned handlers);
// - `conn`: connections (registry, accept loops, the connector trait and the
//   per-connection handle, hyper and raw connectors, the client exchange and
//   its transport: TLS, kept connections);
// - data: `handler` (Handler, Reply), `record` (Handling, ids, ClientError),
//   `fault` (Fault, ServerConnector, ClientFault, Signal), `consts`, `wire`,
//   `smuggling`.
mod chain;
mod conn;
mod consts;
mod deproxy;
mod endpoint;
mod fault;
mod handler;
pub mod handlers;
mod record;
mod request;
pub mod smuggling;
pub mod wire;

pub use crate::chain::MessageChain;
pub use crate::conn::connection::Connection;
pub use crate::conn::connector::Connector;
pub use crate::conn::hyper_server::HyperConnector;
pub use crate::conn::raw_server::RawConnector;
pub use crate::conn::transport::ClientConnection;
pub use crate::consts::{DEFAULT_MAX_BODY, REQUEST_ID_HEADER, VERSION_STRING};
pub use crate::deproxy::{Deproxy, DeproxyBuilder};
pub use crate::endpoint::{Endpoint, EndpointBuilder};
pub use crate::fault::{ClientFault, Fault, ServerConnector, Signal};
pub use crate::handler::{BoxFuture, BoxHandler, Handler, Reply};
pub use crate::record::{ClientError, ConnectionId, EndpointId, EndpointRef, Handling};
pub use crate::request::RequestBuilder;

#[cfg(test)]
mod assertions {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        send_sync::<super::Deproxy>();
        send_sync::<super::Endpoint>();
        send_sync::<super::BoxHandler>();
        send_sync::<super::MessageChain>();
        send_sync::<super::Handling>();
        send_sync::<super::Signal>();
        send_sync::<super::Connection>();
        send_sync::<super::ClientConnection>();
        send_sync::<super::HyperConnector>();
        send_sync::<super::RawConnector>();
    }
}
