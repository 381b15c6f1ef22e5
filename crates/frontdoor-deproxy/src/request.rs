//! The client side: `make_request`, client faults and raw requests.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, USER_AGENT};
use http::{HeaderName, HeaderValue, Method, Request, Response, Uri};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::deproxy::{ChainState, Deproxy, MAX_HEAD, VERSION_STRING};
use crate::handler::{BoxHandler, Handler};
use crate::record::{ClientError, MessageChain};
use crate::wire::{self, HeadError};
use crate::Endpoint;

/// A one-shot, clonable signal: a handler fires it, a client fault waits on it.
///
/// This is Deproxy's latch pattern: coordinate a client-side fault with
/// server-side progress, without sleeping. See [`handlers::latch`](crate::handlers::latch).
#[derive(Clone, Debug, Default)]
pub struct Signal(Arc<Notify>);

impl Signal {
    /// A signal not yet fired.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal that is already fired.
    #[must_use]
    pub fn fired() -> Self {
        let s = Self::default();
        s.fire();
        s
    }

    /// Fires the signal (the permit is kept if nobody waits yet).
    pub fn fire(&self) {
        self.0.notify_one();
    }

    /// Waits until the signal fires.
    pub async fn wait(&self) {
        self.0.notified().await;
    }
}

/// A way for the client to misbehave.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientFault {
    /// Send the whole request, wait for the signal, then close the connection
    /// without reading the response (Deproxy's `DisconnectConnector`).
    DisconnectAfterSend(Signal),
    /// Send the head at once, then the body `chunk` bytes at a time with
    /// `every` between chunks.
    SlowUpload {
        /// Bytes per write.
        chunk: usize,
        /// Pause between writes.
        every: Duration,
    },
    /// Send only the first `bytes` bytes of the request, then wait for an answer.
    Partial {
        /// How many bytes to send.
        bytes: usize,
    },
    /// Send the request, then shut down the write half, then read the answer.
    HalfClose,
}

