//! The caps every body rewriter is built with.

/// The caps of a rewriter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Deepest element nesting accepted (XML).
    pub(crate) max_depth: usize,
    /// Longest single markup token held back while waiting for its end.
    pub(crate) max_token: usize,
}
