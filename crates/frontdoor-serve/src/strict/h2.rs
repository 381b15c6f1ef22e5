//! The HTTP/2 half of the strict checks: after the client preface, a scanner that
//! follows the connection's frames as hyper's HTTP/2 implementation (the `h2` crate)
//! reads them, decodes every header block with the connection's HPACK state, and
//! reports each request stream it opens: a fingerprint of the method and the `:path`
//! as the service will see it (the `http` crate cuts the path at `#`), and a
//! [`Refusal`] for a `:path` with a `#fragment`.
//!
//! It mirrors `h2`'s reading where it matters for staying in step: header blocks are
//! HEADERS then CONTINUATION frames on one stream, with the PADDED and PRIORITY
//! fields stripped; a HEADERS frame whose stream depends on itself is reset by `h2`
//! before its block is decoded, so its block is skipped here too; a block is decoded
//! as each frame arrives (a dynamic table size update may open each piece); the
//! decoder's table is 4,096 bytes, hyper's `SETTINGS_HEADER_TABLE_SIZE`; a HEADERS
//! frame on a stream above every one seen opens a request, any other carries
//! trailers. Where `h2` fails the connection (a frame over the 16 KiB frame size, a
//! CONTINUATION out of place or over its count, a padding or decoding error, a
//! PUSH_PROMISE from the client), the scanner stops ([`FrameScanner::is_off`]).
//! Requests `h2` refuses itself (over the concurrent stream limit, malformed) were
//! reported all the same: the guard skips their verdicts.

use frontdoor_core::proto::{
    framing::Refusal,
    hpack::{Decoder, HpackError},
};
use http::Method;

use super::scan::Fingerprint;

/// The client connection preface (RFC 9113 section 3.4).
pub(super) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The largest frame payload hyper accepts: `SETTINGS_MAX_FRAME_SIZE`, which hyper
/// keeps at the protocol's default.
const MAX_FRAME_SIZE: usize = 16 * 1024;
/// hyper's `SETTINGS_HEADER_TABLE_SIZE`: the protocol's default (the connection's
/// builder keeps it, and the frame size, unchanged).
const HEADER_TABLE_SIZE: usize = 4096;
/// A frame header's length.
const FRAME_HEADER_LEN: usize = 9;

const HEADERS: u8 = 0x1;
const PUSH_PROMISE: u8 = 0x5;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// A request stream as the scanner saw it open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StreamHead {
    /// The method and the `:path` up to any `#`, as the service will see them.
    pub(super) request: Fingerprint,
    pub(super) refusal: Option<Refusal>,
}

/// The frame being read.
#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    /// Payload bytes still to come.
    left: usize,
}

/// A header block being assembled.
#[derive(Debug)]
struct Block {
    stream: u32,
    /// The first `:method` and `:path`, when the block opens a request.
    request: Option<Pseudo>,
    /// CONTINUATION frames without END_HEADERS so far.
    continuations: usize,
}

#[derive(Debug, Default)]
struct Pseudo {
    method: Option<Vec<u8>>,
    path: Option<Vec<u8>>,
}

/// The frame scanner of one HTTP/2 connection, from after the preface. See the
/// [module docs](self).
#[derive(Debug)]
pub(super) struct FrameScanner {
    decoder: Decoder,
    /// `h2`'s limit on CONTINUATION frames per block, from the header list size.
    max_continuations: usize,
    head: [u8; FRAME_HEADER_LEN],
    head_len: usize,
    frame: Option<Frame>,
    /// The payload of a HEADERS or CONTINUATION frame being read.
    payload: Vec<u8>,
    block: Option<Block>,
    /// Bytes of the block not yet decoded (an unfinished field).
    pending: Vec<u8>,
    /// The highest stream a request opened.
    last_stream: u32,
    off: bool,
}

