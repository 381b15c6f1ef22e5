//! A hand-written HTTP/1.1 origin on `127.0.0.1:0` for the direct client's tests:
//! it reads each request (head, then a `Content-Length` or chunked body), asks the
//! test's script what to do, counts accepted connections and reports every byte a
//! connection received when it closes.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

/// What the origin does with a request.
pub(super) enum Action {
    /// Answers once the whole request arrived, and keeps the connection.
    Answer(&'static [u8]),
    /// Answers once the whole request arrived, then closes.
    AnswerAndClose(&'static [u8]),
    /// Answers as soon as the head arrived, then reads until the client closes.
    AnswerEarly(&'static [u8]),
    /// Closes without answering, once the head arrived.
    Close,
    /// Answers once the whole request arrived, one byte per write, and keeps the
    /// connection.
    Trickle(&'static [u8]),
}

/// A running origin.
pub(super) struct Origin {
    pub(super) addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    closed: mpsc::UnboundedReceiver<Vec<u8>>,
}

impl Origin {
    /// Starts an origin; `script(connection, request, head)` decides each answer
    /// (both counted from 0).
    pub(super) async fn start<F>(script: F) -> Self
    where
        F: Fn(usize, usize, &str) -> Action + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let (tx, closed) = mpsc::unbounded_channel();
        let script = Arc::new(script);
        let counted = Arc::clone(&accepts);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                let (tx, script) = (tx.clone(), Arc::clone(&script));
                tokio::spawn(async move {
                    let received = connection(stream, n, &*script).await;
                    let _ = tx.send(received);
                });
            }
        });
        Self {
            addr,
            accepts,
            closed,
        }
    }

    /// An origin answering every request with `answer`.
    pub(super) async fn answering(answer: &'static [u8]) -> Self {
        Self::start(move |_, _, _| Action::Answer(answer)).await
    }

    pub(super) fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// Everything the next connection to close received.
    pub(super) async fn next_closed(&mut self) -> Vec<u8> {
        self.closed.recv().await.unwrap()
    }
}

/// Serves one connection; every byte it received.
async fn connection<F>(mut s: TcpStream, conn: usize, script: &F) -> Vec<u8>
where
    F: Fn(usize, usize, &str) -> Action,
{
    let mut buf = Vec::new();
    let mut start = 0;
    for request in 0.. {
        let Some(head_end) = read_until(&mut s, &mut buf, start, b"\r\n\r\n").await else {
            break;
        };
        let head = String::from_utf8_lossy(&buf[start..head_end]).to_ascii_lowercase();
        let action = script(conn, request, &head);
        if let Action::AnswerEarly(answer) = action {
            let _ = s.write_all(answer).await;
            while matches!(s.read_buf(&mut buf).await, Ok(n) if n > 0) {}
            break;
        }
        if matches!(action, Action::Close) {
            break;
        }
        let Some(end) = read_body(&mut s, &mut buf, head_end, &head).await else {
            break;
        };
        start = end;
        match action {
            Action::Answer(answer) => {
                if s.write_all(answer).await.is_err() {
                    break;
                }
            }
            Action::AnswerAndClose(answer) => {
                let _ = s.write_all(answer).await;
                break;
            }
            Action::Trickle(answer) => {
                for byte in answer.chunks(1) {
                    if s.write_all(byte).await.is_err() {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            Action::AnswerEarly(_) | Action::Close => {}
        }
    }
    buf
}

/// Reads until `pat` appears at or after `from`; the index after it.
async fn read_until(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    from: usize,
    pat: &[u8],
) -> Option<usize> {
    loop {
        if let Some(i) = buf[from..].windows(pat.len()).position(|w| w == pat) {
            return Some(from + i + pat.len());
        }
        match s.read_buf(buf).await {
            Ok(n) if n > 0 => {}
            _ => return None,
        }
    }
}

/// Reads the body of a request whose head ends at `at`; the index after it.
async fn read_body(s: &mut TcpStream, buf: &mut Vec<u8>, at: usize, head: &str) -> Option<usize> {
    if head.contains("transfer-encoding: chunked") {
        let mut at = at;
        loop {
            let line_end = read_until(s, buf, at, b"\r\n").await?;
            let line = String::from_utf8_lossy(&buf[at..line_end - 2]).into_owned();
            let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, then the empty line.
                let mut at = line_end;
                loop {
                    let end = read_until(s, buf, at, b"\r\n").await?;
                    if end == at + 2 {
                        return Some(end);
                    }
                    at = end;
                }
            }
            while buf.len() < line_end + size + 2 {
                if !matches!(s.read_buf(buf).await, Ok(n) if n > 0) {
                    return None;
                }
            }
            at = line_end + size + 2;
        }
    }
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < at + len {
        if !matches!(s.read_buf(buf).await, Ok(n) if n > 0) {
            return None;
        }
    }
    Some(at + len)
}
