//! Reading the PROXY protocol header (`proxy_protocol = true`) at the start of a
//! connection: the bytes are parsed by
//! [`frontdoor_core::proto::parse_proxy_header`]; the client address it carries
//! replaces the peer's in [`ConnInfo`].

use bytes::{Bytes, BytesMut};
use frontdoor_core::{
    proto::{parse_proxy_header, ProxyHeader, ProxyHeaderError},
    ConnInfo,
};
use tokio::io::{AsyncRead, AsyncReadExt};

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
