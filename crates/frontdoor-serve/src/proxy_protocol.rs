//! Reading the PROXY protocol header (`proxy_protocol = true`) at the start of a
//! connection: the bytes are parsed by
//! [`frontdoor_core::proto::parse_proxy_header`]; the client address it carries
//! replaces the peer's in [`ConnInfo`]. The bytes read past the header are given
//! back by [`Rewind`], under whatever reads the stream next (hyper, or a TLS
//! handshake).

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Buf, Bytes, BytesMut};
use frontdoor_core::{
    proto::{parse_proxy_header, ProxyHeader, ProxyHeaderError},
    ConnInfo,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// Why a connection's PROXY header could not be read.
#[derive(Debug)]
pub(super) enum ProxyFailure {
    /// The client closed (or the read failed) before a complete header.
    Closed,
    /// The bytes are not a PROXY header.
    Invalid(ProxyHeaderError),
}

/// Reads the PROXY header from `io`; returns the connection info with the client's
/// address, and the bytes read past the header (the start of the HTTP stream).
///
/// Reads in chunks (never byte by byte), so it may read past the header; those bytes
/// are returned for the connection to replay. The caller bounds it in time.
pub(super) async fn read_header<I: AsyncRead + Unpin>(
    io: &mut I,
    info: ConnInfo,
) -> Result<(ConnInfo, Bytes), ProxyFailure> {
    let mut buf = BytesMut::with_capacity(256);
    loop {
        match parse_proxy_header(&buf) {
            Ok(Some((header, len))) => {
                let rest = buf.split_off(len).freeze();
                let info = match header {
                    ProxyHeader::Proxied { source, .. } => info.with_remote(source),
                    _ => info,
                };
                return Ok((info, rest));
            }
            Ok(None) => {}
            Err(e) => return Err(ProxyFailure::Invalid(e)),
        }
        if buf.capacity() - buf.len() < 64 {
            buf.reserve(512);
        }
        match io.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return Err(ProxyFailure::Closed),
            Ok(_) => {}
        }
    }
}

/// A stream whose first reads return `prefix` (bytes already read from it), then
/// its own bytes.
#[derive(Debug)]
pub(super) struct Rewind<I> {
    prefix: Bytes,
    inner: I,
}

impl<I> Rewind<I> {
    pub(super) const fn new(inner: I, prefix: Bytes) -> Self {
        Self { prefix, inner }
    }

    /// The stream under it (its writes are the stream's own).
    #[cfg(target_os = "linux")]
    pub(super) const fn get_ref(&self) -> &I {
        &self.inner
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix[..n]);
        this.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
