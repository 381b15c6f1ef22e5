//! Writing an answer to the client on the fast path: its head (`outbound.rs`), then
//! its body frame by frame, small frames gathered with the head or the chunk framing
//! into one write, large ones written from where they are.

use std::{
    future::poll_fn,
    pin::{pin, Pin},
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{proto::hop_by_hop, splice::SpliceOffer, BoxError};
use http::{header, HeaderValue, Response};
use http_body::Frame;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

#[cfg(target_os = "linux")]
use super::splice::{ClientSink, Pipe};
use super::{
    inbound::{write_all, Conn},
    outbound::{chunk_size, chunked_end, encode_head, Framing},
};
use crate::bounds::ResponseBody;

/// A data frame up to this size is copied into the write buffer (with the head or
/// the chunk framing around it); a larger one is written from where it is.
pub(super) const COPY_MAX: usize = 16 * 1024;
/// The most the write buffer gathers before it is written.
pub(super) const WRITE_BUF: usize = 64 * 1024;

/// What an answer is written for.
#[derive(Clone, Copy, Debug)]
pub(super) struct Exchange {
    /// The request was a `HEAD`: no body is written.
    pub(super) is_head: bool,
    /// The connection may carry another request after this answer.
    pub(super) keep_alive: bool,
    /// The client spoke HTTP/1.0.
    pub(super) http10: bool,
}

impl Exchange {
    /// An answer after which the connection closes.
    pub(super) const fn closing(http10: bool) -> Self {
        Self {
            is_head: false,
            keep_alive: false,
            http10,
        }
    }
}

/// Writes `res` (head and body) to the client; whether the connection may carry
/// another request (false when the body failed or wrote other than its framing).
pub(super) async fn respond<I, B>(
    conn: &Conn<I>,
    res: Response<B>,
    exchange: Exchange,
    out: &mut Vec<u8>,
) -> bool
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: ResponseBody,
{
    let (mut parts, body) = res.into_parts();
    let offer = parts.extensions.remove::<SpliceOffer>();
    let keep_alive =
        exchange.keep_alive && !hop_by_hop::has_token(&parts.headers, &header::CONNECTION, "close");
    out.clear();
    let framing = encode_head(
        &mut parts,
        &body.size_hint(),
        exchange.is_head,
        keep_alive,
        exchange.http10,
        out,
    );
    let keep_alive = keep_alive && framing != Framing::Close;
    if framing == Framing::None {
        return write_all(conn, [out, &[], &[]]).await.is_ok() && keep_alive;
    }
    let announced: Vec<HeaderValue> = parts
        .headers
        .get_all(header::TRAILER)
        .iter()
        .cloned()
        .collect();
    let mut body = pin!(body);
    let mut left = match framing {
        Framing::Length(n) => Some(n),
        _ => None,
    };
    #[cfg(target_os = "linux")]
    if let Some(offer) = offer {
        match spliced(conn, &offer, framing, out).await {
            Spliced::Not => {}
            Spliced::Moved(n) => {
                if let Some(left) = left.as_mut() {
                    *left = left.saturating_sub(n);
                }
            }
            Spliced::Broken => return false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    drop(offer);
    loop {
        let frame = match poll_fn(|cx| Poll::Ready(next_frame(body.as_mut(), cx))).await {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if write_all(conn, [out, &[], &[]]).await.is_err() {
                    return false;
                }
                out.clear();
                poll_fn(|cx| next_frame(body.as_mut(), cx)).await
            }
        };
        match frame {
            None => {
                if framing == Framing::Chunked {
                    chunked_end(None, &announced, out);
                }
                let complete = left.is_none_or(|n| n == 0);
                let written = write_all(conn, [out, &[], &[]]).await.is_ok();
                return written && complete && keep_alive;
            }
            Some(Err(e)) => {
                debug!(error = %e, "response body failed: closing connection");
                let _ = write_all(conn, [out, &[], &[]]).await;
                return false;
            }
            Some(Ok(frame)) => {
                match frame.into_data() {
                    Ok(data) => {
                        if data.is_empty() {
                            continue;
                        }
                        if let Some(n) = left.as_mut() {
                            if data.len() as u64 > *n {
                                debug!("response body longer than its content-length: closing connection");
                                let _ = write_all(
                                    conn,
                                    [out, &data[..usize::try_from(*n).unwrap_or(0)], &[]],
                                )
                                .await;
                                return false;
                            }
                            *n -= data.len() as u64;
                        }
                        let chunked = framing == Framing::Chunked;
                        if chunked {
                            chunk_size(data.len(), out);
                        }
                        if data.len() <= COPY_MAX {
                            out.extend_from_slice(&data);
                            if chunked {
                                out.extend_from_slice(b"\r\n");
                            }
                            // A body whose frames are always ready is written as it goes,
                            // never gathered whole.
                            if out.len() >= WRITE_BUF {
                                if write_all(conn, [out, &[], &[]]).await.is_err() {
                                    return false;
                                }
                                out.clear();
                            }
                            continue;
                        }
                        let tail: &[u8] = if chunked { b"\r\n" } else { &[] };
                        if write_all(conn, [out, &data, tail]).await.is_err() {
                            return false;
                        }
                        out.clear();
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            if framing == Framing::Chunked {
                                chunked_end(Some(&trailers), &announced, out);
                                let written = write_all(conn, [out, &[], &[]]).await.is_ok();
                                return written && keep_alive;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What [`spliced`] did.
#[cfg(target_os = "linux")]
enum Spliced {
    /// Nothing: the body is written as usual.
    Not,
    /// This many body bytes went out; the body yields the rest (its trailers and
    /// end, or its failure).
    Moved(u64),
    /// The client's side failed: the connection closes.
    Broken,
}

/// Takes `offer` when the answer is framed by length or chunked and the client's
/// connection is plain TCP: the head (in `out`) and the body's data go out by
/// splice (`splice.rs`), through a pipe taken for this answer.
#[cfg(target_os = "linux")]
async fn spliced<I>(
    conn: &Conn<I>,
    offer: &SpliceOffer,
    framing: Framing,
    out: &mut Vec<u8>,
) -> Spliced
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let chunked = match framing {
        Framing::Length(_) => false,
        Framing::Chunked => true,
        Framing::None | Framing::Close => return Spliced::Not,
    };
    if conn.lock().io.plain_tcp().is_none() {
        return Spliced::Not;
    }
    let pipe = match Pipe::take() {
        Ok(pipe) => pipe,
        Err(e) => {
            debug!(error = %e, "no pipe for splice: copying the body");
            return Spliced::Not;
        }
    };
    let mut sink = ClientSink::new(conn, out, pipe, chunked);
    sink.run(offer).await;
    match sink.finish() {
        Some(moved) => Spliced::Moved(moved),
        None => {
            debug!("client write failed while splicing: closing connection");
            Spliced::Broken
        }
    }
}

/// The next frame of a response body, its error boxed.
fn next_frame<B: ResponseBody>(
    body: Pin<&mut B>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    body.poll_frame(cx)
        .map(|frame| frame.map(|r| r.map_err(Into::into)))
}
