//! The client side: [`RequestBuilder`], from `make_request` to the
//! [`MessageChain`].

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, USER_AGENT};
use http::uri::Scheme;
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use rustls::pki_types::ServerName;

use crate::chain::MessageChain;
use crate::conn::client::{self, Exchange, Outcome};
use crate::conn::registry::{ChainState, Shared};
use crate::conn::transport::{ClientConnection, Target};
use crate::consts::VERSION_STRING;
use crate::endpoint::Endpoint;
use crate::fault::ClientFault;
use crate::handler::{BoxHandler, Handler};
use crate::record::{ClientError, EndpointId};
use crate::wire;

type Headers = Vec<(HeaderName, HeaderValue)>;

/// Builds and sends one request through the proxy; see
/// [`Deproxy::make_request`](crate::Deproxy::make_request).
///
/// The request is tagged with a `Deproxy-Request-ID` header (unless it
/// already carries one, in which case the chain is registered under that
/// value), the chain is registered **before** connecting, and every handling
/// that carries the ID is attached to it.
#[must_use]
pub struct RequestBuilder<'d> {
    shared: &'d Shared,
    url: String,
    method: Method,
    target: Option<String>,
    headers: Headers,
    body: Bytes,
    chunked: bool,
    add_default_headers: bool,
    default_handler: Option<BoxHandler>,
    by_endpoint: Vec<(EndpointId, BoxHandler)>,
    by_name: Vec<(String, BoxHandler)>,
    timeout: Option<Duration>,
    until: Option<(usize, Duration)>,
    raw: Option<Bytes>,
    request_id: Option<String>,
    expect_responses: usize,
    fault: Option<ClientFault>,
    connection: Option<ClientConnection>,
    tls_server_name: Option<String>,
}

impl std::fmt::Debug for RequestBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("url", &self.url)
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("raw", &self.raw)
            .field("fault", &self.fault)
            .finish_non_exhaustive()
    }
}

impl<'d> RequestBuilder<'d> {
    pub(crate) fn new(shared: &'d Shared, url: String) -> Self {
        Self {
            shared,
            url,
            method: Method::GET,
            target: None,
            headers: Vec::new(),
            body: Bytes::new(),
            chunked: false,
            add_default_headers: true,
            default_handler: None,
            by_endpoint: Vec::new(),
            by_name: Vec::new(),
            timeout: None,
            until: None,
            raw: None,
            request_id: None,
            expect_responses: 1,
            fault: None,
            connection: None,
            tls_server_name: None,
        }
    }

    /// The method (default `GET`).
    pub fn method(mut self, m: Method) -> Self {
        self.method = m;
        self
    }

