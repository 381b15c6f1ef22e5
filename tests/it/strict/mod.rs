//! Issue 14, "strict where nginx is lax", through the real stack of
//! [`stack::support`](super::stack): framing that cannot be forwarded safely is
//! refused before anything reaches the origin (over HTTP/2 too: `h2`), a client body
//! that fails mid-upload aborts the upstream request, an ambiguous upstream response
//! is a 502, and no client can forge what the upstream is told about the connection.

mod abort;
mod forwarding;
mod framing;
mod h2;
mod method;
mod paths;
mod response;

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{mpsc, watch},
};

use super::stack::support::CLIENT_BOUND;

/// Sends `bytes` on a fresh connection to `addr` and reads until the peer closes
/// (bounded by [`CLIENT_BOUND`]): every byte the front answered.
pub(crate) async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_to_close(&mut stream).await
}

/// Reads until the peer closes or resets, bounded by [`CLIENT_BOUND`].
pub(crate) async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(CLIENT_BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the peer never closed: {:?}",
        String::from_utf8_lossy(&out)
    );
    out
}

/// Reads until one complete answer has arrived (bounded), and returns it.
pub(crate) async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut out = Vec::new();
    let read = tokio::time::timeout(CLIENT_BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(answer) = answers(&out).into_iter().next() {
                return Some(answer);
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .flatten()
        .unwrap_or_else(|| panic!("no answer: {:?}", String::from_utf8_lossy(&out)))
}

/// One response parsed off the front of `bytes`: status, headers (lowercase names)
/// and body (`Content-Length` framed; the front's own answers always are).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The value of header `name`, if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every `Content-Length`-framed response in `bytes`, in order.
pub(crate) fn answers(mut bytes: &[u8]) -> Vec<Answer> {
    let mut out = Vec::new();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut res = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(len)) = res.parse(bytes) else {
            return out;
        };
        let headers: Vec<(String, String)> = res
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let status = res.code.unwrap_or_default();
        let body_len = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let end = (len + body_len).min(bytes.len());
        out.push(Answer {
            status,
            headers,
            body: bytes[len..end].to_vec(),
        });
        bytes = &bytes[end..];
    }
}

/// A raw origin that never answers: it records every byte each connection sends
/// until that connection closes, so a test can check exactly what reached it and
/// whether the message was ever completed.
pub(crate) struct Capture {
    pub(crate) addr: SocketAddr,
    conns: mpsc::UnboundedReceiver<Vec<u8>>,
    progress: watch::Receiver<Vec<u8>>,
}

impl Capture {
    pub(crate) async fn start() -> Self {
        Self::answering(None).await
    }

    /// A capture origin that writes `answer` as soon as a request head has arrived
    /// (before the body), then keeps reading.
    pub(crate) async fn answering(answer: Option<&'static [u8]>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, conns) = mpsc::unbounded_channel();
        let (progress_tx, progress) = watch::channel(Vec::new());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let tx = tx.clone();
                let progress = progress_tx.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    let mut answer = answer;
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                seen.extend_from_slice(&buf[..n]);
                                progress.send_replace(seen.clone());
                            }
                        }
                        let head_done = seen.windows(4).any(|w| w == b"\r\n\r\n");
                        if let (true, Some(bytes)) = (head_done, answer) {
                            answer = None;
                            if stream.write_all(bytes).await.is_err() {
                                break;
                            }
                        }
                    }
                    let _ = tx.send(seen);
                });
            }
        });
        Self {
            addr,
            conns,
            progress,
        }
    }

    /// The bytes of the next connection to close (bounded).
    pub(crate) async fn next_closed(&mut self) -> Vec<u8> {
        tokio::time::timeout(CLIENT_BOUND, self.conns.recv())
            .await
            .expect("an upstream connection closes")
            .expect("the capture origin runs")
    }

    /// Whether any connection has closed (without waiting).
    pub(crate) fn any_closed(&mut self) -> bool {
        self.conns.try_recv().is_ok()
    }

    /// Waits (bounded) until the connection being read has sent `needle`.
    pub(crate) async fn received(&mut self, needle: &[u8]) {
        let seen = tokio::time::timeout(
            CLIENT_BOUND,
            self.progress
                .wait_for(|seen| seen.windows(needle.len()).any(|w| w == needle)),
        )
        .await;
        assert!(seen.is_ok(), "the origin never received {needle:?}");
    }
}

/// Whether `bytes` hold one complete HTTP/1.1 request: a head and a body complete by
/// its framing (`Content-Length` bytes, or chunks up to the last chunk and the final
/// empty line).
pub(crate) fn complete_request(bytes: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(head)) = req.parse(bytes) else {
        return false;
    };
    let value = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let mut body = &bytes[head..];
    if value("transfer-encoding").is_some() {
        loop {
            let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(body)
            else {
                return false;
            };
            body = &body[used..];
            if size == 0 {
                return body.starts_with(b"\r\n");
            }
            let size = usize::try_from(size).unwrap();
            if body.len() < size + 2 {
                return false;
            }
            body = &body[size + 2..];
        }
    }
    let len = value("content-length").map_or(0, |v| v.parse::<usize>().unwrap());
    body.len() >= len
}
