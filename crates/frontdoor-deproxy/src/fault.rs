//! Fault injection on the origin side, over the harness's own raw HTTP/1 layer.
//!
//! hyper will not send a malformed response, so endpoints built with
//! [`ServerConnector::Raw`](crate::ServerConnector::Raw) read requests and
//! write responses with a small lenient codec, and execute the [`Fault`] a
//! handler attaches to its [`Reply`](crate::Reply). The handling is always
//! recorded before the fault runs.
//!
//! | Fault | Bytes on the wire | What a good proxy does |
//! | --- | --- | --- |
//! | [`Fault::DelayHead`] | nothing for a while, then the response | 504 past its header timeout |
//! | [`Fault::StallAfterStatusLine`] | `HTTP/1.1 200 OK\r\n`, then silence | 502/504 |
//! | [`Fault::StallMidHeaders`] | status line and one header, then silence | 502/504 |
//! | [`Fault::StallAfterHeaders`] | full head, then silence | status passed on, body aborted past an idle timeout |
//! | [`Fault::StallMidBody`] | head and N body bytes, then silence | truncated body (abort), no hang |
//! | [`Fault::CloseMidBody`] | head and N body bytes, then FIN or RST | truncated body (abort) |
//! | [`Fault::CloseWithoutResponse`] | nothing, FIN or RST | 502 |
//! | [`Fault::TrickleBody`] | the body one byte at a time | passes it on, or aborts past an idle timeout |
//! | [`Fault::Raw`] | exactly the given bytes, then FIN | 502 for garbage |
//! | [`Fault::ContentLength`] | a lying `Content-Length`, the real body, then FIN | short: trailing bytes discarded (never a second response); long: truncated body |
//! | [`Fault::BareLf`] | the response with `\n` line ends | accept (RFC 9112 allows it) or 502 |

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH};
use http::{HeaderValue, Request, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::deproxy::{ConnSeq, EndpointCtx, MAX_HEAD};
use crate::handler::Reply;
use crate::record::ConnectionId;
use crate::wire::{self, HeadError};

/// A way for an origin to misbehave while sending its response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Wait this long before the first response byte (slow headers).
    DelayHead(Duration),
    /// Send only the status line, then hang (Deproxy's `SlowResponseServerConnector`).
    StallAfterStatusLine,
    /// Send the status line and the first header line, then hang.
    StallMidHeaders,
    /// Send the whole head, then hang before the body.
    StallAfterHeaders,
    /// Send the head and the first `after` body bytes, then hang.
    StallMidBody {
        /// Body bytes sent before hanging.
        after: usize,
    },
    /// Send the head and the first `after` body bytes, then close.
    CloseMidBody {
        /// Body bytes sent before closing.
        after: usize,
        /// Close with an RST (`SO_LINGER 0`) instead of a FIN.
        reset: bool,
    },
    /// Read the request, then close without a byte.
    CloseWithoutResponse {
        /// Close with an RST (`SO_LINGER 0`) instead of a FIN.
        reset: bool,
    },
    /// Send the head, then the body one byte at a time with `every` between bytes.
    TrickleBody {
        /// Pause between two body bytes.
        every: Duration,
    },
    /// Send exactly these bytes instead of the response, then close.
    Raw(Bytes),
    /// Declare this `Content-Length` whatever the body is, send the real body, then close.
    ContentLength {
        /// The declared length.
        declared: u64,
    },
    /// Send the response with bare `\n` line endings.
    BareLf,
}

impl Fault {
    /// Same as [`Fault::StallAfterStatusLine`].
    #[must_use]
    pub fn hang() -> Self {
        Self::StallAfterStatusLine
    }

    /// Same as [`Fault::DelayHead`].
    #[must_use]
    pub fn slow_headers(d: Duration) -> Self {
        Self::DelayHead(d)
    }

    /// Close with an RST right after reading the request.
    #[must_use]
    pub fn reset() -> Self {
        Self::CloseWithoutResponse { reset: true }
    }

    /// Bytes that are not HTTP at all.
    #[must_use]
    pub fn garbage() -> Self {
        Self::Raw(Bytes::from_static(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage \x00\xff not http\r\n\r\n",
        ))
    }
}

fn wants_keep_alive(req: &Request<Bytes>) -> bool {
    req.version() == Version::HTTP_11 && !has_close(req.headers())
}