impl FrameScanner {
    /// A scanner for a server whose HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE` is
    /// `max_header_list_size`.
    pub(super) fn new(max_header_list_size: usize) -> Self {
        Self {
            decoder: Decoder::new(HEADER_TABLE_SIZE),
            max_continuations: max_continuations(max_header_list_size, MAX_FRAME_SIZE),
            head: [0; FRAME_HEADER_LEN],
            head_len: 0,
            frame: None,
            payload: Vec::new(),
            block: None,
            pending: Vec::new(),
            last_stream: 0,
            off: false,
        }
    }

    /// Whether the scanner has stopped for good.
    pub(super) const fn is_off(&self) -> bool {
        self.off
    }

    /// Scans `bytes`, the next bytes of the connection, reporting every request
    /// stream opened to `out`.
    pub(super) fn feed(&mut self, mut bytes: &[u8], out: &mut impl FnMut(StreamHead)) {
        while !bytes.is_empty() && !self.off {
            let Some(frame) = &mut self.frame else {
                let n = (FRAME_HEADER_LEN - self.head_len).min(bytes.len());
                self.head[self.head_len..self.head_len + n].copy_from_slice(&bytes[..n]);
                self.head_len += n;
                bytes = &bytes[n..];
                if self.head_len == FRAME_HEADER_LEN {
                    self.head_len = 0;
                    self.start_frame(out);
                }
                continue;
            };
            let n = frame.left.min(bytes.len());
            if matches!(frame.kind, HEADERS | CONTINUATION) {
                self.payload.extend_from_slice(&bytes[..n]);
            }
            frame.left -= n;
            bytes = &bytes[n..];
            if frame.left == 0 {
                self.end_frame(out);
            }
        }
    }

    /// Stops for good (the ledger stopped trusting itself).
    pub(super) fn turn_off(&mut self) {
        self.stop();
    }

    /// Stops for good.
    fn stop(&mut self) {
        self.off = true;
        self.frame = None;
        self.block = None;
        self.payload = Vec::new();
        self.pending = Vec::new();
    }

    /// A frame header was read.
    fn start_frame(&mut self, out: &mut impl FnMut(StreamHead)) {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = self.head;
        let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
        let stream = u32::from_be_bytes([s0, s1, s2, s3]) & 0x7fff_ffff;
        let continues = self.block.is_some();
        if len > MAX_FRAME_SIZE || kind == PUSH_PROMISE || continues != (kind == CONTINUATION) {
            // h2: FRAME_SIZE_ERROR; a client may not push; a block not continued, or a
            // CONTINUATION with no block to continue: PROTOCOL_ERROR.
            self.stop();
            return;
        }
        self.frame = Some(Frame {
            kind,
            flags,
            stream,
            left: len,
        });
        if len == 0 {
            self.end_frame(out);
        }
    }

    /// The current frame's payload was read.
    fn end_frame(&mut self, out: &mut impl FnMut(StreamHead)) {
        let Some(frame) = self.frame.take() else {
            return;
        };
        let payload = std::mem::take(&mut self.payload);
        match frame.kind {
            HEADERS => self.headers(&frame, &payload, out),
            CONTINUATION => self.continuation(&frame, &payload, out),
            _ => {}
        }
        // Keep the buffer for the next frame.
        self.payload = payload;
        self.payload.clear();
    }

    /// A HEADERS frame: strips its padding and priority, and starts a block.
    fn headers(&mut self, frame: &Frame, mut payload: &[u8], out: &mut impl FnMut(StreamHead)) {
        if frame.stream == 0 {
            return self.stop();
        }
        let mut pad = 0;
        if frame.flags & PADDED != 0 {
            let Some((&n, rest)) = payload.split_first() else {
                return self.stop();
            };
            pad = usize::from(n);
            payload = rest;
        }
        if frame.flags & PRIORITY != 0 {
            let Some((dependency, rest)) = payload.split_first_chunk::<5>() else {
                return self.stop();
            };
            let [d0, d1, d2, d3, _weight] = *dependency;
            if u32::from_be_bytes([d0, d1, d2, d3]) & 0x7fff_ffff == frame.stream {
                // h2 resets the stream before decoding its block: so does the scanner
                // (a CONTINUATION of it then fails the connection, as in h2).
                return;
            }
            payload = rest;
        }
        let Some(fragment) = payload.len().checked_sub(pad).map(|n| &payload[..n]) else {
            return self.stop();
        };
        let request = (frame.stream > self.last_stream).then(|| {
            self.last_stream = frame.stream;
            Pseudo::default()
        });
        self.block = Some(Block {
            stream: frame.stream,
            request,
            continuations: 0,
        });
        self.decode(fragment, frame.flags & END_HEADERS != 0, out);
    }

