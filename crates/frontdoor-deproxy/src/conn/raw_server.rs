//! The raw server connector: the harness's own lenient HTTP/1.x codec, which
//! executes every [`Fault`] a handler attaches to its reply.

use std::io;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderValue, Request, Response, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::closes;
use super::connection::Connection;
use super::connector::Connector;
use crate::fault::Fault;
use crate::handler::{BoxFuture, Reply};
use crate::wire;

/// The harness's own lenient HTTP/1.x reader and writer, which executes every
/// [`Fault`] a handler attaches to its reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawConnector;

impl Connector for RawConnector {
    fn serve(&self, stream: TcpStream, conn: Connection) -> BoxFuture<()> {
        Box::pin(serve(stream, conn))
    }
}

/// Serves one connection with the raw codec.
async fn serve(mut stream: TcpStream, conn: Connection) {
    let mut buf = BytesMut::new();
    loop {
        let req = match conn.read_request(&mut stream, &mut buf).await {
            Ok(Some(r)) => r,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                return;
            }
            Ok(None) | Err(_) => return,
        };
        let keep_alive = wants_keep_alive(&req);
        let reply = conn.handle(req).await;
        if !write_reply(&mut stream, &mut buf, reply, &conn).await || !keep_alive {
            return;
        }
    }
}

fn wants_keep_alive(req: &Request<Bytes>) -> bool {
    req.version() == Version::HTTP_11 && !closes(req.headers())
}

/// A response ready for the wire: its head serialised once.
struct Outgoing {
    response: Response<Bytes>,
    head: Vec<u8>,
    /// Where the status line ends in `head`.
    status_line_end: usize,
    /// Whether the connection may carry another request afterwards.
    reusable: bool,
}

impl Outgoing {
    fn new(response: Response<Bytes>) -> Self {
        // A response without framing is delimited by closing the connection.
        let framed = response.headers().contains_key(CONTENT_LENGTH)
            || response.headers().contains_key(TRANSFER_ENCODING)
            || response.status().is_informational()
            || response.status() == StatusCode::NO_CONTENT
            || response.status() == StatusCode::NOT_MODIFIED;
        let reusable = framed && !closes(response.headers());
        let head = wire::response_head_bytes(&response, b"\r\n");
        let status_line_end = line_end_after(&head, 0);
        Self {
            response,
            head,
            status_line_end,
            reusable,
        }
    }

    fn body(&self) -> &Bytes {
        self.response.body()
    }

    /// The status line and the first header line.
    fn head_to_first_header(&self) -> &[u8] {
        &self.head[..line_end_after(&self.head, self.status_line_end)]
    }

    /// The first `after` body bytes (all of them if fewer).
    fn body_prefix(&self, after: usize) -> &[u8] {
        &self.body()[..after.min(self.body().len())]
    }
}

/// The index just past the first `\n` at or after `from`, or the length.
fn line_end_after(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p + 1)
}

/// Writes `reply`, executing its fault; returns whether the connection may be reused.
async fn write_reply(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    reply: Reply,
    conn: &Connection,
) -> bool {
    let out = Outgoing::new(reply.response);
    let result = match reply.fault {
        None => write_whole(stream, buf, &out).await,
        Some(Fault::DelayHead(d)) => {
            tokio::time::sleep(d).await;
            write_whole(stream, buf, &out).await
        }
        Some(Fault::StallAfterStatusLine) => {
            stall(stream, conn, &out.head[..out.status_line_end], &[]).await
        }
        Some(Fault::StallMidHeaders) => stall(stream, conn, out.head_to_first_header(), &[]).await,
        Some(Fault::StallAfterHeaders) => stall(stream, conn, &out.head, &[]).await,
        Some(Fault::StallMidBody { after }) => {
            stall(stream, conn, &out.head, out.body_prefix(after)).await
        }
        Some(Fault::CloseMidBody { after, reset }) => {
            close_mid_body(stream, &out, after, reset).await
        }
        Some(Fault::CloseWithoutResponse { reset }) => close(stream, reset),
        Some(Fault::TrickleBody { every }) => trickle(stream, &out, every).await,
        Some(Fault::Raw(bytes)) => write_raw(stream, &bytes).await,
        Some(Fault::ContentLength { declared }) => lie_about_length(stream, out, declared).await,
        Some(Fault::BareLf) => bare_lf(stream, &out).await,
    };
    result.unwrap_or(false)
}

/// The response as built; after a 101, echoes the upgraded connection.
async fn write_whole(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    out: &Outgoing,
) -> io::Result<bool> {
    stream.write_all(&out.head).await?;
    stream.write_all(out.body()).await?;
    stream.flush().await?;
    if out.response.status() == StatusCode::SWITCHING_PROTOCOLS {
        echo(stream, buf).await?;
        return Ok(false);
    }
    Ok(out.reusable)
}

/// Writes `head` then `body`, then hangs until the peer closes.
async fn stall(
    stream: &mut TcpStream,
    conn: &Connection,
    head: &[u8],
    body: &[u8],
) -> io::Result<bool> {
    stream.write_all(head).await?;
    stream.write_all(body).await?;
    Ok(hang(stream, conn).await)
}

/// Sends nothing more; returns once the peer closes its side, counting the
/// close on the endpoint (so a test can see a proxy give up on the origin).
async fn hang(stream: &mut TcpStream, conn: &Connection) -> bool {
    let mut scratch = [0u8; 1024];
    loop {
        match stream.read(&mut scratch).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    conn.peer_closed();
    false
}

async fn close_mid_body(
    stream: &mut TcpStream,
    out: &Outgoing,
    after: usize,
    reset: bool,
) -> io::Result<bool> {
    stream.write_all(&out.head).await?;
    stream.write_all(out.body_prefix(after)).await?;
    stream.flush().await?;
    close(stream, reset)
}

/// Ends the connection when the caller drops the stream: with an RST when `reset`.
fn close(stream: &TcpStream, reset: bool) -> io::Result<bool> {
    if reset {
        stream.set_zero_linger()?;
    }
    Ok(false)
}

async fn trickle(stream: &mut TcpStream, out: &Outgoing, every: Duration) -> io::Result<bool> {
    stream.write_all(&out.head).await?;
    for b in out.body().iter() {
        stream.write_all(&[*b]).await?;
        stream.flush().await?;
        tokio::time::sleep(every).await;
    }
    Ok(out.reusable)
}

async fn write_raw(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<bool> {
    stream.write_all(bytes).await?;
    stream.flush().await?;
    Ok(false)
}

async fn lie_about_length(
    stream: &mut TcpStream,
    out: Outgoing,
    declared: u64,
) -> io::Result<bool> {
    let mut response = out.response;
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(declared));
    stream
        .write_all(&wire::response_head_bytes(&response, b"\r\n"))
        .await?;
    stream.write_all(response.body()).await?;
    stream.flush().await?;
    Ok(false)
}

async fn bare_lf(stream: &mut TcpStream, out: &Outgoing) -> io::Result<bool> {
    stream
        .write_all(&wire::response_head_bytes(&out.response, b"\n"))
        .await?;
    stream.write_all(out.body()).await?;
    Ok(out.reusable)
}

/// After a 101 on a raw endpoint: echo every byte back until the peer closes.
async fn echo(stream: &mut TcpStream, buf: &mut BytesMut) -> io::Result<()> {
    if !buf.is_empty() {
        stream.write_all(&buf.split()).await?;
    }
    let (mut r, mut w) = stream.split();
    tokio::io::copy(&mut r, &mut w).await?;
    Ok(())
}
