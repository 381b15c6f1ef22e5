//! The direct HTTP/1.1 client of plain-`http` upstreams: every request but upgrades
//! and `CONNECT` (which keep hyper's connections, [`super::pool`]). It runs in the
//! task that awaits the response and polls its body: no connection task, no channel.
//!
//! A request takes an idle connection from the pool ([`pool`]) or dials one, writes
//! its head and body ([`write`](mod@write)) while it waits for the answer's head ([`read`]);
//! the answer's body ([`body`]) owns the connection while it streams and parks it
//! again at the exact end of the message. Both directions are polled together: an
//! upstream may answer before it has read the whole request (a `413`, say). When the
//! answer comes first, the rest of the request body is not sent and the connection
//! is closed after the answer instead of being reused.
//!
//! A connection is closed, never reused, after an answer that is HTTP/1.0, carries
//! `Connection: close`, runs to the end of the connection, or is followed by bytes
//! nobody asked for; after any failure; and when its body is dropped early.
//!
//! With `splice_bodies`, a long `Content-Length` body or a chunked one is offered
//! to the server for splicing ([`splice`](mod@splice)): a
//! [`SpliceOffer`](frontdoor_core::splice::SpliceOffer) comes with the response.
//!
//! A request on a reused idle connection that fails before any byte of the answer
//! arrived is sent again, once, on a new connection when it has no body (all it
//! wrote was its head): the upstream may have closed the idle connection just as the
//! request was sent.

mod body;
mod chunked;
mod conn;
pub(super) mod pool;
mod read;
mod splice;
mod write;

#[cfg(test)]
mod tests;

use std::{
    future::poll_fn,
    io,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use frontdoor_core::{splice::SpliceOffer, Body, BoxError, ErrorKind};
use http::{Method, Request, Response, StatusCode};
use http_body::Body as _;

use self::{
    body::ConnBody,
    conn::Conn,
    pool::DirectPool,
    read::{Head, HeadError},
    write::{WriteError, Writer},
};
use crate::{error::find, ProxyError, ProxyErrorKind};

/// Sends `req` (origin-form, from `prepare`) and waits for the answer's head; the
/// answer's body streams from the connection. With `splice` (the body's idle
/// timeout), a body worth splicing is offered: its offer comes with the response.
pub(super) async fn send(
    pool: &Arc<DirectPool>,
    req: Request<Body>,
    splice: Option<Option<Duration>>,
) -> Result<(Response<ConnBody>, Option<SpliceOffer>), ProxyError> {
    let (mut parts, mut body) = req.into_parts();
    let framing = write::framing(&mut parts, &body);
    if framing == write::Framing::Empty && !body.is_end_stream() {
        // A `GET` or `HEAD` whose body has no known length is sent without it, as
        // hyper sends it: the client's body is read to its end first, so a body that
        // fails (bad chunked framing, a dropped connection) stops the request before
        // anything of it reaches the upstream.
        body = drained(body).await?;
    }
    let head_request = parts.method == Method::HEAD;
    let mut retried = false;
    loop {
        let (mut conn, reused) = pool.acquire().await?;
        write::encode_head(&mut conn.write, &parts);
        let mut exchange = Exchange {
            writer: Writer::new(framing),
            written: false,
            write_failed: None,
            got_bytes: false,
        };
        match poll_fn(|cx| exchange.poll(cx, &mut conn, &mut body)).await {
            Ok(head) => {
                let written = exchange.written;
                return respond(pool, conn, head, (head_request, written), splice);
            }
            Err(Failure::Closed(e))
                if reused && !retried && !exchange.got_bytes && exchange.writer.replayable() =>
            {
                tracing::debug!(error = %e, "reused upstream connection closed: retrying");
                retried = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The answer's head and its body, framed by RFC 9112 §6.3, on `conn`.
fn respond(
    pool: &Arc<DirectPool>,
    conn: Conn,
    head: Head,
    (head_request, written): (bool, bool),
    splice: Option<Option<Duration>>,
) -> Result<(Response<ConnBody>, Option<SpliceOffer>), ProxyError> {
    if head.status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(ProxyError::new(ProxyErrorKind::Upgrade));
    }
    let framing = head
        .framing(head_request)
        .map_err(|e| ProxyError::with_source(ProxyErrorKind::Protocol, e))?;
    let reuse = written && head.keeps_alive();
    let (body, offer) = ConnBody::new(conn, reuse.then(|| Arc::clone(pool)), framing, splice);
    let mut res = Response::new(body);
    *res.status_mut() = head.status;
    *res.version_mut() = head.version;
    *res.headers_mut() = head.headers;
    Ok((res, offer))
}

// === Failure ===

/// Why a request got no answer.
enum Failure {
    /// The client's body failed: the request was aborted.
    Body(BoxError),
    /// The answer is not valid HTTP/1.
    Protocol(BoxError),
    /// The connection failed or closed before the answer's head.
    Closed(BoxError),
}

impl From<Failure> for ProxyError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Body(e) => {
                let too_large = find::<frontdoor_core::Error>(&*e)
                    .is_some_and(|e| e.kind() == ErrorKind::PayloadTooLarge);
                let kind = if too_large {
                    ProxyErrorKind::RequestBodyTooLarge
                } else {
                    ProxyErrorKind::RequestBody
                };
                Self::with_source(kind, e)
            }
            Failure::Protocol(e) => Self::with_source(ProxyErrorKind::Protocol, e),
            Failure::Closed(e) => Self::with_source(ProxyErrorKind::Closed, e),
        }
    }
}

/// Reads `body` to its end, discarding it; an empty body, or the failure that
/// stops the request.
async fn drained(mut body: Body) -> Result<Body, ProxyError> {
    while let Some(frame) = poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
        if let Err(e) = frame {
            return Err(Failure::Body(e.into()).into());
        }
    }
    Ok(Body::empty())
}

// === Exchange ===

/// One request on one connection: the write of the request and the read of the
/// answer's head, polled together.
struct Exchange {
    writer: Writer,
    /// The whole request was written.
    written: bool,
    /// The write failed; the answer may still be readable.
    write_failed: Option<io::Error>,
    /// A byte of the answer arrived.
    got_bytes: bool,
}

impl Exchange {
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        conn: &mut Conn,
        body: &mut Body,
    ) -> Poll<Result<Head, Failure>> {
        if !self.written && self.write_failed.is_none() {
            match self
                .writer
                .poll_write(cx, &mut conn.io, &mut conn.write, body)
            {
                Poll::Ready(Ok(())) => self.written = true,
                Poll::Ready(Err(WriteError::Body(e))) => return Poll::Ready(Err(Failure::Body(e))),
                Poll::Ready(Err(WriteError::Io(e))) => self.write_failed = Some(e),
                Poll::Pending => {}
            }
        }
        let head = ready!(read::poll_head(cx, conn, &mut self.got_bytes));
        Poll::Ready(head.map_err(|e| match e {
            HeadError::Protocol(e) => Failure::Protocol(e),
            HeadError::Io(e) => Failure::Closed(e.into()),
            HeadError::Eof => Failure::Closed(match self.write_failed.take() {
                Some(e) => e.into(),
                None => "upstream closed the connection before the response head".into(),
            }),
        }))
    }
}
