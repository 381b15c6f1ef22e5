//! The error a body rewrite ends with.

use std::{borrow::Cow, fmt};

// === impl RewriteError ===

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
    /// The body's content coding (gzip, deflate, br, zstd) is corrupt or truncated.
    Coding,
    /// The body decodes to more than the decoded-size cap.
    DecodedTooLarge,
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

    /// Whether a configured cap (depth, token size or decoded size) was exceeded.
    #[must_use]
    pub const fn is_limit(&self) -> bool {
        matches!(
            self.kind,
            RewriteErrorKind::TooDeep
                | RewriteErrorKind::TooLarge
                | RewriteErrorKind::DecodedTooLarge
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
            RewriteErrorKind::Coding => "bad content coding",
            RewriteErrorKind::DecodedTooLarge => "decoded body too large",
        };
        write!(f, "relocation rewrite failed: {what}: {}", self.detail)
    }
}

impl std::error::Error for RewriteError {}