    /// The request-target written on the request line, overriding the URL's
    /// path and query. Not validated: anything goes, including absolute form.
    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target = Some(t.into());
        self
    }

    /// Appends a header; duplicates are kept in order. Invalid names or values
    /// are ignored (use [`raw`](Self::raw) for those).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.push((n, v));
        }
        self
    }

    /// The request body.
    pub fn body(mut self, b: impl Into<Bytes>) -> Self {
        self.body = b.into();
        self
    }

    /// Sends the body with `Transfer-Encoding: chunked` (one chunk).
    pub fn chunked(mut self, on: bool) -> Self {
        self.chunked = on;
        self
    }

    /// Whether to add `Host`, `Accept`, `Accept-Encoding`, `User-Agent` and
    /// body framing when missing (default `true`). Without it, a body is sent
    /// with no framing header at all, exactly as in Deproxy.
    pub fn add_default_headers(mut self, on: bool) -> Self {
        self.add_default_headers = on;
        self
    }

    /// The per-request default handler (resolution step 3).
    pub fn default_handler(mut self, h: impl Handler) -> Self {
        self.default_handler = Some(BoxHandler::new(h));
        self
    }

    /// The handler `endpoint` uses for this request (resolution step 1).
    pub fn handler_for(mut self, endpoint: &Endpoint, h: impl Handler) -> Self {
        self.by_endpoint.push((endpoint.id(), BoxHandler::new(h)));
        self
    }

    /// The handler the endpoint named `name` uses for this request (step 2).
    pub fn handler_for_name(mut self, name: impl Into<String>, h: impl Handler) -> Self {
        self.by_name.push((name.into(), BoxHandler::new(h)));
        self
    }

    /// Bounds the whole client exchange (default: the Deproxy's request timeout).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// After the response, keep the chain open until `n` handlings arrived or
    /// `max_wait` passed, so late traffic (mirrors, retries) is attached.
    pub fn until_handlings(mut self, n: usize, max_wait: Duration) -> Self {
        self.until = Some((n, max_wait));
        self
    }

    /// Sends exactly these bytes instead of building a request. The URL only
    /// gives the address to connect to; no header is added, not even the ID
    /// (so handlings show up as orphans unless the bytes carry the ID from
    /// [`request_id`](Self::request_id)).
    pub fn raw(mut self, bytes: impl Into<Bytes>) -> Self {
        self.raw = Some(bytes.into());
        self
    }

    /// Registers the chain under this ID (and sends it, unless raw).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Read this many responses before stopping (for pipelined raw requests; default 1).
    pub fn expect_responses(mut self, n: usize) -> Self {
        self.expect_responses = n;
        self
    }

    /// Injects a client-side fault.
    pub fn fault(mut self, f: ClientFault) -> Self {
        self.fault = Some(f);
        self
    }

    /// Sends the request over `connection`, kept open across requests (see
    /// [`ClientConnection`] for when it is reopened), instead of a connection
    /// of its own that closes after the response.
    pub fn connection(mut self, connection: &ClientConnection) -> Self {
        self.connection = Some(connection.clone());
        self
    }

    /// The name an `https` request's TLS handshake sends (SNI) and verifies
    /// the certificate against, instead of the URL's host: to connect to
    /// `127.0.0.1` and ask for `example.test`.
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// Sends the request and returns the chain. Never panics: failures are in
    /// [`MessageChain::client_error`].
    pub async fn send(mut self) -> MessageChain {
        let start = Instant::now();
        let shared = self.shared;
        let uri = self.url.parse::<Uri>().ok();
        let id = self.tag_with_id();
        let wire = self.compose(uri.as_ref());

        let chain = Arc::new(ChainState::new(
            std::mem::take(&mut self.by_endpoint).into_iter().collect(),
            std::mem::take(&mut self.by_name).into_iter().collect(),
            self.default_handler.take(),
        ));
        shared.open_chain(id.clone(), Arc::clone(&chain));
        let out = self.exchange(uri.as_ref(), &wire).await;
        let elapsed = start.elapsed();
        if let Some((n, max_wait)) = self.until {
            chain.wait_for_handlings(n, max_wait).await;
        }
        shared.close_chain(&id);

        let (handlings, orphaned_handlings) = chain.take_handlings();
        let mut responses = out.responses.into_iter();
        MessageChain {
            request_id: id,
            sent_request: wire.request,
            sent_bytes: wire.bytes,
            received_response: responses.next(),
            pipelined_responses: responses.collect(),
            raw_response: out.raw.freeze(),
            client_error: out.error,
            handlings,
            orphaned_handlings,
            elapsed,
        }
    }

    // --- the steps of `send` ---

    /// The chain's ID: the one asked for, else the one the headers carry, else
    /// a fresh one; added to the headers when they carry none.
    fn tag_with_id(&mut self) -> String {
        let id_header = &self.shared.id_header;
        let carried = self.headers.iter().find(|(n, _)| n == id_header);
        let id = self
            .request_id
            .clone()
            .or_else(|| carried.and_then(|(_, v)| v.to_str().ok().map(str::to_owned)))
            .unwrap_or_else(|| self.shared.new_request_id());
        if carried.is_none() {
            if let Ok(v) = HeaderValue::from_str(&id) {
                self.headers.push((id_header.clone(), v));
            }
        }
        id
    }

    /// The bytes to send and the request as recorded: the raw bytes as given,
    /// or the request built from the builder with its default headers.
    fn compose(&mut self, uri: Option<&Uri>) -> Wire {
        if let Some(raw) = self.raw.take() {
            return Wire {
                request: wire::parse_request_lenient(&raw),
                bytes: raw,
                head_len: 0,
            };
        }
        let target = self.target.take().unwrap_or_else(|| {
            uri.and_then(Uri::path_and_query)
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
        });
        if self.add_default_headers {
            self.add_defaults(uri);
        }
        if self.chunked && !has(&self.headers, &TRANSFER_ENCODING) {
            self.headers
                .push((TRANSFER_ENCODING, HeaderValue::from_static("chunked")));
        }
        let mut bytes = wire::request_head_bytes(self.method.as_str(), &target, &self.headers);
        let head_len = bytes.len();
        if self.chunked {
            bytes.extend_from_slice(&wire::chunk(&self.body));
        } else {
            bytes.extend_from_slice(&self.body);
        }
        Wire {
            bytes: Bytes::from(bytes),
            head_len,
            request: Some(self.as_sent(&target)),
        }
    }

    /// Adds `Host`, `Accept`, `Accept-Encoding`, `User-Agent` and the body
    /// length when missing.
    fn add_defaults(&mut self, uri: Option<&Uri>) {
        let headers = &mut self.headers;
        if !has(headers, &HOST) {
            if let Some(a) = uri.and_then(Uri::authority) {
                if let Ok(v) = HeaderValue::from_str(a.as_str()) {
                    headers.push((HOST, v));
                }
            }
        }
        if !has(headers, &ACCEPT) {
            headers.push((ACCEPT, HeaderValue::from_static("*/*")));
        }
        if !has(headers, &ACCEPT_ENCODING) {
            headers.push((ACCEPT_ENCODING, HeaderValue::from_static("identity")));
        }
        if !has(headers, &USER_AGENT) {
            headers.push((USER_AGENT, HeaderValue::from_static(VERSION_STRING)));
        }
        if !self.body.is_empty()
            && !self.chunked
            && !has(headers, &CONTENT_LENGTH)
            && !has(headers, &TRANSFER_ENCODING)
        {
            headers.push((CONTENT_LENGTH, HeaderValue::from(self.body.len())));
        }
    }

    /// The built request as the record shows it.
    fn as_sent(&self, target: &str) -> Request<Bytes> {
        let mut req = Request::new(self.body.clone());
        *req.method_mut() = self.method.clone();
        if let Ok(u) = target.parse() {
            *req.uri_mut() = u;
        }
        for (n, v) in &self.headers {
            req.headers_mut().append(n.clone(), v.clone());
        }
        req
    }

    /// Runs the exchange with the URL's authority, bounded by the timeout.
    async fn exchange(&self, uri: Option<&Uri>, wire: &Wire) -> Outcome {
        let mut out = Outcome::default();
        let target = match self.destination(uri) {
            Ok(target) => target,
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        };
        let method = wire
            .request
            .as_ref()
            .map_or(Method::GET, |r| r.method().clone());
        let exchange = Exchange {
            bytes: &wire.bytes,
            head_len: wire.head_len,
            method: &method,
            fault: self.fault.as_ref(),
            expect: self.expect_responses,
            max_body: self.shared.max_body,
            request_closes: wire
                .request
                .as_ref()
                .is_some_and(|r| client::closes(r.headers())),
        };
        let limit = self.timeout.unwrap_or(self.shared.request_timeout);
        let run = exchange.run(&target, self.connection.as_ref(), &mut out);
        if tokio::time::timeout(limit, run).await.is_err() {
            out.error = Some(ClientError::Timeout);
        }
        out
    }

    /// Where to connect: the URL's authority, with TLS for `https`.
    fn destination<'u>(&self, uri: Option<&'u Uri>) -> Result<Target<'u>, ClientError> {
        let invalid = || ClientError::Connect(format!("invalid url {:?}", self.url));
        let uri = uri.ok_or_else(invalid)?;
        let authority = uri.authority().ok_or_else(invalid)?;
        let https = uri.scheme() == Some(&Scheme::HTTPS);
        let tls = if https {
            let config = match &self.shared.tls {
                Some(Ok(config)) => Arc::clone(config),
                Some(Err(e)) => return Err(ClientError::Tls(e.clone())),
                None => {
                    return Err(ClientError::Tls(
                        "an https URL needs DeproxyBuilder::trust or tls_config".to_owned(),
                    ))
                }
            };
            let name = self
                .tls_server_name
                .as_deref()
                .unwrap_or(authority.host())
                .trim_start_matches('[')
                .trim_end_matches(']');
            let name = ServerName::try_from(name.to_owned())
                .map_err(|e| ClientError::Tls(format!("server name {name:?}: {e}")))?;
            Some((config, name))
        } else {
            None
        };
        Ok(Target {
            host: authority.host(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            tls,
        })
    }
}

/// A request ready for the wire.
struct Wire {
    /// Head and body.
    bytes: Bytes,
    /// How many of `bytes` are the head (0 for raw bytes).
    head_len: usize,
    /// The request as recorded (`None` for raw bytes that do not parse).
    request: Option<Request<Bytes>>,
}

fn has(headers: &Headers, name: &HeaderName) -> bool {
    headers.iter().any(|(k, _)| k == name)
}
