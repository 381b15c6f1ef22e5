//! The dispatch from a message to its rewriter (XML or HTML).

use bytes::Bytes;

use super::error::RewriteError;
use crate::{html::HtmlRewriter, xml::XmlRewriter};

// === impl Transform ===

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
