//! [`HpackError`]: why a header block does not decode.

use std::fmt;

/// Why a header block does not decode. An HTTP/2 endpoint treats it as a connection
/// error (`COMPRESSION_ERROR`): the dynamic table can no longer be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HpackError(pub(super) &'static str);

impl HpackError {
    /// What is wrong, in a few lowercase words.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid HPACK header block: {}", self.0)
    }
}

impl std::error::Error for HpackError {}
