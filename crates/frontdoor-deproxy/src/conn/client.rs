//! The client side of one exchange: connect (or take a kept connection), write
//! the request (misbehaving as asked), read the responses.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::transport::{ClientConnection, Target};
use crate::consts::MAX_HEAD;
use crate::fault::ClientFault;
use crate::record::ClientError;
use crate::wire::{self, HeadError};

/// One request to send, and how.
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    /// The whole request: head and body.
    pub(crate) bytes: &'a [u8],
    /// How many of `bytes` are the head (for [`ClientFault::SlowUpload`]).
    pub(crate) head_len: usize,
    /// The request method, which decides whether a response has a body.
    pub(crate) method: &'a Method,
    pub(crate) fault: Option<&'a ClientFault>,
    /// How many responses to read (pipelining); at least one is read.
    pub(crate) expect: usize,
    pub(crate) max_body: usize,
    /// The request asks the server to close the connection after it.
    pub(crate) request_closes: bool,
}

/// What one exchange saw.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Every byte read.
    pub(crate) raw: BytesMut,
    pub(crate) responses: Vec<Response<Bytes>>,
    pub(crate) error: Option<ClientError>,
}

impl Exchange<'_> {
    /// Runs the exchange on a new connection to `target`, or on `via`'s,
    /// recording into `out` (which a timeout may cut short: what was seen so
    /// far stays).
    pub(crate) async fn run(
        &self,
        target: &Target<'_>,
        via: Option<&ClientConnection>,
        out: &mut Outcome,
    ) {
        let Some(via) = via else {
            match target.connect().await {
                Ok(mut stream) => {
                    let mut buf = BytesMut::new();
                    self.on(&mut stream, &mut buf, out).await;
                }
                Err(e) => out.error = Some(e),
            }
            return;
        };
        match via.lease(target).await {
            Ok(mut lease) => {
                let (stream, buf) = lease.parts();
                let reusable = self.on(stream, buf, out).await;
                lease.finish(reusable);
            }
            Err(e) => out.error = Some(e),
        }
    }

    /// The exchange on an open stream; whether the stream may carry another.
    async fn on<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        buf: &mut BytesMut,
        out: &mut Outcome,
    ) -> bool {
        if let Err(e) = self.write(stream).await {
            out.error = Some(ClientError::Io(e.to_string()));
            // The proxy may still have answered before resetting: fall through.
        }
        if let Some(ClientFault::DisconnectAfterSend(signal)) = self.fault {
            signal.wait().await;
            out.error = Some(ClientError::Disconnected);
            return false;
        }
        self.read_responses(stream, buf, out).await;
        self.fault.is_none() && !self.request_closes && reusable(self.method, out)
    }

    async fn write<S: AsyncWrite + Unpin>(&self, stream: &mut S) -> io::Result<()> {
        let bytes = self.bytes;
        match self.fault {
            Some(ClientFault::SlowUpload { chunk, every }) => {
                stream.write_all(&bytes[..self.head_len]).await?;
                stream.flush().await?;
                for piece in bytes[self.head_len..].chunks((*chunk).max(1)) {
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
        if matches!(self.fault, Some(ClientFault::HalfClose)) {
            stream.shutdown().await?;
        }
        Ok(())
    }

    async fn read_responses<S: AsyncRead + Unpin>(
        &self,
        stream: &mut S,
        buf: &mut BytesMut,
        out: &mut Outcome,
    ) {
        let mut reader = Recording {
            inner: stream,
            log: &mut out.raw,
        };
        for i in 0..self.expect.max(1) {
            let read =
                wire::read_response(&mut reader, buf, self.method, MAX_HEAD, self.max_body).await;
            let error = match read {
                Ok(Ok(resp)) => {
                    let upgraded = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
                    out.responses.push(resp);
                    out.error = None;
                    if upgraded {
                        return;
                    }
                    continue;
                }
                Ok(Err((resp, e))) => {
                    out.responses.push(resp);
                    ClientError::BodyAborted(e.to_string())
                }
                Err(HeadError::Eof | HeadError::Truncated) => {
                    if i > 0 || out.error.is_none() {
                        out.error = Some(ClientError::ClosedBeforeResponse);
                    }
                    return;
                }
                Err(HeadError::Io(e)) => ClientError::Io(e.to_string()),
                Err(e @ (HeadError::Invalid(_) | HeadError::TooLarge)) => {
                    ClientError::InvalidResponse(e.to_string())
                }
            };
            out.error = Some(error);
            return;
        }
    }
}

/// Whether a connection may carry another request after the responses of
/// `out`: all complete, HTTP/1.1, framed, none closing or upgrading.
fn reusable(method: &Method, out: &Outcome) -> bool {
    out.error.is_none()
        && !out.responses.is_empty()
        && out.responses.iter().all(|r| {
            let framed = method == Method::HEAD
                || r.status().is_informational()
                || r.status() == StatusCode::NO_CONTENT
                || r.status() == StatusCode::NOT_MODIFIED
                || r.headers().contains_key(CONTENT_LENGTH)
                || r.headers().contains_key(TRANSFER_ENCODING);
            r.version() == Version::HTTP_11
                && r.status() != StatusCode::SWITCHING_PROTOCOLS
                && framed
                && !closes(r.headers())
        })
}

/// Whether `headers` carry `Connection: close`.
pub(crate) fn closes(headers: &HeaderMap) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
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

/// Sends `req` to `host:port` with a fresh connection and reads one
/// response: the plumbing behind [`handlers::route`](crate::handlers::route).
pub(crate) async fn forward(
    (host, port): (&str, u16),
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
    let exchange = Exchange {
        bytes: &bytes,
        head_len: 0,
        method: req.method(),
        fault: None,
        expect: 1,
        max_body,
        request_closes: closes(req.headers()),
    };
    let target = Target {
        host,
        port,
        tls: None,
    };
    exchange.run(&target, None, &mut out).await;
    match (out.responses.pop(), out.error) {
        (Some(r), None) => Ok(r),
        (_, Some(e)) => Err(e),
        (None, None) => Err(ClientError::ClosedBeforeResponse),
    }
}