/// Builds and sends one request through the proxy; see [`Deproxy::make_request`].
///
/// The request is tagged with a `Deproxy-Request-ID` header (unless it
/// already carries one, in which case the chain is registered under that
/// value), the chain is registered **before** connecting, and every handling
/// that carries the ID is attached to it.
#[must_use]
pub struct RequestBuilder<'d> {
    deproxy: &'d Deproxy,
    url: String,
    method: Method,
    target: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    chunked: bool,
    add_default_headers: bool,
    default_handler: Option<BoxHandler>,
    by_endpoint: Vec<(crate::EndpointId, BoxHandler)>,
    by_name: Vec<(String, BoxHandler)>,
    timeout: Option<Duration>,
    until: Option<(usize, Duration)>,
    raw: Option<Bytes>,
    request_id: Option<String>,
    expect_responses: usize,
    fault: Option<ClientFault>,
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
    pub(crate) fn new(deproxy: &'d Deproxy, url: String) -> Self {
        Self {
            deproxy,
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

    /// Sends the request and returns the chain. Never panics: failures are in
    /// [`MessageChain::client_error`].
    pub async fn send(self) -> MessageChain {
        let start = Instant::now();
        let shared = Arc::clone(&self.deproxy.shared);
        let id_header = shared.id_header.clone();
        let uri = self.url.parse::<Uri>().ok();
        let authority = uri
            .as_ref()
            .and_then(|u| u.authority())
            .map(|a| (a.host().to_owned(), a.port_u16().unwrap_or(80)));
        let mut headers = self.headers;
        let id = self
            .request_id
            .clone()
            .or_else(|| {
                headers
                    .iter()
                    .find(|(n, _)| *n == id_header)
                    .and_then(|(_, v)| v.to_str().ok().map(str::to_owned))
            })
            .unwrap_or_else(|| shared.new_request_id());
        if !headers.iter().any(|(n, _)| *n == id_header) {
            if let Ok(v) = HeaderValue::from_str(&id) {
                headers.push((id_header, v));
            }
        }
        let target = self.target.unwrap_or_else(|| {
            uri.as_ref()
                .and_then(|u| u.path_and_query())
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
        });
        let has = |hs: &[(HeaderName, HeaderValue)], n: &HeaderName| hs.iter().any(|(k, _)| k == n);
        if self.add_default_headers {
            if !has(&headers, &HOST) {
                if let Some(a) = uri.as_ref().and_then(|u| u.authority()) {
                    if let Ok(v) = HeaderValue::from_str(a.as_str()) {
                        headers.push((HOST, v));
                    }
                }
            }
            if !has(&headers, &ACCEPT) {
                headers.push((ACCEPT, HeaderValue::from_static("*/*")));
            }
            if !has(&headers, &ACCEPT_ENCODING) {
                headers.push((ACCEPT_ENCODING, HeaderValue::from_static("identity")));
            }
            if !has(&headers, &USER_AGENT) {
                headers.push((USER_AGENT, HeaderValue::from_static(VERSION_STRING)));
            }
            if !self.body.is_empty()
                && !self.chunked
                && !has(&headers, &CONTENT_LENGTH)
                && !has(&headers, &TRANSFER_ENCODING)
            {
                headers.push((CONTENT_LENGTH, HeaderValue::from(self.body.len())));
            }
        }
        if self.chunked && !has(&headers, &TRANSFER_ENCODING) {
            headers.push((TRANSFER_ENCODING, HeaderValue::from_static("chunked")));
        }

        let (sent_bytes, head_len, sent_request) = if let Some(raw) = self.raw {
            (raw.clone(), 0, wire::parse_request_lenient(&raw))
        } else {
            let head = wire::request_head_bytes(self.method.as_str(), &target, &headers);
            let head_len = head.len();
            let mut all = head;
            if self.chunked {
                all.extend_from_slice(&wire::chunk(&self.body));
            } else {
                all.extend_from_slice(&self.body);
            }
            let mut req = Request::new(self.body.clone());
            *req.method_mut() = self.method.clone();
            if let Ok(u) = target.parse() {
                *req.uri_mut() = u;
            }
            for (n, v) in &headers {
                req.headers_mut().append(n.clone(), v.clone());
            }
            (Bytes::from(all), head_len, Some(req))
        };
        let method = sent_request
            .as_ref()
            .map_or(Method::GET, |r| r.method().clone());

        let chain = Arc::new(ChainState {
            by_endpoint: self.by_endpoint.into_iter().collect(),
            by_name: self.by_name.into_iter().collect::<HashMap<_, _>>(),
            default: self.default_handler,
            ..ChainState::default()
        });
        shared.open_chain(id.clone(), Arc::clone(&chain));

        let mut out = Outcome::default();
        match authority {
            None => out.error = Some(ClientError::Connect(format!("invalid url {:?}", self.url))),
            Some((host, port)) => {
                let limit = self.timeout.unwrap_or(shared.request_timeout);
                let fut = exchange(
                    (host.as_str(), port),
                    &sent_bytes,
                    head_len,
                    &method,
                    self.fault.as_ref(),
                    self.expect_responses,
                    shared.max_body,
                    &mut out,
                );
                if tokio::time::timeout(limit, fut).await.is_err() {
                    out.error = Some(ClientError::Timeout);
                }
            }
        }
        let elapsed = start.elapsed();

        if let Some((n, max_wait)) = self.until {
            let deadline = tokio::time::Instant::now() + max_wait;
            loop {
                let notified = chain.notify.notified();
                if chain.handlings.lock().len() >= n {
                    break;
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    break;
                }
            }
        }
        shared.close_chain(&id);
        let handlings = std::mem::take(&mut *chain.handlings.lock());
        let orphaned_handlings = std::mem::take(&mut *chain.orphans.lock());
        let mut responses = out.responses.into_iter();
        MessageChain {
            request_id: id,
            sent_request,
            sent_bytes,
            received_response: responses.next(),
            pipelined_responses: responses.collect(),
            raw_response: out.raw.freeze(),
            client_error: out.error,
            handlings,
            orphaned_handlings,
            elapsed,
        }
    }
}

#[derive(Default)]
struct Outcome {
    raw: BytesMut,
    responses: Vec<Response<Bytes>>,
    error: Option<ClientError>,
}

/// A reader that keeps a copy of every byte it reads.
struct Recording<'a, R> {
    inner: R,
    log: &'a mut BytesMut,
}

