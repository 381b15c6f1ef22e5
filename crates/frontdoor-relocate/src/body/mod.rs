//! Streaming body rewriting: the transforms, the body that drives them, and the
//! bounded prefetch that decides between an exact `Content-Length` and streaming.

mod prefetch;
mod stream;

use std::{borrow::Cow, fmt, ops::Range, sync::Arc};

use bytes::{Bytes, BytesMut};

pub(crate) use self::{
    prefetch::{Prefetch, Prefetched},
    stream::RewriteBody,
};
use crate::{
    html::HtmlRewriter,
    relocation::{Direction, Relocation},
    xml::XmlRewriter,
};

// === RewriteError ===

/// Why a body rewrite was abandoned: the body stream ends with this error (never a
/// silently half-rewritten document), or, when the whole body fitted the buffer, the
/// message is answered with 502 (a response) or 400 (a request) instead.
#[derive(Debug)]
pub struct RewriteError {
    kind: RewriteErrorKind,
    detail: Cow<'static, str>,
}

/// The kind of a [`RewriteError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RewriteErrorKind {
    /// The document is not well-formed XML (or ends inside an element).
    Malformed,
    /// Elements nest deeper than the configured depth cap.
    TooDeep,
    /// One markup token (tag, comment, URL text) is longer than the token cap.
    TooLarge,
    /// Text that must be rewritten is not UTF-8, or uses an entity other than the
    /// predefined five.
    Encoding,
}

impl RewriteError {
    pub(crate) fn new(kind: RewriteErrorKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn malformed(detail: impl fmt::Display) -> Self {
        Self::new(RewriteErrorKind::Malformed, detail.to_string())
    }

    /// The kind of failure.
    #[must_use]
    pub const fn kind(&self) -> RewriteErrorKind {
        self.kind
    }

    /// Whether a configured cap (depth or token size) was exceeded.
    #[must_use]
    pub const fn is_limit(&self) -> bool {
        matches!(
            self.kind,
            RewriteErrorKind::TooDeep | RewriteErrorKind::TooLarge
        )
    }
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            RewriteErrorKind::Malformed => "malformed document",
            RewriteErrorKind::TooDeep => "elements nest too deep",
            RewriteErrorKind::TooLarge => "markup token too large",
            RewriteErrorKind::Encoding => "undecodable url text",
        };
        write!(f, "relocation rewrite failed: {what}: {}", self.detail)
    }
}

impl std::error::Error for RewriteError {}

// === Limits ===

/// The caps of a rewriter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Deepest element nesting accepted (XML).
    pub(crate) max_depth: usize,
    /// Longest single markup token held back while waiting for its end.
    pub(crate) max_token: usize,
}

// === Mapper ===

/// One direction of a relocation, as the body rewriters apply it to URLs (no base:
/// relative references in bodies resolve correctly on their own).
#[derive(Clone, Debug)]
pub(crate) struct Mapper {
    relocation: Arc<Relocation>,
    dir: Direction,
}

impl Mapper {
    pub(crate) const fn new(relocation: Arc<Relocation>, dir: Direction) -> Self {
        Self { relocation, dir }
    }

    /// The moved URL, when `url` is ours and moving it changes it.
    pub(crate) fn map(&self, url: &str) -> Option<String> {
        self.relocation
            .map(self.dir, url, None)
            .ok()
            .flatten()
            .filter(|new| new != url)
    }
}

/// `text` with `url`'s leading and trailing whitespace (per `is_ws`) kept around
/// `new`, which `escape` has escaped.
pub(crate) fn keep_padding(text: &str, new: &str, is_ws: fn(char) -> bool) -> String {
    let lead = &text[..text.len() - text.trim_start_matches(is_ws).len()];
    let trail = &text[text.trim_end_matches(is_ws).len()..];
    let mut out = String::with_capacity(lead.len() + new.len() + trail.len());
    out.push_str(lead);
    out.push_str(new);
    out.push_str(trail);
    out
}

// === Transform ===

/// A streaming rewriter: bytes in, bytes out, incomplete markup held back (capped).
#[derive(Debug)]
pub(crate) enum Transform {
    Xml(Box<XmlRewriter>),
    Html(Box<HtmlRewriter>),
}

impl Transform {
    /// Rewrites what `input` completes; the rest waits for the next call.
    pub(crate) fn feed(&mut self, input: Bytes) -> Result<Bytes, RewriteError> {
        match self {
            Self::Xml(x) => x.feed(input),
            Self::Html(h) => h.feed(input),
        }
    }