fn has_close(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

/// Serves one connection with the raw codec.
pub(crate) async fn serve_raw(mut stream: TcpStream, ctx: Arc<EndpointCtx>, conn: ConnectionId) {
    let seq = ConnSeq::default();
    let mut buf = BytesMut::new();
    loop {
        let req = match wire::read_request(&mut stream, &mut buf, MAX_HEAD, ctx.shared.max_body)
            .await
        {
            Ok(Some(r)) => r,
            Ok(None) | Err(HeadError::Eof | HeadError::Truncated | HeadError::Io(_)) => return,
            Err(HeadError::Invalid(_) | HeadError::TooLarge) => {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                return;
            }
        };
        ctx.saw_head();
        let keep_alive = wants_keep_alive(&req);
        let reply = ctx.handle(req, conn, seq.next()).await;
        if !write_reply(&mut stream, &mut buf, reply, &ctx).await || !keep_alive {
            return;
        }
    }
}

/// Sends nothing more; returns once the peer closes its side, counting the
/// close on the endpoint (so a test can see a proxy give up on the origin).
async fn hang(stream: &mut TcpStream, ctx: &EndpointCtx) -> bool {
    let mut scratch = [0u8; 1024];
    loop {
        match stream.read(&mut scratch).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    ctx.peer_closed();
    false
}

/// Writes `reply`, executing its fault; returns whether the connection may be reused.
async fn write_reply(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    reply: Reply,
    ctx: &EndpointCtx,
) -> bool {
    let Reply {
        mut response,
        fault,
        ..
    } = reply;
    // A response without framing is delimited by closing the connection.
    let framed = response.headers().contains_key(CONTENT_LENGTH)
        || response
            .headers()
            .contains_key(http::header::TRANSFER_ENCODING)
        || response.status().is_informational()
        || response.status() == StatusCode::NO_CONTENT
        || response.status() == StatusCode::NOT_MODIFIED;
    let reusable = framed && !has_close(response.headers());
    let head = wire::response_head_bytes(&response, b"\r\n");
    let body = response.body().clone();
    let status_line_end = head
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |p| p + 1);
    let result: std::io::Result<bool> = async {
        match fault {
            None => {}
            Some(Fault::DelayHead(d)) => tokio::time::sleep(d).await,
            Some(Fault::StallAfterStatusLine) => {
                stream.write_all(&head[..status_line_end]).await?;
                return Ok(hang(stream, ctx).await);
            }
            Some(Fault::StallMidHeaders) => {
                let second = head[status_line_end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(head.len(), |p| status_line_end + p + 1);
                stream.write_all(&head[..second]).await?;
                return Ok(hang(stream, ctx).await);
            }
            Some(Fault::StallAfterHeaders) => {
                stream.write_all(&head).await?;
                return Ok(hang(stream, ctx).await);
            }
            Some(Fault::StallMidBody { after }) => {
                stream.write_all(&head).await?;
                stream.write_all(&body[..after.min(body.len())]).await?;
                return Ok(hang(stream, ctx).await);
            }
            Some(Fault::CloseMidBody { after, reset }) => {
                stream.write_all(&head).await?;
                stream.write_all(&body[..after.min(body.len())]).await?;
                stream.flush().await?;
                if reset {
                    stream.set_zero_linger()?;
                }
                return Ok(false);
            }
            Some(Fault::CloseWithoutResponse { reset }) => {
                if reset {
                    stream.set_zero_linger()?;
                }
                return Ok(false);
            }
            Some(Fault::TrickleBody { every }) => {
                stream.write_all(&head).await?;
                for b in body.iter() {
                    stream.write_all(&[*b]).await?;
                    stream.flush().await?;
                    tokio::time::sleep(every).await;
                }
                return Ok(reusable);
            }
            Some(Fault::Raw(bytes)) => {
                stream.write_all(&bytes).await?;
                stream.flush().await?;
                return Ok(false);
            }
            Some(Fault::ContentLength { declared }) => {
                response
                    .headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(declared));
                stream
                    .write_all(&wire::response_head_bytes(&response, b"\r\n"))
                    .await?;
                stream.write_all(&body).await?;
                stream.flush().await?;
                return Ok(false);
            }
            Some(Fault::BareLf) => {
                stream
                    .write_all(&wire::response_head_bytes(&response, b"\n"))
                    .await?;
                stream.write_all(&body).await?;
                return Ok(reusable);
            }
        }
        stream.write_all(&head).await?;
        stream.write_all(&body).await?;
        stream.flush().await?;
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            echo(stream, buf).await?;
            return Ok(false);
        }
        Ok(reusable)
    }
    .await;
    result.unwrap_or(false)
}

/// After a 101 on a raw endpoint: echo every byte back until the peer closes.
async fn echo(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<()> {
    if !buf.is_empty() {
        stream.write_all(&buf.split()).await?;
    }
    let (mut r, mut w) = stream.split();
    tokio::io::copy(&mut r, &mut w).await?;
    Ok(())
}