impl<R: AsyncRead + Unpin> AsyncRead for Recording<'_, R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &res {
            this.log.extend_from_slice(&buf.filled()[before..]);
        }
        res
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "internal plumbing between send() and the wire"
)]
async fn exchange(
    addr: (&str, u16),
    bytes: &Bytes,
    head_len: usize,
    method: &Method,
    fault: Option<&ClientFault>,
    expect: usize,
    max_body: usize,
    out: &mut Outcome,
) {
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(ClientError::Connect(e.to_string()));
            return;
        }
    };
    let write = async {
        match fault {
            Some(ClientFault::SlowUpload { chunk, every }) => {
                stream.write_all(&bytes[..head_len]).await?;
                stream.flush().await?;
                for piece in bytes[head_len..].chunks((*chunk).max(1)) {
                    tokio::time::sleep(*every).await;
                    stream.write_all(piece).await?;
                    stream.flush().await?;
                }
            }
            Some(ClientFault::Partial { bytes: n }) => {
                stream.write_all(&bytes[..(*n).min(bytes.len())]).await?;
            }
            _ => stream.write_all(bytes).await?,
        }
        stream.flush().await?;
        if matches!(fault, Some(ClientFault::HalfClose)) {
            stream.shutdown().await?;
        }
        Ok::<_, io::Error>(())
    };
    if let Err(e) = write.await {
        out.error = Some(ClientError::Io(e.to_string()));
        // The proxy may still have answered before resetting: fall through.
    }
    if let Some(ClientFault::DisconnectAfterSend(signal)) = fault {
        signal.wait().await;
        drop(stream);
        out.error = Some(ClientError::Disconnected);
        return;
    }
    let mut reader = Recording {
        inner: &mut stream,
        log: &mut out.raw,
    };
    let mut buf = BytesMut::new();
    for i in 0..expect.max(1) {
        match wire::read_response(&mut reader, &mut buf, method, MAX_HEAD, max_body).await {
            Ok(Ok(resp)) => {
                let upgraded = resp.status() == http::StatusCode::SWITCHING_PROTOCOLS;
                out.responses.push(resp);
                out.error = None;
                if upgraded {
                    return;
                }
            }
            Ok(Err((resp, e))) => {
                out.responses.push(resp);
                out.error = Some(ClientError::BodyAborted(e.to_string()));
                return;
            }
            Err(HeadError::Eof | HeadError::Truncated) => {
                if i > 0 || out.error.is_none() {
                    out.error = Some(ClientError::ClosedBeforeResponse);
                }
                return;
            }
            Err(HeadError::Io(e)) => {
                out.error = Some(ClientError::Io(e.to_string()));
                return;
            }
            Err(e @ (HeadError::Invalid(_) | HeadError::TooLarge)) => {
                out.error = Some(ClientError::InvalidResponse(e.to_string()));
                return;
            }
        }
    }
}

/// Sends `req` to `addr` with a fresh connection and reads one response:
/// the plumbing behind [`handlers::route`](crate::handlers::route).
pub(crate) async fn forward(
    addr: (&str, u16),
    req: &Request<Bytes>,
    max_body: usize,
) -> Result<Response<Bytes>, ClientError> {
    let headers: Vec<_> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let mut bytes = wire::request_head_bytes(req.method().as_str(), target, &headers);
    bytes.extend_from_slice(req.body());
    let mut out = Outcome::default();
    exchange(
        addr,
        &Bytes::from(bytes),
        0,
        req.method(),
        None,
        1,
        max_body,
        &mut out,
    )
    .await;
    match (out.responses.pop(), out.error) {
        (Some(r), None) => Ok(r),
        (_, Some(e)) => Err(e),
        (None, None) => Err(ClientError::ClosedBeforeResponse),
    }
}