    /// The end of the input: everything held back, or an error when it is incomplete.
    pub(crate) fn finish(&mut self) -> Result<Bytes, RewriteError> {
        match self {
            Self::Xml(x) => x.finish(),
            Self::Html(h) => h.finish(),
        }
    }

    /// How many input bytes are held back right now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        match self {
            Self::Xml(x) => x.held(),
            Self::Html(h) => h.held(),
        }
    }
}

// === Splicer ===

/// Builds the output of one input buffer: the input with some ranges replaced. Until
/// the first replacement nothing is copied, and a buffer with none is passed on as a
/// zero-copy slice.
pub(crate) struct Splicer<'a> {
    input: &'a Bytes,
    from: usize,
    out: Option<BytesMut>,
}

impl<'a> Splicer<'a> {
    pub(crate) const fn new(input: &'a Bytes) -> Self {
        Self {
            input,
            from: 0,
            out: None,
        }
    }

    /// Replaces `range` (at or after everything replaced so far) with `with`.
    pub(crate) fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        let out = self
            .out
            .get_or_insert_with(|| BytesMut::with_capacity(self.input.len() + 64));
        if let Some(kept) = self.input.get(self.from..range.start) {
            out.extend_from_slice(kept);
        }
        out.extend_from_slice(with);
        self.from = range.end.max(self.from);
    }

    /// The output for the input up to `upto`.
    pub(crate) fn finish(self, upto: usize) -> Bytes {
        match self.out {
            None => self.input.slice(self.from.min(upto)..upto),
            Some(mut out) => {
                if let Some(kept) = self.input.get(self.from..upto) {
                    out.extend_from_slice(kept);
                }
                out.freeze()
            }
        }
    }
}

/// Joins `pending` (a held-back tail) and `input` into one buffer; zero-copy when
/// nothing was held back.
pub(crate) fn join(pending: &mut BytesMut, input: Bytes) -> Bytes {
    if pending.is_empty() {
        input
    } else {
        pending.extend_from_slice(&input);
        pending.split().freeze()
    }
}

/// Keeps `data[consumed..]` for the next call, refusing more than `max` bytes.
pub(crate) fn hold(
    pending: &mut BytesMut,
    data: &[u8],
    consumed: usize,
    max: usize,
) -> Result<(), RewriteError> {
    let tail = data.get(consumed..).unwrap_or_default();
    if tail.len() > max {
        return Err(RewriteError::new(
            RewriteErrorKind::TooLarge,
            format!("a token is longer than {max} bytes"),
        ));
    }
    pending.extend_from_slice(tail);
    #[cfg(test)]
    high_water::record(pending.len());
    Ok(())
}

/// Test instrumentation: the largest held-back buffer seen on this thread.
#[cfg(test)]
pub(crate) mod high_water {
    use std::cell::Cell;

    thread_local! {
        static MAX: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn record(n: usize) {
        MAX.with(|m| m.set(m.get().max(n)));
    }

    /// The maximum since the last call, and resets it.
    pub(crate) fn take() -> usize {
        MAX.with(|m| m.replace(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splicer_copies_only_when_it_must() {
        let input = Bytes::from_static(b"0123456789");
        let untouched = Splicer::new(&input).finish(8);
        assert_eq!(&untouched[..], b"01234567");
        let mut s = Splicer::new(&input);
        s.replace(2..4, b"ab");
        s.replace(6..6, b"+");
        s.replace(7..8, b"");
        assert_eq!(&s.finish(10)[..], b"01ab45+689");
        let padded = keep_padding(" /a \n", "/b", char::is_whitespace);
        assert_eq!(padded, " /b \n");
    }

    #[test]
    fn hold_is_capped() {
        let mut pending = BytesMut::new();
        hold(&mut pending, b"abcdef", 2, 4).unwrap();
        assert_eq!(&pending[..], b"cdef");
        let mut pending = BytesMut::new();
        let err = hold(&mut pending, b"abcdef", 0, 4).unwrap_err();
        assert_eq!(err.kind(), RewriteErrorKind::TooLarge);
        assert!(err.is_limit());
        assert_eq!(
            err.to_string(),
            "relocation rewrite failed: markup token too large: a token is longer than 4 bytes"
        );
        let joined = join(&mut BytesMut::from(&b"ab"[..]), Bytes::from_static(b"cd"));
        assert_eq!(&joined[..], b"abcd");
    }
}
