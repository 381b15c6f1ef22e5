//! Message bodies: how they are delimited, and reading them off a stream or out
//! of a buffer.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How the body of a message is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body at all.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Read until the peer closes (responses only).
    Close,
}

/// A body that stopped before its framing said it was complete.
#[derive(Debug)]
pub(crate) struct BodyError {
    /// What was read before the failure.
    pub(crate) partial: Bytes,
    /// Why it stopped.
    pub(crate) error: io::Error,
}

/// Whether the `Transfer-Encoding` header ends in `chunked`.
pub(super) fn is_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
}

pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Decodes a complete chunked body at the start of `buf`, trailers included;
/// `None` when it is incomplete or malformed.
pub(super) fn decode_chunked_buffered(buf: &mut BytesMut) -> Option<Bytes> {
    let mut body = BytesMut::new();
    loop {
        let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(buf) else {
            return None;
        };
        let size = usize::try_from(size).ok()?;
        if size == 0 {
            buf.advance(used);
            // trailers up to the empty line
            loop {
                let pos = buf.iter().position(|&b| b == b'\n')?;
                let line = buf.split_to(pos + 1);
                if line.len() <= 2 {
                    return Some(body.freeze());
                }
            }
        }
        if buf.len() < used + size {
            return None;
        }
        buf.advance(used);
        body.extend_from_slice(&buf.split_to(size));
        skip_line_end(buf)?;
    }
}

fn skip_line_end(buf: &mut BytesMut) -> Option<()> {
    if buf.starts_with(b"\r\n") {
        buf.advance(2);
    } else if buf.starts_with(b"\n") {
        buf.advance(1);
    } else {
        return None;
    }
    Some(())
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "body exceeds the configured cap",
    )
}

/// Reads a body with the given framing; on failure returns what was read.
pub(crate) async fn read_body<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    framing: Framing,
    cap: usize,
) -> Result<Bytes, BodyError> {
    let mut reader = BodyReader {
        r,
        buf,
        cap,
        body: BytesMut::new(),
    };
    let result = reader.read(framing).await;
    let body = reader.body.freeze();
    match result {
        Ok(()) => Ok(body),
        Err(error) => Err(BodyError {
            partial: body,
            error,
        }),
    }
}

/// One body being read: `buf` holds what was read past the head.
struct BodyReader<'a, R> {
    r: &'a mut R,
    buf: &'a mut BytesMut,
    cap: usize,
    body: BytesMut,
}

impl<R: AsyncRead + Unpin> BodyReader<'_, R> {
    async fn read(&mut self, framing: Framing) -> io::Result<()> {
        match framing {
            Framing::None => Ok(()),
            Framing::Length(n) => {
                let n = usize::try_from(n).map_err(|_| too_large())?;
                if n > self.cap {
                    return Err(too_large());
                }
                self.exactly(n).await
            }
            Framing::Close => self.until_close().await,
            Framing::Chunked => self.chunked().await,
        }
    }

    /// Reads more bytes into `buf`; the peer closing is an error here.
    async fn more(&mut self) -> io::Result<()> {
        let n = self.r.read_buf(self.buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the end of the body",
            ));
        }
        Ok(())
    }

    /// Moves `n` more bytes into the body, reading as needed.
    async fn exactly(&mut self, n: usize) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            if self.buf.is_empty() {
                self.more().await?;
            }
            let take = left.min(self.buf.len());
            self.body.extend_from_slice(&self.buf.split_to(take));
            left -= take;
        }
        Ok(())
    }

    /// A close-delimited body: everything until the peer closes.
    async fn until_close(&mut self) -> io::Result<()> {
        loop {
            self.body.extend_from_slice(&self.buf.split());
            if self.body.len() > self.cap {
                return Err(too_large());
            }
            if self.r.read_buf(self.buf).await? == 0 {
                return Ok(());
            }
        }
    }

    /// A chunked body: chunks until the last one, then the trailers.
    async fn chunked(&mut self) -> io::Result<()> {
        loop {
            let size = self.chunk_size().await?;
            if size == 0 {
                return self.trailers().await;
            }
            if self.body.len() + size > self.cap {
                return Err(too_large());
            }
            self.exactly(size).await?;
            while self.buf.len() < 2 && !self.buf.starts_with(b"\n") {
                self.more().await?;
            }
            if skip_line_end(self.buf).is_none() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk data not followed by a line end",
                ));
            }
        }
    }

    /// Reads and consumes one chunk-size line (extensions included).
    async fn chunk_size(&mut self) -> io::Result<usize> {
        let (used, size) = loop {
            match httparse::parse_chunk_size(self.buf) {
                Ok(httparse::Status::Complete(x)) => break x,
                Ok(httparse::Status::Partial) => self.more().await?,
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "invalid chunk size line",
                    ))
                }
            }
        };
        self.buf.advance(used);
        usize::try_from(size).map_err(|_| too_large())
    }

    /// Consumes the trailer lines up to and including the empty line.
    async fn trailers(&mut self) -> io::Result<()> {
        loop {
            let pos = loop {
                if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                    break p;
                }
                self.more().await?;
            };
            let line = self.buf.split_to(pos + 1);
            if line.len() <= 2 {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunked_body_with_extensions_and_trailers() {
        let mut r: &[u8] = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\nrest";
        let mut buf = BytesMut::new();
        let body = read_body(&mut r, &mut buf, Framing::Chunked, 1024)
            .await
            .unwrap();
        assert_eq!(body, "Wikipedia");
        assert_eq!(&buf[..], b"rest");
    }

    #[tokio::test]
    async fn truncated_length_body_keeps_partial() {
        let mut r: &[u8] = b"abc";
        let mut buf = BytesMut::new();
        let err = read_body(&mut r, &mut buf, Framing::Length(10), 1024)
            .await
            .unwrap_err();
        assert_eq!(err.partial, "abc");
        assert_eq!(err.error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