    /// A CONTINUATION frame of the block.
    fn continuation(&mut self, frame: &Frame, payload: &[u8], out: &mut impl FnMut(StreamHead)) {
        let end = frame.flags & END_HEADERS != 0;
        let max = self.max_continuations;
        let Some(block) = self.block.as_mut().filter(|b| b.stream == frame.stream) else {
            return self.stop();
        };
        if !end {
            block.continuations += 1;
            if block.continuations > max {
                return self.stop();
            }
        }
        self.decode(payload, end, out);
    }

    /// Decodes what it can of the block with `fragment` added; at the block's `end`,
    /// reports the request it opens.
    fn decode(&mut self, fragment: &[u8], end: bool, out: &mut impl FnMut(StreamHead)) {
        let Some(block) = self.block.as_mut() else {
            return;
        };
        let decoder = &mut self.decoder;
        // The usual block arrives whole: decoded in place, nothing copied.
        let decoded = if self.pending.is_empty() {
            let used = decode(decoder, fragment, &mut block.request);
            used.map(|used| self.pending.extend_from_slice(&fragment[used..]))
        } else {
            self.pending.extend_from_slice(fragment);
            let used = decode(decoder, &self.pending, &mut block.request);
            used.map(|used| drop(self.pending.drain(..used)))
        };
        if decoded.is_err() {
            return self.stop();
        }
        if !end {
            return;
        }
        if !self.pending.is_empty() {
            // The block ends inside a field: h2 fails the connection.
            return self.stop();
        }
        if let Some(pseudo) = self.block.take().and_then(|b| b.request) {
            out(pseudo.verdict());
        }
    }
}

/// Decodes what it can of `input` (a block's undecoded bytes), keeping the first
/// `:method` and `:path` in `request` (h2 refuses a repeated pseudo-header); the
/// bytes used.
fn decode(
    decoder: &mut Decoder,
    input: &[u8],
    request: &mut Option<Pseudo>,
) -> Result<usize, HpackError> {
    decoder.decode(input, |name, value| {
        let Some(pseudo) = request.as_mut() else {
            return;
        };
        let slot = match name {
            b":method" => &mut pseudo.method,
            b":path" => &mut pseudo.path,
            _ => return,
        };
        slot.get_or_insert_with(|| value.to_vec());
    })
}

impl Pseudo {
    /// The verdict on the request: its fingerprint as hyper will hand it over, and
    /// the refusal of a `:path` with a fragment.
    fn verdict(&self) -> StreamHead {
        let method = self.method.as_deref().unwrap_or_default();
        let (target, fragment): (&[u8], bool) = match self.path.as_deref() {
            Some(path) => match path.iter().position(|&b| b == b'#') {
                // `PathAndQuery` cuts at `#`, and shows an empty path as "/".
                Some(0) => (b"/", true),
                Some(i) => (&path[..i], true),
                None => (path, false),
            },
            // A CONNECT has no path; another request without one is a bare "/".
            None if method == Method::CONNECT.as_str().as_bytes() => (b"", false),
            None => (b"/", false),
        };
        StreamHead {
            request: Fingerprint::of_request(method, target),
            refusal: fragment.then_some(Refusal::FRAGMENT),
        }
    }
}

/// `h2`'s limit on the CONTINUATION frames (without END_HEADERS) of one block: what
/// the header list size needs, a quarter more, and at least five.
fn max_continuations(max_header_list_size: usize, max_frame_size: usize) -> usize {
    let frames = (max_header_list_size / max_frame_size).max(1);
    frames.saturating_add(frames >> 2).max(5)
}

#[cfg(test)]
mod tests;
